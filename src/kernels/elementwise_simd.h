/* elementwise_simd.h — elementwise.c's SIMD kernels, written once over simd_f32.h's vocabulary
 * and included once per ISA (AVX-512, AVX2). Not a public header. Tails (n % VL) run the
 * scalar code: SiLU·mul's reference itself, RMSNorm's own scalar sum and scaling. */

/* out = g / (1 + e^-g) ⊙ u (the reference's expression, vector exp ~1 ulp) */
static SIMD_TARGET void SIMD(silu_mul)(float *out, const float *g, const float *u, int n) {
    const VEC one = V_SET1(1.0f), zero = V_ZERO();
    int i = 0;
    for (; i + VL <= n; i += VL) {
        const VEC x = V_LOADU(g + i);
        V_STOREU(out + i, V_MUL(V_DIV(x, V_ADD(one, SIMD(exp)(V_SUB(zero, x)))), V_LOADU(u + i)));
    }
    exa_silu_mul_ref(out + i, g + i, u + i, n - i); /* the tail */
}

/* y = w ⊙ x / sqrt(mean(x²) + eps): the sum of squares in f32 over 4 vector accumulators (HF
 * computes it in f32 too), the scaling as the reference does it */
static SIMD_TARGET void SIMD(rmsnorm)(float *y, const float *x, const float *w, int n, float eps) {
    VEC a0 = V_ZERO(), a1 = V_ZERO(), a2 = V_ZERO(), a3 = V_ZERO();
    int i = 0;
    for (; i + 4 * VL <= n; i += 4 * VL) {
        const VEC x0 = V_LOADU(x + i), x1 = V_LOADU(x + i + VL), x2 = V_LOADU(x + i + 2 * VL), x3 = V_LOADU(x + i + 3 * VL);
        a0 = V_FMA(x0, x0, a0);
        a1 = V_FMA(x1, x1, a1);
        a2 = V_FMA(x2, x2, a2);
        a3 = V_FMA(x3, x3, a3);
    }
    for (; i + VL <= n; i += VL) {
        const VEC x0 = V_LOADU(x + i);
        a0 = V_FMA(x0, x0, a0);
    }
    float ss = V_RADD(V_ADD(V_ADD(a0, a1), V_ADD(a2, a3)));
    for (; i < n; i++) ss += x[i] * x[i];
    const float r = 1.0f / sqrtf(ss / (float)n + eps);
    const VEC vr = V_SET1(r);
    for (i = 0; i + VL <= n; i += VL) V_STOREU(y + i, V_MUL(V_LOADU(w + i), V_MUL(V_LOADU(x + i), vr)));
    for (; i < n; i++) y[i] = w[i] * (x[i] * r);
}
