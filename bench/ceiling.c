/* ceiling.c: what this machine can do at best, on all threads: sgemm GFLOP/s through
 * gptc's backend (1024^3 and GPT-2 124M training shapes, plus the builtin kernel) and
 * memory bandwidth GB/s (STREAM-like copy and triad on arrays far larger than cache).
 * usage: ceiling [--json] [--quick] */
#define _GNU_SOURCE
#include "gptc.h"
#include "kernels/cpu/sgemm_builtin.h"
#include "kernels/kernels.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double wtime(void) { return omp_get_wtime(); }

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (c && !strncmp(line, "model name", 10)) {
            snprintf(out, cap, "%s", c + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    }
    if (f) fclose(f);
}

typedef struct {
    const char *name;
    int ta, tb, M, N, K;
} shape;

/* GPT-2 124M, batch 4 x 64 tokens (N = 256 rows): forward and weight-gradient GEMMs. */
static const shape shapes[] = {
    {"1024^3", 0, 0, 1024, 1024, 1024},
    {"qkv fwd 256x2304x768", 0, 0, 256, 2304, 768},
    {"fc fwd 256x3072x768", 0, 0, 256, 3072, 768},
    {"fcproj fwd 256x768x3072", 0, 0, 256, 768, 3072},
    {"fc dW 768x3072x256 (TN)", 1, 0, 768, 3072, 256},
    {"fc dX 256x768x3072 (NT)", 0, 1, 256, 768, 3072},
    {"lm head 256x50257x768 (NT)", 0, 1, 256, 50257, 768},
};

typedef void (*gemm_fn)(void *u, const shape *s, const float *A, const float *B, float *C);
static void via_ctx(void *u, const shape *s, const float *A, const float *B, float *C) {
    gptc_sgemm(u, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, s->ta ? s->M : s->K, B, s->tb ? s->K : s->N, 0.0f, C,
               s->N);
}
typedef struct {
    gptc_sgemm_ws *ws;
    int threads;
} builtin_u;
static void via_builtin(void *u, const shape *s, const float *A, const float *B, float *C) {
    builtin_u *b = u;
    gptc_sgemm_builtin(b->ws, b->threads, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, s->ta ? s->M : s->K, B,
                       s->tb ? s->K : s->N, 0.0f, C, s->N);
}

/* Best GFLOP/s over reps runs after one warm-up (the least disturbed run). */
static double time_gemm(gemm_fn f, void *u, const shape *s, int reps) {
    size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4);
    if (!A || !B || !C) return -1;
    for (size_t i = 0; i < na; i++) A[i] = (float)(i % 17) * 0.01f;
    for (size_t i = 0; i < nb; i++) B[i] = (float)(i % 13) * 0.01f;
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = wtime();
        f(u, s, A, B, C);
        double t = wtime() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(A), free(B), free(C);
    return 2.0 * s->M * s->N * (double)s->K / best * 1e-9;
}

/* STREAM-like: copy a = b (2 arrays moved), triad a = b + s c (3 arrays), GB/s best of reps. */
static void bandwidth(size_t n, int reps, double *copy_gbs, double *triad_gbs) {
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
    *copy_gbs = *triad_gbs = -1;
    if (!a || !b || !c) return;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f; /* first touch by the thread that uses it */
    double bc = 1e30, bt = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = wtime();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i];
        double t1 = wtime();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
        double t2 = wtime();
        if (r > 0 && t1 - t0 < bc) bc = t1 - t0;
        if (r > 0 && t2 - t1 < bt) bt = t2 - t1;
    }
    volatile float sink = a[n / 2];
    (void)sink;
    *copy_gbs = 2.0 * n * 4 / bc * 1e-9;
    *triad_gbs = 3.0 * n * 4 / bt * 1e-9;
    free(a), free(b), free(c);
}

int main(int argc, char **argv) {
    int json = 0, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            fprintf(stderr, "usage: ceiling [--json] [--quick]\n");
            return 2;
        }
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 1;
    char desc[1024], cpu[256];
    gptc_status st = gptc_backend_describe(ctx, desc, sizeof desc);
    if (st != GPTC_OK) fprintf(stderr, "ceiling: backend: %s\n", gptc_errmsg(ctx));
    cpu_model(cpu, sizeof cpu);
    int threads = gptc_ctx_n_threads(ctx), reps = quick ? 3 : 8;
    int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    double gf[16], gf_builtin = -1, copy_gbs, triad_gbs;
    for (int i = 0; i < n_shapes; i++) gf[i] = time_gemm(via_ctx, ctx, &shapes[i], i == n_shapes - 1 ? reps / 2 : reps);
    builtin_u bu = {gptc_sgemm_ws_new(ctx, threads), threads};
    if (bu.ws) gf_builtin = time_gemm(via_builtin, &bu, &shapes[0], reps / 2);
    size_t n = (size_t)(quick ? 16 : 64) << 20; /* 64M floats: 256 MB per array */
    bandwidth(n, quick ? 3 : 5, &copy_gbs, &triad_gbs);

    if (json) {
        printf("{\"cpu\": \"%s\", \"threads\": %d, \"backend\": \"", cpu, threads);
        for (const char *p = desc; *p; p++) printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
        printf("\", \"sgemm_gflops\": {");
        for (int i = 0; i < n_shapes; i++) printf("%s\"%s\": %.1f", i ? ", " : "", shapes[i].name, gf[i]);
        printf("}, \"builtin_sgemm_1024_gflops\": %.1f, \"builtin_kernel\": \"%s\", \"copy_gbs\": %.1f, "
               "\"triad_gbs\": %.1f}\n",
               gf_builtin, bu.ws ? gptc_sgemm_ws_isa(bu.ws) : "none", copy_gbs, triad_gbs);
    } else {
        printf("cpu: %s, %d threads\n", cpu, threads);
        printf("kernel: %s\n", desc);
        for (int i = 0; i < n_shapes; i++) printf("sgemm %-28s %7.1f GFLOP/s\n", shapes[i].name, gf[i]);
        printf("builtin sgemm 1024^3 (%s) %7.1f GFLOP/s (fallback kernel, not the backend)\n",
               bu.ws ? gptc_sgemm_ws_isa(bu.ws) : "none", gf_builtin);
        printf("memory copy  %7.1f GB/s (%zu MB arrays)\n", copy_gbs, n * 4 >> 20);
        printf("memory triad %7.1f GB/s\n", triad_gbs);
    }
    gptc_sgemm_ws_free(bu.ws);
    gptc_ctx_free(ctx);
    return 0;
}
