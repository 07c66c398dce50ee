/* optim.c: AdamW as torch.optim.AdamW computes it, with its moments owned here (as
 * torch.optim owns exp_avg / exp_avg_sq), laid out like the model's parameters. A step
 * reads gradients and writes the trainable tensors of the model. */
#include "../model/model.h"
#include <string.h>

struct gptc_adamw {
    const gptc_model *m;
    float *m1, *m2;
    size_t n;
};

gptc_adamw_params gptc_adamw_default_params(void) {
    gptc_adamw_params p = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
    return p;
}

gptc_status gptc_adamw_new(gptc_ctx *ctx, const gptc_model *m, gptc_adamw **out) {
    *out = NULL;
    if (m->wdtype != GPTC_F32) return gptc_fail(ctx, GPTC_EINVAL, "AdamW needs a model with F32 weights");
    gptc_adamw *o = gptc_calloc(ctx, 1, sizeof *o, "AdamW");
    if (!o) return GPTC_ENOMEM;
    o->m = m;
    o->n = m->n_params;
    o->m1 = gptc_calloc(ctx, o->n ? o->n : 1, sizeof(float), "AdamW first moments");
    o->m2 = gptc_calloc(ctx, o->n ? o->n : 1, sizeof(float), "AdamW second moments");
    if (!o->m1 || !o->m2) {
        gptc_adamw_free(o);
        return GPTC_ENOMEM;
    }
    *out = o;
    return GPTC_OK;
}

void gptc_adamw_free(gptc_adamw *o) {
    if (!o) return;
    gptc_free(o->m1);
    gptc_free(o->m2);
    gptc_free(o);
}

gptc_status gptc_adamw_step(gptc_ctx *ctx, gptc_adamw *o, gptc_model *m, const gptc_grads *g,
                            const gptc_adamw_params *p, int t) {
    if (o->m != m || g->m != m || o->n != m->n_params)
        return gptc_fail(ctx, GPTC_EINVAL, "adamw: the optimizer, gradients and model do not belong together");
    if (t < 1) return gptc_fail(ctx, GPTC_EINVAL, "adamw: step %d, steps count from 1", t);
    return gptc_adamw_update_range(ctx, m, g, o->m1, o->m2, 0, m->n_params, p, t);
}

gptc_status gptc_adamw_update_range(gptc_ctx *ctx, gptc_model *m, const gptc_grads *g, float *m1, float *m2, size_t lo,
                                    size_t hi, const gptc_adamw_params *p, int t) {
    const gptc_ops *ops = gptc_ops_of(ctx);
    gptc_status s = ops->prepare(ctx);
    if (s) return s;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *tt = &m->tensors[i];
        size_t a = tt->offset > lo ? tt->offset : lo, b = tt->offset + tt->numel < hi ? tt->offset + tt->numel : hi;
        if (!tt->trainable || a >= b) continue;
        ops->adamw(ctx, m->params + a, g->data + a, m1 + (a - lo), m2 + (a - lo), b - a, p->lr, p->beta1, p->beta2,
                   p->eps, tt->decay ? p->weight_decay : 0.0f, t);
    }
    return GPTC_OK;
}

void gptc_adamw_moments(const gptc_adamw *o, float **m1, float **m2) {
    *m1 = o->m1;
    *m2 = o->m2;
}

void gptc_adamw_tensor(const gptc_adamw *o, size_t i, float **m, float **v) {
    if (i >= o->m->n_tensors) {
        *m = *v = NULL;
        return;
    }
    size_t off = o->m->tensors[i].offset;
    *m = o->m1 + off;
    *v = o->m2 + off;
}
