/* fuzz_tokenizer_encode.c — encoding arbitrary bytes with a small byte-level BPE tokenizer built in
 * memory (all 256 byte tokens, merges, EXAONE-style added tokens incl. whitespace runs, Digits
 * pre-tokenizer on every other input): ids in range, decode(encode(x)) == x with invalid UTF-8
 * replaced, and the streaming detokenizer agrees with decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

static exa_tokenizer *tok[2];

static void build(void) {
    static char strs[300][16];
    static const char *vocab[300];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        uint8_t u[4];
        size_t l = exa_tok_utf8_put(exa_byte_to_unicode[b], u);
        memcpy(strs[n], u, l);
        strs[n][l] = 0;
        vocab[n] = strs[n];
        n++;
    }
    /* merges: "Ġ"+"t", "h"+"e", "Ġt"+"he", "ì"+"ķ", "a"+"a", "aa"+"aa" */
    static const char *ma[] = {"\xc4\xa0", "h", "\xc4\xa0t", "\xc3\xac", "a", "aa"};
    static const char *mb[] = {"t", "e", "he", "\xc4\xb7", "a", "aa"};
    static const char *res[] = {"\xc4\xa0t", "he", "\xc4\xa0the", "\xc3\xac\xc4\xb7", "aa", "aaaa"};
    for (int i = 0; i < 6; i++) vocab[n++] = res[i];
    static exa_added_spec added[] = {
        {"[PAD]", 262, 1, 0, 0, 0, 0}, {"  ", 263, 0, 0, 0, 0, 0}, {"    ", 264, 0, 0, 0, 0, 0},
        {"\t\t", 265, 0, 0, 0, 0, 0}, {"[|endofturn|]", 266, 1, 0, 0, 0, 0}, {"<think>", 267, 0, 0, 0, 0, 0},
        {"<x>", 268, 0, 1, 1, 0, 0}, {"sw", 269, 0, 0, 0, 1, 1},
    };
    for (int d = 0; d < 2; d++) {
        exa_tok_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.vocab = vocab;
        sp.n_vocab = n;
        sp.merge_a = ma;
        sp.merge_b = mb;
        sp.n_merges = 6;
        sp.added = added;
        sp.n_added = 8;
        sp.digits = d;
        sp.bl_regex = 1;
        char err[256];
        if (exa_tokenizer_build(&sp, "fuzz", &tok[d], err, sizeof err) != EXA_OK) { fprintf(stderr, "%s\n", err); abort(); }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok[0]) build();
    exa_tokenizer *t = tok[size & 1];
    int32_t *ids;
    size_t n;
    if (exa_tokenizer_encode_alloc(t, (const char *)data, size, 0, &ids, &n) != EXA_OK) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= exa_tokenizer_n_vocab(t)) abort();
    /* decode(encode(x)) == x after U+FFFD replacement, except for what lstrip/rstrip ate */
    uint8_t *clean = malloc(size * 3 + 1);
    size_t cl = exa_tok_utf8_sanitize(data, size, clean);
    char *s;
    size_t l;
    if (exa_tokenizer_decode_alloc(t, ids, n, 0, &s, &l) != EXA_OK) abort();
    if (!memmem(data, size, "<x>", 3) && (l != cl || memcmp(s, clean, cl))) abort();
    exa_detok *d = exa_detok_init(t, 0);
    size_t o = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t k;
        const char *p = i < n ? exa_detok_push(d, ids[i], &k) : exa_detok_flush(d, &k);
        if (!p || o + k > l || memcmp(s + o, p, k)) abort();
        o += k;
    }
    if (o != l) abort();
    exa_detok_free(d);
    free(s);
    free(clean);
    free(ids);
    return 0;
}
