/* test_quant.c — block quantization formats (src/kernels/quant.c, quant_avx2.c, quant_avx512.c):
 *  - byte layouts and nibble orders on hand-made blocks (ggml's documented packing),
 *  - round-trip RMSE per format on gaussian data within bounds (and Q4_0 > Q4_K > Q6_K > Q8_0),
 *  - every SIMD dot product against the scalar reference (random data and raw random block
 *    bytes), the scalar reference against an f32 dot of the dequantized rows,
 *  - every four-activation-row kernel (exa_qdot4_get) bit-identical to its level's one-row kernel
 *    and within the one-row tolerance of the scalar reference,
 *  - llama.cpp's own acceptance thresholds (tests/test-quantize-fns.cpp) on its synthetic data,
 *  - EXA_CPU forcing (the same binary is registered with EXA_CPU=scalar / avx2 / unset).
 * Prints the measured RMSE figures (recorded in docs/quant.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "kernels/quant.h"
#include "kernels/quant_impl.h"
#include "test_util.h"

#define EXA_ARRAY_LEN_(a) (sizeof(a) / sizeof((a)[0]))



static const exa_qtype weight_types[] = {EXA_QTYPE_Q8_0, EXA_QTYPE_Q4_0, EXA_QTYPE_Q4_K, EXA_QTYPE_Q5_K, EXA_QTYPE_Q6_K};

/* ---- layouts on hand-made blocks */
static void test_layouts(void) {
    /* Q4_0: weight j in the low nibble of byte j, weight j+16 in the high nibble; value (q-8)*d */
    exa_block_q4_0 b4;
    b4.d = exa_f32_to_f16(0.5f);
    for (int j = 0; j < 16; j++) b4.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float y[256];
    CHECK(exa_dequantize_row(EXA_QTYPE_Q4_0, &b4, y, 32) == EXA_OK, "q4_0 dequant");
    for (int j = 0; j < 16; j++) {
        CHECK(y[j] == (j - 8) * 0.5f, "q4_0 low nibble %d: %g", j, y[j]);
        CHECK(y[j + 16] == (7 - j) * 0.5f, "q4_0 high nibble %d: %g", j, y[j + 16]);
    }
    /* quantizing that output gives the same codes back (scale = max / -8 with max = -4) */
    exa_block_q4_0 r4;
    exa_quantize_row(EXA_QTYPE_Q4_0, y, &r4, 32);
    CHECK(memcmp(&r4, &b4, sizeof b4) == 0, "q4_0 requantize differs");

    /* Q8_0: d then 32 int8; scale = amax/127 */
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16) * 127.f / 16.f;
    exa_block_q8_0 b8;
    exa_quantize_row(EXA_QTYPE_Q8_0, x, &b8, 32);
    CHECK(exa_f16_to_f32(b8.d) == 1.0f, "q8_0 scale %g", exa_f16_to_f32(b8.d));
    CHECK(b8.qs[0] == -127 && b8.qs[16] == 0 && b8.qs[31] == 119, "q8_0 codes %d %d %d", b8.qs[0], b8.qs[16], b8.qs[31]);

    /* Q4_K: 6-bit scales/mins packing of get_scale_min_k4; sub-block j (32 weights) of chunk j/2
     * lives in the low (even j) or high (odd j) nibbles of qs[32*(j/2) ...] */
    exa_block_q4_K bk;
    memset(&bk, 0, sizeof bk);
    bk.d = exa_f32_to_f16(1.0f);
    bk.dmin = exa_f32_to_f16(0.25f);
    const uint8_t sc[8] = {1, 2, 3, 63, 17, 33, 48, 5}, mn[8] = {0, 4, 8, 12, 63, 20, 40, 1};
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            bk.scales[j] = sc[j];
            bk.scales[j + 4] = mn[j];
        } else {
            bk.scales[j + 4] = (uint8_t)((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
            bk.scales[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            bk.scales[j] |= (uint8_t)((mn[j] >> 4) << 6);
        }
    }
    for (int l = 0; l < 128; l++) bk.qs[l] = (uint8_t)((l % 16) | (((l * 7) % 16) << 4));
    exa_dequantize_row(EXA_QTYPE_Q4_K, &bk, y, 256);
    for (int e = 0; e < 256; e++) {
        int j = e / 32, chunk = e / 64, l = e % 32;
        uint8_t byte = bk.qs[32 * chunk + l];
        int q = (j % 2 == 0) ? (byte & 0xF) : (byte >> 4);
        float want = 1.0f * sc[j] * q - 0.25f * mn[j];
        CHECK(y[e] == want, "q4_K element %d: %g want %g", e, y[e], want);
    }

    /* Q5_K: as Q4_K plus a 5th bit: element e (chunk c = e/64, r = e%64) has bit 2c (r < 32) or
     * 2c+1 (r >= 32) of qh[r%32] */
    exa_block_q5_K b5;
    memset(&b5, 0, sizeof b5);
    b5.d = exa_f32_to_f16(0.5f);
    b5.dmin = exa_f32_to_f16(2.0f);
    memcpy(b5.scales, bk.scales, 12);
    for (int l = 0; l < 128; l++) b5.qs[l] = (uint8_t)test_rng64();
    for (int l = 0; l < 32; l++) b5.qh[l] = (uint8_t)test_rng64();
    exa_dequantize_row(EXA_QTYPE_Q5_K, &b5, y, 256);
    for (int e = 0; e < 256; e++) {
        int j = e / 32, c = e / 64, r = e % 64;
        uint8_t byte = b5.qs[32 * c + r % 32];
        int q = (r < 32 ? (byte & 0xF) : (byte >> 4)) | (((b5.qh[r % 32] >> (2 * c + (r >= 32))) & 1) << 4);
        float want = 0.5f * sc[j] * q - 2.0f * mn[j];
        CHECK(y[e] == want, "q5_K element %d: %g want %g", e, y[e], want);
    }

    /* Q6_K: element e of chunk c (128 weights): low 4 bits in ql[64c + e%64] (low nibble for
     * e%128 < 64, else high), high 2 bits in qh[32c + e%32] at bit 2*((e%128)/32); scale e/16 */
    exa_block_q6_K b6;
    for (int l = 0; l < 128; l++) b6.ql[l] = (uint8_t)(test_rng64());
    for (int l = 0; l < 64; l++) b6.qh[l] = (uint8_t)(test_rng64());
    for (int l = 0; l < 16; l++) b6.scales[l] = (int8_t)(l * 9 - 70);
    b6.d = exa_f32_to_f16(0.125f);
    exa_dequantize_row(EXA_QTYPE_Q6_K, &b6, y, 256);
    for (int e = 0; e < 256; e++) {
        int c = e / 128, r = e % 128;
        uint8_t lb = b6.ql[64 * c + r % 64];
        int lo = r < 64 ? (lb & 0xF) : (lb >> 4);
        int hi = (b6.qh[32 * c + r % 32] >> (2 * (r / 32))) & 3;
        float want = 0.125f * b6.scales[e / 16] * ((lo | (hi << 4)) - 32);
        CHECK(y[e] == want, "q6_K element %d: %g want %g", e, y[e], want);
    }

    CHECK(exa_qtype_row_bytes(EXA_QTYPE_Q4_K, 4096) == 16 * 144, "row bytes");
    CHECK(exa_qtype_row_bytes(EXA_QTYPE_Q4_K, 4000) == 0, "row bytes of a partial block");
    CHECK(exa_quantize_row(EXA_QTYPE_Q8_0, x, &b8, 31) == EXA_ERR_INVALID_ARG, "partial block accepted");
}

/* ---- round trip error on gaussian data */
static double rmse_of(exa_qtype t, const float *x, int64_t n) {
    void *q = malloc(exa_qtype_row_bytes(t, n));
    float *y = malloc(sizeof(float) * (size_t)n);
    exa_quantize_row(t, x, q, n);
    exa_dequantize_row(t, q, y, n);
    double se = 0;
    for (int64_t i = 0; i < n; i++) se += (double)(x[i] - y[i]) * (x[i] - y[i]);
    free(q);
    free(y);
    return sqrt(se / (double)n);
}

static void test_rmse(void) {
    const int64_t n = 256 * 256;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = test_gauss();
    /* bounds: measured values (docs/quant.md) + ~10 %; they are RMSE / sigma of N(0,1) data */
    struct { exa_qtype t; double bound; } cases[] = {
        {EXA_QTYPE_Q8_0, 0.0059}, {EXA_QTYPE_Q4_0, 0.11}, {EXA_QTYPE_Q4_K, 0.080}, {EXA_QTYPE_Q6_K, 0.021},
        {EXA_QTYPE_Q8_K, 0.0077}, {EXA_QTYPE_Q5_K, 0.040},
    };
    double r[6];
    for (int c = 0; c < 6; c++) {
        r[c] = rmse_of(cases[c].t, x, n);
        printf("rmse %-5s gaussian N(0,1): %.5f (bound %.4f)\n", exa_qtype_name(cases[c].t), r[c], cases[c].bound);
        CHECK(r[c] < cases[c].bound, "%s rmse %.5f above %.4f", exa_qtype_name(cases[c].t), r[c], cases[c].bound);
    }
    CHECK(r[2] < r[1] && r[5] < r[2] && r[3] < r[5] && r[0] < r[3], "format quality order q4_0 > q4_K > q5_K > q6_K > q8_0 violated");
    /* uniform-rounding-noise model from the same data: rmse = step/sqrt(12), step = amax/levels
     * (symmetric formats) or (max-min)/15 (Q4_K's naive min/max grid, which its search must beat) */
    double m[6] = {0};
    const int grp[6] = {32, 32, 32, 16, 256, 32};
    const double lev[6] = {127, 8, 15, 32, 127, 31};
    for (int c = 0; c < 6; c++) {
        double acc = 0;
        for (int64_t b = 0; b < n / grp[c]; b++) {
            float amax = 0, mn = 0, mx = 0;
            for (int j = 0; j < grp[c]; j++) {
                float v = x[b * grp[c] + j];
                amax = fmaxf(amax, fabsf(v));
                mn = fminf(mn, v);
                mx = fmaxf(mx, v);
            }
            double step = (c == 2 || c == 5 ? (double)(mx - mn) : (double)amax) / lev[c];
            acc += step * step / 12;
        }
        m[c] = sqrt(acc / (double)(n / grp[c]));
        printf("rmse %-5s uniform-noise model: %.5f (measured/model %.3f)\n", exa_qtype_name(cases[c].t), m[c], r[c] / m[c]);
    }
    CHECK(fabs(r[0] / m[0] - 1) < 0.05 && fabs(r[1] / m[1] - 1) < 0.05 && fabs(r[4] / m[4] - 1) < 0.05,
          "q8_0/q4_0/q8_K rmse off the rounding-noise model");
    CHECK(r[2] < m[2] && r[2] > 0.7 * m[2], "q4_K rmse %g vs min/max-grid model %g", r[2], m[2]);
    CHECK(r[3] > 0.9 * m[3] && r[3] < 1.25 * m[3], "q6_K rmse %g vs model %g", r[3], m[3]);
    CHECK(r[5] < m[5] && r[5] > 0.7 * m[5], "q5_K rmse %g vs min/max-grid model %g", r[5], m[5]);
    /* scale invariance: errors scale with the data (no absolute epsilons inside) */
    for (int64_t i = 0; i < n; i++) x[i] *= 0.02f;
    double small = rmse_of(EXA_QTYPE_Q4_K, x, n);
    CHECK(fabs(small / 0.02 - r[2]) < 0.05 * r[2], "q4_K rmse not scale invariant: %g vs %g", small / 0.02, r[2]);
    /* all-zero and constant blocks */
    memset(x, 0, sizeof(float) * 512);
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        double e = rmse_of(weight_types[k], x, 512);
        CHECK(e == 0, "%s of zeros: rmse %g", exa_qtype_name(weight_types[k]), e);
    }
    for (int i = 0; i < 512; i++) x[i] = 3.0f;
    CHECK(rmse_of(EXA_QTYPE_Q4_K, x, 512) < 0.05, "q4_K of a constant block");
    /* non-finite inputs: garbage in, but no undefined behaviour (UBSan run) and finite blocks
     * elsewhere in the row unaffected */
    for (int i = 0; i < 512; i++) x[i] = test_gauss();
    x[3] = NAN; x[40] = INFINITY; x[200] = -INFINITY; /* all in the first 256 */
    static uint8_t qbuf[4096];
    float back[512];
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        CHECK(exa_quantize_row(weight_types[k], x, qbuf, 512) == EXA_OK, "non-finite quantize");
        CHECK(exa_dequantize_row(weight_types[k], qbuf, back, 512) == EXA_OK, "non-finite dequantize");
        CHECK(fabsf(back[400] - x[400]) < 0.5f, "%s: non-finite values leaked into another block", exa_qtype_name(weight_types[k]));
    }
    CHECK(exa_quantize_row(EXA_QTYPE_Q8_K, x, qbuf, 256) == EXA_OK, "non-finite q8_K");
    free(x);
}

/* ---- dot products */
static double ref_dot(exa_qtype t, const void *w, const void *a, int64_t n, double *mag) {
    float *fw = malloc(sizeof(float) * (size_t)n), *fa = malloc(sizeof(float) * (size_t)n);
    exa_dequantize_row(t, w, fw, n);
    exa_dequantize_row(exa_qtype_act(t), a, fa, n);
    double s = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        s += (double)fw[i] * fa[i];
        m += fabs((double)fw[i] * fa[i]);
    }
    free(fw);
    free(fa);
    *mag = m;
    return s;
}

static void check_dots(exa_qtype t, const void *w, const void *a, int64_t n, const char *what) {
    double mag;
    double ref = ref_dot(t, w, a, n, &mag);
    float sref = exa_qdot_get(t, EXA_CPU_SCALAR)(n, w, a);
    CHECK(fabs(sref - ref) <= 1e-5 * mag + 1e-30, "%s %s n=%lld: scalar %g vs f32 dot %g (mag %g)", what,
          exa_qtype_name(t), (long long)n, sref, ref, mag);
    for (int lv = EXA_CPU_AVX2; lv <= (int)exa_cpu_detect(); lv++) {
        float v = exa_qdot_get(t, (exa_cpu_level)lv)(n, w, a);
        CHECK(fabs(v - sref) <= 2e-6 * mag + 1e-30, "%s %s n=%lld %s: %.9g vs scalar %.9g (mag %g)", what,
              exa_qtype_name(t), (long long)n, exa_cpu_level_name((exa_cpu_level)lv), v, sref, mag);
        /* Q6_K at the VNNI level does the reference's float operations in the same order */
        if (t == EXA_QTYPE_Q6_K && lv == EXA_CPU_AVX512 && exa_quant_has_vnni())
            CHECK(v == sref, "q6_K avx512 not bit-exact: %.9g vs %.9g", v, sref);
    }
}

static void test_dots(void) {
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        exa_qtype t = weight_types[k];
        const int64_t be = (int64_t)exa_qtype_block_elems(t);
        const int64_t sizes[] = {be, 2 * be, 3 * be, 7 * be, 4096 + (be == 32 ? 32 : 0)};
        for (size_t s = 0; s < EXA_ARRAY_LEN_(sizes); s++) {
            int64_t n = sizes[s];
            float *x = malloc(sizeof(float) * (size_t)n), *v = malloc(sizeof(float) * (size_t)n);
            size_t wb = exa_qtype_row_bytes(t, n), ab = exa_qtype_row_bytes(exa_qtype_act(t), n);
            uint8_t *w = malloc(wb), *a = malloc(ab);
            for (int rep = 0; rep < 4; rep++) {
                for (int64_t i = 0; i < n; i++) {
                    x[i] = test_gauss() * (rep == 3 ? 1e-3f : 1.f);
                    v[i] = test_gauss() * (rep == 2 ? 50.f : 1.f) + (rep == 1 ? 0.5f : 0.f);
                }
                exa_quantize_row(t, x, w, n);
                exa_quantize_act(t, v, a, n);
                check_dots(t, w, a, n, "gaussian");
            }
            /* raw random weight bytes (every code value, extreme scales) with sane f16 scales */
            for (size_t i = 0; i < wb; i++) w[i] = (uint8_t)test_rng64();
            const size_t bb = exa_qtype_block_bytes(t);
            for (size_t off = 0; off < wb; off += bb) {
                uint16_t h1 = exa_f32_to_f16(test_urand() * 2.f - 1.f), h2 = exa_f32_to_f16(test_urand());
                if (t == EXA_QTYPE_Q6_K) memcpy(w + off + 208, &h1, 2);
                else if (t == EXA_QTYPE_Q4_K || t == EXA_QTYPE_Q5_K) { memcpy(w + off, &h1, 2); memcpy(w + off + 2, &h2, 2); }
                else memcpy(w + off, &h1, 2);
            }
            for (int64_t i = 0; i < n; i++) v[i] = test_gauss();
            exa_quantize_act(t, v, a, n);
            check_dots(t, w, a, n, "random-bytes");
            free(x); free(v); free(w); free(a);
        }
    }
}

/* ---- four-activation-row kernels (exa_qdot4_get): at every level, out[k] is bit-identical to
 * that level's one-row kernel on row k (the fused kernels do each row's integer and float
 * operations in the one-row kernel's order), and within the one-row tolerance of the scalar
 * reference (2e-6 of Σ|w·a|: the SIMD float accumulation order differs from the reference's,
 * the block integer sums are exact). Rows sit at a stride larger than a row, so a kernel that
 * mixed up rows or strides fails. Activations: quantized gaussians (several magnitudes) and raw
 * random codes in [-127, 127] (the activation quantizers never emit -128) with consistent bsums. */
static void check_dots4(exa_qtype t, const uint8_t *w, const uint8_t *a, size_t stride, int64_t n, const char *what) {
    for (int lv = 0; lv <= (int)exa_cpu_detect(); lv++) {
        exa_qdot4_fn f4 = exa_qdot4_get(t, (exa_cpu_level)lv);
        exa_qdot_fn f1 = exa_qdot_get(t, (exa_cpu_level)lv), f0 = exa_qdot_get(t, EXA_CPU_SCALAR);
        CHECK(f4 != NULL, "qdot4 %s missing", exa_qtype_name(t));
        if (!f4) return;
        float out[4] = {NAN, NAN, NAN, NAN};
        f4(n, w, a, stride, out);
        for (int k = 0; k < 4; k++) {
            const float one = f1(n, w, a + (size_t)k * stride), ref = f0(n, w, a + (size_t)k * stride);
            double mag;
            ref_dot(t, w, a + (size_t)k * stride, n, &mag);
            CHECK(out[k] == one || (out[k] != out[k] && one != one), "%s qdot4 %s n=%lld %s row %d: %.9g vs one-row %.9g", what,
                  exa_qtype_name(t), (long long)n, exa_cpu_level_name((exa_cpu_level)lv), k, out[k], one);
            CHECK(fabs(out[k] - ref) <= 2e-6 * mag + 1e-30, "%s qdot4 %s n=%lld %s row %d: %.9g vs scalar %.9g", what,
                  exa_qtype_name(t), (long long)n, exa_cpu_level_name((exa_cpu_level)lv), k, out[k], ref);
        }
    }
}

static void test_dots4(void) {
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        const exa_qtype t = weight_types[k], at = exa_qtype_act(t);
        const int64_t be = (int64_t)exa_qtype_block_elems(t);
        const int64_t sizes[] = {be, 2 * be, 3 * be, 5 * be, 4096 + (be == 32 ? 96 : 0)};
        for (size_t s = 0; s < EXA_ARRAY_LEN_(sizes); s++) {
            const int64_t n = sizes[s];
            const size_t wb = exa_qtype_row_bytes(t, n), ab = exa_qtype_row_bytes(at, n), stride = ab + 40;
            float *x = malloc(sizeof(float) * (size_t)n);
            uint8_t *w = malloc(wb), *a = malloc(4 * stride);
            for (int rep = 0; rep < 4; rep++) {
                for (int64_t i = 0; i < n; i++) x[i] = test_gauss() * (rep == 3 ? 1e-3f : 1.f);
                exa_quantize_row(t, x, w, n);
                for (int r = 0; r < 4; r++) {
                    for (int64_t i = 0; i < n; i++) x[i] = test_gauss() * (rep == 2 ? 50.f : 1.f) * (float)(r + 1) + (rep == 1 ? 0.5f : 0.f);
                    exa_quantize_act(t, x, a + (size_t)r * stride, n);
                    memset(a + (size_t)r * stride + ab, 0xA5, stride - ab); /* gap between rows */
                }
                check_dots4(t, w, a, stride, n, "gaussian");
            }
            /* raw random weight bytes with sane f16 scales, raw activation codes */
            for (size_t i = 0; i < wb; i++) w[i] = (uint8_t)test_rng64();
            const size_t bb = exa_qtype_block_bytes(t);
            for (size_t off = 0; off < wb; off += bb) {
                uint16_t h1 = exa_f32_to_f16(test_urand() * 2.f - 1.f), h2 = exa_f32_to_f16(test_urand());
                if (t == EXA_QTYPE_Q6_K) memcpy(w + off + 208, &h1, 2);
                else if (t == EXA_QTYPE_Q4_K || t == EXA_QTYPE_Q5_K) { memcpy(w + off, &h1, 2); memcpy(w + off + 2, &h2, 2); }
                else memcpy(w + off, &h1, 2);
            }
            for (int r = 0; r < 4; r++) {
                uint8_t *ar = a + (size_t)r * stride;
                if (at == EXA_QTYPE_Q8_K) {
                    exa_block_q8_K *yb = (exa_block_q8_K *)ar; /* ab is a multiple of 4; stride too */
                    for (int64_t b = 0; b < n / EXA_QK_K; b++) {
                        exa_block_q8_K blk;
                        blk.d = test_urand() * 0.1f;
                        for (int i = 0; i < EXA_QK_K; i++) blk.qs[i] = (int8_t)((int)(test_rng64() % 255) - 127);
                        for (int g = 0; g < EXA_QK_K / 16; g++) {
                            int sum = 0;
                            for (int i = 0; i < 16; i++) sum += blk.qs[16 * g + i];
                            blk.bsums[g] = (int16_t)sum;
                        }
                        memcpy(&yb[b], &blk, sizeof blk);
                    }
                } else {
                    for (int64_t b = 0; b < n / EXA_QK; b++) {
                        exa_block_q8_0 blk;
                        blk.d = exa_f32_to_f16(test_urand() * 0.1f);
                        for (int i = 0; i < EXA_QK; i++) blk.qs[i] = (int8_t)((int)(test_rng64() % 255) - 127);
                        memcpy(ar + (size_t)b * sizeof blk, &blk, sizeof blk);
                    }
                }
            }
            check_dots4(t, w, a, stride, n, "random-bytes");
            free(x); free(w); free(a);
        }
    }
    CHECK(exa_qdot4_get(EXA_QTYPE_Q8_K, EXA_CPU_SCALAR) == NULL, "qdot4 for an activation-only type");
    CHECK(exa_qdot4_get(EXA_QTYPE_Q4_K, exa_cpu_active()) != NULL, "qdot4 at the active level");
}

/* ---- EXA_CPU and matvec */
static void test_levels(void) {
    exa_cpu_level max = exa_cpu_detect(), act = exa_cpu_active();
    const char *env = getenv("EXA_CPU");
    exa_cpu_level want = max;
    if (env && !strcmp(env, "scalar")) want = EXA_CPU_SCALAR;
    if (env && !strcmp(env, "avx2")) want = EXA_CPU_AVX2 < max ? EXA_CPU_AVX2 : max;
    printf("cpu: max %s, active %s (EXA_CPU=%s)\n", exa_cpu_level_name(max), exa_cpu_level_name(act), env ? env : "");
    CHECK(act == want, "EXA_CPU=%s gives %s, want %s", env ? env : "", exa_cpu_level_name(act), exa_cpu_level_name(want));
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++)
        if (act == EXA_CPU_SCALAR)
            CHECK(exa_qdot_get(weight_types[k], act) == exa_qdot_get(weight_types[k], EXA_CPU_SCALAR), "scalar level not scalar kernel");
        else
            CHECK(exa_qdot_get(weight_types[k], act) != exa_qdot_get(weight_types[k], EXA_CPU_SCALAR), "SIMD level gives the scalar kernel");

    const int64_t rows = 64, cols = 512;
    float *W = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * cols);
    float y0[64], y1[64];
    for (int64_t i = 0; i < rows * cols; i++) W[i] = test_gauss();
    for (int64_t i = 0; i < cols; i++) x[i] = test_gauss();
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        exa_qtype t = weight_types[k];
        size_t rb = exa_qtype_row_bytes(t, cols);
        uint8_t *Q = malloc(rb * rows), *abuf = malloc(exa_qtype_row_bytes(exa_qtype_act(t), cols));
        for (int64_t r = 0; r < rows; r++) exa_quantize_row(t, W + r * cols, Q + r * rb, cols);
        CHECK(exa_qmatvec(t, EXA_CPU_SCALAR, rows, cols, Q, x, y0, abuf) == EXA_OK, "matvec scalar");
        CHECK(exa_qmatvec(t, act, rows, cols, Q, x, y1, abuf) == EXA_OK, "matvec active");
        double err = 0, nrm = 0;
        for (int r = 0; r < rows; r++) {
            double exact = 0;
            for (int64_t c = 0; c < cols; c++) exact += (double)W[r * cols + c] * x[c];
            err += (y0[r] - exact) * (y0[r] - exact);
            nrm += exact * exact;
            CHECK(fabsf(y0[r] - y1[r]) <= 1e-4f * (1.f + fabsf(y0[r])), "%s matvec row %d: %g vs %g",
                  exa_qtype_name(t), r, y0[r], y1[r]);
        }
        /* batched: 3 tokens, rows split in two ranges as two threads would; token 1 is x */
        const int T = 3;
        float *X = malloc(sizeof(float) * (size_t)(T * cols)), *Y = malloc(sizeof(float) * (size_t)(T * rows));
        uint8_t *A = malloc(exa_qtype_row_bytes(exa_qtype_act(t), cols) * T);
        for (int64_t c = 0; c < cols; c++) { X[c] = test_gauss(); X[cols + c] = x[c]; X[2 * cols + c] = -x[c] * 0.5f; }
        CHECK(exa_quantize_act_rows(t, X, T, cols, A) == EXA_OK, "quantize act rows");
        CHECK(exa_qmatmul_rows(t, act, 0, 40, cols, Q, A, T, Y, rows) == EXA_OK &&
                  exa_qmatmul_rows(t, act, 40, rows, cols, Q, A, T, Y, rows) == EXA_OK, "qmatmul rows");
        for (int r = 0; r < rows; r++) CHECK(Y[rows + r] == y1[r], "%s batched row %d: %g vs matvec %g", exa_qtype_name(t), r, Y[rows + r], y1[r]);
        CHECK(exa_qmatmul_rows(t, act, 0, rows, cols, Q, A, T, Y, rows - 1) == EXA_ERR_INVALID_ARG, "short ldy accepted");
        free(X); free(Y); free(A);
        printf("matvec %-5s relative error vs f32: %.5f\n", exa_qtype_name(t), sqrt(err / nrm));
        CHECK(sqrt(err / nrm) < 0.15, "%s matvec relative error %g", exa_qtype_name(t), sqrt(err / nrm));
        free(Q);
        free(abuf);
    }
    free(W);
    free(x);
}

/* ---- llama.cpp's own acceptance test (tests/test-quantize-fns.cpp): data 0.1 + 2·cos(i + offset),
 * 4096 values; "total error" sqrt(Σ(x-x')²)/n < 0.002 for these formats; dot-product error
 * |q·q - f·f|/n < 0.02 against activations generated with offset 1 */
static void test_ggml_thresholds(void) {
    enum { N = 32 * 128 };
    static float a[N], b[N], back[N];
    static uint8_t qa[N * 2], qb[N * 2];
    for (int i = 0; i < N; i++) {
        a[i] = 0.1f + 2.0f * cosf((float)i);
        b[i] = 0.1f + 2.0f * cosf((float)i + 1.0f);
    }
    double ref = 0;
    for (int i = 0; i < N; i++) ref += a[i] * b[i];
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        const exa_qtype t = weight_types[k];
        exa_quantize_row(t, a, qa, N);
        exa_dequantize_row(t, qa, back, N);
        double se = 0;
        for (int i = 0; i < N; i++) se += (double)(a[i] - back[i]) * (a[i] - back[i]);
        const float total = sqrtf((float)se) / N;
        CHECK(total < 0.002f, "%s: llama.cpp total quantization error %f >= 0.002", exa_qtype_name(t), total);
        exa_quantize_act(t, b, qb, N);
        for (int lv = 0; lv <= (int)exa_cpu_detect(); lv++) {
            const float dot = exa_qdot_get(t, (exa_cpu_level)lv)(N, qa, qb);
            const float err = fabsf(dot - (float)ref) / N;
            CHECK(err < 0.02f, "%s %s: llama.cpp dot product error %f >= 0.02", exa_qtype_name(t),
                  exa_cpu_level_name((exa_cpu_level)lv), err);
            if (lv == 0) printf("ggml test-quantize-fns %-5s: total error %.6f (< 0.002), dot error %.6f (< 0.02)\n", exa_qtype_name(t), total, err);
        }
    }
}

/* ---- the AVX2 k-quant scale search gives the reference's bytes exactly */
static void test_quantizer_levels(void) {
    if (exa_cpu_detect() < EXA_CPU_AVX2) return;
    const int64_t n = 256 * 256; /* 2048 searches per format and pattern */
    float *x = malloc(sizeof(float) * (size_t)n);
    uint8_t *q0 = malloc((size_t)n), *q1 = malloc((size_t)n);
    for (int rep = 0; rep < 4; rep++) {
        for (int64_t i = 0; i < n; i++) {
            x[i] = test_gauss() * (rep == 1 ? 1e-4f : 1.f) + (rep == 2 ? 0.7f : 0.f);
            if (rep == 3) x[i] = (float)(int)(x[i] * 3); /* many ties and repeated values */
        }
        for (int i = 0; i < 256; i++) x[i] = 0.25f;      /* a constant block */
        for (int i = 256; i < 512; i++) x[i] = i % 7 == 0 ? 1.f : 0.f;
        const exa_qtype ks[2] = {EXA_QTYPE_Q4_K, EXA_QTYPE_Q5_K};
        for (int k = 0; k < 2; k++) {
            exa_quantize_row_level(ks[k], EXA_CPU_SCALAR, x, q0, n);
            exa_quantize_row_level(ks[k], EXA_CPU_AVX2, x, q1, n);
            CHECK(!memcmp(q0, q1, exa_qtype_row_bytes(ks[k], n)), "%s: AVX2 scale search differs from the reference (rep %d)",
                  exa_qtype_name(ks[k]), rep);
        }
    }
    free(x); free(q0); free(q1);
}

/* Q8_K and Q8_0 quantization (activation rows; Q8_0 also weights): the AVX-512 versions and
 * Q8_0's AVX2 version give the reference's bytes, including sign ties of the largest |x| (Q8_K: the first one wins), NaN
 * elements (0), an infinite or all-zero block, values that round at exactly .5 (Q8_0 rounds half
 * away from zero, Q8_K to even), tiny blocks whose 1/d overflows, and rows that saturate. */
static void test_act_quant_levels(void) {
    if (exa_cpu_active() < EXA_CPU_AVX2) { printf("Q8_K/Q8_0 SIMD quantizers: skipped (no AVX2)\n"); return; }
    const int top = exa_cpu_active() >= EXA_CPU_AVX512 && exa_quant_has_vnni() ? EXA_CPU_AVX512 : EXA_CPU_AVX2;
    const exa_qtype types[] = {EXA_QTYPE_Q8_K, EXA_QTYPE_Q8_0};
    const int64_t n = 256 * 64;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (size_t k = 0; k < EXA_ARRAY_LEN_(types); k++) {
        const size_t bytes = exa_qtype_row_bytes(types[k], n);
        uint8_t *q0 = malloc(bytes), *q1 = malloc(bytes);
        for (int rep = 0; rep < 7; rep++) {
            for (int64_t i = 0; i < n; i++) {
                x[i] = test_gauss() * (rep == 1 ? 1e-30f : rep == 5 ? 1e-40f : 1.f);
                if (rep == 2) x[i] = (float)(int)(x[i] * 4) * 0.5f;  /* ties, exact halves after scaling */
            }
            for (int i = 0; i < 256; i++) x[i] = 0.f;                 /* an all-zero block */
            x[256 + 3] = 2.f; x[256 + 9] = -2.f;                     /* sign tie: the first wins */
            x[512 + 5] = NAN;                                        /* a NaN element */
            x[768 + 1] = INFINITY;                                   /* an infinite block */
            x[1024 + 7] = -3e38f; x[1024 + 8] = 3e38f;               /* huge values */
            if (rep == 3) for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 255) - 127.f;
            if (rep == 6) /* Q8_0: 127·x/amax lands on k + 0.5 for amax = 127 (exact halves) */
                for (int64_t i = 0; i < n; i++) x[i] = (i % 32 == 0) ? 127.f : (float)((i * 13) % 253 - 126) * 0.5f;
            exa_quantize_row_level(types[k], EXA_CPU_SCALAR, x, q0, n);
            for (int lv = EXA_CPU_AVX2; lv <= top; lv++) {
                memset(q1, 0xAA, bytes);
                exa_quantize_row_level(types[k], (exa_cpu_level)lv, x, q1, n);
                CHECK(!memcmp(q0, q1, bytes), "%s: %s quantizer differs from the reference (rep %d)", exa_qtype_name(types[k]),
                      exa_cpu_level_name((exa_cpu_level)lv), rep);
            }
        }
        free(q0); free(q1);
    }
    free(x);
}

/* ---- threaded helpers give exactly the single-threaded results */
static void test_threaded(void) {
    const int64_t rows = 37, cols = 512;
    const int T = 5;
    float *W = malloc(sizeof(float) * rows * cols), *X = malloc(sizeof(float) * T * cols);
    float *y0 = malloc(sizeof(float) * T * rows), *y1 = malloc(sizeof(float) * T * rows);
    for (int64_t i = 0; i < rows * cols; i++) W[i] = test_gauss();
    for (int64_t i = 0; i < T * cols; i++) X[i] = test_gauss();
    exa_pool *pool = exa_pool_init(3);
    CHECK(pool != NULL, "pool");
    for (size_t k = 0; k < EXA_ARRAY_LEN_(weight_types); k++) {
        const exa_qtype t = weight_types[k];
        const size_t rb = exa_qtype_row_bytes(t, cols), ab = exa_qtype_row_bytes(exa_qtype_act(t), cols);
        uint8_t *Q0 = malloc(rb * rows), *Q1 = malloc(rb * rows), *A = malloc(ab * T);
        for (int64_t r = 0; r < rows; r++) exa_quantize_row(t, W + r * cols, Q0 + r * rb, cols);
        CHECK(exa_quantize_matrix(pool, t, W, rows, cols, Q1) == EXA_OK, "quantize_matrix");
        CHECK(!memcmp(Q0, Q1, rb * rows), "%s threaded quantization differs", exa_qtype_name(t));
        /* the matrix driver (exa_matmul, threads split the rows; the 4-token kernel for groups of
         * 4 and 3, which is bit-identical to the one-row kernel) == one thread's row products */
        exa_dtype dt;
        CHECK(exa_dtype_from_qtype(t, &dt), "dtype of %s", exa_qtype_name(t));
        const exa_mat m = {dt, Q1, rows, cols, NULL};
        exa_quantize_act_rows(t, X, T, cols, A);
        exa_qmatmul_rows(t, exa_cpu_active(), 0, rows, cols, Q0, A, T, y0, rows);
        exa_matmul(pool, &m, X, T, y1);
        CHECK(!memcmp(y0, y1, sizeof(float) * T * rows), "%s threaded matmul differs", exa_qtype_name(t));
        exa_matmul(NULL, &m, X, 1, y1);
        CHECK(!memcmp(y0, y1, sizeof(float) * rows), "%s unthreaded matvec differs", exa_qtype_name(t));
        free(Q0); free(Q1); free(A);
    }
    exa_pool_free(pool);
    free(W); free(X); free(y0); free(y1);
}

int main(void) {
    test_rng64_s = 0x243F6A8885A308D3ull; /* this file's data stream, as before */
    test_layouts();
    test_rmse();
    test_ggml_thresholds();
    test_dots();
    test_dots4();
    test_levels();
    test_threaded();
    test_quantizer_levels();
    test_act_quant_levels();
    if (test_fail) {
        fprintf(stderr, "%d failure(s)\n", test_fail);
        return 1;
    }
    printf("test_quant: all passed\n");
    return 0;
}
