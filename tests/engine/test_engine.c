/* test_engine.c — consistency of the forward pass and KV cache on random-weight models:
 * whole-prompt evaluation = token-by-token = chunked (chunks smaller than the sliding window's
 * ring), several sequences in one batch = each alone, reset, prefix copy, truncate and error
 * paths — for every KV cache type. With the exact f32 cache the paths agree to 1e-5; with a
 * rounded cache (f16, bf16, q8_0) the last-bit differences of batched vs single-token matrix
 * products can flip a key's rounding, so those paths agree to a looser, type-specific bound
 * (kv_tol), and the whole-prompt logits must stay close to the f32 cache's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exaone.h"
#include "test_util.h"

#define T 40

static exa_kv_type kvt = EXA_KV_F32; /* cache type of the current pass */
static float tol; /* path-agreement bound for kvt, relative to max(1, |logits|) */

static float max_diff(const float *a, const float *b, int n) {
    float m = 0;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

/* logits (T, V) of toks evaluated in chunks of `chunk` tokens with n_batch = chunk */
static float *run(exa_model *m, const int32_t *toks, int chunk, int use_seq, int n_seq) {
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = 64;
    cp.n_batch = chunk;
    cp.n_seq = n_seq;
    cp.n_threads = 2;
    cp.kv_type = kvt;
    exa_context *c;
    if (exa_context_init(m, &cp, &c, NULL, 0) != EXA_OK) return NULL;
    int V = exa_context_n_vocab(c);
    float *out = malloc(sizeof(float) * T * V);
    for (int d = 0; d < T; d += chunk) {
        int n = T - d < chunk ? T - d : chunk;
        if (exa_context_eval(c, use_seq, toks + d, n, 1) != EXA_OK) { free(out); exa_context_free(c); return NULL; }
        for (int i = 0; i < n; i++) memcpy(out + (size_t)(d + i) * V, exa_context_logits(c, i), sizeof(float) * V);
    }
    exa_context_free(c);
    return out;
}

static void test_model(const char *dir, const float *ref_f32, float **out_full) {
    char err[512];
    exa_model *m;
    exa_status st = exa_model_load(dir, NULL, &m, err, sizeof err);
    CHECK(st == EXA_OK, "load %s: %s", dir, err);
    if (st) return;
    exa_model_info info;
    exa_model_get_info(m, &info);
    const int V = info.n_vocab;
    int32_t toks[T], toks2[T];
    for (int i = 0; i < T; i++) { toks[i] = (i * 37 + 5) % V; toks2[i] = (i * 11 + 200) % V; }

    const char *kn = exa_kv_type_name(kvt);
    float *full = run(m, toks, T, 0, 1), *one = run(m, toks, 1, 0, 1), *c3 = run(m, toks, 3, 0, 1), *c7 = run(m, toks, 7, 2, 3);
    CHECK(full && one && c3 && c7, "%s: evaluation failed", dir);
    if (full && one && c3 && c7) {
        float scale = 0;
        for (int i = 0; i < T * V; i++) scale = fmaxf(scale, fabsf(full[i]));
        CHECK(scale > 0, "%s: logits all zero", dir);
        CHECK(max_diff(full, one, T * V) <= tol * fmaxf(1, scale), "%s kv %s: token-by-token differs from whole prompt by %g", dir, kn, max_diff(full, one, T * V));
        CHECK(max_diff(full, c3, T * V) <= tol * fmaxf(1, scale), "%s kv %s: chunks of 3 differ by %g", dir, kn, max_diff(full, c3, T * V));
        CHECK(max_diff(full, c7, T * V) <= tol * fmaxf(1, scale), "%s kv %s: chunks of 7 in sequence 2 differ by %g", dir, kn, max_diff(full, c7, T * V));
        if (ref_f32) { /* rounded caches stay close to the exact one */
            float dr = max_diff(full, ref_f32, T * V);
            printf("%s kv %s: whole prompt vs f32 cache max-abs %.3g (|logits| max %.3g); token-by-token vs whole %.3g\n", dir, kn, dr, scale, max_diff(full, one, T * V));
            CHECK(dr <= 0.05f * fmaxf(1, scale), "%s kv %s: %g from the f32 cache's logits", dir, kn, dr);
        }
    }

    /* two sequences interleaved in one batch = each alone */
    float *alone2 = run(m, toks2, T, 0, 1);
    exa_context_params cp = exa_context_default_params();
    cp.n_ctx = 64; cp.n_batch = 2 * T; cp.n_seq = 2; cp.n_threads = 2; cp.kv_type = kvt;
    exa_context *c;
    CHECK(exa_context_init(m, &cp, &c, err, sizeof err) == EXA_OK, "context: %s", err);
    /* n_ctx 64 <= window + n_batch: every layer holds 64 slots of K and V per sequence */
    CHECK(exa_context_kv_bytes(c) == (size_t)2 * info.n_layer * 64 * 2 * exa_kv_type_bytes(kvt, info.n_head_kv, info.head_dim),
          "%s kv %s: KV cache of %zu bytes", dir, kn, exa_context_kv_bytes(c));
    int32_t bt[2 * T], bp[2 * T], bs[2 * T];
    int8_t want[2 * T];
    for (int i = 0; i < T; i++) {
        bt[2 * i] = toks[i]; bp[2 * i] = i; bs[2 * i] = 0;
        bt[2 * i + 1] = toks2[i]; bp[2 * i + 1] = i; bs[2 * i + 1] = 1;
    }
    memset(want, 1, sizeof want);
    exa_batch b = {2 * T, bt, bp, bs, want};
    int ok = exa_context_decode(c, &b) == EXA_OK;
    CHECK(ok, "interleaved batch: %s", exa_context_errmsg(c));
    float md = 0;
    for (int i = 0; i < T && full && alone2 && ok; i++) {
        md = fmaxf(md, max_diff(exa_context_logits(c, 2 * i), full + (size_t)i * V, V));
        md = fmaxf(md, max_diff(exa_context_logits(c, 2 * i + 1), alone2 + (size_t)i * V, V));
    }
    CHECK(md <= tol * 10, "%s kv %s: interleaved sequences differ from separate runs by %g", dir, kn, md);
    CHECK(exa_context_seq_len(c, 0) == T && exa_context_seq_len(c, 1) == T, "sequence lengths");

    /* error paths leave the state untouched */
    int32_t tok = 1, pos = 5, seq = 0;
    exa_batch bad = {1, &tok, &pos, &seq, NULL};
    CHECK(exa_context_decode(c, &bad) == EXA_ERR_INVALID_ARG && strstr(exa_context_errmsg(c), "position"), "wrong position rejected");
    tok = V;
    pos = T;
    CHECK(exa_context_decode(c, &bad) == EXA_ERR_INVALID_ARG, "token out of range rejected");
    tok = 1;
    seq = 2;
    CHECK(exa_context_decode(c, &bad) == EXA_ERR_INVALID_ARG, "sequence out of range rejected");
    CHECK(exa_context_seq_len(c, 0) == T, "failed decodes leave the sequence alone");
    int32_t many[64] = {0};
    CHECK(exa_context_eval(c, 0, many, 64 - T + 1, 0) == EXA_ERR_FULL, "context overflow is EXA_ERR_FULL");
    /* reset + re-evaluate reproduces the first logits */
    exa_context_seq_reset(c, 1);
    CHECK(exa_context_eval(c, 1, toks, T, 0) == EXA_OK, "eval after reset");
    if (full) CHECK(max_diff(exa_context_logits(c, -1), full + (size_t)(T - 1) * V, V) <= tol * 10, "reset sequence reproduces logits");
    /* prefix reuse: copy the first 25 positions of sequence 1 into sequence 0, continue there */
    CHECK(exa_context_seq_copy(c, 1, 0, 25) == EXA_OK, "seq_copy: %s", exa_context_errmsg(c));
    CHECK(exa_context_eval(c, 0, toks + 25, T - 25, 1) == EXA_OK, "eval after copy");
    md = 0;
    for (int i = 0; i < T - 25 && full; i++) md = fmaxf(md, max_diff(exa_context_logits(c, i), full + (size_t)(25 + i) * V, V));
    CHECK(md <= tol * 10, "%s kv %s: continuing a copied prefix differs by %g", dir, kn, md);
    /* truncate and re-evaluate the tail */
    CHECK(exa_context_seq_truncate(c, 0, 30) == EXA_OK && exa_context_seq_len(c, 0) == 30, "truncate");
    CHECK(exa_context_eval(c, 0, toks + 30, T - 30, 0) == EXA_OK, "eval after truncate");
    if (full) CHECK(max_diff(exa_context_logits(c, -1), full + (size_t)(T - 1) * V, V) <= tol * 10, "truncate + re-eval reproduces logits");
    CHECK(exa_context_seq_copy(c, 0, 1, T + 1) == EXA_ERR_INVALID_ARG, "copy longer than the source rejected");
    exa_context_free(c);

    /* no-mmap loading gives identical weights */
    exa_model_params mp = exa_model_default_params();
    mp.use_mmap = 0;
    exa_model *m2;
    CHECK(exa_model_load(dir, &mp, &m2, err, sizeof err) == EXA_OK, "load without mmap: %s", err);
    float *full2 = run(m2, toks, T, 0, 1);
    CHECK(full && full2 && max_diff(full, full2, T * V) == 0.0f, "mmap and read give identical logits");
    exa_model_free(m2);
    free(full2); free(one);
    if (out_full) *out_full = full; else free(full);
    free(c3); free(c7); free(alone2);
    exa_model_free(m);
}

static int abort_after_3(float p, void *u) {
    (void)p;
    return ++*(int *)u < 3;
}

int main(void) {
    const char *root = getenv("EXA_TEST_MODELS");
    if (!root) { fprintf(stderr, "EXA_TEST_MODELS not set\n"); return 1; }
    const char *names[] = {"tiny-exaone4", "tiny-exaone4-hybrid", "tiny-exaone3"};
    char dir[1024];
    const exa_kv_type kinds[] = {EXA_KV_F16, EXA_KV_BF16, EXA_KV_Q8_0};
    const float tols[] = {1e-3f, 1e-2f, 1e-2f};
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
        float *ref = NULL;
        kvt = EXA_KV_F32;
        tol = 1e-5f;
        test_model(dir, NULL, &ref);
        for (int k = 0; k < 3; k++) {
            kvt = kinds[k];
            tol = tols[k];
            test_model(dir, ref, NULL);
        }
        free(ref);
    }
    /* the default cache type is f16, also for a zero-initialised parameter struct */
    exa_context_params dp = exa_context_default_params(), zp = {0};
    CHECK(dp.kv_type == EXA_KV_F16 && zp.kv_type == EXA_KV_F16, "default KV cache type f16");
    exa_kv_type kt;
    CHECK(exa_kv_type_from_name("Q8_0", &kt) && kt == EXA_KV_Q8_0 && !strcmp(exa_kv_type_name(EXA_KV_BF16), "bf16") &&
          !exa_kv_type_from_name("q4_0", &kt), "KV cache type names");
    CHECK(exa_kv_type_bytes(EXA_KV_F32, 8, 80) == 2560 && exa_kv_type_bytes(EXA_KV_F16, 8, 80) == 1280 &&
          exa_kv_type_bytes(EXA_KV_Q8_0, 8, 80) == 8 * 3 * 34 && exa_kv_type_bytes(EXA_KV_Q8_0, 8, 128) == 8 * 4 * 34,
          "KV cache bytes per position");
    /* progress callback can abort loading */
    int calls = 0;
    exa_model_params mp = exa_model_default_params();
    mp.progress = abort_after_3;
    mp.progress_user = &calls;
    exa_model *m = NULL;
    char err[256];
    CHECK(exa_model_load(dir, &mp, &m, err, sizeof err) == EXA_ERR_ABORTED && m == NULL && calls == 3, "abort during load");
    CHECK(exa_model_load("/nonexistent/model", NULL, &m, err, sizeof err) == EXA_ERR_IO && strstr(err, "/nonexistent/model"), "missing folder");
    exa_model_free(NULL);
    exa_context_free(NULL);
    return TEST_END();
}
