/* train_io.h — files the trainer reads and writes: token shards (llm.c .bin layout, see
 * docs/train.md), a minimal safetensors writer/reader (F32, BF16, I32, U64 tensors + string
 * metadata), atomic file/folder helpers, and a self-contained PNG line-plot writer. */
#ifndef EXA_TRAIN_IO_H
#define EXA_TRAIN_IO_H

#include <stddef.h>
#include <stdint.h>

#include "exaone.h"
#include "core/common.h"

/* ---- token shards ---- */
#define EXA_SHARD_HEADER_INTS 256
#define EXA_SHARD_MAGIC_U16 20240520 /* version 1: uint16 tokens (llm.c GPT-2 shards) */
#define EXA_SHARD_MAGIC_U32 20240801 /* version 7: uint32 tokens (llm.c Llama-3 shards; use for EXAONE) */

typedef struct exa_shard {
    char *path;
    exa_mapped_file f;
    int tsize;          /* 2 or 4 bytes per token */
    int64_t n_tokens;
} exa_shard;

/* Validates the header and size of a shard held in memory (used by the loader and the fuzzer). */
exa_status exa_shard_check(const uint8_t *data, size_t size, const char *path, int *tsize, int64_t *n_tokens,
                           char *err, size_t errsz);

typedef struct exa_loader {
    exa_shard *shards;
    int n_shards;
    int B, T, vocab;
    int shard;          /* current shard */
    int64_t pos;        /* token offset of the next batch in it */
} exa_loader;

/* pattern: a glob (e.g. `data/NAME_train_NNN.bin` with wildcards), a single file or a folder (all *.bin in it whose name
 * does not contain "val" when want_val is 0, or only those that do when 1). */
exa_status exa_loader_open(exa_loader *ld, const char *pattern, int want_val, int B, int T, int vocab,
                           char *err, size_t errsz);
void exa_loader_close(exa_loader *ld);
void exa_loader_reset(exa_loader *ld);
/* Fills x (B·T inputs) and y (B·T next-token targets) and advances. */
exa_status exa_loader_next(exa_loader *ld, int32_t *x, int32_t *y, char *err, size_t errsz);

/* ---- safetensors ---- */
typedef enum { EXA_TST_F32, EXA_TST_BF16, EXA_TST_I32, EXA_TST_U64, EXA_TST_F16 } exa_tst_dtype;

typedef struct exa_tst_entry {
    const char *name;
    exa_tst_dtype dtype;
    int ndim;
    int64_t shape[4];
    const void *data;   /* f32 source data for BF16 entries (converted while writing) */
} exa_tst_entry;

/* Writes path (via path.tmp + fsync + rename). meta: NULL-terminated key,value,key,value,... */
exa_status exa_tst_write(const char *path, const exa_tst_entry *e, int n, const char *const *meta, char *err,
                        size_t errsz);

typedef struct exa_tst_file {
    exa_mapped_file f;
    size_t data_start;
    int n;
    struct exa_tst_tensor {
        char *name;
        exa_tst_dtype dtype;
        int ndim;
        int64_t shape[4];
        size_t off, nbytes;
    } *t;
    char **meta_kv; /* 2·n_meta strings */
    int n_meta;
} exa_tst_file;

exa_status exa_tst_parse(exa_tst_file *sf, const uint8_t *data, size_t size, const char *path, char *err, size_t errsz);
exa_status exa_tst_open(exa_tst_file *sf, const char *path, char *err, size_t errsz);
void exa_tst_close(exa_tst_file *sf);
const struct exa_tst_tensor *exa_tst_get(const exa_tst_file *sf, const char *name);
const char *exa_tst_meta(const exa_tst_file *sf, const char *key);

/* Converts a F32/BF16/F16 tensor to n f32 values; -1 if the dtype is not a float type. */
int exa_tst_to_f32(const exa_tst_file *sf, const struct exa_tst_tensor *t, float *out);

/* ---- files ---- */
exa_status exa_train_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errsz);
int exa_train_rm_rf(const char *path); /* 0 ok */
exa_status exa_train_copy_file(const char *src, const char *dst, char *err, size_t errsz);
int exa_train_fsync_dir(const char *dir);

/* ---- PNG plot: series of (x, y) points, NaN y values skipped; 2 series (train, val) ---- */
exa_status exa_png_plot(const char *path, const double *x, const double *y1, const double *y2, int n,
                        char *err, size_t errsz);
/* PNG encoder for 8-bit RGB (stored/uncompressed deflate blocks, own CRC-32 and Adler-32). */
exa_status exa_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h, char *err, size_t errsz);

#endif
