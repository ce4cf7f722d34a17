/* loader.c — loads a Hugging Face model folder (config.json, then model.safetensors or the
 * shards named by model.safetensors.index.json) or a GGUF file (hparams from its metadata,
 * tensors by the GGUF name table, spec §6); binds every tensor the architecture needs (HF names:
 * spec §5, mapped to GGUF names for GGUF), checking dtype and exact shape. Matrices stay in the
 * mapped files (zero-copy) unless misaligned or converted by params->quant (then owned here);
 * norm vectors are converted to f32 and owned here. */
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/stat.h>

#include "kernels/quant_x16.h"
#include "model/lora_apply.h"
#include "model/gguf.h"
#include "model/model.h"
#include "model/quantize.h"
#include "model/safetensors.h"

#define MAX_CONFIG_BYTES (4u << 20)
#define MAX_INDEX_BYTES (64u << 20)

exa_model_params exa_model_default_params(void) {
    exa_model_params p = {.use_mmap = 1, .progress = NULL, .progress_user = NULL, .quant = EXA_QUANT_NONE};
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

/* a tensor as either file format gives it */
typedef struct src_tensor {
    const char *path;   /* file, for messages */
    const char *name;   /* name in that file */
    int dtype_ok;       /* dtype is one exa_dtype handles */
    char dtype_name[16];
    exa_tensor t;       /* PyTorch-order shape, data in the mapped file */
} src_tensor;

static exa_status find_st_tensor(loader *ld, const char *name, const exa_st_tensor **out, const exa_st_file **file);

static exa_status find_tensor(loader *ld, const char *name, src_tensor *out) {
    memset(out, 0, sizeof *out);
    exa_model *m = ld->m;
    if (m->gguf) {
        char gname[EXA_GGUF_MAX_NAME + 16];
        if (exa_gguf_name_from_hf(m->hp.arch, name, gname, sizeof gname) != EXA_OK)
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: no GGUF name for tensor '%s'", m->gguf->path, name);
        const exa_gguf_tensor *g = exa_gguf_find_tensor(m->gguf, gname);
        if (!g) return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: missing tensor '%s'", m->gguf->path, gname);
        out->path = m->gguf->path;
        out->name = g->name;
        exa_dtype dt;
        out->dtype_ok = exa_dtype_from_ggml(g->type, &dt);
        const char *tn = exa_ggml_type_name(g->type);
        snprintf(out->dtype_name, sizeof out->dtype_name, "%s", tn ? tn : "unknown");
        out->t.name = g->name;
        out->t.dtype = out->dtype_ok ? dt : EXA_DTYPE_F32;
        out->t.ndim = exa_gguf_tensor_shape(g, out->t.shape);
        out->t.data = g->data;
        out->t.nbytes = (size_t)g->nbytes;
        return EXA_OK;
    }
    const exa_st_tensor *t = NULL;
    const exa_st_file *f = NULL;
    exa_status st = find_st_tensor(ld, name, &t, &f);
    if (st != EXA_OK) return st;
    out->path = f->path;
    out->name = t->name;
    out->dtype_ok = t->dtype_ok;
    snprintf(out->dtype_name, sizeof out->dtype_name, "%s", t->st_dtype);
    out->t = t->t;
    return EXA_OK;
}

static exa_status find_st_tensor(loader *ld, const char *name, const exa_st_tensor **out, const exa_st_file **file) {
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

static exa_status check_shape(loader *ld, const src_tensor *t, int ndim, int64_t d0, int64_t d1) {
    const char *implied = ld->m->gguf ? "the GGUF hparams imply" : "config.json implies";
    if (!t->dtype_ok)
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' has dtype %s (expected F32, BF16, F16%s)", t->path,
                       t->name, t->dtype_name, ld->m->gguf ? ", Q8_0, Q4_0, Q4_K, Q5_K or Q6_K" : " or BF16");
    if (ndim == 1 && exa_dtype_is_quant(t->t.dtype))
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: vector '%s' must be F32, F16 or BF16, not %s", t->path, t->name, t->dtype_name);
    if (ndim == 2 && !exa_dtype_row_bytes(t->t.dtype, d1))
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s': %lld columns is not a whole number of %s blocks", t->path,
                       t->name, (long long)d1, t->dtype_name);
    int ok = t->t.ndim == ndim && t->t.shape[0] == d0 && (ndim == 1 || t->t.shape[1] == d1);
    if (!ok) {
        char got[96] = "";
        size_t o = 0;
        for (int i = 0; i < t->t.ndim && o < sizeof got - 24; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%lld", i ? ", " : "", (long long)t->t.shape[i]);
        if (ndim == 1)
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' has shape [%s], %s [%lld]", t->path, t->name, got, implied, (long long)d0);
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: tensor '%s' has shape [%s], %s [%lld, %lld]", t->path, t->name, got, implied, (long long)d0, (long long)d1);
    }
    return EXA_OK;
}

static exa_status own(loader *ld, void *p) {
    if (ld->n_owned == ld->cap_owned) {
        int nc = ld->cap_owned ? 2 * ld->cap_owned : 16;
        void **no = realloc(ld->owned, (size_t)nc * sizeof *no);
        if (!no) { free(p); return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory"); }
        ld->owned = no;
        ld->cap_owned = nc;
    }
    ld->owned[ld->n_owned++] = p;
    return EXA_OK;
}

static exa_status bind_mat(loader *ld, const char *name, int64_t rows, int64_t cols, exa_mat *out) {
    src_tensor ts, *t = &ts;
    exa_status st = find_tensor(ld, name, t);
    if (st == EXA_OK) st = check_shape(ld, t, 2, rows, cols);
    if (st != EXA_OK) return st;
    const void *data = t->t.data;
    size_t esz = exa_dtype_is_quant(t->t.dtype) ? 1 : exa_dtype_size(t->t.dtype); /* block kernels read bytewise */
    if ((uintptr_t)data % esz) { /* misaligned in the file: keep an aligned copy */
        void *copy = exa_aligned_alloc(t->t.nbytes);
        if (!copy) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "%s: out of memory copying '%s'", t->path, name);
        memcpy(copy, data, t->t.nbytes);
        if ((st = own(ld, copy))) return st;
        data = copy;
    }
    *out = (exa_mat){t->t.dtype, data, rows, cols, NULL};
    ld->m->n_params += rows * cols;
    ld->m->weight_bytes += (int64_t)t->t.nbytes;
    return progress(ld);
}

static exa_status bind_vec(loader *ld, const char *name, int64_t n, float **out) {
    src_tensor ts, *t = &ts;
    exa_status st = find_tensor(ld, name, t);
    if (st == EXA_OK) st = check_shape(ld, t, 1, n, 0);
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

/* --quant: converts every matrix (embedding and lm_head included, norms never) to the dtype
 * exa_quant_pick chooses, over a temporary thread pool. */
static exa_status convert_weights(loader *ld) {
    exa_model *m = ld->m;
    const exa_hparams *hp = &m->hp;
    const exa_quant_type q = ld->params->quant;
    if (q == EXA_QUANT_NONE) return EXA_OK;
    exa_pool *pool = exa_pool_init(0);
    if (!pool) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory (thread pool)");
    exa_status st = EXA_OK;
    const int L = hp->n_layer;
    for (int i = -2; i < L * EXA_LAYER_MATS && st == EXA_OK; i++) {
        exa_mat *w;
        exa_qrole role = EXA_QROLE_OTHER;
        int layer = i < 0 ? 0 : i / EXA_LAYER_MATS;
        if (i == -2) { w = &m->tok_emb; role = EXA_QROLE_EMBD; }
        else if (i == -1) { if (hp->tied) continue; w = &m->lm_head; role = EXA_QROLE_OUTPUT; }
        else {
            w = exa_layer_mat(&m->layers[layer], i % EXA_LAYER_MATS);
            if (w == &m->layers[layer].wv) role = EXA_QROLE_ATTN_V;
            if (w == &m->layers[layer].down) role = EXA_QROLE_FFN_DOWN;
        }
        exa_dtype to = exa_quant_pick(q, role, layer, L, hp->tied, w->cols, w->dtype);
        if (to == w->dtype) continue;
        void *buf;
        if ((st = exa_mat_convert(pool, w, to, &buf)) != EXA_OK) {
            st = exa_err(ld->err, ld->err_size, st, "%s: cannot convert a (%lld, %lld) matrix to %s: %s", ld->dir, (long long)w->rows,
                         (long long)w->cols, exa_dtype_name(to), st == EXA_ERR_NOMEM ? "out of memory" : "bad shape");
            break;
        }
        if ((st = own(ld, buf)) != EXA_OK) break;
        m->weight_bytes += (int64_t)(exa_dtype_row_bytes(to, w->cols) * (size_t)w->rows) -
                           (int64_t)(exa_dtype_row_bytes(w->dtype, w->cols) * (size_t)w->rows);
        w->dtype = to;
        w->data = buf;
    }
    if (hp->tied) m->lm_head = m->tok_emb;
    exa_pool_free(pool);
    return st;
}

/* Row-interleaved copies for the AVX-512 VNNI kernel (kernels/quant_x16.h) of every k-quant
 * matrix of the forward pass, when this CPU runs it: decoding and batched decoding are then
 * bounded by memory, not by the row kernels' arithmetic. The ggml-layout data stays where it is
 * (embedding lookups, export and the scalar reference read it); weights memory-mapped from a
 * GGUF file are handed back to the page cache (MADV_DONTNEED: they are re-read from the file if
 * ever touched again), so resident memory does not double. */
typedef struct { exa_mat **w; void **dst; int n; } pack_job;

static void pack_worker(void *arg, int ith, int nth) {
    pack_job *j = arg;
    for (int i = 0; i < j->n; i++) { /* every matrix split over the threads by row groups */
        const exa_mat *w = j->w[i];
        const int64_t groups = (w->rows + EXA_QX16_ROWS - 1) / EXA_QX16_ROWS;
        exa_qx16_pack_groups(exa_qtype_from_dtype(w->dtype), w->data, w->rows, w->cols, groups * ith / nth,
                             groups * (ith + 1) / nth, j->dst[i]);
    }
}

static exa_status pack_weights(loader *ld) {
    exa_model *m = ld->m;
    const int L = m->hp.n_layer;
    exa_mat **ws = calloc((size_t)L * EXA_LAYER_MATS + 1, sizeof *ws);
    void **dst = calloc((size_t)L * EXA_LAYER_MATS + 1, sizeof *dst);
    exa_status st = ws && dst ? EXA_OK : exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");
    int n = 0;
    size_t total = 0, *off = calloc((size_t)L * EXA_LAYER_MATS + 1, sizeof *off);
    if (!off && st == EXA_OK) st = exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");
    for (int i = -1; i < L * EXA_LAYER_MATS && st == EXA_OK; i++) {
        exa_mat *w = i < 0 ? &m->lm_head : exa_layer_mat(&m->layers[i / EXA_LAYER_MATS], i % EXA_LAYER_MATS);
        const size_t bytes = exa_dtype_is_quant(w->dtype) ? exa_qx16_bytes(exa_qtype_from_dtype(w->dtype), w->rows, w->cols) : 0;
        if (!bytes) continue;
        ws[n] = w;
        off[n++] = total;
        total += (bytes + 63) & ~(size_t)63;
    }
    /* one allocation on 2 MiB boundaries with transparent huge pages where the kernel allows
     * them: ~400 page faults instead of ~200,000 for a 1.2B model, a visible part of load time */
    uint8_t *pool_mem = NULL;
    if (st == EXA_OK && n) {
        const size_t huge = (size_t)2 << 20, size = (total + huge - 1) / huge * huge;
        if (size > EXA_MAX_ALLOC || posix_memalign((void **)&pool_mem, huge, size) != 0) pool_mem = NULL;
        if (!pool_mem) st = exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "%s: out of memory for the interleaved weights (%zu MiB)", ld->dir, total >> 20);
        else {
#ifdef MADV_HUGEPAGE
            madvise(pool_mem, size, MADV_HUGEPAGE);
#endif
            st = own(ld, pool_mem);
        }
        for (int i = 0; i < n && st == EXA_OK; i++) dst[i] = pool_mem + off[i];
        if (st == EXA_OK) m->repacked_bytes = (int64_t)total;
    }
    if (st == EXA_OK && n) {
        exa_pool *pool = exa_pool_init(0);
        pack_job j = {ws, dst, n};
        exa_pool_run(pool, pack_worker, &j); /* NULL pool: the calling thread does it all */
        exa_pool_free(pool);
        const int mapped = m->gguf && m->gguf->file.is_mmap;
        const long page = sysconf(_SC_PAGESIZE);
        for (int i = 0; i < n; i++) {
            ws[i]->packed = dst[i];
            const uint8_t *a = ws[i]->data, *e = a + exa_dtype_row_bytes(ws[i]->dtype, ws[i]->cols) * (size_t)ws[i]->rows;
            if (!mapped || a < m->gguf->base || e > m->gguf->base + m->gguf->size || ws[i]->data == m->tok_emb.data) continue;
            uintptr_t lo = ((uintptr_t)a + (uintptr_t)page - 1) & ~((uintptr_t)page - 1), hi = (uintptr_t)e & ~((uintptr_t)page - 1);
            if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
        }
        if (m->hp.tied) { /* lm_head is tok_emb: one packed copy serves the matmul */
            m->tok_emb.packed = m->lm_head.packed;
        }
    }
    free(ws);
    free(dst);
    free(off);
    return st;
}

/* GGUF metadata -> hparams (REF: spec §6.1; llama.cpp llama-model.cpp load_hparams) */
static exa_status gguf_hparams(loader *ld) {
    exa_model *m = ld->m;
    const exa_gguf *g = m->gguf;
    exa_gguf_hparams gh;
    exa_status st = exa_gguf_read_hparams(g, &gh, ld->err, ld->err_size);
    if (st != EXA_OK) return st;
    exa_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    hp->arch = gh.arch;
    const exa_gguf_tensor *emb = exa_gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2) return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: missing 2-D tensor 'token_embd.weight'", g->path);
    uint64_t V = gh.vocab_size ? gh.vocab_size : emb->ne[1];
    if (V == 0 || V > (16u << 20) || gh.embedding_length == 0 || gh.embedding_length > (1u << 17) || gh.block_count == 0 ||
        gh.block_count > EXA_MAX_LAYERS || gh.feed_forward_length == 0 || gh.feed_forward_length > (1u << 20) ||
        gh.head_count > 4096 || gh.head_count_kv == 0 || gh.head_count % gh.head_count_kv || gh.key_length == 0 ||
        gh.key_length > 4096 || gh.key_length % 2 || gh.value_length != gh.key_length || gh.rope_dimension_count != gh.key_length ||
        (uint64_t)gh.head_count * gh.key_length > (1u << 17))
        return exa_err(ld->err, ld->err_size, EXA_ERR_CONFIG, "%s: GGUF hyper-parameters out of range or unsupported (partial rotary, value_length != key_length)", g->path);
    if (!(gh.rms_eps >= 1e-12f && gh.rms_eps < 1.0f) || !(gh.rope_freq_base > 0.0f))
        return exa_err(ld->err, ld->err_size, EXA_ERR_CONFIG, "%s: GGUF layer_norm_rms_epsilon or rope.freq_base out of range", g->path);
    hp->n_vocab = (int)V;
    hp->n_embd = (int)gh.embedding_length;
    hp->n_layer = (int)gh.block_count;
    hp->n_head = (int)gh.head_count;
    hp->n_head_kv = (int)gh.head_count_kv;
    hp->head_dim = (int)gh.key_length;
    hp->n_ff = (int)gh.feed_forward_length;
    hp->n_ctx_train = (int)EXA_MIN(gh.context_length, 1u << 24);
    hp->norm_eps = gh.rms_eps;
    hp->rope_theta = gh.rope_freq_base;
    hp->rope_type = EXA_ROPE_DEFAULT;
    if (hp->arch == EXA_ARCH_EXAONE4) {
        if (gh.n_swa_pattern) {
            for (int i = 0; i < hp->n_layer; i++) hp->layer_sliding[i] = gh.swa_pattern[i];
            hp->sliding_window = (int)(gh.sliding_window ? gh.sliding_window : 4096);
        } else if (hp->n_layer == 64) { /* llama.cpp: hybrid SWA only for the 64-layer shape, period 4 */
            for (int i = 0; i < hp->n_layer; i++) hp->layer_sliding[i] = i % 4 < 3;
            hp->sliding_window = (int)(gh.sliding_window ? gh.sliding_window : 4096);
        }
        int any = 0;
        for (int i = 0; i < hp->n_layer; i++) any |= hp->layer_sliding[i];
        if (!any) hp->sliding_window = 0;
        if (any && hp->sliding_window > (1 << 24)) return exa_err(ld->err, ld->err_size, EXA_ERR_CONFIG, "%s: GGUF sliding_window out of range", g->path);
        /* spec §6.1: RoPE only on sliding layers when the model has any, else everywhere */
        for (int i = 0; i < hp->n_layer; i++) hp->layer_rope[i] = !any || hp->layer_sliding[i];
    } else {
        for (int i = 0; i < hp->n_layer; i++) hp->layer_rope[i] = 1;
    }
    hp->tied = exa_gguf_find_tensor(g, "output.weight") == NULL; /* llama.cpp falls back to token_embd */
    hp->bos_id = 1; hp->eos_id = 361; hp->pad_id = 0;
    uint32_t id;
    if (exa_gguf_get_u32(g, EXA_GGUF_KEY_TOK_BOS, &id) == EXA_OK && id < V) hp->bos_id = (int)id;
    if (exa_gguf_get_u32(g, EXA_GGUF_KEY_TOK_EOS, &id) == EXA_OK && id < V) hp->eos_id = (int)id;
    if (exa_gguf_get_u32(g, EXA_GGUF_KEY_TOK_PAD, &id) == EXA_OK && id < V) hp->pad_id = (int)id;
    return EXA_OK;
}

/* rope_freqs.weight (d/2 f32 divisors of the inverse frequencies; llama.cpp semantics) */
static exa_status gguf_rope_freqs(loader *ld) {
    exa_model *m = ld->m;
    const exa_gguf_tensor *t = exa_gguf_find_tensor(m->gguf, EXA_GGUF_TENSOR_ROPE_FREQS);
    if (!t) return EXA_OK;
    const int h = m->hp.head_dim / 2;
    if (t->type != EXA_GGML_F32 || t->n_dims != 1 || t->ne[0] != (uint64_t)h)
        return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: rope_freqs.weight must be F32 of head_dim/2 = %d entries", m->gguf->path, h);
    m->rope_factors = malloc((size_t)h * sizeof(float));
    if (!m->rope_factors) return exa_err(ld->err, ld->err_size, EXA_ERR_NOMEM, "out of memory");
    memcpy(m->rope_factors, t->data, (size_t)h * sizeof(float));
    for (int i = 0; i < h; i++)
        if (!(m->rope_factors[i] > 0.0f) || m->rope_factors[i] > 1e9f)
            return exa_err(ld->err, ld->err_size, EXA_ERR_FORMAT, "%s: rope_freqs.weight[%d] is not a positive number", m->gguf->path, i);
    m->hp.rope_freq_factors = m->rope_factors;
    return EXA_OK;
}

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

/* A folder with exactly one *.gguf and no safetensors names that file: writes it to out and
 * returns 1; 0 if the folder is a HF folder; -1 (err set) if it has several .gguf files. */
static int folder_gguf(const char *dir, char *out, size_t out_size, char *err, size_t err_size) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n_gguf = 0, n_st = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (has_suffix(e->d_name, ".gguf")) {
            if (!n_gguf++ && !exa_path_join(out, out_size, dir, e->d_name)) n_gguf = 99;
        } else if (has_suffix(e->d_name, ".safetensors") || !strcmp(e->d_name, "model.safetensors.index.json")) n_st++;
    }
    closedir(d);
    if (n_st || !n_gguf) return 0;
    if (n_gguf > 1) {
        exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: the folder holds several .gguf files and no safetensors; name the file", dir);
        return -1;
    }
    return 1;
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
    char gpath[4096];
    int is_gguf = 0;
    if (S_ISDIR(sb.st_mode)) {
        is_gguf = folder_gguf(path, gpath, sizeof gpath, err, err_size);
        if (is_gguf < 0) return EXA_ERR_INVALID_ARG;
    } else {
        if (strlen(path) >= sizeof gpath) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: path too long", path);
        snprintf(gpath, sizeof gpath, "%s", path);
        is_gguf = 1;
    }

    exa_model *m = calloc(1, sizeof *m);
    if (!m) return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory");
    loader ld = {.m = m, .dir = is_gguf ? gpath : path, .params = params, .err = err, .err_size = err_size};
    struct json_object *index_root = NULL;
    exa_status st = EXA_OK;
    if (is_gguf) {
        st = exa_gguf_open(gpath, params->use_mmap, &m->gguf, err, err_size);
        if (st == EXA_OK) st = gguf_hparams(&ld);
        if (st == EXA_OK) st = gguf_rope_freqs(&ld);
    } else {
        char cpath[4096];
        char *text = NULL;
        size_t len = 0;
        if (!exa_path_join(cpath, sizeof cpath, path, "config.json")) st = exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: path too long", path);
        if (st == EXA_OK) st = exa_file_read(cpath, MAX_CONFIG_BYTES, &text, &len, err, err_size);
        if (st == EXA_OK) st = exa_config_parse(text, len, cpath, &m->hp, err, err_size);
        free(text);
        if (st == EXA_OK) st = open_weights(&ld, &index_root);
    }
    if (st == EXA_OK) st = bind_all(&ld);
    json_object_put(index_root);
    m->owned = ld.owned; /* freed with the model from here on */
    m->n_owned = ld.n_owned;
    /* LoRA: merge a PEFT adapter into the adapted matrices (owned copies in their dtype; see
     * lora_apply.c), before any --quant conversion, which then quantizes the merged weights */
    if (st == EXA_OK && params->lora_dir) {
        st = exa_lora_apply_model(m, params->lora_dir, err, err_size);
        ld.owned = m->owned; /* it appended to m->owned */
        ld.n_owned = ld.cap_owned = m->n_owned;
    }
    if (st == EXA_OK) st = convert_weights(&ld);
    if (st == EXA_OK && !params->keep_layout) st = pack_weights(&ld);
    m->owned = ld.owned;
    m->n_owned = ld.n_owned;
    if (st != EXA_OK) {
        exa_model_free(m);
        return st;
    }
    m->main_dtype = m->layers[0].gate.dtype;
    m->load_seconds = exa_time_now() - t0;
    *out = m;
    return EXA_OK;
}

void exa_model_free(exa_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_files; i++) exa_st_close(m->files[i]);
    exa_gguf_close(m->gguf);
    free(m->rope_factors);
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
    info->rope_llama3 = hp->rope_type == EXA_ROPE_LLAMA3 || hp->rope_freq_factors != NULL;
    info->bos_id = hp->bos_id;
    info->eos_id = hp->eos_id;
    info->pad_id = hp->pad_id;
    info->n_params = m->n_params;
    info->weight_bytes = m->weight_bytes;
    info->repacked_bytes = m->repacked_bytes;
    info->load_seconds = m->load_seconds;
}
