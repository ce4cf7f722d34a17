/* quant_x16.h — row-interleaved ("x16") repacking of k-quant weight matrices for AVX-512 VNNI
 * matrix products. Owns: the packed layouts below, the packer (ggml row layout -> x16), and the
 * packed matrix × activation-rows kernel (AVX-512 VNNI + a scalar reference over the same
 * layout, kept forever).
 *
 * Why: the row kernels of quant_avx512.c spend two multiply-class ops (vpmaddubsw + vpdpwssd) per
 * 64 products because the sub-block scales change every 32 weights. Here 16 consecutive rows are
 * interleaved so that each int32 lane of vpdpbusd belongs to a different ROW: one 64-byte register
 * holds 4 consecutive k-values of 16 rows, the activation's 4 bytes are broadcast from memory to
 * all lanes, and one vpdpbusd does 64 useful products. The per-(row, sub-block) scale is then a
 * 16-lane vector applied once per sub-block per token (vpmulld), the Q4_K mins one vpdpwssd per
 * two sub-blocks per token, and nibble unpacking is shared by all tokens processed together.
 * (The same idea as llama.cpp's CPU "repack" block_q4_Kx8 and tinyBLAS; written from that idea.)
 *
 * Results: every y value equals, bit for bit, the scalar reference one-row dot product
 * exa_qdot_get(t, EXA_CPU_SCALAR) of that row with that activation row: the integer sums are
 * exact and the per-super-block float operations are the reference's, in its order. So results do
 * not depend on T, on how tokens are grouped, or on the CPU level.
 *
 * Layout: row groups g = rows [16g, 16g+16) (the last group padded with zero rows), group after
 * group; inside a group one "group super-block" (GSB) per 256 columns, in column order. Within a
 * GSB, r = row in the group (0..15), k = column in the super-block (0..255); the per-row header
 * comes first and the codes follow in k order, so a GSB is read front to back.
 * A "nibble chunk" c (k in [8c, 8c+8)) is 64 bytes: byte 4r+b holds k = 8c+b in its low nibble
 * and k = 8c+4+b in its high nibble (b = 0..3) — low nibbles & 0xF are then 16 lanes × 4
 * consecutive k, one vpdpbusd operand.
 *
 * Q4_K GSB, 2368 bytes (16 × 148; ggml: 16 × 144 -> +2.8 %):
 *   [0, 128)      scales, u8 (6-bit): byte 16j + r = scale of sub-block j (k in [32j, 32j+32))
 *   [128, 256)    mins, u8 (6-bit): byte 32p + 2r + e = min of sub-block 2p+e
 *   [256, 288)    d, f16 per row        [288, 320) dmin, f16 per row
 *   [320, 2368)   nibble chunks c = 0..31 at 320 + 64c
 * Q6_K GSB, 3392 bytes (16 × 212; ggml: 16 × 210 -> +1.0 %):
 *   [0, 256)      scales, s8: byte 16g + r = scale of the 16 weights k in [16g, 16g+16)
 *   [256, 320)    d as f32 per row (exact widening of the f16)
 *   [320, 3392)   per 16-weight group g, 192 bytes at 320 + 192g: nibble chunks 2g and 2g+1 (the
 *                 low 4 bits of the codes), then 64 bytes of high bits: byte 4r+b, bits 2s..2s+1 =
 *                 bits 4..5 of the code of k = 16g+4s+b
 * Q8_0 GSB = 64 columns (two ggml blocks), 1088 bytes (16 × 68, as ggml: +0 %):
 *   [0, 64)       d, f16: block e (k in [32e, 32e+32)) at 32e + 2r
 *   [64, 1088)    codes w + 128 as u8 (vpdpbusd's unsigned operand; the +128 is taken out through
 *                 -128·Σa per activation block): 4-column chunk c at 64 + 64c, byte 4r+b = k 4c+b
 * Every GSB size is a multiple of 64: with a 64-byte-aligned buffer all loads are aligned. */
#ifndef EXA_KERNELS_QUANT_X16_H
#define EXA_KERNELS_QUANT_X16_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/quant.h"

#define EXA_QX16_ROWS 16 /* rows per interleaved group */

/* Bytes of the packed form of a (rows, cols) matrix of type t, independent of the CPU; 0 when t
 * has no x16 form (supported: Q4_K, Q6_K, Q8_0), cols is not a positive multiple of 256 (Q8_0:
 * 64), rows < 1, or the size overflows. */
size_t exa_qx16_layout_bytes(exa_qtype t, int64_t rows, int64_t cols);

/* exa_qx16_layout_bytes when this machine runs the x16 kernel (AVX-512 VNNI at the active level:
 * exa_cpu_active() == EXA_CPU_AVX512 and exa_quant_has_vnni(); EXA_CPU=scalar|avx2 gives 0), else
 * 0 — callers then keep the ggml layout and the row kernels. */
size_t exa_qx16_bytes(exa_qtype t, int64_t rows, int64_t cols);

/* Pack W (rows × cols of type t in ggml's row layout, rows contiguous) into out
 * (exa_qx16_layout_bytes(t, rows, cols) bytes; 64-byte alignment recommended). Rows past `rows` in
 * the last group are zero (they contribute nothing and are never written to y).
 * EXA_ERR_INVALID_ARG when the layout size is 0 or a pointer is NULL. */
exa_status exa_qx16_pack(exa_qtype t, const void *W, int64_t rows, int64_t cols, void *out);
/* the same for groups [g0, g1) only (threads pack disjoint group ranges of one buffer) */
exa_status exa_qx16_pack_groups(exa_qtype t, const void *W, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                                void *out);

/* y[tok*ldy + r] = (row r of W) · (activation row tok) for rows r in [16*g0, min(16*g1, rows)) and
 * tokens tok in [0, T). P = exa_qx16_pack output for (t, rows, cols); act = T activation rows in
 * exa_qtype_act(t) format (Q8_K for the k-quants, Q8_0 for Q8_0; exa_quantize_act_rows), act_stride
 * bytes apart;
 * ldy in floats. Groups past the matrix are ignored; T < 1 does nothing. Runs the AVX-512 VNNI
 * kernel when the active CPU level has it, else exa_qx16_matmul_scalar. Single-threaded: threads
 * take disjoint group ranges. */
void exa_qx16_matmul(exa_qtype t, const void *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1, const void *act,
                     size_t act_stride, int T, float *y, size_t ldy);
/* AMX: with AMX tiles usable (exa_cpu_amx) and their start-up self-check passed, T >=
 * EXA_QX16_AMX_MIN_T tokens go through the tile kernels (kernels/quant_x16_amx.h), in chunks of
 * up to 16 tokens; same contract and same bits. The threshold is a guess: no AMX machine has been
 * available to measure where tiles start to pay. */
#define EXA_QX16_AMX_MIN_T 4
#define EXA_QX16_AMX_MAX_T 16
/* "on", or "off (why)" — for `exaone info` and the benchmark */
const char *exa_qx16_amx_state(void);
/* the AMX tile kernels run on the software tile unit (kernels/amx_emu.h), on any CPU with AVX-512
 * VNNI (else the scalar reference): what the tests use to check the tile kernels' logic */
void exa_qx16_matmul_amx_emu(exa_qtype t, const void *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                             const void *act, size_t act_stride, int T, float *y, size_t ldy);
/* the scalar reference over the packed layout (same contract, same bits) */
void exa_qx16_matmul_scalar(exa_qtype t, const void *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                            const void *act, size_t act_stride, int T, float *y, size_t ldy);

#endif
