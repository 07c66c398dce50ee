/* misc.c: flat elementwise ops: residual add and dropout (counter-based mask from
 * (seed, offset + i), so backward regenerates it instead of storing it). */
#include "../kernels.h"
#include "vec.h"

GPTC_CLONED(void, add_chunk, (float *out, const float *a, const float *b, size_t n), (out, a, b, n)) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void k_add_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > GPTC_PAR_MIN)
    for (size_t i = 0; i < n; i += GPTC_CHUNK) add_chunk(out + i, a + i, b + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK);
}

static void dropout_chunk(float *x, size_t n, float p, float scale, uint64_t seed, uint64_t idx) {
    for (size_t i = 0; i < n; i++) x[i] = gptc_dropout_keep(seed, idx + i, p) ? x[i] * scale : 0.0f;
}

/* scale = 1/(1-p) rounded to float once, as torch does */
void k_dropout(float *x, size_t n, float p, uint64_t seed, uint64_t offset) {
    if (!(p > 0.0f)) return;
    if (p >= 1.0f) {
        for (size_t i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    float scale = (float)(1.0 / (1.0 - (double)p));
#pragma omp parallel for schedule(static) if (n > GPTC_PAR_MIN)
    for (size_t i = 0; i < n; i += GPTC_CHUNK)
        dropout_chunk(x + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK, p, scale, seed, offset + i);
}
