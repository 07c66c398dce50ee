/* test_sample.c: the logits processors keep exactly the tokens they should on hand-made
 * distributions; sampled frequencies match the filtered distribution (chi-square); and
 * gptc_generate: greedy with the KV cache == argmax of full recomputation, the same seed
 * gives the same tokens, stop strings and callbacks end sequences, beam search invariants,
 * generation_config.json round trip. */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "gptc.h"
#include "infer/infer.h"
#include <stdint.h>
#include <unistd.h>

enum { V7 = 7 };

/* "kept" as a bit mask of finite logits */
static unsigned kept(const float *l, int V) {
    unsigned m = 0;
    for (int i = 0; i < V; i++)
        if (l[i] > -INFINITY) m |= 1u << i;
    return m;
}

static void from_probs(float *l, const double *p, int V) {
    for (int i = 0; i < V; i++) l[i] = (float)log(p[i]) + 0.37f; /* an offset: logits, not log-probs */
}

static void test_filters(void) {
    int scratch[64];
    float l[V7];
    /* top-k: ties with the k-th value stay */
    const float base[V7] = {1, 3, 2, 3, 0.5f, -1, 2.5f};
    memcpy(l, base, sizeof l);
    gptc_logits_top_k(l, V7, 3, 1, scratch);
    CHECK("top_k 3", kept(l, V7) == ((1u << 1) | (1u << 3) | (1u << 6)), "kept %#x", kept(l, V7));
    memcpy(l, base, sizeof l);
    gptc_logits_top_k(l, V7, 1, 1, scratch);
    CHECK("top_k 1 keeps ties", kept(l, V7) == ((1u << 1) | (1u << 3)), "kept %#x", kept(l, V7));
    memcpy(l, base, sizeof l);
    gptc_logits_top_k(l, V7, 1, 4, scratch);
    CHECK("top_k min_keep", kept(l, V7) == ((1u << 1) | (1u << 3) | (1u << 6) | (1u << 2)), "kept %#x", kept(l, V7));
    memcpy(l, base, sizeof l);
    gptc_logits_top_k(l, V7, 0, 1, scratch);
    CHECK("top_k 0 is off", kept(l, V7) == 0x7f, "kept %#x", kept(l, V7));

    /* probabilities in a shuffled order: p = .15 .5 .05 .2 .1 */
    const double p5[5] = {0.15, 0.5, 0.05, 0.2, 0.1};
    float l5[5];
    from_probs(l5, p5, 5);
    gptc_logits_top_p(l5, 5, 0.75f, 1, scratch); /* drops cum <= .25: .05, .1 */
    CHECK("top_p 0.75", kept(l5, 5) == 0x0b, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_top_p(l5, 5, 0.6f, 1, scratch); /* drops cum <= .4: .05 .1 .15 */
    CHECK("top_p 0.6", kept(l5, 5) == 0x0a, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_top_p(l5, 5, 0.1f, 3, scratch);
    CHECK("top_p min_keep", kept(l5, 5) == 0x0b, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_top_p(l5, 5, 0.3f, 1, scratch);
    CHECK("top_p 0.3 keeps the top token", kept(l5, 5) == 0x02, "kept %#x", kept(l5, 5));

    from_probs(l5, p5, 5);
    gptc_logits_min_p(l5, 5, 0.25f, 1, scratch); /* p >= .125 */
    CHECK("min_p 0.25", kept(l5, 5) == 0x0b, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_min_p(l5, 5, 0.5f, 1, scratch);
    CHECK("min_p 0.5", kept(l5, 5) == 0x02, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_min_p(l5, 5, 0.5f, 2, scratch);
    CHECK("min_p min_keep", kept(l5, 5) == 0x0a, "kept %#x", kept(l5, 5));

    /* typical: H = 1.3332; |surprisal - H| orders .2 .15 .5 .1 .05, cum .2 .35 .85 ... */
    from_probs(l5, p5, 5);
    gptc_logits_typical_p(l5, 5, 0.5f, 1, scratch);
    CHECK("typical_p 0.5", kept(l5, 5) == 0x0b, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_typical_p(l5, 5, 0.3f, 1, scratch);
    CHECK("typical_p 0.3 drops the top token", kept(l5, 5) == 0x09, "kept %#x", kept(l5, 5));
    from_probs(l5, p5, 5);
    gptc_logits_typical_p(l5, 5, 0.1f, 1, scratch);
    CHECK("typical_p 0.1", kept(l5, 5) == 0x08, "kept %#x", kept(l5, 5));

    float r[4] = {2, -1, 0.5f, 3};
    int32_t ids[3] = {0, 1, 0};
    gptc_logits_repetition_penalty(r, 4, ids, 3, 2.0f);
    CHECK("repetition_penalty", r[0] == 1 && r[1] == -2 && r[2] == 0.5f && r[3] == 3, "%g %g %g %g", r[0], r[1], r[2], r[3]);

    float z[8] = {0};
    int32_t ng[5] = {5, 1, 2, 5, 1};
    gptc_logits_no_repeat_ngram(z, 8, ng, 5, 3);
    CHECK("no_repeat_ngram 3", kept(z, 8) == (0xffu & ~(1u << 2)), "kept %#x", kept(z, 8));
    memset(z, 0, sizeof z);
    int32_t ng2[5] = {3, 4, 3, 4, 3};
    gptc_logits_no_repeat_ngram(z, 8, ng2, 5, 2);
    CHECK("no_repeat_ngram 2", kept(z, 8) == (0xffu & ~(1u << 4)), "kept %#x", kept(z, 8));
    memset(z, 0, sizeof z);
    gptc_logits_no_repeat_ngram(z, 8, ng2, 5, 1);
    CHECK("no_repeat_ngram 1 bans seen tokens", kept(z, 8) == (0xffu & ~(1u << 3 | 1u << 4)), "kept %#x", kept(z, 8));
    memset(z, 0, sizeof z);
    gptc_logits_no_repeat_ngram(z, 8, ng2, 2, 4);
    CHECK("no_repeat_ngram short history", kept(z, 8) == 0xff, "kept %#x", kept(z, 8));

    float pf[4] = {0, 0, 0, 1};
    int32_t hist[3] = {1, 1, 2};
    gptc_logits_presence_frequency(pf, 4, hist, 3, 0.5f, 0.25f, scratch);
    CHECK("presence/frequency", pf[0] == 0 && pf[1] == -1.0f && pf[2] == -0.75f && pf[3] == 1, "%g %g %g %g", pf[0],
          pf[1], pf[2], pf[3]);

    float t2[2] = {2, 4};
    gptc_logits_temperature(t2, 2, 2.0f);
    CHECK("temperature", t2[0] == 1 && t2[1] == 2, "%g %g", t2[0], t2[1]);
}

/* Chi-square of many draws against the filtered distribution, alpha = 0.001. */
static void test_chi_square(void) {
    enum { V = 9, N = 200000 };
    int scratch[2 * V];
    float l[V];
    gptc_rng rng;
    gptc_rng_seed(&rng, 20240601);
    for (int i = 0; i < V; i++) l[i] = (float)(gptc_rng_uniform(&rng) * 3.0);
    gptc_logits_temperature(l, V, 0.8f);
    gptc_logits_top_k(l, V, 7, 1, scratch);
    gptc_logits_top_p(l, V, 0.9f, 1, scratch);
    double p[V], z = 0, m = -INFINITY;
    for (int i = 0; i < V; i++) m = l[i] > m ? l[i] : m;
    for (int i = 0; i < V; i++) z += p[i] = l[i] > -INFINITY ? exp(l[i] - m) : 0;
    int k = 0;
    for (int i = 0; i < V; i++) { p[i] /= z; k += p[i] > 0; }
    long cnt[V] = {0};
    for (int n = 0; n < N; n++) cnt[gptc_logits_sample(l, V, gptc_rng_uniform(&rng))]++;
    double chi = 0;
    long outside = 0;
    for (int i = 0; i < V; i++) {
        if (p[i] == 0) { outside += cnt[i]; continue; }
        double e = p[i] * N;
        chi += (cnt[i] - e) * (cnt[i] - e) / e;
    }
    /* chi-square critical values at alpha = 0.001 for df = 1..8 */
    static const double crit[9] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12};
    CHECK("filters remove tokens here", k >= 3 && k < V, "%d tokens kept", k);
    CHECK("no draw outside the filtered set", outside == 0, "%ld draws", outside);
    CHECK("chi-square of draws vs filtered distribution", chi < crit[k - 1], "chi2 %.2f >= %.2f (df %d)", chi,
          crit[k - 1], k - 1);
    /* and a sampler that ignores the filter would fail: the unfiltered row's statistic */
    CHECK("argmax for u < 0", gptc_logits_sample(l, V, -1) >= 0 && p[gptc_logits_sample(l, V, -1)] > 0, "bad argmax");
}

static int count_cb(void *user, int seq, int32_t t) {
    int *c = user;
    c[seq]++;
    (void)t;
    return 0;
}
static int stop_after_3(void *user, int seq, int32_t t) {
    int *c = user;
    (void)t;
    return ++c[seq] >= 3;
}

static void test_generate(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config cfg = gptc_config_default();
    cfg.n_layer = 2; cfg.n_head = 3; cfg.n_embd = 39; cfg.n_positions = 90; cfg.vocab_size = 117;
    cfg.bos_token_id = cfg.eos_token_id = 116;
    gptc_model *m;
    if (gptc_model_new(ctx, &cfg, 5, &m)) { printf("FAIL model: %s\n", gptc_errmsg(ctx)); return; }
    /* peaky logits: scale the embeddings (tied head) so greedy choices are not near-ties */
    gptc_tensor_info ti;
    gptc_model_tensor(m, 0, &ti);
    for (size_t i = 0; i < ti.numel; i++) ti.data[i] *= 6;
    int32_t prompt[13];
    for (int i = 0; i < 13; i++) prompt[i] = (i * 37 + 11) % 116;
    gptc_gen_params p = gptc_gen_default_params();
    p.max_new_tokens = 50;
    p.n_eos = 0;
    gptc_gen_result *r;
    CHECK("greedy", gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, NULL, NULL, &r) == GPTC_OK, "%s", gptc_errmsg(ctx));
    int32_t seq[13 + 50];
    memcpy(seq, prompt, sizeof prompt);
    int same = r->seqs[0].n_tokens == 50, where = -1;
    gptc_workspace *ws = NULL;
    gptc_workspace_new(ctx, m, 1, 13 + 50, 0, &ws);
    for (int t = 0; t < 50 && same; t++) {
        gptc_forward(ctx, ws, seq, NULL, 1, 13 + t, NULL);
        const float *lg = gptc_workspace_logits(ws) + (size_t)(12 + t) * cfg.vocab_size;
        int best = 0;
        for (int v = 1; v < cfg.vocab_size; v++)
            if (lg[v] > lg[best]) best = v;
        if (best != r->seqs[0].tokens[t]) { same = 0; where = t; }
        seq[13 + t] = best;
    }
    gptc_workspace_free(ws);
    CHECK("greedy with KV cache == argmax of full recomputation (50 tokens)", same, "differs at token %d", where);
    CHECK("finish length", r->seqs[0].finish_reason == GPTC_FINISH_LENGTH, "%d", r->seqs[0].finish_reason);
    gptc_gen_result_free(r);

    /* sampling: same seed, same tokens; another seed, other tokens; batch of 3 */
    p.do_sample = 1; p.top_k = 0; p.temperature = 1.5f; p.num_return_sequences = 3; p.seed = 42;
    p.max_new_tokens = 30;
    gptc_gen_result *a, *b, *c;
    int counts[3] = {0};
    CHECK("sample", gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, count_cb, counts, &a) == GPTC_OK, "%s", gptc_errmsg(ctx));
    gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, NULL, NULL, &b);
    p.seed = 43;
    gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, NULL, NULL, &c);
    int eq_ab = 1, eq_ac = 1, eq_01 = 1;
    for (int s = 0; s < 3; s++)
        for (int t = 0; t < 30; t++) {
            eq_ab &= a->seqs[s].tokens[t] == b->seqs[s].tokens[t];
            eq_ac &= a->seqs[s].tokens[t] == c->seqs[s].tokens[t];
        }
    for (int t = 0; t < 30; t++) eq_01 &= a->seqs[0].tokens[t] == a->seqs[1].tokens[t];
    CHECK("same seed, same tokens", eq_ab, "differ");
    CHECK("another seed, other tokens", !eq_ac, "same");
    CHECK("sequences of one batch differ", !eq_01, "same");
    CHECK("callback per token", counts[0] == 30 && counts[1] == 30 && counts[2] == 30, "%d %d %d", counts[0], counts[1], counts[2]);
    gptc_gen_result_free(a);
    gptc_gen_result_free(b);
    gptc_gen_result_free(c);

    /* the callback ends a sequence; eos ends one */
    int c3[3] = {0};
    p.num_return_sequences = 2;
    gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, stop_after_3, c3, &a);
    CHECK("callback stop", a->seqs[0].n_tokens == 3 && a->seqs[1].n_tokens == 3 &&
          a->seqs[0].finish_reason == GPTC_FINISH_STOP, "%d tokens, reason %d", a->seqs[0].n_tokens, a->seqs[0].finish_reason);
    int32_t eos = a->seqs[0].tokens[1];
    gptc_gen_result_free(a);
    p.seed = 42; p.num_return_sequences = 1;
    gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, NULL, NULL, &a);
    int first = -1;
    for (int t = 0; t < a->seqs[0].n_tokens && first < 0; t++)
        if (a->seqs[0].tokens[t] == a->seqs[0].tokens[5]) first = t;
    p.n_eos = 1; p.eos_token_id[0] = a->seqs[0].tokens[5];
    gptc_generate(ctx, m, NULL, NULL, prompt, 13, &p, NULL, NULL, &b);
    CHECK("eos ends the sequence", b->seqs[0].n_tokens == first + 1 && b->seqs[0].finish_reason == GPTC_FINISH_EOS,
          "%d tokens (want %d), reason %d", b->seqs[0].n_tokens, first + 1, b->seqs[0].finish_reason);
    (void)eos;
    gptc_gen_result_free(a);
    gptc_gen_result_free(b);

    /* beam search: num_beams 1 == greedy; scores sorted; length penalty applied */
    gptc_gen_params q = gptc_gen_default_params();
    q.max_new_tokens = 12; q.n_eos = 0;
    gptc_generate(ctx, m, NULL, NULL, prompt, 13, &q, NULL, NULL, &a);
    q.num_beams = 4; q.num_return_sequences = 4;
    CHECK("beam search", gptc_generate(ctx, m, NULL, NULL, prompt, 13, &q, NULL, NULL, &b) == GPTC_OK, "%s", gptc_errmsg(ctx));
    int sorted = 1;
    for (int s = 1; s < 4; s++) sorted &= b->seqs[s - 1].score >= b->seqs[s].score;
    CHECK("beam scores sorted", sorted, "not sorted");
    double greedy_lp = a->seqs[0].score / 12.0;
    CHECK("best beam scores at least greedy", b->seqs[0].score >= greedy_lp - 1e-5, "%g < %g", b->seqs[0].score, greedy_lp);
    gptc_gen_result_free(a);
    gptc_gen_result_free(b);

    /* errors */
    int32_t big[91] = {0};
    CHECK("prompt longer than the context", gptc_generate(ctx, m, NULL, NULL, big, 91, &q, NULL, NULL, &a) == GPTC_ERANGE &&
          strstr(gptc_errmsg(ctx), "longer than the context"), "%s", gptc_errmsg(ctx));
    q.num_return_sequences = 5;
    CHECK("num_return_sequences > num_beams", gptc_generate(ctx, m, NULL, NULL, prompt, 13, &q, NULL, NULL, &a) == GPTC_EINVAL,
          "%s", gptc_errmsg(ctx));
    /* near the end of the context: stops with "length" */
    gptc_gen_params e = gptc_gen_default_params();
    e.max_new_tokens = 100; e.n_eos = 0;
    CHECK("context end", gptc_generate(ctx, m, NULL, NULL, big, 85, &e, NULL, NULL, &a) == GPTC_OK &&
          a->seqs[0].n_tokens == 5 && a->seqs[0].finish_reason == GPTC_FINISH_LENGTH, "%s", gptc_errmsg(ctx));
    gptc_gen_result_free(a);

    /* a session kept across calls: the second call only prefills the new tokens */
    gptc_session *s;
    gptc_session_new(ctx, m, 1, 0, &s);
    p = gptc_gen_default_params();
    p.max_new_tokens = 6; p.n_eos = 0;
    gptc_generate(ctx, m, s, NULL, prompt, 10, &p, NULL, NULL, &a);
    int held = gptc_session_len(s, 0);
    int32_t longer[30];
    memcpy(longer, prompt, 10 * sizeof(int32_t));
    memcpy(longer + 10, a->seqs[0].tokens, 6 * sizeof(int32_t));
    memcpy(longer + 16, prompt, 13 * sizeof(int32_t));
    gptc_generate(ctx, m, s, NULL, longer, 29, &p, NULL, NULL, &b);
    gptc_generate(ctx, m, NULL, NULL, longer, 29, &p, NULL, NULL, &c);
    int eq = 1;
    for (int t = 0; t < 6; t++) eq &= b->seqs[0].tokens[t] == c->seqs[0].tokens[t];
    CHECK("session reuse", held == 15 && eq, "held %d, equal %d", held, eq);
    gptc_gen_result_free(a);
    gptc_gen_result_free(b);
    gptc_gen_result_free(c);
    gptc_session_free(s);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
}

static void test_config_file(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    char dir[] = "/tmp/gptc_gencfg_XXXXXX";
    if (!mkdtemp(dir)) return;
    gptc_gen_params p = gptc_gen_default_params(), q = gptc_gen_default_params();
    CHECK("missing generation_config.json is fine", gptc_generation_config_load(ctx, dir, &q) == GPTC_OK, "%s", gptc_errmsg(ctx));
    p.do_sample = 1; p.temperature = 0.7f; p.top_k = 40; p.top_p = 0.9f; p.max_new_tokens = 77; p.early_stopping = 2;
    p.n_eos = 2; p.eos_token_id[0] = 3; p.eos_token_id[1] = 9; p.n_stop = 1;
    strcpy(p.stop_strings[0], "\n\n");
    CHECK("save", gptc_generation_config_save(ctx, dir, &p) == GPTC_OK, "%s", gptc_errmsg(ctx));
    CHECK("load", gptc_generation_config_load(ctx, dir, &q) == GPTC_OK, "%s", gptc_errmsg(ctx));
    CHECK("round trip", q.do_sample == 1 && q.temperature == 0.7f && q.top_k == 40 && q.top_p == 0.9f &&
          q.max_new_tokens == 77 && q.early_stopping == 2 && q.n_eos == 2 && q.eos_token_id[1] == 9 &&
          q.n_stop == 1 && !strcmp(q.stop_strings[0], "\n\n"), "fields differ");
    char path[4200];
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"top_p\": 1.5}", f);
    fclose(f);
    CHECK("bad value names the file and field", gptc_generation_config_load(ctx, dir, &q) == GPTC_EFORMAT &&
          strstr(gptc_errmsg(ctx), "top_p") && strstr(gptc_errmsg(ctx), "generation_config.json"), "%s", gptc_errmsg(ctx));
    remove(path);
    rmdir(dir);
    gptc_ctx_free(ctx);
}

int main(void) {
    test_filters();
    test_chi_square();
    test_generate();
    test_config_file();
    return test_exit();
}
