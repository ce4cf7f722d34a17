/* test_qx16.c — the row-interleaved k-quant kernels (src/kernels/quant_x16.c):
 *  - packed layout sizes, the byte overhead vs ggml, zero padding of the last row group,
 *    exa_qx16_pack_groups over pieces == exa_qx16_pack,
 *  - exa_qx16_matmul (AVX-512 VNNI when the CPU runs it) and exa_qx16_matmul_scalar against the
 *    SCALAR REFERENCE one-row dot exa_qdot_get(t, EXA_CPU_SCALAR) for rows 16, 17, 48, 100,
 *    cols 256..4096, T = 1..9 (and 16), on quantized gaussian data and on raw random blocks
 *    (extreme codes, scales and activations). The tolerance is ZERO: the integer sums are exact
 *    (ranges in quant_x16.c) and the per-super-block float operations are the reference's in its
 *    order, so every value must be bit-identical,
 *  - group sub-ranges, ldy / act_stride larger than needed, nothing written outside the rows asked.
 * EXA_CPU=scalar|avx2 (registered as test_qx16_cpu_avx2): exa_qx16_bytes reports 0 and
 * exa_qx16_matmul falls back to the scalar reference. Without AVX-512 VNNI the SIMD checks are
 * skipped with a message; the scalar reference over the layout is always checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "kernels/amx_emu.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quant_x16.h"
#define TEST_MAX_REPORTS 19
#include "test_util.h"


/* a finite f16 with magnitude in [2^-10, 2^2) and a random sign */
static uint16_t rand_f16(void) { return exa_f32_to_f16((test_urand() * 3.f + 0.001f) * (test_rng64() & 1 ? -1.f : 1.f)); }

static const exa_qtype types[] = {EXA_QTYPE_Q4_K, EXA_QTYPE_Q6_K, EXA_QTYPE_Q8_0};

/* rows × cols weights of type t: quantized gaussians (raw = 0) or random block bytes with finite
 * super-block scales (raw = 1) */
static uint8_t *make_weights(exa_qtype t, int64_t rows, int64_t cols, int raw) {
    const size_t rb = exa_qtype_row_bytes(t, cols);
    uint8_t *W = malloc(rb * (size_t)rows);
    float *x = malloc(sizeof(float) * (size_t)cols);
    if (!W || !x) abort();
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *row = W + (size_t)r * rb;
        if (!raw) {
            const float s = 0.02f + 0.1f * test_urand();
            for (int64_t k = 0; k < cols; k++) x[k] = s * test_gauss();
            if (exa_quantize_row(t, x, row, cols) != EXA_OK) abort();
            continue;
        }
        for (size_t b = 0; b < rb; b++) row[b] = (uint8_t)test_rng64();
        for (int64_t i = 0; i < cols / (int64_t)exa_qtype_block_elems(t); i++) {
            uint16_t h = rand_f16();
            if (t == EXA_QTYPE_Q8_0) {
                memcpy(row + (size_t)i * sizeof(exa_block_q8_0), &h, 2);
            } else if (t == EXA_QTYPE_Q4_K) {
                exa_block_q4_K *blk = (exa_block_q4_K *)(void *)(row + (size_t)i * sizeof *blk);
                memcpy(&blk->d, &h, 2);
                h = rand_f16();
                memcpy(&blk->dmin, &h, 2);
            } else {
                exa_block_q6_K *blk = (exa_block_q6_K *)(void *)(row + (size_t)i * sizeof *blk);
                memcpy(&blk->d, &h, 2);
            }
        }
    }
    free(x);
    return W;
}

/* T activation rows (exa_qtype_act(t): Q8_K or Q8_0) at act_stride bytes: quantized gaussians, or
 * (raw) random qs over the whole int8 range including -128 (Q8_K: with consistent bsums) */
static uint8_t *make_act(exa_qtype t, int64_t cols, int T, size_t stride, int raw) {
    uint8_t *a = calloc((size_t)T, stride);
    float *x = malloc(sizeof(float) * (size_t)cols);
    if (!a || !x) abort();
    for (int tok = 0; tok < T; tok++) {
        exa_block_q8_K *blk = (exa_block_q8_K *)(void *)(a + (size_t)tok * stride);
        if (!raw) {
            for (int64_t k = 0; k < cols; k++) x[k] = test_gauss();
            if (exa_quantize_act(t, x, blk, cols) != EXA_OK) abort();
            continue;
        }
        if (t == EXA_QTYPE_Q8_0) {
            for (int64_t i = 0; i < cols / EXA_QK; i++) {
                exa_block_q8_0 *b = (exa_block_q8_0 *)(void *)(a + (size_t)tok * stride + (size_t)i * sizeof *b);
                b->d = exa_f32_to_f16(0.001f + test_urand() * 0.05f);
                for (int k = 0; k < EXA_QK; k++) b->qs[k] = (int8_t)(test_rng64() % 4 == 0 ? -128 : (int)(test_rng64() & 0xFF) - 128);
            }
            continue;
        }
        for (int64_t i = 0; i < cols / EXA_QK_K; i++) {
            blk[i].d = 0.001f + test_urand() * 0.05f;
            for (int k = 0; k < EXA_QK_K; k++) blk[i].qs[k] = (int8_t)(test_rng64() % 4 == 0 ? -128 : (int)(test_rng64() & 0xFF) - 128);
            for (int j = 0; j < 16; j++) {
                int s = 0;
                for (int k = 0; k < 16; k++) s += blk[i].qs[16 * j + k];
                blk[i].bsums[j] = (int16_t)s;
            }
        }
    }
    free(x);
    return a;
}

#define SENTINEL 12345.f

/* one shape: pack, then both kernels against the scalar one-row reference, bit for bit */
static void check_shape(exa_qtype t, int64_t rows, int64_t cols, int T, int raw, int simd) {
    const size_t rb = exa_qtype_row_bytes(t, cols), ab = exa_qtype_row_bytes(exa_qtype_act(t), cols);
    const size_t stride = ab + (T % 2 ? 0 : 64); /* sometimes padded rows */
    const size_t ldy = (size_t)rows + (size_t)(T % 3); /* sometimes padded */
    const size_t pb = exa_qx16_layout_bytes(t, rows, cols);
    CHECK(pb > 0, "layout bytes %s %lldx%lld", exa_qtype_name(t), (long long)rows, (long long)cols);
    if (!pb) return;
    uint8_t *W = make_weights(t, rows, cols, raw), *act = make_act(t, cols, T, stride, raw);
    uint8_t *P = aligned_alloc(64, (pb + 63) / 64 * 64);
    float *ref = malloc(sizeof(float) * ldy * (size_t)T), *y = malloc(sizeof(float) * ldy * (size_t)T);
    if (!P || !ref || !y) abort();
    CHECK(exa_qx16_pack(t, W, rows, cols, P) == EXA_OK, "pack");
    exa_qdot_fn dot = exa_qdot_get(t, EXA_CPU_SCALAR);
    for (int tok = 0; tok < T; tok++)
        for (int64_t r = 0; r < rows; r++)
            ref[(size_t)tok * ldy + (size_t)r] = dot(cols, W + (size_t)r * rb, act + (size_t)tok * stride);
    const int64_t groups = (rows + 15) / 16;
    static const char *const pass_name[3] = {"scalar", "simd", "amx-emu"};
    for (int pass = 0; pass < 3; pass++) {
        if (pass >= 1 && !simd) break;
        for (size_t k = 0; k < ldy * (size_t)T; k++) y[k] = SENTINEL;
        if (pass == 0) exa_qx16_matmul_scalar(t, P, rows, cols, 0, groups, act, stride, T, y, ldy);
        else if (pass == 1) exa_qx16_matmul(t, P, rows, cols, 0, groups + 3, act, stride, T, y, ldy); /* g1 past the end: clamped */
        else exa_qx16_matmul_amx_emu(t, P, rows, cols, 0, groups + 3, act, stride, T, y, ldy);
        int bad = 0;
        for (int tok = 0; tok < T && bad < 3; tok++) {
            for (int64_t r = 0; r < rows && bad < 3; r++) {
                const float a = y[(size_t)tok * ldy + (size_t)r], b = ref[(size_t)tok * ldy + (size_t)r];
                if (memcmp(&a, &b, sizeof a)) {
                    bad++;
                    CHECK(0, "%s %s rows %lld cols %lld T %d raw %d: y[%d][%lld] = %.9g, reference %.9g",
                          pass_name[pass], exa_qtype_name(t), (long long)rows, (long long)cols, T, raw, tok,
                          (long long)r, a, b);
                }
            }
            for (size_t r = (size_t)rows; r < ldy; r++)
                CHECK(y[(size_t)tok * ldy + r] == SENTINEL, "write past rows (ldy padding) token %d", tok);
        }
    }
    /* a middle group range writes exactly its rows */
    for (int pass = 1; pass < 3 && simd && groups >= 3; pass++) {
        for (size_t k = 0; k < ldy * (size_t)T; k++) y[k] = SENTINEL;
        if (pass == 1) exa_qx16_matmul(t, P, rows, cols, 1, 2, act, stride, T, y, ldy);
        else exa_qx16_matmul_amx_emu(t, P, rows, cols, 1, 2, act, stride, T, y, ldy);
        for (int tok = 0; tok < T; tok++)
            for (size_t r = 0; r < ldy; r++) {
                const float v = y[(size_t)tok * ldy + r];
                if (r >= 16 && r < 32) CHECK(v == ref[(size_t)tok * ldy + r], "%s group range value row %zu", pass_name[pass], r);
                else CHECK(v == SENTINEL, "%s group range wrote row %zu", pass_name[pass], r);
            }
    }
    free(W), free(act), free(P), free(ref), free(y);
}

/* sizes, overhead vs ggml, padding, piecewise packing */
static void test_layout(void) {
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_qtype t = types[k];
        const size_t x = exa_qx16_layout_bytes(t, 16, 4096), g = exa_qtype_row_bytes(t, 4096) * 16;
        printf("%s: x16 %zu bytes per 16x4096 vs ggml %zu (+%.2f %%)\n", exa_qtype_name(t), x, g,
               100.0 * ((double)x / (double)g - 1));
        CHECK(x >= g && x <= g + g / 20, "%s overhead", exa_qtype_name(t));
        CHECK(exa_qx16_layout_bytes(t, 17, 256) == 2 * exa_qx16_layout_bytes(t, 16, 256), "17 rows = 2 groups");
        CHECK(exa_qx16_layout_bytes(t, 16, 255) == 0 && exa_qx16_layout_bytes(t, 16, 96) == 0 && exa_qx16_layout_bytes(t, 0, 256) == 0 &&
                  exa_qx16_layout_bytes(t, 16, 0) == 0 && exa_qx16_layout_bytes(t, INT64_MAX / 2, INT64_MAX / 2) == 0,
              "invalid shapes");
        CHECK(exa_qx16_layout_bytes(t, 16, 256) % 64 == 0, "GSB multiple of 64");
        /* 17 rows: group 1 holds one real row and 15 zero rows -> every byte of row 1..15 is 0 */
        uint8_t *W = make_weights(t, 17, 512, 1);
        const size_t pb = exa_qx16_layout_bytes(t, 17, 512);
        uint8_t *P = malloc(pb), *Q = malloc(pb);
        if (!P || !Q) abort();
        memset(P, 0xAA, pb);
        memset(Q, 0x55, pb);
        CHECK(exa_qx16_pack(t, W, 17, 512, P) == EXA_OK, "pack 17");
        CHECK(exa_qx16_pack_groups(t, W, 17, 512, 1, 2, Q) == EXA_OK && exa_qx16_pack_groups(t, W, 17, 512, 0, 1, Q) == EXA_OK,
              "pack groups");
        CHECK(!memcmp(P, Q, pb), "pack_groups pieces == pack");
        CHECK(exa_qx16_pack_groups(t, W, 17, 512, 0, 3, Q) == EXA_ERR_INVALID_ARG, "pack_groups past the end");
        /* row r's share of a GSB's code area (after the header of scales/mins/d: 320 bytes for the
         * k-quants, 64 for Q8_0): bytes whose offset within their 64-byte line is 4r..4r+3 */
        const size_t gsb = exa_qx16_layout_bytes(t, 16, t == EXA_QTYPE_Q8_0 ? 64 : 256);
        int nz = 0;
        for (size_t gi = 0; gi < pb / 2 / gsb; gi++) {
            const uint8_t *B = P + pb / 2 + gi * gsb;
            for (size_t o = t == EXA_QTYPE_Q8_0 ? 64 : 320; o < gsb; o++) /* code area: 64-byte lines, byte 4r+b = row r */
                if ((o % 64) / 4 != 0 && B[o] != (t == EXA_QTYPE_Q8_0 ? 0x80 : 0)) nz++; /* Q8_0 codes are w + 128 */
        }
        CHECK(nz == 0, "%s pad rows have %d nonzero code bytes", exa_qtype_name(t), nz);
        CHECK(exa_qx16_pack(t, W, 17, 500, P) == EXA_ERR_INVALID_ARG, "pack bad cols");
        free(W), free(P), free(Q);
    }
    CHECK(exa_qx16_layout_bytes(EXA_QTYPE_Q4_0, 16, 256) == 0 && exa_qx16_layout_bytes(EXA_QTYPE_Q5_K, 16, 256) == 0 &&
              exa_qx16_layout_bytes(EXA_QTYPE_Q8_0, 16, 320) != 0,
          "unsupported formats");
}

/* The software tile unit against a plain triple loop, and its fault checks (a kernel bug such as
 * a K that does not match B's rows must show as a fault, not as silently wrong numbers). */
static void test_amx_emu(void) {
    const long f0 = exa_amx_emu_faults();
    for (int M = 1; M <= 16; M += 5)
        for (int K = 4; K <= 64; K += 12) {
            uint8_t cfg[64] = {1};
            const int colsb[3] = {64, K, 64}, rws[3] = {M, M, K / 4};
            for (int i = 0; i < 3; i++) cfg[16 + 2 * i] = (uint8_t)colsb[i], cfg[48 + i] = (uint8_t)rws[i];
            int8_t A[16][80];
            uint8_t B[16][64];
            int32_t C[16][16], R[16][16];
            for (int m = 0; m < 16; m++)
                for (int k = 0; k < 80; k++) A[m][k] = (int8_t)test_rng64();
            for (int q = 0; q < 16; q++)
                for (int b = 0; b < 64; b++) B[q][b] = (uint8_t)test_rng64();
            for (int m = 0; m < 16; m++)
                for (int n = 0; n < 16; n++) C[m][n] = R[m][n] = (int32_t)(test_rng64() % 1000) - 500;
            for (int m = 0; m < M; m++)
                for (int n = 0; n < 16; n++)
                    for (int k = 0; k < K; k++) R[m][n] += A[m][k] * B[k / 4][4 * n + k % 4];
            exa_amx_emu_loadconfig(cfg);
            exa_amx_emu_loadd(0, C, sizeof C[0]); /* C as the accumulator's start */
            exa_amx_emu_loadd(1, A, sizeof A[0]); /* stride 80 > K: rows read at the stride */
            exa_amx_emu_loadd(2, B, sizeof B[0]);
            exa_amx_emu_dpbsud(0, 1, 2);
            int32_t out[16][16];
            memset(out, 0x55, sizeof out);
            exa_amx_emu_stored(0, out, sizeof out[0]);
            int bad = 0;
            for (int m = 0; m < 16; m++)
                for (int n = 0; n < 16; n++) bad += m < M ? out[m][n] != R[m][n] : out[m][n] != 0x55555555;
            CHECK(!bad, "amx emu M %d K %d: %d wrong values", M, K, bad);
            exa_amx_emu_release();
        }
    CHECK(exa_amx_emu_faults() == f0, "amx emu faulted on valid use");
    uint8_t cfg[64] = {1};
    cfg[16] = 64, cfg[48] = 16, cfg[18] = 32, cfg[49] = 16, cfg[20] = 64, cfg[50] = 4; /* K = 32 but B has 4 rows */
    exa_amx_emu_loadconfig(cfg);
    exa_amx_emu_dpbsud(0, 1, 2);
    CHECK(exa_amx_emu_faults() == f0 + 1, "amx emu: K != 4 x rows(B) is a fault");
    exa_amx_emu_release();
    exa_amx_emu_zero(0);
    CHECK(exa_amx_emu_faults() == f0 + 2, "amx emu: use after release is a fault");
    cfg[16] = 65; /* 65 bytes per row */
    exa_amx_emu_loadconfig(cfg);
    CHECK(exa_amx_emu_faults() == f0 + 3, "amx emu: colsb > 64 is a fault");
    exa_amx_emu_release();
}

int main(void) {
    test_rng64_s = 0x9E3779B97F4A7C15ull; /* this file's data stream, as before */
    const int simd = exa_qx16_bytes(EXA_QTYPE_Q4_K, 16, 256) != 0;
    if (exa_cpu_active() != EXA_CPU_AVX512 || !exa_quant_has_vnni()) {
        CHECK(!simd, "exa_qx16_bytes must be 0 below AVX-512 VNNI");
        printf("skip: no AVX-512 VNNI at the active CPU level (%s): SIMD kernel not checked, scalar reference "
               "over the packed layout is\n",
               exa_cpu_level_name(exa_cpu_active()));
    } else {
        CHECK(simd, "exa_qx16_bytes is 0 on an AVX-512 VNNI CPU");
    }
    test_layout();
    static const int64_t rows_list[] = {16, 17, 48, 100};
    static const int64_t cols_list[] = {256, 512, 1280, 4096};
    int cases = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        for (size_t ri = 0; ri < 4; ri++)
            for (size_t ci = 0; ci < 4; ci++)
                for (int T = 1; T <= 9; T++) {
                    /* the biggest shapes on a subset of T (keeps the ASan run short) */
                    if (cols_list[ci] == 4096 && rows_list[ri] >= 48 && T % 4 != 1) continue;
                    check_shape(types[k], rows_list[ri], cols_list[ci], T, (int)((ri + ci + (size_t)T) % 2), simd);
                    cases++;
                }
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        check_shape(types[k], 33, 768, 16, 0, simd); /* two full chunks of 8 tokens */
        check_shape(types[k], 40, 512, 13, 1, simd); /* 7 + 6 */
        cases += 2;
    }
    {
        check_shape(EXA_QTYPE_Q8_0, 20, 320, 5, 1, simd); /* Q8_0: 64-column GSBs, cols not a multiple of 256 */
        /* a table too big for the stack (T × cols/32 × 2 > 4096 int32): the heap path */
        check_shape(EXA_QTYPE_Q8_0, 17, 4096, 17, 0, simd);
        cases += 2;
    }
    for (size_t k = 0; k < sizeof types / sizeof types[0] && simd; k++) { /* AMX chunks: 16, 9 + 8, 11 × 3 */
        check_shape(types[k], 33, 512, 16, 1, simd);
        check_shape(types[k], 20, 256, 17, 0, simd);
        check_shape(types[k], 17, 768, 33, 1, simd);
        cases += 3;
    }
    const long faults = exa_amx_emu_faults();
    test_amx_emu();
    CHECK(faults == 0, "the AMX kernels faulted %ld times on the software tile unit", faults);
    printf("AMX on this machine: %s\n", exa_qx16_amx_state());
    printf("%d shapes checked (%s), %d failures\n", cases, simd ? "avx512 vnni + amx (emulated) + scalar" : "scalar", test_fail);
    return test_fail ? 1 : 0;
}
