/* dot.c — dot products of a weight row (f32, bf16 or f16) with an f32 activation vector: the
 * inner loop of every matrix product. Scalar references first, then AVX2 and AVX-512 versions
 * generated from one macro per ISA (only the load-and-widen step differs between dtypes).
 * SIMD code is compiled per function with target attributes, so the binary runs on any x86-64
 * and picks a version at run time (exa_dot_get). */
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/quant.h"

float exa_dot_f32_ref(const void *w, const float *x, int n) {
    const float *a = w;
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * x[i];
    return s;
}

float exa_dot_bf16_ref(const void *w, const float *x, int n) {
    const uint16_t *a = w;
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += exa_bf16_to_f32(a[i]) * x[i];
    return s;
}

float exa_dot_f16_ref(const void *w, const float *x, int n) {
    const uint16_t *a = w;
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += exa_f16_to_f32(a[i]) * x[i];
    return s;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Four independent accumulators hide FMA latency; the tail falls back to the reference. */
#define EXA_DEFINE_DOT_AVX512(NAME, ELT, LOAD16, REF)                                              \
    __attribute__((target("avx512f,avx512bw,avx512vl"))) static float NAME(const void *w,          \
                                                                           const float *x, int n) { \
        const ELT *a = w;                                                                          \
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();                                 \
        __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();                                 \
        int i = 0;                                                                                 \
        for (; i + 64 <= n; i += 64) {                                                             \
            s0 = _mm512_fmadd_ps(LOAD16(a + i), _mm512_loadu_ps(x + i), s0);                       \
            s1 = _mm512_fmadd_ps(LOAD16(a + i + 16), _mm512_loadu_ps(x + i + 16), s1);             \
            s2 = _mm512_fmadd_ps(LOAD16(a + i + 32), _mm512_loadu_ps(x + i + 32), s2);             \
            s3 = _mm512_fmadd_ps(LOAD16(a + i + 48), _mm512_loadu_ps(x + i + 48), s3);             \
        }                                                                                          \
        for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(LOAD16(a + i), _mm512_loadu_ps(x + i), s0); \
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))); \
        return s + REF(a + i, x + i, n - i);                                                       \
    }

#define EXA_DEFINE_DOT_AVX2(NAME, ELT, LOAD8, REF)                                                 \
    __attribute__((target("avx2,fma,f16c"))) static float NAME(const void *w, const float *x, int n) { \
        const ELT *a = w;                                                                          \
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                                 \
        __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();                                 \
        int i = 0;                                                                                 \
        for (; i + 32 <= n; i += 32) {                                                             \
            s0 = _mm256_fmadd_ps(LOAD8(a + i), _mm256_loadu_ps(x + i), s0);                        \
            s1 = _mm256_fmadd_ps(LOAD8(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);                \
            s2 = _mm256_fmadd_ps(LOAD8(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);              \
            s3 = _mm256_fmadd_ps(LOAD8(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);              \
        }                                                                                          \
        for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LOAD8(a + i), _mm256_loadu_ps(x + i), s0); \
        __m256 t = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));                    \
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));             \
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));                                                    \
        h = _mm_add_ss(h, _mm_movehdup_ps(h));                                                     \
        return _mm_cvtss_f32(h) + REF(a + i, x + i, n - i);                                        \
    }

/* load-and-widen helpers: 16 (AVX-512) or 8 (AVX2) elements to f32 */
#define LD512_F32(p) _mm512_loadu_ps(p)
#define LD512_BF16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
#define LD512_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define LD256_F32(p) _mm256_loadu_ps(p)
#define LD256_BF16(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
#define LD256_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))

/* 4 weight rows × 4 tokens register-blocked micro-kernel for matrix–matrix products: per step
 * of 16 (8) columns, 4 weight loads (widened to f32) and 4 activation loads feed 16 FMAs into 16
 * named accumulators (an indexed array would be spilled to memory at -O2).
 * out[r*4 + t] = dot(w row r, x row t). Column tails use the scalar reference. */
#define GEMM4_ROW(V, FMA, LOADW, r)                                                                  \
    { V wr = LOADW(w + (size_t)(r) * ldw + i);                                                     \
      a##r##0 = FMA(wr, x0, a##r##0); a##r##1 = FMA(wr, x1, a##r##1);                               \
      a##r##2 = FMA(wr, x2, a##r##2); a##r##3 = FMA(wr, x3, a##r##3); }
#define GEMM4_BODY(V, ZERO, LOADX, FMA, LOADW, STEP, HSUM, REF)                                      \
    const ELT_T *w = wv;                                                                           \
    V a00 = ZERO(), a01 = ZERO(), a02 = ZERO(), a03 = ZERO(), a10 = ZERO(), a11 = ZERO();         \
    V a12 = ZERO(), a13 = ZERO(), a20 = ZERO(), a21 = ZERO(), a22 = ZERO(), a23 = ZERO();         \
    V a30 = ZERO(), a31 = ZERO(), a32 = ZERO(), a33 = ZERO();                                     \
    int i = 0;                                                                                     \
    for (; i + STEP <= n; i += STEP) {                                                             \
        V x0 = LOADX(x + i), x1 = LOADX(x + ldx + i), x2 = LOADX(x + 2 * ldx + i), x3 = LOADX(x + 3 * ldx + i); \
        GEMM4_ROW(V, FMA, LOADW, 0) GEMM4_ROW(V, FMA, LOADW, 1)                                    \
        GEMM4_ROW(V, FMA, LOADW, 2) GEMM4_ROW(V, FMA, LOADW, 3)                                    \
    }                                                                                              \
    V acc[16] = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33}; \
    for (int r = 0; r < 4; r++)                                                                    \
        for (int t = 0; t < 4; t++)                                                                \
            out[r * 4 + t] = HSUM(acc[r * 4 + t]) + REF(w + (size_t)r * ldw + i, x + (size_t)t * ldx + i, n - i);

static inline __attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

#define EXA_DEFINE_GEMM4_AVX512(NAME, ELT, LOAD16, REF)                                             \
    __attribute__((target("avx512f,avx512bw,avx512vl"))) static void NAME(                          \
        const void *wv, size_t ldw, const float *x, size_t ldx, int n, float *out) {               \
        typedef ELT ELT_T;                                                                         \
        GEMM4_BODY(__m512, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_fmadd_ps, LOAD16, 16,        \
                   _mm512_reduce_add_ps, REF)                                                      \
    }

#define EXA_DEFINE_GEMM4_AVX2(NAME, ELT, LOAD8, REF)                                                \
    __attribute__((target("avx2,fma,f16c"))) static void NAME(                                      \
        const void *wv, size_t ldw, const float *x, size_t ldx, int n, float *out) {               \
        typedef ELT ELT_T;                                                                         \
        GEMM4_BODY(__m256, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps, LOAD8, 8, hsum256, REF) \
    }

EXA_DEFINE_DOT_AVX512(dot_f32_avx512, float, LD512_F32, exa_dot_f32_ref)
EXA_DEFINE_DOT_AVX512(dot_bf16_avx512, uint16_t, LD512_BF16, exa_dot_bf16_ref)
EXA_DEFINE_DOT_AVX512(dot_f16_avx512, uint16_t, LD512_F16, exa_dot_f16_ref)
EXA_DEFINE_DOT_AVX2(dot_f32_avx2, float, LD256_F32, exa_dot_f32_ref)
EXA_DEFINE_DOT_AVX2(dot_bf16_avx2, uint16_t, LD256_BF16, exa_dot_bf16_ref)
EXA_DEFINE_DOT_AVX2(dot_f16_avx2, uint16_t, LD256_F16, exa_dot_f16_ref)
EXA_DEFINE_GEMM4_AVX512(gemm4_f32_avx512, float, LD512_F32, exa_dot_f32_ref)
EXA_DEFINE_GEMM4_AVX512(gemm4_bf16_avx512, uint16_t, LD512_BF16, exa_dot_bf16_ref)
EXA_DEFINE_GEMM4_AVX512(gemm4_f16_avx512, uint16_t, LD512_F16, exa_dot_f16_ref)
EXA_DEFINE_GEMM4_AVX2(gemm4_f32_avx2, float, LD256_F32, exa_dot_f32_ref)
EXA_DEFINE_GEMM4_AVX2(gemm4_bf16_avx2, uint16_t, LD256_BF16, exa_dot_bf16_ref)
EXA_DEFINE_GEMM4_AVX2(gemm4_f16_avx2, uint16_t, LD256_F16, exa_dot_f16_ref)
#endif

static const exa_gemm4_fn gemm4_table[EXA_DTYPE_COUNT][3] = {
#if defined(__x86_64__)
    [EXA_DTYPE_F32] = {NULL, gemm4_f32_avx2, gemm4_f32_avx512},
    [EXA_DTYPE_BF16] = {NULL, gemm4_bf16_avx2, gemm4_bf16_avx512},
    [EXA_DTYPE_F16] = {NULL, gemm4_f16_avx2, gemm4_f16_avx512},
#endif
};

exa_gemm4_fn exa_gemm4_get(exa_dtype t, exa_cpu_level level) {
    if ((unsigned)t >= EXA_DTYPE_COUNT) return NULL;
    if (level > EXA_CPU_AVX512) level = EXA_CPU_AVX512;
    return gemm4_table[t][level];
}

/* [dtype][level] */
static const exa_dot_fn dot_table[EXA_DTYPE_COUNT][3] = {
#if defined(__x86_64__)
    [EXA_DTYPE_F32] = {exa_dot_f32_ref, dot_f32_avx2, dot_f32_avx512},
    [EXA_DTYPE_BF16] = {exa_dot_bf16_ref, dot_bf16_avx2, dot_bf16_avx512},
    [EXA_DTYPE_F16] = {exa_dot_f16_ref, dot_f16_avx2, dot_f16_avx512},
#else
    [EXA_DTYPE_F32] = {exa_dot_f32_ref, exa_dot_f32_ref, exa_dot_f32_ref},
    [EXA_DTYPE_BF16] = {exa_dot_bf16_ref, exa_dot_bf16_ref, exa_dot_bf16_ref},
    [EXA_DTYPE_F16] = {exa_dot_f16_ref, exa_dot_f16_ref, exa_dot_f16_ref},
#endif
};

exa_dot_fn exa_dot_get(exa_dtype t, exa_cpu_level level) {
    if ((unsigned)t >= EXA_DTYPE_COUNT) return NULL;
    if (level > EXA_CPU_AVX512) level = EXA_CPU_AVX512;
    return dot_table[t][level];
}

void exa_row_to_f32(exa_dtype t, const void *w, int64_t cols, int64_t r, float *out) {
    switch (t) {
    case EXA_DTYPE_F32: memcpy(out, (const float *)w + r * cols, (size_t)cols * sizeof(float)); break;
    case EXA_DTYPE_BF16: {
        const uint16_t *p = (const uint16_t *)w + r * cols;
        for (int64_t i = 0; i < cols; i++) out[i] = exa_bf16_to_f32(p[i]);
        break;
    }
    case EXA_DTYPE_F16: {
        const uint16_t *p = (const uint16_t *)w + r * cols;
        for (int64_t i = 0; i < cols; i++) out[i] = exa_f16_to_f32(p[i]);
        break;
    }
    default: {
        size_t rb = exa_dtype_row_bytes(t, cols);
        if (!rb || exa_dequantize_row(exa_qtype_from_dtype(t), (const uint8_t *)w + (size_t)r * rb, out, cols) != EXA_OK)
            memset(out, 0, (size_t)cols * sizeof(float));
    }
    }
}
