/* cmd_quantize.c — `exaone quantize IN OUT.gguf --type TYPE`: converts a Hugging Face EXAONE
 * folder (or a GGUF) into a GGUF file llama.cpp can load (src/model/gguf_export.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"

int exa_cmd_quantize(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *type = "q8_0";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: exaone quantize IN OUT.gguf [--type TYPE]\n"
                   "  IN      Hugging Face model folder (config.json + safetensors + tokenizer) or a .gguf\n"
                   "  --type  q8_0 (default), q4_0, q4_K, q4_K_M, q5_K, q6_K, f16, bf16, f32, none (as stored)\n"
                   "  q4_K_M is llama.cpp's mix: Q4_K with Q6_K for the output matrix and some attn_v/ffn_down\n");
            return 0;
        }
        if (!strcmp(a, "--type")) {
            if (i + 1 >= argc) return exa_cli_fail("quantize: --type needs a value");
            type = argv[++i];
        } else if (a[0] == '-' && a[1]) return exa_cli_fail("quantize: unknown option '%s'", a);
        else if (!in) in = a;
        else if (!out) out = a;
        else return exa_cli_fail("quantize: unexpected argument '%s'", a);
    }
    if (!in || !out) return exa_cli_fail("quantize: usage: exaone quantize IN OUT.gguf --type TYPE");
    exa_quant_type q;
    if (!exa_quant_type_from_name(type, &q)) return exa_cli_fail("quantize: unknown --type '%s' (see --help)", type);
    char err[1024];
    double t0 = exa_time_now();
    if (exa_gguf_export(in, out, q, NULL, NULL, err, sizeof err) != EXA_OK) return exa_cli_fail("%s", err);
    fprintf(stderr, "exaone: wrote %s (%s) in %.2f s\n", out, exa_quant_type_name(q), exa_time_now() - t0);
    return 0;
}
