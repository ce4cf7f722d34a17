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
/* ---- end retrieval ------------------------------------------------------------------------ */

#ifdef __cplusplus
}
#endif
#endif /* EXAONE_H */
