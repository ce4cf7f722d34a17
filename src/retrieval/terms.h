/* terms.h — term extraction for the document index: UTF-8 decoding and character classes,
 * case folding, Korean josa/eomi stripping, Hangul character bigrams, English Snowball stems.
 * One extractor serves indexing (through the SQLite FTS5 tokenizer in index.c) and queries. */
#ifndef EXA_RETRIEVAL_TERMS_H
#define EXA_RETRIEVAL_TERMS_H

#include <stddef.h>
#include <stdint.h>

#include "exaone.h"
#include "tokenizer/unicode.h" /* exa_tok_utf8_valid_prefix: one UTF-8 validator for the project */

/* Decodes one UTF-8 code point at s[0..n); returns its length (1..4). Invalid or truncated
 * sequences decode as U+FFFD with length 1. n must be > 0. */
int exa_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

int exa_cp_is_hangul(uint32_t cp);   /* Hangul syllable U+AC00..U+D7A3 */
int exa_cp_is_word(uint32_t cp);     /* letter or digit of any script (not space/punctuation) */
int exa_cp_is_space(uint32_t cp);

typedef struct exa_terms exa_terms;

/* Called for every term; term is not NUL-terminated; [start,end) is the byte range of the word
 * it came from. Return non-zero to stop extraction (the value is passed back). */
typedef int (*exa_term_fn)(void *user, const char *term, int len, int start, int end);

exa_terms *exa_terms_new(exa_index_terms mode);  /* NULL on out of memory */
void exa_terms_free(exa_terms *t);
/* Query-side extraction (1): Korean interrogatives (무엇, 어디, 몇, ...) are dropped. */
void exa_terms_set_query(exa_terms *t, int query);
int exa_terms_run(exa_terms *t, const char *text, size_t n, exa_term_fn fn, void *user);
const char *exa_terms_mode_name(exa_index_terms mode);
int exa_terms_mode_parse(const char *name, exa_index_terms *mode);  /* 0 on success */

/* Length in bytes of a Korean josa/eomi suffix to strip from the Hangul word w[0..n) (0 if none);
 * never strips the whole word. Exposed for tests. */
int exa_josa_suffix(const char *w, int n);

#endif
