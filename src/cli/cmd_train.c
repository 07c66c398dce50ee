/* cmd_train.c: `gptc train`: pre-training from prepared token shards. Parses options,
 * installs SIGINT/SIGTERM handlers (checkpoint, then exit), prints progress and
 * samples, and draws the loss plot at the end. The loop is train/trainer.c. */
#include "cli.h"
#include "train_cli.h"
#include "gptc.h"
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
    "  --init DIR|REPO         start from this model directory\n"
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
    "  --config FILE           options from a JSON object with the flags' names ({\"lr\": 0.001,\n"
    "                          \"preset\": \"tiny\"}); the command line overrides it; a run's\n"
    "                          run.json is one: --config OTHER/run.json --out NEW repeats it\n"
    TRAIN_CLI_MPI_USAGE
    "\n"
    "SIGINT/SIGTERM write a checkpoint and exit; `gptc train --resume OUT` continues the\n"
    "run bit-identically (same thread count).\n"
    "`mpirun -np N gptc train ...` trains on N ranks (data parallel; rank 0 writes OUT).\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc prepare --input corpus.txt --out data && gptc train --data data --out run --max-steps 300\n";

int cmd_plot_run(const char *run_dir, const char *out_path, char *err, size_t err_cap);

int cmd_train(int argc, char **argv) {
    cli_config_expand("train", &argc, &argv);
    cli_record_start();
    gptc_train_opts o;
    gptc_train_default_opts(&o);
    const char *preset = NULL, *loader = NULL, *resume = NULL;
    long threads = 0, arch[6] = {0, 0, 0, 0, 0, 0};
    long lv;
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
        if (cli_opt_int_in(argc, argv, &i, "--seq-len", 1, 1 << 20, &lv)) { o.seq_len = (int)lv; continue; }
        if (cli_opt_str(argc, argv, &i, "--loader", &loader)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--sample-tokens", 0, 1 << 20, &lv)) { o.sample_tokens = (int)lv; continue; }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (train_cli_opt("train", argc, argv, &i, &o, &threads)) continue;
        cli_bad_option("train", argv[i]);
    }
    train_cli_check("train", &o);
    if (resume) {
        if (o.out_dir && strcmp(o.out_dir, resume) != 0) cli_die("train", NULL, "--resume %s and --out %s differ", resume, o.out_dir);
        o.out_dir = resume;
        o.resume = 1;
    }
    if (!o.data_dir || !o.out_dir) {
        fprintf(stderr, "gptc train: --data and --out are required\ntry `gptc train --help`\n");
        return 2;
    }
    {
        /* the data directory is what `gptc prepare` writes: say so when it is not */
        char p[4200];
        snprintf(p, sizeof p, "%s/train.bin", o.data_dir);
        if (!gptc_file_exists(p))
            cli_die("train", NULL, "--data %s: no train.bin there (make one with `gptc prepare --input TEXT --out %s`)",
                    o.data_dir, o.data_dir);
    }
    if (loader) {
        if (!strcmp(loader, "sequential")) o.sequential = 1;
        else if (strcmp(loader, "random")) cli_die("train", NULL, "--loader %s: expected random or sequential", loader);
    }
    train_cli_state cs;
    memset(&cs, 0, sizeof cs);
    gptc_dist *dist = train_cli_dist("train", &o, &threads, &cs);
    gptc_ctx *ctx = cli_ctx("train", (int)threads);
    if (preset && o.init_dir) cli_die("train", NULL, "--preset and --init exclude each other");
    o.init_dir = cli_model("train", o.init_dir);
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
    cs.cmd = "train";
    cs.ctx = ctx;
    char tok_dir[4200];
    snprintf(tok_dir, sizeof tok_dir, "%s/tokenizer", o.data_dir);
    gptc_ctx *tctx = cli_ctx("train", 1);
    if (gptc_tokenizer_load(tctx, tok_dir, &cs.tok) == GPTC_OK) {
        int32_t eos = gptc_tokenizer_special_id(cs.tok, "<|endoftext|>");
        if (eos >= 0) o.cfg.bos_token_id = o.cfg.eos_token_id = eos;
    }
    gptc_ctx_free(tctx);
    if (!cs.silent && gptc_mkdirs(ctx, o.out_dir)) cli_die("train", ctx, NULL);
    train_cli_signals(&o);
    char *run_options = train_cli_run_options();
    o.run_options = run_options;
    gptc_status s = gptc_train_run(ctx, &o, train_cli_event, &cs);
    if (s) train_cli_fail("train", ctx, dist);
    gptc_dist_close(dist);
    free(run_options);
    if (cs.silent) { /* rank > 0: rank 0 reports */
        gptc_tokenizer_free(cs.tok);
        gptc_ctx_free(ctx);
        return cs.interrupted ? 130 : 0;
    }
    if (cs.interrupted) {
        /* no OUT/model yet: say how to go on, exit as an interrupted program does */
        fprintf(stderr, "train: continue with: gptc train --resume %s\n", o.out_dir);
        gptc_tokenizer_free(cs.tok);
        gptc_ctx_free(ctx);
        return 130;
    }
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
