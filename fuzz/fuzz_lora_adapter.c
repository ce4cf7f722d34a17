/* fuzz_lora_adapter.c — the PEFT adapter reader behind `--lora` (src/model/lora_apply.c) on
 * arbitrary bytes: input = adapter_config.json text, a NUL byte, then adapter_model.safetensors.
 * Both are written to a temporary folder, opened, and merged into an 8×8 q_proj matrix. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/lora_apply.h"

static int write_file(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(d, 1, n, f);
    return fclose(f) || w != n ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *z = memchr(data, 0, size);
    if (!z) return 0;
    char dir[] = "/tmp/exa_fuzz_lora_XXXXXX", p1[64], p2[64];
    if (!mkdtemp(dir)) return 0;
    snprintf(p1, sizeof p1, "%s/adapter_config.json", dir);
    snprintf(p2, sizeof p2, "%s/adapter_model.safetensors", dir);
    if (!write_file(p1, data, (size_t)(z - data)) && !write_file(p2, z + 1, size - (size_t)(z - data) - 1)) {
        exa_lora *a;
        char err[512];
        if (exa_lora_open(dir, &a, err, sizeof err) == EXA_OK) {
            float w[64] = {0};
            void *out = NULL;
            if (exa_lora_merge_tensor(a, "model.layers.0.self_attn.q_proj.weight", EXA_DTYPE_F32, w, 8, 8, &out, err, sizeof err) == EXA_OK && out)
                for (int i = 0; i < 64; i++) w[i] += ((float *)out)[i];
            free(out);
            (void)exa_lora_check_all_used(a, err, sizeof err);
            exa_lora_close(a);
        }
    }
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    return 0;
}
