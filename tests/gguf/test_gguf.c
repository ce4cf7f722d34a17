/* test_gguf.c — GGUF reader/writer (src/model/gguf.c):
 *  - write -> read round trip with every metadata type (scalars, arrays of each, string arrays,
 *    empty arrays) and tensors of every supported dtype, at alignment 32 and 64;
 *  - hostile files built byte by byte: absurd counts (2^60), strings/arrays past EOF, tensor
 *    offsets out of range / unaligned / overlapping, unknown dtype, too many dims, partial blocks,
 *    duplicate keys/tensors, nested arrays, bad alignment, version 1, big-endian, every truncation:
 *    each must give a one-line error naming the file, never a crash;
 *  - EXAONE HF <-> GGUF names (spec §6.2) both ways for both archs; hparams round trip;
 *    llama3 rope_freqs factors against the spec's figures (§2.3).
 * With an argument (a folder), also writes the small valid files used as the fuzz seed corpus. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "core/tensor.h"
#include "kernels/quant.h"
#include "model/gguf.h"

static int failures = 0;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

static char tmpdir[256];

/* ------------------------------------------------------------ round trip */

static const char *const strs[] = {"alpha", "", "한국어 토큰", "x y"};

static void build_full(exa_gguf_writer *w, float *f32, uint16_t *f16, uint16_t *bf16, void *q[5]) {
    uint8_t u8 = 200; int8_t i8 = -100; uint16_t u16 = 60000; int16_t i16 = -30000;
    int32_t i32 = -2000000000; uint64_t u64 = 0xFEDCBA9876543210ull; int64_t i64 = -0x123456789ALL; double f64 = 3.141592653589793;
    CHECK(!exa_gguf_writer_add_scalar(w, "t.u8", EXA_GGUF_U8, &u8), "u8");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.i8", EXA_GGUF_I8, &i8), "i8");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.u16", EXA_GGUF_U16, &u16), "u16");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.i16", EXA_GGUF_I16, &i16), "i16");
    CHECK(!exa_gguf_writer_add_u32(w, "t.u32", 4000000000u), "u32");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.i32", EXA_GGUF_I32, &i32), "i32");
    CHECK(!exa_gguf_writer_add_f32(w, "t.f32", -1.5e-5f), "f32");
    CHECK(!exa_gguf_writer_add_bool(w, "t.bool", 1), "bool");
    CHECK(!exa_gguf_writer_add_str(w, "t.str", "EXAONE 한국어"), "str");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.u64", EXA_GGUF_U64, &u64), "u64");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.i64", EXA_GGUF_I64, &i64), "i64");
    CHECK(!exa_gguf_writer_add_scalar(w, "t.f64", EXA_GGUF_F64, &f64), "f64");
    uint8_t au8[3] = {1, 2, 255}; int8_t ai8[2] = {-128, 127}; uint16_t au16[2] = {0, 65535}; int16_t ai16[2] = {-32768, 5};
    uint32_t au32[3] = {7, 8, 9}; int32_t ai32[2] = {-1, 361}; float af32[2] = {0.5f, -2.f}; uint8_t ab[4] = {1, 0, 1, 1};
    uint64_t au64[1] = {~0ull}; int64_t ai64[2] = {INT64_MIN, INT64_MAX}; double af64[2] = {1e300, -0.0};
    CHECK(!exa_gguf_writer_add_array(w, "a.u8", EXA_GGUF_U8, au8, 3), "a.u8");
    CHECK(!exa_gguf_writer_add_array(w, "a.i8", EXA_GGUF_I8, ai8, 2), "a.i8");
    CHECK(!exa_gguf_writer_add_array(w, "a.u16", EXA_GGUF_U16, au16, 2), "a.u16");
    CHECK(!exa_gguf_writer_add_array(w, "a.i16", EXA_GGUF_I16, ai16, 2), "a.i16");
    CHECK(!exa_gguf_writer_add_array(w, "a.u32", EXA_GGUF_U32, au32, 3), "a.u32");
    CHECK(!exa_gguf_writer_add_array(w, "a.i32", EXA_GGUF_I32, ai32, 2), "a.i32");
    CHECK(!exa_gguf_writer_add_array(w, "a.f32", EXA_GGUF_F32, af32, 2), "a.f32");
    CHECK(!exa_gguf_writer_add_array(w, "a.bool", EXA_GGUF_BOOL, ab, 4), "a.bool");
    CHECK(!exa_gguf_writer_add_array(w, "a.u64", EXA_GGUF_U64, au64, 1), "a.u64");
    CHECK(!exa_gguf_writer_add_array(w, "a.i64", EXA_GGUF_I64, ai64, 2), "a.i64");
    CHECK(!exa_gguf_writer_add_array(w, "a.f64", EXA_GGUF_F64, af64, 2), "a.f64");
    CHECK(!exa_gguf_writer_add_array(w, "a.empty", EXA_GGUF_U32, NULL, 0), "a.empty");
    CHECK(!exa_gguf_writer_add_str_array(w, "a.str", strs, 4), "a.str");
    CHECK(!exa_gguf_writer_add_str_array(w, "a.str_empty", strs, 0), "a.str_empty");
    /* writer refuses duplicates and bad tensors */
    CHECK(exa_gguf_writer_add_u32(w, "t.u32", 1) == EXA_ERR_INVALID_ARG, "duplicate key accepted");
    uint64_t ne_bad[2] = {33, 2};
    CHECK(exa_gguf_writer_add_tensor(w, "bad", EXA_GGML_Q8_0, 2, ne_bad, f32) == EXA_ERR_INVALID_ARG, "partial block accepted");
    CHECK(exa_gguf_writer_add_tensor(w, "a_name_that_is_far_too_long_for_ggml_because_it_has_64_chars_or_more", EXA_GGML_F32, 1,
                                     ne_bad, f32) == EXA_ERR_INVALID_ARG, "long name accepted");

    uint64_t ne1[1] = {5}, ne2[2] = {3, 2}, neq[2] = {64, 2}, nek[2] = {256, 2};
    for (int i = 0; i < 512; i++) f32[i] = sinf((float)i * 0.37f) * 2.f;
    for (int i = 0; i < 6; i++) { f16[i] = exa_f32_to_f16(f32[i]); bf16[i] = exa_f32_to_bf16(f32[i]); }
    CHECK(!exa_gguf_writer_add_tensor(w, "t.f32", EXA_GGML_F32, 1, ne1, f32), "f32 tensor");
    CHECK(!exa_gguf_writer_add_tensor(w, "t.f16", EXA_GGML_F16, 2, ne2, f16), "f16 tensor");
    CHECK(!exa_gguf_writer_add_tensor(w, "t.bf16", EXA_GGML_BF16, 2, ne2, bf16), "bf16 tensor");
    exa_quantize_row(EXA_QTYPE_Q8_0, f32, q[0], 128);
    exa_quantize_row(EXA_QTYPE_Q4_0, f32, q[1], 128);
    exa_quantize_row(EXA_QTYPE_Q4_K, f32, q[2], 512);
    exa_quantize_row(EXA_QTYPE_Q6_K, f32, q[3], 512);
    CHECK(!exa_gguf_writer_add_tensor(w, "t.q8_0", EXA_GGML_Q8_0, 2, neq, q[0]), "q8_0 tensor");
    CHECK(!exa_gguf_writer_add_tensor(w, "t.q4_0", EXA_GGML_Q4_0, 2, neq, q[1]), "q4_0 tensor");
    CHECK(!exa_gguf_writer_add_tensor(w, "t.q4_K", EXA_GGML_Q4_K, 2, nek, q[2]), "q4_K tensor");
    CHECK(!exa_gguf_writer_add_tensor(w, "t.q6_K", EXA_GGML_Q6_K, 2, nek, q[3]), "q6_K tensor");
    exa_quantize_row(EXA_QTYPE_Q5_K, f32, q[4], 512);
    CHECK(!exa_gguf_writer_add_tensor(w, "t.q5_K", EXA_GGML_Q5_K, 2, nek, q[4]), "q5_K tensor");
    CHECK(exa_gguf_writer_add_tensor(w, "t.q6_K", EXA_GGML_Q6_K, 2, nek, q[3]) == EXA_ERR_INVALID_ARG, "duplicate tensor");
}

static void check_full(const exa_gguf *g, const float *f32, const uint16_t *f16, const uint16_t *bf16, void *q[5], uint32_t align) {
    uint64_t u; int64_t i; float f; int b; exa_gguf_str s;
    CHECK(g->version == 3 && g->alignment == align, "version %u alignment %u", g->version, g->alignment);
    CHECK(!exa_gguf_get_u64(g, "t.u8", &u) && u == 200, "u8");
    CHECK(!exa_gguf_get_i64(g, "t.i8", &i) && i == -100, "i8");
    CHECK(!exa_gguf_get_u64(g, "t.u16", &u) && u == 60000, "u16");
    CHECK(!exa_gguf_get_i64(g, "t.i16", &i) && i == -30000, "i16");
    uint32_t u32;
    CHECK(!exa_gguf_get_u32(g, "t.u32", &u32) && u32 == 4000000000u, "u32");
    CHECK(!exa_gguf_get_i64(g, "t.i32", &i) && i == -2000000000, "i32");
    CHECK(exa_gguf_get_u32(g, "t.i32", &u32) == EXA_ERR_FORMAT, "negative i32 read as u32");
    CHECK(exa_gguf_get_u32(g, "t.u64", &u32) == EXA_ERR_FORMAT, "huge u64 read as u32");
    CHECK(!exa_gguf_get_f32(g, "t.f32", &f) && f == -1.5e-5f, "f32");
    CHECK(!exa_gguf_get_bool(g, "t.bool", &b) && b == 1, "bool");
    CHECK(!exa_gguf_get_str(g, "t.str", &s) && s.len == strlen("EXAONE 한국어") && !memcmp(s.ptr, "EXAONE 한국어", s.len), "str");
    CHECK(!exa_gguf_get_u64(g, "t.u64", &u) && u == 0xFEDCBA9876543210ull, "u64");
    CHECK(!exa_gguf_get_i64(g, "t.i64", &i) && i == -0x123456789ALL, "i64");
    const exa_gguf_kv *kv = exa_gguf_find_kv(g, "t.f64");
    CHECK(kv && kv->type == EXA_GGUF_F64 && kv->v.f == 3.141592653589793, "f64");
    CHECK(exa_gguf_get_u64(g, "missing", &u) == EXA_ERR_CONFIG, "missing key");
    CHECK(exa_gguf_get_str(g, "t.u8", &s) == EXA_ERR_FORMAT, "wrong type");
    struct { const char *key; exa_gguf_vtype t; uint64_t n; double v[4]; } arrs[] = {
        {"a.u8", EXA_GGUF_U8, 3, {1, 2, 255}}, {"a.i8", EXA_GGUF_I8, 2, {-128, 127}}, {"a.u16", EXA_GGUF_U16, 2, {0, 65535}},
        {"a.i16", EXA_GGUF_I16, 2, {-32768, 5}}, {"a.u32", EXA_GGUF_U32, 3, {7, 8, 9}}, {"a.i32", EXA_GGUF_I32, 2, {-1, 361}},
        {"a.f32", EXA_GGUF_F32, 2, {0.5, -2}}, {"a.bool", EXA_GGUF_BOOL, 4, {1, 0, 1, 1}}, {"a.f64", EXA_GGUF_F64, 2, {1e300, -0.0}},
        {"a.empty", EXA_GGUF_U32, 0, {0}},
    };
    for (size_t k = 0; k < EXA_ARRAY_LEN(arrs); k++) {
        kv = exa_gguf_find_kv(g, arrs[k].key);
        CHECK(kv && kv->type == EXA_GGUF_ARRAY && kv->arr_type == arrs[k].t && kv->arr_n == arrs[k].n, "array %s", arrs[k].key);
        for (uint64_t j = 0; kv && j < kv->arr_n; j++) {
            double v;
            CHECK(!exa_gguf_arr_f64(kv, j, &v) && v == arrs[k].v[j], "array %s[%llu] = %g", arrs[k].key, (unsigned long long)j, v);
        }
        double v;
        if (kv) CHECK(exa_gguf_arr_f64(kv, kv->arr_n, &v) == EXA_ERR_INVALID_ARG, "array index past end");
    }
    kv = exa_gguf_find_kv(g, "a.i64");
    int64_t v64;
    CHECK(kv && !exa_gguf_arr_i64(kv, 0, &v64) && v64 == INT64_MIN && !exa_gguf_arr_i64(kv, 1, &v64) && v64 == INT64_MAX, "a.i64");
    kv = exa_gguf_find_kv(g, "a.u64");
    CHECK(kv && exa_gguf_arr_i64(kv, 0, &v64) == EXA_ERR_FORMAT, "a.u64 overflow not reported");
    kv = exa_gguf_find_kv(g, "a.str");
    CHECK(kv && kv->arr_type == EXA_GGUF_STRING && kv->arr_n == 4, "a.str");
    for (int j = 0; kv && j < 4; j++)
        CHECK(kv->arr_strs[j].len == strlen(strs[j]) && !memcmp(kv->arr_strs[j].ptr, strs[j], kv->arr_strs[j].len), "a.str[%d]", j);
    kv = exa_gguf_find_kv(g, "a.str_empty");
    CHECK(kv && kv->arr_n == 0, "a.str_empty");

    struct { const char *name; uint32_t type; int nd; uint64_t ne0, ne1; const void *data; size_t bytes; } ts[] = {
        {"t.f32", EXA_GGML_F32, 1, 5, 1, f32, 20}, {"t.f16", EXA_GGML_F16, 2, 3, 2, f16, 12}, {"t.bf16", EXA_GGML_BF16, 2, 3, 2, bf16, 12},
        {"t.q8_0", EXA_GGML_Q8_0, 2, 64, 2, q[0], 4 * 34}, {"t.q4_0", EXA_GGML_Q4_0, 2, 64, 2, q[1], 4 * 18},
        {"t.q4_K", EXA_GGML_Q4_K, 2, 256, 2, q[2], 2 * 144}, {"t.q6_K", EXA_GGML_Q6_K, 2, 256, 2, q[3], 2 * 210},
        {"t.q5_K", EXA_GGML_Q5_K, 2, 256, 2, q[4], 2 * 176},
    };
    CHECK(g->n_tensors == EXA_ARRAY_LEN(ts), "tensor count %llu", (unsigned long long)g->n_tensors);
    for (size_t k = 0; k < EXA_ARRAY_LEN(ts); k++) {
        const exa_gguf_tensor *t = exa_gguf_find_tensor(g, ts[k].name);
        CHECK(t && t->type == ts[k].type && t->n_dims == ts[k].nd && t->ne[0] == ts[k].ne0 && t->ne[1] == ts[k].ne1 &&
                  t->nbytes == ts[k].bytes, "tensor %s info", ts[k].name);
        if (!t) continue;
        CHECK(!memcmp(t->data, ts[k].data, ts[k].bytes), "tensor %s data", ts[k].name);
        CHECK((uint64_t)(t->data - g->base) % align == 0, "tensor %s not aligned to %u", ts[k].name, align);
        CHECK(exa_ggml_type_supported(t->type), "tensor %s type unsupported", ts[k].name);
        int64_t shape[4];
        CHECK(exa_gguf_tensor_shape(t, shape) == ts[k].nd && shape[ts[k].nd - 1] == (int64_t)ts[k].ne0 &&
                  (ts[k].nd == 1 || shape[0] == (int64_t)ts[k].ne1), "tensor %s PyTorch shape", ts[k].name);
    }
}

static void test_round_trip(const char *corpus) {
    static float f32[512];
    static uint16_t f16[6], bf16[6];
    static uint8_t q8[4 * 34], q4[4 * 18], qk[2 * 144], q6[2 * 210], q5[2 * 176];
    void *q[5] = {q8, q4, qk, q6, q5};
    const uint32_t aligns[2] = {32, 64};
    for (int a = 0; a < 2; a++) {
        exa_gguf_writer *w;
        CHECK(!exa_gguf_writer_new(aligns[a], &w), "writer");
        build_full(w, f32, f16, bf16, q);
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/full%u.gguf", tmpdir, aligns[a]);
        CHECK(!exa_gguf_writer_write(w, path, err, sizeof err), "write: %s", err);
        exa_gguf_writer_free(w);
        for (int mm = 0; mm < 2; mm++) {
            exa_gguf *g;
            exa_status st = exa_gguf_open(path, mm, &g, err, sizeof err);
            CHECK(st == EXA_OK, "open %s: %s", path, err);
            if (st) continue;
            check_full(g, f32, f16, bf16, q, aligns[a]);
            exa_gguf_close(g);
        }
        if (corpus) {
            char dst[512], cmd[1200];
            snprintf(dst, sizeof dst, "%s/full%u.gguf", corpus, aligns[a]);
            snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, dst);
            CHECK(system(cmd) == 0, "copy corpus");
        }
    }
}

/* ------------------------------------------------------------ hostile files */

typedef struct { uint8_t b[4096]; size_t n; } buf;
static void put(buf *x, uint64_t v, int n) { for (int i = 0; i < n; i++) x->b[x->n++] = (uint8_t)(v >> (8 * i)); }
static void put_str(buf *x, const char *s) { put(x, strlen(s), 8); memcpy(x->b + x->n, s, strlen(s)); x->n += strlen(s); }
static void header(buf *x, uint32_t version, uint64_t nt, uint64_t nkv) { x->n = 0; put(x, EXA_GGUF_MAGIC, 4); put(x, version, 4); put(x, nt, 8); put(x, nkv, 8); }
static void tinfo(buf *x, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type, uint64_t off) {
    put_str(x, name); put(x, nd, 4);
    for (uint32_t d = 0; d < nd; d++) put(x, ne[d], 8);
    put(x, type, 4); put(x, off, 8);
}
static void pad_to(buf *x, size_t a, size_t extra) { while (x->n % a) x->b[x->n++] = 0; memset(x->b + x->n, 0x11, extra); x->n += extra; }

static void expect_fail(const buf *x, exa_status want, const char *what, const char *needle) {
    exa_gguf *g = NULL;
    char err[256] = "";
    exa_status st = exa_gguf_parse(x->b, x->n, "hostile.gguf", &g, err, sizeof err);
    CHECK(st != EXA_OK && g == NULL, "%s: accepted", what);
    if (want) CHECK(st == want, "%s: status %d want %d (%s)", what, st, want, err);
    CHECK(strstr(err, "hostile.gguf") && !strchr(err, '\n'), "%s: error does not name the file on one line: %s", what, err);
    if (needle) CHECK(strstr(err, needle) != NULL, "%s: error '%s' lacks '%s'", what, err, needle);
    if (st == EXA_OK) exa_gguf_close(g);
}

static void test_hostile(void) {
    buf x;
    uint64_t ne[2] = {4, 2};
    header(&x, 3, 1ull << 60, 0); expect_fail(&x, EXA_ERR_FORMAT, "tensor count 2^60", "tensor count");
    header(&x, 3, 0, 1ull << 60); expect_fail(&x, EXA_ERR_FORMAT, "kv count 2^60", "metadata count");
    header(&x, 3, 0, 1); put(&x, 1ull << 62, 8); put(&x, 0, 8); put(&x, 0, 8); expect_fail(&x, EXA_ERR_FORMAT, "key length past EOF", "truncated");
    header(&x, 3, 0, 1); put_str(&x, "k"); put(&x, EXA_GGUF_STRING, 4); put(&x, 1000, 8); put_str(&x, "short");
    expect_fail(&x, EXA_ERR_FORMAT, "string value past EOF", "truncated");
    header(&x, 3, 0, 1); put_str(&x, "k"); put(&x, EXA_GGUF_ARRAY, 4); put(&x, EXA_GGUF_U32, 4); put(&x, 1ull << 60, 8);
    expect_fail(&x, EXA_ERR_FORMAT, "u32 array 2^60", "past the end");
    header(&x, 3, 0, 1); put_str(&x, "k"); put(&x, EXA_GGUF_ARRAY, 4); put(&x, EXA_GGUF_U64, 4); put(&x, 1ull << 61, 8);
    expect_fail(&x, EXA_ERR_FORMAT, "u64 array 2^61 (byte count overflows)", "past the end");
    header(&x, 3, 0, 1); put_str(&x, "k"); put(&x, EXA_GGUF_ARRAY, 4); put(&x, EXA_GGUF_STRING, 4); put(&x, 1ull << 60, 8);
    expect_fail(&x, EXA_ERR_FORMAT, "string array 2^60", "claims");
    header(&x, 3, 0, 1); put_str(&x, "k"); put(&x, EXA_GGUF_ARRAY, 4); put(&x, EXA_GGUF_ARRAY, 4); put(&x, 1, 8);
    expect_fail(&x, EXA_ERR_UNSUPPORTED, "nested array", "array of arrays");
    header(&x, 3, 0, 1); put_str(&x, "k"); put(&x, 13, 4); put(&x, 0, 8); expect_fail(&x, EXA_ERR_FORMAT, "unknown value type", "unknown value type");
    header(&x, 3, 0, 2); put_str(&x, "k"); put(&x, EXA_GGUF_U8, 4); put(&x, 1, 1); put_str(&x, "k"); put(&x, EXA_GGUF_U8, 4); put(&x, 2, 1);
    expect_fail(&x, EXA_ERR_FORMAT, "duplicate key", "twice");
    header(&x, 3, 0, 1); put_str(&x, "general.alignment"); put(&x, EXA_GGUF_U32, 4); put(&x, 3, 4);
    expect_fail(&x, EXA_ERR_FORMAT, "alignment 3", "alignment");
    header(&x, 3, 0, 1); put_str(&x, "general.alignment"); put(&x, EXA_GGUF_U64, 4); put(&x, 32, 8);
    expect_fail(&x, EXA_ERR_FORMAT, "alignment as u64", "alignment");
    header(&x, 1, 0, 0); expect_fail(&x, EXA_ERR_UNSUPPORTED, "version 1", "version 1");
    header(&x, 0x03000000u, 0, 0); expect_fail(&x, EXA_ERR_UNSUPPORTED, "big-endian", "big-endian");
    header(&x, 7, 0, 0); expect_fail(&x, EXA_ERR_UNSUPPORTED, "version 7", "version 7");
    header(&x, 3, 0, 0); x.b[0] = 'X'; expect_fail(&x, EXA_ERR_FORMAT, "bad magic", "magic");

    /* tensor infos */
    header(&x, 3, 1, 0); tinfo(&x, "w", 2, ne, 99, 0); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_UNSUPPORTED, "unknown dtype", "unknown ggml type 99");
    uint64_t ne5[5] = {1, 1, 1, 1, 1};
    header(&x, 3, 1, 0); tinfo(&x, "w", 5, ne5, 0, 0); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "5 dims", "dimensions");
    header(&x, 3, 1, 0); tinfo(&x, "w", 0, ne5, 0, 0); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "0 dims", "dimensions");
    uint64_t huge[2] = {1ull << 40, 1ull << 40};
    header(&x, 3, 1, 0); tinfo(&x, "w", 2, huge, 0, 0); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "shape overflow", "absurd");
    uint64_t neg[1] = {~0ull};
    header(&x, 3, 1, 0); tinfo(&x, "w", 1, neg, 0, 0); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "negative dim", "absurd");
    uint64_t partial[1] = {48};
    header(&x, 3, 1, 0); tinfo(&x, "w", 1, partial, EXA_GGML_Q4_K, 0); pad_to(&x, 32, 512); expect_fail(&x, EXA_ERR_FORMAT, "partial block", "multiple");
    header(&x, 3, 1, 0); tinfo(&x, "w", 2, ne, 0, 64); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "offset out of range", "past the end");
    header(&x, 3, 1, 0); tinfo(&x, "w", 2, ne, 0, ~0ull - 31); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "offset near 2^64", "past the end");
    header(&x, 3, 1, 0); tinfo(&x, "w", 2, ne, 0, 8); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "unaligned offset", "alignment");
    header(&x, 3, 2, 0); tinfo(&x, "a", 2, ne, 0, 0); tinfo(&x, "b", 2, ne, 0, 0); pad_to(&x, 32, 64);
    expect_fail(&x, EXA_ERR_FORMAT, "overlapping tensors", "overlap");
    uint64_t ne16[1] = {16};
    header(&x, 3, 2, 0); tinfo(&x, "a", 1, ne16, 0, 32); tinfo(&x, "b", 1, ne16, 0, 0); pad_to(&x, 32, 96);
    expect_fail(&x, EXA_ERR_FORMAT, "overlap listed out of order", "overlap");
    header(&x, 3, 2, 0); tinfo(&x, "a", 2, ne, 0, 0); tinfo(&x, "a", 2, ne, 0, 32); pad_to(&x, 32, 64);
    expect_fail(&x, EXA_ERR_FORMAT, "duplicate tensor", "twice");
    header(&x, 3, 1, 0); tinfo(&x, "", 2, ne, 0, 0); pad_to(&x, 32, 64); expect_fail(&x, EXA_ERR_FORMAT, "empty name", "name");
    header(&x, 3, 1, 0); tinfo(&x, "w", 2, ne, 0, 0); expect_fail(&x, EXA_ERR_FORMAT, "no data section", NULL);

    /* a valid hand-made file passes, and every truncation of it that cuts data fails */
    header(&x, 2, 2, 1); put_str(&x, "general.architecture"); put(&x, EXA_GGUF_STRING, 4); put_str(&x, "exaone");
    tinfo(&x, "a", 2, ne, 0, 0); tinfo(&x, "b", 1, ne16, EXA_GGML_F16, 32); pad_to(&x, 32, 64);
    exa_gguf *g = NULL;
    char err[256];
    CHECK(exa_gguf_parse(x.b, x.n, "valid.gguf", &g, err, sizeof err) == EXA_OK, "hand-made v2 file rejected: %s", err);
    exa_gguf_close(g);
    buf t = x;
    for (size_t n = 0; n < x.n; n++) {
        t.n = n;
        expect_fail(&t, 0, "truncation", NULL);
    }
}

/* ------------------------------------------------------------ names, hparams, rope */

static void test_names(void) {
    struct { exa_arch arch; const char *hf, *gguf; } cases[] = {
        {EXA_ARCH_EXAONE, "transformer.wte.weight", "token_embd.weight"},
        {EXA_ARCH_EXAONE, "transformer.ln_f.weight", "output_norm.weight"},
        {EXA_ARCH_EXAONE, "lm_head.weight", "output.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.0.ln_1.weight", "blk.0.attn_norm.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.12.attn.attention.q_proj.weight", "blk.12.attn_q.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.12.attn.attention.k_proj.weight", "blk.12.attn_k.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.12.attn.attention.v_proj.weight", "blk.12.attn_v.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.31.attn.attention.out_proj.weight", "blk.31.attn_output.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.5.ln_2.weight", "blk.5.ffn_norm.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.5.mlp.c_fc_0.weight", "blk.5.ffn_gate.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.5.mlp.c_fc_1.weight", "blk.5.ffn_up.weight"},
        {EXA_ARCH_EXAONE, "transformer.h.63.mlp.c_proj.weight", "blk.63.ffn_down.weight"},
        {EXA_ARCH_EXAONE4, "model.embed_tokens.weight", "token_embd.weight"},
        {EXA_ARCH_EXAONE4, "model.norm.weight", "output_norm.weight"},
        {EXA_ARCH_EXAONE4, "lm_head.weight", "output.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.2.self_attn.v_proj.weight", "blk.2.attn_v.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.3.self_attn.o_proj.weight", "blk.3.attn_output.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.29.self_attn.q_norm.weight", "blk.29.attn_q_norm.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.29.self_attn.k_norm.weight", "blk.29.attn_k_norm.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.10.post_attention_layernorm.weight", "blk.10.post_attention_norm.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.10.mlp.gate_proj.weight", "blk.10.ffn_gate.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.10.mlp.up_proj.weight", "blk.10.ffn_up.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.10.mlp.down_proj.weight", "blk.10.ffn_down.weight"},
        {EXA_ARCH_EXAONE4, "model.layers.63.post_feedforward_layernorm.weight", "blk.63.post_ffw_norm.weight"},
    };
    char out[128];
    for (size_t i = 0; i < EXA_ARRAY_LEN(cases); i++) {
        CHECK(!exa_gguf_name_from_hf(cases[i].arch, cases[i].hf, out, sizeof out) && !strcmp(out, cases[i].gguf),
              "%s -> %s (got %s)", cases[i].hf, cases[i].gguf, out);
        CHECK(!exa_gguf_name_to_hf(cases[i].arch, cases[i].gguf, out, sizeof out) && !strcmp(out, cases[i].hf),
              "%s -> %s (got %s)", cases[i].gguf, cases[i].hf, out);
    }
    const char *bad_hf[] = {"model.layers.0.input_layernorm.weight", "transformer.h.01.ln_1.weight", "transformer.h.x.ln_1.weight",
                            "transformer.h.1.ln_1.bias", "transformer.h.1.ln_1", "transformer.h.1234567.ln_1.weight", ""};
    for (size_t i = 0; i < EXA_ARRAY_LEN(bad_hf); i++)
        CHECK(exa_gguf_name_from_hf(EXA_ARCH_EXAONE, bad_hf[i], out, sizeof out) == EXA_ERR_UNSUPPORTED, "accepted %s", bad_hf[i]);
    CHECK(exa_gguf_name_from_hf(EXA_ARCH_EXAONE, "model.layers.0.mlp.up_proj.weight", out, sizeof out) == EXA_ERR_UNSUPPORTED, "arch mixup");
    CHECK(exa_gguf_name_to_hf(EXA_ARCH_EXAONE, "blk.0.attn_q_norm.weight", out, sizeof out) == EXA_ERR_UNSUPPORTED, "q_norm for exaone");
    CHECK(exa_gguf_name_to_hf(EXA_ARCH_EXAONE4, "blk.0.attn_norm.weight", out, sizeof out) == EXA_ERR_UNSUPPORTED, "attn_norm for exaone4");
    CHECK(exa_gguf_name_to_hf(EXA_ARCH_EXAONE4, EXA_GGUF_TENSOR_ROPE_FREQS, out, sizeof out) == EXA_ERR_UNSUPPORTED, "rope_freqs");
    CHECK(exa_gguf_name_to_hf(EXA_ARCH_EXAONE4, "blk.1.ffn_up.weight", out, 10) == EXA_ERR_INVALID_ARG, "small buffer");
}

static void test_hparams_rope(const char *corpus) {
    exa_gguf_hparams hp = {0}, rd;
    hp.arch = EXA_ARCH_EXAONE4;
    hp.context_length = 131072; hp.embedding_length = 5120; hp.block_count = 64; hp.feed_forward_length = 27392;
    hp.head_count = 40; hp.head_count_kv = 8; hp.key_length = hp.value_length = hp.rope_dimension_count = 128;
    hp.vocab_size = 102400; hp.rms_eps = 1e-5f; hp.rope_freq_base = 1e6f; hp.sliding_window = 4096; hp.n_swa_pattern = 64;
    for (int l = 0; l < 64; l++) hp.swa_pattern[l] = l % 4 < 3;
    exa_gguf_writer *w;
    CHECK(!exa_gguf_writer_new(32, &w), "writer");
    CHECK(!exa_gguf_write_hparams(w, &hp), "write hparams");
    float rf[64];
    exa_gguf_llama3_rope_factors(128, 1e6f, 16.f, 1.f, 4.f, 8192.f, rf);
    uint64_t ne[1] = {64};
    CHECK(!exa_gguf_writer_add_tensor(w, EXA_GGUF_TENSOR_ROPE_FREQS, EXA_GGML_F32, 1, ne, rf), "rope tensor");
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/exaone4.gguf", tmpdir);
    CHECK(!exa_gguf_writer_write(w, path, err, sizeof err), "write: %s", err);
    exa_gguf_writer_free(w);
    exa_gguf *g;
    CHECK(!exa_gguf_open(path, 1, &g, err, sizeof err), "open: %s", err);
    CHECK(!exa_gguf_read_hparams(g, &rd, err, sizeof err), "read hparams: %s", err);
    CHECK(!memcmp(&hp, &rd, sizeof hp), "hparams differ after round trip");
    uint32_t v;
    CHECK(!exa_gguf_get_u32(g, "exaone4.attention.head_count_kv", &v) && v == 8, "key name exaone4.attention.head_count_kv");
    CHECK(!exa_gguf_get_u32(g, "exaone4.attention.sliding_window", &v) && v == 4096, "key name sliding_window");
    exa_gguf_close(g);
    if (corpus) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s/exaone4.gguf'", path, corpus);
        CHECK(system(cmd) == 0, "copy corpus");
    }

    /* spec §2.3: 4.0-1.2B (d=64, f=16): pairs 0-13 = 1, 14-16 blended (≈1.396, 2.650, 6.352), 17-31 = 16 */
    exa_gguf_llama3_rope_factors(64, 1e6f, 16.f, 1.f, 4.f, 8192.f, rf);
    for (int i = 0; i < 14; i++) CHECK(rf[i] == 1.f, "pair %d factor %g", i, rf[i]);
    CHECK(fabsf(rf[14] - 1.396f) < 2e-3f && fabsf(rf[15] - 2.650f) < 2e-3f && fabsf(rf[16] - 6.352f) < 2e-3f,
          "blended factors %g %g %g", rf[14], rf[15], rf[16]);
    for (int i = 17; i < 32; i++) CHECK(rf[i] == 16.f, "pair %d factor %g", i, rf[i]);
    /* 3.5 d=128 f=8: 0-26 unchanged, 27-33 blended (≈1.050 … 7.154), 34-63 ÷8 */
    exa_gguf_llama3_rope_factors(128, 1e6f, 8.f, 1.f, 4.f, 8192.f, rf);
    CHECK(rf[26] == 1.f && rf[27] > 1.f && fabsf(rf[27] - 1.050f) < 2e-3f && fabsf(rf[33] - 7.154f) < 2e-3f && rf[34] == 8.f,
          "3.5 factors %g %g %g %g", rf[26], rf[27], rf[33], rf[34]);
    /* exaone (3.x) keys are prefixed "exaone." and have no sliding window */
    exa_gguf_hparams h3 = hp;
    h3.arch = EXA_ARCH_EXAONE;
    h3.n_swa_pattern = 0;
    h3.sliding_window = 0;
    memset(h3.swa_pattern, 0, sizeof h3.swa_pattern);
    CHECK(!exa_gguf_writer_new(32, &w), "writer");
    CHECK(!exa_gguf_write_hparams(w, &h3), "write exaone hparams");
    snprintf(path, sizeof path, "%s/exaone.gguf", tmpdir);
    CHECK(!exa_gguf_writer_write(w, path, err, sizeof err), "write: %s", err);
    exa_gguf_writer_free(w);
    CHECK(!exa_gguf_open(path, 0, &g, err, sizeof err), "open: %s", err);
    CHECK(!exa_gguf_read_hparams(g, &rd, err, sizeof err) && rd.arch == EXA_ARCH_EXAONE && !memcmp(&rd, &h3, sizeof h3), "exaone hparams");
    CHECK(!exa_gguf_get_u32(g, "exaone.block_count", &v) && v == 64, "key exaone.block_count");
    exa_gguf_close(g);
}

/* a file with neither metadata nor tensors is valid and round-trips */
static void test_empty(void) {
    exa_gguf_writer *w;
    char path[512], err[256];
    CHECK(!exa_gguf_writer_new(32, &w), "writer");
    snprintf(path, sizeof path, "%s/empty.gguf", tmpdir);
    CHECK(!exa_gguf_writer_write(w, path, err, sizeof err), "write empty: %s", err);
    exa_gguf_writer_free(w);
    exa_gguf *g;
    CHECK(!exa_gguf_open(path, 1, &g, err, sizeof err), "open empty: %s", err);
    if (g) {
        CHECK(g->n_kv == 0 && g->n_tensors == 0, "empty file has entries");
        exa_gguf_close(g);
    }
}

int main(int argc, char **argv) {
    const char *corpus = argc > 1 ? argv[1] : NULL;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/exa_test_gguf_%d", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 1;
    test_round_trip(corpus);
    test_hostile();
    test_empty();
    test_names();
    test_hparams_rope(corpus);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_gguf: all passed\n");
    return 0;
}
