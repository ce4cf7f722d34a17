/* server.c — `exaone serve`: an OpenAI-compatible HTTP server (libmicrohttpd, one thread per
 * connection) in front of one exa_context shared by up to n_parallel requests.
 *
 * Continuous batching: a single scheduler thread owns the context. Each step it
 *   1. drops cancelled requests and admits queued ones into free slots (slot = KV sequence),
 *      reusing the longest common prompt prefix found in any slot (seq_truncate on its own
 *      slot, or seq_copy from another slot, running or idle);
 *   2. runs ONE exa_context_decode over a batch holding the next token of every generating
 *      request plus prompt chunks of newly admitted ones (at most n_batch tokens in all; while
 *      any request is generating, prompt tokens are limited to prefill_chunk per step, so a long
 *      new prompt slows the running streams instead of stalling them);
 *   3. samples each request's next token with its own sampler and pushes it through the output
 *      pipeline (output.c), then hands the produced bytes to the HTTP threads under the lock.
 * HTTP threads parse and validate (request.c), queue the request (429 when the queue is full),
 * then either wait for the final body or stream SSE bytes as they appear. A client that goes
 * away (socket hang-up seen while waiting, failed write, request-completed callback) cancels its
 * request, which frees its slot at the next step. Shutdown stops accepting, drains, then frees.
 * Locking: exa_server.mu guards the queue, the shared part of every srv_req and the metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/common.h"
#include "server/srv_internal.h"

/* ---- metrics ------------------------------------------------------------------------------ */
#define HIST_MAX 16
typedef struct hist {
    const char *name, *help;
    double bound[HIST_MAX];
    int nb;
    uint64_t count[HIST_MAX + 1];
    double sum;
    uint64_t n;
} hist;

static void hist_add(hist *h, double v) {
    int i = 0;
    while (i < h->nb && v > h->bound[i]) i++;
    h->count[i]++;
    h->sum += v;
    h->n++;
}

enum { EP_CHAT, EP_COMPLETIONS, EP_MODELS, EP_TOKENIZE, EP_DETOKENIZE, EP_HEALTH, EP_METRICS, EP_RETRIEVE, EP_OTHER, EP_N };
static const char *const ep_names[EP_N] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/tokenize",
                                          "/detokenize", "/health", "/metrics", "/v1/retrieve", "other"};
static const int codes[] = {200, 400, 401, 404, 405, 413, 429, 500, 503};
#define N_CODES ((int)(sizeof codes / sizeof codes[0]))

typedef struct slot {
    srv_req *req;       /* NULL: free */
    int32_t *tok;       /* tokens whose K/V the sequence holds (for prefix reuse) */
    int n_tok, cap;
    uint64_t admitted;  /* admission order, for prefill fairness */
} slot;

struct exa_server {
    exa_server_params p;
    char *model_name;
    exa_model *model;
    exa_context *ctx;
    exa_tokenizer *tok;
    exa_chat_template *tmpl;
    srv_env env;
    int n_batch;
    slot *slots;
    int n_slots;
    /* shared under mu */
    pthread_mutex_t mu;
    pthread_cond_t sched_cv, idle_cv;
    srv_req **queue;
    int q_n;
    int stop_sched, draining, inflight;
    uint64_t admit_seq;
    /* metrics (mu) */
    uint64_t req_count[EP_N][N_CODES];
    uint64_t prompt_tokens, gen_tokens, cached_tokens, cancelled, steps, batch_tokens;
    int running;
    hist h_ttft, h_e2e, h_tpot, h_queue, h_step;
    double started;
    /* scheduler-private batch buffers (n_batch) */
    int32_t *b_tok, *b_pos, *b_seq;
    int8_t *b_want;
    int *b_slot;
    pthread_t th;
    int th_started;
    struct MHD_Daemon *d;
    int port;
};

exa_server_params exa_server_default_params(void) {
    exa_server_params p = {.host = "127.0.0.1", .port = 8080, .n_parallel = 4, .n_batch = 512, .prefill_chunk = 128, .max_queue = 64,
                           .max_body = (size_t)8 << 20, .max_connections = 512};
    return p;
}

int exa_server_port(const exa_server *s) { return s ? s->port : -1; }

static void release_locked(srv_req *r) {
    if (--r->refs == 0) srv_req_free(r);
}

/* ---- scheduler ---------------------------------------------------------------------------- */
static int lcp(const int32_t *a, int na, const int32_t *b, int nb) {
    int n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

static int slot_reserve(slot *sl, int n) {
    if (n <= sl->cap) return 0;
    int c = sl->cap ? sl->cap : 256;
    while (c < n) c *= 2;
    int32_t *t = realloc(sl->tok, (size_t)c * sizeof *t);
    if (!t) return -1;
    sl->tok = t; sl->cap = c;
    return 0;
}

/* Prefix reuse for a request just placed in slot si: keep the longest common prefix of the slot's
 * own tokens, or copy a longer one from another slot. At least one prompt token is always
 * evaluated (its logits start the generation). */
static void setup_prefix(exa_server *s, int si) {
    slot *sl = &s->slots[si];
    srv_req *r = sl->req;
    const int cap_n = r->n_prompt - 1;
    int own = EXA_MIN(lcp(sl->tok, sl->n_tok, r->prompt, r->n_prompt), cap_n);
    int best = own, from = -1;
    for (int j = 0; j < s->n_slots; j++) {
        if (j == si) continue;
        int l = EXA_MIN(lcp(s->slots[j].tok, s->slots[j].n_tok, r->prompt, r->n_prompt), cap_n);
        if (l > best) { best = l; from = j; }
    }
    int keep = 0;
    if (from >= 0 && exa_context_seq_copy(s->ctx, from, si, best) == EXA_OK && slot_reserve(sl, best) == 0) {
        memcpy(sl->tok, s->slots[from].tok, (size_t)best * sizeof *sl->tok);
        keep = best;
    } else if (own > 0 && exa_context_seq_truncate(s->ctx, si, own) == EXA_OK) {
        keep = own;
    } else {
        exa_context_seq_reset(s->ctx, si);
    }
    if (keep == 0) exa_context_seq_reset(s->ctx, si);
    sl->n_tok = keep;
    r->n_fed = keep;
    r->n_cached = keep;
}

/* Finishes the bookkeeping of a request that left its slot (lock held). */
static void retire_locked(exa_server *s, srv_req *r) {
    double now = exa_time_now();
    s->prompt_tokens += (uint64_t)r->n_prompt;
    s->gen_tokens += (uint64_t)r->n_gen;
    s->cached_tokens += (uint64_t)r->n_cached;
    if (r->cancelled) s->cancelled++;
    else if (r->n_gen > 0) {
        hist_add(&s->h_ttft, r->t_first - r->t_arrive);
        hist_add(&s->h_e2e, now - r->t_arrive);
        if (r->n_gen > 1) hist_add(&s->h_tpot, (now - r->t_first) / (r->n_gen - 1));
    }
    r->state = SRV_DONE;
    pthread_cond_broadcast(&r->cv);
    release_locked(r);
}

static void *sched_main(void *arg) {
    exa_server *s = arg;
    srv_req **touched = malloc((size_t)s->n_slots * sizeof *touched);
    int *fresh = malloc((size_t)s->n_slots * sizeof *fresh);
    if (!touched || !fresh) { free(touched); free(fresh); return NULL; }   /* start() checks th_started */
    for (;;) {
        int n_fresh = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            int active = 0;
            for (int i = 0; i < s->n_slots; i++) {
                srv_req *r = s->slots[i].req;
                if (r && r->cancelled) {
                    s->slots[i].req = NULL;
                    s->running--;
                    retire_locked(s, r);
                } else if (r) active++;
            }
            while (s->q_n > 0) {   /* admit: the free slot sharing the longest prefix */
                srv_req *r = s->queue[0];
                int best = -1, best_l = -1;
                for (int i = 0; i < s->n_slots; i++) {
                    if (s->slots[i].req) continue;
                    int l = lcp(s->slots[i].tok, s->slots[i].n_tok, r->prompt, r->n_prompt);
                    if (l > best_l) { best_l = l; best = i; }
                }
                if (best < 0) break;
                memmove(s->queue, s->queue + 1, (size_t)(--s->q_n) * sizeof *s->queue);
                hist_add(&s->h_queue, exa_time_now() - r->t_arrive);
                r->state = SRV_RUNNING;
                r->slot = best;
                s->slots[best].req = r;
                s->slots[best].admitted = ++s->admit_seq;
                s->running++;
                fresh[n_fresh++] = best;
                active++;
            }
            if (active) break;
            if (s->stop_sched) { pthread_mutex_unlock(&s->mu); free(touched); free(fresh); return NULL; }
            pthread_cond_wait(&s->sched_cv, &s->mu);
        }
        pthread_mutex_unlock(&s->mu);

        for (int k = 0; k < n_fresh; k++) {
            slot *sl = &s->slots[fresh[k]];
            setup_prefix(s, fresh[k]);
            if (srv_gen_begin(&s->env, sl->req) != 0) srv_gen_fail(sl->req, "out of memory starting the request");
        }
        /* build the batch: decode tokens first, then prompt chunks (oldest admission first) */
        int n = 0;
        for (int i = 0; i < s->n_slots; i++) {   /* decode tokens */
            slot *sl = &s->slots[i];
            srv_req *r = sl->req;
            if (!r || r->finish || r->n_fed < r->n_prompt) continue;
            s->b_tok[n] = r->next_tok; s->b_pos[n] = sl->n_tok; s->b_seq[n] = i; s->b_want[n] = 1; s->b_slot[n] = i;
            n++;
        }
        const int prefill_end = n > 0 ? EXA_MIN(s->n_batch, n + s->p.prefill_chunk) : s->n_batch;
        for (;;) {
            int pick = -1;
            for (int i = 0; i < s->n_slots; i++) {
                srv_req *r = s->slots[i].req;
                if (!r || r->finish || r->n_fed >= r->n_prompt || s->slots[i].n_tok > r->n_fed) continue;
                if (pick < 0 || s->slots[i].admitted < s->slots[pick].admitted) pick = i;
            }
            if (pick < 0 || n >= prefill_end) break;
            slot *sl = &s->slots[pick];
            srv_req *r = sl->req;
            int chunk = EXA_MIN(r->n_prompt - r->n_fed, prefill_end - n);
            for (int j = 0; j < chunk; j++, n++) {
                s->b_tok[n] = r->prompt[r->n_fed + j]; s->b_pos[n] = sl->n_tok + j; s->b_seq[n] = pick;
                s->b_want[n] = (r->n_fed + j == r->n_prompt - 1); s->b_slot[n] = pick;
            }
            if (slot_reserve(sl, sl->n_tok + chunk) != 0) { srv_gen_fail(r, "out of memory"); n -= chunk; continue; }
            memcpy(sl->tok + sl->n_tok, r->prompt + r->n_fed, (size_t)chunk * sizeof *sl->tok);
            sl->n_tok += chunk;   /* marks the chunk as scheduled (n_tok > n_fed until decoded) */
        }
        exa_status st = EXA_OK;
        double t_step = exa_time_now();
        if (n > 0) {
            exa_batch b = {.n_tokens = n, .token = s->b_tok, .pos = s->b_pos, .seq = s->b_seq, .want_logits = s->b_want};
            st = exa_context_decode(s->ctx, &b);
        }
        t_step = exa_time_now() - t_step;
        int n_touched = 0;
        for (int i = 0; i < s->n_slots; i++)
            if (s->slots[i].req) touched[n_touched++] = s->slots[i].req;
        if (st != EXA_OK) {
            const char *msg = exa_context_errmsg(s->ctx);
            for (int i = 0; i < s->n_slots; i++) {
                slot *sl = &s->slots[i];
                if (!sl->req || sl->req->finish) continue;
                srv_gen_fail(sl->req, msg);
                exa_context_seq_reset(s->ctx, i);
                sl->n_tok = 0;
            }
        } else {
            for (int row = 0; row < n; row++) {
                slot *sl = &s->slots[s->b_slot[row]];
                srv_req *r = sl->req;
                if (r->n_fed >= r->n_prompt) {   /* a generated token was fed */
                    if (slot_reserve(sl, sl->n_tok + 1) == 0) sl->tok[sl->n_tok++] = r->next_tok;
                    else { srv_gen_fail(r, "out of memory"); exa_context_seq_reset(s->ctx, s->b_slot[row]); sl->n_tok = 0; continue; }
                } else {
                    r->n_fed++;
                }
                if (!s->b_want[row] || r->finish) continue;
                const float *logits = exa_context_logits(s->ctx, row);
                if (!logits) { srv_gen_fail(r, "missing logits"); continue; }
                int32_t t = exa_sampler_sample(r->sampler, logits);
                if (srv_gen_token(&s->env, r, t, logits)) continue;
                if (sl->n_tok + 1 > s->env.n_ctx) srv_gen_finish(&s->env, r, "length");
                else r->next_tok = t;
            }
        }
        /* hand the produced bytes over; retire finished requests */
        pthread_mutex_lock(&s->mu);
        s->steps += n > 0;
        s->batch_tokens += (uint64_t)n;
        if (n > 0) hist_add(&s->h_step, t_step);
        for (int k = 0; k < n_touched; k++) {
            srv_req *r = touched[k];
            if (r->pend.n) {
                if (r->stream || r->finish) srv_buf_add(&r->out, r->pend.p, r->pend.n);
                r->pend.n = 0;
                pthread_cond_broadcast(&r->cv);
            }
            if (r->finish) {
                s->slots[r->slot].req = NULL;
                s->running--;
                retire_locked(s, r);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
}

/* ---- HTTP --------------------------------------------------------------------------------- */
typedef struct conn {
    srv_buf body;
    int too_big, ep;
    srv_req *req;
} conn;

static void count_locked(exa_server *s, int ep, int status) {
    for (int i = 0; i < N_CODES; i++)
        if (codes[i] == status) { s->req_count[ep][i]++; return; }
}

static enum MHD_Result send_buf(exa_server *s, struct MHD_Connection *c, int ep, int status, const char *ctype, char *body,
                                size_t len) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) { free(body); return MHD_NO; }
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    pthread_mutex_lock(&s->mu);
    count_locked(s, ep, status);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

static enum MHD_Result send_json(exa_server *s, struct MHD_Connection *c, int ep, int status, json_object *o) {
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *body = strdup(t);
    json_object_put(o);
    if (!body) return MHD_NO;
    return send_buf(s, c, ep, status, "application/json", body, strlen(body));
}

static enum MHD_Result send_error(exa_server *s, struct MHD_Connection *c, int ep, const srv_err *e) {
    char *body = srv_err_json(e);
    if (!body) return MHD_NO;
    return send_buf(s, c, ep, e->status, "application/json", body, strlen(body));
}

static enum MHD_Result fail(exa_server *s, struct MHD_Connection *c, int ep, int status, const char *type, const char *code,
                            const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static enum MHD_Result fail(exa_server *s, struct MHD_Connection *c, int ep, int status, const char *type, const char *code,
                            const char *fmt, ...) {
    srv_err e = {.status = status, .type = type, .code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    return send_error(s, c, ep, &e);
}

static int client_gone(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Marks a request cancelled (lock held): removed from the queue at once, or freed from its
 * slot by the scheduler's next step. */
static void cancel_locked(exa_server *s, srv_req *r) {
    if (r->state == SRV_DONE || r->cancelled) return;
    r->cancelled = 1;
    if (r->state == SRV_QUEUED) {
        for (int i = 0; i < s->q_n; i++)
            if (s->queue[i] == r) {
                memmove(s->queue + i, s->queue + i + 1, (size_t)(s->q_n - i - 1) * sizeof *s->queue);
                s->q_n--;
                s->cancelled++;
                r->state = SRV_DONE;
                pthread_cond_broadcast(&r->cv);
                release_locked(r);   /* the scheduler's reference */
                return;
            }
    }
    pthread_cond_signal(&s->sched_cv);
}

static void wait_tick(srv_req *r, pthread_mutex_t *mu) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&r->cv, mu, &ts);
}

typedef struct sse_ctx { exa_server *s; srv_req *r; } sse_ctx;

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    sse_ctx *x = cls;
    exa_server *s = x->s;
    srv_req *r = x->r;
    (void)pos;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (r->out.n > r->out_sent) {
            size_t k = EXA_MIN(max, r->out.n - r->out_sent);
            memcpy(buf, r->out.p + r->out_sent, k);
            r->out_sent += k;
            if (r->out_sent == r->out.n) r->out.n = r->out_sent = 0;
            pthread_mutex_unlock(&s->mu);
            return (ssize_t)k;
        }
        if (r->state == SRV_DONE) { pthread_mutex_unlock(&s->mu); return MHD_CONTENT_READER_END_OF_STREAM; }
        wait_tick(r, &s->mu);
        if (r->out.n == r->out_sent && r->state != SRV_DONE && client_gone(r->sock)) {
            cancel_locked(s, r);
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void sse_free(void *cls) {
    sse_ctx *x = cls;
    pthread_mutex_lock(&x->s->mu);
    cancel_locked(x->s, x->r);   /* no-op when it finished */
    release_locked(x->r);
    pthread_mutex_unlock(&x->s->mu);
    free(x);
}

static enum MHD_Result handle_generate(exa_server *s, struct MHD_Connection *c, conn *cs) {
    srv_err e;
    srv_req *r = cs->ep == EP_CHAT ? srv_parse_chat(&s->env, cs->body.p, cs->body.n, &e)
                                   : srv_parse_completion(&s->env, cs->body.p, cs->body.n, &e);
    if (!r) return send_error(s, c, cs->ep, &e);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->sock = ci ? ci->connect_fd : -1;
    pthread_mutex_lock(&s->mu);
    if (s->q_n >= s->p.max_queue) {
        pthread_mutex_unlock(&s->mu);
        srv_req_free(r);
        return fail(s, c, cs->ep, 429, "rate_limit_error", "rate_limit_exceeded",
                    "the server is busy: %d requests are already waiting; retry later", s->p.max_queue);
    }
    r->refs = 2;   /* this connection + the scheduler */
    s->queue[s->q_n++] = r;
    cs->req = r;
    pthread_cond_signal(&s->sched_cv);
    if (r->stream) {
        pthread_mutex_unlock(&s->mu);
        sse_ctx *x = malloc(sizeof *x);
        struct MHD_Response *resp = x ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_reader, x, sse_free) : NULL;
        if (!resp) { free(x); return MHD_NO; }   /* the completed callback cancels the request */
        x->s = s; x->r = r;
        pthread_mutex_lock(&s->mu);
        r->refs++;   /* the response's */
        count_locked(s, cs->ep, 200);
        pthread_mutex_unlock(&s->mu);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        enum MHD_Result ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    while (r->state != SRV_DONE) {
        wait_tick(r, &s->mu);
        if (r->state != SRV_DONE && client_gone(r->sock)) {
            cancel_locked(s, r);
            pthread_mutex_unlock(&s->mu);
            return MHD_NO;
        }
    }
    int status = r->http_status;
    char *body = NULL;
    size_t len = r->out.n;
    if (r->out.n) { body = r->out.p; r->out.p = NULL; r->out.n = r->out.cap = 0; }
    pthread_mutex_unlock(&s->mu);
    if (!body) return fail(s, c, cs->ep, 503, "server_error", "server_shutting_down", "the request was cancelled because the server is shutting down");
    return send_buf(s, c, cs->ep, status, "application/json", body, len);
}

static enum MHD_Result handle_tokenize(exa_server *s, struct MHD_Connection *c, conn *cs) {
    srv_err e;
    json_object *o = srv_parse_json_object(cs->body.p, cs->body.n, &e), *x;
    if (!o) return send_error(s, c, cs->ep, &e);
    int32_t *ids = NULL;
    size_t n = 0;
    char *text = NULL, err[512];
    size_t tlen = 0;
    int add_special = 1, strs = 0;
    json_object *b;
    if (json_object_object_get_ex(o, "return_token_strs", &b) && json_object_is_type(b, json_type_boolean)) strs = json_object_get_boolean(b);
    if (json_object_object_get_ex(o, "messages", &x) && x) {
        exa_chat_render_opts ro = exa_chat_render_default_opts();
        json_object *tools = NULL, *kw;
        if (json_object_object_get_ex(o, "add_generation_prompt", &b) && json_object_is_type(b, json_type_boolean)) ro.add_generation_prompt = json_object_get_boolean(b);
        if (json_object_object_get_ex(o, "chat_template_kwargs", &kw) && json_object_is_type(kw, json_type_object) &&
            json_object_object_get_ex(kw, "enable_thinking", &b) && json_object_is_type(b, json_type_boolean)) ro.enable_thinking = json_object_get_boolean(b);
        if (json_object_object_get_ex(o, "tools", &tools) && !json_object_is_type(tools, json_type_array)) tools = NULL;
        if (!json_object_is_type(x, json_type_array) || exa_chat_render(s->tmpl, x, tools, &ro, &text, &tlen, err, sizeof err) != EXA_OK) {
            json_object_put(o);
            return fail(s, c, cs->ep, 400, "invalid_request_error", NULL, "cannot render 'messages': %s",
                        json_object_is_type(x, json_type_array) ? err : "'messages' must be an array");
        }
        add_special = 0;
    } else if (json_object_object_get_ex(o, "prompt", &x) && json_object_is_type(x, json_type_string)) {
        text = strdup(json_object_get_string(x));
        tlen = (size_t)json_object_get_string_len(x);
        if (json_object_object_get_ex(o, "add_special_tokens", &b) && json_object_is_type(b, json_type_boolean)) add_special = json_object_get_boolean(b);
    } else {
        json_object_put(o);
        return fail(s, c, cs->ep, 400, "invalid_request_error", NULL, "give 'prompt' (a string) or 'messages' (an array)");
    }
    json_object_put(o);
    if (!text || exa_tokenizer_encode_alloc(s->tok, text, tlen, add_special, &ids, &n) != EXA_OK) {
        free(text);
        return fail(s, c, cs->ep, 500, "server_error", NULL, "tokenization failed");
    }
    free(text);
    json_object *res = json_object_new_object(), *arr = json_object_new_array(), *sa = strs ? json_object_new_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        json_object_array_add(arr, json_object_new_int(ids[i]));
        if (sa) {
            const char *t = exa_tokenizer_token_text(s->tok, ids[i]);
            json_object_array_add(sa, json_object_new_string(t ? t : ""));
        }
    }
    free(ids);
    json_object_object_add(res, "count", json_object_new_int64((int64_t)n));
    json_object_object_add(res, "max_model_len", json_object_new_int(s->env.n_ctx));
    json_object_object_add(res, "tokens", arr);
    if (sa) json_object_object_add(res, "token_strs", sa);
    return send_json(s, c, cs->ep, 200, res);
}

/* POST /v1/retrieve {"index": NAME, "query": TEXT, "k": N}: passages from a document index. */
static enum MHD_Result handle_retrieve(exa_server *s, struct MHD_Connection *c, conn *cs) {
    srv_err e;
    json_object *o = srv_parse_json_object(cs->body.p, cs->body.n, &e), *ix, *q, *kv;
    if (!o) return send_error(s, c, cs->ep, &e);
    int64_t k = 10;
    if (!json_object_object_get_ex(o, "index", &ix) || !json_object_is_type(ix, json_type_string) ||
        !json_object_object_get_ex(o, "query", &q) || !json_object_is_type(q, json_type_string)) {
        json_object_put(o);
        return fail(s, c, cs->ep, 400, "invalid_request_error", NULL, "give 'index' (a name) and 'query' (a string)");
    }
    if (json_object_object_get_ex(o, "k", &kv)) {
        if (!json_object_is_type(kv, json_type_int) || (k = json_object_get_int64(kv)) < 1 || k > 100) {
            json_object_put(o);
            srv_err_set(&e, 400, "invalid_request_error", "k", NULL, "'k' must be an integer in [1, 100]");
            return send_error(s, c, cs->ep, &e);
        }
    }
    exa_search_result res;
    int n_keep = 0;
    if (srv_retrieve(&s->env, json_object_get_string(ix), json_object_get_string(q), (int)k, &res, &n_keep, &e)) {
        json_object_put(o);
        return send_error(s, c, cs->ep, &e);
    }
    json_object *out = json_object_new_object(), *data = json_object_new_array();
    json_object_object_add(out, "object", json_object_new_string("list"));
    json_object_object_add(out, "index", json_object_new_string(json_object_get_string(ix)));
    for (int i = 0; i < res.n; i++) json_object_array_add(data, exa_grounded_passage_json(&res.passages[i], i + 1, 1));
    json_object_object_add(out, "data", data);
    exa_search_result_free(&res);
    json_object_put(o);
    return send_json(s, c, cs->ep, 200, out);
}

static enum MHD_Result handle_detokenize(exa_server *s, struct MHD_Connection *c, conn *cs) {
    srv_err e;
    json_object *o = srv_parse_json_object(cs->body.p, cs->body.n, &e), *x;
    if (!o) return send_error(s, c, cs->ep, &e);
    if (!json_object_object_get_ex(o, "tokens", &x) || !json_object_is_type(x, json_type_array)) {
        json_object_put(o);
        return fail(s, c, cs->ep, 400, "invalid_request_error", NULL, "'tokens' must be an array of token ids");
    }
    size_t n = json_object_array_length(x);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    for (size_t i = 0; ids && i < n; i++) {
        json_object *t = json_object_array_get_idx(x, i);
        int64_t v = json_object_get_int64(t);
        if (!json_object_is_type(t, json_type_int) || v < 0 || v >= s->env.n_vocab) {
            free(ids); json_object_put(o);
            return fail(s, c, cs->ep, 400, "invalid_request_error", NULL, "tokens[%zu] is not a token id in [0, %d)", i, s->env.n_vocab);
        }
        ids[i] = (int32_t)v;
    }
    json_object_put(o);
    char *text = NULL;
    size_t tl = 0;
    if (!ids || exa_tokenizer_decode_alloc(s->tok, ids, n, 0, &text, &tl) != EXA_OK) {
        free(ids);
        return fail(s, c, cs->ep, 500, "server_error", NULL, "detokenization failed");
    }
    free(ids);
    json_object *res = json_object_new_object();
    json_object_object_add(res, "prompt", json_object_new_string_len(text, (int)tl));
    free(text);
    return send_json(s, c, cs->ep, 200, res);
}

static void prom_hist(srv_buf *b, const hist *h) {
    srv_buf_addf(b, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    uint64_t cum = 0;
    for (int i = 0; i < h->nb; i++) {
        cum += h->count[i];
        srv_buf_addf(b, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bound[i], (unsigned long long)cum);
    }
    srv_buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", h->name, (unsigned long long)h->n, h->name,
                 h->sum, h->name, (unsigned long long)h->n);
}

static enum MHD_Result handle_metrics(exa_server *s, struct MHD_Connection *c) {
    srv_buf b = {0};
    pthread_mutex_lock(&s->mu);
    srv_buf_addf(&b, "# HELP exaone_requests_total HTTP requests answered, by endpoint and status code.\n# TYPE exaone_requests_total counter\n");
    for (int e = 0; e < EP_N; e++)
        for (int i = 0; i < N_CODES; i++)
            if (s->req_count[e][i])
                srv_buf_addf(&b, "exaone_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n", ep_names[e], codes[i], (unsigned long long)s->req_count[e][i]);
    srv_buf_addf(&b, "# HELP exaone_prompt_tokens_total Prompt tokens of finished requests.\n# TYPE exaone_prompt_tokens_total counter\nexaone_prompt_tokens_total %llu\n", (unsigned long long)s->prompt_tokens);
    srv_buf_addf(&b, "# HELP exaone_prompt_tokens_cached_total Prompt tokens reused from the KV cache (prefix reuse).\n# TYPE exaone_prompt_tokens_cached_total counter\nexaone_prompt_tokens_cached_total %llu\n", (unsigned long long)s->cached_tokens);
    srv_buf_addf(&b, "# HELP exaone_generation_tokens_total Generated tokens.\n# TYPE exaone_generation_tokens_total counter\nexaone_generation_tokens_total %llu\n", (unsigned long long)s->gen_tokens);
    srv_buf_addf(&b, "# HELP exaone_requests_cancelled_total Generations cancelled by a client disconnect or shutdown.\n# TYPE exaone_requests_cancelled_total counter\nexaone_requests_cancelled_total %llu\n", (unsigned long long)s->cancelled);
    srv_buf_addf(&b, "# HELP exaone_decode_steps_total Forward steps (one batched exa_context_decode each).\n# TYPE exaone_decode_steps_total counter\nexaone_decode_steps_total %llu\n", (unsigned long long)s->steps);
    srv_buf_addf(&b, "# HELP exaone_batch_tokens_total Tokens processed over all steps.\n# TYPE exaone_batch_tokens_total counter\nexaone_batch_tokens_total %llu\n", (unsigned long long)s->batch_tokens);
    srv_buf_addf(&b, "# HELP exaone_queue_depth Requests waiting for a slot.\n# TYPE exaone_queue_depth gauge\nexaone_queue_depth %d\n", s->q_n);
    srv_buf_addf(&b, "# HELP exaone_requests_running Requests holding a slot.\n# TYPE exaone_requests_running gauge\nexaone_requests_running %d\n", s->running);
    srv_buf_addf(&b, "# HELP exaone_slots Parallel sequences (slots).\n# TYPE exaone_slots gauge\nexaone_slots %d\n", s->n_slots);
    srv_buf_addf(&b, "# HELP exaone_uptime_seconds Seconds since the server started.\n# TYPE exaone_uptime_seconds gauge\nexaone_uptime_seconds %.3f\n", exa_time_now() - s->started);
    prom_hist(&b, &s->h_queue);
    prom_hist(&b, &s->h_ttft);
    prom_hist(&b, &s->h_tpot);
    prom_hist(&b, &s->h_e2e);
    prom_hist(&b, &s->h_step);
    pthread_mutex_unlock(&s->mu);
    if (!b.p) return MHD_NO;
    return send_buf(s, c, EP_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.n);
}

static enum MHD_Result handle_models(exa_server *s, struct MHD_Connection *c) {
    json_object *o = json_object_new_object(), *data = json_object_new_array(), *m = json_object_new_object();
    json_object_object_add(m, "id", json_object_new_string(s->model_name));
    json_object_object_add(m, "object", json_object_new_string("model"));
    json_object_object_add(m, "created", json_object_new_int64((int64_t)time(NULL) - (int64_t)(exa_time_now() - s->started)));
    json_object_object_add(m, "owned_by", json_object_new_string("exaone.c"));
    json_object_object_add(m, "max_model_len", json_object_new_int(s->env.n_ctx));
    json_object_array_add(data, m);
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    return send_json(s, c, EP_MODELS, 200, o);
}

static int endpoint_of(const char *url, int *needs_post) {
    static const struct { const char *path; int ep, post; } routes[] = {
        {"/v1/chat/completions", EP_CHAT, 1}, {"/v1/completions", EP_COMPLETIONS, 1}, {"/v1/models", EP_MODELS, 0},
        {"/tokenize", EP_TOKENIZE, 1}, {"/v1/tokenize", EP_TOKENIZE, 1}, {"/detokenize", EP_DETOKENIZE, 1},
        {"/v1/detokenize", EP_DETOKENIZE, 1}, {"/health", EP_HEALTH, 0}, {"/metrics", EP_METRICS, 0},
        {"/v1/retrieve", EP_RETRIEVE, 1},
    };
    for (size_t i = 0; i < EXA_ARRAY_LEN(routes); i++)
        if (!strcmp(url, routes[i].path)) { *needs_post = routes[i].post; return routes[i].ep; }
    *needs_post = 0;
    return EP_OTHER;
}

static int auth_ok(const exa_server *s, struct MHD_Connection *c) {
    if (!s->p.api_key || !*s->p.api_key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return 0;
    h += 7;
    while (*h == ' ') h++;
    size_t a = strlen(h), b = strlen(s->p.api_key);
    unsigned diff = (unsigned)(a != b);
    for (size_t i = 0; i < a && i < b; i++) diff |= (unsigned char)(h[i] ^ s->p.api_key[i]);
    return diff == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    exa_server *s = cls;
    conn *cs = *con_cls;
    (void)version;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        *con_cls = cs;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        int draining = s->draining;
        pthread_mutex_unlock(&s->mu);
        int post;
        cs->ep = endpoint_of(url, &post);
        /* decided before reading any body: unknown path, wrong method, auth, size, shutdown */
        if (cs->ep == EP_OTHER) return fail(s, c, cs->ep, 404, "invalid_request_error", "not_found", "no such endpoint: %s %s", method, url);
        if (strcmp(method, post ? "POST" : "GET"))
            return fail(s, c, cs->ep, 405, "invalid_request_error", "method_not_allowed", "%s needs %s", url, post ? "POST" : "GET");
        if (cs->ep != EP_HEALTH && cs->ep != EP_METRICS && !auth_ok(s, c))
            return fail(s, c, cs->ep, 401, "authentication_error", "invalid_api_key", "missing or incorrect API key (send 'Authorization: Bearer <key>')");
        if (draining) return fail(s, c, cs->ep, 503, "server_error", "server_shutting_down", "the server is shutting down");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->p.max_body)
            return fail(s, c, cs->ep, 413, "invalid_request_error", "request_too_large", "request body of %s bytes exceeds the limit of %zu bytes", cl, s->p.max_body);
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cs->too_big && cs->body.n + *upload_size <= s->p.max_body) {
            if (srv_buf_add(&cs->body, upload, *upload_size)) return MHD_NO;
        } else {
            cs->too_big = 1;
            srv_buf_free(&cs->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (cs->too_big)
        return fail(s, c, cs->ep, 413, "invalid_request_error", "request_too_large", "request body exceeds the limit of %zu bytes", s->p.max_body);
    switch (cs->ep) {
    case EP_CHAT: case EP_COMPLETIONS: return handle_generate(s, c, cs);
    case EP_TOKENIZE: return handle_tokenize(s, c, cs);
    case EP_DETOKENIZE: return handle_detokenize(s, c, cs);
    case EP_RETRIEVE: return handle_retrieve(s, c, cs);
    case EP_MODELS: return handle_models(s, c);
    case EP_METRICS: return handle_metrics(s, c);
    case EP_HEALTH: {
        char *b = strdup("{\"status\":\"ok\"}");
        return b ? send_buf(s, c, EP_HEALTH, 200, "application/json", b, strlen(b)) : MHD_NO;
    }
    default: return fail(s, c, cs->ep, 404, "invalid_request_error", "not_found", "no such endpoint");
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    exa_server *s = cls;
    conn *cs = *con_cls;
    (void)c; (void)toe;
    if (!cs) return;
    pthread_mutex_lock(&s->mu);
    if (cs->req) {
        cancel_locked(s, cs->req);   /* no-op when it finished */
        release_locked(cs->req);
    }
    s->inflight--;
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
    srv_buf_free(&cs->body);
    free(cs);
    *con_cls = NULL;
}

/* ---- start / shutdown --------------------------------------------------------------------- */
static void hist_init(hist *h, const char *name, const char *help, const double *b, int nb) {
    memset(h, 0, sizeof *h);
    h->name = name; h->help = help; h->nb = nb;
    memcpy(h->bound, b, (size_t)nb * sizeof *b);
}

static void server_free(exa_server *s) {
    if (!s) return;
    if (s->d) MHD_stop_daemon(s->d);
    if (s->th_started) {
        pthread_mutex_lock(&s->mu);
        s->stop_sched = 1;
        while (s->q_n > 0) cancel_locked(s, s->queue[0]);
        for (int i = 0; i < s->n_slots; i++) if (s->slots[i].req) s->slots[i].req->cancelled = 1;
        pthread_cond_signal(&s->sched_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    for (int i = 0; s->slots && i < s->n_slots; i++) free(s->slots[i].tok);
    free(s->slots); free(s->queue);
    free(s->b_tok); free(s->b_pos); free(s->b_seq); free(s->b_want); free(s->b_slot);
    exa_context_free(s->ctx);
    exa_model_free(s->model);
    exa_tokenizer_free(s->tok);
    exa_chat_template_free(s->tmpl);
    for (int i = 0; i < s->env.n_indexes; i++) {
        exa_index_close(s->env.indexes[i].idx);
        free(s->env.indexes[i].name);
        pthread_mutex_destroy(&s->env.indexes[i].mu);
    }
    free(s->env.indexes);
    free(s->model_name);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->sched_cv);
    pthread_cond_destroy(&s->idle_cv);
    free(s);
}

exa_status exa_server_start(const exa_server_params *pp, exa_server **out, char *err, size_t err_size) {
    if (!pp || !out || !pp->model_dir) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "exa_server_start: model folder missing");
    *out = NULL;
    exa_server *s = calloc(1, sizeof *s);
    if (!s) return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory");
    s->p = *pp;
    exa_server_params def = exa_server_default_params();
    if (!s->p.host) s->p.host = def.host;
    if (s->p.n_parallel <= 0) s->p.n_parallel = def.n_parallel;
    if (s->p.n_batch <= 0) s->p.n_batch = def.n_batch;
    if (s->p.prefill_chunk <= 0) s->p.prefill_chunk = def.prefill_chunk;
    if (s->p.max_queue <= 0) s->p.max_queue = def.max_queue;
    if (!s->p.max_body) s->p.max_body = def.max_body;
    if (s->p.max_connections <= 0) s->p.max_connections = def.max_connections;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->sched_cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    s->started = exa_time_now();
    static const double b_ttft[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    static const double b_e2e[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
    static const double b_tpot[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5};
    hist_init(&s->h_ttft, "exaone_time_to_first_token_seconds", "Arrival to first sampled token.", b_ttft, 12);
    hist_init(&s->h_queue, "exaone_queue_time_seconds", "Arrival to admission into a slot.", b_ttft, 12);
    hist_init(&s->h_e2e, "exaone_request_latency_seconds", "Arrival to the last token.", b_e2e, 12);
    static const double b_step[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    hist_init(&s->h_step, "exaone_step_seconds", "Duration of one batched forward step (exa_context_decode).", b_step, 12);
    hist_init(&s->h_tpot, "exaone_time_per_output_token_seconds", "Mean time between generated tokens of a request.", b_tpot, 12);

    exa_status st;
    exa_model_params mp = exa_model_default_params();
    mp.quant = pp->quant;
    mp.lora_dir = pp->lora_dir;
    if ((st = exa_model_load(pp->model_dir, &mp, &s->model, err, err_size)) != EXA_OK) { server_free(s); return st; }
    if ((st = exa_tokenizer_load(pp->model_dir, &s->tok, err, err_size)) != EXA_OK) { server_free(s); return st; }
    if ((st = exa_chat_template_load(pp->model_dir, EXA_CHAT_AUTO, &s->tmpl, err, err_size)) != EXA_OK) { server_free(s); return st; }
    exa_model_info info;
    exa_model_get_info(s->model, &info);
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = s->p.n_ctx;
    cp.n_seq = s->p.n_parallel;
    cp.n_batch = s->p.n_batch;
    cp.n_threads = s->p.n_threads;
    cp.kv_type = s->p.kv_type;
    if ((st = exa_context_init(s->model, &cp, &s->ctx, err, err_size)) != EXA_OK) { server_free(s); return st; }
    const char *name = pp->model_name;
    if (!name) {
        size_t l = strlen(pp->model_dir);
        while (l > 1 && pp->model_dir[l - 1] == '/') l--;
        const char *b = pp->model_dir + l;
        while (b > pp->model_dir && b[-1] != '/') b--;
        s->model_name = strndup(b, (size_t)(pp->model_dir + l - b));
    } else s->model_name = strdup(name);
    if (pp->n_indexes > 0) { /* "NAME=PATH" document indexes, opened read-only */
        s->env.indexes = calloc((size_t)pp->n_indexes, sizeof *s->env.indexes);
        if (!s->env.indexes) { server_free(s); return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory"); }
        for (int i = 0; i < pp->n_indexes; i++) {
            const char *spec = pp->indexes[i], *eq = strchr(spec, '=');
            if (!eq || eq == spec || !eq[1]) { server_free(s); return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "--index '%s': expected NAME=PATH", spec); }
            exa_index_params ip = exa_index_default_params();
            ip.read_only = 1;
            srv_index *x = &s->env.indexes[s->env.n_indexes];
            if ((st = exa_index_open(eq + 1, &ip, &x->idx, err, err_size)) != EXA_OK) { server_free(s); return st; }
            x->name = strndup(spec, (size_t)(eq - spec));
            pthread_mutex_init(&x->mu, NULL);
            s->env.n_indexes++;
        }
    }
    s->env.tok = s->tok;
    s->env.tmpl = s->tmpl;
    s->env.model_name = s->model_name;
    s->env.n_ctx = cp.n_ctx > 0 ? cp.n_ctx : EXA_MIN(info.n_ctx_train > 0 ? info.n_ctx_train : 4096, 4096);
    s->env.n_vocab = exa_context_n_vocab(s->ctx);
    s->env.eos = exa_tokenizer_eos(s->tok) >= 0 ? exa_tokenizer_eos(s->tok) : info.eos_id;
    if (exa_tokenizer_n_vocab(s->tok) > s->env.n_vocab) {
        exa_err(err, err_size, EXA_ERR_CONFIG, "%s: the tokenizer has %d tokens but the model only %d", pp->model_dir, exa_tokenizer_n_vocab(s->tok), s->env.n_vocab);
        server_free(s);
        return EXA_ERR_CONFIG;
    }
    s->n_slots = s->p.n_parallel;
    s->n_batch = s->p.n_batch;
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    s->queue = calloc((size_t)s->p.max_queue, sizeof *s->queue);
    s->b_tok = calloc((size_t)s->n_batch, sizeof *s->b_tok);
    s->b_pos = calloc((size_t)s->n_batch, sizeof *s->b_pos);
    s->b_seq = calloc((size_t)s->n_batch, sizeof *s->b_seq);
    s->b_want = calloc((size_t)s->n_batch, sizeof *s->b_want);
    s->b_slot = calloc((size_t)s->n_batch, sizeof *s->b_slot);
    if (!s->model_name || !s->slots || !s->queue || !s->b_tok || !s->b_pos || !s->b_seq || !s->b_want || !s->b_slot) {
        server_free(s);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory");
    }
    if (pthread_create(&s->th, NULL, sched_main, s) != 0) { server_free(s); return exa_err(err, err_size, EXA_ERR_NOMEM, "cannot start the scheduler thread"); }
    s->th_started = 1;

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", s->p.port);
    int gai = getaddrinfo(s->p.host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        server_free(s);
        return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "cannot resolve host '%s': %s", pp->host, gai_strerror(gai));
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(flags, (uint16_t)s->p.port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        int e = errno;
        server_free(s);
        return exa_err(err, err_size, EXA_ERR_IO, "cannot listen on %s:%d: %s", pp->host, pp->port, e ? strerror(e) : "libmicrohttpd failed to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->p.port;
    *out = s;
    return EXA_OK;
}

void exa_server_shutdown(exa_server *s, double drain_seconds) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
    MHD_socket fd = MHD_quiesce_daemon(s->d);   /* stop accepting new connections */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double end = exa_time_now() + drain_seconds;
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0) {
        if (exa_time_now() >= end) {   /* out of patience: cancel what is left */
            while (s->q_n > 0) cancel_locked(s, s->queue[0]);
            for (int i = 0; i < s->n_slots; i++) if (s->slots[i].req) cancel_locked(s, s->slots[i].req);
            end = exa_time_now() + 5;
            drain_seconds = -1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&s->idle_cv, &s->mu, &ts);
        if (drain_seconds < 0 && exa_time_now() >= end) break;
    }
    pthread_mutex_unlock(&s->mu);
    server_free(s);
}
