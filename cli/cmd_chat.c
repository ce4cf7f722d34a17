/* cmd_chat.c — `exaone chat`: multi-turn streaming chat with a model folder. Renders the
 * conversation with the model's own chat template (src/chat/), reuses the KV cache for the
 * common token prefix of consecutive turns, streams the answer through the output parser
 * (reasoning shown dimmed or on stderr, answer on stdout), and supports /reset, /system,
 * /think, /save. Ctrl-C stops the current answer, not the program. When stdin is not a
 * terminal, every input line is one user turn (or a /command) and nothing else is printed
 * to stdout but the answers. With stdin and stdout both terminals, the prompt is edited with
 * libedit (cli/lineedit.c: whole-character editing for Hangul, in-session history). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "core/common.h"
#include "lineedit.h"

static volatile sig_atomic_t g_interrupt = 0;
static void on_sigint(int sig) {
    (void)sig;
    g_interrupt = 1;
}

static void usage(void) {
    printf("usage: exaone chat -m DIR [options]\n"
           "  -m DIR             model folder (weights, tokenizer, chat template) or .gguf (all three inside)\n"
           "  --quant TYPE       convert weights at load: q8, q4 (= q4_K_M), q4_0, q4_K, q5_K, q6_K, f16, bf16\n"
           "  --lora DIR         merge this PEFT LoRA adapter (exaone finetune output) at load\n"
           "  --kind K           force a built-in chat template: exaone3, exaone-deep, exaone4\n"
           "  --system TEXT      system prompt\n"
           "  --think            reasoning mode (EXAONE 4.0 enable_thinking; Deep always reasons)\n"
           "  -n N               max tokens per answer (default 4096)\n"
           "  --temp T           temperature (default 0.6 when reasoning, else 0.1; 0 = greedy)\n"
           "  --top-p P          (default 0.95 when reasoning, else 1)\n"
           "  --top-k K, --min-p P, --repeat-penalty R, --seed S\n"
           "  -t N               threads (default: all cores)\n"
           "  --ctx N            context length (default min(model max, 8192))\n"
           "in the chat: /reset  /system TEXT  /think on|off  /save FILE  /help  /quit\n"
           "Ctrl-C stops the answer being written; Ctrl-D (or Ctrl-C at the prompt) quits.\n"
           "With stdin not a terminal, each input line is one user turn or command (--echo prints it).\n");
}

typedef struct chat_state {
    exa_model *model;
    exa_tokenizer *tok;
    exa_context *ctx;
    exa_chat_template *tmpl;
    exa_model_info info;
    int n_ctx, n_batch;
    struct json_object *turns;  /* user/assistant messages (no system) */
    char *system;               /* NULL: none */
    int think;
    int32_t *cached;            /* tokens held by sequence 0 of the KV cache */
    int n_cached;
    long max_new;
    exa_sampler_params sp;
    int temp_set, top_p_set;
    int interactive, color, echo;
} chat_state;

static int reasoning_on(const chat_state *s) {
    exa_chat_kind k = exa_chat_template_kind(s->tmpl);
    return k == EXA_CHAT_DEEP || (k == EXA_CHAT_EXAONE4 && s->think);
}

static struct json_object *build_messages(const chat_state *s) {
    struct json_object *m = json_object_new_array();
    if (s->system) {
        struct json_object *sys = json_object_new_object();
        json_object_object_add(sys, "role", json_object_new_string("system"));
        json_object_object_add(sys, "content", json_object_new_string(s->system));
        json_object_array_add(m, sys);
    }
    for (size_t i = 0; i < json_object_array_length(s->turns); i++)
        json_object_array_add(m, json_object_get(json_object_array_get_idx(s->turns, i)));
    return m;
}

static void add_turn(chat_state *s, const char *role, const char *content) {
    struct json_object *t = json_object_new_object();
    json_object_object_add(t, "role", json_object_new_string(role));
    json_object_object_add(t, "content", json_object_new_string(content));
    json_object_array_add(s->turns, t);
}

static void drop_last_turn(chat_state *s) {
    size_t n = json_object_array_length(s->turns);
    if (n) json_object_array_del_idx(s->turns, n - 1, 1);
}

/* Prints a parser delta: reasoning dimmed (terminal) or to stderr, the answer to stdout.
 * *state: 0 nothing shown yet, 1 inside reasoning, 2 answer started. */
static void show(const chat_state *s, const exa_chat_delta *d, int *state) {
    if (d->reasoning_len) {
        FILE *f = s->color ? stdout : stderr;
        if (*state == 0 && s->color) fputs("\033[2m", f);
        *state = 1;
        fwrite(d->reasoning, 1, d->reasoning_len, f);
        fflush(f);
    }
    if (d->content_len) {
        if (*state == 1) {
            if (s->color) fputs("\033[0m\n\n", stdout);
            else fputs("\n", stderr);
        }
        *state = 2;
        fwrite(d->content, 1, d->content_len, stdout);
    }
    fflush(stdout);
}

/* Evaluates tokens [from, n) of the prompt in n_batch chunks, checking for Ctrl-C between them. */
static exa_status eval_prompt(chat_state *s, const int32_t *ids, int from, int n) {
    while (from < n) {
        if (g_interrupt) return EXA_ERR_ABORTED;
        int chunk = EXA_MIN(n - from, s->n_batch);
        exa_status st = exa_context_eval(s->ctx, 0, ids + from, chunk, 0);
        if (st) return st;
        memcpy(s->cached + s->n_cached, ids + from, (size_t)chunk * sizeof *ids);
        s->n_cached += chunk;
        from += chunk;
    }
    return EXA_OK;
}

/* One assistant answer to the conversation as it stands (last turn: the user's). */
static int answer(chat_state *s) {
    char err[1024];
    exa_chat_render_opts o = exa_chat_render_default_opts();
    o.enable_thinking = s->think;
    struct json_object *msgs = build_messages(s);
    char *prompt = NULL;
    size_t plen = 0;
    exa_status st = exa_chat_render(s->tmpl, msgs, NULL, &o, &prompt, &plen, err, sizeof err);
    json_object_put(msgs);
    if (st) { drop_last_turn(s); return exa_cli_fail("%s", err), 0; }
    int32_t *ids = NULL;
    size_t n_ids = 0;
    st = exa_tokenizer_encode_alloc(s->tok, prompt, plen, 0, &ids, &n_ids);
    free(prompt);
    if (st) { drop_last_turn(s); return exa_cli_fail("chat: cannot tokenize the prompt: %s", exa_status_str(st)), 0; }
    int n = (int)n_ids;
    if (n + 1 > s->n_ctx) {
        free(ids);
        drop_last_turn(s);
        exa_cli_fail("chat: the conversation (%d tokens) no longer fits the context (%d); /reset or use --ctx", n, s->n_ctx);
        return 0;
    }
    /* reuse the cached prefix; at least one token is evaluated so there are logits */
    int keep = 0;
    while (keep < s->n_cached && keep < n - 1 && s->cached[keep] == ids[keep]) keep++;
    if (keep < s->n_cached) {
        if (exa_context_seq_truncate(s->ctx, 0, keep) != EXA_OK) {
            exa_context_seq_reset(s->ctx, 0);
            keep = 0;
        }
        s->n_cached = keep;
    }
    g_interrupt = 0;
    double t0 = exa_time_now();
    st = eval_prompt(s, ids, keep, n);
    if (st) {
        free(ids);
        drop_last_turn(s);
        exa_context_seq_reset(s->ctx, 0);
        s->n_cached = 0;
        if (st == EXA_ERR_ABORTED) { fprintf(stderr, "\n(interrupted)\n"); return 1; }
        exa_cli_fail("chat: %s", exa_context_errmsg(s->ctx));
        return 0;
    }
    double t1 = exa_time_now();

    exa_sampler_params sp = s->sp;
    int rs = reasoning_on(s);
    if (!s->temp_set) sp.temperature = rs ? 0.6f : 0.1f;
    if (!s->top_p_set) sp.top_p = rs ? 0.95f : 1.0f;
    exa_sampler *smp = exa_sampler_init(&sp, s->info.n_vocab);
    exa_detok *dt = exa_detok_init(s->tok, 0);
    exa_chat_parser_params pp = exa_chat_parser_default_params(exa_chat_template_kind(s->tmpl));
    pp.reasoning_open = exa_chat_prompt_opens_reasoning(s->tmpl, &o);
    pp.parse_tool_calls = 0;
    exa_chat_parser *parser = NULL;
    if (!smp || !dt || exa_chat_parser_init(&pp, &parser) != EXA_OK) {
        exa_sampler_free(smp);
        exa_detok_free(dt);
        free(ids);
        drop_last_turn(s);
        exa_cli_fail("chat: out of memory");
        return 0;
    }
    for (int i = 0; i < n; i++) exa_sampler_accept(smp, ids[i]);
    free(ids);

    int in_reasoning = 0, n_gen = 0, interrupted = 0;
    exa_chat_delta d;
    while (n_gen < s->max_new) {
        if (g_interrupt) { interrupted = 1; break; }
        int32_t t = exa_sampler_sample(smp, exa_context_logits(s->ctx, -1));
        exa_sampler_accept(smp, t);
        n_gen++;
        if (t == s->info.eos_id) break;
        size_t len = 0;
        const char *txt = exa_detok_push(dt, t, &len);
        if (txt && len) {
            exa_chat_parser_feed(parser, txt, len, &d);
            show(s, &d, &in_reasoning);
            if (d.stopped) break;
        }
        if (s->n_cached + 1 > s->n_ctx) {
            fprintf(stderr, "\n(context full: answer cut; /reset to start over)\n");
            break;
        }
        if (exa_context_eval(s->ctx, 0, &t, 1, 0) != EXA_OK) {
            fprintf(stderr, "\nexaone: chat: %s\n", exa_context_errmsg(s->ctx));
            break;
        }
        s->cached[s->n_cached++] = t;
    }
    size_t len = 0;
    const char *tail = exa_detok_flush(dt, &len);
    if (tail && len && !exa_chat_parser_feed(parser, tail, len, &d)) show(s, &d, &in_reasoning);
    if (!exa_chat_parser_finish(parser, &d)) show(s, &d, &in_reasoning);
    if (in_reasoning == 1) {
        if (s->color) fputs("\033[0m", stdout);
        else fputs("\n", stderr);
    }
    fputs("\n", stdout);
    fflush(stdout);
    double t2 = exa_time_now();
    if (interrupted) fprintf(stderr, "(answer stopped)\n");
    if (s->interactive)
        fprintf(stderr, "\033[2m[prompt %d new tokens in %.2f s, %d generated at %.1f tok/s]\033[0m\n", n - keep, t1 - t0,
                n_gen, n_gen > 1 ? (n_gen - 1) / (t2 - t1 + 1e-9) : 0.0);
    add_turn(s, "assistant", exa_chat_parser_content(parser));
    exa_chat_parser_free(parser);
    exa_detok_free(dt);
    exa_sampler_free(smp);
    g_interrupt = 0;
    return 1;
}

static int save(const chat_state *s, const char *path) {
    struct json_object *m = build_messages(s);
    int r = json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(m);
    if (r) return exa_cli_fail("chat: cannot write %s", path), 0;
    fprintf(stderr, "(saved %s)\n", path);
    return 1;
}

/* Handles a /command; returns 0 to quit. */
static int command(chat_state *s, char *line) {
    char *arg = line + strcspn(line, " \t");
    if (*arg) *arg++ = 0;
    arg += strspn(arg, " \t");
    if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) return 0;
    if (!strcmp(line, "/reset")) {
        json_object_put(s->turns);
        s->turns = json_object_new_array();
        fprintf(stderr, "(conversation cleared)\n");
    } else if (!strcmp(line, "/system")) {
        free(s->system);
        s->system = *arg ? strdup(arg) : NULL;
        fprintf(stderr, *arg ? "(system prompt set)\n" : "(system prompt removed)\n");
    } else if (!strcmp(line, "/think")) {
        exa_chat_kind k = exa_chat_template_kind(s->tmpl);
        if (strcmp(arg, "on") && strcmp(arg, "off")) exa_cli_fail("chat: /think on|off");
        else if (k == EXA_CHAT_DEEP) fprintf(stderr, "(EXAONE Deep always reasons)\n");
        else if (k == EXA_CHAT_EXAONE3) fprintf(stderr, "(EXAONE 3.x has no reasoning mode)\n");
        else {
            s->think = !strcmp(arg, "on");
            fprintf(stderr, "(reasoning %s)\n", s->think ? "on" : "off");
        }
    } else if (!strcmp(line, "/save")) {
        if (!*arg) exa_cli_fail("chat: /save FILE");
        else save(s, arg);
    } else if (!strcmp(line, "/help")) {
        fprintf(stderr, "/reset  /system TEXT  /think on|off  /save FILE  /help  /quit\n");
    } else {
        exa_cli_fail("chat: unknown command %s (/help lists them)", line);
    }
    return 1;
}

int exa_cmd_chat(int argc, char **argv) {
    if (exa_cli_take_quant(&argc, argv)) return 1; /* --quant TYPE: convert weights at load */
    const char *dir = NULL, *kind = NULL, *system = NULL;
    long n_new = 4096, top_k = 0, threads = 0, n_ctx = 0, seed = 24301;
    double temp = 0, top_p = 1, min_p = 0, rep = 1;
    int think = 0, temp_set = 0, top_p_set = 0, echo = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        if (!strcmp(a, "--think")) { think = 1; continue; }
        if (!strcmp(a, "--echo")) { echo = 1; continue; }
        if (!v) return exa_cli_fail("chat: option '%s' needs a value (see exaone chat --help)", a);
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) dir = v;
        else if (!strcmp(a, "--lora")) exa_cli_lora_dir = v; /* PEFT adapter merged at load */
        else if (!strcmp(a, "--kind")) kind = v;
        else if (!strcmp(a, "--system")) system = v;
        else if (!strcmp(a, "-n")) r = exa_cli_int(a, v, 1, 1 << 24, &n_new);
        else if (!strcmp(a, "--temp")) { r = exa_cli_float(a, v, &temp); temp_set = 1; }
        else if (!strcmp(a, "--top-p")) { r = exa_cli_float(a, v, &top_p); top_p_set = 1; }
        else if (!strcmp(a, "--top-k")) r = exa_cli_int(a, v, 0, 1 << 24, &top_k);
        else if (!strcmp(a, "--min-p")) r = exa_cli_float(a, v, &min_p);
        else if (!strcmp(a, "--repeat-penalty")) r = exa_cli_float(a, v, &rep);
        else if (!strcmp(a, "--seed")) r = exa_cli_int(a, v, 0, 0x7fffffffL, &seed);
        else if (!strcmp(a, "-t")) r = exa_cli_int(a, v, 1, 1024, &threads);
        else if (!strcmp(a, "--ctx")) r = exa_cli_int(a, v, 16, 1 << 24, &n_ctx);
        else return exa_cli_fail("chat: unknown option '%s' (see exaone chat --help)", a);
        if (r) return 1;
    }
    if (!dir) return exa_cli_fail("chat: -m DIR is required");
    exa_chat_kind force = EXA_CHAT_AUTO;
    if (kind && !(force = exa_chat_kind_from_name(kind)))
        return exa_cli_fail("chat: unknown --kind '%s' (exaone3, exaone-deep, exaone4)", kind);

    chat_state s;
    memset(&s, 0, sizeof s);
    char err[1024];
    int rc = 1;
    if (exa_chat_template_load(dir, force, &s.tmpl, err, sizeof err)) return exa_cli_fail("%s", err);
    if (exa_tokenizer_load(dir, &s.tok, err, sizeof err)) { exa_cli_fail("%s", err); goto done; }
    if (!(s.model = exa_cli_load_model(dir))) goto done;
    exa_model_get_info(s.model, &s.info);
    exa_context_params cp = exa_context_default_params();
    cp.n_threads = (int)threads;
    cp.n_ctx = n_ctx ? (int)n_ctx : (s.info.n_ctx_train > 0 && s.info.n_ctx_train < 8192 ? s.info.n_ctx_train : 8192);
    if (exa_context_init(s.model, &cp, &s.ctx, err, sizeof err)) { exa_cli_fail("%s", err); goto done; }
    s.n_ctx = cp.n_ctx;
    s.n_batch = cp.n_batch > 0 ? cp.n_batch : 512;
    s.cached = malloc((size_t)s.n_ctx * sizeof *s.cached);
    s.turns = json_object_new_array();
    if (!s.cached || !s.turns) { exa_cli_fail("chat: out of memory"); goto done; }
    s.system = system ? strdup(system) : NULL;
    s.think = think;
    s.max_new = n_new;
    s.sp = exa_sampler_default_params();
    s.sp.temperature = (float)temp;
    s.sp.top_p = (float)top_p;
    s.sp.top_k = (int)top_k;
    s.sp.min_p = (float)min_p;
    s.sp.repeat_penalty = (float)rep;
    s.sp.seed = (uint64_t)seed;
    s.temp_set = temp_set;
    s.top_p_set = top_p_set;
    s.interactive = isatty(STDIN_FILENO);
    s.echo = echo;
    s.color = isatty(STDOUT_FILENO);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  /* no SA_RESTART: Ctrl-C at the prompt interrupts the read */
    sigaction(SIGINT, &sa, NULL);

    if (s.interactive)
        fprintf(stderr, "exaone chat — %s, template: %s\n/help for commands, Ctrl-C stops an answer, Ctrl-D quits\n",
                s.info.arch_name, exa_chat_template_describe(s.tmpl));
    /* both ends on a terminal: edited input with history (cli/lineedit.c); else plain lines */
    exa_lineedit *le = s.interactive && s.color ? exa_lineedit_open("exaone", "> ", 1) : NULL;
    char *line = NULL;
    size_t cap = 0;
    rc = 0;
    for (;;) {
        ssize_t r;
        if (le) {
            fflush(stdout);
            g_interrupt = 0;
            char *edited = exa_lineedit_read(le);
            if (!edited) {
                fputs("\n", stdout);
                break; /* Ctrl-D on an empty line, or Ctrl-C at the prompt */
            }
            free(line);
            line = edited;
            r = (ssize_t)strlen(line);
            cap = (size_t)r + 1;
        } else {
            if (s.interactive) {
                fputs(s.color ? "\033[1m> \033[0m" : "> ", stdout);
                fflush(stdout);
            }
            g_interrupt = 0;
            errno = 0;
            r = getline(&line, &cap, stdin);
            if (r < 0) {
                if (s.interactive) fputs("\n", stdout);
                break;  /* EOF, or Ctrl-C at the prompt */
            }
        }
        while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r')) line[--r] = 0;
        if (!r) continue;
        if (s.echo && !s.interactive) printf("> %s\n", line); /* --echo: show scripted turns */
        if (line[0] == '/') {
            if (!command(&s, line)) break;
            continue;
        }
        add_turn(&s, "user", line);
        if (!answer(&s) && !s.interactive) { rc = 1; break; }
    }
    free(line);
    exa_lineedit_close(le);
done:
    free(s.cached);
    free(s.system);
    json_object_put(s.turns);
    exa_context_free(s.ctx);
    exa_model_free(s.model);
    exa_tokenizer_free(s.tok);
    exa_chat_template_free(s.tmpl);
    return rc;
}
