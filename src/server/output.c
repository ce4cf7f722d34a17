/* output.c — the generation pipeline of one request, token by token: sampled id -> streaming
 * detokenizer (never splits a UTF-8 character) -> chat parser (reasoning / answer / tool calls /
 * stop strings) or, for /v1/completions, a stop-string matcher that holds back only text that
 * may still become a stop string -> OpenAI JSON: SSE chunks (chat.completion.chunk /
 * text_completion) or the final body, with logprobs and usage. Runs on the scheduler thread;
 * writes into r->pend. Engine-free, so tests/server drives it directly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "server/srv_internal.h"

#define JFLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

int srv_gen_begin(const srv_env *env, srv_req *r) {
    r->sampler = exa_sampler_init(&r->sp, env->n_vocab);
    r->detok = exa_detok_init(env->tok, 1);
    r->tool_calls = json_object_new_array();
    if (r->logprobs) { r->lp = json_object_new_array(); r->lp_pend = json_object_new_array(); }
    if (!r->sampler || !r->detok || !r->tool_calls || (r->logprobs && (!r->lp || !r->lp_pend))) return -1;
    if (r->kind == SRV_CHAT) {
        exa_chat_parser_params pp = exa_chat_parser_default_params(exa_chat_template_kind(env->tmpl));
        pp.reasoning_open = r->reasoning_open;
        pp.parse_tool_calls = r->parse_tools;
        pp.stop = (const char *const *)r->stop;
        pp.n_stop = r->n_stop;
        pp.tool_id_prefix = r->tool_prefix;
        if (exa_chat_parser_init(&pp, &r->parser) != EXA_OK) return -1;
    }
    for (int i = 0; i < r->n_prompt; i++) exa_sampler_accept(r->sampler, r->prompt[i]);
    return 0;
}

/* Valid UTF-8 copy of n bytes (invalid sequences -> U+FFFD), for token strings in logprobs. */
static json_object *utf8_string(const char *s, size_t n) {
    srv_buf b = {0};
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len > 0 && i + (size_t)len <= n && c != 0xC0 && c != 0xC1 && c < 0xF5;
        for (int k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        if (ok && len == 3) {
            unsigned char c1 = (unsigned char)s[i + 1];
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) ok = 0;
        }
        if (ok && len == 4) {
            unsigned char c1 = (unsigned char)s[i + 1];
            if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) ok = 0;
        }
        if (ok && c != 0) { srv_buf_add(&b, s + i, (size_t)len); i += (size_t)len; }
        else { srv_buf_add(&b, "\xEF\xBF\xBD", 3); i++; }
    }
    json_object *o = json_object_new_string_len(b.p ? b.p : "", (int)b.n);
    srv_buf_free(&b);
    return o;
}

static json_object *token_obj(const srv_env *env, int32_t id, double lp, json_object **bytes_out) {
    size_t n = 0;
    const char *s = exa_tokenizer_token_bytes(env->tok, id, &n);
    if (!s) { s = ""; n = 0; }
    json_object *bytes = json_object_new_array();
    for (size_t i = 0; i < n; i++) json_object_array_add(bytes, json_object_new_int((unsigned char)s[i]));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", utf8_string(s, n));
    json_object_object_add(o, "logprob", json_object_new_double(lp));
    if (bytes_out) *bytes_out = bytes;
    else json_object_object_add(o, "bytes", bytes);
    return o;
}

/* {"token", "logprob", "bytes", "top_logprobs": [...]} from raw logits (log-softmax). */
static json_object *logprob_entry(const srv_env *env, const srv_req *r, int32_t tok, const float *logits) {
    const int V = env->n_vocab;
    float mx = logits[0];
    for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp((double)(logits[i] - mx));
    const double lse = (double)mx + log(sum);
    json_object *e = token_obj(env, tok, (double)logits[tok] - lse, NULL);
    json_object *top = json_object_new_array();
    int k = r->top_logprobs, ids[SRV_MAX_TOP_LOGPROBS];
    int n = 0;
    for (int i = 0; i < V && k > 0; i++) {   /* insertion into a sorted top-k list */
        if (n == k && logits[i] <= logits[ids[n - 1]]) continue;
        int j = n < k ? n++ : n - 1;
        while (j > 0 && logits[ids[j - 1]] < logits[i]) { ids[j] = ids[j - 1]; j--; }
        ids[j] = i;
    }
    for (int i = 0; i < n; i++) json_object_array_add(top, token_obj(env, ids[i], (double)logits[ids[i]] - lse, NULL));
    json_object_object_add(e, "top_logprobs", top);
    return e;
}

/* Completion-style logprobs {"tokens", "token_logprobs", "top_logprobs", "text_offset"} from
 * chat-style entries; offsets count bytes from *offset (advanced). */
static json_object *completion_logprobs(json_object *entries, size_t *offset) {
    json_object *o = json_object_new_object(), *toks = json_object_new_array(), *lps = json_object_new_array(),
                *tops = json_object_new_array(), *offs = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i), *t, *l, *tl;
        json_object_object_get_ex(e, "token", &t);
        json_object_object_get_ex(e, "logprob", &l);
        json_object_object_get_ex(e, "top_logprobs", &tl);
        json_object_array_add(toks, json_object_get(t));
        json_object_array_add(lps, json_object_get(l));
        json_object *m = json_object_new_object();
        for (size_t j = 0; tl && j < json_object_array_length(tl); j++) {
            json_object *c = json_object_array_get_idx(tl, j), *ct, *cl;
            json_object_object_get_ex(c, "token", &ct);
            json_object_object_get_ex(c, "logprob", &cl);
            json_object_object_add(m, json_object_get_string(ct), json_object_get(cl));
        }
        json_object_array_add(tops, m);
        json_object_array_add(offs, json_object_new_int64((int64_t)*offset));
        *offset += (size_t)json_object_get_string_len(t);
    }
    json_object_object_add(o, "tokens", toks);
    json_object_object_add(o, "token_logprobs", lps);
    json_object_object_add(o, "top_logprobs", tops);
    json_object_object_add(o, "text_offset", offs);
    return o;
}

static json_object *usage_obj(const srv_req *r) {
    json_object *u = json_object_new_object(), *d = json_object_new_object();
    json_object_object_add(u, "prompt_tokens", json_object_new_int(r->n_prompt));
    json_object_object_add(u, "completion_tokens", json_object_new_int(r->n_gen));
    json_object_object_add(u, "total_tokens", json_object_new_int(r->n_prompt + r->n_gen));
    json_object_object_add(d, "cached_tokens", json_object_new_int(r->n_cached));
    json_object_object_add(u, "prompt_tokens_details", d);
    return u;
}

static json_object *envelope(const srv_env *env, const srv_req *r, const char *object) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(r->id));
    json_object_object_add(o, "object", json_object_new_string(object));
    json_object_object_add(o, "created", json_object_new_int64(r->created));
    json_object_object_add(o, "model", json_object_new_string(env->model_name));
    return o;
}

static void emit_sse(srv_req *r, json_object *o) {
    srv_buf_add(&r->pend, "data: ", 6);
    const char *s = json_object_to_json_string_ext(o, JFLAGS);
    srv_buf_add(&r->pend, s, strlen(s));
    srv_buf_add(&r->pend, "\n\n", 2);
    json_object_put(o);
}


/* One stream chunk. Chat: delta {role?, content?, reasoning_content?, tool_calls?}; completion:
 * text. finish may be NULL. Takes pending logprobs. */
static void stream_chunk(const srv_env *env, srv_req *r, const char *content, size_t clen, const char *reasoning,
                         size_t rlen, json_object *tool_calls, const char *finish) {
    json_object *o = envelope(env, r, r->kind == SRV_CHAT ? "chat.completion.chunk" : "text_completion");
    json_object *choices = json_object_new_array(), *c = json_object_new_object();
    json_object_object_add(c, "index", json_object_new_int(0));
    json_object *lp = NULL;
    if (r->logprobs && json_object_array_length(r->lp_pend) > 0) {
        if (r->kind == SRV_CHAT) {
            lp = json_object_new_object();
            json_object_object_add(lp, "content", r->lp_pend);
        } else {
            lp = completion_logprobs(r->lp_pend, &r->emitted);   /* r->emitted doubles as the text offset base */
            json_object_put(r->lp_pend);
        }
        r->lp_pend = json_object_new_array();
    }
    if (r->kind == SRV_CHAT) {
        json_object *d = json_object_new_object();
        if (!r->sent_role) { json_object_object_add(d, "role", json_object_new_string("assistant")); r->sent_role = 1; }
        if (clen || (!rlen && !tool_calls && !finish && json_object_object_length(d)))
            json_object_object_add(d, "content", json_object_new_string_len(content ? content : "", (int)clen));
        if (rlen) json_object_object_add(d, "reasoning_content", json_object_new_string_len(reasoning, (int)rlen));
        if (tool_calls) json_object_object_add(d, "tool_calls", tool_calls);
        json_object_object_add(c, "delta", d);
    } else {
        json_object_object_add(c, "text", json_object_new_string_len(content ? content : "", (int)clen));
    }
    json_object_object_add(c, "logprobs", lp);
    json_object_object_add(c, "finish_reason", finish ? json_object_new_string(finish) : NULL);
    json_object_array_add(choices, c);
    json_object_object_add(o, "choices", choices);
    if (r->include_usage) json_object_object_add(o, "usage", NULL);
    emit_sse(r, o);
}

/* Streaming tool-call deltas: [{index, id, type, function: {name, arguments}}]. */
static json_object *tool_call_deltas(srv_req *r, const char *json, int n) {
    json_object *arr = json_tokener_parse(json);
    if (!arr || !json_object_is_type(arr, json_type_array)) { json_object_put(arr); return NULL; }
    int base = (int)json_object_array_length(r->tool_calls);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *tc = json_object_array_get_idx(arr, i);
        json_object_array_add(r->tool_calls, json_object_get(tc));
        json_object_object_add(tc, "index", json_object_new_int(base + (int)i));
    }
    (void)n;
    return arr;
}

/* Handles a parser delta: totals for the final body, a chunk when streaming. */
static void chat_delta(const srv_env *env, srv_req *r, const exa_chat_delta *d, const char *finish) {
    if (d->reasoning_len) srv_buf_add(&r->reasoning, d->reasoning, d->reasoning_len);
    if (d->content_len) srv_buf_add(&r->content, d->content, d->content_len);
    json_object *tc = NULL;
    if (d->tool_calls_json && d->n_tool_calls > 0) tc = tool_call_deltas(r, d->tool_calls_json, d->n_tool_calls);
    if (r->stream && (d->reasoning_len || d->content_len || tc || finish || (r->logprobs && json_object_array_length(r->lp_pend))))
        stream_chunk(env, r, d->content, d->content_len, d->reasoning, d->reasoning_len, tc, finish);
    else
        json_object_put(tc);
}

/* Completion text: find stop strings in the unsent tail; send what can no longer become one. */
static int completion_text(const srv_env *env, srv_req *r, const char *s, size_t n, int final) {
    srv_buf_add(&r->text, s, n);
    const char *t = r->text.p ? r->text.p : "";
    size_t len = r->text.n, from = r->content.n, cut = len, hold = 0;
    int stopped = 0;
    for (int i = 0; i < r->n_stop; i++) {
        const char *f = memmem(t + from, len - from, r->stop[i], strlen(r->stop[i]));
        if (f && (size_t)(f - t) < cut) { cut = (size_t)(f - t); stopped = 1; }
    }
    if (!stopped && !final)
        for (int i = 0; i < r->n_stop; i++) {
            size_t sl = strlen(r->stop[i]);
            for (size_t k = EXA_MIN(sl - 1, len - from); k > hold; k--)
                if (!memcmp(t + len - k, r->stop[i], k)) { hold = k; break; }
        }
    size_t upto = cut - hold;
    if (upto > from) {
        srv_buf_add(&r->content, t + from, upto - from);
        if (r->stream) stream_chunk(env, r, t + from, upto - from, NULL, 0, NULL, NULL);
    } else if (r->stream && r->logprobs && json_object_array_length(r->lp_pend) && final) {
        stream_chunk(env, r, "", 0, NULL, 0, NULL, NULL);
    }
    return stopped;
}

int srv_gen_token(const srv_env *env, srv_req *r, int32_t tok, const float *logits) {
    if (r->finish) return 1;
    r->n_gen++;
    if (r->n_gen == 1) {
        r->t_first = exa_time_now();
        /* the role chunk goes out with the first token, even if its text is still held back */
        if (r->stream && r->kind == SRV_CHAT && tok != env->eos) stream_chunk(env, r, "", 0, NULL, 0, NULL, NULL);
    }
    exa_sampler_accept(r->sampler, tok);
    if (r->logprobs && logits) {
        json_object *e = logprob_entry(env, r, tok, logits);
        json_object_array_add(r->lp, json_object_get(e));
        json_object_array_add(r->lp_pend, e);
    }
    if (tok == env->eos) { srv_gen_finish(env, r, "stop"); return 1; }
    size_t n = 0;
    const char *s = exa_detok_push(r->detok, tok, &n);
    if (!s) { srv_gen_fail(r, "out of memory in the detokenizer"); return 1; }
    int stopped = 0;
    if (r->kind == SRV_CHAT) {
        exa_chat_delta d;
        if (exa_chat_parser_feed(r->parser, s, n, &d) != EXA_OK) { srv_gen_fail(r, "chat parser failed"); return 1; }
        stopped = d.stopped;
        chat_delta(env, r, &d, NULL);
    } else {
        stopped = completion_text(env, r, s, n, 0);
    }
    if (stopped) { srv_gen_finish(env, r, "stop"); return 1; }
    if (r->n_gen >= r->max_tokens) { srv_gen_finish(env, r, "length"); return 1; }
    return 0;
}

void srv_gen_finish(const srv_env *env, srv_req *r, const char *reason) {
    if (r->finish) return;
    size_t n = 0;
    const char *s = exa_detok_flush(r->detok, &n);
    if (r->kind == SRV_CHAT) {
        exa_chat_delta d;
        memset(&d, 0, sizeof d);
        if (s && n && exa_chat_parser_feed(r->parser, s, n, &d) == EXA_OK) chat_delta(env, r, &d, NULL);
        memset(&d, 0, sizeof d);
        exa_chat_parser_finish(r->parser, &d);
        if (!strcmp(reason, "stop") && exa_chat_parser_n_tool_calls(r->parser) > 0) reason = "tool_calls";
        if (r->stream) {
            exa_chat_delta last = d;
            chat_delta(env, r, &last, reason);
        } else {
            chat_delta(env, r, &d, NULL);
        }
    } else {
        int stopped = completion_text(env, r, s ? s : "", s ? n : 0, 1);
        if (stopped) reason = "stop";
        if (r->stream) stream_chunk(env, r, "", 0, NULL, 0, NULL, reason);
    }
    r->finish = reason;
    json_object *cites = NULL; /* grounded chat: the sources, each marked cited or not by the answer */
    if (r->sources) {
        int ns = (int)json_object_array_length(r->sources);
        int *cited = calloc((size_t)(ns ? ns : 1), sizeof *cited);
        if (cited) exa_grounded_citations(r->content.p ? r->content.p : "", ns, cited);
        cites = json_object_new_array();
        for (int i = 0; i < ns; i++) {
            json_object *src = json_object_array_get_idx(r->sources, i), *c = json_object_new_object();
            json_object_object_foreach(src, k, v) json_object_object_add(c, k, json_object_get(v));
            json_object_object_add(c, "cited", json_object_new_boolean(cited && cited[i]));
            json_object_array_add(cites, c);
        }
        free(cited);
    }
    if (r->stream) {
        if (cites) {
            json_object *o = envelope(env, r, "chat.completion.chunk");
            json_object_object_add(o, "choices", json_object_new_array());
            json_object_object_add(o, "citations", cites);
            emit_sse(r, o);
        }
        if (r->include_usage) {
            json_object *o = envelope(env, r, r->kind == SRV_CHAT ? "chat.completion.chunk" : "text_completion");
            json_object_object_add(o, "choices", json_object_new_array());
            json_object_object_add(o, "usage", usage_obj(r));
            emit_sse(r, o);
        }
        srv_buf_add(&r->pend, "data: [DONE]\n\n", 14);
        return;
    }
    json_object *o = envelope(env, r, r->kind == SRV_CHAT ? "chat.completion" : "text_completion");
    json_object *choices = json_object_new_array(), *c = json_object_new_object();
    json_object_object_add(c, "index", json_object_new_int(0));
    json_object *lp = NULL;
    if (r->kind == SRV_CHAT) {
        json_object *m = json_object_new_object();
        int ntc = (int)json_object_array_length(r->tool_calls);
        json_object_object_add(m, "role", json_object_new_string("assistant"));
        json_object_object_add(m, "content", (r->content.n || !ntc) ? json_object_new_string_len(r->content.p ? r->content.p : "", (int)r->content.n) : NULL);
        if (r->reasoning.n) json_object_object_add(m, "reasoning_content", json_object_new_string_len(r->reasoning.p, (int)r->reasoning.n));
        if (ntc) json_object_object_add(m, "tool_calls", json_object_get(r->tool_calls));
        json_object_object_add(c, "message", m);
        if (r->logprobs) {
            lp = json_object_new_object();
            json_object_object_add(lp, "content", json_object_get(r->lp));
        }
    } else {
        json_object_object_add(c, "text", json_object_new_string_len(r->content.p ? r->content.p : "", (int)r->content.n));
        if (r->logprobs) { size_t off = 0; lp = completion_logprobs(r->lp, &off); }
    }
    json_object_object_add(c, "logprobs", lp);
    json_object_object_add(c, "finish_reason", json_object_new_string(reason));
    json_object_array_add(choices, c);
    json_object_object_add(o, "choices", choices);
    json_object_object_add(o, "usage", usage_obj(r));
    if (cites) json_object_object_add(o, "citations", cites);
    const char *body = json_object_to_json_string_ext(o, JFLAGS);
    srv_buf_add(&r->pend, body, strlen(body));
    json_object_put(o);
}

void srv_gen_fail(srv_req *r, const char *msg) {
    if (r->finish) return;
    r->finish = "error";
    srv_err e;
    srv_err_set(&e, 500, "server_error", NULL, NULL, "generation failed: %s", msg);
    char *j = srv_err_json(&e);
    if (r->stream) {
        srv_buf_addf(&r->pend, "data: %s\n\ndata: [DONE]\n\n", j ? j : "{}");
    } else {
        r->pend.n = 0;
        if (j) srv_buf_add(&r->pend, j, strlen(j));
        r->http_status = 500;
    }
    free(j);
}
