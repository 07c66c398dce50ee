/* qlinear.h: linear layers on ggml-quantized weights (q8_0, q4_0, q4_k; quant.h), as
 * ggml's CPU backend computes them: each row of x is quantized on the fly to int8 in
 * blocks of 32 (q8_0's rule: d = max|x| / 127, q = round(x / d), d kept as f32, with the
 * block's sum of q), every block product is an exact integer dot product, scaled by the
 * two blocks' scales and summed in f32. q4_k: sub-block s of a weight row gives
 * d_x * (d*sc[s] * sum(q_w q_x) - dmin*m[s] * sum(q_x)). Internal. */
#ifndef GPTC_KERNELS_QLINEAR_H
#define GPTC_KERNELS_QLINEAR_H

#include "../core/core.h"
#include "wdesc.h"

/* The kernel table's linear (k_linear_w) takes k_linear_q for fewer than
 * GPTC_QL_GEMM_ROWS rows (decoding, small batches) and the int8 GEMM k_qgemm for
 * prompt-sized products: the same quantization of x and the same integer block sums
 * (as ggml's CPU backend computes every batch), f32 sums in another order. */
#define GPTC_QL_GEMM_ROWS 32

/* Paths: 3 AVX-512 with VNNI (vpdpbusd), 2 AVX-512BW (vpmaddubsw + vpmaddwd), 1 AVX2
 * (the same on 256 bits), 0 scalar; k_linear_q_isa is the best this CPU runs. */
enum { GPTC_QL_SCALAR = 0, GPTC_QL_AVX2 = 1, GPTC_QL_AVX512 = 2, GPTC_QL_VNNI = 3 };
int k_linear_q_isa(void);

/* out (N, w->out) = x (N, w->in) @ W^T + bias (may be NULL); W quantized [out, in],
 * w->in a multiple of 32 (256 for q4_k). Threads over output rows; every N. out must
 * not alias x. k_linear_q_with forces a path (lowered to the CPU's best). */
void k_linear_q(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N);
void k_linear_q_with(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N,
                     int isa);
/* The int8 GEMM (qgemm.c) for many rows: out as k_linear_q's up to the order of the f32
 * sums. Paths: VNNI, AVX2 (taken by AVX-512BW without VNNI too); scalar: k_linear_q's.
 * k_qgemm_isa is the best this CPU runs; k_qgemm_with forces one (lowered to it). */
int k_qgemm_isa(void);
void k_qgemm(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N);
void k_qgemm_with(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N, int isa);
/* The oracle: the same quantization of x, integer block sums, everything else in double. */
void k_linear_q_ref(const gptc_wdesc *w, float *out, const float *x, const float *bias, int N);

/* One row of n activations (n a multiple of 32) to int8 blocks: q (n), d and s (n / 32):
 * x[k] ~ d[k / 32] * q[k], s[b] = the sum of block b's q. */
void k_quantize_act(const float *x, int n, int8_t *q, float *d, int32_t *s);
/* The same on a forced path (GPTC_QL_*, lowered to the CPU's best): every path gives the
 * scalar rule's bytes (roundf, half away from zero). */
void k_quantize_act_with(const float *x, int n, int8_t *q, float *d, int32_t *s, int isa);

#endif
