/* bench_retrieval.c — question -> paragraph retrieval on KorQuAD 1.0 dev (964 paragraphs, 5,774
 * questions; read in place from ../shared/data/korquad_v1, never modified), optionally with the
 * Korean Wikipedia sample (../shared/data/kowiki_2020_sample, xz) added as distractor documents.
 * For each term mode (words = whitespace-token BM25 baseline, bigrams = Hangul-bigram BM25
 * baseline, korean = ours) it builds an index through the public exa_index_* API and reports
 * recall@1/5/20, MRR@20, query latency and build time; prints a table and writes a CSV.
 *
 *   bench_retrieval [--shared DIR] [--distractors PARTS] [--questions N] [--modes a,b,c]
 *                   [--dir TMPDIR] [--csv FILE] [--min-r1 X --min-r5 X]   (floors for ctest)
 * A distractor article whose title is also a KorQuAD article title is left out (it would hold
 * the gold paragraph itself). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exaone.h"
#include "../bench_util.h"

typedef struct para { const char *title, *text; } para;
typedef struct question { const char *q; int para; } question;

static para *paras;
static int n_paras;
static question *qs;
static int n_qs;
static char **titles;  /* KorQuAD article titles */
static int n_titles;

static int load_korquad(const char *path, json_object **root) {
    *root = json_object_from_file(path);
    if (!*root) { fprintf(stderr, "bench: cannot read %s\n", path); return -1; }
    json_object *data;
    if (!json_object_object_get_ex(*root, "data", &data)) return -1;
    int na = (int)json_object_array_length(data);
    titles = calloc((size_t)na, sizeof *titles);
    for (int pass = 0; pass < 2; pass++) {
        int np = 0, nq = 0;
        for (int a = 0; a < na; a++) {
            json_object *art = json_object_array_get_idx(data, (size_t)a), *t, *ps;
            json_object_object_get_ex(art, "title", &t);
            json_object_object_get_ex(art, "paragraphs", &ps);
            if (pass == 0) titles[n_titles++] = (char *)json_object_get_string(t);
            for (size_t p = 0; p < json_object_array_length(ps); p++) {
                json_object *po = json_object_array_get_idx(ps, p), *ctx, *qas;
                json_object_object_get_ex(po, "context", &ctx);
                json_object_object_get_ex(po, "qas", &qas);
                if (pass == 1) { paras[np].title = json_object_get_string(t); paras[np].text = json_object_get_string(ctx); }
                for (size_t q = 0; q < json_object_array_length(qas); q++) {
                    json_object *qo = json_object_array_get_idx(qas, q), *qq;
                    json_object_object_get_ex(qo, "question", &qq);
                    if (pass == 1) { qs[nq].q = json_object_get_string(qq); qs[nq].para = np; }
                    nq++;
                }
                np++;
            }
        }
        if (pass == 0) {
            paras = calloc((size_t)np, sizeof *paras);
            qs = calloc((size_t)nq, sizeof *qs);
            n_paras = np;
            n_qs = nq;
        }
    }
    return 0;
}

static int is_korquad_title(const char *t) {
    for (int i = 0; i < n_titles; i++)
        if (!strcmp(titles[i], t)) return 1;
    return 0;
}

/* Adds the articles of kowiki parts 0..parts-1 as documents; returns count or -1. */
static long add_distractors(exa_index *idx, const char *shared, int parts, long *excluded) {
    long n = 0;
    size_t cap = 1 << 20, len = 0;
    char *body = malloc(cap);
    char title[512] = "", id[64] = "";
    *excluded = 0;
    for (int p = 0; p < parts; p++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "xz -dc '%s/data/kowiki_2020_sample/kowiki_AA_part%d.txt.xz'", shared, p);
        FILE *f = popen(cmd, "r");
        if (!f) return -1;
        char *line = NULL;
        size_t lcap = 0;
        ssize_t l;
        int in_doc = 0, first_line = 0;
        while ((l = getline(&line, &lcap, f)) > 0) {
            if (!strncmp(line, "<doc ", 5)) {
                in_doc = 1;
                first_line = 1;
                len = 0;
                char *t = strstr(line, "title=\""), *i = strstr(line, "id=\"");
                title[0] = id[0] = 0;
                if (t) { t += 7; char *e = strchr(t, '"'); if (e) snprintf(title, sizeof title, "%.*s", (int)(e - t), t); }
                if (i) { i += 4; char *e = strchr(i, '"'); if (e) snprintf(id, sizeof id, "%.*s", (int)(e - i), i); }
                continue;
            }
            if (!strncmp(line, "</doc>", 6)) {
                if (in_doc) {
                    if (is_korquad_title(title)) (*excluded)++;
                    else if (len > 0) {
                        char name[128];
                        snprintf(name, sizeof name, "kowiki/%s", id);
                        if (exa_index_add_text(idx, name, title, body, len)) {
                            fprintf(stderr, "bench: %s\n", exa_index_errmsg(idx));
                            free(line); pclose(f); free(body); return -1;
                        }
                        n++;
                    }
                }
                in_doc = 0;
                continue;
            }
            if (!in_doc) continue;
            if (first_line) { first_line = 0; continue; }  /* the title repeated */
            if (len + (size_t)l + 2 > cap) { cap = (len + (size_t)l + 2) * 2; body = realloc(body, cap); }
            /* WikiExtractor: one paragraph per line; keep paragraphs apart for the chunker */
            memcpy(body + len, line, (size_t)l);
            len += (size_t)l;
            body[len++] = '\n';
        }
        free(line);
        pclose(f);
    }
    free(body);
    return n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct result {
    const char *mode;
    double r1, r5, r20, mrr, qps, ms_mean, ms_p50, ms_p95, build_s;
    long n_docs, n_chunks;
    double db_mb;
} result;

static int keep_db;  /* --keep: reuse an index left by an earlier --keep run (no build time) */

static int run_mode(const char *mode, const char *dir, const char *shared, int parts, int nq, result *res) {
    char db[1024];
    snprintf(db, sizeof db, "%s/bench_%s_%d.db", dir, mode, parts);
    char aux[1100];
    int reuse = keep_db && access(db, R_OK) == 0;
    if (!reuse) {
        unlink(db);
        snprintf(aux, sizeof aux, "%s-wal", db); unlink(aux);
        snprintf(aux, sizeof aux, "%s-shm", db); unlink(aux);
    }
    exa_index_params ip = exa_index_default_params();
    ip.terms = !strcmp(mode, "words") ? EXA_TERMS_WORDS : !strcmp(mode, "bigrams") ? EXA_TERMS_BIGRAMS : EXA_TERMS_KOREAN;
    exa_index *idx;
    char err[1024];
    if (exa_index_open(db, &ip, &idx, err, sizeof err)) { fprintf(stderr, "bench: %s\n", err); return -1; }
    double t0 = now();
    for (int i = 0; i < n_paras && !reuse; i++) {
        char name[64];
        snprintf(name, sizeof name, "korquad/%d", i);
        if (exa_index_add_text(idx, name, paras[i].title, paras[i].text, strlen(paras[i].text))) {
            fprintf(stderr, "bench: %s\n", exa_index_errmsg(idx));
            return -1;
        }
    }
    long excluded = 0;
    if (parts > 0 && !reuse && add_distractors(idx, shared, parts, &excluded) < 0) return -1;
    if (!reuse && exa_index_optimize(idx)) { fprintf(stderr, "bench: %s\n", exa_index_errmsg(idx)); return -1; }
    if (reuse && getenv("BENCH_OPTIMIZE")) exa_index_optimize(idx);
    res->build_s = now() - t0;
    exa_index_stats st;
    exa_index_get_stats(idx, &st);
    res->n_docs = (long)st.n_docs;
    res->n_chunks = (long)st.n_chunks;
    res->db_mb = (double)st.db_bytes / 1e6;
    if (parts > 0) fprintf(stderr, "  [%s] %ld distractor articles left out (same title as a KorQuAD article)\n", mode, excluded);
    /* doc ids of the paragraphs: documents were added in order, so look them up by name once */
    exa_search_params sp = exa_search_default_params();
    sp.k = 20;
    sp.max_per_doc = 1;
    int h1 = 0, h5 = 0, h20 = 0;
    double mrr = 0;
    double *lat = malloc((size_t)nq * sizeof *lat);
    /* spread the subset over the whole set: every (n_qs/nq)-th question */
    double tq0 = now();
    for (int i = 0; i < nq; i++) {
        int qi = (int)((long)i * n_qs / nq);
        exa_search_result r;
        double a = now();
        if (exa_index_search(idx, qs[qi].q, &sp, &r)) { fprintf(stderr, "bench: %s\n", exa_index_errmsg(idx)); return -1; }
        lat[i] = (now() - a) * 1e3;
        char gold[64];
        snprintf(gold, sizeof gold, "korquad/%d", qs[qi].para);
        for (int k = 0; k < r.n; k++) {
            if (!strcmp(r.passages[k].path, gold)) {
                if (k < 1) h1++;
                if (k < 5) h5++;
                h20++;
                mrr += 1.0 / (k + 1);
                break;
            }
        }
        if (getenv("BENCH_DUMP") && r.n && strcmp(r.passages[0].path, gold))
            fprintf(stderr, "MISS q=%s | gold=%s [%s] | top=%s [%s] %.60s\n", qs[qi].q, gold, paras[qs[qi].para].title,
                    r.passages[0].path, r.passages[0].title, r.passages[0].text);
        exa_search_result_free(&r);
    }
    double tq = now() - tq0;
    qsort(lat, (size_t)nq, sizeof *lat, cmp_double);
    res->mode = mode;
    res->r1 = (double)h1 / nq;
    res->r5 = (double)h5 / nq;
    res->r20 = (double)h20 / nq;
    res->mrr = mrr / nq;
    res->qps = nq / tq;
    res->ms_mean = tq * 1e3 / nq;
    res->ms_p50 = lat[nq / 2];
    res->ms_p95 = lat[(int)(nq * 0.95)];
    free(lat);
    exa_index_close(idx);
    if (!keep_db) {
        unlink(db);
        snprintf(aux, sizeof aux, "%s-wal", db); unlink(aux);
        snprintf(aux, sizeof aux, "%s-shm", db); unlink(aux);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *shared = getenv("EXA_SHARED") ? getenv("EXA_SHARED") : "../shared";
    const char *dir = "/tmp", *csv = NULL;
    char modes_buf[256] = "words,bigrams,korean";
    int parts = 0, nq = -1;
    double min_r1 = -1, min_r5 = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shared") && i + 1 < argc) shared = argv[++i];
        else if (!strcmp(argv[i], "--distractors") && i + 1 < argc) parts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--questions") && i + 1 < argc) nq = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--modes") && i + 1 < argc) snprintf(modes_buf, sizeof modes_buf, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--keep")) keep_db = 1;
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv = argv[++i];
        else if (!strcmp(argv[i], "--min-r1") && i + 1 < argc) min_r1 = atof(argv[++i]);
        else if (!strcmp(argv[i], "--min-r5") && i + 1 < argc) min_r5 = atof(argv[++i]);
        else { fprintf(stderr, "usage: see the comment at the top of bench_retrieval.c\n"); return 2; }
    }
    if (parts < 0 || parts > 6) { fprintf(stderr, "bench: --distractors is 0..6 parts\n"); return 2; }
    char path[2048];
    snprintf(path, sizeof path, "%s/data/korquad_v1/KorQuAD_v1.0_dev.json", shared);
    json_object *root;
    if (load_korquad(path, &root)) return 1;
    if (nq <= 0 || nq > n_qs) nq = n_qs;
    printf("KorQuAD 1.0 dev: %d paragraphs, %d questions (%d evaluated); distractors: %d kowiki parts\n", n_paras, n_qs, nq,
           parts);
    result res[8];
    int nres = 0;
    for (char *m = strtok(modes_buf, ","); m && nres < 8; m = strtok(NULL, ",")) {
        if (run_mode(m, dir, shared, parts, nq, &res[nres])) return 1;
        nres++;
    }
    printf("%-8s %7s %7s %7s %7s %9s %8s %8s %8s %9s %7s %8s %8s\n", "terms", "R@1", "R@5", "R@20", "MRR", "queries/s",
           "ms mean", "ms p50", "ms p95", "build s", "docs", "chunks", "db MB");
    for (int i = 0; i < nres; i++)
        printf("%-8s %7.4f %7.4f %7.4f %7.4f %9.1f %8.2f %8.2f %8.2f %9.2f %7ld %8ld %8.1f\n", res[i].mode, res[i].r1,
               res[i].r5, res[i].r20, res[i].mrr, res[i].qps, res[i].ms_mean, res[i].ms_p50, res[i].ms_p95,
               res[i].build_s, res[i].n_docs, res[i].n_chunks, res[i].db_mb);
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) { fprintf(stderr, "bench: cannot write %s\n", csv); return 1; }
        fprintf(f, "terms,distractor_parts,questions,r1,r5,r20,mrr,qps,ms_mean,ms_p50,ms_p95,build_s,docs,chunks,db_mb\n");
        for (int i = 0; i < nres; i++)
            fprintf(f, "%s,%d,%d,%.4f,%.4f,%.4f,%.4f,%.1f,%.3f,%.3f,%.3f,%.2f,%ld,%ld,%.1f\n", res[i].mode, parts, nq,
                    res[i].r1, res[i].r5, res[i].r20, res[i].mrr, res[i].qps, res[i].ms_mean, res[i].ms_p50,
                    res[i].ms_p95, res[i].build_s, res[i].n_docs, res[i].n_chunks, res[i].db_mb);
        fclose(f);
    }
    json_object_put(root);
    int fail = 0;
    /* floors apply to the last mode listed (ours, by default) */
    if (nres && min_r1 >= 0 && res[nres - 1].r1 < min_r1) { fprintf(stderr, "FAIL: R@1 %.4f < %.4f\n", res[nres - 1].r1, min_r1); fail = 1; }
    if (nres && min_r5 >= 0 && res[nres - 1].r5 < min_r5) { fprintf(stderr, "FAIL: R@5 %.4f < %.4f\n", res[nres - 1].r5, min_r5); fail = 1; }
    if (min_r1 >= 0 || min_r5 >= 0) printf("%d passed, %d failed\n", fail ? 0 : 1, fail);
    return fail;
}
