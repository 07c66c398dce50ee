/* fuzz_spm.c: libFuzzer target for SentencePiece .model files (gptc_spm_load_buffer):
 * the first two bytes (little-endian) are the length L of a text, then L bytes of text,
 * then the model. Every load error names the file; what loads must encode the text and
 * a fixed one into ids inside the model, with as many pieces as ids, and decode them.
 * Corpus: tests/fuzz/corpus_spm (seeds: small unigram and BPE models trained by
 * spm_train, one with a custom charsmap, one with byte fallback), replayed by
 * tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"

static void spm_fuzz_text(gptc_ctx *ctx, const gptc_spm *spm, const char *text, size_t len) {
    gptc_spm_pieces p;
    if (gptc_spm_encode_pieces(ctx, spm, text, len, &p) != GPTC_OK) return;
    for (size_t i = 0; i < p.n; i++) {
        if (p.ids[i] < 0 || (size_t)p.ids[i] >= gptc_spm_n_pieces(spm)) abort();
        if (p.offsets[i] > p.offsets[i + 1]) abort();
    }
    int32_t *ids;
    size_t n;
    if (gptc_spm_encode(ctx, spm, text, len, &ids, &n) != GPTC_OK || n != p.n || (n && memcmp(ids, p.ids, n * 4)))
        abort(); /* the two calls agree */
    free(ids);
    char *out;
    size_t olen;
    if (gptc_spm_decode(ctx, spm, p.ids, p.n, &out, &olen) == GPTC_OK) free(out);
    gptc_spm_pieces_free(&p);
}

FUZZ_TARGET(spm) {
    if (size < 2) return 0;
    size_t L = (size_t)data[0] | (size_t)data[1] << 8;
    if (L > size - 2) L = size - 2;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_spm *spm = NULL;
    if (gptc_spm_load_buffer(ctx, data + 2 + L, size - 2 - L, "fuzz.model", &spm) == GPTC_OK) {
        static const char fixed[] = "  Hello,  ＷＯＲＬＤ! 안녕하세요 <sep> \xff\xfe 😀 ① Á\t";
        spm_fuzz_text(ctx, spm, (const char *)data + 2, L);
        spm_fuzz_text(ctx, spm, fixed, sizeof fixed - 1);
        int32_t probe[3] = {0, (int32_t)gptc_spm_n_pieces(spm) - 1, (int32_t)gptc_spm_n_pieces(spm)};
        char *out;
        size_t olen;
        if (gptc_spm_decode(ctx, spm, probe, 3, &out, &olen) == GPTC_OK) abort(); /* the last id is out of range */
        gptc_spm_free(spm);
    } else if (!strstr(gptc_errmsg(ctx), "fuzz.model")) {
        abort(); /* every error names the file */
    }
    gptc_ctx_free(ctx);
    return 0;
}
