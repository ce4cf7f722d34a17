/* tokenizer.c — EXAONE's byte-level BPE tokenizer, exact to Hugging Face `tokenizers`
 * (REF: spec §7): building the tables (vocabulary, merges, added-token tries), encoding
 * (added-token split, leftmost-longest like HF's Aho-Corasick; pre-tokenization in pretok.c;
 * BPE in HF's merge order with a word cache), decoding (ByteLevel decoder, then lossy UTF-8 like
 * Rust's String::from_utf8_lossy) and the public accessors. File loaders: tokenizer_load.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

/* ---- hashing ----------------------------------------------------------------------------- */
static inline uint64_t hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static inline uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* ---- growable id vector ------------------------------------------------------------------ */
typedef struct ivec { int32_t *v; size_t n, cap; int oom; } ivec;

static int ivec_reserve(ivec *a, size_t extra) {
    if (a->n + extra <= a->cap) return 1;
    size_t c = a->cap ? a->cap : 64;
    while (c < a->n + extra) c *= 2;
    int32_t *nv = realloc(a->v, c * sizeof *nv);
    if (!nv) { a->oom = 1; return 0; }
    a->v = nv;
    a->cap = c;
    return 1;
}

static inline void ivec_push(ivec *a, int32_t x) {
    if (a->n == a->cap && !ivec_reserve(a, 1)) return;
    a->v[a->n++] = x;
}

/* ---- lookups ----------------------------------------------------------------------------- */
static int32_t vocab_find(const exa_tokenizer *t, const char *s, size_t n) {
    size_t mask = t->vmap_cap - 1, h = hash_bytes((const uint8_t *)s, n) & mask;
    for (;;) {
        int32_t id = t->vmap[h];
        if (id < 0) return -1;
        size_t l = t->mtext_off[id + 1] - t->mtext_off[id];
        if (l == n && !memcmp(t->mtext + t->mtext_off[id], s, n)) return id;
        h = (h + 1) & mask;
    }
}

static inline int merge_find(const exa_tokenizer *t, int32_t a, int32_t b, uint32_t *rank, int32_t *nw) {
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t mask = t->mcap - 1, h = hash_u64(key) & mask;
    for (;;) {
        const exa_merge_slot *m = &t->merges[h];
        if (m->key == key) { *rank = m->rank; *nw = m->nw; return 1; }
        if (!m->key) return 0;
        h = (h + 1) & mask;
    }
}

/* ---- trie of added tokens ---------------------------------------------------------------- */
static void trie_free(exa_trie *tr) {
    free(tr->term); free(tr->ekey); free(tr->echild);
    memset(tr, 0, sizeof *tr);
}

static int32_t trie_child(const exa_trie *tr, int32_t node, uint8_t b) {
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    size_t mask = tr->ecap - 1, h = hash_u64(key) & mask;
    for (;;) {
        if (tr->ekey[h] == key) return tr->echild[h];
        if (!tr->ekey[h]) return -1;
        h = (h + 1) & mask;
    }
}

static int trie_build(exa_trie *tr, const exa_tokenizer *t, int normalized) {
    memset(tr, 0, sizeof *tr);
    size_t total = 1;
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].normalized == normalized) total += t->added[i].len;
    tr->cap_nodes = (int)total;
    tr->term = malloc(total * sizeof *tr->term);
    tr->ecap = pow2_at_least(total * 2);
    tr->ekey = calloc(tr->ecap, sizeof *tr->ekey);
    tr->echild = malloc(tr->ecap * sizeof *tr->echild);
    if (!tr->term || !tr->ekey || !tr->echild) return 0;
    tr->term[0] = -1;
    tr->n_nodes = 1;
    for (int i = 0; i < t->n_added; i++) {
        const exa_added_token *a = &t->added[i];
        if (a->normalized != normalized || !a->len) continue;
        const uint8_t *s = (const uint8_t *)t->added_text + a->off;
        int32_t node = 0;
        for (uint32_t k = 0; k < a->len; k++) {
            int32_t c = trie_child(tr, node, s[k]);
            if (c < 0) {
                c = tr->n_nodes++;
                tr->term[c] = -1;
                uint64_t key = (((uint64_t)node << 8) | s[k]) + 1;
                size_t mask = tr->ecap - 1, h = hash_u64(key) & mask;
                while (tr->ekey[h]) h = (h + 1) & mask;
                tr->ekey[h] = key;
                tr->echild[h] = c;
            }
            node = c;
        }
        if (tr->term[node] < 0) tr->term[node] = i; /* first of duplicate contents wins */
        tr->first[s[0]] = 1;
        tr->n_patterns++;
    }
    return 1;
}

/* leftmost-longest match starting exactly at s[0]; returns its length (0: none), *which = index */
static inline size_t trie_match_at(const exa_trie *tr, const uint8_t *s, size_t n, int *which) {
    int32_t node = 0;
    size_t best = 0;
    for (size_t k = 0; k < n; k++) {
        node = trie_child(tr, node, s[k]);
        if (node < 0) break;
        if (tr->term[node] >= 0) { best = k + 1; *which = tr->term[node]; }
    }
    return best;
}

/* ---- BPE --------------------------------------------------------------------------------- */
typedef struct enc_state {
    const exa_tokenizer *t;
    ivec *out;
    exa_word_cache *cache;     /* NULL: no cache this call */
    int32_t *sym; uint32_t *rk; int32_t *nw; size_t scap;   /* small-word merge scratch */
    uint8_t *tmp; size_t tmpcap;
} enc_state;

/* HF Word::merge_all: repeatedly merge the adjacent pair with the lowest (rank, position). For
 * short words a linear scan; for long ones a binary heap over a linked list (same order). */
typedef struct hnode { uint32_t rank; int32_t pos; int32_t nw; } hnode;

static inline int hless(const hnode *a, const hnode *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(hnode *h, size_t *n, hnode x) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&x, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static hnode heap_pop(hnode *h, size_t *n) {
    hnode top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && hless(&h[c + 1], &h[c])) c++;
        if (!hless(&h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = x;
    return top;
}

static size_t merge_long(const exa_tokenizer *t, int32_t *sym, size_t m) {
    int32_t *prev = malloc(m * sizeof *prev), *next = malloc(m * sizeof *next);
    uint8_t *dead = calloc(m, 1);
    hnode *heap = malloc((3 * m + 1) * sizeof *heap); /* <= m-1 initial + 2 per merge */
    if (!prev || !next || !dead || !heap) { free(prev); free(next); free(dead); free(heap); return m; }
    size_t hn = 0;
    for (size_t i = 0; i < m; i++) { prev[i] = (int32_t)i - 1; next[i] = i + 1 < m ? (int32_t)i + 1 : -1; }
    for (size_t i = 0; i + 1 < m; i++) {
        uint32_t r; int32_t nw;
        if (merge_find(t, sym[i], sym[i + 1], &r, &nw)) heap_push(heap, &hn, (hnode){r, (int32_t)i, nw});
    }
    while (hn) {
        hnode top = heap_pop(heap, &hn);
        int32_t p = top.pos;
        if (dead[p] || next[p] < 0) continue;
        int32_t q = next[p];
        uint32_t r; int32_t nw;
        if (!merge_find(t, sym[p], sym[q], &r, &nw) || nw != top.nw) continue;
        sym[p] = nw;
        dead[q] = 1;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        if (prev[p] >= 0 && merge_find(t, sym[prev[p]], sym[p], &r, &nw))
            heap_push(heap, &hn, (hnode){r, prev[p], nw});
        if (next[p] >= 0 && merge_find(t, sym[p], sym[next[p]], &r, &nw))
            heap_push(heap, &hn, (hnode){r, p, nw});
    }
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (!dead[i]) sym[k++] = sym[i];
    free(prev); free(next); free(dead); free(heap);
    return k;
}

static size_t merge_short(const exa_tokenizer *t, int32_t *sym, uint32_t *rk, int32_t *nw, size_t m) {
    for (size_t i = 0; i + 1 < m; i++)
        if (!merge_find(t, sym[i], sym[i + 1], &rk[i], &nw[i])) rk[i] = UINT32_MAX;
    while (m > 1) {
        size_t best = 0;
        uint32_t br = rk[0];
        for (size_t i = 1; i + 1 < m; i++)
            if (rk[i] < br) { br = rk[i]; best = i; }
        if (br == UINT32_MAX) break;
        sym[best] = nw[best];
        memmove(sym + best + 1, sym + best + 2, (m - best - 2) * sizeof *sym);
        memmove(rk + best, rk + best + 1, (m - best - 2) * sizeof *rk);
        memmove(nw + best, nw + best + 1, (m - best - 2) * sizeof *nw);
        m--;
        if (best > 0 && !merge_find(t, sym[best - 1], sym[best], &rk[best - 1], &nw[best - 1]))
            rk[best - 1] = UINT32_MAX;
        if (best + 1 < m && !merge_find(t, sym[best], sym[best + 1], &rk[best], &nw[best]))
            rk[best] = UINT32_MAX;
    }
    return m;
}

#define CACHE_MAX_WORD 64
#define SHORT_WORD 96

static int cache_get(exa_word_cache *c, const uint8_t *s, size_t n, uint64_t h, ivec *out) {
    size_t mask = c->cap - 1, i = h & mask;
    uint64_t hv = h | 1;
    for (;;) {
        const exa_cache_slot *e = &c->slot[i];
        if (!e->hash) return 0;
        if (e->hash == hv && e->klen == n && !memcmp(c->karena + e->koff, s, n)) {
            if (!ivec_reserve(out, e->nids)) return 1;
            memcpy(out->v + out->n, c->varena + e->voff, e->nids * sizeof(int32_t));
            out->n += e->nids;
            return 1;
        }
        i = (i + 1) & mask;
    }
}

static void cache_clear(exa_word_cache *c) {
    if (c->slot) memset(c->slot, 0, c->cap * sizeof *c->slot);
    c->count = c->kused = c->vused = 0;
}

static void cache_put(exa_word_cache *c, const uint8_t *s, size_t n, uint64_t h, const int32_t *ids, size_t k) {
    if (c->count * 2 >= c->cap || c->kused + n > c->kcap || c->vused + k > c->vcap) cache_clear(c);
    size_t mask = c->cap - 1, i = h & mask;
    while (c->slot[i].hash) i = (i + 1) & mask;
    exa_cache_slot *e = &c->slot[i];
    e->hash = h | 1;
    e->koff = (uint32_t)c->kused;
    e->klen = (uint16_t)n;
    e->voff = (uint32_t)c->vused;
    e->nids = (uint16_t)k;
    memcpy(c->karena + c->kused, s, n);
    memcpy(c->varena + c->vused, ids, k * sizeof *ids);
    c->kused += n;
    c->vused += k;
    c->count++;
}

/* BPE of one pre-tokenized piece (raw bytes; the byte-level mapping is implicit in byte_id) */
static void bpe_piece(void *user, const uint8_t *s, size_t n) {
    enc_state *st = user;
    const exa_tokenizer *t = st->t;
    ivec *out = st->out;
    if (n == 1 && t->byte_id[s[0]] >= 0 && !t->ignore_merges) { ivec_push(out, t->byte_id[s[0]]); return; }
    uint64_t h = 0;
    int cacheable = st->cache && n <= CACHE_MAX_WORD;
    if (cacheable) {
        h = hash_bytes(s, n);
        if (cache_get(st->cache, s, n, h, out)) return;
    }
    if (t->ignore_merges) {
        /* whole word in the vocabulary: take it as is (HF BPE ignore_merges) */
        size_t need = n * 2;
        if (need > st->tmpcap) {
            uint8_t *nt = realloc(st->tmp, need);
            if (!nt) { out->oom = 1; return; }
            st->tmp = nt;
            st->tmpcap = need;
        }
        size_t o = 0;
        for (size_t i = 0; i < n; i++) o += exa_tok_utf8_put(exa_byte_to_unicode[s[i]], st->tmp + o);
        int32_t id = vocab_find(t, (const char *)st->tmp, o);
        if (id >= 0) { ivec_push(out, id); return; }
    }
    if (n > st->scap) {
        size_t c = n < 256 ? 256 : n;
        int32_t *a = realloc(st->sym, c * sizeof *a);
        if (a) st->sym = a;
        uint32_t *b = realloc(st->rk, c * sizeof *b);
        if (b) st->rk = b;
        int32_t *d = realloc(st->nw, c * sizeof *d);
        if (d) st->nw = d;
        if (!a || !b || !d) { out->oom = 1; return; }
        st->scap = c;
    }
    size_t m = 0;
    int32_t *sym = st->sym;
    int pending_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[s[i]];
        if (id >= 0) {
            sym[m++] = id;
            pending_unk = 0;
        } else if (t->unk_id >= 0) {
            if (!(t->fuse_unk && pending_unk)) sym[m++] = t->unk_id;
            pending_unk = 1;
        }
    }
    if (m > SHORT_WORD) m = merge_long(t, sym, m);
    else m = merge_short(t, sym, st->rk, st->nw, m);
    if (!ivec_reserve(out, m)) return;
    memcpy(out->v + out->n, sym, m * sizeof *sym);
    out->n += m;
    if (cacheable) cache_put(st->cache, s, n, h, sym, m);
}

/* pre-tokenize one text segment (no added tokens inside) and BPE its pieces */
static void encode_segment(enc_state *st, const uint8_t *s, size_t n) {
    const exa_tokenizer *t = st->t;
    if (!n) return;
    if (t->bl_prefix_space) {
        /* ByteLevel(add_prefix_space): each piece reaching ByteLevel gets a leading space. With
         * Digits in front that is every Digits piece; we support the plain case (no Digits). */
        if (s[0] != ' ') {
            uint8_t *b = malloc(n + 1);
            if (!b) { st->out->oom = 1; return; }
            b[0] = ' ';
            memcpy(b + 1, s, n);
            exa_pretokenize(t->digits, t->bl_regex, b, n + 1, bpe_piece, st);
            free(b);
            return;
        }
    }
    exa_pretokenize(t->digits, t->bl_regex, s, n, bpe_piece, st);
}

static inline int is_ws_cp(uint32_t cp) { return (exa_uclass(cp) & EXA_U_S) != 0; }
static inline int is_word_cp(uint32_t cp) {
    return cp == '_' || (exa_uclass(cp) & (EXA_U_L | EXA_U_N)) != 0;
}

/* last code point of s[0..n) (valid UTF-8) */
static uint32_t last_cp(const uint8_t *s, size_t n, size_t *start) {
    size_t i = n - 1;
    while (i > 0 && (s[i] & 0xC0) == 0x80) i--;
    uint32_t cp = 0;
    size_t bad;
    exa_tok_utf8_next(s + i, n - i, &cp, &bad);
    *start = i;
    return cp;
}

typedef void (*seg_fn)(enc_state *st, const uint8_t *s, size_t n);

/* HF AddedVocabulary::find_matches over one string: emits text segments through fn, ids to out */
static void split_added(enc_state *st, const exa_trie *tr, const uint8_t *s, size_t n, seg_fn fn) {
    const exa_tokenizer *t = st->t;
    if (!tr->n_patterns) { fn(st, s, n); return; }
    size_t start_offset = 0, i = 0;
    while (i < n) {
        if (!tr->first[s[i]]) { i++; continue; }
        int which = -1;
        size_t ml = trie_match_at(tr, s + i, n - i, &which);
        if (!ml) { i++; continue; }
        const exa_added_token *a = &t->added[which];
        size_t start = i, stop = i + ml;
        i = stop; /* the matcher continues after the match, whatever happens to it */
        if (a->single_word) {
            size_t ps;
            int start_space = start == 0 || !is_word_cp(last_cp(s, start, &ps));
            int stop_space = 1;
            if (stop < n) {
                uint32_t cp = 0;
                size_t bad;
                exa_tok_utf8_next(s + stop, n - stop, &cp, &bad);
                stop_space = !is_word_cp(cp);
            }
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t ps;
                uint32_t cp = last_cp(s, ns, &ps);
                if (!is_ws_cp(cp)) break;
                ns = ps;
            }
            start = ns > start_offset ? ns : start_offset;
        }
        if (a->rstrip) {
            while (stop < n) {
                uint32_t cp = 0;
                size_t bad;
                size_t l = exa_tok_utf8_next(s + stop, n - stop, &cp, &bad);
                if (!l || !is_ws_cp(cp)) break;
                stop += l;
            }
        }
        if (start_offset < start) fn(st, s + start_offset, start - start_offset);
        ivec_push(st->out, a->id);
        start_offset = stop;
    }
    if (start_offset < n) fn(st, s + start_offset, n - start_offset);
}

static void seg_normalized(enc_state *st, const uint8_t *s, size_t n) {
    split_added(st, &st->t->trie_norm, s, n, encode_segment);
}

exa_status exa_tokenizer_encode_vec(const exa_tokenizer *t, const char *text, size_t len, int add_special,
                                    int32_t **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!t || (!text && len)) return EXA_ERR_INVALID_ARG;
    ivec out = {0};
    ivec_reserve(&out, len / 3 + 16);
    const uint8_t *s = (const uint8_t *)text;
    uint8_t *clean = NULL;
    size_t v = exa_tok_utf8_valid_prefix(s, len);
    if (v != len) {
        size_t cap;
        if (!exa_mul_ok(len, 3, &cap) || !(clean = exa_malloc(cap + 1))) { free(out.v); return EXA_ERR_NOMEM; }
        len = exa_tok_utf8_sanitize(s, len, clean);
        s = clean;
    }
    enc_state st = {.t = t, .out = &out};
    exa_word_cache *cache = (exa_word_cache *)&t->cache;
    int locked = cache->slot && pthread_mutex_trylock(&cache->lock) == 0;
    if (locked) st.cache = cache;
    if (add_special)
        for (int i = 0; i < t->n_post_prefix; i++) ivec_push(&out, t->post_prefix[i]);
    split_added(&st, &t->trie_raw, s, len, t->trie_norm.n_patterns ? seg_normalized : encode_segment);
    if (add_special)
        for (int i = 0; i < t->n_post_suffix; i++) ivec_push(&out, t->post_suffix[i]);
    if (locked) pthread_mutex_unlock(&cache->lock);
    free(st.sym); free(st.rk); free(st.nw); free(st.tmp);
    free(clean);
    if (out.oom) { free(out.v); return EXA_ERR_NOMEM; }
    *ids = out.v;
    *n_ids = out.n;
    return EXA_OK;
}

exa_status exa_tokenizer_encode_alloc(const exa_tokenizer *t, const char *text, size_t len, int add_special,
                                      int32_t **out, size_t *n_out) {
    return exa_tokenizer_encode_vec(t, text, len, add_special, out, n_out);
}

exa_status exa_tokenizer_encode(const exa_tokenizer *t, const char *text, size_t len, int add_special,
                                int32_t *out, size_t cap, size_t *n_out) {
    int32_t *ids;
    size_t n;
    exa_status st = exa_tokenizer_encode_vec(t, text, len, add_special, &ids, &n);
    if (st != EXA_OK) { if (n_out) *n_out = 0; return st; }
    if (n_out) *n_out = n;
    if (out) memcpy(out, ids, (n < cap ? n : cap) * sizeof *ids);
    free(ids);
    return n <= cap ? EXA_OK : EXA_ERR_FULL;
}

/* ---- decoding ---------------------------------------------------------------------------- */
const char *exa_tokenizer_token_bytes(const exa_tokenizer *t, int32_t id, size_t *len) {
    if (!t || id < 0 || id >= t->n_vocab || !(t->flags[id] & EXA_TOKF_PRESENT)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->bytes_off[id + 1] - t->bytes_off[id];
    return (const char *)t->bytes + t->bytes_off[id];
}

/* appends the lossy UTF-8 form of b[0..n) (maximal subparts -> U+FFFD) */
static size_t lossy_len(const uint8_t *b, size_t n, uint8_t *out) {
    return exa_tok_utf8_sanitize(b, n, out);
}

exa_status exa_tokenizer_decode_alloc(const exa_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                                      char **out, size_t *n_out) {
    *out = NULL;
    if (n_out) *n_out = 0;
    if (!t || (!ids && n)) return EXA_ERR_INVALID_ARG;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab || !(t->flags[id] & EXA_TOKF_PRESENT)) continue;
        if (skip_special && (t->flags[id] & EXA_TOKF_SPECIAL)) continue;
        total += t->bytes_off[id + 1] - t->bytes_off[id];
    }
    uint8_t *raw = exa_malloc(total + 1);
    size_t cap3;
    if (!raw || !exa_mul_ok(total, 3, &cap3)) { free(raw); return EXA_ERR_NOMEM; }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab || !(t->flags[id] & EXA_TOKF_PRESENT)) continue;
        if (skip_special && (t->flags[id] & EXA_TOKF_SPECIAL)) continue;
        size_t l = t->bytes_off[id + 1] - t->bytes_off[id];
        memcpy(raw + o, t->bytes + t->bytes_off[id], l);
        o += l;
    }
    if (exa_tok_utf8_valid_prefix(raw, o) == o) {
        raw[o] = 0;
        *out = (char *)raw;
        if (n_out) *n_out = o;
        return EXA_OK;
    }
    uint8_t *s = exa_malloc(cap3 + 1);
    if (!s) { free(raw); return EXA_ERR_NOMEM; }
    size_t m = lossy_len(raw, o, s);
    s[m] = 0;
    free(raw);
    *out = (char *)s;
    if (n_out) *n_out = m;
    return EXA_OK;
}

exa_status exa_tokenizer_decode(const exa_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char *out,
                                size_t cap, size_t *n_out) {
    char *s;
    size_t m;
    exa_status st = exa_tokenizer_decode_alloc(t, ids, n, skip_special, &s, &m);
    if (st != EXA_OK) return st;
    if (n_out) *n_out = m;
    if (out && cap) {
        size_t k = m < cap ? m : cap - 1;
        memcpy(out, s, k);
        out[k] = 0;
    }
    free(s);
    return m < cap ? EXA_OK : EXA_ERR_FULL;
}

/* ---- accessors --------------------------------------------------------------------------- */
int exa_tokenizer_n_vocab(const exa_tokenizer *t) { return t ? t->n_vocab : 0; }

const char *exa_tokenizer_token_text(const exa_tokenizer *t, int32_t id) {
    if (!t || id < 0 || id >= t->n_vocab || !(t->flags[id] & EXA_TOKF_PRESENT)) return NULL;
    return t->text + t->text_off[id];
}

int32_t exa_tokenizer_token_id(const exa_tokenizer *t, const char *s) {
    if (!t || !s) return -1;
    size_t n = strlen(s);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added_text + t->added[i].off, s, n)) return t->added[i].id;
    return vocab_find(t, s, n);
}

int exa_tokenizer_is_special(const exa_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab && (t->flags[id] & EXA_TOKF_SPECIAL);
}
int exa_tokenizer_is_added(const exa_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab && (t->flags[id] & EXA_TOKF_ADDED);
}
int32_t exa_tokenizer_eos(const exa_tokenizer *t) { return t ? t->eos_id : -1; }
int32_t exa_tokenizer_bos(const exa_tokenizer *t) { return t ? t->bos_id : -1; }
int32_t exa_tokenizer_pad(const exa_tokenizer *t) { return t ? t->pad_id : -1; }
exa_pretok exa_tokenizer_pretok(const exa_tokenizer *t) {
    return t ? (exa_pretok)t->pretok_kind : EXA_PRETOK_AUTO;
}

/* ---- build & free ------------------------------------------------------------------------ */
void exa_tokenizer_free(exa_tokenizer *t) {
    if (!t) return;
    free(t->text); free(t->text_off); free(t->mtext); free(t->mtext_off);
    free(t->bytes); free(t->bytes_off); free(t->flags); free(t->in_model); free(t->vmap);
    free(t->merges);
    free(t->added); free(t->added_text);
    trie_free(&t->trie_raw);
    trie_free(&t->trie_norm);
    free(t->post_prefix); free(t->post_suffix);
    exa_word_cache *c = &t->cache;
    if (c->slot) pthread_mutex_destroy(&c->lock);
    free(c->slot); free(c->karena); free(c->varena);
    free(t);
}

/* bytes the ByteLevel decoder gives for a token string: every char through the byte table, or
 * the string's own UTF-8 bytes when some char is not in the table (HF ByteLevel::decode_chain) */
static size_t token_decode_bytes(const char *s, size_t n, uint8_t *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t bad;
        size_t l = exa_tok_utf8_next((const uint8_t *)s + i, n - i, &cp, &bad);
        int b = l ? exa_unicode_to_byte(cp) : -1;
        if (b < 0) { memcpy(out, s, n); return n; }
        out[o++] = (uint8_t)b;
        i += l;
    }
    return o;
}

#define BUILD_FAIL(st_, ...) do { exa_tokenizer_free(t); return exa_err(err, err_size, st_, __VA_ARGS__); } while (0)

exa_status exa_tokenizer_build(const exa_tok_spec *sp, const char *what, exa_tokenizer **out, char *err,
                               size_t err_size) {
    *out = NULL;
    exa_uclass_init();
    exa_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", what);
    int nv = sp->n_vocab;
    for (int i = 0; i < sp->n_added; i++) {
        if (sp->added[i].id < 0 || sp->added[i].id > (1 << 26))
            BUILD_FAIL(EXA_ERR_FORMAT, "%s: added token id %d out of range", what, (int)sp->added[i].id);
        if (sp->added[i].id >= nv) nv = sp->added[i].id + 1;
    }
    if (nv <= 0) BUILD_FAIL(EXA_ERR_FORMAT, "%s: empty vocabulary", what);
    {
        /* ids must be (nearly) dense: a lone huge id would mean a huge allocation */
        size_t present = (size_t)sp->n_added;
        for (int i = 0; i < sp->n_vocab; i++) present += sp->vocab[i] != NULL;
        if ((size_t)nv > 2 * present + 65536)
            BUILD_FAIL(EXA_ERR_FORMAT, "%s: token ids go up to %d but there are only %zu tokens", what, nv - 1, present);
    }
    t->n_vocab = nv;
    t->bos_id = t->eos_id = t->pad_id = t->unk_id = -1;
    t->flags = calloc((size_t)nv, 1);
    t->in_model = calloc((size_t)nv, 1);
    t->text_off = calloc((size_t)nv + 1, sizeof *t->text_off);
    t->mtext_off = calloc((size_t)nv + 1, sizeof *t->mtext_off);
    t->bytes_off = calloc((size_t)nv + 1, sizeof *t->bytes_off);
    if (!t->flags || !t->in_model || !t->text_off || !t->mtext_off || !t->bytes_off)
        BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    /* added tokens: per id, the last entry wins (HF added_tokens_map_r) */
    const char **added_by_id = calloc((size_t)nv, sizeof *added_by_id);
    if (!added_by_id) BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    size_t added_bytes = 0;
    for (int i = 0; i < sp->n_added; i++) {
        if (!sp->added[i].content || !sp->added[i].content[0]) continue;
        added_by_id[sp->added[i].id] = sp->added[i].content;
        added_bytes += strlen(sp->added[i].content);
    }
    size_t mbytes = 0, tbytes = 0;
    for (int i = 0; i < nv; i++) {
        const char *m = i < sp->n_vocab ? sp->vocab[i] : NULL;
        size_t ml = m ? strlen(m) : 0;
        if (ml > (1u << 20)) { free(added_by_id); BUILD_FAIL(EXA_ERR_FORMAT, "%s: token %d is too long", what, i); }
        mbytes += ml;
        tbytes += (added_by_id[i] ? strlen(added_by_id[i]) : ml) + 1;
    }
    if (mbytes > (1u << 30) || tbytes > (1u << 30)) { free(added_by_id); BUILD_FAIL(EXA_ERR_FORMAT, "%s: vocabulary too large", what); }
    t->mtext = malloc(mbytes + 1);
    t->text = malloc(tbytes + 1);
    t->bytes = malloc(tbytes + 1);
    if (!t->mtext || !t->text || !t->bytes) { free(added_by_id); BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what); }
    size_t mo = 0, to = 0, bo = 0;
    for (int i = 0; i < nv; i++) {
        const char *m = i < sp->n_vocab ? sp->vocab[i] : NULL;
        t->mtext_off[i] = (uint32_t)mo;
        t->text_off[i] = (uint32_t)to;
        t->bytes_off[i] = (uint32_t)bo;
        if (m) {
            size_t l = strlen(m);
            memcpy(t->mtext + mo, m, l);
            mo += l;
            t->in_model[i] = 1;
        }
        const char *x = added_by_id[i] ? added_by_id[i] : m;
        if (x) {
            size_t l = strlen(x);
            memcpy(t->text + to, x, l + 1); /* NUL-terminated for exa_tokenizer_token_text */
            bo += token_decode_bytes(x, l, t->bytes + bo);
            to += l + 1;
            t->flags[i] |= EXA_TOKF_PRESENT;
        }
    }
    t->mtext_off[nv] = (uint32_t)mo;
    t->text_off[nv] = (uint32_t)to;
    t->bytes_off[nv] = (uint32_t)bo;
    free(added_by_id);
    /* vocabulary hash (first id of a duplicate string wins) */
    t->vmap_cap = pow2_at_least((size_t)nv * 2);
    t->vmap = malloc(t->vmap_cap * sizeof *t->vmap);
    if (!t->vmap) BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    memset(t->vmap, 0xff, t->vmap_cap * sizeof *t->vmap);
    for (int i = 0; i < nv; i++) {
        if (!t->in_model[i]) continue;
        const char *s = t->mtext + t->mtext_off[i];
        size_t l = t->mtext_off[i + 1] - t->mtext_off[i];
        if (vocab_find(t, s, l) >= 0) continue;
        size_t mask = t->vmap_cap - 1, h = hash_bytes((const uint8_t *)s, l) & mask;
        while (t->vmap[h] >= 0) h = (h + 1) & mask;
        t->vmap[h] = i;
    }
    /* byte tokens */
    for (int b = 0; b < 256; b++) {
        uint8_t u[4];
        size_t l = exa_tok_utf8_put(exa_byte_to_unicode[b], u);
        t->byte_id[b] = vocab_find(t, (const char *)u, l);
    }
    /* merges: later duplicates overwrite earlier ones (HF collects into a HashMap) */
    t->n_merges = sp->n_merges;
    t->mcap = pow2_at_least((size_t)sp->n_merges * 2 + 2);
    t->merges = calloc(t->mcap, sizeof *t->merges);
    if (!t->merges) BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    char *joined = NULL;
    size_t jcap = 0;
    for (int r = 0; r < sp->n_merges; r++) {
        const char *a = sp->merge_a[r], *b = sp->merge_b[r];
        size_t la = strlen(a), lb = strlen(b);
        int32_t ia = vocab_find(t, a, la), ib = vocab_find(t, b, lb);
        if (ia < 0 || ib < 0) {
            free(joined);
            BUILD_FAIL(EXA_ERR_FORMAT, "%s: merge %d uses '%s', which is not in the vocabulary", what, r + 1,
                       ia < 0 ? a : b);
        }
        if (la + lb + 1 > jcap) {
            jcap = (la + lb + 1) * 2;
            char *nj = realloc(joined, jcap);
            if (!nj) { free(joined); BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what); }
            joined = nj;
        }
        memcpy(joined, a, la);
        memcpy(joined + la, b, lb);
        int32_t inew = vocab_find(t, joined, la + lb);
        if (inew < 0) {
            joined[la + lb] = 0;
            exa_err(err, err_size, EXA_ERR_FORMAT, "%s: merge %d result '%.200s' is not in the vocabulary", what, r + 1, joined);
            free(joined);
            exa_tokenizer_free(t);
            return EXA_ERR_FORMAT;
        }
        uint64_t key = (((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib) + 1;
        size_t mask = t->mcap - 1, h = hash_u64(key) & mask;
        while (t->merges[h].key && t->merges[h].key != key) h = (h + 1) & mask;
        t->merges[h].key = key;
        t->merges[h].rank = (uint32_t)r;
        t->merges[h].nw = inew;
    }
    free(joined);
    /* added tokens */
    t->added = calloc((size_t)sp->n_added + 1, sizeof *t->added);
    t->added_text = malloc(added_bytes + 1);
    if (!t->added || !t->added_text) BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    size_t ao = 0;
    for (int i = 0; i < sp->n_added; i++) {
        const exa_added_spec *a = &sp->added[i];
        if (!a->content || !a->content[0]) continue;
        size_t l = strlen(a->content);
        exa_added_token *d = &t->added[t->n_added++];
        d->id = a->id;
        d->off = (uint32_t)ao;
        d->len = (uint32_t)l;
        d->special = a->special;
        d->lstrip = a->lstrip;
        d->rstrip = a->rstrip;
        d->single_word = a->single_word;
        d->normalized = a->normalized;
        memcpy(t->added_text + ao, a->content, l);
        ao += l;
        t->flags[a->id] = EXA_TOKF_PRESENT | EXA_TOKF_ADDED | (a->special ? EXA_TOKF_SPECIAL : 0);
    }
    if (!trie_build(&t->trie_raw, t, 0) || !trie_build(&t->trie_norm, t, 1))
        BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    /* options */
    t->digits = sp->digits;
    t->bl_regex = sp->bl_regex;
    t->bl_prefix_space = sp->bl_prefix_space;
    t->ignore_merges = sp->ignore_merges;
    t->pretok_kind = sp->pretok_kind;
    t->fuse_unk = sp->fuse_unk;
    if (sp->unk_token) {
        t->unk_id = exa_tokenizer_token_id(t, sp->unk_token);
        if (t->unk_id < 0) BUILD_FAIL(EXA_ERR_FORMAT, "%s: unk_token '%.100s' is not in the vocabulary", what, sp->unk_token);
    }
    t->post_prefix = calloc(4, sizeof *t->post_prefix);
    t->post_suffix = calloc(4, sizeof *t->post_suffix);
    if (!t->post_prefix || !t->post_suffix) BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    for (int i = 0; i < sp->n_post_prefix && i < 4; i++) {
        int32_t id = exa_tokenizer_token_id(t, sp->post_prefix[i]);
        if (id < 0) BUILD_FAIL(EXA_ERR_FORMAT, "%s: post-processor token '%.100s' is not in the vocabulary", what, sp->post_prefix[i]);
        t->post_prefix[t->n_post_prefix++] = id;
    }
    for (int i = 0; i < sp->n_post_suffix && i < 4; i++) {
        int32_t id = exa_tokenizer_token_id(t, sp->post_suffix[i]);
        if (id < 0) BUILD_FAIL(EXA_ERR_FORMAT, "%s: post-processor token '%.100s' is not in the vocabulary", what, sp->post_suffix[i]);
        t->post_suffix[t->n_post_suffix++] = id;
    }
    if (sp->bos) t->bos_id = exa_tokenizer_token_id(t, sp->bos);
    if (sp->eos) t->eos_id = exa_tokenizer_token_id(t, sp->eos);
    if (sp->pad) t->pad_id = exa_tokenizer_token_id(t, sp->pad);
    /* word cache */
    exa_word_cache *c = &t->cache;
    c->cap = 1 << 18;            /* 131072 words before the cache is emptied; ~14 MB in all */
    c->kcap = 3u << 20;
    c->vcap = 1u << 20;
    c->slot = calloc(c->cap, sizeof *c->slot);
    c->karena = malloc(c->kcap);
    c->varena = malloc(c->vcap * sizeof *c->varena);
    if (!c->slot || !c->karena || !c->varena) {
        free(c->slot);
        c->slot = NULL;
        BUILD_FAIL(EXA_ERR_NOMEM, "%s: out of memory", what);
    }
    pthread_mutex_init(&c->lock, NULL);
    *out = t;
    return EXA_OK;
}
