/* cmd_index.c — `exaone index add|ls|rm|stats|search DB ...`: builds and queries a document index
 * (library: src/retrieval, API exa_index_* in exaone.h). Prints warnings about skipped files and
 * a progress bar (stderr; only on a terminal or with --progress). */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t interrupted;
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

static void usage(FILE *f) {
    fprintf(f,
            "usage: exaone index add DB PATH... [--progress] [--quiet] [--terms korean|words|bigrams]\n"
            "                                    [--chunk CHARS] [--overlap CHARS]\n"
            "       exaone index ls DB\n"
            "       exaone index rm DB PATH...\n"
            "       exaone index stats DB\n"
            "       exaone index check DB\n"
            "       exaone index search DB QUERY [-k N] [--per-doc N] [--json]\n"
            "  add ingests .txt .md .html .pdf files and folders (recursively); unchanged files are skipped,\n"
            "  changed ones replaced. --terms/--chunk/--overlap apply when the index is created / to new files.\n"
            "  search prints the k best passages (BM25 over Korean-aware terms); --json prints a list of\n"
            "  {path,title,page,score,chunk_id,doc_id,start,end,text}.\n");
}

typedef struct bar { int enabled, tty; double last; int last_pct; int quiet; } bar;

static int on_progress(const exa_index_progress *p, void *user) {
    bar *b = user;
    if (interrupted) return 0;
    if (!b->enabled) return 1;
    double frac = p->bytes_total > 0 ? (double)p->bytes_done / (double)p->bytes_total : 1.0;
    if (frac > 1) frac = 1;
    int pct = (int)(frac * 100.0);
    double now = now_s();
    int final = p->path == NULL;
    if (!final && now - b->last < (b->tty ? 0.1 : 2.0) && pct == b->last_pct) return 1;
    if (!final && !b->tty && pct == b->last_pct) return 1;
    b->last = now;
    b->last_pct = pct;
    char line[160];
    int w = 30, fill = (int)(frac * w);
    char barstr[40];
    for (int i = 0; i < w; i++) barstr[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    barstr[w] = 0;
    snprintf(line, sizeof line, "[%s] %3d%% %lld/%lld files %.1f/%.1f MB %lld chunks", barstr, pct,
             (long long)p->files_done, (long long)p->files_total, (double)p->bytes_done / 1e6,
             (double)p->bytes_total / 1e6, (long long)p->chunks_added);
    fprintf(stderr, b->tty ? "\r%s\033[K" : "%s\n", line);
    if (final && b->tty) fputc('\n', stderr);
    return 1;
}

static void on_warn(const char *path, const char *why, void *user) {
    bar *b = user;
    if (b->quiet) return;
    fprintf(stderr, "%swarning: skipped %s: %s\n", b->enabled && b->tty ? "\r\033[K" : "", path, why);
}

static exa_index *open_index(const char *db, const exa_index_params *p) {
    exa_index *idx;
    char err[1024];
    if (exa_index_open(db, p, &idx, err, sizeof err)) { exa_cli_fail("%s", err); return NULL; }
    return idx;
}

static int cmd_add(int argc, char **argv) {
    exa_index_params ip = exa_index_default_params();
    int terms_given = 0;
    bar b = {0, isatty(2), 0, -1, 0};
    const char *db = NULL;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    int n = 0;
    if (!paths) return exa_cli_fail("out of memory");
    for (int i = 2; i < argc; i++) {
        long v;
        if (!strcmp(argv[i], "--progress")) b.enabled = 2;
        else if (!strcmp(argv[i], "--quiet")) b.quiet = 1;
        else if (!strcmp(argv[i], "--terms") && i + 1 < argc) {
            const char *m = argv[++i];
            terms_given = 1;
            if (!strcmp(m, "korean")) ip.terms = EXA_TERMS_KOREAN;
            else if (!strcmp(m, "words")) ip.terms = EXA_TERMS_WORDS;
            else if (!strcmp(m, "bigrams")) ip.terms = EXA_TERMS_BIGRAMS;
            else { free(paths); return exa_cli_fail("index add: --terms must be korean, words or bigrams"); }
        } else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) {
            if (exa_cli_int("--chunk", argv[++i], 16, 1 << 20, &v)) { free(paths); return 1; }
            ip.chunk_chars = (int)v;
        } else if (!strcmp(argv[i], "--overlap") && i + 1 < argc) {
            if (exa_cli_int("--overlap", argv[++i], 0, 1 << 19, &v)) { free(paths); return 1; }
            ip.overlap_chars = (int)v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(paths);
            return exa_cli_fail("index add: unknown option '%s'", argv[i]);
        } else if (!db) db = argv[i];
        else paths[n++] = argv[i];
    }
    if (!db || n == 0) { free(paths); usage(stderr); return 1; }
    if (b.enabled == 0 && b.tty && !b.quiet) b.enabled = 1;
    exa_index *idx = open_index(db, &ip);
    if (!idx) { free(paths); return 1; }
    exa_index_stats ist;
    static const char *const TERMS[] = {"korean", "words", "bigrams"};
    if (terms_given && !exa_index_get_stats(idx, &ist) && strcmp(ist.terms, TERMS[ip.terms]))
        fprintf(stderr, "exaone: note: %s was created with --terms %s; that mode is kept\n", db, ist.terms);
    signal(SIGINT, on_sigint);
    exa_index_add_params ap = {on_progress, on_warn, &b};
    exa_index_progress st;
    exa_status s = exa_index_add(idx, paths, n, &ap, &st);
    free(paths);
    int rc = 0;
    if (s) rc = exa_cli_fail("index add: %s", exa_index_errmsg(idx));
    if (!b.quiet)
        fprintf(stderr, "%lld files: %lld added/updated, %lld unchanged, %lld skipped, %lld deleted files removed; %lld chunks added\n",
                (long long)st.files_total, (long long)st.files_added, (long long)st.files_unchanged,
                (long long)st.files_skipped, (long long)st.files_removed, (long long)st.chunks_added);
    exa_index_close(idx);
    return rc;
}

static int print_doc(const exa_index_doc *d, void *user) {
    (void)user;
    printf("%6lld  %5lld chunks %4lld pages %10lld bytes  %s  [%s]\n", (long long)d->id, (long long)d->n_chunks,
           (long long)d->n_pages, (long long)d->size, d->path, d->title);
    return 1;
}

static int cmd_search(int argc, char **argv) {
    exa_search_params sp = exa_search_default_params();
    int json = 0;
    const char *db = NULL, *query = NULL;
    for (int i = 2; i < argc; i++) {
        long v;
        if ((!strcmp(argv[i], "-k") || !strcmp(argv[i], "--k")) && i + 1 < argc) {
            if (exa_cli_int("-k", argv[++i], 1, 10000, &v)) return 1;
            sp.k = (int)v;
        } else if (!strcmp(argv[i], "--per-doc") && i + 1 < argc) {
            if (exa_cli_int("--per-doc", argv[++i], 0, 10000, &v)) return 1;
            sp.max_per_doc = (int)v;
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-' && argv[i][1] && query) return exa_cli_fail("index search: unknown option '%s'", argv[i]);
        else if (!db) db = argv[i];
        else if (!query) query = argv[i];
        else return exa_cli_fail("index search: one query (quote it)");
    }
    if (!db || !query) { usage(stderr); return 1; }
    if (access(db, F_OK) != 0) return exa_cli_fail("index search: %s: no such index", db);
    exa_index_params ip = exa_index_default_params();
    ip.read_only = 1;
    exa_index *idx = open_index(db, &ip);
    if (!idx) return 1;
    exa_search_result r;
    exa_status s = exa_index_search(idx, query, &sp, &r);
    if (s) { exa_cli_fail("index search: %s", exa_index_errmsg(idx)); exa_index_close(idx); return 1; }
    if (json) {
        json_object *arr = json_object_new_array();
        for (int i = 0; i < r.n; i++) {
            exa_passage *p = &r.passages[i];
            json_object *o = json_object_new_object();
            json_object_object_add(o, "path", json_object_new_string(p->path));
            json_object_object_add(o, "title", json_object_new_string(p->title));
            json_object_object_add(o, "page", json_object_new_int(p->page));
            json_object_object_add(o, "score", json_object_new_double(p->score));
            json_object_object_add(o, "chunk_id", json_object_new_int64(p->chunk_id));
            json_object_object_add(o, "doc_id", json_object_new_int64(p->doc_id));
            json_object_object_add(o, "start", json_object_new_int64(p->start));
            json_object_object_add(o, "end", json_object_new_int64(p->end));
            json_object_object_add(o, "text", json_object_new_string(p->text));
            json_object_array_add(arr, o);
        }
        puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(arr);
    } else {
        for (int i = 0; i < r.n; i++) {
            exa_passage *p = &r.passages[i];
            printf("#%d  score %.3f  %s", i + 1, p->score, p->path);
            if (p->page) printf("  page %d", p->page);
            printf("  bytes %lld-%lld  [%s]\n", (long long)p->start, (long long)p->end, p->title);
            printf("%s\n\n", p->text);
        }
        if (r.n == 0) fprintf(stderr, "no passage matches\n");
    }
    exa_search_result_free(&r);
    exa_index_close(idx);
    return 0;
}

int exa_cmd_index(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "add")) return cmd_add(argc, argv);
    if (!strcmp(sub, "search")) return cmd_search(argc, argv);
    if (argc < 3) { usage(stderr); return 1; }
    const char *db = argv[2];
    if (access(db, F_OK) != 0) return exa_cli_fail("index %s: %s: no such index", sub, db);
    if (!strcmp(sub, "ls") || !strcmp(sub, "stats")) {
        exa_index_params ip = exa_index_default_params();
        ip.read_only = 1;
        exa_index *idx = open_index(db, &ip);
        if (!idx) return 1;
        exa_status s;
        if (!strcmp(sub, "ls")) s = exa_index_list(idx, print_doc, NULL);
        else {
            exa_index_stats st;
            s = exa_index_get_stats(idx, &st);
            if (!s)
                printf("documents  %lld\nchunks     %lld\ntext       %.1f MB\ndatabase   %.1f MB\nterms      %s\n",
                       (long long)st.n_docs, (long long)st.n_chunks, (double)st.text_bytes / 1e6,
                       (double)st.db_bytes / 1e6, st.terms);
        }
        int rc = s ? exa_cli_fail("index %s: %s", sub, exa_index_errmsg(idx)) : 0;
        exa_index_close(idx);
        return rc;
    }
    if (!strcmp(sub, "check")) {
        exa_index *idx = open_index(db, NULL);  /* FTS5's integrity-check is an INSERT (it writes nothing) */
        if (!idx) return 1;
        char rep[1024];
        exa_status s = exa_index_check(idx, rep, sizeof rep);
        exa_index_close(idx);
        if (s) return exa_cli_fail("index check: %s", rep);
        printf("%s\n", rep);
        return 0;
    }
    if (!strcmp(sub, "rm")) {
        if (argc < 4) { usage(stderr); return 1; }
        exa_index *idx = open_index(db, NULL);
        if (!idx) return 1;
        int rc = 0;
        for (int i = 3; i < argc; i++) {
            int64_t n = 0;
            if (exa_index_remove(idx, argv[i], &n)) { rc = exa_cli_fail("index rm: %s", exa_index_errmsg(idx)); break; }
            printf("%s: %lld document%s removed\n", argv[i], (long long)n, n == 1 ? "" : "s");
            if (n == 0) rc = 1;
        }
        exa_index_close(idx);
        return rc;
    }
    exa_cli_fail("index: unknown subcommand '%s'", sub);
    usage(stderr);
    return 1;
}
