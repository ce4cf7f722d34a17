/* kernels.h — compute kernels of the forward pass. Kernels know nothing of models: they see
 * arrays and shapes. Every optimised kernel has a scalar reference (exa_*_ref) that is kept
 * forever and that tests compare against. The SIMD level is chosen once at run time from CPUID;
 * the environment variable EXA_CPU=scalar|avx2|avx512 forces a lower level (tests use it), and
 * every value but "amx" keeps AMX tiles off. */
#ifndef EXA_KERNELS_H
#define EXA_KERNELS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/threadpool.h"

typedef enum exa_cpu_level { EXA_CPU_SCALAR = 0, EXA_CPU_AVX2 = 1, EXA_CPU_AVX512 = 2 } exa_cpu_level;

exa_cpu_level exa_cpu_detect(void);     /* best level this CPU supports */
exa_cpu_level exa_cpu_active(void);     /* detected level, lowered by EXA_CPU if set */
const char *exa_cpu_level_name(exa_cpu_level l);
/* The AMX tile products this process may use (EXA_AMX_INT8 | EXA_AMX_BF16, 0 for none): the CPU
 * has AMX-TILE and the product kind, the OS saves the tile state and granted this process the
 * permission (Linux arch_prctl), the active level is AVX-512, and EXA_CPU is unset or "amx"
 * (EXA_CPU=avx512 and below turn AMX off). */
#define EXA_AMX_INT8 1
#define EXA_AMX_BF16 2
int exa_cpu_amx(void);
/* 1 when EXA_AMX_EMULATE=1 made exa_cpu_amx report AMX on an AVX-512 CPU without it: the AMX paths
 * then run on the software tile unit (kernels/amx_emu.h), slowly — for the tests of everything
 * around the tile kernels (dispatch, threading, self-checks, whole models). */
int exa_cpu_amx_emulated(void);
/* The gate of one AMX kernel family: on when the AVX-512 VNNI level is active, exa_cpu_amx() has
 * `kind` (EXA_AMX_INT8 / EXA_AMX_BF16) and `selfcheck` (run once, the first time) passed. *state
 * caches the answer: initialise it to -1 (unknown; then 0 off, 1 on, 2 self-check failed).
 * exa_amx_gate_state: "on", or "off (why)". */
int exa_amx_gate(atomic_int *state, int kind, int (*selfcheck)(void));
const char *exa_amx_gate_state(atomic_int *state, int kind, int (*selfcheck)(void));

/* dot(w, x) over n elements where w has dtype t and x is f32. */
typedef float (*exa_dot_fn)(const void *w, const float *x, int n);
exa_dot_fn exa_dot_get(exa_dtype t, exa_cpu_level level);

/* 4×4 block: out[r*4 + t] = dot(w + r*ldw, x + t*ldx, n) for r, t in 0..3 (weights of dtype t,
 * ldw/ldx in elements). NULL at the scalar level: callers fall back to exa_dot_get. */
typedef void (*exa_gemm4_fn)(const void *w, size_t ldw, const float *x, size_t ldx, int n, float *out);
exa_gemm4_fn exa_gemm4_get(exa_dtype t, exa_cpu_level level);

/* bf16 weights through AMX-BF16 tiles (kernels/bf16_amx.c), for T >= EXA_BF16_AMX_MIN_T tokens
 * on CPUs with AMX-BF16 (exa_cpu_amx) once a start-up self-check against the f32 reference has
 * passed. The activations are split into three bf16 parts, hi + mid + lo = x (24 bits), so the
 * product keeps f32 precision; the f32 accumulation order differs from the dot products, so results
 * agree with them to f32 rounding, not bit for bit. The threshold is a guess (no AMX machine to
 * measure on). */
#define EXA_BF16_AMX_MIN_T 4
int exa_bf16_amx_ready(void);           /* 1 when the tiles are on and checked */
const char *exa_bf16_amx_state(void);   /* "on" or "off (why)" */
/* bytes of the split activations of T rows of cols (3 × T × cols bf16); 0 unless cols is a
 * positive multiple of 32 */
size_t exa_bf16_amx_act_bytes(int T, int64_t cols);
/* x (T, cols) -> the hi, mid and lo parts, each (T, cols), at act, act + part, act + 2·part
 * (part >= T·cols; rows of a larger split are written in place with part = its T·cols) */
void exa_bf16_amx_split(const float *x, int T, int64_t cols, uint16_t *act, size_t part);
/* y[t*ldy + r] = W[r] · x[t] for rows [r0, r1) of the row-major bf16 W (rows of cols), tokens
 * [0, T), act = exa_bf16_amx_split(x); emulate = run the software tile unit (tests; needs
 * AVX-512 VNNI). Returns 0 (nothing written) when it cannot run: no AMX-BF16, bad shape, no memory. */
int exa_bf16_amx_matmul(const uint16_t *W, int64_t cols, int64_t r0, int64_t r1, const uint16_t *act, int T, float *y,
                        size_t ldy, int emulate);

/* Scalar references. */
float exa_dot_f32_ref(const void *w, const float *x, int n);
float exa_dot_bf16_ref(const void *w, const float *x, int n);
float exa_dot_f16_ref(const void *w, const float *x, int n);

/* Row r of a weight matrix (rows, cols) of dtype t (block formats included), converted to f32. */
void exa_row_to_f32(exa_dtype t, const void *w, int64_t cols, int64_t r, float *out);

/* A weight matrix W (rows = out features, cols = in features), PyTorch layout, any dtype; for
 * block formats each row is exa_dtype_row_bytes(dtype, cols) bytes (cols a multiple of the block). */
typedef struct exa_mat {
    exa_dtype dtype;
    const void *data;
    int64_t rows, cols;
    /* optional row-interleaved copy of data for the AVX-512 VNNI kernel (kernels/quant_x16.h),
     * made at load when this CPU runs it; NULL: the row kernels read data */
    const void *packed;
} exa_mat;

/* y (T, rows) = x (T, cols) · Wᵀ, threaded over rows of W. Each row of W is read from memory
 * once and reused for all T tokens (matrix–matrix for prompts, matrix–vector for decoding).
 * Block-quantized W: x is quantized once per call (Q8_0 or Q8_K rows, as the format's integer
 * dot product wants; kernels/quant.h); if that scratch cannot be allocated y is all NaN. */
void exa_matmul(exa_pool *pool, const exa_mat *w, const float *x, int T, float *y);
/* Several matrices reading the same input x (T, cols) — Q/K/V, gate/up: y[i] (T, w[i]->rows) =
 * x · w[i]ᵀ in ONE pass over the pool (one synchronisation instead of n, threads split by weight
 * bytes), the input quantized once per activation format. 1 <= n <= EXA_MATMUL_MAX, all w[i]
 * with the same cols. */
#define EXA_MATMUL_MAX 4
void exa_matmul_n(exa_pool *pool, int n, const exa_mat *const *w, const float *x, int T, float *const *y);
/* Same, single-threaded scalar reference (quantized W: same activation quantization, scalar
 * integer dot products). */
void exa_matmul_ref(const exa_mat *w, const float *x, int T, float *y);

/* RMSNorm (HF semantics, spec §2.1): y = w ⊙ x / sqrt(mean(x²) + eps); computed in f32. */
void exa_rmsnorm(float *y, const float *x, const float *w, int n, float eps);
/* out = silu(g) ⊙ u, elementwise over n (vector exp, ~1 ulp) */
void exa_silu_mul(float *out, const float *g, const float *u, int n);
/* their scalar references (kernels/elementwise.c): f64 sum of squares, libm expf */
void exa_rmsnorm_ref(float *y, const float *x, const float *w, int n, float eps);
void exa_silu_mul_ref(float *out, const float *g, const float *u, int n);
/* in-place softmax over n (max-subtracted, f32) */
void exa_softmax(float *x, int n);
/* rotate-half (NeoX) RoPE on one head vector x (d): spec §2.2. cos/sin have d/2 entries. */
void exa_rope_neox(float *x, const float *cos_, const float *sin_, int d);

#endif
