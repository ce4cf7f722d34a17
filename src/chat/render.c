/* render.c — native renderers of the EXAONE chat templates: 3.0/3.5, Deep and 4.0, each
 * byte-identical to Hugging Face apply_chat_template with the official Jinja text (spec §8),
 * including the 4.0 quirks (reasoning[9:] slice, consecutive tool results sharing one
 * [|tool|] turn, Python json.dumps spacing). Where Jinja would raise, these return an error.
 * Values Jinja prints with {{ }} follow Python str(): null -> "None", true -> "True", a missing
 * field -> "". Deviation (as vLLM): content given as a list of text parts is joined with "\n". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat/chat_internal.h"
#include "chat/chat_template.h"
#include "core/common.h"

exa_chat_render_opts exa_chat_render_default_opts(void) {
    exa_chat_render_opts o = {1, 0, 1, 1};
    return o;
}

int exa_chat_prompt_opens_reasoning(const exa_chat_template *t, const exa_chat_render_opts *opts) {
    exa_chat_render_opts d = exa_chat_render_default_opts();
    if (!opts) opts = &d;
    if (!t || !opts->add_generation_prompt) return 0;
    if (t->kind == EXA_CHAT_DEEP) return 1;
    if (t->kind == EXA_CHAT_EXAONE4) return opts->enable_thinking != 0;
    return 0;
}

/* A message field: *defined says whether the key exists; *v is NULL for JSON null. */
static struct json_object *field(const struct json_object *o, const char *key, int *defined) {
    struct json_object *v = NULL;
    int d = json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v);
    if (defined) *defined = d;
    return d ? v : NULL;
}

/* Python truthiness of a JSON value (missing counts as false). */
static int truthy(const struct json_object *v, int defined) {
    if (!defined || !v) return 0;
    switch (json_object_get_type(v)) {
    case json_type_boolean: return json_object_get_boolean(v);
    case json_type_int: return json_object_get_int64(v) != 0;
    case json_type_double: return json_object_get_double(v) != 0.0;
    case json_type_string: return json_object_get_string_len(v) > 0;
    case json_type_array: return json_object_array_length(v) > 0;
    case json_type_object: return json_object_object_length(v) > 0;
    default: return 0;
    }
}

typedef struct rctx {
    exa_sbuf *out;
    char *err;
    size_t err_size;
} rctx;

/* Content of message i as text. Strings as they are; a list of {"type":"text","text":...} parts
 * joined with "\n". kind 0: Jinja {{ }} printing (None/True/numbers/"" for missing allowed);
 * kind 1: must be a string (the 3.x/Deep templates concatenate with '+'). *s points into json-c
 * memory or into tmp. */
static exa_status content_text(rctx *c, const struct json_object *msg, int i, int strict, exa_sbuf *tmp,
                               const char **s, size_t *n) {
    int def;
    struct json_object *v = field(msg, "content", &def);
    tmp->len = 0;
    if (def && v && json_object_is_type(v, json_type_string)) {
        *s = json_object_get_string(v);
        *n = (size_t)json_object_get_string_len(v);
        return EXA_OK;
    }
    if (def && v && json_object_is_type(v, json_type_array)) {
        size_t np = json_object_array_length(v);
        for (size_t k = 0; k < np; k++) {
            struct json_object *part = json_object_array_get_idx(v, k), *tp, *tx;
            if (json_object_is_type(part, json_type_string)) {
                tx = part;
            } else if (!json_object_is_type(part, json_type_object) || !json_object_object_get_ex(part, "type", &tp) ||
                       !json_object_is_type(tp, json_type_string) || strcmp(json_object_get_string(tp), "text") ||
                       !json_object_object_get_ex(part, "text", &tx) || !json_object_is_type(tx, json_type_string)) {
                return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG,
                               "chat render: message %d: content part %zu is not a text part", i, k);
            }
            if (k) exa_sbuf_putc(tmp, '\n');
            exa_sbuf_append(tmp, json_object_get_string(tx), (size_t)json_object_get_string_len(tx));
        }
        exa_sbuf_putc(tmp, 0);
        tmp->len--;
        *s = tmp->data ? tmp->data : "";
        *n = tmp->len;
        return tmp->oom ? EXA_ERR_NOMEM : EXA_OK;
    }
    if (strict)
        return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG,
                       "chat render: message %d: content must be a string (the template concatenates it)", i);
    if (!def) { *s = ""; *n = 0; return EXA_OK; }
    if (exa_py_str(v, tmp) != EXA_OK)
        return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG,
                       "chat render: message %d: content must be a string or a list of text parts", i);
    exa_sbuf_putc(tmp, 0);
    tmp->len--;
    *s = tmp->data ? tmp->data : "";
    *n = tmp->len;
    return tmp->oom ? EXA_ERR_NOMEM : EXA_OK;
}

static const char *role_of(const struct json_object *msg) {
    struct json_object *r = field(msg, "role", NULL);
    return (r && json_object_is_type(r, json_type_string)) ? json_object_get_string(r) : NULL;
}

/* ---- EXAONE 3.0 / 3.5 (spec §8.1) and Deep (spec §8.2) ------------------------------------ */
static exa_status render_3x(rctx *c, const struct json_object *msgs, int deep, const exa_chat_render_opts *o) {
    size_t n = json_object_array_length(msgs);
    exa_sbuf tmp = {0};
    exa_status st = EXA_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *role = role_of(m);
        if (!role) {
            st = exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: message %zu has no string role", i);
            break;
        }
        if (i == 0 && strcmp(role, "system")) exa_sbuf_puts(c->out, "[|system|][|endofturn|]\n");
        const char *s;
        size_t len;
        st = content_text(c, m, (int)i, 1, &tmp, &s, &len);
        if (st) break;
        if (deep) {
            const char *cut = exa_find_last(s, len, "</thought>", 10);
            if (cut) {
                len -= (size_t)(cut + 10 - s);
                s = cut + 10;
                exa_py_lstrip_newlines(&s, &len);
            }
        }
        exa_sbuf_puts(c->out, "[|");
        exa_sbuf_puts(c->out, role);
        exa_sbuf_puts(c->out, "|]");
        exa_sbuf_append(c->out, s, len);
        if (deep) {
            if (strcmp(role, "user")) exa_sbuf_puts(c->out, "[|endofturn|]");
            if (i + 1 < n) exa_sbuf_putc(c->out, '\n');
        } else {
            exa_sbuf_puts(c->out, strcmp(role, "user") ? "[|endofturn|]\n" : "\n");
        }
    }
    if (!st && o->add_generation_prompt) exa_sbuf_puts(c->out, deep ? "\n[|assistant|]<thought>\n" : "[|assistant|]");
    exa_sbuf_free(&tmp);
    return st;
}

/* ---- EXAONE 4.0 (spec §8.3, chat_template.jinja) -------------------------------------------- */
static const char EXA4_TOOLS_HEAD[] =
    "# Available Tools\n"
    "You can use none, one, or multiple of the following tools by calling them as functions to help with the "
    "user\xE2\x80\x99s query.\n"
    "Here are the tools available to you in JSON format within <tool> and </tool> tags:\n";
static const char EXA4_TOOLS_TAIL[] =
    "\nFor each function call you want to make, return a JSON object with function name and arguments within "
    "<tool_call> and </tool_call> tags, like:\n"
    "<tool_call>{\"name\": function_1_name, \"arguments\": {argument_1_name: argument_1_value, argument_2_name: "
    "argument_2_value}}</tool_call>\n"
    "<tool_call>{\"name\": function_2_name, \"arguments\": {...}}</tool_call>\n...\n"
    "Note that if no argument name is specified for a tool, you can just print the argument value directly, "
    "without the argument name or JSON formatting.";
static const char EXA4_EMPTY_THINK[] = "<think>\n\n</think>\n\n";

static exa_status tools_block(rctx *c, const struct json_object *tools) {
    exa_sbuf_puts(c->out, EXA4_TOOLS_HEAD);
    for (size_t k = 0; k < json_object_array_length(tools); k++) {
        exa_sbuf_puts(c->out, "<tool>");
        if (exa_pyjson_dump(json_object_array_get_idx(tools, k), c->out))
            return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: tool %zu cannot be serialised", k);
        exa_sbuf_puts(c->out, "</tool>\n");
    }
    exa_sbuf_puts(c->out, EXA4_TOOLS_TAIL);
    return EXA_OK;
}

/* Prints Python str(v) of a field (Jinja {{ x.name }}); missing prints nothing. */
static exa_status print_field(rctx *c, const struct json_object *o, const char *key, const char *what, size_t i) {
    int def;
    struct json_object *v = field(o, key, &def);
    if (!def) return EXA_OK;
    if (exa_py_str(v, c->out) != EXA_OK)
        return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: message %zu: %s must be a scalar", i, what);
    return EXA_OK;
}

static exa_status tool_calls_4(rctx *c, const struct json_object *calls, size_t i, const exa_chat_render_opts *o) {
    size_t nc = json_object_array_length(calls);
    for (size_t k = 0; k < nc; k++) {
        const struct json_object *tc = json_object_array_get_idx(calls, k);
        int def;
        struct json_object *fn = field(tc, "function", &def);
        if (def) tc = fn;
        struct json_object *args = field(tc, "arguments", &def);
        if (!def) args = field(tc, "parameters", &def);
        if (!def)
            return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG,
                           "chat render: message %zu: tool call %zu has no arguments or parameters", i, k);
        exa_sbuf_puts(c->out, "<tool_call>{\"name\": \"");
        exa_status st = print_field(c, tc, "name", "tool call name", i);
        if (st) return st;
        exa_sbuf_puts(c->out, "\", \"arguments\": ");
        struct json_object *parsed = NULL;
        if (o->parse_string_arguments && args && json_object_is_type(args, json_type_string)) {
            struct json_tokener *tok = json_tokener_new_ex(EXA_PYJSON_MAX_DEPTH);
            if (tok) {
                const char *s = json_object_get_string(args);
                int len = json_object_get_string_len(args);
                parsed = json_tokener_parse_ex(tok, s, len);
                if (!parsed && json_tokener_get_error(tok) == json_tokener_success) {
                    /* a JSON null parses to NULL with success */
                    json_tokener_free(tok);
                    tok = NULL;
                    exa_sbuf_puts(c->out, "null");
                    goto close;
                }
                if (parsed && json_tokener_get_parse_end(tok) != (size_t)len) {
                    /* trailing text: only whitespace is acceptable (as json.loads) */
                    size_t e = json_tokener_get_parse_end(tok);
                    while (e < (size_t)len && (s[e] == ' ' || s[e] == '\n' || s[e] == '\r' || s[e] == '\t')) e++;
                    if (e != (size_t)len) { json_object_put(parsed); parsed = NULL; }
                }
                json_tokener_free(tok);
            }
        }
        if (exa_pyjson_dump(parsed ? parsed : args, c->out)) {
            json_object_put(parsed);
            return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG,
                           "chat render: message %zu: tool call %zu arguments nest too deeply", i, k);
        }
        json_object_put(parsed);
    close:
        exa_sbuf_puts(c->out, "}</tool_call>");
        if (k + 1 < nc) exa_sbuf_putc(c->out, '\n');
    }
    return EXA_OK;
}

static exa_status render_4(rctx *c, const struct json_object *msgs, const struct json_object *tools,
                           const exa_chat_render_opts *o) {
    size_t n = json_object_array_length(msgs);
    int have_tools = tools && json_object_is_type(tools, json_type_array) && json_object_array_length(tools) > 0;
    if (tools && !json_object_is_type(tools, json_type_array) && truthy(tools, 1))
        return exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: tools must be a JSON array");
    exa_sbuf tmp = {0};
    exa_status st = EXA_OK;
    static const char *const roles[] = {"user", "assistant", "system", "tool"};
    for (size_t i = 0; i < n && !st; i++) {
        const struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *role = role_of(m);
        int known = 0;
        for (size_t r = 0; role && r < 4; r++) known |= !strcmp(role, roles[r]);
        if (!known) {
            st = exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: Unknown role: %s (message %zu)",
                         role ? role : "", i);
            break;
        }
        const char *s;
        size_t len;
        if (i == 0) {
            if (!strcmp(role, "system")) {
                exa_sbuf_puts(c->out, "[|system|]\n");
                if ((st = content_text(c, m, (int)i, 0, &tmp, &s, &len))) break;
                exa_sbuf_append(c->out, s, len);
                if (have_tools) {
                    exa_sbuf_puts(c->out, "\n\n");
                    if ((st = tools_block(c, tools))) break;
                }
                exa_sbuf_puts(c->out, "[|endofturn|]\n");
                continue;
            } else if (have_tools) {
                exa_sbuf_puts(c->out, "[|system|]\n");
                if ((st = tools_block(c, tools))) break;
                exa_sbuf_puts(c->out, "[|endofturn|]\n");
            }
        }
        int last = i + 1 == n;
        if (!strcmp(role, "assistant")) {
            exa_sbuf_puts(c->out, "[|assistant|]\n");
            int cdef;
            struct json_object *cv = field(m, "content", &cdef);
            int has_content = truthy(cv, cdef);
            if (has_content) {
                if ((st = content_text(c, m, (int)i, 1, &tmp, &s, &len))) break;
                const char *ans = s, *rs = NULL;
                size_t ans_n = len, rs_n = 0;
                int has_reasoning = 0;
                const char *first = exa_find(s, len, "</think>", 8);
                if (first) {
                    const char *lastc = exa_find_last(s, len, "</think>", 8);
                    ans = lastc + 8;
                    ans_n = len - (size_t)(ans - s);
                    exa_py_strip(&ans, &ans_n);
                    rs = s;
                    rs_n = (size_t)(first - s);
                    exa_py_strip(&rs, &rs_n);
                    if (rs_n >= 7 && !memcmp(rs, "<think>", 7)) {
                        exa_py_slice_from(&rs, &rs_n, 9);  /* the template's [9:] quirk (spec §9.18) */
                        exa_py_strip(&rs, &rs_n);
                    }
                    has_reasoning = 1;
                }
                int rdef;
                struct json_object *rc = field(m, "reasoning_content", &rdef);
                int rc_override = truthy(rc, rdef);
                if (!o->skip_think && last && (has_reasoning || rc_override)) {
                    exa_sbuf_puts(c->out, "<think>\n");
                    if (rc_override) {
                        if (exa_py_str(rc, c->out) != EXA_OK) {
                            st = exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG,
                                         "chat render: message %zu: reasoning_content must be a string", i);
                            break;
                        }
                    } else {
                        exa_sbuf_append(c->out, rs, rs_n);
                    }
                    exa_sbuf_puts(c->out, "\n</think>\n\n");
                } else {
                    exa_sbuf_puts(c->out, EXA4_EMPTY_THINK);
                }
                exa_sbuf_append(c->out, ans, ans_n);
            }
            int tdef;
            struct json_object *calls = field(m, "tool_calls", &tdef);
            if (truthy(calls, tdef)) {
                if (!json_object_is_type(calls, json_type_array)) {
                    st = exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: message %zu: tool_calls must be a list", i);
                    break;
                }
                exa_sbuf_puts(c->out, has_content ? "\n" : EXA4_EMPTY_THINK);
                if ((st = tool_calls_4(c, calls, i, o))) break;
            }
            exa_sbuf_puts(c->out, "[|endofturn|]\n");
        } else if (!strcmp(role, "tool")) {
            const char *prev = i > 0 ? role_of(json_object_array_get_idx(msgs, i - 1)) : NULL;
            if (i == 0 || !prev || strcmp(prev, "tool")) exa_sbuf_puts(c->out, "[|tool|]\n");
            int cdef;
            struct json_object *cv = field(m, "content", &cdef);
            if (cdef) {
                exa_sbuf_puts(c->out, "<tool_result>{\"result\": ");
                if (cv && json_object_is_type(cv, json_type_array)) {
                    if ((st = content_text(c, m, (int)i, 1, &tmp, &s, &len))) break;
                    exa_pyjson_string(s, len, c->out);
                } else if (exa_pyjson_dump(cv, c->out)) {
                    st = exa_err(c->err, c->err_size, EXA_ERR_INVALID_ARG, "chat render: message %zu: content nests too deeply", i);
                    break;
                }
                exa_sbuf_puts(c->out, "}</tool_result>");
            }
            const char *next = last ? NULL : role_of(json_object_array_get_idx(msgs, i + 1));
            if (last || !next || strcmp(next, "tool")) exa_sbuf_puts(c->out, "[|endofturn|]\n");
            else exa_sbuf_putc(c->out, '\n');
        } else {
            exa_sbuf_puts(c->out, "[|");
            exa_sbuf_puts(c->out, role);
            exa_sbuf_puts(c->out, "|]\n");
            if ((st = content_text(c, m, (int)i, 0, &tmp, &s, &len))) break;
            exa_sbuf_append(c->out, s, len);
            exa_sbuf_puts(c->out, "[|endofturn|]\n");
        }
    }
    if (!st && o->add_generation_prompt) {
        exa_sbuf_puts(c->out, "[|assistant|]\n");
        exa_sbuf_puts(c->out, o->enable_thinking ? "<think>\n" : EXA4_EMPTY_THINK);
    }
    exa_sbuf_free(&tmp);
    return st;
}

exa_status exa_chat_render(const exa_chat_template *t, const struct json_object *messages,
                           const struct json_object *tools, const exa_chat_render_opts *opts, char **out,
                           size_t *out_len, char *err, size_t err_size) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!t || !out) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat render: no template or output");
    if (!messages || !json_object_is_type(messages, json_type_array))
        return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat render: messages must be a JSON array");
    exa_chat_render_opts d = exa_chat_render_default_opts();
    if (!opts) opts = &d;
    exa_sbuf buf = {0};
    rctx c = {&buf, err, err_size};
    exa_status st;
    switch (t->kind) {
    case EXA_CHAT_EXAONE3: st = render_3x(&c, messages, 0, opts); break;
    case EXA_CHAT_DEEP: st = render_3x(&c, messages, 1, opts); break;
    case EXA_CHAT_EXAONE4: st = render_4(&c, messages, tools, opts); break;
    default: st = exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat render: template kind not set");
    }
    if (st == EXA_OK && buf.oom) st = exa_err(err, err_size, EXA_ERR_NOMEM, "chat render: out of memory");
    if (st) { exa_sbuf_free(&buf); return st; }
    exa_sbuf_append(&buf, "", 0);
    *out = exa_sbuf_take(&buf, out_len);
    if (!*out) return exa_err(err, err_size, EXA_ERR_NOMEM, "chat render: out of memory");
    return EXA_OK;
}

static struct json_object *parse_json(const char *s, const char *what, exa_status *st, char *err, size_t err_size) {
    struct json_tokener *tok = json_tokener_new_ex(EXA_PYJSON_MAX_DEPTH);
    if (!tok) { *st = exa_err(err, err_size, EXA_ERR_NOMEM, "chat render: out of memory"); return NULL; }
    size_t len = strlen(s);
    struct json_object *v = json_tokener_parse_ex(tok, s, (int)EXA_MIN(len, (size_t)0x7fffffff));
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (end < len && (s[end] == ' ' || s[end] == '\n' || s[end] == '\r' || s[end] == '\t')) end++;
    if (e != json_tokener_success || end != len) {
        json_object_put(v);
        *st = exa_err(err, err_size, EXA_ERR_FORMAT, "chat render: %s is not valid JSON (%s)", what,
                      e != json_tokener_success ? json_tokener_error_desc(e) : "trailing text");
        return NULL;
    }
    *st = EXA_OK;
    return v;
}

exa_status exa_chat_render_json(const exa_chat_template *t, const char *messages_json, const char *tools_json,
                                const exa_chat_render_opts *opts, char **out, size_t *out_len, char *err,
                                size_t err_size) {
    if (out) *out = NULL;
    if (!messages_json) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "chat render: no messages");
    exa_status st;
    struct json_object *m = parse_json(messages_json, "messages", &st, err, err_size);
    if (st) return st;
    struct json_object *tl = NULL;
    if (tools_json) {
        tl = parse_json(tools_json, "tools", &st, err, err_size);
        if (st) { json_object_put(m); return st; }
    }
    st = exa_chat_render(t, m, tl, opts, out, out_len, err, err_size);
    json_object_put(m);
    json_object_put(tl);
    return st;
}
