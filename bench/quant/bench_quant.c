/* bench_quant.c — single-thread matvec throughput of the block-quantized formats
 * (src/kernels/quant*.c) for every CPU level this machine has, as GB/s of weight bytes streamed,
 * next to the machine's measured single-thread read and memcpy bandwidth (fractions reported).
 * A 4096×4096 matrix per format; enough copies are cycled through (160 MiB by default, set with
 * EXA_BENCH_POOL_MB; several times a typical L3) that weights come from DRAM as in real decoding.
 * Shared machines are noisy, so each matvec run is paired with a read of an equally large window
 * of another copy (same access pattern, same moment): the fraction is median matvec GB/s over
 * median read GB/s of those windows. Medians of runs.
 * Then all threads through exa_matmul (the engine's matrix driver; packed=NULL, so the row
 * kernels rather than the row-interleaved ones, see bench_qx16), and the compute-bound rate of each
 * kernel on cache-resident rows (best of 20).
 * Then the four-token kernels (exa_qdot4_get) on the same cache-resident rows against four
 * one-row calls: weight GB/s of each (a weight byte serves 4 token-dots in one pass) and the
 * ratio of their times, medians over interleaved repetitions.
 * Usage: bench_quant [runs]   (default 15). EXA_BENCH_RESIDENT=1 runs only the cache-resident
 * sections (seconds). Not a pass/fail test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "kernels/quant.h"

#include "../bench_util.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* results go here so the timed dot products cannot be optimised away */
static volatile float bench_sink;
#endif

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    return (uint64_t)_mm256_extract_epi64(a0, 0) ^ (uint64_t)_mm256_extract_epi64(a0, 3);
}
#endif

static uint64_t read_scalar(const uint8_t *p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        s ^= v;
    }
    return s;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 15;
    if (runs < 1) runs = 1;
    const char *pool_env = getenv("EXA_BENCH_POOL_MB");
    const size_t pool = (size_t)(pool_env ? atoi(pool_env) : 160) << 20;
    const int64_t rows = 4096, cols = 4096;
    const int resident_only = getenv("EXA_BENCH_RESIDENT") && atoi(getenv("EXA_BENCH_RESIDENT"));

    double *t = calloc((size_t)runs, sizeof *t);
    volatile uint64_t sink = 0;
    float *W = malloc(sizeof(float) * (size_t)(rows * cols)), *x = malloc(sizeof(float) * (size_t)cols);
    float *y = malloc(sizeof(float) * (size_t)rows);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < rows * cols; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        W[i] = (float)((int64_t)(s >> 40) - (1 << 23)) / (float)(1 << 23) * 0.05f;
    }
    for (int64_t i = 0; i < cols; i++) x[i] = sinf((float)i);
    const exa_qtype types[] = {EXA_QTYPE_Q8_0, EXA_QTYPE_Q4_0, EXA_QTYPE_Q4_K, EXA_QTYPE_Q5_K, EXA_QTYPE_Q6_K};
    /* 4 activation rows of either kind */
    void *act = malloc(4 * (exa_qtype_row_bytes(EXA_QTYPE_Q8_K, cols) + exa_qtype_row_bytes(EXA_QTYPE_Q8_0, cols)));
    uint8_t *src = aligned_alloc(64, pool);
    if (!src || !W || !x || !y || !act || !t) { fprintf(stderr, "bench_quant: cannot allocate %zu MiB\n", pool >> 20); return 1; }
    if (!resident_only) {
    /* ---- machine bandwidth: read (AVX2 xor-reduce) and memcpy, single thread, over `pool` bytes */
    uint8_t *dst = aligned_alloc(64, pool);
    if (!dst) { fprintf(stderr, "bench_quant: cannot allocate %zu MiB\n", pool >> 20); return 1; }
    memset(src, 1, pool);
    memset(dst, 2, pool);
    for (int r = 0; r < runs; r++) {
        double t0 = now();
#if defined(__x86_64__)
        sink ^= __builtin_cpu_supports("avx2") ? read_avx2(src, pool) : read_scalar(src, pool);
#else
        sink ^= read_scalar(src, pool);
#endif
        t[r] = now() - t0;
    }
    const double read_gbs = (double)pool / median(t, runs) / 1e9;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        memcpy(dst, src, pool);
        t[r] = now() - t0;
        sink ^= dst[(size_t)r * 4099 % pool];
    }
    const double memcpy_gbs = (double)pool / median(t, runs) / 1e9; /* bytes copied per second */
    free(dst);
    printf("machine (1 thread, whole pool): read %.2f GB/s, memcpy %.2f GB/s copied (%.2f GB/s read+write)\n", read_gbs, memcpy_gbs,
           2 * memcpy_gbs);
    printf("matvec %lldx%lld, pool %zu MiB, median of %d runs per cell, cpu max level %s\n", (long long)rows,
           (long long)cols, pool >> 20, runs, exa_cpu_level_name(exa_cpu_detect()));
    printf("%-6s %-7s %10s %9s %9s %9s %9s\n", "format", "level", "MB/matrix", "ms", "GB/s", "read GB/s", "fraction");

    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_qtype q = types[k];
        const size_t rb = exa_qtype_row_bytes(q, cols), mb = rb * (size_t)rows;
        size_t copies = pool / mb;
        if (copies < 2) copies = 2;
        if (copies * mb > pool) { fprintf(stderr, "bench_quant: pool too small\n"); return 1; }
        for (int64_t r = 0; r < rows; r++) exa_quantize_row(q, W + r * cols, src + (size_t)r * rb, cols);
        for (size_t c = 1; c < copies; c++) memcpy(src + c * mb, src, mb);
        for (int lv = 0; lv <= (int)exa_cpu_detect(); lv++) {
            exa_qmatvec(q, (exa_cpu_level)lv, rows, cols, src, x, y, act); /* warm-up */
            const int n = lv == 0 ? (runs + 2) / 3 : runs; /* the scalar reference is slow */
            double *tm = calloc((size_t)n, sizeof *tm), *tr = calloc((size_t)n, sizeof *tr);
            for (int r = 0; r < n; r++) {
                const uint8_t *m = src + (size_t)((size_t)r % copies) * mb;
                const uint8_t *o = src + (size_t)((size_t)(r + 1) % copies) * mb;
                double t0 = now();
                exa_qmatvec(q, (exa_cpu_level)lv, rows, cols, m, x, y, act);
                double t1 = now();
#if defined(__x86_64__)
                sink ^= __builtin_cpu_supports("avx2") ? read_avx2(o, mb & ~(size_t)127) : read_scalar(o, mb);
#else
                sink ^= read_scalar(o, mb);
#endif
                tr[r] = now() - t1;
                tm[r] = t1 - t0;
                sink ^= (uint64_t)(y[r % rows] != 0);
            }
            const double med = median(tm, n), gbs = (double)mb / med / 1e9, rgbs = (double)mb / median(tr, n) / 1e9;
            printf("%-6s %-7s %10.2f %9.3f %9.2f %9.2f %8.0f%%\n", exa_qtype_name(q), exa_cpu_level_name((exa_cpu_level)lv),
                   (double)mb / 1e6, med * 1e3, gbs, rgbs, 100.0 * gbs / rgbs);
            free(tm);
            free(tr);
        }
    }
    /* all threads (exa_matmul over the pool, active level), same DRAM-streaming setup */
    exa_pool *tp = exa_pool_init(0);
    const int nth = tp ? exa_pool_size(tp) : 1;
    printf("\nthreaded matvec (%d threads, level %s):\n%-6s %9s %9s\n", nth, exa_cpu_level_name(exa_cpu_active()), "format",
           "ms", "GB/s");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_qtype q = types[k];
        const size_t rb = exa_qtype_row_bytes(q, cols), mb = rb * (size_t)rows;
        size_t copies = pool / mb;
        if (copies < 1) copies = 1;
        if (exa_quantize_matrix(tp, q, W, rows, cols, src) != EXA_OK) return 1;
        for (size_t c = 1; c < copies; c++) memcpy(src + c * mb, src, mb);
        double *tm = calloc((size_t)runs, sizeof *tm);
        for (int r = 0; r < runs; r++) {
            const uint8_t *m = src + (size_t)((size_t)r % copies) * mb;
            double t0 = now();
            exa_dtype dt;
            exa_dtype_from_qtype(q, &dt);
            const exa_mat mat = {dt, m, rows, cols, NULL};
            exa_matmul(tp, &mat, x, 1, y);
            tm[r] = now() - t0;
        }
        const double med = median(tm, runs);
        printf("%-6s %9.3f %9.2f\n", exa_qtype_name(q), med * 1e3, (double)mb / med / 1e9);
        free(tm);
    }
    exa_pool_free(tp);
    } /* !resident_only */

    /* compute-bound rate: 64 rows of 4096 (≤ 1.2 MB, cache-resident) dotted repeatedly; best of
     * 20 repetitions of 20 passes, since interference only ever slows a pass down */
    printf("\ncache-resident (64 rows x 4096, best of 20):\n%-6s %-7s %9s\n", "format", "level", "GB/s");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_qtype q = types[k];
        const size_t rb = exa_qtype_row_bytes(q, cols);
        for (int64_t r = 0; r < 64; r++) exa_quantize_row(q, W + r * cols, src + (size_t)r * rb, cols);
        exa_quantize_act(q, x, act, cols);
        for (int lv = 0; lv <= (int)exa_cpu_detect(); lv++) {
            exa_qdot_fn f = exa_qdot_get(q, (exa_cpu_level)lv);
            double best = 1e30;
            for (int rep = 0; rep < 20; rep++) {
                double t0 = now();
                for (int it = 0; it < (lv ? 20 : 2); it++)
                    for (int r = 0; r < 64; r++) bench_sink += f(cols, src + (size_t)r * rb, act);
                double dt = (now() - t0) / (lv ? 20 : 2);
                if (dt < best) best = dt;
            }
            printf("%-6s %-7s %9.2f\n", exa_qtype_name(q), exa_cpu_level_name((exa_cpu_level)lv), 64.0 * (double)rb / best / 1e9);
        }
    }

    /* four-token kernels vs four one-row calls, same 64 cache-resident rows; each repetition
     * times both (interleaved, so a noisy moment hits both); medians of times and of ratios */
    printf("\nfour activation rows per weight row (64 rows x 4096 cache-resident, median of 31):\n"
           "%-6s %-7s %12s %12s %10s\n", "format", "level", "1-row GB/s", "4-row GB/s", "speedup");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_qtype q = types[k];
        const size_t rb = exa_qtype_row_bytes(q, cols), ab = exa_qtype_row_bytes(exa_qtype_act(q), cols);
        for (int64_t r = 0; r < 64; r++) exa_quantize_row(q, W + r * cols, src + (size_t)r * rb, cols);
        for (int tk = 0; tk < 4; tk++) {
            for (int64_t i = 0; i < cols; i++) y[i] = sinf((float)(i * (tk + 1)));
            exa_quantize_act(q, y, (uint8_t *)act + (size_t)tk * ab, cols);
        }
        for (int lv = 0; lv <= (int)exa_cpu_detect(); lv++) {
            exa_qdot_fn f = exa_qdot_get(q, (exa_cpu_level)lv);
            exa_qdot4_fn f4 = exa_qdot4_get(q, (exa_cpu_level)lv);
            enum { REPS = 31 };
            double t1[REPS], t4[REPS], ratio[REPS];
            const int passes = lv ? 5 : 1;
            float o4[4];
            for (int rep = 0; rep < REPS; rep++) {
                double t0 = now();
                for (int it = 0; it < passes; it++)
                    for (int r = 0; r < 64; r++)
                        for (int tk = 0; tk < 4; tk++) bench_sink += f(cols, src + (size_t)r * rb, (uint8_t *)act + (size_t)tk * ab);
                double tm = now();
                for (int it = 0; it < passes; it++)
                    for (int r = 0; r < 64; r++) {
                        f4(cols, src + (size_t)r * rb, act, ab, o4);
                        bench_sink += o4[0] + o4[3];
                    }
                double te = now();
                t1[rep] = (tm - t0) / passes;
                t4[rep] = (te - tm) / passes;
                ratio[rep] = t1[rep] / t4[rep];
            }
            const double gb = 64.0 * (double)rb / 1e9;
            printf("%-6s %-7s %12.2f %12.2f %9.2fx\n", exa_qtype_name(q), exa_cpu_level_name((exa_cpu_level)lv),
                   4 * gb / median(t1, REPS), gb / median(t4, REPS), median(ratio, REPS));
        }
    }
    (void)sink;
    free(src); free(W); free(x); free(y); free(act); free(t);
    return 0;
}
