/* quant_avx2.c — AVX2 + FMA + F16C dot products of quantized weight rows with quantized
 * activations (Q8_0/Q4_0 · Q8_0, Q4_K/Q5_K/Q6_K · Q8_K), one activation row (exa_qdot_fn) or four
 * per weight row with each block decoded once (exa_qdot4_fn, bit-identical per row). Compiled with __attribute__((target)) so the
 * library still runs on any x86-64; quant.c only calls these after __builtin_cpu_supports says
 * yes. Integer block sums are exact; only the float accumulation order differs from the scalar
 * reference in quant.c. */
#include "kernels/quant_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

#define EXA_AVX2 __attribute__((target("avx2,fma,f16c")))

EXA_AVX2 static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

EXA_AVX2 static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

EXA_AVX2 static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

/* scales of 4 consecutive blocks (f16 at byte stride sx in x, sy in y), multiplied, broadcast to
 * 4 vectors (one per block) */
EXA_AVX2 static inline void scales4(const uint8_t *x, size_t sx, const uint8_t *y, size_t sy, __m256 out[4]) {
    uint16_t hx[4], hy[4];
    for (int k = 0; k < 4; k++) {
        __builtin_memcpy(&hx[k], x + k * sx, 2);
        __builtin_memcpy(&hy[k], y + k * sy, 2);
    }
    const __m256 s = _mm256_castps128_ps256(_mm_mul_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hx)),
                                                       _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hy))));
    for (int k = 0; k < 4; k++) out[k] = _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(k));
}

/* ---- Q8_0 / Q4_0: 32-weight blocks with an f16 scale, against Q8_0 activations. Both formats
 * walk a row the same way (the drivers QDOT_B32 here, QDOT4_B32 for four rows below); they
 * differ only in the weight side of one block (one 256-bit register), which each format supplies
 * as
 *   W1_<fmt>             the block, decoded
 *   w1_<fmt>(x)          decode block *x
 *   w1dot_<fmt>(w, a)    8 int32 partial sums of w · a, a = the activation block's int8 codes
 *                        (exact) */

/* Q8_0: x and |x| (as u8; x = -128 is handled: |x| fits in u8); signed·signed through maddubs as
 * |x| · (a with x's sign moved onto it) */
typedef struct {
    __m256i x, ax;
} W1_q8_0;

EXA_AVX2 static inline W1_q8_0 w1_q8_0(const exa_block_q8_0 *x) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)x->qs);
    return (W1_q8_0){v, _mm256_sign_epi8(v, v)};
}

EXA_AVX2 static inline __m256i w1dot_q8_0(W1_q8_0 w, const int8_t *a) {
    const __m256i sa = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)a), w.x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w.ax, sa), _mm256_set1_epi16(1));
}

/* Q4_0: the 32 nibble codes q in [0, 16) (value q - 8) in weight order, unsigned: straight into
 * maddubs (no sign tricks); 8·Σa is subtracted in int16 (|pair sums| <= 3840 + 2048) */
typedef struct {
    __m256i q;
} W1_q4_0;

EXA_AVX2 static inline W1_q4_0 w1_q4_0(const exa_block_q4_0 *x) {
    const __m128i b = _mm_loadu_si128((const __m128i *)x->qs);
    return (W1_q4_0){_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0xF))};
}

EXA_AVX2 static inline __m256i w1dot_q4_0(W1_q4_0 w, const int8_t *a) {
    const __m256i av = _mm256_loadu_si256((const __m256i *)a);
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(w.q, av), _mm256_maddubs_epi16(_mm256_set1_epi8(8), av));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* one activation row: 4 blocks at a time (scales converted together), blocks alternating between
 * two accumulators (two chains hide FMA latency), then the leftover blocks one by one */
#define QDOT_B32(fmt)                                                                                         \
    EXA_AVX2 float exa_qdot_##fmt##_avx2(int64_t n, const void *w, const void *a) {                           \
        const exa_block_##fmt *x = w;                                                                         \
        const exa_block_q8_0 *y = a;                                                                          \
        const int64_t nb = n / EXA_QK;                                                                        \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                        \
        int64_t i = 0;                                                                                        \
        for (; i + 3 < nb; i += 4) {                                                                          \
            __m256 d[4];                                                                                      \
            scales4((const uint8_t *)&x[i].d, sizeof *x, (const uint8_t *)&y[i].d, sizeof *y, d);             \
            for (int k = 0; k < 4; k += 2) {                                                                  \
                const __m256i p0 = w1dot_##fmt(w1_##fmt(&x[i + k]), y[i + k].qs);                             \
                const __m256i p1 = w1dot_##fmt(w1_##fmt(&x[i + k + 1]), y[i + k + 1].qs);                     \
                acc0 = _mm256_fmadd_ps(d[k], _mm256_cvtepi32_ps(p0), acc0);                                   \
                acc1 = _mm256_fmadd_ps(d[k + 1], _mm256_cvtepi32_ps(p1), acc1);                               \
            }                                                                                                 \
        }                                                                                                     \
        for (; i < nb; i++) {                                                                                 \
            const __m256i p0 = w1dot_##fmt(w1_##fmt(&x[i]), y[i].qs);                                         \
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(x[i].d) * f16(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);  \
        }                                                                                                     \
        return hsum_ps(_mm256_add_ps(acc0, acc1));                                                            \
    }
QDOT_B32(q8_0)
QDOT_B32(q4_0)

/* Q4_K and Q5_K blocks share d, dmin and the packed scales at the same offsets and differ only
 * by Q5_K's 5th bits (qh): one body for both (dot_k45 here, dot4_k45 for four rows below),
 * qh_off < 0 for Q4_K. Both callers pass constants, so each gets its own specialised copy. */
_Static_assert(offsetof(exa_block_q4_K, scales) == offsetof(exa_block_q5_K, scales) &&
                   offsetof(exa_block_q4_K, dmin) == offsetof(exa_block_q5_K, dmin),
               "Q4_K and Q5_K headers");

/* codes of chunk j (64 weights at q): *lo sub-block 2j (low nibbles), *hi sub-block 2j+1 (high
 * nibbles); Q5_K (q5) adds the 5th bits from the block's qh (hb): bit 2j of qh for the low
 * nibbles, bit 2j+1 for the high ones (masking bit 0 after the 16-bit shift keeps bytes
 * independent) */
EXA_AVX2 __attribute__((always_inline)) static inline void k45_codes(const uint8_t *q, __m256i hb, int q5, int j,
                                                                     __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    const __m256i b = _mm256_loadu_si256((const __m256i *)q);
    *lo = _mm256_and_si256(b, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
    if (q5) {
        *lo = _mm256_or_si256(*lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * j)), one), 4));
        *hi = _mm256_or_si256(*hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * j + 1)), one), 4));
    }
}

/* per 64 weights: codes lo (sub-block 2j) and hi (2j+1) with their i16 scales against the
 * activations at aq */
EXA_AVX2 static inline __m256i q4k_pair(__m256i lo, __m256i hi, __m256i slo, __m256i shi, const int8_t *aq) {
    const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)aq)), slo);
    const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(aq + 32))), shi);
    return _mm256_add_epi32(p0, p1);
}

/* a block's 8 scales as i16 in both 128-bit halves (*sc16) and its 8 mins each repeated twice as
 * i16, to pair with the 16 bsums (*mins16) */
EXA_AVX2 static inline void k45_scales(const uint8_t *scales, __m256i *sc16, __m256i *mins16) {
    uint8_t sm[16];
    exa_q4k_unpack_scales(scales, sm);
    const __m128i smv = _mm_loadu_si128((const __m128i *)sm);
    *sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(smv));
    *mins16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(smv, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

EXA_AVX2 __attribute__((always_inline)) static inline float dot_k45(int64_t n, const void *w, size_t bsz, size_t qs_off,
                                                                   ptrdiff_t qh_off, const exa_block_q8_K *y) {
    /* shuffles that broadcast i16 scale 2j to the low 128 bits and 2j+1 to the high 128 bits */
    __m256i sel[4];
    for (int j = 0; j < 4; j++) {
        const __m128i lo = _mm_set1_epi16((short)((4 * j) | ((4 * j + 1) << 8)));
        const __m128i hi = _mm_set1_epi16((short)((4 * j + 2) | ((4 * j + 3) << 8)));
        sel[j] = _mm256_set_m128i(hi, lo);
    }
    __m256 acc = _mm256_setzero_ps();
    __m256 acc_m = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)i * bsz;
        const exa_block_q4_K *x = (const exa_block_q4_K *)blk; /* header fields only (d, dmin, scales) */
        __m256i sc16, mins16;
        k45_scales(x->scales, &sc16, &mins16);
        const __m256i summ = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const uint8_t *q = blk + qs_off;
        const int8_t *aq = y[i].qs;
        const __m256i hb = qh_off >= 0 ? _mm256_loadu_si256((const __m256i *)(blk + qh_off)) : _mm256_setzero_si256();
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q += 32, aq += 64) {
            __m256i lo, hi;
            k45_codes(q, hb, qh_off >= 0, j, &lo, &hi);
            const __m256i s = _mm256_shuffle_epi8(sc16, sel[j]); /* lanes: sc[2j] ×8 | sc[2j+1] ×8 */
            const __m256i slo = _mm256_permute2x128_si256(s, s, 0x00), shi = _mm256_permute2x128_si256(s, s, 0x11);
            sumi = _mm256_add_epi32(sumi, q4k_pair(lo, hi, slo, shi, aq));
        }
        const float d = y[i].d * f16(x->d), dm = y[i].d * f16(x->dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        acc_m = _mm256_fmadd_ps(_mm256_set1_ps(dm), _mm256_cvtepi32_ps(summ), acc_m);
    }
    return hsum_ps(acc) - hsum_ps(acc_m);
}

EXA_AVX2 float exa_qdot_q4_K_avx2(int64_t n, const void *w, const void *a) {
    return dot_k45(n, w, sizeof(exa_block_q4_K), offsetof(exa_block_q4_K, qs), -1, a);
}

EXA_AVX2 float exa_qdot_q5_K_avx2(int64_t n, const void *w, const void *a) {
    return dot_k45(n, w, sizeof(exa_block_q5_K), offsetof(exa_block_q5_K, qs), (ptrdiff_t)offsetof(exa_block_q5_K, qh), a);
}

EXA_AVX2 float exa_qdot_q6_K_avx2(int64_t n, const void *w, const void *a) {
    const exa_block_q6_K *x = w;
    const exa_block_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3);
    const __m256i mC = _mm256_set1_epi8(0x0C), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        /* sum over groups of sc[g] * 32 * bsums[g], the offset of the unsigned 6-bit codes */
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const int corr = hsum_epi32(_mm256_madd_epi16(sc16, bs)) * 32;
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *aq = y[i].qs, *sc = x[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 2; c++, ql += 64, qh += 32, aq += 128, sc += 8) {
            const __m256i la = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i lb = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_slli_epi16(_mm256_and_si256(h, mC), 2));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(h, m30));
            const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                                               _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
            const __m256i qs[4] = {q1, q2, q3, q4};
            for (int k = 0; k < 4; k++) {
                const __m256i av = _mm256_loadu_si256((const __m256i *)(aq + 32 * k));
                const __m256i p = _mm256_maddubs_epi16(qs[k], av);
                const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
        }
        const float d = f16(x[i].d) * y[i].d;
        sumi = _mm256_sub_epi32(sumi, _mm256_setr_epi32(corr, 0, 0, 0, 0, 0, 0, 0));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc);
}

/* ggml's nearest_int on 8 lanes: the same float add and bit extraction */
EXA_AVX2 static inline __m256i nearest_int8(__m256 v) {
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
}

/* make_qkx2_quants for n = 32 with the nstep+1 candidate scales evaluated 8 at a time. Every
 * lane performs the reference's operations in the reference's order (mul and add kept separate,
 * never fused) and winners are taken in order (see below), so the result is identical. */
EXA_AVX2 float exa_qkx2_search_avx2(int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                                    float rmin, float rdelta, int nstep) {
#ifdef __clang__
#pragma clang fp contract(off) /* the scalar reference is built without FMA: never fuse here */
#endif
    enum { n = 32 };
    exa_qkx2_fit f; /* the reference's start, shared (quant_impl.h) */
    if (!exa_qkx2_first_fit(n, nmax, x, weights, L, the_min, &f)) return 0.f;
    const float max = f.max, sum_w = f.sum_w, sum_x = f.sum_x;
    float min = f.min, scale = f.scale, best_error = f.best_error;
    /* The reference updates min (and so x - min and max - min) whenever a candidate wins, and
     * later candidates use the new value: evaluate 8 candidates with the current min, accept the
     * first winner in order, then resume right after it with the updated min. */
    const __m256i vmax = _mm256_set1_epi32(nmax), vzero = _mm256_setzero_si256();
    int is = 0;
    while (is <= nstep) {
        float xm[n], isc[8];
        for (int i = 0; i < n; i++) xm[i] = x[i] - min;
        for (int k = 0; k < 8; k++) isc[k] = (rmin + rdelta * (is + k) + nmax) / (max - min);
        const __m256 vis = _mm256_loadu_ps(isc);
        __m256 sl = _mm256_setzero_ps(), sl2 = sl, sxl = sl;
        int32_t lanes[n][8];
        for (int i = 0; i < n; i++) {
            __m256i l = nearest_int8(_mm256_mul_ps(vis, _mm256_set1_ps(xm[i])));
            l = _mm256_min_epi32(_mm256_max_epi32(l, vzero), vmax);
            _mm256_storeu_si256((__m256i *)lanes[i], l);
            const __m256 lf = _mm256_cvtepi32_ps(l), w = _mm256_set1_ps(weights[i]);
            const __m256 wl = _mm256_mul_ps(w, lf);
            sl = _mm256_add_ps(sl, wl);
            sl2 = _mm256_add_ps(sl2, _mm256_mul_ps(wl, lf));
            sxl = _mm256_add_ps(sxl, _mm256_mul_ps(wl, _mm256_set1_ps(x[i])));
        }
        float a_l[8], a_l2[8], a_xl[8], ts[8], tm[8], err[8];
        int ok[8];
        _mm256_storeu_ps(a_l, sl);
        _mm256_storeu_ps(a_l2, sl2);
        _mm256_storeu_ps(a_xl, sxl);
        for (int k = 0; k < 8; k++) {
            const float D = sum_w * a_l2[k] - a_l[k] * a_l[k];
            ok[k] = D > 0 && is + k <= nstep;
            ts[k] = tm[k] = 0;
            if (!ok[k]) continue;
            ts[k] = (sum_w * a_xl[k] - sum_x * a_l[k]) / D;
            tm[k] = (a_l2[k] * sum_x - a_l[k] * a_xl[k]) / D;
            if (tm[k] > 0) {
                tm[k] = 0;
                ts[k] = a_xl[k] / a_l2[k];
            }
        }
        const __m256 vts = _mm256_loadu_ps(ts), vtm = _mm256_loadu_ps(tm);
        __m256 ve = _mm256_setzero_ps();
        for (int i = 0; i < n; i++) {
            const __m256 lf = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)lanes[i]));
            const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(vts, lf), vtm), _mm256_set1_ps(x[i]));
            ve = _mm256_add_ps(ve, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(weights[i]), diff), diff));
        }
        _mm256_storeu_ps(err, ve);
        int k = 0;
        while (k < 8 && !(ok[k] && err[k] < best_error)) k++;
        if (k == 8) {
            is += 8;
            continue;
        }
        for (int i = 0; i < n; i++) L[i] = (uint8_t)lanes[i][k];
        best_error = err[k];
        scale = ts[k];
        min = tm[k];
        is += k + 1;
    }
    *the_min = -min;
    return scale;
}

/* ---------------------------------------------------------------- four activation rows
 * exa_qdot4_fn: one weight row against activation rows act + k*act_stride, k = 0..3. Each weight
 * block is decoded once (nibbles, high bits, scale shuffles) and applied to the four rows; per
 * row the integer and float operations are exactly those of the one-row kernel above, in the
 * same order, so out[k] is bit-identical to it. Accumulators are named variables. */
#define ACT_ROW(k) ((const void *)((const uint8_t *)act + (size_t)(k) * act_stride))

/* 4 block scales of row k: lanes of fx·fy broadcast as scales4 does, block b */
#define SCALE_B(s, b) _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(b))

EXA_AVX2 static inline __m128 f16x4(const uint8_t *x, size_t sx) {
    uint16_t hx[4];
    for (int k = 0; k < 4; k++) __builtin_memcpy(&hx[k], x + k * sx, 2);
    return _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hx));
}

EXA_AVX2 static inline __m256 scales4_row(__m128 fx, const uint8_t *y, size_t sy) {
    return _mm256_castps128_ps256(_mm_mul_ps(fx, f16x4(y, sy)));
}

/* Q8_0 / Q4_0 (W1_<fmt> above): per row exactly the one-row kernel's steps (QDOT_B32), in its
 * order — block b into accumulator a, b+1 into accumulator b — with each block decoded once for
 * the four rows */
/* rows k = 0..3: c<k><acc> += scale(k, block blk) · (w · y<k>[blk]) */
#define B32_ROWS(fmt, acc, w, blk, SCALE)                                                                     \
    c0##acc = _mm256_fmadd_ps(SCALE(0, blk), _mm256_cvtepi32_ps(w1dot_##fmt(w, y0[blk].qs)), c0##acc);     \
    c1##acc = _mm256_fmadd_ps(SCALE(1, blk), _mm256_cvtepi32_ps(w1dot_##fmt(w, y1[blk].qs)), c1##acc);     \
    c2##acc = _mm256_fmadd_ps(SCALE(2, blk), _mm256_cvtepi32_ps(w1dot_##fmt(w, y2[blk].qs)), c2##acc);     \
    c3##acc = _mm256_fmadd_ps(SCALE(3, blk), _mm256_cvtepi32_ps(w1dot_##fmt(w, y3[blk].qs)), c3##acc)
#define GROUP_SCALE(k, blk) SCALE_B(d##k, (int)((blk) - i)) /* block blk of the group of 4 at i */
#define BLOCK_SCALE(k, blk) _mm256_set1_ps(xd * f16(y##k[blk].d)) /* a leftover block */

#define QDOT4_B32(fmt)                                                                                        \
    EXA_AVX2 void exa_qdot4_##fmt##_avx2(int64_t n, const void *w, const void *act, size_t act_stride,        \
                                         float out[4]) {                                                      \
        const exa_block_##fmt *x = w;                                                                         \
        const exa_block_q8_0 *y0 = ACT_ROW(0), *y1 = ACT_ROW(1), *y2 = ACT_ROW(2), *y3 = ACT_ROW(3);          \
        const int64_t nb = n / EXA_QK;                                                                        \
        __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a,   \
               c3b = c0a;                                                                                     \
        int64_t i = 0;                                                                                        \
        for (; i + 3 < nb; i += 4) {                                                                          \
            const __m128 fx = f16x4((const uint8_t *)&x[i].d, sizeof *x);                                     \
            const __m256 d0 = scales4_row(fx, (const uint8_t *)&y0[i].d, sizeof *y0);                         \
            const __m256 d1 = scales4_row(fx, (const uint8_t *)&y1[i].d, sizeof *y1);                         \
            const __m256 d2 = scales4_row(fx, (const uint8_t *)&y2[i].d, sizeof *y2);                         \
            const __m256 d3 = scales4_row(fx, (const uint8_t *)&y3[i].d, sizeof *y3);                         \
            for (int b = 0; b < 4; b += 2) {                                                                  \
                const W1_##fmt wa = w1_##fmt(&x[i + b]);                                                      \
                B32_ROWS(fmt, a, wa, i + b, GROUP_SCALE);                                                          \
                const W1_##fmt wb = w1_##fmt(&x[i + b + 1]);                                                  \
                B32_ROWS(fmt, b, wb, i + b + 1, GROUP_SCALE);                                                      \
            }                                                                                                 \
        }                                                                                                     \
        for (; i < nb; i++) {                                                                                 \
            const W1_##fmt wa = w1_##fmt(&x[i]);                                                              \
            const float xd = f16(x[i].d);                                                                     \
            B32_ROWS(fmt, a, wa, i, BLOCK_SCALE);                                                                  \
        }                                                                                                     \
        out[0] = hsum_ps(_mm256_add_ps(c0a, c0b));                                                            \
        out[1] = hsum_ps(_mm256_add_ps(c1a, c1b));                                                            \
        out[2] = hsum_ps(_mm256_add_ps(c2a, c2b));                                                            \
        out[3] = hsum_ps(_mm256_add_ps(c3a, c3b));                                                            \
    }
QDOT4_B32(q8_0)
QDOT4_B32(q4_0)

/* Q4_K / Q5_K (k45_codes, q4k_pair above): per row the one-row dot_k45's steps */
EXA_AVX2 static inline __m256i q4k_sel_avx2(int j) {
    return _mm256_set_m128i(_mm_set1_epi16((short)((4 * j + 2) | ((4 * j + 3) << 8))),
                            _mm_set1_epi16((short)((4 * j) | ((4 * j + 1) << 8))));
}

#define Q4K2_STEP(j, lo, hi)                                                                                  \
    do {                                                                                                      \
        const __m256i s_ = _mm256_shuffle_epi8(sc16, q4k_sel_avx2(j));                                        \
        const __m256i slo = _mm256_permute2x128_si256(s_, s_, 0x00), shi = _mm256_permute2x128_si256(s_, s_, 0x11); \
        s0 = _mm256_add_epi32(s0, q4k_pair(lo, hi, slo, shi, y0[i].qs + 64 * (j)));                           \
        s1 = _mm256_add_epi32(s1, q4k_pair(lo, hi, slo, shi, y1[i].qs + 64 * (j)));                           \
        s2 = _mm256_add_epi32(s2, q4k_pair(lo, hi, slo, shi, y2[i].qs + 64 * (j)));                           \
        s3 = _mm256_add_epi32(s3, q4k_pair(lo, hi, slo, shi, y3[i].qs + 64 * (j)));                           \
    } while (0)

#define Q4K2_ROW_END(k)                                                                                       \
    acc##k = _mm256_fmadd_ps(_mm256_set1_ps(y##k[i].d * xd), _mm256_cvtepi32_ps(s##k), acc##k);              \
    am##k = _mm256_fmadd_ps(_mm256_set1_ps(y##k[i].d * xm),                                                   \
                            _mm256_cvtepi32_ps(_mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)y##k[i].bsums))), am##k)

EXA_AVX2 __attribute__((always_inline)) static inline void dot4_k45(int64_t n, const void *w, size_t bsz, size_t qs_off,
                                                                   ptrdiff_t qh_off, const void *act, size_t act_stride,
                                                                   float out[4]) {
    const exa_block_q8_K *y0 = ACT_ROW(0), *y1 = ACT_ROW(1), *y2 = ACT_ROW(2), *y3 = ACT_ROW(3);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    __m256 am0 = acc0, am1 = acc0, am2 = acc0, am3 = acc0;
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)i * bsz;
        const exa_block_q4_K *x = (const exa_block_q4_K *)blk; /* header fields only (d, dmin, scales) */
        __m256i sc16, mins16;
        k45_scales(x->scales, &sc16, &mins16);
        const __m256i hb = qh_off >= 0 ? _mm256_loadu_si256((const __m256i *)(blk + qh_off)) : _mm256_setzero_si256();
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        for (int j = 0; j < 4; j++) {
            __m256i lo, hi;
            k45_codes(blk + qs_off + 32 * j, hb, qh_off >= 0, j, &lo, &hi);
            Q4K2_STEP(j, lo, hi);
        }
        const float xd = f16(x->d), xm = f16(x->dmin);
        Q4K2_ROW_END(0);
        Q4K2_ROW_END(1);
        Q4K2_ROW_END(2);
        Q4K2_ROW_END(3);
    }
    out[0] = hsum_ps(acc0) - hsum_ps(am0);
    out[1] = hsum_ps(acc1) - hsum_ps(am1);
    out[2] = hsum_ps(acc2) - hsum_ps(am2);
    out[3] = hsum_ps(acc3) - hsum_ps(am3);
}

EXA_AVX2 void exa_qdot4_q4_K_avx2(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]) {
    dot4_k45(n, w, sizeof(exa_block_q4_K), offsetof(exa_block_q4_K, qs), -1, act, act_stride, out);
}

EXA_AVX2 void exa_qdot4_q5_K_avx2(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]) {
    dot4_k45(n, w, sizeof(exa_block_q5_K), offsetof(exa_block_q5_K, qs), (ptrdiff_t)offsetof(exa_block_q5_K, qh), act,
             act_stride, out);
}

/* Q6_K: one 32-weight code vector (two scale groups) against row k's activations */
EXA_AVX2 static inline __m256i q6k_prod(__m256i q, __m256i s, const int8_t *aq) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)aq)), s);
}

#define Q6K2_STEP(q, k)                                                                                       \
    do {                                                                                                      \
        const __m256i s_ = _mm256_set_m128i(_mm_set1_epi16(sc[2 * (k) + 1]), _mm_set1_epi16(sc[2 * (k)]));    \
        s0 = _mm256_add_epi32(s0, q6k_prod(q, s_, y0[i].qs + 128 * c + 32 * (k)));                            \
        s1 = _mm256_add_epi32(s1, q6k_prod(q, s_, y1[i].qs + 128 * c + 32 * (k)));                            \
        s2 = _mm256_add_epi32(s2, q6k_prod(q, s_, y2[i].qs + 128 * c + 32 * (k)));                            \
        s3 = _mm256_add_epi32(s3, q6k_prod(q, s_, y3[i].qs + 128 * c + 32 * (k)));                            \
    } while (0)

#define Q6K2_ROW_END(k)                                                                                       \
    do {                                                                                                      \
        const int corr = hsum_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y##k[i].bsums))) * 32; \
        const __m256i t_ = _mm256_sub_epi32(s##k, _mm256_setr_epi32(corr, 0, 0, 0, 0, 0, 0, 0));             \
        acc##k = _mm256_fmadd_ps(_mm256_set1_ps(xd * y##k[i].d), _mm256_cvtepi32_ps(t_), acc##k);            \
    } while (0)

EXA_AVX2 void exa_qdot4_q6_K_avx2(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]) {
    const exa_block_q6_K *x = w;
    const exa_block_q8_K *y0 = ACT_ROW(0), *y1 = ACT_ROW(1), *y2 = ACT_ROW(2), *y3 = ACT_ROW(3);
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3);
    const __m256i mC = _mm256_set1_epi8(0x0C), m30 = _mm256_set1_epi8(0x30);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        for (int c = 0; c < 2; c++) {
            const uint8_t *ql = x[i].ql + 64 * c, *qh = x[i].qh + 32 * c;
            const int8_t *sc = x[i].scales + 8 * c;
            const __m256i la = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i lb = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            Q6K2_STEP(_mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4)), 0);
            Q6K2_STEP(_mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_slli_epi16(_mm256_and_si256(h, mC), 2)), 1);
            Q6K2_STEP(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(h, m30)), 2);
            Q6K2_STEP(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4), _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)), 3);
        }
        const float xd = f16(x[i].d);
        Q6K2_ROW_END(0);
        Q6K2_ROW_END(1);
        Q6K2_ROW_END(2);
        Q6K2_ROW_END(3);
    }
    out[0] = hsum_ps(acc0);
    out[1] = hsum_ps(acc1);
    out[2] = hsum_ps(acc2);
    out[3] = hsum_ps(acc3);
}

#endif /* __x86_64__ (elsewhere quant.c refers to none of these kernels) */
