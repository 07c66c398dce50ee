/* stream.c: generated ids to text for a reader: complete UTF-8 characters only (the
 * streaming decoder holds back a split character), and nothing that may still become a
 * stop string (the longest end of the text that begins one is held back until the next
 * id decides). At the first stop string the text ends before it. */
#include "../core/core.h"
#include <stdlib.h>
#include <string.h>

struct gptc_text_stream {
    const gptc_tokenizer *tok;
    gptc_decoder *dec;
    char stops[GPTC_GEN_MAX_STOP][GPTC_GEN_STOP_LEN];
    int n_stops;
    gptc_text_cb cb;
    void *user;
    char *buf;
    size_t len, cap, emitted;
    int stopped, cancelled;
};

gptc_status gptc_text_stream_new(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_gen_params *p, gptc_text_cb cb,
                                 void *user, gptc_text_stream **out) {
    *out = NULL;
    gptc_text_stream *st = gptc_calloc(ctx, 1, sizeof *st, "text stream");
    if (!st) return GPTC_ENOMEM;
    gptc_status s = gptc_decoder_new(ctx, tok, &st->dec);
    if (s) {
        gptc_free(st);
        return s;
    }
    st->tok = tok;
    for (int k = 0; p && k < p->n_stop && k < GPTC_GEN_MAX_STOP; k++)
        if (p->stop_strings[k][0]) memcpy(st->stops[st->n_stops++], p->stop_strings[k], GPTC_GEN_STOP_LEN);
    st->cb = cb;
    st->user = user;
    *out = st;
    return GPTC_OK;
}

void gptc_text_stream_free(gptc_text_stream *st) {
    if (!st) return;
    gptc_decoder_free(st->dec);
    free(st->buf);
    gptc_free(st);
}

static gptc_status append(gptc_ctx *ctx, gptc_text_stream *st, const char *s, size_t n) {
    if (st->len + n + 1 > st->cap) {
        size_t cap = (st->len + n + 1) * 2 + 64;
        char *b = realloc(st->buf, cap);
        if (!b) return gptc_fail(ctx, GPTC_ENOMEM, "text stream: out of memory");
        st->buf = b;
        st->cap = cap;
    }
    if (n) memcpy(st->buf + st->len, s, n);
    st->len += n;
    st->buf[st->len] = 0;
    return GPTC_OK;
}

/* Emits what is safe; final: everything up to the first stop string. */
static void emit(gptc_text_stream *st, int final) {
    size_t cut = st->len;
    const char *found = NULL;
    /* a stop string can only begin in the last GPTC_GEN_STOP_LEN bytes before what was emitted */
    size_t from = st->emitted > GPTC_GEN_STOP_LEN ? st->emitted - GPTC_GEN_STOP_LEN : 0;
    for (int k = 0; k < st->n_stops; k++) {
        const char *f = strstr(st->buf + from, st->stops[k]);
        if (f && (!found || f < found)) found = f;
    }
    if (found) {
        cut = (size_t)(found - st->buf);
        st->stopped = 1;
    } else if (!final) {
        size_t hold = 0;
        for (int k = 0; k < st->n_stops; k++) {
            size_t sl = strlen(st->stops[k]);
            for (size_t h = sl - 1; h > hold; h--)
                if (h <= st->len && !memcmp(st->buf + st->len - h, st->stops[k], h)) {
                    hold = h;
                    break;
                }
        }
        cut = st->len - hold;
    }
    if (cut > st->emitted) {
        if (st->cb && !st->cancelled && st->cb(st->user, st->buf + st->emitted, cut - st->emitted)) st->cancelled = 1;
        st->emitted = cut;
    }
    if (st->stopped) {
        st->len = cut; /* the text ends before the stop string */
        st->buf[cut] = 0;
    }
}

gptc_status gptc_text_stream_push(gptc_ctx *ctx, gptc_text_stream *st, int32_t id, int *done) {
    if (done) *done = st->stopped || st->cancelled;
    if (st->stopped) return GPTC_OK;
    if (!st->buf && append(ctx, st, "", 0)) return GPTC_ENOMEM;
    if (id >= 0 && (size_t)id < gptc_tokenizer_n_vocab(st->tok)) {
        char piece[512];
        size_t n;
        gptc_status s = gptc_decoder_push(ctx, st->dec, id, piece, sizeof piece, &n);
        if (s) return s;
        if ((s = append(ctx, st, piece, n))) return s;
    }
    emit(st, 0);
    if (done) *done = st->stopped || st->cancelled;
    return GPTC_OK;
}

gptc_status gptc_text_stream_finish(gptc_ctx *ctx, gptc_text_stream *st) {
    if (!st->buf && append(ctx, st, "", 0)) return GPTC_ENOMEM;
    if (!st->stopped) {
        char piece[64];
        size_t n;
        gptc_status s = gptc_decoder_flush(ctx, st->dec, piece, sizeof piece, &n);
        if (s || (s = append(ctx, st, piece, n))) return s;
    }
    emit(st, 1);
    return GPTC_OK;
}

const char *gptc_text_stream_text(const gptc_text_stream *st, size_t *len) {
    if (len) *len = st->buf ? st->len : 0;
    return st->buf ? st->buf : "";
}

int gptc_text_stream_stopped(const gptc_text_stream *st) { return st->stopped; }
