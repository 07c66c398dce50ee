/* gptc.h: the public C API of libgptc, GPT-style transformer language models in C.
 * This header is the contract: every declaration says shapes, ownership and errors.
 * Nothing here prints or exits; failures return a gptc_status and leave a message
 * in the context, read with gptc_errmsg(). */
#ifndef GPTC_H
#define GPTC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPTC_VERSION "0.1.0"

/* ---------------------------------------------------------------- status codes */
typedef enum gptc_status {
    GPTC_OK = 0,
    GPTC_ENOMEM,   /* an allocation failed */
    GPTC_EIO,      /* a file could not be opened, read, written or renamed */
    GPTC_EFORMAT,  /* outside data is malformed (safetensors, JSON, vocab, tokens) */
    GPTC_EINVAL,   /* an argument or configuration value is invalid */
    GPTC_ERANGE,   /* a value is out of range (token id, index, size overflow) */
    GPTC_ENOTSUP,  /* valid but not supported (dtype, activation, encoding) */
    GPTC_EINTERNAL,/* a self-check failed (e.g. a BLAS kernel computed wrong results) */
    GPTC_ENET,     /* a server could not be reached, or refused the request (HTTP status) */
    GPTC_STATUS_COUNT
} gptc_status;

/* A short English name of a status code ("out of memory", ...). Never NULL. */
const char *gptc_strstatus(gptc_status s);

/* ---------------------------------------------------------------- context
 * A context holds the last error message, the thread count and the compute backend
 * (the BLAS kernel chosen for this CPU). One context per thread of use; a context is
 * not thread-safe, but separate contexts are independent. */
typedef struct gptc_ctx gptc_ctx;

typedef struct gptc_ctx_params {
    int n_threads;      /* 0: all cores the process may use */
    int quiet_backend;  /* reserved, 0 */
    /* 1: run every op on the scalar reference kernels (double accumulation, one
     * thread, slow): the oracle that tests hold the fast kernels against. */
    int reference_kernels;
} gptc_ctx_params;

gptc_ctx_params gptc_ctx_default_params(void);
/* Returns NULL only when memory is exhausted. */
gptc_ctx *gptc_ctx_new(const gptc_ctx_params *params);
void gptc_ctx_free(gptc_ctx *ctx); /* NULL is a no-op */
/* The message of the last failure in ctx ("" when none). Valid until the next call. */
const char *gptc_errmsg(const gptc_ctx *ctx);
int gptc_ctx_n_threads(const gptc_ctx *ctx);

/* How OpenMP threads wait at the end of a parallel region. libgomp's default spins
 * ~300000 rounds (milliseconds) before sleeping: when another process takes a core the
 * spinning threads burn the slices the late thread needs, and decoding fell from tens of
 * tokens/s to about 1 on a shared 2-core machine. Sleeping at once (OMP_WAIT_POLICY=
 * PASSIVE) holds up there but pays a wake-up at each of a decoding step's few hundred
 * regions: 2 threads decoded q8_0 GPT-2 at 50 tok/s passive against 87-99 with a spin
 * of GPTC_SPINCOUNT rounds, and about equally fast beside a busy process (BENCHMARKS.md).
 * libgomp reads these once, when it is loaded, so a program calls this first thing in
 * main(): when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, it sets
 * GOMP_SPINCOUNT=GPTC_SPINCOUNT and re-executes /proc/self/exe with the same argv (the
 * same process id). It returns only when there was nothing to do or the exec failed.
 * The gptc program, the benchmarks and the example call it; set either variable to
 * choose otherwise (OMP_WAIT_POLICY=PASSIVE: sleep at once). Decoding's batch-1 products
 * and attention do not use OpenMP: they run on gptc's own worker pool (docs/kernels.md),
 * whose workers poll between sched_yield calls and sleep after 2 ms without work. */
#define GPTC_SPINCOUNT "1000"
void gptc_openmp_wait(char **argv);

/* The matrix-multiply backend for this CPU, chosen on first use: which library and
 * kernel ("openblas 0.3.21 SkylakeX (openmp)", or "builtin"), and whether its self-check
 * passed. Fills a human-readable description into buf. Returns GPTC_OK or the error
 * of the backend initialization. */
gptc_status gptc_backend_describe(gptc_ctx *ctx, char *buf, size_t buf_size);

/* The CPU level the kernels run: "avx512", "avx2" or "scalar" (portable C), the best
 * this CPU has, capped by the environment variable GPTC_CPU (avx512, avx2 or scalar,
 * case-insensitive; unset or empty: no cap), read once, at the first call of this or of
 * any kernel. NULL when GPTC_CPU holds another value: the kernels then run their scalar
 * paths and gptc_backend_init (every model's first forward) fails naming the value.
 * The description of gptc_backend_describe ends with "cpu=<level>". Thread-safe. */
const char *gptc_cpu_level(void);

/* ---------------------------------------------------------------- memory and seeds
 * The one allocation pair of the library; what it returns (the strings and arrays
 * documented as gptc_alloc'ed) is released with gptc_free. gptc_alloc records an ENOMEM
 * message naming what in ctx when it fails (ctx may be NULL). Memory is 64-byte aligned.
 * gptc_calloc zeroes. Sizes that overflow fail cleanly. */
void *gptc_alloc(gptc_ctx *ctx, size_t n, const char *what);
void *gptc_calloc(gptc_ctx *ctx, size_t count, size_t size, const char *what);
void gptc_free(void *p);

/* splitmix64: the one small seeded generator of the library (initialization streams,
 * data order, dropout seeds, sampling seeds); advances *s. */
static inline uint64_t gptc_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- tokenizer
 * Byte-level BPE as GPT-2 (tiktoken "gpt2"), and the tiktoken encodings
 * r50k_base, p50k_base, cl100k_base, o200k_base; WordPiece as BERT (Hugging Face's
 * BertTokenizer: BertNormalizer, BertPreTokenizer, WordPiece). A tokenizer is immutable
 * after loading and may be used from several threads at once. */
typedef struct gptc_tokenizer gptc_tokenizer;

/* Loads from a directory or file: tokenizer.json, vocab.json + merges.txt,
 * encoder.json + vocab.bpe, a .tiktoken rank file, or a GGUF file's tokenizer.ggml.*
 * arrays (model "gpt2"); WordPiece from vocab.txt and/or a
 * tokenizer.json whose model.type is "WordPiece", with tokenizer_config.json
 * (do_lower_case, strip_accents, tokenize_chinese_chars, the special tokens' names) and
 * special_tokens_map.json beside them. A directory's tokenizer.json comes first;
 * vocab.json + merges.txt (vocab.txt) beside it must agree with it (GPTC_EFORMAT naming
 * both files otherwise). A tokenizer.json Split regex runs on PCRE2 unless it is one of
 * tiktoken's patterns (docs/tokenizer.md). */
gptc_status gptc_tokenizer_load(gptc_ctx *ctx, const char *path, gptc_tokenizer **out);
/* One of tiktoken's encodings by name, read from the data directory
 * ($GPTC_DATA_DIR, else the share/gptc folder next to the gptc program). */
gptc_status gptc_tokenizer_from_encoding(gptc_ctx *ctx, const char *name, gptc_tokenizer **out);
void gptc_tokenizer_free(gptc_tokenizer *tok);
/* Number of ids (ordinary + special). */
size_t gptc_tokenizer_n_vocab(const gptc_tokenizer *tok);
/* Id of a special token such as "<|endoftext|>" or "[MASK]", or -1. */
int32_t gptc_tokenizer_special_id(const gptc_tokenizer *tok, const char *text);

enum { GPTC_TOKENIZER_BPE = 0, GPTC_TOKENIZER_WORDPIECE = 1 };
/* GPTC_TOKENIZER_BPE or GPTC_TOKENIZER_WORDPIECE. */
int gptc_tokenizer_kind(const gptc_tokenizer *tok);
/* The ids of the special tokens' roles, -1 where the tokenizer has none. WordPiece:
 * [CLS] [SEP] [PAD] [MASK] [UNK] or the names tokenizer_config.json gives (a role's
 * token missing from vocab.txt is added after it, as transformers does); BPE: eos =
 * <|endoftext|> when present, the others -1. */
typedef struct gptc_tokenizer_roles { int32_t cls, sep, pad, mask, unk, eos; } gptc_tokenizer_roles;
void gptc_tokenizer_roles_get(const gptc_tokenizer *tok, gptc_tokenizer_roles *out);
/* 1 when model inputs are wrapped as [CLS] A [SEP] (B [SEP]) (WordPiece: BERT's
 * post-processor), 0 for BPE. */
int gptc_tokenizer_wraps_inputs(const gptc_tokenizer *tok);
/* A model's input for one text (b NULL) or a text pair, as gptc's tasks build it.
 * WordPiece: Hugging Face's tokenizer(a, b)["input_ids"] and ["token_type_ids"]:
 * [CLS] A [SEP] (types 0) B [SEP] (types 1); special tokens in the texts are recognized
 * (as BertTokenizer does). BPE: A, then <|endoftext|> and B for a pair (GPT-2 has no
 * separator token; <|endoftext|> is its bos/eos token, the one GPT2Tokenizer with
 * add_bos_token puts between the texts), special tokens in the texts not recognized,
 * types all 0 (GPTC_ENOTSUP for a pair when the tokenizer has no <|endoftext|>).
 * max_len > 0 truncates as tokenizer(a, b, truncation=True, max_length=max_len):
 * "longest_first", the added tokens counted (GPTC_EINVAL when max_len cannot hold them).
 * *ids and *types (types may be NULL) are malloc'ed, owned by the caller (free()). */
gptc_status gptc_tokenizer_encode_pair(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *a, size_t a_len,
                                       const char *b, size_t b_len, int max_len, int32_t **ids, int32_t **types,
                                       size_t *n_ids);
/* gptc_tokenizer_encode with each id's source bytes: offsets[2i], offsets[2i + 1] =
 * the byte range [begin, end) of text that id i stands for (Hugging Face's offset
 * mapping, in bytes; a WordPiece [UNK] covers its whole word). *offsets is malloc'ed
 * (2 * n_ids), owned by the caller (free()). */
gptc_status gptc_tokenizer_encode_offsets(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *text, size_t len,
                                          int allow_special, int32_t **ids, size_t **offsets, size_t *n_ids);

/* WordPiece training (text/wp_train.c) as Hugging Face tokenizers' WordPieceTrainer:
 * feed texts (normalized and split as BertTokenizer does: lower case and accents
 * stripped when lowercase), then train: the special tokens (ids 0..), the alphabet (the
 * limit_alphabet most frequent characters, 0: all, in code point order), the "##" forms
 * of the characters that continue words (by the number of distinct words they continue,
 * then code point), then the tokens of BPE merges
 * of the most frequent adjacent pair (ties: the pair of smaller ids; at least
 * min_frequency) until vocab_size tokens. Words over 100 characters are not counted. */
#define GPTC_WP_MAX_SPECIAL 64
typedef struct gptc_wp_train_params {
    size_t vocab_size;       /* tokens in all (30000) */
    uint64_t min_frequency;  /* 2 */
    size_t limit_alphabet;   /* 1000; 0: no limit */
    int lowercase;           /* do_lower_case */
    const char *const *special;
    size_t n_special;
} gptc_wp_train_params;
typedef struct gptc_wp_merge {
    int32_t token;    /* the id the merge made (or found) */
    uint64_t count;   /* the pair's count */
    int unique;       /* no other pair had that count (the order is tie-free) */
} gptc_wp_merge;
typedef struct gptc_wp_trainer gptc_wp_trainer;
void gptc_wp_train_default_params(gptc_wp_train_params *p);
gptc_status gptc_wp_trainer_new(gptc_ctx *ctx, const gptc_wp_train_params *p, gptc_wp_trainer **out);
gptc_status gptc_wp_trainer_feed(gptc_ctx *ctx, gptc_wp_trainer *t, const char *text, size_t len);
gptc_status gptc_wp_trainer_train(gptc_ctx *ctx, gptc_wp_trainer *t);
/* The vocabulary by id (strings owned by the trainer); the merges in order; distinct words. */
size_t gptc_wp_trainer_vocab(const gptc_wp_trainer *t, const char *const **tokens);
size_t gptc_wp_trainer_merges(const gptc_wp_trainer *t, const gptc_wp_merge **m);
size_t gptc_wp_trainer_words(const gptc_wp_trainer *t);
/* vocab.txt (one token a line, by id), tokenizer_config.json (do_lower_case,
 * tokenizer_class BertTokenizer), tokenizer.json and special_tokens_map.json into dir:
 * what gptc_tokenizer_load and transformers' BertTokenizer(Fast) read. */
gptc_status gptc_wp_trainer_save(gptc_ctx *ctx, const gptc_wp_trainer *t, const char *dir);
void gptc_wp_trainer_free(gptc_wp_trainer *t);

/* Encodes len bytes of text. Special tokens are recognized only when allow_special
 * is non-zero; otherwise their text is encoded as ordinary bytes. *ids is allocated
 * with malloc and owned by the caller (free()). Invalid UTF-8 is encoded byte-wise. */
gptc_status gptc_tokenizer_encode(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *text,
                                  size_t len, int allow_special, int32_t **ids, size_t *n_ids);
/* Decodes ids to raw bytes (which may be invalid UTF-8 when ids split a character).
 * WordPiece: as transformers' BertTokenizerFast.decode(ids): tokens joined by spaces,
 * "##" pieces glued to the one before, then clean_up_tokenization (" ." -> ".", " 's"
 * -> "'s", ...) when tokenizer_config.json's clean_up_tokenization_spaces is true (the
 * default); special tokens are kept.
 * *text is malloc'ed, NUL-terminated, owned by the caller; *len excludes the NUL.
 * An id out of range fails with GPTC_ERANGE naming the id and its position. */
gptc_status gptc_tokenizer_decode(gptc_ctx *ctx, const gptc_tokenizer *tok, const int32_t *ids,
                                  size_t n_ids, char **text, size_t *len);

/* Streaming decode: feed ids one at a time, get only complete UTF-8 characters out.
 * Bytes that can never become valid UTF-8 come out as U+FFFD. Byte-level BPE only
 * (GPTC_ENOTSUP for WordPiece). */
typedef struct gptc_decoder gptc_decoder;
gptc_status gptc_decoder_new(gptc_ctx *ctx, const gptc_tokenizer *tok, gptc_decoder **out);
void gptc_decoder_free(gptc_decoder *dec);
/* Appends the text completed by id to out (up to out_cap bytes; 64 is always enough
 * for one id of a GPT-2 vocabulary, out_cap >= 4 + longest token). *out_len = bytes written. */
gptc_status gptc_decoder_push(gptc_ctx *ctx, gptc_decoder *dec, int32_t id, char *out,
                              size_t out_cap, size_t *out_len);
/* Flushes what remains (an incomplete character becomes U+FFFD). */
gptc_status gptc_decoder_flush(gptc_ctx *ctx, gptc_decoder *dec, char *out, size_t out_cap,
                               size_t *out_len);

/* Writes vocab.json + merges.txt (+ special_tokens_map.json when there are special
 * tokens) into dir, each atomically. Only for GPT-2-pattern byte-level BPE. WordPiece:
 * vocab.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json, as
 * BertTokenizerFast saves them. */
gptc_status gptc_tokenizer_save(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *dir);
/* A new tokenizer: tok's ids, then the texts that are not special tokens of tok yet as
 * new special tokens, ids n_vocab, n_vocab + 1, ... in order (Hugging Face's
 * add_special_tokens). *n_added (may be NULL) = how many were new. tok is not changed. */
gptc_status gptc_tokenizer_add_special(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *const *texts, size_t n,
                                       gptc_tokenizer **out, size_t *n_added);

/* ---------------------------------------------------------------- SentencePiece
 * A SentencePiece .model file (the library's ModelProto; OPUS-MT's source.spm and
 * target.spm), unigram or BPE, encoded and decoded as the sentencepiece library 0.1.97
 * does: its normalizer (the precompiled charsmap, whitespace rules, the U+2581 escape),
 * user-defined pieces, the unigram Viterbi with its unknown-piece penalty, BPE merges
 * by score, byte fallback (<0xNN>) and decoding (docs/tokenizer.md). Immutable after
 * loading; may be used from several threads at once (each with its own context). */
typedef struct gptc_spm gptc_spm;

typedef enum gptc_spm_type {      /* ModelProto.SentencePiece.Type */
    GPTC_SPM_NORMAL = 1,
    GPTC_SPM_UNKNOWN = 2,
    GPTC_SPM_CONTROL = 3,
    GPTC_SPM_USER_DEFINED = 4,
    GPTC_SPM_UNUSED = 5,
    GPTC_SPM_BYTE = 6
} gptc_spm_type;

/* Reads a .model file. A malformed file (truncated, wrong wire types, lengths past the
 * end, bad enum values, duplicate or empty pieces, no <unk>, byte pieces missing with
 * byte_fallback, a broken charsmap) fails with GPTC_EFORMAT naming the file, the field
 * and the byte offset; WORD and CHAR models with GPTC_ENOTSUP. */
gptc_status gptc_spm_load(gptc_ctx *ctx, const char *path, gptc_spm **out);
/* The same from size bytes in memory (copied); name is used in messages. */
gptc_status gptc_spm_load_buffer(gptc_ctx *ctx, const void *data, size_t size, const char *name, gptc_spm **out);
void gptc_spm_free(gptc_spm *spm);   /* NULL is a no-op */

/* Number of pieces (ids 0..n-1). */
size_t gptc_spm_n_pieces(const gptc_spm *spm);
/* Piece i's text (*len bytes, not NUL-terminated), score and type; NULL when i is out
 * of range. */
const char *gptc_spm_piece(const gptc_spm *spm, int32_t id, size_t *len, float *score, gptc_spm_type *type);
/* The id of a piece's text as sentencepiece's PieceToId (control/unknown/byte pieces
 * first, then the others; the unknown id when none). */
int32_t gptc_spm_piece_to_id(const gptc_spm *spm, const char *piece, size_t len);
/* 1 for a BPE model, 0 for unigram. */
int gptc_spm_is_bpe(const gptc_spm *spm);
/* unk/bos/eos/pad ids as sentencepiece's unk_id() ... pad_id() (the piece named by the
 * trainer spec, when it has the right type), -1 when the model has none. */
typedef struct gptc_spm_special { int32_t unk, bos, eos, pad; } gptc_spm_special;
gptc_spm_special gptc_spm_special_ids(const gptc_spm *spm);

/* Encodes len bytes of text as SentencePieceProcessor::Encode does for one line (the
 * text is one sentence: a newline in it is a character like the others). *ids is
 * malloc'ed (free()); *n_ids may be 0. */
gptc_status gptc_spm_encode(gptc_ctx *ctx, const gptc_spm *spm, const char *text, size_t len, int32_t **ids,
                            size_t *n_ids);
/* The same with the pieces as spm_encode --output_format=piece prints them (a run of
 * unknown characters is one piece of their text; byte fallback gives "<0xNN>").
 * Everything in out is malloc'ed; release with gptc_spm_pieces_free. */
typedef struct gptc_spm_pieces {
    int32_t *ids;     /* n */
    char *text;       /* the pieces' bytes one after another */
    size_t *offsets;  /* n + 1: piece i is text[offsets[i], offsets[i + 1]) */
    size_t n;
} gptc_spm_pieces;
gptc_status gptc_spm_encode_pieces(gptc_ctx *ctx, const gptc_spm *spm, const char *text, size_t len,
                                   gptc_spm_pieces *out);
void gptc_spm_pieces_free(gptc_spm_pieces *p);
/* Decodes ids as SentencePieceProcessor::Decode: control pieces vanish, <unk> becomes
 * the unk surface (" \u2047 " unless the model says otherwise), byte pieces are joined
 * into UTF-8 (invalid bytes -> U+FFFD), U+2581 -> space, the leading space of the
 * dummy prefix is dropped, then the denormalizer (when the model has one). *text is
 * malloc'ed, NUL-terminated (*len excludes it). An id out of range fails with
 * GPTC_ERANGE naming it and its position. */
gptc_status gptc_spm_decode(gptc_ctx *ctx, const gptc_spm *spm, const int32_t *ids, size_t n_ids, char **text,
                            size_t *len);
/* The same for pieces given as text (SentencePieceProcessor::DecodePieces): each piece
 * goes through PieceToId, and an unknown one other than the <unk> piece itself comes out
 * as its own text. pieces[i] has lens[i] bytes. */
gptc_status gptc_spm_decode_pieces(gptc_ctx *ctx, const gptc_spm *spm, const char *const *pieces, const size_t *lens,
                                   size_t n, char **text, size_t *len);

/* ---------------------------------------------------------------- translation tokenizer
 * The tokenizer of a translation model directory (docs/translation.md), either
 * GPTC_MT_SPM: OPUS-MT's files as transformers' MarianTokenizer reads them: source.spm
 * and target.spm (SentencePiece), vocab.json ({"piece": id}, shared by both sides;
 * target_vocab.json for the target side when tokenizer_config.json has
 * "separate_vocabs": true), the token names unk_token / eos_token / pad_token of
 * tokenizer_config.json (default <unk>, </s>, <pad>, which vocab.json must hold); or
 * GPTC_MT_BPE: gptc's joint byte-level BPE (tokenizer.json or vocab.json + merges.txt,
 * as `gptc tokenizer-train` writes them on both sides' text), eos = the special token
 * eos_token names (default </s>, else <|endoftext|>), pad <pad> and unk <unk> when the
 * tokenizer has them (-1 otherwise). Immutable; may be used from several threads. */
typedef struct gptc_mt_tokenizer gptc_mt_tokenizer;
enum { GPTC_MT_SPM = 1, GPTC_MT_BPE = 2 };
enum { GPTC_MT_SOURCE = 0, GPTC_MT_TARGET = 1 };
typedef struct gptc_mt_ids {
    int32_t eos, pad, unk;  /* -1 when absent (BPE: pad, unk) */
    size_t n_vocab;         /* ids 0 .. n_vocab-1 (vocab.json: its largest id + 1) */
} gptc_mt_ids;
/* dir holds source.spm (then target.spm and vocab.json are required) or a BPE tokenizer.
 * Errors name the file: malformed vocab.json (not an object, ids not integers in
 * [0, 2^24), one id for two pieces), a role token missing from the vocabulary. */
gptc_status gptc_mt_tokenizer_load(gptc_ctx *ctx, const char *dir, gptc_mt_tokenizer **out);
void gptc_mt_tokenizer_free(gptc_mt_tokenizer *t); /* NULL is a no-op */
gptc_mt_ids gptc_mt_tokenizer_ids(const gptc_mt_tokenizer *t);
int gptc_mt_tokenizer_kind(const gptc_mt_tokenizer *t); /* GPTC_MT_SPM or GPTC_MT_BPE */
/* A sentence's ids as MarianTokenizer(text).input_ids (side GPTC_MT_SOURCE) or
 * (text_target=text).labels (GPTC_MT_TARGET): a language code ">>xx<<" at the start
 * becomes its own token and every ">>...<<" is removed from the text (MarianTokenizer's
 * language_code_re), the side's SentencePiece pieces map to ids through vocab.json
 * (a piece it lacks -> unk), then eos. BPE: gptc_tokenizer_encode (special tokens in
 * the text not recognized) then eos. max_len > 0 truncates to max_len ids keeping the
 * start and the final eos (max_len 1 is GPTC_EINVAL); 0: no limit. *ids is gptc_alloc'ed
 * (gptc_free); *n_ids >= 1. */
gptc_status gptc_mt_encode(gptc_ctx *ctx, const gptc_mt_tokenizer *t, int side, const char *text, size_t len,
                           int max_len, int32_t **ids, size_t *n_ids);
/* Target ids to text as MarianTokenizer.decode(ids, skip_special_tokens=True): eos, pad
 * and unk dropped, ids -> pieces (an id without a piece -> <unk>) -> target.spm's
 * decoding, U+2581 -> space, leading and trailing whitespace stripped, then
 * clean_up_tokenization when tokenizer_config.json says so (default off). BPE: eos, pad
 * and unk dropped, the rest decoded. Invalid UTF-8 (a byte-level BPE's split character)
 * becomes U+FFFD per maximal subpart, as Python's bytes.decode(errors="replace"). An id outside [0, n_vocab) is GPTC_ERANGE naming it
 * and its position. *text is gptc_alloc'ed, NUL-terminated (*len excludes the NUL). */
gptc_status gptc_mt_decode(gptc_ctx *ctx, const gptc_mt_tokenizer *t, const int32_t *ids, size_t n_ids, char **text,
                           size_t *len);
/* 1 for the ids gptc_mt_decode drops (eos, pad, unk). */
int gptc_mt_is_special(const gptc_mt_tokenizer *t, int32_t id);

/* ---------------------------------------------------------------- model config */
/* Element types. GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K: ggml's block formats (docs/quantization.md),
 * for weights only; GPTC_U8: raw bytes in a safetensors file (the quantized blocks are
 * stored so, with their format named in the file's __metadata__, docs/formats.md). */
typedef enum gptc_dtype {
    GPTC_F32 = 0, GPTC_F16, GPTC_BF16, GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K, GPTC_U8, GPTC_DTYPE_COUNT
} gptc_dtype;
/* "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "u8" */
const char *gptc_dtype_name(gptc_dtype d);
/* The dtype named (as gptc_dtype_name writes it; "float32", "float16", "bfloat16" too),
 * or GPTC_DTYPE_COUNT. */
gptc_dtype gptc_dtype_parse(const char *name);

enum { GPTC_HEAD_LM = 0, GPTC_HEAD_CLASSIFY, GPTC_HEAD_QA, GPTC_HEAD_COUNT };
/* Architectures (config.json "model_type"): GPT-2 ("gpt2"), BERT ("bert") and the
 * encoder-decoder Transformer in MarianMTModel's layout ("marian"). */
enum { GPTC_ARCH_GPT2 = 0, GPTC_ARCH_BERT, GPTC_ARCH_MARIAN, GPTC_ARCH_COUNT };
#define GPTC_MAX_LABELS 64
#define GPTC_LABEL_MAX 48

/* A regression's float label travels in an int32 target slot as its bits (batches and
 * task data hold int32 targets). */
static inline int32_t gptc_regression_target(float y) {
    int32_t t;
    memcpy(&t, &y, sizeof t);
    return t;
}
static inline float gptc_regression_value(int32_t t) {
    float y;
    memcpy(&y, &t, sizeof y);
    return y;
}

typedef struct gptc_config {
    int n_layer, n_head, n_embd, n_positions, vocab_size;
    int n_inner;                 /* MLP width; 0 means 4 * n_embd (GPT2Config) */
    float layer_norm_epsilon;    /* 1e-5 */
    float embd_pdrop, attn_pdrop, resid_pdrop; /* dropout probabilities (training only) */
    int bos_token_id, eos_token_id;
    char activation_function[16]; /* "gelu_new" (GPT-2) or "gelu" */
    /* Block options, so later architectures are configurations of one block. GPT-2:
     * causal = 1, pre_norm = 1, learned positions, no cross-attention. */
    int causal;          /* 1: causal self-attention; 0: bidirectional (BERT) */
    int pre_norm;        /* 1: x + f(ln(x)) (GPT-2); 0: ln(x + f(x)) (BERT, Transformer) */
    int sinusoidal_pos;  /* 1: fixed sinusoidal positions instead of learned wpe */
    int cross_attention; /* 1: blocks attend to an encoder output (encoder-decoder) */
    int tie_word_embeddings; /* 1: lm_head shares wte */
    /* The head on top of the transformer (Hugging Face's class in config.json's
     * "architectures"): GPTC_HEAD_LM (GPT2LMHeadModel), GPTC_HEAD_CLASSIFY
     * (GPT2ForSequenceClassification: score.weight [num_labels, n_embd], no bias, applied
     * to the last token that is not pad_token_id), GPTC_HEAD_QA (GPT2ForQuestionAnswering:
     * qa_outputs.weight [2, n_embd] + qa_outputs.bias [2], start and end logits). */
    int head;
    int num_labels;              /* CLASSIFY; 1: a regression (problem_type "regression"): one
                                    output, MSE loss, float labels (gptc_regression_target) */
    int pad_token_id;            /* -1: none */
    char id2label[GPTC_MAX_LABELS][GPTC_LABEL_MAX]; /* CLASSIFY: label names ("" = "LABEL_i") */
    /* BERT (arch GPTC_ARCH_BERT, BertConfig's names in config.json: hidden_size = n_embd,
     * num_hidden_layers = n_layer, num_attention_heads = n_head, intermediate_size =
     * n_inner, max_position_embeddings = n_positions, layer_norm_eps, hidden_act,
     * hidden_dropout_prob = embd_pdrop = resid_pdrop, attention_probs_dropout_prob =
     * attn_pdrop). The block is post-norm and bidirectional; heads: LM is
     * BertForPreTraining (MLM + NSP; BertForMaskedLM when mlm_only), CLASSIFY
     * BertForSequenceClassification (pooled [CLS] -> dropout -> classifier), QA
     * BertForQuestionAnswering (qa_outputs per token). */
    int arch;                    /* GPTC_ARCH_GPT2 (default) or GPTC_ARCH_BERT */
    int type_vocab_size;         /* BERT: token type (segment) embeddings, 2 */
    int mlm_only;                /* BERT LM head: 1 = BertForMaskedLM (no pooler, no NSP) */
    float classifier_dropout;    /* BERT CLASSIFY: dropout on the pooled output; < 0: hidden_dropout_prob */
    /* Marian (arch GPTC_ARCH_MARIAN, MarianConfig's names in config.json: d_model = n_embd,
     * max_position_embeddings = n_positions, dropout = embd_pdrop = resid_pdrop,
     * attention_dropout = attn_pdrop; activation_dropout must be 0). The model's layers
     * are the encoder's (enc_layers = encoder_layers) then the decoder's: n_layer =
     * encoder_layers + decoder_layers. n_head and n_inner are the decoder's
     * (decoder_attention_heads, decoder_ffn_dim), enc_n_head and enc_n_inner the
     * encoder's. Post-norm blocks, sinusoidal positions (computed, not stored),
     * causal decoder with cross-attention; eos_token_id 0, pad_token_id and
     * decoder_start_token_id the last id unless config.json says otherwise. */
    int enc_layers, enc_n_head, enc_n_inner;
    int decoder_start_token_id;  /* Marian: the decoder's first input (-1: none) */
    int scale_embedding;         /* Marian: embeddings times sqrt(d_model) */
    int share_embeddings;        /* Marian: share_encoder_decoder_embeddings (model.shared) */
} gptc_config;

/* GPT-2 124M defaults. */
gptc_config gptc_config_default(void);
/* BERT-base defaults (BertConfig()): 12 x 768, 12 heads, 3072, 512 positions, vocab
 * 30522, 2 token types, GELU (erf), eps 1e-12, dropout 0.1, pad_token_id 0. */
gptc_config gptc_config_bert_default(void);
/* Presets: "tiny", "small", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"; BERT's
 * "bert-tiny" (2 x 128), "bert-mini" (4 x 256), "bert-small" (4 x 512), "bert-base"
 * (12 x 768), "bert-large" (24 x 1024), as Google's BERT release names them.
 * Fails with GPTC_EINVAL for an unknown name (the message lists the known ones). */
gptc_status gptc_config_preset(gptc_ctx *ctx, const char *name, gptc_config *out);
/* Checks ranges and that n_embd is divisible by n_head. */
gptc_status gptc_config_validate(gptc_ctx *ctx, const gptc_config *cfg);
/* MarianConfig() defaults (transformers): 12 + 12 layers of d_model 1024, 16 heads, ffn
 * 4096, 1024 positions, vocab 58101, GELU (erf), dropout 0.1, attention and activation
 * dropout 0, no embedding scale, shared encoder/decoder embeddings, tied LM head, eos 0,
 * pad = decoder_start = 58100 (the last id), layer norm eps 1e-5. Presets for it
 * (gptc_config_preset): "marian-tiny" (2 + 2 layers, d 64, 2 heads, ffn 128, 128
 * positions), "marian-small" (3 + 3, d 256, 4 heads, ffn 1024, 256 positions) and
 * "transformer-base" (Vaswani et al.: 6 + 6, d 512, 8 heads, ffn 2048, 512 positions,
 * scaled embeddings); their vocab_size is MarianConfig's (set it to the tokenizer's, and
 * pad_token_id / decoder_start_token_id with it). */
gptc_config gptc_config_marian_default(void);

/* ---------------------------------------------------------------- model
 * A model is weights and config only. Once built (new or load, then optionally
 * set_head and a LoRA adapter) it is read-only for inference and may be shared: several
 * threads can run workspaces and sessions on one model at the same time. Training
 * writes the weights through a gptc_adamw step; the caller then must not run inference
 * on the same model concurrently. Per-call state lives elsewhere: activations in a
 * gptc_workspace, KV caches in a gptc_session, gradients in gptc_grads, optimizer
 * moments in gptc_adamw. */
typedef struct gptc_model gptc_model;

/* A new model with GPT-2's initialization: normal(0, 0.02) weights, residual output
 * projections (attn.c_proj, mlp.c_proj) normal(0, 0.02/sqrt(2*n_layer)), zero biases,
 * layer-norm weights 1; BERT and Marian (MarianPreTrainedModel) use their own:
 * normal(0, 0.02) weights and embeddings with the pad row zero, zero biases (and
 * final_logits_bias), unit norms. Deterministic for a seed. */
gptc_status gptc_model_new(gptc_ctx *ctx, const gptc_config *cfg, uint64_t seed, gptc_model **out);
/* Loads config.json + model.safetensors from a Hugging Face-layout directory
 * (F32/F16/BF16 tensors; names with or without "transformer."; lm_head optional),
 * converting every tensor to F32 (trainable). */
gptc_status gptc_model_load(gptc_ctx *ctx, const char *dir, gptc_model **out);
typedef struct gptc_load_params {
    /* GPTC_F32 (default): convert to F32. GPTC_BF16 / GPTC_F16: keep the matrices of
     * the blocks and the head in that type as stored (a file of another type is
     * converted to it), so inference reads half the memory; norms, biases and
     * embeddings stay F32. Such a model can run inference only (not train). */
    gptc_dtype weight_dtype;
} gptc_load_params;
gptc_load_params gptc_load_default_params(void);
gptc_status gptc_model_load_with(gptc_ctx *ctx, const char *dir, const gptc_load_params *p, gptc_model **out);
/* The type the block matrices are kept in (GPTC_F32 unless loaded otherwise). */
gptc_dtype gptc_model_weight_dtype(const gptc_model *m);
/* Writes config.json and model.safetensors (F32, or BF16 when dtype is GPTC_BF16) into
 * dir (created if missing), each atomically. */
gptc_status gptc_model_save(gptc_ctx *ctx, const gptc_model *m, const char *dir, gptc_dtype dtype);

/* Quantized model directories (docs/quantization.md): every 2-D matrix in ggml's q8_0,
 * q4_0 or q4_k blocks (or BF16), the token embedding and a tied or untied LM head
 * included unless keep_embeddings, as llama-quantize does; the position embedding,
 * task heads and 1-D tensors stay F32. A matrix whose input size is not a multiple of
 * the block (32; q4_k 256) falls back to q4_0 (q4_k, when a multiple of 32) or F32.
 * gptc_model_load reads such directories (the blocks kept as stored) for inference. */
typedef struct gptc_quantize_params {
    gptc_dtype type;     /* GPTC_Q8_0 (default), GPTC_Q4_0, GPTC_Q4_K or GPTC_BF16 */
    int keep_embeddings; /* 1: wte and lm_head stay F32 */
} gptc_quantize_params;
gptc_quantize_params gptc_quantize_default_params(void);
typedef struct gptc_quantize_stats {
    size_t n_tensors[GPTC_DTYPE_COUNT]; /* tensors written per dtype */
    size_t n_fallback;                  /* matrices not in params.type because of their shape */
    char first_fallback[64];            /* the first of them ("" if none) */
    size_t weight_bytes;                /* bytes of tensor data in model.safetensors */
} gptc_quantize_stats;
/* Writes config.json, generation_config.json (unless present) and model.safetensors of
 * m (loaded as F32, no adapter: merge it first) into dir, quantized as p says; each
 * file atomically. stats may be NULL. */
gptc_status gptc_model_save_quantized(gptc_ctx *ctx, const gptc_model *m, const char *dir,
                                      const gptc_quantize_params *p, gptc_quantize_stats *stats);
/* Writes m (a GPT2LMHeadModel; F32, or quantized as loaded) and tok to path as a GGUF v3
 * file for llama.cpp's gpt2 architecture (docs/formats.md): type GPTC_F32, GPTC_F16,
 * GPTC_Q8_0, GPTC_Q4_0 or GPTC_Q4_K for the matrices (GPTC_DTYPE_COUNT: as the model
 * keeps them); 1-D tensors and the position embedding F32. Atomically. A path given to
 * gptc_model_load(_with) that is a GGUF file is read as one (f32, f16, q8_0, q4_0,
 * q4_k; blocks kept as stored). */
gptc_status gptc_model_export_gguf(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const char *path,
                                   gptc_dtype type);
void gptc_model_free(gptc_model *m);
const gptc_config *gptc_model_config(const gptc_model *m);
/* Hugging Face's class of the model ("GPT2LMHeadModel", "BertForPreTraining", ...). */
const char *gptc_model_class(const gptc_model *m);
/* Number of parameters (floats of the parameter buffer, adapters included). */
size_t gptc_model_n_params(const gptc_model *m);
/* Bytes the model's weights take in memory as kept: the F32 parameter buffer, the
 * matrices kept as BF16/F16 and those kept in ggml's blocks (scales included). */
size_t gptc_model_weight_bytes(const gptc_model *m);

/* Parameter counts by kind. */
typedef struct gptc_param_counts {
    size_t embedding;  /* wte + wpe */
    size_t attention;  /* c_attn + attn.c_proj weights and biases */
    size_t mlp;        /* c_fc + mlp.c_proj weights and biases */
    size_t layernorm;  /* ln_1, ln_2, ln_f */
    size_t head;       /* untied lm_head (0 when tied) */
    size_t total;
} gptc_param_counts;
gptc_param_counts gptc_model_param_counts(const gptc_config *cfg);
/* Bytes of activations kept for backward at batch B x T (training), floats * 4. */
size_t gptc_model_activation_bytes(const gptc_config *cfg, int B, int T);

/* ---------------------------------------------------------------- workspace
 * The activations of forward (and backward) passes over one model for up to max_B x
 * max_T tokens, allocated once. One workspace per thread of use; the model is only
 * read. With training = 1 it keeps what backward needs. */
typedef struct gptc_workspace gptc_workspace;
gptc_status gptc_workspace_new(gptc_ctx *ctx, const gptc_model *m, int max_B, int max_T, int training,
                               gptc_workspace **out);
void gptc_workspace_free(gptc_workspace *ws); /* NULL is a no-op */
size_t gptc_workspace_bytes(const gptc_workspace *ws);
/* Dropout on (with its seed) or off. Each forward in training mode draws a new dropout
 * stream: call counts from 0 and can be read and set for exact resume. */
void gptc_workspace_set_training(gptc_workspace *ws, int training, uint64_t dropout_seed);
uint64_t gptc_workspace_dropout_calls(const gptc_workspace *ws);
/* Called by gptc_backward right after block `layer`'s gradients are complete (blocks
 * run last to first; the embeddings' and the head's are complete when backward
 * returns): where a data-parallel trainer sends a block's gradients while the earlier
 * blocks compute. A non-zero status stops backward with it. NULL: none. */
typedef gptc_status (*gptc_layer_hook)(gptc_ctx *ctx, void *user, int layer);
void gptc_workspace_set_layer_hook(gptc_workspace *ws, gptc_layer_hook fn, void *user);
void gptc_workspace_set_dropout_calls(gptc_workspace *ws, uint64_t calls);
/* Class weights for the CLASSIFY loss (num_labels floats, copied), NULL for none. */
gptc_status gptc_workspace_set_class_weights(gptc_ctx *ctx, gptc_workspace *ws, const float *w);
const float *gptc_workspace_class_weights(const gptc_workspace *ws); /* NULL when none */

/* Forward pass over tokens (B, T), row-major, B <= max_B, T <= max_T. When targets is
 * non-NULL, returns the loss in *loss (else *loss is not touched). What targets and
 * logits are depends on the head:
 *   LM:       targets (B, T) next-token ids, -100 ignored; mean cross-entropy over the
 *             rest; logits (B, T, V).
 *   CLASSIFY: targets (B) labels, -100 ignored; mean cross-entropy (weighted by the class
 *             weights when set: sum w_y l / sum w_y, as torch); logits (B, num_labels).
 *   QA:       targets (B, 2) start and end positions, clamped to [0, T] where T is
 *             ignored, (CE(start) + CE(end)) / 2 as GPT2ForQuestionAnswering;
 *             logits (B, T, 2) (start, end). */
gptc_status gptc_forward(gptc_ctx *ctx, gptc_workspace *ws, const int32_t *tokens, const int32_t *targets, int B,
                         int T, float *loss);
/* The same on a batch with the encoder's inputs (BERT): b->tokens (B, T), b->token_types
 * (NULL: all 0), b->attention_mask (NULL: none; else 1 a token, 0 padding, applied as
 * Hugging Face does: (1 - mask) * finfo.min added to the scores, so a row whose keys are
 * all padding attends uniformly), b->targets as above (BertForPreTraining: the MLM
 * labels (B, T), -100 where not predicted) and b->labels (next_sentence_label (B), 0
 * = B follows A, 1 = random, -100 ignored). A BERT's LM head is BertForPreTraining:
 * loss = mean MLM cross-entropy + mean NSP cross-entropy, logits (B, T, V) then (B, 2);
 * with gptc_forward its targets are the (B, T) labels followed by the (B) NSP labels. */
/* A Marian model (MarianMTModel) takes b->enc_tokens (B, enc_T) the source ids,
 * b->enc_mask (B, enc_T; NULL: none) the source padding mask (applied to the keys of the
 * encoder's self-attention and of every cross-attention, as Hugging Face does),
 * b->tokens (B, T) the decoder's input ids ([decoder_start] + labels[:-1]) and
 * b->targets (B, T) the labels, -100 ignored: loss = mean cross-entropy over the labels
 * that are not -100 (with label smoothing when set, see
 * gptc_workspace_set_label_smoothing); logits (B, T, V) = h W^T + final_logits_bias.
 * For it a workspace's max_T bounds both enc_T and T. b->attention_mask must be NULL
 * (the decoder is causal; padded labels are -100). */
struct gptc_batch;
gptc_status gptc_forward_batch(gptc_ctx *ctx, gptc_workspace *ws, const struct gptc_batch *b, float *loss);
/* Label smoothing of the LM cross-entropy from the next forward on, exactly as torch's
 * CrossEntropyLoss(label_smoothing=eps, ignore_index=-100): per counted position
 * (1 - eps) * -log p[y] + eps * mean over the vocabulary of -log p[c]; eps in [0, 1)
 * (0, the default: none). LM heads of GPT-2 and Marian; GPTC_EINVAL otherwise. */
gptc_status gptc_workspace_set_label_smoothing(gptc_ctx *ctx, gptc_workspace *ws, float eps);
/* BERT pre-training parts of the last forward with targets: sums of the MLM and NSP
 * cross-entropies and their counts (the losses are sum / count). */
typedef struct gptc_pretrain_parts {
    double mlm_sum, nsp_sum;
    int mlm_n, nsp_n;
} gptc_pretrain_parts;
gptc_pretrain_parts gptc_workspace_pretrain_parts(const gptc_workspace *ws);
/* The logits of the last forward (shape by head, see above). Valid until the next
 * forward or backward (backward reuses the buffer for their gradient; then NULL). */
const float *gptc_workspace_logits(const gptc_workspace *ws);

/* ---------------------------------------------------------------- gradients
 * A gradient buffer shaped like a model's parameters (frozen tensors get none). */
typedef struct gptc_grads gptc_grads;
gptc_status gptc_grads_new(gptc_ctx *ctx, const gptc_model *m, gptc_grads **out); /* zeroed */
void gptc_grads_free(gptc_grads *g);
void gptc_grads_zero(gptc_grads *g);
/* Global L2 norm of all gradients; when max_norm > 0 and the norm exceeds it, scales
 * the gradients by max_norm / (norm + 1e-6) as torch.nn.utils.clip_grad_norm_. */
float gptc_grads_clip(gptc_ctx *ctx, gptc_grads *g, float max_norm);
/* The gradient of tensor i (gptc_model_tensor numbering), NULL when it is frozen. */
float *gptc_grads_tensor(const gptc_grads *g, size_t i);
/* The whole buffer (n floats, tensors at their parameter offsets): for all-reduce. */
float *gptc_grads_data(gptc_grads *g, size_t *n);

/* Backward pass of the workspace's last forward with targets: adds
 * d(loss * loss_scale)/d(params) into g (call several times for accumulation, with
 * loss_scale = 1/steps). The workspace must have been made with training = 1. */
gptc_status gptc_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, float loss_scale);

/* ---------------------------------------------------------------- AdamW
 * torch.optim.AdamW semantics: decoupled weight decay applied to 2-D tensors only;
 * biases, layer-norm parameters are not decayed. The optimizer owns its moments; a step
 * updates the trainable tensors of the model it was made for. t counts steps from 1. */
typedef struct gptc_adamw_params {
    float lr, beta1, beta2, eps, weight_decay;
} gptc_adamw_params;
gptc_adamw_params gptc_adamw_default_params(void); /* 1e-3, 0.9, 0.999, 1e-8, 0.01 */
typedef struct gptc_adamw gptc_adamw;
gptc_status gptc_adamw_new(gptc_ctx *ctx, const gptc_model *m, gptc_adamw **out); /* zero moments */
void gptc_adamw_free(gptc_adamw *o);
gptc_status gptc_adamw_step(gptc_ctx *ctx, gptc_adamw *o, gptc_model *m, const gptc_grads *g,
                            const gptc_adamw_params *p, int t);
/* The moments of tensor i (exp_avg, exp_avg_sq), writable (checkpoints restore them). */
void gptc_adamw_tensor(const gptc_adamw *o, size_t i, float **m, float **v);

/* Replaces the model's head: GPTC_HEAD_CLASSIFY with num_labels labels (names, or NULL
 * for LABEL_0...), GPTC_HEAD_QA, or GPTC_HEAD_LM. The body is kept; a new head is
 * initialized normal(0, 0.02) with zero bias from seed, as transformers does. Call
 * before making workspaces, gradients or an optimizer for it, and before adding an
 * adapter. */
gptc_status gptc_model_set_head(gptc_ctx *ctx, gptc_model *m, int head, int num_labels, const char *const *labels,
                                uint64_t seed);
/* Grows the vocabulary to vocab_size ids (new special tokens): the token embedding and an
 * untied lm_head get new rows after the old ones, each the mean of the old rows (the centre
 * of transformers' resize_token_embeddings(mean_resizing=True) distribution;
 * docs/finetune.md), and cfg.vocab_size changes (config.json when saved). The logits of the
 * old ids are unchanged; a new id's logit is the mean of the old ones' for any input. Needs
 * an F32 model without an adapter; GPTC_EINVAL for a smaller size. Tensor pointers taken
 * from m before the call are invalid after it. Not thread-safe for m. */
gptc_status gptc_model_resize_vocab(gptc_ctx *ctx, gptc_model *m, int vocab_size);

/* LoRA (PEFT's layout and semantics): for each targeted layer (GPT-2's Conv1D W [in, out],
 * BERT's nn.Linear W [out, in]), out += (alpha / r) * dropout(x) @ A^T @ B^T with A [r, in]
 * (kaiming-uniform, bound 1/sqrt(in)) and B [out, r] (zeros). Adding an adapter freezes
 * the base weights; AdamW then trains the adapter and the task head only. target_modules
 * is a comma-separated list of module names matched as PEFT does (the name equals the
 * module's full name or ends it after a dot). GPT-2: c_attn, c_proj (attention and MLP
 * output), c_fc; "attn.c_proj" or "mlp.c_proj" for one of them. BERT (classification and
 * QA heads): query, key, value, attention.output.dense, intermediate.dense, output.dense
 * (both output denses; "attention.output.dense" or "layer.N.output.dense" for one).
 * Empty: PEFT's default for the architecture (GPT-2 c_attn, BERT query,value). */
typedef struct gptc_lora_params {
    int r;
    float alpha, dropout;
    char target_modules[128];
} gptc_lora_params;
gptc_lora_params gptc_lora_default_params(void); /* r 8, alpha 16, dropout 0.05, "" (PEFT's default) */
/* Must come before workspaces, gradients and optimizers are made for the model (they
 * are sized by its tensors); fails when the model already has an adapter. */
gptc_status gptc_model_lora_add(gptc_ctx *ctx, gptc_model *m, const gptc_lora_params *p, uint64_t seed);
/* adapter_config.json + adapter_model.safetensors (PEFT names:
 * base_model.model.transformer.h.N.attn.c_attn.lora_A.weight,
 * base_model.model.bert.encoder.layer.N.attention.self.query.lora_A.weight, ...; the head
 * as modules_to_save: base_model.model.score.weight, classifier.weight, ...) into dir. */
gptc_status gptc_model_lora_save(gptc_ctx *ctx, const gptc_model *m, const char *dir);
/* Attaches the adapter in dir to m (which must not have one). */
gptc_status gptc_model_lora_load(gptc_ctx *ctx, gptc_model *m, const char *dir);
/* Folds the adapter into the base weights (W += (alpha/r) B A, transposed for Conv1D) and
 * removes it. */
gptc_status gptc_model_lora_merge(gptc_ctx *ctx, gptc_model *m);
int gptc_model_has_lora(const gptc_model *m);

/* Named access to parameters, in Hugging Face names without prefix ("wte.weight",
 * "h.0.attn.c_attn.weight", ...). i in [0, n_tensors). data is NULL for a tensor
 * kept in a low-precision type (gptc_load_params). */
typedef struct gptc_tensor_info {
    const char *name;
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;  /* parameter values (F32) */
    int trainable; /* 0: frozen (a LoRA adapter freezes the base) */
} gptc_tensor_info;
size_t gptc_model_n_tensors(const gptc_model *m);
gptc_status gptc_model_tensor(const gptc_model *m, size_t i, gptc_tensor_info *out);

/* Attention probabilities of one layer for one sequence of T tokens (no dropout):
 * out receives (n_head, T, T), row i = the weights of query i over keys 0..T-1.
 * Makes its own workspace for the call. */
gptc_status gptc_model_attention(gptc_ctx *ctx, const gptc_model *m, const int32_t *tokens, int T, int layer, float *out);

/* ---------------------------------------------------------------- inference session
 * A KV cache for n_seq sequences of up to max_len tokens each over one model. Appending
 * a token costs one position (the prefix is never recomputed); the tokens go through
 * the same forward as training and evaluation, with the cache as the attention's keys
 * and values, so adapters and heads apply alike. The logits of a position are the
 * head's for that position: V floats for an LM, num_labels for a classifier (the
 * label distribution if the sequence ended there), 2 for QA (start, end); see
 * gptc_session_width. The model must outlive the session and may be shared by many
 * sessions (each its own thread); a session is not thread-safe. */
typedef struct gptc_session gptc_session;

/* max_len <= n_positions (0: n_positions). Allocates everything up front. */
gptc_status gptc_session_new(gptc_ctx *ctx, const gptc_model *m, int n_seq, int max_len, gptc_session **out);
void gptc_session_free(gptc_session *s);
/* Forgets the tokens of sequence seq (-1: all sequences); an encoded source stays. */
void gptc_session_reset(gptc_session *s, int seq);
/* Tokens held by sequence seq. */
int gptc_session_len(const gptc_session *s, int seq);
/* Sequences the session holds (its n_seq). */
int gptc_session_n_seq(const gptc_session *s);
/* Logits per position (V, num_labels or 2). */
int gptc_session_width(const gptc_session *s);
/* Makes sequence dst a copy of src (beam search, several samples of one prompt), its
 * encoded source included. */
gptc_status gptc_session_copy(gptc_ctx *ctx, gptc_session *s, int dst, int src);
/* Appends n tokens to sequence seq and writes the logits (width floats) of the last one
 * into logits (may be NULL). Fails with GPTC_ERANGE when the sequence would exceed max_len. */
gptc_status gptc_session_prefill(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n,
                                 float *logits);
/* One decoding step for n sequences at once: tokens[i] is appended to seqs[i] (distinct
 * sequences); logits receives (n, width). Batch-invariant: a sequence's logits are the
 * same bits whatever other sequences share the step (rows go through the few-row
 * kernels in groups of at most 8, whose per-row arithmetic does not depend on the
 * count). */
gptc_status gptc_session_step(gptc_ctx *ctx, gptc_session *s, const int *seqs, const int32_t *tokens, int n,
                              float *logits);
/* Prefill runs in chunks of this many rows from the sequence's first free position. The
 * keys and values of a position depend on its tokens and on which chunk computed it, so
 * a sequence prefilled in pieces that each end at a multiple of the chunk holds the same
 * bits as one prefilled at once (a server reuses cached prefixes at such boundaries). */
int gptc_session_prefill_chunk(const gptc_session *s);
/* Keeps the first len tokens of sequence seq (a longer len changes nothing). */
void gptc_session_truncate(gptc_session *s, int seq, int len);
/* Appends n tokens to sequence seq as gptc_session_prefill does and writes the final
 * hidden states (after the last layer norm) of all n rows into hidden (n, n_embd). */
gptc_status gptc_session_prefill_hidden(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n,
                                        float *hidden);
/* Bytes the session holds (KV cache + scratch). */
size_t gptc_session_bytes(const gptc_session *s);
/* Encoder-decoder models (Marian): runs the encoder once over the source ids src (n,
 * 1 <= n <= max_len; no padding) and keeps, for sequence seq, every decoder layer's
 * cross-attention keys and values of it; the sequence's decoder tokens are forgotten
 * (as gptc_session_reset). gptc_session_prefill/step then run the decoder over it
 * (start with decoder_start_token_id), gptc_session_copy copies the source state with
 * the tokens, and gptc_session_reset keeps it (a new gptc_session_encode replaces it).
 * Prefill or step of a sequence of such a model without a source fails. So
 * gptc_generate with a prompt of [decoder_start_token_id] on a session whose sequence 0
 * was encoded decodes a translation (beams and samples copy sequence 0). */
gptc_status gptc_session_encode(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *src, int n);
/* Source tokens held by sequence seq (0: none encoded). */
int gptc_session_src_len(const gptc_session *s, int seq);

/* ---------------------------------------------------------------- text generation
 * Greedy decoding, sampling and beam search over a KV-cache session, with Hugging Face's
 * GenerationConfig names and semantics. Logits go through the processors in HF's order:
 * repetition_penalty, no_repeat_ngram_size, presence/frequency penalties (OpenAI's),
 * then, only when do_sample, the warpers temperature, top_k, top_p, min_p, typical_p. */
#define GPTC_GEN_MAX_EOS 8
#define GPTC_GEN_MAX_STOP 8
#define GPTC_GEN_STOP_LEN 128

typedef struct gptc_gen_params {
    int max_new_tokens;        /* tokens to generate; -1 (default): use max_length */
    int max_length;            /* prompt + new tokens, used when max_new_tokens < 0; 20 */
    int do_sample;             /* 0: greedy (or beam search); 1: sample */
    float temperature;         /* 1.0; with do_sample, <= 0 means greedy */
    int top_k;                 /* 50; 0 = off (sampling only, as HF) */
    float top_p;               /* 1.0 = off */
    float min_p;               /* 0 = off */
    float typical_p;           /* 1.0 = off */
    float repetition_penalty;  /* 1.0 = off (CTRL: logit > 0 divided, < 0 multiplied) */
    int no_repeat_ngram_size;  /* 0 = off; counts the prompt, as HF */
    int num_return_sequences;  /* 1; <= num_beams with beam search */
    int num_beams;             /* 1; > 1: beam search (HF BeamSearchScorer); no sampling */
    float length_penalty;      /* 1.0: beam score = sum logprobs / generated_len^length_penalty */
    int early_stopping;        /* 0 (HF False: heuristic), 1 (True), 2 ("never") */
    /* End-of-sequence ids: n_eos < 0 (default) uses the model config's eos_token_id; 0 none. */
    int n_eos;
    int32_t eos_token_id[GPTC_GEN_MAX_EOS];
    /* Stop strings (HF stop_strings): a sequence ends once its generated text contains one.
     * Needs a tokenizer. The token that completes it is kept in the result. */
    int n_stop;
    char stop_strings[GPTC_GEN_MAX_STOP][GPTC_GEN_STOP_LEN];
    uint64_t seed;             /* sampling RNG seed: the same seed gives the same output */
    float presence_penalty;    /* OpenAI: logit -= presence * (count > 0), over generated tokens; 0 */
    float frequency_penalty;   /* OpenAI: logit -= frequency * count, over generated tokens; 0 */
    /* HF bad_words_ids of one token each ([[pad]] in Marian's generation_config.json): never
     * generated (NoBadWordsLogitsProcessor; longer sequences are GPTC_ENOTSUP when loaded). */
    int n_bad_words;
    int32_t bad_words_ids[GPTC_GEN_MAX_EOS];
    /* HF forced_eos_token_id (ForcedEOSTokenLogitsProcessor): when the sequence (prompt
     * included) reaches max_length - 1 tokens (max_length = prompt + max_new_tokens when
     * that is given), only this id may come next; -1 (default): off. */
    int32_t forced_eos_token_id;
    /* HF decoder_start_token_id: an encoder-decoder's first decoder input (-1 (default):
     * the model config's). Read by `gptc translate`; gptc_generate takes the prompt as given. */
    int32_t decoder_start_token_id;
} gptc_gen_params;

/* Hugging Face's GenerationConfig defaults (greedy, max_length 20, top_k 50, ...). */
gptc_gen_params gptc_gen_default_params(void);
/* Overrides fields of *p with those present in dir/generation_config.json (HF names;
 * null values are skipped; early_stopping may be true, false or "never"; eos_token_id and
 * stop_strings a value or a list; also seed, presence_penalty, frequency_penalty). A
 * missing file is not an error (returns GPTC_OK, *p untouched). */
gptc_status gptc_generation_config_load(gptc_ctx *ctx, const char *dir, gptc_gen_params *p);
/* Writes the fields of p that differ from the defaults (and eos_token_id) as
 * dir/generation_config.json, atomically. */
gptc_status gptc_generation_config_save(gptc_ctx *ctx, const char *dir, const gptc_gen_params *p);
/* Checks ranges (temperature >= 0, 0 < top_p <= 1, num_return_sequences <= num_beams, ...). */
gptc_status gptc_gen_params_validate(gptc_ctx *ctx, const gptc_gen_params *p);

typedef enum gptc_finish_reason {
    GPTC_FINISH_LENGTH = 0, /* max_new_tokens / max_length or the context was reached */
    GPTC_FINISH_EOS,        /* an eos_token_id was generated (it is the last token) */
    GPTC_FINISH_STOP,       /* a stop string appeared, or the callback asked to stop */
    GPTC_FINISH_COUNT
} gptc_finish_reason;
/* "length", "eos", "stop". */
const char *gptc_finish_reason_name(gptc_finish_reason r);

typedef struct gptc_gen_sequence {
    int32_t *tokens;           /* generated ids (prompt excluded); owned by the result */
    int n_tokens;
    gptc_finish_reason finish_reason;
    float score;               /* beam search: the length-penalized score; else sum of logprobs */
} gptc_gen_sequence;

typedef struct gptc_gen_result {
    int n_seq;                 /* num_return_sequences */
    gptc_gen_sequence *seqs;   /* best beam first */
} gptc_gen_result;
void gptc_gen_result_free(gptc_gen_result *r); /* NULL is a no-op */

/* Called once per generated token of sequence seq (0 .. num_return_sequences-1), in
 * order, as it is produced (greedy and sampling only: beam search calls it for the final
 * sequences at the end). Return non-zero to end that sequence (finish_reason "stop"). */
typedef int (*gptc_gen_callback)(void *user, int seq, int32_t token);

/* Generates continuations of prompt (n_prompt >= 1 ids). tok may be NULL unless stop
 * strings are given. s may be NULL (a session is made for the call), or a session with
 * at least max(num_beams, num_return_sequences) sequences whose sequence 0 already holds
 * a prefix of prompt (the caller's promise; only the rest is prefilled; a session holding
 * all of prompt or more is reset first). On return, with num_beams == 1, sequence 0 holds
 * prompt + result->seqs[0].tokens[0 .. gptc_session_len(s, 0) - n_prompt); with beams its
 * content is unspecified. A prompt longer than the context fails with GPTC_ERANGE.
 * *out is freed with gptc_gen_result_free. Not thread-safe for one model/session. */
gptc_status gptc_generate(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const gptc_tokenizer *tok,
                          const int32_t *prompt, int n_prompt, const gptc_gen_params *p,
                          gptc_gen_callback cb, void *user, gptc_gen_result **out);
/* gptc_generate for n_groups groups of sequences that step together (batched
 * translation: one group a source). With nseq = max(num_beams, num_return_sequences),
 * group j owns session sequences [j nseq, (j + 1) nseq) and starts from its first,
 * which may hold a prefix of prompt (as gptc_generate's sequence 0) and, for an
 * encoder-decoder, must hold an encoded source. s may be NULL only for a decoder-only
 * model (a session of n_groups nseq sequences is made). Greedy and sampled sequences
 * drop out of the steps as they finish; beam search runs HF's BeamSearchScorer per group
 * and a group leaves the steps when it is done. out receives n_groups results (free each
 * with gptc_gen_result_free): out[j] is the same, token for token and score for score,
 * as gptc_generate gives for group j alone (each group samples from its own RNG seeded
 * with p->seed; the session's step is batch-invariant). No callback. On failure every
 * out[j] is NULL. */
gptc_status gptc_generate_groups(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const gptc_tokenizer *tok,
                                 const int32_t *prompt, int n_prompt, int n_groups, const gptc_gen_params *p,
                                 gptc_gen_result **out);

/* ---------------------------------------------------------------- chat template
 * ChatML: "<|im_start|>{role}\n{content}<|im_end|>\n" per message, and for a reply
 * "<|im_start|>assistant\n". The markers are the tokenizer's special tokens when it has
 * them; else, when the model's vocabulary has two ids beyond the tokenizer's, those
 * (im_start = n_vocab, im_end = n_vocab + 1); else they are spelled as plain text and the
 * end of a turn is found as the stop string "<|im_end|>". The text between two markers
 * (role, "\n" and content) is encoded as one text, so with marker tokens that the
 * tokenizer names the ids are Hugging Face's apply_chat_template(messages, tokenize=True)
 * with the chat_template of tokenizer_config.json, and with text markers those of the
 * rendered conversation tokenized as one text. */
typedef struct gptc_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content;
} gptc_chat_message;

typedef struct gptc_chat_tokens {
    int32_t im_start, im_end; /* ids, or -1 when spelled as text */
    int32_t eos;              /* the tokenizer's "<|endoftext|>", or -1 */
    int beyond_vocab;         /* 1: im_start/im_end are ids past the tokenizer's vocabulary */
} gptc_chat_tokens;

/* The ChatML chat_template (Jinja) that gptc writes into tokenizer_config.json and
 * that gptc_chat_encode renders. */
extern const char gptc_chatml_template[];

/* Picks the marker ids for tokenizer tok and a model of vocab_size ids. */
void gptc_chat_tokens_resolve(const gptc_tokenizer *tok, int vocab_size, gptc_chat_tokens *out);
/* Encodes messages; add_generation_prompt appends "<|im_start|>assistant\n". Content is
 * encoded without special tokens (a user cannot inject markers). When assistant_mask is
 * non-NULL, (*assistant_mask)[i] = 1 for the tokens of assistant contents and their
 * closing marker + newline (the SFT loss positions). *ids and *assistant_mask are malloc'ed
 * (free()). Messages are encoded one by one, so the ids of a conversation's first k
 * messages are a prefix of the ids of all of them. */
gptc_status gptc_chat_encode(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_chat_tokens *ct,
                             const gptc_chat_message *msgs, int n_msgs, int add_generation_prompt,
                             int32_t **ids, size_t *n_ids, uint8_t **assistant_mask);

/* ---------------------------------------------------------------- streaming text
 * Generated ids to text as a reader should see it: only whole UTF-8 characters, and
 * nothing that may still turn into a stop string (that part is held back until the
 * next id decides). The text ends before the first stop string. Ids outside the
 * tokenizer's vocabulary (markers past it) add no text. */
typedef int (*gptc_text_cb)(void *user, const char *text, size_t len); /* non-zero: stop */
typedef struct gptc_text_stream gptc_text_stream;
/* Stop strings are taken from p (may be NULL: none); cb receives the pieces (may be NULL). */
gptc_status gptc_text_stream_new(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_gen_params *p,
                                 gptc_text_cb cb, void *user, gptc_text_stream **out);
void gptc_text_stream_free(gptc_text_stream *st);
/* Adds one id; *done (may be NULL) becomes 1 once a stop string appeared or the callback
 * asked to stop. */
gptc_status gptc_text_stream_push(gptc_ctx *ctx, gptc_text_stream *st, int32_t id, int *done);
/* Ends the text: an incomplete character becomes U+FFFD; what was held back goes out. */
gptc_status gptc_text_stream_finish(gptc_ctx *ctx, gptc_text_stream *st);
/* The whole text so far (up to a stop string), NUL-terminated; owned by the stream. */
const char *gptc_text_stream_text(const gptc_text_stream *st, size_t *len);
int gptc_text_stream_stopped(const gptc_text_stream *st); /* 1: a stop string ended it */

/* ---------------------------------------------------------------- chat
 * A conversation with a model in ChatML (gptc_chat_encode): messages, the oldest turns
 * dropped (after the system message) when the prompt and a reply would outgrow the
 * context, the KV cache kept across turns so only the new part is prefilled, the end of
 * a turn at the <|im_end|> id, the end-of-text id or the model's eos (or the text
 * "<|im_end|>" when the markers are text), replies streamed as whole characters. The
 * model and tokenizer must outlive the chat; a chat is not thread-safe (one per user). */
typedef struct gptc_chat gptc_chat;
/* p: reply settings (NULL: Hugging Face's defaults; max_new_tokens < 0 means 256;
 * num_return_sequences must be 1). system may be NULL. */
gptc_status gptc_chat_new(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_gen_params *p,
                          const char *system, gptc_chat **out);
void gptc_chat_free(gptc_chat *c);
/* Forgets the conversation, keeping the system message. */
void gptc_chat_reset(gptc_chat *c);
/* Sets (or with "" / NULL removes) the system message, kept first. */
gptc_status gptc_chat_set_system(gptc_ctx *ctx, gptc_chat *c, const char *system);
int gptc_chat_n_messages(const gptc_chat *c);
gptc_chat_message gptc_chat_get(const gptc_chat *c, int i); /* valid until the chat changes */
const gptc_gen_params *gptc_chat_params(const gptc_chat *c);
const gptc_chat_tokens *gptc_chat_markers(const gptc_chat *c);

typedef struct gptc_chat_reply {
    char *text;                  /* the reply (malloc'ed, free()) */
    size_t len;
    gptc_finish_reason finish;   /* eos: the turn ended; length: max_new_tokens; stop: stop string or callback */
    int trimmed;                 /* old turns dropped to make room */
    int n_prompt, n_reused;      /* prompt tokens, of which already in the KV cache */
    int n_tokens;                /* generated tokens */
} gptc_chat_reply;
/* Adds the user's message, generates the reply (pieces to cb as they come; cb may be
 * NULL; a non-zero return ends the reply) and adds it to the conversation. On failure
 * the user's message is taken back. A message longer than the context fails with
 * GPTC_ERANGE. */
gptc_status gptc_chat_send(gptc_ctx *ctx, gptc_chat *c, const char *user_text, gptc_text_cb cb, void *user,
                           gptc_chat_reply *out);

/* ---------------------------------------------------------------- HTTP server
 * An OpenAI-compatible HTTP server (libmicrohttpd) over loaded models: /v1/completions,
 * /v1/chat/completions (streaming as server-sent events), /v1/models, /v1/embeddings,
 * /tokenize, /detokenize, /health, /metrics and a chat page at / (docs/serve.md). Each
 * model gets a scheduler thread and `parallel` KV-cache slots in one session: requests
 * join and leave the decoding batch between steps (continuous batching), a prompt
 * prefix already in a slot's cache is reused, and a request's tokens are the same
 * whatever else runs beside it. The library never prints: log lines go to params.log. */
typedef struct gptc_server gptc_server;

typedef struct gptc_serve_model {
    const char *id;              /* the name requests give as "model" */
    const gptc_model *model;     /* an LM head; must outlive the server */
    const gptc_tokenizer *tok;   /* must outlive the server */
    gptc_gen_params defaults;    /* the model's generation settings (generation_config.json) */
} gptc_serve_model;

typedef void (*gptc_serve_log_fn)(void *user, const char *line);

typedef struct gptc_serve_params {
    const char *host;      /* "127.0.0.1"; an IPv4 address */
    int port;              /* 8080; 0: any free port (gptc_server_port tells which) */
    int parallel;          /* slots per model: sequences decoded together (4; 1..64) */
    int ctx_size;          /* tokens per slot (0: the model's n_positions) */
    const char *api_key;   /* NULL: none; else every /v1 route needs "Authorization: Bearer KEY" */
    double timeout_s;      /* a request not done after this many seconds gets 408 (0: none) */
    int queue_max;         /* requests waiting for a slot before 503 (64) */
    size_t max_body;       /* bytes of a request body before 413 (1 MiB) */
    int n_threads;         /* compute threads per model (0: all cores) */
    gptc_serve_log_fn log; /* may be NULL */
    void *log_user;
} gptc_serve_params;

gptc_serve_params gptc_serve_default_params(void);
/* Loads nothing: serves the n_models given (ids distinct). Binds host:port and starts
 * the threads; on return the server answers requests. Fails with GPTC_EIO naming the
 * address when it cannot listen, GPTC_EINVAL for bad parameters. */
gptc_status gptc_server_start(gptc_ctx *ctx, const gptc_serve_params *p, const gptc_serve_model *models, int n_models,
                              gptc_server **out);
int gptc_server_port(const gptc_server *s);
/* Stops accepting connections and waits until every request in flight is answered. */
void gptc_server_drain(gptc_server *s);
/* Drains, stops the threads and frees. NULL is a no-op. */
void gptc_server_free(gptc_server *s);

/* ---------------------------------------------------------------- sampling primitives
 * The logits processors of gptc_generate, on one row of V logits in place (removed tokens
 * become -INFINITY), exposed for tests and for callers that run their own loop. ids: the
 * n tokens seen so far. scratch: 2 * V ints, contents on entry do not matter. */
void gptc_logits_repetition_penalty(float *logits, int V, const int32_t *ids, int n, float penalty);
void gptc_logits_no_repeat_ngram(float *logits, int V, const int32_t *ids, int n, int ngram);
void gptc_logits_presence_frequency(float *logits, int V, const int32_t *ids, int n, float presence,
                                    float frequency, int *scratch);
void gptc_logits_temperature(float *logits, int V, float temperature);
void gptc_logits_top_k(float *logits, int V, int k, int min_keep, int *scratch);
void gptc_logits_top_p(float *logits, int V, float top_p, int min_keep, int *scratch);
void gptc_logits_min_p(float *logits, int V, float min_p, int min_keep, int *scratch);
void gptc_logits_typical_p(float *logits, int V, float mass, int min_keep, int *scratch);
/* Draws an id from softmax(logits) with u uniform in [0, 1); argmax when u < 0. */
int32_t gptc_logits_sample(const float *logits, int V, double u);

/* ---------------------------------------------------------------- files
 * Reading, mapping and writing files without losing any: atomic writes (a safe temp
 * file beside the target, fsync, rename), output directories swapped in as a whole.
 * Used by the library itself and offered to front ends. */
/* A read-only view of a whole file: memory-mapped when possible. */
typedef struct gptc_mapped {
    const unsigned char *data;
    size_t size;
    int is_mmap;
} gptc_mapped;

gptc_status gptc_file_map(gptc_ctx *ctx, const char *path, gptc_mapped *out);
void gptc_file_unmap(gptc_mapped *m);
/* A private, writable mapping of a whole file with its pages read in (writes copy the
 * page and never reach the file); *size is the file's size (not 0). Released by
 * gptc_file_unmap_private. */
gptc_status gptc_file_map_private(gptc_ctx *ctx, const char *path, void **out, size_t *size);
void gptc_file_unmap_private(void *p, size_t size);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (free with gptc_free). */
gptc_status gptc_file_read(gptc_ctx *ctx, const char *path, char **data, size_t *size);
int gptc_file_exists(const char *path);

/* Atomic write: the pieces are written to a fresh temp file beside path
 * (".<name>.gptc-tmp.<pid>.<random>", created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 * planted file or symlink is never followed), fsync'ed, renamed over path (a symlink at
 * path is replaced, not followed), and the directory is fsync'ed, every result checked.
 * On failure the old file at path is untouched and the temp file removed. */
/* Opens path for writing in place (append: at its end, else truncated; created when
 * missing) without following a symlink at path: a symlink there is an error naming the
 * path (ELOOP), so a planted link never redirects the writes. For logs that grow while
 * a run goes on (metrics.jsonl); whole files go through gptc_file_write_atomic. */
gptc_status gptc_file_open_nofollow(gptc_ctx *ctx, const char *path, int append, FILE **out);

typedef struct gptc_iovec { const void *data; size_t size; } gptc_iovec;
gptc_status gptc_file_write_atomic(gptc_ctx *ctx, const char *path, const gptc_iovec *parts, int n_parts);
/* The same for streaming writers: open, write (any number), then commit or abort. */
typedef struct gptc_atomic_file { FILE *f; char path[4096]; char tmp[4200]; } gptc_atomic_file;
gptc_status gptc_atomic_open(gptc_ctx *ctx, gptc_atomic_file *af, const char *path);
gptc_status gptc_atomic_write(gptc_ctx *ctx, gptc_atomic_file *af, const void *data, size_t n);
gptc_status gptc_atomic_commit(gptc_ctx *ctx, gptc_atomic_file *af);
void gptc_atomic_abort(gptc_atomic_file *af);

/* mkdir -p. */
gptc_status gptc_mkdirs(gptc_ctx *ctx, const char *path);
/* dir + "/" + name into out (fails with GPTC_EINVAL when it does not fit). */
gptc_status gptc_path_join(gptc_ctx *ctx, char *out, size_t cap, const char *dir, const char *name);



/* Copies src to dst atomically. */
gptc_status gptc_file_copy(gptc_ctx *ctx, const char *src, const char *dst);
/* Copies every regular file of src_dir into dst_dir (not recursive). */
gptc_status gptc_dir_copy_files(gptc_ctx *ctx, const char *src_dir, const char *dst_dir);
/* Removes a directory tree without following symlinks (a symlink is removed itself,
 * never what it points to). 0 when all is gone, -1 otherwise (best effort). */
int gptc_remove_tree(const char *path);

/* "<dir>/.<name>.gptc-<kind>.<pid>.<10 random letters>" for path "<dir>/<name>": the
 * names of temp files and directories beside path (gptc_dir_clean_stale knows them). */
gptc_status gptc_temp_name(gptc_ctx *ctx, char *out, size_t cap, const char *path, const char *kind);
/* fsync of a directory / of the directory holding path; the result is checked. */
gptc_status gptc_fsync_dir(gptc_ctx *ctx, const char *dir);
gptc_status gptc_fsync_parent(gptc_ctx *ctx, const char *path);

/* An output directory written as a whole (outdir.c). begin creates a fresh directory
 * od->tmp beside path (".<name>.gptc-tmp.<pid>.<random>", mkdir'ed so it is never an
 * existing file or symlink) and removes the temps of dead processes there; the writer
 * fills od->tmp; commit carries over from an existing path every entry whose name is
 * not in owned (NULL-terminated: the names this writer manages, so stale files of an
 * earlier model never survive while a user's own files do), fsyncs every file, swaps
 * od->tmp in (renameat2 RENAME_EXCHANGE; rename aside + rename in where that is not
 * supported), fsyncs the parent and removes the old tree. A reader sees the complete
 * old or the complete new directory. A symlink at path is refused, never followed.
 * On any failure (commit included) the temp is removed and path is left as it was. */
typedef struct gptc_outdir {
    char path[4096];
    char tmp[4400];
    const char *const *owned;
    int active;
} gptc_outdir;
gptc_status gptc_outdir_begin(gptc_ctx *ctx, gptc_outdir *od, const char *path, const char *const *owned);
gptc_status gptc_outdir_commit(gptc_ctx *ctx, gptc_outdir *od);
void gptc_outdir_abort(gptc_outdir *od);
/* The names a model directory holds (config, weights, adapter, tokenizer, generation and
 * checkpoint files), and a tokenizer directory's: NULL-terminated, for owned. */
extern const char *const gptc_model_dir_names[];
extern const char *const gptc_tokenizer_dir_names[];
/* Removes path by renaming it aside first, so a kill never leaves a half-removed
 * directory under its name; ENOENT is fine. */
gptc_status gptc_remove_dir_atomic(gptc_ctx *ctx, const char *path);
/* Removes the temps (".*.gptc-tmp.<pid>.*", ".*.gptc-old.<pid>.*") of processes that
 * no longer run from dir; legacy: also the names of earlier versions in run and
 * checkpoint directories (".tmp-step-N.<pid>", ".tmp-model.<pid>", "*.old.<pid>",
 * "*.tmp.<pid>"). */
void gptc_dir_clean_stale(const char *dir, int legacy);

/* ---------------------------------------------------------------- lines
 * The non-blank lines of a text buffer, counting every line (JSONL readers). */
typedef struct gptc_lines {
    const char *data;
    size_t size, pos;
    size_t line; /* 1-based number of the line last returned */
} gptc_lines;

static inline gptc_lines gptc_lines_of(const char *data, size_t size) {
    gptc_lines l = {data, size, 0, 0};
    return l;
}

/* The next non-blank line (without its '\n') in *s, *len; 0 at the end. */
static inline int gptc_lines_next(gptc_lines *l, const char **s, size_t *len) {
    while (l->pos < l->size) {
        const char *p = l->data + l->pos, *nl = memchr(p, '\n', l->size - l->pos);
        size_t n = nl ? (size_t)(nl - p) : l->size - l->pos;
        l->pos += n + 1;
        l->line++;
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\f' || p[k] == '\v')) k++;
        if (k == n) continue;
        *s = p;
        *len = n;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- token id files
 * Whitespace-separated token ids in a text file ("-" = stdin). */
/* *ids is allocated with gptc_alloc (free with gptc_free). vocab_size <= 0: no range check. */
gptc_status gptc_tokens_read_text(gptc_ctx *ctx, const char *path, long vocab_size, int32_t **ids, size_t *n);

/* ---------------------------------------------------------------- safetensors
 * The safetensors format (Hugging Face): header checked against the file, tensors
 * mapped, F32/F16/BF16 read as F32, files written atomically. */
#define GPTC_ST_MAX_DIMS 8

typedef struct gptc_st_tensor {
    char *name;
    gptc_dtype dtype;
    int ndim;
    int64_t shape[GPTC_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const unsigned char *data; /* into the mapping */
} gptc_st_tensor;

typedef struct gptc_safetensors {
    char path[4096];
    gptc_mapped map;
    gptc_st_tensor *tensors;
    size_t n_tensors;
    char **meta_keys, **meta_values; /* the header's "__metadata__" (string values) */
    size_t n_meta;
} gptc_safetensors;

/* Opens and validates path: header length within the file, valid JSON, known dtypes
 * (F32, F16, BF16, U8 (raw bytes: quantized blocks); others fail with GPTC_ENOTSUP naming the tensor and dtype), shapes
 * whose product matches the byte range, offsets inside the data section and not
 * overlapping. Every error names the file and the tensor. */
gptc_status gptc_st_open(gptc_ctx *ctx, const char *path, gptc_safetensors *out);
void gptc_st_close(gptc_safetensors *st);
/* The "__metadata__" value of key, NULL when absent. */
const char *gptc_st_meta(const gptc_safetensors *st, const char *key);
/* NULL when absent. */
const gptc_st_tensor *gptc_st_find(const gptc_safetensors *st, const char *name);
/* Converts a tensor's values to float (F16 and BF16 widened exactly). dst has numel. */
void gptc_st_to_f32(const gptc_st_tensor *t, float *dst);

/* Writer: entries are written in the given order with F32 data converted to dtype
 * (F32 or BF16, round-to-nearest-even), atomically. metadata: NULL or pairs
 * {key0, val0, key1, val1, ..., NULL}. */
typedef struct gptc_st_entry {
    const char *name;
    int ndim;
    int64_t shape[GPTC_ST_MAX_DIMS];
    const float *data;
    /* Optional (zero: unused). bytes: written as they are with dtype "U8" (numel = the
     * shape's product = the byte count; data ignored). f32: written as F32 whatever the
     * file's dtype (1-D tensors beside BF16 matrices). */
    const void *bytes;
    int f32;
} gptc_st_entry;
gptc_status gptc_st_write(gptc_ctx *ctx, const char *path, const gptc_st_entry *entries, size_t n,
                          gptc_dtype dtype, const char *const *metadata);

/* Old GPT-2 checkpoints' attention-mask buffers ("h.0.attn.bias", "h.0.attn.masked_bias",
 * any prefix): not parameters, accepted in any dtype (recorded with GPTC_DTYPE_COUNT). */
int gptc_st_is_mask_buffer(const char *name);

/* Half-precision conversions. */
float gptc_f16_to_f32(uint16_t h);
float gptc_bf16_to_f32(uint16_t h);
uint16_t gptc_f32_to_bf16(float f);
uint16_t gptc_f32_to_f16(float f);

/* ---------------------------------------------------------------- tokenizer training
 * Training a GPT-2-style byte-level BPE vocabulary: counting the pre-tokenized words of
 * text files (threads), then learning merges from the word counts. */
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

/* ---------------------------------------------------------------- training
 * Learning-rate schedules, token shards and the trainer loop of `gptc train` and
 * `gptc finetune`: checkpoints, exact resume, evaluation, early stopping, and the
 * seams of multi-process training (the gradient hook, the writer process). */
/* ---- learning-rate schedules, equal to Hugging Face's get_*_schedule_with_warmup.
 * step counts optimizer steps from 0 (the first step uses step 0: lr 0 in warmup). */
typedef enum gptc_sched_kind { GPTC_SCHED_CONSTANT, GPTC_SCHED_LINEAR, GPTC_SCHED_COSINE } gptc_sched_kind;
typedef struct gptc_schedule {
    gptc_sched_kind kind;
    float lr, min_lr;       /* min_lr: where linear/cosine decay ends (0 = HF's default) */
    long warmup, total;
} gptc_schedule;
float gptc_schedule_lr(const gptc_schedule *s, long step);
int gptc_schedule_parse(const char *name, gptc_sched_kind *out);

/* ---- token shards (docs/formats.md):
 *   bytes 0..7   magic "GPTCTOKS"
 *   8..11  u32   version (1)
 *   12..15 u32   bytes per token (2: uint16, 4: uint32)
 *   16..23 u64   token count
 *   24..31 u64   document count
 *   32..35 u32   vocabulary size the ids are below
 *   36..63       zero
 *   64..         tokens, little-endian */
#define GPTC_SHARD_MAGIC "GPTCTOKS"
#define GPTC_SHARD_HEADER 64
/* Copies the tokenizer files of a model directory (vocab.json, merges.txt, vocab.txt,
 * special_tokens_map.json, tokenizer.json, tokenizer_config.json, generation_config.json,
 * a translation model's source.spm, target.spm, target_vocab.json)
 * that exist in src into dst. */
gptc_status gptc_copy_tokenizer_files(gptc_ctx *ctx, const char *src, const char *dst);
/* Writes tokens atomically; width chosen by vocab_size (uint16 when it fits). */
gptc_status gptc_shard_write(gptc_ctx *ctx, const char *path, const int32_t *ids, size_t n, size_t n_docs,
                             uint32_t vocab_size);


/* ---- the trainer (trainer.c): the loop of `gptc train`, writing OUT/metrics.jsonl,
 * OUT/checkpoints/step-N/ and OUT/model/. It never prints: it reports events to the
 * caller's callback. */

/* One micro-batch: B rows of T positions. tokens and targets are always there; the
 * other fields are for architectures and tasks that need them and stay NULL unless the
 * data source asks for them (gptc_data_source.fields). Targets per row: T next-token
 * ids for a language model (-100 ignored), 1 label for a classifier, 2 positions for
 * QA (see gptc_forward). */
typedef struct gptc_batch {
    int B, T;                /* rows filled (at most the capacity) and positions per row */
    int32_t *tokens;         /* (B, T); encoder-decoder: the decoder's input ids */
    int32_t *targets;        /* (B, T), (B) or (B, 2) */
    float *attention_mask;   /* (B, T): 1 a token, 0 padding (bidirectional encoders) */
    int32_t *token_types;    /* (B, T): segment ids (BERT sentence pairs) */
    int32_t *enc_tokens;     /* (B, enc_T): encoder inputs (encoder-decoder) */
    int enc_T;
    int32_t *labels;         /* (B): a sequence label beside token targets (BERT's NSP) */
    float *enc_mask;         /* (B, enc_T): 1 a source token, 0 padding (encoder-decoder; NULL: none) */
} gptc_batch;
enum { GPTC_BATCH_ATTENTION_MASK = 1, GPTC_BATCH_TOKEN_TYPES = 2, GPTC_BATCH_ENC_TOKENS = 4, GPTC_BATCH_LABELS = 8 };

/* Where batches come from. gptc train uses token shards (lm_source.c); fine-tuning
 * tasks (tasks/) provide their own. */
typedef struct gptc_data_source {
    void *user;
    int targets_per_row;          /* 0: T (language modelling) */
    int fields;                   /* GPTC_BATCH_* the source fills beyond tokens and targets */
    int enc_T;                    /* encoder positions when GPTC_BATCH_ENC_TOKENS */
    size_t train_rows;            /* rows in one epoch (for --epochs) */
    /* The next training micro-batch of b->B rows of b->T; uses and advances *rng and
     * *pos, which the trainer saves in checkpoints (exact resume). A source may lower
     * b->T (and b->enc_T) to its batch's longest row: the rows are then laid out with
     * that stride (dynamic padding; targets_per_row 0 only). val_batch alike. */
    gptc_status (*train_batch)(gptc_ctx *ctx, void *user, gptc_batch *b, uint64_t *rng, uint64_t *pos);
    /* Validation: n_val_batches(B, T) batches; batch i fills b->B <= its capacity rows. */
    size_t (*n_val_batches)(void *user, int B, int T);
    gptc_status (*val_batch)(gptc_ctx *ctx, void *user, size_t i, gptc_batch *b);
    /* Optional metric over the validation batches (higher is better), e.g. f1_macro:
     * reset, then observe the logits of every batch, then metric. */
    const char *metric_name;      /* NULL: val loss decides the best model and early stopping */
    void (*val_reset)(void *user);
    void (*val_observe)(void *user, const float *logits, const int32_t *targets, int rows, int T);
    double (*val_metric)(void *user);
    /* With several ranks: the counts val_observe accumulates (e.g. a confusion matrix),
     * summed over the ranks before val_metric. NULL: none. */
    size_t (*val_counts)(void *user, long **counts);
    /* Optional metric computed from the model itself after the validation loss (higher is
     * better; e.g. BLEU of greedy translations of the validation sources): replaces
     * val_metric when set. m is only read. Every rank computes it. */
    gptc_status (*model_metric)(gptc_ctx *ctx, void *user, const struct gptc_model *m, double *out);
} gptc_data_source;

/* ---- several processes (train/dist.c): a run started by Open MPI's mpirun trains with
 * one trainer per rank. gptc links no MPI library; gptc_dist_open loads libmpi.so.40
 * (GPTC_MPI_LIB names another path) only when the environment says mpirun started this
 * process (OMPI_COMM_WORLD_SIZE). */
typedef struct gptc_dist gptc_dist;
int gptc_dist_launched(void); /* 1: started by mpirun */
/* Joins the job: *out = NULL (and GPTC_OK) when not started by mpirun. Every wait for
 * another rank fails after timeout_s seconds without an answer (<= 0: 300). */
gptc_status gptc_dist_open(gptc_ctx *ctx, double timeout_s, gptc_dist **out);
int gptc_dist_rank(const gptc_dist *d);       /* 0 for NULL */
int gptc_dist_size(const gptc_dist *d);       /* 1 for NULL */
int gptc_dist_local_size(const gptc_dist *d); /* ranks on this machine; 1 for NULL */
void gptc_dist_close(gptc_dist *d);           /* MPI_Finalize (every rank calls it); NULL is a no-op */
void gptc_dist_abort(gptc_dist *d, int code); /* MPI_Abort: ends every rank of the job */

typedef struct gptc_train_opts {
    const gptc_data_source *data; /* NULL: token shards in data_dir */
    /* Data parallelism (NULL or one rank: one process). Each rank trains batch_size
     * rows of every global batch of ranks * batch_size rows (rank r: rows r*b..r*b+b-1),
     * gradients are averaged (the same bits on every rank), rank 0 alone writes
     * (writer is ignored), validation is split across ranks and reduced. */
    gptc_dist *dist;
    int zero;                     /* 1: ZeRO stage 1 (each rank keeps its share of the AdamW moments) */
    int no_overlap;               /* 1: gradients are exchanged after backward, not block by block during it */
    /* More options of the run for run.json (a JSON object's text: the command line's
     * other options, so that run.json as --config repeats the run), or NULL. */
    const char *run_options;
    gptc_model *model;            /* a model to train (taken over and freed by the trainer), or NULL;
                                     on resume the checkpoint's model is used instead */
    const float *class_weights;   /* CLASSIFY loss weights (num_labels), or NULL */
    /* Called between backward and clipping with the step's accumulated gradients (the
     * place of a gradient all-reduce); non-zero status stops the run. */
    gptc_status (*after_backward)(gptc_ctx *ctx, void *user, gptc_grads *g);
    void *hook_user;
    /* 1 (default): this process writes metrics.jsonl, run.json, checkpoints and
     * OUT/model; 0: it trains and evaluates without writing (the other ranks of a
     * multi-process run), and resumes from the writer's checkpoints. */
    int writer;
    const char *tok_dir;          /* tokenizer files carried into model directories (NULL: data_dir/tokenizer) */
    const char *data_dir, *out_dir;
    const char *init_dir;       /* start from this model directory, or NULL */
    gptc_config cfg;            /* architecture when init_dir is NULL and not resuming;
                                   vocab_size <= 0 takes the data's vocabulary size */
    int resume;                 /* continue the run in out_dir from its newest checkpoint */
    int arch_given;             /* the user passed architecture options (checked on resume) */
    int batch_size, seq_len, grad_accum;
    long max_steps;             /* 0: derived from epochs */
    double epochs;
    gptc_schedule sched;        /* lr, min_lr, warmup, kind; total filled in by the trainer */
    float weight_decay, beta1, beta2, eps, grad_clip;
    float dropout;              /* < 0: keep the model's */
    uint64_t seed;
    int sequential;             /* --loader sequential */
    int eval_every, eval_batches, save_every, keep_last, patience;
    int sample_tokens;          /* tokens generated at each evaluation (0: none) */
    volatile int *stop;         /* set by a signal handler: checkpoint and return */
    float label_smoothing;      /* LM cross-entropy label smoothing (gptc_workspace_set_label_smoothing); 0: none */
} gptc_train_opts;

void gptc_train_default_opts(gptc_train_opts *o);

typedef enum gptc_train_event_kind {
    GPTC_EV_START, GPTC_EV_STEP, GPTC_EV_EVAL, GPTC_EV_SAMPLE, GPTC_EV_CHECKPOINT, GPTC_EV_EARLY_STOP,
    GPTC_EV_INTERRUPTED, GPTC_EV_DONE
} gptc_train_event_kind;

typedef struct gptc_train_event {
    gptc_train_event_kind kind;
    long step, max_steps, start_step;
    float train_loss, lr, grad_norm, val_loss, best_val_loss;
    double metric, best_metric;               /* when the data source has a metric */
    const char *metric_name;
    double tokens_per_s, elapsed_s;
    const int32_t *sample; size_t n_sample;   /* GPTC_EV_SAMPLE: generated ids */
    const char *path;                         /* checkpoint or model directory */
    size_t n_params, train_tokens, val_tokens;
} gptc_train_event;
typedef void (*gptc_train_cb)(void *user, const gptc_train_event *ev);

gptc_status gptc_train_run(gptc_ctx *ctx, const gptc_train_opts *o, gptc_train_cb cb, void *user);

/* The options of a run, saved as OUT/run.json at its start so that --resume continues
 * with the same ones (options given again on the command line override them).
 * Strings loaded are owned by the caller's buffer store (data_buf, data_cap). */
gptc_status gptc_train_opts_save(gptc_ctx *ctx, const gptc_train_opts *o, const char *path);
gptc_status gptc_train_opts_load(gptc_ctx *ctx, const char *path, gptc_train_opts *o, char *data_buf, size_t data_cap);
/* A run configuration file (--config FILE; a run's run.json is one): a JSON object whose
 * fields are option names (batch_size or batch-size) with a string, number, true (a
 * flag), or false / null (not given). Gives them as command-line arguments, "--name"
 * then the value (none for true): n_args strings, gptc_alloc'ed, freed with
 * gptc_run_config_args_free. Errors name the file and the field. */
gptc_status gptc_run_config_args(gptc_ctx *ctx, const char *path, char ***args, size_t *n_args);
void gptc_run_config_args_free(char **args, size_t n);

/* ---------------------------------------------------------------- fine-tuning tasks
 * Dataset readers (CSV/TSV/JSONL, SQuAD JSON), label maps, the classification, chat
 * (SFT) and extractive-QA data sources the trainer pulls batches from, prediction over
 * a loaded model, and the metrics (classification report, SQuAD EM/F1). */
/* ------------------------------------------------------------ text tables (dataset.c) */
enum { GPTC_FMT_AUTO = 0, GPTC_FMT_CSV, GPTC_FMT_TSV, GPTC_FMT_JSONL };

typedef struct gptc_table_opts {
    int format;            /* GPTC_FMT_*: AUTO picks by extension (.jsonl/.json, .tsv/.tab/.txt, else CSV) */
    int no_header;         /* CSV/TSV without a header row: columns are 1-based numbers */
    const char *text_col;  /* column name (or number with no_header); NULL: "text" / 1 */
    const char *label_col; /* NULL: "label" / 2 */
    const char *pair_col;  /* the second text of a sentence pair (column name or number, JSONL
                              key, e.g. "text_pair"); NULL: single texts */
    int need_label;        /* 1: every row must have a label */
    int skip_bad;          /* skip malformed rows (counted) instead of failing */
} gptc_table_opts;

typedef struct gptc_rows {
    size_t n;
    char **text;    /* n strings, each gptc_alloc'ed */
    char **label;   /* n strings or NULL when no label was read */
    char **text_pair; /* n second texts (pair_col), or NULL */
    size_t *line;   /* 1-based line of each row in its file */
    size_t n_skipped;
    char first_skip[256]; /* the message of the first skipped row */
} gptc_rows;

/* Reads rows of text (and label) from a CSV (RFC 4180 quoting), TSV (tab-separated, no
 * quoting) or JSONL file ({"text": ..., "label": string or number}). Errors name the
 * file and line: a missing column, malformed JSON, an empty text, a missing label. */
gptc_status gptc_rows_read(gptc_ctx *ctx, const char *path, const gptc_table_opts *o, gptc_rows *out);
void gptc_rows_free(gptc_rows *r);
int gptc_table_format(const char *path, int format);

/* ------------------------------------------------------------ labels */
typedef struct gptc_labels {
    int n;
    char name[GPTC_MAX_LABELS][GPTC_LABEL_MAX];
} gptc_labels;
/* The sorted set of labels in rows (numerically when all are integers). */
gptc_status gptc_labels_collect(gptc_ctx *ctx, const char *path, const gptc_rows *r, gptc_labels *out);
/* From a classification config's id2label ("" -> "LABEL_i"). */
void gptc_labels_from_config(const gptc_config *c, gptc_labels *out);
/* Id of label s, or -1. An integer i also matches a default name "LABEL_i". */
int gptc_labels_find(const gptc_labels *l, const char *s);
/* The labels of rows as numbers (a regression's scores, e.g. STS-B's 0-5); a label that is
 * not a finite number fails naming file and line. */
gptc_status gptc_labels_scores(gptc_ctx *ctx, const char *path, const gptc_rows *r, float *y);
/* Maps the labels of rows to ids; an unknown label fails naming file and line. */
gptc_status gptc_labels_map(gptc_ctx *ctx, const char *path, const gptc_labels *l, const gptc_rows *r, int32_t *ids);

/* ------------------------------------------------------------ BERT pre-training data (pretrain.c) */
/* Examples as JSONL lines {"input_ids": [...], "token_type_ids": [...] (default 0),
 * "attention_mask": [...] (default 1), "labels": [...] (-100 where not predicted; on
 * every line or none), "next_sentence_label": 0 (B follows A) | 1 (random) | -100
 * (default)}. Ids are checked against cfg's vocab_size and type_vocab_size, lengths
 * against max_len (0: no limit); errors name the file and line. */
typedef struct gptc_pretrain_data gptc_pretrain_data;
gptc_status gptc_pretrain_read(gptc_ctx *ctx, const char *path, const gptc_config *cfg, int max_len,
                               gptc_pretrain_data **out);
void gptc_pretrain_free(gptc_pretrain_data *d);
size_t gptc_pretrain_count(const gptc_pretrain_data *d);
size_t gptc_pretrain_max_len(const gptc_pretrain_data *d);
int gptc_pretrain_has_labels(const gptc_pretrain_data *d);
/* Masked-LM masking (DataCollatorForLanguageModeling / ...ForWholeWordMask). */
typedef struct gptc_mlm_params {
    float mlm_probability;        /* 0.15 */
    int32_t mask_token_id;        /* [MASK] */
    int vocab_size;               /* random replacements are drawn from [0, vocab_size) */
    const int32_t *special;       /* ids never masked ([CLS], [SEP], [PAD], ...) */
    int n_special;
    int whole_word_mask;          /* mask whole words: a token and its continuations */
    const unsigned char *continuation; /* vocab_size flags: the token continues a word ("##...") */
} gptc_mlm_params;
gptc_mlm_params gptc_mlm_default_params(void);
/* Rows idx[0..B) padded to T (pad id, mask 0, type 0, label -100) into bt's tokens,
 * targets, token_types, attention_mask and labels (NSP); with mlm non-NULL the rows'
 * own labels are replaced by a masking drawn from *rng. */
gptc_status gptc_pretrain_fill(gptc_ctx *ctx, const gptc_pretrain_data *d, const size_t *idx, int B, int T,
                               int32_t pad, const gptc_mlm_params *mlm, uint64_t *rng, struct gptc_batch *bt);
/* The trainer's source over train (masked at train time unless its lines carry labels)
 * and val (NULL: no evaluation; its own labels, or a masking fixed per batch). */
typedef struct gptc_pretrain_source gptc_pretrain_source;
gptc_status gptc_pretrain_source_new(gptc_ctx *ctx, const gptc_pretrain_data *train, const gptc_pretrain_data *val,
                                     int32_t pad, uint64_t seed, const gptc_mlm_params *mlm,
                                     gptc_pretrain_source **out);
void gptc_pretrain_source_free(gptc_pretrain_source *src);
const struct gptc_data_source *gptc_pretrain_source_data(const gptc_pretrain_source *src);

/* Sentence-pair examples from documents as google-research/bert's
 * create_pretraining_data makes them: per document, sentences gathered up to a target
 * length (max_seq_length - 3, or with short_seq_prob a random shorter one), split at a
 * random sentence into A and B; with probability 0.5 (always for a one-sentence chunk)
 * B is taken from a random other document instead (next_sentence_label 1, the unused
 * sentences go back), the pair truncated from the longer side's front or back at random,
 * written as [CLS] A [SEP] B [SEP] with token types 0 / 1: JSONL lines {"input_ids",
 * "token_type_ids", "next_sentence_label"}. Sentence i is ids[sent_off[i],
 * sent_off[i + 1]); document d holds sentences [doc_sent[d], doc_sent[d + 1]). Seeded;
 * *jsonl is gptc_alloc'ed (gptc_free). */
typedef struct gptc_pairs_params {
    int max_seq_length;   /* 128 */
    float short_seq_prob; /* 0.1 */
    uint64_t seed;
} gptc_pairs_params;
gptc_status gptc_pretrain_pairs(gptc_ctx *ctx, const int32_t *ids, const size_t *sent_off, const size_t *doc_sent,
                                size_t n_docs, int32_t cls, int32_t sep, const gptc_pairs_params *p, char **jsonl,
                                size_t *len, size_t *n_examples);

/* ------------------------------------------------------------ tokenized task data */
enum { GPTC_TASK_CLASSIFY = 0, GPTC_TASK_SFT, GPTC_TASK_QA };

/* Rows of tokens with their targets. CLASSIFY: tgt[i] = label; QA: tgt[2i], tgt[2i+1] =
 * start, end positions; SFT: tgt[off[i] + t] = next-token target of position t (-100 where
 * the loss does not count). */
typedef struct gptc_task_data {
    int kind;
    size_t n;
    size_t *off;     /* n + 1 */
    int32_t *ids;
    int32_t *tgt;
    size_t max_len;  /* longest row */
    int32_t *types;  /* token types parallel to ids (WordPiece inputs: 0 for [CLS] A [SEP], 1
                        for B [SEP]), or NULL; with them the data source fills the batch's
                        token_types and attention_mask (GPTC_BATCH_TOKEN_TYPES |
                        GPTC_BATCH_ATTENTION_MASK), which BERT takes and GPT-2 refuses */
} gptc_task_data;
void gptc_task_data_free(gptc_task_data *d);

/* Encodes texts (truncated to max_len tokens) with their label ids: each row (and its
 * text_pair) as gptc_tokenizer_encode_pair makes a model's input ([CLS] A [SEP] B [SEP]
 * with token types for WordPiece, A <|endoftext|> B for byte-level BPE), truncated
 * "longest_first" to max_len. */
gptc_status gptc_task_classify_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_rows *r,
                                     const int32_t *labels, int max_len, gptc_task_data *out);
/* Reads a chat JSONL ({"messages": [{"role", "content"}, ...]}), renders it with the chat
 * template for a model of vocab_size ids, and keeps the loss on assistant tokens only.
 * Conversations longer than max_len + 1 tokens are cut. */
gptc_status gptc_task_sft_read(gptc_ctx *ctx, const char *path, const gptc_tokenizer *tok, int vocab_size,
                               int max_len, int skip_bad, gptc_task_data *out, size_t *n_skipped);

/* Fills a padded (B, T) batch from rows idx[0..B): tokens padded with pad, targets as the
 * task wants (SFT pads with -100). */
void gptc_task_fill(const gptc_task_data *d, const size_t *idx, int B, int T, int32_t pad, int32_t *tokens,
                    int32_t *targets);

/* The token types (types, may be NULL) and attention mask (mask, may be NULL: 1 a token,
 * 0 padding) of rows idx[0..B) padded to T, as gptc_task_fill lays out their tokens. */
void gptc_task_fill_types(const gptc_task_data *d, const size_t *idx, int B, int T, int32_t *types, float *mask);

/* ------------------------------------------------------------ extractive QA (qa.c) */
typedef struct gptc_qa_example {
    char *context, *question, *id;
    int n_answers;
    char **answers;
    size_t *answer_start; /* byte offsets into context */
    size_t line;
} gptc_qa_example;

typedef struct gptc_qa_set {
    size_t n;
    gptc_qa_example *ex;
} gptc_qa_set;

/* SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas": [...]}]}]}) or JSONL, one
 * example a line: {"context", "question", "answers": {"text": [...], "answer_start": [...]}
 * or [{"text", "answer_start"}]}. answer_start counts characters (as Python); an offset
 * that does not point at its text fails naming file and line. need_answers: training data. */
gptc_status gptc_qa_read(gptc_ctx *ctx, const char *path, int need_answers, int skip_bad, gptc_qa_set *out,
                         size_t *n_skipped);
void gptc_qa_free(gptc_qa_set *s);

/* Windows: question tokens, the separator, then a window of the context (WordPiece,
 * BERT's input: [CLS] question [SEP] window [SEP], token types 0 then 1 from the window
 * on, the separator argument unused); windows start every (window - stride) context
 * tokens. A window holding the first answer's tokens targets them (the first context
 * token beginning at or before the answer, the first ending at or after its end, as
 * run_qa.py maps character offsets); another targets position 0. */
typedef struct gptc_qa_features {
    size_t n;           /* features */
    int T;              /* row length (max_length) */
    int32_t *ids;       /* (n, T), padded */
    int32_t *pos;       /* (n, 2) start/end positions in the row (0: no answer) */
    size_t *ex;         /* example of each feature */
    int *ctx_begin;     /* position in the row where the context window starts */
    int *ctx_len;       /* tokens of context in the row */
    size_t *win_start;  /* index of the window's first token among the context's tokens */
    /* per example: the context's tokens and their byte offsets */
    size_t n_ex;
    size_t **tok_off;   /* n_ex arrays of 2 * n_tokens byte offsets: [begin, end) of each
                           context token (gptc_tokenizer_encode_offsets) */
    int wrapped;        /* rows are [CLS] ... [SEP] ... [SEP] (data.types set) */
    size_t *n_ctx_tok;
    gptc_task_data data; /* the same rows as task data for the trainer */
} gptc_qa_features;

gptc_status gptc_qa_features_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_qa_set *s, int T, int stride,
                                   int32_t sep, int32_t pad, gptc_qa_features *out);
void gptc_qa_features_free(gptc_qa_features *f);
/* The best span of example e over its features: logits (n_feat, T, 2) of features
 * f0..f0+n_feat-1 (all of example e). Span of at most max_answer tokens, start <= end.
 * Writes the byte range of the context [*b, *e). Returns 0 when no span exists. */
int gptc_qa_best_span(const gptc_qa_features *f, size_t f0, size_t n_feat, const float *logits, int max_answer,
                      size_t *b, size_t *e, double *score);

/* ------------------------------------------------------------ data source (source.c) */
enum { GPTC_METRIC_VAL_LOSS = 0, GPTC_METRIC_ACCURACY, GPTC_METRIC_F1_MACRO, GPTC_METRIC_F1_WEIGHTED };
int gptc_metric_parse(const char *s);

typedef struct gptc_task_source gptc_task_source;
/* A data source over train/val (val may be NULL: no evaluation); the data must outlive
 * it. n_labels and metric for CLASSIFY (metric GPTC_METRIC_VAL_LOSS: the val loss
 * decides). */
gptc_status gptc_task_source_new(gptc_ctx *ctx, const gptc_task_data *train, const gptc_task_data *val, int32_t pad,
                                 uint64_t seed, int metric, int n_labels, gptc_task_source **out);
void gptc_task_source_free(gptc_task_source *src);
/* What the trainer pulls batches from (gptc_train_opts.data). */
const gptc_data_source *gptc_task_source_data(const gptc_task_source *src);
/* Sets the model's pad_token_id (saved in config.json; the classifier pools the last
 * token that is not pad). */
void gptc_task_model_set_pad(gptc_model *m, int32_t pad);

/* ------------------------------------------------------------ translation pairs (translate.c) */
/* Sentence pairs as ids: pair i's source ids src[src_off[i], src_off[i + 1]) (ending with
 * eos), its labels tgt[tgt_off[i], tgt_off[i + 1]) (the target ids with eos; -100 allowed
 * in pairs read by gptc_mt_ids_read), src_mask parallel to src (NULL: all 1). */
typedef struct gptc_mt_data {
    size_t n;
    size_t *src_off, *tgt_off;   /* n + 1 */
    int32_t *src, *tgt;
    float *src_mask;
    size_t *line;                /* 1-based line of each pair in its file */
    char **ref;                  /* the target texts (keep_references), else NULL */
    size_t max_src, max_tgt;     /* longest source / labels */
    size_t n_truncated_src, n_truncated_tgt;
    size_t n_skipped;            /* malformed lines skipped (skip_bad) */
    char first_skip[256];        /* the first skipped line's message */
} gptc_mt_data;
void gptc_mt_data_free(gptc_mt_data *d);

typedef struct gptc_mt_read_params {
    int format;                  /* GPTC_FMT_AUTO (.jsonl/.json: JSONL, else TSV), GPTC_FMT_TSV, GPTC_FMT_JSONL */
    int max_source_length;       /* > 1: truncate source ids to this many (the last is eos); 0: none */
    int max_target_length;       /* > 1: the same for labels */
    int skip_bad;                /* skip malformed lines (counted in n_skipped) instead of failing */
    int keep_references;         /* keep each target text in ref (for BLEU) */
} gptc_mt_read_params;
gptc_mt_read_params gptc_mt_read_default_params(void);
/* Reads sentence pairs: TSV lines source<TAB>target (exactly one tab; no header, no
 * quoting; a trailing \r dropped) or JSONL {"src": "...", "tgt": "..."}; blank lines are
 * skipped. Each side is encoded by tok (gptc_mt_encode: source side, target side), then
 * truncated. Errors name the file and line: no tab or several, malformed JSON, a missing
 * or non-string field, an empty (or all-whitespace) side; no pairs at all. */
gptc_status gptc_mt_pairs_read(gptc_ctx *ctx, const char *path, const gptc_mt_tokenizer *tok,
                               const gptc_mt_read_params *p, gptc_mt_data *out);
/* Reads JSONL examples of ids {"input_ids": [...], "labels": [...], "attention_mask":
 * [...]} (mask optional, on every line or none, as long as input_ids, 0/1); ids in
 * [0, vocab_size), labels also -100; at most max_len ids a field (0: 2^20). Errors name
 * the file, line and field. */
gptc_status gptc_mt_ids_read(gptc_ctx *ctx, const char *path, long vocab_size, int max_len, gptc_mt_data *out);
/* The teacher-forcing batch of pairs idx[0..B) into bt (its enc_tokens (B, enc_T),
 * enc_mask (B, enc_T) when not NULL, tokens and targets (B, T)): source ids padded with
 * pad (mask 1 on the ids, or their src_mask, 0 on padding), labels padded with -100,
 * decoder input = [start] + labels[:-1] with -100 as pad (transformers'
 * shift_tokens_right). Longer rows are cut to enc_T / T. Sets bt->B, T, enc_T. */
void gptc_mt_fill(const gptc_mt_data *d, const size_t *idx, int B, int T, int enc_T, int32_t pad, int32_t start,
                  struct gptc_batch *bt);
/* The trainer's data source over train / val (val may be NULL): fields
 * GPTC_BATCH_ENC_TOKENS (the trainer fills enc_mask too), enc_T = the longest source of
 * both. Shuffled epochs from (seed, position). Each batch is padded to its longest
 * source and labels (bt->enc_T and bt->T shrink to them), as DataCollatorForSeq2Seq
 * pads. With metric (needs val), the trainer's
 * model_metric: metric(ctx, metric_user, model, val, &value), named metric_name, decides
 * the best model and early stopping instead of the validation loss. */
typedef gptc_status (*gptc_mt_metric_fn)(gptc_ctx *ctx, void *user, const struct gptc_model *m,
                                         const gptc_mt_data *val, double *out);
typedef struct gptc_mt_source gptc_mt_source;
gptc_status gptc_mt_source_new(gptc_ctx *ctx, const gptc_mt_data *train, const gptc_mt_data *val, int32_t pad,
                               int32_t start, uint64_t seed, const char *metric_name, gptc_mt_metric_fn metric,
                               void *metric_user, gptc_mt_source **out);
void gptc_mt_source_free(gptc_mt_source *src);
const gptc_data_source *gptc_mt_source_data(const gptc_mt_source *src);
/* group_by_length (Hugging Face's LengthGroupedSampler): each epoch's shuffled rows are
 * cut into chunks of 50 global batches, a chunk sorted by length (a pair's longer side,
 * longest first) and cut into batches, the chunk's full batches then shuffled; so a
 * batch holds rows of similar length and pads little. Still a function of (seed,
 * position, batch size): resume sees the same batches. */
void gptc_mt_source_group_by_length(gptc_mt_source *src, int on);

/* Translates one source (ids ending with eos): encodes it into sequence 0 of s (NULL: a
 * session is made for the call; else one with max(num_beams, num_return_sequences)
 * sequences), then gptc_generate from [decoder_start] (p's decoder_start_token_id, else
 * the model's) with p: greedy, sampling or beam search with Hugging Face's semantics.
 * The result's tokens exclude the start token. A model that is not an encoder-decoder, a
 * source id out of range: GPTC_EINVAL / GPTC_ERANGE. */
gptc_status gptc_translate_ids(gptc_ctx *ctx, const struct gptc_model *m, gptc_session *s, const int32_t *src,
                               int n_src, const gptc_gen_params *p, gptc_gen_result **out);
/* Translates n sources (src[k]: n_src[k] ids ending with eos) in batches of up to
 * batch_size: the sources sorted by length (then position) are cut into batches, each
 * source is encoded once into its group of a session made for the call
 * (min(batch_size, n) x max(num_beams, num_return_sequences) sequences of
 * max(longest source, 1 + new tokens) positions), and the batch decodes together
 * (gptc_generate_groups: greedy/sampled sequences leave the steps as they finish, beam
 * search keeps a BeamSearchScorer per source). out[k] (n entries, each freed with
 * gptc_gen_result_free) is source k's result in input order, the same token for token
 * as gptc_translate_ids gives for it alone. Errors as gptc_translate_ids, naming the
 * source (1-based) when n > 1; on failure every out[k] is NULL. */
gptc_status gptc_translate_batch(gptc_ctx *ctx, const struct gptc_model *m, const int32_t *const *src,
                                 const int *n_src, size_t n, int batch_size, const gptc_gen_params *p,
                                 gptc_gen_result **out);
/* A gptc_mt_metric_fn: sacreBLEU corpus BLEU of the translations of the first
 * max_sentences (0: all) validation sources (gen: greedy unless told otherwise;
 * max_new_tokens < 0: the longest validation labels + 8) against their references
 * (pairs read with keep_references). user: a gptc_mt_bleu_params. */
typedef struct gptc_mt_bleu_params {
    const gptc_mt_tokenizer *tok;
    gptc_gen_params gen;
    size_t max_sentences;
    int batch_size;              /* sources translated together (gptc_translate_batch); 0: 16 */
} gptc_mt_bleu_params;
gptc_status gptc_mt_val_bleu(gptc_ctx *ctx, void *user, const struct gptc_model *m, const gptc_mt_data *val,
                             double *out);

/* ------------------------------------------------------------ prediction (predict.c) */
/* The token that pads rows and separates question from context: the model's pad_token_id,
 * else the tokenizer's <|endoftext|>, else eos_token_id, else 0. */
int32_t gptc_task_pad_id(const gptc_config *c, const gptc_tokenizer *tok);
/* Class probabilities (n, num_labels) of n texts (with their second texts when pairs is
 * not NULL, as gptc_tokenizer_encode_pair puts them together), in batches of 16 (1 without
 * a pad id), each input cut to n_positions tokens; a regression (num_labels 1) gives its
 * score (n values). The model is only read. */
gptc_status gptc_classify_pairs(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, char *const *texts,
                                char *const *pairs, size_t n, float *probs);
/* gptc_classify_pairs without second texts. */
gptc_status gptc_classify(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, char *const *texts, size_t n,
                          float *probs);
/* Extractive QA (run_qa.py's settings by default: max_length 384, stride 128, answers
 * of at most 30 tokens). */
typedef struct gptc_qa_opts { int max_length, stride, max_answer; } gptc_qa_opts;
void gptc_qa_opts_default(gptc_qa_opts *o);
/* The predicted answer text per example (gptc_alloc'ed strings, gptc_free) and its score
 * (may be NULL). */
gptc_status gptc_qa_predict(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_qa_set *s,
                            const gptc_qa_opts *o, char **answers, double *scores);

/* ------------------------------------------------------------ metrics (metrics.c) */
typedef struct gptc_cls_report {
    int K;
    long total;
    double accuracy;
    double precision_macro, recall_macro, f1_macro;
    double precision_weighted, recall_weighted, f1_weighted;
    double precision[GPTC_MAX_LABELS], recall[GPTC_MAX_LABELS], f1[GPTC_MAX_LABELS];
    long support[GPTC_MAX_LABELS];
} gptc_cls_report;
/* confusion[true * K + pred]; scikit-learn's definitions with zero_division = 0. */
void gptc_cls_report_compute(const long *confusion, int K, gptc_cls_report *out);
gptc_status gptc_confusion_svg(gptc_ctx *ctx, const char *path, const long *confusion, const gptc_labels *l);

/* SQuAD v1.1's answer normalization (lowercase, no punctuation, no articles a/an/the,
 * single spaces) into a gptc_alloc'ed string; exact match and token F1 of one
 * prediction against one gold answer. */
char *gptc_squad_normalize(gptc_ctx *ctx, const char *s);
double gptc_squad_em(gptc_ctx *ctx, const char *pred, const char *gold);
double gptc_squad_f1(gptc_ctx *ctx, const char *pred, const char *gold);
/* Matthews correlation coefficient of a confusion matrix (confusion[true * K + pred]), as
 * scikit-learn's matthews_corrcoef (multi-class: Gorodkin's R_K; 0 when undefined). */
double gptc_cls_mcc(const long *confusion, int K);
/* Pearson's r of n pairs (scipy.stats.pearsonr's statistic; NaN when an input is constant). */
double gptc_pearson(const double *x, const double *y, size_t n);
/* Spearman's rho: Pearson's r of the ranks, ties given their average rank
 * (scipy.stats.spearmanr's statistic). */
gptc_status gptc_spearman(gptc_ctx *ctx, const double *x, const double *y, size_t n, double *out);
/* KorQuAD 1.0's official exact match and F1 (evaluate-v1.0.py): quotes, 《》〈〉<>()‘’
 * become spaces, lower case, ASCII punctuation removed, white space collapsed; F1 counts
 * the characters of the answers (spaces left out), not their words. 1/0 and [0, 1]. */
double gptc_korquad_em(gptc_ctx *ctx, const char *pred, const char *gold);
double gptc_korquad_f1(gptc_ctx *ctx, const char *pred, const char *gold);

/* ------------------------------------------------------------ Hugging Face Hub (hub/)
 * Models by name: a model repository of the Hugging Face Hub (or of any server that
 * speaks its protocol: HF_ENDPOINT) downloaded into Hugging Face's own cache, so files
 * that transformers or huggingface_hub already downloaded are found and shared, and
 * what gptc downloads they find. The cache (docs/hub.md):
 *   CACHE/models--ORG--NAME/blobs/ETAG           the files' bytes, named by their ETag
 *                          /refs/REV             the commit id a branch or tag points to
 *                          /snapshots/COMMIT/F   relative symlinks ../../blobs/ETAG
 * CACHE is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. A blob appears under
 * its name only when complete and checked (sha256 for LFS files, the git blob id for
 * the others); an interrupted transfer stays in blobs/ETAG.incomplete and is resumed
 * with a Range request. Several processes may pull at once: each blob is written under
 * the same lock file huggingface_hub takes (CACHE/.locks/models--ORG--NAME/ETAG.lock). */
typedef enum gptc_hub_event_kind {
    GPTC_HUB_FILE_START, /* a file is about to be fetched (total: its size, 0 unknown) */
    GPTC_HUB_FILE_BYTES, /* done of total bytes of it are in blobs/ETAG.incomplete */
    GPTC_HUB_FILE_RETRY, /* the connection dropped; resuming at done (message: why) */
    GPTC_HUB_FILE_DONE   /* in the snapshot (cached: it was already in the cache) */
} gptc_hub_event_kind;
typedef struct gptc_hub_event {
    gptc_hub_event_kind kind;
    const char *file;     /* its path inside the repository */
    uint64_t done, total; /* bytes */
    int cached;
    size_t index, count;  /* this file is number index (0-based) of count */
    const char *message;
} gptc_hub_event;

typedef struct gptc_hub_params {
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *cache_dir; /* NULL: the cache named above */
    const char *revision;  /* NULL: the name's @REV, else "main" (a branch, tag or commit) */
    const char *token;     /* NULL: $HF_TOKEN, else the file $HF_TOKEN_PATH or $HF_HOME/token
                            * (as `hf auth login` writes it), else none; sent as
                            * "Authorization: Bearer" to the endpoint's host only */
    const char *const *include; /* file globs (fnmatch, '*' matches '/' as in Python's
                                 * fnmatch; "dir/" means "dir/ *"); NULL or n_include 0:
                                 * gptc_hub_default_include */
    size_t n_include;
    int offline;     /* -1: from $HF_HUB_OFFLINE (or $TRANSFORMERS_OFFLINE) = 1/ON/YES/TRUE;
                      * 1: no network: served from the cache or failing */
    int max_retries; /* transfers resumed per file after a dropped connection (5) */
    /* gptc_hub_resolve: only a tokenizer is needed: a snapshot with tokenizer files is
     * complete, and a pull without include globs takes gptc_hub_tokenizer_include. */
    int tokenizer_only;
    /* Called from the calling thread during gptc_hub_pull; may be NULL. */
    void (*progress)(void *user, const gptc_hub_event *ev);
    void *user;
} gptc_hub_params;
gptc_hub_params gptc_hub_default_params(void);
/* The globs pulled when none are given: what gptc reads (NULL-terminated):
 * "*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken" (so never the other
 * frameworks' weights: pytorch_model.bin, tf_model.h5, flax_model.msgpack, ...). */
extern const char *const gptc_hub_default_include[];
/* The same without weights: "*.json", "*.txt", "*.model", "*.tiktoken". */
extern const char *const gptc_hub_tokenizer_include[];

typedef struct gptc_hub_result {
    char repo[256];      /* ORG/NAME as named (the @REV split off) */
    char revision[256];  /* as asked */
    char commit[41];     /* the snapshot's commit id */
    char dir[4096];      /* CACHE/models--ORG--NAME/snapshots/COMMIT */
    size_t n_files;      /* files of the snapshot matching the globs */
    size_t n_downloaded; /* of which fetched now (the rest were in the cache) */
    uint64_t bytes_downloaded;
    int from_cache;      /* 1: resolved without the network (offline) */
} gptc_hub_result;

/* 1 when s reads as a repository name: NAME or ORG/NAME, optionally @REV, each part
 * of [A-Za-z0-9._-] (1 to 96 characters, not starting or ending with '.' or '-', no
 * "--" or ".."), as the Hub names repositories. Says nothing about whether it exists. */
int gptc_hub_is_repo_name(const char *s);
/* The cache directory chosen by params->cache_dir and the environment into out. */
gptc_status gptc_hub_cache_dir(gptc_ctx *ctx, const gptc_hub_params *params, char *out, size_t cap);
/* Downloads repository name (ORG/NAME[@REV]) at its revision: asks the endpoint's
 * /api/models/NAME/revision/REV for the commit and file list, then fetches each file
 * matching the globs through /NAME/resolve/COMMIT/FILE (redirects followed, Range
 * resume, checked against its ETag), links it into snapshots/COMMIT, and writes
 * refs/REV. Files already in the cache are not fetched again. Offline (params or
 * HF_HUB_OFFLINE): the snapshot refs/REV names is returned when it is in the cache,
 * else GPTC_ENET. Errors: GPTC_EINVAL a malformed name, GPTC_ENET the endpoint could
 * not be reached or refused (HTTP status and the Hub's message: not found, a gated or
 * private repository without a token, ...), GPTC_EFORMAT bytes that do not match their
 * ETag (discarded) or a malformed answer, GPTC_EIO the cache could not be written. */
gptc_status gptc_hub_pull(gptc_ctx *ctx, const char *name, const gptc_hub_params *params, gptc_hub_result *out);
/* The cache only, never the network: *found = 1 and out filled when the snapshot that
 * refs/REV (or REV itself, a commit id) names exists; n_files counts its entries. */
gptc_status gptc_hub_lookup(gptc_ctx *ctx, const char *name, const gptc_hub_params *params, gptc_hub_result *out,
                            int *found);
/* What every --model names, resolved into a directory path (out): an existing path is
 * itself; otherwise a repository name is looked up in the cache, and pulled when its
 * snapshot is missing or lacks config.json or weights (model.safetensors or its index;
 * with tokenizer_only: lacks tokenizer.json, vocab.json, vocab.txt, tokenizer.model and
 * encoder.json), unless offline (then any snapshot found is used, and none is an error
 * naming the cache); anything else is copied unchanged (so the
 * loader reports the missing path). *pulled (may be NULL) says whether it was pulled.
 * The errors of gptc_hub_pull. */
gptc_status gptc_hub_resolve(gptc_ctx *ctx, const char *arg, const gptc_hub_params *params, char *out, size_t cap,
                             int *pulled);
/* ---------------------------------------------------------------- translation metrics
 * sacreBLEU 2.6.0's corpus_bleu (tokenize "13a", smooth_method "exp", mixed case, no
 * effective order) and corpus_chrf (chrF2: 6 character orders, no word n-grams,
 * whitespace ignored, effective-order averaging) over n hypotheses and n_refs
 * references per sentence: refs[r * n + i] is reference r of hypothesis i. Strings
 * are NUL-terminated UTF-8 (invalid UTF-8 fails with GPTC_EFORMAT naming the line);
 * whitespace is Python's str.isspace (docs/metrics.md). Thread-safe. */
#define GPTC_SACREBLEU_VERSION "2.6.0"
typedef struct gptc_bleu_score {
    double score;          /* 0..100 */
    double precisions[4];  /* percent, after smoothing, as sacreBLEU reports them */
    double bp, ratio;      /* brevity penalty; hyp_len / ref_len (0 when ref_len is 0) */
    long counts[4], totals[4]; /* matched and hypothesis n-grams per order */
    long hyp_len, ref_len; /* tokens; ref_len sums the closest reference lengths */
} gptc_bleu_score;
gptc_status gptc_bleu_corpus(gptc_ctx *ctx, const char *const *hyps, size_t n, const char *const *refs, size_t n_refs,
                             gptc_bleu_score *out);
typedef struct gptc_chrf_score {
    double score;          /* 0..100 */
    long stats[6][3];      /* per character order: hypothesis, reference and matched n-grams */
} gptc_chrf_score;
gptc_status gptc_chrf_corpus(gptc_ctx *ctx, const char *const *hyps, size_t n, const char *const *refs, size_t n_refs,
                             gptc_chrf_score *out);
/* sacreBLEU's signatures: "nrefs:N|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" and
 * "nrefs:N|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0", into buf. */
void gptc_bleu_signature(size_t n_refs, char *buf, size_t cap);
void gptc_chrf_signature(size_t n_refs, char *buf, size_t cap);
/* The "13a" tokenization of one line as sacreBLEU's BLEU applies it (after rstrip), a
 * gptc_alloc'ed string; NULL on failure (message in ctx). */
char *gptc_tokenize_13a(gptc_ctx *ctx, const char *line);

#ifdef __cplusplus
}
#endif
#endif /* GPTC_H */
