/* session.c: incremental decoding with a KV cache. Each layer keeps the keys and values
 * of every sequence's past tokens, so a new token costs one position. The rows run
 * through the model's one forward (model/block.c) with the cache as a view; this file
 * only keeps the cache, places rows at their positions and splits prompts into chunks.
 * Sampling and generation loops live in generate.c. */
#include "../model/model.h"
#include "../kernels/kernels.h"
#include <string.h>

enum { PREFILL_CHUNK = 128 };

struct gptc_session {
    const gptc_model *m;
    int n_seq, max_len, rows; /* rows: scratch capacity */
    int *len;                 /* tokens held per sequence */
    float *kv;                /* [layer][2][seq][pos][C] (an encoder-decoder: its decoder layers) */
    float *xkv;               /* encoder-decoder: cross keys and values [layer][2][seq][pos][C], or NULL */
    int *src_len;             /* encoder-decoder: source tokens per sequence (0: none) */
    gptc_workspace *enc_ws;   /* encoder-decoder: the encoder's workspace, made by the first encode */
    float *logits_rows;       /* logits of up to n_seq rows, when the caller wants none */
    gptc_workspace *ws;
    int *row_seq, *row_pos;
    size_t bytes;
};

static float *kv_at(const gptc_session *s, int layer, int which, int seq, int pos) {
    size_t C = (size_t)s->m->cfg.n_embd;
    return s->kv + ((((size_t)layer * 2 + (size_t)which) * (size_t)s->n_seq + (size_t)seq) * (size_t)s->max_len +
                    (size_t)pos) * C;
}

static float *xkv_at(const gptc_session *s, int layer, int which, int seq, int pos) {
    size_t C = (size_t)s->m->cfg.n_embd;
    return s->xkv + ((((size_t)layer * 2 + (size_t)which) * (size_t)s->n_seq + (size_t)seq) * (size_t)s->max_len +
                     (size_t)pos) * C;
}

gptc_status gptc_session_new(gptc_ctx *ctx, const gptc_model *m, int n_seq, int max_len, gptc_session **out) {
    *out = NULL;
    const gptc_config *c = &m->cfg;
    if (max_len <= 0) max_len = c->n_positions;
    if (n_seq < 1 || max_len > c->n_positions)
        return gptc_fail(ctx, GPTC_EINVAL, "session: %d sequences of %d tokens (need >= 1 sequence and at most "
                                           "n_positions=%d tokens)", n_seq, max_len, c->n_positions);
    if (!c->causal) return gptc_fail(ctx, GPTC_ENOTSUP, "session: incremental decoding needs a causal model");
    gptc_session *s = gptc_calloc(ctx, 1, sizeof *s, "session");
    if (!s) return GPTC_ENOMEM;
    s->m = m;
    s->n_seq = n_seq;
    s->max_len = max_len;
    s->rows = n_seq > PREFILL_CHUNK ? n_seq : PREFILL_CHUNK;
    size_t C = (size_t)c->n_embd, L = (size_t)gptc_n_dec_layers(c), W = (size_t)m->head->width(c), kv_n, lg_n;
    if (!gptc_mul_ok(2 * L * (size_t)n_seq * (size_t)max_len, C, &kv_n) || !gptc_mul_ok((size_t)n_seq, W, &lg_n)) {
        gptc_free(s);
        return gptc_fail(ctx, GPTC_ENOMEM, "session: size overflow");
    }
    s->kv = gptc_alloc(ctx, (kv_n ? kv_n : 1) * sizeof(float), "KV cache");
    s->logits_rows = gptc_alloc(ctx, lg_n * sizeof(float), "session logits");
    s->len = gptc_calloc(ctx, (size_t)n_seq, sizeof(int), "session lengths");
    s->row_seq = gptc_calloc(ctx, (size_t)s->rows, sizeof(int), "session rows");
    s->row_pos = gptc_calloc(ctx, (size_t)s->rows, sizeof(int), "session rows");
    int cross = c->cross_attention;
    if (cross) {
        s->xkv = gptc_alloc(ctx, (kv_n ? kv_n : 1) * sizeof(float), "cross-attention cache");
        s->src_len = gptc_calloc(ctx, (size_t)n_seq, sizeof(int), "session sources");
    }
    gptc_status st = s->kv && s->logits_rows && s->len && s->row_seq && s->row_pos && (!cross || (s->xkv && s->src_len))
                         ? gptc_workspace_new_rows(ctx, m, s->rows, &s->ws)
                         : GPTC_ENOMEM;
    if (st) {
        gptc_session_free(s);
        return st;
    }
    s->bytes = (kv_n * (cross ? 2 : 1) + lg_n) * sizeof(float) + gptc_workspace_bytes(s->ws);
    *out = s;
    return GPTC_OK;
}

void gptc_session_free(gptc_session *s) {
    if (!s) return;
    gptc_free(s->kv);
    gptc_free(s->xkv);
    gptc_free(s->src_len);
    gptc_free(s->logits_rows);
    gptc_workspace_free(s->ws);
    gptc_workspace_free(s->enc_ws);
    gptc_free(s->len);
    gptc_free(s->row_seq);
    gptc_free(s->row_pos);
    gptc_free(s);
}

void gptc_session_reset(gptc_session *s, int seq) {
    for (int i = 0; i < s->n_seq; i++)
        if (seq < 0 || seq == i) s->len[i] = 0;
}

int gptc_session_len(const gptc_session *s, int seq) { return seq >= 0 && seq < s->n_seq ? s->len[seq] : 0; }
int gptc_session_n_seq(const gptc_session *s) { return s->n_seq; }
int gptc_session_width(const gptc_session *s) { return s->m->head->width(&s->m->cfg); }
size_t gptc_session_bytes(const gptc_session *s) { return s->bytes; }

gptc_status gptc_session_copy(gptc_ctx *ctx, gptc_session *s, int dst, int src) {
    if (dst < 0 || src < 0 || dst >= s->n_seq || src >= s->n_seq)
        return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d or %d out of range [0, %d)", dst, src, s->n_seq);
    if (dst == src) return GPTC_OK;
    size_t n = (size_t)s->len[src] * (size_t)s->m->cfg.n_embd * sizeof(float);
    for (int l = 0; l < gptc_n_dec_layers(&s->m->cfg); l++)
        for (int w = 0; w < 2; w++) memcpy(kv_at(s, l, w, dst, 0), kv_at(s, l, w, src, 0), n);
    s->len[dst] = s->len[src];
    if (s->xkv) {
        size_t nx = (size_t)s->src_len[src] * (size_t)s->m->cfg.n_embd * sizeof(float);
        for (int l = 0; l < gptc_n_dec_layers(&s->m->cfg); l++)
            for (int w = 0; w < 2; w++) memcpy(xkv_at(s, l, w, dst, 0), xkv_at(s, l, w, src, 0), nx);
        s->src_len[dst] = s->src_len[src];
    }
    return GPTC_OK;
}

int gptc_session_src_len(const gptc_session *s, int seq) {
    return s->src_len && seq >= 0 && seq < s->n_seq ? s->src_len[seq] : 0;
}

gptc_status gptc_session_encode(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *src, int n) {
    const gptc_config *c = &s->m->cfg;
    if (!s->xkv) return gptc_fail(ctx, GPTC_EINVAL, "session: the model has no encoder (encode is for Marian models)");
    if (seq < 0 || seq >= s->n_seq)
        return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d out of range [0, %d)", seq, s->n_seq);
    if (n < 1 || n > s->max_len)
        return gptc_fail(ctx, GPTC_ERANGE, "session: a source of %d tokens (1 to the session's %d)", n, s->max_len);
    gptc_status st;
    if (!s->enc_ws && (st = gptc_workspace_new(ctx, s->m, 1, s->max_len, 0, &s->enc_ws))) return st;
    s->src_len[seq] = 0;
    s->len[seq] = 0;
    size_t C = (size_t)c->n_embd;
    /* decoder layer l's keys at xkv_at(l, 0, seq, 0): layers 2 * n_seq * max_len * C apart */
    if ((st = gptc_encode_impl(ctx, s->enc_ws, src, NULL, 1, n, xkv_at(s, 0, 0, seq, 0), xkv_at(s, 0, 1, seq, 0),
                               2 * (size_t)s->n_seq * s->max_len * C)))
        return st;
    s->src_len[seq] = n;
    return GPTC_OK;
}

/* Runs n rows (row_seq/row_pos set) through the model's forward with the cache as a
 * view; the logits of rows [first_logit, n) go to logits. */
static gptc_status run_rows(gptc_ctx *ctx, gptc_session *s, const int32_t *tokens, int n, int first_logit,
                            float *logits, float *hidden) {
    size_t C = (size_t)s->m->cfg.n_embd;
    gptc_cache_view cv;
    cv.k = s->kv;
    cv.v = s->kv + (size_t)s->n_seq * s->max_len * C;
    cv.layer_stride = 2 * (size_t)s->n_seq * s->max_len * C;
    cv.seq_stride = (size_t)s->max_len * C;
    cv.row_seq = s->row_seq;
    cv.row_pos = s->row_pos;
    cv.hidden = hidden;
    cv.xk = s->xkv;
    cv.xv = s->xkv ? s->xkv + (size_t)s->n_seq * s->max_len * C : NULL;
    cv.x_layer_stride = cv.layer_stride;
    cv.x_seq_stride = cv.seq_stride;
    cv.src_len = s->src_len;
    return gptc_forward_impl(ctx, s->ws, tokens, NULL, NULL, NULL, 1, n, NULL, &cv, first_logit, logits);
}

static gptc_status prefill(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n, float *logits,
                           float *hidden) {
    if (seq < 0 || seq >= s->n_seq)
        return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d out of range [0, %d)", seq, s->n_seq);
    if (n < 1) return gptc_fail(ctx, GPTC_EINVAL, "session: prefill needs at least one token");
    if (s->len[seq] + n > s->max_len)
        return gptc_fail(ctx, GPTC_ERANGE, "session: %d + %d tokens exceed the context of %d tokens", s->len[seq], n,
                         s->max_len);
    /* every id before the first chunk runs, so a bad id leaves the sequence as it was
     * (the forward checks each chunk's again) */
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= s->m->cfg.vocab_size)
            return gptc_fail(ctx, GPTC_ERANGE, "token id %d at position %d is out of range [0, %d)", tokens[i], i,
                             s->m->cfg.vocab_size);
    gptc_status st = GPTC_OK;
    for (int done = 0; done < n;) {
        int k = n - done < s->rows ? n - done : s->rows;
        for (int r = 0; r < k; r++) {
            s->row_seq[r] = seq;
            s->row_pos[r] = s->len[seq] + r;
        }
        int last = done + k == n;
        if ((st = run_rows(ctx, s, tokens + done, k, k - 1, last && logits ? logits : s->logits_rows,
                           hidden ? hidden + (size_t)done * s->m->cfg.n_embd : NULL)))
            return st;
        s->len[seq] += k;
        done += k;
    }
    return GPTC_OK;
}

gptc_status gptc_session_prefill(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n,
                                 float *logits) {
    return prefill(ctx, s, seq, tokens, n, logits, NULL);
}

gptc_status gptc_session_prefill_hidden(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n,
                                        float *hidden) {
    return prefill(ctx, s, seq, tokens, n, NULL, hidden);
}

void gptc_session_truncate(gptc_session *s, int seq, int len) {
    if (seq >= 0 && seq < s->n_seq && len >= 0 && len < s->len[seq]) s->len[seq] = len;
}

gptc_status gptc_session_step(gptc_ctx *ctx, gptc_session *s, const int *seqs, const int32_t *tokens, int n,
                              float *logits) {
    if (n < 1 || n > s->n_seq) return gptc_fail(ctx, GPTC_EINVAL, "session: step of %d sequences (1..%d)", n, s->n_seq);
    gptc_status st;
    for (int r = 0; r < n; r++) {
        int q = seqs[r];
        if (q < 0 || q >= s->n_seq) return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d out of range", q);
        for (int j = 0; j < r; j++)
            if (seqs[j] == q) return gptc_fail(ctx, GPTC_EINVAL, "session: sequence %d appears twice in one step", q);
        if (s->len[q] + 1 > s->max_len)
            return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d is full (%d tokens)", q, s->max_len);
    }
    /* groups of at most GPTC_GEMV_MAX_ROWS rows: every group runs the few-row kernels,
     * whose per-row arithmetic does not depend on the row count, so a sequence's logits
     * are the same bits whatever other sequences share the step (a GEMM over more rows
     * would round differently) */
    float *lg = logits ? logits : s->logits_rows;
    size_t W = (size_t)s->m->head->width(&s->m->cfg);
    for (int r0 = 0; r0 < n; r0 += GPTC_GEMV_MAX_ROWS) {
        int k = n - r0 < GPTC_GEMV_MAX_ROWS ? n - r0 : GPTC_GEMV_MAX_ROWS;
        for (int r = 0; r < k; r++) {
            s->row_seq[r] = seqs[r0 + r];
            s->row_pos[r] = s->len[seqs[r0 + r]];
        }
        if ((st = run_rows(ctx, s, tokens + r0, k, 0, lg + (size_t)r0 * W, NULL))) return st;
    }
    for (int r = 0; r < n; r++) s->len[seqs[r]]++;
    return GPTC_OK;
}

int gptc_session_prefill_chunk(const gptc_session *s) { return s->rows; }
