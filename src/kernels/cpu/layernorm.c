/* layernorm.c: layer norm over the last dim, forward (saves mean, rstd) and backward.
 * Two-pass mean/variance in float with vectorized reductions, like torch's CPU kernel
 * to within rounding. Parallel over rows; dw/db parallel over channel blocks (no races). */
#include "../kernels.h"
#include "vec.h"
#include <math.h>

GPTC_CLONED(void, ln_row, (float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
            int C, float eps), (out, mean, rstd, x, w, b, C, eps)) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int c = 0; c < C; c++) s += x[c];
    float m = s / C, v = 0.0f;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    float r = 1.0f / sqrtf(v / C + eps);
    for (int c = 0; c < C; c++) out[c] = (x[c] - m) * r * w[c] + b[c];
    *mean = m;
    *rstd = r;
}

/* inp (N, C) -> out (N, C); mean, rstd (N) */
void k_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                         int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > GPTC_PAR_MIN)
    for (int n = 0; n < N; n++)
        ln_row(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)n * C, w, b, C, eps);
}

GPTC_CLONED(void, ln_back_row, (float *dinp, const float *dy, const float *x, const float *w, float m, float r,
            int C), (dinp, dy, x, w, m, r, C)) {
    float dmean = 0.0f, dnmean = 0.0f;
#pragma omp simd reduction(+ : dmean, dnmean)
    for (int c = 0; c < C; c++) {
        float dn = w[c] * dy[c];
        dmean += dn;
        dnmean += dn * ((x[c] - m) * r);
    }
    dmean /= C;
    dnmean /= C;
    for (int c = 0; c < C; c++) {
        float norm = (x[c] - m) * r;
        dinp[c] += (w[c] * dy[c] - dmean - norm * dnmean) * r;
    }
}

/* dw[c0:c1] += sum_n dout*norm, db[c0:c1] += sum_n dout */
GPTC_CLONED(void, ln_back_cols, (float *dw, float *db, const float *dout, const float *inp, const float *mean,
            const float *rstd, int N, int C, int c0, int c1), (dw, db, dout, inp, mean, rstd, N, C, c0, c1)) {
    float aw[256], ab[256];
    int wd = c1 - c0;
    for (int j = 0; j < wd; j++) aw[j] = ab[j] = 0.0f;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C + c0, *dy = dout + (size_t)n * C + c0;
        float m = mean[n], r = rstd[n];
        for (int j = 0; j < wd; j++) {
            aw[j] += dy[j] * ((x[j] - m) * r);
            ab[j] += dy[j];
        }
    }
    for (int j = 0; j < wd; j++) {
        if (dw) dw[c0 + j] += aw[j];
        if (db) db[c0 + j] += ab[j];
    }
}

void k_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                          const float *mean, const float *rstd, int N, int C) {
    int par = (size_t)N * C > GPTC_PAR_MIN;
    if (dinp) {
#pragma omp parallel for schedule(static) if (par)
        for (int n = 0; n < N; n++)
            ln_back_row(dinp + (size_t)n * C, dout + (size_t)n * C, inp + (size_t)n * C, w, mean[n], rstd[n], C);
    }
    if (dw || db) {
        /* blocks of 32 channels: enough blocks for every thread at GPT-2 sizes */
        int blk = 32;
#pragma omp parallel for schedule(static) if (par)
        for (int c0 = 0; c0 < C; c0 += blk)
            ln_back_cols(dw, db, dout, inp, mean, rstd, N, C, c0, c0 + blk < C ? c0 + blk : C);
    }
}
