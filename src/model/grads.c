/* grads.c: gradients as their own object, shaped like a model's parameter buffer (same
 * offsets), so weights stay shareable and the trainer owns what changes per step. The
 * whole buffer is one contiguous array (what a gradient all-reduce sends). */
#include "model.h"
#include <math.h>
#include <string.h>

gptc_status gptc_grads_new(gptc_ctx *ctx, const gptc_model *m, gptc_grads **out) {
    *out = NULL;
    if (m->wdtype != GPTC_F32)
        return gptc_fail(ctx, GPTC_EINVAL, "gradients need F32 weights (the model keeps its matrices as %s; a "
                                           "quantized model is for inference only)", gptc_dtype_name(m->wdtype));
    gptc_grads *g = gptc_calloc(ctx, 1, sizeof *g, "gradients");
    if (!g) return GPTC_ENOMEM;
    g->m = m;
    g->n = m->n_params;
    g->data = gptc_calloc(ctx, g->n ? g->n : 1, sizeof(float), "gradients");
    if (!g->data) {
        gptc_free(g);
        return GPTC_ENOMEM;
    }
    *out = g;
    return GPTC_OK;
}

void gptc_grads_free(gptc_grads *g) {
    if (!g) return;
    gptc_free(g->data);
    gptc_free(g);
}

void gptc_grads_zero(gptc_grads *g) { memset(g->data, 0, g->n * sizeof(float)); }

float gptc_grads_clip(gptc_ctx *ctx, gptc_grads *g, float max_norm) {
    const gptc_ops *ops = gptc_ops_of(ctx);
    float norm = (float)sqrt(ops->sumsq(ctx, g->data, g->n));
    float c = gptc_clip_coef(norm, max_norm);
    if (c != 1.0f) ops->scale(ctx, g->data, g->n, c);
    return norm;
}

float gptc_clip_coef(float norm, float max_norm) {
    return max_norm > 0 && norm > max_norm ? max_norm / (norm + 1e-6f) : 1.0f;
}

float *gptc_grads_tensor(const gptc_grads *g, size_t i) {
    return i < g->m->n_tensors ? gptc_grad(g, (int)i) : NULL;
}

float *gptc_grads_data(gptc_grads *g, size_t *n) {
    if (n) *n = g->n;
    return g->data;
}
