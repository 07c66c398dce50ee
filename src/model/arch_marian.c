/* arch_marian.c: the encoder-decoder Transformer as Hugging Face's MarianMTModel names
 * it: its tensors (nn.Linear weights [out, in]) under "model." in state dicts
 * (model.shared, model.encoder/decoder.embed_tokens when the embeddings are not
 * shared, model.encoder.layers.N.{self_attn.{k,v,q,out}_proj, self_attn_layer_norm,
 * fc1, fc2, final_layer_norm}, model.decoder.layers.N.{self_attn, self_attn_layer_norm,
 * encoder_attn, encoder_attn_layer_norm, fc1, fc2, final_layer_norm}), lm_head.weight
 * (untied) and final_logits_bias [1, V] (a buffer in transformers: frozen here) beside
 * it; their roles in the one block (post-norm, separate q/k/v, the decoder's
 * cross-attention in the cross fields of gptc_layer; the model's layers are the
 * encoder's then the decoder's), and MarianPreTrainedModel._init_weights. The
 * sinusoidal position tables are computed (gptc_model_alloc), never stored: files that
 * hold them (model.{encoder,decoder}.embed_positions.weight) have them skipped. */
#include "model.h"
#include <math.h>
#include <string.h>

static void build(gptc_model *m, size_t *off, size_t *offl) {
    const gptc_config *c = &m->cfg;
    int64_t C = c->n_embd, V = c->vocab_size;
    gptc_dtype wd = m->wdtype;
    const int OI = GPTC_W_OUT_IN, BASE = GPTC_TK_BASE, F32 = GPTC_F32;
    char name[64];
#define ADD(field, d0, d1, dt) (field) = gptc_model_add_tensor(m, name, d0, d1, OI, BASE, dt, off, offl)
#define NAME(...) snprintf(name, sizeof name, __VA_ARGS__)
#define LIN(wf, bf, out, in, ...)                                                                                   \
    do {                                                                                                             \
        NAME(__VA_ARGS__);                                                                                           \
        strcat(name, ".weight");                                                                                     \
        ADD(wf, out, in, wd);                                                                                        \
        NAME(__VA_ARGS__);                                                                                           \
        strcat(name, ".bias");                                                                                       \
        ADD(bf, out, 0, F32);                                                                                        \
    } while (0)
#define NORM(wf, bf, ...)                                                                                           \
    do {                                                                                                             \
        NAME(__VA_ARGS__);                                                                                           \
        strcat(name, ".weight");                                                                                     \
        ADD(wf, C, 0, F32);                                                                                          \
        NAME(__VA_ARGS__);                                                                                           \
        strcat(name, ".bias");                                                                                       \
        ADD(bf, C, 0, F32);                                                                                          \
    } while (0)
    if (c->share_embeddings) {
        NAME("shared.weight"); ADD(m->g.wte, V, C, F32);
        m->g.enc_wte = m->g.wte;
    } else {
        NAME("encoder.embed_tokens.weight"); ADD(m->g.enc_wte, V, C, F32);
        NAME("decoder.embed_tokens.weight"); ADD(m->g.wte, V, C, F32);
    }
    for (int l = 0; l < c->n_layer; l++) {
        gptc_layer *y = &m->layers[l];
        int enc = l < c->enc_layers, n = enc ? l : l - c->enc_layers;
        const char *side = enc ? "encoder" : "decoder";
        int I = enc ? c->enc_n_inner : c->n_inner;
        LIN(y->k_w, y->k_b, C, C, "%s.layers.%d.self_attn.k_proj", side, n);
        LIN(y->v_w, y->v_b, C, C, "%s.layers.%d.self_attn.v_proj", side, n);
        LIN(y->q_w, y->q_b, C, C, "%s.layers.%d.self_attn.q_proj", side, n);
        LIN(y->o_w, y->o_b, C, C, "%s.layers.%d.self_attn.out_proj", side, n);
        NORM(y->ln1_w, y->ln1_b, "%s.layers.%d.self_attn_layer_norm", side, n);
        if (!enc) {
            LIN(y->xk_w, y->xk_b, C, C, "decoder.layers.%d.encoder_attn.k_proj", n);
            LIN(y->xv_w, y->xv_b, C, C, "decoder.layers.%d.encoder_attn.v_proj", n);
            LIN(y->xq_w, y->xq_b, C, C, "decoder.layers.%d.encoder_attn.q_proj", n);
            LIN(y->xo_w, y->xo_b, C, C, "decoder.layers.%d.encoder_attn.out_proj", n);
            NORM(y->lnx_w, y->lnx_b, "decoder.layers.%d.encoder_attn_layer_norm", n);
        }
        LIN(y->fc_w, y->fc_b, I, C, "%s.layers.%d.fc1", side, n);
        LIN(y->proj_w, y->proj_b, C, I, "%s.layers.%d.fc2", side, n);
        NORM(y->ln2_w, y->ln2_b, "%s.layers.%d.final_layer_norm", side, n);
    }
    if (!c->tie_word_embeddings) {
        NAME("lm_head.weight"); ADD(m->g.head_w, V, C, wd);
    }
    NAME("final_logits_bias"); ADD(m->g.head_b, 1, V, F32);
    /* a registered buffer in MarianMTModel (zeros unless a checkpoint says otherwise):
     * read and written, never trained */
    m->tensors[m->g.head_b].trainable = 0;
    m->tensors[m->g.head_b].decay = 0;
#undef NORM
#undef LIN
#undef ADD
#undef NAME
}

/* normal(0, init_std = 0.02) for Linear and Embedding weights, the pad row of the
 * embeddings zero (nn.Embedding's padding_idx), zero biases and final_logits_bias,
 * LayerNorm weights 1 and biases 0 */
static void init(const gptc_model *m, size_t i, float *x, uint64_t *rng) {
    const gptc_ptensor *t = &m->tensors[i];
    if (t->ndim == 1 || (int)i == m->g.head_b) {
        float v = gptc_ends_with(t->name, "layer_norm.weight") ? 1.0f : 0.0f;
        for (size_t j = 0; j < t->numel; j++) x[j] = v;
        return;
    }
    gptc_init_normal(x, t->numel, 0.02, rng);
    int pad = m->cfg.pad_token_id;
    if (((int)i == m->g.wte || (int)i == m->g.enc_wte) && pad >= 0 && pad < m->cfg.vocab_size)
        memset(x + (size_t)pad * m->cfg.n_embd, 0, (size_t)m->cfg.n_embd * sizeof *x);
}

static int is_head(const char *name) { return !strncmp(name, "lm_head.", 8) || !strcmp(name, "final_logits_bias"); }

/* A file may hold a tied table under any of its names (converters keep one of them:
 * save_pretrained model.shared, others the first in sorted order): the shared table
 * under model.encoder/decoder.embed_tokens or, tied, lm_head; the decoder's unshared
 * table, tied, under lm_head. */
static int alt_name(const gptc_config *c, const char *name, int k, char *buf, size_t cap) {
    static const char *const shared[] = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"};
    int n = 0;
    const char *const *alts = NULL;
    if (!strcmp(name, "shared.weight")) alts = shared, n = c->tie_word_embeddings ? 3 : 2;
    else if (!strcmp(name, "decoder.embed_tokens.weight") && c->tie_word_embeddings) alts = shared + 2, n = 1;
    if (k < 0 || k >= n) return 0;
    snprintf(buf, cap, "%s", alts[k]);
    return 1;
}

/* What MarianMTModel loads beside the table: the stored sinusoidal tables, the tied
 * copies of the shared embedding (model.encoder/decoder.embed_tokens) and a tied
 * lm_head, each of its shape (their values are the table's). */
static int skippable(const gptc_model *m, const char *name, int64_t want[2]) {
    const gptc_config *c = &m->cfg;
    const char *b = !strncmp(name, "model.", 6) ? name + 6 : name;
    want[1] = c->n_embd;
    if (!strcmp(b, "encoder.embed_positions.weight") || !strcmp(b, "decoder.embed_positions.weight")) {
        want[0] = c->n_positions;
        return 2;
    }
    want[0] = c->vocab_size;
    if (c->share_embeddings && (!strcmp(b, "encoder.embed_tokens.weight") || !strcmp(b, "decoder.embed_tokens.weight")))
        return 2;
    if (c->tie_word_embeddings && !strcmp(name, "lm_head.weight")) return 2;
    return 0;
}

const gptc_arch gptc_arch_marian = {"marian", "model.", build, init, is_head, alt_name, skippable, "shared.weight"};

/* Row p of the sinusoidal table (MarianSinusoidalPositionalEmbedding, computed in double
 * as numpy does and rounded to float): sin(p / 10000^(2j/D)) for j < ceil(D/2), then
 * cos(p / 10000^(2j/D)) for j < floor(D/2). */
void gptc_sinusoid_table(float *out, int P, int D) {
    int half = (D + 1) / 2;
    for (int p = 0; p < P; p++) {
        float *r = out + (size_t)p * D;
        for (int j = 0; j < half; j++) r[j] = (float)sin(p / pow(10000.0, 2.0 * j / D));
        for (int j = 0; j < D / 2; j++) r[half + j] = (float)cos(p / pow(10000.0, 2.0 * j / D));
    }
}
