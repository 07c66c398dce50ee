/* fuzz_sft.c: libFuzzer target for chat JSONL ({"messages": [{"role", "content"}, ...]},
 * gptc_task_sft_read) with a tiny byte-level tokenizer.json written here (the 256 bytes,
 * three merges, <|endoftext|>; fuzz_tiny_tokenizer in fuzz_util.h). The first byte:
 * bit 0 the tokenizer also names <|im_start|> / <|im_end|>, bit 1 the model's vocabulary
 * has two ids beyond the tokenizer's (the markers' ids), bit 2 skip bad lines, bits 3-7 max_len (1 + 8 k).
 * What loads has rows of 1..max_len ids in the vocabulary, targets -100 or ids, at least
 * one per row; every error names the file. Corpus: tests/fuzz/corpus_sft, replayed by
 * tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "tasks/tasks.h"


FUZZ_TARGET(sft) {
    static const char *const names[] = {"chat.jsonl", NULL};
    if (size < 1) return 0;
    int markers = data[0] & 1, beyond = (data[0] >> 1) & 1, skip_bad = (data[0] >> 2) & 1, max_len = 1 + 8 * (data[0] >> 3);
    const gptc_tokenizer *tok = fuzz_tiny_tokenizer(markers);
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
