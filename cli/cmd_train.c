/* cmd_train.c — `exaone train`: trains an EXAONE-architecture model from scratch on token shards
 * and writes Hugging Face checkpoint folders (see docs/train.md). Prints a live progress line. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "train/trainer.h"

static volatile sig_atomic_t g_stop;
static void on_sigint(int sig) { (void)sig; g_stop = 1; }

typedef struct { int tty, quiet; } ui;

static void fmt_time(double s, char *b, size_t n) {
    if (!isfinite(s) || s < 0) { snprintf(b, n, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(b, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(b, n, "%ldm%02lds", t / 60, t % 60);
}

static int progress(const exa_train_progress *p, void *user) {
    ui *u = user;
    if (p->resumed_from >= 0) fprintf(stderr, "%sresumed from step %d\n", u->tty ? "\r\033[K" : "", p->resumed_from);
    if (!u->quiet) {
        char eta[32];
        fmt_time(p->eta_s, eta, sizeof eta);
        fprintf(stderr, "%sstep %d/%d | loss %.4f | lr %.3e | gnorm %.3f | %.0f tok/s | %.2f GFLOP/s | ETA %s",
                u->tty ? "\r\033[K" : "", p->step, p->total_steps, p->loss, p->lr, p->grad_norm, p->tok_per_s,
                p->mfu_flops / 1e9, eta);
        if (p->is_eval) fprintf(stderr, " | val %.4f", p->val_loss);
        if (p->checkpoint) fprintf(stderr, " | saved %s", p->checkpoint);
        if (!u->tty || p->is_eval || p->checkpoint || p->step == p->total_steps) fputc('\n', stderr);
        fflush(stderr);
    }
    return !g_stop;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: exaone train --config CONFIG.json --data SHARDS --out DIR [options]\n"
            "  --config FILE     HF config.json keys (exaone4 or exaone) + a \"train\" object\n"
            "  --data SHARDS     token shards: folder (*.bin; names with 'val' = validation), glob or file\n"
            "  --val SHARDS      validation shards (default: *val*.bin in the --data folder)\n"
            "  --out DIR         checkpoints (DIR/step-NNNNNNNN, DIR/latest), DIR/loss.csv, DIR/loss.png\n"
            "  --tokenizer DIR   copy tokenizer.json (+ config/template files) into every checkpoint\n"
            "  --base DIR        start from this HF model folder (its config.json defines the model);\n"
            "                    with train.lora = {\"r\": 8, \"alpha\": 16, \"targets\": [...]} only LoRA\n"
            "                    adapters are trained and checkpoints are PEFT adapter folders\n"
            "  --resume          continue from DIR/latest (bit-exact)\n"
            "  --threads N       worker threads (default: train.threads or all CPUs)\n"
            "  --stop-after N    stop once N steps are done (as if interrupted)\n"
            "  --quiet           no progress line\n");
}

int exa_cmd_train(int argc, char **argv) {
    exa_train_opts o;
    memset(&o, 0, sizeof o);
    ui u = {isatty(2), 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--resume")) { o.resume = 1; continue; }
        if (!strcmp(a, "--quiet")) { u.quiet = 1; continue; }
        if (i + 1 >= argc) { usage(stderr); return exa_cli_fail("%s needs a value (or is unknown)", a); }
        const char *val = argv[++i];
        if (!strcmp(a, "--config")) o.config_path = val;
        else if (!strcmp(a, "--data")) o.data = val;
        else if (!strcmp(a, "--val")) o.val = val;
        else if (!strcmp(a, "--out")) o.out_dir = val;
        else if (!strcmp(a, "--tokenizer")) o.tokenizer_dir = val;
        else if (!strcmp(a, "--base")) o.base_dir = val;
        else if (!strcmp(a, "--threads")) { if (exa_cli_int(a, val, 1, 1024, &v)) return 1; o.threads = (int)v; }
        else if (!strcmp(a, "--stop-after")) { if (exa_cli_int(a, val, 1, 1000000000, &v)) return 1; o.stop_after = (int)v; }
        else { usage(stderr); return exa_cli_fail("unknown option %s", a); }
    }
    if (!o.config_path || !o.data || !o.out_dir) { usage(stderr); return exa_cli_fail("--config, --data and --out are required"); }
    o.cb = progress;
    o.user = &u;
    signal(SIGINT, on_sigint);
    char err[512];
    exa_status st = exa_train_run(&o, err, sizeof err);
    if (u.tty && !u.quiet) fputc('\n', stderr);
    if (st != EXA_OK) return exa_cli_fail("%s", err);
    if (g_stop) fprintf(stderr, "stopped by SIGINT; resume with --resume from the last checkpoint\n");
    return 0;
}
