/* quant_simd.h — quant.c's row quantizers with SIMD versions, written once over simd_f32.h's
 * vocabulary and included once per ISA (AVX-512, AVX2). Not a public header. Each is
 * bit-identical to its scalar reference in quant.c (tests/quant/test_quant.c checks every level).
 * Q8_0 rows are the activations of Q8_0/Q4_0 weights, quantized on the calling thread before
 * every matrix product: on the serial path of each decode step. */

/* REF: quant.c quantize_q8_0 (ggml's quantize_row_q8_0): amax skips NaN as fmaxf does (max_ps
 * returns its second operand when either is NaN, so a NaN |x| leaves m), the same d = amax/127,
 * id = 1/d, float product per element and rounding (ST_I8) */
static SIMD_TARGET void SIMD(quantize_q8_0)(const float *x, exa_block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EXA_QK) {
        VEC m = V_ZERO();
        for (int j = 0; j < EXA_QK; j += VL) m = V_MAX(V_ABS(V_LOADU(x + j)), m);
        const float amax = V_RMAX(m);
        const float d = amax / 127.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = exa_f32_to_f16(d);
        const VEC vid = V_SET1(id);
        for (int j = 0; j < EXA_QK; j += VL) ST_I8(y[i].qs + j, V_MUL(V_LOADU(x + j), vid));
    }
}
