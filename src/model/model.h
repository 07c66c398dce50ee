/* model.h: the in-memory model (internal). An architecture (arch.c) names every tensor
 * by its Hugging Face name and role; a model holds the tensor table, one parameter
 * buffer split by offsets, and per layer a struct of named tensor indices (-1 where a
 * tensor is absent). Weights only: activations live in a gptc_workspace, gradients in
 * gptc_grads, optimizer moments in train/'s gptc_adamw, KV caches in infer/'s session. */
#ifndef GPTC_MODEL_H
#define GPTC_MODEL_H

#include "../core/core.h"
#include "../kernels/ops.h"
#include <string.h>

typedef struct gptc_ptensor {
    char name[64];   /* Hugging Face name without "transformer." ("h.3.mlp.c_fc.weight") */
    int ndim;
    int64_t shape[2];
    size_t numel;
    size_t offset;   /* F32: in floats into params (and grads); BF16/F16: in elements into
                        lowp; q8_0/q4_0/q4_k: in bytes into qdata */
    gptc_dtype dtype;/* F32, or the low-precision or quantized type a matrix is kept in
                        (inference); quantized matrices lie [out, in] whatever layout says */
    gptc_wlayout layout; /* 2-D: [in, out] (Conv1D) or [out, in] (nn.Linear, heads) */
    int decay;       /* AdamW weight decay applies (2-D tensors) */
    int kind;        /* GPTC_TK_BASE, GPTC_TK_HEAD (score, qa_outputs), GPTC_TK_LORA */
    int trainable;   /* 0: frozen (no gradient, no update) */
} gptc_ptensor;

enum { GPTC_TK_BASE = 0, GPTC_TK_HEAD, GPTC_TK_LORA };
/* LoRA targets inside a block: GPT-2's PEFT module names attn.c_attn, attn.c_proj, mlp.c_fc,
 * mlp.c_proj; BERT's attention.output.dense, intermediate.dense, output.dense (the APROJ,
 * FC, MPROJ slots) and attention.self.query, .key, .value (Q, K, V) */
enum { GPTC_LORA_QKV = 0, GPTC_LORA_APROJ, GPTC_LORA_FC, GPTC_LORA_MPROJ, GPTC_LORA_Q, GPTC_LORA_K, GPTC_LORA_V,
       GPTC_LORA_TARGETS };

/* The tensors of one block, by role: index into the model's table, -1 when absent.
 * GPT-2 fills the pre-norm, fused-qkv and MLP fields; the rest are the places of the
 * options other architectures need (separate q/k/v projections, cross-attention). */
typedef struct gptc_layer {
    int ln1_w, ln1_b;          /* norm of the attention sub-block (pre-norm: before it; post-norm: after) */
    int qkv_w, qkv_b;          /* fused q, k, v projection [C, 3C] */
    int q_w, q_b, k_w, k_b, v_w, v_b; /* separate projections */
    int o_w, o_b;              /* attention output projection */
    int lnx_w, lnx_b;          /* norm of the cross-attention sub-block */
    int xq_w, xq_b, xk_w, xk_b, xv_w, xv_b, xo_w, xo_b; /* cross-attention over an encoder output */
    int ln2_w, ln2_b;          /* norm of the MLP sub-block */
    int fc_w, fc_b, proj_w, proj_b; /* MLP: C -> I, activation, I -> C */
    int lora[GPTC_LORA_TARGETS]; /* index of LoRA A (B follows), -1 when not adapted */
} gptc_layer;

/* Tensors outside the blocks, by role. */
typedef struct gptc_globals {
    int wte, wpe, wtt;        /* token, position, token-type embeddings */
    int ln_emb_w, ln_emb_b;   /* embedding layer norm (BERT) */
    int ln_f_w, ln_f_b;       /* final norm (pre-norm stacks) */
    int head_w, head_b;       /* untied lm_head, score, qa_outputs, BERT's classifier and untied
                                 cls.predictions.decoder; -1: LM head tied to wte */
    int pool_w, pool_b;       /* BERT's pooler: tanh(dense(h[CLS])) */
    int mlm_w, mlm_b, mlm_ln_w, mlm_ln_b, mlm_bias; /* BERT's MLM transform (dense, act, norm) and decoder bias */
    int nsp_w, nsp_b;         /* BERT's next-sentence head on the pooled output */
    int enc_wte;              /* Marian: the encoder's token embedding (== wte when shared) */
} gptc_globals;

/* Block options read from the config once, so the block code does not parse strings. */
typedef struct gptc_block_opts {
    int causal, pre_norm, cross_attention;
    gptc_act_kind act;
} gptc_block_opts;

struct gptc_arch;
struct gptc_head_ops;

struct gptc_model {
    gptc_config cfg;
    const struct gptc_arch *arch;
    const struct gptc_head_ops *head;
    gptc_block_opts opts;
    gptc_ptensor *tensors;
    size_t n_tensors, cap_tensors;
    size_t n_params;        /* floats in params */
    float *params;
    void *params_map;       /* params lies in this private mapping of the file (zero-copy load), or NULL */
    size_t params_map_len;
    uint16_t *lowp;         /* matrices kept as BF16 / F16 (inference), or NULL */
    size_t n_lowp;
    unsigned char *qdata;   /* matrices kept in ggml's blocks (inference), or NULL */
    size_t n_qbytes;
    gptc_dtype wdtype;      /* GPTC_F32 unless loaded to keep a low-precision type */
    gptc_globals g;
    gptc_layer *layers;     /* n_layer (Marian: the encoder's, then the decoder's) */
    float *sinus;           /* (n_positions, n_embd) sinusoidal positions, computed (sinusoidal_pos), or NULL */
    /* LoRA */
    int lora_r;
    float lora_alpha, lora_dropout;
    char lora_targets[128];
};

/* ---- tensors (weights.c) */
/* Builds the tensor table from the architecture and allocates params (zeroed) for cfg.
 * wdtype != F32 keeps the block matrices and an untied head in that type. */
gptc_status gptc_model_alloc(gptc_ctx *ctx, const gptc_config *cfg, gptc_dtype wdtype, gptc_model **out);
/* The same, with dtype_of asked for every 2-D base tensor (name, shape, layout as the
 * architecture made it): a quantized dtype it returns (GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K,
 * when the input size is a multiple of the block) replaces the tensor's; any other
 * answer keeps it. The model's weight dtype becomes the first quantized type. */
typedef gptc_dtype (*gptc_dtype_fn)(void *user, const gptc_ptensor *t);
gptc_status gptc_model_alloc_with(gptc_ctx *ctx, const gptc_config *cfg, gptc_dtype wdtype, gptc_dtype_fn dtype_of,
                                  void *user, gptc_model **out);
/* gptc_model_alloc_with in two steps: the table, BF16/F16 and block buffers (params
 * NULL), then the zeroed F32 parameter buffer (model_io.c maps a file there instead). */
gptc_status gptc_model_alloc_table(gptc_ctx *ctx, const gptc_config *cfg, gptc_dtype wdtype, gptc_dtype_fn dtype_of,
                                   void *user, gptc_model **out);
gptc_status gptc_model_alloc_params(gptc_ctx *ctx, gptc_model *m);
/* Input and output sizes of 2-D tensor t (its layout read). */
static inline int gptc_tensor_in(const gptc_ptensor *t) {
    return (int)(t->layout == GPTC_W_IN_OUT ? t->shape[0] : t->shape[1]);
}
static inline int gptc_tensor_out(const gptc_ptensor *t) {
    return (int)(t->layout == GPTC_W_IN_OUT ? t->shape[1] : t->shape[0]);
}
/* Frees the parameter buffer (or unmaps the file mapping it lies in); params = NULL. */
void gptc_model_params_release(gptc_model *m);
/* Index of the tensor named name, or -1. */
long gptc_model_find(const gptc_model *m, const char *name);
static inline float *gptc_param(const gptc_model *m, int i) { return i < 0 ? NULL : m->params + m->tensors[i].offset; }
/* The weight descriptor of 2-D tensor i. */
gptc_wdesc gptc_weight(const gptc_model *m, int i);
/* Quantized tensor i from src (its out rows of blocks, ggml's layout): copied into qdata,
 * checked, its scales set side by side (gptc_wdesc.scales). Returns the first row with a
 * non-finite scale (nothing is indexed then), or -1. */
long gptc_model_put_quant(gptc_model *m, int i, const void *src);

/* ---- architectures (arch.c): the GPT-2 entry today */
typedef struct gptc_arch {
    const char *model_type;  /* config.json "model_type" */
    const char *prefix;      /* body prefix in state dicts ("transformer.") */
    /* Appends the tensors of cfg to m's table in Hugging Face's order, filling m->g and
     * m->layers. */
    void (*build)(gptc_model *m, size_t *off, size_t *off_lowp);
    /* Initial values of tensor i (the architecture's _init_weights). */
    void (*init)(const gptc_model *m, size_t i, float *x, uint64_t *rng);
    /* Head tensors sit beside the prefixed body in state dicts ("lm_head.", "cls."). */
    int (*is_head)(const char *name);
    /* The k-th other name (k = 0, 1, ...) the same tensor may carry in a file of config c
     * (BERT's old LayerNorm.gamma / .beta; a Marian shared table under one of its tied
     * names), written into buf; 0 when there is no k-th. */
    int (*alt_name)(const gptc_config *c, const char *name, int k, char *buf, size_t cap);
    /* A file tensor outside m's table that loading skips: 0 unexpected (an error), 1
     * skipped, 2 skipped when its shape is want (a tied head saved anyway). */
    int (*skippable)(const gptc_model *m, const char *name, int64_t want[2]);
    const char *wte_name;    /* the word embedding's name (without prefix) */
} gptc_arch;
const gptc_arch *gptc_arch_for(const gptc_config *cfg);
extern const gptc_arch gptc_arch_gpt2, gptc_arch_bert, gptc_arch_marian;
/* The sinusoidal table (P, D) of MarianSinusoidalPositionalEmbedding (arch_marian.c). */
void gptc_sinusoid_table(float *out, int P, int D);
/* Layers of the decoder (all but an encoder-decoder's encoder layers), their first
 * index, and heads and MLP width of layer l. */
static inline int gptc_dec_first(const gptc_config *c) { return c->arch == GPTC_ARCH_MARIAN ? c->enc_layers : 0; }
static inline int gptc_n_dec_layers(const gptc_config *c) { return c->n_layer - gptc_dec_first(c); }
static inline int gptc_layer_heads(const gptc_config *c, int l) {
    return l < gptc_dec_first(c) ? c->enc_n_head : c->n_head;
}
static inline int gptc_layer_inner(const gptc_config *c, int l) {
    return l < gptc_dec_first(c) ? c->enc_n_inner : c->n_inner > 0 ? c->n_inner : 4 * c->n_embd;
}
/* The widest MLP of any layer. */
static inline int gptc_max_inner(const gptc_config *c) {
    int i = gptc_layer_inner(c, c->n_layer - 1);
    return c->arch == GPTC_ARCH_MARIAN && c->enc_n_inner > i ? c->enc_n_inner : i;
}
/* Seed of dropout site `site` of forward call `call` (block.c; heads use the sites
 * after the blocks' and adapters'). */
uint64_t gptc_site_seed(const gptc_workspace *w, uint64_t call, uint64_t site);
/* Whether name s ends with suffix (the architectures' init and name rules). */
static inline int gptc_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}
/* x[0..n) = normal(0, std) values from the splitmix64 stream rng (Box-Muller, pairs):
 * the architectures' init functions. */
void gptc_init_normal(float *x, size_t n, double std, uint64_t *rng);
/* Appends a tensor (used by build functions and LoRA). d1 == 0: 1-D. */
/* The block each tensor belongs to: layer_of[i] (m->n_tensors entries) is the layer whose
 * fields name tensor i (a LoRA A and the B after it included), -1 for the tensors outside
 * the blocks. */
void gptc_model_tensor_layers(const gptc_model *m, int *layer_of);
int gptc_model_add_tensor(gptc_model *m, const char *name, int64_t d0, int64_t d1, gptc_wlayout layout, int kind,
                          gptc_dtype dtype, size_t *off, size_t *off_lowp);

/* ---- workspace (workspace.c) and the one forward/backward (block.c) */
typedef struct gptc_layer_acts {
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *preatt, *att, *attproj, *res2, *ln2, *ln2_mean, *ln2_rstd,
        *fch, *fch_act, *fcproj, *res3;
    /* the cross-attention sub-block (decoder layers of an encoder-decoder): its norm, the
     * query of the decoder rows, keys and values of the encoder output, the attention,
     * its projection and the residual sum before the norm */
    float *lnx, *lnx_mean, *lnx_rstd, *xq, *xk, *xv, *xatty, *xpreatt, *xatt, *xattproj, *resx;
} gptc_layer_acts;

struct gptc_workspace {
    const gptc_model *m;
    int max_B, max_T, training, rows_only; /* rows_only: a session's scratch (no T x T buffers) */
    size_t model_params;     /* the model's size when the workspace was made (an adapter added since changes it) */
    float *acts;
    size_t acts_floats;
    float *encoded, *lnf, *lnf_mean, *lnf_rstd, *losses, *logits;
    gptc_layer_acts *layers; /* n_layer when training, else 1 shared by every layer */
    float *dres, *dln, *dtmp, *dqkv, *datty, *dpreatt, *datt, *dfch, *dfch_act; /* backward scratch */
    float *lora_u, *lora_x, *lora_du;
    int *row_keys;           /* cache mode: keys per row */
    int last_B, last_T, last_has_targets, last_n_valid, logits_valid;
    uint64_t last_call;
    int32_t *last_tokens, *last_targets;
    int dropout_on;
    uint64_t dropout_seed, dropout_calls;
    float *class_weights;
    int *cls_index;
    double *head_tmp;
    float *capture;
    int capture_layer;
    gptc_layer_hook layer_hook;
    void *layer_hook_user;
    /* encoders (BERT): the embeddings before their norm, token types, padding mask */
    float *emb, *emb_tt, *emb_mean, *emb_rstd, *key_mask;
    int32_t *last_types;
    int has_key_mask;
    float *head_acts;        /* the head's own activations (heads.c) */
    double mlm_sum, nsp_sum; /* BERT pre-training: loss sums and counts of the last forward */
    int mlm_n, nsp_n;
    float label_smoothing;   /* LM cross-entropy (gptc_workspace_set_label_smoothing) */
    /* encoder-decoder: the encoder's embeddings (before dropout: their inputs are kept),
     * its output, its gradient, the source ids, positions and the source length */
    float *enc_encoded, *enc_out, *denc, *pos_emb;
    int32_t *enc_tokens, *pos_ids;
    int last_enc_T;
    int *row_xkeys;          /* cache mode: source keys per row */
};

/* A session's workspace: rows up to `rows` per call, inference only. */
gptc_status gptc_workspace_new_rows(gptc_ctx *ctx, const gptc_model *m, int rows, gptc_workspace **out);

/* A KV cache as the attention sees it: key of layer l, sequence s, position p at
 * k + l * layer_stride + s * seq_stride + p * C (v likewise). Row r of a call is at
 * (row_seq[r], row_pos[r]); its key and value are written before it attends. */
typedef struct gptc_cache_view {
    float *k, *v;
    size_t layer_stride, seq_stride;
    const int *row_seq, *row_pos;
    float *hidden; /* NULL, or (n, C): the final hidden states (after ln_f) of every row */
    /* encoder-decoder: cross-attention keys and values of decoder layer d, sequence s,
     * source position j at xk + d * x_layer_stride + s * x_seq_stride + j * C (xv likewise;
     * decoder layer d's self-attention cache is at layer index d of k, v), and the
     * source length of each sequence */
    const float *xk, *xv;
    size_t x_layer_stride, x_seq_stride;
    const int *src_len;
} gptc_cache_view;

/* The one forward. Without a cache view: B sequences of T tokens at positions 0..T-1,
 * the head's full forward (loss when targets). With one: n = B * T rows at their cache
 * positions; the head's per-row logits of rows [first_logit, n) go to logits. */
gptc_status gptc_forward_impl(gptc_ctx *ctx, gptc_workspace *ws, const int32_t *tokens, const int32_t *token_types,
                              const float *attn_mask, const int32_t *targets, int B, int T, float *loss,
                              const gptc_cache_view *cv, int first_logit, float *logits);
/* Encoder-decoder: the encoder over src (B, T; mask (B, T) or NULL) into ws->enc_out,
 * then into xk and xv (per decoder layer d at d * layer_stride: rows of C floats) the
 * cross-attention keys and values of every decoder layer (sessions). */
gptc_status gptc_encode_impl(gptc_ctx *ctx, gptc_workspace *ws, const int32_t *src, const float *mask, int B, int T,
                             float *xk, float *xv, size_t layer_stride);

struct gptc_grads {
    const gptc_model *m;
    float *data;
    size_t n;
};
/* The factor gradient clipping scales by (torch's clip_grad_norm_: max / (norm + 1e-6)
 * when norm > max > 0), 1 when it does not clip. */
float gptc_clip_coef(float norm, float max_norm);
/* AdamW on the trainable elements [lo, hi) of the parameter buffer, with moments m1, m2
 * holding that range (m1[0] is element lo): gptc_adamw_step is the whole buffer; the
 * ranks of a --zero 1 run update their own ranges (train/ddp.c). */
struct gptc_adamw_params;
gptc_status gptc_adamw_update_range(gptc_ctx *ctx, gptc_model *m, const gptc_grads *g, float *m1, float *m2, size_t lo,
                                    size_t hi, const struct gptc_adamw_params *p, int t);
/* The whole moment buffers (laid out like the parameters). */
void gptc_adamw_moments(const gptc_adamw *o, float **m1, float **m2);
/* gradient of tensor i in g, NULL when frozen or absent */
static inline float *gptc_grad(const gptc_grads *g, int i) {
    return i < 0 || !g->m->tensors[i].trainable ? NULL : g->data + g->m->tensors[i].offset;
}

/* ---- heads (heads.c): a small function table per head kind */
typedef struct gptc_head_ops {
    int head;
    const char *hf_class;    /* "GPT2LMHeadModel", ... */
    int (*width)(const gptc_config *c);                          /* logits per position */
    size_t (*logits_floats)(const gptc_config *c, int B, int T); /* of a full forward */
    /* Full forward on the final hidden states h (B*T rows): logits, and loss when targets. */
    gptc_status (*forward)(gptc_ctx *ctx, gptc_workspace *ws, const float *h, const int32_t *tokens,
                           const int32_t *targets, int B, int T, float *logits, float *loss);
    /* dh (B*T, C) = d loss / d h (written); head gradients added into g. */
    void (*backward)(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, const float *h, float *dh, float *dlogits,
                     int B, int T, float loss_scale);
    /* Per-row logits (sessions): out (n, width); NULL for encoders. */
    void (*rows)(gptc_ctx *ctx, const gptc_model *m, const float *h, int n, float *out);
    /* Floats of the head's own activations (workspace head_acts) for B x T; NULL: none. */
    size_t (*scratch)(const gptc_config *c, int B, int T);
} gptc_head_ops;
const gptc_head_ops *gptc_head_for(const gptc_config *c);

/* ---- lora.c: the adapter path of one targeted layer: out += (alpha/r) drop(x) A^T B^T.
 * u (N, r) is kept for backward; xd is scratch of N * in floats. */
void gptc_lora_forward(gptc_ctx *ctx, const gptc_model *m, int layer, int target, const float *x, float *out,
                       float *u, float *xd, int N, int in, int outc, float p, uint64_t seed);
void gptc_lora_backward(gptc_ctx *ctx, const gptc_model *m, gptc_grads *g, int layer, int target, const float *x,
                        const float *dout, float *dx, const float *u, float *xd, float *du, int N, int in, int outc,
                        float p, uint64_t seed);

/* model_io.c: config.json and generation_config.json (kept when present) of m into dir;
 * whether a Hugging Face name is a head's (stored without "transformer."). */
gptc_status gptc_model_save_configs(gptc_ctx *ctx, const gptc_model *m, const char *dir);
/* gguf_model.c: a GGUF gpt2 file as a model (gptc_model_load_with calls it for a file
 * that starts with the GGUF magic). */
gptc_status gptc_model_load_gguf(gptc_ctx *ctx, const char *path, const gptc_load_params *p, gptc_model **out);

/* config.json (GPT2Config field names) <-> gptc_config. Unknown fields are ignored;
 * wrong types or missing required fields fail naming the file and field. */
gptc_status gptc_config_load_json(gptc_ctx *ctx, const char *path, gptc_config *out);
gptc_status gptc_config_save_json(gptc_ctx *ctx, const gptc_config *cfg, const char *path);

#endif
