/* machine.c — see machine.h. */
#include "core/machine.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quant_x16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct { const float *buf; size_t n; double sink[256]; } bw_job;

#if defined(__x86_64__)
__attribute__((target("avx2"))) static double sum_avx2(const float *p, size_t n) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps(), c = _mm256_setzero_ps(), d = _mm256_setzero_ps();
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a = _mm256_add_ps(a, _mm256_load_ps(p + i));
        b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
        c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
        d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    return t[0] + t[7];
}
#endif

static double sum_scalar(const float *p, size_t n) {
    float s[8] = {0};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += p[i + k];
    return s[0] + s[7];
}

static void bw_worker(void *arg, int ith, int nth) {
    bw_job *j = arg;
    int b, e;
    int nblk = (int)(j->n / 4096);
    exa_split(nblk, ith, nth, &b, &e);
    const float *p = j->buf + (size_t)b * 4096;
    size_t n = (size_t)(e - b) * 4096;
#if defined(__x86_64__)
    j->sink[ith % 256] += exa_cpu_active() >= EXA_CPU_AVX2 ? sum_avx2(p, n) : sum_scalar(p, n);
#else
    j->sink[ith % 256] += sum_scalar(p, n);
#endif
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double exa_machine_read_bandwidth(exa_pool *pool, size_t bytes, int reps) {
    if (reps < 1) reps = 1;
    if (reps > 32) reps = 32;
    float *buf = exa_aligned_alloc(bytes);
    if (!buf) return 0;
    memset(buf, 1, bytes); /* fault the pages in */
    bw_job j = {buf, bytes / sizeof(float), {0}};
    double r[32];
    for (int i = 0; i < reps; i++) {
        double t0 = exa_time_now();
        exa_pool_run(pool, bw_worker, &j);
        r[i] = (double)bytes / (exa_time_now() - t0) / 1e9;
    }
    free(buf);
    qsort(r, (size_t)reps, sizeof r[0], cmp_d);
    return r[reps / 2];
}

typedef struct { double (*probe)(void); double gflops[256]; } fl_job; /* one probe, its rate per thread */

#define FMA_ITERS 2000000
#if defined(__x86_64__)
/* 12 independent accumulator chains hide FMA latency on current cores. They are named
 * variables: an indexed array of vectors would be kept in memory at -O2 and measure loads and
 * stores instead of the FMA units. */
#define FMA12(FMA, m, c)                                                                            \
    a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);                 \
    a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);                 \
    a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
#define FMA_PROBE(V, SET1, FMA, REDUCE, LANES)                                                      \
    V m = SET1(0.999999f), c = SET1(1e-7f);                                                          \
    V a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);           \
    V a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);       \
    double t0 = exa_time_now();                                                                     \
    for (int i = 0; i < FMA_ITERS; i++) { FMA12(FMA, m, c) }                                        \
    double dt = exa_time_now() - t0;                                                                \
    V sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                            \
    return (REDUCE(sum) == 12345.0f ? 1.0 : 0.0) + 12.0 * LANES * 2 * FMA_ITERS / dt / 1e9;

static inline __attribute__((target("avx2,fma"))) float hsum8(__m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
__attribute__((target("avx512f"))) static double fma_avx512(void) {
    FMA_PROBE(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, 16)
}
__attribute__((target("avx2,fma"))) static double fma_avx2(void) {
    FMA_PROBE(__m256, _mm256_set1_ps, _mm256_fmadd_ps, hsum8, 8)
}
#endif

static double fma_scalar(void) {
    float a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double t0 = exa_time_now();
    for (int i = 0; i < FMA_ITERS / 4; i++)
        for (int k = 0; k < 8; k++) a[k] = a[k] * 0.999999f + 1e-7f;
    double dt = exa_time_now() - t0;
    return (a[0] == 12345.0f ? 1.0 : 0.0) + 8.0 * 2 * (FMA_ITERS / 4) / dt / 1e9;
}

/* the f32 FMA probe of the active level */
static double fma_probe(void) {
#if defined(__x86_64__)
    const exa_cpu_level lv = exa_cpu_active();
    return lv >= EXA_CPU_AVX512 ? fma_avx512() : lv >= EXA_CPU_AVX2 ? fma_avx2() : fma_scalar();
#else
    return fma_scalar();
#endif
}

static void probe_worker(void *arg, int ith, int nth) {
    (void)nth;
    fl_job *j = arg;
    j->gflops[ith % 256] = j->probe();
}

/* all threads run a probe at once; its per-thread rates summed, best of 3 (a peak is what the
 * hardware can do, interference only lowers it) */
static double peak_of(exa_pool *pool, double (*probe)(void)) {
    fl_job j;
    memset(&j, 0, sizeof j);
    j.probe = probe;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        exa_pool_run(pool, probe_worker, &j);
        double tot = 0;
        for (int i = 0; i < exa_pool_size(pool) && i < 256; i++) tot += j.gflops[i];
        if (tot > best) best = tot;
    }
    return best;
}

double exa_machine_peak_gflops(exa_pool *pool) { return peak_of(pool, fma_probe); }

/* int8 dot-product peak: vpdpbusd (64 u8·s8 multiply-adds per 512-bit instruction), the
 * instruction the quantized kernels are built on; 12 independent chains, named (see FMA12). */
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vnni"))) static double int8_avx512(void) {
    const __m512i u = _mm512_set1_epi8(1), v = _mm512_set1_epi8(1);
    /* distinct starting values: identical chains would be merged into one by the compiler */
    __m512i a0 = _mm512_set1_epi32(0), a1 = _mm512_set1_epi32(1), a2 = _mm512_set1_epi32(2), a3 = _mm512_set1_epi32(3);
    __m512i a4 = _mm512_set1_epi32(4), a5 = _mm512_set1_epi32(5), a6 = _mm512_set1_epi32(6), a7 = _mm512_set1_epi32(7);
    __m512i a8 = _mm512_set1_epi32(8), a9 = _mm512_set1_epi32(9), a10 = _mm512_set1_epi32(10), a11 = _mm512_set1_epi32(11);
    double t0 = exa_time_now();
    for (int i = 0; i < FMA_ITERS; i++) {
        a0 = _mm512_dpbusd_epi32(a0, u, v); a1 = _mm512_dpbusd_epi32(a1, u, v); a2 = _mm512_dpbusd_epi32(a2, u, v);
        a3 = _mm512_dpbusd_epi32(a3, u, v); a4 = _mm512_dpbusd_epi32(a4, u, v); a5 = _mm512_dpbusd_epi32(a5, u, v);
        a6 = _mm512_dpbusd_epi32(a6, u, v); a7 = _mm512_dpbusd_epi32(a7, u, v); a8 = _mm512_dpbusd_epi32(a8, u, v);
        a9 = _mm512_dpbusd_epi32(a9, u, v); a10 = _mm512_dpbusd_epi32(a10, u, v); a11 = _mm512_dpbusd_epi32(a11, u, v);
    }
    double dt = exa_time_now() - t0;
    __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                   _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
    sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)));
    return (_mm512_reduce_add_epi32(sum) == 12345 ? 1.0 : 0.0) + 12.0 * 64 * 2 * FMA_ITERS / dt / 1e9;
}
#endif

double exa_machine_peak_int8_gops(exa_pool *pool) {
#if defined(__x86_64__)
    if (exa_cpu_active() < EXA_CPU_AVX512 || !exa_quant_has_vnni()) return 0;
    return peak_of(pool, int8_avx512);
#else
    (void)pool;
    return 0;
#endif
}

/* AMX peaks: TDPBSSD (int8) or TDPBF16PS (bf16) on full tiles (16 × 64 bytes: 16·16·64 int8 or
 * 16·16·32 bf16 multiply-adds each), 4 independent accumulators C0..C3 = A4,A5 × B6,B7 (the 2 × 2
 * blocking AMX kernels use). Run only when the AMX kernels are on with the real instructions
 * (exa_qx16_amx_state / exa_bf16_amx_state "on": the CPU, the OS permission and the self-check). */
#if defined(__x86_64__)
#define AMX_ITERS 200000
#define AMX_PROBE(name, op, macs)                                                                            \
    __attribute__((target("amx-tile,amx-int8,amx-bf16"))) static double name(void) {                      \
        _Alignas(64) uint8_t cfg[64], buf[16 * 64];                                                         \
        memset(cfg, 0, sizeof cfg);                                                                          \
        memset(buf, 0, sizeof buf);                                                                          \
        cfg[0] = 1;                                                                                          \
        for (int i = 0; i < 8; i++) cfg[16 + 2 * i] = 64, cfg[48 + i] = 16;                                  \
        __asm__ volatile("" ::: "memory");                                                                   \
        _tile_loadconfig(cfg);                                                                               \
        _tile_zero(0);                                                                                       \
        _tile_zero(1);                                                                                       \
        _tile_zero(2);                                                                                       \
        _tile_zero(3);                                                                                       \
        _tile_loadd(4, buf, 64);                                                                             \
        _tile_loadd(5, buf, 64);                                                                             \
        _tile_loadd(6, buf, 64);                                                                             \
        _tile_loadd(7, buf, 64);                                                                             \
        const double t0 = exa_time_now();                                                                    \
        for (int i = 0; i < AMX_ITERS; i++) {                                                                \
            op(0, 4, 6);                                                                                     \
            op(1, 4, 7);                                                                                     \
            op(2, 5, 6);                                                                                     \
            op(3, 5, 7);                                                                                     \
        }                                                                                                    \
        _tile_stored(0, buf, 64);                                                                            \
        const double dt = exa_time_now() - t0;                                                               \
        _tile_release();                                                                                     \
        return (buf[0] == 7 ? 1e-9 : 0.0) + 4.0 * (macs) * 2 * AMX_ITERS / dt / 1e9;                         \
    }
AMX_PROBE(int8_amx, _tile_dpbssd, 16 * 16 * 64)
AMX_PROBE(bf16_amx, _tile_dpbf16ps, 16 * 16 * 32)
#endif

double exa_machine_peak_amx_int8_gops(exa_pool *pool) {
#if defined(__x86_64__)
    if (!strcmp(exa_qx16_amx_state(), "on")) return peak_of(pool, int8_amx);
#endif
    (void)pool;
    return 0;
}

double exa_machine_peak_amx_bf16_gflops(exa_pool *pool) {
#if defined(__x86_64__)
    if (!strcmp(exa_bf16_amx_state(), "on")) return peak_of(pool, bf16_amx);
#endif
    (void)pool;
    return 0;
}
