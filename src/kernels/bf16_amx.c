/* bf16_amx.c — matrix products of bf16 weights through AMX-BF16 tiles (prompts and batches on
 * CPUs with AMX): the activation split into three bf16 parts, the two instances of the kernel
 * template bf16_amx_impl.h (real instructions; software tile unit for the tests), the start-up
 * self-check, and the API of kernels.h (exa_bf16_amx_*). The f32 path (dot.c) stays the reference. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/tensor.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

size_t exa_bf16_amx_act_bytes(int T, int64_t cols) {
    if (T < 1 || cols < 32 || cols % 32) return 0;
    return 3 * sizeof(uint16_t) * (size_t)T * (size_t)cols;
}

void exa_bf16_amx_split(const float *x, int T, int64_t cols, uint16_t *act, size_t part) {
    const size_t n = (size_t)T * (size_t)cols;
    for (size_t i = 0; i < n; i++) { /* hi + mid + lo == x: each remainder is exact in f32 */
        const uint16_t hi = exa_f32_to_bf16(x[i]);
        const float r1 = isfinite(x[i]) ? x[i] - exa_bf16_to_f32(hi) : 0.f;
        const uint16_t mid = exa_f32_to_bf16(r1);
        const uint16_t lo = exa_f32_to_bf16(r1 - exa_bf16_to_f32(mid));
        act[i] = hi, act[part + i] = mid, act[2 * part + i] = lo;
    }
}

#if defined(__x86_64__)
#include "kernels/amx_ops.h"
#include "kernels/bf16_amx_impl.h"
#include "kernels/amx_ops_end.h"
#define AMX_EMU
#include "kernels/amx_ops.h"
#include "kernels/bf16_amx_impl.h"
#include "kernels/amx_ops_end.h"
#undef AMX_EMU

/* bound on |y - Σ w·x| the tests and the self-check allow: f32 rounding of ~3·cols terms, relative
 * to Σ|w·x| (the split drops nothing above 2^-24 of |x|) */
static float tol(const uint16_t *w, const float *x, int64_t cols) {
    double s = 0;
    for (int64_t k = 0; k < cols; k++) s += fabs((double)exa_bf16_to_f32(w[k]) * x[k]);
    return (float)(s * 5e-6 * (1.0 + (double)cols / 256.0) + 1e-30);
}

/* the real instructions against the f32 reference: 20 rows (a partial group), 256 columns, 17
 * tokens (chunks of 9 and 8), random normal values */
static int selfcheck(void) {
    enum { R = 20, C = 256, T = 17 };
    uint16_t *W = malloc(sizeof(uint16_t) * R * C), *act = malloc(exa_bf16_amx_act_bytes(T, C));
    float *x = malloc(sizeof(float) * T * C), *y = malloc(sizeof(float) * T * R);
    int ok = W && act && x && y;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; ok && i < R * C + T * C; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        const float v = (float)((int64_t)(s >> 40) - (1 << 23)) / (float)(1 << 23) * (1.f + (float)(s & 7));
        if (i < R * C) W[i] = exa_f32_to_bf16(v);
        else x[i - R * C] = v;
    }
    if (ok) {
        exa_bf16_amx_split(x, T, C, act, (size_t)T * C);
        ok = (exa_cpu_amx_emulated() ? bf16_matmul_emu : bf16_matmul_hw)(W, C, 0, R, act, T, y, R);
    }
    for (int t = 0; ok && t < T; t++)
        for (int r = 0; ok && r < R; r++)
            ok = fabsf(y[t * R + r] - exa_dot_bf16_ref(W + (size_t)r * C, x + (size_t)t * C, C)) <= tol(W + (size_t)r * C, x + (size_t)t * C, C);
    free(W), free(act), free(x), free(y);
    return ok;
}

static atomic_int state = -1; /* exa_amx_gate's cache */
int exa_bf16_amx_ready(void) { return exa_amx_gate(&state, EXA_AMX_BF16, selfcheck); }
const char *exa_bf16_amx_state(void) { return exa_amx_gate_state(&state, EXA_AMX_BF16, selfcheck); }
#else
int exa_bf16_amx_ready(void) { return 0; }
const char *exa_bf16_amx_state(void) { return "off (not x86-64)"; }
#endif

int exa_bf16_amx_matmul(const uint16_t *W, int64_t cols, int64_t r0, int64_t r1, const uint16_t *act, int T, float *y,
                        size_t ldy, int emulate) {
    if (r1 <= r0 || T < 1 || !exa_bf16_amx_act_bytes(T, cols)) return 0;
#if defined(__x86_64__)
    if (emulate) return exa_quant_has_vnni() && bf16_matmul_emu(W, cols, r0, r1, act, T, y, ldy);
    return exa_bf16_amx_ready() && (exa_cpu_amx_emulated() ? bf16_matmul_emu : bf16_matmul_hw)(W, cols, r0, r1, act, T, y, ldy);
#else
    (void)W, (void)act, (void)y, (void)ldy, (void)emulate;
    return 0;
#endif
}
