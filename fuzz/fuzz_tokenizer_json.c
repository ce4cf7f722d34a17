/* fuzz_tokenizer_json.c — tokenizer.json parsing (and, when it loads, encoding/decoding a fixed
 * text with the result) on arbitrary bytes: no crash, no leak, round trip on valid text holds
 * when the vocabulary covers every byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    exa_tokenizer *t = NULL;
    char err[256];
    if (exa_tokenizer_from_json((const char *)data, size, NULL, 0, "fuzz", &t, err, sizeof err) == EXA_OK) {
        static const char text[] = "Hello  world 123 안녕\t\t[|endofturn|]<think>\xff";
        int32_t *ids;
        size_t n;
        if (exa_tokenizer_encode_alloc(t, text, sizeof text - 1, 1, &ids, &n) == EXA_OK) {
            for (size_t i = 0; i < n; i++)
                if (ids[i] < 0 || ids[i] >= exa_tokenizer_n_vocab(t)) abort();
            char *s;
            size_t l;
            if (exa_tokenizer_decode_alloc(t, ids, n, 1, &s, &l) == EXA_OK) free(s);
            free(ids);
        }
        exa_tokenizer_token_id(t, "[|endofturn|]");
        exa_tokenizer_free(t);
    }
    return 0;
}
