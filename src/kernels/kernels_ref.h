/* kernels_ref.h: plain scalar reference versions of every op in kernels.h (same
 * signatures, suffix _ref, no ctx, no threads, double accumulation). They are slow on
 * purpose: the oracle the fast kernels are tested against (tests/test_kernels.c). */
#ifndef GPTC_KERNELS_REF_H
#define GPTC_KERNELS_REF_H

#include <stddef.h>
#include <stdint.h>

/* C[M,N] = alpha * op(A) @ op(B) + beta * C; beta == 0 does not read C. */
void k_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);

void k_matmul_forward_ref(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC);
void k_matmul_backward_ref(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                           const float *w, int N, int C, int OC);
void k_lmhead_forward_ref(float *logits, const float *inp, const float *wte, int N, int C, int V);
void k_lmhead_backward_ref(float *dinp, float *dwte, const float *dlogits, const float *inp, const float *wte,
                           int N, int C, int V);
void k_embed_forward_ref(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C);
void k_embed_backward_ref(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C);
void k_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp, const float *w,
                             const float *b, int N, int C, float eps);
void k_layernorm_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                              const float *w, const float *mean, const float *rstd, int N, int C);
void k_gelu_forward_ref(float *out, const float *inp, size_t n, int exact);
void k_gelu_backward_ref(float *dinp, const float *inp, const float *dout, size_t n, int exact);
void k_add_forward_ref(float *out, const float *a, const float *b, size_t n);
void k_dropout_ref(float *x, size_t n, float p, uint64_t seed, uint64_t offset);
void k_attention_forward_ref(float *out, float *preatt, float *att, const float *qkv, int B, int T, int C, int NH,
                             int causal, float p, uint64_t seed, uint64_t offset);
void k_attention_backward_ref(float *dqkv, float *dpreatt, float *datt, const float *dout, const float *qkv,
                              const float *att, int B, int T, int C, int NH, int causal, float p, uint64_t seed,
                              uint64_t offset);
int k_crossentropy_forward_ref(float *losses, const float *logits, const int32_t *targets, int N, int V);
void k_crossentropy_backward_ref(float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                                 float dloss);
void k_adamw_ref(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                 float eps, float weight_decay, int t);
double k_sumsq_ref(const float *x, size_t n);
void k_scale_ref(float *x, size_t n, float s);

#endif
