/* fuzz_sft.c: libFuzzer target for chat JSONL ({"messages": [{"role", "content"}, ...]},
 * gptc_task_sft_read) with a tiny byte-level tokenizer.json written here (the 256 bytes,
 * three merges, <|endoftext|>). The first byte: bit 0 the tokenizer also names
 * <|im_start|> / <|im_end|>, bit 1 the model's vocabulary has two ids beyond the
 * tokenizer's (the markers' ids), bit 2 skip bad lines, bits 3-7 max_len (1 + 8 k).
 * What loads has rows of 1..max_len ids in the vocabulary, targets -100 or ids, at least
 * one per row; every error names the file. Corpus: tests/fuzz/corpus_sft, replayed by
 * tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "tasks/tasks.h"

/* GPT-2's byte-to-code-point map (bytes_to_unicode) */
static unsigned fuzz_byte_cp(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (unsigned)b;
    int n = 0;
    for (int o = 0; o < b; o++) n += !((o >= '!' && o <= '~') || (o >= 0xA1 && o <= 0xAC) || (o >= 0xAE && o <= 0xFF));
    return 256u + (unsigned)n;
}

/* A tokenizer.json (markers: with <|im_start|> and <|im_end|>), loaded once. */
static const gptc_tokenizer *fuzz_sft_tok(int markers) {
    static gptc_tokenizer *tok[2];
    if (tok[markers]) return tok[markers];
    char *j = malloc(1 << 14), dir[128], path[160];
    if (!j) abort();
    size_t n = (size_t)sprintf(j, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    for (int b = 0; b < 256; b++) n += (size_t)sprintf(j + n, "\"\\u%04x\": %d, ", fuzz_byte_cp(b), b);
    n += (size_t)sprintf(j + n, "\"he\": 256, \"\\u0120t\": 257, \"ll\": 258, \"<|endoftext|>\": 259%s}, "
                                "\"merges\": [\"h e\", \"\\u0120 t\", \"l l\"]}, "
                                "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}, "
                                "\"added_tokens\": [{\"id\": 259, \"content\": \"<|endoftext|>\"}%s]}",
                         markers ? ", \"<|im_start|>\": 260, \"<|im_end|>\": 261" : "",
                         markers ? ", {\"id\": 260, \"content\": \"<|im_start|>\"}, {\"id\": 261, \"content\": \"<|im_end|>\"}"
                                 : "");
    snprintf(dir, sizeof dir, "%s/tok%d", fuzz_dir(), markers);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    mkdir(dir, 0700);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(j, 1, n, f) != n || fclose(f)) abort();
    free(j);
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx || gptc_tokenizer_load(ctx, dir, &tok[markers])) {
        fprintf(stderr, "fuzz_sft: %s\n", ctx ? gptc_errmsg(ctx) : "out of memory");
        abort();
    }
    gptc_ctx_free(ctx);
    unlink(path);
    rmdir(dir);
    return tok[markers];
}

FUZZ_TARGET(sft) {
    static const char *const names[] = {"chat.jsonl", NULL};
    if (size < 1) return 0;
    int markers = data[0] & 1, beyond = (data[0] >> 1) & 1, skip_bad = (data[0] >> 2) & 1, max_len = 1 + 8 * (data[0] >> 3);
    const gptc_tokenizer *tok = fuzz_sft_tok(markers);
    int vocab = (int)gptc_tokenizer_n_vocab(tok) + 2 * beyond;
    char path[128];
    if (fuzz_write(names[0], data + 1, size - 1, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_task_data d;
    size_t skipped = 0;
    gptc_status s = gptc_task_sft_read(ctx, path, tok, vocab, max_len, skip_bad, &d, &skipped);
    if (!s) {
        if (!d.n || d.kind != GPTC_TASK_SFT || d.off[0] != 0) abort();
        size_t longest = 0;
        for (size_t r = 0; r < d.n; r++) {
            size_t o = d.off[r], len = d.off[r + 1] - o;
            int any = 0;
            if (d.off[r + 1] <= o || len > (size_t)max_len) abort();
            if (len > longest) longest = len;
            for (size_t t = o; t < o + len; t++) {
                if (d.ids[t] < 0 || d.ids[t] >= vocab) abort();
                if (d.tgt[t] != -100 && (d.tgt[t] < 0 || d.tgt[t] >= vocab)) abort();
                any |= d.tgt[t] != -100;
            }
            if (!any) abort(); /* every row has a token to learn */
        }
        if (longest != d.max_len) abort();
        gptc_task_data_free(&d);
    } else if (s != GPTC_ENOMEM && !strstr(gptc_errmsg(ctx), names[0])) {
        abort(); /* every error names the file */
    }
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
