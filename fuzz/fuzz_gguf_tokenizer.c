/* fuzz_gguf_tokenizer.c — libFuzzer target for the tokenizer and chat template read from a GGUF's
 * own metadata (src/tokenizer/tokenizer_gguf.c, the GGUF branch of src/chat/template.c): the
 * input is parsed as a GGUF; when it holds tokenizer metadata, the tokenizer is built from it and
 * a mixed Korean/English/special-token text is encoded and decoded again; when it holds
 * tokenizer.chat_template, the template is identified (forced, so it is also rendered). Seeds:
 * fuzz/corpus/gguf_tokenizer/ (written by `test_gguf_tokenizer corpus DIR`). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/gguf.h"
#include "tokenizer/tokenizer_internal.h"

static const char k_text[] = "hello world  hello[|endofturn|] 안녕하세요 12345 x² ½\t\tend\n[PAD]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    exa_gguf *g = NULL;
    char err[256];
    if (exa_gguf_parse(data, size, "fuzz.gguf", &g, err, sizeof err) != EXA_OK) return 0;
    exa_tokenizer *t = NULL;
    if (exa_tokenizer_gguf_present(g) && exa_tokenizer_from_gguf(g, EXA_PRETOK_AUTO, &t, err, sizeof err) == EXA_OK) {
        int32_t *ids = NULL;
        size_t n = 0;
        for (int special = 0; special < 2; special++) {
            if (exa_tokenizer_encode_alloc(t, k_text, sizeof k_text - 1, special, &ids, &n) == EXA_OK) {
                char *s = NULL;
                size_t len = 0;
                if (exa_tokenizer_decode_alloc(t, ids, n, special, &s, &len) == EXA_OK) free(s);
                free(ids);
            }
        }
        for (int32_t i = 0; i < exa_tokenizer_n_vocab(t); i++) {
            const char *x = exa_tokenizer_token_text(t, i);
            if (x) (void)exa_tokenizer_token_id(t, x);
        }
        exa_tokenizer_free(t);
    }
    exa_gguf_close(g);
    /* the chat template path reads the file by name: an in-memory file */
    int fd = memfd_create("fuzz.gguf", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        exa_chat_template *ct = NULL;
        if (exa_chat_template_load(path, EXA_CHAT_EXAONE4, &ct, err, sizeof err) == EXA_OK) {
            char *out = NULL;
            size_t len = 0;
            exa_chat_render_opts o = exa_chat_render_default_opts();
            if (exa_chat_render_json(ct, "[{\"role\":\"user\",\"content\":\"hi\"}]", NULL, &o, &out, &len, err, sizeof err) == EXA_OK) free(out);
            exa_chat_template_free(ct);
        }
    }
    close(fd);
    return 0;
}
