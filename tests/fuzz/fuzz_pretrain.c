/* fuzz_pretrain.c: libFuzzer target for BERT pre-training JSONL (gptc_pretrain_read) and
 * the batches made from it (gptc_pretrain_fill, with and without MLM masking, whole-word
 * on). The first byte: bits 0-3 the length limit (0: none, else 2 k), bit 4 masking,
 * bit 5 whole words. What loads has rows of 1..limit ids in [0, 40), types in [0, 2),
 * masks 0/1, labels -100 or ids, NSP 0/1/-100; a filled batch keeps ids in range and
 * labels -100 wherever it pads. Corpus: tests/fuzz/corpus_pretrain, replayed by
 * tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"

FUZZ_TARGET(pretrain) {
    static const char *const names[] = {"pre.jsonl", NULL};
    if (size < 1) return 0;
    int limit = 2 * (data[0] & 15), mask = (data[0] >> 4) & 1, wwm = (data[0] >> 5) & 1;
    char path[128];
    if (fuzz_write(names[0], data + 1, size - 1, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_config c = gptc_config_bert_default();
    c.vocab_size = 40;
    gptc_pretrain_data *d = NULL;
    gptc_status s = gptc_pretrain_read(ctx, path, &c, limit, &d);
    if (s) {
        if (!strstr(gptc_errmsg(ctx), "pre.jsonl") && s != GPTC_ENOMEM) abort(); /* errors name the file */
    } else {
        size_t n = gptc_pretrain_count(d), T = gptc_pretrain_max_len(d);
        if (!n || !T || (limit && T > (size_t)limit)) abort();
        int B = n < 4 ? (int)n : 4;
        gptc_batch bt;
        memset(&bt, 0, sizeof bt);
        size_t NT = (size_t)B * T;
        bt.tokens = malloc(NT * sizeof(int32_t));
        bt.targets = malloc(NT * sizeof(int32_t));
        bt.token_types = malloc(NT * sizeof(int32_t));
        bt.attention_mask = malloc(NT * sizeof(float));
        bt.labels = malloc((size_t)B * sizeof(int32_t));
        unsigned char cont[40];
        for (int i = 0; i < 40; i++) cont[i] = i >= 30;
        int32_t special[3] = {1, 2, 0};
        gptc_mlm_params mp = gptc_mlm_default_params();
        mp.mask_token_id = 3;
        mp.vocab_size = 40;
        mp.special = special;
        mp.n_special = 3;
        mp.whole_word_mask = wwm;
        mp.continuation = cont;
        uint64_t rng = 7;
        size_t idx[4];
        for (size_t r0 = 0; r0 < n && bt.tokens && bt.targets && bt.token_types && bt.attention_mask && bt.labels;
             r0 += (size_t)B) {
            int nb = (int)(n - r0 < (size_t)B ? n - r0 : (size_t)B);
            for (int b = 0; b < nb; b++) idx[b] = r0 + (size_t)b;
            if (gptc_pretrain_fill(ctx, d, idx, nb, (int)T, 0, mask ? &mp : NULL, &rng, &bt)) abort();
            for (size_t i = 0; i < (size_t)nb * T; i++) {
                if (bt.tokens[i] < 0 || bt.tokens[i] >= 40 || bt.token_types[i] < 0 || bt.token_types[i] > 1) abort();
                if (bt.targets[i] != -100 && (bt.targets[i] < 0 || bt.targets[i] >= 40)) abort();
                if (bt.attention_mask[i] != 0.0f && bt.attention_mask[i] != 1.0f) abort();
            }
            for (int b = 0; b < nb; b++)
                if (bt.labels[b] != 0 && bt.labels[b] != 1 && bt.labels[b] != -100) abort();
        }
        free(bt.tokens);
        free(bt.targets);
        free(bt.token_types);
        free(bt.attention_mask);
        free(bt.labels);
        gptc_pretrain_free(d);
    }
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
