/* bench_step.h: the timing loop of bench/bench_bert.c and bench/bench_marian.c: a
 * forward on an inference workspace (one warm-up, then the mean of `steps`) and a
 * training step (forward + backward + clipping at 1.0 + AdamW; one warm-up step, then
 * the mean of `steps`). Exits naming the failing call. */
#ifndef GPTC_BENCH_STEP_H
#define GPTC_BENCH_STEP_H
#include "gptc.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench_die(const char *prog, const char *w, gptc_ctx *ctx) {
    fprintf(stderr, "%s: %s: %s\n", prog, w, ctx ? gptc_errmsg(ctx) : "failed");
    exit(1);
}

/* Seconds per forward (*fwd) and per training step (*step); the last step's loss. */
static void bench_forward_and_step(const char *prog, gptc_ctx *ctx, gptc_model *m, gptc_workspace *wi,
                                   gptc_workspace *wt, gptc_grads *g, gptc_adamw *opt, const gptc_batch *bt, int steps,
                                   double *fwd, double *step, float *loss) {
    gptc_adamw_params hp = gptc_adamw_default_params();
    if (gptc_forward_batch(ctx, wi, bt, NULL)) bench_die(prog, "forward", ctx);
    double t0 = bench_now();
    for (int s = 0; s < steps; s++)
        if (gptc_forward_batch(ctx, wi, bt, NULL)) bench_die(prog, "forward", ctx);
    *fwd = (bench_now() - t0) / steps;
    *step = 0;
    for (int s = 0; s <= steps; s++) {
        double t1 = bench_now();
        gptc_grads_zero(g);
        if (gptc_forward_batch(ctx, wt, bt, loss) || gptc_backward(ctx, wt, g, 1.0f)) bench_die(prog, "train step", ctx);
        gptc_grads_clip(ctx, g, 1.0f);
        if (gptc_adamw_step(ctx, opt, m, g, &hp, s + 1)) bench_die(prog, "adamw", ctx);
        if (s) *step += bench_now() - t1;
    }
    *step /= steps;
}
#endif
