/* attn_simd.h — the SIMD attention kernel of attn.c, written once and included once per ISA
 * (AVX2, AVX-512). Not a public header: attn.c includes simd_f32.h (the ISA's vector
 * vocabulary: SIMD(name), SIMD_TARGET, SIMD_INL, VEC, VL, V_*, LD_*, SIMD(exp)) first and
 * defines the register budgets ATT_NG_MAX_V / ATT_CW_BUDGET.
 * Layout of the work for one KV head and its G query heads (see attn.h):
 *   1. scores: per cached key row, widen each VL-chunk once and FMA it into up to 8 named
 *      accumulators (one per query head), then reduce them together (hadd tree)
 *   2. softmax per query head, max-subtracted, with a vector exp (Cephes polynomial, ~1 ulp)
 *   3. values: per chunk group, NG × CW named accumulators; each value chunk is widened once and
 *      used for NG query heads. */

/* chunk c (VL values) of a cached row of type t, widened to f32 */
SIMD_INL VEC SIMD(ldrow)(exa_dtype t, const uint8_t *r, int c) {
    switch (t) {
    case EXA_DTYPE_F32: return LD_F32((const float *)r + c * VL);
    case EXA_DTYPE_F16: return LD_F16((const uint16_t *)r + c * VL);
    case EXA_DTYPE_BF16: return LD_BF16((const uint16_t *)r + c * VL);
    default: {
        const exa_block_q8_0 *b = (const exa_block_q8_0 *)r + (c * VL) / EXA_QK;
        return V_MUL(LD_I8(b->qs + (c * VL) % EXA_QK), V_SET1(_cvtsh_ss(b->d)));
    }
    }
}

/* 4 (8) accumulators → their 4 (8) horizontal sums */
SIMD_INL __m128 SIMD(hsum4)(VEC a0, VEC a1, VEC a2, VEC a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(V_FOLD(a0), V_FOLD(a1)), _mm256_hadd_ps(V_FOLD(a2), V_FOLD(a3)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
SIMD_INL __m256 SIMD(hsum8)(VEC a0, VEC a1, VEC a2, VEC a3, VEC a4, VEC a5, VEC a6, VEC a7) {
    __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(V_FOLD(a0), V_FOLD(a1)), _mm256_hadd_ps(V_FOLD(a2), V_FOLD(a3)));
    __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(V_FOLD(a4), V_FOLD(a5)), _mm256_hadd_ps(V_FOLD(a6), V_FOLD(a7)));
    return _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20), _mm256_permute2f128_ps(h0, h1, 0x31));
}

/* scores of query heads g0 .. g0+NG-1 (NG in 1, 2, 4, 8) into scratch rows, times scale */
#define ATT_QFMA(g) if (NG > g) c##g = V_FMA(kc, V_LOADU(qc + (size_t)(g) * qs), c##g);
#define ATT_LANES4(r, g)                                                                           \
    sc[(size_t)(g) * n + i] = _mm_cvtss_f32(r);                                                    \
    if (NG > (g) + 1) sc[(size_t)((g) + 1) * n + i] = _mm_cvtss_f32(_mm_shuffle_ps(r, r, 1));      \
    if (NG > (g) + 2) sc[(size_t)((g) + 2) * n + i] = _mm_cvtss_f32(_mm_shuffle_ps(r, r, 2));      \
    if (NG > (g) + 3) sc[(size_t)((g) + 3) * n + i] = _mm_cvtss_f32(_mm_shuffle_ps(r, r, 3));
SIMD_INL void SIMD(scores)(const exa_attn_args *a, exa_dtype t, int g0, const int NG, int n, const int DC) {
    const int NC = (DC ? DC : a->d) / VL;
    const size_t qs = a->q_stride;
    const float *q0 = a->q + (size_t)g0 * qs;
    float *sc = a->scratch + (size_t)g0 * (size_t)n;
    const float scale = a->scale;
    int s = a->lo % a->cap;
    for (int i = 0; i < n; i++) {
        const uint8_t *kr = (const uint8_t *)a->k + (size_t)s * a->stride;
        VEC c0 = V_ZERO(), c1 = V_ZERO(), c2 = V_ZERO(), c3 = V_ZERO();
        VEC c4 = V_ZERO(), c5 = V_ZERO(), c6 = V_ZERO(), c7 = V_ZERO();
#pragma GCC unroll 16
        for (int c = 0; c < NC; c++) {
            const VEC kc = SIMD(ldrow)(t, kr, c);
            const float *qc = q0 + c * VL;
            ATT_QFMA(0) ATT_QFMA(1) ATT_QFMA(2) ATT_QFMA(3) ATT_QFMA(4) ATT_QFMA(5) ATT_QFMA(6) ATT_QFMA(7)
        }
        /* lanes of the sums straight to the rows (a store + scalar reloads would stall) */
        if (NG == 1) {
            sc[i] = V_RADD(c0) * scale;
        } else if (NG <= 4) {
            const __m128 r = _mm_mul_ps(SIMD(hsum4)(c0, c1, c2, c3), _mm_set1_ps(scale));
            ATT_LANES4(r, 0)
        } else {
            const __m256 r8 = _mm256_mul_ps(SIMD(hsum8)(c0, c1, c2, c3, c4, c5, c6, c7), _mm256_set1_ps(scale));
            const __m128 r = _mm256_castps256_ps128(r8), rh = _mm256_extractf128_ps(r8, 1);
            ATT_LANES4(r, 0)
            ATT_LANES4(rh, 4)
        }
        if (++s == a->cap) s = 0;
    }
}
#undef ATT_QFMA
#undef ATT_LANES4

/* in-place softmax over n scores (max-subtracted, f32) */
SIMD_INL void SIMD(softmax)(float *x, int n) {
    VEC m = V_SET1(-INFINITY);
    int i = 0;
    for (; i + VL <= n; i += VL) m = V_MAX(m, V_LOADU(x + i));
    float mx = V_RMAX(m);
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    const VEC vm = V_SET1(mx);
    VEC sum = V_ZERO();
    for (i = 0; i + VL <= n; i += VL) {
        VEC e = SIMD(exp)(V_SUB(V_LOADU(x + i), vm));
        V_STOREU(x + i, e);
        sum = V_ADD(sum, e);
    }
    float s = V_RADD(sum);
    for (; i < n; i++) { x[i] = expf(x[i] - mx); s += x[i]; }
    const float inv = 1.0f / s;
    const VEC vi = V_SET1(inv);
    for (i = 0; i + VL <= n; i += VL) V_STOREU(x + i, V_MUL(V_LOADU(x + i), vi));
    for (; i < n; i++) x[i] *= inv;
}

/* out[g0 .. g0+NG-1][chunks c0 .. c0+CW-1] = Σ_i w[g][i] · V[i] (chunks) */
#define ATT_VZ(w) VEC o0##w = V_ZERO(), o1##w = V_ZERO(), o2##w = V_ZERO(), o3##w = V_ZERO(), \
                      o4##w = V_ZERO(), o5##w = V_ZERO(), o6##w = V_ZERO(), o7##w = V_ZERO();
#define ATT_VACC(g, w) if (NG > g) o##g##w = V_FMA(vv, b##g, o##g##w);
#define ATT_VCOL(w)                                                                                \
    if (CW > w) {                                                                                  \
        const VEC vv = SIMD(ldrow)(t, vr, c0 + w);                                                  \
        ATT_VACC(0, w) ATT_VACC(1, w) ATT_VACC(2, w) ATT_VACC(3, w)                                \
        ATT_VACC(4, w) ATT_VACC(5, w) ATT_VACC(6, w) ATT_VACC(7, w)                                \
    }
#define ATT_VB(g) const VEC b##g = NG > g ? V_SET1(w0[(size_t)(g) * n + i]) : V_ZERO();
#define ATT_VST(g, w) \
    if (NG > g && CW > w) V_STOREU(a->out + (size_t)(g0 + g) * a->out_stride + (size_t)(c0 + w) * VL, o##g##w);
SIMD_INL void SIMD(values)(const exa_attn_args *a, exa_dtype t, int g0, const int NG, int c0, const int CW, int n) {
    const float *w0 = a->scratch + (size_t)g0 * (size_t)n;
    ATT_VZ(0) ATT_VZ(1) ATT_VZ(2) ATT_VZ(3)
    int s = a->lo % a->cap;
    for (int i = 0; i < n; i++) {
        const uint8_t *vr = (const uint8_t *)a->v + (size_t)s * a->stride;
        ATT_VB(0) ATT_VB(1) ATT_VB(2) ATT_VB(3) ATT_VB(4) ATT_VB(5) ATT_VB(6) ATT_VB(7)
        ATT_VCOL(0) ATT_VCOL(1) ATT_VCOL(2) ATT_VCOL(3)
        if (++s == a->cap) s = 0;
    }
    ATT_VST(0, 0) ATT_VST(1, 0) ATT_VST(2, 0) ATT_VST(3, 0) ATT_VST(4, 0) ATT_VST(5, 0) ATT_VST(6, 0) ATT_VST(7, 0)
    ATT_VST(0, 1) ATT_VST(1, 1) ATT_VST(2, 1) ATT_VST(3, 1) ATT_VST(4, 1) ATT_VST(5, 1) ATT_VST(6, 1) ATT_VST(7, 1)
    ATT_VST(0, 2) ATT_VST(1, 2) ATT_VST(2, 2) ATT_VST(3, 2) ATT_VST(4, 2) ATT_VST(5, 2) ATT_VST(6, 2) ATT_VST(7, 2)
    ATT_VST(0, 3) ATT_VST(1, 3) ATT_VST(2, 3) ATT_VST(3, 3) ATT_VST(4, 3) ATT_VST(5, 3) ATT_VST(6, 3) ATT_VST(7, 3)
}
#undef ATT_VZ
#undef ATT_VACC
#undef ATT_VCOL
#undef ATT_VB
#undef ATT_VST

/* all chunks of query heads g0 .. g0+NG-1: groups of CW chunks, then single chunks */
#define ATT_VALUES_ALL(NGc, CWc)                                                                   \
    {                                                                                              \
        int c0 = 0;                                                                                \
        for (; c0 + (CWc) <= NC; c0 += (CWc)) SIMD(values)(a, t, g0, NGc, c0, CWc, n);               \
        for (; c0 < NC; c0++) SIMD(values)(a, t, g0, NGc, c0, 1, n);                                 \
    }

/* DC: the head dimension as a compile-time constant (64, 80, 128: inner loops fully unrolled) or 0 */
SIMD_INL void SIMD(attn)(const exa_attn_args *a, exa_dtype t, const int DC) {
    const int n = a->hi - a->lo + 1, G = a->G, NC = (DC ? DC : a->d) / VL;
    for (int g0 = 0; g0 < G;) {
        const int r = G - g0;
        if (r >= 8) { SIMD(scores)(a, t, g0, 8, n, DC); g0 += 8; }
        else if (r >= 4) { SIMD(scores)(a, t, g0, 4, n, DC); g0 += 4; }
        else if (r >= 2) { SIMD(scores)(a, t, g0, 2, n, DC); g0 += 2; }
        else { SIMD(scores)(a, t, g0, 1, n, DC); g0 += 1; }
    }
    for (int g = 0; g < G; g++) SIMD(softmax)(a->scratch + (size_t)g * (size_t)n, n);
    for (int g0 = 0; g0 < G;) {
        const int r = G - g0;
        if (ATT_NG_MAX_V >= 8 && r >= 8) { ATT_VALUES_ALL(8, ATT_CW_BUDGET / 8) g0 += 8; }
        else if (r >= 4) { ATT_VALUES_ALL(4, ATT_CW_BUDGET / 4) g0 += 4; }
        else if (r >= 2) { ATT_VALUES_ALL(2, 4) g0 += 2; }
        else { ATT_VALUES_ALL(1, 4) g0 += 1; }
    }
}
#undef ATT_VALUES_ALL

#define ATT_DISPATCH_D(T)                                                                          \
    switch (a->d) {                                                                                \
    case 64: SIMD(attn)(a, T, 64); break;                                                           \
    case 80: SIMD(attn)(a, T, 80); break;                                                           \
    case 128: SIMD(attn)(a, T, 128); break;                                                         \
    default: SIMD(attn)(a, T, 0);                                                                   \
    }
static SIMD_TARGET void SIMD(attn_f32)(const exa_attn_args *a) { ATT_DISPATCH_D(EXA_DTYPE_F32) }
static SIMD_TARGET void SIMD(attn_f16)(const exa_attn_args *a) { ATT_DISPATCH_D(EXA_DTYPE_F16) }
static SIMD_TARGET void SIMD(attn_bf16)(const exa_attn_args *a) { ATT_DISPATCH_D(EXA_DTYPE_BF16) }
static SIMD_TARGET void SIMD(attn_q8_0)(const exa_attn_args *a) { ATT_DISPATCH_D(EXA_DTYPE_Q8_0) }
#undef ATT_DISPATCH_D

/* f32 → f16 / bf16 cache values (exa_attn_f32_to_f16 / _bf16): VL at a time, the last n % VL
 * through the scalar conversions */
static SIMD_TARGET void SIMD(to_f16)(const float *x, uint16_t *h, size_t n) {
    size_t i = 0;
    for (; i + VL <= n; i += VL) ST_F16(h + i, LD_F32(x + i));
    for (; i < n; i++) h[i] = exa_f32_to_f16(x[i]);
}
static SIMD_TARGET void SIMD(to_bf16)(const float *x, uint16_t *h, size_t n) {
    size_t i = 0;
    for (; i + VL <= n; i += VL) ST_BF16(h + i, LD_F32(x + i));
    for (; i < n; i++) h[i] = exa_f32_to_bf16(x[i]);
}

#undef SIMD_INL
