/* cmd_train.c: `gptc train`: pre-training from prepared token shards (GPT) or from the
 * sentence-pair examples of `gptc prepare --arch bert` (BERT: masked LM + next
 * sentence prediction, the masking drawn at train time). Parses options,
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
    "Pre-trains a GPT on token shards made by `gptc prepare` (DIR/train.bin, DIR/val.bin),\n"
    "or a BERT (masked LM + next sentence prediction) on the examples of `gptc prepare --arch\n"
    "bert` (DIR/train.jsonl, DIR/val.jsonl, DIR/tokenizer with [MASK]).\n"
    "OUT receives metrics.jsonl, loss.svg, checkpoints/step-N/ (model directory +\n"
    "optimizer.safetensors + trainer_state.json) and model/ (the best model by val loss\n"
    "when evaluation ran, else the last).\n"
    "\n"
    "model (default: --preset small with the data's vocabulary):\n"
    "  --init DIR|REPO         start from this model directory\n"
    "  --preset NAME           tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl; BERT data:\n"
    "                          bert-tiny (default), bert-mini, bert-small, bert-base, bert-large\n"
    "  --n-layer N --n-head N --n-embd N --n-positions N --vocab-size N\n"
    "data and batches:\n"
    "  --batch-size N          sequences per micro-batch (default 8)\n"
    "  --seq-len N             tokens per sequence (default 128)\n"
    "  --grad-accum N          micro-batches per optimizer step (default 1)\n"
    "  --loader random|sequential  random windows (seeded; default) or the split in order\n"
    "  --max-steps N           optimizer steps (default: from --epochs)\n"
    "  --epochs F              passes over the train split (default 1)\n"
    "BERT (DataCollatorForLanguageModeling; give them again with --resume):\n"
    "  --mlm-probability F     share of tokens predicted (default 0.15: 80% [MASK], 10% random, 10% kept)\n"
    "  --whole-word-mask       mask whole words (a token and its ## pieces) as DataCollatorForWholeWordMask\n"
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
    "  gptc prepare --input corpus.txt --out data && gptc train --data data --out run --max-steps 300\n"
    "  gptc prepare --arch bert --input corpus.txt --tokenizer wp/ --out bdata --seq-len 128\n"
    "  gptc train --data bdata --out brun --preset bert-mini --seq-len 128 --max-steps 1000\n";

int cmd_plot_run(const char *run_dir, const char *out_path, char *err, size_t err_cap);

/* BERT pre-training: the model (--init, or a BERT preset with the tokenizer's
 * vocabulary), the examples of DIR/train.jsonl (and val.jsonl) and the masking, from the
 * data's WordPiece tokenizer ([MASK]; [CLS], [SEP], [PAD] never masked; ## pieces). */
typedef struct bert_run {
    gptc_pretrain_data *train, *val;
    gptc_pretrain_source *src;
    unsigned char *cont;
    int32_t special[4];
} bert_run;

static void bert_setup(gptc_ctx *ctx, gptc_train_opts *o, const char *preset, const long *arch,
                       const gptc_tokenizer *tok, double mlm_prob, int wwm, bert_run *br) {
    if (!tok || gptc_tokenizer_kind(tok) != GPTC_TOKENIZER_WORDPIECE)
        cli_die("train", NULL, "--data %s: BERT pre-training needs the data's WordPiece tokenizer in %s/tokenizer "
                "(made by `gptc prepare --arch bert`)", o->data_dir, o->data_dir);
    gptc_tokenizer_roles r;
    gptc_tokenizer_roles_get(tok, &r);
    if (r.mask < 0) cli_die("train", NULL, "%s/tokenizer: no [MASK] token", o->data_dir);
    gptc_config cfg;
    if (o->init_dir && !o->resume) {
        gptc_model *m;
        if (gptc_model_load(ctx, o->init_dir, &m)) cli_die_model("train", ctx, o->init_dir);
        cfg = *gptc_model_config(m);
        if (cfg.arch != GPTC_ARCH_BERT || cfg.head != GPTC_HEAD_LM)
            cli_die("train", NULL, "--init %s: BERT pre-training needs a BertForPreTraining or BertForMaskedLM model "
                    "(gptc init --arch bert)", o->init_dir);
        o->model = m;
        o->init_dir = NULL;
    } else {
        if (gptc_config_preset(ctx, preset ? preset : "bert-tiny", &cfg)) cli_die("train", ctx, "--preset");
        if (cfg.arch != GPTC_ARCH_BERT) cli_die("train", NULL, "--preset %s is not a BERT preset (the data is BERT's)", preset);
        int *fields[5] = {&cfg.n_layer, &cfg.n_head, &cfg.n_embd, &cfg.n_positions, &cfg.vocab_size};
        for (int k = 0; k < 5; k++)
            if (arch[k]) *fields[k] = (int)arch[k];
        if (!arch[4]) cfg.vocab_size = (int)gptc_tokenizer_n_vocab(tok);
        if (!arch[3] && cfg.n_positions < o->seq_len) cfg.n_positions = o->seq_len;
        cfg.pad_token_id = r.pad >= 0 && r.pad < cfg.vocab_size ? r.pad : -1;
        o->cfg = cfg;
    }
    if ((size_t)cfg.vocab_size < gptc_tokenizer_n_vocab(tok))
        cli_die("train", NULL, "the model's vocab_size %d is smaller than the tokenizer's %zu ids", cfg.vocab_size,
                gptc_tokenizer_n_vocab(tok));
    char p[4200];
    snprintf(p, sizeof p, "%s/train.jsonl", o->data_dir);
    if (gptc_pretrain_read(ctx, p, &cfg, o->seq_len, &br->train)) cli_die("train", ctx, NULL);
    snprintf(p, sizeof p, "%s/val.jsonl", o->data_dir);
    if (o->eval_every > 0 && gptc_file_exists(p) && gptc_pretrain_read(ctx, p, &cfg, o->seq_len, &br->val))
        cli_die("train", ctx, NULL);
    gptc_mlm_params mp = gptc_mlm_default_params();
    mp.mlm_probability = (float)mlm_prob;
    mp.mask_token_id = r.mask;
    mp.vocab_size = (int)gptc_tokenizer_n_vocab(tok);
    int ns = 0;
    int32_t roles[3] = {r.cls, r.sep, r.pad};
    for (int k = 0; k < 3; k++)
        if (roles[k] >= 0) br->special[ns++] = roles[k];
    mp.special = br->special;
    mp.n_special = ns;
    if (wwm) {
        /* continuation pieces: a lone "##x" decodes to itself */
        br->cont = calloc((size_t)mp.vocab_size, 1);
        if (!br->cont) cli_die("train", NULL, "out of memory");
        for (int32_t id = 0; id < mp.vocab_size; id++) {
            char *t = NULL;
            size_t len = 0;
            if (gptc_tokenizer_decode(ctx, tok, &id, 1, &t, &len) == GPTC_OK) br->cont[id] = len > 2 && !strncmp(t, "##", 2);
            free(t);
        }
        mp.whole_word_mask = 1;
        mp.continuation = br->cont;
    }
    if (gptc_pretrain_source_new(ctx, br->train, br->val, r.pad >= 0 ? r.pad : 0, o->seed, &mp, &br->src))
        cli_die("train", ctx, NULL);
    o->data = gptc_pretrain_source_data(br->src);
    static char tok_dir[4200];
    snprintf(tok_dir, sizeof tok_dir, "%s/tokenizer", o->data_dir);
    o->tok_dir = tok_dir; /* carried into every model directory */
}

int cmd_train(int argc, char **argv) {
    cli_config_expand("train", &argc, &argv);
    cli_record_start();
    gptc_train_opts o;
    gptc_train_default_opts(&o);
    const char *preset = NULL, *loader = NULL, *resume = NULL;
    long threads = 0, arch[6] = {0, 0, 0, 0, 0, 0};
    long lv;
    int json = 0, wwm = 0;
    double mlm_prob = 0.15;
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
        if (cli_flag(argv, i, "--whole-word-mask")) { wwm = 1; continue; }
        if (cli_opt_float_in(argc, argv, &i, "--mlm-probability", 0, 1, 1, &mlm_prob)) continue;
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
    char bp[4200];
    snprintf(bp, sizeof bp, "%s/train.jsonl", o.data_dir);
    int bert = gptc_file_exists(bp);
    if (!bert) {
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
    if ((wwm || mlm_prob != 0.15) && !bert)
        cli_die("train", NULL, "--whole-word-mask and --mlm-probability are for BERT data (train.jsonl)");
    if (gptc_config_preset(ctx, preset ? preset : bert ? "bert-tiny" : "small", &o.cfg)) cli_die("train", ctx, "--preset");
    if (o.cfg.arch == GPTC_ARCH_MARIAN)
        cli_die("train", NULL, "--preset %s is an encoder-decoder (MarianMTModel): it trains on sentence pairs, not "
                               "on token shards (gptc init --arch marian, then fine-tune it on pairs)", preset);
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
    bert_run br;
    memset(&br, 0, sizeof br);
    if (bert) {
        o.cfg.bos_token_id = o.cfg.eos_token_id = -1;
        bert_setup(ctx, &o, preset, arch, cs.tok, mlm_prob, wwm, &br);
        o.sample_tokens = 0;
    }
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
    gptc_pretrain_source_free(br.src);
    gptc_pretrain_free(br.train);
    gptc_pretrain_free(br.val);
    free(br.cont);
    gptc_ctx_free(ctx);
    return 0;
}
