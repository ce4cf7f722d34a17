/* amx_emu.h — a software model of the Intel AMX tile unit (palette 1, AMX-TILE + AMX-INT8), so
 * that the AMX kernels' logic (tile shapes, strides, the VNNI operand layout, the post-processing
 * of the int32 results) is tested on every CPU with AVX-512, AMX or not. The kernels are written
 * once over tile macros (kernels/quant_x16_amx.h) and compiled twice: with the real instructions,
 * and with these functions. What the model cannot check is the hardware itself: run-time
 * enabling (exa_cpu_amx) and a start-up self-check against the scalar reference cover that.
 *
 * Semantics follow the Intel SDM (vol. 2, "LDTILECFG", "TILELOADD", "TDPBSUD"; ISE ch. 3):
 *  - the 64-byte config: byte 0 palette (1; 0 = release), byte 1 start_row (must be 0 here),
 *    bytes 16+2i = bytes per row of tile i (u16, <= 64), byte 48+i = rows of tile i (<= 16);
 *    tiles 0..7; an unconfigured tile has 0 rows. A bad config is a fault (#GP on hardware).
 *  - TILELOADD t, [base + stride*row]: rows × colsb bytes; the rest of the tile is zeroed.
 *  - TILESTORED: rows × colsb bytes. TILEZERO: all zero.
 *  - TDPBSUD c, a, b (M = rows(c) = rows(a), K = colsb(a) = 4·rows(b), N = colsb(c)/4 =
 *    colsb(b)/4): c[m][n] += Σ_k sext(a[m][k]) · zext(b[k/4][4n + k%4]), int32, wrapping; shapes
 *    that do not agree are a fault (#UD on hardware). TDPBF16PS: see below.
 * A fault does nothing but count (exa_amx_emu_faults): tests require zero.
 * State is per thread, as the tile registers are. */
#ifndef EXA_KERNELS_AMX_EMU_H
#define EXA_KERNELS_AMX_EMU_H

#include <stddef.h>

void exa_amx_emu_loadconfig(const void *cfg64);
void exa_amx_emu_release(void);
void exa_amx_emu_zero(int t);
void exa_amx_emu_loadd(int t, const void *base, size_t stride);
void exa_amx_emu_stored(int t, void *base, size_t stride);
void exa_amx_emu_dpbsud(int c, int a, int b);
/* TDPBF16PS c, a, b (M = rows(c) = rows(a), K pairs = colsb(a)/4 = rows(b), N = colsb(c)/4 =
 * colsb(b)/4): for each pair k, c[m][n] += a[m][2k]·b[k][2n], then += a[m][2k+1]·b[k][2n+1], in
 * f32 with round to nearest even, bf16 inputs and f32 results that are subnormal taken as zero
 * (the SDM's DAZ/FTZ; the products of two bf16 are exact in f32). The SDM leaves the rounding of
 * the accumulation to the implementation; this is its pseudo-code, so hardware may differ in the
 * last bits and tests of bf16 kernels compare with a tolerance. */
void exa_amx_emu_dpbf16ps(int c, int a, int b);
/* faults (bad config, tile number, shape or use before configuring) since the program started,
 * over all threads */
long exa_amx_emu_faults(void);

#endif
