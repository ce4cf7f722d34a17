/* cmd_finetune.c — `exaone finetune`: LoRA (or full) fine-tuning of a Hugging Face model folder
 * on chat-format JSONL ({"messages": [...]} per line), rendered with the model's own chat
 * template; the loss counts only assistant tokens. Runs the `exaone train` loop with a chat batch
 * source (src/train/finetune_data.c). Output: PEFT adapter folders (docs/train.md). */
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "train/finetune_data.h"
#include "train/trainer.h"

static volatile sig_atomic_t g_stop;
static void on_sigint(int sig) { (void)sig; g_stop = 1; }

typedef struct { int tty, quiet; } ui;

static int progress(const exa_train_progress *p, void *user) {
    ui *u = user;
    if (p->resumed_from >= 0) fprintf(stderr, "%sresumed from step %d\n", u->tty ? "\r\033[K" : "", p->resumed_from);
    if (!u->quiet) {
        long eta = isfinite(p->eta_s) && p->eta_s >= 0 ? (long)(p->eta_s + 0.5) : -1;
        fprintf(stderr, "%sstep %d/%d | loss %.4f | lr %.3e | gnorm %.3f | %.0f tok/s | ETA %ldm%02lds",
                u->tty ? "\r\033[K" : "", p->step, p->total_steps, p->loss, p->lr, p->grad_norm, p->tok_per_s,
                eta < 0 ? 0 : eta / 60, eta < 0 ? 0 : eta % 60);
        if (p->is_eval) fprintf(stderr, " | val %.4f", p->val_loss);
        if (p->checkpoint) fprintf(stderr, " | saved %s", p->checkpoint);
        if (!u->tty || p->is_eval || p->checkpoint || p->step == p->total_steps) fputc('\n', stderr);
        fflush(stderr);
    }
    return !g_stop;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: exaone finetune [--lora] --base MODEL_DIR --data CHAT.jsonl --out DIR [options]\n"
            "  --lora            train LoRA adapters (base frozen); without it: full fine-tuning\n"
            "  --base DIR        the Hugging Face model folder to adapt (its tokenizer and chat template are used)\n"
            "  --data FILE       JSONL, one {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} per line;\n"
            "                    the loss counts only assistant turns (content + closing end-of-turn)\n"
            "  --out DIR         checkpoints DIR/step-NNNNNNNN (PEFT adapter_config.json +\n"
            "                    adapter_model.safetensors; merged/ model at the last step), DIR/latest, loss.csv/png\n"
            "  --val FILE        held-out chat JSONL: validation loss on its assistant tokens (every steps/10\n"
            "                    steps over all of it, unless train.eval_interval / eval_batches say otherwise)\n"
            "  --config FILE     a JSON file with a \"train\" object (exaone train keys); flags override it\n"
            "  --r N --alpha A   LoRA rank and alpha (default 8, 16)\n"
            "  --targets LIST    comma-separated LoRA targets (default all: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)\n"
            "  --lr X            peak learning rate (default 2e-4; min_lr = lr/10 unless configured)\n"
            "  --steps N         optimizer steps (default 100)\n"
            "  --batch B --seq T sequences per step and their length (default 4 x 512); conversations are\n"
            "                    packed whole into rows of T tokens, longer ones are cut at T\n"
            "  --accum N         gradient accumulation (default 1)\n"
            "  --warmup N        warm-up steps (default steps/10)\n"
            "  --seed N          shuffling and adapter init seed\n"
            "  --resume          continue from DIR/latest (bit-exact)\n"
            "  --threads N  --stop-after N  --quiet\n");
}

static void set_num(json_object *t, const char *k, const char *v, int is_int) {
    json_object_object_add(t, k, is_int ? json_object_new_int64(strtoll(v, NULL, 10)) : json_object_new_double(strtod(v, NULL)));
}

int exa_cmd_finetune(int argc, char **argv) {
    exa_train_opts o;
    memset(&o, 0, sizeof o);
    ui u = {isatty(2), 0};
    int lora = 0;
    const char *cfg_path = NULL, *val_path = NULL, *r = NULL, *alpha = NULL, *targets = NULL, *lr = NULL, *steps = NULL, *batch = NULL,
               *seq = NULL, *accum = NULL, *warmup = NULL, *seed = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        double dv;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--lora")) { lora = 1; continue; }
        if (!strcmp(a, "--resume")) { o.resume = 1; continue; }
        if (!strcmp(a, "--quiet")) { u.quiet = 1; continue; }
        if (i + 1 >= argc) { usage(stderr); return exa_cli_fail("%s needs a value (or is unknown)", a); }
        const char *val = argv[++i];
        if (!strcmp(a, "--base")) o.base_dir = val;
        else if (!strcmp(a, "--data")) o.data = val;
        else if (!strcmp(a, "--out")) o.out_dir = val;
        else if (!strcmp(a, "--config")) cfg_path = val;
        else if (!strcmp(a, "--val")) val_path = val;
        else if (!strcmp(a, "--targets")) targets = val;
        else if (!strcmp(a, "--r")) { if (exa_cli_int(a, val, 1, 4096, &v)) return 1; r = val; }
        else if (!strcmp(a, "--alpha")) { if (exa_cli_float(a, val, &dv) || !(dv > 0)) return exa_cli_fail("--alpha must be > 0"); alpha = val; }
        else if (!strcmp(a, "--lr")) { if (exa_cli_float(a, val, &dv) || !(dv > 0 && dv <= 10)) return exa_cli_fail("--lr must be in (0, 10]"); lr = val; }
        else if (!strcmp(a, "--steps")) { if (exa_cli_int(a, val, 1, 1000000000, &v)) return 1; steps = val; }
        else if (!strcmp(a, "--batch")) { if (exa_cli_int(a, val, 1, 65536, &v)) return 1; batch = val; }
        else if (!strcmp(a, "--seq")) { if (exa_cli_int(a, val, 2, 1 << 20, &v)) return 1; seq = val; }
        else if (!strcmp(a, "--accum")) { if (exa_cli_int(a, val, 1, 65536, &v)) return 1; accum = val; }
        else if (!strcmp(a, "--warmup")) { if (exa_cli_int(a, val, 0, 1000000000, &v)) return 1; warmup = val; }
        else if (!strcmp(a, "--seed")) { if (exa_cli_int(a, val, 0, 2147483647, &v)) return 1; seed = val; }
        else if (!strcmp(a, "--threads")) { if (exa_cli_int(a, val, 1, 1024, &v)) return 1; o.threads = (int)v; }
        else if (!strcmp(a, "--stop-after")) { if (exa_cli_int(a, val, 1, 1000000000, &v)) return 1; o.stop_after = (int)v; }
        else { usage(stderr); return exa_cli_fail("unknown option %s", a); }
    }
    if (!o.base_dir || !o.data || !o.out_dir) { usage(stderr); return exa_cli_fail("--base, --data and --out are required"); }
    /* the "train" object: --config's, then defaults for fine-tuning, then the flags */
    json_object *root = NULL, *t = NULL;
    if (cfg_path) {
        char *txt;
        if (exa_cli_read_file(cfg_path, &txt)) return 1;
        root = json_tokener_parse(txt);
        free(txt);
        if (!root || !json_object_is_type(root, json_type_object)) { json_object_put(root); return exa_cli_fail("%s: not a JSON object", cfg_path); }
        if (json_object_object_get_ex(root, "train", &t) && !json_object_is_type(t, json_type_object))
            { json_object_put(root); return exa_cli_fail("%s: \"train\" must be an object", cfg_path); }
    } else {
        root = json_object_new_object();
    }
    if (!t) { t = json_object_new_object(); json_object_object_add(root, "train", t); }
    json_object *x;
    static const struct { const char *k; const char *v; } defs[] = {
        {"lr", "2e-4"}, {"total_steps", "100"}, {"batch_size", "4"}, {"seq_len", "512"},
        {"checkpoint_interval", "0"}, {"weight_decay", "0"},
    };
    int has_eval_interval = json_object_object_get_ex(t, "eval_interval", &x), has_eval_batches = json_object_object_get_ex(t, "eval_batches", &x);
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (!json_object_object_get_ex(t, defs[i].k, &x)) set_num(t, defs[i].k, defs[i].v, !strchr(defs[i].v, 'e'));
    if (lr) set_num(t, "lr", lr, 0);
    if (steps) set_num(t, "total_steps", steps, 1);
    if (batch) set_num(t, "batch_size", batch, 1);
    if (seq) set_num(t, "seq_len", seq, 1);
    if (accum) set_num(t, "grad_accum", accum, 1);
    if (warmup) set_num(t, "warmup_steps", warmup, 1);
    if (seed) set_num(t, "seed", seed, 1);
    double lrv = json_object_get_double(json_object_object_get_ex(t, "lr", &x) ? x : NULL);
    int stv = json_object_get_int(json_object_object_get_ex(t, "total_steps", &x) ? x : NULL);
    if (!json_object_object_get_ex(t, "min_lr", &x)) json_object_object_add(t, "min_lr", json_object_new_double(lrv / 10));
    if (!json_object_object_get_ex(t, "warmup_steps", &x)) json_object_object_add(t, "warmup_steps", json_object_new_int(stv / 10));
    json_object *lo = NULL;
    if (lora || r || alpha || targets) {
        if (!json_object_object_get_ex(t, "lora", &lo) || !json_object_is_type(lo, json_type_object)) {
            lo = json_object_new_object();
            json_object_object_add(t, "lora", lo);
        }
        if (r) set_num(lo, "r", r, 1);
        else if (!json_object_object_get_ex(lo, "r", &x)) set_num(lo, "r", "8", 1);
        if (alpha) set_num(lo, "alpha", alpha, 0);
        else if (!json_object_object_get_ex(lo, "alpha", &x)) set_num(lo, "alpha", "16", 0);
        if (targets) {
            json_object *arr = json_object_new_array();
            char *dup = strdup(targets), *sv = NULL;
            for (char *tk = strtok_r(dup, ", ", &sv); tk; tk = strtok_r(NULL, ", ", &sv)) json_object_array_add(arr, json_object_new_string(tk));
            free(dup);
            json_object_object_add(lo, "targets", arr);
        }
    }
    if (!has_eval_interval) json_object_object_add(t, "eval_interval", json_object_new_int(val_path ? (stv / 10 > 0 ? stv / 10 : 1) : 0));
    char *cfg_json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    char err[1024];
    exa_train_hparams hp;
    exa_status st = exa_train_hparams_parse(cfg_json, cfg_path ? cfg_path : "finetune options", &hp, err, sizeof err);
    if (st) { free(cfg_json); json_object_put(root); return exa_cli_fail("%s", err); }
    exa_ft_data d, dv;
    memset(&dv, 0, sizeof dv);
    if ((st = exa_ft_data_load(&d, o.data, o.base_dir, hp.batch_size, hp.seq_len, hp.seed, err, sizeof err))) {
        free(cfg_json);
        json_object_put(root);
        return exa_cli_fail("%s", err);
    }
    exa_train_source vsrc;
    if (val_path) {
        if ((st = exa_ft_data_load(&dv, val_path, o.base_dir, hp.batch_size, hp.seq_len, hp.seed, err, sizeof err))) {
            exa_ft_data_free(&d);
            free(cfg_json);
            json_object_put(root);
            return exa_cli_fail("%s", err);
        }
        if (!has_eval_batches) { /* all validation rows once (at most 100 batches) */
            int nb = (dv.n_rows + hp.batch_size - 1) / hp.batch_size;
            json_object_object_add(t, "eval_batches", json_object_new_int(nb < 100 ? nb : 100));
            free(cfg_json);
            cfg_json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
        }
        vsrc = exa_ft_data_source(&dv);
        o.val_source = &vsrc;
        if (!u.quiet)
            fprintf(stderr, "%s: %lld validation conversations, %lld assistant targets in %d rows\n", val_path,
                    (long long)dv.n_examples, (long long)dv.n_target_tokens, dv.n_rows);
    }
    json_object_put(root);
    if (!u.quiet)
        fprintf(stderr, "%s: %lld conversations, %lld tokens (%lld assistant targets) packed into %d rows of %d%s; %lld cut at %d, %lld without assistant tokens left after the cut\n",
                o.data, (long long)d.n_examples, (long long)d.n_tokens, (long long)d.n_target_tokens, d.n_rows, hp.seq_len,
                hp.lora_r ? "; LoRA" : "; full fine-tuning", (long long)d.n_truncated, hp.seq_len, (long long)d.n_dropped);
    exa_train_source src = exa_ft_data_source(&d);
    o.source = &src;
    o.config_json = cfg_json;
    o.config_path = cfg_path ? cfg_path : "finetune options";
    o.tokenizer_dir = o.base_dir;
    o.cb = progress;
    o.user = &u;
    signal(SIGINT, on_sigint);
    st = exa_train_run(&o, err, sizeof err);
    if (u.tty && !u.quiet) fputc('\n', stderr);
    exa_ft_data_free(&d);
    exa_ft_data_free(&dv);
    free(cfg_json);
    if (st != EXA_OK) return exa_cli_fail("%s", err);
    if (g_stop) fprintf(stderr, "stopped by SIGINT; resume with --resume from the last checkpoint\n");
    return 0;
}
