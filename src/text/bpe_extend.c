/* bpe_extend.c: a tokenizer with special tokens added after its ids (what a chat
 * fine-tune does when a vocabulary lacks ChatML's markers, as Hugging Face's
 * add_special_tokens): a new tokenizer, the old one untouched (tokenizers are
 * immutable and may be shared). */
#include "wordpiece.h"
#include <string.h>

gptc_status gptc_tokenizer_add_special(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *const *texts, size_t n,
                                       gptc_tokenizer **out, size_t *n_added) {
    *out = NULL;
    if (n_added) *n_added = 0;
    if (tok->wp) return gptc_fail(ctx, GPTC_ENOTSUP, "adding special tokens to a WordPiece tokenizer is not supported");
    size_t k = 0, extra = 0;
    for (size_t i = 0; i < n; i++) {
        if (!texts[i] || !*texts[i]) return gptc_fail(ctx, GPTC_EINVAL, "special token %zu is empty", i);
        int dup = 0;
        for (size_t j = 0; j < i; j++) dup |= !strcmp(texts[i], texts[j]);
        if (dup || gptc_tokenizer_special_id(tok, texts[i]) >= 0) continue;
        k++;
        extra += strlen(texts[i]);
    }
    const char *what = "adding special tokens";
    gptc_tokenizer *t;
    gptc_status s = gptc_tok_alloc(ctx, tok->n_vocab + k, tok->blob_len + extra + 64, &t);
    if (s) return s;
    for (size_t id = 0; id < tok->n_vocab && !s; id++)
        if (tok->kind[id] != GPTC_TOK_HOLE)
            s = gptc_tok_set(ctx, t, id, tok->blob + tok->tstart[id], tok->tlen[id], tok->kind[id], what);
    size_t next = tok->n_vocab;
    for (size_t i = 0; i < n && !s; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++) dup |= !strcmp(texts[i], texts[j]);
        if (dup || gptc_tokenizer_special_id(tok, texts[i]) >= 0) continue;
        s = gptc_tok_set(ctx, t, next++, (const unsigned char *)texts[i], strlen(texts[i]), GPTC_TOK_SPECIAL, what);
    }
    if (!s && tok->n_merges) {
        t->merges = gptc_alloc(ctx, tok->n_merges * sizeof *t->merges, "merges");
        if (!t->merges) s = GPTC_ENOMEM;
        else {
            memcpy(t->merges, tok->merges, tok->n_merges * sizeof *t->merges);
            t->n_merges = tok->n_merges;
        }
    }
    t->direct = tok->direct;
    t->whole_lookup = tok->whole_lookup;
    t->add_prefix_space = tok->add_prefix_space;
    t->patkind = tok->patkind;
    if (!s && tok->pattern) {
        size_t pl = strlen(tok->pattern) + 1;
        t->pattern = gptc_alloc(ctx, pl, "pattern");
        if (!t->pattern) s = GPTC_ENOMEM;
        else memcpy(t->pattern, tok->pattern, pl);
    }
    if (!s) s = gptc_tok_finish(ctx, t, what);
    if (s) {
        gptc_tokenizer_free(t);
        return s;
    }
    if (n_added) *n_added = k;
    *out = t;
    return GPTC_OK;
}
