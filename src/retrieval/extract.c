/* extract.c — text extraction for the document index (see extract.h). Owns no global state
 * beyond libxml2's one-time initialisation (done by exa_index_open). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <poppler.h>

#include "core/common.h"
#include "retrieval/extract.h"
#include "retrieval/terms.h"

#define BLOCK (1 << 20)

exa_doc_kind exa_doc_kind_of(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot) return EXA_DOC_NONE;
    dot++;
    if (!strcasecmp(dot, "txt") || !strcasecmp(dot, "text")) return EXA_DOC_TEXT;
    if (!strcasecmp(dot, "md") || !strcasecmp(dot, "markdown")) return EXA_DOC_MARKDOWN;
    if (!strcasecmp(dot, "html") || !strcasecmp(dot, "htm") || !strcasecmp(dot, "xhtml")) return EXA_DOC_HTML;
    if (!strcasecmp(dot, "pdf")) return EXA_DOC_PDF;
    return EXA_DOC_NONE;
}

size_t exa_utf8_clean(char *buf, size_t n, int final) {
    unsigned char *s = (unsigned char *)buf;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            if (s[i] == 0) s[i] = ' ';
            i++;
            continue;
        }
        uint32_t cp;
        int l = exa_utf8_decode(s + i, n - i, &cp);
        if (cp == 0xFFFD && l == 1) {
            /* a lead byte whose sequence runs past the end: keep it for the next block */
            int need = (s[i] & 0xE0) == 0xC0 ? 2 : (s[i] & 0xF0) == 0xE0 ? 3 : (s[i] & 0xF8) == 0xF0 ? 4 : 0;
            if (!final && need && i + (size_t)need > n) {
                int ok = 1;
                for (size_t j = i + 1; j < n; j++) ok &= (s[j] & 0xC0) == 0x80;
                if (ok) return i;
            }
            if (!(n - i >= 3 && s[i] == 0xEF && s[i + 1] == 0xBF && s[i + 2] == 0xBD)) {
                s[i++] = '?';
                continue;
            }
            l = 3;
        }
        i += (size_t)l;
    }
    return n;
}

void exa_guess_title(const char *s, size_t n, int markdown, char *out, size_t max) {
    out[0] = 0;
    size_t i = 0;
    const char *first = NULL;
    size_t first_len = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '\n') e++;
        size_t a = i, b = e;
        while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || (unsigned char)s[a] == 0xEF)) {
            if ((unsigned char)s[a] == 0xEF) { if (b - a >= 3 && (unsigned char)s[a + 1] == 0xBB) a += 3; else break; }
            else a++;
        }
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) b--;
        if (markdown && b > a && s[a] == '#') {
            while (a < b && s[a] == '#') a++;
            while (a < b && s[a] == ' ') a++;
            first = s + a; first_len = b - a;
            break;
        }
        if (b > a && !first) { first = s + a; first_len = b - a; if (!markdown) break; }
        i = e + 1;
        if (markdown && i > 4096) break;
    }
    if (!first) return;
    if (first_len > max - 1) {
        first_len = max - 1;
        while (first_len > 0 && ((unsigned char)first[first_len] & 0xC0) == 0x80) first_len--;
    }
    memcpy(out, first, first_len);
    out[first_len] = 0;
}

/* ---- plain text and Markdown ---------------------------------------------------------------- */
static exa_status extract_text(const char *path, exa_doc_kind kind, const exa_doc_sink *sink, char *err, size_t es) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return exa_err(err, es, EXA_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(BLOCK + 8);
    if (!buf) { close(fd); return exa_err(err, es, EXA_ERR_NOMEM, "%s: out of memory", path); }
    exa_status st = EXA_OK;
    size_t have = 0, total = 0;
    int first = 1;
    if (sink->page && sink->page(sink->user, 0)) { st = EXA_ERR_ABORTED; goto done; }
    for (;;) {
        ssize_t r = read(fd, buf + have, BLOCK - have);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = exa_err(err, es, EXA_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        size_t n = have + (size_t)r;
        int final = r == 0;
        if (first && n > 0) {
            /* binary check on the first block: NUL bytes or mostly invalid UTF-8 */
            size_t probe = n < 8192 ? n : 8192, bad = 0, nul = 0;
            for (size_t i = 0; i < probe; i++) nul += buf[i] == 0;
            size_t v = 0;
            while (v < probe) {
                size_t ok = exa_tok_utf8_valid_prefix((const unsigned char *)buf + v, probe - v);
                v += ok;
                if (v < probe) { bad++; v++; }
            }
            if (nul > 0 || bad * 20 > probe + 3) {
                st = exa_err(err, es, EXA_ERR_FORMAT, "%s: binary or non-UTF-8 file", path);
                break;
            }
            char title[256];
            exa_guess_title(buf, probe, kind == EXA_DOC_MARKDOWN, title, sizeof title);
            if (sink->title && title[0]) sink->title(sink->user, title, strlen(title));
            first = 0;
        }
        size_t done = exa_utf8_clean(buf, n, final);
        if (done && sink->text(sink->user, buf, done)) { st = EXA_ERR_ABORTED; break; }
        total += (size_t)r;
        if (sink->progress && sink->progress(sink->user, total)) { st = EXA_ERR_ABORTED; break; }
        if (final) break;
        have = n - done;
        memmove(buf, buf + done, have);
    }
done:
    free(buf);
    close(fd);
    return st;
}

/* ---- HTML: libxml2 SAX push parser ---------------------------------------------------------- */
typedef struct html_state {
    const exa_doc_sink *sink;
    int skip;            /* depth inside script/style/... */
    int in_title, in_pre, title_sent;
    int pending_break;   /* 0 none, 1 space, 2 newline, 3 paragraph */
    int at_start;        /* nothing emitted yet */
    int stopped;
    char title[512];
    size_t title_len;
    char out[4096];
    size_t out_len;
} html_state;

/* Hands buffered text to the sink. libxml2 normally yields UTF-8, but not for every hostile
 * input (fuzz_html), so the text is cleaned; a sequence cut by the buffer end waits for the
 * next flush unless final. */
static void html_flush(html_state *h, int final) {
    size_t done = exa_utf8_clean(h->out, h->out_len, final);
    if (done && !h->stopped && h->sink->text(h->sink->user, h->out, done)) h->stopped = 1;
    memmove(h->out, h->out + done, h->out_len - done);
    h->out_len -= done;
}

static void html_put(html_state *h, const char *s, size_t n) {
    /* n is 1 or a short separator: it always fits after a flush (at most 3 bytes stay) */
    if (h->out_len + n > sizeof h->out) html_flush(h, 0);
    memcpy(h->out + h->out_len, s, n);
    h->out_len += n;
}

static int tag_is(const xmlChar *name, const char *const *list) {
    for (; *list; list++)
        if (!strcasecmp((const char *)name, *list)) return 1;
    return 0;
}
static const char *const SKIP_TAGS[] = {"script", "style", "noscript", "template", "svg", "math", "head", NULL};
static const char *const PARA_TAGS[] = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
                                        "header", "footer", "blockquote", "pre", "table", "ul", "ol", "dl",
                                        "main", "aside", "nav", "figure", "hr", "form", "fieldset", "address",
                                        "body", NULL};
static const char *const LINE_TAGS[] = {"br", "li", "tr", "dt", "dd", "caption", "figcaption", "option", NULL};
static const char *const CELL_TAGS[] = {"td", "th", NULL};

static void html_break(html_state *h, const xmlChar *name) {
    int b = tag_is(name, PARA_TAGS) ? 3 : tag_is(name, LINE_TAGS) ? 2 : tag_is(name, CELL_TAGS) ? 1 : 0;
    if (b > h->pending_break) h->pending_break = b;
}

static void html_start(void *ctx, const xmlChar *name, const xmlChar **attrs) {
    html_state *h = ctx;
    (void)attrs;
    if (!strcasecmp((const char *)name, "title")) { h->in_title++; return; }
    if (tag_is(name, SKIP_TAGS)) { h->skip++; return; }
    if (!strcasecmp((const char *)name, "pre")) h->in_pre++;
    html_break(h, name);
}

/* Hands the title to the sink once (as soon as </title> is seen, before the body text). */
static void html_title_done(html_state *h) {
    if (h->title_sent) return;
    while (h->title_len && h->title[h->title_len - 1] == ' ') h->title_len--;
    h->title[h->title_len] = 0;
    /* may be cut mid-character at the buffer's end */
    size_t ok = exa_tok_utf8_valid_prefix((const unsigned char *)h->title, h->title_len);
    if (ok && h->sink->title) { h->sink->title(h->sink->user, h->title, ok); h->title_sent = 1; }
}

static void html_end(void *ctx, const xmlChar *name) {
    html_state *h = ctx;
    if (!strcasecmp((const char *)name, "title")) {
        if (h->in_title && !--h->in_title) html_title_done(h);
        return;
    }
    if (tag_is(name, SKIP_TAGS)) { if (h->skip) h->skip--; return; }
    if (!strcasecmp((const char *)name, "pre") && h->in_pre) h->in_pre--;
    html_break(h, name);
}

static void html_chars(void *ctx, const xmlChar *ch, int len) {
    html_state *h = ctx;
    if (h->stopped || len <= 0) return;
    if (h->in_title) {
        for (int i = 0; i < len && h->title_len < sizeof h->title - 1; i++) {
            char c = (char)ch[i];
            if (c == '\n' || c == '\r' || c == '\t') c = ' ';
            if (c == ' ' && (h->title_len == 0 || h->title[h->title_len - 1] == ' ')) continue;
            h->title[h->title_len++] = c;
        }
        return;
    }
    if (h->skip) return;
    for (int i = 0; i < len; i++) {
        unsigned char c = ch[i];
        int space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
        if (space && !h->in_pre) {
            if (!h->pending_break) h->pending_break = 1;
            continue;
        }
        if (h->pending_break && !h->at_start) {
            static const char *const brk[] = {"", " ", "\n", "\n\n"};
            html_put(h, brk[h->pending_break], strlen(brk[h->pending_break]));
        }
        h->pending_break = 0;
        h->at_start = 0;
        if (c == 0) c = ' ';
        html_put(h, (const char *)&c, 1);
    }
}

static void html_silent(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }
static void html_silent_structured(void *ctx, xmlErrorPtr e) { (void)ctx; (void)e; }

typedef struct html_feed {
    htmlParserCtxtPtr ctxt;
    html_state *h;
} html_feed;

/* Documents that declare no charset (no meta charset / BOM in the first block) are read as
 * UTF-8, not as libxml2's HTML default Latin-1. */
static int declares_charset(const char *s, size_t n) {
    if (n >= 2 && (((unsigned char)s[0] == 0xFF && (unsigned char)s[1] == 0xFE) ||
                   ((unsigned char)s[0] == 0xFE && (unsigned char)s[1] == 0xFF)))
        return 1;
    if (n > 4096) n = 4096;
    for (size_t i = 0; i + 8 <= n; i++)
        if (!strncasecmp(s + i, "charset", 7)) return 1;
    return 0;
}

static exa_status html_begin(html_feed *f, html_state *h, const exa_doc_sink *sink, const char *name,
                             const char *first, size_t first_n, char *err, size_t es) {
    static htmlSAXHandler sax;  /* written identically on every call */
    memset(&sax, 0, sizeof sax);
    sax.startElement = html_start;
    sax.endElement = html_end;
    sax.characters = html_chars;
    sax.cdataBlock = NULL;       /* script/style bodies: dropped */
    sax.ignorableWhitespace = html_chars;
    sax.warning = html_silent;
    sax.error = html_silent;
    sax.fatalError = html_silent;
    sax.serror = html_silent_structured;
    memset(h, 0, sizeof *h);
    h->sink = sink;
    h->at_start = 1;
    f->h = h;
    f->ctxt = htmlCreatePushParserCtxt(&sax, h, NULL, 0, name, XML_CHAR_ENCODING_NONE);
    if (!f->ctxt) return exa_err(err, es, EXA_ERR_NOMEM, "%s: cannot create HTML parser", name);
    htmlCtxtUseOptions(f->ctxt, HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_RECOVER |
                                    HTML_PARSE_COMPACT);
    if (!declares_charset(first, first_n)) xmlSwitchEncoding(f->ctxt, XML_CHAR_ENCODING_UTF8);
    if (sink->page && sink->page(sink->user, 0)) h->stopped = 1;
    return EXA_OK;
}

static exa_status html_end_doc(html_feed *f) {
    htmlParseChunk(f->ctxt, NULL, 0, 1);
    html_flush(f->h, 1);
    htmlFreeParserCtxt(f->ctxt);
    html_state *h = f->h;
    html_title_done(h);
    return h->stopped ? EXA_ERR_ABORTED : EXA_OK;
}

exa_status exa_extract_html_mem(const char *data, size_t n, const exa_doc_sink *sink, char *err, size_t es) {
    html_feed f;
    html_state *h = malloc(sizeof *h);
    if (!h) return exa_err(err, es, EXA_ERR_NOMEM, "html: out of memory");
    exa_status st = html_begin(&f, h, sink, "html", data, n, err, es);
    if (st) { free(h); return st; }
    size_t off = 0;
    while (off < n && !h->stopped) {
        int len = (int)(n - off < BLOCK ? n - off : BLOCK);
        htmlParseChunk(f.ctxt, data + off, len, 0);
        off += (size_t)len;
    }
    st = html_end_doc(&f);
    free(h);
    return st;
}

static exa_status extract_html(const char *path, const exa_doc_sink *sink, char *err, size_t es) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return exa_err(err, es, EXA_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(BLOCK);
    html_state *h = malloc(sizeof *h);
    if (!buf || !h) { free(buf); free(h); close(fd); return exa_err(err, es, EXA_ERR_NOMEM, "%s: out of memory", path); }
    html_feed f;
    ssize_t r0;
    do r0 = read(fd, buf, BLOCK); while (r0 < 0 && errno == EINTR);
    if (r0 < 0) { free(buf); free(h); close(fd); return exa_err(err, es, EXA_ERR_IO, "%s: %s", path, strerror(errno)); }
    exa_status st = html_begin(&f, h, sink, path, buf, (size_t)r0, err, es);
    if (st) { free(buf); free(h); close(fd); return st; }
    size_t total = 0;
    int first = 1;
    while (!h->stopped) {
        ssize_t r = first ? r0 : read(fd, buf, BLOCK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { st = exa_err(err, es, EXA_ERR_IO, "%s: %s", path, strerror(errno)); break; }
        if (r == 0) break;
        if (first) {
            size_t probe = (size_t)r < 4096 ? (size_t)r : 4096, nul = 0;
            for (size_t i = 0; i < probe; i++) nul += buf[i] == 0;
            /* UTF-16 HTML has NULs but starts with a BOM; anything else with NULs is binary */
            int bom16 = r >= 2 && (((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE) ||
                                   ((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF));
            if (nul && !bom16) { st = exa_err(err, es, EXA_ERR_FORMAT, "%s: binary file", path); break; }
            first = 0;
        }
        htmlParseChunk(f.ctxt, buf, (int)r, 0);
        total += (size_t)r;
        if (sink->progress && sink->progress(sink->user, total)) h->stopped = 1;
    }
    exa_status st2 = html_end_doc(&f);
    if (!st) st = st2;
    free(buf);
    free(h);
    close(fd);
    return st;
}

/* ---- PDF: poppler-glib, one page at a time --------------------------------------------------- */
static exa_status extract_pdf(const char *path, const exa_doc_sink *sink, char *err, size_t es) {
    GError *gerr = NULL;
    char *abs = realpath(path, NULL);
    if (!abs) return exa_err(err, es, EXA_ERR_IO, "%s: %s", path, strerror(errno));
    gchar *uri = g_filename_to_uri(abs, NULL, &gerr);
    free(abs);
    if (!uri) {
        exa_status st = exa_err(err, es, EXA_ERR_IO, "%s: %s", path, gerr ? gerr->message : "bad file name");
        if (gerr) g_error_free(gerr);
        return st;
    }
    PopplerDocument *doc = poppler_document_new_from_file(uri, NULL, &gerr);
    g_free(uri);
    if (!doc) {
        exa_status st = exa_err(err, es, EXA_ERR_FORMAT, "%s: not a readable PDF (%s)", path,
                                gerr ? gerr->message : "unknown error");
        if (gerr) g_error_free(gerr);
        return st;
    }
    gchar *title = poppler_document_get_title(doc);
    if (title && sink->title) {
        size_t tl = strlen(title), ok = exa_tok_utf8_valid_prefix((const unsigned char *)title, tl);
        while (ok > 0 && (title[ok - 1] == ' ')) ok--;
        if (ok) sink->title(sink->user, title, ok > 500 ? 500 : ok);
    }
    g_free(title);
    int n = poppler_document_get_n_pages(doc);
    exa_status st = EXA_OK;
    struct stat sb;
    size_t fsize = stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
    for (int p = 0; p < n && !st; p++) {
        PopplerPage *page = poppler_document_get_page(doc, p);
        if (!page) continue;
        char *text = poppler_page_get_text(page);
        if (sink->page(sink->user, p + 1)) st = EXA_ERR_ABORTED;
        if (text && !st) {
            size_t tl = strlen(text);
            exa_utf8_clean(text, tl, 1);
            if (sink->text(sink->user, text, tl)) st = EXA_ERR_ABORTED;
        }
        g_free(text);
        g_object_unref(page);
        if (!st && sink->progress && sink->progress(sink->user, n ? fsize * (size_t)(p + 1) / (size_t)n : fsize))
            st = EXA_ERR_ABORTED;
    }
    g_object_unref(doc);
    return st;
}

exa_status exa_extract_file(const char *path, exa_doc_kind kind, const exa_doc_sink *sink, char *err, size_t es) {
    switch (kind) {
    case EXA_DOC_TEXT:
    case EXA_DOC_MARKDOWN: return extract_text(path, kind, sink, err, es);
    case EXA_DOC_HTML: return extract_html(path, sink, err, es);
    case EXA_DOC_PDF: return extract_pdf(path, sink, err, es);
    default: return exa_err(err, es, EXA_ERR_UNSUPPORTED, "%s: not a .txt/.md/.html/.pdf file", path);
    }
}
