/* lora.c: LoRA adapters as PEFT defines them, on GPT-2's Conv1D layers (fan_in_fan_out,
 * W [in, out]) and BERT's nn.Linear layers (W [out, in]):
 * out += (alpha/r) * dropout(x) @ A^T @ B^T, A [r, in], B [out, r].
 * Adding, training hooks (forward/backward of the adapter path), PEFT files
 * (adapter_config.json + adapter_model.safetensors) and merging into the base. */
#include "model.h"
#include "../core/core.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* module names of the targets inside a block, by architecture (NULL: no such module) */
static const char *const gpt2_targets[GPTC_LORA_TARGETS] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
static const char *const bert_targets[GPTC_LORA_TARGETS] = {
    NULL, "attention.output.dense", "intermediate.dense", "output.dense",
    "attention.self.query", "attention.self.key", "attention.self.value"};
static const char *target_name(const gptc_config *c, int t) {
    return c->arch == GPTC_ARCH_BERT ? bert_targets[t] : gpt2_targets[t];
}
/* a block's module name inside the body ("h.3", "encoder.layer.3") */
static const char *block_fmt(const gptc_config *c) { return c->arch == GPTC_ARCH_BERT ? "encoder.layer.%d" : "h.%d"; }
/* PEFT's default target_modules (peft.utils.constants) */
static const char *default_targets(const gptc_config *c) { return c->arch == GPTC_ARCH_BERT ? "query,value" : "c_attn"; }
/* the weight a target adapts, by role */
static int target_weight(const gptc_layer *y, int t) {
    switch (t) {
    case GPTC_LORA_QKV: return y->qkv_w;
    case GPTC_LORA_APROJ: return y->o_w;
    case GPTC_LORA_FC: return y->fc_w;
    case GPTC_LORA_MPROJ: return y->proj_w;
    case GPTC_LORA_Q: return y->q_w;
    case GPTC_LORA_K: return y->k_w;
    default: return y->v_w;
    }
}

gptc_lora_params gptc_lora_default_params(void) {
    gptc_lora_params p;
    memset(&p, 0, sizeof p);
    p.r = 8;
    p.alpha = 16;
    p.dropout = 0.05f;
    p.target_modules[0] = 0; /* the architecture's PEFT default */
    return p;
}

int gptc_model_has_lora(const gptc_model *m) { return m->lora_r > 0; }

/* Does the module full (its name in the Hugging Face model, "transformer.h.3.attn.c_attn")
 * match one of the comma-separated names (PEFT: the name equals the module's or ends it
 * after a dot)? */
static int matches_name(const char *list, const char *full) {
    size_t fl = strlen(full);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        size_t n = (size_t)(e - p);
        if (n && n <= fl && !strncmp(full + fl - n, p, n) && (n == fl || full[fl - n - 1] == '.')) return 1;
        p = e;
    }
    return 0;
}

/* Does target t of layer l of a model of config c match the list? */
static int matches(const gptc_config *c, const char *list, int layer, int target) {
    const char *tn = target_name(c, target);
    if (!tn) return 0;
    char full[128], blk[48];
    snprintf(blk, sizeof blk, block_fmt(c), layer);
    snprintf(full, sizeof full, "%s%s.%s", gptc_arch_for(c)->prefix, blk, tn);
    return matches_name(list, full);
}

gptc_status gptc_model_lora_add(gptc_ctx *ctx, gptc_model *m, const gptc_lora_params *p, uint64_t seed) {
    const gptc_config *c = &m->cfg;
    if (m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "the model already has a LoRA adapter");
    if (c->arch != GPTC_ARCH_GPT2 && c->arch != GPTC_ARCH_BERT)
        return gptc_fail(ctx, GPTC_ENOTSUP, "LoRA adapters are built for GPT-2 and BERT models only");
    if (c->arch == GPTC_ARCH_BERT && c->head != GPTC_HEAD_CLASSIFY && c->head != GPTC_HEAD_QA)
        return gptc_fail(ctx, GPTC_ENOTSUP, "LoRA adapters on BERT are built for the classification and QA heads "
                                            "(BertForSequenceClassification, BertForQuestionAnswering) only");
    const char *list = p->target_modules[0] ? p->target_modules : default_targets(c);
    if (c->arch == GPTC_ARCH_BERT && matches_name(list, "bert.pooler.dense"))
        return gptc_fail(ctx, GPTC_ENOTSUP, "LoRA: target modules '%s' match bert.pooler.dense, which gptc does not "
                                            "adapt (name the encoder's modules, e.g. query,value or output.dense)", list);
    if (m->wdtype != GPTC_F32) return gptc_fail(ctx, GPTC_EINVAL, "LoRA adapters need a model loaded as F32");
    if (p->r < 1 || p->r > 4096 || !(p->alpha > 0) || !(p->dropout >= 0 && p->dropout < 1))
        return gptc_fail(ctx, GPTC_EINVAL, "LoRA: r = %d must be in [1, 4096], alpha = %g > 0, dropout = %g in [0, 1)",
                         p->r, (double)p->alpha, (double)p->dropout);
    int L = c->n_layer, n_new = 0;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++) n_new += matches(c, list, l, t) ? 2 : 0;
    if (!n_new)
        return gptc_fail(ctx, GPTC_EINVAL, "LoRA: target modules '%s' match no layer (use %s)", list,
                         c->arch == GPTC_ARCH_BERT ? "query, key, value, attention.output.dense, intermediate.dense "
                                                     "or output.dense"
                                                   : "c_attn, c_proj, c_fc, attn.c_proj or mlp.c_proj");
    if (m->n_tensors + (size_t)n_new > m->cap_tensors)
        return gptc_fail(ctx, GPTC_EINTERNAL, "LoRA: the tensor table has no room for %d adapter tensors", n_new);
    /* sizes first, so a failed allocation leaves the model as it was */
    size_t off = m->n_params;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++)
            if (matches(c, list, l, t)) {
                const gptc_ptensor *w = &m->tensors[target_weight(&m->layers[l], t)];
                off += (((size_t)p->r * (size_t)gptc_tensor_in(w) + 15) & ~(size_t)15) +
                       (((size_t)gptc_tensor_out(w) * (size_t)p->r + 15) & ~(size_t)15);
            }
    float *params = gptc_calloc(ctx, off, sizeof(float), "parameters with LoRA");
    if (!params) return GPTC_ENOMEM;
    memcpy(params, m->params, m->n_params * sizeof(float));
    gptc_model_params_release(m);
    m->params = params;
    size_t n0 = m->n_tensors, offl = m->n_lowp;
    off = m->n_params;
    for (size_t i = 0; i < n0; i++) m->tensors[i].trainable = m->tensors[i].kind != GPTC_TK_BASE;
    char name[64], blk[48];
    for (int l = 0; l < L; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++) {
            if (!matches(c, list, l, t)) continue;
            const gptc_ptensor *w = &m->tensors[target_weight(&m->layers[l], t)];
            int in = gptc_tensor_in(w), out = gptc_tensor_out(w);
            snprintf(blk, sizeof blk, block_fmt(c), l);
            /* A [r, in], B [out, r] */
            snprintf(name, sizeof name, "%s.%s.lora_A.weight", blk, target_name(c, t));
            m->layers[l].lora[t] = gptc_model_add_tensor(m, name, p->r, in, GPTC_W_OUT_IN, GPTC_TK_LORA, GPTC_F32,
                                                         &off, &offl);
            snprintf(name, sizeof name, "%s.%s.lora_B.weight", blk, target_name(c, t));
            gptc_model_add_tensor(m, name, out, p->r, GPTC_W_OUT_IN, GPTC_TK_LORA, GPTC_F32, &off, &offl);
        }
    for (size_t i = n0; i < m->n_tensors; i += 2) {
        /* A: kaiming-uniform with a = sqrt(5), i.e. uniform(-1/sqrt(in), 1/sqrt(in)); B: 0 */
        const gptc_ptensor *a = &m->tensors[i];
        float bound = 1.0f / sqrtf((float)a->shape[1]);
        uint64_t st = seed * 0x2545F4914F6CDD1Dull + i * 0x9E3779B97F4A7C15ull + 3;
        for (size_t j = 0; j < a->numel; j++)
            params[a->offset + j] = bound * (float)(2.0 * ((gptc_splitmix64(&st) >> 11) * (1.0 / 9007199254740992.0)) - 1.0);
    }
    m->n_params = off;
    m->lora_r = p->r;
    m->lora_alpha = p->alpha;
    m->lora_dropout = p->dropout;
    snprintf(m->lora_targets, sizeof m->lora_targets, "%s", list);
    return GPTC_OK;
}

void gptc_lora_forward(gptc_ctx *ctx, const gptc_model *m, int layer, int target, const float *x, float *out,
                       float *u, float *xd, int N, int in, int outc, float p, uint64_t seed) {
    const gptc_ops *ops = gptc_ops_of(ctx);
    int ia = m->layers[layer].lora[target], r = m->lora_r;
    const float *A = gptc_param(m, ia), *B = gptc_param(m, ia + 1);
    float scale = m->lora_alpha / (float)r;
    const float *xin = x;
    if (p > 0) {
        memcpy(xd, x, (size_t)N * in * sizeof(float));
        ops->dropout(ctx, xd, (size_t)N * in, p, seed, 0);
        xin = xd;
    }
    ops->gemm(ctx, 0, 1, N, r, in, 1.0f, xin, in, A, in, 0.0f, u, r);
    ops->gemm(ctx, 0, 1, N, outc, r, scale, u, r, B, r, 1.0f, out, outc);
}

void gptc_lora_backward(gptc_ctx *ctx, const gptc_model *m, gptc_grads *g, int layer, int target, const float *x,
                        const float *dout, float *dx, const float *u, float *xd, float *du, int N, int in, int outc,
                        float p, uint64_t seed) {
    const gptc_ops *ops = gptc_ops_of(ctx);
    int ia = m->layers[layer].lora[target], r = m->lora_r;
    const float *A = gptc_param(m, ia), *B = gptc_param(m, ia + 1);
    float *dA = gptc_grad(g, ia), *dB = gptc_grad(g, ia + 1);
    float scale = m->lora_alpha / (float)r;
    ops->gemm(ctx, 1, 0, outc, r, N, scale, dout, outc, u, r, 1.0f, dB, r);
    ops->gemm(ctx, 0, 0, N, r, outc, scale, dout, outc, B, r, 0.0f, du, r);
    const float *xin = x;
    if (p > 0) {
        memcpy(xd, x, (size_t)N * in * sizeof(float));
        ops->dropout(ctx, xd, (size_t)N * in, p, seed, 0);
        xin = xd;
    }
    ops->gemm(ctx, 1, 0, r, in, N, 1.0f, du, r, xin, in, 1.0f, dA, in);
    if (!dx) return;
    if (p > 0) {
        ops->gemm(ctx, 0, 0, N, in, r, 1.0f, du, r, A, in, 0.0f, xd, in);
        ops->dropout(ctx, xd, (size_t)N * in, p, seed, 0);
        ops->add(ctx, dx, dx, xd, (size_t)N * in);
    } else {
        ops->gemm(ctx, 0, 0, N, in, r, 1.0f, du, r, A, in, 1.0f, dx, in);
    }
}

/* ------------------------------------------------------------------ PEFT files */

static const char *task_type(const gptc_config *c) {
    return c->head == GPTC_HEAD_CLASSIFY ? "SEQ_CLS" : c->head == GPTC_HEAD_QA ? "QUESTION_ANS" : "CAUSAL_LM";
}

gptc_status gptc_model_lora_save(gptc_ctx *ctx, const gptc_model *m, const char *dir) {
    if (!m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "the model has no LoRA adapter to save");
    gptc_status s = gptc_mkdirs(ctx, dir);
    if (s) return s;
    json_t *j = json_object(), *targets = json_array();
    for (const char *p = m->lora_targets; *p;) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if (e > p) json_array_append_new(targets, json_stringn(p, (size_t)(e - p)));
        p = e;
    }
    json_object_set_new(j, "peft_type", json_string("LORA"));
    json_object_set_new(j, "task_type", json_string(task_type(&m->cfg)));
    json_object_set_new(j, "r", json_integer(m->lora_r));
    json_object_set_new(j, "lora_alpha", json_real(m->lora_alpha));
    json_object_set_new(j, "lora_dropout", json_real(m->lora_dropout));
    json_object_set_new(j, "target_modules", targets);
    json_object_set_new(j, "fan_in_fan_out", json_boolean(m->cfg.arch == GPTC_ARCH_GPT2)); /* Conv1D's [in, out] */
    json_object_set_new(j, "bias", json_string("none"));
    json_object_set_new(j, "inference_mode", json_true());
    json_object_set_new(j, "base_model_name_or_path", json_string(""));
    json_t *mts = json_null();
    if (m->cfg.head == GPTC_HEAD_CLASSIFY) mts = json_pack("[s]", m->cfg.arch == GPTC_ARCH_BERT ? "classifier" : "score");
    else if (m->cfg.head == GPTC_HEAD_QA) mts = json_pack("[s]", "qa_outputs");
    json_object_set_new(j, "modules_to_save", mts);
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    char path[4200];
    if (!text) return gptc_fail(ctx, GPTC_ENOMEM, "adapter_config.json: out of memory");
    gptc_path_join(ctx, path, sizeof path, dir, "adapter_config.json");
    gptc_iovec parts[2] = {{text, strlen(text)}, {"\n", 1}};
    s = gptc_file_write_atomic(ctx, path, parts, 2);
    free(text);
    if (s) return s;
    size_t n = 0;
    for (size_t i = 0; i < m->n_tensors; i++) n += m->tensors[i].kind != GPTC_TK_BASE;
    gptc_st_entry *e = gptc_calloc(ctx, n, sizeof *e, "adapter entries");
    char (*names)[128] = gptc_calloc(ctx, n, sizeof *names, "adapter names");
    if (!e || !names) s = GPTC_ENOMEM;
    for (size_t i = 0, k = 0; !s && i < m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i];
        if (t->kind == GPTC_TK_BASE) continue;
        snprintf(names[k], sizeof names[k], "base_model.model.%s%s", t->kind == GPTC_TK_LORA ? m->arch->prefix : "",
                 t->name);
        e[k].name = names[k];
        e[k].ndim = t->ndim;
        e[k].shape[0] = t->shape[0];
        e[k].shape[1] = t->shape[1];
        e[k].data = m->params + t->offset;
        k++;
    }
    if (!s) {
        gptc_path_join(ctx, path, sizeof path, dir, "adapter_model.safetensors");
        static const char *const meta[] = {"format", "pt", NULL};
        s = gptc_st_write(ctx, path, e, n, GPTC_F32, meta);
    }
    gptc_free(e);
    gptc_free(names);
    return s;
}

gptc_status gptc_model_lora_load(gptc_ctx *ctx, gptc_model *m, const char *dir) {
    char path[4200];
    gptc_path_join(ctx, path, sizeof path, dir, "adapter_config.json");
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%d: %s", path, err.line, err.text);
    gptc_lora_params p = gptc_lora_default_params();
    json_t *r = json_object_get(j, "r"), *a = json_object_get(j, "lora_alpha"), *d = json_object_get(j, "lora_dropout"),
           *t = json_object_get(j, "target_modules"), *pt = json_object_get(j, "peft_type");
    gptc_status s = GPTC_OK;
    if (pt && (!json_is_string(pt) || strcmp(json_string_value(pt), "LORA")))
        s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: peft_type must be \"LORA\"", path);
    else if (!json_is_integer(r) || !json_is_number(a))
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field r (integer) and lora_alpha (number) are required", path);
    else if (json_integer_value(r) < 1 || json_integer_value(r) > 4096)
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field r = %lld is out of range [1, 4096]", path, (long long)json_integer_value(r));
    else if (!(json_number_value(a) > 0) || !(json_number_value(a) <= 1e6))
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field lora_alpha = %g is out of range (0, 1e6]", path, json_number_value(a));
    else if (d && !json_is_null(d) && (!json_is_number(d) || !(json_number_value(d) >= 0 && json_number_value(d) < 1)))
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field lora_dropout must be a number in [0, 1)", path);
    else {
        p.r = (int)json_integer_value(r);
        p.alpha = (float)json_number_value(a);
        p.dropout = json_is_number(d) ? (float)json_number_value(d) : 0.0f;
        p.target_modules[0] = 0;
        if (json_is_string(t)) snprintf(p.target_modules, sizeof p.target_modules, "%s", json_string_value(t));
        else if (json_is_array(t)) {
            size_t i;
            json_t *v;
            json_array_foreach(t, i, v) {
                if (!json_is_string(v)) continue;
                size_t used = strlen(p.target_modules);
                snprintf(p.target_modules + used, sizeof p.target_modules - used, "%s%s", used ? "," : "",
                         json_string_value(v));
            }
        } else s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field target_modules is missing", path);
    }
    json_decref(j);
    if (!s && (s = gptc_model_lora_add(ctx, m, &p, 0))) return gptc_fail_prefix(ctx, s, "%s", path);
    if (s) return s;
    gptc_path_join(ctx, path, sizeof path, dir, "adapter_model.safetensors");
    gptc_safetensors st;
    if ((s = gptc_st_open(ctx, path, &st))) return s;
    for (size_t i = 0; !s && i < m->n_tensors; i++) {
        const gptc_ptensor *x = &m->tensors[i];
        if (x->kind == GPTC_TK_BASE) continue;
        char a1[160], a2[160];
        snprintf(a1, sizeof a1, "base_model.model.%s%s", m->arch->prefix, x->name);
        snprintf(a2, sizeof a2, "base_model.model.%s", x->name);
        const gptc_st_tensor *f = gptc_st_find(&st, a1);
        if (!f) f = gptc_st_find(&st, a2);
        if (!f && x->kind == GPTC_TK_HEAD) continue; /* the head stays as the base model has it */
        if (!f) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s is missing", path, a1);
        else if (f->ndim != x->ndim || f->shape[0] != x->shape[0] || (x->ndim == 2 && f->shape[1] != x->shape[1]))
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s has the wrong shape for r=%d", path, f->name, m->lora_r);
        else {
            float *v = m->params + x->offset;
            gptc_st_to_f32(f, v);
            for (size_t k = 0; k < x->numel; k++)
                if (!isfinite(v[k])) {
                    s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s holds a non-finite value (NaN or Inf) at element %zu",
                                  path, f->name, k);
                    break;
                }
        }
    }
    gptc_st_close(&st);
    return s;
}

gptc_status gptc_model_lora_merge(gptc_ctx *ctx, gptc_model *m) {
    if (!m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "the model has no LoRA adapter to merge");
    const gptc_ops *ops = gptc_ops_of(ctx);
    gptc_status s = ops->prepare(ctx);
    if (s) return s;
    float scale = m->lora_alpha / (float)m->lora_r;
    for (int l = 0; l < m->cfg.n_layer; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++) {
            int ia = m->layers[l].lora[t];
            if (ia < 0) continue;
            const gptc_ptensor *w = &m->tensors[target_weight(&m->layers[l], t)];
            int in = gptc_tensor_in(w), out = gptc_tensor_out(w), r = m->lora_r;
            const float *A = gptc_param(m, ia), *B = gptc_param(m, ia + 1);
            if (w->layout == GPTC_W_IN_OUT) /* W [in, out] += scale * A^T [in, r] @ B^T [r, out] */
                ops->gemm(ctx, 1, 1, in, out, r, scale, A, in, B, r, 1.0f, m->params + w->offset, out);
            else /* W [out, in] += scale * B [out, r] @ A [r, in] */
                ops->gemm(ctx, 0, 0, out, in, r, scale, B, r, A, in, 1.0f, m->params + w->offset, in);
            m->layers[l].lora[t] = -1;
        }
    /* the adapter tensors were appended last: drop them and their floats */
    size_t n_keep = 0, n_params = 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].kind != GPTC_TK_LORA) {
            m->tensors[n_keep] = m->tensors[i];
            m->tensors[n_keep++].trainable = 1;
            if (m->tensors[i].dtype == GPTC_F32) {
                size_t end = m->tensors[i].offset + ((m->tensors[i].numel + 15) & ~(size_t)15);
                if (end > n_params) n_params = end;
            }
        }
    m->n_tensors = n_keep;
    m->n_params = n_params;
    m->lora_r = 0;
    return GPTC_OK;
}
