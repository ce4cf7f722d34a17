/* tok_dump.c — our side of the tokenizer parity test: reads records "<len>\n<bytes>", encodes
 * each with exa_tokenizer (add_special = 1), writes one line of ids per record (same format as
 * tests/node/hf_encode.js), checks decode(encode(x)) == x on every valid-UTF-8 record and that the
 * streaming detokenizer gives the same text, and prints bytes/tokens/time.
 * usage: tok_dump TOKENIZER_PATH CORPUS OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exaone.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t need;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return 0;
        if (i + need >= n) return 0;
        for (size_t k = 1; k <= need; k++) {
            unsigned b = s[i + k], l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (b < l || b > h) return 0;
        }
        i += need + 1;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: tok_dump TOKENIZER CORPUS OUT\n"); return 2; }
    char err[512];
    exa_tokenizer *tok;
    if (exa_tokenizer_load(argv[1], &tok, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) { fprintf(stderr, "read failed\n"); return 1; }
    fclose(f);
    FILE *o = fopen(argv[3], "wb");
    if (!o) { perror(argv[3]); return 1; }
    size_t i = 0, bytes = 0, tokens = 0, recs = 0, rt_fail = 0, stream_fail = 0;
    double t_enc = 0;
    while (i < (size_t)sz) {
        char *end;
        size_t n = strtoul(buf + i, &end, 10);
        const char *s = end + 1;
        i = (size_t)(s - buf) + n;
        int32_t *ids;
        size_t k;
        double t0 = now();
        if (exa_tokenizer_encode_alloc(tok, s, n, 1, &ids, &k)) { fprintf(stderr, "encode failed\n"); return 1; }
        t_enc += now() - t0;
        for (size_t j = 0; j < k; j++) fprintf(o, j ? " %d" : "%d", ids[j]);
        fputc('\n', o);
        bytes += n;
        tokens += k;
        recs++;
        char *back;
        size_t bl;
        exa_tokenizer_decode_alloc(tok, ids, k, 0, &back, &bl);
        if (valid_utf8((const unsigned char *)s, n) && (bl != n || memcmp(back, s, n))) {
            if (rt_fail++ < 3) fprintf(stderr, "round trip differs on record %zu (%zu bytes)\n", recs, n);
        }
        /* streaming detokenizer: same text as decode */
        exa_detok *d = exa_detok_init(tok, 0);
        size_t sl = 0, cap = bl + 16;
        char *acc = malloc(cap);
        for (size_t j = 0; j <= k; j++) {
            size_t l;
            const char *p = j < k ? exa_detok_push(d, ids[j], &l) : exa_detok_flush(d, &l);
            if (sl + l > cap) { cap = (sl + l) * 2; acc = realloc(acc, cap); }
            memcpy(acc + sl, p, l);
            sl += l;
        }
        if (sl != bl || memcmp(acc, back, bl)) {
            if (stream_fail++ < 3) fprintf(stderr, "streaming detokenizer differs on record %zu\n", recs);
        }
        free(acc);
        exa_detok_free(d);
        free(back);
        free(ids);
    }
    fclose(o);
    printf("records %zu, bytes %zu, tokens %zu, encode %.2f s (%.1f MB/s), round-trip failures %zu, stream failures %zu\n",
           recs, bytes, tokens, t_enc, bytes / 1e6 / t_enc, rt_fail, stream_fail);
    free(buf);
    exa_tokenizer_free(tok);
    return rt_fail || stream_fail ? 1 : 0;
}
