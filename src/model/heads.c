/* heads.c: the heads on the final hidden states, a function table per kind, as Hugging
 * Face's GPT-2 classes compute them: GPT2LMHeadModel (logits over the vocabulary, tied
 * to wte or lm_head, mean cross-entropy), GPT2ForSequenceClassification (score on the
 * last non-pad token, cross-entropy with optional class weights) and
 * GPT2ForQuestionAnswering (qa_outputs: start and end logits, positions clamped to
 * [0, T] with T ignored). Each also gives per-row logits for KV-cache sessions. */
#include "model.h"
#include <math.h>
#include <string.h>

/* -log softmax(z)[y] over n logits with stride, and optionally the softmax into p. */
static double nll(const float *z, int n, int stride, int y, double *p) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, z[(size_t)i * stride]);
    for (int i = 0; i < n; i++) sum += exp(z[(size_t)i * stride] - mx);
    if (p)
        for (int i = 0; i < n; i++) p[i] = exp(z[(size_t)i * stride] - mx) / sum;
    return log(sum) + mx - z[(size_t)y * stride];
}

/* ------------------------------------------------------------------ LM */

static gptc_wdesc lm_weight(const gptc_model *m) {
    return gptc_weight(m, m->g.head_w >= 0 ? m->g.head_w : m->g.wte);
}
static int lm_width(const gptc_config *c) { return c->vocab_size; }
static size_t lm_floats(const gptc_config *c, int B, int T) { return (size_t)B * T * c->vocab_size; }

/* logits = h W^T (+ Marian's final_logits_bias) */
static void lm_rows(gptc_ctx *ctx, const gptc_model *m, const float *h, int n, float *out) {
    gptc_wdesc w = lm_weight(m);
    gptc_ops_of(ctx)->linear(ctx, out, h, &w, gptc_param(m, m->g.head_b), n);
}

/* Label smoothing eps (torch's CrossEntropyLoss): per counted row, (1 - eps) nll +
 * eps * mean_c(-log p_c), and -log p_c = lse - z_c with lse = nll + z_y, so the smoothed
 * loss is nll + eps * (z_y - mean_c z_c). */
static double smooth_term(const float *z, int V, int y) {
    double sum = 0;
    for (int c = 0; c < V; c++) sum += z[c];
    return z[y] - sum / V;
}

static gptc_status lm_forward(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                              const int32_t *targets, int B, int T, float *logits, float *loss) {
    const gptc_model *m = ws->m;
    const gptc_ops *ops = gptc_ops_of(ctx);
    int N = B * T, V = m->cfg.vocab_size;
    lm_rows(ctx, m, h, N, logits);
    if (targets) {
        int n_valid = ops->crossentropy_forward(ctx, ws->losses, logits, targets, N, V);
        double sum = 0, eps = ws->label_smoothing;
        for (int i = 0; i < N; i++) {
            if (eps > 0 && targets[i] != -100)
                ws->losses[i] += (float)(eps * smooth_term(logits + (size_t)i * V, V, targets[i]));
            sum += ws->losses[i];
        }
        ws->last_n_valid = n_valid;
        /* PyTorch's mean over zero valid targets is NaN; so is ours */
        if (loss) *loss = n_valid ? (float)(sum / n_valid) : NAN;
    }
    return GPTC_OK;
}

static void lm_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                        int B, int T, float loss_scale) {
    const gptc_model *m = ws->m;
    const gptc_ops *ops = gptc_ops_of(ctx);
    int N = B * T, C = m->cfg.n_embd, V = m->cfg.vocab_size;
    /* loss = mean over valid positions, times loss_scale */
    float dloss = ws->last_n_valid ? loss_scale / (float)ws->last_n_valid : 0.0f;
    ops->crossentropy_backward(ctx, dlogits, dlogits, ws->last_targets, N, V, dloss);
    if (ws->label_smoothing > 0) {
        /* d/dz of eps * (z_y - mean z): eps * (onehot - 1/V) */
        float e = ws->label_smoothing * dloss, ev = e / (float)V;
        for (int i = 0; i < N; i++) {
            int y = ws->last_targets[i];
            if (y == -100) continue;
            float *dz = dlogits + (size_t)i * V;
            for (int c = 0; c < V; c++) dz[c] -= ev;
            dz[y] += e;
        }
    }
    memset(dh, 0, (size_t)N * C * sizeof(float));
    gptc_wdesc w = lm_weight(m);
    ops->linear_backward(ctx, dh, gptc_grad(g, m->g.head_w >= 0 ? m->g.head_w : m->g.wte), gptc_grad(g, m->g.head_b),
                         dlogits, h, &w, N);
}

/* ------------------------------------------------------------------ sequence classification */

/* Cross-entropy of B rows of L logits against labels (-100 ignored), weighted by the
 * class weights when set: sum w_y l / sum w_y, NaN when nothing counts (as torch). */
static gptc_status cls_loss(gptc_ctx *ctx, gptc_workspace *ws, const float *logits, const int32_t *targets, int B, int L,
                            float *loss) {
    double sum = 0, wsum = 0;
    if (L == 1) {
        /* regression (transformers: num_labels 1): MSELoss(logits.squeeze(), labels.squeeze()),
         * the mean over the rows of the float labels (gptc_regression_value) */
        for (int b = 0; b < B; b++) {
            double d = (double)logits[b] - gptc_regression_value(targets[b]);
            sum += d * d;
        }
        if (loss) *loss = (float)(sum / B);
        ws->last_n_valid = B > 0;
        return GPTC_OK;
    }
    for (int b = 0; b < B; b++) {
        if (targets[b] == -100) continue;
        if (targets[b] < 0 || targets[b] >= L)
            return gptc_fail(ctx, GPTC_ERANGE, "label %d of row %d is out of range [0, %d)", targets[b], b, L);
        double wy = ws->class_weights ? ws->class_weights[targets[b]] : 1.0;
        sum += wy * nll(logits + (size_t)b * L, L, 1, targets[b], NULL);
        wsum += wy;
    }
    if (loss) *loss = (float)(sum / wsum);
    ws->last_n_valid = (int)(wsum > 0);
    return GPTC_OK;
}

/* dlogits (B, L) over the logits in place: d (loss_scale * cls_loss) / d logits */
static void cls_dlogits(const gptc_workspace *ws, float *dlogits, int B, int L, float loss_scale) {
    const int32_t *targets = ws->last_targets;
    const float *cw = ws->class_weights;
    double p[GPTC_MAX_LABELS], wsum = 0;
    if (L == 1) { /* d mean (z - y)^2 / dz = 2 (z - y) / B */
        for (int b = 0; b < B; b++)
            dlogits[b] = (float)(2.0 * ((double)dlogits[b] - gptc_regression_value(targets[b])) / B * loss_scale);
        return;
    }
    for (int b = 0; b < B; b++)
        if (targets[b] != -100) wsum += cw ? cw[targets[b]] : 1.0;
    for (int b = 0; b < B; b++) {
        float *dz = dlogits + (size_t)b * L;
        if (targets[b] == -100 || wsum == 0) {
            memset(dz, 0, (size_t)L * sizeof *dz);
            continue;
        }
        nll(dz, L, 1, targets[b], p);
        double scale = (cw ? cw[targets[b]] : 1.0) / wsum * loss_scale;
        for (int k = 0; k < L; k++) dz[k] = (float)((p[k] - (k == targets[b])) * scale);
    }
}

static int cls_width(const gptc_config *c) { return c->num_labels; }
static size_t cls_floats(const gptc_config *c, int B, int T) { return (size_t)B * c->num_labels; }

static void cls_row(const gptc_model *m, const float *x, float *out) {
    int C = m->cfg.n_embd, L = m->cfg.num_labels;
    const float *w = gptc_param(m, m->g.head_w);
    for (int k = 0; k < L; k++) {
        double s = 0;
        for (int i = 0; i < C; i++) s += (double)x[i] * w[(size_t)k * C + i];
        out[k] = (float)s;
    }
}

static void cls_rows(gptc_ctx *ctx, const gptc_model *m, const float *h, int n, float *out) {
    for (int r = 0; r < n; r++) cls_row(m, h + (size_t)r * m->cfg.n_embd, out + (size_t)r * m->cfg.num_labels);
}

static gptc_status cls_forward(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                               const int32_t *targets, int B, int T, float *logits, float *loss) {
    const gptc_config *c = &ws->m->cfg;
    int C = c->n_embd, L = c->num_labels;
    for (int b = 0; b < B; b++) {
        /* Hugging Face: argmax over t of t * (token != pad): the last non-pad token */
        int idx = T - 1;
        if (c->pad_token_id >= 0) {
            idx = 0;
            for (int t = 0; t < T; t++)
                if (tokens[(size_t)b * T + t] != c->pad_token_id) idx = t;
        }
        ws->cls_index[b] = idx;
        cls_row(ws->m, h + ((size_t)b * T + idx) * C, logits + (size_t)b * L);
    }
    return targets ? cls_loss(ctx, ws, logits, targets, B, L, loss) : GPTC_OK;
}

static void cls_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                         int B, int T, float loss_scale) {
    const gptc_model *m = ws->m;
    int C = m->cfg.n_embd, L = m->cfg.num_labels;
    const int32_t *targets = ws->last_targets;
    memset(dh, 0, (size_t)B * T * C * sizeof(float));
    const float *w = gptc_param(m, m->g.head_w);
    float *dw = gptc_grad(g, m->g.head_w);
    cls_dlogits(ws, dlogits, B, L, loss_scale);
    for (int b = 0; b < B; b++) {
        float *dz = dlogits + (size_t)b * L;
        if (targets[b] == -100 && L > 1) continue;
        const float *x = h + ((size_t)b * T + ws->cls_index[b]) * C;
        float *dx = dh + ((size_t)b * T + ws->cls_index[b]) * C;
        for (int k = 0; k < L; k++) {
            for (int i = 0; i < C; i++) dx[i] += dz[k] * w[(size_t)k * C + i];
            if (dw)
                for (int i = 0; i < C; i++) dw[(size_t)k * C + i] += dz[k] * x[i];
        }
    }
}

/* ------------------------------------------------------------------ question answering */

static int qa_width(const gptc_config *c) { return 2; }
static size_t qa_floats(const gptc_config *c, int B, int T) { return (size_t)B * T * 2; }

static void qa_rows(gptc_ctx *ctx, const gptc_model *m, const float *h, int n, float *out) {
    int C = m->cfg.n_embd;
    const float *w = gptc_param(m, m->g.head_w), *bias = gptc_param(m, m->g.head_b);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < 2; k++) {
            double s = bias[k];
            for (int i = 0; i < C; i++) s += (double)h[(size_t)r * C + i] * w[(size_t)k * C + i];
            out[(size_t)r * 2 + k] = (float)s;
        }
}

static int qa_clamp(int y, int T) { return y < 0 ? 0 : y > T ? T : y; }

static gptc_status qa_forward(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                              const int32_t *targets, int B, int T, float *logits, float *loss) {
    qa_rows(ctx, ws->m, h, B * T, logits);
    if (targets) {
        double part[2] = {0, 0};
        int cnt[2] = {0, 0};
        for (int b = 0; b < B; b++)
            for (int k = 0; k < 2; k++) {
                int y = qa_clamp(targets[b * 2 + k], T);
                if (y == T) continue;
                part[k] += nll(logits + (size_t)b * T * 2 + k, T, 2, y, NULL);
                cnt[k]++;
            }
        if (loss) *loss = (float)((part[0] / cnt[0] + part[1] / cnt[1]) / 2);
        ws->last_n_valid = cnt[0] + cnt[1];
    }
    return GPTC_OK;
}

static void qa_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                        int B, int T, float loss_scale) {
    const gptc_model *m = ws->m;
    int C = m->cfg.n_embd;
    const int32_t *targets = ws->last_targets;
    memset(dh, 0, (size_t)B * T * C * sizeof(float));
    const float *w = gptc_param(m, m->g.head_w);
    float *dw = gptc_grad(g, m->g.head_w), *db = gptc_grad(g, m->g.head_b);
    int cnt[2] = {0, 0};
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 2; k++) cnt[k] += qa_clamp(targets[b * 2 + k], T) != T;
    double *pt = ws->head_tmp; /* T doubles */
    for (int b = 0; b < B; b++) {
        float *z = dlogits + (size_t)b * T * 2;
        for (int k = 0; k < 2; k++) {
            int y = qa_clamp(targets[b * 2 + k], T);
            if (y == T || !cnt[k]) {
                for (int t = 0; t < T; t++) z[t * 2 + k] = 0;
                continue;
            }
            nll(z + k, T, 2, y, pt);
            double scale = 0.5 * loss_scale / cnt[k];
            for (int t = 0; t < T; t++) z[t * 2 + k] = (float)((pt[t] - (t == y)) * scale);
        }
    }
    size_t N = (size_t)B * T;
    for (size_t n = 0; n < N; n++)
        for (int k = 0; k < 2; k++) {
            float gk = dlogits[n * 2 + k];
            if (gk == 0) continue;
            for (int i = 0; i < C; i++) dh[n * C + i] += gk * w[(size_t)k * C + i];
            if (dw)
                for (int i = 0; i < C; i++) dw[(size_t)k * C + i] += gk * h[n * C + i];
            if (db) db[k] += gk;
        }
}

/* ------------------------------------------------------------------ BERT
 * BertForPreTraining: MLM logits = LN(act(dense(h))) @ wte^T (or the untied decoder) +
 * cls.predictions.bias on every position; NSP logits = seq_relationship(pooled), pooled
 * = tanh(pooler(h[CLS])). Loss = mean CE over labelled positions + mean CE over
 * labelled sequences (targets: (B, T) MLM labels then (B) NSP labels, -100 ignored).
 * BertForMaskedLM (mlm_only): the MLM part alone. BertForSequenceClassification:
 * classifier(dropout(pooled)). BertForQuestionAnswering is GPT-2's QA head on h. */

typedef struct bert_scr {
    float *hx, *hact, *hln, *hmean, *hrstd, *d1, *d2; /* MLM transform: dense, act, norm; backward */
    float *cls, *pooled, *pooled_d, *dcls, *dpool;   /* [CLS] rows, tanh(pooler), after dropout */
} bert_scr;

static size_t bert_layout(const gptc_config *c, int B, int T, float *base, bert_scr *s) {
    size_t N = (size_t)B * T, C = c->n_embd, off = 0;
    int mlm = c->head == GPTC_HEAD_LM, pool = c->head == GPTC_HEAD_CLASSIFY || (mlm && !c->mlm_only);
    float *dummy;
#define TAKE(f, n)                                                                                                   \
    do {                                                                                                             \
        float **p_ = base ? &s->f : &dummy;                                                                          \
        *p_ = base ? base + off : NULL;                                                                              \
        off += ((size_t)(n) + 15) & ~(size_t)15;                                                                     \
    } while (0)
    if (mlm) {
        TAKE(hx, N * C);
        TAKE(hact, N * C);
        TAKE(hln, N * C);
        TAKE(hmean, N);
        TAKE(hrstd, N);
        TAKE(d1, N * C);
        TAKE(d2, N * C);
    }
    if (pool) {
        TAKE(cls, B * C);
        TAKE(pooled, B * C);
        TAKE(pooled_d, B * C);
        TAKE(dcls, B * C);
        TAKE(dpool, B * C);
    }
#undef TAKE
    (void)dummy;
    return off;
}
static size_t bert_scratch(const gptc_config *c, int B, int T) {
    bert_scr s;
    return bert_layout(c, B, T, NULL, &s);
}
static bert_scr scr_of(const gptc_workspace *ws) {
    bert_scr s;
    memset(&s, 0, sizeof s);
    bert_layout(&ws->m->cfg, ws->max_B, ws->max_T, ws->head_acts, &s);
    return s;
}

static gptc_wdesc decoder_weight(const gptc_model *m) { return lm_weight(m); }

/* pooled = tanh(pooler(h[b, 0])) for b < B; the [CLS] rows gathered into s->cls */
static void pool_forward(gptc_ctx *ctx, const gptc_model *m, const bert_scr *s, const float *h, int B, int T) {
    int C = m->cfg.n_embd;
    for (int b = 0; b < B; b++) memcpy(s->cls + (size_t)b * C, h + (size_t)b * T * C, (size_t)C * sizeof(float));
    gptc_wdesc w = gptc_weight(m, m->g.pool_w);
    gptc_ops_of(ctx)->linear(ctx, s->pooled, s->cls, &w, gptc_param(m, m->g.pool_b), B);
    for (size_t i = 0; i < (size_t)B * C; i++) s->pooled[i] = tanhf(s->pooled[i]);
}

/* from dpool (d loss / d pooled): pooler gradients, and dh[b, 0] += d loss / d h[CLS] */
static void pool_backward(gptc_ctx *ctx, const gptc_model *m, gptc_grads *g, const bert_scr *s, float *dh, int B,
                          int T) {
    int C = m->cfg.n_embd;
    for (size_t i = 0; i < (size_t)B * C; i++) s->dpool[i] *= 1.0f - s->pooled[i] * s->pooled[i];
    memset(s->dcls, 0, (size_t)B * C * sizeof(float));
    gptc_wdesc w = gptc_weight(m, m->g.pool_w);
    gptc_ops_of(ctx)->linear_backward(ctx, s->dcls, gptc_grad(g, m->g.pool_w), gptc_grad(g, m->g.pool_b), s->dpool,
                                      s->cls, &w, B);
    for (int b = 0; b < B; b++) {
        float *d = dh + (size_t)b * T * C;
        for (int i = 0; i < C; i++) d[i] += s->dcls[(size_t)b * C + i];
    }
}

static int pre_width(const gptc_config *c) { return c->vocab_size; }
static size_t pre_floats(const gptc_config *c, int B, int T) {
    return (size_t)B * T * c->vocab_size + (c->mlm_only ? 0 : 2 * (size_t)B);
}

static gptc_status pre_forward(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                               const int32_t *targets, int B, int T, float *logits, float *loss) {
    const gptc_model *m = ws->m;
    const gptc_config *c = &m->cfg;
    const gptc_ops *ops = gptc_ops_of(ctx);
    bert_scr s = scr_of(ws);
    int N = B * T, C = c->n_embd, V = c->vocab_size;
    gptc_wdesc wt = gptc_weight(m, m->g.mlm_w), wd = decoder_weight(m);
    ops->linear(ctx, s.hx, h, &wt, gptc_param(m, m->g.mlm_b), N);
    ops->act_forward(ctx, s.hact, s.hx, (size_t)N * C, m->opts.act);
    ops->layernorm_forward(ctx, s.hln, s.hmean, s.hrstd, s.hact, gptc_param(m, m->g.mlm_ln_w),
                           gptc_param(m, m->g.mlm_ln_b), N, C, c->layer_norm_epsilon);
    ops->linear(ctx, logits, s.hln, &wd, gptc_param(m, m->g.mlm_bias), N);
    float *nsp = logits + (size_t)N * V;
    if (!c->mlm_only) {
        pool_forward(ctx, m, &s, h, B, T);
        gptc_wdesc wn = gptc_weight(m, m->g.nsp_w);
        ops->linear(ctx, nsp, s.pooled, &wn, gptc_param(m, m->g.nsp_b), B);
    }
    if (!targets) return GPTC_OK;
    int n_valid = ops->crossentropy_forward(ctx, ws->losses, logits, targets, N, V);
    double sum = 0;
    for (int i = 0; i < N; i++) sum += ws->losses[i];
    ws->last_n_valid = n_valid;
    ws->mlm_sum = sum;
    ws->mlm_n = n_valid;
    double total = n_valid ? sum / n_valid : NAN; /* torch's mean over nothing */
    ws->nsp_sum = 0;
    ws->nsp_n = 0;
    if (!c->mlm_only) {
        const int32_t *y = targets + N;
        for (int b = 0; b < B; b++) {
            if (y[b] == -100) continue;
            if (y[b] != 0 && y[b] != 1)
                return gptc_fail(ctx, GPTC_ERANGE, "next_sentence_label %d of row %d is not 0, 1 or -100", y[b], b);
            ws->nsp_sum += nll(nsp + 2 * (size_t)b, 2, 1, y[b], NULL);
            ws->nsp_n++;
        }
        total += ws->nsp_n ? ws->nsp_sum / ws->nsp_n : NAN;
    }
    if (loss) *loss = (float)total;
    return GPTC_OK;
}

static void pre_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                         int B, int T, float loss_scale) {
    const gptc_model *m = ws->m;
    const gptc_config *c = &m->cfg;
    const gptc_ops *ops = gptc_ops_of(ctx);
    bert_scr s = scr_of(ws);
    int N = B * T, C = c->n_embd, V = c->vocab_size;
    memset(dh, 0, (size_t)N * C * sizeof(float));
    if (!c->mlm_only) {
        /* NSP: dz = (softmax - onehot) / n * scale, over the logits after the MLM ones */
        float *dz = dlogits + (size_t)N * V;
        const int32_t *y = ws->last_targets + N;
        double p[2];
        for (int b = 0; b < B; b++) {
            float *z = dz + 2 * (size_t)b;
            if (y[b] == -100 || !ws->nsp_n) {
                z[0] = z[1] = 0;
                continue;
            }
            nll(z, 2, 1, y[b], p);
            for (int k = 0; k < 2; k++) z[k] = (float)((p[k] - (k == y[b])) * loss_scale / ws->nsp_n);
        }
        memset(s.dpool, 0, (size_t)B * C * sizeof(float));
        gptc_wdesc wn = gptc_weight(m, m->g.nsp_w);
        ops->linear_backward(ctx, s.dpool, gptc_grad(g, m->g.nsp_w), gptc_grad(g, m->g.nsp_b), dz, s.pooled, &wn, B);
        pool_backward(ctx, m, g, &s, dh, B, T);
    }
    float dloss = ws->mlm_n ? loss_scale / (float)ws->mlm_n : 0.0f;
    ops->crossentropy_backward(ctx, dlogits, dlogits, ws->last_targets, N, V, dloss);
    gptc_wdesc wd = decoder_weight(m), wt = gptc_weight(m, m->g.mlm_w);
    memset(s.d1, 0, (size_t)N * C * sizeof(float));
    ops->linear_backward(ctx, s.d1, gptc_grad(g, m->g.head_w >= 0 ? m->g.head_w : m->g.wte),
                         gptc_grad(g, m->g.mlm_bias), dlogits, s.hln, &wd, N);
    memset(s.d2, 0, (size_t)N * C * sizeof(float));
    ops->layernorm_backward(ctx, s.d2, gptc_grad(g, m->g.mlm_ln_w), gptc_grad(g, m->g.mlm_ln_b), s.d1, s.hact,
                            gptc_param(m, m->g.mlm_ln_w), s.hmean, s.hrstd, N, C);
    memset(s.d1, 0, (size_t)N * C * sizeof(float));
    ops->act_backward(ctx, s.d1, s.hx, s.d2, (size_t)N * C, m->opts.act);
    ops->linear_backward(ctx, dh, gptc_grad(g, m->g.mlm_w), gptc_grad(g, m->g.mlm_b), s.d1, h, &wt, N);
}

/* classifier(dropout(pooled)); dropout p = classifier_dropout, else hidden_dropout_prob */
static float cls_drop(const gptc_workspace *ws) {
    const gptc_config *c = &ws->m->cfg;
    return !ws->dropout_on ? 0.0f : c->classifier_dropout >= 0 ? c->classifier_dropout : c->resid_pdrop;
}
static uint64_t cls_seed(const gptc_workspace *ws) {
    return gptc_site_seed(ws, ws->last_call, 1 + 7 * (uint64_t)ws->m->cfg.n_layer);
}

static gptc_status bcls_forward(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                                const int32_t *targets, int B, int T, float *logits, float *loss) {
    const gptc_model *m = ws->m;
    const gptc_ops *ops = gptc_ops_of(ctx);
    bert_scr s = scr_of(ws);
    int C = m->cfg.n_embd, L = m->cfg.num_labels;
    pool_forward(ctx, m, &s, h, B, T);
    memcpy(s.pooled_d, s.pooled, (size_t)B * C * sizeof(float));
    ops->dropout(ctx, s.pooled_d, (size_t)B * C, cls_drop(ws), cls_seed(ws), 0);
    gptc_wdesc w = gptc_weight(m, m->g.head_w);
    ops->linear(ctx, logits, s.pooled_d, &w, gptc_param(m, m->g.head_b), B);
    for (int b = 0; b < B; b++) ws->cls_index[b] = 0;
    return targets ? cls_loss(ctx, ws, logits, targets, B, L, loss) : GPTC_OK;
}

static void bcls_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                          int B, int T, float loss_scale) {
    const gptc_model *m = ws->m;
    const gptc_ops *ops = gptc_ops_of(ctx);
    bert_scr s = scr_of(ws);
    int C = m->cfg.n_embd, L = m->cfg.num_labels;
    memset(dh, 0, (size_t)B * T * C * sizeof(float));
    cls_dlogits(ws, dlogits, B, L, loss_scale);
    memset(s.dpool, 0, (size_t)B * C * sizeof(float));
    gptc_wdesc w = gptc_weight(m, m->g.head_w);
    ops->linear_backward(ctx, s.dpool, gptc_grad(g, m->g.head_w), gptc_grad(g, m->g.head_b), dlogits, s.pooled_d, &w, B);
    ops->dropout(ctx, s.dpool, (size_t)B * C, cls_drop(ws), cls_seed(ws), 0);
    pool_backward(ctx, m, g, &s, dh, B, T);
}

static const gptc_head_ops heads[GPTC_HEAD_COUNT] = {
    {GPTC_HEAD_LM, "GPT2LMHeadModel", lm_width, lm_floats, lm_forward, lm_backward, lm_rows, NULL},
    {GPTC_HEAD_CLASSIFY, "GPT2ForSequenceClassification", cls_width, cls_floats, cls_forward, cls_backward, cls_rows,
     NULL},
    {GPTC_HEAD_QA, "GPT2ForQuestionAnswering", qa_width, qa_floats, qa_forward, qa_backward, qa_rows, NULL},
};
static const gptc_head_ops bert_heads[GPTC_HEAD_COUNT] = {
    {GPTC_HEAD_LM, "BertForPreTraining", pre_width, pre_floats, pre_forward, pre_backward, NULL, bert_scratch},
    {GPTC_HEAD_CLASSIFY, "BertForSequenceClassification", cls_width, cls_floats, bcls_forward, bcls_backward, NULL,
     bert_scratch},
    {GPTC_HEAD_QA, "BertForQuestionAnswering", qa_width, qa_floats, qa_forward, qa_backward, qa_rows, NULL},
};

static const gptc_head_ops marian_head = {GPTC_HEAD_LM, "MarianMTModel", lm_width, lm_floats, lm_forward, lm_backward,
                                          lm_rows, NULL};

const gptc_head_ops *gptc_head_for(const gptc_config *c) {
    int head = c->head >= 0 && c->head < GPTC_HEAD_COUNT ? c->head : GPTC_HEAD_LM;
    if (c->arch == GPTC_ARCH_MARIAN) return &marian_head; /* MarianMTModel: the LM head only (validated) */
    return c->arch == GPTC_ARCH_BERT ? &bert_heads[head] : &heads[head];
}
