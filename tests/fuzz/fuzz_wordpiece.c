/* fuzz_wordpiece.c: libFuzzer target for WordPiece: its loaders (vocab.txt,
 * tokenizer.json, tokenizer_config.json) and its encoder. The first byte picks the case,
 * the rest is split at NUL bytes into parts: 0 vocab.txt [+ tokenizer_config.json],
 * 1 tokenizer.json [+ tokenizer_config.json], 2 vocab.txt + tokenizer.json, each then
 * encoding a fixed text (and its last part as a second text); 3 the rest is text,
 * encoded (ids, offsets, pairs with truncation, decode) by a fixed BERT-like vocabulary,
 * cased or uncased by the first byte's bit 2. Offsets must lie in the text and grow.
 * Corpus: tests/fuzz/corpus_wordpiece, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"

static void wp_encode_all(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *text, size_t n) {
    int32_t *ids = NULL, *types = NULL;
    size_t *off = NULL, k = 0;
    if (gptc_tokenizer_encode_offsets(ctx, tok, text, n, 1, &ids, &off, &k) == GPTC_OK) {
        for (size_t i = 0; i < k; i++)
            if (off[2 * i] > off[2 * i + 1] || off[2 * i + 1] > n || (i && off[2 * i] < off[2 * i - 2])) abort();
        char *out = NULL;
        size_t len = 0;
        if (gptc_tokenizer_decode(ctx, tok, ids, k, &out, &len) == GPTC_OK) free(out);
        free(ids);
        free(off);
    }
    size_t h = n / 2;
    for (int m = 0; m < 3; m++) {
        if (gptc_tokenizer_encode_pair(ctx, tok, text, h, text + h, n - h, m == 0 ? 0 : m == 1 ? 5 : 12, &ids, &types,
                                       &k) == GPTC_OK) {
            if (m && k > (size_t)(m == 1 ? 5 : 12)) abort();
            free(ids);
            free(types);
        }
    }
}

FUZZ_TARGET(wordpiece) {
    static const char *const names[] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json", NULL};
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\na\n##a\nb\n##b\nhello\n##s\n.\n!\n"
                                "가\n##나\n한\n##국\n中\ne\n##e\n##\xcc\x81\n\xc3\xa9\n##ll\nh\n##o\n";
    if (size < 1) return 0;
    int kind = data[0] & 3, lower = (data[0] >> 2) & 1;
    const uint8_t *p[3] = {data + 1, NULL, NULL};
    size_t n[3] = {size - 1, 0, 0};
    for (int k = 0; k < 2 && p[k]; k++) {
        const uint8_t *z = memchr(p[k], 0, n[k]);
        if (!z) break;
        p[k + 1] = z + 1;
        n[k + 1] = (size_t)(p[k] + n[k] - (z + 1));
        n[k] = (size_t)(z - p[k]);
    }
    char p1[128], p2[128];
    int bad = 0;
    if (kind == 0) bad = fuzz_write("vocab.txt", p[0], n[0], p1, sizeof p1) ||
                         (p[1] && fuzz_write("tokenizer_config.json", p[1], n[1], p2, sizeof p2));
    else if (kind == 1) bad = fuzz_write("tokenizer.json", p[0], n[0], p1, sizeof p1) ||
                              (p[1] && fuzz_write("tokenizer_config.json", p[1], n[1], p2, sizeof p2));
    else if (kind == 2) bad = fuzz_write("vocab.txt", p[0], n[0], p1, sizeof p1) ||
                              fuzz_write("tokenizer.json", p[1] ? p[1] : p[0], p[1] ? n[1] : 0, p2, sizeof p2);
    else {
        static const char cased[] = "{\"do_lower_case\": false}", uncased[] = "{\"do_lower_case\": true}";
        bad = fuzz_write("vocab.txt", vocab, sizeof vocab - 1, p1, sizeof p1) ||
              fuzz_write("tokenizer_config.json", lower ? uncased : cased, lower ? sizeof uncased - 1 : sizeof cased - 1,
                         p2, sizeof p2);
    }
    gptc_ctx *ctx = bad ? NULL : gptc_ctx_new(NULL);
    gptc_tokenizer *tok = NULL;
    if (ctx && gptc_tokenizer_load(ctx, fuzz_dir(), &tok) == GPTC_OK) {
        static const char text[] = "Hello, world! 안녕하세요 [MASK] café 中文 123\n";
        if (kind == 3) wp_encode_all(ctx, tok, (const char *)data + 1, size - 1);
        else wp_encode_all(ctx, tok, text, sizeof text - 1);
        if (kind != 3 && p[2]) wp_encode_all(ctx, tok, (const char *)p[2], n[2]);
        gptc_tokenizer_free(tok);
    }
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
