/* test_train_config.c — the config.json the trainer writes for a model must equal the real
 * EXAONE-4.0-1.2B config.json key for key (parse the published file, write it back, compare as
 * JSON); plus the "train" object parser's defaults and rejections. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/model.h"
#include "train/train_model.h"
#include "train/trainer.h"

/* The trainer's config reader and the inference engine's (src/model/config.c) must agree on
 * every architecture field, including the layer-type / RoPE rules, and on what is an error. */
static int cross_check(void) {
    static const char *const base = "\"model_type\":\"exaone4\",\"hidden_size\":64,\"num_hidden_layers\":8,"
                                    "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":16,"
                                    "\"intermediate_size\":96,\"vocab_size\":300,\"max_position_embeddings\":512";
    static const char *const variants[] = {
        "", ",\"sliding_window\":null", ",\"sliding_window\":64", ",\"sliding_window\":64,\"sliding_window_pattern\":2",
        ",\"sliding_window\":64,\"sliding_window_pattern\":\"LLG\"", ",\"sliding_window\":64,\"sliding_window_pattern\":null",
        ",\"sliding_window\":null,\"sliding_window_pattern\":4",
        ",\"sliding_window\":8,\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\",\"full_attention\",\"sliding_attention\",\"sliding_attention\",\"full_attention\",\"full_attention\"]",
        ",\"sliding_window\":null,\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\"]",
        ",\"sliding_window\":16,\"layer_types\":[\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\",\"full_attention\"]",
        ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":16.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192},\"rope_theta\":1000000.0",
        ",\"tie_word_embeddings\":true,\"rms_norm_eps\":1e-6",
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char js[2048], err[256];
        snprintf(js, sizeof js, "{%s%s}", base, variants[i]);
        exa_hparams hp;
        exa_tm_config tc;
        int e1 = exa_config_parse(js, strlen(js), "engine", &hp, err, sizeof err) != EXA_OK;
        int e2 = exa_tm_config_parse(js, "trainer", &tc, err, sizeof err) != EXA_OK;
        int bad = e1 != e2;
        if (!e1 && !e2) {
            bad |= hp.sliding_window != tc.sliding_window || hp.tied != tc.tie || hp.n_layer != tc.n_layer ||
                   hp.head_dim != tc.head_dim || hp.rope_theta != tc.rope_theta || hp.norm_eps != tc.eps ||
                   (hp.rope_factor > 1.0f) != (tc.rope_llama3 && tc.rope_factor > 1.0f);
            for (int l = 0; l < tc.n_layer; l++)
                bad |= hp.layer_sliding[l] != tc.sliding[l] || hp.layer_rope[l] != exa_tm_layer_rope(&tc, l);
        }
        if (!e2) { /* what the trainer writes into checkpoints must mean the same to the engine */
            char *w = exa_tm_config_to_json(&tc, "float32");
            exa_hparams h2;
            if (!w || exa_config_parse(w, strlen(w), "written", &h2, err, sizeof err) != EXA_OK) bad = 1;
            else
                for (int l = 0; l < tc.n_layer; l++)
                    bad |= h2.layer_sliding[l] != tc.sliding[l] || h2.layer_rope[l] != exa_tm_layer_rope(&tc, l) ||
                           h2.sliding_window != tc.sliding_window || h2.tied != tc.tie;
            free(w);
        }
        if (bad) { printf("FAIL engine and trainer disagree on config variant %zu: %s\n", i, variants[i]); fails++; }
    }
    printf("config cross-check with the engine: %zu variants, %d disagreements\n", sizeof variants / sizeof variants[0], fails);
    return fails;
}

int main(void) {
    const char *shared = getenv("EXA_SHARED");
    char p[1024], err[512], *text;
    size_t n;
    int fails = 0;
    snprintf(p, sizeof p, "%s/data/exaone-tokenizer/exaone-4.0/config.json", shared ? shared : "../shared");
    if (exa_file_read(p, 1 << 20, &text, &n, err, sizeof err)) { printf("SKIP %s\n", err); return 0; }
    exa_tm_config cfg;
    if (exa_tm_config_parse(text, p, &cfg, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
    char *out = exa_tm_config_to_json(&cfg, "bfloat16");
    json_object *a = json_tokener_parse(text), *b = json_tokener_parse(out);
    json_object_object_foreach(a, k, v) {
        json_object *w;
        if (!json_object_object_get_ex(b, k, &w) || !json_object_equal(v, w)) {
            printf("FAIL key %s: published %s, written %s\n", k, json_object_to_json_string(v), w ? json_object_to_json_string(w) : "(missing)");
            fails++;
        }
    }
    if (json_object_object_length(a) != json_object_object_length(b)) { printf("FAIL key count differs\n"); fails++; }
    printf("exaone-4.0 config.json round trip: %d keys, %d differences\n", json_object_object_length(a), fails);
    json_object_put(a); json_object_put(b);
    free(out); free(text);
    exa_train_hparams hp;
    if (exa_train_hparams_parse("{\"train\":{\"batch_size\":2}}", "t", &hp, err, sizeof err) || hp.batch_size != 2 || hp.seq_len != 256) { printf("FAIL train defaults\n"); fails++; }
    if (!exa_train_hparams_parse("{\"train\":{\"batch_sise\":2}}", "t", &hp, err, sizeof err)) { printf("FAIL unknown key accepted\n"); fails++; }
    if (!exa_train_hparams_parse("{\"train\":{\"lr\":-1}}", "t", &hp, err, sizeof err)) { printf("FAIL negative lr accepted\n"); fails++; }
    if (!exa_train_hparams_parse("{}", "t", &hp, err, sizeof err)) { printf("FAIL missing train accepted\n"); fails++; }
    if (exa_tm_config_parse("{\"model_type\":\"exaone4\",\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":3,\"num_key_value_heads\":2,\"intermediate_size\":8,\"vocab_size\":10}", "t", &cfg, err, sizeof err) == EXA_OK) { printf("FAIL bad GQA accepted\n"); fails++; }
    /* schedule: warm-up then cosine to min_lr */
    exa_train_hparams_default(&hp);
    hp.lr = 1.0; hp.min_lr = 0.1; hp.warmup_steps = 10; hp.total_steps = 110;
    if (exa_train_lr(&hp, 0) != 0.1 || exa_train_lr(&hp, 9) != 1.0 || exa_train_lr(&hp, 110) != 0.1 ||
        fabs(exa_train_lr(&hp, 60) - 0.55) > 1e-12) { printf("FAIL lr schedule\n"); fails++; }
    fails += cross_check();
    return fails != 0;
}
