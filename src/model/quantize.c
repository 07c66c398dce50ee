/* quantize.c: a model directory with its matrices in ggml's blocks (q8_0, q4_0, q4_k)
 * or BF16, as docs/quantization.md describes: each quantized matrix is a U8 tensor
 * [out, row bytes] under its Hugging Face name, "gptc.dtype.NAME" in the safetensors
 * metadata naming its format (transformers refuses the file's shapes rather than
 * misreading the bytes). model_io.c reads it back; the blocks are kernels/quant.c's. */
#include "model.h"
#include "../kernels/quant.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif


gptc_quantize_params gptc_quantize_default_params(void) {
    gptc_quantize_params p;
    memset(&p, 0, sizeof p);
    p.type = GPTC_Q8_0;
    return p;
}

/* The type tensor t is written in. */
static gptc_dtype choose(const gptc_model *m, int i, const gptc_quantize_params *p) {
    const gptc_ptensor *t = &m->tensors[i];
    if (t->ndim != 2 || t->kind != GPTC_TK_BASE || i == m->g.wpe) return GPTC_F32; /* as llama-quantize */
    if (p->keep_embeddings && (i == m->g.wte || i == m->g.head_w)) return GPTC_F32;
    if (p->type == GPTC_BF16) return GPTC_BF16;
    int in = gptc_tensor_in(t);
    if (in % gptc_q_block_elems(p->type) == 0) return p->type;
    if (p->type == GPTC_Q4_K && in % GPTC_QK == 0) return GPTC_Q4_0;
    return GPTC_F32;
}

/* Rows of the quantized matrix: output v's weights along the inputs (Conv1D [in, out]
 * weights read by column). */
static gptc_status quantize_tensor(gptc_ctx *ctx, const gptc_model *m, const gptc_ptensor *t, gptc_dtype d,
                                   unsigned char **out, size_t *nbytes) {
    int in = gptc_tensor_in(t), O = gptc_tensor_out(t);
    size_t rowb = gptc_q_row_bytes(d, in);
    unsigned char *q = gptc_alloc(ctx, rowb * (size_t)O + 1, "quantized tensor");
    float *tmp = gptc_alloc(ctx, sizeof(float) * (size_t)in * (size_t)(ctx->n_threads > 0 ? ctx->n_threads : 1),
                            "quantization row");
    if (!q || !tmp) {
        gptc_free(q);
        gptc_free(tmp);
        return GPTC_ENOMEM;
    }
    const float *W = m->params + t->offset;
    int io = t->layout == GPTC_W_IN_OUT, nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
#pragma omp parallel for schedule(dynamic, 16) num_threads(nt) if (nt > 1)
    for (int v = 0; v < O; v++) {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        float *row = tmp + (size_t)me * in;
        if (io)
            for (int k = 0; k < in; k++) row[k] = W[(size_t)k * O + v];
        else memcpy(row, W + (size_t)v * in, sizeof(float) * (size_t)in);
        gptc_q_quantize_row(d, row, q + (size_t)v * rowb, in);
    }
    (void)nt; /* unused without OpenMP */
    gptc_free(tmp);
    *out = q;
    *nbytes = rowb * (size_t)O;
    return GPTC_OK;
}

gptc_status gptc_model_save_quantized(gptc_ctx *ctx, const gptc_model *m, const char *dir,
                                      const gptc_quantize_params *p, gptc_quantize_stats *stats) {
    gptc_quantize_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (p->type != GPTC_Q8_0 && p->type != GPTC_Q4_0 && p->type != GPTC_Q4_K && p->type != GPTC_BF16)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: quantization type %s: expected q8_0, q4_0, q4_k or bf16", dir,
                         gptc_dtype_name(p->type));
    if (m->cfg.arch != GPTC_ARCH_GPT2)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: quantization is built for GPT-2 models (this one is %s)", dir,
                         m->arch->model_type);
    if (m->wdtype != GPTC_F32)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: the model keeps its matrices as %s; quantize from an F32, F16 or BF16 "
                                           "model directory", dir, gptc_dtype_name(m->wdtype));
    if (m->lora_r)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: the model has a LoRA adapter; merge it first (gptc merge-lora)", dir);
    char wpath[4096];
    gptc_status s;
    if ((s = gptc_mkdirs(ctx, dir)) || (s = gptc_path_join(ctx, wpath, sizeof wpath, dir, "model.safetensors")))
        return s;
    size_t n = m->n_tensors ? m->n_tensors : 1;
    gptc_st_entry *e = gptc_calloc(ctx, n, sizeof *e, "safetensors entries");
    char (*names)[80] = gptc_calloc(ctx, n, sizeof *names, "tensor names");
    char (*keys)[96] = gptc_calloc(ctx, n, sizeof *keys, "metadata keys");
    unsigned char **blocks = gptc_calloc(ctx, n, sizeof *blocks, "quantized tensors");
    const char **meta = gptc_calloc(ctx, 2 * n + 5, sizeof *meta, "metadata");
    if (!e || !names || !keys || !blocks || !meta) {
        s = GPTC_ENOMEM;
        goto done;
    }
    size_t ne = 0, nm = 0;
    meta[nm++] = "format";
    meta[nm++] = "pt";
    meta[nm++] = "gptc.quantization";
    meta[nm++] = gptc_dtype_name(p->type);
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i];
        if (t->kind == GPTC_TK_LORA) continue;
        gptc_dtype d = choose(m, (int)i, p);
        if (t->ndim == 2 && t->kind == GPTC_TK_BASE && (int)i != m->g.wpe && d != p->type &&
            !(p->keep_embeddings && ((int)i == m->g.wte || (int)i == m->g.head_w))) {
            if (!stats->n_fallback++) snprintf(stats->first_fallback, sizeof stats->first_fallback, "%s", t->name);
        }
        snprintf(names[ne], sizeof names[ne], "%s%s", m->arch->is_head(t->name) ? "" : m->arch->prefix, t->name);
        gptc_st_entry *en = &e[ne];
        en->name = names[ne];
        en->ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++) en->shape[k] = t->shape[k];
        en->data = m->params + t->offset;
        en->f32 = d == GPTC_F32;
        if (gptc_dtype_is_quant(d)) {
            size_t nb;
            if ((s = quantize_tensor(ctx, m, t, d, &blocks[ne], &nb))) goto done;
            en->bytes = blocks[ne];
            en->shape[0] = gptc_tensor_out(t);
            en->shape[1] = (int64_t)(nb / (size_t)gptc_tensor_out(t));
            snprintf(keys[ne], sizeof keys[ne], "gptc.dtype.%s", names[ne]);
            meta[nm++] = keys[ne];
            meta[nm++] = gptc_dtype_name(d);
            stats->weight_bytes += nb;
        } else {
            stats->weight_bytes += t->numel * (d == GPTC_F32 ? 4 : 2);
        }
        stats->n_tensors[d]++;
        ne++;
    }
    meta[nm] = NULL;
    s = gptc_st_write(ctx, wpath, e, ne, p->type == GPTC_BF16 ? GPTC_BF16 : GPTC_F32, meta);
    if (!s) s = gptc_model_save_configs(ctx, m, dir);
done:
    for (size_t i = 0; blocks && i < n; i++) gptc_free(blocks[i]);
    gptc_free(blocks);
    gptc_free(e);
    gptc_free(names);
    gptc_free(keys);
    gptc_free(meta);
    return s;
}
