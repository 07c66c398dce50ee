/* kernels.h: forward/backward ops of the transformer on plain float arrays (CPU).
 * Conventions (llm.c): B batch, T time, C channels, OC output channels, NH heads,
 * V vocabulary. Backward functions ADD into gradient arrays; the caller zeroes them.
 * Every op is parallel (OpenMP over rows) and vectorized; each keeps a plain scalar
 * reference (the *_ref functions in kernels_ref.c) used as the oracle in tests. */
#ifndef GPTC_KERNELS_H
#define GPTC_KERNELS_H

#include "../core/core.h"

/* ---- GEMM backend (kernels/blas.c) ----
 * C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major, op = transpose when trans_x.
 * Goes to the BLAS kernel chosen for this CPU (chosen and self-checked on first use). */
gptc_status gptc_backend_init(gptc_ctx *ctx);
void gptc_sgemm(gptc_ctx *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* ---- linear (Hugging Face Conv1D layout: w is [C, OC]) ----
 * inp (N, C), w (C, OC), bias (OC) or NULL -> out (N, OC) */
void k_matmul_forward(gptc_ctx *ctx, float *out, const float *inp, const float *w, const float *bias,
                      int N, int C, int OC);
/* dout (N, OC) -> dinp (N, C) += dout @ w^T, dw (C, OC) += inp^T @ dout, dbias += sum rows.
 * dinp/dbias may be NULL. */
void k_matmul_backward(gptc_ctx *ctx, float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, int N, int C, int OC);

/* ---- LM head with weights [V, C] (tied to wte): logits (N, V) = inp (N, C) @ wte^T */
void k_lmhead_forward(gptc_ctx *ctx, float *logits, const float *inp, const float *wte, int N, int C, int V);
/* dinp (N, C) += dlogits @ wte ; dwte (V, C) += dlogits^T @ inp */
void k_lmhead_backward(gptc_ctx *ctx, float *dinp, float *dwte, const float *dlogits, const float *inp,
                       const float *wte, int N, int C, int V);

/* ---- embeddings: out (B, T, C) = wte[tokens] + wpe[t]  (wpe may be NULL) */
void k_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C);
void k_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C);

/* ---- layer norm over the last dim: inp (N, C) -> out (N, C); mean, rstd (N) saved */
void k_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                         const float *b, int N, int C, float eps);
void k_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, const float *mean, const float *rstd, int N, int C);

/* ---- GELU: "gelu_new" tanh approximation (GPT-2) when exact == 0, erf GELU when 1 */
void k_gelu_forward(float *out, const float *inp, size_t n, int exact);
void k_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, int exact);

/* ---- residual: out = a + b */
void k_add_forward(float *out, const float *a, const float *b, size_t n);

/* ---- dropout with a counter-based generator (no mask stored): element i of the
 * stream (seed, offset) is kept with probability 1-p and scaled by 1/(1-p).
 * In-place forward on x; backward applies the same mask to dx in place. p == 0: no-op. */
void k_dropout(float *x, size_t n, float p, uint64_t seed, uint64_t offset);

/* ---- multi-head self-attention core.
 * qkv (B, T, 3C) holds q, k, v side by side (c_attn output) -> out (B, T, C).
 * att (B, NH, T, T) keeps the post-softmax (and post-dropout) probabilities for backward;
 * preatt (B, NH, T, T) scratch. causal: mask j > i. scale 1/sqrt(C/NH).
 * Dropout on probabilities with (p, seed, offset) as k_dropout. */
void k_attention_forward(gptc_ctx *ctx, float *out, float *preatt, float *att, const float *qkv,
                         int B, int T, int C, int NH, int causal, float p, uint64_t seed, uint64_t offset);
/* The same on any layout ops.h's gptc_attn_args describes with Tq == Tk, no cache view
 * (kv_index, n_keys NULL): strided q, k, v (BERT's separate blocks), a causal, padding or
 * no mask; a->att and a->preatt kept. Dropout offsets as above. */
struct gptc_attn_args;
void k_attention_forward_args(gptc_ctx *ctx, const struct gptc_attn_args *a, uint64_t offset);
/* Inference over a cache view (no probabilities kept: a->att NULL; kv_index, n_keys and
 * Tq < Tk allowed), for query blocks of at least K_ATT_GEMM_ROWS rows (prompt chunks):
 * per (batch, head) scores and the weighted sum by the GEMM backend. Returns 0 (nothing
 * done) when its scratch cannot be allocated. */
enum { K_ATT_GEMM_ROWS = 48 };
int k_attention_rows_gemm(gptc_ctx *ctx, const struct gptc_attn_args *a);
/* One query row and head over nk keys (rows kv_row floats apart; key_mask NULL or 0 for a
 * key to skip): scores into scores[0, nk), softmax, out[0, hs) = the weighted sum of the
 * values; nk 0 gives zeros. Vectorized for heads up to 128 wide (attend.c); _with forces
 * a gptc_cpu_isa level (lowered to the CPU's) for tests. */
void k_attend_row(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                  float scale, const float *key_mask, float *scores);
void k_attend_row_with(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                       float scale, const float *key_mask, float *scores, int isa);
void k_attention_backward_args(gptc_ctx *ctx, const struct gptc_attn_args *a, float *dq, float *dk, float *dv,
                               const float *dout, float *dpreatt, float *datt, uint64_t offset);
/* dqkv (B, T, 3C) += ; dpreatt, datt scratch of (B, NH, T, T). att must be what forward left. */
void k_attention_backward(gptc_ctx *ctx, float *dqkv, float *dpreatt, float *datt, const float *dout,
                          const float *qkv, const float *att, int B, int T, int C, int NH, int causal,
                          float p, uint64_t seed, uint64_t offset);

/* ---- softmax + cross-entropy over rows of logits (N, V).
 * losses (N): -log softmax(logits)[target], 0 where target == -100 (ignored).
 * Returns the number of non-ignored rows. */
int k_crossentropy_forward(float *losses, const float *logits, const int32_t *targets, int N, int V);
/* dlogits (N, V) = (softmax - onehot) * dloss for non-ignored rows, 0 for ignored
 * (written, not added: dlogits may alias logits). */
void k_crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                             float dloss);

/* ---- AdamW (torch.optim.AdamW) on n elements; t counts from 1 */
void k_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
             float beta2, float eps, float weight_decay, int t);
/* sum of squares (double accumulation) */
double k_sumsq(const float *x, size_t n);
void k_scale(float *x, size_t n, float s);



/* ---- few-row products for decoding (kernels/cpu/gemv.c): memory-bound, so they stream
 * each weight once for all M rows (M <= 8) instead of packing it as a GEMM does.
 * out (M, OC) = x (M, C) @ w (C, OC) + bias (bias may be NULL) */
void k_gemv_conv1d(gptc_ctx *ctx, float *out, const float *x, const float *w, const float *bias, int M, int C, int OC);
/* out (M, V) = x (M, C) @ wte^T, wte (V, C) */
void k_gemv_lmhead(gptc_ctx *ctx, float *out, const float *x, const float *wte, int M, int C, int V);
/* The batch-1 f32 kernels' instruction set: 2 AVX-512F, 1 AVX2 + FMA, 0 portable C (the
 * best this CPU runs); the _with forms take one at most that (tests force each). */
int k_gemv_isa(void);
void k_gemv_conv1d_with(gptc_ctx *ctx, float *out, const float *x, const float *w, const float *bias, int M, int C,
                        int OC, int isa);
void k_gemv_lmhead_with(gptc_ctx *ctx, float *out, const float *x, const float *wte, int M, int C, int V, int isa);
#define GPTC_GEMV_MAX_ROWS 8

#endif
