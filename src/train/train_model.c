/* train_model.c — parameters, activations, forward and backward of the training model (see
 * train_model.h). All math is f32; reductions that feed parameter gradients are done per fixed
 * 64-row chunk and summed in chunk order, so results do not depend on the thread count.
 * Shapes: N = B·T rows; Cq = H·d; Ckv = Hkv·d; C3 = Cq + 2·Ckv (q|k|v); C2 = Cq + Ckv (q|k). */
#include "train/train_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#define ROWCHUNK 64

/* ---- RNG ---- */
static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
void exa_trng_seed(exa_trng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
uint64_t exa_trng_next(exa_trng *r) {
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
double exa_trng_uniform(exa_trng *r) { return (double)(exa_trng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
double exa_trng_normal(exa_trng *r) {
    double u1 = exa_trng_uniform(r), u2 = exa_trng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- tensor table ---- */
static void add_t(exa_tm_model *m, const char *name, int64_t r, int64_t c, int decay) {
    exa_tm_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = c ? 2 : 1;
    t->shape[0] = r;
    t->shape[1] = c;
    t->numel = (size_t)r * (size_t)(c ? c : 1);
    t->offset = m->n_params;
    t->decay = decay;
    m->n_params += t->numel;
}

const exa_tm_tensor *exa_tm_find(const exa_tm_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static void build_table(exa_tm_model *m) {
    const exa_tm_config *c = &m->cfg;
    int D = c->dim, d = c->head_dim, F = c->ffn, Cq = c->n_head * d, Ckv = c->n_kv * d;
    char nm[96];
    int is4 = c->arch == EXA_ARCH_EXAONE4;
    add_t(m, is4 ? "model.embed_tokens.weight" : "transformer.wte.weight", c->vocab, D, 1);
    m->emb = m->tensors[0].offset;
    for (int l = 0; l < c->n_layer; l++) {
        exa_tm_layer *L = &m->layers[l];
        const char *pre = is4 ? "model.layers" : "transformer.h";
        const char *att = is4 ? "self_attn" : "attn.attention";
#define NM(fmt) (snprintf(nm, sizeof nm, fmt, pre, l), nm)
#define NMA(fmt) (snprintf(nm, sizeof nm, fmt, pre, l, att), nm)
        if (!is4) { add_t(m, NM("%s.%d.ln_1.weight"), D, 0, 0); L->n1 = m->tensors[m->n_tensors - 1].offset; }
        add_t(m, NMA("%s.%d.%s.q_proj.weight"), Cq, D, 1);
        L->wqkv = m->tensors[m->n_tensors - 1].offset;
        add_t(m, NMA("%s.%d.%s.k_proj.weight"), Ckv, D, 1);
        add_t(m, NMA("%s.%d.%s.v_proj.weight"), Ckv, D, 1);
        add_t(m, NMA(is4 ? "%s.%d.%s.o_proj.weight" : "%s.%d.%s.out_proj.weight"), D, Cq, 1);
        L->wo = m->tensors[m->n_tensors - 1].offset;
        if (is4) {
            add_t(m, NMA("%s.%d.%s.q_norm.weight"), d, 0, 0); L->qn = m->tensors[m->n_tensors - 1].offset;
            add_t(m, NMA("%s.%d.%s.k_norm.weight"), d, 0, 0); L->kn = m->tensors[m->n_tensors - 1].offset;
            add_t(m, NM("%s.%d.post_attention_layernorm.weight"), D, 0, 0); L->n1 = m->tensors[m->n_tensors - 1].offset;
        } else {
            add_t(m, NM("%s.%d.ln_2.weight"), D, 0, 0); L->n2 = m->tensors[m->n_tensors - 1].offset;
        }
        add_t(m, NM(is4 ? "%s.%d.mlp.gate_proj.weight" : "%s.%d.mlp.c_fc_0.weight"), F, D, 1);
        L->wgu = m->tensors[m->n_tensors - 1].offset;
        add_t(m, NM(is4 ? "%s.%d.mlp.up_proj.weight" : "%s.%d.mlp.c_fc_1.weight"), F, D, 1);
        add_t(m, NM(is4 ? "%s.%d.mlp.down_proj.weight" : "%s.%d.mlp.c_proj.weight"), D, F, 1);
        L->wd = m->tensors[m->n_tensors - 1].offset;
        if (is4) { add_t(m, NM("%s.%d.post_feedforward_layernorm.weight"), D, 0, 0); L->n2 = m->tensors[m->n_tensors - 1].offset; }
#undef NM
#undef NMA
    }
    add_t(m, is4 ? "model.norm.weight" : "transformer.ln_f.weight", D, 0, 0);
    m->normf = m->tensors[m->n_tensors - 1].offset;
    if (!c->tie) { add_t(m, "lm_head.weight", c->vocab, D, 1); m->lmh = m->tensors[m->n_tensors - 1].offset; }
    else m->lmh = m->emb;
}

/* ---- RoPE table (spec §2.2, §2.3; fp32 like HF) ---- */
static void rope_table(exa_tm_model *m) {
    const exa_tm_config *c = &m->cfg;
    int d = c->head_dim, h = d / 2;
    for (int i = 0; i < h; i++) {
        float inv = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)d);
        if (c->rope_llama3) {
            float L = (float)c->rope_orig_max, lo_wl = L / c->rope_low, hi_wl = L / c->rope_high;
            float wl = 6.283185307179586f / inv;
            float il = wl > lo_wl ? inv / c->rope_factor : inv;
            if (!(wl < hi_wl) && !(wl > lo_wl)) {
                float s = (L / wl - c->rope_low) / (c->rope_high - c->rope_low);
                il = (1.0f - s) * il / c->rope_factor + s * il;
            }
            inv = il;
        }
        for (int t = 0; t < m->T; t++) {
            float a = (float)t * inv;
            m->rope_cos[t * h + i] = cosf(a);
            m->rope_sin[t * h + i] = sinf(a);
        }
    }
}

/* ---- init / free ---- */
exa_status exa_tm_model_init(exa_tm_model *m, const exa_tm_config *cfg, int B, int T, exa_pool *pool,
                             char *err, size_t errsz) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->B = B;
    m->T = T;
    m->pool = pool;
    m->nth = pool ? exa_pool_size(pool) : 1;
    const exa_tm_config *c = cfg;
    int is4 = c->arch == EXA_ARCH_EXAONE4;
    if (B < 1 || T < 1 || (int64_t)B * T > (1 << 24))
        return exa_err(err, errsz, EXA_ERR_INVALID_ARG, "train: batch %d x seq %d is out of range", B, T);
    m->tensors = calloc((size_t)c->n_layer * 14 + 4, sizeof *m->tensors);
    if (!m->tensors) return exa_err(err, errsz, EXA_ERR_NOMEM, "train: out of memory");
    build_table(m);
    size_t N = (size_t)B * T, D = c->dim, L = c->n_layer, H = c->n_head, Hk = c->n_kv, d = c->head_dim;
    size_t F = c->ffn, V = c->vocab, Cq = H * d, Ckv = Hk * d, C3 = Cq + 2 * Ckv, C2 = Cq + Ckv;
    m->head_chunk = (int)EXA_MIN(N, (size_t)256);
    size_t nchunk = (N + ROWCHUNK - 1) / ROWCHUNK;
    size_t pdim = EXA_MAX(D, 2 * d);
    /* activation layout */
    size_t sz[32], k = 0, tot = 0;
    float **ptr[32];
#define A(p, n) (ptr[k] = &m->p, sz[k] = (n), tot += sz[k], k++)
    A(res, (L + 1) * N * D);
    A(qkv, L * N * C3);
    A(qkr, L * N * C2);
    A(rstd_qk, is4 ? L * N * (H + Hk) : 0);
    A(att, L * B * H * T); /* per-row log-sum-exp of the scaled scores; P is recomputed in backward */
    A(ao_in, L * N * Cq);
    A(h1, L * N * D);
    A(gu, L * N * 2 * F);
    A(sw, L * N * F);
    if (is4) { A(ao, L * N * D); A(rstd1, L * N); A(dn, L * N * D); A(rstd2, L * N); }
    else { A(a1, L * N * D); A(rstd_in1, L * N); A(a2, L * N * D); A(rstd_in2, L * N); }
    A(hn, N * D);
    A(rstd_f, N);
    A(loss_rows, N);
    size_t nact = k;
    A(d_res, N * D);
    A(d_qkv, N * C3);
    A(d_qkr, N * C2);
    A(d_ao_in, N * Cq);
    A(d_ao, N * D);
    A(d_gu, N * 2 * F);
    A(d_sw, N * F);
    A(d_dn, N * D);
    A(logits, (size_t)m->head_chunk * V);
    A(d_att, (size_t)m->nth * 2 * T * T); /* per thread: P and dP */
    A(part, nchunk * pdim);
#undef A
    (void)nact;
    size_t bytes;
    if (!exa_mul_ok(tot + 2 * m->n_params + (size_t)T * d + 64 * k, sizeof(float), &bytes) || bytes > EXA_MAX_ALLOC)
        return exa_err(err, errsz, EXA_ERR_NOMEM, "train: model + activations need too much memory");
    m->params = exa_aligned_alloc(m->n_params * sizeof(float));
    m->grads = exa_aligned_alloc(m->n_params * sizeof(float));
    size_t off = 0, padded = 0;
    for (size_t i = 0; i < k; i++) padded += (sz[i] + 15) & ~(size_t)15;
    m->act = exa_aligned_alloc((padded + 16) * sizeof(float));
    m->rope_cos = malloc((size_t)T * (d / 2) * sizeof(float));
    m->rope_sin = malloc((size_t)T * (d / 2) * sizeof(float));
    if (!m->params || !m->grads || !m->act || !m->rope_cos || !m->rope_sin || exa_tg_ws_init(&m->ws, m->nth)) {
        exa_tm_model_free(m);
        return exa_err(err, errsz, EXA_ERR_NOMEM, "train: out of memory (%.1f GiB requested)", (double)bytes / (1 << 30));
    }
    m->act_floats = padded;
    for (size_t i = 0; i < k; i++) {
        *ptr[i] = sz[i] ? m->act + off : NULL;
        off += (sz[i] + 15) & ~(size_t)15;
    }
    memset(m->act, 0, padded * sizeof(float));
    memset(m->grads, 0, m->n_params * sizeof(float));
    m->tokens = calloc(N, sizeof(int32_t));
    m->targets = calloc(N, sizeof(int32_t));
    if (!m->tokens || !m->targets) { exa_tm_model_free(m); return exa_err(err, errsz, EXA_ERR_NOMEM, "train: out of memory"); }
    rope_table(m);
    /* model FLOPs (PaLM appendix B): 6·N_matmul per token + 12·L·H·d·T per token (fwd+bwd) */
    double nmat = (double)L * ((double)C3 * D + (double)D * Cq + 3.0 * F * D) + (double)V * D;
    m->nmat = nmat;
    m->flops_fwdbwd = (double)N * (6.0 * nmat + 12.0 * L * H * d * T);
    return EXA_OK;
}

void exa_tm_model_free(exa_tm_model *m) {
    free(m->tensors); free(m->params); free(m->grads); free(m->act);
    free(m->rope_cos); free(m->rope_sin); free(m->tokens); free(m->targets);
    exa_tg_ws_free(&m->ws);
    free(m->ltensors); free(m->lparams); free(m->lgrads); free(m->lu); free(m->lg);
    memset(m, 0, sizeof *m);
}

void exa_tm_model_init_weights(exa_tm_model *m, uint64_t seed) {
    exa_trng r;
    exa_trng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const exa_tm_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        if (t->ndim == 1) for (size_t j = 0; j < t->numel; j++) p[j] = 1.0f;
        else for (size_t j = 0; j < t->numel; j++) p[j] = (float)(exa_trng_normal(&r) * m->cfg.init_std);
    }
}

/* ---- parallel helpers ---- */
typedef struct job {
    exa_tm_model *m;
    int l;
    int op;
    const float *x, *w, *dy, *resid;
    float *y, *rstd, *dx;
    int rows, dim, acc;
    float scale;
    int r0;
    double loss_sum;
} job;

static void run(exa_tm_model *m, exa_pool_fn fn, job *j) {
    if (m->pool && m->nth > 1) exa_pool_run(m->pool, fn, j);
    else fn(j, 0, 1);
}

/* y = (resid ? resid : 0) + w ⊙ x·rstd (row-wise RMSNorm, spec §2.1) */
static void rmsnorm_fwd_w(void *p, int ith, int nth) {
    job *j = p;
    int b, e;
    exa_split(j->rows, ith, nth, &b, &e);
    float eps = j->m->cfg.eps;
    for (int r = b; r < e; r++) {
        const float *x = j->x + (size_t)r * j->dim;
        float *y = j->y + (size_t)r * j->dim;
        float ss = 0.0f;
        for (int i = 0; i < j->dim; i++) ss += x[i] * x[i];
        float rs = 1.0f / sqrtf(ss / (float)j->dim + eps);
        j->rstd[r] = rs;
        if (j->resid) {
            const float *h = j->resid + (size_t)r * j->dim;
            for (int i = 0; i < j->dim; i++) y[i] = h[i] + j->w[i] * (x[i] * rs);
        } else {
            for (int i = 0; i < j->dim; i++) y[i] = j->w[i] * (x[i] * rs);
        }
    }
}
static void rmsnorm_fwd(exa_tm_model *m, const float *x, const float *w, const float *resid, float *y,
                        float *rstd, int rows, int dim) {
    job j = {.m = m, .x = x, .w = w, .resid = resid, .y = y, .rstd = rstd, .rows = rows, .dim = dim};
    run(m, rmsnorm_fwd_w, &j);
}

/* dx (= or +=) RMSNorm backward; per-chunk partial dw into m->part */
static void rmsnorm_bwd_w(void *p, int ith, int nth) {
    job *j = p;
    int nchunk = (j->rows + ROWCHUNK - 1) / ROWCHUNK, cb, ce;
    exa_split(nchunk, ith, nth, &cb, &ce);
    int D = j->dim;
    for (int c = cb; c < ce; c++) {
        float *pw = j->m->part + (size_t)c * D;
        memset(pw, 0, sizeof(float) * D);
        for (int r = c * ROWCHUNK; r < EXA_MIN(j->rows, (c + 1) * ROWCHUNK); r++) {
            const float *x = j->x + (size_t)r * D, *dy = j->dy + (size_t)r * D;
            float *dx = j->dx + (size_t)r * D;
            float rs = j->rstd[r], dot = 0.0f;
            for (int i = 0; i < D; i++) {
                float xh = x[i] * rs;
                pw[i] += dy[i] * xh;
                dot += dy[i] * j->w[i] * xh;
            }
            dot /= (float)D;
            for (int i = 0; i < D; i++) {
                float v = rs * (dy[i] * j->w[i] - x[i] * rs * dot);
                dx[i] = j->acc ? dx[i] + v : v;
            }
        }
    }
}
static void reduce_part(exa_tm_model *m, int rows, int dim, int stride, int off, float *g) {
    if (!g) return; /* frozen */
    int nchunk = (rows + ROWCHUNK - 1) / ROWCHUNK;
    for (int c = 0; c < nchunk; c++) {
        const float *pw = m->part + (size_t)c * stride + off;
        for (int i = 0; i < dim; i++) g[i] += pw[i];
    }
}
static void rmsnorm_bwd(exa_tm_model *m, const float *x, const float *w, const float *rstd, const float *dy,
                        float *dx, int acc, float *dw, int rows, int dim) {
    job j = {.m = m, .x = x, .w = w, .rstd = (float *)rstd, .dy = dy, .dx = dx, .acc = acc, .rows = rows, .dim = dim};
    run(m, rmsnorm_bwd_w, &j);
    reduce_part(m, rows, dim, dim, 0, dw);
}

/* ---- QK-norm (exaone4) + RoPE forward/backward, per token row ---- */
static void qk_fwd_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    const exa_tm_config *c = &m->cfg;
    int l = j->l, H = c->n_head, Hk = c->n_kv, d = c->head_dim, hd = d / 2;
    int C3 = (H + 2 * Hk) * d, C2 = (H + Hk) * d, N = m->B * m->T;
    int is4 = c->arch == EXA_ARCH_EXAONE4, rope = exa_tm_layer_rope(c, l);
    const float *qkv = m->qkv + (size_t)l * N * C3;
    float *qkr = m->qkr + (size_t)l * N * C2;
    float *rstd = is4 ? m->rstd_qk + (size_t)l * N * (H + Hk) : NULL;
    const float *qn = m->params + m->layers[l].qn, *kn = m->params + m->layers[l].kn;
    int b, e;
    exa_split(N, ith, nth, &b, &e);
    for (int n = b; n < e; n++) {
        int t = n % m->T;
        const float *cs = m->rope_cos + (size_t)t * hd, *sn = m->rope_sin + (size_t)t * hd;
        for (int h = 0; h < H + Hk; h++) {
            const float *x = qkv + (size_t)n * C3 + h * d;
            float *y = qkr + (size_t)n * C2 + h * d;
            if (is4) {
                const float *w = h < H ? qn : kn;
                float ss = 0.0f;
                for (int i = 0; i < d; i++) ss += x[i] * x[i];
                float rs = 1.0f / sqrtf(ss / (float)d + c->eps);
                rstd[(size_t)n * (H + Hk) + h] = rs;
                for (int i = 0; i < d; i++) y[i] = w[i] * (x[i] * rs);
            } else {
                memcpy(y, x, sizeof(float) * d);
            }
            if (rope) {
                for (int i = 0; i < hd; i++) {
                    float x1 = y[i], x2 = y[i + hd];
                    y[i] = x1 * cs[i] - x2 * sn[i];
                    y[i + hd] = x2 * cs[i] + x1 * sn[i];
                }
            }
        }
    }
}

static void qk_bwd_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    const exa_tm_config *c = &m->cfg;
    int l = j->l, H = c->n_head, Hk = c->n_kv, d = c->head_dim, hd = d / 2;
    int C3 = (H + 2 * Hk) * d, C2 = (H + Hk) * d, N = m->B * m->T;
    int is4 = c->arch == EXA_ARCH_EXAONE4, rope = exa_tm_layer_rope(c, l);
    const float *qkv = m->qkv + (size_t)l * N * C3;
    const float *rstd = is4 ? m->rstd_qk + (size_t)l * N * (H + Hk) : NULL;
    const float *qn = m->params + m->layers[l].qn, *kn = m->params + m->layers[l].kn;
    int nchunk = (N + ROWCHUNK - 1) / ROWCHUNK, cb, ce;
    exa_split(nchunk, ith, nth, &cb, &ce);
    float g[1024];
    for (int ch = cb; ch < ce; ch++) {
        float *pw = m->part + (size_t)ch * 2 * d;
        if (is4) memset(pw, 0, sizeof(float) * 2 * d);
        for (int n = ch * ROWCHUNK; n < EXA_MIN(N, (ch + 1) * ROWCHUNK); n++) {
            int t = n % m->T;
            const float *cs = m->rope_cos + (size_t)t * hd, *sn = m->rope_sin + (size_t)t * hd;
            for (int h = 0; h < H + Hk; h++) {
                const float *dy = m->d_qkr + (size_t)n * C2 + h * d;
                float *dx = m->d_qkv + (size_t)n * C3 + h * d;
                float *gy = is4 ? g : dx;
                if (rope) {
                    for (int i = 0; i < hd; i++) {
                        float a = dy[i], bb = dy[i + hd];
                        gy[i] = a * cs[i] + bb * sn[i];
                        gy[i + hd] = bb * cs[i] - a * sn[i];
                    }
                } else {
                    memcpy(gy, dy, sizeof(float) * d);
                }
                if (!is4) continue;
                const float *x = qkv + (size_t)n * C3 + h * d;
                const float *w = h < H ? qn : kn;
                float *pwh = pw + (h < H ? 0 : d);
                float rs = rstd[(size_t)n * (H + Hk) + h], dot = 0.0f;
                for (int i = 0; i < d; i++) {
                    float xh = x[i] * rs;
                    pwh[i] += g[i] * xh;
                    dot += g[i] * w[i] * xh;
                }
                dot /= (float)d;
                for (int i = 0; i < d; i++) dx[i] = rs * (g[i] * w[i] - x[i] * rs * dot);
            }
        }
    }
}

/* ---- attention (spec §2.4): per (b, h) forward, per (b, kv head) backward ---- */
static int visible(const exa_tm_config *c, int l, int i, int jj) {
    if (jj > i) return 0;
    if (c->arch == EXA_ARCH_EXAONE4 && c->sliding_window && c->sliding[l] && i - jj >= c->sliding_window) return 0;
    return 1;
}

/* P[i][j] = exp(scale·S[i][j] − lse[i]) on visible (i, j), else 0 — the same expression in the
 * forward pass and when the backward pass recomputes P from S = Q·Kᵀ. */
static void softmax_rows(const exa_tm_config *c, int l, float *P, int T, float scale, float *lse, int have_lse) {
    for (int i = 0; i < T; i++) {
        float *row = P + (size_t)i * T;
        if (!have_lse) {
            float mx = -INFINITY;
            for (int jj = 0; jj <= i; jj++)
                if (visible(c, l, i, jj) && row[jj] * scale > mx) mx = row[jj] * scale;
            float s = 0.0f;
            for (int jj = 0; jj <= i; jj++)
                if (visible(c, l, i, jj)) s += expf(row[jj] * scale - mx);
            lse[i] = mx + logf(s);
        }
        float L = lse[i];
        for (int jj = 0; jj < T; jj++) row[jj] = jj <= i && visible(c, l, i, jj) ? expf(row[jj] * scale - L) : 0.0f;
    }
}

static void attn_fwd_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    const exa_tm_config *c = &m->cfg;
    int l = j->l, H = c->n_head, Hk = c->n_kv, d = c->head_dim, T = m->T, G = H / Hk;
    int Cq = H * d, Ckv = Hk * d, C3 = Cq + 2 * Ckv, C2 = Cq + Ckv, N = m->B * T;
    const float *qkr = m->qkr + (size_t)l * N * C2, *qkv = m->qkv + (size_t)l * N * C3;
    float *lse = m->att + (size_t)l * m->B * H * T, *out = m->ao_in + (size_t)l * N * Cq;
    float scale = 1.0f / sqrtf((float)d);
    float *P = m->d_att + (size_t)ith * 2 * T * T;
    int b0, e0;
    exa_split(m->B * H, ith, nth, &b0, &e0);
    for (int task = b0; task < e0; task++) {
        int b = task / H, h = task % H, kh = h / G;
        const float *Q = qkr + (size_t)b * T * C2 + h * d, *K = qkr + (size_t)b * T * C2 + Cq + kh * d;
        const float *Vv = qkv + (size_t)b * T * C3 + Cq + Ckv + kh * d;
        exa_tg_gemm(&m->ws.buf[ith], 0, 1, T, T, d, Q, C2, K, C2, P, T, 0);
        softmax_rows(c, l, P, T, scale, lse + (size_t)(b * H + h) * T, 0);
        exa_tg_gemm(&m->ws.buf[ith], 0, 0, T, d, T, P, T, Vv, C3, out + (size_t)b * T * Cq + h * d, Cq, 0);
    }
}

static void attn_bwd_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    const exa_tm_config *c = &m->cfg;
    int l = j->l, H = c->n_head, Hk = c->n_kv, d = c->head_dim, T = m->T, G = H / Hk;
    int Cq = H * d, Ckv = Hk * d, C3 = Cq + 2 * Ckv, C2 = Cq + Ckv, N = m->B * T;
    const float *qkr = m->qkr + (size_t)l * N * C2, *qkv = m->qkv + (size_t)l * N * C3;
    float *lse = m->att + (size_t)l * m->B * H * T;
    float scale = 1.0f / sqrtf((float)d);
    float *P = m->d_att + (size_t)ith * 2 * T * T, *dP = P + (size_t)T * T;
    const exa_tg_buf *buf = &m->ws.buf[ith];
    int b0, e0;
    exa_split(m->B * Hk, ith, nth, &b0, &e0);
    for (int task = b0; task < e0; task++) {
        int b = task / Hk, kh = task % Hk;
        const float *K = qkr + (size_t)b * T * C2 + Cq + kh * d;
        const float *Vv = qkv + (size_t)b * T * C3 + Cq + Ckv + kh * d;
        float *dK = m->d_qkr + (size_t)b * T * C2 + Cq + kh * d;
        float *dV = m->d_qkv + (size_t)b * T * C3 + Cq + Ckv + kh * d;
        for (int g = 0; g < G; g++) {
            int h = kh * G + g;
            const float *Q = qkr + (size_t)b * T * C2 + h * d;
            const float *dO = m->d_ao_in + (size_t)b * T * Cq + h * d;
            float *dQ = m->d_qkr + (size_t)b * T * C2 + h * d;
            exa_tg_gemm(buf, 0, 1, T, T, d, Q, C2, K, C2, P, T, 0); /* recompute P */
            softmax_rows(c, l, P, T, scale, lse + (size_t)(b * H + h) * T, 1);
            exa_tg_gemm(buf, 0, 1, T, T, d, dO, Cq, Vv, C3, dP, T, 0);
            exa_tg_gemm(buf, 1, 0, T, d, T, P, T, dO, Cq, dV, C3, g > 0);
            for (int i = 0; i < T; i++) {
                const float *pr = P + (size_t)i * T;
                float *dr = dP + (size_t)i * T, s = 0.0f;
                for (int jj = 0; jj <= i; jj++) s += pr[jj] * dr[jj];
                for (int jj = 0; jj <= i; jj++) dr[jj] = pr[jj] * (dr[jj] - s) * scale;
                for (int jj = i + 1; jj < T; jj++) dr[jj] = 0.0f;
            }
            exa_tg_gemm(buf, 0, 0, T, d, T, dP, T, K, C2, dQ, C2, 0);
            exa_tg_gemm(buf, 1, 0, T, d, T, dP, T, Q, C2, dK, C2, g > 0);
        }
    }
}

/* ---- SwiGLU (spec §2.5): gu = [gate | up] (N, 2F) ---- */
static void swiglu_fwd_w(void *p, int ith, int nth) {
    job *j = p;
    int F = j->dim, b, e;
    exa_split(j->rows, ith, nth, &b, &e);
    for (int r = b; r < e; r++) {
        const float *g = j->x + (size_t)r * 2 * F, *u = g + F;
        float *y = j->y + (size_t)r * F;
        for (int i = 0; i < F; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}
static void swiglu_bwd_w(void *p, int ith, int nth) {
    job *j = p;
    int F = j->dim, b, e;
    exa_split(j->rows, ith, nth, &b, &e);
    for (int r = b; r < e; r++) {
        const float *g = j->x + (size_t)r * 2 * F, *u = g + F, *dy = j->dy + (size_t)r * F;
        float *dg = j->dx + (size_t)r * 2 * F, *du = dg + F;
        for (int i = 0; i < F; i++) {
            float s = 1.0f / (1.0f + expf(-g[i])), si = g[i] * s;
            du[i] = dy[i] * si;
            dg[i] = dy[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
        }
    }
}

/* ---- embedding ---- */
static void embed_fwd_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    int D = m->cfg.dim, b, e;
    exa_split(m->B * m->T, ith, nth, &b, &e);
    for (int n = b; n < e; n++)
        memcpy(m->res + (size_t)n * D, m->params + m->emb + (size_t)m->tokens[n] * D, sizeof(float) * D);
}
static void embed_bwd_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    int D = m->cfg.dim, v0, v1, N = m->B * m->T;
    exa_split(m->cfg.vocab, ith, nth, &v0, &v1);
    float *gE = m->grads + m->emb;
    for (int n = 0; n < N; n++) {
        int t = m->tokens[n];
        if (t < v0 || t >= v1) continue;
        const float *dh = m->d_res + (size_t)n * D;
        float *ge = gE + (size_t)t * D;
        for (int i = 0; i < D; i++) ge[i] += dh[i];
    }
}

/* ---- head: softmax cross-entropy on a chunk of rows; logits become dlogits·scale ---- */
static void ce_w(void *p, int ith, int nth) {
    job *j = p;
    exa_tm_model *m = j->m;
    int V = m->cfg.vocab, b, e;
    exa_split(j->rows, ith, nth, &b, &e);
    for (int r = b; r < e; r++) {
        float *lg = m->logits + (size_t)r * V;
        int tgt = m->targets[j->r0 + r];
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) if (lg[i] > mx) mx = lg[i];
        double s = 0.0;
        for (int i = 0; i < V; i++) s += expf(lg[i] - mx);
        double lse = mx + log(s);
        m->loss_rows[j->r0 + r] = (float)(lse - lg[tgt]);
        if (j->scale > 0.0f) {
            float flse = (float)lse;
            for (int i = 0; i < V; i++) lg[i] = expf(lg[i] - flse) * j->scale;
            lg[tgt] -= j->scale;
        }
    }
}

#define GEMM(ta, tb, M, Nn, K, A, lda, Bm, ldb, C, ldc, beta) \
    exa_tg_gemm_mt(m->pool, &m->ws, ta, tb, M, Nn, K, A, lda, Bm, ldb, C, ldc, beta)

/* ---- LoRA: y += s·(x·Aᵀ)·Bᵀ, s = alpha/r; u = s·x·Aᵀ is kept for the backward pass ---- */
static int lora_on(const exa_tm_model *m, int l, int t) { return m->lparams && m->lA[l][t] != SIZE_MAX; }

static void lora_fwd(exa_tm_model *m, int l, int t, const float *x, int ldx, float *y, int ldy) {
    if (!lora_on(m, l, t)) return;
    size_t off;
    int in, out, r = m->lora.r, N = m->B * m->T;
    exa_tm_lora_target(m, l, t, &off, &in, &out);
    float *u = m->lu + ((size_t)l * EXA_LORA_NT + t) * N * r, s = m->lora.alpha / (float)r;
    GEMM(0, 1, N, r, in, x, ldx, m->lparams + m->lA[l][t], in, u, r, 0);
    for (size_t i = 0; i < (size_t)N * r; i++) u[i] *= s;
    GEMM(0, 1, N, out, r, u, r, m->lparams + m->lB[l][t], r, y, ldy, 1);
}

/* dB += dyᵀ·u; g = s·dy·B; dA += gᵀ·x; dx += g·A */
static void lora_bwd(exa_tm_model *m, int l, int t, const float *x, int ldx, const float *dy, int ldy, float *dx, int lddx) {
    if (!lora_on(m, l, t)) return;
    size_t off;
    int in, out, r = m->lora.r, N = m->B * m->T;
    exa_tm_lora_target(m, l, t, &off, &in, &out);
    const float *u = m->lu + ((size_t)l * EXA_LORA_NT + t) * N * r;
    float *g = m->lg, s = m->lora.alpha / (float)r;
    GEMM(1, 0, out, r, N, dy, ldy, u, r, m->lgrads + m->lB[l][t], r, 1);
    GEMM(0, 0, N, r, out, dy, ldy, m->lparams + m->lB[l][t], r, g, r, 0);
    for (size_t i = 0; i < (size_t)N * r; i++) g[i] *= s;
    GEMM(1, 0, r, in, N, g, r, x, ldx, m->lgrads + m->lA[l][t], in, 1);
    GEMM(0, 0, N, in, r, g, r, m->lparams + m->lA[l][t], in, dx, lddx, 1);
}

double exa_tm_step(exa_tm_model *m, float gscale) {
    const exa_tm_config *c = &m->cfg;
    int is4 = c->arch == EXA_ARCH_EXAONE4;
    int N = m->B * m->T, D = c->dim, H = c->n_head, Hk = c->n_kv, d = c->head_dim, F = c->ffn, V = c->vocab;
    int Cq = H * d, C3 = (H + 2 * Hk) * d;
    float *P = m->params, *Gr = m->grads;
    job j = {.m = m};
    run(m, embed_fwd_w, &j);
    for (int l = 0; l < c->n_layer; l++) {
        const exa_tm_layer *Ly = &m->layers[l];
        float *x = m->res + (size_t)l * N * D, *xo = m->res + (size_t)(l + 1) * N * D;
        float *qkv = m->qkv + (size_t)l * N * C3, *ao_in = m->ao_in + (size_t)l * N * Cq;
        float *h1 = m->h1 + (size_t)l * N * D, *gu = m->gu + (size_t)l * N * 2 * F, *sw = m->sw + (size_t)l * N * F;
        const float *ain = x;
        if (!is4) {
            rmsnorm_fwd(m, x, P + Ly->n1, NULL, m->a1 + (size_t)l * N * D, m->rstd_in1 + (size_t)l * N, N, D);
            ain = m->a1 + (size_t)l * N * D;
        }
        GEMM(0, 1, N, C3, D, ain, D, P + Ly->wqkv, D, qkv, C3, 0);
        lora_fwd(m, l, EXA_LORA_Q, ain, D, qkv, C3);
        lora_fwd(m, l, EXA_LORA_K, ain, D, qkv + Cq, C3);
        lora_fwd(m, l, EXA_LORA_V, ain, D, qkv + Cq + Hk * d, C3);
        j = (job){.m = m, .l = l};
        run(m, qk_fwd_w, &j);
        run(m, attn_fwd_w, &j);
        if (is4) {
            float *ao = m->ao + (size_t)l * N * D;
            GEMM(0, 1, N, D, Cq, ao_in, Cq, P + Ly->wo, Cq, ao, D, 0);
            lora_fwd(m, l, EXA_LORA_O, ao_in, Cq, ao, D);
            rmsnorm_fwd(m, ao, P + Ly->n1, x, h1, m->rstd1 + (size_t)l * N, N, D);
            GEMM(0, 1, N, 2 * F, D, h1, D, P + Ly->wgu, D, gu, 2 * F, 0);
            lora_fwd(m, l, EXA_LORA_GATE, h1, D, gu, 2 * F);
            lora_fwd(m, l, EXA_LORA_UP, h1, D, gu + F, 2 * F);
        } else {
            memcpy(h1, x, sizeof(float) * N * D);
            GEMM(0, 1, N, D, Cq, ao_in, Cq, P + Ly->wo, Cq, h1, D, 1);
            lora_fwd(m, l, EXA_LORA_O, ao_in, Cq, h1, D);
            float *a2 = m->a2 + (size_t)l * N * D;
            rmsnorm_fwd(m, h1, P + Ly->n2, NULL, a2, m->rstd_in2 + (size_t)l * N, N, D);
            GEMM(0, 1, N, 2 * F, D, a2, D, P + Ly->wgu, D, gu, 2 * F, 0);
            lora_fwd(m, l, EXA_LORA_GATE, a2, D, gu, 2 * F);
            lora_fwd(m, l, EXA_LORA_UP, a2, D, gu + F, 2 * F);
        }
        j = (job){.m = m, .x = gu, .y = sw, .rows = N, .dim = F};
        run(m, swiglu_fwd_w, &j);
        if (is4) {
            float *dn = m->dn + (size_t)l * N * D;
            GEMM(0, 1, N, D, F, sw, F, P + Ly->wd, F, dn, D, 0);
            lora_fwd(m, l, EXA_LORA_DOWN, sw, F, dn, D);
            rmsnorm_fwd(m, dn, P + Ly->n2, h1, xo, m->rstd2 + (size_t)l * N, N, D);
        } else {
            memcpy(xo, h1, sizeof(float) * N * D);
            GEMM(0, 1, N, D, F, sw, F, P + Ly->wd, F, xo, D, 1);
            lora_fwd(m, l, EXA_LORA_DOWN, sw, F, xo, D);
        }
    }
    const float *xL = m->res + (size_t)c->n_layer * N * D;
    rmsnorm_fwd(m, xL, P + m->normf, NULL, m->hn, m->rstd_f, N, D);
    /* head + loss (+ head backward) in chunks of rows */
    float *d_hn = m->d_dn;
    for (int r0 = 0; r0 < N; r0 += m->head_chunk) {
        int rows = EXA_MIN(m->head_chunk, N - r0);
        GEMM(0, 1, rows, V, D, m->hn + (size_t)r0 * D, D, P + m->lmh, D, m->logits, V, 0);
        j = (job){.m = m, .rows = rows, .r0 = r0, .scale = gscale};
        run(m, ce_w, &j);
        if (gscale > 0.0f) {
            GEMM(0, 0, rows, D, V, m->logits, V, P + m->lmh, D, d_hn + (size_t)r0 * D, D, 0);
            if (Gr) GEMM(1, 0, V, D, rows, m->logits, V, m->hn + (size_t)r0 * D, D, Gr + m->lmh, D, 1);
        }
    }
    double loss = 0.0;
    for (int n = 0; n < N; n++) loss += m->loss_rows[n];
    loss /= N;
    if (gscale <= 0.0f) return loss;

    /* ---- backward (Gr == NULL: base frozen, only LoRA adapters get gradients) ---- */
#define GW(off) (Gr ? Gr + (off) : NULL)
    rmsnorm_bwd(m, xL, P + m->normf, m->rstd_f, d_hn, m->d_res, 0, GW(m->normf), N, D);
    for (int l = c->n_layer - 1; l >= 0; l--) {
        const exa_tm_layer *Ly = &m->layers[l];
        float *x = m->res + (size_t)l * N * D;
        float *ao_in = m->ao_in + (size_t)l * N * Cq;
        float *h1 = m->h1 + (size_t)l * N * D, *gu = m->gu + (size_t)l * N * 2 * F, *sw = m->sw + (size_t)l * N * F;
        const float *dmlp = m->d_res; /* gradient at the MLP output (before its residual add) */
        if (is4) {
            rmsnorm_bwd(m, m->dn + (size_t)l * N * D, P + Ly->n2, m->rstd2 + (size_t)l * N, m->d_res, m->d_dn, 0,
                        GW(Ly->n2), N, D);
            dmlp = m->d_dn;
        }
        GEMM(0, 0, N, F, D, dmlp, D, P + Ly->wd, F, m->d_sw, F, 0);
        if (Gr) GEMM(1, 0, D, F, N, dmlp, D, sw, F, Gr + Ly->wd, F, 1);
        lora_bwd(m, l, EXA_LORA_DOWN, sw, F, dmlp, D, m->d_sw, F);
        j = (job){.m = m, .x = gu, .dy = m->d_sw, .dx = m->d_gu, .rows = N, .dim = F};
        run(m, swiglu_bwd_w, &j);
        const float *min_ = is4 ? h1 : m->a2 + (size_t)l * N * D;
        if (Gr) GEMM(1, 0, 2 * F, D, N, m->d_gu, 2 * F, min_, D, Gr + Ly->wgu, D, 1);
        float *dmin = is4 ? m->d_res : m->d_ao; /* gradient at the MLP input */
        GEMM(0, 0, N, D, 2 * F, m->d_gu, 2 * F, P + Ly->wgu, D, dmin, D, is4); /* is4: d_res += (d h1) */
        lora_bwd(m, l, EXA_LORA_GATE, min_, D, m->d_gu, 2 * F, dmin, D);
        lora_bwd(m, l, EXA_LORA_UP, min_, D, m->d_gu + F, 2 * F, dmin, D);
        if (is4)
            rmsnorm_bwd(m, m->ao + (size_t)l * N * D, P + Ly->n1, m->rstd1 + (size_t)l * N, m->d_res, m->d_ao, 0,
                        GW(Ly->n1), N, D);
        else
            rmsnorm_bwd(m, h1, P + Ly->n2, m->rstd_in2 + (size_t)l * N, m->d_ao, m->d_res, 1, GW(Ly->n2), N, D);
        const float *dattn = is4 ? m->d_ao : m->d_res; /* gradient at the o_proj output */
        GEMM(0, 0, N, Cq, D, dattn, D, P + Ly->wo, Cq, m->d_ao_in, Cq, 0);
        if (Gr) GEMM(1, 0, D, Cq, N, dattn, D, ao_in, Cq, Gr + Ly->wo, Cq, 1);
        lora_bwd(m, l, EXA_LORA_O, ao_in, Cq, dattn, D, m->d_ao_in, Cq);
        j = (job){.m = m, .l = l};
        run(m, attn_bwd_w, &j);
        run(m, qk_bwd_w, &j);
        if (is4) {
            reduce_part(m, N, d, 2 * d, 0, GW(Ly->qn));
            reduce_part(m, N, d, 2 * d, d, GW(Ly->kn));
        }
        const float *ain = is4 ? x : m->a1 + (size_t)l * N * D;
        if (Gr) GEMM(1, 0, C3, D, N, m->d_qkv, C3, ain, D, Gr + Ly->wqkv, D, 1);
        float *dain = is4 ? m->d_res : m->d_ao;
        GEMM(0, 0, N, D, C3, m->d_qkv, C3, P + Ly->wqkv, D, dain, D, is4);
        lora_bwd(m, l, EXA_LORA_Q, ain, D, m->d_qkv, C3, dain, D);
        lora_bwd(m, l, EXA_LORA_K, ain, D, m->d_qkv + Cq, C3, dain, D);
        lora_bwd(m, l, EXA_LORA_V, ain, D, m->d_qkv + Cq + Hk * d, C3, dain, D);
        if (!is4) rmsnorm_bwd(m, x, P + Ly->n1, m->rstd_in1 + (size_t)l * N, m->d_ao, m->d_res, 1, GW(Ly->n1), N, D);
    }
#undef GW
    j = (job){.m = m};
    if (Gr) run(m, embed_bwd_w, &j);
    return loss;
}
