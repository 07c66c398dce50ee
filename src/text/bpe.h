/* bpe.h: the tokenizer's internal layout, shared by bpe.c (encode, decode, streaming),
 * bpe_load.c (file readers, encodings by name) and bpe_save.c. The public API is in
 * include/gptc.h. */
#ifndef GPTC_TEXT_BPE_H
#define GPTC_TEXT_BPE_H

/* The longest token a vocabulary may hold (bytes): loaders refuse longer ones, and
 * vocabulary training never merges past it. */
#define GPTC_TOKEN_MAX_BYTES 65536

#include "pretok.h"

enum { GPTC_TOK_HOLE = 0, GPTC_TOK_ORDINARY = 1, GPTC_TOK_SPECIAL = 2 };
enum { GPTC_PATKIND_GPT2 = 0, GPTC_PATKIND_CL100K = 1, GPTC_PATKIND_O200K = 2, GPTC_PATKIND_REGEX = 3 };

/* A vocabulary table entry: the token's first 8 bytes inline (zero-padded), so finding a
 * token of up to 8 bytes reads this entry and nothing else. len 0 = empty. */
typedef struct gptc_vent {
    uint64_t w;
    uint32_t len;
    int32_t id;
} gptc_vent;

typedef struct gptc_pair_ent {
    uint64_t key;  /* (left id << 32) | right id; UINT64_MAX = empty */
    uint32_t prio; /* merge rank */
    int32_t res;   /* id of the merged token */
} gptc_pair_ent;

struct gptc_tokenizer {
    size_t n_vocab;         /* ids 0..n_vocab-1 (some may be holes) */
    uint8_t *kind;          /* GPTC_TOK_* per id */
    uint32_t *tstart, *tlen; /* bytes of id i: blob[tstart[i], +tlen[i]) */
    unsigned char *blob;
    size_t blob_len, blob_cap;
    size_t max_tok_len;     /* longest ordinary token */
    int32_t byte_id[256];   /* the token of each single byte */
    gptc_vent *vtab;        /* bytes -> id (open addressing) */
    size_t vmask;
    uint64_t *bpair;        /* two bytes a, b (index a << 8 | b) -> merge rank << 32 | merged
                             * id, rank UINT32_MAX when they do not merge: BPE's first round */
    /* Merge rule. direct (tiktoken): a piece that is a token is that token, and two
     * adjacent parts merge when their concatenation is a token, lowest id first.
     * Otherwise (Hugging Face, OpenAI's encoder.py): only listed merges apply, lowest
     * line first. */
    int direct;
    int whole_lookup;       /* a piece that is a token is that token (tiktoken; HF ignore_merges) */
    int32_t (*merges)[2];   /* merges in rank order (Hugging Face files) */
    size_t n_merges;
    gptc_pair_ent *ptab;
    size_t pmask;
    int32_t *special;       /* ids of special tokens */
    size_t n_special;
    int special_has_nl;     /* a special token contains '\n' (no parallel split) */
    int add_prefix_space;   /* ByteLevel add_prefix_space (tokenizer.json) */
    int patkind;            /* GPTC_PATKIND_*: the pre-tokenization pattern */
    char *pattern;          /* PATKIND_REGEX: a tokenizer.json Split regex (owned) */
    gptc_pretok *pre;
    int model;              /* GPTC_TOKENIZER_BPE or GPTC_TOKENIZER_WORDPIECE */
    struct gptc_wp *wp;     /* WordPiece settings (wordpiece.h); NULL for BPE */
};

/* Builder used by the loaders: alloc n_vocab holes, set each id, then finish (hash
 * tables, byte ids, pre-tokenizer, checks). what names the source in messages. */
gptc_status gptc_tok_alloc(gptc_ctx *ctx, size_t n_vocab, size_t blob_hint, gptc_tokenizer **out);
gptc_status gptc_tok_set(gptc_ctx *ctx, gptc_tokenizer *t, size_t id, const unsigned char *bytes,
                         size_t len, int kind, const char *what);
/* Id of the ordinary token with these bytes, or -1. Valid after gptc_tok_build_vocab. */
int32_t gptc_tok_lookup(const gptc_tokenizer *t, const unsigned char *bytes, size_t len);
gptc_status gptc_tok_build_vocab(gptc_ctx *ctx, gptc_tokenizer *t, const char *what);
/* Adds merge (left, right) with rank = its index; fails on duplicates. */
gptc_status gptc_tok_build_pairs(gptc_ctx *ctx, gptc_tokenizer *t, const char *what);
gptc_status gptc_tok_finish(gptc_ctx *ctx, gptc_tokenizer *t, const char *what);

/* Splits text at the special tokens (the leftmost occurrence wins, the longest on ties,
 * as tiktoken's allowed_special and Hugging Face's added tokens): seg gets each stretch of
 * ordinary text (possibly empty) and its offset, special each special token's id and
 * offset, in order. The first non-zero status stops the split and is returned. */
gptc_status gptc_tok_split_special(gptc_ctx *ctx, const gptc_tokenizer *t, const char *text, size_t len,
                                   gptc_status (*seg)(void *user, const char *s, size_t n, size_t off),
                                   gptc_status (*special)(void *user, int32_t id, size_t off), void *user);

/* BPE of one piece with ranks below max_prio (UINT32_MAX: all). Writes ids into out
 * (room for len ids) and returns their count, or 0 with a message when out of memory. */
size_t gptc_tok_bpe(gptc_ctx *ctx, const gptc_tokenizer *t, const unsigned char *piece, size_t len,
                    uint32_t max_prio, int32_t *out);

/* tiktoken ranks -> merges (m: room for n_tokens): token r is the merge of the two parts
 * BPE leaves of its bytes with ranks below r. GPTC_ENOTSUP when a token is not. */
gptc_status gptc_tok_derive_merges(gptc_ctx *ctx, const gptc_tokenizer *t, size_t n_tokens, int32_t (*m)[2],
                                   size_t *n_merges);

/* The vocabulary as GGUF's tokenizer.ggml arrays (bpe_gguf.c): n_vocab token strings
 * (ordinary tokens spelled with GPT-2's bytes_to_unicode, special tokens as their text,
 * ids past the tokenizer's or unassigned "[PADi]"), their types (1 normal, 3 control,
 * 5 unused) and the merges "left right" in rank order. Strings: s[i], len[i]. */
typedef struct gptc_tok_strings {
    char **s;
    size_t *len, n;
    int32_t *type;
    char **m;
    size_t *mlen, n_merges;
} gptc_tok_strings;
gptc_status gptc_tok_gguf_strings(gptc_ctx *ctx, const gptc_tokenizer *t, size_t n_vocab, gptc_tok_strings *out);
void gptc_tok_strings_free(gptc_tok_strings *s);

#endif
