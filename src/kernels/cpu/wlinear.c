/* wlinear.c: linear layers on F16/BF16 weights as stored (see wlinear.h). Few rows
 * (decoding) are memory-bound: each weight vector is loaded once, widened to f32 in
 * registers (BF16: a 16-bit shift; F16: vcvtph2ps) and used for every row. Many rows
 * convert bounded panels of W to f32 and leave the product to gptc_sgemm. F32 weights
 * go to the f32 kernels of gemv.c and matmul.c unchanged.
 * AVX512_BF16 is not used: its only product (vdpbf16ps) rounds x to bf16 as well, and
 * the exact shift costs one instruction per 16 weights at memory-bound rates. */
#include "../wlinear.h"
#include "../../core/core.h"
#include "../qlinear.h"
#include "../quant.h"
#include "../kernels.h"
#include "vec.h"
#include "vec_x86.h"
#include "../../core/pool.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define WL_X86 1
#endif

/* Panel of W converted for the GEMM: 2 MiB of f32 (at least 16 output columns). Below
 * PAR_MIN weights a few-row product stays on one thread. */
enum { PANEL_FLOATS = 1 << 19, PAR_MIN = 1 << 15, SCALAR_BLOCK = 64, OI_ROWS = 32 };

/* Element i of W as f32 (memcpy: stored tensors need not be aligned). */
static inline float wl_get(const char *data, gptc_dtype dt, size_t i) {
    if (dt == GPTC_F32) {
        float f;
        memcpy(&f, data + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, data + 2 * i, 2);
    return dt == GPTC_BF16 ? gptc_bf16_to_f32(h) : gptc_f16_to_f32(h);
}

void k_weight_row(const gptc_wdesc *w, int r, float *dst) {
    size_t I = (size_t)w->in;
    if (gptc_dtype_is_quant(w->dtype)) {
        gptc_q_dequantize_row(w->dtype, (const char *)w->data + (size_t)r * gptc_q_row_bytes(w->dtype, w->in), dst,
                              w->in);
        return;
    }
    for (size_t k = 0; k < I; k++) dst[k] = wl_get(w->data, w->dtype, (size_t)r * I + k);
}

float k_weight_at(const gptc_wdesc *w, int k, int v) {
    if (gptc_dtype_is_quant(w->dtype))
        return gptc_q_get(w->dtype, (const char *)w->data + (size_t)v * gptc_q_row_bytes(w->dtype, w->in), k);
    size_t idx = w->layout == GPTC_W_IN_OUT ? (size_t)k * w->out + v : (size_t)v * w->in + k;
    return wl_get(w->data, w->dtype, idx);
}

/* ---------------------------------------------------------------- reference */
void k_linear_w_ref(const gptc_wdesc *w, float *out, const float *x, const float *bias, int N) {
    if (gptc_dtype_is_quant(w->dtype)) {
        k_linear_q_ref(w, out, x, bias, N);
        return;
    }
    int I = w->in, O = w->out;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < O; j++) {
            double s = bias ? bias[j] : 0.0;
            for (int k = 0; k < I; k++) {
                size_t idx = w->layout == GPTC_W_IN_OUT ? (size_t)k * O + j : (size_t)j * I + k;
                s += (double)x[(size_t)n * I + k] * wl_get(w->data, w->dtype, idx);
            }
            out[(size_t)n * O + j] = (float)s;
        }
}

/* ---------------------------------------------------------------- scalar paths */
/* [in, out]: columns [j0, j1) for M rows; a 64-column block's accumulators stay in L1. */
static void io_cols_scalar(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int j0,
                           int j1) {
    float acc[GPTC_GEMV_MAX_ROWS][SCALAR_BLOCK], wv[SCALAR_BLOCK];
    int I = w->in, O = w->out;
    for (int jb = j0; jb < j1; jb += SCALAR_BLOCK) {
        int bw = j1 - jb < SCALAR_BLOCK ? j1 - jb : SCALAR_BLOCK;
        for (int m = 0; m < M; m++)
            for (int j = 0; j < bw; j++) acc[m][j] = bias ? bias[jb + j] : 0.0f;
        for (int k = 0; k < I; k++) {
            for (int j = 0; j < bw; j++) wv[j] = wl_get(w->data, w->dtype, (size_t)k * O + jb + j);
            for (int m = 0; m < M; m++) {
                float xv = x[(size_t)m * I + k];
                for (int j = 0; j < bw; j++) acc[m][j] += xv * wv[j];
            }
        }
        for (int m = 0; m < M; m++)
            for (int j = 0; j < bw; j++) out[(size_t)m * O + jb + j] = acc[m][j];
    }
}

/* [out, in]: rows [v0, v1) of W, one dot product per (row of x, row of W). */
static void oi_rows_scalar(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int v0,
                           int v1) {
    int I = w->in, O = w->out;
    for (int v = v0; v < v1; v++)
        for (int m = 0; m < M; m++) {
            float s = 0;
            for (int k = 0; k < I; k++) s += x[(size_t)m * I + k] * wl_get(w->data, w->dtype, (size_t)v * I + k);
            out[(size_t)m * O + v] = s + (bias ? bias[v] : 0.0f);
        }
}

static void conv_scalar(float *dst, const char *src, gptc_dtype dt, size_t i, size_t n) {
    for (; i < n; i++) dst[i] = wl_get(src, dt, i);
}

/* ---------------------------------------------------------------- AVX-512 and AVX2
 * The block runners are inlined with constant M (rows), U (vectors per row) or R (rows
 * of W per pass) and dtype, so the accumulators are registers. */
#ifdef WL_X86
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))
#define AVX512_FN static __attribute__((target("avx512f")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))
#define AVX2_FN static __attribute__((target("avx2,fma,f16c")))

AVX512_INLINE __m512 ld512(const char *p, int bf16) {
    __m256i h = _mm256_loadu_si256((const __m256i_u *)p);
    if (bf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

/* [in, out], columns [jb, jb + 16U) */
AVX512_INLINE void io_block_512(float *out, const float *x, const char *w, const float *bias, int I, int O, int jb,
                                const int M, const int U, const int bf16) {
    __m512 a[GPTC_GEMV_MAX_ROWS][8];
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 8
        for (int u = 0; u < U; u++) a[m][u] = bias ? _mm512_loadu_ps(bias + jb + 16 * u) : _mm512_setzero_ps();
    const char *wr = w + 2 * (size_t)jb;
    for (int k = 0; k < I; k++, wr += 2 * (size_t)O) {
        __m512 wv[8];
#pragma GCC unroll 8
        for (int u = 0; u < U; u++) wv[u] = ld512(wr + 32 * u, bf16);
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) {
            __m512 xb = _mm512_set1_ps(x[(size_t)m * I + k]);
#pragma GCC unroll 8
            for (int u = 0; u < U; u++) a[m][u] = _mm512_fmadd_ps(xb, wv[u], a[m][u]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 8
        for (int u = 0; u < U; u++) _mm512_storeu_ps(out + (size_t)m * O + jb + 16 * u, a[m][u]);
}

/* Returns the first column not done (the < 16 left go to the scalar path). */
AVX512_INLINE int io_range_512(float *out, const float *x, const char *w, const float *bias, int I, int O, int j0,
                               int j1, const int M, const int U, const int bf16) {
    int jb = j0;
    for (; jb + 16 * U <= j1; jb += 16 * U) io_block_512(out, x, w, bias, I, O, jb, M, U, bf16);
    for (; jb + 16 <= j1; jb += 16) io_block_512(out, x, w, bias, I, O, jb, M, 1, bf16);
    return jb;
}

/* One row (batch-1 decoding) on an [in, out] weight, W lanes a vector: the columns
 * [j0, j0 + W floor((j1 - j0) / W)) with the same FMA chain per element as the block
 * runners at M = 1, but the weight rows streamed in order, R at a time, the accumulators
 * kept in out (a pass down each column block reads one row apart, which one core does
 * not keep in flight). Returns the first column not done. */
#define IO_M1(NAME, INLINE, VEC, W, R, LD, LOADU, STOREU, SET1, FMA, ZERO)                                         \
    INLINE int NAME(float *out, const float *x, const char *w, const float *bias, int I, int O, int j0, int j1,     \
                    const int bf16) {                                                                              \
        const size_t s = 2 * (size_t)O;                                                                            \
        int end = j0 + (j1 - j0) / W * W, k = 0;                                                                   \
        for (int j = j0; j < end; j += W) STOREU(out + j, bias ? LOADU(bias + j) : ZERO());                        \
        for (; k + R <= I; k += R) {                                                                               \
            VEC xv[R];                                                                                             \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) xv[r] = SET1(x[k + r]);                            \
            const char *wk = w + (size_t)k * s;                                                                    \
            for (int j = j0; j < end; j += W) {                                                                    \
                const char *p = wk + 2 * (size_t)j;                                                                \
                VEC a = LOADU(out + j);                                                                            \
                _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) a = FMA(xv[r], LD(p + r * s, bf16), a);        \
                STOREU(out + j, a);                                                                                \
            }                                                                                                      \
        }                                                                                                          \
        for (; k < I; k++) {                                                                                       \
            const char *wr = w + (size_t)k * s;                                                                    \
            VEC xk = SET1(x[k]);                                                                                   \
            for (int j = j0; j < end; j += W) STOREU(out + j, FMA(xk, LD(wr + 2 * (size_t)j, bf16), LOADU(out + j))); \
        }                                                                                                          \
        return end;                                                                                                \
    }

/* AVX-512: 4 rows a pass */
IO_M1(io_m1_512, AVX512_INLINE, __m512, 16, 4, ld512, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps,
      _mm512_fmadd_ps, _mm512_setzero_ps)

AVX512_FN int io_cols_512(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int j0, int j1) {
    const char *wd = w->data;
    int bf = w->dtype == GPTC_BF16, I = w->in, O = w->out;
    if (M == 1) return bf ? io_m1_512(out, x, wd, bias, I, O, j0, j1, 1) : io_m1_512(out, x, wd, bias, I, O, j0, j1, 0);
#define IO512(MM, UU)                                                                                              \
    case MM:                                                                                                       \
        return bf ? io_range_512(out, x, wd, bias, I, O, j0, j1, MM, UU, 1)                                        \
                  : io_range_512(out, x, wd, bias, I, O, j0, j1, MM, UU, 0);
    switch (M) {
        IO512(1, 8) IO512(2, 4) IO512(3, 4) IO512(4, 4) IO512(5, 2) IO512(6, 2) IO512(7, 2) IO512(8, 2)
    }
#undef IO512
    return j0;
}

/* [out, in], rows [v, v + R) of W. xt: the last I % 16 elements of each row of x,
 * zero-padded to 16; the tail of a W row is copied into a zeroed buffer the same way. */
AVX512_INLINE void oi_block_512(float *out, const float *x, const float *xt, const char *w, const float *bias, int I,
                                int O, int v, const int M, const int R, const int bf16) {
    __m512 a[4][GPTC_GEMV_MAX_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) a[r][m] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= I; k += 16) {
        __m512 xv[GPTC_GEMV_MAX_ROWS];
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) xv[m] = _mm512_loadu_ps(x + (size_t)m * I + k);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 wv = ld512(w + 2 * ((size_t)(v + r) * I + k), bf16);
#pragma GCC unroll 8
            for (int m = 0; m < M; m++) a[r][m] = _mm512_fmadd_ps(wv, xv[m], a[r][m]);
        }
    }
    if (k < I) {
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            uint16_t t[16] = {0};
            memcpy(t, w + 2 * ((size_t)(v + r) * I + k), 2 * (size_t)(I - k));
            __m512 wv = ld512((const char *)t, bf16);
#pragma GCC unroll 8
            for (int m = 0; m < M; m++) a[r][m] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xt + 16 * m), a[r][m]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int m = 0; m < M; m++)
            out[(size_t)m * O + v + r] = _mm512_reduce_add_ps(a[r][m]) + (bias ? bias[v + r] : 0.0f);
}

AVX512_INLINE void oi_range_512(float *out, const float *x, const float *xt, const char *w, const float *bias, int I,
                                int O, int v0, int v1, const int M, const int R, const int bf16) {
    int v = v0;
    for (; v + R <= v1; v += R) oi_block_512(out, x, xt, w, bias, I, O, v, M, R, bf16);
    for (; v < v1; v++) oi_block_512(out, x, xt, w, bias, I, O, v, M, 1, bf16);
}

AVX512_FN void oi_rows_512(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int v0, int v1) {
    const char *wd = w->data;
    int bf = w->dtype == GPTC_BF16, I = w->in, O = w->out;
    float xt[GPTC_GEMV_MAX_ROWS * 16] = {0};
    for (int m = 0; m < M; m++) memcpy(xt + 16 * m, x + (size_t)m * I + (I & ~15), sizeof(float) * (I & 15));
#define OI512(MM, RR)                                                                                              \
    case MM:                                                                                                       \
        if (bf) oi_range_512(out, x, xt, wd, bias, I, O, v0, v1, MM, RR, 1);                                       \
        else oi_range_512(out, x, xt, wd, bias, I, O, v0, v1, MM, RR, 0);                                          \
        break;
    switch (M) {
        OI512(1, 4) OI512(2, 4) OI512(3, 4) OI512(4, 4) OI512(5, 2) OI512(6, 2) OI512(7, 2) OI512(8, 2)
    }
#undef OI512
}

AVX512_FN size_t conv_512(float *dst, const char *src, size_t n, int bf16) {
    size_t i = 0;
    if (bf16)
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, ld512(src + 2 * i, 1));
    else
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, ld512(src + 2 * i, 0));
    return i;
}

/* ---- AVX2 + FMA + F16C: the same with 8 lanes and 16 registers. One row (decoding)
 * takes an [in, out] weight as the f32 kernel does (gemv.c's conv1d_m1: the thread's
 * whole column range of 8 input rows at a time, 8 sequential streams, the accumulators
 * in out; io_m1_avx2) and the rows of an [out, in] one one by one (a single stream: 4
 * side by side streamed 10 GB/s on a Zen 3 thread, one 13). On that Zen 3, blocks of 128
 * columns down every input row (one strided stream, 10 GB/s a thread; 64 columns 7-8)
 * decoded bf16 124M at 29.5 tok/s on one thread against 35.5, 355M at 15.5 on two
 * against 20.9. Each output element is the same fused multiply-add chain over k from its
 * bias as in io_block_avx2 (M > 1): batch-invariant. */
AVX2_INLINE __m256 ld256(const char *p, int bf16) {
    __m128i h = _mm_loadu_si128((const __m128i_u *)p);
    if (bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

AVX2_INLINE void io_block_avx2(float *out, const float *x, const char *w, const float *bias, int I, int O, int jb,
                               const int M, const int U, const int bf16) {
    __m256 a[GPTC_GEMV_MAX_ROWS][4];
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) a[m][u] = bias ? _mm256_loadu_ps(bias + jb + 8 * u) : _mm256_setzero_ps();
    const char *wr = w + 2 * (size_t)jb;
    for (int k = 0; k < I; k++, wr += 2 * (size_t)O) {
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) {
            __m256 xb = _mm256_set1_ps(x[(size_t)m * I + k]);
#pragma GCC unroll 4
            for (int u = 0; u < U; u++) a[m][u] = _mm256_fmadd_ps(xb, ld256(wr + 16 * u, bf16), a[m][u]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) _mm256_storeu_ps(out + (size_t)m * O + jb + 8 * u, a[m][u]);
}

AVX2_INLINE int io_range_avx2(float *out, const float *x, const char *w, const float *bias, int I, int O, int j0,
                              int j1, const int M, const int U, const int bf16) {
    int jb = j0;
    for (; jb + 8 * U <= j1; jb += 8 * U) io_block_avx2(out, x, w, bias, I, O, jb, M, U, bf16);
    for (; jb + 8 <= j1; jb += 8) io_block_avx2(out, x, w, bias, I, O, jb, M, 1, bf16);
    return jb;
}

/* AVX2: 8 rows a pass (see above) */
IO_M1(io_m1_avx2, AVX2_INLINE, __m256, 8, 8, ld256, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps,
      _mm256_fmadd_ps, _mm256_setzero_ps)
#undef IO_M1

AVX2_FN int io_cols_avx2(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int j0, int j1) {
    const char *wd = w->data;
    int bf = w->dtype == GPTC_BF16, I = w->in, O = w->out;
    if (M == 1) return bf ? io_m1_avx2(out, x, wd, bias, I, O, j0, j1, 1) : io_m1_avx2(out, x, wd, bias, I, O, j0, j1, 0);
#define IOAVX2(MM, UU)                                                                                             \
    case MM:                                                                                                       \
        return bf ? io_range_avx2(out, x, wd, bias, I, O, j0, j1, MM, UU, 1)                                       \
                  : io_range_avx2(out, x, wd, bias, I, O, j0, j1, MM, UU, 0);
    switch (M) {
        IOAVX2(2, 4) IOAVX2(3, 2) IOAVX2(4, 2) IOAVX2(5, 1) IOAVX2(6, 1) IOAVX2(7, 1) IOAVX2(8, 1)
    }
#undef IOAVX2
    return j0;
}

AVX2_INLINE void oi_block_avx2(float *out, const float *x, const float *xt, const char *w, const float *bias, int I,
                               int O, int v, const int M, const int R, const int bf16) {
    __m256 a[4][GPTC_GEMV_MAX_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) a[r][m] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= I; k += 8) {
        __m256 xv[GPTC_GEMV_MAX_ROWS];
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) xv[m] = _mm256_loadu_ps(x + (size_t)m * I + k);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 wv = ld256(w + 2 * ((size_t)(v + r) * I + k), bf16);
#pragma GCC unroll 8
            for (int m = 0; m < M; m++) a[r][m] = _mm256_fmadd_ps(wv, xv[m], a[r][m]);
        }
    }
    if (k < I) {
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            uint16_t t[8] = {0};
            memcpy(t, w + 2 * ((size_t)(v + r) * I + k), 2 * (size_t)(I - k));
            __m256 wv = ld256((const char *)t, bf16);
#pragma GCC unroll 8
            for (int m = 0; m < M; m++) a[r][m] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xt + 8 * m), a[r][m]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) out[(size_t)m * O + v + r] = gptc_hsum256(a[r][m]) + (bias ? bias[v + r] : 0.0f);
}

AVX2_INLINE void oi_range_avx2(float *out, const float *x, const float *xt, const char *w, const float *bias, int I,
                               int O, int v0, int v1, const int M, const int R, const int bf16) {
    int v = v0;
    for (; v + R <= v1; v += R) oi_block_avx2(out, x, xt, w, bias, I, O, v, M, R, bf16);
    for (; v < v1; v++) oi_block_avx2(out, x, xt, w, bias, I, O, v, M, 1, bf16);
}

AVX2_FN void oi_rows_avx2(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int v0, int v1) {
    const char *wd = w->data;
    int bf = w->dtype == GPTC_BF16, I = w->in, O = w->out;
    float xt[GPTC_GEMV_MAX_ROWS * 8] = {0};
    for (int m = 0; m < M; m++) memcpy(xt + 8 * m, x + (size_t)m * I + (I & ~7), sizeof(float) * (I & 7));
#define OIAVX2(MM, RR)                                                                                             \
    case MM:                                                                                                       \
        if (bf) oi_range_avx2(out, x, xt, wd, bias, I, O, v0, v1, MM, RR, 1);                                      \
        else oi_range_avx2(out, x, xt, wd, bias, I, O, v0, v1, MM, RR, 0);                                         \
        break;
    switch (M) {
        OIAVX2(1, 1) OIAVX2(2, 4) OIAVX2(3, 2) OIAVX2(4, 2) OIAVX2(5, 1) OIAVX2(6, 1) OIAVX2(7, 1) OIAVX2(8, 1)
    }
#undef OIAVX2
}

AVX2_FN size_t conv_avx2(float *dst, const char *src, size_t n, int bf16) {
    size_t i = 0;
    if (bf16)
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, ld256(src + 2 * i, 1));
    else
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, ld256(src + 2 * i, 0));
    return i;
}
#endif /* WL_X86 */

/* ---------------------------------------------------------------- dispatch */
int k_linear_w_isa(void) {
#ifdef WL_X86
    if (gptc_cpu_has(GPTC_CPU_AVX512F)) return GPTC_WL_AVX512;
    if (gptc_cpu_has(GPTC_CPU_AVX2) && gptc_cpu_has(GPTC_CPU_FMA) && gptc_cpu_has(GPTC_CPU_F16C)) return GPTC_WL_AVX2;
#endif
    return GPTC_WL_SCALAR;
}

/* Output columns per block of the [in, out] path (threads split whole blocks). */
static int io_block_width(int isa, int M) {
    if (isa == GPTC_WL_AVX512) return M == 1 ? 128 : M <= 4 ? 64 : 32;
    if (isa == GPTC_WL_AVX2) return M == 1 ? 128 : M == 2 ? 32 : M <= 4 ? 16 : 8;
    return SCALAR_BLOCK;
}

static void io_cols(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int j0, int j1,
                    int isa) {
    int done = j0;
#ifdef WL_X86
    if (isa == GPTC_WL_AVX512) done = io_cols_512(out, x, w, bias, M, j0, j1);
    else if (isa == GPTC_WL_AVX2) done = io_cols_avx2(out, x, w, bias, M, j0, j1);
#endif
    if (done < j1) io_cols_scalar(out, x, w, bias, M, done, j1);
}

static void oi_rows(float *out, const float *x, const gptc_wdesc *w, const float *bias, int M, int v0, int v1,
                    int isa) {
#ifdef WL_X86
    if (isa == GPTC_WL_AVX512) {
        oi_rows_512(out, x, w, bias, M, v0, v1);
        return;
    }
    if (isa == GPTC_WL_AVX2) {
        oi_rows_avx2(out, x, w, bias, M, v0, v1);
        return;
    }
#endif
    oi_rows_scalar(out, x, w, bias, M, v0, v1);
}

/* dst[0, n) = elements [0, n) of src as f32 */
static void conv_run(float *dst, const char *src, gptc_dtype dt, size_t n, int isa) {
    size_t i = 0;
#ifdef WL_X86
    if (isa == GPTC_WL_AVX512) i = conv_512(dst, src, n, dt == GPTC_BF16);
    else if (isa == GPTC_WL_AVX2) i = conv_avx2(dst, src, n, dt == GPTC_BF16);
#endif
    conv_scalar(dst, src, dt, i, n);
}

typedef struct {
    float *out;
    const float *x, *bias;
    const gptc_wdesc *w;
    int M, bw, isa;
} few_job;

static void few_cols(void *arg, int b0, int b1) {
    const few_job *j = arg;
    int O = j->w->out, j0 = b0 * j->bw, j1 = (long)b1 * j->bw < O ? b1 * j->bw : O;
    io_cols(j->out, j->x, j->w, j->bias, j->M, j0, j1, j->isa);
}

static void few_out_rows(void *arg, int v0, int v1) {
    const few_job *j = arg;
    oi_rows(j->out, j->x, j->w, j->bias, j->M, v0, v1, j->isa);
}

/* M <= GPTC_GEMV_MAX_ROWS rows, the pool's threads over output columns: runs of
 * io_block_width columns of an [in, out] weight (one run per thread, gptc_pool_wide), OI_ROWS
 * rows of an [out, in] one. */
static void few_rows(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int M,
                     int isa) {
    int I = w->in, O = w->out;
    int nt = (size_t)I * O < PAR_MIN ? 1 : ctx->n_threads;
    few_job j = {out, x, bias, w, M, io_block_width(isa, M), isa};
    int nblk = (O + j.bw - 1) / j.bw;
    if (w->layout == GPTC_W_IN_OUT) gptc_pool_run(nt, nblk, gptc_pool_wide(nt, nblk), few_cols, &j);
    else gptc_pool_run(nt, O, OI_ROWS, few_out_rows, &j);
}

/* Columns [j0, j0 + jc) of W as f32: [in, jc] for [in, out], [jc, in] for [out, in]. */
static void convert_panel(gptc_ctx *ctx, float *panel, const gptc_wdesc *w, int j0, int jc, int isa) {
    int I = w->in, O = w->out, nt = ctx->n_threads;
    const char *wd = w->data;
    if (w->layout == GPTC_W_IN_OUT) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && (size_t)I * jc >= PAR_MIN)
        for (int k = 0; k < I; k++) conv_run(panel + (size_t)k * jc, wd + 2 * ((size_t)k * O + j0), w->dtype, jc, isa);
    } else {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && (size_t)I * jc >= PAR_MIN)
        for (int v = 0; v < jc; v++)
            conv_run(panel + (size_t)v * I, wd + 2 * ((size_t)(j0 + v) * I), w->dtype, (size_t)I, isa);
    }
}

static void many_rows(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N,
                      int isa) {
    int I = w->in, O = w->out;
    size_t pc = PANEL_FLOATS / (size_t)I;
    if (pc < 16) pc = 16;
    if (pc >= (size_t)O) pc = (size_t)O;
    else pc &= ~(size_t)15;
    float *panel = gptc_alloc(NULL, pc * (size_t)I * sizeof(float), "weight panel");
    if (!panel) { /* no scratch: the few-row kernel, 8 rows at a time (slower, same math) */
        for (int n0 = 0; n0 < N; n0 += GPTC_GEMV_MAX_ROWS) {
            int m = N - n0 < GPTC_GEMV_MAX_ROWS ? N - n0 : GPTC_GEMV_MAX_ROWS;
            few_rows(ctx, out + (size_t)n0 * O, x + (size_t)n0 * I, w, bias, m, isa);
        }
        return;
    }
    for (int j0 = 0; j0 < O; j0 += (int)pc) {
        int jc = O - j0 < (int)pc ? O - j0 : (int)pc;
        convert_panel(ctx, panel, w, j0, jc, isa);
        if (bias)
            for (int n = 0; n < N; n++) memcpy(out + (size_t)n * O + j0, bias + j0, sizeof(float) * (size_t)jc);
        if (w->layout == GPTC_W_IN_OUT)
            gptc_sgemm(ctx, 0, 0, N, jc, I, 1.0f, x, I, panel, jc, bias ? 1.0f : 0.0f, out + j0, O);
        else
            gptc_sgemm(ctx, 0, 1, N, jc, I, 1.0f, x, I, panel, I, bias ? 1.0f : 0.0f, out + j0, O);
    }
    gptc_free(panel);
}

void k_linear_w_with(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N,
                     int isa) {
    int I = w->in, O = w->out;
    if (N <= 0 || O <= 0) return;
    if (I <= 0) {
        for (int n = 0; n < N; n++)
            for (int j = 0; j < O; j++) out[(size_t)n * O + j] = bias ? bias[j] : 0.0f;
        return;
    }
    if (gptc_dtype_is_quant(w->dtype)) {
        if (N < GPTC_QL_GEMM_ROWS) k_linear_q(ctx, out, x, w, bias, N);
        else k_qgemm(ctx, out, x, w, bias, N);
        return;
    }
    if (w->dtype == GPTC_F32) {
        const float *wf = w->data;
        if (w->layout == GPTC_W_IN_OUT) {
            if (N <= GPTC_GEMV_MAX_ROWS) k_gemv_conv1d(ctx, out, x, wf, bias, N, I, O);
            else k_matmul_forward(ctx, out, x, wf, bias, N, I, O);
            return;
        }
        if (N <= GPTC_GEMV_MAX_ROWS) k_gemv_lmhead(ctx, out, x, wf, N, I, O);
        else k_lmhead_forward(ctx, out, x, wf, N, I, O);
        if (bias)
            for (int n = 0; n < N; n++)
                for (int j = 0; j < O; j++) out[(size_t)n * O + j] += bias[j];
        return;
    }
    int best = k_linear_w_isa();
    if (isa > best) isa = best;
    if (isa < 0) isa = GPTC_WL_SCALAR;
    if (N <= GPTC_GEMV_MAX_ROWS) few_rows(ctx, out, x, w, bias, N, isa);
    else many_rows(ctx, out, x, w, bias, N, isa);
}

void k_linear_w(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N) {
    k_linear_w_with(ctx, out, x, w, bias, N, k_linear_w_isa());
}
