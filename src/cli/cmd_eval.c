/* cmd_eval.c: `gptc eval`: mean next-token cross-entropy and perplexity of a model on
 * token ids, scored in consecutive windows of at most n_positions tokens; with --task,
 * classification metrics (eval_task.c's part: accuracy, per-class P/R/F1, confusion
 * matrix) and SQuAD exact match / F1 for extractive QA. */
#include "cli.h"
#include "task_cli.h"
#include "mt_cli.h"
#include <jansson.h>
#include "gptc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
    "usage: gptc eval --model DIR|REPO --tokens FILE [--batch-size N] [--threads N] [--json]\n"
    "       gptc eval --task classify|qa|lm --model DIR|REPO --data FILE [options] [--json]\n"
    "       gptc eval --task pretrain --model BERTDIR|REPO --data FILE.jsonl [--batch-size N] [--json]\n"
    "       gptc eval --task translate --hyp FILE --ref FILE [--ref FILE...] [--json]\n"
    "       gptc eval --task translate --model DIR --data FILE.jsonl|FILE.tsv [--batch-size N] [--json]\n"
    "\n"
    "Scores whitespace-separated token ids in FILE (\"-\" for stdin) with the model in DIR:\n"
    "the mean next-token cross-entropy (nats) and the perplexity exp(loss). Inputs longer\n"
    "than the context are cut into consecutive windows of n_positions + 1 tokens (each\n"
    "window predicts n_positions tokens); each window starts a fresh context.\n"
    "\n"
    "  --model DIR|REPO   model directory (config.json + model.safetensors)\n"
    "  --tokens FILE      token ids, e.g. from `gptc tokenize`\n"
    "  --batch-size N     windows scored at once (default: as many as fit 256 MiB of logits)\n"
    "  --threads N        threads (default: all cores)\n"
    "  --json             print {\"loss\", \"perplexity\", \"tokens\"}\n"
    "\n"
    "--task classify: the labelled rows of FILE (CSV/TSV/JSONL, options as gptc finetune):\n"
    "accuracy, precision/recall/F1 per class with macro and weighted averages (scikit-learn's\n"
    "definitions), Matthews correlation (matthews_corrcoef; GLUE's CoLA metric), for two labels\n"
    "the F1 of the positive class (the second label, as f1_score; MRPC, QQP), and the confusion\n"
    "matrix (rows: true labels); --json prints {\"accuracy\", \"f1\" (two labels), \"mcc\",\n"
    "\"precision_macro\", \"recall_macro\", \"f1_macro\", \"f1_weighted\", \"per_class\",\n"
    "\"confusion_matrix\", \"labels\"}. A regression model (num_labels 1; labels are numbers, as\n"
    "STS-B's): Pearson's and Spearman's correlations of its scores with the labels (scipy's\n"
    "pearsonr, spearmanr) and their mean squared error; --json prints {\"pearson\", \"spearman\",\n"
    "\"mse\", \"examples\"} (a correlation of constant scores is null).\n"
    TASK_CLI_TABLE_USAGE
    "  --confusion-svg FILE  also draw the confusion matrix as SVG\n"
    "--task qa: SQuAD JSON or JSONL with answers: exact match and token F1 in percent as the\n"
    "SQuAD v1.1 script (answers normalized: lowercase, no punctuation, no a/an/the, single\n"
    "spaces; the best over the gold answers); --max-answer-length, --max-length, --stride.\n"
    "  --metric korquad   KorQuAD 1.0's official exact match and character F1 (its\n"
    "                     evaluate-v1.0.py: quotes and 《》〈〉<>()‘’ removed, F1 over the\n"
    "                     answers' characters) as \"exact_match\"/\"f1\", SQuAD's beside them as\n"
    "                     \"squad_exact_match\"/\"squad_f1\" (default: --metric squad)\n"
    "--task lm: FILE is text, encoded with the model's tokenizer, then scored as --tokens.\n"
    "--task pretrain: a BERT's masked-LM and next-sentence losses on JSONL lines {\"input_ids\",\n"
    "\"token_type_ids\", \"attention_mask\" (default all 1), \"labels\" (-100 where not predicted),\n"
    "\"next_sentence_label\"}: mlm_loss = mean cross-entropy over every labelled position of the\n"
    "file, nsp_loss = mean over its examples, loss = their sum (BertForPreTraining's loss on one\n"
    "batch holding the whole file), and the accuracies of both; --json prints {\"loss\",\n"
    "\"mlm_loss\", \"nsp_loss\", \"mlm_accuracy\", \"nsp_accuracy\", \"examples\"}.\n"
    "\n"
    "--task translate --model DIR --data FILE: the mean cross-entropy of an encoder-decoder over\n"
    "every label that is not -100 in the whole file (teacher forcing, decoder input = [decoder_start]\n"
    "+ labels[:-1]), for JSONL lines {\"input_ids\", \"labels\", \"attention_mask\" (optional)}, or\n"
    "sentence pairs (TSV source<TAB>target, JSONL {\"src\", \"tgt\"}) tokenized by the model's\n"
    "translation tokenizer: {\"loss\", \"tokens\"} (with --hyp/--ref too: one object with all).\n"
    "--task translate: corpus BLEU and chrF of the hypotheses in --hyp against the references\n"
    "in --ref (one sentence a line, UTF-8; several --ref files give several references per\n"
    "sentence), exactly as sacreBLEU 2.6.0's corpus_bleu (13a tokenization, exp smoothing,\n"
    "mixed case) and corpus_chrf (chrF2, 6 character orders) compute them; printed as\n"
    "sacreBLEU prints them, or with --json {\"bleu\", \"chrf\", \"bleu_signature\",\n"
    "\"chrf_signature\", \"precisions\", \"bp\", \"ratio\", \"hyp_len\", \"ref_len\", \"counts\",\n"
    "\"totals\", \"sentences\"}. It needs no model.\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc tokenize --model m < text.txt > ids.txt && gptc eval --model m --tokens ids.txt\n"
    "  gptc eval --task translate --hyp out.ko --ref test.ko\n"
    "  gptc eval --task translate --model run/model --data test.jsonl --json   # {\"loss\", \"tokens\"}\n";

/* Mean next-token loss over ids in windows of n_positions; prints the result. */
static void score_lm(gptc_ctx *ctx, gptc_model *m, const gptc_config *c, const int32_t *ids, size_t n, long batch,
                     int json) {
    int T = c->n_positions;
    size_t n_pred = n - 1;
    if ((size_t)T > n_pred) T = (int)n_pred;
    size_t n_win = (n_pred + (size_t)T - 1) / (size_t)T;
    if (batch == 0) {
        size_t per_win = (size_t)T * (size_t)c->vocab_size * sizeof(float);
        batch = (long)((256u << 20) / (per_win ? per_win : 1));
        if (batch < 1) batch = 1;
    }
    if ((size_t)batch > n_win) batch = (long)n_win;
    int B = (int)batch;
    int32_t *inp = malloc((size_t)B * T * sizeof *inp), *tgt = malloc((size_t)B * T * sizeof *tgt);
    if (!inp || !tgt) cli_die("eval", NULL, "out of memory");
    gptc_workspace *ws;
    if (gptc_workspace_new(ctx, m, B, T, 0, &ws)) cli_die("eval", ctx, NULL);
    double total = 0;
    size_t counted = 0;
    for (size_t w0 = 0; w0 < n_win; w0 += (size_t)B) {
        int nb = (int)((n_win - w0) < (size_t)B ? (n_win - w0) : (size_t)B);
        size_t valid = 0;
        for (int b = 0; b < nb; b++) {
            size_t start = (w0 + (size_t)b) * (size_t)T;
            for (int t = 0; t < T; t++) {
                size_t pos = start + (size_t)t;
                int ok = pos + 1 < n;
                inp[b * T + t] = pos < n ? ids[pos] : 0;
                tgt[b * T + t] = ok ? ids[pos + 1] : -100;
                valid += ok;
            }
        }
        float loss;
        if (gptc_forward(ctx, ws, inp, tgt, nb, T, &loss)) cli_die("eval", ctx, NULL);
        total += (double)loss * (double)valid;
        counted += valid;
        if (!json && n_win > 1 && isatty(2))
            fprintf(stderr, "\reval: %zu/%zu windows", w0 + (size_t)nb, n_win);
    }
    if (!json && n_win > 1 && isatty(2)) fputc('\n', stderr);
    double loss = total / (double)counted;
    if (json) printf("{\"loss\": %.6f, \"perplexity\": %.6f, \"tokens\": %zu}\n", loss, exp(loss), counted);
    else printf("loss %.6f\nperplexity %.4f\ntokens %zu\n", loss, exp(loss), counted);
    free(inp);
    free(tgt);
    gptc_workspace_free(ws);
}

/* A regression (num_labels 1): Pearson and Spearman correlations (GLUE's STS-B) and the
 * mean squared error of the scores against the numeric labels. */
static void eval_regression(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_rows *rows,
                            const char *data, int json) {
    size_t n = rows->n;
    float *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    double *yd = malloc(n * sizeof *yd), *zd = malloc(n * sizeof *zd), sp = NAN, mse = 0;
    if (!y || !z || !yd || !zd) cli_die("eval", NULL, "out of memory");
    if (gptc_labels_scores(ctx, data, rows, y)) cli_die("eval", ctx, NULL);
    if (gptc_classify_pairs(ctx, m, tok, rows->text, rows->text_pair, n, z)) cli_die("eval", ctx, NULL);
    for (size_t i = 0; i < n; i++) {
        yd[i] = y[i];
        zd[i] = z[i];
        mse += (zd[i] - yd[i]) * (zd[i] - yd[i]) / (double)n;
    }
    double pr = gptc_pearson(zd, yd, n);
    if (gptc_spearman(ctx, zd, yd, n, &sp)) cli_die("eval", ctx, NULL);
    if (json) {
        /* constant predictions have no correlation: null, as JSON has no NaN */
        printf("{\"pearson\": ");
        isfinite(pr) ? printf("%.6f", pr) : printf("null");
        printf(", \"spearman\": ");
        isfinite(sp) ? printf("%.6f", sp) : printf("null");
        printf(", \"mse\": %.6g, \"examples\": %zu}\n", mse, n);
    } else {
        printf("pearson %.4f\nspearman %.4f\nmse %.6g\nexamples %zu\n", pr, sp, mse, n);
    }
    free(y);
    free(z);
    free(yd);
    free(zd);
}

static int eval_task(int argc, char **argv, const char *task);
static int eval_translate(int argc, char **argv);

/* a JSON number, null when not finite (no labelled position, no NSP head) */
static void json_num(double v) {
    if (isfinite(v)) printf("%.6f", v);
    else printf("null");
}

/* --task pretrain: sums of BertForPreTraining's two losses and hits over the file */
static int eval_pretrain(int argc, char **argv) {
    const char *model_dir = NULL, *data = NULL, *task = NULL;
    long batch = 8, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--data", &data)) continue;
        if (cli_opt_str(argc, argv, &i, "--task", &task)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--batch-size", 1, 1 << 16, &batch)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("eval", argv[i]);
    }
    if (!model_dir || !data) {
        fprintf(stderr, "gptc eval: --task pretrain needs --model and --data\ntry `gptc eval --help`\n");
        return 2;
    }
    model_dir = cli_model("eval", model_dir);
    gptc_ctx *ctx = cli_ctx("eval", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("eval", ctx, model_dir);
    const gptc_config *c = gptc_model_config(m);
    if (c->arch != GPTC_ARCH_BERT || c->head != GPTC_HEAD_LM)
        cli_die("eval", NULL, "--task pretrain: %s is a %s, not a BertForPreTraining / BertForMaskedLM", model_dir,
                gptc_model_class(m));
    gptc_pretrain_data *d;
    if (gptc_pretrain_read(ctx, data, c, c->n_positions, &d)) cli_die("eval", ctx, NULL);
    if (!gptc_pretrain_has_labels(d)) cli_die("eval", NULL, "%s: --task pretrain needs \"labels\" on every line", data);
    size_t n = gptc_pretrain_count(d);
    int T = (int)gptc_pretrain_max_len(d), B = (int)((size_t)batch < n ? (size_t)batch : n), V = c->vocab_size;
    int nsp = !c->mlm_only;
    gptc_batch bt;
    memset(&bt, 0, sizeof bt);
    bt.tokens = malloc((size_t)B * T * sizeof *bt.tokens);
    bt.targets = malloc((size_t)B * T * sizeof *bt.targets);
    bt.token_types = malloc((size_t)B * T * sizeof *bt.token_types);
    bt.attention_mask = malloc((size_t)B * T * sizeof *bt.attention_mask);
    bt.labels = malloc((size_t)B * sizeof *bt.labels);
    size_t *idx = malloc((size_t)B * sizeof *idx);
    if (!bt.tokens || !bt.targets || !bt.token_types || !bt.attention_mask || !bt.labels || !idx)
        cli_die("eval", NULL, "out of memory");
    gptc_workspace *ws;
    if (gptc_workspace_new(ctx, m, B, T, 0, &ws)) cli_die("eval", ctx, NULL);
    double mlm_sum = 0, nsp_sum = 0;
    long mlm_n = 0, nsp_n = 0, mlm_hit = 0, nsp_hit = 0;
    for (size_t r0 = 0; r0 < n; r0 += (size_t)B) {
        int nb = (int)(n - r0 < (size_t)B ? n - r0 : (size_t)B);
        for (int b = 0; b < nb; b++) idx[b] = r0 + (size_t)b;
        if (gptc_pretrain_fill(ctx, d, idx, nb, T, c->pad_token_id >= 0 ? c->pad_token_id : 0, NULL, NULL, &bt))
            cli_die("eval", ctx, NULL);
        bt.B = nb;
        bt.T = T;
        float loss;
        if (gptc_forward_batch(ctx, ws, &bt, &loss)) cli_die("eval", ctx, NULL);
        gptc_pretrain_parts pp = gptc_workspace_pretrain_parts(ws);
        mlm_sum += pp.mlm_sum;
        mlm_n += pp.mlm_n;
        nsp_sum += pp.nsp_sum;
        nsp_n += pp.nsp_n;
        const float *lg = gptc_workspace_logits(ws);
        for (size_t i = 0; i < (size_t)nb * T; i++) {
            if (bt.targets[i] < 0) continue;
            const float *z = lg + i * V;
            int best = 0;
            for (int k = 1; k < V; k++)
                if (z[k] > z[best]) best = k;
            mlm_hit += best == bt.targets[i];
        }
        for (int b = 0; nsp && b < nb; b++) {
            const float *z = lg + (size_t)nb * T * V + 2 * (size_t)b;
            if (bt.labels[b] >= 0) nsp_hit += (z[1] > z[0]) == bt.labels[b];
        }
    }
    double mlm_loss = mlm_n ? mlm_sum / mlm_n : NAN, nsp_loss = nsp_n ? nsp_sum / nsp_n : NAN;
    double mlm_acc = mlm_n ? (double)mlm_hit / mlm_n : NAN, nsp_acc = nsp_n ? (double)nsp_hit / nsp_n : NAN;
    double loss = nsp ? mlm_loss + nsp_loss : mlm_loss;
    if (json) {
        printf("{\"loss\": ");
        json_num(loss);
        printf(", \"mlm_loss\": ");
        json_num(mlm_loss);
        printf(", \"nsp_loss\": ");
        json_num(nsp ? nsp_loss : NAN);
        printf(", \"mlm_accuracy\": ");
        json_num(mlm_acc);
        printf(", \"nsp_accuracy\": ");
        json_num(nsp ? nsp_acc : NAN);
        printf(", \"examples\": %zu}\n", n);
    } else {
        printf("loss %.6f\nmlm_loss %.6f (%ld predicted tokens)\nmlm_accuracy %.4f\n", loss, mlm_loss, mlm_n, mlm_acc);
        if (nsp) printf("nsp_loss %.6f (%ld examples)\nnsp_accuracy %.4f\n", nsp_loss, nsp_n, nsp_acc);
        printf("examples %zu\n", n);
    }
    free(bt.tokens);
    free(bt.targets);
    free(bt.token_types);
    free(bt.attention_mask);
    free(bt.labels);
    free(idx);
    gptc_workspace_free(ws);
    gptc_pretrain_free(d);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    const char *model_dir = NULL, *tokens_path = NULL, *task = NULL, *data = NULL;
    long batch = 0, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--task", &task)) continue;
    }
    if (task && !strcmp(task, "translate")) return eval_translate(argc, argv);
    if (task && !strcmp(task, "pretrain")) return eval_pretrain(argc, argv);
    if (task && strcmp(task, "lm") != 0) return eval_task(argc, argv, task);
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--tokens", &tokens_path)) continue;
        if (cli_opt_str(argc, argv, &i, "--task", &task)) continue;
        if (cli_opt_str(argc, argv, &i, "--data", &data)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--batch-size", 1, 1 << 20, &batch)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("eval", argv[i]);
    }
    if (task && tokens_path) cli_die("eval", NULL, "--task lm reads text from --data; --tokens is without --task");
    if (!model_dir || (!tokens_path && !data)) {
        fprintf(stderr, "gptc eval: --model and --tokens (or --task lm --data) are required\ntry `gptc eval --help`\n");
        return 2;
    }
    model_dir = cli_model("eval", model_dir);
    gptc_ctx *ctx = cli_ctx("eval", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("eval", ctx, model_dir);
    const gptc_config *c = gptc_model_config(m);
    int32_t *ids;
    size_t n;
    if (tokens_path) {
        if (gptc_tokens_read_text(ctx, tokens_path, c->vocab_size, &ids, &n)) cli_die("eval", ctx, NULL);
    } else {
        gptc_tokenizer *tok;
        char *text;
        size_t size;
        int32_t *tmp;
        if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("eval", ctx, NULL);
        if (gptc_file_read(ctx, data, &text, &size)) cli_die("eval", ctx, NULL);
        if (gptc_tokenizer_encode(ctx, tok, text, size, 0, &tmp, &n)) cli_die("eval", ctx, "%s", data);
        ids = gptc_alloc(ctx, (n ? n : 1) * sizeof *ids, "token ids");
        if (!ids) cli_die("eval", ctx, NULL);
        memcpy(ids, tmp, n * sizeof *ids);
        free(tmp);
        gptc_free(text);
        gptc_tokenizer_free(tok);
        tokens_path = data;
    }
    if (n < 2) cli_die("eval", NULL, "%s: needs at least 2 token ids to score (found %zu)", tokens_path, n);

    score_lm(ctx, m, c, ids, n, batch, json);
    gptc_free(ids);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}

/* ---------------------------------------------------------------- --task classify | qa */
static void print_report(const gptc_cls_report *r, const gptc_labels *l, const long *cm, int json) {
    int K = l->n;
    double mcc = gptc_cls_mcc(cm, K);
    if (json) {
        printf("{\"accuracy\": %.6f, ", r->accuracy);
        if (K == 2) printf("\"f1\": %.6f, ", r->f1[1]);
        printf("\"mcc\": %.6f, \"precision_macro\": %.6f, \"recall_macro\": %.6f, \"f1_macro\": %.6f, "
               "\"precision_weighted\": %.6f, \"recall_weighted\": %.6f, \"f1_weighted\": %.6f, \"support\": %ld, "
               "\"per_class\": {",
               mcc, r->precision_macro, r->recall_macro, r->f1_macro, r->precision_weighted, r->recall_weighted,
               r->f1_weighted, r->total);
        for (int k = 0; k < K; k++) {
            printf("%s", k ? ", " : "");
            cli_json_string(stdout, l->name[k]);
            printf(": {\"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, \"support\": %ld}", r->precision[k],
                   r->recall[k], r->f1[k], r->support[k]);
        }
        printf("}, \"confusion_matrix\": [");
        for (int t = 0; t < K; t++) {
            printf("%s[", t ? ", " : "");
            for (int p = 0; p < K; p++) printf("%s%ld", p ? ", " : "", cm[t * K + p]);
            printf("]");
        }
        printf("], \"labels\": [");
        for (int k = 0; k < K; k++) {
            printf("%s", k ? ", " : "");
            cli_json_string(stdout, l->name[k]);
        }
        printf("]}\n");
        return;
    }
    int w = 12;
    for (int k = 0; k < K; k++)
        if ((int)strlen(l->name[k]) > w) w = (int)strlen(l->name[k]);
    printf("%*s  precision     recall   f1-score    support\n\n", w, "");
    for (int k = 0; k < K; k++)
        printf("%*s  %9.4f  %9.4f  %9.4f  %9ld\n", w, l->name[k], r->precision[k], r->recall[k], r->f1[k], r->support[k]);
    printf("\n%*s  %9s  %9s  %9.4f  %9ld\n", w, "accuracy", "", "", r->accuracy, r->total);
    printf("%*s  %9.4f  %9.4f  %9.4f  %9ld\n", w, "macro avg", r->precision_macro, r->recall_macro, r->f1_macro, r->total);
    printf("%*s  %9.4f  %9.4f  %9.4f  %9ld\n", w, "weighted avg", r->precision_weighted, r->recall_weighted,
           r->f1_weighted, r->total);
    printf("\nmatthews corrcoef %.4f\n", mcc);
    if (K == 2) printf("f1 of the positive class (%s) %.4f\n", l->name[1], r->f1[1]);
    printf("\nconfusion matrix (rows: true, columns: predicted)\n%*s", w, "");
    for (int p = 0; p < K; p++) printf("  %9.9s", l->name[p]);
    printf("\n");
    for (int t = 0; t < K; t++) {
        printf("%*s", w, l->name[t]);
        for (int p = 0; p < K; p++) printf("  %9ld", cm[t * K + p]);
        printf("\n");
    }
}

static int eval_task(int argc, char **argv, const char *task) {
    const char *model_dir = NULL, *data = NULL, *svg = NULL, *metric = "squad";
    long threads = 0, lv;
    int json = 0;
    gptc_table_opts topt = {0};
    gptc_qa_opts qo;
    gptc_qa_opts_default(&qo);
    int is_cls = !strcmp(task, "classify"), is_qa = !strcmp(task, "qa");
    if (!is_cls && !is_qa) cli_die("eval", NULL, "--task %s: expected classify, qa, lm or translate", task);
    for (int i = 1; i < argc; i++) {
        const char *t;
        if (cli_opt_str(argc, argv, &i, "--task", &t)) continue;
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--data", &data)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (is_cls && cli_opt_str(argc, argv, &i, "--confusion-svg", &svg)) continue;
        if (is_cls && task_cli_table_opt("eval", argc, argv, &i, &topt)) continue;
        if (is_qa && cli_opt_int_in(argc, argv, &i, "--max-answer-length", 1, 1 << 20, &lv)) { qo.max_answer = (int)lv; continue; }
        if (is_qa && cli_opt_int_in(argc, argv, &i, "--max-length", 4, 1 << 20, &lv)) { qo.max_length = (int)lv; continue; }
        if (is_qa && cli_opt_int_in(argc, argv, &i, "--stride", 0, 1 << 20, &lv)) { qo.stride = (int)lv; continue; }
        if (is_qa && cli_flag(argv, i, "--skip-bad-lines")) { topt.skip_bad = 1; continue; }
        if (is_qa && cli_opt_str(argc, argv, &i, "--metric", &metric)) continue;
        cli_bad_option("eval", argv[i]);
    }
    if (!model_dir || !data) {
        fprintf(stderr, "gptc eval: --task %s needs --model and --data\ntry `gptc eval --help`\n", task);
        return 2;
    }
    model_dir = cli_model("eval", model_dir);
    int korquad = !strcmp(metric, "korquad");
    if (!korquad && strcmp(metric, "squad")) cli_die("eval", NULL, "--metric %s: expected squad or korquad", metric);
    gptc_ctx *ctx = cli_ctx("eval", (int)threads);
    gptc_model *m;
    gptc_tokenizer *tok;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("eval", ctx, model_dir);
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("eval", ctx, NULL);
    const gptc_config *c = gptc_model_config(m);
    if (is_cls) {
        if (c->head != GPTC_HEAD_CLASSIFY) cli_die("eval", NULL, "%s: not a classification model", model_dir);
        gptc_rows rows;
        topt.need_label = 1;
        if (gptc_rows_read(ctx, data, &topt, &rows)) cli_die("eval", ctx, NULL);
        if (rows.n_skipped) fprintf(stderr, "eval: skipped %zu malformed rows (first: %s)\n", rows.n_skipped, rows.first_skip);
        gptc_labels l;
        gptc_labels_from_config(c, &l);
        int K = l.n;
        if (K == 1) {
            eval_regression(ctx, m, tok, &rows, data, json);
            gptc_rows_free(&rows);
            goto done;
        }
        int32_t *y = malloc(rows.n * sizeof *y);
        float *probs = malloc(rows.n * (size_t)K * sizeof *probs);
        long *cm = calloc((size_t)K * K, sizeof *cm);
        if (!y || !probs || !cm) cli_die("eval", NULL, "out of memory");
        if (gptc_labels_map(ctx, data, &l, &rows, y)) cli_die("eval", ctx, NULL);
        if (gptc_classify_pairs(ctx, m, tok, rows.text, rows.text_pair, rows.n, probs)) cli_die("eval", ctx, NULL);
        for (size_t i = 0; i < rows.n; i++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (probs[i * K + k] > probs[i * K + best]) best = k;
            cm[y[i] * K + best]++;
        }
        gptc_cls_report r;
        gptc_cls_report_compute(cm, K, &r);
        print_report(&r, &l, cm, json);
        if (svg && gptc_confusion_svg(ctx, svg, cm, &l)) cli_die("eval", ctx, NULL);
        free(y);
        free(probs);
        free(cm);
        gptc_rows_free(&rows);
    } else {
        gptc_qa_set set;
        size_t skipped;
        if (gptc_qa_read(ctx, data, 1, topt.skip_bad, &set, &skipped)) cli_die("eval", ctx, NULL);
        if (skipped) fprintf(stderr, "eval: skipped %zu malformed examples\n", skipped);
        char **ans = calloc(set.n, sizeof *ans);
        if (!ans) cli_die("eval", NULL, "out of memory");
        if (gptc_qa_predict(ctx, m, tok, &set, &qo, ans, NULL)) cli_die("eval", ctx, NULL);
        double em = 0, f1 = 0, kem = 0, kf1 = 0; /* the best over the gold answers, as both scripts */
        for (size_t i = 0; i < set.n; i++) {
            double be = 0, bf = 0, bke = 0, bkf = 0;
            for (int k = 0; k < set.ex[i].n_answers; k++) {
                const char *g = set.ex[i].answers[k];
                be = fmax(be, gptc_squad_em(ctx, ans[i], g));
                bf = fmax(bf, gptc_squad_f1(ctx, ans[i], g));
                if (korquad) {
                    bke = fmax(bke, gptc_korquad_em(ctx, ans[i], g));
                    bkf = fmax(bkf, gptc_korquad_f1(ctx, ans[i], g));
                }
            }
            em += be;
            f1 += bf;
            kem += bke;
            kf1 += bkf;
            gptc_free(ans[i]);
        }
        double d = 100.0 / (double)set.n;
        if (korquad && json)
            printf("{\"exact_match\": %.4f, \"f1\": %.4f, \"squad_exact_match\": %.4f, \"squad_f1\": %.4f, "
                   "\"examples\": %zu}\n", kem * d, kf1 * d, em * d, f1 * d, set.n);
        else if (korquad)
            printf("exact_match %.2f\nf1 %.2f\nsquad_exact_match %.2f\nsquad_f1 %.2f\nexamples %zu\n", kem * d, kf1 * d,
                   em * d, f1 * d, set.n);
        else if (json) printf("{\"exact_match\": %.4f, \"f1\": %.4f, \"examples\": %zu}\n", em * d, f1 * d, set.n);
        else printf("exact_match %.2f\nf1 %.2f\nexamples %zu\n", em * d, f1 * d, set.n);
        free(ans);
        gptc_qa_free(&set);
    }
done:
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}

/* ---------------------------------------------------------------- --task translate */

/* The lines of a UTF-8 text file ('\n' ends a line; a last line without it counts). */
static char **read_lines(gptc_ctx *ctx, const char *path, size_t *n_out) {
    char *data;
    size_t size;
    if (gptc_file_read(ctx, path, &data, &size)) cli_die("eval", ctx, NULL);
    size_t n = 0;
    for (size_t i = 0; i < size; i++) n += data[i] == '\n';
    n += size && data[size - 1] != '\n';
    char **lines = calloc(n + 1, sizeof *lines);
    if (!lines) cli_die("eval", NULL, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < size;) {
        char *s = data + i, *nl = memchr(s, '\n', size - i);
        size_t len = nl ? (size_t)(nl - s) : size - i;
        if (memchr(s, 0, len)) cli_die("eval", NULL, "%s:%zu: a NUL byte in the line", path, k + 1);
        s[len] = 0; /* the buffer has a NUL after its end too */
        lines[k++] = s;
        i += len + 1;
    }
    lines[n] = data; /* kept for freeing */
    *n_out = n;
    return lines;
}

static void print_json_doubles(const double *v, int n) {
    for (int k = 0; k < n; k++) printf("%s%.17g", k ? ", " : "", v[k]);
}

/* Whether a JSONL file's first line holds ids ({"input_ids": ...}) rather than text pairs. */
static int jsonl_has_ids(gptc_ctx *ctx, const char *path) {
    char *d;
    size_t n;
    if (gptc_file_read(ctx, path, &d, &n)) cli_die("eval", ctx, NULL);
    gptc_lines it = gptc_lines_of(d, n);
    const char *l;
    size_t len;
    int ids = 0;
    while (gptc_lines_next(&it, &l, &len)) {
        size_t k = 0;
        while (k < len && (l[k] == ' ' || l[k] == '\t' || l[k] == '\r')) k++;
        if (k == len) continue;
        json_t *j = json_loadb(l, len, 0, NULL);
        ids = json_object_get(j, "input_ids") != NULL;
        json_decref(j);
        break;
    }
    gptc_free(d);
    return ids;
}

/* Teacher-forced loss of an encoder-decoder over pairs: sum over batches of the mean
 * loss times the batch's counted labels, over all counted labels. */
static void mt_loss(gptc_ctx *ctx, const char *dir, const char *path, long batch, double *loss, size_t *tokens) {
    gptc_model *m;
    gptc_mt_tokenizer *tok;
    int ids_file = gptc_table_format(path, GPTC_FMT_AUTO) == GPTC_FMT_JSONL && jsonl_has_ids(ctx, path);
    mt_cli_open_with("eval", ctx, dir, &m, &tok, !ids_file); /* ids: the tokenizer may be absent */
    const gptc_config *c = gptc_model_config(m);
    gptc_mt_data d;
    if (ids_file) {
        if (gptc_mt_ids_read(ctx, path, c->vocab_size, c->n_positions, &d)) cli_die("eval", ctx, NULL);
    } else {
        gptc_mt_read_params rp = gptc_mt_read_default_params();
        if (gptc_mt_pairs_read(ctx, path, tok, &rp, &d)) cli_die("eval", ctx, NULL);
    }
    if (d.max_src > (size_t)c->n_positions || d.max_tgt > (size_t)c->n_positions)
        cli_die("eval", NULL, "%s: sequences of %zu / %zu ids exceed max_position_embeddings %d", path, d.max_src,
                d.max_tgt, c->n_positions);
    int B = (int)batch, T = (int)d.max_tgt, E = (int)d.max_src;
    gptc_workspace *ws;
    if (gptc_workspace_new(ctx, m, B, T > E ? T : E, 0, &ws)) cli_die("eval", ctx, NULL);
    gptc_batch bt = {0};
    bt.tokens = malloc((size_t)B * T * sizeof *bt.tokens);
    bt.targets = malloc((size_t)B * T * sizeof *bt.targets);
    bt.enc_tokens = malloc((size_t)B * E * sizeof *bt.enc_tokens);
    bt.enc_mask = malloc((size_t)B * E * sizeof *bt.enc_mask);
    size_t *idx = malloc((size_t)B * sizeof *idx);
    if (!bt.tokens || !bt.targets || !bt.enc_tokens || !bt.enc_mask || !idx) cli_die("eval", NULL, "out of memory");
    int32_t pad = c->pad_token_id >= 0 ? c->pad_token_id : 0;
    double sum = 0;
    size_t count = 0;
    for (size_t first = 0; first < d.n; first += (size_t)B) {
        int k = (int)(d.n - first < (size_t)B ? d.n - first : (size_t)B);
        for (int b = 0; b < k; b++) idx[b] = first + (size_t)b;
        gptc_mt_fill(&d, idx, k, T, E, pad, c->decoder_start_token_id, &bt);
        size_t cnt = 0;
        for (size_t t = 0; t < (size_t)k * T; t++) cnt += bt.targets[t] != -100;
        if (!cnt) continue;
        float l;
        if (gptc_forward_batch(ctx, ws, &bt, &l)) cli_die("eval", ctx, "%s", path);
        sum += (double)l * (double)cnt;
        count += cnt;
    }
    *loss = count ? sum / (double)count : NAN;
    *tokens = count;
    free(bt.tokens);
    free(bt.targets);
    free(bt.enc_tokens);
    free(bt.enc_mask);
    free(idx);
    gptc_workspace_free(ws);
    gptc_mt_data_free(&d);
    gptc_mt_tokenizer_free(tok);
    gptc_model_free(m);
}

static int eval_translate(int argc, char **argv) {
    const char *hyp = NULL, *refs[64], *model_dir = NULL, *data = NULL;
    int n_refs = 0, json = 0;
    long batch = 16, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *t, *r;
        if (cli_opt_str(argc, argv, &i, "--task", &t)) continue;
        if (cli_opt_str(argc, argv, &i, "--hyp", &hyp)) continue;
        if (cli_opt_str(argc, argv, &i, "--ref", &r)) {
            if (n_refs == 64) cli_die("eval", NULL, "--ref: at most 64 reference files");
            refs[n_refs++] = r;
            continue;
        }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--data", &data)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--batch-size", 1, 4096, &batch)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        cli_bad_option("eval", argv[i]);
    }
    if (!!model_dir != !!data) cli_die("eval", NULL, "--task translate: --model DIR and --data FILE go together");
    if ((!hyp || !n_refs) && !model_dir) {
        fprintf(stderr, "gptc eval: --task translate needs --hyp FILE and --ref FILE, or --model DIR and --data FILE\n"
                "try `gptc eval --help`\n");
        return 2;
    }
    if (!!hyp != !!n_refs) cli_die("eval", NULL, "--task translate: --hyp FILE and --ref FILE go together");
    double loss = NAN;
    size_t tokens = 0;
    if (model_dir) {
        gptc_ctx *mc = cli_ctx("eval", (int)threads);
        mt_loss(mc, cli_model("eval", model_dir), data, batch, &loss, &tokens);
        gptc_ctx_free(mc);
        if (!hyp) {
            if (json) {
                printf("{\"loss\": ");
                json_num(loss);
                printf(", \"tokens\": %zu}\n", tokens);
            } else printf("loss: %.6f (perplexity %.4g) over %zu tokens\n", loss, exp(loss), tokens);
            return 0;
        }
    }
    gptc_ctx *ctx = cli_ctx("eval", 1);
    size_t n, nr;
    char **h = read_lines(ctx, hyp, &n);
    if (!n) cli_die("eval", NULL, "%s: no sentences", hyp);
    const char **all = calloc((size_t)n_refs * n, sizeof *all);
    char **rl[64];
    if (!all) cli_die("eval", NULL, "out of memory");
    for (int r = 0; r < n_refs; r++) {
        rl[r] = read_lines(ctx, refs[r], &nr);
        if (nr != n) cli_die("eval", NULL, "%s has %zu lines, %s has %zu: one reference a hypothesis", refs[r], nr, hyp, n);
        for (size_t i = 0; i < n; i++) all[(size_t)r * n + i] = rl[r][i];
    }
    gptc_bleu_score b;
    gptc_chrf_score c;
    gptc_status st = gptc_bleu_corpus(ctx, (const char *const *)h, n, all, (size_t)n_refs, &b);
    if (!st) st = gptc_chrf_corpus(ctx, (const char *const *)h, n, all, (size_t)n_refs, &c);
    if (st) cli_die("eval", ctx, "%s / %s", hyp, refs[0]);
    char bs[160], cs[160];
    gptc_bleu_signature((size_t)n_refs, bs, sizeof bs);
    gptc_chrf_signature((size_t)n_refs, cs, sizeof cs);
    if (json) {
        printf("{\"bleu\": %.17g, \"chrf\": %.17g, \"bleu_signature\": \"%s\", \"chrf_signature\": \"%s\", "
               "\"precisions\": [", b.score, c.score, bs, cs);
        print_json_doubles(b.precisions, 4);
        printf("], \"bp\": %.17g, \"ratio\": %.17g, \"hyp_len\": %ld, \"ref_len\": %ld, \"counts\": [%ld, %ld, %ld, %ld], "
               "\"totals\": [%ld, %ld, %ld, %ld], \"sentences\": %zu", b.bp, b.ratio, b.hyp_len, b.ref_len, b.counts[0],
               b.counts[1], b.counts[2], b.counts[3], b.totals[0], b.totals[1], b.totals[2], b.totals[3], n);
        if (model_dir) {
            printf(", \"loss\": ");
            json_num(loss);
            printf(", \"tokens\": %zu", tokens);
        }
        printf("}\n");
    } else { /* as sacreBLEU's Score.format() */
        printf("BLEU|%s = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %ld ref_len = %ld)\n", bs, b.score,
               b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp, b.ratio, b.hyp_len, b.ref_len);
        printf("chrF2|%s = %.2f\n", cs, c.score);
        if (model_dir) printf("loss: %.6f (perplexity %.4g) over %zu tokens\n", loss, exp(loss), tokens);
    }
    for (int r = 0; r < n_refs; r++) {
        gptc_free(rl[r][n]);
        free(rl[r]);
    }
    gptc_free(h[n]);
    free(h);
    free(all);
    gptc_ctx_free(ctx);
    return 0;
}
