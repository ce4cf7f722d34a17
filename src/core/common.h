/* common.h — internal helpers shared by every part of libexaone: error formatting, checked
 * allocation, whole-file reading and read-only memory mapping, timing. Owns no global state. */
#ifndef EXA_CORE_COMMON_H
#define EXA_CORE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "exaone.h"

#define EXA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EXA_MAX(a, b) ((a) > (b) ? (a) : (b))
#define EXA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Largest single allocation we ever attempt; anything bigger is treated as hostile input. */
#define EXA_MAX_ALLOC ((size_t)64 << 30)

/* snprintf into err (err may be NULL); returns st so callers can `return exa_err(...)`. */
exa_status exa_err(char *err, size_t err_size, exa_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* malloc/calloc that refuse sizes above EXA_MAX_ALLOC and n*size overflow. */
void *exa_malloc(size_t n);
void *exa_calloc(size_t n, size_t size);
/* 64-byte aligned allocation (free with free()). */
void *exa_aligned_alloc(size_t n);

/* Overflow-checked size arithmetic: return 0 on overflow. */
static inline int exa_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* Read a whole file (adds a terminating NUL, not counted in *size). max_size bounds it. */
exa_status exa_file_read(const char *path, size_t max_size, char **data, size_t *size, char *err,
                         size_t err_size);

/* Read-only mapping of a whole file (or a heap copy when use_mmap == 0). */
typedef struct exa_mapped_file {
    const uint8_t *data;
    size_t size;
    int is_mmap;
} exa_mapped_file;

exa_status exa_file_map(const char *path, int use_mmap, exa_mapped_file *out, char *err, size_t err_size);
void exa_file_unmap(exa_mapped_file *f);

int exa_file_exists(const char *path);
double exa_time_now(void); /* monotonic seconds */

/* Growable byte buffer, always NUL-terminated once written to. After an allocation failure
 * oom is set and further appends do nothing. */
typedef struct exa_buf {
    char *s;
    size_t n, cap;
    int oom;
} exa_buf;
int exa_buf_add(exa_buf *b, const char *s, size_t n);                 /* 0 ok, -1 out of memory */
int exa_buf_printf(exa_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void exa_buf_free(exa_buf *b);

/* path join into buf; returns buf, or NULL if it does not fit */
char *exa_path_join(char *buf, size_t n, const char *dir, const char *name);

#endif
