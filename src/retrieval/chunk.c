/* chunk.c — streaming chunker (see chunk.h).
 *
 * The buffer holds the not-yet-emitted tail of the stream. Once it holds more than 1.5 x target
 * characters, a cut is chosen among the boundaries between 0.5 x target and 1.25 x target
 * characters, preferring the strongest kind and, within a kind, the one closest to target. */
#include <stdlib.h>
#include <string.h>

#include "retrieval/chunk.h"
#include "retrieval/terms.h"

enum { B_NONE = 0, B_ANY, B_SPACE, B_CLAUSE, B_SENTENCE, B_LINE, B_PARA };

void exa_chunker_init(exa_chunker *c, int target, int overlap, exa_chunk_fn fn, void *user) {
    memset(c, 0, sizeof *c);
    if (target < 16) target = 16;
    if (target > 1 << 20) target = 1 << 20;
    if (overlap < 0) overlap = 0;
    if (overlap > target / 2) overlap = target / 2;
    c->target = target;
    c->overlap = overlap;
    c->fn = fn;
    c->user = user;
}

void exa_chunker_free(exa_chunker *c) {
    free(c->buf);
    free(c->kinds);
    c->kinds = NULL;
    c->kcap = 0;
    c->buf = NULL;
    c->len = c->cap = 0;
}

static int is_cont(unsigned char b) { return (b & 0xC0) == 0x80; }
static int is_ws(unsigned char b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'; }

static int emit(exa_chunker *c, size_t from, size_t to) {
    /* trim surrounding whitespace; skip chunks with no content */
    while (from < to && is_ws((unsigned char)c->buf[from])) from++;
    while (to > from && is_ws((unsigned char)c->buf[to - 1])) to--;
    if (from >= to) return 0;
    return c->fn(c->user, c->buf + from, to - from, c->base + (int64_t)from, c->base + (int64_t)to);
}

static void drop(exa_chunker *c, size_t upto) {
    memmove(c->buf, c->buf + upto, c->len - upto);
    c->len -= upto;
    c->base += (int64_t)upto;
}

/* Sentence-ending / clause-ending classes of a code point (for the boundary after it). */
static int end_class(uint32_t cp, int prev) {
    if (cp == '.' || cp == '!' || cp == '?' || cp == 0x3002 || cp == 0xFF0E || cp == 0xFF01 || cp == 0xFF1F || cp == 0x2026)
        return 1;
    if (cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201D || cp == 0x2019 || cp == 0x300D || cp == 0x300F)
        return prev == 1 ? 1 : 0;   /* closing quote/bracket after a full stop */
    if (cp == ',' || cp == ';' || cp == ':' || cp == 0xFF0C || cp == 0x3001) return 2;
    return 0;
}

/* Cuts one chunk from a buffer holding at least 1.5 x target characters. One forward pass
 * classifies the boundary before every character (kinds[]), so whitespace runs cost O(1) each. */
static int cut_one(exa_chunker *c) {
    const unsigned char *s = (const unsigned char *)c->buf;
    size_t lo_chars = (size_t)c->target / 2, hi_chars = (size_t)c->target + (size_t)c->target / 4;
    if (c->kcap < c->len + 1) {
        unsigned char *k = realloc(c->kinds, c->len + 1);
        if (!k) return -1;
        c->kinds = k;
        c->kcap = c->len + 1;
    }
    unsigned char *kinds = c->kinds;
    size_t best = 0, chars = 0, target_pos = 0, i = 0;
    int best_kind = B_NONE, in_run = 0, run_nl = 0, pre = 0, cjk_stop = 0;
    long best_dist = 0;
    while (i < c->len && chars <= hi_chars) {
        int k = B_NONE;
        if (i > 0) {
            if (in_run) k = run_nl >= 2 ? B_PARA : run_nl == 1 ? B_LINE : pre == 1 ? B_SENTENCE : pre == 2 ? B_CLAUSE : B_SPACE;
            else k = cjk_stop ? B_SENTENCE : B_ANY;
        }
        kinds[i] = (unsigned char)k;
        if (chars == (size_t)c->target) target_pos = i;
        if (chars >= lo_chars && i > 0) {
            long dist = (long)chars - c->target;
            if (dist < 0) dist = -dist;
            if (k > best_kind || (k == best_kind && dist < best_dist)) { best = i; best_kind = k; best_dist = dist; }
        }
        uint32_t cp;
        int l = exa_utf8_decode(s + i, c->len - i, &cp);
        for (int j = 1; j < l; j++) kinds[i + j] = B_NONE;
        if (is_ws((unsigned char)cp) && cp < 0x80) {
            if (!in_run) { in_run = 1; run_nl = 0; }
            run_nl += cp == '\n';
        } else {
            in_run = 0;
            pre = end_class(cp, pre);
            cjk_stop = cp == 0x3002;
        }
        i += (size_t)l;
        chars++;
    }
    if (best == 0) best = target_pos ? target_pos : c->len;
    int rc = emit(c, 0, best);
    if (rc) return rc;
    size_t next = best;
    if (best_kind != B_PARA && c->overlap > 0 && best < i) {
        /* go back up to `overlap` characters and start at the earliest sentence start (else the
         * earliest word start) in that window */
        size_t j = best, back = 0, sent = 0, word = 0;
        while (j > 0 && back < (size_t)c->overlap) {
            j--;
            if (is_cont(s[j])) continue;
            back++;
            if (j == 0) break;
            if (kinds[j] >= B_SENTENCE) sent = j;
            else if (kinds[j] >= B_SPACE) word = j;
        }
        if (sent) next = sent;
        else if (word) next = word;
    }
    drop(c, next);
    return 0;
}

static size_t count_chars(const char *s, size_t n, size_t stop_at) {
    size_t k = 0;
    for (size_t i = 0; i < n && k <= stop_at; i++) k += !is_cont((unsigned char)s[i]);
    return k;
}

int exa_chunker_feed(exa_chunker *c, const char *data, size_t n) {
    size_t trigger = (size_t)c->target + (size_t)c->target / 2;
    while (n > 0) {
        /* append in slices so the buffer never grows past ~4 x trigger bytes */
        size_t slice = n < trigger ? n : trigger;
        if (c->len + slice > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < c->len + slice) cap *= 2;
            char *b = realloc(c->buf, cap);
            if (!b) return -1;
            c->buf = b;
            c->cap = cap;
        }
        memcpy(c->buf + c->len, data, slice);
        c->len += slice;
        data += slice;
        n -= slice;
        while (count_chars(c->buf, c->len, trigger) > trigger) {
            int rc = cut_one(c);
            if (rc) return rc;
        }
    }
    return 0;
}

int exa_chunker_finish(exa_chunker *c) {
    int rc = 0;
    size_t trigger = (size_t)c->target + (size_t)c->target / 2;
    while (!rc && count_chars(c->buf, c->len, trigger) > trigger) rc = cut_one(c);
    if (!rc) rc = emit(c, 0, c->len);
    c->len = 0;
    c->base = 0;
    return rc;
}
