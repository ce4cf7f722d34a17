/* simd_f32.h — one ISA's f32 vector vocabulary, for kernels written once as templates and
 * compiled per ISA (attn_simd.h, elementwise_simd.h). Not a public header. The includer defines
 * SIMD_AVX512 or SIMD_AVX2, includes this file, then its templates, then simd_f32_end.h, which
 * undefines everything defined here, so the next ISA can follow in the same file.
 *   SIMD(name)     the ISA's function name (name##_avx512, name##_avx2); SIMD_TARGET, SIMD_INL
 *   VEC, VL        vector type and its f32 lanes
 *   V_ZERO V_SET1 V_LOADU V_STOREU V_FMA V_FNMADD V_MUL V_ADD V_SUB V_MAX V_MIN V_DIV V_ROUND
 *   V_POW2I(fx)    2^fx for integral fx (as f32); V_RADD / V_RMAX horizontal add / max;
 *   V_FOLD(v)      → __m256 (the sum of the halves for AVX-512)
 *   LD_F32 LD_F16 LD_BF16 LD_I8  load VL elements and widen to f32 (LD_I8: int8, unscaled)
 *   ST_F16 ST_BF16(p, v)  narrow VL f32 to f16 / bf16 and store them at p (uint16_t *), bit for bit
 *                  what core/tensor.h's exa_f32_to_f16 / exa_f32_to_bf16 give: round to nearest
 *                  even, overflow to inf, subnormals kept, NaN as the quiet NaN those write
 *   V_ABS(a)       |a|
 *   ST_I8(p, v)    VL int8 at p: quant.c's round_i8 of each lane, exactly (roundf's half away from
 *                  zero: truncate, and the remainder v - trunc(v), which is exact, >= 0.5 in
 *                  magnitude adds v's sign; then clamp to [-128, 127]; NaN -> 0)
 *   SIMD(exp)(x)   e^x, Cephes polynomial (~1 ulp), x clamped to [-87.3, 88.3] (no inf, no
 *                  denormals) */
#include <immintrin.h>

#if defined(SIMD_AVX512)
#define SIMD(name) name##_avx512
#define SIMD_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define VEC __m512
#define VL 16
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, v) _mm512_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_FNMADD(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_ROUND(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_POW2I(fx) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23))
#define V_RADD(v) _mm512_reduce_add_ps(v)
#define V_RMAX(v) _mm512_reduce_max_ps(v)
#define V_FOLD(v) \
    _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
#define LD_F32(p) _mm512_loadu_ps(p)
#define LD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define LD_BF16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
#define LD_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define V_MIN(a, b) _mm512_min_ps(a, b)
#define V_DIV(a, b) _mm512_div_ps(a, b)
/* F16C's vcvtps2ph (round to nearest even from the immediate, not MXCSR) agrees with
 * exa_f32_to_f16 on every input but NaN: it keeps the top 9 payload bits (quiet bit set), the
 * reference writes sign|0x7e00; so the payload bits of NaN results (|h| > 0x7c00) are cleared.
 * MXCSR.FTZ does not flush its f16 subnormals, and under DAZ f32 subnormals still give ±0 as in
 * the reference (checked; nothing here sets either). bf16: exa_f32_to_bf16's integer steps. */
static inline SIMD_TARGET void simd_st_f16_512(uint16_t *p, __m512 v) {
    const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    const __m256i nan = _mm256_cmpgt_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)), _mm256_set1_epi16(0x7c00));
    _mm256_storeu_si256((__m256i *)p, _mm256_andnot_si256(_mm256_and_si256(nan, _mm256_set1_epi16(0x01ff)), h));
}
static inline SIMD_TARGET void simd_st_bf16_512(uint16_t *p, __m512 v) {
    const __m512i u = _mm512_castps_si512(v), one = _mm512_set1_epi32(1);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
    const __m512i b = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x400000)); /* NaN: (u >> 16) | 0x40 */
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi32_epi16(_mm512_srli_epi32(b, 16)));
}
static inline SIMD_TARGET void simd_st_i8_512(int8_t *p, __m512 v) {
    const __mmask16 ord = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_abs_ps(_mm512_sub_ps(v, t)); /* NaN for ±inf: no step */
    const __m512 one = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_set1_ps(1.f)), /* ±1 as v's sign */
                                                           _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN))));
    t = _mm512_mask_add_ps(t, _mm512_cmp_ps_mask(r, _mm512_set1_ps(0.5f), _CMP_GE_OQ), t, one);
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-128.f)), _mm512_set1_ps(127.f));
    _mm_storeu_si128((__m128i *)p, _mm512_cvtepi32_epi8(_mm512_maskz_cvtps_epi32(ord, t)));
}
#define V_ABS(a) _mm512_abs_ps(a)
#define ST_F16(p, v) simd_st_f16_512(p, v)
#define ST_BF16(p, v) simd_st_bf16_512(p, v)
#define ST_I8(p, v) simd_st_i8_512(p, v)

#elif defined(SIMD_AVX2)
static inline __attribute__((target("avx2,fma"))) float simd_radd256(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
static inline __attribute__((target("avx2,fma"))) float simd_rmax256(__m256 v) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
#define SIMD(name) name##_avx2
#define SIMD_TARGET __attribute__((target("avx2,fma,f16c")))
#define VEC __m256
#define VL 8
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, v) _mm256_storeu_ps(p, v)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_FNMADD(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_ROUND(a) _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_POW2I(fx) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23))
#define V_RADD(v) simd_radd256(v)
#define V_RMAX(v) simd_rmax256(v)
#define V_FOLD(v) (v)
#define LD_F32(p) _mm256_loadu_ps(p)
#define LD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LD_BF16(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
#define LD_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define V_MIN(a, b) _mm256_min_ps(a, b)
#define V_DIV(a, b) _mm256_div_ps(a, b)
/* as simd_st_f16_512 / simd_st_bf16_512 on 8 lanes (bf16: packus narrows the 16-bit results) */
static inline SIMD_TARGET void simd_st_f16_256(uint16_t *p, __m256 v) {
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    const __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_set1_epi16(0x7c00));
    _mm_storeu_si128((__m128i *)p, _mm_andnot_si128(_mm_and_si128(nan, _mm_set1_epi16(0x01ff)), h));
}
static inline SIMD_TARGET void simd_st_bf16_256(uint16_t *p, __m256 v) {
    const __m256i u = _mm256_castps_si256(v), one = _mm256_set1_epi32(1);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    const __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(_mm256_srli_epi32(u, 16), one)));
    const __m256i b = _mm256_srli_epi32(_mm256_blendv_epi8(r, _mm256_or_si256(u, _mm256_set1_epi32(0x400000)), nan), 16);
    _mm_storeu_si128((__m128i *)p, _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
}
/* as simd_st_i8_512 on 8 lanes (masks as all-ones lanes; packs narrows, the values already fit) */
static inline SIMD_TARGET void simd_st_i8_256(int8_t *p, __m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.f), ord = _mm256_cmp_ps(v, v, _CMP_ORD_Q);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 r = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.f), _mm256_and_ps(v, sign));
    t = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(r, _mm256_set1_ps(0.5f), _CMP_GE_OQ), one));
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-128.f)), _mm256_set1_ps(127.f));
    const __m256i q = _mm256_and_si256(_mm256_cvtps_epi32(t), _mm256_castps_si256(ord));
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64((__m128i *)p, _mm_packs_epi16(w, w));
}
#define V_ABS(a) _mm256_andnot_ps(_mm256_set1_ps(-0.f), a)
#define ST_F16(p, v) simd_st_f16_256(p, v)
#define ST_BF16(p, v) simd_st_bf16_256(p, v)
#define ST_I8(p, v) simd_st_i8_256(p, v)
#else
#error "simd_f32.h: define SIMD_AVX512 or SIMD_AVX2 first"
#endif

#define SIMD_INL static inline SIMD_TARGET __attribute__((always_inline))

SIMD_INL VEC SIMD(exp)(VEC x) {
    x = V_MIN(V_MAX(x, V_SET1(-87.3f)), V_SET1(88.3f));
    VEC fx = V_ROUND(V_MUL(x, V_SET1(1.44269504088896341f)));
    VEC r = V_FNMADD(fx, V_SET1(0.693359375f), x);
    r = V_FNMADD(fx, V_SET1(-2.12194440e-4f), r);
    VEC y = V_SET1(1.9875691500e-4f);
    y = V_FMA(y, r, V_SET1(1.3981999507e-3f));
    y = V_FMA(y, r, V_SET1(8.3334519073e-3f));
    y = V_FMA(y, r, V_SET1(4.1665795894e-2f));
    y = V_FMA(y, r, V_SET1(1.6666665459e-1f));
    y = V_FMA(y, r, V_SET1(5.0000001201e-1f));
    y = V_FMA(y, V_MUL(r, r), V_ADD(r, V_SET1(1.0f)));
    return V_MUL(y, V_POW2I(fx));
}
