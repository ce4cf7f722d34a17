/* quant.h — block-quantized weight formats with ggml's exact byte layouts (so GGUF files
 * interoperate with llama.cpp): Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, plus the activation-side formats Q8_0 and
 * Q8_K used by the integer dot products. Owns: quantize row (f32 -> blocks), dequantize row
 * (blocks -> f32), quantized-row · quantized-activation dot products (scalar reference kept
 * forever + AVX2 + AVX-512 VNNI, chosen at run time by the level of kernels/kernels.h), and
 * matvec / row-range matmul helpers.
 *
 * REF: ggml block layouts in ggml/src/ggml-common.h and the reference quantizers in
 * ggml/src/ggml-quants.c (ggml-org/llama.cpp); code here is written from those facts.
 *
 * exa_dtype (core/tensor.h) names the weight formats everywhere else (EXA_DTYPE_Q8_0 ...);
 * exa_qtype is this file's kernel-level id, equal to the ggml type id, and additionally has the
 * activation-only Q8_K. exa_qtype_from_dtype / exa_dtype_from_qtype convert. */
#ifndef EXA_KERNELS_QUANT_H
#define EXA_KERNELS_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "exaone.h"
#include "kernels/kernels.h"

/* Block formats. The numeric values are ggml's `ggml_type` ids (the ids stored in GGUF tensor
 * infos), so a GGUF type id converts with exa_qtype_from_ggml(). */
typedef enum exa_qtype {
    EXA_QTYPE_Q4_0 = 2,
    EXA_QTYPE_Q8_0 = 8,
    EXA_QTYPE_Q4_K = 12,
    EXA_QTYPE_Q5_K = 13,
    EXA_QTYPE_Q6_K = 14,
    EXA_QTYPE_Q8_K = 15, /* activation side of the k-quant dot products only */
} exa_qtype;

#define EXA_QK 32   /* weights per Q8_0 / Q4_0 block */
#define EXA_QK_K 256 /* weights per k-quant super-block */

/* ggml block layouts, byte for byte (ggml_half = IEEE binary16 stored as uint16_t). */
typedef struct exa_block_q8_0 {
    uint16_t d;           /* scale: x = d * qs */
    int8_t qs[EXA_QK];
} exa_block_q8_0;         /* 34 bytes */

typedef struct exa_block_q4_0 {
    uint16_t d;              /* scale: x = d * (q - 8) */
    uint8_t qs[EXA_QK / 2];  /* byte j: low nibble = weight j, high nibble = weight j + 16 */
} exa_block_q4_0;            /* 18 bytes */

typedef struct exa_block_q4_K {
    uint16_t d;          /* super-block scale for the 6-bit sub-block scales */
    uint16_t dmin;       /* super-block scale for the 6-bit sub-block mins */
    uint8_t scales[12];  /* 8 scales + 8 mins, 6 bits each (packing: get_scale_min_k4) */
    uint8_t qs[EXA_QK_K / 2]; /* per 64 weights: 32 bytes, low nibbles = first 32, high = next 32 */
} exa_block_q4_K;        /* 144 bytes; x = d*sc*q - dmin*m per 32-weight sub-block */

typedef struct exa_block_q5_K {
    uint16_t d, dmin;        /* as Q4_K */
    uint8_t scales[12];      /* as Q4_K */
    uint8_t qh[EXA_QK_K / 8]; /* 5th bits: weight 64c + l (l < 32) uses bit 2c of qh[l], 64c + 32 + l bit 2c+1 */
    uint8_t qs[EXA_QK_K / 2]; /* low 4 bits, packed as Q4_K */
} exa_block_q5_K;            /* 176 bytes; x = d*sc*q - dmin*m, q in [0, 32) */

typedef struct exa_block_q6_K {
    uint8_t ql[EXA_QK_K / 2];     /* low 4 bits */
    uint8_t qh[EXA_QK_K / 4];     /* high 2 bits */
    int8_t scales[EXA_QK_K / 16]; /* 8-bit scale per 16 weights */
    uint16_t d;                   /* super-block scale */
} exa_block_q6_K;                 /* 210 bytes; x = d * scale * (q - 32) */

typedef struct exa_block_q8_K {
    float d;                      /* x = d * qs */
    int8_t qs[EXA_QK_K];
    int16_t bsums[EXA_QK_K / 16]; /* sums of qs over each 16 */
} exa_block_q8_K;                 /* 292 bytes; never stored in files */

_Static_assert(sizeof(exa_block_q8_0) == 34, "block_q8_0 layout");
_Static_assert(sizeof(exa_block_q4_0) == 18, "block_q4_0 layout");
_Static_assert(sizeof(exa_block_q4_K) == 144, "block_q4_K layout");
_Static_assert(sizeof(exa_block_q5_K) == 176, "block_q5_K layout");
_Static_assert(sizeof(exa_block_q6_K) == 210, "block_q6_K layout");
_Static_assert(sizeof(exa_block_q8_K) == 292, "block_q8_K layout");

/* block dtype -> kernel id (0 for plain dtypes) and back (1 on success) */
static inline exa_qtype exa_qtype_from_dtype(exa_dtype t) {
    return exa_dtype_is_quant(t) ? (exa_qtype)exa_dtype_to_ggml(t) : (exa_qtype)0;
}
static inline int exa_dtype_from_qtype(exa_qtype q, exa_dtype *out) {
    return q != EXA_QTYPE_Q8_K && exa_dtype_from_ggml((uint32_t)q, out);
}

/* 1 if t is one of the formats above (weights: Q8_0 Q4_0 Q4_K Q5_K Q6_K; Q8_K only as activation). */
int exa_qtype_valid(int ggml_type);
int exa_qtype_is_weight(exa_qtype t);
const char *exa_qtype_name(exa_qtype t);         /* "q4_K", ... ; "?" when unknown */
int exa_qtype_from_name(const char *name, exa_qtype *out); /* case-insensitive; 1 on success */
size_t exa_qtype_block_elems(exa_qtype t);       /* 32 or 256 */
size_t exa_qtype_block_bytes(exa_qtype t);
/* bytes of one row of n weights; 0 if n is not a multiple of the block size */
size_t exa_qtype_row_bytes(exa_qtype t, int64_t n);
/* activation format the dot product of a t-row wants: Q8_0 for Q8_0/Q4_0, Q8_K for the k-quants */
exa_qtype exa_qtype_act(exa_qtype t);

/* f32 -> blocks and back. n must be a multiple of the block size (else EXA_ERR_INVALID_ARG).
 * Quantizers follow ggml's reference algorithms (quantize_row_*_ref), so their output matches
 * llama.cpp's without an importance matrix bit-for-bit (up to libm differences in sqrtf, none). */
exa_status exa_quantize_row(exa_qtype t, const float *x, void *y, int64_t n);
exa_status exa_dequantize_row(exa_qtype t, const void *x, float *y, int64_t n);

/* ---- CPU levels ----
 * The level enum, detection and the EXA_CPU override are the lead's (kernels/kernels.h:
 * exa_cpu_detect, exa_cpu_active). Our avx512 kernels also need AVX-512 VNNI; on an AVX-512 CPU
 * without it (Skylake-X) the avx512 level runs the avx2 kernels. */
int exa_quant_has_vnni(void); /* AVX-512 VNNI usable (CPUID + OS ZMM state) */

/* Dot product of one weight row (n weights of type t) with an activation row already quantized
 * to exa_qtype_act(t) (same n). n must be a multiple of the block size. */
typedef float (*exa_qdot_fn)(int64_t n, const void *w, const void *a);
/* Kernel for type t at a given level (levels above the CPU's are clamped down); NULL if t is not
 * a weight type. exa_qdot_get(t, exa_cpu_active()) is what callers normally want. */
exa_qdot_fn exa_qdot_get(exa_qtype t, exa_cpu_level level);

/* Four activation rows against one weight row, each weight block decoded once:
 * out[k] = w · (activation row at act + k*act_stride), k = 0..3 (exactly four; remainders go
 * through exa_qdot_fn). act_stride is in bytes (normally exa_qtype_row_bytes(exa_qtype_act(t), n)).
 * out[k] equals, bit for bit, exa_qdot_get(t, level)(n, w, act + k*act_stride) at the same level,
 * so results never depend on how tokens are grouped. NULL if t is not a weight type. */
typedef void (*exa_qdot4_fn)(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]);
exa_qdot4_fn exa_qdot4_get(exa_qtype t, exa_cpu_level level);

/* Quantize an activation row for the dot product with t-rows: writes exa_qtype_row_bytes(
 * exa_qtype_act(t), n) bytes into a. */
exa_status exa_quantize_act(exa_qtype t, const float *x, void *a, int64_t n);

/* Batched form for prompts and for splitting over threads: quantize the T activation rows of x
 * (T, cols) once with exa_quantize_act_rows (act holds T × exa_qtype_row_bytes(act type, cols)
 * bytes), then y[t*ldy + r] = W[r,:] · x[t,:] for rows r in [r0, r1) — each weight row is read
 * from memory once and reused for all T tokens. Threads take disjoint row ranges. */
exa_status exa_quantize_act_rows(exa_qtype t, const float *x, int T, int64_t cols, void *act);
exa_status exa_qmatmul_rows(exa_qtype t, exa_cpu_level level, int64_t r0, int64_t r1, int64_t cols, const void *W,
                            const void *act, int T, float *y, int64_t ldy);

/* Threaded quantization over the pool (core/threadpool.h; pool NULL = calling thread only):
 * every row of x (rows, cols) into y (rows × exa_qtype_row_bytes(t, cols)). Threaded matrix
 * products of quantized weights are exa_matmul / exa_matmul_n (kernels/kernels.h). */
exa_status exa_quantize_matrix(exa_pool *pool, exa_qtype t, const float *x, int64_t rows, int64_t cols, void *y);

/* y[r] = W[r,:] · x for rows r in [0, rows); W is rows × cols of type t, rows contiguous.
 * act_buf must hold exa_qtype_row_bytes(exa_qtype_act(t), cols) bytes (x is quantized into it
 * once). Single-threaded; the lead's dispatch splits rows over the thread pool. */
exa_status exa_qmatvec(exa_qtype t, exa_cpu_level level, int64_t rows, int64_t cols, const void *W,
                       const float *x, float *y, void *act_buf);

#endif
