/* heads.c: task heads on the transformer's final hidden states, as Hugging Face's
 * GPT2ForSequenceClassification (score on the last non-pad token, cross-entropy with
 * optional class weights) and GPT2ForQuestionAnswering (qa_outputs: start and end
 * logits, positions clamped to [0, T] with T ignored). The LM head is in gpt2.c. */
#include "model.h"
#include "../kernels/kernels.h"
#include <math.h>
#include <string.h>

size_t gptc_head_logits_floats(const gptc_config *c, int B, int T) {
    switch (c->head) {
    case GPTC_HEAD_CLASSIFY: return (size_t)B * (size_t)c->num_labels;
    case GPTC_HEAD_QA: return (size_t)B * (size_t)T * 2;
    default: return (size_t)B * (size_t)T * (size_t)c->vocab_size;
    }
}

/* -log softmax(z)[y] over n logits with stride, and optionally the softmax into p. */
static double nll(const float *z, int n, int stride, int y, double *p) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, z[(size_t)i * stride]);
    for (int i = 0; i < n; i++) sum += exp(z[(size_t)i * stride] - mx);
    if (p)
        for (int i = 0; i < n; i++) p[i] = exp(z[(size_t)i * stride] - mx) / sum;
    return log(sum) + mx - z[(size_t)y * stride];
}

gptc_status gptc_model_set_class_weights(gptc_ctx *ctx, gptc_model *m, const float *w) {
    if (m->cfg.head != GPTC_HEAD_CLASSIFY)
        return gptc_fail(ctx, GPTC_EINVAL, "class weights need a classification model");
    gptc_free(m->class_weights);
    m->class_weights = NULL;
    if (!w) return GPTC_OK;
    m->class_weights = gptc_alloc(ctx, (size_t)m->cfg.num_labels * sizeof(float), "class weights");
    if (!m->class_weights) return GPTC_ENOMEM;
    for (int i = 0; i < m->cfg.num_labels; i++) {
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return gptc_fail(ctx, GPTC_EINVAL, "class weight %d = %g must be finite and >= 0", i, (double)w[i]);
        m->class_weights[i] = w[i];
    }
    return GPTC_OK;
}

static const float *head_w(const gptc_model *m, const char *name) {
    long i = gptc_model_find(m, name);
    return i < 0 ? NULL : m->params + m->tensors[i].offset;
}
static float *head_g(const gptc_model *m, const char *name) {
    long i = gptc_model_find(m, name);
    return i < 0 || !m->grads || !m->tensors[i].trainable ? NULL : m->grads + m->tensors[i].offset;
}

gptc_status gptc_head_forward(gptc_ctx *ctx, gptc_model *m, const float *h, const int32_t *tokens,
                              const int32_t *targets, int B, int T, float *logits, float *loss) {
    const gptc_config *c = &m->cfg;
    int C = c->n_embd;
    if (c->head == GPTC_HEAD_CLASSIFY) {
        int L = c->num_labels;
        const float *w = head_w(m, "score.weight");
        double sum = 0, wsum = 0;
        for (int b = 0; b < B; b++) {
            /* Hugging Face: argmax over t of t * (token != pad): the last non-pad token */
            int idx = T - 1;
            if (c->pad_token_id >= 0) {
                idx = 0;
                for (int t = 0; t < T; t++)
                    if (tokens[(size_t)b * T + t] != c->pad_token_id) idx = t;
            }
            m->cls_index[b] = idx;
            const float *x = h + ((size_t)b * T + idx) * C;
            for (int k = 0; k < L; k++) {
                double s = 0;
                for (int i = 0; i < C; i++) s += (double)x[i] * w[(size_t)k * C + i];
                logits[(size_t)b * L + k] = (float)s;
            }
            if (targets && targets[b] != -100) {
                if (targets[b] < 0 || targets[b] >= L)
                    return gptc_fail(ctx, GPTC_ERANGE, "label %d of row %d is out of range [0, %d)", targets[b], b, L);
                double wy = m->class_weights ? m->class_weights[targets[b]] : 1.0;
                sum += wy * nll(logits + (size_t)b * L, L, 1, targets[b], NULL);
                wsum += wy;
            }
        }
        if (targets && loss) *loss = (float)(sum / wsum); /* NaN when nothing counts, as torch */
        m->last_n_valid = (int)(wsum > 0);
        return GPTC_OK;
    }
    /* QA: logits (N, 2) = h @ qa_outputs.weight^T + bias */
    const float *w = head_w(m, "qa_outputs.weight"), *bias = head_w(m, "qa_outputs.bias");
    size_t N = (size_t)B * T;
    for (size_t n = 0; n < N; n++)
        for (int k = 0; k < 2; k++) {
            double s = bias[k];
            for (int i = 0; i < C; i++) s += (double)h[n * C + i] * w[(size_t)k * C + i];
            logits[n * 2 + k] = (float)s;
        }
    if (targets) {
        double part[2] = {0, 0};
        int cnt[2] = {0, 0};
        for (int b = 0; b < B; b++)
            for (int k = 0; k < 2; k++) {
                int y = targets[b * 2 + k];
                y = y < 0 ? 0 : y > T ? T : y;
                if (y == T) continue;
                part[k] += nll(logits + (size_t)b * T * 2 + k, T, 2, y, NULL);
                cnt[k]++;
            }
        if (loss) *loss = (float)((part[0] / cnt[0] + part[1] / cnt[1]) / 2);
        m->last_n_valid = cnt[0] + cnt[1];
    }
    return GPTC_OK;
}

void gptc_head_backward(gptc_ctx *ctx, gptc_model *m, const float *h, float *dh, float *dlogits, int B, int T,
                        float loss_scale) {
    const gptc_config *c = &m->cfg;
    int C = c->n_embd;
    const int32_t *targets = m->last_targets;
    double p[GPTC_MAX_LABELS];
    (void)ctx;
    memset(dh, 0, (size_t)B * T * C * sizeof(float));
    if (c->head == GPTC_HEAD_CLASSIFY) {
        int L = c->num_labels;
        const float *w = head_w(m, "score.weight");
        float *dw = head_g(m, "score.weight");
        double wsum = 0;
        for (int b = 0; b < B; b++)
            if (targets[b] != -100) wsum += m->class_weights ? m->class_weights[targets[b]] : 1.0;
        for (int b = 0; b < B; b++) {
            float *dz = dlogits + (size_t)b * L;
            if (targets[b] == -100 || wsum == 0) {
                memset(dz, 0, (size_t)L * sizeof *dz);
                continue;
            }
            nll(dlogits + (size_t)b * L, L, 1, targets[b], p);
            double scale = (m->class_weights ? m->class_weights[targets[b]] : 1.0) / wsum * loss_scale;
            for (int k = 0; k < L; k++) dz[k] = (float)((p[k] - (k == targets[b])) * scale);
            const float *x = h + ((size_t)b * T + m->cls_index[b]) * C;
            float *dx = dh + ((size_t)b * T + m->cls_index[b]) * C;
            for (int k = 0; k < L; k++) {
                for (int i = 0; i < C; i++) dx[i] += dz[k] * w[(size_t)k * C + i];
                if (dw)
                    for (int i = 0; i < C; i++) dw[(size_t)k * C + i] += dz[k] * x[i];
            }
        }
        return;
    }
    const float *w = head_w(m, "qa_outputs.weight");
    float *dw = head_g(m, "qa_outputs.weight"), *db = head_g(m, "qa_outputs.bias");
    int cnt[2] = {0, 0};
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 2; k++) {
            int y = targets[b * 2 + k];
            y = y < 0 ? 0 : y > T ? T : y;
            cnt[k] += y != T;
        }
    double *pt = m->head_tmp; /* T doubles, allocated by gptc_model_prepare */
    for (int b = 0; b < B; b++) {
        float *z = dlogits + (size_t)b * T * 2;
        for (int k = 0; k < 2; k++) {
            int y = targets[b * 2 + k];
            y = y < 0 ? 0 : y > T ? T : y;
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
            float g = dlogits[n * 2 + k];
            if (g == 0) continue;
            for (int i = 0; i < C; i++) dh[n * C + i] += g * w[(size_t)k * C + i];
            if (dw)
                for (int i = 0; i < C; i++) dw[(size_t)k * C + i] += g * h[n * C + i];
            if (db) db[k] += g;
        }
}
