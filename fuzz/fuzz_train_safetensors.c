/* fuzz_train_safetensors.c — the trainer's safetensors reader (checkpoint resume) on arbitrary
 * bytes: accepted tensors must lie inside the data section and match their shape. */
#include <stdint.h>
#include <stdlib.h>

#include "train/train_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    exa_tst_file sf = {0};
    char err[256];
    if (exa_tst_parse(&sf, data, size, "fuzz.safetensors", err, sizeof err) == EXA_OK) {
        for (int i = 0; i < sf.n; i++)
            if (sf.data_start + sf.t[i].off + sf.t[i].nbytes > size) abort();
        (void)exa_tst_meta(&sf, "step");
    }
    /* exa_tst_close also unmaps sf.f, which is empty here */
    exa_tst_close(&sf);
    return 0;
}
