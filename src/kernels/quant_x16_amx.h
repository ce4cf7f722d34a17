/* quant_x16_amx.h — the AMX (tile) kernels over the x16 layouts, as a template: quant_x16.c
 * includes it twice, after kernels/amx_ops.h: once with the real tile instructions and once with
 * the software tile unit of amx_emu.h (which the tests run on any AVX-512 CPU). The includer has
 * defined the VNNI kernels' helpers (Q4K_UNPACK, q4k_end, q6k_off, Q6K_UNPACK, q6k_end, q80_add,
 * x16_drive, prefetch_lines, the GSB offsets).
 *
 * Why the x16 layout suits AMX: a B operand of TDPBSUD is K/4 rows of 16 × 4 bytes, row q holding
 * k = 4q..4q+3 of 16 output columns — exactly one 64-byte x16 code vector (16 weight rows × 4
 * consecutive k). The A operand is 16 rows of K bytes: K consecutive activation codes of up to 16
 * tokens, read in place from the Q8_K / Q8_0 activation rows with their stride. So
 *   C[t][r] = Σ_k a_t[k] · code_r[k]   (TDPBSUD: activations signed, codes unsigned)
 * is, per token t, the same 16-lane int32 vector p_t the VNNI kernel builds with K/4 vpdpbusd —
 * for 16 tokens in one instruction. Per scale block (Q4_K: 32 weights, Q6_K: 16, Q8_0: 32) the
 * kernel loads A and B, multiplies into a zeroed C, stores C (16 × 64 bytes) and finishes each
 * token's vector exactly as the VNNI kernel does (same integer sums, same float operations in the
 * same order), so results are bit-identical to the scalar reference, for any T and chunking.
 * Tiles: 0 = C (nt × 64 bytes), 1 = A (nt × K bytes), 2 = B (K/4 × 64 bytes). Q8_0's codes are
 * loaded straight from the packed weights; Q4_K's nibbles and Q6_K's split bits are unpacked by
 * the VNNI kernel's code into a 512-byte buffer first.
 *
 * Integer ranges: C is the VNNI kernel's p_t before its offset (Q6_K -32·bsum, Q8_0 -128·Σa),
 * |C| <= 32·255·128 (Q8_0) — far inside int32; the offsets are added after, exactly. */

/* one tile configuration: tokens nt (rows of A and C), K bytes per A row */
AMX_TGT static void AMX_FN(amx_config)(int nt, int kbytes) {
    _Alignas(64) uint8_t cfg[64];
    memset(cfg, 0, sizeof cfg);
    cfg[0] = 1; /* palette 1 */
    const int colsb[3] = {64, kbytes, 64}, rows[3] = {nt, nt, kbytes / 4};
    for (int i = 0; i < 3; i++) {
        cfg[16 + 2 * i] = (uint8_t)colsb[i];
        cfg[48 + i] = (uint8_t)rows[i];
    }
    AMX_CFG(cfg);
}

/* C = A · B for the block: A at a (token stride as), B at b (64-byte rows) -> c (tokens × 16 int32) */
#define AMX_BLOCK(a, as, b, c)                                                                                \
    do {                                                                                                      \
        AMX_ZERO(0);                                                                                          \
        AMX_LOAD(1, a, as);                                                                                   \
        AMX_LOAD(2, b, 64);                                                                                   \
        AMX_DPBSUD(0, 1, 2);                                                                                  \
        AMX_STORE(0, c, 64);                                                                                  \
    } while (0)

/* Q4_K: per sub-block j (32 weights), C = A·B, then i_t += C_t ⊙ sc_j; per GSB q4k_end */
AMX_TGT static void AMX_FN(q4k_amx)(const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb,
                                    size_t ts, int nt, float *y, size_t ldy, __mmask16 rmask) {
    (void)tb, (void)ts;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    _Alignas(64) uint8_t bt[8][64];     /* (K/4 = 8, 16 rows × 4) the B tile */
    _Alignas(64) int32_t cb[16][16];    /* (tokens, rows) the C tile */
    __m512 f[16];
    __m512i is[16];
    for (int t = 0; t < nt; t++) f[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q4K_GSB, *A = act + (size_t)i * sizeof(exa_block_q8_K);
        for (int t = 0; t < nt; t++) is[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = B + Q4K_CODES + 256 * j;
            prefetch_lines(B, X16_PF_GSBS * Q4K_GSB + 320 * (size_t)j, 5);
            Q4K_UNPACK(q);
            _mm512_store_si512(bt[0], l0), _mm512_store_si512(bt[1], h0), _mm512_store_si512(bt[2], l1);
            _mm512_store_si512(bt[3], h1), _mm512_store_si512(bt[4], l2), _mm512_store_si512(bt[5], h2);
            _mm512_store_si512(bt[6], l3), _mm512_store_si512(bt[7], h3);
            AMX_BLOCK(A + A_QS + 32 * j, as, bt, cb);
            const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(B + Q4K_SC + 16 * j)));
            for (int t = 0; t < nt; t++) is[t] = _mm512_add_epi32(is[t], _mm512_mullo_epi32(_mm512_load_si512(cb[t]), sc));
        }
        Q4K_GSB_CONSTS(B);
        for (int t = 0; t < nt; t++) f[t] = q4k_end(f[t], A + (size_t)t * as, is[t], M0, M1, M2, M3, dd, dm);
    }
    for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(y + (size_t)t * ldy, rmask, f[t]);
}

/* Q6_K: per 16-weight group g, C = A·B (codes 0..63), then i_t += (C_t - 32·bsum_g) ⊙ sc_g */
AMX_TGT static void AMX_FN(q6k_amx)(const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb,
                                    size_t ts, int nt, float *y, size_t ldy, __mmask16 rmask) {
    (void)tb, (void)ts;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    _Alignas(64) uint8_t bt[4][64];
    _Alignas(64) int32_t cb[16][16];
    int32_t off[16][16];
    __m512 f[16];
    __m512i is[16];
    for (int t = 0; t < nt; t++) f[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q6K_GSB, *A = act + (size_t)i * sizeof(exa_block_q8_K);
        for (int t = 0; t < nt; t++) q6k_off(off[t], A + (size_t)t * as), is[t] = _mm512_setzero_si512();
        for (int g = 0; g < 16; g++) {
            prefetch_lines(B, X16_PF_GSBS * Q6K_GSB + 212 * (size_t)g, 4);
            const uint8_t *u = B + Q6K_UNITS + 192 * g;
            Q6K_UNPACK(u);
            _mm512_store_si512(bt[0], c0), _mm512_store_si512(bt[1], c1);
            _mm512_store_si512(bt[2], c2), _mm512_store_si512(bt[3], c3);
            AMX_BLOCK(A + A_QS + 16 * g, as, bt, cb);
            const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(B + Q6K_SC + 16 * g)));
            for (int t = 0; t < nt; t++) {
                const __m512i p = _mm512_add_epi32(_mm512_set1_epi32(off[t][g]), _mm512_load_si512(cb[t]));
                is[t] = _mm512_add_epi32(is[t], _mm512_mullo_epi32(p, sc));
            }
        }
        const __m512 d = _mm512_loadu_ps(B + Q6K_D);
        for (int t = 0; t < nt; t++) f[t] = q6k_end(f[t], d, A + (size_t)t * as, is[t]);
    }
    for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(y + (size_t)t * ldy, rmask, f[t]);
}

/* Q8_0: per 32-weight block, C = A·B with B the packed codes (w + 128) in place, then
 * f_t += (float)(C_t - 128·Σa) · (dx · dy) */
AMX_TGT static void AMX_FN(q80_amx)(const uint8_t *G, int64_t nb, const uint8_t *act, size_t as, const int32_t *tb,
                                    size_t ts, int nt, float *y, size_t ldy, __mmask16 rmask) {
    _Alignas(64) int32_t cb[16][16];
    __m512 f[16];
    for (int t = 0; t < nt; t++) f[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *B = G + (size_t)i * Q80_GSB;
        for (int e = 0; e < 2; e++) {
            const size_t blk = 2 * (size_t)i + (size_t)e;
            prefetch_lines(B, X16_PF_Q80 * Q80_GSB + 576 * (size_t)e, 9);
            AMX_BLOCK(act + blk * sizeof(exa_block_q8_0) + offsetof(exa_block_q8_0, qs), as, B + 64 + 512 * e, cb);
            const __m512 dx = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(B + 32 * e)));
            for (int t = 0; t < nt; t++) {
                const int32_t *tt = tb + (size_t)t * ts + 2 * blk;
                f[t] = q80_add(f[t], _mm512_add_epi32(_mm512_set1_epi32(tt[0]), _mm512_load_si512(cb[t])), dx, tt);
            }
        }
    }
    for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(y + (size_t)t * ldy, rmask, f[t]);
}

/* one row group's chunk of nt tokens (x16_run_fn): the tile shape is set when nt changes */
AMX_TGT static void AMX_FN(run_amx)(exa_qtype t, const uint8_t *G, int64_t nb, const uint8_t *act, size_t as,
                                    const int32_t *tb, size_t ts, int nt, float *y, size_t ldy, __mmask16 m, int *configured) {
    if (nt != *configured) {
        AMX_FN(amx_config)(nt, t == EXA_QTYPE_Q6_K ? 16 : 32);
        *configured = nt;
    }
    (t == EXA_QTYPE_Q4_K ? AMX_FN(q4k_amx) : t == EXA_QTYPE_Q6_K ? AMX_FN(q6k_amx) : AMX_FN(q80_amx))(
        G, nb, act, as, tb, ts, nt, y, ldy, m);
}

/* x16_drive with chunks of up to 16 tokens (the tile's rows); the tiles released after */
AMX_TGT static int AMX_FN(matmul_amx)(exa_qtype t, const uint8_t *P, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                                      const uint8_t *act, size_t as, int T, float *y, size_t ldy) {
    int configured = 0;
    const int ok = x16_drive(t, P, rows, cols, g0, g1, act, as, T, y, ldy, EXA_QX16_AMX_MAX_T, AMX_FN(run_amx), &configured);
    if (configured) AMX_RELEASE();
    return ok;
}

#undef AMX_BLOCK
