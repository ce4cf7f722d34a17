/* chat_tool.c — test driver used by the Python comparison scripts in tests/chat/:
 *   chat_tool pyjson            < lines of JSON   -> one json.dumps-style line per input line
 *   chat_tool render CASES.json                   -> JSON object {case name: rendered text or {"error": msg}}
 *   chat_tool identify FILE...                    -> one line per file: kind or "error: msg"
 *   chat_tool load DIR [FORCE]                    -> kind and description, or "error: msg"
 *   chat_tool parse KIND OPEN < TEXT              -> whole-text parse, prints {reasoning, content, tool_calls}
 * A case is {"name", "kind": "exaone3"|"exaone-deep"|"exaone4", "messages", "tools"?,
 *            "add_generation_prompt"?, "enable_thinking"?, "skip_think"?}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat/chat_internal.h"
#include "exaone.h"

static int cmd_pyjson(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        struct json_tokener *tok = json_tokener_new_ex(600);
        struct json_object *v = json_tokener_parse_ex(tok, line, (int)n + 1);
        enum json_tokener_error e = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (e != json_tokener_success) { printf("PARSE-ERROR\n"); continue; }
        exa_sbuf b = {0};
        if (exa_pyjson_dump(v, &b)) printf("DUMP-ERROR\n");
        else { fwrite(b.data, 1, b.len, stdout); putchar('\n'); }
        exa_sbuf_free(&b);
        json_object_put(v);
    }
    free(line);
    return 0;
}

static int opt_bool(struct json_object *c, const char *k, int def) {
    struct json_object *v;
    return json_object_object_get_ex(c, k, &v) ? json_object_get_boolean(v) : def;
}

static int cmd_render(const char *path) {
    struct json_object *cases = json_object_from_file(path);
    if (!cases) { fprintf(stderr, "cannot read %s\n", path); return 1; }
    struct json_object *res = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(cases); i++) {
        struct json_object *c = json_object_array_get_idx(cases, i), *v, *msgs = NULL, *tools = NULL;
        const char *name = json_object_object_get_ex(c, "name", &v) ? json_object_get_string(v) : "?";
        const char *kind = json_object_object_get_ex(c, "kind", &v) ? json_object_get_string(v) : "";
        json_object_object_get_ex(c, "messages", &msgs);
        json_object_object_get_ex(c, "tools", &tools);
        exa_chat_template *t = exa_chat_template_builtin(exa_chat_kind_from_name(kind));
        exa_chat_render_opts o = exa_chat_render_default_opts();
        o.add_generation_prompt = opt_bool(c, "add_generation_prompt", 1);
        o.enable_thinking = opt_bool(c, "enable_thinking", 0);
        o.skip_think = opt_bool(c, "skip_think", 1);
        o.parse_string_arguments = opt_bool(c, "parse_string_arguments", 1);
        char *out = NULL, err[256];
        size_t len = 0;
        exa_status st = exa_chat_render(t, msgs, tools, &o, &out, &len, err, sizeof err);
        if (st) {
            struct json_object *e = json_object_new_object();
            json_object_object_add(e, "error", json_object_new_string(err));
            json_object_object_add(res, name, e);
        } else {
            json_object_object_add(res, name, json_object_new_string_len(out, (int)len));
        }
        free(out);
        exa_chat_template_free(t);
    }
    puts(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
    json_object_put(res);
    json_object_put(cases);
    return 0;
}

static int cmd_identify(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { printf("error: cannot open %s\n", argv[i]); continue; }
        exa_sbuf b = {0};
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) exa_sbuf_append(&b, buf, n);
        fclose(f);
        exa_sbuf_append(&b, "", 0);
        exa_chat_template *t;
        char err[512];
        if (exa_chat_template_from_text(b.data, argv[i], EXA_CHAT_AUTO, &t, err, sizeof err)) printf("error: %s\n", err);
        else printf("%s\n", exa_chat_kind_name(exa_chat_template_kind(t)));
        exa_chat_template_free(t);
        exa_sbuf_free(&b);
    }
    return 0;
}

static int cmd_load(const char *dir, const char *force) {
    exa_chat_template *t;
    char err[512];
    if (exa_chat_template_load(dir, exa_chat_kind_from_name(force), &t, err, sizeof err)) {
        printf("error: %s\n", err);
        return 0;
    }
    printf("%s\t%s\n", exa_chat_kind_name(exa_chat_template_kind(t)), exa_chat_template_describe(t));
    exa_chat_template_free(t);
    return 0;
}

static int cmd_parse(const char *kind, const char *open) {
    exa_sbuf b = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) exa_sbuf_append(&b, buf, n);
    exa_chat_parser_params pp = exa_chat_parser_default_params(exa_chat_kind_from_name(kind));
    pp.reasoning_open = atoi(open);
    exa_chat_parsed r;
    if (exa_chat_parse(&pp, b.data ? b.data : "", b.len, &r)) { exa_sbuf_free(&b); return 1; }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "reasoning", json_object_new_string(r.reasoning));
    json_object_object_add(o, "content", json_object_new_string(r.content));
    json_object_object_add(o, "tool_calls", json_tokener_parse(r.tool_calls_json));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    exa_chat_parsed_free(&r);
    exa_sbuf_free(&b);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "pyjson")) return cmd_pyjson();
    if (argc == 3 && !strcmp(argv[1], "render")) return cmd_render(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "identify")) return cmd_identify(argc - 2, argv + 2);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "load")) return cmd_load(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 4 && !strcmp(argv[1], "parse")) return cmd_parse(argv[2], argv[3]);
    fprintf(stderr, "usage: chat_tool pyjson | render CASES.json | identify FILE... | load DIR [FORCE] | parse KIND OPEN\n");
    return 2;
}
