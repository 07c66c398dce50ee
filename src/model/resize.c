/* resize.c: grows a model's vocabulary (token embedding and an untied LM head) for new
 * special tokens, as transformers' resize_token_embeddings does (Marian: both embeddings
 * when unshared, final_logits_bias extended with zeros). The tokenizer side (the
 * tokens' names and files) is left to the caller. */
#include "model.h"

#include <string.h>

/* Old rows stay as they are (so the logits of old ids do not change); each new row is the
 * mean of the old rows. transformers (>= 4.46, mean_resizing=True, the default) samples
 * new rows from N(mean, 1e-9 * covariance of the old rows), which is the mean to within
 * ~3e-5 of the rows' spread, and falls back to the mean itself when the covariance is not
 * positive definite; the mean is that distribution's centre, deterministic, and needs no
 * C x C covariance. The mean is summed in double, in row order. */
static void fill_mean_rows(float *w, size_t old_rows, size_t new_rows, size_t C) {
    for (size_t c = 0; c < C; c++) {
        double s = 0;
        for (size_t r = 0; r < old_rows; r++) s += w[r * C + c];
        float mean = (float)(s / (double)old_rows);
        for (size_t r = old_rows; r < new_rows; r++) w[r * C + c] = mean;
    }
}

gptc_status gptc_model_resize_vocab(gptc_ctx *ctx, gptc_model *m, int vocab_size) {
    if (m->lora_r) return gptc_fail(ctx, GPTC_EINVAL, "resize the vocabulary before adding a LoRA adapter");
    if (m->wdtype != GPTC_F32) return gptc_fail(ctx, GPTC_EINVAL, "resize_vocab needs a model loaded as F32");
    int old_v = m->cfg.vocab_size;
    if (vocab_size < old_v)
        return gptc_fail(ctx, GPTC_EINVAL, "vocab_size %d is smaller than the model's %d (only growing is supported)",
                         vocab_size, old_v);
    if (vocab_size == old_v) return GPTC_OK;
    gptc_config cfg = m->cfg;
    cfg.vocab_size = vocab_size;
    gptc_model *nm;
    gptc_status s = gptc_model_new(ctx, &cfg, 0, &nm);
    if (s) return s;
    for (size_t i = 0; i < nm->n_tensors; i++) {
        gptc_ptensor *nt = &nm->tensors[i];
        if (nt->kind != GPTC_TK_BASE) continue;
        long j = gptc_model_find(m, nt->name);
        if (j < 0) continue;
        const gptc_ptensor *ot = &m->tensors[j];
        float *dst = nm->params + nt->offset;
        memcpy(dst, m->params + ot->offset, ot->numel * sizeof(float));
        if (nt->numel == ot->numel) continue;
        /* Marian's final_logits_bias (1, V): the new entries 0 (as _resize_final_logits_bias) */
        if ((long)i == nm->g.head_b && nm->cfg.arch == GPTC_ARCH_MARIAN) continue;
        /* wte (Marian: also the encoder's table) and lm_head: (V, C), rows of ids; old rows first */
        if ((long)i != nm->g.wte && (long)i != nm->g.head_w && (long)i != nm->g.enc_wte) {
            gptc_model_free(nm);
            return gptc_fail(ctx, GPTC_EINTERNAL, "%s: size changed with vocab_size but is no vocabulary matrix",
                             nt->name);
        }
        fill_mean_rows(dst, (size_t)old_v, (size_t)vocab_size, (size_t)nt->shape[1]);
    }
    /* m takes over nm's buffers; its own are freed with the shell of nm */
    gptc_model tmp = *m;
    *m = *nm;
    *nm = tmp;
    gptc_model_free(nm);
    return GPTC_OK;
}
