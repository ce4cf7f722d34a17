/* attn.c — attention over a KV cache of f32 / f16 / bf16 / Q8_0 rows for the G query heads that
 * share one KV head (see attn.h). Owns the scalar reference (kept forever), the run-time choice
 * between it and the AVX2 / AVX-512 versions (one template, attn_simd.h, included per ISA), and
 * the f32 → cache-row conversion (f16 / bf16 vectorised at the same levels, F16C for f16, bit for
 * bit the scalar conversions of core/tensor.h).
 *
 * Q8_0 rows are widened to f32 (int8 → f32 × block scale) in registers and multiplied with the
 * f32 query, rather than quantizing the query to int8 for an integer dot: the widened row is
 * reused for all G query heads, so the conversion costs little, and the query keeps full
 * precision (the only rounding is the cache's own). */
#include <math.h>
#include <string.h>

#include "kernels/attn.h"
#include "kernels/quant.h"

int exa_attn_type_ok(exa_dtype t, int d) {
    switch (t) {
    case EXA_DTYPE_F32:
    case EXA_DTYPE_F16:
    case EXA_DTYPE_BF16:
    case EXA_DTYPE_Q8_0: return d > 0 && d <= EXA_ATTN_MAX_D;
    default: return 0;
    }
}

size_t exa_attn_head_bytes(exa_dtype t, int d) {
    if (!exa_attn_type_ok(t, d)) return 0;
    if (t == EXA_DTYPE_Q8_0) return (size_t)((d + EXA_QK - 1) / EXA_QK) * sizeof(exa_block_q8_0);
    return (size_t)d * exa_dtype_size(t);
}

/* element j of a cached row, widened to f32 */
static inline float kv_elt(exa_dtype t, const uint8_t *row, int j) {
    uint16_t h;
    switch (t) {
    case EXA_DTYPE_F32: {
        float f;
        memcpy(&f, row + (size_t)j * 4, 4);
        return f;
    }
    case EXA_DTYPE_F16: memcpy(&h, row + (size_t)j * 2, 2); return exa_f16_to_f32(h);
    case EXA_DTYPE_BF16: memcpy(&h, row + (size_t)j * 2, 2); return exa_bf16_to_f32(h);
    default: {
        const exa_block_q8_0 *b = (const exa_block_q8_0 *)row + j / EXA_QK;
        return (float)b->qs[j % EXA_QK] * exa_f16_to_f32(b->d);
    }
    }
}

/* REF: softmax(scale · q Kᵀ) V per query head, f32, keys in position order. */
void exa_attn_ref(const exa_attn_args *a) {
    const int n = a->hi - a->lo + 1, d = a->d;
    for (int g = 0; g < a->G; g++) {
        const float *q = a->q + (size_t)g * a->q_stride;
        float *sc = a->scratch + (size_t)g * (size_t)n;
        int s = a->lo % a->cap;
        for (int i = 0; i < n; i++) {
            const uint8_t *kr = (const uint8_t *)a->k + (size_t)s * a->stride;
            float acc = 0.0f;
            for (int j = 0; j < d; j++) acc += q[j] * kv_elt(a->type, kr, j);
            sc[i] = acc * a->scale;
            if (++s == a->cap) s = 0;
        }
        float mx = -INFINITY, sum = 0.0f;
        for (int i = 0; i < n; i++) mx = sc[i] > mx ? sc[i] : mx;
        for (int i = 0; i < n; i++) { sc[i] = expf(sc[i] - mx); sum += sc[i]; }
        const float inv = 1.0f / sum;
        for (int i = 0; i < n; i++) sc[i] *= inv;
        float *o = a->out + (size_t)g * a->out_stride;
        memset(o, 0, (size_t)d * sizeof *o);
        s = a->lo % a->cap;
        for (int i = 0; i < n; i++) {
            const uint8_t *vr = (const uint8_t *)a->v + (size_t)s * a->stride;
            const float w = sc[i];
            for (int j = 0; j < d; j++) o[j] += w * kv_elt(a->type, vr, j);
            if (++s == a->cap) s = 0;
        }
    }
}

#if defined(__x86_64__)
/* ---- AVX-512, then AVX2: the template attn_simd.h over simd_f32.h's vocabulary ---- */
#define SIMD_AVX512
#include "kernels/simd_f32.h"
#define ATT_NG_MAX_V 8
#define ATT_CW_BUDGET 16
#include "kernels/attn_simd.h"
#undef ATT_NG_MAX_V
#undef ATT_CW_BUDGET
#include "kernels/simd_f32_end.h"

#define SIMD_AVX2
#include "kernels/simd_f32.h"
#define ATT_NG_MAX_V 4
#define ATT_CW_BUDGET 8
#include "kernels/attn_simd.h"
#include "kernels/simd_f32_end.h"
#endif

/* f32 → f16 / bf16 at a level the CPU has. REF: core/tensor.h's exa_f32_to_f16 / exa_f32_to_bf16
 * per value; the SIMD levels give the same bits for every input (simd_f32.h ST_F16 / ST_BF16,
 * tests/kernels/test_f16_store.c) */
static void to_16bit(exa_dtype t, exa_cpu_level level, const float *x, uint16_t *h, size_t n) {
    const int bf16 = t == EXA_DTYPE_BF16;
#if defined(__x86_64__)
    if (level >= EXA_CPU_AVX512) { (bf16 ? to_bf16_avx512 : to_f16_avx512)(x, h, n); return; }
    if (level >= EXA_CPU_AVX2) { (bf16 ? to_bf16_avx2 : to_f16_avx2)(x, h, n); return; }
#else
    (void)level;
#endif
    if (bf16) for (size_t i = 0; i < n; i++) h[i] = exa_f32_to_bf16(x[i]);
    else for (size_t i = 0; i < n; i++) h[i] = exa_f32_to_f16(x[i]);
}

void exa_attn_f32_to_f16(exa_cpu_level level, const float *x, uint16_t *h, size_t n) {
    to_16bit(EXA_DTYPE_F16, level > exa_cpu_detect() ? exa_cpu_detect() : level, x, h, n);
}

void exa_attn_f32_to_bf16(exa_cpu_level level, const float *x, uint16_t *h, size_t n) {
    to_16bit(EXA_DTYPE_BF16, level > exa_cpu_detect() ? exa_cpu_detect() : level, x, h, n);
}

void exa_attn_store_row(exa_dtype t, const float *x, void *dst, int n_heads, int d) {
    const int n = n_heads * d;
    switch (t) {
    case EXA_DTYPE_F32: memcpy(dst, x, (size_t)n * sizeof(float)); break;
    case EXA_DTYPE_F16:
    case EXA_DTYPE_BF16: to_16bit(t, exa_cpu_active(), x, dst, (size_t)n); break;
    case EXA_DTYPE_Q8_0: {
        const int nb = (d + EXA_QK - 1) / EXA_QK;
        exa_block_q8_0 *y = dst;
        if (d % EXA_QK == 0) { (void)exa_quantize_row(EXA_QTYPE_Q8_0, x, y, n); break; }
        float pad[EXA_ATTN_MAX_D + EXA_QK] = {0};
        for (int h = 0; h < n_heads; h++) {
            memcpy(pad, x + (size_t)h * d, (size_t)d * sizeof(float));
            (void)exa_quantize_row(EXA_QTYPE_Q8_0, pad, y + (size_t)h * nb, (int64_t)nb * EXA_QK);
        }
        break;
    }
    default: break;
    }
}

exa_attn_fn exa_attn_get(exa_dtype t, exa_cpu_level level, int d) {
    if (!exa_attn_type_ok(t, d)) return NULL;
#if defined(__x86_64__)
    if (level > exa_cpu_detect()) level = exa_cpu_detect();
    if (level >= EXA_CPU_AVX512 && d % 16 == 0) {
        switch (t) {
        case EXA_DTYPE_F32: return attn_f32_avx512;
        case EXA_DTYPE_F16: return attn_f16_avx512;
        case EXA_DTYPE_BF16: return attn_bf16_avx512;
        default: return attn_q8_0_avx512;
        }
    }
    if (level >= EXA_CPU_AVX2 && d % 8 == 0) {
        switch (t) {
        case EXA_DTYPE_F32: return attn_f32_avx2;
        case EXA_DTYPE_F16: return attn_f16_avx2;
        case EXA_DTYPE_BF16: return attn_bf16_avx2;
        default: return attn_q8_0_avx2;
        }
    }
#else
    (void)level;
#endif
    return exa_attn_ref;
}
