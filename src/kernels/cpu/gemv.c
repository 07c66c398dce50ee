/* gemv.c: few-row matrix products for decoding (M <= 8 rows). Decoding one token reads
 * every weight once and is bound by memory bandwidth, so these kernels stream each
 * weight row once for all M rows, split columns (or vocabulary rows) across the pool's
 * threads (core/pool.h), and keep the accumulators in registers / L1. A row's result is the same bits whatever
 * M is (tests/test_kernels.c), so a server's batch never changes a request's tokens. */
#include "../kernels.h"
#include "vec.h"
#include "../../core/pool.h"

/* threads claim runs of GEMV_BLOCK columns (a [C, OC] weight: one run per thread, each
 * streamed row by row) or LMHEAD_ROWS vocabulary rows at a time */
enum { GEMV_BLOCK = 128, LMHEAD_ROWS = 256 };

/* Columns [j0, j1) of out (M, OC) = x (M, C) @ w (C, OC) + bias. */
GPTC_CLONED(void, conv1d_cols, (float *out, const float *x, const float *w, const float *bias, int M, int C, int OC,
            int j0, int j1), (out, x, w, bias, M, C, OC, j0, j1)) {
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
/* One row (batch-1 decoding, the common case): columns [j0, end), end = j0 plus a whole
 * number of 128-column (AVX2: 64) blocks, the rest for the generic path. The weight rows
 * are streamed in order, 8 at a time, the last C % 8 one by one (contiguous reads the
 * prefetcher follows; a pass down a column block instead jumps a whole row between
 * reads, which one core cannot keep in flight; 8 rows at a time decoded 12% faster than
 * 4 on a Zen 4), the accumulators kept in out (L1). Every output element is the same
 * fused multiply-add chain over k from its bias as the M-row kernels' (batch
 * invariance). */
#define M1_KERNEL(NAME, TARGET, VEC, W, LOAD, STORE, SET1, FMA, ZERO, BLOCK)                                       \
    __attribute__((target(TARGET))) static int NAME(float *out, const float *x, const float *w, const float *bias,   \
                                                    int C, int OC, int j0, int j1) {                                \
        int end = j0 + (j1 - j0) / BLOCK * BLOCK;                                                                   \
        for (int j = j0; j < end; j += W) STORE(out + j, bias ? LOAD(bias + j) : ZERO());                          \
        int k = 0;                                                                                                  \
        for (; k + 8 <= C; k += 8) {                                                                                \
            const float *w0 = w + (size_t)k * OC, *w1 = w0 + OC, *w2 = w1 + OC, *w3 = w2 + OC;                      \
            const float *w4 = w3 + OC, *w5 = w4 + OC, *w6 = w5 + OC, *w7 = w6 + OC;                                 \
            VEC x0 = SET1(x[k]), x1 = SET1(x[k + 1]), x2 = SET1(x[k + 2]), x3 = SET1(x[k + 3]);                     \
            VEC x4 = SET1(x[k + 4]), x5 = SET1(x[k + 5]), x6 = SET1(x[k + 6]), x7 = SET1(x[k + 7]);                 \
            for (int j = j0; j < end; j += W) {                                                                     \
                VEC a = LOAD(out + j);                                                                              \
                a = FMA(x0, LOAD(w0 + j), a);                                                                       \
                a = FMA(x1, LOAD(w1 + j), a);                                                                       \
                a = FMA(x2, LOAD(w2 + j), a);                                                                       \
                a = FMA(x3, LOAD(w3 + j), a);                                                                       \
                a = FMA(x4, LOAD(w4 + j), a);                                                                       \
                a = FMA(x5, LOAD(w5 + j), a);                                                                       \
                a = FMA(x6, LOAD(w6 + j), a);                                                                       \
                a = FMA(x7, LOAD(w7 + j), a);                                                                       \
                STORE(out + j, a);                                                                                  \
            }                                                                                                       \
        }                                                                                                           \
        for (; k < C; k++) {                                                                                        \
            const float *wr = w + (size_t)k * OC;                                                                   \
            VEC xv = SET1(x[k]);                                                                                    \
            for (int j = j0; j < end; j += W) STORE(out + j, FMA(xv, LOAD(wr + j), LOAD(out + j)));                \
        }                                                                                                           \
        return end;                                                                                                 \
    }
M1_KERNEL(conv1d_m1_avx512, "avx512f", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps,
          _mm512_setzero_ps, 128)
M1_KERNEL(conv1d_m1_avx2, "avx2,fma", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps,
          _mm256_setzero_ps, 64)
#undef M1_KERNEL

/* M rows (2..8) with the arithmetic of the one-row kernels, so a row's result does not
 * depend on how many rows share the call (batch-invariant decoding): every output
 * element is the same fused multiply-add chain over k from its bias, on the same columns
 * ([j0, j0 + 128 floor((j1 - j0) / 128)) with AVX-512, 64 with AVX2) as conv1d_m1_*; the
 * rest goes to the generic path, as there. Blocks of 16 U columns keep M x U
 * accumulators in registers. */
#define MR_INLINE512 static inline __attribute__((always_inline, target("avx512f")))
#define MR_INLINE256 static inline __attribute__((always_inline, target("avx2,fma")))
MR_INLINE512 void mr_block_512(float *out, const float *x, const float *w, const float *bias, int C, int OC, int jb,
                               const int M, const int U) {
    __m512 a[GPTC_GEMV_MAX_ROWS][4];
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) a[m][u] = bias ? _mm512_loadu_ps(bias + jb + 16 * u) : _mm512_setzero_ps();
    const float *wr = w + jb;
    for (int k = 0; k < C; k++, wr += OC) {
        __m512 wv[4];
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) wv[u] = _mm512_loadu_ps(wr + 16 * u);
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) {
            __m512 xv = _mm512_set1_ps(x[(size_t)m * C + k]);
#pragma GCC unroll 4
            for (int u = 0; u < U; u++) a[m][u] = _mm512_fmadd_ps(xv, wv[u], a[m][u]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) _mm512_storeu_ps(out + (size_t)m * OC + jb + 16 * u, a[m][u]);
}

__attribute__((target("avx512f"))) static int conv1d_mr_avx512(float *out, const float *x, const float *w,
                                                                const float *bias, int M, int C, int OC, int j0, int j1) {
    int end = j0 + (j1 - j0) / 128 * 128;
#define MR512(MM, UU)                                                                                              \
    case MM:                                                                                                       \
        for (int jb = j0; jb < end; jb += 16 * UU) mr_block_512(out, x, w, bias, C, OC, jb, MM, UU);              \
        break;
    switch (M) { MR512(2, 4) MR512(3, 4) MR512(4, 4) MR512(5, 2) MR512(6, 2) MR512(7, 2) MR512(8, 2) }
#undef MR512
    return end;
}

MR_INLINE256 void mr_block_256(float *out, const float *x, const float *w, const float *bias, int C, int OC, int jb,
                               const int M, const int U) {
    __m256 a[GPTC_GEMV_MAX_ROWS][2];
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 2
        for (int u = 0; u < U; u++) a[m][u] = bias ? _mm256_loadu_ps(bias + jb + 8 * u) : _mm256_setzero_ps();
    const float *wr = w + jb;
    for (int k = 0; k < C; k++, wr += OC) {
        __m256 wv[2];
#pragma GCC unroll 2
        for (int u = 0; u < U; u++) wv[u] = _mm256_loadu_ps(wr + 8 * u);
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) {
            __m256 xv = _mm256_set1_ps(x[(size_t)m * C + k]);
#pragma GCC unroll 2
            for (int u = 0; u < U; u++) a[m][u] = _mm256_fmadd_ps(xv, wv[u], a[m][u]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 2
        for (int u = 0; u < U; u++) _mm256_storeu_ps(out + (size_t)m * OC + jb + 8 * u, a[m][u]);
}

__attribute__((target("avx2,fma"))) static int conv1d_mr_avx2(float *out, const float *x, const float *w,
                                                               const float *bias, int M, int C, int OC, int j0, int j1) {
    int end = j0 + (j1 - j0) / 64 * 64;
#define MR256(MM, UU)                                                                                              \
    case MM:                                                                                                       \
        for (int jb = j0; jb < end; jb += 8 * UU) mr_block_256(out, x, w, bias, C, OC, jb, MM, UU);               \
        break;
    switch (M) { MR256(2, 2) MR256(3, 2) MR256(4, 2) MR256(5, 1) MR256(6, 1) MR256(7, 1) MR256(8, 1) }
#undef MR256
    return end;
}

static void conv1d_rows(float *out, const float *x, const float *w, const float *bias, int M, int C, int OC, int j0,
                        int j1, int isa) {
    int done = j0;
    if (isa == 2)
        done = M == 1 ? conv1d_m1_avx512(out, x, w, bias, C, OC, j0, j1)
                      : conv1d_mr_avx512(out, x, w, bias, M, C, OC, j0, j1);
    else if (isa == 1)
        done = M == 1 ? conv1d_m1_avx2(out, x, w, bias, C, OC, j0, j1)
                      : conv1d_mr_avx2(out, x, w, bias, M, C, OC, j0, j1);
    if (done < j1) conv1d_cols(out, x, w, bias, M, C, OC, done, j1);
}
#else
static void conv1d_rows(float *out, const float *x, const float *w, const float *bias, int M, int C, int OC, int j0,
                        int j1, int isa) {
    conv1d_cols(out, x, w, bias, M, C, OC, j0, j1);
}
#endif

int k_gemv_isa(void) { return gptc_cpu_isa(); }

typedef struct {
    float *out;
    const float *x, *w, *bias;
    int M, C, OC, isa;
} gemv_job;

static void conv1d_blocks(void *arg, int b0, int b1) {
    const gemv_job *j = arg;
    int j0 = b0 * GEMV_BLOCK, j1 = b1 * GEMV_BLOCK < j->OC ? b1 * GEMV_BLOCK : j->OC;
    conv1d_rows(j->out, j->x, j->w, j->bias, j->M, j->C, j->OC, j0, j1, j->isa);
}

void k_gemv_conv1d_with(gptc_ctx *ctx, float *out, const float *x, const float *w, const float *bias, int M, int C,
                        int OC, int isa) {
    int best = k_gemv_isa();
    if (isa > best) isa = best;
    gemv_job j = {out, x, w, bias, M, C, OC, isa};
    int nblk = (OC + GEMV_BLOCK - 1) / GEMV_BLOCK;
    gptc_pool_run(ctx->n_threads, nblk, gptc_pool_wide(ctx->n_threads, nblk), conv1d_blocks, &j);
}

void k_gemv_conv1d(gptc_ctx *ctx, float *out, const float *x, const float *w, const float *bias, int M, int C, int OC) {
    k_gemv_conv1d_with(ctx, out, x, w, bias, M, C, OC, k_gemv_isa());
}

/* Rows [v0, v1) of the vocabulary: out[m][v] = dot(x[m], wte[v]). Sixteen independent
 * lanes so the compiler vectorizes without reassociating a single sum. */
GPTC_CLONED(void, lmhead_rows, (float *out, const float *x, const float *wte, int M, int C, int V, int v0, int v1),
            (out, x, wte, M, C, V, v0, v1)) {
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

#if defined(__x86_64__) && defined(__GNUC__)
/* Vocabulary rows [v0, v1) with explicit vectors: four rows at a time for every one of
 * the M activation rows (four independent fused multiply-add chains, four weight streams
 * in flight), the last C % W columns through a masked load (zeros beyond C). A logit is
 * the same chain over k whatever the group or M (a row's result does not depend on the
 * batch): acc = fma(x[k..k+W), w[k..k+W), acc) from zero, then one horizontal sum. */
#define LMHEAD_KERNEL(NAME, TARGET, VEC, W, LOADU, LOADM, FMA, ZERO, HSUM, MASKT, MASKV)                        \
    __attribute__((target(TARGET))) static void NAME(float *out, const float *x, const float *wte, int M, int C,     \
                                                     int V, int v0, int v1) {                                      \
        int cf = C / W * W;                                                                                          \
        MASKT mk = MASKV(C - cf);                                                                                    \
        int v = v0;                                                                                                  \
        for (; v + 4 <= v1; v += 4) {                                                                                \
            const float *r0 = wte + (size_t)v * C, *r1 = r0 + C, *r2 = r1 + C, *r3 = r2 + C;                         \
            for (int m = 0; m < M; m++) {                                                                            \
                const float *xr = x + (size_t)m * C;                                                                 \
                VEC a0 = ZERO(), a1 = ZERO(), a2 = ZERO(), a3 = ZERO();                                              \
                int k = 0;                                                                                           \
                for (; k < cf; k += W) {                                                                             \
                    VEC xv = LOADU(xr + k);                                                                          \
                    a0 = FMA(xv, LOADU(r0 + k), a0);                                                                 \
                    a1 = FMA(xv, LOADU(r1 + k), a1);                                                                 \
                    a2 = FMA(xv, LOADU(r2 + k), a2);                                                                 \
                    a3 = FMA(xv, LOADU(r3 + k), a3);                                                                 \
                }                                                                                                    \
                if (k < C) {                                                                                         \
                    VEC xv = LOADM(xr + k, mk);                                                                      \
                    a0 = FMA(xv, LOADM(r0 + k, mk), a0);                                                             \
                    a1 = FMA(xv, LOADM(r1 + k, mk), a1);                                                             \
                    a2 = FMA(xv, LOADM(r2 + k, mk), a2);                                                             \
                    a3 = FMA(xv, LOADM(r3 + k, mk), a3);                                                             \
                }                                                                                                    \
                float *o = out + (size_t)m * V + v;                                                                  \
                o[0] = HSUM(a0), o[1] = HSUM(a1), o[2] = HSUM(a2), o[3] = HSUM(a3);                                  \
            }                                                                                                        \
        }                                                                                                            \
        for (; v < v1; v++) {                                                                                        \
            const float *r0 = wte + (size_t)v * C;                                                                   \
            for (int m = 0; m < M; m++) {                                                                            \
                const float *xr = x + (size_t)m * C;                                                                 \
                VEC a0 = ZERO();                                                                                     \
                int k = 0;                                                                                           \
                for (; k < cf; k += W) a0 = FMA(LOADU(xr + k), LOADU(r0 + k), a0);                                   \
                if (k < C) a0 = FMA(LOADM(xr + k, mk), LOADM(r0 + k, mk), a0);                                       \
                out[(size_t)m * V + v] = HSUM(a0);                                                                   \
            }                                                                                                        \
        }                                                                                                            \
    }

__attribute__((target("avx512f"))) static inline __mmask16 lm_mask512(int n) { return (__mmask16)((1u << n) - 1u); }
__attribute__((target("avx512f"))) static inline __m512 lm_loadm512(const float *p, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, p);
}
__attribute__((target("avx512f"))) static inline float lm_hsum512(__m512 a) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}
__attribute__((target("avx2,fma"))) static inline __m256i lm_mask256(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
__attribute__((target("avx2,fma"))) static inline __m256 lm_loadm256(const float *p, __m256i m) {
    return _mm256_maskload_ps(p, m);
}
__attribute__((target("avx2,fma"))) static inline float lm_hsum256(__m256 a) {
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}
LMHEAD_KERNEL(lmhead_rows_avx512, "avx512f", __m512, 16, _mm512_loadu_ps, lm_loadm512, _mm512_fmadd_ps,
              _mm512_setzero_ps, lm_hsum512, __mmask16, lm_mask512)
LMHEAD_KERNEL(lmhead_rows_avx2, "avx2,fma", __m256, 8, _mm256_loadu_ps, lm_loadm256, _mm256_fmadd_ps,
              _mm256_setzero_ps, lm_hsum256, __m256i, lm_mask256)
#undef LMHEAD_KERNEL
#endif

static void lmhead_chunk(void *arg, int v0, int v1) {
    const gemv_job *j = arg;
#if defined(__x86_64__) && defined(__GNUC__)
    if (j->isa == 2) lmhead_rows_avx512(j->out, j->x, j->w, j->M, j->C, j->OC, v0, v1);
    else if (j->isa == 1) lmhead_rows_avx2(j->out, j->x, j->w, j->M, j->C, j->OC, v0, v1);
    else
#endif
        lmhead_rows(j->out, j->x, j->w, j->M, j->C, j->OC, v0, v1);
}

void k_gemv_lmhead_with(gptc_ctx *ctx, float *out, const float *x, const float *wte, int M, int C, int V, int isa) {
    int best = k_gemv_isa();
    if (isa > best) isa = best;
    gemv_job j = {out, x, wte, NULL, M, C, V, isa};
    gptc_pool_run(ctx->n_threads, V, LMHEAD_ROWS, lmhead_chunk, &j);
}

void k_gemv_lmhead(gptc_ctx *ctx, float *out, const float *x, const float *wte, int M, int C, int V) {
    k_gemv_lmhead_with(ctx, out, x, wte, M, C, V, k_gemv_isa());
}
