/* fuzz_run.c: libFuzzer target for what a training run reads back on --resume: the first
 * byte picks 0 run.json (gptc_train_opts_load), 1 a checkpoint's trainer_state.json
 * (gptc_ckpt_load_state, for a resume with batch_size 8, seq_len 64, grad_accum 1),
 * 2 a --config file (gptc_run_config_args: every option it gives is "--name", values
 * follow their option).
 * What loads is in the ranges the command line accepts; every error names the file.
 * Corpus: tests/fuzz/corpus_run, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "train/train.h"
#include <math.h>

FUZZ_TARGET(run) {
    static const char *const names[] = {"run.json", "trainer_state.json", "config.json", NULL};
    if (size < 1) return 0;
    int kind = data[0] % 3;
    char path[128];
    if (fuzz_write(names[kind], data + 1, size - 1, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_train_opts o;
    gptc_train_default_opts(&o);
    o.batch_size = 8;
    o.seq_len = 64;
    o.grad_accum = 1;
    gptc_status s;
    if (kind == 0) {
        char buf[64];
        if (!(s = gptc_train_opts_load(ctx, path, &o, buf, sizeof buf))) {
            if (o.data_dir != buf || strlen(buf) >= sizeof buf) abort();
            if (o.batch_size < 1 || o.seq_len < 1 || o.grad_accum < 1 || o.max_steps < 0 || !(o.epochs >= 0) ||
                !(o.sched.lr >= 0) || !(o.sched.min_lr >= 0) || o.sched.warmup < 0 || !(o.weight_decay >= 0) ||
                !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.eps > 0 && o.eps <= 1) ||
                !isfinite(o.grad_clip) || !(o.dropout < 1) || o.eval_every < 0 || o.eval_batches < 1 ||
                o.save_every < 0 || o.keep_last < 1 || o.patience < 0 || o.sample_tokens < 0)
                abort(); /* what loads is in range */
        }
    } else if (kind == 2) {
        char **args;
        size_t n;
        if (!(s = gptc_run_config_args(ctx, path, &args, &n))) {
            for (size_t i = 0; i < n; i++) {
                if (!args[i]) abort();
                /* an option name, then its value unless the next is an option name */
                if (i == 0 && strncmp(args[i], "--", 2)) abort();
            }
            gptc_run_config_args_free(args, n);
        }
    } else {
        run_state rs;
        memset(&rs, 0, sizeof rs);
        if (!(s = gptc_ckpt_load_state(ctx, path, &rs, &o))) {
            if (rs.step < 0 || rs.best_step < 0 || rs.best_step > rs.step || rs.bad_evals < 0 || !(rs.elapsed >= 0) ||
                isnan(rs.best_val))
                abort();
        }
    }
    if (s && !strstr(gptc_errmsg(ctx), names[kind])) abort(); /* every error names the file */
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
