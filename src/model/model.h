/* model.h: the in-memory GPT model (internal). Parameters live in one buffer, split
 * into tensors by a table in Hugging Face order and names; gradients, AdamW moments and
 * activations are separate buffers of the same shapes, allocated once. */
#ifndef GPTC_MODEL_H
#define GPTC_MODEL_H

#include "../core/core.h"

#define GPTC_MAX_TENSORS_PER_LAYER 12

typedef struct gptc_ptensor {
    char name[64];   /* Hugging Face name without "transformer." ("h.3.mlp.c_fc.weight") */
    int ndim;
    int64_t shape[2];
    size_t numel;
    size_t offset;   /* in floats, into params / grads / m / v */
    int decay;       /* AdamW weight decay applies (2-D tensors) */
    int kind;        /* GPTC_TK_BASE, GPTC_TK_HEAD (score, qa_outputs), GPTC_TK_LORA */
    int trainable;   /* 0: frozen (no gradient, no update) */
} gptc_ptensor;

enum { GPTC_TK_BASE = 0, GPTC_TK_HEAD, GPTC_TK_LORA };
/* LoRA targets inside a block */
enum { GPTC_LORA_QKV = 0, GPTC_LORA_APROJ, GPTC_LORA_FC, GPTC_LORA_MPROJ, GPTC_LORA_TARGETS };

/* Indices of a layer's tensors, in table order. */
enum {
    GPTC_T_LN1_W, GPTC_T_LN1_B, GPTC_T_QKV_W, GPTC_T_QKV_B, GPTC_T_APROJ_W, GPTC_T_APROJ_B,
    GPTC_T_LN2_W, GPTC_T_LN2_B, GPTC_T_FC_W, GPTC_T_FC_B, GPTC_T_MPROJ_W, GPTC_T_MPROJ_B,
    GPTC_T_PER_LAYER
};

struct gptc_model {
    gptc_config cfg;
    gptc_ptensor *tensors;  /* wte, wpe, h.0.* ... h.{L-1}.*, ln_f.weight, ln_f.bias */
    size_t n_tensors;
    size_t n_params;
    float *params;
    float *grads;           /* NULL until training is prepared */
    float *adam_m, *adam_v; /* NULL until the first AdamW step */
    /* activations: allocated by gptc_model_prepare for max_B x max_T */
    int max_B, max_T, has_grad_acts;
    float *acts;
    size_t acts_floats;
    float *logits;          /* (B, T, V) view into acts */
    int last_B, last_T, last_has_targets, last_n_valid;
    int logits_valid;       /* 0 after backward: the buffer then holds dlogits */
    uint64_t last_call;     /* dropout stream of the last forward */
    int32_t *last_tokens, *last_targets; /* copies, (max_B * max_T) each */
    int training;
    uint64_t dropout_seed, dropout_calls;
    void *state;            /* gpt2.c private activation views */
    /* LoRA: lora_idx[l * GPTC_LORA_TARGETS + t] = index of A (B follows), -1 when absent */
    int lora_r;
    float lora_alpha, lora_dropout;
    char lora_targets[128];
    int *lora_idx;
    float *class_weights;   /* CLASSIFY loss weights (num_labels) or NULL */
    int *cls_index;         /* CLASSIFY: the position pooled per row of the last forward */
    double *head_tmp;       /* QA backward: max_T doubles */
    float *capture;         /* gptc_model_attention: copy layer capture_layer's probabilities here */
    int capture_layer;
};

/* Index of the first tensor of layer l, and named tensor pointers. */
static inline size_t gptc_layer_tensor(const struct gptc_model *m, int l, int which) {
    return 2 + (size_t)l * GPTC_T_PER_LAYER + (size_t)which;
}
/* Builds the tensor table and allocates params (zeroed) for cfg. */
gptc_status gptc_model_alloc(gptc_ctx *ctx, const gptc_config *cfg, gptc_model **out);
/* Index of the tensor named name, or -1. */
long gptc_model_find(const struct gptc_model *m, const char *name);

/* heads.c: the task heads on the final hidden states h (N = B*T rows of C).
 * Forward writes the head's logits and the loss (when targets); backward writes dh. */
gptc_status gptc_head_forward(gptc_ctx *ctx, struct gptc_model *m, const float *h, const int32_t *tokens,
                              const int32_t *targets, int B, int T, float *logits, float *loss);
void gptc_head_backward(gptc_ctx *ctx, struct gptc_model *m, const float *h, float *dh, float *dlogits, int B, int T,
                        float loss_scale);
size_t gptc_head_logits_floats(const gptc_config *c, int B, int T);

/* lora.c: the adapter path of one targeted layer. u (N, r) is kept for backward;
 * xd is scratch of N * in floats. */
void gptc_lora_forward(gptc_ctx *ctx, const struct gptc_model *m, int layer, int target, const float *x, float *out,
                       float *u, float *xd, int N, int in, int outc, uint64_t seed);
void gptc_lora_backward(gptc_ctx *ctx, struct gptc_model *m, int layer, int target, const float *x, const float *dout,
                        float *dx, const float *u, float *xd, float *du, int N, int in, int outc, uint64_t seed);

/* config.json (GPT2Config field names) <-> gptc_config. Unknown fields are ignored;
 * wrong types or missing required fields fail naming the file and field. */
gptc_status gptc_config_load_json(gptc_ctx *ctx, const char *path, gptc_config *out);
gptc_status gptc_config_save_json(gptc_ctx *ctx, const gptc_config *cfg, const char *path);

#endif
