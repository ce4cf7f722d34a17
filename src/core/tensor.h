/* tensor.h — the weight-tensor descriptor shared by file readers (safetensors, GGUF), the model
 * loader and the kernels. A tensor does not own its data: it points into a mapped file or into a
 * buffer owned by the model. Shapes are PyTorch order: shape[0] is the slowest dimension, so a
 * Linear weight is (out_features, in_features) with rows contiguous.
 *
 * dtypes are plain element types (f32/f16/bf16) or ggml block formats (Q8_0 ... Q6_K: a row of n
 * weights is n / block_elems blocks, ggml's byte layout, kernels/quant.h). Sizes of block types
 * only make sense per row: use exa_dtype_row_bytes, not an element size. */
#ifndef EXA_CORE_TENSOR_H
#define EXA_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

typedef enum exa_dtype {
    EXA_DTYPE_F32 = 0,
    EXA_DTYPE_F16,
    EXA_DTYPE_BF16,
    EXA_DTYPE_Q8_0,   /* 32 weights: f16 scale + 32 int8 (34 bytes) */
    EXA_DTYPE_Q4_0,   /* 32 weights: f16 scale + 16 bytes of nibbles (18 bytes) */
    EXA_DTYPE_Q4_K,   /* 256 weights (144 bytes) */
    EXA_DTYPE_Q5_K,   /* 256 weights (176 bytes) */
    EXA_DTYPE_Q6_K,   /* 256 weights (210 bytes) */
    EXA_DTYPE_COUNT
} exa_dtype;

#define EXA_MAX_DIMS 4

typedef struct exa_tensor {
    const char *name;           /* owned by whoever produced the tensor table */
    exa_dtype dtype;
    int ndim;
    int64_t shape[EXA_MAX_DIMS];
    const void *data;
    size_t nbytes;
} exa_tensor;

const char *exa_dtype_name(exa_dtype t);         /* "f32", "bf16", "q4_K", ...; "?" if unknown */
int exa_dtype_from_name(const char *name, exa_dtype *out); /* case-insensitive; 1 on success */
/* bytes per element for plain dtypes; 0 for block formats (use exa_dtype_row_bytes) */
size_t exa_dtype_size(exa_dtype t);
int exa_dtype_is_quant(exa_dtype t);             /* 1 for the block formats */
size_t exa_dtype_block_elems(exa_dtype t);       /* 1 for plain dtypes, 32 or 256 for blocks */
size_t exa_dtype_block_bytes(exa_dtype t);
/* bytes of one row of n elements; 0 if n is not a multiple of the block size or t is unknown */
size_t exa_dtype_row_bytes(exa_dtype t, int64_t n);
/* ggml type id (GGUF tensor infos) and back; -1 / 0 when there is no counterpart */
int exa_dtype_to_ggml(exa_dtype t);
int exa_dtype_from_ggml(uint32_t ggml_type, exa_dtype *out);
int64_t exa_tensor_nelements(const exa_tensor *t);

/* scalar conversions (exact; used by reference kernels and tests) */
static inline float exa_bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = { .u = (uint32_t)h << 16 };
    return v.f;
}
static inline uint16_t exa_f32_to_bf16(float f) { /* round to nearest even, NaN kept quiet */
    union { uint32_t u; float f; } v = { .f = f };
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)(v.u >> 16);
}
float exa_f16_to_f32(uint16_t h);
uint16_t exa_f32_to_f16(float f);

#endif
