/* kernels_ref.c: scalar reference versions of the ops (see kernels_ref.h): straight
 * loops in the order the math is written, double accumulation, no threads. The oracle
 * of tests/test_kernels.c; never used on a hot path. */
#include "kernels_ref.h"
#include <math.h>
#include <string.h>

static int keep_ref(uint64_t seed, uint64_t idx, float p) {
    /* the same splitmix64 stream as cpu/vec.h, written out independently */
    uint64_t z = seed + (idx + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    double u = (double)(z >> 40) / 16777216.0;
    return u >= p;
}

void k_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     (trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            float *c = C + (size_t)i * ldc + j;
            *c = (float)(alpha * s + (beta != 0.0f ? (double)beta * *c : 0.0));
        }
}

void k_matmul_forward_ref(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++) s += (double)inp[(size_t)n * C + c] * w[(size_t)c * OC + o];
            out[(size_t)n * OC + o] = (float)s;
        }
}

void k_matmul_backward_ref(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                           const float *w, int N, int C, int OC) {
    if (dinp)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int o = 0; o < OC; o++) s += (double)dout[(size_t)n * OC + o] * w[(size_t)c * OC + o];
                dinp[(size_t)n * C + c] += (float)s;
            }
    for (int c = 0; c < C; c++)
        for (int o = 0; o < OC; o++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += (double)inp[(size_t)n * C + c] * dout[(size_t)n * OC + o];
            dw[(size_t)c * OC + o] += (float)s;
        }
    if (dbias)
        for (int o = 0; o < OC; o++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + o];
            dbias[o] += (float)s;
        }
}

void k_lmhead_forward_ref(float *logits, const float *inp, const float *wte, int N, int C, int V) {
    k_sgemm_ref(0, 1, N, V, C, 1.0f, inp, C, wte, C, 0.0f, logits, V);
}

void k_lmhead_backward_ref(float *dinp, float *dwte, const float *dlogits, const float *inp, const float *wte,
                           int N, int C, int V) {
    if (dinp) k_sgemm_ref(0, 0, N, C, V, 1.0f, dlogits, V, wte, C, 1.0f, dinp, C);
    k_sgemm_ref(1, 0, V, C, N, 1.0f, dlogits, V, inp, C, 1.0f, dwte, C);
}

void k_embed_forward_ref(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t bt = (size_t)b * T + t;
            for (int c = 0; c < C; c++)
                out[bt * C + c] = wte[(size_t)tokens[bt] * C + c] + (wpe ? wpe[(size_t)t * C + c] : 0.0f);
        }
}

void k_embed_backward_ref(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t bt = (size_t)b * T + t;
            for (int c = 0; c < C; c++) {
                if (dwte) dwte[(size_t)tokens[bt] * C + c] += dout[bt * C + c];
                if (dwpe) dwpe[(size_t)t * C + c] += dout[bt * C + c];
            }
        }
}

void k_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp, const float *w,
                             const float *b, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;
        double r = 1.0 / sqrt(v + eps);
        for (int c = 0; c < C; c++) out[(size_t)n * C + c] = (float)((x[c] - m) * r * w[c] + b[c]);
        mean[n] = (float)m;
        rstd[n] = (float)r;
    }
}

void k_layernorm_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                              const float *w, const float *mean, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        double dnorm_mean = 0, dnorm_norm_mean = 0;
        for (int c = 0; c < C; c++) {
            double norm = (x[c] - (double)mean[n]) * rstd[n];
            dnorm_mean += (double)w[c] * dy[c];
            dnorm_norm_mean += (double)w[c] * dy[c] * norm;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        for (int c = 0; c < C; c++) {
            double norm = (x[c] - (double)mean[n]) * rstd[n];
            double dnorm = (double)w[c] * dy[c];
            if (dinp) dinp[(size_t)n * C + c] += (float)((dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd[n]);
            if (dw) dw[c] += (float)(norm * dy[c]);
            if (db) db[c] += dy[c];
        }
    }
}

#define GELU_S 0.7978845608028654 /* sqrt(2/pi) */
#define GELU_K 0.044715

void k_gelu_forward_ref(float *out, const float *inp, size_t n, int exact) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(exact ? 0.5 * x * (1.0 + erf(x / sqrt(2.0)))
                               : 0.5 * x * (1.0 + tanh(GELU_S * (x + GELU_K * x * x * x))));
    }
}

void k_gelu_backward_ref(float *dinp, const float *inp, const float *dout, size_t n, int exact) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i], g;
        if (exact) {
            g = 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / 2.5066282746310002; /* sqrt(2 pi) */
        } else {
            double th = tanh(GELU_S * (x + GELU_K * x * x * x));
            g = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * GELU_S * (1.0 + 3.0 * GELU_K * x * x);
        }
        dinp[i] += (float)(g * dout[i]);
    }
}

void k_add_forward_ref(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void k_dropout_ref(float *x, size_t n, float p, uint64_t seed, uint64_t offset) {
    if (p <= 0.0f) return;
    for (size_t i = 0; i < n; i++)
        x[i] = p < 1.0f && keep_ref(seed, offset + i, p) ? (float)(x[i] / (1.0 - (double)p)) : 0.0f;
}

/* Softmax probabilities of row i of head (b, h) in double, before dropout. */
static void att_probs(double *P, const float *qkv, int b, int h, int i, int T, int C, int NH, int causal) {
    int hs = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)hs), mx = -INFINITY, sum = 0;
    const float *q = qkv + ((size_t)b * T + i) * C3 + (size_t)h * hs;
    int jn = causal ? i + 1 : T;
    for (int j = 0; j < T; j++) {
        P[j] = 0;
        if (j >= jn) continue;
        const float *k = qkv + ((size_t)b * T + j) * C3 + C + (size_t)h * hs;
        double s = 0;
        for (int d = 0; d < hs; d++) s += (double)q[d] * k[d];
        P[j] = s * scale;
        if (P[j] > mx) mx = P[j];
    }
    for (int j = 0; j < jn; j++) sum += (P[j] = exp(P[j] - mx));
    for (int j = 0; j < jn; j++) P[j] /= sum;
}

void k_attention_forward_ref(float *out, float *preatt, float *att, const float *qkv, int B, int T, int C, int NH,
                             int causal, float p, uint64_t seed, uint64_t offset) {
    int hs = C / NH, C3 = 3 * C;
    double P[T];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                size_t row = (((size_t)b * NH + h) * T + i) * T;
                att_probs(P, qkv, b, h, i, T, C, NH, causal);
                for (int j = 0; j < T; j++) {
                    preatt[row + j] = (float)P[j];
                    double a = P[j];
                    if (p > 0.0f) a = p < 1.0f && keep_ref(seed, offset + row + j, p) ? a / (1.0 - p) : 0.0;
                    att[row + j] = (float)a;
                }
                for (int d = 0; d < hs; d++) {
                    double s = 0;
                    for (int j = 0; j < T; j++)
                        s += (double)att[row + j] * qkv[((size_t)b * T + j) * C3 + 2 * C + (size_t)h * hs + d];
                    out[((size_t)b * T + i) * C + (size_t)h * hs + d] = (float)s;
                }
            }
}

void k_attention_backward_ref(float *dqkv, float *dpreatt, float *datt, const float *dout, const float *qkv,
                              const float *att, int B, int T, int C, int NH, int causal, float p, uint64_t seed,
                              uint64_t offset) {
    int hs = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)hs);
    double P[T], dP[T];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                size_t row = (((size_t)b * NH + h) * T + i) * T;
                const float *dy = dout + ((size_t)b * T + i) * C + (size_t)h * hs;
                att_probs(P, qkv, b, h, i, T, C, NH, causal);
                double dot = 0;
                for (int j = 0; j < T; j++) {
                    const float *v = qkv + ((size_t)b * T + j) * C3 + 2 * C + (size_t)h * hs;
                    float *dv = dqkv + ((size_t)b * T + j) * C3 + 2 * C + (size_t)h * hs;
                    double da = 0;
                    for (int d = 0; d < hs; d++) {
                        da += (double)dy[d] * v[d];
                        dv[d] += (float)((double)att[row + j] * dy[d]);
                    }
                    datt[row + j] = (float)da;
                    /* through dropout: d(att)/d(P) = mask / (1 - p) */
                    if (p > 0.0f) da = p < 1.0f && keep_ref(seed, offset + row + j, p) ? da / (1.0 - p) : 0.0;
                    dP[j] = da;
                    dot += da * P[j];
                }
                float *dq = dqkv + ((size_t)b * T + i) * C3 + (size_t)h * hs;
                const float *q = qkv + ((size_t)b * T + i) * C3 + (size_t)h * hs;
                for (int j = 0; j < T; j++) {
                    double ds = P[j] * (dP[j] - dot);
                    if (causal && j > i) ds = 0;
                    dpreatt[row + j] = (float)ds;
                    const float *k = qkv + ((size_t)b * T + j) * C3 + C + (size_t)h * hs;
                    float *dk = dqkv + ((size_t)b * T + j) * C3 + C + (size_t)h * hs;
                    for (int d = 0; d < hs; d++) {
                        dq[d] += (float)(ds * scale * k[d]);
                        dk[d] += (float)(ds * scale * q[d]);
                    }
                }
            }
}

int k_crossentropy_forward_ref(float *losses, const float *logits, const int32_t *targets, int N, int V) {
    int count = 0;
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        int t = targets[n];
        if (t < 0 || t >= V) {
            losses[n] = 0.0f;
            continue;
        }
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < V; j++)
            if (x[j] > mx) mx = x[j];
        for (int j = 0; j < V; j++) sum += exp(x[j] - mx);
        losses[n] = (float)(log(sum) + mx - x[t]);
        count++;
    }
    return count;
}

void k_crossentropy_backward_ref(float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                                 float dloss) {
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        float *dx = dlogits + (size_t)n * V;
        int t = targets[n];
        if (t < 0 || t >= V) {
            for (int j = 0; j < V; j++) dx[j] = 0.0f;
            continue;
        }
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < V; j++)
            if (x[j] > mx) mx = x[j];
        for (int j = 0; j < V; j++) sum += exp(x[j] - mx);
        for (int j = 0; j < V; j++) dx[j] = (float)((exp(x[j] - mx) / sum - (j == t)) * dloss);
    }
}

void k_adamw_ref(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                 float eps, float weight_decay, int t) {
    double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    for (size_t i = 0; i < n; i++) {
        double p = param[i], g = grad[i];
        p -= (double)lr * weight_decay * p;
        double mi = (double)beta1 * m[i] + (1.0 - beta1) * g;
        double vi = (double)beta2 * v[i] + (1.0 - beta2) * g * g;
        p -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
        m[i] = (float)mi;
        v[i] = (float)vi;
        param[i] = (float)p;
    }
}

double k_sumsq_ref(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void k_scale_ref(float *x, size_t n, float s) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
