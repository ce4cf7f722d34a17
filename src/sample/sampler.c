/* sampler.c — picks the next token from logits. Order follows Hugging Face's generate():
 * repetition penalty, then (unless greedy) temperature, top-k, top-p, min-p, and a draw from
 * the remaining distribution with a seeded xorshift RNG (same seed, same output). Owns the
 * candidate buffer and the recent-token history used by the penalty. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

typedef struct { int32_t id; float logit; } cand;

struct exa_sampler {
    exa_sampler_params p;
    int n_vocab;
    cand *c;            /* (V) */
    float *work;        /* (V) penalised logits */
    int32_t *hist;      /* ring of the last repeat_last_n tokens */
    int hist_n, hist_at;
    uint64_t rng;
};

exa_sampler_params exa_sampler_default_params(void) {
    exa_sampler_params p = {.temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                            .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 0x5eed};
    return p;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

exa_sampler *exa_sampler_init(const exa_sampler_params *params, int n_vocab) {
    if (n_vocab <= 0) return NULL;
    exa_sampler *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = params ? *params : exa_sampler_default_params();
    if (s->p.repeat_last_n < 0) s->p.repeat_last_n = 0;
    s->n_vocab = n_vocab;
    s->c = exa_calloc((size_t)n_vocab, sizeof *s->c);
    s->work = exa_calloc((size_t)n_vocab, sizeof *s->work);
    s->hist = exa_calloc((size_t)(s->p.repeat_last_n > 0 ? s->p.repeat_last_n : 1), sizeof *s->hist);
    if (!s->c || !s->work || !s->hist) { exa_sampler_free(s); return NULL; }
    exa_sampler_reset(s);
    return s;
}

void exa_sampler_free(exa_sampler *s) {
    if (!s) return;
    free(s->c); free(s->work); free(s->hist);
    free(s);
}

void exa_sampler_reset(exa_sampler *s) {
    if (!s) return;
    s->hist_n = s->hist_at = 0;
    s->rng = s->p.seed;
}

void exa_sampler_accept(exa_sampler *s, int32_t tok) {
    if (!s || s->p.repeat_last_n <= 0) return;
    s->hist[s->hist_at] = tok;
    s->hist_at = (s->hist_at + 1) % s->p.repeat_last_n;
    if (s->hist_n < s->p.repeat_last_n) s->hist_n++;
}

static int cmp_desc(const void *a, const void *b) {
    float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
    if (x != y) return x < y ? 1 : -1;
    return ((const cand *)a)->id - ((const cand *)b)->id; /* ties: lower id first (deterministic) */
}

/* Partial selection (quickselect, median-of-three pivots): afterwards c[0..m) hold the m best
 * candidates (in cmp_desc order), in no particular order among themselves. Deterministic. */
static void select_top(cand *c, int n, int m) {
    int lo = 0, hi = n - 1;
    while (lo < hi && m > lo && m <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cmp_desc(&c[mid], &c[lo]) < 0) { cand t = c[mid]; c[mid] = c[lo]; c[lo] = t; }
        if (cmp_desc(&c[hi], &c[lo]) < 0) { cand t = c[hi]; c[hi] = c[lo]; c[lo] = t; }
        if (cmp_desc(&c[hi], &c[mid]) < 0) { cand t = c[hi]; c[hi] = c[mid]; c[mid] = t; }
        cand pivot = c[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (cmp_desc(&c[i], &pivot) < 0) i++;
            while (cmp_desc(&c[j], &pivot) > 0) j--;
            if (i <= j) { cand t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        if (m <= j) hi = j;
        else if (m >= i) lo = i;
        else break;
    }
}

/* index of the largest of w[0..n) (the first on ties; NaNs never win; 0 when nothing beats -inf).
 * Chunks of 64 values: their maximum from 8 independent running maxima (no loop-carried chain
 * through an index, so the compiler keeps it in vector registers), and only a chunk that beats
 * the best so far is searched for its index. ~10x faster than the one-chain scan on a 100k
 * vocabulary, which the server ran for every sequence of every step. */
static int argmax(const float *w, int n) {
    int best = 0, i = 0;
    float bv = -INFINITY;
    for (; i + 64 <= n; i += 64) {
        float m[8];
        for (int k = 0; k < 8; k++) m[k] = -INFINITY;
        for (int j = 0; j < 64; j += 8)
            for (int k = 0; k < 8; k++) m[k] = w[i + j + k] > m[k] ? w[i + j + k] : m[k];
        float cm = m[0];
        for (int k = 1; k < 8; k++) cm = m[k] > cm ? m[k] : cm;
        if (cm > bv)
            for (int j = 0; j < 64; j++)
                if (w[i + j] == cm) { best = i + j, bv = cm; break; }
    }
    for (; i < n; i++)
        if (w[i] > bv) best = i, bv = w[i];
    return best;
}

int32_t exa_sampler_sample(exa_sampler *s, const float *logits) {
    const int V = s->n_vocab;
    const float *w = logits;
    if (s->p.repeat_penalty != 1.0f && s->p.repeat_penalty > 0.0f) {
        float *pw = s->work;
        memcpy(pw, logits, (size_t)V * sizeof *pw);
        w = pw;
        /* HF RepetitionPenaltyLogitsProcessor: each distinct seen token penalised once */
        for (int i = 0; i < s->hist_n; i++) {
            int32_t t = s->hist[i];
            if (t < 0 || t >= V) continue;
            int dup = 0;
            for (int k = 0; k < i && !dup; k++) dup = s->hist[k] == t;
            if (dup) continue;
            pw[t] = pw[t] > 0 ? pw[t] / s->p.repeat_penalty : pw[t] * s->p.repeat_penalty;
        }
    }
    const int best = argmax(w, V);
    if (!(s->p.temperature > 0.0f)) return best;

    /* candidates: drop logits more than 40/T below the max (relative probability < e^-40,
     * below f32 resolution of any cumulative sum) so the sort stays short */
    const float inv_t = 1.0f / s->p.temperature, maxl = w[best] * inv_t;
    int n = 0;
    for (int i = 0; i < V; i++) {
        float l = w[i] * inv_t;
        if (l >= maxl - 40.0f) s->c[n++] = (cand){i, l};
    }
    /* Probabilities (unnormalised) and their total over all candidates; then order only as much
     * as top-k / top-p need: partial selection of the best m, growing m until the kept mass is
     * reached, so flat distributions do not sort the whole vocabulary. */
    const int n_all = n;
    double total = 0.0;
    for (int i = 0; i < n; i++) { s->c[i].logit = expf(s->c[i].logit - maxl); total += s->c[i].logit; }
    const int need_order = (s->p.top_k > 0 && s->p.top_k < n) || (s->p.top_p < 1.0f && s->p.top_p > 0.0f) || s->p.min_p > 0.0f;
    if (need_order) {
        int m = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : EXA_MIN(n, 256);
        for (;;) {
            select_top(s->c, n, m);
            qsort(s->c, (size_t)m, sizeof *s->c, cmp_desc);
            if (m == n || (s->p.top_k > 0 && m == s->p.top_k)) break;
            if (!(s->p.top_p < 1.0f && s->p.top_p > 0.0f)) break; /* min-p alone: handled below */
            double acc = 0.0;
            for (int i = 0; i < m; i++) acc += s->c[i].logit;
            if (acc / total >= s->p.top_p) break;
            m = EXA_MIN(n, m * 4);
        }
        if (s->p.min_p > 0.0f && !(s->p.top_p < 1.0f && s->p.top_p > 0.0f) && !(s->p.top_k > 0 && s->p.top_k < n)) {
            /* min-p alone: everything above the threshold must be in the sorted prefix */
            float thr = s->p.min_p * s->c[0].logit;
            while (m < n && s->c[m - 1].logit >= thr) {
                m = EXA_MIN(n, m * 4);
                select_top(s->c, n, m);
                qsort(s->c, (size_t)m, sizeof *s->c, cmp_desc);
            }
        }
        n = m;
        if (s->p.top_k > 0 && s->p.top_k < n) n = s->p.top_k;
    }
    /* top-p renormalises after top-k (HF warper order): its mass is relative to what top-k kept */
    double denom = total;
    if (s->p.top_k > 0 && s->p.top_k < n_all) {
        denom = 0.0;
        for (int i = 0; i < n; i++) denom += s->c[i].logit;
    }
    if (s->p.top_p < 1.0f && s->p.top_p > 0.0f) { /* smallest prefix with mass >= top_p (at least one) */
        double acc = 0.0;
        int keep = n;
        for (int i = 0; i < n; i++) {
            acc += s->c[i].logit / denom;
            if (acc >= s->p.top_p) { keep = i + 1; break; }
        }
        n = keep;
    }
    if (s->p.min_p > 0.0f) { /* keep tokens with p >= min_p · p_max (p_max is c[0]) */
        float thr = s->p.min_p * s->c[0].logit;
        int keep = 1;
        while (keep < n && s->c[keep].logit >= thr) keep++;
        n = keep;
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += s->c[i].logit;
    double r = (double)(splitmix(&s->rng) >> 11) * 0x1.0p-53 * sum;
    for (int i = 0; i < n; i++) {
        r -= s->c[i].logit;
        if (r < 0) return s->c[i].id;
    }
    return s->c[n - 1].id;
}
