/* bpe_train.c: learning byte-level BPE merges from word counts (see bpe_train.h).
 * Pairs are counted once over the unique words; each merge then updates the counts of
 * only the words holding the pair, and a lazy max-heap picks the next pair. Counting
 * the words of text files (threads, pre-tokenization) is in bpe_count.c. */
#include "../core/core.h"
#include "bpe.h"
#include "bpe_write.h"
#include "pretok.h"
#include <string.h>

#define NONE UINT32_MAX
#define N_CLASS 25 /* word-list block capacities 4 << class */

/* Grows an array to hold at least need elements (doubling; contents kept). */
static gptc_status grow(gptc_ctx *ctx, void **p, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return GPTC_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 4) return gptc_fail(ctx, GPTC_ENOMEM, "out of memory: %s too large", what);
        c *= 2;
    }
    size_t bytes;
    if (!gptc_mul_ok(c, elem, &bytes)) return gptc_fail(ctx, GPTC_ENOMEM, "out of memory: %s too large", what);
    void *np = gptc_alloc(ctx, bytes, what);
    if (!np) return GPTC_ENOMEM;
    if (*cap) memcpy(np, *p, *cap * elem);
    gptc_free(*p);
    *p = np;
    *cap = c;
    return GPTC_OK;
}

typedef struct pair_t {
    int32_t a, b;     /* token ids */
    int64_t count;    /* weighted occurrences in the current words */
    uint32_t head;    /* newest block of the list of words holding the pair (may be stale) */
    uint32_t stamp;   /* merge step that last touched the count */
    uint32_t merged;  /* already in the merge list */
    uint32_t pad_;
} pair_t;

typedef struct heap_ent {
    int64_t count;
    uint32_t pair;
} heap_ent;

typedef struct trainer {
    gptc_ctx *ctx;
    uint64_t min_freq;
    /* tokens: bytes in one pool, and a bytes -> id hash set */
    unsigned char *tb;
    size_t tb_n, tb_cap;
    size_t *toff;
    uint32_t *tlen;
    size_t n_tok, cap_toff, cap_tlen;
    int32_t *tslot;
    size_t tmask;
    /* words of at least two symbols */
    int32_t *sym;
    size_t *woff;
    uint32_t *wlen, *wstamp;
    int64_t *wcnt;
    size_t n_words;
    /* pairs and their hash index */
    pair_t *pairs;
    size_t n_pairs, cap_pairs;
    uint32_t *pslot;
    size_t pmask;
    /* word lists: blocks [next, class, n, words...] in one pool, free lists per class */
    uint32_t *pool;
    size_t pool_n, pool_cap;
    uint32_t freel[N_CLASS];
    heap_ent *heap;
    size_t heap_n, heap_cap;
    uint32_t *touched;
    int64_t *before;
    size_t n_touched, cap_touched, cap_before;
    uint32_t *list;
    size_t cap_list;
    uint32_t step;
    int32_t (*merges)[2];
    uint64_t *mcount;
    size_t n_merges, cap_merges, cap_mcount;
    int broken; /* a count went negative: internal error */
} trainer;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* ---------------------------------------------------------------- tokens */
static int tok_cmp(const trainer *t, int32_t x, int32_t y) {
    size_t lx = t->tlen[x], ly = t->tlen[y];
    int c = memcmp(t->tb + t->toff[x], t->tb + t->toff[y], lx < ly ? lx : ly);
    if (c) return c;
    return lx < ly ? -1 : lx > ly;
}

static int32_t tok_find(const trainer *t, const unsigned char *p, size_t n, size_t *slot_out) {
    size_t i = gptc_hash_bytes(p, n) & t->tmask;
    for (;;) {
        int32_t e = t->tslot[i];
        if (e == 0) break;
        if (t->tlen[e - 1] == n && memcmp(t->tb + t->toff[e - 1], p, n) == 0) return e - 1;
        i = (i + 1) & t->tmask;
    }
    *slot_out = i;
    return -1;
}

/* Adds the bytes as a new token (the caller checked that they are new). */
static gptc_status tok_add(trainer *t, const unsigned char *p, size_t n) {
    gptc_status st;
    if ((st = grow(t->ctx, (void **)&t->tb, &t->tb_cap, t->tb_n + n, 1, "token bytes")) ||
        (st = grow(t->ctx, (void **)&t->toff, &t->cap_toff, t->n_tok + 1, sizeof *t->toff, "tokens")) ||
        (st = grow(t->ctx, (void **)&t->tlen, &t->cap_tlen, t->n_tok + 1, sizeof *t->tlen, "tokens")))
        return st;
    memcpy(t->tb + t->tb_n, p, n); /* p never points into tb (grow may move it) */
    t->toff[t->n_tok] = t->tb_n;
    t->tlen[t->n_tok] = (uint32_t)n;
    t->tb_n += n;
    t->n_tok++;
    if (2 * t->n_tok > t->tmask + 1) {
        size_t cap = 2 * (t->tmask + 1);
        int32_t *ns = gptc_calloc(t->ctx, cap, sizeof *ns, "token index");
        if (!ns) return GPTC_ENOMEM;
        gptc_free(t->tslot);
        t->tslot = ns;
        t->tmask = cap - 1;
        for (size_t id = 0; id < t->n_tok; id++) {
            size_t i = gptc_hash_bytes(t->tb + t->toff[id], t->tlen[id]) & t->tmask;
            while (t->tslot[i]) i = (i + 1) & t->tmask;
            t->tslot[i] = (int32_t)id + 1;
        }
    } else {
        size_t slot;
        (void)tok_find(t, t->tb + t->toff[t->n_tok - 1], n, &slot); /* absent: gives its slot */
        t->tslot[slot] = (int32_t)t->n_tok;
    }
    return GPTC_OK;
}

/* ---------------------------------------------------------------- pairs */
static size_t pair_hash(int32_t a, int32_t b) { return (size_t)mix64(((uint64_t)(uint32_t)a << 32) | (uint32_t)b); }

static gptc_status pair_rehash(trainer *t, size_t cap) {
    uint32_t *ns = gptc_alloc(t->ctx, cap * sizeof *ns, "pair index");
    if (!ns) return GPTC_ENOMEM;
    memset(ns, 0xFF, cap * sizeof *ns);
    gptc_free(t->pslot);
    t->pslot = ns;
    t->pmask = cap - 1;
    for (size_t k = 0; k < t->n_pairs; k++) {
        size_t i = pair_hash(t->pairs[k].a, t->pairs[k].b) & t->pmask;
        while (t->pslot[i] != NONE) i = (i + 1) & t->pmask;
        t->pslot[i] = (uint32_t)k;
    }
    return GPTC_OK;
}

/* Index of pair (a, b), created with count 0 when new; NONE when out of memory. */
static uint32_t pair_get(trainer *t, int32_t a, int32_t b) {
    size_t i = pair_hash(a, b) & t->pmask;
    for (;;) {
        uint32_t k = t->pslot[i];
        if (k == NONE) break;
        if (t->pairs[k].a == a && t->pairs[k].b == b) return k;
        i = (i + 1) & t->pmask;
    }
    if (t->n_pairs >= NONE - 1) {
        gptc_fail(t->ctx, GPTC_ENOMEM, "more than 2^32 distinct pairs");
        return NONE;
    }
    if (grow(t->ctx, (void **)&t->pairs, &t->cap_pairs, t->n_pairs + 1, sizeof *t->pairs, "pairs")) return NONE;
    uint32_t k = (uint32_t)t->n_pairs++;
    t->pairs[k] = (pair_t){a, b, 0, NONE, 0, 0, 0};
    t->pslot[i] = k;
    if (2 * t->n_pairs > t->pmask + 1 && pair_rehash(t, 2 * (t->pmask + 1))) return NONE;
    return k;
}

/* Appends word w to the list of pair k (skipping an immediate repeat). */
static gptc_status list_append(trainer *t, uint32_t k, uint32_t w) {
    uint32_t h = t->pairs[k].head, cls = 0;
    if (h != NONE) {
        uint32_t n = t->pool[h + 2];
        if (n && t->pool[h + 2 + n] == w) return GPTC_OK;
        if (n < (4u << t->pool[h + 1])) {
            t->pool[h + 3 + n] = w;
            t->pool[h + 2] = n + 1;
            return GPTC_OK;
        }
        cls = t->pool[h + 1] + 1 < N_CLASS ? t->pool[h + 1] + 1 : N_CLASS - 1;
    }
    uint32_t blk = t->freel[cls];
    if (blk != NONE) {
        t->freel[cls] = t->pool[blk];
    } else {
        size_t size = 3 + ((size_t)4 << cls);
        if (t->pool_n + size >= NONE)
            return gptc_fail(t->ctx, GPTC_ENOMEM, "word lists exceed 2^32 entries");
        gptc_status st = grow(t->ctx, (void **)&t->pool, &t->pool_cap, t->pool_n + size, sizeof *t->pool,
                              "pair word lists");
        if (st) return st;
        blk = (uint32_t)t->pool_n;
        t->pool_n += size;
    }
    t->pool[blk] = h;
    t->pool[blk + 1] = cls;
    t->pool[blk + 2] = 1;
    t->pool[blk + 3] = w;
    t->pairs[k].head = blk;
    return GPTC_OK;
}

/* count(a, b) += d for word w; records the pair as touched in this merge step. */
static gptc_status delta(trainer *t, int32_t a, int32_t b, int64_t d, uint32_t w) {
    uint32_t k = pair_get(t, a, b);
    if (k == NONE) return GPTC_ENOMEM;
    pair_t *p = &t->pairs[k];
    if (p->stamp != t->step) {
        gptc_status st;
        if ((st = grow(t->ctx, (void **)&t->touched, &t->cap_touched, t->n_touched + 1, sizeof *t->touched,
                       "touched pairs")) ||
            (st = grow(t->ctx, (void **)&t->before, &t->cap_before, t->n_touched + 1, sizeof *t->before,
                       "touched pairs")))
            return st;
        p = &t->pairs[k];
        p->stamp = t->step;
        t->touched[t->n_touched] = k;
        t->before[t->n_touched++] = p->count;
    }
    p->count += d;
    if (p->count < 0) t->broken = 1;
    return d > 0 ? list_append(t, k, w) : GPTC_OK;
}

/* ---------------------------------------------------------------- heap */
/* Does x come before y: higher count, then smaller (left bytes, right bytes). */
static int heap_before(const trainer *t, const heap_ent *x, const heap_ent *y) {
    if (x->count != y->count) return x->count > y->count;
    const pair_t *p = &t->pairs[x->pair], *q = &t->pairs[y->pair];
    int c = tok_cmp(t, p->a, q->a);
    if (c) return c < 0;
    return tok_cmp(t, p->b, q->b) < 0;
}

static void heap_down(trainer *t, size_t i) {
    heap_ent *h = t->heap;
    heap_ent e = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->heap_n) break;
        if (c + 1 < t->heap_n && heap_before(t, &h[c + 1], &h[c])) c++;
        if (!heap_before(t, &h[c], &e)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

static gptc_status heap_push(trainer *t, uint32_t k, int64_t count) {
    gptc_status st = grow(t->ctx, (void **)&t->heap, &t->heap_cap, t->heap_n + 1, sizeof *t->heap, "pair queue");
    if (st) return st;
    heap_ent e = {count, k};
    size_t i = t->heap_n++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!heap_before(t, &e, &t->heap[par])) break;
        t->heap[i] = t->heap[par];
        i = par;
    }
    t->heap[i] = e;
    return GPTC_OK;
}

static heap_ent heap_pop(trainer *t) {
    heap_ent top = t->heap[0];
    t->heap[0] = t->heap[--t->heap_n];
    if (t->heap_n) heap_down(t, 0);
    return top;
}

/* ---------------------------------------------------------------- merging */
/* Replaces every non-overlapping (a, b), left to right, in word w by c, and moves the
 * counts of the neighbouring pairs: x a b y -> x c y takes (x,a), (a,b), (b,y) and gives
 * (x,c), (c,y). In a b a b, the second merge's left neighbour is the c just written,
 * which cancels the (c,a) the first one gave. */
static gptc_status merge_word(trainer *t, uint32_t w, int32_t a, int32_t b, int32_t c) {
    int32_t *s = t->sym + t->woff[w];
    uint32_t n = t->wlen[w], r = 0, o = 0;
    int64_t cnt = t->wcnt[w];
    gptc_status st = GPTC_OK;
    while (r < n) {
        if (r + 1 < n && s[r] == a && s[r + 1] == b) {
            if (o > 0 && ((st = delta(t, s[o - 1], a, -cnt, w)) || (st = delta(t, s[o - 1], c, cnt, w)))) return st;
            if (r + 2 < n && ((st = delta(t, b, s[r + 2], -cnt, w)) || (st = delta(t, c, s[r + 2], cnt, w))))
                return st;
            if ((st = delta(t, a, b, -cnt, w))) return st;
            s[o++] = c;
            r += 2;
        } else {
            s[o++] = s[r++];
        }
    }
    t->wlen[w] = o;
    return GPTC_OK;
}

static gptc_status apply_merge(trainer *t, uint32_t k, int32_t c) {
    int32_t a = t->pairs[k].a, b = t->pairs[k].b;
    t->step++;
    t->n_touched = 0;
    /* The words that may hold the pair, each once; the blocks go back to the free lists. */
    size_t n_list = 0;
    for (uint32_t blk = t->pairs[k].head; blk != NONE;) {
        uint32_t next = t->pool[blk], cls = t->pool[blk + 1], n = t->pool[blk + 2];
        gptc_status st = grow(t->ctx, (void **)&t->list, &t->cap_list, n_list + n, sizeof *t->list, "word list");
        if (st) return st;
        for (uint32_t j = 0; j < n; j++) {
            uint32_t w = t->pool[blk + 3 + j];
            if (t->wstamp[w] == t->step) continue;
            t->wstamp[w] = t->step;
            t->list[n_list++] = w;
        }
        t->pool[blk] = t->freel[cls];
        t->freel[cls] = blk;
        blk = next;
    }
    t->pairs[k].head = NONE;
    for (size_t j = 0; j < n_list; j++) {
        gptc_status st = merge_word(t, t->list[j], a, b, c);
        if (st) return st;
    }
    if (t->broken || t->pairs[k].count != 0)
        return gptc_fail(t->ctx, GPTC_EINTERNAL, "BPE training: pair counts inconsistent after merge %zu",
                         t->n_merges);
    for (size_t j = 0; j < t->n_touched; j++) {
        uint32_t p = t->touched[j];
        int64_t cnt = t->pairs[p].count;
        if (cnt > t->before[j] && (uint64_t)cnt >= t->min_freq) {
            gptc_status st = heap_push(t, p, cnt);
            if (st) return st;
        }
    }
    return GPTC_OK;
}

/* ---------------------------------------------------------------- setup and loop */
static gptc_status setup(trainer *t, const gptc_bpe_words *w, int32_t byte_id[256]) {
    gptc_status st;
    /* the 256 single bytes, ordered by their GPT-2 code point */
    t->tmask = 1023;
    t->tslot = gptc_calloc(t->ctx, t->tmask + 1, sizeof *t->tslot, "token index");
    if (!t->tslot) return GPTC_ENOMEM;
    int byte_at[256];
    for (int b = 0; b < 256; b++) {
        int rank = 0;
        for (int o = 0; o < 256; o++) rank += gptc_byte_to_cp((unsigned char)o) < gptc_byte_to_cp((unsigned char)b);
        byte_at[rank] = b;
    }
    for (int r = 0; r < 256; r++) {
        unsigned char byte = (unsigned char)byte_at[r];
        if ((st = tok_add(t, &byte, 1))) return st;
        byte_id[byte_at[r]] = r;
    }
    /* words with two or more bytes (a single byte never takes part in a pair) */
    size_t n_unique = gptc_bpe_words_n_unique(w), n_sym = 0, n_words = 0;
    for (size_t i = 0; i < n_unique; i++) {
        const unsigned char *p;
        size_t len;
        uint64_t cnt;
        gptc_bpe_words_get(w, i, &p, &len, &cnt);
        if (len < 2) continue;
        if (len > UINT32_MAX || cnt > INT64_MAX / 4 || !gptc_add_ok(n_sym, len, &n_sym))
            return gptc_fail(t->ctx, GPTC_ERANGE, "BPE training: word %zu too long or too frequent", i);
        n_words++;
    }
    if (n_words >= NONE) return gptc_fail(t->ctx, GPTC_ERANGE, "BPE training: more than 2^32 unique words");
    t->n_words = n_words;
    t->sym = gptc_alloc(t->ctx, (n_sym ? n_sym : 1) * sizeof *t->sym, "word symbols");
    t->woff = gptc_alloc(t->ctx, (n_words ? n_words : 1) * sizeof *t->woff, "words");
    t->wlen = gptc_alloc(t->ctx, (n_words ? n_words : 1) * sizeof *t->wlen, "words");
    t->wstamp = gptc_calloc(t->ctx, n_words ? n_words : 1, sizeof *t->wstamp, "words");
    t->wcnt = gptc_alloc(t->ctx, (n_words ? n_words : 1) * sizeof *t->wcnt, "words");
    if (!t->sym || !t->woff || !t->wlen || !t->wstamp || !t->wcnt) return GPTC_ENOMEM;
    if ((st = pair_rehash(t, 1u << 16))) return st;
    for (int c = 0; c < N_CLASS; c++) t->freel[c] = NONE;
    size_t off = 0, wi = 0;
    for (size_t i = 0; i < n_unique; i++) {
        const unsigned char *p;
        size_t len;
        uint64_t cnt;
        gptc_bpe_words_get(w, i, &p, &len, &cnt);
        if (len < 2) continue;
        t->woff[wi] = off;
        t->wlen[wi] = (uint32_t)len;
        t->wcnt[wi] = (int64_t)cnt;
        for (size_t j = 0; j < len; j++) t->sym[off + j] = byte_id[p[j]];
        /* count the pairs once, here; merges only update them */
        for (size_t j = 0; j + 1 < len; j++) {
            uint32_t k = pair_get(t, t->sym[off + j], t->sym[off + j + 1]);
            if (k == NONE) return GPTC_ENOMEM;
            t->pairs[k].count += (int64_t)cnt;
            if ((st = list_append(t, k, (uint32_t)wi))) return st;
        }
        off += len;
        wi++;
    }
    if ((st = grow(t->ctx, (void **)&t->heap, &t->heap_cap, t->n_pairs + 1, sizeof *t->heap, "pair queue")))
        return st;
    for (size_t k = 0; k < t->n_pairs; k++)
        if ((uint64_t)t->pairs[k].count >= t->min_freq) t->heap[t->heap_n++] = (heap_ent){t->pairs[k].count, (uint32_t)k};
    for (size_t i = t->heap_n / 2; i-- > 0;) heap_down(t, i);
    return GPTC_OK;
}

static gptc_status add_merge(trainer *t, int32_t a, int32_t b, int64_t count) {
    gptc_status st;
    if ((st = grow(t->ctx, (void **)&t->merges, &t->cap_merges, t->n_merges + 1, sizeof *t->merges, "merges")) ||
        (st = grow(t->ctx, (void **)&t->mcount, &t->cap_mcount, t->n_merges + 1, sizeof *t->mcount, "merges")))
        return st;
    t->merges[t->n_merges][0] = a;
    t->merges[t->n_merges][1] = b;
    t->mcount[t->n_merges++] = (uint64_t)count;
    return GPTC_OK;
}

static gptc_status train_loop(trainer *t, size_t n_target, const gptc_bpe_train_params *prm, int *early) {
    unsigned char *buf = NULL;
    size_t buf_cap = 0;
    gptc_status st = GPTC_OK;
    *early = 0;
    while (t->n_tok < n_target) {
        if (t->heap_n == 0) { *early = 1; break; }
        heap_ent top = heap_pop(t);
        pair_t *p = &t->pairs[top.pair];
        if (p->count != top.count) { /* stale: requeue with the current, lower count */
            if (p->count > 0 && p->count < top.count && (uint64_t)p->count >= t->min_freq &&
                (st = heap_push(t, top.pair, p->count)))
                break;
            continue;
        }
        if ((uint64_t)top.count < t->min_freq || top.count <= 0) { *early = 1; break; }
        int32_t a = p->a, b = p->b;
        size_t la = t->tlen[a], lb = t->tlen[b];
        if (la + lb > GPTC_TOKEN_MAX_BYTES) continue; /* a token no loader would accept (a long run of one byte) */
        if ((st = grow(t->ctx, (void **)&buf, &buf_cap, la + lb, 1, "token bytes"))) break;
        memcpy(buf, t->tb + t->toff[a], la);
        memcpy(buf + la, t->tb + t->toff[b], lb);
        size_t slot;
        int32_t c = tok_find(t, buf, la + lb, &slot);
        if (c < 0) {
            if ((st = tok_add(t, buf, la + lb))) break;
            c = (int32_t)t->n_tok - 1;
        }
        if (!t->pairs[top.pair].merged) {
            t->pairs[top.pair].merged = 1;
            if ((st = add_merge(t, a, b, top.count))) break;
        }
        if ((st = apply_merge(t, top.pair, c))) break;
        if (prm->progress) prm->progress(prm->progress_user, GPTC_BPE_PHASE_MERGE, t->n_tok - 256, n_target - 256);
    }
    gptc_free(buf);
    return st;
}

static void trainer_free(trainer *t) {
    gptc_free(t->tb);
    gptc_free(t->toff);
    gptc_free(t->tlen);
    gptc_free(t->tslot);
    gptc_free(t->sym);
    gptc_free(t->woff);
    gptc_free(t->wlen);
    gptc_free(t->wstamp);
    gptc_free(t->wcnt);
    gptc_free(t->pairs);
    gptc_free(t->pslot);
    gptc_free(t->pool);
    gptc_free(t->heap);
    gptc_free(t->touched);
    gptc_free(t->before);
    gptc_free(t->list);
    gptc_free(t->merges);
    gptc_free(t->mcount);
}

gptc_bpe_train_params gptc_bpe_train_default_params(void) {
    gptc_bpe_train_params p = {0};
    p.vocab_size = 32000;
    p.min_frequency = 2;
    return p;
}

void gptc_bpe_model_free(gptc_bpe_model *m) {
    if (!m) return;
    if (m->tok) gptc_free(m->tok[0]);
    gptc_free(m->tok);
    gptc_free(m->tok_len);
    gptc_free(m->merges);
    gptc_free(m->merge_count);
    if (m->special)
        for (size_t k = 0; k < m->n_special; k++) gptc_free(m->special[k]);
    gptc_free(m->special);
    gptc_free(m->special_id);
    gptc_free(m);
}

static gptc_status make_model(trainer *t, const gptc_bpe_train_params *prm, gptc_bpe_model **out) {
    gptc_ctx *ctx = t->ctx;
    gptc_bpe_model *m = gptc_calloc(ctx, 1, sizeof *m, "BPE model");
    if (!m) return GPTC_ENOMEM;
    m->n_tokens = t->n_tok;
    m->n_merges = t->n_merges;
    m->n_special = prm->n_special;
    m->tok = gptc_calloc(ctx, t->n_tok, sizeof *m->tok, "BPE model");
    m->tok_len = gptc_alloc(ctx, t->n_tok * sizeof *m->tok_len, "BPE model");
    unsigned char *bytes = gptc_alloc(ctx, t->tb_n, "BPE model");
    m->merges = gptc_alloc(ctx, (t->n_merges + 1) * sizeof *m->merges, "BPE model");
    m->merge_count = gptc_alloc(ctx, (t->n_merges + 1) * sizeof *m->merge_count, "BPE model");
    m->special = gptc_calloc(ctx, prm->n_special + 1, sizeof *m->special, "BPE model");
    m->special_id = gptc_alloc(ctx, (prm->n_special + 1) * sizeof *m->special_id, "BPE model");
    if (!m->tok || !m->tok_len || !bytes || !m->merges || !m->merge_count || !m->special || !m->special_id) {
        if (m->tok) m->tok[0] = bytes;
        else gptc_free(bytes);
        gptc_bpe_model_free(m);
        return GPTC_ENOMEM;
    }
    memcpy(bytes, t->tb, t->tb_n);
    for (size_t i = 0; i < t->n_tok; i++) {
        m->tok[i] = bytes + t->toff[i];
        m->tok_len[i] = t->tlen[i];
    }
    if (t->n_merges) {
        memcpy(m->merges, t->merges, t->n_merges * sizeof *m->merges);
        memcpy(m->merge_count, t->mcount, t->n_merges * sizeof *m->merge_count);
    }
    for (size_t k = 0; k < prm->n_special; k++) {
        size_t n = strlen(prm->special[k]);
        m->special[k] = gptc_alloc(ctx, n + 1, "special token");
        if (!m->special[k]) {
            gptc_bpe_model_free(m);
            return GPTC_ENOMEM;
        }
        memcpy(m->special[k], prm->special[k], n + 1);
        m->special_id[k] = (int32_t)(t->n_tok + k);
    }
    *out = m;
    return GPTC_OK;
}

gptc_status gptc_bpe_train(gptc_ctx *ctx, const gptc_bpe_words *w, const gptc_bpe_train_params *prm,
                           gptc_bpe_model **out) {
    *out = NULL;
    for (size_t k = 0; k < prm->n_special; k++) {
        if (!prm->special[k] || !prm->special[k][0])
            return gptc_fail(ctx, GPTC_EINVAL, "special token %zu is empty", k);
        for (size_t j = 0; j < k; j++)
            if (strcmp(prm->special[j], prm->special[k]) == 0)
                return gptc_fail(ctx, GPTC_EINVAL, "special token '%s' given twice", prm->special[k]);
    }
    if (prm->vocab_size < 256 + prm->n_special || prm->vocab_size > INT32_MAX)
        return gptc_fail(ctx, GPTC_EINVAL,
                         "vocab size %zu: must be at least 256 (the bytes) + %zu (special tokens) and below 2^31",
                         prm->vocab_size, prm->n_special);
    if (gptc_bpe_words_n_total(w) == 0)
        return gptc_fail(ctx, GPTC_EINVAL, "no text to train on (the input is empty)");
    trainer t;
    memset(&t, 0, sizeof t);
    t.ctx = ctx;
    t.min_freq = prm->min_frequency ? prm->min_frequency : 1;
    int32_t byte_id[256];
    int early = 0;
    gptc_status st = setup(&t, w, byte_id);
    if (!st) st = train_loop(&t, prm->vocab_size - prm->n_special, prm, &early);
    if (!st) st = make_model(&t, prm, out);
    if (!st) (*out)->stopped_early = early;
    trainer_free(&t);
    return st;
}

gptc_status gptc_bpe_model_write(gptc_ctx *ctx, const gptc_bpe_model *m, const char *dir) {
    gptc_bpe_spec spec = {
        .n_tokens = m->n_tokens,
        .tok = (const unsigned char *const *)m->tok,
        .tok_len = m->tok_len,
        .n_merges = m->n_merges,
        .merges = (const int32_t(*)[2])m->merges,
        .n_special = m->n_special,
        .special = (const char *const *)m->special,
        .special_id = m->special_id,
    };
    return gptc_bpe_write_hf(ctx, dir, &spec);
}
