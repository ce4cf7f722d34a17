/* train_gemm.h — f32 matrix multiply for training: C = beta·C + op(A)·op(B) with optional
 * transposes, blocked and packed (BLIS-style loops) with AVX-512 / AVX2+FMA micro-kernels chosen
 * at run time and a portable scalar micro-kernel; exa_tg_gemm_ref is the plain triple loop kept
 * as the reference the tests compare against. Owns per-thread packing buffers (exa_tg_ws). */
#ifndef EXA_TRAIN_GEMM_H
#define EXA_TRAIN_GEMM_H

#include "core/threadpool.h"

/* Which micro-kernel family is in use (decided once, at first use). */
typedef enum { EXA_TG_SCALAR = 0, EXA_TG_AVX2 = 1, EXA_TG_AVX512 = 2 } exa_tg_isa;
exa_tg_isa exa_tg_isa_get(void);
const char *exa_tg_isa_name(exa_tg_isa isa);
/* Force a family (tests/benchmarks); a family the CPU lacks falls back to the best it has. */
void exa_tg_isa_set(exa_tg_isa isa);

/* Per-thread packing buffers. */
typedef struct exa_tg_buf {
    float *pa; /* MC x KC */
    float *pb; /* KC x NC */
} exa_tg_buf;

typedef struct exa_tg_ws {
    int nth;
    exa_tg_buf *buf; /* [nth] */
} exa_tg_ws;

int exa_tg_ws_init(exa_tg_ws *ws, int nth); /* 0 ok, -1 out of memory */
void exa_tg_ws_free(exa_tg_ws *ws);

/* op(A) is M x K: A[i*lda+k] (ta=0) or A[k*lda+i] (ta=1).
 * op(B) is K x N: B[k*ldb+j] (tb=0) or B[j*ldb+k] (tb=1).
 * C (M x N, row stride ldc) = (beta ? C : 0) + op(A)·op(B). Single-threaded. */
void exa_tg_gemm(const exa_tg_buf *buf, int ta, int tb, int M, int N, int K, const float *A, int lda,
                 const float *B, int ldb, float *C, int ldc, int beta);
/* Same, split across the pool's threads (deterministic: each C element is computed by one thread
 * in a fixed order, independent of timing). */
void exa_tg_gemm_mt(exa_pool *pool, const exa_tg_ws *ws, int ta, int tb, int M, int N, int K,
                    const float *A, int lda, const float *B, int ldb, float *C, int ldc, int beta);
/* Reference: naive triple loop with double accumulation. */
void exa_tg_gemm_ref(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float *C, int ldc, int beta);

#endif
