/* train.c — byte-level BPE trainer with Hugging Face BpeTrainer semantics (tokenizers
 * models/bpe/trainer.rs): words counted per line after pre-tokenization, special tokens first,
 * then the alphabet sorted by code point, then merges chosen by (count desc, pair ids asc) from a
 * priority queue whose stale entries are refreshed lazily, each entry carrying the words where
 * its pair was seen. EXAONE-style pre-tokenization (GPT-2 regex, optionally Digits) and added
 * tokens (special + whitespace runs + 4.0 role/think/tool tokens). Writes tokenizer.json and
 * tokenizer_config.json that HF `tokenizers` loads and encodes identically to us. */
#include <json-c/json.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/common.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

exa_bpe_train_params exa_bpe_train_default_params(void) {
    exa_bpe_train_params p;
    memset(&p, 0, sizeof p);
    p.vocab_size = 32000;
    p.min_frequency = 2;
    p.pretok = EXA_PRETOK_GPT2;
    p.added_tokens = 1;
    p.initial_alphabet = 1;
    return p;
}

/* ---- hash maps --------------------------------------------------------------------------- */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
    return x;
}
static uint64_t hash_str(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return mix64(h ^ n);
}

/* word counts: byte string -> index */
typedef struct wmap {
    int32_t *slot; size_t cap;
    uint8_t *arena; size_t used, acap;
    uint64_t *off; uint32_t *len; uint64_t *count; uint64_t *hash; size_t n, ncap;
} wmap;

static int wmap_grow(wmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 1 << 16;
    int32_t *ns = malloc(nc * sizeof *ns);
    if (!ns) return 0;
    memset(ns, 0xff, nc * sizeof *ns);
    for (size_t i = 0; i < m->n; i++) {
        size_t h = m->hash[i] & (nc - 1);
        while (ns[h] >= 0) h = (h + 1) & (nc - 1);
        ns[h] = (int32_t)i;
    }
    free(m->slot);
    m->slot = ns;
    m->cap = nc;
    return 1;
}

static int wmap_add(wmap *m, const uint8_t *s, size_t n, uint64_t c) {
    if ((m->n + 1) * 2 > m->cap && !wmap_grow(m)) return 0;
    uint64_t h = hash_str(s, n);
    size_t i = h & (m->cap - 1);
    while (m->slot[i] >= 0) {
        int32_t w = m->slot[i];
        if (m->hash[w] == h && m->len[w] == n && !memcmp(m->arena + m->off[w], s, n)) { m->count[w] += c; return 1; }
        i = (i + 1) & (m->cap - 1);
    }
    if (m->n == m->ncap) {
        size_t nc = m->ncap ? m->ncap * 2 : 1 << 16;
        uint64_t *a = realloc(m->off, nc * sizeof *a); if (!a) return 0; m->off = a;
        uint32_t *b = realloc(m->len, nc * sizeof *b); if (!b) return 0; m->len = b;
        uint64_t *d = realloc(m->count, nc * sizeof *d); if (!d) return 0; m->count = d;
        uint64_t *e = realloc(m->hash, nc * sizeof *e); if (!e) return 0; m->hash = e;
        m->ncap = nc;
    }
    if (m->used + n > m->acap) {
        size_t nc = m->acap ? m->acap * 2 : 1 << 20;
        while (nc < m->used + n) nc *= 2;
        uint8_t *a = realloc(m->arena, nc);
        if (!a) return 0;
        m->arena = a;
        m->acap = nc;
    }
    memcpy(m->arena + m->used, s, n);
    m->off[m->n] = m->used;
    m->len[m->n] = (uint32_t)n;
    m->count[m->n] = c;
    m->hash[m->n] = h;
    m->used += n;
    m->slot[i] = (int32_t)m->n++;
    return 1;
}

static void wmap_free(wmap *m) {
    free(m->slot); free(m->arena); free(m->off); free(m->len); free(m->count); free(m->hash);
}

/* pair -> int64 count, plus scratch per-pair position lists for where_to_update */
typedef struct pmap {
    uint64_t *key; int64_t *val; size_t cap, n;
} pmap;

static inline uint64_t pkey(int32_t a, int32_t b) { return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1; }

static int pmap_grow(pmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 1 << 16;
    uint64_t *k = calloc(nc, sizeof *k);
    int64_t *v = malloc(nc * sizeof *v);
    if (!k || !v) { free(k); free(v); return 0; }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->key[i]) continue;
        size_t h = mix64(m->key[i]) & (nc - 1);
        while (k[h]) h = (h + 1) & (nc - 1);
        k[h] = m->key[i];
        v[h] = m->val[i];
    }
    free(m->key); free(m->val);
    m->key = k; m->val = v; m->cap = nc;
    return 1;
}

/* returns the value slot (created with 0 when absent), or NULL on OOM */
static int64_t *pmap_at(pmap *m, uint64_t key) {
    if ((m->n + 1) * 2 > m->cap && !pmap_grow(m)) return NULL;
    size_t h = mix64(key) & (m->cap - 1);
    while (m->key[h] && m->key[h] != key) h = (h + 1) & (m->cap - 1);
    if (!m->key[h]) { m->key[h] = key; m->val[h] = 0; m->n++; }
    return &m->val[h];
}

static int64_t pmap_get(const pmap *m, uint64_t key) {
    if (!m->cap) return 0;
    size_t h = mix64(key) & (m->cap - 1);
    while (m->key[h] && m->key[h] != key) h = (h + 1) & (m->cap - 1);
    return m->key[h] ? m->val[h] : 0;
}

/* ---- queue ------------------------------------------------------------------------------- */
typedef struct qent { uint64_t count; uint64_t pair; int32_t *pos; int32_t npos; } qent;

static inline int qbefore(const qent *x, const qent *y) { /* x pops before y */
    if (x->count != y->count) return x->count > y->count;
    return x->pair < y->pair; /* pair ids ascending (a, then b) */
}

typedef struct queue { qent *h; size_t n, cap; } queue;

static int q_push(queue *q, qent e) {
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 1 << 16;
        qent *nh = realloc(q->h, nc * sizeof *nh);
        if (!nh) return 0;
        q->h = nh;
        q->cap = nc;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!qbefore(&e, &q->h[p])) break;
        q->h[i] = q->h[p];
        i = p;
    }
    q->h[i] = e;
    return 1;
}

static qent q_pop(queue *q) {
    qent top = q->h[0], x = q->h[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n) break;
        if (c + 1 < q->n && qbefore(&q->h[c + 1], &q->h[c])) c++;
        if (!qbefore(&q->h[c], &x)) break;
        q->h[i] = q->h[c];
        i = c;
    }
    if (q->n) q->h[i] = x;
    return top;
}

/* where_to_update: pair -> list of word indices (deduplicated: a word's changes are contiguous) */
typedef struct wtu {
    pmap idx;                    /* pair -> index into lists */
    uint64_t *pairs; int32_t **pos; int32_t *npos, *cpos; size_t n, cap;
} wtu;

static int wtu_add(wtu *w, uint64_t pair, int32_t word) {
    int64_t *ix = pmap_at(&w->idx, pair);
    if (!ix) return 0;
    size_t k;
    if (*ix == 0) {
        if (w->n == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 1024;
            uint64_t *a = realloc(w->pairs, nc * sizeof *a); if (!a) return 0; w->pairs = a;
            int32_t **b = realloc(w->pos, nc * sizeof *b); if (!b) return 0; w->pos = b;
            int32_t *c = realloc(w->npos, nc * sizeof *c); if (!c) return 0; w->npos = c;
            int32_t *d = realloc(w->cpos, nc * sizeof *d); if (!d) return 0; w->cpos = d;
            w->cap = nc;
        }
        k = w->n++;
        w->pairs[k] = pair;
        w->pos[k] = NULL;
        w->npos[k] = w->cpos[k] = 0;
        *ix = (int64_t)k + 1;
    } else k = (size_t)*ix - 1;
    if (w->npos[k] && w->pos[k][w->npos[k] - 1] == word) return 1;
    if (w->npos[k] == w->cpos[k]) {
        int32_t nc = w->cpos[k] ? w->cpos[k] * 2 : 4;
        int32_t *np = realloc(w->pos[k], (size_t)nc * sizeof *np);
        if (!np) return 0;
        w->pos[k] = np;
        w->cpos[k] = nc;
    }
    w->pos[k][w->npos[k]++] = word;
    return 1;
}

static void wtu_reset(wtu *w) {
    if (w->idx.cap) memset(w->idx.key, 0, w->idx.cap * sizeof *w->idx.key);
    w->idx.n = 0;
    w->n = 0;
}

/* ---- vocabulary being built: id -> byte-level string ------------------------------------- */
typedef struct vocab { char **s; size_t n, cap; int32_t *map; size_t mcap; } vocab;

static int32_t vocab_find(const vocab *v, const char *s, size_t n) {
    size_t h = hash_str((const uint8_t *)s, n) & (v->mcap - 1);
    while (v->map[h] >= 0) {
        const char *x = v->s[v->map[h]];
        if (strlen(x) == n && !memcmp(x, s, n)) return v->map[h];
        h = (h + 1) & (v->mcap - 1);
    }
    return -1;
}

static int32_t vocab_add(vocab *v, const char *s, size_t n) {
    int32_t f = vocab_find(v, s, n);
    if (f >= 0) return f;
    if (v->n == v->cap) {
        size_t nc = v->cap * 2;
        char **ns = realloc(v->s, nc * sizeof *ns);
        if (!ns) return -1;
        v->s = ns;
        v->cap = nc;
    }
    if ((v->n + 1) * 2 > v->mcap) {
        size_t nc = v->mcap * 2;
        int32_t *nm = malloc(nc * sizeof *nm);
        if (!nm) return -1;
        memset(nm, 0xff, nc * sizeof *nm);
        for (size_t i = 0; i < v->n; i++) {
            size_t h = hash_str((const uint8_t *)v->s[i], strlen(v->s[i])) & (nc - 1);
            while (nm[h] >= 0) h = (h + 1) & (nc - 1);
            nm[h] = (int32_t)i;
        }
        free(v->map);
        v->map = nm;
        v->mcap = nc;
    }
    char *c = malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = 0;
    size_t h = hash_str((const uint8_t *)s, n) & (v->mcap - 1);
    while (v->map[h] >= 0) h = (h + 1) & (v->mcap - 1);
    v->map[h] = (int32_t)v->n;
    v->s[v->n] = c;
    return (int32_t)v->n++;
}

/* ---- EXAONE-style added tokens ----------------------------------------------------------- */
typedef struct tadded { char content[40]; uint8_t special; } tadded;

static int exaone_added(tadded *a) {
    int n = 0;
    const char *sp[] = {"[PAD]", "[BOS]", "[EOS]", "[UNK]"};
    for (int i = 0; i < 4; i++) { snprintf(a[n].content, sizeof a[n].content, "%s", sp[i]); a[n++].special = 1; }
    for (int k = 31; k >= 2; k--) { memset(a[n].content, ' ', (size_t)k); a[n].content[k] = 0; a[n++].special = 0; }
    for (int k = 9; k >= 2; k--) { memset(a[n].content, '\t', (size_t)k); a[n].content[k] = 0; a[n++].special = 0; }
    const char *rest[] = {"<|endoftext|>", "[|endofturn|]", "[|system|]", "[|user|]", "[|assistant|]", "[|tool|]",
                          "<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_result>", "</tool_result>"};
    const uint8_t rest_sp[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++) { snprintf(a[n].content, sizeof a[n].content, "%s", rest[i]); a[n++].special = rest_sp[i]; }
    return n;
}

/* ---- input files (plain or .xz) ---------------------------------------------------------- */
static exa_status read_text(const char *path, char **data, size_t *size, char *err, size_t err_size) {
    size_t n = strlen(path);
    if (n < 3 || strcmp(path + n - 3, ".xz")) return exa_file_read(path, (size_t)16 << 30, data, size, err, err_size);
    char *in;
    size_t in_n;
    exa_status st = exa_file_read(path, (size_t)4 << 30, &in, &in_n, err, err_size);
    if (st) return st;
    lzma_stream zs = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&zs, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
        free(in);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: cannot start the xz decoder", path);
    }
    size_t cap = in_n * 4 + (1 << 20), len = 0;
    char *out = malloc(cap + 1);
    zs.next_in = (const uint8_t *)in;
    zs.avail_in = in_n;
    lzma_ret r = LZMA_OK;
    while (out && r == LZMA_OK) {
        if (len == cap) {
            if (cap > ((size_t)16 << 30)) break;
            char *no = realloc(out, cap * 2 + 1);
            if (!no) { free(out); out = NULL; break; }
            out = no;
            cap *= 2;
        }
        zs.next_out = (uint8_t *)out + len;
        zs.avail_out = cap - len;
        r = lzma_code(&zs, LZMA_FINISH);
        len = cap - zs.avail_out;
    }
    lzma_end(&zs);
    free(in);
    if (!out) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory decompressing", path);
    if (r != LZMA_STREAM_END) {
        free(out);
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: corrupt or truncated .xz file", path);
    }
    out[len] = 0;
    *data = out;
    *size = len;
    return EXA_OK;
}

/* ---- counting words ---------------------------------------------------------------------- */
typedef struct count_ctx { wmap *wm; int oom; } count_ctx;

static void count_piece(void *user, const uint8_t *s, size_t n) {
    count_ctx *c = user;
    if (!wmap_add(c->wm, s, n, 1)) c->oom = 1;
}

/* leftmost-longest split on the added tokens, then pre-tokenize the text in between */
static void count_line(count_ctx *c, const tadded *a, int na, int digits, const uint8_t *s, size_t n) {
    size_t start = 0, i = 0;
    while (i < n && na) {
        size_t best = 0;
        for (int k = 0; k < na; k++) {
            size_t l = strlen(a[k].content);
            if (l > best && l <= n - i && (uint8_t)a[k].content[0] == s[i] && !memcmp(a[k].content, s + i, l)) best = l;
        }
        if (!best) { i++; continue; }
        exa_pretokenize(digits, 1, s + start, i - start, count_piece, c);
        i += best;
        start = i;
    }
    exa_pretokenize(digits, 1, s + start, n - start, count_piece, c);
}

/* ---- merging ----------------------------------------------------------------------------- */
typedef struct word { int32_t *sym; int32_t n; } word;

typedef struct change { uint64_t pair; int32_t delta; int32_t word; } change;
typedef struct changes { change *v; size_t n, cap; } changes;

static int ch_push(changes *c, int32_t a, int32_t b, int32_t d, int32_t w) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4096;
        change *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv) return 0;
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n++] = (change){pkey(a, b), d, w};
    return 1;
}

/* HF Word::merge */
static int word_merge(word *w, int32_t c1, int32_t c2, int32_t rep, int32_t wi, changes *ch) {
    int32_t i = 0;
    while (i < w->n) {
        if (w->sym[i] == c1 && i + 1 < w->n && w->sym[i + 1] == c2) {
            int32_t second = w->sym[i + 1];
            if (i > 0) {
                if (!ch_push(ch, w->sym[i - 1], c1, -1, wi)) return 0;
                if (!ch_push(ch, w->sym[i - 1], rep, 1, wi)) return 0;
            }
            w->sym[i] = rep;
            memmove(w->sym + i + 1, w->sym + i + 2, (size_t)(w->n - i - 2) * sizeof *w->sym);
            w->n--;
            if (i < w->n - 1) {
                if (!ch_push(ch, second, w->sym[i + 1], -1, wi)) return 0;
                if (!ch_push(ch, rep, w->sym[i + 1], 1, wi)) return 0;
            }
        }
        i++;
    }
    return 1;
}

/* ---- output ------------------------------------------------------------------------------ */
static json_object *jbool(int b) { return json_object_new_boolean(b); }

static exa_status write_outputs(const char *dir, const vocab *v, const int32_t (*merges)[2], size_t n_merges,
                                const tadded *a, int na, int digits, char *err, size_t err_size) {
    json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_string("1.0"));
    json_object_object_add(root, "truncation", NULL);
    json_object_object_add(root, "padding", NULL);
    json_object *added = json_object_new_array();
    for (int i = 0; i < na; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int(i));
        json_object_object_add(e, "content", json_object_new_string(a[i].content));
        json_object_object_add(e, "single_word", jbool(0));
        json_object_object_add(e, "lstrip", jbool(0));
        json_object_object_add(e, "rstrip", jbool(0));
        json_object_object_add(e, "normalized", jbool(0));
        json_object_object_add(e, "special", jbool(a[i].special));
        json_object_array_add(added, e);
    }
    json_object_object_add(root, "added_tokens", added);
    json_object_object_add(root, "normalizer", NULL);
    json_object *bl = json_object_new_object();
    json_object_object_add(bl, "type", json_object_new_string("ByteLevel"));
    json_object_object_add(bl, "add_prefix_space", jbool(0));
    json_object_object_add(bl, "trim_offsets", jbool(1));
    json_object_object_add(bl, "use_regex", jbool(1));
    if (digits) {
        json_object *seq = json_object_new_object(), *l = json_object_new_array(), *d = json_object_new_object();
        json_object_object_add(seq, "type", json_object_new_string("Sequence"));
        json_object_object_add(d, "type", json_object_new_string("Digits"));
        json_object_object_add(d, "individual_digits", jbool(1));
        json_object_array_add(l, d);
        json_object_array_add(l, bl);
        json_object_object_add(seq, "pretokenizers", l);
        json_object_object_add(root, "pre_tokenizer", seq);
    } else {
        json_object_object_add(root, "pre_tokenizer", bl);
    }
    json_object *pp = json_object_new_object();
    json_object_object_add(pp, "type", json_object_new_string("ByteLevel"));
    json_object_object_add(pp, "add_prefix_space", jbool(1));
    json_object_object_add(pp, "trim_offsets", jbool(0));
    json_object_object_add(pp, "use_regex", jbool(1));
    json_object_object_add(root, "post_processor", pp);
    json_object *dec = json_object_new_object();
    json_object_object_add(dec, "type", json_object_new_string("ByteLevel"));
    json_object_object_add(dec, "add_prefix_space", jbool(1));
    json_object_object_add(dec, "trim_offsets", jbool(1));
    json_object_object_add(dec, "use_regex", jbool(1));
    json_object_object_add(root, "decoder", dec);
    json_object *model = json_object_new_object();
    json_object_object_add(model, "type", json_object_new_string("BPE"));
    json_object_object_add(model, "dropout", NULL);
    json_object_object_add(model, "unk_token", NULL);
    json_object_object_add(model, "continuing_subword_prefix", NULL);
    json_object_object_add(model, "end_of_word_suffix", NULL);
    json_object_object_add(model, "fuse_unk", jbool(0));
    json_object_object_add(model, "byte_fallback", jbool(0));
    json_object_object_add(model, "ignore_merges", jbool(0));
    json_object *vo = json_object_new_object();
    for (size_t i = 0; i < v->n; i++) json_object_object_add(vo, v->s[i], json_object_new_int((int)i));
    json_object_object_add(model, "vocab", vo);
    json_object *mo = json_object_new_array_ext((int)n_merges);
    char *buf = NULL;
    size_t bcap = 0;
    for (size_t i = 0; i < n_merges; i++) {
        const char *x = v->s[merges[i][0]], *y = v->s[merges[i][1]];
        size_t need = strlen(x) + strlen(y) + 2;
        if (need > bcap) { bcap = need * 2; buf = realloc(buf, bcap); }
        snprintf(buf, bcap, "%s %s", x, y);
        json_object_array_add(mo, json_object_new_string(buf));
    }
    free(buf);
    json_object_object_add(model, "merges", mo);
    json_object_object_add(root, "model", model);
    char path[4200];
    exa_path_join(path, sizeof path, dir, "tokenizer.json");
    int rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(root);
    if (rc) return exa_err(err, err_size, EXA_ERR_IO, "%s: cannot write", path);
    /* tokenizer_config.json: transformers-style, bos/eos/pad/unk and the added tokens' flags */
    json_object *cfg = json_object_new_object();
    json_object_object_add(cfg, "add_bos_token", jbool(0));
    json_object_object_add(cfg, "add_prefix_space", jbool(0));
    json_object *atd = json_object_new_object();
    for (int i = 0; i < na; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "content", json_object_new_string(a[i].content));
        json_object_object_add(e, "lstrip", jbool(0));
        json_object_object_add(e, "normalized", jbool(0));
        json_object_object_add(e, "rstrip", jbool(0));
        json_object_object_add(e, "single_word", jbool(0));
        json_object_object_add(e, "special", jbool(a[i].special));
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        json_object_object_add(atd, key, e);
    }
    json_object_object_add(cfg, "added_tokens_decoder", atd);
    if (na) {
        json_object_object_add(cfg, "bos_token", json_object_new_string("[BOS]"));
        json_object_object_add(cfg, "eos_token", json_object_new_string("[|endofturn|]"));
        json_object_object_add(cfg, "pad_token", json_object_new_string("[PAD]"));
        json_object_object_add(cfg, "unk_token", json_object_new_string("[UNK]"));
    }
    json_object_object_add(cfg, "clean_up_tokenization_spaces", jbool(0));
    json_object_object_add(cfg, "model_max_length", json_object_new_int64(1000000000));
    json_object_object_add(cfg, "tokenizer_class", json_object_new_string("PreTrainedTokenizerFast"));
    exa_path_join(path, sizeof path, dir, "tokenizer_config.json");
    rc = json_object_to_file_ext(path, cfg, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(cfg);
    if (rc) return exa_err(err, err_size, EXA_ERR_IO, "%s: cannot write", path);
    return EXA_OK;
}

/* ---- training ---------------------------------------------------------------------------- */
#define OOM() do { st = exa_err(err, err_size, EXA_ERR_NOMEM, "tokenizer-train: out of memory"); goto done; } while (0)

exa_status exa_bpe_train(const char *const *files, int n_files, const exa_bpe_train_params *params,
                         const char *out_dir, char *err, size_t err_size) {
    exa_bpe_train_params p = params ? *params : exa_bpe_train_default_params();
    exa_uclass_init();
    exa_status st = EXA_OK;
    tadded added[64];
    int na = p.added_tokens ? exaone_added(added) : 0;
    int digits = p.pretok == EXA_PRETOK_DIGITS_GPT2;
    wmap wm;
    memset(&wm, 0, sizeof wm);
    vocab v;
    memset(&v, 0, sizeof v);
    word *words = NULL;
    pmap pc;
    memset(&pc, 0, sizeof pc);
    wtu wt;
    memset(&wt, 0, sizeof wt);
    queue q;
    memset(&q, 0, sizeof q);
    changes ch;
    memset(&ch, 0, sizeof ch);
    int32_t (*merges)[2] = NULL;
    size_t n_merges = 0, cap_merges = 0;
    if (p.vocab_size < na + 1 || p.vocab_size > (1 << 24))
        return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "tokenizer-train: vocab size %d out of range", p.vocab_size);
    struct stat sd;
    if (stat(out_dir, &sd) != 0 || !S_ISDIR(sd.st_mode))
        return exa_err(err, err_size, EXA_ERR_IO, "%s: not a folder", out_dir);
    /* 1. count words, line by line (line endings kept, like HF's LinesWithEnding) */
    count_ctx cc = {&wm, 0};
    uint64_t total_bytes = 0;
    for (int f = 0; f < n_files; f++) {
        char *data;
        size_t n;
        st = read_text(files[f], &data, &n, err, err_size);
        if (st) goto done;
        uint8_t *clean = NULL;
        const uint8_t *s = (const uint8_t *)data;
        if (exa_tok_utf8_valid_prefix(s, n) != n) {
            clean = exa_malloc(n * 3 + 1);
            if (!clean) { free(data); OOM(); }
            n = exa_tok_utf8_sanitize(s, n, clean);
            s = clean;
        }
        size_t i = 0;
        while (i < n) {
            const uint8_t *nl = memchr(s + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - s) + 1 : n;
            count_line(&cc, added, na, digits, s + i, e - i);
            i = e;
            if (p.progress && (i & ~(size_t)0xFFFFF) != ((i - (e - i)) & ~(size_t)0xFFFFF))
                if (!p.progress(0.1f * (float)(f + (double)i / (double)(n ? n : 1)) / (float)n_files, p.progress_user)) {
                    free(data); free(clean);
                    st = exa_err(err, err_size, EXA_ERR_ABORTED, "tokenizer-train: aborted");
                    goto done;
                }
        }
        total_bytes += n;
        free(data);
        free(clean);
        if (cc.oom) OOM();
    }
    /* 2. vocabulary: special/added tokens, then the alphabet sorted by code point */
    v.cap = 1024;
    v.s = malloc(v.cap * sizeof *v.s);
    v.mcap = 1 << 12;
    v.map = malloc(v.mcap * sizeof *v.map);
    if (!v.s || !v.map) OOM();
    memset(v.map, 0xff, v.mcap * sizeof *v.map);
    for (int i = 0; i < na; i++)
        if (vocab_add(&v, added[i].content, strlen(added[i].content)) < 0) OOM();
    {
        uint8_t seen[256] = {0};
        for (size_t w = 0; w < wm.n; w++)
            for (uint32_t k = 0; k < wm.len[w]; k++) seen[wm.arena[wm.off[w] + k]] = 1;
        /* byte-level chars in code point order */
        int order[256], no = 0;
        for (uint32_t cp = 0; cp < 324; cp++) {
            int b = exa_unicode_to_byte(cp);
            if (b >= 0 && (seen[b] || p.initial_alphabet)) order[no++] = b;
        }
        for (int k = 0; k < no; k++) {
            uint8_t u[4];
            size_t l = exa_tok_utf8_put(exa_byte_to_unicode[order[k]], u);
            if (vocab_add(&v, (const char *)u, l) < 0) OOM();
        }
    }
    int32_t byte_id[256];
    for (int b = 0; b < 256; b++) {
        uint8_t u[4];
        size_t l = exa_tok_utf8_put(exa_byte_to_unicode[b], u);
        byte_id[b] = vocab_find(&v, (const char *)u, l);
    }
    /* 3. words as symbol ids */
    words = calloc(wm.n + 1, sizeof *words);
    if (!words) OOM();
    for (size_t w = 0; w < wm.n; w++) {
        words[w].sym = malloc((wm.len[w] + 1) * sizeof(int32_t));
        if (!words[w].sym) OOM();
        for (uint32_t k = 0; k < wm.len[w]; k++) {
            int32_t id = byte_id[wm.arena[wm.off[w] + k]];
            if (id >= 0) words[w].sym[words[w].n++] = id;
        }
    }
    /* 4. pair counts and initial queue */
    for (size_t w = 0; w < wm.n; w++) {
        for (int32_t k = 0; k + 1 < words[w].n; k++) {
            uint64_t key = pkey(words[w].sym[k], words[w].sym[k + 1]);
            int64_t *c = pmap_at(&pc, key);
            if (!c) OOM();
            *c += (int64_t)wm.count[w];
            if (!wtu_add(&wt, key, (int32_t)w)) OOM();
        }
    }
    for (size_t k = 0; k < wt.n; k++) {
        int64_t c = pmap_get(&pc, wt.pairs[k]);
        if (c > 0) {
            if (!q_push(&q, (qent){(uint64_t)c, wt.pairs[k], wt.pos[k], wt.npos[k]})) OOM();
        } else free(wt.pos[k]);
        wt.pos[k] = NULL;
    }
    wtu_reset(&wt);
    /* 5. merges */
    while (v.n < (size_t)p.vocab_size && q.n) {
        qent top = q_pop(&q);
        int64_t cur = pmap_get(&pc, top.pair);
        if ((int64_t)top.count != cur) {
            top.count = (uint64_t)cur;
            if (!q_push(&q, top)) OOM();
            continue;
        }
        if (top.count < 1 || (uint64_t)p.min_frequency > top.count) { free(top.pos); break; }
        int32_t a = (int32_t)((top.pair - 1) >> 32), b = (int32_t)((top.pair - 1) & 0xffffffffu);
        size_t la = strlen(v.s[a]), lb = strlen(v.s[b]);
        char *nt = malloc(la + lb + 1);
        if (!nt) OOM();
        memcpy(nt, v.s[a], la);
        memcpy(nt + la, v.s[b], lb);
        int32_t nid = vocab_add(&v, nt, la + lb);
        free(nt);
        if (nid < 0) OOM();
        if (n_merges == cap_merges) {
            cap_merges = cap_merges ? cap_merges * 2 : 4096;
            int32_t (*nm)[2] = realloc(merges, cap_merges * sizeof *nm);
            if (!nm) OOM();
            merges = nm;
        }
        merges[n_merges][0] = a;
        merges[n_merges][1] = b;
        n_merges++;
        ch.n = 0;
        for (int32_t k = 0; k < top.npos; k++)
            if (!word_merge(&words[top.pos[k]], a, b, nid, top.pos[k], &ch)) OOM();
        free(top.pos);
        for (size_t k = 0; k < ch.n; k++) {
            int64_t *c = pmap_at(&pc, ch.v[k].pair);
            if (!c) OOM();
            *c += (int64_t)ch.v[k].delta * (int64_t)wm.count[ch.v[k].word];
            if (ch.v[k].delta > 0 && !wtu_add(&wt, ch.v[k].pair, ch.v[k].word)) OOM();
        }
        for (size_t k = 0; k < wt.n; k++) {
            int64_t c = pmap_get(&pc, wt.pairs[k]);
            if (c > 0) {
                if (!q_push(&q, (qent){(uint64_t)c, wt.pairs[k], wt.pos[k], wt.npos[k]})) OOM();
            } else free(wt.pos[k]);
            wt.pos[k] = NULL;
        }
        wtu_reset(&wt);
        if (p.progress && (n_merges % 256 == 0))
            if (!p.progress(0.1f + 0.9f * (float)v.n / (float)p.vocab_size, p.progress_user)) {
                st = exa_err(err, err_size, EXA_ERR_ABORTED, "tokenizer-train: aborted");
                goto done;
            }
    }
    if (p.progress) p.progress(1.0f, p.progress_user);
    (void)total_bytes;
    st = write_outputs(out_dir, &v, (const int32_t(*)[2])merges, n_merges, added, na, digits, err, err_size);
done:
    for (size_t i = 0; i < q.n; i++) free(q.h[i].pos);
    free(q.h);
    for (size_t i = 0; i < wt.n; i++) free(wt.pos[i]);
    free(wt.pairs); free(wt.pos); free(wt.npos); free(wt.cpos); free(wt.idx.key); free(wt.idx.val);
    free(pc.key); free(pc.val);
    if (words) for (size_t w = 0; w < wm.n; w++) free(words[w].sym);
    free(words);
    for (size_t i = 0; i < v.n; i++) free(v.s[i]);
    free(v.s); free(v.map);
    free(ch.v);
    free(merges);
    wmap_free(&wm);
    return st;
}
