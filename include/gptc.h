/* gptc.h: the public C API of libgptc, GPT-style transformer language models in C.
 * This header is the contract: every declaration says shapes, ownership and errors.
 * Nothing here prints or exits; failures return a gptc_status and leave a message
 * in the context, read with gptc_errmsg(). */
#ifndef GPTC_H
#define GPTC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPTC_VERSION "0.1.0"

/* ---------------------------------------------------------------- status codes */
typedef enum gptc_status {
    GPTC_OK = 0,
    GPTC_ENOMEM,   /* an allocation failed */
    GPTC_EIO,      /* a file could not be opened, read, written or renamed */
    GPTC_EFORMAT,  /* outside data is malformed (safetensors, JSON, vocab, tokens) */
    GPTC_EINVAL,   /* an argument or configuration value is invalid */
    GPTC_ERANGE,   /* a value is out of range (token id, index, size overflow) */
    GPTC_ENOTSUP,  /* valid but not supported (dtype, activation, encoding) */
    GPTC_EINTERNAL,/* a self-check failed (e.g. a BLAS kernel computed wrong results) */
    GPTC_STATUS_COUNT
} gptc_status;

/* A short English name of a status code ("out of memory", ...). Never NULL. */
const char *gptc_strstatus(gptc_status s);

/* ---------------------------------------------------------------- context
 * A context holds the last error message, the thread count and the compute backend
 * (the BLAS kernel chosen for this CPU). One context per thread of use; a context is
 * not thread-safe, but separate contexts are independent. */
typedef struct gptc_ctx gptc_ctx;

typedef struct gptc_ctx_params {
    int n_threads;      /* 0: all cores the process may use */
    int quiet_backend;  /* reserved, 0 */
    /* 1: run every op on the scalar reference kernels (double accumulation, one
     * thread, slow): the oracle that tests hold the fast kernels against. */
    int reference_kernels;
} gptc_ctx_params;

gptc_ctx_params gptc_ctx_default_params(void);
/* Returns NULL only when memory is exhausted. */
gptc_ctx *gptc_ctx_new(const gptc_ctx_params *params);
void gptc_ctx_free(gptc_ctx *ctx); /* NULL is a no-op */
/* The message of the last failure in ctx ("" when none). Valid until the next call. */
const char *gptc_errmsg(const gptc_ctx *ctx);
int gptc_ctx_n_threads(const gptc_ctx *ctx);

/* The matrix-multiply backend for this CPU, chosen on first use: which library and
 * kernel ("openblas 0.3.21 SkylakeX (openmp)", or "builtin"), and whether its self-check
 * passed. Fills a human-readable description into buf. Returns GPTC_OK or the error
 * of the backend initialization. */
gptc_status gptc_backend_describe(gptc_ctx *ctx, char *buf, size_t buf_size);

/* ---------------------------------------------------------------- memory and seeds
 * The one allocation pair of the library; what it returns (the strings and arrays
 * documented as gptc_alloc'ed) is released with gptc_free. gptc_alloc records an ENOMEM
 * message naming what in ctx when it fails (ctx may be NULL). Memory is 64-byte aligned.
 * gptc_calloc zeroes. Sizes that overflow fail cleanly. */
void *gptc_alloc(gptc_ctx *ctx, size_t n, const char *what);
void *gptc_calloc(gptc_ctx *ctx, size_t count, size_t size, const char *what);
void gptc_free(void *p);

/* splitmix64: the one small seeded generator of the library (initialization streams,
 * data order, dropout seeds, sampling seeds); advances *s. */
static inline uint64_t gptc_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- tokenizer
 * Byte-level BPE as GPT-2 (tiktoken "gpt2"), and the tiktoken encodings
 * r50k_base, p50k_base, cl100k_base, o200k_base. A tokenizer is immutable after
 * loading and may be used from several threads at once. */
typedef struct gptc_tokenizer gptc_tokenizer;

/* Loads from a directory or file: tokenizer.json, vocab.json + merges.txt,
 * encoder.json + vocab.bpe, a .tiktoken rank file, or a GGUF file's tokenizer.ggml.*
 * arrays (model "gpt2"). A directory's tokenizer.json comes
 * first; vocab.json + merges.txt beside it must agree with it (GPTC_EFORMAT naming both
 * files otherwise). A tokenizer.json Split regex runs on PCRE2 unless it is one of
 * tiktoken's patterns (docs/tokenizer.md). */
gptc_status gptc_tokenizer_load(gptc_ctx *ctx, const char *path, gptc_tokenizer **out);
/* One of tiktoken's encodings by name, read from the data directory
 * ($GPTC_DATA_DIR, else the share/gptc folder next to the gptc program). */
gptc_status gptc_tokenizer_from_encoding(gptc_ctx *ctx, const char *name, gptc_tokenizer **out);
void gptc_tokenizer_free(gptc_tokenizer *tok);
/* Number of ids (ordinary + special). */
size_t gptc_tokenizer_n_vocab(const gptc_tokenizer *tok);
/* Id of a special token such as "<|endoftext|>", or -1. */
int32_t gptc_tokenizer_special_id(const gptc_tokenizer *tok, const char *text);

/* Encodes len bytes of text. Special tokens are recognized only when allow_special
 * is non-zero; otherwise their text is encoded as ordinary bytes. *ids is allocated
 * with malloc and owned by the caller (free()). Invalid UTF-8 is encoded byte-wise. */
gptc_status gptc_tokenizer_encode(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *text,
                                  size_t len, int allow_special, int32_t **ids, size_t *n_ids);
/* Decodes ids to raw bytes (which may be invalid UTF-8 when ids split a character).
 * *text is malloc'ed, NUL-terminated, owned by the caller; *len excludes the NUL.
 * An id out of range fails with GPTC_ERANGE naming the id and its position. */
gptc_status gptc_tokenizer_decode(gptc_ctx *ctx, const gptc_tokenizer *tok, const int32_t *ids,
                                  size_t n_ids, char **text, size_t *len);

/* Streaming decode: feed ids one at a time, get only complete UTF-8 characters out.
 * Bytes that can never become valid UTF-8 come out as U+FFFD. */
typedef struct gptc_decoder gptc_decoder;
gptc_status gptc_decoder_new(gptc_ctx *ctx, const gptc_tokenizer *tok, gptc_decoder **out);
void gptc_decoder_free(gptc_decoder *dec);
/* Appends the text completed by id to out (up to out_cap bytes; 64 is always enough
 * for one id of a GPT-2 vocabulary, out_cap >= 4 + longest token). *out_len = bytes written. */
gptc_status gptc_decoder_push(gptc_ctx *ctx, gptc_decoder *dec, int32_t id, char *out,
                              size_t out_cap, size_t *out_len);
/* Flushes what remains (an incomplete character becomes U+FFFD). */
gptc_status gptc_decoder_flush(gptc_ctx *ctx, gptc_decoder *dec, char *out, size_t out_cap,
                               size_t *out_len);

/* Writes vocab.json + merges.txt (+ special_tokens_map.json when there are special
 * tokens) into dir, each atomically. Only for GPT-2-pattern byte-level BPE. */
gptc_status gptc_tokenizer_save(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *dir);
/* A new tokenizer: tok's ids, then the texts that are not special tokens of tok yet as
 * new special tokens, ids n_vocab, n_vocab + 1, ... in order (Hugging Face's
 * add_special_tokens). *n_added (may be NULL) = how many were new. tok is not changed. */
gptc_status gptc_tokenizer_add_special(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *const *texts, size_t n,
                                       gptc_tokenizer **out, size_t *n_added);

/* ---------------------------------------------------------------- model config */
/* Element types. GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K: ggml's block formats (docs/quantization.md),
 * for weights only; GPTC_U8: raw bytes in a safetensors file (the quantized blocks are
 * stored so, with their format named in the file's __metadata__, docs/formats.md). */
typedef enum gptc_dtype {
    GPTC_F32 = 0, GPTC_F16, GPTC_BF16, GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K, GPTC_U8, GPTC_DTYPE_COUNT
} gptc_dtype;
/* "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "u8" */
const char *gptc_dtype_name(gptc_dtype d);
/* The dtype named (as gptc_dtype_name writes it; "float32", "float16", "bfloat16" too),
 * or GPTC_DTYPE_COUNT. */
gptc_dtype gptc_dtype_parse(const char *name);

enum { GPTC_HEAD_LM = 0, GPTC_HEAD_CLASSIFY, GPTC_HEAD_QA, GPTC_HEAD_COUNT };
#define GPTC_MAX_LABELS 64
#define GPTC_LABEL_MAX 48

typedef struct gptc_config {
    int n_layer, n_head, n_embd, n_positions, vocab_size;
    int n_inner;                 /* MLP width; 0 means 4 * n_embd (GPT2Config) */
    float layer_norm_epsilon;    /* 1e-5 */
    float embd_pdrop, attn_pdrop, resid_pdrop; /* dropout probabilities (training only) */
    int bos_token_id, eos_token_id;
    char activation_function[16]; /* "gelu_new" (GPT-2) or "gelu" */
    /* Block options, so later architectures are configurations of one block. GPT-2:
     * causal = 1, pre_norm = 1, learned positions, no cross-attention. */
    int causal;          /* 1: causal self-attention; 0: bidirectional (BERT) */
    int pre_norm;        /* 1: x + f(ln(x)) (GPT-2); 0: ln(x + f(x)) (BERT, Transformer) */
    int sinusoidal_pos;  /* 1: fixed sinusoidal positions instead of learned wpe */
    int cross_attention; /* 1: blocks attend to an encoder output (encoder-decoder) */
    int tie_word_embeddings; /* 1: lm_head shares wte */
    /* The head on top of the transformer (Hugging Face's class in config.json's
     * "architectures"): GPTC_HEAD_LM (GPT2LMHeadModel), GPTC_HEAD_CLASSIFY
     * (GPT2ForSequenceClassification: score.weight [num_labels, n_embd], no bias, applied
     * to the last token that is not pad_token_id), GPTC_HEAD_QA (GPT2ForQuestionAnswering:
     * qa_outputs.weight [2, n_embd] + qa_outputs.bias [2], start and end logits). */
    int head;
    int num_labels;              /* CLASSIFY */
    int pad_token_id;            /* -1: none */
    char id2label[GPTC_MAX_LABELS][GPTC_LABEL_MAX]; /* CLASSIFY: label names ("" = "LABEL_i") */
} gptc_config;

/* GPT-2 124M defaults. */
gptc_config gptc_config_default(void);
/* Presets: "tiny", "small", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl".
 * Fails with GPTC_EINVAL for an unknown name (the message lists the known ones). */
gptc_status gptc_config_preset(gptc_ctx *ctx, const char *name, gptc_config *out);
/* Checks ranges and that n_embd is divisible by n_head. */
gptc_status gptc_config_validate(gptc_ctx *ctx, const gptc_config *cfg);

/* ---------------------------------------------------------------- model
 * A model is weights and config only. Once built (new or load, then optionally
 * set_head and a LoRA adapter) it is read-only for inference and may be shared: several
 * threads can run workspaces and sessions on one model at the same time. Training
 * writes the weights through a gptc_adamw step; the caller then must not run inference
 * on the same model concurrently. Per-call state lives elsewhere: activations in a
 * gptc_workspace, KV caches in a gptc_session, gradients in gptc_grads, optimizer
 * moments in gptc_adamw. */
typedef struct gptc_model gptc_model;

/* A new model with GPT-2's initialization: normal(0, 0.02) weights, residual output
 * projections (attn.c_proj, mlp.c_proj) normal(0, 0.02/sqrt(2*n_layer)), zero biases,
 * layer-norm weights 1. Deterministic for a seed. */
gptc_status gptc_model_new(gptc_ctx *ctx, const gptc_config *cfg, uint64_t seed, gptc_model **out);
/* Loads config.json + model.safetensors from a Hugging Face-layout directory
 * (F32/F16/BF16 tensors; names with or without "transformer."; lm_head optional),
 * converting every tensor to F32 (trainable). */
gptc_status gptc_model_load(gptc_ctx *ctx, const char *dir, gptc_model **out);
typedef struct gptc_load_params {
    /* GPTC_F32 (default): convert to F32. GPTC_BF16 / GPTC_F16: keep the matrices of
     * the blocks and the head in that type as stored (a file of another type is
     * converted to it), so inference reads half the memory; norms, biases and
     * embeddings stay F32. Such a model can run inference only (not train). */
    gptc_dtype weight_dtype;
} gptc_load_params;
gptc_load_params gptc_load_default_params(void);
gptc_status gptc_model_load_with(gptc_ctx *ctx, const char *dir, const gptc_load_params *p, gptc_model **out);
/* The type the block matrices are kept in (GPTC_F32 unless loaded otherwise). */
gptc_dtype gptc_model_weight_dtype(const gptc_model *m);
/* Writes config.json and model.safetensors (F32, or BF16 when dtype is GPTC_BF16) into
 * dir (created if missing), each atomically. */
gptc_status gptc_model_save(gptc_ctx *ctx, const gptc_model *m, const char *dir, gptc_dtype dtype);

/* Quantized model directories (docs/quantization.md): every 2-D matrix in ggml's q8_0,
 * q4_0 or q4_k blocks (or BF16), the token embedding and a tied or untied LM head
 * included unless keep_embeddings, as llama-quantize does; the position embedding,
 * task heads and 1-D tensors stay F32. A matrix whose input size is not a multiple of
 * the block (32; q4_k 256) falls back to q4_0 (q4_k, when a multiple of 32) or F32.
 * gptc_model_load reads such directories (the blocks kept as stored) for inference. */
typedef struct gptc_quantize_params {
    gptc_dtype type;     /* GPTC_Q8_0 (default), GPTC_Q4_0, GPTC_Q4_K or GPTC_BF16 */
    int keep_embeddings; /* 1: wte and lm_head stay F32 */
} gptc_quantize_params;
gptc_quantize_params gptc_quantize_default_params(void);
typedef struct gptc_quantize_stats {
    size_t n_tensors[GPTC_DTYPE_COUNT]; /* tensors written per dtype */
    size_t n_fallback;                  /* matrices not in params.type because of their shape */
    char first_fallback[64];            /* the first of them ("" if none) */
    size_t weight_bytes;                /* bytes of tensor data in model.safetensors */
} gptc_quantize_stats;
/* Writes config.json, generation_config.json (unless present) and model.safetensors of
 * m (loaded as F32, no adapter: merge it first) into dir, quantized as p says; each
 * file atomically. stats may be NULL. */
gptc_status gptc_model_save_quantized(gptc_ctx *ctx, const gptc_model *m, const char *dir,
                                      const gptc_quantize_params *p, gptc_quantize_stats *stats);
/* Writes m (a GPT2LMHeadModel; F32, or quantized as loaded) and tok to path as a GGUF v3
 * file for llama.cpp's gpt2 architecture (docs/formats.md): type GPTC_F32, GPTC_F16,
 * GPTC_Q8_0, GPTC_Q4_0 or GPTC_Q4_K for the matrices (GPTC_DTYPE_COUNT: as the model
 * keeps them); 1-D tensors and the position embedding F32. Atomically. A path given to
 * gptc_model_load(_with) that is a GGUF file is read as one (f32, f16, q8_0, q4_0,
 * q4_k; blocks kept as stored). */
gptc_status gptc_model_export_gguf(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const char *path,
                                   gptc_dtype type);
void gptc_model_free(gptc_model *m);
const gptc_config *gptc_model_config(const gptc_model *m);
/* Number of parameters (floats of the parameter buffer, adapters included). */
size_t gptc_model_n_params(const gptc_model *m);

/* Parameter counts by kind. */
typedef struct gptc_param_counts {
    size_t embedding;  /* wte + wpe */
    size_t attention;  /* c_attn + attn.c_proj weights and biases */
    size_t mlp;        /* c_fc + mlp.c_proj weights and biases */
    size_t layernorm;  /* ln_1, ln_2, ln_f */
    size_t head;       /* untied lm_head (0 when tied) */
    size_t total;
} gptc_param_counts;
gptc_param_counts gptc_model_param_counts(const gptc_config *cfg);
/* Bytes of activations kept for backward at batch B x T (training), floats * 4. */
size_t gptc_model_activation_bytes(const gptc_config *cfg, int B, int T);

/* ---------------------------------------------------------------- workspace
 * The activations of forward (and backward) passes over one model for up to max_B x
 * max_T tokens, allocated once. One workspace per thread of use; the model is only
 * read. With training = 1 it keeps what backward needs. */
typedef struct gptc_workspace gptc_workspace;
gptc_status gptc_workspace_new(gptc_ctx *ctx, const gptc_model *m, int max_B, int max_T, int training,
                               gptc_workspace **out);
void gptc_workspace_free(gptc_workspace *ws); /* NULL is a no-op */
size_t gptc_workspace_bytes(const gptc_workspace *ws);
/* Dropout on (with its seed) or off. Each forward in training mode draws a new dropout
 * stream: call counts from 0 and can be read and set for exact resume. */
void gptc_workspace_set_training(gptc_workspace *ws, int training, uint64_t dropout_seed);
uint64_t gptc_workspace_dropout_calls(const gptc_workspace *ws);
void gptc_workspace_set_dropout_calls(gptc_workspace *ws, uint64_t calls);
/* Class weights for the CLASSIFY loss (num_labels floats, copied), NULL for none. */
gptc_status gptc_workspace_set_class_weights(gptc_ctx *ctx, gptc_workspace *ws, const float *w);
const float *gptc_workspace_class_weights(const gptc_workspace *ws); /* NULL when none */

/* Forward pass over tokens (B, T), row-major, B <= max_B, T <= max_T. When targets is
 * non-NULL, returns the loss in *loss (else *loss is not touched). What targets and
 * logits are depends on the head:
 *   LM:       targets (B, T) next-token ids, -100 ignored; mean cross-entropy over the
 *             rest; logits (B, T, V).
 *   CLASSIFY: targets (B) labels, -100 ignored; mean cross-entropy (weighted by the class
 *             weights when set: sum w_y l / sum w_y, as torch); logits (B, num_labels).
 *   QA:       targets (B, 2) start and end positions, clamped to [0, T] where T is
 *             ignored, (CE(start) + CE(end)) / 2 as GPT2ForQuestionAnswering;
 *             logits (B, T, 2) (start, end). */
gptc_status gptc_forward(gptc_ctx *ctx, gptc_workspace *ws, const int32_t *tokens, const int32_t *targets, int B,
                         int T, float *loss);
/* The logits of the last forward (shape by head, see above). Valid until the next
 * forward or backward (backward reuses the buffer for their gradient; then NULL). */
const float *gptc_workspace_logits(const gptc_workspace *ws);

/* ---------------------------------------------------------------- gradients
 * A gradient buffer shaped like a model's parameters (frozen tensors get none). */
typedef struct gptc_grads gptc_grads;
gptc_status gptc_grads_new(gptc_ctx *ctx, const gptc_model *m, gptc_grads **out); /* zeroed */
void gptc_grads_free(gptc_grads *g);
void gptc_grads_zero(gptc_grads *g);
/* Global L2 norm of all gradients; when max_norm > 0 and the norm exceeds it, scales
 * the gradients by max_norm / (norm + 1e-6) as torch.nn.utils.clip_grad_norm_. */
float gptc_grads_clip(gptc_ctx *ctx, gptc_grads *g, float max_norm);
/* The gradient of tensor i (gptc_model_tensor numbering), NULL when it is frozen. */
float *gptc_grads_tensor(const gptc_grads *g, size_t i);
/* The whole buffer (n floats, tensors at their parameter offsets): for all-reduce. */
float *gptc_grads_data(gptc_grads *g, size_t *n);

/* Backward pass of the workspace's last forward with targets: adds
 * d(loss * loss_scale)/d(params) into g (call several times for accumulation, with
 * loss_scale = 1/steps). The workspace must have been made with training = 1. */
gptc_status gptc_backward(gptc_ctx *ctx, gptc_workspace *ws, gptc_grads *g, float loss_scale);

/* ---------------------------------------------------------------- AdamW
 * torch.optim.AdamW semantics: decoupled weight decay applied to 2-D tensors only;
 * biases, layer-norm parameters are not decayed. The optimizer owns its moments; a step
 * updates the trainable tensors of the model it was made for. t counts steps from 1. */
typedef struct gptc_adamw_params {
    float lr, beta1, beta2, eps, weight_decay;
} gptc_adamw_params;
gptc_adamw_params gptc_adamw_default_params(void); /* 1e-3, 0.9, 0.999, 1e-8, 0.01 */
typedef struct gptc_adamw gptc_adamw;
gptc_status gptc_adamw_new(gptc_ctx *ctx, const gptc_model *m, gptc_adamw **out); /* zero moments */
void gptc_adamw_free(gptc_adamw *o);
gptc_status gptc_adamw_step(gptc_ctx *ctx, gptc_adamw *o, gptc_model *m, const gptc_grads *g,
                            const gptc_adamw_params *p, int t);
/* The moments of tensor i (exp_avg, exp_avg_sq), writable (checkpoints restore them). */
void gptc_adamw_tensor(const gptc_adamw *o, size_t i, float **m, float **v);

/* Replaces the model's head: GPTC_HEAD_CLASSIFY with num_labels labels (names, or NULL
 * for LABEL_0...), GPTC_HEAD_QA, or GPTC_HEAD_LM. The body is kept; a new head is
 * initialized normal(0, 0.02) with zero bias from seed, as transformers does. Call
 * before making workspaces, gradients or an optimizer for it, and before adding an
 * adapter. */
gptc_status gptc_model_set_head(gptc_ctx *ctx, gptc_model *m, int head, int num_labels, const char *const *labels,
                                uint64_t seed);
/* Grows the vocabulary to vocab_size ids (new special tokens): the token embedding and an
 * untied lm_head get new rows after the old ones, each the mean of the old rows (the centre
 * of transformers' resize_token_embeddings(mean_resizing=True) distribution;
 * docs/finetune.md), and cfg.vocab_size changes (config.json when saved). The logits of the
 * old ids are unchanged; a new id's logit is the mean of the old ones' for any input. Needs
 * an F32 model without an adapter; GPTC_EINVAL for a smaller size. Tensor pointers taken
 * from m before the call are invalid after it. Not thread-safe for m. */
gptc_status gptc_model_resize_vocab(gptc_ctx *ctx, gptc_model *m, int vocab_size);

/* LoRA (PEFT's layout and semantics): for each targeted Conv1D layer W [in, out],
 * out += (alpha / r) * dropout(x) @ A^T @ B^T with A [r, in] (kaiming-uniform, bound
 * 1/sqrt(in)) and B [out, r] (zeros). Adding an adapter freezes the base weights;
 * AdamW then trains the adapter and the task head only. target_modules is a
 * comma-separated list of module names matched as PEFT does (c_attn, c_proj (attention
 * and MLP output), c_fc; "attn.c_proj" or "mlp.c_proj" for one of them). */
typedef struct gptc_lora_params {
    int r;
    float alpha, dropout;
    char target_modules[128];
} gptc_lora_params;
gptc_lora_params gptc_lora_default_params(void); /* r 8, alpha 16, dropout 0.05, "c_attn" */
/* Must come before workspaces, gradients and optimizers are made for the model (they
 * are sized by its tensors); fails when the model already has an adapter. */
gptc_status gptc_model_lora_add(gptc_ctx *ctx, gptc_model *m, const gptc_lora_params *p, uint64_t seed);
/* adapter_config.json + adapter_model.safetensors (PEFT names:
 * base_model.model.transformer.h.N.attn.c_attn.lora_A.weight, ...) into dir, atomically. */
gptc_status gptc_model_lora_save(gptc_ctx *ctx, const gptc_model *m, const char *dir);
/* Attaches the adapter in dir to m (which must not have one). */
gptc_status gptc_model_lora_load(gptc_ctx *ctx, gptc_model *m, const char *dir);
/* Folds the adapter into the base weights (W += (alpha/r) (B A)^T) and removes it. */
gptc_status gptc_model_lora_merge(gptc_ctx *ctx, gptc_model *m);
int gptc_model_has_lora(const gptc_model *m);

/* Named access to parameters, in Hugging Face names without prefix ("wte.weight",
 * "h.0.attn.c_attn.weight", ...). i in [0, n_tensors). data is NULL for a tensor
 * kept in a low-precision type (gptc_load_params). */
typedef struct gptc_tensor_info {
    const char *name;
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;  /* parameter values (F32) */
    int trainable; /* 0: frozen (a LoRA adapter freezes the base) */
} gptc_tensor_info;
size_t gptc_model_n_tensors(const gptc_model *m);
gptc_status gptc_model_tensor(const gptc_model *m, size_t i, gptc_tensor_info *out);

/* Attention probabilities of one layer for one sequence of T tokens (no dropout):
 * out receives (n_head, T, T), row i = the weights of query i over keys 0..T-1.
 * Makes its own workspace for the call. */
gptc_status gptc_model_attention(gptc_ctx *ctx, const gptc_model *m, const int32_t *tokens, int T, int layer, float *out);

/* ---------------------------------------------------------------- inference session
 * A KV cache for n_seq sequences of up to max_len tokens each over one model. Appending
 * a token costs one position (the prefix is never recomputed); the tokens go through
 * the same forward as training and evaluation, with the cache as the attention's keys
 * and values, so adapters and heads apply alike. The logits of a position are the
 * head's for that position: V floats for an LM, num_labels for a classifier (the
 * label distribution if the sequence ended there), 2 for QA (start, end); see
 * gptc_session_width. The model must outlive the session and may be shared by many
 * sessions (each its own thread); a session is not thread-safe. */
typedef struct gptc_session gptc_session;

/* max_len <= n_positions (0: n_positions). Allocates everything up front. */
gptc_status gptc_session_new(gptc_ctx *ctx, const gptc_model *m, int n_seq, int max_len, gptc_session **out);
void gptc_session_free(gptc_session *s);
/* Forgets the tokens of sequence seq (-1: all sequences). */
void gptc_session_reset(gptc_session *s, int seq);
/* Tokens held by sequence seq. */
int gptc_session_len(const gptc_session *s, int seq);
/* Logits per position (V, num_labels or 2). */
int gptc_session_width(const gptc_session *s);
/* Makes sequence dst a copy of src (beam search, several samples of one prompt). */
gptc_status gptc_session_copy(gptc_ctx *ctx, gptc_session *s, int dst, int src);
/* Appends n tokens to sequence seq and writes the logits (width floats) of the last one
 * into logits (may be NULL). Fails with GPTC_ERANGE when the sequence would exceed max_len. */
gptc_status gptc_session_prefill(gptc_ctx *ctx, gptc_session *s, int seq, const int32_t *tokens, int n,
                                 float *logits);
/* One decoding step for n sequences at once: tokens[i] is appended to seqs[i] (distinct
 * sequences); logits receives (n, width). */
gptc_status gptc_session_step(gptc_ctx *ctx, gptc_session *s, const int *seqs, const int32_t *tokens, int n,
                              float *logits);
/* Bytes the session holds (KV cache + scratch). */
size_t gptc_session_bytes(const gptc_session *s);

/* ---------------------------------------------------------------- text generation
 * Greedy decoding, sampling and beam search over a KV-cache session, with Hugging Face's
 * GenerationConfig names and semantics. Logits go through the processors in HF's order:
 * repetition_penalty, no_repeat_ngram_size, presence/frequency penalties (OpenAI's),
 * then, only when do_sample, the warpers temperature, top_k, top_p, min_p, typical_p. */
#define GPTC_GEN_MAX_EOS 8
#define GPTC_GEN_MAX_STOP 8
#define GPTC_GEN_STOP_LEN 128

typedef struct gptc_gen_params {
    int max_new_tokens;        /* tokens to generate; -1 (default): use max_length */
    int max_length;            /* prompt + new tokens, used when max_new_tokens < 0; 20 */
    int do_sample;             /* 0: greedy (or beam search); 1: sample */
    float temperature;         /* 1.0; with do_sample, <= 0 means greedy */
    int top_k;                 /* 50; 0 = off (sampling only, as HF) */
    float top_p;               /* 1.0 = off */
    float min_p;               /* 0 = off */
    float typical_p;           /* 1.0 = off */
    float repetition_penalty;  /* 1.0 = off (CTRL: logit > 0 divided, < 0 multiplied) */
    int no_repeat_ngram_size;  /* 0 = off; counts the prompt, as HF */
    int num_return_sequences;  /* 1; <= num_beams with beam search */
    int num_beams;             /* 1; > 1: beam search (HF BeamSearchScorer); no sampling */
    float length_penalty;      /* 1.0: beam score = sum logprobs / generated_len^length_penalty */
    int early_stopping;        /* 0 (HF False: heuristic), 1 (True), 2 ("never") */
    /* End-of-sequence ids: n_eos < 0 (default) uses the model config's eos_token_id; 0 none. */
    int n_eos;
    int32_t eos_token_id[GPTC_GEN_MAX_EOS];
    /* Stop strings (HF stop_strings): a sequence ends once its generated text contains one.
     * Needs a tokenizer. The token that completes it is kept in the result. */
    int n_stop;
    char stop_strings[GPTC_GEN_MAX_STOP][GPTC_GEN_STOP_LEN];
    uint64_t seed;             /* sampling RNG seed: the same seed gives the same output */
    float presence_penalty;    /* OpenAI: logit -= presence * (count > 0), over generated tokens; 0 */
    float frequency_penalty;   /* OpenAI: logit -= frequency * count, over generated tokens; 0 */
} gptc_gen_params;

/* Hugging Face's GenerationConfig defaults (greedy, max_length 20, top_k 50, ...). */
gptc_gen_params gptc_gen_default_params(void);
/* Overrides fields of *p with those present in dir/generation_config.json (HF names;
 * null values are skipped; early_stopping may be true, false or "never"; eos_token_id and
 * stop_strings a value or a list; also seed, presence_penalty, frequency_penalty). A
 * missing file is not an error (returns GPTC_OK, *p untouched). */
gptc_status gptc_generation_config_load(gptc_ctx *ctx, const char *dir, gptc_gen_params *p);
/* Writes the fields of p that differ from the defaults (and eos_token_id) as
 * dir/generation_config.json, atomically. */
gptc_status gptc_generation_config_save(gptc_ctx *ctx, const char *dir, const gptc_gen_params *p);
/* Checks ranges (temperature >= 0, 0 < top_p <= 1, num_return_sequences <= num_beams, ...). */
gptc_status gptc_gen_params_validate(gptc_ctx *ctx, const gptc_gen_params *p);

typedef enum gptc_finish_reason {
    GPTC_FINISH_LENGTH = 0, /* max_new_tokens / max_length or the context was reached */
    GPTC_FINISH_EOS,        /* an eos_token_id was generated (it is the last token) */
    GPTC_FINISH_STOP,       /* a stop string appeared, or the callback asked to stop */
    GPTC_FINISH_COUNT
} gptc_finish_reason;
/* "length", "eos", "stop". */
const char *gptc_finish_reason_name(gptc_finish_reason r);

typedef struct gptc_gen_sequence {
    int32_t *tokens;           /* generated ids (prompt excluded); owned by the result */
    int n_tokens;
    gptc_finish_reason finish_reason;
    float score;               /* beam search: the length-penalized score; else sum of logprobs */
} gptc_gen_sequence;

typedef struct gptc_gen_result {
    int n_seq;                 /* num_return_sequences */
    gptc_gen_sequence *seqs;   /* best beam first */
} gptc_gen_result;
void gptc_gen_result_free(gptc_gen_result *r); /* NULL is a no-op */

/* Called once per generated token of sequence seq (0 .. num_return_sequences-1), in
 * order, as it is produced (greedy and sampling only: beam search calls it for the final
 * sequences at the end). Return non-zero to end that sequence (finish_reason "stop"). */
typedef int (*gptc_gen_callback)(void *user, int seq, int32_t token);

/* Generates continuations of prompt (n_prompt >= 1 ids). tok may be NULL unless stop
 * strings are given. s may be NULL (a session is made for the call), or a session with
 * at least max(num_beams, num_return_sequences) sequences whose sequence 0 already holds
 * a prefix of prompt (the caller's promise; only the rest is prefilled; a session holding
 * all of prompt or more is reset first). On return, with num_beams == 1, sequence 0 holds
 * prompt + result->seqs[0].tokens[0 .. gptc_session_len(s, 0) - n_prompt); with beams its
 * content is unspecified. A prompt longer than the context fails with GPTC_ERANGE.
 * *out is freed with gptc_gen_result_free. Not thread-safe for one model/session. */
gptc_status gptc_generate(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const gptc_tokenizer *tok,
                          const int32_t *prompt, int n_prompt, const gptc_gen_params *p,
                          gptc_gen_callback cb, void *user, gptc_gen_result **out);

/* ---------------------------------------------------------------- chat template
 * ChatML: "<|im_start|>{role}\n{content}<|im_end|>\n" per message, and for a reply
 * "<|im_start|>assistant\n". The markers are the tokenizer's special tokens when it has
 * them; else, when the model's vocabulary has two ids beyond the tokenizer's, those
 * (im_start = n_vocab, im_end = n_vocab + 1); else they are spelled as plain text and the
 * end of a turn is found as the stop string "<|im_end|>". The text between two markers
 * (role, "\n" and content) is encoded as one text, so with marker tokens that the
 * tokenizer names the ids are Hugging Face's apply_chat_template(messages, tokenize=True)
 * with the chat_template of tokenizer_config.json, and with text markers those of the
 * rendered conversation tokenized as one text. */
typedef struct gptc_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content;
} gptc_chat_message;

typedef struct gptc_chat_tokens {
    int32_t im_start, im_end; /* ids, or -1 when spelled as text */
    int32_t eos;              /* the tokenizer's "<|endoftext|>", or -1 */
    int beyond_vocab;         /* 1: im_start/im_end are ids past the tokenizer's vocabulary */
} gptc_chat_tokens;

/* The ChatML chat_template (Jinja) that gptc writes into tokenizer_config.json and
 * that gptc_chat_encode renders. */
extern const char gptc_chatml_template[];

/* Picks the marker ids for tokenizer tok and a model of vocab_size ids. */
void gptc_chat_tokens_resolve(const gptc_tokenizer *tok, int vocab_size, gptc_chat_tokens *out);
/* Encodes messages; add_generation_prompt appends "<|im_start|>assistant\n". Content is
 * encoded without special tokens (a user cannot inject markers). When assistant_mask is
 * non-NULL, (*assistant_mask)[i] = 1 for the tokens of assistant contents and their
 * closing marker + newline (the SFT loss positions). *ids and *assistant_mask are malloc'ed
 * (free()). Messages are encoded one by one, so the ids of a conversation's first k
 * messages are a prefix of the ids of all of them. */
gptc_status gptc_chat_encode(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_chat_tokens *ct,
                             const gptc_chat_message *msgs, int n_msgs, int add_generation_prompt,
                             int32_t **ids, size_t *n_ids, uint8_t **assistant_mask);

/* ---------------------------------------------------------------- streaming text
 * Generated ids to text as a reader should see it: only whole UTF-8 characters, and
 * nothing that may still turn into a stop string (that part is held back until the
 * next id decides). The text ends before the first stop string. Ids outside the
 * tokenizer's vocabulary (markers past it) add no text. */
typedef int (*gptc_text_cb)(void *user, const char *text, size_t len); /* non-zero: stop */
typedef struct gptc_text_stream gptc_text_stream;
/* Stop strings are taken from p (may be NULL: none); cb receives the pieces (may be NULL). */
gptc_status gptc_text_stream_new(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_gen_params *p,
                                 gptc_text_cb cb, void *user, gptc_text_stream **out);
void gptc_text_stream_free(gptc_text_stream *st);
/* Adds one id; *done (may be NULL) becomes 1 once a stop string appeared or the callback
 * asked to stop. */
gptc_status gptc_text_stream_push(gptc_ctx *ctx, gptc_text_stream *st, int32_t id, int *done);
/* Ends the text: an incomplete character becomes U+FFFD; what was held back goes out. */
gptc_status gptc_text_stream_finish(gptc_ctx *ctx, gptc_text_stream *st);
/* The whole text so far (up to a stop string), NUL-terminated; owned by the stream. */
const char *gptc_text_stream_text(const gptc_text_stream *st, size_t *len);
int gptc_text_stream_stopped(const gptc_text_stream *st); /* 1: a stop string ended it */

/* ---------------------------------------------------------------- chat
 * A conversation with a model in ChatML (gptc_chat_encode): messages, the oldest turns
 * dropped (after the system message) when the prompt and a reply would outgrow the
 * context, the KV cache kept across turns so only the new part is prefilled, the end of
 * a turn at the <|im_end|> id, the end-of-text id or the model's eos (or the text
 * "<|im_end|>" when the markers are text), replies streamed as whole characters. The
 * model and tokenizer must outlive the chat; a chat is not thread-safe (one per user). */
typedef struct gptc_chat gptc_chat;
/* p: reply settings (NULL: Hugging Face's defaults; max_new_tokens < 0 means 256;
 * num_return_sequences must be 1). system may be NULL. */
gptc_status gptc_chat_new(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_gen_params *p,
                          const char *system, gptc_chat **out);
void gptc_chat_free(gptc_chat *c);
/* Forgets the conversation, keeping the system message. */
void gptc_chat_reset(gptc_chat *c);
/* Sets (or with "" / NULL removes) the system message, kept first. */
gptc_status gptc_chat_set_system(gptc_ctx *ctx, gptc_chat *c, const char *system);
int gptc_chat_n_messages(const gptc_chat *c);
gptc_chat_message gptc_chat_get(const gptc_chat *c, int i); /* valid until the chat changes */
const gptc_gen_params *gptc_chat_params(const gptc_chat *c);
const gptc_chat_tokens *gptc_chat_markers(const gptc_chat *c);

typedef struct gptc_chat_reply {
    char *text;                  /* the reply (malloc'ed, free()) */
    size_t len;
    gptc_finish_reason finish;   /* eos: the turn ended; length: max_new_tokens; stop: stop string or callback */
    int trimmed;                 /* old turns dropped to make room */
    int n_prompt, n_reused;      /* prompt tokens, of which already in the KV cache */
    int n_tokens;                /* generated tokens */
} gptc_chat_reply;
/* Adds the user's message, generates the reply (pieces to cb as they come; cb may be
 * NULL; a non-zero return ends the reply) and adds it to the conversation. On failure
 * the user's message is taken back. A message longer than the context fails with
 * GPTC_ERANGE. */
gptc_status gptc_chat_send(gptc_ctx *ctx, gptc_chat *c, const char *user_text, gptc_text_cb cb, void *user,
                           gptc_chat_reply *out);

/* ---------------------------------------------------------------- sampling primitives
 * The logits processors of gptc_generate, on one row of V logits in place (removed tokens
 * become -INFINITY), exposed for tests and for callers that run their own loop. ids: the
 * n tokens seen so far. scratch: 2 * V ints, contents on entry do not matter. */
void gptc_logits_repetition_penalty(float *logits, int V, const int32_t *ids, int n, float penalty);
void gptc_logits_no_repeat_ngram(float *logits, int V, const int32_t *ids, int n, int ngram);
void gptc_logits_presence_frequency(float *logits, int V, const int32_t *ids, int n, float presence,
                                    float frequency, int *scratch);
void gptc_logits_temperature(float *logits, int V, float temperature);
void gptc_logits_top_k(float *logits, int V, int k, int min_keep, int *scratch);
void gptc_logits_top_p(float *logits, int V, float top_p, int min_keep, int *scratch);
void gptc_logits_min_p(float *logits, int V, float min_p, int min_keep, int *scratch);
void gptc_logits_typical_p(float *logits, int V, float mass, int min_keep, int *scratch);
/* Draws an id from softmax(logits) with u uniform in [0, 1); argmax when u < 0. */
int32_t gptc_logits_sample(const float *logits, int V, double u);

/* ---------------------------------------------------------------- files
 * Reading, mapping and writing files without losing any: atomic writes (a safe temp
 * file beside the target, fsync, rename), output directories swapped in as a whole.
 * Used by the library itself and offered to front ends. */
/* A read-only view of a whole file: memory-mapped when possible. */
typedef struct gptc_mapped {
    const unsigned char *data;
    size_t size;
    int is_mmap;
} gptc_mapped;

gptc_status gptc_file_map(gptc_ctx *ctx, const char *path, gptc_mapped *out);
void gptc_file_unmap(gptc_mapped *m);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (free with gptc_free). */
gptc_status gptc_file_read(gptc_ctx *ctx, const char *path, char **data, size_t *size);
int gptc_file_exists(const char *path);

/* Atomic write: the pieces are written to a fresh temp file beside path
 * (".<name>.gptc-tmp.<pid>.<random>", created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 * planted file or symlink is never followed), fsync'ed, renamed over path (a symlink at
 * path is replaced, not followed), and the directory is fsync'ed, every result checked.
 * On failure the old file at path is untouched and the temp file removed. */
/* Opens path for writing in place (append: at its end, else truncated; created when
 * missing) without following a symlink at path: a symlink there is an error naming the
 * path (ELOOP), so a planted link never redirects the writes. For logs that grow while
 * a run goes on (metrics.jsonl); whole files go through gptc_file_write_atomic. */
gptc_status gptc_file_open_nofollow(gptc_ctx *ctx, const char *path, int append, FILE **out);

typedef struct gptc_iovec { const void *data; size_t size; } gptc_iovec;
gptc_status gptc_file_write_atomic(gptc_ctx *ctx, const char *path, const gptc_iovec *parts, int n_parts);
/* The same for streaming writers: open, write (any number), then commit or abort. */
typedef struct gptc_atomic_file { FILE *f; char path[4096]; char tmp[4200]; } gptc_atomic_file;
gptc_status gptc_atomic_open(gptc_ctx *ctx, gptc_atomic_file *af, const char *path);
gptc_status gptc_atomic_write(gptc_ctx *ctx, gptc_atomic_file *af, const void *data, size_t n);
gptc_status gptc_atomic_commit(gptc_ctx *ctx, gptc_atomic_file *af);
void gptc_atomic_abort(gptc_atomic_file *af);

/* mkdir -p. */
gptc_status gptc_mkdirs(gptc_ctx *ctx, const char *path);
/* dir + "/" + name into out (fails with GPTC_EINVAL when it does not fit). */
gptc_status gptc_path_join(gptc_ctx *ctx, char *out, size_t cap, const char *dir, const char *name);



/* Copies src to dst atomically. */
gptc_status gptc_file_copy(gptc_ctx *ctx, const char *src, const char *dst);
/* Copies every regular file of src_dir into dst_dir (not recursive). */
gptc_status gptc_dir_copy_files(gptc_ctx *ctx, const char *src_dir, const char *dst_dir);
/* Removes a directory tree without following symlinks (a symlink is removed itself,
 * never what it points to). 0 when all is gone, -1 otherwise (best effort). */
int gptc_remove_tree(const char *path);

/* "<dir>/.<name>.gptc-<kind>.<pid>.<10 random letters>" for path "<dir>/<name>": the
 * names of temp files and directories beside path (gptc_dir_clean_stale knows them). */
gptc_status gptc_temp_name(gptc_ctx *ctx, char *out, size_t cap, const char *path, const char *kind);
/* fsync of a directory / of the directory holding path; the result is checked. */
gptc_status gptc_fsync_dir(gptc_ctx *ctx, const char *dir);
gptc_status gptc_fsync_parent(gptc_ctx *ctx, const char *path);

/* An output directory written as a whole (outdir.c). begin creates a fresh directory
 * od->tmp beside path (".<name>.gptc-tmp.<pid>.<random>", mkdir'ed so it is never an
 * existing file or symlink) and removes the temps of dead processes there; the writer
 * fills od->tmp; commit carries over from an existing path every entry whose name is
 * not in owned (NULL-terminated: the names this writer manages, so stale files of an
 * earlier model never survive while a user's own files do), fsyncs every file, swaps
 * od->tmp in (renameat2 RENAME_EXCHANGE; rename aside + rename in where that is not
 * supported), fsyncs the parent and removes the old tree. A reader sees the complete
 * old or the complete new directory. A symlink at path is refused, never followed.
 * On any failure (commit included) the temp is removed and path is left as it was. */
typedef struct gptc_outdir {
    char path[4096];
    char tmp[4400];
    const char *const *owned;
    int active;
} gptc_outdir;
gptc_status gptc_outdir_begin(gptc_ctx *ctx, gptc_outdir *od, const char *path, const char *const *owned);
gptc_status gptc_outdir_commit(gptc_ctx *ctx, gptc_outdir *od);
void gptc_outdir_abort(gptc_outdir *od);
/* The names a model directory holds (config, weights, adapter, tokenizer, generation and
 * checkpoint files), and a tokenizer directory's: NULL-terminated, for owned. */
extern const char *const gptc_model_dir_names[];
extern const char *const gptc_tokenizer_dir_names[];
/* Removes path by renaming it aside first, so a kill never leaves a half-removed
 * directory under its name; ENOENT is fine. */
gptc_status gptc_remove_dir_atomic(gptc_ctx *ctx, const char *path);
/* Removes the temps (".*.gptc-tmp.<pid>.*", ".*.gptc-old.<pid>.*") of processes that
 * no longer run from dir; legacy: also the names of earlier versions in run and
 * checkpoint directories (".tmp-step-N.<pid>", ".tmp-model.<pid>", "*.old.<pid>",
 * "*.tmp.<pid>"). */
void gptc_dir_clean_stale(const char *dir, int legacy);

/* ---------------------------------------------------------------- lines
 * The non-blank lines of a text buffer, counting every line (JSONL readers). */
typedef struct gptc_lines {
    const char *data;
    size_t size, pos;
    size_t line; /* 1-based number of the line last returned */
} gptc_lines;

static inline gptc_lines gptc_lines_of(const char *data, size_t size) {
    gptc_lines l = {data, size, 0, 0};
    return l;
}

/* The next non-blank line (without its '\n') in *s, *len; 0 at the end. */
static inline int gptc_lines_next(gptc_lines *l, const char **s, size_t *len) {
    while (l->pos < l->size) {
        const char *p = l->data + l->pos, *nl = memchr(p, '\n', l->size - l->pos);
        size_t n = nl ? (size_t)(nl - p) : l->size - l->pos;
        l->pos += n + 1;
        l->line++;
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\f' || p[k] == '\v')) k++;
        if (k == n) continue;
        *s = p;
        *len = n;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- token id files
 * Whitespace-separated token ids in a text file ("-" = stdin). */
/* *ids is allocated with gptc_alloc (free with gptc_free). vocab_size <= 0: no range check. */
gptc_status gptc_tokens_read_text(gptc_ctx *ctx, const char *path, long vocab_size, int32_t **ids, size_t *n);

/* ---------------------------------------------------------------- safetensors
 * The safetensors format (Hugging Face): header checked against the file, tensors
 * mapped, F32/F16/BF16 read as F32, files written atomically. */
#define GPTC_ST_MAX_DIMS 8

typedef struct gptc_st_tensor {
    char *name;
    gptc_dtype dtype;
    int ndim;
    int64_t shape[GPTC_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const unsigned char *data; /* into the mapping */
} gptc_st_tensor;

typedef struct gptc_safetensors {
    char path[4096];
    gptc_mapped map;
    gptc_st_tensor *tensors;
    size_t n_tensors;
    char **meta_keys, **meta_values; /* the header's "__metadata__" (string values) */
    size_t n_meta;
} gptc_safetensors;

/* Opens and validates path: header length within the file, valid JSON, known dtypes
 * (F32, F16, BF16, U8 (raw bytes: quantized blocks); others fail with GPTC_ENOTSUP naming the tensor and dtype), shapes
 * whose product matches the byte range, offsets inside the data section and not
 * overlapping. Every error names the file and the tensor. */
gptc_status gptc_st_open(gptc_ctx *ctx, const char *path, gptc_safetensors *out);
void gptc_st_close(gptc_safetensors *st);
/* The "__metadata__" value of key, NULL when absent. */
const char *gptc_st_meta(const gptc_safetensors *st, const char *key);
/* NULL when absent. */
const gptc_st_tensor *gptc_st_find(const gptc_safetensors *st, const char *name);
/* Converts a tensor's values to float (F16 and BF16 widened exactly). dst has numel. */
void gptc_st_to_f32(const gptc_st_tensor *t, float *dst);

/* Writer: entries are written in the given order with F32 data converted to dtype
 * (F32 or BF16, round-to-nearest-even), atomically. metadata: NULL or pairs
 * {key0, val0, key1, val1, ..., NULL}. */
typedef struct gptc_st_entry {
    const char *name;
    int ndim;
    int64_t shape[GPTC_ST_MAX_DIMS];
    const float *data;
    /* Optional (zero: unused). bytes: written as they are with dtype "U8" (numel = the
     * shape's product = the byte count; data ignored). f32: written as F32 whatever the
     * file's dtype (1-D tensors beside BF16 matrices). */
    const void *bytes;
    int f32;
} gptc_st_entry;
gptc_status gptc_st_write(gptc_ctx *ctx, const char *path, const gptc_st_entry *entries, size_t n,
                          gptc_dtype dtype, const char *const *metadata);

/* Old GPT-2 checkpoints' attention-mask buffers ("h.0.attn.bias", "h.0.attn.masked_bias",
 * any prefix): not parameters, accepted in any dtype (recorded with GPTC_DTYPE_COUNT). */
int gptc_st_is_mask_buffer(const char *name);

/* Half-precision conversions. */
float gptc_f16_to_f32(uint16_t h);
float gptc_bf16_to_f32(uint16_t h);
uint16_t gptc_f32_to_bf16(float f);
uint16_t gptc_f32_to_f16(float f);

/* ---------------------------------------------------------------- tokenizer training
 * Training a GPT-2-style byte-level BPE vocabulary: counting the pre-tokenized words of
 * text files (threads), then learning merges from the word counts. */
/* Progress report: phase GPTC_BPE_PHASE_COUNT counts input bytes (done/total), phase
 * GPTC_BPE_PHASE_MERGE counts learned tokens. Called from the calling thread only
 * (during counting, from OpenMP thread 0), often: the callee rate-limits printing. */
enum { GPTC_BPE_PHASE_COUNT = 0, GPTC_BPE_PHASE_MERGE = 1 };
typedef void (*gptc_bpe_progress_fn)(void *user, int phase, uint64_t done, uint64_t total);

/* The unique pre-tokenized words ("pieces") with their counts. Not thread-safe. */
typedef struct gptc_bpe_words gptc_bpe_words;
gptc_status gptc_bpe_words_new(gptc_ctx *ctx, gptc_bpe_words **out);
void gptc_bpe_words_free(gptc_bpe_words *w); /* NULL is a no-op */
/* Adds count occurrences of the piece [piece, piece + len), len > 0. */
gptc_status gptc_bpe_words_add(gptc_ctx *ctx, gptc_bpe_words *w, const void *piece, size_t len,
                               uint64_t count);
size_t gptc_bpe_words_n_unique(const gptc_bpe_words *w);
uint64_t gptc_bpe_words_n_total(const gptc_bpe_words *w); /* sum of counts */
/* Word i (0 <= i < n_unique, in no particular order): bytes (valid until the next add)
 * and count. */
void gptc_bpe_words_get(const gptc_bpe_words *w, size_t i, const unsigned char **bytes, size_t *len,
                        uint64_t *count);
/* Writes "count<TAB>hex bytes\n" per unique word, sorted by bytes (a debugging aid and
 * the test's link to the reference trainer). */
gptc_status gptc_bpe_words_dump(gptc_ctx *ctx, const gptc_bpe_words *w, const char *path);

typedef struct gptc_bpe_count_params {
    int n_threads;             /* 0: the context's count */
    size_t chunk_bytes;        /* target size of one thread's piece of work; 0: 1 MiB */
    const char *const *special; /* special tokens: their occurrences are cut out of the */
    size_t n_special;           /* text before pre-tokenization and not counted */
    gptc_bpe_progress_fn progress;
    void *progress_user;
} gptc_bpe_count_params;

/* Pre-tokenizes text[0, len) with GPT-2's pattern and adds its pieces to w. Long text
 * is cut into chunks only at newlines where the cut cannot change the pieces (see
 * bpe_train.c), so the result equals a split of the whole text on one thread. */
gptc_status gptc_bpe_words_count_text(gptc_ctx *ctx, gptc_bpe_words *w, const char *text, size_t len,
                                      const gptc_bpe_count_params *params);
/* The same for files (memory-mapped; each file is one text). Messages name the file. */
gptc_status gptc_bpe_words_count_files(gptc_ctx *ctx, gptc_bpe_words *w, const char *const *paths,
                                       size_t n_paths, const gptc_bpe_count_params *params);

typedef struct gptc_bpe_train_params {
    size_t vocab_size;        /* ordinary tokens + special tokens; >= 256 + n_special */
    uint64_t min_frequency;   /* a pair is merged only when it occurs this often (>= 1) */
    const char *const *special;
    size_t n_special;
    gptc_bpe_progress_fn progress;
    void *progress_user;
} gptc_bpe_train_params;

gptc_bpe_train_params gptc_bpe_train_default_params(void);

/* A trained vocabulary. Ordinary token ids: 0..255 are the single bytes in GPT-2's
 * order (byte b has the rank of gptc_byte_to_cp(b) among the 256 code points, as in
 * GPT-2's encoder.json and Hugging Face's sorted ByteLevel alphabet), then one id per
 * learned token in the order learned. Special tokens follow: n_tokens.. in the order
 * given. Merges are in rank order; a pair whose bytes equal an existing token (a + bc
 * after ab + c) adds a merge but no token. */
typedef struct gptc_bpe_model {
    size_t n_tokens;
    unsigned char **tok;   /* tok[i]: bytes of token i (tok_len[i] of them) */
    size_t *tok_len;
    size_t n_merges;
    int32_t (*merges)[2];
    uint64_t *merge_count; /* the pair's count when it was merged */
    size_t n_special;
    char **special;
    int32_t *special_id;
    int stopped_early;     /* 1 when no pair reached min_frequency before vocab_size */
} gptc_bpe_model;

/* Learns merges from the word counts until vocab_size tokens (specials included) or no
 * pair occurs min_frequency times. Selection: the pair with the highest count; among
 * equal counts the pair whose (left token bytes, right token bytes) is smallest
 * (bytewise, a prefix before its extensions). *out is freed with gptc_bpe_model_free. */
gptc_status gptc_bpe_train(gptc_ctx *ctx, const gptc_bpe_words *w, const gptc_bpe_train_params *params,
                           gptc_bpe_model **out);
void gptc_bpe_model_free(gptc_bpe_model *m); /* NULL is a no-op */
/* vocab.json + merges.txt (+ special_tokens_map.json) into dir (created). */
gptc_status gptc_bpe_model_write(gptc_ctx *ctx, const gptc_bpe_model *m, const char *dir);

/* ---------------------------------------------------------------- training
 * Learning-rate schedules, token shards and the trainer loop of `gptc train` and
 * `gptc finetune`: checkpoints, exact resume, evaluation, early stopping, and the
 * seams of multi-process training (the gradient hook, the writer process). */
/* ---- learning-rate schedules, equal to Hugging Face's get_*_schedule_with_warmup.
 * step counts optimizer steps from 0 (the first step uses step 0: lr 0 in warmup). */
typedef enum gptc_sched_kind { GPTC_SCHED_CONSTANT, GPTC_SCHED_LINEAR, GPTC_SCHED_COSINE } gptc_sched_kind;
typedef struct gptc_schedule {
    gptc_sched_kind kind;
    float lr, min_lr;       /* min_lr: where linear/cosine decay ends (0 = HF's default) */
    long warmup, total;
} gptc_schedule;
float gptc_schedule_lr(const gptc_schedule *s, long step);
int gptc_schedule_parse(const char *name, gptc_sched_kind *out);

/* ---- token shards (docs/formats.md):
 *   bytes 0..7   magic "GPTCTOKS"
 *   8..11  u32   version (1)
 *   12..15 u32   bytes per token (2: uint16, 4: uint32)
 *   16..23 u64   token count
 *   24..31 u64   document count
 *   32..35 u32   vocabulary size the ids are below
 *   36..63       zero
 *   64..         tokens, little-endian */
#define GPTC_SHARD_MAGIC "GPTCTOKS"
#define GPTC_SHARD_HEADER 64
/* Copies the tokenizer files of a model directory (vocab.json, merges.txt,
 * special_tokens_map.json, tokenizer.json, tokenizer_config.json, generation_config.json)
 * that exist in src into dst. */
gptc_status gptc_copy_tokenizer_files(gptc_ctx *ctx, const char *src, const char *dst);
/* Writes tokens atomically; width chosen by vocab_size (uint16 when it fits). */
gptc_status gptc_shard_write(gptc_ctx *ctx, const char *path, const int32_t *ids, size_t n, size_t n_docs,
                             uint32_t vocab_size);


/* ---- the trainer (trainer.c): the loop of `gptc train`, writing OUT/metrics.jsonl,
 * OUT/checkpoints/step-N/ and OUT/model/. It never prints: it reports events to the
 * caller's callback. */

/* One micro-batch: B rows of T positions. tokens and targets are always there; the
 * other fields are for architectures and tasks that need them and stay NULL unless the
 * data source asks for them (gptc_data_source.fields). Targets per row: T next-token
 * ids for a language model (-100 ignored), 1 label for a classifier, 2 positions for
 * QA (see gptc_forward). */
typedef struct gptc_batch {
    int B, T;                /* rows filled (at most the capacity) and positions per row */
    int32_t *tokens;         /* (B, T) */
    int32_t *targets;        /* (B, T), (B) or (B, 2) */
    float *attention_mask;   /* (B, T): 1 a token, 0 padding (bidirectional encoders) */
    int32_t *token_types;    /* (B, T): segment ids (BERT sentence pairs) */
    int32_t *enc_tokens;     /* (B, enc_T): encoder inputs (encoder-decoder) */
    int enc_T;
    int32_t *labels;         /* (B): a sequence label beside token targets (BERT's NSP) */
} gptc_batch;
enum { GPTC_BATCH_ATTENTION_MASK = 1, GPTC_BATCH_TOKEN_TYPES = 2, GPTC_BATCH_ENC_TOKENS = 4, GPTC_BATCH_LABELS = 8 };

/* Where batches come from. gptc train uses token shards (lm_source.c); fine-tuning
 * tasks (tasks/) provide their own. */
typedef struct gptc_data_source {
    void *user;
    int targets_per_row;          /* 0: T (language modelling) */
    int fields;                   /* GPTC_BATCH_* the source fills beyond tokens and targets */
    int enc_T;                    /* encoder positions when GPTC_BATCH_ENC_TOKENS */
    size_t train_rows;            /* rows in one epoch (for --epochs) */
    /* The next training micro-batch of b->B rows of b->T; uses and advances *rng and
     * *pos, which the trainer saves in checkpoints (exact resume). */
    gptc_status (*train_batch)(gptc_ctx *ctx, void *user, gptc_batch *b, uint64_t *rng, uint64_t *pos);
    /* Validation: n_val_batches(B, T) batches; batch i fills b->B <= its capacity rows. */
    size_t (*n_val_batches)(void *user, int B, int T);
    gptc_status (*val_batch)(gptc_ctx *ctx, void *user, size_t i, gptc_batch *b);
    /* Optional metric over the validation batches (higher is better), e.g. f1_macro:
     * reset, then observe the logits of every batch, then metric. */
    const char *metric_name;      /* NULL: val loss decides the best model and early stopping */
    void (*val_reset)(void *user);
    void (*val_observe)(void *user, const float *logits, const int32_t *targets, int rows, int T);
    double (*val_metric)(void *user);
} gptc_data_source;

typedef struct gptc_train_opts {
    const gptc_data_source *data; /* NULL: token shards in data_dir */
    gptc_model *model;            /* a model to train (taken over and freed by the trainer), or NULL;
                                     on resume the checkpoint's model is used instead */
    const float *class_weights;   /* CLASSIFY loss weights (num_labels), or NULL */
    /* Called between backward and clipping with the step's accumulated gradients (the
     * place of a gradient all-reduce); non-zero status stops the run. */
    gptc_status (*after_backward)(gptc_ctx *ctx, void *user, gptc_grads *g);
    void *hook_user;
    /* 1 (default): this process writes metrics.jsonl, run.json, checkpoints and
     * OUT/model; 0: it trains and evaluates without writing (the other ranks of a
     * multi-process run), and resumes from the writer's checkpoints. */
    int writer;
    const char *tok_dir;          /* tokenizer files carried into model directories (NULL: data_dir/tokenizer) */
    const char *data_dir, *out_dir;
    const char *init_dir;       /* start from this model directory, or NULL */
    gptc_config cfg;            /* architecture when init_dir is NULL and not resuming;
                                   vocab_size <= 0 takes the data's vocabulary size */
    int resume;                 /* continue the run in out_dir from its newest checkpoint */
    int arch_given;             /* the user passed architecture options (checked on resume) */
    int batch_size, seq_len, grad_accum;
    long max_steps;             /* 0: derived from epochs */
    double epochs;
    gptc_schedule sched;        /* lr, min_lr, warmup, kind; total filled in by the trainer */
    float weight_decay, beta1, beta2, eps, grad_clip;
    float dropout;              /* < 0: keep the model's */
    uint64_t seed;
    int sequential;             /* --loader sequential */
    int eval_every, eval_batches, save_every, keep_last, patience;
    int sample_tokens;          /* tokens generated at each evaluation (0: none) */
    volatile int *stop;         /* set by a signal handler: checkpoint and return */
} gptc_train_opts;

void gptc_train_default_opts(gptc_train_opts *o);

typedef enum gptc_train_event_kind {
    GPTC_EV_START, GPTC_EV_STEP, GPTC_EV_EVAL, GPTC_EV_SAMPLE, GPTC_EV_CHECKPOINT, GPTC_EV_EARLY_STOP,
    GPTC_EV_INTERRUPTED, GPTC_EV_DONE
} gptc_train_event_kind;

typedef struct gptc_train_event {
    gptc_train_event_kind kind;
    long step, max_steps, start_step;
    float train_loss, lr, grad_norm, val_loss, best_val_loss;
    double metric, best_metric;               /* when the data source has a metric */
    const char *metric_name;
    double tokens_per_s, elapsed_s;
    const int32_t *sample; size_t n_sample;   /* GPTC_EV_SAMPLE: generated ids */
    const char *path;                         /* checkpoint or model directory */
    size_t n_params, train_tokens, val_tokens;
} gptc_train_event;
typedef void (*gptc_train_cb)(void *user, const gptc_train_event *ev);

gptc_status gptc_train_run(gptc_ctx *ctx, const gptc_train_opts *o, gptc_train_cb cb, void *user);

/* The options of a run, saved as OUT/run.json at its start so that --resume continues
 * with the same ones (options given again on the command line override them).
 * Strings loaded are owned by the caller's buffer store (data_buf, data_cap). */
gptc_status gptc_train_opts_save(gptc_ctx *ctx, const gptc_train_opts *o, const char *path);
gptc_status gptc_train_opts_load(gptc_ctx *ctx, const char *path, gptc_train_opts *o, char *data_buf, size_t data_cap);

/* ---------------------------------------------------------------- fine-tuning tasks
 * Dataset readers (CSV/TSV/JSONL, SQuAD JSON), label maps, the classification, chat
 * (SFT) and extractive-QA data sources the trainer pulls batches from, prediction over
 * a loaded model, and the metrics (classification report, SQuAD EM/F1). */
/* ------------------------------------------------------------ text tables (dataset.c) */
enum { GPTC_FMT_AUTO = 0, GPTC_FMT_CSV, GPTC_FMT_TSV, GPTC_FMT_JSONL };

typedef struct gptc_table_opts {
    int format;            /* GPTC_FMT_*: AUTO picks by extension (.jsonl/.json, .tsv/.tab/.txt, else CSV) */
    int no_header;         /* CSV/TSV without a header row: columns are 1-based numbers */
    const char *text_col;  /* column name (or number with no_header); NULL: "text" / 1 */
    const char *label_col; /* NULL: "label" / 2 */
    int need_label;        /* 1: every row must have a label */
    int skip_bad;          /* skip malformed rows (counted) instead of failing */
} gptc_table_opts;

typedef struct gptc_rows {
    size_t n;
    char **text;    /* n strings, each gptc_alloc'ed */
    char **label;   /* n strings or NULL when no label was read */
    size_t *line;   /* 1-based line of each row in its file */
    size_t n_skipped;
    char first_skip[256]; /* the message of the first skipped row */
} gptc_rows;

/* Reads rows of text (and label) from a CSV (RFC 4180 quoting), TSV (tab-separated, no
 * quoting) or JSONL file ({"text": ..., "label": string or integer}). Errors name the
 * file and line: a missing column, malformed JSON, an empty text, a missing label. */
gptc_status gptc_rows_read(gptc_ctx *ctx, const char *path, const gptc_table_opts *o, gptc_rows *out);
void gptc_rows_free(gptc_rows *r);
int gptc_table_format(const char *path, int format);

/* ------------------------------------------------------------ labels */
typedef struct gptc_labels {
    int n;
    char name[GPTC_MAX_LABELS][GPTC_LABEL_MAX];
} gptc_labels;
/* The sorted set of labels in rows (numerically when all are integers). */
gptc_status gptc_labels_collect(gptc_ctx *ctx, const char *path, const gptc_rows *r, gptc_labels *out);
/* From a classification config's id2label ("" -> "LABEL_i"). */
void gptc_labels_from_config(const gptc_config *c, gptc_labels *out);
/* Id of label s, or -1. An integer i also matches a default name "LABEL_i". */
int gptc_labels_find(const gptc_labels *l, const char *s);
/* Maps the labels of rows to ids; an unknown label fails naming file and line. */
gptc_status gptc_labels_map(gptc_ctx *ctx, const char *path, const gptc_labels *l, const gptc_rows *r, int32_t *ids);

/* ------------------------------------------------------------ tokenized task data */
enum { GPTC_TASK_CLASSIFY = 0, GPTC_TASK_SFT, GPTC_TASK_QA };

/* Rows of tokens with their targets. CLASSIFY: tgt[i] = label; QA: tgt[2i], tgt[2i+1] =
 * start, end positions; SFT: tgt[off[i] + t] = next-token target of position t (-100 where
 * the loss does not count). */
typedef struct gptc_task_data {
    int kind;
    size_t n;
    size_t *off;     /* n + 1 */
    int32_t *ids;
    int32_t *tgt;
    size_t max_len;  /* longest row */
} gptc_task_data;
void gptc_task_data_free(gptc_task_data *d);

/* Encodes texts (truncated to max_len tokens) with their label ids. */
gptc_status gptc_task_classify_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_rows *r,
                                     const int32_t *labels, int max_len, gptc_task_data *out);
/* Reads a chat JSONL ({"messages": [{"role", "content"}, ...]}), renders it with the chat
 * template for a model of vocab_size ids, and keeps the loss on assistant tokens only.
 * Conversations longer than max_len + 1 tokens are cut. */
gptc_status gptc_task_sft_read(gptc_ctx *ctx, const char *path, const gptc_tokenizer *tok, int vocab_size,
                               int max_len, int skip_bad, gptc_task_data *out, size_t *n_skipped);

/* Fills a padded (B, T) batch from rows idx[0..B): tokens padded with pad, targets as the
 * task wants (SFT pads with -100). */
void gptc_task_fill(const gptc_task_data *d, const size_t *idx, int B, int T, int32_t pad, int32_t *tokens,
                    int32_t *targets);

/* ------------------------------------------------------------ extractive QA (qa.c) */
typedef struct gptc_qa_example {
    char *context, *question, *id;
    int n_answers;
    char **answers;
    size_t *answer_start; /* byte offsets into context */
    size_t line;
} gptc_qa_example;

typedef struct gptc_qa_set {
    size_t n;
    gptc_qa_example *ex;
} gptc_qa_set;

/* SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas": [...]}]}]}) or JSONL, one
 * example a line: {"context", "question", "answers": {"text": [...], "answer_start": [...]}
 * or [{"text", "answer_start"}]}. answer_start counts characters (as Python); an offset
 * that does not point at its text fails naming file and line. need_answers: training data. */
gptc_status gptc_qa_read(gptc_ctx *ctx, const char *path, int need_answers, int skip_bad, gptc_qa_set *out,
                         size_t *n_skipped);
void gptc_qa_free(gptc_qa_set *s);

/* Windows: question tokens, the separator, then a window of the context; windows start
 * every (window - stride) context tokens. */
typedef struct gptc_qa_features {
    size_t n;           /* features */
    int T;              /* row length (max_length) */
    int32_t *ids;       /* (n, T), padded */
    int32_t *pos;       /* (n, 2) start/end positions in the row (0: no answer) */
    size_t *ex;         /* example of each feature */
    int *ctx_begin;     /* position in the row where the context window starts */
    int *ctx_len;       /* tokens of context in the row */
    size_t *win_start;  /* index of the window's first token among the context's tokens */
    /* per example: the context's tokens and their byte offsets */
    size_t n_ex;
    size_t **tok_off;   /* n_ex arrays of (n_tokens + 1) byte offsets */
    size_t *n_ctx_tok;
    gptc_task_data data; /* the same rows as task data for the trainer */
} gptc_qa_features;

gptc_status gptc_qa_features_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_qa_set *s, int T, int stride,
                                   int32_t sep, int32_t pad, gptc_qa_features *out);
void gptc_qa_features_free(gptc_qa_features *f);
/* The best span of example e over its features: logits (n_feat, T, 2) of features
 * f0..f0+n_feat-1 (all of example e). Span of at most max_answer tokens, start <= end.
 * Writes the byte range of the context [*b, *e). Returns 0 when no span exists. */
int gptc_qa_best_span(const gptc_qa_features *f, size_t f0, size_t n_feat, const float *logits, int max_answer,
                      size_t *b, size_t *e, double *score);

/* ------------------------------------------------------------ data source (source.c) */
enum { GPTC_METRIC_VAL_LOSS = 0, GPTC_METRIC_ACCURACY, GPTC_METRIC_F1_MACRO, GPTC_METRIC_F1_WEIGHTED };
int gptc_metric_parse(const char *s);

typedef struct gptc_task_source gptc_task_source;
/* A data source over train/val (val may be NULL: no evaluation); the data must outlive
 * it. n_labels and metric for CLASSIFY (metric GPTC_METRIC_VAL_LOSS: the val loss
 * decides). */
gptc_status gptc_task_source_new(gptc_ctx *ctx, const gptc_task_data *train, const gptc_task_data *val, int32_t pad,
                                 uint64_t seed, int metric, int n_labels, gptc_task_source **out);
void gptc_task_source_free(gptc_task_source *src);
/* What the trainer pulls batches from (gptc_train_opts.data). */
const gptc_data_source *gptc_task_source_data(const gptc_task_source *src);
/* Sets the model's pad_token_id (saved in config.json; the classifier pools the last
 * token that is not pad). */
void gptc_task_model_set_pad(gptc_model *m, int32_t pad);

/* ------------------------------------------------------------ prediction (predict.c) */
/* The token that pads rows and separates question from context: the model's pad_token_id,
 * else the tokenizer's <|endoftext|>, else eos_token_id, else 0. */
int32_t gptc_task_pad_id(const gptc_config *c, const gptc_tokenizer *tok);
/* Class probabilities (n, num_labels) of n texts, in batches of 16 (1 without a pad id),
 * each text cut to n_positions tokens. The model is only read. */
gptc_status gptc_classify(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, char *const *texts, size_t n,
                          float *probs);
/* Extractive QA (run_qa.py's settings by default: max_length 384, stride 128, answers
 * of at most 30 tokens). */
typedef struct gptc_qa_opts { int max_length, stride, max_answer; } gptc_qa_opts;
void gptc_qa_opts_default(gptc_qa_opts *o);
/* The predicted answer text per example (gptc_alloc'ed strings, gptc_free) and its score
 * (may be NULL). */
gptc_status gptc_qa_predict(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_qa_set *s,
                            const gptc_qa_opts *o, char **answers, double *scores);

/* ------------------------------------------------------------ metrics (metrics.c) */
typedef struct gptc_cls_report {
    int K;
    long total;
    double accuracy;
    double precision_macro, recall_macro, f1_macro;
    double precision_weighted, recall_weighted, f1_weighted;
    double precision[GPTC_MAX_LABELS], recall[GPTC_MAX_LABELS], f1[GPTC_MAX_LABELS];
    long support[GPTC_MAX_LABELS];
} gptc_cls_report;
/* confusion[true * K + pred]; scikit-learn's definitions with zero_division = 0. */
void gptc_cls_report_compute(const long *confusion, int K, gptc_cls_report *out);
gptc_status gptc_confusion_svg(gptc_ctx *ctx, const char *path, const long *confusion, const gptc_labels *l);

/* SQuAD v1.1's answer normalization (lowercase, no punctuation, no articles a/an/the,
 * single spaces) into a gptc_alloc'ed string; exact match and token F1 of one
 * prediction against one gold answer. */
char *gptc_squad_normalize(gptc_ctx *ctx, const char *s);
double gptc_squad_em(gptc_ctx *ctx, const char *pred, const char *gold);
double gptc_squad_f1(gptc_ctx *ctx, const char *pred, const char *gold);

#ifdef __cplusplus
}
#endif
#endif /* GPTC_H */
