/* util.c — argument helpers for the CLI (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int exa_cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("exaone: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int exa_cli_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        exa_cli_fail("%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int exa_cli_float(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        exa_cli_fail("%s: expected a number, got '%s'", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int exa_cli_parse_tokens(const char *s, int32_t **out) {
    size_t cap = 16, n = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) return -1;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long t = strtol(p, &end, 10);
        if (end == p || errno || t < 0 || t > INT32_MAX) {
            free(v);
            exa_cli_fail("--tokens: '%s' is not a list of non-negative token ids", s);
            return -1;
        }
        if (n == cap) {
            int32_t *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) { free(v); return -1; }
            v = nv;
        }
        v[n++] = (int32_t)t;
        p = end;
    }
    *out = v;
    return (int)n;
}

static exa_quant_type cli_quant = EXA_QUANT_NONE;
static exa_kv_type cli_kv = EXA_KV_F16;

int exa_cli_take_quant(int *argc, char **argv) {
    int o = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--kv-type")) { /* ---- kv cache type ---- */
            if (i + 1 >= *argc || !exa_kv_type_from_name(argv[i + 1], &cli_kv)) {
                exa_cli_fail("--kv-type: expected f16, f32, bf16 or q8_0%s%s", i + 1 < *argc ? ", got " : "", i + 1 < *argc ? argv[i + 1] : "");
                return -1;
            }
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--quant")) {
            if (i + 1 >= *argc) { exa_cli_fail("--quant needs a value (q8, q4, q8_0, q4_0, q4_K, q4_K_M, q5_K, q6_K, f16, bf16, f32)"); return -1; }
            if (!exa_quant_type_from_name(argv[i + 1], &cli_quant)) {
                exa_cli_fail("--quant: unknown type '%s' (q8, q4, q8_0, q4_0, q4_K, q4_K_M, q5_K, q6_K, f16, bf16, f32)", argv[i + 1]);
                return -1;
            }
            i++;
            continue;
        }
        argv[o++] = argv[i];
    }
    *argc = o;
    argv[o] = NULL;
    return 0;
}

exa_quant_type exa_cli_quant(void) { return cli_quant; }
exa_kv_type exa_cli_kv_type(void) { return cli_kv; }

exa_context_params exa_cli_context_params(void) {
    exa_context_params cp = exa_context_default_params();
    cp.kv_type = cli_kv;
    return cp;
}

const char *exa_cli_lora_dir; /* --lora DIR */

exa_model *exa_cli_load_model(const char *dir) {
    char err[1024];
    exa_model *m = NULL;
    exa_model_params mp = exa_model_default_params();
    mp.quant = cli_quant;

    mp.lora_dir = exa_cli_lora_dir;
    exa_status st = exa_model_load(dir, &mp, &m, err, sizeof err);
    if (st != EXA_OK) {
        exa_cli_fail("%s", err);
        return NULL;
    }
    return m;
}

int exa_cli_mkdir_p(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    return 0;
}

int exa_cli_copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb");
    if (!in) return errno == ENOENT ? 0 : -1;
    FILE *out = fopen(dst, "wb");
    if (!out) { fclose(in); return -1; }
    char buf[1 << 16];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in);
    fclose(in);
    if (fclose(out) != 0) ok = 0;
    return ok ? 1 : -1;
}
