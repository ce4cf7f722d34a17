/* common.c — implementation of the helpers declared in common.h (errors, allocation, files). */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *exa_status_str(exa_status s) {
    switch (s) {
    case EXA_OK: return "ok";
    case EXA_ERR_INVALID_ARG: return "invalid argument";
    case EXA_ERR_IO: return "I/O error";
    case EXA_ERR_FORMAT: return "malformed file";
    case EXA_ERR_CONFIG: return "invalid configuration";
    case EXA_ERR_NOMEM: return "out of memory";
    case EXA_ERR_UNSUPPORTED: return "unsupported";
    case EXA_ERR_ABORTED: return "aborted";
    case EXA_ERR_FULL: return "context full";
    }
    return "unknown status";
}

exa_status exa_err(char *err, size_t err_size, exa_status st, const char *fmt, ...) {
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return st;
}

void *exa_malloc(size_t n) {
    if (n == 0) n = 1;
    if (n > EXA_MAX_ALLOC) return NULL;
    return malloc(n);
}

void *exa_calloc(size_t n, size_t size) {
    size_t total;
    if (!exa_mul_ok(n, size, &total) || total > EXA_MAX_ALLOC) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *exa_aligned_alloc(size_t n) {
    if (n > EXA_MAX_ALLOC) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}

exa_status exa_file_read(const char *path, size_t max_size, char **data, size_t *size, char *err,
                         size_t err_size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return exa_err(err, err_size, EXA_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return exa_err(err, err_size, EXA_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        fclose(f);
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)", path,
                       (long long)st.st_size, max_size);
    }
    char *buf = exa_malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (got != (size_t)st.st_size) {
        free(buf);
        return exa_err(err, err_size, EXA_ERR_IO, "%s: short read", path);
    }
    buf[got] = 0;
    *data = buf;
    *size = got;
    return EXA_OK;
}

exa_status exa_file_map(const char *path, int use_mmap, exa_mapped_file *out, char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return exa_err(err, err_size, EXA_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return exa_err(err, err_size, EXA_ERR_IO, "%s: not a regular file", path);
    }
    size_t sz = (size_t)st.st_size;
    if (sz == 0) {
        close(fd);
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: empty file", path);
    }
    if (use_mmap) {
        void *p = mmap(NULL, sz, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED) return exa_err(err, err_size, EXA_ERR_IO, "%s: mmap: %s", path, strerror(errno));
        out->data = p;
        out->size = sz;
        out->is_mmap = 1;
        return EXA_OK;
    }
    uint8_t *buf = exa_aligned_alloc(sz);
    if (!buf) {
        close(fd);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, sz);
    }
    size_t done = 0;
    while (done < sz) {
        ssize_t r = read(fd, buf + done, sz - done);
        if (r <= 0) {
            free(buf);
            close(fd);
            return exa_err(err, err_size, EXA_ERR_IO, "%s: short read", path);
        }
        done += (size_t)r;
    }
    close(fd);
    out->data = buf;
    out->size = sz;
    return EXA_OK;
}

void exa_file_unmap(exa_mapped_file *f) {
    if (!f || !f->data) return;
    if (f->is_mmap) munmap((void *)f->data, f->size);
    else free((void *)f->data);
    memset(f, 0, sizeof *f);
}

int exa_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

double exa_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *exa_path_join(char *buf, size_t n, const char *dir, const char *name) {
    int w = snprintf(buf, n, "%s/%s", dir, name);
    return (w < 0 || (size_t)w >= n) ? NULL : buf;
}

/* room for extra more bytes plus the NUL */
static int buf_reserve(exa_buf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t nc = (b->n + extra + 1) * 2;
    char *ns = nc <= EXA_MAX_ALLOC ? realloc(b->s, nc) : NULL;
    if (!ns) { b->oom = 1; return -1; }
    b->s = ns;
    b->cap = nc;
    return 0;
}

int exa_buf_add(exa_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n)) return -1;
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

int exa_buf_printf(exa_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (w < 0) { b->oom = 1; return -1; }
    if (buf_reserve(b, (size_t)w)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)w + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)w;
    return 0;
}

void exa_buf_free(exa_buf *b) {
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
}
