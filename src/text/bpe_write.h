/* bpe_write.h: writes a byte-level BPE vocabulary in Hugging Face's files:
 * vocab.json ({"token": id}, tokens spelled with GPT-2's byte->unicode mapping),
 * merges.txt ("#version: 0.2" then one "left right" per line in rank order), the same
 * as tokenizer.json (tokenizers' format, as GPT2TokenizerFast saves it, special tokens
 * as added_tokens), tokenizer_config.json (GPT2Tokenizer, special token roles, ChatML's
 * chat_template when <|im_start|> and <|im_end|> are special tokens) and, when there are
 * special tokens, special_tokens_map.json. Each file is written atomically.
 * Used by the trainer (bpe_train.c) and by gptc_tokenizer_save (bpe.c). */
#ifndef GPTC_TEXT_BPE_WRITE_H
#define GPTC_TEXT_BPE_WRITE_H

#include "../core/core.h"

typedef struct gptc_bpe_spec {
    size_t n_tokens;                  /* ordinary tokens, ids 0..n_tokens-1 */
    const unsigned char *const *tok;  /* raw bytes of token i */
    const size_t *tok_len;
    size_t n_merges;                  /* merges in rank order: (left id, right id) */
    const int32_t (*merges)[2];
    size_t n_special;                 /* special tokens: text and id */
    const char *const *special;
    const int32_t *special_id;
    size_t model_max_length;          /* tokenizer_config.json's; 0: 1024 (GPT-2's) */
} gptc_bpe_spec;

gptc_status gptc_bpe_write_hf(gptc_ctx *ctx, const char *dir, const gptc_bpe_spec *spec);

#endif
