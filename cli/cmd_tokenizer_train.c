/* cmd_tokenizer_train.c — `exaone tokenizer-train`: trains a byte-level BPE tokenizer (HF
 * BpeTrainer semantics, EXAONE pre-tokenization and added tokens) on text files and writes a
 * Hugging Face tokenizer.json + tokenizer_config.json into a folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: exaone tokenizer-train --vocab-size N --out DIR [options] FILES...   (text, or .xz)\n"
            "  --vocab-size N      total vocabulary size incl. added and byte tokens (default 32000)\n"
            "  --out DIR           output folder (created if missing): tokenizer.json, tokenizer_config.json\n"
            "  --min-frequency N   do not merge pairs seen fewer than N times (default 2)\n"
            "  --digits            EXAONE 3.x pre-tokenization: every digit alone (default: 4.0, GPT-2 regex)\n"
            "  --no-added-tokens   no special/added tokens (plain HF BpeTrainer behaviour)\n"
            "  --no-initial-alphabet  only the bytes seen in the data (HF default) instead of all 256\n"
            "  --quiet             no progress on stderr\n");
}

static double t_start;

static int progress(float p, void *user) {
    (void)user;
    static int last = -1;
    int pc = (int)(p * 200);
    if (pc != last) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        fprintf(stderr, "\r%s %5.1f%%  %6.1f s", p < 0.1f ? "counting words" : "merging       ", p * 100.0,
                ts.tv_sec + ts.tv_nsec * 1e-9 - t_start);
        fflush(stderr);
        last = pc;
    }
    return 1;
}

int exa_cmd_tokenizer_train(int argc, char **argv) {
    exa_bpe_train_params p = exa_bpe_train_default_params();
    const char *out = NULL;
    int quiet = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    int nf = 0;
    if (!files) return exa_cli_fail("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        long v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); free(files); return 0; }
        else if (!strcmp(a, "--vocab-size") && more) {
            if (exa_cli_int(a, argv[++i], 300, 1 << 24, &v)) { free(files); return 1; }
            p.vocab_size = (int)v;
        } else if (!strcmp(a, "--min-frequency") && more) {
            if (exa_cli_int(a, argv[++i], 0, 1L << 30, &v)) { free(files); return 1; }
            p.min_frequency = (int)v;
        } else if (!strcmp(a, "--out") && more) out = argv[++i];
        else if (!strcmp(a, "--digits")) p.pretok = EXA_PRETOK_DIGITS_GPT2;
        else if (!strcmp(a, "--no-added-tokens")) p.added_tokens = 0;
        else if (!strcmp(a, "--no-initial-alphabet")) p.initial_alphabet = 0;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] == '-' && a[1]) { usage(stderr); free(files); return exa_cli_fail("tokenizer-train: unknown option '%s'", a); }
        else files[nf++] = a;
    }
    if (!out || !nf) { usage(stderr); free(files); return 1; }
    mkdir(out, 0755);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t_start = ts.tv_sec + ts.tv_nsec * 1e-9;
    if (!quiet) p.progress = progress;
    char err[512];
    exa_status st = exa_bpe_train(files, nf, &p, out, err, sizeof err);
    free(files);
    if (!quiet) fputc('\n', stderr);
    if (st != EXA_OK) return exa_cli_fail("%s", err);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(stderr, "wrote %s/tokenizer.json (%.1f s)\n", out, ts.tv_sec + ts.tv_nsec * 1e-9 - t_start);
    return 0;
}
