/* fuzz_gguf_model.c — libFuzzer target for GGUF *model* loading (src/model/loader.c on top of the
 * GGUF reader that fuzz_gguf covers): the input is written to an in-memory file and loaded with
 * exa_model_load (hparams from metadata, name table, dtype/shape checks, rope_freqs, sliding
 * pattern); when it loads, a context is created and two tokens are run through the forward pass,
 * so ASan sees any tensor the loader accepted with the wrong size. Seeds: fuzz/corpus/gguf_model/
 * (1-layer tiny models written by `exaone quantize`). */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exaone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz.gguf", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64], err[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    exa_model *m = NULL;
    if (exa_model_load(path, NULL, &m, err, sizeof err) == EXA_OK) {
        exa_context_params cp = exa_context_default_params();
        cp.n_ctx = 8;
        cp.n_batch = 4;
        cp.n_threads = 1;
        exa_context *c = NULL;
        if (exa_context_init(m, &cp, &c, err, sizeof err) == EXA_OK) {
            int32_t toks[2] = {0, 1};
            exa_model_info info;
            exa_model_get_info(m, &info);
            if (info.n_vocab < 2) toks[1] = 0;
            exa_context_eval(c, 0, toks, 2, 1);
            exa_context_free(c);
        }
        exa_model_free(m);
    }
    close(fd);
    return 0;
}
