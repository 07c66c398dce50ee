/* bpe_gguf.c: a byte-level BPE vocabulary as the string arrays of GGUF's
 * tokenizer.ggml.tokens / token_type / merges (llama.cpp's "gpt2" tokenizer model), as
 * convert_hf_to_gguf.py writes them from vocab.json and merges.txt. */
#include "bpe.h"
#include "utf8.h"
#include <string.h>

static char *spell(gptc_ctx *ctx, const unsigned char *b, size_t n, size_t *len) {
    char *s = gptc_alloc(ctx, 2 * n + 1, "token string");
    if (!s) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += gptc_utf8_put((unsigned char *)s + k, gptc_byte_to_cp(b[i]));
    s[k] = 0;
    *len = k;
    return s;
}

void gptc_tok_strings_free(gptc_tok_strings *s) {
    for (size_t i = 0; s->s && i < s->n; i++) gptc_free(s->s[i]);
    for (size_t i = 0; s->m && i < s->n_merges; i++) gptc_free(s->m[i]);
    gptc_free(s->s);
    gptc_free(s->len);
    gptc_free(s->type);
    gptc_free(s->m);
    gptc_free(s->mlen);
    memset(s, 0, sizeof *s);
}

gptc_status gptc_tok_gguf_strings(gptc_ctx *ctx, const gptc_tokenizer *t, size_t n_vocab, gptc_tok_strings *o) {
    memset(o, 0, sizeof *o);
    if (t->patkind != GPTC_PATKIND_GPT2 || t->add_prefix_space)
        return gptc_fail(ctx, GPTC_ENOTSUP, "GGUF's gpt2 tokenizer needs GPT-2's pre-tokenization (no prefix space)");
    if (n_vocab < t->n_vocab) n_vocab = t->n_vocab;
    o->s = gptc_calloc(ctx, n_vocab, sizeof *o->s, "token strings");
    o->len = gptc_calloc(ctx, n_vocab, sizeof *o->len, "token lengths");
    o->type = gptc_calloc(ctx, n_vocab, sizeof *o->type, "token types");
    int32_t(*mg)[2] = t->merges ? NULL : gptc_alloc(ctx, (t->n_vocab + 1) * sizeof *mg, "merges");
    gptc_status st = GPTC_OK;
    if (!o->s || !o->len || !o->type || (!t->merges && !mg)) {
        st = GPTC_ENOMEM;
        goto fail;
    }
    o->n = n_vocab;
    for (size_t id = 0; id < n_vocab; id++) {
        int kind = id < t->n_vocab ? t->kind[id] : GPTC_TOK_HOLE;
        if (kind == GPTC_TOK_ORDINARY) {
            o->s[id] = spell(ctx, t->blob + t->tstart[id], t->tlen[id], &o->len[id]);
            o->type[id] = 1;
        } else if (kind == GPTC_TOK_SPECIAL) {
            if ((o->s[id] = gptc_alloc(ctx, t->tlen[id] + 1, "token string"))) {
                memcpy(o->s[id], t->blob + t->tstart[id], t->tlen[id]);
                o->s[id][t->tlen[id]] = 0;
                o->len[id] = t->tlen[id];
            }
            o->type[id] = 3;
        } else {
            if ((o->s[id] = gptc_alloc(ctx, 32, "token string"))) o->len[id] = (size_t)snprintf(o->s[id], 32, "[PAD%zu]", id);
            o->type[id] = 5;
        }
        if (!o->s[id]) {
            st = GPTC_ENOMEM;
            goto fail;
        }
    }
    size_t nm = t->n_merges;
    if (!t->merges) {
        size_t n_ord = 0;
        while (n_ord < t->n_vocab && t->kind[n_ord] == GPTC_TOK_ORDINARY) n_ord++;
        if ((st = gptc_tok_derive_merges(ctx, t, n_ord, mg, &nm))) goto fail;
    }
    const int32_t(*merges)[2] = t->merges ? (const int32_t(*)[2])t->merges : (const int32_t(*)[2])mg;
    o->m = gptc_calloc(ctx, nm ? nm : 1, sizeof *o->m, "merge strings");
    o->mlen = gptc_calloc(ctx, nm ? nm : 1, sizeof *o->mlen, "merge lengths");
    if (!o->m || !o->mlen) {
        st = GPTC_ENOMEM;
        goto fail;
    }
    for (size_t k = 0; k < nm; k++) {
        size_t l0 = o->len[merges[k][0]], l1 = o->len[merges[k][1]];
        char *s = gptc_alloc(ctx, l0 + l1 + 2, "merge string");
        if (!s) {
            st = GPTC_ENOMEM;
            goto fail;
        }
        memcpy(s, o->s[merges[k][0]], l0);
        s[l0] = ' ';
        memcpy(s + l0 + 1, o->s[merges[k][1]], l1);
        s[l0 + l1 + 1] = 0;
        o->m[k] = s;
        o->mlen[k] = l0 + l1 + 1;
        o->n_merges = k + 1;
    }
    gptc_free(mg);
    return GPTC_OK;
fail:
    gptc_free(mg);
    gptc_tok_strings_free(o);
    return st;
}
