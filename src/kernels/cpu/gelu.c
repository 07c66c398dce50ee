/* gelu.c: GELU forward and backward on flat arrays: Hugging Face's "gelu_new" tanh form
 * (GPT-2) or the exact erf form. Float math with libm's tanhf/erff/expf (no fast-math:
 * accuracy is compared with PyTorch); parallel over chunks. */
#include "../kernels.h"
#include "vec.h"
#include <math.h>

#define GELU_S 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_K 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

GPTC_CLONES static void gelu_chunk(float *out, const float *inp, size_t n, int exact) {
    if (exact) {
        for (size_t i = 0; i < n; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2));
    } else {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + tanhf(GELU_S * (x + GELU_K * x * x * x)));
        }
    }
}

GPTC_CLONES static void gelu_back_chunk(float *dinp, const float *inp, const float *dout, size_t n, int exact) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], g;
        if (exact) {
            g = 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * expf(-0.5f * x * x) * INV_SQRT_2PI;
        } else {
            float th = tanhf(GELU_S * (x + GELU_K * x * x * x));
            g = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * GELU_S * (1.0f + 3.0f * GELU_K * x * x);
        }
        dinp[i] += g * dout[i];
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
