/* test_session.c: the KV-cache session gives the logits of a full forward pass at every
 * position (prefill in chunks, single steps, several sequences at once, copies), on a
 * random model whose sizes are not multiples of 8. */
#include "harness.h"
#include "gptc.h"
#include <stdint.h>

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config cfg = gptc_config_default();
    cfg.n_layer = 3; cfg.n_head = 3; cfg.n_embd = 45; cfg.n_positions = 150; cfg.vocab_size = 203;
    cfg.bos_token_id = cfg.eos_token_id = 202;
    gptc_model *m;
    if (gptc_model_new(ctx, &cfg, 11, &m)) { printf("FAIL model: %s\n", gptc_errmsg(ctx)); return 1; }
    enum { T = 141 };
    int32_t tok[T];
    uint64_t st = 99;
    for (int i = 0; i < T; i++) { st = st * 6364136223846793005ull + 1442695040888963407ull; tok[i] = (int32_t)((st >> 33) % 203); }
    int V = cfg.vocab_size;
    float *full = malloc(sizeof(float) * T * V), *got = malloc(sizeof(float) * V * 3);
    gptc_workspace *ws = NULL;
    CHECK("workspace", gptc_workspace_new(ctx, m, 1, T, 0, &ws) == GPTC_OK, "%s", gptc_errmsg(ctx));
    CHECK("full forward", gptc_forward(ctx, ws, tok, NULL, 1, T, NULL) == GPTC_OK, "%s", gptc_errmsg(ctx));
    memcpy(full, gptc_workspace_logits(ws), sizeof(float) * T * V);
    gptc_workspace_free(ws);

    gptc_session *s;
    CHECK("session new", gptc_session_new(ctx, m, 3, 0, &s) == GPTC_OK, "%s", gptc_errmsg(ctx));
    /* sequence 0: prefill 130 tokens (two chunks), then 11 single steps */
    double worst = 0;
    CHECK("prefill", gptc_session_prefill(ctx, s, 0, tok, 130, got) == GPTC_OK, "%s", gptc_errmsg(ctx));
    double e = test_relerr(got, full + (size_t)129 * V, V);
    worst = e > worst ? e : worst;
    for (int p = 130; p < T; p++) {
        int seq = 0;
        gptc_session_step(ctx, s, &seq, &tok[p], 1, got);
        e = test_relerr(got, full + (size_t)p * V, V);
        worst = e > worst ? e : worst;
    }
    CHECK("kv cache == full forward (prefill + steps)", worst < 1e-5, "worst rel err %.3g", worst);
    /* sequences 1 and 2 decoded together from token 0, 2 a copy of 1 after 5 tokens */
    worst = 0;
    gptc_session_prefill(ctx, s, 1, tok, 5, got);
    CHECK("copy", gptc_session_copy(ctx, s, 2, 1) == GPTC_OK, "%s", gptc_errmsg(ctx));
    for (int p = 5; p < 40; p++) {
        int seqs[2] = {2, 1};
        int32_t two[2] = {tok[p], tok[p]};
        gptc_session_step(ctx, s, seqs, two, 2, got);
        for (int r = 0; r < 2; r++) {
            e = test_relerr(got + (size_t)r * V, full + (size_t)p * V, V);
            worst = e > worst ? e : worst;
        }
    }
    CHECK("batched steps == full forward", worst < 1e-5, "worst rel err %.3g", worst);
    CHECK("length", gptc_session_len(s, 1) == 40 && gptc_session_len(s, 0) == T, "len %d", gptc_session_len(s, 1));
    int seq = 0;
    int32_t one = 1;
    for (int p = T; p < 150; p++) gptc_session_step(ctx, s, &seq, &one, 1, got);
    CHECK("full context is an error", gptc_session_step(ctx, s, &seq, &one, 1, got) == GPTC_ERANGE, "no error");
    int32_t bad = 203;
    CHECK("token out of range", gptc_session_prefill(ctx, s, 1, &bad, 1, got) == GPTC_ERANGE, "no error");
    gptc_session_reset(s, -1);
    CHECK("reset", gptc_session_len(s, 0) == 0, "len %d", gptc_session_len(s, 0));

    /* attention maps: rows sum to one, causal */
    float *att = malloc(sizeof(float) * 3 * 20 * 20);
    CHECK("attention", gptc_model_attention(ctx, m, tok, 20, 2, att) == GPTC_OK, "%s", gptc_errmsg(ctx));
    double worst_sum = 0, above = 0;
    for (int h = 0; h < 3; h++)
        for (int i = 0; i < 20; i++) {
            double sum = 0;
            for (int j = 0; j < 20; j++) {
                sum += att[(h * 20 + i) * 20 + j];
                if (j > i) above += fabs(att[(h * 20 + i) * 20 + j]);
            }
            worst_sum = fmax(worst_sum, fabs(sum - 1));
        }
    CHECK("attention rows sum to one and are causal", worst_sum < 1e-5 && above == 0, "sum err %g above %g", worst_sum, above);
    free(att);
    gptc_session_free(s);
    gptc_model_free(m);
    free(full);
    free(got);
    gptc_ctx_free(ctx);
    return test_exit();
}
