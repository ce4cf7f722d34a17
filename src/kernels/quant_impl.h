/* quant_impl.h — private to src/kernels/quant*.c: the per-level dot-product kernels and small
 * helpers shared by the scalar reference and the SIMD files. Not for use outside quant*.c. */
#ifndef EXA_KERNELS_QUANT_IMPL_H
#define EXA_KERNELS_QUANT_IMPL_H

#include <math.h>

#include "kernels/quant.h"

/* scalar reference (quant.c) — kept forever; every SIMD kernel is tested against these */
float exa_qdot_q8_0_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q4_0_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q4_K_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q5_K_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q6_K_scalar(int64_t n, const void *w, const void *a);

/* AVX2 + FMA + F16C (quant_avx2.c) */
float exa_qdot_q8_0_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q4_0_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q4_K_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q5_K_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q6_K_avx2(int64_t n, const void *w, const void *a);

/* AVX-512 F/BW/VL + VNNI (quant_avx512.c) */
float exa_qdot_q8_0_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q4_0_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q4_K_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q5_K_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q6_K_avx512(int64_t n, const void *w, const void *a);

/* four activation rows per weight row (exa_qdot4_fn); each equals its level's one-row kernel bit
 * for bit. Scalar: the one-row reference four times. */
#define EXA_QDOT4_DECL(fmt, lvl) \
    void exa_qdot4_##fmt##_##lvl(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]);
EXA_QDOT4_DECL(q8_0, scalar) EXA_QDOT4_DECL(q4_0, scalar) EXA_QDOT4_DECL(q4_K, scalar)
EXA_QDOT4_DECL(q5_K, scalar) EXA_QDOT4_DECL(q6_K, scalar)
EXA_QDOT4_DECL(q8_0, avx2) EXA_QDOT4_DECL(q4_0, avx2) EXA_QDOT4_DECL(q4_K, avx2)
EXA_QDOT4_DECL(q5_K, avx2) EXA_QDOT4_DECL(q6_K, avx2)
EXA_QDOT4_DECL(q8_0, avx512) EXA_QDOT4_DECL(q4_0, avx512) EXA_QDOT4_DECL(q4_K, avx512)
EXA_QDOT4_DECL(q5_K, avx512) EXA_QDOT4_DECL(q6_K, avx512)
#undef EXA_QDOT4_DECL

/* Q8_K activation quantization, AVX-512 (quant_avx512.c): bit-identical to the scalar one */
void exa_quantize_q8_K_avx512(const float *x, void *y, int64_t nb);

/* ggml's nearest_int: round half to even via the 1.5*2^23 trick; valid for |f| <= 2^22. */
static inline int exa_nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    __builtin_memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

/* ggml make_qkx2_quants up to its search, shared by the scalar reference (quant.c) and the AVX2
 * search (quant_avx2.c) so that both start from the same bits: min (<= 0) and max of x, Σw and
 * Σw·x, the codes L of the plain fit scale = (max - min) / nmax and their weighted squared error.
 * Returns 0 for a constant or non-finite block (L all 0, *the_min = -min; the fit's scale is 0). */
typedef struct {
    float min, max, sum_w, sum_x, scale, best_error;
} exa_qkx2_fit;

static inline int exa_qkx2_first_fit(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                                     exa_qkx2_fit *fit) {
#ifdef __clang__
#pragma clang fp contract(off) /* the scalar reference is built without FMA: never fuse here */
#endif
    float min = x[0], max = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min || !(max - min < INFINITY)) { /* constant (or non-finite) block */
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = exa_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + min - x[i];
        best_error += weights[i] * diff * diff;
    }
    *fit = (exa_qkx2_fit){min, max, sum_w, sum_x, scale, best_error};
    return 1;
}

/* The k-quant scale search (ggml make_qkx2_quants for 32 weights): the scalar reference lives in
 * quant.c; the AVX2 version evaluates 8 candidate scales at once, each lane doing exactly the
 * reference's float operations in the same order, so both give identical bytes. */
float exa_qkx2_search_avx2(int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                           float rmin, float rdelta, int nstep);
/* exa_quantize_row with an explicit CPU level for the quantizer's search (tests) */
exa_status exa_quantize_row_level(exa_qtype t, exa_cpu_level level, const float *x, void *y, int64_t n);

/* Q4_K 6-bit scale/min unpacking (ggml's get_scale_min_k4): sub-block j in [0, 8). */
static inline void exa_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* All 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of a Q4_K block at once: the same unpacking
 * as exa_q4k_scale_min, done on 32-bit words (used by the SIMD kernels). */
static inline void exa_q4k_unpack_scales(const uint8_t *q, uint8_t out[16]) {
    uint32_t u[3], r[4];
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    __builtin_memcpy(u, q, 12);
    r[0] = u[0] & m6;                                     /* sc0..3 = q[0..3] & 63 */
    r[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);       /* sc4..7 */
    r[2] = u[1] & m6;                                     /* m0..3 = q[4..7] & 63 */
    r[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4); /* m4..7 */
    __builtin_memcpy(out, r, 16);
}

#endif
