/* ops.h: the kernel table. The model reaches every op through ctx->ops, so a new
 * backend (CUDA) or a new weight type is a new instance or a new dispatch inside one,
 * never a copy of the model code. Two instances: gptc_ops_cpu (OpenMP, SIMD, the BLAS
 * backend) and gptc_ops_ref (plain scalar loops in double: the oracle the kernel tests
 * hold every instance against). Conventions (llm.c): B batch, T time, C channels, OC
 * output channels, NH heads, hs head size, V vocabulary. Backward ops ADD into gradient
 * arrays; the caller zeroes them. Internal. */
#ifndef GPTC_KERNELS_OPS_H
#define GPTC_KERNELS_OPS_H

#include "../core/core.h"
#include "wdesc.h"

typedef enum gptc_mask_kind {
    GPTC_MASK_NONE = 0, /* every query sees every key (BERT encoder, cross-attention) */
    GPTC_MASK_CAUSAL,   /* query t of batch b sees keys j <= t + n_keys(b) - Tq */
    GPTC_MASK_PADDING,  /* key j of batch b is seen iff key_mask[b * Tk + j] != 0; a query whose
                           keys are all masked attends to all of them uniformly (Hugging
                           Face's additive (1 - mask) * finfo.min) */
} gptc_mask_kind;

typedef enum gptc_act_kind {
    GPTC_ACT_GELU_TANH = 0, /* "gelu_new" (GPT-2) */
    GPTC_ACT_GELU_ERF,      /* "gelu" (BERT) */
    GPTC_ACT_RELU,
    GPTC_ACT_SILU,
    GPTC_ACT_COUNT
} gptc_act_kind;

/* One multi-head attention: B batches of Tq queries over up to Tk keys, NH heads of hs.
 * Query row (b, t) starts at q + (b * Tq + t) * q_row, head h at + h * hs. Key j of
 * batch b starts at k + kvb * kv_batch + j * kv_row (v likewise), kvb = kv_index ?
 * kv_index[b] : b, so a KV cache is a view: keys of sequence s at position p. Output
 * row (b, t) at out + (b * Tq + t) * out_row. Training and attention maps keep the
 * post-softmax (post-dropout) probabilities in att (B, NH, Tq, Tk) (preatt: the same
 * before dropout); at inference att == NULL and nothing of size T x T is made. */
typedef struct gptc_attn_args {
    int B, Tq, Tk, NH, hs;
    const float *q, *k, *v;
    size_t q_row, kv_row, kv_batch;
    const int *kv_index; /* NULL: batch b reads keys of batch b */
    const int *n_keys;   /* NULL: Tk keys per batch; else keys of batch b (<= Tk) */
    gptc_mask_kind mask;
    const float *key_mask; /* PADDING: (B, Tk), 0 = masked */
    float scale;           /* 1/sqrt(hs) for GPT-2, BERT, Marian */
    float *out;
    size_t out_row;
    float *att, *preatt; /* both or neither */
    float p_drop;        /* dropout on probabilities (training), counter-based as dropout */
    uint64_t seed;
} gptc_attn_args;

typedef struct gptc_ops {
    const char *name;
    /* Readies the instance for ctx (cpu: the BLAS backend, set up once per context);
     * its failure is reported on every call instead of computing with a broken kernel. */
    gptc_status (*prepare)(gptc_ctx *ctx);
    /* out (N, w->out) = x (N, w->in) @ W + bias (NULL: none), W of any dtype/layout. */
    void (*linear)(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N);
    /* F32 weights: dx (N, in) += dout @ W^T (dx may be NULL), dw += x^T dout in W's layout
     * (may be NULL: frozen), dbias += column sums (may be NULL). */
    void (*linear_backward)(gptc_ctx *ctx, float *dx, float *dw, float *dbias, const float *dout, const float *x,
                            const gptc_wdesc *w, int N);
    /* C[M,N] = alpha op(A) op(B) + beta C, row-major (LoRA's small products). */
    void (*gemm)(gptc_ctx *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
    /* out (N, C) = wte[tokens[i]] + wpe[pos[i]]; N = B * T rows; pos NULL: i % T;
     * wpe NULL: no position table. wte [V, C] ([out, in] layout) of any dtype: its rows
     * are widened or dequantized exactly. */
    void (*embed_forward)(gptc_ctx *ctx, float *out, const int32_t *tokens, const int *pos, const gptc_wdesc *wte,
                          const float *wpe, int N, int T, int C);
    void (*embed_backward)(gptc_ctx *ctx, float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int N,
                           int T, int C);
    /* inp (N, C) -> out (N, C); mean, rstd (N) saved for backward */
    void (*layernorm_forward)(gptc_ctx *ctx, float *out, float *mean, float *rstd, const float *inp, const float *w,
                              const float *b, int N, int C, float eps);
    void (*layernorm_backward)(gptc_ctx *ctx, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, const float *mean, const float *rstd, int N, int C);
    /* activation of the MLP, in place allowed (out == inp) */
    void (*act_forward)(gptc_ctx *ctx, float *out, const float *inp, size_t n, gptc_act_kind kind);
    void (*act_backward)(gptc_ctx *ctx, float *dinp, const float *inp, const float *dout, size_t n, gptc_act_kind kind);
    void (*add)(gptc_ctx *ctx, float *out, const float *a, const float *b, size_t n);
    /* element i of stream (seed, offset) kept with probability 1-p, scaled 1/(1-p); p == 0: no-op */
    void (*dropout)(gptc_ctx *ctx, float *x, size_t n, float p, uint64_t seed, uint64_t offset);
    void (*attention_forward)(gptc_ctx *ctx, const gptc_attn_args *a);
    /* After a forward with att kept: dq, dk, dv (strides of q, k, v) += gradients; dpreatt
     * and datt scratch of (B, NH, Tq, Tk). */
    void (*attention_backward)(gptc_ctx *ctx, const gptc_attn_args *a, float *dq, float *dk, float *dv,
                               const float *dout, float *dpreatt, float *datt);
    /* losses (N) = -log softmax(logits)[target], 0 where target == -100; returns the count */
    int (*crossentropy_forward)(gptc_ctx *ctx, float *losses, const float *logits, const int32_t *targets, int N,
                                int V);
    /* dlogits = (softmax - onehot) * dloss (written, may alias logits) */
    void (*crossentropy_backward)(gptc_ctx *ctx, float *dlogits, const float *logits, const int32_t *targets, int N,
                                  int V, float dloss);
    void (*adamw)(gptc_ctx *ctx, float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int t);
    double (*sumsq)(gptc_ctx *ctx, const float *x, size_t n);
    void (*scale)(gptc_ctx *ctx, float *x, size_t n, float s);
} gptc_ops;

extern const gptc_ops gptc_ops_cpu;
extern const gptc_ops gptc_ops_ref;

/* The context's instance (gptc_ctx_params.reference_kernels picks the reference). */
static inline const gptc_ops *gptc_ops_of(const gptc_ctx *ctx) {
    return ctx->ref_ops ? &gptc_ops_ref : &gptc_ops_cpu;
}

/* Parses an activation name ("gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu",
 * "swish"); -1 when unknown. */
int gptc_act_parse(const char *name);

#endif
