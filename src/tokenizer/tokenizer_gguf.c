/* tokenizer_gguf.c — the byte-level BPE tokenizer rebuilt from a GGUF's own tokenizer metadata,
 * as llama.cpp's converter writes it (REF: spec §6.3-6.4): tokenizer.ggml.model "gpt2",
 * tokenizer.ggml.pre ("exaone" = every numeric char alone, then the GPT-2 regex; "exaone4" /
 * "gpt-2" = the GPT-2 regex only), tokenizer.ggml.tokens (id order), tokenizer.ggml.token_type
 * (llama.cpp's enum: 1 NORMAL, 3 CONTROL -> special added token, 4 USER_DEFINED -> non-special
 * added token, 5 UNUSED -> the converter's "[PAD<id>]" padding past the tokenizer, left out),
 * tokenizer.ggml.merges ("a b" in rank order), the bos/eos/pad ids, add_bos/add_eos_token and
 * add_space_prefix (ByteLevel add_prefix_space; false for EXAONE).
 * The result is the same exa_tokenizer the tokenizer.json path builds (exa_tokenizer_build), so
 * encoding is identical. The metadata comes from untrusted files: counts, lengths, types, ids,
 * duplicate tokens and malformed merges are checked, errors are one line naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/gguf.h"
#include "tokenizer/tokenizer_internal.h"

#define MAX_TOKENS (1 << 24)
#define MAX_MERGES (1 << 24)
#define MAX_TOKEN_BYTES (1 << 16)

/* llama.cpp's llama_token_type */
enum { TT_UNDEFINED = 0, TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

static int str_is(exa_gguf_str s, const char *lit) { return s.len == strlen(lit) && !memcmp(s.ptr, lit, (size_t)s.len); }

/* token strings quoted in errors: at most 60 bytes, control bytes shown as '?' (one line) */
static const char *quote(exa_gguf_str s, char *buf, size_t n) {
    size_t k = 0;
    for (uint64_t i = 0; i < s.len && k + 1 < n && k < 60; i++) buf[k++] = (uint8_t)s.ptr[i] < 0x20 ? '?' : s.ptr[i];
    buf[k] = 0;
    return buf;
}

static void one_line(char *err, size_t err_size) {
    if (!err) return;
    for (size_t i = 0; i < err_size && err[i]; i++)
        if ((unsigned char)err[i] < 0x20) err[i] = '?';
}

int exa_tokenizer_gguf_present(const exa_gguf *g) {
    if (exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_TOKENS)) return 1;
    const exa_gguf_kv *m = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_MODEL);
    return m && !(m->type == EXA_GGUF_STRING && (str_is(m->v.s, "none") || str_is(m->v.s, "no_vocab")));
}

static uint64_t hash_str(const char *s, uint64_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* special token id key -> token string (NULL when the key is absent) */
static exa_status special_id(const exa_gguf *g, const char *key, const char **vocab, uint64_t n, const char **out,
                             char *err, size_t err_size) {
    *out = NULL;
    if (!exa_gguf_find_kv(g, key)) return EXA_OK;
    uint32_t id;
    if (exa_gguf_get_u32(g, key, &id) != EXA_OK)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: %s is not an unsigned 32-bit integer", g->path, key);
    if (id >= n || !vocab[id])
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: %s = %u is not a token (%llu tokens)", g->path, key, id,
                       (unsigned long long)n);
    *out = vocab[id];
    return EXA_OK;
}

exa_status exa_tokenizer_from_gguf(const exa_gguf *g, exa_pretok pretok, exa_tokenizer **out, char *err, size_t err_size) {
    *out = NULL;
    const char *what = g->path;
    char q[64];
    /* model and pre-tokenizer */
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_MODEL);
    if (!kv) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: no tokenizer.ggml.model", what);
    if (kv->type != EXA_GGUF_STRING) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.model is not a string", what);
    if (!str_is(kv->v.s, "gpt2"))
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model '%s' is not supported (EXAONE's is 'gpt2', byte-level BPE)",
                       what, quote(kv->v.s, q, sizeof q));
    int pre = 0; /* 0: from the vocabulary (no tokenizer.ggml.pre) */
    if ((kv = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_PRE))) {
        if (kv->type != EXA_GGUF_STRING) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.pre is not a string", what);
        if (str_is(kv->v.s, "exaone")) pre = EXA_PRETOK_DIGITS_GPT2;
        else if (str_is(kv->v.s, "exaone4") || str_is(kv->v.s, "gpt-2")) pre = EXA_PRETOK_GPT2;
        else if (pretok == EXA_PRETOK_AUTO)
            return exa_err(err, err_size, EXA_ERR_UNSUPPORTED,
                           "%s: tokenizer.ggml.pre '%s' is not supported (exaone, exaone4 or gpt-2)", what, quote(kv->v.s, q, sizeof q));
    }
    if (pretok != EXA_PRETOK_AUTO) pre = pretok;
    /* tokens and their types */
    const exa_gguf_kv *tk = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_TOKENS);
    if (!tk) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: no tokenizer.ggml.tokens", what);
    if (tk->type != EXA_GGUF_ARRAY || tk->arr_type != EXA_GGUF_STRING)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.tokens is not an array of strings", what);
    const uint64_t n = tk->arr_n;
    if (n == 0) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.tokens is empty", what);
    if (n > MAX_TOKENS)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu tokens (at most %d)", what, (unsigned long long)n, MAX_TOKENS);
    const exa_gguf_kv *ty = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_TYPES);
    if (ty) {
        if (ty->type != EXA_GGUF_ARRAY || ty->arr_type == EXA_GGUF_STRING || ty->arr_type == EXA_GGUF_BOOL ||
            ty->arr_type == EXA_GGUF_F32 || ty->arr_type == EXA_GGUF_F64)
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.token_type is not an array of integers", what);
        if (ty->arr_n != n)
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.token_type has %llu entries for %llu tokens", what,
                           (unsigned long long)ty->arr_n, (unsigned long long)n);
    }
    const exa_gguf_kv *mg = exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_MERGES);
    if (!mg) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: no tokenizer.ggml.merges (a gpt2 tokenizer needs them)", what);
    if (mg->type != EXA_GGUF_ARRAY || mg->arr_type != EXA_GGUF_STRING)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.merges is not an array of strings", what);
    if (mg->arr_n > MAX_MERGES)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.merges has %llu merges (at most %d)", what,
                       (unsigned long long)mg->arr_n, MAX_MERGES);

    exa_status st = EXA_OK;
    exa_tok_spec sp;
    memset(&sp, 0, sizeof sp);
    size_t tbytes = 0, mbytes = 0;
    for (uint64_t i = 0; i < n; i++) tbytes += (size_t)tk->arr_strs[i].len + 1; /* strings lie in the file: no overflow */
    for (uint64_t i = 0; i < mg->arr_n; i++) mbytes += (size_t)mg->arr_strs[i].len + 1;
    const char **vocab = exa_calloc((size_t)n, sizeof *vocab);
    exa_added_spec *added = exa_calloc((size_t)n, sizeof *added);
    char *store = exa_malloc(tbytes + 1);
    const char **ma = exa_calloc((size_t)mg->arr_n + 1, sizeof *ma), **mb = exa_calloc((size_t)mg->arr_n + 1, sizeof *mb);
    char *mstore = exa_malloc(mbytes + 1);
    size_t hcap = 16;
    while (hcap < 2 * (size_t)n) hcap <<= 1;
    int32_t *hash = exa_malloc(hcap * sizeof *hash);
    if (!vocab || !added || !store || !ma || !mb || !mstore || !hash) {
        st = exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory for %llu tokens", what, (unsigned long long)n);
        goto done;
    }
    memset(hash, 0xff, hcap * sizeof *hash);
    char *o = store;
    for (uint64_t i = 0; i < n; i++) {
        exa_gguf_str s = tk->arr_strs[i];
        int64_t t = TT_NORMAL;
        if (ty && exa_gguf_arr_i64(ty, i, &t) != EXA_OK) t = -1;
        if (t < TT_UNDEFINED || t > TT_BYTE) {
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: token %llu has unknown type %lld", what, (unsigned long long)i, (long long)t);
            goto done;
        }
        if (t == TT_UNUSED) continue; /* the converter's padding past the tokenizer's vocabulary */
        if (t == TT_BYTE) {
            st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: token %llu is a BYTE token (SentencePiece byte fallback), not byte-level BPE",
                         what, (unsigned long long)i);
            goto done;
        }
        if (s.len == 0 || s.len > MAX_TOKEN_BYTES || memchr(s.ptr, 0, (size_t)s.len)) {
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: token %llu is %s", what, (unsigned long long)i,
                         s.len == 0 ? "empty" : s.len > MAX_TOKEN_BYTES ? "too long" : "a string with a NUL byte");
            goto done;
        }
        /* duplicates: llama.cpp requires one id per string (HF vocabularies are maps) */
        size_t h = (size_t)hash_str(s.ptr, s.len) & (hcap - 1);
        for (; hash[h] >= 0; h = (h + 1) & (hcap - 1)) {
            exa_gguf_str u = tk->arr_strs[hash[h]];
            if (u.len == s.len && !memcmp(u.ptr, s.ptr, (size_t)s.len)) {
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: token %llu '%s' duplicates token %d", what, (unsigned long long)i,
                             quote(s, q, sizeof q), (int)hash[h]);
                goto done;
            }
        }
        hash[h] = (int32_t)i;
        memcpy(o, s.ptr, (size_t)s.len);
        o[s.len] = 0;
        vocab[i] = o;
        o += s.len + 1;
        if (t == TT_CONTROL || t == TT_USER_DEFINED) {
            exa_added_spec *a = &added[sp.n_added++];
            a->content = vocab[i];
            a->id = (int32_t)i;
            a->special = t == TT_CONTROL;
        }
    }
    /* merges: "a b", split at the first space after the first byte (as llama.cpp does) */
    o = mstore;
    for (uint64_t i = 0; i < mg->arr_n; i++) {
        exa_gguf_str s = mg->arr_strs[i];
        const char *spc = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
        size_t la = spc ? (size_t)(spc - s.ptr) : 0, lb = spc ? (size_t)s.len - la - 1 : 0;
        if (!spc || lb == 0 || memchr(spc + 1, ' ', lb) || memchr(s.ptr, 0, (size_t)s.len)) {
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: merge %llu '%s' is not two tokens separated by one space", what,
                         (unsigned long long)i + 1, quote(s, q, sizeof q));
            goto done;
        }
        memcpy(o, s.ptr, la); o[la] = 0; ma[i] = o; o += la + 1;
        memcpy(o, spc + 1, lb); o[lb] = 0; mb[i] = o; o += lb + 1;
    }
    sp.vocab = vocab;
    sp.n_vocab = (int)n;
    while (sp.n_vocab > 0 && !vocab[sp.n_vocab - 1]) sp.n_vocab--; /* trailing padding: not part of the tokenizer */
    if (sp.n_vocab == 0) {
        st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: tokenizer.ggml.tokens has only UNUSED tokens", what);
        goto done;
    }
    sp.merge_a = ma;
    sp.merge_b = mb;
    sp.n_merges = (int)mg->arr_n;
    sp.added = added;
    if ((st = special_id(g, EXA_GGUF_KEY_TOK_BOS, vocab, n, &sp.bos, err, err_size)) ||
        (st = special_id(g, EXA_GGUF_KEY_TOK_EOS, vocab, n, &sp.eos, err, err_size)) ||
        (st = special_id(g, EXA_GGUF_KEY_TOK_PAD, vocab, n, &sp.pad, err, err_size)))
        goto done;
    {
        const char *unk;
        if ((st = special_id(g, EXA_GGUF_KEY_TOK_UNK, vocab, n, &unk, err, err_size))) goto done;
        /* not the BPE model's unk: llama.cpp's BPE never emits it, and every byte has a token */
    }
    exa_tok_spec_default_special(&sp);
    {
        const char *keys[2] = {EXA_GGUF_KEY_TOK_ADD_BOS, EXA_GGUF_KEY_TOK_ADD_EOS};
        for (int k = 0; k < 2; k++) {
            if (!exa_gguf_find_kv(g, keys[k])) continue;
            int on;
            if (exa_gguf_get_bool(g, keys[k], &on) != EXA_OK) {
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: %s is not a bool", what, keys[k]);
                goto done;
            }
            const char *tok = k ? sp.eos : sp.bos;
            if (on && !tok) {
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: %s is true but there is no %s token", what, keys[k], k ? "eos" : "bos");
                goto done;
            }
            if (on && k) sp.post_suffix[sp.n_post_suffix++] = tok;
            else if (on) sp.post_prefix[sp.n_post_prefix++] = tok;
        }
    }
    if (!pre) { /* no tokenizer.ggml.pre: EXAONE 3.x (no <think>) isolates digits, as exa_tokenizer_load does */
        int has_think = 0, has_eot = 0;
        for (int i = 0; i < sp.n_added; i++) {
            has_think |= !strcmp(added[i].content, "<think>");
            has_eot |= !strcmp(added[i].content, "[|endofturn|]");
        }
        pre = has_eot && !has_think ? EXA_PRETOK_DIGITS_GPT2 : EXA_PRETOK_GPT2;
    }
    sp.pretok_kind = pre;
    sp.digits = pre == EXA_PRETOK_DIGITS_GPT2 ? 1 : 0;
    sp.bl_regex = 1;
    if (exa_gguf_find_kv(g, EXA_GGUF_KEY_TOK_ADD_PREFIX)) { /* ByteLevel add_prefix_space (false for EXAONE) */
        if (exa_gguf_get_bool(g, EXA_GGUF_KEY_TOK_ADD_PREFIX, &sp.bl_prefix_space) != EXA_OK) {
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: %s is not a bool", what, EXA_GGUF_KEY_TOK_ADD_PREFIX);
            goto done;
        }
        if (sp.bl_prefix_space && sp.digits) {
            st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre 'exaone' with add_space_prefix is not supported", what);
            goto done;
        }
    }
    st = exa_tokenizer_build(&sp, what, out, err, err_size);
    one_line(err, err_size);
done:
    free(vocab);
    free(added);
    free(store);
    free(ma);
    free(mb);
    free(mstore);
    free(hash);
    return st;
}
