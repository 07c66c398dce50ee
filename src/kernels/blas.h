/* blas.h: the GEMM backend as an object (kernels/blas.c): created explicitly, its setup
 * errors reported, owned by a context. gptc_sgemm and gptc_backend_init (kernels.h) use
 * the context's backend. Internal. */
#ifndef GPTC_KERNELS_BLAS_H
#define GPTC_KERNELS_BLAS_H

#include "../core/core.h"

typedef struct gptc_backend gptc_backend;

typedef enum gptc_backend_kind {
    GPTC_BACKEND_AUTO = 0, /* OpenBLAS when a library file exists, else the builtin kernel */
    GPTC_BACKEND_OPENBLAS, /* OpenBLAS or an error */
    GPTC_BACKEND_BUILTIN,  /* gptc's own sgemm (cpu/sgemm.c) */
} gptc_backend_kind;

typedef struct gptc_backend_params {
    gptc_backend_kind kind;
    /* OpenBLAS core type to load ("SkylakeX"), checked against what OpenBLAS runs; NULL:
     * the cached choice, else a probe (or a guess, when probe is 0). */
    const char *core;
    /* 1: with no cached choice, probe every candidate core in a child process and cache
     * the winner (first use, `gptc info`); 0: never probe: the cache, else a guess from
     * the CPU flags, self-checked, not cached. */
    int probe;
    /* NULL-terminated OpenBLAS files, the first present one is used; NULL: the usual
     * places (the OpenMP build first). */
    const char *const *libs;
} gptc_backend_params;

/* Defaults, reading the environment: GPTC_BLAS=builtin gives GPTC_BACKEND_BUILTIN,
 * GPTC_BLAS=<core> gives GPTC_BACKEND_OPENBLAS with that core (the pointer is into the
 * environment: use the params before changing it); probe 1. */
gptc_backend_params gptc_backend_default_params(void);

/* Creates a backend: loads and self-checks the kernel; *out is NULL on failure. Errors
 * (message in ctx): GPTC_EINVAL (core not a core type name, or not what OpenBLAS runs),
 * GPTC_ENOTSUP (OpenBLAS asked for but absent, not loadable or lacking symbols),
 * GPTC_EINTERNAL (a self-check failed, or no OpenBLAS core passed one), GPTC_ENOMEM. The
 * builtin kernel is used only when asked for or when no OpenBLAS file exists (AUTO).
 * Process state it touches, all documented in blas.c: OpenBLAS stays loaded for the
 * life of the process (the first load fixes its core); OPENBLAS_CORETYPE is set only
 * around that dlopen and restored; probing forks children. */
gptc_status gptc_backend_new(gptc_ctx *ctx, const gptc_backend_params *params, gptc_backend **out);
void gptc_backend_free(gptc_backend *b); /* NULL is a no-op */
/* "openblas 0.3.21 (openmp) core=SkylakeX (probed: ...; self-check passed)" */
const char *gptc_backend_desc(const gptc_backend *b);
/* ctx takes b (frees it with itself), replacing and freeing the backend it had. */
void gptc_backend_attach(gptc_ctx *ctx, gptc_backend *b);

#endif
