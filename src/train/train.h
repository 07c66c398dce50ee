/* train.h: pre-training pieces (internal): learning-rate schedules, token shards and
 * the data loader, and the trainer loop with checkpoints and exact resume. */
#ifndef GPTC_TRAIN_H
#define GPTC_TRAIN_H

#include "../core/core.h"
#include "../io/file.h"

/* ---- learning-rate schedules, equal to Hugging Face's get_*_schedule_with_warmup.
 * step counts optimizer steps from 0 (the first step uses step 0: lr 0 in warmup). */
typedef enum gptc_sched_kind { GPTC_SCHED_CONSTANT, GPTC_SCHED_LINEAR, GPTC_SCHED_COSINE } gptc_sched_kind;
typedef struct gptc_schedule {
    gptc_sched_kind kind;
    float lr, min_lr;       /* min_lr: where linear/cosine decay ends (0 = HF's default) */
    long warmup, total;
} gptc_schedule;
float gptc_schedule_lr(const gptc_schedule *s, long step);
int gptc_schedule_parse(const char *name, gptc_sched_kind *out);

/* ---- token shards (docs/formats.md):
 *   bytes 0..7   magic "GPTCTOKS"
 *   8..11  u32   version (1)
 *   12..15 u32   bytes per token (2: uint16, 4: uint32)
 *   16..23 u64   token count
 *   24..31 u64   document count
 *   32..35 u32   vocabulary size the ids are below
 *   36..63       zero
 *   64..         tokens, little-endian */
#define GPTC_SHARD_MAGIC "GPTCTOKS"
#define GPTC_SHARD_HEADER 64
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
/* Copies the tokenizer files of a model directory (vocab.json, merges.txt,
 * special_tokens_map.json, tokenizer.json, tokenizer_config.json, generation_config.json)
 * that exist in src into dst. */
gptc_status gptc_copy_tokenizer_files(gptc_ctx *ctx, const char *src, const char *dst);
/* Writes tokens atomically; width chosen by vocab_size (uint16 when it fits). */
gptc_status gptc_shard_write(gptc_ctx *ctx, const char *path, const int32_t *ids, size_t n, size_t n_docs,
                             uint32_t vocab_size);


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

/* ---- the trainer (trainer.c): the loop of `gptc train`, writing OUT/metrics.jsonl,
 * OUT/checkpoints/step-N/ and OUT/model/. It never prints: it reports events to the
 * caller's callback. */
typedef struct gptc_model gptc_model;

/* One micro-batch: B rows of T positions. tokens and targets are always there; the
 * other fields are for architectures and tasks that need them and stay NULL unless the
 * data source asks for them (gptc_data_source.fields). Targets per row: T next-token
 * ids for a language model (-100 ignored), 1 label for a classifier, 2 positions for
 * QA (see gptc_forward). */
typedef struct gptc_batch {
    int B, T;                /* rows filled (at most the capacity) and positions per row */
    int32_t *tokens;         /* (B, T) */
    int32_t *targets;        /* (B, T), (B) or (B, 2) */
    float *attention_mask;   /* (B, T): 1 a token, 0 padding (bidirectional encoders) */
    int32_t *token_types;    /* (B, T): segment ids (BERT sentence pairs) */
    int32_t *enc_tokens;     /* (B, enc_T): encoder inputs (encoder-decoder) */
    int enc_T;
    int32_t *labels;         /* (B): a sequence label beside token targets (BERT's NSP) */
} gptc_batch;
enum { GPTC_BATCH_ATTENTION_MASK = 1, GPTC_BATCH_TOKEN_TYPES = 2, GPTC_BATCH_ENC_TOKENS = 4, GPTC_BATCH_LABELS = 8 };

/* Where batches come from. gptc train uses token shards (lm_source.c); fine-tuning
 * tasks (tasks/) provide their own. */
typedef struct gptc_data_source {
    void *user;
    int targets_per_row;          /* 0: T (language modelling) */
    int fields;                   /* GPTC_BATCH_* the source fills beyond tokens and targets */
    int enc_T;                    /* encoder positions when GPTC_BATCH_ENC_TOKENS */
    size_t train_rows;            /* rows in one epoch (for --epochs) */
    /* The next training micro-batch of b->B rows of b->T; uses and advances *rng and
     * *pos, which the trainer saves in checkpoints (exact resume). */
    gptc_status (*train_batch)(gptc_ctx *ctx, void *user, gptc_batch *b, uint64_t *rng, uint64_t *pos);
    /* Validation: n_val_batches(B, T) batches; batch i fills b->B <= its capacity rows. */
    size_t (*n_val_batches)(void *user, int B, int T);
    gptc_status (*val_batch)(gptc_ctx *ctx, void *user, size_t i, gptc_batch *b);
    /* Optional metric over the validation batches (higher is better), e.g. f1_macro:
     * reset, then observe the logits of every batch, then metric. */
    const char *metric_name;      /* NULL: val loss decides the best model and early stopping */
    void (*val_reset)(void *user);
    void (*val_observe)(void *user, const float *logits, const int32_t *targets, int rows, int T);
    double (*val_metric)(void *user);
} gptc_data_source;

typedef struct gptc_train_opts {
    const gptc_data_source *data; /* NULL: token shards in data_dir */
    gptc_model *model;            /* a model to train (taken over and freed by the trainer), or NULL;
                                     on resume the checkpoint's model is used instead */
    const float *class_weights;   /* CLASSIFY loss weights (num_labels), or NULL */
    /* Called between backward and clipping with the step's accumulated gradients (the
     * place of a gradient all-reduce); non-zero status stops the run. */
    gptc_status (*after_backward)(gptc_ctx *ctx, void *user, gptc_grads *g);
    void *hook_user;
    /* 1 (default): this process writes metrics.jsonl, run.json, checkpoints and
     * OUT/model; 0: it trains and evaluates without writing (the other ranks of a
     * multi-process run), and resumes from the writer's checkpoints. */
    int writer;
    const char *tok_dir;          /* tokenizer files carried into model directories (NULL: data_dir/tokenizer) */
    const char *data_dir, *out_dir;
    const char *init_dir;       /* start from this model directory, or NULL */
    gptc_config cfg;            /* architecture when init_dir is NULL and not resuming;
                                   vocab_size <= 0 takes the data's vocabulary size */
    int resume;                 /* continue the run in out_dir from its newest checkpoint */
    int arch_given;             /* the user passed architecture options (checked on resume) */
    int batch_size, seq_len, grad_accum;
    long max_steps;             /* 0: derived from epochs */
    double epochs;
    gptc_schedule sched;        /* lr, min_lr, warmup, kind; total filled in by the trainer */
    float weight_decay, beta1, beta2, eps, grad_clip;
    float dropout;              /* < 0: keep the model's */
    uint64_t seed;
    int sequential;             /* --loader sequential */
    int eval_every, eval_batches, save_every, keep_last, patience;
    int sample_tokens;          /* tokens generated at each evaluation (0: none) */
    volatile int *stop;         /* set by a signal handler: checkpoint and return */
} gptc_train_opts;

void gptc_train_default_opts(gptc_train_opts *o);

typedef enum gptc_train_event_kind {
    GPTC_EV_START, GPTC_EV_STEP, GPTC_EV_EVAL, GPTC_EV_SAMPLE, GPTC_EV_CHECKPOINT, GPTC_EV_EARLY_STOP,
    GPTC_EV_INTERRUPTED, GPTC_EV_DONE
} gptc_train_event_kind;

typedef struct gptc_train_event {
    gptc_train_event_kind kind;
    long step, max_steps, start_step;
    float train_loss, lr, grad_norm, val_loss, best_val_loss;
    double metric, best_metric;               /* when the data source has a metric */
    const char *metric_name;
    double tokens_per_s, elapsed_s;
    const int32_t *sample; size_t n_sample;   /* GPTC_EV_SAMPLE: generated ids */
    const char *path;                         /* checkpoint or model directory */
    size_t n_params, train_tokens, val_tokens;
} gptc_train_event;
typedef void (*gptc_train_cb)(void *user, const gptc_train_event *ev);

gptc_status gptc_train_run(gptc_ctx *ctx, const gptc_train_opts *o, gptc_train_cb cb, void *user);

/* The options of a run, saved as OUT/run.json at its start so that --resume continues
 * with the same ones (options given again on the command line override them).
 * Strings loaded are owned by the caller's buffer store (data_buf, data_cap). */
gptc_status gptc_train_opts_save(gptc_ctx *ctx, const gptc_train_opts *o, const char *path);
gptc_status gptc_train_opts_load(gptc_ctx *ctx, const char *path, gptc_train_opts *o, char *data_buf, size_t data_cap);

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
gptc_status gptc_run_trim_metrics(gptc_ctx *ctx, const char *path, long step);
gptc_status gptc_run_write_model(gptc_ctx *ctx, const gptc_train_opts *o, const char *src_dir, char *out, size_t cap);

#endif
