/* bench_batch_decode.c — what continuous batching can gain from the engine alone: times one
 * exa_context_decode step holding one decode token of each of B sequences (B = 1, 2, 4, 8, 16),
 * after a short prompt per sequence, and prints ms per step and tokens/s (medians of R steps),
 * by wall clock and by process CPU time (the CPU-time figures are the stable ones on a shared,
 * overloaded machine; use 1 thread for them, as idle pool threads may spin). The server's
 * aggregate decode throughput can approach B / step(B) tokens/s at most.
 * usage: bench_batch_decode MODEL_DIR [threads] [steps] [B ...]  (default B: 1 2 4 8 16) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "exaone.h"
#include "../bench_util.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bench_batch_decode MODEL_DIR [threads] [steps] [B ...]\n"); return 1; }
    int threads = argc > 2 ? atoi(argv[2]) : 0, steps = argc > 3 ? atoi(argv[3]) : 5;
    if (steps < 1 || steps > 100) steps = 5;
    char err[512];
    exa_model *m = NULL;
    exa_model_params mp = exa_model_default_params();
    if (exa_model_load(argv[1], &mp, &m, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    enum { maxB = 16, prompt = 8 };
    int sizes[maxB] = {1, 2, 4, 8, 16}, n_sizes = 5;
    if (argc > 4) {
        n_sizes = 0;
        for (int i = 4; i < argc && n_sizes < maxB; i++) {
            int b = atoi(argv[i]);
            if (b < 1 || b > maxB) { fprintf(stderr, "batch sizes are 1..%d\n", maxB); return 1; }
            sizes[n_sizes++] = b;
        }
    }
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = 256; cp.n_seq = maxB; cp.n_threads = threads; cp.n_batch = 128;
    exa_context *ctx = NULL;
    if (exa_context_init(m, &cp, &ctx, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    int32_t tok[16], pos[16], seq[16];
    int8_t want[16];
    printf("| decode tokens per step | wall ms per step | tokens/s (wall) | CPU ms per step | tokens per CPU-second | vs B = %d (CPU) |\n"
           "| ---: | ---: | ---: | ---: | ---: | ---: |\n", sizes[0]);
    double base = 0;
    for (int k = 0; k < n_sizes; k++) {
        int B = sizes[k];
        for (int s = 0; s < maxB; s++) exa_context_seq_reset(ctx, s);
        int32_t pr[8];
        for (int s = 0; s < B; s++) {
            for (int i = 0; i < prompt; i++) pr[i] = 1000 + 37 * s + i;
            if (exa_context_eval(ctx, s, pr, prompt, 0)) { fprintf(stderr, "%s\n", exa_context_errmsg(ctx)); return 1; }
        }
        double t[100], u[100];
        for (int r = 0; r < steps; r++) {
            for (int s = 0; s < B; s++) { tok[s] = 2000 + s + r; pos[s] = exa_context_seq_len(ctx, s); seq[s] = s; want[s] = 1; }
            exa_batch b = {.n_tokens = B, .token = tok, .pos = pos, .seq = seq, .want_logits = want};
            double t0 = exa_time_now(), u0 = cpu_now();
            if (exa_context_decode(ctx, &b)) { fprintf(stderr, "%s\n", exa_context_errmsg(ctx)); return 1; }
            t[r] = exa_time_now() - t0;
            u[r] = cpu_now() - u0;
        }
        qsort(t, (size_t)steps, sizeof t[0], cmp_d);
        qsort(u, (size_t)steps, sizeof u[0], cmp_d);
        double med = t[steps / 2], cpu = u[steps / 2], tpc = B / cpu;
        if (k == 0) base = tpc;
        printf("| %d | %.1f | %.2f | %.1f | %.2f | %.2f× |\n", B, med * 1e3, B / med, cpu * 1e3, tpc, tpc / base);
        fflush(stdout);
    }
    exa_context_free(ctx);
    exa_model_free(m);
    return 0;
}
