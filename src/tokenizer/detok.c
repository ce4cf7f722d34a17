/* detok.c — streaming detokenizer: turns ids into UTF-8 text as they are generated without ever
 * emitting part of a character (a byte-level token may end inside a 3-byte Hangul syllable).
 * Bytes that can no longer become valid are replaced by U+FFFD at once (maximal subparts, like
 * Rust's from_utf8_lossy that HF decode uses), an unfinished tail is held back, and flush
 * replaces what is left. Concatenated output == exa_tokenizer_decode of the same ids. */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

struct exa_detok {
    const exa_tokenizer *tok;
    int skip_special;
    uint8_t pend[4];
    size_t npend;
    uint8_t *out;
    size_t cap;
    uint8_t *work;
    size_t wcap;
};

exa_detok *exa_detok_init(const exa_tokenizer *tok, int skip_special) {
    if (!tok) return NULL;
    exa_detok *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->tok = tok;
    d->skip_special = skip_special;
    return d;
}

void exa_detok_free(exa_detok *d) {
    if (!d) return;
    free(d->out);
    free(d->work);
    free(d);
}

static int reserve(uint8_t **b, size_t *cap, size_t n) {
    if (n <= *cap) return 1;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    uint8_t *nb = realloc(*b, c);
    if (!nb) return 0;
    *b = nb;
    *cap = c;
    return 1;
}

const char *exa_detok_push(exa_detok *d, int32_t id, size_t *len) {
    if (len) *len = 0;
    if (!d) return NULL;
    size_t bl = 0;
    const char *bytes = exa_tokenizer_token_bytes(d->tok, id, &bl);
    if (!bytes || (d->skip_special && exa_tokenizer_is_special(d->tok, id))) bl = 0;
    size_t n = d->npend + bl;
    if (!reserve(&d->work, &d->wcap, n + 1) || !reserve(&d->out, &d->cap, n * 3 + 4)) return NULL;
    memcpy(d->work, d->pend, d->npend);
    if (bl) memcpy(d->work + d->npend, bytes, bl);
    d->npend = 0;
    size_t i = 0, o = 0;
    const uint8_t *w = d->work;
    while (i < n) {
        size_t v = exa_tok_utf8_valid_prefix(w + i, n - i);
        memcpy(d->out + o, w + i, v);
        o += v;
        i += v;
        if (i >= n) break;
        if (exa_tok_utf8_incomplete_tail(w + i, n - i) == n - i) {
            memcpy(d->pend, w + i, n - i);
            d->npend = n - i;
            break;
        }
        uint32_t cp;
        size_t bad = 1;
        exa_tok_utf8_next(w + i, n - i, &cp, &bad);
        d->out[o++] = 0xEF; d->out[o++] = 0xBF; d->out[o++] = 0xBD;
        i += bad;
    }
    d->out[o] = 0;
    if (len) *len = o;
    return (const char *)d->out;
}

const char *exa_detok_flush(exa_detok *d, size_t *len) {
    if (len) *len = 0;
    if (!d) return NULL;
    if (!reserve(&d->out, &d->cap, 8)) return NULL;
    size_t o = 0;
    if (d->npend) { d->out[o++] = 0xEF; d->out[o++] = 0xBF; d->out[o++] = 0xBD; }
    d->npend = 0;
    d->out[o] = 0;
    if (len) *len = o;
    return (const char *)d->out;
}
