/* cmd_classify.c: `gptc classify`: the label and class probabilities of each input line
 * with a sequence-classification model (adapter in the model directory applied). */
#include "cli.h"
#include "task_cli.h"
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc classify --model DIR|REPO [FILE] [--pairs] [--json] [--threads N]\n"
    "\n"
    "Classifies each non-empty line of FILE (default: stdin) with the classification model in\n"
    "DIR (GPT2/BertForSequenceClassification; a LoRA adapter in DIR is applied). Prints per line\n"
    "the label, a tab, and label=probability for every label; with --json one object per line:\n"
    "{\"text\", \"label\", \"probabilities\": {label: p, ...}}. A regression model (num_labels 1,\n"
    "problem_type \"regression\", e.g. STS-B) prints its score per line ({\"text\", \"score\"}).\n"
    "Texts longer than the context are cut to n_positions tokens.\n"
    "\n"
    "  --pairs            each line is a sentence pair, A<TAB>B (as gptc finetune\n"
    "                     --text-pair-column trains on them); --json adds \"text_pair\"\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  echo 'Great phone, works well.' | gptc classify --model run/model\n";

int cmd_classify(int argc, char **argv) {
    const char *model_dir = NULL, *path = NULL;
    long threads = 0;
    int json = 0, pairs = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_flag(argv, i, "--pairs")) { pairs = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (argv[i][0] == '-' && argv[i][1]) cli_bad_option("classify", argv[i]);
        if (path) cli_die("classify", NULL, "one input file at most (%s, %s)", path, argv[i]);
        path = argv[i];
    }
    if (!model_dir) {
        fprintf(stderr, "gptc classify: --model is required\ntry `gptc classify --help`\n");
        return 2;
    }
    model_dir = cli_model("classify", model_dir);
    gptc_ctx *ctx = cli_ctx("classify", (int)threads);
    gptc_model *m;
    gptc_tokenizer *tok;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("classify", ctx, model_dir);
    task_cli_need_gpt2("classify", m, model_dir, 1);
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("classify", ctx, NULL);
    const gptc_config *c = gptc_model_config(m);
    if (c->head != GPTC_HEAD_CLASSIFY)
        cli_die("classify", NULL, "%s: not a classification model (fine-tune one with gptc finetune --task classify)", model_dir);
    FILE *f = path && strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) cli_die("classify", NULL, "%s: cannot open", path);
    size_t n = 0, cap = 0;
    char **texts = NULL, *line = NULL;
    size_t lcap = 0;
    for (;;) {
        /* getline without POSIX: read by chunks */
        size_t len = 0;
        int ch;
        while ((ch = fgetc(f)) != EOF && ch != '\n') {
            if (len + 2 > lcap) {
                lcap = lcap ? lcap * 2 : 256;
                char *nl = realloc(line, lcap);
                if (!nl) cli_die("classify", NULL, "out of memory");
                line = nl;
            }
            line[len++] = (char)ch;
        }
        if (len && line[len - 1] == '\r') len--;
        int blank = 1;
        for (size_t k = 0; k < len; k++) blank &= line[k] == ' ' || line[k] == '\t';
        if (!blank) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                char **nt = realloc(texts, cap * sizeof *nt);
                if (!nt) cli_die("classify", NULL, "out of memory");
                texts = nt;
            }
            texts[n] = malloc(len + 1);
            if (!texts[n]) cli_die("classify", NULL, "out of memory");
            memcpy(texts[n], line, len);
            texts[n++][len] = 0;
        }
        if (ch == EOF) break;
    }
    if (f != stdin) fclose(f);
    free(line);
    int K = c->num_labels;
    gptc_labels lab;
    gptc_labels_from_config(c, &lab);
    float *probs = malloc((n ? n : 1) * (size_t)K * sizeof *probs);
    if (!probs) cli_die("classify", NULL, "out of memory");
    char **second = pairs ? calloc(n ? n : 1, sizeof *second) : NULL;
    if (pairs && !second) cli_die("classify", NULL, "out of memory");
    for (size_t i = 0; pairs && i < n; i++) { /* A<TAB>B: split in place */
        char *tab = strchr(texts[i], '\t');
        if (!tab) cli_die("classify", NULL, "%s: input %zu has no tab between the two texts of its pair (--pairs)",
                          path ? path : "<stdin>", i + 1);
        *tab = 0;
        second[i] = tab + 1;
    }
    if (n && gptc_classify_pairs(ctx, m, tok, texts, second, n, probs)) cli_die("classify", ctx, NULL);
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        if (json) {
            printf("{\"text\": ");
            cli_json_string(stdout, texts[i]);
            if (pairs) {
                printf(", \"text_pair\": ");
                cli_json_string(stdout, second[i]);
            }
            if (K == 1) {
                printf(", \"score\": %.6g}\n", p[0]);
                free(texts[i]);
                continue;
            }
            printf(", \"label\": ");
            cli_json_string(stdout, lab.name[best]);
            printf(", \"probabilities\": {");
            for (int k = 0; k < K; k++) {
                printf("%s", k ? ", " : "");
                cli_json_string(stdout, lab.name[k]);
                printf(": %.6f", p[k]);
            }
            printf("}}\n");
        } else if (K == 1) {
            printf("%.6g\n", p[0]);
        } else {
            printf("%s\t", lab.name[best]);
            for (int k = 0; k < K; k++) printf("%s%s=%.4f", k ? " " : "", lab.name[k], p[k]);
            printf("\n");
        }
        free(texts[i]);
    }
    free(texts);
    free(probs);
    free(second);
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
