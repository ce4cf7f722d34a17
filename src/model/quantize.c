/* quantize.c — quant type names, per-matrix dtype choice and threaded matrix conversion (see
 * quantize.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/quant.h"
#include "model/quantize.h"

static const struct { const char *name; exa_quant_type t; } qnames[] = {
    {"f32", EXA_QUANT_F32},   {"f16", EXA_QUANT_F16},   {"bf16", EXA_QUANT_BF16}, {"q8_0", EXA_QUANT_Q8_0},
    {"q4_0", EXA_QUANT_Q4_0}, {"q4_K", EXA_QUANT_Q4_K}, {"q5_K", EXA_QUANT_Q5_K}, {"q6_K", EXA_QUANT_Q6_K},
    {"q4_K_M", EXA_QUANT_Q4_K_M}, {"q8", EXA_QUANT_Q8_0}, {"q4", EXA_QUANT_Q4_K_M}, {"none", EXA_QUANT_NONE},
};

int exa_quant_type_from_name(const char *name, exa_quant_type *out) {
    for (size_t i = 0; i < EXA_ARRAY_LEN(qnames); i++)
        if (!strcasecmp(name, qnames[i].name)) { *out = qnames[i].t; return 1; }
    return 0;
}

const char *exa_quant_type_name(exa_quant_type t) {
    for (size_t i = 0; i < EXA_ARRAY_LEN(qnames); i++)
        if (qnames[i].t == t) return qnames[i].name;
    return "?";
}

/* llama.cpp: the first and last eighth of the layers and every third layer between get more bits */
static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

exa_dtype exa_quant_pick(exa_quant_type q, exa_qrole role, int layer, int n_layer, int tied, int64_t cols,
                         exa_dtype stored) {
    exa_dtype t;
    switch (q) {
    case EXA_QUANT_F32: return EXA_DTYPE_F32;
    case EXA_QUANT_F16: return EXA_DTYPE_F16;
    case EXA_QUANT_BF16: return EXA_DTYPE_BF16;
    case EXA_QUANT_Q8_0: t = EXA_DTYPE_Q8_0; break;
    case EXA_QUANT_Q4_0: t = EXA_DTYPE_Q4_0; break;
    case EXA_QUANT_Q4_K: t = EXA_DTYPE_Q4_K; break;
    case EXA_QUANT_Q5_K: t = EXA_DTYPE_Q5_K; break;
    case EXA_QUANT_Q6_K: t = EXA_DTYPE_Q6_K; break;
    case EXA_QUANT_Q4_K_M:
        t = EXA_DTYPE_Q4_K;
        if (role == EXA_QROLE_OUTPUT || (role == EXA_QROLE_EMBD && tied)) t = EXA_DTYPE_Q6_K;
        else if ((role == EXA_QROLE_ATTN_V || role == EXA_QROLE_FFN_DOWN) && use_more_bits(layer, n_layer)) t = EXA_DTYPE_Q6_K;
        break;
    default: return stored;
    }
    if (exa_dtype_row_bytes(t, cols)) return t;
    if (exa_dtype_block_elems(t) == 256 && exa_dtype_row_bytes(EXA_DTYPE_Q8_0, cols)) return EXA_DTYPE_Q8_0;
    return stored;
}

typedef struct conv_job {
    const exa_mat *src;
    exa_dtype dst;
    uint8_t *out;
    float *scratch; /* nth × cols */
    size_t rb;
} conv_job;

static void conv_worker(void *arg, int ith, int nth) {
    conv_job *j = arg;
    const int64_t cols = j->src->cols;
    float *buf = j->scratch + (size_t)ith * (size_t)cols;
    int b, e;
    exa_split((int)j->src->rows, ith, nth, &b, &e);
    for (int r = b; r < e; r++) {
        exa_row_to_f32(j->src->dtype, j->src->data, cols, r, buf);
        uint8_t *o = j->out + (size_t)r * j->rb;
        switch (j->dst) {
        case EXA_DTYPE_F32: memcpy(o, buf, (size_t)cols * 4); break;
        case EXA_DTYPE_F16:
            for (int64_t i = 0; i < cols; i++) { uint16_t h = exa_f32_to_f16(buf[i]); memcpy(o + 2 * i, &h, 2); }
            break;
        case EXA_DTYPE_BF16:
            for (int64_t i = 0; i < cols; i++) { uint16_t h = exa_f32_to_bf16(buf[i]); memcpy(o + 2 * i, &h, 2); }
            break;
        default: exa_quantize_row(exa_qtype_from_dtype(j->dst), buf, o, cols); break;
        }
    }
}

exa_status exa_mat_convert(exa_pool *pool, const exa_mat *src, exa_dtype dst, void **out) {
    *out = NULL;
    const size_t rb = exa_dtype_row_bytes(dst, src->cols);
    if (!rb || src->rows <= 0 || src->rows > INT32_MAX) return EXA_ERR_INVALID_ARG;
    const int nth = pool ? exa_pool_size(pool) : 1;
    conv_job j = {src, dst, exa_aligned_alloc(rb * (size_t)src->rows), malloc((size_t)nth * (size_t)src->cols * sizeof(float)), rb};
    if (!j.out || !j.scratch) { free(j.out); free(j.scratch); return EXA_ERR_NOMEM; }
    if (pool) exa_pool_run(pool, conv_worker, &j);
    else conv_worker(&j, 0, 1);
    free(j.scratch);
    *out = j.out;
    return EXA_OK;
}
