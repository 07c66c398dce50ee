/* bench_train.c: time one GPT-2 training step of libgptc (forward + backward + clip +
 * AdamW) on random tokens; report ms/step, tokens/s, GFLOP/s and peak RSS. One config per
 * process so the peak RSS is that config's. bench/torch_train.py is the PyTorch twin.
 *
 * usage: bench_train [--preset NAME] [--vocab V] [--batch B] [--seq T] [--steps N]
 *                    [--warmup N] [--threads N]
 * The last line is machine-readable for bench/run.sh:
 *   RESULT impl=gptc config=NAME B=.. T=.. params=.. ms=.. ms_mean=.. tok_s=.. gflops=.. rss_mb=..
 * ms, tok_s and gflops are of the best timed step (the machine may be shared), ms_mean the mean.
 * FLOPs per step (stated in BENCHMARKS.md): 6 * B*T * P_mm + 6 * L * B * T^2 * C, where
 * P_mm = weights used in matrix multiplies (L * (12 C^2 with n_inner = 4C) + V*C for the
 * tied lm_head); the second term is causal attention (QK^T and AV, half of T x T, times 3
 * for backward). Layer norms, GELU, softmax, embeddings and AdamW are not counted. */
#include "bench_args.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* as the gptc program: a short OpenMP spin, then sleep */
    const char *preset = "gpt2";
    int B = 4, T = 64, steps = 3, warmup = 1, threads = 0, vocab = 0;
    const bench_opt opts[] = {{"--preset", 's', &preset, "NAME"}, {"--vocab", 'i', &vocab, "V"},
                              {"--batch", 'i', &B, "B"},          {"--seq", 'i', &T, "T"},
                              {"--steps", 'i', &steps, "N"},      {"--warmup", 'i', &warmup, "N"},
                              {"--threads", 'i', &threads, "N"}};
    int rc = bench_args(argc, argv, "bench_train", opts, BENCH_NOPTS(opts));
    if (rc) return rc;
    if (B < 1 || T < 1 || steps < 1 || warmup < 0) {
        fprintf(stderr, "bench_train: batch, seq and steps must be positive\n");
        return 2;
    }
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = threads;
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    if (!ctx) bench_die(NULL, "context");
    gptc_config cfg;
    if (gptc_config_preset(ctx, preset, &cfg) != GPTC_OK) bench_die(ctx, "preset");
    if (vocab > 0) cfg.vocab_size = vocab;
    cfg.embd_pdrop = cfg.attn_pdrop = cfg.resid_pdrop = 0; /* as torch_train.py: no dropout */
    gptc_model *m = NULL;
    if (gptc_model_new(ctx, &cfg, 1337, &m) != GPTC_OK) bench_die(ctx, "gptc_model_new");
    gptc_workspace *ws = NULL;
    gptc_grads *g = NULL;
    gptc_adamw *opt = NULL;
    if (gptc_workspace_new(ctx, m, B, T, 1, &ws) != GPTC_OK || gptc_grads_new(ctx, m, &g) != GPTC_OK ||
        gptc_adamw_new(ctx, m, &opt) != GPTC_OK)
        bench_die(ctx, "workspace");
    gptc_workspace_set_training(ws, 1, 42);

    size_t n = (size_t)B * T;
    int32_t *tok = malloc(n * sizeof *tok), *tgt = malloc(n * sizeof *tgt);
    if (!tok || !tgt) bench_die(NULL, "out of memory");
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((s >> 33) % (uint64_t)cfg.vocab_size);
    }
    for (size_t i = 0; i < n; i++) tgt[i] = (i + 1) % (size_t)T ? tok[i + 1] : tok[i - (size_t)T + 1];

    gptc_adamw_params hp = gptc_adamw_default_params();
    hp.lr = 1e-4f;
    hp.weight_decay = 0.1f;
    double t_total = 0, t_best = 1e300;
    float loss = 0;
    for (int it = 0; it < warmup + steps; it++) {
        double t0 = bench_now();
        gptc_grads_zero(g);
        if (gptc_forward(ctx, ws, tok, tgt, B, T, &loss) != GPTC_OK) bench_die(ctx, "forward");
        if (gptc_backward(ctx, ws, g, 1.0f) != GPTC_OK) bench_die(ctx, "backward");
        gptc_grads_clip(ctx, g, 1.0f);
        if (gptc_adamw_step(ctx, opt, m, g, &hp, it + 1) != GPTC_OK) bench_die(ctx, "adamw");
        double dt = bench_now() - t0;
        if (it >= warmup) {
            t_total += dt;
            if (dt < t_best) t_best = dt;
        }
        fprintf(stderr, "gptc %s step %d: %.1f ms, loss %.4f%s\n", preset, it + 1, dt * 1e3, loss,
                it < warmup ? " (warmup)" : "");
    }
    double L = cfg.n_layer, C = cfg.n_embd, V = cfg.vocab_size;
    double inner = cfg.n_inner > 0 ? cfg.n_inner : 4 * C;
    double p_mm = L * (3 * C * C + C * C + 2 * C * inner) + V * C;
    double flops = 6.0 * (double)n * p_mm + 6.0 * L * B * (double)T * T * C;
    double sec = t_best; /* best step: the machine may be shared */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    gptc_param_counts pc = gptc_model_param_counts(&cfg);
    char be[256] = "";
    gptc_backend_describe(ctx, be, sizeof be);
    printf("gptc: %s (L %d, H %d, C %d, V %d, %zu params), batch %d x %d, %d threads, backend %s\n", preset,
           cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.vocab_size, pc.total, B, T, gptc_ctx_n_threads(ctx), be);
    printf("RESULT impl=gptc config=%s B=%d T=%d params=%zu ms=%.1f ms_mean=%.1f tok_s=%.1f gflops=%.2f rss_mb=%.0f\n",
           preset, B, T, pc.total, sec * 1e3, t_total / steps * 1e3, (double)n / sec, flops / sec * 1e-9,
           ru.ru_maxrss / 1024.0);
    free(tok);
    free(tgt);
    gptc_workspace_free(ws);
    gptc_grads_free(g);
    gptc_adamw_free(opt);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
