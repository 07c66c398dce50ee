/* train_cli.c: trainer options shared by the training commands, and the progress
 * printer for the trainer's events (steps, evaluations with the task metric, early stop). */
#define _POSIX_C_SOURCE 200809L
#include "train_cli.h"
#include "cli.h"
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile int stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

void train_cli_signals(gptc_train_opts *o) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o->stop = &stop_flag;
}

int train_cli_opt(const char *cmd, int argc, char **argv, int *i, gptc_train_opts *o, long *threads) {
    long lv;
    double dv;
    const char *sv;
    if (cli_opt_int(argc, argv, i, "--batch-size", &lv)) { o->batch_size = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--grad-accum", &lv)) { o->grad_accum = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--max-steps", &lv)) { o->max_steps = lv; return 1; }
    if (cli_opt_float(argc, argv, i, "--epochs", &dv)) { o->epochs = dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--lr", &dv)) { o->sched.lr = (float)dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--min-lr", &dv)) { o->sched.min_lr = (float)dv; return 1; }
    if (cli_opt_int(argc, argv, i, "--warmup-steps", &lv)) { o->sched.warmup = lv; return 1; }
    if (cli_opt_str(argc, argv, i, "--lr-schedule", &sv)) {
        if (!gptc_schedule_parse(sv, &o->sched.kind))
            cli_die(cmd, NULL, "--lr-schedule %s: expected cosine, linear or constant", sv);
        return 1;
    }
    if (cli_opt_float(argc, argv, i, "--weight-decay", &dv)) { o->weight_decay = (float)dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--beta1", &dv)) { o->beta1 = (float)dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--beta2", &dv)) { o->beta2 = (float)dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--eps", &dv)) { o->eps = (float)dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--grad-clip", &dv)) { o->grad_clip = (float)dv; return 1; }
    if (cli_opt_float(argc, argv, i, "--dropout", &dv)) { o->dropout = (float)dv; return 1; }
    if (cli_opt_int(argc, argv, i, "--seed", &lv)) { o->seed = (uint64_t)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--eval-every", &lv)) { o->eval_every = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--eval-batches", &lv)) { o->eval_batches = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--save-every", &lv)) { o->save_every = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--keep-last", &lv)) { o->keep_last = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--patience", &lv)) { o->patience = (int)lv; return 1; }
    if (cli_opt_int(argc, argv, i, "--threads", threads)) return 1;
    return 0;
}

void train_cli_event(void *user, const gptc_train_event *ev) {
    train_cli_state *cs = user;
    char extra[200];
    const char *cmd = cs->cmd ? cs->cmd : "train";
    switch (ev->kind) {
    case GPTC_EV_START:
        if (ev->val_tokens || !strcmp(cmd, "train"))
            fprintf(stderr, "%s: %zu parameters, %zu train tokens, %zu val tokens, steps %ld..%ld\n", cmd, ev->n_params,
                    ev->train_tokens, ev->val_tokens, ev->step + 1, ev->max_steps);
        else
            fprintf(stderr, "%s: %zu parameters, %zu training rows, steps %ld..%ld\n", cmd, ev->n_params,
                    ev->train_tokens, ev->step + 1, ev->max_steps);
        cli_progress_start(&cs->bar, cmd, (double)ev->max_steps, "steps");
        cs->bar.t0 = cli_now();
        cs->start_step = ev->step;
        cs->last_metric = cs->last_val_loss = NAN;
        break;
    case GPTC_EV_STEP:
        snprintf(extra, sizeof extra, "step %ld loss %.4f lr %.3g %.0f tok/s", ev->step, ev->train_loss, ev->lr,
                 ev->tokens_per_s);
        cs->bar.total = (double)(ev->max_steps - cs->start_step);
        cli_progress_update(&cs->bar, (double)(ev->step - cs->start_step), extra, ev->step == ev->max_steps);
        break;
    case GPTC_EV_EVAL:
        cli_progress_clear(&cs->bar);
        cs->last_val_loss = ev->val_loss;
        cs->last_metric = ev->metric;
        if (ev->metric_name)
            fprintf(stderr, "eval: step %ld val_loss %.4f %s %.4f (best %.4f)\n", ev->step, ev->val_loss,
                    ev->metric_name, ev->metric, ev->best_metric);
        else
            fprintf(stderr, "eval: step %ld val_loss %.4f (best %.4f)\n", ev->step, ev->val_loss, ev->best_val_loss);
        break;
    case GPTC_EV_EARLY_STOP:
        cli_progress_clear(&cs->bar);
        if (ev->metric_name)
            fprintf(stderr, "%s: early stop at step %ld: no better %s in the last evaluations (best %.4f)\n", cmd,
                    ev->step, ev->metric_name, ev->best_metric);
        else
            fprintf(stderr, "%s: early stop at step %ld: no better val loss in the last evaluations (best %.4f)\n", cmd,
                    ev->step, ev->best_val_loss);
        break;
    case GPTC_EV_INTERRUPTED:
        cli_progress_clear(&cs->bar);
        fprintf(stderr, "%s: interrupted at step %ld; checkpoint %s; continue with --resume\n", cmd, ev->step, ev->path);
        break;
    case GPTC_EV_DONE:
        cli_progress_clear(&cs->bar);
        cs->done_step = ev->step;
        fprintf(stderr, "%s: done at step %ld (%.1f s)\n", cmd, ev->step, ev->elapsed_s);
        break;
    case GPTC_EV_SAMPLE:
        if (cs->tok && cs->ctx) {
            char *text;
            size_t len;
            if (gptc_tokenizer_decode(cs->ctx, cs->tok, ev->sample, ev->n_sample, &text, &len) == GPTC_OK) {
                for (size_t i = 0; i < len; i++)
                    if (text[i] == '\n' || text[i] == '\r') text[i] = ' ';
                fprintf(stderr, "sample: %s\n", text);
                free(text);
            }
        }
        break;
    default:
        break;
    }
}
