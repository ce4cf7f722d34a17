/* extract.h — turns files into a stream of UTF-8 text for the chunker: plain text and Markdown
 * (streamed in 1 MiB blocks, invalid bytes replaced one-for-one so byte offsets stay those of the
 * file), HTML (libxml2's SAX push parser: text only, no markup/scripts/styles; block elements
 * become line/paragraph breaks), PDF (poppler-glib, page by page). */
#ifndef EXA_RETRIEVAL_EXTRACT_H
#define EXA_RETRIEVAL_EXTRACT_H

#include <stddef.h>

#include "exaone.h"

typedef enum exa_doc_kind { EXA_DOC_NONE = 0, EXA_DOC_TEXT, EXA_DOC_MARKDOWN, EXA_DOC_HTML, EXA_DOC_PDF } exa_doc_kind;

/* Kind from the file name's extension (case-insensitive); EXA_DOC_NONE if not indexable. */
exa_doc_kind exa_doc_kind_of(const char *path);

typedef struct exa_doc_sink {
    /* a new page starts (PDF: 1, 2, ...; other kinds: called once with 0) */
    int (*page)(void *user, int page);
    /* extracted text, valid UTF-8 */
    int (*text)(void *user, const char *s, size_t n);
    /* the document's title (called at most once, before or after text) */
    void (*title)(void *user, const char *s, size_t n);
    /* bytes of the file consumed so far (for progress); may be NULL */
    int (*progress)(void *user, size_t bytes);
    void *user;
} exa_doc_sink;

/* Streams the file's text into sink. A non-zero return of a callback stops extraction with
 * EXA_ERR_ABORTED. Binary files (NUL bytes / not UTF-8 at the start) give EXA_ERR_FORMAT. */
exa_status exa_extract_file(const char *path, exa_doc_kind kind, const exa_doc_sink *sink, char *err,
                            size_t err_size);
/* HTML held in memory (used by the fuzz target and tests). */
exa_status exa_extract_html_mem(const char *data, size_t n, const exa_doc_sink *sink, char *err, size_t err_size);

/* Cleans buf[0..n) in place: invalid UTF-8 bytes become '?' and NULs ' ', byte for byte (so
 * offsets keep their meaning). Returns how many bytes are final; unless `final`, up to 3 bytes of
 * a sequence cut by the end of the buffer are left for the caller to carry into the next block. */
size_t exa_utf8_clean(char *buf, size_t n, int final);

/* Title guess from the start of a text/Markdown file: first Markdown heading, else first
 * non-empty line, trimmed, at most max-1 bytes (cut at a character boundary). */
void exa_guess_title(const char *s, size_t n, int markdown, char *out, size_t max);

#endif
