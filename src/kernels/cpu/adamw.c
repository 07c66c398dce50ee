/* adamw.c: the optimizer step (torch.optim.AdamW, single-tensor path, same order of
 * float operations), and the sum-of-squares / scale used for gradient clipping. */
#include "../kernels.h"
#include "vec.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

GPTC_CLONED(void, adamw_chunk, (float *p, const float *g, float *m, float *v, size_t n, float decay, float b1,
            float omb1, float b2, float omb2, float step_size, float bc2_sqrt, float eps), (p, g, m, v, n, decay, b1,
            omb1, b2, omb2, step_size, bc2_sqrt, eps)) {
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay;
        float mi = m[i] * b1 + omb1 * g[i];
        float vi = v[i] * b2 + omb2 * g[i] * g[i]; /* torch addcmul: (value*g)*g */
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi + (-step_size) * mi / denom; /* torch addcdiv: (value*m)/denom */
        m[i] = mi;
        v[i] = vi;
    }
}

/* The shortest decimal that rounds to x, as a double (Python's repr): hyperparameters
 * arrive as float, while torch computes 1 - beta2 etc. from the Python double 0.999,
 * and 1 - (double)0.999f is off by 1.3e-5 relative. */
static double shortest_decimal(float x) {
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        double d = strtod(buf, NULL);
        if ((float)d == x) return d;
    }
    return x;
}

/* torch: p *= 1 - lr*wd; m = m*b1 + (1-b1)*g; v = v*b2 + (1-b2)*g*g;
 * p += -(lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps); scalars in double, then float */
void k_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1, float beta2,
             float eps, float weight_decay, int t) {
    double lr_d = shortest_decimal(lr), b1 = shortest_decimal(beta1), b2 = shortest_decimal(beta2);
    double wd = shortest_decimal(weight_decay);
    double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    float decay = (float)(1.0 - lr_d * wd);
    float step_size = (float)(lr_d / bc1), bc2_sqrt = (float)sqrt(bc2);
    float omb1 = (float)(1.0 - b1), omb2 = (float)(1.0 - b2);
#pragma omp parallel for schedule(static) if (n > GPTC_PAR_MIN)
    for (size_t i = 0; i < n; i += GPTC_CHUNK)
        adamw_chunk(param + i, grad + i, m + i, v + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK, decay, beta1, omb1,
                    beta2, omb2, step_size, bc2_sqrt, eps);
}

GPTC_CLONED(double, sumsq_chunk, (const float *x, size_t n), (x, n)) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

/* Deterministic for a given thread count (exact resume of training relies on it):
 * each thread sums a fixed range of chunks, and the partial sums are added in thread
 * order, not in the order the threads finish as an OpenMP reduction may. */
double k_sumsq(const float *x, size_t n) {
    enum { MAX_PARTS = 256 };
    double part[MAX_PARTS];
    size_t n_chunks = (n + GPTC_CHUNK - 1) / GPTC_CHUNK;
    int n_parts = 1;
#ifdef _OPENMP
    n_parts = omp_get_max_threads() < MAX_PARTS ? omp_get_max_threads() : MAX_PARTS;
#endif
    if (n <= GPTC_PAR_MIN) n_parts = 1;
#pragma omp parallel num_threads(n_parts) if (n_parts > 1)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        if (t == 0) n_parts = nt;
        size_t c0 = n_chunks * (size_t)t / (size_t)nt, c1 = n_chunks * (size_t)(t + 1) / (size_t)nt;
        double s = 0;
        for (size_t c = c0; c < c1; c++) {
            size_t i = c * GPTC_CHUNK;
            s += sumsq_chunk(x + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK);
        }
        part[t] = s;
    }
    double s = 0;
    for (int t = 0; t < n_parts; t++) s += part[t];
    return s;
}

GPTC_CLONED(void, scale_chunk, (float *x, size_t n, float s), (x, n, s)) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

void k_scale(float *x, size_t n, float s) {
#pragma omp parallel for schedule(static) if (n > GPTC_PAR_MIN)
    for (size_t i = 0; i < n; i += GPTC_CHUNK) scale_chunk(x + i, n - i < GPTC_CHUNK ? n - i : GPTC_CHUNK, s);
}
