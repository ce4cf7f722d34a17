/* test_util.h — minimal assertion helpers for the C tests: CHECK(cond, fmt, ...) records a
 * failure and continues (a file may define TEST_MAX_REPORTS first: only that many failures are
 * printed); TEST_END() prints "N passed, N failed" and returns the exit code. Test data:
 * test_randf (uniform [-1, 1)), and a 64-bit xorshift stream test_rng64 with test_urand (uniform
 * [0, 1), 53 bits) and test_gauss (Box-Muller); a file sets test_rng64_s for its own stream. */
#ifndef EXA_TEST_UTIL_H
#define EXA_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#ifndef TEST_MAX_REPORTS
#define TEST_MAX_REPORTS 1000000
#endif

static int test_pass, test_fail;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) test_pass++;                                             \
        else {                                                             \
            if (++test_fail <= TEST_MAX_REPORTS) {                         \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);       \
                fprintf(stderr, __VA_ARGS__);                              \
                fputc('\n', stderr);                                       \
            }                                                              \
        }                                                                  \
    } while (0)
#define TEST_END() (printf("%d passed, %d failed\n", test_pass, test_fail), test_fail ? 1 : 0)

static unsigned long long test_rng = 88172645463325252ull;
static inline float test_randf(void) { /* uniform in [-1, 1) */
    test_rng ^= test_rng << 13; test_rng ^= test_rng >> 7; test_rng ^= test_rng << 17;
    return (float)((test_rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static uint64_t test_rng64_s = 0x243F6A8885A308D3ull;
static inline uint64_t test_rng64(void) {
    test_rng64_s ^= test_rng64_s << 13;
    test_rng64_s ^= test_rng64_s >> 7;
    test_rng64_s ^= test_rng64_s << 17;
    return test_rng64_s;
}
static inline float test_urand(void) { return (float)((test_rng64() >> 11) * (1.0 / 9007199254740992.0)); }
static inline float test_gauss(void) {
    float u = test_urand(), v = test_urand();
    if (u < 1e-12f) u = 1e-12f;
    return sqrtf(-2.f * logf(u)) * cosf(6.2831853f * v);
}

#endif
