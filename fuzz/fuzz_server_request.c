/* fuzz_server_request.c — fuzzes the server's request parsing (src/server/request.c) and its
 * output pipeline (output.c): byte 0 picks /v1/chat/completions or /v1/completions, the rest is
 * the HTTP body. A request that parses must be within the context; a refusal must carry a
 * status and a message whose error JSON parses. Parsed requests then get tokens derived from
 * the input pushed through the generation pipeline; the final body (or every SSE event) must
 * be valid JSON. Needs the EXAONE 4.0 tokenizer: $EXA_SHARED, else ../shared found upwards
 * from the working folder; without it the target does nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_internal.h"

static srv_env env;
static int ready = -1;

static void init(void) {
    static const char *const roots[] = {"", "../shared", "../../shared", "../../../shared", "../../../../shared"};
    char path[1024];
    ready = 0;
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        const char *root = i == 0 ? getenv("EXA_SHARED") : roots[i];
        if (!root) continue;
        snprintf(path, sizeof path, "%s/data/exaone-tokenizer/exaone-4.0", root);
        exa_tokenizer *tok = NULL;
        char err[256];
        if (exa_tokenizer_load(path, &tok, err, sizeof err) == EXA_OK) {
            env.tok = tok;
            env.tmpl = exa_chat_template_builtin(EXA_CHAT_EXAONE4);
            env.model_name = "fuzz";
            env.n_ctx = 512;
            env.n_vocab = exa_tokenizer_n_vocab(tok);
            env.eos = exa_tokenizer_eos(tok);
            ready = 1;
            return;
        }
    }
}

static void check_json(const char *s, size_t n) {
    (void)n;   /* s is NUL-terminated */
    json_object *o = json_tokener_parse(s);
    if (!o) abort();
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (ready < 0) init();
    if (!ready || size < 1 || size > (1 << 16)) return 0;
    srv_err e;
    memset(&e, 0, sizeof e);
    const char *body = (const char *)data + 1;
    srv_req *r = (data[0] & 1) ? srv_parse_completion(&env, body, size - 1, &e) : srv_parse_chat(&env, body, size - 1, &e);
    if (!r) {
        if ((e.status != 400 && e.status != 500) || !e.message[0]) abort();
        char *j = srv_err_json(&e);
        if (!j) abort();
        check_json(j, strlen(j));
        free(j);
        return 0;
    }
    if (r->n_prompt <= 0 || r->n_prompt >= env.n_ctx || r->max_tokens < 1 || r->n_prompt + r->max_tokens > env.n_ctx) abort();
    if (srv_gen_begin(&env, r) != 0) abort();
    int done = 0;
    for (size_t i = 0; i < size && i < 64 && !done; i++) {
        int32_t t = (int32_t)(((uint32_t)data[i] * 2654435761u + (uint32_t)i) % (uint32_t)env.n_vocab);
        if (i % 7 == 3) t = 350 + data[i] % 12;   /* tags: <think>, <tool_call>, ... */
        done = srv_gen_token(&env, r, t, NULL);
    }
    if (!done) srv_gen_finish(&env, r, "length");
    if (!r->finish) abort();
    const char *p = r->pend.p ? r->pend.p : "";
    if (!r->stream) check_json(p, r->pend.n);
    else {
        while (*p) {
            if (strncmp(p, "data: ", 6)) abort();
            const char *end = strstr(p, "\n\n");
            if (!end) abort();
            if (strncmp(p + 6, "[DONE]", 6)) {
                char *ev = strndup(p + 6, (size_t)(end - p - 6));
                if (!ev) abort();
                check_json(ev, strlen(ev));
                free(ev);
            }
            p = end + 2;
        }
    }
    srv_req_free(r);
    return 0;
}
