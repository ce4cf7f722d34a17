/* cmd_template.c — `exaone template`: renders a conversation (OpenAI messages JSON) with a model
 * folder's chat template (or a forced built-in one) and prints the exact prompt text, for
 * checking what the model will see. Rendering lives in src/chat/ (docs/chat.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"

static void usage(void) {
    printf("usage: exaone template (-m DIR | --kind K) [options] [MESSAGES.json | -]\n"
           "  -m DIR          model folder: chat_template.jinja / tokenizer_config.json / config.json,\n"
           "                  or a .gguf: tokenizer.chat_template, else files next to it, else its architecture\n"
           "  --kind K        force a built-in template: exaone3, exaone-deep, exaone4\n"
           "  --tools FILE    JSON array of OpenAI tool definitions (4.0)\n"
           "  --think         open the reasoning block in the generation prompt (4.0 enable_thinking)\n"
           "  --keep-think    keep the last assistant turn's reasoning (4.0 skip_think=false)\n"
           "  --no-gen        no generation prompt\n"
           "messages are a JSON array of {\"role\", \"content\", ...} read from the file or stdin;\n"
           "prints the prompt text exactly (no trailing newline added); the template used goes to stderr\n");
}

static char *read_all(FILE *f, const char *name) {
    exa_status st = EXA_OK;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > ((size_t)256 << 20)) { st = EXA_ERR_NOMEM; break; }
            char *b = realloc(buf, cap * 2);
            if (!b) { st = EXA_ERR_NOMEM; break; }
            buf = b;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    if (!buf || st) {
        free(buf);
        exa_cli_fail("template: %s is too large or unreadable", name);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

int exa_cmd_template(int argc, char **argv) {
    const char *dir = NULL, *kind = NULL, *tools_path = NULL, *msgs_path = NULL;
    exa_chat_render_opts o = exa_chat_render_default_opts();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        else if (!strcmp(a, "--think")) o.enable_thinking = 1;
        else if (!strcmp(a, "--keep-think")) o.skip_think = 0;
        else if (!strcmp(a, "--no-gen")) o.add_generation_prompt = 0;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "--kind") || !strcmp(a, "--tools")) {
            if (!v) return exa_cli_fail("template: option '%s' needs a value (see exaone template --help)", a);
            if (!strcmp(a, "--kind")) kind = v;
            else if (!strcmp(a, "--tools")) tools_path = v;
            else dir = v;
            i++;
        } else if (a[0] == '-' && a[1]) return exa_cli_fail("template: unknown option '%s' (see exaone template --help)", a);
        else if (msgs_path) return exa_cli_fail("template: more than one messages file given");
        else msgs_path = a;
    }
    exa_chat_kind force = EXA_CHAT_AUTO;
    if (kind && !(force = exa_chat_kind_from_name(kind)))
        return exa_cli_fail("template: unknown --kind '%s' (exaone3, exaone-deep, exaone4)", kind);
    if (!dir && !force) return exa_cli_fail("template: -m DIR or --kind K is required");
    char err[1024];
    exa_chat_template *t = NULL;
    if (dir) {
        if (exa_chat_template_load(dir, force, &t, err, sizeof err)) return exa_cli_fail("%s", err);
    } else {
        t = exa_chat_template_builtin(force);
    }
    fprintf(stderr, "template: %s\n", exa_chat_template_describe(t));
    FILE *f = (!msgs_path || !strcmp(msgs_path, "-")) ? stdin : fopen(msgs_path, "rb");
    if (!f) { exa_chat_template_free(t); return exa_cli_fail("template: cannot open %s", msgs_path); }
    char *msgs = read_all(f, msgs_path ? msgs_path : "stdin");
    if (f != stdin) fclose(f);
    char *tools = NULL;
    if (msgs && tools_path) {
        FILE *tf = fopen(tools_path, "rb");
        if (!tf) { free(msgs); exa_chat_template_free(t); return exa_cli_fail("template: cannot open %s", tools_path); }
        tools = read_all(tf, tools_path);
        fclose(tf);
        if (!tools) { free(msgs); exa_chat_template_free(t); return 1; }
    }
    if (!msgs) { exa_chat_template_free(t); return 1; }
    char *out = NULL;
    size_t len = 0;
    exa_status st = exa_chat_render_json(t, msgs, tools, &o, &out, &len, err, sizeof err);
    free(msgs);
    free(tools);
    exa_chat_template_free(t);
    if (st) return exa_cli_fail("%s", err);
    fwrite(out, 1, len, stdout);
    free(out);
    return 0;
}
