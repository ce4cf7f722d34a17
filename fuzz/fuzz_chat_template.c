/* fuzz_chat_template.c — fuzzes chat template identification (the Jinja canonicaliser in
 * src/chat/template.c) with arbitrary template text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exaone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 20)) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    exa_chat_template *t = NULL;
    char err[512];
    exa_status st = exa_chat_template_from_text(s, "fuzz", EXA_CHAT_AUTO, &t, err, sizeof err);
    if ((st == EXA_OK) != (t != NULL)) abort();
    exa_chat_template_free(t);
    free(s);
    return 0;
}
