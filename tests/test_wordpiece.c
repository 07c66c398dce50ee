/* test_wordpiece.c: library-level checks of the WordPiece tokenizer: hand-worked ids of
 * a small BERT-like vocabulary (cased and uncased, Korean jamo, CJK, [MASK] in text, a
 * word past max_input_chars_per_word, invalid UTF-8), pairs with token types and
 * truncation, offsets, decode, roles, save and reload, and failing allocations at every
 * point of load, encode, pair, decode and save (clean GPTC_ENOMEM, no leak under ASan). */
#include "harness.h"
#include "gptc.h"
#include "core/core.h"
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static const char vocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"             /* 0..4 */
    "the\nhello\n##s\nh\n##e\n##ll\n##o\n!\n.\n,\n"    /* 5..14 */
    "cafe\ncafé\n中\n文\n\xe1\x84\x92\n##\xe1\x85\xa1\n##\xe1\x86\xab\n한\n" /* 15..22: 한 as jamo ᄒ ##ᅡ ##ᆫ, and whole */
    "x\n##x\n";                                        /* 23, 24 */

static int write_file(const char *dir, const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static int same_ids(const int32_t *a, size_t n, const int32_t *b, size_t m) {
    return n == m && !memcmp(a, b, n * sizeof *a);
}

static void expect(gptc_ctx *ctx, const gptc_tokenizer *t, const char *name, const char *text, const int32_t *want,
                   size_t nw) {
    int32_t *ids = NULL;
    size_t n = 0;
    gptc_status st = gptc_tokenizer_encode(ctx, t, text, strlen(text), 1, &ids, &n);
    char got[256] = "";
    for (size_t i = 0; i < n && strlen(got) < 200; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", ids[i]);
    CHECK(name, st == GPTC_OK && same_ids(ids, n, want, nw), "got %s(%s)", got, st ? gptc_errmsg(ctx) : "ok");
    free(ids);
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    char dir[64], cased[80], saved[80];
    snprintf(dir, sizeof dir, "/tmp/gptc_wp_test.%ld", (long)getpid());
    snprintf(cased, sizeof cased, "%s/cased", dir);
    snprintf(saved, sizeof saved, "%s/saved", dir);
    mkdir(dir, 0700);
    mkdir(cased, 0700);
    write_file(dir, "vocab.txt", vocab);
    write_file(cased, "vocab.txt", vocab);
    write_file(cased, "tokenizer_config.json", "{\"do_lower_case\": false}");
    gptc_tokenizer *u = NULL, *c = NULL;
    CHECK("load_vocab_txt", gptc_tokenizer_load(ctx, dir, &u) == GPTC_OK, "%s", gptc_errmsg(ctx));
    CHECK("load_cased", gptc_tokenizer_load(ctx, cased, &c) == GPTC_OK, "%s", gptc_errmsg(ctx));
    if (!u || !c) return test_exit();
    CHECK("kind", gptc_tokenizer_kind(u) == GPTC_TOKENIZER_WORDPIECE && gptc_tokenizer_wraps_inputs(u), "kind %d",
          gptc_tokenizer_kind(u));
    gptc_tokenizer_roles r;
    gptc_tokenizer_roles_get(u, &r);
    CHECK("roles", r.cls == 2 && r.sep == 3 && r.pad == 0 && r.mask == 4 && r.unk == 1 && r.eos == -1, "%d %d %d %d %d",
          r.cls, r.sep, r.pad, r.mask, r.unk);
    CHECK("special_id", gptc_tokenizer_special_id(u, "[MASK]") == 4, "%d", gptc_tokenizer_special_id(u, "[MASK]"));
    /* "Hello, the hellos!": hello , the hello ##s ! */
    expect(ctx, u, "uncased_words", "Hello, the hellos!", (const int32_t[]){6, 14, 5, 6, 7, 12}, 6);
    expect(ctx, c, "cased_words", "Hello hello", (const int32_t[]){1, 6}, 2); /* no "H": the word is [UNK] */
    /* accents: uncased Café -> cafe; cased café stays */
    expect(ctx, u, "uncased_accent", "Café", (const int32_t[]){15}, 1);
    expect(ctx, c, "cased_accent", "café", (const int32_t[]){16}, 1);
    /* Korean: uncased 한 is NFD jamo; cased keeps the syllable */
    expect(ctx, u, "uncased_hangul_jamo", "한", (const int32_t[]){19, 20, 21}, 3);
    expect(ctx, c, "cased_hangul", "한", (const int32_t[]){22}, 1);
    /* CJK split out, [MASK] kept, control characters dropped */
    expect(ctx, u, "cjk_mask_control", "中文[MASK]x\x01\xe2\x80\x8bx", (const int32_t[]){17, 18, 4, 23, 24}, 5);
    /* max_input_chars_per_word: 100 x is x ##x..., 101 is [UNK] */
    char w[128];
    memset(w, 'x', 101);
    w[101] = 0;
    int32_t *ids = NULL;
    size_t n = 0;
    gptc_tokenizer_encode(ctx, u, w, 100, 0, &ids, &n);
    CHECK("word_of_100", n == 100 && ids[0] == 23 && ids[99] == 24, "%zu ids", n);
    free(ids);
    expect(ctx, u, "word_of_101_unk", w, (const int32_t[]){1}, 1);
    expect(ctx, u, "invalid_utf8_dropped", "x\xff\xc3x", (const int32_t[]){23, 24}, 2);
    expect(ctx, u, "no_match_unk", "hellq the", (const int32_t[]){1, 5}, 2);
    /* pairs: [CLS] A [SEP] B [SEP], types; truncation longest_first */
    int32_t *ty = NULL;
    gptc_status st = gptc_tokenizer_encode_pair(ctx, u, "hello the", 9, "x x x", 5, 0, &ids, &ty, &n);
    CHECK("pair", st == GPTC_OK && same_ids(ids, n, (const int32_t[]){2, 6, 5, 3, 23, 23, 23, 3}, 8) &&
          same_ids(ty, n, (const int32_t[]){0, 0, 0, 0, 1, 1, 1, 1}, 8), "%zu ids", n);
    free(ids);
    free(ty);
    st = gptc_tokenizer_encode_pair(ctx, u, "hello the", 9, "x x x", 5, 6, &ids, &ty, &n); /* room 3: A 1, B 2 */
    CHECK("pair_truncated", st == GPTC_OK && same_ids(ids, n, (const int32_t[]){2, 6, 3, 23, 23, 3}, 6), "%zu ids", n);
    free(ids);
    free(ty);
    CHECK("pair_too_short", gptc_tokenizer_encode_pair(ctx, u, "x", 1, "x", 1, 2, &ids, &ty, &n) == GPTC_EINVAL, "no error");
    /* offsets: bytes of the source, [UNK] covering its word */
    size_t *off = NULL;
    st = gptc_tokenizer_encode_offsets(ctx, u, "Hello, Café", 12, 1, &ids, &off, &n);
    CHECK("offsets", st == GPTC_OK && n == 3 && off[0] == 0 && off[1] == 5 && off[2] == 5 && off[3] == 6 && off[4] == 7 &&
          off[5] == 12, "%zu ids", n);
    free(ids);
    free(off);
    /* decode: BertTokenizerFast.decode */
    char *text = NULL;
    size_t len = 0;
    st = gptc_tokenizer_decode(ctx, u, (const int32_t[]){2, 6, 7, 14, 5, 12, 3}, 7, &text, &len);
    CHECK("decode", st == GPTC_OK && !strcmp(text, "[CLS] hellos, the! [SEP]"), "'%s'", text ? text : "");
    free(text);
    gptc_decoder *dec = NULL;
    CHECK("streaming_refused", gptc_decoder_new(ctx, u, &dec) == GPTC_ENOTSUP, "expected ENOTSUP");
    /* save and reload: the same ids */
    CHECK("save", gptc_tokenizer_save(ctx, c, saved) == GPTC_OK, "%s", gptc_errmsg(ctx));
    gptc_tokenizer *s = NULL;
    CHECK("reload", gptc_tokenizer_load(ctx, saved, &s) == GPTC_OK, "%s", gptc_errmsg(ctx));
    if (s) expect(ctx, s, "reload_same_ids", "café 한 Hello", (const int32_t[]){16, 22, 1}, 3);
    gptc_tokenizer_free(s);
    /* the Nth allocation fails: clean ENOMEM, no crash, no leak */
    int ok = 1;
    for (long k = 0; k < 200; k++) {
        ctx->fail_alloc_after = k;
        gptc_tokenizer *t = NULL;
        st = gptc_tokenizer_load(ctx, cased, &t);
        if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
        if (t) {
            int32_t *x = NULL, *y = NULL;
            size_t nx = 0, *o = NULL;
            st = gptc_tokenizer_encode_offsets(ctx, t, "Hello, the café 中文 [MASK] e\xcc\x81\xcc\xa3", 27, 1, &x, &o, &nx);
            if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
            free(x);
            free(o);
            st = gptc_tokenizer_encode_pair(ctx, t, "hello", 5, "the", 3, 5, &x, &y, &nx);
            if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
            free(x);
            free(y);
            st = gptc_tokenizer_save(ctx, t, saved);
            if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
            gptc_tokenizer_free(t);
        }
    }
    ctx->fail_alloc_after = -1;
    CHECK("failing_allocations", ok, "a failed allocation gave another error: %s", gptc_errmsg(ctx));
    gptc_tokenizer_free(u);
    gptc_tokenizer_free(c);
    gptc_ctx_free(ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) printf("note: could not remove %s\n", dir);
    return test_exit();
}
