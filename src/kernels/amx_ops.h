/* amx_ops.h — the tile operations the AMX kernel templates (quant_x16_amx.h, gemm_bf16_amx.h) are
 * written in, for one instance: the real instructions, or, with AMX_EMU defined, the software
 * tile unit of amx_emu.h (what the tests run on CPUs without AMX). Include it before each
 * instance of a template and amx_ops_end.h after; no include guard, on purpose.
 *   AMX_FN(name)   the instance's name for a function (name_hw / name_emu)
 *   AMX_TGT        its target attribute (AVX-512 with VNNI, plus the AMX extensions for _hw)
 *   AMX_CFG(p) AMX_RELEASE() AMX_ZERO(t) AMX_LOAD(t, p, stride) AMX_STORE(t, p, stride)
 *   AMX_DPBSUD(c, a, b) AMX_DPBF16PS(c, a, b)      (tile numbers are constants)
 * GCC 12's _tile_loadd and _tile_loadconfig are asm statements that do not tell the compiler they
 * read memory (the config: only its first 8 bytes), so a compiler barrier before each makes the
 * stores to a B buffer and to the config land first; _tile_stored has its memory clobber. */
#include <immintrin.h>

#include "kernels/amx_emu.h"

#define AMX_AVX512_TGT "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#ifdef AMX_EMU
#define AMX_FN(name) name##_emu
#define AMX_TGT __attribute__((target(AMX_AVX512_TGT)))
#define AMX_CFG(p) exa_amx_emu_loadconfig(p)
#define AMX_RELEASE() exa_amx_emu_release()
#define AMX_ZERO(t) exa_amx_emu_zero(t)
#define AMX_LOAD(t, p, s) exa_amx_emu_loadd(t, p, s)
#define AMX_STORE(t, p, s) exa_amx_emu_stored(t, p, s)
#define AMX_DPBSUD(c, a, b) exa_amx_emu_dpbsud(c, a, b)
#define AMX_DPBF16PS(c, a, b) exa_amx_emu_dpbf16ps(c, a, b)
#else
#define AMX_BARRIER() __asm__ volatile("" ::: "memory")
#define AMX_FN(name) name##_hw
#define AMX_TGT __attribute__((target(AMX_AVX512_TGT ",amx-tile,amx-int8,amx-bf16")))
#define AMX_CFG(p) do { AMX_BARRIER(); _tile_loadconfig(p); } while (0)
#define AMX_RELEASE() _tile_release()
#define AMX_ZERO(t) _tile_zero(t)
#define AMX_LOAD(t, p, s) do { AMX_BARRIER(); _tile_loadd(t, p, (long)(s)); } while (0)
#define AMX_STORE(t, p, s) do { _tile_stored(t, p, (long)(s)); AMX_BARRIER(); } while (0)
#define AMX_DPBSUD(c, a, b) _tile_dpbsud(c, a, b)
#define AMX_DPBF16PS(c, a, b) _tile_dpbf16ps(c, a, b)
#endif
