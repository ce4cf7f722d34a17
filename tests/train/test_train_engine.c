/* test_train_engine.c — the training forward pass and the inference engine must agree: a random
 * tiny model (exaone4 hybrid sliding/full + tied; exaone 3.x untied) is written as a Hugging Face
 * folder the way checkpoints are, loaded with exa_model_load, and the engine's logits for every
 * position are compared with the trainer's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "train/train_io.h"
#include "train/train_model.h"

static int check(const char *cfgname) {
    char p[2048], err[512], *text;
    size_t n;
    exa_tm_config cfg;
    snprintf(p, sizeof p, "%s/%s", TEST_DIR, cfgname);
    if (exa_file_read(p, 1 << 20, &text, &n, err, sizeof err) || exa_tm_config_parse(text, p, &cfg, err, sizeof err)) {
        printf("FAIL %s\n", err);
        return 1;
    }
    free(text);
    int T = 12;
    exa_tm_model m;
    if (exa_tm_model_init(&m, &cfg, 1, T, NULL, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
    exa_tm_model_init_weights(&m, 9);
    exa_trng r;
    exa_trng_seed(&r, 4);
    for (int i = 0; i < m.n_tensors; i++)
        if (m.tensors[i].ndim == 1)
            for (size_t k = 0; k < m.tensors[i].numel; k++) m.params[m.tensors[i].offset + k] = (float)(1.0 + 0.3 * exa_trng_normal(&r));
    for (int i = 0; i < T; i++) { m.tokens[i] = (int32_t)(exa_trng_next(&r) % 64); m.targets[i] = 0; }
    exa_tm_step(&m, 0.0f);
    char dir[] = "/tmp/exa_tengine_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char *cj = exa_tm_config_to_json(&m.cfg, "float32");
    snprintf(p, sizeof p, "%s/config.json", dir);
    exa_train_write_atomic(p, cj, strlen(cj), NULL, 0);
    free(cj);
    exa_tst_entry *e = calloc((size_t)m.n_tensors, sizeof *e);
    for (int i = 0; i < m.n_tensors; i++)
        e[i] = (exa_tst_entry){m.tensors[i].name, EXA_TST_F32, m.tensors[i].ndim, {m.tensors[i].shape[0], m.tensors[i].shape[1]}, m.params + m.tensors[i].offset};
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    exa_status st = exa_tst_write(p, e, m.n_tensors, NULL, err, sizeof err);
    free(e);
    int fails = 0;
    exa_model *model = NULL;
    exa_context *ctx = NULL;
    exa_model_params mp = exa_model_default_params();
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    cp.kv_type = EXA_KV_F32; /* exact cache: compared with the trainer's f32 forward */
    if (st || exa_model_load(dir, &mp, &model, err, sizeof err) || exa_context_init(model, &cp, &ctx, err, sizeof err) ||
        exa_context_eval(ctx, 0, m.tokens, T, 1)) {
        printf("FAIL %s: %s\n", cfgname, ctx ? exa_context_errmsg(ctx) : err);
        fails = 1;
    } else {
        double worst = 0.0;
        for (int t = 0; t < T; t++) {
            const float *lg = exa_context_logits(ctx, t);
            for (int v = 0; v < cfg.vocab; v++) worst = fmax(worst, fabs(lg[v] - m.logits[(size_t)t * cfg.vocab + v]));
        }
        printf("%s: engine vs trainer logits, max abs difference %.3g\n", cfgname, worst);
        fails = !(worst < 1e-4);
    }
    exa_context_free(ctx);
    exa_model_free(model);
    exa_train_rm_rf(dir);
    exa_tm_model_free(&m);
    return fails;
}

int main(void) { return check("tiny4.json") | check("tiny3.json"); }
