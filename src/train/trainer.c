/* trainer.c — the training loop behind `exaone train` (see trainer.h and docs/train.md):
 * data → micro-batches → forward/backward (train_model.c) → global-norm clipping → AdamW →
 * validation, CSV/PNG loss curve, atomic checkpoint folders, bit-exact resume. */
#include "train/trainer.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"
#include "core/threadpool.h"
#include "train/train_io.h"
#include "train/train_model.h"

void exa_train_hparams_default(exa_train_hparams *hp) {
    memset(hp, 0, sizeof *hp);
    hp->batch_size = 8; hp->seq_len = 256; hp->grad_accum = 1;
    hp->lr = 6e-4; hp->min_lr = 6e-5; hp->warmup_steps = 100; hp->total_steps = 1000;
    hp->weight_decay = 0.1; hp->grad_clip = 1.0; hp->beta1 = 0.9; hp->beta2 = 0.95; hp->adam_eps = 1e-8;
    hp->eval_interval = 100; hp->eval_batches = 10; hp->checkpoint_interval = 500; hp->seed = 1337;
}

exa_status exa_train_hparams_parse(const char *json, const char *path, exa_train_hparams *hp, char *err, size_t errsz) {
    exa_train_hparams_default(hp);
    json_object *root = json_tokener_parse(json), *t;
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: not a JSON object", path);
    }
    if (!json_object_object_get_ex(root, "train", &t) || !json_object_is_type(t, json_type_object)) {
        json_object_put(root);
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: missing the \"train\" object (batch_size, seq_len, lr, total_steps, ...)", path);
    }
    struct { const char *k; int is_int; void *p; double lo, hi; } keys[] = {
        {"batch_size", 1, &hp->batch_size, 1, 1 << 16}, {"seq_len", 1, &hp->seq_len, 1, 1 << 20},
        {"grad_accum", 1, &hp->grad_accum, 1, 1 << 16}, {"lr", 0, &hp->lr, 0, 10},
        {"min_lr", 0, &hp->min_lr, 0, 10}, {"warmup_steps", 1, &hp->warmup_steps, 0, 1e9},
        {"total_steps", 1, &hp->total_steps, 1, 1e9}, {"weight_decay", 0, &hp->weight_decay, 0, 10},
        {"grad_clip", 0, &hp->grad_clip, 0, 1e9}, {"beta1", 0, &hp->beta1, 0, 0.999999},
        {"beta2", 0, &hp->beta2, 0, 0.99999999}, {"adam_eps", 0, &hp->adam_eps, 0, 1},
        {"eval_interval", 1, &hp->eval_interval, 0, 1e9}, {"eval_batches", 1, &hp->eval_batches, 0, 1e6},
        {"checkpoint_interval", 1, &hp->checkpoint_interval, 0, 1e9}, {"threads", 1, &hp->threads, 0, 1024},
        {"keep_checkpoints", 1, &hp->keep_checkpoints, 0, 1e9},
    };
    exa_status rc = EXA_OK;
    json_object_object_foreach(t, key, val) {
        int found = 0;
        for (size_t i = 0; i < EXA_ARRAY_LEN(keys) && !found; i++) {
            if (strcmp(key, keys[i].k)) continue;
            found = 1;
            if (!json_object_is_type(val, json_type_int) && (keys[i].is_int || !json_object_is_type(val, json_type_double))) {
                rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: train.%s must be %s", path, key, keys[i].is_int ? "an integer" : "a number");
                break;
            }
            double x = json_object_get_double(val);
            if (!(x >= keys[i].lo && x <= keys[i].hi)) {
                rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: train.%s = %g is outside [%g, %g]", path, key, x, keys[i].lo, keys[i].hi);
                break;
            }
            if (keys[i].is_int) *(int *)keys[i].p = (int)x;
            else *(double *)keys[i].p = x;
        }
        if (rc) break;
        if (found) continue;
        if (!strcmp(key, "seed") && json_object_is_type(val, json_type_int)) { hp->seed = (uint64_t)json_object_get_int64(val); continue; }
        if (!strcmp(key, "lora") && json_object_is_type(val, json_type_object)) {
            json_object *x;
            hp->lora_r = 8;
            hp->lora_targets = EXA_LORA_ALL;
            if (json_object_object_get_ex(val, "r", &x)) hp->lora_r = json_object_get_int(x);
            hp->lora_alpha = hp->lora_r;
            if (json_object_object_get_ex(val, "alpha", &x)) hp->lora_alpha = json_object_get_double(x);
            if (json_object_object_get_ex(val, "targets", &x)) {
                static const char *const names[EXA_LORA_NT][2] = {{"q_proj", "q_proj"}, {"k_proj", "k_proj"}, {"v_proj", "v_proj"},
                    {"o_proj", "out_proj"}, {"gate_proj", "c_fc_0"}, {"up_proj", "c_fc_1"}, {"down_proj", "c_proj"}};
                hp->lora_targets = 0;
                int n = json_object_is_type(x, json_type_array) ? (int)json_object_array_length(x) : -1;
                for (int i = 0; i < n; i++) {
                    const char *t = json_object_get_string(json_object_array_get_idx(x, (size_t)i));
                    int hit = 0;
                    for (int k = 0; k < EXA_LORA_NT && t; k++)
                        if (!strcmp(t, names[k][0]) || !strcmp(t, names[k][1])) { hp->lora_targets |= 1u << k; hit = 1; }
                    if (!hit) n = -1;
                }
                if (n < 1) { rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: train.lora.targets must list q_proj k_proj v_proj o_proj gate_proj up_proj down_proj", path); break; }
            }
            json_object_object_foreach(val, lk, lv) {
                (void)lv;
                if (strcmp(lk, "r") && strcmp(lk, "alpha") && strcmp(lk, "targets")) { rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: unknown train.lora.%s", path, lk); break; }
            }
            if (rc) break;
            if (hp->lora_r < 1 || hp->lora_r > 4096 || !(hp->lora_alpha > 0)) { rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: train.lora needs 1 <= r <= 4096 and alpha > 0", path); break; }
            continue;
        }
        if (!strcmp(key, "save_dtype") && json_object_is_type(val, json_type_string)) {
            const char *s = json_object_get_string(val);
            if (!strcmp(s, "bfloat16") || !strcmp(s, "bf16")) { hp->save_bf16 = 1; continue; }
            if (!strcmp(s, "float32") || !strcmp(s, "f32")) { hp->save_bf16 = 0; continue; }
        }
        rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: unknown or invalid train.%s", path, key);
        break;
    }
    json_object_put(root);
    if (!rc && (int64_t)hp->batch_size * hp->seq_len > (1 << 22))
        rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: batch_size x seq_len is too large", path);
    return rc;
}

double exa_train_lr(const exa_train_hparams *hp, int step) {
    if (step < hp->warmup_steps) return hp->lr * (step + 1) / hp->warmup_steps;
    if (step >= hp->total_steps) return hp->min_lr;
    double r = (double)(step - hp->warmup_steps) / (double)(hp->total_steps - hp->warmup_steps);
    return hp->min_lr + 0.5 * (1.0 + cos(M_PI * r)) * (hp->lr - hp->min_lr);
}

/* ---- optimizer ---- */
typedef struct {
    exa_tm_model *m;
    float *P, *G;             /* trainable parameters / gradients (base or LoRA) */
    size_t n;
    const exa_tm_tensor *T;
    int nt;
    float *mom, *var;
    double *part;
    size_t nchunk;
    float lr, b1, b2, eps, wd, gscale, bc1, bc2;
} opt_job;

#define NCHUNK 65536

static void sumsq_w(void *p, int ith, int nth) {
    opt_job *j = p;
    int b, e;
    exa_split((int)j->nchunk, ith, nth, &b, &e);
    for (int c = b; c < e; c++) {
        size_t lo = (size_t)c * NCHUNK, hi = EXA_MIN(j->n, lo + NCHUNK);
        double s = 0.0;
        for (size_t i = lo; i < hi; i++) s += (double)j->G[i] * j->G[i];
        j->part[c] = s;
    }
}

static void adamw_w(void *p, int ith, int nth) {
    opt_job *j = p;
    int b, e;
    exa_split((int)j->nchunk, ith, nth, &b, &e);
    size_t lo = (size_t)b * NCHUNK, hi = EXA_MIN(j->n, (size_t)e * NCHUNK);
    for (int t = 0; t < j->nt; t++) {
        const exa_tm_tensor *tt = &j->T[t];
        size_t a = EXA_MAX(lo, tt->offset), z = EXA_MIN(hi, tt->offset + tt->numel);
        float wd = tt->decay ? j->wd : 0.0f;
        for (size_t i = a; i < z; i++) {
            float g = j->G[i] * j->gscale;
            float mm = j->b1 * j->mom[i] + (1.0f - j->b1) * g;
            float vv = j->b2 * j->var[i] + (1.0f - j->b2) * g * g;
            j->mom[i] = mm;
            j->var[i] = vv;
            float mh = mm / j->bc1, vh = vv / j->bc2;
            j->P[i] -= j->lr * (mh / (sqrtf(vh) + j->eps) + wd * j->P[i]);
        }
    }
}

/* ---- run state ---- */
typedef struct {
    const exa_train_opts *o;
    exa_train_hparams hp;
    exa_tm_model m;
    exa_pool *pool;
    exa_loader tr, va;
    int have_val;
    float *mom, *var;
    exa_trng rng;
    int step;
    int64_t tokens;
    double *hx, *hy, *hv;
    int hn, hcap;
    char *raw_config;
    int lora;
    float *P, *G;             /* trainable buffers */
    size_t n_train;
    const exa_tm_tensor *T;
    int nt;
} run_state;

static exa_status hist_push(run_state *s, double x, double y, double v) {
    if (s->hn == s->hcap) {
        int cap = s->hcap ? 2 * s->hcap : 256;
        double *a = realloc(s->hx, sizeof(double) * cap);
        if (a) s->hx = a;
        double *b = realloc(s->hy, sizeof(double) * cap);
        if (b) s->hy = b;
        double *c = realloc(s->hv, sizeof(double) * cap);
        if (c) s->hv = c;
        if (!a || !b || !c) return EXA_ERR_NOMEM;
        s->hcap = cap;
    }
    s->hx[s->hn] = x; s->hy[s->hn] = y; s->hv[s->hn] = v;
    s->hn++;
    return EXA_OK;
}

/* config.json + generation_config.json + model.safetensors (from weights w) into folder dir */
static exa_status write_hf_model(run_state *s, const char *dir, const float *w, char *err, size_t errsz) {
    exa_tm_model *m = &s->m;
    char p[8192];
    char *cj = exa_tm_config_to_json(&m->cfg, s->hp.save_bf16 ? "bfloat16" : "float32");
    if (!cj) return exa_err(err, errsz, EXA_ERR_NOMEM, "checkpoint: out of memory");
    snprintf(p, sizeof p, "%s/config.json", dir);
    exa_status rc = exa_train_write_atomic(p, cj, strlen(cj), err, errsz);
    free(cj);
    if (rc) return rc;
    char gen[256];
    snprintf(gen, sizeof gen, "{\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"pad_token_id\": %d\n}\n",
             m->cfg.bos_id, m->cfg.eos_id, m->cfg.pad_id);
    snprintf(p, sizeof p, "%s/generation_config.json", dir);
    if ((rc = exa_train_write_atomic(p, gen, strlen(gen), err, errsz))) return rc;
    exa_tst_entry *e = calloc((size_t)m->n_tensors, sizeof *e);
    if (!e) return exa_err(err, errsz, EXA_ERR_NOMEM, "checkpoint: out of memory");
    for (int i = 0; i < m->n_tensors; i++) {
        const exa_tm_tensor *t = &m->tensors[i];
        e[i] = (exa_tst_entry){t->name, s->hp.save_bf16 ? EXA_TST_BF16 : EXA_TST_F32, t->ndim, {t->shape[0], t->shape[1]}, w + t->offset};
    }
    static const char *const fmt_meta[] = {"format", "pt", NULL};
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    rc = exa_tst_write(p, e, m->n_tensors, fmt_meta, err, errsz);
    free(e);
    return rc;
}

static exa_status copy_tokenizer(run_state *s, const char *dir, char *err, size_t errsz) {
    if (!s->o->tokenizer_dir) return EXA_OK;
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                        "chat_template.jinja", "vocab.json", "merges.txt"};
    for (size_t i = 0; i < EXA_ARRAY_LEN(files); i++) {
        char src[8192], p[8192];
        snprintf(src, sizeof src, "%s/%s", s->o->tokenizer_dir, files[i]);
        if (!exa_file_exists(src)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        exa_status rc = exa_train_copy_file(src, p, err, errsz);
        if (rc) return rc;
    }
    return EXA_OK;
}

/* PEFT adapter folder: adapter_config.json + adapter_model.safetensors */
static exa_status write_adapter(run_state *s, const char *dir, char *err, size_t errsz) {
    exa_tm_model *m = &s->m;
    int is4 = m->cfg.arch == EXA_ARCH_EXAONE4;
    static const char *const n4[EXA_LORA_NT] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    static const char *const n3[EXA_LORA_NT] = {"q_proj", "k_proj", "v_proj", "out_proj", "c_fc_0", "c_fc_1", "c_proj"};
    json_object *o = json_object_new_object(), *tm = json_object_new_array();
    for (int t = 0; t < EXA_LORA_NT; t++)
        if (m->lora.targets >> t & 1) json_object_array_add(tm, json_object_new_string(is4 ? n4[t] : n3[t]));
    json_object_object_add(o, "base_model_name_or_path", json_object_new_string(s->o->base_dir ? s->o->base_dir : ""));
    json_object_object_add(o, "bias", json_object_new_string("none"));
    json_object_object_add(o, "fan_in_fan_out", json_object_new_boolean(0));
    json_object_object_add(o, "inference_mode", json_object_new_boolean(1));
    json_object_object_add(o, "lora_alpha", json_object_new_double(m->lora.alpha));
    json_object_object_add(o, "lora_dropout", json_object_new_double(0.0));
    json_object_object_add(o, "peft_type", json_object_new_string("LORA"));
    json_object_object_add(o, "r", json_object_new_int(m->lora.r));
    json_object_object_add(o, "target_modules", tm);
    json_object_object_add(o, "task_type", json_object_new_string("CAUSAL_LM"));
    json_object_object_add(o, "use_rslora", json_object_new_boolean(0));
    const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char p[8192];
    snprintf(p, sizeof p, "%s/adapter_config.json", dir);
    exa_status rc = exa_train_write_atomic(p, js, strlen(js), err, errsz);
    json_object_put(o);
    if (rc) return rc;
    exa_tst_entry *e = calloc((size_t)m->n_ltensors, sizeof *e);
    if (!e) return exa_err(err, errsz, EXA_ERR_NOMEM, "checkpoint: out of memory");
    for (int i = 0; i < m->n_ltensors; i++) {
        const exa_tm_tensor *t = &m->ltensors[i];
        e[i] = (exa_tst_entry){t->name, s->hp.save_bf16 ? EXA_TST_BF16 : EXA_TST_F32, 2, {t->shape[0], t->shape[1]}, m->lparams + t->offset};
    }
    static const char *const fmt_meta[] = {"format", "pt", NULL};
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
    rc = exa_tst_write(p, e, m->n_ltensors, fmt_meta, err, errsz);
    free(e);
    return rc;
}

static int cmp_int(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }

/* keep_checkpoints: remove step folders beyond the newest N (never the one just written) */
static void prune_checkpoints(run_state *s) {
    int keep = s->hp.keep_checkpoints;
    if (keep <= 0) return;
    DIR *d = opendir(s->o->out_dir);
    if (!d) return;
    int *steps = NULL, n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int st;
        char tail;
        if (sscanf(de->d_name, "step-%8d%c", &st, &tail) != 1 || strlen(de->d_name) != 13) continue;
        if (n == cap) {
            int *ns = realloc(steps, sizeof *steps * (size_t)(cap = cap ? 2 * cap : 16));
            if (!ns) break;
            steps = ns;
        }
        steps[n++] = st;
    }
    closedir(d);
    qsort(steps, (size_t)n, sizeof *steps, cmp_int);
    for (int i = 0; i < n - keep; i++) {
        if (steps[i] == s->step) continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/step-%08d", s->o->out_dir, steps[i]);
        exa_train_rm_rf(p);
    }
    free(steps);
}

static exa_status write_checkpoint(run_state *s, char *path_out, size_t path_sz, char *err, size_t errsz) {
    const char *out = s->o->out_dir;
    char name[64], tmp[4096], fin[4096], p[8192];
    snprintf(name, sizeof name, "step-%08d", s->step);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", out, name);
    snprintf(fin, sizeof fin, "%s/%s", out, name);
    exa_train_rm_rf(tmp);
    if (mkdir(tmp, 0755)) return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    exa_tm_model *m = &s->m;
    exa_status rc;
    if (s->lora) {
        if ((rc = write_adapter(s, tmp, err, errsz))) return rc;
        if (s->step == s->hp.total_steps) { /* final: also a merged, directly loadable model */
            snprintf(p, sizeof p, "%s/merged", tmp);
            float *w = exa_aligned_alloc(m->n_params * sizeof(float));
            if (!w) return exa_err(err, errsz, EXA_ERR_NOMEM, "checkpoint: out of memory for the merged model");
            exa_tm_lora_merge(m, w);
            rc = mkdir(p, 0755) ? exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create", p) : write_hf_model(s, p, w, err, errsz);
            free(w);
            if (!rc) rc = copy_tokenizer(s, p, err, errsz);
            if (rc) return rc;
        }
    } else if ((rc = write_hf_model(s, tmp, m->params, err, errsz))) {
        return rc;
    }
    /* trainer state */
    char sstep[32], sshard[32], spos[32], stok[32], rng[4][32], snp[32];
    snprintf(sstep, sizeof sstep, "%d", s->step);
    snprintf(sshard, sizeof sshard, "%d", s->tr.shard);
    snprintf(spos, sizeof spos, "%lld", (long long)s->tr.pos);
    snprintf(stok, sizeof stok, "%lld", (long long)s->tokens);
    snprintf(snp, sizeof snp, "%zu", s->n_train);
    for (int i = 0; i < 4; i++) snprintf(rng[i], sizeof rng[i], "%016llx", (unsigned long long)s->rng.s[i]);
    const char *meta[] = {"format", "exaone-train-1", "step", sstep, "data_shard", sshard, "data_pos", spos,
                          "tokens", stok, "n_params", snp, "rng0", rng[0], "rng1", rng[1], "rng2", rng[2],
                          "rng3", rng[3], "mode", s->lora ? "lora" : "full", "base", s->o->base_dir ? s->o->base_dir : "",
                          "config", s->raw_config, NULL};
    exa_tst_entry se[3] = {
        {"adam.m", EXA_TST_F32, 1, {(int64_t)s->n_train}, s->mom},
        {"adam.v", EXA_TST_F32, 1, {(int64_t)s->n_train}, s->var},
        {"master", EXA_TST_F32, 1, {(int64_t)s->n_train}, s->P},
    };
    snprintf(p, sizeof p, "%s/trainer_state.safetensors", tmp);
    if ((rc = exa_tst_write(p, se, s->hp.save_bf16 ? 3 : 2, meta, err, errsz))) return rc;
    if ((rc = copy_tokenizer(s, tmp, err, errsz))) return rc;
    exa_train_fsync_dir(tmp);
    exa_train_rm_rf(fin);
    if (rename(tmp, fin)) return exa_err(err, errsz, EXA_ERR_IO, "%s: rename failed (%s)", fin, strerror(errno));
    exa_train_fsync_dir(out);
    snprintf(p, sizeof p, "%s/latest", out);
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    if ((rc = exa_train_write_atomic(p, line, strlen(line), err, errsz))) return rc;
    exa_train_fsync_dir(out);
    prune_checkpoints(s);
    snprintf(path_out, path_sz, "%s", fin);
    return EXA_OK;
}

static exa_status load_checkpoint(run_state *s, char *err, size_t errsz) {
    const char *out = s->o->out_dir;
    char p[8192], *lat;
    size_t n;
    snprintf(p, sizeof p, "%s/latest", out);
    exa_status rc = exa_file_read(p, 4096, &lat, &n, err, errsz);
    if (rc) return exa_err(err, errsz, EXA_ERR_IO, "%s: no checkpoint to resume from (missing 'latest')", out);
    lat[strcspn(lat, "\r\n")] = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", out, lat);
    free(lat);
    exa_tm_model *m = &s->m;
    exa_tst_file ms, ts;
    snprintf(p, sizeof p, "%s/trainer_state.safetensors", dir);
    if ((rc = exa_tst_open(&ts, p, err, errsz))) return rc;
    snprintf(p, sizeof p, "%s/%s", dir, s->lora ? "adapter_model.safetensors" : "model.safetensors");
    if ((rc = exa_tst_open(&ms, p, err, errsz))) { exa_tst_close(&ts); return rc; }
    const char *np = exa_tst_meta(&ts, "n_params"), *st = exa_tst_meta(&ts, "step"), *sh = exa_tst_meta(&ts, "data_shard"),
               *po = exa_tst_meta(&ts, "data_pos"), *tk = exa_tst_meta(&ts, "tokens");
    const struct exa_tst_tensor *tm = exa_tst_get(&ts, "adam.m"), *tv = exa_tst_get(&ts, "adam.v"), *tw = exa_tst_get(&ts, "master");
    const char *mode = exa_tst_meta(&ts, "mode"), *base = exa_tst_meta(&ts, "base");
    if (mode && strcmp(mode, s->lora ? "lora" : "full")) {
        rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: checkpoint is a %s run but the config asks for %s training", dir, mode, s->lora ? "LoRA" : "full");
        goto done;
    }
    if (base && *base && !s->o->base_dir) {
        rc = exa_err(err, errsz, EXA_ERR_CONFIG, "%s: this run started from --base %s; pass it again to resume", dir, base);
        goto done;
    }
    (void)m;
    if (!np || !st || !sh || !po || !tk || !tm || !tv || strtoull(np, NULL, 10) != s->n_train ||
        tm->dtype != EXA_TST_F32 || tv->dtype != EXA_TST_F32 || tm->nbytes != s->n_train * 4 || tv->nbytes != s->n_train * 4) {
        rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s/trainer_state.safetensors: does not match this model (parameter count or fields)", dir);
        goto done;
    }
    memcpy(s->mom, ts.f.data + ts.data_start + tm->off, tm->nbytes);
    memcpy(s->var, ts.f.data + ts.data_start + tv->off, tv->nbytes);
    if (tw && tw->dtype == EXA_TST_F32 && tw->nbytes == s->n_train * 4) {
        memcpy(s->P, ts.f.data + ts.data_start + tw->off, tw->nbytes);
    } else {
        for (int i = 0; i < s->nt; i++) {
            const exa_tm_tensor *t = &s->T[i];
            const struct exa_tst_tensor *x = exa_tst_get(&ms, t->name);
            if (!x || x->dtype != EXA_TST_F32 || x->nbytes != t->numel * 4) {
                rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor %s missing or not F32 of the right size", p, t->name);
                goto done;
            }
            memcpy(s->P + t->offset, ms.f.data + ms.data_start + x->off, x->nbytes);
        }
    }
    s->step = atoi(st);
    s->tr.shard = atoi(sh);
    s->tr.pos = strtoll(po, NULL, 10);
    s->tokens = strtoll(tk, NULL, 10);
    if (s->tr.shard < 0 || s->tr.shard >= s->tr.n_shards || s->tr.pos < 0 || s->tr.pos > s->tr.shards[s->tr.shard].n_tokens) {
        rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: saved data position does not fit the given shards", dir);
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        char k[8];
        snprintf(k, sizeof k, "rng%d", i);
        const char *v = exa_tst_meta(&ts, k);
        s->rng.s[i] = v ? strtoull(v, NULL, 16) : 0;
    }
done:
    exa_tst_close(&ts);
    exa_tst_close(&ms);
    return rc;
}

/* Rewrites loss.csv keeping rows with step <= s->step (resume) and fills the history. */
static exa_status open_csv(run_state *s, FILE **fo, char *err, size_t errsz) {
    char p[4096];
    snprintf(p, sizeof p, "%s/loss.csv", s->o->out_dir);
    char *old = NULL;
    size_t n = 0;
    if (s->o->resume && exa_file_exists(p)) exa_file_read(p, (size_t)1 << 30, &old, &n, NULL, 0);
    FILE *f = fopen(p, "w");
    if (!f) { free(old); return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create (%s)", p, strerror(errno)); }
    fprintf(f, "step,lr,train_loss,val_loss,grad_norm,tokens,elapsed_s\n");
    if (old) {
        char *save = NULL;
        for (char *line = strtok_r(old, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *e;
            long st = strtol(line, &e, 10);
            if (e == line || *e != ',' || st > s->step) continue;
            double lr, tl, vl = NAN;
            char *q = e + 1;
            lr = strtod(q, &e);
            q = strchr(q, ',');
            if (!q) continue;
            tl = strtod(q + 1, &e);
            q = strchr(q + 1, ',');
            if (q && q[1] != ',') vl = strtod(q + 1, NULL);
            (void)lr;
            fprintf(f, "%s\n", line);
            hist_push(s, (double)st, tl, vl);
        }
        free(old);
    }
    fflush(f);
    *fo = f;
    return EXA_OK;
}

exa_status exa_train_run(const exa_train_opts *o, char *err, size_t errsz) {
    run_state s;
    memset(&s, 0, sizeof s);
    s.o = o;
    char *text = NULL;
    size_t tn;
    exa_status rc = exa_file_read(o->config_path, 16 << 20, &text, &tn, err, errsz);
    if (rc) return rc;
    exa_tm_config cfg;
    if ((rc = exa_train_hparams_parse(text, o->config_path, &s.hp, err, errsz))) { free(text); return rc; }
    if (o->base_dir) { /* the base model's own config.json defines the model */
        char cp[4096], *ct;
        size_t cn;
        snprintf(cp, sizeof cp, "%s/config.json", o->base_dir);
        if ((rc = exa_file_read(cp, 16 << 20, &ct, &cn, err, errsz))) { free(text); return rc; }
        rc = exa_tm_config_parse(ct, cp, &cfg, err, errsz);
        free(ct);
    } else {
        rc = exa_tm_config_parse(text, o->config_path, &cfg, err, errsz);
    }
    if (rc) { free(text); return rc; }
    s.raw_config = text;
    exa_train_hparams *hp = &s.hp;
    if (hp->seq_len > cfg.max_pos) {
        free(text);
        return exa_err(err, errsz, EXA_ERR_CONFIG, "%s: train.seq_len %d exceeds max_position_embeddings %d", o->config_path, hp->seq_len, cfg.max_pos);
    }
    int nth = o->threads > 0 ? o->threads : hp->threads > 0 ? hp->threads : exa_cpu_count();
    FILE *csv = NULL;
    s.pool = exa_pool_init(nth);
    if (!s.pool) { free(text); return exa_err(err, errsz, EXA_ERR_NOMEM, "train: cannot start threads"); }
    if ((rc = exa_tm_model_init(&s.m, &cfg, hp->batch_size, hp->seq_len, s.pool, err, errsz))) goto out;
    if ((rc = exa_loader_open(&s.tr, o->data, 0, hp->batch_size, hp->seq_len, cfg.vocab, err, errsz))) goto out;
    if (o->val) {
        if ((rc = exa_loader_open(&s.va, o->val, 1, hp->batch_size, hp->seq_len, cfg.vocab, err, errsz))) goto out;
        s.have_val = 1;
    } else {
        struct stat stt;
        if (stat(o->data, &stt) == 0 && S_ISDIR(stt.st_mode) &&
            exa_loader_open(&s.va, o->data, 1, hp->batch_size, hp->seq_len, cfg.vocab, NULL, 0) == EXA_OK)
            s.have_val = 1;
    }
    mkdir(o->out_dir, 0755);
    struct stat sto;
    if (stat(o->out_dir, &sto) || !S_ISDIR(sto.st_mode)) { rc = exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create the output folder", o->out_dir); goto out; }
    exa_trng_seed(&s.rng, hp->seed);
    double *part = NULL;
    if (o->base_dir) {
        if ((rc = exa_tm_load_hf(&s.m, o->base_dir, err, errsz))) goto out;
    } else {
        exa_tm_model_init_weights(&s.m, exa_trng_next(&s.rng));
    }
    if (hp->lora_r > 0) {
        exa_tm_lora_cfg lc = {hp->lora_r, (float)hp->lora_alpha, hp->lora_targets};
        if ((rc = exa_tm_lora_enable(&s.m, &lc, err, errsz))) goto out;
        exa_tm_lora_init_weights(&s.m, exa_trng_next(&s.rng));
        s.lora = 1;
        s.P = s.m.lparams; s.G = s.m.lgrads; s.n_train = s.m.n_lparams; s.T = s.m.ltensors; s.nt = s.m.n_ltensors;
    } else {
        s.P = s.m.params; s.G = s.m.grads; s.n_train = s.m.n_params; s.T = s.m.tensors; s.nt = s.m.n_tensors;
    }
    s.mom = exa_aligned_alloc(s.n_train * sizeof(float));
    s.var = exa_aligned_alloc(s.n_train * sizeof(float));
    size_t nchunk = (s.n_train + NCHUNK - 1) / NCHUNK;
    part = calloc(nchunk, sizeof(double));
    if (!s.mom || !s.var || !part) { free(part); rc = exa_err(err, errsz, EXA_ERR_NOMEM, "train: out of memory for optimizer state"); goto out; }
    memset(s.mom, 0, s.n_train * sizeof(float));
    memset(s.var, 0, s.n_train * sizeof(float));
    int resumed_from = -1;
    if (o->resume) {
        if ((rc = load_checkpoint(&s, err, errsz))) { free(part); goto out; }
        resumed_from = s.step;
    }
    if ((rc = open_csv(&s, &csv, err, errsz))) { free(part); goto out; }
    int N = hp->batch_size * hp->seq_len;
    double t_start = exa_time_now(), steps_time = 0.0;
    int steps_done = 0;
    while (s.step < hp->total_steps) {
        if (o->stop_after > 0 && s.step >= o->stop_after) break;
        double t0 = exa_time_now();
        memset(s.G, 0, s.n_train * sizeof(float));
        double loss = 0.0;
        for (int a = 0; a < hp->grad_accum; a++) {
            if ((rc = exa_loader_next(&s.tr, s.m.tokens, s.m.targets, err, errsz))) break;
            loss += exa_tm_step(&s.m, 1.0f / ((float)N * hp->grad_accum));
        }
        if (rc) break;
        loss /= hp->grad_accum;
        if (!isfinite(loss)) { rc = exa_err(err, errsz, EXA_ERR_ABORTED, "train: loss became %g at step %d (lower lr?)", loss, s.step + 1); break; }
        opt_job oj = {.m = &s.m, .P = s.P, .G = s.G, .n = s.n_train, .T = s.T, .nt = s.nt, .mom = s.mom, .var = s.var,
                      .part = part, .nchunk = nchunk};
        exa_pool_run(s.pool, sumsq_w, &oj);
        double ss = 0.0;
        for (size_t c = 0; c < nchunk; c++) ss += part[c];
        double gnorm = sqrt(ss);
        double lr = exa_train_lr(hp, s.step);
        oj.gscale = hp->grad_clip > 0 && gnorm > hp->grad_clip ? (float)(hp->grad_clip / gnorm) : 1.0f;
        oj.lr = (float)lr; oj.b1 = (float)hp->beta1; oj.b2 = (float)hp->beta2; oj.eps = (float)hp->adam_eps;
        oj.wd = (float)hp->weight_decay;
        oj.bc1 = (float)(1.0 - pow(hp->beta1, s.step + 1));
        oj.bc2 = (float)(1.0 - pow(hp->beta2, s.step + 1));
        exa_pool_run(s.pool, adamw_w, &oj);
        s.step++;
        s.tokens += (int64_t)N * hp->grad_accum;
        double dt = exa_time_now() - t0;
        steps_time += dt;
        steps_done++;
        exa_train_progress pr = {.step = s.step, .total_steps = hp->total_steps, .loss = loss, .lr = lr,
                                 .grad_norm = gnorm, .val_loss = NAN, .resumed_from = resumed_from};
        resumed_from = -1;
        double spt = steps_time / steps_done;
        pr.tok_per_s = (double)N * hp->grad_accum / spt;
        pr.mfu_flops = s.m.flops_fwdbwd * hp->grad_accum / spt;
        pr.eta_s = spt * (hp->total_steps - s.step);
        if (s.have_val && hp->eval_interval > 0 && hp->eval_batches > 0 &&
            (s.step % hp->eval_interval == 0 || s.step == hp->total_steps)) {
            exa_loader_reset(&s.va);
            double vl = 0.0;
            for (int b = 0; b < hp->eval_batches; b++) {
                if ((rc = exa_loader_next(&s.va, s.m.tokens, s.m.targets, err, errsz))) break;
                vl += exa_tm_step(&s.m, 0.0f);
            }
            if (rc) break;
            pr.val_loss = vl / hp->eval_batches;
            pr.is_eval = 1;
        }
        pr.elapsed_s = exa_time_now() - t_start;
        fprintf(csv, "%d,%.6g,%.6f,", s.step, lr, loss);
        if (pr.is_eval) fprintf(csv, "%.6f", pr.val_loss);
        fprintf(csv, ",%.6g,%lld,%.3f\n", gnorm, (long long)s.tokens, pr.elapsed_s);
        fflush(csv);
        hist_push(&s, s.step, loss, pr.val_loss);
        char ck[4096];
        if ((hp->checkpoint_interval > 0 && s.step % hp->checkpoint_interval == 0) || s.step == hp->total_steps) {
            if ((rc = write_checkpoint(&s, ck, sizeof ck, err, errsz))) break;
            pr.checkpoint = ck;
        }
        if (pr.is_eval || pr.checkpoint || s.step == hp->total_steps) {
            char pp[4096];
            snprintf(pp, sizeof pp, "%s/loss.png", o->out_dir);
            if ((rc = exa_png_plot(pp, s.hx, s.hy, s.hv, s.hn, err, errsz))) break;
        }
        if (o->cb && !o->cb(&pr, o->user)) break;
    }
    free(part);
out:
    if (csv) fclose(csv);
    exa_loader_close(&s.tr);
    exa_loader_close(&s.va);
    exa_tm_model_free(&s.m);
    exa_pool_free(s.pool);
    free(s.mom); free(s.var); free(s.hx); free(s.hy); free(s.hv);
    free(text);
    return rc;
}
