/* fuzz_tokenizer_files.c — the vocab.json + merges.txt + tokenizer_config.json loader on arbitrary
 * bytes. The input is split at the first two 0x01 bytes into the three files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *a = memchr(s, 1, size);
    if (!a) return 0;
    const char *b = memchr(a + 1, 1, size - (size_t)(a + 1 - s));
    size_t n1 = (size_t)(a - s), n2 = b ? (size_t)(b - a - 1) : size - n1 - 1;
    const char *cfg = b ? b + 1 : NULL;
    size_t n3 = b ? size - (size_t)(b + 1 - s) : 0;
    exa_tokenizer *t = NULL;
    char err[256];
    for (int p = 0; p < 3; p++) {
        if (exa_tokenizer_from_files(s, n1, a + 1, n2, cfg, n3, p, "fuzz", &t, err, sizeof err) == EXA_OK) {
            int32_t *ids;
            size_t n;
            if (exa_tokenizer_encode_alloc(t, "ab  c 12 \xea\xb0\x80", 13, 1, &ids, &n) == EXA_OK) free(ids);
            exa_tokenizer_free(t);
        }
    }
    return 0;
}
