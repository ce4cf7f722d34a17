/* train_io.c — token-shard loader, safetensors writer/reader and atomic file helpers for the
 * trainer (see train_io.h). */
#include "train/train_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tensor.h"

/* ---- shards ---- */
static int32_t rd_i32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24); }

exa_status exa_shard_check(const uint8_t *data, size_t size, const char *path, int *tsize, int64_t *n_tokens,
                           char *err, size_t errsz) {
    size_t hb = EXA_SHARD_HEADER_INTS * 4;
    if (size < hb) return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: shorter than the 1024-byte shard header", path);
    int32_t magic = rd_i32(data), ver = rd_i32(data + 4), n = rd_i32(data + 8);
    if (magic == EXA_SHARD_MAGIC_U16 && ver == 1) *tsize = 2;
    else if (magic == EXA_SHARD_MAGIC_U32 && ver == 7) *tsize = 4;
    else return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: not a token shard (magic %d version %d; want 20240520/1 or 20240801/7)", path, magic, ver);
    if (n < 0) return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: negative token count", path);
    if ((size - hb) / (size_t)*tsize < (size_t)n || (size - hb) != (size_t)n * (size_t)*tsize)
        return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: header says %d tokens but the file holds %zu bytes of tokens", path, n, size - hb);
    *n_tokens = n;
    return EXA_OK;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

exa_status exa_loader_open(exa_loader *ld, const char *pattern, int want_val, int B, int T, int vocab,
                           char *err, size_t errsz) {
    memset(ld, 0, sizeof *ld);
    ld->B = B; ld->T = T; ld->vocab = vocab;
    char **names = NULL;
    int n = 0;
    struct stat st;
    if (stat(pattern, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(pattern);
        if (!dir) return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot open folder (%s)", pattern, strerror(errno));
        struct dirent *de;
        while ((de = readdir(dir))) {
            size_t len = strlen(de->d_name);
            if (len < 5 || strcmp(de->d_name + len - 4, ".bin")) continue;
            if ((strstr(de->d_name, "val") != NULL) != (want_val != 0)) continue;
            char **nn = realloc(names, sizeof *names * (size_t)(n + 1));
            char *p = malloc(strlen(pattern) + len + 2);
            if (!nn || !p) { free(p); if (nn) names = nn; closedir(dir); goto oom; }
            names = nn;
            sprintf(p, "%s/%s", pattern, de->d_name);
            names[n++] = p;
        }
        closedir(dir);
    } else {
        glob_t g;
        int rc = glob(pattern, 0, NULL, &g);
        if (rc == 0) {
            names = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof *names);
            if (!names) { globfree(&g); goto oom; }
            for (size_t i = 0; i < g.gl_pathc; i++) {
                names[n] = strdup(g.gl_pathv[i]);
                if (!names[n]) { globfree(&g); goto oom; }
                n++;
            }
        }
        globfree(&g);
    }
    if (!n) { free(names); return exa_err(err, errsz, EXA_ERR_IO, "%s: no %stoken shards (*.bin) found", pattern, want_val ? "validation " : ""); }
    qsort(names, (size_t)n, sizeof *names, cmpstr);
    ld->shards = calloc((size_t)n, sizeof *ld->shards);
    if (!ld->shards) goto oom;
    ld->n_shards = n;
    int usable = 0;
    for (int i = 0; i < n; i++) {
        exa_shard *s = &ld->shards[i];
        s->path = names[i];
        names[i] = NULL;
        exa_status rc = exa_file_map(s->path, 1, &s->f, err, errsz);
        if (rc == EXA_OK) rc = exa_shard_check(s->f.data, s->f.size, s->path, &s->tsize, &s->n_tokens, err, errsz);
        if (rc != EXA_OK) { free(names); exa_loader_close(ld); return rc; }
        if (s->n_tokens >= (int64_t)B * T + 1) usable++;
    }
    free(names);
    if (!usable) {
        exa_err(err, errsz, EXA_ERR_INVALID_ARG, "%s: no shard holds the %lld tokens one batch needs (batch %d x seq %d + 1)",
                pattern, (long long)B * T + 1, B, T);
        exa_loader_close(ld);
        return EXA_ERR_INVALID_ARG;
    }
    return EXA_OK;
oom:
    for (int i = 0; i < n; i++) free(names ? names[i] : NULL);
    free(names);
    return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory listing shards", pattern);
}

void exa_loader_close(exa_loader *ld) {
    for (int i = 0; i < ld->n_shards; i++) { free(ld->shards[i].path); exa_file_unmap(&ld->shards[i].f); }
    free(ld->shards);
    memset(ld, 0, sizeof *ld);
}

void exa_loader_reset(exa_loader *ld) { ld->shard = 0; ld->pos = 0; }

exa_status exa_loader_next(exa_loader *ld, int32_t *x, int32_t *y, char *err, size_t errsz) {
    int64_t need = (int64_t)ld->B * ld->T + 1;
    for (int tries = 0; ld->pos + need > ld->shards[ld->shard].n_tokens; tries++) {
        if (tries > ld->n_shards) return exa_err(err, errsz, EXA_ERR_INVALID_ARG, "data: no shard is long enough");
        ld->shard = (ld->shard + 1) % ld->n_shards;
        ld->pos = 0;
    }
    const exa_shard *s = &ld->shards[ld->shard];
    const uint8_t *base = s->f.data + EXA_SHARD_HEADER_INTS * 4;
    for (int64_t i = 0; i < need; i++) {
        int64_t k = ld->pos + i;
        uint32_t t = s->tsize == 2 ? (uint32_t)(base[2 * k] | base[2 * k + 1] << 8) : (uint32_t)rd_i32(base + 4 * k);
        if (t >= (uint32_t)ld->vocab)
            return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: token %u at position %lld is outside the vocabulary (%d)",
                           s->path, t, (long long)k, ld->vocab);
        if (i < need - 1) x[i] = (int32_t)t;
        if (i > 0) y[i - 1] = (int32_t)t;
    }
    ld->pos += need - 1;
    return EXA_OK;
}

/* ---- atomic files ---- */
int exa_train_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static exa_status write_all(FILE *f, const void *p, size_t n, const char *path, char *err, size_t errsz) {
    if (n && fwrite(p, 1, n, f) != n) return exa_err(err, errsz, EXA_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
    return EXA_OK;
}

static exa_status finish_atomic(FILE *f, const char *tmp, const char *path, char *err, size_t errsz) {
    if (fflush(f) || fsync(fileno(f))) {
        fclose(f);
        unlink(tmp);
        return exa_err(err, errsz, EXA_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
    }
    if (fclose(f) || rename(tmp, path)) {
        unlink(tmp);
        return exa_err(err, errsz, EXA_ERR_IO, "%s: could not be written (%s)", path, strerror(errno));
    }
    return EXA_OK;
}

exa_status exa_train_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errsz) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return exa_err(err, errsz, EXA_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    exa_status rc = write_all(f, data, n, tmp, err, errsz);
    if (rc) { fclose(f); unlink(tmp); return rc; }
    return finish_atomic(f, tmp, path, err, errsz);
}

int exa_train_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st)) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", path, de->d_name) >= (int)sizeof p) { rc = -1; continue; }
        if (exa_train_rm_rf(p)) rc = -1;
    }
    closedir(d);
    if (rmdir(path)) rc = -1;
    return rc;
}

exa_status exa_train_copy_file(const char *src, const char *dst, char *err, size_t errsz) {
    char *data;
    size_t n;
    exa_status rc = exa_file_read(src, (size_t)4 << 30, &data, &n, err, errsz);
    if (rc) return rc;
    rc = exa_train_write_atomic(dst, data, n, err, errsz);
    free(data);
    return rc;
}

/* ---- safetensors ---- */
static const char *st_name(exa_tst_dtype t) {
    return t == EXA_TST_F32 ? "F32" : t == EXA_TST_BF16 ? "BF16" : t == EXA_TST_I32 ? "I32" : t == EXA_TST_F16 ? "F16" : "U64";
}
static size_t st_size(exa_tst_dtype t) { return t == EXA_TST_BF16 || t == EXA_TST_F16 ? 2 : t == EXA_TST_U64 ? 8 : 4; }

static size_t st_numel(const int64_t *shape, int ndim) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    return n;
}

exa_status exa_tst_write(const char *path, const exa_tst_entry *e, int n, const char *const *meta, char *err,
                        size_t errsz) {
    json_object *h = json_object_new_object();
    if (meta && meta[0]) {
        json_object *md = json_object_new_object();
        for (int i = 0; meta[i] && meta[i + 1]; i += 2) json_object_object_add(md, meta[i], json_object_new_string(meta[i + 1]));
        json_object_object_add(h, "__metadata__", md);
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        json_object *t = json_object_new_object(), *sh = json_object_new_array(), *of = json_object_new_array();
        json_object_object_add(t, "dtype", json_object_new_string(st_name(e[i].dtype)));
        for (int k = 0; k < e[i].ndim; k++) json_object_array_add(sh, json_object_new_int64(e[i].shape[k]));
        json_object_object_add(t, "shape", sh);
        size_t nb = st_numel(e[i].shape, e[i].ndim) * st_size(e[i].dtype);
        json_object_array_add(of, json_object_new_int64((int64_t)off));
        json_object_array_add(of, json_object_new_int64((int64_t)(off + nb)));
        json_object_object_add(t, "data_offsets", of);
        json_object_object_add(h, e[i].name, t);
        off += nb;
    }
    const char *hs = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t hl = strlen(hs), padded = (hl + 7) & ~(size_t)7;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) { json_object_put(h); return exa_err(err, errsz, EXA_ERR_INVALID_ARG, "%s: path too long", path); }
    FILE *f = fopen(tmp, "wb");
    if (!f) { json_object_put(h); return exa_err(err, errsz, EXA_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno)); }
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    exa_status rc = write_all(f, le, 8, tmp, err, errsz);
    if (!rc) rc = write_all(f, hs, hl, tmp, err, errsz);
    for (size_t i = hl; !rc && i < padded; i++) rc = write_all(f, " ", 1, tmp, err, errsz);
    json_object_put(h);
    uint16_t *cvt = NULL;
    for (int i = 0; !rc && i < n; i++) {
        size_t ne = st_numel(e[i].shape, e[i].ndim);
        if (e[i].dtype == EXA_TST_BF16) {
            const float *src = e[i].data;
            size_t chunk = 1 << 16;
            if (!cvt) cvt = malloc(chunk * sizeof *cvt);
            if (!cvt) { rc = exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path); break; }
            for (size_t a = 0; !rc && a < ne; a += chunk) {
                size_t b = EXA_MIN(ne, a + chunk);
                for (size_t k = a; k < b; k++) cvt[k - a] = exa_f32_to_bf16(src[k]);
                rc = write_all(f, cvt, (b - a) * 2, tmp, err, errsz);
            }
        } else {
            rc = write_all(f, e[i].data, ne * st_size(e[i].dtype), tmp, err, errsz);
        }
    }
    free(cvt);
    if (rc) { fclose(f); unlink(tmp); return rc; }
    return finish_atomic(f, tmp, path, err, errsz);
}

void exa_tst_close(exa_tst_file *sf) {
    for (int i = 0; i < sf->n; i++) free(sf->t[i].name);
    free(sf->t);
    for (int i = 0; i < 2 * sf->n_meta; i++) free(sf->meta_kv[i]);
    free(sf->meta_kv);
    exa_file_unmap(&sf->f);
    memset(sf, 0, sizeof *sf);
}

exa_status exa_tst_parse(exa_tst_file *sf, const uint8_t *data, size_t size, const char *path, char *err, size_t errsz) {
    sf->n = 0; sf->t = NULL; sf->meta_kv = NULL; sf->n_meta = 0;
    if (size < 8) return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: too short for safetensors", path);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)data[i] << (8 * i);
    if (hl > size - 8 || hl > (100u << 20)) return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: header length %llu exceeds the file", path, (unsigned long long)hl);
    sf->data_start = 8 + (size_t)hl;
    size_t dsize = size - sf->data_start;
    json_tokener *tok = json_tokener_new();
    if (!tok) return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path);
    json_object *root = json_tokener_parse_ex(tok, (const char *)data + 8, (int)hl);
    int ok = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!root || !ok || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return exa_err(err, errsz, EXA_ERR_FORMAT, "%s: safetensors header is not a JSON object", path);
    }
    int cap = json_object_object_length(root);
    sf->t = calloc((size_t)(cap ? cap : 1), sizeof *sf->t);
    if (!sf->t) { json_object_put(root); return exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path); }
    exa_status rc = EXA_OK;
    json_object_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_object_is_type(val, json_type_object)) { rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: __metadata__ is not an object", path); break; }
            int nm = json_object_object_length(val);
            sf->meta_kv = calloc((size_t)(2 * nm + 1), sizeof(char *));
            if (!sf->meta_kv) { rc = exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path); break; }
            json_object_object_foreach(val, mk, mv) {
                sf->meta_kv[2 * sf->n_meta] = strdup(mk);
                sf->meta_kv[2 * sf->n_meta + 1] = strdup(json_object_get_string(mv) ? json_object_get_string(mv) : "");
                sf->n_meta++;
            }
            continue;
        }
        json_object *dt, *sh, *of;
        if (!json_object_is_type(val, json_type_object) || !json_object_object_get_ex(val, "dtype", &dt) ||
            !json_object_object_get_ex(val, "shape", &sh) || !json_object_object_get_ex(val, "data_offsets", &of) ||
            !json_object_is_type(sh, json_type_array) || !json_object_is_type(of, json_type_array) ||
            json_object_array_length(of) != 2 || json_object_array_length(sh) > 4) {
            rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor \"%s\" has a malformed entry", path, key);
            break;
        }
        struct exa_tst_tensor *t = &sf->t[sf->n];
        const char *ds = json_object_get_string(dt);
        if (!ds) ds = "";
        if (!strcmp(ds, "F32")) t->dtype = EXA_TST_F32;
        else if (!strcmp(ds, "BF16")) t->dtype = EXA_TST_BF16;
        else if (!strcmp(ds, "I32")) t->dtype = EXA_TST_I32;
        else if (!strcmp(ds, "U64")) t->dtype = EXA_TST_U64;
        else if (!strcmp(ds, "F16")) t->dtype = EXA_TST_F16;
        else { rc = exa_err(err, errsz, EXA_ERR_UNSUPPORTED, "%s: tensor \"%s\" has dtype %s (F32/BF16/F16/I32/U64 supported)", path, key, ds); break; }
        t->ndim = (int)json_object_array_length(sh);
        size_t ne = 1;
        for (int k = 0; k < t->ndim; k++) {
            int64_t v = json_object_get_int64(json_object_array_get_idx(sh, (size_t)k));
            if (v < 0 || v > ((int64_t)1 << 40) || (v && ne > ((size_t)1 << 40) / (size_t)v)) { rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor \"%s\" has a bad shape", path, key); break; }
            t->shape[k] = v;
            ne *= (size_t)v;
        }
        if (rc) break;
        int64_t a = json_object_get_int64(json_object_array_get_idx(of, 0)), b = json_object_get_int64(json_object_array_get_idx(of, 1));
        if (a < 0 || b < a || (uint64_t)b > dsize || (size_t)(b - a) != ne * st_size(t->dtype)) {
            rc = exa_err(err, errsz, EXA_ERR_FORMAT, "%s: tensor \"%s\" has offsets outside the file or not matching its shape", path, key);
            break;
        }
        t->off = (size_t)a;
        t->nbytes = (size_t)(b - a);
        t->name = strdup(key);
        if (!t->name) { rc = exa_err(err, errsz, EXA_ERR_NOMEM, "%s: out of memory", path); break; }
        sf->n++;
    }
    json_object_put(root);
    return rc;
}

exa_status exa_tst_open(exa_tst_file *sf, const char *path, char *err, size_t errsz) {
    memset(sf, 0, sizeof *sf);
    exa_status rc = exa_file_map(path, 1, &sf->f, err, errsz);
    if (rc) return rc;
    rc = exa_tst_parse(sf, sf->f.data, sf->f.size, path, err, errsz);
    if (rc) exa_tst_close(sf);
    return rc;
}

const struct exa_tst_tensor *exa_tst_get(const exa_tst_file *sf, const char *name) {
    for (int i = 0; i < sf->n; i++)
        if (!strcmp(sf->t[i].name, name)) return &sf->t[i];
    return NULL;
}

const char *exa_tst_meta(const exa_tst_file *sf, const char *key) {
    for (int i = 0; i < sf->n_meta; i++)
        if (sf->meta_kv[2 * i] && !strcmp(sf->meta_kv[2 * i], key)) return sf->meta_kv[2 * i + 1];
    return NULL;
}

int exa_tst_to_f32(const exa_tst_file *sf, const struct exa_tst_tensor *t, float *out) {
    const uint8_t *p = sf->f.data + sf->data_start + t->off;
    if (t->dtype == EXA_TST_F32) { memcpy(out, p, t->nbytes); return 0; }
    if (t->dtype != EXA_TST_BF16 && t->dtype != EXA_TST_F16) return -1;
    size_t n = t->nbytes / 2;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        out[i] = t->dtype == EXA_TST_BF16 ? exa_bf16_to_f32(h) : exa_f16_to_f32(h);
    }
    return 0;
}
