/* chat_internal.h — internal pieces of src/chat/: a growable byte buffer, Python-compatible
 * text helpers (str.strip whitespace set, code-point slicing, str() of JSON values) and the
 * Python json.dumps(ensure_ascii=False) serializer used for everything the EXAONE templates
 * pass through `tojson`. Owns no global state. */
#ifndef EXA_CHAT_INTERNAL_H
#define EXA_CHAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "exaone.h"

/* Growable byte buffer, always NUL-terminated once anything was appended. A failed allocation
 * sets oom and turns later appends into no-ops, so callers check once at the end. */
typedef struct exa_sbuf {
    char *data;
    size_t len, cap;
    int oom;
} exa_sbuf;

void exa_sbuf_append(exa_sbuf *b, const char *s, size_t n);
void exa_sbuf_puts(exa_sbuf *b, const char *s);
void exa_sbuf_putc(exa_sbuf *b, char c);
void exa_sbuf_free(exa_sbuf *b);
/* Hands the (NUL-terminated) contents to the caller and resets the buffer. */
char *exa_sbuf_take(exa_sbuf *b, size_t *len);

/* Python repr(float) / json.dumps(float): shortest round-trip digits, fixed notation for
 * 1e-4 <= |x| < 1e16, otherwise d.ddde±XX; nan/inf as NaN/Infinity/-Infinity (json.dumps). */
void exa_py_float_repr(double x, exa_sbuf *out);

/* Python json.dumps(v, ensure_ascii=False) with default separators (", ", ": "), insertion key
 * order, Python float repr, raw non-ASCII. NULL or a JSON null prints null. Nesting deeper than
 * EXA_PYJSON_MAX_DEPTH fails (Python would raise RecursionError far later; this bounds stack). */
#define EXA_PYJSON_MAX_DEPTH 512
exa_status exa_pyjson_dump(const struct json_object *v, exa_sbuf *out);
/* Just the string part: "…" with Python's escapes. */
void exa_pyjson_string(const char *s, size_t n, exa_sbuf *out);

/* Python str(v) as Jinja's {{ v }} prints it, for the value types a chat message can hold:
 * string as is, None, True/False, int, float repr. Objects/arrays return EXA_ERR_UNSUPPORTED
 * (Jinja would print a Python repr, which is never a meaningful prompt). */
exa_status exa_py_str(const struct json_object *v, exa_sbuf *out);

/* UTF-8 helpers with Python str semantics (code points, not bytes). Invalid bytes count as one
 * code point each. */
size_t exa_utf8_char_len(const unsigned char *s, size_t n);        /* length of the char at s */
int exa_py_isspace_at(const char *s, size_t n, size_t *clen);       /* str.isspace() of char at s */
void exa_py_strip(const char **s, size_t *n);                      /* str.strip() */
void exa_py_lstrip_newlines(const char **s, size_t *n);            /* str.lstrip('\n') */
void exa_py_slice_from(const char **s, size_t *n, size_t k);       /* s[k:] in code points */

/* memmem that accepts n == 0. Returns pointer to first / last occurrence or NULL. */
const char *exa_find(const char *h, size_t hn, const char *needle, size_t nn);
const char *exa_find_last(const char *h, size_t hn, const char *needle, size_t nn);

#endif
