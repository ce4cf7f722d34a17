/* request.c — turns an OpenAI request body (/v1/chat/completions, /v1/completions) into a
 * validated srv_req: JSON types checked field by field (wrong type -> 400 naming the param),
 * chat messages rendered with the model's template and tokenized, prompt length checked against
 * the context, sampling parameters mapped onto exa_sampler_params. Also owns srv_buf and the
 * OpenAI error object. No HTTP and no engine here. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "server/srv_internal.h"

/* ---- small utilities ---------------------------------------------------------------------- */
int srv_buf_add(srv_buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1) c *= 2;
        char *p = realloc(b->p, c);
        if (!p) return -1;
        b->p = p; b->cap = c;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int srv_buf_addf(srv_buf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof tmp) return srv_buf_add(b, tmp, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int r = srv_buf_add(b, big, (size_t)n);
    free(big);
    return r;
}

void srv_buf_free(srv_buf *b) { free(b->p); b->p = NULL; b->n = b->cap = 0; }

void srv_err_set(srv_err *e, int status, const char *type, const char *param, const char *code, const char *fmt, ...) {
    e->status = status; e->type = type; e->param = param; e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

char *srv_err_json(const srv_err *e) {
    json_object *o = json_object_new_object(), *in = json_object_new_object();
    json_object_object_add(in, "message", json_object_new_string(e->message));
    json_object_object_add(in, "type", json_object_new_string(e->type ? e->type : "invalid_request_error"));
    json_object_object_add(in, "param", e->param ? json_object_new_string(e->param) : NULL);
    json_object_object_add(in, "code", e->code ? json_object_new_string(e->code) : NULL);
    json_object_object_add(o, "error", in);
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

static void bad(srv_err *e, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad(srv_err *e, const char *param, const char *fmt, ...) {
    e->status = 400; e->type = "invalid_request_error"; e->param = param; e->code = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

json_object *srv_parse_json_object(const char *body, size_t len, srv_err *e) {
    if (!body || len == 0) { bad(e, NULL, "request body is empty; expected a JSON object"); return NULL; }
    json_tokener *t = json_tokener_new_ex(64);
    if (!t) { srv_err_set(e, 500, "server_error", NULL, NULL, "out of memory"); return NULL; }
    json_tokener_set_flags(t, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(t, body, (int)len);
    enum json_tokener_error je = json_tokener_get_error(t);
    size_t used = json_tokener_get_parse_end(t);
    if (je == json_tokener_success) {
        while (used < len && strchr(" \t\r\n", body[used])) used++;
        if (used < len) { json_object_put(o); o = NULL; bad(e, NULL, "malformed JSON body: trailing data after the object at byte %zu", used); }
    } else {
        json_object_put(o); o = NULL;
        bad(e, NULL, "malformed JSON body: %s at byte %zu", je == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(je), used);
    }
    json_tokener_free(t);
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o); o = NULL;
        bad(e, NULL, "the request body must be a JSON object");
    }
    return o;
}

/* Field getters: 0 absent (or null), 1 present, -1 wrong type (e filled). */
static int get_bool(json_object *o, const char *k, int *v, srv_err *e) {
    json_object *x;
    if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
    if (!json_object_is_type(x, json_type_boolean)) { bad(e, k, "'%s' must be a boolean", k); return -1; }
    *v = json_object_get_boolean(x);
    return 1;
}

static int get_num(json_object *o, const char *k, double lo, double hi, double *v, srv_err *e) {
    json_object *x;
    if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
    if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int)) { bad(e, k, "'%s' must be a number", k); return -1; }
    double d = json_object_get_double(x);
    if (!isfinite(d) || d < lo || d > hi) { bad(e, k, "'%s' must be between %g and %g (got %g)", k, lo, hi, d); return -1; }
    *v = d;
    return 1;
}

static int get_int(json_object *o, const char *k, int64_t lo, int64_t hi, int64_t *v, srv_err *e) {
    json_object *x;
    if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
    int64_t i;
    if (json_object_is_type(x, json_type_int)) {
        errno = 0;
        i = json_object_get_int64(x);
        if (errno == ERANGE) { bad(e, k, "'%s' is out of range", k); return -1; }
    } else if (json_object_is_type(x, json_type_double)) {
        double d = json_object_get_double(x);
        if (d != floor(d) || fabs(d) > 9e15) { bad(e, k, "'%s' must be an integer", k); return -1; }
        i = (int64_t)d;
    } else { bad(e, k, "'%s' must be an integer", k); return -1; }
    if (i < lo || i > hi) { bad(e, k, "'%s' must be between %lld and %lld (got %lld)", k, (long long)lo, (long long)hi, (long long)i); return -1; }
    *v = i;
    return 1;
}

static int get_typed(json_object *o, const char *k, json_type t, const char *what, json_object **v, srv_err *e) {
    json_object *x;
    if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
    if (!json_object_is_type(x, t)) { bad(e, k, "'%s' must be %s", k, what); return -1; }
    *v = x;
    return 1;
}

static uint64_t fresh_seed(void) {
    static uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (__atomic_add_fetch(&counter, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    return z ^ (z >> 31);
}

static void make_id(char *out, size_t n, const char *prefix) {
    static const char hex[] = "0123456789abcdef";
    uint64_t a = fresh_seed(), b = fresh_seed();
    size_t k = (size_t)snprintf(out, n, "%s", prefix);
    for (int i = 0; i < 24 && k + 1 < n; i++, k++) {
        uint64_t *src = i < 16 ? &a : &b;
        out[k] = hex[*src & 15]; *src >>= 4;
    }
    out[k < n ? k : n - 1] = 0;
}

static srv_req *req_new(int kind) {
    srv_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->kind = kind;
    r->refs = 1;
    r->slot = -1;
    r->sock = -1;
    r->http_status = 200;
    r->sp = exa_sampler_default_params();
    r->sp.temperature = 1.0f;   /* OpenAI's default */
    r->sp.repeat_last_n = 0;
    pthread_cond_init(&r->cv, NULL);
    make_id(r->id, sizeof r->id, kind == SRV_CHAT ? "chatcmpl-" : "cmpl-");
    snprintf(r->tool_prefix, sizeof r->tool_prefix, "call_%.8s_", r->id + (kind == SRV_CHAT ? 9 : 5));
    r->created = (int64_t)time(NULL);
    r->t_arrive = exa_time_now();
    return r;
}

void srv_req_free(srv_req *r) {
    if (!r) return;
    free(r->prompt);
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    pthread_cond_destroy(&r->cv);
    srv_buf_free(&r->out); srv_buf_free(&r->text); srv_buf_free(&r->content);
    srv_buf_free(&r->reasoning); srv_buf_free(&r->pend);
    exa_sampler_free(r->sampler);
    exa_detok_free(r->detok);
    exa_chat_parser_free(r->parser);
    json_object_put(r->tool_calls); json_object_put(r->lp); json_object_put(r->lp_pend);
    json_object_put(r->sources);
    free(r);
}

/* Fields shared by both endpoints. */
static int parse_common(const srv_env *env, json_object *o, srv_req *r, srv_err *e) {
    json_object *x;
    int rc;
    if ((rc = get_typed(o, "model", json_type_string, "a string", &x, e)) < 0) return -1;
    if ((rc = get_bool(o, "stream", &r->stream, e)) < 0) return -1;
    if ((rc = get_typed(o, "stream_options", json_type_object, "an object", &x, e)) < 0) return -1;
    if (rc && get_bool(x, "include_usage", &r->include_usage, e) < 0) { e->param = "stream_options.include_usage"; return -1; }
    double d;
    if ((rc = get_num(o, "temperature", 0, 2, &d, e)) < 0) return -1;
    if (rc) r->sp.temperature = (float)d;
    if ((rc = get_num(o, "top_p", 0, 1, &d, e)) < 0) return -1;
    if (rc) {
        if (d <= 0) { bad(e, "top_p", "'top_p' must be greater than 0"); return -1; }
        r->sp.top_p = (float)d;
    }
    if ((rc = get_num(o, "min_p", 0, 1, &d, e)) < 0) return -1;   /* vLLM extension */
    if (rc) r->sp.min_p = (float)d;
    if ((rc = get_num(o, "repetition_penalty", 0.01, 100, &d, e)) < 0) return -1;   /* vLLM extension */
    if (rc) { r->sp.repeat_penalty = (float)d; r->sp.repeat_last_n = 64; }
    int64_t i;
    if ((rc = get_int(o, "top_k", -1, 1 << 24, &i, e)) < 0) return -1;     /* vLLM extension; -1 = off */
    if (rc) r->sp.top_k = i < 0 ? 0 : (int)i;
    if ((rc = get_int(o, "seed", INT64_MIN, INT64_MAX, &i, e)) < 0) return -1;
    r->sp.seed = rc ? (uint64_t)i : fresh_seed();
    for (int k = 0; k < 2; k++) {   /* accepted only at their neutral value: the sampler has no such penalties */
        const char *name = k ? "frequency_penalty" : "presence_penalty";
        if ((rc = get_num(o, name, -2, 2, &d, e)) < 0) return -1;
        if (rc && d != 0) { bad(e, name, "'%s' is not supported by this server (only 0)", name); return -1; }
    }
    if ((rc = get_int(o, "n", 1, 1, &i, e)) < 0) { snprintf(e->message, sizeof e->message, "'n' must be 1: this server returns one choice per request"); return -1; }
    /* stop: a string or an array of strings */
    if (json_object_object_get_ex(o, "stop", &x) && x) {
        if (json_object_is_type(x, json_type_string)) {
            if (json_object_get_string_len(x) > 0) r->stop[r->n_stop++] = strdup(json_object_get_string(x));
        } else if (json_object_is_type(x, json_type_array)) {
            size_t n = json_object_array_length(x);
            if (n > SRV_MAX_STOP) { bad(e, "stop", "'stop' may hold at most %d strings", SRV_MAX_STOP); return -1; }
            for (size_t j = 0; j < n; j++) {
                json_object *s = json_object_array_get_idx(x, j);
                if (!json_object_is_type(s, json_type_string)) { bad(e, "stop", "'stop' must be a string or an array of strings"); return -1; }
                if (json_object_get_string_len(s) > 0) r->stop[r->n_stop++] = strdup(json_object_get_string(s));
            }
        } else { bad(e, "stop", "'stop' must be a string or an array of strings"); return -1; }
        for (int j = 0; j < r->n_stop; j++)
            if (!r->stop[j]) { srv_err_set(e, 500, "server_error", NULL, NULL, "out of memory"); return -1; }
    }
    (void)env;
    return 0;
}

/* max_tokens / max_completion_tokens against the prompt and the context (as vLLM: a request
 * that cannot fit is refused rather than silently cut). */
static int check_lengths(const srv_env *env, json_object *o, srv_req *r, srv_err *e) {
    if (r->n_prompt <= 0) { bad(e, r->kind == SRV_CHAT ? "messages" : "prompt", "the prompt is empty"); return -1; }
    if (r->n_prompt >= env->n_ctx) {
        srv_err_set(e, 400, "invalid_request_error", r->kind == SRV_CHAT ? "messages" : "prompt", "context_length_exceeded",
                    "This model's maximum context length is %d tokens. However, your prompt has %d tokens, which leaves no room for a completion. Please reduce the length of the %s.",
                    env->n_ctx, r->n_prompt, r->kind == SRV_CHAT ? "messages" : "prompt");
        return -1;
    }
    int64_t mt = -1, v;
    int rc;
    if ((rc = get_int(o, "max_completion_tokens", 1, INT32_MAX, &v, e)) < 0) return -1;
    if (rc) mt = v;
    if ((rc = get_int(o, "max_tokens", 1, INT32_MAX, &v, e)) < 0) return -1;
    if (rc && mt < 0) mt = v;
    int room = env->n_ctx - r->n_prompt;
    if (mt > room) {
        srv_err_set(e, 400, "invalid_request_error", "max_tokens", "context_length_exceeded",
                    "This model's maximum context length is %d tokens. However, you requested %lld tokens (%d in the %s, %lld for the completion). Please reduce the length of the %s or the completion.",
                    env->n_ctx, (long long)(r->n_prompt + mt), r->n_prompt, r->kind == SRV_CHAT ? "messages" : "prompt", (long long)mt,
                    r->kind == SRV_CHAT ? "messages" : "prompt");
        return -1;
    }
    r->max_tokens = mt > 0 ? (int)mt : room;
    return 0;
}

static int tokenize(const srv_env *env, const char *text, size_t len, srv_req *r, srv_err *e) {
    size_t n = 0;
    exa_status st = exa_tokenizer_encode_alloc(env->tok, text, len, 0, &r->prompt, &n);
    if (st != EXA_OK) { srv_err_set(e, 500, "server_error", NULL, NULL, "tokenizer: %s", exa_status_str(st)); return -1; }
    if (n > INT32_MAX) { bad(e, NULL, "prompt too long"); return -1; }
    r->n_prompt = (int)n;
    return 0;
}

int srv_retrieve(const srv_env *env, const char *index, const char *query, int k, exa_search_result *res, int *n_keep,
                 srv_err *e) {
    memset(res, 0, sizeof *res);
    srv_index *ix = NULL;
    for (int i = 0; i < env->n_indexes; i++)
        if (!strcmp(env->indexes[i].name, index)) ix = &env->indexes[i];
    if (!ix) { bad(e, "index", "no index named '%s' (the server was started with %d --index)", index, env->n_indexes); return -1; }
    exa_search_params sp = exa_search_default_params();
    sp.k = k;
    pthread_mutex_lock(&ix->mu);
    exa_status st = exa_index_search(ix->idx, query, &sp, res);
    if (st != EXA_OK) srv_err_set(e, 500, "server_error", "index", NULL, "search failed: %s", exa_index_errmsg(ix->idx));
    pthread_mutex_unlock(&ix->mu);
    if (st != EXA_OK) return -1;
    *n_keep = exa_grounded_keep(res->passages, res->n, 0.2);
    return 0;
}

/* chat "index": replaces the conversation by the grounded form (REF: src/retrieval/grounded.c):
 * grounded system prompt, earlier non-system turns, the last user turn with the passages. */
static int ground_messages(const srv_env *env, json_object *o, json_object **msgs, srv_req *r, srv_err *e) {
    json_object *x;
    int rc = get_typed(o, "index", json_type_string, "a string naming an index", &x, e);
    if (rc <= 0) return rc;
    int64_t k = 5;
    if (get_int(o, "index_k", 1, 20, &k, e) < 0) return -1;
    size_t n = json_object_array_length(*msgs);
    json_object *last = json_object_array_get_idx(*msgs, n - 1), *role, *content;
    if (!json_object_object_get_ex(last, "role", &role) || strcmp(json_object_get_string(role), "user") ||
        !json_object_object_get_ex(last, "content", &content) || !json_object_is_type(content, json_type_string)) {
        bad(e, "messages", "with 'index', the last message must be a user message with string content (the question)");
        return -1;
    }
    const char *q = json_object_get_string(content);
    exa_search_result res;
    int n_keep = 0;
    if (srv_retrieve(env, json_object_get_string(x), q, (int)k, &res, &n_keep, e)) return -1;
    json_object *g = NULL;
    if (exa_grounded_messages(q, res.passages, n_keep, 1500, &g) != EXA_OK) {
        exa_search_result_free(&res);
        srv_err_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return -1;
    }
    json_object *out = json_object_new_array();
    json_object_array_add(out, json_object_get(json_object_array_get_idx(g, 0)));
    for (size_t i = 0; i + 1 < n; i++) {
        json_object *m = json_object_array_get_idx(*msgs, i), *rl;
        if (json_object_object_get_ex(m, "role", &rl) && !strcmp(json_object_get_string(rl), "system")) continue;
        json_object_array_add(out, json_object_get(m));
    }
    json_object_array_add(out, json_object_get(json_object_array_get_idx(g, 1)));
    json_object_put(g);
    r->sources = json_object_new_array();
    for (int i = 0; i < n_keep; i++) json_object_array_add(r->sources, exa_grounded_passage_json(&res.passages[i], i + 1, 0));
    exa_search_result_free(&res);
    json_object_object_add(o, "messages", out); /* o owns it; *msgs stays valid through o */
    *msgs = out;
    return 1;
}

srv_req *srv_parse_chat(const srv_env *env, const char *body, size_t len, srv_err *e) {
    json_object *o = srv_parse_json_object(body, len, e);
    if (!o) return NULL;
    srv_req *r = req_new(SRV_CHAT);
    if (!r) { json_object_put(o); srv_err_set(e, 500, "server_error", NULL, NULL, "out of memory"); return NULL; }
    json_object *msgs = NULL, *tools = NULL, *x;
    int rc;
    char *prompt = NULL;
    if (parse_common(env, o, r, e)) goto fail;
    if ((rc = get_typed(o, "messages", json_type_array, "an array of messages", &msgs, e)) < 0) goto fail;
    if (!rc) { bad(e, "messages", "'messages' is required"); goto fail; }
    if (json_object_array_length(msgs) == 0) { bad(e, "messages", "'messages' must not be empty"); goto fail; }
    if (ground_messages(env, o, &msgs, r, e) < 0) goto fail;
    for (size_t i = 0; i < json_object_array_length(msgs); i++) {
        json_object *m = json_object_array_get_idx(msgs, i), *role;
        if (!json_object_is_type(m, json_type_object)) { bad(e, "messages", "messages[%zu] must be an object", i); goto fail; }
        if (!json_object_object_get_ex(m, "role", &role) || !json_object_is_type(role, json_type_string)) { bad(e, "messages", "messages[%zu].role must be a string", i); goto fail; }
        const char *rs = json_object_get_string(role);
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant") && strcmp(rs, "tool")) {
            bad(e, "messages", "messages[%zu].role '%s' is not one of system, user, assistant, tool", i, rs); goto fail;
        }
    }
    if ((rc = get_typed(o, "tools", json_type_array, "an array of tools", &tools, e)) < 0) goto fail;
    if (tools) {
        for (size_t i = 0; i < json_object_array_length(tools); i++) {
            json_object *t = json_object_array_get_idx(tools, i), *f, *nm;
            if (!json_object_is_type(t, json_type_object) || !json_object_object_get_ex(t, "function", &f) ||
                !json_object_is_type(f, json_type_object) || !json_object_object_get_ex(f, "name", &nm) || !json_object_is_type(nm, json_type_string)) {
                bad(e, "tools", "tools[%zu] must be {\"type\": \"function\", \"function\": {\"name\": ..., ...}}", i); goto fail;
            }
        }
        if (json_object_array_length(tools) == 0) tools = NULL;
    }
    r->parse_tools = tools != NULL;
    if (json_object_object_get_ex(o, "tool_choice", &x) && x) {
        if (json_object_is_type(x, json_type_string)) {
            const char *tc = json_object_get_string(x);
            if (!strcmp(tc, "none")) r->parse_tools = 0;
            else if (strcmp(tc, "auto")) { bad(e, "tool_choice", "tool_choice '%s' is not supported (use \"auto\" or \"none\")", tc); goto fail; }
        } else { bad(e, "tool_choice", "only tool_choice \"auto\" and \"none\" are supported"); goto fail; }
    }
    /* thinking: chat_template_kwargs.enable_thinking (vLLM) wins over reasoning_effort */
    exa_chat_render_opts ro = exa_chat_render_default_opts();
    if ((rc = get_typed(o, "reasoning_effort", json_type_string, "a string", &x, e)) < 0) goto fail;
    if (rc) {
        const char *re = json_object_get_string(x);
        if (!strcmp(re, "low") || !strcmp(re, "medium") || !strcmp(re, "high")) ro.enable_thinking = 1;
        else if (!strcmp(re, "none") || !strcmp(re, "minimal")) ro.enable_thinking = 0;
        else { bad(e, "reasoning_effort", "'reasoning_effort' must be none, minimal, low, medium or high"); goto fail; }
    }
    if ((rc = get_typed(o, "chat_template_kwargs", json_type_object, "an object", &x, e)) < 0) goto fail;
    if (rc) {
        if (get_bool(x, "enable_thinking", &ro.enable_thinking, e) < 0) { e->param = "chat_template_kwargs.enable_thinking"; goto fail; }
        if (get_bool(x, "skip_think", &ro.skip_think, e) < 0) { e->param = "chat_template_kwargs.skip_think"; goto fail; }
    }
    int lp = 0;
    int64_t top = 0;
    if (get_bool(o, "logprobs", &lp, e) < 0) goto fail;
    if ((rc = get_int(o, "top_logprobs", 0, SRV_MAX_TOP_LOGPROBS, &top, e)) < 0) goto fail;
    if (rc && top > 0 && !lp) { bad(e, "top_logprobs", "'top_logprobs' needs 'logprobs': true"); goto fail; }
    r->logprobs = lp; r->top_logprobs = (int)top;
    char err[512];
    size_t plen = 0;
    if (exa_chat_render(env->tmpl, msgs, tools, &ro, &prompt, &plen, err, sizeof err) != EXA_OK) {
        bad(e, "messages", "cannot render the messages with the chat template: %s", err); goto fail;
    }
    r->reasoning_open = exa_chat_prompt_opens_reasoning(env->tmpl, &ro);
    if (tokenize(env, prompt, plen, r, e)) goto fail;
    if (check_lengths(env, o, r, e)) goto fail;
    free(prompt);
    json_object_put(o);
    return r;
fail:
    free(prompt);
    json_object_put(o);
    srv_req_free(r);
    return NULL;
}

srv_req *srv_parse_completion(const srv_env *env, const char *body, size_t len, srv_err *e) {
    json_object *o = srv_parse_json_object(body, len, e);
    if (!o) return NULL;
    srv_req *r = req_new(SRV_COMPLETION);
    if (!r) { json_object_put(o); srv_err_set(e, 500, "server_error", NULL, NULL, "out of memory"); return NULL; }
    json_object *p, *x;
    int rc;
    if (parse_common(env, o, r, e)) goto fail;
    if (!json_object_object_get_ex(o, "prompt", &p) || !p) { bad(e, "prompt", "'prompt' is required"); goto fail; }
    /* a string, an array of token ids, or an array holding exactly one of those */
    if (json_object_is_type(p, json_type_array) && json_object_array_length(p) == 1) {
        json_object *only = json_object_array_get_idx(p, 0);
        if (json_object_is_type(only, json_type_string) || json_object_is_type(only, json_type_array)) p = only;
    }
    if (json_object_is_type(p, json_type_string)) {
        if (tokenize(env, json_object_get_string(p), (size_t)json_object_get_string_len(p), r, e)) goto fail;
    } else if (json_object_is_type(p, json_type_array)) {
        size_t n = json_object_array_length(p);
        if (n > (size_t)env->n_ctx) n = (size_t)env->n_ctx;   /* longer is refused below anyway */
        for (size_t i = 0; i < json_object_array_length(p); i++)
            if (json_object_is_type(json_object_array_get_idx(p, i), json_type_string) ||
                json_object_is_type(json_object_array_get_idx(p, i), json_type_array)) {
                bad(e, "prompt", "several prompts in one request are not supported; send one request per prompt"); goto fail;
            }
        r->prompt = malloc((n ? n : 1) * sizeof *r->prompt);
        if (!r->prompt) { srv_err_set(e, 500, "server_error", NULL, NULL, "out of memory"); goto fail; }
        for (size_t i = 0; i < n; i++) {
            json_object *t = json_object_array_get_idx(p, i);
            int64_t id = json_object_get_int64(t);
            if (!json_object_is_type(t, json_type_int) || id < 0 || id >= env->n_vocab) {
                bad(e, "prompt", "prompt[%zu] is not a token id in [0, %d)", i, env->n_vocab); goto fail;
            }
            r->prompt[i] = (int32_t)id;
        }
        r->n_prompt = (int)EXA_MIN(json_object_array_length(p), (size_t)INT32_MAX);   /* > n_ctx: refused below */
    } else { bad(e, "prompt", "'prompt' must be a string or an array of token ids"); goto fail; }
    int b = 0;
    if (get_bool(o, "echo", &b, e) < 0) goto fail;
    if (b) { bad(e, "echo", "'echo' is not supported"); goto fail; }
    if ((rc = get_typed(o, "suffix", json_type_string, "a string", &x, e)) < 0) goto fail;
    if (rc && json_object_get_string_len(x)) { bad(e, "suffix", "'suffix' is not supported"); goto fail; }
    int64_t lp = 0;
    if ((rc = get_int(o, "logprobs", 0, SRV_MAX_TOP_LOGPROBS, &lp, e)) < 0) goto fail;
    if (rc) { r->logprobs = 1; r->top_logprobs = (int)lp; }
    if (check_lengths(env, o, r, e)) goto fail;
    json_object_put(o);
    return r;
fail:
    json_object_put(o);
    srv_req_free(r);
    return NULL;
}
