/* train_gemm.c — see train_gemm.h. Loop order and packing follow BLIS (jc: NC columns of B,
 * pc: KC of the shared dimension, ic: MC rows of A; packed A panels of MR rows and packed B panels
 * of NR columns feed an MR x NR register-tile micro-kernel). Each C element is the same sequence of
 * fused multiply-adds whatever the thread split, so results do not depend on the thread count. */
#include "train/train_gemm.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#define TG_KC 256
#define TG_MC 96  /* multiple of every MR (8, 6, 4) */
#define TG_NC 4096 /* multiple of every NR (32, 16) */

typedef void (*tg_kernel)(int kc, const float *a, const float *b, float *c, int ldc, int acc);

/* ---- micro-kernels: C[MR x NR] (row stride ldc) = (acc ? C : 0) + sum_k a[k*MR+i] * b[k*NR+j] ---- */

#define TG_SCALAR_MR 4
#define TG_SCALAR_NR 16
static void kern_scalar(int kc, const float *a, const float *b, float *c, int ldc, int acc) {
    float t[TG_SCALAR_MR][TG_SCALAR_NR] = {{0}};
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < TG_SCALAR_MR; i++) {
            float ai = a[k * TG_SCALAR_MR + i];
            for (int j = 0; j < TG_SCALAR_NR; j++) t[i][j] += ai * b[k * TG_SCALAR_NR + j];
        }
    }
    for (int i = 0; i < TG_SCALAR_MR; i++)
        for (int j = 0; j < TG_SCALAR_NR; j++) c[i * ldc + j] = (acc ? c[i * ldc + j] : 0.0f) + t[i][j];
}

#if defined(__x86_64__) || defined(__i386__)
#define TG_HAVE_X86 1
/* AVX2 + FMA: 6 x 16 tile, 12 ymm accumulators. */
__attribute__((target("avx2,fma"))) static void kern_avx2(int kc, const float *a, const float *b, float *c,
                                                          int ldc, int acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
        a += 6;
        b += 16;
    }
#define TG_ST2(r, v0, v1)                                                                             \
    do {                                                                                              \
        float *cr = c + (r) * ldc;                                                                    \
        if (acc) { v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0); v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1); } \
        _mm256_storeu_ps(cr, v0);                                                                     \
        _mm256_storeu_ps(cr + 8, v1);                                                                 \
    } while (0)
    TG_ST2(0, c00, c01); TG_ST2(1, c10, c11); TG_ST2(2, c20, c21);
    TG_ST2(3, c30, c31); TG_ST2(4, c40, c41); TG_ST2(5, c50, c51);
#undef TG_ST2
}

/* AVX-512: 8 x 32 tile, 16 zmm accumulators. */
__attribute__((target("avx512f"))) static void kern_avx512(int kc, const float *a, const float *b, float *c,
                                                           int ldc, int acc) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        __m512 x;
        x = _mm512_set1_ps(a[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
        x = _mm512_set1_ps(a[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
        x = _mm512_set1_ps(a[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
        x = _mm512_set1_ps(a[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
        x = _mm512_set1_ps(a[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
        x = _mm512_set1_ps(a[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
        x = _mm512_set1_ps(a[6]); c60 = _mm512_fmadd_ps(x, b0, c60); c61 = _mm512_fmadd_ps(x, b1, c61);
        x = _mm512_set1_ps(a[7]); c70 = _mm512_fmadd_ps(x, b0, c70); c71 = _mm512_fmadd_ps(x, b1, c71);
        a += 8;
        b += 32;
    }
#define TG_ST2(r, v0, v1)                                                                             \
    do {                                                                                              \
        float *cr = c + (r) * ldc;                                                                    \
        if (acc) { v0 = _mm512_add_ps(_mm512_loadu_ps(cr), v0); v1 = _mm512_add_ps(_mm512_loadu_ps(cr + 16), v1); } \
        _mm512_storeu_ps(cr, v0);                                                                     \
        _mm512_storeu_ps(cr + 16, v1);                                                                \
    } while (0)
    TG_ST2(0, c00, c01); TG_ST2(1, c10, c11); TG_ST2(2, c20, c21); TG_ST2(3, c30, c31);
    TG_ST2(4, c40, c41); TG_ST2(5, c50, c51); TG_ST2(6, c60, c61); TG_ST2(7, c70, c71);
#undef TG_ST2
}
#endif

/* ---- dispatch ---- */
static int g_isa = -1;

static exa_tg_isa detect(void) {
#ifdef TG_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return EXA_TG_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return EXA_TG_AVX2;
#endif
    return EXA_TG_SCALAR;
}

exa_tg_isa exa_tg_isa_get(void) {
    int v = __atomic_load_n(&g_isa, __ATOMIC_ACQUIRE);
    if (v < 0) {
        v = (int)detect();
        __atomic_store_n(&g_isa, v, __ATOMIC_RELEASE);
    }
    return (exa_tg_isa)v;
}

void exa_tg_isa_set(exa_tg_isa isa) {
    exa_tg_isa best = detect();
    __atomic_store_n(&g_isa, (int)(isa > best ? best : isa), __ATOMIC_RELEASE);
}

const char *exa_tg_isa_name(exa_tg_isa isa) {
    return isa == EXA_TG_AVX512 ? "avx512" : isa == EXA_TG_AVX2 ? "avx2" : "scalar";
}

static void kernel_for(exa_tg_isa isa, tg_kernel *k, int *mr, int *nr) {
#ifdef TG_HAVE_X86
    if (isa == EXA_TG_AVX512) { *k = kern_avx512; *mr = 8; *nr = 32; return; }
    if (isa == EXA_TG_AVX2) { *k = kern_avx2; *mr = 6; *nr = 16; return; }
#endif
    (void)isa;
    *k = kern_scalar;
    *mr = TG_SCALAR_MR;
    *nr = TG_SCALAR_NR;
}

/* ---- workspace ---- */
int exa_tg_ws_init(exa_tg_ws *ws, int nth) {
    ws->nth = nth;
    ws->buf = calloc((size_t)nth, sizeof *ws->buf);
    if (!ws->buf) return -1;
    for (int i = 0; i < nth; i++) {
        ws->buf[i].pa = exa_aligned_alloc(sizeof(float) * TG_MC * TG_KC);
        ws->buf[i].pb = exa_aligned_alloc(sizeof(float) * TG_KC * TG_NC);
        if (!ws->buf[i].pa || !ws->buf[i].pb) { exa_tg_ws_free(ws); return -1; }
    }
    return 0;
}

void exa_tg_ws_free(exa_tg_ws *ws) {
    if (!ws->buf) return;
    for (int i = 0; i < ws->nth; i++) { free(ws->buf[i].pa); free(ws->buf[i].pb); }
    free(ws->buf);
    ws->buf = NULL;
    ws->nth = 0;
}

/* ---- packing ---- */
#ifdef TG_HAVE_X86
/* dst[j*ldd + i] = src[i*lds + j] for an 8 x 8 block */
__attribute__((target("avx2"))) static void tr8x8(const float *src, int lds, float *dst, int ldd) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds);
    __m256 r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3);
    __m256 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

static int use_tr8(void) {
#ifdef TG_HAVE_X86
    return exa_tg_isa_get() >= EXA_TG_AVX2;
#else
    return 0;
#endif
}

static void pack_a(int ta, const float *A, int lda, int i0, int mc, int k0, int kc, int mr, float *dst) {
    if (!ta) {
        int fast = use_tr8() && mr == 8;
        for (int ip = 0; ip < mc; ip += mr) {
            int rows = EXA_MIN(mr, mc - ip);
            float *d = dst + (size_t)ip * kc;
            int k8 = 0;
#ifdef TG_HAVE_X86
            if (fast && rows == 8)
                for (; k8 + 8 <= kc; k8 += 8) tr8x8(A + (size_t)(i0 + ip) * lda + k0 + k8, lda, d + (size_t)k8 * 8, 8);
#else
            (void)fast;
#endif
            for (int r = 0; r < rows; r++) {
                const float *s = A + (size_t)(i0 + ip + r) * lda + k0;
                for (int k = k8; k < kc; k++) d[k * mr + r] = s[k];
            }
            for (int r = rows; r < mr; r++)
                for (int k = 0; k < kc; k++) d[k * mr + r] = 0.0f;
        }
        return;
    }
    /* op(A) = Aᵀ: row k of A holds mc consecutive values; walk it once for all panels */
    for (int k = 0; k < kc; k++) {
        const float *s = A + (size_t)(k0 + k) * lda + i0;
        for (int ip = 0; ip < mc; ip += mr) {
            int rows = EXA_MIN(mr, mc - ip);
            float *dk = dst + (size_t)ip * kc + (size_t)k * mr;
            memcpy(dk, s + ip, sizeof(float) * (size_t)rows);
            for (int r = rows; r < mr; r++) dk[r] = 0.0f;
        }
    }
}

static void pack_b(int tb, const float *B, int ldb, int k0, int kc, int j0, int nc, int nr, float *dst) {
    int fast = use_tr8();
    for (int jp = 0; jp < nc; jp += nr) {
        int cols = EXA_MIN(nr, nc - jp);
        float *d = dst + (size_t)jp * kc;
        if (!tb) {
            for (int k = 0; k < kc; k++) {
                const float *s = B + (size_t)(k0 + k) * ldb + j0 + jp;
                float *dk = d + k * nr;
                memcpy(dk, s, sizeof(float) * (size_t)cols);
                for (int c = cols; c < nr; c++) dk[c] = 0.0f;
            }
        } else {
            /* op(B) = Bᵀ: transpose 8 x 8 blocks (or 8-deep k blocks) so written lines stay in L1 */
            int k8 = 0;
#ifdef TG_HAVE_X86
            if (fast && cols == nr) {
                for (; k8 + 8 <= kc; k8 += 8)
                    for (int c = 0; c < nr; c += 8)
                        tr8x8(B + (size_t)(j0 + jp + c) * ldb + k0 + k8, ldb, d + (size_t)k8 * nr + c, nr);
            }
#else
            (void)fast;
#endif
            for (int kb = k8; kb < kc; kb += 8) {
                int ke = EXA_MIN(kc, kb + 8);
                for (int c = 0; c < cols; c++) {
                    const float *s = B + (size_t)(j0 + jp + c) * ldb + k0;
                    for (int k = kb; k < ke; k++) d[k * nr + c] = s[k];
                }
                for (int c = cols; c < nr; c++)
                    for (int k = kb; k < ke; k++) d[k * nr + c] = 0.0f;
            }
        }
    }
}

void exa_tg_gemm(const exa_tg_buf *buf, int ta, int tb, int M, int N, int K, const float *A, int lda,
                 const float *B, int ldb, float *C, int ldc, int beta) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!beta)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    tg_kernel kern;
    int mr, nr;
    kernel_for(exa_tg_isa_get(), &kern, &mr, &nr);
    float tmp[8 * 32] __attribute__((aligned(64)));
    for (int jc = 0; jc < N; jc += TG_NC) {
        int nc = EXA_MIN(TG_NC, N - jc);
        for (int pc = 0; pc < K; pc += TG_KC) {
            int kc = EXA_MIN(TG_KC, K - pc);
            int acc = beta || pc > 0;
            pack_b(tb, B, ldb, pc, kc, jc, nc, nr, buf->pb);
            for (int ic = 0; ic < M; ic += TG_MC) {
                int mc = EXA_MIN(TG_MC, M - ic);
                pack_a(ta, A, lda, ic, mc, pc, kc, mr, buf->pa);
                for (int jr = 0; jr < nc; jr += nr) {
                    int cols = EXA_MIN(nr, nc - jr);
                    const float *pb = buf->pb + (size_t)jr * kc;
                    for (int ir = 0; ir < mc; ir += mr) {
                        int rows = EXA_MIN(mr, mc - ir);
                        const float *pa = buf->pa + (size_t)ir * kc;
                        float *cp = C + (size_t)(ic + ir) * ldc + jc + jr;
                        if (rows == mr && cols == nr) {
                            kern(kc, pa, pb, cp, ldc, acc);
                        } else {
                            kern(kc, pa, pb, tmp, nr, 0);
                            for (int r = 0; r < rows; r++)
                                for (int c = 0; c < cols; c++)
                                    cp[(size_t)r * ldc + c] = (acc ? cp[(size_t)r * ldc + c] : 0.0f) + tmp[r * nr + c];
                        }
                    }
                }
            }
        }
    }
}

typedef struct {
    const exa_tg_ws *ws;
    int ta, tb, M, N, K, lda, ldb, ldc, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_worker(void *p, int ith, int nth) {
    const gemm_job *j = p;
    if (j->M >= j->N) {
        int units = (j->M + 7) / 8, b, e;
        exa_split(units, ith, nth, &b, &e);
        int m0 = b * 8, m1 = EXA_MIN(j->M, e * 8);
        if (m1 <= m0) return;
        const float *A = j->ta ? j->A + m0 : j->A + (size_t)m0 * j->lda;
        exa_tg_gemm(&j->ws->buf[ith], j->ta, j->tb, m1 - m0, j->N, j->K, A, j->lda, j->B, j->ldb,
                    j->C + (size_t)m0 * j->ldc, j->ldc, j->beta);
    } else {
        int units = (j->N + 31) / 32, b, e;
        exa_split(units, ith, nth, &b, &e);
        int n0 = b * 32, n1 = EXA_MIN(j->N, e * 32);
        if (n1 <= n0) return;
        const float *B = j->tb ? j->B + (size_t)n0 * j->ldb : j->B + n0;
        exa_tg_gemm(&j->ws->buf[ith], j->ta, j->tb, j->M, n1 - n0, j->K, j->A, j->lda, B, j->ldb,
                    j->C + n0, j->ldc, j->beta);
    }
}

void exa_tg_gemm_mt(exa_pool *pool, const exa_tg_ws *ws, int ta, int tb, int M, int N, int K,
                    const float *A, int lda, const float *B, int ldb, float *C, int ldc, int beta) {
    gemm_job j = {ws, ta, tb, M, N, K, lda, ldb, ldc, beta, A, B, C};
    if (!pool || exa_pool_size(pool) <= 1 || (double)M * N * K < 2e5) {
        exa_tg_gemm(&ws->buf[0], ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta);
        return;
    }
    exa_pool_run(pool, gemm_worker, &j);
}

void exa_tg_gemm_ref(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float *C, int ldc, int beta) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = beta ? C[(size_t)i * ldc + j] : 0.0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            C[(size_t)i * ldc + j] = (float)s;
        }
}
