/* test_vexp.c: the vectorized exp (kernels/cpu/vexp.c) against double-precision exp on
 * every path this CPU can run, over the whole clamped range and odd lengths, and
 * y == x in place. */
#include "harness.h"
#include "kernels/cpu/vec.h"
#include <stdint.h>

int main(void) {
    enum { N = 100003 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = -87.0f + 175.0f * (float)((s >> 40) * (1.0 / 16777216.0));
    }
    x[0] = 0; x[1] = -1e-8f; x[2] = 88.0f; x[3] = -87.0f; x[4] = 1.0f;
    int best = gptc_vexp_isa();
    printf("best path: %d\n", best);
    for (int isa = 0; isa <= best; isa++) {
        gptc_vexp_with(y, x, N - isa, isa); /* odd lengths exercise the tails */
        double worst = 0;
        for (int i = 0; i < N - isa; i++) {
            double want = exp((double)x[i]), rel = fabs(y[i] - want) / want;
            if (rel > worst) worst = rel;
        }
        char name[64];
        snprintf(name, sizeof name, "vexp path %d: max rel err < 4e-7", isa);
        CHECK(name, worst < 4e-7, "max rel err %.3g", worst);
    }
    float z[37];
    for (int i = 0; i < 37; i++) z[i] = (float)i / 7.0f - 2.5f;
    gptc_vexp(z, z, 37);
    double worst = 0;
    for (int i = 0; i < 37; i++) worst = fmax(worst, fabs(z[i] - exp((double)i / 7.0 - 2.5)) / exp((double)i / 7.0 - 2.5));
    CHECK("vexp in place", worst < 4e-7, "max rel err %.3g", worst);
    float big[3] = {-200.0f, 200.0f, -90.0f}, out[3];
    gptc_vexp(out, big, 3);
    CHECK("vexp clamps instead of overflowing", out[0] >= 0 && out[0] < 1e-37f && isfinite(out[1]) && out[2] < 1e-37f,
          "%g %g %g", out[0], out[1], out[2]);
    free(x);
    free(y);
    return test_exit();
}
