/* matmul.c: linear layers on the GEMM backend: Hugging Face Conv1D (w [C, OC]) forward
 * and backward, and the LM head tied to wte [V, C]. Bias handling is vectorized here;
 * the products go to gptc_sgemm (blas.c). */
#include "../kernels.h"
#include "vec.h"

GPTC_CLONED(void, fill_rows, (float *out, const float *bias, int n0, int n1, int OC), (out, bias, n0, n1, OC)) {
    for (int n = n0; n < n1; n++) {
        float *o = out + (size_t)n * OC;
        for (int j = 0; j < OC; j++) o[j] = bias[j];
    }
}

/* dbias[j0:j1] += sum over rows of dout[:, j0:j1] */
GPTC_CLONED(void, bias_grad_cols, (float *dbias, const float *dout, int N, int OC, int j0, int j1), (dbias, dout, N,
            OC, j0, j1)) {
    float acc[256];
    int w = j1 - j0;
    for (int j = 0; j < w; j++) acc[j] = 0.0f;
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * OC + j0;
        for (int j = 0; j < w; j++) acc[j] += d[j];
    }
    for (int j = 0; j < w; j++) dbias[j0 + j] += acc[j];
}

/* inp (N, C), w (C, OC), bias (OC) or NULL -> out (N, OC) */
void k_matmul_forward(gptc_ctx *ctx, float *out, const float *inp, const float *w, const float *bias, int N, int C,
                      int OC) {
    if (N <= 0 || OC <= 0) return;
    if (bias) {
        int rows = 64;
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads) if ((size_t)N * OC > GPTC_PAR_MIN)
        for (int n0 = 0; n0 < N; n0 += rows) fill_rows(out, bias, n0, n0 + rows < N ? n0 + rows : N, OC);
    }
    gptc_sgemm(ctx, 0, 0, N, OC, C, 1.0f, inp, C, w, OC, bias ? 1.0f : 0.0f, out, OC);
}

/* dout (N, OC) -> dinp (N, C) += dout @ w^T, dw (C, OC) += inp^T @ dout, dbias += sum rows */
void k_matmul_backward(gptc_ctx *ctx, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                       const float *w, int N, int C, int OC) {
    if (N <= 0) return;
    if (dinp) gptc_sgemm(ctx, 0, 1, N, C, OC, 1.0f, dout, OC, w, OC, 1.0f, dinp, C);
    if (dw) gptc_sgemm(ctx, 1, 0, C, OC, N, 1.0f, inp, C, dout, OC, 1.0f, dw, OC);
    if (dbias) {
        int cols = 256;
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads) if ((size_t)N * OC > GPTC_PAR_MIN)
        for (int j0 = 0; j0 < OC; j0 += cols) bias_grad_cols(dbias, dout, N, OC, j0, j0 + cols < OC ? j0 + cols : OC);
    }
}

/* logits (N, V) = inp (N, C) @ wte^T, wte (V, C) */
void k_lmhead_forward(gptc_ctx *ctx, float *logits, const float *inp, const float *wte, int N, int C, int V) {
    gptc_sgemm(ctx, 0, 1, N, V, C, 1.0f, inp, C, wte, C, 0.0f, logits, V);
}

/* dinp (N, C) += dlogits @ wte ; dwte (V, C) += dlogits^T @ inp */
void k_lmhead_backward(gptc_ctx *ctx, float *dinp, float *dwte, const float *dlogits, const float *inp,
                       const float *wte, int N, int C, int V) {
    if (dinp) gptc_sgemm(ctx, 0, 0, N, C, V, 1.0f, dlogits, V, wte, C, 1.0f, dinp, C);
    if (dwte) gptc_sgemm(ctx, 1, 0, V, C, N, 1.0f, dlogits, V, inp, C, 1.0f, dwte, C);
}
