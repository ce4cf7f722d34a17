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

/* ---- quant: weight formats chosen at load or for `exaone quantize` (docs/quant.md) ---- */
typedef enum exa_quant_type {
    EXA_QUANT_NONE = 0,  /* keep the stored dtypes */
    EXA_QUANT_F32, EXA_QUANT_F16, EXA_QUANT_BF16,
    EXA_QUANT_Q8_0,      /* 8.5 bits/weight, ggml Q8_0 */
    EXA_QUANT_Q4_0,      /* 4.5 bits/weight, ggml Q4_0 (every matrix) */
    EXA_QUANT_Q4_K,      /* 4.5 bits/weight, ggml Q4_K (every matrix) */
    EXA_QUANT_Q5_K,      /* 5.5 bits/weight, ggml Q5_K (every matrix) */
    EXA_QUANT_Q6_K,      /* 6.56 bits/weight, ggml Q6_K (every matrix) */
    EXA_QUANT_Q4_K_M,    /* llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output matrix and for
                            attn_v / ffn_down of the layers llama.cpp's use_more_bits picks */
} exa_quant_type;
/* "q8"/"q8_0", "q4"(= q4_K_M), "q4_0", "q4_K", "q4_K_M", "q5_K", "q6_K", "f16", "bf16", "f32";
 * case-insensitive; 1 on success */
int exa_quant_type_from_name(const char *name, exa_quant_type *out);
const char *exa_quant_type_name(exa_quant_type t);
/* Writes the model at `in` (HF folder or GGUF) as a GGUF file llama.cpp loads, its matrices
 * converted to `type` (EXA_QUANT_NONE: as stored) exactly as --quant would; HF folders also give
 * the tokenizer (tokenizer.json or vocab.json + merges.txt) and chat template metadata, written
 * as llama.cpp's converter does (tokenizer.ggml.*, tokenizer.chat_template); a GGUF input keeps
 * its tokenizer.* keys. */
exa_status exa_gguf_export(const char *in, const char *out_path, exa_quant_type type, exa_progress_cb progress,
                           void *user, char *err, size_t err_size);
/* ---- end quant ---- */

typedef struct exa_model_params {
    int use_mmap;               /* 1: map weights read-only where the compute path allows (default 1) */
    exa_progress_cb progress;   /* optional: called while loading */
    void *progress_user;
    exa_quant_type quant;       /* convert matrices (not norms) at load (default EXA_QUANT_NONE) */
    const char *lora_dir;       /* optional: a PEFT LoRA adapter folder merged in at load (W + (alpha/r)·B·A;
                                   the adapted matrices become owned copies in the base dtype) */
    int keep_layout;            /* 1: no repacking of quantized matrices for this CPU's fastest kernels
                                   (tools that only read the weights, e.g. export); default 0 */
} exa_model_params;

exa_model_params exa_model_default_params(void);

/* Loads a Hugging Face model folder (config.json + model.safetensors or a sharded
 * model.safetensors.index.json), or a GGUF file (llama.cpp's exaone/exaone4 layout, spec §6), or
 * a folder holding exactly one .gguf and no safetensors. On failure *out is NULL and err (if not
 * NULL) holds one line naming the file and the problem. */
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
    int64_t repacked_bytes;     /* bytes of weights repacked at load for this CPU's kernels (0: none) */
    double load_seconds;
} exa_model_info;

void exa_model_get_info(const exa_model *model, exa_model_info *info);

/* ---- inference context: KV cache + scratch for up to n_seq sequences --------------------- */
typedef struct exa_context exa_context;

/* ---- kv cache type ---- */
/* Element type of the KV cache. F16 is the default (as llama.cpp's): half of F32's memory and
 * bandwidth, keys/values rounded to nearest-even binary16. BF16: same size, 8-bit mantissa.
 * Q8_0: ggml's block_q8_0 (32 int8 + an f16 scale per 32 values, 8.5 bits a value), blocks
 * within one head vector (head_dim 80: 32 + 32 + a zero-padded 16). F32 is exact (the parity
 * tests against the torch reference use it). Attention always computes in f32; cached rows are
 * widened on the fly. See docs/kv-cache.md. */
typedef enum exa_kv_type { EXA_KV_F16 = 0, EXA_KV_F32 = 1, EXA_KV_BF16 = 2, EXA_KV_Q8_0 = 3 } exa_kv_type;
const char *exa_kv_type_name(exa_kv_type t);                 /* "f16", "f32", "bf16", "q8_0"; "?" */
int exa_kv_type_from_name(const char *name, exa_kv_type *out); /* case-insensitive; 1 on success */
/* bytes of one position's keys (or values) for n_heads KV heads of head_dim (0: bad type) */
size_t exa_kv_type_bytes(exa_kv_type t, int n_heads, int head_dim);
/* ---- end kv cache type ---- */

typedef struct exa_context_params {
    int n_ctx;      /* max positions per sequence (default: min(n_ctx_train, 4096)) */
    int n_batch;    /* max tokens per exa_context_decode call (default 512) */
    int n_seq;      /* independent sequences sharing the weights (default 1) */
    int n_threads;  /* worker threads (default: all cores) */
    exa_kv_type kv_type; /* KV cache element type (default EXA_KV_F16, also when zero-initialised) */
} exa_context_params;

exa_context_params exa_context_default_params(void);
exa_status exa_context_init(exa_model *model, const exa_context_params *params, exa_context **out,
                            char *err, size_t err_size);
void exa_context_free(exa_context *ctx);
const char *exa_context_errmsg(const exa_context *ctx);
/* bytes allocated for the KV cache of all sequences and layers */
size_t exa_context_kv_bytes(const exa_context *ctx);

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
/* Bytes of keys and values the attention of one token reads from the cache (all layers) when
 * its sequence holds n_pos positions (itself included): what decoding streams besides the
 * weights (benchmarks count it in the bandwidth roofline). */
size_t exa_context_kv_read_bytes(const exa_context *ctx, int n_pos);
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

/* ---- tokenizer (src/tokenizer/, docs/tokenizer.md) --------------------------------------- */
/* Byte-level BPE tokenizer, id-for-id identical to Hugging Face `tokenizers` on valid UTF-8.
 * Thread-safe: one exa_tokenizer may be used from many threads at once. */
typedef struct exa_tokenizer exa_tokenizer;

/* How to pre-tokenize when the folder has no tokenizer.json (tokenizer.json says it itself). */
typedef enum exa_pretok {
    EXA_PRETOK_AUTO = 0,     /* from the vocabulary: EXAONE 3.x (no <think> token) -> DIGITS_GPT2,
                                EXAONE 4.0 and anything else -> GPT2 */
    EXA_PRETOK_GPT2 = 1,     /* ByteLevel GPT-2 regex only (EXAONE 4.0) */
    EXA_PRETOK_DIGITS_GPT2 = 2, /* every numeric char alone, then the GPT-2 regex (EXAONE 3.x) */
} exa_pretok;

/* Loads tokenizer.json from a model folder (or a path to a tokenizer.json file), else
 * vocab.json + merges.txt + tokenizer_config.json (added tokens and their flags). The folder's
 * tokenizer_config.json also gives bos/eos/pad. A .gguf (or a folder holding exactly one .gguf and
 * no safetensors) gives its own tokenizer.ggml.* metadata (llama.cpp's converter layout), else the
 * tokenizer files next to it; pretok != AUTO overrides tokenizer.ggml.pre. */
exa_status exa_tokenizer_load(const char *path, exa_tokenizer **out, char *err, size_t err_size);
exa_status exa_tokenizer_load_ex(const char *path, exa_pretok pretok, exa_tokenizer **out, char *err,
                                 size_t err_size);
void exa_tokenizer_free(exa_tokenizer *tok);

/* Encodes len bytes of UTF-8 (invalid sequences are first replaced by U+FFFD, one per maximal
 * subpart, like a JavaScript/Rust lossy decode). add_special adds what the tokenizer's
 * post-processor / config asks for (nothing for EXAONE). Writes at most cap ids; *n_out is the
 * total count; returns EXA_ERR_FULL (with *n_out = the count needed) when cap is too small. */
exa_status exa_tokenizer_encode(const exa_tokenizer *tok, const char *text, size_t len, int add_special,
                                int32_t *out, size_t cap, size_t *n_out);
/* Same, into a malloc'd array the caller frees. */
exa_status exa_tokenizer_encode_alloc(const exa_tokenizer *tok, const char *text, size_t len, int add_special,
                                      int32_t **out, size_t *n_out);

/* Decodes ids to UTF-8 like HF decode(ids, skip_special_tokens): invalid UTF-8 -> U+FFFD; unknown
 * ids are skipped; skip_special drops special tokens but keeps non-special added tokens. Writes at
 * most cap bytes plus a NUL when room; *n_out = the full length; EXA_ERR_FULL when cap <= length. */
exa_status exa_tokenizer_decode(const exa_tokenizer *tok, const int32_t *ids, size_t n, int skip_special,
                                char *out, size_t cap, size_t *n_out);
/* Same, into a malloc'd NUL-terminated string. */
exa_status exa_tokenizer_decode_alloc(const exa_tokenizer *tok, const int32_t *ids, size_t n, int skip_special,
                                      char **out, size_t *n_out);

int exa_tokenizer_n_vocab(const exa_tokenizer *tok);
/* The token's string as HF id_to_token gives it (byte-level form, e.g. "Ġworld"), or NULL. */
const char *exa_tokenizer_token_text(const exa_tokenizer *tok, int32_t id);
/* The raw bytes the token decodes to (*len bytes, maybe a partial UTF-8 character), or NULL. */
const char *exa_tokenizer_token_bytes(const exa_tokenizer *tok, int32_t id, size_t *len);
/* id of a token string (added tokens first, then the vocabulary), or -1. */
int32_t exa_tokenizer_token_id(const exa_tokenizer *tok, const char *text);
int exa_tokenizer_is_special(const exa_tokenizer *tok, int32_t id);  /* special added token */
int exa_tokenizer_is_added(const exa_tokenizer *tok, int32_t id);    /* any added token */
int32_t exa_tokenizer_eos(const exa_tokenizer *tok);  /* -1 when unknown; EXAONE: 361 */
int32_t exa_tokenizer_bos(const exa_tokenizer *tok);
int32_t exa_tokenizer_pad(const exa_tokenizer *tok);
exa_pretok exa_tokenizer_pretok(const exa_tokenizer *tok);  /* the pre-tokenizer in use */

/* Streaming detokenizer: push ids as they are generated, get text that never ends inside a UTF-8
 * character; what cannot become valid is replaced by U+FFFD as soon as that is certain, and flush
 * replaces an unfinished tail. The concatenation of all outputs equals exa_tokenizer_decode. */
typedef struct exa_detok exa_detok;
exa_detok *exa_detok_init(const exa_tokenizer *tok, int skip_special);
/* Returns a pointer to the newly complete text (*len bytes, NUL-terminated; valid until the next
 * call), or NULL on allocation failure. */
const char *exa_detok_push(exa_detok *d, int32_t id, size_t *len);
const char *exa_detok_flush(exa_detok *d, size_t *len);
void exa_detok_free(exa_detok *d);

/* Trains a byte-level BPE tokenizer (HF BpeTrainer semantics, EXAONE pre-tokenization and added
 * tokens) on text files and writes DIR/tokenizer.json (+ tokenizer_config.json). */
typedef struct exa_bpe_train_params {
    int vocab_size;            /* total, including added tokens and the 256 byte tokens */
    int min_frequency;         /* pairs seen fewer times are not merged (default 2) */
    exa_pretok pretok;         /* EXA_PRETOK_GPT2 (default) or EXA_PRETOK_DIGITS_GPT2 */
    int added_tokens;          /* 1 (default): EXAONE-style added tokens (ids 0-53: [PAD] [BOS] [EOS]
                                  [UNK], 31..2 spaces, 9..2 tabs, <|endoftext|>, [|endofturn|], role,
                                  think and tool tokens), split out before counting; 0: none (plain
                                  HF BpeTrainer behaviour) */
    int initial_alphabet;      /* 1 (default): all 256 byte tokens even if unseen */
    exa_progress_cb progress; void *progress_user;
} exa_bpe_train_params;
exa_bpe_train_params exa_bpe_train_default_params(void);
exa_status exa_bpe_train(const char *const *files, int n_files, const exa_bpe_train_params *params,
                         const char *out_dir, char *err, size_t err_size);
/* ---- end tokenizer ------------------------------------------------------------------------ */
/* ---- chat: templates and output parsing (src/chat/, docs/chat.md) ------------------------
 * Native renderers for the EXAONE chat templates, byte-identical to Hugging Face's
 * apply_chat_template with the official Jinja templates (REF: spec §8), and a streaming parser
 * that splits model output into reasoning, answer and tool calls and detects stop strings.
 * Messages and tools are json-c values (OpenAI request shape), declared opaquely here. */
struct json_object;

typedef enum exa_chat_kind {
    EXA_CHAT_AUTO = 0,     /* (load) identify from the model folder */
    EXA_CHAT_EXAONE3 = 1,  /* EXAONE 3.0 / 3.5: [|role|]content, no tools, no reasoning */
    EXA_CHAT_DEEP = 2,     /* EXAONE Deep: <thought> reasoning opened by the prompt */
    EXA_CHAT_EXAONE4 = 3,  /* EXAONE 4.0: <think> reasoning (enable_thinking), tools */
} exa_chat_kind;

const char *exa_chat_kind_name(exa_chat_kind kind);          /* "exaone3", "exaone-deep", "exaone4" */
/* Parses "exaone3"/"exaone3.5"/"exaone-deep"/"deep"/"exaone4"/"exaone4.0"; 0 (AUTO) if unknown. */
exa_chat_kind exa_chat_kind_from_name(const char *name);

typedef struct exa_chat_template exa_chat_template;

/* Finds and identifies the chat template of a model folder: chat_template.jinja, else
 * tokenizer_config.json "chat_template" (a string, or a list of {name, template} of which
 * "default" is used), else a fallback from config.json model_type ("exaone4" -> 4.0;
 * "exaone" -> Deep when the model name says Deep, else 3.x) or the tokenizer vocabulary.
 * A template whose text is not one of the known EXAONE templates (compared after Jinja
 * whitespace control, so re-indented copies still match) is an error (EXA_ERR_UNSUPPORTED)
 * naming the file, unless force != EXA_CHAT_AUTO, which uses that built-in renderer.
 * A .gguf (or a folder holding exactly one .gguf and no safetensors): its tokenizer.chat_template,
 * else the template files next to it, else general.architecture (exaone4 / exaone; Deep when
 * general.name says Deep). */
exa_status exa_chat_template_load(const char *dir, exa_chat_kind force, exa_chat_template **out,
                                  char *err, size_t err_size);
/* Same identification for template text found elsewhere (e.g. GGUF tokenizer.chat_template);
 * origin names it in error messages. */
exa_status exa_chat_template_from_text(const char *jinja, const char *origin, exa_chat_kind force,
                                       exa_chat_template **out, char *err, size_t err_size);
/* A built-in template of the given kind (never fails for a valid kind; NULL otherwise). */
exa_chat_template *exa_chat_template_builtin(exa_chat_kind kind);
void exa_chat_template_free(exa_chat_template *t);
exa_chat_kind exa_chat_template_kind(const exa_chat_template *t);
/* Where the template came from, e.g. "chat_template.jinja (official EXAONE 4.0 template)". */
const char *exa_chat_template_describe(const exa_chat_template *t);

typedef struct exa_chat_render_opts {
    int add_generation_prompt;  /* default 1 */
    int enable_thinking;        /* 4.0: open <think> in the generation prompt (default 0) */
    int skip_think;             /* 4.0: drop reasoning of the last assistant turn (default 1) */
    int parse_string_arguments; /* 4.0: tool_calls[].function.arguments given as a JSON string
                                   (OpenAI shape) is decoded first, as vLLM does (default 1);
                                   0 renders it as a JSON string, as raw Jinja would */
} exa_chat_render_opts;

exa_chat_render_opts exa_chat_render_default_opts(void);

/* Renders messages (a JSON array of {role, content, ...}) and tools (NULL or a JSON array of
 * OpenAI tool objects) into the prompt text. *out is malloc'd and NUL-terminated. Errors where
 * the Jinja template would raise (unknown role in 4.0, missing/non-string content in 3.x,
 * tool call without arguments, ...) with one line in err. Content given as a list of parts
 * ({"type":"text","text":...}) is joined with "\n" first (vLLM does the same). */
exa_status exa_chat_render(const exa_chat_template *t, const struct json_object *messages,
                           const struct json_object *tools, const exa_chat_render_opts *opts,
                           char **out, size_t *out_len, char *err, size_t err_size);
/* Same with JSON text (tools_json may be NULL). */
exa_status exa_chat_render_json(const exa_chat_template *t, const char *messages_json,
                                const char *tools_json, const exa_chat_render_opts *opts,
                                char **out, size_t *out_len, char *err, size_t err_size);
/* Whether a prompt rendered with opts ends inside an open reasoning block (Deep with a
 * generation prompt; 4.0 with enable_thinking) — pass it to the parser. */
int exa_chat_prompt_opens_reasoning(const exa_chat_template *t, const exa_chat_render_opts *opts);

/* Output parser. Feed decoded text as it arrives (any split, even inside a UTF-8 character or
 * a tag); each call reports what became final. Text that may be the start of a stop string or
 * of a tag is held back until it is decided. Emitted text is always valid UTF-8 (invalid bytes
 * and NUL bytes become U+FFFD). Leading/trailing whitespace of the reasoning and of the answer is dropped. */
typedef struct exa_chat_parser exa_chat_parser;

typedef struct exa_chat_parser_params {
    exa_chat_kind kind;          /* EXAONE3: no reasoning/tools; DEEP: <thought>; EXAONE4: <think>, tools */
    int reasoning_open;          /* the prompt already opened the reasoning block */
    int parse_tool_calls;        /* 4.0: turn <tool_call>{...}</tool_call> into tool calls (default 1) */
    const char *const *stop;     /* extra stop strings (besides "[|endofturn|]"), may be NULL */
    int n_stop;
    const char *tool_id_prefix;  /* tool call ids are prefix + index (default "call_") */
} exa_chat_parser_params;

exa_chat_parser_params exa_chat_parser_default_params(exa_chat_kind kind);

typedef struct exa_chat_delta {
    const char *reasoning;  size_t reasoning_len;   /* new reasoning text */
    const char *content;    size_t content_len;     /* new answer text */
    /* New complete tool calls, as a JSON array of OpenAI objects {"id", "type": "function",
     * "function": {"name", "arguments": "<JSON text>"}}; NULL when none completed. */
    const char *tool_calls_json;
    int n_tool_calls;
    int stopped;            /* a stop string was seen: nothing more will be produced */
    const char *stop_string;/* which one (NULL if none / at finish) */
} exa_chat_delta;

exa_status exa_chat_parser_init(const exa_chat_parser_params *params, exa_chat_parser **out);
void exa_chat_parser_free(exa_chat_parser *p);
/* Pointers in *delta stay valid until the next feed/finish/free. */
exa_status exa_chat_parser_feed(exa_chat_parser *p, const char *text, size_t len, exa_chat_delta *delta);
/* End of generation: releases held-back text (an unfinished tool call becomes answer text). */
exa_status exa_chat_parser_finish(exa_chat_parser *p, exa_chat_delta *delta);
/* Totals so far: all reasoning, all answer text, all tool calls (JSON array, "[]" if none). */
const char *exa_chat_parser_reasoning(const exa_chat_parser *p);
const char *exa_chat_parser_content(const exa_chat_parser *p);
const char *exa_chat_parser_tool_calls(const exa_chat_parser *p);
int exa_chat_parser_n_tool_calls(const exa_chat_parser *p);

/* Whole-text convenience: parses a complete output. Each out string is malloc'd (free()). */
typedef struct exa_chat_parsed {
    char *reasoning;
    char *content;
    char *tool_calls_json;  /* JSON array, "[]" if none */
    int n_tool_calls;
    int stopped;
} exa_chat_parsed;

exa_status exa_chat_parse(const exa_chat_parser_params *params, const char *text, size_t len,
                          exa_chat_parsed *out);
void exa_chat_parsed_free(exa_chat_parsed *r);
/* ---- end chat ---------------------------------------------------------------------------- */
/* ---- retrieval: document index and search (src/retrieval/, docs/retrieval.md) ----------- */
/* A document index is one SQLite file (WAL mode): documents (path, title, mtime, size, content
 * hash), chunks (page, byte offsets, text) and a full-text index whose terms come from our own
 * Korean/English term extractor. Re-adding an unchanged file costs a stat(); a changed file is
 * replaced; every file is ingested in its own transaction, so a killed run leaves a consistent
 * database and a re-run completes the work. The library never prints: warnings about skipped
 * files go to a callback. */
typedef struct exa_index exa_index;

typedef enum exa_index_terms {
    EXA_TERMS_KOREAN = 0,  /* default: josa/eomi-stripped words + Hangul bigrams + English stems */
    EXA_TERMS_WORDS = 1,   /* baseline: case-folded words split at spaces and punctuation */
    EXA_TERMS_BIGRAMS = 2, /* baseline: Hangul character bigrams + case-folded other words */
} exa_index_terms;

typedef struct exa_index_params {
    exa_index_terms terms;  /* only used when the database is created (default EXA_TERMS_KOREAN) */
    int chunk_chars;        /* target chunk length in characters (default 1000), new files only */
    int overlap_chars;      /* overlap between chunks cut inside a paragraph (default 150) */
    int read_only;          /* 1: open an existing index for search only */
} exa_index_params;

exa_index_params exa_index_default_params(void);
/* Opens (creating if needed) the index at path. On failure *out is NULL and err holds one line. */
exa_status exa_index_open(const char *path, const exa_index_params *params, exa_index **out,
                          char *err, size_t err_size);
void exa_index_close(exa_index *idx);
const char *exa_index_errmsg(const exa_index *idx);

typedef struct exa_index_progress {
    int64_t files_done, files_total;    /* files visited / found */
    int64_t bytes_done, bytes_total;    /* bytes of visited files / of all found files */
    int64_t files_added, files_unchanged, files_skipped, chunks_added;
    int64_t files_removed;              /* indexed files under a folder argument that no longer exist */
    const char *path;                   /* file being ingested (valid during the call) */
} exa_index_progress;
/* Return 0 to abort: the file being ingested is rolled back and add returns EXA_ERR_ABORTED. */
typedef int (*exa_index_progress_cb)(const exa_index_progress *p, void *user);
/* A file that was skipped (unreadable, binary, symlink loop, malformed) and why. */
typedef void (*exa_index_warn_cb)(const char *path, const char *why, void *user);

typedef struct exa_index_add_params {
    exa_index_progress_cb progress;  /* optional, called at least once per file and per ~1 MB */
    exa_index_warn_cb warn;          /* optional */
    void *user;
} exa_index_add_params;

/* Ingests files and folders (recursively): .txt .md .markdown .html .htm .pdf. Folders follow
 * symlinks once (loops are detected and skipped); documents under a folder argument whose file
 * was deleted are removed. Files that cannot be read are skipped with a
 * warning; only database errors and aborts stop the run. stats (optional) gets the totals. */
exa_status exa_index_add(exa_index *idx, const char *const *paths, int n_paths,
                         const exa_index_add_params *params, exa_index_progress *stats);
/* Adds in-memory text as a document named `name` (no file behind it; replaced if the text
 * changed). title may be NULL. */
exa_status exa_index_add_text(exa_index *idx, const char *name, const char *title, const char *text,
                              size_t len);
/* Removes the documents whose path equals `path` or lies under the folder `path`; *n_removed
 * (optional) gets the count. */
exa_status exa_index_remove(exa_index *idx, const char *path, int64_t *n_removed);

/* Merges the full-text index into one segment (faster searches after many small adds; exa_index_add
 * already merges incrementally). Rewrites the whole index: seconds for 100 MB. */
exa_status exa_index_optimize(exa_index *idx);

/* Verifies the database: FTS5 integrity check, every chunk indexed, chunk counts of documents.
 * EXA_OK or EXA_ERR_FORMAT; report (optional) gets one line. */
exa_status exa_index_check(exa_index *idx, char *report, size_t report_size);

typedef struct exa_index_doc {
    int64_t id;
    const char *path, *title;   /* valid during the callback */
    int64_t size, mtime, n_chunks, n_pages;
    uint64_t hash;
} exa_index_doc;
/* Calls fn for every document (ordered by path); fn returns 0 to stop. */
exa_status exa_index_list(exa_index *idx, int (*fn)(const exa_index_doc *d, void *user), void *user);

typedef struct exa_index_stats {
    int64_t n_docs, n_chunks, text_bytes, db_bytes;
    const char *terms;          /* "korean", "words" or "bigrams" */
} exa_index_stats;
exa_status exa_index_get_stats(exa_index *idx, exa_index_stats *st);

typedef struct exa_search_params {
    int k;               /* passages to return (default 10) */
    int max_per_doc;     /* at most this many passages of one document (0: no limit; default 0) */
} exa_search_params;
exa_search_params exa_search_default_params(void);

/* One retrieved passage; strings are owned by the result. Offsets are bytes: into the file for
 * .txt/.md, into the extracted text of the page (PDF) or of the document (HTML). */
typedef struct exa_passage {
    int64_t chunk_id, doc_id;
    const char *path, *title, *text;
    int page;                   /* 1-based PDF page; 0 for other files */
    int64_t start, end;         /* byte offsets [start, end) */
    double score;               /* BM25, higher is better */
} exa_passage;

typedef struct exa_search_result {
    int n;
    exa_passage *passages;      /* n passages, best first */
} exa_search_result;

exa_status exa_index_search(exa_index *idx, const char *query, const exa_search_params *params,
                            exa_search_result *out);
void exa_search_result_free(exa_search_result *r);
/* Grounded answers (src/retrieval/grounded.c). Messages (a json-c array: system + user) that
 * tell a model to answer only from the numbered passages and cite them as [1], [2] …, in the
 * question's language (Korean when it contains Hangul). Passages longer than
 * max_chars_per_passage (0: no limit) are cut. */
exa_status exa_grounded_messages(const char *question, const exa_passage *passages, int n,
                                 int max_chars_per_passage, struct json_object **messages);
/* How many of the n best-first passages to keep: those scoring at least min_ratio × the best
 * (BM25 scores are only comparable within one query). */
int exa_grounded_keep(const exa_passage *passages, int n, double min_ratio);
/* A passage as JSON {n, path, title, page, score, start, end[, text]} (the CLI's --json and the
 * server's citations / /v1/retrieve use the same shape). */
struct json_object *exa_grounded_passage_json(const exa_passage *p, int n, int with_text);
/* The sentence a grounded answer uses when the documents do not contain the answer. */
const char *exa_grounded_not_found(const char *question);
/* Marks cited[i] = 1 for each passage i+1 cited as [n] (also [1, 2]) in answer; returns the count. */
int exa_grounded_citations(const char *answer, int n_passages, int *cited);
int exa_text_is_korean(const char *s);
/* ---- end retrieval ------------------------------------------------------------------------ */

#ifdef __cplusplus
}
#endif
#endif /* EXAONE_H */
