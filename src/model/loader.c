/* loader.c — loads a Hugging Face model folder: config.json, then model.safetensors or the
 * shards named by model.safetensors.index.json; binds every tensor the architecture needs
 * (names: spec §5), checking dtype and exact shape. f32/bf16/f16 matrices stay in the mapped
 * files (zero-copy) unless misaligned; norm vectors are converted to f32 and owned here. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/lora_apply.h"
#include "model/model.h"
#include "model/safetensors.h"

#define MAX_CONFIG_BYTES (4u << 20)
#define MAX_INDEX_BYTES (64u << 20)

exa_model_params exa_model_default_params(void) {
    exa_model_params p = {.use_mmap = 1, .progress = NULL, .progress_user = NULL};
    return p;
}

typedef struct loader {
    exa_model *m;
    const char *dir;
    struct json_object *weight_map; /* sharded: name -> shard file name; NULL for single file */
    int n_bound, n_expected;
    const exa_model_params *params;
    void **owned;                   /* copies of misaligned tensors */
    int n_owned, cap_owned;
    float *pool_next;
    char *err;
    size_t err_size;
} loader;

static exa_status find_tensor(loader *ld, const char *name, const exa_st_tensor **out, const exa_st_file **file) {
    exa_model *m = ld->m;
    *out = NULL;
    if (ld->weight_map) {
        struct json_object *v;
        if (!json_object_object_get_ex(ld->weight_map, name, &v) || !json_object_is_type(v, json_type_string))
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s/model.safetensors.index.json: missing tensor '%s'", ld->dir, name);
        const char *shard = json_object_get_string(v);
        for (int i = 0; i < m->n_files; i++) {
            const char *base = strrchr(m->files[i]->path, '/');
            if (!strcmp(base ? base + 1 : m->files[i]->path, shard)) {
                *out = exa_st_find(m->files[i], name);
                *file = m->files[i];
                if (!*out)
                    return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' listed in the index is not in this shard", m->files[i]->path, name);
                return EXA_OK;
            }
        }
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s/model.safetensors.index.json: shard '%s' not loaded", ld->dir, shard);
    }
    *file = m->files[0];
    *out = exa_st_find(m->files[0], name);
    if (!*out) return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: missing tensor '%s'", m->files[0]->path, name);
    return EXA_OK;
}

static exa_status progress(loader *ld) {
    ld->n_bound++;
    if (ld->params->progress && !ld->params->progress((float)ld->n_bound / (float)ld->n_expected, ld->params->progress_user))
        return exa_err(ld->err, ld->err_size, EXA_ERR_ABORTED, "%s: loading aborted", ld->dir);
    return EXA_OK;
}

static exa_status check_shape(loader *ld, const exa_st_file *f, const exa_st_tensor *t, int ndim, int64_t d0, int64_t d1) {
    if (!t->dtype_ok)
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' has dtype %s (expected F32, BF16 or F16)", f->path, t->name, t->st_dtype);
    int ok = t->t.ndim == ndim && t->t.shape[0] == d0 && (ndim == 1 || t->t.shape[1] == d1);
    if (!ok) {
        char got[96] = "";
        size_t o = 0;
        for (int i = 0; i < t->t.ndim && o < sizeof got - 24; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%lld", i ? ", " : "", (long long)t->t.shape[i]);
        if (ndim == 1)
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' has shape [%s], config.json implies [%lld]", f->path, t->name, got, (long long)d0);
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' has shape [%s], config.json implies [%lld, %lld]", f->path, t->name, got, (long long)d0, (long long)d1);
    }
    return EXA_OK;
}

static exa_status bind_mat(loader *ld, const char *name, int64_t rows, int64_t cols, exa_mat *out) {
    const exa_st_tensor *t;
    const exa_st_file *f;
    exa_status st = find_tensor(ld, name, &t, &f);
    if (st == EXA_OK) st = check_shape(ld, f, t, 2, rows, cols);
    if (st != EXA_OK) return st;
    const void *data = t->t.data;
    size_t esz = exa_dtype_size(t->t.dtype);
    if ((uintptr_t)data % esz) { /* misaligned in the file: keep an aligned copy */
        void *copy = exa_aligned_alloc(t->t.nbytes);
        if (!copy) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "%s: out of memory copying '%s'", f->path, name);
        memcpy(copy, data, t->t.nbytes);
        if (ld->n_owned == ld->cap_owned) {
            int nc = ld->cap_owned ? 2 * ld->cap_owned : 16;
            void **no = realloc(ld->owned, (size_t)nc * sizeof *no);
            if (!no) { free(copy); return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory"); }
            ld->owned = no;
            ld->cap_owned = nc;
        }
        ld->owned[ld->n_owned++] = copy;
        data = copy;
    }
    *out = (exa_mat){t->t.dtype, data, rows, cols};
    ld->m->n_params += rows * cols;
    ld->m->weight_bytes += (int64_t)t->t.nbytes;
    return progress(ld);
}

static exa_status bind_vec(loader *ld, const char *name, int64_t n, float **out) {
    const exa_st_tensor *t;
    const exa_st_file *f;
    exa_status st = find_tensor(ld, name, &t, &f);
    if (st == EXA_OK) st = check_shape(ld, f, t, 1, n, 0);
    if (st != EXA_OK) return st;
    float *dst = ld->pool_next;
    ld->pool_next += n;
    const uint8_t *src = t->t.data; /* may be misaligned: read bytewise */
    for (int64_t i = 0; i < n; i++) {
        if (t->t.dtype == EXA_DTYPE_F32) memcpy(&dst[i], src + 4 * i, 4);
        else {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = t->t.dtype == EXA_DTYPE_BF16 ? exa_bf16_to_f32(h) : exa_f16_to_f32(h);
        }
    }
    *out = dst;
    ld->m->n_params += n;
    ld->m->weight_bytes += (int64_t)t->t.nbytes;
    return progress(ld);
}

/* opens model.safetensors, or every shard of model.safetensors.index.json */
static exa_status open_weights(loader *ld, struct json_object **index_root) {
    exa_model *m = ld->m;
    char path[4096];
    if (!exa_path_join(path, sizeof path, ld->dir, "model.safetensors"))
        return exa_err(ld->err, ld->err_size, EXA_ERR_INVALID_ARG, "%s: path too long", ld->dir);
    if (exa_file_exists(path)) {
        m->files = calloc(1, sizeof *m->files);
        if (!m->files) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");
        exa_status st = exa_st_open(path, ld->params->use_mmap, &m->files[0], ld->err, ld->err_size);
        if (st == EXA_OK) m->n_files = 1;
        return st;
    }
    exa_path_join(path, sizeof path, ld->dir, "model.safetensors.index.json");
    if (!exa_file_exists(path))
        return exa_err(ld->err, ld->err_size, EXA_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json", ld->dir);
    char *text;
    size_t len;
    exa_status st = exa_file_read(path, MAX_INDEX_BYTES, &text, &len, ld->err, ld->err_size);
    if (st != EXA_OK) return st;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root = NULL;
    if (tok) {
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int)len);
        if (json_tokener_get_error(tok) != json_tokener_success) { json_object_put(root); root = NULL; }
        json_tokener_free(tok);
    }
    free(text);
    struct json_object *wm = NULL;
    if (!root || !json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "weight_map", &wm) ||
        !json_object_is_type(wm, json_type_object)) {
        json_object_put(root);
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: not valid JSON with a 'weight_map' object", path);
    }
    *index_root = root;
    ld->weight_map = wm;
    int cap = json_object_object_length(wm);
    m->files = calloc((size_t)(cap > 0 ? cap : 1), sizeof *m->files);
    if (!m->files) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");
    json_object_object_foreach(wm, tname, shard_v) {
        if (!json_object_is_type(shard_v, json_type_string))
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: weight_map['%s'] is not a file name", path, tname);
        const char *shard = json_object_get_string(shard_v);
        if (!*shard || strchr(shard, '/') || !strcmp(shard, "..") || !strcmp(shard, "."))
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: shard name '%s' must be a plain file name in the folder", path, shard);
        int seen = 0;
        for (int i = 0; i < m->n_files && !seen; i++) seen = !strcmp(strrchr(m->files[i]->path, '/') + 1, shard);
        if (seen) continue;
        char sp[4096];
        if (!exa_path_join(sp, sizeof sp, ld->dir, shard))
            return exa_err(ld->err, ld->err_size, EXA_ERR_INVALID_ARG, "%s: path too long", ld->dir);
        st = exa_st_open(sp, ld->params->use_mmap, &m->files[m->n_files], ld->err, ld->err_size);
        if (st != EXA_OK) return st;
        m->n_files++;
    }
    if (m->n_files == 0) return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: weight_map is empty", path);
    return EXA_OK;
}

static exa_status bind_all(loader *ld) {
    exa_model *m = ld->m;
    const exa_hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, V = hp->n_vocab, F = hp->n_ff, d = hp->head_dim;
    const int64_t Hd = (int64_t)hp->n_head * d, KVd = (int64_t)hp->n_head_kv * d;
    const int is3 = hp->arch == EXA_ARCH_EXAONE;
    char n[256];
    exa_status st;
    ld->n_expected = 3 + hp->n_layer * (is3 ? 9 : 11);
    /* norm vectors: 2 per layer (3.x) or 4 (4.0: two of size d), plus the final norm */
    size_t pool = (size_t)D + (size_t)hp->n_layer * (is3 ? 2 * (size_t)D : 2 * (size_t)D + 2 * (size_t)d);
    m->f32_pool = exa_calloc(pool, sizeof(float));
    if (!m->f32_pool) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");
    ld->pool_next = m->f32_pool;
    m->layers = exa_calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");

    if ((st = bind_mat(ld, is3 ? "transformer.wte.weight" : "model.embed_tokens.weight", V, D, &m->tok_emb))) return st;
    for (int l = 0; l < hp->n_layer; l++) {
        exa_layer *L = &m->layers[l];
#define MAT(fmt, r, c, dst) do { snprintf(n, sizeof n, fmt, l); if ((st = bind_mat(ld, n, r, c, dst))) return st; } while (0)
#define VEC(fmt, len, dst) do { snprintf(n, sizeof n, fmt, l); if ((st = bind_vec(ld, n, len, dst))) return st; } while (0)
        if (is3) { /* REF: spec §5.1 */
            VEC("transformer.h.%d.ln_1.weight", D, &L->ln1);
            MAT("transformer.h.%d.attn.attention.q_proj.weight", Hd, D, &L->wq);
            MAT("transformer.h.%d.attn.attention.k_proj.weight", KVd, D, &L->wk);
            MAT("transformer.h.%d.attn.attention.v_proj.weight", KVd, D, &L->wv);
            MAT("transformer.h.%d.attn.attention.out_proj.weight", D, Hd, &L->wo);
            VEC("transformer.h.%d.ln_2.weight", D, &L->ln2);
            MAT("transformer.h.%d.mlp.c_fc_0.weight", F, D, &L->gate); /* c_fc_0 is the gate (pitfall 8) */
            MAT("transformer.h.%d.mlp.c_fc_1.weight", F, D, &L->up);
            MAT("transformer.h.%d.mlp.c_proj.weight", D, F, &L->down);
        } else { /* REF: spec §5.2 */
            MAT("model.layers.%d.self_attn.q_proj.weight", Hd, D, &L->wq);
            MAT("model.layers.%d.self_attn.k_proj.weight", KVd, D, &L->wk);
            MAT("model.layers.%d.self_attn.v_proj.weight", KVd, D, &L->wv);
            MAT("model.layers.%d.self_attn.o_proj.weight", D, Hd, &L->wo);
            VEC("model.layers.%d.self_attn.q_norm.weight", d, &L->q_norm);
            VEC("model.layers.%d.self_attn.k_norm.weight", d, &L->k_norm);
            VEC("model.layers.%d.post_attention_layernorm.weight", D, &L->post_attn);
            MAT("model.layers.%d.mlp.gate_proj.weight", F, D, &L->gate);
            MAT("model.layers.%d.mlp.up_proj.weight", F, D, &L->up);
            MAT("model.layers.%d.mlp.down_proj.weight", D, F, &L->down);
            VEC("model.layers.%d.post_feedforward_layernorm.weight", D, &L->post_ffn);
        }
#undef MAT
#undef VEC
    }
    if ((st = bind_vec(ld, is3 ? "transformer.ln_f.weight" : "model.norm.weight", D, &m->norm_final))) return st;
    if (hp->tied) {
        m->lm_head = m->tok_emb; /* lm_head.weight, if present, is ignored as in HF */
        return progress(ld);
    }
    return bind_mat(ld, "lm_head.weight", V, D, &m->lm_head);
}

exa_status exa_model_load(const char *path, const exa_model_params *params, exa_model **out, char *err, size_t err_size) {
    static char dummy[1];
    if (!err) { err = dummy; err_size = sizeof dummy; }
    if (!out || !path) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "exa_model_load: NULL argument");
    *out = NULL;
    exa_model_params defaults = exa_model_default_params();
    if (!params) params = &defaults;
    double t0 = exa_time_now();
    struct stat sb;
    if (stat(path, &sb) != 0) return exa_err(err, err_size, EXA_ERR_IO, "%s: no such file or folder", path);
    if (!S_ISDIR(sb.st_mode)) return exa_err(err, err_size, EXA_ERR_IO, "%s: not a model folder (expected config.json + safetensors)", path);

    exa_model *m = calloc(1, sizeof *m);
    if (!m) return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory");
    loader ld = {.m = m, .dir = path, .params = params, .err = err, .err_size = err_size};
    struct json_object *index_root = NULL;
    char cpath[4096];
    char *text = NULL;
    size_t len = 0;
    exa_status st = EXA_OK;
    if (!exa_path_join(cpath, sizeof cpath, path, "config.json")) st = exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: path too long", path);
    if (st == EXA_OK) st = exa_file_read(cpath, MAX_CONFIG_BYTES, &text, &len, err, err_size);
    if (st == EXA_OK) st = exa_config_parse(text, len, cpath, &m->hp, err, err_size);
    free(text);
    if (st == EXA_OK) st = open_weights(&ld, &index_root);
    if (st == EXA_OK) st = bind_all(&ld);
    json_object_put(index_root);
    if (st != EXA_OK) {
        for (int i = 0; i < ld.n_owned; i++) free(ld.owned[i]);
        free(ld.owned);
        exa_model_free(m);
        return st;
    }
    m->owned = ld.owned;
    m->n_owned = ld.n_owned;
    /* LoRA: merge a PEFT adapter into the adapted matrices (owned copies; see lora_apply.c) */
    if (params->lora_dir && (st = exa_lora_apply_model(m, params->lora_dir, err, err_size)) != EXA_OK) {
        exa_model_free(m);
        return st;
    }
    m->main_dtype = m->tok_emb.dtype;
    m->load_seconds = exa_time_now() - t0;
    *out = m;
    return EXA_OK;
}

void exa_model_free(exa_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_files; i++) exa_st_close(m->files[i]);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->files);
    free(m->layers);
    free(m->f32_pool);
    free(m);
}

void exa_model_get_info(const exa_model *m, exa_model_info *info) {
    memset(info, 0, sizeof *info);
    const exa_hparams *hp = &m->hp;
    info->arch = hp->arch;
    info->arch_name = hp->arch == EXA_ARCH_EXAONE ? "exaone" : "exaone4";
    info->weight_dtype = exa_dtype_name(m->main_dtype);
    info->n_vocab = hp->n_vocab;
    info->n_embd = hp->n_embd;
    info->n_layer = hp->n_layer;
    info->n_head = hp->n_head;
    info->n_head_kv = hp->n_head_kv;
    info->head_dim = hp->head_dim;
    info->n_ff = hp->n_ff;
    info->n_ctx_train = hp->n_ctx_train;
    info->sliding_window = hp->sliding_window;
    for (int l = 0; l < hp->n_layer; l++) info->n_sliding_layers += hp->layer_sliding[l];
    info->tied_embeddings = hp->tied;
    info->rope_theta = hp->rope_theta;
    info->rope_llama3 = hp->rope_type == EXA_ROPE_LLAMA3;
    info->bos_id = hp->bos_id;
    info->eos_id = hp->eos_id;
    info->pad_id = hp->pad_id;
    info->n_params = m->n_params;
    info->weight_bytes = m->weight_bytes;
    info->load_seconds = m->load_seconds;
}
