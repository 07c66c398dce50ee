/* tasks.h: fine-tuning tasks (internal): dataset readers (CSV/TSV/JSONL, SQuAD JSON),
 * label maps, the classification, chat (SFT) and extractive-QA data sources the trainer
 * pulls batches from, and the metrics (classification report, SQuAD EM/F1). */
#ifndef GPTC_TASKS_H
#define GPTC_TASKS_H

#include "../core/core.h"
#include "../train/train.h"

/* ------------------------------------------------------------ text tables (dataset.c) */
enum { GPTC_FMT_AUTO = 0, GPTC_FMT_CSV, GPTC_FMT_TSV, GPTC_FMT_JSONL };

typedef struct gptc_table_opts {
    int format;            /* GPTC_FMT_*: AUTO picks by extension (.jsonl/.json, .tsv/.tab/.txt, else CSV) */
    int no_header;         /* CSV/TSV without a header row: columns are 1-based numbers */
    const char *text_col;  /* column name (or number with no_header); NULL: "text" / 1 */
    const char *label_col; /* NULL: "label" / 2 */
    int need_label;        /* 1: every row must have a label */
    int skip_bad;          /* skip malformed rows (counted) instead of failing */
} gptc_table_opts;

typedef struct gptc_rows {
    size_t n;
    char **text;    /* n strings, each gptc_alloc'ed */
    char **label;   /* n strings or NULL when no label was read */
    size_t *line;   /* 1-based line of each row in its file */
    size_t n_skipped;
    char first_skip[256]; /* the message of the first skipped row */
} gptc_rows;

/* Reads rows of text (and label) from a CSV (RFC 4180 quoting), TSV (tab-separated, no
 * quoting) or JSONL file ({"text": ..., "label": string or integer}). Errors name the
 * file and line: a missing column, malformed JSON, an empty text, a missing label. */
gptc_status gptc_rows_read(gptc_ctx *ctx, const char *path, const gptc_table_opts *o, gptc_rows *out);
void gptc_rows_free(gptc_rows *r);
int gptc_table_format(const char *path, int format);

/* ------------------------------------------------------------ labels */
typedef struct gptc_labels {
    int n;
    char name[GPTC_MAX_LABELS][GPTC_LABEL_MAX];
} gptc_labels;
/* The sorted set of labels in rows (numerically when all are integers). */
gptc_status gptc_labels_collect(gptc_ctx *ctx, const char *path, const gptc_rows *r, gptc_labels *out);
/* From a classification config's id2label ("" -> "LABEL_i"). */
void gptc_labels_from_config(const gptc_config *c, gptc_labels *out);
/* Id of label s, or -1. An integer i also matches a default name "LABEL_i". */
int gptc_labels_find(const gptc_labels *l, const char *s);
/* Maps the labels of rows to ids; an unknown label fails naming file and line. */
gptc_status gptc_labels_map(gptc_ctx *ctx, const char *path, const gptc_labels *l, const gptc_rows *r, int32_t *ids);

/* ------------------------------------------------------------ tokenized task data */
enum { GPTC_TASK_CLASSIFY = 0, GPTC_TASK_SFT, GPTC_TASK_QA };

/* Rows of tokens with their targets. CLASSIFY: tgt[i] = label; QA: tgt[2i], tgt[2i+1] =
 * start, end positions; SFT: tgt[off[i] + t] = next-token target of position t (-100 where
 * the loss does not count). */
typedef struct gptc_task_data {
    int kind;
    size_t n;
    size_t *off;     /* n + 1 */
    int32_t *ids;
    int32_t *tgt;
    size_t max_len;  /* longest row */
} gptc_task_data;
void gptc_task_data_free(gptc_task_data *d);

/* Encodes texts (truncated to max_len tokens) with their label ids. */
gptc_status gptc_task_classify_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_rows *r,
                                     const int32_t *labels, int max_len, gptc_task_data *out);
/* Reads a chat JSONL ({"messages": [{"role", "content"}, ...]}), renders it with the chat
 * template for a model of vocab_size ids, and keeps the loss on assistant tokens only.
 * Conversations longer than max_len + 1 tokens are cut. */
gptc_status gptc_task_sft_read(gptc_ctx *ctx, const char *path, const gptc_tokenizer *tok, int vocab_size,
                               int max_len, int skip_bad, gptc_task_data *out, size_t *n_skipped);

/* Fills a padded (B, T) batch from rows idx[0..B): tokens padded with pad, targets as the
 * task wants (SFT pads with -100). */
void gptc_task_fill(const gptc_task_data *d, const size_t *idx, int B, int T, int32_t pad, int32_t *tokens,
                    int32_t *targets);

/* ------------------------------------------------------------ extractive QA (qa.c) */
typedef struct gptc_qa_example {
    char *context, *question, *id;
    int n_answers;
    char **answers;
    size_t *answer_start; /* byte offsets into context */
    size_t line;
} gptc_qa_example;

typedef struct gptc_qa_set {
    size_t n;
    gptc_qa_example *ex;
} gptc_qa_set;

/* SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas": [...]}]}]}) or JSONL, one
 * example a line: {"context", "question", "answers": {"text": [...], "answer_start": [...]}
 * or [{"text", "answer_start"}]}. answer_start counts characters (as Python); an offset
 * that does not point at its text fails naming file and line. need_answers: training data. */
gptc_status gptc_qa_read(gptc_ctx *ctx, const char *path, int need_answers, int skip_bad, gptc_qa_set *out,
                         size_t *n_skipped);
void gptc_qa_free(gptc_qa_set *s);

/* Windows: question tokens, the separator, then a window of the context; windows start
 * every (window - stride) context tokens. */
typedef struct gptc_qa_features {
    size_t n;           /* features */
    int T;              /* row length (max_length) */
    int32_t *ids;       /* (n, T), padded */
    int32_t *pos;       /* (n, 2) start/end positions in the row (0: no answer) */
    size_t *ex;         /* example of each feature */
    int *ctx_begin;     /* position in the row where the context window starts */
    int *ctx_len;       /* tokens of context in the row */
    size_t *win_start;  /* index of the window's first token among the context's tokens */
    /* per example: the context's tokens and their byte offsets */
    size_t n_ex;
    size_t **tok_off;   /* n_ex arrays of (n_tokens + 1) byte offsets */
    size_t *n_ctx_tok;
    gptc_task_data data; /* the same rows as task data for the trainer */
} gptc_qa_features;

gptc_status gptc_qa_features_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_qa_set *s, int T, int stride,
                                   int32_t sep, int32_t pad, gptc_qa_features *out);
void gptc_qa_features_free(gptc_qa_features *f);
/* The best span of example e over its features: logits (n_feat, T, 2) of features
 * f0..f0+n_feat-1 (all of example e). Span of at most max_answer tokens, start <= end.
 * Writes the byte range of the context [*b, *e). Returns 0 when no span exists. */
int gptc_qa_best_span(const gptc_qa_features *f, size_t f0, size_t n_feat, const float *logits, int max_answer,
                      size_t *b, size_t *e, double *score);

/* ------------------------------------------------------------ data source (source.c) */
enum { GPTC_METRIC_VAL_LOSS = 0, GPTC_METRIC_ACCURACY, GPTC_METRIC_F1_MACRO, GPTC_METRIC_F1_WEIGHTED };
int gptc_metric_parse(const char *s);

typedef struct gptc_task_source {
    gptc_data_source ds;
    const gptc_task_data *train, *val;
    int32_t pad;
    uint64_t seed;
    size_t *perm, *idx;
    uint64_t perm_epoch;  /* epoch + 1 whose permutation is in perm; 0: none */
    int metric, n_labels;
    long *confusion;      /* n_labels^2 */
} gptc_task_source;
/* Wires src->ds to train/val (val may be NULL: no evaluation). n_labels and metric for
 * CLASSIFY (metric GPTC_METRIC_VAL_LOSS: the val loss decides). */
gptc_status gptc_task_source_init(gptc_ctx *ctx, gptc_task_source *src, const gptc_task_data *train,
                                  const gptc_task_data *val, int32_t pad, uint64_t seed, int metric, int n_labels);
void gptc_task_source_free(gptc_task_source *src);
/* Sets the model's pad_token_id (saved in config.json; the classifier pools the last
 * token that is not pad). */
void gptc_task_model_set_pad(gptc_model *m, int32_t pad);

/* ------------------------------------------------------------ prediction (predict.c) */
/* The token that pads rows and separates question from context: the model's pad_token_id,
 * else the tokenizer's <|endoftext|>, else eos_token_id, else 0. */
int32_t gptc_task_pad_id(const gptc_config *c, const gptc_tokenizer *tok);
/* Class probabilities (n, num_labels) of n texts, in batches of 16 (1 without a pad id),
 * each text cut to n_positions tokens. The model is only read. */
gptc_status gptc_classify(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, char *const *texts, size_t n,
                          float *probs);
/* Extractive QA (run_qa.py's settings by default: max_length 384, stride 128, answers
 * of at most 30 tokens). */
typedef struct gptc_qa_opts { int max_length, stride, max_answer; } gptc_qa_opts;
void gptc_qa_opts_default(gptc_qa_opts *o);
/* The predicted answer text per example (gptc_alloc'ed strings, gptc_free) and its score
 * (may be NULL). */
gptc_status gptc_qa_predict(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_qa_set *s,
                            const gptc_qa_opts *o, char **answers, double *scores);

/* ------------------------------------------------------------ metrics (metrics.c) */
typedef struct gptc_cls_report {
    int K;
    long total;
    double accuracy;
    double precision_macro, recall_macro, f1_macro;
    double precision_weighted, recall_weighted, f1_weighted;
    double precision[GPTC_MAX_LABELS], recall[GPTC_MAX_LABELS], f1[GPTC_MAX_LABELS];
    long support[GPTC_MAX_LABELS];
} gptc_cls_report;
/* confusion[true * K + pred]; scikit-learn's definitions with zero_division = 0. */
void gptc_cls_report_compute(const long *confusion, int K, gptc_cls_report *out);
gptc_status gptc_confusion_svg(gptc_ctx *ctx, const char *path, const long *confusion, const gptc_labels *l);

/* SQuAD v1.1's answer normalization (lowercase, no punctuation, no articles a/an/the,
 * single spaces) into a gptc_alloc'ed string; exact match and token F1 of one
 * prediction against one gold answer. */
char *gptc_squad_normalize(gptc_ctx *ctx, const char *s);
double gptc_squad_em(gptc_ctx *ctx, const char *pred, const char *gold);
double gptc_squad_f1(gptc_ctx *ctx, const char *pred, const char *gold);

#endif
