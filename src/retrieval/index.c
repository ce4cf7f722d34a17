/* index.c — the document index (public API exa_index_* in exaone.h): one SQLite database in WAL
 * mode with tables docs and chunks and a contentless FTS5 table chunks_fts(text, title) whose
 * terms come from our own tokenizer "exa" (terms.c) registered through fts5_api. FTS5 keeps the
 * inverted index, document lengths and BM25 statistics up to date under inserts and deletes, so
 * every file is one transaction: a crash (even kill -9) leaves either the old or the new version.
 *
 * Queries do not go through FTS5's query language: exa_index_search extracts the query's terms
 * with the same extractor and ORs them; the "exa" tokenizer passes query strings through unchanged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "core/common.h"
#include "retrieval/chunk.h"
#include "retrieval/extract.h"
#include "retrieval/terms.h"

#define SCHEMA_VERSION "1"
#define MAX_QUERY_TERMS 128
#define TITLE_WEIGHT 2.0   /* a title term counts as much as two body terms */

struct exa_index {
    sqlite3 *db;
    char path[PATH_MAX];
    exa_index_terms terms;
    exa_terms *qterms;           /* query-side extractor */
    int chunk_chars, overlap_chars;
    char errmsg[1024];
    int64_t writes;              /* commits made through this handle (search cache key) */
    struct rank_cache *cache;    /* search-side arrays, see rank_cache_load */
    sqlite3_stmt *st_find, *st_touch, *st_ins_doc, *st_upd_doc, *st_ins_chunk, *st_ins_fts, *st_del_fts_doc,
        *st_del_chunks, *st_del_doc, *st_chunk_info;
};

static int register_rank(exa_index *idx);
static int64_t scalar(exa_index *idx, const char *sql);
struct rank_cache;
static void rank_cache_free(struct rank_cache *c);

/* ---- FTS5 tokenizer "exa" ------------------------------------------------------------------ */
typedef struct fts_tok { exa_terms *t; } fts_tok;
typedef struct fts_call {
    void *ctx;
    int (*xToken)(void *, int, const char *, int, int, int);
} fts_call;

static int fts_create(void *ctx, const char **args, int n, Fts5Tokenizer **out) {
    (void)ctx;
    exa_index_terms mode = EXA_TERMS_KOREAN;
    if (n > 0 && exa_terms_mode_parse(args[0], &mode)) return SQLITE_ERROR;
    fts_tok *t = calloc(1, sizeof *t);
    if (!t) return SQLITE_NOMEM;
    t->t = exa_terms_new(mode);
    if (!t->t) { free(t); return SQLITE_NOMEM; }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void fts_delete(Fts5Tokenizer *p) {
    fts_tok *t = (fts_tok *)p;
    exa_terms_free(t->t);
    free(t);
}

static int fts_term(void *user, const char *term, int len, int start, int end) {
    fts_call *c = user;
    return c->xToken(c->ctx, 0, term, len, start, end);
}

static int fts_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
                        int (*xToken)(void *, int, const char *, int, int, int)) {
    if (flags & FTS5_TOKENIZE_QUERY) return n > 0 ? xToken(ctx, 0, text, n, 0, n) : SQLITE_OK;
    fts_call c = {ctx, xToken};
    return exa_terms_run(((fts_tok *)p)->t, text, (size_t)n, fts_term, &c);
}

static int register_tokenizer(sqlite3 *db) {
    fts5_api *api = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK) return SQLITE_ERROR;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api || api->iVersion < 2) return SQLITE_ERROR;
    fts5_tokenizer tok = {fts_create, fts_delete, fts_tokenize};
    return api->xCreateTokenizer(api, "exa", NULL, &tok, NULL);
}

/* ---- helpers ------------------------------------------------------------------------------ */
static void set_msg(exa_index *idx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(exa_index *idx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(idx->errmsg, sizeof idx->errmsg, fmt, ap);
    va_end(ap);
}

static exa_status db_fail(exa_index *idx, const char *what) {
    set_msg(idx, "%s: %s: %s", idx->path, what, sqlite3_errmsg(idx->db));
    int ec = sqlite3_errcode(idx->db);
    return ec == SQLITE_NOMEM ? EXA_ERR_NOMEM : ec == SQLITE_CORRUPT || ec == SQLITE_NOTADB ? EXA_ERR_FORMAT : EXA_ERR_IO;
}

static int exec(exa_index *idx, const char *sql) { return sqlite3_exec(idx->db, sql, NULL, NULL, NULL); }

static uint64_t hash_update(uint64_t h, const unsigned char *p, size_t n) {
    /* 64-bit multiplicative hash over 8-byte words (FNV-style constants); content identity only */
    const uint64_t P = 0x100000001b3ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h ^= w;
        h *= P;
        h ^= h >> 29;
    }
    for (; i < n; i++) { h ^= p[i]; h *= P; }
    return h;
}

static exa_status hash_file(const char *path, uint64_t *out, char *err, size_t es) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return exa_err(err, es, EXA_ERR_IO, "%s", strerror(errno));
    unsigned char *buf = malloc(1 << 20);
    if (!buf) { close(fd); return exa_err(err, es, EXA_ERR_NOMEM, "out of memory"); }
    uint64_t h = 0xcbf29ce484222325ull;
    int64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, 1 << 20);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { free(buf); close(fd); return exa_err(err, es, EXA_ERR_IO, "%s", strerror(errno)); }
        if (r == 0) break;
        /* hash in 8-byte aligned blocks so the result does not depend on read sizes */
        h = hash_update(h, buf, (size_t)r);
        total += r;
    }
    free(buf);
    close(fd);
    *out = h ^ (uint64_t)total;
    return EXA_OK;
}

exa_index_params exa_index_default_params(void) {
    exa_index_params p = {EXA_TERMS_KOREAN, 1000, 150, 0};
    return p;
}

exa_search_params exa_search_default_params(void) {
    exa_search_params p = {10, 0};
    return p;
}

const char *exa_index_errmsg(const exa_index *idx) { return idx ? idx->errmsg : "no index"; }

static void finalize_all(exa_index *idx) {
    sqlite3_stmt **s[] = {&idx->st_find, &idx->st_touch, &idx->st_ins_doc, &idx->st_upd_doc, &idx->st_ins_chunk,
                          &idx->st_ins_fts, &idx->st_del_fts_doc, &idx->st_del_chunks, &idx->st_del_doc,
                          &idx->st_chunk_info};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) { sqlite3_finalize(*s[i]); *s[i] = NULL; }
}

void exa_index_close(exa_index *idx) {
    if (!idx) return;
    finalize_all(idx);
    if (idx->db) sqlite3_close_v2(idx->db);
    exa_terms_free(idx->qterms);
    rank_cache_free(idx->cache);
    free(idx);
}

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, title TEXT NOT NULL,"
    " kind TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, hash TEXT NOT NULL,"
    " n_chunks INTEGER NOT NULL, n_pages INTEGER NOT NULL, added INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, page INTEGER NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);";

static int prep(exa_index *idx, sqlite3_stmt **st, const char *sql) {
    return sqlite3_prepare_v3(idx->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

exa_status exa_index_open(const char *path, const exa_index_params *params, exa_index **out, char *err, size_t es) {
    *out = NULL;
    exa_index_params p = params ? *params : exa_index_default_params();
    exa_index *idx = calloc(1, sizeof *idx);
    if (!idx) return exa_err(err, es, EXA_ERR_NOMEM, "%s: out of memory", path);
    snprintf(idx->path, sizeof idx->path, "%s", path);
    idx->chunk_chars = p.chunk_chars > 0 ? p.chunk_chars : 1000;
    idx->overlap_chars = p.overlap_chars >= 0 ? p.overlap_chars : 0;
    xmlInitParser();
    int flags = p.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &idx->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        exa_err(err, es, EXA_ERR_IO, "%s: cannot open index: %s", path, idx->db ? sqlite3_errmsg(idx->db) : "out of memory");
        exa_index_close(idx);
        return EXA_ERR_IO;
    }
    sqlite3_busy_timeout(idx->db, 10000);
    exa_status st = EXA_OK;
    if (register_tokenizer(idx->db) != SQLITE_OK || register_rank(idx) != SQLITE_OK) {
        st = exa_err(err, es, EXA_ERR_UNSUPPORTED, "%s: this SQLite has no FTS5", path);
        goto fail;
    }
    if (!p.read_only) {
        char *msg = NULL;
        if (sqlite3_exec(idx->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(idx->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
            st = exa_err(err, es, EXA_ERR_FORMAT, "%s: not a usable index database: %s", path, msg ? msg : "?");
            sqlite3_free(msg);
            goto fail;
        }
    }
    /* the term mode is fixed when the database is created */
    sqlite3_stmt *q = NULL;
    char mode[32] = "";
    if (sqlite3_prepare_v2(idx->db, "SELECT value FROM meta WHERE key='terms'", -1, &q, NULL) != SQLITE_OK) {
        st = exa_err(err, es, EXA_ERR_FORMAT, "%s: not an index database: %s", path, sqlite3_errmsg(idx->db));
        goto fail;
    }
    if (sqlite3_step(q) == SQLITE_ROW) snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (!mode[0]) {
        if (p.read_only) { st = exa_err(err, es, EXA_ERR_FORMAT, "%s: empty or foreign database", path); goto fail; }
        char sql[512];
        snprintf(sql, sizeof sql,
                 "BEGIN IMMEDIATE;"
                 "INSERT OR IGNORE INTO meta VALUES('terms','%s'),('schema','" SCHEMA_VERSION "');"
                 "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, title, content='', tokenize='exa %s');"
                 "COMMIT;",
                 exa_terms_mode_name(p.terms), exa_terms_mode_name(p.terms));
        if (exec(idx, sql) != SQLITE_OK) {
            st = exa_err(err, es, EXA_ERR_IO, "%s: cannot create index: %s", path, sqlite3_errmsg(idx->db));
            exec(idx, "ROLLBACK");
            goto fail;
        }
        snprintf(mode, sizeof mode, "%s", exa_terms_mode_name(p.terms));
    }
    if (exa_terms_mode_parse(mode, &idx->terms)) {
        st = exa_err(err, es, EXA_ERR_FORMAT, "%s: unknown term mode '%s'", path, mode);
        goto fail;
    }
    idx->qterms = exa_terms_new(idx->terms);
    if (!idx->qterms) { st = exa_err(err, es, EXA_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    exa_terms_set_query(idx->qterms, 1);
    if (prep(idx, &idx->st_chunk_info,
             "SELECT c.doc_id, c.page, c.start, c.end, c.text, d.path, d.title FROM chunks c JOIN docs d ON d.id=c.doc_id"
             " WHERE c.id=?1") != SQLITE_OK) {
        st = exa_err(err, es, EXA_ERR_FORMAT, "%s: not an index database: %s", path, sqlite3_errmsg(idx->db));
        goto fail;
    }
    if (!p.read_only &&
        (prep(idx, &idx->st_find, "SELECT id, size, mtime, hash, title FROM docs WHERE path=?1") ||
         prep(idx, &idx->st_touch, "UPDATE docs SET size=?2, mtime=?3 WHERE id=?1") ||
         prep(idx, &idx->st_ins_doc,
              "INSERT INTO docs(path,title,kind,size,mtime,hash,n_chunks,n_pages,added) VALUES(?1,'',?2,?3,?4,?5,0,0,"
              "strftime('%s','now'))") ||
         prep(idx, &idx->st_upd_doc, "UPDATE docs SET title=?2, n_chunks=?3, n_pages=?4 WHERE id=?1") ||
         prep(idx, &idx->st_ins_chunk, "INSERT INTO chunks(doc_id,page,start,end,text) VALUES(?1,?2,?3,?4,?5)") ||
         prep(idx, &idx->st_ins_fts, "INSERT INTO chunks_fts(rowid,text,title) VALUES(?1,?2,?3)") ||
         prep(idx, &idx->st_del_fts_doc,
              "INSERT INTO chunks_fts(chunks_fts,rowid,text,title) SELECT 'delete', c.id, c.text, d.title"
              " FROM chunks c JOIN docs d ON d.id=c.doc_id WHERE c.doc_id=?1") ||
         prep(idx, &idx->st_del_chunks, "DELETE FROM chunks WHERE doc_id=?1") ||
         prep(idx, &idx->st_del_doc, "DELETE FROM docs WHERE id=?1"))) {
        st = exa_err(err, es, EXA_ERR_FORMAT, "%s: not an index database: %s", path, sqlite3_errmsg(idx->db));
        goto fail;
    }
    *out = idx;
    return EXA_OK;
fail:
    exa_index_close(idx);
    return st;
}

/* ---- ingestion ---------------------------------------------------------------------------- */
typedef struct ingest {
    exa_index *idx;
    int64_t doc_id;
    int page, n_pages;
    int64_t n_chunks;
    char title[512];
    exa_chunker ch;
    int db_error;
    /* progress */
    const exa_index_add_params *ap;
    exa_index_progress *prog;
    int64_t file_bytes0;     /* prog->bytes_done before this file */
    int64_t last_report;
    int aborted;
    const char *path;
} ingest;

static void sink_title(void *user, const char *s, size_t n);

/* The title is indexed with every chunk and must not change once a chunk holds it (deletes
 * from the contentless FTS table replay the same values), so it is frozen at the first chunk. */
static void freeze_title(ingest *g) {
    if (g->title[0]) return;
    const char *base = strrchr(g->path, '/');
    base = base ? base + 1 : g->path;
    sink_title(g, base, strlen(base));
    if (!g->title[0]) snprintf(g->title, sizeof g->title, "untitled");
}

static int ingest_chunk(void *user, const char *text, size_t len, int64_t start, int64_t end) {
    ingest *g = user;
    exa_index *idx = g->idx;
    freeze_title(g);
    sqlite3_stmt *s = idx->st_ins_chunk;
    sqlite3_bind_int64(s, 1, g->doc_id);
    sqlite3_bind_int(s, 2, g->page);
    sqlite3_bind_int64(s, 3, start);
    sqlite3_bind_int64(s, 4, end);
    sqlite3_bind_text(s, 5, text, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) { g->db_error = 1; return 1; }
    int64_t cid = sqlite3_last_insert_rowid(idx->db);
    s = idx->st_ins_fts;
    sqlite3_bind_int64(s, 1, cid);
    sqlite3_bind_text(s, 2, text, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, g->title, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) { g->db_error = 1; return 1; }
    g->n_chunks++;
    if (g->prog) g->prog->chunks_added++;
    return 0;
}

static int sink_page(void *user, int page) {
    ingest *g = user;
    int rc = exa_chunker_finish(&g->ch);
    if (rc) return rc;
    g->page = page;
    if (page > g->n_pages) g->n_pages = page;
    return 0;
}

static int sink_text(void *user, const char *s, size_t n) {
    ingest *g = user;
    return exa_chunker_feed(&g->ch, s, n);
}

static void sink_title(void *user, const char *s, size_t n) {
    ingest *g = user;
    if (g->title[0] || n == 0) return;
    if (n > sizeof g->title - 1) n = sizeof g->title - 1;
    memcpy(g->title, s, n);
    g->title[n] = 0;
    /* cut at a character boundary */
    size_t ok = exa_tok_utf8_valid_prefix((const unsigned char *)g->title, n);
    g->title[ok] = 0;
}

static int sink_progress(void *user, size_t bytes) {
    ingest *g = user;
    if (!g->prog || !g->ap || !g->ap->progress) return 0;
    g->prog->bytes_done = g->file_bytes0 + (int64_t)bytes;
    if (g->prog->bytes_done - g->last_report < (1 << 20)) return 0;
    g->last_report = g->prog->bytes_done;
    if (!g->ap->progress(g->prog, g->ap->user)) { g->aborted = 1; return 1; }
    return 0;
}

static exa_status delete_doc(exa_index *idx, int64_t id) {
    sqlite3_stmt *s[] = {idx->st_del_fts_doc, idx->st_del_chunks, idx->st_del_doc};
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_int64(s[i], 1, id);
        int rc = sqlite3_step(s[i]);
        sqlite3_reset(s[i]);
        if (rc != SQLITE_DONE) return db_fail(idx, "delete");
    }
    return EXA_OK;
}

typedef struct doc_row { int64_t id, size, mtime; uint64_t hash; int found; } doc_row;

static exa_status find_doc(exa_index *idx, const char *path, doc_row *r) {
    memset(r, 0, sizeof *r);
    sqlite3_stmt *s = idx->st_find;
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        r->found = 1;
        r->id = sqlite3_column_int64(s, 0);
        r->size = sqlite3_column_int64(s, 1);
        r->mtime = sqlite3_column_int64(s, 2);
        r->hash = strtoull((const char *)sqlite3_column_text(s, 3), NULL, 16);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(idx, "lookup");
    return EXA_OK;
}

/* Replaces (or creates) the document `path` inside one transaction; the text comes from
 * extract (a file) or from mem (add_text). Returns EXA_ERR_FORMAT/IO for unreadable input
 * (message in err), other codes for database failures. */
static exa_status ingest_one(exa_index *idx, const char *path, exa_doc_kind kind, int64_t size, int64_t mtime,
                             uint64_t hash, int64_t old_id, const char *mem, size_t mem_len, const char *mem_title,
                             const exa_index_add_params *ap, exa_index_progress *prog, char *err, size_t es) {
    static const char *const KIND[] = {"none", "text", "markdown", "html", "pdf"};
    ingest *g = calloc(1, sizeof *g);
    if (!g) return exa_err(err, es, EXA_ERR_NOMEM, "out of memory");
    g->idx = idx;
    g->path = path;
    g->ap = ap;
    g->prog = prog;
    g->file_bytes0 = prog ? prog->bytes_done : 0;
    g->last_report = g->file_bytes0;
    exa_chunker_init(&g->ch, idx->chunk_chars, idx->overlap_chars, ingest_chunk, g);
    exa_status st = EXA_OK;
    int64_t chunks0 = prog ? prog->chunks_added : 0;
    if (exec(idx, "BEGIN IMMEDIATE") != SQLITE_OK) { st = db_fail(idx, "begin"); goto out; }
    if (old_id && (st = delete_doc(idx, old_id))) goto rollback;
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash);
    sqlite3_stmt *s = idx->st_ins_doc;
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, KIND[kind], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, size);
    sqlite3_bind_int64(s, 4, mtime);
    sqlite3_bind_text(s, 5, hex, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) { st = db_fail(idx, "insert document"); goto rollback; }
    g->doc_id = sqlite3_last_insert_rowid(idx->db);
    if (mem) {
        if (mem_title) sink_title(g, mem_title, strlen(mem_title));
        char *copy = malloc(mem_len + 1);
        if (!copy) { st = exa_err(err, es, EXA_ERR_NOMEM, "out of memory"); goto rollback; }
        memcpy(copy, mem, mem_len);
        size_t n = exa_utf8_clean(copy, mem_len, 1);
        int r = exa_chunker_feed(&g->ch, copy, n);
        free(copy);
        if (r && !g->db_error) { st = exa_err(err, es, EXA_ERR_NOMEM, "out of memory"); goto rollback; }
    } else {
        exa_doc_sink sink = {sink_page, sink_text, sink_title, sink_progress, g};
        st = exa_extract_file(path, kind, &sink, err, es);
        if (g->aborted) st = EXA_ERR_ABORTED;
        if (st == EXA_ERR_ABORTED && !g->aborted && !g->db_error) st = exa_err(err, es, EXA_ERR_NOMEM, "out of memory");
        if (st) goto rollback;
    }
    if (exa_chunker_finish(&g->ch)) {
        if (!g->db_error) st = exa_err(err, es, EXA_ERR_NOMEM, "out of memory");
    }
    if (g->db_error) { st = db_fail(idx, "insert chunk"); goto rollback; }
    if (st) goto rollback;
    freeze_title(g);
    s = idx->st_upd_doc;
    sqlite3_bind_int64(s, 1, g->doc_id);
    sqlite3_bind_text(s, 2, g->title, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, g->n_chunks);
    sqlite3_bind_int(s, 4, g->n_pages);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) { st = db_fail(idx, "update document"); goto rollback; }
    if (exec(idx, "COMMIT") != SQLITE_OK) { st = db_fail(idx, "commit"); goto rollback; }
    idx->writes++;
    goto out;
rollback:
    if (g->db_error && st != EXA_ERR_ABORTED) st = db_fail(idx, "insert chunk");
    exec(idx, "ROLLBACK");
    if (prog) prog->chunks_added = chunks0;
out:
    exa_chunker_free(&g->ch);
    free(g);
    return st;
}

/* ---- walking folders ---------------------------------------------------------------------- */
typedef struct file_ent { char *path; int64_t size, mtime; exa_doc_kind kind; } file_ent;
typedef struct walk {
    file_ent *files;
    size_t n, cap;
    uint64_t *seen;          /* open-addressing set of (dev, ino) of visited folders */
    size_t seen_cap, seen_n;
    const exa_index_add_params *ap;
    exa_index_progress *prog;
    int oom;
} walk;

static void warn(const exa_index_add_params *ap, exa_index_progress *prog, const char *path, const char *why) {
    if (prog) prog->files_skipped++;
    size_t pl = strlen(path);
    if (!strncmp(why, path, pl) && !strncmp(why + pl, ": ", 2)) why += pl + 2;  /* path is given apart */
    if (ap && ap->warn) ap->warn(path, why, ap->user);
}

static int seen_insert(walk *w, uint64_t dev, uint64_t ino) {
    if (w->seen_n * 2 >= w->seen_cap) {
        size_t cap = w->seen_cap ? w->seen_cap * 2 : 256;
        uint64_t *t = calloc(cap * 2, sizeof *t);
        if (!t) { w->oom = 1; return 0; }
        for (size_t i = 0; i < w->seen_cap; i++) {
            uint64_t d = w->seen[2 * i], n = w->seen[2 * i + 1];
            if (!d && !n) continue;
            size_t h = (size_t)((d * 0x9E3779B97F4A7C15ull) ^ n) & (cap - 1);
            while (t[2 * h] || t[2 * h + 1]) h = (h + 1) & (cap - 1);
            t[2 * h] = d; t[2 * h + 1] = n;
        }
        free(w->seen);
        w->seen = t;
        w->seen_cap = cap;
    }
    dev += 1;  /* (0,0) marks an empty slot */
    size_t h = (size_t)((dev * 0x9E3779B97F4A7C15ull) ^ ino) & (w->seen_cap - 1);
    while (w->seen[2 * h] || w->seen[2 * h + 1]) {
        if (w->seen[2 * h] == dev && w->seen[2 * h + 1] == ino) return 0;
        h = (h + 1) & (w->seen_cap - 1);
    }
    w->seen[2 * h] = dev; w->seen[2 * h + 1] = ino;
    w->seen_n++;
    return 1;
}

static void push_file(walk *w, const char *path, const struct stat *sb, exa_doc_kind kind) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        file_ent *f = realloc(w->files, cap * sizeof *f);
        if (!f) { w->oom = 1; return; }
        w->files = f;
        w->cap = cap;
    }
    char *rp = realpath(path, NULL);
    if (!rp) { warn(w->ap, w->prog, path, strerror(errno)); return; }
    file_ent *e = &w->files[w->n++];
    e->path = rp;
    e->size = sb->st_size;
    e->mtime = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    e->kind = kind;
    if (w->prog) { w->prog->files_total++; w->prog->bytes_total += sb->st_size; }
}

static void walk_path(walk *w, const char *path, int explicit_arg, int depth) {
    struct stat sb;
    if (w->oom) return;
    if (stat(path, &sb) != 0) {
        warn(w->ap, w->prog, path, errno == ELOOP ? "symlink loop" : strerror(errno));
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        if (depth > 256) { warn(w->ap, w->prog, path, "folders nested too deeply"); return; }
        if (!seen_insert(w, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino)) {
            if (!w->oom) warn(w->ap, w->prog, path, "folder already visited (symlink loop?)");
            return;
        }
        struct dirent **list = NULL;
        int n = scandir(path, &list, NULL, alphasort);
        if (n < 0) { warn(w->ap, w->prog, path, strerror(errno)); return; }
        for (int i = 0; i < n; i++) {
            const char *name = list[i]->d_name;
            if (name[0] != '.') {
                size_t need = strlen(path) + strlen(name) + 2;
                char *child = malloc(need);
                if (child) {
                    snprintf(child, need, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", name);
                    /* files of other kinds inside folders are ignored silently */
                    struct stat cs;
                    int is_dir = stat(child, &cs) == 0 && S_ISDIR(cs.st_mode);
                    if (is_dir || exa_doc_kind_of(name) != EXA_DOC_NONE || lstat(child, &cs) != 0 ||
                        (S_ISLNK(cs.st_mode) && stat(child, &cs) != 0 && errno == ELOOP))
                        walk_path(w, child, 0, depth + 1);
                    free(child);
                } else {
                    w->oom = 1;
                }
            }
            free(list[i]);
        }
        free(list);
        return;
    }
    if (!S_ISREG(sb.st_mode)) { if (explicit_arg) warn(w->ap, w->prog, path, "not a regular file"); return; }
    exa_doc_kind kind = exa_doc_kind_of(path);
    if (kind == EXA_DOC_NONE) {
        warn(w->ap, w->prog, path, "unsupported file type (not .txt/.md/.html/.pdf)");
        return;
    }
    if (access(path, R_OK) != 0) { warn(w->ap, w->prog, path, strerror(errno)); return; }
    push_file(w, path, &sb, kind);
}

static void walk_free(walk *w) {
    for (size_t i = 0; i < w->n; i++) free(w->files[i].path);
    free(w->files);
    free(w->seen);
}

static int report(const exa_index_add_params *ap, exa_index_progress *prog) {
    return !ap || !ap->progress || ap->progress(prog, ap->user);
}

exa_status exa_index_add(exa_index *idx, const char *const *paths, int n_paths, const exa_index_add_params *ap,
                         exa_index_progress *stats) {
    if (!idx || !idx->st_find) return EXA_ERR_INVALID_ARG;
    exa_index_progress prog;
    memset(&prog, 0, sizeof prog);
    walk w;
    memset(&w, 0, sizeof w);
    w.ap = ap;
    w.prog = &prog;
    for (int i = 0; i < n_paths && !w.oom; i++) walk_path(&w, paths[i], 1, 0);
    exa_status st = EXA_OK;
    if (w.oom) {
        set_msg(idx, "%s: out of memory while listing files", idx->path);
        st = EXA_ERR_NOMEM;
        goto out;
    }
    int64_t bytes_before = 0;
    idx->errmsg[0] = 0;
    for (size_t i = 0; i < w.n && !st; i++) {
        file_ent *f = &w.files[i];
        prog.path = f->path;
        if (!report(ap, &prog)) { st = EXA_ERR_ABORTED; break; }
        doc_row row;
        if ((st = find_doc(idx, f->path, &row))) break;
        if (row.found && row.size == f->size && row.mtime == f->mtime) {
            prog.files_unchanged++;
        } else {
            char err[768];
            uint64_t h = 0;
            exa_status hs = hash_file(f->path, &h, err, sizeof err);
            if (hs) {
                warn(ap, &prog, f->path, err);
            } else if (row.found && row.hash == h) {
                /* same bytes, new mtime: remember the new stat so the next run skips it cheaply */
                sqlite3_stmt *s = idx->st_touch;
                sqlite3_bind_int64(s, 1, row.id);
                sqlite3_bind_int64(s, 2, f->size);
                sqlite3_bind_int64(s, 3, f->mtime);
                int rc = sqlite3_step(s);
                sqlite3_reset(s);
                if (rc != SQLITE_DONE) { st = db_fail(idx, "update"); break; }
                prog.files_unchanged++;
            } else {
                exa_status is = ingest_one(idx, f->path, f->kind, f->size, f->mtime, h, row.found ? row.id : 0, NULL, 0,
                                           NULL, ap, &prog, err, sizeof err);
                if (is == EXA_OK) prog.files_added++;
                else if (is == EXA_ERR_ABORTED) st = is;
                else if (is == EXA_ERR_FORMAT || is == EXA_ERR_IO || is == EXA_ERR_UNSUPPORTED) {
                    /* an unreadable/malformed file (database failures come back as db_fail's
                     * message in idx->errmsg and stop the run below) */
                    if (idx->errmsg[0]) st = is;
                    else warn(ap, &prog, f->path, err);
                } else {
                    st = is;
                    if (!idx->errmsg[0]) set_msg(idx, "%s: %s", f->path, err);
                }
            }
        }
        prog.files_done++;
        bytes_before += f->size;
        prog.bytes_done = bytes_before;
    }
    /* documents under a folder argument whose file is gone (ENOENT) are removed: re-adding a
     * folder keeps the index in sync with it */
    for (int a = 0; a < n_paths && !st; a++) {
        struct stat sb;
        char *rp = realpath(paths[a], NULL);
        if (!rp || stat(rp, &sb) != 0 || !S_ISDIR(sb.st_mode)) { free(rp); continue; }
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(idx->db, "SELECT id, path FROM docs WHERE substr(path,1,length(?1)+1)=?1||'/'", -1, &q,
                               NULL) != SQLITE_OK) {
            free(rp);
            st = db_fail(idx, "prune");
            break;
        }
        sqlite3_bind_text(q, 1, rp, -1, SQLITE_TRANSIENT);
        int64_t *gone = NULL;
        size_t ng = 0, cap = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            struct stat fs;
            const char *dp = (const char *)sqlite3_column_text(q, 1);
            if (stat(dp, &fs) == 0 || errno != ENOENT) continue;
            if (ng == cap) {
                cap = cap ? cap * 2 : 16;
                int64_t *t = realloc(gone, cap * sizeof *t);
                if (!t) break;
                gone = t;
            }
            gone[ng++] = sqlite3_column_int64(q, 0);
        }
        sqlite3_finalize(q);
        for (size_t i = 0; i < ng && !st; i++) {
            if (exec(idx, "BEGIN IMMEDIATE") != SQLITE_OK) { st = db_fail(idx, "begin"); break; }
            st = delete_doc(idx, gone[i]);
            if (!st && exec(idx, "COMMIT") != SQLITE_OK) st = db_fail(idx, "commit");
            if (st) exec(idx, "ROLLBACK");
            else { prog.files_removed++; idx->writes++; }
        }
        free(gone);
        free(rp);
    }
    if (!st && prog.chunks_added > 0) {
        /* each file committed a small FTS5 segment; merge them so that searches read few
         * segments: everything when this run added a large share, else a bounded merge */
        int64_t total = scalar(idx, "SELECT count(*) FROM chunks");
        const char *sql = prog.chunks_added * 10 >= total ? "INSERT INTO chunks_fts(chunks_fts) VALUES('optimize')"
                                                          : "INSERT INTO chunks_fts(chunks_fts, rank) VALUES('merge', 2000)";
        if (exec(idx, sql) != SQLITE_OK) st = db_fail(idx, "merge");
        else idx->writes++;
    }
    if (st == EXA_ERR_ABORTED) set_msg(idx, "%s: aborted", idx->path);
    else if (!st) { prog.path = NULL; report(ap, &prog); }
out:
    if (stats) { *stats = prog; stats->path = NULL; }
    walk_free(&w);
    return st;
}

exa_status exa_index_add_text(exa_index *idx, const char *name, const char *title, const char *text, size_t len) {
    if (!idx || !idx->st_find || !name || (!text && len)) return EXA_ERR_INVALID_ARG;
    uint64_t h = hash_update(0xcbf29ce484222325ull, (const unsigned char *)text, len) ^ (uint64_t)len;
    doc_row row;
    exa_status st = find_doc(idx, name, &row);
    if (st) return st;
    if (row.found && row.hash == h) return EXA_OK;
    char err[512];
    st = ingest_one(idx, name, EXA_DOC_TEXT, (int64_t)len, 0, h, row.found ? row.id : 0, text ? text : "", len,
                    title, NULL, NULL, err, sizeof err);
    if (st && !idx->errmsg[0]) set_msg(idx, "%s: %s", name, err);
    return st;
}

exa_status exa_index_remove(exa_index *idx, const char *path, int64_t *n_removed) {
    if (!idx || !idx->st_find || !path) return EXA_ERR_INVALID_ARG;
    char *rp = realpath(path, NULL);
    if (!rp) {
        /* the file may be gone already: resolve its folder and append the name */
        char *copy = strdup(path), *slash = copy ? strrchr(copy, '/') : NULL;
        const char *name = slash ? slash + 1 : path;
        if (slash) *slash = 0;
        char *dir = copy ? realpath(slash ? (copy[0] ? copy : "/") : ".", NULL) : NULL;
        if (dir && name[0]) {
            size_t n = strlen(dir) + strlen(name) + 2;
            rp = malloc(n);
            if (rp) snprintf(rp, n, "%s/%s", strcmp(dir, "/") ? dir : "", name);
        }
        free(dir);
        free(copy);
    }
    const char *key = rp ? rp : path;
    size_t kl = strlen(key);
    while (kl > 1 && key[kl - 1] == '/') kl--;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    exa_status st = EXA_OK;
    if (exec(idx, "BEGIN IMMEDIATE") != SQLITE_OK) { free(rp); return db_fail(idx, "begin"); }
    /* exact path, or anything under path/ (substr avoids LIKE's wildcards in file names) */
    if (sqlite3_prepare_v2(idx->db,
                           "SELECT id FROM docs WHERE path=?1 OR (substr(path,1,length(?1)+1)=?1||'/')", -1, &s,
                           NULL) != SQLITE_OK) {
        st = db_fail(idx, "remove");
        goto out;
    }
    sqlite3_bind_text(s, 1, key, (int)kl, SQLITE_TRANSIENT);
    int64_t *ids = NULL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((size_t)n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *t = realloc(ids, cap * sizeof *t);
            if (!t) { st = EXA_ERR_NOMEM; break; }
            ids = t;
        }
        ids[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (!st && rc != SQLITE_DONE) st = db_fail(idx, "remove");
    for (int64_t i = 0; i < n && !st; i++) st = delete_doc(idx, ids[i]);
    free(ids);
out:
    if (!st && exec(idx, "COMMIT") != SQLITE_OK) st = db_fail(idx, "commit");
    if (!st) idx->writes++;
    if (st) { exec(idx, "ROLLBACK"); n = 0; }
    if (n_removed) *n_removed = n;
    free(rp);
    return st;
}

exa_status exa_index_list(exa_index *idx, int (*fn)(const exa_index_doc *d, void *user), void *user) {
    if (!idx || !fn) return EXA_ERR_INVALID_ARG;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(idx->db, "SELECT id, path, title, size, mtime, n_chunks, n_pages, hash FROM docs ORDER BY path",
                           -1, &s, NULL) != SQLITE_OK)
        return db_fail(idx, "list");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        exa_index_doc d = {sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                           (const char *)sqlite3_column_text(s, 2), sqlite3_column_int64(s, 3),
                           sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5), sqlite3_column_int64(s, 6),
                           strtoull((const char *)sqlite3_column_text(s, 7), NULL, 16)};
        if (!fn(&d, user)) { rc = SQLITE_DONE; break; }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? EXA_OK : db_fail(idx, "list");
}

static int64_t scalar(exa_index *idx, const char *sql) {
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(idx->db, sql, -1, &s, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

exa_status exa_index_optimize(exa_index *idx) {
    if (!idx || !idx->st_find) return EXA_ERR_INVALID_ARG;
    if (exec(idx, "INSERT INTO chunks_fts(chunks_fts) VALUES('optimize')") != SQLITE_OK) return db_fail(idx, "optimize");
    idx->writes++;
    return EXA_OK;
}

exa_status exa_index_check(exa_index *idx, char *report, size_t report_size) {
    if (!idx) return EXA_ERR_INVALID_ARG;
    if (report && report_size) report[0] = 0;
    if (exec(idx, "INSERT INTO chunks_fts(chunks_fts, rank) VALUES('integrity-check', 1)") != SQLITE_OK) {
        exa_status st = db_fail(idx, "full-text index integrity check");
        if (report) snprintf(report, report_size, "%s", idx->errmsg);
        return st == EXA_ERR_IO ? EXA_ERR_FORMAT : st;
    }
    int64_t bad_counts = scalar(idx, "SELECT count(*) FROM docs d WHERE d.n_chunks != "
                                     "(SELECT count(*) FROM chunks c WHERE c.doc_id=d.id)");
    int64_t orphans = scalar(idx, "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id=c.doc_id)");
    int64_t n_chunks = scalar(idx, "SELECT count(*) FROM chunks");
    int64_t n_fts = scalar(idx, "SELECT count(*) FROM chunks_fts_docsize");
    int64_t missing = scalar(idx, "SELECT count(*) FROM chunks c WHERE NOT EXISTS "
                                  "(SELECT 1 FROM chunks_fts_docsize f WHERE f.id=c.id)");
    if (bad_counts < 0 || orphans < 0 || n_chunks < 0 || n_fts < 0 || missing < 0) return db_fail(idx, "check");
    if (bad_counts || orphans || n_chunks != n_fts || missing) {
        set_msg(idx, "%s: inconsistent index: %lld documents with wrong chunk counts, %lld orphan chunks, %lld chunks vs "
                "%lld indexed rows, %lld chunks not indexed", idx->path, (long long)bad_counts, (long long)orphans,
                (long long)n_chunks, (long long)n_fts, (long long)missing);
        if (report) snprintf(report, report_size, "%s", idx->errmsg);
        return EXA_ERR_FORMAT;
    }
    if (report) snprintf(report, report_size, "ok: %lld chunks, full-text index consistent", (long long)n_chunks);
    return EXA_OK;
}

exa_status exa_index_get_stats(exa_index *idx, exa_index_stats *st) {
    if (!idx || !st) return EXA_ERR_INVALID_ARG;
    st->n_docs = scalar(idx, "SELECT count(*) FROM docs");
    st->n_chunks = scalar(idx, "SELECT count(*) FROM chunks");
    st->text_bytes = scalar(idx, "SELECT coalesce(sum(length(CAST(text AS BLOB))),0) FROM chunks");
    st->db_bytes = scalar(idx, "SELECT page_count*page_size FROM pragma_page_count(), pragma_page_size()");
    st->terms = exa_terms_mode_name(idx->terms);
    if (st->n_docs < 0 || st->n_chunks < 0) return db_fail(idx, "stats");
    return EXA_OK;
}

/* ---- search ------------------------------------------------------------------------------- */
/* Scoring is term-at-a-time in C rather than FTS5's bm25() (which looks up every matching row's
 * length in a B-tree: ~100 ms per query over 33k chunks; bench/retrieval). One SQL statement
 * matches the query and calls our auxiliary function exa_rank once; it walks each query term's
 * postings with xQueryPhrase (df = their count, tf per column from the position lists) and
 * accumulates BM25F into per-chunk arrays. Chunk lengths and document ids are read once into
 * memory (rank_cache) and reloaded when the database changes. */
/* BM25F parameters, chosen on KorQuAD dev (docs/retrieval.md has the sweep) */
#define BM25_K1 0.8
#define MAX_DF_FRACTION 0.25
#define BM25_B 0.75

typedef struct posting { int64_t rowid; float tf; } posting;

typedef struct rank_cache {
    int64_t data_version, writes;
    int64_t max_id, n;
    float *dl;            /* [max_id+1] text length + TITLE_WEIGHT * title length, in terms; <0: no chunk */
    int64_t *doc;         /* [max_id+1] document id of each chunk */
    double avgdl;
    float *acc;           /* [max_id+1] score accumulator */
    uint32_t *gen;        /* [max_id+1] query generation that last touched acc */
    uint32_t cur_gen;
    int64_t *touched;     /* rowids touched by the current query */
    size_t n_touched, cap_touched;
    posting *post;
    size_t n_post, cap_post;
    /* query terms (parallel to the MATCH expression's phrases) */
    double k1, b, title_weight;
    /* df of terms seen by earlier queries (open addressing; term strings owned) */
    char **df_term;
    int64_t *df_val;
    size_t df_cap, df_n;
    const char *terms[MAX_QUERY_TERMS];
    int n_terms;
    float term_weight[MAX_QUERY_TERMS];
    int failed;
} rank_cache;

static uint64_t str_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 0x100000001b3ull; }
    return h;
}

/* df of a term from earlier queries, or -1 */
static int64_t df_get(const rank_cache *c, const char *t) {
    if (!c->df_cap) return -1;
    for (size_t h = str_hash(t) & (c->df_cap - 1);; h = (h + 1) & (c->df_cap - 1)) {
        if (!c->df_term[h]) return -1;
        if (!strcmp(c->df_term[h], t)) return c->df_val[h];
    }
}

static void df_put(rank_cache *c, const char *t, int64_t df) {
    if (!c->df_cap) {
        c->df_cap = 1 << 14;
        c->df_term = calloc(c->df_cap, sizeof *c->df_term);
        c->df_val = calloc(c->df_cap, sizeof *c->df_val);
        if (!c->df_term || !c->df_val) { free(c->df_term); free(c->df_val); c->df_term = NULL; c->df_val = NULL; c->df_cap = 0; return; }
    }
    if (c->df_n * 4 >= c->df_cap * 3) return;  /* full: stop remembering */
    size_t h = str_hash(t) & (c->df_cap - 1);
    while (c->df_term[h]) {
        if (!strcmp(c->df_term[h], t)) return;
        h = (h + 1) & (c->df_cap - 1);
    }
    c->df_term[h] = strdup(t);
    if (c->df_term[h]) { c->df_val[h] = df; c->df_n++; }
}

static void rank_cache_free(rank_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < c->df_cap; i++) free(c->df_term[i]);
    free(c->df_term); free(c->df_val);
    free(c->dl); free(c->doc); free(c->acc); free(c->gen); free(c->touched); free(c->post);
    free(c);
}

static int64_t data_version(exa_index *idx) {
    return scalar(idx, "PRAGMA data_version");
}

static int read_varint(const unsigned char *p, int n, int *pos, uint64_t *v) {
    uint64_t x = 0;
    for (int i = 0; i < 9; i++) {
        if (*pos >= n) return -1;
        unsigned char b = p[(*pos)++];
        if (i == 8) { x = (x << 8) | b; break; }
        x = (x << 7) | (b & 0x7F);
        if (!(b & 0x80)) break;
    }
    *v = x;
    return 0;
}

static exa_status rank_cache_load(exa_index *idx) {
    int64_t dv = data_version(idx);
    rank_cache *c = idx->cache;
    if (c && c->data_version == dv && c->writes == idx->writes) return EXA_OK;
    rank_cache_free(c);
    idx->cache = NULL;
    c = calloc(1, sizeof *c);
    if (!c) return EXA_ERR_NOMEM;
    c->data_version = dv;
    c->writes = idx->writes;
    c->k1 = BM25_K1;
    c->b = BM25_B;
    c->title_weight = TITLE_WEIGHT;
    int64_t max_id = scalar(idx, "SELECT coalesce(max(id),0) FROM chunks");
    if (max_id < 0 || max_id > ((int64_t)1 << 31)) { rank_cache_free(c); return db_fail(idx, "search"); }
    size_t n = (size_t)max_id + 1;
    c->max_id = max_id;
    c->dl = malloc(n * sizeof *c->dl);
    c->doc = calloc(n, sizeof *c->doc);
    c->acc = calloc(n, sizeof *c->acc);
    c->gen = calloc(n, sizeof *c->gen);
    if (!c->dl || !c->doc || !c->acc || !c->gen) { rank_cache_free(c); return EXA_ERR_NOMEM; }
    for (size_t i = 0; i < n; i++) c->dl[i] = -1;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(idx->db, "SELECT c.id, c.doc_id, d.sz FROM chunks c JOIN chunks_fts_docsize d ON d.id=c.id", -1,
                           &s, NULL) != SQLITE_OK) {
        rank_cache_free(c);
        return db_fail(idx, "search");
    }
    double total = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (id < 0 || id > max_id) continue;
        const unsigned char *sz = sqlite3_column_blob(s, 2);
        int len = sqlite3_column_bytes(s, 2), pos = 0;
        uint64_t a = 0, t = 0;
        if (read_varint(sz, len, &pos, &a) || read_varint(sz, len, &pos, &t)) continue;
        c->dl[id] = (float)((double)a + c->title_weight * (double)t);
        c->doc[id] = sqlite3_column_int64(s, 1);
        total += c->dl[id];
        c->n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) { rank_cache_free(c); return db_fail(idx, "search"); }
    c->avgdl = c->n ? total / (double)c->n : 1.0;
    if (c->avgdl <= 0) c->avgdl = 1.0;
    idx->cache = c;
    return EXA_OK;
}

/* xQueryPhrase callback: one row containing the phrase; tf = text count + TITLE_WEIGHT x title count */
static int rank_posting(const Fts5ExtensionApi *api, Fts5Context *fts, void *user) {
    rank_cache *c = user;
    Fts5PhraseIter it;
    int col, off;
    float tf = 0;
    for (api->xPhraseFirst(fts, 0, &it, &col, &off); col >= 0; api->xPhraseNext(fts, &it, &col, &off))
        tf += col == 0 ? 1.0f : (float)c->title_weight;
    if (c->n_post == c->cap_post) {
        size_t cap = c->cap_post ? c->cap_post * 2 : 4096;
        posting *p = realloc(c->post, cap * sizeof *p);
        if (!p) return SQLITE_NOMEM;
        c->post = p;
        c->cap_post = cap;
    }
    c->post[c->n_post].rowid = api->xRowid(fts);
    c->post[c->n_post].tf = tf;
    c->n_post++;
    return SQLITE_OK;
}

static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval, sqlite3_value **val) {
    (void)nval; (void)val;
    exa_index *idx = api->xUserData(fts);
    rank_cache *c = idx->cache;
    int np = api->xPhraseCount(fts);
    c->cur_gen++;
    c->n_touched = 0;
    double N = (double)c->n;
    /* terms in more than a quarter of the chunks carry little information (idf < 1.3) and cost
     * the most postings: in collections of 1000+ chunks they are left out, unless every query
     * term is that common (then all count). A term's df is remembered, so the next query that
     * has it does not even walk its postings; scores never depend on what was remembered. */
    double max_df = N >= 1000 ? MAX_DF_FRACTION * N : N + 1;
    int kept = 0;
rescan:
    for (int p = 0; p < np && p < c->n_terms; p++) {
        int64_t known = df_get(c, c->terms[p]);
        if (known >= 0 && (double)known > max_df) continue;
        c->n_post = 0;
        int rc = api->xQueryPhrase(fts, p, c, rank_posting);
        if (rc != SQLITE_OK) { c->failed = 1; sqlite3_result_error_code(ctx, rc); return; }
        double df = (double)c->n_post;
        if (known < 0) df_put(c, c->terms[p], (int64_t)c->n_post);
        if (df > max_df) continue;  /* same result whether or not the df was known beforehand */
        kept++;
        double idf = log(1.0 + (N - df + 0.5) / (df + 0.5)) * c->term_weight[p];
        const double k1 = c->k1, bb = c->b;
        for (size_t i = 0; i < c->n_post; i++) {
            int64_t r = c->post[i].rowid;
            if (r < 0 || r > c->max_id || c->dl[r] < 0) continue;
            double tf = c->post[i].tf;
            double norm = k1 * (1.0 - bb + bb * c->dl[r] / c->avgdl);
            float add = (float)(idf * tf * (k1 + 1.0) / (tf + norm));
            if (c->gen[r] != c->cur_gen) {
                c->gen[r] = c->cur_gen;
                c->acc[r] = 0;
                if (c->n_touched == c->cap_touched) {
                    size_t cap = c->cap_touched ? c->cap_touched * 2 : 4096;
                    int64_t *t = realloc(c->touched, cap * sizeof *t);
                    if (!t) { c->failed = 1; sqlite3_result_error_nomem(ctx); return; }
                    c->touched = t;
                    c->cap_touched = cap;
                }
                c->touched[c->n_touched++] = r;
            }
            c->acc[r] += add;
        }
    }
    if (!kept && max_df <= N) { max_df = N + 1; goto rescan; }
    sqlite3_result_int(ctx, 1);
}

static int register_rank(exa_index *idx) {
    fts5_api *api = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(idx->db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK) return SQLITE_ERROR;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api) return SQLITE_ERROR;
    return api->xCreateFunction(api, "exa_rank", idx, rank_fn, NULL);
}

typedef struct qbuild { char *q; size_t len, cap; int n; char **seen; int oom; } qbuild;

static int qterm(void *user, const char *term, int len, int start, int end) {
    (void)start; (void)end;
    qbuild *b = user;
    if (b->n >= MAX_QUERY_TERMS) return 0;
    for (int i = 0; i < b->n; i++)
        if ((int)strlen(b->seen[i]) == len && !memcmp(b->seen[i], term, (size_t)len)) return 0;
    char *t = malloc((size_t)len + 1);
    if (!t || b->len + 2 * (size_t)len + 8 > b->cap) {
        size_t cap = (b->cap + 2 * (size_t)len + 8) * 2;
        char *q = t ? realloc(b->q, cap) : NULL;
        if (!q) { free(t); b->oom = 1; return 1; }
        b->q = q;
        b->cap = cap;
    }
    memcpy(t, term, (size_t)len);
    t[len] = 0;
    b->seen[b->n++] = t;
    if (b->len) { memcpy(b->q + b->len, " OR ", 4); b->len += 4; }
    b->q[b->len++] = '"';
    for (int i = 0; i < len; i++) {
        if (term[i] == '"') b->q[b->len++] = '"';
        b->q[b->len++] = term[i];
    }
    b->q[b->len++] = '"';
    b->q[b->len] = 0;
    return 0;
}

typedef struct scored { int64_t rowid; float score; } scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

void exa_search_result_free(exa_search_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free((char *)r->passages[i].path);
        free((char *)r->passages[i].title);
        free((char *)r->passages[i].text);
    }
    free(r->passages);
    r->passages = NULL;
    r->n = 0;
}

static char *dup_col(sqlite3_stmt *s, int c) {
    const char *t = (const char *)sqlite3_column_text(s, c);
    int n = sqlite3_column_bytes(s, c);
    char *o = malloc((size_t)n + 1);
    if (o) { memcpy(o, t ? t : "", (size_t)n); o[n] = 0; }
    return o;
}

exa_status exa_index_search(exa_index *idx, const char *query, const exa_search_params *params, exa_search_result *out) {
    if (!idx || !query || !out) return EXA_ERR_INVALID_ARG;
    out->n = 0;
    out->passages = NULL;
    exa_search_params p = params ? *params : exa_search_default_params();
    if (p.k <= 0) return EXA_OK;
    if (p.k > 10000) p.k = 10000;
    char *seen[MAX_QUERY_TERMS];
    qbuild b = {NULL, 0, 0, 0, seen, 0};
    exa_terms_run(idx->qterms, query, strlen(query), qterm, &b);
    exa_status st = EXA_OK;
    if (b.oom) st = EXA_ERR_NOMEM;
    else if (b.n) st = rank_cache_load(idx);
    if (st || !b.n) goto done;
    rank_cache *c = idx->cache;
    c->n_terms = b.n;
    for (int i = 0; i < b.n; i++) { c->term_weight[i] = 1.0f; c->terms[i] = seen[i]; }
    c->failed = 0;
    c->n_touched = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(idx->db, "SELECT exa_rank(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?1 LIMIT 1", -1, &s,
                           NULL) != SQLITE_OK) {
        st = db_fail(idx, "search");
        goto done;
    }
    sqlite3_bind_text(s, 1, b.q, (int)b.len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(idx, "search");
    sqlite3_finalize(s);
    if (st) goto done;
    if (rc == SQLITE_DONE) c->n_touched = 0; /* nothing matched: rank_fn never ran */
    /* top candidates: keep the best L in a min-heap (O(n log L)) and sort those; with a
     * per-document cap L may prove too small, then everything is sorted */
    size_t nt = c->n_touched;
    scored *cand = malloc((nt ? nt : 1) * sizeof *cand);
    if (!cand) { st = EXA_ERR_NOMEM; goto done; }
    size_t L = (size_t)p.k * (p.max_per_doc > 0 ? 16 : 1) + 64, nc = 0;
    int full = 0;
again:
    if (full || nt <= L) {
        for (size_t i = 0; i < nt; i++) { cand[i].rowid = c->touched[i]; cand[i].score = c->acc[c->touched[i]]; }
        nc = nt;
    } else {
        nc = 0;
        for (size_t i = 0; i < nt; i++) {
            scored x = {c->touched[i], c->acc[c->touched[i]]};
            if (nc < L) {
                size_t j = nc++;   /* sift up: cand[0] is the worst kept */
                while (j > 0 && cmp_scored(&cand[(j - 1) / 2], &x) < 0) { cand[j] = cand[(j - 1) / 2]; j = (j - 1) / 2; }
                cand[j] = x;
            } else if (cmp_scored(&x, &cand[0]) < 0) {
                size_t j = 0;      /* replace the worst, sift down */
                for (;;) {
                    size_t l = 2 * j + 1, r = l + 1, w = j;
                    const scored *wv = &x;
                    if (l < nc && cmp_scored(&cand[l], wv) > 0) { w = l; wv = &cand[l]; }
                    if (r < nc && cmp_scored(&cand[r], wv) > 0) { w = r; }
                    if (w == j) break;
                    cand[j] = cand[w];
                    j = w;
                }
                cand[j] = x;
            }
        }
    }
    qsort(cand, nc, sizeof *cand, cmp_scored);
    if (!full && nc < nt && p.max_per_doc > 0) {
        /* enough distinct documents among the kept candidates? */
        int64_t seen_docs[64];
        int nd = 0, enough = 0;
        for (size_t i = 0; i < nc && !enough; i++) {
            int64_t d = c->doc[cand[i].rowid];
            int j = 0;
            while (j < nd && seen_docs[j] != d) j++;
            if (j == nd && nd < 64) seen_docs[nd++] = d;
            enough = nd >= p.k || nd == 64;
        }
        if (!enough && nd < 64) { full = 1; goto again; }
        if (nd == 64 && p.k > 64) { full = 1; goto again; }
    }
    nt = nc;
    out->passages = calloc((size_t)p.k, sizeof *out->passages);
    if (!out->passages) { free(cand); st = EXA_ERR_NOMEM; goto done; }
    int64_t docs_seen[10000];
    int docs_cnt[10000], n_docs = 0;
    for (size_t i = 0; i < nt && out->n < p.k && !st; i++) {
        int64_t cid = cand[i].rowid, did = c->doc[cid];
        if (p.max_per_doc > 0) {
            int j = 0;
            while (j < n_docs && docs_seen[j] != did) j++;
            if (j == n_docs) {
                if (n_docs == 10000) continue;
                docs_seen[n_docs] = did;
                docs_cnt[n_docs++] = 0;
            }
            if (++docs_cnt[j] > p.max_per_doc) continue;
        }
        sqlite3_stmt *ci = idx->st_chunk_info;
        sqlite3_bind_int64(ci, 1, cid);
        if (sqlite3_step(ci) == SQLITE_ROW) {
            exa_passage *ps = &out->passages[out->n++];
            ps->chunk_id = cid;
            ps->doc_id = sqlite3_column_int64(ci, 0);
            ps->page = sqlite3_column_int(ci, 1);
            ps->start = sqlite3_column_int64(ci, 2);
            ps->end = sqlite3_column_int64(ci, 3);
            ps->text = dup_col(ci, 4);
            ps->path = dup_col(ci, 5);
            ps->title = dup_col(ci, 6);
            ps->score = cand[i].score;
            if (!ps->text || !ps->path || !ps->title) st = EXA_ERR_NOMEM;
        }
        sqlite3_reset(ci);
    }
    free(cand);
done:
    for (int i = 0; i < b.n; i++) free(seen[i]);
    free(b.q);
    if (st || out->n == 0) exa_search_result_free(out);  /* nothing to free for the caller when empty */
    return st;
}
