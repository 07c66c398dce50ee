/* trainer.c: the pre-training loop: data loader (random windows or sequential),
 * gradient accumulation, clipping, AdamW with a schedule, evaluation, samples,
 * checkpoints written as whole directories (temp dir, then rename), keep-last and
 * best, early stopping, exact resume, and OUT/model. Progress goes to a callback. */
#define _GNU_SOURCE
#include "train.h"
#include "../core/core.h"
#include "../model/model.h"
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void gptc_train_default_opts(gptc_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->cfg = gptc_config_default();
    o->batch_size = 8;
    o->seq_len = 128;
    o->grad_accum = 1;
    o->epochs = 1;
    o->sched.kind = GPTC_SCHED_COSINE;
    o->sched.lr = 6e-4f;
    o->sched.warmup = 0;
    o->weight_decay = 0.1f;
    o->beta1 = 0.9f;
    o->beta2 = 0.95f;
    o->eps = 1e-8f;
    o->grad_clip = 1.0f;
    o->dropout = -1;
    o->seed = 1337;
    o->eval_every = 100;
    o->eval_batches = 10;
    o->keep_last = 2;
    o->sample_tokens = 48;
    o->writer = 1;
}



/* ------------------------------------------------------------------ evaluation */

/* The dropout stream of a run's rank (a function of its seed, so resume regenerates
 * it; rank 0's is that of a one-process run). */
static uint64_t dropout_seed(const gptc_train_opts *o) {
    return o->seed * 0x9E3779B97F4A7C15ull + 7 + (uint64_t)gptc_dist_rank(o->dist) * 0xD1B54A32D192ED03ull;
}

enum { TAG_EVAL = 21, TAG_AGREE = 22 };

/* Rows first .. first+rows-1 of bt (a rank's share of a global batch) as a batch of its
 * own: every field's pointer moved to that row. per_row: targets per row. */
static gptc_batch batch_rows(const gptc_batch *bt, int first, int rows, int per_row) {
    gptc_batch v = *bt;
    size_t f = (size_t)first;
    v.B = rows;
    v.tokens = bt->tokens + f * bt->T;
    v.targets = bt->targets + f * per_row;
    if (bt->attention_mask) v.attention_mask = bt->attention_mask + f * bt->T;
    if (bt->token_types) v.token_types = bt->token_types + f * bt->T;
    if (bt->enc_tokens) v.enc_tokens = bt->enc_tokens + f * bt->enc_T;
    if (bt->enc_mask) v.enc_mask = bt->enc_mask + f * bt->enc_T;
    if (bt->labels) v.labels = bt->labels + f;
    return v;
}

/* With N ranks a validation batch has N * batch_size rows and rank r evaluates rows
 * r*b .. r*b+b-1 of it; the sums and the metric's counts are added over the ranks. */
static gptc_status evaluate(gptc_ctx *ctx, gptc_workspace *ws, const gptc_model *m, const gptc_data_source *d,
                            const gptc_train_opts *o, gptc_batch *bt, float *out, double *metric) {
    int N = gptc_dist_size(o->dist), rank = gptc_dist_rank(o->dist);
    int B = o->batch_size, T = o->seq_len, GB = B * N;
    int per_row = d->targets_per_row > 0 ? d->targets_per_row : T;
    size_t nb = d->n_val_batches(d->user, GB, T);
    if ((size_t)o->eval_batches < nb) nb = (size_t)o->eval_batches;
    if (!nb) return gptc_fail(ctx, GPTC_EINVAL, "the validation data is empty");
    /* the training workspace with dropout off (its dropout stream does not advance) */
    gptc_workspace_set_training(ws, 0, dropout_seed(o));
    if (d->val_reset) d->val_reset(d->user);
    double sum = 0, count = 0;
    gptc_status s = GPTC_OK;
    for (size_t b = 0; b < nb && !s; b++) {
        bt->B = GB;
        bt->T = T;
        if ((s = d->val_batch(ctx, d->user, b, bt)) || !bt->B) break;
        int first = rank * B, rows = bt->B - first < B ? bt->B - first : B;
        if (rows <= 0) continue;
        if (d->targets_per_row <= 0) per_row = bt->T; /* the batch's own length (dynamic padding) */
        const int32_t *tg = bt->targets + (size_t)first * per_row;
        float loss;
        gptc_batch mine = batch_rows(bt, first, rows, per_row);
        if ((s = gptc_forward_batch(ctx, ws, &mine, &loss))) break;
        if (isfinite(loss)) {
            sum += (double)loss * rows;
            count += rows;
        }
        if (d->val_observe) d->val_observe(d->user, gptc_workspace_logits(ws), tg, rows, bt->T);
    }
    gptc_workspace_set_training(ws, 1, dropout_seed(o));
    if (!s && N > 1) {
        double v[2] = {sum, count};
        if (!(s = gptc_dist_sum(ctx, o->dist, TAG_EVAL, v, 2))) sum = v[0], count = v[1];
        long *cnt = NULL;
        size_t nc = d->val_counts ? d->val_counts(d->user, &cnt) : 0;
        double *x = nc ? gptc_alloc(ctx, nc * sizeof *x, "validation counts") : NULL;
        if (!s && nc && !x) s = GPTC_ENOMEM;
        for (size_t i = 0; !s && i < nc; i++) x[i] = (double)cnt[i];
        if (!s && nc && !(s = gptc_dist_sum(ctx, o->dist, TAG_EVAL, x, nc)))
            for (size_t i = 0; i < nc; i++) cnt[i] = (long)x[i];
        gptc_free(x);
    }
    if (s) return s;
    *out = count > 0 ? (float)(sum / count) : NAN;
    *metric = d->val_metric ? d->val_metric(d->user) : NAN;
    if (d->model_metric) return d->model_metric(ctx, d->user, m, metric);
    return GPTC_OK;
}

/* A short sample from the end-of-text token (token 0 without one): top-k 40,
 * temperature 0.8, with the library's KV-cache generator. */
static gptc_status sample(gptc_ctx *ctx, const gptc_model *m, int n_tokens, uint64_t seed, int32_t *out,
                          size_t *n_out) {
    const gptc_config *c = &m->cfg;
    int32_t start = c->eos_token_id >= 0 && c->eos_token_id < c->vocab_size ? c->eos_token_id : 0;
    gptc_gen_params p = gptc_gen_default_params();
    p.do_sample = 1;
    p.top_k = 40;
    p.temperature = 0.8f;
    p.max_new_tokens = n_tokens < c->n_positions - 1 ? n_tokens : c->n_positions - 1;
    p.seed = seed;
    gptc_gen_result *res = NULL;
    *n_out = 0;
    gptc_status s = gptc_generate(ctx, m, NULL, NULL, &start, 1, &p, NULL, NULL, &res);
    if (!s && res->n_seq > 0) {
        *n_out = (size_t)res->seqs[0].n_tokens;
        memcpy(out, res->seqs[0].tokens, *n_out * sizeof *out);
    }
    gptc_gen_result_free(res);
    return s;
}

/* ------------------------------------------------------------------ the run */


/* Keeps the lines of metrics.jsonl up to step (a resumed run rewrites what follows). */
static int config_same_arch(const gptc_config *a, const gptc_config *b) {
    return a->n_layer == b->n_layer && a->n_head == b->n_head && a->n_embd == b->n_embd &&
           a->n_positions == b->n_positions && a->vocab_size == b->vocab_size &&
           (a->n_inner > 0 ? a->n_inner : 4 * a->n_embd) == (b->n_inner > 0 ? b->n_inner : 4 * b->n_embd);
}

typedef struct run_ctx {
    gptc_model *m;
    gptc_workspace *ws;
    gptc_grads *g;
    gptc_adamw *opt;
    gptc_lm_source lm;
    const gptc_data_source *d;
    gptc_data_source lm_d;
    gptc_batch bt;
    int32_t *sample_ids;
    FILE *metrics;
    gptc_ddp *ddp;            /* several ranks */
} run_ctx;

/* Block `layer`'s gradients are final: its bucket goes out (overlapped with backward). */
typedef struct layer_hook_ctx { gptc_ddp *ddp; gptc_grads *g; } layer_hook_ctx;
static gptc_status on_layer_done(gptc_ctx *ctx, void *user, int layer) {
    layer_hook_ctx *h = user;
    return gptc_ddp_layer_ready(ctx, h->ddp, h->g, layer);
}

/* Optimizer steps of the run: --max-steps, else --epochs over the train rows in
 * global batches. */
static long total_steps(const gptc_train_opts *o, const gptc_data_source *d) {
    if (o->max_steps > 0) return o->max_steps;
    double per_step = (double)o->batch_size * gptc_dist_size(o->dist) * o->grad_accum;
    long total = (long)ceil(o->epochs * (double)d->train_rows / per_step);
    return total < 1 ? 1 : total;
}

/* A checkpoint by the writer; other processes only name where it is. With ZeRO the
 * ranks' shares of the moments are gathered on the writer first. */
static gptc_status save_ckpt(gptc_ctx *ctx, run_ctx *r, const gptc_train_opts *o, const run_state *rs, const char *tok,
                             char *dir, size_t cap) {
    gptc_status s = GPTC_OK;
    gptc_adamw *full = NULL;
    if (r->ddp && gptc_ddp_zero(r->ddp)) {
        if (o->writer && (s = gptc_adamw_new(ctx, r->m, &full))) return s;
        if ((s = gptc_ddp_gather_moments(ctx, r->ddp, full))) {
            gptc_adamw_free(full);
            return s;
        }
    }
    if (o->writer) s = gptc_ckpt_write(ctx, r->m, full ? full : r->opt, o, rs, tok, dir, cap);
    else snprintf(dir, cap, "%s/checkpoints/step-%ld", o->out_dir, rs->step);
    gptc_adamw_free(full);
    return s;
}

/* The ranks refuse to train together unless they agree on the options, the data (its
 * size and first global batch) and the starting weights. */
static gptc_status check_agree(gptc_ctx *ctx, run_ctx *r, const gptc_train_opts *o, const run_state *rs, int per_row) {
    gptc_dist *dist = o->dist;
    int N = gptc_dist_size(dist), GB = o->batch_size * N, T = o->seq_len;
    const gptc_data_source *d = r->d;
    uint64_t h[3];
    char *text = gptc_train_opts_text(o);
    if (!text) return gptc_fail(ctx, GPTC_ENOMEM, "out of memory");
    uint64_t shape[6] = {(uint64_t)o->batch_size, (uint64_t)o->grad_accum, (uint64_t)o->zero, (uint64_t)o->resume,
                         (uint64_t)total_steps(o, d), (uint64_t)o->eval_every};
    h[0] = gptc_hash_bytes(text, strlen(text)) ^ gptc_hash_bytes(shape, sizeof shape);
    free(text);
    uint64_t rng = rs->rng, pos = rs->data_pos, sizes[3] = {d->train_rows, 0, (uint64_t)per_row};
    if (o->eval_every > 0) sizes[1] = d->n_val_batches(d->user, GB, T);
    r->bt.B = GB;
    r->bt.T = T;
    gptc_status s = d->train_batch(ctx, d->user, &r->bt, &rng, &pos);
    if (s) return s;
    if (d->targets_per_row <= 0) per_row = r->bt.T;
    h[1] = gptc_hash_bytes(sizes, sizeof sizes) ^ gptc_hash_bytes(r->bt.tokens, (size_t)GB * r->bt.T * sizeof(int32_t)) ^
           (gptc_hash_bytes(r->bt.targets, (size_t)GB * per_row * sizeof(int32_t)) * 3);
    h[2] = gptc_hash_bytes(r->m->params, r->m->n_params * sizeof(float)) ^ gptc_hash_bytes(&r->m->cfg.n_layer, sizeof(int));
    uint64_t *all = gptc_alloc(ctx, (size_t)N * sizeof h, "rank agreement");
    if (!all) return GPTC_ENOMEM;
    if ((s = gptc_dist_allgather(ctx, dist, TAG_AGREE, h, sizeof h, all))) {
        gptc_free(all);
        return s;
    }
    static const char *const what[3] = {"the options (run.json, --batch-size, --grad-accum, --zero)",
                                        "the data (its size or first batch)", "the starting weights"};
    for (int q = 1; q < N && !s; q++)
        for (int k = 0; k < 3 && !s; k++)
            if (all[(size_t)q * 3 + k] != all[k])
                s = gptc_fail(ctx, GPTC_EINVAL, "MPI rank %d disagrees with rank 0 on %s; every rank must be given the "
                                                "same options, data and model", q, what[k]);
    gptc_free(all);
    return s;
}

static void run_free(run_ctx *r, const gptc_train_opts *o) {
    if (o->model && o->model != r->m) gptc_model_free(o->model); /* taken over, unused on resume */
    gptc_workspace_free(r->ws);
    gptc_grads_free(r->g);
    gptc_adamw_free(r->opt);
    gptc_model_free(r->m);
    gptc_lm_source_close(&r->lm);
    gptc_ddp_free(r->ddp);
    gptc_free(r->bt.tokens);
    gptc_free(r->bt.targets);
    gptc_free(r->bt.attention_mask);
    gptc_free(r->bt.token_types);
    gptc_free(r->bt.labels);
    gptc_free(r->bt.enc_tokens);
    gptc_free(r->bt.enc_mask);
    gptc_free(r->sample_ids);
    if (r->metrics) fclose(r->metrics);
}

static gptc_status open_model(gptc_ctx *ctx, const gptc_train_opts *o, uint32_t vocab_hint, run_state *rs,
                              gptc_model **m, char *ck_dir, size_t cap) {
    long steps[4096];
    size_t n_ck = gptc_ckpt_list(o->out_dir, steps, 4096);
    if (!o->resume) {
        if (n_ck)
            return gptc_fail(ctx, GPTC_EINVAL, "%s already holds a training run (checkpoints/step-%ld); "
                                               "continue it with --resume %s or choose another --out",
                             o->out_dir, steps[n_ck - 1], o->out_dir);
        if (o->model) {
            *m = o->model;
            return GPTC_OK;
        }
        if (o->init_dir) return gptc_model_load(ctx, o->init_dir, m);
        gptc_config cfg = o->cfg;
        if (cfg.vocab_size <= 0) cfg.vocab_size = (int)vocab_hint; /* the data's vocabulary */
        /* as gptc init: GPT-2's <|endoftext|> id only where the vocabulary has it (the
         * command line sets the data tokenizer's own <|endoftext|> when there is one) */
        if (cfg.bos_token_id >= cfg.vocab_size) cfg.bos_token_id = -1;
        if (cfg.eos_token_id >= cfg.vocab_size) cfg.eos_token_id = -1;
        return gptc_model_new(ctx, &cfg, o->seed, m);
    }
    if (!n_ck) return gptc_fail(ctx, GPTC_EINVAL, "%s/checkpoints: no complete checkpoint to resume from", o->out_dir);
    char dir[4200], p[4300];
    snprintf(dir, sizeof dir, "%s/checkpoints/step-%ld", o->out_dir, steps[n_ck - 1]);
    gptc_status s = gptc_model_load(ctx, dir, m);
    if (s) return s;
    if (o->arch_given && !config_same_arch(&(*m)->cfg, &o->cfg))
        return gptc_fail(ctx, GPTC_EINVAL, "%s: the checkpoint's architecture (n_layer=%d n_head=%d n_embd=%d "
                                           "n_positions=%d vocab_size=%d) differs from the options given",
                         dir, (*m)->cfg.n_layer, (*m)->cfg.n_head, (*m)->cfg.n_embd, (*m)->cfg.n_positions,
                         (*m)->cfg.vocab_size);
    snprintf(p, sizeof p, "%s/trainer_state.json", dir);
    if ((s = gptc_ckpt_load_state(ctx, p, rs, o))) return s;
    snprintf(ck_dir, cap, "%s", dir);
    return GPTC_OK;
}

gptc_status gptc_train_run(gptc_ctx *ctx, const gptc_train_opts *o_in, gptc_train_cb cb, void *user) {
    gptc_train_opts o_run = *o_in;
    const gptc_train_opts *o = &o_run;
    int N = gptc_dist_size(o->dist), rank = gptc_dist_rank(o->dist);
    if (o->dist) o_run.writer = rank == 0;
    if (o->batch_size < 1 || o->seq_len < 1 || o->grad_accum < 1)
        return gptc_fail(ctx, GPTC_EINVAL, "--batch-size, --seq-len and --grad-accum must be at least 1");
    if (o->eval_every < 0 || o->eval_batches < 1 || o->keep_last < 1 || o->patience < 0 || o->save_every < 0)
        return gptc_fail(ctx, GPTC_EINVAL, "--eval-every, --save-every and --patience must be >= 0, "
                                           "--eval-batches and --keep-last >= 1");
    run_ctx r = {0};
    run_state rs = {0};
    rs.rng = o->seed ^ 0x5DEECE66Dull;
    rs.best_val = INFINITY;
    char path[4400], tok_dir[4200], ck_dir[4300], model_out[4300];
    const char *tok = o->tok_dir;
    int B = o->batch_size, T = o->seq_len, GB = B * N; /* GB: the global batch */
    gptc_status s = GPTC_OK;
    uint32_t vocab_hint = 0;
    if (o->data) {
        r.d = o->data;
    } else {
        /* token shards made by gptc prepare */
        if ((s = gptc_lm_source_open(ctx, o->data_dir, GB, T, o->sequential, o->eval_every > 0, &r.lm, &r.lm_d)))
            goto done;
        r.d = &r.lm_d;
        vocab_hint = r.lm.train.vocab_size;
        snprintf(tok_dir, sizeof tok_dir, "%s/tokenizer", o->data_dir);
        if (!tok && gptc_file_exists(tok_dir)) tok = tok_dir;
    }
    const gptc_data_source *d = r.d;
    snprintf(path, sizeof path, "%s/checkpoints", o->out_dir);
    if (o->writer && ((s = gptc_mkdirs(ctx, o->out_dir)) || (s = gptc_mkdirs(ctx, path)))) goto done;
    char resume_dir[4300] = "";
    if ((s = open_model(ctx, o, vocab_hint, &rs, &r.m, resume_dir, sizeof resume_dir))) goto done;
    gptc_model *m = r.m;
    if (vocab_hint > (uint32_t)m->cfg.vocab_size) {
        s = gptc_fail(ctx, GPTC_EINVAL, "%s/train.bin: token ids go up to vocabulary size %u, the model has vocab_size %d",
                      o->data_dir, vocab_hint, m->cfg.vocab_size);
        goto done;
    }
    if (T > m->cfg.n_positions) {
        s = gptc_fail(ctx, GPTC_EINVAL, "--seq-len %d exceeds the model's context n_positions=%d", T, m->cfg.n_positions);
        goto done;
    }
    /* encoder-decoder: the sources' length enc_T too; one workspace length covers both */
    int enc_T = (d->fields & GPTC_BATCH_ENC_TOKENS) ? d->enc_T : 0;
    if (enc_T > m->cfg.n_positions) {
        s = gptc_fail(ctx, GPTC_EINVAL, "sources of %d tokens exceed the model's max_position_embeddings=%d", enc_T,
                      m->cfg.n_positions);
        goto done;
    }
    if (o->dropout >= 0) m->cfg.embd_pdrop = m->cfg.attn_pdrop = m->cfg.resid_pdrop = o->dropout;
    int zero = N > 1 && o->zero;
    if ((s = gptc_workspace_new(ctx, m, B, T > enc_T ? T : enc_T, 1, &r.ws)) || (s = gptc_grads_new(ctx, m, &r.g)) ||
        (s = gptc_adamw_new(ctx, m, &r.opt)))
        goto done;
    if (N > 1 && (s = gptc_ddp_new(ctx, o->dist, m, zero, &r.ddp))) goto done;
    if (resume_dir[0]) {
        snprintf(path, sizeof path, "%s/optimizer.safetensors", resume_dir);
        if (gptc_file_exists(path) && (s = gptc_ckpt_load_optimizer(ctx, m, r.opt, path))) goto done;
    }
    if (zero) { /* this rank's share only */
        gptc_ddp_take_moments(r.ddp, r.opt);
        gptc_adamw_free(r.opt);
        r.opt = NULL;
    }
    if (o->class_weights && (s = gptc_workspace_set_class_weights(ctx, r.ws, o->class_weights))) goto done;
    int per_row = d->targets_per_row > 0 ? d->targets_per_row : T;
    size_t BT = (size_t)GB * T;
    r.bt.tokens = gptc_alloc(ctx, BT * sizeof(int32_t), "batch inputs");
    r.bt.targets = gptc_alloc(ctx, (size_t)GB * (size_t)(per_row > T ? per_row : T) * sizeof(int32_t), "batch targets");
    r.sample_ids = gptc_alloc(ctx, ((size_t)o->sample_tokens + 2) * sizeof(int32_t), "sample");
    if (!r.bt.tokens || !r.bt.targets || !r.sample_ids) { s = GPTC_ENOMEM; goto done; }
    int encoder = m->cfg.arch == GPTC_ARCH_BERT, seq2seq = m->cfg.arch == GPTC_ARCH_MARIAN;
    if (seq2seq != !!(d->fields & GPTC_BATCH_ENC_TOKENS) || (!encoder && (d->fields & ~GPTC_BATCH_ENC_TOKENS))) {
        /* refuse rather than ignore: GPT-2 takes none of these fields, an encoder-decoder
         * needs its encoder inputs and takes no others */
        s = gptc_fail(ctx, GPTC_ENOTSUP, "the data source fills batch fields (mask %d, token types %d, encoder inputs "
                                         "%d, labels %d) that a %s model does not take%s",
                      !!(d->fields & GPTC_BATCH_ATTENTION_MASK), !!(d->fields & GPTC_BATCH_TOKEN_TYPES),
                      !!(d->fields & GPTC_BATCH_ENC_TOKENS), !!(d->fields & GPTC_BATCH_LABELS),
                      encoder ? "BERT" : seq2seq ? "Marian" : "GPT-2",
                      seq2seq ? " (an encoder-decoder trains on sentence pairs: gptc finetune --task translate)" : "");
        goto done;
    }
    if (o->label_smoothing > 0 && (s = gptc_workspace_set_label_smoothing(ctx, r.ws, o->label_smoothing))) goto done;
    if (encoder && m->cfg.head == GPTC_HEAD_LM && !m->cfg.mlm_only && !(d->fields & GPTC_BATCH_LABELS)) {
        s = gptc_fail(ctx, GPTC_EINVAL, "BERT pre-training data needs next_sentence_label (or a BertForMaskedLM model)");
        goto done;
    }
    if (d->fields & GPTC_BATCH_ATTENTION_MASK)
        r.bt.attention_mask = gptc_calloc(ctx, BT, sizeof(float), "batch attention mask");
    if (d->fields & GPTC_BATCH_TOKEN_TYPES) r.bt.token_types = gptc_calloc(ctx, BT, sizeof(int32_t), "batch token types");
    if (d->fields & GPTC_BATCH_LABELS) r.bt.labels = gptc_calloc(ctx, (size_t)B, sizeof(int32_t), "batch labels");
    if (enc_T) {
        r.bt.enc_T = enc_T;
        r.bt.enc_tokens = gptc_calloc(ctx, (size_t)GB * enc_T, sizeof(int32_t), "batch encoder inputs");
        r.bt.enc_mask = gptc_calloc(ctx, (size_t)GB * enc_T, sizeof(float), "batch encoder mask");
        if (!r.bt.enc_tokens || !r.bt.enc_mask) {
            s = GPTC_ENOMEM;
            goto done;
        }
    }
    if (((d->fields & GPTC_BATCH_ATTENTION_MASK) && !r.bt.attention_mask) ||
        ((d->fields & GPTC_BATCH_TOKEN_TYPES) && !r.bt.token_types) || ((d->fields & GPTC_BATCH_LABELS) && !r.bt.labels)) {
        s = GPTC_ENOMEM;
        goto done;
    }

    long total = total_steps(o, d);
    if (N > 1 && (s = check_agree(ctx, &r, o, &rs, per_row))) goto done;
    if (!o->resume && o->writer) {
        snprintf(path, sizeof path, "%s/run.json", o->out_dir);
        if ((s = gptc_train_opts_save(ctx, o, path))) goto done;
    }
    gptc_schedule sched = o->sched;
    sched.total = total;
    gptc_workspace_set_training(r.ws, 1, dropout_seed(o));
    gptc_workspace_set_dropout_calls(r.ws, rs.dropout_calls);
    gptc_adamw_params ap = {sched.lr, o->beta1, o->beta2, o->eps, o->weight_decay};

    snprintf(path, sizeof path, "%s/metrics.jsonl", o->out_dir);
    if (o->writer) {
        if (o->resume && (s = gptc_run_trim_metrics(ctx, path, rs.step))) goto done;
        if ((s = gptc_file_open_nofollow(ctx, path, o->resume, &r.metrics))) goto done;
    }

    gptc_train_event ev = {0};
    ev.kind = GPTC_EV_START;
    ev.step = rs.step;
    ev.start_step = rs.step;
    ev.max_steps = total;
    ev.n_params = gptc_model_n_params(m);
    ev.train_tokens = r.lm.train.n_tokens ? r.lm.train.n_tokens : d->train_rows;
    ev.val_tokens = r.lm.val.n_tokens;
    ev.metric_name = d->metric_name;
    ev.metric = ev.best_metric = NAN;
    if (cb) cb(user, &ev);

    double t_start = gptc_now_s(), elapsed0 = rs.elapsed;
    long last_saved = o->resume ? rs.step : -1;
    int stop_agreed = 0; /* several ranks: a rank was asked to stop (they stop together) */
    while (rs.step < total) {
        if (r.ddp ? stop_agreed : o->stop && *o->stop) {
            if (last_saved != rs.step) {
                rs.elapsed = elapsed0 + gptc_now_s() - t_start;
                if ((s = save_ckpt(ctx, &r, o, &rs, tok, ck_dir, sizeof ck_dir))) goto done;
                last_saved = rs.step;
            }
            ev.kind = GPTC_EV_INTERRUPTED;
            ev.step = rs.step;
            ev.path = ck_dir;
            if (cb) cb(user, &ev);
            goto done;
        }
        double t0 = gptc_now_s();
        gptc_grads_zero(r.g);
        double step_loss = 0, positions = 0;
        for (int a = 0; a < o->grad_accum; a++) {
            /* the global batch; this rank trains its rows */
            r.bt.B = GB;
            r.bt.T = T;
            if ((s = d->train_batch(ctx, d->user, &r.bt, &rs.rng, &rs.data_pos))) goto done;
            float loss;
            positions += (double)GB * r.bt.T;
            gptc_batch mine = batch_rows(&r.bt, rank * B, B, d->targets_per_row > 0 ? per_row : r.bt.T);
            if ((s = gptc_forward_batch(ctx, r.ws, &mine, &loss))) goto done;
            /* the last micro-batch completes the gradients: buckets go out as blocks finish */
            layer_hook_ctx hook = {r.ddp, r.g};
            int overlap = r.ddp && !o->no_overlap && a == o->grad_accum - 1;
            gptc_workspace_set_layer_hook(r.ws, overlap ? on_layer_done : NULL, &hook);
            s = gptc_backward(ctx, r.ws, r.g, 1.0f / (float)o->grad_accum);
            gptc_workspace_set_layer_hook(r.ws, NULL, NULL);
            if (s) goto done;
            step_loss += (double)loss / o->grad_accum;
        }
        if (o->after_backward && (s = o->after_backward(ctx, o->hook_user, r.g))) goto done;
        float norm;
        double comm_s = 0;
        ap.lr = gptc_schedule_lr(&sched, rs.step);
        if (r.ddp) {
            /* averaged gradients, the global norm, the mean loss and the stop requests */
            double sums[2] = {step_loss, o->stop && *o->stop};
            if ((s = gptc_ddp_step(ctx, r.ddp, r.g, r.opt, o->grad_clip, &ap, (int)rs.step + 1, sums, 2, &norm, &comm_s)))
                goto done;
            step_loss = sums[0] / N;
            stop_agreed = sums[1] > 0;
        } else {
            norm = gptc_grads_clip(ctx, r.g, o->grad_clip);
            if ((s = gptc_adamw_step(ctx, r.opt, m, r.g, &ap, (int)rs.step + 1))) goto done;
        }
        rs.step++;
        rs.dropout_calls = gptc_workspace_dropout_calls(r.ws);
        double dt = gptc_now_s() - t0;
        rs.elapsed = elapsed0 + gptc_now_s() - t_start;
        ev.kind = GPTC_EV_STEP;
        ev.step = rs.step;
        ev.train_loss = (float)step_loss;
        ev.lr = ap.lr;
        ev.grad_norm = norm;
        ev.tokens_per_s = positions / dt;
        ev.elapsed_s = rs.elapsed;
        if (r.metrics) fprintf(r.metrics, "{\"step\": %ld, \"train_loss\": %.7g, \"lr\": %.7g, \"grad_norm\": %.7g, "
                           "\"tokens_per_s\": %.1f, \"elapsed_s\": %.3f",
                rs.step, step_loss, (double)ap.lr, (double)norm, ev.tokens_per_s, rs.elapsed);
        /* several ranks: rank 0's seconds in the gradient exchange after backward (what
         * the overlap with backward did not hide) */
        if (r.metrics && r.ddp) fprintf(r.metrics, ", \"allreduce_s\": %.4f", comm_s);
        if (r.metrics) fprintf(r.metrics, "}\n");
        if (r.metrics) fflush(r.metrics);
        if (cb) cb(user, &ev);

        int do_eval = o->eval_every > 0 && (rs.step % o->eval_every == 0 || rs.step == total);
        if (do_eval) {
            float vl = 0;
            double metric = NAN;
            if ((s = evaluate(ctx, r.ws, m, d, o, &r.bt, &vl, &metric))) goto done;
            /* the monitored value: val loss, or minus the metric (lower is better) */
            float mon = d->metric_name ? (float)-metric : vl;
            if (mon < rs.best_val) {
                rs.best_val = mon;
                rs.best_step = rs.step;
                rs.bad_evals = 0;
            } else {
                rs.bad_evals++;
            }
            if (!r.metrics)
                ;
            else if (d->metric_name)
                fprintf(r.metrics, "{\"step\": %ld, \"val_loss\": %.7g, \"%s\": %.7g}\n", rs.step, (double)vl,
                        d->metric_name, metric);
            else
                fprintf(r.metrics, "{\"step\": %ld, \"val_loss\": %.7g}\n", rs.step, (double)vl);
            if (r.metrics) fflush(r.metrics);
            ev.metric = metric;
            ev.best_metric = d->metric_name ? -rs.best_val : NAN;
            ev.kind = GPTC_EV_EVAL;
            ev.val_loss = vl;
            ev.best_val_loss = d->metric_name ? NAN : rs.best_val;
            if (cb) cb(user, &ev);
            if (o->sample_tokens > 0 && m->cfg.head == GPTC_HEAD_LM && m->cfg.causal && o->writer) {
                size_t n;
                if ((s = sample(ctx, m, o->sample_tokens, o->seed + (uint64_t)rs.step, r.sample_ids, &n))) goto done;
                ev.kind = GPTC_EV_SAMPLE;
                ev.sample = r.sample_ids;
                ev.n_sample = n;
                if (cb) cb(user, &ev);
            }
        }
        if (do_eval || (o->save_every > 0 && rs.step % o->save_every == 0) || rs.step == total) {
            rs.elapsed = elapsed0 + gptc_now_s() - t_start;
            if ((s = save_ckpt(ctx, &r, o, &rs, tok, ck_dir, sizeof ck_dir))) goto done;
            last_saved = rs.step;
            if (o->writer) gptc_ckpt_prune(o, rs.best_step);
            ev.kind = GPTC_EV_CHECKPOINT;
            ev.path = ck_dir;
            if (cb) cb(user, &ev);
        }
        if (do_eval && o->patience > 0 && rs.bad_evals >= o->patience) {
            ev.kind = GPTC_EV_EARLY_STOP;
            ev.best_val_loss = d->metric_name ? NAN : rs.best_val;
            ev.best_metric = d->metric_name ? -rs.best_val : NAN;
            if (cb) cb(user, &ev);
            break;
        }
    }
    if (last_saved != rs.step) {
        if ((s = save_ckpt(ctx, &r, o, &rs, tok, ck_dir, sizeof ck_dir))) goto done;
        if (o->writer) gptc_ckpt_prune(o, rs.best_step);
    }
    /* OUT/model: the best checkpoint by val loss when evaluation ran, else the last */
    long src_step = o->eval_every > 0 && rs.best_step > 0 ? rs.best_step : rs.step;
    snprintf(ck_dir, sizeof ck_dir, "%s/checkpoints/step-%ld", o->out_dir, src_step);
    model_out[0] = 0;
    if (o->writer && (s = gptc_run_write_model(ctx, o, ck_dir, model_out, sizeof model_out))) goto done;
    ev.kind = GPTC_EV_DONE;
    ev.step = rs.step;
    ev.best_val_loss = d->metric_name ? NAN : rs.best_val;
    ev.best_metric = d->metric_name ? -rs.best_val : NAN;
    ev.path = model_out;
    ev.elapsed_s = rs.elapsed;
    if (cb) cb(user, &ev);
done:
    run_free(&r, o);
    return s;
}
