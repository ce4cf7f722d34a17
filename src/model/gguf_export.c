/* gguf_export.c — `exaone quantize`: a Hugging Face EXAONE folder (or a GGUF) written as a GGUF
 * file llama.cpp loads: general.architecture exaone/exaone4 and its hparams keys (spec §6.1),
 * tensors under their GGUF names with ggml-order dims (spec §6.2), rope_freqs.weight for llama3
 * scaling (spec §6.3), and the tokenizer as llama.cpp's converter writes it (spec §6.4):
 * tokenizer.ggml.model "gpt2", .pre "exaone"/"exaone4", .tokens (HF id_to_token strings),
 * .token_type (NORMAL 1 / CONTROL 3 / USER_DEFINED 4 / UNUSED 5 for "[PAD<id>]" padding), .merges
 * ("a b"), bos/eos/pad/unknown ids, add_bos_token (add_eos_token when set) and
 * tokenizer.chat_template; a GGUF input copies its tokenizer.* keys unchanged. The weights
 * are converted by loading the model with params.quant (model/quantize.c), so the GGUF holds
 * exactly what `--quant` would run. Norm vectors are written as F32 (as the converter does). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer_internal.h"

/* llama.cpp's llama_ftype for general.file_type */
static uint32_t ftype_of(exa_quant_type q, exa_dtype main) {
    switch (q) {
    case EXA_QUANT_F32: return 0;
    case EXA_QUANT_F16: return 1;
    case EXA_QUANT_BF16: return 32;
    case EXA_QUANT_Q8_0: return 7;
    case EXA_QUANT_Q4_0: return 2;
    case EXA_QUANT_Q4_K: return 14; /* Q4_K_S: every matrix Q4_K */
    case EXA_QUANT_Q4_K_M: return 15;
    case EXA_QUANT_Q5_K: return 16; /* Q5_K_S */
    case EXA_QUANT_Q6_K: return 18;
    default: return main == EXA_DTYPE_F32 ? 0 : main == EXA_DTYPE_BF16 ? 32 : 1;
    }
}

typedef struct exporter {
    exa_gguf_writer *w;
    const exa_model *m;
    char *err;
    size_t err_size;
    float *ones;           /* scratch kept until write */
    char **strs;           /* token strings / merges we allocated, freed at the end */
    size_t n_strs, cap_strs;
} exporter;

static exa_status add_mat(exporter *e, const char *hf, const exa_mat *w) {
    char name[EXA_GGUF_MAX_NAME + 16];
    exa_status st = exa_gguf_name_from_hf(e->m->hp.arch, hf, name, sizeof name);
    if (st) return exa_err(e->err, e->err_size, st, "no GGUF name for '%s'", hf);
    uint64_t ne[2] = {(uint64_t)w->cols, (uint64_t)w->rows};
    return exa_gguf_writer_add_tensor(e->w, name, (uint32_t)exa_dtype_to_ggml(w->dtype), 2, ne, w->data);
}

static exa_status add_vec(exporter *e, const char *hf, const float *v, int64_t n) {
    char name[EXA_GGUF_MAX_NAME + 16];
    exa_status st = exa_gguf_name_from_hf(e->m->hp.arch, hf, name, sizeof name);
    if (st) return exa_err(e->err, e->err_size, st, "no GGUF name for '%s'", hf);
    uint64_t ne[1] = {(uint64_t)n};
    return exa_gguf_writer_add_tensor(e->w, name, EXA_GGML_F32, 1, ne, v);
}

static exa_status add_tensors(exporter *e) {
    const exa_model *m = e->m;
    const exa_hparams *hp = &m->hp;
    const int is3 = hp->arch == EXA_ARCH_EXAONE;
    const int64_t D = hp->n_embd, d = hp->head_dim;
    char n[256];
    exa_status st;
    if ((st = add_mat(e, is3 ? "transformer.wte.weight" : "model.embed_tokens.weight", &m->tok_emb))) return st;
    for (int l = 0; l < hp->n_layer; l++) {
        const exa_layer *L = &m->layers[l];
#define MAT(fmt, w) do { snprintf(n, sizeof n, fmt, l); if ((st = add_mat(e, n, w))) return st; } while (0)
#define VEC(fmt, v, len) do { snprintf(n, sizeof n, fmt, l); if ((st = add_vec(e, n, v, len))) return st; } while (0)
        if (is3) {
            VEC("transformer.h.%d.ln_1.weight", L->ln1, D);
            MAT("transformer.h.%d.attn.attention.q_proj.weight", &L->wq);
            MAT("transformer.h.%d.attn.attention.k_proj.weight", &L->wk);
            MAT("transformer.h.%d.attn.attention.v_proj.weight", &L->wv);
            MAT("transformer.h.%d.attn.attention.out_proj.weight", &L->wo);
            VEC("transformer.h.%d.ln_2.weight", L->ln2, D);
            MAT("transformer.h.%d.mlp.c_fc_0.weight", &L->gate);
            MAT("transformer.h.%d.mlp.c_fc_1.weight", &L->up);
            MAT("transformer.h.%d.mlp.c_proj.weight", &L->down);
        } else {
            MAT("model.layers.%d.self_attn.q_proj.weight", &L->wq);
            MAT("model.layers.%d.self_attn.k_proj.weight", &L->wk);
            MAT("model.layers.%d.self_attn.v_proj.weight", &L->wv);
            MAT("model.layers.%d.self_attn.o_proj.weight", &L->wo);
            VEC("model.layers.%d.self_attn.q_norm.weight", L->q_norm, d);
            VEC("model.layers.%d.self_attn.k_norm.weight", L->k_norm, d);
            VEC("model.layers.%d.post_attention_layernorm.weight", L->post_attn, D);
            MAT("model.layers.%d.mlp.gate_proj.weight", &L->gate);
            MAT("model.layers.%d.mlp.up_proj.weight", &L->up);
            MAT("model.layers.%d.mlp.down_proj.weight", &L->down);
            VEC("model.layers.%d.post_feedforward_layernorm.weight", L->post_ffn, D);
        }
#undef MAT
#undef VEC
    }
    if ((st = add_vec(e, is3 ? "transformer.ln_f.weight" : "model.norm.weight", m->norm_final, D))) return st;
    if (!hp->tied && (st = add_mat(e, "lm_head.weight", &m->lm_head))) return st;
    /* llama3 scaling: the converter's rope_freqs.weight (spec §6.3); a GGUF input keeps its own */
    if (hp->rope_type == EXA_ROPE_LLAMA3 || hp->rope_freq_factors) {
        e->ones = malloc((size_t)d / 2 * sizeof(float));
        if (!e->ones) return EXA_ERR_NOMEM;
        if (hp->rope_freq_factors) memcpy(e->ones, hp->rope_freq_factors, (size_t)d / 2 * sizeof(float));
        else exa_gguf_llama3_rope_factors((int)d, hp->rope_theta, hp->rope_factor, hp->rope_low_freq, hp->rope_high_freq, hp->rope_orig_ctx, e->ones);
        uint64_t ne[1] = {(uint64_t)d / 2};
        if ((st = exa_gguf_writer_add_tensor(e->w, EXA_GGUF_TENSOR_ROPE_FREQS, EXA_GGML_F32, 1, ne, e->ones))) return st;
    }
    return EXA_OK;
}

/* takes ownership of s (NULL, freeing s, when out of memory) */
static char *keep(exporter *e, char *s) {
    if (!s) return NULL;
    if (e->n_strs == e->cap_strs) {
        size_t nc = e->cap_strs ? 2 * e->cap_strs : 64;
        char **n = realloc(e->strs, nc * sizeof *n);
        if (!n) { free(s); return NULL; }
        e->strs = n;
        e->cap_strs = nc;
    }
    e->strs[e->n_strs++] = s;
    return s;
}

/* merges "a b" from tokenizer.json model.merges (strings or [a, b] pairs) or merges.txt */
static exa_status read_merges(exporter *e, const char *dir, const char ***out, uint64_t *n_out) {
    char path[4096];
    *out = NULL;
    *n_out = 0;
    exa_path_join(path, sizeof path, dir, "tokenizer.json");
    if (exa_file_exists(path)) {
        struct json_object *root = json_object_from_file(path), *model, *merges;
        if (!root) return exa_err(e->err, e->err_size, EXA_ERR_FORMAT, "%s: not valid JSON", path);
        if (!json_object_object_get_ex(root, "model", &model) || !json_object_object_get_ex(model, "merges", &merges) ||
            !json_object_is_type(merges, json_type_array)) {
            json_object_put(root);
            return EXA_OK; /* no merges: written without */
        }
        size_t n = json_object_array_length(merges);
        const char **v = calloc(n ? n : 1, sizeof *v);
        if (!v) { json_object_put(root); return EXA_ERR_NOMEM; }
        for (size_t i = 0; i < n; i++) {
            struct json_object *it = json_object_array_get_idx(merges, i);
            if (json_object_is_type(it, json_type_string)) v[i] = keep(e, strdup(json_object_get_string(it)));
            else if (json_object_is_type(it, json_type_array) && json_object_array_length(it) == 2) {
                const char *a = json_object_get_string(json_object_array_get_idx(it, 0));
                const char *b = json_object_get_string(json_object_array_get_idx(it, 1));
                char *s = malloc(strlen(a) + strlen(b) + 2);
                if (s) sprintf(s, "%s %s", a, b);
                v[i] = keep(e, s);
            }
            if (!v[i]) { free(v); json_object_put(root); return exa_err(e->err, e->err_size, EXA_ERR_FORMAT, "%s: bad merge %zu", path, i); }
        }
        json_object_put(root);
        *out = v;
        *n_out = n;
        return EXA_OK;
    }
    exa_path_join(path, sizeof path, dir, "merges.txt");
    if (!exa_file_exists(path)) return EXA_OK;
    char *text;
    size_t len;
    exa_status st = exa_file_read(path, 256u << 20, &text, &len, e->err, e->err_size);
    if (st) return st;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    const char **v = calloc(n + 1, sizeof *v);
    if (!v) { free(text); return EXA_ERR_NOMEM; }
    if (!keep(e, text)) { free(v); return EXA_ERR_NOMEM; } /* lines point into it */
    size_t k = 0;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        if (nl > p && nl[-1] == '\r') nl[-1] = 0;
        if (*p && strncmp(p, "#version", 8)) v[k++] = p;
        p = nl + 1;
    }
    *out = v;
    *n_out = k;
    return EXA_OK;
}

/* chat template: chat_template.jinja, else tokenizer_config.json "chat_template" (a string, or
 * the "default" entry of a list of {name, template}, which the converter writes as
 * tokenizer.chat_template) */
static char *read_chat_template(const char *dir) {
    char path[4096];
    char *text = NULL;
    size_t len;
    char dummy[8];
    exa_path_join(path, sizeof path, dir, "chat_template.jinja");
    if (exa_file_exists(path) && exa_file_read(path, 16u << 20, &text, &len, dummy, sizeof dummy) == EXA_OK) return text;
    exa_path_join(path, sizeof path, dir, "tokenizer_config.json");
    if (!exa_file_exists(path)) return NULL;
    struct json_object *root = json_object_from_file(path), *ct;
    if (root && json_object_object_get_ex(root, "chat_template", &ct)) {
        if (json_object_is_type(ct, json_type_string)) text = strdup(json_object_get_string(ct));
        else if (json_object_is_type(ct, json_type_array))
            for (size_t i = 0; i < json_object_array_length(ct) && !text; i++) {
                struct json_object *e = json_object_array_get_idx(ct, i), *nm, *tx;
                if (json_object_object_get_ex(e, "name", &nm) && json_object_object_get_ex(e, "template", &tx) &&
                    json_object_is_type(tx, json_type_string) && !strcmp(json_object_get_string(nm), "default"))
                    text = strdup(json_object_get_string(tx));
            }
    }
    json_object_put(root);
    return text;
}

/* tokenizer_config.json "unk_token" (string or {"content": ...}) as an id; -1 when none */
static int32_t config_unk(const char *dir, const exa_tokenizer *tok) {
    char path[4096];
    int32_t id = -1;
    if (!exa_path_join(path, sizeof path, dir, "tokenizer_config.json") || !exa_file_exists(path)) return -1;
    struct json_object *root = json_object_from_file(path), *u, *c;
    if (root && json_object_object_get_ex(root, "unk_token", &u)) {
        if (json_object_is_type(u, json_type_string)) id = exa_tokenizer_token_id(tok, json_object_get_string(u));
        else if (json_object_object_get_ex(u, "content", &c) && json_object_is_type(c, json_type_string))
            id = exa_tokenizer_token_id(tok, json_object_get_string(c));
    }
    json_object_put(root);
    return id;
}

/* gguf-py's Model.does_token_look_special: added tokens the converter makes CONTROL even when
 * the tokenizer does not mark them special */
static int looks_special(const char *t) {
    size_t n = strlen(t);
    if (!strcmp(t, "<pad>") || !strcmp(t, "<mask>") || !strcmp(t, "<2mass>") || !strcmp(t, "[@BOS@]")) return 1;
    if (n >= 4 && !strncmp(t, "<|", 2) && !strcmp(t + n - 2, "|>")) return 1;
    if (n >= 8 && !strncmp(t, "<\xef\xbd\x9c", 4) && !strcmp(t + n - 4, "\xef\xbd\x9c>")) return 1; /* <｜ ... ｜> */
    if (n >= 8 && !strncmp(t, "<unused", 7) && t[n - 1] == '>') return 1;
    return 0;
}

static exa_status add_tokenizer(exporter *e, const char *dir, const exa_tokenizer *tok) {
    const exa_hparams *hp = &e->m->hp;
    const int V = hp->n_vocab, nt = exa_tokenizer_n_vocab(tok);
    const char **tokens = calloc((size_t)V, sizeof *tokens);
    int32_t *types = calloc((size_t)V, sizeof *types);
    if (!tokens || !types) { free(tokens); free(types); return EXA_ERR_NOMEM; }
    exa_status st = EXA_OK;
    for (int i = 0; i < V && st == EXA_OK; i++) {
        const char *t = i < nt ? exa_tokenizer_token_text(tok, i) : NULL;
        if (t) {
            tokens[i] = t;
            /* llama.cpp's token types: CONTROL (special, or an added token that looks special),
             * USER_DEFINED (other added tokens), NORMAL */
            types[i] = exa_tokenizer_is_special(tok, i) ? 3 : exa_tokenizer_is_added(tok, i) ? (looks_special(t) ? 3 : 4) : 1;
        } else { /* ids past the tokenizer: the converter's "[PAD<id>]", UNUSED */
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%d]", i);
            if (!(tokens[i] = keep(e, strdup(buf)))) st = EXA_ERR_NOMEM;
            types[i] = 5;
        }
    }
    const char **merges = NULL;
    uint64_t n_merges = 0;
    if (!st) st = exa_gguf_writer_add_str(e->w, EXA_GGUF_KEY_TOK_MODEL, "gpt2");
    if (!st) st = exa_gguf_writer_add_str(e->w, EXA_GGUF_KEY_TOK_PRE, exa_tokenizer_pretok(tok) == EXA_PRETOK_DIGITS_GPT2 ? "exaone" : "exaone4");
    if (!st) st = exa_gguf_writer_add_str_array(e->w, EXA_GGUF_KEY_TOK_TOKENS, tokens, (uint64_t)V);
    if (!st) st = exa_gguf_writer_add_array(e->w, EXA_GGUF_KEY_TOK_TYPES, EXA_GGUF_I32, types, (uint64_t)V);
    if (!st) st = read_merges(e, dir, &merges, &n_merges);
    if (!st && n_merges) st = exa_gguf_writer_add_str_array(e->w, EXA_GGUF_KEY_TOK_MERGES, merges, n_merges);
    int32_t bos = exa_tokenizer_bos(tok), eos = exa_tokenizer_eos(tok), pad = exa_tokenizer_pad(tok);
    if (!st) st = exa_gguf_writer_add_u32(e->w, EXA_GGUF_KEY_TOK_BOS, (uint32_t)(bos >= 0 ? bos : hp->bos_id));
    if (!st) st = exa_gguf_writer_add_u32(e->w, EXA_GGUF_KEY_TOK_EOS, (uint32_t)(eos >= 0 ? eos : hp->eos_id));
    if (!st) st = exa_gguf_writer_add_u32(e->w, EXA_GGUF_KEY_TOK_PAD, (uint32_t)(pad >= 0 ? pad : hp->pad_id));
    int32_t unk = tok->unk_id >= 0 ? tok->unk_id : config_unk(dir, tok);
    if (!st && unk >= 0) st = exa_gguf_writer_add_u32(e->w, EXA_GGUF_KEY_TOK_UNK, (uint32_t)unk);
    /* what encode(add_special) adds: llama.cpp knows only "bos first" and "eos last" */
    if (!st) st = exa_gguf_writer_add_bool(e->w, EXA_GGUF_KEY_TOK_ADD_BOS, tok->n_post_prefix == 1 && tok->post_prefix[0] == bos);
    if (!st && tok->n_post_suffix == 1 && tok->post_suffix[0] == eos) st = exa_gguf_writer_add_bool(e->w, EXA_GGUF_KEY_TOK_ADD_EOS, 1);
    if (!st && tok->bl_prefix_space) st = exa_gguf_writer_add_bool(e->w, EXA_GGUF_KEY_TOK_ADD_PREFIX, 1);
    char *tmpl = read_chat_template(dir);
    if (!st && tmpl) st = exa_gguf_writer_add_str(e->w, EXA_GGUF_KEY_CHAT_TEMPLATE, tmpl);
    free(tmpl);
    /* the writer copies string arrays when they are added */
    free(tokens);
    free(types);
    free(merges);
    return st;
}

exa_status exa_gguf_export(const char *in, const char *out_path, exa_quant_type type, exa_progress_cb progress, void *user,
                           char *err, size_t err_size) {
    static char dummy[1];
    if (!err) { err = dummy; err_size = sizeof dummy; }
    exa_model_params mp = exa_model_default_params();
    mp.quant = type;
    mp.keep_layout = 1; /* the weights are written out, never multiplied */
    mp.progress = progress;
    mp.progress_user = user;
    exa_model *m = NULL;
    exa_status st = exa_model_load(in, &mp, &m, err, err_size);
    if (st) return st;
    err[0] = 0;
    exporter e = {.m = m, .err = err, .err_size = err_size};
    exa_tokenizer *tok = NULL;
    char tpath[4096], tdir[4096];
    int has_tok = 0, copy_tok = m->gguf && exa_tokenizer_gguf_present(m->gguf);
    /* tokenizer files: the HF folder, or (a GGUF without tokenizer metadata) the GGUF's folder */
    snprintf(tdir, sizeof tdir, "%s", m->gguf ? m->gguf->path : in);
    if (m->gguf) {
        char *slash = strrchr(tdir, '/');
        if (slash) *slash = 0;
        else snprintf(tdir, sizeof tdir, ".");
    }
    if (!copy_tok) {
        const char *names[] = {"tokenizer.json", "vocab.json"};
        for (int i = 0; i < 2; i++) has_tok |= exa_path_join(tpath, sizeof tpath, tdir, names[i]) && exa_file_exists(tpath);
    }
    if (has_tok) st = exa_tokenizer_load(tdir, &tok, err, err_size);
    if (!st) st = exa_gguf_writer_new(EXA_GGUF_DEFAULT_ALIGNMENT, &e.w);
    const exa_hparams *hp = &m->hp;
    exa_gguf_hparams gh = {
        .arch = hp->arch, .context_length = (uint32_t)hp->n_ctx_train, .embedding_length = (uint32_t)hp->n_embd,
        .block_count = (uint32_t)hp->n_layer, .feed_forward_length = (uint32_t)hp->n_ff, .head_count = (uint32_t)hp->n_head,
        .head_count_kv = (uint32_t)hp->n_head_kv, .key_length = (uint32_t)hp->head_dim, .value_length = (uint32_t)hp->head_dim,
        .rope_dimension_count = (uint32_t)hp->head_dim, .vocab_size = (uint32_t)hp->n_vocab, .rms_eps = hp->norm_eps,
        .rope_freq_base = hp->rope_theta, .sliding_window = (uint32_t)hp->sliding_window,
    };
    if (hp->arch == EXA_ARCH_EXAONE4) {
        gh.n_swa_pattern = (uint32_t)hp->n_layer;
        for (int i = 0; i < hp->n_layer; i++) gh.swa_pattern[i] = hp->layer_sliding[i];
    }
    if (!st) st = exa_gguf_write_hparams(e.w, &gh);
    if (!st) {
        const char *base = strrchr(in, '/');
        base = base && base[1] ? base + 1 : in;
        st = exa_gguf_writer_add_str(e.w, EXA_GGUF_KEY_NAME, base);
    }
    if (!st) st = exa_gguf_writer_add_u32(e.w, EXA_GGUF_KEY_FILE_TYPE, ftype_of(type, m->main_dtype));
    if (!st) st = exa_gguf_writer_add_u32(e.w, EXA_GGUF_KEY_QUANT_VERSION, 2);
    if (!st && tok) st = add_tokenizer(&e, tdir, tok);
    /* a GGUF input keeps its own tokenizer metadata and chat template, key for key */
    for (uint64_t i = 0; !st && copy_tok && i < m->gguf->n_kv; i++)
        if (!strncmp(m->gguf->kv[i].key, "tokenizer.", 10)) st = exa_gguf_writer_copy_kv(e.w, &m->gguf->kv[i]);
    if (!st) st = add_tensors(&e);
    if (!st) st = exa_gguf_writer_write(e.w, out_path, err, err_size);
    else if (!err[0]) exa_err(err, err_size, st, "%s: cannot build the GGUF (%s)", out_path, exa_status_str(st));
    exa_gguf_writer_free(e.w);
    for (size_t i = 0; i < e.n_strs; i++) free(e.strs[i]);
    free(e.strs);
    free(e.ones);
    exa_tokenizer_free(tok);
    exa_model_free(m);
    return st;
}
