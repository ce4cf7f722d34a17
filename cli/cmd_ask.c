/* cmd_ask.c — `exaone ask -m MODEL --index DB "question"`: grounded answers with citations.
 * Retrieves the top passages from a document index, asks the model to answer only from them
 * and cite [1], [2] … (src/retrieval/grounded.c), streams the answer (reasoning hidden unless
 * --show-reasoning), then lists the sources it cited. When nothing relevant is retrieved it
 * says it does not know without running the model. --json prints one object instead. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"

static void usage(void) {
    printf("usage: exaone ask -m MODEL --index DB [options] QUESTION\n"
           "  -k N               passages to retrieve (default 5)\n"
           "  --max-chars N      cut each passage to N characters in the prompt (default 1500)\n"
           "  --min-ratio R      drop passages scoring below R × the best score (default 0.2)\n"
           "  -n N               max answer tokens (default 512)\n"
           "  --temp T           temperature (default 0: greedy), --seed S\n"
           "  --think            let an EXAONE 4.0 model reason first (hidden unless --show-reasoning)\n"
           "  --json             print {question, answer, found, citations, passages} as JSON\n"
           "  -t N               threads\n");
}

int exa_cmd_ask(int argc, char **argv) {
    const char *dir = NULL, *db = NULL, *question = NULL;
    long k = 5, max_chars = 1500, n_new = 512, threads = 0, seed = 1;
    double temp = 0, min_ratio = 0.2;
    int json = 0, think = 0, show_reasoning = 0;
    for (int i = 1; i < argc;) {
        const char *a = argv[i++], *v = i < argc ? argv[i] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!strcmp(a, "--think")) { think = 1; continue; }
        if (!strcmp(a, "--show-reasoning")) { show_reasoning = 1; continue; }
        if (a[0] != '-' || !strcmp(a, "--")) {
            if (!strcmp(a, "--")) { if (!v) break; a = argv[i++]; }
            if (question) return exa_cli_fail("ask: one question at a time (quote it)");
            question = a;
            continue;
        }
        if (!v) return exa_cli_fail("ask: option '%s' needs a value", a);
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) dir = v;
        else if (!strcmp(a, "--index")) db = v;
        else if (!strcmp(a, "-k")) r = exa_cli_int(a, v, 1, 100, &k);
        else if (!strcmp(a, "--max-chars")) r = exa_cli_int(a, v, 0, 1 << 20, &max_chars);
        else if (!strcmp(a, "-n")) r = exa_cli_int(a, v, 1, 1 << 16, &n_new);
        else if (!strcmp(a, "-t")) r = exa_cli_int(a, v, 1, 1024, &threads);
        else if (!strcmp(a, "--seed")) r = exa_cli_int(a, v, 0, 0x7fffffff, &seed);
        else if (!strcmp(a, "--temp")) r = exa_cli_float(a, v, &temp);
        else if (!strcmp(a, "--min-ratio")) r = exa_cli_float(a, v, &min_ratio);
        else return exa_cli_fail("ask: unknown option '%s' (see exaone ask --help)", a);
        if (r) return 1;
        i++;
    }
    if (!dir || !db || !question) return exa_cli_fail("ask: -m MODEL, --index DB and a question are required");

    char err[1024];
    exa_index_params ip = exa_index_default_params();
    ip.read_only = 1;
    exa_index *idx = NULL;
    if (exa_index_open(db, &ip, &idx, err, sizeof err) != EXA_OK) return exa_cli_fail("%s", err);
    exa_search_params sp = exa_search_default_params();
    sp.k = (int)k;
    exa_search_result res = {0};
    if (exa_index_search(idx, question, &sp, &res) != EXA_OK) {
        int rc = exa_cli_fail("ask: search failed: %s", exa_index_errmsg(idx));
        exa_index_close(idx);
        return rc;
    }

    int n_use = exa_grounded_keep(res.passages, res.n, min_ratio);
    exa_buf ans = {0};
    int rc = 0, n_cited = 0;
    int *cited = calloc((size_t)(n_use > 0 ? n_use : 1), sizeof *cited);
    exa_model *m = NULL;
    exa_tokenizer *tok = NULL;
    exa_chat_template *tmpl = NULL;
    exa_context *ctx = NULL;
    exa_sampler *smp = NULL;
    exa_chat_parser *parser = NULL;
    exa_detok *detok = NULL;
    char *prompt = NULL;
    int32_t *ids = NULL;
    struct json_object *msgs = NULL;

    if (n_use == 0) { /* nothing relevant: say so, without asking the model to guess */
        exa_buf_add(&ans, exa_grounded_not_found(question), strlen(exa_grounded_not_found(question)));
        if (!json) printf("%s\n", ans.s);
        goto report;
    }
    if (!(m = exa_cli_load_model(dir))) { rc = 1; goto done; }
    if (exa_tokenizer_load(dir, &tok, err, sizeof err) != EXA_OK) { rc = exa_cli_fail("%s", err); goto done; }
    if (exa_chat_template_load(dir, EXA_CHAT_AUTO, &tmpl, err, sizeof err) != EXA_OK) { rc = exa_cli_fail("%s", err); goto done; }
    if (exa_grounded_messages(question, res.passages, n_use, (int)max_chars, &msgs) != EXA_OK) { rc = exa_cli_fail("ask: out of memory"); goto done; }
    exa_chat_render_opts ro = exa_chat_render_default_opts();
    ro.enable_thinking = think;
    size_t plen, n_ids;
    if (exa_chat_render(tmpl, msgs, NULL, &ro, &prompt, &plen, err, sizeof err) != EXA_OK) { rc = exa_cli_fail("%s", err); goto done; }
    if (exa_tokenizer_encode_alloc(tok, prompt, plen, 0, &ids, &n_ids) != EXA_OK) { rc = exa_cli_fail("ask: tokenizer failed"); goto done; }
    exa_model_info info;
    exa_model_get_info(m, &info);
    exa_context_params cp = exa_cli_context_params(); /* --kv-type */
    cp.n_threads = (int)threads;
    cp.n_ctx = (int)n_ids + (int)n_new;
    if (info.n_ctx_train > 0 && cp.n_ctx > info.n_ctx_train) {
        rc = exa_cli_fail("ask: prompt (%zu tokens) + answer (%ld) exceed the model's context (%d); use fewer passages (-k) or --max-chars",
                          n_ids, n_new, info.n_ctx_train);
        goto done;
    }
    if (exa_context_init(m, &cp, &ctx, err, sizeof err) != EXA_OK) { rc = exa_cli_fail("%s", err); goto done; }
    exa_sampler_params smpp = exa_sampler_default_params();
    smpp.temperature = (float)temp;
    smpp.seed = (uint64_t)seed;
    smp = exa_sampler_init(&smpp, info.n_vocab);
    exa_chat_parser_params pp = exa_chat_parser_default_params(exa_chat_template_kind(tmpl));
    pp.reasoning_open = exa_chat_prompt_opens_reasoning(tmpl, &ro);
    if (!smp || exa_chat_parser_init(&pp, &parser) != EXA_OK || !(detok = exa_detok_init(tok, 0))) { rc = exa_cli_fail("ask: out of memory"); goto done; }
    exa_status st = exa_context_eval(ctx, 0, ids, (int)n_ids, 0);
    for (long g = 0; st == EXA_OK && g < n_new; g++) {
        int32_t t = exa_sampler_sample(smp, exa_context_logits(ctx, -1));
        exa_sampler_accept(smp, t);
        size_t len;
        const char *piece = t == info.eos_id ? exa_detok_flush(detok, &len) : exa_detok_push(detok, t, &len);
        exa_chat_delta d;
        exa_chat_parser_feed(parser, piece, len, &d);
        if (show_reasoning && !json && d.reasoning_len) fwrite(d.reasoning, 1, d.reasoning_len, stderr);
        if (d.content_len) {
            exa_buf_add(&ans, d.content, d.content_len);
            if (!json) { fwrite(d.content, 1, d.content_len, stdout); fflush(stdout); }
        }
        if (d.stopped || t == info.eos_id) break;
        st = exa_context_eval(ctx, 0, &t, 1, 0);
    }
    if (st != EXA_OK) { rc = exa_cli_fail("ask: %s", exa_context_errmsg(ctx)); goto done; }
    exa_chat_delta d;
    size_t len;
    const char *rest = exa_detok_flush(detok, &len);
    exa_chat_parser_feed(parser, rest, len, &d);
    if (d.content_len) { exa_buf_add(&ans, d.content, d.content_len); if (!json) fwrite(d.content, 1, d.content_len, stdout); }
    exa_chat_parser_finish(parser, &d);
    if (d.content_len) { exa_buf_add(&ans, d.content, d.content_len); if (!json) fwrite(d.content, 1, d.content_len, stdout); }
    if (!json) printf("\n");

report:
    if (!ans.s) exa_buf_add(&ans, "", 0);
    n_cited = exa_grounded_citations(ans.s, n_use, cited);
    if (json) {
        struct json_object *o = json_object_new_object(), *cit = json_object_new_array(), *ps = json_object_new_array();
        json_object_object_add(o, "question", json_object_new_string(question));
        json_object_object_add(o, "answer", json_object_new_string(ans.s));
        json_object_object_add(o, "found", json_object_new_boolean(n_use > 0));
        for (int i = 0; i < n_use; i++) {
            struct json_object *pj = exa_grounded_passage_json(&res.passages[i], i + 1, 1);
            if (cited[i]) json_object_array_add(cit, exa_grounded_passage_json(&res.passages[i], i + 1, 0));
            json_object_object_add(pj, "cited", json_object_new_boolean(cited[i]));
            json_object_array_add(ps, pj);
        }
        json_object_object_add(o, "citations", cit);
        json_object_object_add(o, "passages", ps);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else if (n_use > 0) {
        printf("\n%s\n", n_cited ? "Sources:" : "Sources (retrieved; the answer cites none of them):");
        for (int i = 0; i < n_use; i++) {
            if (n_cited && !cited[i]) continue;
            const exa_passage *p = &res.passages[i];
            if (p->page > 0) printf("  [%d] %s, p. %d — %s\n", i + 1, p->path, p->page, p->title ? p->title : "");
            else printf("  [%d] %s — %s\n", i + 1, p->path, p->title ? p->title : "");
        }
    }
done:
    json_object_put(msgs);
    free(ids);
    free(prompt);
    exa_detok_free(detok);
    exa_chat_parser_free(parser);
    exa_sampler_free(smp);
    exa_context_free(ctx);
    exa_chat_template_free(tmpl);
    exa_tokenizer_free(tok);
    exa_model_free(m);
    free(cited);
    exa_buf_free(&ans);
    exa_search_result_free(&res);
    exa_index_close(idx);
    return rc;
}
