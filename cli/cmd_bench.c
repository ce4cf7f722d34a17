/* cmd_bench.c — `exaone bench -m DIR`: prompt processing and decode speed, load time to first
 * token and resident memory, next to this machine's measured memory bandwidth and peak
 * arithmetic throughput (int8 VNNI dot products for block-quantized weights, f32 FMAs
 * otherwise), as fractions of those limits (decode is bandwidth-bound: each token streams every
 * weight and the KV cache once; prefill is arithmetic-bound). Each run is paired with its own
 * limit measurement (the machine is shared); reports medians of --reps runs; prints a table, or
 * one JSON object with --json; --csv FILE appends a row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "core/common.h"
#include "core/machine.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quant_x16.h"

/* a decode run counts when the read bandwidth before and after it differ by at most 15 %; else it
 * is run again, at most 4 times in all */
#define BENCH_BW_STABLE 0.15
#define BENCH_BW_TRIES 4

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int exa_cmd_bench(int argc, char **argv) {
    if (exa_cli_take_quant(&argc, argv)) return 1; /* --quant TYPE: convert weights at load */
    const char *dir = NULL, *csv = NULL;
    long n_pp = 512, n_tg = 128, reps = 3, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: exaone bench -m DIR [--quant q8|q4|...] [--kv-type f16|f32|bf16|q8_0] [-p 512] [-n 128] [-r 3] [-t N] [--json] [--csv FILE]\n");
            return 0;
        }
        if (!strcmp(a, "--json")) { json = 1; i--; continue; }
        if (!v) return exa_cli_fail("bench: option '%s' needs a value", a);
        if (!strcmp(a, "-m")) dir = v;
        else if (!strcmp(a, "-p")) { if (exa_cli_int(a, v, 1, 1 << 16, &n_pp)) return 1; }
        else if (!strcmp(a, "-n")) { if (exa_cli_int(a, v, 1, 1 << 16, &n_tg)) return 1; }
        else if (!strcmp(a, "-r")) { if (exa_cli_int(a, v, 1, 100, &reps)) return 1; }
        else if (!strcmp(a, "-t")) { if (exa_cli_int(a, v, 1, 1024, &threads)) return 1; }
        else if (!strcmp(a, "--csv")) csv = v;
        else return exa_cli_fail("bench: unknown option '%s'", a);
    }
    if (!dir) return exa_cli_fail("bench: -m DIR is required");

    /* load to first token, twice: the first load of this process (whatever the OS has at hand:
     * a VM may hand back recently freed memory to its host, and faulting it in again costs up to
     * ~1 s/GB there), then the warm one the target is about: file in the page cache, memory the
     * OS has just had back from the first load */
    exa_context_params cp = exa_cli_context_params(); /* --kv-type */
    cp.n_ctx = (int)(n_pp + n_tg + 1);
    cp.n_batch = (int)n_pp;
    cp.n_threads = (int)threads;
    exa_model *m = NULL;
    exa_context *ctx = NULL;
    double load_first_s = 0, load_s = 0;
    for (int pass = 0; pass < 2; pass++) {
        exa_context_free(ctx);
        exa_model_free(m);
        ctx = NULL;
        double t0 = exa_time_now();
        if (!(m = exa_cli_load_model(dir))) return 1;
        char err[512];
        if (exa_context_init(m, &cp, &ctx, err, sizeof err) != EXA_OK) { exa_model_free(m); return exa_cli_fail("%s", err); }
        int32_t first = 1;
        exa_context_eval(ctx, 0, &first, 1, 0);
        *(pass ? &load_s : &load_first_s) = exa_time_now() - t0;
    }
    exa_model_info info;
    exa_model_get_info(m, &info);

    int32_t *toks = malloc(sizeof(int32_t) * (size_t)n_pp);
    if (!toks) { exa_context_free(ctx); exa_model_free(m); return exa_cli_fail("bench: out of memory"); }
    for (long i = 0; i < n_pp; i++) toks[i] = (int32_t)((i * 7919 + 11) % info.n_vocab);
    /* decode streams every weight once per token (the embedding table only for one row, unless it
     * is also the tied LM head) plus the keys and values its attention reads: the bytes of the
     * roofline (the MBU definition: weights + KV cache per token over memory bandwidth). */
    double emb_bytes = (double)info.n_vocab * info.n_embd * (double)info.weight_bytes / (double)info.n_params;
    double w_bytes = (double)info.weight_bytes - (info.tied_embeddings ? 0.0 : emb_bytes);
    double kv_bytes = 0; /* mean over the decoded positions n_pp .. n_pp + n_tg - 1 */
    for (long k = 0; k < n_tg; k++) kv_bytes += (double)exa_context_kv_read_bytes(ctx, (int)(n_pp + k + 1)) / (double)n_tg;
    const double bytes_tok = w_bytes + kv_bytes;
    /* prefill: 2 FLOPs per matrix weight per token (+ attention, small at this length) */
    const double mat_params = (double)info.n_params - (info.tied_embeddings ? 0.0 : (double)info.n_vocab * info.n_embd);

    /* The machine is shared: each run is paired with a measurement of the limit it is compared
     * to, taken right before it with the same threads, and the fractions are medians over runs
     * of run / its own limit (a neighbour that steals bandwidth lowers both). */
    exa_pool *pool = exa_pool_init((int)threads);
    /* the peak of the arithmetic the weights use: block-quantized matrices run int8 dot products
     * (VNNI), the others f32 FMAs */
    exa_dtype wdt = EXA_DTYPE_F32;
    const int int8 = exa_dtype_from_name(info.weight_dtype, &wdt) && exa_dtype_is_quant(wdt) && exa_cpu_active() >= EXA_CPU_AVX512 &&
                     exa_quant_has_vnni(); /* what exa_machine_peak_int8_gops needs */
    /* prompts through AMX tiles when the x16 kernels (Q4_K, Q6_K, Q8_0) run them */
    const int amx = int8 && !strcmp(exa_qx16_amx_state(), "on") &&
                    exa_qx16_layout_bytes(exa_qtype_from_dtype(wdt), EXA_QX16_ROWS, EXA_QK_K) > 0;
    /* bf16 weights through AMX-BF16 (three products per activation: at most a third of this peak) */
    const int amx16 = wdt == EXA_DTYPE_BF16 && !strcmp(exa_bf16_amx_state(), "on");
    const char *peak_kind = amx ? "int8 amx" : amx16 ? "bf16 amx" : int8 ? "int8 vnni" : exa_cpu_active() >= EXA_CPU_AVX512 ? "f32 fma avx512" : exa_cpu_active() >= EXA_CPU_AVX2 ? "f32 fma avx2" : "f32 scalar";
    double pp[100], tg[100], bwr[100], pkr[100], ppf[100], tgf[100];
    int bw_retries = 0, bw_unstable = 0; /* decode runs repeated / never stable (see below) */
    for (long r = 0; r < reps; r++) {
        exa_context_seq_reset(ctx, 0);
        pkr[r] = amx     ? exa_machine_peak_amx_int8_gops(pool)
                 : amx16 ? exa_machine_peak_amx_bf16_gflops(pool)
                 : int8  ? exa_machine_peak_int8_gops(pool)
                         : exa_machine_peak_gflops(pool);
        double a = exa_time_now();
        if (exa_context_eval(ctx, 0, toks, (int)n_pp, 0) != EXA_OK) { free(toks); return exa_cli_fail("bench: %s", exa_context_errmsg(ctx)); }
        pp[r] = (double)n_pp / (exa_time_now() - a);
        /* Decode, between two read-bandwidth measurements (before and after). A host whose
         * bandwidth changed during the run (this VM flips between ≈ 30 and ≈ 60 GB/s within
         * seconds) makes the run a fraction of neither limit, so it is decoded again from the same
         * position, up to BENCH_BW_TRIES times (the last one counts and is reported as unstable). */
        const float *lg = exa_context_logits(ctx, -1);
        double bw_a = 0, bw_b = 0;
        for (int attempt = 1;; attempt++) {
            bw_a = exa_machine_read_bandwidth(pool, (size_t)512 << 20, 3);
            a = exa_time_now();
            for (long k = 0; k < n_tg; k++) {
                int32_t best = 0;
                for (int v = 1; v < info.n_vocab; v++) if (lg[v] > lg[best]) best = v;
                if (exa_context_eval(ctx, 0, &best, 1, 0) != EXA_OK) { free(toks); return exa_cli_fail("bench: %s", exa_context_errmsg(ctx)); }
                lg = exa_context_logits(ctx, -1);
            }
            tg[r] = (double)n_tg / (exa_time_now() - a);
            bw_b = exa_machine_read_bandwidth(pool, (size_t)512 << 20, 3);
            if (fabs(bw_a - bw_b) <= BENCH_BW_STABLE * fmax(bw_a, bw_b)) break;
            if (attempt == BENCH_BW_TRIES) { bw_unstable++; break; }
            bw_retries++;
            /* back to the end of the prompt: drop the decoded positions, re-evaluate the last
             * prompt token for its logits */
            if (exa_context_seq_truncate(ctx, 0, (int)n_pp - 1) != EXA_OK ||
                exa_context_eval(ctx, 0, &toks[n_pp - 1], 1, 0) != EXA_OK) { free(toks); return exa_cli_fail("bench: %s", exa_context_errmsg(ctx)); }
            lg = exa_context_logits(ctx, -1);
        }
        bwr[r] = 0.5 * (bw_a + bw_b);
        tgf[r] = tg[r] * bytes_tok / (bwr[r] * 1e9);
        ppf[r] = pp[r] * 2.0 * mat_params / (pkr[r] * 1e9);
    }
    exa_pool_free(pool);
    qsort(pp, (size_t)reps, sizeof pp[0], cmp_d);
    qsort(tg, (size_t)reps, sizeof tg[0], cmp_d);
    qsort(bwr, (size_t)reps, sizeof bwr[0], cmp_d);
    qsort(pkr, (size_t)reps, sizeof pkr[0], cmp_d);
    qsort(tgf, (size_t)reps, sizeof tgf[0], cmp_d);
    qsort(ppf, (size_t)reps, sizeof ppf[0], cmp_d);
    const double pp_tps = pp[reps / 2], tg_tps = tg[reps / 2], bw = bwr[reps / 2], peak = pkr[reps / 2];
    const double tg_frac = tgf[reps / 2], pp_frac = ppf[reps / 2], tg_roof = bw * 1e9 / bytes_tok;
    /* resident memory of model + context now (the limit probes' buffers are freed; the peak
     * would count them), from /proc where there is one, else the peak */
    double rss_mb = 0;
    FILE *st = fopen("/proc/self/status", "r");
    if (st) {
        char line[256];
        while (fgets(line, sizeof line, st))
            if (!strncmp(line, "VmRSS:", 6)) rss_mb = atof(line + 6) / 1024.0;
        fclose(st);
    }
    if (rss_mb <= 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        rss_mb = (double)ru.ru_maxrss / 1024.0;
    }
    exa_context_free(ctx);

    if (json) {
        printf("{\"model\": \"%s\", \"arch\": \"%s\", \"dtype\": \"%s\", \"kv_type\": \"%s\", \"n_params\": %lld, \"cpu\": \"%s\", \"amx\": \"int8 %s; bf16 %s\", \"threads\": %ld, "
               "\"pp_tokens\": %ld, \"tg_tokens\": %ld, \"pp_tps\": %.3f, \"tg_tps\": %.3f, \"load_s\": %.4f, \"load_first_s\": %.4f, \"rss_mb\": %.1f, "
               "\"bw_gbs\": %.2f, \"peak_gflops\": %.1f, \"peak_kind\": \"%s\", \"weight_bytes_per_token\": %.0f, \"kv_bytes_per_token\": %.0f, \"tg_roofline_tps\": %.3f, \"tg_roofline_fraction\": %.4f, \"pp_peak_fraction\": %.4f, \"bw_retries\": %d, \"bw_unstable_runs\": %d}\n",
               dir, info.arch_name, info.weight_dtype, exa_kv_type_name(exa_cli_kv_type()), (long long)info.n_params, exa_cpu_level_name(exa_cpu_active()), exa_qx16_amx_state(), exa_bf16_amx_state(),
               threads ? threads : (long)exa_cpu_count(), n_pp, n_tg, pp_tps, tg_tps, load_s, load_first_s, rss_mb, bw, peak, peak_kind, w_bytes, kv_bytes, tg_roof, tg_frac, pp_frac, bw_retries, bw_unstable);
    } else {
        printf("| model | dtype | params | pp%ld tok/s | tg%ld tok/s | load→first token s (warm, first) | RSS MiB | bandwidth GB/s | tg roofline tok/s | tg/roofline | peak GOP/s | pp/peak |\n", n_pp, n_tg);
        printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        printf("| %s | %s | %.2f B | %.2f | %.2f | %.3f, %.3f | %.0f | %.1f | %.2f | %.1f%% | %.0f (%s) | %.1f%% |\n", dir, info.weight_dtype,
               (double)info.n_params / 1e9, pp_tps, tg_tps, load_s, load_first_s, rss_mb, bw, tg_roof, 100 * tg_frac, peak, peak_kind, 100 * pp_frac);
        if (bw_retries || bw_unstable)
            fprintf(stderr, "bench: the read bandwidth changed during a decode run %d time(s) (runs repeated)%s\n", bw_retries + bw_unstable,
                    bw_unstable ? "; some runs never had a stable limit: their fraction is of the mean of before and after" : "");
    }
    if (csv) {
        FILE *f = fopen(csv, "a");
        if (!f) return exa_cli_fail("bench: cannot append to %s", csv);
        if (ftell(f) == 0) fprintf(f, "model,dtype,n_params,pp_tps,tg_tps,load_s,rss_mb,bw_gbs,peak_gflops,tg_roofline_fraction,pp_peak_fraction,load_first_s\n");
        fprintf(f, "%s,%s,%lld,%.3f,%.3f,%.4f,%.1f,%.2f,%.1f,%.4f,%.4f,%.4f\n", dir, info.weight_dtype, (long long)info.n_params, pp_tps,
                tg_tps, load_s, rss_mb, bw, peak, tg_frac, pp_frac, load_first_s);
        fclose(f);
    }
    free(toks);
    exa_model_free(m);
    return 0;
}
