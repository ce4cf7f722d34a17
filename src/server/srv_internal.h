/* srv_internal.h — shared structures of the OpenAI-compatible server (src/server/):
 *  - srv_env: what every part reads and nobody changes after start (tokenizer, template, limits);
 *  - srv_req: one generation request. The HTTP side fills the "input" part (request.c) before the
 *    request is queued; afterwards only the scheduler thread touches the "generation" part
 *    (output.c, sched.c); the "shared" part is guarded by exa_server.mu;
 *  - the token -> text -> OpenAI JSON pipeline (output.c) is engine-free so unit tests can drive it.
 * http.c owns the HTTP layer (libmicrohttpd), sched.c the context and the continuous batching. */
#ifndef EXA_SRV_INTERNAL_H
#define EXA_SRV_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "exaone.h"
#include "server/server.h"

#define SRV_MAX_STOP 16
#define SRV_MAX_TOP_LOGPROBS 20

typedef struct srv_buf { char *p; size_t n, cap; } srv_buf;
int srv_buf_add(srv_buf *b, const char *s, size_t n);   /* 0 ok, -1 out of memory */
int srv_buf_addf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_buf_free(srv_buf *b);

/* A document index a request may name (`exaone serve --index NAME=DB`); one handle per index,
 * used by one thread at a time. */
typedef struct srv_index {
    char *name;
    exa_index *idx;
    pthread_mutex_t mu;
} srv_index;

typedef struct srv_env {
    srv_index *indexes;
    int n_indexes;
    const exa_tokenizer *tok;
    const exa_chat_template *tmpl;
    const char *model_name;
    int n_ctx, n_vocab;
    int32_t eos;             /* [|endofturn|] for EXAONE */
} srv_env;

/* An OpenAI-style error: HTTP status + {"error": {"message", "type", "param", "code"}}. */
typedef struct srv_err {
    int status;
    char message[512];
    const char *type, *param, *code;
} srv_err;
void srv_err_set(srv_err *e, int status, const char *type, const char *param, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
char *srv_err_json(const srv_err *e);   /* malloc'd body */

enum { SRV_CHAT = 1, SRV_COMPLETION = 2 };
enum { SRV_QUEUED = 0, SRV_RUNNING = 1, SRV_DONE = 2 };

typedef struct srv_req {
    /* ---- input (request.c; read-only once queued) ---- */
    int kind;
    int stream, include_usage;
    int32_t *prompt; int n_prompt;
    int max_tokens;                 /* already clamped to the context */
    exa_sampler_params sp;
    int logprobs, top_logprobs;     /* logprobs: 0/1; top: 0..20 */
    char *stop[SRV_MAX_STOP]; int n_stop;
    int reasoning_open, parse_tools;
    char id[48];                    /* chatcmpl-… / cmpl-… */
    char tool_prefix[24];
    json_object *sources;           /* grounded chat ("index"): passages given to the model, or NULL */
    int64_t created;
    double t_arrive;                /* exa_time_now() when parsed */
    /* ---- shared (exaone_server.mu) ---- */
    int refs, state, cancelled;
    pthread_cond_t cv;
    srv_buf out;                    /* stream: SSE bytes not yet sent; else the final body */
    size_t out_sent;
    int http_status;                /* non-stream result status (200, or 500 on engine error) */
    int sock;                       /* client socket, to notice a hang-up while waiting */
    /* ---- generation (scheduler thread only) ---- */
    int slot, n_fed;                /* n_fed: prompt tokens already in the KV cache */
    int n_cached;                   /* prompt tokens reused from an earlier request */
    int n_gen;                      /* sampled tokens (eos included) */
    int32_t next_tok;               /* sampled, not yet fed */
    exa_sampler *sampler;
    exa_detok *detok;
    exa_chat_parser *parser;
    srv_buf text;                   /* completion: all decoded text */
    size_t emitted;                 /* completion: bytes of text already sent */
    srv_buf content, reasoning;     /* totals for the final body */
    json_object *tool_calls;        /* array of complete tool calls */
    json_object *lp;                /* logprobs of all tokens (non-stream) */
    json_object *lp_pend;           /* logprobs not yet attached to a stream chunk */
    int sent_role;
    const char *finish;             /* "stop" / "length" / "tool_calls" once finished */
    double t_first;                 /* time of the first sampled token */
    srv_buf pend;                   /* bytes produced this step, moved to out under the lock */
} srv_req;

/* request.c: parse and validate a request body into a new srv_req (refs = 1). Returns NULL with
 * *e filled (400 …) on any problem. */
srv_req *srv_parse_chat(const srv_env *env, const char *body, size_t len, srv_err *e);
srv_req *srv_parse_completion(const srv_env *env, const char *body, size_t len, srv_err *e);
void srv_req_free(srv_req *r);
/* Grounded retrieval shared by /v1/retrieve and chat "index": looks up the index by name and
 * searches it (k passages, best first, relevance-cut). Returns 0 and fills *res, or -1 with *e. */
int srv_retrieve(const srv_env *env, const char *index, const char *query, int k, exa_search_result *res, int *n_keep,
                 srv_err *e);
/* Body helpers shared with http.c: parse JSON (object required). */
json_object *srv_parse_json_object(const char *body, size_t len, srv_err *e);

/* output.c: the generation pipeline of one request (scheduler thread). */
int srv_gen_begin(const srv_env *env, srv_req *r);   /* 0 ok, -1 out of memory */
/* Handles one sampled token (logits: the distribution it came from, for logprobs; may be NULL
 * when logprobs are off). Returns 1 when the request is finished (r->finish set). */
int srv_gen_token(const srv_env *env, srv_req *r, int32_t tok, const float *logits);
/* Ends the request with the given reason ("stop"/"length"), flushing held-back text and
 * writing the final chunk or body into r->pend. */
void srv_gen_finish(const srv_env *env, srv_req *r, const char *reason);
/* An engine failure: writes an error event / body and marks the request 500. */
void srv_gen_fail(srv_req *r, const char *msg);

#endif
