/* bf16_amx_impl.h — the AMX-BF16 matrix kernel for bf16 weights, as a template: bf16_amx.c
 * includes it twice after kernels/amx_ops.h (the real instructions, and the software tile unit
 * the tests run). Contract: exa_bf16_amx_matmul in kernels.h.
 *
 * TDPBF16PS: C[m][n] (f32) += Σ_k A[m][2k..2k+1] · B[k][2n..2n+1], bf16 pairs. Here m = token,
 * n = weight row, so A = 16 tokens × 32 consecutive activations (64 bytes a row, read in place
 * from the split activations with their row stride) and B = the matching 16 weight rows in pairs:
 * B row k = (W[r][2k], W[r][2k+1]) for r = 0..15 — a 16 × (cols/2) transpose of 32-bit words,
 * built once per row group into a panel and reused by every token chunk. C accumulates the whole
 * row in f32 inside the tile. The activations are three bf16 parts (hi + mid + lo = x, 24 bits),
 * three products per slab, so the result has f32 precision, not bf16's (the weights are exact).
 * Tiles: 0 = C (nt × 64 B), 1..3 = A hi/mid/lo (nt × 64 B), 4 = B (16 × 64 B). */

AMX_TGT static void AMX_FN(bf16_config)(int nt) {
    _Alignas(64) uint8_t cfg[64];
    memset(cfg, 0, sizeof cfg);
    cfg[0] = 1; /* palette 1 */
    for (int i = 0; i < 5; i++) {
        cfg[16 + 2 * i] = 64;
        cfg[48 + i] = (uint8_t)(i == 4 ? 16 : nt);
    }
    AMX_CFG(cfg);
}

/* rows [r0, r1) × tokens [0, T); 0 when the panel could not be allocated (nothing written) */
AMX_TGT static int AMX_FN(bf16_matmul)(const uint16_t *W, int64_t cols, int64_t r0, int64_t r1, const uint16_t *act, int T,
                                       float *y, size_t ldy) {
    const size_t ks = (size_t)cols / 2;          /* k-pairs per row */
    const size_t part = (size_t)T * (size_t)cols; /* bf16 values per activation part */
    uint32_t *panel = exa_aligned_alloc(sizeof(uint32_t) * 16 * ks); /* (cols/2, 16) word pairs */
    if (!panel) return 0;
    _Alignas(64) float cb[16][16]; /* (tokens, rows) the C tile */
    int configured = 0;
    for (int64_t r = r0; r < r1; r += 16) {
        const int nr = (int)(r1 - r < 16 ? r1 - r : 16);
        for (int i = 0; i < 16; i++) { /* transpose the group's rows into pairs (rows past r1: zero) */
            const uint16_t *src = W + (size_t)(r + (i < nr ? i : 0)) * (size_t)cols;
            for (size_t q = 0; q < ks; q++) {
                uint32_t v = 0;
                if (i < nr) memcpy(&v, src + 2 * q, 4);
                panel[q * 16 + (size_t)i] = v;
            }
        }
        int done = 0, chunks = (T + 15) / 16;
        for (; chunks > 0; chunks--) {
            const int nt = (T - done + chunks - 1) / chunks;
            if (nt != configured) {
                AMX_FN(bf16_config)(nt);
                configured = nt;
            }
            const uint16_t *a = act + (size_t)done * (size_t)cols;
            const size_t stride = sizeof(uint16_t) * (size_t)cols;
            AMX_ZERO(0);
            for (size_t s = 0; s < (size_t)cols / 32; s++) {
                AMX_LOAD(4, panel + s * 16 * 16, 64);
                AMX_LOAD(1, a + 32 * s, stride);
                AMX_LOAD(2, a + part + 32 * s, stride);
                AMX_LOAD(3, a + 2 * part + 32 * s, stride);
                AMX_DPBF16PS(0, 1, 4);
                AMX_DPBF16PS(0, 2, 4);
                AMX_DPBF16PS(0, 3, 4);
            }
            AMX_STORE(0, cb, 64);
            for (int t = 0; t < nt; t++) memcpy(y + (size_t)(done + t) * ldy + (size_t)r, cb[t], sizeof(float) * (size_t)nr);
            done += nt;
        }
    }
    if (configured) AMX_RELEASE();
    free(panel);
    return 1;
}
