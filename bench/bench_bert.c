/* bench_bert.c: a BERT encoder's forward (inference) and a BertForPreTraining training
 * step (forward + backward + clipping + AdamW) in tokens/s at batch B x T, random ids,
 * a padding mask (each row's last eighth is padding), ~15% of positions labelled; the
 * twin of bench/torch_bert.py (same model, same work). Last line: RESULT impl=gptc ...
 * usage: bench_bert [--preset bert-mini] [--batch 32] [--seq 128] [--steps 3] [--vocab 30522] */
#include "bench_step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* as the gptc program: a short OpenMP spin, then sleep */
    const char *preset = "bert-mini";
    int B = 32, T = 128, steps = 3, V = 30522;
    const bench_opt opts[] = {{"--preset", 's', &preset, "NAME"}, {"--batch", 'i', &B, "N"}, {"--seq", 'i', &T, "N"},
                              {"--steps", 'i', &steps, "N"}, {"--vocab", 'i', &V, "N"}};
    int rc = bench_args(argc, argv, "bench_bert", opts, BENCH_NOPTS(opts));
    if (rc) return rc;
    if (B < 1 || T < 8 || steps < 1 || V < 2) {
        fprintf(stderr, "bench_bert: --batch and --steps must be positive, --seq at least 8, --vocab at least 2\n");
        return 2;
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c;
    if (!ctx || gptc_config_preset(ctx, preset, &c)) bench_die(ctx, "preset");
    c.vocab_size = V;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0; /* torch_bert.py runs without dropout too */
    gptc_model *m;
    gptc_workspace *wi, *wt;
    gptc_grads *g;
    gptc_adamw *opt;
    if (gptc_model_new(ctx, &c, 1, &m) || gptc_workspace_new(ctx, m, B, T, 0, &wi) ||
        gptc_workspace_new(ctx, m, B, T, 1, &wt) || gptc_grads_new(ctx, m, &g) || gptc_adamw_new(ctx, m, &opt))
        bench_die(ctx, "setup");
    size_t N = (size_t)B * T;
    gptc_batch bt;
    memset(&bt, 0, sizeof bt);
    bt.B = B;
    bt.T = T;
    bt.tokens = malloc(N * sizeof(int32_t));
    bt.targets = malloc(N * sizeof(int32_t));
    bt.token_types = malloc(N * sizeof(int32_t));
    bt.attention_mask = malloc(N * sizeof(float));
    bt.labels = malloc((size_t)B * sizeof(int32_t));
    if (!bt.tokens || !bt.targets || !bt.token_types || !bt.attention_mask || !bt.labels) bench_die(NULL, "out of memory");
    uint64_t r = 42;
    for (size_t i = 0; i < N; i++) {
        int t = (int)(i % (size_t)T), real = t < T - T / 8;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        bt.tokens[i] = real ? (int32_t)((r >> 33) % (uint64_t)V) : 0;
        bt.token_types[i] = t >= T / 2;
        bt.attention_mask[i] = (float)real;
        bt.targets[i] = real && (r >> 20) % 100 < 15 ? bt.tokens[i] : -100;
    }
    for (int b = 0; b < B; b++) bt.labels[b] = b & 1;
    float loss;
    double fwd, step;
    bench_forward_and_step(ctx, m, wi, wt, g, opt, &bt, steps, &fwd, &step, &loss);
    printf("RESULT impl=gptc preset=%s batch=%d seq=%d forward_ms=%.1f forward_tok_s=%.0f step_ms=%.1f step_tok_s=%.0f "
           "loss=%.4f\n", preset, B, T, fwd * 1e3, (double)N / fwd, step * 1e3, (double)N / step, (double)loss);
    free(bt.tokens);
    free(bt.targets);
    free(bt.token_types);
    free(bt.attention_mask);
    free(bt.labels);
    gptc_workspace_free(wi);
    gptc_workspace_free(wt);
    gptc_grads_free(g);
    gptc_adamw_free(opt);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
