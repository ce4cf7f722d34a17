/* cmd_random_model.c — `exaone random-model --shape NAME --out DIR`: writes a Hugging Face model
 * folder (config.json with the family's real key spelling, model.safetensors, generation_config)
 * with random weights in the exact shapes of a real EXAONE model, for benchmarks and demos where
 * the real weights cannot be downloaded. Shapes: spec §1.1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/safetensors.h"

typedef struct shape {
    const char *name;
    int exaone4;
    int V, D, L, H, KV, d, F, max_pos;
    double theta, llama3_factor; /* factor 0: no scaling */
    int tied, window;            /* window 0: no sliding layers; else 3 local : 1 global */
} shape;

static const shape shapes[] = {
    {"exaone4-1.2b", 1, 102400, 2048, 30, 32, 8, 64, 4096, 65536, 1e6, 16, 1, 0},
    {"exaone4-32b", 1, 102400, 5120, 64, 40, 8, 128, 27392, 131072, 1e6, 16, 0, 4096},
    {"exaone3.5-2.4b", 0, 102400, 2560, 30, 32, 8, 80, 7168, 32768, 1e6, 8, 1, 0},
    {"exaone3.5-7.8b", 0, 102400, 4096, 32, 32, 8, 128, 14336, 32768, 1e6, 8, 0, 0},
    {"exaone3.5-32b", 0, 102400, 5120, 64, 40, 8, 128, 27392, 32768, 1e6, 8, 0, 0},
    {"exaone3.0-7.8b", 0, 102400, 4096, 32, 32, 8, 128, 14336, 4096, 5e5, 0, 0, 0},
    {"tiny-exaone4", 1, 512, 64, 4, 4, 2, 16, 128, 2048, 1e6, 16, 1, 0},
    {"tiny-exaone4-hybrid", 1, 512, 64, 8, 4, 2, 16, 128, 2048, 1e6, 16, 0, 8},
    {"tiny-exaone3", 0, 512, 64, 4, 4, 2, 16, 128, 2048, 1e6, 8, 1, 0},
    /* quant: the smallest shape whose matrices all take 256-wide k-quant blocks */
    {"small-exaone4", 1, 102400, 256, 4, 4, 2, 64, 768, 65536, 1e6, 16, 1, 0},
};

typedef struct { uint64_t rng; exa_dtype dt; const exa_st_write_tensor *ts; } fill_state;

static int fill(void *user, int index, void *buf, size_t nbytes) {
    fill_state *s = user;
    const exa_st_write_tensor *t = &s->ts[index];
    size_t n = nbytes / exa_dtype_size(s->dt);
    for (size_t i = 0; i < n; i++) {
        float v;
        if (t->ndim == 1) v = 1.0f; /* norm scales start at 1 */
        else {                       /* uniform with std 0.02 */
            s->rng ^= s->rng << 13; s->rng ^= s->rng >> 7; s->rng ^= s->rng << 17;
            v = ((float)(s->rng >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * 0.0346410f;
        }
        if (s->dt == EXA_DTYPE_F32) ((float *)buf)[i] = v;
        else if (s->dt == EXA_DTYPE_BF16) ((uint16_t *)buf)[i] = exa_f32_to_bf16(v);
        else ((uint16_t *)buf)[i] = exa_f32_to_f16(v);
    }
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int exa_cmd_random_model(int argc, char **argv) {
    const char *name = NULL, *out = NULL, *dts = "bf16", *tokdir = NULL;
    long seed = 1, layers = 0, vocab = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: exaone random-model --shape NAME --out DIR [--dtype bf16|f16|f32] [--seed N] [--layers N]\n"
                   "                           [--vocab N] [--tokenizer DIR (copy its tokenizer files)]\nshapes:");
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) printf(" %s", shapes[k].name);
            printf("\n");
            return 0;
        }
        if (!v) return exa_cli_fail("random-model: option '%s' needs a value", a);
        if (!strcmp(a, "--shape")) name = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--dtype")) dts = v;
        else if (!strcmp(a, "--seed")) { if (exa_cli_int(a, v, 0, 0x7fffffff, &seed)) return 1; }
        else if (!strcmp(a, "--layers")) { if (exa_cli_int(a, v, 1, 1024, &layers)) return 1; }
        else if (!strcmp(a, "--vocab")) { if (exa_cli_int(a, v, 2, 1 << 24, &vocab)) return 1; }
        else if (!strcmp(a, "--tokenizer")) tokdir = v;
        else return exa_cli_fail("random-model: unknown option '%s'", a);
    }
    if (!name || !out) return exa_cli_fail("random-model: --shape and --out are required (see --help)");
    const shape *s = NULL;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        if (!strcmp(shapes[k].name, name)) s = &shapes[k];
    if (!s) return exa_cli_fail("random-model: unknown shape '%s' (see --help)", name);
    exa_dtype dt;
    if (!strcmp(dts, "bf16")) dt = EXA_DTYPE_BF16;
    else if (!strcmp(dts, "f16")) dt = EXA_DTYPE_F16;
    else if (!strcmp(dts, "f32")) dt = EXA_DTYPE_F32;
    else return exa_cli_fail("random-model: --dtype must be bf16, f16 or f32");
    const int L = layers ? (int)layers : s->L;
    shape sv = *s;
    if (vocab) sv.V = (int)vocab;
    s = &sv;
    if (exa_cli_mkdir_p(out) != 0) return exa_cli_fail("random-model: cannot create %s: %s", out, strerror(errno));

    /* config.json in the family's own spelling (spec §1.2) */
    char cfg[20480], rope[512], lt[8192] = "", win[16] = "null";
    if (s->window) snprintf(win, sizeof win, "%d", s->window);
    if (s->llama3_factor > 0)
        snprintf(rope, sizeof rope, "{\"rope_type\": \"llama3\", \"factor\": %.1f, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}", s->llama3_factor);
    else snprintf(rope, sizeof rope, "null");
    if (s->exaone4) {
        size_t o = 0;
        o += (size_t)snprintf(lt + o, sizeof lt - o, "[");
        for (int l = 0; l < L && o < sizeof lt - 32; l++)
            o += (size_t)snprintf(lt + o, sizeof lt - o, "%s\"%s\"", l ? ", " : "", s->window && (l + 1) % 4 ? "sliding_attention" : "full_attention");
        snprintf(lt + o, sizeof lt - o, "]");
        snprintf(cfg, sizeof cfg,
                 "{\n  \"architectures\": [\"Exaone4ForCausalLM\"],\n  \"model_type\": \"exaone4\",\n  \"vocab_size\": %d,\n  \"hidden_size\": %d,\n"
                 "  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"head_dim\": %d,\n"
                 "  \"intermediate_size\": %d,\n  \"hidden_act\": \"silu\",\n  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": %.1f,\n"
                 "  \"rope_scaling\": %s,\n  \"max_position_embeddings\": %d,\n  \"sliding_window\": %s,\n  \"sliding_window_pattern\": %s,\n"
                 "  \"layer_types\": %s,\n  \"tie_word_embeddings\": %s,\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 361,\n  \"pad_token_id\": 0,\n"
                 "  \"torch_dtype\": \"%s\"\n}\n",
                 s->V, s->D, L, s->H, s->KV, s->d, s->F, s->theta, rope, s->max_pos, win,
                 s->window ? "4" : "null", lt, s->tied ? "true" : "false", dt == EXA_DTYPE_F32 ? "float32" : dt == EXA_DTYPE_F16 ? "float16" : "bfloat16");
    } else {
        snprintf(cfg, sizeof cfg,
                 "{\n  \"architectures\": [\"ExaoneForCausalLM\"],\n  \"model_type\": \"exaone\",\n  \"vocab_size\": %d,\n  \"hidden_size\": %d,\n"
                 "  \"num_layers\": %d,\n  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"head_dim\": %d,\n"
                 "  \"intermediate_size\": %d,\n  \"activation_function\": \"silu\",\n  \"layer_norm_epsilon\": 1e-05,\n  \"rope_theta\": %.1f,\n"
                 "  \"rope_scaling\": %s,\n  \"max_position_embeddings\": %d,\n%s  \"bos_token_id\": 1,\n  \"eos_token_id\": 361,\n"
                 "  \"pad_token_id\": 0,\n  \"embed_dropout\": 0.0,\n  \"attention_dropout\": 0.0,\n  \"torch_dtype\": \"%s\"\n}\n",
                 s->V, s->D, L, s->H, s->KV, s->d, s->F, s->theta, rope, s->max_pos,
                 s->tied ? "" : "  \"tie_word_embeddings\": false,\n", /* 2.4B omits the key: tied by default */
                 dt == EXA_DTYPE_F32 ? "float32" : dt == EXA_DTYPE_F16 ? "float16" : "bfloat16");
    }
    if (write_text(out, "config.json", cfg) || write_text(out, "generation_config.json", "{\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 361,\n  \"pad_token_id\": 0\n}\n"))
        return exa_cli_fail("random-model: cannot write into %s", out);

    /* tensor list in HF names (spec §5) */
    int cap = 3 + L * 11;
    exa_st_write_tensor *ts = calloc((size_t)cap, sizeof *ts);
    char (*names)[96] = calloc((size_t)cap, 96);
    if (!ts || !names) { free(ts); free(names); return exa_cli_fail("random-model: out of memory"); }
    int n = 0;
#define T2(r, c, ...) (snprintf(names[n], 96, __VA_ARGS__), ts[n] = (exa_st_write_tensor){names[n], dt, 2, {r, c}}, n++)
#define T1(r, ...) (snprintf(names[n], 96, __VA_ARGS__), ts[n] = (exa_st_write_tensor){names[n], dt, 1, {r}}, n++)
    const int64_t Hd = (int64_t)s->H * s->d, KVd = (int64_t)s->KV * s->d;
    if (s->exaone4) {
        T2(s->V, s->D, "model.embed_tokens.weight");
        for (int l = 0; l < L; l++) {
            T2(Hd, s->D, "model.layers.%d.self_attn.q_proj.weight", l);
            T2(KVd, s->D, "model.layers.%d.self_attn.k_proj.weight", l);
            T2(KVd, s->D, "model.layers.%d.self_attn.v_proj.weight", l);
            T2(s->D, Hd, "model.layers.%d.self_attn.o_proj.weight", l);
            T1(s->d, "model.layers.%d.self_attn.q_norm.weight", l);
            T1(s->d, "model.layers.%d.self_attn.k_norm.weight", l);
            T1(s->D, "model.layers.%d.post_attention_layernorm.weight", l);
            T2(s->F, s->D, "model.layers.%d.mlp.gate_proj.weight", l);
            T2(s->F, s->D, "model.layers.%d.mlp.up_proj.weight", l);
            T2(s->D, s->F, "model.layers.%d.mlp.down_proj.weight", l);
            T1(s->D, "model.layers.%d.post_feedforward_layernorm.weight", l);
        }
        T1(s->D, "model.norm.weight");
    } else {
        T2(s->V, s->D, "transformer.wte.weight");
        for (int l = 0; l < L; l++) {
            T1(s->D, "transformer.h.%d.ln_1.weight", l);
            T2(Hd, s->D, "transformer.h.%d.attn.attention.q_proj.weight", l);
            T2(KVd, s->D, "transformer.h.%d.attn.attention.k_proj.weight", l);
            T2(KVd, s->D, "transformer.h.%d.attn.attention.v_proj.weight", l);
            T2(s->D, Hd, "transformer.h.%d.attn.attention.out_proj.weight", l);
            T1(s->D, "transformer.h.%d.ln_2.weight", l);
            T2(s->F, s->D, "transformer.h.%d.mlp.c_fc_0.weight", l);
            T2(s->F, s->D, "transformer.h.%d.mlp.c_fc_1.weight", l);
            T2(s->D, s->F, "transformer.h.%d.mlp.c_proj.weight", l);
        }
        T1(s->D, "transformer.ln_f.weight");
    }
    if (!s->tied) T2(s->V, s->D, "lm_head.weight");
#undef T1
#undef T2
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    fill_state fs = {(uint64_t)seed * 0x9E3779B97F4A7C15ull + 1, dt, ts};
    exa_status st = exa_st_write(path, ts, n, "{\"format\": \"pt\"}", fill, &fs, err, sizeof err);
    free(ts);
    free(names);
    if (st != EXA_OK) return exa_cli_fail("random-model: %s", err);
    if (tokdir) {
        static const char *files[] = {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                                      "special_tokens_map.json", "chat_template.jinja"};
        int copied = 0;
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            char src[4096], dst[4096];
            snprintf(src, sizeof src, "%s/%s", tokdir, files[k]);
            snprintf(dst, sizeof dst, "%s/%s", out, files[k]);
            int r = exa_cli_copy_file(src, dst);
            if (r < 0) return exa_cli_fail("random-model: cannot copy %s to %s", src, dst);
            copied += r > 0;
        }
        if (!copied) return exa_cli_fail("random-model: no tokenizer files in %s", tokdir);
    }
    fprintf(stderr, "wrote %s (%s, %s, %d layers)\n", out, s->name, dts, L);
    return 0;
}
