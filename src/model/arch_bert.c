/* arch_bert.c: BERT as an entry of the architecture table: its tensors in Hugging
 * Face's order and names (BertForPreTraining / BertForMaskedLM /
 * BertForSequenceClassification / BertForQuestionAnswering; nn.Linear weights [out, in]),
 * their roles in the one block (embeddings word + position + token type then LayerNorm;
 * post-norm layers with separate query / key / value; the pooler, the MLM transform and
 * decoder bias, the NSP head), and BertPreTrainedModel._init_weights. The body is under
 * "bert." in state dicts; "cls.", "classifier." and "qa_outputs." sit beside it. */
#include "model.h"
#include <math.h>
#include <string.h>

static int n_inner(const gptc_config *c) { return c->n_inner > 0 ? c->n_inner : 4 * c->n_embd; }

/* The pooler exists where Hugging Face builds BertModel with add_pooling_layer=True. */
static int has_pooler(const gptc_config *c) {
    return c->head == GPTC_HEAD_CLASSIFY || (c->head == GPTC_HEAD_LM && !c->mlm_only);
}

static void build(gptc_model *m, size_t *off, size_t *offl) {
    const gptc_config *c = &m->cfg;
    int64_t L = c->n_layer, C = c->n_embd, V = c->vocab_size, P = c->n_positions, I = n_inner(c);
    gptc_dtype wd = m->wdtype;
    const int OI = GPTC_W_OUT_IN, BASE = GPTC_TK_BASE, F32 = GPTC_F32;
    char name[64];
#define ADD(field, d0, d1, kind, dt) (field) = gptc_model_add_tensor(m, name, d0, d1, OI, kind, dt, off, offl)
#define NAME(...) snprintf(name, sizeof name, __VA_ARGS__)
#define LIN(wf, bf, out, in, kind, dt, ...)                                                                        \
    do {                                                                                                             \
        NAME(__VA_ARGS__);                                                                                           \
        strcat(name, ".weight");                                                                                     \
        ADD(wf, out, in, kind, dt);                                                                                  \
        NAME(__VA_ARGS__);                                                                                           \
        strcat(name, ".bias");                                                                                       \
        ADD(bf, out, 0, kind, F32);                                                                                  \
    } while (0)
    NAME("embeddings.word_embeddings.weight"); ADD(m->g.wte, V, C, BASE, F32);
    NAME("embeddings.position_embeddings.weight"); ADD(m->g.wpe, P, C, BASE, F32);
    NAME("embeddings.token_type_embeddings.weight"); ADD(m->g.wtt, c->type_vocab_size, C, BASE, F32);
    NAME("embeddings.LayerNorm.weight"); ADD(m->g.ln_emb_w, C, 0, BASE, F32);
    NAME("embeddings.LayerNorm.bias"); ADD(m->g.ln_emb_b, C, 0, BASE, F32);
    for (int64_t l = 0; l < L; l++) {
        gptc_layer *y = &m->layers[l];
        int n = (int)l; /* %d: the longest name fits the table's 64 bytes */
        LIN(y->q_w, y->q_b, C, C, BASE, wd, "encoder.layer.%d.attention.self.query", n);
        LIN(y->k_w, y->k_b, C, C, BASE, wd, "encoder.layer.%d.attention.self.key", n);
        LIN(y->v_w, y->v_b, C, C, BASE, wd, "encoder.layer.%d.attention.self.value", n);
        LIN(y->o_w, y->o_b, C, C, BASE, wd, "encoder.layer.%d.attention.output.dense", n);
        NAME("encoder.layer.%d.attention.output.LayerNorm.weight", n); ADD(y->ln1_w, C, 0, BASE, F32);
        NAME("encoder.layer.%d.attention.output.LayerNorm.bias", n); ADD(y->ln1_b, C, 0, BASE, F32);
        LIN(y->fc_w, y->fc_b, I, C, BASE, wd, "encoder.layer.%d.intermediate.dense", n);
        LIN(y->proj_w, y->proj_b, C, I, BASE, wd, "encoder.layer.%d.output.dense", n);
        NAME("encoder.layer.%d.output.LayerNorm.weight", n); ADD(y->ln2_w, C, 0, BASE, F32);
        NAME("encoder.layer.%d.output.LayerNorm.bias", n); ADD(y->ln2_b, C, 0, BASE, F32);
    }
    if (has_pooler(c)) LIN(m->g.pool_w, m->g.pool_b, C, C, BASE, F32, "pooler.dense");
    if (c->head == GPTC_HEAD_LM) {
        NAME("cls.predictions.bias"); ADD(m->g.mlm_bias, V, 0, BASE, F32);
        LIN(m->g.mlm_w, m->g.mlm_b, C, C, BASE, F32, "cls.predictions.transform.dense");
        NAME("cls.predictions.transform.LayerNorm.weight"); ADD(m->g.mlm_ln_w, C, 0, BASE, F32);
        NAME("cls.predictions.transform.LayerNorm.bias"); ADD(m->g.mlm_ln_b, C, 0, BASE, F32);
        if (!c->tie_word_embeddings) {
            NAME("cls.predictions.decoder.weight"); ADD(m->g.head_w, V, C, BASE, wd);
        }
        if (!c->mlm_only) LIN(m->g.nsp_w, m->g.nsp_b, 2, C, BASE, F32, "cls.seq_relationship");
    } else if (c->head == GPTC_HEAD_CLASSIFY) {
        LIN(m->g.head_w, m->g.head_b, c->num_labels, C, GPTC_TK_HEAD, F32, "classifier");
    } else if (c->head == GPTC_HEAD_QA) {
        LIN(m->g.head_w, m->g.head_b, 2, C, GPTC_TK_HEAD, F32, "qa_outputs");
    }
#undef LIN
#undef ADD
#undef NAME
}

/* normal(0, initializer_range = 0.02) for Linear and Embedding weights, the padding
 * row of the word embeddings zero, zero biases (cls.predictions.bias too), LayerNorm
 * weights 1 and biases 0 */
static void init(const gptc_model *m, size_t i, float *x, uint64_t *rng) {
    const gptc_ptensor *t = &m->tensors[i];
    if (t->ndim == 1) {
        float v = gptc_ends_with(t->name, "LayerNorm.weight") ? 1.0f : 0.0f;
        for (size_t j = 0; j < t->numel; j++) x[j] = v;
        return;
    }
    gptc_init_normal(x, t->numel, 0.02, rng);
    int pad = m->cfg.pad_token_id;
    if ((int)i == m->g.wte && pad >= 0 && pad < m->cfg.vocab_size)
        memset(x + (size_t)pad * m->cfg.n_embd, 0, (size_t)m->cfg.n_embd * sizeof *x);
}

static int is_head(const char *name) {
    return !strncmp(name, "cls.", 4) || !strncmp(name, "classifier.", 11) || !strncmp(name, "qa_outputs.", 11);
}

/* TF-era checkpoints name LayerNorm parameters gamma and beta; the decoder bias is
 * tied to cls.predictions.bias and older files carry only cls.predictions.decoder.bias */
static int alt_name(const gptc_config *c, const char *name, int k, char *buf, size_t cap) {
    (void)c;
    size_t n = strlen(name);
    if (k) return 0;
    if (gptc_ends_with(name, "LayerNorm.weight")) {
        snprintf(buf, cap, "%.*sgamma", (int)(n - 6), name);
        return 1;
    }
    if (gptc_ends_with(name, "LayerNorm.bias")) {
        snprintf(buf, cap, "%.*sbeta", (int)(n - 4), name);
        return 1;
    }
    if (!strcmp(name, "cls.predictions.bias")) {
        snprintf(buf, cap, "cls.predictions.decoder.bias");
        return 1;
    }
    return 0;
}

/* What Hugging Face loads without a warning or drops as an unused head (the I64
 * position_ids buffer is skipped by the safetensors reader): the tied decoder (weight the shape of the word embeddings, bias
 * the shape of cls.predictions.bias), and the pre-training heads and pooler of a file
 * loaded into a class that has none (BertForMaskedLM, ...ForSequenceClassification,
 * ...ForQuestionAnswering from a BertForPreTraining checkpoint). */
static int skippable(const gptc_model *m, const char *name, int64_t want[2]) {
    const gptc_config *c = &m->cfg;
    if (!strncmp(name, "bert.", 5)) name += 5;
    if (!strcmp(name, "cls.predictions.decoder.weight") && c->head == GPTC_HEAD_LM) {
        want[0] = c->vocab_size;
        want[1] = c->n_embd;
        return 2;
    }
    if (!strcmp(name, "cls.predictions.decoder.bias") && c->head == GPTC_HEAD_LM) {
        want[0] = c->vocab_size;
        want[1] = 0;
        return 2;
    }
    if (c->head != GPTC_HEAD_LM && !strncmp(name, "cls.", 4)) return 1;
    if (!has_pooler(c) && !strncmp(name, "pooler.", 7)) return 1;
    if (c->mlm_only && !strncmp(name, "cls.seq_relationship.", 21)) return 1;
    return 0;
}

const gptc_arch gptc_arch_bert = {"bert",   "bert.",  build, init, is_head, alt_name, skippable,
                                  "embeddings.word_embeddings.weight"};
