/* block.c: the one forward and backward of every caller: training, evaluation, task
 * heads, attention maps and the KV-cache session. Embeddings, then per layer the block
 * (pre-norm, GPT-2: x + attn(ln(x)), x + mlp(ln(x)); post-norm, BERT: ln(x + attn(x)),
 * ln(x + mlp(x)), with separate q/k/v and an optional padding mask; adapters added to
 * the projections they target), the final norm where the stack has one, and the head. With a cache view the same code runs rows
 * at their cache positions: their keys and values go into the cache and attention reads
 * the cache. Every op goes through the context's kernel table. */
#include "model.h"
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Seeds of the dropout sites of one forward pass: site 0 is the embedding, then
 * 3 per layer (attention probabilities, attention output, MLP output), then LoRA's
 * 4 per layer (QKV, APROJ, FC, MPROJ), then 3 per layer for separate q, k, v adapters. */
uint64_t gptc_site_seed(const gptc_workspace *w, uint64_t call, uint64_t site) {
    uint64_t s = w->dropout_seed ^ (call * 0xD1B54A32D192ED03ull) ^ (site * 0x9E3779B97F4A7C15ull);
    return gptc_splitmix64(&s);
}
static uint64_t lora_seed(const gptc_workspace *w, uint64_t call, int l, int target) {
    uint64_t L = (uint64_t)w->m->cfg.n_layer;
    if (target >= GPTC_LORA_Q) return gptc_site_seed(w, call, 1 + 7 * L + 3 * (uint64_t)l + (uint64_t)(target - GPTC_LORA_Q));
    return gptc_site_seed(w, call, 1 + 3 * L + 4 * (uint64_t)l + (uint64_t)target);
}
static float *lora_u(const gptc_workspace *w, int l, int target, size_t N) {
    size_t slot = w->training ? (size_t)l * GPTC_LORA_TARGETS + (size_t)target : (size_t)target;
    return w->lora_u + slot * N * (size_t)w->m->lora_r;
}

static void set_threads(gptc_ctx *ctx) {
#ifdef _OPENMP
    omp_set_num_threads(ctx->n_threads);
#else
    (void)ctx;
#endif
}

/* out (N, w.out) = x @ W + b, plus the adapter on target t of layer l when attached */
static void proj(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, int l, int t, int wi, int bi, const float *x,
                 float *out, int N, float p, uint64_t call) {
    const gptc_model *m = w->m;
    gptc_wdesc wd = gptc_weight(m, wi);
    ops->linear(ctx, out, x, &wd, gptc_param(m, bi), N);
    if (m->lora_r && m->layers[l].lora[t] >= 0)
        gptc_lora_forward(ctx, m, l, t, x, out, lora_u(w, l, t, (size_t)N), w->lora_x, N, wd.in, wd.out, p,
                          lora_seed(w, call, l, t));
}

/* Dropout probabilities and the call of one forward (0 when not training). */
typedef struct drops {
    float pe, pa, pr, pl;
    uint64_t call;
} drops;

/* Dropout sites of an encoder-decoder beyond GPT-2's (after the heads' 1 + 7 L): per
 * layer the cross-attention's probabilities and output, then the encoder's embedding. */
static uint64_t cross_site(const gptc_model *m, int l, int k) { return 2 + 7 * (uint64_t)m->cfg.n_layer + 2 * (uint64_t)l + (uint64_t)k; }
static uint64_t enc_emb_site(const gptc_model *m) { return 2 + 9 * (uint64_t)m->cfg.n_layer; }

/* Floats between the separate q, k and v blocks of a layer's qkv buffer (and dqkv): the
 * workspace's capacity, so keys and values of any length fit. */
static size_t qkv_block(const gptc_workspace *w) { return (size_t)w->max_B * w->max_T * w->m->cfg.n_embd; }

/* The self-attention of layer l over a full batch (no cache view): GPT-2's fused
 * (B, T, 3C) q|k|v rows, or separate q, k, v blocks of (B, T, C) each; causal (a
 * decoder), padding or no mask (encoders); probabilities kept for backward. */
static gptc_attn_args batch_attn(const gptc_workspace *w, const gptc_layer_acts *a, int l, int B, int T, float pa,
                                 uint64_t call) {
    const gptc_model *m = w->m;
    int C = m->cfg.n_embd;
    size_t NB = qkv_block(w);
    int sep = m->layers[l].qkv_w < 0, enc = l < gptc_dec_first(&m->cfg) || !m->opts.causal;
    gptc_attn_args at = {0};
    at.B = B;
    at.Tq = at.Tk = T;
    at.NH = gptc_layer_heads(&m->cfg, l);
    at.hs = C / at.NH;
    at.scale = 1.0f / sqrtf((float)at.hs);
    at.q = a->qkv;
    at.k = sep ? a->qkv + NB : a->qkv + C;
    at.v = sep ? a->qkv + 2 * NB : a->qkv + 2 * C;
    at.q_row = at.kv_row = sep ? (size_t)C : 3 * (size_t)C;
    at.kv_batch = (size_t)T * at.kv_row;
    at.mask = !enc ? GPTC_MASK_CAUSAL : w->has_key_mask ? GPTC_MASK_PADDING : GPTC_MASK_NONE;
    at.key_mask = enc && w->has_key_mask ? w->key_mask : NULL;
    at.out = a->atty;
    at.out_row = (size_t)C;
    at.att = a->att;
    at.preatt = a->preatt;
    at.p_drop = pa;
    at.seed = gptc_site_seed(w, call, 1 + 3 * (uint64_t)l);
    return at;
}

/* The cross-attention of decoder layer l over a full batch: T queries per row over the
 * Te encoder positions of that row, the source padding mask on the keys. */
static gptc_attn_args cross_attn(const gptc_workspace *w, const gptc_layer_acts *a, int l, int B, int T, int Te,
                                 float pa, uint64_t call) {
    const gptc_model *m = w->m;
    int C = m->cfg.n_embd;
    gptc_attn_args at = {0};
    at.B = B;
    at.Tq = T;
    at.Tk = Te;
    at.NH = gptc_layer_heads(&m->cfg, l);
    at.hs = C / at.NH;
    at.scale = 1.0f / sqrtf((float)at.hs);
    at.q = a->xq;
    at.k = a->xk;
    at.v = a->xv;
    at.q_row = at.kv_row = (size_t)C;
    at.kv_batch = (size_t)Te * C;
    at.mask = w->has_key_mask ? GPTC_MASK_PADDING : GPTC_MASK_NONE;
    at.key_mask = w->has_key_mask ? w->key_mask : NULL;
    at.out = a->xatty;
    at.out_row = (size_t)C;
    at.att = a->xatt;
    at.preatt = a->xpreatt;
    at.p_drop = pa;
    at.seed = gptc_site_seed(w, call, cross_site(m, l, 0));
    return at;
}

/* Token types (NULL: all 0) kept for backward and the padding mask (NULL: none) as
 * floats for the attention of an encoder (BERT's, or an encoder-decoder's over its
 * source) */
static gptc_status encoder_inputs(gptc_ctx *ctx, gptc_workspace *w, const int32_t *types, const float *mask, int N) {
    const gptc_config *c = &w->m->cfg;
    for (int i = 0; i < N; i++) {
        int tt = types ? types[i] : 0;
        if (tt < 0 || tt >= (c->type_vocab_size > 0 ? c->type_vocab_size : 1) || (types && c->arch != GPTC_ARCH_BERT && tt))
            return gptc_fail(ctx, GPTC_ERANGE, "token type %d at position %d is out of range [0, %d)", tt, i,
                             c->type_vocab_size);
        if (mask && mask[i] != 0.0f && mask[i] != 1.0f)
            return gptc_fail(ctx, GPTC_EINVAL, "attention mask value %g at position %d is not 0 or 1", (double)mask[i], i);
        w->last_types[i] = tt;
    }
    if (mask && c->causal && !c->cross_attention)
        return gptc_fail(ctx, GPTC_ENOTSUP, "an attention mask is for bidirectional encoders (BERT)");
    w->has_key_mask = mask != NULL;
    if (mask)
        memcpy(w->key_mask, mask, (size_t)N * sizeof *mask);
    return GPTC_OK;
}

/* An encoder-decoder's embeddings of N = B * T tokens into out: table wi's rows (times
 * sqrt(d_model) when scale_embedding) plus the sinusoidal rows of their positions (pos,
 * or i % T when NULL). */
static void sinus_embed(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, int wi, const int32_t *tokens,
                        const int *pos, int N, int T, float *out) {
    const gptc_model *m = w->m;
    int C = m->cfg.n_embd;
    size_t NC = (size_t)N * C;
    gptc_wdesc wte = gptc_weight(m, wi);
    ops->embed_forward(ctx, out, tokens, NULL, &wte, NULL, N, T, C);
    if (m->cfg.scale_embedding) ops->scale(ctx, out, NC, sqrtf((float)C));
    for (int i = 0; i < N; i++) w->pos_ids[i] = pos ? pos[i] : i % T;
    gptc_wdesc sd = {0};
    sd.dtype = GPTC_F32;
    sd.data = m->sinus;
    sd.layout = GPTC_W_OUT_IN;
    sd.in = C;
    sd.out = m->cfg.n_positions;
    ops->embed_forward(ctx, w->pos_emb, w->pos_ids, NULL, &sd, NULL, N, T, C);
    ops->add(ctx, out, out, w->pos_emb, NC);
}

/* Attention of N cached rows (a session): each row its own batch of one query (rows of
 * q_row floats) over the first n_keys[r] keys (rows of C) of its sequence kv_index[r] in
 * k, v (sequences kv_batch floats apart); output rows of C. */
static gptc_attn_args rows_attn(int N, int NH, int C, const float *q, size_t q_row, float *out, const float *k,
                                const float *v, size_t kv_batch, const int *kv_index, const int *n_keys) {
    gptc_attn_args at;
    memset(&at, 0, sizeof at);
    at.NH = NH;
    at.hs = C / NH;
    at.scale = 1.0f / sqrtf((float)at.hs);
    at.q = q;
    at.q_row = q_row;
    at.out = out;
    at.out_row = (size_t)C;
    at.B = N;
    at.Tq = 1;
    for (int r = 0; r < N; r++)
        if (n_keys[r] > at.Tk) at.Tk = n_keys[r];
    at.k = k;
    at.v = v;
    at.kv_row = (size_t)C;
    at.kv_batch = kv_batch;
    at.kv_index = kv_index;
    at.n_keys = n_keys;
    at.mask = GPTC_MASK_NONE;
    return at;
}

/* One block: layer l over the N = B * T rows of x. Self-attention (a full batch: causal
 * for a decoder, else the padding mask or none; with a cache view: the rows' keys and
 * values into the cache, then each row over its sequence's keys), the cross-attention
 * sub-block where the layer has one (over the Te encoder rows of each batch row, or a
 * session's cross cache), then the MLP; pre-norm x + f(ln(x)) or post-norm ln(x + f(x)).
 * Returns the block's output. */
static const float *block_forward(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, int l, const float *residual,
                                  int B, int T, int Te, const gptc_cache_view *cv, const drops *d) {
    const gptc_model *m = w->m;
    const gptc_config *c = &m->cfg;
    gptc_layer_acts *a = &w->layers[w->training ? l : 0];
    const gptc_layer *y = &m->layers[l];
    int N = B * T, C = c->n_embd, NH = gptc_layer_heads(c, l), I = gptc_layer_inner(c, l);
    size_t NC = (size_t)N * C, NB = qkv_block(w);
    int post = !m->opts.pre_norm, sep = y->qkv_w < 0;
    float pa = d->pa, pr = d->pr, pl = d->pl;
    uint64_t call = d->call;
    const float *xa = residual; /* the attention's input: x (post-norm) or ln_1(x) */
    if (!post) {
        ops->layernorm_forward(ctx, a->ln1, a->ln1_mean, a->ln1_rstd, residual, gptc_param(m, y->ln1_w),
                               gptc_param(m, y->ln1_b), N, C, c->layer_norm_epsilon);
        xa = a->ln1;
    }
    if (!sep) {
        proj(ctx, ops, w, l, GPTC_LORA_QKV, y->qkv_w, y->qkv_b, xa, a->qkv, N, pl, call);
    } else {
        proj(ctx, ops, w, l, GPTC_LORA_Q, y->q_w, y->q_b, xa, a->qkv, N, pl, call);
        proj(ctx, ops, w, l, GPTC_LORA_K, y->k_w, y->k_b, xa, a->qkv + NB, N, pl, call);
        proj(ctx, ops, w, l, GPTC_LORA_V, y->v_w, y->v_b, xa, a->qkv + 2 * NB, N, pl, call);
    }
    gptc_attn_args at;
    int dl = l - gptc_dec_first(c); /* the layer's index in the cache */
    if (cv) {
        /* the rows' keys and values into the cache first */
        size_t q_row = sep ? (size_t)C : 3 * (size_t)C;
        float *K = cv->k + (size_t)dl * cv->layer_stride, *Vc = cv->v + (size_t)dl * cv->layer_stride;
        const float *kr = sep ? a->qkv + NB : a->qkv + C, *vr = sep ? a->qkv + 2 * NB : a->qkv + 2 * C;
        for (int r = 0; r < N; r++) {
            size_t o = (size_t)cv->row_seq[r] * cv->seq_stride + (size_t)cv->row_pos[r] * C;
            memcpy(K + o, kr + (size_t)r * q_row, (size_t)C * sizeof(float));
            memcpy(Vc + o, vr + (size_t)r * q_row, (size_t)C * sizeof(float));
        }
        at = rows_attn(N, NH, C, a->qkv, q_row, a->atty, K, Vc, cv->seq_stride, cv->row_seq, w->row_keys);
        /* rows of one sequence at consecutive positions (a prompt chunk): one batch of
         * N causal queries over its keys, which the kernel may run as GEMMs */
        int chunk = N > 1;
        for (int r = 1; r < N && chunk; r++)
            chunk = cv->row_seq[r] == cv->row_seq[0] && cv->row_pos[r] == cv->row_pos[0] + r;
        if (chunk) {
            at.B = 1;
            at.Tq = N;
            at.Tk = cv->row_pos[0] + N;
            at.n_keys = NULL;
            at.mask = GPTC_MASK_CAUSAL;
        }
    } else {
        at = batch_attn(w, a, l, B, T, pa, call);
    }
    ops->attention_forward(ctx, &at);
    if (w->capture && l == w->capture_layer && a->att)
        memcpy(w->capture, a->att, (size_t)B * NH * T * T * sizeof(float));
    proj(ctx, ops, w, l, GPTC_LORA_APROJ, y->o_w, y->o_b, a->atty, a->attproj, N, pl, call);
    ops->dropout(ctx, a->attproj, NC, pr, gptc_site_seed(w, call, 2 + 3 * (uint64_t)l), 0);
    ops->add(ctx, a->res2, residual, a->attproj, NC);
    /* the MLP's input and residual: ln_1(x + attn) (post-norm; after the cross-attention
     * sub-block where there is one) or ln_2 of it, x + attn */
    float *xm = post ? a->ln1 : a->ln2, *rm = post ? a->ln1 : a->res2;
    if (post)
        ops->layernorm_forward(ctx, a->ln1, a->ln1_mean, a->ln1_rstd, a->res2, gptc_param(m, y->ln1_w),
                               gptc_param(m, y->ln1_b), N, C, c->layer_norm_epsilon);
    else
        ops->layernorm_forward(ctx, a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, gptc_param(m, y->ln2_w),
                               gptc_param(m, y->ln2_b), N, C, c->layer_norm_epsilon);
    if (y->xq_w >= 0) {
        /* post-norm cross-attention: lnx = ln(h + xattn(h, encoder output)) */
        gptc_wdesc wq = gptc_weight(m, y->xq_w), wo = gptc_weight(m, y->xo_w);
        ops->linear(ctx, a->xq, a->ln1, &wq, gptc_param(m, y->xq_b), N);
        gptc_attn_args xt;
        if (cv) {
            xt = rows_attn(N, NH, C, a->xq, (size_t)C, a->xatty, cv->xk + (size_t)dl * cv->x_layer_stride,
                           cv->xv + (size_t)dl * cv->x_layer_stride, cv->x_seq_stride, cv->row_seq, w->row_xkeys);
        } else {
            gptc_wdesc wk = gptc_weight(m, y->xk_w), wv = gptc_weight(m, y->xv_w);
            ops->linear(ctx, a->xk, w->enc_out, &wk, gptc_param(m, y->xk_b), B * Te);
            ops->linear(ctx, a->xv, w->enc_out, &wv, gptc_param(m, y->xv_b), B * Te);
            xt = cross_attn(w, a, l, B, T, Te, pa, call);
        }
        ops->attention_forward(ctx, &xt);
        ops->linear(ctx, a->xattproj, a->xatty, &wo, gptc_param(m, y->xo_b), N);
        ops->dropout(ctx, a->xattproj, NC, pr, gptc_site_seed(w, call, cross_site(m, l, 1)), 0);
        ops->add(ctx, a->resx, a->ln1, a->xattproj, NC);
        ops->layernorm_forward(ctx, a->lnx, a->lnx_mean, a->lnx_rstd, a->resx, gptc_param(m, y->lnx_w),
                               gptc_param(m, y->lnx_b), N, C, c->layer_norm_epsilon);
        xm = rm = a->lnx;
    }
    proj(ctx, ops, w, l, GPTC_LORA_FC, y->fc_w, y->fc_b, xm, a->fch, N, pl, call);
    ops->act_forward(ctx, a->fch_act, a->fch, (size_t)N * I, m->opts.act);
    proj(ctx, ops, w, l, GPTC_LORA_MPROJ, y->proj_w, y->proj_b, a->fch_act, a->fcproj, N, pl, call);
    ops->dropout(ctx, a->fcproj, NC, pr, gptc_site_seed(w, call, 3 + 3 * (uint64_t)l), 0);
    ops->add(ctx, a->res3, rm, a->fcproj, NC);
    if (!post) return a->res3;
    ops->layernorm_forward(ctx, a->ln2, a->ln2_mean, a->ln2_rstd, a->res3, gptc_param(m, y->ln2_w),
                           gptc_param(m, y->ln2_b), N, C, c->layer_norm_epsilon);
    return a->ln2;
}

/* An encoder-decoder's encoder over src (B, Te), the key mask already set: embeddings,
 * dropout, the encoder layers; the output copied to w->enc_out. */
static void encoder_forward(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, const int32_t *src, int B, int Te,
                            const drops *d) {
    const gptc_model *m = w->m;
    int Ne = B * Te, C = m->cfg.n_embd;
    memcpy(w->enc_tokens, src, (size_t)Ne * sizeof *src);
    w->last_enc_T = Te;
    sinus_embed(ctx, ops, w, m->g.enc_wte, src, NULL, Ne, Te, w->enc_encoded);
    ops->dropout(ctx, w->enc_encoded, (size_t)Ne * C, d->pe, gptc_site_seed(w, d->call, enc_emb_site(m)), 0);
    const float *x = w->enc_encoded;
    for (int l = 0; l < gptc_dec_first(&m->cfg); l++) x = block_forward(ctx, ops, w, l, x, B, Te, 0, NULL, d);
    memcpy(w->enc_out, x, (size_t)Ne * C * sizeof(float));
}

/* Ids of n tokens (what names them in a message) in [0, V). */
static gptc_status check_ids(gptc_ctx *ctx, const int32_t *ids, int n, int V, const char *what) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return gptc_fail(ctx, GPTC_ERANGE, "%s id %d at position %d is out of range [0, %d)", what, ids[i], i, V);
    return GPTC_OK;
}

gptc_status gptc_encode_impl(gptc_ctx *ctx, gptc_workspace *w, const int32_t *src, const float *mask, int B, int T,
                             float *xk, float *xv, size_t layer_stride) {
    const gptc_model *m = w->m;
    const gptc_config *c = &m->cfg;
    const gptc_ops *ops = gptc_ops_of(ctx);
    if (c->arch != GPTC_ARCH_MARIAN) return gptc_fail(ctx, GPTC_EINVAL, "encode: the model has no encoder-decoder");
    if (B < 1 || T < 1 || B > w->max_B || T > w->max_T || T > c->n_positions || w->rows_only)
        return gptc_fail(ctx, GPTC_EINVAL, "encode of %d x %d source tokens: the workspace holds up to %d x %d "
                                           "(and n_positions=%d)", B, T, w->max_B, w->max_T, c->n_positions);
    gptc_status s = ops->prepare(ctx);
    if (s) return s;
    set_threads(ctx);
    if ((s = check_ids(ctx, src, B * T, c->vocab_size, "source token")) ||
        (s = encoder_inputs(ctx, w, NULL, mask, B * T)))
        return s;
    drops d = {0};
    w->logits_valid = 0;
    w->last_has_targets = 0;
    encoder_forward(ctx, ops, w, src, B, T, &d);
    for (int l = gptc_dec_first(c); l < c->n_layer; l++) {
        const gptc_layer *y = &m->layers[l];
        size_t o = (size_t)(l - gptc_dec_first(c)) * layer_stride;
        gptc_wdesc wk = gptc_weight(m, y->xk_w), wv = gptc_weight(m, y->xv_w);
        ops->linear(ctx, xk + o, w->enc_out, &wk, gptc_param(m, y->xk_b), B * T);
        ops->linear(ctx, xv + o, w->enc_out, &wv, gptc_param(m, y->xv_b), B * T);
    }
    return GPTC_OK;
}

/* The forward of gptc_forward_impl, with an encoder-decoder's source (enc (B, Te), its
 * mask or NULL) when the model has one. */
static gptc_status forward_core(gptc_ctx *ctx, gptc_workspace *w, const int32_t *tokens, const int32_t *token_types,
                                const float *attn_mask, const int32_t *targets, int B, int T, float *loss,
                                const gptc_cache_view *cv, int first_logit, float *logits, const int32_t *enc,
                                const float *enc_mask, int Te) {
    const gptc_model *m = w->m;
    const gptc_config *c = &m->cfg;
    const gptc_ops *ops = gptc_ops_of(ctx);
    if (B < 1 || T < 1 || B > w->max_B || T > w->max_T || (!cv && T > c->n_positions))
        return gptc_fail(ctx, GPTC_EINVAL, "forward of %d x %d tokens: the workspace holds up to %d x %d", B, T,
                         w->max_B, w->max_T);
    if (!cv && w->rows_only) return gptc_fail(ctx, GPTC_EINVAL, "forward: a session's workspace needs a cache view");
    if (w->model_params != m->n_params)
        return gptc_fail(ctx, GPTC_EINVAL, "forward: the model changed (an adapter was added or merged) after this "
                                           "workspace or session was made; make a new one");
    int post = !m->opts.pre_norm, bert = c->arch == GPTC_ARCH_BERT, marian = c->arch == GPTC_ARCH_MARIAN;
    if (cv && bert) return gptc_fail(ctx, GPTC_ENOTSUP, "forward: a BERT encoder has no KV-cache decoding");
    if (marian && !cv) {
        if (!enc)
            return gptc_fail(ctx, GPTC_EINVAL, "forward: an encoder-decoder (Marian) needs the source: "
                                               "gptc_forward_batch with enc_tokens");
        if (Te < 1 || Te > w->max_T || Te > c->n_positions)
            return gptc_fail(ctx, GPTC_EINVAL, "forward: %d source positions (1 to the workspace's %d and "
                                               "n_positions=%d)", Te, w->max_T, c->n_positions);
        if (attn_mask || token_types)
            return gptc_fail(ctx, GPTC_EINVAL, "forward: a Marian decoder takes no attention mask or token types "
                                               "(the source's padding mask is enc_mask; padded labels are -100)");
    } else if (enc) {
        return gptc_fail(ctx, GPTC_EINVAL, "forward: source tokens are for an encoder-decoder (Marian)");
    }
    gptc_status s = ops->prepare(ctx);
    if (s) return s;
    set_threads(ctx);
    int N = B * T, C = c->n_embd, V = c->vocab_size;
    size_t NC = (size_t)N * C;
    for (int i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return gptc_fail(ctx, GPTC_ERANGE, "token id %d at position %d is out of range [0, %d)", tokens[i], i, V);
        if (c->head == GPTC_HEAD_LM && targets && targets[i] != -100 && (targets[i] < 0 || targets[i] >= V))
            return gptc_fail(ctx, GPTC_ERANGE, "target id %d at position %d is out of range [0, %d) (or -100)",
                             targets[i], i, V);
    }
    if (marian && cv) {
        for (int r = 0; r < N; r++) {
            w->row_xkeys[r] = cv->src_len[cv->row_seq[r]];
            if (w->row_xkeys[r] < 1)
                return gptc_fail(ctx, GPTC_EINVAL, "session: sequence %d has no source (gptc_session_encode first)",
                                 cv->row_seq[r]);
        }
    }
    if (marian && !cv) {
        if ((s = check_ids(ctx, enc, B * Te, V, "source token"))) return s;
        if ((s = encoder_inputs(ctx, w, NULL, enc_mask, B * Te))) return s;
    } else if (!cv && (s = encoder_inputs(ctx, w, token_types, attn_mask, N))) {
        return s;
    }
    int train = w->dropout_on && !cv;
    drops d;
    d.pe = train ? c->embd_pdrop : 0;
    d.pa = train ? c->attn_pdrop : 0;
    d.pr = train ? c->resid_pdrop : 0;
    d.pl = train ? m->lora_dropout : 0;
    d.call = train ? w->dropout_calls++ : 0;
    memcpy(w->last_tokens, tokens, (size_t)N * sizeof *tokens);
    w->last_B = B;
    w->last_T = T;
    w->last_call = d.call;
    w->last_has_targets = 0;
    w->logits_valid = 0;

    if (marian) {
        if (!cv) encoder_forward(ctx, ops, w, enc, B, Te, &d);
        sinus_embed(ctx, ops, w, m->g.wte, tokens, cv ? cv->row_pos : NULL, N, T, w->encoded);
    } else if (bert) {
        /* LayerNorm(word + position + token type) */
        gptc_wdesc wte = gptc_weight(m, m->g.wte), wtt = gptc_weight(m, m->g.wtt);
        ops->embed_forward(ctx, w->emb, tokens, NULL, &wte, gptc_param(m, m->g.wpe), N, T, C);
        ops->embed_forward(ctx, w->emb_tt, w->last_types, NULL, &wtt, NULL, N, T, C);
        ops->add(ctx, w->emb, w->emb, w->emb_tt, NC);
        ops->layernorm_forward(ctx, w->encoded, w->emb_mean, w->emb_rstd, w->emb, gptc_param(m, m->g.ln_emb_w),
                               gptc_param(m, m->g.ln_emb_b), N, C, c->layer_norm_epsilon);
    } else {
        gptc_wdesc wte = gptc_weight(m, m->g.wte);
        ops->embed_forward(ctx, w->encoded, tokens, cv ? cv->row_pos : NULL, &wte, gptc_param(m, m->g.wpe), N, T,
                           C);
    }
    ops->dropout(ctx, w->encoded, NC, d.pe, gptc_site_seed(w, d.call, 0), 0);
    if (cv)
        for (int r = 0; r < N; r++) w->row_keys[r] = cv->row_pos[r] + 1;
    const float *residual = w->encoded;
    for (int l = gptc_dec_first(c); l < c->n_layer; l++)
        residual = block_forward(ctx, ops, w, l, residual, B, T, Te, cv, &d);
    (void)post;
    if (cv) {
        int nl = N - first_logit, from = cv->hidden ? 0 : first_logit; /* layer norm is per row */
        const float *hf = residual + (size_t)from * C;
        if (m->g.ln_f_w >= 0) {
            ops->layernorm_forward(ctx, w->lnf, w->lnf_mean, w->lnf_rstd, hf, gptc_param(m, m->g.ln_f_w),
                                   gptc_param(m, m->g.ln_f_b), N - from, C, c->layer_norm_epsilon);
            hf = w->lnf;
        }
        if (cv->hidden) memcpy(cv->hidden, hf, (size_t)N * C * sizeof(float));
        m->head->rows(ctx, m, hf + (size_t)(first_logit - from) * C, nl, logits);
        return GPTC_OK;
    }
    const float *h = residual; /* the final hidden states: after ln_f where the stack has one */
    if (m->g.ln_f_w >= 0) {
        ops->layernorm_forward(ctx, w->lnf, w->lnf_mean, w->lnf_rstd, residual, gptc_param(m, m->g.ln_f_w),
                               gptc_param(m, m->g.ln_f_b), N, C, c->layer_norm_epsilon);
        h = w->lnf;
    }
    int n_targets = c->head == GPTC_HEAD_QA ? 2 * B : c->head != GPTC_HEAD_LM ? B
                    : bert && !c->mlm_only  ? N + B : N;
    if (targets) memcpy(w->last_targets, targets, (size_t)n_targets * sizeof *targets);
    if ((s = m->head->forward(ctx, w, h, tokens, targets, B, T, w->logits, loss))) return s;
    w->last_has_targets = targets != NULL;
    w->logits_valid = 1;
    return GPTC_OK;
}

gptc_status gptc_forward_impl(gptc_ctx *ctx, gptc_workspace *w, const int32_t *tokens, const int32_t *token_types,
                              const float *attn_mask, const int32_t *targets, int B, int T, float *loss,
                              const gptc_cache_view *cv, int first_logit, float *logits) {
    return forward_core(ctx, w, tokens, token_types, attn_mask, targets, B, T, loss, cv, first_logit, logits, NULL,
                        NULL, 0);
}

gptc_status gptc_forward(gptc_ctx *ctx, gptc_workspace *w, const int32_t *tokens, const int32_t *targets, int B,
                         int T, float *loss) {
    return gptc_forward_impl(ctx, w, tokens, NULL, NULL, targets, B, T, loss, NULL, 0, NULL);
}

gptc_status gptc_forward_batch(gptc_ctx *ctx, gptc_workspace *w, const gptc_batch *b, float *loss) {
    const gptc_config *c = &w->m->cfg;
    const int32_t *targets = b->targets;
    int N = b->B * b->T;
    if (b->B < 1 || b->T < 1 || b->B > w->max_B || b->T > w->max_T)
        return gptc_fail(ctx, GPTC_EINVAL, "forward of %d x %d tokens: the workspace holds up to %d x %d", b->B, b->T,
                         w->max_B, w->max_T);
    if (c->arch == GPTC_ARCH_BERT && c->head == GPTC_HEAD_LM && !c->mlm_only && targets) {
        /* BertForPreTraining's labels (B, T) and next_sentence_label (B), one after the other */
        if (!b->labels) return gptc_fail(ctx, GPTC_EINVAL, "forward: BERT pre-training needs next_sentence_label");
        memcpy(w->last_targets, b->targets, (size_t)N * sizeof *targets);
        memcpy(w->last_targets + N, b->labels, (size_t)b->B * sizeof *targets);
        targets = w->last_targets;
    }
    if (b->enc_mask && !b->enc_tokens)
        return gptc_fail(ctx, GPTC_EINVAL, "forward: enc_mask without enc_tokens");
    return forward_core(ctx, w, b->tokens, b->token_types, b->attention_mask, targets, b->B, b->T, loss, NULL, 0, NULL,
                        b->enc_tokens, b->enc_mask, b->enc_T);
}

/* dx += d/dx of proj's output; weight, bias and adapter gradients into g */
static void proj_backward(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, gptc_grads *g, int l, int t, int wi,
                          int bi, const float *x, const float *dout, float *dx, int N, float p, uint64_t call) {
    const gptc_model *m = w->m;
    gptc_wdesc wd = gptc_weight(m, wi);
    ops->linear_backward(ctx, dx, gptc_grad(g, wi), gptc_grad(g, bi), dout, x, &wd, N);
    if (m->lora_r && t >= 0 && m->layers[l].lora[t] >= 0)
        gptc_lora_backward(ctx, m, g, l, t, x, dout, dx, lora_u(w, l, t, (size_t)N), w->lora_x, w->lora_du, N, wd.in,
                           wd.out, p, lora_seed(w, call, l, t));
}

/* dres (d loss / d output of the sub-block's norm) -> d loss / d its input, in dres;
 * dtmp = the same through the branch's dropout (the branch output's gradient) */
static void norm_back(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, gptc_grads *g, int wi, int bi,
                      const float *inp, const float *mean, const float *rstd, float p, uint64_t seed, int N, int C) {
    const gptc_model *m = w->m;
    size_t NC = (size_t)N * C;
    memset(w->dtmp, 0, NC * sizeof(float));
    ops->layernorm_backward(ctx, w->dtmp, gptc_grad(g, wi), gptc_grad(g, bi), w->dres, inp, gptc_param(m, wi), mean,
                            rstd, N, C);
    memcpy(w->dres, w->dtmp, NC * sizeof(float));
    ops->dropout(ctx, w->dtmp, NC, p, seed, 0);
}

/* Backward of block l (dres: d loss / d its output -> d loss / d its input res_in);
 * a cross-attention sub-block adds d loss / d encoder output into w->denc. */
static void block_backward(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, gptc_grads *g, int l,
                           const float *res_in, int B, int T, int Te, const drops *d) {
    const gptc_model *m = w->m;
    const gptc_config *c = &m->cfg;
    gptc_layer_acts *a = &w->layers[l];
    const gptc_layer *y = &m->layers[l];
    int N = B * T, C = c->n_embd, I = gptc_layer_inner(c, l);
    size_t NC = (size_t)N * C, NB = qkv_block(w);
    int post = !m->opts.pre_norm;
    float pa = d->pa, pr = d->pr, pl = d->pl;
    uint64_t call = d->call;
    uint64_t s_mlp = gptc_site_seed(w, call, 3 + 3 * (uint64_t)l), s_att = gptc_site_seed(w, call, 2 + 3 * (uint64_t)l);
    /* MLP branch: res3 = (post ? ln1 or lnx : res2) + dropout(fcproj); post-norm: out = ln2(res3) */
    if (post) {
        norm_back(ctx, ops, w, g, y->ln2_w, y->ln2_b, a->res3, a->ln2_mean, a->ln2_rstd, pr, s_mlp, N, C);
    } else {
        memcpy(w->dtmp, w->dres, NC * sizeof(float));
        ops->dropout(ctx, w->dtmp, NC, pr, s_mlp, 0);
    }
    memset(w->dfch_act, 0, (size_t)N * I * sizeof(float));
    proj_backward(ctx, ops, w, g, l, GPTC_LORA_MPROJ, y->proj_w, y->proj_b, a->fch_act, w->dtmp, w->dfch_act, N, pl,
                  call);
    memset(w->dfch, 0, (size_t)N * I * sizeof(float));
    ops->act_backward(ctx, w->dfch, a->fch, w->dfch_act, (size_t)N * I, m->opts.act);
    if (post) {
        /* the MLP read ln1 = ln_1(res2) (or lnx); its gradient joins the residual's in dres */
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_FC, y->fc_w, y->fc_b, y->xq_w >= 0 ? a->lnx : a->ln1, w->dfch,
                      w->dres, N, pl, call);
        if (y->xq_w >= 0) {
            /* resx = ln1 + dropout(xattproj), lnx = ln(resx); the queries read ln1, the keys
             * and values the encoder output */
            norm_back(ctx, ops, w, g, y->lnx_w, y->lnx_b, a->resx, a->lnx_mean, a->lnx_rstd, pr,
                      gptc_site_seed(w, call, cross_site(m, l, 1)), N, C);
            memset(w->datty, 0, NC * sizeof(float));
            proj_backward(ctx, ops, w, g, l, -1, y->xo_w, y->xo_b, a->xatty, w->dtmp, w->datty, N, 0, call);
            memset(w->dqkv, 0, NC * sizeof(float));
            memset(w->dqkv + NB, 0, 2 * NB * sizeof(float));
            gptc_attn_args xt = cross_attn(w, a, l, B, T, Te, pa, call);
            ops->attention_backward(ctx, &xt, w->dqkv, w->dqkv + NB, w->dqkv + 2 * NB, w->datty, w->dpreatt, w->datt);
            proj_backward(ctx, ops, w, g, l, -1, y->xq_w, y->xq_b, a->ln1, w->dqkv, w->dres, N, 0, call);
            proj_backward(ctx, ops, w, g, l, -1, y->xk_w, y->xk_b, w->enc_out, w->dqkv + NB, w->denc, B * Te, 0, call);
            proj_backward(ctx, ops, w, g, l, -1, y->xv_w, y->xv_b, w->enc_out, w->dqkv + 2 * NB, w->denc, B * Te, 0,
                          call);
        }
        norm_back(ctx, ops, w, g, y->ln1_w, y->ln1_b, a->res2, a->ln1_mean, a->ln1_rstd, pr, s_att, N, C);
    } else {
        memset(w->dln, 0, NC * sizeof(float));
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_FC, y->fc_w, y->fc_b, a->ln2, w->dfch, w->dln, N, pl, call);
        ops->layernorm_backward(ctx, w->dres, gptc_grad(g, y->ln2_w), gptc_grad(g, y->ln2_b), w->dln, a->res2,
                                gptc_param(m, y->ln2_w), a->ln2_mean, a->ln2_rstd, N, C);
        /* attention branch: res2 = res_in + dropout(attproj) */
        memcpy(w->dtmp, w->dres, NC * sizeof(float));
        ops->dropout(ctx, w->dtmp, NC, pr, s_att, 0);
    }
    memset(w->datty, 0, NC * sizeof(float));
    proj_backward(ctx, ops, w, g, l, GPTC_LORA_APROJ, y->o_w, y->o_b, a->atty, w->dtmp, w->datty, N, pl, call);
    gptc_attn_args at = batch_attn(w, a, l, B, T, pa, call);
    if (y->qkv_w >= 0) {
        memset(w->dqkv, 0, NC * 3 * sizeof(float));
        ops->attention_backward(ctx, &at, w->dqkv, w->dqkv + C, w->dqkv + 2 * C, w->datty, w->dpreatt, w->datt);
        memset(w->dln, 0, NC * sizeof(float));
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_QKV, y->qkv_w, y->qkv_b, a->ln1, w->dqkv, w->dln, N, pl, call);
        ops->layernorm_backward(ctx, w->dres, gptc_grad(g, y->ln1_w), gptc_grad(g, y->ln1_b), w->dln, res_in,
                                gptc_param(m, y->ln1_w), a->ln1_mean, a->ln1_rstd, N, C);
    } else {
        /* post-norm, separate projections of x itself: their gradients join dres */
        for (int k = 0; k < 3; k++) memset(w->dqkv + (size_t)k * NB, 0, NC * sizeof(float));
        ops->attention_backward(ctx, &at, w->dqkv, w->dqkv + NB, w->dqkv + 2 * NB, w->datty, w->dpreatt, w->datt);
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_Q, y->q_w, y->q_b, res_in, w->dqkv, w->dres, N, pl, call);
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_K, y->k_w, y->k_b, res_in, w->dqkv + NB, w->dres, N, pl, call);
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_V, y->v_w, y->v_b, res_in, w->dqkv + 2 * NB, w->dres, N, pl,
                      call);
    }
}

/* d loss / d the embedding rows in dres (N rows of tokens, T per row) -> table wi of an
 * encoder-decoder: through the embedding dropout and scale; the pad rows get nothing
 * (nn.Embedding's padding_idx). */
static void sinus_embed_backward(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, gptc_grads *g, int wi,
                                 const int32_t *tokens, int N, int T, float pe, uint64_t seed) {
    const gptc_model *m = w->m;
    int C = m->cfg.n_embd, pad = m->cfg.pad_token_id;
    size_t NC = (size_t)N * C;
    float *dw = gptc_grad(g, wi);
    ops->dropout(ctx, w->dres, NC, pe, seed, 0);
    if (!dw) return;
    if (m->cfg.scale_embedding) ops->scale(ctx, w->dres, NC, sqrtf((float)C));
    for (int i = 0; i < N; i++)
        if (tokens[i] == pad) memset(w->dres + (size_t)i * C, 0, (size_t)C * sizeof(float));
    ops->embed_backward(ctx, dw, NULL, w->dres, tokens, N, T, C);
}

gptc_status gptc_backward(gptc_ctx *ctx, gptc_workspace *w, gptc_grads *g, float loss_scale) {
    const gptc_model *m = w->m;
    const gptc_config *c = &m->cfg;
    const gptc_ops *ops = gptc_ops_of(ctx);
    if (!w->training)
        return gptc_fail(ctx, GPTC_EINVAL, "backward: the workspace was not made for training "
                                           "(gptc_workspace_new with training = 1)");
    if (!g || g->m != m) return gptc_fail(ctx, GPTC_EINVAL, "backward: the gradients belong to another model");
    if (g->n != m->n_params || w->model_params != m->n_params)
        return gptc_fail(ctx, GPTC_EINVAL, "backward: the model changed (an adapter was added or merged) after its "
                                           "workspace or gradients were made");
    if (!w->last_has_targets || !w->logits_valid)
        return gptc_fail(ctx, GPTC_EINVAL, "backward: needs a forward pass with targets first");
    gptc_status s = ops->prepare(ctx);
    if (s) return s;
    set_threads(ctx);
    int B = w->last_B, T = w->last_T, N = B * T, C = c->n_embd, Te = w->last_enc_T, L0 = gptc_dec_first(c);
    int post = !m->opts.pre_norm, bert = c->arch == GPTC_ARCH_BERT, marian = c->arch == GPTC_ARCH_MARIAN;
    int train = w->dropout_on;
    drops d;
    d.pe = train ? c->embd_pdrop : 0;
    d.pa = train ? c->attn_pdrop : 0;
    d.pr = train ? c->resid_pdrop : 0;
    d.pl = train ? m->lora_dropout : 0;
    d.call = w->last_call;
    size_t NC = (size_t)N * C;

    const float *out = c->n_layer == L0 ? w->encoded : post ? w->layers[c->n_layer - 1].ln2 : w->layers[c->n_layer - 1].res3;
    if (m->g.ln_f_w >= 0) {
        m->head->backward(ctx, w, g, w->lnf, w->dln, w->logits, B, T, loss_scale);
        memset(w->dres, 0, NC * sizeof(float));
        ops->layernorm_backward(ctx, w->dres, gptc_grad(g, m->g.ln_f_w), gptc_grad(g, m->g.ln_f_b), w->dln, out,
                                gptc_param(m, m->g.ln_f_w), w->lnf_mean, w->lnf_rstd, N, C);
    } else {
        m->head->backward(ctx, w, g, out, w->dres, w->logits, B, T, loss_scale);
    }
    w->logits_valid = 0; /* the logits buffer now holds their gradient */
    if (marian) memset(w->denc, 0, (size_t)B * Te * C * sizeof(float));
    for (int l = c->n_layer - 1; l >= L0; l--) {
        const float *res_in = l == L0 ? w->encoded : post ? w->layers[l - 1].ln2 : w->layers[l - 1].res3;
        block_backward(ctx, ops, w, g, l, res_in, B, T, Te, &d);
        if (w->layer_hook && (s = w->layer_hook(ctx, w->layer_hook_user, l))) return s;
    }
    if (marian) {
        sinus_embed_backward(ctx, ops, w, g, m->g.wte, w->last_tokens, N, T, d.pe, gptc_site_seed(w, d.call, 0));
        /* the encoder, from the gradient of its output */
        int Ne = B * Te;
        memcpy(w->dres, w->denc, (size_t)Ne * C * sizeof(float));
        for (int l = L0 - 1; l >= 0; l--) {
            block_backward(ctx, ops, w, g, l, l ? w->layers[l - 1].ln2 : w->enc_encoded, B, Te, 0, &d);
            if (w->layer_hook && (s = w->layer_hook(ctx, w->layer_hook_user, l))) return s;
        }
        sinus_embed_backward(ctx, ops, w, g, m->g.enc_wte, w->enc_tokens, Ne, Te, d.pe,
                             gptc_site_seed(w, d.call, enc_emb_site(m)));
        return GPTC_OK;
    }
    float *dwte = gptc_grad(g, m->g.wte), *dwpe = gptc_grad(g, m->g.wpe), *dwtt = gptc_grad(g, m->g.wtt);
    ops->dropout(ctx, w->dres, NC, d.pe, gptc_site_seed(w, d.call, 0), 0);
    if (bert) {
        memset(w->dtmp, 0, NC * sizeof(float));
        ops->layernorm_backward(ctx, w->dtmp, gptc_grad(g, m->g.ln_emb_w), gptc_grad(g, m->g.ln_emb_b), w->dres, w->emb,
                                gptc_param(m, m->g.ln_emb_w), w->emb_mean, w->emb_rstd, N, C);
        if (dwpe) ops->embed_backward(ctx, NULL, dwpe, w->dtmp, w->last_tokens, N, T, C);
        if (dwtt) ops->embed_backward(ctx, dwtt, NULL, w->dtmp, w->last_types, N, T, C);
        /* nn.Embedding(padding_idx=pad_token_id): lookups of the pad row add no gradient
         * (a tied MLM decoder still reaches it through the head) */
        if (dwte) {
            for (int i = 0; i < N; i++)
                if (w->last_tokens[i] == c->pad_token_id) memset(w->dtmp + (size_t)i * C, 0, (size_t)C * sizeof(float));
            ops->embed_backward(ctx, dwte, NULL, w->dtmp, w->last_tokens, N, T, C);
        }
    } else if (dwte || dwpe) {
        ops->embed_backward(ctx, dwte, dwpe, w->dres, w->last_tokens, N, T, C);
    }
    return GPTC_OK;
}

gptc_status gptc_model_attention(gptc_ctx *ctx, const gptc_model *m, const int32_t *tokens, int T, int layer,
                                 float *out) {
    if (layer < 0 || layer >= m->cfg.n_layer)
        return gptc_fail(ctx, GPTC_ERANGE, "layer %d is out of range [0, %d)", layer, m->cfg.n_layer);
    if (T < 1 || T > m->cfg.n_positions)
        return gptc_fail(ctx, GPTC_EINVAL, "attention: %d tokens (1 to n_positions=%d)", T, m->cfg.n_positions);
    gptc_workspace *w;
    gptc_status s = gptc_workspace_new(ctx, m, 1, T, 0, &w);
    if (s) return s;
    w->capture = out;
    w->capture_layer = layer;
    s = gptc_forward(ctx, w, tokens, NULL, 1, T, NULL);
    gptc_workspace_free(w);
    return s;
}
