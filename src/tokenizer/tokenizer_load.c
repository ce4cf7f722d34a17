/* tokenizer_load.c — reads a Hugging Face tokenizer into an exa_tok_spec and builds it:
 * tokenizer.json (BPE model, added tokens, ByteLevel/Digits pre-tokenizers, TemplateProcessing),
 * or vocab.json + merges.txt + tokenizer_config.json (added_tokens_decoder with flags) with the
 * pre-tokenizer chosen from the vocabulary (EXAONE 3.x vs 4.0, REF: spec §7.2-7.3). Anything the
 * encoder cannot reproduce exactly is refused with EXA_ERR_UNSUPPORTED rather than approximated. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/common.h"
#include "model/gguf.h"
#include "tokenizer/tokenizer_internal.h"

#define MAX_JSON ((size_t)512 << 20)

static json_object *parse_json(const char *s, size_t n, const char *what, char *err, size_t err_size) {
    if (n > (size_t)INT32_MAX) { exa_err(err, err_size, EXA_ERR_FORMAT, "%s: too large", what); return NULL; }
    json_tokener *tk = json_tokener_new_ex(64);
    if (!tk) { exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", what); return NULL; }
    json_object *o = json_tokener_parse_ex(tk, s, (int)n);
    enum json_tokener_error e = json_tokener_get_error(tk);
    if (!o || e != json_tokener_success) {
        exa_err(err, err_size, EXA_ERR_FORMAT, "%s: invalid JSON (%s at byte %zu)", what,
                e == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(e),
                (size_t)json_tokener_get_parse_end(tk));
        if (o) json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tk);
    return o;
}

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v)) return v;
    return NULL;
}
static int get_bool(json_object *o, const char *k, int def) {
    json_object *v = get(o, k);
    if (!v || json_object_is_type(v, json_type_null)) return def;
    return json_object_get_boolean(v) ? 1 : 0;
}
static const char *get_str(json_object *o, const char *k) {
    json_object *v = get(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
static const char *type_of(json_object *o) { return get_str(o, "type"); }

/* a token in tokenizer_config.json: "str" or {"content": "str", ...} */
static const char *config_token(json_object *cfg, const char *k) {
    json_object *v = get(cfg, k);
    if (!v) return NULL;
    if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
    return get_str(v, "content");
}

typedef struct spec_buf {
    exa_tok_spec sp;
    const char **vocab;
    const char **ma, **mb;
    char *merge_store;         /* split merge strings */
    exa_added_spec *added;
} spec_buf;

static void spec_buf_free(spec_buf *b) {
    free(b->vocab); free(b->ma); free(b->mb); free(b->merge_store); free(b->added);
}

/* vocab object {"tok": id} -> id-indexed array */
static exa_status read_vocab(json_object *v, spec_buf *b, const char *what, char *err, size_t err_size) {
    if (!v || !json_object_is_type(v, json_type_object))
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: the vocabulary is not a JSON object", what);
    int maxid = -1;
    json_object_object_foreach(v, key, val) {
        (void)key;
        if (!json_object_is_type(val, json_type_int))
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: vocabulary id of '%.80s' is not an integer", what, key);
        int64_t id = json_object_get_int64(val);
        if (id < 0 || id >= (1 << 26))
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: vocabulary id %lld out of range", what, (long long)id);
        if (id > maxid) maxid = (int)id;
    }
    if (maxid < 0) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: empty vocabulary", what);
    if ((size_t)maxid > 2 * (size_t)json_object_object_length(v) + 65536)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: vocabulary ids go up to %d for %d tokens", what, maxid,
                       json_object_object_length(v));
    b->vocab = calloc((size_t)maxid + 1, sizeof *b->vocab);
    if (!b->vocab) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", what);
    json_object_object_foreach(v, key2, val2) {
        int id = (int)json_object_get_int64(val2);
        if (b->vocab[id])
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: vocabulary id %d is used twice ('%.80s', '%.80s')", what,
                           id, b->vocab[id], key2);
        b->vocab[id] = key2;
    }
    b->sp.vocab = b->vocab;
    b->sp.n_vocab = maxid + 1;
    return EXA_OK;
}

static exa_status merges_alloc(spec_buf *b, size_t n, size_t bytes, const char *what, char *err, size_t err_size) {
    b->ma = malloc((n + 1) * sizeof *b->ma);
    b->mb = malloc((n + 1) * sizeof *b->mb);
    b->merge_store = malloc(bytes + n * 2 + 1);
    if (!b->ma || !b->mb || !b->merge_store) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", what);
    b->sp.merge_a = b->ma;
    b->sp.merge_b = b->mb;
    return EXA_OK;
}

static exa_status read_merges_json(json_object *m, spec_buf *b, const char *what, char *err, size_t err_size) {
    if (!m || json_object_is_type(m, json_type_null)) return EXA_OK;
    if (!json_object_is_type(m, json_type_array))
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: model.merges is not an array", what);
    size_t n = json_object_array_length(m), bytes = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(m, i);
        if (json_object_is_type(e, json_type_string)) bytes += (size_t)json_object_get_string_len(e);
        else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2) {
            for (int k = 0; k < 2; k++) {
                json_object *x = json_object_array_get_idx(e, (size_t)k);
                if (!json_object_is_type(x, json_type_string))
                    return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: merge %zu is not a pair of strings", what, i + 1);
                bytes += (size_t)json_object_get_string_len(x);
            }
        } else return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: merge %zu is neither \"a b\" nor [a, b]", what, i + 1);
    }
    exa_status st = merges_alloc(b, n, bytes, what, err, err_size);
    if (st) return st;
    char *o = b->merge_store;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(m, i);
        const char *a, *c;
        size_t la, lc;
        if (json_object_is_type(e, json_type_string)) {
            const char *s = json_object_get_string(e);
            size_t l = (size_t)json_object_get_string_len(e);
            const char *sp = memchr(s, ' ', l);
            if (!sp || memchr(sp + 1, ' ', l - (size_t)(sp + 1 - s)))
                return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: merge %zu '%.80s' is not two tokens separated by one space", what, i + 1, s);
            a = s; la = (size_t)(sp - s); c = sp + 1; lc = l - la - 1;
        } else {
            json_object *x = json_object_array_get_idx(e, 0), *y = json_object_array_get_idx(e, 1);
            a = json_object_get_string(x); la = (size_t)json_object_get_string_len(x);
            c = json_object_get_string(y); lc = (size_t)json_object_get_string_len(y);
        }
        if (memchr(a, 0, la) || memchr(c, 0, lc))
            return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: merge %zu contains a NUL character", what, i + 1);
        memcpy(o, a, la); o[la] = 0; b->ma[i] = o; o += la + 1;
        memcpy(o, c, lc); o[lc] = 0; b->mb[i] = o; o += lc + 1;
    }
    b->sp.n_merges = (int)n;
    return EXA_OK;
}

static exa_status read_added_array(json_object *arr, spec_buf *b, const char *what, char *err, size_t err_size) {
    if (!arr || json_object_is_type(arr, json_type_null)) return EXA_OK;
    if (!json_object_is_type(arr, json_type_array))
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: added_tokens is not an array", what);
    size_t n = json_object_array_length(arr);
    b->added = calloc(n + 1, sizeof *b->added);
    if (!b->added) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        json_object *id = get(e, "id");
        const char *content = get_str(e, "content");
        if (!id || !json_object_is_type(id, json_type_int) || !content)
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: added token %zu lacks an integer id or a content string", what, i);
        int64_t v = json_object_get_int64(id);
        if (v < 0 || v >= (1 << 26)) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: added token id %lld out of range", what, (long long)v);
        exa_added_spec *a = &b->added[b->sp.n_added++];
        a->content = content;
        a->id = (int32_t)v;
        a->special = (uint8_t)get_bool(e, "special", 0);
        a->lstrip = (uint8_t)get_bool(e, "lstrip", 0);
        a->rstrip = (uint8_t)get_bool(e, "rstrip", 0);
        a->single_word = (uint8_t)get_bool(e, "single_word", 0);
        a->normalized = (uint8_t)get_bool(e, "normalized", !a->special);
    }
    b->sp.added = b->added;
    return EXA_OK;
}

static exa_status read_pretok(json_object *p, exa_tok_spec *sp, const char *what, char *err, size_t err_size) {
    int seen_bl = 0, digits = 0;
    json_object *list[2];
    int n = 0;
    const char *ty = type_of(p);
    if (!p || json_object_is_type(p, json_type_null) || !ty)
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: no ByteLevel pre-tokenizer (only byte-level BPE is supported)", what);
    if (!strcmp(ty, "Sequence")) {
        json_object *arr = get(p, "pretokenizers");
        if (!arr || !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > 2 ||
            json_object_array_length(arr) == 0)
            return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: pre_tokenizer Sequence must be [Digits,] ByteLevel", what);
        n = (int)json_object_array_length(arr);
        for (int i = 0; i < n; i++) list[i] = json_object_array_get_idx(arr, (size_t)i);
    } else {
        list[0] = p;
        n = 1;
    }
    for (int i = 0; i < n; i++) {
        const char *t = type_of(list[i]);
        if (t && !strcmp(t, "Digits") && !seen_bl && !digits) {
            digits = get_bool(list[i], "individual_digits", 0) ? 1 : 2;
        } else if (t && !strcmp(t, "ByteLevel") && !seen_bl) {
            seen_bl = 1;
            sp->bl_regex = get_bool(list[i], "use_regex", 1);
            sp->bl_prefix_space = get_bool(list[i], "add_prefix_space", 1);
        } else {
            return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: pre-tokenizer '%s' not supported (supported: [Digits,] ByteLevel)",
                           what, t ? t : "?");
        }
    }
    if (!seen_bl) return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: no ByteLevel pre-tokenizer", what);
    if (digits && sp->bl_prefix_space)
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: Digits + ByteLevel(add_prefix_space=true) not supported", what);
    sp->digits = digits;
    sp->pretok_kind = digits == 1 ? EXA_PRETOK_DIGITS_GPT2 : EXA_PRETOK_GPT2;
    return EXA_OK;
}

static exa_status read_template(json_object *p, exa_tok_spec *sp, const char *what, char *err, size_t err_size) {
    json_object *single = get(p, "single");
    if (!single || !json_object_is_type(single, json_type_array))
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: TemplateProcessing without 'single'", what);
    int seen_a = 0;
    size_t n = json_object_array_length(single);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(single, i);
        json_object *stok = get(e, "SpecialToken");
        if (stok) {
            const char *id = get_str(stok, "id");
            if (!id) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: TemplateProcessing SpecialToken without id", what);
            /* the id names an entry of special_tokens whose ids list we use; usually one token */
            json_object *st = get(get(p, "special_tokens"), id);
            json_object *tokens = get(st, "tokens");
            size_t nt = tokens && json_object_is_type(tokens, json_type_array) ? json_object_array_length(tokens) : 0;
            if (!nt) { tokens = NULL; nt = 1; }
            for (size_t k = 0; k < nt; k++) {
                const char *tk = tokens ? json_object_get_string(json_object_array_get_idx(tokens, k)) : id;
                if (!seen_a && sp->n_post_prefix < 4) sp->post_prefix[sp->n_post_prefix++] = tk;
                else if (seen_a && sp->n_post_suffix < 4) sp->post_suffix[sp->n_post_suffix++] = tk;
                else return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: too many template tokens", what);
            }
        } else if (get(e, "Sequence")) {
            seen_a = 1;
        } else return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: unknown TemplateProcessing piece", what);
    }
    return EXA_OK;
}

static exa_status read_post(json_object *p, exa_tok_spec *sp, const char *what, char *err, size_t err_size) {
    const char *ty = type_of(p);
    if (!p || json_object_is_type(p, json_type_null)) return EXA_OK;
    if (!ty) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: post_processor without type", what);
    if (!strcmp(ty, "ByteLevel")) return EXA_OK;
    if (!strcmp(ty, "TemplateProcessing")) return read_template(p, sp, what, err, err_size);
    if (!strcmp(ty, "Sequence")) {
        json_object *arr = get(p, "processors");
        size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(arr, i);
            const char *t = type_of(e);
            if (t && !strcmp(t, "Sequence")) return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: nested post-processor", what);
            exa_status st = read_post(e, sp, what, err, err_size);
            if (st) return st;
        }
        return EXA_OK;
    }
    return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: post-processor '%s' not supported", what, ty);
}

static void read_config(json_object *cfg, exa_tok_spec *sp, int from_files) {
    if (!cfg) return;
    sp->bos = config_token(cfg, "bos_token");
    sp->eos = config_token(cfg, "eos_token");
    sp->pad = config_token(cfg, "pad_token");
    if (from_files) {
        /* transformers' slow-to-fast conversion: add_bos_token / add_eos_token become a template */
        if (get_bool(cfg, "add_bos_token", 0) && sp->bos) sp->post_prefix[sp->n_post_prefix++] = sp->bos;
        if (get_bool(cfg, "add_eos_token", 0) && sp->eos) sp->post_suffix[sp->n_post_suffix++] = sp->eos;
    }
}

void exa_tok_spec_default_special(exa_tok_spec *sp) {
    /* EXAONE names (spec §7.2) when no tokenizer_config.json says otherwise */
    for (int i = 0; i < sp->n_added; i++) {
        const char *c = sp->added[i].content;
        if (!sp->eos && !strcmp(c, "[|endofturn|]")) sp->eos = c;
        if (!sp->bos && !strcmp(c, "[BOS]")) sp->bos = c;
        if (!sp->pad && !strcmp(c, "[PAD]")) sp->pad = c;
    }
}

exa_status exa_tokenizer_from_json(const char *json, size_t len, const char *config, size_t config_len,
                                   const char *what, exa_tokenizer **out, char *err, size_t err_size) {
    *out = NULL;
    json_object *root = parse_json(json, len, what, err, err_size);
    if (!root) return EXA_ERR_FORMAT;
    json_object *cfg = config ? parse_json(config, config_len, "tokenizer_config.json", NULL, 0) : NULL;
    spec_buf b;
    memset(&b, 0, sizeof b);
    exa_status st = EXA_OK;
    json_object *model = get(root, "model");
    const char *mt = type_of(model);
    json_object *norm = get(root, "normalizer");
    if (!model || !json_object_is_type(model, json_type_object)) {
        st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: no 'model' object", what);
        goto done;
    }
    if (mt && strcmp(mt, "BPE")) { st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: model type '%s' (only BPE)", what, mt); goto done; }
    if (get_bool(model, "byte_fallback", 0)) { st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: byte_fallback BPE not supported", what); goto done; }
    {
        json_object *d = get(model, "dropout");
        if (d && !json_object_is_type(d, json_type_null) && json_object_get_double(d) > 0) {
            st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: BPE dropout not supported", what);
            goto done;
        }
        const char *csp = get_str(model, "continuing_subword_prefix"), *ews = get_str(model, "end_of_word_suffix");
        if ((csp && *csp) || (ews && *ews)) {
            st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: subword prefix/suffix not supported", what);
            goto done;
        }
    }
    if (norm && !json_object_is_type(norm, json_type_null)) {
        const char *nt = type_of(norm);
        json_object *l = get(norm, "normalizers");
        if (!(nt && !strcmp(nt, "Sequence") && l && json_object_is_type(l, json_type_array) && json_object_array_length(l) == 0)) {
            st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: normalizer '%s' not supported (EXAONE has none)", what, nt ? nt : "?");
            goto done;
        }
    }
    {
        const char *dt = type_of(get(root, "decoder"));
        if (dt && strcmp(dt, "ByteLevel")) {
            st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: decoder '%s' not supported (ByteLevel only)", what, dt);
            goto done;
        }
    }
    if ((st = read_vocab(get(model, "vocab"), &b, what, err, err_size))) goto done;
    if ((st = read_merges_json(get(model, "merges"), &b, what, err, err_size))) goto done;
    if ((st = read_added_array(get(root, "added_tokens"), &b, what, err, err_size))) goto done;
    if ((st = read_pretok(get(root, "pre_tokenizer"), &b.sp, what, err, err_size))) goto done;
    if ((st = read_post(get(root, "post_processor"), &b.sp, what, err, err_size))) goto done;
    b.sp.unk_token = get_str(model, "unk_token");
    b.sp.fuse_unk = get_bool(model, "fuse_unk", 0);
    b.sp.ignore_merges = get_bool(model, "ignore_merges", 0);
    read_config(cfg, &b.sp, 0);
    exa_tok_spec_default_special(&b.sp);
    st = exa_tokenizer_build(&b.sp, what, out, err, err_size);
done:
    spec_buf_free(&b);
    if (cfg) json_object_put(cfg);
    json_object_put(root);
    return st;
}

exa_status exa_tokenizer_from_files(const char *vocab_json, size_t vocab_len, const char *merges, size_t merges_len,
                                    const char *config, size_t config_len, int pretok, const char *what,
                                    exa_tokenizer **out, char *err, size_t err_size) {
    *out = NULL;
    json_object *vroot = parse_json(vocab_json, vocab_len, "vocab.json", err, err_size);
    if (!vroot) return EXA_ERR_FORMAT;
    json_object *cfg = NULL;
    if (config) {
        cfg = parse_json(config, config_len, "tokenizer_config.json", err, err_size);
        if (!cfg) { json_object_put(vroot); return EXA_ERR_FORMAT; }
    }
    spec_buf b;
    memset(&b, 0, sizeof b);
    exa_status st = read_vocab(vroot, &b, "vocab.json", err, err_size);
    if (st) goto done;
    /* merges.txt: "#version" header, then "a b" per line; blank lines ignored */
    {
        size_t lines = 0;
        for (size_t i = 0; i < merges_len; i++) lines += merges[i] == '\n';
        if ((st = merges_alloc(&b, lines + 1, merges_len, "merges.txt", err, err_size))) goto done;
        char *o = b.merge_store;
        size_t i = 0, ln = 0;
        int n = 0;
        while (i < merges_len) {
            size_t e = i;
            while (e < merges_len && merges[e] != '\n') e++;
            ln++;
            size_t le = e;
            if (le > i && merges[le - 1] == '\r') le--;
            if (le > i && !(le - i >= 8 && !memcmp(merges + i, "#version", 8))) {
                const char *sp1 = memchr(merges + i, ' ', le - i);
                if (!sp1 || sp1 == merges + i || sp1 + 1 == merges + le || memchr(sp1 + 1, ' ', (size_t)(merges + le - sp1 - 1)) ||
                    memchr(merges + i, 0, le - i)) {
                    st = exa_err(err, err_size, EXA_ERR_FORMAT, "merges.txt: line %zu is not two tokens separated by one space", ln);
                    goto done;
                }
                size_t la = (size_t)(sp1 - (merges + i)), lb = le - i - la - 1;
                memcpy(o, merges + i, la); o[la] = 0; b.ma[n] = o; o += la + 1;
                memcpy(o, sp1 + 1, lb); o[lb] = 0; b.mb[n] = o; o += lb + 1;
                n++;
            }
            i = e + 1;
        }
        b.sp.n_merges = n;
    }
    /* added tokens from tokenizer_config.json's added_tokens_decoder */
    json_object *atd = get(cfg, "added_tokens_decoder");
    if (atd && json_object_is_type(atd, json_type_object)) {
        size_t n = (size_t)json_object_object_length(atd);
        b.added = calloc(n + 1, sizeof *b.added);
        if (!b.added) { st = exa_err(err, err_size, EXA_ERR_NOMEM, "tokenizer_config.json: out of memory"); goto done; }
        json_object_object_foreach(atd, key, e) {
            char *end;
            long id = strtol(key, &end, 10);
            const char *content = get_str(e, "content");
            if (*end || end == key || id < 0 || id >= (1 << 26) || !content) {
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "tokenizer_config.json: bad added_tokens_decoder entry '%.40s'", key);
                goto done;
            }
            exa_added_spec *a = &b.added[b.sp.n_added++];
            a->content = content;
            a->id = (int32_t)id;
            a->special = (uint8_t)get_bool(e, "special", 0);
            a->lstrip = (uint8_t)get_bool(e, "lstrip", 0);
            a->rstrip = (uint8_t)get_bool(e, "rstrip", 0);
            a->single_word = (uint8_t)get_bool(e, "single_word", 0);
            a->normalized = (uint8_t)get_bool(e, "normalized", !a->special);
        }
        /* HF adds them in id order */
        for (int i = 1; i < b.sp.n_added; i++) {
            exa_added_spec x = b.added[i];
            int j = i - 1;
            while (j >= 0 && b.added[j].id > x.id) { b.added[j + 1] = b.added[j]; j--; }
            b.added[j + 1] = x;
        }
        b.sp.added = b.added;
    }
    if (pretok == EXA_PRETOK_AUTO) {
        int has_think = 0, has_eot = 0;
        for (int i = 0; i < b.sp.n_added; i++) {
            if (!strcmp(b.sp.added[i].content, "<think>")) has_think = 1;
            if (!strcmp(b.sp.added[i].content, "[|endofturn|]")) has_eot = 1;
        }
        pretok = has_eot && !has_think ? EXA_PRETOK_DIGITS_GPT2 : EXA_PRETOK_GPT2;
    }
    b.sp.pretok_kind = pretok;
    b.sp.digits = pretok == EXA_PRETOK_DIGITS_GPT2 ? 1 : 0;
    b.sp.bl_regex = 1;
    b.sp.bl_prefix_space = get_bool(cfg, "add_prefix_space", 0);
    if (b.sp.digits && b.sp.bl_prefix_space) {
        st = exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: Digits + add_prefix_space not supported", what);
        goto done;
    }
    read_config(cfg, &b.sp, 1);
    exa_tok_spec_default_special(&b.sp);
    st = exa_tokenizer_build(&b.sp, what, out, err, err_size);
done:
    spec_buf_free(&b);
    if (cfg) json_object_put(cfg);
    json_object_put(vroot);
    return st;
}

static int is_dir(const char *p) {
    struct stat s;
    return stat(p, &s) == 0 && S_ISDIR(s.st_mode);
}

/* tokenizer.json / vocab.json + merges.txt in a folder, or a tokenizer.json path */
static exa_status load_files(const char *path, exa_pretok pretok, exa_tokenizer **out, char *err, size_t err_size) {
    char dir[4096], p1[4200], p2[4200], p3[4200];
    const char *tj = NULL;
    if (is_dir(path)) {
        snprintf(dir, sizeof dir, "%s", path);
        if (!exa_path_join(p1, sizeof p1, dir, "tokenizer.json")) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: path too long", path);
        if (exa_file_exists(p1)) tj = p1;
    } else {
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
        snprintf(p1, sizeof p1, "%s", path);
        tj = p1;
    }
    char *cfg = NULL;
    size_t cfg_n = 0;
    exa_path_join(p3, sizeof p3, dir, "tokenizer_config.json");
    if (exa_file_exists(p3)) {
        exa_status st = exa_file_read(p3, MAX_JSON, &cfg, &cfg_n, err, err_size);
        if (st) return st;
    }
    exa_status st;
    if (tj) {
        char *js;
        size_t jn;
        st = exa_file_read(tj, MAX_JSON, &js, &jn, err, err_size);
        if (st == EXA_OK) {
            st = exa_tokenizer_from_json(js, jn, cfg, cfg_n, tj, out, err, err_size);
            free(js);
        }
    } else {
        char *vj = NULL, *mt = NULL;
        size_t vn = 0, mn = 0;
        exa_path_join(p1, sizeof p1, dir, "vocab.json");
        exa_path_join(p2, sizeof p2, dir, "merges.txt");
        if (!exa_file_exists(p1) || !exa_file_exists(p2)) {
            free(cfg);
            return exa_err(err, err_size, EXA_ERR_IO, "%s: no tokenizer.json, nor vocab.json + merges.txt", dir);
        }
        st = exa_file_read(p1, MAX_JSON, &vj, &vn, err, err_size);
        if (st == EXA_OK) st = exa_file_read(p2, MAX_JSON, &mt, &mn, err, err_size);
        if (st == EXA_OK) st = exa_tokenizer_from_files(vj, vn, mt, mn, cfg, cfg_n, pretok, dir, out, err, err_size);
        free(vj);
        free(mt);
    }
    free(cfg);
    return st;
}

exa_status exa_tokenizer_load_ex(const char *path, exa_pretok pretok, exa_tokenizer **out, char *err, size_t err_size) {
    if (!out) return EXA_ERR_INVALID_ARG;
    *out = NULL;
    if (!path) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "tokenizer: no path given");
    char gpath[4096];
    if (!exa_gguf_locate(path, gpath, sizeof gpath)) return load_files(path, pretok, out, err, err_size);
    /* a GGUF: its own tokenizer metadata first, then tokenizer files in its folder (spec §6.4) */
    exa_gguf *g = NULL;
    exa_status st = exa_gguf_open(gpath, 1, &g, err, err_size);
    if (st) return st;
    if (exa_tokenizer_gguf_present(g)) {
        st = exa_tokenizer_from_gguf(g, pretok, out, err, err_size);
        exa_gguf_close(g);
        return st;
    }
    exa_gguf_close(g);
    char dir[4096], p1[4200], p2[4200];
    snprintf(dir, sizeof dir, "%s", gpath);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int has_json = exa_path_join(p1, sizeof p1, dir, "tokenizer.json") && exa_file_exists(p1);
    int has_files = exa_path_join(p1, sizeof p1, dir, "vocab.json") && exa_file_exists(p1) &&
                    exa_path_join(p2, sizeof p2, dir, "merges.txt") && exa_file_exists(p2);
    if (!has_json && !has_files)
        return exa_err(err, err_size, EXA_ERR_IO,
                       "%s: no tokenizer in the GGUF (tokenizer.ggml.tokens) nor next to it (tokenizer.json, or vocab.json + merges.txt in %s)",
                       gpath, dir);
    return load_files(dir, pretok, out, err, err_size);
}

exa_status exa_tokenizer_load(const char *path, exa_tokenizer **out, char *err, size_t err_size) {
    return exa_tokenizer_load_ex(path, EXA_PRETOK_AUTO, out, err, err_size);
}
