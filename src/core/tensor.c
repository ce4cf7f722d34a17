/* tensor.c — dtype names/sizes and exact f16 <-> f32 conversion (IEEE 754 binary16). */
#include "core/tensor.h"

#include <string.h>
#include <strings.h>

/* [dtype] name, elements per block, bytes per block, ggml id (ggml-common.h) */
static const struct { const char *name; unsigned elems, bytes; int ggml; } dtypes[EXA_DTYPE_COUNT] = {
    [EXA_DTYPE_F32] = {"f32", 1, 4, 0},      [EXA_DTYPE_F16] = {"f16", 1, 2, 1},
    [EXA_DTYPE_BF16] = {"bf16", 1, 2, 30},   [EXA_DTYPE_Q8_0] = {"q8_0", 32, 34, 8},
    [EXA_DTYPE_Q4_0] = {"q4_0", 32, 18, 2},  [EXA_DTYPE_Q4_K] = {"q4_K", 256, 144, 12},
    [EXA_DTYPE_Q5_K] = {"q5_K", 256, 176, 13}, [EXA_DTYPE_Q6_K] = {"q6_K", 256, 210, 14},
};

const char *exa_dtype_name(exa_dtype t) { return (unsigned)t < EXA_DTYPE_COUNT ? dtypes[t].name : "?"; }

int exa_dtype_from_name(const char *name, exa_dtype *out) {
    for (int i = 0; i < EXA_DTYPE_COUNT; i++)
        if (!strcasecmp(name, dtypes[i].name)) { *out = (exa_dtype)i; return 1; }
    return 0;
}

int exa_dtype_is_quant(exa_dtype t) { return (unsigned)t < EXA_DTYPE_COUNT && dtypes[t].elems > 1; }
size_t exa_dtype_block_elems(exa_dtype t) { return (unsigned)t < EXA_DTYPE_COUNT ? dtypes[t].elems : 0; }
size_t exa_dtype_block_bytes(exa_dtype t) { return (unsigned)t < EXA_DTYPE_COUNT ? dtypes[t].bytes : 0; }

size_t exa_dtype_row_bytes(exa_dtype t, int64_t n) {
    if ((unsigned)t >= EXA_DTYPE_COUNT || n < 0 || n % dtypes[t].elems) return 0;
    return (size_t)(n / dtypes[t].elems) * dtypes[t].bytes;
}

int exa_dtype_to_ggml(exa_dtype t) { return (unsigned)t < EXA_DTYPE_COUNT ? dtypes[t].ggml : -1; }

int exa_dtype_from_ggml(uint32_t g, exa_dtype *out) {
    for (int i = 0; i < EXA_DTYPE_COUNT; i++)
        if ((uint32_t)dtypes[i].ggml == g) { *out = (exa_dtype)i; return 1; }
    return 0;
}

size_t exa_dtype_size(exa_dtype t) {
    switch (t) {
    case EXA_DTYPE_F32: return 4;
    case EXA_DTYPE_F16:
    case EXA_DTYPE_BF16: return 2;
    default: return 0;
    }
}

int64_t exa_tensor_nelements(const exa_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

float exa_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else { /* subnormal: normalise */
            int e = -1;
            do { e++; mant <<= 1; } while (!(mant & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t exa_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);            /* NaN */
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);           /* overflow -> inf */
    if (absx < 0x38800000u) {                                            /* subnormal or zero */
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t e = absx >> 23, m = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14 + (113 - e) */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = absx + 0xfffu + ((absx >> 13) & 1u);                     /* round to nearest even */
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}
