/* gptc.h: the public C API of libgptc, GPT-style transformer language models in C.
 * This header is the contract: every declaration says shapes, ownership and errors.
 * Nothing here prints or exits; failures return a gptc_status and leave a message
 * in the context, read with gptc_errmsg(). */
#ifndef GPTC_H
#define GPTC_H

#include <stddef.h>
#include <stdint.h>

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

/* ---------------------------------------------------------------- tokenizer
 * Byte-level BPE as GPT-2 (tiktoken "gpt2"), and the tiktoken encodings
 * r50k_base, p50k_base, cl100k_base, o200k_base. A tokenizer is immutable after
 * loading and may be used from several threads at once. */
typedef struct gptc_tokenizer gptc_tokenizer;

/* Loads from a directory or file: vocab.json + merges.txt, tokenizer.json,
 * encoder.json + vocab.bpe, or a .tiktoken rank file. */
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

/* ---------------------------------------------------------------- model config */
typedef enum gptc_dtype { GPTC_F32 = 0, GPTC_F16, GPTC_BF16, GPTC_DTYPE_COUNT } gptc_dtype;

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
 * before gptc_model_prepare and before adding an adapter. */
gptc_status gptc_model_set_head(gptc_ctx *ctx, gptc_model *m, int head, int num_labels, const char *const *labels,
                                uint64_t seed);

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
/* Must come before gptc_model_prepare; fails when the model already has an adapter. */
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

#ifdef __cplusplus
}
#endif
#endif /* GPTC_H */
