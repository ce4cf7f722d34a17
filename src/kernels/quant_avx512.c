/* quant_avx512.c — AVX-512 (F/BW/VL) + VNNI dot products of quantized weight rows with quantized
 * activations. VNNI's vpdpbusd multiplies unsigned by signed bytes and sums groups of 4 into
 * int32 lanes: unsigned codes (Q4_0, Q4_K, Q6_K) feed it directly with the zero-point folded out
 * through activation sums; Q8_0 uses |w| and sign-transferred activations. Two 32-weight blocks
 * (or 64 weights of a super-block) per 512-bit register. Compiled with __attribute__((target));
 * quant.c selects these only when the CPU reports all four features. */
#include "kernels/quant_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define EXA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

EXA_AVX512 static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

EXA_AVX512 static inline __m512i load2x256(const void *lo, const void *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)lo)),
                              _mm256_loadu_si256((const __m256i *)hi), 1);
}

/* |x| (as u8) and y with x's sign moved onto it, for signed·signed through vpdpbusd */
EXA_AVX512 static inline __m512i dot_i8_512(__m512i x, __m512i y) {
    const __m512i ax = _mm512_abs_epi8(x);
    const __m512i sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, sy);
}

EXA_AVX512 static inline __m256i dot_i8_256(__m256i x, __m256i y) {
    const __m256i ax = _mm256_abs_epi8(x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy);
}

/* scales of 4 consecutive blocks (f16 at byte stride sx in x, sy in y), multiplied: lanes 0..3 */
EXA_AVX512 static inline __m128 scales4(const uint8_t *x, size_t sx, const uint8_t *y, size_t sy) {
    uint16_t hx[4], hy[4];
    for (int k = 0; k < 4; k++) {
        __builtin_memcpy(&hx[k], x + k * sx, 2);
        __builtin_memcpy(&hy[k], y + k * sy, 2);
    }
    const __m128 fx = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hx));
    const __m128 fy = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hy));
    return _mm_mul_ps(fx, fy);
}

/* spread lanes (k, k+1) of a 4-lane scale vector over 8 lanes each of a 16-lane vector */
EXA_AVX512 static inline __m512 spread2(__m128 s4, int k) {
    const __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(k)), _mm256_set1_epi32(k + 1), 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(s4));
}

EXA_AVX512 float exa_qdot_q8_0_avx512(int64_t n, const void *w, const void *a) {
    const exa_block_q8_0 *x = w, *y = a;
    const int64_t nb = n / EXA_QK;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 3 < nb; i += 4) { /* 4 blocks: scales converted together, two accumulators */
        const __m128 s4 = scales4((const uint8_t *)&x[i].d, sizeof *x, (const uint8_t *)&y[i].d, sizeof *y);
        const __m512i p01 = dot_i8_512(load2x256(x[i].qs, x[i + 1].qs), load2x256(y[i].qs, y[i + 1].qs));
        const __m512i p23 = dot_i8_512(load2x256(x[i + 2].qs, x[i + 3].qs), load2x256(y[i + 2].qs, y[i + 3].qs));
        acc0 = _mm512_fmadd_ps(spread2(s4, 0), _mm512_cvtepi32_ps(p01), acc0);
        acc1 = _mm512_fmadd_ps(spread2(s4, 2), _mm512_cvtepi32_ps(p23), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < nb; i++) {
        const __m256i p = dot_i8_256(_mm256_loadu_si256((const __m256i *)x[i].qs),
                                     _mm256_loadu_si256((const __m256i *)y[i].qs));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
        sum += (float)_mm_cvtsi128_si32(s) * (f16(x[i].d) * f16(y[i].d));
    }
    return sum;
}

/* 32 nibble codes of a Q4_0 block in weight order (low nibbles then high nibbles) */
EXA_AVX512 static inline __m256i q4_0_codes(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0xF));
}

EXA_AVX512 float exa_qdot_q4_0_avx512(int64_t n, const void *w, const void *a) {
    const exa_block_q4_0 *x = w;
    const exa_block_q8_0 *y = a;
    const int64_t nb = n / EXA_QK;
    const __m512i eight = _mm512_set1_epi8(8);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 3 < nb; i += 4) {
        const __m128 s4 = scales4((const uint8_t *)&x[i].d, sizeof *x, (const uint8_t *)&y[i].d, sizeof *y);
        const __m512i q01 = _mm512_inserti64x4(_mm512_castsi256_si512(q4_0_codes(x[i].qs)), q4_0_codes(x[i + 1].qs), 1);
        const __m512i q23 = _mm512_inserti64x4(_mm512_castsi256_si512(q4_0_codes(x[i + 2].qs)), q4_0_codes(x[i + 3].qs), 1);
        const __m512i a01 = load2x256(y[i].qs, y[i + 1].qs), a23 = load2x256(y[i + 2].qs, y[i + 3].qs);
        /* Σ (q-8)·a = Σ q·a − Σ 8·a */
        const __m512i p01 = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q01, a01),
                                             _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, a01));
        const __m512i p23 = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q23, a23),
                                             _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, a23));
        acc0 = _mm512_fmadd_ps(spread2(s4, 0), _mm512_cvtepi32_ps(p01), acc0);
        acc1 = _mm512_fmadd_ps(spread2(s4, 2), _mm512_cvtepi32_ps(p23), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < nb; i++) {
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const __m256i p = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q4_0_codes(x[i].qs), qy),
                                           _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), qy));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
        sum += (float)_mm_cvtsi128_si32(s) * (f16(x[i].d) * f16(y[i].d));
    }
    return sum;
}

EXA_AVX512 float exa_qdot_q4_K_avx512(int64_t n, const void *w, const void *a) {
    const exa_block_q4_K *x = w;
    const exa_block_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    /* per 128-bit lane shuffles: i16 scale 2j into the low 256 bits, 2j+1 into the high 256 bits */
    __m512i sel[4];
    for (int j = 0; j < 4; j++)
        sel[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)((4 * j) | ((4 * j + 1) << 8)))),
                                    _mm256_set1_epi16((short)((4 * j + 2) | ((4 * j + 3) << 8))), 1);
    const __m128i dup_m = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    __m512 acc = _mm512_setzero_ps();
    __m256 acc_m = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        uint8_t sm[16];
        exa_q4k_unpack_scales(x[i].scales, sm);
        const __m128i smv = _mm_loadu_si128((const __m128i *)sm);
        const __m512i sc16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(smv));
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(smv, dup_m));
        const __m256i summ = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const uint8_t *q = x[i].qs;
        const int8_t *aq = y[i].qs;
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++, q += 32, aq += 64) {
            const __m256i b = _mm256_loadu_si256((const __m256i *)q);
            const __m512i codes = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(b, m4)),
                                                     _mm256_and_si256(_mm256_srli_epi16(b, 4), m4), 1);
            /* codes <= 15: the u8·s8 pair sums cannot saturate int16 */
            const __m512i p = _mm512_maddubs_epi16(codes, _mm512_loadu_si512(aq));
            sumi = _mm512_dpwssd_epi32(sumi, p, _mm512_shuffle_epi8(sc16, sel[j]));
        }
        const float d = y[i].d * f16(x[i].d), dm = y[i].d * f16(x[i].dmin);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        acc_m = _mm256_fmadd_ps(_mm256_set1_ps(dm), _mm256_cvtepi32_ps(summ), acc_m);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc_m), _mm256_extractf128_ps(acc_m, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm512_reduce_add_ps(acc) - _mm_cvtss_f32(s);
}

EXA_AVX512 float exa_qdot_q5_K_avx512(int64_t n, const void *w, const void *a) {
    const exa_block_q5_K *x = w;
    const exa_block_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    /* per 128-bit lane shuffles: i16 scale 2j into the low 256 bits, 2j+1 into the high 256 bits */
    __m512i sel[4];
    for (int j = 0; j < 4; j++)
        sel[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)((4 * j) | ((4 * j + 1) << 8)))),
                                    _mm256_set1_epi16((short)((4 * j + 2) | ((4 * j + 3) << 8))), 1);
    const __m128i dup_m = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    __m512 acc = _mm512_setzero_ps();
    __m256 acc_m = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        uint8_t sm[16];
        exa_q4k_unpack_scales(x[i].scales, sm);
        const __m128i smv = _mm_loadu_si128((const __m128i *)sm);
        const __m512i sc16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(smv));
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(smv, dup_m));
        const __m256i summ = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        const uint8_t *q = x[i].qs;
        const int8_t *aq = y[i].qs;
        const __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++, q += 32, aq += 64) {
            const __m256i b = _mm256_loadu_si256((const __m256i *)q);
            /* 5th bits: bit 2j of qh for the low nibbles, bit 2j+1 for the high ones */
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * j)), one), 4);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * j + 1)), one), 4);
            const __m512i codes = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_or_si256(_mm256_and_si256(b, m4), h0)),
                                                     _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m4), h1), 1);
            /* codes <= 31: the u8·s8 pair sums (<= 2·31·128) cannot saturate int16 */
            const __m512i p = _mm512_maddubs_epi16(codes, _mm512_loadu_si512(aq));
            sumi = _mm512_dpwssd_epi32(sumi, p, _mm512_shuffle_epi8(sc16, sel[j]));
        }
        const float d = y[i].d * f16(x[i].d), dm = y[i].d * f16(x[i].dmin);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        acc_m = _mm256_fmadd_ps(_mm256_set1_ps(dm), _mm256_cvtepi32_ps(summ), acc_m);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc_m), _mm256_extractf128_ps(acc_m, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm512_reduce_add_ps(acc) - _mm_cvtss_f32(s);
}

EXA_AVX512 float exa_qdot_q6_K_avx512(int64_t n, const void *w, const void *a) {
    const exa_block_q6_K *x = w;
    const exa_block_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3);
    const __m256i mC = _mm256_set1_epi8(0x0C), m30 = _mm256_set1_epi8(0x30);
    /* spread 4 int8 scales over 16 int32 lanes, 4 lanes (16 weights) each */
    const __m128i spread_lo = _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m128i spread_hi = _mm_setr_epi8(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    float sum = 0.f;
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m256i cm = _mm256_madd_epi16(sc16, bs);
        __m128i c4 = _mm_add_epi32(_mm256_castsi256_si128(cm), _mm256_extracti128_si256(cm, 1));
        c4 = _mm_add_epi32(c4, _mm_shuffle_epi32(c4, _MM_SHUFFLE(1, 0, 3, 2)));
        c4 = _mm_add_epi32(c4, _mm_shuffle_epi32(c4, _MM_SHUFFLE(2, 3, 0, 1)));
        const int corr = _mm_cvtsi128_si32(c4) * 32;
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *aq = y[i].qs, *sc = x[i].scales;
        __m512i sumi = _mm512_setzero_si512();
        for (int c = 0; c < 2; c++, ql += 64, qh += 32, aq += 128, sc += 8) {
            const __m256i la = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i lb = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_slli_epi16(_mm256_and_si256(h, mC), 2));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(h, m30));
            const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                                               _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
            const __m128i s8 = _mm_loadl_epi64((const __m128i *)sc);
            const __m512i s_lo = _mm512_cvtepi8_epi32(_mm_shuffle_epi8(s8, spread_lo));
            const __m512i s_hi = _mm512_cvtepi8_epi32(_mm_shuffle_epi8(s8, spread_hi));
            const __m512i q12 = _mm512_inserti64x4(_mm512_castsi256_si512(q1), q2, 1);
            const __m512i q34 = _mm512_inserti64x4(_mm512_castsi256_si512(q3), q4, 1);
            const __m512i p12 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q12, _mm512_loadu_si512(aq));
            const __m512i p34 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q34, _mm512_loadu_si512(aq + 64));
            sumi = _mm512_add_epi32(sumi, _mm512_add_epi32(_mm512_mullo_epi32(p12, s_lo), _mm512_mullo_epi32(p34, s_hi)));
        }
        const float d = f16(x[i].d) * y[i].d;
        const int total = _mm512_reduce_add_epi32(sumi) - corr;
        /* same float operations as the scalar reference: product and sum kept as two statements
         * so that no compiler fuses them into an FMA (the scalar file has no FMA to fuse with) */
        const float contrib = d * (float)total;
        sum += contrib;
    }
    return sum;
}

#else /* not x86-64: never selected by quant.c, defined so the library links */

float exa_qdot_q8_0_avx512(int64_t n, const void *w, const void *a) { return exa_qdot_q8_0_scalar(n, w, a); }
float exa_qdot_q4_0_avx512(int64_t n, const void *w, const void *a) { return exa_qdot_q4_0_scalar(n, w, a); }
float exa_qdot_q4_K_avx512(int64_t n, const void *w, const void *a) { return exa_qdot_q4_K_scalar(n, w, a); }
float exa_qdot_q5_K_avx512(int64_t n, const void *w, const void *a) { return exa_qdot_q5_K_scalar(n, w, a); }
float exa_qdot_q6_K_avx512(int64_t n, const void *w, const void *a) { return exa_qdot_q6_K_scalar(n, w, a); }

#endif
