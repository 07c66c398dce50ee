/* core.h: internals shared by every layer: the context, error reporting, allocation.
 * Everything public is in include/gptc.h; this header is for the library only. */
#ifndef GPTC_CORE_H
#define GPTC_CORE_H

#include "gptc.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GPTC_ERRMSG_MAX 1024

struct gptc_backend; /* kernels/blas.c */

struct gptc_ctx {
    char err[GPTC_ERRMSG_MAX];
    int n_threads;
    long fail_alloc_after; /* tests: the Nth allocation from now fails; -1 = never */
    /* The GEMM backend, owned by the context: created by gptc_backend_init (or given by
     * gptc_backend_attach, kernels/blas.h), released through backend_free, which
     * kernels/ sets with it, so this layer never calls up into kernels/. */
    struct gptc_backend *backend;
    void (*backend_free)(struct gptc_backend *b);
    int ref_ops;           /* 1: the kernel table is the scalar reference instance */
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

/* A fast 64-bit hash of n bytes (8 bytes a round, then the tail), for hash tables. */
static inline uint64_t gptc_hash_bytes(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
        h = (h ^ w) * 0x94D049BB133111EBull;
        h ^= h >> 29;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

/* Overflow-checked size arithmetic: return 0 on overflow. */
int gptc_mul_ok(size_t a, size_t b, size_t *out);
int gptc_add_ok(size_t a, size_t b, size_t *out);

#endif
