/* test_gemv.c: the few-row f32 decoding products (kernels/cpu/gemv.c), k_gemv_conv1d_with
 * (x @ w + bias, w [in, out]) and k_gemv_lmhead_with (x @ wte^T, wte [vocab, in]), on every
 * instruction set this CPU runs (portable C, AVX2 + FMA, AVX-512F, forced one at a time),
 * 1 and 2 threads, M = 1..8 rows, against a float64 product computed here; and each
 * row's result the same bits whether alone or among M rows (batch invariance).
 * Shapes: in = 13, 77, 200 (not multiples of 8 or 16: the masked and scalar tails), out
 * = 37, 301 (not a multiple of the 64/128-column blocks) and 640 (whole blocks); the
 * vocabulary rows 37, 301 and 643 (not a multiple of the four-row groups). Inputs
 * uniform in [-1, 1), weights in [-0.2, 0.2), fresh per shape from a fixed seed. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "kernels/kernels.h"
#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* float sums against the float64 product: ~sqrt(in) * 6e-8 relative, so 1e-5 is loose
 * for in <= 200 and catches any indexing, tail or lane mistake. */
#define TOL 1e-5

static const char *isa_name(int isa) { return isa == 2 ? "avx512" : isa == 1 ? "avx2" : "scalar"; }

/* lm: 0 the [in, out] product (O = out), 1 the [vocab, in] head (O = vocabulary rows) */
static void check(gptc_ctx *ctx, int lm, int I, int O, int isa) {
    size_t n = (size_t)I * O;
    float *w = malloc(n * sizeof(float)), *x = malloc(sizeof(float) * 8 * I), *bias = malloc(sizeof(float) * O);
    float *got = malloc(sizeof(float) * 8 * O), *alone = malloc(sizeof(float) * 8 * O);
    double *want = malloc(sizeof(double) * 8 * O);
    for (size_t i = 0; i < n; i++) w[i] = frand() * 0.2f;
    for (int i = 0; i < 8 * I; i++) x[i] = frand();
    for (int j = 0; j < O; j++) bias[j] = frand();
    for (int m = 0; m < 8; m++)
        for (int j = 0; j < O; j++) {
            double s = lm ? 0.0 : bias[j];
            for (int k = 0; k < I; k++)
                s += (double)x[(size_t)m * I + k] * (lm ? w[(size_t)j * I + k] : w[(size_t)k * O + j]);
            want[(size_t)m * O + j] = s;
        }
    for (int r = 0; r < 8; r++) {
        if (lm) k_gemv_lmhead_with(ctx, alone + (size_t)r * O, x + (size_t)r * I, w, 1, I, O, isa);
        else k_gemv_conv1d_with(ctx, alone + (size_t)r * O, x + (size_t)r * I, w, bias, 1, I, O, isa);
    }
    double worst = 0;
    int badM = 0;
    for (int M = 1; M <= 8; M++) {
        for (size_t i = 0; i < (size_t)M * O; i++) got[i] = NAN;
        if (lm) k_gemv_lmhead_with(ctx, got, x, w, M, I, O, isa);
        else k_gemv_conv1d_with(ctx, got, x, w, bias, M, I, O, isa);
        double num = 0, den = 0;
        for (size_t i = 0; i < (size_t)M * O; i++) {
            double d = isfinite(got[i]) ? got[i] - want[i] : INFINITY;
            num += d * d, den += want[i] * want[i];
        }
        double e = sqrt(num / den);
        if (!(e <= worst)) worst = e;
        if (memcmp(got, alone, sizeof(float) * (size_t)M * O) && !badM) badM = M;
    }
    char name[200];
    snprintf(name, sizeof name, "gemv %s in=%d out=%d %s, %d thread(s), M = 1..8: against float64", lm ? "lmhead" : "conv1d",
             I, O, isa_name(isa), gptc_ctx_n_threads(ctx));
    CHECK(name, worst < TOL, "relative error %.3g (tolerance %.1g)", worst, TOL);
    snprintf(name, sizeof name, "gemv %s in=%d out=%d %s, %d thread(s): rows of M = 2..8 == each row alone (bitwise)",
             lm ? "lmhead" : "conv1d", I, O, isa_name(isa), gptc_ctx_n_threads(ctx));
    CHECK(name, !badM, "differs at M = %d", badM);
    free(w), free(x), free(bias), free(got), free(alone), free(want);
}

int main(void) {
    int best = k_gemv_isa();
    printf("# gemv: best instruction set %s\n", isa_name(best));
    static const int ins[] = {13, 77, 200}, outs[] = {37, 301, 640}, vocab[] = {37, 301, 643};
    for (int th = 1; th <= 2; th++) {
        gptc_ctx_params p = gptc_ctx_default_params();
        p.n_threads = th;
        gptc_ctx *ctx = gptc_ctx_new(&p);
        for (int isa = 0; isa <= best; isa++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) {
                    check(ctx, 0, ins[a], outs[b], isa);
                    check(ctx, 1, ins[a], vocab[b], isa);
                }
        gptc_ctx_free(ctx);
    }
    return test_exit();
}
