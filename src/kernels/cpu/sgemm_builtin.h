/* sgemm_builtin.h: gptc's own single-precision GEMM (cpu/sgemm.c), the fallback when no
 * working OpenBLAS is found and the ground truth the backend is checked against.
 * Internal to the library (and its tests); the public entry is gptc_sgemm in kernels.h. */
#ifndef GPTC_SGEMM_BUILTIN_H
#define GPTC_SGEMM_BUILTIN_H

#include "../../core/core.h"

/* Packing workspace: one slot per thread (A block + B block), allocated once. */
typedef struct gptc_sgemm_ws gptc_sgemm_ws;

/* n_slots: how many threads may run tiles at once (at least the thread count, and
 * at least the number of threads of an enclosing OpenMP region that calls in).
 * Chooses the widest micro-kernel the CPU supports. NULL on ENOMEM (message in ctx). */
gptc_sgemm_ws *gptc_sgemm_ws_new(gptc_ctx *ctx, int n_slots);
void gptc_sgemm_ws_free(gptc_sgemm_ws *ws);
/* Forces a micro-kernel ("avx512f", "avx2", "generic"); returns 0 when the CPU lacks it. */
int gptc_sgemm_ws_set_isa(gptc_sgemm_ws *ws, const char *isa);
/* "avx512f 8x32", "avx2 6x16" or "generic 6x16": the micro-kernel in use. */
const char *gptc_sgemm_ws_isa(const gptc_sgemm_ws *ws);

/* C[M,N] = alpha * op(A) @ op(B) + beta * C (row-major, like cblas_sgemm with
 * CblasRowMajor). beta == 0: C is not read (may hold NaN). Parallel over tiles of C
 * with n_threads OpenMP threads; called from inside a parallel region it runs on the
 * calling thread only. */
void gptc_sgemm_builtin(gptc_sgemm_ws *ws, int n_threads, int trans_a, int trans_b, int M, int N, int K,
                        float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc);

#endif
