/* test_attn.c — the KV-cache attention kernel (kernels/attn.h): scalar reference and every SIMD
 * level this CPU has, for each cache type (f32, f16, bf16, q8_0), head_dim 64/80/128, G = 1..8
 * query heads per KV head, against a double-precision attention computed from the cache rows
 * widened by the library's own converters (exa_f16_to_f32, exa_dequantize_row). Ranges cover a
 * single key, a full ring and a wrapped ring (sliding window), with a second KV head interleaved
 * in each row so head offsets and strides matter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attn.h"
#include "kernels/quant.h"
#include "test_util.h"

#define HKV 2 /* KV heads per cache row; the test attends with head 1 */

/* row (HKV head vectors of d values) of type t → f32 with the library's converters */
static void widen(exa_dtype t, const uint8_t *row, int d, float *out) {
    const int n = HKV * d;
    if (t == EXA_DTYPE_Q8_0) {
        float tmp[256];
        const int nb = (d + 31) / 32;
        for (int h = 0; h < HKV; h++) {
            exa_dequantize_row(EXA_QTYPE_Q8_0, row + (size_t)h * nb * 34, tmp, nb * 32);
            memcpy(out + (size_t)h * d, tmp, sizeof(float) * (size_t)d);
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        if (t == EXA_DTYPE_F32) memcpy(out + i, row + 4 * (size_t)i, 4);
        else {
            uint16_t h;
            memcpy(&h, row + 2 * (size_t)i, 2);
            out[i] = t == EXA_DTYPE_F16 ? exa_f16_to_f32(h) : exa_bf16_to_f32(h);
        }
    }
}

static void one_case(exa_dtype t, int d, int G, int cap, int lo, int hi, float qscale) {
    const int KVd = HKV * d, n = hi - lo + 1;
    const size_t head = exa_attn_head_bytes(t, d), R = HKV * head;
    uint8_t *K = malloc(R * (size_t)cap), *V = malloc(R * (size_t)cap);
    float *kf = malloc(sizeof(float) * (size_t)KVd * (size_t)cap), *vf = malloc(sizeof(float) * (size_t)KVd * (size_t)cap);
    float *x = malloc(sizeof(float) * (size_t)KVd);
    float *q = malloc(sizeof(float) * (size_t)G * (size_t)d);
    float *out = malloc(sizeof(float) * (size_t)G * (size_t)d), *scratch = malloc(sizeof(float) * (size_t)G * (size_t)n);
    double *want = malloc(sizeof(double) * (size_t)G * (size_t)d), *sc = malloc(sizeof(double) * (size_t)n);
    for (int s = 0; s < cap; s++) {
        for (int i = 0; i < KVd; i++) x[i] = test_randf() * (1.0f + (float)(i % 7));
        exa_attn_store_row(t, x, K + (size_t)s * R, HKV, d);
        widen(t, K + (size_t)s * R, d, kf + (size_t)s * KVd);
        for (int i = 0; i < KVd; i++) x[i] = test_randf();
        exa_attn_store_row(t, x, V + (size_t)s * R, HKV, d);
        widen(t, V + (size_t)s * R, d, vf + (size_t)s * KVd);
    }
    for (int i = 0; i < G * d; i++) q[i] = test_randf() * qscale;
    const float scale = 1.0f / sqrtf((float)d);
    /* double-precision reference on the widened rows of KV head 1 */
    for (int g = 0; g < G; g++) {
        double mx = -INFINITY, sum = 0;
        for (int p = lo; p <= hi; p++) {
            const float *kr = kf + (size_t)(p % cap) * KVd + d;
            double acc = 0;
            for (int j = 0; j < d; j++) acc += (double)q[g * d + j] * kr[j];
            sc[p - lo] = acc * scale;
            mx = fmax(mx, sc[p - lo]);
        }
        for (int i = 0; i < n; i++) { sc[i] = exp(sc[i] - mx); sum += sc[i]; }
        for (int j = 0; j < d; j++) {
            double o = 0;
            for (int p = lo; p <= hi; p++) o += sc[p - lo] / sum * vf[(size_t)(p % cap) * KVd + d + j];
            want[g * d + j] = o;
        }
    }
    exa_attn_args a = {.type = t, .k = K + head, .v = V + head, .stride = R, .cap = cap, .lo = lo, .hi = hi,
                       .d = d, .G = G, .q = q, .q_stride = (size_t)d, .out = out, .out_stride = (size_t)d,
                       .scale = scale, .scratch = scratch};
    for (int lv = EXA_CPU_SCALAR; lv <= (int)exa_cpu_detect(); lv++) {
        exa_attn_fn fn = exa_attn_get(t, (exa_cpu_level)lv, d);
        CHECK(fn != NULL, "no kernel for %s d=%d", exa_dtype_name(t), d);
        if (!fn) continue;
        for (int i = 0; i < G * d; i++) out[i] = NAN;
        fn(&a);
        double err = 0;
        for (int i = 0; i < G * d; i++) err = fmax(err, isfinite(out[i]) ? fabs(out[i] - want[i]) : INFINITY);
        CHECK(err <= 2e-5, "attn %s level %s d=%d G=%d cap=%d positions %d..%d: max-abs err %g",
              exa_dtype_name(t), exa_cpu_level_name((exa_cpu_level)lv), d, G, cap, lo, hi, err);
    }
    free(K); free(V); free(kf); free(vf); free(x); free(q); free(out); free(scratch); free(want); free(sc);
}

static void test_store_row(void) {
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = test_randf() * 3.0f;
    uint16_t h[64];
    exa_attn_store_row(EXA_DTYPE_F16, x, h, 1, 64);
    int ok = 1;
    for (int i = 0; i < 64; i++) ok &= h[i] == exa_f32_to_f16(x[i]);
    CHECK(ok, "f16 rows round to nearest even");
    exa_attn_store_row(EXA_DTYPE_BF16, x, h, 1, 64);
    ok = 1;
    for (int i = 0; i < 64; i++) ok &= h[i] == exa_f32_to_bf16(x[i]);
    CHECK(ok, "bf16 rows round to nearest even");
    uint8_t qa[68], qb[68];
    exa_attn_store_row(EXA_DTYPE_Q8_0, x, qa, 1, 64);
    exa_quantize_row(EXA_QTYPE_Q8_0, x, qb, 64);
    CHECK(!memcmp(qa, qb, sizeof qa), "q8_0 rows are ggml block_q8_0");
    /* head_dim 80: two heads of 3 blocks each, the third holding 16 values and 16 zeros */
    float y[160], p[96] = {0};
    for (int i = 0; i < 160; i++) y[i] = test_randf();
    uint8_t q80[6 * 34], want[3 * 34];
    CHECK(exa_attn_head_bytes(EXA_DTYPE_Q8_0, 80) == 3 * 34, "q8_0 head of 80 values is 3 blocks");
    exa_attn_store_row(EXA_DTYPE_Q8_0, y, q80, 2, 80);
    memcpy(p, y + 80, sizeof(float) * 80);
    exa_quantize_row(EXA_QTYPE_Q8_0, p, want, 96);
    CHECK(!memcmp(q80 + 3 * 34, want, sizeof want), "q8_0 d=80: second head padded per head");
    CHECK(!exa_attn_get(EXA_DTYPE_Q4_0, EXA_CPU_SCALAR, 64) && !exa_attn_type_ok(EXA_DTYPE_Q4_0, 64), "no kernel for unsupported types");
}

int main(void) {
    const exa_dtype types[] = {EXA_DTYPE_F32, EXA_DTYPE_F16, EXA_DTYPE_BF16, EXA_DTYPE_Q8_0};
    const int dims[] = {64, 80, 128}, groups[] = {1, 2, 3, 4, 8};
    test_store_row();
    for (int ti = 0; ti < 4; ti++)
        for (int di = 0; di < 3; di++)
            for (int gi = 0; gi < 5; gi++) {
                const exa_dtype t = types[ti];
                const int d = dims[di], G = groups[gi];
                one_case(t, d, G, 40, 0, 0, 1.0f);      /* one key */
                one_case(t, d, G, 40, 0, 39, 1.0f);     /* the whole ring, no wrap */
                one_case(t, d, G, 37, 50, 80, 4.0f);    /* sliding ring, wraps at slot 37 */
                one_case(t, d, G, 301, 0, 300, 0.5f);   /* longer than any vector tail */
            }
    /* d = 72: AVX-512 falls back to AVX2 (d % 16 != 0) */
    one_case(EXA_DTYPE_F16, 72, 4, 33, 3, 35, 1.0f);
    return TEST_END();
}
