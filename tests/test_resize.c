/* test_resize.c: gptc_model_resize_vocab on tiny models, tied and untied: the logits of
 * the old ids are unchanged (exactly), the new rows are the mean of the old ones (so a
 * new id's logit is the old logits' mean, on the reference kernels), config's vocab_size follows, and the bad
 * calls fail cleanly. */
#include "gptc.h"
#include "harness.h"

/* Exactness is checked on the reference kernels: a BLAS GEMM may block a wider matrix
 * differently (OpenBLAS: differences of ~4e-9 on an untied head), which is rounding, not
 * resizing. */
static void run(int tied) {
    char name[96];
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.reference_kernels = 1;
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    gptc_config c = gptc_config_default();
    c.n_layer = 2, c.n_head = 2, c.n_embd = 32, c.n_positions = 16, c.vocab_size = 61;
    c.bos_token_id = c.eos_token_id = 60;
    c.tie_word_embeddings = tied;
    gptc_model *m = NULL;
    gptc_workspace *ws = NULL;
    if (gptc_model_new(ctx, &c, 7, &m)) {
        CHECK("resize_model_new", 0, "%s", gptc_errmsg(ctx));
        return;
    }
    enum { T = 9, V0 = 61, V1 = 64 };
    int32_t tok[T] = {1, 5, 60, 33, 2, 59, 0, 17, 44};
    static float before[T * V0];
    gptc_workspace_new(ctx, m, 1, T, 0, &ws);
    gptc_forward(ctx, ws, tok, NULL, 1, T, NULL);
    memcpy(before, gptc_workspace_logits(ws), sizeof before);
    gptc_workspace_free(ws);
    ws = NULL;
    gptc_status st = gptc_model_resize_vocab(ctx, m, V1);
    snprintf(name, sizeof name, "resize_ok_%s", tied ? "tied" : "untied");
    CHECK(name, st == GPTC_OK && gptc_model_config(m)->vocab_size == V1, "%s", gptc_errmsg(ctx));
    gptc_workspace_new(ctx, m, 1, T, 0, &ws);
    gptc_forward(ctx, ws, tok, NULL, 1, T, NULL);
    const float *after = gptc_workspace_logits(ws);
    int same = 1;
    double worst = 0, dmax = 0;
    for (int t = 0; t < T; t++) {
        double mean = 0;
        for (int v = 0; v < V0; v++) {
            same &= after[t * V1 + v] == before[t * V0 + v];
            if (fabs(after[t * V1 + v] - before[t * V0 + v]) > dmax) dmax = fabs(after[t * V1 + v] - before[t * V0 + v]);
            mean += before[t * V0 + v];
        }
        mean /= V0;
        for (int v = V0; v < V1; v++) {
            double d = fabs(after[t * V1 + v] - mean);
            if (d > worst) worst = d;
        }
    }
    snprintf(name, sizeof name, "resize_old_logits_exact_%s", tied ? "tied" : "untied");
    CHECK(name, same, "logits of old ids changed (by up to %g)", dmax);
    snprintf(name, sizeof name, "resize_new_logit_is_mean_%s", tied ? "tied" : "untied");
    CHECK(name, worst < 1e-5, "new-id logit off the old logits' mean by %g", worst);
    /* the new rows of wte (and lm_head) are the old rows' column means */
    int rows_ok = 1, found = 0;
    for (size_t i = 0; i < gptc_model_n_tensors(m); i++) {
        gptc_tensor_info ti;
        gptc_model_tensor(m, i, &ti);
        if (strcmp(ti.name, "wte.weight") && strcmp(ti.name, "lm_head.weight")) continue;
        found++;
        rows_ok &= ti.shape[0] == V1;
        for (int k = 0; k < c.n_embd; k++) {
            double s = 0;
            for (int v = 0; v < V0; v++) s += ti.data[v * c.n_embd + k];
            for (int v = V0; v < V1; v++) rows_ok &= ti.data[v * c.n_embd + k] == (float)(s / V0);
        }
    }
    snprintf(name, sizeof name, "resize_new_rows_mean_%s", tied ? "tied" : "untied");
    CHECK(name, rows_ok && found == (tied ? 1 : 2), "new rows are not the mean (%d matrices)", found);
    snprintf(name, sizeof name, "resize_shrink_refused_%s", tied ? "tied" : "untied");
    CHECK(name, gptc_model_resize_vocab(ctx, m, V0) == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "smaller"), "%s",
          gptc_errmsg(ctx));
    gptc_workspace_free(ws);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
}

int main(void) {
    run(1);
    run(0);
    return test_exit();
}
