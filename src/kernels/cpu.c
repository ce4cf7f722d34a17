/* cpu.c — run-time CPU feature detection and the EXA_CPU override. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

exa_cpu_level exa_cpu_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return EXA_CPU_AVX512;
    /* every AVX2+FMA CPU also has F16C (clang 14 cannot query "f16c" by name) */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return EXA_CPU_AVX2;
#endif
    return EXA_CPU_SCALAR;
}

exa_cpu_level exa_cpu_active(void) {
    static int cached = -1;
    if (cached >= 0) return (exa_cpu_level)cached;
    exa_cpu_level l = exa_cpu_detect();
    const char *e = getenv("EXA_CPU");
    if (e) {
        exa_cpu_level want = l;
        if (!strcmp(e, "scalar")) want = EXA_CPU_SCALAR;
        else if (!strcmp(e, "avx2")) want = EXA_CPU_AVX2;
        else if (!strcmp(e, "avx512")) want = EXA_CPU_AVX512;
        if (want < l) l = want;
    }
    cached = (int)l;
    return l;
}

const char *exa_cpu_level_name(exa_cpu_level l) {
    switch (l) {
    case EXA_CPU_AVX512: return "avx512";
    case EXA_CPU_AVX2: return "avx2";
    default: return "scalar";
    }
}
