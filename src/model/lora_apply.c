/* lora_apply.c — reading, validating and merging PEFT LoRA adapters (see lora_apply.h). The
 * adapter files are hostile input: the safetensors reader checks the header, and every tensor
 * name, dtype and shape and the config's r / lora_alpha are checked before anything is used. */
#include "model/lora_apply.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/safetensors.h"

#define MAX_ADAPTER_CONFIG (1u << 20)

typedef struct lora_mod {
    char *name;                 /* HF module, e.g. model.layers.0.self_attn.q_proj */
    const exa_st_tensor *A, *B; /* (r, in), (out, r) */
    int used;
} lora_mod;

struct exa_lora {
    char dir[4096], file[4200];
    exa_st_file *st;
    int r;
    float scale;
    lora_mod *mods;
    int n_mods;
};

/* row r (cols values) of a matrix of dtype t to f32; bytewise, so the data may be unaligned */
static void row_f32(exa_dtype t, const void *w, int64_t cols, int64_t r, float *out) {
    const uint8_t *p = (const uint8_t *)w + (size_t)r * (size_t)cols * exa_dtype_size(t);
    if (t == EXA_DTYPE_F32) { memcpy(out, p, (size_t)cols * sizeof(float)); return; }
    for (int64_t i = 0; i < cols; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        out[i] = t == EXA_DTYPE_BF16 ? exa_bf16_to_f32(h) : exa_f16_to_f32(h);
    }
}

void exa_lora_close(exa_lora *a) {
    if (!a) return;
    for (int i = 0; i < a->n_mods; i++) free(a->mods[i].name);
    free(a->mods);
    exa_st_close(a->st);
    free(a);
}

static exa_status read_config(exa_lora *a, const char *path, double *alpha, json_object **targets_out, char *err, size_t errsz) {
    char *text = NULL;
    size_t len;
    exa_status st = exa_file_read(path, MAX_ADAPTER_CONFIG, &text, &len, err, errsz);
    if (st) return st;
    json_object *root = json_tokener_parse(text), *v;
    free(text);
    if (!root || !json_object_is_type(root, json_type_object)) { json_object_put(root); return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: not a JSON object", path); }
    st = EXA_OK;
    if (json_object_object_get_ex(root, "peft_type", &v) && (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "LORA")))
        st = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: peft_type must be \"LORA\"", path);
    else if (!json_object_object_get_ex(root, "r", &v) || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 || json_object_get_int64(v) > 65536)
        st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: \"r\" must be an integer in [1, 65536]", path);
    if (!st) a->r = json_object_get_int(v);
    if (!st && (!json_object_object_get_ex(root, "lora_alpha", &v) || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
                !(json_object_get_double(v) > 0 && json_object_get_double(v) < 1e9)))
        st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: \"lora_alpha\" must be a positive number", path);
    if (!st) *alpha = json_object_get_double(v);
    if (!st && json_object_object_get_ex(root, "fan_in_fan_out", &v) && json_object_get_boolean(v))
        st = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: fan_in_fan_out adapters (Conv1D layout) are not supported", path);
    if (!st && json_object_object_get_ex(root, "use_dora", &v) && json_object_get_boolean(v))
        st = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: DoRA adapters are not supported", path);
    if (!st && json_object_object_get_ex(root, "bias", &v) && json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), "none"))
        st = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: bias \"%s\" is not supported (EXAONE has no biases)", path, json_object_get_string(v));
    for (int k = 0; k < 2 && !st; k++) {
        const char *key = k ? "alpha_pattern" : "rank_pattern";
        if (json_object_object_get_ex(root, key, &v) && json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0)
            st = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: per-module %s is not supported", path, key);
    }
    int rs = !st && json_object_object_get_ex(root, "use_rslora", &v) && json_object_get_boolean(v);
    if (!st) a->scale = (float)(*alpha / (rs ? sqrt((double)a->r) : (double)a->r));
    if (!st && json_object_object_get_ex(root, "target_modules", &v)) *targets_out = json_object_get(v);
    json_object_put(root);
    return st;
}

/* 1 if the last component of module is listed in target_modules (list) or matches the string */
static int targeted(json_object *targets, const char *module) {
    if (!targets) return 1;
    const char *last = strrchr(module, '.');
    last = last ? last + 1 : module;
    if (json_object_is_type(targets, json_type_string)) return 1; /* a regular expression in PEFT; not checked */
    if (!json_object_is_type(targets, json_type_array)) return 0;
    for (size_t i = 0; i < json_object_array_length(targets); i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(targets, i));
        if (t && (!strcmp(t, last) || !strcmp(t, module))) return 1;
    }
    return 0;
}

exa_status exa_lora_open(const char *dir, exa_lora **out, char *err, size_t errsz) {
    *out = NULL;
    exa_lora *a = calloc(1, sizeof *a);
    if (!a) return exa_err(err, errsz, EXA_ERR_NOMEM, "out of memory");
    char p[4300];
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    snprintf(p, sizeof p, "%s/adapter_config.json", dir);
    if (!exa_file_exists(p)) { /* an exaone finetune/train output folder: use its latest checkpoint */
        char lp[4300], *lat = NULL;
        size_t n;
        snprintf(lp, sizeof lp, "%s/latest", dir);
        if (exa_file_exists(lp) && exa_file_read(lp, 4096, &lat, &n, NULL, 0) == EXA_OK) {
            lat[strcspn(lat, "\r\n")] = 0;
            if (!strchr(lat, '/')) snprintf(a->dir, sizeof a->dir, "%s/%s", dir, lat);
            free(lat);
            snprintf(p, sizeof p, "%s/adapter_config.json", a->dir);
        }
        if (!exa_file_exists(p)) { free(a); return exa_err(err, errsz, EXA_ERR_IO, "%s: not a LoRA adapter folder (no adapter_config.json)", dir); }
    }
    double alpha = 0;
    json_object *targets = NULL;
    exa_status st = read_config(a, p, &alpha, &targets, err, errsz);
    snprintf(a->file, sizeof a->file, "%s/adapter_model.safetensors", a->dir);
    if (!st) st = exa_st_open(a->file, 1, &a->st, err, errsz);
    if (!st && !(a->mods = calloc((size_t)a->st->n_tensors + 1, sizeof *a->mods))) st = exa_err(err, errsz, EXA_ERR_NOMEM, "out of memory");
    static const char pre[] = "base_model.model.";
    for (int i = 0; !st && i < a->st->n_tensors; i++) {
        const exa_st_tensor *t = &a->st->tensors[i];
        size_t nl = strlen(t->name);
        int isA = nl > 19 && !strcmp(t->name + nl - 14, ".lora_A.weight"), isB = nl > 19 && !strcmp(t->name + nl - 14, ".lora_B.weight");
        if (strncmp(t->name, pre, sizeof pre - 1) || !(isA || isB) || nl - 14 <= sizeof pre - 1) {
            st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: unexpected tensor '%s' (expected base_model.model.<module>.lora_A/lora_B.weight)", a->file, t->name);
            break;
        }
        if (!t->dtype_ok || t->t.ndim != 2) {
            st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor '%s' must be a 2-D F32/BF16/F16 matrix", a->file, t->name);
            break;
        }
        if ((isA ? t->t.shape[0] : t->t.shape[1]) != a->r) {
            st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor '%s' has rank %lld but adapter_config.json says r = %d", a->file, t->name,
                         (long long)(isA ? t->t.shape[0] : t->t.shape[1]), a->r);
            break;
        }
        size_t ml = nl - 14 - (sizeof pre - 1);
        int k = 0;
        while (k < a->n_mods && (strlen(a->mods[k].name) != ml || strncmp(a->mods[k].name, t->name + sizeof pre - 1, ml))) k++;
        if (k == a->n_mods) {
            if (!(a->mods[k].name = strndup(t->name + sizeof pre - 1, ml))) { st = exa_err(err, errsz, EXA_ERR_NOMEM, "out of memory"); break; }
            a->n_mods++;
            if (!targeted(targets, a->mods[k].name)) {
                st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor '%s' adapts a module not in target_modules", a->file, t->name);
                break;
            }
        }
        if (isA) a->mods[k].A = t; else a->mods[k].B = t;
    }
    for (int k = 0; !st && k < a->n_mods; k++)
        if (!a->mods[k].A || !a->mods[k].B)
            st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: module '%s' has lora_%c but no lora_%c", a->file, a->mods[k].name,
                         a->mods[k].A ? 'A' : 'B', a->mods[k].A ? 'B' : 'A');
    if (!st && a->n_mods == 0) st = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: no LoRA tensors", a->file);
    json_object_put(targets);
    if (st) { exa_lora_close(a); return st; }
    *out = a;
    return EXA_OK;
}

exa_status exa_lora_merge_tensor(exa_lora *a, const char *name, exa_dtype dt, const void *w, int64_t rows, int64_t cols,
                                 void **out, char *err, size_t errsz) {
    *out = NULL;
    size_t nl = strlen(name);
    if (nl < 8 || strcmp(name + nl - 7, ".weight")) return EXA_OK;
    lora_mod *md = NULL;
    for (int k = 0; k < a->n_mods && !md; k++)
        if (strlen(a->mods[k].name) == nl - 7 && !strncmp(a->mods[k].name, name, nl - 7)) md = &a->mods[k];
    if (!md) return EXA_OK;
    const exa_st_tensor *A = md->A, *B = md->B;
    if (A->t.shape[1] != cols || B->t.shape[0] != rows)
        return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: '%s' needs lora_A [%d, %lld] and lora_B [%lld, %d], got [%lld, %lld] and [%lld, %lld]",
                       a->file, md->name, a->r, (long long)cols, (long long)rows, a->r, (long long)A->t.shape[0],
                       (long long)A->t.shape[1], (long long)B->t.shape[0], (long long)B->t.shape[1]);
    int r = a->r;
    float *Af = malloc(sizeof(float) * (size_t)r * (size_t)cols), *brow = malloc(sizeof(float) * (size_t)r),
          *acc = malloc(sizeof(float) * (size_t)cols);
    void *dst = exa_aligned_alloc((size_t)rows * (size_t)cols * exa_dtype_size(dt));
    if (!Af || !brow || !acc || !dst) {
        free(Af); free(brow); free(acc); free(dst);
        return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory merging '%s'", a->file, md->name);
    }
    /* tensors may be unaligned in their files: row_f32 reads bytewise */
    for (int k = 0; k < r; k++) row_f32(A->t.dtype, A->t.data, cols, k, Af + (size_t)k * cols);
    for (int64_t o = 0; o < rows; o++) {
        row_f32(B->t.dtype, B->t.data, r, o, brow);
        row_f32(dt, w, cols, o, acc);
        /* W'[o] = W[o] + scale · Σ_k B[o,k]·A[k]; the same order of operations everywhere */
        for (int k = 0; k < r; k++) {
            float b = a->scale * brow[k];
            const float *ak = Af + (size_t)k * cols;
            for (int64_t i = 0; i < cols; i++) acc[i] += b * ak[i];
        }
        for (int64_t i = 0; i < cols; i++) {
            size_t at = (size_t)o * (size_t)cols + (size_t)i;
            if (dt == EXA_DTYPE_F32) ((float *)dst)[at] = acc[i];
            else if (dt == EXA_DTYPE_BF16) ((uint16_t *)dst)[at] = exa_f32_to_bf16(acc[i]);
            else ((uint16_t *)dst)[at] = exa_f32_to_f16(acc[i]);
        }
    }
    free(Af); free(brow); free(acc);
    md->used = 1;
    *out = dst;
    return EXA_OK;
}

exa_status exa_lora_check_all_used(const exa_lora *a, char *err, size_t errsz) {
    for (int k = 0; k < a->n_mods; k++)
        if (!a->mods[k].used)
            return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: module '%s' is not a LoRA-adaptable matrix of this model (wrong base model?)", a->file, a->mods[k].name);
    return EXA_OK;
}

exa_status exa_lora_apply_model(exa_model *m, const char *dir, char *err, size_t errsz) {
    exa_lora *a;
    exa_status st = exa_lora_open(dir, &a, err, errsz);
    if (st) return st;
    const int is3 = m->hp.arch == EXA_ARCH_EXAONE;
    static const char *const n4[EXA_LAYER_MATS] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                      "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    static const char *const n3[EXA_LAYER_MATS] = {"attn.attention.q_proj", "attn.attention.k_proj", "attn.attention.v_proj",
                                      "attn.attention.out_proj", "mlp.c_fc_0", "mlp.c_fc_1", "mlp.c_proj"};
    for (int l = 0; l < m->hp.n_layer && !st; l++) {
        for (int k = 0; k < EXA_LAYER_MATS && !st; k++) {
            char name[256];
            snprintf(name, sizeof name, is3 ? "transformer.h.%d.%s.weight" : "model.layers.%d.%s.weight", l, is3 ? n3[k] : n4[k]);
            exa_mat *w = exa_layer_mat(&m->layers[l], k);
            if (w->dtype != EXA_DTYPE_F32 && w->dtype != EXA_DTYPE_BF16 && w->dtype != EXA_DTYPE_F16) {
                st = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: cannot apply LoRA to '%s' stored as %s", dir, name, exa_dtype_name(w->dtype));
                break;
            }
            void *merged;
            if ((st = exa_lora_merge_tensor(a, name, w->dtype, w->data, w->rows, w->cols, &merged, err, errsz)) || !merged) continue;
            void **no = realloc(m->owned, sizeof *no * (size_t)(m->n_owned + 1));
            if (!no) { free(merged); st = exa_err(err, errsz, EXA_ERR_NOMEM, "out of memory"); break; }
            m->owned = no;
            m->owned[m->n_owned++] = merged;
            w->data = merged;
        }
    }
    if (!st) st = exa_lora_check_all_used(a, err, errsz);
    exa_lora_close(a);
    return st;
}
