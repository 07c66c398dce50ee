/* pretrain.c: BERT pre-training data. JSONL lines {"input_ids", "token_type_ids",
 * "attention_mask", "labels", "next_sentence_label"} (what `gptc prepare --arch bert`
 * writes and `gptc eval --task pretrain` reads), batches padded to T, and masked
 * language modelling at train time as transformers' DataCollatorForLanguageModeling
 * does it (each real, non-special token chosen with probability 0.15; of those 80%
 * become [MASK], 10% a random id, 10% stay) or DataCollatorForWholeWordMask (words = a
 * token and its "##" continuations; words drawn in a random order until round(0.15 n)
 * tokens are covered), from the trainer's saved random stream so a resumed run masks
 * the same way. Validation rows use their own labels, or a masking fixed by the row's
 * index. */
#include "tasks.h"
#include <jansson.h>
#include <math.h>
#include <string.h>

struct gptc_pretrain_data {
    size_t n, n_ids, cap_rows, cap_ids;
    size_t *off;      /* n + 1 */
    int32_t *ids, *types, *mask, *labels; /* n_ids each; labels NULL when no line has them */
    int32_t *nsp;     /* n: next_sentence_label, -100 when absent */
    size_t max_len;
    int has_labels;
};

size_t gptc_pretrain_count(const gptc_pretrain_data *d) { return d->n; }
size_t gptc_pretrain_max_len(const gptc_pretrain_data *d) { return d->max_len; }
int gptc_pretrain_has_labels(const gptc_pretrain_data *d) { return d->has_labels; }

void gptc_pretrain_free(gptc_pretrain_data *d) {
    if (!d) return;
    gptc_free(d->off);
    gptc_free(d->ids);
    gptc_free(d->types);
    gptc_free(d->mask);
    gptc_free(d->labels);
    gptc_free(d->nsp);
    gptc_free(d);
}

static int grow(gptc_ctx *ctx, void **p, size_t *cap, size_t need, size_t esz, const char *what) {
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need) nc *= 2;
    void *np = gptc_alloc(ctx, nc * esz, what);
    if (!np) return 0;
    if (*p) memcpy(np, *p, *cap * esz);
    gptc_free(*p);
    *p = np;
    *cap = nc;
    return 1;
}

/* The integer array field key of line obj into dst (len values); missing: def (or an
 * error when def < -1000). */
static gptc_status int_array(gptc_ctx *ctx, const char *path, size_t line, json_t *obj, const char *key, size_t len,
                             int32_t def, int32_t lo, int32_t hi, int32_t extra, int32_t *dst) {
    json_t *a = json_object_get(obj, key);
    if (!a) {
        if (def < -1000) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: field \"%s\" is missing", path, line, key);
        for (size_t i = 0; i < len; i++) dst[i] = def;
        return GPTC_OK;
    }
    if (!json_is_array(a) || json_array_size(a) != len)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: field \"%s\" must be an array of %zu integers (as input_ids)",
                         path, line, key, len);
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : lo - 1;
        if (!json_is_integer(v) || ((x < lo || x >= hi) && x != extra))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: field \"%s\" element %zu must be an integer in [%d, %d)%s",
                             path, line, key, i, lo, hi, extra == -100 ? " or -100" : "");
        dst[i] = (int32_t)x;
    }
    return GPTC_OK;
}

gptc_status gptc_pretrain_read(gptc_ctx *ctx, const char *path, const gptc_config *cfg, int max_len,
                               gptc_pretrain_data **out) {
    *out = NULL;
    char *text;
    size_t size;
    gptc_status s = gptc_file_read(ctx, path, &text, &size);
    if (s) return s;
    gptc_pretrain_data *d = gptc_calloc(ctx, 1, sizeof *d, "pre-training data");
    if (!d) {
        gptc_free(text);
        return GPTC_ENOMEM;
    }
    int types = cfg->type_vocab_size > 0 ? cfg->type_vocab_size : 1;
    size_t line = 0, cap_ids[4] = {0, 0, 0, 0}, cap_rows[2] = {0, 0};
    const char *p = text, *end = text + size;
    int any_labels = 0, all_labels = 1;
    while (!s && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        size_t len = (size_t)(le - p);
        if (len && p[len - 1] == '\r') len--;
        const char *q = p;
        p = nl ? nl + 1 : end;
        size_t k = 0;
        while (k < len && (q[k] == ' ' || q[k] == '\t')) k++;
        if (k == len) continue; /* blank line */
        json_error_t err;
        json_t *o = json_loadb(q, len, JSON_REJECT_DUPLICATES, &err);
        if (!o || !json_is_object(o)) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: not a JSON object%s%s", path, line, o ? "" : ": ",
                          o ? "" : err.text);
            json_decref(o);
            break;
        }
        json_t *ids = json_object_get(o, "input_ids");
        size_t n = json_is_array(ids) ? json_array_size(ids) : 0;
        if (!n) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: field \"input_ids\" must be a non-empty array of token ids", path,
                          line);
        } else if (max_len > 0 && n > (size_t)max_len) {
            s = gptc_fail(ctx, GPTC_EINVAL, "%s:%zu: %zu tokens exceed the sequence length %d", path, line, n, max_len);
        } else if (!grow(ctx, (void **)&d->ids, &cap_ids[0], d->n_ids + n, sizeof(int32_t), "token ids") ||
                   !grow(ctx, (void **)&d->types, &cap_ids[1], d->n_ids + n, sizeof(int32_t), "token types") ||
                   !grow(ctx, (void **)&d->mask, &cap_ids[2], d->n_ids + n, sizeof(int32_t), "attention masks") ||
                   !grow(ctx, (void **)&d->labels, &cap_ids[3], d->n_ids + n, sizeof(int32_t), "labels") ||
                   !grow(ctx, (void **)&d->off, &cap_rows[0], d->n + 2, sizeof(size_t), "row offsets") ||
                   !grow(ctx, (void **)&d->nsp, &cap_rows[1], d->n + 1, sizeof(int32_t), "NSP labels")) {
            s = GPTC_ENOMEM;
        } else {
            size_t o0 = d->n_ids;
            int has_l = json_object_get(o, "labels") != NULL;
            any_labels |= has_l;
            all_labels &= has_l;
            if (!(s = int_array(ctx, path, line, o, "input_ids", n, 0, 0, cfg->vocab_size, 0, d->ids + o0)) &&
                !(s = int_array(ctx, path, line, o, "token_type_ids", n, 0, 0, types, 0, d->types + o0)) &&
                !(s = int_array(ctx, path, line, o, "attention_mask", n, 1, 0, 2, 1, d->mask + o0)) &&
                !(s = int_array(ctx, path, line, o, "labels", n, -100, 0, cfg->vocab_size, -100, d->labels + o0))) {
                json_t *y = json_object_get(o, "next_sentence_label");
                d->nsp[d->n] = -100;
                if (y && !(json_is_integer(y) && (json_integer_value(y) == 0 || json_integer_value(y) == 1 ||
                                                  json_integer_value(y) == -100)))
                    s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: field \"next_sentence_label\" must be 0, 1 or -100", path,
                                  line);
                else if (y)
                    d->nsp[d->n] = (int32_t)json_integer_value(y);
            }
            if (!s) {
                if (d->n == 0) d->off[0] = 0;
                d->n_ids += n;
                d->off[++d->n] = d->n_ids;
                if (n > d->max_len) d->max_len = n;
            }
        }
        json_decref(o);
    }
    gptc_free(text);
    if (!s && !d->n) s = gptc_fail(ctx, GPTC_EINVAL, "%s: no examples (one JSON object per line)", path);
    if (!s && any_labels && !all_labels)
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: \"labels\" on some lines only (give them on every line or none)", path);
    if (s) {
        gptc_pretrain_free(d);
        return s;
    }
    d->has_labels = any_labels;
    *out = d;
    return GPTC_OK;
}

gptc_mlm_params gptc_mlm_default_params(void) {
    gptc_mlm_params p;
    memset(&p, 0, sizeof p);
    p.mlm_probability = 0.15f;
    p.mask_token_id = -1;
    return p;
}

static double uniform(uint64_t *rng) { return (double)(gptc_splitmix64(rng) >> 11) * (1.0 / 9007199254740992.0); }

static int is_special(const gptc_mlm_params *p, int32_t id) {
    for (int i = 0; i < p->n_special; i++)
        if (p->special[i] == id) return 1;
    return 0;
}

/* Row r's tokens masked in place (tok, lab hold the row's n real tokens): which tokens
 * are predicted, then 80% [MASK], 10% random, 10% kept. */
static void mask_row(const gptc_mlm_params *p, int32_t *tok, int32_t *lab, int n, uint64_t *rng, int *scratch) {
    for (int t = 0; t < n; t++) lab[t] = -100;
    if (p->whole_word_mask && p->continuation) {
        /* DataCollatorForWholeWordMask._whole_word_mask: words in a random order, taken
         * while they fit in round(0.15 n) predicted tokens */
        int nw = 0, cand = 0;
        for (int t = 0; t < n; t++) {
            if (is_special(p, tok[t])) continue;
            cand++;
            if (!(p->continuation[tok[t]] && nw > 0 && t > 0 && !is_special(p, tok[t - 1]))) scratch[nw++] = t;
        }
        for (int i = nw; i > 1; i--) {
            int j = (int)(gptc_splitmix64(rng) % (uint64_t)i), x = scratch[i - 1];
            scratch[i - 1] = scratch[j];
            scratch[j] = x;
        }
        int want = (int)lround(cand * (double)p->mlm_probability), covered = 0;
        if (want < 1) want = 1;
        for (int i = 0; i < nw && covered < want; i++) {
            int a = scratch[i], b = a + 1;
            while (b < n && !is_special(p, tok[b]) && p->continuation[tok[b]]) b++;
            if (covered + (b - a) > want) continue;
            for (int t = a; t < b; t++) lab[t] = tok[t];
            covered += b - a;
        }
    } else {
        for (int t = 0; t < n; t++)
            if (!is_special(p, tok[t]) && uniform(rng) < p->mlm_probability) lab[t] = tok[t];
    }
    for (int t = 0; t < n; t++) {
        if (lab[t] == -100) continue;
        double u = uniform(rng);
        if (u < 0.8) tok[t] = p->mask_token_id;
        else if (u < 0.9) tok[t] = (int32_t)(gptc_splitmix64(rng) % (uint64_t)p->vocab_size);
    }
}

gptc_status gptc_pretrain_fill(gptc_ctx *ctx, const gptc_pretrain_data *d, const size_t *idx, int B, int T,
                               int32_t pad, const gptc_mlm_params *mlm, uint64_t *rng, gptc_batch *bt) {
    int scratch_stack[512], *scratch = scratch_stack;
    if (mlm && T > 512 && !(scratch = gptc_alloc(ctx, (size_t)T * sizeof *scratch, "masking scratch"))) return GPTC_ENOMEM;
    for (int b = 0; b < B; b++) {
        size_t r = idx[b], o = d->off[r];
        int n = (int)(d->off[r + 1] - o);
        if (n > T) {
            if (scratch != scratch_stack) gptc_free(scratch);
            return gptc_fail(ctx, GPTC_EINVAL, "example %zu has %d tokens, more than the sequence length %d", r, n, T);
        }
        int32_t *tok = bt->tokens + (size_t)b * T, *lab = bt->targets + (size_t)b * T, *ty = bt->token_types + (size_t)b * T;
        float *am = bt->attention_mask + (size_t)b * T;
        for (int t = 0; t < T; t++) {
            int in = t < n;
            tok[t] = in ? d->ids[o + t] : pad;
            ty[t] = in ? d->types[o + t] : 0;
            am[t] = in ? (float)d->mask[o + t] : 0.0f;
            lab[t] = in ? d->labels[o + t] : -100;
        }
        if (mlm) mask_row(mlm, tok, lab, n, rng, scratch);
        bt->labels[b] = d->nsp[r];
    }
    if (scratch != scratch_stack) gptc_free(scratch);
    return GPTC_OK;
}

/* ------------------------------------------------------------------ data source */

struct gptc_pretrain_source {
    gptc_data_source ds;
    const gptc_pretrain_data *train, *val;
    gptc_mlm_params mlm;
    int32_t pad;
    uint64_t seed, perm_epoch;
    size_t *perm, *idx;
};

static void make_perm(gptc_pretrain_source *src, uint64_t e) {
    gptc_epoch_perm(src->perm, src->train->n, src->seed, e);
    src->perm_epoch = e + 1;
}

static gptc_status ps_train_batch(gptc_ctx *ctx, void *user, gptc_batch *bt, uint64_t *rng, uint64_t *pos) {
    gptc_pretrain_source *src = user;
    size_t n = src->train->n;
    for (int b = 0; b < bt->B; b++) {
        uint64_t e = *pos / n;
        if (src->perm_epoch != e + 1) make_perm(src, e);
        src->idx[b] = src->perm[*pos % n];
        (*pos)++;
    }
    /* rows that carry labels keep them; the others are masked from the run's stream */
    return gptc_pretrain_fill(ctx, src->train, src->idx, bt->B, bt->T, src->pad,
                              src->train->has_labels ? NULL : &src->mlm, rng, bt);
}

static size_t ps_n_val(void *user, int B, int T) {
    gptc_pretrain_source *src = user;
    (void)T;
    return src->val ? (src->val->n + (size_t)B - 1) / (size_t)B : 0;
}

static gptc_status ps_val_batch(gptc_ctx *ctx, void *user, size_t i, gptc_batch *bt) {
    gptc_pretrain_source *src = user;
    size_t first = i * (size_t)bt->B, n = src->val->n;
    int k = first >= n ? 0 : (int)((n - first) < (size_t)bt->B ? n - first : (size_t)bt->B);
    for (int b = 0; b < k; b++) src->idx[b] = first + (size_t)b;
    bt->B = k;
    uint64_t rng = src->seed ^ 0x7F4A7C15u ^ ((uint64_t)i * 0x9E3779B97F4A7C15ull); /* fixed per batch */
    return k ? gptc_pretrain_fill(ctx, src->val, src->idx, k, bt->T, src->pad, src->val->has_labels ? NULL : &src->mlm,
                                  &rng, bt)
             : GPTC_OK;
}

void gptc_pretrain_source_free(gptc_pretrain_source *src) {
    if (!src) return;
    gptc_free(src->perm);
    gptc_free(src->idx);
    gptc_free(src);
}

gptc_status gptc_pretrain_source_new(gptc_ctx *ctx, const gptc_pretrain_data *train, const gptc_pretrain_data *val,
                                     int32_t pad, uint64_t seed, const gptc_mlm_params *mlm,
                                     gptc_pretrain_source **out) {
    *out = NULL;
    if (!train->has_labels && (mlm->mask_token_id < 0 || mlm->mask_token_id >= mlm->vocab_size || mlm->vocab_size < 1 ||
                               !(mlm->mlm_probability > 0 && mlm->mlm_probability < 1)))
        return gptc_fail(ctx, GPTC_EINVAL, "masked LM: needs a [MASK] id inside the vocabulary and a masking "
                                           "probability in (0, 1) (mask id %d, vocab %d, probability %g)",
                         mlm->mask_token_id, mlm->vocab_size, (double)mlm->mlm_probability);
    gptc_pretrain_source *src = gptc_calloc(ctx, 1, sizeof *src, "pre-training data source");
    if (!src) return GPTC_ENOMEM;
    src->train = train;
    src->val = val && val->n ? val : NULL;
    src->mlm = *mlm;
    src->pad = pad;
    src->seed = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    src->perm = gptc_alloc(ctx, train->n * sizeof *src->perm, "shuffle order");
    src->idx = gptc_alloc(ctx, (train->n > 65536 ? train->n : 65536) * sizeof *src->idx, "batch rows");
    if (!src->perm || !src->idx) {
        gptc_pretrain_source_free(src);
        return GPTC_ENOMEM;
    }
    gptc_data_source *d = &src->ds;
    d->user = src;
    d->targets_per_row = 0;
    d->fields = GPTC_BATCH_ATTENTION_MASK | GPTC_BATCH_TOKEN_TYPES | GPTC_BATCH_LABELS;
    d->train_rows = train->n;
    d->train_batch = ps_train_batch;
    d->n_val_batches = ps_n_val;
    d->val_batch = ps_val_batch;
    *out = src;
    return GPTC_OK;
}

const gptc_data_source *gptc_pretrain_source_data(const gptc_pretrain_source *src) { return &src->ds; }

/* ------------------------------------------------------------------ sentence pairs */

typedef struct sbuf {
    gptc_ctx *ctx;
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1 << 16;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = gptc_alloc(b->ctx, nc, "examples");
        if (!np) {
            b->oom = 1;
            return;
        }
        if (b->p) memcpy(np, b->p, b->n);
        gptc_free(b->p);
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void sb_ints(sbuf *b, const char *key, const int32_t *v, size_t n) {
    char num[16];
    sb_put(b, "\"", 1);
    sb_put(b, key, strlen(key));
    sb_put(b, "\": [", 4);
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(num, sizeof num, i ? ", %d" : "%d", v[i]);
        sb_put(b, num, (size_t)k);
    }
    sb_put(b, "]", 1);
}

/* The example [CLS] A [SEP] B [SEP] (types 0 then 1) as one JSONL line. */
static void put_example(sbuf *b, const int32_t *a, size_t na, const int32_t *bb, size_t nb, int32_t cls, int32_t sep,
                        int random_next, int32_t *ids, int32_t *types) {
    size_t n = 0;
    ids[n] = cls, types[n++] = 0;
    for (size_t i = 0; i < na; i++) ids[n] = a[i], types[n++] = 0;
    ids[n] = sep, types[n++] = 0;
    for (size_t i = 0; i < nb; i++) ids[n] = bb[i], types[n++] = 1;
    ids[n] = sep, types[n++] = 1;
    sb_put(b, "{", 1);
    sb_ints(b, "input_ids", ids, n);
    sb_put(b, ", ", 2);
    sb_ints(b, "token_type_ids", types, n);
    char tail[48];
    int k = snprintf(tail, sizeof tail, ", \"next_sentence_label\": %d}\n", random_next);
    sb_put(b, tail, (size_t)k);
}

/* truncate_seq_pair: tokens off the longer segment, from its front or back at random */
static void truncate_pair(const int32_t **a, size_t *na, const int32_t **b, size_t *nb, size_t max, uint64_t *rng) {
    while (*na + *nb > max) {
        const int32_t **s = *na > *nb ? a : b;
        size_t *n = *na > *nb ? na : nb;
        if (gptc_splitmix64(rng) & 1) (*s)++;
        (*n)--;
    }
}

gptc_status gptc_pretrain_pairs(gptc_ctx *ctx, const int32_t *ids, const size_t *sent_off, const size_t *doc_sent,
                                size_t n_docs, int32_t cls, int32_t sep, const gptc_pairs_params *p, char **jsonl,
                                size_t *len, size_t *n_examples) {
    *jsonl = NULL;
    *len = 0;
    *n_examples = 0;
    if (p->max_seq_length < 5)
        return gptc_fail(ctx, GPTC_EINVAL, "sentence pairs: max_seq_length %d is too short (at least 5)", p->max_seq_length);
    size_t max_tokens = (size_t)p->max_seq_length - 3;
    sbuf b = {ctx, NULL, 0, 0, 0};
    int32_t *row = gptc_alloc(ctx, 2 * ((size_t)p->max_seq_length + 3) * sizeof *row, "example");
    int32_t *ta = gptc_alloc(ctx, 2 * (max_tokens + 1) * sizeof *ta, "segments");
    if (!row || !ta) {
        gptc_free(row);
        gptc_free(ta);
        return GPTC_ENOMEM;
    }
    int32_t *tb = ta + max_tokens + 1;
    uint64_t rng = p->seed * 0x9E3779B97F4A7C15ull + 0xB5297A4D;
    /* create_instances_from_document of google-research/bert, once per document */
    for (size_t d = 0; d < n_docs && !b.oom; d++) {
        size_t s0 = doc_sent[d], s1 = doc_sent[d + 1];
        size_t target = max_tokens;
        if (uniform(&rng) < p->short_seq_prob) target = 2 + (size_t)(gptc_splitmix64(&rng) % (max_tokens - 1));
        size_t chunk0 = s0, chunk_len = 0;
        for (size_t i = s0; i < s1 && !b.oom; i++) {
            chunk_len += sent_off[i + 1] - sent_off[i];
            size_t n_chunk = i + 1 - chunk0;
            if (i + 1 != s1 && chunk_len < target) continue;
            if (chunk_len > 0) {
                size_t a_end = n_chunk >= 2 ? 1 + (size_t)(gptc_splitmix64(&rng) % (n_chunk - 1)) : 1;
                size_t na = 0, nb = 0;
                for (size_t j = chunk0; j < chunk0 + a_end; j++)
                    for (size_t t = sent_off[j]; t < sent_off[j + 1] && na < max_tokens; t++) ta[na++] = ids[t];
                int random_next = n_chunk == 1 || uniform(&rng) < 0.5;
                if (random_next && n_docs < 2) random_next = n_chunk == 1 ? -1 : 0;
                if (random_next == 1) {
                    size_t target_b = target > na ? target - na : 1, rd = d;
                    for (int tries = 0; tries < 10 && rd == d; tries++) rd = (size_t)(gptc_splitmix64(&rng) % n_docs);
                    if (rd == d) rd = (d + 1) % n_docs;
                    size_t r0 = doc_sent[rd], r1 = doc_sent[rd + 1];
                    size_t start = r0 + (r1 > r0 ? (size_t)(gptc_splitmix64(&rng) % (r1 - r0)) : 0);
                    for (size_t j = start; j < r1 && nb < target_b; j++)
                        for (size_t t = sent_off[j]; t < sent_off[j + 1] && nb < max_tokens; t++) tb[nb++] = ids[t];
                    /* the segments not used go back: the next chunk starts after A */
                    i = chunk0 + a_end - 1;
                } else if (random_next == 0) {
                    for (size_t j = chunk0 + a_end; j < chunk0 + n_chunk; j++)
                        for (size_t t = sent_off[j]; t < sent_off[j + 1] && nb < max_tokens; t++) tb[nb++] = ids[t];
                }
                if (random_next >= 0 && na && nb) {
                    const int32_t *pa = ta, *pb = tb;
                    truncate_pair(&pa, &na, &pb, &nb, max_tokens, &rng);
                    put_example(&b, pa, na, pb, nb, cls, sep, random_next, row, row + p->max_seq_length + 3);
                    (*n_examples)++;
                }
            }
            chunk0 = i + 1;
            chunk_len = 0;
        }
    }
    gptc_free(row);
    gptc_free(ta);
    if (b.oom) {
        gptc_free(b.p);
        *n_examples = 0;
        return GPTC_ENOMEM;
    }
    *jsonl = b.p;
    *len = b.n;
    return GPTC_OK;
}
