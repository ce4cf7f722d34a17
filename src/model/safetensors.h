/* safetensors.h — reader for the safetensors format (8-byte little-endian header length, a JSON
 * header mapping tensor names to dtype/shape/data_offsets, then the data). The header is hostile
 * input: lengths, offsets, shapes and names are all checked before anything is trusted. */
#ifndef EXA_MODEL_SAFETENSORS_H
#define EXA_MODEL_SAFETENSORS_H

#include "core/common.h"
#include "core/tensor.h"

#define EXA_ST_MAX_HEADER ((uint64_t)100 << 20) /* same limit as the reference implementation */

typedef struct exa_st_tensor {
    char *name;
    char st_dtype[8];   /* as written: "F32", "BF16", "I64", ... */
    int dtype_ok;       /* 1 if st_dtype maps to an exa_dtype */
    exa_tensor t;       /* t.data points into the mapped file */
} exa_st_tensor;

typedef struct exa_st_file {
    char *path;
    exa_mapped_file map;
    exa_st_tensor *tensors;  /* sorted by name */
    int n_tensors;
} exa_st_file;

/* Parses a safetensors image in memory (data/size: the whole file). On success fills
 * tensors/n (caller frees with exa_st_tensors_free); tensor data points into `data`. */
exa_status exa_st_parse(const uint8_t *data, size_t size, const char *path, exa_st_tensor **tensors, int *n,
                        char *err, size_t err_size);
void exa_st_tensors_free(exa_st_tensor *tensors, int n);

exa_status exa_st_open(const char *path, int use_mmap, exa_st_file **out, char *err, size_t err_size);
void exa_st_close(exa_st_file *f);
const exa_st_tensor *exa_st_find(const exa_st_file *f, const char *name);


/* ---- writing ------------------------------------------------------------------------------ */
/* Describes one tensor to write; data is produced by fill(user, index, buf, nbytes) so that
 * multi-GB files stream without holding the weights in memory. */
typedef struct exa_st_write_tensor {
    const char *name;
    exa_dtype dtype;
    int ndim;
    int64_t shape[EXA_MAX_DIMS];
} exa_st_write_tensor;

typedef int (*exa_st_fill_fn)(void *user, int index, void *buf, size_t nbytes);

/* Writes path atomically (path.tmp, then rename). metadata_json: NULL or a JSON object text for
 * "__metadata__" (string values only, per the format). */
exa_status exa_st_write(const char *path, const exa_st_write_tensor *tensors, int n, const char *metadata_json,
                        exa_st_fill_fn fill, void *user, char *err, size_t err_size);

#endif
