/* tokinput.c: what a tokenizer gives a model beyond plain ids: its kind and special
 * roles, text pairs with token types ([CLS] A [SEP] B [SEP] for WordPiece, A
 * <|endoftext|> B for byte-level BPE), truncation as Hugging Face's "longest_first",
 * and the source bytes of every id (offsets). */
#include "wordpiece.h"

#include <stdlib.h>
#include <string.h>

int gptc_tokenizer_kind(const gptc_tokenizer *tok) { return tok->model; }

void gptc_tokenizer_roles_get(const gptc_tokenizer *tok, gptc_tokenizer_roles *out) {
    *out = (gptc_tokenizer_roles){-1, -1, -1, -1, -1, -1};
    if (tok->wp) {
        out->cls = tok->wp->cls;
        out->sep = tok->wp->sep;
        out->pad = tok->wp->pad;
        out->mask = tok->wp->mask;
        out->unk = tok->wp->unk;
    } else {
        out->eos = gptc_tokenizer_special_id(tok, "<|endoftext|>");
    }
}

int gptc_tokenizer_wraps_inputs(const gptc_tokenizer *tok) {
    return tok->wp && tok->wp->wrap && tok->wp->cls >= 0 && tok->wp->sep >= 0;
}

gptc_status gptc_tokenizer_encode_offsets(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *text, size_t len,
                                          int allow_special, int32_t **ids, size_t **offsets, size_t *n_ids) {
    *ids = NULL;
    *offsets = NULL;
    *n_ids = 0;
    if (!text && len) return gptc_fail(ctx, GPTC_EINVAL, "encode: text is NULL");
    if (tok->wp) return gptc_wp_encode(ctx, tok, text, len, allow_special, ids, offsets, n_ids);
    gptc_status st = gptc_tokenizer_encode(ctx, tok, text, len, allow_special, ids, n_ids);
    if (st) return st;
    size_t *off = malloc((2 * *n_ids + 1) * sizeof *off);
    if (!off) {
        free(*ids);
        *ids = NULL;
        return gptc_fail(ctx, GPTC_ENOMEM, "out of memory for %zu token offsets", *n_ids);
    }
    /* byte-level BPE loses no byte: the ids' bytes are the text (after the prefix space) */
    size_t o = 0, skip = tok->add_prefix_space ? 1 : 0;
    for (size_t i = 0; i < *n_ids; i++) {
        size_t n = tok->tlen[(*ids)[i]], b = o, e = o + n;
        b = b > skip ? b - skip : 0;
        e = e > skip ? e - skip : 0;
        off[2 * i] = b < len ? b : len;
        off[2 * i + 1] = e < len ? e : len;
        o += n;
    }
    *offsets = off;
    return GPTC_OK;
}

/* tokenizers' truncate_encodings, LongestFirst with a pair: lengths n1, n2 to keep of
 * m in all. */
static void longest_first(size_t *n1, size_t *n2, size_t m) {
    size_t a = *n1, b = *n2;
    if (a + b <= m) return;
    int swap = a > b;
    if (swap) {
        size_t x = a;
        a = b;
        b = x;
    }
    b = a > m ? a : (a > m - a ? a : m - a);
    if (a + b > m) {
        a = m / 2;
        b = a + m % 2;
    }
    if (swap) {
        size_t x = a;
        a = b;
        b = x;
    }
    if (a < *n1) *n1 = a;
    if (b < *n2) *n2 = b;
}

gptc_status gptc_tokenizer_encode_pair(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *a, size_t a_len,
                                       const char *b, size_t b_len, int max_len, int32_t **ids, int32_t **types,
                                       size_t *n_ids) {
    *ids = NULL;
    if (types) *types = NULL;
    *n_ids = 0;
    int wrap = gptc_tokenizer_wraps_inputs(tok), special = tok->wp != NULL;
    int32_t sep = -1;
    if (b && !wrap) {
        if (tok->wp) sep = tok->wp->sep;
        else sep = gptc_tokenizer_special_id(tok, "<|endoftext|>");
        if (sep < 0)
            return gptc_fail(ctx, GPTC_ENOTSUP, "the tokenizer has no %s to put between the texts of a pair",
                             tok->wp ? "[SEP]" : "<|endoftext|>");
    }
    size_t added = wrap ? (b ? 3 : 2) : (b ? 1 : 0);
    if (max_len > 0 && (size_t)max_len < added)
        return gptc_fail(ctx, GPTC_EINVAL, "max_length %d cannot hold the %zu special tokens of the input", max_len, added);
    int32_t *ia = NULL, *ib = NULL;
    size_t na = 0, nb = 0;
    gptc_status st = gptc_tokenizer_encode(ctx, tok, a, a_len, special, &ia, &na);
    if (!st && b) st = gptc_tokenizer_encode(ctx, tok, b, b_len, special, &ib, &nb);
    if (st) {
        free(ia);
        return st;
    }
    if (max_len > 0) {
        size_t m = (size_t)max_len - added;
        if (b) longest_first(&na, &nb, m);
        else if (na > m) na = m;
    }
    size_t n = na + nb + added;
    int32_t *out = malloc((n ? n : 1) * sizeof *out), *ty = types ? malloc((n ? n : 1) * sizeof *ty) : NULL;
    if (!out || (types && !ty)) {
        free(out);
        free(ty);
        free(ia);
        free(ib);
        return gptc_fail(ctx, GPTC_ENOMEM, "out of memory for %zu token ids", n);
    }
    size_t o = 0, ob;
    if (wrap) out[o++] = tok->wp->cls;
    memcpy(out + o, ia, na * sizeof *out);
    o += na;
    if (wrap) out[o++] = tok->wp->sep;
    ob = o; /* the second segment (type 1) starts here */
    if (b) {
        if (!wrap) out[o++] = sep;
        memcpy(out + o, ib, nb * sizeof *out);
        o += nb;
        if (wrap) out[o++] = tok->wp->sep;
    }
    if (ty)
        for (size_t i = 0; i < n; i++) ty[i] = wrap && b && i >= ob ? 1 : 0;
    free(ia);
    free(ib);
    *ids = out;
    if (types) *types = ty;
    *n_ids = n;
    return GPTC_OK;
}
