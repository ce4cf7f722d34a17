/* test_gguf_tokenizer.c — a lone .gguf is enough: the tokenizer and chat template rebuilt from
 * the GGUF's own metadata (tokenizer.ggml.*, tokenizer.chat_template) equal the ones the HF
 * folder gives.
 *   test_gguf_tokenizer round WORK HF_DIR...   each HF folder is exported (q8_0) to
 *       WORK/<n>/lone/model.gguf, alone in its folder, and compared with the folder: every token
 *       string and flag, bos/eos/pad, pre-tokenizer, the ids of a real Korean + English text
 *       ($EXA_SHARED/data/ko_en_news_park) plus special/added tokens, whitespace runs and
 *       non-ASCII numerals, decoding, and the rendered chat prompt; then the GGUF is exported
 *       again (GGUF -> GGUF copies the tokenizer keys) and compared once more.
 *   test_gguf_tokenizer hostile WORK           GGUFs with broken tokenizer metadata (wrong model
 *       or pre-tokenizer, duplicate tokens, merges naming unknown tokens, bad types, counts, ids)
 *       give one-line errors naming the file; a GGUF without metadata falls back to the files
 *       next to it, and without those says so.
 *   test_gguf_tokenizer corpus DIR             writes the fuzz seeds (fuzz/corpus/gguf_tokenizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"
#include "model/gguf.h"
#include "test_util.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

/* ---- round trip ------------------------------------------------------------------------- */

static char *read_text(const char *path) {
    char *d = NULL, err[256];
    size_t n;
    if (exa_file_read(path, (size_t)1 << 24, &d, &n, err, sizeof err) != EXA_OK) { CHECK(0, "%s", err); return NULL; }
    return d;
}

static const char *k_extra =
    "\n[|system|]시스템[|endofturn|]\n[|user|]안녕하세요 <think>생각</think> <tool_call>{}</tool_call>[|assistant|]"
    "<|endoftext|>[PAD][BOS][EOS][UNK] [unused7] [extra_id_3] PI:EMAIL\n"
    "a  b   c\t\td\n\n  e" "                                        40 spaces\t\t\t\t\t\t\t\t\t\t\t10 tabs\n"
    "In 2024, 12345 items cost $3.14. x² ½ ① Ⅳ ٣ ๑ ٩ ۶ 😀 def f(x):\n    return x+1\n"
    "invalid \xff\xfe bytes \xe2\x82 cut";

static void same_tokenizer(const exa_tokenizer *a, const exa_tokenizer *b, const char *text, const char *label) {
    CHECK(exa_tokenizer_n_vocab(a) == exa_tokenizer_n_vocab(b), "%s: n_vocab %d vs %d", label, exa_tokenizer_n_vocab(a),
          exa_tokenizer_n_vocab(b));
    int bad = 0, first = -1;
    for (int i = 0; i < exa_tokenizer_n_vocab(a) && i < exa_tokenizer_n_vocab(b); i++) {
        const char *x = exa_tokenizer_token_text(a, i), *y = exa_tokenizer_token_text(b, i);
        int d = (!x != !y) || (x && strcmp(x, y)) || exa_tokenizer_is_special(a, i) != exa_tokenizer_is_special(b, i) ||
                exa_tokenizer_is_added(a, i) != exa_tokenizer_is_added(b, i);
        if (d && first < 0) first = i;
        bad += d;
    }
    CHECK(bad == 0, "%s: %d tokens differ in text or flags (first id %d)", label, bad, first);
    CHECK(exa_tokenizer_bos(a) == exa_tokenizer_bos(b) && exa_tokenizer_eos(a) == exa_tokenizer_eos(b) &&
              exa_tokenizer_pad(a) == exa_tokenizer_pad(b),
          "%s: bos/eos/pad %d/%d/%d vs %d/%d/%d", label, exa_tokenizer_bos(a), exa_tokenizer_eos(a), exa_tokenizer_pad(a),
          exa_tokenizer_bos(b), exa_tokenizer_eos(b), exa_tokenizer_pad(b));
    CHECK(exa_tokenizer_pretok(a) == exa_tokenizer_pretok(b), "%s: pre-tokenizer %d vs %d", label, exa_tokenizer_pretok(a),
          exa_tokenizer_pretok(b));
    for (int special = 0; special < 2; special++) {
        int32_t *ia = NULL, *ib = NULL;
        size_t na = 0, nb = 0;
        CHECK(exa_tokenizer_encode_alloc(a, text, strlen(text), special, &ia, &na) == EXA_OK &&
                  exa_tokenizer_encode_alloc(b, text, strlen(text), special, &ib, &nb) == EXA_OK,
              "%s: encode", label);
        size_t k = 0;
        while (k < na && k < nb && ia[k] == ib[k]) k++;
        CHECK(na == nb && k == na && na > 1000, "%s: %zu vs %zu ids, first difference at %zu (add_special %d)", label, na, nb, k,
              special);
        if (!special && getenv("EXA_TEST_VERBOSE")) printf("%s: %zu tokens identical\n", label, na);
        for (int skip = 0; skip < 2 && na == nb; skip++) {
            char *da = NULL, *db = NULL;
            size_t la = 0, lb = 0;
            CHECK(exa_tokenizer_decode_alloc(a, ia, na, skip, &da, &la) == EXA_OK &&
                      exa_tokenizer_decode_alloc(b, ib, nb, skip, &db, &lb) == EXA_OK && la == lb && !memcmp(da, db, la),
                  "%s: decode (skip_special %d) differs", label, skip);
            free(da);
            free(db);
        }
        free(ia);
        free(ib);
    }
}

static const char *k_msgs =
    "[{\"role\":\"system\",\"content\":\"You are EXAONE model from LG AI Research, a helpful assistant.\"},"
    "{\"role\":\"user\",\"content\":\"서울의 인구는?  Answer in English.\"},"
    "{\"role\":\"assistant\",\"content\":\"About 9.4 million people live in Seoul.\"},"
    "{\"role\":\"user\",\"content\":\"고마워요! 1+1=?\"}]";

static void same_template(const char *dir, const char *gguf, const char *label) {
    char err[512];
    exa_chat_template *ta = NULL, *tb = NULL;
    CHECK(exa_chat_template_load(dir, EXA_CHAT_AUTO, &ta, err, sizeof err) == EXA_OK, "%s: folder template: %s", label, err);
    CHECK(exa_chat_template_load(gguf, EXA_CHAT_AUTO, &tb, err, sizeof err) == EXA_OK, "%s: GGUF template: %s", label, err);
    if (!ta || !tb) { exa_chat_template_free(ta); exa_chat_template_free(tb); return; }
    CHECK(exa_chat_template_kind(ta) == exa_chat_template_kind(tb), "%s: template kind %d vs %d", label, exa_chat_template_kind(ta),
          exa_chat_template_kind(tb));
    for (int think = 0; think < 2; think++) {
        exa_chat_render_opts o = exa_chat_render_default_opts();
        o.enable_thinking = think;
        char *ra = NULL, *rb = NULL;
        size_t la = 0, lb = 0;
        exa_status s1 = exa_chat_render_json(ta, k_msgs, NULL, &o, &ra, &la, err, sizeof err);
        exa_status s2 = exa_chat_render_json(tb, k_msgs, NULL, &o, &rb, &lb, err, sizeof err);
        CHECK(s1 == EXA_OK && s2 == EXA_OK && la == lb && !memcmp(ra, rb, la), "%s: rendered prompts differ (thinking %d)", label, think);
        free(ra);
        free(rb);
    }
    if (getenv("EXA_TEST_VERBOSE")) printf("%s: template %s | %s\n", label, exa_chat_template_describe(ta), exa_chat_template_describe(tb));
    exa_chat_template_free(ta);
    exa_chat_template_free(tb);
}

static int round_trip(const char *work, int argc, char **argv) {
    const char *shared = getenv("EXA_SHARED");
    char p[20000], err[1024];
    snprintf(p, sizeof p, "%s/data/ko_en_news_park/korean-english-park.dev.ko", shared ? shared : "../shared");
    char *ko = read_text(p);
    snprintf(p, sizeof p, "%s/data/ko_en_news_park/korean-english-park.dev.en", shared ? shared : "../shared");
    char *en = read_text(p);
    if (!ko || !en) { free(ko); free(en); return TEST_END(); }
    size_t n = strlen(ko) + strlen(en) + strlen(k_extra) + 1;
    char *text = malloc(n);
    snprintf(text, n, "%s%s%s", ko, en, k_extra);
    for (int a = 0; a < argc; a++) {
        const char *dir = argv[a];
        char lone[4096], gguf[4200], lone2[4200], gguf2[4300];
        snprintf(lone, sizeof lone, "%s/%d/lone", work, a);
        snprintf(gguf, sizeof gguf, "%s/model.gguf", lone);
        snprintf(lone2, sizeof lone2, "%s/%d/again", work, a);
        snprintf(gguf2, sizeof gguf2, "%s/model.gguf", lone2);
        snprintf(p, sizeof p, "mkdir -p '%s' '%s' && rm -f '%s'/* '%s'/*", lone, lone2, lone, lone2);
        if (system(p) != 0) { CHECK(0, "mkdir %s", lone); continue; }
        CHECK(exa_gguf_export(dir, gguf, EXA_QUANT_Q8_0, NULL, NULL, err, sizeof err) == EXA_OK, "%s: export: %s", dir, err);
        exa_tokenizer *hf = NULL, *gg = NULL, *gd = NULL, *g2 = NULL;
        CHECK(exa_tokenizer_load(dir, &hf, err, sizeof err) == EXA_OK, "%s: %s", dir, err);
        CHECK(exa_tokenizer_load(gguf, &gg, err, sizeof err) == EXA_OK, "%s: %s", gguf, err);
        CHECK(exa_tokenizer_load(lone, &gd, err, sizeof err) == EXA_OK, "%s (folder): %s", lone, err);
        if (hf && gg) same_tokenizer(hf, gg, text, dir);
        if (gg && gd) CHECK(exa_tokenizer_n_vocab(gg) == exa_tokenizer_n_vocab(gd), "folder holding the GGUF");
        same_template(dir, gguf, dir);
        same_template(dir, lone, dir);
        /* GGUF -> GGUF keeps the tokenizer */
        CHECK(exa_gguf_export(gguf, gguf2, EXA_QUANT_NONE, NULL, NULL, err, sizeof err) == EXA_OK, "%s: re-export: %s", gguf, err);
        CHECK(exa_tokenizer_load(gguf2, &g2, err, sizeof err) == EXA_OK, "%s: %s", gguf2, err);
        if (hf && g2) same_tokenizer(hf, g2, text, gguf2);
        same_template(dir, gguf2, gguf2);
        exa_tokenizer_free(hf);
        exa_tokenizer_free(gg);
        exa_tokenizer_free(gd);
        exa_tokenizer_free(g2);
    }
    free(text);
    free(ko);
    free(en);
    return TEST_END();
}

/* ---- hostile metadata ------------------------------------------------------------------- */

/* A small valid byte-level vocabulary: the 256 byte tokens, merges up to "hello" and "Ġworld",
 * and the EXAONE added tokens [PAD] [BOS] [|endofturn|] (CONTROL) and "  " (USER_DEFINED). */
typedef struct small_vocab {
    char bytes[256][5];
    const char *tokens[300];
    int32_t types[300];
    const char *merges[16];
    int n_tokens, n_merges;
} small_vocab;

static void small_vocab_init(small_vocab *v) {
    memset(v, 0, sizeof *v);
    for (int b = 0; b < 256; b++) {
        size_t l = exa_tok_utf8_put(exa_byte_to_unicode[b], (uint8_t *)v->bytes[b]);
        v->bytes[b][l] = 0;
    }
    static const char *const added[] = {"[PAD]", "[BOS]", "[|endofturn|]", "  "};
    static const int added_type[] = {3, 3, 3, 4};
    for (int i = 0; i < 4; i++) { v->tokens[v->n_tokens] = added[i]; v->types[v->n_tokens++] = added_type[i]; }
    for (int b = 0; b < 256; b++) { v->tokens[v->n_tokens] = v->bytes[b]; v->types[v->n_tokens++] = 1; }
    static const char *const merged[] = {"he", "ll", "hell", "hello", "\xc4\xa0w", "or", "\xc4\xa0wor", "ld", "\xc4\xa0world"};
    static const char *const merges[] = {"h e", "l l", "he ll", "hell o", "\xc4\xa0 w", "o r", "\xc4\xa0w or", "l d", "\xc4\xa0wor ld"};
    for (int i = 0; i < 9; i++) {
        v->tokens[v->n_tokens] = merged[i];
        v->types[v->n_tokens++] = 1;
        v->merges[v->n_merges++] = merges[i];
    }
}

enum { F_NO_MODEL = 1, F_NO_MERGES = 2, F_NO_TYPES = 4, F_NO_PRE = 8, F_TOKENS_I32 = 16, F_ADD_BOS = 32, F_NO_TOKENIZER = 64 };

/* writes a GGUF (metadata only) with the small vocabulary, after the edits the caller made */
static int write_vocab(const char *path, const small_vocab *v, const char *model, const char *pre, uint32_t eos, int flags,
                       int n_types, const char *chat_template) {
    exa_gguf_writer *w;
    if (exa_gguf_writer_new(EXA_GGUF_DEFAULT_ALIGNMENT, &w) != EXA_OK) return -1;
    exa_status st = exa_gguf_writer_add_str(w, EXA_GGUF_KEY_ARCH, "exaone4");
    if (!(flags & F_NO_TOKENIZER)) {
        if (!st && !(flags & F_NO_MODEL)) st = exa_gguf_writer_add_str(w, EXA_GGUF_KEY_TOK_MODEL, model);
        if (!st && !(flags & F_NO_PRE)) st = exa_gguf_writer_add_str(w, EXA_GGUF_KEY_TOK_PRE, pre);
        if (!st && (flags & F_TOKENS_I32)) st = exa_gguf_writer_add_array(w, EXA_GGUF_KEY_TOK_TOKENS, EXA_GGUF_I32, v->types, (uint64_t)v->n_tokens);
        else if (!st) st = exa_gguf_writer_add_str_array(w, EXA_GGUF_KEY_TOK_TOKENS, v->tokens, (uint64_t)v->n_tokens);
        if (!st && !(flags & F_NO_TYPES)) st = exa_gguf_writer_add_array(w, EXA_GGUF_KEY_TOK_TYPES, EXA_GGUF_I32, v->types, (uint64_t)n_types);
        if (!st && !(flags & F_NO_MERGES)) st = exa_gguf_writer_add_str_array(w, EXA_GGUF_KEY_TOK_MERGES, v->merges, (uint64_t)v->n_merges);
        if (!st) st = exa_gguf_writer_add_u32(w, EXA_GGUF_KEY_TOK_EOS, eos);
        if (!st) st = exa_gguf_writer_add_u32(w, EXA_GGUF_KEY_TOK_BOS, 1);
        if (!st && (flags & F_ADD_BOS)) st = exa_gguf_writer_add_bool(w, EXA_GGUF_KEY_TOK_ADD_BOS, 1);
    }
    if (!st && chat_template) st = exa_gguf_writer_add_str(w, EXA_GGUF_KEY_CHAT_TEMPLATE, chat_template);
    char err[256];
    if (!st) st = exa_gguf_writer_write(w, path, err, sizeof err);
    exa_gguf_writer_free(w);
    return st == EXA_OK ? 0 : -1;
}

/* load must fail with a one-line message naming the file and containing `want` */
static void expect_error(const char *path, const char *want, const char *label) {
    char err[512] = "";
    exa_tokenizer *t = (exa_tokenizer *)&err; /* must be reset to NULL */
    exa_status st = exa_tokenizer_load(path, &t, err, sizeof err);
    CHECK(st != EXA_OK && t == NULL, "%s: accepted", label);
    CHECK(strstr(err, path) && strstr(err, want) && !strchr(err, '\n'), "%s: error '%s' (wanted '%s' and the path)", label, err, want);
    if (st == EXA_OK) exa_tokenizer_free(t);
}

static int hostile(const char *work) {
    char path[4096], p2[4200], cmd[8600], err[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", work, work);
    if (system(cmd) != 0) { CHECK(0, "mkdir %s", work); return TEST_END(); }
    snprintf(path, sizeof path, "%s/t.gguf", work);
    small_vocab v;
    small_vocab_init(&v);
    const int N = v.n_tokens;
    /* the valid one works and encodes as expected */
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    exa_tokenizer *t = NULL;
    CHECK(exa_tokenizer_load(path, &t, err, sizeof err) == EXA_OK, "valid small vocabulary: %s", err);
    if (t) {
        int32_t ids[16];
        size_t n = 0;
        const char *s = "hello world  hello[|endofturn|]";
        CHECK(exa_tokenizer_encode(t, s, strlen(s), 0, ids, 16, &n) == EXA_OK && n == 5, "encode: %zu ids", n);
        int32_t hello = exa_tokenizer_token_id(t, "hello"), world = exa_tokenizer_token_id(t, "\xc4\xa0world");
        CHECK(n == 5 && ids[0] == hello && ids[1] == world && ids[2] == 3 && ids[3] == hello && ids[4] == 2, "ids %d %d %d %d %d",
              ids[0], ids[1], ids[2], ids[3], ids[4]);
        CHECK(exa_tokenizer_is_special(t, 2) && !exa_tokenizer_is_special(t, 3) && exa_tokenizer_is_added(t, 3), "token types");
        CHECK(exa_tokenizer_eos(t) == 2 && exa_tokenizer_bos(t) == 1 && exa_tokenizer_pad(t) == 0, "special ids");
        CHECK(exa_tokenizer_pretok(t) == EXA_PRETOK_GPT2, "exaone4 -> GPT-2 regex");
        exa_tokenizer_free(t);
    }
    CHECK(write_vocab(path, &v, "gpt2", "exaone", 2, F_ADD_BOS, N, NULL) == 0, "write");
    CHECK(exa_tokenizer_load(path, &t, err, sizeof err) == EXA_OK, "pre exaone + add_bos: %s", err);
    if (t) {
        int32_t ids[8];
        size_t n = 0;
        CHECK(exa_tokenizer_pretok(t) == EXA_PRETOK_DIGITS_GPT2, "exaone -> digits + GPT-2");
        CHECK(exa_tokenizer_encode(t, "hello", 5, 1, ids, 8, &n) == EXA_OK && n == 2 && ids[0] == 1, "add_bos_token");
        exa_tokenizer_free(t);
    }
    /* broken metadata */
    CHECK(write_vocab(path, &v, "llama", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "tokenizer.ggml.model 'llama'", "SentencePiece model");
    CHECK(write_vocab(path, &v, "gpt2", "qwen2", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "tokenizer.ggml.pre 'qwen2'", "unknown pre-tokenizer");
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, F_NO_MERGES, N, NULL) == 0, "write");
    expect_error(path, "no tokenizer.ggml.merges", "no merges");
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, F_NO_MODEL, N, NULL) == 0, "write");
    expect_error(path, "no tokenizer.ggml.model", "tokens without a model");
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, F_TOKENS_I32, N, NULL) == 0, "write");
    expect_error(path, "not an array of strings", "tokens as integers");
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, N - 1, NULL) == 0, "write");
    expect_error(path, "token_type has", "type count");
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", (uint32_t)N, 0, N, NULL) == 0, "write");
    expect_error(path, "eos_token_id", "eos id past the vocabulary");
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 0xffffffffu, 0, N, NULL) == 0, "write");
    expect_error(path, "eos_token_id", "eos id 2^32-1");
    small_vocab b = v;
    b.types[10] = 9;
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "unknown type 9", "token type 9");
    b = v;
    b.types[10] = -1;
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "unknown type -1", "token type -1");
    b = v;
    b.types[10] = 6;
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "BYTE", "byte token");
    b = v;
    b.tokens[N - 1] = "hello";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "duplicates token", "duplicate token");
    b = v;
    b.tokens[7] = "";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "is empty", "empty token");
    b = v;
    b.merges[b.n_merges++] = "hello \xc4\xa0zzz";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "not in the vocabulary", "merge of an unknown token");
    b = v;
    b.merges[b.n_merges++] = "w o";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "result 'wo' is not in the vocabulary", "merge with an unknown result");
    b = v;
    b.merges[b.n_merges++] = "hello";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "not two tokens", "merge without a space");
    b = v;
    b.merges[b.n_merges++] = "a b c";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "not two tokens", "merge with two spaces");
    b = v;
    b.merges[b.n_merges++] = "h\n\x01 zz";
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "not in the vocabulary", "control bytes in a merge (one-line error)");
    b = v;
    for (int i = 4; i < N; i++) b.types[i] = 5;
    CHECK(write_vocab(path, &b, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
    expect_error(path, "not in the vocabulary", "byte tokens all UNUSED");
    /* an absurd array count in the file itself is refused by the GGUF reader */
    {
        CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
        char *data = NULL;
        size_t size = 0;
        CHECK(exa_file_read(path, 1 << 24, &data, &size, err, sizeof err) == EXA_OK, "read back");
        const char *key = EXA_GGUF_KEY_TOK_TOKENS;
        char *at = data ? memmem(data, size, key, strlen(key)) : NULL;
        CHECK(at != NULL, "tokens key in the file");
        if (at) {
            uint64_t huge = 0x7fffffffffffffffull;
            memcpy(at + strlen(key) + 8, &huge, 8); /* key, u32 ARRAY, u32 STRING, then the u64 count */
            FILE *f = fopen(path, "wb");
            fwrite(data, 1, size, f);
            fclose(f);
            expect_error(path, "tokenizer.ggml.tokens", "absurd token count");
        }
        free(data);
    }
    /* no tokenizer metadata: files next to the GGUF, else a clear error */
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, F_NO_TOKENIZER, N, NULL) == 0, "write");
    expect_error(path, "no tokenizer in the GGUF", "no metadata, no files");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", work);
    {
        exa_tokenizer *t2 = NULL;
        CHECK(exa_tokenizer_load(dir, &t2, err, sizeof err) != EXA_OK && strstr(err, "no tokenizer in the GGUF"), "folder: %s", err);
        exa_tokenizer_free(t2);
        /* a tokenizer.json next to it is the fallback */
        const char *shared = getenv("EXA_SHARED");
        (void)shared;
        snprintf(p2, sizeof p2, "%s/tokenizer.json", work);
        FILE *f = fopen(p2, "w");
        fputs("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]},"
              "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false}}", f);
        fclose(f);
        CHECK(exa_tokenizer_load(path, &t2, err, sizeof err) == EXA_OK && exa_tokenizer_n_vocab(t2) == 3, "fallback to tokenizer.json: %s", err);
        exa_tokenizer_free(t2);
        t2 = NULL;
        /* ... but the GGUF's own metadata wins when present */
        CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
        CHECK(exa_tokenizer_load(path, &t2, err, sizeof err) == EXA_OK && exa_tokenizer_n_vocab(t2) == N, "GGUF metadata first: %s", err);
        exa_tokenizer_free(t2);
        unlink(p2);
    }
    /* chat template: from the GGUF, refused when unknown or not a string, architecture fallback */
    {
        exa_chat_template *ct = NULL;
        CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, N, "{{ messages[0]['content'] }}") == 0, "write");
        CHECK(exa_chat_template_load(path, EXA_CHAT_AUTO, &ct, err, sizeof err) == EXA_ERR_UNSUPPORTED && strstr(err, path) &&
                  strstr(err, "tokenizer.chat_template"),
              "unknown template: %s", err);
        exa_chat_template_free(ct);
        ct = NULL;
        CHECK(exa_chat_template_load(path, EXA_CHAT_EXAONE3, &ct, err, sizeof err) == EXA_OK &&
                  exa_chat_template_kind(ct) == EXA_CHAT_EXAONE3, "forced kind: %s", err);
        exa_chat_template_free(ct);
        ct = NULL;
        CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, N, NULL) == 0, "write");
        CHECK(exa_chat_template_load(path, EXA_CHAT_AUTO, &ct, err, sizeof err) == EXA_OK && exa_chat_template_kind(ct) == EXA_CHAT_EXAONE4 &&
                  strstr(exa_chat_template_describe(ct), "general.architecture"),
              "architecture fallback: %s", err);
        exa_chat_template_free(ct);
        ct = NULL;
        exa_gguf_writer *w;
        exa_gguf_writer_new(EXA_GGUF_DEFAULT_ALIGNMENT, &w);
        exa_gguf_writer_add_str(w, EXA_GGUF_KEY_ARCH, "exaone");
        exa_gguf_writer_add_u32(w, EXA_GGUF_KEY_CHAT_TEMPLATE, 7);
        CHECK(exa_gguf_writer_write(w, path, err, sizeof err) == EXA_OK, "write");
        exa_gguf_writer_free(w);
        CHECK(exa_chat_template_load(path, EXA_CHAT_AUTO, &ct, err, sizeof err) == EXA_ERR_FORMAT && strstr(err, "not a string"),
              "template not a string: %s", err);
        exa_chat_template_free(ct);
    }
    return TEST_END();
}

/* ---- fuzz seeds ------------------------------------------------------------------------- */

static int corpus(const char *dir) {
    char path[4096];
    small_vocab v;
    small_vocab_init(&v);
    snprintf(path, sizeof path, "%s/small_exaone4.gguf", dir);
    CHECK(write_vocab(path, &v, "gpt2", "exaone4", 2, 0, v.n_tokens, "{{ bos_token }}") == 0, "%s", path);
    snprintf(path, sizeof path, "%s/small_exaone_addbos.gguf", dir);
    CHECK(write_vocab(path, &v, "gpt2", "exaone", 2, F_ADD_BOS | F_NO_TYPES, 0, NULL) == 0, "%s", path);
    return TEST_END();
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "round")) return round_trip(argv[2], argc - 3, argv + 3);
    if (argc == 3 && !strcmp(argv[1], "hostile")) return hostile(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "corpus")) return corpus(argv[2]);
    fprintf(stderr, "usage: test_gguf_tokenizer round WORK HF_DIR... | hostile WORK | corpus DIR\n");
    return 2;
}
