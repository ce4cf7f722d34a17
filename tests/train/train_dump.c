/* train_dump.c — test helper: builds the training model from a config.json, random weights and a
 * random batch (seeded), runs forward + backward and writes weights, batch and gradients as
 * safetensors for tests/train/torch_ref.py (the independent PyTorch autograd reference).
 * usage: train_dump CONFIG.json OUTDIR [B T seed threads [lora]]   (lora: rank-4 adapters on every
 * projection, base frozen; only adapter gradients are written) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "train/train_io.h"
#include "train/train_model.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: train_dump CONFIG.json OUTDIR [B T seed threads]\n"); return 2; }
    int B = argc > 3 ? atoi(argv[3]) : 2, T = argc > 4 ? atoi(argv[4]) : 12;
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
    int nth = argc > 6 ? atoi(argv[6]) : 2;
    char err[512], *text;
    size_t n;
    exa_tm_config cfg;
    if (exa_file_read(argv[1], 1 << 20, &text, &n, err, sizeof err) || exa_tm_config_parse(text, argv[1], &cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    free(text);
    exa_pool *pool = exa_pool_init(nth);
    exa_tm_model m;
    if (exa_tm_model_init(&m, &cfg, B, T, pool, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    exa_tm_model_init_weights(&m, seed);
    exa_trng r;
    exa_trng_seed(&r, seed + 100);
    int lora = argc > 7 && !strcmp(argv[7], "lora");
    if (lora) {
        exa_tm_lora_cfg lc = {4, 8.0f, EXA_LORA_ALL};
        if (exa_tm_lora_enable(&m, &lc, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        exa_tm_lora_init_weights(&m, seed + 1);
        /* B = 0 at PEFT init would leave A without gradient: randomise B for the check */
        for (int i = 0; i < m.n_ltensors; i++)
            if (strstr(m.ltensors[i].name, "lora_B"))
                for (size_t k = 0; k < m.ltensors[i].numel; k++) m.lparams[m.ltensors[i].offset + k] = (float)(0.2 * exa_trng_normal(&r));
    }
    /* perturb norm weights away from 1 so their gradients are exercised non-trivially */
    for (int i = 0; i < m.n_tensors; i++)
        if (m.tensors[i].ndim == 1)
            for (size_t k = 0; k < m.tensors[i].numel; k++) m.params[m.tensors[i].offset + k] = (float)(1.0 + 0.3 * exa_trng_normal(&r));
    /* "mask" (after the lora argument): every third target is -1 (no loss), as chat fine-tuning does */
    int mask = 0, counted = 0;
    for (int i = 7; i < argc; i++) mask |= !strcmp(argv[i], "mask");
    for (int i = 0; i < B * T; i++) {
        m.tokens[i] = (int32_t)(exa_trng_next(&r) % (uint64_t)cfg.vocab);
        m.targets[i] = (int32_t)(exa_trng_next(&r) % (uint64_t)cfg.vocab);
        if (mask && i % 3 == 1) m.targets[i] = -1;
        counted += m.targets[i] >= 0;
    }
    double loss = exa_tm_step(&m, 1.0f / (float)counted);
    int nl = lora ? m.n_ltensors : 0, ne = m.n_tensors + nl + 2;
    exa_tst_entry *e = calloc((size_t)ne, sizeof *e);
    for (int i = 0; i < m.n_tensors; i++)
        e[i] = (exa_tst_entry){m.tensors[i].name, EXA_TST_F32, m.tensors[i].ndim, {m.tensors[i].shape[0], m.tensors[i].shape[1]}, m.params + m.tensors[i].offset};
    for (int i = 0; i < nl; i++)
        e[m.n_tensors + i] = (exa_tst_entry){m.ltensors[i].name, EXA_TST_F32, 2, {m.ltensors[i].shape[0], m.ltensors[i].shape[1]}, m.lparams + m.ltensors[i].offset};
    e[ne - 2] = (exa_tst_entry){"tokens", EXA_TST_I32, 2, {B, T}, m.tokens};
    e[ne - 1] = (exa_tst_entry){"targets", EXA_TST_I32, 2, {B, T}, m.targets};
    char p[4096], ls[64];
    snprintf(ls, sizeof ls, "%.9g", loss);
    const char *meta[] = {"loss", ls, "lora_r", lora ? "4" : "0", "lora_alpha", "8", NULL};
    snprintf(p, sizeof p, "%s/weights.safetensors", argv[2]);
    if (exa_tst_write(p, e, ne, meta, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    exa_tst_entry *ge = lora ? e + m.n_tensors : e;
    if (lora) for (int i = 0; i < nl; i++) ge[i].data = m.lgrads + m.ltensors[i].offset;
    else for (int i = 0; i < m.n_tensors; i++) ge[i].data = m.grads + m.tensors[i].offset;
    snprintf(p, sizeof p, "%s/grads.safetensors", argv[2]);
    if (exa_tst_write(p, ge, lora ? nl : m.n_tensors, meta, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    printf("loss %.6f, %zu parameters, %d tensors\n", loss, m.n_params, m.n_tensors);
    free(e);
    exa_tm_model_free(&m);
    exa_pool_free(pool);
    return 0;
}
