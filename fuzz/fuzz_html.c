/* fuzz_html.c — HTML to text (libxml2 SAX push parser, src/retrieval/extract.c) on hostile input:
 * must not crash, must produce valid UTF-8 text and title, and the text must chunk and tokenize. */
#include <stdlib.h>
#include <string.h>

#include "retrieval/chunk.h"
#include "retrieval/extract.h"
#include "retrieval/terms.h"

typedef struct out { char *s; size_t n, cap; int bad_title; } out;

static int on_text(void *u, const char *s, size_t n) {
    out *o = u;
    if (o->n + n > o->cap) {
        size_t cap = (o->n + n) * 2;
        char *t = realloc(o->s, cap);
        if (!t) return 1;
        o->s = t;
        o->cap = cap;
    }
    memcpy(o->s + o->n, s, n);
    o->n += n;
    return 0;
}
static void on_title(void *u, const char *s, size_t n) {
    out *o = u;
    if (exa_tok_utf8_valid_prefix((const unsigned char *)s, n) != n) o->bad_title = 1;
}
static int on_page(void *u, int p) { (void)u; (void)p; return 0; }
static int on_chunk(void *u, const char *t, size_t n, int64_t s, int64_t e) {
    (void)u;
    if (n == 0 || e - s != (int64_t)n || s < 0) abort();
    (void)t;
    return 0;
}
static int on_term(void *u, const char *t, int n, int s, int e) { (void)u; (void)t; if (n <= 0 || s > e) abort(); return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    out o = {0};
    exa_doc_sink sink = {on_page, on_text, on_title, NULL, &o};
    exa_extract_html_mem((const char *)data, size, &sink, NULL, 0);
    if (o.bad_title) abort();
    if (o.n && exa_tok_utf8_valid_prefix((const unsigned char *)o.s, o.n) != o.n) abort();
    exa_chunker c;
    exa_chunker_init(&c, 64, 16, on_chunk, NULL);
    if (o.n) exa_chunker_feed(&c, o.s, o.n);
    exa_chunker_finish(&c);
    exa_chunker_free(&c);
    exa_terms *t = exa_terms_new(EXA_TERMS_KOREAN);
    if (t && o.n) exa_terms_run(t, o.s, o.n, on_term, NULL);
    exa_terms_free(t);
    free(o.s);
    return 0;
}
