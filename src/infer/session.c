/* session.c: incremental decoding with a KV cache. Each layer keeps the keys and values
 * of every sequence's past tokens, so a new token costs one position: its row goes
 * through the block, attends over the cached keys of its own sequence, and appends its
 * key and value. Sampling and generation loops live in generate.c. */
#include "../model/model.h"
#include "../kernels/kernels.h"
#include "../kernels/cpu/vec.h"
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { PREFILL_CHUNK = 128 };

struct gptc_session {
    const gptc_model *m;
    int n_seq, max_len, rows; /* rows: scratch capacity */
    int *len;                 /* tokens held per sequence */
    float *kv;                /* [layer][2][seq][pos][C] */
    /* scratch for up to `rows` rows */
    float *x, *ln, *mean, *rstd, *qkv, *atty, *tmp, *fch, *scores, *logits_rows;
    int *row_seq, *row_pos;
    size_t bytes;
    void *block;
};

static size_t n_inner(const gptc_config *c) { return (size_t)(c->n_inner > 0 ? c->n_inner : 4 * c->n_embd); }

static float *kv_at(const gptc_session *s, int layer, int which, int seq, int pos) {
    size_t C = (size_t)s->m->cfg.n_embd;
    return s->kv + ((((size_t)layer * 2 + (size_t)which) * (size_t)s->n_seq + (size_t)seq) * (size_t)s->max_len +
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
    size_t R = (size_t)s->rows, C = (size_t)c->n_embd, I = n_inner(c), L = (size_t)c->n_layer,
           V = (size_t)c->vocab_size, T = (size_t)max_len;
    int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    size_t sizes[] = {
        2 * L * (size_t)n_seq * T * C, /* kv */
        R * C, R * C, R, R, R * 3 * C, R * C, R * C, R * I,
        (size_t)nt * T,                /* scores per thread */
        (size_t)n_seq * V,             /* logits of up to n_seq rows */
    };
    size_t total = 0, n_sizes = sizeof sizes / sizeof sizes[0];
    for (size_t i = 0; i < n_sizes; i++) {
        size_t padded = (sizes[i] + 15) & ~(size_t)15;
        if (!gptc_add_ok(total, padded, &total)) {
            gptc_free(s);
            return gptc_fail(ctx, GPTC_ENOMEM, "session: size overflow");
        }
    }
    s->block = gptc_alloc(ctx, total * sizeof(float), "KV cache and decoding scratch");
    s->len = gptc_calloc(ctx, (size_t)n_seq, sizeof(int), "session lengths");
    s->row_seq = gptc_calloc(ctx, R, sizeof(int), "session rows");
    s->row_pos = gptc_calloc(ctx, R, sizeof(int), "session rows");
    if (!s->block || !s->len || !s->row_seq || !s->row_pos) {
        gptc_session_free(s);
        return GPTC_ENOMEM;
    }
    float *p = s->block;
    float **views[] = {&s->kv, &s->x, &s->ln, &s->mean, &s->rstd, &s->qkv, &s->atty, &s->tmp, &s->fch,
                       &s->scores, &s->logits_rows};
    for (size_t i = 0; i < n_sizes; i++) {
        *views[i] = p;
        p += (sizes[i] + 15) & ~(size_t)15;
    }
    s->bytes = total * sizeof(float);
    *out = s;
    return GPTC_OK;
}

void gptc_session_free(gptc_session *s) {
    if (!s) return;
    gptc_free(s->block);
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
size_t gptc_session_bytes(const gptc_session *s) { return s->bytes; }

gptc_status gptc_session_copy(gptc_ctx *ctx, gptc_session *s, int dst, int src) {
    if (dst < 0 || src < 0 || dst >= s->n_seq || src >= s->n_seq)
        return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d or %d out of range [0, %d)", dst, src, s->n_seq);
    if (dst == src) return GPTC_OK;
    size_t n = (size_t)s->len[src] * (size_t)s->m->cfg.n_embd * sizeof(float);
    for (int l = 0; l < s->m->cfg.n_layer; l++)
        for (int w = 0; w < 2; w++) memcpy(kv_at(s, l, w, dst, 0), kv_at(s, l, w, src, 0), n);
    s->len[dst] = s->len[src];
    return GPTC_OK;
}

/* Attention of one row and head over its sequence's cached positions 0..pos. */
static GPTC_CLONES void attend(float *out, const float *q, const float *K, const float *V, int pos, int C,
                                      int hs, float scale, float *scores) {
    float mx = -INFINITY;
    for (int t = 0; t <= pos; t++) {
        const float *k = K + (size_t)t * C;
        float lanes[8] = {0};
        int i = 0;
        for (; i + 8 <= hs; i += 8)
            for (int u = 0; u < 8; u++) lanes[u] += q[i + u] * k[i + u];
        float d = 0;
        for (; i < hs; i++) d += q[i] * k[i];
        for (int u = 0; u < 8; u++) d += lanes[u];
        d *= scale;
        scores[t] = d;
        if (d > mx) mx = d;
    }
    float z = 0;
    for (int t = 0; t <= pos; t++) scores[t] -= mx;
    gptc_vexp(scores, scores, (size_t)pos + 1);
    for (int t = 0; t <= pos; t++) z += scores[t];
    float inv = 1.0f / z;
    for (int i = 0; i < hs; i++) out[i] = 0;
    for (int t = 0; t <= pos; t++) {
        float w = scores[t] * inv;
        const float *v = V + (size_t)t * C;
        for (int i = 0; i < hs; i++) out[i] += w * v[i];
    }
}

/* out (n, OC) = x (n, C) @ w + b: streaming kernel for few rows, BLAS beyond. */
static void linear(gptc_ctx *ctx, float *out, const float *x, const float *w, const float *b, int n, int C, int OC) {
    if (n <= GPTC_GEMV_MAX_ROWS) k_gemv_conv1d(ctx, out, x, w, b, n, C, OC);
    else k_matmul_forward(ctx, out, x, w, b, n, C, OC);
}

/* Runs n rows (row_seq/row_pos set, tokens given) through the model; writes the logits
 * of rows [first_logit, n) to logits ((n - first_logit), V). */
static void run_rows(gptc_ctx *ctx, gptc_session *s, const int32_t *tokens, int n, int first_logit, float *logits) {
    const gptc_model *m = s->m;
    const gptc_config *c = &m->cfg;
    int C = c->n_embd, NH = c->n_head, hs = C / NH, I = (int)n_inner(c), V = c->vocab_size;
    const float *wte = m->params + m->tensors[0].offset, *wpe = m->params + m->tensors[1].offset;
    for (int r = 0; r < n; r++) {
        const float *te = wte + (size_t)tokens[r] * C, *pe = wpe + (size_t)s->row_pos[r] * C;
        for (int i = 0; i < C; i++) s->x[(size_t)r * C + i] = te[i] + pe[i];
    }
    float scale = 1.0f / sqrtf((float)hs);
    for (int l = 0; l < c->n_layer; l++) {
        const float *W[GPTC_T_PER_LAYER];
        for (int k = 0; k < GPTC_T_PER_LAYER; k++) W[k] = m->params + m->tensors[gptc_layer_tensor(m, l, k)].offset;
        k_layernorm_forward(s->ln, s->mean, s->rstd, s->x, W[GPTC_T_LN1_W], W[GPTC_T_LN1_B], n, C, c->layer_norm_epsilon);
        linear(ctx, s->qkv, s->ln, W[GPTC_T_QKV_W], W[GPTC_T_QKV_B], n, C, 3 * C);
        for (int r = 0; r < n; r++) {
            memcpy(kv_at(s, l, 0, s->row_seq[r], s->row_pos[r]), s->qkv + (size_t)r * 3 * C + C, (size_t)C * sizeof(float));
            memcpy(kv_at(s, l, 1, s->row_seq[r], s->row_pos[r]), s->qkv + (size_t)r * 3 * C + 2 * C, (size_t)C * sizeof(float));
        }
        int work = n * NH;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads) if (work > 1)
        for (int wi = 0; wi < work; wi++) {
            int r = wi / NH, h = wi % NH, tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            attend(s->atty + (size_t)r * C + (size_t)h * hs, s->qkv + (size_t)r * 3 * C + (size_t)h * hs,
                   kv_at(s, l, 0, s->row_seq[r], 0) + (size_t)h * hs, kv_at(s, l, 1, s->row_seq[r], 0) + (size_t)h * hs,
                   s->row_pos[r], C, hs, scale, s->scores + (size_t)tid * s->max_len);
        }
        linear(ctx, s->tmp, s->atty, W[GPTC_T_APROJ_W], W[GPTC_T_APROJ_B], n, C, C);
        k_add_forward(s->x, s->x, s->tmp, (size_t)n * C);
        k_layernorm_forward(s->ln, s->mean, s->rstd, s->x, W[GPTC_T_LN2_W], W[GPTC_T_LN2_B], n, C, c->layer_norm_epsilon);
        linear(ctx, s->fch, s->ln, W[GPTC_T_FC_W], W[GPTC_T_FC_B], n, C, I);
        k_gelu_forward(s->fch, s->fch, (size_t)n * I, !strcmp(c->activation_function, "gelu"));
        linear(ctx, s->tmp, s->fch, W[GPTC_T_MPROJ_W], W[GPTC_T_MPROJ_B], n, I, C);
        k_add_forward(s->x, s->x, s->tmp, (size_t)n * C);
    }
    int nl = n - first_logit;
    size_t tf = gptc_layer_tensor(m, c->n_layer, 0);
    const float *x_last = s->x + (size_t)first_logit * C;
    k_layernorm_forward(s->ln, s->mean, s->rstd, x_last, m->params + m->tensors[tf].offset,
                        m->params + m->tensors[tf + 1].offset, nl, C, c->layer_norm_epsilon);
    const float *head = c->tie_word_embeddings ? wte : m->params + m->tensors[m->n_tensors - 1].offset;
    if (nl <= GPTC_GEMV_MAX_ROWS) k_gemv_lmhead(ctx, logits, s->ln, head, nl, C, V);
    else k_lmhead_forward(ctx, logits, s->ln, head, nl, C, V);
}

static gptc_status check_tokens(gptc_ctx *ctx, const gptc_session *s, const int32_t *tokens, int n) {
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= s->m->cfg.vocab_size)
            return gptc_fail(ctx, GPTC_ERANGE, "token id %d at position %d is out of range [0, %d)", tokens[i], i,
                             s->m->cfg.vocab_size);
    return GPTC_OK;
}

gptc_status gptc_session_prefill(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n,
                                 float *logits) {
    if (seq < 0 || seq >= s->n_seq)
        return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d out of range [0, %d)", seq, s->n_seq);
    if (n < 1) return gptc_fail(ctx, GPTC_EINVAL, "session: prefill needs at least one token");
    if (s->len[seq] + n > s->max_len)
        return gptc_fail(ctx, GPTC_ERANGE, "session: %d + %d tokens exceed the context of %d tokens", s->len[seq], n,
                         s->max_len);
    gptc_status st = check_tokens(ctx, s, tokens, n);
    if (st) return st;
#ifdef _OPENMP
    omp_set_num_threads(ctx->n_threads);
#endif
    for (int done = 0; done < n;) {
        int k = n - done < s->rows ? n - done : s->rows;
        for (int r = 0; r < k; r++) {
            s->row_seq[r] = seq;
            s->row_pos[r] = s->len[seq] + r;
        }
        int last = done + k == n;
        run_rows(ctx, s, tokens + done, k, k - 1, last && logits ? logits : s->logits_rows);
        s->len[seq] += k;
        done += k;
    }
    return GPTC_OK;
}

gptc_status gptc_session_step(gptc_ctx *ctx, gptc_session *s, const int *seqs, const int32_t *tokens, int n,
                              float *logits) {
    if (n < 1 || n > s->n_seq) return gptc_fail(ctx, GPTC_EINVAL, "session: step of %d sequences (1..%d)", n, s->n_seq);
    gptc_status st = check_tokens(ctx, s, tokens, n);
    if (st) return st;
    for (int r = 0; r < n; r++) {
        int q = seqs[r];
        if (q < 0 || q >= s->n_seq) return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d out of range", q);
        for (int j = 0; j < r; j++)
            if (seqs[j] == q) return gptc_fail(ctx, GPTC_EINVAL, "session: sequence %d appears twice in one step", q);
        if (s->len[q] + 1 > s->max_len)
            return gptc_fail(ctx, GPTC_ERANGE, "session: sequence %d is full (%d tokens)", q, s->max_len);
        s->row_seq[r] = q;
        s->row_pos[r] = s->len[q];
    }
#ifdef _OPENMP
    omp_set_num_threads(ctx->n_threads);
#endif
    run_rows(ctx, s, tokens, n, 0, logits ? logits : s->logits_rows);
    for (int r = 0; r < n; r++) s->len[seqs[r]]++;
    return GPTC_OK;
}
