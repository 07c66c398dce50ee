/* qa.c: extractive question answering data: SQuAD JSON and JSONL readers (character
 * offsets checked against the answer text), windows over long contexts (question, a
 * separator, then a context window; WordPiece: [CLS] question [SEP] window [SEP] with
 * token types; windows overlap by a stride, as run_qa.py), and the
 * best-span search over the start/end logits of an example's windows. */
#include "../core/core.h"
#include "tasks.h"
#include "../core/core.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dup_s(gptc_ctx *ctx, const char *s) {
    size_t n = strlen(s);
    char *p = gptc_alloc(ctx, n + 1, "QA text");
    if (p) memcpy(p, s, n + 1);
    return p;
}

static void ex_free(gptc_qa_example *e) {
    gptc_free(e->context);
    gptc_free(e->question);
    gptc_free(e->id);
    for (int i = 0; i < e->n_answers; i++) gptc_free(e->answers[i]);
    gptc_free(e->answers);
    gptc_free(e->answer_start);
    memset(e, 0, sizeof *e);
}

void gptc_qa_free(gptc_qa_set *s) {
    for (size_t i = 0; i < s->n; i++) ex_free(&s->ex[i]);
    gptc_free(s->ex);
    memset(s, 0, sizeof *s);
}

/* Byte offset of character index c (Unicode code points, as Python) in s, or -1. */
static long char_to_byte(const char *s, long long c) {
    long long k = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
        if (k == c) return (long)i;
        k++;
    }
    return k == c ? (long)i : -1;
}

/* Fills e from context, question, id and answers (JSON values); why gets the reason on failure. */
static int make_example(gptc_ctx *ctx, gptc_qa_example *e, json_t *context, json_t *question, json_t *id,
                        json_t *answers, int need_answers, char *why, size_t why_cap) {
    memset(e, 0, sizeof *e);
    if (!json_is_string(context) || !json_string_length(context))
        return snprintf(why, why_cap, "field \"context\" is missing or empty"), 0;
    if (!json_is_string(question) || !json_string_length(question))
        return snprintf(why, why_cap, "field \"question\" is missing or empty"), 0;
    /* answers: {"text": [...], "answer_start": [...]}, [{"text", "answer_start"}, ...] or one object */
    json_t *texts = NULL, *starts = NULL, *list = NULL;
    size_t na = 0;
    if (json_is_object(answers) && json_is_array(json_object_get(answers, "text"))) {
        texts = json_object_get(answers, "text");
        starts = json_object_get(answers, "answer_start");
        if (!json_is_array(starts) || json_array_size(starts) != json_array_size(texts))
            return snprintf(why, why_cap, "answers.answer_start must be a list as long as answers.text"), 0;
        na = json_array_size(texts);
    } else if (json_is_array(answers)) {
        list = answers;
        na = json_array_size(list);
    } else if (json_is_object(answers)) {
        na = 1;
    } else if (answers && !json_is_null(answers)) {
        return snprintf(why, why_cap, "field \"answers\" must be a list or an object"), 0;
    }
    if (need_answers && !na) return snprintf(why, why_cap, "no answer (training examples need one)"), 0;
    e->context = dup_s(ctx, json_string_value(context));
    e->question = dup_s(ctx, json_string_value(question));
    e->id = dup_s(ctx, json_is_string(id) ? json_string_value(id) : "");
    e->answers = gptc_calloc(ctx, na + 1, sizeof *e->answers, "answers");
    e->answer_start = gptc_calloc(ctx, na + 1, sizeof *e->answer_start, "answers");
    if (!e->context || !e->question || !e->id || !e->answers || !e->answer_start)
        return snprintf(why, why_cap, "out of memory"), 0;
    for (size_t i = 0; i < na; i++) {
        json_t *t, *st;
        if (texts) {
            t = json_array_get(texts, i);
            st = json_array_get(starts, i);
        } else {
            json_t *a = list ? json_array_get(list, i) : answers;
            t = json_object_get(a, "text");
            st = json_object_get(a, "answer_start");
        }
        if (!json_is_string(t) || !json_string_length(t))
            return snprintf(why, why_cap, "answer %zu: \"text\" is missing or empty", i), 0;
        if (!json_is_integer(st)) return snprintf(why, why_cap, "answer %zu: \"answer_start\" must be an integer", i), 0;
        long long c = json_integer_value(st);
        long b = c >= 0 ? char_to_byte(e->context, c) : -1;
        size_t tl = json_string_length(t);
        if (b < 0 || strlen(e->context) - (size_t)b < tl || memcmp(e->context + b, json_string_value(t), tl)) {
            char found[40] = "";
            if (b >= 0) snprintf(found, sizeof found, "%.*s", (int)(tl < 30 ? tl : 30), e->context + b);
            return snprintf(why, why_cap, "answer %zu: answer_start %lld does not point at the answer text '%.60s'%s%s%s", i,
                            c, json_string_value(t), b >= 0 ? " (the context has '" : " (past the end of the context)",
                            found, b >= 0 ? "' there)" : ""), 0;
        }
        e->answers[i] = dup_s(ctx, json_string_value(t));
        if (!e->answers[i]) return snprintf(why, why_cap, "out of memory"), 0;
        e->answer_start[i] = (size_t)b;
        e->n_answers++;
    }
    return 1;
}

static gptc_status push_ex(gptc_ctx *ctx, gptc_qa_set *s, size_t *cap, gptc_qa_example *e) {
    if (s->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        gptc_qa_example *ne = gptc_alloc(ctx, nc * sizeof *ne, "QA examples");
        if (!ne) return GPTC_ENOMEM;
        if (s->n) memcpy(ne, s->ex, s->n * sizeof *ne);
        gptc_free(s->ex);
        s->ex = ne;
        *cap = nc;
    }
    s->ex[s->n++] = *e;
    return GPTC_OK;
}

gptc_status gptc_qa_read(gptc_ctx *ctx, const char *path, int need_answers, int skip_bad, gptc_qa_set *out,
                         size_t *n_skipped) {
    memset(out, 0, sizeof *out);
    *n_skipped = 0;
    char *data;
    size_t size, cap = 0;
    gptc_status s = gptc_file_read(ctx, path, &data, &size);
    if (s) return s;
    size_t k = 0;
    while (k < size && (data[k] == ' ' || data[k] == '\n' || data[k] == '\r' || data[k] == '\t')) k++;
    json_error_t err;
    json_t *whole = NULL;
    /* SQuAD JSON: one object with "data"; anything else is read as JSONL */
    if (k < size && data[k] == '{') {
        whole = json_loadb(data, size, 0, &err);
        if (whole && !json_is_array(json_object_get(whole, "data"))) {
            json_decref(whole);
            whole = NULL;
        }
    }
    char why[400];
    if (whole) {
        json_t *arts = json_object_get(whole, "data"), *art, *par, *qa;
        size_t i, j, q;
        json_array_foreach(arts, i, art) {
            json_array_foreach(json_object_get(art, "paragraphs"), j, par) {
                json_t *context = json_object_get(par, "context");
                json_array_foreach(json_object_get(par, "qas"), q, qa) {
                    gptc_qa_example e;
                    json_t *id = json_object_get(qa, "id");
                    if (!make_example(ctx, &e, context, json_object_get(qa, "question"), id,
                                      json_object_get(qa, "answers"), need_answers, why, sizeof why)) {
                        ex_free(&e);
                        if (!skip_bad) {
                            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: data[%zu].paragraphs[%zu].qas[%zu]%s%s%s: %s", path, i,
                                          j, q, json_is_string(id) ? " (id " : "", json_is_string(id) ? json_string_value(id) : "",
                                          json_is_string(id) ? ")" : "", why);
                            goto done;
                        }
                        (*n_skipped)++;
                        continue;
                    }
                    e.line = 0;
                    if ((s = push_ex(ctx, out, &cap, &e))) {
                        ex_free(&e);
                        goto done;
                    }
                }
            }
        }
    } else {
        gptc_lines it = gptc_lines_of(data, size);
        const char *ln;
        size_t len;
        while (gptc_lines_next(&it, &ln, &len)) {
            size_t line = it.line;
            json_t *j = json_loadb(ln, len, 0, &err);
            gptc_qa_example e;
            memset(&e, 0, sizeof e);
            int ok = 0;
            if (!j) snprintf(why, sizeof why, "malformed JSON: %s (column %d)", err.text, err.column);
            else if (!json_is_object(j)) snprintf(why, sizeof why, "expected a JSON object");
            else ok = make_example(ctx, &e, json_object_get(j, "context"), json_object_get(j, "question"),
                                   json_object_get(j, "id"), json_object_get(j, "answers"), need_answers, why, sizeof why);
            json_decref(j);
            if (!ok) {
                ex_free(&e);
                if (!skip_bad) {
                    s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %s", path, line, why);
                    goto done;
                }
                (*n_skipped)++;
                continue;
            }
            e.line = line;
            if ((s = push_ex(ctx, out, &cap, &e))) {
                ex_free(&e);
                goto done;
            }
        }
    }
    if (!out->n) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: no question-answer examples%s", path, *n_skipped ? " (all skipped)" : "");
done:
    json_decref(whole);
    gptc_free(data);
    if (s) gptc_qa_free(out);
    return s;
}

/* ---------------------------------------------------------------- features */
void gptc_qa_features_free(gptc_qa_features *f) {
    gptc_free(f->ids);
    gptc_free(f->pos);
    gptc_free(f->ex);
    gptc_free(f->ctx_begin);
    gptc_free(f->ctx_len);
    gptc_free(f->win_start);
    for (size_t i = 0; f->tok_off && i < f->n_ex; i++) gptc_free(f->tok_off[i]);
    gptc_free(f->tok_off);
    gptc_free(f->n_ctx_tok);
    gptc_task_data_free(&f->data);
    memset(f, 0, sizeof *f);
}

/* Context tokens: the last one that begins at or before byte (run_qa.py's start
 * position: offsets[i][0] <= start_char), the first one that ends at or after it (its end
 * position: offsets[i][1] >= end_char). off holds (begin, end) pairs. */
static size_t token_from(const size_t *off, size_t n, size_t byte) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (off[2 * mid] <= byte) lo = mid;
        else hi = mid;
    }
    return lo;
}
static size_t token_to(const size_t *off, size_t n, size_t byte) {
    size_t lo = 0, hi = n; /* first i with off[2i + 1] >= byte, n when none */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (off[2 * mid + 1] >= byte) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Grows the feature arrays to hold cap rows of T. */
static gptc_status grow_features(gptc_ctx *ctx, gptc_qa_features *f, size_t *cap, int T) {
    size_t nc = *cap ? *cap * 2 : 256;
    int32_t *ids = gptc_alloc(ctx, nc * (size_t)T * sizeof *ids, "QA features");
    int32_t *pos = gptc_alloc(ctx, nc * 2 * sizeof *pos, "QA features");
    size_t *exi = gptc_alloc(ctx, nc * sizeof *exi, "QA features"), *ws = gptc_alloc(ctx, nc * sizeof *ws, "QA features");
    int *cb = gptc_alloc(ctx, nc * sizeof *cb, "QA features"), *cl = gptc_alloc(ctx, nc * sizeof *cl, "QA features");
    if (!ids || !pos || !exi || !ws || !cb || !cl) {
        gptc_free(ids); gptc_free(pos); gptc_free(exi); gptc_free(ws); gptc_free(cb); gptc_free(cl);
        return GPTC_ENOMEM;
    }
    if (f->n) {
        memcpy(ids, f->ids, f->n * (size_t)T * sizeof *ids);
        memcpy(pos, f->pos, f->n * 2 * sizeof *pos);
        memcpy(exi, f->ex, f->n * sizeof *exi);
        memcpy(ws, f->win_start, f->n * sizeof *ws);
        memcpy(cb, f->ctx_begin, f->n * sizeof *cb);
        memcpy(cl, f->ctx_len, f->n * sizeof *cl);
    }
    gptc_free(f->ids); gptc_free(f->pos); gptc_free(f->ex); gptc_free(f->win_start); gptc_free(f->ctx_begin); gptc_free(f->ctx_len);
    f->ids = ids; f->pos = pos; f->ex = exi; f->win_start = ws; f->ctx_begin = cb; f->ctx_len = cl;
    *cap = nc;
    return GPTC_OK;
}

gptc_status gptc_qa_features_build(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_qa_set *s, int T, int stride,
                                   int32_t sep, int32_t pad, gptc_qa_features *f) {
    memset(f, 0, sizeof *f);
    f->T = T;
    f->n_ex = s->n;
    f->data.kind = GPTC_TASK_QA;
    /* WordPiece (BERT): [CLS] question [SEP] window [SEP], types 0 then 1, as
     * tokenizer(question, context, truncation="only_second", stride) in run_qa.py */
    int wrap = gptc_tokenizer_wraps_inputs(tok);
    gptc_tokenizer_roles ro;
    gptc_tokenizer_roles_get(tok, &ro);
    if (wrap) {
        sep = ro.sep;
        f->wrapped = 1;
        if (ro.cls < 0 || ro.sep < 0)
            return gptc_fail(ctx, GPTC_EINVAL, "QA: the WordPiece vocabulary has no [CLS] or [SEP] token");
    }
    int extra = wrap ? 3 : 1; /* special tokens per row */
    f->tok_off = gptc_calloc(ctx, s->n, sizeof *f->tok_off, "QA offsets");
    f->n_ctx_tok = gptc_calloc(ctx, s->n, sizeof *f->n_ctx_tok, "QA offsets");
    gptc_status st = GPTC_OK;
    size_t cap = 0;
    if (!f->tok_off || !f->n_ctx_tok) st = GPTC_ENOMEM;
    for (size_t e = 0; e < s->n && !st; e++) {
        const gptc_qa_example *x = &s->ex[e];
        int32_t *q = NULL, *c = NULL;
        size_t nq = 0, nc = 0, *off = NULL;
        if ((st = gptc_tokenizer_encode(ctx, tok, x->question, strlen(x->question), wrap, &q, &nq))) break;
        if ((st = gptc_tokenizer_encode_offsets(ctx, tok, x->context, strlen(x->context), wrap, &c, &off, &nc))) {
            free(q);
            break;
        }
        if (nq > (size_t)T / 2) nq = (size_t)T / 2; /* a long question keeps its start */
        int W = T - (int)nq - extra, cb = (int)nq + extra - 1;
        if (W < 2 || W - stride < 1) {
            st = gptc_fail(ctx, GPTC_EINVAL, "QA: max length %d leaves %d context tokens per window after the question; "
                                             "the stride %d must be smaller", T, W, stride);
        }
        f->tok_off[e] = st ? NULL : gptc_alloc(ctx, (2 * nc + 1) * sizeof(size_t), "QA offsets");
        if (!st && !f->tok_off[e]) st = GPTC_ENOMEM;
        if (!st && nc) memcpy(f->tok_off[e], off, 2 * nc * sizeof(size_t));
        f->n_ctx_tok[e] = nc;
        /* the first answer's tokens (training target) */
        long ts = -1, te = -1;
        if (!st && x->n_answers && nc) {
            size_t bs = x->answer_start[0], be = bs + strlen(x->answers[0]);
            ts = (long)token_from(off, nc, bs);
            te = (long)token_to(off, nc, be);
        }
        for (size_t w0 = 0; !st;) {
            size_t wn = nc - w0 < (size_t)W ? nc - w0 : (size_t)W;
            if (f->n + 1 > cap && (st = grow_features(ctx, f, &cap, T))) break;
            int32_t *r = f->ids + f->n * (size_t)T, *p = r;
            if (wrap) *p++ = ro.cls;
            memcpy(p, q, nq * sizeof *r);
            p += nq;
            *p++ = sep;
            memcpy(p, c + w0, wn * sizeof *r);
            p += wn;
            if (wrap) *p++ = sep;
            for (; p < r + T; p++) *p = pad;
            f->ex[f->n] = e;
            f->win_start[f->n] = w0;
            f->ctx_begin[f->n] = cb;
            f->ctx_len[f->n] = (int)wn;
            /* windows without the whole answer point at index 0 (run_qa.py's cls index) */
            int32_t ps = 0, pe = 0;
            if (ts >= (long)w0 && te < (long)(w0 + wn) && ts <= te) {
                ps = (int32_t)(cb + ts - (long)w0);
                pe = (int32_t)(cb + te - (long)w0);
            }
            f->pos[2 * f->n] = ps;
            f->pos[2 * f->n + 1] = pe;
            f->n++;
            if (w0 + wn >= nc) break;
            w0 += (size_t)(W - stride);
        }
        free(q);
        free(c);
        free(off);
    }
    /* the same rows as task data (unpadded lengths) for the trainer */
    if (!st && f->n) {
        gptc_task_data *d = &f->data;
        d->n = f->n;
        d->off = gptc_alloc(ctx, (f->n + 1) * sizeof *d->off, "QA rows");
        d->ids = gptc_alloc(ctx, f->n * (size_t)T * sizeof *d->ids, "QA rows");
        d->tgt = gptc_alloc(ctx, f->n * 2 * sizeof *d->tgt, "QA rows");
        d->types = wrap ? gptc_alloc(ctx, f->n * (size_t)T * sizeof *d->types, "QA rows") : NULL;
        if (!d->off || !d->ids || !d->tgt || (wrap && !d->types)) st = GPTC_ENOMEM;
        size_t o = 0;
        for (size_t i = 0; !st && i < f->n; i++) {
            size_t len = (size_t)f->ctx_begin[i] + (size_t)f->ctx_len[i] + (wrap ? 1 : 0);
            d->off[i] = o;
            memcpy(d->ids + o, f->ids + i * (size_t)T, len * sizeof *d->ids);
            for (size_t t = 0; wrap && t < len; t++) d->types[o + t] = t >= (size_t)f->ctx_begin[i];
            o += len;
            if (len > d->max_len) d->max_len = len;
            d->tgt[2 * i] = f->pos[2 * i];
            d->tgt[2 * i + 1] = f->pos[2 * i + 1];
        }
        if (!st) d->off[f->n] = o;
    }
    if (st) gptc_qa_features_free(f);
    return st;
}

int gptc_qa_best_span(const gptc_qa_features *f, size_t f0, size_t n_feat, const float *logits, int max_answer,
                      size_t *b, size_t *e, double *score) {
    int found = 0;
    double best = -INFINITY;
    int T = f->T;
    for (size_t i = 0; i < n_feat; i++) {
        size_t fi = f0 + i;
        const float *lg = logits + i * (size_t)T * 2;
        int c0 = f->ctx_begin[fi], cn = f->ctx_len[fi];
        const size_t *off = f->tok_off[f->ex[fi]] + 2 * f->win_start[fi];
        for (int s = c0; s < c0 + cn; s++)
            for (int t = s; t < c0 + cn && t < s + max_answer; t++) {
                double sc = (double)lg[s * 2] + lg[t * 2 + 1];
                if (sc > best) {
                    best = sc;
                    *b = off[2 * (size_t)(s - c0)];
                    *e = off[2 * (size_t)(t - c0) + 1];
                    found = 1;
                }
            }
    }
    if (score) *score = best;
    return found;
}
