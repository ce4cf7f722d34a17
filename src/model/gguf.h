/* gguf.h — GGUF (llama.cpp's model file format, v2/v3, little-endian) reader and writer, the
 * EXAONE HF <-> GGUF tensor-name table (spec §6.2) and the metadata keys llama.cpp reads for the
 * `exaone` and `exaone4` architectures (spec §6.1, §6.3).
 *
 * File layout: "GGUF" u32 version, u64 n_tensors, u64 n_kv, then n_kv × (string key, u32 type,
 * value), n_tensors × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset), padding
 * to `general.alignment` (default 32), the data section. Strings are u64 length + bytes (no NUL).
 * Tensor dims are ggml order (ne[0] is the contiguous one = the PyTorch shape reversed); offsets
 * are relative to the data section and multiples of the alignment.
 *
 * The reader treats the file as hostile: every count, length and offset is checked against the
 * bytes that remain before anything is allocated, tensors must lie inside the data section and
 * must not overlap; errors are one line naming the file and the problem. String values point into
 * the mapped file (not NUL-terminated); keys and tensor names are NUL-terminated copies. */
#ifndef EXA_MODEL_GGUF_H
#define EXA_MODEL_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "exaone.h"

#define EXA_GGUF_MAGIC 0x46554747u /* "GGUF" read as little-endian u32 */
#define EXA_GGUF_DEFAULT_ALIGNMENT 32u
#define EXA_GGUF_MAX_DIMS 4
#define EXA_GGUF_MAX_NAME 64 /* ggml's GGML_MAX_NAME: tensor names must be shorter */

/* metadata value types (GGUF spec numbering) */
typedef enum exa_gguf_vtype {
    EXA_GGUF_U8 = 0, EXA_GGUF_I8 = 1, EXA_GGUF_U16 = 2, EXA_GGUF_I16 = 3, EXA_GGUF_U32 = 4,
    EXA_GGUF_I32 = 5, EXA_GGUF_F32 = 6, EXA_GGUF_BOOL = 7, EXA_GGUF_STRING = 8, EXA_GGUF_ARRAY = 9,
    EXA_GGUF_U64 = 10, EXA_GGUF_I64 = 11, EXA_GGUF_F64 = 12, EXA_GGUF_VTYPE_COUNT
} exa_gguf_vtype;

/* ggml tensor type ids used in GGUF tensor infos (subset; sizes known for all listed) */
enum {
    EXA_GGML_F32 = 0, EXA_GGML_F16 = 1, EXA_GGML_Q4_0 = 2, EXA_GGML_Q4_1 = 3, EXA_GGML_Q5_0 = 6,
    EXA_GGML_Q5_1 = 7, EXA_GGML_Q8_0 = 8, EXA_GGML_Q8_1 = 9, EXA_GGML_Q2_K = 10, EXA_GGML_Q3_K = 11,
    EXA_GGML_Q4_K = 12, EXA_GGML_Q5_K = 13, EXA_GGML_Q6_K = 14, EXA_GGML_Q8_K = 15, EXA_GGML_I8 = 24,
    EXA_GGML_I16 = 25, EXA_GGML_I32 = 26, EXA_GGML_I64 = 27, EXA_GGML_F64 = 28, EXA_GGML_BF16 = 30,
};

/* name ("f32", "q4_K", ...) or NULL if the id is not one we know the size of */
const char *exa_ggml_type_name(uint32_t type);
/* elements per block and bytes per block; 0 when unknown */
size_t exa_ggml_type_block_elems(uint32_t type);
size_t exa_ggml_type_block_bytes(uint32_t type);
/* 1 if exaone.c's kernels handle this type: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K */
int exa_ggml_type_supported(uint32_t type);

typedef struct exa_gguf_str {
    const char *ptr; /* into the file (reader) — not NUL-terminated */
    uint64_t len;
} exa_gguf_str;

typedef struct exa_gguf_kv {
    char *key;            /* NUL-terminated copy */
    exa_gguf_vtype type;
    union {
        uint64_t u;       /* U8 U16 U32 U64 BOOL */
        int64_t i;        /* I8 I16 I32 I64 */
        double f;         /* F32 F64 */
        exa_gguf_str s;   /* STRING */
    } v;
    /* ARRAY: element type, count, and either raw little-endian elements in the file (numeric,
     * bool) or an allocated table of strings (STRING). Nested arrays are rejected. */
    exa_gguf_vtype arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data;
    exa_gguf_str *arr_strs;
} exa_gguf_kv;

typedef struct exa_gguf_tensor {
    char *name;                       /* NUL-terminated copy */
    uint32_t type;                    /* ggml type id */
    int n_dims;
    uint64_t ne[EXA_GGUF_MAX_DIMS];   /* ggml order; unused dims are 1 */
    uint64_t offset;                  /* relative to the data section */
    uint64_t nbytes;
    const uint8_t *data;              /* into the mapped file */
} exa_gguf_tensor;

typedef struct exa_gguf {
    char path[512];                   /* for error messages */
    exa_mapped_file file;             /* when opened from a path */
    const uint8_t *base;
    size_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;             /* absolute start of the data section */
    uint64_t n_kv;
    exa_gguf_kv *kv;
    uint64_t n_tensors;
    exa_gguf_tensor *tensors;
} exa_gguf;

/* Open and validate a file (mmap'd when use_mmap). */
exa_status exa_gguf_open(const char *path, int use_mmap, exa_gguf **out, char *err, size_t err_size);
/* Parse a buffer that stays owned by the caller and must outlive the result. name is used in
 * error messages. */
exa_status exa_gguf_parse(const uint8_t *data, size_t size, const char *name, exa_gguf **out, char *err,
                          size_t err_size);
void exa_gguf_close(exa_gguf *g);

const exa_gguf_kv *exa_gguf_find_kv(const exa_gguf *g, const char *key);
const exa_gguf_tensor *exa_gguf_find_tensor(const exa_gguf *g, const char *name);

/* PyTorch-order shape of a tensor (ggml dims reversed): shape[0] is the slowest dimension, as in
 * core/tensor.h; returns n_dims. */
int exa_gguf_tensor_shape(const exa_gguf_tensor *t, int64_t shape[EXA_GGUF_MAX_DIMS]);

/* Typed getters: EXA_OK, EXA_ERR_CONFIG if missing, EXA_ERR_FORMAT if of the wrong type or out of
 * range for the requested C type (integer keys of any integer type are accepted if they fit). */
exa_status exa_gguf_get_u32(const exa_gguf *g, const char *key, uint32_t *out);
exa_status exa_gguf_get_u64(const exa_gguf *g, const char *key, uint64_t *out);
exa_status exa_gguf_get_i64(const exa_gguf *g, const char *key, int64_t *out);
exa_status exa_gguf_get_f32(const exa_gguf *g, const char *key, float *out); /* F32 or F64 */
exa_status exa_gguf_get_bool(const exa_gguf *g, const char *key, int *out);
exa_status exa_gguf_get_str(const exa_gguf *g, const char *key, exa_gguf_str *out);
/* element idx of a numeric/bool array as int64 / double (bounds-checked) */
exa_status exa_gguf_arr_i64(const exa_gguf_kv *kv, uint64_t idx, int64_t *out);
exa_status exa_gguf_arr_f64(const exa_gguf_kv *kv, uint64_t idx, double *out);

/* ---- writer ---- */
typedef struct exa_gguf_writer exa_gguf_writer;

/* alignment: power of two; when not 32, general.alignment is written as the first key */
exa_status exa_gguf_writer_new(uint32_t alignment, exa_gguf_writer **out);
void exa_gguf_writer_free(exa_gguf_writer *w);
/* Scalars: value points to a C object of the type (uint8_t, int8_t, ..., BOOL as uint8_t 0/1,
 * F32 float, F64 double). Duplicate keys give EXA_ERR_INVALID_ARG. */
exa_status exa_gguf_writer_add_scalar(exa_gguf_writer *w, const char *key, exa_gguf_vtype type, const void *value);
exa_status exa_gguf_writer_add_u32(exa_gguf_writer *w, const char *key, uint32_t v);
exa_status exa_gguf_writer_add_f32(exa_gguf_writer *w, const char *key, float v);
exa_status exa_gguf_writer_add_bool(exa_gguf_writer *w, const char *key, int v);
exa_status exa_gguf_writer_add_str(exa_gguf_writer *w, const char *key, const char *s);
exa_status exa_gguf_writer_add_strn(exa_gguf_writer *w, const char *key, const char *s, uint64_t len);
/* numeric/bool array from a C array of n elements of elem_type */
exa_status exa_gguf_writer_add_array(exa_gguf_writer *w, const char *key, exa_gguf_vtype elem_type,
                                     const void *data, uint64_t n);
exa_status exa_gguf_writer_add_str_array(exa_gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* copies a key/value read by the reader (any type; arrays element for element) */
exa_status exa_gguf_writer_copy_kv(exa_gguf_writer *w, const exa_gguf_kv *kv);
/* Tensor with ggml-order dims; data (nbytes from the type) is borrowed until write. */
exa_status exa_gguf_writer_add_tensor(exa_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                      const uint64_t *ne, const void *data);
exa_status exa_gguf_writer_write(exa_gguf_writer *w, const char *path, char *err, size_t err_size);

/* 1 when path names a GGUF, writing the file's path to out: a file that starts with the "GGUF"
 * magic, or a folder exa_model_load would load as a GGUF (exactly one *.gguf, no safetensors);
 * 0 otherwise (a Hugging Face folder, a JSON file, a missing path). */
int exa_gguf_locate(const char *path, char *out, size_t out_size);

/* ---- EXAONE names and metadata (spec §6) ---- */

/* HF checkpoint name -> GGUF name and back, e.g. exaone4 "model.layers.3.mlp.up_proj.weight" <->
 * "blk.3.ffn_up.weight". EXA_ERR_UNSUPPORTED when the name is not an EXAONE tensor of that arch
 * (including rope_freqs.weight, which has no HF counterpart: the converter computes it). */
exa_status exa_gguf_name_from_hf(exa_arch arch, const char *hf, char *out, size_t out_size);
exa_status exa_gguf_name_to_hf(exa_arch arch, const char *gguf, char *out, size_t out_size);
const char *exa_gguf_arch_name(exa_arch arch); /* "exaone" / "exaone4" */

#define EXA_GGUF_MAX_LAYERS 1024

/* The hyper-parameters llama.cpp reads for exaone / exaone4 (keys "<arch>.<name>"):
 * context_length, embedding_length, block_count, feed_forward_length, attention.head_count,
 * attention.head_count_kv, attention.layer_norm_rms_epsilon, rope.freq_base,
 * rope.dimension_count, attention.key_length, attention.value_length, vocab_size and, for
 * exaone4, attention.sliding_window + attention.sliding_window_pattern (bool per layer). */
typedef struct exa_gguf_hparams {
    exa_arch arch;
    uint32_t context_length, embedding_length, block_count, feed_forward_length;
    uint32_t head_count, head_count_kv, key_length, value_length, rope_dimension_count;
    uint32_t vocab_size;            /* 0 = not written / absent */
    float rms_eps, rope_freq_base;
    uint32_t sliding_window;        /* exaone4: 0 = none */
    uint32_t n_swa_pattern;         /* exaone4: entries in swa_pattern (0 = absent) */
    uint8_t swa_pattern[EXA_GGUF_MAX_LAYERS]; /* 1 = sliding-window layer */
} exa_gguf_hparams;

/* writes general.architecture + the keys above */
exa_status exa_gguf_write_hparams(exa_gguf_writer *w, const exa_gguf_hparams *hp);
/* reads them back (key_length/value_length default to embedding/heads, rope dims to key_length) */
exa_status exa_gguf_read_hparams(const exa_gguf *g, exa_gguf_hparams *hp, char *err, size_t err_size);

/* llama3 rope scaling as the converter stores it in rope_freqs.weight (head_dim/2 f32 divisors of
 * the per-pair frequencies), computed in fp32 as convert_hf_to_gguf.py does. REF: spec §2.3, §6.3 */
void exa_gguf_llama3_rope_factors(int head_dim, float rope_theta, float factor, float low_freq_factor,
                                  float high_freq_factor, float original_ctx, float *out);

/* metadata key names (llama.cpp gguf-py constants) */
#define EXA_GGUF_KEY_ARCH "general.architecture"
#define EXA_GGUF_KEY_NAME "general.name"
#define EXA_GGUF_KEY_ALIGNMENT "general.alignment"
#define EXA_GGUF_KEY_FILE_TYPE "general.file_type"
#define EXA_GGUF_KEY_QUANT_VERSION "general.quantization_version"
#define EXA_GGUF_KEY_TOK_MODEL "tokenizer.ggml.model"          /* "gpt2" for EXAONE */
#define EXA_GGUF_KEY_TOK_PRE "tokenizer.ggml.pre"              /* "exaone" / "exaone4" */
#define EXA_GGUF_KEY_TOK_TOKENS "tokenizer.ggml.tokens"        /* string array */
#define EXA_GGUF_KEY_TOK_TYPES "tokenizer.ggml.token_type"     /* i32 array */
#define EXA_GGUF_KEY_TOK_MERGES "tokenizer.ggml.merges"        /* string array "a b" */
#define EXA_GGUF_KEY_TOK_BOS "tokenizer.ggml.bos_token_id"
#define EXA_GGUF_KEY_TOK_EOS "tokenizer.ggml.eos_token_id"
#define EXA_GGUF_KEY_TOK_UNK "tokenizer.ggml.unknown_token_id"
#define EXA_GGUF_KEY_TOK_PAD "tokenizer.ggml.padding_token_id"
#define EXA_GGUF_KEY_TOK_ADD_BOS "tokenizer.ggml.add_bos_token"
#define EXA_GGUF_KEY_TOK_ADD_EOS "tokenizer.ggml.add_eos_token"
#define EXA_GGUF_KEY_TOK_ADD_PREFIX "tokenizer.ggml.add_space_prefix" /* ByteLevel add_prefix_space */
#define EXA_GGUF_KEY_CHAT_TEMPLATE "tokenizer.chat_template"
#define EXA_GGUF_TENSOR_ROPE_FREQS "rope_freqs.weight"

#endif
