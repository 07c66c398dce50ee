/* cmd_answer.c: `gptc answer`: extractive question answering: the best span of a context
 * for a question, over windows of the context (run_qa.py's post-processing). */
#include "cli.h"
#include "task_cli.h"
#include "gptc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc answer --model DIR|REPO --context FILE --question TEXT [options]\n"
    "\n"
    "Finds the answer to TEXT in the context (a text file) with a question-answering model\n"
    "(GPT2ForQuestionAnswering or BertForQuestionAnswering, e.g. from gptc finetune --task qa).\n"
    "The context is cut into windows (question, separator, context window; a BERT reads\n"
    "[CLS] question [SEP] window [SEP] with token types) overlapping by --stride tokens; the\n"
    "answer is the context span with the highest start + end logit over all windows.\n"
    "\n"
    "  --max-answer-length N   longest answer in tokens (default 30)\n"
    "  --max-length N          tokens per window (default 384, at most n_positions)\n"
    "  --stride N              tokens shared by consecutive windows (default 128, at most max/4)\n"
    "  --json                  print {\"answer\", \"score\"}\n"
    "  --threads N\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc answer --model qa/model --context france.txt --question 'What is the capital?'\n";

int cmd_answer(int argc, char **argv) {
    const char *model_dir = NULL, *ctx_path = NULL, *question = NULL;
    long threads = 0, lv;
    int json = 0;
    gptc_qa_opts qo;
    gptc_qa_opts_default(&qo);
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--context", &ctx_path)) continue;
        if (cli_opt_str(argc, argv, &i, "--question", &question)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--max-answer-length", 1, 1 << 20, &lv)) { qo.max_answer = (int)lv; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--max-length", 4, 1 << 20, &lv)) { qo.max_length = (int)lv; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--stride", 0, 1 << 20, &lv)) { qo.stride = (int)lv; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("answer", argv[i]);
    }
    if (!model_dir || !ctx_path || !question) {
        fprintf(stderr, "gptc answer: --model, --context and --question are required\ntry `gptc answer --help`\n");
        return 2;
    }
    if (qo.max_answer < 1 || qo.max_length < 4 || qo.stride < 0)
        cli_die("answer", NULL, "--max-answer-length >= 1, --max-length >= 4 and --stride >= 0 are required");
    model_dir = cli_model("answer", model_dir);
    gptc_ctx *ctx = cli_ctx("answer", (int)threads);
    gptc_model *m;
    gptc_tokenizer *tok;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("answer", ctx, model_dir);
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("answer", ctx, NULL);
    char *text;
    size_t size;
    if (gptc_file_read(ctx, ctx_path, &text, &size)) cli_die("answer", ctx, NULL);
    if (!size || strlen(text) != size) cli_die("answer", NULL, "%s: empty, or holds a NUL byte", ctx_path);
    if (!*question) cli_die("answer", NULL, "--question is empty");
    gptc_qa_example ex;
    memset(&ex, 0, sizeof ex);
    ex.context = text;
    ex.question = (char *)question;
    gptc_qa_set set = {1, &ex};
    char *ans = NULL;
    double score = 0;
    if (gptc_qa_predict(ctx, m, tok, &set, &qo, &ans, &score)) cli_die("answer", ctx, NULL);
    if (json) {
        printf("{\"answer\": ");
        cli_json_string(stdout, ans);
        printf(", \"score\": %.6g}\n", isfinite(score) ? score : 0.0);
    } else {
        printf("%s\n", ans);
    }
    gptc_free(ans);
    gptc_free(text);
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
