/* test_kernels.c: every op of kernels.h against its scalar reference (kernels_ref.c) on
 * fresh random inputs with odd sizes, every reference backward against central finite
 * differences, dropout statistics, and one AdamW step computed by hand. */
#define _GNU_SOURCE
#include "harness.h"
#include "kernels/kernels.h"
#include "kernels/kernels_ref.h"
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
static float *rnd(size_t n, float scale) {
    float *x = malloc(n * sizeof(float) + 4);
    for (size_t i = 0; i < n; i++) x[i] = frand() * scale;
    return x;
}
static float *fdup(const float *x, size_t n) {
    float *y = malloc(n * sizeof(float) + 4);
    memcpy(y, x, n * sizeof(float));
    return y;
}

/* Fast vs reference: both compute in float from the same inputs, the reference with
 * double accumulation; 1e-5 relative (norm-wise) is PyTorch's forward tolerance. */
#define TOL 1e-5
#define CMP(name, a, b, n, tol)                                                                    \
    do {                                                                                           \
        double e_ = test_relerr(a, b, n);                                                          \
        CHECK(name, e_ < (tol), "relative error %.3g (tolerance %.1g)", e_, (double)(tol));        \
    } while (0)

static gptc_ctx *ctx;
enum { B = 3, T = 13, C = 36, NH = 3, V = 101, N = B * T };

static void test_matmul(void) {
    int OC = 101;
    float *inp = rnd((size_t)N * C, 1), *w = rnd((size_t)C * OC, 0.5f), *bias = rnd(OC, 1);
    float *o1 = rnd((size_t)N * OC, 1), *o2 = rnd((size_t)N * OC, 1);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        k_matmul_forward(ctx, o1, inp, w, with_bias ? bias : NULL, N, C, OC);
        k_matmul_forward_ref(o2, inp, w, with_bias ? bias : NULL, N, C, OC);
        CMP(with_bias ? "matmul forward (bias)" : "matmul forward (no bias)", o1, o2, (size_t)N * OC, TOL);
    }
    float *dout = rnd((size_t)N * OC, 1);
    float *di1 = rnd((size_t)N * C, 1), *dw1 = rnd((size_t)C * OC, 1), *db1 = rnd(OC, 1);
    float *di2 = fdup(di1, (size_t)N * C), *dw2 = fdup(dw1, (size_t)C * OC), *db2 = fdup(db1, OC);
    k_matmul_backward(ctx, di1, dw1, db1, dout, inp, w, N, C, OC);
    k_matmul_backward_ref(di2, dw2, db2, dout, inp, w, N, C, OC);
    CMP("matmul backward dinp (adds)", di1, di2, (size_t)N * C, TOL);
    CMP("matmul backward dw (adds)", dw1, dw2, (size_t)C * OC, TOL);
    CMP("matmul backward dbias (adds)", db1, db2, OC, TOL);
    k_matmul_backward(ctx, NULL, dw1, NULL, dout, inp, w, N, C, OC);
    k_matmul_backward_ref(NULL, dw2, NULL, dout, inp, w, N, C, OC);
    CMP("matmul backward dinp=dbias=NULL", dw1, dw2, (size_t)C * OC, TOL);

    float *l1 = rnd((size_t)N * V, 1), *l2 = rnd((size_t)N * V, 1), *wte = rnd((size_t)V * C, 0.5f);
    k_lmhead_forward(ctx, l1, inp, wte, N, C, V);
    k_lmhead_forward_ref(l2, inp, wte, N, C, V);
    CMP("lmhead forward", l1, l2, (size_t)N * V, TOL);
    float *dl = rnd((size_t)N * V, 1), *dwte1 = rnd((size_t)V * C, 1), *dwte2 = fdup(dwte1, (size_t)V * C);
    memcpy(di2, di1, (size_t)N * C * 4);
    k_lmhead_backward(ctx, di1, dwte1, dl, inp, wte, N, C, V);
    k_lmhead_backward_ref(di2, dwte2, dl, inp, wte, N, C, V);
    CMP("lmhead backward dinp", di1, di2, (size_t)N * C, TOL);
    CMP("lmhead backward dwte", dwte1, dwte2, (size_t)V * C, TOL);
    free(inp), free(w), free(bias), free(o1), free(o2), free(dout), free(di1), free(dw1), free(db1), free(di2),
        free(dw2), free(db2), free(l1), free(l2), free(wte), free(dl), free(dwte1), free(dwte2);
}

static void test_embed(void) {
    int32_t tok[N];
    for (int i = 0; i < N; i++) tok[i] = (int32_t)((frand() + 1.0f) * 0.5f * 7) % 7; /* many repeats */
    float *wte = rnd((size_t)V * C, 1), *wpe = rnd((size_t)T * C, 1);
    float *o1 = rnd((size_t)N * C, 1), *o2 = rnd((size_t)N * C, 1);
    k_embed_forward(o1, tok, wte, wpe, B, T, C);
    k_embed_forward_ref(o2, tok, wte, wpe, B, T, C);
    CMP("embed forward", o1, o2, (size_t)N * C, TOL);
    k_embed_forward(o1, tok, wte, NULL, B, T, C);
    k_embed_forward_ref(o2, tok, wte, NULL, B, T, C);
    CMP("embed forward (no wpe)", o1, o2, (size_t)N * C, TOL);
    float *dout = rnd((size_t)N * C, 1), *dwte1 = rnd((size_t)V * C, 1), *dwpe1 = rnd((size_t)T * C, 1);
    float *dwte2 = fdup(dwte1, (size_t)V * C), *dwpe2 = fdup(dwpe1, (size_t)T * C);
    k_embed_backward(dwte1, dwpe1, dout, tok, B, T, C);
    k_embed_backward_ref(dwte2, dwpe2, dout, tok, B, T, C);
    CMP("embed backward dwte (repeated tokens)", dwte1, dwte2, (size_t)V * C, TOL);
    CMP("embed backward dwpe", dwpe1, dwpe2, (size_t)T * C, TOL);
    free(wte), free(wpe), free(o1), free(o2), free(dout), free(dwte1), free(dwpe1), free(dwte2), free(dwpe2);
}

static void test_layernorm(void) {
    float *inp = rnd((size_t)N * C, 2), *w = rnd(C, 1), *b = rnd(C, 1);
    for (int i = 0; i < C; i++) inp[i] += 30.0f; /* a row with a large mean: two-pass variance */
    float *o1 = rnd((size_t)N * C, 1), *o2 = rnd((size_t)N * C, 1), m1[N], m2[N], r1[N], r2[N];
    k_layernorm_forward(o1, m1, r1, inp, w, b, N, C, 1e-5f);
    k_layernorm_forward_ref(o2, m2, r2, inp, w, b, N, C, 1e-5f);
    CMP("layernorm forward", o1, o2, (size_t)N * C, TOL);
    CMP("layernorm mean", m1, m2, N, TOL);
    CMP("layernorm rstd", r1, r2, N, TOL);
    float *dout = rnd((size_t)N * C, 1), *di1 = rnd((size_t)N * C, 1), *dw1 = rnd(C, 1), *db1 = rnd(C, 1);
    float *di2 = fdup(di1, (size_t)N * C), *dw2 = fdup(dw1, C), *db2 = fdup(db1, C);
    k_layernorm_backward(di1, dw1, db1, dout, inp, w, m2, r2, N, C);
    k_layernorm_backward_ref(di2, dw2, db2, dout, inp, w, m2, r2, N, C);
    CMP("layernorm backward dinp", di1, di2, (size_t)N * C, 1e-4); /* cancellation in dnorm - mean */
    CMP("layernorm backward dw", dw1, dw2, C, TOL);
    CMP("layernorm backward db", db1, db2, C, TOL);
    free(inp), free(w), free(b), free(o1), free(o2), free(dout), free(di1), free(dw1), free(db1), free(di2),
        free(dw2), free(db2);
}

static void test_elementwise(void) {
    size_t n = 100003; /* above the parallel threshold, not a multiple of the chunk */
    float *x = rnd(n, 4), *y = rnd(n, 1), *o1 = rnd(n, 1), *o2 = rnd(n, 1);
    for (int exact = 0; exact < 2; exact++) {
        k_gelu_forward(o1, x, n, exact);
        k_gelu_forward_ref(o2, x, n, exact);
        CMP(exact ? "gelu erf forward" : "gelu tanh forward", o1, o2, n, 1e-6);
        float *d1 = rnd(n, 1), *d2 = fdup(d1, n);
        k_gelu_backward(d1, x, y, n, exact);
        k_gelu_backward_ref(d2, x, y, n, exact);
        CMP(exact ? "gelu erf backward" : "gelu tanh backward", d1, d2, n, 1e-6);
        free(d1), free(d2);
    }
    /* values of HF's NewGELUActivation at fixed points (computed in float64) */
    float xs[3] = {1.0f, -2.0f, 0.5f}, gs[3];
    k_gelu_forward(gs, xs, 3, 0);
    CHECK("gelu tanh known values", fabsf(gs[0] - 0.8411919906f) < 1e-6f && fabsf(gs[1] + 0.0454023059f) < 1e-6f &&
                                        fabsf(gs[2] - 0.3457140098f) < 1e-6f,
          "%.9g %.9g %.9g", gs[0], gs[1], gs[2]);
    k_add_forward(o1, x, y, n);
    k_add_forward_ref(o2, x, y, n);
    CMP("add", o1, o2, n, 1e-7);
    double s1 = k_sumsq(x, n), s2 = k_sumsq_ref(x, n);
    CHECK("sumsq", fabs(s1 - s2) < 1e-9 * s2, "%.17g vs %.17g", s1, s2);
    memcpy(o1, x, n * 4);
    memcpy(o2, x, n * 4);
    k_scale(o1, n, 0.37f);
    k_scale_ref(o2, n, 0.37f);
    CMP("scale", o1, o2, n, 1e-7);
    free(x), free(y), free(o1), free(o2);
}

static void test_dropout(void) {
    size_t n = 1000003;
    float p = 0.1f;
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = y[i] = z[i] = 1.0f;
    k_dropout(x, n, p, 1234, 777);
    k_dropout(y, n, p, 1234, 777);
    k_dropout_ref(z, n, p, 1234, 777);
    CHECK("dropout same seed same mask", !memcmp(x, y, n * 4), "masks differ");
    CMP("dropout vs reference", x, z, n, 1e-7);
    size_t kept = 0, scaled = 0;
    for (size_t i = 0; i < n; i++) {
        kept += x[i] != 0.0f;
        scaled += x[i] == (float)(1.0 / 0.9);
    }
    double rate = (double)kept / n; /* binomial sd = sqrt(p(1-p)/n) = 3e-4; allow 5 sd */
    CHECK("dropout keep rate ~ 1-p", fabs(rate - 0.9) < 1.5e-3, "keep rate %.5f", rate);
    CHECK("dropout scales kept by 1/(1-p)", scaled == kept, "%zu of %zu kept are scaled", scaled, kept);
    for (size_t i = 0; i < n; i++) y[i] = 1.0f;
    k_dropout(y, n, p, 1235, 777);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += (x[i] == 0.0f) == (y[i] == 0.0f);
    CHECK("dropout other seed other mask", same < n - 1000, "%zu of %zu agree", same, n);
    /* offset shifts the stream: element i of offset 777 is element i-10 of offset 787 */
    for (size_t i = 0; i < n; i++) y[i] = 1.0f;
    k_dropout(y, n - 10, p, 1234, 787);
    CHECK("dropout offset shifts stream", !memcmp(y, x + 10, (n - 10) * 4), "offset streams differ");
    for (size_t i = 0; i < n; i++) y[i] = 1.0f;
    k_dropout(y, n, 0.0f, 1234, 0);
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) ones += y[i] == 1.0f;
    CHECK("dropout p=0 no-op", ones == n, "%zu changed", n - ones);
    free(x), free(y), free(z);
}

static void test_attention_case(int Tt, int causal, float p) {
    int Nn = B * Tt;
    size_t nqkv = (size_t)Nn * 3 * C, natt = (size_t)B * NH * Tt * Tt;
    float *qkv = rnd(nqkv, 1.5f), *o1 = rnd((size_t)Nn * C, 1), *o2 = rnd((size_t)Nn * C, 1);
    float *pre = rnd(natt, 1), *a1 = rnd(natt, 1), *a2 = rnd(natt, 1), *pre2 = rnd(natt, 1);
    char name[128];
    const char *kind = causal ? "causal" : "bidirectional";
    k_attention_forward(ctx, o1, pre, a1, qkv, B, Tt, C, NH, causal, p, 99, 5);
    k_attention_forward_ref(o2, pre2, a2, qkv, B, Tt, C, NH, causal, p, 99, 5);
    snprintf(name, sizeof name, "attention forward out (%s, T=%d, p=%.1f)", kind, Tt, p);
    CMP(name, o1, o2, (size_t)Nn * C, TOL);
    snprintf(name, sizeof name, "attention forward att (%s, T=%d, p=%.1f)", kind, Tt, p);
    CMP(name, a1, a2, natt, TOL);
    float *dout = rnd((size_t)Nn * C, 1), *dq1 = rnd(nqkv, 1), *dq2 = fdup(dq1, nqkv);
    float *dpre = rnd(natt, 1), *datt = rnd(natt, 1);
    k_attention_backward(ctx, dq1, dpre, datt, dout, qkv, a1, B, Tt, C, NH, causal, p, 99, 5);
    k_attention_backward_ref(dq2, pre2, datt, dout, qkv, a2, B, Tt, C, NH, causal, p, 99, 5);
    snprintf(name, sizeof name, "attention backward dqkv (%s, T=%d, p=%.1f)", kind, Tt, p);
    CMP(name, dq1, dq2, nqkv, 1e-4); /* softmax backward subtracts nearly equal terms */
    free(qkv), free(o1), free(o2), free(pre), free(a1), free(a2), free(pre2), free(dout), free(dq1), free(dq2),
        free(dpre), free(datt);
}

static void test_crossentropy(void) {
    float *logits = rnd((size_t)N * V, 8), l1[N], l2[N];
    int32_t tg[N];
    for (int i = 0; i < N; i++) tg[i] = i % 5 == 2 ? -100 : (int32_t)(((frand() + 1) * 0.5f) * V) % V;
    logits[5] += 200.0f; /* a large logit must not overflow */
    int c1 = k_crossentropy_forward(l1, logits, tg, N, V), c2 = k_crossentropy_forward_ref(l2, logits, tg, N, V);
    CMP("crossentropy forward", l1, l2, N, TOL);
    int zeros = 1;
    for (int i = 0; i < N; i++)
        if (tg[i] == -100 && l1[i] != 0.0f) zeros = 0;
    CHECK("crossentropy ignore index -100", c1 == c2 && c1 == N - (N + 2) / 5 && zeros, "count %d vs %d", c1, c2);
    float *d1 = rnd((size_t)N * V, 1), *d2 = rnd((size_t)N * V, 1);
    k_crossentropy_backward(d1, logits, tg, N, V, 0.25f);
    k_crossentropy_backward_ref(d2, logits, tg, N, V, 0.25f);
    CMP("crossentropy backward", d1, d2, (size_t)N * V, TOL);
    float *alias = fdup(logits, (size_t)N * V);
    k_crossentropy_backward(alias, alias, tg, N, V, 0.25f);
    CMP("crossentropy backward in place (dlogits == logits)", alias, d2, (size_t)N * V, TOL);
    free(logits), free(d1), free(d2), free(alias);
}

static void test_adamw(void) {
    size_t n = 70001;
    float *p1 = rnd(n, 1), *g = rnd(n, 1), *m1 = rnd(n, 0.1f), *v1 = rnd(n, 0.1f);
    for (size_t i = 0; i < n; i++) v1[i] = fabsf(v1[i]);
    float *p2 = fdup(p1, n), *m2 = fdup(m1, n), *v2 = fdup(v1, n);
    for (int t = 1; t <= 3; t++) {
        k_adamw(p1, g, m1, v1, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        k_adamw_ref(p2, g, m2, v2, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    }
    CMP("adamw param vs reference (3 steps)", p1, p2, n, 1e-6);
    CMP("adamw m", m1, m2, n, 1e-6);
    CMP("adamw v", v1, v2, n, 1e-6);
    /* by hand, t=1, p=1, g=0.5, m=v=0, lr=0.1, wd=0.01, b1=0.9, b2=0.999, eps=1e-8:
     * p = 1 - 0.1*0.01*1 = 0.999; m = 0.05, v = 0.00025; mhat = 0.5, vhat = 0.25;
     * p = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.899 (+2e-9) */
    float p = 1.0f, gg = 0.5f, m = 0.0f, v = 0.0f;
    k_adamw(&p, &gg, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
    /* as torch (1 - beta from the decimal value): m, v exact to float rounding */
    CHECK("adamw hand-computed step", fabsf(p - 0.899f) < 1e-6f && fabsf(m - 0.05f) < 1e-7f * 0.05f &&
                                          fabsf(v - 0.00025f) < 1e-7f * 0.00025f,
          "p %.9g m %.9g v %.9g", p, m, v);
    free(p1), free(g), free(m1), free(v1), free(p2), free(m2), free(v2);
}

/* ---- finite differences on the references.
 * L(x) = sum_i out_i * R_i with fixed random R, evaluated in double from the float
 * outputs; dL/dx by central differences with step h = 1e-3 against the reference
 * backward given dout = R. Float outputs carry ~6e-8 relative rounding, which the
 * difference quotient amplifies by |L| / h: a tolerance of 1e-2 (norm-wise over all
 * inputs) is far above that noise and far below the error of any wrong formula. */
typedef double (*loss_fn)(float *x, void *u);
static double fd_check(loss_fn L, float *x, size_t n, const float *analytic, void *u) {
    const float h = 1e-3f;
    float *num = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        x[i] = x0 + h;
        double lp = L(x, u);
        x[i] = x0 - h;
        double lm = L(x, u);
        x[i] = x0;
        num[i] = (float)((lp - lm) / (2.0 * (double)h));
    }
    double e = test_relerr(analytic, num, n);
    free(num);
    return e;
}
#define FD_TOL 1e-2

typedef struct {
    int which, Tt, causal, exact;
    float p;
    float *inp, *w, *b, *R, *out, *mean, *rstd, *scratch, *scratch2;
    int32_t *tg;
} fd_ctx;

static double dotR(const float *out, const float *R, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * R[i];
    return s;
}

enum { MM_N = 5, MM_C = 7, MM_OC = 6, LN_N = 4, LN_C = 9, AT_B = 2, AT_C = 8, AT_NH = 2 };

static double loss_matmul(float *x, void *u) {
    fd_ctx *f = u; /* x is inp, w or bias: the pointers in f alias it */
    k_matmul_forward_ref(f->out, f->inp, f->w, f->b, MM_N, MM_C, MM_OC);
    (void)x;
    return dotR(f->out, f->R, MM_N * MM_OC);
}
static double loss_layernorm(float *x, void *u) {
    fd_ctx *f = u;
    (void)x;
    k_layernorm_forward_ref(f->out, f->mean, f->rstd, f->inp, f->w, f->b, LN_N, LN_C, 1e-5f);
    return dotR(f->out, f->R, LN_N * LN_C);
}
static double loss_gelu(float *x, void *u) {
    fd_ctx *f = u;
    k_gelu_forward_ref(f->out, x, 40, f->exact);
    return dotR(f->out, f->R, 40);
}
static double loss_attention(float *x, void *u) {
    fd_ctx *f = u;
    k_attention_forward_ref(f->out, f->scratch, f->scratch2, x, AT_B, f->Tt, AT_C, AT_NH, f->causal, f->p, 3, 0);
    return dotR(f->out, f->R, (size_t)AT_B * f->Tt * AT_C);
}
static double loss_xent(float *x, void *u) {
    fd_ctx *f = u;
    k_crossentropy_forward_ref(f->out, x, f->tg, 6, 11);
    double s = 0;
    for (int i = 0; i < 6; i++) s += f->out[i];
    return s;
}

static void test_finite_differences(void) {
    fd_ctx f = {0};
    char name[128];
    /* matmul */
    f.inp = rnd(MM_N * MM_C, 1), f.w = rnd(MM_C * MM_OC, 1), f.b = rnd(MM_OC, 1), f.R = rnd(MM_N * MM_OC, 1);
    f.out = malloc(MM_N * MM_OC * 4);
    float *di = calloc(MM_N * MM_C, 4), *dw = calloc(MM_C * MM_OC, 4), *db = calloc(MM_OC, 4);
    k_matmul_backward_ref(di, dw, db, f.R, f.inp, f.w, MM_N, MM_C, MM_OC);
    double e1 = fd_check(loss_matmul, f.inp, MM_N * MM_C, di, &f), e2 = fd_check(loss_matmul, f.w, MM_C * MM_OC, dw, &f),
           e3 = fd_check(loss_matmul, f.b, MM_OC, db, &f);
    CHECK("finite differences matmul", e1 < FD_TOL && e2 < FD_TOL && e3 < FD_TOL, "dinp %.3g dw %.3g dbias %.3g", e1, e2,
          e3);
    free(f.inp), free(f.w), free(f.b), free(f.R), free(f.out), free(di), free(dw), free(db);
    /* layernorm */
    f.inp = rnd(LN_N * LN_C, 2), f.w = rnd(LN_C, 1), f.b = rnd(LN_C, 1), f.R = rnd(LN_N * LN_C, 1);
    f.out = malloc(LN_N * LN_C * 4), f.mean = malloc(LN_N * 4), f.rstd = malloc(LN_N * 4);
    di = calloc(LN_N * LN_C, 4), dw = calloc(LN_C, 4), db = calloc(LN_C, 4);
    loss_layernorm(NULL, &f);
    k_layernorm_backward_ref(di, dw, db, f.R, f.inp, f.w, f.mean, f.rstd, LN_N, LN_C);
    float *mean0 = fdup(f.mean, LN_N), *rstd0 = fdup(f.rstd, LN_N);
    e1 = fd_check(loss_layernorm, f.inp, LN_N * LN_C, di, &f);
    e2 = fd_check(loss_layernorm, f.w, LN_C, dw, &f);
    e3 = fd_check(loss_layernorm, f.b, LN_C, db, &f);
    CHECK("finite differences layernorm", e1 < FD_TOL && e2 < FD_TOL && e3 < FD_TOL, "dinp %.3g dw %.3g db %.3g", e1,
          e2, e3);
    free(f.inp), free(f.w), free(f.b), free(f.R), free(f.out), free(f.mean), free(f.rstd), free(di), free(dw),
        free(db), free(mean0), free(rstd0);
    /* gelu */
    for (f.exact = 0; f.exact < 2; f.exact++) {
        float *x = rnd(40, 3);
        f.R = rnd(40, 1), f.out = malloc(40 * 4), di = calloc(40, 4);
        k_gelu_backward_ref(di, x, f.R, 40, f.exact);
        e1 = fd_check(loss_gelu, x, 40, di, &f);
        CHECK(f.exact ? "finite differences gelu erf" : "finite differences gelu tanh", e1 < FD_TOL, "%.3g", e1);
        free(x), free(f.R), free(f.out), free(di);
    }
    /* attention: causal and not, with and without dropout (the mask is fixed by the seed) */
    for (int c = 0; c < 4; c++) {
        f.Tt = 5, f.causal = c & 1, f.p = c & 2 ? 0.3f : 0.0f;
        size_t nq = (size_t)AT_B * f.Tt * 3 * AT_C, na = (size_t)AT_B * AT_NH * f.Tt * f.Tt;
        float *qkv = rnd(nq, 1.5f);
        f.R = rnd((size_t)AT_B * f.Tt * AT_C, 1), f.out = malloc((size_t)AT_B * f.Tt * AT_C * 4);
        f.scratch = malloc(na * 4), f.scratch2 = malloc(na * 4);
        float *dq = calloc(nq, 4), *s3 = malloc(na * 4), *s4 = malloc(na * 4);
        loss_attention(qkv, &f);
        k_attention_backward_ref(dq, s3, s4, f.R, qkv, f.scratch2, AT_B, f.Tt, AT_C, AT_NH, f.causal, f.p, 3, 0);
        e1 = fd_check(loss_attention, qkv, nq, dq, &f);
        snprintf(name, sizeof name, "finite differences attention (%s, p=%.1f)", f.causal ? "causal" : "bidirectional",
                 f.p);
        CHECK(name, e1 < FD_TOL, "%.3g", e1);
        free(qkv), free(f.R), free(f.out), free(f.scratch), free(f.scratch2), free(dq), free(s3), free(s4);
    }
    /* cross-entropy: d(sum of losses)/dlogits with dloss = 1, one row ignored */
    {
        int32_t tg[6] = {3, 0, -100, 10, 7, 7};
        float *lg = rnd(6 * 11, 3), *dl = malloc(6 * 11 * 4);
        f.tg = tg, f.out = malloc(6 * 4);
        k_crossentropy_backward_ref(dl, lg, tg, 6, 11, 1.0f);
        e1 = fd_check(loss_xent, lg, 6 * 11, dl, &f);
        CHECK("finite differences crossentropy", e1 < FD_TOL, "%.3g", e1);
        free(lg), free(dl), free(f.out);
    }
}

int main(void) {
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("seed %llu\n", (unsigned long long)rng_state);
    ctx = gptc_ctx_new(NULL);
    char desc[512];
    gptc_backend_describe(ctx, desc, sizeof desc);
    printf("backend: %s\n", desc);
    test_matmul();
    test_embed();
    test_layernorm();
    test_elementwise();
    test_dropout();
    for (int c = 0; c < 8; c++) test_attention_case(c & 4 ? 67 : T, c & 1, c & 2 ? 0.1f : 0.0f);
    test_crossentropy();
    test_adamw();
    test_finite_differences();
    gptc_ctx_free(ctx);
    return test_exit();
}
