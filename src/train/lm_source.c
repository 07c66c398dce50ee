/* lm_source.c: the data source of pre-training: token shards made by gptc prepare.
 * Training batches are random windows of train.bin (or, sequential, the next B*T+1
 * tokens); validation batches are consecutive windows from the start of val.bin. */
#include "train.h"
#include <string.h>

/* One micro-batch of B rows of T inputs and targets shifted by one: random windows, or
 * (sequential) the next B*T+1 tokens from *pos, starting over when they run out. */
static gptc_status lm_train_batch(gptc_ctx *ctx, void *user, gptc_batch *bt, uint64_t *rng, uint64_t *pos) {
    const gptc_lm_source *ls = user;
    int B = bt->B, T = bt->T;
    int32_t *inp = bt->tokens, *tgt = bt->targets;
    const gptc_shard *sh = &ls->train;
    size_t n = sh->n_tokens, need = (size_t)B * T + 1;
    (void)ctx;
    if (ls->sequential) {
        if (*pos + need > n) *pos = 0;
        size_t p = (size_t)*pos;
        for (size_t i = 0; i < (size_t)B * T; i++) {
            inp[i] = gptc_shard_token(sh, p + i);
            tgt[i] = gptc_shard_token(sh, p + i + 1);
        }
        *pos += (uint64_t)B * T;
        return GPTC_OK;
    }
    size_t span = n - (size_t)T; /* start in [0, n - T - 1] */
    for (int b = 0; b < B; b++) {
        size_t p = (size_t)(gptc_splitmix64(rng) % span);
        for (int t = 0; t < T; t++) {
            inp[b * T + t] = gptc_shard_token(sh, p + (size_t)t);
            tgt[b * T + t] = gptc_shard_token(sh, p + (size_t)t + 1);
        }
    }
    return GPTC_OK;
}

/* Validation: consecutive windows from the start of the val split (a fixed subset). */
static size_t lm_n_val(void *user, int B, int T) {
    const gptc_lm_source *ls = user;
    if (ls->val.n_tokens < (size_t)T + 1) return ls->val.n_tokens >= 2;
    size_t windows = (ls->val.n_tokens - 1) / (size_t)T;
    return (windows + (size_t)B - 1) / (size_t)B;
}

static gptc_status lm_val_batch(gptc_ctx *ctx, void *user, size_t i, gptc_batch *bt) {
    const gptc_lm_source *ls = user;
    int B = bt->B, T = bt->T;
    int32_t *inp = bt->tokens, *tgt = bt->targets;
    const gptc_shard *v = &ls->val;
    (void)ctx;
    int r = 0;
    for (size_t pos = i * (size_t)B * T; r < B && pos + 1 < v->n_tokens; r++, pos += (size_t)T)
        for (int t = 0; t < T; t++) {
            int ok = pos + (size_t)t + 1 < v->n_tokens;
            inp[r * T + t] = ok ? gptc_shard_token(v, pos + (size_t)t) : 0;
            tgt[r * T + t] = ok ? gptc_shard_token(v, pos + (size_t)t + 1) : -100;
        }
    bt->B = r;
    return GPTC_OK;
}

gptc_status gptc_lm_source_open(gptc_ctx *ctx, const char *data_dir, int B, int T, int sequential, int with_val,
                                gptc_lm_source *ls, gptc_data_source *d) {
    char path[4300];
    memset(ls, 0, sizeof *ls);
    memset(d, 0, sizeof *d);
    gptc_status s;
    snprintf(path, sizeof path, "%s/train.bin", data_dir);
    if ((s = gptc_shard_open(ctx, path, &ls->train))) return s;
    if (ls->train.n_tokens < (size_t)B * T + 1) {
        s = gptc_fail(ctx, GPTC_EINVAL, "%s: %zu tokens is smaller than one batch (%d x %d + 1 = %zu tokens); "
                                        "use a smaller --batch-size or --seq-len, or more data",
                      path, ls->train.n_tokens, B, T, (size_t)B * T + 1);
        gptc_lm_source_close(ls);
        return s;
    }
    if (with_val) {
        snprintf(path, sizeof path, "%s/val.bin", data_dir);
        if ((s = gptc_shard_open(ctx, path, &ls->val))) {
            gptc_lm_source_close(ls);
            return s;
        }
        if (ls->val.n_tokens < 2) {
            gptc_lm_source_close(ls);
            return gptc_fail(ctx, GPTC_EINVAL, "%s: the validation split is empty; prepare with --val-fraction > 0 "
                                               "or train with --eval-every 0", path);
        }
    }
    ls->sequential = sequential;
    d->user = ls;
    d->train_rows = ls->train.n_tokens / (size_t)T;
    d->train_batch = lm_train_batch;
    d->n_val_batches = lm_n_val;
    d->val_batch = lm_val_batch;
    return GPTC_OK;
}

void gptc_lm_source_close(gptc_lm_source *ls) {
    gptc_shard_close(&ls->train);
    gptc_shard_close(&ls->val);
}
