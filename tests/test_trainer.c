/* test_trainer.c: the trainer's seams: the hook between backward and clipping sees every
 * optimizer step's accumulated gradients (and can stop the run), a process that is not
 * the writer trains without writing anything, and a data source asking for batch
 * fields the model does not take is refused. */
#include "harness.h"
#include "train/train.h"
#include <sys/stat.h>
#include <unistd.h>

typedef struct hook_state {
    int calls, fail_at;
    double sumsq;
} hook_state;

static gptc_status hook(gptc_ctx *ctx, void *user, gptc_grads *g) {
    hook_state *h = user;
    size_t n;
    float *d = gptc_grads_data(g, &n);
    for (size_t i = 0; i < n; i++) h->sumsq += (double)d[i] * d[i];
    if (++h->calls == h->fail_at) return gptc_fail(ctx, GPTC_EINTERNAL, "hook stops the run at step %d", h->calls);
    return GPTC_OK;
}

static size_t no_val(void *user, int B, int T) { return 0; }
static gptc_status masked_batch(gptc_ctx *ctx, void *user, gptc_batch *b, uint64_t *rng, uint64_t *pos) {
    return GPTC_OK;
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    const char *tmp = getenv("GPTC_TEST_TMP");
    char dir[600], data[700], out[700], path[800];
    snprintf(dir, sizeof dir, "%s/test_trainer.%d", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(dir, 0700);
    mkdir(data, 0700);
    int32_t ids[3000];
    uint64_t st = 5;
    for (int i = 0; i < 3000; i++) ids[i] = (int32_t)(gptc_splitmix64(&st) % 97);
    snprintf(path, sizeof path, "%s/train.bin", data);
    gptc_status s = gptc_shard_write(ctx, path, ids, 2500, 1, 97);
    snprintf(path, sizeof path, "%s/val.bin", data);
    s = s ? s : gptc_shard_write(ctx, path, ids + 2500, 500, 1, 97);
    CHECK("shards", !s, "%s", gptc_errmsg(ctx));

    gptc_train_opts o;
    gptc_train_default_opts(&o);
    o.cfg.n_layer = 1; o.cfg.n_head = 3; o.cfg.n_embd = 21; o.cfg.n_positions = 32; o.cfg.vocab_size = 97;
    o.cfg.bos_token_id = o.cfg.eos_token_id = -1;
    o.data_dir = data;
    o.batch_size = 3; o.seq_len = 13; o.grad_accum = 2; o.max_steps = 5;
    o.eval_every = 0; o.sample_tokens = 0;
    hook_state h = {0, 0, 0};
    o.after_backward = hook;
    o.hook_user = &h;

    snprintf(out, sizeof out, "%s/reader", dir);
    o.out_dir = out;
    o.writer = 0;
    s = gptc_train_run(ctx, &o, NULL, NULL);
    struct stat sb;
    CHECK("a non-writer trains", !s && h.calls == 5 && h.sumsq > 0, "status %d (%s), %d hook calls", s, gptc_errmsg(ctx), h.calls);
    CHECK("a non-writer writes nothing", stat(out, &sb) != 0, "%s exists", out);

    snprintf(out, sizeof out, "%s/writer", dir);
    o.out_dir = out;
    o.writer = 1;
    hook_state h2 = {0, 0, 0};
    o.hook_user = &h2;
    s = gptc_train_run(ctx, &o, NULL, NULL);
    snprintf(path, sizeof path, "%s/model/model.safetensors", out);
    CHECK("the writer writes the run", !s && stat(path, &sb) == 0, "%s", gptc_errmsg(ctx));
    CHECK("the hook sees the same gradients in both", h2.calls == 5 && h2.sumsq == h.sumsq, "%d calls, %g vs %g",
          h2.calls, h2.sumsq, h.sumsq);

    snprintf(out, sizeof out, "%s/stopped", dir);
    o.out_dir = out;
    hook_state h3 = {0, 3, 0};
    o.hook_user = &h3;
    s = gptc_train_run(ctx, &o, NULL, NULL);
    CHECK("a failing hook stops the run with its error", s == GPTC_EINTERNAL && strstr(gptc_errmsg(ctx), "step 3"),
          "status %d: %s", s, gptc_errmsg(ctx));

    gptc_data_source d = {0};
    d.fields = GPTC_BATCH_TOKEN_TYPES;
    d.train_rows = 10;
    d.train_batch = masked_batch;
    d.n_val_batches = no_val;
    o.data = &d;
    o.after_backward = NULL;
    snprintf(out, sizeof out, "%s/fields", dir);
    o.out_dir = out;
    s = gptc_train_run(ctx, &o, NULL, NULL);
    CHECK("batch fields the model does not take are refused", s == GPTC_ENOTSUP && strstr(gptc_errmsg(ctx), "token types 1"),
          "status %d: %s", s, gptc_errmsg(ctx));
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0) printf("# could not remove %s\n", dir);
    gptc_ctx_free(ctx);
    return test_exit();
}
