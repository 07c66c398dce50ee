/* test_blas.c: the GEMM backend: gptc_sgemm (whatever backend was chosen) and the
 * builtin kernel (every micro-kernel this CPU can run) against a double-precision naive
 * product; the backend choice (probe, cache, corrupt cache, GPTC_BLAS). */
#define _GNU_SOURCE
#include "harness.h"
#include "kernels/cpu/sgemm_builtin.h"
#include "kernels/kernels.h"
#include "kernels/kernels_ref.h"
#include <omp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

typedef void (*gemm_fn)(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

static void via_ctx(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    gptc_sgemm(u, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static gptc_sgemm_ws *g_ws;
static int g_threads;
static void via_builtin(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    (void)u;
    gptc_sgemm_builtin(g_ws, g_threads, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Relative error of one product (leading dims padded by 5, C padding must stay intact).
 * beta == 0 starts from NaN: the kernel must not read C. */
static double one_case(gemm_fn f, void *u, int ta, int tb, int M, int N, int K, float alpha, float beta) {
    int lda = (ta ? M : K) + 5, ldb = (tb ? K : N) + 5, ldc = N + 5;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *R = malloc(nc * 4);
    for (size_t i = 0; i < na; i++) A[i] = frand();
    for (size_t i = 0; i < nb; i++) B[i] = frand();
    for (size_t i = 0; i < nc; i++) C[i] = R[i] = beta != 0.0f ? frand() : NAN;
    for (int i = 0; i < M; i++) C[(size_t)i * ldc + N] = R[(size_t)i * ldc + N] = 12345.0f; /* sentinel */
    k_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    f(u, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    /* norm-wise over the whole matrix (a single element may cancel to ~0) */
    float *c1 = malloc((size_t)M * N * 4), *r1 = malloc((size_t)M * N * 4);
    int sentinel_ok = 1;
    for (int i = 0; i < M; i++) {
        memcpy(c1 + (size_t)i * N, C + (size_t)i * ldc, (size_t)N * 4);
        memcpy(r1 + (size_t)i * N, R + (size_t)i * ldc, (size_t)N * 4);
        if (C[(size_t)i * ldc + N] != 12345.0f) sentinel_ok = 0;
    }
    double err = sentinel_ok ? test_relerr(c1, r1, (size_t)M * N) : INFINITY;
    free(c1), free(r1);
    free(A), free(B), free(C), free(R);
    return err;
}

/* Shapes: odd, single row/column, K = 1, and larger than one block (96 x 512 x 256)
 * in every dimension. Float accumulation error grows ~sqrt(K) * 6e-8: 1e-5 is loose
 * for K <= 600 yet catches any indexing mistake (errors of order 1). */
static void check_all(const char *label, gemm_fn f, void *u) {
    static const int shapes[][3] = {{67, 129, 75}, {1, 33, 17}, {13, 1, 9}, {5, 7, 1}, {130, 530, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            double e1 = one_case(f, u, t & 1, t >> 1, M, N, K, 1.3f, 0.7f);
            double e2 = one_case(f, u, t & 1, t >> 1, M, N, K, -0.5f, 0.0f);
            char name[160];
            snprintf(name, sizeof name, "%s %dx%dx%d trans_a=%d trans_b=%d", label, M, N, K, t & 1, t >> 1);
            CHECK(name, e1 < 1e-5 && e2 < 1e-5, "relative error %.3g (beta 0.7), %.3g (beta 0 on NaN)", e1, e2);
        }
}

static void test_builtin(void) {
    g_ws = gptc_sgemm_ws_new(NULL, omp_get_max_threads() + 2);
    CHECK("builtin workspace", g_ws != NULL, "allocation failed");
    if (!g_ws) return;
    const char *isas[] = {"avx512f", "avx2", "generic"};
    for (int i = 0; i < 3; i++) {
        if (!gptc_sgemm_ws_set_isa(g_ws, isas[i])) {
            printf("(skipped builtin %s: not supported by this CPU)\n", isas[i]);
            continue;
        }
        char label[64];
        snprintf(label, sizeof label, "builtin %s", gptc_sgemm_ws_isa(g_ws));
        for (g_threads = 1; g_threads <= 2; g_threads++) check_all(label, via_builtin, NULL);
    }
    /* called from inside a parallel region: each thread its own product */
    if (!gptc_sgemm_ws_set_isa(g_ws, "avx512f")) gptc_sgemm_ws_set_isa(g_ws, "avx2");
    double worst = 0;
    g_threads = 2;
#pragma omp parallel num_threads(2) reduction(max : worst)
    {
        /* fixed data per thread (the test rng is not thread-safe) */
        float A[40 * 30], B[30 * 50], C[40 * 50], R[40 * 50];
        for (int i = 0; i < 40 * 30; i++) A[i] = (float)((i * 7 + omp_get_thread_num()) % 13) - 6.0f;
        for (int i = 0; i < 30 * 50; i++) B[i] = (float)((i * 5) % 11) - 5.0f;
        k_sgemm_ref(0, 0, 40, 50, 30, 1.0f, A, 30, B, 50, 0.0f, R, 50);
        for (int rep = 0; rep < 20; rep++) gptc_sgemm_builtin(g_ws, 2, 0, 0, 40, 50, 30, 1.0f, A, 30, B, 50, 0.0f, C, 50);
        double e = test_relerr(C, R, 40 * 50);
        worst = e > worst ? e : worst;
    }
    CHECK("builtin nested in omp parallel", worst < 1e-6, "relative error %.3g", worst);
    gptc_sgemm_ws_free(g_ws);
}

static int read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return (int)n;
}

/* The cache file written by the probe (the only blas-*.txt in dir). */
static int find_cache(const char *dir, char *path, size_t cap) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s/gptc/blas-*.txt 2>/dev/null | head -1", dir);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    int ok = fgets(path, (int)cap, p) != NULL;
    pclose(p);
    if (ok) path[strcspn(path, "\n")] = 0;
    return ok && path[0];
}

static void test_backend(void) {
    char dir[512], desc[1024], path[1024], text[2048];
    const char *base = getenv("GPTC_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/test_blas.XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) {
        CHECK("cache temp dir", 0, "mkdtemp %s failed", dir);
        return;
    }
    setenv("XDG_CACHE_HOME", dir, 1);
    unsetenv("GPTC_BLAS");

    gptc_ctx *ctx = gptc_ctx_new(NULL);
    double t0 = omp_get_wtime();
    gptc_status s = gptc_backend_describe(ctx, desc, sizeof desc);
    double t1 = omp_get_wtime();
    printf("backend: %s (%.2f s)\n", desc, t1 - t0);
    CHECK("backend init", s == GPTC_OK, "status %d: %s", (int)s, gptc_errmsg(ctx));
    CHECK("backend description", strstr(desc, "self-check passed") && (!strncmp(desc, "openblas", 8) ||
                                                                        !strncmp(desc, "builtin", 7)),
          "%s", desc);
    int openblas = !strncmp(desc, "openblas", 8);
    if (openblas) {
        CHECK("backend probed candidates", strstr(desc, "(probed: ") && strstr(desc, "GFLOP/s"), "%s", desc);
        CHECK("cache written", find_cache(dir, path, sizeof path) && read_file(path, text, sizeof text) > 0 &&
                                   !strncmp(text, "gptc-blas-cache 1\n", 18),
              "no cache file under %s", dir);
    }
    check_all("gptc_sgemm", via_ctx, ctx);
    gptc_ctx_free(ctx);

    gptc_ctx_params prm = gptc_ctx_default_params();
    prm.n_threads = 1;
    ctx = gptc_ctx_new(&prm);
    gptc_backend_describe(ctx, desc, sizeof desc);
    if (openblas) CHECK("cache used", strstr(desc, "(cached probe: ") != NULL, "%s", desc);
    double e = one_case(via_ctx, ctx, 1, 0, 150, 301, 77, 1.0f, 0.0f);
    CHECK("gptc_sgemm one thread", e < 1e-5, "relative error %.3g", e);
    gptc_ctx_free(ctx);

    if (openblas) {
        /* a corrupt cache is ignored (probe again) and replaced by a good one */
        FILE *f = fopen(path, "wb");
        if (f) {
            fputs("gptc-blas-cache 1\nkey zzz\ncore Skyl@keX\n", f);
            fclose(f);
        }
        ctx = gptc_ctx_new(NULL);
        gptc_backend_describe(ctx, desc, sizeof desc);
        CHECK("corrupt cache ignored", strstr(desc, "(probed: ") && strstr(desc, "self-check passed"), "%s", desc);
        CHECK("corrupt cache replaced", read_file(path, text, sizeof text) > 0 && strstr(text, "\ncore ") &&
                                            !strstr(text, "Skyl@keX"),
              "%s", text);
        gptc_ctx_free(ctx);

        /* GPTC_BLAS forcing: an unknown core name is an error, not a silent choice */
        setenv("GPTC_BLAS", "NoSuchCore", 1);
        ctx = gptc_ctx_new(NULL);
        s = gptc_backend_init(ctx);
        CHECK("GPTC_BLAS unknown core rejected", s == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "NoSuchCore"),
              "status %d: %s", (int)s, gptc_errmsg(ctx));
        gptc_ctx_free(ctx);
    }
    setenv("GPTC_BLAS", "builtin", 1);
    ctx = gptc_ctx_new(NULL);
    s = gptc_backend_describe(ctx, desc, sizeof desc);
    CHECK("GPTC_BLAS=builtin", s == GPTC_OK && !strncmp(desc, "builtin", 7) && strstr(desc, "self-check passed"),
          "%s", desc);
    check_all("gptc_sgemm (builtin)", via_ctx, ctx);
    gptc_ctx_free(ctx);
    unsetenv("GPTC_BLAS");

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("(could not remove %s)\n", dir);
}

int main(void) {
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("seed %llu\n", (unsigned long long)rng_state);
    test_backend();
    test_builtin();
    return test_exit();
}
