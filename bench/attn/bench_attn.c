/* bench_attn.c — attention time of one decoded token over a KV cache of n positions, single
 * thread, for the model shapes of EXAONE 4.0 1.2B (32 heads, 8 KV heads, head_dim 64, 30 layers)
 * and EXAONE 3.5 2.4B (32 / 8 / 80 / 30): the GQA kernel of kernels/attn.h with each cache type
 * (f32, f16, bf16, q8_0) on the engine's head-major cache (Hkv, n, d) at the active CPU level,
 * against "old", the loop the engine used before (one query head at a time over an f32 cache of
 * (n, Hkv·d) rows: an f32 dot product per key, scalar weighted sum of values). Each layer has its own cache (16 layers' worth are cycled, so rows come from DRAM as in
 * real decoding — larger than the L3) and the time is scaled to all layers. Shared machines are
 * noisy: each run times every kernel in turn, and "vs old" is the median over runs of the ratio
 * old / kernel within the run (ms / token: median over runs).
 * Then the KV-row store (exa_attn_store_row's f32 → f16 / bf16 conversion, kernels/attn.c) of one
 * token's K and V rows for all layers: the scalar reference loop against exa_attn_store_row at the
 * active level (medians of interleaved runs of 200 tokens each).
 * Usage: bench_attn [runs]   (default 7). EXA_BENCH_STORE=1: only the store section (seconds).
 * Not a pass/fail test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/attn.h"
#include "kernels/kernels.h"
#include "../bench_util.h"

#define POOL_LAYERS 16
/* kernels timed: the old loop, the GQA kernel per type on the engine's head-major cache, and the
 * GQA kernel on f16 rows laid out as the cache first was, (n, Hkv·d) per layer (heads strided) */
#define NK 6
static const int kern_type[NK] = {0, 0, 1, 2, 3, 1}; /* index into types[] */
static const char *const kern_name[NK] = {"old per-head, f32 (n, Hkv·d)", "gqa f32", "gqa f16", "gqa bf16", "gqa q8_0",
                                          "gqa f16 on (n, Hkv·d) rows"};

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

/* the engine's attention before the GQA kernel: one query head at a time, f32 cache */
static void old_attn(const float *K, const float *V, int n, int H, int Hkv, int d, const float *q, float *out, float *sc) {
    const int G = H / Hkv;
    const size_t KVd = (size_t)Hkv * (size_t)d;
    const float scale = 1.0f / sqrtf((float)d);
    exa_dot_fn dot = exa_dot_get(EXA_DTYPE_F32, exa_cpu_active());
    for (int h = 0; h < H; h++) {
        const int kvh = h / G;
        for (int t = 0; t < n; t++) sc[t] = dot(K + (size_t)t * KVd + (size_t)kvh * d, q + (size_t)h * d, d) * scale;
        exa_softmax(sc, n);
        float *o = out + (size_t)h * d;
        memset(o, 0, (size_t)d * sizeof *o);
        for (int t = 0; t < n; t++) {
            const float *vv = V + (size_t)t * KVd + (size_t)kvh * d;
            const float w = sc[t];
            for (int k = 0; k < d; k++) o[k] += w * vv[k];
        }
    }
}

typedef struct { const char *name; int H, Hkv, d, L; } shape;

/* µs per token to write its K and V rows (2 · L · Hkv · d values) as f16 / bf16: the scalar
 * reference loop (what exa_attn_store_row did before) against exa_attn_store_row at level lv
 * (exa_cpu_active(), EXA_CPU=scalar|avx2 lowers it) */
static void bench_store(const shape *shapes, int nshapes, exa_cpu_level lv, int runs) {
    printf("\nKV-row store, f32 -> f16 / bf16, one token's K and V rows of all layers, 1 thread, median of %d runs\n\n", runs);
    printf("| shape | type | scalar µs / token | %s µs / token | speed-up |\n| --- | --- | ---: | ---: | ---: |\n", exa_cpu_level_name(lv));
    for (int si = 0; si < nshapes; si++) {
        const shape *S = &shapes[si];
        const size_t nv = (size_t)2 * S->L * S->Hkv * S->d, TOK = 200;
        float *x = malloc(sizeof(float) * nv);
        uint16_t *h = malloc(sizeof(uint16_t) * nv);
        double *t = malloc(sizeof(double) * 2 * (size_t)runs), *ratio = malloc(sizeof(double) * (size_t)runs);
        unsigned seed = 11;
        for (size_t i = 0; i < nv; i++) x[i] = frand(&seed) * 4.0f;
        for (int ty = 0; ty < 2; ty++) {
            for (int r = 0; r < runs; r++)
                for (int k = 0; k < 2; k++) {
                    const double t0 = now();
                    for (size_t tok = 0; tok < TOK; tok++)
                        for (size_t o = 0; o < nv; o += (size_t)S->d) { /* per head row, as the engine writes them */
                            if (k) exa_attn_store_row(ty ? EXA_DTYPE_BF16 : EXA_DTYPE_F16, x + o, h + o, 1, S->d);
                            else if (ty) for (int i = 0; i < S->d; i++) h[o + i] = exa_f32_to_bf16(x[o + i]);
                            else for (int i = 0; i < S->d; i++) h[o + i] = exa_f32_to_f16(x[o + i]);
                        }
                    t[k * runs + r] = (now() - t0) * 1e6 / (double)TOK;
                }
            for (int r = 0; r < runs; r++) ratio[r] = t[r] / t[runs + r];
            const double rt = median(ratio, runs), a = median(t, runs), b = median(t + runs, runs);
            printf("| %s | %s | %.1f | %.1f | %.1fx |\n", S->name, ty ? "bf16" : "f16", a, b, rt);
        }
        free(x); free(h); free(t); free(ratio);
    }
}

int main(int argc, char **argv) {
    const int runs = argc > 1 ? atoi(argv[1]) : 7;
    const shape shapes[] = {{"exaone4-1.2b", 32, 8, 64, 30}, {"exaone3.5-2.4b", 32, 8, 80, 30}};
    const char *so = getenv("EXA_BENCH_STORE");
    if (so && *so == '1') {
        bench_store(shapes, 2, exa_cpu_active(), runs);
        return 0;
    }
    const int ctxs[] = {512, 2048};
    const exa_dtype types[] = {EXA_DTYPE_F32, EXA_DTYPE_F16, EXA_DTYPE_BF16, EXA_DTYPE_Q8_0};
    const exa_cpu_level lv = exa_cpu_active();
    printf("attention of one decoded token, all layers, 1 thread, level %s, median of %d runs\n\n", exa_cpu_level_name(lv), runs);
    printf("| shape | context | kernel | ms / token | KV GB/s | vs old |\n| --- | ---: | --- | ---: | ---: | ---: |\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *S = &shapes[si];
        const int G = S->H / S->Hkv, KVd = S->Hkv * S->d;
        for (size_t ci = 0; ci < sizeof ctxs / sizeof ctxs[0]; ci++) {
            const int n = ctxs[ci];
            unsigned seed = 7;
            float *q = malloc(sizeof(float) * (size_t)S->H * S->d), *out = malloc(sizeof(float) * (size_t)S->H * S->d);
            float *sc = malloc(sizeof(float) * (size_t)G * n);
            float *x = malloc(sizeof(float) * (size_t)KVd);
            for (int i = 0; i < S->H * S->d; i++) q[i] = frand(&seed);
            /* one cache pool per type; "old" (k = 0) reads the f32 one */
            uint8_t *kv[4];
            size_t R[4], layer[4];
            for (int ti = 0; ti < 4; ti++) {
                R[ti] = (size_t)S->Hkv * exa_attn_head_bytes(types[ti], S->d);
                layer[ti] = R[ti] * (size_t)n;
                kv[ti] = malloc(layer[ti] * 2 * POOL_LAYERS);
                if (!kv[ti]) { fprintf(stderr, "out of memory\n"); return 1; }
                for (size_t r = 0; r < (size_t)n * 2 * POOL_LAYERS; r++) {
                    for (int i = 0; i < KVd; i++) x[i] = frand(&seed);
                    exa_attn_store_row(types[ti], x, kv[ti] + r * R[ti], S->Hkv, S->d);
                }
            }
            double *ms = malloc(sizeof(double) * (size_t)runs * NK), *ratio = malloc(sizeof(double) * (size_t)runs);
            /* runs interleave the kernels, so each run's ratios to "old" compare equal moments */
            for (int r = 0; r < runs; r++)
                for (int k = 0; k < NK; k++) {
                    const int ti = kern_type[k], rows = k == 0 || k == NK - 1; /* (n, Hkv·d) rows, else (Hkv, n, d) */
                    const exa_dtype t = types[ti];
                    exa_attn_fn fn = exa_attn_get(t, lv, S->d);
                    double t0 = now();
                    for (int l = 0; l < S->L; l++) {
                        const uint8_t *K = kv[ti] + (size_t)(l % POOL_LAYERS) * 2 * layer[ti], *V = K + layer[ti];
                        if (k == 0) {
                            old_attn((const float *)K, (const float *)V, n, S->H, S->Hkv, S->d, q, out, sc);
                            continue;
                        }
                        for (int h = 0; h < S->Hkv; h++) {
                            const size_t hb = exa_attn_head_bytes(t, S->d), ho = rows ? (size_t)h * hb : (size_t)h * hb * (size_t)n;
                            exa_attn_args a = {.type = t, .k = K + ho, .v = V + ho, .stride = rows ? R[ti] : hb, .cap = n, .lo = 0, .hi = n - 1,
                                               .d = S->d, .G = G, .q = q + (size_t)h * G * S->d, .q_stride = (size_t)S->d,
                                               .out = out + (size_t)h * G * S->d, .out_stride = (size_t)S->d,
                                               .scale = 1.0f / sqrtf((float)S->d), .scratch = sc};
                            fn(&a);
                        }
                    }
                    ms[k * runs + r] = (now() - t0) * 1e3;
                }
            for (int k = 0; k < NK; k++) {
                const int ti = kern_type[k];
                for (int r = 0; r < runs; r++) ratio[r] = ms[r] / ms[k * runs + r];
                const double rt = median(ratio, runs), m = median(ms + (size_t)k * runs, runs);
                printf("| %s | %d | %s | %.2f | %.1f | %.2fx |\n", S->name, n, kern_name[k], m,
                       (double)layer[ti] * 2 * S->L / (m * 1e-3) / 1e9, rt);
            }
            fflush(stdout);
            free(ms); free(ratio);
            for (int ti = 0; ti < 4; ti++) free(kv[ti]);
            free(q); free(out); free(sc); free(x);
        }
    }
    bench_store(shapes, 2, lv, runs);
    return 0;
}
