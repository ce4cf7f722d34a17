/* test_train_gemm.c — the training GEMM (every transpose combination, odd sizes, accumulate)
 * at every CPU level available against the triple-loop reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/train_gemm.h"

static float frand(unsigned *s) { *s = *s * 1103515245u + 12345u; return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f; }

int main(void) {
    unsigned s = 1;
    int fails = 0;
    exa_pool *pool = exa_pool_init(2);
    exa_tg_ws ws;
    if (exa_tg_ws_init(&ws, 2)) return 1;
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 65, 17}, {96, 32, 256}, {130, 70, 300}, {8, 1100, 40}, {300, 40, 513}};
    for (int isa = 0; isa <= 2; isa++) {
        exa_tg_isa_set((exa_tg_isa)isa);
        if ((int)exa_tg_isa_get() != isa) continue;
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (int beta = 0; beta < 2; beta++) {
                        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
                        int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                        float *A = malloc(sizeof(float) * (size_t)lda * (ta ? K : M));
                        float *B = malloc(sizeof(float) * (size_t)ldb * (tb ? N : K));
                        float *C = malloc(sizeof(float) * (size_t)ldc * M), *R = malloc(sizeof(float) * (size_t)ldc * M);
                        for (int i = 0; i < lda * (ta ? K : M); i++) A[i] = frand(&s);
                        for (int i = 0; i < ldb * (tb ? N : K); i++) B[i] = frand(&s);
                        for (int i = 0; i < ldc * M; i++) C[i] = R[i] = frand(&s);
                        exa_tg_gemm_mt(pool, &ws, ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta);
                        exa_tg_gemm_ref(ta, tb, M, N, K, A, lda, B, ldb, R, ldc, beta);
                        double worst = 0;
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < N; j++) worst = fmax(worst, fabs(C[i * ldc + j] - R[i * ldc + j]) / (1.0 + sqrt((double)K)));
                        for (int i = 0; i < M; i++)
                            for (int j = N; j < ldc; j++)
                                if (C[i * ldc + j] != R[i * ldc + j]) worst = 1;
                        if (worst > 1e-5) {
                            printf("FAIL %s ta=%d tb=%d beta=%d %dx%dx%d err %g\n", exa_tg_isa_name((exa_tg_isa)isa), ta, tb, beta, M, N, K, worst);
                            fails++;
                        }
                        free(A); free(B); free(C); free(R);
                    }
        printf("%s: checked\n", exa_tg_isa_name((exa_tg_isa)isa));
    }
    exa_tg_ws_free(&ws);
    exa_pool_free(pool);
    return fails ? 1 : 0;
}
