/* test_train_fdcheck.c — (1) finite-difference check of the analytic gradient at random
 * coordinates of every parameter tensor (tiny exaone4 and exaone 3.x models); (2) overfitting one
 * batch through the full trainer (shard loader, AdamW, schedule, checkpoint) must drive the loss
 * down. usage: train_fdcheck_test [fd|overfit] (both when no argument). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "train/train_io.h"
#include "train/train_model.h"
#include "train/trainer.h"

#ifndef TEST_DIR
#define TEST_DIR "."
#endif

static int load_cfg(const char *name, exa_tm_config *cfg) {
    char p[1024], err[512], *text;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", TEST_DIR, name);
    if (exa_file_read(p, 1 << 20, &text, &n, err, sizeof err) || exa_tm_config_parse(text, p, cfg, err, sizeof err)) {
        printf("FAIL %s\n", err);
        return -1;
    }
    free(text);
    return 0;
}

static int fdcheck(const char *cfgname) {
    exa_tm_config cfg;
    if (load_cfg(cfgname, &cfg)) return 1;
    int B = 2, T = 10, fails = 0, checked = 0;
    char err[512];
    exa_pool *pool = exa_pool_init(2);
    exa_tm_model m;
    if (exa_tm_model_init(&m, &cfg, B, T, pool, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
    exa_tm_model_init_weights(&m, 3);
    exa_trng r;
    exa_trng_seed(&r, 11);
    for (int i = 0; i < B * T; i++) {
        m.tokens[i] = (int32_t)(exa_trng_next(&r) % (uint64_t)cfg.vocab);
        m.targets[i] = (int32_t)(exa_trng_next(&r) % (uint64_t)cfg.vocab);
    }
    memset(m.grads, 0, m.n_params * sizeof(float));
    exa_tm_step(&m, 1.0f / (float)(B * T));
    float *g = malloc(m.n_params * sizeof(float));
    memcpy(g, m.grads, m.n_params * sizeof(float));
    const float eps = 1e-2f;
    for (int t = 0; t < m.n_tensors; t++) {
        const exa_tm_tensor *tt = &m.tensors[t];
        for (int k = 0; k < 3; k++) {
            size_t i = tt->offset + (size_t)(exa_trng_next(&r) % tt->numel);
            float keep = m.params[i];
            m.params[i] = keep + eps;
            double lp = exa_tm_step(&m, 0.0f);
            m.params[i] = keep - eps;
            double lm = exa_tm_step(&m, 0.0f);
            m.params[i] = keep;
            double fd = (lp - lm) / (2.0 * eps), an = g[i];
            checked++;
            if (fabs(fd - an) > 2e-4 + 2e-2 * fabs(an)) {
                printf("FAIL %s %s[%zu]: finite difference %.6g vs analytic %.6g\n", cfgname, tt->name, i - tt->offset, fd, an);
                fails++;
            }
        }
    }
    printf("%s: %d coordinates over %d tensors checked, %d failures\n", cfgname, checked, m.n_tensors, fails);
    free(g);
    exa_tm_model_free(&m);
    exa_pool_free(pool);
    return fails != 0;
}

static int cb(const exa_train_progress *p, void *user) {
    double *l = user;
    if (p->step == 1) l[0] = p->loss;
    l[1] = p->loss;
    return 1;
}

static int overfit(void) {
    char dir[] = "/tmp/exa_overfit_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char shard[1200], cfgp[1200], out[1200];
    snprintf(shard, sizeof shard, "%s/one_train_000.bin", dir);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    int ntok = 2 * 12 + 1;
    int32_t hdr[256] = {EXA_SHARD_MAGIC_U32, 7, ntok};
    uint32_t toks[25];
    for (int i = 0; i < ntok; i++) toks[i] = (uint32_t)((i * 37 + 11) % 64);
    FILE *f = fopen(shard, "wb");
    fwrite(hdr, 4, 256, f);
    fwrite(toks, 4, (size_t)ntok, f);
    fclose(f);
    const char *cfg =
        "{\"model_type\":\"exaone4\",\"vocab_size\":64,\"hidden_size\":32,\"num_hidden_layers\":2,"
        "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":8,\"intermediate_size\":48,"
        "\"max_position_embeddings\":64,\"tie_word_embeddings\":true,\"sliding_window\":4,"
        "\"layer_types\":[\"sliding_attention\",\"full_attention\"],"
        "\"train\":{\"batch_size\":2,\"seq_len\":12,\"lr\":0.01,\"min_lr\":0.001,\"warmup_steps\":5,"
        "\"total_steps\":80,\"weight_decay\":0.0,\"eval_interval\":0,\"checkpoint_interval\":0,\"seed\":1}}";
    f = fopen(cfgp, "w");
    fputs(cfg, f);
    fclose(f);
    double l[2] = {0, 0};
    exa_train_opts o = {.config_path = cfgp, .data = shard, .out_dir = out, .threads = 2, .cb = cb, .user = l};
    char err[512];
    exa_status st = exa_train_run(&o, err, sizeof err);
    char latest[1300];
    snprintf(latest, sizeof latest, "%s/latest", out);
    int have_ckpt = exa_file_exists(latest);
    exa_train_rm_rf(dir);
    if (st) { printf("FAIL train: %s\n", err); return 1; }
    printf("overfit: loss %.4f -> %.4f after 80 steps, final checkpoint %s\n", l[0], l[1], have_ckpt ? "written" : "MISSING");
    return !(l[1] < 0.2 && l[0] > 3.5 && have_ckpt);
}

int main(int argc, char **argv) {
    int rc = 0;
    if (argc < 2 || !strcmp(argv[1], "fd")) rc |= fdcheck("tiny4.json") | fdcheck("tiny3.json");
    if (argc < 2 || !strcmp(argv[1], "overfit")) rc |= overfit();
    return rc;
}
