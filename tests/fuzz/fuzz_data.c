/* fuzz_data.c: libFuzzer target for the readers of training data: the first byte picks
 * 0 a token shard (gptc_shard_open, every id read), 1 token ids as text
 * (gptc_tokens_read_text), 2..4 a CSV / TSV / JSONL table (gptc_rows_read + labels;
 * bit 3: no header, bit 4: skip bad rows; numeric labels read as a regression's), 5 SQuAD JSON or QA JSONL (gptc_qa_read).
 * Every error names the file. Corpus: tests/fuzz/corpus_data, replayed by
 * tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "tasks/tasks.h"
#include "train/train.h"
#include "gptc.h"

FUZZ_TARGET(data) {
    static const char *const names[] = {"data.bin", "ids.txt", "data.csv", "data.tsv", "data.jsonl", "qa.json", NULL};
    if (size < 1) return 0;
    int kind = (data[0] & 7) % 6, flags = data[0] >> 3;
    char path[128];
    if (fuzz_write(names[kind], data + 1, size - 1, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_status s = GPTC_OK;
    if (kind == 0) {
        gptc_shard sh;
        if (!(s = gptc_shard_open(ctx, path, &sh))) {
            volatile uint32_t sum = 0;
            for (size_t i = 0; i < sh.n_tokens; i++)
                sum += sh.width == 2 ? (uint32_t)sh.tokens[2 * i] : (uint32_t)sh.tokens[4 * i + 3];
            gptc_shard_close(&sh);
        }
    } else if (kind == 1) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (!(s = gptc_tokens_read_text(ctx, path, 50257, &ids, &n))) free(ids);
    } else if (kind <= 4) {
        gptc_table_opts o = {0};
        o.format = kind == 2 ? GPTC_FMT_CSV : kind == 3 ? GPTC_FMT_TSV : GPTC_FMT_JSONL;
        o.no_header = flags & 1;
        o.skip_bad = (flags >> 1) & 1;
        o.need_label = (flags >> 2) & 1;
        gptc_rows r;
        memset(&r, 0, sizeof r);
        if (!(s = gptc_rows_read(ctx, path, &o, &r))) {
            gptc_labels l;
            if (r.n && !gptc_labels_collect(ctx, path, &r, &l) && !o.need_label) {
                int32_t *ids = malloc((r.n ? r.n : 1) * sizeof *ids);
                if (ids) gptc_labels_map(ctx, path, &l, &r, ids);
                free(ids);
            }
            if (r.n && r.label) { /* a regression's numeric labels */
                float *y = malloc(r.n * sizeof *y);
                if (y && !gptc_labels_scores(ctx, path, &r, y))
                    for (size_t i = 0; i < r.n; i++)
                        if (y[i] - y[i] != 0) abort(); /* finite */
                free(y);
            }
            gptc_rows_free(&r);
        }
    } else {
        gptc_qa_set q;
        size_t skipped = 0;
        memset(&q, 0, sizeof q);
        if (!(s = gptc_qa_read(ctx, path, flags & 1, (flags >> 1) & 1, &q, &skipped))) gptc_qa_free(&q);
    }
    if (s && s != GPTC_ENOMEM && !strstr(gptc_errmsg(ctx), names[kind])) abort(); /* every error names the file */
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
