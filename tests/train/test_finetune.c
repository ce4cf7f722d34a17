/* test_finetune.c — chat fine-tuning pieces: (1) the masked loss (target -1 = no loss): the loss
 * equals the mean of the unmasked per-position losses over the counted positions only, and the
 * analytic gradient (full and LoRA) matches central finite differences of that masked loss, so
 * masked positions contribute nothing; (2) assistant spans: a multi-turn conversation rendered
 * with the EXAONE 4.0 and 3.x templates is tokenized with exactly the assistant turns (content and
 * closing [|endofturn|]) marked, and the pieces decode back to the full rendering.
 * usage: train_finetune_test [TOKENIZER_DIR] (default: $EXA_SHARED/data/exaone-tokenizer/exaone-4.0) */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "train/finetune_data.h"
#include "train/train_model.h"

#ifndef TEST_DIR
#define TEST_DIR "."
#endif

static int mask_check(const char *cfgname, int lora) {
    char p[1024], err[512], *text;
    size_t n;
    exa_tm_config cfg;
    snprintf(p, sizeof p, "%s/%s", TEST_DIR, cfgname);
    if (exa_file_read(p, 1 << 20, &text, &n, err, sizeof err) || exa_tm_config_parse(text, p, &cfg, err, sizeof err)) {
        printf("FAIL %s\n", err);
        return 1;
    }
    free(text);
    int B = 2, T = 10, N = B * T, fails = 0, checked = 0;
    exa_pool *pool = exa_pool_init(2);
    exa_tm_model m;
    if (exa_tm_model_init(&m, &cfg, B, T, pool, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
    exa_tm_model_init_weights(&m, 5);
    if (lora) {
        exa_tm_lora_cfg lc = {2, 4.0f, EXA_LORA_ALL};
        if (exa_tm_lora_enable(&m, &lc, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
        exa_tm_lora_init_weights(&m, 9);
        exa_trng r;
        exa_trng_seed(&r, 3); /* B != 0 so that A gets gradients too */
        for (size_t i = 0; i < m.n_lparams; i++)
            if (m.lparams[i] == 0.0f) m.lparams[i] = (float)(0.3 * exa_trng_normal(&r));
    }
    exa_trng r;
    exa_trng_seed(&r, 17);
    int32_t full[64];
    for (int i = 0; i < N; i++) {
        m.tokens[i] = (int32_t)(exa_trng_next(&r) % (uint64_t)cfg.vocab);
        full[i] = (int32_t)(exa_trng_next(&r) % (uint64_t)cfg.vocab);
    }
    /* unmasked per-position losses */
    memcpy(m.targets, full, sizeof(int32_t) * N);
    exa_tm_step(&m, 0.0f);
    double want = 0.0;
    int counted = 0;
    for (int i = 0; i < N; i++)
        if (i % 3 != 0) { want += m.loss_rows[i]; counted++; }
    want /= counted;
    for (int i = 0; i < N; i++) m.targets[i] = i % 3 ? full[i] : -1;
    double got = exa_tm_step(&m, 0.0f);
    if (fabs(got - want) > 1e-6 * fabs(want)) { printf("FAIL %s: masked loss %.9g, expected %.9g\n", cfgname, got, want); fails++; }
    float *P = lora ? m.lparams : m.params, *G = lora ? m.lgrads : m.grads;
    size_t np = lora ? m.n_lparams : m.n_params;
    const exa_tm_tensor *tt = lora ? m.ltensors : m.tensors;
    int nt = lora ? m.n_ltensors : m.n_tensors;
    memset(G, 0, np * sizeof(float));
    exa_tm_step(&m, 1.0f / (float)counted);
    float *g = malloc(np * sizeof(float));
    memcpy(g, G, np * sizeof(float));
    const float eps = 1e-2f;
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < 3; k++) {
            size_t i = tt[t].offset + (size_t)(exa_trng_next(&r) % tt[t].numel);
            float keep = P[i];
            P[i] = keep + eps;
            double lp = exa_tm_step(&m, 0.0f);
            P[i] = keep - eps;
            double lm = exa_tm_step(&m, 0.0f);
            P[i] = keep;
            double fd = (lp - lm) / (2.0 * eps), an = g[i];
            checked++;
            if (fabs(fd - an) > 2e-4 + 2e-2 * fabs(an)) {
                printf("FAIL %s%s %s[%zu]: finite difference %.6g vs analytic %.6g\n", cfgname, lora ? " lora" : "", tt[t].name,
                       i - tt[t].offset, fd, an);
                fails++;
            }
        }
    printf("%s%s: masked loss %.6f over %d of %d positions; %d gradient coordinates vs finite differences, %d failures\n",
           cfgname, lora ? " (LoRA)" : "", got, counted, N, checked, fails);
    free(g);
    exa_tm_model_free(&m);
    exa_pool_free(pool);
    return fails != 0;
}

static int span_check(const char *tokdir, exa_chat_kind kind) {
    char err[512];
    exa_tokenizer *tok;
    exa_chat_template *tpl;
    if (exa_tokenizer_load(tokdir, &tok, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
    if (kind == EXA_CHAT_AUTO ? exa_chat_template_load(tokdir, EXA_CHAT_AUTO, &tpl, err, sizeof err) != EXA_OK
                              : !(tpl = exa_chat_template_builtin(kind))) {
        printf("FAIL %s\n", err);
        return 1;
    }
    const char *conv = "[{\"role\":\"system\",\"content\":\"짧게 답하세요.\"},{\"role\":\"user\",\"content\":\"안녕?\"},"
                       "{\"role\":\"assistant\",\"content\":\"안녕하세요! 무엇을 도와드릴까요?\"},"
                       "{\"role\":\"user\",\"content\":\"What is 2+2?\"},{\"role\":\"assistant\",\"content\":\"It is 4.\"}]";
    const char *contents[2] = {"안녕하세요! 무엇을 도와드릴까요?", "It is 4."};
    json_object *msgs = json_tokener_parse(conv);
    int32_t *ids;
    uint8_t *mask;
    size_t n;
    int fails = 0;
    if (exa_ft_tokenize_chat(tpl, tok, msgs, &ids, &mask, &n, err, sizeof err)) { printf("FAIL %s\n", err); return 1; }
    /* the whole sequence decodes to the rendering */
    char *full, *dec;
    size_t fl, dl;
    exa_chat_render_opts o = exa_chat_render_default_opts();
    o.add_generation_prompt = 0;
    exa_chat_render(tpl, msgs, NULL, &o, &full, &fl, err, sizeof err);
    exa_tokenizer_decode_alloc(tok, ids, n, 0, &dec, &dl);
    if (strcmp(full, dec)) { printf("FAIL %s: tokens do not decode to the rendering\n", exa_chat_kind_name(exa_chat_template_kind(tpl))); fails++; }
    free(dec);
    /* every maximal masked run is one assistant turn: ... content [|endofturn|] (newline allowed) */
    int span = 0;
    for (size_t i = 0; i < n;) {
        if (!mask[i]) { i++; continue; }
        size_t j = i;
        while (j < n && mask[j]) j++;
        exa_tokenizer_decode_alloc(tok, ids + i, j - i, 0, &dec, &dl);
        char want[256];
        snprintf(want, sizeof want, "%s[|endofturn|]", span < 2 ? contents[span] : "?");
        char *at = strstr(dec, want);
        const char *tail = at ? at + strlen(want) : NULL;
        if (span >= 2 || !at || (*tail && strcmp(tail, "\n")) || strstr(dec, "[|assistant|]") || strstr(dec, "[|user|]")) {
            printf("FAIL %s: assistant span %d decodes to '%s'\n", exa_chat_kind_name(exa_chat_template_kind(tpl)), span, dec);
            fails++;
        } else {
            printf("%s: assistant span %d = %zu tokens: '", exa_chat_kind_name(exa_chat_template_kind(tpl)), span, j - i);
            for (const char *c = dec; *c; c++) fputs(*c == '\n' ? "\\n" : (char[]){*c, 0}, stdout);
            printf("'\n");
        }
        free(dec);
        span++;
        i = j;
    }
    if (span != 2) { printf("FAIL %d assistant spans, expected 2\n", span); fails++; }
    /* a conversation without an assistant turn is refused */
    json_object *one = json_tokener_parse("[{\"role\":\"user\",\"content\":\"hi\"}]");
    int32_t *i2;
    uint8_t *m2;
    size_t n2;
    if (exa_ft_tokenize_chat(tpl, tok, one, &i2, &m2, &n2, err, sizeof err) == EXA_OK) { printf("FAIL: no-assistant conversation accepted\n"); fails++; free(i2); free(m2); }
    json_object_put(one);
    free(full);
    free(ids);
    free(mask);
    json_object_put(msgs);
    exa_chat_template_free(tpl);
    exa_tokenizer_free(tok);
    return fails != 0;
}

int main(int argc, char **argv) {
    int rc = mask_check("tiny4.json", 0) | mask_check("tiny3.json", 0) | mask_check("tiny4.json", 1);
    char tokdir[2048] = "";
    const char *sh = getenv("EXA_SHARED");
    if (argc > 1) snprintf(tokdir, sizeof tokdir, "%s", argv[1]);
    else if (sh) snprintf(tokdir, sizeof tokdir, "%s/data/exaone-tokenizer/exaone-4.0", sh);
    if (!*tokdir) printf("skip: span checks need EXA_SHARED or a tokenizer folder argument\n");
    else rc |= span_check(tokdir, EXA_CHAT_AUTO) | span_check(tokdir, EXA_CHAT_EXAONE3);
    printf("%s\n", rc ? "FAILED" : "ok");
    return rc;
}
