/* fuzz_gguf.c — libFuzzer target for the GGUF reader (src/model/gguf.c): parses the input as a
 * GGUF file; when accepted, reads every metadata value and array element, maps every tensor name
 * through the EXAONE name table, reads the hyper-parameters and touches every tensor byte, so
 * ASan sees any offset or length the parser let through. Seeds: fuzz/corpus/gguf/ (written by
 * `test_gguf fuzz/corpus/gguf`). */
#include <stdint.h>
#include <string.h>

#include "model/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    exa_gguf *g = NULL;
    char err[256];
    if (exa_gguf_parse(data, size, "fuzz.gguf", &g, err, sizeof err) != EXA_OK) return 0;
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const exa_gguf_kv *kv = &g->kv[i];
        sink += strlen(kv->key);
        if (kv->type == EXA_GGUF_STRING && kv->v.s.len) sink += (uint8_t)kv->v.s.ptr[kv->v.s.len - 1];
        if (kv->type != EXA_GGUF_ARRAY) continue;
        for (uint64_t j = 0; j < kv->arr_n; j++) {
            if (kv->arr_type == EXA_GGUF_STRING) {
                if (kv->arr_strs[j].len) sink += (uint8_t)kv->arr_strs[j].ptr[kv->arr_strs[j].len - 1];
            } else {
                double v;
                if (exa_gguf_arr_f64(kv, j, &v) == EXA_OK) sink += (uint64_t)(v == v);
            }
        }
    }
    char name[256];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const exa_gguf_tensor *t = &g->tensors[i];
        for (uint64_t b = 0; b < t->nbytes; b++) sink += t->data[b];
        if (exa_gguf_name_to_hf(EXA_ARCH_EXAONE4, t->name, name, sizeof name) == EXA_OK)
            sink += exa_gguf_name_from_hf(EXA_ARCH_EXAONE4, name, name, sizeof name) == EXA_OK;
        if (exa_gguf_name_to_hf(EXA_ARCH_EXAONE, t->name, name, sizeof name) == EXA_OK)
            sink += exa_gguf_name_from_hf(EXA_ARCH_EXAONE, name, name, sizeof name) == EXA_OK;
    }
    exa_gguf_hparams hp;
    sink += exa_gguf_read_hparams(g, &hp, err, sizeof err);
    (void)sink;
    exa_gguf_close(g);
    return 0;
}
