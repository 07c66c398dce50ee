/* attention.c: multi-head self-attention core, forward and backward, parallel over
 * (batch, head). Per head: scores Q K^T (GEMM backend when T is large, loops when
 * small), masked softmax, dropout on probabilities, then @ V. Scratch only from caller. */
#include "../kernels.h"
#include "../ops.h"
#include "vec.h"
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { GEMM_MIN_T = K_ATT_GEMM_ROWS }; /* below this, per-row loops beat the per-call GEMM overhead */

GPTC_CLONED(float, dot, (const float *a, const float *b, int n), (a, b, n)) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

GPTC_CLONED(void, axpy, (float *y, float a, const float *x, int n), (y, a, x, n)) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

GPTC_CLONED(float, row_max, (const float *x, int n), (x, n)) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

/* In place: row[0:jn] = softmax(row[0:jn]) over the keys km lets through (km NULL:
 * all), row[jn:T] = 0. Every key masked: uniform over the jn keys (Hugging Face's
 * additive (1 - mask) * finfo.min makes all scores equal). */
static void softmax_row(float *row, int jn, int T, const float *km) {
    if (km)
        for (int j = 0; j < jn; j++)
            if (km[j] == 0.0f) row[j] = -INFINITY;
    float mx = row_max(row, jn), s = 0.0f;
    if (mx == -INFINITY) {
        for (int j = 0; j < jn; j++) row[j] = 1.0f / (float)jn;
        for (int j = jn; j < T; j++) row[j] = 0.0f;
        return;
    }
    for (int j = 0; j < jn; j++) row[j] -= mx;
    gptc_vexp(row, row, (size_t)jn);
    if (km)
        for (int j = 0; j < jn; j++)
            if (km[j] == 0.0f) row[j] = 0.0f;
    for (int j = 0; j < jn; j++) s += row[j];
    float inv = 1.0f / s;
    for (int j = 0; j < jn; j++) row[j] *= inv;
    for (int j = jn; j < T; j++) row[j] = 0.0f;
}

/* One call's layout: q, k, v rows with their strides (GPT-2: one (B, T, 3C) buffer;
 * BERT: three (B, T, C) blocks), out rows, an optional padding mask (B, T). */
typedef struct {
    int T, C, NH, hs, causal, gemm;
    float scale, p, keep_scale;
    uint64_t seed, offset;
    const float *q, *k, *v, *km;
    size_t ldq, ldkv, qb, kvb, ldo;
} att_shape;

/* P (T, T) of head (b, h) = masked softmax(scale * Q K^T). */
static void head_probs(gptc_ctx *ctx, float *P, const float *Q, const float *K, const float *km, const att_shape *s) {
    int T = s->T;
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 1, T, T, s->hs, s->scale, Q, (int)s->ldq, K, (int)s->ldkv, 0.0f, P, T);
    } else {
        for (int i = 0; i < T; i++) {
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++)
                P[(size_t)i * T + j] = s->scale * dot(Q + (size_t)i * s->ldq, K + (size_t)j * s->ldkv, s->hs);
        }
    }
    for (int i = 0; i < T; i++) softmax_row(P + (size_t)i * T, s->causal ? i + 1 : T, T, km);
}

static void head_forward(gptc_ctx *ctx, float *out, float *pre, float *att, int bh, const att_shape *s) {
    int T = s->T, b = bh / s->NH, h = bh % s->NH, hs = s->hs;
    const float *Q = s->q + (size_t)b * s->qb + (size_t)h * hs, *K = s->k + (size_t)b * s->kvb + (size_t)h * hs,
                *V = s->v + (size_t)b * s->kvb + (size_t)h * hs, *km = s->km ? s->km + (size_t)b * T : NULL;
    float *O = out + (size_t)b * T * s->ldo + (size_t)h * hs;
    size_t base = (size_t)bh * T * T;
    head_probs(ctx, pre + base, Q, K, km, s);
    float *A = att + base;
    const float *P = pre + base;
    for (size_t e = 0; e < (size_t)T * T; e++) A[e] = P[e];
    if (s->p > 0.0f)
        for (size_t e = 0; e < (size_t)T * T; e++)
            A[e] = gptc_dropout_keep(s->seed, s->offset + base + e, s->p) ? A[e] * s->keep_scale : 0.0f;
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 0, T, hs, T, 1.0f, A, T, V, (int)s->ldkv, 0.0f, O, (int)s->ldo);
    } else {
        for (int i = 0; i < T; i++) {
            float *o = O + (size_t)i * s->ldo;
            for (int d = 0; d < hs; d++) o[d] = 0.0f;
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++) axpy(o, A[(size_t)i * T + j], V + (size_t)j * s->ldkv, hs);
        }
    }
}

static void setup(gptc_ctx *ctx, att_shape *s, const gptc_attn_args *a) {
    memset(s, 0, sizeof *s);
    s->T = a->Tq;
    s->NH = a->NH;
    s->hs = a->hs;
    s->C = a->NH * a->hs;
    s->causal = a->mask == GPTC_MASK_CAUSAL;
    s->scale = a->scale;
    float p = a->p_drop;
    s->p = p > 0.0f ? p : 0.0f;
    s->keep_scale = p > 0.0f && p < 1.0f ? (float)(1.0 / (1.0 - (double)p)) : 0.0f;
    s->seed = a->seed;
    s->q = a->q;
    s->k = a->k;
    s->v = a->v;
    s->km = a->mask == GPTC_MASK_PADDING ? a->key_mask : NULL;
    s->ldq = a->q_row;
    s->ldkv = a->kv_row;
    s->qb = (size_t)a->Tq * a->q_row;
    s->kvb = a->kv_batch;
    s->ldo = a->out_row;
    s->gemm = s->T >= GEMM_MIN_T;
    /* choose the GEMM backend before threads start: gptc_sgemm is called per head inside
     * the parallel region, where OpenBLAS (OpenMP build) runs single-threaded */
    if (s->gemm && !ctx->backend) gptc_backend_init(ctx);
}

/* GPT-2's packed layout as attention args */
static gptc_attn_args packed_args(float *out, const float *qkv, int B, int T, int C, int NH, int causal, float p,
                                  uint64_t seed) {
    gptc_attn_args a;
    memset(&a, 0, sizeof a);
    a.B = B;
    a.Tq = a.Tk = T;
    a.NH = NH;
    a.hs = C / NH;
    a.q = qkv;
    a.k = qkv + C;
    a.v = qkv + 2 * C;
    a.q_row = a.kv_row = 3 * (size_t)C;
    a.kv_batch = (size_t)T * 3 * C;
    a.mask = causal ? GPTC_MASK_CAUSAL : GPTC_MASK_NONE;
    a.scale = 1.0f / sqrtf((float)a.hs);
    a.out = out;
    a.out_row = (size_t)C;
    a.p_drop = p;
    a.seed = seed;
    return a;
}

void k_attention_forward_args(gptc_ctx *ctx, const gptc_attn_args *a, uint64_t offset) {
    att_shape s;
    setup(ctx, &s, a);
    s.offset = offset;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads) if (a->B * a->NH > 1)
    for (int bh = 0; bh < a->B * a->NH; bh++) head_forward(ctx, a->out, a->preatt, a->att, bh, &s);
}

void k_attention_forward(gptc_ctx *ctx, float *out, float *preatt, float *att, const float *qkv, int B, int T, int C,
                         int NH, int causal, float p, uint64_t seed, uint64_t offset) {
    gptc_attn_args a = packed_args(out, qkv, B, T, C, NH, causal, p, seed);
    a.att = att;
    a.preatt = preatt;
    k_attention_forward_args(ctx, &a, offset);
}

static void head_backward(gptc_ctx *ctx, float *dq, float *dk, float *dv, float *dpre, float *datt, const float *dout,
                          const float *att, int bh, const att_shape *s) {
    int T = s->T, b = bh / s->NH, h = bh % s->NH, hs = s->hs;
    size_t oq = (size_t)b * s->qb + (size_t)h * hs, okv = (size_t)b * s->kvb + (size_t)h * hs,
           base = (size_t)bh * T * T;
    const float *Q = s->q + oq, *K = s->k + okv, *V = s->v + okv, *A = att + base;
    const float *km = s->km ? s->km + (size_t)b * T : NULL;
    const float *dO = dout + (size_t)b * T * s->ldo + (size_t)h * hs;
    float *dQ = dq + oq, *dK = dk + okv, *dV = dv + okv, *dA = datt + base, *dS = dpre + base;
    int lq = (int)s->ldq, lkv = (int)s->ldkv, lo = (int)s->ldo;
    /* dA = dO V^T, dV += A^T dO */
    if (s->gemm) {
        gptc_sgemm(ctx, 0, 1, T, T, hs, 1.0f, dO, lo, V, lkv, 0.0f, dA, T);
        gptc_sgemm(ctx, 1, 0, T, hs, T, 1.0f, A, T, dO, lo, 1.0f, dV, lkv);
    } else {
        for (int i = 0; i < T; i++) {
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++) {
                dA[(size_t)i * T + j] = dot(dO + (size_t)i * lo, V + (size_t)j * lkv, hs);
                axpy(dV + (size_t)j * lkv, A[(size_t)i * T + j], dO + (size_t)i * lo, hs);
            }
        }
    }
    /* P: the saved probabilities, or recomputed when dropout changed them */
    const float *P = A;
    if (s->p > 0.0f) {
        head_probs(ctx, dS, Q, K, km, s);
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
        gptc_sgemm(ctx, 0, 0, T, hs, T, s->scale, dS, T, K, lkv, 1.0f, dQ, lq);
        gptc_sgemm(ctx, 1, 0, T, hs, T, s->scale, dS, T, Q, lq, 1.0f, dK, lkv);
    } else {
        for (int i = 0; i < T; i++) {
            int jn = s->causal ? i + 1 : T;
            for (int j = 0; j < jn; j++) {
                float g = s->scale * dS[(size_t)i * T + j];
                axpy(dQ + (size_t)i * lq, g, K + (size_t)j * lkv, hs);
                axpy(dK + (size_t)j * lkv, g, Q + (size_t)i * lq, hs);
            }
        }
    }
}

void k_attention_backward_args(gptc_ctx *ctx, const gptc_attn_args *a, float *dq, float *dk, float *dv,
                               const float *dout, float *dpreatt, float *datt, uint64_t offset) {
    att_shape s;
    setup(ctx, &s, a);
    s.offset = offset;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads) if (a->B * a->NH > 1)
    for (int bh = 0; bh < a->B * a->NH; bh++) head_backward(ctx, dq, dk, dv, dpreatt, datt, dout, a->att, bh, &s);
}

void k_attention_backward(gptc_ctx *ctx, float *dqkv, float *dpreatt, float *datt, const float *dout, const float *qkv,
                          const float *att, int B, int T, int C, int NH, int causal, float p, uint64_t seed,
                          uint64_t offset) {
    gptc_attn_args a = packed_args(NULL, qkv, B, T, C, NH, causal, p, seed);
    a.att = (float *)att;
    k_attention_backward_args(ctx, &a, dqkv, dqkv + C, dqkv + 2 * C, dout, dpreatt, datt, offset);
}

/* Query rows t of batch b see keys [0, t + nk - Tq] (causal; nk keys of b in all), or
 * all nk; a row that sees none is zero (a cache row before its prefix). */
int k_attention_rows_gemm(gptc_ctx *ctx, const gptc_attn_args *a) {
    int nt = ctx->n_threads > 0 ? ctx->n_threads : 1, work = a->B * a->NH, Tq = a->Tq, Tk = a->Tk, hs = a->hs;
    if (nt > work) nt = work;
    if (!ctx->backend) gptc_backend_init(ctx); /* before the threads: see setup() */
    float *scratch = gptc_alloc(NULL, sizeof(float) * (size_t)nt * Tq * (Tk > 0 ? Tk : 1), "attention scores");
    if (!scratch) return 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int wi = 0; wi < work; wi++) {
        int h = wi % a->NH, b = wi / a->NH, nk = a->n_keys ? a->n_keys[b] : Tk;
#ifdef _OPENMP
        float *P = scratch + (size_t)omp_get_thread_num() * Tq * (Tk > 0 ? Tk : 1);
#else
        float *P = scratch;
#endif
        size_t kvb = (size_t)(a->kv_index ? a->kv_index[b] : b) * a->kv_batch;
        const float *Q = a->q + (size_t)b * Tq * a->q_row + (size_t)h * hs, *K = a->k + kvb + (size_t)h * hs,
                    *V = a->v + kvb + (size_t)h * hs;
        const float *km = a->mask == GPTC_MASK_PADDING ? a->key_mask + (size_t)b * Tk : NULL;
        float *O = a->out + (size_t)b * Tq * a->out_row + (size_t)h * hs;
        if (nk <= 0) {
            for (int t = 0; t < Tq; t++) memset(O + (size_t)t * a->out_row, 0, sizeof(float) * (size_t)hs);
            continue;
        }
        gptc_sgemm(ctx, 0, 1, Tq, nk, hs, a->scale, Q, (int)a->q_row, K, (int)a->kv_row, 0.0f, P, nk);
        for (int t = 0; t < Tq; t++) {
            int jn = a->mask == GPTC_MASK_CAUSAL ? t + nk - Tq + 1 : nk;
            float *row = P + (size_t)t * nk;
            if (jn <= 0) memset(row, 0, sizeof(float) * (size_t)nk);
            else softmax_row(row, jn < nk ? jn : nk, nk, km);
        }
        gptc_sgemm(ctx, 0, 0, Tq, hs, nk, 1.0f, P, nk, V, (int)a->kv_row, 0.0f, O, (int)a->out_row);
    }
    gptc_free(scratch);
    return 1;
}
