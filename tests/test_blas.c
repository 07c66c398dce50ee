/* test_blas.c: the GEMM backend: gptc_sgemm (whatever backend was chosen) and the
 * builtin kernel (every micro-kernel this CPU can run) against a double-precision naive
 * product; the backend choice (probe, cache, corrupt cache, GPTC_BLAS), its errors (no
 * silent fallback, a failed setup reported again on every call), and the process state
 * it must leave alone (OPENBLAS_CORETYPE, the caller's OpenMP thread count). */
#define _GNU_SOURCE
#include "harness.h"
#include "kernels/blas.h"
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
        /* a corrupt cache is ignored (probe again) and replaced by a good one; probing
         * needs a process without OpenBLAS loaded: a fresh one (this program again) */
        FILE *f = fopen(path, "wb");
        if (f) {
            fputs("gptc-blas-cache 1\nkey zzz\ncore Skyl@keX\n", f);
            fclose(f);
        }
        char cmd[2200], exe[1024];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        snprintf(cmd, sizeof cmd, "'%s' --corrupt-cache '%s'", exe, path);
        fflush(stdout);
        int rc = system(cmd);
        CHECK("corrupt cache: fresh process ran", rc == 0, "exit status %d", rc);
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

static int cache_files(const char *dir) {
    char cmd[600], line[64];
    snprintf(cmd, sizeof cmd, "ls %s/gptc/ 2>/dev/null | grep -c '^blas-'", dir);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p && fgets(line, sizeof line, p)) n = atoi(line);
    if (p) pclose(p);
    return n;
}

/* Explicit creation and its errors; what must stay untouched in the process. */
static void test_backend_errors(void) {
    char dir[512], desc[1200];
    const char *base = getenv("GPTC_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/test_blas_err.XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) {
        CHECK("errors temp dir", 0, "mkdtemp %s failed", dir);
        return;
    }
    setenv("XDG_CACHE_HOME", dir, 1);
    unsetenv("GPTC_BLAS");
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_backend *b = NULL;
    static const char *const none[] = {"/nonexistent/gptc-test/libopenblas.so.0", NULL};
    static const char *const libm[] = {"/lib/x86_64-linux-gnu/libm.so.6", NULL};
    int openblas = access("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0", R_OK) == 0 ||
                   access("/usr/lib/x86_64-linux-gnu/libopenblas.so.0", R_OK) == 0;

    gptc_backend_params p = gptc_backend_default_params();
    p.kind = GPTC_BACKEND_OPENBLAS;
    p.libs = none;
    gptc_status s = gptc_backend_new(ctx, &p, &b);
    CHECK("OpenBLAS asked for but absent: error, no builtin", s == GPTC_ENOTSUP && !b &&
                                                                  strstr(gptc_errmsg(ctx), "no library found"),
          "status %d: %s", (int)s, gptc_errmsg(ctx));

    p.kind = GPTC_BACKEND_AUTO;
    s = gptc_backend_new(ctx, &p, &b);
    CHECK("no OpenBLAS installed: builtin, and the description says why",
          s == GPTC_OK && b && strstr(gptc_backend_desc(b), "builtin") &&
              strstr(gptc_backend_desc(b), "no OpenBLAS library found"),
          "status %d: %s", (int)s, b ? gptc_backend_desc(b) : gptc_errmsg(ctx));
    gptc_backend_free(b);
    b = NULL;

    if (access(libm[0], R_OK) == 0) {
        p.libs = libm;
        s = gptc_backend_new(ctx, &p, &b);
        CHECK("a library that is not OpenBLAS: error, no silent builtin",
              s == GPTC_ENOTSUP && !b && strstr(gptc_errmsg(ctx), "lacks cblas_sgemm") &&
                  strstr(gptc_errmsg(ctx), "GPTC_BLAS=builtin"),
              "status %d: %s", (int)s, gptc_errmsg(ctx));
    }
    p.libs = NULL;

    p.kind = GPTC_BACKEND_BUILTIN;
    s = gptc_backend_new(ctx, &p, &b);
    CHECK("builtin chosen explicitly", s == GPTC_OK && b && !strncmp(gptc_backend_desc(b), "builtin", 7) &&
                                           strstr(gptc_backend_desc(b), "chosen"),
          "status %d: %s", (int)s, b ? gptc_backend_desc(b) : gptc_errmsg(ctx));
    gptc_backend_attach(ctx, b); /* the context frees it */
    double e = one_case(via_ctx, ctx, 0, 1, 40, 70, 33, 1.0f, 0.0f);
    CHECK("attached backend computes", e < 1e-5, "relative error %.3g", e);
    gptc_ctx_free(ctx);

    if (openblas) {
        /* no cache and no probing: a guess, self-checked, not cached */
        ctx = gptc_ctx_new(NULL);
        p = gptc_backend_default_params();
        p.probe = 0;
        s = gptc_backend_new(ctx, &p, &b);
        CHECK("probe 0: guessed, not cached", s == GPTC_OK && b && strstr(gptc_backend_desc(b), "not probed") &&
                                                  cache_files(dir) == 0,
              "status %d: %s; %d cache files", (int)s, b ? gptc_backend_desc(b) : gptc_errmsg(ctx), cache_files(dir));
        gptc_backend_free(b);
        gptc_ctx_free(ctx);

        /* OPENBLAS_CORETYPE is the caller's again after the load */
        setenv("OPENBLAS_CORETYPE", "Prescott", 1);
        ctx = gptc_ctx_new(NULL);
        p = gptc_backend_default_params();
        p.kind = GPTC_BACKEND_OPENBLAS;
        p.core = "Haswell";
        s = gptc_backend_new(ctx, &p, &b);
        const char *env = getenv("OPENBLAS_CORETYPE");
        CHECK("OPENBLAS_CORETYPE restored after loading", env && !strcmp(env, "Prescott"), "OPENBLAS_CORETYPE=%s",
              env ? env : "(unset)");
        printf("forced Haswell in a process that has OpenBLAS loaded: status %d, %s\n", (int)s,
               b ? gptc_backend_desc(b) : gptc_errmsg(ctx));
        gptc_backend_free(b);
        gptc_ctx_free(ctx);
        unsetenv("OPENBLAS_CORETYPE");

        /* per-context thread counts, and the caller's OpenMP count left as it was */
        gptc_ctx_params cp = gptc_ctx_default_params();
        cp.n_threads = 1;
        gptc_ctx *c1 = gptc_ctx_new(&cp);
        cp.n_threads = 2;
        gptc_ctx *c2 = gptc_ctx_new(&cp);
        omp_set_num_threads(3);
        double worst = 0;
        for (int r = 0; r < 3; r++) {
            double e1 = one_case(via_ctx, c1, 0, 0, 150, 301, 77, 1.0f, 0.0f);
            double e2 = one_case(via_ctx, c2, 1, 0, 150, 301, 77, 1.0f, 0.0f);
            worst = e1 > worst ? e1 : worst;
            worst = e2 > worst ? e2 : worst;
        }
        CHECK("contexts of 1 and 2 threads, calls interleaved", worst < 1e-5, "relative error %.3g", worst);
        CHECK("caller's OpenMP thread count unchanged by gptc_sgemm", omp_get_max_threads() == 3,
              "omp_get_max_threads() = %d, was 3", omp_get_max_threads());
        gptc_ctx_free(c1);
        gptc_ctx_free(c2);

        /* a failed setup is kept on the context: reported by every gptc_backend_init,
         * and gptc_sgemm computes nothing that could pass for a result */
        setenv("GPTC_BLAS", "NoSuchCore", 1);
        ctx = gptc_ctx_new(NULL);
        gptc_status s1 = gptc_backend_init(ctx);
        gptc_status s2 = gptc_backend_init(ctx);
        CHECK("failed setup reported again", s1 == GPTC_EINVAL && s2 == GPTC_EINVAL &&
                                                 strstr(gptc_errmsg(ctx), "NoSuchCore"),
              "status %d then %d: %s", (int)s1, (int)s2, gptc_errmsg(ctx));
        float A[6] = {1, 2, 3, 4, 5, 6}, B2[6] = {1, 0, 0, 1, 1, 1}, C[4] = {0};
        gptc_sgemm(ctx, 0, 0, 2, 2, 3, 1.0f, A, 3, B2, 2, 0.0f, C, 2);
        CHECK("gptc_sgemm without a working backend gives NaN", isnan(C[0]) && isnan(C[3]), "C = %g %g %g %g", C[0],
              C[1], C[2], C[3]);
        s = gptc_backend_describe(ctx, desc, sizeof desc);
        CHECK("describe says the setup failed", s == GPTC_EINVAL && strstr(desc, "setup failed"), "%d: %s", (int)s,
              desc);
        gptc_ctx_free(ctx);
        unsetenv("GPTC_BLAS");
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("(could not remove %s)\n", dir);
}

/* In a fresh process (started by test_backend): the cache at path is corrupt. */
static int corrupt_cache_main(const char *path) {
    char desc[1024], text[2048];
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_backend_describe(ctx, desc, sizeof desc);
    printf("backend after a corrupt cache: %s\n", desc);
    CHECK("corrupt cache ignored", strstr(desc, "(probed: ") && strstr(desc, "self-check passed"), "%s", desc);
    CHECK("corrupt cache replaced", read_file(path, text, sizeof text) > 0 && strstr(text, "\ncore ") &&
                                        !strstr(text, "Skyl@keX"),
          "%s", text);
    gptc_ctx_free(ctx);
    return test_exit();
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--corrupt-cache")) return corrupt_cache_main(argv[2]);
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("seed %llu\n", (unsigned long long)rng_state);
    test_backend();
    test_backend_errors();
    test_builtin();
    return test_exit();
}
