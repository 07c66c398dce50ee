/* test_stream.c: generated ids to text (gptc_text_stream): every piece handed out is
 * whole UTF-8 (Korean and emoji split across byte-level tokens), nothing that may still
 * become a stop string goes out early, the text ends before the first stop string, and
 * the pieces add up to the text. */
#include "harness.h"
#include "gptc.h"

typedef struct sink {
    char buf[4096];
    size_t len;
    int pieces, bad_utf8, stop_after;
} sink;

static int whole_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        int k = s[i] < 0x80 ? 1 : (s[i] & 0xE0) == 0xC0 ? 2 : (s[i] & 0xF0) == 0xE0 ? 3 : (s[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (!k || i + (size_t)k > n) return 0;
        for (int j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += (size_t)k;
    }
    return 1;
}

static int on_piece(void *user, const char *text, size_t len) {
    sink *s = user;
    if (!whole_utf8((const unsigned char *)text, len)) s->bad_utf8++;
    if (s->len + len < sizeof s->buf) memcpy(s->buf + s->len, text, len);
    s->len += len;
    s->buf[s->len < sizeof s->buf ? s->len : sizeof s->buf - 1] = 0;
    return ++s->pieces == s->stop_after;
}

static void run(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *text, const char *stop, const char *want,
                const char *name) {
    int32_t *ids;
    size_t n;
    if (gptc_tokenizer_encode(ctx, tok, text, strlen(text), 0, &ids, &n)) { printf("FAIL %s: %s\n", name, gptc_errmsg(ctx)); return; }
    gptc_gen_params p = gptc_gen_default_params();
    if (stop) {
        p.n_stop = 1;
        snprintf(p.stop_strings[0], sizeof p.stop_strings[0], "%s", stop);
    }
    sink s = {{0}, 0, 0, 0, 0};
    gptc_text_stream *st;
    if (gptc_text_stream_new(ctx, tok, &p, on_piece, &s, &st)) { printf("FAIL %s: %s\n", name, gptc_errmsg(ctx)); return; }
    int done = 0, early = 0;
    for (size_t i = 0; i < n && !done; i++) {
        gptc_text_stream_push(ctx, st, ids[i], &done);
        /* nothing of the stop string may have gone out before it is complete */
        if (stop && strstr(s.buf, stop)) early = 1;
    }
    gptc_text_stream_finish(ctx, st);
    size_t tl;
    const char *all = gptc_text_stream_text(st, &tl);
    char cname[200];
    snprintf(cname, sizeof cname, "%s: pieces are whole characters", name);
    CHECK(cname, s.bad_utf8 == 0 && s.pieces > 0, "%d pieces, %d split", s.pieces, s.bad_utf8);
    snprintf(cname, sizeof cname, "%s: text", name);
    CHECK(cname, !strcmp(all, want) && tl == strlen(want), "got '%s', want '%s'", all, want);
    snprintf(cname, sizeof cname, "%s: pieces add up to the text, no stop string printed", name);
    CHECK(cname, s.len == tl && !memcmp(s.buf, all, tl) && !early, "printed '%s'", s.buf);
    if (stop) {
        snprintf(cname, sizeof cname, "%s: stopped", name);
        CHECK(cname, done && gptc_text_stream_stopped(st), "not stopped");
    }
    gptc_text_stream_free(st);
    free(ids);
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_tokenizer *tok;
    if (gptc_tokenizer_from_encoding(ctx, "gpt2", &tok)) { printf("FAIL gpt2 encoding: %s\n", gptc_errmsg(ctx)); return 1; }
    run(ctx, tok, "안녕하세요, 반갑습니다 🙂 ok", NULL, "안녕하세요, 반갑습니다 🙂 ok", "korean + emoji");
    run(ctx, tok, "안녕하세요, 반갑습니다", "반갑", "안녕하세요, ", "stop string in Korean");
    run(ctx, tok, "User: hi\nAssistant: hello\nUser: more", "\nUser:", "User: hi\nAssistant: hello", "stop string across tokens");
    /* a callback asking to stop ends the stream */
    int32_t *ids;
    size_t n;
    gptc_tokenizer_encode(ctx, tok, "one two three four five", 23, 0, &ids, &n);
    sink s = {{0}, 0, 0, 0, 2};
    gptc_text_stream *st;
    gptc_text_stream_new(ctx, tok, NULL, on_piece, &s, &st);
    int done = 0;
    size_t i = 0;
    for (; i < n && !done; i++) gptc_text_stream_push(ctx, st, ids[i], &done);
    CHECK("the callback's non-zero return ends the stream", done && s.pieces == 2 && i == 2, "pieces %d after %zu ids", s.pieces, i);
    gptc_text_stream_free(st);
    free(ids);
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return test_exit();
}
