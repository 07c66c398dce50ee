/* bench_marian.c: an encoder-decoder (MarianMTModel) training step (forward + backward
 * + clipping + AdamW) and a teacher-forced forward (inference) in target tokens/s at
 * batch B with sources of S and targets of T positions (random ids, each source's last
 * quarter padding under the mask, each target's last eighth labelled -100); the twin of
 * bench/torch_marian.py (same model, same work). Last line: RESULT impl=gptc ...
 * --task translate: batched translation (gptc_translate_batch) of --sentences sources of
 * --min-src to --max-src ids (source i: min + (7 i) mod (max - min + 1) ids, id t of it
 * 1 + (131 i + 17 t) mod (V - 2), then eos 0) in batches of --batch, greedy and then beam
 * search with 4 beams, --max-new tokens each (no eos: every sentence runs the whole
 * length, so both sides do the same work); sentences/s and new tokens/s, the mean of
 * --steps runs after one warm-up. --save DIR writes the random model there first (for
 * torch_marian.py --model DIR: the same weights on both sides); --model DIR translates
 * with the model of DIR instead (--preset and --vocab unused). Sentence 0's greedy and
 * beam tokens are printed (greedy_first, beam4_first) before the RESULT line.
 * usage: bench_marian [--task train|translate] [--preset marian-small] [--batch 16] [--src 48] [--tgt 48]
 *        [--steps 3] [--vocab 8000] [--sentences 64] [--min-src 20] [--max-src 40] [--max-new 32] [--save DIR]
 *        [--model DIR] */
#include "bench_step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds per call of gptc_translate_batch over the sources (a warm-up, then the mean of
 * steps runs); *tokens: the new tokens of one run. */
static double time_translate(gptc_ctx *ctx, const gptc_model *m, const int32_t *const *src, const int *n_src, int n,
                             int B, const gptc_gen_params *p, int steps, long *tokens, const char *first) {
    gptc_gen_result **r = calloc((size_t)n, sizeof *r);
    if (!r) bench_die(NULL, "out of memory");
    double t = 0;
    for (int s = 0; s <= steps; s++) {
        double t0 = bench_now();
        if (gptc_translate_batch(ctx, m, src, n_src, (size_t)n, B, p, r)) bench_die(ctx, "translate");
        if (s) t += bench_now() - t0;
        *tokens = 0;
        if (s == steps) { /* sentence 0's tokens, to set beside torch_marian.py's */
            fputs(first, stdout);
            for (int t = 0; t < r[0]->seqs[0].n_tokens; t++) printf(" %d", r[0]->seqs[0].tokens[t]);
            fputc('\n', stdout);
        }
        for (int i = 0; i < n; i++) {
            *tokens += r[i]->seqs[0].n_tokens;
            gptc_gen_result_free(r[i]);
        }
    }
    free(r);
    return t / steps;
}

static int translate_bench(gptc_ctx *ctx, const gptc_model *m, const char *preset, int n, int lo, int hi, int B,
                           int max_new, int steps) {
    int V = gptc_model_config(m)->vocab_size;
    int32_t **src = malloc((size_t)n * sizeof *src);
    int *n_src = malloc((size_t)n * sizeof *n_src);
    if (!src || !n_src) bench_die(NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        n_src[i] = lo + (7 * i) % (hi - lo + 1);
        if (!(src[i] = malloc((size_t)n_src[i] * sizeof **src))) bench_die(NULL, "out of memory");
        for (int t = 0; t < n_src[i] - 1; t++) src[i][t] = 1 + (131 * i + 17 * t) % (V - 2);
        src[i][n_src[i] - 1] = 0;
    }
    gptc_gen_params p = gptc_gen_default_params();
    p.max_new_tokens = max_new;
    p.n_eos = 0; /* no eos: every sentence decodes max_new tokens */
    long tok_g, tok_b;
    double g = time_translate(ctx, m, (const int32_t *const *)src, n_src, n, B, &p, steps, &tok_g, "greedy_first");
    p.num_beams = 4;
    double b = time_translate(ctx, m, (const int32_t *const *)src, n_src, n, B, &p, steps, &tok_b, "beam4_first");
    printf("RESULT impl=gptc task=translate preset=%s sentences=%d src=%d-%d batch=%d max_new=%d greedy_s=%.3f "
           "greedy_sent_s=%.2f greedy_tok_s=%.0f beam4_s=%.3f beam4_sent_s=%.2f beam4_tok_s=%.0f\n", preset, n, lo, hi,
           B, max_new, g, n / g, (double)tok_g / g, b, n / b, (double)tok_b / b);
    for (int i = 0; i < n; i++) free(src[i]);
    free(src);
    free(n_src);
    return 0;
}

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* as the gptc program: a short OpenMP spin, then sleep */
    const char *preset = "marian-small", *task = "train", *save = NULL, *model = NULL;
    int B = 16, S = 48, T = 48, steps = 3, V = 8000, n_sent = 64, lo = 20, hi = 40, max_new = 32;
    const bench_opt opts[] = {{"--task", 's', &task, "train|translate"}, {"--preset", 's', &preset, "NAME"},
                              {"--batch", 'i', &B, "N"}, {"--src", 'i', &S, "N"}, {"--tgt", 'i', &T, "N"},
                              {"--steps", 'i', &steps, "N"}, {"--vocab", 'i', &V, "N"},
                              {"--sentences", 'i', &n_sent, "N"}, {"--min-src", 'i', &lo, "N"},
                              {"--max-src", 'i', &hi, "N"}, {"--max-new", 'i', &max_new, "N"},
                              {"--save", 's', &save, "DIR"}, {"--model", 's', &model, "DIR"}};
    int rc = bench_args(argc, argv, "bench_marian", opts, BENCH_NOPTS(opts));
    if (rc) return rc;
    int translate = !strcmp(task, "translate");
    const char *bad = !translate && strcmp(task, "train") ? "--task must be train or translate"
                      : B < 1 || S < 1 || T < 1 ? "--batch, --src and --tgt must be at least 1"
                      : steps < 1 ? "--steps must be at least 1"
                      : V < 3 ? "--vocab must be at least 3"
                      : n_sent < 1 ? "--sentences must be at least 1"
                      : lo < 1 || hi < lo ? "--min-src must be at least 1 and at most --max-src"
                      : max_new < 1 ? "--max-new must be at least 1" : NULL;
    if (bad) {
        fprintf(stderr, "bench_marian: %s\n", bad);
        bench_usage(opts, BENCH_NOPTS(opts));
        return 2;
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c;
    if (!ctx || gptc_config_preset(ctx, preset, &c)) bench_die(ctx, "preset");
    gptc_model *m;
    if (translate && model && gptc_model_load(ctx, model, &m)) bench_die(ctx, "--model");
    if (translate && model) c = *gptc_model_config(m);
    if (translate && (hi > c.n_positions || max_new + 1 > c.n_positions)) {
        fprintf(stderr, "bench_marian: --max-src %d and --max-new %d + 1 must fit the preset's %d positions\n", hi,
                max_new, c.n_positions);
        return 2;
    }
    if (!model) c.vocab_size = V;
    c.pad_token_id = c.decoder_start_token_id = V - 1;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0; /* torch_marian.py runs without dropout too */
    if (translate) {
        if (!model && gptc_model_new(ctx, &c, 1, &m)) bench_die(ctx, "setup");
        if (save && gptc_model_save(ctx, m, save, GPTC_F32)) bench_die(ctx, "--save");
        rc = translate_bench(ctx, m, preset, n_sent, lo, hi, B, max_new, steps);
        gptc_model_free(m);
        gptc_ctx_free(ctx);
        return rc;
    }
    gptc_workspace *wi, *wt;
    gptc_grads *g;
    gptc_adamw *opt;
    int L = S > T ? S : T;
    if (gptc_model_new(ctx, &c, 1, &m) || gptc_workspace_new(ctx, m, B, L, 0, &wi) ||
        gptc_workspace_new(ctx, m, B, L, 1, &wt) || gptc_grads_new(ctx, m, &g) || gptc_adamw_new(ctx, m, &opt))
        bench_die(ctx, "setup");
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
    bench_forward_and_step(ctx, m, wi, wt, g, opt, &bt, steps, &fwd, &step, &loss);
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
