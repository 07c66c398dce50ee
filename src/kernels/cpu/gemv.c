/* gemv.c: few-row matrix products for decoding (M <= 8 rows). Decoding one token reads
 * every weight once and is bound by memory bandwidth, so these kernels stream each
 * weight row once for all M rows, split columns (or vocabulary rows) across threads,
 * and keep the accumulators in registers / L1. */
#include "../kernels.h"
#include "vec.h"
#ifdef _OPENMP
#include <omp.h>
#endif

enum { GEMV_BLOCK = 128 };

/* Columns [j0, j1) of out (M, OC) = x (M, C) @ w (C, OC) + bias. */
static GPTC_CLONES void conv1d_cols(float *out, const float *x, const float *w, const float *bias, int M, int C,
                                    int OC, int j0, int j1) {
    float acc[GPTC_GEMV_MAX_ROWS][GEMV_BLOCK];
    for (int jb = j0; jb < j1; jb += GEMV_BLOCK) {
        int bw = j1 - jb < GEMV_BLOCK ? j1 - jb : GEMV_BLOCK;
        for (int m = 0; m < M; m++)
            for (int j = 0; j < bw; j++) acc[m][j] = bias ? bias[jb + j] : 0.0f;
        if (bw == GEMV_BLOCK) {
            for (int k = 0; k < C; k++) {
                const float *wr = w + (size_t)k * OC + jb;
                for (int m = 0; m < M; m++) {
                    float xv = x[(size_t)m * C + k];
                    for (int j = 0; j < GEMV_BLOCK; j++) acc[m][j] += xv * wr[j];
                }
            }
        } else {
            for (int k = 0; k < C; k++) {
                const float *wr = w + (size_t)k * OC + jb;
                for (int m = 0; m < M; m++) {
                    float xv = x[(size_t)m * C + k];
                    for (int j = 0; j < bw; j++) acc[m][j] += xv * wr[j];
                }
            }
        }
        for (int m = 0; m < M; m++)
            for (int j = 0; j < bw; j++) out[(size_t)m * OC + jb + j] = acc[m][j];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* One row (batch-1 decoding, the common case): the 128 accumulators of a column block
 * live in registers for the whole pass over the weight rows. Columns [j0, j1), j1 - j0
 * a multiple of 128 except maybe the last block, which the generic path takes. */
__attribute__((target("avx512f"))) static int conv1d_m1_avx512(float *out, const float *x, const float *w,
                                                                const float *bias, int C, int OC, int j0, int j1) {
    int jb = j0;
    for (; jb + 128 <= j1; jb += 128) {
        __m512 a[8];
        for (int u = 0; u < 8; u++) a[u] = bias ? _mm512_loadu_ps(bias + jb + 16 * u) : _mm512_setzero_ps();
        const float *wr = w + jb;
        for (int k = 0; k < C; k++, wr += OC) {
            __m512 xv = _mm512_set1_ps(x[k]);
            for (int u = 0; u < 8; u++) a[u] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(wr + 16 * u), a[u]);
        }
        for (int u = 0; u < 8; u++) _mm512_storeu_ps(out + jb + 16 * u, a[u]);
    }
    return jb;
}

__attribute__((target("avx2,fma"))) static int conv1d_m1_avx2(float *out, const float *x, const float *w,
                                                               const float *bias, int C, int OC, int j0, int j1) {
    int jb = j0;
    for (; jb + 64 <= j1; jb += 64) {
        __m256 a[8];
        for (int u = 0; u < 8; u++) a[u] = bias ? _mm256_loadu_ps(bias + jb + 8 * u) : _mm256_setzero_ps();
        const float *wr = w + jb;
        for (int k = 0; k < C; k++, wr += OC) {
            __m256 xv = _mm256_set1_ps(x[k]);
            for (int u = 0; u < 8; u++) a[u] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wr + 8 * u), a[u]);
        }
        for (int u = 0; u < 8; u++) _mm256_storeu_ps(out + jb + 8 * u, a[u]);
    }
    return jb;
}

static void conv1d_m1(float *out, const float *x, const float *w, const float *bias, int C, int OC, int j0, int j1) {
    int done = j0;
    if (__builtin_cpu_supports("avx512f")) done = conv1d_m1_avx512(out, x, w, bias, C, OC, j0, j1);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        done = conv1d_m1_avx2(out, x, w, bias, C, OC, j0, j1);
    if (done < j1) conv1d_cols(out, x, w, bias, 1, C, OC, done, j1);
}
#else
static void conv1d_m1(float *out, const float *x, const float *w, const float *bias, int C, int OC, int j0, int j1) {
    conv1d_cols(out, x, w, bias, 1, C, OC, j0, j1);
}
#endif

void k_gemv_conv1d(gptc_ctx *ctx, float *out, const float *x, const float *w, const float *bias, int M, int C, int OC) {
    int nblk = (OC + GEMV_BLOCK - 1) / GEMV_BLOCK;
    int nt = ctx->n_threads < nblk ? ctx->n_threads : nblk;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int b0, b1;
        gptc_thread_share(nblk, &b0, &b1);
        int j0 = b0 * GEMV_BLOCK, j1 = b1 * GEMV_BLOCK < OC ? b1 * GEMV_BLOCK : OC;
        if (j0 < j1) {
            if (M == 1) conv1d_m1(out, x, w, bias, C, OC, j0, j1);
            else conv1d_cols(out, x, w, bias, M, C, OC, j0, j1);
        }
    }
}

/* Rows [v0, v1) of the vocabulary: out[m][v] = dot(x[m], wte[v]). Sixteen independent
 * lanes so the compiler vectorizes without reassociating a single sum. */
static GPTC_CLONES void lmhead_rows(float *out, const float *x, const float *wte, int M, int C, int V, int v0, int v1) {
    for (int v = v0; v < v1; v++) {
        const float *wr = wte + (size_t)v * C;
        for (int m = 0; m < M; m++) {
            const float *xr = x + (size_t)m * C;
            float lanes[16] = {0};
            int k = 0;
            for (; k + 16 <= C; k += 16)
                for (int u = 0; u < 16; u++) lanes[u] += xr[k + u] * wr[k + u];
            float s = 0;
            for (; k < C; k++) s += xr[k] * wr[k];
            for (int u = 0; u < 16; u++) s += lanes[u];
            out[(size_t)m * V + v] = s;
        }
    }
}

void k_gemv_lmhead(gptc_ctx *ctx, float *out, const float *x, const float *wte, int M, int C, int V) {
    int nt = ctx->n_threads;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int v0, v1;
        gptc_thread_share(V, &v0, &v1);
        lmhead_rows(out, x, wte, M, C, V, v0, v1);
    }
}
