/* unicode.c — lookup tables for the tokenizer's character classes (built once from the ranges in
 * unicode_tables.c) and the UTF-8 decoding / validation / replacement helpers of unicode.h. */
#include "tokenizer/unicode.h"

#include <pthread.h>
#include <string.h>

uint16_t exa_uclass_stage1[0x1100];
uint8_t exa_uclass_stage2[0x1100][256];

static pthread_once_t uclass_once = PTHREAD_ONCE_INIT;

static void uclass_build(void) {
    static uint8_t block[256];
    int nblocks = 0, r = 0;
    for (uint32_t b = 0; b < 0x1100; b++) {
        memset(block, 0, sizeof block);
        uint32_t lo = b << 8, hi = lo + 255;
        while (r < exa_uclass_n_ranges && exa_uclass_ranges[r].hi < lo) r++;
        for (int k = r; k < exa_uclass_n_ranges && exa_uclass_ranges[k].lo <= hi; k++) {
            uint32_t a = exa_uclass_ranges[k].lo < lo ? lo : exa_uclass_ranges[k].lo;
            uint32_t z = exa_uclass_ranges[k].hi > hi ? hi : exa_uclass_ranges[k].hi;
            for (uint32_t c = a; c <= z; c++) block[c - lo] = (uint8_t)exa_uclass_ranges[k].cls;
        }
        int found = -1;
        for (int k = 0; k < nblocks; k++)
            if (!memcmp(exa_uclass_stage2[k], block, 256)) { found = k; break; }
        if (found < 0) { memcpy(exa_uclass_stage2[nblocks], block, 256); found = nblocks++; }
        exa_uclass_stage1[b] = (uint16_t)found;
    }
}

void exa_uclass_init(void) { pthread_once(&uclass_once, uclass_build); }

size_t exa_tok_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, size_t *bad) {
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    } else { *bad = 1; return 0; }
    /* second byte has the restricted range, later ones 80..BF */
    size_t i = 1;
    for (; i <= need; i++) {
        if (i >= n) { *bad = i; return 0; }
        uint8_t b = s[i];
        uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) { *bad = i; return 0; }
    }
    uint32_t v;
    if (need == 1) v = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    else if (need == 2) v = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    else v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    *cp = v;
    return need + 1;
}

size_t exa_tok_utf8_valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        size_t bad;
        size_t l = exa_tok_utf8_next(s + i, n - i, &cp, &bad);
        if (!l) return i;
        i += l;
    }
    return n;
}

size_t exa_tok_utf8_put(uint32_t cp, uint8_t *o) {
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | (cp >> 6)); o[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12)); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18)); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

size_t exa_tok_utf8_sanitize(const uint8_t *s, size_t n, uint8_t *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        size_t v = exa_tok_utf8_valid_prefix(s + i, n - i);
        memcpy(out + o, s + i, v);
        o += v;
        i += v;
        if (i >= n) break;
        uint32_t cp;
        size_t bad = 1;
        exa_tok_utf8_next(s + i, n - i, &cp, &bad);
        out[o++] = 0xEF; out[o++] = 0xBF; out[o++] = 0xBD;
        i += bad;
    }
    return o;
}

size_t exa_tok_utf8_incomplete_tail(const uint8_t *s, size_t n) {
    /* look back at most 3 bytes for a lead byte whose sequence is cut off but valid so far */
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        const uint8_t *p = s + n - back;
        if (*p >= 0x80 && *p < 0xC0) continue; /* continuation: keep looking */
        if (*p < 0xC2 || *p > 0xF4) return 0;
        uint32_t cp;
        size_t bad = 0;
        size_t l = exa_tok_utf8_next(p, back, &cp, &bad);
        if (l) return 0;            /* complete */
        return bad == back ? back : 0; /* prefix valid so far and cut by the end */
    }
    return 0;
}
