/* test_tokenizer_golden.c — every case of shared/data/exaone-tokenizer/golden-token-ids.json
 * (produced with Hugging Face `tokenizers`) for EXAONE 3.5 and 4.0, each through both loaders
 * (reconstructed tokenizer.json, and vocab.json + merges.txt + tokenizer_config.json); token
 * strings; decode with/without special tokens; decode(encode(x)) == x; accessors. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exaone.h"
#include "test_util.h"

static char shared[2048];

static exa_tokenizer *load(const char *rel, exa_pretok p) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/exaone-tokenizer/%s", shared, rel);
    exa_tokenizer *t = NULL;
    exa_status st = exa_tokenizer_load_ex(path, p, &t, err, sizeof err);
    CHECK(st == EXA_OK, "load %s: %s", rel, err);
    return t;
}

static int check_ids(exa_tokenizer *t, const char *name, const char *which, const char *text, json_object *ids,
                     json_object *toks) {
    int32_t *got;
    size_t n;
    if (exa_tokenizer_encode_alloc(t, text, strlen(text), 1, &got, &n) != EXA_OK) { CHECK(0, "%s: encode failed", name); return 0; }
    size_t want = json_object_array_length(ids);
    int ok = n == want;
    for (size_t i = 0; ok && i < n; i++) ok = got[i] == json_object_get_int(json_object_array_get_idx(ids, i));
    CHECK(ok, "%s (%s): ids differ (got %zu ids, want %zu)", name, which, n, want);
    if (!ok) {
        for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, "%d ", got[i]);
        fprintf(stderr, "\n");
    }
    if (toks) {
        int tok_ok = 1;
        for (size_t i = 0; ok && i < n; i++) {
            const char *s = exa_tokenizer_token_text(t, got[i]);
            tok_ok &= s && !strcmp(s, json_object_get_string(json_object_array_get_idx(toks, i)));
        }
        CHECK(tok_ok, "%s (%s): token strings differ", name, which);
    }
    char *back;
    size_t bl;
    CHECK(exa_tokenizer_decode_alloc(t, got, n, 0, &back, &bl) == EXA_OK && bl == strlen(text) && !strcmp(back, text),
          "%s (%s): decode(encode(x)) != x", name, which);
    free(back);
    free(got);
    return ok;
}

int main(void) {
    const char *e = getenv("EXA_SHARED");
    snprintf(shared, sizeof shared, "%s/data", e ? e : "../shared");
    char gpath[4096];
    snprintf(gpath, sizeof gpath, "%s/exaone-tokenizer/golden-token-ids.json", shared);
    json_object *root = json_object_from_file(gpath);
    if (!root) { fprintf(stderr, "cannot read %s\n", gpath); return 1; }
    exa_tokenizer *t40j = load("exaone-4.0/reconstructed/tokenizer.json", EXA_PRETOK_AUTO);
    exa_tokenizer *t40f = load("exaone-4.0", EXA_PRETOK_AUTO);
    exa_tokenizer *t35j = load("exaone-3.5/reconstructed/tokenizer.json", EXA_PRETOK_AUTO);
    exa_tokenizer *t35f = load("exaone-3.5", EXA_PRETOK_AUTO);
    if (!t40j || !t40f || !t35j || !t35f) return TEST_END();
    CHECK(exa_tokenizer_pretok(t40f) == EXA_PRETOK_GPT2, "4.0 folder: GPT-2 pre-tokenizer chosen");
    CHECK(exa_tokenizer_pretok(t35f) == EXA_PRETOK_DIGITS_GPT2, "3.5 folder: Digits pre-tokenizer chosen");
    CHECK(exa_tokenizer_pretok(t35j) == EXA_PRETOK_DIGITS_GPT2, "3.5 json: Digits pre-tokenizer read");
    exa_tokenizer *all40[2] = {t40j, t40f}, *all35[2] = {t35j, t35f};
    const char *names[2] = {"tokenizer.json", "vocab+merges"};
    json_object *cases = json_object_object_get(root, "cases");
    int n_cases = 0;
    json_object_object_foreach(cases, name, c) {
        json_object *text = json_object_object_get(c, "text");
        const char *tx = text ? json_object_get_string(text) : "";
        json_object *v;
        if (json_object_object_get_ex(c, "ids_40", &v))
            for (int k = 0; k < 2; k++) check_ids(all40[k], name, names[k], tx, v, json_object_object_get(c, "tokens_40"));
        if (json_object_object_get_ex(c, "ids_35", &v))
            for (int k = 0; k < 2; k++) check_ids(all35[k], name, names[k], tx, v, NULL);
        if (json_object_object_get_ex(c, "ids", &v)) {
            json_object *w = json_object_object_get(c, "tokenizer");
            const char *which = w ? json_object_get_string(w) : "both";
            json_object *toks = json_object_object_get(c, "tokens");
            if (strcmp(which, "3.5"))
                for (int k = 0; k < 2; k++) check_ids(all40[k], name, names[k], tx, v, toks);
            if (strcmp(which, "4.0"))
                for (int k = 0; k < 2; k++) check_ids(all35[k], name, names[k], tx, v, toks);
        }
        n_cases++;
    }
    CHECK(n_cases >= 25, "golden cases read: %d", n_cases);
    /* decode with and without special tokens (HF decode(ids, skip_special_tokens)) */
    json_object *dc = json_object_object_get(cases, "decode_40_user_gen");
    json_object *src = json_object_object_get(cases, "chat_40_user_gen");
    if (dc && src) {
        json_object *ids = json_object_object_get(src, "ids");
        size_t n = json_object_array_length(ids);
        int32_t *v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++) v[i] = json_object_get_int(json_object_array_get_idx(ids, i));
        for (int k = 0; k < 2; k++) {
            char *s;
            size_t l;
            exa_tokenizer_decode_alloc(all40[k], v, n, 0, &s, &l);
            CHECK(!strcmp(s, json_object_get_string(json_object_object_get(dc, "keep_special"))), "decode keep_special");
            free(s);
            exa_tokenizer_decode_alloc(all40[k], v, n, 1, &s, &l);
            CHECK(!strcmp(s, json_object_get_string(json_object_object_get(dc, "skip_special"))), "decode skip_special: '%s'", s);
            free(s);
        }
        free(v);
    }
    /* accessors (spec §7.2) */
    for (int k = 0; k < 2; k++) {
        exa_tokenizer *t = all40[k];
        CHECK(exa_tokenizer_n_vocab(t) == 102400, "n_vocab 4.0 = %d", exa_tokenizer_n_vocab(t));
        CHECK(exa_tokenizer_token_id(t, "[|endofturn|]") == 361, "endofturn id");
        CHECK(exa_tokenizer_eos(t) == 361, "eos = %d", exa_tokenizer_eos(t));
        CHECK(exa_tokenizer_bos(t) == 1, "bos = %d", exa_tokenizer_bos(t));
        CHECK(exa_tokenizer_token_id(t, "<think>") == 356 && !exa_tokenizer_is_special(t, 356) && exa_tokenizer_is_added(t, 356), "<think> non-special added");
        CHECK(exa_tokenizer_is_special(t, 359) && exa_tokenizer_token_id(t, "[|assistant|]") == 359, "[|assistant|] special 359");
        CHECK(exa_tokenizer_token_id(t, "Ġworld") == 2711, "Ġworld = 2711");
        CHECK(!strcmp(exa_tokenizer_token_text(t, 582), "Ġ"), "token text 582");
        size_t bl;
        const char *b = exa_tokenizer_token_bytes(t, 582, &bl);
        CHECK(b && bl == 1 && b[0] == ' ', "token bytes 582");
        CHECK(exa_tokenizer_token_text(t, 102400) == NULL && exa_tokenizer_token_text(t, -1) == NULL, "out-of-range ids");
        int32_t buf[2];
        size_t n;
        CHECK(exa_tokenizer_encode(t, "Hello world, hi", 15, 0, buf, 2, &n) == EXA_ERR_FULL && n == 4 && buf[0] == 33381,
              "encode into a short buffer reports the full count");
    }
    CHECK(exa_tokenizer_token_id(t35j, "[|assistant|]") == -1 && exa_tokenizer_token_id(t35j, "[extra_id_198]") == 360,
          "3.5 ids 351-360 are extra_id tokens");
    exa_tokenizer_free(t40j); exa_tokenizer_free(t40f); exa_tokenizer_free(t35j); exa_tokenizer_free(t35f);
    json_object_put(root);
    return TEST_END();
}
