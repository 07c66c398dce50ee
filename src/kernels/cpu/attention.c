/* attention.c: multi-head self-attention core, forward and backward, parallel over
 * (batch, head). Per head: scores Q K^T (GEMM backend when T is large, loops when
 * small), masked softmax, dropout on probabilities, then @ V. Scratch only from caller. */
#include "../kernels.h"
#include "vec.h"
#include <math.h>

enum { GEMM_MIN_T = 48 }; /* below this, per-row loops beat the per-call GEMM overhead */

GPTC_CLONES static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

GPTC_CLONES static void axpy(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

GPTC_CLONES static float row_max(const float *x, int n) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

/* In place: row[0:jn] = softmax(row[0:jn]), row[jn:T] = 0. */
static void softmax_row(float *row, int jn, int T) {
    float mx = row_max(row, jn), s = 0.0f;
    for (int j = 0; j < jn; j++) row[j] -= mx;
    gptc_vexp(row, row, (size_t)jn);
    for (int j = 0; j < jn; j++) s += row[j];
    float inv = 1.0f / s;
    for (int j = 0; j < jn; j++) row[j] *= inv;
    for (int j = jn; j < T; j++) row[j] = 0.0f;
}

typedef struct {
    int T, C, NH, hs, causal, gemm;
    float scale, p, keep_scale;
    uint64_t seed, offset;
} att_shape;

/* P (T, T) of head (b, h) = masked softmax(scale * Q K^T). */
static void head_probs(gptc_ctx *ctx, float *P, const float *Q, const float *K, const att_shape *s) {
    int T = s->T, C3 = 3 * s->C;
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 1, T, T, s->hs, s->scale, Q, C3, K, C3, 0.0f, P, T);
    } else {
        for (int i = 0; i < T; i++) {
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++)
                P[(size_t)i * T + j] = s->scale * dot(Q + (size_t)i * C3, K + (size_t)j * C3, s->hs);
        }
    }
    for (int i = 0; i < T; i++) softmax_row(P + (size_t)i * T, s->causal ? i + 1 : T, T);
}

static void head_forward(gptc_ctx *ctx, float *out, float *pre, float *att, const float *qkv, int bh,
                         const att_shape *s) {
    int T = s->T, C = s->C, C3 = 3 * C, b = bh / s->NH, h = bh % s->NH, hs = s->hs;
    const float *Q = qkv + (size_t)b * T * C3 + (size_t)h * hs, *K = Q + C, *V = Q + 2 * C;
    float *O = out + (size_t)b * T * C + (size_t)h * hs;
    size_t base = (size_t)bh * T * T;
    head_probs(ctx, pre + base, Q, K, s);
    float *A = att + base;
    const float *P = pre + base;
    for (size_t e = 0; e < (size_t)T * T; e++) A[e] = P[e];
    if (s->p > 0.0f)
        for (size_t e = 0; e < (size_t)T * T; e++)
            A[e] = gptc_dropout_keep(s->seed, s->offset + base + e, s->p) ? A[e] * s->keep_scale : 0.0f;
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 0, T, hs, T, 1.0f, A, T, V, C3, 0.0f, O, C);
    } else {
        for (int i = 0; i < T; i++) {
            float *o = O + (size_t)i * C;
            for (int d = 0; d < hs; d++) o[d] = 0.0f;
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++) axpy(o, A[(size_t)i * T + j], V + (size_t)j * C3, hs);
        }
    }
}

static int setup(gptc_ctx *ctx, att_shape *s, int T, int C, int NH, int causal, float p, uint64_t seed,
                 uint64_t offset) {
    s->T = T;
    s->C = C;
    s->NH = NH;
    s->hs = C / NH;
    s->causal = causal;
    s->scale = 1.0f / sqrtf((float)s->hs);
    s->p = p > 0.0f ? p : 0.0f;
    s->keep_scale = p > 0.0f && p < 1.0f ? (float)(1.0 / (1.0 - (double)p)) : 0.0f;
    s->seed = seed;
    s->offset = offset;
    s->gemm = T >= GEMM_MIN_T;
    /* choose the GEMM backend before threads start: gptc_sgemm is called per head inside
     * the parallel region, where OpenBLAS (OpenMP build) runs single-threaded */
    if (s->gemm && !ctx->backend) gptc_backend_init(ctx);
    return 0;
}

void k_attention_forward(gptc_ctx *ctx, float *out, float *preatt, float *att, const float *qkv, int B, int T, int C,
                         int NH, int causal, float p, uint64_t seed, uint64_t offset) {
    att_shape s;
    setup(ctx, &s, T, C, NH, causal, p, seed, offset);
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads) if (B * NH > 1)
    for (int bh = 0; bh < B * NH; bh++) head_forward(ctx, out, preatt, att, qkv, bh, &s);
}

static void head_backward(gptc_ctx *ctx, float *dqkv, float *dpre, float *datt, const float *dout, const float *qkv,
                          const float *att, int bh, const att_shape *s) {
    int T = s->T, C = s->C, C3 = 3 * C, b = bh / s->NH, h = bh % s->NH, hs = s->hs;
    size_t off = (size_t)b * T * C3 + (size_t)h * hs, base = (size_t)bh * T * T;
    const float *Q = qkv + off, *K = Q + C, *V = Q + 2 * C, *A = att + base;
    const float *dO = dout + (size_t)b * T * C + (size_t)h * hs;
    float *dQ = dqkv + off, *dK = dQ + C, *dV = dQ + 2 * C, *dA = datt + base, *dS = dpre + base;
    /* dA = dO V^T, dV += A^T dO */
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 1, T, T, hs, 1.0f, dO, C, V, C3, 0.0f, dA, T);
        gptc_sgemm(ctx, 1, 0, T, hs, T, 1.0f, A, T, dO, C, 1.0f, dV, C3);
    } else {
        for (int i = 0; i < T; i++) {
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++) {
                dA[(size_t)i * T + j] = dot(dO + (size_t)i * C, V + (size_t)j * C3, hs);
                axpy(dV + (size_t)j * C3, A[(size_t)i * T + j], dO + (size_t)i * C, hs);
            }
        }
    }
    /* P: the saved probabilities, or recomputed when dropout changed them */
    const float *P = A;
    if (s->p > 0.0f) {
        head_probs(ctx, dS, Q, K, s);
        P = dS;
    }
    for (int i = 0; i < T; i++) {
        int jn = s->causal ? i + 1 : T;
        float *da = dA + (size_t)i * T, *ds = dS + (size_t)i * T;
        const float *pr = P + (size_t)i * T;
        if (s->p > 0.0f)
            for (int j = 0; j < jn; j++)
                da[j] = gptc_dropout_keep(s->seed, s->offset + base + (size_t)i * T + j, s->p) ? da[j] * s->keep_scale
                                                                                                 : 0.0f;
        float sum = dot(da, pr, jn);
        for (int j = 0; j < jn; j++) ds[j] = pr[j] * (da[j] - sum); /* ds may alias pr: same j */
        for (int j = jn; j < T; j++) ds[j] = 0.0f;
    }
    /* dQ += scale dS K, dK += scale dS^T Q */
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 0, T, hs, T, s->scale, dS, T, K, C3, 1.0f, dQ, C3);
        gptc_sgemm(ctx, 1, 0, T, hs, T, s->scale, dS, T, Q, C3, 1.0f, dK, C3);
    } else {
        for (int i = 0; i < T; i++) {
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++) {
                float g = s->scale * dS[(size_t)i * T + j];
                axpy(dQ + (size_t)i * C3, g, K + (size_t)j * C3, hs);
                axpy(dK + (size_t)j * C3, g, Q + (size_t)i * C3, hs);
            }
        }
    }
}

void k_attention_backward(gptc_ctx *ctx, float *dqkv, float *dpreatt, float *datt, const float *dout, const float *qkv,
                          const float *att, int B, int T, int C, int NH, int causal, float p, uint64_t seed,
                          uint64_t offset) {
    att_shape s;
    setup(ctx, &s, T, C, NH, causal, p, seed, offset);
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads) if (B * NH > 1)
    for (int bh = 0; bh < B * NH; bh++) head_backward(ctx, dqkv, dpreatt, datt, dout, qkv, att, bh, &s);
}
