/* generate.c: the decoding loops over a KV-cache session: greedy and sampled sequences
 * (several decoded as one batch) and beam search following Hugging Face's
 * BeamSearchScorer / BeamHypotheses, for one prompt or for groups of sequences that
 * step together (batched translation: one group a source). Processors and warpers are in sample.c. */
#include "infer.h"
#include "../model/model.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gptc_gen_result_free(gptc_gen_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n_seq; i++) gptc_free(r->seqs[i].tokens);
    gptc_free(r->seqs);
    gptc_free(r);
}

/* The whole state of one call. ids[i] holds sequence i's prompt + generated tokens. */
typedef struct gen {
    gptc_ctx *ctx;
    const gptc_model *m;
    gptc_session *s;
    const gptc_tokenizer *tok;
    const gptc_gen_params *p;
    gptc_gen_callback cb;
    void *user;
    int V, n_prompt, n_new, nseq; /* nseq: sequences of one group */
    int n_groups;                 /* groups decoded together: group j owns sequences [j nseq, (j + 1) nseq) */
    int n_eos;
    int32_t eos[GPTC_GEN_MAX_EOS];
    float *logits;     /* (n_groups nseq, V) */
    float *raw;        /* V: a row before processing */
    int *scratch;      /* 2 V */
    int32_t **ids;     /* n_groups nseq x (n_prompt + n_new) */
    int32_t *ids_block;
    int *n_gen;        /* generated tokens per sequence */
    int *finish;       /* -1 while running */
    double *score;
    char *tails;       /* nseq x TAIL: the last bytes of each sequence's generated text */
    int *tail_len;
    int max_stop;
    int *rows;         /* 3 n_groups nseq: step scratch (sequences, rows, tokens) */
    gptc_rng *rng;     /* one a group, each seeded with p->seed */
} gen;

enum { TAIL = 2 * GPTC_GEN_STOP_LEN + 256 };

static int is_eos(const gen *g, int32_t t) {
    for (int i = 0; i < g->n_eos; i++)
        if (g->eos[i] == t) return 1;
    return 0;
}

/* Appends token t's bytes to sequence i's tail and reports whether a stop string now
 * occurs with its end in the new bytes. */
static gptc_status stop_check(gen *g, int i, int32_t t, int *hit) {
    *hit = 0;
    if (!g->p->n_stop) return GPTC_OK;
    char *txt;
    size_t n;
    gptc_status st = gptc_tokenizer_decode(g->ctx, g->tok, &t, 1, &txt, &n);
    if (st) return st;
    char *tail = g->tails + (size_t)i * TAIL;
    int old = g->tail_len[i];
    if (n > TAIL) {
        memcpy(tail, txt + n - TAIL, TAIL);
        old = 0;
        g->tail_len[i] = TAIL;
    } else {
        if (old + (int)n > TAIL) { /* keep what a stop string may still need */
            int drop = old + (int)n - TAIL;
            memmove(tail, tail + drop, (size_t)(old - drop));
            old -= drop;
        }
        memcpy(tail + old, txt, n);
        g->tail_len[i] = old + (int)n;
    }
    free(txt);
    int len = g->tail_len[i];
    for (int k = 0; k < g->p->n_stop && !*hit; k++) {
        const char *ss = g->p->stop_strings[k];
        int sl = (int)strlen(ss);
        for (int start = old - sl + 1 < 0 ? 0 : old - sl + 1; start + sl <= len; start++)
            if (!memcmp(tail + start, ss, (size_t)sl)) { *hit = 1; break; }
    }
    return GPTC_OK;
}

/* Processors shared by greedy, sampling and beam search, on one row of a sequence whose
 * ids are n_prompt + n_gen tokens. */
static void process_row(const gptc_gen_params *p, float *row, int V, const int32_t *ids, int n_prompt, int n_gen,
                        int *scratch) {
    int n = n_prompt + n_gen;
    gptc_logits_repetition_penalty(row, V, ids, n, p->repetition_penalty);
    gptc_logits_no_repeat_ngram(row, V, ids, n, p->no_repeat_ngram_size);
    gptc_logits_presence_frequency(row, V, ids + n_prompt, n_gen, p->presence_penalty, p->frequency_penalty, scratch);
    for (int i = 0; i < p->n_bad_words; i++) /* NoBadWordsLogitsProcessor, single tokens */
        if (p->bad_words_ids[i] >= 0 && p->bad_words_ids[i] < V) row[p->bad_words_ids[i]] = -INFINITY;
    /* ForcedEOSTokenLogitsProcessor: cur_len == max_length - 1 */
    long max_len = p->max_new_tokens >= 0 ? (long)n_prompt + p->max_new_tokens : (long)p->max_length;
    if (p->forced_eos_token_id >= 0 && p->forced_eos_token_id < V && (long)n == max_len - 1) {
        for (int v = 0; v < V; v++) row[v] = -INFINITY;
        row[p->forced_eos_token_id] = 0.0f;
    }
}

static void process(gen *g, float *row, int i) {
    process_row(g->p, row, g->V, g->ids[i], g->n_prompt, g->n_gen[i], g->scratch);
}

int32_t gptc_gen_pick(const gptc_gen_params *p, float *row, float *raw, int V, const int32_t *ids, int n_prompt,
                      int n_gen, int *scratch, gptc_rng *rng, float *logprob) {
    int sample = p->do_sample && p->temperature > 0;
    /* the score: log-probability of the choice under the model's own distribution */
    memcpy(raw, row, (size_t)V * sizeof(float));
    process_row(p, row, V, ids, n_prompt, n_gen, scratch);
    if (sample) {
        gptc_logits_temperature(row, V, p->temperature);
        gptc_logits_top_k(row, V, p->top_k, 1, scratch);
        gptc_logits_top_p(row, V, p->top_p, 1, scratch);
        gptc_logits_min_p(row, V, p->min_p, 1, scratch);
        gptc_logits_typical_p(row, V, p->typical_p, 1, scratch);
    }
    int32_t t = gptc_logits_sample(row, V, sample ? gptc_rng_uniform(rng) : -1.0);
    gptc_log_softmax(raw, raw, V);
    *logprob = raw[t];
    return t;
}

/* ------------------------------------------------------------------ greedy and sampling */
/* The sequences of every group step together; a finished one drops out. Group j's
 * sequences start as copies of its first (its prompt's logits in row j nseq). */
static gptc_status run_sampling(gen *g) {
    int V = g->V, N = g->nseq * g->n_groups;
    int *active = g->rows, *rows = g->rows + N; /* rows[r]: the sequence of logits row r */
    int32_t *toks = (int32_t *)(g->rows + 2 * N);
    for (int i = 0; i < N; i++) {
        int lead = i - i % g->nseq;
        if (i == lead) continue;
        gptc_status st = gptc_session_copy(g->ctx, g->s, i, lead);
        if (st) return st;
        memcpy(g->logits + (size_t)i * V, g->logits + (size_t)lead * V, (size_t)V * sizeof(float));
    }
    for (int i = 0; i < N; i++) rows[i] = i;
    int n_rows = N;
    for (int step = 0; step < g->n_new; step++) {
        int n_act = 0;
        for (int r = 0; r < n_rows; r++) {
            int i = rows[r];
            float lp;
            int32_t t = gptc_gen_pick(g->p, g->logits + (size_t)r * V, g->raw, V, g->ids[i], g->n_prompt, g->n_gen[i],
                                      g->scratch, &g->rng[i / g->nseq], &lp);
            g->ids[i][g->n_prompt + g->n_gen[i]++] = t;
            g->score[i] += lp;
            int stop = g->cb && g->cb(g->user, i, t);
            int hit = 0;
            gptc_status st = stop_check(g, i, t, &hit);
            if (st) return st;
            if (is_eos(g, t)) g->finish[i] = GPTC_FINISH_EOS;
            else if (stop || hit) g->finish[i] = GPTC_FINISH_STOP;
            else if (step + 1 == g->n_new) g->finish[i] = GPTC_FINISH_LENGTH;
            else active[n_act++] = i;
        }
        if (!n_act) break;
        for (int a = 0; a < n_act; a++) toks[a] = g->ids[active[a]][g->n_prompt + g->n_gen[active[a]] - 1];
        gptc_status st = gptc_session_step(g->ctx, g->s, active, toks, n_act, g->logits);
        if (st) return st;
        memcpy(rows, active, (size_t)n_act * sizeof(int));
        n_rows = n_act;
    }
    for (int i = 0; i < N; i++)
        if (g->finish[i] < 0) g->finish[i] = GPTC_FINISH_LENGTH;
    return GPTC_OK;
}

/* ------------------------------------------------------------------ beam search
 * Hugging Face's BeamSearchScorer for one prompt: each step takes the best
 * max(2, 1 + n_eos) * num_beams (beam, token) continuations of log_softmax + processors
 * + running beam score; an eos among the first num_beams ranks closes a hypothesis with
 * score sum_logprobs / generated_len^length_penalty (generated_len counts the eos); the
 * first num_beams others become the next beams. */
typedef struct hyp { double score; int32_t *tokens; int n; int order; } hyp;

typedef struct beams {
    int nb;
    hyp *h;          /* up to nb finished hypotheses */
    int n_h, n_added;
    double worst;
    int32_t *hyp_tokens; /* nb + 1 slots of n_new tokens */
} beams;

/* BeamHypotheses.add */
static void hyp_add(beams *b, const int32_t *toks, int n, double sum_logprobs, float length_penalty, int max_n) {
    double score = sum_logprobs / pow((double)n, (double)length_penalty);
    if (b->n_h >= b->nb && !(score > b->worst)) return;
    /* a free token slot: nb + 1 exist, at most nb are held */
    int32_t *slot = NULL;
    for (int s = 0; s <= b->nb && !slot; s++) {
        int32_t *cand = b->hyp_tokens + (size_t)s * max_n;
        int used = 0;
        for (int k = 0; k < b->n_h; k++) used |= b->h[k].tokens == cand;
        if (!used) slot = cand;
    }
    memcpy(slot, toks, (size_t)n * sizeof(int32_t));
    b->h[b->n_h++] = (hyp){score, slot, n, b->n_added++};
    if (b->n_h > b->nb) {
        /* drop the worst (Python: sorted (score, index) pairs, first one) */
        int w = 0;
        for (int k = 1; k < b->n_h; k++)
            if (b->h[k].score < b->h[w].score) w = k;
        b->h[w] = b->h[--b->n_h];
        /* keep insertion order for the rest: restore by order */
        for (int k = 1; k < b->n_h; k++)
            for (int j = k; j > 0 && b->h[j - 1].order > b->h[j].order; j--) {
                hyp t = b->h[j];
                b->h[j] = b->h[j - 1];
                b->h[j - 1] = t;
            }
        double second = INFINITY;
        for (int k = 0; k < b->n_h; k++) second = b->h[k].score < second ? b->h[k].score : second;
        b->worst = second;
    } else {
        b->worst = score < b->worst ? score : b->worst;
    }
}

/* BeamHypotheses.is_done */
static int hyp_done(const beams *b, double best_sum, int gen_len, int max_new, const gptc_gen_params *p) {
    if (b->n_h < b->nb) return 0;
    if (p->early_stopping == 1) return 1;
    int len = (p->early_stopping == 2 && p->length_penalty > 0) ? max_new : gen_len;
    return b->worst >= best_sum / pow((double)len, (double)p->length_penalty);
}

typedef struct cand { double score; int beam; int32_t token; } cand;

/* One group's beams: beam k's tokens are g->ids[first + k], its KV cache the session
 * sequence slot[k] (one of the group's). */
typedef struct beam_group {
    beams b;
    int first;                             /* the group's first sequence */
    double *bscore, *nscore;               /* nb running scores, next scores */
    int *slot, *nslot, *children, *parent; /* nb each */
    int row0;                              /* the group's first logits row of this step */
    int running, finished;                 /* still stepping; BeamHypotheses.is_done said so */
} beam_group;

/* One step of a group: log_softmax + processors of its nb logits rows, the best
 * (beam, token) candidates, BeamSearchScorer.process, and the beams' tokens and slots
 * appended to the next session step (seqs, toks, *n_step) unless the group ended. */
static gptc_status beam_step(gen *g, beam_group *G, int step, cand *c, int32_t *new_ids, int *seqs, int32_t *toks,
                             int *n_step) {
    const gptc_gen_params *p = g->p;
    int V = g->V, NB = g->nseq, L = g->n_prompt + g->n_new;
    int keep = (g->n_eos + 1 > 2 ? g->n_eos + 1 : 2) * NB;
    int32_t **ids = g->ids + G->first;
    int gen_len = step + 1, n_c = 0;
    gptc_status st = GPTC_OK;
    for (int bi = 0; bi < NB; bi++) {
        float *row = g->logits + (size_t)(G->row0 + bi) * V;
        gptc_log_softmax(row, row, V);
        process(g, row, G->first + bi);
        for (int v = 0; v < V; v++) {
            double sc = (double)row[v] + G->bscore[bi];
            if (n_c == keep && !(sc > c[keep - 1].score)) continue;
            int k = n_c < keep ? n_c++ : keep - 1;
            while (k > 0 && sc > c[k - 1].score) { c[k] = c[k - 1]; k--; }
            c[k] = (cand){sc, bi, v};
        }
    }
    /* BeamSearchScorer.process */
    int nb = 0;
    for (int r = 0; r < n_c && nb < NB; r++) {
        if (is_eos(g, c[r].token)) {
            if (r >= NB) continue;
            int32_t *src = ids[c[r].beam] + g->n_prompt;
            memcpy(new_ids, src, (size_t)step * sizeof(int32_t)); /* generated so far */
            new_ids[step] = c[r].token;
            hyp_add(&G->b, new_ids, gen_len, c[r].score, p->length_penalty, g->n_new);
        } else {
            G->nscore[nb] = c[r].score;
            G->parent[nb] = c[r].beam;
            new_ids[(size_t)nb * L + (size_t)g->n_prompt + (size_t)step] = c[r].token;
            nb++;
        }
    }
    if (nb < NB) return gptc_fail(g->ctx, GPTC_EINTERNAL, "beam search: fewer than %d continuations", NB);
    int is_done = hyp_done(&G->b, c[0].score, gen_len, g->n_new, p);
    /* reorder: new beam k = parent's tokens + its token */
    for (int k = 0; k < NB; k++) {
        int32_t tk = new_ids[(size_t)k * L + (size_t)g->n_prompt + (size_t)step];
        memcpy(new_ids + (size_t)k * L, ids[G->parent[k]], (size_t)(g->n_prompt + step) * sizeof(int32_t));
        new_ids[(size_t)k * L + (size_t)g->n_prompt + (size_t)step] = tk;
    }
    for (int k = 0; k < NB; k++) {
        memcpy(ids[k], new_ids + (size_t)k * L, (size_t)(g->n_prompt + gen_len) * sizeof(int32_t));
        g->n_gen[G->first + k] = gen_len;
        G->bscore[k] = G->nscore[k];
    }
    if (is_done) G->finished = 1;
    if (is_done || gen_len == g->n_new) {
        G->running = 0;
        return GPTC_OK;
    }
    /* KV cache: the first child of a parent keeps its slot, the others copy into the
     * slots of parents without children */
    for (int k = 0; k < NB; k++) G->children[k] = 0;
    for (int k = 0; k < NB; k++) G->children[G->parent[k]]++;
    int free_slots[256], n_free = 0, first_taken[256] = {0};
    for (int k = 0; k < NB; k++)
        if (!G->children[k]) free_slots[n_free++] = G->slot[k];
    for (int k = 0; k < NB; k++) {
        int par = G->parent[k];
        if (!first_taken[par]) {
            first_taken[par] = 1;
            G->nslot[k] = G->slot[par];
        } else {
            G->nslot[k] = free_slots[--n_free];
            if ((st = gptc_session_copy(g->ctx, g->s, G->nslot[k], G->slot[par]))) return st;
        }
    }
    memcpy(G->slot, G->nslot, (size_t)NB * sizeof(int));
    /* logits row row0 + k belongs to beam k: the slots go in beam order */
    G->row0 = *n_step;
    for (int k = 0; k < NB; k++) {
        seqs[*n_step] = G->slot[k];
        toks[(*n_step)++] = ids[k][g->n_prompt + step];
    }
    return GPTC_OK;
}

/* BeamSearchScorer.finalize of a group: its best num_return_sequences hypotheses into
 * its first sequences. */
static void beam_finish(gen *g, beam_group *G) {
    beams *b = &G->b;
    int first = G->first;
    if (!G->finished) /* the running beams join the hypotheses */
        for (int k = 0; k < g->nseq; k++)
            hyp_add(b, g->ids[first + k] + g->n_prompt, g->n_gen[first + k], G->bscore[k], g->p->length_penalty,
                    g->n_new);
    /* best first; equal scores: the later added first (Python's stable sort, then pop) */
    for (int k = 1; k < b->n_h; k++)
        for (int j = k; j > 0 && (b->h[j - 1].score < b->h[j].score ||
                                  (b->h[j - 1].score == b->h[j].score && b->h[j - 1].order < b->h[j].order)); j--) {
            hyp t = b->h[j];
            b->h[j] = b->h[j - 1];
            b->h[j - 1] = t;
        }
    int n_out = g->p->num_return_sequences;
    for (int k = 0; k < n_out && k < b->n_h; k++) {
        int i = first + k;
        memcpy(g->ids[i] + g->n_prompt, b->h[k].tokens, (size_t)b->h[k].n * sizeof(int32_t));
        g->n_gen[i] = b->h[k].n;
        g->score[i] = b->h[k].score;
        g->finish[i] = is_eos(g, b->h[k].tokens[b->h[k].n - 1]) ? GPTC_FINISH_EOS : GPTC_FINISH_LENGTH;
        for (int t = 0; t < b->h[k].n && g->cb; t++)
            if (g->cb(g->user, i, b->h[k].tokens[t])) break;
    }
}

/* Beam search of every group, the running groups' beams stepping together. */
static gptc_status run_beams(gen *g) {
    int V = g->V, NB = g->nseq, NG = g->n_groups, L = g->n_prompt + g->n_new;
    int keep = (g->n_eos + 1 > 2 ? g->n_eos + 1 : 2) * NB;
    size_t ng = (size_t)NG, nb = (size_t)NB;
    gptc_status st = GPTC_OK;
    beam_group *grp = gptc_calloc(g->ctx, ng, sizeof *grp, "beam groups");
    hyp *h = gptc_calloc(g->ctx, ng * (nb + 1), sizeof(hyp), "beam hypotheses");
    int32_t *hyp_tokens = gptc_calloc(g->ctx, ng * (nb + 1) * (size_t)g->n_new, sizeof(int32_t), "beam hypotheses");
    cand *c = gptc_calloc(g->ctx, (size_t)keep + 1, sizeof(cand), "beam candidates");
    int32_t *new_ids = gptc_calloc(g->ctx, nb * (size_t)L, sizeof(int32_t), "beam tokens");
    double *bscore = gptc_calloc(g->ctx, ng * nb * 2, sizeof(double), "beam scores");
    int *slot = gptc_calloc(g->ctx, ng * nb * 4, sizeof(int), "beam slots");
    if (!grp || !h || !hyp_tokens || !c || !new_ids || !bscore || !slot) { st = GPTC_ENOMEM; goto done; }
    for (int j = 0; j < NG; j++) {
        beam_group *G = &grp[j];
        size_t o = (size_t)j * nb;
        G->b = (beams){NB, h + (size_t)j * (nb + 1), 0, 0, 1e9, hyp_tokens + (size_t)j * (nb + 1) * (size_t)g->n_new};
        G->first = j * NB;
        G->bscore = bscore + 2 * o;
        G->nscore = G->bscore + NB;
        G->slot = slot + 4 * o;
        G->nslot = G->slot + NB;
        G->children = G->slot + 2 * NB;
        G->parent = G->slot + 3 * NB;
        G->row0 = G->first;
        G->running = 1;
        for (int i = 0; i < NB; i++) {
            G->slot[i] = G->first + i;
            G->bscore[i] = i ? -1e9 : 0;
            if (!i) continue;
            if ((st = gptc_session_copy(g->ctx, g->s, G->first + i, G->first))) goto done;
            memcpy(g->logits + (size_t)(G->first + i) * V, g->logits + (size_t)G->first * V, (size_t)V * sizeof(float));
        }
    }
    int *seqs = g->rows;
    int32_t *toks = (int32_t *)(g->rows + ng * nb);
    for (int step = 0; step < g->n_new; step++) {
        int n_step = 0;
        for (int j = 0; j < NG; j++)
            if (grp[j].running && (st = beam_step(g, &grp[j], step, c, new_ids, seqs, toks, &n_step))) goto done;
        if (!n_step) break;
        if ((st = gptc_session_step(g->ctx, g->s, seqs, toks, n_step, g->logits))) goto done;
    }
    for (int j = 0; j < NG; j++) beam_finish(g, &grp[j]);
done:
    gptc_free(grp);
    gptc_free(h);
    gptc_free(hyp_tokens);
    gptc_free(c);
    gptc_free(new_ids);
    gptc_free(bscore);
    gptc_free(slot);
    return st;
}

/* ------------------------------------------------------------------ entry */
/* gptc_generate for n_groups groups of nseq sequences; out: n_groups results. */
static gptc_status generate_groups(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const gptc_tokenizer *tok,
                                   const int32_t *prompt, int n_prompt, int n_groups, const gptc_gen_params *p,
                                   gptc_gen_callback cb, void *user, gptc_gen_result **out) {
    for (int j = 0; j < n_groups; j++) out[j] = NULL;
    gptc_status st = gptc_gen_params_validate(ctx, p);
    if (st) return st;
    const gptc_config *cfg = &m->cfg;
    if (n_prompt < 1) return gptc_fail(ctx, GPTC_EINVAL, "generate: the prompt is empty (need at least one token)");
    if (n_prompt > cfg->n_positions)
        return gptc_fail(ctx, GPTC_ERANGE, "generate: the prompt of %d tokens is longer than the context of %d tokens",
                         n_prompt, cfg->n_positions);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= cfg->vocab_size)
            return gptc_fail(ctx, GPTC_ERANGE, "generate: prompt token %d at position %d is out of range [0, %d)",
                             prompt[i], i, cfg->vocab_size);
    if (p->n_stop && !tok) return gptc_fail(ctx, GPTC_EINVAL, "generate: stop strings need a tokenizer");
    int nseq = p->num_beams > 1 ? p->num_beams : p->num_return_sequences;
    if (s && gptc_session_n_seq(s) < n_groups * nseq)
        return gptc_fail(ctx, GPTC_EINVAL, "generate: %d groups of %d sequences need a session of %d sequences, not %d",
                         n_groups, nseq, n_groups * nseq, gptc_session_n_seq(s));
    for (int j = 0; j < n_groups && cfg->cross_attention; j++)
        if (!s || gptc_session_src_len(s, j * nseq) < 1)
            return gptc_fail(ctx, GPTC_EINVAL, "generate: an encoder-decoder (Marian) model decodes from a source: "
                                               "encode it into sequence %d of a session (gptc_session_encode) and pass "
                                               "the session (`gptc translate` does)", j * nseq);
    gen g;
    memset(&g, 0, sizeof g);
    g.ctx = ctx, g.m = m, g.tok = tok, g.p = p, g.cb = cb, g.user = user;
    g.V = cfg->vocab_size;
    g.n_prompt = n_prompt;
    long budget = p->max_new_tokens >= 0 ? p->max_new_tokens : (long)p->max_length - n_prompt;
    if (budget > cfg->n_positions - n_prompt) budget = cfg->n_positions - n_prompt;
    g.n_new = budget > 0 ? (int)budget : 0;
    g.nseq = nseq;
    g.n_groups = n_groups;
    if (p->n_eos < 0) {
        g.n_eos = cfg->eos_token_id >= 0 ? 1 : 0;
        g.eos[0] = cfg->eos_token_id;
    } else {
        g.n_eos = p->n_eos;
        memcpy(g.eos, p->eos_token_id, sizeof g.eos);
    }
    int n_out = p->num_return_sequences;
    gptc_session *own = NULL;
    for (int j = 0; j < n_groups; j++) {
        gptc_gen_result *res = gptc_calloc(ctx, 1, sizeof *res, "generation result");
        if (res) res->seqs = gptc_calloc(ctx, (size_t)n_out, sizeof *res->seqs, "generation result");
        if (!res || !res->seqs) {
            gptc_free(res);
            st = GPTC_ENOMEM;
            goto done;
        }
        res->n_seq = n_out;
        out[j] = res;
    }
    size_t N = (size_t)nseq * (size_t)n_groups, V = (size_t)g.V, L = (size_t)n_prompt + (size_t)g.n_new;
    g.logits = gptc_alloc(ctx, N * V * sizeof(float), "generation logits");
    g.scratch = gptc_alloc(ctx, 2 * V * sizeof(int), "generation scratch");
    g.raw = gptc_alloc(ctx, V * sizeof(float), "generation scratch");
    g.ids = gptc_alloc(ctx, N * sizeof(int32_t *), "generation tokens");
    g.ids_block = gptc_alloc(ctx, N * L * sizeof(int32_t), "generation tokens");
    g.n_gen = gptc_calloc(ctx, N, sizeof(int), "generation lengths");
    g.finish = gptc_alloc(ctx, N * sizeof(int), "generation state");
    g.score = gptc_calloc(ctx, N, sizeof(double), "generation scores");
    g.tail_len = gptc_calloc(ctx, N, sizeof(int), "stop string state");
    g.tails = p->n_stop ? gptc_alloc(ctx, N * TAIL, "stop string state") : NULL;
    g.rows = gptc_alloc(ctx, 3 * N * sizeof(int), "generation scratch");
    g.rng = gptc_alloc(ctx, (size_t)n_groups * sizeof *g.rng, "generation RNG");
    if (!g.logits || !g.scratch || !g.raw || !g.ids || !g.ids_block || !g.n_gen || !g.finish || !g.score || !g.tail_len ||
        (p->n_stop && !g.tails) || !g.rows || !g.rng) {
        st = GPTC_ENOMEM;
        goto done;
    }
    for (int j = 0; j < n_groups; j++) gptc_rng_seed(&g.rng[j], p->seed);
    for (size_t i = 0; i < N; i++) {
        g.ids[i] = g.ids_block + i * L;
        memcpy(g.ids[i], prompt, (size_t)n_prompt * sizeof(int32_t));
        g.finish[i] = -1;
    }
    if (!s) {
        int max_len = (int)L < cfg->n_positions ? (int)L : cfg->n_positions;
        if ((st = gptc_session_new(ctx, m, (int)N, max_len, &own))) goto done;
        s = own;
    }
    g.s = s;
    for (int j = 0; j < n_groups; j++) {
        int lead = j * nseq, held = gptc_session_len(s, lead);
        if (held >= n_prompt) {
            gptc_session_reset(s, lead);
            held = 0;
        }
        if ((st = gptc_session_prefill(ctx, s, lead, prompt + held, n_prompt - held, g.logits + (size_t)lead * V)))
            goto done;
    }
    if (g.n_new > 0) st = p->num_beams > 1 ? run_beams(&g) : run_sampling(&g);
    if (st) goto done;
    for (int j = 0; j < n_groups; j++)
        for (int k = 0; k < n_out; k++) {
            int i = j * nseq + k;
            gptc_gen_sequence *q = &out[j]->seqs[k];
            q->n_tokens = g.n_gen[i];
            q->tokens = gptc_alloc(ctx, ((size_t)q->n_tokens + 1) * sizeof(int32_t), "generation result");
            if (!q->tokens) { st = GPTC_ENOMEM; goto done; }
            memcpy(q->tokens, g.ids[i] + n_prompt, (size_t)q->n_tokens * sizeof(int32_t));
            q->finish_reason = g.finish[i] < 0 ? GPTC_FINISH_LENGTH : (gptc_finish_reason)g.finish[i];
            q->score = (float)g.score[i];
        }
done:
    gptc_session_free(own);
    gptc_free(g.logits);
    gptc_free(g.scratch);
    gptc_free(g.raw);
    gptc_free(g.ids);
    gptc_free(g.ids_block);
    gptc_free(g.n_gen);
    gptc_free(g.finish);
    gptc_free(g.score);
    gptc_free(g.tail_len);
    gptc_free(g.tails);
    gptc_free(g.rows);
    gptc_free(g.rng);
    if (st)
        for (int j = 0; j < n_groups; j++) {
            gptc_gen_result_free(out[j]);
            out[j] = NULL;
        }
    return st;
}

gptc_status gptc_generate(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const gptc_tokenizer *tok,
                          const int32_t *prompt, int n_prompt, const gptc_gen_params *p,
                          gptc_gen_callback cb, void *user, gptc_gen_result **out) {
    return generate_groups(ctx, m, s, tok, prompt, n_prompt, 1, p, cb, user, out);
}

gptc_status gptc_generate_groups(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const gptc_tokenizer *tok,
                                 const int32_t *prompt, int n_prompt, int n_groups, const gptc_gen_params *p,
                                 gptc_gen_result **out) {
    if (n_groups < 1) return gptc_fail(ctx, GPTC_EINVAL, "generate: %d groups (need at least one)", n_groups);
    return generate_groups(ctx, m, s, tok, prompt, n_prompt, n_groups, p, NULL, NULL, out);
}
