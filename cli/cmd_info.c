/* cmd_info.c — `exaone info -m DIR`: architecture, parameter count, memory needed, load time,
 * the kernels this CPU runs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quant_x16.h"

int exa_cmd_info(int argc, char **argv) {
    if (exa_cli_take_quant(&argc, argv)) return 1; /* --quant TYPE: convert weights at load */
    const char *dir = NULL;
    long n_ctx = 4096;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) { if (exa_cli_int("--ctx", argv[++i], 1, 1 << 24, &n_ctx)) return 1; }
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: exaone info -m DIR|FILE.gguf [--ctx N] [--quant TYPE] [--kv-type T]\n  shows architecture, parameter count, memory needed for N positions, load time\n");
            return 0;
        } else return exa_cli_fail("info: unknown option '%s' (see exaone info --help)", argv[i]);
    }
    if (!dir) return exa_cli_fail("info: -m DIR is required");
    exa_model *m = exa_cli_load_model(dir);
    if (!m) return 1;
    exa_model_info in;
    exa_model_get_info(m, &in);
    if (n_ctx > in.n_ctx_train && in.n_ctx_train > 0) n_ctx = in.n_ctx_train;
    /* KV cache in the --kv-type (default f16): K and V per layer; sliding layers keep only
     * window + batch positions (as exa_context_init allocates for one sequence, n_batch 512) */
    long local_cap = in.sliding_window ? (in.sliding_window + 512 < n_ctx ? in.sliding_window + 512 : n_ctx) : n_ctx;
    double kv = ((double)(in.n_layer - in.n_sliding_layers) * (double)n_ctx + (double)in.n_sliding_layers * (double)local_cap) *
                2.0 * (double)exa_kv_type_bytes(exa_cli_kv_type(), in.n_head_kv, in.head_dim);
    printf("architecture      %s (%s)\n", in.arch_name, in.arch == EXA_ARCH_EXAONE ? "EXAONE 3.0/3.5/Deep" : "EXAONE 4.0");
    printf("parameters        %lld (%.3f B)\n", (long long)in.n_params, (double)in.n_params / 1e9);
    printf("weights           %s, %.1f MiB\n", in.weight_dtype, (double)in.weight_bytes / (1 << 20));
    printf("layers            %d (%d sliding-window, window %d)\n", in.n_layer, in.n_sliding_layers, in.sliding_window);
    printf("hidden / ffn      %d / %d\n", in.n_embd, in.n_ff);
    printf("heads / kv / dim  %d / %d / %d\n", in.n_head, in.n_head_kv, in.head_dim);
    printf("vocab             %d%s\n", in.n_vocab, in.tied_embeddings ? " (tied embeddings)" : "");
    printf("context (train)   %d\n", in.n_ctx_train);
    printf("rope              theta %g%s\n", (double)in.rope_theta, in.rope_llama3 ? ", llama3 scaling" : "");
    printf("memory needed     %.1f MiB weights + %.1f MiB KV cache (%s) for %ld positions\n",
           (double)in.weight_bytes / (1 << 20), kv / (1 << 20), exa_kv_type_name(exa_cli_kv_type()), n_ctx);
    if (in.repacked_bytes)
        printf("load time         %.2f ms (%.1f MiB of quantized weights repacked for this CPU's VNNI kernels)\n", in.load_seconds * 1e3,
               (double)in.repacked_bytes / (1 << 20));
    else
        printf("load time         %.2f ms (weights memory-mapped, not read)\n", in.load_seconds * 1e3);
    /* the kernels this CPU runs (EXA_CPU lowers the level; AMX where the CPU, the OS and the
     * start-up self-checks allow) */
    printf("kernels           %s%s; AMX int8 %s; AMX bf16 %s\n", exa_cpu_level_name(exa_cpu_active()),
           exa_cpu_active() == EXA_CPU_AVX512 && exa_quant_has_vnni() ? " + VNNI" : "", exa_qx16_amx_state(), exa_bf16_amx_state());
    exa_model_free(m);
    return 0;
}
