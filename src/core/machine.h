/* machine.h — measures this machine's limits, so benchmarks can report fractions of them:
 * sustained read bandwidth of main memory (all threads), peak f32 FMA throughput at the
 * active SIMD level and peak int8 dot-product throughput (VNNI, and AMX tiles where on). Each measurement takes well under a second. */
#ifndef EXA_CORE_MACHINE_H
#define EXA_CORE_MACHINE_H

#include <stddef.h>

#include "core/threadpool.h"

/* GB/s (1e9 bytes/s) reading a buffer far larger than the caches; median of `reps` passes. */
double exa_machine_read_bandwidth(exa_pool *pool, size_t bytes, int reps);
/* GFLOP/s of independent f32 FMAs on all threads at the active CPU level (an FMA = 2 FLOPs). */
double exa_machine_peak_gflops(exa_pool *pool);
/* GOP/s of int8 multiply-adds (u8·s8, 2 ops each) through AVX-512 VNNI's vpdpbusd on all
 * threads — the arithmetic of the block-quantized kernels; 0 when the active level lacks it. */
double exa_machine_peak_int8_gops(exa_pool *pool);
/* GOP/s of int8 multiply-adds through AMX tiles (TDPBSSD) on all threads; 0 unless the AMX
 * kernels are on (kernels/quant_x16.h exa_qx16_amx_state). */
double exa_machine_peak_amx_int8_gops(exa_pool *pool);
/* GFLOP/s of bf16 multiply-adds through AMX tiles (TDPBF16PS); 0 unless AMX-BF16 is on
 * (kernels.h exa_bf16_amx_state). */
double exa_machine_peak_amx_bf16_gflops(exa_pool *pool);

#endif
