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

static int n_inner(const gptc_config *c) { return c->n_inner > 0 ? c->n_inner : 4 * c->n_embd; }

/* Seeds of the dropout sites of one forward pass: site 0 is the embedding, then
 * 3 per layer (attention probabilities, attention output, MLP output), then LoRA's
 * 4 per layer. */
uint64_t gptc_site_seed(const gptc_workspace *w, uint64_t call, uint64_t site) {
    uint64_t s = w->dropout_seed ^ (call * 0xD1B54A32D192ED03ull) ^ (site * 0x9E3779B97F4A7C15ull);
    return gptc_splitmix64(&s);
}
static uint64_t lora_seed(const gptc_workspace *w, uint64_t call, int l, int target) {
    return gptc_site_seed(w, call, 1 + 3 * (uint64_t)w->m->cfg.n_layer + 4 * (uint64_t)l + (uint64_t)target);
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

/* The attention of layer l over a full batch (no cache view): GPT-2's fused (B, T, 3C)
 * q|k|v rows, or BERT's separate q, k, v blocks of (B, T, C) each; causal, padding or
 * no mask; probabilities kept for backward. */
static gptc_attn_args batch_attn(const gptc_workspace *w, const gptc_layer_acts *a, int l, int B, int T, float pa,
                                 uint64_t call) {
    const gptc_model *m = w->m;
    int C = m->cfg.n_embd;
    size_t NC = (size_t)B * T * C;
    int sep = m->cfg.arch == GPTC_ARCH_BERT;
    gptc_attn_args at = {0};
    at.B = B;
    at.Tq = at.Tk = T;
    at.NH = m->cfg.n_head;
    at.hs = C / at.NH;
    at.scale = 1.0f / sqrtf((float)at.hs);
    at.q = a->qkv;
    at.k = sep ? a->qkv + NC : a->qkv + C;
    at.v = sep ? a->qkv + 2 * NC : a->qkv + 2 * C;
    at.q_row = at.kv_row = sep ? (size_t)C : 3 * (size_t)C;
    at.kv_batch = (size_t)T * at.kv_row;
    at.mask = m->opts.causal ? GPTC_MASK_CAUSAL : w->has_key_mask ? GPTC_MASK_PADDING : GPTC_MASK_NONE;
    at.key_mask = w->has_key_mask ? w->key_mask : NULL;
    at.out = a->atty;
    at.out_row = (size_t)C;
    at.att = a->att;
    at.preatt = a->preatt;
    at.p_drop = pa;
    at.seed = gptc_site_seed(w, call, 1 + 3 * (uint64_t)l);
    return at;
}

/* BERT's inputs beside the tokens: token types (NULL: all 0) kept for backward, the
 * padding mask (NULL: none) as floats for the attention */
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
    if (mask && c->causal)
        return gptc_fail(ctx, GPTC_ENOTSUP, "an attention mask is for bidirectional encoders (BERT)");
    w->has_key_mask = mask != NULL;
    if (mask)
        memcpy(w->key_mask, mask, (size_t)N * sizeof *mask);
    return GPTC_OK;
}

gptc_status gptc_forward_impl(gptc_ctx *ctx, gptc_workspace *w, const int32_t *tokens, const int32_t *token_types,
                              const float *attn_mask, const int32_t *targets, int B, int T, float *loss,
                              const gptc_cache_view *cv, int first_logit, float *logits) {
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
    int post = !m->opts.pre_norm, bert = c->arch == GPTC_ARCH_BERT;
    if (cv && bert) return gptc_fail(ctx, GPTC_ENOTSUP, "forward: a BERT encoder has no KV-cache decoding");
    gptc_status s = ops->prepare(ctx);
    if (s) return s;
    set_threads(ctx);
    int N = B * T, C = c->n_embd, V = c->vocab_size, NH = c->n_head, I = n_inner(c);
    size_t NC = (size_t)N * C;
    for (int i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return gptc_fail(ctx, GPTC_ERANGE, "token id %d at position %d is out of range [0, %d)", tokens[i], i, V);
        if (c->head == GPTC_HEAD_LM && targets && targets[i] != -100 && (targets[i] < 0 || targets[i] >= V))
            return gptc_fail(ctx, GPTC_ERANGE, "target id %d at position %d is out of range [0, %d) (or -100)",
                             targets[i], i, V);
    }
    if (!cv && (s = encoder_inputs(ctx, w, token_types, attn_mask, N))) return s;
    int train = w->dropout_on && !cv;
    float pe = train ? c->embd_pdrop : 0, pa = train ? c->attn_pdrop : 0, pr = train ? c->resid_pdrop : 0,
          pl = train ? m->lora_dropout : 0;
    uint64_t call = train ? w->dropout_calls++ : 0;
    memcpy(w->last_tokens, tokens, (size_t)N * sizeof *tokens);
    w->last_B = B;
    w->last_T = T;
    w->last_call = call;
    w->last_has_targets = 0;
    w->logits_valid = 0;

    if (bert) {
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
    ops->dropout(ctx, w->encoded, NC, pe, gptc_site_seed(w, call, 0), 0);
    if (cv)
        for (int r = 0; r < N; r++) w->row_keys[r] = cv->row_pos[r] + 1;
    float *residual = w->encoded;
    for (int l = 0; l < c->n_layer; l++) {
        gptc_layer_acts *a = &w->layers[w->training ? l : 0];
        const gptc_layer *y = &m->layers[l];
        const float *xa = residual; /* the attention's input: x (post-norm) or ln_1(x) */
        if (!post) {
            ops->layernorm_forward(ctx, a->ln1, a->ln1_mean, a->ln1_rstd, residual, gptc_param(m, y->ln1_w),
                                   gptc_param(m, y->ln1_b), N, C, c->layer_norm_epsilon);
            xa = a->ln1;
        }
        if (y->qkv_w >= 0) {
            proj(ctx, ops, w, l, GPTC_LORA_QKV, y->qkv_w, y->qkv_b, xa, a->qkv, N, pl, call);
        } else {
            proj(ctx, ops, w, l, GPTC_LORA_QKV, y->q_w, y->q_b, xa, a->qkv, N, pl, call);
            proj(ctx, ops, w, l, GPTC_LORA_QKV, y->k_w, y->k_b, xa, a->qkv + NC, N, pl, call);
            proj(ctx, ops, w, l, GPTC_LORA_QKV, y->v_w, y->v_b, xa, a->qkv + 2 * NC, N, pl, call);
        }
        gptc_attn_args at;
        if (cv) {
            memset(&at, 0, sizeof at);
            at.NH = NH;
            at.hs = C / NH;
            at.scale = 1.0f / sqrtf((float)at.hs);
            at.q = a->qkv;
            at.q_row = 3 * (size_t)C;
            at.out = a->atty;
            at.out_row = (size_t)C;
            /* each row is its own batch of one query over its sequence's cached keys */
            float *K = cv->k + (size_t)l * cv->layer_stride, *Vc = cv->v + (size_t)l * cv->layer_stride;
            for (int r = 0; r < N; r++) {
                size_t o = (size_t)cv->row_seq[r] * cv->seq_stride + (size_t)cv->row_pos[r] * C;
                memcpy(K + o, a->qkv + (size_t)r * 3 * C + C, (size_t)C * sizeof(float));
                memcpy(Vc + o, a->qkv + (size_t)r * 3 * C + 2 * C, (size_t)C * sizeof(float));
            }
            at.B = N;
            at.Tq = 1;
            at.Tk = cv->row_pos[0] + 1;
            for (int r = 1; r < N; r++)
                if (cv->row_pos[r] + 1 > at.Tk) at.Tk = cv->row_pos[r] + 1;
            at.k = K;
            at.v = Vc;
            at.kv_row = (size_t)C;
            at.kv_batch = cv->seq_stride;
            at.kv_index = cv->row_seq;
            at.n_keys = w->row_keys;
            at.mask = GPTC_MASK_NONE;
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
        /* the MLP's input and residual: ln_1(x + attn) (post-norm) or ln_2 of it, x + attn */
        float *xm = post ? a->ln1 : a->ln2, *rm = post ? a->ln1 : a->res2;
        if (post)
            ops->layernorm_forward(ctx, a->ln1, a->ln1_mean, a->ln1_rstd, a->res2, gptc_param(m, y->ln1_w),
                                   gptc_param(m, y->ln1_b), N, C, c->layer_norm_epsilon);
        else
            ops->layernorm_forward(ctx, a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, gptc_param(m, y->ln2_w),
                                   gptc_param(m, y->ln2_b), N, C, c->layer_norm_epsilon);
        proj(ctx, ops, w, l, GPTC_LORA_FC, y->fc_w, y->fc_b, xm, a->fch, N, pl, call);
        ops->act_forward(ctx, a->fch_act, a->fch, (size_t)N * I, m->opts.act);
        proj(ctx, ops, w, l, GPTC_LORA_MPROJ, y->proj_w, y->proj_b, a->fch_act, a->fcproj, N, pl, call);
        ops->dropout(ctx, a->fcproj, NC, pr, gptc_site_seed(w, call, 3 + 3 * (uint64_t)l), 0);
        ops->add(ctx, a->res3, rm, a->fcproj, NC);
        residual = a->res3;
        if (post) {
            ops->layernorm_forward(ctx, a->ln2, a->ln2_mean, a->ln2_rstd, a->res3, gptc_param(m, y->ln2_w),
                                   gptc_param(m, y->ln2_b), N, C, c->layer_norm_epsilon);
            residual = a->ln2;
        }
    }
    if (cv) {
        int nl = N - first_logit, from = cv->hidden ? 0 : first_logit; /* layer norm is per row */
        ops->layernorm_forward(ctx, w->lnf, w->lnf_mean, w->lnf_rstd, residual + (size_t)from * C,
                               gptc_param(m, m->g.ln_f_w), gptc_param(m, m->g.ln_f_b), N - from, C,
                               c->layer_norm_epsilon);
        if (cv->hidden) memcpy(cv->hidden, w->lnf, (size_t)N * C * sizeof(float));
        m->head->rows(ctx, m, w->lnf + (size_t)(first_logit - from) * C, nl, logits);
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
    return gptc_forward_impl(ctx, w, b->tokens, b->token_types, b->attention_mask, targets, b->B, b->T, loss, NULL, 0,
                             NULL);
}

/* dx += d/dx of proj's output; weight, bias and adapter gradients into g */
static void proj_backward(gptc_ctx *ctx, const gptc_ops *ops, gptc_workspace *w, gptc_grads *g, int l, int t, int wi,
                          int bi, const float *x, const float *dout, float *dx, int N, float p, uint64_t call) {
    const gptc_model *m = w->m;
    gptc_wdesc wd = gptc_weight(m, wi);
    ops->linear_backward(ctx, dx, gptc_grad(g, wi), gptc_grad(g, bi), dout, x, &wd, N);
    if (m->lora_r && m->layers[l].lora[t] >= 0)
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
    int B = w->last_B, T = w->last_T, N = B * T, C = c->n_embd, I = n_inner(c);
    int post = !m->opts.pre_norm, bert = c->arch == GPTC_ARCH_BERT;
    int train = w->dropout_on;
    float pe = train ? c->embd_pdrop : 0, pa = train ? c->attn_pdrop : 0, pr = train ? c->resid_pdrop : 0,
          pl = train ? m->lora_dropout : 0;
    uint64_t call = w->last_call;
    size_t NC = (size_t)N * C;

    const float *out = !c->n_layer ? w->encoded : post ? w->layers[c->n_layer - 1].ln2 : w->layers[c->n_layer - 1].res3;
    if (m->g.ln_f_w >= 0) {
        m->head->backward(ctx, w, g, w->lnf, w->dln, w->logits, B, T, loss_scale);
        memset(w->dres, 0, NC * sizeof(float));
        ops->layernorm_backward(ctx, w->dres, gptc_grad(g, m->g.ln_f_w), gptc_grad(g, m->g.ln_f_b), w->dln, out,
                                gptc_param(m, m->g.ln_f_w), w->lnf_mean, w->lnf_rstd, N, C);
    } else {
        m->head->backward(ctx, w, g, out, w->dres, w->logits, B, T, loss_scale);
    }
    w->logits_valid = 0; /* the logits buffer now holds their gradient */
    for (int l = c->n_layer - 1; l >= 0; l--) {
        gptc_layer_acts *a = &w->layers[l];
        const gptc_layer *y = &m->layers[l];
        const float *res_in = !l ? w->encoded : post ? w->layers[l - 1].ln2 : w->layers[l - 1].res3;
        uint64_t s_mlp = gptc_site_seed(w, call, 3 + 3 * (uint64_t)l), s_att = gptc_site_seed(w, call, 2 + 3 * (uint64_t)l);
        /* MLP branch: res3 = (post ? ln1 : res2) + dropout(fcproj); post-norm: out = ln2(res3) */
        if (post) {
            norm_back(ctx, ops, w, g, y->ln2_w, y->ln2_b, a->res3, a->ln2_mean, a->ln2_rstd, pr, s_mlp, N, C);
        } else {
            memcpy(w->dtmp, w->dres, NC * sizeof(float));
            ops->dropout(ctx, w->dtmp, NC, pr, s_mlp, 0);
        }
        memset(w->dfch_act, 0, (size_t)N * I * sizeof(float));
        proj_backward(ctx, ops, w, g, l, GPTC_LORA_MPROJ, y->proj_w, y->proj_b, a->fch_act, w->dtmp, w->dfch_act, N,
                      pl, call);
        memset(w->dfch, 0, (size_t)N * I * sizeof(float));
        ops->act_backward(ctx, w->dfch, a->fch, w->dfch_act, (size_t)N * I, m->opts.act);
        if (post) {
            /* the MLP read ln1 = ln_1(res2); its gradient joins the residual's in dres */
            proj_backward(ctx, ops, w, g, l, GPTC_LORA_FC, y->fc_w, y->fc_b, a->ln1, w->dfch, w->dres, N, pl, call);
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
        memset(w->dqkv, 0, NC * 3 * sizeof(float));
        gptc_attn_args at = batch_attn(w, a, l, B, T, pa, call);
        if (y->qkv_w >= 0) {
            ops->attention_backward(ctx, &at, w->dqkv, w->dqkv + C, w->dqkv + 2 * C, w->datty, w->dpreatt, w->datt);
            memset(w->dln, 0, NC * sizeof(float));
            proj_backward(ctx, ops, w, g, l, GPTC_LORA_QKV, y->qkv_w, y->qkv_b, a->ln1, w->dqkv, w->dln, N, pl, call);
            ops->layernorm_backward(ctx, w->dres, gptc_grad(g, y->ln1_w), gptc_grad(g, y->ln1_b), w->dln, res_in,
                                    gptc_param(m, y->ln1_w), a->ln1_mean, a->ln1_rstd, N, C);
        } else {
            /* post-norm, separate projections of x itself: their gradients join dres */
            ops->attention_backward(ctx, &at, w->dqkv, w->dqkv + NC, w->dqkv + 2 * NC, w->datty, w->dpreatt, w->datt);
            proj_backward(ctx, ops, w, g, l, GPTC_LORA_QKV, y->q_w, y->q_b, res_in, w->dqkv, w->dres, N, pl, call);
            proj_backward(ctx, ops, w, g, l, GPTC_LORA_QKV, y->k_w, y->k_b, res_in, w->dqkv + NC, w->dres, N, pl, call);
            proj_backward(ctx, ops, w, g, l, GPTC_LORA_QKV, y->v_w, y->v_b, res_in, w->dqkv + 2 * NC, w->dres, N, pl,
                          call);
        }
        if (w->layer_hook && (s = w->layer_hook(ctx, w->layer_hook_user, l))) return s;
    }
    float *dwte = gptc_grad(g, m->g.wte), *dwpe = gptc_grad(g, m->g.wpe), *dwtt = gptc_grad(g, m->g.wtt);
    ops->dropout(ctx, w->dres, NC, pe, gptc_site_seed(w, call, 0), 0);
    if (bert) {
        memset(w->dtmp, 0, NC * sizeof(float));
        ops->layernorm_backward(ctx, w->dtmp, gptc_grad(g, m->g.ln_emb_w), gptc_grad(g, m->g.ln_emb_b), w->dres, w->emb,
                                gptc_param(m, m->g.ln_emb_w), w->emb_mean, w->emb_rstd, N, C);
        if (dwte || dwpe) ops->embed_backward(ctx, dwte, dwpe, w->dtmp, w->last_tokens, N, T, C);
        if (dwtt) ops->embed_backward(ctx, dwtt, NULL, w->dtmp, w->last_types, N, T, C);
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
