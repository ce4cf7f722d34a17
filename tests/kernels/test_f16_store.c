/* test_f16_store.c — the KV-cache f32 → f16 / bf16 conversions (exa_attn_f32_to_f16 / _bf16,
 * src/kernels/attn.c) at every CPU level this machine has against the scalar reference
 * (core/tensor.h exa_f32_to_f16 / exa_f32_to_bf16), bit for bit.
 * Inputs: every f32 bit pattern whose low 16 bits are one of a set chosen to hit every rounding
 * case (exact, just below/at/above the halfway point of the f16 and bf16 cuts, odd/even results,
 * the subnormal shifts) and all 65536 high halves (sign, exponent, top mantissa bits): all
 * classes — zeros, f32 subnormals, f16 subnormals and their rounding into the normal range,
 * normals, overflow to inf, inf, quiet and signalling NaNs with every top payload. Plus runs of
 * consecutive patterns around the class boundaries, and lengths 0..40 for the vector tails.
 * EXA_F16_EXHAUSTIVE=1: all 2^32 patterns instead (~30 s on a Zen 4 core; passes at AVX2 and
 * AVX-512). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attn.h"
#include "test_util.h"

enum { CHUNK = 1 << 16 };
static float xs[CHUNK];
static uint16_t want_h[CHUNK], want_b[CHUNK], got[CHUNK];
static long long n_checked;

/* converts n patterns (already in xs) at every SIMD level this CPU has; one CHECK per level and
 * type, naming the first differing pattern */
static void check_xs(size_t n, const char *what) {
    for (size_t i = 0; i < n; i++) {
        want_h[i] = exa_f32_to_f16(xs[i]);
        want_b[i] = exa_f32_to_bf16(xs[i]);
    }
    for (int lv = EXA_CPU_AVX2; lv <= (int)exa_cpu_detect(); lv++) {
        for (int ty = 0; ty < 2; ty++) {
            const uint16_t *want = ty ? want_b : want_h;
            memset(got, 0xA5, sizeof got);
            if (ty) exa_attn_f32_to_bf16((exa_cpu_level)lv, xs, got, n);
            else exa_attn_f32_to_f16((exa_cpu_level)lv, xs, got, n);
            size_t bad = 0;
            while (bad < n && got[bad] == want[bad]) bad++;
            uint32_t u = 0;
            if (bad < n) memcpy(&u, &xs[bad], 4);
            CHECK(bad == n, "%s %s at %s: f32 0x%08x -> 0x%04x, scalar reference 0x%04x", ty ? "bf16" : "f16",
                  exa_cpu_level_name((exa_cpu_level)lv), what, (unsigned)u, got[bad], want[bad]);
            CHECK(n == CHUNK || got[n] == 0xA5A5, "%s %s at %s: wrote past n", ty ? "bf16" : "f16",
                  exa_cpu_level_name((exa_cpu_level)lv), what);
        }
    }
    n_checked += (long long)n;
}

static void set_bits(size_t i, uint32_t u) { memcpy(&xs[i], &u, 4); }

int main(void) {
    if (exa_cpu_detect() < EXA_CPU_AVX2) printf("no SIMD level on this CPU: only the scalar path exists\n");
    const char *ex = getenv("EXA_F16_EXHAUSTIVE");
    if (ex && *ex == '1') { /* all 2^32 bit patterns, 2^16 at a time */
        for (uint32_t hi = 0; hi < 65536; hi++) {
            for (uint32_t lo = 0; lo < CHUNK; lo++) set_bits(lo, hi << 16 | lo);
            check_xs(CHUNK, "exhaustive");
        }
        printf("exhaustive: %lld patterns\n", n_checked);
        return TEST_END();
    }
    /* every high half with low halves at the rounding cases: bits 13-15 (f16 result parity,
     * halfway bits of the subnormal cuts 14 and 15, bf16's halfway bit 15) in all 8 states, each
     * with bits 0-12 at 0, 1, just below / at / above half of the f16 cut, all ones */
    static const uint32_t lows[] = {0, 1, 0xfff, 0x1000, 0x1001, 0x1fff};
    size_t k = 0;
    for (uint32_t hi = 0; hi < 65536; hi++)
        for (uint32_t b = 0; b < 8; b++)
            for (size_t a = 0; a < sizeof lows / sizeof lows[0]; a++) {
                set_bits(k++, hi << 16 | b << 13 | lows[a]);
                if (k == CHUNK) { check_xs(k, "rounding cases"); k = 0; }
            }
    if (k) check_xs(k, "rounding cases");
    /* every pattern in windows around the class boundaries, both signs: zero / f32 subnormals,
     * f16 underflow to zero (2^-25), the f16 subnormal / normal boundary (2^-14), the largest
     * finite f16 and overflow (65520), the largest finite f32, inf and the NaNs */
    static const uint32_t edges[] = {0x00000000u, 0x33000000u, 0x38800000u, 0x477fe000u, 0x477ff000u,
                                     0x7f7f0000u, 0x7f800000u, 0x7fc00000u};
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++)
        for (uint32_t s = 0; s < 2; s++) {
            for (uint32_t i = 0; i < CHUNK; i++) set_bits(i, (s << 31) | (edges[e] - (edges[e] ? CHUNK / 2 : 0) + i));
            check_xs(CHUNK, "class boundaries");
        }
    /* 2^24 random patterns */
    uint32_t r = 2463534242u;
    for (int c = 0; c < 256; c++) {
        for (uint32_t i = 0; i < CHUNK; i++) {
            r ^= r << 13, r ^= r >> 17, r ^= r << 5;
            set_bits(i, r);
        }
        check_xs(CHUNK, "random patterns");
    }
    /* lengths 0..40 (vector bodies and scalar tails), nothing written past n */
    for (int n = 0; n <= 40; n++) {
        for (int i = 0; i < n; i++) xs[i] = test_randf() * 70000.0f;
        check_xs((size_t)n, "short rows");
    }
    /* the cache row writer uses the same conversion */
    float x[128];
    uint16_t h[128];
    for (int i = 0; i < 128; i++) x[i] = test_randf() * 3.0f;
    x[5] = -0.0f, x[6] = 1e-6f, x[7] = 1e9f;
    memcpy(&x[8], &(uint32_t){0x7fa00001u}, 4); /* signalling NaN with a payload */
    exa_attn_store_row(EXA_DTYPE_F16, x, h, 2, 64);
    int ok = 1;
    for (int i = 0; i < 128; i++) ok &= h[i] == exa_f32_to_f16(x[i]);
    CHECK(ok, "exa_attn_store_row f16 = scalar reference");
    exa_attn_store_row(EXA_DTYPE_BF16, x, h, 2, 64);
    ok = 1;
    for (int i = 0; i < 128; i++) ok &= h[i] == exa_f32_to_bf16(x[i]);
    CHECK(ok, "exa_attn_store_row bf16 = scalar reference");
    printf("%lld patterns, levels up to %s\n", n_checked, exa_cpu_level_name(exa_cpu_detect()));
    return TEST_END();
}
