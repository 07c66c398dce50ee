/* gpt2.c: the GPT-2 model: parameter table, initialization, forward and backward
 * passes over the block (pre-norm, causal or bidirectional attention, GELU MLP),
 * gradient clipping and AdamW. The ops themselves are in kernels/; file formats in
 * model_io.c and config.c. */
#include "model.h"
#include "../kernels/kernels.h"
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------ tensor table */

static void add_tensor(gptc_model *m, const char *name, int64_t d0, int64_t d1, size_t *off) {
    gptc_ptensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    t->offset = *off;
    t->decay = t->ndim == 2;
    t->kind = GPTC_TK_BASE;
    t->trainable = 1;
    /* keep every tensor 16-float aligned so vector loads stay aligned */
    *off += (t->numel + 15) & ~(size_t)15;
}

static int n_inner(const gptc_config *c) { return c->n_inner > 0 ? c->n_inner : 4 * c->n_embd; }

gptc_status gptc_model_alloc(gptc_ctx *ctx, const gptc_config *cfg, gptc_model **out) {
    *out = NULL;
    gptc_status s = gptc_config_validate(ctx, cfg);
    if (s) return s;
    if (cfg->head < 0 || cfg->head >= GPTC_HEAD_COUNT)
        return gptc_fail(ctx, GPTC_EINVAL, "config: unknown head %d", cfg->head);
    if (cfg->head == GPTC_HEAD_CLASSIFY && (cfg->num_labels < 2 || cfg->num_labels > GPTC_MAX_LABELS))
        return gptc_fail(ctx, GPTC_EINVAL, "config: a classifier needs 2 to %d labels (num_labels = %d)", GPTC_MAX_LABELS,
                         cfg->num_labels);
    if (!cfg->pre_norm || cfg->sinusoidal_pos || cfg->cross_attention)
        return gptc_fail(ctx, GPTC_ENOTSUP,
                         "config: post-norm blocks, sinusoidal positions and cross-attention are not built yet");
    gptc_model *m = gptc_calloc(ctx, 1, sizeof *m, "model");
    if (!m) return GPTC_ENOMEM;
    m->cfg = *cfg;
    size_t L = (size_t)cfg->n_layer, C = (size_t)cfg->n_embd, V = (size_t)cfg->vocab_size,
           P = (size_t)cfg->n_positions, I = (size_t)n_inner(cfg);
    size_t cap = 2 + L * GPTC_T_PER_LAYER + 4; /* + ln_f (2) + head (up to 2: qa_outputs) */
    m->tensors = gptc_calloc(ctx, cap, sizeof *m->tensors, "tensor table");
    if (!m->tensors) {
        gptc_free(m);
        return GPTC_ENOMEM;
    }
    size_t off = 0;
    char name[64];
    add_tensor(m, "wte.weight", V, C, &off);
    add_tensor(m, "wpe.weight", P, C, &off);
    for (size_t l = 0; l < L; l++) {
        static const struct { const char *suffix; int kind; } parts[GPTC_T_PER_LAYER] = {
            {"ln_1.weight", 0}, {"ln_1.bias", 0}, {"attn.c_attn.weight", 1}, {"attn.c_attn.bias", 2},
            {"attn.c_proj.weight", 3}, {"attn.c_proj.bias", 0}, {"ln_2.weight", 0}, {"ln_2.bias", 0},
            {"mlp.c_fc.weight", 4}, {"mlp.c_fc.bias", 5}, {"mlp.c_proj.weight", 6}, {"mlp.c_proj.bias", 0},
        };
        for (int k = 0; k < GPTC_T_PER_LAYER; k++) {
            snprintf(name, sizeof name, "h.%zu.%s", l, parts[k].suffix);
            switch (parts[k].kind) {
            case 0: add_tensor(m, name, C, 0, &off); break;
            case 1: add_tensor(m, name, C, 3 * C, &off); break;
            case 2: add_tensor(m, name, 3 * C, 0, &off); break;
            case 3: add_tensor(m, name, C, C, &off); break;
            case 4: add_tensor(m, name, C, I, &off); break;
            case 5: add_tensor(m, name, I, 0, &off); break;
            case 6: add_tensor(m, name, I, C, &off); break;
            }
        }
    }
    add_tensor(m, "ln_f.weight", C, 0, &off);
    add_tensor(m, "ln_f.bias", C, 0, &off);
    if (cfg->head == GPTC_HEAD_LM && !cfg->tie_word_embeddings) add_tensor(m, "lm_head.weight", V, C, &off);
    if (cfg->head == GPTC_HEAD_CLASSIFY) add_tensor(m, "score.weight", (size_t)cfg->num_labels, C, &off);
    if (cfg->head == GPTC_HEAD_QA) {
        add_tensor(m, "qa_outputs.weight", 2, C, &off);
        add_tensor(m, "qa_outputs.bias", 2, 0, &off);
    }
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strncmp(m->tensors[i].name, "score.", 6) || !strncmp(m->tensors[i].name, "qa_outputs.", 11))
            m->tensors[i].kind = GPTC_TK_HEAD;
    m->n_params = off;
    m->params = gptc_calloc(ctx, off, sizeof(float), "parameters");
    if (!m->params) {
        gptc_model_free(m);
        return GPTC_ENOMEM;
    }
    *out = m;
    return GPTC_OK;
}

void gptc_model_free(gptc_model *m) {
    if (!m) return;
    gptc_free(m->tensors);
    gptc_free(m->params);
    gptc_free(m->grads);
    gptc_free(m->adam_m);
    gptc_free(m->adam_v);
    gptc_free(m->acts);
    gptc_free(m->last_tokens);
    gptc_free(m->last_targets);
    gptc_free(m->state);
    gptc_free(m->lora_idx);
    gptc_free(m->class_weights);
    gptc_free(m->cls_index);
    gptc_free(m->head_tmp);
    gptc_free(m);
}

long gptc_model_find(const gptc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return (long)i;
    return -1;
}

const gptc_config *gptc_model_config(const gptc_model *m) { return &m->cfg; }

static float *P(const gptc_model *m, size_t i) { return m->params + m->tensors[i].offset; }
/* gradient of tensor i, NULL when it is frozen */
static float *G(const gptc_model *m, size_t i) { return m->tensors[i].trainable ? m->grads + m->tensors[i].offset : NULL; }
static size_t lm_head_index(const gptc_model *m) {
    return m->cfg.tie_word_embeddings ? 0 : gptc_layer_tensor(m, m->cfg.n_layer, 2);
}

/* ------------------------------------------------------------------ initialization */


/* Standard normal by Box-Muller from a splitmix64 stream (deterministic per seed). */
static void fill_normal(float *x, size_t n, float std, uint64_t *state) {
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((gptc_splitmix64(state) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
        double u2 = (gptc_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(std * r * cos(6.283185307179586 * u2));
        if (i + 1 < n) x[i + 1] = (float)(std * r * sin(6.283185307179586 * u2));
    }
}

gptc_status gptc_model_new(gptc_ctx *ctx, const gptc_config *cfg, uint64_t seed, gptc_model **out) {
    gptc_status s = gptc_model_alloc(ctx, cfg, out);
    if (s) return s;
    gptc_model *m = *out;
    const float std = 0.02f, proj_std = 0.02f / sqrtf(2.0f * (float)cfg->n_layer);
    for (size_t i = 0; i < m->n_tensors; i++) {
        gptc_ptensor *t = &m->tensors[i];
        float *x = m->params + t->offset;
        /* one stream per tensor, so a tensor's values do not depend on the others */
        uint64_t st = seed * 0x2545F4914F6CDD1Dull + (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
        const char *n = t->name;
        size_t len = strlen(n);
        int is_bias = len > 5 && !strcmp(n + len - 5, ".bias");
        int is_ln = strstr(n, "ln_") != NULL;
        if (is_ln && !is_bias) {
            for (size_t j = 0; j < t->numel; j++) x[j] = 1.0f;
        } else if (is_bias) {
            memset(x, 0, t->numel * sizeof *x);
        } else {
            int resid = strstr(n, "c_proj.weight") != NULL;
            fill_normal(x, t->numel, resid ? proj_std : std, &st);
        }
    }
    return GPTC_OK;
}

/* ------------------------------------------------------------------ sizes */

gptc_param_counts gptc_model_param_counts(const gptc_config *c) {
    gptc_param_counts pc = {0};
    size_t L = c->n_layer, C = c->n_embd, V = c->vocab_size, Pn = c->n_positions, I = n_inner(c);
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

/* Activation views of one forward pass, carved from m->acts. */
typedef struct layer_acts {
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *preatt, *att, *attproj, *res2, *ln2, *ln2_mean,
        *ln2_rstd, *fch, *fch_gelu, *fcproj, *res3;
} layer_acts;

typedef struct model_state {
    float *encoded, *lnf, *lnf_mean, *lnf_rstd, *losses;
    layer_acts *layers;
    /* backward scratch (training only) */
    float *dres, *dln, *dtmp, *dqkv, *datty, *dpreatt, *datt, *dfch, *dfch_gelu;
    /* LoRA: u (N, r) per layer and target, scratch for dropout(x) and du */
    float *lora_u, *lora_x, *lora_du;
} model_state;

/* Walks the activation layout: with base == NULL only counts floats. */
static size_t layout(const gptc_config *c, int B, int T, int training, int lora_r, float *base, model_state *st) {
    size_t N = (size_t)B * T, C = c->n_embd, I = n_inner(c), V = c->vocab_size, L = c->n_layer;
    size_t AT = (size_t)B * c->n_head * T * T;
    size_t off = 0;
#define TAKE(ptr, n)                                  \
    do {                                              \
        if (base) *(ptr) = base + off;                \
        off += ((size_t)(n) + 15) & ~(size_t)15;      \
    } while (0)
    float *dummy;
#define S(field) (st ? &st->field : &dummy)
    TAKE(S(encoded), N * C);
    for (size_t l = 0; l < L; l++) {
        layer_acts tmp, *a = st && base ? &st->layers[l] : &tmp;
        TAKE(&a->ln1, N * C);
        TAKE(&a->ln1_mean, N);
        TAKE(&a->ln1_rstd, N);
        TAKE(&a->qkv, N * 3 * C);
        TAKE(&a->atty, N * C);
        if (training || l == 0) {
            /* inference shares one attention scratch across layers */
            TAKE(&a->preatt, AT);
            TAKE(&a->att, AT);
        } else if (base) {
            a->preatt = st->layers[0].preatt;
            a->att = st->layers[0].att;
        }
        TAKE(&a->attproj, N * C);
        TAKE(&a->res2, N * C);
        TAKE(&a->ln2, N * C);
        TAKE(&a->ln2_mean, N);
        TAKE(&a->ln2_rstd, N);
        TAKE(&a->fch, N * I);
        TAKE(&a->fch_gelu, N * I);
        TAKE(&a->fcproj, N * C);
        TAKE(&a->res3, N * C);
    }
    TAKE(S(lnf), N * C);
    TAKE(S(lnf_mean), N);
    TAKE(S(lnf_rstd), N);
    TAKE(S(losses), N);
    if (training) {
        TAKE(S(dres), N * C);
        TAKE(S(dln), N * C);
        TAKE(S(dtmp), N * C);
        TAKE(S(dqkv), N * 3 * C);
        TAKE(S(datty), N * C);
        TAKE(S(dpreatt), AT);
        TAKE(S(datt), AT);
        TAKE(S(dfch), N * I);
        TAKE(S(dfch_gelu), N * I);
    }
    if (lora_r) {
        TAKE(S(lora_u), (size_t)GPTC_LORA_TARGETS * L * N * lora_r);
        TAKE(S(lora_x), N * (I > C ? I : C));
        TAKE(S(lora_du), N * lora_r);
    }
    (void)V;
    off += (gptc_head_logits_floats(c, B, T) + 15) & ~(size_t)15; /* logits, last */
#undef TAKE
#undef S
    (void)dummy;
    return off;
}

size_t gptc_model_activation_bytes(const gptc_config *cfg, int B, int T) {
    return layout(cfg, B, T, 1, 0, NULL, NULL) * sizeof(float);
}

gptc_status gptc_model_prepare(gptc_ctx *ctx, gptc_model *m, int B, int T, int training) {
    const gptc_config *c = &m->cfg;
    if (B < 1 || T < 1) return gptc_fail(ctx, GPTC_EINVAL, "batch %d x %d: both must be at least 1", B, T);
    if (T > c->n_positions)
        return gptc_fail(ctx, GPTC_EINVAL, "sequence length %d exceeds the model's context n_positions=%d", T,
                         c->n_positions);
    if (training && !m->grads) {
        m->grads = gptc_calloc(ctx, m->n_params, sizeof(float), "gradients");
        if (!m->grads) return GPTC_ENOMEM;
    }
    if (m->acts && B <= m->max_B && T <= m->max_T && (!training || m->has_grad_acts)) return GPTC_OK;
    if (m->acts) {
        /* grow to cover both the old and the new shape */
        if (m->max_B > B) B = m->max_B;
        if (m->max_T > T) T = m->max_T;
        training = training || m->has_grad_acts;
    }
    gptc_free(m->acts);
    gptc_free(m->last_tokens);
    gptc_free(m->last_targets);
    gptc_free(m->state);
    m->acts = NULL;
    m->last_tokens = m->last_targets = NULL;
    m->state = NULL;
    m->max_B = m->max_T = 0;
    size_t n = layout(c, B, T, training, m->lora_r, NULL, NULL);
    size_t N = (size_t)B * T;
    model_state *st = gptc_calloc(ctx, 1, sizeof *st + (size_t)c->n_layer * sizeof(layer_acts), "model state");
    if (!st) return GPTC_ENOMEM;
    st->layers = (layer_acts *)(st + 1);
    m->state = st;
    m->acts = gptc_alloc(ctx, n * sizeof(float), "activations");
    m->last_tokens = gptc_alloc(ctx, N * sizeof(int32_t), "tokens");
    m->last_targets = gptc_alloc(ctx, N * sizeof(int32_t), "targets");
    if (!m->acts || !m->last_tokens || !m->last_targets) return GPTC_ENOMEM;
    memset(m->acts, 0, n * sizeof(float));
    m->acts_floats = n;
    size_t used = layout(c, B, T, training, m->lora_r, m->acts, st);
    m->logits = m->acts + used - ((gptc_head_logits_floats(c, B, T) + 15) & ~(size_t)15);
    gptc_free(m->cls_index);
    gptc_free(m->head_tmp);
    m->cls_index = gptc_alloc(ctx, (size_t)B * sizeof(int), "classifier positions");
    m->head_tmp = gptc_alloc(ctx, (size_t)T * sizeof(double), "head scratch");
    if (!m->cls_index || !m->head_tmp) return GPTC_ENOMEM;
    m->max_B = B;
    m->max_T = T;
    m->has_grad_acts = training;
    return GPTC_OK;
}

/* ------------------------------------------------------------------ forward / backward */

void gptc_model_set_training(gptc_model *m, int training, uint64_t dropout_seed) {
    m->training = training;
    m->dropout_seed = dropout_seed;
}

/* Seeds of the dropout sites of one forward pass: site 0 is the embedding, then
 * 3 per layer (attention probabilities, attention output, MLP output). */
static uint64_t site_seed(const gptc_model *m, uint64_t call, uint64_t site) {
    uint64_t s = m->dropout_seed ^ (call * 0xD1B54A32D192ED03ull) ^ (site * 0x9E3779B97F4A7C15ull);
    return gptc_splitmix64(&s);
}

static void set_threads(gptc_ctx *ctx) {
#ifdef _OPENMP
    omp_set_num_threads(ctx->n_threads);
#else
    (void)ctx;
#endif
}

/* LoRA sites: 1 + 3 * n_layer + 4 * l + target */
static uint64_t lora_seed(const gptc_model *m, uint64_t call, int l, int target) {
    return site_seed(m, call, 1 + 3 * (uint64_t)m->cfg.n_layer + 4 * (uint64_t)l + (uint64_t)target);
}
static float *lora_u(const gptc_model *m, const model_state *st, int l, int target) {
    size_t N = (size_t)m->last_B * m->last_T;
    return st->lora_u + ((size_t)l * GPTC_LORA_TARGETS + (size_t)target) * N * (size_t)m->lora_r;
}
#define LORA_FWD(target, x, out, in, outc)                                                                       \
    do {                                                                                                       \
        if (m->lora_r && m->lora_idx[l * GPTC_LORA_TARGETS + (target)] >= 0)                                   \
            gptc_lora_forward(ctx, m, l, (target), (x), (out), lora_u(m, st, l, (target)), st->lora_x, N, (in), \
                              (outc), lora_seed(m, call, l, (target)));                                        \
    } while (0)
#define LORA_BWD(target, x, dout, dx, in, outc)                                                                    \
    do {                                                                                                         \
        if (m->lora_r && m->lora_idx[l * GPTC_LORA_TARGETS + (target)] >= 0)                                     \
            gptc_lora_backward(ctx, m, l, (target), (x), (dout), (dx), lora_u(m, st, l, (target)), st->lora_x,    \
                               st->lora_du, N, (in), (outc), lora_seed(m, call, l, (target)));                   \
    } while (0)

gptc_status gptc_model_forward(gptc_ctx *ctx, gptc_model *m, const int32_t *tokens, const int32_t *targets,
                               int B, int T, float *loss) {
    const gptc_config *c = &m->cfg;
    gptc_status s = gptc_model_prepare(ctx, m, B, T, m->has_grad_acts);
    if (s) return s;
    set_threads(ctx);
    int N = B * T, C = c->n_embd, V = c->vocab_size, NH = c->n_head, I = n_inner(c);
    for (int i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return gptc_fail(ctx, GPTC_ERANGE, "token id %d at position %d is out of range [0, %d)", tokens[i], i, V);
        if (c->head == GPTC_HEAD_LM && targets && targets[i] != -100 && (targets[i] < 0 || targets[i] >= V))
            return gptc_fail(ctx, GPTC_ERANGE, "target id %d at position %d is out of range [0, %d) (or -100)",
                             targets[i], i, V);
    }
    int n_targets = c->head == GPTC_HEAD_LM ? N : c->head == GPTC_HEAD_QA ? 2 * B : B;
    model_state *st = m->state;
    int exact_gelu = !strcmp(c->activation_function, "gelu");
    float pe = m->training ? c->embd_pdrop : 0, pa = m->training ? c->attn_pdrop : 0,
          pr = m->training ? c->resid_pdrop : 0;
    uint64_t call = m->training ? m->dropout_calls++ : 0;
    memcpy(m->last_tokens, tokens, (size_t)N * sizeof *tokens);
    m->last_B = B;
    m->last_T = T;
    m->last_call = call;

    k_embed_forward(st->encoded, tokens, P(m, 0), P(m, 1), B, T, C);
    k_dropout(st->encoded, (size_t)N * C, pe, site_seed(m, call, 0), 0);
    float *residual = st->encoded;
    for (int l = 0; l < c->n_layer; l++) {
        layer_acts *a = &st->layers[l];
        size_t t0 = gptc_layer_tensor(m, l, 0);
        k_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, residual, P(m, t0 + GPTC_T_LN1_W),
                            P(m, t0 + GPTC_T_LN1_B), N, C, c->layer_norm_epsilon);
        k_matmul_forward(ctx, a->qkv, a->ln1, P(m, t0 + GPTC_T_QKV_W), P(m, t0 + GPTC_T_QKV_B), N, C, 3 * C);
        LORA_FWD(GPTC_LORA_QKV, a->ln1, a->qkv, C, 3 * C);
        k_attention_forward(ctx, a->atty, a->preatt, a->att, a->qkv, B, T, C, NH, c->causal, pa,
                            site_seed(m, call, 1 + 3 * (uint64_t)l), 0);
        if (m->capture && l == m->capture_layer)
            memcpy(m->capture, a->att, (size_t)B * NH * T * T * sizeof(float));
        k_matmul_forward(ctx, a->attproj, a->atty, P(m, t0 + GPTC_T_APROJ_W), P(m, t0 + GPTC_T_APROJ_B), N, C, C);
        LORA_FWD(GPTC_LORA_APROJ, a->atty, a->attproj, C, C);
        k_dropout(a->attproj, (size_t)N * C, pr, site_seed(m, call, 2 + 3 * (uint64_t)l), 0);
        k_add_forward(a->res2, residual, a->attproj, (size_t)N * C);
        k_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, P(m, t0 + GPTC_T_LN2_W),
                            P(m, t0 + GPTC_T_LN2_B), N, C, c->layer_norm_epsilon);
        k_matmul_forward(ctx, a->fch, a->ln2, P(m, t0 + GPTC_T_FC_W), P(m, t0 + GPTC_T_FC_B), N, C, I);
        LORA_FWD(GPTC_LORA_FC, a->ln2, a->fch, C, I);
        k_gelu_forward(a->fch_gelu, a->fch, (size_t)N * I, exact_gelu);
        k_matmul_forward(ctx, a->fcproj, a->fch_gelu, P(m, t0 + GPTC_T_MPROJ_W), P(m, t0 + GPTC_T_MPROJ_B), N, I, C);
        LORA_FWD(GPTC_LORA_MPROJ, a->fch_gelu, a->fcproj, I, C);
        k_dropout(a->fcproj, (size_t)N * C, pr, site_seed(m, call, 3 + 3 * (uint64_t)l), 0);
        k_add_forward(a->res3, a->res2, a->fcproj, (size_t)N * C);
        residual = a->res3;
    }
    size_t tf = gptc_layer_tensor(m, c->n_layer, 0);
    k_layernorm_forward(st->lnf, st->lnf_mean, st->lnf_rstd, residual, P(m, tf), P(m, tf + 1), N, C,
                        c->layer_norm_epsilon);
    m->last_has_targets = targets != NULL;
    m->logits_valid = 1;
    if (targets) memcpy(m->last_targets, targets, (size_t)n_targets * sizeof *targets);
    if (c->head != GPTC_HEAD_LM) return gptc_head_forward(ctx, m, st->lnf, tokens, targets, B, T, m->logits, loss);
    k_lmhead_forward(ctx, m->logits, st->lnf, P(m, lm_head_index(m)), N, C, V);
    if (targets) {
        int n_valid = k_crossentropy_forward(st->losses, m->logits, targets, N, V);
        double sum = 0;
        for (int i = 0; i < N; i++) sum += st->losses[i];
        m->last_n_valid = n_valid;
        /* PyTorch's mean over zero valid targets is NaN; so is ours */
        if (loss) *loss = n_valid ? (float)(sum / n_valid) : NAN;
    }
    return GPTC_OK;
}

const float *gptc_model_logits(const gptc_model *m) { return m->logits_valid ? m->logits : NULL; }

void gptc_model_zero_grad(gptc_model *m) {
    if (m->grads) memset(m->grads, 0, m->n_params * sizeof(float));
}

gptc_status gptc_model_backward(gptc_ctx *ctx, gptc_model *m, float loss_scale) {
    const gptc_config *c = &m->cfg;
    if (!m->has_grad_acts || !m->grads)
        return gptc_fail(ctx, GPTC_EINVAL, "backward: the model was not prepared for training "
                                           "(call gptc_model_prepare with training=1 before the forward pass)");
    if (!m->last_has_targets || !m->logits_valid)
        return gptc_fail(ctx, GPTC_EINVAL, "backward: needs a forward pass with targets first");
    set_threads(ctx);
    model_state *st = m->state;
    int B = m->last_B, T = m->last_T, N = B * T, C = c->n_embd, V = c->vocab_size, NH = c->n_head,
        I = n_inner(c);
    int exact_gelu = !strcmp(c->activation_function, "gelu");
    float pe = m->training ? c->embd_pdrop : 0, pa = m->training ? c->attn_pdrop : 0,
          pr = m->training ? c->resid_pdrop : 0;
    uint64_t call = m->last_call;
    size_t NC = (size_t)N * C;

    float *residual = c->n_layer ? st->layers[c->n_layer - 1].res3 : st->encoded;
    size_t tf = gptc_layer_tensor(m, c->n_layer, 0);
    if (c->head == GPTC_HEAD_LM) {
        /* loss = mean over valid positions, times loss_scale */
        float dloss = m->last_n_valid ? loss_scale / (float)m->last_n_valid : 0.0f;
        k_crossentropy_backward(m->logits, m->logits, m->last_targets, N, V, dloss);
        memset(st->dln, 0, NC * sizeof(float));
        size_t th = lm_head_index(m);
        k_lmhead_backward(ctx, st->dln, G(m, th), m->logits, st->lnf, P(m, th), N, C, V);
    } else {
        gptc_head_backward(ctx, m, st->lnf, st->dln, m->logits, B, T, loss_scale);
    }
    m->logits_valid = 0; /* the logits buffer now holds their gradient */
    memset(st->dres, 0, NC * sizeof(float));
    k_layernorm_backward(st->dres, G(m, tf), G(m, tf + 1), st->dln, residual, P(m, tf), st->lnf_mean,
                         st->lnf_rstd, N, C);
    for (int l = c->n_layer - 1; l >= 0; l--) {
        layer_acts *a = &st->layers[l];
        size_t t0 = gptc_layer_tensor(m, l, 0);
        const float *res_in = l ? st->layers[l - 1].res3 : st->encoded;
        /* MLP branch: res3 = res2 + dropout(fcproj) */
        memcpy(st->dtmp, st->dres, NC * sizeof(float));
        k_dropout(st->dtmp, NC, pr, site_seed(m, call, 3 + 3 * (uint64_t)l), 0);
        memset(st->dfch_gelu, 0, (size_t)N * I * sizeof(float));
        k_matmul_backward(ctx, st->dfch_gelu, G(m, t0 + GPTC_T_MPROJ_W), G(m, t0 + GPTC_T_MPROJ_B), st->dtmp,
                          a->fch_gelu, P(m, t0 + GPTC_T_MPROJ_W), N, I, C);
        LORA_BWD(GPTC_LORA_MPROJ, a->fch_gelu, st->dtmp, st->dfch_gelu, I, C);
        memset(st->dfch, 0, (size_t)N * I * sizeof(float));
        k_gelu_backward(st->dfch, a->fch, st->dfch_gelu, (size_t)N * I, exact_gelu);
        memset(st->dln, 0, NC * sizeof(float));
        k_matmul_backward(ctx, st->dln, G(m, t0 + GPTC_T_FC_W), G(m, t0 + GPTC_T_FC_B), st->dfch, a->ln2,
                          P(m, t0 + GPTC_T_FC_W), N, C, I);
        LORA_BWD(GPTC_LORA_FC, a->ln2, st->dfch, st->dln, C, I);
        k_layernorm_backward(st->dres, G(m, t0 + GPTC_T_LN2_W), G(m, t0 + GPTC_T_LN2_B), st->dln, a->res2,
                             P(m, t0 + GPTC_T_LN2_W), a->ln2_mean, a->ln2_rstd, N, C);
        /* attention branch: res2 = res_in + dropout(attproj) */
        memcpy(st->dtmp, st->dres, NC * sizeof(float));
        k_dropout(st->dtmp, NC, pr, site_seed(m, call, 2 + 3 * (uint64_t)l), 0);
        memset(st->datty, 0, NC * sizeof(float));
        k_matmul_backward(ctx, st->datty, G(m, t0 + GPTC_T_APROJ_W), G(m, t0 + GPTC_T_APROJ_B), st->dtmp, a->atty,
                          P(m, t0 + GPTC_T_APROJ_W), N, C, C);
        LORA_BWD(GPTC_LORA_APROJ, a->atty, st->dtmp, st->datty, C, C);
        memset(st->dqkv, 0, NC * 3 * sizeof(float));
        k_attention_backward(ctx, st->dqkv, st->dpreatt, st->datt, st->datty, a->qkv, a->att, B, T, C, NH,
                             c->causal, pa, site_seed(m, call, 1 + 3 * (uint64_t)l), 0);
        memset(st->dln, 0, NC * sizeof(float));
        k_matmul_backward(ctx, st->dln, G(m, t0 + GPTC_T_QKV_W), G(m, t0 + GPTC_T_QKV_B), st->dqkv, a->ln1,
                          P(m, t0 + GPTC_T_QKV_W), N, C, 3 * C);
        LORA_BWD(GPTC_LORA_QKV, a->ln1, st->dqkv, st->dln, C, 3 * C);
        k_layernorm_backward(st->dres, G(m, t0 + GPTC_T_LN1_W), G(m, t0 + GPTC_T_LN1_B), st->dln, res_in,
                             P(m, t0 + GPTC_T_LN1_W), a->ln1_mean, a->ln1_rstd, N, C);
    }
    if (m->tensors[0].trainable || m->tensors[1].trainable) {
        k_dropout(st->dres, NC, pe, site_seed(m, call, 0), 0);
        k_embed_backward(G(m, 0), G(m, 1), st->dres, m->last_tokens, B, T, C);
    }
    return GPTC_OK;
}

float gptc_model_clip_grad(gptc_model *m, float max_norm) {
    if (!m->grads) return 0.0f;
    float norm = (float)sqrt(k_sumsq(m->grads, m->n_params));
    if (max_norm > 0 && norm > max_norm) k_scale(m->grads, m->n_params, max_norm / (norm + 1e-6f));
    return norm;
}

gptc_adamw_params gptc_adamw_default_params(void) {
    gptc_adamw_params p = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
    return p;
}

gptc_status gptc_model_adamw_step(gptc_ctx *ctx, gptc_model *m, const gptc_adamw_params *p, int t) {
    if (!m->grads) return gptc_fail(ctx, GPTC_EINVAL, "adamw: the model has no gradients (not prepared for training)");
    if (t < 1) return gptc_fail(ctx, GPTC_EINVAL, "adamw: step %d, steps count from 1", t);
    if (!m->adam_m) {
        m->adam_m = gptc_calloc(ctx, m->n_params, sizeof(float), "AdamW first moments");
        m->adam_v = gptc_calloc(ctx, m->n_params, sizeof(float), "AdamW second moments");
        if (!m->adam_m || !m->adam_v) return GPTC_ENOMEM;
    }
    set_threads(ctx);
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *tt = &m->tensors[i];
        if (!tt->trainable) continue;
        size_t o = tt->offset;
        k_adamw(m->params + o, m->grads + o, m->adam_m + o, m->adam_v + o, tt->numel, p->lr, p->beta1, p->beta2,
                p->eps, tt->decay ? p->weight_decay : 0.0f, t);
    }
    return GPTC_OK;
}

gptc_status gptc_model_attention(gptc_ctx *ctx, gptc_model *m, const int32_t *tokens, int T, int layer, float *out) {
    if (layer < 0 || layer >= m->cfg.n_layer)
        return gptc_fail(ctx, GPTC_ERANGE, "layer %d is out of range [0, %d)", layer, m->cfg.n_layer);
    int was = m->training;
    m->training = 0;
    m->capture = out;
    m->capture_layer = layer;
    gptc_status s = gptc_model_forward(ctx, m, tokens, NULL, 1, T, NULL);
    m->capture = NULL;
    m->training = was;
    return s;
}

gptc_status gptc_model_set_head(gptc_ctx *ctx, gptc_model *m, int head, int num_labels, const char *const *labels,
                                uint64_t seed) {
    if (m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "set the head before adding a LoRA adapter");
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
    out->data = m->params + t->offset;
    out->grad = m->grads ? m->grads + t->offset : NULL;
    out->m = m->adam_m ? m->adam_m + t->offset : NULL;
    out->v = m->adam_v ? m->adam_v + t->offset : NULL;
    return GPTC_OK;
}
