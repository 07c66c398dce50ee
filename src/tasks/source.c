/* source.c: tokenized task data (classification texts, chat conversations with the
 * loss on assistant tokens) and the trainer's data source over it: shuffled epochs that
 * depend only on (seed, position) so a resumed run sees the same batches, padded rows,
 * and the validation metric (accuracy, F1) computed from the classifier's logits. */
#include "../core/core.h"
#include "tasks.h"
#include "../core/core.h"
#include "../model/model.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gptc_task_data_free(gptc_task_data *d) {
    gptc_free(d->off);
    gptc_free(d->ids);
    gptc_free(d->tgt);
    gptc_free(d->types);
    memset(d, 0, sizeof *d);
}

/* Appends n ids (and n targets when tgt) as a new row; capacity doubles. */
typedef struct builder { size_t cap_rows, cap_ids; } builder;
static gptc_status add_row(gptc_ctx *ctx, gptc_task_data *d, builder *bd, const int32_t *ids, const int32_t *tgt,
                           size_t n, int per_row_targets, const int32_t *row_tgt) {
    if (d->n + 2 > bd->cap_rows) {
        size_t nc = bd->cap_rows ? bd->cap_rows * 2 : 256;
        size_t *off = gptc_alloc(ctx, nc * sizeof *off, "task rows");
        int32_t *rt = per_row_targets ? gptc_alloc(ctx, nc * 2 * sizeof *rt, "task targets") : NULL;
        if (!off || (per_row_targets && !rt)) {
            gptc_free(off);
            gptc_free(rt);
            return GPTC_ENOMEM;
        }
        if (d->off) memcpy(off, d->off, (d->n + 1) * sizeof *off);
        else off[0] = 0;
        if (per_row_targets && d->n) memcpy(rt, d->tgt, d->n * 2 * sizeof *rt);
        gptc_free(d->off);
        d->off = off;
        if (per_row_targets) {
            gptc_free(d->tgt);
            d->tgt = rt;
        }
        bd->cap_rows = nc;
    }
    size_t used = d->off[d->n];
    if (used + n > bd->cap_ids) {
        size_t nc = (bd->cap_ids ? bd->cap_ids * 2 : 4096) + n;
        int32_t *ni = gptc_alloc(ctx, nc * sizeof *ni, "task tokens");
        int32_t *nt = per_row_targets ? NULL : gptc_alloc(ctx, nc * sizeof *nt, "task targets");
        if (!ni || (!per_row_targets && !nt)) {
            gptc_free(ni);
            gptc_free(nt);
            return GPTC_ENOMEM;
        }
        if (used) memcpy(ni, d->ids, used * sizeof *ni);
        if (!per_row_targets && used) memcpy(nt, d->tgt, used * sizeof *nt);
        gptc_free(d->ids);
        d->ids = ni;
        if (!per_row_targets) {
            gptc_free(d->tgt);
            d->tgt = nt;
        }
        bd->cap_ids = nc;
    }
    memcpy(d->ids + used, ids, n * sizeof *ids);
    if (per_row_targets) {
        d->tgt[d->n * 2] = row_tgt[0];
        d->tgt[d->n * 2 + 1] = row_tgt[1];
    } else {
        memcpy(d->tgt + used, tgt, n * sizeof *tgt);
    }
    d->off[d->n + 1] = used + n;
    d->n++;
    if (n > d->max_len) d->max_len = n;
    return GPTC_OK;
}

gptc_status gptc_task_classify_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_rows *r,
                                     const int32_t *labels, int max_len, gptc_task_data *out) {
    memset(out, 0, sizeof *out);
    out->kind = GPTC_TASK_CLASSIFY;
    builder bd = {0, 0};
    gptc_status s = GPTC_OK;
    int wrap = gptc_tokenizer_wraps_inputs(tok);
    size_t types_cap = 0;
    for (size_t i = 0; i < r->n && !s; i++) {
        int32_t *ids, *ty = NULL;
        size_t n;
        if (r->text_pair || wrap) {
            /* a model's input: [CLS] A [SEP] (B [SEP]) with token types, or A <|endoftext|> B */
            const char *b = r->text_pair ? r->text_pair[i] : NULL;
            s = gptc_tokenizer_encode_pair(ctx, tok, r->text[i], strlen(r->text[i]), b, b ? strlen(b) : 0, max_len, &ids,
                                           wrap ? &ty : NULL, &n);
        } else {
            s = gptc_tokenizer_encode(ctx, tok, r->text[i], strlen(r->text[i]), 0, &ids, &n);
            if (!s && n > (size_t)max_len) n = (size_t)max_len; /* truncation keeps the start, as HF's right truncation */
        }
        if (s) break;
        int32_t rt[2] = {labels ? labels[i] : -100, 0};
        size_t used = out->n ? out->off[out->n] : 0;
        if (n == 0) s = gptc_fail(ctx, GPTC_EFORMAT, "row %zu: the text encodes to no tokens", i);
        else s = add_row(ctx, out, &bd, ids, NULL, n, 1, rt);
        if (!s && ty && used + n > types_cap) { /* types grow beside the ids */
            size_t nc = (types_cap ? types_cap * 2 : 4096) + n;
            int32_t *nt = gptc_alloc(ctx, nc * sizeof *nt, "token types");
            if (!nt) s = GPTC_ENOMEM;
            else {
                if (used) memcpy(nt, out->types, used * sizeof *nt);
                gptc_free(out->types);
                out->types = nt;
                types_cap = nc;
            }
        }
        if (!s && ty) memcpy(out->types + used, ty, n * sizeof *ty);
        free(ids);
        free(ty);
    }
    if (s) gptc_task_data_free(out);
    return s;
}

void gptc_task_fill_types(const gptc_task_data *d, const size_t *idx, int B, int T, int32_t *types, float *mask) {
    for (int b = 0; b < B; b++) {
        size_t r = idx[b], o = d->off[r], n = d->off[r + 1] - o;
        if (n > (size_t)T) n = (size_t)T;
        for (size_t t = 0; t < (size_t)T; t++) {
            if (types) types[(size_t)b * T + t] = t < n && d->types ? d->types[o + t] : 0;
            if (mask) mask[(size_t)b * T + t] = t < n ? 1.0f : 0.0f;
        }
    }
}

gptc_status gptc_task_sft_read(gptc_ctx *ctx, const char *path, const gptc_tokenizer *tok, int vocab_size,
                               int max_len, int skip_bad, gptc_task_data *out, size_t *n_skipped) {
    memset(out, 0, sizeof *out);
    out->kind = GPTC_TASK_SFT;
    *n_skipped = 0;
    char *data;
    size_t size;
    gptc_status s = gptc_file_read(ctx, path, &data, &size);
    if (s) return s;
    gptc_chat_tokens ct;
    gptc_chat_tokens_resolve(tok, vocab_size, &ct);
    builder bd = {0, 0};
    int32_t *tg = NULL;
    size_t tg_cap = 0;
    gptc_lines it = gptc_lines_of(data, size);
    const char *ln;
    size_t len;
    while (!s && gptc_lines_next(&it, &ln, &len)) {
        size_t line = it.line;
        json_error_t err;
        json_t *j = json_loadb(ln, len, 0, &err), *msgs = j ? json_object_get(j, "messages") : NULL;
        char why[300] = "";
        gptc_chat_message cm[256];
        int nm = 0, n_assist = 0;
        if (!j) snprintf(why, sizeof why, "malformed JSON: %s (column %d)", err.text, err.column);
        else if (!json_is_array(msgs)) snprintf(why, sizeof why, "field \"messages\" is missing or not an array");
        else if (json_array_size(msgs) == 0 || json_array_size(msgs) > 256)
            snprintf(why, sizeof why, "\"messages\" must hold 1 to 256 messages (%zu)", json_array_size(msgs));
        else {
            size_t i;
            json_t *m;
            json_array_foreach(msgs, i, m) {
                json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
                if (!json_is_string(role) || !json_is_string(content)) {
                    snprintf(why, sizeof why, "message %zu needs string fields \"role\" and \"content\"", i);
                    break;
                }
                if (!*json_string_value(role) || strchr(json_string_value(role), '\n')) {
                    snprintf(why, sizeof why, "message %zu: \"role\" must be a non-empty name without a newline", i);
                    break;
                }
                cm[nm].role = json_string_value(role);
                cm[nm++].content = json_string_value(content);
                n_assist += !strcmp(json_string_value(role), "assistant");
            }
            if (!why[0] && !n_assist) snprintf(why, sizeof why, "no assistant message (nothing to learn)");
        }
        if (why[0]) {
            json_decref(j);
            if (!skip_bad) s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %s", path, line, why);
            else (*n_skipped)++;
            continue;
        }
        int32_t *ids = NULL;
        uint8_t *mask = NULL;
        size_t n = 0;
        s = gptc_chat_encode(ctx, tok, &ct, cm, nm, 0, &ids, &n, &mask);
        json_decref(j);
        if (s && s != GPTC_ENOMEM) s = gptc_fail_prefix(ctx, s, "%s:%zu", path, line);
        if (!s && n > (size_t)max_len + 1) n = (size_t)max_len + 1;
        if (!s && n >= 2) {
            if (n > tg_cap) {
                gptc_free(tg);
                tg_cap = n * 2;
                tg = gptc_alloc(ctx, tg_cap * sizeof *tg, "chat targets");
                if (!tg) s = GPTC_ENOMEM;
            }
            /* position t predicts ids[t + 1]; the loss counts where that token is the assistant's */
            int any = 0;
            for (size_t t = 0; !s && t + 1 < n; t++) {
                tg[t] = mask[t + 1] ? ids[t + 1] : -100;
                any |= mask[t + 1];
            }
            if (!s && !any) {
                if (!skip_bad) s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: no assistant token within %d tokens", path, line, max_len);
                else (*n_skipped)++;
            } else if (!s) s = add_row(ctx, out, &bd, ids, tg, n - 1, 0, NULL);
        }
        free(ids);
        free(mask);
    }
    gptc_free(tg);
    gptc_free(data);
    if (!s && !out->n) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: no conversations", path);
    if (s) gptc_task_data_free(out);
    return s;
}

void gptc_task_fill(const gptc_task_data *d, const size_t *idx, int B, int T, int32_t pad, int32_t *tokens,
                    int32_t *targets) {
    for (int b = 0; b < B; b++) {
        size_t r = idx[b], o = d->off[r], n = d->off[r + 1] - o;
        if (n > (size_t)T) n = (size_t)T;
        int32_t *tk = tokens + (size_t)b * T;
        memcpy(tk, d->ids + o, n * sizeof *tk);
        for (size_t t = n; t < (size_t)T; t++) tk[t] = pad;
        if (d->kind == GPTC_TASK_CLASSIFY) targets[b] = d->tgt[2 * r];
        else if (d->kind == GPTC_TASK_QA) {
            targets[2 * b] = d->tgt[2 * r];
            targets[2 * b + 1] = d->tgt[2 * r + 1];
        } else {
            int32_t *tg = targets + (size_t)b * T;
            memcpy(tg, d->tgt + o, n * sizeof *tg);
            for (size_t t = n; t < (size_t)T; t++) tg[t] = -100;
        }
    }
}

/* ---------------------------------------------------------------- data source */
int gptc_metric_parse(const char *s) {
    if (!strcmp(s, "val_loss") || !strcmp(s, "loss")) return GPTC_METRIC_VAL_LOSS;
    if (!strcmp(s, "accuracy")) return GPTC_METRIC_ACCURACY;
    if (!strcmp(s, "f1_macro") || !strcmp(s, "f1")) return GPTC_METRIC_F1_MACRO;
    if (!strcmp(s, "f1_weighted")) return GPTC_METRIC_F1_WEIGHTED;
    return -1;
}

void gptc_epoch_perm(size_t *perm, size_t n, uint64_t seed, uint64_t e) {
    uint64_t st = seed ^ (e * 0xD1B54A32D192ED03ull);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(gptc_splitmix64(&st) % i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static void make_perm(gptc_task_source *src, uint64_t e) {
    gptc_epoch_perm(src->perm, src->train->n, src->seed, e);
    src->perm_epoch = e + 1;
}

static gptc_status src_train_batch(gptc_ctx *ctx, void *user, gptc_batch *bt, uint64_t *rng, uint64_t *pos) {
    gptc_task_source *src = user;
    int B = bt->B, T = bt->T;
    size_t n = src->train->n;
    (void)ctx;
    (void)rng;
    for (int b = 0; b < B; b++) {
        uint64_t e = *pos / n;
        if (src->perm_epoch != e + 1) make_perm(src, e);
        src->idx[b] = src->perm[*pos % n];
        (*pos)++;
    }
    gptc_task_fill(src->train, src->idx, B, T, src->pad, bt->tokens, bt->targets);
    if (src->ds.fields) gptc_task_fill_types(src->train, src->idx, B, T, bt->token_types, bt->attention_mask);
    return GPTC_OK;
}

static size_t src_n_val(void *user, int B, int T) {
    gptc_task_source *src = user;
    (void)T;
    return src->val ? (src->val->n + (size_t)B - 1) / (size_t)B : 0;
}

static gptc_status src_val_batch(gptc_ctx *ctx, void *user, size_t i, gptc_batch *bt) {
    gptc_task_source *src = user;
    int B = bt->B, T = bt->T;
    (void)ctx;
    size_t first = i * (size_t)B, n = src->val->n;
    int k = first >= n ? 0 : (int)((n - first) < (size_t)B ? n - first : (size_t)B);
    for (int b = 0; b < k; b++) src->idx[b] = first + (size_t)b;
    gptc_task_fill(src->val, src->idx, k, T, src->pad, bt->tokens, bt->targets);
    if (src->ds.fields) gptc_task_fill_types(src->val, src->idx, k, T, bt->token_types, bt->attention_mask);
    bt->B = k;
    return GPTC_OK;
}

static void src_val_reset(void *user) {
    gptc_task_source *src = user;
    memset(src->confusion, 0, (size_t)src->n_labels * src->n_labels * sizeof *src->confusion);
}

static void src_val_observe(void *user, const float *logits, const int32_t *targets, int rows, int T) {
    gptc_task_source *src = user;
    int K = src->n_labels;
    (void)T;
    if (!logits) return;
    for (int b = 0; b < rows; b++) {
        if (targets[b] < 0 || targets[b] >= K) continue;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (logits[(size_t)b * K + k] > logits[(size_t)b * K + best]) best = k;
        src->confusion[targets[b] * K + best]++;
    }
}

static double src_val_metric(void *user) {
    gptc_task_source *src = user;
    gptc_cls_report r;
    gptc_cls_report_compute(src->confusion, src->n_labels, &r);
    return src->metric == GPTC_METRIC_ACCURACY ? r.accuracy : src->metric == GPTC_METRIC_F1_MACRO ? r.f1_macro : r.f1_weighted;
}

static size_t src_val_counts(void *user, long **counts) {
    gptc_task_source *src = user;
    *counts = src->confusion;
    return (size_t)src->n_labels * (size_t)src->n_labels;
}

static const char *metric_names[] = {"val_loss", "accuracy", "f1_macro", "f1_weighted"};

gptc_status gptc_task_source_new(gptc_ctx *ctx, const gptc_task_data *train, const gptc_task_data *val, int32_t pad,
                                 uint64_t seed, int metric, int n_labels, gptc_task_source **out) {
    *out = NULL;
    if (!train->n) return gptc_fail(ctx, GPTC_EINVAL, "the training data is empty");
    gptc_task_source *src = gptc_calloc(ctx, 1, sizeof *src, "task data source");
    if (!src) return GPTC_ENOMEM;
    src->train = train;
    src->val = val && val->n ? val : NULL;
    src->pad = pad;
    src->seed = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    src->perm = gptc_alloc(ctx, train->n * sizeof *src->perm, "shuffle order");
    size_t nidx = train->n > (size_t)65536 ? train->n : 65536;
    src->idx = gptc_alloc(ctx, nidx * sizeof *src->idx, "batch rows");
    if (!src->perm || !src->idx) {
        gptc_task_source_free(src);
        return GPTC_ENOMEM;
    }
    gptc_data_source *d = &src->ds;
    d->user = src;
    d->targets_per_row = train->kind == GPTC_TASK_CLASSIFY ? 1 : train->kind == GPTC_TASK_QA ? 2 : 0;
    d->train_rows = train->n;
    /* inputs with token types (WordPiece: BERT) come with their padding mask too */
    if (train->types) d->fields = GPTC_BATCH_TOKEN_TYPES | GPTC_BATCH_ATTENTION_MASK;
    d->train_batch = src_train_batch;
    d->n_val_batches = src_n_val;
    d->val_batch = src_val_batch;
    if (train->kind == GPTC_TASK_CLASSIFY && metric != GPTC_METRIC_VAL_LOSS && src->val) {
        src->metric = metric;
        src->n_labels = n_labels;
        src->confusion = gptc_calloc(ctx, (size_t)n_labels * n_labels, sizeof *src->confusion, "confusion matrix");
        if (!src->confusion) {
            gptc_task_source_free(src);
            return GPTC_ENOMEM;
        }
        d->metric_name = metric_names[metric];
        d->val_reset = src_val_reset;
        d->val_observe = src_val_observe;
        d->val_metric = src_val_metric;
        d->val_counts = src_val_counts;
    }
    *out = src;
    return GPTC_OK;
}

const gptc_data_source *gptc_task_source_data(const gptc_task_source *src) { return &src->ds; }

void gptc_task_source_free(gptc_task_source *src) {
    if (!src) return;
    gptc_free(src->perm);
    gptc_free(src->idx);
    gptc_free(src->confusion);
    gptc_free(src);
}

void gptc_task_model_set_pad(gptc_model *m, int32_t pad) { m->cfg.pad_token_id = pad; }
