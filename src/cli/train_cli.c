/* train_cli.c: trainer options shared by the training commands, and the progress
 * printer for the trainer's events (steps, evaluations with the task metric, early stop). */
#define _GNU_SOURCE
#include "train_cli.h"
#include "cli.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

static volatile int stop_flag;
static double mpi_timeout = 300;
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
    /* every value range-checked here, before anything is loaded or written */
    const double inf = INFINITY;
    if (cli_opt_int_in(argc, argv, i, "--batch-size", 1, 1 << 20, &lv)) { o->batch_size = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--grad-accum", 1, 1 << 20, &lv)) { o->grad_accum = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--max-steps", 0, LONG_MAX, &lv)) { o->max_steps = lv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--epochs", 0, 1e9, CLI_OPEN_LO, &dv)) { o->epochs = dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--lr", 0, 1e3, 0, &dv)) { o->sched.lr = (float)dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--min-lr", 0, 1e3, 0, &dv)) { o->sched.min_lr = (float)dv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--warmup-steps", 0, LONG_MAX, &lv)) { o->sched.warmup = lv; return 1; }
    if (cli_opt_str(argc, argv, i, "--lr-schedule", &sv)) {
        if (!gptc_schedule_parse(sv, &o->sched.kind))
            cli_die(cmd, NULL, "--lr-schedule %s: expected cosine, linear or constant", sv);
        return 1;
    }
    if (cli_opt_float_in(argc, argv, i, "--weight-decay", 0, inf, 0, &dv)) { o->weight_decay = (float)dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--beta1", 0, 1, CLI_OPEN_HI, &dv)) { o->beta1 = (float)dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--beta2", 0, 1, CLI_OPEN_HI, &dv)) { o->beta2 = (float)dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--eps", 0, 1, CLI_OPEN_LO, &dv)) { o->eps = (float)dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--grad-clip", 0, inf, 0, &dv)) { o->grad_clip = (float)dv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--dropout", 0, 1, CLI_OPEN_HI, &dv)) { o->dropout = (float)dv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--seed", 0, LONG_MAX, &lv)) { o->seed = (uint64_t)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--eval-every", 0, INT_MAX, &lv)) { o->eval_every = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--eval-batches", 1, INT_MAX, &lv)) { o->eval_batches = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--save-every", 0, INT_MAX, &lv)) { o->save_every = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--keep-last", 1, INT_MAX, &lv)) { o->keep_last = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--patience", 0, INT_MAX, &lv)) { o->patience = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--threads", 0, 4096, threads)) return 1;
    if (cli_opt_int_in(argc, argv, i, "--zero", 0, 1, &lv)) { o->zero = (int)lv; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--mpi-overlap", 0, 1, &lv)) { o->no_overlap = !lv; return 1; }
    if (cli_opt_float_in(argc, argv, i, "--mpi-timeout", 1, 1e6, 0, &dv)) { mpi_timeout = dv; return 1; }
    return 0;
}

char *train_cli_run_options(void) {
    /* what belongs to this process or this run directory, not to the run's recipe */
    static const char *const skip[] = {"--out", "--resume", "--config", "--json", "--threads", "--mpi-timeout", NULL};
    char *j = cli_record_json(skip);
    if (!j) cli_die("train", NULL, "out of memory");
    return j;
}

void train_cli_fail(const char *cmd, gptc_ctx *ctx, gptc_dist *d) {
    if (d) fprintf(stderr, "gptc %s: error (MPI rank %d of %d): %s\n", cmd, gptc_dist_rank(d), gptc_dist_size(d),
                   gptc_errmsg(ctx));
    else fprintf(stderr, "gptc %s: error: %s\n", cmd, gptc_errmsg(ctx));
    gptc_dist_abort(d, 1); /* the other ranks stop too, now */
    exit(1);
}

gptc_dist *train_cli_dist(const char *cmd, gptc_train_opts *o, long *threads, train_cli_state *cs) {
    gptc_ctx *c0 = cli_ctx(cmd, 1);
    gptc_dist *d;
    if (gptc_dist_open(c0, mpi_timeout, &d)) cli_die(cmd, c0, NULL);
    gptc_ctx_free(c0);
    o->dist = d;
    cs->silent = gptc_dist_rank(d) != 0;
    if (d && *threads == 0) {
        /* --threads is per rank: the cores this process may use, shared by the ranks of
         * this machine unless mpirun bound each to its own */
        cpu_set_t set;
        long mine = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        if (mine >= online) mine /= gptc_dist_local_size(d);
        *threads = mine > 0 ? mine : 1;
    }
    return d;
}

void train_cli_check(const char *cmd, const gptc_train_opts *o) {
    /* what one option cannot check alone (also values from a resumed run.json) */
    if (o->sched.lr >= 0 && o->sched.min_lr > o->sched.lr) {
        fprintf(stderr, "gptc %s: option --min-lr: %g is above --lr %g\n", cmd, o->sched.min_lr, o->sched.lr);
        exit(2);
    }
    if (!isfinite(o->sched.lr) || !isfinite(o->sched.min_lr) || !isfinite(o->epochs) || !isfinite(o->weight_decay) ||
        !(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0) || !isfinite(o->eps) ||
        !(o->grad_clip >= 0) || !isfinite(o->grad_clip) || o->dropout >= 1 || o->max_steps < 0 || o->sched.warmup < 0) {
        fprintf(stderr, "gptc %s: the run's options are out of range (lr %g, min_lr %g, epochs %g, weight_decay %g, "
                        "beta1 %g, beta2 %g, eps %g, grad_clip %g, dropout %g, max_steps %ld, warmup_steps %ld)\n",
                cmd, o->sched.lr, o->sched.min_lr, o->epochs, o->weight_decay, o->beta1, o->beta2, o->eps, o->grad_clip,
                o->dropout, o->max_steps, (long)o->sched.warmup);
        exit(2);
    }
}

void train_cli_event(void *user, const gptc_train_event *ev) {
    train_cli_state *cs = user;
    if (ev->kind == GPTC_EV_INTERRUPTED) cs->interrupted = 1;
    if (ev->kind == GPTC_EV_DONE) cs->done_step = ev->step;
    if (cs->silent) return; /* ranks other than 0 */
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
        cs->interrupted = 1;
        fprintf(stderr, "%s: interrupted at step %ld; checkpoint %s\n", cmd, ev->step, ev->path);
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

void train_cli_print_result(const char *out_dir, const train_cli_state *cs, const char *metric_name, int json) {
    if (cs->silent) return; /* rank > 0: rank 0 reports */
    if (!json) {
        printf("model: %s/model\nmetrics: %s/metrics.jsonl\n", out_dir, out_dir);
        return;
    }
    printf("{\"model\": ");
    char p[4200];
    snprintf(p, sizeof p, "%s/model", out_dir);
    cli_json_string(stdout, p);
    printf(", \"steps\": %ld, \"val_loss\": ", cs->done_step);
    if (isfinite(cs->last_val_loss)) printf("%.6g", cs->last_val_loss);
    else printf("null");
    if (metric_name && isfinite(cs->last_metric)) printf(", \"%s\": %.6g", metric_name, cs->last_metric);
    printf("}\n");
}
