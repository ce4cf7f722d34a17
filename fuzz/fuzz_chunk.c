/* fuzz_chunk.c — the streaming chunker and the term extractor (src/retrieval/chunk.c, terms.c)
 * on arbitrary bytes fed in arbitrary pieces: every chunk must be the exact cleaned input bytes
 * [start, end), non-empty, start-ordered, bounded in length, and the same whatever the piece
 * sizes; term extraction must accept anything. */
#include <stdlib.h>
#include <string.h>

#include "retrieval/chunk.h"
#include "retrieval/extract.h"
#include "retrieval/terms.h"

typedef struct st { const char *clean; size_t n; int64_t last_start; int target; int count; uint64_t sum; } st;

static int on_chunk(void *u, const char *t, size_t n, int64_t s, int64_t e) {
    st *x = u;
    if (n == 0 || s < 0 || e != s + (int64_t)n || (size_t)e > x->n) abort();
    if (memcmp(x->clean + s, t, n)) abort();
    if (s <= x->last_start && x->count > 0) abort();
    /* cut at <= 1.25 x target characters, or at most 4 bytes per character beyond */
    if (n > (size_t)(x->target + x->target / 4 + 1) * 4) abort();
    x->last_start = s;
    x->count++;
    x->sum = x->sum * 31 + (uint64_t)s * 7 + (uint64_t)e;
    return 0;
}
static int on_term(void *u, const char *t, int n, int s, int e) { (void)u; (void)t; if (n <= 0 || s > e) abort(); return 0; }

static void run(const char *clean, size_t n, int target, int overlap, const uint8_t *pieces, size_t np, st *x) {
    memset(x, 0, sizeof *x);
    x->clean = clean;
    x->n = n;
    x->target = target < 16 ? 16 : target;
    x->last_start = -1;
    exa_chunker c;
    exa_chunker_init(&c, target, overlap, on_chunk, x);
    size_t off = 0, k = 0;
    while (off < n) {
        size_t len = np ? (size_t)1 + (size_t)pieces[k++ % np] * 3 : n - off;
        if (len > n - off) len = n - off;
        if (exa_chunker_feed(&c, clean + off, len)) abort();
        off += len;
    }
    if (exa_chunker_finish(&c)) abort();
    exa_chunker_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int target = 16 + data[0] % 200, overlap = data[1] % 64;
    size_t np = data[2] % 8;
    const uint8_t *pieces = data + 3;
    if (np > size - 3) np = size - 3;
    const uint8_t *text = data + 3 + np;
    size_t n = size - 3 - np;
    char *clean = malloc(n + 1);
    if (!clean) return 0;
    memcpy(clean, text, n);
    exa_utf8_clean(clean, n, 1);
    st a, b;
    run(clean, n, target, overlap, pieces, np, &a);
    run(clean, n, target, overlap, NULL, 0, &b);
    if (a.count != b.count || a.sum != b.sum) abort();   /* piece sizes must not matter */
    for (int m = 0; m < 3; m++) {
        exa_terms *t = exa_terms_new((exa_index_terms)m);
        if (t) exa_terms_run(t, (const char *)text, n, on_term, NULL);  /* raw bytes, invalid UTF-8 included */
        exa_terms_free(t);
    }
    free(clean);
    return 0;
}
