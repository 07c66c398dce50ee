/* task_cli.h: what the fine-tuning task commands share (finetune, classify, answer,
 * eval --task): dataset options. */
#ifndef GPTC_CLI_TASK_CLI_H
#define GPTC_CLI_TASK_CLI_H

#include "cli.h"

/* --format csv|tsv|jsonl, --no-header, --text-column C, --label-column C, --text-pair-column C,
 * --skip-bad-lines */
int task_cli_table_opt(const char *cmd, int argc, char **argv, int *i, gptc_table_opts *t);
/* Classification and QA build BERT's inputs ([CLS] A [SEP] (B [SEP]), token types,
 * attention mask); chat needs a causal LM: a BERT is refused unless encoder_ok is 1. */
void task_cli_need_gpt2(const char *cmd, const gptc_model *m, const char *dir, int encoder_ok);
#define TASK_CLI_TABLE_USAGE                                                                         \
    "  --format csv|tsv|jsonl  (default by extension: .jsonl/.json, .tsv/.tab/.txt, else CSV)\n"     \
    "  --text-column C --label-column C   names in the header row (default text, label)\n"          \
    "  --text-pair-column C    the second text of sentence pairs (a JSONL key, e.g. text_pair):\n"  \
    "                          WordPiece [CLS] A [SEP] B [SEP] with token types, GPT-2's BPE\n"     \
    "                          A <|endoftext|> B, truncated longest-first as Hugging Face\n"       \
    "  --no-header             no header row: C are column numbers (default 1 and 2)\n"            \
    "  --skip-bad-lines        skip malformed rows (counted) instead of failing\n"

#endif
