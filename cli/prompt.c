/* prompt.c — turning user text into prompt tokens for the CLI: reading a prompt file, loading
 * the model folder's tokenizer, and optionally rendering the text as a user turn with the
 * model's chat template (exaone generate --chat; exaone chat builds on the same pieces). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"

int exa_cli_read_file(const char *path, char **out) {
    char err[512];
    size_t len;
    if (exa_file_read(path, (size_t)1 << 30, out, &len, err, sizeof err) != EXA_OK) return exa_cli_fail("%s", err);
    return 0;
}

int exa_cli_text_prompt(const char *dir, const char *text, int chat, const char *system, int think, exa_tokenizer **tok_out,
                        int32_t **ids, int *n_ids) {
    char err[1024];
    exa_tokenizer *tok = NULL;
    if (exa_tokenizer_load(dir, &tok, err, sizeof err) != EXA_OK) return exa_cli_fail("%s", err);
    char *rendered = NULL;
    const char *src = text;
    if (chat) {
        exa_chat_template *t = NULL;
        if (exa_chat_template_load(dir, EXA_CHAT_AUTO, &t, err, sizeof err) != EXA_OK) {
            exa_tokenizer_free(tok);
            return exa_cli_fail("%s", err);
        }
        struct json_object *msgs = json_object_new_array();
        if (system) {
            struct json_object *s = json_object_new_object();
            json_object_object_add(s, "role", json_object_new_string("system"));
            json_object_object_add(s, "content", json_object_new_string(system));
            json_object_array_add(msgs, s);
        }
        struct json_object *u = json_object_new_object();
        json_object_object_add(u, "role", json_object_new_string("user"));
        json_object_object_add(u, "content", json_object_new_string(text));
        json_object_array_add(msgs, u);
        exa_chat_render_opts o = exa_chat_render_default_opts();
        o.enable_thinking = think;
        size_t len;
        exa_status st = exa_chat_render(t, msgs, NULL, &o, &rendered, &len, err, sizeof err);
        json_object_put(msgs);
        exa_chat_template_free(t);
        if (st != EXA_OK) { exa_tokenizer_free(tok); return exa_cli_fail("%s", err); }
        src = rendered;
    }
    size_t n = 0;
    exa_status st = exa_tokenizer_encode_alloc(tok, src, strlen(src), 0, ids, &n);
    free(rendered);
    if (st != EXA_OK) { exa_tokenizer_free(tok); return exa_cli_fail("tokenizer: %s", exa_status_str(st)); }
    if (n > (size_t)1 << 24) { free(*ids); exa_tokenizer_free(tok); return exa_cli_fail("prompt too long (%zu tokens)", n); }
    *n_ids = (int)n;
    *tok_out = tok;
    return 0;
}
