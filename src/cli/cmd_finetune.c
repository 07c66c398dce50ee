/* cmd_finetune.c: `gptc finetune`: sequence classification, chat (SFT) and extractive
 * QA on top of a model directory, full or LoRA. Reads and checks all data before
 * anything is written; the loop, checkpoints and OUT/model are the trainer's. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "task_cli.h"
#include "train_cli.h"
#include "mt_cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc finetune --task classify|chat|qa|translate --model DIR|REPO --train FILE [--val FILE] --out DIR [options]\n"
    "\n"
    "Fine-tunes the model in DIR. OUT receives metrics.jsonl, checkpoints/ and model/ (the\n"
    "best model by the validation metric when --val is given, else the last), a Hugging Face\n"
    "model directory: GPT2ForSequenceClassification (score.weight, id2label), GPT2ForQuestion-\n"
    "Answering (qa_outputs) or GPT2LMHeadModel for chat (a BERT: BertForSequenceClassification\n"
    "on the pooled [CLS], BertForQuestionAnswering); with --lora, the base beside a PEFT\n"
    "adapter (adapter_config.json + adapter_model.safetensors), loaded on top of it.\n"
    "\n"
    "tasks and data:\n"
    "  classify   CSV/TSV (header row, or --no-header) or JSONL {\"text\", \"label\"}; labels are\n"
    "             strings or integers; rows are padded right with pad_token_id (eos when the\n"
    "             tokenizer has no pad) and classified by their last non-pad token (BERT:\n"
    "             [CLS] text [SEP], the pooled [CLS]); with --regression labels are numbers\n"
    "  chat       JSONL {\"messages\": [{\"role\", \"content\"}, ...]} in the ChatML template of\n"
    "             `gptc chat`; the loss counts assistant tokens only\n"
    "  qa         SQuAD JSON or JSONL {\"context\", \"question\", \"answers\": {\"text\": [...],\n"
    "             \"answer_start\": [...]}}; long contexts become windows (question, separator,\n"
    "             context window; BERT: [CLS] question [SEP] window [SEP] with token types)\n"
    "             overlapping by --stride tokens, answers mapped by the tokens' offsets\n"
    MT_CLI_FINETUNE_USAGE
    TASK_CLI_TABLE_USAGE
    "task options:\n"
    "  --max-length N          tokens per row (default: the longest row, at most n_positions;\n"
    "                          qa: 384, at most n_positions)\n"
    "  --stride N              qa: tokens shared by consecutive windows (default 128, at most max/4)\n"
    "  --class-weights auto|w1,w2,...  classify: loss weights per label (auto: n / (K n_k))\n"
    "  --regression            classify: one output trained with MSE on numeric labels (STS-B;\n"
    "                          num_labels 1, problem_type \"regression\" in config.json, as\n"
    "                          Hugging Face); the val loss picks the best model\n"
    "  --metric f1_macro|accuracy|f1_weighted|val_loss  classify: what picks the best model and\n"
    "                          drives --patience (default f1_macro)\n"
    MT_CLI_FINETUNE_OPTS
    "LoRA:\n"
    "  --lora  --lora-r N (8)  --lora-alpha F (16)  --lora-dropout F (0.05)\n"
    "  --lora-target-modules LIST  PEFT module names; GPT-2: c_attn (default), c_proj, c_fc,\n"
    "                          attn.c_proj, mlp.c_proj; BERT: query,value (default), key,\n"
    "                          attention.output.dense, intermediate.dense, output.dense\n"
    "training (Hugging Face Trainer defaults: linear decay, lr 5e-5, or 5e-4 with --lora):\n"
    TRAIN_CLI_USAGE
    "  --resume                continue the run in OUT from its newest checkpoint (give the\n"
    "                          same task, data and options again)\n"
    "  --json                  print the result as JSON\n"
    "  --config FILE           options from a JSON object with the flags' names ({\"task\":\n"
    "                          \"classify\", \"lr\": 0.001}); the command line overrides it;\n"
    "                          OUT/run.json is one: --config OTHER/run.json --out NEW repeats a run\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc finetune --task classify --model base --train reviews.tsv --no-header --val val.tsv \\\n"
    "      --out run --epochs 3 && gptc classify --model run/model reviews_new.txt\n"
    "  gptc finetune --task translate --model mt --train pairs.tsv --val val.tsv --out run \\\n"
    "      --lr 5e-4 --label-smoothing 0.1 --metric bleu && gptc translate --model run/model 'Hello'\n";

/* Splits "w1,w2,..." into K weights. */
static void parse_weights(const char *s, int K, float *w) {
    int k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || k >= K) break;
        w[k++] = (float)v;
        p = end;
        if (*p == ',') p++;
        else break;
    }
    if (k != K || *p) cli_die("finetune", NULL, "--class-weights %s: expected %d comma-separated numbers or auto", s, K);
}

int cmd_finetune(int argc, char **argv) {
    cli_config_expand("finetune", &argc, &argv);
    cli_record_start();
    const char *task = NULL, *model_dir = NULL, *train_path = NULL, *val_path = NULL, *out_dir = NULL;
    const char *class_w = NULL, *metric_s = NULL, *sv;
    gptc_table_opts topt = {0};
    gptc_lora_params lp = gptc_lora_default_params();
    int use_lora = 0, json = 0, regression = 0;
    long threads = 0, max_len = 0, stride = -1, lv;
    double dv;
    mt_cli_opts mo = {0};
    gptc_train_opts o;
    gptc_train_default_opts(&o);
    o.sched.kind = GPTC_SCHED_LINEAR;
    o.sched.lr = -1;
    o.weight_decay = 0.0f;
    o.beta2 = 0.999f;
    o.epochs = 3;
    o.eval_every = -1;
    o.eval_batches = 1 << 30;
    o.sample_tokens = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--task", &task)) continue;
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--train", &train_path)) continue;
        if (cli_opt_str(argc, argv, &i, "--val", &val_path)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--class-weights", &class_w)) continue;
        if (cli_flag(argv, i, "--regression")) { regression = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--metric", &metric_s)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--max-length", 2, 1 << 20, &max_len)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--stride", 0, 1 << 20, &stride)) continue;
        if (cli_opt_float_in(argc, argv, &i, "--label-smoothing", 0, 1, CLI_OPEN_HI, &dv)) { mo.label_smoothing = (float)dv; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--max-source-length", 2, 1 << 20, &mo.max_source_length)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--max-target-length", 2, 1 << 20, &mo.max_target_length)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--bleu-sentences", 0, 1L << 40, &mo.bleu_sentences)) continue;
        if (cli_flag(argv, i, "--group-by-length")) { mo.group_by_length = 1; continue; }
        if (cli_flag(argv, i, "--lora")) { use_lora = 1; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--lora-r", 1, 1 << 16, &lv)) { lp.r = (int)lv; use_lora = 1; continue; }
        if (cli_opt_float_in(argc, argv, &i, "--lora-alpha", 0, 1e6, CLI_OPEN_LO, &dv)) { lp.alpha = (float)dv; use_lora = 1; continue; }
        if (cli_opt_float_in(argc, argv, &i, "--lora-dropout", 0, 1, CLI_OPEN_HI, &dv)) { lp.dropout = (float)dv; use_lora = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--lora-target-modules", &sv)) {
            snprintf(lp.target_modules, sizeof lp.target_modules, "%s", sv);
            use_lora = 1;
            continue;
        }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (cli_flag(argv, i, "--resume")) { o.resume = 1; continue; }
        if (task_cli_table_opt("finetune", argc, argv, &i, &topt)) continue;
        if (train_cli_opt("finetune", argc, argv, &i, &o, &threads)) continue;
        cli_bad_option("finetune", argv[i]);
    }
    if (!task || !model_dir || !train_path || !out_dir) {
        fprintf(stderr, "gptc finetune: --task, --model, --train and --out are required\ntry `gptc finetune --help`\n");
        return 2;
    }
    if (!strcmp(task, "translate")) {
        if (use_lora || class_w || max_len || stride >= 0 || topt.no_header || topt.text_col || topt.label_col || topt.pair_col)
            cli_die("finetune", NULL, "--task translate takes none of --lora, --class-weights, --max-length, --stride, "
                    "--no-header and the column options (see --max-source-length, --max-target-length)");
        if (metric_s && strcmp(metric_s, "bleu") && strcmp(metric_s, "val_loss") && strcmp(metric_s, "loss"))
            cli_die("finetune", NULL, "--metric %s: --task translate takes bleu or val_loss", metric_s);
        if (topt.format == GPTC_FMT_CSV) cli_die("finetune", NULL, "--task translate reads TSV or JSONL pairs, not CSV");
        mo.metric_bleu = metric_s && !strcmp(metric_s, "bleu");
        mo.skip_bad = topt.skip_bad;
        mo.format = topt.format;
        if (o.sched.lr < 0) o.sched.lr = 5e-5f;
        train_cli_check("finetune", &o);
        return mt_cli_finetune(model_dir, train_path, val_path, out_dir, &o, threads, json, &mo);
    }
    if (mo.label_smoothing > 0 || mo.max_source_length || mo.max_target_length || mo.bleu_sentences ||
        mo.group_by_length)
        cli_die("finetune", NULL, "--label-smoothing, --max-source-length, --max-target-length, --bleu-sentences and "
                "--group-by-length are for --task translate");
    int kind = !strcmp(task, "classify") ? GPTC_TASK_CLASSIFY
             : (!strcmp(task, "chat") || !strcmp(task, "sft")) ? GPTC_TASK_SFT
             : !strcmp(task, "qa") ? GPTC_TASK_QA : -1;
    if (kind < 0) cli_die("finetune", NULL, "--task %s: expected classify, chat, qa or translate", task);
    int metric = metric_s ? gptc_metric_parse(metric_s) : GPTC_METRIC_F1_MACRO;
    if (metric < 0) cli_die("finetune", NULL, "--metric %s: expected f1_macro, accuracy, f1_weighted or val_loss", metric_s);
    if (metric_s && kind != GPTC_TASK_CLASSIFY && metric != GPTC_METRIC_VAL_LOSS)
        cli_die("finetune", NULL, "--metric %s is for --task classify (chat and qa use val_loss)", metric_s);
    if (class_w && kind != GPTC_TASK_CLASSIFY) cli_die("finetune", NULL, "--class-weights is for --task classify");
    if (regression && kind != GPTC_TASK_CLASSIFY) cli_die("finetune", NULL, "--regression is for --task classify");
    if (max_len < 0 || max_len == 1) cli_die("finetune", NULL, "--max-length must be at least 2");
    if (o.sched.lr < 0) o.sched.lr = use_lora ? 5e-4f : 5e-5f;
    train_cli_check("finetune", &o);

    char run_tok[4200] = ""; /* a tokenizer the run made (markers added), else the model's */
    model_dir = cli_model("finetune", model_dir);
    train_cli_state cs;
    memset(&cs, 0, sizeof cs);
    gptc_dist *dist = train_cli_dist("finetune", &o, &threads, &cs);
    gptc_ctx *ctx = cli_ctx("finetune", (int)threads);
    gptc_tokenizer *tok;
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("finetune", ctx, "%s: a tokenizer is needed", model_dir);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("finetune", ctx, model_dir);
    task_cli_need_gpt2("finetune", m, model_dir, kind != GPTC_TASK_SFT);
    if (gptc_model_has_lora(m) && gptc_model_lora_merge(ctx, m)) cli_die("finetune", ctx, NULL);
    const gptc_config *c = gptc_model_config(m);
    if (gptc_tokenizer_n_vocab(tok) > (size_t)c->vocab_size)
        cli_die("finetune", NULL, "%s: the tokenizer has %zu ids, the model's vocab_size is %d", model_dir,
                gptc_tokenizer_n_vocab(tok), c->vocab_size);
    int32_t pad = gptc_task_pad_id(c, tok);
    int npos = c->n_positions;
    gptc_task_data train = {0}, val = {0};
    gptc_qa_set qtrain = {0}, qval = {0};
    gptc_qa_features ftrain = {0}, fval = {0};
    gptc_labels labels = {0};
    const gptc_task_data *tr = &train, *va = NULL;
    int T = 0;
    size_t skipped = 0;

    if (kind == GPTC_TASK_CLASSIFY) {
        gptc_rows rt, rv = {0};
        topt.need_label = 1;
        if (gptc_rows_read(ctx, train_path, &topt, &rt)) cli_die("finetune", ctx, NULL);
        skipped += rt.n_skipped;
        if (val_path && gptc_rows_read(ctx, val_path, &topt, &rv)) cli_die("finetune", ctx, NULL);
        skipped += rv.n_skipped;
        /* a regression: a model with one output, or --regression */
        if (c->head == GPTC_HEAD_CLASSIFY && c->num_labels == 1) regression = 1;
        else if (c->head == GPTC_HEAD_CLASSIFY && regression)
            cli_die("finetune", NULL, "--regression: %s is a classifier of %d labels", model_dir, c->num_labels);
        if (regression) {
            labels.n = 1;
            labels.name[0][0] = 0;
            if (metric_s && metric != GPTC_METRIC_VAL_LOSS) cli_die("finetune", NULL, "--metric %s: a regression uses val_loss", metric_s);
            if (class_w) cli_die("finetune", NULL, "--class-weights: a regression has no classes");
            metric = GPTC_METRIC_VAL_LOSS;
        } else if (c->head == GPTC_HEAD_CLASSIFY) gptc_labels_from_config(c, &labels);
        else if (gptc_labels_collect(ctx, train_path, &rt, &labels)) cli_die("finetune", ctx, NULL);
        int32_t *lt = malloc(rt.n * sizeof *lt), *lvv = malloc((rv.n + 1) * sizeof *lvv);
        float *yt = malloc((rt.n + 1) * sizeof *yt), *yv = malloc((rv.n + 1) * sizeof *yv);
        if (!lt || !lvv || !yt || !yv) cli_die("finetune", NULL, "out of memory");
        if (regression) { /* the scores' bits in the int32 targets (gptc_regression_target) */
            if (gptc_labels_scores(ctx, train_path, &rt, yt)) cli_die("finetune", ctx, NULL);
            if (val_path && gptc_labels_scores(ctx, val_path, &rv, yv)) cli_die("finetune", ctx, NULL);
            for (size_t k = 0; k < rt.n; k++) lt[k] = gptc_regression_target(yt[k]);
            for (size_t k = 0; val_path && k < rv.n; k++) lvv[k] = gptc_regression_target(yv[k]);
        } else {
            if (gptc_labels_map(ctx, train_path, &labels, &rt, lt)) cli_die("finetune", ctx, NULL);
            if (val_path && gptc_labels_map(ctx, val_path, &labels, &rv, lvv)) cli_die("finetune", ctx, NULL);
        }
        free(yt);
        free(yv);
        int cap = max_len ? (int)(max_len < npos ? max_len : npos) : npos;
        if (gptc_task_classify_build(ctx, tok, &rt, lt, cap, &train)) cli_die("finetune", ctx, "%s", train_path);
        if (val_path && gptc_task_classify_build(ctx, tok, &rv, lvv, cap, &val)) cli_die("finetune", ctx, "%s", val_path);
        T = (int)train.max_len;
        if (val_path && (int)val.max_len > T) T = (int)val.max_len;
        if (c->head != GPTC_HEAD_CLASSIFY) {
            const char *names[GPTC_MAX_LABELS];
            for (int k = 0; k < labels.n; k++) names[k] = labels.name[k];
            if (gptc_model_set_head(ctx, m, GPTC_HEAD_CLASSIFY, labels.n, names, o.seed)) cli_die("finetune", ctx, NULL);
        }
        gptc_task_model_set_pad(m, pad);
        if (class_w) {
            static float w[GPTC_MAX_LABELS]; /* outlives the run that reads it */
            if (!strcmp(class_w, "auto")) {
                /* scikit-learn's "balanced": n_rows / (K * rows of the class) */
                size_t cnt[GPTC_MAX_LABELS] = {0};
                for (size_t i = 0; i < train.n; i++) cnt[train.tgt[2 * i]]++;
                for (int k = 0; k < labels.n; k++)
                    w[k] = cnt[k] ? (float)((double)train.n / ((double)labels.n * cnt[k])) : 0.0f;
            } else parse_weights(class_w, labels.n, w);
            for (int k = 0; k < labels.n; k++)
                if (!(w[k] >= 0) || !isfinite(w[k])) cli_die("finetune", NULL, "--class-weights: weight %d = %g must be finite and >= 0", k, (double)w[k]);
            o.class_weights = w;
        }
        free(lt);
        free(lvv);
        gptc_rows_free(&rt);
        gptc_rows_free(&rv);
        va = val_path ? &val : NULL;
    } else if (kind == GPTC_TASK_SFT) {
        if (c->head != GPTC_HEAD_LM) cli_die("finetune", NULL, "%s: --task chat needs a language model (its head is a task head)", model_dir);
        gptc_chat_tokens ct;
        gptc_chat_tokens_resolve(tok, c->vocab_size, &ct);
        if (ct.im_start < 0 || ct.beyond_vocab) {
            /* ChatML's markers become special tokens of the tokenizer (ids after its
             * vocabulary) and the model's vocabulary grows to hold them, as Hugging Face's
             * add_special_tokens + resize_token_embeddings; the run's tokenizer files name
             * them */
            static const char *const markers[2] = {"<|im_start|>", "<|im_end|>"};
            gptc_tokenizer *t2;
            size_t added, old_v = (size_t)c->vocab_size;
            if (gptc_tokenizer_add_special(ctx, tok, markers, 2, &t2, &added)) cli_die("finetune", ctx, "%s", model_dir);
            size_t nv = gptc_tokenizer_n_vocab(t2);
            if (nv > old_v && gptc_model_resize_vocab(ctx, m, (int)nv)) cli_die("finetune", ctx, "%s", model_dir);
            c = gptc_model_config(m);
            gptc_tokenizer_free(tok);
            tok = t2;
            /* the run's tokenizer: OUT/tokenizer, with the model's generation_config.json */
            snprintf(run_tok, sizeof run_tok, "%s/tokenizer", out_dir);
            char gsrc[4200], gdst[4300];
            snprintf(gsrc, sizeof gsrc, "%s/generation_config.json", model_dir);
            snprintf(gdst, sizeof gdst, "%s/generation_config.json", run_tok);
            if (!cs.silent && (gptc_mkdirs(ctx, run_tok) || gptc_tokenizer_save(ctx, tok, run_tok) ||
                               (gptc_file_exists(gsrc) && gptc_file_copy(ctx, gsrc, gdst))))
                cli_die("finetune", ctx, "writing %s", run_tok);
            gptc_chat_tokens_resolve(tok, c->vocab_size, &ct);
            if (!cs.silent) fprintf(stderr, "gptc finetune: %s: the tokenizer had no <|im_start|>/<|im_end|> special tokens: added "
                    "them as ids %d and %d (tokenizer files in %s)\n", model_dir, ct.im_start, ct.im_end, run_tok);
            if (nv > old_v && !cs.silent)
                fprintf(stderr, "gptc finetune: vocab_size %zu -> %zu; the new embedding rows are the mean of the old "
                        "ones (as Hugging Face's resize_token_embeddings)\n", old_v, nv);
        }
        int cap = max_len ? (int)(max_len < npos ? max_len : npos) : npos;
        size_t sk = 0;
        if (gptc_task_sft_read(ctx, train_path, tok, c->vocab_size, cap, topt.skip_bad, &train, &sk)) cli_die("finetune", ctx, NULL);
        skipped += sk;
        if (val_path && gptc_task_sft_read(ctx, val_path, tok, c->vocab_size, cap, topt.skip_bad, &val, &sk)) cli_die("finetune", ctx, NULL);
        skipped += val_path ? sk : 0;
        T = (int)train.max_len;
        if (val_path && (int)val.max_len > T) T = (int)val.max_len;
        va = val_path ? &val : NULL;
    } else {
        size_t sk = 0;
        if (gptc_qa_read(ctx, train_path, 1, topt.skip_bad, &qtrain, &sk)) cli_die("finetune", ctx, NULL);
        skipped += sk;
        if (val_path && gptc_qa_read(ctx, val_path, 1, topt.skip_bad, &qval, &sk)) cli_die("finetune", ctx, NULL);
        skipped += val_path ? sk : 0;
        gptc_qa_opts qo;
        gptc_qa_opts_default(&qo);
        int Tq = max_len ? (int)max_len : qo.max_length;
        if (Tq > npos) Tq = npos;
        int st = stride >= 0 ? (int)stride : (qo.stride < Tq / 4 ? qo.stride : Tq / 4);
        if (gptc_qa_features_build(ctx, tok, &qtrain, Tq, st, pad, pad, &ftrain)) cli_die("finetune", ctx, "%s", train_path);
        if (val_path && gptc_qa_features_build(ctx, tok, &qval, Tq, st, pad, pad, &fval)) cli_die("finetune", ctx, "%s", val_path);
        tr = &ftrain.data;
        va = val_path ? &fval.data : NULL;
        T = (int)tr->max_len;
        if (va && (int)va->max_len > T) T = (int)va->max_len;
        if (c->head != GPTC_HEAD_QA && gptc_model_set_head(ctx, m, GPTC_HEAD_QA, 0, NULL, o.seed)) cli_die("finetune", ctx, NULL);
        gptc_task_model_set_pad(m, pad);
    }
    if (skipped && !cs.silent) fprintf(stderr, "finetune: skipped %zu malformed rows (--skip-bad-lines)\n", skipped);
    if (T < 2) T = 2;
    if (T > npos) T = npos;
    if (use_lora && gptc_model_lora_add(ctx, m, &lp, o.seed)) cli_die("finetune", ctx, "--lora");

    gptc_task_source *src;
    if (gptc_task_source_new(ctx, tr, va, pad, o.seed, kind == GPTC_TASK_CLASSIFY ? metric : GPTC_METRIC_VAL_LOSS,
                             labels.n, &src))
        cli_die("finetune", ctx, NULL);
    o.data = gptc_task_source_data(src);
    o.model = m;
    o.tok_dir = run_tok[0] ? run_tok : model_dir;
    o.out_dir = out_dir;
    o.seq_len = T;
    if (o.batch_size < 1) cli_die("finetune", NULL, "--batch-size must be at least 1");
    if (o.eval_every < 0) o.eval_every = va ? (int)((tr->n + (size_t)o.batch_size * o.grad_accum - 1) /
                                                  ((size_t)o.batch_size * o.grad_accum)) : 0;
    if (o.eval_every > 0 && !va) cli_die("finetune", NULL, "--eval-every needs --val");
    if (o.patience > 0 && !va) cli_die("finetune", NULL, "--patience needs --val");
    if (o.eval_every < 1 && va) o.eval_every = 1;

    train_cli_signals(&o);
    cs.cmd = "finetune";
    if (!cs.silent)
        fprintf(stderr, "finetune: task %s, %zu training rows%s, %zu validation rows, max length %d%s\n", task, tr->n,
            kind == GPTC_TASK_QA ? " (windows)" : "", va ? va->n : 0, T, use_lora ? ", LoRA" : "");
    char *run_options = train_cli_run_options();
    o.run_options = run_options;
    if (gptc_train_run(ctx, &o, train_cli_event, &cs)) train_cli_fail("finetune", ctx, dist);
    free(run_options);
    gptc_dist_close(dist);
    if (cs.interrupted) {
        /* finetune has no --resume: the checkpoint is in OUT/checkpoints */
        fprintf(stderr, "finetune: interrupted; %s/model was not written\n", out_dir);
        exit(130);
    }
    train_cli_print_result(out_dir, &cs, o.data->metric_name, json);
    gptc_task_source_free(src);
    gptc_task_data_free(&train);
    gptc_task_data_free(&val);
    gptc_qa_features_free(&ftrain);
    gptc_qa_features_free(&fval);
    gptc_qa_free(&qtrain);
    gptc_qa_free(&qval);
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return 0;
}
