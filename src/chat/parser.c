/* parser.c — streaming parser of EXAONE model output: detects stop strings ("[|endofturn|]"
 * plus the caller's) over arbitrarily split text, splits reasoning (<think>…</think> for 4.0,
 * <thought>…</thought> for Deep; the prompt may already have opened the block) from the answer,
 * and turns 4.0 <tool_call>{"name":…,"arguments":…}</tool_call> into OpenAI tool-call objects.
 * Stage 1 (stop strings + UTF-8 completion) feeds stage 2 (tags), each holding back only what
 * could still turn out to be a stop string, a tag or the rest of a character. Owns
 * exa_chat_parser. REF: spec §8.3 "Model output conventions", §9 item 15. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat/chat_internal.h"
#include "core/common.h"

#define MAX_STOPS 64

enum { M_START, M_REASONING, M_CONTENT, M_TOOLCALL };

typedef struct channel {
    exa_sbuf all, delta, held;  /* everything, this call's output, trailing whitespace held back */
    int started;                /* non-whitespace seen (leading whitespace is dropped) */
} channel;

struct exa_chat_parser {
    exa_chat_kind kind;
    int tools;
    char *stops[MAX_STOPS];
    size_t stop_len[MAX_STOPS];
    int n_stops;
    char id_prefix[64];
    const char *open_tag, *close_tag;
    exa_sbuf pend;      /* stage 1: raw bytes not yet released */
    exa_sbuf tb;        /* stage 2: text not yet classified */
    int mode;
    int stopped;
    const char *stop_hit;
    channel reasoning, content;
    struct json_object *calls_all;  /* array of every tool call */
    struct json_object *calls_new;  /* array of this call's tool calls */
    char *calls_all_str, *calls_new_str;
    int n_calls;
};

exa_chat_parser_params exa_chat_parser_default_params(exa_chat_kind kind) {
    exa_chat_parser_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.reasoning_open = kind == EXA_CHAT_DEEP;
    p.parse_tool_calls = 1;
    p.tool_id_prefix = "call_";
    return p;
}

static void chan_free(channel *c) {
    exa_sbuf_free(&c->all);
    exa_sbuf_free(&c->delta);
    exa_sbuf_free(&c->held);
}

void exa_chat_parser_free(exa_chat_parser *p) {
    if (!p) return;
    for (int i = 0; i < p->n_stops; i++) free(p->stops[i]);
    exa_sbuf_free(&p->pend);
    exa_sbuf_free(&p->tb);
    chan_free(&p->reasoning);
    chan_free(&p->content);
    json_object_put(p->calls_all);
    json_object_put(p->calls_new);
    free(p->calls_all_str);
    free(p->calls_new_str);
    free(p);
}

exa_status exa_chat_parser_init(const exa_chat_parser_params *params, exa_chat_parser **out) {
    *out = NULL;
    if (!params) return EXA_ERR_INVALID_ARG;
    if (params->kind != EXA_CHAT_EXAONE3 && params->kind != EXA_CHAT_DEEP && params->kind != EXA_CHAT_EXAONE4)
        return EXA_ERR_INVALID_ARG;
    if (params->n_stop < 0 || params->n_stop > MAX_STOPS - 1 || (params->n_stop && !params->stop))
        return EXA_ERR_INVALID_ARG;
    exa_chat_parser *p = calloc(1, sizeof *p);
    if (!p) return EXA_ERR_NOMEM;
    p->kind = params->kind;
    p->tools = params->kind == EXA_CHAT_EXAONE4 && params->parse_tool_calls;
    const char *eot = "[|endofturn|]";
    for (int i = -1; i < params->n_stop; i++) {
        const char *s = i < 0 ? eot : params->stop[i];
        if (!s || !*s) continue;
        if (strlen(s) > 4096) { exa_chat_parser_free(p); return EXA_ERR_INVALID_ARG; }
        p->stops[p->n_stops] = strdup(s);
        if (!p->stops[p->n_stops]) { exa_chat_parser_free(p); return EXA_ERR_NOMEM; }
        p->stop_len[p->n_stops] = strlen(s);
        p->n_stops++;
    }
    snprintf(p->id_prefix, sizeof p->id_prefix, "%s", params->tool_id_prefix ? params->tool_id_prefix : "call_");
    if (p->kind == EXA_CHAT_EXAONE4) { p->open_tag = "<think>"; p->close_tag = "</think>"; }
    if (p->kind == EXA_CHAT_DEEP) { p->open_tag = "<thought>"; p->close_tag = "</thought>"; }
    p->mode = !p->open_tag ? M_CONTENT : params->reasoning_open ? M_REASONING : M_START;
    p->calls_all = json_object_new_array();
    p->calls_new = json_object_new_array();
    if (!p->calls_all || !p->calls_new) { exa_chat_parser_free(p); return EXA_ERR_NOMEM; }
    *out = p;
    return EXA_OK;
}

/* ---- channels: whitespace trimming on both ends, streaming --------------------------------- */
static void chan_emit(channel *c, const char *s, size_t n) {
    size_t cl;
    if (!c->started) {
        while (n && exa_py_isspace_at(s, n, &cl)) { s += cl; n -= cl; }
        if (!n) return;
        c->started = 1;
    }
    /* split off trailing whitespace (input is whole UTF-8 characters) */
    size_t body = 0, i = 0;
    while (i < n) {
        int sp = exa_py_isspace_at(s + i, n - i, &cl);
        i += cl;
        if (!sp) body = i;
    }
    if (body) {
        exa_sbuf_append(&c->delta, c->held.data ? c->held.data : "", c->held.len);
        exa_sbuf_append(&c->all, c->held.data ? c->held.data : "", c->held.len);
        c->held.len = 0;
        exa_sbuf_append(&c->delta, s, body);
        exa_sbuf_append(&c->all, s, body);
    }
    exa_sbuf_append(&c->held, s + body, n - body);
}

/* ---- tool calls ------------------------------------------------------------------------------ */
static int add_call(exa_chat_parser *p, struct json_object *obj) {
    struct json_object *name, *args = NULL;
    if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, "name", &name) ||
        !json_object_is_type(name, json_type_string))
        return 0;
    int has_args = json_object_object_get_ex(obj, "arguments", &args);
    if (!has_args) has_args = json_object_object_get_ex(obj, "parameters", &args);
    exa_sbuf a = {0};
    if (!has_args) exa_sbuf_puts(&a, "{}");
    else if (args && json_object_is_type(args, json_type_string))
        exa_sbuf_append(&a, json_object_get_string(args), (size_t)json_object_get_string_len(args));
    else if (exa_pyjson_dump(args, &a)) { exa_sbuf_free(&a); return 0; }
    char id[96];
    snprintf(id, sizeof id, "%s%d", p->id_prefix, p->n_calls);
    struct json_object *call = json_object_new_object(), *fn = json_object_new_object();
    json_object_object_add(call, "id", json_object_new_string(id));
    json_object_object_add(call, "type", json_object_new_string("function"));
    json_object_object_add(fn, "name", json_object_new_string_len(json_object_get_string(name), json_object_get_string_len(name)));
    json_object_object_add(fn, "arguments", json_object_new_string_len(a.data ? a.data : "", (int)a.len));
    json_object_object_add(call, "function", fn);
    exa_sbuf_free(&a);
    json_object_array_add(p->calls_all, json_object_get(call));
    json_object_array_add(p->calls_new, call);
    p->n_calls++;
    return 1;
}

/* Parses the text between <tool_call> and </tool_call>; returns 0 if it is not a valid call. */
static int parse_call(exa_chat_parser *p, const char *s, size_t n) {
    exa_py_strip(&s, &n);
    if (!n || n > (64u << 20)) return 0;
    struct json_tokener *tok = json_tokener_new_ex(EXA_PYJSON_MAX_DEPTH);
    if (!tok) return 0;
    struct json_object *v = json_tokener_parse_ex(tok, s, (int)n);
    int ok = v && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == n;
    json_tokener_free(tok);
    if (ok && json_object_is_type(v, json_type_array)) {
        size_t k = json_object_array_length(v);
        ok = k > 0;
        for (size_t i = 0; i < k && ok; i++) {
            struct json_object *e = json_object_array_get_idx(v, i), *nm;
            ok = json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "name", &nm) &&
                 json_object_is_type(nm, json_type_string);
        }
        for (size_t i = 0; i < k && ok; i++) add_call(p, json_object_array_get_idx(v, i));
    } else if (ok) {
        ok = add_call(p, v);
    }
    json_object_put(v);
    return ok;
}

/* ---- stage 2: tags --------------------------------------------------------------------------- */
/* Longest proper prefix of tag that s[0..n) ends with. */
static size_t partial_suffix(const char *s, size_t n, const char *tag) {
    size_t tl = strlen(tag);
    for (size_t k = EXA_MIN(n, tl - 1); k > 0; k--)
        if (!memcmp(s + n - k, tag, k)) return k;
    return 0;
}

static void tb_consume(exa_sbuf *b, size_t k) {
    memmove(b->data, b->data + k, b->len - k);
    b->len -= k;
    b->data[b->len] = 0;
}

static void process(exa_chat_parser *p, int final) {
    for (;;) {
        exa_sbuf *b = &p->tb;
        if (!b->len) return;
        const char *s = b->data;
        size_t n = b->len, cl;
        switch (p->mode) {
        case M_START: {
            size_t ws = 0;
            while (ws < n && exa_py_isspace_at(s + ws, n - ws, &cl)) ws += cl;
            size_t ol = strlen(p->open_tag), rest = n - ws;
            if (rest >= ol && !memcmp(s + ws, p->open_tag, ol)) {
                tb_consume(b, ws + ol);
                p->mode = M_REASONING;
                continue;
            }
            if (!final && rest < ol && !memcmp(s + ws, p->open_tag, rest)) return;
            p->mode = M_CONTENT;
            continue;
        }
        case M_REASONING: {
            const char *c = exa_find(s, n, p->close_tag, strlen(p->close_tag));
            if (c) {
                chan_emit(&p->reasoning, s, (size_t)(c - s));
                p->reasoning.held.len = 0;
                tb_consume(b, (size_t)(c - s) + strlen(p->close_tag));
                p->mode = M_CONTENT;
                continue;
            }
            size_t keep = final ? 0 : partial_suffix(s, n, p->close_tag);
            chan_emit(&p->reasoning, s, n - keep);
            tb_consume(b, n - keep);
            return;
        }
        case M_CONTENT: {
            if (!p->tools) {
                chan_emit(&p->content, s, n);
                b->len = 0;
                return;
            }
            const char *c = exa_find(s, n, "<tool_call>", 11);
            if (c) {
                chan_emit(&p->content, s, (size_t)(c - s));
                tb_consume(b, (size_t)(c - s) + 11);
                p->mode = M_TOOLCALL;
                continue;
            }
            size_t keep = final ? 0 : partial_suffix(s, n, "<tool_call>");
            chan_emit(&p->content, s, n - keep);
            tb_consume(b, n - keep);
            return;
        }
        case M_TOOLCALL: {
            const char *c = exa_find(s, n, "</tool_call>", 12);
            if (c) {
                size_t body = (size_t)(c - s);
                if (!parse_call(p, s, body)) {  /* malformed: keep the text as answer */
                    chan_emit(&p->content, "<tool_call>", 11);
                    chan_emit(&p->content, s, body + 12);
                }
                tb_consume(b, body + 12);
                p->mode = M_CONTENT;
                continue;
            }
            if (final) {
                chan_emit(&p->content, "<tool_call>", 11);
                chan_emit(&p->content, s, n);
                b->len = 0;
                p->mode = M_CONTENT;
            }
            return;
        }
        }
    }
}

/* Passes complete text to stage 2, replacing invalid UTF-8 and NUL bytes with U+FFFD. */
static void to_stage2(exa_chat_parser *p, const char *s, size_t n) {
    size_t i = 0, run = 0;
    while (i < n) {
        size_t l = exa_utf8_char_len((const unsigned char *)s + i, n - i);
        unsigned char c = (unsigned char)s[i];
        int bad = (l == 1 && c >= 0x80) || c == 0;  /* NUL too: results are C strings */
        /* also reject overlong / surrogate / out-of-range forms */
        if (l == 2 && c < 0xC2) bad = 1;
        if (l == 3 && ((c == 0xE0 && (unsigned char)s[i + 1] < 0xA0) || (c == 0xED && (unsigned char)s[i + 1] >= 0xA0))) bad = 1;
        if (l == 4 && ((c == 0xF0 && (unsigned char)s[i + 1] < 0x90) || c > 0xF4 || (c == 0xF4 && (unsigned char)s[i + 1] >= 0x90))) bad = 1;
        if (bad) {
            exa_sbuf_append(&p->tb, s + i - run, run);
            run = 0;
            exa_sbuf_puts(&p->tb, "\xEF\xBF\xBD");
            i += 1;  /* as Python's errors="replace": the rest become their own U+FFFD */
            continue;
        }
        run += l;
        i += l;
    }
    exa_sbuf_append(&p->tb, s + n - run, run);
}

/* Bytes at the end of s[0..n) that begin a multi-byte character not yet complete. */
static size_t utf8_incomplete_tail(const char *s, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xC0) == 0x80) continue;  /* continuation byte: look further back */
        size_t need = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        return need > k ? k : 0;
    }
    return 0;
}

static void reset_deltas(exa_chat_parser *p, exa_chat_delta *d) {
    p->reasoning.delta.len = 0;
    p->content.delta.len = 0;
    if (json_object_array_length(p->calls_new)) {
        json_object_put(p->calls_new);
        p->calls_new = json_object_new_array();
    }
    free(p->calls_new_str);
    p->calls_new_str = NULL;
    if (d) memset(d, 0, sizeof *d);
}

static exa_status fill_delta(exa_chat_parser *p, exa_chat_delta *d) {
    if (p->reasoning.all.oom || p->content.all.oom || p->reasoning.delta.oom || p->content.delta.oom ||
        p->tb.oom || p->pend.oom || p->reasoning.held.oom || p->content.held.oom || !p->calls_new)
        return EXA_ERR_NOMEM;
    if (!d) return EXA_OK;
    d->reasoning = p->reasoning.delta.len ? p->reasoning.delta.data : "";
    d->reasoning_len = p->reasoning.delta.len;
    d->content = p->content.delta.len ? p->content.delta.data : "";
    d->content_len = p->content.delta.len;
    d->n_tool_calls = (int)json_object_array_length(p->calls_new);
    if (d->n_tool_calls) {
        p->calls_new_str = strdup(json_object_to_json_string_ext(p->calls_new, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!p->calls_new_str) return EXA_ERR_NOMEM;
        d->tool_calls_json = p->calls_new_str;
    }
    d->stopped = p->stopped;
    d->stop_string = p->stop_hit;
    return EXA_OK;
}

exa_status exa_chat_parser_feed(exa_chat_parser *p, const char *text, size_t len, exa_chat_delta *d) {
    if (!p || (!text && len)) return EXA_ERR_INVALID_ARG;
    reset_deltas(p, d);
    if (p->stopped) return fill_delta(p, d);
    exa_sbuf_append(&p->pend, text ? text : "", len);
    if (p->pend.oom) return EXA_ERR_NOMEM;
    const char *s = p->pend.data;
    size_t n = p->pend.len;
    /* earliest stop string */
    const char *hit = NULL;
    int hit_i = -1;
    for (int i = 0; i < p->n_stops; i++) {
        const char *h = exa_find(s, n, p->stops[i], p->stop_len[i]);
        if (h && (!hit || h < hit || (h == hit && p->stop_len[i] > p->stop_len[hit_i]))) { hit = h; hit_i = i; }
    }
    if (hit) {
        to_stage2(p, s, (size_t)(hit - s));
        p->stopped = 1;
        p->stop_hit = p->stops[hit_i];
        p->pend.len = 0;
        process(p, 1);
        p->reasoning.held.len = p->content.held.len = 0;
        return fill_delta(p, d);
    }
    size_t keep = 0;
    for (int i = 0; i < p->n_stops; i++) keep = EXA_MAX(keep, partial_suffix(s, n, p->stops[i]));
    keep = EXA_MAX(keep, utf8_incomplete_tail(s, n));
    to_stage2(p, s, n - keep);
    tb_consume(&p->pend, n - keep);
    process(p, 0);
    return fill_delta(p, d);
}

exa_status exa_chat_parser_finish(exa_chat_parser *p, exa_chat_delta *d) {
    if (!p) return EXA_ERR_INVALID_ARG;
    reset_deltas(p, d);
    if (!p->stopped) {
        to_stage2(p, p->pend.data ? p->pend.data : "", p->pend.len);
        p->pend.len = 0;
        process(p, 1);
        p->reasoning.held.len = p->content.held.len = 0;
    }
    return fill_delta(p, d);
}

const char *exa_chat_parser_reasoning(const exa_chat_parser *p) {
    return p && p->reasoning.all.data ? p->reasoning.all.data : "";
}
const char *exa_chat_parser_content(const exa_chat_parser *p) {
    return p && p->content.all.data ? p->content.all.data : "";
}
const char *exa_chat_parser_tool_calls(const exa_chat_parser *p) {
    if (!p) return "[]";
    exa_chat_parser *m = (exa_chat_parser *)p;
    free(m->calls_all_str);
    m->calls_all_str = strdup(json_object_to_json_string_ext(p->calls_all, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    return m->calls_all_str ? m->calls_all_str : "[]";
}
int exa_chat_parser_n_tool_calls(const exa_chat_parser *p) { return p ? p->n_calls : 0; }

exa_status exa_chat_parse(const exa_chat_parser_params *params, const char *text, size_t len, exa_chat_parsed *out) {
    memset(out, 0, sizeof *out);
    exa_chat_parser *p;
    exa_status st = exa_chat_parser_init(params, &p);
    if (st) return st;
    st = exa_chat_parser_feed(p, text, len, NULL);
    if (!st) st = exa_chat_parser_finish(p, NULL);
    if (!st) {
        out->reasoning = strdup(exa_chat_parser_reasoning(p));
        out->content = strdup(exa_chat_parser_content(p));
        out->tool_calls_json = strdup(exa_chat_parser_tool_calls(p));
        out->n_tool_calls = p->n_calls;
        out->stopped = p->stopped;
        if (!out->reasoning || !out->content || !out->tool_calls_json) st = EXA_ERR_NOMEM;
    }
    exa_chat_parser_free(p);
    if (st) exa_chat_parsed_free(out);
    return st;
}

void exa_chat_parsed_free(exa_chat_parsed *r) {
    if (!r) return;
    free(r->reasoning);
    free(r->content);
    free(r->tool_calls_json);
    memset(r, 0, sizeof *r);
}
