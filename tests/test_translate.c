/* test_translate.c: translation pairs (src/tasks/translate.c) with the tiny joint BPE of
 * fuzz_util.h (</s> 259, <pad> 260): ids of each side = the BPE's ids + </s>; truncation
 * keeps the start and </s>; the teacher-forcing batch (decoder input = [start] +
 * labels[:-1], -100 -> pad; labels -100 on padding; source padding mask) against loops
 * written here; the data source's epochs are permutations, and a source resumed at any
 * position yields the same batches; broken files fail naming file and line. */
#define GPTC_FUZZ_REPLAY 1
#include "fuzz/fuzz_util.h"
#include "harness.h"

static const char *write_file(const char *name, const char *text) {
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f)) abort();
    return p;
}

/* The BPE ids of text + </s>. */
static size_t ref_ids(gptc_ctx *ctx, const gptc_tokenizer *bpe, const char *text, int32_t *out) {
    int32_t *ids;
    size_t n;
    if (gptc_tokenizer_encode(ctx, bpe, text, strlen(text), 0, &ids, &n)) abort();
    memcpy(out, ids, n * sizeof *ids);
    free(ids);
    out[n] = 259;
    return n + 1;
}

static void expect_fail(gptc_ctx *ctx, const gptc_mt_tokenizer *t, const char *name, const char *file,
                        const char *text, const char *want) {
    const char *p = write_file(file, text);
    gptc_mt_data d;
    gptc_mt_read_params rp = gptc_mt_read_default_params();
    gptc_status s = gptc_mt_pairs_read(ctx, p, t, &rp, &d);
    CHECK(name, s && strstr(gptc_errmsg(ctx), want) && strstr(gptc_errmsg(ctx), file), "status %d, message '%s'", s,
          gptc_errmsg(ctx));
    if (!s) gptc_mt_data_free(&d);
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    const gptc_mt_tokenizer *t = fuzz_mt_tokenizer();
    (void)fuzz_write;
    (void)fuzz_clean;
    /* the same BPE as a plain tokenizer, for the reference ids */
    gptc_mt_ids ti = gptc_mt_tokenizer_ids(t);
    CHECK("mt_tokenizer_ids", ti.eos == 259 && ti.pad == 260 && ti.unk == -1 && ti.n_vocab == 261, "eos %d pad %d unk %d n %zu",
          ti.eos, ti.pad, ti.unk, ti.n_vocab);
    const gptc_tokenizer *bpe;
    {
        static gptc_tokenizer *b;
        char dir[160], path[200];
        fuzz_mt_tokenizer_write("bpe", dir, sizeof dir, path, sizeof path);
        if (gptc_tokenizer_load(ctx, dir, &b)) abort();
        unlink(path);
        rmdir(dir);
        bpe = b;
    }
    static const char *src_text[] = {"hello the world", "tell", "the hell of a tall hall", "\xed\x95\x9c\xea\xb5\xad"};
    static const char *tgt_text[] = {"a", "hello hello hello", "world", "x y"};
    char tsv[1024] = "", jsonl[1024] = "";
    for (int i = 0; i < 4; i++) {
        snprintf(tsv + strlen(tsv), sizeof tsv - strlen(tsv), "%s\t%s\n%s", src_text[i], tgt_text[i], i == 1 ? "\n" : "");
        snprintf(jsonl + strlen(jsonl), sizeof jsonl - strlen(jsonl), "{\"src\": \"%s\", \"tgt\": \"%s\"}\r\n", src_text[i],
                 tgt_text[i]);
    }
    for (int fmt = 0; fmt < 2; fmt++) {
        const char *p = write_file(fmt ? "pairs.jsonl" : "pairs.tsv", fmt ? jsonl : tsv);
        for (int trunc = 0; trunc < 2; trunc++) {
            gptc_mt_read_params rp = gptc_mt_read_default_params();
            rp.max_source_length = trunc ? 4 : 0;
            rp.max_target_length = trunc ? 3 : 0;
            rp.keep_references = 1;
            gptc_mt_data d;
            gptc_status s = gptc_mt_pairs_read(ctx, p, t, &rp, &d);
            char name[64];
            snprintf(name, sizeof name, "mt_pairs_%s%s", fmt ? "jsonl" : "tsv", trunc ? "_truncated" : "");
            int ok = !s && d.n == 4;
            size_t msrc = 0, mtgt = 0;
            for (int i = 0; ok && i < 4; i++) {
                int32_t rs[64], rt[64];
                size_t ns = ref_ids(ctx, bpe, src_text[i], rs), nt = ref_ids(ctx, bpe, tgt_text[i], rt);
                if (trunc && ns > 4) rs[3] = 259, ns = 4;
                if (trunc && nt > 3) rt[2] = 259, nt = 3;
                msrc = ns > msrc ? ns : msrc;
                mtgt = nt > mtgt ? nt : mtgt;
                ok = d.src_off[i + 1] - d.src_off[i] == ns && !memcmp(d.src + d.src_off[i], rs, ns * 4) &&
                     d.tgt_off[i + 1] - d.tgt_off[i] == nt && !memcmp(d.tgt + d.tgt_off[i], rt, nt * 4) &&
                     !strcmp(d.ref[i], tgt_text[i]) && d.line[i] == (size_t)(fmt ? i + 1 : i + 1 + (i >= 2));
            }
            CHECK(name, ok && d.max_src == msrc && d.max_tgt == mtgt, "status %d (%s), %zu pairs", s, gptc_errmsg(ctx),
                  s ? 0 : d.n);
            if (s) continue;
            if (fmt == 0 && trunc == 0) {
                /* the batch against loops written here: rows 2, 0 padded to T 7, enc_T 9 */
                int B = 2, T = 7, E = 9;
                size_t idx[2] = {2, 0};
                int32_t tok[14], tg[14], enc[18];
                float em[18];
                gptc_batch bt = {0};
                bt.tokens = tok;
                bt.targets = tg;
                bt.enc_tokens = enc;
                bt.enc_mask = em;
                gptc_mt_fill(&d, idx, B, T, E, 260, 258, &bt);
                int good = bt.B == B && bt.T == T && bt.enc_T == E;
                for (int b = 0; b < B; b++) {
                    size_t r = idx[b], so = d.src_off[r], ns = d.src_off[r + 1] - so, to = d.tgt_off[r],
                           nt = d.tgt_off[r + 1] - to;
                    for (int k = 0; k < E; k++) {
                        good &= enc[b * E + k] == ((size_t)k < ns ? d.src[so + k] : 260);
                        good &= em[b * E + k] == ((size_t)k < ns ? 1.0f : 0.0f);
                    }
                    for (int k = 0; k < T; k++) {
                        good &= tg[b * T + k] == ((size_t)k < nt ? d.tgt[to + k] : -100);
                        int32_t want = k == 0 ? 258 : (size_t)(k - 1) < nt ? d.tgt[to + k - 1] : 260;
                        good &= tok[b * T + k] == want;
                    }
                }
                CHECK("mt_fill", good, "batch differs from the reference loops");
                /* the data source: epochs are permutations; resuming at a position repeats */
                gptc_mt_source *src, *src2;
                if (gptc_mt_source_new(ctx, &d, NULL, 260, 258, 1234, NULL, NULL, NULL, &src) ||
                    gptc_mt_source_new(ctx, &d, NULL, 260, 258, 1234, NULL, NULL, NULL, &src2))
                    abort();
                const gptc_data_source *ds = gptc_mt_source_data(src), *ds2 = gptc_mt_source_data(src2);
                CHECK("mt_source_fields", ds->fields == GPTC_BATCH_ENC_TOKENS && ds->enc_T == (int)d.max_src &&
                                             ds->train_rows == 4, "fields %d enc_T %d", ds->fields, ds->enc_T);
                int32_t t1[8 * 8], g1[8 * 8], e1[8 * 16], t2[8 * 8], g2[8 * 8], e2[8 * 16];
                float m1[8 * 16], m2[8 * 16];
                uint64_t rng = 0, pos = 0;
                int perm_ok = 1, resume_ok = 1;
                for (int step = 0; step < 6; step++) {
                    gptc_batch a = {.B = 2, .T = 8, .tokens = t1, .targets = g1, .enc_tokens = e1, .enc_mask = m1, .enc_T = ds->enc_T};
                    uint64_t p0 = pos, rng2 = 0, pos2 = p0;
                    ds->train_batch(ctx, ds->user, &a, &rng, &pos);
                    gptc_batch c = {.B = 2, .T = 8, .tokens = t2, .targets = g2, .enc_tokens = e2, .enc_mask = m2, .enc_T = ds->enc_T};
                    ds2->train_batch(ctx, ds2->user, &c, &rng2, &pos2); /* a fresh position each time: resume */
                    resume_ok &= pos == pos2 && !memcmp(t1, t2, sizeof(int32_t) * 16) && !memcmp(g1, g2, sizeof(int32_t) * 16) &&
                                 !memcmp(e1, e2, sizeof(int32_t) * 2 * (size_t)ds->enc_T);
                    (void)p0;
                }
                /* every epoch of 4 rows covers each row once: the first labels of 4 consecutive positions */
                for (uint64_t e = 0; e < 3; e++) {
                    int seen[4] = {0};
                    for (int k = 0; k < 4; k++) {
                        uint64_t r0 = 0, p1 = e * 4 + (uint64_t)k;
                        gptc_batch a = {.B = 1, .T = 8, .tokens = t1, .targets = g1, .enc_tokens = e1, .enc_mask = m1, .enc_T = ds->enc_T};
                        ds->train_batch(ctx, ds->user, &a, &r0, &p1);
                        for (int r = 0; r < 4; r++)
                            if (!memcmp(e1, d.src + d.src_off[r], (d.src_off[r + 1] - d.src_off[r]) * 4)) seen[r]++;
                    }
                    perm_ok &= seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1;
                }
                CHECK("mt_source_resume", resume_ok, "a resumed source gave other batches");
                CHECK("mt_source_epochs", perm_ok, "an epoch is not a permutation of the rows");
                gptc_mt_source_free(src);
                gptc_mt_source_free(src2);
            }
            gptc_mt_data_free(&d);
        }
    }
    /* dynamic padding and group_by_length on 1000 pairs of lengths 1..40 (row r's ids are
     * all r): each batch is padded to its own longest source / labels; with grouping an
     * epoch is still a permutation, the full batches of a chunk of 50 batches hold
     * non-overlapping length ranges in a shuffled order, and a source resumed at a
     * position gives the same batch */
    {
        enum { N = 1000, B = 7, L = 40 };
        gptc_mt_data d = {0};
        d.n = N;
        d.src_off = calloc(N + 1, sizeof(size_t));
        d.tgt_off = calloc(N + 1, sizeof(size_t));
        d.src = malloc((size_t)N * L * 4);
        d.tgt = malloc((size_t)N * L * 4);
        uint64_t st = 20261201;
        size_t len[N];
        for (size_t r = 0; r < N; r++) {
            size_t ns = 1 + gptc_splitmix64(&st) % L, nt = 1 + gptc_splitmix64(&st) % L;
            for (size_t k = 0; k < ns; k++) d.src[d.src_off[r] + k] = (int32_t)r;
            for (size_t k = 0; k < nt; k++) d.tgt[d.tgt_off[r] + k] = (int32_t)r;
            d.src_off[r + 1] = d.src_off[r] + ns;
            d.tgt_off[r + 1] = d.tgt_off[r] + nt;
            d.max_src = ns > d.max_src ? ns : d.max_src;
            d.max_tgt = nt > d.max_tgt ? nt : d.max_tgt;
            len[r] = ns > nt ? ns : nt;
        }
        for (int group = 0; group < 2; group++) {
            gptc_mt_source *src, *src2;
            if (gptc_mt_source_new(ctx, &d, NULL, 5000, 5001, 99, NULL, NULL, NULL, &src) ||
                gptc_mt_source_new(ctx, &d, NULL, 5000, 5001, 99, NULL, NULL, NULL, &src2))
                abort();
            gptc_mt_source_group_by_length(src, group);
            gptc_mt_source_group_by_length(src2, group);
            const gptc_data_source *ds = gptc_mt_source_data(src), *ds2 = gptc_mt_source_data(src2);
            static int32_t tk[B * L], tg[B * L], en[B * L], tk2[B * L], tg2[B * L], en2[B * L];
            static float em[B * L], em2[B * L];
            int seen[N] = {0}, pad_ok = 1, resume_ok = 1, ranges_ok = 1, shuffled = 0;
            size_t lo[N / B + 1], hi[N / B + 1];
            uint64_t rng = 0, pos = 0;
            int nb = 0;
            while (pos + B <= N) {
                gptc_batch a = {.B = B, .T = L, .tokens = tk, .targets = tg, .enc_tokens = en, .enc_mask = em};
                uint64_t pos2 = pos, rng2 = 0;
                if (ds->train_batch(ctx, ds->user, &a, &rng, &pos)) abort();
                gptc_batch c = {.B = B, .T = L, .tokens = tk2, .targets = tg2, .enc_tokens = en2, .enc_mask = em2};
                if (ds2->train_batch(ctx, ds2->user, &c, &rng2, &pos2)) abort();
                resume_ok &= c.T == a.T && c.enc_T == a.enc_T && !memcmp(tg, tg2, sizeof(int32_t) * B * a.T) &&
                             !memcmp(en, en2, sizeof(int32_t) * B * a.enc_T);
                size_t ls = 0, lt = 0, mn = L, mx = 0;
                for (int b = 0; b < B; b++) {
                    size_t r = (size_t)en[b * a.enc_T];
                    seen[r]++;
                    size_t ns = d.src_off[r + 1] - d.src_off[r], nt = d.tgt_off[r + 1] - d.tgt_off[r];
                    ls = ns > ls ? ns : ls;
                    lt = nt > lt ? nt : lt;
                    mn = len[r] < mn ? len[r] : mn;
                    mx = len[r] > mx ? len[r] : mx;
                    for (int k = 0; k < a.enc_T; k++) pad_ok &= en[b * a.enc_T + k] == ((size_t)k < ns ? (int32_t)r : 5000);
                    for (int k = 0; k < a.T; k++) pad_ok &= tg[b * a.T + k] == ((size_t)k < nt ? (int32_t)r : -100);
                }
                pad_ok &= (size_t)a.enc_T == ls && (size_t)a.T == lt;
                lo[nb] = mn;
                hi[nb] = mx;
                nb++;
            }
            int perm_ok = 1;
            size_t covered = 0;
            for (int r = 0; r < N; r++) {
                perm_ok &= seen[r] <= 1;
                covered += (size_t)seen[r];
            }
            perm_ok &= covered == (size_t)nb * B;
            if (group)
                for (int c0 = 0; c0 + 50 <= nb; c0 += 50)
                    for (int q = c0; q < c0 + 50; q++)
                        for (int q2 = c0; q2 < c0 + 50; q2++) {
                            if (q == q2) continue;
                            /* two batches of a chunk: one's lengths all >= the other's */
                            ranges_ok &= lo[q] >= hi[q2] || lo[q2] >= hi[q];
                            if (q2 == q + 1 && lo[q2] > lo[q]) shuffled = 1;
                        }
            char name[64];
            snprintf(name, sizeof name, "mt_source_longest%s", group ? "_grouped" : "");
            CHECK(name, pad_ok, "a batch is not padded to its longest source / labels");
            snprintf(name, sizeof name, "mt_source_resume%s", group ? "_grouped" : "_dynamic");
            CHECK(name, resume_ok, "a resumed source gave other batches");
            snprintf(name, sizeof name, "mt_source_epoch%s", group ? "_grouped" : "_dynamic");
            CHECK(name, perm_ok, "a row repeats within an epoch");
            if (group) CHECK("mt_source_grouped_ranges", ranges_ok && shuffled, "ranges %d shuffled %d", ranges_ok, shuffled);
            gptc_mt_source_free(src);
            gptc_mt_source_free(src2);
        }
        free(d.src_off);
        free(d.tgt_off);
        free(d.src);
        free(d.tgt);
    }
    /* broken pair files */
    expect_fail(ctx, t, "mt_bad_no_tab", "a.tsv", "hello\tworld\nno tab\n", "a.tsv:2: expected source<TAB>target (no tab)");
    expect_fail(ctx, t, "mt_bad_two_tabs", "b.tsv", "a\tb\tc\n", "b.tsv:1: expected source<TAB>target (more than one tab)");
    expect_fail(ctx, t, "mt_bad_empty_src", "c.tsv", "x\ty\n \tz\n", "c.tsv:2: the source side is empty");
    expect_fail(ctx, t, "mt_bad_empty_tgt", "d.tsv", "x\t\n", "d.tsv:1: the target side is empty");
    expect_fail(ctx, t, "mt_bad_json", "e.jsonl", "{\"src\": \"a\", \"tgt\": \"b\"}\n{\"src\": \"a\"\n", "e.jsonl:2: malformed JSON");
    expect_fail(ctx, t, "mt_bad_json_field", "f.jsonl", "{\"src\": \"a\", \"tgt\": 3}\n", "f.jsonl:1: field \"tgt\" is missing or not a string");
    expect_fail(ctx, t, "mt_bad_json_dup", "g.jsonl", "{\"src\": \"a\", \"tgt\": \"b\", \"src\": \"c\"}\n", "g.jsonl:1: malformed JSON");
    expect_fail(ctx, t, "mt_bad_empty_file", "h.tsv", "\n\n", "h.tsv: no sentence pairs");
    {
        const char *p = write_file("i.tsv", "a\tb\nbad\nc\td\n");
        gptc_mt_read_params rp = gptc_mt_read_default_params();
        rp.skip_bad = 1;
        gptc_mt_data d;
        gptc_status s = gptc_mt_pairs_read(ctx, p, t, &rp, &d);
        CHECK("mt_skip_bad", !s && d.n == 2 && d.n_skipped == 1 && strstr(d.first_skip, "i.tsv:2"), "status %d", s);
        if (!s) gptc_mt_data_free(&d);
    }
    /* ids */
    {
        const char *p = write_file("ids.jsonl", "{\"input_ids\": [5, 6, 0], \"labels\": [7, -100, 0], \"attention_mask\": [1, 1, 0]}\n"
                                                "{\"input_ids\": [1], \"labels\": [3], \"attention_mask\": [1]}\n");
        gptc_mt_data d;
        gptc_status s = gptc_mt_ids_read(ctx, p, 10, 0, &d);
        int ok = !s && d.n == 2 && d.src_mask && d.src_mask[2] == 0.0f && d.tgt[1] == -100 && d.max_src == 3;
        if (ok) {
            int32_t tok[6], tg[6], enc[6];
            float em[6];
            size_t idx[2] = {0, 1};
            gptc_batch bt = {.tokens = tok, .targets = tg, .enc_tokens = enc, .enc_mask = em};
            gptc_mt_fill(&d, idx, 2, 3, 3, 9, 8, &bt);
            ok = tok[0] == 8 && tok[1] == 7 && tok[2] == 9 && tg[1] == -100 && em[2] == 0.0f && em[1] == 1.0f &&
                 enc[4] == 9 && em[4] == 0.0f && tok[3] == 8 && tok[4] == 3 && tg[4] == -100;
        }
        CHECK("mt_ids_read", ok, "status %d (%s)", s, gptc_errmsg(ctx));
        if (!s) gptc_mt_data_free(&d);
        static const struct { const char *name, *text, *want; } bad[] = {
            {"mt_ids_range", "{\"input_ids\": [5, 10], \"labels\": [1]}\n", "input_ids[1] = 10 is out of range [0, 10)"},
            {"mt_ids_label_range", "{\"input_ids\": [5], \"labels\": [-5]}\n", "labels[0] = -5 is out of range [0, 10) (or -100)"},
            {"mt_ids_mask", "{\"input_ids\": [5], \"labels\": [1], \"attention_mask\": [2]}\n", "attention_mask[0] must be 0 or 1"},
            {"mt_ids_mask_len", "{\"input_ids\": [5, 6], \"labels\": [1], \"attention_mask\": [1]}\n", "attention_mask has 1 entries, input_ids 2"},
            {"mt_ids_mask_some", "{\"input_ids\": [5], \"labels\": [1]}\n{\"input_ids\": [5], \"labels\": [1], \"attention_mask\": [1]}\n",
             ":2: attention_mask must be on every line or on none"},
            {"mt_ids_missing", "{\"input_ids\": [5]}\n", "field \"labels\" is missing"},
            {"mt_ids_empty", "{\"input_ids\": [], \"labels\": [1]}\n", "field \"input_ids\" must be a non-empty array"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            const char *q = write_file("bad_ids.jsonl", bad[i].text);
            s = gptc_mt_ids_read(ctx, q, 10, 0, &d);
            CHECK(bad[i].name, s && strstr(gptc_errmsg(ctx), bad[i].want) && strstr(gptc_errmsg(ctx), "bad_ids.jsonl"),
                  "status %d, message '%s'", s, gptc_errmsg(ctx));
            if (!s) gptc_mt_data_free(&d);
        }
    }
    gptc_ctx_free(ctx);
    return test_exit();
}
