/* ctx.c: the context (error message, threads, backend handle) and the allocation pair.
 * The BLAS backend itself lives in kernels/blas.c; this file only calls the destructor
 * that kernels/ stored next to it. */
#define _GNU_SOURCE
#include "core.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const status_names[] = {
    "ok", "out of memory", "I/O error", "malformed input", "invalid argument",
    "out of range", "not supported", "internal self-check failed", "network or server error",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == GPTC_STATUS_COUNT,
               "status_names must cover gptc_status");

const char *gptc_strstatus(gptc_status s) {
    if ((unsigned)s >= GPTC_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

gptc_ctx_params gptc_ctx_default_params(void) {
    gptc_ctx_params p = {0};
    return p;
}

static int default_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#endif
}

void gptc_openmp_wait(char **argv) {
    if (!argv || !argv[0] || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", GPTC_SPINCOUNT, 1)) return;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT"); /* exec failed: this process keeps libgomp's default */
}

gptc_ctx *gptc_ctx_new(const gptc_ctx_params *params) {
    gptc_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->n_threads = params && params->n_threads > 0 ? params->n_threads : default_threads();
    ctx->fail_alloc_after = -1;
    ctx->ref_ops = params && params->reference_kernels;
    return ctx;
}

void gptc_ctx_free(gptc_ctx *ctx) {
    if (!ctx) return;
    if (ctx->backend && ctx->backend_free) ctx->backend_free(ctx->backend);
    free(ctx);
}

const char *gptc_errmsg(const gptc_ctx *ctx) { return ctx ? ctx->err : "no context"; }
int gptc_ctx_n_threads(const gptc_ctx *ctx) { return ctx->n_threads; }

gptc_status gptc_fail(gptc_ctx *ctx, gptc_status code, const char *fmt, ...) {
    if (!ctx) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    return code;
}

gptc_status gptc_fail_prefix(gptc_ctx *ctx, gptc_status code, const char *fmt, ...) {
    if (!ctx) return code;
    char prefix[GPTC_ERRMSG_MAX], old[GPTC_ERRMSG_MAX];
    memcpy(old, ctx->err, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* the prefix keeps at most half the buffer, so the original reason survives */
    snprintf(ctx->err, sizeof ctx->err, "%.*s: %.*s", (int)(sizeof ctx->err / 2), prefix,
             (int)(sizeof ctx->err / 2 - 3), old);
    return code;
}

int gptc_mul_ok(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
int gptc_add_ok(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

void *gptc_alloc(gptc_ctx *ctx, size_t n, const char *what) {
    void *p = NULL;
    if (ctx && ctx->fail_alloc_after >= 0 && ctx->fail_alloc_after-- == 0) {
        gptc_fail(ctx, GPTC_ENOMEM, "out of memory allocating %zu bytes for %s", n, what);
        return NULL;
    }
    /* Large buffers (weights, activations, KV caches) are 2 MiB aligned and asked to be
     * backed by transparent huge pages: first touch then faults once per 2 MiB instead
     * of once per 4 KiB (measured 2.6x faster to fill here). */
    size_t align = n >= ((size_t)4 << 20) ? ((size_t)2 << 20) : 64, rounded;
    if (!gptc_add_ok(n ? n : 1, align - 1, &rounded) || posix_memalign(&p, align, rounded & ~(align - 1))) {
        gptc_fail(ctx, GPTC_ENOMEM, "out of memory allocating %zu bytes for %s", n, what);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align > 64) madvise(p, rounded & ~(align - 1), MADV_HUGEPAGE);
#endif
    return p;
}

void *gptc_calloc(gptc_ctx *ctx, size_t count, size_t size, const char *what) {
    size_t n;
    if (!gptc_mul_ok(count, size, &n)) {
        gptc_fail(ctx, GPTC_ENOMEM, "size overflow allocating %zu x %zu bytes for %s", count, size, what);
        return NULL;
    }
    void *p = gptc_alloc(ctx, n, what);
    if (p) memset(p, 0, n);
    return p;
}

void gptc_free(void *p) { free(p); }
