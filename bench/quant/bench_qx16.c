/* bench_qx16.c — the row-interleaved k-quant kernels (src/kernels/quant_x16.c) against today's
 * row kernels on the same matrix, single thread, T = 1, 4, 8, 16 activation rows:
 *   base: what kernels/ops.c does now — T = 1: exa_qdot_get one row at a time; T > 1: tokens in
 *         fours (exa_qdot4_get), all rows per four tokens;
 *   x16:  exa_qx16_matmul over the packed matrix, all tokens per row group.
 * Rates are GB/s of the matrix's ggml bytes (the same for both, so the ratio is the time ratio;
 * the packed form is 2.8 % (Q4_K) / 1.0 % (Q6_K) / 0 % (Q8_0) larger and is what x16 actually reads).
 *  - cache-resident: 64 rows x 4096 (~150-220 KB, L2), passes repeated;
 *  - DRAM-streaming: 4096 x 4096 matrices, enough copies cycled (EXA_BENCH_POOL_MB, default 128
 *    per layout) that every run reads from memory, as in decoding.
 * Base and x16 alternate within every repetition (a noisy moment hits both); medians of times and
 * of per-repetition ratios. Last column "batch gain": T × time(T=1) / time(T) of the same kernel,
 * the throughput of T streams relative to one stream.
 * Then the DRAM case again over all threads (the lead's pool; disjoint 16-row groups per thread).
 * Usage: bench_qx16 [reps]  (default 15); EXA_BENCH_RESIDENT=1: cache-resident section only.
 * Not a pass/fail test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "kernels/quant.h"
#include "kernels/quant_x16.h"
#include "../bench_util.h"

static volatile float bench_sink;

/* today's driver (kernels/ops.c): tokens in fours outer, rows [r0, r1) inner; T = 1 one-row kernel;
 * y is (T, ldy) */
static void base_rows(exa_qtype t, const uint8_t *W, int64_t r0, int64_t r1, int64_t cols, const uint8_t *act, size_t ab,
                      int T, float *y, size_t ldy) {
    const size_t rb = exa_qtype_row_bytes(t, cols);
    if (T == 1) {
        exa_qdot_fn f = exa_qdot_get(t, exa_cpu_active());
        for (int64_t r = r0; r < r1; r++) y[r] = f(cols, W + (size_t)r * rb, act);
        return;
    }
    exa_qdot4_fn f4 = exa_qdot4_get(t, exa_cpu_active());
    for (int tk = 0; tk < T; tk += 4) /* T is a multiple of 4 here */
        for (int64_t r = r0; r < r1; r++) {
            float o[4];
            f4(cols, W + (size_t)r * rb, act + (size_t)tk * ab, ab, o);
            for (int c = 0; c < 4; c++) y[(size_t)(tk + c) * ldy + (size_t)r] = o[c];
        }
}
static void base_matmul(exa_qtype t, const uint8_t *W, int64_t rows, int64_t cols, const uint8_t *act, size_t ab, int T,
                        float *y) {
    base_rows(t, W, 0, rows, cols, act, ab, T, y, (size_t)rows);
}

/* all threads: disjoint 16-row groups per thread, for both kernels */
typedef struct mt_job {
    exa_qtype t;
    const uint8_t *M; /* ggml matrix (x16 = 0) or packed (x16 = 1) */
    int64_t rows, cols;
    const uint8_t *act;
    size_t ab;
    int T, x16;
    float *y;
} mt_job;
static void mt_worker(void *arg, int ith, int nth) {
    const mt_job *j = arg;
    int gb, ge;
    exa_split((int)((j->rows + 15) / 16), ith, nth, &gb, &ge);
    if (j->x16) exa_qx16_matmul(j->t, j->M, j->rows, j->cols, gb, ge, j->act, j->ab, j->T, j->y, (size_t)j->rows);
    else base_rows(j->t, j->M, 16 * (int64_t)gb, 16 * (int64_t)ge < j->rows ? 16 * (int64_t)ge : j->rows, j->cols, j->act,
                   j->ab, j->T, j->y, (size_t)j->rows);
}

static void x16_matmul(exa_qtype t, const uint8_t *P, int64_t rows, int64_t cols, const uint8_t *act, size_t ab, int T,
                       float *y) {
    exa_qx16_matmul(t, P, rows, cols, 0, (rows + 15) / 16, act, ab, T, y, (size_t)rows);
}

static const int Ts[] = {1, 4, 8, 16};
#define NT_ (int)(sizeof Ts / sizeof Ts[0])

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 3) reps = 3;
    const char *pe = getenv("EXA_BENCH_POOL_MB");
    const size_t pool = (size_t)(pe ? atoi(pe) : 128) << 20;
    const int resident_only = getenv("EXA_BENCH_RESIDENT") && atoi(getenv("EXA_BENCH_RESIDENT"));
    const int64_t rows = 4096, cols = 4096, rrows = 64;
    if (!exa_qx16_bytes(EXA_QTYPE_Q4_K, 16, 256)) {
        printf("bench_qx16: the x16 kernel does not run here (needs AVX-512 VNNI at the active CPU level %s)\n",
               exa_cpu_level_name(exa_cpu_active()));
        return 0;
    }
    float *x = malloc(sizeof(float) * (size_t)(rows * cols)), *y = malloc(sizeof(float) * 16 * (size_t)rows);
    size_t ab = exa_qtype_row_bytes(EXA_QTYPE_Q8_K, cols); /* the larger of the two activation formats */
    uint8_t *act = malloc(16 * ab);
    double *tb = malloc(sizeof(double) * (size_t)reps), *tx = malloc(sizeof(double) * (size_t)reps);
    double *rt = malloc(sizeof(double) * (size_t)reps);
    uint8_t *Wpool = aligned_alloc(64, pool), *Ppool = aligned_alloc(64, pool + (pool >> 4));
    if (!x || !y || !act || !tb || !tx || !rt || !Wpool || !Ppool) {
        fprintf(stderr, "bench_qx16: cannot allocate\n");
        return 1;
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < rows * cols; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((int64_t)(s >> 40) - (1 << 23)) / (float)(1 << 23) * 0.05f;
    }
    exa_pool *pool_ = resident_only ? NULL : exa_pool_init(0);
    printf("bench_qx16: 1 thread (then %d for \"DRAM threads\"), level %s, %d repetitions (medians)\n",
           pool_ ? exa_pool_size(pool_) : 1, exa_cpu_level_name(exa_cpu_active()), reps);

    const exa_qtype types[] = {EXA_QTYPE_Q4_K, EXA_QTYPE_Q6_K, EXA_QTYPE_Q8_0};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_qtype t = types[k];
        ab = exa_qtype_row_bytes(exa_qtype_act(t), cols);
        if (exa_quantize_act_rows(t, x + 7 * cols, 16, cols, act) != EXA_OK) return 1;
        const size_t rb = exa_qtype_row_bytes(t, cols), mb = rb * (size_t)rows, pb = exa_qx16_layout_bytes(t, rows, cols);
        size_t copies = pool / mb;
        if (copies < 1 || copies * pb > pool + (pool >> 4)) { fprintf(stderr, "bench_qx16: pool too small\n"); return 1; }
        if (exa_quantize_matrix(NULL, t, x, rows, cols, Wpool) != EXA_OK) return 1;
        if (exa_qx16_pack(t, Wpool, rows, cols, Ppool) != EXA_OK) return 1;
        double tp = now(); /* again, into memory already touched: the packing itself, not page faults */
        if (exa_qx16_pack(t, Wpool, rows, cols, Ppool) != EXA_OK) return 1;
        tp = now() - tp;
        for (size_t c = 1; c < copies; c++) memcpy(Wpool + c * mb, Wpool, mb), memcpy(Ppool + c * pb, Ppool, pb);
        /* the x16 result equals the reference row dot (tests/quant/test_qx16.c); quick spot check */
        x16_matmul(t, Ppool, rows, cols, act, ab, 1, y);
        const float ref = exa_qdot_get(t, EXA_CPU_SCALAR)(cols, Wpool + 5 * rb, act);
        if (y[5] != ref) { fprintf(stderr, "bench_qx16: %s mismatch %g vs %g\n", exa_qtype_name(t), y[5], ref); return 1; }

        printf("\n%s: pack %.0f MB/s of ggml bytes (one thread, 4096x4096)", exa_qtype_name(t), (double)mb / tp / 1e6);
        printf("\n%s  %-14s %3s %10s %10s %8s %12s %12s\n", exa_qtype_name(t), "", "T", "base GB/s", "x16 GB/s", "x16/base",
               "base batch", "x16 batch");
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 1 && resident_only) break;
            const int64_t R = mode ? rows : rrows;
            const size_t bytes = rb * (size_t)R;
            double t1b = 0, t1x = 0;
            for (int ti = 0; ti < NT_; ti++) {
                const int T = Ts[ti];
                /* cache-resident: several passes per timing so that one timing is ~1 ms */
                const int passes = mode ? 1 : (int)(2e6 / (double)(bytes * (size_t)T)) + 1;
                for (int rep = -1; rep < reps; rep++) {
                    const size_t cw = mode ? (size_t)(rep + 1) % copies : 0, cp = mode ? (size_t)(rep + 2) % copies : 0;
                    double t0 = now();
                    for (int p = 0; p < passes; p++) base_matmul(t, Wpool + cw * mb, R, cols, act, ab, T, y);
                    double t_1 = now();
                    bench_sink += y[3];
                    for (int p = 0; p < passes; p++) x16_matmul(t, Ppool + cp * pb, R, cols, act, ab, T, y);
                    double t_2 = now();
                    bench_sink += y[3];
                    if (rep < 0) continue; /* warm-up */
                    tb[rep] = (t_1 - t0) / passes, tx[rep] = (t_2 - t_1) / passes, rt[rep] = tb[rep] / tx[rep];
                }
                const double mr = median(rt, reps), mtb = median(tb, reps), mtx = median(tx, reps);
                if (T == 1) t1b = mtb, t1x = mtx;
                printf("%-6s%-14s %3d %10.2f %10.2f %7.2fx %11.2fx %11.2fx\n", "", mode ? "DRAM 4096x4096" : "L2 64x4096", T,
                       (double)bytes / mtb / 1e9, (double)bytes / mtx / 1e9, mr, T * t1b / mtb, T * t1x / mtx);
            }
        }
        if (resident_only || !pool_) continue;
        double t1b = 0, t1x = 0;
        for (int ti = 0; ti < NT_; ti++) {
            const int T = Ts[ti];
            for (int rep = -1; rep < reps; rep++) {
                mt_job jb = {t, Wpool + (size_t)(rep + 1) % copies * mb, rows, cols, act, ab, T, 0, y};
                mt_job jx = {t, Ppool + (size_t)(rep + 2) % copies * pb, rows, cols, act, ab, T, 1, y};
                double t0 = now();
                exa_pool_run(pool_, mt_worker, &jb);
                double t_1 = now();
                exa_pool_run(pool_, mt_worker, &jx);
                double t_2 = now();
                bench_sink += y[3];
                if (rep < 0) continue;
                tb[rep] = t_1 - t0, tx[rep] = t_2 - t_1, rt[rep] = tb[rep] / tx[rep];
            }
            const double mr = median(rt, reps), mtb = median(tb, reps), mtx = median(tx, reps);
            if (T == 1) t1b = mtb, t1x = mtx;
            printf("%-6s%-14s %3d %10.2f %10.2f %7.2fx %11.2fx %11.2fx\n", "", "DRAM threads", T, (double)mb / mtb / 1e9,
                   (double)mb / mtx / 1e9, mr, T * t1b / mtb, T * t1x / mtx);
        }
    }
    exa_pool_free(pool_);
    free(x), free(y), free(act), free(tb), free(tx), free(rt), free(Wpool), free(Ppool);
    return 0;
}
