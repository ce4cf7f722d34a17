/* cmd_generate.c — `exaone generate`: continue a prompt. Text prompts (-p / -f) are tokenized
 * with the model folder's tokenizer and the continuation is streamed as text (never splitting a
 * UTF-8 character); --chat wraps the prompt as one user turn in the model's chat template.
 * With --tokens 1,2,3 the prompt is token ids and the generated ids are printed on one line. */
#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"

static void usage(void) {
    printf("usage: exaone generate -m DIR (-p TEXT | -f FILE | --tokens 1,2,3) [options]\n"
           "  --quant TYPE       convert weights at load: q8, q4 (= q4_K_M), q4_0, q4_K, q5_K, q6_K, f16, bf16\n"
           "  --kv-type T        KV cache type: f16 (default), f32 (exact), bf16, q8_0\n"
           "  --lora DIR         merge this PEFT LoRA adapter (exaone finetune output) at load\n"
           "  --chat             wrap the prompt as a user turn in the model's chat template\n"
           "  --system TEXT      system prompt (with --chat)\n"
           "  --think            open the reasoning block (EXAONE 4.0 enable_thinking, with --chat)\n"
           "  -n N               tokens to generate (default 32)\n"
           "  --temp T           temperature, 0 = greedy (default 0)\n"
           "  --top-k K          (default 0 = off)\n"
           "  --top-p P          (default 1 = off)\n"
           "  --min-p P          (default 0 = off)\n"
           "  --repeat-penalty R (default 1 = off), --repeat-last-n N (default 64)\n"
           "  --seed S           random seed (default 24301)\n"
           "  --ignore-eos       keep going after [|endofturn|]\n"
           "  -t N               threads (default: all cores)\n"
           "  --ctx N            context length (default min(4096, model max))\n"
           "text prompts stream the continuation as text; --tokens prints generated ids; speed on stderr\n");
}

int exa_cmd_generate(int argc, char **argv) {
    if (exa_cli_take_quant(&argc, argv)) return 1; /* --quant TYPE: convert weights at load */
    const char *dir = NULL, *toks = NULL, *text = NULL, *file = NULL, *system = NULL;
    int chat = 0, think = 0;
    long n_gen = 32, top_k = 0, last_n = 64, threads = 0, n_ctx = 0, seed = 24301;
    double temp = 0, top_p = 1, min_p = 0, rep = 1;
    int ignore_eos = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        else if (!strcmp(a, "--ignore-eos")) { ignore_eos = 1; i--; continue; }
        else if (!strcmp(a, "--chat")) { chat = 1; i--; continue; }
        else if (!strcmp(a, "--think")) { think = 1; i--; continue; }
        else if (!v) return exa_cli_fail("generate: option '%s' needs a value (see exaone generate --help)", a);
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) dir = v;
        else if (!strcmp(a, "--lora")) exa_cli_lora_dir = v; /* PEFT adapter merged at load */
        else if (!strcmp(a, "--tokens")) toks = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) text = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) file = v;
        else if (!strcmp(a, "--system")) system = v;
        else if (!strcmp(a, "-n")) r = exa_cli_int(a, v, 0, 1 << 24, &n_gen);
        else if (!strcmp(a, "--temp")) r = exa_cli_float(a, v, &temp);
        else if (!strcmp(a, "--top-k")) r = exa_cli_int(a, v, 0, 1 << 24, &top_k);
        else if (!strcmp(a, "--top-p")) r = exa_cli_float(a, v, &top_p);
        else if (!strcmp(a, "--min-p")) r = exa_cli_float(a, v, &min_p);
        else if (!strcmp(a, "--repeat-penalty")) r = exa_cli_float(a, v, &rep);
        else if (!strcmp(a, "--repeat-last-n")) r = exa_cli_int(a, v, 0, 1 << 20, &last_n);
        else if (!strcmp(a, "--seed")) r = exa_cli_int(a, v, 0, 0x7fffffffL, &seed);
        else if (!strcmp(a, "-t")) r = exa_cli_int(a, v, 1, 1024, &threads);
        else if (!strcmp(a, "--ctx")) r = exa_cli_int(a, v, 1, 1 << 24, &n_ctx);
        else return exa_cli_fail("generate: unknown option '%s' (see exaone generate --help)", a);
        if (r) return 1;
    }
    if (!dir) return exa_cli_fail("generate: -m DIR is required");
    if (!!toks + !!text + !!file != 1) return exa_cli_fail("generate: give exactly one of -p TEXT, -f FILE or --tokens");
    if (chat && toks) return exa_cli_fail("generate: --chat needs a text prompt (-p or -f)");
    int32_t *prompt = NULL;
    int n_prompt = 0;
    exa_tokenizer *tok = NULL;
    if (toks) {
        n_prompt = exa_cli_parse_tokens(toks, &prompt);
        if (n_prompt < 0) return 1;
    } else {
        char *buf = NULL;
        if (file && exa_cli_read_file(file, &buf) != 0) return 1;
        int rc = exa_cli_text_prompt(dir, file ? buf : text, chat, system, think, &tok, &prompt, &n_prompt);
        free(buf);
        if (rc) return rc;
    }
    if (n_prompt == 0) { free(prompt); exa_tokenizer_free(tok); return exa_cli_fail("generate: empty prompt"); }
    exa_model *m = exa_cli_load_model(dir);
    if (!m) { free(prompt); exa_tokenizer_free(tok); return 1; }
    exa_model_info info;
    exa_model_get_info(m, &info);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] >= info.n_vocab) {
            exa_cli_fail("generate: token id %d out of range (vocabulary has %d)", prompt[i], info.n_vocab);
            free(prompt); exa_tokenizer_free(tok); exa_model_free(m); return 1;
        }
    exa_context_params cp = exa_cli_context_params(); /* --kv-type */
    cp.n_threads = (int)threads;
    cp.n_ctx = n_ctx ? (int)n_ctx : 0;
    if (!cp.n_ctx) cp.n_ctx = info.n_ctx_train > 0 && info.n_ctx_train < 4096 ? info.n_ctx_train : 4096;
    if (n_prompt + n_gen > cp.n_ctx) {
        exa_cli_fail("generate: prompt (%d) + new tokens (%ld) exceed the context (%d); use --ctx", n_prompt, n_gen, cp.n_ctx);
        free(prompt); exa_tokenizer_free(tok); exa_model_free(m); return 1;
    }
    char err[512];
    exa_context *ctx = NULL;
    if (exa_context_init(m, &cp, &ctx, err, sizeof err) != EXA_OK) {
        exa_cli_fail("%s", err); free(prompt); exa_tokenizer_free(tok); exa_model_free(m); return 1;
    }
    exa_sampler_params sp = exa_sampler_default_params();
    sp.temperature = (float)temp; sp.top_k = (int)top_k; sp.top_p = (float)top_p; sp.min_p = (float)min_p;
    sp.repeat_penalty = (float)rep; sp.repeat_last_n = (int)last_n; sp.seed = (uint64_t)seed;
    exa_sampler *smp = exa_sampler_init(&sp, info.n_vocab);
    if (!smp) { exa_cli_fail("generate: out of memory"); exa_context_free(ctx); exa_model_free(m); free(prompt); return 1; }
    int rc = 0;
    exa_detok *detok = tok ? exa_detok_init(tok, 1) : NULL;
    for (int i = 0; i < n_prompt; i++) exa_sampler_accept(smp, prompt[i]);
    double t0 = exa_time_now();
    exa_status st = exa_context_eval(ctx, 0, prompt, n_prompt, 0);
    double t1 = exa_time_now();
    int n_done = 0;
    while (st == EXA_OK && n_done < n_gen) {
        int32_t next = exa_sampler_sample(smp, exa_context_logits(ctx, -1));
        exa_sampler_accept(smp, next);
        if (!ignore_eos && next == info.eos_id) { n_done++; break; }
        if (detok) {
            size_t len;
            const char *piece = exa_detok_push(detok, next, &len);
            fwrite(piece, 1, len, stdout);
        } else printf(n_done ? " %d" : "%d", next);
        fflush(stdout);
        n_done++;
        if (n_done == n_gen) break;
        st = exa_context_eval(ctx, 0, &next, 1, 0);
    }
    if (detok) {
        size_t len;
        const char *rest = exa_detok_flush(detok, &len);
        fwrite(rest, 1, len, stdout);
    }
    printf("\n");
    fflush(stdout);
    double t2 = exa_time_now();
    if (st != EXA_OK) rc = exa_cli_fail("generate: %s", exa_context_errmsg(ctx));
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tok/s); generated %d tokens in %.3f s (%.1f tok/s)\n", n_prompt,
            t1 - t0, n_prompt / (t1 - t0 + 1e-9), n_done, t2 - t1, n_done > 1 ? (n_done - 1) / (t2 - t1 + 1e-9) : 0.0);
    exa_detok_free(detok);
    exa_tokenizer_free(tok);
    exa_sampler_free(smp);
    exa_context_free(ctx);
    exa_model_free(m);
    free(prompt);
    return rc;
}
