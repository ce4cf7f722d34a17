/* train_lora.c — LoRA adapters for the training model (PEFT layout: A (r, in), B (out, r),
 * y = x·Wᵀ + (alpha/r)·(x·Aᵀ)·Bᵀ, base frozen), merging, and loading base weights from a
 * Hugging Face folder (single or sharded safetensors, F32/BF16/F16). */
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "train/train_io.h"
#include "train/train_model.h"

void exa_tm_lora_target(const exa_tm_model *m, int l, int t, size_t *off, int *in, int *out) {
    const exa_tm_config *c = &m->cfg;
    const exa_tm_layer *L = &m->layers[l];
    int D = c->dim, F = c->ffn, Cq = c->n_head * c->head_dim, Ckv = c->n_kv * c->head_dim;
    switch (t) {
    case EXA_LORA_Q: *off = L->wqkv; *in = D; *out = Cq; break;
    case EXA_LORA_K: *off = L->wqkv + (size_t)Cq * D; *in = D; *out = Ckv; break;
    case EXA_LORA_V: *off = L->wqkv + (size_t)(Cq + Ckv) * D; *in = D; *out = Ckv; break;
    case EXA_LORA_O: *off = L->wo; *in = Cq; *out = D; break;
    case EXA_LORA_GATE: *off = L->wgu; *in = D; *out = F; break;
    case EXA_LORA_UP: *off = L->wgu + (size_t)F * D; *in = D; *out = F; break;
    default: *off = L->wd; *in = F; *out = D; break;
    }
}

static const exa_tm_tensor *tensor_at(const exa_tm_model *m, size_t off) {
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].offset == off) return &m->tensors[i];
    return NULL;
}

exa_status exa_tm_lora_enable(exa_tm_model *m, const exa_tm_lora_cfg *lc, char *err, size_t errsz) {
    if (lc->r < 1 || lc->r > 4096 || !(lc->alpha > 0) || !(lc->targets & EXA_LORA_ALL))
        return exa_err(err, errsz, EXA_ERR_INVALID_ARG, "lora: rank must be 1..4096, alpha > 0 and at least one target");
    m->lora = *lc;
    int L = m->cfg.n_layer, N = m->B * m->T;
    m->ltensors = calloc((size_t)L * EXA_LORA_NT * 2, sizeof *m->ltensors);
    if (!m->ltensors) return exa_err(err, errsz, EXA_ERR_NOMEM, "lora: out of memory");
    m->n_lparams = 0;
    int maxin = 0;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < EXA_LORA_NT; t++) {
            m->lA[l][t] = m->lB[l][t] = SIZE_MAX;
            if (!(lc->targets >> t & 1)) continue;
            size_t off;
            int in, out;
            exa_tm_lora_target(m, l, t, &off, &in, &out);
            if (in > maxin) maxin = in;
            const exa_tm_tensor *bt = tensor_at(m, off);
            char mod[96];
            snprintf(mod, sizeof mod, "%.*s", (int)(strlen(bt->name) - strlen(".weight")), bt->name);
            for (int ab = 0; ab < 2; ab++) {
                exa_tm_tensor *x = &m->ltensors[m->n_ltensors++];
                snprintf(x->name, sizeof x->name, "base_model.model.%s.lora_%c.weight", mod, ab ? 'B' : 'A');
                x->ndim = 2;
                x->shape[0] = ab ? out : lc->r;
                x->shape[1] = ab ? lc->r : in;
                x->numel = (size_t)x->shape[0] * (size_t)x->shape[1];
                x->offset = m->n_lparams;
                x->decay = 1;
                if (ab) m->lB[l][t] = x->offset; else m->lA[l][t] = x->offset;
                m->n_lparams += x->numel;
            }
        }
    m->lparams = exa_aligned_alloc(m->n_lparams * sizeof(float));
    m->lgrads = exa_aligned_alloc(m->n_lparams * sizeof(float));
    m->lu = exa_aligned_alloc((size_t)L * EXA_LORA_NT * N * lc->r * sizeof(float));
    m->lg = exa_aligned_alloc((size_t)N * lc->r * sizeof(float));
    if (!m->lparams || !m->lgrads || !m->lu || !m->lg) return exa_err(err, errsz, EXA_ERR_NOMEM, "lora: out of memory");
    memset(m->lparams, 0, m->n_lparams * sizeof(float));
    memset(m->lgrads, 0, m->n_lparams * sizeof(float));
    free(m->grads); /* base frozen */
    m->grads = NULL;
    /* FLOPs per token: the frozen base needs forward + dX only (4·N_matmul), each adapter 6·r·(in+out) */
    (void)maxin;
    double N_tok = (double)N, att = m->flops_fwdbwd / N_tok - 6.0 * m->nmat;
    m->flops_fwdbwd = N_tok * (4.0 * m->nmat + att + 6.0 * (double)m->n_lparams);
    return EXA_OK;
}

void exa_tm_lora_init_weights(exa_tm_model *m, uint64_t seed) {
    exa_trng r;
    exa_trng_seed(&r, seed);
    for (int i = 0; i < m->n_ltensors; i++) {
        const exa_tm_tensor *t = &m->ltensors[i];
        float *p = m->lparams + t->offset;
        int isA = strstr(t->name, "lora_A") != NULL;
        float bound = isA ? 1.0f / sqrtf((float)t->shape[1]) : 0.0f;
        for (size_t k = 0; k < t->numel; k++) p[k] = isA ? (float)((2.0 * exa_trng_uniform(&r) - 1.0) * bound) : 0.0f;
    }
}

void exa_tm_lora_merge(const exa_tm_model *m, float *dst) {
    memcpy(dst, m->params, m->n_params * sizeof(float));
    if (!m->lparams) return;
    float s = m->lora.alpha / (float)m->lora.r;
    for (int l = 0; l < m->cfg.n_layer; l++)
        for (int t = 0; t < EXA_LORA_NT; t++) {
            if (m->lA[l][t] == SIZE_MAX) continue;
            size_t off;
            int in, out;
            exa_tm_lora_target(m, l, t, &off, &in, &out);
            const float *A = m->lparams + m->lA[l][t], *B = m->lparams + m->lB[l][t];
            for (int o = 0; o < out; o++)
                for (int i = 0; i < in; i++) {
                    float acc = 0.0f;
                    for (int k = 0; k < m->lora.r; k++) acc += B[(size_t)o * m->lora.r + k] * A[(size_t)k * in + i];
                    dst[off + (size_t)o * in + i] += s * acc;
                }
        }
}

exa_status exa_tm_load_hf(exa_tm_model *m, const char *dir, char *err, size_t errsz) {
    char p[4096];
    int nfiles = 0;
    char **files = NULL;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (exa_file_exists(p)) {
        files = calloc(1, sizeof *files);
        if (!files || !(files[0] = strdup(p))) { free(files); return exa_err(err, errsz, EXA_ERR_NOMEM, "out of memory"); }
        nfiles = 1;
    } else {
        snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
        char *text;
        size_t n;
        exa_status rc = exa_file_read(p, 64 << 20, &text, &n, err, errsz);
        if (rc) return exa_err(err, errsz, EXA_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json", dir);
        json_object *root = json_tokener_parse(text), *wm;
        free(text);
        if (!root || !json_object_object_get_ex(root, "weight_map", &wm) || !json_object_is_type(wm, json_type_object)) {
            json_object_put(root);
            return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: no weight_map object", p);
        }
        files = calloc((size_t)json_object_object_length(wm) + 1, sizeof *files);
        json_object_object_foreach(wm, k, v) {
            (void)k;
            const char *f = json_object_get_string(v);
            if (!f || strchr(f, '/')) continue;
            char q[4096];
            snprintf(q, sizeof q, "%s/%s", dir, f);
            int seen = 0;
            for (int i = 0; i < nfiles; i++) seen |= !strcmp(files[i], q);
            if (!seen) files[nfiles++] = strdup(q);
        }
        json_object_put(root);
    }
    exa_tst_file *sf = calloc((size_t)nfiles, sizeof *sf);
    exa_status rc = sf ? EXA_OK : exa_err(err, errsz, EXA_ERR_NOMEM, "out of memory");
    int opened = 0;
    for (; !rc && opened < nfiles; opened++)
        if ((rc = exa_tst_open(&sf[opened], files[opened], err, errsz))) break;
    for (int i = 0; !rc && i < m->n_tensors; i++) {
        const exa_tm_tensor *t = &m->tensors[i];
        const struct exa_tst_tensor *x = NULL;
        int fi = 0;
        for (; fi < opened && !x; fi++) x = exa_tst_get(&sf[fi], t->name);
        if (!x) { rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor %s is missing", dir, t->name); break; }
        int64_t ne = 1;
        for (int k = 0; k < x->ndim; k++) ne *= x->shape[k];
        if (x->ndim != t->ndim || x->shape[0] != t->shape[0] || (t->ndim == 2 && x->shape[1] != t->shape[1]) || (size_t)ne != t->numel) {
            rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor %s has the wrong shape for config.json", dir, t->name);
            break;
        }
        if (exa_tst_to_f32(&sf[fi - 1], x, m->params + t->offset)) {
            rc = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: tensor %s is not F32/BF16/F16", dir, t->name);
            break;
        }
    }
    for (int i = 0; i < opened; i++) exa_tst_close(&sf[i]);
    free(sf);
    for (int i = 0; i < nfiles; i++) free(files[i]);
    free(files);
    return rc;
}
