/* tensor.c — dtype names/sizes and exact f16 <-> f32 conversion (IEEE 754 binary16). */
#include "core/tensor.h"

#include <string.h>

const char *exa_dtype_name(exa_dtype t) {
    switch (t) {
    case EXA_DTYPE_F32: return "f32";
    case EXA_DTYPE_F16: return "f16";
    case EXA_DTYPE_BF16: return "bf16";
    default: return "?";
    }
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
