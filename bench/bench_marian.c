/* bench_marian.c: an encoder-decoder (MarianMTModel) training step (forward + backward
 * + clipping + AdamW) and a teacher-forced forward (inference) in target tokens/s at
 * batch B with sources of S and targets of T positions (random ids, each source's last
 * quarter padding under the mask, each target's last eighth labelled -100); the twin of
 * bench/torch_marian.py (same model, same work). Last line: RESULT impl=gptc ...
 * usage: bench_marian [--preset marian-small] [--batch 16] [--src 48] [--tgt 48] [--steps 3] [--vocab 8000] */
#include "bench_step.h"
#include "gptc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    gptc_openmp_passive(argv); /* as the gptc program: passive OpenMP waiting */
    const char *preset = "marian-small";
    int B = 16, S = 48, T = 48, steps = 3, V = 8000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--preset")) preset = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--src")) S = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tgt")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--vocab")) V = atoi(argv[i + 1]);
        else { fprintf(stderr, "bench_marian: unknown option %s\n", argv[i]); return 2; }
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c;
    if (!ctx || gptc_config_preset(ctx, preset, &c)) bench_die("bench_marian", "preset", ctx);
    c.vocab_size = V;
    c.pad_token_id = c.decoder_start_token_id = V - 1;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0; /* torch_marian.py runs without dropout too */
    gptc_model *m;
    gptc_workspace *wi, *wt;
    gptc_grads *g;
    gptc_adamw *opt;
    int L = S > T ? S : T;
    if (gptc_model_new(ctx, &c, 1, &m) || gptc_workspace_new(ctx, m, B, L, 0, &wi) ||
        gptc_workspace_new(ctx, m, B, L, 1, &wt) || gptc_grads_new(ctx, m, &g) || gptc_adamw_new(ctx, m, &opt))
        bench_die("bench_marian", "setup", ctx);
    size_t NS = (size_t)B * S, N = (size_t)B * T;
    gptc_batch bt;
    memset(&bt, 0, sizeof bt);
    bt.B = B;
    bt.T = T;
    bt.enc_T = S;
    bt.enc_tokens = malloc(NS * sizeof(int32_t));
    bt.enc_mask = malloc(NS * sizeof(float));
    bt.tokens = malloc(N * sizeof(int32_t));
    bt.targets = malloc(N * sizeof(int32_t));
    uint64_t r = 42;
    for (size_t i = 0; i < NS; i++) {
        int t = (int)(i % (size_t)S), real = t < S - S / 4;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        bt.enc_tokens[i] = real ? (int32_t)((r >> 33) % (uint64_t)(V - 1)) : V - 1;
        bt.enc_mask[i] = (float)real;
    }
    for (size_t i = 0; i < N; i++) {
        int t = (int)(i % (size_t)T);
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        bt.targets[i] = t < T - T / 8 ? (int32_t)((r >> 33) % (uint64_t)(V - 1)) : -100;
    }
    for (size_t i = 0; i < N; i++) { /* [start] + labels[:-1], -100 -> pad */
        int t = (int)(i % (size_t)T);
        bt.tokens[i] = !t || bt.targets[i - 1] < 0 ? V - 1 : bt.targets[i - 1];
    }
    float loss;
    double fwd, step;
    bench_forward_and_step("bench_marian", ctx, m, wi, wt, g, opt, &bt, steps, &fwd, &step, &loss);
    printf("RESULT impl=gptc preset=%s batch=%d src=%d tgt=%d forward_ms=%.1f forward_tok_s=%.0f step_ms=%.1f "
           "step_tok_s=%.0f loss=%.4f\n", preset, B, S, T, fwd * 1e3, (double)N / fwd, step * 1e3, (double)N / step,
           (double)loss);
    gptc_workspace_free(wi);
    gptc_workspace_free(wt);
    gptc_grads_free(g);
    gptc_adamw_free(opt);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
