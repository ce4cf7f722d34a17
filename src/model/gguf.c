/* gguf.c — GGUF v2/v3 reader (hostile-input safe) and writer, ggml type sizes, the EXAONE
 * HF <-> GGUF name table and the exaone/exaone4 hyper-parameter keys. See gguf.h for the format.
 * REF: spec §6; ggml/src/gguf.cpp and gguf-py/gguf/constants.py (llama.cpp) for key names and
 * validation rules (written from the published format, not copied). */
#include "model/gguf.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- ggml types */

typedef struct { uint32_t id; const char *name; uint32_t blck, bytes; } ggml_type_info;
static const ggml_type_info k_types[] = {
    {EXA_GGML_F32, "f32", 1, 4},      {EXA_GGML_F16, "f16", 1, 2},      {EXA_GGML_Q4_0, "q4_0", 32, 18},
    {EXA_GGML_Q4_1, "q4_1", 32, 20},  {EXA_GGML_Q5_0, "q5_0", 32, 22},  {EXA_GGML_Q5_1, "q5_1", 32, 24},
    {EXA_GGML_Q8_0, "q8_0", 32, 34},  {EXA_GGML_Q8_1, "q8_1", 32, 36},  {EXA_GGML_Q2_K, "q2_K", 256, 84},
    {EXA_GGML_Q3_K, "q3_K", 256, 110}, {EXA_GGML_Q4_K, "q4_K", 256, 144}, {EXA_GGML_Q5_K, "q5_K", 256, 176},
    {EXA_GGML_Q6_K, "q6_K", 256, 210}, {EXA_GGML_Q8_K, "q8_K", 256, 292}, {EXA_GGML_I8, "i8", 1, 1},
    {EXA_GGML_I16, "i16", 1, 2},      {EXA_GGML_I32, "i32", 1, 4},      {EXA_GGML_I64, "i64", 1, 8},
    {EXA_GGML_F64, "f64", 1, 8},      {EXA_GGML_BF16, "bf16", 1, 2},
};

static const ggml_type_info *type_info(uint32_t t) {
    for (size_t i = 0; i < EXA_ARRAY_LEN(k_types); i++)
        if (k_types[i].id == t) return &k_types[i];
    return NULL;
}
const char *exa_ggml_type_name(uint32_t t) { const ggml_type_info *i = type_info(t); return i ? i->name : NULL; }
size_t exa_ggml_type_block_elems(uint32_t t) { const ggml_type_info *i = type_info(t); return i ? i->blck : 0; }
size_t exa_ggml_type_block_bytes(uint32_t t) { const ggml_type_info *i = type_info(t); return i ? i->bytes : 0; }
int exa_ggml_type_supported(uint32_t t) {
    return t == EXA_GGML_F32 || t == EXA_GGML_F16 || t == EXA_GGML_BF16 || t == EXA_GGML_Q8_0 ||
           t == EXA_GGML_Q4_0 || t == EXA_GGML_Q4_K || t == EXA_GGML_Q5_K || t == EXA_GGML_Q6_K;
}

/* size in bytes of a scalar value type; 0 for STRING/ARRAY/unknown */
static size_t vtype_size(uint32_t t) {
    switch (t) {
    case EXA_GGUF_U8: case EXA_GGUF_I8: case EXA_GGUF_BOOL: return 1;
    case EXA_GGUF_U16: case EXA_GGUF_I16: return 2;
    case EXA_GGUF_U32: case EXA_GGUF_I32: case EXA_GGUF_F32: return 4;
    case EXA_GGUF_U64: case EXA_GGUF_I64: case EXA_GGUF_F64: return 8;
    default: return 0;
    }
}

static const char *vtype_name(uint32_t t) {
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
    return t < EXA_GGUF_VTYPE_COUNT ? names[t] : "?";
}

/* ---------------------------------------------------------------- reader */

typedef struct cursor {
    const uint8_t *p;
    size_t size, pos;
    const char *path;
    char *err;
    size_t err_size;
} cursor;

static uint64_t rd_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static exa_status need(cursor *c, uint64_t n, const char *what) {
    if (n > c->size - c->pos)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF truncated: %s needs %llu bytes at offset %zu, %zu left",
                       c->path, what, (unsigned long long)n, c->pos, c->size - c->pos);
    return EXA_OK;
}

static exa_status rd_u32(cursor *c, uint32_t *v, const char *what) {
    exa_status st = need(c, 4, what);
    if (st) return st;
    *v = (uint32_t)rd_le(c->p + c->pos, 4);
    c->pos += 4;
    return EXA_OK;
}

static exa_status rd_u64(cursor *c, uint64_t *v, const char *what) {
    exa_status st = need(c, 8, what);
    if (st) return st;
    *v = rd_le(c->p + c->pos, 8);
    c->pos += 8;
    return EXA_OK;
}

static exa_status rd_str(cursor *c, exa_gguf_str *s, const char *what) {
    uint64_t len;
    exa_status st = rd_u64(c, &len, what);
    if (st) return st;
    if ((st = need(c, len, what))) return st;
    s->ptr = (const char *)c->p + c->pos;
    s->len = len;
    c->pos += (size_t)len;
    return EXA_OK;
}

static char *dup_str(exa_gguf_str s) {
    char *d = exa_malloc((size_t)s.len + 1);
    if (!d) return NULL;
    memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = 0;
    return d;
}

/* value of scalar type t at the cursor into kv */
static exa_status rd_scalar(cursor *c, uint32_t t, exa_gguf_kv *kv) {
    size_t n = vtype_size(t);
    exa_status st = need(c, n, kv->key);
    if (st) return st;
    uint64_t raw = rd_le(c->p + c->pos, n);
    c->pos += n;
    switch (t) {
    case EXA_GGUF_U8: case EXA_GGUF_U16: case EXA_GGUF_U32: case EXA_GGUF_U64: case EXA_GGUF_BOOL: kv->v.u = raw; break;
    case EXA_GGUF_I8: kv->v.i = (int8_t)raw; break;
    case EXA_GGUF_I16: kv->v.i = (int16_t)raw; break;
    case EXA_GGUF_I32: kv->v.i = (int32_t)raw; break;
    case EXA_GGUF_I64: kv->v.i = (int64_t)raw; break;
    case EXA_GGUF_F32: { uint32_t b = (uint32_t)raw; float f; memcpy(&f, &b, 4); kv->v.f = f; break; }
    case EXA_GGUF_F64: { double f; memcpy(&f, &raw, 8); kv->v.f = f; break; }
    default: break;
    }
    return EXA_OK;
}

static exa_status rd_kv(cursor *c, exa_gguf_kv *kv, uint64_t index) {
    exa_gguf_str key;
    exa_status st = rd_str(c, &key, "metadata key");
    if (st) return st;
    if (key.len == 0 || key.len > 65535)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF metadata key %llu has invalid length %llu", c->path,
                       (unsigned long long)index, (unsigned long long)key.len);
    if (memchr(key.ptr, 0, (size_t)key.len))
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF metadata key %llu contains a NUL byte", c->path,
                       (unsigned long long)index);
    if (!(kv->key = dup_str(key))) return exa_err(c->err, c->err_size, EXA_ERR_NOMEM, "%s: out of memory", c->path);
    uint32_t t;
    if ((st = rd_u32(c, &t, kv->key))) return st;
    if (t >= EXA_GGUF_VTYPE_COUNT)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF key '%s' has unknown value type %u", c->path, kv->key, t);
    kv->type = (exa_gguf_vtype)t;
    if (t == EXA_GGUF_STRING) return rd_str(c, &kv->v.s, kv->key);
    if (t != EXA_GGUF_ARRAY) return rd_scalar(c, t, kv);

    uint32_t et;
    uint64_t n;
    if ((st = rd_u32(c, &et, kv->key)) || (st = rd_u64(c, &n, kv->key))) return st;
    if (et >= EXA_GGUF_VTYPE_COUNT)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF array '%s' has unknown element type %u", c->path, kv->key, et);
    if (et == EXA_GGUF_ARRAY)
        return exa_err(c->err, c->err_size, EXA_ERR_UNSUPPORTED, "%s: GGUF array '%s' is an array of arrays", c->path, kv->key);
    kv->arr_type = (exa_gguf_vtype)et;
    kv->arr_n = n;
    if (et != EXA_GGUF_STRING) {
        uint64_t bytes;
        if (__builtin_mul_overflow(n, (uint64_t)vtype_size(et), &bytes) || bytes > c->size - c->pos)
            return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF array '%s' of %llu %s elements runs past the end of the file",
                           c->path, kv->key, (unsigned long long)n, vtype_name(et));
        kv->arr_data = c->p + c->pos;
        c->pos += (size_t)bytes;
        return EXA_OK;
    }
    /* each string needs at least its 8-byte length: bound n before allocating the table */
    if (n > (c->size - c->pos) / 8)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF string array '%s' claims %llu elements, more than the file holds",
                       c->path, kv->key, (unsigned long long)n);
    kv->arr_strs = exa_calloc((size_t)(n ? n : 1), sizeof(exa_gguf_str));
    if (!kv->arr_strs) return exa_err(c->err, c->err_size, EXA_ERR_NOMEM, "%s: out of memory", c->path);
    for (uint64_t i = 0; i < n; i++)
        if ((st = rd_str(c, &kv->arr_strs[i], kv->key))) return st;
    return EXA_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const exa_gguf_tensor *x = *(const exa_gguf_tensor *const *)a, *y = *(const exa_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const exa_gguf_tensor *const *)a)->name, (*(const exa_gguf_tensor *const *)b)->name);
}

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(const exa_gguf_kv *const *)a)->key, (*(const exa_gguf_kv *const *)b)->key);
}

static exa_status rd_tensor_info(cursor *c, exa_gguf_tensor *t, uint64_t index) {
    exa_gguf_str name;
    exa_status st = rd_str(c, &name, "tensor name");
    if (st) return st;
    if (name.len == 0 || name.len >= EXA_GGUF_MAX_NAME || memchr(name.ptr, 0, (size_t)name.len))
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF tensor %llu has an invalid name (length %llu)", c->path,
                       (unsigned long long)index, (unsigned long long)name.len);
    if (!(t->name = dup_str(name))) return exa_err(c->err, c->err_size, EXA_ERR_NOMEM, "%s: out of memory", c->path);
    uint32_t nd;
    if ((st = rd_u32(c, &nd, t->name))) return st;
    if (nd < 1 || nd > EXA_GGUF_MAX_DIMS)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' has %u dimensions (1..4 allowed)", c->path, t->name, nd);
    t->n_dims = (int)nd;
    uint64_t nel = 1;
    for (int d = 0; d < EXA_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        if ((st = rd_u64(c, &t->ne[d], t->name))) return st;
        if (t->ne[d] > (uint64_t)INT64_MAX || __builtin_mul_overflow(nel, t->ne[d], &nel) || nel > (uint64_t)INT64_MAX)
            return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' has an absurd shape (dimension %u = %llu)",
                           c->path, t->name, d, (unsigned long long)t->ne[d]);
    }
    if ((st = rd_u32(c, &t->type, t->name)) || (st = rd_u64(c, &t->offset, t->name))) return st;
    const ggml_type_info *ti = type_info(t->type);
    if (!ti)
        return exa_err(c->err, c->err_size, EXA_ERR_UNSUPPORTED, "%s: GGUF tensor '%s' has unknown ggml type %u", c->path, t->name, t->type);
    if (t->ne[0] % ti->blck)
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' row of %llu is not a multiple of the %s block (%u)",
                       c->path, t->name, (unsigned long long)t->ne[0], ti->name, ti->blck);
    if (__builtin_mul_overflow(nel / ti->blck, (uint64_t)ti->bytes, &t->nbytes))
        return exa_err(c->err, c->err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' size overflows", c->path, t->name);
    return EXA_OK;
}

static exa_status parse_all(exa_gguf *g, char *err, size_t err_size) {
    cursor c = {g->base, g->size, 0, g->path, err, err_size};
    uint32_t magic;
    exa_status st;
    if ((st = rd_u32(&c, &magic, "magic"))) return st;
    if (magic != EXA_GGUF_MAGIC) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: not a GGUF file (bad magic)", g->path);
    if ((st = rd_u32(&c, &g->version, "version"))) return st;
    if (g->version == 1)
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (re-convert with a current llama.cpp)", g->path);
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xFFFF) == 0 && (g->version >> 16))
            return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: big-endian GGUF files are not supported", g->path);
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: unsupported GGUF version %u", g->path, g->version);
    }
    uint64_t nt, nkv;
    if ((st = rd_u64(&c, &nt, "tensor count")) || (st = rd_u64(&c, &nkv, "metadata count"))) return st;
    /* smallest possible entries: kv = 8 (key len) + 1 (key) + 4 (type) + 1 (u8); tensor info =
     * 8 + 1 + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) */
    const size_t left = c.size - c.pos;
    if (nkv > left / 14)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF metadata count %llu is impossible for a %zu-byte file", g->path,
                       (unsigned long long)nkv, g->size);
    if (nt > left / 33)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF tensor count %llu is impossible for a %zu-byte file", g->path,
                       (unsigned long long)nt, g->size);
    g->kv = exa_calloc((size_t)(nkv ? nkv : 1), sizeof(exa_gguf_kv));
    g->tensors = exa_calloc((size_t)(nt ? nt : 1), sizeof(exa_gguf_tensor));
    if (!g->kv || !g->tensors) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", g->path);
    for (uint64_t i = 0; i < nkv; i++) {
        g->n_kv = i + 1; /* so close() frees partially read entries */
        if ((st = rd_kv(&c, &g->kv[i], i))) return st;
    }
    g->alignment = EXA_GGUF_DEFAULT_ALIGNMENT;
    if (nkv) { /* duplicate keys and general.alignment */
        const exa_gguf_kv **sorted = exa_calloc((size_t)nkv, sizeof *sorted);
        if (!sorted) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", g->path);
        for (uint64_t i = 0; i < nkv; i++) sorted[i] = &g->kv[i];
        qsort(sorted, (size_t)nkv, sizeof *sorted, cmp_key);
        for (uint64_t i = 1; i < nkv; i++)
            if (!strcmp(sorted[i]->key, sorted[i - 1]->key)) {
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF metadata key '%s' appears twice", g->path, sorted[i]->key);
                free(sorted);
                return st;
            }
        free(sorted);
        const exa_gguf_kv *al = exa_gguf_find_kv(g, EXA_GGUF_KEY_ALIGNMENT);
        if (al) {
            if (al->type != EXA_GGUF_U32 || al->v.u == 0 || (al->v.u & (al->v.u - 1)) || al->v.u > (1u << 30))
                return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF general.alignment must be a u32 power of two", g->path);
            g->alignment = (uint32_t)al->v.u;
        }
    }
    for (uint64_t i = 0; i < nt; i++) {
        g->n_tensors = i + 1;
        if ((st = rd_tensor_info(&c, &g->tensors[i], i))) return st;
    }
    g->data_offset = ((uint64_t)c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (nt == 0) return EXA_OK;
    if (g->data_offset > g->size)
        return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF truncated: data section starts at %llu past the end (%zu bytes)",
                       g->path, (unsigned long long)g->data_offset, g->size);
    const uint64_t data_size = g->size - g->data_offset;
    exa_gguf_tensor **order = exa_calloc((size_t)nt, sizeof *order);
    if (!order) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", g->path);
    st = EXA_OK;
    for (uint64_t i = 0; i < nt && !st; i++) {
        exa_gguf_tensor *t = &g->tensors[i];
        order[i] = t;
        if (t->offset % g->alignment)
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' offset %llu is not a multiple of the alignment %u",
                         g->path, t->name, (unsigned long long)t->offset, g->alignment);
        else if (t->offset > data_size || t->nbytes > data_size - t->offset)
            st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' (%llu bytes at data offset %llu) lies past the end of the file",
                         g->path, t->name, (unsigned long long)t->nbytes, (unsigned long long)t->offset);
        else
            t->data = g->base + g->data_offset + t->offset;
    }
    if (!st) {
        qsort(order, (size_t)nt, sizeof *order, cmp_name);
        for (uint64_t i = 1; i < nt && !st; i++)
            if (!strcmp(order[i]->name, order[i - 1]->name))
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF tensor '%s' appears twice", g->path, order[i]->name);
    }
    if (!st) {
        qsort(order, (size_t)nt, sizeof *order, cmp_offset);
        for (uint64_t i = 1; i < nt && !st; i++)
            if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset && order[i - 1]->nbytes && order[i]->nbytes)
                st = exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF tensors '%s' and '%s' overlap", g->path, order[i - 1]->name,
                             order[i]->name);
    }
    free(order);
    return st;
}

exa_status exa_gguf_parse(const uint8_t *data, size_t size, const char *name, exa_gguf **out, char *err, size_t err_size) {
    *out = NULL;
    exa_gguf *g = exa_calloc(1, sizeof *g);
    if (!g) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", name ? name : "gguf");
    snprintf(g->path, sizeof g->path, "%s", name ? name : "<memory>");
    g->base = data;
    g->size = size;
    exa_status st = parse_all(g, err, err_size);
    if (st) {
        exa_gguf_close(g);
        return st;
    }
    *out = g;
    return EXA_OK;
}

exa_status exa_gguf_open(const char *path, int use_mmap, exa_gguf **out, char *err, size_t err_size) {
    *out = NULL;
    exa_mapped_file f;
    exa_status st = exa_file_map(path, use_mmap, &f, err, err_size);
    if (st) return st;
    exa_gguf *g;
    st = exa_gguf_parse(f.data, f.size, path, &g, err, err_size);
    if (st) {
        exa_file_unmap(&f);
        return st;
    }
    g->file = f;
    *out = g;
    return EXA_OK;
}

void exa_gguf_close(exa_gguf *g) {
    if (!g) return;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].arr_strs);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    if (g->file.data) exa_file_unmap(&g->file);
    free(g);
}

const exa_gguf_kv *exa_gguf_find_kv(const exa_gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && !strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const exa_gguf_tensor *exa_gguf_find_tensor(const exa_gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].name && !strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

int exa_gguf_tensor_shape(const exa_gguf_tensor *t, int64_t shape[EXA_GGUF_MAX_DIMS]) {
    for (int d = 0; d < EXA_GGUF_MAX_DIMS; d++) shape[d] = 1;
    for (int d = 0; d < t->n_dims; d++) shape[d] = (int64_t)t->ne[t->n_dims - 1 - d];
    return t->n_dims;
}

static int is_unsigned(exa_gguf_vtype t) { return t == EXA_GGUF_U8 || t == EXA_GGUF_U16 || t == EXA_GGUF_U32 || t == EXA_GGUF_U64; }
static int is_signed(exa_gguf_vtype t) { return t == EXA_GGUF_I8 || t == EXA_GGUF_I16 || t == EXA_GGUF_I32 || t == EXA_GGUF_I64; }

exa_status exa_gguf_get_i64(const exa_gguf *g, const char *key, int64_t *out) {
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, key);
    if (!kv) return EXA_ERR_CONFIG;
    if (is_signed(kv->type)) { *out = kv->v.i; return EXA_OK; }
    if (is_unsigned(kv->type) && kv->v.u <= (uint64_t)INT64_MAX) { *out = (int64_t)kv->v.u; return EXA_OK; }
    return EXA_ERR_FORMAT;
}

exa_status exa_gguf_get_u64(const exa_gguf *g, const char *key, uint64_t *out) {
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, key);
    if (!kv) return EXA_ERR_CONFIG;
    if (is_unsigned(kv->type)) { *out = kv->v.u; return EXA_OK; }
    if (is_signed(kv->type) && kv->v.i >= 0) { *out = (uint64_t)kv->v.i; return EXA_OK; }
    return EXA_ERR_FORMAT;
}

exa_status exa_gguf_get_u32(const exa_gguf *g, const char *key, uint32_t *out) {
    uint64_t v;
    exa_status st = exa_gguf_get_u64(g, key, &v);
    if (st) return st;
    if (v > UINT32_MAX) return EXA_ERR_FORMAT;
    *out = (uint32_t)v;
    return EXA_OK;
}

exa_status exa_gguf_get_f32(const exa_gguf *g, const char *key, float *out) {
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, key);
    if (!kv) return EXA_ERR_CONFIG;
    if (kv->type != EXA_GGUF_F32 && kv->type != EXA_GGUF_F64) return EXA_ERR_FORMAT;
    *out = (float)kv->v.f;
    return EXA_OK;
}

exa_status exa_gguf_get_bool(const exa_gguf *g, const char *key, int *out) {
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, key);
    if (!kv) return EXA_ERR_CONFIG;
    if (kv->type != EXA_GGUF_BOOL) return EXA_ERR_FORMAT;
    *out = kv->v.u != 0;
    return EXA_OK;
}

exa_status exa_gguf_get_str(const exa_gguf *g, const char *key, exa_gguf_str *out) {
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, key);
    if (!kv) return EXA_ERR_CONFIG;
    if (kv->type != EXA_GGUF_STRING) return EXA_ERR_FORMAT;
    *out = kv->v.s;
    return EXA_OK;
}

exa_status exa_gguf_arr_i64(const exa_gguf_kv *kv, uint64_t idx, int64_t *out) {
    if (kv->type != EXA_GGUF_ARRAY || idx >= kv->arr_n) return EXA_ERR_INVALID_ARG;
    size_t es = vtype_size(kv->arr_type);
    if (!es || kv->arr_type == EXA_GGUF_F32 || kv->arr_type == EXA_GGUF_F64) return EXA_ERR_FORMAT;
    uint64_t raw = rd_le(kv->arr_data + idx * es, es);
    switch (kv->arr_type) {
    case EXA_GGUF_I8: *out = (int8_t)raw; break;
    case EXA_GGUF_I16: *out = (int16_t)raw; break;
    case EXA_GGUF_I32: *out = (int32_t)raw; break;
    case EXA_GGUF_I64: *out = (int64_t)raw; break;
    case EXA_GGUF_U64: if (raw > (uint64_t)INT64_MAX) return EXA_ERR_FORMAT; *out = (int64_t)raw; break;
    default: *out = (int64_t)raw; break;
    }
    return EXA_OK;
}

exa_status exa_gguf_arr_f64(const exa_gguf_kv *kv, uint64_t idx, double *out) {
    if (kv->type != EXA_GGUF_ARRAY || idx >= kv->arr_n) return EXA_ERR_INVALID_ARG;
    if (kv->arr_type == EXA_GGUF_F32) {
        uint32_t b = (uint32_t)rd_le(kv->arr_data + idx * 4, 4);
        float f;
        memcpy(&f, &b, 4);
        *out = f;
        return EXA_OK;
    }
    if (kv->arr_type == EXA_GGUF_F64) {
        uint64_t b = rd_le(kv->arr_data + idx * 8, 8);
        memcpy(out, &b, 8);
        return EXA_OK;
    }
    int64_t v;
    exa_status st = exa_gguf_arr_i64(kv, idx, &v);
    if (!st) *out = (double)v;
    return st;
}

/* ---------------------------------------------------------------- writer */

typedef struct wbuf { uint8_t *p; size_t n, cap; int oom; } wbuf;

static void wb_put(wbuf *b, const void *src, size_t n) {
    if (b->oom || n == 0) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void wb_le(wbuf *b, uint64_t v, size_t n) {
    uint8_t t[8];
    for (size_t i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    wb_put(b, t, n);
}
static void wb_str(wbuf *b, const char *s, uint64_t len) { wb_le(b, len, 8); wb_put(b, s, (size_t)len); }

typedef struct wtensor {
    char name[EXA_GGUF_MAX_NAME];
    uint32_t type;
    int n_dims;
    uint64_t ne[EXA_GGUF_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
} wtensor;

struct exa_gguf_writer {
    uint32_t alignment;
    wbuf kv;          /* serialized key/value pairs */
    uint64_t n_kv;
    char **keys;      /* for duplicate detection */
    size_t keys_cap;
    wtensor *tensors;
    uint64_t n_tensors;
    size_t tensors_cap;
};

exa_status exa_gguf_writer_new(uint32_t alignment, exa_gguf_writer **out) {
    *out = NULL;
    if (alignment == 0 || (alignment & (alignment - 1)) || alignment > (1u << 30)) return EXA_ERR_INVALID_ARG;
    exa_gguf_writer *w = exa_calloc(1, sizeof *w);
    if (!w) return EXA_ERR_NOMEM;
    w->alignment = alignment;
    if (alignment != EXA_GGUF_DEFAULT_ALIGNMENT) {
        exa_status st = exa_gguf_writer_add_u32(w, EXA_GGUF_KEY_ALIGNMENT, alignment);
        if (st) { exa_gguf_writer_free(w); return st; }
    }
    *out = w;
    return EXA_OK;
}

void exa_gguf_writer_free(exa_gguf_writer *w) {
    if (!w) return;
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    free(w->keys);
    free(w->kv.p);
    free(w->tensors);
    free(w);
}

/* records the key (rejecting duplicates) and writes key + type */
static exa_status w_key(exa_gguf_writer *w, const char *key, uint32_t type) {
    if (!key || !*key || strlen(key) > 65535) return EXA_ERR_INVALID_ARG;
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->keys[i], key)) return EXA_ERR_INVALID_ARG;
    if (w->n_kv == w->keys_cap) {
        size_t cap = w->keys_cap ? w->keys_cap * 2 : 32;
        char **k = realloc(w->keys, cap * sizeof *k);
        if (!k) return EXA_ERR_NOMEM;
        w->keys = k;
        w->keys_cap = cap;
    }
    size_t kl = strlen(key);
    char *copy = exa_malloc(kl + 1);
    if (!copy) return EXA_ERR_NOMEM;
    memcpy(copy, key, kl + 1);
    w->keys[w->n_kv++] = copy;
    wb_str(&w->kv, key, kl);
    wb_le(&w->kv, type, 4);
    return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
}

static void w_scalar_value(wbuf *b, exa_gguf_vtype type, const void *v) {
    switch (type) {
    case EXA_GGUF_U8: case EXA_GGUF_BOOL: wb_le(b, *(const uint8_t *)v, 1); break;
    case EXA_GGUF_I8: wb_le(b, (uint8_t) * (const int8_t *)v, 1); break;
    case EXA_GGUF_U16: wb_le(b, *(const uint16_t *)v, 2); break;
    case EXA_GGUF_I16: wb_le(b, (uint16_t) * (const int16_t *)v, 2); break;
    case EXA_GGUF_U32: wb_le(b, *(const uint32_t *)v, 4); break;
    case EXA_GGUF_I32: wb_le(b, (uint32_t) * (const int32_t *)v, 4); break;
    case EXA_GGUF_U64: wb_le(b, *(const uint64_t *)v, 8); break;
    case EXA_GGUF_I64: wb_le(b, (uint64_t) * (const int64_t *)v, 8); break;
    case EXA_GGUF_F32: { uint32_t u; memcpy(&u, v, 4); wb_le(b, u, 4); break; }
    case EXA_GGUF_F64: { uint64_t u; memcpy(&u, v, 8); wb_le(b, u, 8); break; }
    default: break;
    }
}

exa_status exa_gguf_writer_add_scalar(exa_gguf_writer *w, const char *key, exa_gguf_vtype type, const void *value) {
    if (!vtype_size(type) || !value) return EXA_ERR_INVALID_ARG;
    exa_status st = w_key(w, key, type);
    if (st) return st;
    w_scalar_value(&w->kv, type, value);
    return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
}

exa_status exa_gguf_writer_add_u32(exa_gguf_writer *w, const char *key, uint32_t v) {
    return exa_gguf_writer_add_scalar(w, key, EXA_GGUF_U32, &v);
}
exa_status exa_gguf_writer_add_f32(exa_gguf_writer *w, const char *key, float v) {
    return exa_gguf_writer_add_scalar(w, key, EXA_GGUF_F32, &v);
}
exa_status exa_gguf_writer_add_bool(exa_gguf_writer *w, const char *key, int v) {
    uint8_t b = v != 0;
    return exa_gguf_writer_add_scalar(w, key, EXA_GGUF_BOOL, &b);
}

exa_status exa_gguf_writer_add_strn(exa_gguf_writer *w, const char *key, const char *s, uint64_t len) {
    if (!s && len) return EXA_ERR_INVALID_ARG;
    exa_status st = w_key(w, key, EXA_GGUF_STRING);
    if (st) return st;
    wb_str(&w->kv, s, len);
    return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
}
exa_status exa_gguf_writer_add_str(exa_gguf_writer *w, const char *key, const char *s) {
    return s ? exa_gguf_writer_add_strn(w, key, s, strlen(s)) : EXA_ERR_INVALID_ARG;
}

exa_status exa_gguf_writer_add_array(exa_gguf_writer *w, const char *key, exa_gguf_vtype elem_type, const void *data, uint64_t n) {
    size_t es = vtype_size(elem_type);
    if (!es || (!data && n)) return EXA_ERR_INVALID_ARG;
    exa_status st = w_key(w, key, EXA_GGUF_ARRAY);
    if (st) return st;
    wb_le(&w->kv, elem_type, 4);
    wb_le(&w->kv, n, 8);
    for (uint64_t i = 0; i < n; i++) w_scalar_value(&w->kv, elem_type, (const uint8_t *)data + i * es);
    return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
}

exa_status exa_gguf_writer_add_str_array(exa_gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    if (!strs && n) return EXA_ERR_INVALID_ARG;
    for (uint64_t i = 0; i < n; i++)
        if (!strs[i]) return EXA_ERR_INVALID_ARG;
    exa_status st = w_key(w, key, EXA_GGUF_ARRAY);
    if (st) return st;
    wb_le(&w->kv, EXA_GGUF_STRING, 4);
    wb_le(&w->kv, n, 8);
    for (uint64_t i = 0; i < n; i++) wb_str(&w->kv, strs[i], strlen(strs[i]));
    return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
}

/* copies a metadata pair read from another GGUF (numeric arrays are already little-endian) */
exa_status exa_gguf_writer_copy_kv(exa_gguf_writer *w, const exa_gguf_kv *kv) {
    if (!kv || !kv->key) return EXA_ERR_INVALID_ARG;
    if (kv->type == EXA_GGUF_STRING) return exa_gguf_writer_add_strn(w, kv->key, kv->v.s.ptr, kv->v.s.len);
    if (kv->type != EXA_GGUF_ARRAY) {
        uint8_t raw[8];
        size_t n = vtype_size(kv->type);
        if (!n) return EXA_ERR_INVALID_ARG;
        uint64_t u = kv->v.u;
        if (kv->type == EXA_GGUF_F32) { float f = (float)kv->v.f; uint32_t b; memcpy(&b, &f, 4); u = b; }
        else if (kv->type == EXA_GGUF_F64) memcpy(&u, &kv->v.f, 8);
        else if (kv->type == EXA_GGUF_I8 || kv->type == EXA_GGUF_I16 || kv->type == EXA_GGUF_I32 || kv->type == EXA_GGUF_I64)
            u = (uint64_t)kv->v.i;
        exa_status st = w_key(w, kv->key, kv->type);
        if (st) return st;
        for (size_t i = 0; i < n; i++) raw[i] = (uint8_t)(u >> (8 * i));
        wb_put(&w->kv, raw, n);
        return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
    }
    exa_status st = w_key(w, kv->key, EXA_GGUF_ARRAY);
    if (st) return st;
    wb_le(&w->kv, kv->arr_type, 4);
    wb_le(&w->kv, kv->arr_n, 8);
    if (kv->arr_type == EXA_GGUF_STRING) {
        for (uint64_t i = 0; i < kv->arr_n; i++) wb_str(&w->kv, kv->arr_strs[i].ptr, kv->arr_strs[i].len);
    } else {
        wb_put(&w->kv, kv->arr_data, (size_t)(kv->arr_n * vtype_size(kv->arr_type)));
    }
    return w->kv.oom ? EXA_ERR_NOMEM : EXA_OK;
}

exa_status exa_gguf_writer_add_tensor(exa_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                      const uint64_t *ne, const void *data) {
    const ggml_type_info *ti = type_info(ggml_type);
    if (!ti || !name || !*name || strlen(name) >= EXA_GGUF_MAX_NAME || n_dims < 1 || n_dims > EXA_GGUF_MAX_DIMS)
        return EXA_ERR_INVALID_ARG;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name)) return EXA_ERR_INVALID_ARG;
    uint64_t nel = 1;
    for (int d = 0; d < n_dims; d++)
        if (__builtin_mul_overflow(nel, ne[d], &nel) || nel > (uint64_t)INT64_MAX) return EXA_ERR_INVALID_ARG;
    if (ne[0] % ti->blck) return EXA_ERR_INVALID_ARG;
    if (!data && nel) return EXA_ERR_INVALID_ARG;
    if (w->n_tensors == w->tensors_cap) {
        size_t cap = w->tensors_cap ? w->tensors_cap * 2 : 16;
        wtensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t) return EXA_ERR_NOMEM;
        w->tensors = t;
        w->tensors_cap = cap;
    }
    wtensor *t = &w->tensors[w->n_tensors++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, strlen(name) + 1);
    t->type = ggml_type;
    t->n_dims = n_dims;
    for (int d = 0; d < n_dims; d++) t->ne[d] = ne[d];
    t->nbytes = nel / ti->blck * ti->bytes;
    t->data = data;
    return EXA_OK;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

exa_status exa_gguf_writer_write(exa_gguf_writer *w, const char *path, char *err, size_t err_size) {
    wbuf h = {0};
    wb_le(&h, EXA_GGUF_MAGIC, 4);
    wb_le(&h, 3, 4);
    wb_le(&h, w->n_tensors, 8);
    wb_le(&h, w->n_kv, 8);
    wb_put(&h, w->kv.p, w->kv.n);
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        wb_str(&h, t->name, strlen(t->name));
        wb_le(&h, (uint64_t)t->n_dims, 4);
        for (int d = 0; d < t->n_dims; d++) wb_le(&h, t->ne[d], 8);
        wb_le(&h, t->type, 4);
        wb_le(&h, off, 8);
        off = align_up(off + t->nbytes, w->alignment);
    }
    static const uint8_t zeros[64] = {0};
    while (h.n % w->alignment) wb_put(&h, zeros, EXA_MIN((size_t)(w->alignment - h.n % w->alignment), sizeof zeros));
    if (h.oom || w->kv.oom) {
        free(h.p);
        return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory building the GGUF header", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(h.p);
        return exa_err(err, err_size, EXA_ERR_IO, "%s: cannot create file", path);
    }
    int ok = fwrite(h.p, 1, h.n, f) == h.n;
    free(h.p);
    for (uint64_t i = 0; i < w->n_tensors && ok; i++) {
        const wtensor *t = &w->tensors[i];
        if (t->nbytes) ok = fwrite(t->data, 1, (size_t)t->nbytes, f) == t->nbytes;
        uint64_t pad = align_up(t->nbytes, w->alignment) - t->nbytes;
        while (ok && pad) {
            size_t k = (size_t)EXA_MIN(pad, (uint64_t)sizeof zeros);
            ok = fwrite(zeros, 1, k, f) == k;
            pad -= k;
        }
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        remove(path);
        return exa_err(err, err_size, EXA_ERR_IO, "%s: write failed", path);
    }
    return EXA_OK;
}

/* ---------------------------------------------------------------- EXAONE names (spec §6.2) */

typedef struct { const char *gguf, *exaone, *exaone4; } name_map;
/* base names without ".weight"; "#" stands for the layer number */
static const name_map k_names[] = {
    {"token_embd", "transformer.wte", "model.embed_tokens"},
    {"output_norm", "transformer.ln_f", "model.norm"},
    {"output", "lm_head", "lm_head"},
    {"blk.#.attn_norm", "transformer.h.#.ln_1", NULL},
    {"blk.#.attn_q", "transformer.h.#.attn.attention.q_proj", "model.layers.#.self_attn.q_proj"},
    {"blk.#.attn_k", "transformer.h.#.attn.attention.k_proj", "model.layers.#.self_attn.k_proj"},
    {"blk.#.attn_v", "transformer.h.#.attn.attention.v_proj", "model.layers.#.self_attn.v_proj"},
    {"blk.#.attn_output", "transformer.h.#.attn.attention.out_proj", "model.layers.#.self_attn.o_proj"},
    {"blk.#.attn_q_norm", NULL, "model.layers.#.self_attn.q_norm"},
    {"blk.#.attn_k_norm", NULL, "model.layers.#.self_attn.k_norm"},
    {"blk.#.post_attention_norm", NULL, "model.layers.#.post_attention_layernorm"},
    {"blk.#.ffn_norm", "transformer.h.#.ln_2", NULL},
    {"blk.#.ffn_gate", "transformer.h.#.mlp.c_fc_0", "model.layers.#.mlp.gate_proj"},
    {"blk.#.ffn_up", "transformer.h.#.mlp.c_fc_1", "model.layers.#.mlp.up_proj"},
    {"blk.#.ffn_down", "transformer.h.#.mlp.c_proj", "model.layers.#.mlp.down_proj"},
    {"blk.#.post_ffw_norm", NULL, "model.layers.#.post_feedforward_layernorm"},
};

const char *exa_gguf_arch_name(exa_arch arch) {
    return arch == EXA_ARCH_EXAONE ? "exaone" : arch == EXA_ARCH_EXAONE4 ? "exaone4" : NULL;
}

/* matches name against pattern (base) + ".weight"; returns layer (or 0 if none) in *layer */
static int match_pattern(const char *pat, const char *name, long *layer) {
    const char *hash = strchr(pat, '#');
    size_t plen = hash ? (size_t)(hash - pat) : strlen(pat);
    if (strncmp(name, pat, plen)) return 0;
    name += plen;
    *layer = -1;
    if (hash) {
        if (*name < '0' || *name > '9' || (name[0] == '0' && name[1] >= '0' && name[1] <= '9')) return 0;
        long v = 0;
        int digits = 0;
        while (*name >= '0' && *name <= '9') {
            if (++digits > 6) return 0;
            v = v * 10 + (*name++ - '0');
        }
        *layer = v;
        pat = hash + 1;
    } else {
        pat += plen;
    }
    size_t slen = strlen(pat);
    if (strncmp(name, pat, slen)) return 0;
    return !strcmp(name + slen, ".weight");
}

static exa_status render(const char *pat, long layer, char *out, size_t out_size) {
    const char *hash = strchr(pat, '#');
    int n = hash ? snprintf(out, out_size, "%.*s%ld%s.weight", (int)(hash - pat), pat, layer, hash + 1)
                 : snprintf(out, out_size, "%s.weight", pat);
    return (n < 0 || (size_t)n >= out_size) ? EXA_ERR_INVALID_ARG : EXA_OK;
}

exa_status exa_gguf_name_from_hf(exa_arch arch, const char *hf, char *out, size_t out_size) {
    if (arch != EXA_ARCH_EXAONE && arch != EXA_ARCH_EXAONE4) return EXA_ERR_INVALID_ARG;
    for (size_t i = 0; i < EXA_ARRAY_LEN(k_names); i++) {
        const char *src = arch == EXA_ARCH_EXAONE ? k_names[i].exaone : k_names[i].exaone4;
        long layer;
        if (src && match_pattern(src, hf, &layer)) return render(k_names[i].gguf, layer, out, out_size);
    }
    return EXA_ERR_UNSUPPORTED;
}

exa_status exa_gguf_name_to_hf(exa_arch arch, const char *gguf, char *out, size_t out_size) {
    if (arch != EXA_ARCH_EXAONE && arch != EXA_ARCH_EXAONE4) return EXA_ERR_INVALID_ARG;
    for (size_t i = 0; i < EXA_ARRAY_LEN(k_names); i++) {
        const char *dst = arch == EXA_ARCH_EXAONE ? k_names[i].exaone : k_names[i].exaone4;
        long layer;
        if (dst && match_pattern(k_names[i].gguf, gguf, &layer)) return render(dst, layer, out, out_size);
    }
    return EXA_ERR_UNSUPPORTED;
}

/* ---------------------------------------------------------------- hyper-parameters */

static exa_status add_arch_u32(exa_gguf_writer *w, const char *arch, const char *name, uint32_t v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    return exa_gguf_writer_add_u32(w, key, v);
}
static exa_status add_arch_f32(exa_gguf_writer *w, const char *arch, const char *name, float v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    return exa_gguf_writer_add_f32(w, key, v);
}

exa_status exa_gguf_write_hparams(exa_gguf_writer *w, const exa_gguf_hparams *hp) {
    const char *a = exa_gguf_arch_name(hp->arch);
    if (!a || hp->n_swa_pattern > EXA_GGUF_MAX_LAYERS) return EXA_ERR_INVALID_ARG;
    exa_status st = exa_gguf_writer_add_str(w, EXA_GGUF_KEY_ARCH, a);
    if (!st) st = add_arch_u32(w, a, "context_length", hp->context_length);
    if (!st) st = add_arch_u32(w, a, "embedding_length", hp->embedding_length);
    if (!st) st = add_arch_u32(w, a, "block_count", hp->block_count);
    if (!st) st = add_arch_u32(w, a, "feed_forward_length", hp->feed_forward_length);
    if (!st) st = add_arch_u32(w, a, "attention.head_count", hp->head_count);
    if (!st) st = add_arch_u32(w, a, "attention.head_count_kv", hp->head_count_kv);
    if (!st) st = add_arch_f32(w, a, "attention.layer_norm_rms_epsilon", hp->rms_eps);
    if (!st) st = add_arch_f32(w, a, "rope.freq_base", hp->rope_freq_base);
    if (!st) st = add_arch_u32(w, a, "rope.dimension_count", hp->rope_dimension_count);
    if (!st) st = add_arch_u32(w, a, "attention.key_length", hp->key_length);
    if (!st) st = add_arch_u32(w, a, "attention.value_length", hp->value_length);
    if (!st && hp->vocab_size) st = add_arch_u32(w, a, "vocab_size", hp->vocab_size);
    if (!st && hp->arch == EXA_ARCH_EXAONE4 && hp->sliding_window)
        st = add_arch_u32(w, a, "attention.sliding_window", hp->sliding_window);
    if (!st && hp->arch == EXA_ARCH_EXAONE4 && hp->n_swa_pattern) {
        char key[128];
        snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", a);
        st = exa_gguf_writer_add_array(w, key, EXA_GGUF_BOOL, hp->swa_pattern, hp->n_swa_pattern);
    }
    return st;
}

exa_status exa_gguf_read_hparams(const exa_gguf *g, exa_gguf_hparams *hp, char *err, size_t err_size) {
    memset(hp, 0, sizeof *hp);
    exa_gguf_str arch;
    if (exa_gguf_get_str(g, EXA_GGUF_KEY_ARCH, &arch) != EXA_OK)
        return exa_err(err, err_size, EXA_ERR_CONFIG, "%s: GGUF has no string general.architecture", g->path);
    if (arch.len == 6 && !memcmp(arch.ptr, "exaone", 6)) hp->arch = EXA_ARCH_EXAONE;
    else if (arch.len == 7 && !memcmp(arch.ptr, "exaone4", 7)) hp->arch = EXA_ARCH_EXAONE4;
    else
        return exa_err(err, err_size, EXA_ERR_UNSUPPORTED, "%s: GGUF architecture '%.*s' is not exaone or exaone4", g->path,
                       (int)EXA_MIN(arch.len, (uint64_t)64), arch.ptr);
    const char *a = exa_gguf_arch_name(hp->arch);
    struct { const char *name; uint32_t *dst; int required; } u[] = {
        {"context_length", &hp->context_length, 1},   {"embedding_length", &hp->embedding_length, 1},
        {"block_count", &hp->block_count, 1},         {"feed_forward_length", &hp->feed_forward_length, 1},
        {"attention.head_count", &hp->head_count, 1}, {"attention.head_count_kv", &hp->head_count_kv, 0},
        {"attention.key_length", &hp->key_length, 0}, {"attention.value_length", &hp->value_length, 0},
        {"rope.dimension_count", &hp->rope_dimension_count, 0}, {"vocab_size", &hp->vocab_size, 0},
        {"attention.sliding_window", &hp->sliding_window, 0},
    };
    char key[128];
    for (size_t i = 0; i < EXA_ARRAY_LEN(u); i++) {
        snprintf(key, sizeof key, "%s.%s", a, u[i].name);
        exa_status st = exa_gguf_get_u32(g, key, u[i].dst);
        if (st == EXA_ERR_FORMAT || (st && u[i].required))
            return exa_err(err, err_size, st == EXA_ERR_FORMAT ? EXA_ERR_FORMAT : EXA_ERR_CONFIG, "%s: GGUF key %s is %s", g->path,
                           key, st == EXA_ERR_FORMAT ? "not a valid u32" : "missing");
    }
    if (hp->head_count == 0 || hp->embedding_length % hp->head_count || hp->block_count > EXA_GGUF_MAX_LAYERS)
        return exa_err(err, err_size, EXA_ERR_CONFIG, "%s: GGUF head_count/block_count out of range", g->path);
    if (!hp->head_count_kv) hp->head_count_kv = hp->head_count;
    if (!hp->key_length) hp->key_length = hp->embedding_length / hp->head_count;
    if (!hp->value_length) hp->value_length = hp->key_length;
    if (!hp->rope_dimension_count) hp->rope_dimension_count = hp->key_length;
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", a);
    if (exa_gguf_get_f32(g, key, &hp->rms_eps)) return exa_err(err, err_size, EXA_ERR_CONFIG, "%s: GGUF key %s missing or not a float", g->path, key);
    snprintf(key, sizeof key, "%s.rope.freq_base", a);
    exa_status st = exa_gguf_get_f32(g, key, &hp->rope_freq_base);
    if (st == EXA_ERR_CONFIG) hp->rope_freq_base = 10000.f; /* llama.cpp's default */
    else if (st) return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF key %s is not a float", g->path, key);
    snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", a);
    const exa_gguf_kv *pat = exa_gguf_find_kv(g, key);
    if (pat) {
        if (pat->type != EXA_GGUF_ARRAY || pat->arr_type != EXA_GGUF_BOOL || pat->arr_n != hp->block_count)
            return exa_err(err, err_size, EXA_ERR_FORMAT, "%s: GGUF %s must be a bool array of block_count entries", g->path, key);
        hp->n_swa_pattern = (uint32_t)pat->arr_n;
        for (uint64_t i = 0; i < pat->arr_n; i++) hp->swa_pattern[i] = pat->arr_data[i] != 0;
    }
    return EXA_OK;
}

void exa_gguf_llama3_rope_factors(int head_dim, float rope_theta, float factor, float low_freq_factor,
                                  float high_freq_factor, float original_ctx, float *out) {
    const float low_wavelen = original_ctx / low_freq_factor, high_wavelen = original_ctx / high_freq_factor;
    for (int i = 0; i < head_dim / 2; i++) {
        /* torch: 1.0 / (base ** (arange(0, dim, 2, float32) / dim)), all in fp32 */
        const float expo = (float)(2 * i) / (float)head_dim;
        const float freq = 1.0f / powf(rope_theta, expo);
        const float wavelen = (float)(2.0 * M_PI) / freq;
        if (wavelen < high_wavelen) out[i] = 1.0f;
        else if (wavelen > low_wavelen) out[i] = factor;
        else {
            const float smooth = (original_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            out[i] = 1.0f / ((1.0f - smooth) / factor + smooth);
        }
    }
}

/* ---------------------------------------------------------------- locating a GGUF */

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

int exa_gguf_locate(const char *path, char *out, size_t out_size) {
    if (!path || !out || !out_size) return 0;
    DIR *d = opendir(path);
    if (d) { /* the folder rule of exa_model_load: exactly one .gguf and no safetensors */
        int n_gguf = 0, n_st = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (ends_with(e->d_name, ".gguf")) {
                if (!n_gguf++ && !exa_path_join(out, out_size, path, e->d_name)) n_gguf = 99;
            } else if (ends_with(e->d_name, ".safetensors") || !strcmp(e->d_name, "model.safetensors.index.json")) n_st++;
        }
        closedir(d);
        return n_gguf == 1 && !n_st;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0; /* never block on a FIFO or device */
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t magic[4];
    int ok = fread(magic, 1, 4, f) == 4 && rd_le(magic, 4) == EXA_GGUF_MAGIC;
    fclose(f);
    if (!ok || strlen(path) >= out_size) return 0;
    memcpy(out, path, strlen(path) + 1);
    return 1;
}
