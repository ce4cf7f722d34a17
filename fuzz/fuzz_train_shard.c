/* fuzz_train_shard.c — the training token-shard header/size check on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "train/train_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int tsize = 0;
    int64_t n = 0;
    char err[256];
    if (exa_shard_check(data, size, "fuzz.bin", &tsize, &n, err, sizeof err) == EXA_OK) {
        if ((tsize != 2 && tsize != 4) || n < 0 || 1024 + (size_t)n * (size_t)tsize != size) abort();
    }
    return 0;
}
