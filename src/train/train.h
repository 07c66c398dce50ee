/* train.h: the trainer's internals: reading token shards, the language-modelling data
 * source, checkpoints and the run state. The public side (schedules, options, events,
 * data sources, gptc_train_run) is in include/gptc.h. */
#ifndef GPTC_TRAIN_H
#define GPTC_TRAIN_H

#include "../core/core.h"

/* internal: reading token shards */
typedef struct gptc_shard {
    gptc_mapped map;
    int width;            /* 2 or 4 */
    size_t n_tokens, n_docs;
    uint32_t vocab_size;
    const unsigned char *tokens;
} gptc_shard;
gptc_status gptc_shard_open(gptc_ctx *ctx, const char *path, gptc_shard *out);
void gptc_shard_close(gptc_shard *s);
static inline int32_t gptc_shard_token(const gptc_shard *s, size_t i) {
    const unsigned char *p = s->tokens + i * (size_t)s->width;
    return s->width == 2 ? (int32_t)(p[0] | p[1] << 8)
                         : (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}
/* ---- the language-modelling source (lm_source.c): token shards made by gptc prepare,
 * random windows (or sequential) from train.bin, consecutive windows of val.bin. */
typedef struct gptc_lm_source {
    gptc_shard train, val;
    int sequential;
} gptc_lm_source;
struct gptc_data_source;
/* Opens data_dir/train.bin (and val.bin when with_val) for batches of B x T and fills d. */
gptc_status gptc_lm_source_open(gptc_ctx *ctx, const char *data_dir, int B, int T, int sequential, int with_val,
                                gptc_lm_source *ls, struct gptc_data_source *d);
void gptc_lm_source_close(gptc_lm_source *ls);

/* ---- checkpoints (checkpoint.c), used by the trainer */

typedef struct run_state {
    long step;              /* optimizer steps done */
    uint64_t rng;           /* loader random stream */
    uint64_t data_pos;      /* sequential loader position */
    uint64_t dropout_calls;
    float best_val;         /* +inf when none */
    long best_step;
    int bad_evals;          /* evaluations without improvement */
    double elapsed;         /* seconds of training before this process */
} run_state;
gptc_status gptc_ckpt_write(gptc_ctx *ctx, const gptc_model *m, const gptc_adamw *opt, const gptc_train_opts *o,
                            const run_state *rs, const char *tok_dir, char *final_dir, size_t cap);
size_t gptc_ckpt_list(const char *out_dir, long *steps, size_t cap);      /* complete ones, ascending */
void gptc_ckpt_prune(const gptc_train_opts *o, long best_step);          /* keep-last K and the best */
gptc_status gptc_ckpt_load_state(gptc_ctx *ctx, const char *path, run_state *rs, const gptc_train_opts *o);
gptc_status gptc_ckpt_load_optimizer(gptc_ctx *ctx, const gptc_model *m, gptc_adamw *opt, const char *path);
/* The run's options as compact JSON (run.json's fields; free()), NULL when out of memory. */
char *gptc_train_opts_text(const gptc_train_opts *o);
gptc_status gptc_run_trim_metrics(gptc_ctx *ctx, const char *path, long step);
gptc_status gptc_run_write_model(gptc_ctx *ctx, const gptc_train_opts *o, const char *src_dir, char *out, size_t cap);

/* ---- processes of a multi-process run (dist.c; the public side, gptc_dist_open and
 * friends, is in gptc.h). Point-to-point exchanges of bytes: post sends and receives,
 * then wait for all of them (polling, failing after the run's timeout). */
double gptc_now_s(void); /* monotonic seconds */
gptc_status gptc_dist_post(gptc_ctx *ctx, gptc_dist *d, int send, int peer, int tag, void *buf, size_t bytes);
gptc_status gptc_dist_progress(gptc_ctx *ctx, gptc_dist *d, int *done); /* *done: nothing is pending */
gptc_status gptc_dist_wait(gptc_ctx *ctx, gptc_dist *d);
/* all receives bytes from every rank, in rank order (all[rank] = mine). */
gptc_status gptc_dist_allgather(gptc_ctx *ctx, gptc_dist *d, int tag, const void *mine, size_t bytes, void *all);
/* x = the sum of every rank's x, added in rank order (the same bits on every rank). */
gptc_status gptc_dist_sum(gptc_ctx *ctx, gptc_dist *d, int tag, double *x, size_t n);

/* ---- data-parallel steps (ddp.c) */
typedef struct gptc_ddp gptc_ddp;
gptc_status gptc_ddp_new(gptc_ctx *ctx, gptc_dist *d, gptc_model *m, int zero, gptc_ddp **out);
void gptc_ddp_free(gptc_ddp *p);
int gptc_ddp_zero(const gptc_ddp *p);
/* Block layer's gradients are final (the last micro-batch's backward): its bucket goes out. */
gptc_status gptc_ddp_layer_ready(gptc_ctx *ctx, gptc_ddp *p, gptc_grads *g, int layer);
/* After backward: averages g over the ranks, computes the global norm (*norm_out),
 * clips to max_norm and steps AdamW (opt: the whole optimizer; NULL with ZeRO, whose
 * moments ddp keeps); sums[n_sums] become the sums over ranks. *comm_s: seconds spent
 * exchanging (may be NULL). */
gptc_status gptc_ddp_step(gptc_ctx *ctx, gptc_ddp *p, gptc_grads *g, gptc_adamw *opt, float max_norm,
                          const gptc_adamw_params *ap, int t, double *sums, int n_sums, float *norm_out,
                          double *comm_s);
/* ZeRO: every rank's moments into full (on rank 0; others pass NULL and send). */
gptc_status gptc_ddp_gather_moments(gptc_ctx *ctx, gptc_ddp *p, gptc_adamw *full);
/* ZeRO: this rank's share of the moments from full. */
void gptc_ddp_take_moments(gptc_ddp *p, const gptc_adamw *full);

#endif
