/* cmd_perplexity.c — `exaone perplexity -m MODEL -f FILE [--quant T] [--ctx 512]`: perplexity
 * over a text file cut into non-overlapping windows of --ctx tokens (every token of a window but
 * the first is predicted from the ones before it in that window). With --compare-to REF the same
 * windows also run through a reference model (e.g. the f32 original of a quantized model) and it
 * reports the mean KL divergence KL(ref ‖ model) per token and how often both put the same token
 * on top — the quantization-quality measures of llama.cpp's perplexity --kl-divergence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* log-softmax normaliser: logsumexp(x) */
static double lse(const float *x, int n) {
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double s = 0;
    for (int i = 0; i < n; i++) s += exp((double)x[i] - mx);
    return mx + log(s);
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

/* the tokenizer of MODEL: a folder's files, or a .gguf's own metadata (else the files next to
 * it); --tokenizer DIR overrides both */
static exa_tokenizer *load_tokenizer(const char *model, const char *tokdir) {
    char err[1024];
    exa_tokenizer *tok = NULL;
    if (exa_tokenizer_load(tokdir ? tokdir : model, &tok, err, sizeof err) != EXA_OK) {
        exa_cli_fail("perplexity: no tokenizer for %s (%s); pass --tokenizer DIR", model, err);
        return NULL;
    }
    return tok;
}

static exa_context *make_ctx(exa_model *m, int n_ctx, long threads) {
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_threads = (int)threads;
    char err[512];
    exa_context *c = NULL;
    if (exa_context_init(m, &cp, &c, err, sizeof err) != EXA_OK) exa_cli_fail("%s", err);
    return c;
}

int exa_cmd_perplexity(int argc, char **argv) {
    if (exa_cli_take_quant(&argc, argv)) return 1;
    const char *model = NULL, *file = NULL, *ref = NULL, *tokdir = NULL;
    long n_ctx = 512, threads = 0, max_chunks = 0;
    int json = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: exaone perplexity -m MODEL -f FILE [--quant TYPE] [--ctx 512] [--compare-to REFMODEL]\n"
                   "                         [--chunks N] [-t N] [--tokenizer DIR] [--json]\n"
                   "  MODEL is a folder or a .gguf (tokenizer: the folder's files or the GGUF's metadata, or --tokenizer DIR)\n"
                   "  --compare-to REF  also run REF (as stored, no --quant) and report mean KL(REF || MODEL)\n"
                   "                    per token and top-1 agreement\n");
            return 0;
        }
        if (!strcmp(a, "--json")) { json = 1; i--; continue; }
        if (!v) return exa_cli_fail("perplexity: option '%s' needs a value", a);
        if (!strcmp(a, "-m")) model = v;
        else if (!strcmp(a, "-f")) file = v;
        else if (!strcmp(a, "--compare-to")) ref = v;
        else if (!strcmp(a, "--tokenizer")) tokdir = v;
        else if (!strcmp(a, "--ctx")) { if (exa_cli_int(a, v, 2, 1 << 16, &n_ctx)) return 1; }
        else if (!strcmp(a, "--chunks")) { if (exa_cli_int(a, v, 0, 1 << 20, &max_chunks)) return 1; }
        else if (!strcmp(a, "-t")) { if (exa_cli_int(a, v, 1, 1024, &threads)) return 1; }
        else return exa_cli_fail("perplexity: unknown option '%s'", a);
    }
    if (!model || !file) return exa_cli_fail("perplexity: -m MODEL and -f FILE are required (see --help)");

    int rc = 1;
    char *text = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    exa_model *m = NULL, *mr = NULL;
    exa_context *c = NULL, *cr = NULL;
    exa_tokenizer *tok = load_tokenizer(model, tokdir);
    if (!tok || exa_cli_read_file(file, &text)) goto done;
    if (exa_tokenizer_encode_alloc(tok, text, strlen(text), 0, &ids, &n_ids) != EXA_OK) { exa_cli_fail("perplexity: cannot tokenize %s", file); goto done; }
    if (n_ids < (size_t)n_ctx) n_ctx = (long)n_ids;
    if (n_ctx < 2) { exa_cli_fail("perplexity: %s has fewer than 2 tokens", file); goto done; }
    if (!(m = exa_cli_load_model(model)) || !(c = make_ctx(m, (int)n_ctx, threads))) goto done;
    const int V = exa_context_n_vocab(c);
    if (ref) {
        char err[1024];
        exa_model_params mp = exa_model_default_params();
        if (exa_model_load(ref, &mp, &mr, err, sizeof err) != EXA_OK) { exa_cli_fail("%s", err); goto done; }
        if (!(cr = make_ctx(mr, (int)n_ctx, threads))) goto done;
        if (exa_context_n_vocab(cr) != V) { exa_cli_fail("perplexity: %s and %s have different vocabularies", model, ref); goto done; }
    }
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] >= V) { exa_cli_fail("perplexity: token id %d is outside the model's vocabulary (%d)", ids[i], V); goto done; }

    long n_chunks = (long)(n_ids / (size_t)n_ctx);
    if (max_chunks && n_chunks > max_chunks) n_chunks = max_chunks;
    double nll = 0, nll_ref = 0, kl_sum = 0, kl_max = 0;
    long n_scored = 0, n_agree = 0;
    for (long k = 0; k < n_chunks; k++) {
        const int32_t *w = ids + (size_t)k * (size_t)n_ctx;
        exa_context_seq_reset(c, 0);
        if (exa_context_eval(c, 0, w, (int)n_ctx, 1) != EXA_OK) { exa_cli_fail("perplexity: %s", exa_context_errmsg(c)); goto done; }
        if (cr) {
            exa_context_seq_reset(cr, 0);
            if (exa_context_eval(cr, 0, w, (int)n_ctx, 1) != EXA_OK) { exa_cli_fail("perplexity: %s", exa_context_errmsg(cr)); goto done; }
        }
        for (int i = 0; i + 1 < n_ctx; i++) {
            const float *lg = exa_context_logits(c, i);
            const double z = lse(lg, V);
            nll += z - lg[w[i + 1]];
            if (cr) {
                const float *lr = exa_context_logits(cr, i);
                const double zr = lse(lr, V);
                nll_ref += zr - lr[w[i + 1]];
                double kl = 0;
                for (int v = 0; v < V; v++) {
                    double lpr = lr[v] - zr;
                    kl += exp(lpr) * (lpr - (lg[v] - z));
                }
                kl_sum += kl;
                if (kl > kl_max) kl_max = kl;
                n_agree += argmax(lg, V) == argmax(lr, V);
            }
            n_scored++;
        }
        if (!json) fprintf(stderr, "\r[%ld/%ld] ppl %.4f", k + 1, n_chunks, exp(nll / (double)n_scored));
    }
    if (!json) fprintf(stderr, "\n");
    if (n_scored == 0) { exa_cli_fail("perplexity: no full window of %ld tokens in %s", n_ctx, file); goto done; }
    const double ppl = exp(nll / (double)n_scored);
    if (json) {
        printf("{\"model\": \"%s\", \"quant\": \"%s\", \"file\": \"%s\", \"ctx\": %ld, \"tokens_scored\": %ld, \"ppl\": %.6f", model,
               exa_quant_type_name(exa_cli_quant()), file, n_ctx, n_scored, ppl);
        if (cr)
            printf(", \"ref\": \"%s\", \"ref_ppl\": %.6f, \"mean_kl\": %.8f, \"max_kl\": %.6f, \"top1_agreement\": %.6f", ref,
                   exp(nll_ref / (double)n_scored), kl_sum / (double)n_scored, kl_max, (double)n_agree / (double)n_scored);
        printf("}\n");
    } else {
        printf("model %s (%s): perplexity %.4f over %ld tokens (%ld windows of %ld)\n", model,
               exa_quant_type_name(exa_cli_quant()), ppl, n_scored, n_chunks, n_ctx);
        if (cr)
            printf("reference %s: perplexity %.4f; mean KL(ref||model) %.6f nats/token (max %.4f); top-1 agreement %.2f%%\n", ref,
                   exp(nll_ref / (double)n_scored), kl_sum / (double)n_scored, kl_max, 100.0 * (double)n_agree / (double)n_scored);
    }
    rc = 0;
done:
    exa_context_free(c);
    exa_context_free(cr);
    exa_model_free(m);
    exa_model_free(mr);
    exa_tokenizer_free(tok);
    free(ids);
    free(text);
    return rc;
}
