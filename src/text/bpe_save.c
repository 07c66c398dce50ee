/* bpe_save.c: gptc_tokenizer_save: a tokenizer as Hugging Face's vocab.json +
 * merges.txt (+ special_tokens_map.json) through gptc_bpe_write_hf (bpe_write.c).
 * Rank-file tokenizers (tiktoken) get their merges derived from the ranks. */
#include "wordpiece.h"
#include "bpe_write.h"

#include <string.h>

/* tiktoken ranks -> merges: token r is what BPE over its own bytes makes of the two
 * parts left when only ranks below r may merge (the derivation HF's converters use). */
gptc_status gptc_tok_derive_merges(gptc_ctx *ctx, const gptc_tokenizer *t, size_t n_tokens, int32_t (*m)[2],
                                   size_t *n_merges) {
    int32_t *parts = gptc_alloc(ctx, (t->max_tok_len + 1) * sizeof *parts, "merge derivation");
    if (!parts) return GPTC_ENOMEM;
    size_t k = 0;
    gptc_status st = GPTC_OK;
    for (size_t id = 0; id < n_tokens; id++) {
        if (t->tlen[id] < 2) continue;
        size_t np = gptc_tok_bpe(ctx, t, t->blob + t->tstart[id], t->tlen[id], (uint32_t)id, parts);
        if (np != 2) {
            st = np ? gptc_fail(ctx, GPTC_ENOTSUP, "token id %zu is not the merge of two lower-ranked tokens "
                                "(BPE left %zu parts), so it has no merges.txt line", id, np)
                    : GPTC_ENOMEM;
            break;
        }
        m[k][0] = parts[0];
        m[k][1] = parts[1];
        k++;
    }
    gptc_free(parts);
    *n_merges = k;
    return st;
}

gptc_status gptc_tokenizer_save(gptc_ctx *ctx, const gptc_tokenizer *t, const char *dir) {
    if (t->wp) return gptc_wp_save(ctx, t, dir);
    if (t->patkind != GPTC_PATKIND_GPT2)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: only tokenizers with GPT-2's pre-tokenization pattern can be saved "
                         "as vocab.json + merges.txt (cl100k_base/o200k_base cannot)", dir);
    if (t->add_prefix_space)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: add_prefix_space cannot be written to vocab.json + merges.txt", dir);
    size_t n_tokens = 0;
    while (n_tokens < t->n_vocab && t->kind[n_tokens] == GPTC_TOK_ORDINARY) n_tokens++;
    for (size_t id = n_tokens; id < t->n_vocab; id++)
        if (t->kind[id] != GPTC_TOK_SPECIAL)
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: id %zu is %s after the special token %zu; vocab.json needs "
                             "ordinary ids 0..N-1 then the special tokens", dir, id,
                             t->kind[id] == GPTC_TOK_HOLE ? "unassigned" : "ordinary", n_tokens);
    size_t n_special = t->n_vocab - n_tokens;
    const unsigned char **tok = gptc_alloc(ctx, n_tokens * sizeof *tok, "token pointers");
    size_t *tok_len = gptc_alloc(ctx, n_tokens * sizeof *tok_len, "token lengths");
    int32_t(*merges)[2] = t->merges ? NULL : gptc_alloc(ctx, n_tokens * sizeof *merges, "merges");
    char **special = gptc_calloc(ctx, n_special + 1, sizeof *special, "special tokens");
    int32_t *special_id = gptc_alloc(ctx, (n_special + 1) * sizeof *special_id, "special ids");
    gptc_status st = GPTC_OK;
    if (!tok || !tok_len || (!t->merges && !merges) || !special || !special_id) {
        st = GPTC_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n_tokens; i++) {
        tok[i] = t->blob + t->tstart[i];
        tok_len[i] = t->tlen[i];
    }
    for (size_t k = 0; k < n_special; k++) {
        size_t id = n_tokens + k, n = t->tlen[id];
        if (!(special[k] = gptc_alloc(ctx, n + 1, "special token"))) {
            st = GPTC_ENOMEM;
            goto done;
        }
        memcpy(special[k], t->blob + t->tstart[id], n);
        special[k][n] = 0;
        special_id[k] = (int32_t)id;
    }
    size_t n_merges = t->n_merges;
    if (!t->merges && (st = gptc_tok_derive_merges(ctx, t, n_tokens, merges, &n_merges))) goto done;
    gptc_bpe_spec spec = {
        .n_tokens = n_tokens,
        .tok = tok,
        .tok_len = tok_len,
        .n_merges = n_merges,
        .merges = (const int32_t(*)[2])(t->merges ? t->merges : merges),
        .n_special = n_special,
        .special = (const char *const *)special,
        .special_id = special_id,
    };
    st = gptc_bpe_write_hf(ctx, dir, &spec);
done:
    if (special)
        for (size_t k = 0; k < n_special; k++) gptc_free(special[k]);
    gptc_free(special);
    gptc_free(special_id);
    gptc_free(tok);
    gptc_free(tok_len);
    gptc_free(merges);
    return st;
}
