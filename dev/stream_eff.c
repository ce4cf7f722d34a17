/* dev/stream_eff.c — experiment: how close does the decode kernel (x16, T = 1) come to a plain
 * read loop over the SAME packed bytes (same pages, huge pages where the kernel allows), on 1 and
 * 2 threads? Alternates the two within every repetition; prints medians of GB/s and of the
 * per-repetition ratio kernel / read. Formats: Q4_K, Q6_K, Q8_0 (4096 columns, ~300 MiB each).
 *
 * ROWS=128 in the environment makes the matrix cache-resident (passes repeated): the arithmetic
 * limit. -DX16_PF_MIN_NT=1 builds the old kernels (one-GSB software prefetch also for one token).
 *
 * RESULTS (2026-11-22 evening, Zen 4 VM, ratios kernel / read, T = 1):
 *  - 1 thread, 4 alternated rounds: the one-GSB prefetch at T = 1 lost to none in every round:
 *    Q4_K 0.87 vs 0.93, Q6_K 0.91 vs 0.97, Q8_0 0.96 vs 1.02 (medians). Adopted: X16_PF_MIN_NT 2.
 *    At T = 2..8 the prefetch still wins (T 8 Q4_K 0.37 vs 0.24), as its comment says.
 *  - Q4_K T = 1 with its 8 products per sub-block as two chains of 4 instead of one of 8
 *    (-DX16_T1_SPLIT, since made the kernel): 1 thread 0.850 -> 0.873 (medians of 6 alternated
 *    pairs; S1 won 4), 2 threads slow state 0.939 -> 0.951. Adopted. In `exaone bench` (q4_K_M
 *    1.2B, -p 64 -n 64 -r 3, 8 pairs alternated with the build before): tg/roofline 0.925 ->
 *    0.958 (medians), 6 of 8 pairs won.
 *  - 2 threads: the host's fast state (read >= 42 GB/s) is where decode falls short. There the
 *    k-quant kernels reach only 0.70-0.89 of the read rate (Q8_0 0.94-1.0), in the slow state
 *    0.86-0.98. Cache-resident the kernels run at 53 / 46 / 77 GB/s per core (Q4_K / Q6_K /
 *    Q8_0), so they are not arithmetic-bound at ~27 GB/s per core: the loss is memory-level
 *    parallelism (an x16 GSB's ~300 instructions fill the reorder window with one GSB in flight).
 *  - A far L2 prefetch (_MM_HINT_T1, 8, 12 or 16 GSBs ahead) helped the k-quants in one 5-minute
 *    run (slow state Q6_K 0.81 -> 0.94) and hurt them in the next (0.97 -> 0.93); Q8_0 lost both
 *    times. Not adopted.
 *
 * build: gcc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc dev/stream_eff.c build/libexaone.a \
 *            -ljson-c -lm -lpthread -o /tmp/se/se   (includes quant_x16.c for its static kernels)
 * usage: /tmp/se/se [reps] [threads] [T]  (default 11, 1 then 2, 1) */
#include "../src/kernels/quant_x16.c"

#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>

#include "core/common.h"
#include "core/threadpool.h"
#include "../bench/bench_util.h"

#define COLS 4096
static volatile double sink;

X16_TGT static double read_all(const uint8_t *p, size_t n) {
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        a = _mm512_add_epi32(a, _mm512_load_si512(p + i));
        b = _mm512_add_epi32(b, _mm512_load_si512(p + i + 64));
        c = _mm512_add_epi32(c, _mm512_load_si512(p + i + 128));
        d = _mm512_add_epi32(d, _mm512_load_si512(p + i + 192));
    }
    return (double)_mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d)));
}

typedef struct {
    exa_qtype t;
    const uint8_t *P;
    size_t bytes;
    int64_t rows;
    const uint8_t *act;
    size_t ab;
    float *y;
    int mode; /* 0 read, 1 kernel */
    int T;
} job;

static void worker(void *arg, int ith, int nth) {
    const job *j = arg;
    const int64_t groups = j->rows / 16;
    const int64_t g0 = groups * ith / nth, g1 = groups * (ith + 1) / nth;
    const size_t gb = j->bytes / (size_t)groups;
    if (j->mode == 0) sink += read_all(j->P + (size_t)g0 * gb, (size_t)(g1 - g0) * gb);
    else exa_qx16_matmul(j->t, j->P, j->rows, COLS, g0, g1, j->act, j->ab, j->T, j->y, (size_t)j->rows);
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 11;
    const exa_qtype types[3] = {EXA_QTYPE_Q4_K, EXA_QTYPE_Q6_K, EXA_QTYPE_Q8_0};
    const int T = argc > 3 ? atoi(argv[3]) : 1;
    const int nt0 = argc > 2 ? atoi(argv[2]) : 1, nt1 = argc > 2 ? nt0 : 2;
    for (int nt = nt0; nt <= nt1; nt++) {
        exa_pool *pool = exa_pool_init(nt);
        for (int k = 0; k < 3; k++) {
            const exa_qtype t = types[k];
            const int64_t rows = getenv("ROWS") ? atoll(getenv("ROWS")) : 65536 * 2; /* ROWS=128: cache-resident */
            const int passes = (int)(65536 * 2 / rows);
            const size_t bytes = exa_qx16_layout_bytes(t, rows, COLS);
            uint8_t *P = NULL;
            if (posix_memalign((void **)&P, (size_t)2 << 20, bytes)) return 1;
            madvise(P, bytes, MADV_HUGEPAGE);
            for (size_t i = 0; i < bytes; i++) P[i] = (uint8_t)(i * 2654435761u >> 13);
            /* valid f16 scales: any bytes are finite enough for timing except NaN/inf patterns; zero the
             * headers would change nothing in the timing, so the random bytes stay */
            const exa_qtype at = exa_qtype_act(t);
            const size_t ab = exa_qtype_row_bytes(at, COLS);
            uint8_t *act = malloc(ab * (size_t)T);
            float *x = malloc(sizeof(float) * COLS), *y = malloc(sizeof(float) * (size_t)rows * (size_t)T);
            for (int i = 0; i < COLS; i++) x[i] = sinf((float)i);
            for (int t = 0; t < T; t++) exa_quantize_row(at, x, act + (size_t)t * ab, COLS);
            job j = {t, P, bytes, rows, act, ab, y, 0, T};
            double rd[64], kn[64], ratio[64];
            for (int r = 0; r < reps && r < 64; r++) {
                for (int m = 0; m < 2; m++) {
                    j.mode = m;
                    const double t0 = now();
                    for (int ps = 0; ps < passes; ps++) exa_pool_run(pool, worker, &j);
                    const double g = (double)bytes * passes / (now() - t0) / 1e9;
                    if (m == 0) rd[r] = g; else kn[r] = g;
                }
                ratio[r] = kn[r] / rd[r];
            }
            printf("T %d threads %d %-5s %4zu MiB  read %6.2f GB/s  kernel %6.2f GB/s  ratio %.3f\n", T, nt, exa_qtype_name(t),
                   bytes >> 20, median(rd, reps), median(kn, reps), median(ratio, reps));
            free(P); free(act); free(x); free(y);
        }
        exa_pool_free(pool);
    }
    return 0;
}
