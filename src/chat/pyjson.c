/* pyjson.c — Python-compatible text primitives for the chat templates: a byte buffer, Python
 * float repr, json.dumps(x, ensure_ascii=False) over json-c values, str() of scalars, and the
 * UTF-8 code-point helpers (str.strip, slicing) the EXAONE 4.0 template relies on.
 * REF: spec §8 (tojson = json.dumps with ", " / ": "), §9 item 17. */
#include "chat/chat_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ----------------------------------------------------------------------------- */
static int sbuf_reserve(exa_sbuf *b, size_t extra) {
    if (b->oom) return 0;
    if (b->len + extra + 1 <= b->cap) return 1;
    size_t need = b->len + extra + 1;
    if (need < b->len) { b->oom = 1; return 0; }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > ((size_t)1 << 40)) { b->oom = 1; return 0; }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) { b->oom = 1; return 0; }
    b->data = p;
    b->cap = cap;
    return 1;
}

void exa_sbuf_append(exa_sbuf *b, const char *s, size_t n) {
    if (!sbuf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void exa_sbuf_puts(exa_sbuf *b, const char *s) { exa_sbuf_append(b, s, strlen(s)); }
void exa_sbuf_putc(exa_sbuf *b, char c) { exa_sbuf_append(b, &c, 1); }

void exa_sbuf_free(exa_sbuf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *exa_sbuf_take(exa_sbuf *b, size_t *len) {
    if (!sbuf_reserve(b, 0)) { exa_sbuf_free(b); return NULL; }
    char *p = b->data;
    if (len) *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}

/* ---- float repr ----------------------------------------------------------------------------
 * The shortest %.{p}e that parses back to x has the same digits as Python's dtoa mode 0 (the
 * correctly rounded p-digit value is the closest p-digit decimal, so if any p-digit decimal
 * round-trips, it does). Layout follows Python's format_float_short with repr rules. */
void exa_py_float_repr(double x, exa_sbuf *out) {
    if (isnan(x)) { exa_sbuf_puts(out, "NaN"); return; }
    if (isinf(x)) { exa_sbuf_puts(out, x < 0 ? "-Infinity" : "Infinity"); return; }
    if (x == 0) { exa_sbuf_puts(out, signbit(x) ? "-0.0" : "0.0"); return; }
    char tmp[64];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        if (strtod(tmp, NULL) == x) break;
    }
    if (p > 17) { p = 17; snprintf(tmp, sizeof tmp, "%.*e", p - 1, x); }
    /* tmp = [-]d[.ddd]e±XX */
    const char *s = tmp;
    int neg = 0;
    if (*s == '-') { neg = 1; s++; }
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && nd < 20) digits[nd++] = *s;
    int e10 = (*s == 'e') ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;  /* %.*e may pad; Python keeps shortest */
    digits[nd] = 0;
    int decpt = e10 + 1;  /* value = 0.d1d2.. * 10^decpt */
    if (neg) exa_sbuf_putc(out, '-');
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            exa_sbuf_puts(out, "0.");
            for (int i = 0; i < -decpt; i++) exa_sbuf_putc(out, '0');
            exa_sbuf_append(out, digits, (size_t)nd);
        } else if (decpt >= nd) {
            exa_sbuf_append(out, digits, (size_t)nd);
            for (int i = nd; i < decpt; i++) exa_sbuf_putc(out, '0');
            exa_sbuf_puts(out, ".0");
        } else {
            exa_sbuf_append(out, digits, (size_t)decpt);
            exa_sbuf_putc(out, '.');
            exa_sbuf_append(out, digits + decpt, (size_t)(nd - decpt));
        }
    } else {
        exa_sbuf_putc(out, digits[0]);
        if (nd > 1) {
            exa_sbuf_putc(out, '.');
            exa_sbuf_append(out, digits + 1, (size_t)(nd - 1));
        }
        int e = decpt - 1;
        snprintf(tmp, sizeof tmp, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        exa_sbuf_puts(out, tmp);
    }
}

/* ---- json.dumps ------------------------------------------------------------------------- */
void exa_pyjson_string(const char *s, size_t n, exa_sbuf *out) {
    static const char hex[] = "0123456789abcdef";
    exa_sbuf_putc(out, '"');
    size_t run = 0;  /* bytes copied verbatim in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = 0;
                esc = u;
            }
        }
        if (esc) {
            exa_sbuf_append(out, s + i - run, run);
            run = 0;
            exa_sbuf_puts(out, esc);
        } else {
            run++;
        }
    }
    exa_sbuf_append(out, s + n - run, run);
    exa_sbuf_putc(out, '"');
}

static void put_int(const struct json_object *v, exa_sbuf *out) {
    char tmp[32];
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MAX) {
        uint64_t u = json_object_get_uint64(v);  /* json-c keeps values up to UINT64_MAX */
        snprintf(tmp, sizeof tmp, "%" PRIu64, u);
    } else {
        snprintf(tmp, sizeof tmp, "%" PRId64, i);
    }
    exa_sbuf_puts(out, tmp);
}

static exa_status dump(const struct json_object *v, exa_sbuf *out, int depth) {
    if (depth > EXA_PYJSON_MAX_DEPTH) return EXA_ERR_INVALID_ARG;
    switch (json_object_get_type(v)) {
    case json_type_null: exa_sbuf_puts(out, "null"); return EXA_OK;
    case json_type_boolean: exa_sbuf_puts(out, json_object_get_boolean(v) ? "true" : "false"); return EXA_OK;
    case json_type_int: put_int(v, out); return EXA_OK;
    case json_type_double: exa_py_float_repr(json_object_get_double(v), out); return EXA_OK;
    case json_type_string:
        exa_pyjson_string(json_object_get_string((struct json_object *)v),
                          (size_t)json_object_get_string_len(v), out);
        return EXA_OK;
    case json_type_array: {
        size_t n = json_object_array_length(v);
        exa_sbuf_putc(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i) exa_sbuf_puts(out, ", ");
            exa_status st = dump(json_object_array_get_idx(v, i), out, depth + 1);
            if (st) return st;
        }
        exa_sbuf_putc(out, ']');
        return EXA_OK;
    }
    case json_type_object: {
        int first = 1;
        exa_sbuf_putc(out, '{');
        json_object_object_foreach((struct json_object *)v, key, val) {
            if (!first) exa_sbuf_puts(out, ", ");
            first = 0;
            exa_pyjson_string(key, strlen(key), out);
            exa_sbuf_puts(out, ": ");
            exa_status st = dump(val, out, depth + 1);
            if (st) return st;
        }
        exa_sbuf_putc(out, '}');
        return EXA_OK;
    }
    }
    return EXA_ERR_INVALID_ARG;
}

exa_status exa_pyjson_dump(const struct json_object *v, exa_sbuf *out) {
    exa_status st = dump(v, out, 0);
    if (st == EXA_OK && out->oom) st = EXA_ERR_NOMEM;
    return st;
}

exa_status exa_py_str(const struct json_object *v, exa_sbuf *out) {
    switch (json_object_get_type(v)) {
    case json_type_null: exa_sbuf_puts(out, "None"); return EXA_OK;
    case json_type_boolean: exa_sbuf_puts(out, json_object_get_boolean(v) ? "True" : "False"); return EXA_OK;
    case json_type_int: put_int(v, out); return EXA_OK;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (isnan(d)) exa_sbuf_puts(out, "nan");
        else if (isinf(d)) exa_sbuf_puts(out, d < 0 ? "-inf" : "inf");
        else exa_py_float_repr(d, out);
        return EXA_OK;
    }
    case json_type_string:
        exa_sbuf_append(out, json_object_get_string((struct json_object *)v), (size_t)json_object_get_string_len(v));
        return EXA_OK;
    default: return EXA_ERR_UNSUPPORTED;
    }
}

/* ---- UTF-8 / Python str helpers ----------------------------------------------------------- */
size_t exa_utf8_char_len(const unsigned char *s, size_t n) {
    if (!n) return 0;
    unsigned c = s[0];
    size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (need > n) return 1;
    for (size_t i = 1; i < need; i++)
        if ((s[i] & 0xC0) != 0x80) return 1;
    return need;
}

static uint32_t utf8_decode(const unsigned char *s, size_t len) {
    switch (len) {
    case 2: return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3: return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    case 4: return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                   ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    default: return s[0] < 0x80 ? s[0] : 0xFFFD;
    }
}

/* Python str.isspace(): bidi class WS/B/S or category Zs. */
static int py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

int exa_py_isspace_at(const char *s, size_t n, size_t *clen) {
    size_t l = exa_utf8_char_len((const unsigned char *)s, n);
    if (clen) *clen = l;
    if (!l) return 0;
    return py_space(utf8_decode((const unsigned char *)s, l));
}

void exa_py_strip(const char **s, size_t *n) {
    const char *p = *s;
    size_t len = *n, cl;
    while (len && exa_py_isspace_at(p, len, &cl)) { p += cl; len -= cl; }
    /* from the end: find the start of the last char by skipping continuation bytes */
    while (len) {
        size_t st = len - 1;
        while (st > 0 && len - st < 4 && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
        size_t l = exa_utf8_char_len((const unsigned char *)p + st, len - st);
        if (st + l != len) st = len - 1, l = 1;  /* trailing byte is not a whole char */
        if (!py_space(utf8_decode((const unsigned char *)p + st, l)) || (l == 1 && (unsigned char)p[st] >= 0x80)) break;
        len = st;
    }
    *s = p;
    *n = len;
}

void exa_py_lstrip_newlines(const char **s, size_t *n) {
    while (*n && **s == '\n') { (*s)++; (*n)--; }
}

void exa_py_slice_from(const char **s, size_t *n, size_t k) {
    while (k-- && *n) {
        size_t l = exa_utf8_char_len((const unsigned char *)*s, *n);
        *s += l;
        *n -= l;
    }
}

const char *exa_find(const char *h, size_t hn, const char *needle, size_t nn) {
    if (nn == 0) return h;
    if (nn > hn) return NULL;
    return memmem(h, hn, needle, nn);
}

const char *exa_find_last(const char *h, size_t hn, const char *needle, size_t nn) {
    if (nn > hn) return NULL;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (!memcmp(h + i, needle, nn)) return h + i;
    return NULL;
}
