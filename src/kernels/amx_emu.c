/* amx_emu.c — the software tile unit of amx_emu.h: eight 16 × 64-byte tiles and their
 * configuration per thread, faults counted program-wide. Plain C, used by the tests (and by
 * nothing on the hot path). */
#include "kernels/amx_emu.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define AMX_TILES 8
#define AMX_ROWS 16
#define AMX_COLSB 64

typedef struct {
    uint8_t t[AMX_TILES][AMX_ROWS][AMX_COLSB];
    uint8_t rows[AMX_TILES];
    uint16_t colsb[AMX_TILES];
    int configured;
} amx_state;

static _Thread_local amx_state S;
static atomic_long faults;

static void fault(void) { atomic_fetch_add(&faults, 1); }
long exa_amx_emu_faults(void) { return atomic_load(&faults); }

void exa_amx_emu_release(void) { memset(&S, 0, sizeof S); }

void exa_amx_emu_loadconfig(const void *cfg64) {
    const uint8_t *c = cfg64;
    if (c[0] == 0) { exa_amx_emu_release(); return; }
    if (c[0] != 1 || c[1] != 0) { fault(); return; }
    for (int i = 2; i < 16; i++)
        if (c[i]) { fault(); return; } /* reserved bytes must be zero */
    amx_state n;
    memset(&n, 0, sizeof n);
    for (int i = 0; i < 16; i++) {
        const uint16_t colsb = (uint16_t)(c[16 + 2 * i] | c[17 + 2 * i] << 8);
        const uint8_t rows = c[48 + i];
        if (i >= AMX_TILES) {
            if (colsb || rows) { fault(); return; } /* palette 1 has 8 tiles */
            continue;
        }
        if (colsb > AMX_COLSB || rows > AMX_ROWS || (colsb == 0) != (rows == 0)) { fault(); return; }
        n.rows[i] = rows;
        n.colsb[i] = colsb;
    }
    n.configured = 1;
    S = n;
}

static int usable(int t) {
    if (!S.configured || t < 0 || t >= AMX_TILES || !S.rows[t]) { fault(); return 0; }
    return 1;
}

void exa_amx_emu_zero(int t) {
    if (usable(t)) memset(S.t[t], 0, sizeof S.t[t]);
}

void exa_amx_emu_loadd(int t, const void *base, size_t stride) {
    if (!usable(t)) return;
    memset(S.t[t], 0, sizeof S.t[t]);
    for (int r = 0; r < S.rows[t]; r++) memcpy(S.t[t][r], (const uint8_t *)base + (size_t)r * stride, S.colsb[t]);
}

void exa_amx_emu_stored(int t, void *base, size_t stride) {
    if (!usable(t)) return;
    for (int r = 0; r < S.rows[t]; r++) memcpy((uint8_t *)base + (size_t)r * stride, S.t[t][r], S.colsb[t]);
}

void exa_amx_emu_dpbsud(int c, int a, int b) {
    if (!usable(c) || !usable(a) || !usable(b)) return;
    const int M = S.rows[c], K = S.colsb[a], N = S.colsb[c] / 4;
    if (c == a || c == b || a == b || S.rows[a] != M || K != 4 * S.rows[b] || S.colsb[b] != S.colsb[c] ||
        S.colsb[c] % 4 || K % 4) {
        fault();
        return;
    }
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            uint32_t acc;
            memcpy(&acc, &S.t[c][m][4 * n], 4);
            for (int k = 0; k < K; k++)
                acc += (uint32_t)((int32_t)(int8_t)S.t[a][m][k] * (int32_t)S.t[b][k / 4][4 * n + k % 4]);
            memcpy(&S.t[c][m][4 * n], &acc, 4);
        }
}

static float bf16_daz(const uint8_t *p) { /* bf16 at p as f32, subnormals as zero */
    const uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
    float f;
    memcpy(&f, &u, 4);
    return fpclassify(f) == FP_SUBNORMAL ? copysignf(0.f, f) : f;
}

static float ftz(float f) { return fpclassify(f) == FP_SUBNORMAL ? copysignf(0.f, f) : f; }

void exa_amx_emu_dpbf16ps(int c, int a, int b) {
    if (!usable(c) || !usable(a) || !usable(b)) return;
    const int M = S.rows[c], K = S.colsb[a] / 4, N = S.colsb[c] / 4;
    if (c == a || c == b || a == b || S.rows[a] != M || K != S.rows[b] || S.colsb[b] != S.colsb[c] ||
        S.colsb[c] % 4 || S.colsb[a] % 4) {
        fault();
        return;
    }
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float acc;
            memcpy(&acc, &S.t[c][m][4 * n], 4);
            for (int k = 0; k < K; k++)
                for (int e = 0; e < 2; e++) {
                    const volatile float prod = bf16_daz(&S.t[a][m][4 * k + 2 * e]) * bf16_daz(&S.t[b][k][4 * n + 2 * e]);
                    acc = ftz(acc + prod); /* separate rounding of the product (exact) and the sum: no FMA */
                }
            memcpy(&S.t[c][m][4 * n], &acc, 4);
        }
}
