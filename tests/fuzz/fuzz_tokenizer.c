/* fuzz_tokenizer.c: libFuzzer target for the tokenizer loaders (gptc_tokenizer_load):
 * the first byte picks the layout, the rest is one file or two split at the first NUL:
 * 0 tokenizer.json, 1 vocab.json + merges.txt, 2 encoder.json + vocab.bpe, 3 a .tiktoken
 * rank file. What loads must encode and decode a fixed text. Corpus:
 * tests/fuzz/corpus_tokenizer, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"

FUZZ_TARGET(tokenizer) {
    static const char *const names[] = {"tokenizer.json", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe",
                                        "enc.tiktoken", NULL};
    if (size < 1) return 0;
    int kind = data[0] & 3;
    const uint8_t *a = data + 1, *nul = memchr(a, 0, size - 1);
    size_t na = nul ? (size_t)(nul - a) : size - 1;
    const uint8_t *b = nul ? nul + 1 : a + na;
    size_t nb = (size_t)(data + size - b);
    char p1[128], p2[128];
    const char *load = fuzz_dir();
    int bad = 0;
    if (kind == 0) bad = fuzz_write("tokenizer.json", a, size - 1, p1, sizeof p1);
    else if (kind == 1) bad = fuzz_write("vocab.json", a, na, p1, sizeof p1) || fuzz_write("merges.txt", b, nb, p2, sizeof p2);
    else if (kind == 2) bad = fuzz_write("encoder.json", a, na, p1, sizeof p1) || fuzz_write("vocab.bpe", b, nb, p2, sizeof p2);
    else {
        bad = fuzz_write("enc.tiktoken", a, size - 1, p1, sizeof p1);
        load = p1;
    }
    gptc_ctx *ctx = bad ? NULL : gptc_ctx_new(NULL);
    gptc_tokenizer *tok = NULL;
    if (ctx && gptc_tokenizer_load(ctx, load, &tok) == GPTC_OK) {
        static const char text[] = "Hello, world! 안녕하세요 <|endoftext|> 123\n";
        int32_t *ids = NULL;
        size_t n = 0;
        if (gptc_tokenizer_encode(ctx, tok, text, sizeof text - 1, 1, &ids, &n) == GPTC_OK) {
            char *out = NULL;
            size_t len = 0;
            if (gptc_tokenizer_decode(ctx, tok, ids, n, &out, &len) == GPTC_OK) free(out);
            free(ids);
        }
        gptc_tokenizer_free(tok);
    }
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
