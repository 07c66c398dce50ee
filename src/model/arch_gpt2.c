/* arch_gpt2.c: GPT-2 as an entry of the architecture table: its tensors in Hugging
 * Face's order and names (Conv1D weights [in, out]), their roles in the one block
 * (pre-norm, fused qkv, causal attention, GELU MLP), the task heads' tensors, and
 * GPT-2's initialization (GPT2PreTrainedModel._init_weights). */
#include "model.h"
#include <math.h>
#include <string.h>

static int n_inner(const gptc_config *c) { return c->n_inner > 0 ? c->n_inner : 4 * c->n_embd; }

static void build(gptc_model *m, size_t *off, size_t *offl) {
    const gptc_config *c = &m->cfg;
    int64_t L = c->n_layer, C = c->n_embd, V = c->vocab_size, P = c->n_positions, I = n_inner(c);
    gptc_dtype wd = m->wdtype; /* block matrices and an untied head */
    char name[64];
#define ADD(field, d0, d1, layout, kind, dt) (field) = gptc_model_add_tensor(m, name, d0, d1, layout, kind, dt, off, offl)
#define NAME(...) snprintf(name, sizeof name, __VA_ARGS__)
    NAME("wte.weight"); ADD(m->g.wte, V, C, GPTC_W_OUT_IN, GPTC_TK_BASE, GPTC_F32);
    NAME("wpe.weight"); ADD(m->g.wpe, P, C, GPTC_W_OUT_IN, GPTC_TK_BASE, GPTC_F32);
    for (int64_t l = 0; l < L; l++) {
        gptc_layer *y = &m->layers[l];
        NAME("h.%lld.ln_1.weight", (long long)l); ADD(y->ln1_w, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.ln_1.bias", (long long)l); ADD(y->ln1_b, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.attn.c_attn.weight", (long long)l); ADD(y->qkv_w, C, 3 * C, GPTC_W_IN_OUT, GPTC_TK_BASE, wd);
        NAME("h.%lld.attn.c_attn.bias", (long long)l); ADD(y->qkv_b, 3 * C, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.attn.c_proj.weight", (long long)l); ADD(y->o_w, C, C, GPTC_W_IN_OUT, GPTC_TK_BASE, wd);
        NAME("h.%lld.attn.c_proj.bias", (long long)l); ADD(y->o_b, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.ln_2.weight", (long long)l); ADD(y->ln2_w, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.ln_2.bias", (long long)l); ADD(y->ln2_b, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.mlp.c_fc.weight", (long long)l); ADD(y->fc_w, C, I, GPTC_W_IN_OUT, GPTC_TK_BASE, wd);
        NAME("h.%lld.mlp.c_fc.bias", (long long)l); ADD(y->fc_b, I, 0, 0, GPTC_TK_BASE, GPTC_F32);
        NAME("h.%lld.mlp.c_proj.weight", (long long)l); ADD(y->proj_w, I, C, GPTC_W_IN_OUT, GPTC_TK_BASE, wd);
        NAME("h.%lld.mlp.c_proj.bias", (long long)l); ADD(y->proj_b, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
    }
    NAME("ln_f.weight"); ADD(m->g.ln_f_w, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
    NAME("ln_f.bias"); ADD(m->g.ln_f_b, C, 0, 0, GPTC_TK_BASE, GPTC_F32);
    if (c->head == GPTC_HEAD_LM && !c->tie_word_embeddings) {
        NAME("lm_head.weight"); ADD(m->g.head_w, V, C, GPTC_W_OUT_IN, GPTC_TK_BASE, wd);
    } else if (c->head == GPTC_HEAD_CLASSIFY) {
        NAME("score.weight"); ADD(m->g.head_w, c->num_labels, C, GPTC_W_OUT_IN, GPTC_TK_HEAD, GPTC_F32);
    } else if (c->head == GPTC_HEAD_QA) {
        NAME("qa_outputs.weight"); ADD(m->g.head_w, 2, C, GPTC_W_OUT_IN, GPTC_TK_HEAD, GPTC_F32);
        NAME("qa_outputs.bias"); ADD(m->g.head_b, 2, 0, 0, GPTC_TK_HEAD, GPTC_F32);
    }
#undef ADD
#undef NAME
}

/* normal(0, 0.02) matrices and embeddings, residual projections 0.02/sqrt(2 n_layer),
 * zero biases, layer-norm weights 1 */
static void init(const gptc_model *m, size_t i, float *x, uint64_t *rng) {
    const gptc_ptensor *t = &m->tensors[i];
    const char *n = t->name;
    size_t len = strlen(n);
    int is_bias = len > 5 && !strcmp(n + len - 5, ".bias");
    if (strstr(n, "ln_") && !is_bias) {
        for (size_t j = 0; j < t->numel; j++) x[j] = 1.0f;
        return;
    }
    if (is_bias) {
        memset(x, 0, t->numel * sizeof *x);
        return;
    }
    float std = strstr(n, "c_proj.weight") ? 0.02f / sqrtf(2.0f * (float)m->cfg.n_layer) : 0.02f;
    gptc_init_normal(x, t->numel, std, rng);
}

static int is_head(const char *name) {
    return !strncmp(name, "lm_head.", 8) || !strncmp(name, "score.", 6) || !strncmp(name, "qa_outputs.", 11);
}

static int alt_name(const gptc_config *c, const char *name, int k, char *buf, size_t cap) {
    (void)c, (void)name, (void)k, (void)buf, (void)cap;
    return 0;
}

/* A tied head saved anyway (as some exporters do): same shape as wte, values ignored. */
static int skippable(const gptc_model *m, const char *name, int64_t want[2]) {
    if (!m->cfg.tie_word_embeddings || strcmp(name, "lm_head.weight") != 0) return 0;
    want[0] = m->cfg.vocab_size;
    want[1] = m->cfg.n_embd;
    return 2;
}

const gptc_arch gptc_arch_gpt2 = {"gpt2", "transformer.", build, init, is_head, alt_name, skippable, "wte.weight"};

const gptc_arch *gptc_arch_for(const gptc_config *cfg) {
    return cfg->arch == GPTC_ARCH_BERT ? &gptc_arch_bert : cfg->arch == GPTC_ARCH_MARIAN ? &gptc_arch_marian : &gptc_arch_gpt2;
}
