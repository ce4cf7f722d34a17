/* test_tokenizer_edge.c — tokenizer edge cases that need no Node.js (so they also run under
 * ASan/UBSan): invalid UTF-8 handling (replaced by U+FFFD per maximal subpart before encoding),
 * NUL bytes, long whitespace runs, a 1 MB single word, the streaming detokenizer on characters split
 * across tokens and on invalid bytes, character classes from the HF-measured tables, errors. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exaone.h"
#include "test_util.h"
#include "tokenizer/unicode.h"

static exa_tokenizer *t;

static size_t enc(const char *s, size_t n, int32_t *out, size_t cap) {
    size_t k = 0;
    exa_status st = exa_tokenizer_encode(t, s, n, 0, out, cap, &k);
    CHECK(st == EXA_OK, "encode status %d", st);
    return k;
}

static int same_ids(const char *a, size_t na, const char *b, size_t nb) {
    int32_t x[256], y[256];
    size_t p = enc(a, na, x, 256), q = enc(b, nb, y, 256);
    return p == q && !memcmp(x, y, p * sizeof *x);
}

/* several threads encode different texts with one tokenizer (shared word cache behind a
 * try-lock): every result must equal the single-threaded one */
typedef struct job { const char *text; int32_t *want; size_t nwant; int ok; } job;

static void *worker(void *arg) {
    job *j = arg;
    j->ok = 1;
    for (int r = 0; r < 200; r++) {
        int32_t *ids;
        size_t n;
        if (exa_tokenizer_encode_alloc(t, j->text, strlen(j->text), 0, &ids, &n) != EXA_OK) { j->ok = 0; return NULL; }
        if (n != j->nwant || memcmp(ids, j->want, n * sizeof *ids)) j->ok = 0;
        free(ids);
    }
    return NULL;
}

static void test_threads(void) {
    static const char *texts[4] = {
        "The quick brown fox jumps over the lazy dog; it's 2024 and we're testing threads.",
        ("\xec\x95\x88\xeb\x85\x95\xed\x95\x98\xec\x84\xb8\xec\x9a\x94, \xeb\xb0\x98\xea\xb0\x91\xec\x8a\xb5\xeb\x8b\x88\xeb\x8b\xa4. "
        "\xec\x84\x9c\xec\x9a\xb8\xec\x9d\x80 2025\xeb\x85\x84"),
        "def f(x):\n    return x + 1  # comment\n\t\tindent",
        "[|user|]\nhello<think>\n\n</think>[|endofturn|] \xf0\x9f\xa6\x99",
    };
    job jobs[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        jobs[i].text = texts[i % 4];
        exa_tokenizer_encode_alloc(t, jobs[i].text, strlen(jobs[i].text), 0, &jobs[i].want, &jobs[i].nwant);
    }
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, worker, &jobs[i]);
    int ok = 1;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok &= jobs[i].ok;
        free(jobs[i].want);
    }
    CHECK(ok, "8 threads x 200 encodes equal the single-threaded ids");
}

int main(void) {
    const char *e = getenv("EXA_SHARED");
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/data/exaone-tokenizer/exaone-4.0/reconstructed/tokenizer.json", e ? e : "../shared");
    if (exa_tokenizer_load(path, &t, err, sizeof err) != EXA_OK) { fprintf(stderr, "%s\n", err); return 1; }
    int32_t ids[4096];
    size_t n;

    /* invalid UTF-8 = the same string with U+FFFD per maximal subpart (what a JS/Rust caller of HF
     * would pass after a lossy decode) */
    CHECK(same_ids("a\xff" "b", 3, "a\xef\xbf\xbd" "b", 5), "lone 0xFF");
    CHECK(same_ids("\xe2\x82x", 3, "\xef\xbf\xbdx", 4), "truncated 3-byte sequence = one U+FFFD");
    CHECK(same_ids("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9), "surrogate = three U+FFFD");
    CHECK(same_ids("\xf0\x9f\x98", 3, "\xef\xbf\xbd", 3), "truncated emoji at the end");
    /* NUL bytes are ordinary characters */
    n = enc("a\0b", 3, ids, 4096);
    char *s;
    size_t l;
    exa_tokenizer_decode_alloc(t, ids, n, 0, &s, &l);
    CHECK(l == 3 && !memcmp(s, "a\0b", 3), "NUL round trip");
    free(s);
    /* whitespace runs: 40 spaces = 31 + 9 (ids 4, 26), spec §7.3 */
    n = enc("                                        ", 40, ids, 4096);
    CHECK(n == 2 && ids[0] == 4 && ids[1] == 26, "40 spaces -> 4 26 (got %zu ids)", n);
    n = enc("\t\t\t\t\t\t\t\t\t\t\t", 11, ids, 4096);
    CHECK(n == 2 && ids[0] == 34 && ids[1] == 41, "11 tabs -> 9 + 2 tabs (34 41)");
    n = enc("", 0, ids, 4096);
    CHECK(n == 0, "empty text");
    /* 1 MB single word: heap merge path, round trip */
    size_t big = 1 << 20;
    char *w = malloc(big);
    for (size_t i = 0; i < big; i++) w[i] = (char)("abcdefgh"[(i * 7) % 8]);
    int32_t *bi;
    size_t bn;
    CHECK(exa_tokenizer_encode_alloc(t, w, big, 0, &bi, &bn) == EXA_OK && bn > 0, "1 MB word encodes");
    exa_tokenizer_decode_alloc(t, bi, bn, 0, &s, &l);
    CHECK(l == big && !memcmp(s, w, big), "1 MB word round trip");
    free(s);
    free(bi);
    free(w);
    /* streaming detokenizer: "한국어" as single-byte tokens never yields a partial character */
    const char *ko = "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"; /* 한국어 */
    exa_detok *d = exa_detok_init(t, 0);
    char acc[64];
    size_t al = 0;
    int partial = 0;
    for (int i = 0; i < 9; i++) {
        int32_t id = -1;
        /* the byte token of this byte (encoding a lone byte would give U+FFFD) */
        for (int32_t c = 0; c < exa_tokenizer_n_vocab(t); c++) {
            size_t bl;
            const char *b = exa_tokenizer_token_bytes(t, c, &bl);
            if (b && bl == 1 && b[0] == ko[i] && !exa_tokenizer_is_added(t, c)) { id = c; break; }
        }
        size_t ol;
        const char *o = exa_detok_push(d, id, &ol);
        if (ol % 3) partial = 1;
        memcpy(acc + al, o, ol);
        al += ol;
    }
    size_t fl;
    exa_detok_flush(d, &fl);
    CHECK(!partial && al == 9 && !memcmp(acc, ko, 9) && fl == 0, "detok emits whole Hangul syllables only");
    /* an invalid byte followed by more text: U+FFFD at once; a cut tail: U+FFFD at flush */
    int32_t id_e2 = -1, id_x = exa_tokenizer_token_id(t, "x"), id_ff = -1;
    for (int32_t c = 0; c < exa_tokenizer_n_vocab(t); c++) {
        size_t bl;
        const char *b = exa_tokenizer_token_bytes(t, c, &bl);
        if (b && bl == 1 && (unsigned char)b[0] == 0xE2 && !exa_tokenizer_is_added(t, c)) id_e2 = c;
        if (b && bl == 1 && (unsigned char)b[0] == 0xFF && !exa_tokenizer_is_added(t, c)) id_ff = c;
    }
    exa_detok_free(d);
    d = exa_detok_init(t, 0);
    size_t ol;
    const char *o = exa_detok_push(d, id_ff, &ol);
    CHECK(ol == 3 && !memcmp(o, "\xef\xbf\xbd", 3), "invalid byte replaced at once");
    o = exa_detok_push(d, id_e2, &ol);
    CHECK(ol == 0, "lead byte held back");
    o = exa_detok_push(d, id_x, &ol);
    CHECK(ol == 4 && !memcmp(o, "\xef\xbf\xbdx", 4), "lead byte + 'x' -> U+FFFD x");
    exa_detok_push(d, id_e2, &ol);
    o = exa_detok_flush(d, &ol);
    CHECK(ol == 3 && !memcmp(o, "\xef\xbf\xbd", 3), "cut tail -> U+FFFD at flush");
    exa_detok_free(d);
    /* skip_special in the detokenizer */
    d = exa_detok_init(t, 1);
    o = exa_detok_push(d, 361, &ol);
    CHECK(ol == 0, "special skipped");
    o = exa_detok_push(d, 356, &ol);
    CHECK(ol == 7 && !memcmp(o, "<think>", 7), "<think> kept (non-special)");
    exa_detok_free(d);
    /* decode into a small buffer */
    int32_t hw[2] = {33381, 2711};
    char small[4];
    CHECK(exa_tokenizer_decode(t, hw, 2, 0, small, sizeof small, &n) == EXA_ERR_FULL && n == 11 && !strcmp(small, "Hel"),
          "decode into a short buffer");
    /* character classes as HF sees them (tables measured on HF tokenizers) */
    CHECK(exa_uclass(0xAC00) == EXA_U_L, "Hangul syllable is L");
    CHECK(exa_uclass(0x1C89) == EXA_U_L, "U+1C89 (Unicode 16) is L in HF's regex");
    CHECK(exa_uclass(0x11DE0) == EXA_U_D, "U+11DE0: numeric for Rust, not \\p{N} for Oniguruma");
    CHECK(exa_uclass(0x00BD) == (EXA_U_N | EXA_U_D), "1/2 is N and numeric");
    CHECK(exa_uclass(0x3000) == EXA_U_S && exa_uclass(0x180E) == 0 && exa_uclass(0x200B) == 0, "whitespace set");
    test_threads();
    /* errors name the file */
    exa_tokenizer *bad;
    CHECK(exa_tokenizer_load("/nonexistent/dir", &bad, err, sizeof err) == EXA_ERR_IO && bad == NULL && strstr(err, "/nonexistent"),
          "missing folder: %s", err);
    exa_tokenizer_free(NULL);
    exa_detok_free(NULL);
    exa_tokenizer_free(t);
    return TEST_END();
}
