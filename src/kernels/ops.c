/* ops.c — the matrix product driver and the small elementwise kernels of the forward pass
 * (RMSNorm, SiLU-gate, softmax, RoPE). The elementwise kernels are their own scalar reference:
 * they cost little next to the matrix products. */
#include <math.h>

#include "kernels/kernels.h"

typedef struct {
    const exa_mat *w;
    const float *x;
    float *y;
    int T;
    exa_dot_fn dot;
} matmul_job;

static void matmul_worker(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const exa_mat *w = j->w;
    int b, e;
    exa_split((int)w->rows, ith, nth, &b, &e);
    size_t esz = exa_dtype_size(w->dtype);
    const int cols = (int)w->cols;
    for (int r = b; r < e; r++) {
        const void *row = (const char *)w->data + (size_t)r * (size_t)cols * esz;
        for (int t = 0; t < j->T; t++)
            j->y[(size_t)t * (size_t)w->rows + (size_t)r] = j->dot(row, j->x + (size_t)t * (size_t)cols, cols);
    }
}

void exa_matmul(exa_pool *pool, const exa_mat *w, const float *x, int T, float *y) {
    matmul_job j = {w, x, y, T, exa_dot_get(w->dtype, exa_cpu_active())};
    exa_pool_run(pool, matmul_worker, &j);
}

void exa_matmul_ref(const exa_mat *w, const float *x, int T, float *y) {
    matmul_job j = {w, x, y, T, exa_dot_get(w->dtype, EXA_CPU_SCALAR)};
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
