/* context.c — inference state and the forward pass. A context owns the KV cache of n_seq
 * sequences and the scratch buffers for batches of up to n_batch tokens. exa_context_decode runs
 * one forward pass over a batch that may mix sequences (the server's continuous batching):
 * matrix products see all tokens at once; attention reads each token's own sequence.
 *
 * KV cache: per sequence and layer, K and V of shape (Hkv, cap, d) in the context's cache type
 * (exa_kv_type: f16 by default, f32, bf16, or Q8_0 blocks of 32 values within one head vector),
 * position p at slot p % cap. Head-major: the attention streams one KV head's positions at a time,
 * and contiguous rows measured ~2.5x faster than (cap, Hkv·d) rows read with a stride (bench/attn).
 * Head vectors are rounded when written and widened to f32 by the attention kernel
 * (kernels/attn.h). Global layers: cap = n_ctx. Sliding-window layers (EXAONE 4.0 hybrid) keep a ring of
 * cap = min(n_ctx, W + n_batch): a batch writes all its keys before attending, and with that
 * capacity no key a query of the batch still needs can have been overwritten. RoPE is applied
 * before caching (spec §4: local keys are cached rotated, NoPE global keys unrotated). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/attn.h"
#include "model/model.h"

struct exa_context {
    exa_model *m;
    exa_context_params p;
    exa_pool *pool;
    char errmsg[512];
    /* KV cache */
    uint8_t *kv;        /* one allocation for everything */
    uint8_t **k, **v;   /* (n_seq·L) pointers to (Hkv, cap_l) head vectors of head_bytes each */
    exa_dtype kvt;      /* element type of the cache rows (F32, F16, BF16, Q8_0) */
    size_t kv_row;      /* bytes of one position's Hkv head vectors (= Hkv · head_bytes) */
    size_t head_bytes;  /* bytes of one cached head vector of d values */
    size_t kv_bytes;    /* size of kv */
    int *cap;           /* (L) slots per layer */
    int *seq_len;       /* (n_seq) next position of each sequence */
    /* scratch, B = n_batch */
    float *x, *xb;      /* (B, D) residual stream, branch output */
    float *q, *att;     /* (B, H·d) */
    float *kb, *vb;     /* (B, Hkv·d) */
    float *g, *u;       /* (B, F) */
    float *cos_, *sin_; /* (B, d/2) */
    float *scores;      /* (n_threads, G·n_ctx) attention weights */
    float *inv_freq;    /* (d/2) */
    int32_t *seq_pos;   /* (B) scratch for validation */
    /* outputs of the last batch */
    float *logits;      /* (n_out, V) */
    int logits_cap;     /* rows allocated */
    int *out_row;       /* (B) row in logits for token i, or -1 */
    int n_last;
};

exa_context_params exa_context_default_params(void) {
    exa_context_params p = {.n_ctx = 0, .n_batch = 512, .n_seq = 1, .n_threads = 0, .kv_type = EXA_KV_F16};
    return p;
}

/* ---- kv cache type ---- */
static const struct { const char *name; exa_kv_type t; exa_dtype dt; } kv_types[] = {
    {"f16", EXA_KV_F16, EXA_DTYPE_F16}, {"f32", EXA_KV_F32, EXA_DTYPE_F32},
    {"bf16", EXA_KV_BF16, EXA_DTYPE_BF16}, {"q8_0", EXA_KV_Q8_0, EXA_DTYPE_Q8_0},
};
#define N_KV_TYPES (int)(sizeof kv_types / sizeof kv_types[0])

const char *exa_kv_type_name(exa_kv_type t) {
    for (int i = 0; i < N_KV_TYPES; i++)
        if (kv_types[i].t == t) return kv_types[i].name;
    return "?";
}

int exa_kv_type_from_name(const char *name, exa_kv_type *out) {
    if (!name) return 0;
    for (int i = 0; i < N_KV_TYPES; i++)
        if (!strcasecmp(name, kv_types[i].name)) { *out = kv_types[i].t; return 1; }
    return 0;
}

static int kv_dtype(exa_kv_type t, exa_dtype *out) {
    for (int i = 0; i < N_KV_TYPES; i++)
        if (kv_types[i].t == t) { *out = kv_types[i].dt; return 1; }
    return 0;
}

size_t exa_kv_type_bytes(exa_kv_type t, int n_heads, int head_dim) {
    exa_dtype dt;
    return n_heads > 0 && kv_dtype(t, &dt) ? (size_t)n_heads * exa_attn_head_bytes(dt, head_dim) : 0;
}

size_t exa_context_kv_bytes(const exa_context *c) { return c ? c->kv_bytes : 0; }
/* ---- end kv cache type ---- */

const char *exa_context_errmsg(const exa_context *ctx) { return ctx ? ctx->errmsg : "NULL context"; }
int exa_context_n_vocab(const exa_context *ctx) { return ctx->m->hp.n_vocab; }

void exa_context_free(exa_context *c) {
    if (!c) return;
    exa_pool_free(c->pool);
    free(c->kv); free(c->k); free(c->v); free(c->cap); free(c->seq_len);
    free(c->x); free(c->xb); free(c->q); free(c->att); free(c->kb); free(c->vb); free(c->g); free(c->u);
    free(c->cos_); free(c->sin_); free(c->scores); free(c->inv_freq); free(c->seq_pos);
    free(c->logits); free(c->out_row);
    free(c);
}

static float *alloc_f(size_t a, size_t b) {
    size_t n;
    if (!exa_mul_ok(a, b, &n) || !exa_mul_ok(n, sizeof(float), &n)) return NULL;
    return exa_aligned_alloc(n);
}

exa_status exa_context_init(exa_model *m, const exa_context_params *params, exa_context **out, char *err, size_t err_size) {
    if (!m || !out) return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "exa_context_init: NULL argument");
    *out = NULL;
    exa_context_params p = params ? *params : exa_context_default_params();
    const exa_hparams *hp = &m->hp;
    if (p.n_ctx <= 0) p.n_ctx = EXA_MIN(hp->n_ctx_train > 0 ? hp->n_ctx_train : 4096, 4096);
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_seq <= 0) p.n_seq = 1;
    if (p.n_ctx > (1 << 24) || p.n_seq > 4096 || p.n_batch > (1 << 20))
        return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "context parameters out of range (n_ctx %d, n_seq %d, n_batch %d)", p.n_ctx, p.n_seq, p.n_batch);
    exa_context *c = calloc(1, sizeof *c);
    if (!c) return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory");
    c->m = m;
    c->p = p;
    c->pool = exa_pool_init(p.n_threads);
    c->p.n_threads = exa_pool_size(c->pool);
    const int L = hp->n_layer, B = p.n_batch, D = hp->n_embd, d = hp->head_dim;
    const size_t KVd = (size_t)hp->n_head_kv * (size_t)d, Hd = (size_t)hp->n_head * (size_t)d;
    if (!kv_dtype(p.kv_type, &c->kvt) || !exa_attn_type_ok(c->kvt, d)) {
        exa_context_free(c);
        return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "KV cache type %d (%s) is not supported for head dimension %d",
                       (int)p.kv_type, exa_kv_type_name(p.kv_type), d);
    }
    c->head_bytes = exa_attn_head_bytes(c->kvt, d);
    c->kv_row = (size_t)hp->n_head_kv * c->head_bytes;
    c->cap = calloc((size_t)L, sizeof *c->cap);
    c->seq_len = calloc((size_t)p.n_seq, sizeof *c->seq_len);
    c->k = calloc((size_t)p.n_seq * (size_t)L, sizeof *c->k);
    c->v = calloc((size_t)p.n_seq * (size_t)L, sizeof *c->v);
    size_t total = 0; /* rows */
    if (c->cap && c->seq_len && c->k && c->v) {
        for (int l = 0; l < L; l++) {
            c->cap[l] = hp->layer_sliding[l] ? EXA_MIN(p.n_ctx, hp->sliding_window + B) : p.n_ctx;
            total += (size_t)c->cap[l] * 2;
        }
        size_t bytes;
        if (exa_mul_ok(total, (size_t)p.n_seq, &total) && exa_mul_ok(total, c->kv_row, &bytes) && bytes <= EXA_MAX_ALLOC) {
            c->kv = calloc(bytes, 1);
            c->kv_bytes = bytes;
        }
    }
    if (!c->kv) {
        exa_context_free(c);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "cannot allocate the KV cache (%d sequences × %d positions)", p.n_seq, p.n_ctx);
    }
    uint8_t *at = c->kv;
    for (int s = 0; s < p.n_seq; s++)
        for (int l = 0; l < L; l++) {
            c->k[s * L + l] = at; at += (size_t)c->cap[l] * c->kv_row;
            c->v[s * L + l] = at; at += (size_t)c->cap[l] * c->kv_row;
        }
    c->x = alloc_f((size_t)B, (size_t)D);
    c->xb = alloc_f((size_t)B, (size_t)D);
    c->q = alloc_f((size_t)B, Hd);
    c->att = alloc_f((size_t)B, Hd);
    c->kb = alloc_f((size_t)B, KVd);
    c->vb = alloc_f((size_t)B, KVd);
    c->g = alloc_f((size_t)B, (size_t)hp->n_ff);
    c->u = alloc_f((size_t)B, (size_t)hp->n_ff);
    c->cos_ = alloc_f((size_t)B, (size_t)d / 2);
    c->sin_ = alloc_f((size_t)B, (size_t)d / 2);
    c->scores = alloc_f((size_t)c->p.n_threads * (size_t)(hp->n_head / hp->n_head_kv), (size_t)p.n_ctx);
    c->inv_freq = alloc_f((size_t)d / 2, 1);
    c->seq_pos = calloc((size_t)B, sizeof *c->seq_pos);
    c->out_row = calloc((size_t)B, sizeof *c->out_row);
    if (!c->x || !c->xb || !c->q || !c->att || !c->kb || !c->vb || !c->g || !c->u || !c->cos_ || !c->sin_ ||
        !c->scores || !c->inv_freq || !c->seq_pos || !c->out_row || !c->pool) {
        exa_context_free(c);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory allocating the context");
    }
    exa_rope_inv_freq(hp, c->inv_freq);
    *out = c;
    return EXA_OK;
}

int exa_context_seq_len(const exa_context *c, int seq) {
    return (c && seq >= 0 && seq < c->p.n_seq) ? c->seq_len[seq] : -1;
}

size_t exa_context_kv_read_bytes(const exa_context *c, int n_pos) {
    if (!c || n_pos <= 0) return 0;
    const exa_hparams *hp = &c->m->hp;
    size_t keys = 0; /* visible positions summed over layers (spec §2.4: window W on sliding layers) */
    for (int l = 0; l < hp->n_layer; l++) keys += (size_t)(hp->layer_sliding[l] ? EXA_MIN(n_pos, hp->sliding_window) : n_pos);
    return keys * 2 * c->kv_row; /* kv_row: bytes of one position's Hkv head vectors in the cache type */
}

void exa_context_seq_reset(exa_context *c, int seq) {
    if (c && seq >= 0 && seq < c->p.n_seq) c->seq_len[seq] = 0;
}

/* Can the first n positions of seq be used as a prefix? Sliding layers must still hold the keys
 * of positions [n - W, n) in their rings: the ring holds positions [len - cap, len). */
static exa_status check_prefix(exa_context *c, int seq, int n) {
    const exa_hparams *hp = &c->m->hp;
    if (seq < 0 || seq >= c->p.n_seq || n < 0 || n > c->seq_len[seq])
        return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "sequence %d has no prefix of %d positions", seq, n);
    for (int l = 0; l < hp->n_layer; l++)
        if (c->seq_len[seq] - c->cap[l] > EXA_MAX(0, n - (hp->layer_sliding[l] ? hp->sliding_window : n)))
            return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG,
                           "sequence %d: positions before %d were already evicted from the sliding-window cache", seq, n);
    return EXA_OK;
}

exa_status exa_context_seq_truncate(exa_context *c, int seq, int n) {
    if (!c) return EXA_ERR_INVALID_ARG;
    exa_status st = check_prefix(c, seq, n);
    if (st == EXA_OK) c->seq_len[seq] = n;
    return st;
}

exa_status exa_context_seq_copy(exa_context *c, int src, int dst, int n) {
    if (!c) return EXA_ERR_INVALID_ARG;
    if (dst < 0 || dst >= c->p.n_seq) return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "sequence %d out of range", dst);
    exa_status st = check_prefix(c, src, n);
    if (st != EXA_OK || src == dst) return st;
    const int L = c->m->hp.n_layer, Hkv = c->m->hp.n_head_kv;
    const size_t hb = c->head_bytes;
    for (int l = 0; l < L; l++) {
        const int cap = c->cap[l];
        for (int h = 0; h < Hkv; h++)
            for (int p = EXA_MAX(0, n - cap); p < n; p++) { /* slot p % cap is the same in both rings */
                size_t o = ((size_t)h * (size_t)cap + (size_t)(p % cap)) * hb;
                memcpy(c->k[dst * L + l] + o, c->k[src * L + l] + o, hb);
                memcpy(c->v[dst * L + l] + o, c->v[src * L + l] + o, hb);
            }
    }
    c->seq_len[dst] = n;
    return EXA_OK;
}

/* ---- attention ----------------------------------------------------------------------------- */

typedef struct {
    exa_context *c;
    int l, T;
    const exa_batch *b;
    exa_attn_fn fn;
} attn_job;

/* One (token, KV head) pair per work item: the G = H/Hkv query heads sharing that KV head are
 * processed together, so each cached K and V row is read once for all of them (kernels/attn.h:
 * scores, softmax and the weighted sum of values in f32). REF: spec §2.4 (GQA: query head h uses
 * KV head h/G; sliding window: key j visible iff j <= i and i - j < W). */
static void attn_worker(void *arg, int ith, int nth) {
    attn_job *j = arg;
    exa_context *c = j->c;
    const exa_hparams *hp = &c->m->hp;
    const int H = hp->n_head, Hkv = hp->n_head_kv, d = hp->head_dim, G = H / Hkv, L = hp->n_layer;
    const size_t Hd = (size_t)H * (size_t)d;
    const int W = hp->layer_sliding[j->l] ? hp->sliding_window : 0;
    exa_attn_args a = {
        .type = c->kvt, .stride = c->head_bytes, .cap = c->cap[j->l], .d = d, .G = G,
        .q_stride = (size_t)d, .out_stride = (size_t)d, .scale = 1.0f / sqrtf((float)d),
        .scratch = c->scores + (size_t)ith * (size_t)G * (size_t)c->p.n_ctx,
    };
    const size_t head_off = (size_t)c->cap[j->l] * c->head_bytes; /* bytes of one KV head's ring */
    /* KV-head-major order: a thread walks the tokens of one KV head (its rows stay in cache), and
     * contiguous ranges give every thread whole heads, i.e. equal shares of a prompt's causal
     * triangle (token-major ranges gave the first thread the short early rows) */
    int b, e;
    exa_split(j->T * Hkv, ith, nth, &b, &e);
    for (int it = b; it < e; it++) {
        const int kvh = it / j->T, i = it % j->T;
        const int s = j->b->seq[i], p = j->b->pos[i];
        a.k = c->k[s * L + j->l] + (size_t)kvh * head_off;
        a.v = c->v[s * L + j->l] + (size_t)kvh * head_off;
        a.lo = W ? EXA_MAX(0, p - W + 1) : 0;
        a.hi = p;
        a.q = c->q + (size_t)i * Hd + (size_t)kvh * (size_t)G * (size_t)d;
        a.out = c->att + (size_t)i * Hd + (size_t)kvh * (size_t)G * (size_t)d;
        j->fn(&a);
    }
}

/* ---- forward pass -------------------------------------------------------------------------- */

static exa_status validate_batch(exa_context *c, const exa_batch *b) {
    const exa_hparams *hp = &c->m->hp;
    if (!b || b->n_tokens <= 0 || !b->token || !b->pos || !b->seq)
        return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "empty or incomplete batch");
    if (b->n_tokens > c->p.n_batch)
        return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "batch of %d tokens exceeds n_batch %d", b->n_tokens, c->p.n_batch);
    for (int i = 0; i < b->n_tokens; i++) {
        int s = b->seq[i];
        if (s < 0 || s >= c->p.n_seq)
            return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "token %d: sequence %d out of range [0, %d)", i, s, c->p.n_seq);
        if (b->token[i] < 0 || b->token[i] >= hp->n_vocab)
            return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "token %d: id %d out of range [0, %d)", i, b->token[i], hp->n_vocab);
    }
    /* positions must continue each sequence exactly */
    for (int i = 0; i < b->n_tokens; i++) {
        int s = b->seq[i], expect = c->seq_len[s];
        for (int k = 0; k < i; k++) expect += b->seq[k] == s;
        if (b->pos[i] != expect)
            return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "token %d: position %d, expected %d for sequence %d", i, b->pos[i], expect, s);
        if (b->pos[i] >= c->p.n_ctx)
            return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_FULL, "sequence %d is full (context of %d positions)", s, c->p.n_ctx);
    }
    return EXA_OK;
}

/* ---- per-token work between the matrix products ------------------------------------------ */

/* Norms, RoPE, cache writes, residual adds and the SiLU gate touch one token's rows each; with
 * several tokens (batched decoding, prompts) they are split over the pool by tokens so the
 * other threads do not wait for one thread's elementwise loops. */
typedef enum { TOK_ATTN_IN, TOK_QK, TOK_ATTN_OUT, TOK_MLP_ACT, TOK_MLP_OUT } tok_stage;

static void tok_stage_run(exa_context *c, const exa_batch *b, int l, tok_stage st, int i) {
    const exa_model *m = c->m;
    const exa_hparams *hp = &m->hp;
    const exa_layer *ly = &m->layers[l];
    const int D = hp->n_embd, d = hp->head_dim, H = hp->n_head, Hkv = hp->n_head_kv, F = hp->n_ff, L = hp->n_layer, d2 = d / 2;
    const size_t KVd = (size_t)Hkv * (size_t)d, Hd = (size_t)H * (size_t)d;
    const int is3 = hp->arch == EXA_ARCH_EXAONE;
    float *xi = c->x + (size_t)i * D, *oi = c->xb + (size_t)i * D;
    switch (st) {
    case TOK_ATTN_IN: /* 3.x: attention input RMSNorm_ln1(h) (spec §3) */
        exa_rmsnorm(oi, xi, ly->ln1, D, hp->norm_eps);
        break;
    case TOK_QK: {
        float *qi = c->q + (size_t)i * Hd, *ki = c->kb + (size_t)i * KVd;
        if (!is3) { /* per-head QK RMSNorm before RoPE (spec §4, pitfall 2) */
            for (int h = 0; h < H; h++) exa_rmsnorm(qi + (size_t)h * d, qi + (size_t)h * d, ly->q_norm, d, hp->norm_eps);
            for (int h = 0; h < Hkv; h++) exa_rmsnorm(ki + (size_t)h * d, ki + (size_t)h * d, ly->k_norm, d, hp->norm_eps);
        }
        if (hp->layer_rope[l]) { /* NoPE on global layers of hybrid 4.0 models (pitfall 3) */
            const float *cs = c->cos_ + (size_t)i * d2, *sn = c->sin_ + (size_t)i * d2;
            for (int h = 0; h < H; h++) exa_rope_neox(qi + (size_t)h * d, cs, sn, d);
            for (int h = 0; h < Hkv; h++) exa_rope_neox(ki + (size_t)h * d, cs, sn, d);
        }
        /* write K, V into the cache slot of this position (tokens of a batch never share a slot) */
        const int s = b->seq[i], slot = b->pos[i] % c->cap[l];
        const float *vi = c->vb + (size_t)i * KVd;
        for (int h = 0; h < Hkv; h++) {
            const size_t o = ((size_t)h * (size_t)c->cap[l] + (size_t)slot) * c->head_bytes;
            exa_attn_store_row(c->kvt, ki + (size_t)h * d, c->k[s * L + l] + o, 1, d);
            exa_attn_store_row(c->kvt, vi + (size_t)h * d, c->v[s * L + l] + o, 1, d);
        }
        break;
    }
    case TOK_ATTN_OUT: /* h += post-norm(attn) for 4.0, h += attn for 3.x, whose MLP input is RMSNorm_ln2(h) */
        if (!is3) exa_rmsnorm(oi, oi, ly->post_attn, D, hp->norm_eps);
        for (int k = 0; k < D; k++) xi[k] += oi[k];
        if (is3) exa_rmsnorm(oi, xi, ly->ln2, D, hp->norm_eps);
        break;
    case TOK_MLP_ACT:
        exa_silu_mul(c->g + (size_t)i * F, c->g + (size_t)i * F, c->u + (size_t)i * F, F);
        break;
    case TOK_MLP_OUT:
        if (!is3) exa_rmsnorm(oi, oi, ly->post_ffn, D, hp->norm_eps);
        for (int k = 0; k < D; k++) xi[k] += oi[k];
        break;
    }
}

typedef struct { exa_context *c; const exa_batch *b; int l; tok_stage st; } tok_job;

static void tok_worker(void *arg, int ith, int nth) {
    const tok_job *j = arg;
    int b, e;
    exa_split(j->b->n_tokens, ith, nth, &b, &e);
    for (int i = b; i < e; i++) tok_stage_run(j->c, j->b, j->l, j->st, i);
}

static void for_tokens(exa_context *c, const exa_batch *b, int l, tok_stage st) {
    tok_job j = {c, b, l, st};
    if (b->n_tokens > 1) exa_pool_run(c->pool, tok_worker, &j); /* one token: not worth a synchronisation */
    else tok_worker(&j, 0, 1);
}

exa_status exa_context_decode(exa_context *c, const exa_batch *b) {
    if (!c) return EXA_ERR_INVALID_ARG;
    exa_status st = validate_batch(c, b);
    if (st != EXA_OK) return st;
    exa_model *m = c->m;
    const exa_hparams *hp = &m->hp;
    const int T = b->n_tokens, D = hp->n_embd, d = hp->head_dim, V = hp->n_vocab, L = hp->n_layer, d2 = d / 2;
    const int is3 = hp->arch == EXA_ARCH_EXAONE;

    /* which tokens produce logits */
    int n_out = 0;
    for (int i = 0; i < T; i++) {
        int want = b->want_logits ? b->want_logits[i] != 0 : i == T - 1;
        c->out_row[i] = want ? n_out++ : -1;
    }
    if (n_out > c->logits_cap) {
        float *nl = alloc_f((size_t)n_out, (size_t)V);
        if (!nl) return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_NOMEM, "out of memory for %d rows of logits", n_out);
        free(c->logits);
        c->logits = nl;
        c->logits_cap = n_out;
    }

    /* embeddings (no scaling, spec §2.6) and rotary tables for this batch's positions */
    for (int i = 0; i < T; i++) {
        exa_row_to_f32(m->tok_emb.dtype, m->tok_emb.data, D, b->token[i], c->x + (size_t)i * D);
        for (int k = 0; k < d2; k++) {
            float a = (float)b->pos[i] * c->inv_freq[k];
            c->cos_[(size_t)i * d2 + k] = cosf(a);
            c->sin_[(size_t)i * d2 + k] = sinf(a);
        }
    }

    for (int l = 0; l < L; l++) {
        const exa_layer *ly = &m->layers[l];
        /* attention input: RMSNorm_ln1(h) for 3.x, the raw stream for 4.0 (spec §3, §4) */
        if (is3) for_tokens(c, b, l, TOK_ATTN_IN);
        { /* q (T, H·d), k and v (T, Hkv·d): one pass over the pool */
            const exa_mat *w[3] = {&ly->wq, &ly->wk, &ly->wv};
            float *y[3] = {c->q, c->kb, c->vb};
            exa_matmul_n(c->pool, 3, w, is3 ? c->xb : c->x, T, y);
        }
        for_tokens(c, b, l, TOK_QK);                       /* QK norms, RoPE, K/V into the cache */
        attn_job aj = {c, l, T, b, exa_attn_get(c->kvt, exa_cpu_active(), d)};
        exa_pool_run(c->pool, attn_worker, &aj);           /* att: (T, H·d) */
        exa_matmul(c->pool, &ly->wo, c->att, T, c->xb);    /* (T, D) */
        for_tokens(c, b, l, TOK_ATTN_OUT);                 /* residual; 3.x: MLP input RMSNorm_ln2(h) */
        { /* gate and up (T, F), one pass; MLP input: the raw stream for 4.0 */
            const exa_mat *w[2] = {&ly->gate, &ly->up};
            float *y[2] = {c->g, c->u};
            exa_matmul_n(c->pool, 2, w, is3 ? c->xb : c->x, T, y);
        }
        for_tokens(c, b, l, TOK_MLP_ACT);                  /* g = silu(g) ⊙ u */
        exa_matmul(c->pool, &ly->down, c->g, T, c->xb);    /* (T, D) */
        for_tokens(c, b, l, TOK_MLP_OUT);                  /* residual */
    }

    /* final norm on the tokens that want logits, gathered densely into xb, then the LM head */
    for (int i = 0; i < T; i++)
        if (c->out_row[i] >= 0)
            exa_rmsnorm(c->xb + (size_t)c->out_row[i] * D, c->x + (size_t)i * D, m->norm_final, D, hp->norm_eps);
    if (n_out) exa_matmul(c->pool, &m->lm_head, c->xb, n_out, c->logits); /* (n_out, V) */

    for (int i = 0; i < T; i++) c->seq_len[b->seq[i]]++;
    c->n_last = T;
    return EXA_OK;
}

const float *exa_context_logits(const exa_context *c, int i) {
    if (c && i < 0) i += c->n_last;
    if (!c || i < 0 || i >= c->n_last || c->out_row[i] < 0) return NULL;
    return c->logits + (size_t)c->out_row[i] * (size_t)c->m->hp.n_vocab;
}

exa_status exa_context_eval(exa_context *c, int seq, const int32_t *tokens, int n, int all_logits) {
    if (!c) return EXA_ERR_INVALID_ARG;
    if (seq < 0 || seq >= c->p.n_seq || n <= 0 || !tokens)
        return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "exa_context_eval: bad sequence or empty input");
    /* a prompt longer than n_batch is processed in chunks; logits of earlier chunks are kept
     * only when all_logits is requested — then the caller gets just the last chunk's rows. */
    if (all_logits && n > c->p.n_batch)
        return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_INVALID_ARG, "all_logits needs n (%d) <= n_batch (%d)", n, c->p.n_batch);
    if (c->seq_len[seq] + n > c->p.n_ctx)
        return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_FULL, "%d tokens do not fit: sequence %d holds %d of %d positions", n, seq, c->seq_len[seq], c->p.n_ctx);
    int32_t *pos = malloc((size_t)c->p.n_batch * sizeof *pos), *sq = malloc((size_t)c->p.n_batch * sizeof *sq);
    int8_t *want = malloc((size_t)c->p.n_batch);
    if (!pos || !sq || !want) { free(pos); free(sq); free(want); return exa_err(c->errmsg, sizeof c->errmsg, EXA_ERR_NOMEM, "out of memory"); }
    exa_status st = EXA_OK;
    for (int done = 0; done < n && st == EXA_OK;) {
        int chunk = EXA_MIN(n - done, c->p.n_batch);
        for (int i = 0; i < chunk; i++) {
            pos[i] = c->seq_len[seq] + i;
            sq[i] = seq;
            want[i] = all_logits || (done + i == n - 1);
        }
        exa_batch b = {chunk, tokens + done, pos, sq, want};
        st = exa_context_decode(c, &b);
        done += chunk;
    }
    free(pos); free(sq); free(want);
    return st;
}
