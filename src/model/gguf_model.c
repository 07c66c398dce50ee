/* gguf_model.c: GPT-2 models as GGUF files, as llama.cpp's convert_hf_to_gguf.py
 * (GPT2Model) writes them and llama.cpp's gpt2 architecture reads them: tensor names
 * token_embd, position_embd, blk.N.{attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up,
 * ffn_down}, output_norm, output (the tied head written out as convert_hf_to_gguf does);
 * matrices as ggml lays them out, ne = {in, out} (rows of outputs: the Conv1D [in, out]
 * weights transposed); gpt2.* hyperparameters; the tokenizer as tokenizer.ggml.* arrays.
 * Export (F32, F16, q8_0, q4_0, q4_k) and load (the same types; blocks kept as stored). */
#include "model.h"
#include "../io/gguf.h"
#include "../kernels/quant.h"
#include "../kernels/wlinear.h"
#include "../text/bpe.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* gptc (Hugging Face) name -> GGUF name; 0 when the tensor has none */
static int gguf_name(const char *hf, char *out, size_t cap) {
    static const struct { const char *hf, *gg; } glob[] = {
        {"wte.weight", "token_embd.weight"}, {"wpe.weight", "position_embd.weight"},
        {"ln_f.weight", "output_norm.weight"}, {"ln_f.bias", "output_norm.bias"}, {"lm_head.weight", "output.weight"}};
    static const struct { const char *hf, *gg; } blk[] = {
        {"ln_1.weight", "attn_norm.weight"},     {"ln_1.bias", "attn_norm.bias"},
        {"attn.c_attn.weight", "attn_qkv.weight"}, {"attn.c_attn.bias", "attn_qkv.bias"},
        {"attn.c_proj.weight", "attn_output.weight"}, {"attn.c_proj.bias", "attn_output.bias"},
        {"ln_2.weight", "ffn_norm.weight"},      {"ln_2.bias", "ffn_norm.bias"},
        {"mlp.c_fc.weight", "ffn_up.weight"},    {"mlp.c_fc.bias", "ffn_up.bias"},
        {"mlp.c_proj.weight", "ffn_down.weight"}, {"mlp.c_proj.bias", "ffn_down.bias"}};
    for (size_t i = 0; i < sizeof glob / sizeof glob[0]; i++)
        if (!strcmp(hf, glob[i].hf)) return snprintf(out, cap, "%s", glob[i].gg) > 0;
    int l, n = 0;
    if (sscanf(hf, "h.%d.%n", &l, &n) == 1 && n > 0)
        for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
            if (!strcmp(hf + n, blk[i].hf)) return snprintf(out, cap, "blk.%d.%s", l, blk[i].gg) > 0;
    return 0;
}

static uint32_t ggml_type_of(gptc_dtype d) {
    return d == GPTC_F16 ? GGML_F16 : d == GPTC_Q8_0 ? GGML_Q8_0 : d == GPTC_Q4_0 ? GGML_Q4_0
           : d == GPTC_Q4_K ? GGML_Q4_K : GGML_F32;
}
static gptc_dtype dtype_of_ggml(uint32_t t) {
    return t == GGML_F16 ? GPTC_F16 : t == GGML_Q8_0 ? GPTC_Q8_0 : t == GGML_Q4_0 ? GPTC_Q4_0
           : t == GGML_Q4_K ? GPTC_Q4_K : GPTC_F32;
}

/* ---------------------------------------------------------------- export */
/* The type tensor i is written in, or GPTC_DTYPE_COUNT (error set) */
static gptc_dtype export_type(gptc_ctx *ctx, const gptc_model *m, int i, gptc_dtype type, const char *path) {
    const gptc_ptensor *t = &m->tensors[i];
    if (t->ndim == 1 || i == m->g.wpe) return GPTC_F32; /* as llama-quantize: positions stay F32 */
    if (gptc_dtype_is_quant(t->dtype)) {
        if (type != GPTC_DTYPE_COUNT && type != t->dtype) {
            gptc_fail(ctx, GPTC_EINVAL, "%s: tensor '%s' is %s; exporting it as %s would quantize it twice (export the "
                                        "F32 model)", path, t->name, gptc_dtype_name(t->dtype), gptc_dtype_name(type));
            return GPTC_DTYPE_COUNT;
        }
        return t->dtype;
    }
    if (type == GPTC_DTYPE_COUNT || type == GPTC_F32) return GPTC_F32;
    if (type == GPTC_F16) return GPTC_F16;
    int in = gptc_tensor_in(t);
    if (in % gptc_q_block_elems(type) == 0) return type;
    if (type == GPTC_Q4_K && in % GPTC_QK == 0) return GPTC_Q4_0;
    return GPTC_F32;
}

/* Tensor i as rows of outputs (ggml's layout) in type d: *out allocated (or pointing
 * into the model for blocks kept as stored: *owned 0). */
static gptc_status export_data(gptc_ctx *ctx, const gptc_model *m, int i, gptc_dtype d, void **out, size_t *nbytes,
                               int *owned) {
    const gptc_ptensor *t = &m->tensors[i];
    *owned = 1;
    if (gptc_dtype_is_quant(t->dtype)) {
        gptc_wdesc w = gptc_weight(m, i);
        *out = (void *)w.data;
        *nbytes = gptc_q_row_bytes(t->dtype, w.in) * (size_t)w.out;
        *owned = 0;
        return GPTC_OK;
    }
    int in = t->ndim == 2 ? gptc_tensor_in(t) : (int)t->numel, O = t->ndim == 2 ? gptc_tensor_out(t) : 1;
    float *rows = gptc_alloc(ctx, sizeof(float) * t->numel + 1, "export rows");
    if (!rows) return GPTC_ENOMEM;
    gptc_wdesc w = t->ndim == 2 ? gptc_weight(m, i) : (gptc_wdesc){0};
    for (int v = 0; v < O; v++) {
        if (t->ndim == 1) memcpy(rows, m->params + t->offset, sizeof(float) * t->numel);
        else if (w.layout == GPTC_W_IN_OUT)
            for (int k = 0; k < in; k++) rows[(size_t)v * in + k] = k_weight_at(&w, k, v);
        else k_weight_row(&w, v, rows + (size_t)v * in);
    }
    if (d == GPTC_F32) {
        *out = rows;
        *nbytes = sizeof(float) * t->numel;
        return GPTC_OK;
    }
    size_t nb = d == GPTC_F16 ? 2 * t->numel : gptc_q_row_bytes(d, in) * (size_t)O;
    unsigned char *b = gptc_alloc(ctx, nb + 1, "export blocks");
    if (!b) {
        gptc_free(rows);
        return GPTC_ENOMEM;
    }
    if (d == GPTC_F16)
        for (size_t k = 0; k < t->numel; k++) {
            uint16_t h = gptc_f32_to_f16(rows[k]);
            b[2 * k] = (unsigned char)h;
            b[2 * k + 1] = (unsigned char)(h >> 8);
        }
    else
        for (int v = 0; v < O; v++) gptc_q_quantize_row(d, rows + (size_t)v * in, b + (size_t)v * gptc_q_row_bytes(d, in), in);
    gptc_free(rows);
    *out = b;
    *nbytes = nb;
    return GPTC_OK;
}

/* llama.cpp's LLAMA_FTYPE of a file mostly in d */
static uint32_t file_type(gptc_dtype d) {
    return d == GPTC_F16 ? 1 : d == GPTC_Q4_0 ? 2 : d == GPTC_Q8_0 ? 7 : d == GPTC_Q4_K ? 14 : 0;
}

gptc_status gptc_model_export_gguf(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const char *path,
                                   gptc_dtype type) {
    const gptc_config *c = &m->cfg;
    if (type != GPTC_DTYPE_COUNT && type != GPTC_F32 && type != GPTC_F16 && !gptc_dtype_is_quant(type))
        return gptc_fail(ctx, GPTC_EINVAL, "%s: GGUF type %s: expected f32, f16, q8_0, q4_0 or q4_k", path,
                         gptc_dtype_name(type));
    if (c->arch != GPTC_ARCH_GPT2)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: GGUF export is built for GPT-2 models (this one is %s)", path,
                         m->arch->model_type);
    if (c->head != GPTC_HEAD_LM)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: only language models (GPT2LMHeadModel) have a GGUF gpt2 layout", path);
    if (gptc_act_parse(c->activation_function) != GPTC_ACT_GELU_TANH)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: llama.cpp's gpt2 runs gelu (tanh); this model's activation is %s",
                         path, c->activation_function);
    if (m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "%s: merge the LoRA adapter first (gptc merge-lora)", path);
    if (!tok) return gptc_fail(ctx, GPTC_EINVAL, "%s: GGUF files carry the tokenizer; the model has none", path);
    gptc_tok_strings ts;
    gptc_status s = gptc_tok_gguf_strings(ctx, tok, (size_t)c->vocab_size, &ts);
    if (s) return gptc_fail_prefix(ctx, s, "%s", path);
    if (ts.n != (size_t)c->vocab_size) {
        gptc_tok_strings_free(&ts);
        return gptc_fail(ctx, GPTC_EINVAL, "%s: the tokenizer has %zu ids, more than the model's vocab_size %d", path,
                         ts.n, c->vocab_size);
    }
    gptc_gguf_w *w = gptc_gguf_w_new(ctx);
    void **bufs = gptc_calloc(ctx, m->n_tensors + 1, sizeof *bufs, "export buffers");
    if (!w || !bufs) {
        s = GPTC_ENOMEM;
        goto done;
    }
    gptc_dtype main = type == GPTC_DTYPE_COUNT ? m->wdtype : type;
    gptc_gguf_w_str(w, "general.architecture", "gpt2");
    gptc_gguf_w_str(w, "general.name", "gptc");
    gptc_gguf_w_u32(w, "general.file_type", file_type(main));
    if (gptc_dtype_is_quant(main)) gptc_gguf_w_u32(w, "general.quantization_version", 2);
    gptc_gguf_w_u32(w, "gpt2.context_length", (uint32_t)c->n_positions);
    gptc_gguf_w_u32(w, "gpt2.embedding_length", (uint32_t)c->n_embd);
    gptc_gguf_w_u32(w, "gpt2.feed_forward_length", (uint32_t)(c->n_inner > 0 ? c->n_inner : 4 * c->n_embd));
    gptc_gguf_w_u32(w, "gpt2.block_count", (uint32_t)c->n_layer);
    gptc_gguf_w_u32(w, "gpt2.attention.head_count", (uint32_t)c->n_head);
    gptc_gguf_w_f32(w, "gpt2.attention.layer_norm_epsilon", c->layer_norm_epsilon);
    gptc_gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
    gptc_gguf_w_str(w, "tokenizer.ggml.pre", "gpt-2");
    gptc_gguf_w_str_array(w, "tokenizer.ggml.tokens", (const char *const *)ts.s, ts.len, ts.n);
    gptc_gguf_w_i32_array(w, "tokenizer.ggml.token_type", ts.type, ts.n);
    gptc_gguf_w_str_array(w, "tokenizer.ggml.merges", (const char *const *)ts.m, ts.mlen, ts.n_merges);
    int32_t eot = gptc_tokenizer_special_id(tok, "<|endoftext|>");
    int32_t bos = c->bos_token_id >= 0 ? c->bos_token_id : eot, eos = c->eos_token_id >= 0 ? c->eos_token_id : eot;
    if (bos >= 0 && bos < c->vocab_size) gptc_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
    if (eos >= 0 && eos < c->vocab_size) gptc_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
    gptc_gguf_w_bool(w, "tokenizer.ggml.add_bos_token", 0);
    char name[96];
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i];
        if (t->kind == GPTC_TK_LORA || !gguf_name(t->name, name, sizeof name)) continue;
        gptc_dtype d = export_type(ctx, m, (int)i, type, path);
        if (d == GPTC_DTYPE_COUNT) {
            s = GPTC_EINVAL;
            goto done;
        }
        void *data;
        size_t nb;
        int owned;
        if ((s = export_data(ctx, m, (int)i, d, &data, &nb, &owned))) goto done;
        if (owned) bufs[i] = data;
        uint64_t ne[2] = {t->ndim == 2 ? (uint64_t)gptc_tensor_in(t) : t->numel,
                          t->ndim == 2 ? (uint64_t)gptc_tensor_out(t) : 1};
        gptc_gguf_w_tensor(w, name, (uint32_t)t->ndim, ne, ggml_type_of(d), data, nb);
        /* GPT-2's output is tied to wte: written out as convert_hf_to_gguf does */
        if ((int)i == m->g.wte && m->g.head_w < 0) gptc_gguf_w_tensor(w, "output.weight", 2, ne, ggml_type_of(d), data, nb);
    }
    s = gptc_gguf_w_write(ctx, w, path);
done:
    for (size_t i = 0; bufs && i < m->n_tensors; i++) gptc_free(bufs[i]);
    gptc_free(bufs);
    gptc_gguf_w_free(w);
    gptc_tok_strings_free(&ts);
    return s;
}

/* ---------------------------------------------------------------- load */
static gptc_dtype dtype_from_gguf(void *user, const gptc_ptensor *pt) {
    const gptc_gguf *g = user;
    char name[96];
    const gptc_gguf_tensor *t = gguf_name(pt->name, name, sizeof name) ? gptc_gguf_tensor_find(g, name) : NULL;
    return t ? dtype_of_ggml(t->type) : GPTC_DTYPE_COUNT;
}

static gptc_status load_one(gptc_ctx *ctx, gptc_model *m, const gptc_ptensor *pt, const gptc_gguf_tensor *t,
                            const char *path) {
    int two = pt->ndim == 2;
    uint64_t in = two ? (uint64_t)gptc_tensor_in(pt) : pt->numel, O = two ? (uint64_t)gptc_tensor_out(pt) : 1;
    if (t->n_dims != (uint32_t)pt->ndim || t->ne[0] != in || t->ne[1] != O)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' has ne [%llu, %llu] (%u dims), the config expects [%llu, "
                                            "%llu]", path, t->name, (unsigned long long)t->ne[0],
                         (unsigned long long)t->ne[1], t->n_dims, (unsigned long long)in, (unsigned long long)O);
    if (gptc_dtype_is_quant(pt->dtype)) {
        size_t rowb = gptc_q_row_bytes(pt->dtype, (int)in);
        long r = gptc_model_put_quant(m, (int)(pt - m->tensors), t->data);
        if (r >= 0)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': row %ld block %ld has a non-finite scale", path,
                             t->name, r, gptc_q_first_bad_block(pt->dtype, t->data + (size_t)r * rowb, (int)in));
        return GPTC_OK;
    }
    if (t->type != GGML_F32 && t->type != GGML_F16)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: tensor '%s': a %s tensor must be F32 or F16 (ggml type %u)", path,
                         t->name, two ? "task" : "1-D", t->type);
    for (uint64_t v = 0; v < O; v++)
        for (uint64_t k = 0; k < in; k++) {
            size_t e = v * in + k;
            float x = t->type == GGML_F32 ? 0 : gptc_q_f16(t->data + 2 * e);
            if (t->type == GGML_F32) memcpy(&x, t->data + 4 * e, 4);
            if (!isfinite(x))
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' holds a non-finite value at element %zu", path,
                                 t->name, e);
            size_t di = two && pt->layout == GPTC_W_IN_OUT ? k * O + v : e;
            if (pt->dtype == GPTC_F32) m->params[pt->offset + di] = x;
            else m->lowp[pt->offset + di] = pt->dtype == GPTC_BF16 ? gptc_f32_to_bf16(x) : gptc_f32_to_f16(x);
        }
    return GPTC_OK;
}

gptc_status gptc_model_load_gguf(gptc_ctx *ctx, const char *path, const gptc_load_params *p, gptc_model **out) {
    *out = NULL;
    gptc_gguf g;
    gptc_status s = gptc_gguf_open(ctx, path, &g);
    if (s) return s;
    const char *arch;
    size_t alen;
    gptc_config cfg = gptc_config_default();
    uint32_t v[5];
    float eps;
    const gptc_gguf_tensor *te = gptc_gguf_tensor_find(&g, "token_embd.weight"), *to;
    if ((s = gptc_gguf_get_str(ctx, &g, "general.architecture", &arch, &alen))) goto done;
    if (alen != 4 || memcmp(arch, "gpt2", 4)) {
        s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: general.architecture is \"%.*s\"; gptc reads gpt2", path, (int)alen, arch);
        goto done;
    }
    if ((s = gptc_gguf_get_u32(ctx, &g, "gpt2.block_count", &v[0])) ||
        (s = gptc_gguf_get_u32(ctx, &g, "gpt2.attention.head_count", &v[1])) ||
        (s = gptc_gguf_get_u32(ctx, &g, "gpt2.embedding_length", &v[2])) ||
        (s = gptc_gguf_get_u32(ctx, &g, "gpt2.context_length", &v[3])) ||
        (s = gptc_gguf_get_u32(ctx, &g, "gpt2.feed_forward_length", &v[4])) ||
        (s = gptc_gguf_get_f32(ctx, &g, "gpt2.attention.layer_norm_epsilon", &eps)))
        goto done;
    if (!te || te->n_dims != 2) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor 'token_embd.weight' is missing or not 2-D", path);
        goto done;
    }
    for (int k = 0; k < 5; k++)
        if (v[k] > (1u << 30)) {
            s = gptc_fail(ctx, GPTC_ERANGE, "%s: gpt2 hyperparameter %u is out of range", path, v[k]);
            goto done;
        }
    if (te->ne[1] > (1u << 30)) {
        s = gptc_fail(ctx, GPTC_ERANGE, "%s: token_embd.weight has %llu rows", path, (unsigned long long)te->ne[1]);
        goto done;
    }
    cfg.n_layer = (int)v[0];
    cfg.n_head = (int)v[1];
    cfg.n_embd = (int)v[2];
    cfg.n_positions = (int)v[3];
    cfg.n_inner = (int)v[4];
    cfg.layer_norm_epsilon = eps;
    cfg.vocab_size = (int)te->ne[1];
    cfg.embd_pdrop = cfg.attn_pdrop = cfg.resid_pdrop = 0;
    uint32_t id;
    cfg.bos_token_id = gptc_gguf_get_u32(ctx, &g, "tokenizer.ggml.bos_token_id", &id) ? -1 : (int)id;
    cfg.eos_token_id = gptc_gguf_get_u32(ctx, &g, "tokenizer.ggml.eos_token_id", &id) ? -1 : (int)id;
    /* the head is tied when output is absent or the same bytes as token_embd */
    to = gptc_gguf_tensor_find(&g, "output.weight");
    cfg.tie_word_embeddings = !to || (to->type == te->type && to->nbytes == te->nbytes && to->ne[0] == te->ne[0] &&
                                      to->ne[1] == te->ne[1] && !memcmp(to->data, te->data, te->nbytes));
    gptc_model *m = NULL;
    if ((s = gptc_model_alloc_with(ctx, &cfg, p->weight_dtype, dtype_from_gguf, &g, &m))) {
        gptc_fail_prefix(ctx, s, "%s", path);
        goto done;
    }
    unsigned char *used = gptc_calloc(ctx, g.n_tensors + 1, 1, "tensor flags");
    if (!used) s = GPTC_ENOMEM;
    char name[96];
    for (size_t i = 0; used && !s && i < m->n_tensors; i++) {
        const gptc_ptensor *pt = &m->tensors[i];
        const gptc_gguf_tensor *t = gguf_name(pt->name, name, sizeof name) ? gptc_gguf_tensor_find(&g, name) : NULL;
        if (!t) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' is missing", path, name);
            break;
        }
        s = load_one(ctx, m, pt, t, path);
        used[t - g.tensors] = 1;
    }
    for (size_t j = 0; used && !s && j < g.n_tensors; j++)
        if (!used[j] && !(cfg.tie_word_embeddings && &g.tensors[j] == to))
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: unexpected tensor '%s' (not part of a gpt2 with these hyperparameters)",
                          path, g.tensors[j].name);
    gptc_free(used);
    if (s) gptc_model_free(m);
    else *out = m;
done:
    gptc_gguf_close(&g);
    return s;
}
