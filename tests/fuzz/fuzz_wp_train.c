/* fuzz_wp_train.c: libFuzzer target for WordPiece training (text/wp_train.c): byte 0
 * picks lower-casing (bit 0) and the alphabet limit (bits 1-3: 0, or 2..8), byte 1 the
 * vocabulary size (5 + byte), byte 2 the minimum frequency (1..4); the rest, split at its
 * first NUL, is two texts fed in turn (any bytes: invalid UTF-8 included). The vocabulary
 * must start with the five special tokens, hold no token twice and no empty one, and be
 * no larger than the asked size unless the alphabet alone is; every merge names a token
 * of it. Corpus: tests/fuzz/corpus_wp_train, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"

FUZZ_TARGET(wp_train) {
    if (size < 3) return 0;
    static const char *const sp[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    gptc_wp_train_params p;
    gptc_wp_train_default_params(&p);
    p.lowercase = data[0] & 1;
    p.limit_alphabet = (data[0] >> 1) & 7 ? 1 + ((data[0] >> 1) & 7) : 0;
    p.vocab_size = 5 + (size_t)data[1];
    p.min_frequency = 1 + (data[2] & 3);
    p.special = sp;
    p.n_special = 5;
    const char *text = (const char *)data + 3;
    size_t n = size - 3, a = 0;
    while (a < n && text[a]) a++;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_wp_trainer *t = NULL;
    if (!gptc_wp_trainer_new(ctx, &p, &t) && !gptc_wp_trainer_feed(ctx, t, text, a) &&
        !gptc_wp_trainer_feed(ctx, t, text + (a < n ? a + 1 : a), a < n ? n - a - 1 : 0) &&
        !gptc_wp_trainer_train(ctx, t)) {
        const char *const *tok;
        const gptc_wp_merge *m;
        size_t nv = gptc_wp_trainer_vocab(t, &tok), nm = gptc_wp_trainer_merges(t, &m), base = 0;
        if (nv < 5) abort();
        for (size_t i = 0; i < 5; i++)
            if (strcmp(tok[i], sp[i])) abort();
        for (size_t i = 0; i < nv; i++) {
            if (!tok[i][0]) abort();
            for (size_t j = 0; j < i; j++)
                if (!strcmp(tok[i], tok[j])) abort();
        }
        /* the alphabet and "##" forms: everything before the first merge's token */
        base = nm ? (size_t)m[0].token : nv;
        if (nv > p.vocab_size && nv > base) abort();
        for (size_t i = 0; i < nm; i++)
            if (m[i].token < 0 || (size_t)m[i].token >= nv || m[i].count < p.min_frequency) abort();
    }
    gptc_wp_trainer_free(t);
    gptc_ctx_free(ctx);
    return 0;
}
