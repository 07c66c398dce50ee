/* gelu.c: GELU forward and backward on flat arrays: Hugging Face's "gelu_new" tanh form
 * (GPT-2) or the exact erf form (libm erff). No fast-math: accuracy is compared with
 * PyTorch; parallel over chunks. */
#include "../kernels.h"
#include "vec.h"
#include <math.h>

#define GELU_S 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_K 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

/* gelu_new without tanh: 0.5 x (1 + tanh(u)) = x * sigmoid(2u) = x / (1 + exp(-2u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3). Algebraically the same; numerically it avoids the
 * cancellation of 1 + tanh(u) for negative u, and exp vectorizes (vexp.c). Pieces of
 * GELU_TILE elements keep the intermediate in L1. */
enum { GELU_TILE = 256 };

GPTC_CLONED(void, gelu_arg, (float *a, const float *x, size_t n), (a, x, n)) {
    for (size_t i = 0; i < n; i++) a[i] = -2.0f * GELU_S * (x[i] + GELU_K * x[i] * x[i] * x[i]);
}

GPTC_CLONED(void, gelu_finish, (float *out, const float *x, const float *e, size_t n), (out, x, e, n)) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] / (1.0f + e[i]);
}

/* d/dx x s(2u) = s + x s (1 - s) 2 u'(x), s = 1 / (1 + e), u' = sqrt(2/pi)(1 + 3k x^2) */
GPTC_CLONED(void, gelu_back_finish, (float *dinp, const float *x, const float *e, const float *dout, size_t n),
            (dinp, x, e, dout, n)) {
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + e[i]);
        float du = 2.0f * GELU_S * (1.0f + 3.0f * GELU_K * x[i] * x[i]);
        dinp[i] += dout[i] * (s + x[i] * s * (1.0f - s) * du);
    }
}

static void gelu_chunk(float *out, const float *inp, size_t n, int exact) {
    if (exact) {
        for (size_t i = 0; i < n; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2));
        return;
    }
    float e[GELU_TILE];
    for (size_t i = 0; i < n; i += GELU_TILE) {
        size_t k = n - i < GELU_TILE ? n - i : GELU_TILE;
        gelu_arg(e, inp + i, k);
        gptc_vexp(e, e, k);
        gelu_finish(out + i, inp + i, e, k);
    }
}

static void gelu_back_chunk(float *dinp, const float *inp, const float *dout, size_t n, int exact) {
    if (exact) {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float g = 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * expf(-0.5f * x * x) * INV_SQRT_2PI;
            dinp[i] += g * dout[i];
        }
        return;
    }
    float e[GELU_TILE];
    for (size_t i = 0; i < n; i += GELU_TILE) {
        size_t k = n - i < GELU_TILE ? n - i : GELU_TILE;
        gelu_arg(e, inp + i, k);
        gptc_vexp(e, e, k);
        gelu_back_finish(dinp + i, inp + i, e, dout + i, k);
    }
}

void k_gelu_forward(float *out, const float *inp, size_t n, int exact) {
#pragma omp parallel for schedule(static) if (n > GPTC_PAR_MIN)
    for (size_t i = 0; i < n; i += GPTC_CHUNK) gelu_chunk(out + i, inp + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK, exact);
}

void k_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, int exact) {
#pragma omp parallel for schedule(static) if (n > GPTC_PAR_MIN)
    for (size_t i = 0; i < n; i += GPTC_CHUNK)
        gelu_back_chunk(dinp + i, inp + i, dout + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK, exact);
}
