/* cmd_lora.c — `exaone lora merge --base DIR --lora DIR --out DIR`: writes a Hugging Face model
 * folder with a PEFT LoRA adapter merged in (W + (alpha/r)·B·A, the same code and rounding as
 * `--lora` at load, src/model/lora_apply.c): model.safetensors keeps every tensor's dtype; the
 * config, generation config, tokenizer and chat template files are copied. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/lora_apply.h"
#include "model/safetensors.h"

typedef struct {
    const exa_st_tensor **src;
    exa_lora *a;
    char *err;
    size_t errsz;
} merge_job;

static int fill(void *user, int i, void *buf, size_t nbytes) {
    merge_job *j = user;
    const exa_st_tensor *t = j->src[i];
    void *merged = NULL;
    if (t->t.ndim == 2 &&
        exa_lora_merge_tensor(j->a, t->name, t->t.dtype, t->t.data, t->t.shape[0], t->t.shape[1], &merged, j->err, j->errsz))
        return -1;
    memcpy(buf, merged ? merged : t->t.data, nbytes);
    free(merged);
    return 0;
}

static int merge(const char *base, const char *lora, const char *out) {
    char err[1024], p[4200];
    exa_lora *a = NULL;
    if (exa_lora_open(lora, &a, err, sizeof err)) return exa_cli_fail("%s", err);
    /* base weights: model.safetensors or the shards of model.safetensors.index.json */
    exa_st_file *files[1024];
    int nf = 0, rc = 1;
    snprintf(p, sizeof p, "%s/model.safetensors", base);
    json_object *idx = NULL;
    if (exa_file_exists(p)) {
        if (exa_st_open(p, 1, &files[nf], err, sizeof err)) { exa_cli_fail("%s", err); goto done; }
        nf++;
    } else {
        snprintf(p, sizeof p, "%s/model.safetensors.index.json", base);
        char *txt;
        if (exa_cli_read_file(p, &txt)) goto done;
        idx = json_tokener_parse(txt);
        free(txt);
        json_object *wm;
        if (!idx || !json_object_object_get_ex(idx, "weight_map", &wm) || !json_object_is_type(wm, json_type_object)) {
            exa_cli_fail("%s: no weight_map object", p);
            goto done;
        }
        json_object_object_foreach(wm, k, v) {
            (void)k;
            const char *sh = json_object_get_string(v);
            int seen = 0;
            for (int i = 0; i < nf && !seen; i++) {
                const char *b = strrchr(files[i]->path, '/');
                seen = !strcmp(b ? b + 1 : files[i]->path, sh);
            }
            if (seen) continue;
            if (nf == 1024 || !sh || strchr(sh, '/')) { exa_cli_fail("%s: bad shard name", p); goto done; }
            snprintf(p, sizeof p, "%s/%s", base, sh);
            if (exa_st_open(p, 1, &files[nf], err, sizeof err)) { exa_cli_fail("%s", err); goto done; }
            nf++;
        }
    }
    int n = 0;
    for (int i = 0; i < nf; i++) n += files[i]->n_tensors;
    exa_st_write_tensor *wt = calloc((size_t)n + 1, sizeof *wt);
    const exa_st_tensor **src = calloc((size_t)n + 1, sizeof *src);
    if (!wt || !src) { free(wt); free(src); exa_cli_fail("out of memory"); goto done; }
    n = 0;
    for (int i = 0; i < nf; i++)
        for (int k = 0; k < files[i]->n_tensors; k++) {
            const exa_st_tensor *t = &files[i]->tensors[k];
            if (!t->dtype_ok) { free(wt); free(src); exa_cli_fail("%s: tensor '%s' has dtype %s (expected F32, BF16 or F16)", files[i]->path, t->name, t->st_dtype); goto done; }
            wt[n] = (exa_st_write_tensor){t->name, t->t.dtype, t->t.ndim, {0}};
            for (int d = 0; d < t->t.ndim; d++) wt[n].shape[d] = t->t.shape[d];
            src[n++] = t;
        }
    if (exa_cli_mkdir_p(out)) { free(wt); free(src); exa_cli_fail("%s: cannot create the folder", out); goto done; }
    merge_job j = {src, a, err, sizeof err};
    err[0] = 0;
    snprintf(p, sizeof p, "%s/model.safetensors", out);
    exa_status st = exa_st_write(p, wt, n, "{\"format\":\"pt\"}", fill, &j, err, sizeof err);
    free(wt);
    free(src);
    if (st) { exa_cli_fail("%s", err); goto done; }
    if (exa_lora_check_all_used(a, err, sizeof err)) { remove(p); exa_cli_fail("%s", err); goto done; }
    static const char *const copy[] = {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                       "special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        char s[4200], d[4200];
        snprintf(s, sizeof s, "%s/%s", base, copy[i]);
        snprintf(d, sizeof d, "%s/%s", out, copy[i]);
        if (exa_cli_copy_file(s, d) < 0) { exa_cli_fail("%s: cannot copy to %s", s, d); goto done; }
    }
    fprintf(stderr, "wrote %s (%d tensors, adapter %s merged)\n", out, n, lora);
    rc = 0;
done:
    json_object_put(idx);
    for (int i = 0; i < nf; i++) exa_st_close(files[i]);
    exa_lora_close(a);
    return rc;
}

int exa_cmd_lora(int argc, char **argv) {
    const char *usage = "usage: exaone lora merge --base MODEL_DIR --lora ADAPTER_DIR --out DIR\n"
                        "  writes DIR as a Hugging Face model folder with the PEFT LoRA adapter merged in\n"
                        "  (ADAPTER_DIR: adapter_config.json + adapter_model.safetensors, or an exaone finetune --out folder)\n";
    if (argc < 2 || strcmp(argv[1], "merge")) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) { fputs(usage, stdout); return 0; }
        fputs(usage, stderr);
        return exa_cli_fail("lora: expected the subcommand 'merge'");
    }
    const char *base = NULL, *lora = NULL, *out = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(usage, stdout); return 0; }
        if (i + 1 >= argc) return exa_cli_fail("lora merge: %s needs a value (or is unknown)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--base")) base = v;
        else if (!strcmp(a, "--lora")) lora = v;
        else if (!strcmp(a, "--out")) out = v;
        else return exa_cli_fail("lora merge: unknown option %s", a);
    }
    if (!base || !lora || !out) { fputs(usage, stderr); return exa_cli_fail("lora merge: --base, --lora and --out are required"); }
    return merge(base, lora, out);
}
