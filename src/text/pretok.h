/* pretok.h: pre-tokenization, the regex split of text into pieces before BPE
 * (hand-written matchers for tiktoken's three patterns, PCRE2 with UTF, UCP and JIT for
 * any other), and GPT-2's byte <-> unicode mapping.
 * Used by the encoder (bpe.c) and the trainer (bpe_train.c). */
#ifndef GPTC_TEXT_PRETOK_H
#define GPTC_TEXT_PRETOK_H

#include "../core/core.h"

/* The patterns of tiktoken's encodings. */
extern const char GPTC_PAT_GPT2[];   /* gpt2, r50k_base, p50k_base */
extern const char GPTC_PAT_CL100K[]; /* cl100k_base */
extern const char GPTC_PAT_O200K[];  /* o200k_base */

typedef struct gptc_pretok gptc_pretok;
/* A pre-tokenizer for pattern, after \s and \S are spelled as Unicode's White_Space
 * (so tiktoken's own spelling, as tokenizer.json files carry it, counts too): one of the
 * three above (compared by content) gets its hand-written matcher (pretok_fast.c,
 * Unicode 16.0 as tiktoken); any other pattern is compiled by PCRE2 (UTF-8, Unicode
 * properties of the system's PCRE2, JIT when available). Thread-safe to use from several
 * threads at once after creation. */
gptc_status gptc_pretok_new(gptc_ctx *ctx, const char *pattern, gptc_pretok **out);
/* The same through PCRE2 always (tests compare the two paths). */
gptc_status gptc_pretok_new_regex(gptc_ctx *ctx, const char *pattern, gptc_pretok **out);
/* "fast (Unicode 16.0.0)" or "PCRE2 10.42 (Unicode 14.0.0)": what p runs on. */
const char *gptc_pretok_engine(const gptc_pretok *p, char *buf, size_t cap);
void gptc_pretok_free(gptc_pretok *p);
/* Calls cb(user, piece, len) for each consecutive piece of text[0, len). Bytes that are
 * not valid UTF-8 are still covered by pieces (nothing is dropped). A non-zero return
 * of cb stops the split and is returned as the status. */
typedef int (*gptc_pretok_cb)(void *user, const char *piece, size_t len);
gptc_status gptc_pretok_split(gptc_ctx *ctx, const gptc_pretok *p, const char *text, size_t len,
                              gptc_pretok_cb cb, void *user);

/* The hand-written matchers: kind GPTC_PRETOK_*, same contract as gptc_pretok_split. */
enum { GPTC_PRETOK_REGEX = 0, GPTC_PRETOK_GPT2 = 1, GPTC_PRETOK_CL100K = 2, GPTC_PRETOK_O200K = 3 };
gptc_status gptc_pretok_fast_split(int kind, const char *text, size_t len, gptc_pretok_cb cb, void *user);

/* GPT-2's bytes_to_unicode(): byte b -> code point gptc_byte_to_cp(b) (printable chars
 * map to themselves, others to 256+). gptc_cp_to_byte returns -1 for code points that
 * are not in the image. */
int gptc_byte_to_cp(unsigned char b);
int gptc_cp_to_byte(int cp);

#endif
