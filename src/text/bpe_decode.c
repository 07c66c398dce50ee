/* bpe_decode.c: token ids -> bytes, whole (gptc_tokenizer_decode) or streaming
 * (gptc_decoder_*: only complete UTF-8 characters come out; invalid sequences become
 * U+FFFD, one per maximal invalid subpart, as Python's errors="replace"). */
#include "bpe.h"
#include "utf8.h"
#include "wordpiece.h"

#include <stdlib.h>
#include <string.h>

static gptc_status check_id(gptc_ctx *ctx, const gptc_tokenizer *t, int32_t id, size_t pos) {
    char where[48] = "";
    if (pos != SIZE_MAX) snprintf(where, sizeof where, " at position %zu", pos);
    if (id < 0 || (size_t)id >= t->n_vocab)
        return gptc_fail(ctx, GPTC_ERANGE, "token id %d%s is out of range (0..%zu)", id, where, t->n_vocab - 1);
    if (t->kind[id] == GPTC_TOK_HOLE)
        return gptc_fail(ctx, GPTC_ERANGE, "token id %d%s is not assigned to any token", id, where);
    return GPTC_OK;
}

gptc_status gptc_tokenizer_decode(gptc_ctx *ctx, const gptc_tokenizer *t, const int32_t *ids, size_t n_ids,
                                  char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        gptc_status st = check_id(ctx, t, ids[i], i);
        if (st) return st;
        total += t->tlen[ids[i]];
    }
    if (t->wp) return gptc_wp_decode(ctx, t, ids, n_ids, text, len);
    char *out = malloc(total + 1);
    if (!out) return gptc_fail(ctx, GPTC_ENOMEM, "out of memory decoding %zu bytes", total);
    size_t o = 0;
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(out + o, t->blob + t->tstart[ids[i]], t->tlen[ids[i]]);
        o += t->tlen[ids[i]];
    }
    out[o] = 0;
    *text = out;
    *len = o;
    return GPTC_OK;
}

struct gptc_decoder {
    const gptc_tokenizer *tok;
    unsigned char *buf; /* pending bytes (<= 3) + the bytes of one token */
    size_t npend;
};

gptc_status gptc_decoder_new(gptc_ctx *ctx, const gptc_tokenizer *tok, gptc_decoder **out) {
    *out = NULL;
    if (tok->wp)
        return gptc_fail(ctx, GPTC_ENOTSUP, "streaming decode is for byte-level BPE tokenizers, not WordPiece "
                         "(decode the ids with gptc_tokenizer_decode)");
    size_t maxlen = 0;
    for (size_t i = 0; i < tok->n_vocab; i++)
        if (tok->tlen[i] > maxlen) maxlen = tok->tlen[i];
    gptc_decoder *d = gptc_calloc(ctx, 1, sizeof *d, "decoder");
    if (!d) return GPTC_ENOMEM;
    d->buf = gptc_alloc(ctx, maxlen + 4, "decoder buffer");
    if (!d->buf) {
        gptc_free(d);
        return GPTC_ENOMEM;
    }
    d->tok = tok;
    *out = d;
    return GPTC_OK;
}

void gptc_decoder_free(gptc_decoder *d) {
    if (!d) return;
    gptc_free(d->buf);
    gptc_free(d);
}

/* Emits the complete characters of buf[0, m) into out (NULL: only counts), and
 * returns the output length; *keep = bytes of an incomplete character at the end that
 * may still complete (0 when final). */
static size_t drain(const unsigned char *buf, size_t m, int final, unsigned char *out, size_t *keep) {
    size_t i = 0, o = 0;
    *keep = 0;
    while (i < m) {
        size_t adv;
        int cp = buf[i] < 0x80 ? (adv = 1, buf[i]) : gptc_utf8_next(buf + i, m - i, &adv);
        if (cp >= 0) {
            if (out) memcpy(out + o, buf + i, adv);
            o += adv;
        } else if (cp == GPTC_UTF8_INCOMPLETE && !final) {
            *keep = m - i;
            break;
        } else {
            if (out) memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        i += adv;
    }
    return o;
}

static gptc_status emit(gptc_ctx *ctx, gptc_decoder *d, size_t m, int final, char *out, size_t out_cap,
                        size_t *out_len) {
    size_t keep;
    size_t need = drain(d->buf, m, final, NULL, &keep);
    if (need > out_cap)
        return gptc_fail(ctx, GPTC_ERANGE, "decoder: output buffer of %zu bytes is too small (need %zu)",
                         out_cap, need);
    drain(d->buf, m, final, (unsigned char *)out, &keep);
    memmove(d->buf, d->buf + m - keep, keep);
    d->npend = keep;
    *out_len = need;
    return GPTC_OK;
}

gptc_status gptc_decoder_push(gptc_ctx *ctx, gptc_decoder *d, int32_t id, char *out, size_t out_cap,
                              size_t *out_len) {
    *out_len = 0;
    const gptc_tokenizer *t = d->tok;
    gptc_status st = check_id(ctx, t, id, SIZE_MAX);
    if (st) return st;
    size_t n = t->tlen[id];
    memcpy(d->buf + d->npend, t->blob + t->tstart[id], n);
    st = emit(ctx, d, d->npend + n, 0, out, out_cap, out_len);
    if (st) return st; /* the pending bytes are unchanged: the push can be retried */
    return GPTC_OK;
}

gptc_status gptc_decoder_flush(gptc_ctx *ctx, gptc_decoder *d, char *out, size_t out_cap, size_t *out_len) {
    *out_len = 0;
    return emit(ctx, d, d->npend, 1, out, out_cap, out_len);
}
