/* terms.c — term extraction for the document index (see terms.h).
 *
 * Korean writes particles (josa) and endings (eomi) glued to the word: 서울에서, 서울의, 서울은
 * are three whitespace tokens for one noun. The default mode therefore emits, for every run of
 * Hangul syllables, (1) the run with a known josa/eomi suffix stripped (a morpheme-like stem) and
 * (2) the stem's overlapping syllable bigrams, which still match compounds and words whose
 * stems differ. Latin words are case-folded and stemmed with Snowball English (libstemmer); digits are
 * kept; CJK ideographs and kana get bigrams like Hangul. Stems carry a leading 0x01 byte so that a
 * two-syllable stem and the same bigram stay distinct terms (bench/retrieval measured both).
 * The two baseline modes (whitespace words, Hangul bigrams) exist for the benchmark. */
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "retrieval/terms.h"

#define MAX_TERM 96  /* bytes; longer words are cut (at a code point boundary) */

int exa_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len; uint32_t v, min;
    if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
    else { *cp = 0xFFFD; return 1; }
    if ((size_t)len > n) { *cp = 0xFFFD; return 1; }
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cp = 0xFFFD; return 1; }
    *cp = v;
    return len;
}

int exa_cp_is_hangul(uint32_t cp) { return cp >= 0xAC00 && cp <= 0xD7A3; }

static int is_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x20000 && cp <= 0x2FFFF);
}

int exa_cp_is_space(uint32_t cp) {
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000 || cp == 0xFEFF;
}

int exa_cp_is_word(uint32_t cp) {
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7) return 0;                /* Latin-1 symbols */
    if (cp >= 0x2000 && cp <= 0x2BFF) return 0;                          /* punctuation, symbols, arrows */
    if (cp >= 0x3000 && cp <= 0x303F) return 0;                          /* CJK punctuation */
    if (cp >= 0x2E00 && cp <= 0x2E7F) return 0;
    if (cp >= 0xFE10 && cp <= 0xFE6F) return 0;                          /* vertical/small forms */
    if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0xFF3B && cp <= 0xFF40) ||
        (cp >= 0xFF5B && cp <= 0xFF65)) return 0;                        /* fullwidth punctuation */
    if (cp >= 0xE000 && cp <= 0xF8FF) return 0;                          /* private use */
    if (cp >= 0xFFF0 && cp <= 0xFFFF) return 0;                          /* specials, U+FFFD */
    if (cp >= 0x1F000 && cp <= 0x1FAFF) return 0;                        /* emoji, pictographs */
    if (exa_cp_is_space(cp)) return 0;
    return 1;
}

/* Simple case folding for the scripts the corpora use, plus fullwidth ASCII -> ASCII. */
static uint32_t fold(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
    if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17F) {
        int odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
        if (odd_upper) return (cp & 1) ? cp + 1 : cp;
        return (cp & 1) ? cp : cp + 1;
    }
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
    if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
    if (cp >= 0xFF21 && cp <= 0xFF3A) return cp - 0xFF21 + 'a';
    if (cp >= 0xFF41 && cp <= 0xFF5A) return cp - 0xFF41 + 'a';
    if (cp >= 0xFF10 && cp <= 0xFF19) return cp - 0xFF10 + '0';
    return cp;
}

static int utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Josa (particles) and common predicate endings, longest first within each group. `min` is the
 * number of syllables that must remain: single-syllable suffixes that also end many nouns
 * (이, 가, 의, 과, 도, ...) only come off words of 3+ syllables. */
typedef struct { const char *s; int min; } suffix;
static const suffix SUFFIXES[] = {
    /* 4 syllables */
    {"에서부터", 1}, {"으로부터", 1}, {"에게서는", 1}, {"하였으며", 1}, {"되었으며", 1}, {"하였는데", 1},
    {"되었는데", 1}, {"이라고는", 1},
    /* 3 */
    {"에서는", 1}, {"에서도", 1}, {"에서의", 1}, {"에서만", 1}, {"으로는", 1}, {"으로도", 1}, {"으로서", 1},
    {"으로써", 1}, {"으로의", 1}, {"에게는", 1}, {"에게도", 1}, {"에게서", 1}, {"까지는", 1}, {"까지도", 1},
    {"까지의", 1}, {"부터는", 1}, {"부터의", 1}, {"이라는", 1}, {"이라고", 1}, {"이라면", 1}, {"이었다", 1},
    {"이었던", 1}, {"이지만", 1}, {"이므로", 1}, {"로부터", 1}, {"하였다", 1}, {"되었다", 1}, {"하였던", 1},
    {"되었던", 1}, {"하면서", 1}, {"되면서", 1}, {"했으며", 1}, {"됐으며", 1}, {"였으며", 1}, {"입니다", 1},
    {"입니까", 1}, {"인가요", 1}, {"이었으며", 1}, {"에서와", 1}, {"으로서의", 1},
    /* 2 */
    {"에서", 1}, {"에게", 1}, {"으로", 1}, {"로서", 1}, {"로써", 1}, {"로는", 1}, {"로도", 1}, {"로의", 1},
    {"까지", 1}, {"부터", 1}, {"마다", 1}, {"보다", 1}, {"처럼", 1}, {"만큼", 1}, {"이나", 2}, {"이며", 1},
    {"이고", 2}, {"이다", 1}, {"이란", 1}, {"이라", 2}, {"라는", 1}, {"라고", 1}, {"에는", 1}, {"에도", 1},
    {"에의", 1}, {"에만", 1}, {"와는", 1}, {"과는", 1}, {"와의", 1}, {"과의", 1}, {"와도", 1}, {"과도", 1},
    {"이든", 1}, {"한테", 1}, {"께서", 1}, {"만의", 1}, {"만을", 1}, {"만이", 1}, {"들은", 1}, {"들이", 1},
    {"들을", 1}, {"들의", 1}, {"들과", 1}, {"들에", 1}, {"들도", 1}, {"했다", 1}, {"됐다", 1}, {"한다", 1},
    {"된다", 1}, {"하는", 1}, {"되는", 1}, {"하고", 1}, {"되고", 1}, {"하여", 1}, {"되어", 1}, {"해서", 1},
    {"하며", 1}, {"되며", 1}, {"하다", 1}, {"되다", 1}, {"했던", 1}, {"됐던", 1}, {"하기", 2}, {"되기", 2},
    {"하게", 2}, {"되게", 2}, {"하지", 2}, {"되지", 2}, {"였다", 1}, {"였던", 1}, {"인가", 1}, {"인지", 1},
    {"인데", 1}, {"었다", 1}, {"았다", 1}, {"었던", 1}, {"았던", 1}, {"는가", 1}, {"은가", 1}, {"는지", 1},
    {"은지", 1}, {"하던", 1}, {"되던", 1}, {"시킨", 1}, {"시켜", 1}, {"이자", 2},
    /* 1 */
    {"은", 1}, {"는", 1}, {"을", 2}, {"를", 1}, {"에", 1}, {"의", 2}, {"이", 2}, {"가", 2}, {"와", 2},
    {"과", 2}, {"도", 2}, {"로", 2}, {"만", 2}, {"께", 2}, {"들", 2}, {"한", 2}, {"된", 2}, {"할", 2},
    {"될", 2}, {"함", 2}, {"됨", 2}, {"인", 2}, {"적", 2},
};

int exa_josa_suffix(const char *w, int n) {
    int syl = n / 3;  /* callers pass pure Hangul runs: 3 bytes per syllable */
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        int l = (int)strlen(SUFFIXES[i].s);
        if (l >= n || syl - l / 3 < SUFFIXES[i].min) continue;
        if (!memcmp(w + n - l, SUFFIXES[i].s, (size_t)l)) return l;
    }
    return 0;
}

/* True when the Hangul run w is nothing but a particle (as in "BTS의", "1998년에" -> 에). */
static int is_whole_josa(const char *w, int n) {
    static const char *const J[] = {"은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도", "로",
                                    "에서", "으로", "에게", "까지", "부터", "에는", "에서는", "이다", "라는", "이라는"};
    for (size_t i = 0; i < sizeof J / sizeof J[0]; i++)
        if ((int)strlen(J[i]) == n && !memcmp(w, J[i], (size_t)n)) return 1;
    return 0;
}

/* Interrogatives (after suffix stripping): in a question they say what is asked, not what the
 * answer passage contains, so query-side extraction drops them (they would match passages that
 * happen to contain 무엇/어디). */
static int is_question_word(const char *w, int n) {
    static const char *const Q[] = {"무엇", "누구", "누가", "언제", "어디", "어떤", "어느", "무슨", "몇", "얼마", "왜",
                                    "어떻게", "얼마나", "무엇인", "무엇이", "누구인", "어디인", "언제인", "몇년",
                                    "몇명", "몇개", "몇번", "몇살", "몇세", "몇년도", "어디서", "어디로", "무엇을",
                                    "무엇으", "뭐", "뭘", "무엇일", "어떠한", "어떻", "몇번째"};
    for (size_t i = 0; i < sizeof Q / sizeof Q[0]; i++)
        if ((int)strlen(Q[i]) == n && !memcmp(w, Q[i], (size_t)n)) return 1;
    return 0;
}

struct exa_terms {
    int query;   /* query-side extraction: drops interrogatives */
    exa_index_terms mode;
    struct sb_stemmer *stem;
};

exa_terms *exa_terms_new(exa_index_terms mode) {
    exa_terms *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->mode = mode;
    if (mode == EXA_TERMS_KOREAN) {
        t->stem = sb_stemmer_new("english", "UTF_8");
        if (!t->stem) { free(t); return NULL; }
    }
    return t;
}

void exa_terms_set_query(exa_terms *t, int query) { t->query = query; }

void exa_terms_free(exa_terms *t) {
    if (!t) return;
    if (t->stem) sb_stemmer_delete(t->stem);
    free(t);
}

const char *exa_terms_mode_name(exa_index_terms mode) {
    switch (mode) {
    case EXA_TERMS_KOREAN: return "korean";
    case EXA_TERMS_WORDS: return "words";
    case EXA_TERMS_BIGRAMS: return "bigrams";
    }
    return "?";
}

int exa_terms_mode_parse(const char *name, exa_index_terms *mode) {
    if (!strcmp(name, "korean")) *mode = EXA_TERMS_KOREAN;
    else if (!strcmp(name, "words")) *mode = EXA_TERMS_WORDS;
    else if (!strcmp(name, "bigrams")) *mode = EXA_TERMS_BIGRAMS;
    else return -1;
    return 0;
}

/* Emits the bigrams of a run of 3-byte syllables (or the single syllable). */
static int emit_bigrams(const char *s, int n, int start, int end, exa_term_fn fn, void *user) {
    if (n <= 3) return fn(user, s, n, start, end);
    for (int i = 0; i + 6 <= n; i += 3) {
        int rc = fn(user, s + i, 6, start, end);
        if (rc) return rc;
    }
    return 0;
}

/* Segments one word (a maximal run of word characters, already case-folded into w) into script
 * runs and emits its terms. ws/we: the word's byte range in the source. */
static int emit_word(exa_terms *t, const char *w, int n, int ws, int we, exa_term_fn fn, void *user) {
    if (t->mode == EXA_TERMS_WORDS) return fn(user, w, n > MAX_TERM ? MAX_TERM : n, ws, we);
    int i = 0, prev_non_hangul = 0, rc = 0;
    while (i < n && !rc) {
        uint32_t cp;
        int l = exa_utf8_decode((const unsigned char *)w + i, (size_t)(n - i), &cp);
        int kind = exa_cp_is_hangul(cp) ? 1 : is_cjk(cp) ? 2 : 0;
        int j = i + l;
        while (j < n) {
            uint32_t c2;
            int l2 = exa_utf8_decode((const unsigned char *)w + j, (size_t)(n - j), &c2);
            int k2 = exa_cp_is_hangul(c2) ? 1 : is_cjk(c2) ? 2 : 0;
            if (k2 != kind) break;
            j += l2;
        }
        const char *s = w + i;
        int len = j - i;
        if (kind == 1 && t->mode == EXA_TERMS_KOREAN) {
            int cut = exa_josa_suffix(s, len);
            if (t->query && is_question_word(s, len - cut)) {
                /* skip */
            } else if (!(prev_non_hangul && is_whole_josa(s, len))) {
                char buf[MAX_TERM + 1];
                int sl = len - cut > MAX_TERM - 1 ? MAX_TERM - 1 : len - cut;
                sl -= sl % 3;
                buf[0] = 1;
                memcpy(buf + 1, s, (size_t)sl);
                rc = fn(user, buf, sl + 1, ws, we);
                /* bigrams of the stem: the particle's syllables would only add noise terms */
                if (!rc) rc = emit_bigrams(s, len - cut, ws, we, fn, user);
            }
        } else if (kind == 1 || kind == 2) {
            /* bigrams need whole 3-byte units: CJK outside the BMP (4 bytes) is emitted per char */
            int all3 = 1;
            for (int p = 0; p < len;) {
                uint32_t c3;
                int l3 = exa_utf8_decode((const unsigned char *)s + p, (size_t)(len - p), &c3);
                if (l3 != 3) { all3 = 0; break; }
                p += l3;
            }
            if (all3) rc = emit_bigrams(s, len, ws, we, fn, user);
            else rc = fn(user, s, len > MAX_TERM ? MAX_TERM : len, ws, we);
        } else if (t->mode == EXA_TERMS_KOREAN && t->stem) {
            int cl = len > MAX_TERM ? MAX_TERM : len;
            const sb_symbol *st = sb_stemmer_stem(t->stem, (const sb_symbol *)s, cl);
            if (st) rc = fn(user, (const char *)st, sb_stemmer_length(t->stem), ws, we);
            else rc = fn(user, s, cl, ws, we);
        } else {
            rc = fn(user, s, len > MAX_TERM ? MAX_TERM : len, ws, we);
        }
        prev_non_hangul = kind != 1;
        i = j;
    }
    return rc;
}

int exa_terms_run(exa_terms *t, const char *text, size_t n, exa_term_fn fn, void *user) {
    const unsigned char *s = (const unsigned char *)text;
    char w[MAX_TERM * 4 + 8];
    int wn = 0, ws = -1, rc = 0;
    size_t i = 0;
    if (n > (size_t)INT32_MAX) n = (size_t)INT32_MAX;
    while (i < n && !rc) {
        uint32_t cp;
        int l = exa_utf8_decode(s + i, n - i, &cp);
        if (exa_cp_is_word(cp)) {
            if (ws < 0) { ws = (int)i; wn = 0; }
            if (wn < (int)sizeof w - 8) wn += utf8_encode(fold(cp), w + wn);
        } else if (ws >= 0) {
            rc = emit_word(t, w, wn, ws, (int)i, fn, user);
            ws = -1;
        }
        i += (size_t)l;
    }
    if (!rc && ws >= 0) rc = emit_word(t, w, wn, ws, (int)n, fn, user);
    return rc;
}
