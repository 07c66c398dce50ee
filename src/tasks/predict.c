/* predict.c: task prediction over a loaded model, shared by the command line and any
 * other front end: batched classification (right padding; the classifier reads the last
 * token that is not pad; BERT: [CLS] A [SEP] (B [SEP]) with token types and the padding
 * mask) and extractive QA (windows over the context, the best span over all of them). */
#include "tasks.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int32_t gptc_task_pad_id(const gptc_config *c, const gptc_tokenizer *tok) {
    if (c->pad_token_id >= 0 && c->pad_token_id < c->vocab_size) return c->pad_token_id;
    int32_t e = tok ? gptc_tokenizer_special_id(tok, "<|endoftext|>") : -1;
    if (e >= 0 && e < c->vocab_size) return e;
    if (c->eos_token_id >= 0 && c->eos_token_id < c->vocab_size) return c->eos_token_id;
    return 0;
}

gptc_status gptc_classify(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, char *const *texts, size_t n,
                          float *probs) {
    return gptc_classify_pairs(ctx, m, tok, texts, NULL, n, probs);
}

gptc_status gptc_classify_pairs(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, char *const *texts,
                                char *const *pairs, size_t n, float *probs) {
    const gptc_config *c = gptc_model_config(m);
    int K = c->num_labels, Tmax = c->n_positions, Bmax = c->pad_token_id >= 0 ? 16 : 1;
    /* BERT: [CLS] A [SEP] (B [SEP]) with token types and an attention mask over the padding */
    int wrap = gptc_tokenizer_wraps_inputs(tok), bert = c->arch == GPTC_ARCH_BERT;
    int32_t **ids = calloc(n, sizeof *ids), **types = calloc(n, sizeof *types);
    size_t *len = calloc(n, sizeof *len);
    int32_t *batch = malloc((size_t)Bmax * Tmax * sizeof *batch);
    int32_t *btypes = bert ? malloc((size_t)Bmax * Tmax * sizeof *btypes) : NULL;
    float *bmask = bert ? malloc((size_t)Bmax * Tmax * sizeof *bmask) : NULL;
    gptc_status s = (!ids || !types || !len || !batch || (bert && (!btypes || !bmask)))
                        ? gptc_fail(ctx, GPTC_ENOMEM, "classify: out of memory") : GPTC_OK;
    if (!s && wrap && !bert)
        s = gptc_fail(ctx, GPTC_ENOTSUP, "classify: the tokenizer wraps inputs in [CLS] ... [SEP] (WordPiece), which "
                      "only a BERT model reads; this model is %s", gptc_model_class(m));
    gptc_workspace *ws = NULL;
    if (!s) s = gptc_workspace_new(ctx, m, Bmax, Tmax, 0, &ws);
    for (size_t i = 0; i < n && !s; i++) {
        if (pairs || wrap) {
            /* the model's input as the task data builds it: [CLS] A [SEP] B [SEP] / A <|endoftext|> B */
            const char *b = pairs ? pairs[i] : NULL;
            s = gptc_tokenizer_encode_pair(ctx, tok, texts[i], strlen(texts[i]), b, b ? strlen(b) : 0, Tmax, &ids[i],
                                           wrap ? &types[i] : NULL, &len[i]);
        } else {
            s = gptc_tokenizer_encode(ctx, tok, texts[i], strlen(texts[i]), 0, &ids[i], &len[i]);
        }
        if (!s && len[i] > (size_t)Tmax) len[i] = (size_t)Tmax;
        if (!s && !len[i]) s = gptc_fail(ctx, GPTC_EINVAL, "text %zu encodes to no tokens", i + 1);
    }
    for (size_t i0 = 0; i0 < n && !s; i0 += (size_t)Bmax) {
        int B = (int)(n - i0 < (size_t)Bmax ? n - i0 : (size_t)Bmax), T = 1;
        for (int b = 0; b < B; b++)
            if ((int)len[i0 + b] > T) T = (int)len[i0 + b];
        for (int b = 0; b < B; b++) {
            size_t r = i0 + (size_t)b, o = (size_t)b * T;
            memcpy(batch + o, ids[r], len[r] * sizeof *batch);
            for (int t = (int)len[r]; t < T; t++) batch[o + t] = c->pad_token_id;
            for (int t = 0; bert && t < T; t++) {
                btypes[o + t] = t < (int)len[r] && types[r] ? types[r][t] : 0;
                bmask[o + t] = t < (int)len[r] ? 1.0f : 0.0f;
            }
        }
        if (bert) {
            gptc_batch bt = {.B = B, .T = T, .tokens = batch, .token_types = btypes, .attention_mask = bmask};
            s = gptc_forward_batch(ctx, ws, &bt, NULL);
        } else {
            s = gptc_forward(ctx, ws, batch, NULL, B, T, NULL);
        }
        if (s) break;
        const float *lg = gptc_workspace_logits(ws);
        for (int b = 0; b < B; b++) {
            const float *z = lg + (size_t)b * K;
            float *p = probs + (i0 + (size_t)b) * K;
            if (K == 1) { /* a regression: the score itself */
                p[0] = z[0];
                continue;
            }
            double mx = -INFINITY, sum = 0;
            for (int k = 0; k < K; k++) mx = fmax(mx, z[k]);
            for (int k = 0; k < K; k++) sum += exp(z[k] - mx);
            for (int k = 0; k < K; k++) p[k] = (float)(exp(z[k] - mx) / sum);
        }
    }
    for (size_t i = 0; ids && i < n; i++) free(ids[i]);
    for (size_t i = 0; types && i < n; i++) free(types[i]);
    free(ids);
    free(types);
    free(len);
    free(batch);
    free(btypes);
    free(bmask);
    gptc_workspace_free(ws);
    return s;
}

void gptc_qa_opts_default(gptc_qa_opts *o) {
    o->max_length = 384; /* run_qa.py's max_seq_length, doc_stride and max_answer_length */
    o->stride = 128;
    o->max_answer = 30;
}

gptc_status gptc_qa_predict(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_qa_set *set,
                                const gptc_qa_opts *o, char **answers, double *scores) {
    const gptc_config *c = gptc_model_config(m);
    if (c->head != GPTC_HEAD_QA)
        return gptc_fail(ctx, GPTC_EINVAL, "the model is not a question-answering model (no qa_outputs head)");
    int T = o->max_length < c->n_positions ? o->max_length : c->n_positions;
    int stride = o->stride < T / 2 ? o->stride : T / 4;
    int32_t pad = gptc_task_pad_id(c, tok);
    gptc_qa_features f;
    gptc_status s = gptc_qa_features_build(ctx, tok, set, T, stride, pad, pad, &f);
    if (s) return s;
    for (size_t i = 0; i < set->n; i++) answers[i] = NULL;
    const int B = 8;
    int bert = c->arch == GPTC_ARCH_BERT;
    float *lg = malloc(f.n * (size_t)T * 2 * sizeof *lg);
    /* BERT: the rows' token types and the attention mask over their padding */
    int32_t *btypes = bert ? malloc((size_t)B * T * sizeof *btypes) : NULL;
    float *bmask = bert ? malloc((size_t)B * T * sizeof *bmask) : NULL;
    size_t idx[8];
    gptc_workspace *ws = NULL;
    if (!lg || (bert && (!btypes || !bmask))) s = gptc_fail(ctx, GPTC_ENOMEM, "answer: out of memory");
    else if (bert != f.wrapped)
        s = gptc_fail(ctx, GPTC_ENOTSUP, "answer: %s", bert ? "a BERT reads WordPiece inputs ([CLS] question [SEP] context "
                      "[SEP]); the tokenizer is not WordPiece" : "the tokenizer wraps inputs in [CLS] ... [SEP] "
                      "(WordPiece), which only a BERT model reads");
    else s = gptc_workspace_new(ctx, m, B, T, 0, &ws);
    for (size_t i0 = 0; i0 < f.n && !s; i0 += B) {
        int nb = (int)(f.n - i0 < (size_t)B ? f.n - i0 : (size_t)B);
        if (bert) {
            for (int b = 0; b < nb; b++) idx[b] = i0 + (size_t)b;
            gptc_task_fill_types(&f.data, idx, nb, T, btypes, bmask);
            gptc_batch bt = {.B = nb, .T = T, .tokens = f.ids + i0 * (size_t)T, .token_types = btypes, .attention_mask = bmask};
            s = gptc_forward_batch(ctx, ws, &bt, NULL);
        } else {
            s = gptc_forward(ctx, ws, f.ids + i0 * (size_t)T, NULL, nb, T, NULL);
        }
        if (s) break;
        memcpy(lg + i0 * (size_t)T * 2, gptc_workspace_logits(ws), (size_t)nb * T * 2 * sizeof *lg);
    }
    for (size_t i = 0, f0 = 0; !s && i < set->n; i++) {
        size_t nf = 0;
        while (f0 + nf < f.n && f.ex[f0 + nf] == i) nf++;
        size_t b = 0, e = 0;
        double sc = -INFINITY;
        if (!gptc_qa_best_span(&f, f0, nf, lg + f0 * (size_t)T * 2, o->max_answer, &b, &e, &sc)) b = e = 0;
        const char *ctxt = set->ex[i].context;
        while (b < e && isspace((unsigned char)ctxt[b])) b++;
        while (e > b && isspace((unsigned char)ctxt[e - 1])) e--;
        answers[i] = gptc_alloc(ctx, e - b + 1, "answer");
        if (!answers[i]) { s = GPTC_ENOMEM; break; }
        memcpy(answers[i], ctxt + b, e - b);
        answers[i][e - b] = 0;
        if (scores) scores[i] = sc;
        f0 += nf;
    }
    free(lg);
    free(btypes);
    free(bmask);
    gptc_workspace_free(ws);
    gptc_qa_features_free(&f);
    return s;
}
