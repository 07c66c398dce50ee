/* test_translate_batch.c: batched translation (gptc_translate_batch, gptc_generate_groups)
 * gives, source for source, the same tokens, scores and finish reasons (the same bits)
 * as translating each source alone (gptc_translate_ids), for greedy decoding with
 * no_repeat_ngram_size, beam search (4 beams with a length penalty and
 * no_repeat_ngram_size; 3 beams returning 2 with early_stopping) and sampling (3 samples a
 * source), in batches of 1, 3, 4 and all 11 sources, whose lengths (1 to 37 ids) are not
 * multiples of 8. The eos is the token greedy decoding produces most (beam search: one
 * produced about a quarter as often), so sequences end at different lengths. Random Marian model: vocab 47 (pad = decoder_start = 46), d_model
 * 26, 1 encoder + 2 decoder layers, 2 heads, ffn 33 / 19, relu, unshared embeddings,
 * 48 positions, weights scaled x10. Also bad input (batch size 0, an id out of range
 * naming its source, an empty source, a session too small for the groups) and every
 * allocation failing in turn (a clean ENOMEM, nothing leaked under ASan). */
#include "harness.h"
#include "gptc.h"
#include "model/model.h" /* ctx->fail_alloc_after */
#include <stdint.h>

enum { V = 47, NS = 11, MAXS = 37 };

static uint64_t rng = 977;
static int next_id(int lo, int hi) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int)((rng >> 33) % (uint64_t)(hi - lo));
}

static gptc_config cfg_small(void) {
    gptc_config c = gptc_config_marian_default();
    c.enc_layers = 1;
    c.n_layer = 3; /* 1 encoder + 2 decoder layers */
    c.n_embd = 26;
    c.enc_n_head = 2;
    c.n_head = 2;
    c.enc_n_inner = 33;
    c.n_inner = 19;
    c.n_positions = 48;
    c.vocab_size = V;
    c.pad_token_id = c.decoder_start_token_id = V - 1;
    c.eos_token_id = 0;
    c.share_embeddings = 0;
    c.tie_word_embeddings = 1;
    c.embd_pdrop = c.resid_pdrop = c.attn_pdrop = 0;
    strcpy(c.activation_function, "relu");
    return c;
}

static int same_result(const gptc_gen_result *a, const gptc_gen_result *b, char *why, size_t cap) {
    if (a->n_seq != b->n_seq) return snprintf(why, cap, "%d vs %d sequences", a->n_seq, b->n_seq), 0;
    for (int k = 0; k < a->n_seq; k++) {
        const gptc_gen_sequence *x = &a->seqs[k], *y = &b->seqs[k];
        if (x->n_tokens != y->n_tokens || memcmp(x->tokens, y->tokens, (size_t)x->n_tokens * sizeof(int32_t)) ||
            memcmp(&x->score, &y->score, sizeof x->score) || x->finish_reason != y->finish_reason)
            return snprintf(why, cap, "sequence %d: %d tokens (score %.9g, %s) vs %d alone (score %.9g, %s)", k,
                            x->n_tokens, (double)x->score, gptc_finish_reason_name(x->finish_reason), y->n_tokens,
                            (double)y->score, gptc_finish_reason_name(y->finish_reason)),
                   0;
    }
    return 1;
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config cfg = cfg_small();
    gptc_model *m;
    if (gptc_model_new(ctx, &cfg, 31, &m)) { printf("FAIL model: %s\n", gptc_errmsg(ctx)); return 1; }
    for (size_t i = 0; i < gptc_model_n_tensors(m); i++) {
        gptc_tensor_info ti;
        gptc_model_tensor(m, i, &ti);
        for (size_t j = 0; j < ti.numel; j++)
            ti.data[j] = ti.ndim == 2 ? ti.data[j] * 10.0f : ti.data[j] + 0.05f * (float)next_id(-5, 6);
    }
    /* sources of 1 to 37 ids (the last one eos 0), in no order */
    static const int lens[NS] = {13, 1, 37, 6, 22, 9, 30, 2, 17, 25, 11};
    int32_t buf[NS][MAXS];
    const int32_t *src[NS];
    int n_src[NS];
    for (int k = 0; k < NS; k++) {
        for (int i = 0; i < lens[k] - 1; i++) buf[k][i] = next_id(1, V - 1);
        buf[k][lens[k] - 1] = 0;
        src[k] = buf[k];
        n_src[k] = lens[k];
    }
    /* eos: the token greedy decoding produces most (so sequences end at different lengths) */
    gptc_gen_params p = gptc_gen_default_params();
    p.max_new_tokens = 17;
    p.n_eos = 0;
    int count[V] = {0};
    for (int k = 0; k < NS; k++) {
        gptc_gen_result *r;
        if (gptc_translate_ids(ctx, m, NULL, src[k], n_src[k], &p, &r)) { printf("FAIL greedy: %s\n", gptc_errmsg(ctx)); return 1; }
        for (int t = 2; t < r->seqs[0].n_tokens; t++) count[r->seqs[0].tokens[t]]++;
        gptc_gen_result_free(r);
    }
    int eos = 1;
    for (int v = 1; v < V - 1; v++)
        if (count[v] > count[eos]) eos = v;
    /* beam search: a rarer eos (the count nearest a quarter of that), else every beam
     * closes at once */
    int eos_rare = eos == 1 ? 2 : 1;
    for (int v = 1; v < V - 1; v++)
        if (v != eos && count[v] && abs(4 * count[v] - count[eos]) < abs(4 * count[eos_rare] - count[eos])) eos_rare = v;
    printf("eos %d (%d of the greedy tokens), for beams %d (%d)\n", eos, count[eos], eos_rare, count[eos_rare]);

    struct { const char *name; int beams, ret, sample, ngram, early; float lp; } cases[] = {
        {"greedy_no_repeat_3", 1, 1, 0, 3, 0, 1.0f},
        {"beam4_lp0.7_no_repeat_2", 4, 1, 0, 2, 0, 0.7f},
        {"beam3_return2_early_lp1.4", 3, 2, 0, 0, 1, 1.4f},
        {"sample3_top_k7_t1.3", 1, 3, 1, 0, 0, 1.0f},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        gptc_gen_params q = gptc_gen_default_params();
        q.max_new_tokens = 15;
        q.n_eos = 1;
        q.eos_token_id[0] = cases[ci].beams > 1 ? eos_rare : eos;
        q.num_beams = cases[ci].beams;
        q.num_return_sequences = cases[ci].ret;
        q.do_sample = cases[ci].sample;
        q.top_k = 7;
        q.temperature = 1.3f;
        q.seed = 5;
        q.no_repeat_ngram_size = cases[ci].ngram;
        q.early_stopping = cases[ci].early;
        q.length_penalty = cases[ci].lp;
        gptc_gen_result *alone[NS];
        int ok = 1, lmin = 1 << 30, lmax = 0, n_eos = 0;
        for (int k = 0; k < NS && ok; k++) {
            ok = gptc_translate_ids(ctx, m, NULL, src[k], n_src[k], &q, &alone[k]) == GPTC_OK;
            for (int j = 0; ok && j < alone[k]->n_seq; j++) {
                int n = alone[k]->seqs[j].n_tokens;
                lmin = n < lmin ? n : lmin;
                lmax = n > lmax ? n : lmax;
                n_eos += alone[k]->seqs[j].finish_reason == GPTC_FINISH_EOS;
            }
        }
        if (!ok) { printf("FAIL translate_alone_%s: %s\n", cases[ci].name, gptc_errmsg(ctx)); return 1; }
        static const int sizes[] = {1, 3, 4, NS};
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            gptc_gen_result *got[NS];
            char name[96], why[300] = "", msg[340] = "";
            snprintf(name, sizeof name, "translate_batch_%s_batch%d", cases[ci].name, sizes[si]);
            gptc_status st = gptc_translate_batch(ctx, m, src, n_src, NS, sizes[si], &q, got);
            int same = st == GPTC_OK;
            if (!same) snprintf(why, sizeof why, "%s", gptc_errmsg(ctx));
            for (int k = 0; same && k < NS; k++)
                if (!same_result(got[k], alone[k], why, sizeof why)) {
                    same = 0;
                    snprintf(msg, sizeof msg, "source %d: %s", k + 1, why);
                }
            CHECK(name, same, "%s", msg[0] ? msg : why);
            if (same && si == 0)
                printf("  %s: %d to %d new tokens, %d of %d sequences end with eos\n", cases[ci].name, lmin, lmax, n_eos,
                       NS * alone[0]->n_seq);
            for (int k = 0; st == GPTC_OK && k < NS; k++) gptc_gen_result_free(got[k]);
        }
        for (int k = 0; k < NS; k++) gptc_gen_result_free(alone[k]);
    }

    /* bad input */
    gptc_gen_result *got[NS];
    gptc_gen_params q = gptc_gen_default_params();
    q.max_new_tokens = 5;
    gptc_status st = gptc_translate_batch(ctx, m, src, n_src, NS, 0, &q, got);
    CHECK("translate_batch_size_zero", st == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "batch size 0"), "status %d: %s", st,
          gptc_errmsg(ctx));
    buf[2][4] = V;
    st = gptc_translate_batch(ctx, m, src, n_src, NS, 4, &q, got);
    CHECK("translate_batch_id_range", st == GPTC_ERANGE && strstr(gptc_errmsg(ctx), "source 3: source id 47 at position 4"),
          "status %d: %s", st, gptc_errmsg(ctx));
    buf[2][4] = 1;
    n_src[5] = 0;
    st = gptc_translate_batch(ctx, m, src, n_src, NS, 4, &q, got);
    CHECK("translate_batch_empty_source", st == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "source 6: the source is empty"),
          "status %d: %s", st, gptc_errmsg(ctx));
    n_src[5] = lens[5];
    {
        gptc_session *s;
        int32_t start = V - 1;
        gptc_gen_result *r2[3];
        st = gptc_session_new(ctx, m, 5, 40, &s);
        for (int j = 0; !st && j < 3; j++) st = gptc_session_encode(ctx, s, j, src[j], n_src[j]);
        q.num_beams = 2;
        if (!st) st = gptc_generate_groups(ctx, m, s, NULL, &start, 1, 3, &q, r2);
        CHECK("generate_groups_session_too_small",
              st == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "3 groups of 2 sequences need a session of 6 sequences, not 5"),
              "status %d: %s", st, gptc_errmsg(ctx));
        gptc_session_free(s);
        q.num_beams = 1;
    }
    /* every allocation failing in turn: a clean ENOMEM, the results all NULL */
    {
        int bad = 0, k_ok = -1;
        q.num_beams = 3;
        for (long k = 0; k < 400 && k_ok < 0; k++) {
            for (int i = 0; i < NS; i++) got[i] = (gptc_gen_result *)&bad;
            ctx->fail_alloc_after = k;
            st = gptc_translate_batch(ctx, m, src, n_src, 5, 2, &q, got);
            ctx->fail_alloc_after = -1;
            if (st == GPTC_OK) {
                k_ok = (int)k;
                for (int i = 0; i < 5; i++) gptc_gen_result_free(got[i]);
            } else {
                bad += st != GPTC_ENOMEM;
                for (int i = 0; i < 5; i++) bad += got[i] != NULL;
            }
        }
        CHECK("translate_batch_alloc_failures", bad == 0 && k_ok > 0, "%d bad, first success at %d", bad, k_ok);
    }
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return test_exit();
}
