/* cmd_train.c: `gptc train`: pre-training from prepared token shards. Parses options,
 * installs SIGINT/SIGTERM handlers (checkpoint, then exit), prints progress and
 * samples, and draws the loss plot at the end. The loop is train/trainer.c. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "progress.h"
#include "../train/train.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc train --data DIR --out DIR [model] [options]\n"
    "       gptc train --resume OUT [--data DIR] [options]\n"
    "\n"
    "Pre-trains a GPT on token shards made by `gptc prepare` (DIR/train.bin, DIR/val.bin).\n"
    "OUT receives metrics.jsonl, loss.svg, checkpoints/step-N/ (model directory +\n"
    "optimizer.safetensors + trainer_state.json) and model/ (the best model by val loss\n"
    "when evaluation ran, else the last).\n"
    "\n"
    "model (default: --preset small with the data's vocabulary):\n"
    "  --init DIR              start from this model directory\n"
    "  --preset NAME           tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl\n"
    "  --n-layer N --n-head N --n-embd N --n-positions N --vocab-size N\n"
    "data and batches:\n"
    "  --batch-size N          sequences per micro-batch (default 8)\n"
    "  --seq-len N             tokens per sequence (default 128)\n"
    "  --grad-accum N          micro-batches per optimizer step (default 1)\n"
    "  --loader random|sequential  random windows (seeded; default) or the split in order\n"
    "  --max-steps N           optimizer steps (default: from --epochs)\n"
    "  --epochs F              passes over the train split (default 1)\n"
    "optimizer and schedule (Hugging Face semantics):\n"
    "  --lr F (6e-4)  --min-lr F (0)  --warmup-steps N (0)  --lr-schedule cosine|linear|constant\n"
    "  --weight-decay F (0.1)  --beta1 F (0.9)  --beta2 F (0.95)  --eps F (1e-8)\n"
    "  --grad-clip F (1.0; 0 = off)  --dropout F (default: the model's)\n"
    "evaluation and checkpoints:\n"
    "  --eval-every N (100; 0 = off)  --eval-batches N (10)  --sample-tokens N (48)\n"
    "  --save-every N (0: only at evaluations and the end)  --keep-last K (2)\n"
    "  --patience N            stop after N evaluations without a better val loss\n"
    "other:\n"
    "  --seed N (1337)  --threads N (all cores)  --resume OUT\n"
    "\n"
    "SIGINT/SIGTERM write a checkpoint and exit; `gptc train --resume OUT` continues the\n"
    "run bit-identically (same thread count).\n"
    "\n"
    "example:\n"
    "  gptc prepare --input corpus.txt --out data && gptc train --data data --out run --max-steps 300\n";

static volatile int stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

typedef struct cb_state {
    cli_progress bar;
    gptc_tokenizer *tok;
    gptc_ctx *ctx;
    long start_step;
} cb_state;

static void on_event(void *user, const gptc_train_event *ev) {
    cb_state *cs = user;
    char extra[160];
    switch (ev->kind) {
    case GPTC_EV_START:
        fprintf(stderr, "train: %zu parameters, %zu train tokens, %zu val tokens, steps %ld..%ld\n", ev->n_params,
                ev->train_tokens, ev->val_tokens, ev->step + 1, ev->max_steps);
        cli_progress_start(&cs->bar, "train", (double)ev->max_steps, "steps");
        cs->bar.t0 = cli_now();
        cs->start_step = ev->step;
        break;
    case GPTC_EV_STEP:
        snprintf(extra, sizeof extra, "step %ld loss %.4f lr %.3g %.0f tok/s", ev->step, ev->train_loss, ev->lr,
                 ev->tokens_per_s);
        /* rate and ETA count the steps of this process */
        cs->bar.total = (double)(ev->max_steps - cs->start_step);
        cli_progress_update(&cs->bar, (double)(ev->step - cs->start_step), extra, ev->step == ev->max_steps);
        break;
    case GPTC_EV_EVAL:
        cli_progress_clear(&cs->bar);
        fprintf(stderr, "eval: step %ld val_loss %.4f (best %.4f)\n", ev->step, ev->val_loss, ev->best_val_loss);
        break;
    case GPTC_EV_SAMPLE:
        if (cs->tok) {
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
    case GPTC_EV_CHECKPOINT:
        break;
    case GPTC_EV_EARLY_STOP:
        cli_progress_clear(&cs->bar);
        fprintf(stderr, "train: early stop at step %ld: no better val loss in the last evaluations (best %.4f)\n",
                ev->step, ev->best_val_loss);
        break;
    case GPTC_EV_INTERRUPTED:
        cli_progress_clear(&cs->bar);
        fprintf(stderr, "train: interrupted at step %ld; checkpoint %s; continue with --resume\n", ev->step, ev->path);
        break;
    case GPTC_EV_DONE:
        cli_progress_clear(&cs->bar);
        fprintf(stderr, "train: done at step %ld\n", ev->step);
        break;
    }
}

int cmd_plot_run(const char *run_dir, const char *out_path, char *err, size_t err_cap);

int cmd_train(int argc, char **argv) {
    gptc_train_opts o;
    gptc_train_default_opts(&o);
    const char *preset = NULL, *loader = NULL, *sched = NULL, *resume = NULL;
    long threads = 0, arch[6] = {0, 0, 0, 0, 0, 0};
    long lv;
    double dv;
    int json = 0;
    static char saved_data[4096];
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--resume", &resume)) {
            /* the run's own options first; what the command line gives again overrides */
            char p[4200];
            gptc_ctx *c0 = cli_ctx("train", 1);
            snprintf(p, sizeof p, "%s/run.json", resume);
            if (gptc_train_opts_load(c0, p, &o, saved_data, sizeof saved_data)) cli_die("train", c0, "--resume");
            gptc_ctx_free(c0);
        }
    }
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--data", &o.data_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &o.out_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--init", &o.init_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--resume", &resume)) continue;
        if (cli_opt_str(argc, argv, &i, "--preset", &preset)) continue;
        if (cli_opt_int(argc, argv, &i, "--n-layer", &arch[0])) continue;
        if (cli_opt_int(argc, argv, &i, "--n-head", &arch[1])) continue;
        if (cli_opt_int(argc, argv, &i, "--n-embd", &arch[2])) continue;
        if (cli_opt_int(argc, argv, &i, "--n-positions", &arch[3])) continue;
        if (cli_opt_int(argc, argv, &i, "--vocab-size", &arch[4])) continue;
        if (cli_opt_int(argc, argv, &i, "--batch-size", &lv)) { o.batch_size = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--seq-len", &lv)) { o.seq_len = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--grad-accum", &lv)) { o.grad_accum = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--max-steps", &lv)) { o.max_steps = lv; continue; }
        if (cli_opt_float(argc, argv, &i, "--epochs", &dv)) { o.epochs = dv; continue; }
        if (cli_opt_str(argc, argv, &i, "--loader", &loader)) continue;
        if (cli_opt_float(argc, argv, &i, "--lr", &dv)) { o.sched.lr = (float)dv; continue; }
        if (cli_opt_float(argc, argv, &i, "--min-lr", &dv)) { o.sched.min_lr = (float)dv; continue; }
        if (cli_opt_int(argc, argv, &i, "--warmup-steps", &lv)) { o.sched.warmup = lv; continue; }
        if (cli_opt_str(argc, argv, &i, "--lr-schedule", &sched)) continue;
        if (cli_opt_float(argc, argv, &i, "--weight-decay", &dv)) { o.weight_decay = (float)dv; continue; }
        if (cli_opt_float(argc, argv, &i, "--beta1", &dv)) { o.beta1 = (float)dv; continue; }
        if (cli_opt_float(argc, argv, &i, "--beta2", &dv)) { o.beta2 = (float)dv; continue; }
        if (cli_opt_float(argc, argv, &i, "--eps", &dv)) { o.eps = (float)dv; continue; }
        if (cli_opt_float(argc, argv, &i, "--grad-clip", &dv)) { o.grad_clip = (float)dv; continue; }
        if (cli_opt_float(argc, argv, &i, "--dropout", &dv)) { o.dropout = (float)dv; continue; }
        if (cli_opt_int(argc, argv, &i, "--seed", &lv)) { o.seed = (uint64_t)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--threads", &threads)) continue;
        if (cli_opt_int(argc, argv, &i, "--eval-every", &lv)) { o.eval_every = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--eval-batches", &lv)) { o.eval_batches = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--sample-tokens", &lv)) { o.sample_tokens = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--save-every", &lv)) { o.save_every = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--keep-last", &lv)) { o.keep_last = (int)lv; continue; }
        if (cli_opt_int(argc, argv, &i, "--patience", &lv)) { o.patience = (int)lv; continue; }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("train", argv[i]);
    }
    if (resume) {
        if (o.out_dir && strcmp(o.out_dir, resume) != 0) cli_die("train", NULL, "--resume %s and --out %s differ", resume, o.out_dir);
        o.out_dir = resume;
        o.resume = 1;
    }
    if (!o.data_dir || !o.out_dir) {
        fprintf(stderr, "gptc train: --data and --out are required\ntry `gptc train --help`\n");
        return 2;
    }
    if (loader) {
        if (!strcmp(loader, "sequential")) o.sequential = 1;
        else if (strcmp(loader, "random")) cli_die("train", NULL, "--loader %s: expected random or sequential", loader);
    }
    if (sched && !gptc_schedule_parse(sched, &o.sched.kind))
        cli_die("train", NULL, "--lr-schedule %s: expected cosine, linear or constant", sched);
    gptc_ctx *ctx = cli_ctx("train", (int)threads);
    if (preset && o.init_dir) cli_die("train", NULL, "--preset and --init exclude each other");
    if (gptc_config_preset(ctx, preset ? preset : "small", &o.cfg)) cli_die("train", ctx, "--preset");
    if (!preset && !arch[4]) o.cfg.vocab_size = 0; /* the data's vocabulary */
    int *fields[5] = {&o.cfg.n_layer, &o.cfg.n_head, &o.cfg.n_embd, &o.cfg.n_positions, &o.cfg.vocab_size};
    for (int k = 0; k < 5; k++)
        if (arch[k]) {
            *fields[k] = (int)arch[k];
            o.arch_given = 1;
        }
    if (preset) o.arch_given = 1;
    if (o.cfg.n_positions < o.seq_len && !arch[3] && !o.init_dir) o.cfg.n_positions = o.seq_len;

    /* the data's tokenizer: carried into every model directory, decodes samples */
    cb_state cs = {0};
    cs.ctx = ctx;
    char tok_dir[4200];
    snprintf(tok_dir, sizeof tok_dir, "%s/tokenizer", o.data_dir);
    gptc_ctx *tctx = cli_ctx("train", 1);
    if (gptc_tokenizer_load(tctx, tok_dir, &cs.tok) == GPTC_OK) {
        int32_t eos = gptc_tokenizer_special_id(cs.tok, "<|endoftext|>");
        if (eos >= 0) o.cfg.bos_token_id = o.cfg.eos_token_id = eos;
    }
    gptc_ctx_free(tctx);
    if (gptc_mkdirs(ctx, o.out_dir)) cli_die("train", ctx, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop = &stop_flag;
    gptc_status s = gptc_train_run(ctx, &o, on_event, &cs);
    if (s) cli_die("train", ctx, NULL);
    char plot[4200], err[512];
    snprintf(plot, sizeof plot, "%s/loss.svg", o.out_dir);
    if (cmd_plot_run(o.out_dir, plot, err, sizeof err) != 0) fprintf(stderr, "train: plot: %s\n", err);
    if (json) printf("{\"model\": \"%s/model\", \"metrics\": \"%s/metrics.jsonl\", \"plot\": \"%s\"}\n", o.out_dir,
                     o.out_dir, plot);
    else printf("model: %s/model\nmetrics: %s/metrics.jsonl\nplot: %s\n", o.out_dir, o.out_dir, plot);
    gptc_tokenizer_free(cs.tok);
    gptc_ctx_free(ctx);
    return 0;
}
