/* quant_avx512.c — AVX-512 (F/BW/VL) + VNNI dot products of quantized weight rows with quantized
 * activations: one activation row (exa_qdot_fn) and four activation rows per weight row with each
 * weight block decoded once (exa_qdot4_fn; per row bit-identical to the one-row kernel). VNNI's
 * vpdpbusd multiplies unsigned by signed bytes and sums groups of 4 into int32 lanes: unsigned
 * codes (Q4_0, Q4_K, Q5_K, Q6_K) feed it directly with the zero-point folded out through
 * activation sums; Q8_0 uses |w| and sign-transferred activations. Two 32-weight blocks (or 64
 * weights of a super-block) per 512-bit register. Compiled with __attribute__((target));
 * quant.c selects these only when the CPU reports all four features. */
#include "kernels/quant_impl.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define EXA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

EXA_AVX512 static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

EXA_AVX512 static inline __m512i load2x256(const void *lo, const void *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)lo)),
                              _mm256_loadu_si256((const __m256i *)hi), 1);
}

/* |x| (as u8) and y with x's sign moved onto it, for signed·signed through vpdpbusd */
EXA_AVX512 static inline __m256i dot_i8_256(__m256i x, __m256i y) {
    const __m256i ax = _mm256_abs_epi8(x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy);
}

/* 4 f16 values at byte stride s, as floats */
EXA_AVX512 static inline __m128 f16x4(const uint8_t *p, size_t s) {
    uint16_t h[4];
    for (int k = 0; k < 4; k++) __builtin_memcpy(&h[k], p + k * s, 2);
    return _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)h));
}

/* scales of 4 consecutive blocks (f16 at byte stride sx in x, sy in y), multiplied: lanes 0..3 */
EXA_AVX512 static inline __m128 scales4(const uint8_t *x, size_t sx, const uint8_t *y, size_t sy) {
    return _mm_mul_ps(f16x4(x, sx), f16x4(y, sy));
}

/* spread lanes (k, k+1) of a 4-lane scale vector over 8 lanes each of a 16-lane vector */
EXA_AVX512 static inline __m512 spread2(__m128 s4, int k) {
    const __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(k)), _mm256_set1_epi32(k + 1), 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(s4));
}

/* dot_i8_256's signed·signed product on 512 bits, with |x| and x's sign mask already taken
 * (shared by several y) */
EXA_AVX512 static inline __m512i dot_abs_512(__m512i ax, __mmask64 neg, __m512i y) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y));
}

/* ---- Q8_0 / Q4_0: 32-weight blocks with an f16 scale, against Q8_0 activations. Both formats
 * walk a row the same way (the drivers QDOT_B32 / QDOT4_B32 below); they differ only in the weight
 * side of a pair of blocks k, k+1 (one 512-bit register: block k in the low half), which each
 * format supplies as
 *   W2_<fmt>             the pair, decoded
 *   w2_<fmt>(x)          decode blocks x[0], x[1]
 *   w2dot_<fmt>(w, a)    16 int32 partial sums of w · a, a = the two activation blocks' int8
 *                        codes (lanes 0-7 block k, 8-15 block k+1); exact
 *   <fmt>_block(x, y)    one block's float contribution (the leftover blocks after groups of 4) */

/* the 8 int32 lanes of one block's products, summed (exact) */
EXA_AVX512 static inline int hsum8_epi32(__m256i p) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Q8_0: |x| (as u8) and x's sign mask; signed·signed through vpdpbusd as |x| · (a with x's sign) */
typedef struct {
    __m512i ax;
    __mmask64 neg;
} W2_q8_0;

EXA_AVX512 static inline W2_q8_0 w2_q8_0(const exa_block_q8_0 *x) {
    const __m512i v = load2x256(x[0].qs, x[1].qs);
    return (W2_q8_0){_mm512_abs_epi8(v), _mm512_movepi8_mask(v)};
}

EXA_AVX512 static inline __m512i w2dot_q8_0(W2_q8_0 w, __m512i a) { return dot_abs_512(w.ax, w.neg, a); }

EXA_AVX512 static inline float q8_0_block(const exa_block_q8_0 *x, const exa_block_q8_0 *y) {
    const __m256i p = dot_i8_256(_mm256_loadu_si256((const __m256i *)x->qs), _mm256_loadu_si256((const __m256i *)y->qs));
    return (float)hsum8_epi32(p) * (f16(x->d) * f16(y->d));
}

/* Q4_0: the 64 nibble codes q in [0, 16) of the pair (value q - 8), unsigned: vpdpbusd directly */
typedef struct {
    __m512i q;
} W2_q4_0;

/* 32 nibble codes of a Q4_0 block in weight order (low nibbles then high nibbles) */
EXA_AVX512 static inline __m256i q4_0_codes(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0xF));
}

EXA_AVX512 static inline W2_q4_0 w2_q4_0(const exa_block_q4_0 *x) {
    return (W2_q4_0){_mm512_inserti64x4(_mm512_castsi256_si512(q4_0_codes(x[0].qs)), q4_0_codes(x[1].qs), 1)};
}

/* Σ (q-8)·a = Σ q·a − Σ 8·a */
EXA_AVX512 static inline __m512i w2dot_q4_0(W2_q4_0 w, __m512i a) {
    const __m512i z = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(z, w.q, a), _mm512_dpbusd_epi32(z, _mm512_set1_epi8(8), a));
}

EXA_AVX512 static inline float q4_0_block(const exa_block_q4_0 *x, const exa_block_q8_0 *y) {
    const __m256i z = _mm256_setzero_si256(), qy = _mm256_loadu_si256((const __m256i *)y->qs);
    const __m256i p = _mm256_sub_epi32(_mm256_dpbusd_epi32(z, q4_0_codes(x->qs), qy), _mm256_dpbusd_epi32(z, _mm256_set1_epi8(8), qy));
    return (float)hsum8_epi32(p) * (f16(x->d) * f16(y->d));
}

/* one activation row: 4 blocks at a time (scales converted together, products into two
 * accumulators), then the leftover blocks one by one */
#define QDOT_B32(fmt)                                                                                         \
    EXA_AVX512 float exa_qdot_##fmt##_avx512(int64_t n, const void *w, const void *a) {                       \
        const exa_block_##fmt *x = w;                                                                         \
        const exa_block_q8_0 *y = a;                                                                          \
        const int64_t nb = n / EXA_QK;                                                                        \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                                        \
        int64_t i = 0;                                                                                        \
        for (; i + 3 < nb; i += 4) {                                                                          \
            const __m128 s4 = scales4((const uint8_t *)&x[i].d, sizeof *x, (const uint8_t *)&y[i].d, sizeof *y); \
            const W2_##fmt w01 = w2_##fmt(&x[i]), w23 = w2_##fmt(&x[i + 2]);                                  \
            const __m512i p01 = w2dot_##fmt(w01, load2x256(y[i].qs, y[i + 1].qs));                            \
            const __m512i p23 = w2dot_##fmt(w23, load2x256(y[i + 2].qs, y[i + 3].qs));                        \
            acc0 = _mm512_fmadd_ps(spread2(s4, 0), _mm512_cvtepi32_ps(p01), acc0);                            \
            acc1 = _mm512_fmadd_ps(spread2(s4, 2), _mm512_cvtepi32_ps(p23), acc1);                            \
        }                                                                                                     \
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));                                          \
        for (; i < nb; i++) sum += fmt##_block(&x[i], &y[i]);                                                 \
        return sum;                                                                                           \
    }
QDOT_B32(q8_0)
QDOT_B32(q4_0)

/* ---- Q4_K / Q5_K: per 64 weights (sub-blocks 2j, 2j+1) one 512-bit code vector — low nibbles of
 * the chunk's 32 bytes in the low half, high nibbles in the high half — against 64 activations:
 * maddubs (codes <= 31, u8·s8 pair sums <= 2·31·128: no int16 saturation), then dpwssd with the
 * sub-block's i16 scale. The mins go against the activation's bsums. */

/* Two chunks j, j+1 (j even) go through one dpwssd: dpbusd gives each chunk's 16 int32 sums of 4
 * code·activation products (lanes 0-7 sub-block 2j, 8-15 sub-block 2j+1; |sum| <= 4·31·128, so
 * int16 holds it exactly), packs_epi32 interleaves the two chunks per 128-bit lane (4 sums of j,
 * then 4 of j+1), and dpwssd multiplies by the sub-block scales and adds pairs into int32. Three
 * multiply-pipe ops per 128 weights instead of four for maddubs+dpwssd per chunk. This is the
 * i16 scale shuffle for that layout: in 128-bit lanes 0,1 scales 2j (words 0-3) and 2j+2 (4-7),
 * in lanes 2,3 scales 2j+1 and 2j+3. */
EXA_AVX512 static inline __m512i q4k_sel2(int j) {
    const short w0 = (short)((4 * j) | ((4 * j + 1) << 8)), w1 = (short)((4 * j + 4) | ((4 * j + 5) << 8));
    const short w2 = (short)((4 * j + 2) | ((4 * j + 3) << 8)), w3 = (short)((4 * j + 6) | ((4 * j + 7) << 8));
    const __m128i lo = _mm_set_epi16(w1, w1, w1, w1, w0, w0, w0, w0), hi = _mm_set_epi16(w3, w3, w3, w3, w2, w2, w2, w2);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(lo, lo)), _mm256_set_m128i(hi, hi), 1);
}

/* sumi += scales · (codes_j · a_j, codes_j+1 · a_j+1) as described above */
EXA_AVX512 static inline __m512i dot2_u8s8(__m512i sumi, __m512i cj, __m512i cj1, const int8_t *aq, __m512i sc) {
    const __m512i z = _mm512_setzero_si512();
    const __m512i p0 = _mm512_dpbusd_epi32(z, cj, _mm512_loadu_si512(aq));
    const __m512i p1 = _mm512_dpbusd_epi32(z, cj1, _mm512_loadu_si512(aq + 64));
    return _mm512_dpwssd_epi32(sumi, _mm512_packs_epi32(p0, p1), sc);
}

/* the chunk's 32 bytes broadcast to both halves, shifted right by 0 / 4 per half (64-bit shifts:
 * bits crossing into a neighbouring byte are masked off) */
EXA_AVX512 static inline __m512i q4k_codes(const uint8_t *q) {
    const __m512i b = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
    return _mm512_and_si512(_mm512_srlv_epi64(b, _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0)), _mm512_set1_epi8(0xF));
}

/* the same codes built with 256-bit ops and an insert (fewer 512-bit ops; the four-row kernel,
 * which is bound by 512-bit throughput, is faster with it) */
EXA_AVX512 static inline __m512i q4k_codes_ins(const uint8_t *q) {
    const __m256i m4 = _mm256_set1_epi8(0xF), b = _mm256_loadu_si256((const __m256i *)q);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(b, m4)), _mm256_and_si256(_mm256_srli_epi16(b, 4), m4), 1);
}

/* Q5_K chunk j: as Q4_K, plus bit 2j (low half) / 2j+1 (high half) of the block's 32 qh bytes
 * (broadcast to both halves; the compiler loads them once per block) rotated to bit 4 (rotating a
 * 64-bit lane left by 4-2j resp. 3-2j mod 64 brings each byte's own bit there) */
EXA_AVX512 static inline __m512i q5k_codes(const uint8_t *q, const uint8_t *qh, int j) {
    const __m512i qh2 = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh));
    const __m512i rot = _mm512_set_epi64((3 - 2 * j) & 63, (3 - 2 * j) & 63, (3 - 2 * j) & 63, (3 - 2 * j) & 63,
                                         (4 - 2 * j) & 63, (4 - 2 * j) & 63, (4 - 2 * j) & 63, (4 - 2 * j) & 63);
    /* q4 | (rotated & 0x10): ternary-logic function A | (B & C) */
    return _mm512_ternarylogic_epi32(q4k_codes(q), _mm512_rolv_epi64(qh2, rot), _mm512_set1_epi8(0x10), 0xF8);
}

/* the horizontal sum of the 8-lane min accumulator */
EXA_AVX512 static inline float hsum8_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* the block's d (lane 0) and dmin (lane 1), converted together */
EXA_AVX512 static inline __m128 q4k_d_dmin(const uint16_t *d) {
    uint32_t u;
    __builtin_memcpy(&u, d, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)u));
}

/* one Q4_K/Q5_K super-block's weight side: 16-bit scales broadcast per lane, mins against bsums */
#define Q4K_SCALES(blk)                                                                                       \
    uint8_t sm_[16];                                                                                          \
    exa_q4k_unpack_scales((blk).scales, sm_);                                                                 \
    const __m128i smv_ = _mm_loadu_si128((const __m128i *)sm_);                                               \
    const __m512i sc16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(smv_));                                     \
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(smv_, dup_m))

#define Q4K_CONSTS                                                                                            \
    const __m512i sel0 = q4k_sel2(0), sel2 = q4k_sel2(2);                                                    \
    const __m128i dup_m = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)

/* d and dmin of super-block blk broadcast once (xdv, xmv), shared by the rows */
#define Q4K_DMIN(blk)                                                                                         \
    const __m128 dm_ = q4k_d_dmin(&(blk).d); /* d and dmin are adjacent f16s */                               \
    const __m512 xdv = _mm512_broadcastss_ps(dm_);                                                            \
    const __m256 xmv = _mm256_broadcastss_ps(_mm_movehdup_ps(dm_))

/* per row after a super-block (also the four-row kernels' per-row step):
 * acc += y.d · (d · sumi), accm += y.d · (dmin · summ); y.d comes in as a broadcast memory operand */
#define Q4K_END(acc, am, yb, sumi)                                                                            \
    acc = _mm512_fmadd_ps(_mm512_set1_ps((yb).d), _mm512_mul_ps(xdv, _mm512_cvtepi32_ps(sumi)), acc);         \
    am = _mm256_fmadd_ps(_mm256_set1_ps((yb).d),                                                               \
                         _mm256_mul_ps(xmv, _mm256_cvtepi32_ps(_mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)(yb).bsums)))), am)

/* Q4_K and Q5_K share the walk (QDOT_K45 here, QDOT4_K45 for four rows below) and differ only in
 * how chunk j's codes of super-block x[i] are built: */
#define CODES_Q4K(j) q4k_codes(x[i].qs + 32 * (j))
#define CODES_Q4K_INS(j) q4k_codes_ins(x[i].qs + 32 * (j))
#define CODES_Q5K(j) q5k_codes(x[i].qs + 32 * (j), x[i].qh, j)

#define QDOT_K45(fmt, CODES)                                                                                  \
    EXA_AVX512 float exa_qdot_##fmt##_avx512(int64_t n, const void *w, const void *a) {                       \
        const exa_block_##fmt *x = w;                                                                         \
        const exa_block_q8_K *y = a;                                                                          \
        Q4K_CONSTS;                                                                                           \
        __m512 acc = _mm512_setzero_ps();                                                                     \
        __m256 acc_m = _mm256_setzero_ps();                                                                   \
        for (int64_t i = 0; i < n / EXA_QK_K; i++) {                                                          \
            Q4K_SCALES(x[i]);                                                                                 \
            __m512i sumi = _mm512_setzero_si512();                                                            \
            sumi = dot2_u8s8(sumi, CODES(0), CODES(1), y[i].qs, _mm512_shuffle_epi8(sc16, sel0));             \
            sumi = dot2_u8s8(sumi, CODES(2), CODES(3), y[i].qs + 128, _mm512_shuffle_epi8(sc16, sel2));       \
            Q4K_DMIN(x[i]);                                                                                   \
            Q4K_END(acc, acc_m, y[i], sumi);                                                                  \
        }                                                                                                     \
        return _mm512_reduce_add_ps(acc) - hsum8_ps(acc_m);                                                   \
    }
QDOT_K45(q4_K, CODES_Q4K)
QDOT_K45(q5_K, CODES_Q5K)

/* Q6_K: 6-bit codes q in [0, 64) (value q - 32) rebuilt 64 at a time with 512-bit ops: ql's two
 * 32-byte halves side by side, qh broadcast to both halves and shifted per half (64-bit lane
 * shifts; bits that cross into a neighbouring byte are masked off). One int8 scale per 16
 * weights = per 128-bit lane of a code vector. As for Q4_K, the two code vectors of a 128-weight
 * chunk go through dpbusd each (sums of 4 products, |s| <= 4·63·128 < 2^15), packs_epi32 and one
 * dpwssd with the scales: in 128-bit lane L, words 0-3 hold sums of group L of the chunk (q12),
 * words 4-7 of group 4+L (q34). The -32 offset is -32·Σ sc·bsums, folded into the integer sum.
 * The block's integer total is exact, so d·total is the scalar reference's float operation. */
EXA_AVX512 static inline __m512i q6k_scale_ctl(void) {
#define Q6K_W(e) ((short)((2 * (e)) | ((2 * (e) + 1) << 8)))
#define Q6K_LANE(L) _mm_set_epi16(Q6K_W(4 + L), Q6K_W(4 + L), Q6K_W(4 + L), Q6K_W(4 + L), Q6K_W(L), Q6K_W(L), Q6K_W(L), Q6K_W(L))
    __m512i c = _mm512_castsi128_si512(Q6K_LANE(0));
    c = _mm512_inserti32x4(c, Q6K_LANE(1), 1);
    c = _mm512_inserti32x4(c, Q6K_LANE(2), 2);
    return _mm512_inserti32x4(c, Q6K_LANE(3), 3);
#undef Q6K_LANE
#undef Q6K_W
}

/* codes of weights 128c + [0, 64) (q12) and 128c + [64, 128) (q34) of a Q6_K block */
#define Q6K_DECODE(ql, qh, q12, q34)                                                                          \
    const __m512i L_ = _mm512_loadu_si512(ql);                                                                 \
    const __m512i H_ = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qh)));                     \
    const __m512i q12 = _mm512_or_si512(_mm512_and_si512(L_, m4), _mm512_and_si512(_mm512_sllv_epi64(H_, sh12), m30)); \
    const __m512i q34 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L_, 4), m4),                       \
                                        _mm512_and_si512(_mm512_srlv_epi64(H_, sh34), m30))

#define Q6K_CONSTS                                                                                            \
    const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);                                   \
    const __m512i sh12 = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4); /* q1: bits 0-1 << 4, q2: bits 2-3 << 2 */ \
    const __m512i sh34 = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0); /* q3: bits 4-5, q4: bits 6-7 >> 2 */      \
    const __m512i ctl = q6k_scale_ctl()

/* -32·Σ_g sc[g]·bsums[g] as a 512-bit start value for the integer sum (upper half zero) */
EXA_AVX512 static inline __m512i q6k_offset(__m256i sc16, const int16_t *bsums) {
    const __m256i cm = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)bsums));
    return _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(cm, 5)));
}

EXA_AVX512 float exa_qdot_q6_K_avx512(int64_t n, const void *w, const void *a) {
    const exa_block_q6_K *x = w;
    const exa_block_q8_K *y = a;
    Q6K_CONSTS;
    float sum = 0.f;
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        __m512i sumi = q6k_offset(sc16, y[i].bsums);
        for (int c = 0; c < 2; c++) {
            Q6K_DECODE(x[i].ql + 64 * c, x[i].qh + 32 * c, q12, q34);
            const __m512i sc = _mm512_broadcast_i32x4(c ? _mm256_extracti128_si256(sc16, 1) : _mm256_castsi256_si128(sc16));
            const int8_t *aq = y[i].qs + 128 * c;
            sumi = dot2_u8s8(sumi, q12, q34, aq, _mm512_shuffle_epi8(sc, ctl));
        }
        const float d = f16(x[i].d) * y[i].d;
        const int total = _mm512_reduce_add_epi32(sumi);
        /* same float operations as the scalar reference: product and sum kept as two statements
         * so that no compiler fuses them into an FMA (the scalar file has no FMA to fuse with) */
        const float contrib = d * (float)total;
        sum += contrib;
    }
    return sum;
}

/* ---------------------------------------------------------------- four activation rows
 * exa_qdot4_fn: one weight row against activation rows act + k*act_stride, k = 0..3. Each weight
 * block is decoded once and applied to the four rows; per row the operations (integer and float,
 * in order) are exactly those of the one-row kernel above, so out[k] is bit-identical to it.
 * Accumulators are named variables (arrays of vectors get spilled). */

#define ACT_ROW(k) ((const void *)((const uint8_t *)act + (size_t)(k) * act_stride))

/* integer totals of four 16-lane vectors (lanes 0..3 = a, b, c, d); exact, so any order */
EXA_AVX512 static inline __m128i hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m256i ta = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
    const __m256i tb = _mm256_add_epi32(_mm512_castsi512_si256(b), _mm512_extracti64x4_epi64(b, 1));
    const __m256i tc = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
    const __m256i td = _mm256_add_epi32(_mm512_castsi512_si256(d), _mm512_extracti64x4_epi64(d, 1));
    const __m256i v = _mm256_hadd_epi32(_mm256_hadd_epi32(ta, tb), _mm256_hadd_epi32(tc, td));
    return _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

EXA_AVX512 void exa_qdot4_q6_K_avx512(int64_t n, const void *w, const void *act, size_t act_stride, float out[4]) {
    const exa_block_q6_K *x = w;
    const exa_block_q8_K *y0 = ACT_ROW(0), *y1 = ACT_ROW(1), *y2 = ACT_ROW(2), *y3 = ACT_ROW(3);
    Q6K_CONSTS;
    __m128 sum = _mm_setzero_ps();
    for (int64_t i = 0; i < n / EXA_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        __m512i s0 = q6k_offset(sc16, y0[i].bsums), s1 = q6k_offset(sc16, y1[i].bsums);
        __m512i s2 = q6k_offset(sc16, y2[i].bsums), s3 = q6k_offset(sc16, y3[i].bsums);
        for (int c = 0; c < 2; c++) {
            Q6K_DECODE(x[i].ql + 64 * c, x[i].qh + 32 * c, q12, q34);
            const __m512i sc = _mm512_broadcast_i32x4(c ? _mm256_extracti128_si256(sc16, 1) : _mm256_castsi256_si128(sc16));
            const __m512i scs = _mm512_shuffle_epi8(sc, ctl);
            const int o = 128 * c;
            s0 = dot2_u8s8(s0, q12, q34, y0[i].qs + o, scs);
            s1 = dot2_u8s8(s1, q12, q34, y1[i].qs + o, scs);
            s2 = dot2_u8s8(s2, q12, q34, y2[i].qs + o, scs);
            s3 = dot2_u8s8(s3, q12, q34, y3[i].qs + o, scs);
        }
        /* per row: d = f16(x.d)·y.d, contrib = d·total, sum += contrib — lane-wise, unfused */
        const __m128 d = _mm_mul_ps(_mm_set1_ps(f16(x[i].d)), _mm_setr_ps(y0[i].d, y1[i].d, y2[i].d, y3[i].d));
        const __m128 contrib = _mm_mul_ps(d, _mm_cvtepi32_ps(hsum4_epi32(s0, s1, s2, s3)));
        sum = _mm_add_ps(sum, contrib);
    }
    _mm_storeu_ps(out, sum);
}

#define Q4K_STEP4(j, cj, cj1)                                                                                 \
    do {                                                                                                      \
        const __m512i c0_ = (cj), c1_ = (cj1), scj = _mm512_shuffle_epi8(sc16, sel##j);                         \
        s0 = dot2_u8s8(s0, c0_, c1_, y0[i].qs + 64 * (j), scj);                                               \
        s1 = dot2_u8s8(s1, c0_, c1_, y1[i].qs + 64 * (j), scj);                                               \
        s2 = dot2_u8s8(s2, c0_, c1_, y2[i].qs + 64 * (j), scj);                                               \
        s3 = dot2_u8s8(s3, c0_, c1_, y3[i].qs + 64 * (j), scj);                                               \
    } while (0)

/* Q4_K / Q5_K: the Q4_K codes built with q4k_codes_ins here */
#define QDOT4_K45(fmt, CODES)                                                                                 \
    EXA_AVX512 void exa_qdot4_##fmt##_avx512(int64_t n, const void *w, const void *act, size_t act_stride,    \
                                             float out[4]) {                                                  \
        const exa_block_##fmt *x = w;                                                                         \
        const exa_block_q8_K *y0 = ACT_ROW(0), *y1 = ACT_ROW(1), *y2 = ACT_ROW(2), *y3 = ACT_ROW(3);          \
        Q4K_CONSTS;                                                                                           \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;                             \
        __m256 am0 = _mm256_setzero_ps(), am1 = am0, am2 = am0, am3 = am0;                                    \
        for (int64_t i = 0; i < n / EXA_QK_K; i++) {                                                          \
            Q4K_SCALES(x[i]);                                                                                 \
            __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;                                   \
            Q4K_STEP4(0, CODES(0), CODES(1));                                                                 \
            Q4K_STEP4(2, CODES(2), CODES(3));                                                                 \
            Q4K_DMIN(x[i]);                                                                                   \
            Q4K_END(acc0, am0, y0[i], s0);                                                                    \
            Q4K_END(acc1, am1, y1[i], s1);                                                                    \
            Q4K_END(acc2, am2, y2[i], s2);                                                                    \
            Q4K_END(acc3, am3, y3[i], s3);                                                                    \
        }                                                                                                     \
        out[0] = _mm512_reduce_add_ps(acc0) - hsum8_ps(am0);                                                  \
        out[1] = _mm512_reduce_add_ps(acc1) - hsum8_ps(am1);                                                  \
        out[2] = _mm512_reduce_add_ps(acc2) - hsum8_ps(am2);                                                  \
        out[3] = _mm512_reduce_add_ps(acc3) - hsum8_ps(am3);                                                  \
    }
QDOT4_K45(q4_K, CODES_Q4K_INS)
QDOT4_K45(q5_K, CODES_Q5K)

/* Q8_0 / Q4_0: per row exactly the one-row kernel's steps (QDOT_B32) — 4 blocks at a time with
 * the products of the f16 scales spread over two accumulators, then the leftover blocks one by
 * one; the weight side of each pair of blocks decoded once for the four rows */
#define B32_TOK(fmt, k)                                                                                       \
    do {                                                                                                      \
        const __m128 s4 = _mm_mul_ps(fx, f16x4((const uint8_t *)&y##k[i].d, sizeof *y##k));                  \
        const __m512i p01 = w2dot_##fmt(w01, load2x256(y##k[i].qs, y##k[i + 1].qs));                          \
        const __m512i p23 = w2dot_##fmt(w23, load2x256(y##k[i + 2].qs, y##k[i + 3].qs));                      \
        c##k##a = _mm512_fmadd_ps(spread2(s4, 0), _mm512_cvtepi32_ps(p01), c##k##a);                          \
        c##k##b = _mm512_fmadd_ps(spread2(s4, 2), _mm512_cvtepi32_ps(p23), c##k##b);                          \
    } while (0)

#define QDOT4_B32(fmt)                                                                                        \
    EXA_AVX512 void exa_qdot4_##fmt##_avx512(int64_t n, const void *w, const void *act, size_t act_stride,    \
                                             float out[4]) {                                                  \
        const exa_block_##fmt *x = w;                                                                         \
        const exa_block_q8_0 *y0 = ACT_ROW(0), *y1 = ACT_ROW(1), *y2 = ACT_ROW(2), *y3 = ACT_ROW(3);          \
        const int64_t nb = n / EXA_QK;                                                                        \
        __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a,   \
               c3b = c0a;                                                                                     \
        int64_t i = 0;                                                                                        \
        for (; i + 3 < nb; i += 4) {                                                                          \
            const __m128 fx = f16x4((const uint8_t *)&x[i].d, sizeof *x);                                     \
            const W2_##fmt w01 = w2_##fmt(&x[i]), w23 = w2_##fmt(&x[i + 2]);                                  \
            B32_TOK(fmt, 0);                                                                                  \
            B32_TOK(fmt, 1);                                                                                  \
            B32_TOK(fmt, 2);                                                                                  \
            B32_TOK(fmt, 3);                                                                                  \
        }                                                                                                     \
        float s0 = _mm512_reduce_add_ps(_mm512_add_ps(c0a, c0b)), s1 = _mm512_reduce_add_ps(_mm512_add_ps(c1a, c1b)); \
        float s2 = _mm512_reduce_add_ps(_mm512_add_ps(c2a, c2b)), s3 = _mm512_reduce_add_ps(_mm512_add_ps(c3a, c3b)); \
        for (; i < nb; i++) {                                                                                 \
            s0 += fmt##_block(&x[i], &y0[i]);                                                                 \
            s1 += fmt##_block(&x[i], &y1[i]);                                                                 \
            s2 += fmt##_block(&x[i], &y2[i]);                                                                 \
            s3 += fmt##_block(&x[i], &y3[i]);                                                                 \
        }                                                                                                     \
        out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;                                                   \
    }
QDOT4_B32(q8_0)
QDOT4_B32(q4_0)

/* Q8_K activation rows (ggml's quantize_row_q8_K), bit-identical to the scalar reference in
 * quant.c: the same signed maximum (the FIRST element of largest |x|; NaN never wins, as there),
 * the same iscale = -127/max and float product per element, round-to-nearest-even (what the
 * reference's 1.5·2^23 trick does for |v| < 2^22; here |v| <= 127), saturation to int8, and
 * per-16 sums. Runs once per activation row per matrix product (T rows per call). */
EXA_AVX512 void exa_quantize_q8_K_avx512(const float *x, void *out, int64_t nb) {
    exa_block_q8_K *y = out;
    for (int64_t i = 0; i < nb; i++, x += EXA_QK_K) {
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < EXA_QK_K; j += 16) /* max_ps(a, b) returns b when a is NaN: NaNs skipped */
            m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), m);
        const float amax = _mm512_reduce_max_ps(m);
        if (!amax || !(amax < INFINITY)) {
            __builtin_memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        int first = 0;
        for (int j = 0; j < EXA_QK_K; j += 16) {
            const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (hit) { first = j + __builtin_ctz(hit); break; }
        }
        const float iscale = -127.f / x[first];
        const __m512 vs = _mm512_set1_ps(iscale);
        for (int j = 0; j < EXA_QK_K; j += 16) {
            const __m512 v = _mm512_mul_ps(vs, _mm512_loadu_ps(x + j));
            const __m512i q = _mm512_maskz_cvtps_epi32(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* nearest-even; NaN -> 0 as there */
            _mm_storeu_si128((__m128i *)(y[i].qs + j), _mm512_cvtsepi32_epi8(q));             /* saturating */
            y[i].bsums[j / 16] = (int16_t)_mm512_reduce_add_epi32(_mm512_max_epi32(_mm512_min_epi32(q, _mm512_set1_epi32(127)),
                                                                                _mm512_set1_epi32(-128)));
        }
        y[i].d = 1 / iscale;
    }
}

#endif /* __x86_64__ (elsewhere quant.c refers to none of these kernels) */
