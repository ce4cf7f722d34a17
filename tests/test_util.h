/* test_util.h — minimal assertion helpers for the C tests: CHECK(cond, fmt, ...) records a
 * failure and continues; TEST_END() prints "N passed, N failed" and returns the exit code. */
#ifndef EXA_TEST_UTIL_H
#define EXA_TEST_UTIL_H

#include <stdio.h>

static int test_pass, test_fail;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) test_pass++;                                             \
        else {                                                             \
            test_fail++;                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)
#define TEST_END() (printf("%d passed, %d failed\n", test_pass, test_fail), test_fail ? 1 : 0)

static unsigned long long test_rng = 88172645463325252ull;
static inline float test_randf(void) { /* uniform in [-1, 1) */
    test_rng ^= test_rng << 13; test_rng ^= test_rng >> 7; test_rng ^= test_rng << 17;
    return (float)((test_rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

#endif
