/* chunk.c — streaming chunker (see chunk.h).
 *
 * The buffer holds the not-yet-emitted tail of the stream. Once it holds more than 1.5 x target
 * characters, a cut is chosen among the boundaries between 0.5 x target and 1.25 x target
 * characters, preferring the strongest kind and, within a kind, the one closest to target. */
#include <stdlib.h>
#include <string.h>

#include "retrieval/chunk.h"

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
    c->buf = NULL;
    c->len = c->cap = 0;
}

static int is_cont(unsigned char b) { return (b & 0xC0) == 0x80; }
static int is_ws(unsigned char b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'; }

/* Kind of boundary just before byte i (i > 0, s[i] starts a character). */
static int boundary_kind(const unsigned char *s, size_t n, size_t i) {
    unsigned char p = s[i - 1];
    if (p == '\n') {
        /* a blank line before i: paragraph */
        size_t j = i - 1, lim = j > 64 ? j - 64 : 0;  /* bounded look-back: whitespace runs stay linear */
        while (j > lim && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\r')) j--;
        if (j > 0 && s[j - 1] == '\n') return B_PARA;
        return B_LINE;
    }
    if (is_ws(p)) {
        /* after a space: a sentence start if the text before the spaces ends a sentence */
        size_t j = i - 1, lim = j > 64 ? j - 64 : 0;
        while (j > lim && is_ws(s[j - 1]) && s[j - 1] != '\n') j--;
        if (j > 0 && s[j - 1] == '\n') return B_LINE;
        if (j == 0) return B_SPACE;
        /* skip closing quotes/brackets */
        size_t k = j;
        while (k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'' || s[k - 1] == ')' || s[k - 1] == ']')) k--;
        if (k > 0) {
            unsigned char q = s[k - 1];
            if (q == '.' || q == '!' || q == '?') return B_SENTENCE;
            /* U+3002 (。) U+FF0E U+FF01 U+FF1F and closing “ ” quotes end sentences too */
            if (k >= 3 && s[k - 3] == 0xE3 && s[k - 2] == 0x80 && s[k - 1] == 0x82) return B_SENTENCE;
            if (k >= 3 && s[k - 3] == 0xEF && s[k - 2] == 0xBC && (s[k - 1] == 0x8E || s[k - 1] == 0x81 || s[k - 1] == 0x9F))
                return B_SENTENCE;
            if (q == ',' || q == ';' || q == ':') return B_CLAUSE;
        }
        return B_SPACE;
    }
    /* CJK full stop directly followed by text (no space, as in Chinese/Japanese) */
    if (i >= 3 && s[i - 3] == 0xE3 && s[i - 2] == 0x80 && s[i - 1] == 0x82) return B_SENTENCE;
    (void)n;
    return B_ANY;
}

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

/* Cuts one chunk from a buffer holding at least 1.5 x target characters. */
static int cut_one(exa_chunker *c) {
    const unsigned char *s = (const unsigned char *)c->buf;
    size_t lo_chars = (size_t)c->target / 2, hi_chars = (size_t)c->target + (size_t)c->target / 4;
    size_t best = 0, chars = 0, target_pos = 0;
    int best_kind = B_NONE;
    long best_dist = 0;
    for (size_t i = 0; i < c->len && chars <= hi_chars; i++) {
        if (is_cont(s[i])) continue;
        if (chars == (size_t)c->target) target_pos = i;
        if (chars >= lo_chars && i > 0) {
            int k = boundary_kind(s, c->len, i);
            long dist = (long)chars - c->target;
            if (dist < 0) dist = -dist;
            if (k > best_kind || (k == best_kind && dist < best_dist)) { best = i; best_kind = k; best_dist = dist; }
        }
        chars++;
    }
    if (best == 0) best = target_pos ? target_pos : c->len;
    int rc = emit(c, 0, best);
    if (rc) return rc;
    size_t next = best;
    if (best_kind != B_PARA && c->overlap > 0) {
        /* go back up to `overlap` characters and start at the earliest sentence start (else the
         * earliest word start) in that window */
        size_t j = best, back = 0, sent = 0, word = 0;
        while (j > 0 && back < (size_t)c->overlap) {
            j--;
            if (is_cont(s[j])) continue;
            back++;
            if (j == 0) break;
            int k = boundary_kind(s, c->len, j);
            if (k >= B_SENTENCE) sent = j;
            else if (k >= B_SPACE) word = j;
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
