/* bench_tokenizer.c — tokenizer encode throughput, single thread: encodes every record of a
 * records file ("<len>\n<bytes>", paragraphs of a text; see run.sh) one call each, REPEATS times
 * (word cache warm after the first pass, as in a server; --cold reloads the tokenizer each pass)
 * and prints the median time as JSON. run.sh compares with HF `tokenizers` on the same records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exaone.h"
#include "../bench_util.h"

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: bench_tokenizer TOKENIZER TEXT [REPEATS] [--cold]\n"); return 2; }
    int reps = argc > 3 ? atoi(argv[3]) : 5, cold = argc > 4 && !strcmp(argv[4], "--cold");
    if (reps < 1) reps = 1;
    char err[512];
    exa_tokenizer *tok;
    if (exa_tokenizer_load(argv[1], &tok, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) return 1;
    fclose(f);
    double *t = malloc(sizeof(double) * (size_t)reps);
    size_t ntok = 0, bytes = 0;
    for (int r = 0; r < reps; r++) {
        if (cold) {
            exa_tokenizer_free(tok);
            if (exa_tokenizer_load(argv[1], &tok, err, sizeof err)) return 1;
        }
        double t0 = now();
        ntok = bytes = 0;
        for (long i = 0; i < n;) {
            char *end;
            size_t len = strtoul(text + i, &end, 10);
            const char *s = end + 1;
            int32_t *ids;
            size_t k;
            exa_tokenizer_encode_alloc(tok, s, len, 0, &ids, &k);
            free(ids);
            ntok += k;
            bytes += len;
            i = (long)(s - text) + (long)len;
        }
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    printf("{\"median_s\": %.6f, \"tokens\": %zu, \"bytes\": %zu}\n", t[reps / 2], ntok, bytes);
    free(t);
    free(text);
    exa_tokenizer_free(tok);
    return 0;
}
