/* test_wlinear.c: k_linear_w (weights as stored: F32, F16, BF16 in [in, out] and
 * [out, in]) against k_linear_w_ref, for every conversion path this CPU runs, 1 and 2
 * threads, few rows (register path) and many rows (f32 panels + GEMM, one panel and
 * several), sizes that are not multiples of 8 or 16, with and without bias, 16-bit
 * weights at an odd address; F32 weights give the f32 kernels' results bit for bit. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "kernels/kernels.h"
#include "kernels/wlinear.h"
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Both compute from the same (already rounded) weights; the fast paths sum in float
 * (order differs by path), the reference in double: ~sqrt(in) * 6e-8, so 1e-5 is loose
 * for in <= 300 and still catches any indexing or conversion mistake. */
#define TOL 1e-5

static const char *dtype_name(gptc_dtype d) { return d == GPTC_F32 ? "F32" : d == GPTC_F16 ? "F16" : "BF16"; }
static const char *isa_name(int isa) { return isa == 2 ? "avx512" : isa == 1 ? "avx2" : "scalar"; }

/* Weights stored as dtype, 16-bit ones 2 bytes past a 64-byte boundary (stored tensors
 * need not be aligned); *base is what to free. */
static void *make_weights(gptc_dtype dt, size_t n, float scale, void **base) {
    if (dt == GPTC_F32) {
        float *w = malloc(n * sizeof(float) + 4);
        for (size_t i = 0; i < n; i++) w[i] = frand() * scale;
        *base = w;
        return w;
    }
    char *b = malloc(2 * n + 8);
    for (size_t i = 0; i < n; i++) {
        float f = frand() * scale;
        uint16_t h = dt == GPTC_BF16 ? gptc_f32_to_bf16(f) : gptc_f32_to_f16(f);
        memcpy(b + 2 + 2 * i, &h, 2);
    }
    *base = b;
    return b + 2;
}

static void test_shape(gptc_ctx *ctx1, gptc_ctx *ctx2, int I, int O, const int *Ns, int nN) {
    int best = k_linear_w_isa();
    int maxN = 0;
    for (int i = 0; i < nN; i++) maxN = Ns[i] > maxN ? Ns[i] : maxN;
    float *x = malloc(sizeof(float) * (size_t)maxN * I), *bias = malloc(sizeof(float) * O);
    float *ref = malloc(sizeof(float) * (size_t)maxN * O * 2);
    float *got = malloc(sizeof(float) * (size_t)maxN * O);
    for (size_t i = 0; i < (size_t)maxN * I; i++) x[i] = frand();
    for (int j = 0; j < O; j++) bias[j] = frand();
    for (int dt = GPTC_F32; dt <= GPTC_BF16; dt++)
        for (int lay = GPTC_W_IN_OUT; lay <= GPTC_W_OUT_IN; lay++) {
            void *base;
            gptc_wdesc w = {make_weights(dt, (size_t)I * O, 0.2f, &base), dt, lay, I, O, NULL};
            /* worst error per (path, threads) over every N and bias/no bias */
            double worst[3][2] = {{0}};
            for (int in = 0; in < nN; in++) {
                int N = Ns[in];
                for (int wb = 0; wb < 2; wb++) {
                    float *r = ref + (size_t)wb * maxN * O;
                    k_linear_w_ref(&w, r, x, wb ? bias : NULL, N);
                    for (int isa = 0; isa <= best; isa++) {
                        if (dt == GPTC_F32 && isa != best) continue; /* F32: the f32 kernels' own choice */
                        for (int th = 0; th < 2; th++) {
                            for (size_t i = 0; i < (size_t)N * O; i++) got[i] = NAN;
                            k_linear_w_with(th ? ctx2 : ctx1, got, x, &w, wb ? bias : NULL, N, isa);
                            double e = test_relerr(got, r, (size_t)N * O);
                            if (!(e <= worst[isa][th])) worst[isa][th] = e;
                        }
                    }
                }
            }
            for (int isa = 0; isa <= best; isa++) {
                if (dt == GPTC_F32 && isa != best) continue;
                for (int th = 0; th < 2; th++) {
                    char name[160];
                    snprintf(name, sizeof name, "linear_w %s %s in=%d out=%d %s, %d thread%s, N up to %d, bias/none",
                             dtype_name(dt), lay == GPTC_W_IN_OUT ? "[in,out]" : "[out,in]", I, O,
                             dt == GPTC_F32 ? "f32 kernels" : isa_name(isa), th + 1, th ? "s" : "", maxN);
                    CHECK(name, worst[isa][th] < TOL, "relative error %.3g (tolerance %.1g)", worst[isa][th], TOL);
                }
            }
            free(base);
        }
    free(x), free(bias), free(ref), free(got);
}

/* F32 weights: exactly what the f32 kernels give (they are what k_linear_w calls). */
static void test_f32_same(gptc_ctx *ctx) {
    int I = 77, O = 131;
    void *base;
    const float *w = make_weights(GPTC_F32, (size_t)I * O, 0.2f, &base);
    gptc_wdesc io = {w, GPTC_F32, GPTC_W_IN_OUT, I, O, NULL}, oi = {w, GPTC_F32, GPTC_W_OUT_IN, I, O, NULL};
    enum { MAXN = 17 };
    float x[MAXN * 77], bias[131], a[MAXN * 131], b[MAXN * 131];
    for (int i = 0; i < MAXN * I; i++) x[i] = frand();
    for (int j = 0; j < O; j++) bias[j] = frand();
    int same = 1;
    for (int N = 1; N <= MAXN; N += 8) { /* 1, 9, 17: gemv and matmul paths */
        k_linear_w(ctx, a, x, &io, bias, N);
        if (N <= GPTC_GEMV_MAX_ROWS) k_gemv_conv1d(ctx, b, x, w, bias, N, I, O);
        else k_matmul_forward(ctx, b, x, w, bias, N, I, O);
        same &= !memcmp(a, b, sizeof(float) * (size_t)N * O);
        k_linear_w(ctx, a, x, &oi, NULL, N);
        if (N <= GPTC_GEMV_MAX_ROWS) k_gemv_lmhead(ctx, b, x, w, N, I, O);
        else k_lmhead_forward(ctx, b, x, w, N, I, O);
        same &= !memcmp(a, b, sizeof(float) * (size_t)N * O);
    }
    CHECK("linear_w F32 = k_gemv_conv1d/k_matmul_forward/k_gemv_lmhead/k_lmhead_forward bit for bit", same,
          "results differ");
    free(base);
}

/* Special values pass through the conversion: inf weights give inf, zero rows give 0. */
static void test_specials(gptc_ctx *ctx) {
    int I = 19, O = 21, ok = 1;
    for (int dt = GPTC_F16; dt <= GPTC_BF16; dt++)
        for (int isa = 0; isa <= k_linear_w_isa(); isa++) {
            uint16_t wv[19 * 21] = {0};
            uint16_t one = dt == GPTC_BF16 ? gptc_f32_to_bf16(1.0f) : gptc_f32_to_f16(1.0f);
            uint16_t inf = dt == GPTC_BF16 ? gptc_f32_to_bf16(INFINITY) : gptc_f32_to_f16(INFINITY);
            for (int k = 0; k < I; k++) wv[k * O + 3] = one; /* [in,out]: column 3 sums x */
            wv[5 * O + 7] = inf;                            /* column 7 = x[5] * inf */
            float x[19], out[21];
            for (int k = 0; k < I; k++) x[k] = (float)(k + 1);
            gptc_wdesc w = {wv, dt, GPTC_W_IN_OUT, I, O, NULL};
            k_linear_w_with(ctx, out, x, &w, NULL, 1, isa);
            ok &= out[3] == 190.0f && out[7] == INFINITY && out[0] == 0.0f;
        }
    CHECK("linear_w F16/BF16 exact sums, inf and zero weights on every path", ok, "wrong special values");
}

int main(void) {
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("seed %llu, best path %s\n", (unsigned long long)rng_state, isa_name(k_linear_w_isa()));
    gptc_ctx_params p = gptc_ctx_default_params();
    p.n_threads = 1;
    gptc_ctx *ctx1 = gptc_ctx_new(&p);
    p.n_threads = 2;
    gptc_ctx *ctx2 = gptc_ctx_new(&p);
    gptc_status s = gptc_backend_init(ctx1);
    CHECK("backend for the many-row path", s == GPTC_OK, "%s", gptc_errmsg(ctx1));
    static const int small_n[] = {1, 2, 3, 5, 8, 9, 17, 64};
    static const int big_n[] = {1, 2, 5, 8, 9, 17};
    static const int panel_n[] = {1, 9};
    test_shape(ctx1, ctx2, 77, 131, small_n, 8);
    test_shape(ctx1, ctx2, 300, 1031, big_n, 6); /* threads split it: above the parallel threshold */
    test_shape(ctx1, ctx2, 77, 7001, panel_n, 2); /* several 2 MiB panels for N > 8 */
    test_f32_same(ctx2);
    test_specials(ctx1);
    gptc_ctx_free(ctx1);
    gptc_ctx_free(ctx2);
    return test_exit();
}
