/* test_gguf_model.c — GGUF model round trips: tiny HF folders (tools/make_tiny_models.py, every
 * architecture variant: exaone 3.0 / 3.5 with llama3 rope and head_dim 80, exaone4 1.2B-like,
 * exaone4 hybrid with sliding layers and NoPE globals) are exported with exa_gguf_export in every
 * type, loaded back from the .gguf and run: f32/f16/bf16 give exactly the logits of the HF folder
 * (loaded with the same --quant conversion), quantized files exactly those of --quant at load
 * and close to f32. A folder with the real EXAONE 4.0 tokenizer checks the tokenizer metadata.
 * argv[1]: folder with the tiny models; argv[2] (optional): folder of the tokenizer model. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/gguf.h"
#include "model/model.h"
#include "test_util.h"

static const int32_t toks[] = {1, 5, 9, 200, 33, 7, 100, 250, 3, 77, 19, 400};
#define NT ((int)(sizeof toks / sizeof toks[0]))

/* logits (NT × V) of path loaded with quant q; NULL on failure */
static float *run(const char *path, exa_quant_type q, int *V) {
    char err[512];
    exa_model_params mp = exa_model_default_params();
    mp.quant = q;
    exa_model *m;
    if (exa_model_load(path, &mp, &m, err, sizeof err) != EXA_OK) { fprintf(stderr, "%s\n", err); return NULL; }
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 2;
    exa_context *c;
    if (exa_context_init(m, &cp, &c, err, sizeof err) != EXA_OK) { exa_model_free(m); return NULL; }
    *V = exa_context_n_vocab(c);
    float *out = malloc(sizeof(float) * (size_t)*V * NT);
    exa_context_eval(c, 0, toks, NT, 1);
    for (int i = 0; i < NT; i++) memcpy(out + (size_t)i * *V, exa_context_logits(c, i), sizeof(float) * (size_t)*V);
    exa_context_free(c);
    exa_model_free(m);
    return out;
}

static double max_diff(const float *a, const float *b, size_t n, double *amax) {
    double d = 0;
    *amax = 0;
    for (size_t i = 0; i < n; i++) { d = fmax(d, fabs((double)a[i] - b[i])); *amax = fmax(*amax, fabs((double)a[i])); }
    return d;
}

static void round_trip(const char *dir, const char *variant) {
    char hf[1024], gg[1100], err[512];
    snprintf(hf, sizeof hf, "%s/%s", dir, variant);
    int V = 0, V2 = 0;
    float *ref = run(hf, EXA_QUANT_NONE, &V);
    CHECK(ref != NULL, "%s: HF folder runs", variant);
    if (!ref) return;
    const exa_quant_type types[] = {EXA_QUANT_F32, EXA_QUANT_F16, EXA_QUANT_BF16, EXA_QUANT_Q8_0, EXA_QUANT_Q4_0,
                                    EXA_QUANT_Q4_K, EXA_QUANT_Q4_K_M, EXA_QUANT_Q5_K, EXA_QUANT_Q6_K};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const exa_quant_type q = types[k];
        snprintf(gg, sizeof gg, "%s/%s.%s.gguf", dir, variant, exa_quant_type_name(q));
        exa_status st = exa_gguf_export(hf, gg, q, NULL, NULL, err, sizeof err);
        CHECK(st == EXA_OK, "%s: export %s: %s", variant, exa_quant_type_name(q), err);
        if (st) continue;
        float *got = run(gg, EXA_QUANT_NONE, &V2);
        float *conv = run(hf, q, &V2);
        CHECK(got && conv && V2 == V, "%s %s: GGUF loads and runs", variant, exa_quant_type_name(q));
        if (got && conv) {
            double amax, d_same = max_diff(conv, got, (size_t)V * NT, &amax), d_ref = max_diff(ref, got, (size_t)V * NT, &amax);
            /* the GGUF holds exactly the bytes --quant produces, and llama3 rope_freqs give the HF frequencies */
            CHECK(d_same <= 1e-5 * amax, "%s %s: GGUF logits differ from --quant at load by %g", variant, exa_quant_type_name(q), d_same);
            double num = 0, den = 0;
            for (size_t i = 0; i < (size_t)V * NT; i++) { num += (got[i] - ref[i]) * (double)(got[i] - ref[i]); den += (double)ref[i] * ref[i]; }
            const double rel = sqrt(num / den);
            /* f32 exact; f16/bf16 rounding; 8-bit weights+activations; 4-bit on tiny random weights */
            double tol = q == EXA_QUANT_F16 ? 0.005 : q == EXA_QUANT_BF16 ? 0.02 : q == EXA_QUANT_Q8_0 ? 0.05 : 0.6;
            if (q == EXA_QUANT_F32) CHECK(d_ref <= 1e-5 * amax, "%s f32: logits differ from the HF folder by %g", variant, d_ref);
            else CHECK(rel <= tol, "%s %s: logits differ from the HF f32 folder by %.4f (relative RMS)", variant, exa_quant_type_name(q), rel);
            if (getenv("EXA_TEST_VERBOSE")) printf("%s %s: relative RMS logit error %.5f\n", variant, exa_quant_type_name(q), rel);
        }
        free(got);
        free(conv);
    }
    free(ref);
}

static const char *kv_str(const exa_gguf *g, const char *key, uint64_t *len) {
    exa_gguf_str s;
    if (exa_gguf_get_str(g, key, &s) != EXA_OK) return NULL;
    *len = s.len;
    return s.ptr;
}

static void tokenizer_metadata(const char *dir) {
    char gg[1100], err[512];
    snprintf(gg, sizeof gg, "%s.q8_0.gguf", dir);
    CHECK(exa_gguf_export(dir, gg, EXA_QUANT_Q8_0, NULL, NULL, err, sizeof err) == EXA_OK, "export with tokenizer: %s", err);
    exa_gguf *g;
    if (exa_gguf_open(gg, 1, &g, err, sizeof err) != EXA_OK) { CHECK(0, "open %s: %s", gg, err); return; }
    exa_tokenizer *tok;
    CHECK(exa_tokenizer_load(dir, &tok, err, sizeof err) == EXA_OK, "tokenizer: %s", err);
    uint64_t n;
    const char *s = kv_str(g, EXA_GGUF_KEY_ARCH, &n);
    CHECK(s && n == 7 && !memcmp(s, "exaone4", 7), "general.architecture");
    s = kv_str(g, EXA_GGUF_KEY_TOK_MODEL, &n);
    CHECK(s && n == 4 && !memcmp(s, "gpt2", 4), "tokenizer.ggml.model");
    s = kv_str(g, EXA_GGUF_KEY_TOK_PRE, &n);
    CHECK(s && n == 7 && !memcmp(s, "exaone4", 7), "tokenizer.ggml.pre");
    const exa_gguf_kv *tk = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_TOKENS), *ty = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_TYPES);
    CHECK(tk && tk->arr_type == EXA_GGUF_STRING && tk->arr_n == 102400, "token list");
    CHECK(ty && ty->arr_type == EXA_GGUF_I32 && ty->arr_n == 102400, "token types");
    int bad = 0, n_ctrl = 0, n_user = 0;
    for (uint64_t i = 0; tk && ty && i < tk->arr_n; i++) {
        const char *t = exa_tokenizer_token_text(tok, (int32_t)i);
        int64_t type;
        exa_gguf_arr_i64(ty, i, &type);
        n_ctrl += type == 3;
        n_user += type == 4;
        if (!t || strlen(t) != tk->arr_strs[i].len || memcmp(t, tk->arr_strs[i].ptr, tk->arr_strs[i].len)) bad++;
        if (type != (exa_tokenizer_is_special(tok, (int32_t)i) ? 3 : exa_tokenizer_is_added(tok, (int32_t)i) ? 4 : 1)) bad++;
    }
    CHECK(bad == 0 && n_ctrl > 0 && n_user > 0, "tokens in id order with types (%d bad, %d control, %d user-defined)", bad, n_ctrl, n_user);
    const exa_gguf_kv *mg = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_MERGES);
    CHECK(mg && mg->arr_type == EXA_GGUF_STRING && mg->arr_n > 100000, "merges");
    if (mg && mg->arr_n) CHECK(memchr(mg->arr_strs[0].ptr, ' ', mg->arr_strs[0].len) != NULL, "merge 'a b'");
    uint32_t id;
    CHECK(exa_gguf_get_u32(g, EXA_GGUF_KEY_TOK_EOS, &id) == EXA_OK && id == 361, "eos 361");
    CHECK(exa_gguf_get_u32(g, EXA_GGUF_KEY_TOK_BOS, &id) == EXA_OK && id == 1, "bos 1");
    CHECK(exa_gguf_get_u32(g, EXA_GGUF_KEY_TOK_PAD, &id) == EXA_OK && id == 0, "pad 0");
    int b = 1;
    CHECK(exa_gguf_get_bool(g, EXA_GGUF_KEY_TOK_ADD_BOS, &b) == EXA_OK && b == 0, "add_bos false");
    s = kv_str(g, EXA_GGUF_KEY_CHAT_TEMPLATE, &n);
    CHECK(s && n > 100, "chat template");
    CHECK(exa_gguf_find_tensor(g, "rope_freqs.weight") != NULL, "rope_freqs for llama3 scaling");
    CHECK(exa_gguf_find_tensor(g, "output.weight") == NULL, "tied: no output.weight");
    exa_gguf_hparams gh;
    CHECK(exa_gguf_read_hparams(g, &gh, err, sizeof err) == EXA_OK && gh.vocab_size == 102400 && gh.n_swa_pattern == gh.block_count,
          "hparams: %s", err);
    exa_tokenizer_free(tok);
    exa_gguf_close(g);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: test_gguf_model MODELS_DIR [TOKENIZER_MODEL_DIR]\n"); return 2; }
    const char *variants[] = {"exaone4-1.2b", "exaone3.5", "exaone4-hybrid", "exaone3.0"};
    for (int i = 0; i < 4; i++) round_trip(argv[1], variants[i]);
    if (argc > 2) tokenizer_metadata(argv[2]);
    /* a folder with one .gguf and no safetensors loads as that file; two are an error */
    char d[1100], a[1200], b[1200], f[PATH_MAX];
    snprintf(d, sizeof d, "%s/one-gguf", argv[1]);
    snprintf(a, sizeof a, "%s/exaone3.0.f32.gguf", argv[1]);
    if (!realpath(a, f)) snprintf(f, sizeof f, "%s", a);
    snprintf(a, sizeof a, "%s/a.gguf", d);
    snprintf(b, sizeof b, "%s/b.gguf", d);
    unlink(a); unlink(b); rmdir(d);
    CHECK(mkdir(d, 0755) == 0 && symlink(f, a) == 0, "make %s", d);
    int V = 0;
    float *lg = run(d, EXA_QUANT_NONE, &V);
    CHECK(lg && V == 512, "folder with one .gguf loads it");
    free(lg);
    CHECK(symlink(f, b) == 0, "second gguf");
    exa_model *m = NULL;
    char err[512];
    CHECK(exa_model_load(d, NULL, &m, err, sizeof err) == EXA_ERR_INVALID_ARG && !m && strstr(err, "several"), "two .gguf: %s", err);
    return TEST_END();
}
