/* workspace.c: the per-call state of forward and backward: activations for up to
 * max_B x max_T tokens laid out once from the config (llm.c's one allocation per
 * lifetime class), the copies backward needs, dropout streams and loss settings.
 * Inference workspaces share one set of layer buffers across layers; a session's
 * (rows_only) has no T x T attention buffers at all. */
#include "model.h"
#include <math.h>
#include <string.h>

/* Walks the activation layout; with base == NULL only counts floats. */
static size_t layout(const gptc_model *m, int B, int T, int training, int rows_only, float *base, gptc_workspace *w) {
    const gptc_config *c = &m->cfg;
    size_t N = (size_t)B * T, C = c->n_embd, I = (size_t)gptc_max_inner(c), L = c->n_layer;
    int marian = c->arch == GPTC_ARCH_MARIAN;
    size_t NH = marian && c->enc_n_head > c->n_head ? (size_t)c->enc_n_head : (size_t)c->n_head;
    size_t AT = rows_only ? 0 : (size_t)B * NH * T * T; /* Marian: T bounds the source and the target */
    size_t off = 0;
    float *dummy;
#define TAKE(ptr, n)                                                                                                 \
    do {                                                                                                             \
        float **p_ = base ? (ptr) : &dummy;                                                                          \
        *p_ = base ? base + off : NULL;                                                                              \
        off += ((size_t)(n) + 15) & ~(size_t)15;                                                                     \
    } while (0)
    gptc_layer_acts tmp;
    TAKE(&w->encoded, N * C);
    if (c->arch == GPTC_ARCH_BERT) {
        TAKE(&w->emb, N * C);
        TAKE(&w->emb_tt, N * C);
        TAKE(&w->emb_mean, N);
        TAKE(&w->emb_rstd, N);
        TAKE(&w->key_mask, N);
    }
    if (marian) {
        TAKE(&w->key_mask, N);
        TAKE(&w->enc_encoded, N * C);
        TAKE(&w->enc_out, N * C);
        TAKE(&w->pos_emb, N * C);
        if (training) TAKE(&w->denc, N * C);
    }
    size_t nl = training ? L : 1;
    for (size_t l = 0; l < nl; l++) {
        gptc_layer_acts *a = base ? &w->layers[l] : &tmp;
        TAKE(&a->ln1, N * C);
        TAKE(&a->ln1_mean, N);
        TAKE(&a->ln1_rstd, N);
        TAKE(&a->qkv, N * 3 * C);
        TAKE(&a->atty, N * C);
        if (AT && (training || l == 0)) {
            TAKE(&a->preatt, AT);
            TAKE(&a->att, AT);
        }
        TAKE(&a->attproj, N * C);
        TAKE(&a->res2, N * C);
        TAKE(&a->ln2, N * C);
        TAKE(&a->ln2_mean, N);
        TAKE(&a->ln2_rstd, N);
        TAKE(&a->fch, N * I);
        TAKE(&a->fch_act, N * I);
        TAKE(&a->fcproj, N * C);
        TAKE(&a->res3, N * C);
        if (c->cross_attention && (!training || (int)l >= gptc_dec_first(c))) {
            TAKE(&a->lnx, N * C);
            TAKE(&a->lnx_mean, N);
            TAKE(&a->lnx_rstd, N);
            TAKE(&a->xq, N * C);
            TAKE(&a->xk, N * C);
            TAKE(&a->xv, N * C);
            TAKE(&a->xatty, N * C);
            if (AT && (training || l == 0)) {
                TAKE(&a->xpreatt, AT);
                TAKE(&a->xatt, AT);
            }
            TAKE(&a->xattproj, N * C);
            TAKE(&a->resx, N * C);
        }
    }
    TAKE(&w->lnf, N * C);
    TAKE(&w->lnf_mean, N);
    TAKE(&w->lnf_rstd, N);
    TAKE(&w->losses, N);
    if (training) {
        TAKE(&w->dres, N * C);
        TAKE(&w->dln, N * C);
        TAKE(&w->dtmp, N * C);
        TAKE(&w->dqkv, N * 3 * C);
        TAKE(&w->datty, N * C);
        TAKE(&w->dpreatt, AT);
        TAKE(&w->datt, AT);
        TAKE(&w->dfch, N * I);
        TAKE(&w->dfch_act, N * I);
    }
    if (m->lora_r) {
        TAKE(&w->lora_u, (size_t)GPTC_LORA_TARGETS * (training ? L : 1) * N * m->lora_r);
        TAKE(&w->lora_x, N * (I > C ? I : C));
        TAKE(&w->lora_du, N * m->lora_r);
    }
    if (m->head->scratch && !rows_only) TAKE(&w->head_acts, m->head->scratch(c, B, T));
    if (!rows_only) TAKE(&w->logits, m->head->logits_floats(c, B, T)); /* last */
#undef TAKE
    (void)dummy;
    return off;
}

size_t gptc_model_activation_bytes(const gptc_config *cfg, int B, int T) {
    gptc_model *m = NULL;
    /* the layout needs a model's head and adapter; a throwaway shell without tensors */
    gptc_model shell;
    memset(&shell, 0, sizeof shell);
    shell.cfg = *cfg;
    shell.head = gptc_head_for(cfg);
    m = &shell;
    gptc_workspace w;
    memset(&w, 0, sizeof w);
    return layout(m, B, T, 1, 0, NULL, &w) * sizeof(float);
}

static gptc_status ws_new(gptc_ctx *ctx, const gptc_model *m, int B, int T, int training, int rows_only,
                          gptc_workspace **out) {
    *out = NULL;
    const gptc_config *c = &m->cfg;
    if (B < 1 || T < 1) return gptc_fail(ctx, GPTC_EINVAL, "batch %d x %d: both must be at least 1", B, T);
    if (!rows_only && T > c->n_positions)
        return gptc_fail(ctx, GPTC_EINVAL, "sequence length %d exceeds the model's context n_positions=%d", T,
                         c->n_positions);
    if (training && m->wdtype != GPTC_F32)
        return gptc_fail(ctx, GPTC_EINVAL, "training needs F32 weights (this model keeps its matrices as %s%s)",
                         gptc_dtype_name(m->wdtype),
                         m->wdtype == GPTC_BF16 || m->wdtype == GPTC_F16
                             ? ""
                             : ", a quantized model is for inference only: train or fine-tune the F32 model it was "
                               "quantized from");
    gptc_workspace *w = gptc_calloc(ctx, 1, sizeof *w, "workspace");
    if (!w) return GPTC_ENOMEM;
    w->m = m;
    w->max_B = B;
    w->max_T = T;
    w->training = training;
    w->rows_only = rows_only;
    w->model_params = m->n_params;
    size_t N = (size_t)B * T, nl = training ? (size_t)c->n_layer : 1;
    w->layers = gptc_calloc(ctx, nl ? nl : 1, sizeof *w->layers, "workspace layers");
    size_t n = layout(m, B, T, training, rows_only, NULL, w);
    w->acts = w->layers ? gptc_alloc(ctx, n * sizeof(float), "activations") : NULL;
    w->last_tokens = gptc_alloc(ctx, N * sizeof(int32_t), "tokens");
    w->last_targets = gptc_alloc(ctx, (N + 2 * (size_t)B) * sizeof(int32_t), "targets"); /* BERT: MLM + NSP */
    w->last_types = gptc_calloc(ctx, N, sizeof(int32_t), "token types");
    w->cls_index = gptc_alloc(ctx, (size_t)B * sizeof(int), "classifier positions");
    w->head_tmp = gptc_alloc(ctx, (size_t)T * sizeof(double), "head scratch");
    w->row_keys = gptc_alloc(ctx, N * sizeof(int), "attention key counts");
    int marian = c->arch == GPTC_ARCH_MARIAN;
    if (marian) {
        w->row_xkeys = gptc_alloc(ctx, N * sizeof(int), "attention key counts");
        w->enc_tokens = gptc_alloc(ctx, N * sizeof(int32_t), "source tokens");
        w->pos_ids = gptc_alloc(ctx, N * sizeof(int32_t), "positions");
    }
    if (!w->acts || !w->last_tokens || !w->last_targets || !w->last_types || !w->cls_index || !w->head_tmp || !w->row_keys ||
        (marian && (!w->row_xkeys || !w->enc_tokens || !w->pos_ids))) {
        gptc_workspace_free(w);
        return GPTC_ENOMEM;
    }
    memset(w->acts, 0, n * sizeof(float));
    w->acts_floats = n;
    layout(m, B, T, training, rows_only, w->acts, w);
    *out = w;
    return GPTC_OK;
}

gptc_status gptc_workspace_new(gptc_ctx *ctx, const gptc_model *m, int max_B, int max_T, int training,
                               gptc_workspace **out) {
    return ws_new(ctx, m, max_B, max_T, training, 0, out);
}

gptc_status gptc_workspace_new_rows(gptc_ctx *ctx, const gptc_model *m, int rows, gptc_workspace **out) {
    return ws_new(ctx, m, 1, rows, 0, 1, out);
}

void gptc_workspace_free(gptc_workspace *w) {
    if (!w) return;
    gptc_free(w->acts);
    gptc_free(w->layers);
    gptc_free(w->last_tokens);
    gptc_free(w->last_targets);
    gptc_free(w->last_types);
    gptc_free(w->cls_index);
    gptc_free(w->head_tmp);
    gptc_free(w->row_keys);
    gptc_free(w->row_xkeys);
    gptc_free(w->enc_tokens);
    gptc_free(w->pos_ids);
    gptc_free(w->class_weights);
    gptc_free(w);
}

size_t gptc_workspace_bytes(const gptc_workspace *w) { return w->acts_floats * sizeof(float); }

void gptc_workspace_set_training(gptc_workspace *w, int training, uint64_t dropout_seed) {
    w->dropout_on = training;
    w->dropout_seed = dropout_seed;
}
uint64_t gptc_workspace_dropout_calls(const gptc_workspace *w) { return w->dropout_calls; }
void gptc_workspace_set_layer_hook(gptc_workspace *w, gptc_layer_hook fn, void *user) {
    w->layer_hook = fn;
    w->layer_hook_user = user;
}
void gptc_workspace_set_dropout_calls(gptc_workspace *w, uint64_t calls) { w->dropout_calls = calls; }
const float *gptc_workspace_logits(const gptc_workspace *w) { return w->logits_valid ? w->logits : NULL; }
gptc_pretrain_parts gptc_workspace_pretrain_parts(const gptc_workspace *w) {
    gptc_pretrain_parts p = {w->mlm_sum, w->nsp_sum, w->mlm_n, w->nsp_n};
    return p;
}
const float *gptc_workspace_class_weights(const gptc_workspace *w) { return w->class_weights; }

gptc_status gptc_workspace_set_label_smoothing(gptc_ctx *ctx, gptc_workspace *w, float eps) {
    if (w->m->cfg.head != GPTC_HEAD_LM || w->m->cfg.arch == GPTC_ARCH_BERT)
        return gptc_fail(ctx, GPTC_EINVAL, "label smoothing needs a language-model head (GPT-2 or Marian)");
    if (!(eps >= 0.0f && eps < 1.0f))
        return gptc_fail(ctx, GPTC_EINVAL, "label smoothing %g must be in [0, 1)", (double)eps);
    w->label_smoothing = eps;
    return GPTC_OK;
}

gptc_status gptc_workspace_set_class_weights(gptc_ctx *ctx, gptc_workspace *w, const float *cw) {
    const gptc_config *c = &w->m->cfg;
    if (c->head != GPTC_HEAD_CLASSIFY) return gptc_fail(ctx, GPTC_EINVAL, "class weights need a classification model");
    gptc_free(w->class_weights);
    w->class_weights = NULL;
    if (!cw) return GPTC_OK;
    for (int i = 0; i < c->num_labels; i++)
        if (!(cw[i] >= 0) || !isfinite(cw[i]))
            return gptc_fail(ctx, GPTC_EINVAL, "class weight %d = %g must be finite and >= 0", i, (double)cw[i]);
    w->class_weights = gptc_alloc(ctx, (size_t)c->num_labels * sizeof(float), "class weights");
    if (!w->class_weights) return GPTC_ENOMEM;
    memcpy(w->class_weights, cw, (size_t)c->num_labels * sizeof(float));
    return GPTC_OK;
}
