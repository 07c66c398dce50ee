/* fuzz_mt.c: libFuzzer target for translation data: the first byte's bit 0 picks sentence
 * pairs (gptc_mt_pairs_read: TSV src<TAB>tgt when bit 1 is 0, JSONL {"src", "tgt"} when
 * 1; bit 2 skip bad lines; bits 3-7 max source/target length 2 + k) or JSONL ids
 * (gptc_mt_ids_read, vocabulary 300: {"input_ids", "labels", "attention_mask"}). The
 * pairs are tokenized by a tiny joint BPE (fuzz_tiny_tokenizer's with </s> and <pad>;
 * fuzz_mt_tokenizer). What loads has rows of ids in the vocabulary ending with </s>,
 * within the lengths, labels -100 or ids; every error names the file. Corpus:
 * tests/fuzz/corpus_mt, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"

FUZZ_TARGET(mt) {
    static const char *const names[] = {"pairs.tsv", "pairs.jsonl", "ids.jsonl", NULL};
    if (size < 1) return 0;
    int ids_mode = data[0] & 1, jsonl = (data[0] >> 1) & 1, skip = (data[0] >> 2) & 1, ml = 2 + (data[0] >> 3);
    const char *name = ids_mode ? names[2] : names[jsonl];
    char path[128];
    if (fuzz_write(name, data + 1, size - 1, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_mt_data d;
    gptc_status s;
    long V = 300;
    if (ids_mode) s = gptc_mt_ids_read(ctx, path, V, ml, &d);
    else {
        const gptc_mt_tokenizer *t = fuzz_mt_tokenizer();
        gptc_mt_read_params p = gptc_mt_read_default_params();
        p.max_source_length = p.max_target_length = ml;
        p.skip_bad = skip;
        p.keep_references = 1;
        s = gptc_mt_pairs_read(ctx, path, t, &p, &d);
        V = (long)gptc_mt_tokenizer_ids(t).n_vocab;
    }
    if (!s) {
        if (!d.n || d.src_off[0] || d.tgt_off[0]) abort();
        for (size_t r = 0; r < d.n; r++) {
            size_t ns = d.src_off[r + 1] - d.src_off[r], nt = d.tgt_off[r + 1] - d.tgt_off[r];
            if (!ns || !nt || ns > (size_t)ml || nt > (size_t)ml || ns > d.max_src || nt > d.max_tgt) abort();
            for (size_t k = d.src_off[r]; k < d.src_off[r + 1]; k++)
                if (d.src[k] < 0 || d.src[k] >= V) abort();
            for (size_t k = d.tgt_off[r]; k < d.tgt_off[r + 1]; k++)
                if ((d.tgt[k] < 0 && d.tgt[k] != -100) || d.tgt[k] >= V) abort();
            if (!ids_mode && (d.src[d.src_off[r + 1] - 1] != 259 || d.tgt[d.tgt_off[r + 1] - 1] != 259 || !d.ref[r]))
                abort(); /* </s> ends both sides */
        }
        gptc_mt_data_free(&d);
    } else if (s != GPTC_ENOMEM && !strstr(gptc_errmsg(ctx), name)) {
        abort(); /* every error names the file */
    }
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
