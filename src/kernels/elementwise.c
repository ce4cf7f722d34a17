/* elementwise.c — the f32 elementwise kernels of the forward pass: SiLU·mul (the MLP's gate) and
 * RMSNorm. Owns their scalar references (kept forever, the tests' yardstick) and the run-time
 * choice of the AVX-512 / AVX2 versions (elementwise_simd.h, one template per ISA over
 * simd_f32.h). In an 8-sequence decode step of the 1.2B model the scalar versions were ~6 % of
 * the time (libm expf per element, a serial f64 sum of squares). */
#include <math.h>

#include "kernels/kernels.h"

/* REF: spec §2.1 (HF Exaone4RMSNorm); f64 accumulation, at least as exact as HF's f32 mean */
void exa_rmsnorm_ref(float *y, const float *x, const float *w, int n, float eps) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    float r = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++) y[i] = w[i] * (x[i] * r);
}

/* REF: HF ACT2FN["silu"](gate) * up */
void exa_silu_mul_ref(float *out, const float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

#if defined(__x86_64__)
#define SIMD_AVX512
#include "kernels/simd_f32.h"
#include "kernels/elementwise_simd.h"
#include "kernels/simd_f32_end.h"
#define SIMD_AVX2
#include "kernels/simd_f32.h"
#include "kernels/elementwise_simd.h"
#include "kernels/simd_f32_end.h"
#endif

void exa_rmsnorm(float *y, const float *x, const float *w, int n, float eps) {
#if defined(__x86_64__)
    const exa_cpu_level lv = exa_cpu_active();
    if (lv >= EXA_CPU_AVX512) { rmsnorm_avx512(y, x, w, n, eps); return; }
    if (lv >= EXA_CPU_AVX2) { rmsnorm_avx2(y, x, w, n, eps); return; }
#endif
    exa_rmsnorm_ref(y, x, w, n, eps);
}

void exa_silu_mul(float *out, const float *g, const float *u, int n) {
#if defined(__x86_64__)
    const exa_cpu_level lv = exa_cpu_active();
    if (lv >= EXA_CPU_AVX512) { silu_mul_avx512(out, g, u, n); return; }
    if (lv >= EXA_CPU_AVX2) { silu_mul_avx2(out, g, u, n); return; }
#endif
    exa_silu_mul_ref(out, g, u, n);
}
