/* unicode.h — character classes used by the tokenizer's pre-tokenizers (GPT-2 ByteLevel regex and
 * Digits), exactly as the Hugging Face `tokenizers` library sees them (tables in unicode_tables.c,
 * measured on that library), plus UTF-8 helpers (decoding, validation with maximal-subpart
 * replacement like Rust's String::from_utf8_lossy / WHATWG). */
#ifndef EXA_TOKENIZER_UNICODE_H
#define EXA_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    EXA_U_L = 1,  /* \p{L} in the GPT-2 regex (Oniguruma) */
    EXA_U_N = 2,  /* \p{N} in the GPT-2 regex */
    EXA_U_S = 4,  /* \s in the GPT-2 regex (= Rust char::is_whitespace) */
    EXA_U_D = 8,  /* Rust char::is_numeric (Digits pre-tokenizer) */
};

typedef struct exa_uranges { uint32_t lo, hi, cls; } exa_uranges;
extern const exa_uranges exa_uclass_ranges[];
extern const int exa_uclass_n_ranges;

/* Builds the lookup tables once (thread-safe); called by the tokenizer loader. */
void exa_uclass_init(void);

extern uint16_t exa_uclass_stage1[0x1100];
extern uint8_t exa_uclass_stage2[][256];

/* Class bits of a code point (exa_uclass_init must have run). */
static inline unsigned exa_uclass(uint32_t cp) {
    if (cp >= 0x110000) return 0;
    return exa_uclass_stage2[exa_uclass_stage1[cp >> 8]][cp & 255];
}

/* Decodes one UTF-8 character of s[0..n) (n >= 1). Returns its length (1..4) and the code point
 * in *cp, or 0 when s starts with an invalid or incomplete sequence; then *bad gets the length of
 * its maximal subpart (1..3): the number of bytes one U+FFFD replaces. */
size_t exa_tok_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, size_t *bad);

/* Length of the longest prefix of s that is valid UTF-8. */
size_t exa_tok_utf8_valid_prefix(const uint8_t *s, size_t n);

/* Writes s with every invalid sequence replaced by U+FFFD (maximal subparts) into out (capacity
 * >= 3*n bytes suffices); returns the output length. */
size_t exa_tok_utf8_sanitize(const uint8_t *s, size_t n, uint8_t *out);

/* Length of an incomplete but still possibly valid UTF-8 sequence at the end of s (0..3). */
size_t exa_tok_utf8_incomplete_tail(const uint8_t *s, size_t n);

/* Encodes cp as UTF-8 into out (4 bytes room); returns its length. */
size_t exa_tok_utf8_put(uint32_t cp, uint8_t *out);

#endif
