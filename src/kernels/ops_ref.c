/* ops_ref.c: the reference instance of the kernel table: the scalar oracles of
 * kernels_ref.c (double accumulation, no threads, no SIMD) behind the same table as the
 * CPU instance, plus the general attention (any strides, cache views and masks) and the
 * low-precision linear. Slow on purpose; tests hold every instance against it. */
#include "ops.h"
#include "kernels_ref.h"
#include "wlinear.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void ref_linear(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N) {
    k_linear_w_ref(w, out, x, bias, N);
}

static void ref_linear_backward(gptc_ctx *ctx, float *dx, float *dw, float *dbias, const float *dout, const float *x,
                                const gptc_wdesc *w, int N) {
    const float *W = w->data;
    if (w->layout == GPTC_W_IN_OUT) {
        if (dw) k_matmul_backward_ref(dx, dw, dbias, dout, x, W, N, w->in, w->out);
        else {
            if (dx) k_sgemm_ref(0, 1, N, w->in, w->out, 1.0f, dout, w->out, W, w->out, 1.0f, dx, w->in);
            if (dbias)
                for (int n = 0; n < N; n++)
                    for (int j = 0; j < w->out; j++) dbias[j] += dout[(size_t)n * w->out + j];
        }
        return;
    }
    if (dx) k_sgemm_ref(0, 0, N, w->in, w->out, 1.0f, dout, w->out, W, w->in, 1.0f, dx, w->in);
    if (dw) k_sgemm_ref(1, 0, w->out, w->in, N, 1.0f, dout, w->out, x, w->in, 1.0f, dw, w->in);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int j = 0; j < w->out; j++) dbias[j] += dout[(size_t)n * w->out + j];
}

static gptc_status ref_prepare(gptc_ctx *ctx) { return GPTC_OK; }

static void ref_gemm(gptc_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    k_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void ref_embed_forward(gptc_ctx *ctx, float *out, const int32_t *tokens, const int *pos,
                              const gptc_wdesc *wte, const float *wpe, int N, int T, int C) {
    for (int i = 0; i < N; i++) {
        int p = pos ? pos[i] : i % T;
        float *o = out + (size_t)i * C;
        k_weight_row(wte, tokens[i], o);
        for (int c = 0; c < C; c++) o[c] += wpe ? wpe[(size_t)p * C + c] : 0.0f;
    }
}

static void ref_embed_backward(gptc_ctx *ctx, float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                               int N, int T, int C) {
    k_embed_backward_ref(dwte, dwpe, dout, tokens, N / T, T, C);
}

static void ref_layernorm_forward(gptc_ctx *ctx, float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C, float eps) {
    k_layernorm_forward_ref(out, mean, rstd, inp, w, b, N, C, eps);
}

static void ref_layernorm_backward(gptc_ctx *ctx, float *dinp, float *dw, float *db, const float *dout,
                                   const float *inp, const float *w, const float *mean, const float *rstd, int N,
                                   int C) {
    k_layernorm_backward_ref(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
}

static void ref_act_forward(gptc_ctx *ctx, float *out, const float *inp, size_t n, gptc_act_kind kind) {
    if (kind == GPTC_ACT_GELU_TANH || kind == GPTC_ACT_GELU_ERF) {
        k_gelu_forward_ref(out, inp, n, kind == GPTC_ACT_GELU_ERF);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(kind == GPTC_ACT_RELU ? (x > 0 ? x : 0) : x / (1.0 + exp(-x)));
    }
}

static void ref_act_backward(gptc_ctx *ctx, float *dinp, const float *inp, const float *dout, size_t n,
                             gptc_act_kind kind) {
    if (kind == GPTC_ACT_GELU_TANH || kind == GPTC_ACT_GELU_ERF) {
        k_gelu_backward_ref(dinp, inp, dout, n, kind == GPTC_ACT_GELU_ERF);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double x = inp[i], g;
        if (kind == GPTC_ACT_RELU) g = x > 0 ? 1 : 0;
        else {
            double s = 1.0 / (1.0 + exp(-x));
            g = s * (1.0 + x * (1.0 - s));
        }
        dinp[i] += (float)(g * dout[i]);
    }
}

static void ref_add(gptc_ctx *ctx, float *out, const float *a, const float *b, size_t n) { k_add_forward_ref(out, a, b, n); }
static void ref_dropout(gptc_ctx *ctx, float *x, size_t n, float p, uint64_t seed, uint64_t offset) {
    k_dropout_ref(x, n, p, seed, offset);
}

static int keep(uint64_t seed, uint64_t idx, float p) {
    uint64_t z = seed + (idx + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    return (double)(z >> 40) / 16777216.0 >= p;
}

/* keys batch b, query t may see: [0, visible) minus masked padding */
static int visible(const gptc_attn_args *a, int b, int t) {
    int nk = a->n_keys ? a->n_keys[b] : a->Tk;
    return a->mask == GPTC_MASK_CAUSAL ? t + nk - a->Tq + 1 : nk;
}
static int seen(const gptc_attn_args *a, int b, int j) {
    return a->mask != GPTC_MASK_PADDING || a->key_mask[(size_t)b * a->Tk + j] != 0.0f;
}
static const float *qrow(const gptc_attn_args *a, const float *base, int b, int t, int h) {
    return base + ((size_t)b * a->Tq + t) * a->q_row + (size_t)h * a->hs;
}
static size_t kvoff(const gptc_attn_args *a, int b, int j, int h) {
    return (size_t)(a->kv_index ? a->kv_index[b] : b) * a->kv_batch + (size_t)j * a->kv_row + (size_t)h * a->hs;
}

/* softmax probabilities of query (b, t), head h, in double: P[0..Tk) (0 where unseen) */
static void probs(const gptc_attn_args *a, int b, int t, int h, double *P) {
    int nv = visible(a, b, t);
    double mx = -INFINITY, sum = 0;
    const float *q = qrow(a, a->q, b, t, h);
    for (int j = 0; j < a->Tk; j++) {
        P[j] = -INFINITY;
        if (j >= nv || !seen(a, b, j)) continue;
        const float *k = a->k + kvoff(a, b, j, h);
        double s = 0;
        for (int d = 0; d < a->hs; d++) s += (double)q[d] * k[d];
        P[j] = s * a->scale;
        if (P[j] > mx) mx = P[j];
    }
    if (mx == -INFINITY && a->mask == GPTC_MASK_PADDING) {
        /* every key padding: Hugging Face adds finfo.min to each score, which swamps
         * them all to the same value, so the row attends uniformly */
        for (int j = 0; j < a->Tk; j++) P[j] = j < nv ? 1.0 / nv : 0.0;
        return;
    }
    for (int j = 0; j < a->Tk; j++) sum += (P[j] = P[j] == -INFINITY ? 0.0 : exp(P[j] - mx));
    for (int j = 0; j < a->Tk; j++) P[j] = sum > 0 ? P[j] / sum : 0.0;
}

static void ref_attention_forward(gptc_ctx *ctx, const gptc_attn_args *a) {
    double *P = malloc((size_t)(a->Tk > 0 ? a->Tk : 1) * sizeof *P);
    if (!P) abort(); /* the reference instance is for tests only */
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->NH; h++)
            for (int t = 0; t < a->Tq; t++) {
                probs(a, b, t, h, P);
                size_t row = (((size_t)b * a->NH + h) * a->Tq + t) * a->Tk;
                for (int j = 0; j < a->Tk; j++) {
                    double p = P[j];
                    if (a->att) a->preatt[row + j] = (float)p;
                    if (a->p_drop > 0.0f) p = a->p_drop < 1.0f && keep(a->seed, row + j, a->p_drop) ? p / (1.0 - a->p_drop) : 0.0;
                    if (a->att) a->att[row + j] = (float)p;
                    P[j] = p;
                }
                float *o = a->out + ((size_t)b * a->Tq + t) * a->out_row + (size_t)h * a->hs;
                for (int d = 0; d < a->hs; d++) {
                    double s = 0;
                    for (int j = 0; j < a->Tk; j++)
                        if (P[j] != 0.0) s += P[j] * a->v[kvoff(a, b, j, h) + d];
                    o[d] = (float)s;
                }
            }
    free(P);
}

static void ref_attention_backward(gptc_ctx *ctx, const gptc_attn_args *a, float *dq, float *dk, float *dv,
                                   const float *dout, float *dpreatt, float *datt) {
    double *P = malloc(2 * (size_t)(a->Tk > 0 ? a->Tk : 1) * sizeof *P);
    if (!P) abort();
    double *dP = P + a->Tk;
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->NH; h++)
            for (int t = 0; t < a->Tq; t++) {
                size_t row = (((size_t)b * a->NH + h) * a->Tq + t) * a->Tk;
                const float *dy = dout + ((size_t)b * a->Tq + t) * a->out_row + (size_t)h * a->hs;
                probs(a, b, t, h, P);
                double dot = 0;
                for (int j = 0; j < a->Tk; j++) {
                    const float *v = a->v + kvoff(a, b, j, h);
                    float *g = dv + kvoff(a, b, j, h);
                    double da = 0, aj = a->att[row + j];
                    for (int d = 0; d < a->hs; d++) {
                        da += (double)dy[d] * v[d];
                        g[d] += (float)(aj * dy[d]);
                    }
                    datt[row + j] = (float)da;
                    if (a->p_drop > 0.0f) da = a->p_drop < 1.0f && keep(a->seed, row + j, a->p_drop) ? da / (1.0 - a->p_drop) : 0.0;
                    dP[j] = da;
                    dot += da * P[j];
                }
                const float *q = qrow(a, a->q, b, t, h);
                float *gq = dq + ((size_t)b * a->Tq + t) * a->q_row + (size_t)h * a->hs;
                for (int j = 0; j < a->Tk; j++) {
                    double ds = P[j] * (dP[j] - dot);
                    dpreatt[row + j] = (float)ds;
                    if (P[j] == 0.0) continue;
                    const float *k = a->k + kvoff(a, b, j, h);
                    float *gk = dk + kvoff(a, b, j, h);
                    for (int d = 0; d < a->hs; d++) {
                        gq[d] += (float)(ds * a->scale * k[d]);
                        gk[d] += (float)(ds * a->scale * q[d]);
                    }
                }
            }
    free(P);
}

static int ref_xent_forward(gptc_ctx *ctx, float *losses, const float *logits, const int32_t *targets, int N, int V) {
    return k_crossentropy_forward_ref(losses, logits, targets, N, V);
}
static void ref_xent_backward(gptc_ctx *ctx, float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                              float dloss) {
    k_crossentropy_backward_ref(dlogits, logits, targets, N, V, dloss);
}
static void ref_adamw(gptc_ctx *ctx, float *param, const float *grad, float *m, float *v, size_t n, float lr,
                      float beta1, float beta2, float eps, float wd, int t) {
    k_adamw_ref(param, grad, m, v, n, lr, beta1, beta2, eps, wd, t);
}
static double ref_sumsq(gptc_ctx *ctx, const float *x, size_t n) { return k_sumsq_ref(x, n); }
static void ref_scale(gptc_ctx *ctx, float *x, size_t n, float s) { k_scale_ref(x, n, s); }

const gptc_ops gptc_ops_ref = {
    .name = "ref",
    .prepare = ref_prepare,
    .linear = ref_linear,
    .linear_backward = ref_linear_backward,
    .gemm = ref_gemm,
    .embed_forward = ref_embed_forward,
    .embed_backward = ref_embed_backward,
    .layernorm_forward = ref_layernorm_forward,
    .layernorm_backward = ref_layernorm_backward,
    .act_forward = ref_act_forward,
    .act_backward = ref_act_backward,
    .add = ref_add,
    .dropout = ref_dropout,
    .attention_forward = ref_attention_forward,
    .attention_backward = ref_attention_backward,
    .crossentropy_forward = ref_xent_forward,
    .crossentropy_backward = ref_xent_backward,
    .adamw = ref_adamw,
    .sumsq = ref_sumsq,
    .scale = ref_scale,
};
