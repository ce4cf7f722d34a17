/* bench_train.c — training performance: (1) the machine's peak f32 FMA throughput at the CPU
 * level the GEMM uses (register-resident FMA chains, 1 thread and all threads); (2) the training
 * GEMM on the big shapes of the benchmark model (forward X·Wᵀ, backward dY·W and dYᵀ·X) as GFLOP/s
 * and % of peak; (3) end-to-end `exaone train` steps on a ~26 M-parameter exaone4 model (D 512,
 * 6 layers, 8 heads / 4 KV, head_dim 64, FFN 1408, vocab 16384 tied, seq 256, batch 4):
 * tokens/s and model FLOP utilisation (6·N·tokens + 12·L·H·d·T·tokens). Reports medians.
 * usage: bench_train [--threads N] [--steps S (0: no end-to-end run)] [--isa scalar|avx2|avx512]
 *                    [--config FILE: benchmark that model's shape and batch instead, e.g.
 *                     tools/default_model/train_config.json for the default model] */
#include <immintrin.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"
#include "core/threadpool.h"
#include "train/train_gemm.h"
#include "train/train_io.h"
#include "train/train_model.h"
#include "train/trainer.h"

#define FMA_ITERS 20000000L

/* The benchmark machine may be shared: besides wall-clock time every figure is also given per
 * CPU-second actually received (thread / process CPU time), which is what the code controls. */
static double cpu_thread(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double cpu_process(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

__attribute__((target("avx512f"))) static float fma_avx512(long it) {
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    /* distinct start values: identical chains would be merged by the compiler */
    __m512 a0 = _mm512_set1_ps(1), a1 = _mm512_set1_ps(2), a2 = _mm512_set1_ps(3), a3 = _mm512_set1_ps(4), a4 = _mm512_set1_ps(5), a5 = _mm512_set1_ps(6);
    __m512 a6 = _mm512_set1_ps(7), a7 = _mm512_set1_ps(8), a8 = _mm512_set1_ps(9), a9 = _mm512_set1_ps(10), a10 = _mm512_set1_ps(11), a11 = _mm512_set1_ps(12);
    for (long i = 0; i < it; i++) {
        a0 = _mm512_fmadd_ps(a0, b, c); a1 = _mm512_fmadd_ps(a1, b, c); a2 = _mm512_fmadd_ps(a2, b, c);
        a3 = _mm512_fmadd_ps(a3, b, c); a4 = _mm512_fmadd_ps(a4, b, c); a5 = _mm512_fmadd_ps(a5, b, c);
        a6 = _mm512_fmadd_ps(a6, b, c); a7 = _mm512_fmadd_ps(a7, b, c); a8 = _mm512_fmadd_ps(a8, b, c);
        a9 = _mm512_fmadd_ps(a9, b, c); a10 = _mm512_fmadd_ps(a10, b, c); a11 = _mm512_fmadd_ps(a11, b, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) static float fma_avx2(long it) {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    __m256 a0 = _mm256_set1_ps(1), a1 = _mm256_set1_ps(2), a2 = _mm256_set1_ps(3), a3 = _mm256_set1_ps(4), a4 = _mm256_set1_ps(5), a5 = _mm256_set1_ps(6);
    __m256 a6 = _mm256_set1_ps(7), a7 = _mm256_set1_ps(8), a8 = _mm256_set1_ps(9), a9 = _mm256_set1_ps(10), a10 = _mm256_set1_ps(11), a11 = _mm256_set1_ps(12);
    for (long i = 0; i < it; i++) {
        a0 = _mm256_fmadd_ps(a0, b, c); a1 = _mm256_fmadd_ps(a1, b, c); a2 = _mm256_fmadd_ps(a2, b, c);
        a3 = _mm256_fmadd_ps(a3, b, c); a4 = _mm256_fmadd_ps(a4, b, c); a5 = _mm256_fmadd_ps(a5, b, c);
        a6 = _mm256_fmadd_ps(a6, b, c); a7 = _mm256_fmadd_ps(a7, b, c); a8 = _mm256_fmadd_ps(a8, b, c);
        a9 = _mm256_fmadd_ps(a9, b, c); a10 = _mm256_fmadd_ps(a10, b, c); a11 = _mm256_fmadd_ps(a11, b, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float t[8];
    _mm256_storeu_ps(t, s);
    return t[0] + t[7];
}
static float fma_scalar(long it) {
    float a[12], b = 0.999999f, c = 1e-6f;
    for (int k = 0; k < 12; k++) a[k] = 1.0f + (float)k;
    for (long i = 0; i < it; i++)
        for (int k = 0; k < 12; k++) a[k] = fmaf(a[k], b, c);
    return a[0] + a[11];
}

static volatile float g_sink;
typedef struct { exa_tg_isa isa; long it; double t[256]; } fma_job;
static void fma_w(void *p, int ith, int nth) {
    fma_job *j = p;
    (void)nth;
    double t0 = cpu_thread();
    float r = j->isa == EXA_TG_AVX512 ? fma_avx512(j->it) : j->isa == EXA_TG_AVX2 ? fma_avx2(j->it) : fma_scalar(j->it / 16);
    j->t[ith] = cpu_thread() - t0;
    g_sink = r;
}
/* peak GFLOP/s with nth threads running concurrently, per CPU-second each thread received */
static double peak(exa_pool *pool, exa_tg_isa isa) {
    int nth = exa_pool_size(pool);
    double lanes = isa == EXA_TG_AVX512 ? 16 : isa == EXA_TG_AVX2 ? 8 : 1;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        fma_job j = {isa, FMA_ITERS, {0}};
        exa_pool_run(pool, fma_w, &j);
        double tot = 0;
        for (int i = 0; i < nth; i++) {
            double it = isa == EXA_TG_SCALAR ? (double)(FMA_ITERS / 16) : (double)FMA_ITERS;
            tot += it * 12 * lanes * 2 / j.t[i];
        }
        if (tot > best) best = tot;
    }
    return best / 1e9;
}

static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

/* median GFLOP/s over 7 runs: wall clock (*wall) and per CPU-second received (return value) */
static double gemm_gflops(exa_pool *pool, exa_tg_ws *ws, int ta, int tb, int M, int N, int K, double *wall) {
    float *A = exa_aligned_alloc(sizeof(float) * (size_t)M * K), *B = exa_aligned_alloc(sizeof(float) * (size_t)K * N);
    float *C = exa_aligned_alloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7) % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)((i * 5) % 11) * 0.01f;
    int nth = exa_pool_size(pool);
    double ts[7], cs[7];
    for (int r = 0; r < 7; r++) {
        double t0 = exa_time_now(), c0 = nth == 1 ? cpu_thread() : cpu_process();
        exa_tg_gemm_mt(pool, ws, ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, C, N, 0);
        ts[r] = exa_time_now() - t0;
        cs[r] = ((nth == 1 ? cpu_thread() : cpu_process()) - c0) / nth;
    }
    qsort(ts, 7, sizeof *ts, cmpd);
    qsort(cs, 7, sizeof *cs, cmpd);
    free(A); free(B); free(C);
    *wall = 2.0 * M * N * K / ts[3] / 1e9;
    return 2.0 * M * N * K / cs[3] / 1e9;
}

typedef struct { double t_prev, c_prev, times[1000], cpu[1000]; int n; double flops_per_step; } step_log;
static int on_step(const exa_train_progress *p, void *user) {
    step_log *s = user;
    double now = exa_time_now(), c = cpu_process();
    if (p->step > 1 && s->n < 1000) { s->times[s->n] = now - s->t_prev; s->cpu[s->n++] = c - s->c_prev; } /* skip the warm-up step */
    s->t_prev = now;
    s->c_prev = c;
    s->flops_per_step = p->mfu_flops * (p->tok_per_s > 0 ? 1.0 / p->tok_per_s : 0); /* FLOPs per token */
    return 1;
}

int main(int argc, char **argv) {
    const char *model_cfg = NULL;
    int nth = exa_cpu_count(), steps = 6;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) nth = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--config")) model_cfg = argv[i + 1];
        else if (!strcmp(argv[i], "--isa")) exa_tg_isa_set(!strcmp(argv[i + 1], "avx512") ? EXA_TG_AVX512 : !strcmp(argv[i + 1], "avx2") ? EXA_TG_AVX2 : EXA_TG_SCALAR);
    }
    exa_tg_isa isa = exa_tg_isa_get();
    exa_pool *p1 = exa_pool_init(1), *pn = exa_pool_init(nth);
    printf("bench_train: CPU level %s, %d threads (%d CPUs online)\n", exa_tg_isa_name(isa), nth, exa_cpu_count());
    double pk1 = peak(p1, isa), pkn = peak(pn, isa);
    printf("peak f32 FMA: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (%d threads)\n\n", pk1, pkn, nth);
    exa_tg_ws ws;
    exa_tg_ws_init(&ws, nth);
    struct { const char *what; int ta, tb, M, N, K; } g[] = {
        {"fwd  X.W^T  gate|up  (1024x2816x512)", 0, 1, 1024, 2816, 512},
        {"bwd  dY.W   gate|up  (1024x512x2816)", 0, 0, 1024, 512, 2816},
        {"bwd  dY^T.X gate|up  (2816x512x1024)", 1, 0, 2816, 512, 1024},
        {"fwd  X.W^T  lm head  (256x16384x512)", 0, 1, 256, 16384, 512},
        {"bwd  dY^T.X lm head  (16384x512x256)", 1, 0, 16384, 512, 256},
    };
    printf("GFLOP/s per CPU-second received (%% of peak) [wall-clock GFLOP/s]\n");
    printf("%-40s %26s %26s\n", "GEMM (M x N x K)", "1 thread", "all threads");
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        double wa, wb;
        double a = gemm_gflops(p1, &ws, g[i].ta, g[i].tb, g[i].M, g[i].N, g[i].K, &wa);
        double b = gemm_gflops(pn, &ws, g[i].ta, g[i].tb, g[i].M, g[i].N, g[i].K, &wb);
        printf("%-40s %8.1f (%3.0f%%) [%6.1f]      %8.1f (%3.0f%%) [%6.1f]\n", g[i].what, a, 100 * a / pk1, wa, b, 100 * b / pkn, wb);
    }
    exa_tg_ws_free(&ws);
    exa_pool_free(p1);
    exa_pool_free(pn);
    if (steps <= 0) return 0; /* --steps 0: kernels only */
    /* end to end */
    char dir[] = "/tmp/exa_bench_train_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char shard[1200], cfgp[1200], out[1200];
    snprintf(shard, sizeof shard, "%s/bench_train_000.bin", dir);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    int B = 4, T = 256, V = 16384;
    char label[256] = "exaone4 D512 L6 H8/4 d64 F1408 V16384 tied (26.1 M params)";
    struct json_object *cfg = NULL, *tr, *x;
    if (model_cfg) { /* the given model's shape, its batch and sequence length, our step settings */
        cfg = json_object_from_file(model_cfg);
        if (!cfg || !json_object_is_type(cfg, json_type_object)) { fprintf(stderr, "bench_train: cannot read %s\n", model_cfg); return 1; }
        if (json_object_object_get_ex(cfg, "train", &tr)) {
            if (json_object_object_get_ex(tr, "batch_size", &x)) B = json_object_get_int(x);
            if (json_object_object_get_ex(tr, "seq_len", &x)) T = json_object_get_int(x);
        }
        if (json_object_object_get_ex(cfg, "vocab_size", &x)) V = json_object_get_int(x);
        if (B < 1 || T < 2 || V < 2) { fprintf(stderr, "bench_train: bad batch/seq/vocab in %s\n", model_cfg); return 1; }
        snprintf(label, sizeof label, "%s", model_cfg);
    }
    int ntok = (steps + 1) * B * T + 1;
    int32_t hdr[256] = {EXA_SHARD_MAGIC_U32, 7, ntok};
    FILE *f = fopen(shard, "wb");
    fwrite(hdr, 4, 256, f);
    exa_trng r;
    exa_trng_seed(&r, 1);
    for (int i = 0; i < ntok; i++) { uint32_t t = (uint32_t)(exa_trng_next(&r) % (uint32_t)V); fwrite(&t, 4, 1, f); }
    fclose(f);
    char trainobj[512];
    snprintf(trainobj, sizeof trainobj, "{\"batch_size\":%d,\"seq_len\":%d,\"total_steps\":%d,\"warmup_steps\":1,"
             "\"eval_interval\":0,\"checkpoint_interval\":0,\"threads\":%d}", B, T, steps + 1, nth);
    if (cfg) {
        json_object_object_add(cfg, "train", json_tokener_parse(trainobj));
        json_object_to_file(cfgp, cfg);
        json_object_put(cfg);
    } else {
        f = fopen(cfgp, "w");
        fprintf(f, "{\"model_type\":\"exaone4\",\"vocab_size\":16384,\"hidden_size\":512,\"num_hidden_layers\":6,"
                   "\"num_attention_heads\":8,\"num_key_value_heads\":4,\"head_dim\":64,\"intermediate_size\":1408,"
                   "\"max_position_embeddings\":2048,\"rope_theta\":1000000.0,\"tie_word_embeddings\":true,\"sliding_window\":null,"
                   "\"train\":%s}", trainobj);
        fclose(f);
    }
    step_log sl = {.t_prev = exa_time_now(), .c_prev = cpu_process()};
    exa_train_opts o = {.config_path = cfgp, .data = shard, .out_dir = out, .stop_after = steps, .cb = on_step, .user = &sl};
    char err[512];
    exa_status st = exa_train_run(&o, err, sizeof err);
    exa_train_rm_rf(dir);
    if (st) { fprintf(stderr, "bench_train: %s\n", err); return 1; }
    qsort(sl.times, (size_t)sl.n, sizeof(double), cmpd);
    qsort(sl.cpu, (size_t)sl.n, sizeof(double), cmpd);
    double med = sl.times[sl.n / 2], tok = (double)B * T, cmed = sl.cpu[sl.n / 2] / nth;
    double fl = sl.flops_per_step * tok;
    printf("\nend-to-end training, %s, batch %dx%d, %d timed steps:\n", label, B, T, sl.n);
    printf("  model FLOPs %.2f GFLOP/token\n", sl.flops_per_step / 1e9);
    printf("  wall clock:          median step %.3f s, %.0f tokens/s, %.1f GFLOP/s, MFU %.1f%%\n", med, tok / med, fl / med / 1e9, 100.0 * fl / med / 1e9 / pkn);
    printf("  per CPU-second used: median step %.3f s, %.0f tokens/s, %.1f GFLOP/s, MFU %.1f%% of the %d-thread peak\n",
           cmed, tok / cmed, fl / cmed / 1e9, 100.0 * fl / cmed / 1e9 / pkn, nth);
    return 0;
}
