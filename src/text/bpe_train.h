/* bpe_train.h: training a GPT-2-style byte-level BPE vocabulary: counting the
 * pre-tokenized words of text files (threads), then learning merges from the word
 * counts. Writing the files is bpe_write.h's; the CLI is cmd_tokenizer_train.c. */
#ifndef GPTC_TEXT_BPE_TRAIN_H
#define GPTC_TEXT_BPE_TRAIN_H

#include "../core/core.h"

/* Progress report: phase GPTC_BPE_PHASE_COUNT counts input bytes (done/total), phase
 * GPTC_BPE_PHASE_MERGE counts learned tokens. Called from the calling thread only
 * (during counting, from OpenMP thread 0), often: the callee rate-limits printing. */
enum { GPTC_BPE_PHASE_COUNT = 0, GPTC_BPE_PHASE_MERGE = 1 };
typedef void (*gptc_bpe_progress_fn)(void *user, int phase, uint64_t done, uint64_t total);

/* The unique pre-tokenized words ("pieces") with their counts. Not thread-safe. */
typedef struct gptc_bpe_words gptc_bpe_words;
gptc_status gptc_bpe_words_new(gptc_ctx *ctx, gptc_bpe_words **out);
void gptc_bpe_words_free(gptc_bpe_words *w); /* NULL is a no-op */
/* Adds count occurrences of the piece [piece, piece + len), len > 0. */
gptc_status gptc_bpe_words_add(gptc_ctx *ctx, gptc_bpe_words *w, const void *piece, size_t len,
                               uint64_t count);
size_t gptc_bpe_words_n_unique(const gptc_bpe_words *w);
uint64_t gptc_bpe_words_n_total(const gptc_bpe_words *w); /* sum of counts */
/* Word i (0 <= i < n_unique, in no particular order): bytes (valid until the next add)
 * and count. */
void gptc_bpe_words_get(const gptc_bpe_words *w, size_t i, const unsigned char **bytes, size_t *len,
                        uint64_t *count);
/* Writes "count<TAB>hex bytes\n" per unique word, sorted by bytes (a debugging aid and
 * the test's link to the reference trainer). */
gptc_status gptc_bpe_words_dump(gptc_ctx *ctx, const gptc_bpe_words *w, const char *path);

typedef struct gptc_bpe_count_params {
    int n_threads;             /* 0: the context's count */
    size_t chunk_bytes;        /* target size of one thread's piece of work; 0: 1 MiB */
    const char *const *special; /* special tokens: their occurrences are cut out of the */
    size_t n_special;           /* text before pre-tokenization and not counted */
    gptc_bpe_progress_fn progress;
    void *progress_user;
} gptc_bpe_count_params;

/* Pre-tokenizes text[0, len) with GPT-2's pattern and adds its pieces to w. Long text
 * is cut into chunks only at newlines where the cut cannot change the pieces (see
 * bpe_train.c), so the result equals a split of the whole text on one thread. */
gptc_status gptc_bpe_words_count_text(gptc_ctx *ctx, gptc_bpe_words *w, const char *text, size_t len,
                                      const gptc_bpe_count_params *params);
/* The same for files (memory-mapped; each file is one text). Messages name the file. */
gptc_status gptc_bpe_words_count_files(gptc_ctx *ctx, gptc_bpe_words *w, const char *const *paths,
                                       size_t n_paths, const gptc_bpe_count_params *params);

typedef struct gptc_bpe_train_params {
    size_t vocab_size;        /* ordinary tokens + special tokens; >= 256 + n_special */
    uint64_t min_frequency;   /* a pair is merged only when it occurs this often (>= 1) */
    const char *const *special;
    size_t n_special;
    gptc_bpe_progress_fn progress;
    void *progress_user;
} gptc_bpe_train_params;

gptc_bpe_train_params gptc_bpe_train_default_params(void);

/* A trained vocabulary. Ordinary token ids: 0..255 are the single bytes in GPT-2's
 * order (byte b has the rank of gptc_byte_to_cp(b) among the 256 code points, as in
 * GPT-2's encoder.json and Hugging Face's sorted ByteLevel alphabet), then one id per
 * learned token in the order learned. Special tokens follow: n_tokens.. in the order
 * given. Merges are in rank order; a pair whose bytes equal an existing token (a + bc
 * after ab + c) adds a merge but no token. */
typedef struct gptc_bpe_model {
    size_t n_tokens;
    unsigned char **tok;   /* tok[i]: bytes of token i (tok_len[i] of them) */
    size_t *tok_len;
    size_t n_merges;
    int32_t (*merges)[2];
    uint64_t *merge_count; /* the pair's count when it was merged */
    size_t n_special;
    char **special;
    int32_t *special_id;
    int stopped_early;     /* 1 when no pair reached min_frequency before vocab_size */
} gptc_bpe_model;

/* Learns merges from the word counts until vocab_size tokens (specials included) or no
 * pair occurs min_frequency times. Selection: the pair with the highest count; among
 * equal counts the pair whose (left token bytes, right token bytes) is smallest
 * (bytewise, a prefix before its extensions). *out is freed with gptc_bpe_model_free. */
gptc_status gptc_bpe_train(gptc_ctx *ctx, const gptc_bpe_words *w, const gptc_bpe_train_params *params,
                           gptc_bpe_model **out);
void gptc_bpe_model_free(gptc_bpe_model *m); /* NULL is a no-op */
/* vocab.json + merges.txt (+ special_tokens_map.json) into dir (created). */
gptc_status gptc_bpe_model_write(gptc_ctx *ctx, const gptc_bpe_model *m, const char *dir);

#endif
