/* sgemm.c: gptc's builtin single-precision GEMM: packed, register-blocked micro-kernels
 * (AVX-512 8x32, AVX2+FMA 6x16, generic 6x16) chosen at run time, OpenMP over tiles of C.
 * Used when no working OpenBLAS is found; blas.c decides. See sgemm_builtin.h. */
#include "sgemm_builtin.h"
#include "vec.h"
#include <immintrin.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Blocking: a tile of C is MC x NC; K is walked in KC steps. MC is a multiple of both
 * MR (8, 6) and NC of both NR (32, 16). One slot = packed A block + packed B block
 * (~620 KB), sized for a core's L2. */
enum { KC = 256, MC = 96, NC = 512, SLOT_FLOATS = MC * KC + KC * NC };
enum { ISA_GENERIC, ISA_AVX2, ISA_AVX512 };

struct gptc_sgemm_ws {
    int n_slots;
    int isa, mr, nr;
    float *buf; /* n_slots * SLOT_FLOATS, 64-byte aligned */
};

static int cpu_has(int isa) {
    if (isa == ISA_AVX512) return gptc_cpu_has(GPTC_CPU_AVX512F);
    if (isa == ISA_AVX2) return gptc_cpu_has(GPTC_CPU_AVX2) && gptc_cpu_has(GPTC_CPU_FMA);
    return 1;
}

static void set_isa(gptc_sgemm_ws *ws, int isa) {
    ws->isa = isa;
    ws->mr = isa == ISA_AVX512 ? 8 : 6;
    ws->nr = isa == ISA_AVX512 ? 32 : 16;
}

gptc_sgemm_ws *gptc_sgemm_ws_new(gptc_ctx *ctx, int n_slots) {
    if (n_slots < 1) n_slots = 1;
    gptc_sgemm_ws *ws = gptc_calloc(ctx, 1, sizeof *ws, "builtin sgemm workspace");
    if (!ws) return NULL;
    ws->n_slots = n_slots;
    ws->buf = gptc_calloc(ctx, (size_t)n_slots * SLOT_FLOATS, sizeof(float), "builtin sgemm packing buffers");
    if (!ws->buf) {
        gptc_free(ws);
        return NULL;
    }
    set_isa(ws, cpu_has(ISA_AVX512) ? ISA_AVX512 : cpu_has(ISA_AVX2) ? ISA_AVX2 : ISA_GENERIC);
    return ws;
}

void gptc_sgemm_ws_free(gptc_sgemm_ws *ws) {
    if (!ws) return;
    gptc_free(ws->buf);
    gptc_free(ws);
}

int gptc_sgemm_ws_set_isa(gptc_sgemm_ws *ws, const char *isa) {
    int want = !strcmp(isa, "avx512f") ? ISA_AVX512 : !strcmp(isa, "avx2") ? ISA_AVX2
             : !strcmp(isa, "generic") ? ISA_GENERIC : -1;
    if (want < 0 || !cpu_has(want)) return 0;
    set_isa(ws, want);
    return 1;
}

const char *gptc_sgemm_ws_isa(const gptc_sgemm_ws *ws) {
    return ws->isa == ISA_AVX512 ? "avx512f 8x32" : ws->isa == ISA_AVX2 ? "avx2 6x16" : "generic 6x16";
}

/* ---- micro-kernels: c[MR x NR] (row stride ldc) = a-panel @ b-panel (+ beta * c).
 * a: kc x MR (k-major), b: kc x NR (k-major), both packed and 64-byte aligned. */

#define K512_ROW(r)                                                                                \
    {                                                                                              \
        __m512 ar = _mm512_set1_ps(a[r]);                                                          \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                                                \
        c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                                                \
    }
#define K512_STORE(r)                                                                              \
    {                                                                                              \
        float *p = c + (size_t)(r) * ldc;                                                          \
        if (beta != 0.0f) {                                                                        \
            c##r##0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(p), c##r##0);                            \
            c##r##1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(p + 16), c##r##1);                       \
        }                                                                                          \
        _mm512_storeu_ps(p, c##r##0);                                                              \
        _mm512_storeu_ps(p + 16, c##r##1);                                                         \
    }

__attribute__((target("avx512f"))) static void kern_avx512(int kc, const float *a, const float *b, float *c,
                                                            int ldc, float beta) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
           c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        K512_ROW(0) K512_ROW(1) K512_ROW(2) K512_ROW(3) K512_ROW(4) K512_ROW(5) K512_ROW(6) K512_ROW(7)
        a += 8;
        b += 32;
    }
    __m512 vb = _mm512_set1_ps(beta);
    K512_STORE(0) K512_STORE(1) K512_STORE(2) K512_STORE(3) K512_STORE(4) K512_STORE(5) K512_STORE(6)
    K512_STORE(7)
}

#define K256_ROW(r)                                                                                \
    {                                                                                              \
        __m256 ar = _mm256_set1_ps(a[r]);                                                          \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);                                                \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);                                                \
    }
#define K256_STORE(r)                                                                              \
    {                                                                                              \
        float *p = c + (size_t)(r) * ldc;                                                          \
        if (beta != 0.0f) {                                                                        \
            c##r##0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), c##r##0);                            \
            c##r##1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p + 8), c##r##1);                        \
        }                                                                                          \
        _mm256_storeu_ps(p, c##r##0);                                                              \
        _mm256_storeu_ps(p + 8, c##r##1);                                                          \
    }

__attribute__((target("avx2,fma"))) static void kern_avx2(int kc, const float *a, const float *b, float *c,
                                                           int ldc, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
           c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        K256_ROW(0) K256_ROW(1) K256_ROW(2) K256_ROW(3) K256_ROW(4) K256_ROW(5)
        a += 6;
        b += 16;
    }
    __m256 vb = _mm256_set1_ps(beta);
    K256_STORE(0) K256_STORE(1) K256_STORE(2) K256_STORE(3) K256_STORE(4) K256_STORE(5)
}

/* Any x86-64 (SSE2): plain loops over a 6x16 accumulator the compiler vectorizes. */
static void kern_generic(int kc, const float *a, const float *b, float *c, int ldc, float beta) {
    float acc[6][16];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++) {
        for (int r = 0; r < 6; r++) {
            float ar = a[r];
            for (int j = 0; j < 16; j++) acc[r][j] += ar * b[j];
        }
        a += 6;
        b += 16;
    }
    for (int r = 0; r < 6; r++) {
        float *p = c + (size_t)r * ldc;
        for (int j = 0; j < 16; j++) p[j] = beta != 0.0f ? acc[r][j] + beta * p[j] : acc[r][j];
    }
}

/* ---- packing: op(A) rows [i0, i0+mc) x cols [p0, p0+kc) into MR-row panels, times
 * alpha, zero-padded; op(B) rows [p0, p0+kc) x cols [j0, j0+nc) into NR-col panels. */
static void pack_a(float *dst, int ta, const float *A, int lda, int i0, int mc, int p0, int kc, int mr,
                   float alpha) {
    for (int ip = 0; ip < mc; ip += mr) {
        int rows = mc - ip < mr ? mc - ip : mr;
        for (int k = 0; k < kc; k++) {
            float *d = dst + (size_t)k * mr;
            for (int r = 0; r < rows; r++) {
                size_t i = (size_t)(i0 + ip + r), kk = (size_t)(p0 + k);
                d[r] = alpha * (ta ? A[kk * lda + i] : A[i * lda + kk]);
            }
            for (int r = rows; r < mr; r++) d[r] = 0.0f;
        }
        dst += (size_t)kc * mr;
    }
}

static void pack_b(float *dst, int tb, const float *B, int ldb, int p0, int kc, int j0, int nc, int nr) {
    for (int jp = 0; jp < nc; jp += nr) {
        int cols = nc - jp < nr ? nc - jp : nr;
        for (int k = 0; k < kc; k++) {
            float *d = dst + (size_t)k * nr;
            size_t kk = (size_t)(p0 + k);
            if (!tb) {
                memcpy(d, B + kk * ldb + j0 + jp, (size_t)cols * sizeof(float));
            } else {
                for (int c = 0; c < cols; c++) d[c] = B[(size_t)(j0 + jp + c) * ldb + kk];
            }
            for (int c = cols; c < nr; c++) d[c] = 0.0f;
        }
        dst += (size_t)kc * nr;
    }
}

static void run_kernel(const gptc_sgemm_ws *ws, int kc, const float *a, const float *b, float *c, int ldc,
                       float beta) {
    if (ws->isa == ISA_AVX512) kern_avx512(kc, a, b, c, ldc, beta);
    else if (ws->isa == ISA_AVX2) kern_avx2(kc, a, b, c, ldc, beta);
    else kern_generic(kc, a, b, c, ldc, beta);
}

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_args;

/* One MC x NC tile of C, computed by one thread with its own packing slot. */
static void do_tile(const gptc_sgemm_ws *ws, float *slot, const gemm_args *g, int tile) {
    int n_tiles_n = (g->N + NC - 1) / NC;
    int i0 = (tile / n_tiles_n) * MC, j0 = (tile % n_tiles_n) * NC;
    int mc = g->M - i0 < MC ? g->M - i0 : MC, nc = g->N - j0 < NC ? g->N - j0 : NC;
    int mr = ws->mr, nr = ws->nr;
    float *pa = slot, *pb = slot + MC * KC;
    _Alignas(64) float edge[8 * 32];
    for (int p0 = 0; p0 < g->K; p0 += KC) {
        int kc = g->K - p0 < KC ? g->K - p0 : KC;
        float beta = p0 == 0 ? g->beta : 1.0f;
        pack_a(pa, g->ta, g->A, g->lda, i0, mc, p0, kc, mr, g->alpha);
        pack_b(pb, g->tb, g->B, g->ldb, p0, kc, j0, nc, nr);
        for (int jp = 0; jp < nc; jp += nr) {
            int cols = nc - jp < nr ? nc - jp : nr;
            const float *b = pb + (size_t)(jp / nr) * kc * nr;
            for (int ip = 0; ip < mc; ip += mr) {
                int rows = mc - ip < mr ? mc - ip : mr;
                const float *a = pa + (size_t)(ip / mr) * kc * mr;
                float *c = g->C + (size_t)(i0 + ip) * g->ldc + j0 + jp;
                if (rows == mr && cols == nr) {
                    run_kernel(ws, kc, a, b, c, g->ldc, beta);
                } else {
                    run_kernel(ws, kc, a, b, edge, nr, 0.0f);
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < cols; j++) {
                            float *p = c + (size_t)r * g->ldc + j;
                            *p = beta != 0.0f ? edge[r * nr + j] + beta * *p : edge[r * nr + j];
                        }
                }
            }
        }
    }
}

/* Without a packing slot (deeply nested callers): straightforward loops. */
static void gemm_plain(const gemm_args *g) {
    for (int i = 0; i < g->M; i++) {
        float *c = g->C + (size_t)i * g->ldc;
        for (int j = 0; j < g->N; j++) c[j] = g->beta != 0.0f ? g->beta * c[j] : 0.0f;
        for (int k = 0; k < g->K; k++) {
            float a = g->alpha * (g->ta ? g->A[(size_t)k * g->lda + i] : g->A[(size_t)i * g->lda + k]);
            if (!g->tb) {
                const float *b = g->B + (size_t)k * g->ldb;
                for (int j = 0; j < g->N; j++) c[j] += a * b[j];
            } else {
                for (int j = 0; j < g->N; j++) c[j] += a * g->B[(size_t)j * g->ldb + k];
            }
        }
    }
}

void gptc_sgemm_builtin(gptc_sgemm_ws *ws, int n_threads, int trans_a, int trans_b, int M, int N, int K,
                        float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc) {
    if (M <= 0 || N <= 0) return;
    gemm_args g = {trans_a, trans_b, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    if (K <= 0 || alpha == 0.0f) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *p = C + (size_t)i * ldc + j;
                *p = beta != 0.0f ? beta * *p : 0.0f;
            }
        return;
    }
    int n_tiles = ((M + MC - 1) / MC) * ((N + NC - 1) / NC);
    int slot = 0, serial = 0;
#ifdef _OPENMP
    if (omp_in_parallel()) {
        if (omp_get_level() > 1 || omp_get_thread_num() >= ws->n_slots) {
            gemm_plain(&g);
            return;
        }
        slot = omp_get_thread_num();
        serial = 1;
    }
#else
    serial = 1;
#endif
    int nth = n_threads < n_tiles ? n_threads : n_tiles;
    if (nth > ws->n_slots) nth = ws->n_slots;
    if ((double)M * N * K < 64.0 * 64 * 64) nth = 1;
    if (serial || nth <= 1) {
        for (int t = 0; t < n_tiles; t++) do_tile(ws, ws->buf + (size_t)slot * SLOT_FLOATS, &g, t);
        return;
    }
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1)
    for (int t = 0; t < n_tiles; t++) {
#ifdef _OPENMP
        int s = omp_get_thread_num();
#else
        int s = 0;
#endif
        do_tile(ws, ws->buf + (size_t)s * SLOT_FLOATS, &g, t);
    }
}
