/* chunk.h — streaming text chunker: text arrives in pieces of any size (a 5 GB file never sits
 * in memory); chunks of about `target` characters are cut at the best boundary available
 * (paragraph > line > sentence (Korean and English) > clause > space), and a chunk cut inside a
 * paragraph is followed by one that starts up to `overlap` characters earlier, at a sentence (or
 * word) start. Every chunk reports its byte range in the input stream. */
#ifndef EXA_RETRIEVAL_CHUNK_H
#define EXA_RETRIEVAL_CHUNK_H

#include <stddef.h>
#include <stdint.h>

/* Receives a chunk: text[0..len) (not NUL-terminated) = stream bytes [start, end). Return
 * non-zero to stop; the value comes back from exa_chunker_feed/finish. */
typedef int (*exa_chunk_fn)(void *user, const char *text, size_t len, int64_t start, int64_t end);

typedef struct exa_chunker {
    int target, overlap;       /* characters */
    char *buf;                 /* pending bytes, buf[0] is stream offset `base` */
    size_t len, cap;
    int64_t base;
    unsigned char *kinds;      /* scratch: boundary kind before each buffered byte */
    size_t kcap;
    exa_chunk_fn fn;
    void *user;
} exa_chunker;

/* target >= 16 characters (smaller values are raised), 0 <= overlap < target/2 (clamped). */
void exa_chunker_init(exa_chunker *c, int target, int overlap, exa_chunk_fn fn, void *user);
/* Appends bytes (UTF-8 expected; the caller cleans invalid bytes). Returns 0, a callback's
 * non-zero value, or -1 on out of memory. */
int exa_chunker_feed(exa_chunker *c, const char *data, size_t n);
/* Emits what is left and resets the stream offset to 0 (the chunker can be reused). */
int exa_chunker_finish(exa_chunker *c);
void exa_chunker_free(exa_chunker *c);

#endif
