/* dev/decode_streams.c — experiment: does one core stream weights faster from DRAM when its
 * decode kernel (Q4_K x16, T = 1) walks NG row groups at once, GSB by GSB (NG interleaved memory
 * streams for the hardware prefetchers), instead of one group after the other (one stream)?
 * Prints GB/s of packed bytes for NG = 1, 2, 4 on 1 and 2 threads; medians of R runs over a
 * 74 MiB matrix (far larger than the caches).
 *
 * RESULT (2026-11-22, Zen 4 VM, quiet, host in its slow state, 9 runs): NO. 1 thread: NG 1 17.7,
 * NG 2 13.0, NG 4 12.8 GB/s; 2 threads: 21.3, 18.9, 12.6 GB/s. More streams per core lose; the
 * one-stream walk stays. (A plain read loop showed the same: 1-8 interleaved streams per thread
 * did not beat one.)
 * EXPERIMENT 2 (FAR=D: also prefetch D GSBs ahead into L2, _MM_HINT_T1): on this long 74 MiB walk,
 * 2 threads, D = 16 won 5 of 6 alternated pairs (median ratio ~1.17). Tried in the real kernel
 * (36 KiB and 9 KiB ahead, `exaone bench` tg on the 1.2B q4_K_M, alternated with no far prefetch):
 * worse, tg/roofline 75-84 % against 79-97 % without. Not adopted.
 *
 * build: gcc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc dev/decode_streams.c build/libexaone.a \
 *            -ljson-c -lm -lpthread -o /tmp/ds   (it includes quant_x16.c for its static helpers) */
#include "../src/kernels/quant_x16.c"

#include <pthread.h>
#include <stdio.h>

#include "core/common.h"

static int far_d; /* GSBs ahead of the far L2 prefetch (0: none); env FAR */
#define ROWS 32768
#define COLS 4096 /* 32768 × 4096 Q4_K packed: 74 MiB */

/* NG groups G[0..NG) at once, one token: per GSB index i, the groups' GSB i one after the other */
X16_TGT X16_INL void q4k_groups(const uint8_t *G0, size_t gstride, const int NG, int64_t nb, const uint8_t *act, float *y) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *A = act + (size_t)i * sizeof(exa_block_q8_K);
        for (int gi = 0; gi < NG; gi++) {
            const uint8_t *B = G0 + (size_t)gi * gstride + (size_t)i * Q4K_GSB;
            __m512i is = _mm512_setzero_si512();
            for (int j = 0; j < 8; j++) {
                const uint8_t *q = B + Q4K_CODES + 256 * j;
                prefetch_lines(B, X16_PF_GSBS * Q4K_GSB + 320 * (size_t)j, 5);
                if (far_d) { /* experiment 2: a second prefetch, far ahead, into L2 */
                    const uintptr_t fa = (uintptr_t)B + (size_t)far_d * Q4K_GSB + 320 * (size_t)j;
                    for (int l = 0; l < 5; l++) _mm_prefetch((const char *)(fa + 64 * (uintptr_t)l), _MM_HINT_T1);
                }
                Q4K_UNPACK(q);
                const uint8_t *a = A + A_QS + 32 * j;
                __m512i p = _mm512_setzero_si512();
                p = dp_bc(p, l0, a), p = dp_bc(p, h0, a + 4), p = dp_bc(p, l1, a + 8), p = dp_bc(p, h1, a + 12);
                p = dp_bc(p, l2, a + 16), p = dp_bc(p, h2, a + 20), p = dp_bc(p, l3, a + 24), p = dp_bc(p, h3, a + 28);
                const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(B + Q4K_SC + 16 * j)));
                is = _mm512_add_epi32(is, _mm512_mullo_epi32(p, sc));
            }
            Q4K_GSB_CONSTS(B);
            f[gi] = q4k_end(f[gi], A, is, M0, M1, M2, M3, dd, dm);
        }
    }
    for (int gi = 0; gi < NG; gi++) _mm512_storeu_ps(y + 16 * gi, f[gi]);
}
X16_TGT static void run_ng(int NG, const uint8_t *P, int64_t g0, int64_t g1, int64_t nb, const uint8_t *act, float *y) {
    const size_t gs = (size_t)nb * Q4K_GSB;
    /* NG streams spread over the range: stream s walks groups g0 + s*len/NG ... */
    const int64_t len = (g1 - g0) / NG;
    for (int64_t k = 0; k < len; k++) {
        const uint8_t *G = P + (size_t)(g0 + k) * gs;
        if (NG == 1) q4k_groups(G, gs * (size_t)len, 1, nb, act, y + 16 * (g0 + k));
        else if (NG == 2) q4k_groups(G, gs * (size_t)len, 2, nb, act, y + 16 * (g0 + k));
        else q4k_groups(G, gs * (size_t)len, 4, nb, act, y + 16 * (g0 + k)); /* y: not meaningful, timing only */
    }
}

typedef struct { int NG; const uint8_t *P; int64_t g0, g1, nb; const uint8_t *act; float *y; } job;
static void *worker(void *a) {
    job *j = a;
    run_ng(j->NG, j->P, j->g0, j->g1, j->nb, j->act, j->y);
    return NULL;
}
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    const int R = argc > 1 ? atoi(argv[1]) : 7;
    const int maxng = argc > 2 ? atoi(argv[2]) : 4;
    if (getenv("FAR")) far_d = atoi(getenv("FAR"));
    const int64_t nb = COLS / 256, groups = ROWS / 16;
    const size_t pb = exa_qx16_layout_bytes(EXA_QTYPE_Q4_K, ROWS, COLS);
    uint8_t *P = exa_aligned_alloc(pb), *act = exa_aligned_alloc(sizeof(exa_block_q8_K) * (size_t)nb);
    float *y = exa_aligned_alloc(sizeof(float) * ROWS * 4);
    for (size_t i = 0; i < pb; i++) P[i] = (uint8_t)(i * 2654435761u >> 13);
    memset(act, 1, sizeof(exa_block_q8_K) * (size_t)nb);
    const int tmin = getenv("THREADS") ? atoi(getenv("THREADS")) : 1, tmax = getenv("THREADS") ? tmin : 2;
    for (int threads = tmin; threads <= tmax; threads++)
        for (int NG = 1; NG <= maxng; NG *= 2) {
            double gbs[64];
            for (int r = 0; r < R && r < 64; r++) {
                pthread_t th[2];
                job j[2];
                const double t0 = exa_time_now();
                for (int t = 0; t < threads; t++) {
                    j[t] = (job){NG, P, groups * t / threads, groups * (t + 1) / threads, nb, act, y};
                    pthread_create(&th[t], NULL, worker, &j[t]);
                }
                for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
                gbs[r] = (double)pb / (exa_time_now() - t0) / 1e9;
            }
            qsort(gbs, (size_t)R, sizeof gbs[0], cmpd);
            printf("threads %d NG %d: median %.1f GB/s (min %.1f, max %.1f)\n", threads, NG, gbs[R / 2], gbs[0], gbs[R - 1]);
        }
    free(P), free(act), free(y);
    return 0;
}
