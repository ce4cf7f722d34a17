/* exaone.h — the public API of libexaone: load EXAONE checkpoints (Hugging Face folders),
 * run them (batched prompt processing, KV-cached decoding, several sequences at once) and sample.
 *
 * Conventions (ggml/SQLite style):
 *  - every name is exa_<noun>_<verb>; handles are opaque; every *_init/_load has a *_free that
 *    accepts NULL;
 *  - functions return exa_status; a handle's last error message is exa_<noun>_errmsg(handle);
 *    constructors that fail before a handle exists write their message to a caller buffer;
 *  - parameters come as structs from exa_<noun>_default_params();
 *  - the library never calls exit() and never prints unless a log callback is installed.
 */
#ifndef EXAONE_H
#define EXAONE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------------------------ */
typedef enum exa_status {
    EXA_OK = 0,
    EXA_ERR_INVALID_ARG,  /* a caller passed something out of range */
    EXA_ERR_IO,           /* a file is missing or unreadable */
    EXA_ERR_FORMAT,       /* a file is malformed (safetensors, GGUF, JSON, ...) */
    EXA_ERR_CONFIG,       /* config.json is missing fields or contradicts itself */
    EXA_ERR_NOMEM,        /* an allocation failed or would be absurdly large */
    EXA_ERR_UNSUPPORTED,  /* valid input this build cannot handle (e.g. unknown architecture) */
    EXA_ERR_ABORTED,      /* a progress/abort callback asked to stop */
    EXA_ERR_FULL,         /* a context or a sequence ran out of room */
} exa_status;

const char *exa_status_str(exa_status s);

/* Progress callback: progress in [0,1]; return 0 to abort the operation (EXA_ERR_ABORTED). */
typedef int (*exa_progress_cb)(float progress, void *user);

/* ---- model ------------------------------------------------------------------------------- */
typedef struct exa_model exa_model;

typedef enum exa_arch { EXA_ARCH_EXAONE = 1, EXA_ARCH_EXAONE4 = 2 } exa_arch;

typedef struct exa_model_params {
    int use_mmap;               /* 1: map weights read-only where the compute path allows (default 1) */
    exa_progress_cb progress;   /* optional: called while loading */
    void *progress_user;
} exa_model_params;

exa_model_params exa_model_default_params(void);

/* Loads a Hugging Face model folder (config.json + model.safetensors or a sharded
 * model.safetensors.index.json). On failure *out is NULL and err (if not NULL) holds one line
 * naming the file and the problem. */
exa_status exa_model_load(const char *path, const exa_model_params *params, exa_model **out,
                          char *err, size_t err_size);
void exa_model_free(exa_model *model);

typedef struct exa_model_info {
    exa_arch arch;
    const char *arch_name;      /* "exaone" or "exaone4" */
    const char *weight_dtype;   /* dominant stored dtype: "f32", "bf16", "f16", ... */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int n_ctx_train;            /* max_position_embeddings */
    int sliding_window;         /* 0 = none */
    int n_sliding_layers;       /* layers with sliding-window attention */
    int tied_embeddings;
    float rope_theta;
    int rope_llama3;            /* llama3 frequency scaling in use */
    int bos_id, eos_id, pad_id; /* from config.json (EXAONE: 1, 361 [|endofturn|], 0) */
    int64_t n_params;
    int64_t weight_bytes;       /* bytes of weights as stored */
    double load_seconds;
} exa_model_info;

void exa_model_get_info(const exa_model *model, exa_model_info *info);

/* ---- inference context: KV cache + scratch for up to n_seq sequences --------------------- */
typedef struct exa_context exa_context;

typedef struct exa_context_params {
    int n_ctx;      /* max positions per sequence (default: min(n_ctx_train, 4096)) */
    int n_batch;    /* max tokens per exa_context_decode call (default 512) */
    int n_seq;      /* independent sequences sharing the weights (default 1) */
    int n_threads;  /* worker threads (default: all cores) */
} exa_context_params;

exa_context_params exa_context_default_params(void);
exa_status exa_context_init(exa_model *model, const exa_context_params *params, exa_context **out,
                            char *err, size_t err_size);
void exa_context_free(exa_context *ctx);
const char *exa_context_errmsg(const exa_context *ctx);

/* A batch of tokens, possibly from several sequences. Token i goes to sequence seq[i] at
 * position pos[i]; a sequence's positions must continue exactly where it stopped
 * (exa_context_seq_len). want_logits[i] != 0 asks for that token's logits (NULL: last only). */
typedef struct exa_batch {
    int n_tokens;
    const int32_t *token;
    const int32_t *pos;
    const int32_t *seq;
    const int8_t *want_logits;
} exa_batch;

exa_status exa_context_decode(exa_context *ctx, const exa_batch *batch);
/* Logits (n_vocab floats) of token i of the last batch (i < 0 counts from the end: -1 is the
 * last token), or NULL if they were not requested. */
const float *exa_context_logits(const exa_context *ctx, int i);

/* Convenience: append n tokens to sequence seq; all_logits != 0 keeps logits for every token,
 * else only for the last. */
exa_status exa_context_eval(exa_context *ctx, int seq, const int32_t *tokens, int n, int all_logits);

int exa_context_seq_len(const exa_context *ctx, int seq);
void exa_context_seq_reset(exa_context *ctx, int seq);
/* Keeps the first n positions of a sequence (e.g. to re-generate from there). Fails with
 * EXA_ERR_INVALID_ARG if sliding-window layers no longer hold the keys position n would need
 * (possible only when more than n_batch positions past n were evaluated). */
exa_status exa_context_seq_truncate(exa_context *ctx, int seq, int n);
/* Makes sequence dst a copy of the first n positions of sequence src (prompt-prefix reuse:
 * evaluate a shared system prompt once, copy it into each new request's sequence). Same
 * sliding-window condition as exa_context_seq_truncate. */
exa_status exa_context_seq_copy(exa_context *ctx, int src, int dst, int n);
int exa_context_n_vocab(const exa_context *ctx);

/* ---- sampling ---------------------------------------------------------------------------- */
typedef struct exa_sampler exa_sampler;

typedef struct exa_sampler_params {
    float temperature;     /* <= 0: greedy (default 0) */
    int top_k;             /* 0: off */
    float top_p;           /* 1: off */
    float min_p;           /* 0: off */
    float repeat_penalty;  /* 1: off (CTRL-style: divide positive logits, multiply negative) */
    int repeat_last_n;     /* how many recent tokens the penalty looks at (default 64) */
    uint64_t seed;         /* same seed, same output */
} exa_sampler_params;

exa_sampler_params exa_sampler_default_params(void);
exa_sampler *exa_sampler_init(const exa_sampler_params *params, int n_vocab);
void exa_sampler_free(exa_sampler *s);
/* Picks a token from logits (not modified). */
int32_t exa_sampler_sample(exa_sampler *s, const float *logits);
/* Records a token of the history (prompt and generated) for the repetition penalty. */
void exa_sampler_accept(exa_sampler *s, int32_t token);
void exa_sampler_reset(exa_sampler *s);

#ifdef __cplusplus
}
#endif
#endif /* EXAONE_H */
