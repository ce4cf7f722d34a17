/* fuzz_safetensors.c — the safetensors header parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    exa_st_tensor *t = NULL;
    int n = 0;
    char err[256];
    if (exa_st_parse(data, size, "fuzz.safetensors", &t, &n, err, sizeof err) == EXA_OK) {
        /* every accepted tensor must lie inside the buffer */
        for (int i = 0; i < n; i++) {
            const uint8_t *p = t[i].t.data;
            if (p < data || p + t[i].t.nbytes > data + size) abort();
        }
        exa_st_tensors_free(t, n);
    }
    return 0;
}
