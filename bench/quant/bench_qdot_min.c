/* bench_qdot_min.c — for A/B comparisons of kernel edits on a shared, noisy machine: the fastest
 * of many trials (not the median) of each one-row (exa_qdot_get) and four-row (exa_qdot4_get)
 * kernel at one CPU level, on a cache-resident 64 x 4096 matrix, in ns per weight row. The minimum
 * is what an undisturbed run takes; on the 2-core shared dev machine it repeats within ±0.3 %
 * where medians drift by 10 %. Build the old tree and the new one, run them alternately a few
 * times, compare the minima.
 * Usage: bench_qdot_min [trials (2000)] [level: 0 scalar, 1 avx2, 2 avx512 (default: active)].
 * Not a pass/fail test. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/quant.h"
#include "../bench_util.h"

static volatile float bench_sink;

int main(int argc, char **argv) {
    static const exa_qtype ts[] = {EXA_QTYPE_Q8_0, EXA_QTYPE_Q4_0, EXA_QTYPE_Q4_K, EXA_QTYPE_Q5_K, EXA_QTYPE_Q6_K};
    const int n = 4096, rows = 64, trials = argc > 1 ? atoi(argv[1]) : 2000;
    const exa_cpu_level lv = argc > 2 ? (exa_cpu_level)atoi(argv[2]) : exa_cpu_active();
    float *x = malloc(sizeof(float) * (size_t)n * rows);
    if (!x) return 1;
    unsigned s = 1;
    for (int i = 0; i < n * rows; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
    printf("fastest of %d trials, %d rows x %d, level %s (clamped to the CPU): ns per row\n", trials, rows, n,
           exa_cpu_level_name(lv));
    for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
        const exa_qtype t = ts[ti];
        const size_t rb = exa_qtype_row_bytes(t, n), ab = exa_qtype_row_bytes(exa_qtype_act(t), n);
        uint8_t *w = malloc(rb * rows), *a = malloc(ab * 4);
        if (!w || !a) return 1;
        for (int r = 0; r < rows; r++) exa_quantize_row(t, x + (size_t)r * n, w + r * rb, n);
        exa_quantize_act_rows(t, x, 4, n, a);
        exa_qdot_fn f1 = exa_qdot_get(t, lv);
        exa_qdot4_fn f4 = exa_qdot4_get(t, lv);
        double best1 = 1e9, best4 = 1e9;
        for (int tr = 0; tr < trials; tr++) {
            const double t0 = now();
            for (int r = 0; r < rows; r++) bench_sink = f1(n, w + r * rb, a);
            const double t1 = now();
            float o[4];
            for (int r = 0; r < rows; r++) {
                f4(n, w + r * rb, a, ab, o);
                bench_sink = o[3];
            }
            const double t2 = now();
            if (t1 - t0 < best1) best1 = t1 - t0;
            if (t2 - t1 < best4) best4 = t2 - t1;
        }
        printf("%-5s one-row %7.1f   four-row %7.1f\n", exa_qtype_name(t), best1 / rows * 1e9, best4 / rows * 1e9);
        free(w);
        free(a);
    }
    free(x);
    return 0;
}
