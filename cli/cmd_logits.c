/* cmd_logits.c — `exaone logits -m DIR --tokens ... --out FILE`: runs one forward pass over the
 * tokens and writes the logits of every position as float32 little-endian [n_tokens][vocab]
 * (the format the parity tests compare against the reference implementation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int exa_cmd_logits(int argc, char **argv) {
    if (exa_cli_take_quant(&argc, argv)) return 1; /* --quant TYPE: convert weights at load */
    const char *dir = NULL, *toks = NULL, *out = NULL;
    long threads = 0, n_batch = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: exaone logits -m DIR --tokens 1,2,3 --out FILE [-t N] [--batch N] [--quant TYPE] [--kv-type f16|f32|bf16|q8_0] [--lora ADAPTER_DIR]\n"
                   "  writes float32 little-endian [n_tokens][vocab]; --batch N evaluates in chunks of N\n"
                   "  tokens through the KV cache (default: all at once)\n");
            return 0;
        }
        if (!v) return exa_cli_fail("logits: option '%s' needs a value", a);
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) dir = v;
        else if (!strcmp(a, "--lora")) exa_cli_lora_dir = v; /* PEFT adapter merged at load */
        else if (!strcmp(a, "--tokens")) toks = v;
        else if (!strcmp(a, "--out") || !strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "-t")) { if (exa_cli_int(a, v, 1, 1024, &threads)) return 1; }
        else if (!strcmp(a, "--batch")) { if (exa_cli_int(a, v, 1, 1 << 20, &n_batch)) return 1; }
        else return exa_cli_fail("logits: unknown option '%s'", a);
    }
    if (!dir || !toks || !out) return exa_cli_fail("logits: -m DIR, --tokens and --out are required");
    int32_t *t = NULL;
    int n = exa_cli_parse_tokens(toks, &t);
    if (n <= 0) { free(t); return n < 0 ? 1 : exa_cli_fail("logits: empty token list"); }
    exa_model *m = exa_cli_load_model(dir);
    if (!m) { free(t); return 1; }
    exa_model_info info;
    exa_model_get_info(m, &info);
    int rc = 0;
    exa_context *ctx = NULL;
    FILE *f = NULL;
    char err[512];
    exa_context_params cp = exa_cli_context_params(); /* --kv-type */
    cp.n_threads = (int)threads;
    cp.n_ctx = n;
    cp.n_batch = n_batch ? (int)n_batch : n;
    if (exa_context_init(m, &cp, &ctx, err, sizeof err) != EXA_OK) { rc = exa_cli_fail("%s", err); goto done; }
    if (!(f = fopen(out, "wb"))) { rc = exa_cli_fail("logits: cannot write %s", out); goto done; }
    for (int done = 0; done < n;) {
        int chunk = n - done < cp.n_batch ? n - done : cp.n_batch;
        if (exa_context_eval(ctx, 0, t + done, chunk, 1) != EXA_OK) { rc = exa_cli_fail("logits: %s", exa_context_errmsg(ctx)); goto done; }
        for (int i = 0; i < chunk; i++)
            if (fwrite(exa_context_logits(ctx, i), sizeof(float), (size_t)info.n_vocab, f) != (size_t)info.n_vocab) {
                rc = exa_cli_fail("logits: write error on %s", out);
                goto done;
            }
        done += chunk;
    }
done:
    if (f && fclose(f) != 0 && !rc) rc = exa_cli_fail("logits: write error on %s", out);
    exa_context_free(ctx);
    exa_model_free(m);
    free(t);
    return rc;
}
