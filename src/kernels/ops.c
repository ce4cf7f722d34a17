/* ops.c — the matrix product driver and the small elementwise kernels of the forward pass
 * (RMSNorm, SiLU-gate, softmax, RoPE). The elementwise kernels are their own scalar reference:
 * they cost little next to the matrix products.
 *
 * exa_matmul handles plain weights (f32/bf16/f16: f32 dot products, 4×4 register-blocked gemm4
 * for prompts) and block-quantized weights (Q8_0 ... Q6_K: the activations are quantized once
 * per call to the format the integer dot product wants, then every weight row block is reused
 * for all T tokens, 4 at a time through the 4-token kernel that decodes each block once,
 * kernels/quant.h). */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quant_x16.h"

/* One weight matrix of a job: its kernels and where its rows sit in the job's cost space. */
typedef struct {
    const exa_mat *w;
    float *y;              /* (T, w->rows) */
    size_t rbytes;         /* bytes per weight row */
    exa_dot_fn dot;        /* plain weights */
    exa_gemm4_fn gemm4;    /* NULL: dot products only */
    exa_qdot_fn qdot;      /* block-quantized weights (else NULL) */
    exa_qdot4_fn qdot4;    /* 4 tokens per weight row, each block decoded once (T > 1) */
    exa_qtype qt;          /* block format (quantized weights) */
    int x16;               /* use w->packed: 16-row groups, all tokens per group (quant_x16.h) */
    int amx_bf16;          /* bf16 weights through AMX-BF16 tiles (exa_bf16_amx_matmul) */
    const uint8_t *act;    /* (Tp) activation rows quantized for this format, act_bytes each */
    size_t act_bytes;
    size_t cost0;          /* bytes of all earlier matrices' rows */
    int64_t chunk_rows;    /* rows per work chunk: a multiple of 16 (whole x16 groups and row blocks) */
    int64_t c0, nc;        /* its chunks in the job's chunk space: [c0, c0 + nc) */
} mm_part;

/* A thread's share of the chunks, [next, end) packed into one word: the owner takes chunks from
 * the front, a thread that has finished its own share takes them from the back, so each thread
 * streams one contiguous range of weights and only the last few chunks move. One cache line each. */
typedef struct {
    _Alignas(64) _Atomic uint64_t span; /* next << 32 | end */
} mm_range;

/* All matrices of one exa_matmul_n call: they read the same input x (T, cols). Their rows,
 * concatenated, are cut into chunks; each thread starts with a share of the chunks of equal weight
 * bytes (rows of different formats cost different amounts) and ends by helping the others
 * (mm_range), so one pool synchronisation serves all of them. */
typedef struct {
    int n, T, Tp;          /* Tp: T, or T + 1 when a last group of 3 tokens is padded for a 4-token kernel */
    const float *x;        /* (Tp, cols): x itself or a padded copy */
    const uint16_t *xs;    /* x split into three bf16 parts for AMX-BF16 (exa_bf16_amx_split), or NULL */
    size_t cost;           /* total weight bytes */
    int64_t nc;            /* chunks of all matrices */
    mm_range *range;       /* one per pool thread */
    mm_part part[EXA_MATMUL_MAX];
} mm_job;

/* Work chunk: about this many weight bytes (whole 16-row blocks). Decoding streams every weight
 * byte once per token, so the two threads' shares must end together: a fixed byte split left one
 * thread waiting for the other by ~9 % of the time on this 2-vCPU machine (cores run at unequal,
 * varying speeds). Chunks of this size cost one uncontended atomic per ~5 µs of streaming. */
#define MATMUL_CHUNK_BYTES ((size_t)128 << 10)

/* Row block: weight rows kept hot in L1/L2 while every token passes over them, so activations
 * are re-read once per block rather than once per row, and each weight byte comes from memory
 * once per call: matrix–matrix for prompts, not T matrix–vectors. */
#define MATMUL_ROW_BLOCK 16

/* rows [rb, re) of one matrix for every token */
static void mm_rows(const mm_job *j, const mm_part *p, int64_t rb, int64_t re) {
    const size_t R = (size_t)p->w->rows, cols = (size_t)p->w->cols;
    const char *W = p->w->data;
#define ROW(r) (W + (size_t)(r) * p->rbytes)
    int t = 0;
    if (p->gemm4) /* x has Tp rows; outputs of padded tokens are dropped; 1-2 left over: dot products */
        for (; t < j->T && j->T - t >= 3; t += 4) {
            const float *xt = j->x + (size_t)t * cols;
            const int nt = EXA_MIN(4, j->T - t);
            int64_t r = rb;
            for (; r + 4 <= re; r += 4) {
                float o[16];
                p->gemm4(ROW(r), cols, xt, cols, (int)cols, o);
                for (int a = 0; a < 4; a++)
                    for (int c = 0; c < nt; c++) p->y[(size_t)(t + c) * R + (size_t)(r + a)] = o[a * 4 + c];
            }
            for (; r < re; r++)
                for (int c = 0; c < nt; c++) p->y[(size_t)(t + c) * R + (size_t)r] = p->dot(ROW(r), xt + (size_t)c * cols, (int)cols);
        }
    else if (p->qdot4) /* act has Tp rows, as x; a tail of 1-2 tokens is cheaper through the one-row kernel */
        for (; t < j->T && j->T - t >= 3; t += 4) {
            const int nt = EXA_MIN(4, j->T - t);
            const uint8_t *at = p->act + (size_t)t * p->act_bytes;
            for (int64_t r = rb; r < re; r++) {
                float o[4];
                p->qdot4(p->w->cols, ROW(r), at, p->act_bytes, o);
                for (int c = 0; c < nt; c++) p->y[(size_t)(t + c) * R + (size_t)r] = o[c];
            }
        }
    /* remaining tokens one at a time (all of them without a multi-token kernel) */
    if (p->qdot)
        for (; t < j->T; t++)
            for (int64_t r = rb; r < re; r++) p->y[(size_t)t * R + (size_t)r] = p->qdot(p->w->cols, ROW(r), p->act + (size_t)t * p->act_bytes);
    else
        for (; t < j->T; t++)
            for (int64_t r = rb; r < re; r++) p->y[(size_t)t * R + (size_t)r] = p->dot(ROW(r), j->x + (size_t)t * cols, (int)cols);
#undef ROW
}

/* row-interleaved weights: whole 16-row groups, every token per group */
static void mm_rows_x16(const mm_job *j, const mm_part *p, int64_t rb, int64_t re) {
    exa_qx16_matmul(p->qt, p->w->packed, p->w->rows, p->w->cols, rb / EXA_QX16_ROWS, (re + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS,
                    p->act, p->act_bytes, j->T, p->y, (size_t)p->w->rows);
}

/* chunk c: its matrix's rows [rb, re) for every token */
static void mm_chunk(const mm_job *j, int64_t c) {
    int i = 0;
    while (c >= j->part[i].c0 + j->part[i].nc) i++;
    const mm_part *p = &j->part[i];
    const int64_t b = (c - p->c0) * p->chunk_rows, e = EXA_MIN(b + p->chunk_rows, p->w->rows);
    if (p->amx_bf16 && exa_bf16_amx_matmul(p->w->data, p->w->cols, b, e, j->xs, j->T, p->y, (size_t)p->w->rows, 0))
        return; /* (0: could not run, e.g. no memory for its panel: the dot products below) */
    if (p->x16) { /* the kernel walks the chunk's groups, all tokens per group */
        mm_rows_x16(j, p, b, e);
        return;
    }
    for (int64_t rb = b; rb < e; rb += MATMUL_ROW_BLOCK) mm_rows(j, p, rb, EXA_MIN(rb + MATMUL_ROW_BLOCK, e));
}

/* the first chunk whose first weight byte is at or after byte c of the job */
static int64_t chunk_at_cost(const mm_job *j, size_t c) {
    for (int i = 0; i < j->n; i++) {
        const mm_part *p = &j->part[i];
        const size_t cb = (size_t)p->chunk_rows * p->rbytes;
        if (c <= p->cost0) return p->c0;
        if (c - p->cost0 <= (size_t)(p->nc - 1) * cb) return p->c0 + (int64_t)((c - p->cost0 + cb - 1) / cb);
    }
    return j->nc;
}

/* take a chunk from the front (owner) or the back (thief) of a share; -1 when it is empty */
static int64_t range_take(mm_range *r, int back) {
    uint64_t v = atomic_load_explicit(&r->span, memory_order_relaxed);
    for (;;) {
        const uint32_t next = (uint32_t)(v >> 32), end = (uint32_t)v;
        if (next >= end) return -1;
        const uint64_t w = back ? v - 1 : v + ((uint64_t)1 << 32);
        if (atomic_compare_exchange_weak_explicit(&r->span, &v, w, memory_order_relaxed, memory_order_relaxed))
            return back ? (int64_t)end - 1 : (int64_t)next;
    }
}

/* own share first, front to back; then the other threads' shares, from their backs */
static void mm_worker(void *arg, int ith, int nth) {
    const mm_job *j = arg;
    if (!j->range) { /* one thread: every chunk in order */
        for (int64_t c = 0; c < j->nc; c++) mm_chunk(j, c);
        return;
    }
    for (int v = 0; v < nth; v++)
        for (int64_t c; (c = range_take(&j->range[(ith + v) % nth], v > 0)) >= 0;) mm_chunk(j, c);
}

/* x split for AMX-BF16, rows over the pool */
typedef struct {
    const float *x;
    int64_t cols;
    int T;
    uint16_t *xs;
} split_job;

static void split_worker(void *arg, int ith, int nth) {
    const split_job *q = arg;
    int b, e;
    exa_split(q->T, ith, nth, &b, &e);
    if (e > b)
        exa_bf16_amx_split(q->x + (size_t)b * (size_t)q->cols, e - b, q->cols, q->xs + (size_t)b * (size_t)q->cols,
                           (size_t)q->T * (size_t)q->cols);
}

typedef struct {
    const float *x;
    int64_t cols;
    int T;
    exa_qtype qt;  /* weight format whose activation type is wanted */
    uint8_t *act;
    size_t act_bytes;
} qact_job;

static void qact_worker(void *arg, int ith, int nth) {
    const qact_job *q = arg;
    int b, e;
    exa_split(q->T, ith, nth, &b, &e);
    for (int t = b; t < e; t++)
        exa_quantize_act(q->qt, q->x + (size_t)t * (size_t)q->cols, q->act + (size_t)t * q->act_bytes, q->cols);
}

/* pool NULL: the calling thread only, at `lv` (the scalar reference passes EXA_CPU_SCALAR) */
static void matmul_n(exa_pool *pool, exa_cpu_level lv, int n, const exa_mat *const *w, const float *x, int T, float *const *y) {
    mm_job j = {.n = n, .T = T, .Tp = T, .x = x};
    uint8_t *act[2] = {NULL, NULL};  /* one buffer per activation format in use (Q8_0, Q8_K) */
    uint16_t *xs = NULL;             /* x split for AMX-BF16 */
    float *xp = NULL;
    int fail = n < 1 || n > EXA_MATMUL_MAX || T < 1;
    for (int i = 0; i < n && !fail; i++) {
        mm_part *p = &j.part[i];
        p->w = w[i];
        p->y = y[i];
        p->rbytes = exa_dtype_row_bytes(w[i]->dtype, w[i]->cols);
        p->cost0 = j.cost;
        j.cost += (size_t)w[i]->rows * p->rbytes;
        fail |= w[i]->cols != w[0]->cols || !p->rbytes || w[i]->rows < 1;
        if (fail) break;
        p->chunk_rows = EXA_MAX((int64_t)(MATMUL_CHUNK_BYTES / p->rbytes) / 16 * 16, 16);
        p->c0 = j.nc;
        p->nc = (w[i]->rows + p->chunk_rows - 1) / p->chunk_rows;
        j.nc += p->nc;
        if (!exa_dtype_is_quant(w[i]->dtype)) {
            p->dot = exa_dot_get(w[i]->dtype, lv);
            p->amx_bf16 = w[i]->dtype == EXA_DTYPE_BF16 && lv == EXA_CPU_AVX512 && T >= EXA_BF16_AMX_MIN_T &&
                          exa_bf16_amx_act_bytes(T, w[i]->cols) && exa_bf16_amx_ready();
            if (p->amx_bf16 && !xs) {
                xs = malloc(exa_bf16_amx_act_bytes(T, w[i]->cols));
                if (xs) {
                    split_job q = {x, w[i]->cols, T, xs};
                    if (pool) exa_pool_run(pool, split_worker, &q);
                    else split_worker(&q, 0, 1);
                    j.xs = xs;
                }
            }
            p->amx_bf16 = p->amx_bf16 && xs;
            p->gemm4 = T >= 3 ? exa_gemm4_get(w[i]->dtype, lv) : NULL; /* 1-2 tokens: dot products */
            if (p->gemm4 && T % 4 == 3) j.Tp = T + 1;                     /* a last group of 3 is padded */
            continue;
        }
        const exa_qtype qt = exa_qtype_from_dtype(w[i]->dtype), at = exa_qtype_act(qt);
        const int slot = at == EXA_QTYPE_Q8_K;
        p->qt = qt;
        p->qdot = exa_qdot_get(qt, lv);
        p->qdot4 = T >= 3 ? exa_qdot4_get(qt, lv) : NULL;
        p->x16 = w[i]->packed && lv == EXA_CPU_AVX512 && exa_qx16_bytes(qt, w[i]->rows, w[i]->cols) > 0;
        p->act_bytes = exa_qtype_row_bytes(at, w[i]->cols);
        if (!p->qdot || !p->act_bytes) { fail = 1; break; } /* cols not a multiple of the block: the loader never does that */
        if (!act[slot]) {
            const int Tq = T % 4 == 3 ? T + 1 : T; /* a last group of 3 goes through the 4-token kernel: last row repeated */
            act[slot] = malloc(p->act_bytes * (size_t)Tq);
            if (!act[slot]) { fail = 1; break; }
            qact_job q = {x, w[i]->cols, T, qt, act[slot], p->act_bytes};
            if (pool && T > 1) exa_pool_run(pool, qact_worker, &q);
            else qact_worker(&q, 0, 1);
            for (int t = T; t < Tq; t++) memcpy(act[slot] + (size_t)t * p->act_bytes, act[slot] + (size_t)(T - 1) * p->act_bytes, p->act_bytes);
        }
        p->act = act[slot];
    }
    if (!fail && j.Tp > T) { /* the 4-token micro-kernel reads a whole group of 4: repeat the last row */
        const size_t cols = (size_t)w[0]->cols;
        xp = exa_aligned_alloc(sizeof(float) * (size_t)j.Tp * cols);
        if (xp) {
            memcpy(xp, x, sizeof(float) * (size_t)T * cols);
            for (int t = T; t < j.Tp; t++) memcpy(xp + (size_t)t * cols, x + (size_t)(T - 1) * cols, sizeof(float) * cols);
            j.x = xp;
        } else {
            for (int i = 0; i < n; i++) j.part[i].gemm4 = NULL; /* no scratch: plain dot products */
        }
    }
    const int nth = pool ? exa_pool_size(pool) : 1;
    mm_range stack_range[8];
    if (!fail && nth > 1) { /* shares split by weight bytes, as even as whole chunks allow */
        j.range = nth <= 8 ? stack_range : exa_aligned_alloc(sizeof(mm_range) * (size_t)nth);
        for (int t = 0; t < nth && j.range; t++) {
            const uint64_t b = (uint64_t)chunk_at_cost(&j, j.cost * (size_t)t / (size_t)nth);
            const uint64_t e = (uint64_t)chunk_at_cost(&j, j.cost * (size_t)(t + 1) / (size_t)nth);
            atomic_init(&j.range[t].span, b << 32 | e);
        }
    }
    if (fail) /* bad shapes or out of memory: NaN outputs, never garbage */
        for (int i = 0; i < n && i < EXA_MATMUL_MAX && T > 0; i++)
            for (size_t k = 0; k < (size_t)T * (size_t)w[i]->rows; k++) y[i][k] = NAN;
    else if (j.range) exa_pool_run(pool, mm_worker, &j);
    else mm_worker(&j, 0, 1); /* one thread, or no memory for the shares: the calling thread does it all */
    if (j.range != stack_range) free(j.range);
    free(act[0]);
    free(act[1]);
    free(xp);
    free(xs);
}

void exa_matmul_n(exa_pool *pool, int n, const exa_mat *const *w, const float *x, int T, float *const *y) {
    matmul_n(pool, exa_cpu_active(), n, w, x, T, y);
}

void exa_matmul(exa_pool *pool, const exa_mat *w, const float *x, int T, float *y) {
    matmul_n(pool, exa_cpu_active(), 1, &w, x, T, &y);
}

void exa_matmul_ref(const exa_mat *w, const float *x, int T, float *y) {
    matmul_n(NULL, EXA_CPU_SCALAR, 1, &w, x, T, &y);
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
