/* fuzz_chat_render.c — fuzzes the native chat template renderers from arbitrary JSON: byte 0
 * picks options (generation prompt, thinking, skip_think, string-argument decoding); the rest is
 * JSON: either {"messages": [...], "tools": [...]} or a bare messages array. Every template kind
 * renders it; errors are fine, crashes and invalid output lengths are not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "exaone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1 << 20)) return 0;
    exa_chat_render_opts o = exa_chat_render_default_opts();
    o.add_generation_prompt = data[0] & 1;
    o.enable_thinking = (data[0] >> 1) & 1;
    o.skip_think = (data[0] >> 2) & 1;
    o.parse_string_arguments = (data[0] >> 3) & 1;
    struct json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) return 0;
    struct json_object *v = json_tokener_parse_ex(tok, (const char *)data + 1, (int)size - 1);
    json_tokener_free(tok);
    if (!v) return 0;
    struct json_object *msgs = v, *tools = NULL;
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_get_ex(v, "messages", &msgs);
        json_object_object_get_ex(v, "tools", &tools);
    }
    for (int k = EXA_CHAT_EXAONE3; k <= EXA_CHAT_EXAONE4; k++) {
        exa_chat_template *t = exa_chat_template_builtin((exa_chat_kind)k);
        char *out = NULL, err[256];
        size_t len = 0;
        if (exa_chat_render(t, msgs, tools, &o, &out, &len, err, sizeof err) == EXA_OK) {
            if (!out || strlen(out) > len) abort();
        } else if (out || !err[0]) {
            abort();
        }
        free(out);
        exa_chat_template_free(t);
    }
    json_object_put(v);
    return 0;
}
