/* fuzz_config.c — the config.json parser on arbitrary bytes; accepted configs must be sane. */
#include <stdint.h>
#include <stdlib.h>

#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    exa_hparams hp;
    char err[256];
    if (exa_config_parse((const char *)data, size, "config.json", &hp, err, sizeof err) == EXA_OK) {
        if (hp.n_layer < 1 || hp.n_layer > EXA_MAX_LAYERS || hp.n_head < 1 || hp.n_head_kv < 1 || hp.n_head % hp.n_head_kv ||
            hp.head_dim < 2 || hp.head_dim % 2 || hp.n_vocab < 1 || hp.n_embd < 1 || hp.n_ff < 1 || !(hp.norm_eps > 0))
            abort();
        float inv[4096];
        if (hp.head_dim <= 8192) exa_rope_inv_freq(&hp, inv);
    }
    return 0;
}
