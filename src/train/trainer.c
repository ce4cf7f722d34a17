/* trainer.c — the training loop behind `exaone train` (see trainer.h and docs/train.md):
 * data → micro-batches → forward/backward (train_model.c) → global-norm clipping → AdamW →
 * validation, CSV/PNG loss curve, atomic checkpoint folders, bit-exact resume. */
#include "train/trainer.h"

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
        size_t lo = (size_t)c * NCHUNK, hi = EXA_MIN(j->m->n_params, lo + NCHUNK);
        double s = 0.0;
        for (size_t i = lo; i < hi; i++) s += (double)j->m->grads[i] * j->m->grads[i];
        j->part[c] = s;
    }
}

static void adamw_w(void *p, int ith, int nth) {
    opt_job *j = p;
    exa_tm_model *m = j->m;
    int b, e;
    exa_split((int)j->nchunk, ith, nth, &b, &e);
    size_t lo = (size_t)b * NCHUNK, hi = EXA_MIN(m->n_params, (size_t)e * NCHUNK);
    for (int t = 0; t < m->n_tensors; t++) {
        const exa_tm_tensor *tt = &m->tensors[t];
        size_t a = EXA_MAX(lo, tt->offset), z = EXA_MIN(hi, tt->offset + tt->numel);
        float wd = tt->decay ? j->wd : 0.0f;
        for (size_t i = a; i < z; i++) {
            float g = m->grads[i] * j->gscale;
            float mm = j->b1 * j->mom[i] + (1.0f - j->b1) * g;
            float vv = j->b2 * j->var[i] + (1.0f - j->b2) * g * g;
            j->mom[i] = mm;
            j->var[i] = vv;
            float mh = mm / j->bc1, vh = vv / j->bc2;
            m->params[i] -= j->lr * (mh / (sqrtf(vh) + j->eps) + wd * m->params[i]);
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
    exa_rng rng;
    int step;
    int64_t tokens;
    double *hx, *hy, *hv;
    int hn, hcap;
    char *raw_config;
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

static exa_status write_checkpoint(run_state *s, char *path_out, size_t path_sz, char *err, size_t errsz) {
    const char *out = s->o->out_dir;
    char name[64], tmp[4096], fin[4096], p[8192];
    snprintf(name, sizeof name, "step-%08d", s->step);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", out, name);
    snprintf(fin, sizeof fin, "%s/%s", out, name);
    exa_rm_rf(tmp);
    if (mkdir(tmp, 0755)) return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    exa_tm_model *m = &s->m;
    char *cj = exa_tm_config_to_json(&m->cfg, s->hp.save_bf16 ? "bfloat16" : "float32");
    if (!cj) return exa_err(err, errsz, EXA_ERR_NOMEM, "checkpoint: out of memory");
    snprintf(p, sizeof p, "%s/config.json", tmp);
    exa_status rc = exa_write_file_atomic(p, cj, strlen(cj), err, errsz);
    free(cj);
    if (rc) return rc;
    char gen[256];
    snprintf(gen, sizeof gen, "{\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"pad_token_id\": %d\n}\n",
             m->cfg.bos_id, m->cfg.eos_id, m->cfg.pad_id);
    snprintf(p, sizeof p, "%s/generation_config.json", tmp);
    if ((rc = exa_write_file_atomic(p, gen, strlen(gen), err, errsz))) return rc;
    exa_tst_entry *e = calloc((size_t)m->n_tensors, sizeof *e);
    if (!e) return exa_err(err, errsz, EXA_ERR_NOMEM, "checkpoint: out of memory");
    for (int i = 0; i < m->n_tensors; i++) {
        const exa_tm_tensor *t = &m->tensors[i];
        e[i] = (exa_tst_entry){t->name, s->hp.save_bf16 ? EXA_TST_BF16 : EXA_TST_F32, t->ndim, {t->shape[0], t->shape[1]}, m->params + t->offset};
    }
    static const char *const fmt_meta[] = {"format", "pt", NULL};
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    rc = exa_tst_write(p, e, m->n_tensors, fmt_meta, err, errsz);
    free(e);
    if (rc) return rc;
    /* trainer state */
    char sstep[32], sshard[32], spos[32], stok[32], rng[4][32], snp[32];
    snprintf(sstep, sizeof sstep, "%d", s->step);
    snprintf(sshard, sizeof sshard, "%d", s->tr.shard);
    snprintf(spos, sizeof spos, "%lld", (long long)s->tr.pos);
    snprintf(stok, sizeof stok, "%lld", (long long)s->tokens);
    snprintf(snp, sizeof snp, "%zu", m->n_params);
    for (int i = 0; i < 4; i++) snprintf(rng[i], sizeof rng[i], "%016llx", (unsigned long long)s->rng.s[i]);
    const char *meta[] = {"format", "exaone-train-1", "step", sstep, "data_shard", sshard, "data_pos", spos,
                          "tokens", stok, "n_params", snp, "rng0", rng[0], "rng1", rng[1], "rng2", rng[2],
                          "rng3", rng[3], "config", s->raw_config, NULL};
    exa_tst_entry se[3] = {
        {"adam.m", EXA_TST_F32, 1, {(int64_t)m->n_params}, s->mom},
        {"adam.v", EXA_TST_F32, 1, {(int64_t)m->n_params}, s->var},
        {"master", EXA_TST_F32, 1, {(int64_t)m->n_params}, m->params},
    };
    snprintf(p, sizeof p, "%s/trainer_state.safetensors", tmp);
    if ((rc = exa_tst_write(p, se, s->hp.save_bf16 ? 3 : 2, meta, err, errsz))) return rc;
    if (s->o->tokenizer_dir) {
        static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                            "chat_template.jinja", "vocab.json", "merges.txt"};
        for (size_t i = 0; i < EXA_ARRAY_LEN(files); i++) {
            char src[4096];
            snprintf(src, sizeof src, "%s/%s", s->o->tokenizer_dir, files[i]);
            if (!exa_file_exists(src)) continue;
            snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
            if ((rc = exa_copy_file(src, p, err, errsz))) return rc;
        }
    }
    exa_fsync_dir(tmp);
    exa_rm_rf(fin);
    if (rename(tmp, fin)) return exa_err(err, errsz, EXA_ERR_IO, "%s: rename failed (%s)", fin, strerror(errno));
    exa_fsync_dir(out);
    snprintf(p, sizeof p, "%s/latest", out);
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    if ((rc = exa_write_file_atomic(p, line, strlen(line), err, errsz))) return rc;
    exa_fsync_dir(out);
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
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if ((rc = exa_tst_open(&ms, p, err, errsz))) { exa_tst_close(&ts); return rc; }
    const char *np = exa_tst_meta(&ts, "n_params"), *st = exa_tst_meta(&ts, "step"), *sh = exa_tst_meta(&ts, "data_shard"),
               *po = exa_tst_meta(&ts, "data_pos"), *tk = exa_tst_meta(&ts, "tokens");
    const struct exa_tst_tensor *tm = exa_tst_get(&ts, "adam.m"), *tv = exa_tst_get(&ts, "adam.v"), *tw = exa_tst_get(&ts, "master");
    if (!np || !st || !sh || !po || !tk || !tm || !tv || strtoull(np, NULL, 10) != m->n_params ||
        tm->dtype != EXA_TST_F32 || tv->dtype != EXA_TST_F32 || tm->nbytes != m->n_params * 4 || tv->nbytes != m->n_params * 4) {
        rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s/trainer_state.safetensors: does not match this model (parameter count or fields)", dir);
        goto done;
    }
    memcpy(s->mom, ts.f.data + ts.data_start + tm->off, tm->nbytes);
    memcpy(s->var, ts.f.data + ts.data_start + tv->off, tv->nbytes);
    if (tw && tw->dtype == EXA_TST_F32 && tw->nbytes == m->n_params * 4) {
        memcpy(m->params, ts.f.data + ts.data_start + tw->off, tw->nbytes);
    } else {
        for (int i = 0; i < m->n_tensors; i++) {
            const exa_tm_tensor *t = &m->tensors[i];
            const struct exa_tst_tensor *x = exa_tst_get(&ms, t->name);
            if (!x || x->dtype != EXA_TST_F32 || x->nbytes != t->numel * 4) {
                rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s/model.safetensors: tensor %s missing or not F32 of the right size", dir, t->name);
                goto done;
            }
            memcpy(m->params + t->offset, ms.f.data + ms.data_start + x->off, x->nbytes);
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
    if ((rc = exa_tm_config_parse(text, o->config_path, &cfg, err, errsz)) ||
        (rc = exa_train_hparams_parse(text, o->config_path, &s.hp, err, errsz))) { free(text); return rc; }
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
    s.mom = exa_aligned_alloc(s.m.n_params * sizeof(float));
    s.var = exa_aligned_alloc(s.m.n_params * sizeof(float));
    size_t nchunk = (s.m.n_params + NCHUNK - 1) / NCHUNK;
    double *part = calloc(nchunk, sizeof(double));
    if (!s.mom || !s.var || !part) { free(part); rc = exa_err(err, errsz, EXA_ERR_NOMEM, "train: out of memory for optimizer state"); goto out; }
    memset(s.mom, 0, s.m.n_params * sizeof(float));
    memset(s.var, 0, s.m.n_params * sizeof(float));
    exa_rng_seed(&s.rng, hp->seed);
    int resumed_from = -1;
    if (o->resume) {
        if ((rc = load_checkpoint(&s, err, errsz))) { free(part); goto out; }
        resumed_from = s.step;
    } else {
        exa_tm_model_init_weights(&s.m, exa_rng_next(&s.rng));
    }
    if ((rc = open_csv(&s, &csv, err, errsz))) { free(part); goto out; }
    int N = hp->batch_size * hp->seq_len;
    double t_start = exa_time_now(), steps_time = 0.0;
    int steps_done = 0;
    while (s.step < hp->total_steps) {
        if (o->stop_after > 0 && s.step >= o->stop_after) break;
        double t0 = exa_time_now();
        memset(s.m.grads, 0, s.m.n_params * sizeof(float));
        double loss = 0.0;
        for (int a = 0; a < hp->grad_accum; a++) {
            if ((rc = exa_loader_next(&s.tr, s.m.tokens, s.m.targets, err, errsz))) break;
            loss += exa_tm_step(&s.m, 1.0f / ((float)N * hp->grad_accum));
        }
        if (rc) break;
        loss /= hp->grad_accum;
        if (!isfinite(loss)) { rc = exa_err(err, errsz, EXA_ERR_ABORTED, "train: loss became %g at step %d (lower lr?)", loss, s.step + 1); break; }
        opt_job oj = {.m = &s.m, .mom = s.mom, .var = s.var, .part = part, .nchunk = nchunk};
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
