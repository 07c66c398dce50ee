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

static void lm_rows(gptc_ctx *ctx, const gptc_model *m, const float *h, int n, float *out) {
    gptc_wdesc w = lm_weight(m);
    gptc_ops_of(ctx)->linear(ctx, out, h, &w, NULL, n);
}

static gptc_status lm_forward(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                              const int32_t *targets, int B, int T, float *logits, float *loss) {
    const gptc_model *m = ws->m;
    const gptc_ops *ops = gptc_ops_of(ctx);
    int N = B * T, V = m->cfg.vocab_size;
    lm_rows(ctx, m, h, N, logits);
    if (targets) {
        int n_valid = ops->crossentropy_forward(ctx, ws->losses, logits, targets, N, V);
        double sum = 0;
        for (int i = 0; i < N; i++) sum += ws->losses[i];
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
    memset(dh, 0, (size_t)N * C * sizeof(float));
    gptc_wdesc w = lm_weight(m);
    ops->linear_backward(ctx, dh, gptc_grad(g, m->g.head_w >= 0 ? m->g.head_w : m->g.wte), NULL, dlogits, h, &w, N);
}

/* ------------------------------------------------------------------ sequence classification */

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
    double sum = 0, wsum = 0;
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
        if (targets && targets[b] != -100) {
            if (targets[b] < 0 || targets[b] >= L)
                return gptc_fail(ctx, GPTC_ERANGE, "label %d of row %d is out of range [0, %d)", targets[b], b, L);
            double wy = ws->class_weights ? ws->class_weights[targets[b]] : 1.0;
            sum += wy * nll(logits + (size_t)b * L, L, 1, targets[b], NULL);
            wsum += wy;
        }
    }
    if (targets && loss) *loss = (float)(sum / wsum); /* NaN when nothing counts, as torch */
    ws->last_n_valid = (int)(wsum > 0);
    return GPTC_OK;
}

static void cls_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                         int B, int T, float loss_scale) {
    const gptc_model *m = ws->m;
    int C = m->cfg.n_embd, L = m->cfg.num_labels;
    const int32_t *targets = ws->last_targets;
    const float *cw = ws->class_weights;
    double p[GPTC_MAX_LABELS];
    memset(dh, 0, (size_t)B * T * C * sizeof(float));
    const float *w = gptc_param(m, m->g.head_w);
    float *dw = gptc_grad(g, m->g.head_w);
    double wsum = 0;
    for (int b = 0; b < B; b++)
        if (targets[b] != -100) wsum += cw ? cw[targets[b]] : 1.0;
    for (int b = 0; b < B; b++) {
        float *dz = dlogits + (size_t)b * L;
        if (targets[b] == -100 || wsum == 0) {
            memset(dz, 0, (size_t)L * sizeof *dz);
            continue;
        }
        nll(dlogits + (size_t)b * L, L, 1, targets[b], p);
        double scale = (cw ? cw[targets[b]] : 1.0) / wsum * loss_scale;
        for (int k = 0; k < L; k++) dz[k] = (float)((p[k] - (k == targets[b])) * scale);
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

static const gptc_head_ops heads[GPTC_HEAD_COUNT] = {
    {GPTC_HEAD_LM, "GPT2LMHeadModel", lm_width, lm_floats, lm_forward, lm_backward, lm_rows},
    {GPTC_HEAD_CLASSIFY, "GPT2ForSequenceClassification", cls_width, cls_floats, cls_forward, cls_backward, cls_rows},
    {GPTC_HEAD_QA, "GPT2ForQuestionAnswering", qa_width, qa_floats, qa_forward, qa_backward, qa_rows},
};

const gptc_head_ops *gptc_head_for(int head) {
    return head >= 0 && head < GPTC_HEAD_COUNT ? &heads[head] : &heads[GPTC_HEAD_LM];
}
