/* translate.c: sentence pairs for encoder-decoder models (TSV src<TAB>tgt or JSONL
 * {"src", "tgt"}, tokenized by the model's translation tokenizer; JSONL of ids
 * {"input_ids", "labels", "attention_mask"}), the teacher-forcing batch (encoder ids and
 * padding mask, decoder input [decoder_start] + labels[:-1], labels with -100 on the
 * padding) and the trainer's data source over them (shuffled epochs that depend only
 * on (seed, position), so a resumed run sees the same batches), with an optional
 * validation metric computed from the model (BLEU of greedy translations). */
#include "../core/core.h"
#include "tasks.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gptc_mt_data_free(gptc_mt_data *d) {
    gptc_free(d->src_off);
    gptc_free(d->tgt_off);
    gptc_free(d->src);
    gptc_free(d->tgt);
    gptc_free(d->src_mask);
    gptc_free(d->line);
    for (size_t i = 0; d->ref && i < d->n; i++) gptc_free(d->ref[i]);
    gptc_free(d->ref);
    memset(d, 0, sizeof *d);
}

/* Growth of the pair arrays: rows and ids double. */
typedef struct mt_cap { size_t rows, src, tgt; } mt_cap;

static gptc_status grow(gptc_ctx *ctx, void **p, size_t used, size_t need, size_t *cap, size_t elem, const char *what) {
    if (need <= *cap) return GPTC_OK;
    size_t c = *cap ? *cap * 2 : 1024;
    while (c < need) c *= 2;
    void *n = gptc_alloc(ctx, c * elem, what);
    if (!n) return GPTC_ENOMEM;
    if (used && *p) memcpy(n, *p, used * elem);
    gptc_free(*p);
    *p = n;
    *cap = c;
    return GPTC_OK;
}

/* Appends a pair (src ns ids, optional mask, tgt nt ids, line, reference text or NULL). */
static gptc_status add_pair(gptc_ctx *ctx, gptc_mt_data *d, mt_cap *cap, const int32_t *src, const float *mask,
                            size_t ns, const int32_t *tgt, size_t nt, size_t line, const char *ref, size_t ref_len,
                            int keep_ref) {
    size_t rc = cap->rows, os = d->n ? d->src_off[d->n] : 0, ot = d->n ? d->tgt_off[d->n] : 0;
    gptc_status s = GPTC_OK;
    if (d->n + 2 > rc) {
        size_t r2 = rc;
        s = grow(ctx, (void **)&d->src_off, d->n + 1, d->n + 2, &r2, sizeof *d->src_off, "pair offsets");
        r2 = rc;
        if (!s) s = grow(ctx, (void **)&d->tgt_off, d->n + 1, d->n + 2, &r2, sizeof *d->tgt_off, "pair offsets");
        r2 = rc;
        if (!s) s = grow(ctx, (void **)&d->line, d->n, d->n + 2, &r2, sizeof *d->line, "pair lines");
        r2 = rc;
        if (!s && keep_ref) s = grow(ctx, (void **)&d->ref, d->n, d->n + 2, &r2, sizeof *d->ref, "references");
        if (s) return s;
        cap->rows = r2;
        if (!d->n) d->src_off[0] = d->tgt_off[0] = 0;
    }
    size_t c2 = cap->src;
    if ((s = grow(ctx, (void **)&d->src, os, os + ns, &cap->src, sizeof *d->src, "source ids"))) return s;
    if (mask && (s = grow(ctx, (void **)&d->src_mask, os, os + ns, &c2, sizeof *d->src_mask, "source mask"))) return s;
    if ((s = grow(ctx, (void **)&d->tgt, ot, ot + nt, &cap->tgt, sizeof *d->tgt, "target ids"))) return s;
    if (keep_ref) {
        char *r = gptc_alloc(ctx, ref_len + 1, "reference");
        if (!r) return GPTC_ENOMEM;
        memcpy(r, ref, ref_len);
        r[ref_len] = 0;
        d->ref[d->n] = r;
    }
    memcpy(d->src + os, src, ns * sizeof *src);
    if (mask) memcpy(d->src_mask + os, mask, ns * sizeof *mask);
    memcpy(d->tgt + ot, tgt, nt * sizeof *tgt);
    d->line[d->n] = line;
    d->src_off[d->n + 1] = os + ns;
    d->tgt_off[d->n + 1] = ot + nt;
    d->n++;
    if (ns > d->max_src) d->max_src = ns;
    if (nt > d->max_tgt) d->max_tgt = nt;
    return GPTC_OK;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

gptc_mt_read_params gptc_mt_read_default_params(void) {
    gptc_mt_read_params p = {0};
    p.format = GPTC_FMT_AUTO;
    return p;
}

gptc_status gptc_mt_pairs_read(gptc_ctx *ctx, const char *path, const gptc_mt_tokenizer *tok,
                               const gptc_mt_read_params *p, gptc_mt_data *out) {
    memset(out, 0, sizeof *out);
    int fmt = p->format == GPTC_FMT_AUTO ? (gptc_table_format(path, GPTC_FMT_AUTO) == GPTC_FMT_JSONL ? GPTC_FMT_JSONL
                                                                                                     : GPTC_FMT_TSV)
                                         : p->format;
    if (fmt != GPTC_FMT_TSV && fmt != GPTC_FMT_JSONL)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: sentence pairs are TSV (src<TAB>tgt) or JSONL {\"src\", \"tgt\"}", path);
    char *data;
    size_t size;
    gptc_status s = gptc_file_read(ctx, path, &data, &size);
    if (s) return s;
    mt_cap cap = {0, 0, 0};
    gptc_lines it = gptc_lines_of(data, size);
    const char *ln;
    size_t len;
    while (!s && gptc_lines_next(&it, &ln, &len)) {
        size_t line = it.line;
        if (len && ln[len - 1] == '\r') len--;
        if (blank(ln, len)) continue;
        char why[200] = "";
        const char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        json_t *j = NULL;
        if (fmt == GPTC_FMT_TSV) {
            const char *tab = memchr(ln, '\t', len);
            if (!tab) snprintf(why, sizeof why, "expected source<TAB>target (no tab)");
            else if (memchr(tab + 1, '\t', len - (size_t)(tab + 1 - ln)))
                snprintf(why, sizeof why, "expected source<TAB>target (more than one tab)");
            else {
                a = ln;
                al = (size_t)(tab - ln);
                b = tab + 1;
                bl = len - al - 1;
            }
        } else {
            json_error_t err;
            j = json_loadb(ln, len, JSON_REJECT_DUPLICATES, &err);
            json_t *js = j ? json_object_get(j, "src") : NULL, *jt = j ? json_object_get(j, "tgt") : NULL;
            if (!j) snprintf(why, sizeof why, "malformed JSON: %s (column %d)", err.text, err.column);
            else if (!json_is_object(j)) snprintf(why, sizeof why, "expected an object {\"src\": ..., \"tgt\": ...}");
            else if (!json_is_string(js)) snprintf(why, sizeof why, "field \"src\" is missing or not a string");
            else if (!json_is_string(jt)) snprintf(why, sizeof why, "field \"tgt\" is missing or not a string");
            else {
                a = json_string_value(js);
                al = json_string_length(js);
                b = json_string_value(jt);
                bl = json_string_length(jt);
            }
        }
        if (!why[0] && blank(a, al)) snprintf(why, sizeof why, "the source side is empty");
        if (!why[0] && blank(b, bl)) snprintf(why, sizeof why, "the target side is empty");
        if (why[0]) {
            json_decref(j);
            if (p->skip_bad) {
                if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, "%s:%zu: %s", path, line, why);
                continue;
            }
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %s", path, line, why);
            break;
        }
        int32_t *si = NULL, *ti = NULL;
        size_t ns, nt, fs, ft;
        s = gptc_mt_encode(ctx, tok, GPTC_MT_SOURCE, a, al, 0, &si, &fs);
        if (!s) s = gptc_mt_encode(ctx, tok, GPTC_MT_TARGET, b, bl, 0, &ti, &ft);
        if (s && s != GPTC_ENOMEM) s = gptc_fail_prefix(ctx, s, "%s:%zu", path, line);
        ns = fs;
        nt = ft;
        /* truncation as the tokenizer's truncation=True, max_length=N: the start, then </s> */
        if (!s && p->max_source_length > 1 && ns > (size_t)p->max_source_length) {
            ns = (size_t)p->max_source_length;
            si[ns - 1] = si[fs - 1];
            out->n_truncated_src++;
        }
        if (!s && p->max_target_length > 1 && nt > (size_t)p->max_target_length) {
            nt = (size_t)p->max_target_length;
            ti[nt - 1] = ti[ft - 1];
            out->n_truncated_tgt++;
        }
        if (!s) s = add_pair(ctx, out, &cap, si, NULL, ns, ti, nt, line, b, bl, p->keep_references);
        gptc_free(si);
        gptc_free(ti);
        json_decref(j);
    }
    gptc_free(data);
    if (!s && !out->n) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: no sentence pairs", path);
    if (s) gptc_mt_data_free(out);
    return s;
}

/* An array of integer ids (labels may hold -100; a mask 0 or 1) into buf (cap entries). */
static const char *ids_field(json_t *j, const char *key, int allow_ignore, int is_mask, long vocab, int32_t *buf,
                             float *fbuf, size_t cap, size_t *n, char *why, size_t why_cap) {
    json_t *a = json_object_get(j, key);
    if (!a) return "missing";
    if (!json_is_array(a) || !json_array_size(a)) {
        snprintf(why, why_cap, "field \"%s\" must be a non-empty array of integers", key);
        return why;
    }
    if (json_array_size(a) > cap) {
        snprintf(why, why_cap, "field \"%s\" holds %zu ids, more than %zu", key, json_array_size(a), cap);
        return why;
    }
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        json_int_t v = json_is_integer(e) ? json_integer_value(e) : -1000;
        int ok = is_mask ? (v == 0 || v == 1) : ((v >= 0 && v < vocab) || (allow_ignore && v == -100));
        if (!ok) {
            if (is_mask) snprintf(why, why_cap, "%s[%zu] must be 0 or 1", key, i);
            else if (!json_is_integer(e)) snprintf(why, why_cap, "%s[%zu] is not an integer", key, i);
            else snprintf(why, why_cap, "%s[%zu] = %lld is out of range [0, %ld)%s", key, i, (long long)v, vocab,
                          allow_ignore ? " (or -100)" : "");
            return why;
        }
        if (is_mask) fbuf[i] = (float)v;
        else buf[i] = (int32_t)v;
    }
    *n = i;
    return NULL;
}

gptc_status gptc_mt_ids_read(gptc_ctx *ctx, const char *path, long vocab_size, int max_len, gptc_mt_data *out) {
    memset(out, 0, sizeof *out);
    char *data;
    size_t size;
    gptc_status s = gptc_file_read(ctx, path, &data, &size);
    if (s) return s;
    size_t capn = max_len > 0 ? (size_t)max_len : (size_t)1 << 20;
    int32_t *si = gptc_alloc(ctx, capn * sizeof *si, "ids"), *ti = gptc_alloc(ctx, capn * sizeof *ti, "ids");
    float *mk = gptc_alloc(ctx, capn * sizeof *mk, "mask");
    if (!si || !ti || !mk) s = GPTC_ENOMEM;
    mt_cap cap = {0, 0, 0};
    gptc_lines it = gptc_lines_of(data, size);
    const char *ln;
    size_t len;
    int masked = -1; /* every line has attention_mask (1) or none (0) */
    while (!s && gptc_lines_next(&it, &ln, &len)) {
        size_t line = it.line;
        if (blank(ln, len)) continue;
        char why[200] = "";
        const char *w = NULL;
        json_error_t err;
        json_t *j = json_loadb(ln, len, JSON_REJECT_DUPLICATES, &err);
        size_t ns = 0, nt = 0, nm = 0;
        if (!j) snprintf(why, sizeof why, "malformed JSON: %s (column %d)", err.text, err.column);
        else if (!json_is_object(j)) snprintf(why, sizeof why, "expected an object {\"input_ids\", \"labels\"}");
        else if ((w = ids_field(j, "input_ids", 0, 0, vocab_size, si, NULL, capn, &ns, why, sizeof why))) {
            if (w != why) snprintf(why, sizeof why, "field \"input_ids\" is missing");
        } else if ((w = ids_field(j, "labels", 1, 0, vocab_size, ti, NULL, capn, &nt, why, sizeof why))) {
            if (w != why) snprintf(why, sizeof why, "field \"labels\" is missing");
        }
        else {
            w = ids_field(j, "attention_mask", 0, 1, 0, NULL, mk, capn, &nm, why, sizeof why);
            int has = !w;
            if (w && w != why) w = NULL, why[0] = 0; /* absent */
            if (!why[0] && has && nm != ns)
                snprintf(why, sizeof why, "attention_mask has %zu entries, input_ids %zu", nm, ns);
            if (!why[0] && masked >= 0 && masked != has)
                snprintf(why, sizeof why, "attention_mask must be on every line or on none");
            if (!why[0]) masked = has;
        }
        json_decref(j);
        if (why[0]) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %s", path, line, why);
            break;
        }
        s = add_pair(ctx, out, &cap, si, masked == 1 ? mk : NULL, ns, ti, nt, line, NULL, 0, 0);
    }
    gptc_free(si);
    gptc_free(ti);
    gptc_free(mk);
    gptc_free(data);
    if (!s && !out->n) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: no examples", path);
    if (s) gptc_mt_data_free(out);
    return s;
}

void gptc_mt_fill(const gptc_mt_data *d, const size_t *idx, int B, int T, int enc_T, int32_t pad, int32_t start,
                  gptc_batch *bt) {
    for (int b = 0; b < B; b++) {
        size_t r = idx[b];
        size_t so = d->src_off[r], ns = d->src_off[r + 1] - so, to = d->tgt_off[r], nt = d->tgt_off[r + 1] - to;
        if (ns > (size_t)enc_T) ns = (size_t)enc_T;
        if (nt > (size_t)T) nt = (size_t)T;
        int32_t *e = bt->enc_tokens + (size_t)b * enc_T, *tk = bt->tokens + (size_t)b * T, *tg = bt->targets + (size_t)b * T;
        float *em = bt->enc_mask ? bt->enc_mask + (size_t)b * enc_T : NULL;
        for (size_t t = 0; t < (size_t)enc_T; t++) {
            e[t] = t < ns ? d->src[so + t] : pad;
            if (em) em[t] = t < ns ? (d->src_mask ? d->src_mask[so + t] : 1.0f) : 0.0f;
        }
        /* shift_tokens_right: [start] + labels[:-1], -100 -> pad */
        for (size_t t = 0; t < (size_t)T; t++) {
            tg[t] = t < nt ? d->tgt[to + t] : -100;
            int32_t prev = t == 0 ? start : t - 1 < nt ? d->tgt[to + t - 1] : pad;
            tk[t] = prev == -100 ? pad : prev;
        }
    }
    bt->B = B;
    bt->T = T;
    bt->enc_T = enc_T;
}

/* ---------------------------------------------------------------- data source */
struct gptc_mt_source {
    gptc_data_source ds;
    const gptc_mt_data *train, *val;
    int32_t pad, start;
    uint64_t seed;
    size_t *perm, *idx, *len, idx_cap;
    uint64_t perm_epoch;
    int perm_batch;              /* the global batch the grouped order was made for */
    int group;                   /* group_by_length */
    gptc_mt_metric_fn metric;
    void *metric_user;
};

/* A row's length for grouping: its longer side (after the batch's cut). */
static size_t row_len(const gptc_mt_data *d, size_t r) {
    size_t ns = d->src_off[r + 1] - d->src_off[r], nt = d->tgt_off[r + 1] - d->tgt_off[r];
    return ns > nt ? ns : nt;
}

/* Sort keys: longest first, then by row (lengths below 2^20 ids, rows below 2^40); they
 * are sorted in the size_t scratch idx. */
#define KEY_ROW_BITS 40
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "grouped_perm sorts 64-bit keys in a size_t buffer");
static uint64_t len_key(size_t len, size_t row) {
    uint64_t l = len < 0xFFFFF ? (uint64_t)len : 0xFFFFF;
    return ((0xFFFFFull - l) << KEY_ROW_BITS) | (uint64_t)row;
}
static int key_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

enum { GROUP_MULT = 50 };

/* idx holds, for global batches of B rows: a chunk of GROUP_MULT batches and its batch
 * order (grouped_perm's scratch), then the batch's rows. */
static gptc_status mt_reserve(gptc_ctx *ctx, gptc_mt_source *src, int B) {
    size_t need = (size_t)GROUP_MULT * (size_t)B + GROUP_MULT + (size_t)B;
    if (need <= src->idx_cap) return GPTC_OK;
    size_t *p = gptc_alloc(ctx, need * sizeof *p, "batch rows");
    if (!p) return GPTC_ENOMEM;
    gptc_free(src->idx);
    src->idx = p;
    src->idx_cap = need;
    return GPTC_OK;
}

/* The epoch's order with group_by_length (Hugging Face's LengthGroupedSampler, batches
 * shuffled): the epoch's permutation cut into chunks of GROUP_MULT global batches, each
 * chunk sorted by length (longest first, ties by row), cut into batches of B rows, and
 * the chunk's full batches put in a shuffled order (its last, partial batch stays last).
 * A function of (seed, epoch, B) only, so a resumed run sees the same batches. */
static void grouped_perm(gptc_mt_source *src, uint64_t e, int B) {
    size_t n = src->train->n, M = (size_t)GROUP_MULT * (size_t)B;
    gptc_epoch_perm(src->perm, n, src->seed, e);
    uint64_t st = src->seed ^ 0x5851F42D4C957F2Dull ^ (e * 0xD1B54A32D192ED03ull);
    for (size_t c0 = 0; c0 < n; c0 += M) {
        size_t k = n - c0 < M ? n - c0 : M, nb = k / (size_t)B;
        /* the chunk sorted into idx (as keys, then rows), its batches shuffled back into perm */
        uint64_t *key = (uint64_t *)src->idx;
        for (size_t i = 0; i < k; i++) key[i] = len_key(src->len[src->perm[c0 + i]], src->perm[c0 + i]);
        qsort(key, k, sizeof *key, key_cmp);
        for (size_t i = 0; i < k; i++) src->idx[i] = (size_t)(key[i] & ((1ull << KEY_ROW_BITS) - 1));
        size_t *order = src->idx + M;
        for (size_t q = 0; q < nb; q++) order[q] = q;
        for (size_t q = nb; q > 1; q--) {
            size_t j = (size_t)(gptc_splitmix64(&st) % q), t = order[q - 1];
            order[q - 1] = order[j];
            order[j] = t;
        }
        for (size_t q = 0; q < nb; q++)
            memcpy(src->perm + c0 + q * (size_t)B, src->idx + order[q] * (size_t)B, (size_t)B * sizeof *src->perm);
    }
}

/* Dynamic padding (DataCollatorForSeq2Seq's padding to the longest): the batch's longest
 * source (at most E) and labels (at most T) give its enc_T and T. */
static void fill_longest(const gptc_mt_data *d, const size_t *idx, int B, int T, int E, int32_t pad, int32_t start,
                         gptc_batch *bt) {
    size_t ls = 1, lt = 1;
    for (int b = 0; b < B; b++) {
        size_t r = idx[b], ns = d->src_off[r + 1] - d->src_off[r], nt = d->tgt_off[r + 1] - d->tgt_off[r];
        if (ns > ls) ls = ns;
        if (nt > lt) lt = nt;
    }
    gptc_mt_fill(d, idx, B, lt < (size_t)T ? (int)lt : T, ls < (size_t)E ? (int)ls : E, pad, start, bt);
}

static gptc_status mt_train_batch(gptc_ctx *ctx, void *user, gptc_batch *bt, uint64_t *rng, uint64_t *pos) {
    gptc_mt_source *src = user;
    size_t n = src->train->n;
    (void)rng;
    int B = bt->B;
    gptc_status s = mt_reserve(ctx, src, B);
    if (s) return s;
    size_t *rows = src->idx + (size_t)GROUP_MULT * (size_t)B + GROUP_MULT; /* past grouped_perm's scratch */
    for (int b = 0; b < B; b++) {
        uint64_t e = *pos / n;
        if (src->perm_epoch != e + 1 || (src->group && src->perm_batch != B)) {
            if (src->group)
                grouped_perm(src, e, B);
            else
                gptc_epoch_perm(src->perm, n, src->seed, e);
            src->perm_epoch = e + 1;
            src->perm_batch = B;
        }
        rows[b] = src->perm[*pos % n];
        (*pos)++;
    }
    fill_longest(src->train, rows, B, bt->T, src->ds.enc_T, src->pad, src->start, bt);
    return GPTC_OK;
}

static size_t mt_n_val(void *user, int B, int T) {
    gptc_mt_source *src = user;
    (void)T;
    return src->val ? (src->val->n + (size_t)B - 1) / (size_t)B : 0;
}

static gptc_status mt_val_batch(gptc_ctx *ctx, void *user, size_t i, gptc_batch *bt) {
    gptc_mt_source *src = user;
    gptc_status s = mt_reserve(ctx, src, bt->B);
    if (s) return s;
    size_t first = i * (size_t)bt->B, n = src->val->n;
    int k = first >= n ? 0 : (int)((n - first) < (size_t)bt->B ? n - first : (size_t)bt->B);
    for (int b = 0; b < k; b++) src->idx[b] = first + (size_t)b;
    fill_longest(src->val, src->idx, k, bt->T, src->ds.enc_T, src->pad, src->start, bt);
    return GPTC_OK;
}

static gptc_status mt_model_metric(gptc_ctx *ctx, void *user, const gptc_model *m, double *out) {
    gptc_mt_source *src = user;
    return src->metric(ctx, src->metric_user, m, src->val, out);
}

gptc_status gptc_mt_source_new(gptc_ctx *ctx, const gptc_mt_data *train, const gptc_mt_data *val, int32_t pad,
                               int32_t start, uint64_t seed, const char *metric_name, gptc_mt_metric_fn metric,
                               void *metric_user, gptc_mt_source **out) {
    *out = NULL;
    if (!train->n) return gptc_fail(ctx, GPTC_EINVAL, "the training pairs are empty");
    if (metric && !(val && val->n)) return gptc_fail(ctx, GPTC_EINVAL, "a validation metric needs validation pairs");
    gptc_mt_source *src = gptc_calloc(ctx, 1, sizeof *src, "translation data source");
    if (!src) return GPTC_ENOMEM;
    src->train = train;
    src->val = val && val->n ? val : NULL;
    src->pad = pad;
    src->start = start;
    src->seed = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    src->perm = gptc_alloc(ctx, train->n * sizeof *src->perm, "shuffle order");
    src->len = gptc_alloc(ctx, train->n * sizeof *src->len, "row lengths");
    if (src->perm && src->len)
        for (size_t r = 0; r < train->n; r++) src->len[r] = row_len(train, r);
    if (!src->perm || !src->len || mt_reserve(ctx, src, 1)) {
        gptc_mt_source_free(src);
        return GPTC_ENOMEM;
    }
    gptc_data_source *d = &src->ds;
    d->user = src;
    d->fields = GPTC_BATCH_ENC_TOKENS;
    d->enc_T = (int)(src->val && src->val->max_src > train->max_src ? src->val->max_src : train->max_src);
    d->train_rows = train->n;
    d->train_batch = mt_train_batch;
    d->n_val_batches = mt_n_val;
    d->val_batch = mt_val_batch;
    if (metric) {
        src->metric = metric;
        src->metric_user = metric_user;
        d->metric_name = metric_name;
        d->model_metric = mt_model_metric;
    }
    *out = src;
    return GPTC_OK;
}

const gptc_data_source *gptc_mt_source_data(const gptc_mt_source *src) { return &src->ds; }

void gptc_mt_source_group_by_length(gptc_mt_source *src, int on) {
    src->group = on != 0;
    src->perm_epoch = 0;
}

void gptc_mt_source_free(gptc_mt_source *src) {
    if (!src) return;
    gptc_free(src->perm);
    gptc_free(src->len);
    gptc_free(src->idx);
    gptc_free(src);
}

/* ---------------------------------------------------------------- translating */
/* The checks of a translation: an encoder-decoder, a valid start id (into *start), a
 * source of ids in range (n_src[0..n)). */
static gptc_status translate_check(gptc_ctx *ctx, const gptc_model *m, const gptc_gen_params *p,
                                   const int32_t *const *src, const int *n_src, size_t n, int32_t *start) {
    const gptc_config *c = gptc_model_config(m);
    if (c->arch != GPTC_ARCH_MARIAN)
        return gptc_fail(ctx, GPTC_EINVAL, "translate: the model is a %s, not an encoder-decoder (model_type marian)",
                         gptc_model_class(m));
    *start = p->decoder_start_token_id >= 0 ? p->decoder_start_token_id : c->decoder_start_token_id;
    if (*start < 0 || *start >= c->vocab_size)
        return gptc_fail(ctx, GPTC_EINVAL, "translate: decoder_start_token_id %d is not an id of the model (vocab_size %d)",
                         *start, c->vocab_size);
    for (size_t k = 0; k < n; k++) {
        char who[48] = ""; /* several sources: which one (1-based) */
        if (n > 1) snprintf(who, sizeof who, "source %zu: ", k + 1);
        if (n_src[k] < 1) return gptc_fail(ctx, GPTC_EINVAL, "translate: %sthe source is empty", who);
        if (n_src[k] > c->n_positions)
            return gptc_fail(ctx, GPTC_ERANGE, "translate: %s%d source ids exceed max_position_embeddings %d", who,
                             n_src[k], c->n_positions);
        for (int i = 0; i < n_src[k]; i++)
            if (src[k][i] < 0 || src[k][i] >= c->vocab_size)
                return gptc_fail(ctx, GPTC_ERANGE, "translate: %ssource id %d at position %d is out of range [0, %d)", who,
                                 src[k][i], i, c->vocab_size);
    }
    return GPTC_OK;
}

gptc_status gptc_translate_ids(gptc_ctx *ctx, const gptc_model *m, gptc_session *s, const int32_t *src, int n_src,
                               const gptc_gen_params *p, gptc_gen_result **out) {
    *out = NULL;
    int32_t start;
    gptc_status st = translate_check(ctx, m, p, &src, &n_src, 1, &start);
    if (st) return st;
    gptc_session *own = NULL;
    if (!s) {
        int nseq = p->num_beams > p->num_return_sequences ? p->num_beams : p->num_return_sequences;
        if ((st = gptc_session_new(ctx, m, nseq, 0, &own))) return st;
        s = own;
    }
    st = gptc_session_encode(ctx, s, 0, src, n_src);
    if (!st) st = gptc_generate(ctx, m, s, NULL, &start, 1, p, NULL, NULL, out);
    gptc_session_free(own);
    return st;
}

/* Sources by length, then position: batches of similar lengths. */
typedef struct by_len { int n; size_t i; } by_len;
static int by_len_cmp(const void *a, const void *b) {
    const by_len *x = a, *y = b;
    return x->n != y->n ? (x->n < y->n ? -1 : 1) : x->i < y->i ? -1 : x->i > y->i;
}

gptc_status gptc_translate_batch(gptc_ctx *ctx, const struct gptc_model *m, const int32_t *const *src,
                                 const int *n_src, size_t n, int batch_size, const gptc_gen_params *p,
                                 gptc_gen_result **out) {
    for (size_t k = 0; k < n; k++) out[k] = NULL;
    if (batch_size < 1) return gptc_fail(ctx, GPTC_EINVAL, "translate: batch size %d (need at least 1)", batch_size);
    int32_t start;
    gptc_status st = gptc_gen_params_validate(ctx, p);
    if (!st) st = translate_check(ctx, m, p, src, n_src, n, &start);
    if (st || !n) return st;
    const gptc_config *c = gptc_model_config(m);
    int nseq = p->num_beams > p->num_return_sequences ? p->num_beams : p->num_return_sequences;
    /* positions: the longest source, and the start token + the new tokens */
    long dec = p->max_new_tokens >= 0 ? 1L + p->max_new_tokens : (long)p->max_length;
    long max_len = dec < 1 ? 1 : dec;
    by_len *order = gptc_alloc(ctx, n * sizeof *order, "translation order");
    gptc_gen_result **res = gptc_calloc(ctx, (size_t)batch_size, sizeof *res, "translation results");
    if (!order || !res) {
        gptc_free(order);
        gptc_free(res);
        return GPTC_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        order[k] = (by_len){n_src[k], k};
        if (n_src[k] > max_len) max_len = n_src[k];
    }
    if (max_len > c->n_positions) max_len = c->n_positions;
    qsort(order, n, sizeof *order, by_len_cmp);
    int B = n < (size_t)batch_size ? (int)n : batch_size;
    gptc_session *s = NULL;
    st = gptc_session_new(ctx, m, B * nseq, (int)max_len, &s);
    for (size_t first = 0; !st && first < n; first += (size_t)B) {
        int k = n - first < (size_t)B ? (int)(n - first) : B;
        for (int j = 0; !st && j < k; j++) {
            size_t i = order[first + (size_t)j].i;
            st = gptc_session_encode(ctx, s, j * nseq, src[i], n_src[i]);
        }
        if (!st) st = gptc_generate_groups(ctx, m, s, NULL, &start, 1, k, p, res);
        for (int j = 0; !st && j < k; j++) out[order[first + (size_t)j].i] = res[j];
    }
    gptc_session_free(s);
    gptc_free(order);
    gptc_free(res);
    if (st)
        for (size_t k = 0; k < n; k++) {
            gptc_gen_result_free(out[k]);
            out[k] = NULL;
        }
    return st;
}

gptc_status gptc_mt_val_bleu(gptc_ctx *ctx, void *user, const gptc_model *m, const gptc_mt_data *val, double *out) {
    const gptc_mt_bleu_params *bp = user;
    *out = NAN;
    if (!val->ref) return gptc_fail(ctx, GPTC_EINVAL, "BLEU: the validation pairs were read without their references");
    gptc_gen_params p = bp->gen;
    if (p.max_new_tokens < 0) p.max_new_tokens = (int)val->max_tgt + 8;
    size_t n = bp->max_sentences && bp->max_sentences < val->n ? bp->max_sentences : val->n;
    char **hyp = gptc_calloc(ctx, n ? n : 1, sizeof *hyp, "translations");
    const int32_t **src = gptc_alloc(ctx, (n ? n : 1) * sizeof *src, "sources");
    int *n_src = gptc_alloc(ctx, (n ? n : 1) * sizeof *n_src, "sources");
    gptc_gen_result **r = gptc_calloc(ctx, n ? n : 1, sizeof *r, "translations");
    gptc_status st = hyp && src && n_src && r ? GPTC_OK : GPTC_ENOMEM;
    for (size_t i = 0; !st && i < n; i++) {
        src[i] = val->src + val->src_off[i];
        n_src[i] = (int)(val->src_off[i + 1] - val->src_off[i]);
    }
    if (!st) st = gptc_translate_batch(ctx, m, src, n_src, n, bp->batch_size > 0 ? bp->batch_size : 16, &p, r);
    for (size_t i = 0; !st && i < n; i++) {
        size_t len;
        st = gptc_mt_decode(ctx, bp->tok, r[i]->seqs[0].tokens, (size_t)r[i]->seqs[0].n_tokens, &hyp[i], &len);
    }
    gptc_bleu_score b;
    if (!st) st = gptc_bleu_corpus(ctx, (const char *const *)hyp, n, (const char *const *)val->ref, 1, &b);
    if (!st) *out = b.score;
    for (size_t i = 0; r && i < n; i++) gptc_gen_result_free(r[i]);
    for (size_t i = 0; hyp && i < n; i++) gptc_free(hyp[i]);
    gptc_free(hyp);
    gptc_free(src);
    gptc_free(n_src);
    gptc_free(r);
    return st;
}
