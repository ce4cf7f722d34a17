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

#endif
