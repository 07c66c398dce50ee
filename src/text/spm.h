/* spm.h: the SentencePiece model's internal layout, shared by spm_load.c (the
 * protobuf reader and the checks of sentencepiece's ModelInterface), spm_norm.c (the
 * normalizer) and spm.c (unigram and BPE encoding, decoding). API: include/gptc.h. */
#ifndef GPTC_TEXT_SPM_H
#define GPTC_TEXT_SPM_H

#include "../core/core.h"

/* NormalizerSpec (and the denormalizer's): the fields that change the result. */
typedef struct spm_norm_spec {
    const char *name;            /* NULL when absent */
    size_t name_len;
    const unsigned char *charsmap; /* precompiled_charsmap bytes (NULL/0: none) */
    size_t charsmap_len;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces; /* defaults 1 */
    int present;                 /* the message was in the file */
    /* Decoded charsmap: a Darts double-array (units little-endian uint32) and the
     * NUL-separated replacement strings its values point into. */
    const unsigned char *units;
    size_t n_units;
    const char *strs;
    size_t strs_len;
} spm_norm_spec;

typedef struct spm_str { const char *s; size_t len; int present; } spm_str;

/* A byte trie over the pieces (node 0 = root). Children are found through one hash
 * table keyed by (node << 8 | byte); each node holds the id of the piece ending there
 * in the "normal" map (NORMAL, USER_DEFINED, UNUSED) and in the "reserved" map
 * (CONTROL, UNKNOWN, BYTE), -1 when none: sentencepiece's two maps. */
typedef struct spm_trie {
    uint64_t *keys;   /* (node << 8 | byte) + 1; 0 = empty slot */
    int32_t *child;
    size_t mask;
    int32_t *normal, *reserved; /* per node */
    size_t n_nodes, cap_nodes;
} spm_trie;

struct gptc_spm {
    unsigned char *buf;     /* the file's bytes; every string points into it */
    size_t size;
    size_t n;               /* pieces */
    const char **piece;
    uint32_t *plen;
    float *score;
    uint8_t *type;
    /* TrainerSpec */
    int model_type;         /* 1 unigram, 2 BPE */
    int byte_fallback, treat_ws_suffix;
    spm_str unk_piece, bos_piece, eos_piece, pad_piece, unk_surface;
    spm_norm_spec norm, denorm;
    /* derived */
    int32_t unk_id;         /* the UNKNOWN piece */
    int has_user;           /* any USER_DEFINED piece */
    float min_score, max_score; /* over NORMAL pieces (FLT_MAX / FLT_MIN when none) */
    int32_t byte_id[256];   /* <0xNN> pieces (byte fallback), else -1 */
    spm_trie trie;
};

/* Node reached from node by byte c, or -1. */
static inline int32_t spm_trie_next(const spm_trie *t, int32_t node, unsigned char c) {
    uint64_t key = ((uint64_t)node << 8 | c) + 1;
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & t->mask;
    for (;;) {
        if (t->keys[h] == key) return t->child[h];
        if (!t->keys[h]) return -1;
        h = (h + 1) & t->mask;
    }
}

/* sentencepiece's PieceToId: reserved first, then normal, else the unknown id. */
int32_t spm_piece_id(const gptc_spm *m, const char *s, size_t len);
/* The longest user-defined piece that is a prefix of s[0..len) (bytes), 0 when none. */
size_t spm_user_prefix(const gptc_spm *m, const char *s, size_t len);

#define SPM_WS_UTF8 "\xe2\x96\x81" /* U+2581, the escaped space */

/* Growable byte buffer of the encoder (malloc'ed). */
typedef struct spm_buf { char *p; size_t len, cap; } spm_buf;
int spm_buf_put(spm_buf *b, const void *s, size_t n);

/* Normalizer::Normalize of spec ns (user: whether the model's user-defined pieces are
 * kept as they are; suffix: treat_whitespace_as_suffix). Appends to out. */
gptc_status spm_normalize(gptc_ctx *ctx, const gptc_spm *m, const spm_norm_spec *ns, int user, int suffix,
                          const char *in, size_t len, spm_buf *out);
/* Decodes the charsmap of ns into its trie and strings; GPTC_EFORMAT when broken. */
gptc_status spm_charsmap_init(gptc_ctx *ctx, const char *name, const char *field, spm_norm_spec *ns);

/* sentencepiece's string_util::OneCharLen and IsValidDecodeUTF8. */
static inline size_t spm_one_char_len(unsigned char c) {
    return (size_t)"\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[c >> 4];
}
int spm_valid_utf8_prefix(const unsigned char *s, size_t len, size_t *mblen);

#endif
