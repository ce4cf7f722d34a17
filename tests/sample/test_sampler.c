/* test_sampler.c — greedy, temperature, top-k, top-p, min-p, repetition penalty and seeding. */
#include <math.h>
#include <stdlib.h>

#include "exaone.h"
#include "test_util.h"

#define V 1000

static int draw(exa_sampler_params p, const float *lg, int n, int *out) {
    exa_sampler *s = exa_sampler_init(&p, V);
    if (!s) return 0;
    for (int i = 0; i < n; i++) out[i] = exa_sampler_sample(s, lg);
    exa_sampler_free(s);
    return 1;
}

int main(void) {
    static float lg[V];
    for (int i = 0; i < V; i++) lg[i] = test_randf() * 3;
    lg[123] = 9.0f; lg[456] = 8.5f; lg[789] = 8.0f;
    int a[200], b[200];
    exa_sampler_params p = exa_sampler_default_params();

    CHECK(draw(p, lg, 5, a) && a[0] == 123 && a[4] == 123, "greedy picks argmax");
    { /* the chunked argmax against a plain scan: ties (first wins), NaN, -inf, the tail past the
       * last 64-value chunk (V = 1000 = 15·64 + 40) */
        static float g[V];
        for (int rep = 0; rep < 200; rep++) {
            for (int i = 0; i < V; i++) g[i] = (float)(int)(25 * (test_randf() + 1)); /* many ties */
            if (rep % 3 == 0) g[(int)(V * 0.5f * (test_randf() + 1))] = NAN;
            if (rep % 5 == 0) g[0] = NAN;
            if (rep % 7 == 0) g[(int)(V * 0.5f * (test_randf() + 1))] = -INFINITY;
            if (rep % 11 == 0) g[V - 1 - (int)(20 * (test_randf() + 1))] = 60.0f; /* the max in the tail */
            int want = -1;
            for (int i = 0; i < V; i++)
                if (g[i] == g[i] && (want < 0 || g[i] > g[want])) want = i;
            draw(p, g, 1, a);
            if (a[0] != want) { CHECK(0, "chunked argmax = plain scan (rep %d: %d vs %d)", rep, a[0], want); break; }
        }
        for (int i = 0; i < V; i++) g[i] = NAN;
        CHECK(draw(p, g, 1, a) && a[0] == 0, "greedy over all-NaN logits gives 0");
    }
    p.temperature = 1.0f;
    p.seed = 42;
    draw(p, lg, 200, a);
    draw(p, lg, 200, b);
    int same = 1, distinct = 0;
    for (int i = 0; i < 200; i++) { same &= a[i] == b[i]; distinct |= a[i] != a[0]; }
    CHECK(same, "same seed gives the same draws");
    CHECK(distinct, "temperature 1 draws vary");
    p.seed = 43;
    draw(p, lg, 200, b);
    int diff = 0;
    for (int i = 0; i < 200; i++) diff += a[i] != b[i];
    CHECK(diff > 0, "another seed gives other draws");

    p.top_k = 1;
    draw(p, lg, 50, a);
    int all = 1;
    for (int i = 0; i < 50; i++) all &= a[i] == 123;
    CHECK(all, "top-k 1 is greedy");
    p.top_k = 3;
    draw(p, lg, 200, a);
    all = 1;
    for (int i = 0; i < 200; i++) all &= a[i] == 123 || a[i] == 456 || a[i] == 789;
    CHECK(all, "top-k 3 stays in the top three");
    p.top_k = 0;
    p.top_p = 0.01f;
    draw(p, lg, 50, a);
    all = 1;
    for (int i = 0; i < 50; i++) all &= a[i] == 123;
    CHECK(all, "tiny top-p is greedy");
    p.top_p = 1.0f;
    p.min_p = 0.5f; /* keeps p >= 0.5 p_max: 123 and 456 (e^-0.5 = 0.61), not 789 (e^-1) */
    draw(p, lg, 200, a);
    int n456 = 0;
    all = 1;
    for (int i = 0; i < 200; i++) { all &= a[i] == 123 || a[i] == 456; n456 += a[i] == 456; }
    CHECK(all && n456 > 20, "min-p 0.5 keeps exactly the two tokens above the threshold (456 drawn %d times)", n456);
    p.min_p = 0.0f;

    /* empirical distribution at temperature 1 over three tokens */
    static float l3[V];
    for (int i = 0; i < V; i++) l3[i] = -1e9f;
    l3[0] = logf(0.5f); l3[1] = logf(0.3f); l3[2] = logf(0.2f);
    exa_sampler *s = exa_sampler_init(&p, V);
    int cnt[3] = {0};
    for (int i = 0; i < 20000; i++) { int t = exa_sampler_sample(s, l3); if (t < 3) cnt[t]++; }
    exa_sampler_free(s);
    CHECK(fabs(cnt[0] / 20000.0 - 0.5) < 0.02 && fabs(cnt[1] / 20000.0 - 0.3) < 0.02 && fabs(cnt[2] / 20000.0 - 0.2) < 0.02,
          "distribution %d %d %d", cnt[0], cnt[1], cnt[2]);
    /* temperature 0.5 sharpens: p ∝ p^2 -> 0.25/0.38, 0.09/0.38, 0.04/0.38 */
    p.temperature = 0.5f;
    s = exa_sampler_init(&p, V);
    cnt[0] = cnt[1] = cnt[2] = 0;
    for (int i = 0; i < 20000; i++) { int t = exa_sampler_sample(s, l3); if (t < 3) cnt[t]++; }
    exa_sampler_free(s);
    CHECK(fabs(cnt[0] / 20000.0 - 0.25 / 0.38) < 0.02, "temperature 0.5: %d", cnt[0]);

    /* repetition penalty: a seen positive logit is divided, so greedy moves to the next best */
    p = exa_sampler_default_params();
    p.repeat_penalty = 1.2f;
    s = exa_sampler_init(&p, V);
    exa_sampler_accept(s, 123);
    int t1 = exa_sampler_sample(s, lg); /* 9/1.2 = 7.5 < 8.5 */
    exa_sampler_reset(s);
    int t2 = exa_sampler_sample(s, lg);
    exa_sampler_free(s);
    CHECK(t1 == 456 && t2 == 123, "repetition penalty (%d, %d)", t1, t2);
    /* a flat distribution over a large vocabulary (random-weight models): top-p keeps the
     * lowest ids (ties ordered by id) and the partial selection must not lose any of them */
    enum { BIG = 100000 };
    float *flat = calloc(BIG, sizeof *flat);
    exa_sampler_params fp = exa_sampler_default_params();
    fp.temperature = 1.0f; fp.top_p = 0.5f; fp.seed = 3;
    exa_sampler *fs = exa_sampler_init(&fp, BIG);
    int below = 1, hi = 0;
    for (int i = 0; i < 300; i++) { int t = exa_sampler_sample(fs, flat); below &= t < BIG / 2 + 1; hi = t > hi ? t : hi; }
    exa_sampler_free(fs);
    CHECK(below && hi > BIG / 2 - 2000, "flat top-p 0.5 keeps exactly the first half (max id %d)", hi);
    fp.top_p = 1.0f; fp.min_p = 0.5f;
    fs = exa_sampler_init(&fp, BIG);
    hi = 0;
    for (int i = 0; i < 300; i++) { int t = exa_sampler_sample(fs, flat); hi = t > hi ? t : hi; }
    exa_sampler_free(fs);
    CHECK(hi > BIG - 5000, "flat min-p keeps everything (max id %d)", hi);
    fp.min_p = 0.0f; fp.top_k = 40; fp.top_p = 0.5f;
    fs = exa_sampler_init(&fp, BIG);
    hi = 0;
    for (int i = 0; i < 300; i++) { int t = exa_sampler_sample(fs, flat); hi = t > hi ? t : hi; }
    exa_sampler_free(fs);
    CHECK(hi == 19, "top-k 40 then top-p 0.5 renormalised over the 40 keeps 20 (max id %d)", hi);
    free(flat);
    exa_sampler_free(NULL);
    CHECK(exa_sampler_init(&p, 0) == NULL, "zero vocabulary rejected");
    return TEST_END();
}
