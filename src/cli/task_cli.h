/* task_cli.h: what the fine-tuning task commands share (finetune, classify, answer,
 * eval --task): dataset options, the pad/separator ids, batched classification and
 * QA prediction over a loaded model. */
#ifndef GPTC_CLI_TASK_CLI_H
#define GPTC_CLI_TASK_CLI_H

#include "../tasks/tasks.h"

/* --format csv|tsv|jsonl, --no-header, --text-column C, --label-column C, --skip-bad-lines */
int task_cli_table_opt(const char *cmd, int argc, char **argv, int *i, gptc_table_opts *t);
#define TASK_CLI_TABLE_USAGE                                                                         \
    "  --format csv|tsv|jsonl  (default by extension: .jsonl/.json, .tsv/.tab/.txt, else CSV)\n"     \
    "  --text-column C --label-column C   names in the header row (default text, label)\n"          \
    "  --no-header             no header row: C are column numbers (default 1 and 2)\n"            \
    "  --skip-bad-lines        skip malformed rows (counted) instead of failing\n"

/* The token that pads rows and separates question from context: the model's pad_token_id,
 * else the tokenizer's <|endoftext|>, else eos_token_id, else 0. */
int32_t task_cli_pad_id(const gptc_config *c, const gptc_tokenizer *tok);

/* Class probabilities (n, num_labels) of n texts, in batches, each text cut to n_positions tokens. */
gptc_status task_cli_classify(gptc_ctx *ctx, gptc_model *m, const gptc_tokenizer *tok, char *const *texts, size_t n,
                              float *probs);

/* Predicted answer text per example (gptc_alloc'ed strings) and its score. */
typedef struct task_qa_opts { int max_length, stride, max_answer; } task_qa_opts;
void task_qa_opts_default(task_qa_opts *o);
gptc_status task_cli_qa_predict(gptc_ctx *ctx, gptc_model *m, const gptc_tokenizer *tok, const gptc_qa_set *s,
                                const task_qa_opts *o, char **answers, double *scores);

#endif
