/* pretok.c — the pre-tokenizers of EXAONE's Hugging Face tokenizer, hand-coded for speed:
 * Digits (Rust char::is_numeric, individual or contiguous) followed by the GPT-2 ByteLevel regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with Oniguruma's leftmost-alternative semantics (REF: spec §6.4, §7.3). Input is valid UTF-8;
 * also the GPT-2 byte <-> unicode mapping of the ByteLevel pre-tokenizer/decoder. */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

/* GPT-2 bytes_to_unicode(): printable Latin-1 bytes map to themselves, the rest to 256 + k */
const uint16_t exa_byte_to_unicode[256] = {
#define R(x) x
    256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271,
    272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287,
    288, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 289,
    290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305,
    306, 307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321,
    322, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 323, 174, 175,
    176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
    192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207,
    208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223,
    224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
    240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
#undef R
};

int exa_unicode_to_byte(uint32_t cp) {
    if (cp >= 33 && cp <= 126) return (int)cp;
    if (cp >= 161 && cp <= 255 && cp != 173) return (int)cp;
    if (cp >= 256 && cp <= 323) {
        for (int b = 0; b < 256; b++)
            if (exa_byte_to_unicode[b] == cp) return b;
    }
    return -1;
}

/* class of the character at s[i] (valid UTF-8); *len gets its byte length */
static inline unsigned cls_at(const uint8_t *s, size_t n, size_t i, size_t *len) {
    uint8_t c = s[i];
    if (c < 0x80) { *len = 1; return exa_uclass(c); }
    uint32_t cp = 0;
    size_t bad;
    size_t l = exa_tok_utf8_next(s + i, n - i, &cp, &bad);
    if (!l) { *len = 1; return 0; } /* cannot happen on sanitized input */
    *len = l;
    return exa_uclass(cp);
}

#define LN (EXA_U_L | EXA_U_N | EXA_U_S)

/* end of the run of characters starting at i whose class satisfies (cls & mask) == want */
static inline size_t run_end(const uint8_t *s, size_t n, size_t i, unsigned mask, unsigned want) {
    while (i < n) {
        size_t l;
        unsigned k = cls_at(s, n, i, &l);
        if ((k & mask) != want) break;
        i += l;
    }
    return i;
}

static void regex_split(const uint8_t *s, size_t n, exa_piece_fn fn, void *user) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t e;
        if (c == '\'' && i + 1 < n) {
            uint8_t d = s[i + 1];
            if (d == 's' || d == 't' || d == 'm' || d == 'd') { fn(user, s + i, 2); i += 2; continue; }
            if (i + 2 < n) {
                uint8_t f = s[i + 2];
                if ((d == 'r' && f == 'e') || (d == 'v' && f == 'e') || (d == 'l' && f == 'l')) {
                    fn(user, s + i, 3); i += 3; continue;
                }
            }
        }
        size_t cl;
        unsigned k = cls_at(s, n, i, &cl);
        size_t j = i; /* where the class run starts (after an optional leading space) */
        unsigned kk = k;
        if (c == ' ' && i + 1 < n) {
            size_t l2;
            unsigned k2 = cls_at(s, n, i + 1, &l2);
            if (!(k2 & EXA_U_S)) { j = i + 1; kk = k2; }
        }
        if (!(kk & EXA_U_S) || j != i) {
            if (kk & EXA_U_L) e = run_end(s, n, j, EXA_U_L, EXA_U_L);
            else if (kk & EXA_U_N) e = run_end(s, n, j, EXA_U_L | EXA_U_N, EXA_U_N);
            else e = run_end(s, n, j, LN, 0);
            fn(user, s + i, e - i);
            i = e;
            continue;
        }
        /* whitespace at i: \s+(?!\S) | \s+ */
        size_t last = i, p = i;
        int count = 0;
        while (p < n) {
            size_t l;
            unsigned k3 = cls_at(s, n, p, &l);
            if (!(k3 & EXA_U_S)) break;
            last = p;
            p += l;
            count++;
        }
        if (p == n || count < 2) e = p;
        else e = last;
        fn(user, s + i, e - i);
        i = e;
    }
}

void exa_pretokenize(int digits, int use_regex, const uint8_t *s, size_t n, exa_piece_fn fn, void *user) {
    if (!n) return;
    if (!digits) {
        if (use_regex) regex_split(s, n, fn, user);
        else fn(user, s, n);
        return;
    }
    size_t i = 0, start = 0;
    while (i < n) {
        size_t l;
        unsigned k = cls_at(s, n, i, &l);
        if (k & EXA_U_D) {
            if (start < i) {
                if (use_regex) regex_split(s + start, i - start, fn, user);
                else fn(user, s + start, i - start);
            }
            size_t e = i + l;
            if (digits == 2) e = run_end(s, n, i, EXA_U_D, EXA_U_D);
            if (use_regex) regex_split(s + i, e - i, fn, user);
            else fn(user, s + i, e - i);
            i = start = e;
            continue;
        }
        i += l;
    }
    if (start < n) {
        if (use_regex) regex_split(s + start, n - start, fn, user);
        else fn(user, s + start, n - start);
    }
}
