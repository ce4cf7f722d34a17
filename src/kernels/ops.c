/* ops.c — the matrix product driver and the small elementwise kernels of the forward pass
 * (RMSNorm, SiLU-gate, softmax, RoPE). The elementwise kernels are their own scalar reference:
 * they cost little next to the matrix products.
 *
 * exa_matmul handles plain weights (f32/bf16/f16: f32 dot products, 4×4 register-blocked gemm4
 * for prompts) and block-quantized weights (Q8_0 ... Q6_K: the activations are quantized once
 * per call to the format the integer dot product wants, then every weight row block is reused
 * for all T tokens, kernels/quant.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#include "kernels/kernels.h"
#include "kernels/quant.h"

typedef struct {
    const exa_mat *w;
    const float *x;
    float *y;
    int T;
    exa_dot_fn dot;
    exa_gemm4_fn gemm4; /* NULL: dot products only */
    /* block-quantized weights */
    exa_qtype qt;
    exa_qdot_fn qdot;
    uint8_t *act;       /* (T) activation rows quantized to exa_qtype_act(qt), act_bytes each */
    size_t act_bytes;
} matmul_job;

/* Row block: weight rows kept hot in L2 while every token passes over them, so activations are
 * re-read once per block rather than once per row. */
#define MATMUL_ROW_BLOCK 16

static void matmul_worker(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const exa_mat *w = j->w;
    const size_t rbytes = exa_dtype_row_bytes(w->dtype, w->cols), R = (size_t)w->rows, cols = (size_t)w->cols;
    int b, e;
    exa_split((int)w->rows, ith, nth, &b, &e);
#define ROW(r) ((const char *)w->data + (size_t)(r) * rbytes)
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

/* Block-quantized rows: a block of QMATMUL_ROW_BLOCK weight rows stays in L1/L2 while the
 * tokens pass over it 4 at a time (the quantized activations of all T tokens stay in L2), so a
 * prompt reads each weight byte from memory once: matrix–matrix, not T matrix–vectors. */
#define QMATMUL_ROW_BLOCK 16

static void qmatmul_worker(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const exa_mat *w = j->w;
    const size_t rbytes = exa_dtype_row_bytes(w->dtype, w->cols), R = (size_t)w->rows;
    const int64_t cols = w->cols;
    int b, e;
    exa_split((int)w->rows, ith, nth, &b, &e);
    for (int rb = b; rb < e; rb += QMATMUL_ROW_BLOCK) {
        const int re = EXA_MIN(rb + QMATMUL_ROW_BLOCK, e);
        for (int t = 0; t < j->T; t += 4) {
            const int te = EXA_MIN(t + 4, j->T);
            for (int r = rb; r < re; r++) {
                const uint8_t *row = (const uint8_t *)w->data + (size_t)r * rbytes;
                for (int c = t; c < te; c++) j->y[(size_t)c * R + (size_t)r] = j->qdot(cols, row, j->act + (size_t)c * j->act_bytes);
            }
        }
    }
}

static void quantize_act_worker(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    int b, e;
    exa_split(j->T, ith, nth, &b, &e);
    for (int t = b; t < e; t++)
        exa_quantize_act(j->qt, j->x + (size_t)t * (size_t)j->w->cols, j->act + (size_t)t * j->act_bytes, j->w->cols);
}

/* pool NULL: calling thread only (the reference) */
static void qmatmul(exa_pool *pool, exa_cpu_level lv, const exa_mat *w, const float *x, int T, float *y) {
    matmul_job j = {.w = w, .x = x, .y = y, .T = T, .qt = exa_qtype_from_dtype(w->dtype)};
    j.qdot = exa_qdot_get(j.qt, lv);
    j.act_bytes = exa_qtype_row_bytes(exa_qtype_act(j.qt), w->cols);
    j.act = j.act_bytes ? malloc(j.act_bytes * (size_t)(T > 0 ? T : 1)) : NULL;
    if (!j.qdot || !j.act) { /* cols not a multiple of the block (the loader never does that) or out of memory */
        for (size_t i = 0; i < (size_t)T * (size_t)w->rows; i++) y[i] = NAN;
        free(j.act);
        return;
    }
    if (pool && T > 1) exa_pool_run(pool, quantize_act_worker, &j);
    else quantize_act_worker(&j, 0, 1);
    if (pool) exa_pool_run(pool, qmatmul_worker, &j);
    else qmatmul_worker(&j, 0, 1);
    free(j.act);
}

void exa_matmul(exa_pool *pool, const exa_mat *w, const float *x, int T, float *y) {
    exa_cpu_level lv = exa_cpu_active();
    if (exa_dtype_is_quant(w->dtype)) { qmatmul(pool, lv, w, x, T, y); return; }
    matmul_job j = {w, x, y, T, exa_dot_get(w->dtype, lv), exa_gemm4_get(w->dtype, lv), 0, NULL, NULL, 0};
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
    if (exa_dtype_is_quant(w->dtype)) { qmatmul(NULL, EXA_CPU_SCALAR, w, x, T, y); return; }
    matmul_job j = {w, x, y, T, exa_dot_get(w->dtype, EXA_CPU_SCALAR), NULL, 0, NULL, NULL, 0};
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
