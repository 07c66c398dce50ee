/* embed.c: token + position embeddings, forward (parallel over rows) and backward
 * (parallel over channel blocks, so rows that share a token never race). Token ids are
 * validated by the caller; an id outside [0, V) would be a programmer error. */
#include "../kernels.h"
#include "vec.h"

GPTC_CLONED(void, embed_row, (float *out, const float *e, const float *p, int C), (out, e, p, C)) {
    if (p)
        for (int c = 0; c < C; c++) out[c] = e[c] + p[c];
    else
        for (int c = 0; c < C; c++) out[c] = e[c];
}

/* out (B, T, C) = wte[tokens] + wpe[t] */
void k_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C) {
    int BT = B * T;
#pragma omp parallel for schedule(static) if ((size_t)BT * C > GPTC_PAR_MIN)
    for (int i = 0; i < BT; i++)
        embed_row(out + (size_t)i * C, wte + (size_t)tokens[i] * C, wpe ? wpe + (size_t)(i % T) * C : NULL, C);
}

GPTC_CLONED(void, acc_row, (float *dst, const float *src, int n), (dst, src, n)) {
    for (int c = 0; c < n; c++) dst[c] += src[c];
}

void k_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C) {
    int blk = 64, par = (size_t)B * T * C > GPTC_PAR_MIN;
    if (dwte) {
#pragma omp parallel for schedule(static) if (par)
        for (int c0 = 0; c0 < C; c0 += blk) {
            int w = c0 + blk < C ? blk : C - c0;
            for (int i = 0; i < B * T; i++) acc_row(dwte + (size_t)tokens[i] * C + c0, dout + (size_t)i * C + c0, w);
        }
    }
    if (dwpe) {
#pragma omp parallel for schedule(static) if (par)
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) acc_row(dwpe + (size_t)t * C, dout + ((size_t)b * T + t) * C, C);
    }
}
