/* cpu.c — run-time CPU feature detection and the EXA_CPU override. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "kernels/kernels.h"
#include "kernels/quant.h"

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

#if defined(__x86_64__)
/* AMX-TILE, AMX-INT8, AMX-BF16 (CPUID.(7,0):EDX bits 24, 25, 22), the OS saving the tile state (XCR0 bits 17
 * XTILECFG and 18 XTILEDATA), and Linux's per-process permission for the 8 KiB tile data state
 * (>= 5.16: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); without it the first tile
 * instruction raises SIGILL). REF: Intel SDM vol. 1 §13.14, linux Documentation/arch/x86/xstate.rst. */
#define EXA_ARCH_REQ_XCOMP_PERM 0x1023
#define EXA_XFEATURE_XTILEDATA 18
static int amx_hw(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1u)) return 0;
    const int have = (((d >> 25) & 1u) ? EXA_AMX_INT8 : 0) | (((d >> 22) & 1u) ? EXA_AMX_BF16 : 0);
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3u) != 3u || !have) return 0;
    return syscall(SYS_arch_prctl, EXA_ARCH_REQ_XCOMP_PERM, EXA_XFEATURE_XTILEDATA) == 0 ? have : 0;
}
#endif

static atomic_int amx_emulated;

int exa_cpu_amx(void) {
    static atomic_int cached = -1; /* cpuid traps to the hypervisor in VMs: ask once */
    int v = atomic_load(&cached);
    if (v >= 0) return v;
    v = 0;
#if defined(__x86_64__)
    const char *e = getenv("EXA_CPU"), *emu = getenv("EXA_AMX_EMULATE");
    if (exa_cpu_active() == EXA_CPU_AVX512 && (!e || !*e || !strcmp(e, "amx"))) {
        if (emu && !strcmp(emu, "1")) { /* tests: the software tile unit stands in for AMX */
            v = EXA_AMX_INT8 | EXA_AMX_BF16;
            atomic_store(&amx_emulated, 1);
        } else {
            v = amx_hw();
        }
    }
#endif
    atomic_store(&cached, v);
    return v;
}

int exa_cpu_amx_emulated(void) { return exa_cpu_amx() && atomic_load(&amx_emulated); }

int exa_amx_gate(atomic_int *state, int kind, int (*selfcheck)(void)) {
    int v = atomic_load(state);
    if (v < 0) { /* threads may race here: each computes the same answer */
        v = exa_cpu_active() == EXA_CPU_AVX512 && exa_quant_has_vnni() && (exa_cpu_amx() & kind) ? (selfcheck() ? 1 : 2) : 0;
        atomic_store(state, v);
    }
    return v == 1;
}

const char *exa_amx_gate_state(atomic_int *state, int kind, int (*selfcheck)(void)) {
#if defined(__x86_64__)
    exa_amx_gate(state, kind, selfcheck);
    const int bf16 = kind == EXA_AMX_BF16;
    switch (atomic_load(state)) {
    case 1: return exa_cpu_amx_emulated() ? "on (emulated: EXA_AMX_EMULATE=1)" : "on";
    case 2: return bf16 ? "off (AMX-BF16 present, but the start-up self-check failed)"
                        : "off (AMX present, but the start-up self-check failed: using AVX-512 VNNI)";
    default:
        if (exa_cpu_amx() & kind) return "off (no AVX-512 VNNI)";
        return bf16 ? "off (no AMX-BF16, or EXA_CPU set)" : "off (no AMX-INT8, or EXA_CPU set)";
    }
#else
    (void)state, (void)kind, (void)selfcheck;
    return "off (not x86-64)";
#endif
}
