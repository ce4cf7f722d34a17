/* attn.h — attention of the query heads that share one KV head (GQA) over a range of cached
 * positions, reading keys and values straight from a KV cache stored as f32, f16, bf16 or Q8_0
 * (ggml block_q8_0) rows. Each cached row is read from memory once for all G query heads and
 * widened to f32 in registers; scores, the max-subtracted softmax and the weighted sum of values
 * are computed in f32. The kernel knows nothing of models: pointers, strides, a ring capacity,
 * a position range and a scale.
 *
 * Scalar reference exa_attn_ref kept forever; AVX2 and AVX-512 versions chosen by exa_attn_get
 * (the level of kernels/kernels.h, normally exa_cpu_active()). */
#ifndef EXA_KERNELS_ATTN_H
#define EXA_KERNELS_ATTN_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#define EXA_ATTN_MAX_D 1024 /* largest head dimension the kernels accept */

typedef struct exa_attn_args {
    exa_dtype type;        /* element type of the cached rows: F32, F16, BF16 or Q8_0 */
    const void *k, *v;     /* this KV head's vector in slot 0 of the key / value cache */
    size_t stride;         /* bytes from one slot to the next (keys and values alike) */
    int cap;               /* ring of cap slots: position p lives in slot p % cap */
    int lo, hi;            /* attend to positions lo..hi inclusive (hi - lo < cap) */
    int d;                 /* head dimension */
    int G;                 /* query heads sharing this KV head */
    const float *q;        /* (G, d) queries, rows q_stride floats apart */
    size_t q_stride;
    float *out;            /* (G, d) outputs, rows out_stride floats apart */
    size_t out_stride;
    float scale;           /* score = scale · q·k */
    float *scratch;        /* G × (hi - lo + 1) floats */
} exa_attn_args;

/* out[g] = Σ_p softmax_p(scale · q[g]·K[p]) V[p] over p in lo..hi (f32 throughout). */
typedef void (*exa_attn_fn)(const exa_attn_args *a);
void exa_attn_ref(const exa_attn_args *a);
/* Kernel for cache type t at a level (clamped to what the CPU has); the AVX levels handle
 * d % 16 == 0 (AVX-512) or d % 8 == 0 (AVX2) and fall back to a lower level otherwise. NULL if t
 * is not a cache type. k/v point at head vectors laid out as exa_attn_store_row writes them. */
exa_attn_fn exa_attn_get(exa_dtype t, exa_cpu_level level, int d);

/* Cache rows hold one position's n_heads head vectors of d values. F32/F16/BF16: d values each.
 * Q8_0: each head vector is ceil(d/32) ggml block_q8_0 blocks (the last one zero-padded when
 * d % 32 != 0, e.g. d = 80: 32 + 32 + 16 values), so blocks never straddle heads. */
int exa_attn_type_ok(exa_dtype t, int d);         /* 1 if t can be a cache type for head dim d */
size_t exa_attn_head_bytes(exa_dtype t, int d);   /* bytes of one cached head vector (0: bad type) */
/* Converts n_heads head vectors of d f32 values (x: n_heads·d) into one cache row of type t
 * (n_heads × exa_attn_head_bytes bytes): f16/bf16 round to nearest even, Q8_0 per 32 values as
 * ggml's quantize_row_q8_0_ref (padding zeros do not change a block's scale). */
void exa_attn_store_row(exa_dtype t, const float *x, void *dst, int n_heads, int d);
/* The f16 / bf16 conversion of exa_attn_store_row at a given level (clamped to the CPU; the row
 * functions use exa_cpu_active()): n values, bit-identical at every level to core/tensor.h's
 * exa_f32_to_f16 / exa_f32_to_bf16 (the scalar reference) for every f32 input. */
void exa_attn_f32_to_f16(exa_cpu_level level, const float *x, uint16_t *h, size_t n);
void exa_attn_f32_to_bf16(exa_cpu_level level, const float *x, uint16_t *h, size_t n);

#endif
