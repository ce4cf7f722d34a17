/* quant.c — block-format metadata, the reference quantizers and dequantizers (ggml's algorithms),
 * the scalar reference dot products and kernel dispatch by CPU level (kernels/kernels.h).
 * REF: ggml/src/ggml-quants.c (quantize_row_{q4_0,q8_0,q4_K,q6_K,q8_K}_ref, make_qkx2_quants,
 * make_qx_quants, get_scale_min_k4) — re-implemented from the published algorithm. */
#include "kernels/quant.h"

#include <math.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/tensor.h"
#include "kernels/quant_impl.h"

#define GROUP_MAX_EPS 1e-15f

/* ---------------------------------------------------------------- format metadata */

int exa_qtype_valid(int t) {
    return t == EXA_QTYPE_Q4_0 || t == EXA_QTYPE_Q8_0 || t == EXA_QTYPE_Q4_K || t == EXA_QTYPE_Q5_K ||
           t == EXA_QTYPE_Q6_K || t == EXA_QTYPE_Q8_K;
}

int exa_qtype_is_weight(exa_qtype t) { return exa_qtype_valid((int)t) && t != EXA_QTYPE_Q8_K; }

const char *exa_qtype_name(exa_qtype t) {
    switch (t) {
    case EXA_QTYPE_Q4_0: return "q4_0";
    case EXA_QTYPE_Q8_0: return "q8_0";
    case EXA_QTYPE_Q4_K: return "q4_K";
    case EXA_QTYPE_Q5_K: return "q5_K";
    case EXA_QTYPE_Q6_K: return "q6_K";
    case EXA_QTYPE_Q8_K: return "q8_K";
    }
    return "?";
}

int exa_qtype_from_name(const char *name, exa_qtype *out) {
    static const exa_qtype all[] = {EXA_QTYPE_Q4_0, EXA_QTYPE_Q8_0, EXA_QTYPE_Q4_K, EXA_QTYPE_Q5_K, EXA_QTYPE_Q6_K};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (name && strcasecmp(name, exa_qtype_name(all[i])) == 0) { *out = all[i]; return 1; }
    return 0;
}

size_t exa_qtype_block_elems(exa_qtype t) {
    switch (t) {
    case EXA_QTYPE_Q4_0:
    case EXA_QTYPE_Q8_0: return EXA_QK;
    case EXA_QTYPE_Q4_K:
    case EXA_QTYPE_Q5_K:
    case EXA_QTYPE_Q6_K:
    case EXA_QTYPE_Q8_K: return EXA_QK_K;
    }
    return 0;
}

size_t exa_qtype_block_bytes(exa_qtype t) {
    switch (t) {
    case EXA_QTYPE_Q4_0: return sizeof(exa_block_q4_0);
    case EXA_QTYPE_Q8_0: return sizeof(exa_block_q8_0);
    case EXA_QTYPE_Q4_K: return sizeof(exa_block_q4_K);
    case EXA_QTYPE_Q5_K: return sizeof(exa_block_q5_K);
    case EXA_QTYPE_Q6_K: return sizeof(exa_block_q6_K);
    case EXA_QTYPE_Q8_K: return sizeof(exa_block_q8_K);
    }
    return 0;
}

size_t exa_qtype_row_bytes(exa_qtype t, int64_t n) {
    size_t be = exa_qtype_block_elems(t);
    if (!be || n < 0 || (uint64_t)n % be) return 0;
    size_t out;
    if (__builtin_mul_overflow((size_t)n / be, exa_qtype_block_bytes(t), &out)) return 0;
    return out;
}

exa_qtype exa_qtype_act(exa_qtype t) {
    return (t == EXA_QTYPE_Q4_K || t == EXA_QTYPE_Q5_K || t == EXA_QTYPE_Q6_K) ? EXA_QTYPE_Q8_K : EXA_QTYPE_Q8_0;
}

/* ---------------------------------------------------------------- helpers */

/* float -> int8 after rounding, clamped; NaN -> 0 (ggml would have undefined behaviour here) */
static inline int8_t round_i8(float v) {
    v = roundf(v);
    if (!(v == v)) return 0;
    if (v > 127.f) return 127;
    if (v < -128.f) return -128;
    return (int8_t)v;
}

/* ---------------------------------------------------------------- Q8_0 */

static void quantize_q8_0(const float *x, exa_block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EXA_QK) {
        float amax = 0.f;
        for (int j = 0; j < EXA_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = exa_f32_to_f16(d);
        for (int j = 0; j < EXA_QK; j++) y[i].qs[j] = round_i8(x[j] * id);
    }
}

static void dequantize_q8_0(const exa_block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = exa_f16_to_f32(x[i].d);
        for (int j = 0; j < EXA_QK; j++) *y++ = x[i].qs[j] * d;
    }
}

#if defined(__x86_64__) /* quantize_q8_0_avx512 / _avx2, bit-identical to the above */
#define SIMD_AVX512
#include "kernels/simd_f32.h"
#include "kernels/quant_simd.h"
#include "kernels/simd_f32_end.h"
#define SIMD_AVX2
#include "kernels/simd_f32.h"
#include "kernels/quant_simd.h"
#include "kernels/simd_f32_end.h"
#endif

/* ---------------------------------------------------------------- Q4_0 */

static void quantize_q4_0(const float *x, exa_block_q4_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EXA_QK) {
        float amax = 0.f, max = 0.f; /* max keeps its sign: d = max / -8 */
        for (int j = 0; j < EXA_QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -8.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = exa_f32_to_f16(d);
        for (int j = 0; j < EXA_QK / 2; j++) {
            /* ggml: MIN(15, (int8_t)(x*id + 8.5f)), i.e. truncation of a value in [0.5, 16.5] */
            float t0 = x[j] * id + 8.5f, t1 = x[j + EXA_QK / 2] * id + 8.5f;
            int q0 = t0 >= 0.f && t0 < 16.f ? (int)t0 : (t0 >= 16.f ? 15 : 0);
            int q1 = t1 >= 0.f && t1 < 16.f ? (int)t1 : (t1 >= 16.f ? 15 : 0);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void dequantize_q4_0(const exa_block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EXA_QK) {
        const float d = exa_f16_to_f32(x[i].d);
        for (int j = 0; j < EXA_QK / 2; j++) {
            y[j] = ((x[i].qs[j] & 0xF) - 8) * d;
            y[j + EXA_QK / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* ---------------------------------------------------------------- Q4_K */

/* Weighted least-squares fit of x ≈ scale*L + min (L in [0, nmax], min <= 0) with a search over
 * nstep perturbed inverse scales; returns scale, *the_min = -min. (ggml make_qkx2_quants) */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep) {
    exa_qkx2_fit f; /* min/max, Σw, Σw·x and the plain fit's codes L, scale and error */
    if (!exa_qkx2_first_fit(n, nmax, x, weights, L, the_min, &f)) return 0.f;
    const float max = f.max, sum_w = f.sum_w, sum_x = f.sum_x;
    float min = f.min, scale = f.scale, best_error = f.best_error;
    for (int is = 0; is <= nstep; is++) {
        const float iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = exa_nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                cur_error += weights[i] * diff * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Shared by Q4_K (nmax 15, search rmin -1, 20 steps) and Q5_K (nmax 31, rmin -0.5, 15 steps):
 * per 32-weight sub-block a weighted min/scale fit, then 6-bit scales and mins relative to the
 * super-block maxima, then the codes L re-derived from the stored (rounded) scales. */
static void kquant_scales(const float *x, uint16_t *d_out, uint16_t *dmin_out, uint8_t scales_out[12],
                          uint8_t L[EXA_QK_K], int nmax, float rmin, int nstep, int simd) {
    uint8_t Laux[32];
    float weights[32], mins[EXA_QK_K / 32], scales[EXA_QK_K / 32];
    float max_scale = 0, max_min = 0; /* the min is subtracted, so scales are >= 0 */
    for (int j = 0; j < EXA_QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
#if defined(__x86_64__)
        if (simd)
            scales[j] = exa_qkx2_search_avx2(nmax, x + 32 * j, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
        else
#endif
            scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales_out, 0, 12);
    for (int j = 0; j < EXA_QK_K / 32; j++) {
        /* as ggml: the int is narrowed to uint8 first, then capped at 63 */
        uint8_t ls8 = (uint8_t)exa_nearest_int(inv_scale * scales[j]), lm8 = (uint8_t)exa_nearest_int(inv_min * mins[j]);
        if (ls8 > 63) ls8 = 63;
        if (lm8 > 63) lm8 = 63;
        if (j < 4) {
            scales_out[j] = ls8;
            scales_out[j + 4] = lm8;
        } else {
            scales_out[j + 4] = (uint8_t)((ls8 & 0xF) | ((lm8 & 0xF) << 4));
            scales_out[j - 4] |= (uint8_t)((ls8 >> 4) << 6);
            scales_out[j] |= (uint8_t)((lm8 >> 4) << 6);
        }
    }
    *d_out = exa_f32_to_f16(max_scale / 63.f);
    *dmin_out = exa_f32_to_f16(max_min / 63.f);
    const float dd = exa_f16_to_f32(*d_out), dm = exa_f16_to_f32(*dmin_out);
    for (int j = 0; j < EXA_QK_K / 32; j++) {
        uint8_t sc, m;
        exa_q4k_scale_min(j, scales_out, &sc, &m);
        const float d = dd * sc;
        if (!d) continue;
        const float dmj = dm * m;
        for (int ii = 0; ii < 32; ii++) {
            int l = exa_nearest_int((x[32 * j + ii] + dmj) / d);
            L[32 * j + ii] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        }
    }
}

static void quantize_q4_K(const float *x, exa_block_q4_K *y, int64_t nb, int simd) {
    uint8_t L[EXA_QK_K];
    for (int64_t i = 0; i < nb; i++, x += EXA_QK_K) {
        kquant_scales(x, &y[i].d, &y[i].dmin, y[i].scales, L, 15, -1.f, 20, simd);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < EXA_QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

static void quantize_q5_K(const float *x, exa_block_q5_K *y, int64_t nb, int simd) {
    uint8_t L[EXA_QK_K];
    for (int64_t i = 0; i < nb; i++, x += EXA_QK_K) {
        kquant_scales(x, &y[i].d, &y[i].dmin, y[i].scales, L, 31, -0.5f, 15, simd);
        uint8_t *ql = y[i].qs, *qh = y[i].qh;
        memset(qh, 0, EXA_QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < EXA_QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
        }
    }
}

static void dequantize_q5_K(const exa_block_q5_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = exa_f16_to_f32(x[i].d), min = exa_f16_to_f32(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < EXA_QK_K; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            exa_q4k_scale_min(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            exa_q4k_scale_min(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

static void dequantize_q4_K(const exa_block_q4_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *q = x[i].qs;
        const float d = exa_f16_to_f32(x[i].d), min = exa_f16_to_f32(x[i].dmin);
        for (int j = 0, is = 0; j < EXA_QK_K; j += 64, q += 32, is += 2) {
            uint8_t sc, m;
            exa_q4k_scale_min(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            exa_q4k_scale_min(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

/* ---------------------------------------------------------------- Q6_K */

/* Symmetric fit x ≈ scale*(L - nmax) with L in [0, 2*nmax), weights x^2 (ggml make_qx_quants with
 * rmse_type 1 and no importance weights); searches 18 perturbed scales. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS || !(amax < INFINITY)) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = exa_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = exa_nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = exa_nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + (l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static void quantize_q6_K(const float *x, exa_block_q6_K *y, int64_t nb) {
    int8_t L[EXA_QK_K];
    float scales[EXA_QK_K / 16];
    for (int64_t i = 0; i < nb; i++, x += EXA_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < EXA_QK_K / 16; ib++) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            if (fabsf(scale) > max_abs_scale) { max_abs_scale = fabsf(scale); max_scale = scale; }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = exa_f32_to_f16(1 / iscale);
        for (int ib = 0; ib < EXA_QK_K / 16; ib++) {
            int s = exa_nearest_int(iscale * scales[ib]);
            y[i].scales[ib] = (int8_t)(s > 127 ? 127 : s < -128 ? -128 : s);
        }
        const float dd = exa_f16_to_f32(y[i].d);
        for (int j = 0; j < EXA_QK_K / 16; j++) {
            float d = dd * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = exa_nearest_int(x[16 * j + ii] / d);
                l = l < -32 ? -32 : l > 31 ? 31 : l;
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < EXA_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                ql[l] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                  ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

static void dequantize_q6_K(const exa_block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = exa_f16_to_f32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < EXA_QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

/* ---------------------------------------------------------------- Q8_K (activations) */

static void quantize_q8_K(const float *x, exa_block_q8_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EXA_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < EXA_QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (!amax || !(amax < INFINITY)) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < EXA_QK_K; j++) {
            int v = exa_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
        }
        for (int j = 0; j < EXA_QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

static void dequantize_q8_K(const exa_block_q8_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++)
        for (int j = 0; j < EXA_QK_K; j++) *y++ = x[i].d * x[i].qs[j];
}

/* ---------------------------------------------------------------- row entry points */

#if defined(__x86_64__)
static int cpu_has_f16c(void);
#endif

exa_status exa_quantize_row_level(exa_qtype t, exa_cpu_level level, const float *x, void *y, int64_t n) {
    if (!exa_qtype_row_bytes(t, n) && n != 0) return EXA_ERR_INVALID_ARG;
    if (!exa_qtype_valid((int)t)) return EXA_ERR_INVALID_ARG;
    const int64_t nb = n / (int64_t)exa_qtype_block_elems(t);
#if defined(__x86_64__)
    const int simd = level >= EXA_CPU_AVX2 && exa_cpu_detect() >= EXA_CPU_AVX2 && cpu_has_f16c();
    const int avx512 = level >= EXA_CPU_AVX512 && exa_quant_has_vnni(); /* the activation formats' AVX-512 quantizers */
#else
    const int simd = 0;
    (void)level;
#endif
    switch (t) {
    case EXA_QTYPE_Q8_0:
#if defined(__x86_64__)
        if (avx512) { quantize_q8_0_avx512(x, y, nb); break; }
        if (simd) { quantize_q8_0_avx2(x, y, nb); break; }
#endif
        quantize_q8_0(x, y, nb);
        break;
    case EXA_QTYPE_Q4_0: quantize_q4_0(x, y, nb); break;
    case EXA_QTYPE_Q4_K: quantize_q4_K(x, y, nb, simd); break;
    case EXA_QTYPE_Q5_K: quantize_q5_K(x, y, nb, simd); break;
    case EXA_QTYPE_Q6_K: quantize_q6_K(x, y, nb); break;
    case EXA_QTYPE_Q8_K:
#if defined(__x86_64__)
        if (avx512) { exa_quantize_q8_K_avx512(x, y, nb); break; }
#endif
        quantize_q8_K(x, y, nb);
        break;
    }
    return EXA_OK;
}

exa_status exa_quantize_row(exa_qtype t, const float *x, void *y, int64_t n) {
    return exa_quantize_row_level(t, exa_cpu_active(), x, y, n);
}

exa_status exa_dequantize_row(exa_qtype t, const void *x, float *y, int64_t n) {
    if (!exa_qtype_row_bytes(t, n) && n != 0) return EXA_ERR_INVALID_ARG;
    if (!exa_qtype_valid((int)t)) return EXA_ERR_INVALID_ARG;
    const int64_t nb = n / (int64_t)exa_qtype_block_elems(t);
    switch (t) {
    case EXA_QTYPE_Q8_0: dequantize_q8_0(x, y, nb); break;
    case EXA_QTYPE_Q4_0: dequantize_q4_0(x, y, nb); break;
    case EXA_QTYPE_Q4_K: dequantize_q4_K(x, y, nb); break;
    case EXA_QTYPE_Q5_K: dequantize_q5_K(x, y, nb); break;
    case EXA_QTYPE_Q6_K: dequantize_q6_K(x, y, nb); break;
    case EXA_QTYPE_Q8_K: dequantize_q8_K(x, y, nb); break;
    }
    return EXA_OK;
}

exa_status exa_quantize_act(exa_qtype t, const float *x, void *a, int64_t n) {
    if (!exa_qtype_is_weight(t)) return EXA_ERR_INVALID_ARG;
    return exa_quantize_row(exa_qtype_act(t), x, a, n);
}

/* ---------------------------------------------------------------- scalar reference dots */

float exa_qdot_q8_0_scalar(int64_t n, const void *w, const void *a) {
    const exa_block_q8_0 *x = w, *y = a;
    float sum = 0.f;
    for (int64_t i = 0; i < n / EXA_QK; i++) {
        int s = 0;
        for (int j = 0; j < EXA_QK; j++) s += x[i].qs[j] * y[i].qs[j];
        sum += (float)s * (exa_f16_to_f32(x[i].d) * exa_f16_to_f32(y[i].d));
    }
    return sum;
}

float exa_qdot_q4_0_scalar(int64_t n, const void *w, const void *a) {
    const exa_block_q4_0 *x = w;
    const exa_block_q8_0 *y = a;
    float sum = 0.f;
    for (int64_t i = 0; i < n / EXA_QK; i++) {
        int s = 0;
        for (int j = 0; j < EXA_QK / 2; j++) {
            s += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j];
            s += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + EXA_QK / 2];
        }
        sum += (float)s * (exa_f16_to_f32(x[i].d) * exa_f16_to_f32(y[i].d));
    }
    return sum;
}

/* Q4_K and Q5_K super-blocks both hold d, dmin, 8 (scale, min) pairs of 6 bits and 256 4-bit
 * codes q (128 bytes: per 64 weights, sub-block 2j in the low nibbles of 32 bytes, 2j+1 in the high
 * ones); Q5_K adds a 5th bit per code from qh (32 bytes, bit j for sub-block j). Weight j·32+l is
 * d·sc_j·q − dmin·m_j, so a block contributes y.d·d·Σ_j sc_j·(Σ_l q·a) − y.d·dmin·Σ_j m_j·(Σ_l a),
 * Σ a from the Q8_K bsums. The integer sums of one block (qh NULL for Q4_K); the two callers are
 * flattened, so each gets its own copy (GCC 12 emits the same code as for two separate loops,
 * which always_inline did not quite do: one more spill in the Q5_K loop). */
static void k45_block_sums(const uint8_t *scales, const uint8_t *q, const uint8_t *qh, const exa_block_q8_K *y,
                           int *sumi_out, int *summ_out) {
    const int8_t *aq = y->qs;
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; j += 2, q += 32, aq += 64) {
        uint8_t sc0, m0, sc1, m1;
        exa_q4k_scale_min(j, scales, &sc0, &m0);
        exa_q4k_scale_min(j + 1, scales, &sc1, &m1);
        int s0 = 0, s1 = 0;
        for (int l = 0; l < 32; l++) { /* codes of sub-blocks j, j+1 (+16 where Q5_K's 5th bit is set) */
            const int h = qh ? qh[l] : 0;
            s0 += ((q[l] & 0xF) | (((h >> j) & 1) << 4)) * aq[l];
            s1 += ((q[l] >> 4) | (((h >> (j + 1)) & 1) << 4)) * aq[l + 32];
        }
        sumi += sc0 * s0 + sc1 * s1;
        summ += m0 * (y->bsums[2 * j] + y->bsums[2 * j + 1]) + m1 * (y->bsums[2 * j + 2] + y->bsums[2 * j + 3]);
    }
    *sumi_out = sumi;
    *summ_out = summ;
}

__attribute__((flatten)) float exa_qdot_q4_K_scalar(int64_t n, const void *w, const void *a) {
    const exa_block_q4_K *x = w;
    const exa_block_q8_K *y = a;
    float sum = 0.f;
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        int sumi, summ;
        k45_block_sums(x[i].scales, x[i].qs, NULL, &y[i], &sumi, &summ);
        sum += y[i].d * exa_f16_to_f32(x[i].d) * (float)sumi - y[i].d * exa_f16_to_f32(x[i].dmin) * (float)summ;
    }
    return sum;
}

__attribute__((flatten)) float exa_qdot_q5_K_scalar(int64_t n, const void *w, const void *a) {
    const exa_block_q5_K *x = w;
    const exa_block_q8_K *y = a;
    float sum = 0.f;
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        int sumi, summ;
        k45_block_sums(x[i].scales, x[i].qs, x[i].qh, &y[i], &sumi, &summ);
        sum += y[i].d * exa_f16_to_f32(x[i].d) * (float)sumi - y[i].d * exa_f16_to_f32(x[i].dmin) * (float)summ;
    }
    return sum;
}

float exa_qdot_q6_K_scalar(int64_t n, const void *w, const void *a) {
    const exa_block_q6_K *x = w;
    const exa_block_q8_K *y = a;
    float sum = 0.f;
    int8_t q[EXA_QK_K]; /* the block's 6-bit codes minus 32, in weight order */
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        for (int c = 0; c < EXA_QK_K; c += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                q[c + l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[c + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[c + l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[c + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int sumi = 0;
        for (int g = 0; g < EXA_QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += q[16 * g + l] * y[i].qs[16 * g + l];
            sumi += x[i].scales[g] * s;
        }
        const float contrib = exa_f16_to_f32(x[i].d) * y[i].d * (float)sumi; /* kept apart from the sum: no FMA */
        sum += contrib;
    }
    return sum;
}

/* the 4-token reference: the one-row reference once per activation row */
#define EXA_QDOT4_SCALAR(fmt)                                                                              \
    void exa_qdot4_##fmt##_scalar(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]) { \
        for (int k = 0; k < 4; k++) out[k] = exa_qdot_##fmt##_scalar(n, w, (const uint8_t *)act + (size_t)k * act_stride); \
    }
EXA_QDOT4_SCALAR(q8_0)
EXA_QDOT4_SCALAR(q4_0)
EXA_QDOT4_SCALAR(q4_K)
EXA_QDOT4_SCALAR(q5_K)
EXA_QDOT4_SCALAR(q6_K)
#undef EXA_QDOT4_SCALAR

/* ---------------------------------------------------------------- CPU level + dispatch */

#if defined(__x86_64__)
/* AVX-512 VNNI (CPUID.7.0:ECX bit 11) with the OS saving opmask/ZMM state (XCR0 bits 1,2,5,6,7);
 * read directly because clang 14's __builtin_cpu_supports lacks "avx512vnni". */
static int cpu_has_avx512vnni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6u) != 0xE6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c >> 11) & 1u;
}

static int cpu_has_f16c(void) { /* CPUID.1:ECX bit 29 ("f16c" is not a clang 14 builtin name) */
    static atomic_int cached = -1; /* cpuid traps to the hypervisor in VMs: ask once */
    int v = atomic_load(&cached);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1u);
        atomic_store(&cached, v);
    }
    return v;
}
#endif

int exa_quant_has_vnni(void) {
#if defined(__x86_64__)
    static atomic_int cached = -1;
    int v = atomic_load(&cached);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("fma") && cpu_has_f16c() && cpu_has_avx512vnni();
        atomic_store(&cached, v);
    }
    return v;
#else
    return 0;
#endif
}

/* the level whose kernels actually run when `level` is asked for on this CPU */
static exa_cpu_level kernel_level(exa_cpu_level level) {
    exa_cpu_level max = exa_cpu_detect();
    if (level > max) level = max;
#if defined(__x86_64__)
    if (level == EXA_CPU_AVX512 && !exa_quant_has_vnni()) level = EXA_CPU_AVX2;
    if (level == EXA_CPU_AVX2 && !cpu_has_f16c()) level = EXA_CPU_SCALAR;
#else
    level = EXA_CPU_SCALAR;
#endif
    return level;
}

/* the level's kernel of one kind (qdot: one activation row, qdot4: four) for format t */
#define EXA_QDOT_PICK(kind, lvl)                                      \
    switch (t) {                                                      \
    case EXA_QTYPE_Q8_0: return exa_##kind##_q8_0_##lvl;              \
    case EXA_QTYPE_Q4_0: return exa_##kind##_q4_0_##lvl;              \
    case EXA_QTYPE_Q4_K: return exa_##kind##_q4_K_##lvl;              \
    case EXA_QTYPE_Q5_K: return exa_##kind##_q5_K_##lvl;              \
    case EXA_QTYPE_Q6_K: return exa_##kind##_q6_K_##lvl;              \
    default: return NULL;                                             \
    }

exa_qdot4_fn exa_qdot4_get(exa_qtype t, exa_cpu_level level) {
    level = kernel_level(level);
#if defined(__x86_64__)
    if (level == EXA_CPU_AVX512) EXA_QDOT_PICK(qdot4, avx512)
    if (level == EXA_CPU_AVX2) EXA_QDOT_PICK(qdot4, avx2)
#endif
    EXA_QDOT_PICK(qdot4, scalar)
}

exa_qdot_fn exa_qdot_get(exa_qtype t, exa_cpu_level level) {
    level = kernel_level(level);
#if defined(__x86_64__)
    if (level == EXA_CPU_AVX512) EXA_QDOT_PICK(qdot, avx512)
    if (level == EXA_CPU_AVX2) EXA_QDOT_PICK(qdot, avx2)
#endif
    EXA_QDOT_PICK(qdot, scalar)
}
#undef EXA_QDOT_PICK

exa_status exa_qmatvec(exa_qtype t, exa_cpu_level level, int64_t rows, int64_t cols, const void *W,
                       const float *x, float *y, void *act_buf) {
    exa_qdot_fn dot = exa_qdot_get(t, level);
    size_t rb = exa_qtype_row_bytes(t, cols);
    if (!dot || !rb || rows < 0) return EXA_ERR_INVALID_ARG;
    exa_status st = exa_quantize_act(t, x, act_buf, cols);
    if (st != EXA_OK) return st;
    const uint8_t *w = W;
    for (int64_t r = 0; r < rows; r++) y[r] = dot(cols, w + (size_t)r * rb, act_buf);
    return EXA_OK;
}

exa_status exa_quantize_act_rows(exa_qtype t, const float *x, int T, int64_t cols, void *act) {
    const size_t ab = exa_qtype_row_bytes(exa_qtype_act(t), cols);
    if (!exa_qtype_is_weight(t) || !ab || T < 0) return EXA_ERR_INVALID_ARG;
    for (int i = 0; i < T; i++) {
        exa_status st = exa_quantize_act(t, x + (size_t)i * (size_t)cols, (uint8_t *)act + (size_t)i * ab, cols);
        if (st) return st;
    }
    return EXA_OK;
}

exa_status exa_qmatmul_rows(exa_qtype t, exa_cpu_level level, int64_t r0, int64_t r1, int64_t cols, const void *W,
                            const void *act, int T, float *y, int64_t ldy) {
    exa_qdot_fn dot = exa_qdot_get(t, level);
    const size_t rb = exa_qtype_row_bytes(t, cols), ab = exa_qtype_row_bytes(exa_qtype_act(t), cols);
    if (!dot || !rb || r0 < 0 || r1 < r0 || T < 0 || (T > 1 && ldy < r1)) return EXA_ERR_INVALID_ARG;
    const uint8_t *w = W, *a = act;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * rb;
        for (int i = 0; i < T; i++) y[(size_t)i * (size_t)ldy + (size_t)r] = dot(cols, row, a + (size_t)i * ab);
    }
    return EXA_OK;
}

/* ---------------------------------------------------------------- threaded helpers */

typedef struct qjob { /* exa_quantize_matrix over the pool */
    exa_qtype t;
    const float *x;
    int64_t rows, cols;
    void *act;          /* output rows */
    exa_status st[64];  /* per-thread status (threads beyond 64 fold onto the last slot) */
} qjob;

static void part64(int64_t n, int ith, int nth, int64_t *b, int64_t *e) {
    int64_t per = n / nth, rem = n % nth;
    *b = ith * per + (ith < rem ? ith : rem);
    *e = *b + per + (ith < rem);
}

static void qjob_quant(void *arg, int ith, int nth) {
    qjob *j = arg;
    int64_t b, e;
    part64(j->rows, ith, nth, &b, &e);
    const size_t rb = exa_qtype_row_bytes(j->t, j->cols);
    for (int64_t r = b; r < e; r++) {
        exa_status st = exa_quantize_row(j->t, j->x + r * j->cols, (uint8_t *)j->act + (size_t)r * rb, j->cols);
        if (st) { j->st[ith < 64 ? ith : 63] = st; return; }
    }
}

static exa_status qjob_run(exa_pool *pool, exa_pool_fn fn, qjob *j) {
    if (pool) exa_pool_run(pool, fn, j);
    else fn(j, 0, 1);
    for (int i = 0; i < 64; i++)
        if (j->st[i]) return j->st[i];
    return EXA_OK;
}

exa_status exa_quantize_matrix(exa_pool *pool, exa_qtype t, const float *x, int64_t rows, int64_t cols, void *y) {
    if (!exa_qtype_valid((int)t) || (!exa_qtype_row_bytes(t, cols) && cols) || rows < 0) return EXA_ERR_INVALID_ARG;
    qjob j = {.t = t, .x = x, .rows = rows, .cols = cols, .act = y};
    return qjob_run(pool, qjob_quant, &j);
}
