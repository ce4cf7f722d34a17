/* test_kernels.c — every optimised kernel against its scalar reference, at every CPU level this
 * machine supports (and the active one, which EXA_CPU may lower), plus exact dtype conversion. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"
#include "kernels/quant_x16.h"
#include "kernels/quant.h"
#include "test_util.h"

static void fill(exa_dtype t, void *w, float *wf, int n) {
    for (int i = 0; i < n; i++) {
        float v = test_randf();
        if (t == EXA_DTYPE_F32) { ((float *)w)[i] = v; wf[i] = v; }
        else if (t == EXA_DTYPE_BF16) { uint16_t h = exa_f32_to_bf16(v); ((uint16_t *)w)[i] = h; wf[i] = exa_bf16_to_f32(h); }
        else { uint16_t h = exa_f32_to_f16(v); ((uint16_t *)w)[i] = h; wf[i] = exa_f16_to_f32(h); }
    }
}

static void test_dot(void) {
    static const int lens[] = {1, 7, 8, 15, 16, 17, 31, 63, 64, 65, 80, 128, 1000, 4099};
    const exa_dtype types[] = {EXA_DTYPE_F32, EXA_DTYPE_BF16, EXA_DTYPE_F16};
    float *wf = malloc(4099 * 4), *x = malloc(4099 * 4);
    void *w = malloc(4099 * 4);
    exa_cpu_level top = exa_cpu_active();
    for (int lv = 0; lv <= (int)top; lv++)
        for (size_t ti = 0; ti < 3; ti++)
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                int n = lens[li];
                fill(types[ti], w, wf, n);
                for (int i = 0; i < n; i++) x[i] = test_randf();
                double exact = 0, mag = 0;
                for (int i = 0; i < n; i++) { exact += (double)wf[i] * x[i]; mag += fabs((double)wf[i] * x[i]); }
                float ref = exa_dot_get(types[ti], EXA_CPU_SCALAR)(w, x, n);
                float got = exa_dot_get(types[ti], (exa_cpu_level)lv)(w, x, n);
                double tol = 1e-6 * mag + 1e-7;
                CHECK(fabs(ref - exact) <= tol, "ref dot %s n=%d: %g vs exact %g", exa_dtype_name(types[ti]), n, ref, exact);
                CHECK(fabs(got - exact) <= tol, "dot %s level %s n=%d: %g vs exact %g", exa_dtype_name(types[ti]),
                      exa_cpu_level_name((exa_cpu_level)lv), n, got, exact);
            }
    free(wf); free(x); free(w);
}

static void test_matmul_shape(int rows, int cols, int T);
static void test_matmul(void) {
    test_matmul_shape(67, 80, 5);
    test_matmul_shape(37, 83, 9);   /* column tail at every SIMD width, token and row tails */
    test_matmul_shape(64, 256, 16);
    test_matmul_shape(5, 16, 1);
    test_matmul_shape(64, 256, 2);  /* 2 and 3 tokens: padded to the 4-token micro-kernel */
    test_matmul_shape(8, 100, 3);
}

static void test_matmul_shape(int rows, int cols, int T) {
    const exa_dtype types[] = {EXA_DTYPE_F32, EXA_DTYPE_BF16, EXA_DTYPE_F16};
    exa_pool *pool = exa_pool_init(3);
    float *wf = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * T * cols);
    float *y = malloc(sizeof(float) * T * rows), *yr = malloc(sizeof(float) * T * rows);
    void *w = malloc(sizeof(float) * rows * cols);
    for (int ti = 0; ti < 3; ti++) {
        fill(types[ti], w, wf, rows * cols);
        for (int i = 0; i < T * cols; i++) x[i] = test_randf();
        exa_mat m = {types[ti], w, rows, cols, NULL};
        exa_matmul(pool, &m, x, T, y);
        exa_matmul_ref(&m, x, T, yr);
        float md = 0;
        for (int i = 0; i < T * rows; i++) md = fmaxf(md, fabsf(y[i] - yr[i]));
        CHECK(md < 1e-4f, "matmul %s %dx%d T=%d: max diff %g vs reference", exa_dtype_name(types[ti]), rows, cols, T, md);
        /* row conversion helper */
        float row[256];
        exa_row_to_f32(types[ti], w, cols, 3 % rows, row);
        CHECK(!memcmp(row, wf + (3 % rows) * cols, sizeof(float) * (size_t)cols), "row_to_f32 %s", exa_dtype_name(types[ti]));
    }
    exa_pool_free(pool);
    free(wf); free(x); free(y); free(yr); free(w);
}

/* Block-quantized weights through exa_matmul: threaded SIMD (active level) vs the scalar
 * reference (same activation quantization, so nearly equal), and vs an f32 product with the
 * dequantized weights (differs only by the 8-bit activation rounding). Shapes cover row tails of
 * the 16-row block, token tails of the 4-token loop, T = 1 (decode) and several blocks per row. */
static void test_qmatmul_shape(exa_dtype dt, int rows, int cols, int T) {
    exa_pool *pool = exa_pool_init(3);
    const size_t rb = exa_dtype_row_bytes(dt, cols);
    CHECK(rb > 0, "row bytes %s %d", exa_dtype_name(dt), cols);
    float *wf = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * T * cols);
    float *y = malloc(sizeof(float) * T * rows), *yr = malloc(sizeof(float) * T * rows), *yd = malloc(sizeof(float) * T * rows);
    uint8_t *w = malloc(rb * rows);
    for (int i = 0; i < rows * cols; i++) wf[i] = test_randf();
    for (int i = 0; i < T * cols; i++) x[i] = test_randf();
    exa_mat mf = {EXA_DTYPE_F32, wf, rows, cols, NULL};
    exa_mat m = {dt, w, rows, cols, NULL};
    for (int r = 0; r < rows; r++) CHECK(exa_quantize_row(exa_qtype_from_dtype(dt), wf + (size_t)r * cols, w + r * rb, cols) == EXA_OK, "quantize");
    for (int r = 0; r < rows; r++) exa_row_to_f32(dt, w, cols, r, wf + (size_t)r * cols); /* dequantized weights */
    exa_matmul(pool, &m, x, T, y);
    exa_matmul_ref(&m, x, T, yr);
    exa_matmul_ref(&mf, x, T, yd);
    double md = 0, num = 0, den = 0;
    for (int i = 0; i < T * rows; i++) {
        md = fmax(md, fabs(y[i] - yr[i]) / (1.0 + fabs(yr[i])));
        num += (yr[i] - yd[i]) * (double)(yr[i] - yd[i]);
        den += (double)yd[i] * yd[i];
    }
    CHECK(md < 1e-4, "qmatmul %s %dx%d T=%d level %s: max rel diff %g vs reference", exa_dtype_name(dt), rows, cols, T,
          exa_cpu_level_name(exa_cpu_active()), md);
    CHECK(sqrt(num / den) < 0.02, "qmatmul %s %dx%d T=%d: rel error %g vs f32 with dequantized weights", exa_dtype_name(dt), rows,
          cols, T, sqrt(num / den));
    exa_pool_free(pool);
    free(wf); free(x); free(y); free(yr); free(yd); free(w);
}

static void test_qmatmul(void) {
    const exa_dtype types[] = {EXA_DTYPE_Q8_0, EXA_DTYPE_Q4_0, EXA_DTYPE_Q4_K, EXA_DTYPE_Q5_K, EXA_DTYPE_Q6_K};
    for (int ti = 0; ti < 5; ti++) {
        test_qmatmul_shape(types[ti], 67, 512, 9);
        test_qmatmul_shape(types[ti], 37, 256, 5);
        test_qmatmul_shape(types[ti], 16, 768, 1);
        test_qmatmul_shape(types[ti], 5, 256, 4);
    }
    test_qmatmul_shape(EXA_DTYPE_Q8_0, 33, 96, 7);
    test_qmatmul_shape(EXA_DTYPE_Q4_0, 33, 96, 7);
    /* dtype table */
    for (int t = 0; t < EXA_DTYPE_COUNT; t++) {
        exa_dtype back;
        CHECK(exa_dtype_from_ggml((uint32_t)exa_dtype_to_ggml((exa_dtype)t), &back) && back == (exa_dtype)t, "ggml id round trip %d", t);
        CHECK(exa_dtype_from_name(exa_dtype_name((exa_dtype)t), &back) && back == (exa_dtype)t, "name round trip %d", t);
    }
    CHECK(exa_dtype_row_bytes(EXA_DTYPE_Q4_K, 512) == 288 && exa_dtype_row_bytes(EXA_DTYPE_Q4_K, 500) == 0, "q4_K row bytes");
    CHECK(exa_dtype_row_bytes(EXA_DTYPE_Q8_0, 64) == 68 && exa_dtype_row_bytes(EXA_DTYPE_BF16, 3) == 6, "row bytes");
}

/* exa_matmul_n: matrices of different formats (Q/K/V of a Q4_K_M model are q4_K, q4_K, q6_K;
 * bf16 and q8_0 mixed in) sharing one input, in one pool pass: each output equals the scalar
 * reference of its own matrix. Uneven row counts put thread boundaries inside matrices. */
static void test_matmul_n(void) {
    const exa_dtype dts[4] = {EXA_DTYPE_Q4_K, EXA_DTYPE_BF16, EXA_DTYPE_Q6_K, EXA_DTYPE_Q8_0};
    const int rows[4] = {53, 21, 7, 40}, cols = 512, Ts[] = {1, 3, 6};
    exa_pool *pool = exa_pool_init(3);
    void *w[4];
    exa_mat m[4];
    const exa_mat *mp[4];
    float *x = malloc(sizeof(float) * 6 * cols), *y[4], *yr = malloc(sizeof(float) * 6 * 53);
    float *wf = malloc(sizeof(float) * 53 * cols);
    for (int i = 0; i < 4; i++) {
        const size_t rb = exa_dtype_row_bytes(dts[i], cols);
        w[i] = malloc(rb * (size_t)rows[i]);
        for (int k = 0; k < rows[i] * cols; k++) wf[k] = test_randf();
        if (dts[i] == EXA_DTYPE_BF16) fill(EXA_DTYPE_BF16, w[i], wf, rows[i] * cols);
        else
            for (int r = 0; r < rows[i]; r++) exa_quantize_row(exa_qtype_from_dtype(dts[i]), wf + (size_t)r * cols, (uint8_t *)w[i] + r * rb, cols);
        m[i] = (exa_mat){dts[i], w[i], rows[i], cols, NULL};
        mp[i] = &m[i];
        y[i] = malloc(sizeof(float) * 6 * (size_t)rows[i]);
    }
    for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
        const int T = Ts[ti];
        for (int i = 0; i < T * cols; i++) x[i] = test_randf();
        for (int n = 1; n <= 4; n++) {
            exa_matmul_n(pool, n, mp, x, T, y);
            for (int i = 0; i < n; i++) {
                exa_matmul_ref(&m[i], x, T, yr);
                double md = 0;
                for (int k = 0; k < T * rows[i]; k++) md = fmax(md, fabs(y[i][k] - yr[k]) / (1.0 + fabs(yr[k])));
                CHECK(md < 1e-4, "matmul_n n=%d T=%d: matrix %d (%s) max rel diff %g vs its reference", n, T, i, exa_dtype_name(dts[i]), md);
            }
        }
    }
    /* mismatched input widths: NaN, never garbage */
    exa_mat bad = {EXA_DTYPE_F32, wf, 2, 256, NULL};
    const exa_mat *bp[2] = {&m[0], &bad};
    exa_matmul_n(pool, 2, bp, x, 1, y);
    CHECK(isnan(y[0][0]) && isnan(y[1][1]), "matmul_n with different cols gives NaN");
    for (int i = 0; i < 4; i++) { free(w[i]); free(y[i]); }
    free(x); free(yr); free(wf);
    exa_pool_free(pool);
}

/* Threads split a product into ~128 KiB chunks of whole 16-row blocks: each takes its own share
 * from the front and then steals from the backs of the others' (kernels/ops.c). The outputs must
 * not depend on how that went: bit for bit the same with 1, 2, 3, 5 and 12 threads (12 > 8: the
 * shares live on the heap), for matrices of many chunks in the row-interleaved (x16, where this
 * CPU runs it), ggml-row and bf16 (4-token gemm) paths, decode and prompt token counts. */
static void test_matmul_threads(void) {
    const exa_dtype dts[3] = {EXA_DTYPE_Q4_K, EXA_DTYPE_Q8_0, EXA_DTYPE_BF16};
    const int rows[3] = {1000, 700, 301}, cols = 4096, Ts[] = {1, 3, 8};
    void *w[3], *pk[3] = {NULL, NULL, NULL};
    exa_mat m[3];
    const exa_mat *mp[3];
    float *x = malloc(sizeof(float) * 8 * cols), *y0[3], *y1[3], *wf = malloc(sizeof(float) * cols);
    for (int i = 0; i < 3; i++) {
        const size_t rb = exa_dtype_row_bytes(dts[i], cols);
        w[i] = malloc(rb * (size_t)rows[i]);
        for (int r = 0; r < rows[i]; r++) {
            for (int k = 0; k < cols; k++) wf[k] = test_randf();
            if (dts[i] == EXA_DTYPE_BF16) fill(EXA_DTYPE_BF16, (uint8_t *)w[i] + r * rb, wf, cols);
            else exa_quantize_row(exa_qtype_from_dtype(dts[i]), wf, (uint8_t *)w[i] + r * rb, cols);
        }
        m[i] = (exa_mat){dts[i], w[i], rows[i], cols, NULL};
        if (exa_dtype_is_quant(dts[i])) {
            const exa_qtype qt = exa_qtype_from_dtype(dts[i]);
            const size_t pb = exa_qx16_bytes(qt, rows[i], cols);
            if (pb && (pk[i] = exa_aligned_alloc(pb)) && exa_qx16_pack(qt, w[i], rows[i], cols, pk[i]) == EXA_OK) m[i].packed = pk[i];
        }
        mp[i] = &m[i];
        y0[i] = malloc(sizeof(float) * 8 * (size_t)rows[i]);
        y1[i] = malloc(sizeof(float) * 8 * (size_t)rows[i]);
    }
    for (int i = 0; i < 8 * cols; i++) x[i] = test_randf();
    const int nts[] = {2, 3, 5, 12};
    exa_pool *one = exa_pool_init(1);
    for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
        exa_matmul_n(one, 3, mp, x, Ts[ti], y0);
        for (size_t k = 0; k < sizeof nts / sizeof nts[0]; k++) {
            exa_pool *pool = exa_pool_init(nts[k]);
            for (int rep = 0; rep < 3; rep++) {
                for (int i = 0; i < 3; i++) memset(y1[i], 0xFF, sizeof(float) * (size_t)Ts[ti] * (size_t)rows[i]);
                exa_matmul_n(pool, 3, mp, x, Ts[ti], y1);
                for (int i = 0; i < 3; i++)
                    CHECK(!memcmp(y0[i], y1[i], sizeof(float) * (size_t)Ts[ti] * (size_t)rows[i]),
                          "matmul_n T=%d, %d threads (rep %d): matrix %d (%s%s) differs from one thread", Ts[ti], nts[k], rep, i,
                          exa_dtype_name(dts[i]), m[i].packed ? ", x16" : "");
            }
            exa_pool_free(pool);
        }
    }
    exa_pool_free(one);
    for (int i = 0; i < 3; i++) { free(w[i]); free(pk[i]); free(y0[i]); free(y1[i]); }
    free(x); free(wf);
}

static void test_conversions(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) { /* every f16 survives f16 -> f32 -> f16 */
        float f = exa_f16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        if (exa_f32_to_f16(f) != h) bad++;
    }
    CHECK(bad == 0, "%d f16 values do not round-trip", bad);
    CHECK(exa_f16_to_f32(0x3c00) == 1.0f && exa_f16_to_f32(0xc000) == -2.0f && exa_f16_to_f32(0x0001) == 0x1p-24f, "f16 decode");
    CHECK(exa_f32_to_f16(65520.0f) == 0x7c00, "f16 overflow rounds to inf");
    CHECK(exa_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00, "f16 ties to even");
    CHECK(exa_f32_to_bf16(1.0f) == 0x3f80 && exa_bf16_to_f32(0x3f80) == 1.0f, "bf16 one");
    CHECK(exa_f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80, "bf16 ties to even (down)");
    CHECK(exa_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-9f) == 0x3f81, "bf16 rounds up");
}

static void test_elementwise(void) {
    float x[80], w[80], y[80];
    double ss = 0;
    for (int i = 0; i < 80; i++) { x[i] = test_randf() * 3; w[i] = 1 + test_randf() * 0.1f; ss += (double)x[i] * x[i]; }
    exa_rmsnorm(y, x, w, 80, 1e-5f);
    double r = 1.0 / sqrt(ss / 80 + 1e-5), md = 0;
    for (int i = 0; i < 80; i++) md = fmax(md, fabs(y[i] - w[i] * x[i] * r));
    CHECK(md < 1e-5, "rmsnorm max diff %g", md);
    float s[5] = {1, 2, 3, -1000, 4};
    exa_softmax(s, 5);
    double tot = 0, e4 = exp(4.0), z = exp(1.0) + exp(2.0) + exp(3.0) + e4;
    for (int i = 0; i < 5; i++) tot += s[i];
    CHECK(fabs(tot - 1) < 1e-6 && fabs(s[4] - e4 / z) < 1e-6 && s[3] == 0.0f, "softmax");
    /* rotate-half RoPE: out[i] = x1 cos - x2 sin, out[i+h] = x2 cos + x1 sin */
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, c[4] = {1, 0, 0.5f, -1}, sn[4] = {0, 1, 0.5f, 0};
    exa_rope_neox(v, c, sn, 8);
    const float want[8] = {1, -6, -2, -4, 5, 2, 5, -8};
    CHECK(!memcmp(v, want, sizeof want), "rope neox layout");
    float g[3] = {0, 1, -2}, u[3] = {5, 2, 1}, o[3];
    exa_silu_mul(o, g, u, 3);
    CHECK(o[0] == 0 && fabsf(o[1] - 2 * 0.7310586f) < 1e-6 && fabsf(o[2] + 2 * 0.1192029f) < 1e-6, "silu_mul");

    /* the dispatched kernels (this level: the test also runs with EXA_CPU=avx2 / scalar) against
     * their scalar references, every length 1..300 (tails past the vector width), values up to
     * ±120 (the exp clamp), a NaN that must come through */
    static float gx[300], gu[300], o1[300], o2[300], gw[300];
    double silu_err = 0, norm_err = 0;
    int nan_ok = 1;
    for (int n = 1; n <= 300; n++) {
        const float mag = n % 3 == 0 ? 120.0f : n % 3 == 1 ? 8.0f : 0.5f;
        for (int i = 0; i < n; i++) { gx[i] = test_randf() * mag; gu[i] = test_randf() * 2; gw[i] = 1 + test_randf() * 0.2f; }
        if (n % 50 == 0) gx[n / 2] = NAN;
        exa_silu_mul(o1, gx, gu, n);
        exa_silu_mul_ref(o2, gx, gu, n);
        for (int i = 0; i < n; i++) {
            if (gx[i] != gx[i]) { nan_ok &= o1[i] != o1[i]; continue; }
            silu_err = fmax(silu_err, fabs((double)o1[i] - o2[i]) / (fabs((double)o2[i]) + 1e-30 + 1e-6 * fabs((double)gu[i])));
        }
        if (n % 50 == 0) gx[n / 2] = 1.0f;
        exa_rmsnorm(o1, gx, gw, n, 1e-6f);
        exa_rmsnorm_ref(o2, gx, gw, n, 1e-6f);
        for (int i = 0; i < n; i++) norm_err = fmax(norm_err, fabs((double)o1[i] - o2[i]) / (fabs((double)o2[i]) + 1e-6));
    }
    CHECK(silu_err < 2e-6, "silu_mul vs reference, max relative error %g", silu_err);
    CHECK(nan_ok, "silu_mul passes NaN through");
    CHECK(norm_err < 2e-6, "rmsnorm vs reference, max relative error %g", norm_err);
}

typedef struct { int n; long long *sums; } pool_job;
static void pool_fn(void *arg, int ith, int nth) {
    pool_job *j = arg;
    int b, e;
    exa_split(j->n, ith, nth, &b, &e);
    long long s = 0;
    for (int i = b; i < e; i++) s += i;
    j->sums[ith] = s;
}

static void test_pool(void) {
    for (int nt = 1; nt <= 4; nt++) {
        exa_pool *p = exa_pool_init(nt);
        long long sums[8] = {0};
        pool_job j = {100001, sums};
        int ok = 1;
        for (int rep = 0; rep < 200; rep++) {
            memset(sums, 0, sizeof sums);
            exa_pool_run(p, pool_fn, &j);
            long long t = 0;
            for (int i = 0; i < nt; i++) t += sums[i];
            ok &= t == 100001LL * 100000 / 2;
        }
        CHECK(ok, "thread pool with %d threads", nt);
        exa_pool_free(p);
    }
    exa_pool_free(NULL);
}

static void test_buf(void) {
    exa_buf b = {0};
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= exa_buf_printf(&b, "%d,", i) == 0;
    CHECK(ok && !b.oom && b.n == strlen(b.s) && !strncmp(b.s, "0,1,2,", 6) && !strcmp(b.s + b.n - 4, "999,"), "exa_buf_printf growth");
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    size_t before = b.n;
    CHECK(exa_buf_printf(&b, "[%s]", big) == 0 && b.n == before + 5001 && b.s[b.n] == 0 && b.s[b.n - 1] == ']', "long printf");
    CHECK(exa_buf_add(&b, "ab\0c", 4) == 0 && b.n == before + 5005 && b.s[b.n - 2] == 0, "binary add keeps length");
    exa_buf_free(&b);
    exa_buf_free(&b);
    CHECK(b.s == NULL && b.n == 0, "free twice");
}

/* bf16 weights through AMX-BF16 tiles on the software tile unit (kernels/amx_emu.h; any CPU with
 * AVX-512 VNNI) against the f32 reference dot product: rows with partial groups, T with one and
 * two token chunks, columns 32..512; the three-part split keeps f32 precision (tolerance: f32
 * rounding of the sum, not bf16's), and a NaN or inf activation reaches the output. */
static void test_bf16_amx(void) {
    if (!exa_quant_has_vnni() || exa_cpu_active() < EXA_CPU_AVX512) {
        printf("bf16 AMX (emulated): skipped (no AVX-512 VNNI)\n");
        return;
    }
    static const int shapes[][3] = {{16, 32, 1}, {20, 64, 4}, {17, 256, 16}, {40, 512, 17}, {3, 96, 33}, {33, 128, 9}};
    double worst = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int rows = shapes[si][0], cols = shapes[si][1], T = shapes[si][2];
        uint16_t *w = malloc(sizeof(uint16_t) * (size_t)rows * (size_t)cols), *xs = malloc(exa_bf16_amx_act_bytes(T, cols));
        float *wf = malloc(sizeof(float) * (size_t)rows * (size_t)cols), *x = malloc(sizeof(float) * (size_t)T * (size_t)cols);
        float *y = malloc(sizeof(float) * (size_t)T * (size_t)(rows + 3));
        fill(EXA_DTYPE_BF16, w, wf, rows * cols);
        for (int i = 0; i < T * cols; i++) x[i] = test_randf() * (i % 7 == 0 ? 1000.f : 1.f);
        if (T > 2) x[cols + 5] = NAN, x[2 * cols + 7] = INFINITY;
        exa_bf16_amx_split(x, T, cols, xs, (size_t)T * (size_t)cols);
        const size_t ldy = (size_t)rows + 3;
        for (size_t i = 0; i < ldy * (size_t)T; i++) y[i] = 12345.f;
        const int r0 = rows > 16 ? 1 : 0; /* a group start that is not a multiple of 16 */
        CHECK(exa_bf16_amx_matmul(w, cols, r0, rows, xs, T, y, ldy, 1), "bf16 amx ran");
        for (int t = 0; t < T; t++)
            for (size_t r = 0; r < ldy; r++) {
                const float got = y[(size_t)t * ldy + r];
                if ((int)r < r0 || (int)r >= rows) { CHECK(got == 12345.f, "bf16 amx wrote row %zu", r); continue; }
                const float ref = exa_dot_bf16_ref(w + r * (size_t)cols, x + (size_t)t * (size_t)cols, cols);
                if (!isfinite(ref)) { CHECK(!isfinite(got), "bf16 amx: non-finite activation lost (t %d)", t); continue; }
                double s = 0;
                for (int k = 0; k < cols; k++) s += fabs((double)wf[r * (size_t)cols + (size_t)k] * x[(size_t)t * (size_t)cols + (size_t)k]);
                const double err = fabs((double)got - ref) / (s + 1e-30);
                if (err > worst) worst = err;
                CHECK(err <= 1e-6 * (1 + cols / 256.0), "bf16 amx %dx%d T=%d y[%d][%zu] = %g, reference %g", rows, cols, T, t, r, got, ref);
            }
        free(w), free(xs), free(wf), free(x), free(y);
    }
    printf("bf16 AMX (emulated): worst |y - ref| / sum|w x| = %.2e\n", worst);
}

int main(void) {
    printf("CPU level: detected %s, active %s\n", exa_cpu_level_name(exa_cpu_detect()), exa_cpu_level_name(exa_cpu_active()));
    printf("AMX: int8 %s; bf16 %s\n", exa_qx16_amx_state(), exa_bf16_amx_state());
    test_bf16_amx();
    test_conversions();
    test_dot();
    test_matmul();
    test_qmatmul();
    test_matmul_n();
    test_matmul_threads();
    test_elementwise();
    test_pool();
    test_buf();
    return TEST_END();
}
