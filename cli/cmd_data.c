/* cmd_data.c — `exaone data prepare`: tokenizes text corpora into token shards for
 * `exaone train` (llm.c .bin layout: 256 int32 header {20240801, 7, n_tokens}, then uint32
 * tokens). Documents: WikiExtractor <doc>…</doc> blocks, JSONL lines (a text field), or runs
 * of paragraphs of plain text grouped up to --doc-bytes. Exact duplicate documents are dropped;
 * the train/validation split is decided per document from its hash (deterministic and
 * independent of file order, so a --val-only run over one language's files yields exactly that
 * language's share of the validation set). Each document is followed by the separator token.
 * Training documents are shuffled (seeded) in memory before writing, so a corpus given file by
 * file is still mixed. .xz input is decompressed on the fly with liblzma. */
#include <errno.h>
#include <json-c/json.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/common.h"

#define SHARD_MAGIC 20240801
#define SHARD_VERSION 7

/* ---- line reader over plain or .xz files ----------------------------------------------------- */
typedef struct reader {
    FILE *f;
    int xz;
    lzma_stream zs;
    uint8_t in[1 << 16];
    char *buf;        /* decoded bytes not yet consumed */
    size_t len, pos, cap;
    int eof;
    uint64_t raw_read; /* compressed bytes consumed, for progress */
} reader;

static int reader_open(reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f) return -1;
    size_t n = strlen(path);
    if (n > 3 && !strcmp(path + n - 3, ".xz")) {
        r->xz = 1;
        lzma_stream init = LZMA_STREAM_INIT;
        r->zs = init;
        if (lzma_stream_decoder(&r->zs, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) { fclose(r->f); return -1; }
    }
    r->cap = 1 << 20;
    r->buf = malloc(r->cap);
    return r->buf ? 0 : -1;
}

static void reader_close(reader *r) {
    if (r->xz) lzma_end(&r->zs);
    if (r->f) fclose(r->f);
    free(r->buf);
}

/* refill: returns bytes added, 0 at end, -1 on error */
static long reader_fill(reader *r) {
    if (r->pos > 0) { memmove(r->buf, r->buf + r->pos, r->len - r->pos); r->len -= r->pos; r->pos = 0; }
    if (r->len == r->cap) {
        if (r->cap >= ((size_t)1 << 30)) return -1; /* a 1 GiB line: give up */
        char *nb = realloc(r->buf, r->cap * 2);
        if (!nb) return -1;
        r->buf = nb;
        r->cap *= 2;
    }
    if (!r->xz) {
        size_t got = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
        r->raw_read += got;
        r->len += got;
        return (long)got;
    }
    size_t before = r->len;
    while (r->len == before) {
        if (r->zs.avail_in == 0 && !r->eof) {
            r->zs.next_in = r->in;
            r->zs.avail_in = fread(r->in, 1, sizeof r->in, r->f);
            r->raw_read += r->zs.avail_in;
            if (r->zs.avail_in == 0) r->eof = 1;
        }
        r->zs.next_out = (uint8_t *)r->buf + r->len;
        r->zs.avail_out = r->cap - r->len;
        lzma_ret ret = lzma_code(&r->zs, r->eof ? LZMA_FINISH : LZMA_RUN);
        r->len = r->cap - r->zs.avail_out;
        if (ret == LZMA_STREAM_END) break;
        if (ret != LZMA_OK && ret != LZMA_BUF_ERROR) return -1;
        if (ret == LZMA_BUF_ERROR && r->eof) return -1; /* truncated .xz */
    }
    return (long)(r->len - before);
}

/* next line without its '\n' (NUL-terminated, valid until the next call); NULL at end */
static char *reader_line(reader *r, size_t *out_len, int *err) {
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            char *line = r->buf + r->pos;
            *nl = 0;
            *out_len = (size_t)(nl - line);
            if (*out_len && line[*out_len - 1] == '\r') line[--*out_len] = 0; /* CRLF files (Project Gutenberg) */
            r->pos = (size_t)(nl - r->buf) + 1;
            return line;
        }
        long got = reader_fill(r);
        if (got < 0) { *err = 1; return NULL; }
        if (got == 0) {
            if (r->len == r->pos) return NULL;
            if (r->len == r->cap && reader_fill(r) < 0) { *err = 1; return NULL; }
            r->buf[r->len] = 0; /* last line without newline (fill keeps one byte free: cap grows) */
            char *line = r->buf + r->pos;
            *out_len = r->len - r->pos;
            r->pos = r->len;
            return line;
        }
    }
}

/* ---- documents -> tokens -> shards ------------------------------------------------------------ */
typedef struct shard_out {
    const char *dir, *name, *split;
    FILE *f;
    int index;
    uint64_t in_shard, total, limit;
} shard_out;

static int shard_finish(shard_out *s) {
    if (!s->f) return 0;
    int32_t hdr[256] = {SHARD_MAGIC, SHARD_VERSION, (int32_t)s->in_shard};
    int ok = fseek(s->f, 0, SEEK_SET) == 0 && fwrite(hdr, sizeof hdr, 1, s->f) == 1;
    ok = (fclose(s->f) == 0) && ok;
    s->f = NULL;
    char tmp[4096], fin[4096];
    snprintf(tmp, sizeof tmp, "%s/%s_%s_%03d.bin.tmp", s->dir, s->name, s->split, s->index);
    snprintf(fin, sizeof fin, "%s/%s_%s_%03d.bin", s->dir, s->name, s->split, s->index);
    if (!ok || rename(tmp, fin) != 0) return exa_cli_fail("data: cannot write %s", fin);
    s->index++;
    s->in_shard = 0;
    return 0;
}

static int shard_write(shard_out *s, const int32_t *ids, size_t n) {
    if (!s->f) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s/%s_%s_%03d.bin.tmp", s->dir, s->name, s->split, s->index);
        if (!(s->f = fopen(tmp, "wb"))) return exa_cli_fail("data: cannot create %s: %s", tmp, strerror(errno));
        int32_t hdr[256] = {0};
        if (fwrite(hdr, sizeof hdr, 1, s->f) != 1) return exa_cli_fail("data: write error");
    }
    if (fwrite(ids, sizeof *ids, n, s->f) != n) return exa_cli_fail("data: write error (disk full?)");
    s->in_shard += n;
    s->total += n;
    if (s->in_shard >= s->limit) return shard_finish(s);
    return 0;
}

typedef struct prep {
    const exa_tokenizer *tok;
    int32_t sep;
    double val_fraction;
    int val_only;
    int32_t *tr;          /* buffered training tokens (documents back to back, each + sep) */
    size_t tr_n, tr_cap;
    uint64_t *tr_doc;     /* start offset of each buffered training document */
    size_t tr_docs, tr_docs_cap;
    shard_out train, val;
    uint64_t *seen; /* open-addressing set of document hashes (0 = empty) */
    size_t seen_cap, seen_n;
    uint64_t docs, dups, empty, bytes;
    int failed;
} prep;

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 1099511628211ull; }
    return h ? h : 1;
}

static int seen_insert(prep *p, uint64_t h) { /* 1 if new */
    if (p->seen_n * 2 >= p->seen_cap) {
        size_t nc = p->seen_cap ? p->seen_cap * 2 : 1 << 16;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < p->seen_cap; i++)
            if (p->seen[i]) {
                size_t j = p->seen[i] & (nc - 1);
                while (ns[j]) j = (j + 1) & (nc - 1);
                ns[j] = p->seen[i];
            }
        free(p->seen);
        p->seen = ns;
        p->seen_cap = nc;
    }
    size_t j = h & (p->seen_cap - 1);
    while (p->seen[j]) {
        if (p->seen[j] == h) return 0;
        j = (j + 1) & (p->seen_cap - 1);
    }
    p->seen[j] = h;
    p->seen_n++;
    return 1;
}

static void trim(const char **s, size_t *n) {
    while (*n && strchr(" \t\r\n", (*s)[0])) { (*s)++; (*n)--; }
    while (*n && strchr(" \t\r\n", (*s)[*n - 1])) (*n)--;
}

static void add_doc(prep *p, const char *text, size_t n) {
    if (p->failed) return;
    trim(&text, &n);
    if (n == 0) { p->empty++; return; }
    uint64_t h = fnv1a(text, n);
    int r = seen_insert(p, h);
    if (r < 0) { p->failed = exa_cli_fail("data: out of memory"); return; }
    if (r == 0) { p->dups++; return; }
    int32_t *ids = NULL;
    size_t nt = 0;
    if (exa_tokenizer_encode_alloc(p->tok, text, n, 0, &ids, &nt) != EXA_OK) { p->failed = exa_cli_fail("data: tokenizer failed"); return; }
    /* split by hash: a stable, order-independent choice per document */
    int is_val = (double)((h >> 11) % 1000000) < p->val_fraction * 1e6;
    if (is_val) {
        if (shard_write(&p->val, ids, nt) || shard_write(&p->val, &p->sep, 1)) p->failed = 1;
    } else if (!p->val_only) { /* buffered for shuffling */
        if (p->tr_n + nt + 1 > p->tr_cap) {
            size_t nc = (p->tr_n + nt + 1) * 2;
            int32_t *ns = realloc(p->tr, nc * sizeof *ns);
            if (!ns) { free(ids); p->failed = exa_cli_fail("data: out of memory buffering tokens"); return; }
            p->tr = ns;
            p->tr_cap = nc;
        }
        if (p->tr_docs == p->tr_docs_cap) {
            size_t nc = p->tr_docs_cap ? p->tr_docs_cap * 2 : 4096;
            uint64_t *nd = realloc(p->tr_doc, nc * sizeof *nd);
            if (!nd) { free(ids); p->failed = exa_cli_fail("data: out of memory"); return; }
            p->tr_doc = nd;
            p->tr_docs_cap = nc;
        }
        p->tr_doc[p->tr_docs++] = p->tr_n;
        memcpy(p->tr + p->tr_n, ids, nt * sizeof *ids);
        p->tr_n += nt;
        p->tr[p->tr_n++] = p->sep;
        p->train.total += nt + 1;
    }
    free(ids);
    p->docs++;
    p->bytes += n;
}

static int process_file(prep *p, const char *path, const char *field, size_t doc_bytes, uint64_t total_raw, uint64_t *raw_done) {
    reader r;
    if (reader_open(&r, path) != 0) return exa_cli_fail("data: cannot read %s", path);
    size_t n = strlen(path);
    int jsonl = (n > 6 && !strcmp(path + n - 6, ".jsonl")) || (n > 9 && !strcmp(path + n - 9, ".jsonl.xz"));
    exa_buf doc = {0};
    int in_wiki = 0, err = 0;
    size_t len;
    char *line;
    double last = 0;
    while (!p->failed && (line = reader_line(&r, &len, &err))) {
        if (jsonl) {
            if (len == 0) continue;
            struct json_object *o = json_tokener_parse(line);
            struct json_object *t = NULL;
            if (o && json_object_object_get_ex(o, field, &t) && json_object_is_type(t, json_type_string))
                add_doc(p, json_object_get_string(t), (size_t)json_object_get_string_len(t));
            json_object_put(o);
        } else if (!strncmp(line, "<doc ", 5)) { /* WikiExtractor */
            if (doc.n) add_doc(p, doc.s, doc.n);
            doc.n = 0;
            in_wiki = 1;
        } else if (in_wiki && !strcmp(line, "</doc>")) {
            add_doc(p, doc.s, doc.n);
            doc.n = 0;
        } else if (!in_wiki && len == 0 && doc.n >= doc_bytes) { /* plain text: cut at a blank line */
            add_doc(p, doc.s, doc.n);
            doc.n = 0;
        } else if (exa_buf_add(&doc, line, len) != 0 || exa_buf_add(&doc, "\n", 1) != 0) {
            p->failed = exa_cli_fail("data: out of memory");
        }
        double now = exa_time_now();
        if (now - last > 0.5 && isatty(2)) {
            last = now;
            fprintf(stderr, "\r  %5.1f%%  %llu docs  %llu dups  %.1f M train tokens  %.2f M val tokens   ",
                    100.0 * (double)(*raw_done + r.raw_read) / (double)(total_raw ? total_raw : 1), (unsigned long long)p->docs,
                    (unsigned long long)p->dups, (double)p->train.total / 1e6, (double)p->val.total / 1e6);
        }
    }
    if (err) p->failed = exa_cli_fail("data: %s: read or decompression error (truncated .xz?)", path);
    if (!p->failed && doc.n) add_doc(p, doc.s, doc.n);
    *raw_done += r.raw_read;
    exa_buf_free(&doc);
    reader_close(&r);
    return p->failed;
}

/* writes the buffered training documents in a seeded random order (Fisher–Yates) */
static int write_shuffled(prep *p, uint64_t seed) {
    size_t n = p->tr_docs;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return exa_cli_fail("data: out of memory");
    for (size_t i = 0; i < n; i++) order[i] = i;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = n; i > 1; i--) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        size_t j = (size_t)(s % i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    uint64_t total = p->train.total;
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t d = order[k];
        size_t b = p->tr_doc[d], e = d + 1 < n ? p->tr_doc[d + 1] : p->tr_n;
        rc = shard_write(&p->train, p->tr + b, e - b);
    }
    p->train.total = total; /* counted while buffering */
    free(order);
    return rc;
}

int exa_cmd_data(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "prepare") != 0) {
        fprintf(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout : stderr,
                "usage: exaone data prepare --tokenizer DIR --out DIR [--name NAME] [--val-fraction F]\n"
                "                           [--shard-tokens N] [--doc-bytes N] [--sep TOKEN] [--jsonl-field NAME]\n"
                "                           [--seed N] [--val-only] FILES...\n"
                "  FILES: .txt, .jsonl (optionally .xz); WikiExtractor <doc> blocks are documents; plain text is\n"
                "  cut into documents of about --doc-bytes (default 8192) at blank lines\n");
        return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 1;
    }
    const char *tokdir = NULL, *out = NULL, *name = "data", *sep = NULL, *field = "text";
    double val_fraction = 0.005;
    long shard_tokens = 100000000, doc_bytes = 8192, seed = 1234;
    int first_file = argc, val_only = 0;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') { first_file = i; break; }
        if (!strcmp(a, "--val-only")) { val_only = 1; i--; continue; }
        if (!v) return exa_cli_fail("data: option '%s' needs a value", a);
        if (!strcmp(a, "--tokenizer")) tokdir = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--name")) name = v;
        else if (!strcmp(a, "--sep")) sep = v;
        else if (!strcmp(a, "--jsonl-field")) field = v;
        else if (!strcmp(a, "--val-fraction")) { if (exa_cli_float(a, v, &val_fraction) || val_fraction < 0 || val_fraction > 0.5) return exa_cli_fail("data: --val-fraction must be in [0, 0.5]"); }
        else if (!strcmp(a, "--shard-tokens")) { if (exa_cli_int(a, v, 1024, 2000000000L, &shard_tokens)) return 1; }
        else if (!strcmp(a, "--doc-bytes")) { if (exa_cli_int(a, v, 1, 1 << 26, &doc_bytes)) return 1; }
        else if (!strcmp(a, "--seed")) { if (exa_cli_int(a, v, 0, 0x7fffffff, &seed)) return 1; }
        else return exa_cli_fail("data: unknown option '%s'", a);
    }
    if (!tokdir || !out || first_file >= argc) return exa_cli_fail("data prepare: --tokenizer, --out and at least one input file are required");
    if (strchr(name, '/')) return exa_cli_fail("data: --name must be a plain name");
    char err[1024];
    exa_tokenizer *tok = NULL;
    if (exa_tokenizer_load(tokdir, &tok, err, sizeof err) != EXA_OK) return exa_cli_fail("%s", err);
    prep p = {.tok = tok, .val_fraction = val_fraction, .val_only = val_only};
    p.sep = sep ? exa_tokenizer_token_id(tok, sep) : exa_tokenizer_token_id(tok, "<|endoftext|>");
    if (p.sep < 0) p.sep = exa_tokenizer_eos(tok);
    if (p.sep < 0) { exa_tokenizer_free(tok); return exa_cli_fail("data: separator token not in the vocabulary (use --sep)"); }
    if (exa_cli_mkdir_p(out) != 0) { exa_tokenizer_free(tok); return exa_cli_fail("data: cannot create %s", out); }
    p.train = (shard_out){out, name, "train", NULL, 0, 0, 0, (uint64_t)shard_tokens};
    p.val = (shard_out){out, name, "val", NULL, 0, 0, 0, (uint64_t)shard_tokens};
    uint64_t total_raw = 0, raw_done = 0;
    for (int i = first_file; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { exa_tokenizer_free(tok); return exa_cli_fail("data: cannot read %s: %s", argv[i], strerror(errno)); }
        fseek(f, 0, SEEK_END);
        total_raw += (uint64_t)ftell(f);
        fclose(f);
    }
    double t0 = exa_time_now();
    int rc = 0;
    for (int i = first_file; i < argc && !rc; i++) rc = process_file(&p, argv[i], field, (size_t)doc_bytes, total_raw, &raw_done);
    if (!rc && !val_only) rc = write_shuffled(&p, (uint64_t)seed);
    if (!rc) rc = shard_finish(&p.train) || shard_finish(&p.val);
    if (isatty(2)) fputc('\n', stderr);
    fprintf(stderr, "%llu documents (%.1f MB), %llu exact duplicates dropped, %llu empty; %llu train + %llu val tokens in %.1f s -> %s/%s_{train,val}_NNN.bin\n",
            (unsigned long long)p.docs, (double)p.bytes / 1e6, (unsigned long long)p.dups, (unsigned long long)p.empty,
            (unsigned long long)p.train.total, (unsigned long long)p.val.total, exa_time_now() - t0, out, name);
    free(p.seen);
    free(p.tr);
    free(p.tr_doc);
    exa_tokenizer_free(tok);
    return rc;
}
