/* core.h: internals shared by every layer: the context, error reporting, allocation.
 * Everything public is in include/gptc.h; this header is for the library only. */
#ifndef GPTC_CORE_H
#define GPTC_CORE_H

#include "gptc.h"
#include <stdarg.h>
#include <stdio.h>

#define GPTC_ERRMSG_MAX 1024

struct gptc_backend; /* kernels/blas.c */

struct gptc_ctx {
    char err[GPTC_ERRMSG_MAX];
    int n_threads;
    long fail_alloc_after; /* tests: the Nth allocation from now fails; -1 = never */
    struct gptc_backend *backend; /* chosen on first use by gptc_backend_get() */
};

#if defined(__GNUC__)
#define GPTC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GPTC_PRINTF(a, b)
#endif

/* Records a formatted message in ctx and returns code:
 *   return gptc_fail(ctx, GPTC_EFORMAT, "%s: header length %zu past end of file", path, n); */
gptc_status gptc_fail(gptc_ctx *ctx, gptc_status code, const char *fmt, ...) GPTC_PRINTF(3, 4);
/* Prefixes the message already in ctx: "<prefix>: <old message>". Returns code. */
gptc_status gptc_fail_prefix(gptc_ctx *ctx, gptc_status code, const char *fmt, ...) GPTC_PRINTF(3, 4);

/* The one allocation pair of the library. gptc_alloc records an ENOMEM message
 * naming what in ctx when it fails (ctx may be NULL). Memory is 64-byte aligned and
 * released with gptc_free. gptc_calloc zeroes. Sizes that overflow fail cleanly. */
void *gptc_alloc(gptc_ctx *ctx, size_t n, const char *what);
void *gptc_calloc(gptc_ctx *ctx, size_t count, size_t size, const char *what);
void gptc_free(void *p);

/* Overflow-checked size arithmetic: return 0 on overflow. */
int gptc_mul_ok(size_t a, size_t b, size_t *out);
int gptc_add_ok(size_t a, size_t b, size_t *out);

#endif
