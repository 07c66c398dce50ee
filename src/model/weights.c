/* weights.c: the model as weights and config: the tensor table built from the
 * architecture, one parameter buffer (plus one for matrices kept in BF16/F16),
 * initialization, named access, head replacement and parameter counts. Immutable once
 * built; nothing here knows about activations, gradients or optimizer state. */
#include "model.h"
#include "../kernels/quant.h"
#include <math.h>
#include <stddef.h>
#include <string.h>

static int n_inner(const gptc_config *c) { return c->n_inner > 0 ? c->n_inner : 4 * c->n_embd; }

int gptc_model_add_tensor(gptc_model *m, const char *name, int64_t d0, int64_t d1, gptc_wlayout layout, int kind,
                          gptc_dtype dtype, size_t *off, size_t *off_lowp) {
    gptc_ptensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->layout = layout;
    t->decay = t->ndim == 2;
    t->kind = kind;
    t->trainable = 1;
    t->dtype = t->ndim == 2 ? dtype : GPTC_F32;
    /* every tensor 16-element aligned so vector loads stay aligned */
    size_t *o = t->dtype == GPTC_F32 ? off : off_lowp;
    t->offset = *o;
    *o += (t->numel + 15) & ~(size_t)15;
    return (int)m->n_tensors++;
}

void gptc_init_normal(float *x, size_t n, double std, uint64_t *rng) {
    /* standard normal by Box-Muller from the tensor's splitmix64 stream */
    for (size_t j = 0; j < n; j += 2) {
        double u1 = ((gptc_splitmix64(rng) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
        double u2 = (gptc_splitmix64(rng) >> 11) * (1.0 / 9007199254740992.0);
        double r = sqrt(-2.0 * log(u1));
        x[j] = (float)(std * r * cos(6.283185307179586 * u2));
        if (j + 1 < n) x[j + 1] = (float)(std * r * sin(6.283185307179586 * u2));
    }
}

void gptc_model_tensor_layers(const gptc_model *m, int *layer_of) {
    for (size_t i = 0; i < m->n_tensors; i++) layer_of[i] = -1;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        const gptc_layer *y = &m->layers[l];
        const int *f = (const int *)y;
        size_t nf = offsetof(gptc_layer, lora) / sizeof(int);
        for (size_t k = 0; k < nf; k++)
            if (f[k] >= 0) layer_of[f[k]] = l;
        for (int t = 0; t < GPTC_LORA_TARGETS; t++)
            if (y->lora[t] >= 0) layer_of[y->lora[t]] = layer_of[y->lora[t] + 1] = l;
    }
}

static void layer_none(gptc_layer *y) {
    int *f = (int *)y;
    for (size_t i = 0; i < sizeof *y / sizeof(int); i++) f[i] = -1;
}

/* A quantized tensor's place in qdata: its blocks, then (the types gptc_q_has_scales
 * names: q4_0) its scales side by side (gptc_q_scales), each part 64-byte aligned. */
static size_t q_blocks_span(const gptc_ptensor *t) {
    return (gptc_q_row_bytes(t->dtype, gptc_tensor_in(t)) * (size_t)gptc_tensor_out(t) + 63) & ~(size_t)63;
}

/* Quantized types from dtype_of, then every offset again: F32 in floats, BF16/F16 in
 * elements (16-aligned, as gptc_model_add_tensor), blocks in bytes (64-aligned). */
static void retype(gptc_model *m, gptc_dtype_fn dtype_of, void *user, size_t *off, size_t *offl, size_t *offq) {
    *off = *offl = *offq = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        gptc_ptensor *t = &m->tensors[i];
        if (t->ndim == 2 && t->kind == GPTC_TK_BASE) {
            gptc_dtype d = dtype_of(user, t);
            if (gptc_dtype_is_quant(d) && gptc_tensor_in(t) % gptc_q_block_elems(d) == 0) {
                if (!gptc_dtype_is_quant(m->wdtype)) m->wdtype = d;
                t->dtype = d;
                t->trainable = 0;
            }
        }
        if (gptc_dtype_is_quant(t->dtype)) {
            t->offset = *offq;
            *offq += q_blocks_span(t) +
                     ((gptc_q_scales_bytes(t->dtype, gptc_tensor_in(t), gptc_tensor_out(t)) + 63) & ~(size_t)63);
        } else {
            size_t *o = t->dtype == GPTC_F32 ? off : offl;
            t->offset = *o;
            *o += (t->numel + 15) & ~(size_t)15;
        }
    }
}

gptc_status gptc_model_alloc(gptc_ctx *ctx, const gptc_config *cfg, gptc_dtype wdtype, gptc_model **out) {
    return gptc_model_alloc_with(ctx, cfg, wdtype, NULL, NULL, out);
}

gptc_status gptc_model_alloc_with(gptc_ctx *ctx, const gptc_config *cfg, gptc_dtype wdtype, gptc_dtype_fn dtype_of,
                                  void *user, gptc_model **out) {
    gptc_status s = gptc_model_alloc_table(ctx, cfg, wdtype, dtype_of, user, out);
    if (s == GPTC_OK && (s = gptc_model_alloc_params(ctx, *out))) {
        gptc_model_free(*out);
        *out = NULL;
    }
    return s;
}

gptc_status gptc_model_alloc_params(gptc_ctx *ctx, gptc_model *m) {
    m->params = gptc_calloc(ctx, m->n_params ? m->n_params : 1, sizeof(float), "parameters");
    return m->params ? GPTC_OK : GPTC_ENOMEM;
}

gptc_status gptc_model_alloc_table(gptc_ctx *ctx, const gptc_config *cfg, gptc_dtype wdtype, gptc_dtype_fn dtype_of,
                                   void *user, gptc_model **out) {
    *out = NULL;
    gptc_status s = gptc_config_validate(ctx, cfg);
    if (s) return s;
    if (cfg->head < 0 || cfg->head >= GPTC_HEAD_COUNT)
        return gptc_fail(ctx, GPTC_EINVAL, "config: unknown head %d", cfg->head);
    if (cfg->head == GPTC_HEAD_CLASSIFY && (cfg->num_labels < 1 || cfg->num_labels > GPTC_MAX_LABELS))
        return gptc_fail(ctx, GPTC_EINVAL, "config: a classifier needs 2 to %d labels, or 1 (a regression; num_labels = %d)",
                         GPTC_MAX_LABELS, cfg->num_labels);
    if (cfg->arch == GPTC_ARCH_GPT2 && (!cfg->pre_norm || cfg->sinusoidal_pos || cfg->cross_attention))
        return gptc_fail(ctx, GPTC_ENOTSUP, "config: a GPT-2 with post-norm blocks, sinusoidal positions or "
                                            "cross-attention is not built (BERT's post-norm encoder is model_type \"bert\")");
    int act = gptc_act_parse(cfg->activation_function);
    if (act < 0)
        return gptc_fail(ctx, GPTC_ENOTSUP, "config: activation_function \"%s\" is not supported "
                                            "(gelu_new, gelu_pytorch_tanh, gelu, relu, silu)", cfg->activation_function);
    if (wdtype != GPTC_F32 && wdtype != GPTC_BF16 && wdtype != GPTC_F16)
        return gptc_fail(ctx, GPTC_EINVAL, "weights can be kept as F32, BF16 or F16");
    gptc_model *m = gptc_calloc(ctx, 1, sizeof *m, "model");
    if (!m) return GPTC_ENOMEM;
    m->cfg = *cfg;
    m->arch = gptc_arch_for(cfg);
    m->head = gptc_head_for(cfg);
    m->opts.causal = cfg->causal;
    m->opts.pre_norm = cfg->pre_norm;
    m->opts.cross_attention = cfg->cross_attention;
    m->opts.act = (gptc_act_kind)act;
    m->wdtype = wdtype;
    size_t L = (size_t)cfg->n_layer;
    m->cap_tensors = sizeof(gptc_globals) / sizeof(int) + L * (sizeof(gptc_layer) / sizeof(int));
    m->tensors = gptc_calloc(ctx, m->cap_tensors, sizeof *m->tensors, "tensor table");
    m->layers = gptc_calloc(ctx, L ? L : 1, sizeof *m->layers, "layer table");
    if (!m->tensors || !m->layers) {
        gptc_model_free(m);
        return GPTC_ENOMEM;
    }
    int *gf = (int *)&m->g;
    for (size_t i = 0; i < sizeof m->g / sizeof(int); i++) gf[i] = -1;
    for (size_t l = 0; l < L; l++) layer_none(&m->layers[l]);
    size_t off = 0, offl = 0, offq = 0;
    m->arch->build(m, &off, &offl);
    if (dtype_of) retype(m, dtype_of, user, &off, &offl, &offq);
    m->n_params = off;
    m->n_lowp = offl;
    m->n_qbytes = offq;
    if (offl) m->lowp = gptc_calloc(ctx, offl, sizeof(uint16_t), "low-precision weights");
    if (offq) m->qdata = gptc_alloc(ctx, offq, "quantized weights");
    if (cfg->sinusoidal_pos) {
        size_t np;
        if (gptc_mul_ok((size_t)cfg->n_positions, (size_t)cfg->n_embd, &np) &&
            (m->sinus = gptc_alloc(ctx, np * sizeof(float), "sinusoidal positions")))
            gptc_sinusoid_table(m->sinus, cfg->n_positions, cfg->n_embd);
    }
    if ((offl && !m->lowp) || (offq && !m->qdata) || (cfg->sinusoidal_pos && !m->sinus)) {
        gptc_model_free(m);
        return GPTC_ENOMEM;
    }
    *out = m;
    return GPTC_OK;
}

void gptc_model_free(gptc_model *m) {
    if (!m) return;
    gptc_free(m->tensors);
    gptc_free(m->layers);
    gptc_model_params_release(m);
    gptc_free(m->lowp);
    gptc_free(m->qdata);
    gptc_free(m->sinus);
    gptc_free(m);
}

void gptc_model_params_release(gptc_model *m) {
    if (m->params_map) gptc_file_unmap_private(m->params_map, m->params_map_len);
    else gptc_free(m->params);
    m->params = NULL;
    m->params_map = NULL;
    m->params_map_len = 0;
}

long gptc_model_find(const gptc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return (long)i;
    return -1;
}

gptc_wdesc gptc_weight(const gptc_model *m, int i) {
    const gptc_ptensor *t = &m->tensors[i];
    gptc_wdesc w;
    w.dtype = t->dtype;
    w.data = t->dtype == GPTC_F32 ? (const void *)(m->params + t->offset)
             : gptc_dtype_is_quant(t->dtype) ? (const void *)(m->qdata + t->offset)
                                             : (const void *)(m->lowp + t->offset);
    w.layout = gptc_dtype_is_quant(t->dtype) ? GPTC_W_OUT_IN : t->layout;
    w.in = gptc_tensor_in(t);
    w.out = gptc_tensor_out(t);
    w.scales = gptc_q_has_scales(t->dtype) ? (const uint16_t *)(const void *)(m->qdata + t->offset + q_blocks_span(t))
                                           : NULL;
    return w;
}

long gptc_model_put_quant(gptc_model *m, int i, const void *src) {
    const gptc_ptensor *t = &m->tensors[i];
    int in = gptc_tensor_in(t), out = gptc_tensor_out(t);
    size_t rowb = gptc_q_row_bytes(t->dtype, in);
    unsigned char *dst = m->qdata + t->offset;
    memcpy(dst, src, rowb * (size_t)out);
    for (int r = 0; r < out; r++)
        if (gptc_q_first_bad_block(t->dtype, dst + (size_t)r * rowb, in) >= 0) return r;
    if (gptc_q_has_scales(t->dtype)) gptc_q_scales(t->dtype, dst, in, out, (uint16_t *)(void *)(dst + q_blocks_span(t)));
    return -1;
}

const gptc_config *gptc_model_config(const gptc_model *m) { return &m->cfg; }
const char *gptc_model_class(const gptc_model *m) {
    return m->cfg.arch == GPTC_ARCH_BERT && m->cfg.head == GPTC_HEAD_LM && m->cfg.mlm_only ? "BertForMaskedLM"
                                                                                          : m->head->hf_class;
}
size_t gptc_model_n_params(const gptc_model *m) { return m->n_params; }
size_t gptc_model_weight_bytes(const gptc_model *m) {
    return m->n_params * sizeof(float) + m->n_lowp * sizeof(uint16_t) + m->n_qbytes;
}
gptc_dtype gptc_model_weight_dtype(const gptc_model *m) { return m->wdtype; }

gptc_status gptc_model_new(gptc_ctx *ctx, const gptc_config *cfg, uint64_t seed, gptc_model **out) {
    gptc_status s = gptc_model_alloc(ctx, cfg, GPTC_F32, out);
    if (s) return s;
    gptc_model *m = *out;
    for (size_t i = 0; i < m->n_tensors; i++) {
        /* one stream per tensor, so a tensor's values do not depend on the others */
        uint64_t st = seed * 0x2545F4914F6CDD1Dull + (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
        m->arch->init(m, i, m->params + m->tensors[i].offset, &st);
    }
    return GPTC_OK;
}

gptc_param_counts gptc_model_param_counts(const gptc_config *c) {
    gptc_param_counts pc = {0};
    size_t L = c->n_layer, C = c->n_embd, V = c->vocab_size, Pn = c->n_positions, I = n_inner(c);
    if (c->arch == GPTC_ARCH_MARIAN) {
        /* token embeddings (one table or two; the positions are computed), per layer q, k,
         * v, out (+ the decoder's cross-attention), fc1, fc2 and the norms; an untied
         * lm_head and final_logits_bias */
        size_t E = (size_t)c->enc_layers, D = L - E, EI = (size_t)c->enc_n_inner;
        pc.embedding = V * C * (c->share_embeddings ? 1 : 2);
        pc.attention = (E + 2 * D) * (4 * C * C + 4 * C);
        pc.mlp = E * (2 * C * EI + EI + C) + D * (2 * C * I + I + C);
        pc.layernorm = (E * 4 + D * 6) * C;
        pc.head = V + (c->tie_word_embeddings ? 0 : V * C);
        pc.total = pc.embedding + pc.attention + pc.mlp + pc.layernorm + pc.head;
        return pc;
    }
    if (c->arch == GPTC_ARCH_BERT) {
        /* embeddings (+ their norm counted with the norms); heads: pooler, MLM transform,
         * decoder bias (+ untied decoder), NSP, classifier, qa_outputs */
        int pool = c->head == GPTC_HEAD_CLASSIFY || (c->head == GPTC_HEAD_LM && !c->mlm_only);
        pc.embedding = (V + Pn + (size_t)c->type_vocab_size) * C;
        pc.attention = L * (4 * C * C + 4 * C);
        pc.mlp = L * (C * I + I + I * C + C);
        pc.layernorm = L * 4 * C + 2 * C;
        pc.head = (pool ? C * C + C : 0) +
                  (c->head == GPTC_HEAD_CLASSIFY ? (size_t)c->num_labels * (C + 1)
                   : c->head == GPTC_HEAD_QA     ? 2 * C + 2
                                                 : C * C + C + 2 * C + V + (c->tie_word_embeddings ? 0 : V * C) +
                                                       (c->mlm_only ? 0 : 2 * C + 2));
        pc.total = pc.embedding + pc.attention + pc.mlp + pc.layernorm + pc.head;
        return pc;
    }
    pc.embedding = V * C + (c->sinusoidal_pos ? 0 : Pn * C);
    pc.attention = L * (C * 3 * C + 3 * C + C * C + C);
    pc.mlp = L * (C * I + I + I * C + C);
    pc.layernorm = L * 4 * C + 2 * C;
    pc.head = c->head == GPTC_HEAD_CLASSIFY ? (size_t)c->num_labels * C
              : c->head == GPTC_HEAD_QA      ? 2 * C + 2
              : c->tie_word_embeddings       ? 0
                                             : V * C;
    pc.total = pc.embedding + pc.attention + pc.mlp + pc.layernorm + pc.head;
    return pc;
}

gptc_status gptc_model_set_head(gptc_ctx *ctx, gptc_model *m, int head, int num_labels, const char *const *labels,
                                uint64_t seed) {
    if (m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "set the head before adding a LoRA adapter");
    if (m->wdtype != GPTC_F32) return gptc_fail(ctx, GPTC_EINVAL, "set_head needs a model loaded as F32");
    if (m->cfg.arch == GPTC_ARCH_MARIAN && head != GPTC_HEAD_LM)
        return gptc_fail(ctx, GPTC_ENOTSUP, "an encoder-decoder (MarianMTModel) has only its LM head: classification "
                                            "and question answering heads are not built for it");
    gptc_config cfg = m->cfg;
    cfg.head = head;
    cfg.num_labels = head == GPTC_HEAD_CLASSIFY ? num_labels : 0;
    memset(cfg.id2label, 0, sizeof cfg.id2label);
    for (int i = 0; labels && i < cfg.num_labels && i < GPTC_MAX_LABELS; i++) {
        if (strlen(labels[i]) >= GPTC_LABEL_MAX)
            return gptc_fail(ctx, GPTC_EINVAL, "label '%.40s...' is longer than %d bytes", labels[i], GPTC_LABEL_MAX - 1);
        strcpy(cfg.id2label[i], labels[i]);
    }
    if (head != GPTC_HEAD_LM) cfg.tie_word_embeddings = 1; /* no lm_head beside a task head */
    gptc_model *nm;
    gptc_status s = gptc_model_new(ctx, &cfg, seed, &nm);
    if (s) return s;
    for (size_t i = 0; i < nm->n_tensors; i++) {
        if (nm->tensors[i].kind != GPTC_TK_BASE) continue;
        long j = gptc_model_find(m, nm->tensors[i].name);
        if (j >= 0) memcpy(nm->params + nm->tensors[i].offset, m->params + m->tensors[j].offset,
                           nm->tensors[i].numel * sizeof(float));
    }
    /* m takes over nm's buffers; its own are freed with the shell of nm */
    gptc_model tmp = *m;
    *m = *nm;
    *nm = tmp;
    gptc_model_free(nm);
    return GPTC_OK;
}

size_t gptc_model_n_tensors(const gptc_model *m) { return m->n_tensors; }

gptc_status gptc_model_tensor(const gptc_model *m, size_t i, gptc_tensor_info *out) {
    memset(out, 0, sizeof *out);
    if (i >= m->n_tensors) return GPTC_ERANGE;
    const gptc_ptensor *t = &m->tensors[i];
    out->name = t->name;
    out->ndim = t->ndim;
    out->shape[0] = t->shape[0];
    out->shape[1] = t->shape[1];
    out->numel = t->numel;
    out->data = t->dtype == GPTC_F32 ? m->params + t->offset : NULL;
    out->trainable = t->trainable;
    return GPTC_OK;
}
