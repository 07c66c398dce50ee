/* wlinear.h: linear layers on weights kept as stored (gptc_wdesc: F32, F16, BF16 in
 * [in, out] or [out, in] layout), converted to f32 in registers (few rows) or in bounded
 * panels for the GEMM (many rows). Internal. The f32 <-> f16/bf16 element conversions
 * (round to nearest even, as PyTorch's .to()) are io/safetensors.h's gptc_f32_to_bf16,
 * gptc_f32_to_f16, gptc_bf16_to_f32 and gptc_f16_to_f32. */
#ifndef GPTC_KERNELS_WLINEAR_H
#define GPTC_KERNELS_WLINEAR_H

#include "../core/core.h"
#include "wdesc.h"

/* out (N, w->out) = x (N, w->in) @ W + bias (bias (w->out) may be NULL), W as w
 * describes it. N <= GPTC_GEMV_MAX_ROWS (decoding): each weight element is read once for
 * all rows, split over ctx->n_threads by output column. More rows: panels of W are
 * converted to f32 (at most 2 MiB of scratch per call) and go to gptc_sgemm. F32 weights
 * take the existing f32 kernels (k_gemv_conv1d / k_gemv_lmhead / k_matmul_forward /
 * k_lmhead_forward), so the results are theirs bit for bit. out must not alias x. */
void k_linear_w(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N);

/* The oracle: scalar, each product and the sum in double. */
void k_linear_w_ref(const gptc_wdesc *w, float *out, const float *x, const float *bias, int N);

/* dst (w->in) = row r of W in [out, in] layout, as f32 (exact for every dtype). */
void k_weight_row(const gptc_wdesc *w, int r, float *dst);
/* W[input k, output v] as f32 (any dtype and layout). */
float k_weight_at(const gptc_wdesc *w, int k, int v);

/* The conversion paths of F16/BF16 weights: 2 AVX-512F (vcvtph2ps for F16, a shift for
 * BF16), 1 AVX2+FMA+F16C, 0 scalar. k_linear_w_isa is the best this CPU runs;
 * k_linear_w_with forces one, for tests (a path above the CPU's best is lowered to it).
 * F32 weights ignore isa (the f32 kernels choose their own). */
enum { GPTC_WL_SCALAR = 0, GPTC_WL_AVX2 = 1, GPTC_WL_AVX512 = 2 };
int k_linear_w_isa(void);
void k_linear_w_with(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N,
                     int isa);

#endif
