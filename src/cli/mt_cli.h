/* mt_cli.h: what the translation commands share (finetune --task translate, translate,
 * eval --task translate): the model + tokenizer pair and the fine-tuning run. */
#ifndef GPTC_CLI_MT_CLI_H
#define GPTC_CLI_MT_CLI_H
#include "cli.h"

/* Loads the encoder-decoder in dir (resolved already) and its translation tokenizer,
 * checks that they fit (model_type marian, the tokenizer's ids within vocab_size, the
 * same eos), or exits with a message. */
void mt_cli_open(const char *cmd, gptc_ctx *ctx, const char *dir, gptc_model **m, gptc_mt_tokenizer **tok);
/* The same; with need_tok 0 a directory without a tokenizer gives *tok = NULL. */
void mt_cli_open_with(const char *cmd, gptc_ctx *ctx, const char *dir, gptc_model **m, gptc_mt_tokenizer **tok,
                      int need_tok);

typedef struct mt_cli_opts {
    float label_smoothing;
    long max_source_length, max_target_length; /* 0: n_positions */
    int metric_bleu;
    int skip_bad, format;
    long bleu_sentences;                         /* 0: all validation pairs */
    int group_by_length;
} mt_cli_opts;
#define MT_CLI_FINETUNE_USAGE                                                                          \
    "  translate  TSV source<TAB>target (no header) or JSONL {\"src\", \"tgt\"}: teacher forcing on an\n" \
    "             encoder-decoder (model_type marian: gptc init --arch marian, or OPUS-MT), labels =\n"  \
    "             target ids + </s>, decoder input = [decoder_start] + labels[:-1]; a batch is\n"  \
    "             padded to its longest source and labels\n"
#define MT_CLI_FINETUNE_OPTS                                                                           \
    "  --label-smoothing F     translate: label smoothing of the cross-entropy (0; Marian used 0.1)\n"  \
    "  --max-source-length N --max-target-length N  translate: truncate sources / labels to N ids\n"   \
    "                          (the last one </s>; default n_positions)\n"                              \
    "  --metric bleu|val_loss  translate: bleu = corpus BLEU of greedy translations of --val picks the\n" \
    "                          best model and drives --patience (default val_loss)\n"                   \
    "  --bleu-sentences N      translate: translate only the first N --val pairs for bleu (0: all)\n" \
    "  --group-by-length       translate: batches of pairs of similar length (Hugging Face's\n"        \
    "                          group_by_length: chunks of 50 batches sorted by length, the batches\n" \
    "                          shuffled), so little padding is computed\n"
/* `gptc finetune --task translate`; o holds the parsed trainer options. Returns the exit code. */
int mt_cli_finetune(const char *model_dir, const char *train_path, const char *val_path, const char *out_dir,
                    gptc_train_opts *o, long threads, int json, const mt_cli_opts *mo);
#endif
