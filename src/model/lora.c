/* lora.c: LoRA adapters as PEFT defines them for GPT-2's Conv1D layers
 * (fan_in_fan_out): out += (alpha/r) * dropout(x) @ A^T @ B^T, A [r, in], B [out, r].
 * Adding, training hooks (forward/backward of the adapter path), PEFT files
 * (adapter_config.json + adapter_model.safetensors) and merging into the base. */
#include "model.h"
#include "../io/safetensors.h"
#include "../kernels/kernels.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const target_names[GPTC_LORA_TARGETS] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
static const int target_weight[GPTC_LORA_TARGETS] = {GPTC_T_QKV_W, GPTC_T_APROJ_W, GPTC_T_FC_W, GPTC_T_MPROJ_W};

gptc_lora_params gptc_lora_default_params(void) {
    gptc_lora_params p;
    memset(&p, 0, sizeof p);
    p.r = 8;
    p.alpha = 16;
    p.dropout = 0.05f;
    strcpy(p.target_modules, "c_attn");
    return p;
}

int gptc_model_has_lora(const gptc_model *m) { return m->lora_r > 0; }

/* Does the module "h.<l>.<target>" match one of the comma-separated names (PEFT: the
 * name equals the module's or ends it after a dot)? */
static int matches(const char *list, int layer, int target) {
    char full[64];
    snprintf(full, sizeof full, "h.%d.%s", layer, target_names[target]);
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

gptc_status gptc_model_lora_add(gptc_ctx *ctx, gptc_model *m, const gptc_lora_params *p, uint64_t seed) {
    const gptc_config *c = &m->cfg;
    if (m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "the model already has a LoRA adapter");
    if (p->r < 1 || p->r > 4096 || !(p->alpha > 0) || !(p->dropout >= 0 && p->dropout < 1))
        return gptc_fail(ctx, GPTC_EINVAL, "LoRA: r = %d must be in [1, 4096], alpha = %g > 0, dropout = %g in [0, 1)",
                         p->r, (double)p->alpha, (double)p->dropout);
    int L = c->n_layer, n_new = 0;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++) n_new += matches(p->target_modules, l, t) ? 2 : 0;
    if (!n_new)
        return gptc_fail(ctx, GPTC_EINVAL, "LoRA: target modules '%s' match no layer (use c_attn, c_proj, c_fc, "
                                           "attn.c_proj or mlp.c_proj)", p->target_modules);
    gptc_ptensor *tab = gptc_calloc(ctx, m->n_tensors + (size_t)n_new, sizeof *tab, "tensor table");
    int *idx = gptc_alloc(ctx, (size_t)L * GPTC_LORA_TARGETS * sizeof(int), "LoRA index");
    if (!tab || !idx) {
        gptc_free(tab);
        gptc_free(idx);
        return GPTC_ENOMEM;
    }
    memcpy(tab, m->tensors, m->n_tensors * sizeof *tab);
    size_t n = m->n_tensors, off = m->n_params;
    for (size_t i = 0; i < n; i++) tab[i].trainable = tab[i].kind != GPTC_TK_BASE;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++) {
            idx[l * GPTC_LORA_TARGETS + t] = -1;
            if (!matches(p->target_modules, l, t)) continue;
            const gptc_ptensor *w = &m->tensors[gptc_layer_tensor(m, l, target_weight[t])];
            idx[l * GPTC_LORA_TARGETS + t] = (int)n;
            for (int ab = 0; ab < 2; ab++) {
                gptc_ptensor *x = &tab[n++];
                snprintf(x->name, sizeof x->name, "h.%d.%s.lora_%c.weight", l, target_names[t], ab ? 'B' : 'A');
                x->ndim = 2;
                x->shape[0] = ab ? w->shape[1] : p->r; /* A [r, in], B [out, r] */
                x->shape[1] = ab ? p->r : w->shape[0];
                x->numel = (size_t)x->shape[0] * (size_t)x->shape[1];
                x->offset = off;
                x->decay = 1;
                x->kind = GPTC_TK_LORA;
                x->trainable = 1;
                off += (x->numel + 15) & ~(size_t)15;
            }
        }
    float *params = gptc_calloc(ctx, off, sizeof(float), "parameters with LoRA");
    if (!params) {
        gptc_free(tab);
        gptc_free(idx);
        return GPTC_ENOMEM;
    }
    memcpy(params, m->params, m->n_params * sizeof(float));
    for (size_t i = m->n_tensors; i < n; i += 2) {
        /* A: kaiming-uniform with a = sqrt(5), i.e. uniform(-1/sqrt(in), 1/sqrt(in)); B: 0 */
        float bound = 1.0f / sqrtf((float)tab[i].shape[1]);
        uint64_t st = seed * 0x2545F4914F6CDD1Dull + i * 0x9E3779B97F4A7C15ull + 3;
        for (size_t j = 0; j < tab[i].numel; j++)
            params[tab[i].offset + j] = bound * (float)(2.0 * ((gptc_splitmix64(&st) >> 11) * (1.0 / 9007199254740992.0)) - 1.0);
    }
    gptc_free(m->params);
    gptc_free(m->tensors);
    gptc_free(m->grads);
    gptc_free(m->adam_m);
    gptc_free(m->adam_v);
    gptc_free(m->acts);
    m->grads = m->adam_m = m->adam_v = m->acts = NULL;
    m->max_B = m->max_T = 0;
    m->params = params;
    m->tensors = tab;
    m->n_tensors = n;
    m->n_params = off;
    m->lora_idx = idx;
    m->lora_r = p->r;
    m->lora_alpha = p->alpha;
    m->lora_dropout = p->dropout;
    snprintf(m->lora_targets, sizeof m->lora_targets, "%s", p->target_modules);
    return GPTC_OK;
}

void gptc_lora_forward(gptc_ctx *ctx, const gptc_model *m, int layer, int target, const float *x, float *out,
                       float *u, float *xd, int N, int in, int outc, uint64_t seed) {
    int ia = m->lora_idx[layer * GPTC_LORA_TARGETS + target], r = m->lora_r;
    const float *A = m->params + m->tensors[ia].offset, *B = m->params + m->tensors[ia + 1].offset;
    float p = m->training ? m->lora_dropout : 0.0f, scale = m->lora_alpha / (float)r;
    const float *xin = x;
    if (p > 0) {
        memcpy(xd, x, (size_t)N * in * sizeof(float));
        k_dropout(xd, (size_t)N * in, p, seed, 0);
        xin = xd;
    }
    gptc_sgemm(ctx, 0, 1, N, r, in, 1.0f, xin, in, A, in, 0.0f, u, r);
    gptc_sgemm(ctx, 0, 1, N, outc, r, scale, u, r, B, r, 1.0f, out, outc);
}

void gptc_lora_backward(gptc_ctx *ctx, gptc_model *m, int layer, int target, const float *x, const float *dout,
                        float *dx, const float *u, float *xd, float *du, int N, int in, int outc, uint64_t seed) {
    int ia = m->lora_idx[layer * GPTC_LORA_TARGETS + target], r = m->lora_r;
    const float *A = m->params + m->tensors[ia].offset, *B = m->params + m->tensors[ia + 1].offset;
    float *dA = m->grads + m->tensors[ia].offset, *dB = m->grads + m->tensors[ia + 1].offset;
    float p = m->training ? m->lora_dropout : 0.0f, scale = m->lora_alpha / (float)r;
    gptc_sgemm(ctx, 1, 0, outc, r, N, scale, dout, outc, u, r, 1.0f, dB, r);
    gptc_sgemm(ctx, 0, 0, N, r, outc, scale, dout, outc, B, r, 0.0f, du, r);
    const float *xin = x;
    if (p > 0) {
        memcpy(xd, x, (size_t)N * in * sizeof(float));
        k_dropout(xd, (size_t)N * in, p, seed, 0);
        xin = xd;
    }
    gptc_sgemm(ctx, 1, 0, r, in, N, 1.0f, du, r, xin, in, 1.0f, dA, in);
    if (!dx) return;
    if (p > 0) {
        gptc_sgemm(ctx, 0, 0, N, in, r, 1.0f, du, r, A, in, 0.0f, xd, in);
        k_dropout(xd, (size_t)N * in, p, seed, 0);
        k_add_forward(dx, dx, xd, (size_t)N * in);
    } else {
        gptc_sgemm(ctx, 0, 0, N, in, r, 1.0f, du, r, A, in, 1.0f, dx, in);
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
    json_object_set_new(j, "fan_in_fan_out", json_true());
    json_object_set_new(j, "bias", json_string("none"));
    json_object_set_new(j, "inference_mode", json_true());
    json_object_set_new(j, "base_model_name_or_path", json_string(""));
    json_t *mts = json_null();
    if (m->cfg.head == GPTC_HEAD_CLASSIFY) mts = json_pack("[s]", "score");
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
        snprintf(names[k], sizeof names[k], "base_model.model.%s%s", t->kind == GPTC_TK_LORA ? "transformer." : "", t->name);
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
    if (!s) s = gptc_model_lora_add(ctx, m, &p, 0);
    if (s) return s;
    gptc_path_join(ctx, path, sizeof path, dir, "adapter_model.safetensors");
    gptc_safetensors st;
    if ((s = gptc_st_open(ctx, path, &st))) return s;
    for (size_t i = 0; !s && i < m->n_tensors; i++) {
        const gptc_ptensor *x = &m->tensors[i];
        if (x->kind == GPTC_TK_BASE) continue;
        char a1[160], a2[160];
        snprintf(a1, sizeof a1, "base_model.model.transformer.%s", x->name);
        snprintf(a2, sizeof a2, "base_model.model.%s", x->name);
        const gptc_st_tensor *f = gptc_st_find(&st, a1);
        if (!f) f = gptc_st_find(&st, a2);
        if (!f && x->kind == GPTC_TK_HEAD) continue; /* the head stays as the base model has it */
        if (!f) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s is missing", path, a1);
        else if (f->ndim != x->ndim || f->shape[0] != x->shape[0] || (x->ndim == 2 && f->shape[1] != x->shape[1]))
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s has the wrong shape for r=%d", path, f->name, m->lora_r);
        else gptc_st_to_f32(f, m->params + x->offset);
    }
    gptc_st_close(&st);
    return s;
}

gptc_status gptc_model_lora_merge(gptc_ctx *ctx, gptc_model *m) {
    if (!m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "the model has no LoRA adapter to merge");
    float scale = m->lora_alpha / (float)m->lora_r;
    size_t n_keep = 0;
    for (int l = 0; l < m->cfg.n_layer; l++)
        for (int t = 0; t < GPTC_LORA_TARGETS; t++) {
            int ia = m->lora_idx[l * GPTC_LORA_TARGETS + t];
            if (ia < 0) continue;
            const gptc_ptensor *w = &m->tensors[gptc_layer_tensor(m, l, target_weight[t])];
            const float *A = m->params + m->tensors[ia].offset, *B = m->params + m->tensors[ia + 1].offset;
            /* W [in, out] += scale * A^T [in, r] @ B^T [r, out] */
            gptc_sgemm(ctx, 1, 1, (int)w->shape[0], (int)w->shape[1], m->lora_r, scale, A, (int)w->shape[0], B,
                       m->lora_r, 1.0f, m->params + w->offset, (int)w->shape[1]);
        }
    for (size_t i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].kind != GPTC_TK_LORA) {
            m->tensors[n_keep] = m->tensors[i];
            m->tensors[n_keep++].trainable = 1;
        }
    m->n_tensors = n_keep;
    gptc_free(m->lora_idx);
    m->lora_idx = NULL;
    m->lora_r = 0;
    return GPTC_OK;
}
