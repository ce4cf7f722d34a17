/* safetensors.c — see safetensors.h. Checks, in order: header length within the file and the
 * 100 MiB cap; strict UTF-8 JSON object; per tensor: known dtype string, shape of non-negative
 * integers with no overflow, data_offsets [begin, end] within the data section and equal in
 * length to the shape; no two tensors overlap; no duplicate names. */
#include "model/safetensors.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_ERR(...) exa_err(err, err_size, EXA_ERR_FORMAT, __VA_ARGS__)

static const struct { const char *name; int size; int exa; } st_dtypes[] = {
    {"F32", 4, EXA_DTYPE_F32}, {"F16", 2, EXA_DTYPE_F16}, {"BF16", 2, EXA_DTYPE_BF16},
    {"F64", 8, -1}, {"I64", 8, -1}, {"I32", 4, -1}, {"I16", 2, -1}, {"I8", 1, -1}, {"U8", 1, -1},
    {"U16", 2, -1}, {"U32", 4, -1}, {"U64", 8, -1}, {"BOOL", 1, -1}, {"F8_E4M3", 1, -1}, {"F8_E5M2", 1, -1},
};

void exa_st_tensors_free(exa_st_tensor *tensors, int n) {
    if (!tensors) return;
    for (int i = 0; i < n; i++) free(tensors[i].name);
    free(tensors);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const exa_st_tensor *)a)->name, ((const exa_st_tensor *)b)->name);
}

typedef struct { uint64_t b, e; const char *name; } span;
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

/* reads a JSON integer that must be in [0, 2^53] */
static int get_u64(struct json_object *v, uint64_t *out) {
    if (!v || !json_object_is_type(v, json_type_int)) return 0;
    int64_t x = json_object_get_int64(v);
    if (x < 0 || x > ((int64_t)1 << 53)) return 0;
    *out = (uint64_t)x;
    return 1;
}

exa_status exa_st_parse(const uint8_t *data, size_t size, const char *path, exa_st_tensor **tensors, int *n_out,
                        char *err, size_t err_size) {
    *tensors = NULL;
    *n_out = 0;
    if (size < 8) return ST_ERR("%s: truncated safetensors file (%zu bytes, no header length)", path, size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)data[i] << (8 * i);
    if (hlen > EXA_ST_MAX_HEADER) return ST_ERR("%s: safetensors header length %llu exceeds the 100 MiB limit", path, (unsigned long long)hlen);
    if (hlen > size - 8) return ST_ERR("%s: safetensors header length %llu runs past the end of the file (%zu bytes)", path, (unsigned long long)hlen, size);
    if (hlen < 2) return ST_ERR("%s: safetensors header too short", path);
    const char *hdr = (const char *)data + 8;
    const uint8_t *payload = data + 8 + hlen;
    uint64_t payload_size = size - 8 - hlen;

    struct json_tokener *tok = json_tokener_new_ex(32);
    if (!tok) return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", path);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, hdr, (int)hlen);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return ST_ERR("%s: safetensors header is not valid UTF-8 JSON (%s)", path,
                      jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr));
    }
    for (size_t i = end; i < hlen; i++)
        if (hdr[i] != ' ') { json_object_put(root); return ST_ERR("%s: safetensors header has trailing bytes", path); }
    if (!json_object_is_type(root, json_type_object)) { json_object_put(root); return ST_ERR("%s: safetensors header is not a JSON object", path); }

    int cap = json_object_object_length(root);
    exa_st_tensor *ts = exa_calloc((size_t)(cap > 0 ? cap : 1), sizeof *ts);
    span *spans = exa_calloc((size_t)(cap > 0 ? cap : 1), sizeof *spans);
    exa_status st = EXA_OK;
    int n = 0;
    if (!ts || !spans) { st = exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    json_object_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_object_is_type(val, json_type_object)) { st = ST_ERR("%s: __metadata__ must be an object", path); goto fail; }
            continue;
        }
        if (!json_object_is_type(val, json_type_object)) { st = ST_ERR("%s: tensor '%s': entry is not an object", path, key); goto fail; }
        struct json_object *jd, *js, *jo;
        if (!json_object_object_get_ex(val, "dtype", &jd) || !json_object_is_type(jd, json_type_string) ||
            !json_object_object_get_ex(val, "shape", &js) || !json_object_is_type(js, json_type_array) ||
            !json_object_object_get_ex(val, "data_offsets", &jo) || !json_object_is_type(jo, json_type_array) ||
            json_object_array_length(jo) != 2) {
            st = ST_ERR("%s: tensor '%s': needs dtype, shape and data_offsets [begin, end]", path, key);
            goto fail;
        }
        const char *dt = json_object_get_string(jd);
        int di = -1;
        for (size_t k = 0; k < EXA_ARRAY_LEN(st_dtypes); k++)
            if (!strcmp(dt, st_dtypes[k].name)) di = (int)k;
        if (di < 0) { st = ST_ERR("%s: tensor '%s': unknown dtype '%.16s'", path, key, dt); goto fail; }
        size_t nd = json_object_array_length(js);
        if (nd > EXA_MAX_DIMS) { st = ST_ERR("%s: tensor '%s': %zu dimensions (at most %d supported)", path, key, nd, EXA_MAX_DIMS); goto fail; }
        exa_st_tensor *t = &ts[n];
        uint64_t nbytes = (uint64_t)st_dtypes[di].size;
        for (size_t k = 0; k < nd; k++) {
            uint64_t dim;
            if (!get_u64(json_object_array_get_idx(js, k), &dim)) { st = ST_ERR("%s: tensor '%s': shape[%zu] is not a non-negative integer", path, key, k); goto fail; }
            if (dim && nbytes > UINT64_MAX / dim) { st = ST_ERR("%s: tensor '%s': shape overflows", path, key); goto fail; }
            nbytes *= dim;
            t->t.shape[k] = (int64_t)dim;
        }
        uint64_t b, e;
        if (!get_u64(json_object_array_get_idx(jo, 0), &b) || !get_u64(json_object_array_get_idx(jo, 1), &e) || b > e) {
            st = ST_ERR("%s: tensor '%s': data_offsets must be non-negative integers with begin <= end", path, key);
            goto fail;
        }
        if (e > payload_size) {
            st = ST_ERR("%s: tensor '%s': data_offsets [%llu, %llu] past the end of the data (%llu bytes; file truncated?)", path, key,
                        (unsigned long long)b, (unsigned long long)e, (unsigned long long)payload_size);
            goto fail;
        }
        if (e - b != nbytes) {
            st = ST_ERR("%s: tensor '%s': data_offsets span %llu bytes but dtype %s and shape need %llu", path, key,
                        (unsigned long long)(e - b), dt, (unsigned long long)nbytes);
            goto fail;
        }
        t->name = strdup(key);
        if (!t->name) { st = exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", path); goto fail; }
        snprintf(t->st_dtype, sizeof t->st_dtype, "%s", dt);
        t->dtype_ok = st_dtypes[di].exa >= 0;
        t->t.dtype = t->dtype_ok ? (exa_dtype)st_dtypes[di].exa : EXA_DTYPE_F32;
        t->t.name = t->name;
        t->t.ndim = (int)nd;
        t->t.data = payload + b;
        t->t.nbytes = (size_t)nbytes;
        spans[n] = (span){b, e, t->name};
        n++;
    }
    qsort(spans, (size_t)n, sizeof *spans, cmp_span);
    for (int i = 1; i < n; i++)
        if (spans[i].b < spans[i - 1].e) { st = ST_ERR("%s: tensors '%s' and '%s' overlap in the data section", path, spans[i - 1].name, spans[i].name); goto fail; }
    qsort(ts, (size_t)n, sizeof *ts, cmp_name); /* json-c rejects duplicate keys? it keeps the last: check anyway */
    for (int i = 1; i < n; i++)
        if (!strcmp(ts[i].name, ts[i - 1].name)) { st = ST_ERR("%s: duplicate tensor name '%s'", path, ts[i].name); goto fail; }
    free(spans);
    json_object_put(root);
    for (int i = 0; i < n; i++) ts[i].t.name = ts[i].name;
    *tensors = ts;
    *n_out = n;
    return EXA_OK;
fail:
    free(spans);
    exa_st_tensors_free(ts, n);
    json_object_put(root);
    return st;
}

exa_status exa_st_open(const char *path, int use_mmap, exa_st_file **out, char *err, size_t err_size) {
    *out = NULL;
    exa_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) { free(f); return exa_err(err, err_size, EXA_ERR_NOMEM, "%s: out of memory", path); }
    exa_status st = exa_file_map(path, use_mmap, &f->map, err, err_size);
    if (st == EXA_OK) st = exa_st_parse(f->map.data, f->map.size, path, &f->tensors, &f->n_tensors, err, err_size);
    if (st != EXA_OK) { exa_st_close(f); return st; }
    *out = f;
    return EXA_OK;
}

void exa_st_close(exa_st_file *f) {
    if (!f) return;
    exa_st_tensors_free(f->tensors, f->n_tensors);
    exa_file_unmap(&f->map);
    free(f->path);
    free(f);
}

const exa_st_tensor *exa_st_find(const exa_st_file *f, const char *name) {
    exa_st_tensor key = {.name = (char *)name};
    return bsearch(&key, f->tensors, (size_t)f->n_tensors, sizeof key, cmp_name);
}

static const char *st_dtype_name(exa_dtype t) {
    switch (t) {
    case EXA_DTYPE_F32: return "F32";
    case EXA_DTYPE_F16: return "F16";
    case EXA_DTYPE_BF16: return "BF16";
    default: return NULL;
    }
}

exa_status exa_st_write(const char *path, const exa_st_write_tensor *ts, int n, const char *metadata_json,
                        exa_st_fill_fn fill, void *user, char *err, size_t err_size) {
    struct json_object *hdr = json_object_new_object();
    if (!hdr) return exa_err(err, err_size, EXA_ERR_NOMEM, "out of memory");
    exa_status st = EXA_OK;
    if (metadata_json) {
        struct json_object *md = json_tokener_parse(metadata_json);
        if (!md || !json_object_is_type(md, json_type_object)) {
            json_object_put(md);
            json_object_put(hdr);
            return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: metadata must be a JSON object", path);
        }
        json_object_object_add(hdr, "__metadata__", md);
    }
    uint64_t off = 0, maxbytes = 0;
    for (int i = 0; i < n; i++) {
        const char *dn = st_dtype_name(ts[i].dtype);
        if (!dn || ts[i].ndim < 0 || ts[i].ndim > EXA_MAX_DIMS) { json_object_put(hdr); return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: tensor '%s': bad dtype or rank", path, ts[i].name); }
        uint64_t nb = exa_dtype_size(ts[i].dtype);
        struct json_object *e = json_object_new_object(), *shape = json_object_new_array(), *offs = json_object_new_array();
        for (int k = 0; k < ts[i].ndim; k++) {
            nb *= (uint64_t)ts[i].shape[k];
            json_object_array_add(shape, json_object_new_int64(ts[i].shape[k]));
        }
        json_object_array_add(offs, json_object_new_int64((int64_t)off));
        json_object_array_add(offs, json_object_new_int64((int64_t)(off + nb)));
        json_object_object_add(e, "dtype", json_object_new_string(dn));
        json_object_object_add(e, "shape", shape);
        json_object_object_add(e, "data_offsets", offs);
        json_object_object_add(hdr, ts[i].name, e);
        off += nb;
        if (nb > maxbytes) maxbytes = nb;
    }
    const char *js = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t hl = strlen(js), padded = (hl + 7) & ~(size_t)7; /* data section 8-byte aligned */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) { json_object_put(hdr); return exa_err(err, err_size, EXA_ERR_INVALID_ARG, "%s: path too long", path); }
    FILE *f = fopen(tmp, "wb");
    if (!f) { json_object_put(hdr); return exa_err(err, err_size, EXA_ERR_IO, "%s: cannot create", tmp); }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(js, 1, hl, f) == hl;
    for (size_t i = hl; i < padded && ok; i++) ok = fputc(' ', f) != EOF;
    json_object_put(hdr);
    /* stream each tensor through a bounded buffer */
    const size_t chunk = 64u << 20;
    uint8_t *buf = exa_malloc(maxbytes < chunk ? (size_t)maxbytes : chunk);
    if (!buf) ok = 0;
    for (int i = 0; i < n && ok; i++) {
        uint64_t nb = exa_dtype_size(ts[i].dtype);
        for (int k = 0; k < ts[i].ndim; k++) nb *= (uint64_t)ts[i].shape[k];
        if (nb <= chunk) {
            ok = fill(user, i, buf, (size_t)nb) == 0 && fwrite(buf, 1, (size_t)nb, f) == nb;
        } else { /* large tensors: fill() is called with the index and successive pieces */
            for (uint64_t done = 0; done < nb && ok; done += chunk) {
                size_t piece = (size_t)EXA_MIN(chunk, nb - done);
                ok = fill(user, i, buf, piece) == 0 && fwrite(buf, 1, piece, f) == piece;
            }
        }
    }
    free(buf);
    if (fclose(f) != 0) ok = 0;
    if (!ok) { remove(tmp); return exa_err(err, err_size, EXA_ERR_IO, "%s: write failed", path); }
    if (rename(tmp, path) != 0) { remove(tmp); st = exa_err(err, err_size, EXA_ERR_IO, "%s: rename failed", path); }
    return st;
}
