/* quant_x16.c — the row-interleaved (x16) Q4_K / Q6_K / Q8_0 matrix kernels of
 * kernels/quant_x16.h: packing from ggml's row layout, the scalar reference over the packed layout,
 * and the AVX-512 VNNI kernel (compiled with __attribute__((target)), selected at run time).
 *
 * Integer ranges (activations a in [-128, 127]; Q8_K bsums |.| <= 16·128 = 2048):
 *  Q4_K  codes q in [0, 15]. vpdpbusd lane: 4 products, |.| <= 4·15·128 = 7680; the 8 of a
 *        32-weight sub-block: |p_j| <= 61440. sc, m in [0, 63]: |Σ_j sc_j·p_j| <= 8·63·61440 =
 *        31.0e6; mins: S_j = bsums[2j] + bsums[2j+1], |S_j| <= 4096 (fits the int16 of vpdpwssd),
 *        |Σ_j m_j·S_j| <= 8·63·4096 = 2.1e6. All far inside int32, so the sums are exact and equal
 *        the reference's `sumi` and `summ`.
 *  Q6_K  codes q in [0, 63], value q - 32. Per 16-weight group the accumulator starts at
 *        -32·bsum_g and adds 4 vpdpbusd: p_g = Σ (q-32)·a, |p_g| <= 16·32·128 = 65536 (partial sums
 *        stay within 16·63·128 + 32·2048 < 2^18); sc in [-128, 127]: |Σ_g sc_g·p_g| <= 16·128·65536
 *        = 134e6 < 2^31. Equals the reference's `sumi`.
 *  Q8_0  codes w + 128 in [0, 255]; the accumulator starts at -128·Σa (|.| <= 128·32·128 = 524288)
 *        and adds 8 vpdpbusd (lane |.| <= 4·255·128 = 130560): partial sums < 2^21, the result is
 *        Σ w·a exactly (|.| <= 32·128·128), the reference's `s`.
 * Float: per row and super-block exactly the reference's operations in its order (no FMA: the
 * project builds ISO C11, where GCC does not contract, and intrinsics are separate statements). */
#include "kernels/quant_x16.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/tensor.h"
#include "kernels/amx_emu.h"
#include "kernels/kernels.h"
#include "kernels/quant_impl.h"

/* GSB layouts (quant_x16.h): the per-row header first, then the codes in k order, so that one GSB
 * is read front to back */
#define Q4K_GSB 2368
#define Q4K_SC 0
#define Q4K_MN 128
#define Q4K_D 256
#define Q4K_DMIN 288
#define Q4K_CODES 320 /* chunk c (k in [8c, 8c+8)) at Q4K_CODES + 64c */
#define Q6K_GSB 3392
#define Q6K_SC 0
#define Q6K_D 256
#define Q6K_UNITS 320 /* 16-weight group g: 192 bytes at Q6K_UNITS + 192g: chunks 2g, 2g+1, high bits */

/* byte offset in a GSB of the 64-byte nibble chunk c, and of Q6_K's high-bit chunk of group g */
static inline size_t chunk_off(exa_qtype t, int c) {
    return t == EXA_QTYPE_Q4_K ? Q4K_CODES + 64 * (size_t)c : Q6K_UNITS + 192 * (size_t)(c / 2) + 64 * (size_t)(c % 2);
}
#define Q6K_HI(g) (Q6K_UNITS + 192 * (g) + 128)
/* Q8_0 GSB = 64 columns (two ggml blocks): [0, 64) d f16, block e at 32e + 2r; [64, 1088) codes
 * w + 128 as u8, 4-column chunk c (k in [4c, 4c+4)) at 64 + 64c, byte 4r+b = k 4c+b */
#define Q80_GSB 1088
#define Q80_COLS 64

/* Q8_K field offsets (exa_block_q8_K: float d; int8 qs[256]; int16 bsums[16]) */
#define A_QS 4
#define A_BSUMS 260
_Static_assert(sizeof(exa_block_q8_K) == 292 && offsetof(exa_block_q8_K, qs) == A_QS &&
                   offsetof(exa_block_q8_K, bsums) == A_BSUMS,
               "Q8_K layout");

static size_t gsb_bytes(exa_qtype t) {
    switch (t) {
    case EXA_QTYPE_Q4_K: return Q4K_GSB;
    case EXA_QTYPE_Q6_K: return Q6K_GSB;
    case EXA_QTYPE_Q8_0: return Q80_GSB;
    default: return 0;
    }
}
/* columns per GSB */
static int64_t gsb_cols(exa_qtype t) { return t == EXA_QTYPE_Q8_0 ? Q80_COLS : EXA_QK_K; }

size_t exa_qx16_layout_bytes(exa_qtype t, int64_t rows, int64_t cols) {
    const size_t gsb = gsb_bytes(t);
    if (!gsb || rows < 1 || cols < 1 || cols % gsb_cols(t)) return 0;
    const uint64_t groups = ((uint64_t)rows + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS, nb = (uint64_t)(cols / gsb_cols(t));
    uint64_t n;
    if (__builtin_mul_overflow(groups, nb, &n) || __builtin_mul_overflow(n, (uint64_t)gsb, &n) || n > SIZE_MAX / 2)
        return 0;
    return (size_t)n;
}

static int x16_cpu_ok(void) {
#if defined(__x86_64__)
    return exa_cpu_active() == EXA_CPU_AVX512 && exa_quant_has_vnni();
#else
    return 0;
#endif
}

size_t exa_qx16_bytes(exa_qtype t, int64_t rows, int64_t cols) {
    return x16_cpu_ok() ? exa_qx16_layout_bytes(t, rows, cols) : 0;
}

/* ---------------------------------------------------------------- packing */

/* one ggml Q4_K block's nibbles straight into row r's bytes of the nibble chunks: chunk c holds
 * k in [8c, 8c+8), all in one half of a 64-weight piece p = c/8 of ggml's qs (weight 64p+l is the
 * low nibble of qs[32p+l] for l < 32, the high nibble of qs[32p+l-32] otherwise) */
static void q4k_put_row(const uint8_t *qs, int r, uint8_t *o) {
    for (int c = 0; c < EXA_QK_K / 8; c++) {
        const int p = c / 8, l = 8 * (c % 8), sh = l < 32 ? 0 : 4;
        const uint8_t *src = qs + 32 * p + (l % 32);
        uint32_t lo, hi;
        memcpy(&lo, src, 4);
        memcpy(&hi, src + 4, 4);
        const uint32_t v = ((lo >> sh) & 0x0F0F0F0Fu) | (((hi >> sh) & 0x0F0F0F0Fu) << 4);
        memcpy(o + Q4K_CODES + 64 * c + 4 * r, &v, 4);
    }
}

/* the 256 six-bit codes (0..63) of one ggml Q6_K block in weight order (as the scalar reference) */
static void q6k_unpack_row(const uint8_t *blk, uint8_t codes[EXA_QK_K]) {
    const uint8_t *ql = blk + offsetof(exa_block_q6_K, ql), *qh = blk + offsetof(exa_block_q6_K, qh);
    for (int c = 0; c < EXA_QK_K; c += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; l++) {
            codes[c + l] = (uint8_t)((ql[l] & 0xF) | ((qh[l] & 3) << 4));
            codes[c + l + 32] = (uint8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
            codes[c + l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
            codes[c + l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
}

/* codes[16][256] (low 4 bits used) -> the 2048 bytes of nibble chunks */
static void put_nibbles(exa_qtype t, uint8_t *o, uint8_t codes[EXA_QX16_ROWS][EXA_QK_K]) {
    for (int c = 0; c < EXA_QK_K / 8; c++) {
        uint8_t *oc = o + chunk_off(t, c);
        for (int r = 0; r < EXA_QX16_ROWS; r++) { /* 4 bytes at once: byte b = code 8c+b | code 8c+4+b << 4 */
            uint32_t lo, hi;
            memcpy(&lo, &codes[r][8 * c], 4);
            memcpy(&hi, &codes[r][8 * c + 4], 4);
            const uint32_t v = (lo & 0x0F0F0F0Fu) | ((hi & 0x0F0F0F0Fu) << 4);
            memcpy(oc + 4 * r, &v, 4);
        }
    }
}

static void pack_q4k_gsb(const uint8_t *W, size_t rb, int64_t rows, int64_t g, int64_t i, uint8_t *o) {
    uint8_t sc[EXA_QX16_ROWS][8], mn[EXA_QX16_ROWS][8];
    uint16_t d[EXA_QX16_ROWS], dmin[EXA_QX16_ROWS];
    memset(o, 0, Q4K_GSB); /* pad rows: codes, scales, mins, d = 0 */
    for (int r = 0; r < EXA_QX16_ROWS; r++) {
        const int64_t row = EXA_QX16_ROWS * g + r;
        if (row < rows) {
            const uint8_t *blk = W + (size_t)row * rb + (size_t)i * sizeof(exa_block_q4_K);
            q4k_put_row(blk + offsetof(exa_block_q4_K, qs), r, o);
            for (int j = 0; j < 8; j++) exa_q4k_scale_min(j, blk + offsetof(exa_block_q4_K, scales), &sc[r][j], &mn[r][j]);
            memcpy(&d[r], blk + offsetof(exa_block_q4_K, d), 2);
            memcpy(&dmin[r], blk + offsetof(exa_block_q4_K, dmin), 2);
        } else {
            memset(sc[r], 0, 8);
            memset(mn[r], 0, 8);
            d[r] = dmin[r] = 0; /* +0.0 */
        }
    }
    for (int r = 0; r < EXA_QX16_ROWS; r++) {
        for (int j = 0; j < 8; j++) o[Q4K_SC + 16 * j + r] = sc[r][j];
        for (int p = 0; p < 4; p++) {
            o[Q4K_MN + 32 * p + 2 * r] = mn[r][2 * p];
            o[Q4K_MN + 32 * p + 2 * r + 1] = mn[r][2 * p + 1];
        }
        memcpy(o + Q4K_D + 2 * r, &d[r], 2);
        memcpy(o + Q4K_DMIN + 2 * r, &dmin[r], 2);
    }
}

static void pack_q6k_gsb(const uint8_t *W, size_t rb, int64_t rows, int64_t g, int64_t i, uint8_t *o) {
    uint8_t codes[EXA_QX16_ROWS][EXA_QK_K];
    int8_t sc[EXA_QX16_ROWS][16];
    float d[EXA_QX16_ROWS];
    for (int r = 0; r < EXA_QX16_ROWS; r++) {
        const int64_t row = EXA_QX16_ROWS * g + r;
        if (row < rows) {
            const uint8_t *blk = W + (size_t)row * rb + (size_t)i * sizeof(exa_block_q6_K);
            uint16_t h;
            q6k_unpack_row(blk, codes[r]);
            memcpy(sc[r], blk + offsetof(exa_block_q6_K, scales), 16);
            memcpy(&h, blk + offsetof(exa_block_q6_K, d), 2);
            d[r] = exa_f16_to_f32(h);
        } else {
            memset(codes[r], 0, sizeof codes[r]);
            memset(sc[r], 0, 16);
            d[r] = 0.f;
        }
    }
    put_nibbles(EXA_QTYPE_Q6_K, o, codes);
    for (int h = 0; h < EXA_QK_K / 16; h++)
        for (int r = 0; r < EXA_QX16_ROWS; r++) { /* byte b: bits 2s..2s+1 = code 16h+4s+b >> 4 */
            uint32_t v = 0;
            for (int s4 = 0; s4 < 4; s4++) {
                uint32_t w;
                memcpy(&w, &codes[r][16 * h + 4 * s4], 4);
                v |= ((w >> 4) & 0x03030303u) << (2 * s4);
            }
            memcpy(o + Q6K_HI(h) + 4 * r, &v, 4);
        }
    for (int g16 = 0; g16 < 16; g16++)
        for (int r = 0; r < EXA_QX16_ROWS; r++) o[Q6K_SC + 16 * g16 + r] = (uint8_t)sc[r][g16];
    memcpy(o + Q6K_D, d, sizeof d);
}

static void pack_q80_gsb(const uint8_t *W, size_t rb, int64_t rows, int64_t g, int64_t i, uint8_t *o) {
    for (int r = 0; r < EXA_QX16_ROWS; r++) {
        const int64_t row = EXA_QX16_ROWS * g + r;
        for (int e = 0; e < 2; e++) {
            const uint8_t *blk = row < rows ? W + (size_t)row * rb + (size_t)(2 * i + e) * sizeof(exa_block_q8_0) : NULL;
            uint16_t d = 0;
            if (blk) memcpy(&d, blk + offsetof(exa_block_q8_0, d), 2);
            memcpy(o + 32 * e + 2 * r, &d, 2);
            for (int k = 0; k < EXA_QK; k += 4) { /* code = w + 128 = w ^ 0x80 (pad rows: w = 0, d = 0) */
                uint32_t w = 0;
                if (blk) memcpy(&w, blk + offsetof(exa_block_q8_0, qs) + (size_t)k, 4);
                w ^= 0x80808080u;
                memcpy(o + 64 + 64 * ((EXA_QK * e + k) / 4) + 4 * r, &w, 4);
            }
        }
    }
}

exa_status exa_qx16_pack_groups(exa_qtype t, const void *W, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                                void *out) {
    const size_t total = exa_qx16_layout_bytes(t, rows, cols);
    const int64_t groups = (rows + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS;
    if (!total || !W || !out || g0 < 0 || g1 < g0 || g1 > groups) return EXA_ERR_INVALID_ARG;
    const size_t rb = exa_qtype_row_bytes(t, cols), gsb = gsb_bytes(t);
    const int64_t nb = cols / gsb_cols(t);
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < nb; i++) {
            uint8_t *o = (uint8_t *)out + ((size_t)g * (size_t)nb + (size_t)i) * gsb;
            if (t == EXA_QTYPE_Q4_K) pack_q4k_gsb(W, rb, rows, g, i, o);
            else if (t == EXA_QTYPE_Q6_K) pack_q6k_gsb(W, rb, rows, g, i, o);
            else pack_q80_gsb(W, rb, rows, g, i, o);
        }
    return EXA_OK;
}

exa_status exa_qx16_pack(exa_qtype t, const void *W, int64_t rows, int64_t cols, void *out) {
    if (rows < 1) return EXA_ERR_INVALID_ARG;
    return exa_qx16_pack_groups(t, W, rows, cols, 0, (rows + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS, out);
}

/* ---------------------------------------------------------------- scalar reference (packed layout) */

static inline int x16_code4(exa_qtype t, const uint8_t *B, int r, int k) { /* low 4 bits of code (r, k) */
    const uint8_t v = B[chunk_off(t, k / 8) + 4 * (size_t)r + (size_t)(k % 4)];
    return (k % 8) < 4 ? (v & 0xF) : (v >> 4);
}

static float q4k_row_scalar(const uint8_t *G, int64_t nb, int r, const uint8_t *a) {
    float sum = 0.f;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q4K_GSB, *A = a + (size_t)i * sizeof(exa_block_q8_K);
        const int8_t *aq = (const int8_t *)(A + A_QS);
        int16_t bs[16];
        float yd;
        uint16_t hd, hm;
        memcpy(bs, A + A_BSUMS, sizeof bs);
        memcpy(&yd, A, 4);
        memcpy(&hd, B + Q4K_D + 2 * r, 2);
        memcpy(&hm, B + Q4K_DMIN + 2 * r, 2);
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            int s = 0;
            for (int k = 32 * j; k < 32 * j + 32; k++) s += x16_code4(EXA_QTYPE_Q4_K, B, r, k) * aq[k];
            sumi += B[Q4K_SC + 16 * j + r] * s;
            summ += B[Q4K_MN + 32 * (j / 2) + 2 * r + (j % 2)] * (bs[2 * j] + bs[2 * j + 1]);
        }
        sum += yd * exa_f16_to_f32(hd) * (float)sumi - yd * exa_f16_to_f32(hm) * (float)summ;
    }
    return sum;
}

static float q6k_row_scalar(const uint8_t *G, int64_t nb, int r, const uint8_t *a) {
    float sum = 0.f;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q6K_GSB, *A = a + (size_t)i * sizeof(exa_block_q8_K);
        const int8_t *aq = (const int8_t *)(A + A_QS);
        float yd, d;
        memcpy(&yd, A, 4);
        memcpy(&d, B + Q6K_D + 4 * r, 4);
        int sumi = 0;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int k = 16 * g; k < 16 * g + 16; k++) {
                const int hi = (B[Q6K_HI(k / 16) + 4 * r + (k % 4)] >> (2 * ((k % 16) / 4))) & 3;
                s += ((x16_code4(EXA_QTYPE_Q6_K, B, r, k) | (hi << 4)) - 32) * aq[k];
            }
            sumi += (int8_t)B[Q6K_SC + 16 * g + r] * s;
        }
        const float contrib = d * yd * (float)sumi;
        sum += contrib;
    }
    return sum;
}

static float q80_row_scalar(const uint8_t *G, int64_t nb, int r, const uint8_t *a) {
    float sum = 0.f;
    for (int64_t i = 0; i < 2 * nb; i++) { /* ggml blocks: GSB i/2, half i%2 */
        const uint8_t *B = G + (size_t)(i / 2) * Q80_GSB, *A = a + (size_t)i * sizeof(exa_block_q8_0);
        const int e = (int)(i % 2);
        uint16_t hx, hy;
        memcpy(&hx, B + 32 * e + 2 * r, 2);
        memcpy(&hy, A + offsetof(exa_block_q8_0, d), 2);
        int s = 0;
        for (int k = 0; k < EXA_QK; k++) {
            const int kk = EXA_QK * e + k;
            s += (B[64 + 64 * (kk / 4) + 4 * r + kk % 4] - 128) * (int8_t)A[offsetof(exa_block_q8_0, qs) + (size_t)k];
        }
        sum += (float)s * (exa_f16_to_f32(hx) * exa_f16_to_f32(hy));
    }
    return sum;
}

void exa_qx16_matmul_scalar(exa_qtype t, const void *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                            const void *act, size_t act_stride, int T, float *y, size_t ldy) {
    const size_t gsb = gsb_bytes(t);
    if (!exa_qx16_layout_bytes(t, rows, cols) || T < 1) return;
    const int64_t nb = cols / gsb_cols(t), groups = (rows + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS;
    if (g0 < 0) g0 = 0;
    if (g1 > groups) g1 = groups;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *G = (const uint8_t *)P + (size_t)g * (size_t)nb * gsb;
        for (int r = 0; r < EXA_QX16_ROWS && EXA_QX16_ROWS * g + r < rows; r++)
            for (int tok = 0; tok < T; tok++) {
                const uint8_t *a = (const uint8_t *)act + (size_t)tok * act_stride;
                y[(size_t)tok * ldy + (size_t)(EXA_QX16_ROWS * g + r)] =
                    t == EXA_QTYPE_Q4_K   ? q4k_row_scalar(G, nb, r, a)
                    : t == EXA_QTYPE_Q6_K ? q6k_row_scalar(G, nb, r, a)
                                          : q80_row_scalar(G, nb, r, a);
            }
    }
}

/* ---------------------------------------------------------------- AVX-512 VNNI */
#if defined(__x86_64__)
#include <immintrin.h>

#define X16_TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define X16_INL static inline __attribute__((always_inline))

/* 4 activation bytes broadcast to all 16 lanes (folds into vpdpbusd's {1to16} memory operand) */
X16_TGT X16_INL __m512i bc4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}
/* acc + vpdpbusd(codes, 4 activation bytes at p broadcast): the broadcast as the instruction's
 * {1to16} memory operand (GCC 12 emits a separate vpbroadcastd for _mm512_set1_epi32, which costs
 * a vector-pipe slot per product instruction) */
X16_TGT X16_INL __m512i dp_bc(__m512i acc, __m512i codes, const uint8_t *p) {
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(codes), "m"(*(const int32_t *)(const void *)p));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, codes, bc4(p));
#endif
}
/* Software prefetch of a GSB ahead, spread over the GSB's inner loop. Measured on Zen 4
 * (bench_qx16, DRAM-streaming 4096×4096): without it the hardware prefetchers fall behind once the
 * kernel is compute-bound (Q4_K T = 8: ~5 GB/s from DRAM against ~12.5 GB/s from L2); with it DRAM
 * comes close to the L2 rate, and T = 1 matches the row kernel's bandwidth. For the k-quants one
 * GSB (2.4 / 3.4 KB) ahead measured better for T = 1 than 2..8 and no worse for T = 8; Q8_0's GSB
 * is 1 KB, two ahead (the shared machine was too noisy to separate 1..3). One token (decoding)
 * does better without: dev/stream_eff.c, the kernel against a plain read of the same bytes,
 * alternated, 1 thread: Q4_K 0.87 -> 0.93, Q6_K 0.91 -> 0.97, Q8_0 0.96 -> 1.0 of the read rate
 * (a far L2 prefetch, 8-16 GSBs ahead, won in one 5-minute run and lost in the next). Hence
 * X16_PF_MIN_NT: the prefetch is compiled into the kernels of 2 or more tokens only. Prefetches
 * past the end of the matrix are harmless (they never fault); the address is formed as an integer. */
#ifndef X16_PF_GSBS /* dev/stream_eff.c builds with other values */
#define X16_PF_GSBS 1
#endif
#ifndef X16_PF_Q80
#define X16_PF_Q80 2
#endif
#ifndef X16_PF_MIN_NT
#define X16_PF_MIN_NT 2
#endif
X16_TGT X16_INL void prefetch_lines(const uint8_t *base, size_t off, int n) {
    const uintptr_t a = (uintptr_t)base + off;
    for (int k = 0; k < n; k++) _mm_prefetch((const char *)(a + 64 * (uintptr_t)k), _MM_HINT_T0);
}

/* acc + vpdpwssd(w, 2 int16 at p broadcast), the same way */
X16_TGT X16_INL __m512i dpw_bc(__m512i acc, __m512i w, const uint8_t *p) {
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)(const void *)p));
    return acc;
#else
    return _mm512_dpwssd_epi32(acc, w, bc4(p));
#endif
}
X16_TGT X16_INL __m512 bcf(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return _mm512_set1_ps(v);
}

/* The token-chunk kernels: one row group (G, nb GSBs) against NT tokens (NT a constant after
 * inlining; the per-token state is named variables — arrays of vectors get spilled). Token t's
 * super-block i is at act + t*as + i*292. */

/* Q4_K sub-block j: for each token t, p_t = Σ over the 8 code vectors (4 chunks × low/high
 * nibbles) of vpdpbusd with the broadcast activation quads, then i_t += p_t ⊙ sc_j (exact, see
 * top). Emitted code vector by code vector across the tokens (X16_EACH2), not token by token
 * (each token's 8 products are a dependent chain): bench_qx16, cache-resident, +1 % at T = 8 and
 * +3 % at T = 4 on Zen 4. The same order measured slower for Q6_K's 4-product chains (T = 4:
 * 25-28 vs 32 GB/s), which keep the token-by-token order. */
#define X16_DP(t, code, off)                                                                                  \
    if (NT > t) p##t = dp_bc(p##t, code, a + (size_t)(t) * as + (off));
#define X16_SCALE(t)                                                                                          \
    if (NT > t) i##t = _mm512_add_epi32(i##t, _mm512_mullo_epi32(p##t, sc));
#define X16_EACH2(M, x, y) M(0, x, y) M(1, x, y) M(2, x, y) M(3, x, y) M(4, x, y) M(5, x, y) M(6, x, y) M(7, x, y)
#define X16_P_DECL                                                                                            \
    __m512i p0 = _mm512_setzero_si512(), p1 = p0, p2 = p0, p3 = p0, p4 = p0, p5 = p0, p6 = p0, p7 = p0

/* Q4_K end of a super-block for one token (activation super-block At, integer sums isum = Σ_j
 * sc_j·p_j per row): mins against S_j = bsums[2j] + bsums[2j+1] (int16 pairs (S_2p, S_2p+1)
 * broadcast, one vpdpwssd per pair of sub-blocks, M0..M3 = the GSB's mins as int16), then the
 * reference's float ops: sum += yd*d*(float)sumi - yd*dmin*(float)summ. Shared by the VNNI and AMX
 * kernels. */
X16_TGT X16_INL __m512 q4k_end(__m512 f, const uint8_t *At, __m512i isum, __m512i M0, __m512i M1, __m512i M2,
                               __m512i M3, __m512 dd, __m512 dm) {
    uint8_t s8[16];
    _mm_storeu_si128((__m128i *)s8, _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)(At + A_BSUMS)),
                                                   _mm_loadu_si128((const __m128i *)(At + A_BSUMS + 16))));
    __m512i mn = dpw_bc(_mm512_setzero_si512(), M0, s8);
    mn = dpw_bc(mn, M1, s8 + 4);
    mn = dpw_bc(mn, M2, s8 + 8);
    mn = dpw_bc(mn, M3, s8 + 12);
    const __m512 yd = bcf(At);
    const __m512 t1 = _mm512_mul_ps(_mm512_mul_ps(yd, dd), _mm512_cvtepi32_ps(isum));
    const __m512 t2 = _mm512_mul_ps(_mm512_mul_ps(yd, dm), _mm512_cvtepi32_ps(mn));
    return _mm512_add_ps(f, _mm512_sub_ps(t1, t2));
}
#define Q4K_END(t)                                                                                            \
    if (NT > t) f##t = q4k_end(f##t, A + (size_t)(t) * as, i##t, M0, M1, M2, M3, dd, dm);

/* a GSB's Q4_K mins (as int16, for q4k_end) and d, dmin (as f32) */
#define Q4K_GSB_CONSTS(B)                                                                                     \
    const __m512i M0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)((B) + Q4K_MN)));           \
    const __m512i M1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)((B) + Q4K_MN + 32)));      \
    const __m512i M2 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)((B) + Q4K_MN + 64)));      \
    const __m512i M3 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)((B) + Q4K_MN + 96)));      \
    const __m512 dd = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((B) + Q4K_D)));                   \
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((B) + Q4K_DMIN)))

#define X16_STORE(t)                                                                                          \
    if (NT > t) _mm512_mask_storeu_ps(y + (size_t)(t) * ldy, rmask, f##t);

#define X16_ACC_DECL                                                                                          \
    __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0
#define X16_ISUM_DECL                                                                                         \
    __m512i i0 = _mm512_setzero_si512(), i1 = i0, i2 = i0, i3 = i0, i4 = i0, i5 = i0, i6 = i0, i7 = i0
#define X16_EACH(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

/* Q4_K sub-block codes at q (4 nibble chunks) -> the 8 code vectors l0, h0, ..., l3, h3: vector
 * 2c (+1) holds k = 8c + b (8c + 4 + b) of row r in bytes 4r + b (a vpdpbusd operand, and in this
 * order the rows of an AMX B tile for k = 0..31 of the sub-block) */
#define Q4K_UNPACK(q)                                                                                         \
    const __m512i P0 = _mm512_loadu_si512(q), P1 = _mm512_loadu_si512((q) + 64);                             \
    const __m512i P2 = _mm512_loadu_si512((q) + 128), P3 = _mm512_loadu_si512((q) + 192);                    \
    const __m512i l0 = _mm512_and_si512(P0, m4), h0 = _mm512_and_si512(_mm512_srli_epi16(P0, 4), m4);        \
    const __m512i l1 = _mm512_and_si512(P1, m4), h1 = _mm512_and_si512(_mm512_srli_epi16(P1, 4), m4);        \
    const __m512i l2 = _mm512_and_si512(P2, m4), h2 = _mm512_and_si512(_mm512_srli_epi16(P2, 4), m4);        \
    const __m512i l3 = _mm512_and_si512(P3, m4), h3 = _mm512_and_si512(_mm512_srli_epi16(P3, 4), m4)

X16_TGT X16_INL void q4k_tokens(const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb, size_t ts,
                                const int NT, float *y, size_t ldy, __mmask16 rmask) {
    (void)tb, (void)ts;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    X16_ACC_DECL;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q4K_GSB, *A = act + (size_t)i * sizeof(exa_block_q8_K);
        X16_ISUM_DECL;
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = B + Q4K_CODES + 256 * j;
            if (NT >= X16_PF_MIN_NT)
                prefetch_lines(B, X16_PF_GSBS * Q4K_GSB + 320 * (size_t)j, 5); /* 8 × 5 lines >= the GSB's 37 */
            Q4K_UNPACK(q);
            const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(B + Q4K_SC + 16 * j)));
            const uint8_t *a = A + A_QS + 32 * j;
            X16_P_DECL;
            if (NT == 1) { /* decode: two chains of 4 instead of one of 8, a shorter critical path per sub-block
                            * (dev/stream_eff.c, 1 thread from DRAM: 0.85 -> 0.87 of the read rate, 4 of 6 pairs) */
                p0 = dp_bc(p0, l0, a); p1 = dp_bc(p1, h0, a + 4); p0 = dp_bc(p0, l1, a + 8); p1 = dp_bc(p1, h1, a + 12);
                p0 = dp_bc(p0, l2, a + 16); p1 = dp_bc(p1, h2, a + 20); p0 = dp_bc(p0, l3, a + 24); p1 = dp_bc(p1, h3, a + 28);
                p0 = _mm512_add_epi32(p0, p1);
            } else {
                X16_EACH2(X16_DP, l0, 0) X16_EACH2(X16_DP, h0, 4) X16_EACH2(X16_DP, l1, 8) X16_EACH2(X16_DP, h1, 12)
                X16_EACH2(X16_DP, l2, 16) X16_EACH2(X16_DP, h2, 20) X16_EACH2(X16_DP, l3, 24) X16_EACH2(X16_DP, h3, 28)
            }
            X16_EACH(X16_SCALE)
        }
        Q4K_GSB_CONSTS(B);
        X16_EACH(Q4K_END)
    }
    X16_EACH(X16_STORE)
}

/* Q6_K group g (16 weights), token t: p starts at -32·bsum_g (the code offset), 4 vpdpbusd, then
 * i_t += p ⊙ sc_g */
#define Q6K_TOK(t)                                                                                            \
    if (NT > t) {                                                                                             \
        const uint8_t *at = a + (size_t)(t) * as;                                                            \
        __m512i p = _mm512_set1_epi32(off[t][g]);                                                             \
        p = dp_bc(p, c0, at);                                                              \
        p = dp_bc(p, c1, at + 4);                                                          \
        p = dp_bc(p, c2, at + 8);                                                          \
        p = dp_bc(p, c3, at + 12);                                                         \
        i##t = _mm512_add_epi32(i##t, _mm512_mullo_epi32(p, sc));                                             \
    }

/* -32·bsums of token t's super-block At, as 16 int32 */
X16_TGT X16_INL void q6k_off(int32_t off[16], const uint8_t *At) {
    _mm512_storeu_si512(off, _mm512_sub_epi32(_mm512_setzero_si512(),
                                              _mm512_slli_epi32(_mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(At + A_BSUMS))), 5)));
}
#define Q6K_OFF(t)                                                                                            \
    if (NT > t) q6k_off(off[t], A + (size_t)(t) * as);

/* reference: contrib = d*yd*(float)sumi; sum += contrib */
X16_TGT X16_INL __m512 q6k_end(__m512 f, __m512 d, const uint8_t *At, __m512i isum) {
    const __m512 contrib = _mm512_mul_ps(_mm512_mul_ps(d, bcf(At)), _mm512_cvtepi32_ps(isum));
    return _mm512_add_ps(f, contrib);
}
#define Q6K_END(t)                                                                                            \
    if (NT > t) f##t = q6k_end(f##t, d, A + (size_t)(t) * as, i##t);

/* Q6_K 16-weight group at u (two nibble chunks, then the high bits H) -> code vectors c0..c3, c_q
 * holding k = 4q + b of row r in bytes 4r + b; code = low nibble | (2 high bits << 4): ternary
 * logic A | (B & C) = 0xF8; 16-bit shifts move bits across bytes only into positions that the 0x30
 * mask clears */
#define Q6K_UNPACK(u)                                                                                         \
    const __m512i P0 = _mm512_loadu_si512(u), P1 = _mm512_loadu_si512((u) + 64), H = _mm512_loadu_si512((u) + 128); \
    const __m512i c0 = _mm512_ternarylogic_epi32(_mm512_and_si512(P0, m4), _mm512_slli_epi16(H, 4), m30, 0xF8); \
    const __m512i c1 = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(P0, 4), m4),              \
                                                 _mm512_slli_epi16(H, 2), m30, 0xF8);                           \
    const __m512i c2 = _mm512_ternarylogic_epi32(_mm512_and_si512(P1, m4), H, m30, 0xF8);                      \
    const __m512i c3 = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(P1, 4), m4),              \
                                                 _mm512_srli_epi16(H, 2), m30, 0xF8)

X16_TGT X16_INL void q6k_tokens(const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb, size_t ts,
                                const int NT, float *y, size_t ldy, __mmask16 rmask) {
    (void)tb, (void)ts;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    int32_t off[8][16];
    X16_ACC_DECL;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q6K_GSB, *A = act + (size_t)i * sizeof(exa_block_q8_K);
        X16_EACH(Q6K_OFF)
        X16_ISUM_DECL;
        for (int g = 0; g < 16; g++) {
            if (NT >= X16_PF_MIN_NT)
                prefetch_lines(B, X16_PF_GSBS * Q6K_GSB + 212 * (size_t)g, 4); /* 16 × [212g, 212g+256) covers the GSB */
            const uint8_t *u = B + Q6K_UNITS + 192 * g;
            Q6K_UNPACK(u);
            const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(B + Q6K_SC + 16 * g)));
            const uint8_t *a = A + A_QS + 16 * g;
            X16_EACH(Q6K_TOK)
        }
        const __m512 d = _mm512_loadu_ps(B + Q6K_D);
        X16_EACH(Q6K_END)
    }
    X16_EACH(X16_STORE)
}

/* reference: sum += (float)s * (dx * dy), dy from the token's table entry tt */
X16_TGT X16_INL __m512 q80_add(__m512 f, __m512i s, __m512 dx, const int32_t *tt) {
    return _mm512_add_ps(f, _mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dx, bcf((const uint8_t *)(tt + 1)))));
}

/* Q8_0 block blk, token t: p starts at -128·Σa (the codes are w + 128), 8 vpdpbusd; then the
 * reference's float ops: sum += (float)s * (dx * dy). tt = the token's table entry: -128·Σa and dy
 * (as float bits) per block, built once per call by matmul_avx512. */
#define Q80_TOK(t)                                                                                            \
    if (NT > t) {                                                                                             \
        const uint8_t *at = a + (size_t)(t) * as;                                                            \
        const int32_t *tt = tb + (size_t)(t) * ts + 2 * blk;                                                  \
        __m512i p = _mm512_set1_epi32(tt[0]);                                                                 \
        p = dp_bc(p, c0, at);                                                                                 \
        p = dp_bc(p, c1, at + 4);                                                                             \
        p = dp_bc(p, c2, at + 8);                                                                             \
        p = dp_bc(p, c3, at + 12);                                                                            \
        p = dp_bc(p, c4, at + 16);                                                                            \
        p = dp_bc(p, c5, at + 20);                                                                            \
        p = dp_bc(p, c6, at + 24);                                                                            \
        p = dp_bc(p, c7, at + 28);                                                                            \
        f##t = q80_add(f##t, p, dx, tt);                                                                     \
    }

X16_TGT X16_INL void q80_tokens(const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb, size_t ts,
                                const int NT, float *y, size_t ldy, __mmask16 rmask) {
    X16_ACC_DECL;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q80_GSB;
        for (int e = 0; e < 2; e++) {
            const size_t blk = 2 * (size_t)i + (size_t)e;
            if (NT >= X16_PF_MIN_NT)
                prefetch_lines(B, X16_PF_Q80 * Q80_GSB + 576 * (size_t)e, 9); /* 2 × 9 lines >= the GSB's 17 */
            const uint8_t *q = B + 64 + 512 * e;
            const __m512i c0 = _mm512_loadu_si512(q), c1 = _mm512_loadu_si512(q + 64);
            const __m512i c2 = _mm512_loadu_si512(q + 128), c3 = _mm512_loadu_si512(q + 192);
            const __m512i c4 = _mm512_loadu_si512(q + 256), c5 = _mm512_loadu_si512(q + 320);
            const __m512i c6 = _mm512_loadu_si512(q + 384), c7 = _mm512_loadu_si512(q + 448);
            const __m512 dx = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(B + 32 * e)));
            const uint8_t *a = act + blk * sizeof(exa_block_q8_0) + offsetof(exa_block_q8_0, qs);
            X16_EACH(Q80_TOK)
        }
    }
    X16_EACH(X16_STORE)
}

#define X16_FN_ARGS const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb, size_t ts, float *y, size_t ldy, __mmask16 m
#define X16_VARIANT(fmt, n) \
    X16_TGT static void fmt##_t##n(X16_FN_ARGS) { fmt##_tokens(G, nb, act, as, tb, ts, n, y, ldy, m); }
#define X16_VARIANTS(fmt)                                                                                     \
    X16_VARIANT(fmt, 1) X16_VARIANT(fmt, 2) X16_VARIANT(fmt, 3) X16_VARIANT(fmt, 4)                           \
    X16_VARIANT(fmt, 5) X16_VARIANT(fmt, 6) X16_VARIANT(fmt, 7) X16_VARIANT(fmt, 8)                           \
    static void (*const fmt##_by_nt[9])(X16_FN_ARGS) = {NULL, fmt##_t1, fmt##_t2, fmt##_t3, fmt##_t4,        \
                                                        fmt##_t5, fmt##_t6, fmt##_t7, fmt##_t8};
X16_VARIANTS(q4k)
X16_VARIANTS(q6k)
X16_VARIANTS(q80)
typedef void (*x16_chunk_fn)(X16_FN_ARGS);

#define X16_MAX_NT 8

/* Q8_0 per-call table: per token and block, -128·Σa (int32) and dy as float bits. Small tables
 * live on the stack; NULL when a large one cannot be allocated (the caller then runs the scalar
 * reference). */
#define X16_TAB_STACK 4096
X16_TGT static int32_t *q80_table(const uint8_t *act, size_t as, int T, int64_t nblk, int32_t *stack) {
    const size_t n = (size_t)T * 2 * (size_t)nblk;
    int32_t *tb = n <= X16_TAB_STACK ? stack : malloc(n * sizeof *tb);
    if (!tb) return NULL;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int t = 0; t < T; t++)
        for (int64_t b = 0; b < nblk; b++) {
            const uint8_t *A = act + (size_t)t * as + (size_t)b * sizeof(exa_block_q8_0);
            /* Σa = Σ(a + 128) - 32·128, the u8 sums by vpsadbw */
            const __m256i sad = _mm256_sad_epu8(
                _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(A + offsetof(exa_block_q8_0, qs))), flip),
                _mm256_setzero_si256());
            const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
            const int s = (int)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1)) - 32 * 128;
            uint16_t h;
            memcpy(&h, A + offsetof(exa_block_q8_0, d), 2);
            const float dy = _cvtsh_ss(h); /* exact, as exa_f16_to_f32 */
            int32_t *e = tb + (size_t)t * 2 * (size_t)nblk + 2 * (size_t)b;
            e[0] = -128 * s; /* |.| <= 128·32·128 */
            memcpy(&e[1], &dy, 4);
        }
    return tb;
}

/* One row group's tokens [0, nt) through a kernel: the VNNI kernels by token count, or the AMX
 * kernels (which also keep the tile configuration in *state). */
typedef void (*x16_run_fn)(exa_qtype t, const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb,
                           size_t ts, int nt, float *y, size_t ldy, __mmask16 m, int *state);

/* The driver of every SIMD path: groups [g0, g1), tokens in balanced chunks of at most maxnt
 * (9 = 5 + 4 with maxnt 8, not 8 + 1): each chunk decodes the group's codes once; the group
 * (nb × gsb bytes) stays in L2 between chunks. Q8_0 first builds its per-call table. 0 when that
 * table could not be allocated (nothing written). */
static int x16_drive(exa_qtype t, const uint8_t *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                     const uint8_t *act, size_t as, int T, float *y, size_t ldy, int maxnt, x16_run_fn run, int *state) {
    const size_t gsb = gsb_bytes(t);
    const int64_t nb = cols / gsb_cols(t);
    int32_t stack[X16_TAB_STACK], *tb = NULL;
    size_t ts = 0;
    if (t == EXA_QTYPE_Q8_0) {
        ts = 2 * (size_t)(cols / EXA_QK);
        if (!(tb = q80_table(act, as, T, cols / EXA_QK, stack))) return 0;
    }
    for (int64_t g = g0; g < g1; g++) {
        const int64_t left = rows - EXA_QX16_ROWS * g;
        const __mmask16 rmask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        const uint8_t *G = P + (size_t)g * (size_t)nb * gsb;
        int done = 0, chunks = (T + maxnt - 1) / maxnt;
        for (; chunks > 0; chunks--) {
            const int nt = (T - done + chunks - 1) / chunks;
            run(t, G, nb, act + (size_t)done * as, as, tb ? tb + (size_t)done * ts : NULL, ts, nt,
                y + (size_t)done * ldy + (size_t)(EXA_QX16_ROWS * g), ldy, rmask, state);
            done += nt;
        }
    }
    if (tb && tb != stack) free(tb);
    return 1;
}

static void run_vnni(exa_qtype t, const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb, size_t ts,
                     int nt, float *y, size_t ldy, __mmask16 m, int *state) {
    (void)state;
    const x16_chunk_fn *fns = t == EXA_QTYPE_Q4_K ? q4k_by_nt : t == EXA_QTYPE_Q6_K ? q6k_by_nt : q80_by_nt;
    fns[nt](G, nb, act, as, tb, ts, y, ldy, m);
}

static int matmul_avx512(exa_qtype t, const uint8_t *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                         const uint8_t *act, size_t as, int T, float *y, size_t ldy) {
    return x16_drive(t, P, rows, cols, g0, g1, act, as, T, y, ldy, X16_MAX_NT, run_vnni, NULL);
}

/* ---------------------------------------------------------------- AMX (kernels/quant_x16_amx.h) */

/* the instance with the real tile instructions, and the one over the software tile unit
 * (kernels/amx_emu.h) for the tests */
#include "kernels/amx_ops.h"
#include "kernels/quant_x16_amx.h"
#include "kernels/amx_ops_end.h"
#define AMX_EMU
#include "kernels/amx_ops.h"
#include "kernels/quant_x16_amx.h"
#include "kernels/amx_ops_end.h"
#undef AMX_EMU

/* Start-up self-check of the real instructions (the emulated instance is what the tests check):
 * every format on random blocks (all codes, finite scales) and random activations (-128
 * included), 2 row groups (one padded) × 17 tokens (chunks of 9 and 8, two tile configurations),
 * bit for bit against the scalar reference. A CPU or OS that gets this wrong keeps the VNNI kernel. */
static uint64_t sc_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* the real instructions, or the software tile unit under EXA_AMX_EMULATE=1 */
typedef int (*amx_matmul_fn)(exa_qtype, const uint8_t *, int64_t, int64_t, int64_t, int64_t, const uint8_t *, size_t, int,
                             float *, size_t);
static amx_matmul_fn amx_kernel(void) { return exa_cpu_amx_emulated() ? matmul_amx_emu : matmul_amx_hw; }

static int amx_selfcheck(void) {
    static const exa_qtype types[3] = {EXA_QTYPE_Q4_K, EXA_QTYPE_Q6_K, EXA_QTYPE_Q8_0};
    enum { ROWS = 20, T = 17 };
    uint64_t s = 0x2545F4914F6CDD1Dull;
    int ok = 1;
    for (int k = 0; k < 3 && ok; k++) {
        const exa_qtype t = types[k];
        const int64_t cols = t == EXA_QTYPE_Q8_0 ? 128 : 512;
        const size_t rb = exa_qtype_row_bytes(t, cols), ab = exa_qtype_row_bytes(exa_qtype_act(t), cols);
        const size_t pb = exa_qx16_layout_bytes(t, ROWS, cols);
        uint8_t *W = malloc(rb * ROWS), *act = malloc(ab * T), *P = exa_aligned_alloc(pb);
        float *y = malloc(sizeof(float) * ROWS * T), *ref = malloc(sizeof(float) * ROWS * T);
        ok = W && act && P && y && ref;
        if (ok) {
            for (size_t i = 0; i < rb * ROWS; i++) W[i] = (uint8_t)sc_next(&s);
            for (size_t i = 0; i < ab * T; i++) act[i] = (uint8_t)sc_next(&s);
            const size_t be = exa_qtype_block_elems(t), bbytes = exa_qtype_row_bytes(t, (int64_t)be);
            for (size_t b = 0; b < rb * ROWS / bbytes; b++) { /* finite f16 scales in [2^-10, 2) */
                uint8_t *blk = W + b * bbytes;
                const uint16_t h = (uint16_t)(0x1400 + sc_next(&s) % 0x2800), h2 = (uint16_t)(0x1400 + sc_next(&s) % 0x2800);
                if (t == EXA_QTYPE_Q6_K) memcpy(blk + offsetof(exa_block_q6_K, d), &h, 2);
                else memcpy(blk, &h, 2);
                if (t == EXA_QTYPE_Q4_K) memcpy(blk + offsetof(exa_block_q4_K, dmin), &h2, 2);
            }
            for (int r = 0; r < T; r++) /* activation scales: finite, bsums consistent with qs */
                for (int64_t b = 0; b < cols / (t == EXA_QTYPE_Q8_0 ? EXA_QK : EXA_QK_K); b++) {
                    if (t == EXA_QTYPE_Q8_0) {
                        exa_block_q8_0 *a = (exa_block_q8_0 *)(void *)(act + (size_t)r * ab) + b;
                        a->d = 0x2000;
                        continue;
                    }
                    exa_block_q8_K *a = (exa_block_q8_K *)(void *)(act + (size_t)r * ab) + b;
                    a->d = 0.01f;
                    for (int j = 0; j < EXA_QK_K / 16; j++) {
                        int sum = 0;
                        for (int i = 0; i < 16; i++) sum += a->qs[16 * j + i];
                        a->bsums[j] = (int16_t)sum;
                    }
                }
            ok = exa_qx16_pack(t, W, ROWS, cols, P) == EXA_OK && amx_kernel()(t, P, ROWS, cols, 0, 2, act, ab, T, y, ROWS);
            exa_qx16_matmul_scalar(t, P, ROWS, cols, 0, 2, act, ab, T, ref, ROWS);
            ok = ok && !memcmp(y, ref, sizeof(float) * ROWS * T);
        }
        free(W), free(act), free(P), free(y), free(ref);
    }
    return ok;
}

static atomic_int amx_state = -1; /* exa_amx_gate's cache */
static int amx_ready(void) { return exa_amx_gate(&amx_state, EXA_AMX_INT8, amx_selfcheck); }
#endif

const char *exa_qx16_amx_state(void) {
#if defined(__x86_64__)
    return exa_amx_gate_state(&amx_state, EXA_AMX_INT8, amx_selfcheck);
#else
    return "off (not x86-64)";
#endif
}

/* clamp [g0, g1) to the matrix; 0 when there is nothing to do */
static int clamp_groups(exa_qtype t, int64_t rows, int64_t cols, int T, int64_t *g0, int64_t *g1) {
    if (!exa_qx16_layout_bytes(t, rows, cols) || T < 1) return 0;
    const int64_t groups = (rows + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS;
    if (*g0 < 0) *g0 = 0;
    if (*g1 > groups) *g1 = groups;
    return *g1 > *g0;
}

void exa_qx16_matmul(exa_qtype t, const void *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1, const void *act,
                     size_t act_stride, int T, float *y, size_t ldy) {
#if defined(__x86_64__)
    if (x16_cpu_ok()) {
        if (!clamp_groups(t, rows, cols, T, &g0, &g1)) return;
        if (T >= EXA_QX16_AMX_MIN_T && amx_ready() && amx_kernel()(t, P, rows, cols, g0, g1, act, act_stride, T, y, ldy))
            return;
        if (matmul_avx512(t, P, rows, cols, g0, g1, act, act_stride, T, y, ldy)) return;
    }
#endif
    exa_qx16_matmul_scalar(t, P, rows, cols, g0, g1, act, act_stride, T, y, ldy);
}

void exa_qx16_matmul_amx_emu(exa_qtype t, const void *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                             const void *act, size_t act_stride, int T, float *y, size_t ldy) {
#if defined(__x86_64__)
    if (x16_cpu_ok()) {
        if (!clamp_groups(t, rows, cols, T, &g0, &g1)) return;
        if (matmul_amx_emu(t, P, rows, cols, g0, g1, act, act_stride, T, y, ldy)) return;
    }
#endif
    exa_qx16_matmul_scalar(t, P, rows, cols, g0, g1, act, act_stride, T, y, ldy);
}
