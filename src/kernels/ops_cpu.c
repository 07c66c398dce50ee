/* ops_cpu.c: the CPU instance of the kernel table: OpenMP + SIMD kernels of cpu/ and
 * the BLAS backend. Few-row products (decoding) stream each weight once (cpu/gemv.c);
 * attention keeps the T x T probabilities only when asked (training, attention maps)
 * and otherwise streams over the keys of each query (KV-cache decoding). */
#include "ops.h"
#include "kernels.h"
#include "wlinear.h"
#include "cpu/vec.h"
#include "../core/pool.h"
#include <math.h>
#include <string.h>

int gptc_act_parse(const char *name) {
    if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh") || !strcmp(name, "gelu_fast"))
        return GPTC_ACT_GELU_TANH;
    if (!strcmp(name, "gelu")) return GPTC_ACT_GELU_ERF;
    if (!strcmp(name, "relu")) return GPTC_ACT_RELU;
    if (!strcmp(name, "silu") || !strcmp(name, "swish")) return GPTC_ACT_SILU;
    return -1;
}

GPTC_CLONED(void, add_bias_rows, (float *out, const float *bias, int N, int OC), (out, bias, N, OC)) {
    for (int n = 0; n < N; n++)
        for (int j = 0; j < OC; j++) out[(size_t)n * OC + j] += bias[j];
}

static void cpu_linear(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N) {
    if (N <= 0) return;
    if (w->dtype != GPTC_F32 || w->layout == GPTC_W_IN_OUT || !bias) {
        k_linear_w(ctx, out, x, w, bias, N); /* F32 goes to the f32 kernels (gemv for few rows, else GEMM) */
        return;
    }
    k_linear_w(ctx, out, x, w, NULL, N);
    add_bias_rows(out, bias, N, w->out);
}

static void cpu_linear_backward(gptc_ctx *ctx, float *dx, float *dw, float *dbias, const float *dout, const float *x,
                                const gptc_wdesc *w, int N) {
    const float *W = w->data;
    if (w->layout == GPTC_W_IN_OUT) {
        k_matmul_backward(ctx, dx, dw, dbias, dout, x, W, N, w->in, w->out);
        return;
    }
    k_lmhead_backward(ctx, dx, dw, dout, x, W, N, w->in, w->out);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int j = 0; j < w->out; j++) dbias[j] += dout[(size_t)n * w->out + j];
}

static gptc_status cpu_prepare(gptc_ctx *ctx) { return gptc_backend_init(ctx); }

static void cpu_gemm(gptc_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    gptc_sgemm(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void cpu_embed_forward(gptc_ctx *ctx, float *out, const int32_t *tokens, const int *pos,
                              const gptc_wdesc *wd, const float *wpe, int N, int T, int C) {
    if (wd->dtype != GPTC_F32) { /* rows widened or dequantized, then the positions */
        for (int i = 0; i < N; i++) {
            float *o = out + (size_t)i * C;
            k_weight_row(wd, tokens[i], o);
            const float *pe = wpe ? wpe + (size_t)(pos ? pos[i] : i % T) * C : NULL;
            for (int c = 0; pe && c < C; c++) o[c] += pe[c];
        }
        return;
    }
    const float *wte = wd->data;
    if (!pos && N % T == 0) {
        k_embed_forward(out, tokens, wte, wpe, N / T, T, C);
        return;
    }
    for (int i = 0; i < N; i++) {
        const float *te = wte + (size_t)tokens[i] * C;
        const float *pe = wpe ? wpe + (size_t)(pos ? pos[i] : i % T) * C : NULL;
        float *o = out + (size_t)i * C;
        for (int c = 0; c < C; c++) o[c] = te[c] + (pe ? pe[c] : 0.0f);
    }
}

static void cpu_embed_backward(gptc_ctx *ctx, float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                               int N, int T, int C) {
    k_embed_backward(dwte, dwpe, dout, tokens, N / T, T, C);
}

static void cpu_layernorm_forward(gptc_ctx *ctx, float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C, float eps) {
    k_layernorm_forward(out, mean, rstd, inp, w, b, N, C, eps);
}

static void cpu_layernorm_backward(gptc_ctx *ctx, float *dinp, float *dw, float *db, const float *dout,
                                   const float *inp, const float *w, const float *mean, const float *rstd, int N,
                                   int C) {
    k_layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
}

/* s[i] = sigmoid(x[i]) for m <= 256 values, through the vectorized exp */
static void sigmoid_block(float *s, const float *x, size_t m) {
    for (size_t i = 0; i < m; i++) s[i] = -x[i];
    gptc_vexp(s, s, m);
    for (size_t i = 0; i < m; i++) s[i] = 1.0f / (1.0f + s[i]);
}

/* ReLU, or SiLU x * sigmoid(x), over n values */
GPTC_CLONED(void, relu_silu_chunk, (float *out, const float *inp, size_t n, int silu), (out, inp, n, silu)) {
    if (!silu) {
        for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        return;
    }
    float sg[256];
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t m = n - i0 < 256 ? n - i0 : 256;
        sigmoid_block(sg, inp + i0, m);
        for (size_t i = 0; i < m; i++) out[i0 + i] = inp[i0 + i] * sg[i];
    }
}

/* dinp += dout * d/dx: ReLU's step, SiLU's s (1 + x (1 - s)) */
GPTC_CLONED(void, relu_silu_back_chunk, (float *dinp, const float *inp, const float *dout, size_t n, int silu),
            (dinp, inp, dout, n, silu)) {
    if (!silu) {
        for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        return;
    }
    float sg[256];
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t m = n - i0 < 256 ? n - i0 : 256;
        sigmoid_block(sg, inp + i0, m);
        for (size_t i = 0; i < m; i++) {
            float x = inp[i0 + i];
            dinp[i0 + i] += dout[i0 + i] * sg[i] * (1.0f + x * (1.0f - sg[i]));
        }
    }
}

static void cpu_act_forward(gptc_ctx *ctx, float *out, const float *inp, size_t n, gptc_act_kind kind) {
    if (kind == GPTC_ACT_GELU_TANH || kind == GPTC_ACT_GELU_ERF) {
        k_gelu_forward(out, inp, n, kind == GPTC_ACT_GELU_ERF);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads) if (n > GPTC_PAR_MIN)
    for (size_t i0 = 0; i0 < n; i0 += GPTC_CHUNK)
        relu_silu_chunk(out + i0, inp + i0, n - i0 < GPTC_CHUNK ? n - i0 : GPTC_CHUNK, kind == GPTC_ACT_SILU);
}

static void cpu_act_backward(gptc_ctx *ctx, float *dinp, const float *inp, const float *dout, size_t n,
                             gptc_act_kind kind) {
    if (kind == GPTC_ACT_GELU_TANH || kind == GPTC_ACT_GELU_ERF) {
        k_gelu_backward(dinp, inp, dout, n, kind == GPTC_ACT_GELU_ERF);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads) if (n > GPTC_PAR_MIN)
    for (size_t i0 = 0; i0 < n; i0 += GPTC_CHUNK)
        relu_silu_back_chunk(dinp + i0, inp + i0, dout + i0, n - i0 < GPTC_CHUNK ? n - i0 : GPTC_CHUNK,
                             kind == GPTC_ACT_SILU);
}

static void cpu_add(gptc_ctx *ctx, float *out, const float *a, const float *b, size_t n) { k_add_forward(out, a, b, n); }
static void cpu_dropout(gptc_ctx *ctx, float *x, size_t n, float p, uint64_t seed, uint64_t offset) {
    k_dropout(x, n, p, seed, offset);
}

/* A full batch (training, attention maps): Tq == Tk, no cache view; any q/k/v layout
 * (GPT-2's packed rows, BERT's separate blocks) and mask: the batch kernel of
 * cpu/attention.c. */
static int batch_layout(const gptc_attn_args *a) { return a->Tq == a->Tk && !a->kv_index && !a->n_keys; }

/* Streaming attention (inference): work items (row, head) claimed one at a time by the
 * pool's threads (core/pool.h); each keeps its scores on the stack (at most n_positions
 * floats), so a decoding step allocates nothing. */
static void attend_items(void *arg, int w0, int w1) {
    const gptc_attn_args *a = arg;
    for (int wi = w0; wi < w1; wi++) {
        int h = wi % a->NH, row = wi / a->NH, b = row / a->Tq, t = row % a->Tq;
        int nk = a->n_keys ? a->n_keys[b] : a->Tk;
        if (a->mask == GPTC_MASK_CAUSAL) nk = t + nk - a->Tq + 1;
        float scores[nk > 0 ? nk : 1];
        size_t kvb = (size_t)(a->kv_index ? a->kv_index[b] : b) * a->kv_batch;
        k_attend_row(a->out + (size_t)row * a->out_row + (size_t)h * a->hs, a->q + (size_t)row * a->q_row + (size_t)h * a->hs,
                   a->k + kvb + (size_t)h * a->hs, a->v + kvb + (size_t)h * a->hs, a->kv_row, nk, a->hs, a->scale,
                   a->mask == GPTC_MASK_PADDING ? a->key_mask + (size_t)b * a->Tk : NULL, scores);
    }
}

static void attention_stream(gptc_ctx *ctx, const gptc_attn_args *a) {
    gptc_pool_run(ctx->n_threads, a->B * a->Tq * a->NH, 1, attend_items, (void *)a);
}

static void cpu_attention_forward(gptc_ctx *ctx, const gptc_attn_args *a) {
    if (a->att && batch_layout(a)) {
        k_attention_forward_args(ctx, a, 0);
        return;
    }
    if (!a->att && a->Tq >= K_ATT_GEMM_ROWS && k_attention_rows_gemm(ctx, a)) return; /* prompt chunks */
    if (!a->att) attention_stream(ctx, a);
    else gptc_ops_ref.attention_forward(ctx, a); /* kept probabilities over a cache view: not on a hot path */
}

static void cpu_attention_backward(gptc_ctx *ctx, const gptc_attn_args *a, float *dq, float *dk, float *dv,
                                   const float *dout, float *dpreatt, float *datt) {
    if (batch_layout(a)) {
        k_attention_backward_args(ctx, a, dq, dk, dv, dout, dpreatt, datt, 0);
        return;
    }
    gptc_ops_ref.attention_backward(ctx, a, dq, dk, dv, dout, dpreatt, datt);
}

static int cpu_xent_forward(gptc_ctx *ctx, float *losses, const float *logits, const int32_t *targets, int N, int V) {
    return k_crossentropy_forward(losses, logits, targets, N, V);
}
static void cpu_xent_backward(gptc_ctx *ctx, float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                              float dloss) {
    k_crossentropy_backward(dlogits, logits, targets, N, V, dloss);
}
static void cpu_adamw(gptc_ctx *ctx, float *param, const float *grad, float *m, float *v, size_t n, float lr,
                      float beta1, float beta2, float eps, float wd, int t) {
    k_adamw(param, grad, m, v, n, lr, beta1, beta2, eps, wd, t);
}
static double cpu_sumsq(gptc_ctx *ctx, const float *x, size_t n) { return k_sumsq(x, n); }
static void cpu_scale(gptc_ctx *ctx, float *x, size_t n, float s) { k_scale(x, n, s); }

const gptc_ops gptc_ops_cpu = {
    .name = "cpu",
    .prepare = cpu_prepare,
    .linear = cpu_linear,
    .linear_backward = cpu_linear_backward,
    .gemm = cpu_gemm,
    .embed_forward = cpu_embed_forward,
    .embed_backward = cpu_embed_backward,
    .layernorm_forward = cpu_layernorm_forward,
    .layernorm_backward = cpu_layernorm_backward,
    .act_forward = cpu_act_forward,
    .act_backward = cpu_act_backward,
    .add = cpu_add,
    .dropout = cpu_dropout,
    .attention_forward = cpu_attention_forward,
    .attention_backward = cpu_attention_backward,
    .crossentropy_forward = cpu_xent_forward,
    .crossentropy_backward = cpu_xent_backward,
    .adamw = cpu_adamw,
    .sumsq = cpu_sumsq,
    .scale = cpu_scale,
};
