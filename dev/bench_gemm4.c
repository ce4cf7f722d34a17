/* dev/bench_gemm4.c — experiment: does the 4×4 register-blocked micro-kernel make a batch of T
 * tokens cheaper than T single-token passes? (1 thread, bf16 weights larger than L2.)
 * build: cc -O2 -Iinclude -Isrc dev/bench_gemm4.c build/libexaone.a -ljson-c -lm -lpthread ... */
#include <stdio.h>
#include <stdlib.h>

#include "core/common.h"
#include "kernels/kernels.h"

int main(int argc, char **argv) {
    int rows = 4096, cols = 2048, reps = 20;
    exa_dtype dt = argc > 1 && argv[1][0] == 'f' ? EXA_DTYPE_F32 : EXA_DTYPE_BF16;
    size_t esz = exa_dtype_size(dt);
    void *w = exa_aligned_alloc((size_t)rows * cols * esz);
    float *x = exa_aligned_alloc(sizeof(float) * 16 * cols), *y = exa_aligned_alloc(sizeof(float) * 16 * rows);
    for (size_t i = 0; i < (size_t)rows * cols * esz / 2; i++) ((uint16_t *)w)[i] = (uint16_t)(0x3c00 + (i % 512));
    for (int i = 0; i < 16 * cols; i++) x[i] = (float)(i % 7) * 0.1f;
    exa_pool *pool = exa_pool_init(1);
    exa_mat m = {dt, w, rows, cols, NULL};
    for (int T = 1; T <= 16; T *= 2) {
        double best_batch = 1e9, best_single = 1e9;
        for (int r = 0; r < reps; r++) {
            double t0 = exa_time_now();
            exa_matmul(pool, &m, x, T, y);
            double t1 = exa_time_now();
            for (int t = 0; t < T; t++) exa_matmul(pool, &m, x + (size_t)t * cols, 1, y);
            double t2 = exa_time_now();
            if (t1 - t0 < best_batch) best_batch = t1 - t0;
            if (t2 - t1 < best_single) best_single = t2 - t1;
        }
        double flop = 2.0 * rows * cols * T;
        printf("T=%2d  batched %7.2f ms (%5.1f GFLOP/s)   %d single passes %7.2f ms   speed-up %.2fx\n", T, best_batch * 1e3,
               flop / best_batch / 1e9, T, best_single * 1e3, best_single / best_batch);
    }
    exa_pool_free(pool);
    return 0;
}
