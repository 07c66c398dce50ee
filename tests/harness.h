/* harness.h: the tiny test harness of the C tests. Each check prints
 * "PASS name" or "FAIL name: why"; tests/run.sh counts those lines. main() returns
 * test_exit(): non-zero when anything failed. */
#ifndef GPTC_TEST_HARNESS_H
#define GPTC_TEST_HARNESS_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_;

static void test_result(int ok, const char *name, const char *fmt, ...) {
    if (ok) {
        printf("PASS %s\n", name);
    } else {
        printf("FAIL %s: ", name);
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        test_failures_++;
    }
    fflush(stdout);
}
#define CHECK(name, cond, ...) test_result(!!(cond), name, __VA_ARGS__)
static inline int test_exit(void) { return test_failures_ ? 1 : 0; }

/* Relative error ||a - b|| / ||b|| in double; NaN/Inf give +inf. */
static inline double test_relerr(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}
#endif
