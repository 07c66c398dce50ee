/* xent.c: softmax cross-entropy over rows of logits with ignore index -100 (any target
 * outside [0, V) is ignored), numerically stable log-sum-exp, parallel over rows.
 * Backward recomputes the softmax and writes (not adds); dlogits may alias logits. */
#include "../kernels.h"
#include "vec.h"
#include <math.h>

GPTC_CLONED(float, row_max, (const float *x, int V), (x, V)) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

/* sum_j exp(x[j] - mx), in double, exp vectorized on tiles */
static double row_sumexp(const float *x, int V, float mx) {
    float t[256];
    double s = 0;
    for (int j0 = 0; j0 < V; j0 += 256) {
        int k = V - j0 < 256 ? V - j0 : 256;
        for (int j = 0; j < k; j++) t[j] = x[j0 + j] - mx;
        gptc_vexp(t, t, (size_t)k);
        float part = 0;
        for (int j = 0; j < k; j++) part += t[j];
        s += part;
    }
    return s;
}

int k_crossentropy_forward(float *losses, const float *logits, const int32_t *targets, int N, int V) {
    int count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count) if ((size_t)N * V > GPTC_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        int t = targets[n];
        if (t < 0 || t >= V) {
            losses[n] = 0.0f;
            continue;
        }
        float mx = row_max(x, V);
        double s = row_sumexp(x, V, mx);
        losses[n] = (float)(log(s) + ((double)mx - x[t]));
        count++;
    }
    return count;
}

/* dx may alias x: the max and the sum are taken before dx is written */
static void xent_back_row(float *dx, const float *x, int V, int t, float dloss) {
    float mx = row_max(x, V);
    float scale = (float)(1.0 / row_sumexp(x, V, mx)) * dloss;
    for (int j = 0; j < V; j++) dx[j] = x[j] - mx;
    gptc_vexp(dx, dx, (size_t)V);
    for (int j = 0; j < V; j++) dx[j] *= scale;
    dx[t] -= dloss;
}

void k_crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                             float dloss) {
#pragma omp parallel for schedule(static) if ((size_t)N * V > GPTC_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *dx = dlogits + (size_t)n * V;
        int t = targets[n];
        if (t < 0 || t >= V) {
            for (int j = 0; j < V; j++) dx[j] = 0.0f;
            continue;
        }
        xent_back_row(dx, logits + (size_t)n * V, V, t, dloss);
    }
}
