/* tensor.h — the weight-tensor descriptor shared by file readers (safetensors, GGUF), the model
 * loader and the kernels. A tensor does not own its data: it points into a mapped file or into a
 * buffer owned by the model. Shapes are PyTorch order: shape[0] is the slowest dimension, so a
 * Linear weight is (out_features, in_features) with rows contiguous. */
#ifndef EXA_CORE_TENSOR_H
#define EXA_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

typedef enum exa_dtype {
    EXA_DTYPE_F32 = 0,
    EXA_DTYPE_F16,
    EXA_DTYPE_BF16,
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

const char *exa_dtype_name(exa_dtype t);
/* bytes per element for plain dtypes */
size_t exa_dtype_size(exa_dtype t);
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
