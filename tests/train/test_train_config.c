/* test_train_config.c — the config.json the trainer writes for a model must equal the real
 * EXAONE-4.0-1.2B config.json key for key (parse the published file, write it back, compare as
 * JSON); plus the "train" object parser's defaults and rejections. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "train/train_model.h"
#include "train/trainer.h"

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
    return fails != 0;
}
