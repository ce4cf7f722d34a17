/* fuzz_train_config.c — the training config.json reader (model keys + "train" object) on
 * arbitrary bytes, and the config writer on whatever was accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_model.h"
#include "train/trainer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    exa_tm_config cfg;
    exa_train_hparams hp;
    char err[256];
    if (exa_tm_config_parse(s, "fuzz.json", &cfg, err, sizeof err) == EXA_OK) {
        char *out = exa_tm_config_to_json(&cfg, "float32");
        exa_tm_config back;
        if (!out || exa_tm_config_parse(out, "roundtrip.json", &back, err, sizeof err) != EXA_OK ||
            back.dim != cfg.dim || back.n_layer != cfg.n_layer || back.vocab != cfg.vocab)
            abort();
        free(out);
    }
    (void)exa_train_hparams_parse(s, "fuzz.json", &hp, err, sizeof err);
    free(s);
    return 0;
}
