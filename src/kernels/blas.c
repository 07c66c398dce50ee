/* blas.c: the GEMM backend. gptc_backend_new loads the fastest OpenBLAS core type that
 * computes correct results on this CPU (the choice cached per machine, probed in child
 * processes when there is none), self-checks it, and reports every failure; the builtin
 * kernel (cpu/sgemm.c) only when asked for or when no OpenBLAS file exists.
 * Process state it touches, on purpose and only here:
 *  - OpenBLAS, once loaded, stays loaded for the life of the process, and the first load
 *    fixes its core type (a later backend asking another core is told so in its desc);
 *  - OPENBLAS_CORETYPE is set only around that dlopen (OpenBLAS reads it while loading)
 *    and restored right after: not thread-safe against other threads' getenv/setenv;
 *  - probing forks children (never execs, no constructor: nothing runs at start-up);
 *  - gptc_sgemm gives OpenBLAS the calling context's thread count each call: the calling
 *    thread's OpenMP thread count is set for the call and restored (the OpenMP build
 *    reads it), and OpenBLAS's own count is set when it differs (a library global). */
#define _GNU_SOURCE
#include "blas.h"
#include "kernels.h"
#include "../core/core.h"
#include "cpu/sgemm_builtin.h"
#include "cpu/vec.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef void (*cblas_sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                               int lda, const float *B, int ldb, float beta, float *C, int ldc);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
enum { MAX_CAND = 8, CORE_MAX = 32 };
#define CACHE_VERSION "gptc-blas-cache 1"
#define HINT "; set GPTC_BLAS=builtin to use gptc's own kernel"

struct gptc_backend {
    int is_openblas, openmp;
    void *lib;
    cblas_sgemm_fn sgemm;
    void (*set_threads)(int);
    int (*get_threads)(void);
    gptc_sgemm_ws *ws; /* builtin */
    int n_threads;     /* of the creating context: self-check and probe */
    char core[CORE_MAX];
    char desc[GPTC_ERRMSG_MAX + 64];
    /* gptc_backend_init keeps a failed setup on the context: the status and message
     * are returned again by every later gptc_backend_init, and sgemm has no kernel */
    gptc_status status;
    char err[GPTC_ERRMSG_MAX];
};

/* Library files tried in order: the OpenMP build first (one thread pool with our loops). */
static const char *const default_libs[] = {
    "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
    NULL,
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- self-check */
typedef void (*gemm_call)(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                          const float *B, int ldb, float beta, float *C, int ldc);

static void call_cblas(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm_fn f = *(cblas_sgemm_fn *)u;
    f(CBLAS_ROW_MAJOR, ta ? CBLAS_TRANS : CBLAS_NO_TRANS, tb ? CBLAS_TRANS : CBLAS_NO_TRANS, M, N, K, alpha, A,
      lda, B, ldb, beta, C, ldc);
}

typedef struct {
    gptc_sgemm_ws *ws;
    int n_threads;
} builtin_user;

static void call_builtin(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc) {
    builtin_user *b = u;
    gptc_sgemm_builtin(b->ws, b->n_threads, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static float lcg_uniform(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* One case: op(A) M x K, op(B) K x N, leading dimensions padded by 3; beta == 0 runs
 * on a C full of NaN (BLAS must not read it). Returns the norm-wise relative error
 * against a double-precision naive product, or INFINITY (NaN, Inf, no memory). */
static double check_case(gemm_call f, void *u, int ta, int tb, int M, int N, int K, float alpha, float beta,
                         uint64_t seed) {
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + 3, ldb = bc + 3, ldc = N + 3;
    float *A = gptc_alloc(NULL, (size_t)ar * lda * sizeof(float), "self-check");
    float *B = gptc_alloc(NULL, (size_t)br * ldb * sizeof(float), "self-check");
    float *C = gptc_alloc(NULL, (size_t)M * ldc * sizeof(float), "self-check");
    double *C0 = gptc_alloc(NULL, (size_t)M * N * sizeof(double), "self-check");
    double err = INFINITY;
    if (!A || !B || !C || !C0) goto done;
    for (size_t i = 0; i < (size_t)ar * lda; i++) A[i] = lcg_uniform(&seed);
    for (size_t i = 0; i < (size_t)br * ldb; i++) B[i] = lcg_uniform(&seed);
    for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = beta != 0.0f ? lcg_uniform(&seed) : NAN;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            C0[(size_t)i * N + j] = alpha * s + (beta != 0.0f ? (double)beta * C[(size_t)i * ldc + j] : 0.0);
        }
    f(u, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double num = 0, den = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double c = C[(size_t)i * ldc + j], r = C0[(size_t)i * N + j];
            if (!isfinite(c)) goto done;
            num += (c - r) * (c - r);
            den += r * r;
        }
    err = den > 0 ? sqrt(num / den) : sqrt(num);
done:
    gptc_free(A);
    gptc_free(B);
    gptc_free(C);
    gptc_free(C0);
    return err;
}

/* Odd shapes, all four transposes, alpha/beta != 1, beta == 0 on NaN, and a shape
 * larger than one block in every dimension. Returns the worst relative error. */
static double self_check(gemm_call f, void *u) {
    double worst = 0;
    for (int t = 0; t < 4; t++) {
        double e = check_case(f, u, t & 1, t >> 1, 67, 129, 75, 1.3f, 0.7f, 1000 + t);
        if (!(e <= worst)) worst = e;
    }
    double e = check_case(f, u, 0, 0, 67, 129, 75, -0.9f, 0.0f, 7);
    if (!(e <= worst)) worst = e;
    e = check_case(f, u, 0, 1, 203, 530, 263, 1.0f, 1.0f, 11);
    if (!(e <= worst)) worst = e;
    return worst;
}
#define SELF_CHECK_TOL 1e-5

/* GFLOP/s of a 1024^3 sgemm (after one warm-up run), or -1. */
static double time_gemm(gemm_call f, void *u) {
    enum { n = 1024 };
    float *A = gptc_alloc(NULL, (size_t)n * n * sizeof(float), "timing");
    float *B = gptc_alloc(NULL, (size_t)n * n * sizeof(float), "timing");
    float *C = gptc_alloc(NULL, (size_t)n * n * sizeof(float), "timing");
    double best = -1;
    if (A && B && C) {
        uint64_t s = 42;
        for (size_t i = 0; i < (size_t)n * n; i++) {
            A[i] = lcg_uniform(&s);
            B[i] = lcg_uniform(&s);
        }
        /* best of at least 5 runs and 0.25 s: the best run is the one least disturbed
         * by other processes on a shared machine */
        double tmin = 1e30, start = now_s();
        for (int r = 0; r < 40 && (r < 6 || now_s() - start < 0.25); r++) {
            double t0 = now_s();
            f(u, 0, 0, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
            double t = now_s() - t0;
            if (r > 0 && t < tmin) tmin = t;
        }
        best = 2.0 * n * n * n / tmin * 1e-9;
    }
    gptc_free(A);
    gptc_free(B);
    gptc_free(C);
    return best;
}


/* ---------------------------------------------------------------- probing
 * A probe runs in a fork child: a fresh OPENBLAS_CORETYPE needs a fresh load of OpenBLAS.
 * A child of a single-threaded process times on all the context's threads. A child of a
 * process whose threads already run (an OpenMP pool, say) must not start OpenMP (GNU
 * OpenMP's pool does not survive fork), so it runs and times OpenBLAS on one thread:
 * the ranking of core types is what the probe is for. The child prints one line:
 *   "ok <corename> <gflops> <relerr>" | "bad <corename> <relerr>" | "noload <why>" */
static void probe_run(int fd, int n_threads, const char *core, const char *lib) {
    char line[256];
    if (strcmp(core, "-") != 0) setenv("OPENBLAS_CORETYPE", core, 1); /* the child's own environment */
    else unsetenv("OPENBLAS_CORETYPE");
    if (n_threads == 1) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
#ifdef _OPENMP
        omp_set_num_threads(1);
#endif
    }
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    cblas_sgemm_fn sg = h ? (cblas_sgemm_fn)dlsym(h, "cblas_sgemm") : NULL;
    char *(*corename)(void) = h ? (char *(*)(void))dlsym(h, "openblas_get_corename") : NULL;
    void (*set_threads)(int) = h ? (void (*)(int))dlsym(h, "openblas_set_num_threads") : NULL;
    if (!sg || !corename) {
        snprintf(line, sizeof line, "noload %s\n", h ? "lacks cblas_sgemm or openblas_get_corename" : "dlopen failed");
    } else {
        if (set_threads) set_threads(n_threads);
        char name[CORE_MAX];
        snprintf(name, sizeof name, "%s", corename());
        for (char *p = name; *p; p++)
            if (*p == ' ' || *p == '\n') *p = '_';
        double err = self_check(call_cblas, &sg);
        if (err < SELF_CHECK_TOL) snprintf(line, sizeof line, "ok %s %.1f %.3g\n", name, time_gemm(call_cblas, &sg), err);
        else snprintf(line, sizeof line, "bad %s %.3g\n", name, err);
    }
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t w = write(fd, line + off, len - off);
        if (w <= 0 && errno != EINTR) break;
        if (w > 0) off += (size_t)w;
    }
}

static int process_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    int n = -1;
    char line[256];
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

typedef struct {
    char asked[CORE_MAX]; /* "-" = OpenBLAS's own choice */
    char core[CORE_MAX];  /* what OpenBLAS reported */
    double gflops;        /* < 0: rejected */
    char why[64];
} probe_result;

static void probe_one(probe_result *r, int n_threads, const char *lib) {
    r->gflops = -1;
    memcpy(r->core, r->asked, sizeof r->core);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(r->why, sizeof r->why, "pipe failed");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        snprintf(r->why, sizeof r->why, "fork failed");
        return;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            dup2(nul, 2);
        }
        probe_run(p[1], n_threads, r->asked, lib);
        _exit(0);
    }
    close(p[1]);
    char buf[256];
    size_t len = 0;
    double deadline = now_s() + 60.0;
    for (;;) {
        int left = (int)((deadline - now_s()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            snprintf(r->why, sizeof r->why, "timed out");
            break;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        ssize_t n = read(p[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len >= sizeof buf - 1) break;
    }
    buf[len] = 0;
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    char core[CORE_MAX];
    double a = 0, b = 0;
    if (sscanf(buf, "ok %31s %lf %lf", core, &a, &b) == 3 && a > 0) {
        snprintf(r->core, sizeof r->core, "%s", core);
        r->gflops = a;
    } else if (sscanf(buf, "bad %31s %lf", core, &a) == 2) {
        snprintf(r->core, sizeof r->core, "%s", core);
        snprintf(r->why, sizeof r->why, "wrong results, rel. error %.2g", a);
    } else if (!strncmp(buf, "noload", 6)) {
        snprintf(r->why, sizeof r->why, "%.63s", buf[6] ? buf + 7 : "not loadable");
        r->why[strcspn(r->why, "\n")] = 0;
    } else if (!r->why[0]) {
        if (WIFSIGNALED(st)) snprintf(r->why, sizeof r->why, "crashed (signal %d)", WTERMSIG(st));
        else snprintf(r->why, sizeof r->why, "no answer (exit %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}

/* ---------------------------------------------------------------- CPU and cache */
typedef struct {
    char model[128];
    uint64_t flags_hash;
    int avx512, avx2fma;
} cpu_info;

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static void cpu_read(cpu_info *ci) {
    memset(ci, 0, sizeof *ci);
    ci->flags_hash = 1469598103934665603ULL;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int got_model = 0, got_flags = 0;
    while (f && fgets(line, sizeof line, f) && !(got_model && got_flags)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        const char *val = colon + 1 + (colon[1] == ' ');
        if (!got_model && !strncmp(line, "model name", 10)) {
            snprintf(ci->model, sizeof ci->model, "%s", val);
            ci->model[strcspn(ci->model, "\n")] = 0;
            got_model = 1;
        } else if (!got_flags && !strncmp(line, "flags", 5)) {
            ci->flags_hash = fnv1a(ci->flags_hash, val, strlen(val));
            got_flags = 1;
        }
    }
    if (f) fclose(f);
    ci->avx512 = gptc_cpu_has(GPTC_CPU_AVX512F) && gptc_cpu_has(GPTC_CPU_AVX512BW) && gptc_cpu_has(GPTC_CPU_AVX512VL) &&
                 gptc_cpu_has(GPTC_CPU_AVX512DQ);
    ci->avx2fma = gptc_cpu_has(GPTC_CPU_AVX2) && gptc_cpu_has(GPTC_CPU_FMA);
}

/* The GPTC_CPU level a core type's kernels need: 2 AVX-512, 1 AVX or AVX2, 0 SSE (the
 * names OpenBLAS 0.3.21's DYNAMIC_ARCH knows; others count as 0). */
static int core_level(const char *core) {
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const avx[] = {"Haswell", "Zen", "Sandybridge", "Bulldozer", "Piledriver", "Steamroller",
                                      "Excavator", NULL};
    for (int i = 0; avx512[i]; i++)
        if (!strcasecmp(core, avx512[i])) return 2;
    for (int i = 0; avx[i]; i++)
        if (!strcasecmp(core, avx[i])) return 1;
    return 0;
}

/* Cache file: $XDG_CACHE_HOME/gptc/blas-<key>.txt (else ~/.cache/gptc/), lines
 *   gptc-blas-cache 1 | key <16 hex> | core <name or "builtin"> | probed <text> */
static int cache_path(char *out, size_t cap, uint64_t key) {
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (x && x[0] == '/') n = snprintf(out, cap, "%s/gptc/blas-%016llx.txt", x, (unsigned long long)key);
    else if (home && home[0]) n = snprintf(out, cap, "%s/.cache/gptc/blas-%016llx.txt", home, (unsigned long long)key);
    else return 0;
    return n > 0 && (size_t)n < cap;
}

static int valid_core(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= CORE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* Returns 1 and fills core/probed when the cache file is present and well-formed. */
static int cache_load(const char *path, uint64_t key, char *core, char *probed, size_t probed_cap) {
    char *data = NULL;
    size_t size = 0;
    if (gptc_file_read(NULL, path, &data, &size) != GPTC_OK) return 0;
    int ok = 0;
    char keyline[64], c[CORE_MAX + 8];
    snprintf(keyline, sizeof keyline, "key %016llx\n", (unsigned long long)key);
    char *p = data;
    size_t vlen = strlen(CACHE_VERSION);
    if (size < 16 || strlen(data) != size || strncmp(p, CACHE_VERSION "\n", vlen + 1)) goto out;
    p += vlen + 1;
    if (strncmp(p, keyline, strlen(keyline))) goto out;
    p += strlen(keyline);
    if (strncmp(p, "core ", 5)) goto out;
    p += 5;
    size_t n = strcspn(p, "\n");
    if (n >= sizeof c || p[n] != '\n') goto out;
    memcpy(c, p, n);
    c[n] = 0;
    p += n + 1;
    if (!valid_core(c) || strncmp(p, "probed ", 7)) goto out;
    p += 7;
    n = strcspn(p, "\n");
    if (n >= probed_cap || p[n] != '\n' || p[n + 1] != 0) goto out;
    memcpy(probed, p, n);
    probed[n] = 0;
    snprintf(core, CORE_MAX, "%.31s", c);
    ok = 1;
out:
    gptc_free(data);
    return ok;
}

static void cache_store(const char *path, uint64_t key, const char *core, const char *probed) {
    char dir[4200], text[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = 0;
    if (gptc_mkdirs(NULL, dir) != GPTC_OK) return;
    int n = snprintf(text, sizeof text, CACHE_VERSION "\nkey %016llx\ncore %s\nprobed %s\n", (unsigned long long)key,
                     core, probed);
    if (n <= 0 || (size_t)n >= sizeof text) return;
    gptc_iovec part = {text, (size_t)n};
    gptc_file_write_atomic(NULL, path, &part, 1); /* a cache: failure only costs a re-probe */
}

/* ---------------------------------------------------------------- calls */
/* The calling context's thread count for one OpenBLAS call: OpenBLAS's own count when
 * it differs, and (OpenMP build, which follows the calling thread's OpenMP count) the
 * calling thread's count, restored after. Inside an OpenMP region the OpenMP build runs
 * on the calling thread only and nothing is changed. */
static void openblas_call(struct gptc_backend *b, int n_threads, int ta, int tb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    int restore = -1;
    if (n_threads < 1) n_threads = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) {
        int old = omp_get_max_threads();
        if (b->get_threads && b->set_threads && b->get_threads() != n_threads) b->set_threads(n_threads);
        if (b->openmp && omp_get_max_threads() != n_threads) omp_set_num_threads(n_threads);
        if (omp_get_max_threads() != old) restore = old;
    }
#else
    if (b->get_threads && b->set_threads && b->get_threads() != n_threads) b->set_threads(n_threads);
#endif
    b->sgemm(CBLAS_ROW_MAJOR, ta ? CBLAS_TRANS : CBLAS_NO_TRANS, tb ? CBLAS_TRANS : CBLAS_NO_TRANS, M, N, K, alpha,
             A, lda, B, ldb, beta, C, ldc);
#ifdef _OPENMP
    if (restore > 0) omp_set_num_threads(restore);
#else
    (void)restore;
#endif
}

static void call_loaded(void *u, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    struct gptc_backend *b = u;
    openblas_call(b, b->n_threads, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---------------------------------------------------------------- setup */
static gptc_status use_builtin(gptc_ctx *ctx, struct gptc_backend *b, const char *why) {
    int slots = ctx->n_threads;
#ifdef _OPENMP
    if (omp_get_max_threads() > slots) slots = omp_get_max_threads();
    if (omp_get_num_procs() > slots) slots = omp_get_num_procs();
#endif
    b->ws = gptc_sgemm_ws_new(ctx, slots);
    if (!b->ws) return GPTC_ENOMEM;
    b->is_openblas = 0;
    builtin_user u = {b->ws, b->n_threads};
    double err = self_check(call_builtin, &u);
    snprintf(b->core, sizeof b->core, "builtin");
    if (!(err < SELF_CHECK_TOL))
        return gptc_fail(ctx, GPTC_EINTERNAL, "builtin sgemm (%s) failed its self-check: relative error %.3g",
                         gptc_sgemm_ws_isa(b->ws), err);
    snprintf(b->desc, sizeof b->desc, "builtin %s (%s; self-check passed, rel. error %.2g)", gptc_sgemm_ws_isa(b->ws),
             why, err);
    return GPTC_OK;
}

/* dlopen with OPENBLAS_CORETYPE=core ("-": unset) for the duration of the call only. */
static void *dlopen_core(const char *lib, const char *core) {
    const char *old = getenv("OPENBLAS_CORETYPE");
    char *saved = NULL;
    if (old) {
        size_t n = strlen(old) + 1;
        saved = gptc_alloc(NULL, n, "environment value");
        if (saved) memcpy(saved, old, n);
    }
    if (strcmp(core, "-") != 0) setenv("OPENBLAS_CORETYPE", core, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (saved) setenv("OPENBLAS_CORETYPE", saved, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    gptc_free(saved);
    return h;
}

/* Loads lib with core type core and self-checks it. */
static gptc_status load_openblas(gptc_ctx *ctx, struct gptc_backend *b, const char *lib, const char *core) {
    void *h = dlopen_core(lib, core);
    if (!h) {
        const char *e = dlerror();
        return gptc_fail(ctx, GPTC_ENOTSUP, "OpenBLAS: cannot load %s: %s" HINT, lib, e ? e : "dlopen failed");
    }
    b->sgemm = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
    char *(*corename)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
    char *(*config)(void) = (char *(*)(void))dlsym(h, "openblas_get_config");
    b->set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    b->get_threads = (int (*)(void))dlsym(h, "openblas_get_num_threads");
    if (!b->sgemm || !corename) {
        b->sgemm = NULL;
        dlclose(h); /* not OpenBLAS: nothing of it was used */
        return gptc_fail(ctx, GPTC_ENOTSUP, "OpenBLAS: %s lacks cblas_sgemm or openblas_get_corename" HINT, lib);
    }
    b->lib = h; /* stays loaded: see the header comment */
    const char *cfg = config ? config() : "";
    b->openmp = strstr(cfg, "USE_OPENMP") != NULL;
    snprintf(b->core, sizeof b->core, "%s", corename());
    double err = self_check(call_loaded, b);
    if (!(err < SELF_CHECK_TOL)) {
        b->sgemm = NULL;
        return gptc_fail(ctx, GPTC_EINTERNAL, "OpenBLAS core %s failed the self-check (rel. error %.2g)" HINT, b->core,
                         err);
    }
    char ver[32] = "?";
    if (sscanf(cfg, "OpenBLAS %31s", ver) != 1) snprintf(ver, sizeof ver, "?");
    snprintf(b->desc, sizeof b->desc, "openblas %s (%s) core=%s", ver, b->openmp ? "openmp" : "pthreads", b->core);
    b->is_openblas = 1;
    return GPTC_OK;
}

static void add_cand(char cands[][CORE_MAX], int *n, const char *c) {
    if (!c || (strcmp(c, "-") && !valid_core(c)) || *n >= MAX_CAND) return;
    for (int i = 0; i < *n; i++)
        if (!strcasecmp(cands[i], c)) return;
    snprintf(cands[(*n)++], CORE_MAX, "%.31s", c);
}

/* Probes every candidate (two timing rounds, the second in reverse order, each keeping
 * its best, so a burst of load from another process does not decide) and writes the
 * summary into probed. Returns the winner's name in core, or "builtin" when none passed. */
static int probe_all(struct gptc_backend *b, const cpu_info *ci, const char *lib, char *core, char *probed,
                     size_t probed_cap) {
    char cands[MAX_CAND][CORE_MAX];
    int n = 0, cap = gptc_cpu_cap();
    /* under a GPTC_CPU cap OpenBLAS's own choice (by the CPU alone) is no candidate */
    if (cap == 2) add_cand(cands, &n, "-");
    if (ci->avx512) {
        add_cand(cands, &n, "SkylakeX");
        add_cand(cands, &n, "Cooperlake");
    }
    if (ci->avx2fma) {
        add_cand(cands, &n, "Haswell");
        add_cand(cands, &n, "Zen");
    }
    if (cap == 0) add_cand(cands, &n, "Prescott"); /* SSE3, every x86-64 CPU */
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (env && core_level(env) <= cap) add_cand(cands, &n, env);
    int threads = process_threads() == 1 ? b->n_threads : 1;
    probe_result res[MAX_CAND];
    int n_res = 0, best = -1;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < n_res; j++)
            if (!strcasecmp(res[j].core, cands[i])) dup = 1;
        if (dup) continue;
        memset(&res[n_res], 0, sizeof res[n_res]);
        snprintf(res[n_res].asked, CORE_MAX, "%.31s", cands[i]);
        probe_one(&res[n_res], threads, lib);
        n_res++;
    }
    for (int i = n_res - 1; i >= 0; i--) {
        if (res[i].gflops <= 0) continue;
        probe_result again = res[i];
        probe_one(&again, threads, lib);
        if (again.gflops > res[i].gflops) res[i].gflops = again.gflops;
    }
    for (int i = 0; i < n_res; i++)
        if (res[i].gflops > 0 && (best < 0 || res[i].gflops > res[best].gflops)) best = i;
    size_t off = 0;
    int unit = 0;
    if (threads == 1 && b->n_threads > 1) {
        int w = snprintf(probed, probed_cap, "on 1 thread, threads already running: ");
        off = w > 0 && (size_t)w < probed_cap ? (size_t)w : 0;
    }
    for (int i = 0; i < n_res; i++) {
        const char *name = res[i].core;
        int w = res[i].gflops > 0
                    ? snprintf(probed + off, probed_cap - off, "%s%s%s %.0f%s", i ? ", " : "", name,
                               strcmp(res[i].asked, "-") ? "" : " (default)", res[i].gflops, unit++ ? "" : " GFLOP/s")
                    : snprintf(probed + off, probed_cap - off, "%s%s%s rejected: %s", i ? ", " : "", name,
                               strcmp(res[i].asked, "-") ? "" : " (default)", res[i].why);
        if (w < 0 || (size_t)w >= probed_cap - off) break;
        off += (size_t)w;
    }
    snprintf(core, CORE_MAX, "%.31s", best < 0 ? "builtin" : res[best].asked);
    /* name the winner by what OpenBLAS reported, not "-" */
    if (best >= 0 && !strcmp(core, "-")) snprintf(core, CORE_MAX, "%.31s", res[best].core);
    int loadable = 0;
    for (int i = 0; i < n_res; i++) loadable += res[i].gflops > 0 || strncmp(res[i].why, "lacks ", 6) != 0;
    return loadable;
}

static void desc_append(struct gptc_backend *b, const char *fmt, const char *a, const char *c) {
    size_t l = strlen(b->desc);
    if (l < sizeof b->desc) snprintf(b->desc + l, sizeof b->desc - l, fmt, a, c);
}

static gptc_status setup(gptc_ctx *ctx, struct gptc_backend *b, const gptc_backend_params *p) {
    const char *force = p->core && p->core[0] ? p->core : NULL;
    if (!gptc_cpu_level())
        return gptc_fail(ctx, GPTC_EINVAL, "GPTC_CPU=%s: not avx512, avx2 or scalar (unset: the best this CPU runs)",
                         getenv("GPTC_CPU"));
    if (p->kind == GPTC_BACKEND_BUILTIN) {
        const char *env = getenv("GPTC_BLAS");
        return use_builtin(ctx, b, env && !strcmp(env, "builtin") ? "chosen by GPTC_BLAS=builtin" : "chosen");
    }
    const char *const *libs = p->libs ? p->libs : default_libs;
    const char *lib = NULL;
    struct stat st = {0};
    for (size_t i = 0; libs[i] && !lib; i++)
        if (stat(libs[i], &st) == 0) lib = libs[i];
    if (!lib) {
        if (p->kind == GPTC_BACKEND_OPENBLAS || force)
            return gptc_fail(ctx, GPTC_ENOTSUP, "OpenBLAS asked for%s%s, but no library found (first place looked: %s)" HINT,
                             force ? " with core " : "", force ? force : "", libs[0] ? libs[0] : "none");
        return use_builtin(ctx, b, "no OpenBLAS library found");
    }
    if (force) {
        if (!valid_core(force))
            return gptc_fail(ctx, GPTC_EINVAL, "GPTC_BLAS=%s: not \"builtin\" or an OpenBLAS core type name", force);
        if (core_level(force) > gptc_cpu_cap())
            return gptc_fail(ctx, GPTC_EINVAL, "GPTC_BLAS=%s: a core type above GPTC_CPU=%s", force,
                             getenv("GPTC_CPU"));
        gptc_status s = load_openblas(ctx, b, lib, force);
        if (s != GPTC_OK) return gptc_fail_prefix(ctx, s, "GPTC_BLAS=%s", force);
        if (strcasecmp(b->core, force) != 0)
            return gptc_fail(ctx, GPTC_EINVAL,
                             "GPTC_BLAS=%s: OpenBLAS runs core %s instead (an unknown core type, or OpenBLAS "
                             "was already loaded in this process with another one)",
                             force, b->core);
        desc_append(b, " (forced by GPTC_BLAS%s%s; self-check passed)", "", "");
        return GPTC_OK;
    }

    char real[4096], probed[400] = "";
    if (!realpath(lib, real)) snprintf(real, sizeof real, "%s", lib);
    cpu_info ci;
    cpu_read(&ci);
    uint64_t key = fnv1a(1469598103934665603ULL, CACHE_VERSION, strlen(CACHE_VERSION));
    key = fnv1a(key, ci.model, strlen(ci.model));
    key = fnv1a(key, &ci.flags_hash, sizeof ci.flags_hash);
    key = fnv1a(key, real, strlen(real));
    int64_t stamp[2] = {(int64_t)st.st_mtime, (int64_t)st.st_size};
    key = fnv1a(key, stamp, sizeof stamp);
    key = fnv1a(key, gptc_cpu_level(), strlen(gptc_cpu_level())); /* each GPTC_CPU level its own choice */
    char cpath[4200], core[CORE_MAX];
    int have_cache = cache_path(cpath, sizeof cpath, key);
    const char *how;
    void *loaded;
    /* a cached "builtin" (no core passed, an older gptc wrote it) is no choice: probe */
    if (have_cache && cache_load(cpath, key, core, probed, sizeof probed) && strcmp(core, "builtin") != 0) {
        how = "cached probe: ";
    } else if ((loaded = dlopen(lib, RTLD_NOW | RTLD_NOLOAD)) != NULL) {
        /* OpenBLAS is in this process already (its core fixed at that load), and fork
         * children would inherit it: nothing to probe; a later process probes and caches */
        dlclose(loaded);
        snprintf(core, sizeof core, "-");
        snprintf(probed, sizeof probed, "no cached choice; OpenBLAS was already loaded in this process");
        how = "not probed: ";
    } else if (p->probe) {
        int loadable = probe_all(b, &ci, lib, core, probed, sizeof probed);
        if (!loadable)
            return gptc_fail(ctx, GPTC_ENOTSUP, "OpenBLAS: %s is not loadable as OpenBLAS (%.300s)" HINT, lib, probed);
        if (!strcmp(core, "builtin"))
            return gptc_fail(ctx, GPTC_EINTERNAL, "OpenBLAS %s: no core type passed the self-check (probed: %.300s)" HINT,
                             lib, probed);
        if (have_cache) cache_store(cpath, key, core, probed);
        how = "probed: ";
    } else {
        snprintf(core, sizeof core, "%s",
                 ci.avx512 ? "SkylakeX" : ci.avx2fma ? "Haswell" : gptc_cpu_cap() == 0 ? "Prescott" : "-");
        snprintf(probed, sizeof probed, "not probed and no cached choice: guessed from the CPU flags");
        how = "";
    }
    gptc_status s = load_openblas(ctx, b, lib, core);
    if (s != GPTC_OK) return gptc_fail_prefix(ctx, s, "OpenBLAS core %s chosen (%s%.200s)", core, how, probed);
    if (strcasecmp(b->core, core) != 0 && strcmp(core, "-") != 0)
        desc_append(b, " (wanted %s: OpenBLAS was already loaded%s)", core, "");
    desc_append(b, " (%s%s; self-check passed)", how, probed);
    return GPTC_OK;
}

/* ---------------------------------------------------------------- the object */
gptc_backend_params gptc_backend_default_params(void) {
    gptc_backend_params p = {GPTC_BACKEND_AUTO, NULL, 1, NULL};
    const char *env = getenv("GPTC_BLAS");
    if (env && !strcmp(env, "builtin")) p.kind = GPTC_BACKEND_BUILTIN;
    else if (env && env[0]) {
        p.kind = GPTC_BACKEND_OPENBLAS;
        p.core = env;
    }
    return p;
}

/* Setting a backend up touches process state (the environment around dlopen, the
 * probe's forks, the cache file), so contexts of different threads set theirs up one at
 * a time; using a backend needs no lock. The one piece of process-wide state here. */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

/* A backend in either state: working, or failed with status and message kept (and in
 * ctx). NULL only when there is no memory for the object itself. p NULL: the defaults
 * (read from the environment under the lock). */
static struct gptc_backend *backend_create(gptc_ctx *ctx, const gptc_backend_params *p) {
    struct gptc_backend *b = gptc_calloc(ctx, 1, sizeof *b, "BLAS backend");
    if (!b) return NULL;
    b->n_threads = ctx->n_threads > 0 ? ctx->n_threads : 1;
    pthread_mutex_lock(&setup_lock);
    gptc_backend_params def;
    if (!p) {
        def = gptc_backend_default_params();
        p = &def;
    }
    gptc_status s = setup(ctx, b, p);
    pthread_mutex_unlock(&setup_lock);
    if (s == GPTC_OK) desc_append(b, "; cpu=%s%s", gptc_cpu_level(), gptc_cpu_cap() < 2 ? " (capped by GPTC_CPU)" : "");
    if (s != GPTC_OK) {
        b->status = s;
        b->is_openblas = 0;
        b->sgemm = NULL;
        gptc_sgemm_ws_free(b->ws);
        b->ws = NULL;
        snprintf(b->err, sizeof b->err, "%s", ctx->err);
        snprintf(b->desc, sizeof b->desc, "none: setup failed: %s", b->err);
    }
    return b;
}

gptc_status gptc_backend_new(gptc_ctx *ctx, const gptc_backend_params *params, gptc_backend **out) {
    *out = NULL;
    struct gptc_backend *b = backend_create(ctx, params);
    if (!b) return GPTC_ENOMEM;
    if (b->status != GPTC_OK) {
        gptc_status s = b->status;
        gptc_backend_free(b);
        return s;
    }
    *out = b;
    return GPTC_OK;
}

void gptc_backend_free(gptc_backend *b) {
    if (!b) return;
    gptc_sgemm_ws_free(b->ws);
    gptc_free(b);
}

const char *gptc_backend_desc(const gptc_backend *b) { return b ? b->desc : "none"; }

void gptc_backend_attach(gptc_ctx *ctx, gptc_backend *b) {
    if (ctx->backend && ctx->backend_free && ctx->backend != b) ctx->backend_free(ctx->backend);
    ctx->backend = b;
    ctx->backend_free = gptc_backend_free;
}

gptc_status gptc_backend_init(gptc_ctx *ctx) {
    if (!ctx->backend) {
        struct gptc_backend *b = backend_create(ctx, NULL);
        if (!b) return GPTC_ENOMEM;
        gptc_backend_attach(ctx, b);
        return b->status;
    }
    struct gptc_backend *b = ctx->backend;
    return b->status == GPTC_OK ? GPTC_OK : gptc_fail(ctx, b->status, "%s", b->err);
}

gptc_status gptc_backend_describe(gptc_ctx *ctx, char *buf, size_t buf_size) {
    gptc_status s = gptc_backend_init(ctx);
    if (buf && buf_size) snprintf(buf, buf_size, "%s", ctx->backend ? ctx->backend->desc : "none: out of memory");
    return s;
}

void gptc_sgemm(gptc_ctx *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (!ctx->backend) gptc_backend_init(ctx);
    struct gptc_backend *b = ctx->backend;
    if (b && b->is_openblas) {
        openblas_call(b, ctx->n_threads, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else if (b && b->ws) {
        gptc_sgemm_builtin(b->ws, ctx->n_threads, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        /* no kernel: setup failed (gptc_backend_init returns why). NaN, so that nothing
         * computed without a checked backend can pass for a result. */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    }
}
