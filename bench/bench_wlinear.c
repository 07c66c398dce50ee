/* bench_wlinear.c: k_linear_w on GPT-2 124M's matrices (c_attn 768x2304, c_fc 768x3072,
 * c_proj 3072x768 as Conv1D [in, out], the tied head 50257x768 as [out, in]) with F32,
 * BF16 and F16 weights. Enough copies of each matrix rotate that they do not fit in the
 * caches, as in decoding a whole model. One line per case:
 *   wlinear W=768x2304 layout=in_out dtype=BF16 rows=1 us=.. weight_gbs=.. gflops=..
 * weight_gbs: bytes of weights as stored read per second; gflops: 2 * rows * in * out / s.
 * --footprint-mb: bytes rotated through per case (default 320: past any L3; a small value
 * such as 4 keeps the weights in cache and shows the kernels' compute rate).
 * usage: bench_wlinear [--rows 1,64] [--threads N] [--seconds 0.3] [--footprint-mb 320] */
#include "bench_args.h"
#include "kernels/kernels.h"
#include "kernels/wlinear.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* as the gptc program: a short OpenMP spin, then sleep */
    const char *rows_opt = "1,64";
    int threads = 0;
    double seconds = 0.3, footprint_mb = 320;
    const bench_opt opts[] = {{"--rows", 's', &rows_opt, "1,64"}, {"--threads", 'i', &threads, "N"},
                              {"--seconds", 'd', &seconds, "0.3"}, {"--footprint-mb", 'd', &footprint_mb, "320"}};
    int rc = bench_args(argc, argv, "bench_wlinear", opts, BENCH_NOPTS(opts));
    if (rc) return rc;
    char rows_arg[64];
    snprintf(rows_arg, sizeof rows_arg, "%s", rows_opt);
    gptc_ctx_params p = gptc_ctx_default_params();
    p.n_threads = threads;
    gptc_ctx *ctx = gptc_ctx_new(&p);
    char desc[1024];
    if (gptc_backend_describe(ctx, desc, sizeof desc) != GPTC_OK) bench_die(ctx, "backend");
    printf("wlinear: %d threads, conversion path %d (2 avx512, 1 avx2, 0 scalar), backend %s\n",
           gptc_ctx_n_threads(ctx), k_linear_w_isa(), desc);
    int rows[8], n_rows = 0;
    for (char *s = strtok(rows_arg, ","); s && n_rows < 8; s = strtok(NULL, ",")) rows[n_rows++] = atoi(s);
    static const struct { int in, out; gptc_wlayout layout; const char *name; } shapes[] = {
        {768, 2304, GPTC_W_IN_OUT, "768x2304"},
        {768, 3072, GPTC_W_IN_OUT, "768x3072"},
        {3072, 768, GPTC_W_IN_OUT, "3072x768"},
        {768, 50257, GPTC_W_OUT_IN, "50257x768"},
    };
    const size_t footprint = (size_t)(footprint_mb * 1048576.0);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int I = shapes[s].in, O = shapes[s].out;
        size_t n = (size_t)I * O;
        float *master = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) master[i] = frand() * 0.05f;
        for (int dt = GPTC_F32; dt <= GPTC_BF16; dt++) {
            size_t es = dt == GPTC_F32 ? 4 : 2, bytes = n * es;
            int copies = (int)((footprint + bytes - 1) / bytes);
            if (copies < 1) copies = 1;
            char **w = malloc(sizeof(char *) * copies);
            for (int c = 0; c < copies; c++) {
                w[c] = malloc(bytes);
                if (dt == GPTC_F32) memcpy(w[c], master, bytes);
                else
                    for (size_t i = 0; i < n; i++) {
                        uint16_t h = dt == GPTC_BF16 ? gptc_f32_to_bf16(master[i]) : gptc_f32_to_f16(master[i]);
                        memcpy(w[c] + 2 * i, &h, 2);
                    }
            }
            for (int r = 0; r < n_rows; r++) {
                int N = rows[r];
                float *x = malloc(sizeof(float) * (size_t)N * I), *out = malloc(sizeof(float) * (size_t)N * O);
                for (size_t i = 0; i < (size_t)N * I; i++) x[i] = frand();
                double best = 1e30, start = omp_get_wtime();
                for (int pass = 0; pass < 4 || (omp_get_wtime() - start < seconds && pass < 1000); pass++) {
                    double t0 = omp_get_wtime();
                    for (int c = 0; c < copies; c++) {
                        gptc_wdesc d = {w[c], (gptc_dtype)dt, shapes[s].layout, I, O, NULL};
                        k_linear_w(ctx, out, x, &d, NULL, N);
                    }
                    double t = (omp_get_wtime() - t0) / copies;
                    if (pass > 0 && t < best) best = t; /* pass 0 warms up */
                }
                printf("wlinear W=%s layout=%s dtype=%s rows=%d us=%.1f weight_gbs=%.1f gflops=%.1f\n",
                       shapes[s].name, shapes[s].layout == GPTC_W_IN_OUT ? "in_out" : "out_in",
                       dt == GPTC_F32 ? "F32" : dt == GPTC_F16 ? "F16" : "BF16", N, best * 1e6, bytes / best / 1e9,
                       2.0 * N * n / best / 1e9);
                fflush(stdout);
                free(x), free(out);
            }
            for (int c = 0; c < copies; c++) free(w[c]);
            free(w);
        }
        free(master);
    }
    gptc_ctx_free(ctx);
    return 0;
}
