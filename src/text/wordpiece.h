/* wordpiece.h: WordPiece (BERT) inside gptc_tokenizer: the settings of Hugging Face's
 * BertNormalizer, BertPreTokenizer, WordPiece model, BERT post-processor and WordPiece
 * decoder. The vocabulary lives in the tokenizer's token table (bpe.h): every line of
 * vocab.txt is an ordinary token (special ones included: the model matches them as any
 * other), and t->special lists the added tokens recognized in text. wordpiece.c encodes
 * and decodes, wordpiece_load.c reads and writes the files. */
#ifndef GPTC_TEXT_WORDPIECE_H
#define GPTC_TEXT_WORDPIECE_H

#include "bpe.h"

#define GPTC_WP_PREFIX_MAX 16

typedef struct gptc_wp {
    int clean_text;          /* BertNormalizer.clean_text */
    int chinese;             /* handle_chinese_chars (tokenize_chinese_chars) */
    int strip_accents;       /* -1: as lowercase (Hugging Face's None), 0, 1 */
    int lowercase;           /* lowercase (do_lower_case) */
    size_t max_chars;        /* max_input_chars_per_word (100) */
    char prefix[GPTC_WP_PREFIX_MAX + 1]; /* continuing_subword_prefix ("##") */
    size_t prefix_len;
    int32_t unk, cls, sep, pad, mask; /* role ids, -1 when absent (unk is always there) */
    int wrap;                /* post-processor: [CLS] A [SEP] (B [SEP]) */
    int cleanup;             /* the decoder's cleanup (tokenizer.json), per token */
    int cleanup_spaces;      /* clean_up_tokenization_spaces (tokenizer_config.json), whole text */
    size_t model_max_length; /* tokenizer_config.json's (0: none given) */
} gptc_wp;

/* Encodes text (special tokens recognized when allow_special) into *ids (malloc'ed),
 * with offsets (2 per id, malloc'ed) when offsets is not NULL. */
gptc_status gptc_wp_encode(gptc_ctx *ctx, const gptc_tokenizer *t, const char *text, size_t len, int allow_special,
                           int32_t **ids, size_t **offsets, size_t *n_ids);
/* The words BertNormalizer and BertPreTokenizer make of text under w's settings, each
 * (normalized, UTF-8, nchars code points) passed to fn; words over w->max_chars code
 * points (which encode as [UNK]) are left out. What the WordPiece trainer counts. */
typedef gptc_status (*gptc_wp_word_fn)(void *user, const unsigned char *word, size_t len, size_t nchars);
gptc_status gptc_wp_words(gptc_ctx *ctx, const gptc_wp *w, const char *text, size_t len, gptc_wp_word_fn fn, void *user);
/* transformers' BertTokenizerFast.decode. */
gptc_status gptc_wp_decode(gptc_ctx *ctx, const gptc_tokenizer *t, const int32_t *ids, size_t n_ids, char **text,
                           size_t *len);
/* Loads a WordPiece tokenizer: tokenizer.json (json_path, root: its parsed JSON; NULL
 * when there is none) and/or dir/vocab.txt, with dir's tokenizer_config.json and
 * special_tokens_map.json. */
gptc_status gptc_wp_load(gptc_ctx *ctx, const char *dir, const char *json_path, void *root, gptc_tokenizer **out);
/* cp's lower case as BertNormalizer has it (char::to_lowercase, Unicode 17.0): writes 1
 * to 3 code points into out and returns their count. */
int gptc_wp_lower(uint32_t cp, uint32_t out[3]);
/* Reads and parses a JSON file (duplicate keys rejected); messages name file:line:column. */
struct json_t;
gptc_status gptc_tok_json_open(gptc_ctx *ctx, const char *path, struct json_t **out);
/* vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json into dir. */
gptc_status gptc_wp_save(gptc_ctx *ctx, const gptc_tokenizer *t, const char *dir);

#endif
