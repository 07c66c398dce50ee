/* test_cpu_cap.c: the GPTC_CPU cap. The test runs itself again (fork + exec of
 * /proc/self/exe) under GPTC_CPU = avx2, AVX2 (case), scalar, avx512, "" and a value that
 * is none of them; each child checks, against the level the uncapped parent found
 * (min(cap, the CPU's best)), that every run-time choice follows the cap: gptc_cpu_isa,
 * gptc_cpu_level, gptc_cpu_has, the paths of vexp, gemv, the F16/BF16 and quantized
 * linears, dequantization, the builtin sgemm's micro-kernel, and the OpenBLAS core (no
 * AVX-512 core under avx2 or scalar; cpu=LEVEL in the backend description); that the
 * default kernels give the bits of the path forced to that level (q8_0, q4_0 and q4_k
 * linears at 1 and 5 rows, the F32 gemv, F16 linear, dequantization), and match the
 * float64 / oracle references; an unknown value: no feature, the scalar paths, and the
 * backend refused with GPTC_EINVAL naming the value. Sizes: in 96 / 256 (q4_k), out 37. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "kernels/blas.h"
#include "kernels/cpu/sgemm_builtin.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "kernels/qlinear.h"
#include "kernels/quant.h"
#include "kernels/wlinear.h"
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t rng_state = 4242;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static const char *const level_names[] = {"scalar", "avx2", "avx512"};

/* k_linear_q at the default path == at the path forced to want_q (bitwise), and near
 * the oracle */
static void check_qlinear(gptc_ctx *ctx, gptc_dtype d, int want_q, const char *tag) {
    int I = d == GPTC_Q4_K ? 256 : 96, O = 37, N = 5;
    size_t rowb = gptc_q_row_bytes(d, I);
    float *wf = malloc(sizeof(float) * I), *x = malloc(sizeof(float) * I * N);
    unsigned char *wq = malloc(rowb * O);
    float *got = malloc(sizeof(float) * O * N), *forced = malloc(sizeof(float) * O * N),
          *ref = malloc(sizeof(float) * O * N);
    for (int o = 0; o < O; o++) {
        for (int i = 0; i < I; i++) wf[i] = 0.1f * frand();
        gptc_q_quantize_row(d, wf, wq + (size_t)o * rowb, I);
    }
    for (int i = 0; i < I * N; i++) x[i] = frand();
    gptc_wdesc w = {wq, d, GPTC_W_OUT_IN, I, O, NULL};
    const char *dn = d == GPTC_Q8_0 ? "q8_0" : d == GPTC_Q4_0 ? "q4_0" : "q4_k";
    char name[200];
    for (int n = 1; n <= N; n += N - 1) {
        k_linear_q(ctx, got, x, &w, NULL, n);
        k_linear_q_with(ctx, forced, x, &w, NULL, n, want_q);
        k_linear_q_ref(&w, ref, x, NULL, n);
        snprintf(name, sizeof name, "%s: %s linear, %d row(s): the default path gives the capped path's bits", tag, dn,
                 n);
        CHECK(name, !memcmp(got, forced, sizeof(float) * O * n), "differs");
        double e = test_relerr(got, ref, (size_t)O * n);
        snprintf(name, sizeof name, "%s: %s linear, %d row(s): against the oracle", tag, dn, n);
        CHECK(name, e < 1e-5, "relative error %.3g (tolerance 1e-5)", e);
    }
    free(wf), free(x), free(wq), free(got), free(forced), free(ref);
}

/* the F32 gemv and the F16 linear: the default path == the forced one, near float64 */
static void check_f32_f16(gptc_ctx *ctx, int want, const char *tag) {
    int C = 77, OC = 301, M = 3;
    float *w = malloc(sizeof(float) * C * OC), *x = malloc(sizeof(float) * C * M);
    float *got = malloc(sizeof(float) * OC * M), *forced = malloc(sizeof(float) * OC * M),
          *ref = malloc(sizeof(float) * OC * M);
    uint16_t *wh = malloc(sizeof(uint16_t) * C * OC);
    for (int i = 0; i < C * OC; i++) w[i] = frand();
    for (int i = 0; i < C * M; i++) x[i] = frand();
    for (int m = 0; m < M; m++)
        for (int j = 0; j < OC; j++) {
            double s = 0;
            for (int k = 0; k < C; k++) s += (double)x[m * C + k] * w[(size_t)k * OC + j];
            ref[m * OC + j] = (float)s;
        }
    char name[200];
    k_gemv_conv1d(ctx, got, x, w, NULL, M, C, OC);
    k_gemv_conv1d_with(ctx, forced, x, w, NULL, M, C, OC, want);
    snprintf(name, sizeof name, "%s: f32 gemv: the default path gives the capped path's bits", tag);
    CHECK(name, !memcmp(got, forced, sizeof(float) * OC * M), "differs");
    double e = test_relerr(got, ref, (size_t)OC * M);
    snprintf(name, sizeof name, "%s: f32 gemv: against float64", tag);
    CHECK(name, e < 1e-5, "relative error %.3g (tolerance 1e-5)", e);

    for (int i = 0; i < C * OC; i++) wh[i] = gptc_f32_to_f16(w[i]);
    gptc_wdesc wd = {wh, GPTC_F16, GPTC_W_IN_OUT, C, OC, NULL};
    k_linear_w(ctx, got, x, &wd, NULL, M);
    k_linear_w_with(ctx, forced, x, &wd, NULL, M, want);
    snprintf(name, sizeof name, "%s: f16 linear: the default path gives the capped path's bits", tag);
    CHECK(name, !memcmp(got, forced, sizeof(float) * OC * M), "differs");

    unsigned char *q = malloc(gptc_q_row_bytes(GPTC_Q4_0, 96));
    float *a = malloc(sizeof(float) * 96), *b = malloc(sizeof(float) * 96);
    gptc_q_quantize_row(GPTC_Q4_0, x, q, 96);
    gptc_q_dequantize_row(GPTC_Q4_0, q, a, 96);
    gptc_q_dequantize_row_with(GPTC_Q4_0, q, b, 96, 0);
    snprintf(name, sizeof name, "%s: dequantize: the scalar rule's floats", tag);
    CHECK(name, !memcmp(a, b, sizeof(float) * 96), "differs");
    free(w), free(x), free(got), free(forced), free(ref), free(wh), free(q), free(a), free(b);
}

static int child(const char *cap, int hw, int hw_q) {
    int c = !cap[0] || !strcasecmp(cap, "avx512") ? 2 : !strcasecmp(cap, "avx2") ? 1 : !strcasecmp(cap, "scalar") ? 0 : -1;
    char tag[64], name[200];
    snprintf(tag, sizeof tag, "GPTC_CPU=%s", cap);
    gptc_ctx_params p = gptc_ctx_default_params();
    p.n_threads = 2;
    gptc_ctx *ctx = gptc_ctx_new(&p);
    if (c < 0) {
        snprintf(name, sizeof name, "%s: no level, no feature, the scalar paths", tag);
        CHECK(name, !gptc_cpu_level() && gptc_cpu_cap() == -1 && gptc_cpu_isa() == 0 && !gptc_cpu_has(GPTC_CPU_AVX2) &&
                  k_linear_q_isa() == GPTC_QL_SCALAR && k_linear_w_isa() == GPTC_WL_SCALAR,
              "level %s, isa %d, q %d", gptc_cpu_level() ? gptc_cpu_level() : "NULL", gptc_cpu_isa(), k_linear_q_isa());
        char desc[1024];
        gptc_status s = gptc_backend_describe(ctx, desc, sizeof desc);
        snprintf(name, sizeof name, "%s: the backend refuses it, naming the value", tag);
        CHECK(name, s == GPTC_EINVAL && strstr(gptc_errmsg(ctx), tag), "status %d: %s", (int)s, gptc_errmsg(ctx));
        gptc_ctx_free(ctx);
        return test_exit();
    }
    int want = c < hw ? c : hw;
    int want_q = want == 2 ? hw_q : want == 1 ? GPTC_QL_AVX2 : GPTC_QL_SCALAR;
    snprintf(name, sizeof name, "%s: level %s (the CPU's best: %s)", tag, level_names[want], level_names[hw]);
    CHECK(name, gptc_cpu_level() && !strcmp(gptc_cpu_level(), level_names[want]) && gptc_cpu_cap() == c &&
              gptc_cpu_isa() == want,
          "level %s, cap %d, isa %d", gptc_cpu_level() ? gptc_cpu_level() : "NULL", gptc_cpu_cap(), gptc_cpu_isa());
    snprintf(name, sizeof name, "%s: features", tag);
    CHECK(name, gptc_cpu_has(GPTC_CPU_AVX512F) == (want == 2) && gptc_cpu_has(GPTC_CPU_AVX2) == (want >= 1) &&
              (want == 2 || !gptc_cpu_has(GPTC_CPU_AVX512VNNI)),
          "avx512f %d avx2 %d vnni %d", gptc_cpu_has(GPTC_CPU_AVX512F), gptc_cpu_has(GPTC_CPU_AVX2),
          gptc_cpu_has(GPTC_CPU_AVX512VNNI));
    int want_g = want_q == GPTC_QL_VNNI ? GPTC_QL_VNNI : want_q >= GPTC_QL_AVX2 ? GPTC_QL_AVX2 : GPTC_QL_SCALAR;
    snprintf(name, sizeof name, "%s: kernel paths (vexp, gemv, linear f16/bf16, linear quantized, int8 GEMM, "
             "dequantize)", tag);
    CHECK(name, gptc_vexp_isa() == want && k_gemv_isa() == want && k_linear_w_isa() == want &&
              k_linear_q_isa() == want_q && k_qgemm_isa() == want_g && gptc_q_dequantize_isa() == want,
          "vexp %d gemv %d w %d q %d (want %d) qgemm %d (want %d) dequant %d", gptc_vexp_isa(), k_gemv_isa(),
          k_linear_w_isa(), k_linear_q_isa(), want_q, k_qgemm_isa(), want_g, gptc_q_dequantize_isa());
    gptc_sgemm_ws *ws = gptc_sgemm_ws_new(ctx, 1);
    const char *ki = ws ? gptc_sgemm_ws_isa(ws) : "none";
    snprintf(name, sizeof name, "%s: builtin sgemm micro-kernel", tag);
    const char *kw = want == 2 ? "avx512f " : want == 1 ? "avx2 " : "generic ";
    CHECK(name, ws && !strncmp(ki, kw, strlen(kw)) &&
                    (want == 2 || !gptc_sgemm_ws_set_isa(ws, "avx512f")),
          "%s", ki);
    gptc_sgemm_ws_free(ws);
    char desc[1024], lv[32];
    gptc_status s = gptc_backend_describe(ctx, desc, sizeof desc);
    snprintf(lv, sizeof lv, "cpu=%s", level_names[want]);
    int avx512_core = strstr(desc, "core=SkylakeX") || strstr(desc, "core=Cooperlake") ||
                      strstr(desc, "core=SapphireRapids");
    int avx_core = avx512_core || strstr(desc, "core=Haswell") || strstr(desc, "core=Zen");
    snprintf(name, sizeof name, "%s: backend within the cap (%s)", tag, lv);
    CHECK(name, s == GPTC_OK && strstr(desc, lv) && (c == 2 || !avx512_core) && (c >= 1 || !avx_core), "status %d: %s",
          (int)s, s == GPTC_OK ? desc : gptc_errmsg(ctx));
    check_qlinear(ctx, GPTC_Q8_0, want_q, tag);
    check_qlinear(ctx, GPTC_Q4_0, want_q, tag);
    check_qlinear(ctx, GPTC_Q4_K, want_q, tag);
    check_f32_f16(ctx, want, tag);
    gptc_ctx_free(ctx);
    return test_exit();
}

int main(int argc, char **argv) {
    const char *mode = getenv("GPTC_TEST_CPU_CAP_CHILD");
    if (mode) return child(getenv("GPTC_CPU") ? getenv("GPTC_CPU") : "", atoi(mode), argc > 1 ? atoi(argv[1]) : 0);
    unsetenv("GPTC_CPU"); /* the parent finds the CPU's own best */
    int hw = gptc_cpu_isa(), hw_q = k_linear_q_isa();
    printf("# the CPU's best: %s (quantized path %d)\n", level_names[hw], hw_q);
    static const char *const caps[] = {"avx2", "AVX2", "scalar", "avx512", "", "avx3"};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        char hws[8], hwq[8];
        snprintf(hws, sizeof hws, "%d", hw);
        snprintf(hwq, sizeof hwq, "%d", hw_q);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("GPTC_CPU", caps[i], 1);
            setenv("GPTC_TEST_CPU_CAP_CHILD", hws, 1);
            execl("/proc/self/exe", argv[0], hwq, (char *)NULL);
            _exit(127);
        }
        int st = -1;
        waitpid(pid, &st, 0);
        char name[120];
        snprintf(name, sizeof name, "GPTC_CPU=%s: the child ran its checks and passed", caps[i]);
        CHECK(name, pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    }
    return test_exit();
}
