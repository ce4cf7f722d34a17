/* bench_util.h — the few helpers every benchmark in bench/ uses: a monotonic clock in seconds,
 * an ascending comparator for qsort over doubles, and the median of a sample (sorts it). Header
 * only, static inline; benchmarks include it as "../bench_util.h". */
#ifndef EXA_BENCH_UTIL_H
#define EXA_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median of v[0..n) (n >= 1); v is sorted in place */
static inline double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
