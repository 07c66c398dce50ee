/* cmd_eval.c: `gptc eval`: mean next-token cross-entropy and perplexity of a model on
 * token ids, scored in consecutive windows of at most n_positions tokens; with --task,
 * classification metrics (eval_task.c's part: accuracy, per-class P/R/F1, confusion
 * matrix) and SQuAD exact match / F1 for extractive QA. */
#include "cli.h"
#include "task_cli.h"
#include "gptc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
    "usage: gptc eval --model DIR --tokens FILE [--batch-size N] [--threads N] [--json]\n"
    "       gptc eval --task classify|qa|lm --model DIR --data FILE [options] [--json]\n"
    "\n"
    "Scores whitespace-separated token ids in FILE (\"-\" for stdin) with the model in DIR:\n"
    "the mean next-token cross-entropy (nats) and the perplexity exp(loss). Inputs longer\n"
    "than the context are cut into consecutive windows of n_positions + 1 tokens (each\n"
    "window predicts n_positions tokens); each window starts a fresh context.\n"
    "\n"
    "  --model DIR        model directory (config.json + model.safetensors)\n"
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
    "\"confusion_matrix\", \"labels\"}.\n"
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
    "\n"
    "example:\n"
    "  gptc tokenize --model m < text.txt > ids.txt && gptc eval --model m --tokens ids.txt\n";

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

static int eval_task(int argc, char **argv, const char *task);

int cmd_eval(int argc, char **argv) {
    const char *model_dir = NULL, *tokens_path = NULL, *task = NULL, *data = NULL;
    long batch = 0, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--task", &task)) continue;
    }
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
    if (!is_cls && !is_qa) cli_die("eval", NULL, "--task %s: expected classify, qa or lm", task);
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
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
