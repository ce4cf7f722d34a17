/* ops.c — the matrix product driver and the small elementwise kernels of the forward pass
 * (RMSNorm, SiLU-gate, softmax, RoPE). The elementwise kernels are their own scalar reference:
 * they cost little next to the matrix products. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#include "kernels/kernels.h"

typedef struct {
    const exa_mat *w;
    const float *x;
    float *y;
    int T;
    exa_dot_fn dot;
    exa_gemm4_fn gemm4; /* NULL: dot products only */
} matmul_job;

/* Row block: weight rows kept hot in L2 while every token passes over them, so activations are
 * re-read once per block rather than once per row. */
#define MATMUL_ROW_BLOCK 16

static void matmul_worker(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const exa_mat *w = j->w;
    const size_t esz = exa_dtype_size(w->dtype), R = (size_t)w->rows, cols = (size_t)w->cols;
    int b, e;
    exa_split((int)w->rows, ith, nth, &b, &e);
#define ROW(r) ((const char *)w->data + (size_t)(r) * cols * esz)
    for (int rb = b; rb < e; rb += MATMUL_ROW_BLOCK) {
        const int re = EXA_MIN(rb + MATMUL_ROW_BLOCK, e);
        int t = 0;
        if (j->gemm4)
            for (; t + 4 <= j->T; t += 4) {
                const float *xt = j->x + (size_t)t * cols;
                int r = rb;
                for (; r + 4 <= re; r += 4) {
                    float o[16];
                    j->gemm4(ROW(r), cols, xt, cols, (int)cols, o);
                    for (int a = 0; a < 4; a++)
                        for (int c = 0; c < 4; c++) j->y[(size_t)(t + c) * R + (size_t)(r + a)] = o[a * 4 + c];
                }
                for (; r < re; r++)
                    for (int c = 0; c < 4; c++) j->y[(size_t)(t + c) * R + (size_t)r] = j->dot(ROW(r), xt + (size_t)c * cols, (int)cols);
            }
        for (; t < j->T; t++)
            for (int r = rb; r < re; r++) j->y[(size_t)t * R + (size_t)r] = j->dot(ROW(r), j->x + (size_t)t * cols, (int)cols);
    }
#undef ROW
}

void exa_matmul(exa_pool *pool, const exa_mat *w, const float *x, int T, float *y) {
    exa_cpu_level lv = exa_cpu_active();
    matmul_job j = {w, x, y, T, exa_dot_get(w->dtype, lv), exa_gemm4_get(w->dtype, lv)};
    /* 2–3 tokens (small decode batches) also take the 4-token micro-kernel: the last token row
     * is repeated into a padded copy and the extra outputs go to a scratch area */
    if (j.gemm4 && T > 1 && T % 4) {
        const int Tp = (T + 3) / 4 * 4;
        const size_t cols = (size_t)w->cols, rows = (size_t)w->rows;
        float *xp = exa_aligned_alloc(sizeof(float) * (size_t)Tp * cols);
        float *yp = exa_aligned_alloc(sizeof(float) * (size_t)Tp * rows);
        if (xp && yp) {
            memcpy(xp, x, sizeof(float) * (size_t)T * cols);
            for (int t = T; t < Tp; t++) memcpy(xp + (size_t)t * cols, x + (size_t)(T - 1) * cols, sizeof(float) * cols);
            j.x = xp;
            j.y = yp;
            j.T = Tp;
            exa_pool_run(pool, matmul_worker, &j);
            memcpy(y, yp, sizeof(float) * (size_t)T * rows);
            free(xp);
            free(yp);
            return;
        }
        free(xp);
        free(yp);
    }
    exa_pool_run(pool, matmul_worker, &j);
}

void exa_matmul_ref(const exa_mat *w, const float *x, int T, float *y) {
    matmul_job j = {w, x, y, T, exa_dot_get(w->dtype, EXA_CPU_SCALAR), NULL};
    matmul_worker(&j, 0, 1);
}

void exa_rmsnorm(float *y, const float *x, const float *w, int n, float eps) {
    double ss = 0.0; /* f64 accumulation: at least as exact as HF's f32 mean */
    for (int i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    float r = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++) y[i] = w[i] * (x[i] * r);
}

void exa_silu_mul(float *out, const float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void exa_softmax(float *x, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float s = 0.0f;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - mx); s += x[i]; }
    float inv = 1.0f / s;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void exa_rope_neox(float *x, const float *c, const float *s, int d) {
    int h = d / 2;
    for (int i = 0; i < h; i++) {
        float x1 = x[i], x2 = x[i + h];
        x[i] = x1 * c[i] - x2 * s[i];
        x[i + h] = x2 * c[i] + x1 * s[i];
    }
}
