/* quant_impl.h — private to src/kernels/quant*.c: the per-level dot-product kernels and small
 * helpers shared by the scalar reference and the SIMD files. Not for use outside quant*.c. */
#ifndef EXA_KERNELS_QUANT_IMPL_H
#define EXA_KERNELS_QUANT_IMPL_H

#include "kernels/quant.h"

/* scalar reference (quant.c) — kept forever; every SIMD kernel is tested against these */
float exa_qdot_q8_0_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q4_0_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q4_K_scalar(int64_t n, const void *w, const void *a);
float exa_qdot_q6_K_scalar(int64_t n, const void *w, const void *a);

/* AVX2 + FMA + F16C (quant_avx2.c) */
float exa_qdot_q8_0_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q4_0_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q4_K_avx2(int64_t n, const void *w, const void *a);
float exa_qdot_q6_K_avx2(int64_t n, const void *w, const void *a);

/* AVX-512 F/BW/VL + VNNI (quant_avx512.c) */
float exa_qdot_q8_0_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q4_0_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q4_K_avx512(int64_t n, const void *w, const void *a);
float exa_qdot_q6_K_avx512(int64_t n, const void *w, const void *a);

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

#endif
