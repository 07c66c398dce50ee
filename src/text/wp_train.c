/* wp_train.c: WordPiece vocabulary training as Hugging Face tokenizers' WordPieceTrainer
 * (models/wordpiece/trainer.rs: a BpeTrainer with continuing_subword_prefix "##"):
 * words counted after BertNormalizer and BertPreTokenizer; the vocabulary is the special
 * tokens, the alphabet (the most frequent limit_alphabet characters, in code point order),
 * the "##" forms of the characters that continue words, then one token per merge of the
 * most frequent adjacent pair (count >= min_frequency) until vocab_size tokens exist.
 * Tokenizers gives the "##" forms ids in hash-map order of the words (its vocabularies
 * differ between runs where counts tie); here: by the number of distinct words a
 * character continues, then code point (tokenizers' order on average: a character in
 * many words shows up early), equal counts to the pair of smaller ids (tokenizers' own
 * rule on its ids), alphabet ties at the limit kept by smaller code point.
 * docs/tokenizer_training.md. */
#include "../core/core.h"
#include "wordpiece.h"
#include "utf8.h"
#include <stdlib.h>
#include <string.h>

/* Makes room for one more element: *p (n used of *cap, elem bytes each) doubles from
 * first, the new part zeroed. */
static gptc_status grow(gptc_ctx *ctx, void **p, size_t *cap, size_t n, size_t elem, size_t first, const char *what) {
    if (n < *cap) return GPTC_OK;
    size_t nc = *cap ? 2 * *cap : first;
    void *q = gptc_calloc(ctx, nc, elem, what);
    if (!q) return GPTC_ENOMEM;
    if (n) memcpy(q, *p, n * elem);
    gptc_free(*p);
    *p = q;
    *cap = nc;
    return GPTC_OK;
}

/* ---------------------------------------------------------------- string -> id table */
typedef struct strtab {
    char **s;       /* owned strings by id */
    size_t *len;
    size_t n, cap;
    int32_t *slot;  /* open addressing: id or -1 */
    size_t nslot;
} strtab;

static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int32_t st_find(const strtab *t, const void *p, size_t n, size_t *slot) {
    size_t m = t->nslot - 1, i = (size_t)hash_bytes(p, n) & m;
    for (;; i = (i + 1) & m) {
        int32_t id = t->slot[i];
        if (id < 0 || (t->len[id] == n && !memcmp(t->s[id], p, n))) {
            if (slot) *slot = i;
            return id;
        }
    }
}

static gptc_status st_rehash(gptc_ctx *ctx, strtab *t, size_t nslot) {
    int32_t *ns = gptc_alloc(ctx, nslot * sizeof *ns, "WordPiece trainer table");
    if (!ns) return GPTC_ENOMEM;
    for (size_t i = 0; i < nslot; i++) ns[i] = -1;
    gptc_free(t->slot);
    t->slot = ns;
    t->nslot = nslot;
    for (size_t id = 0; id < t->n; id++) {
        size_t sl;
        st_find(t, t->s[id], t->len[id], &sl);
        t->slot[sl] = (int32_t)id;
    }
    return GPTC_OK;
}

/* Id of the string, added when new (*added = 1). */
static gptc_status st_add(gptc_ctx *ctx, strtab *t, const void *p, size_t n, int32_t *id, int *added) {
    if (added) *added = 0;
    if (!t->nslot || 2 * (t->n + 1) > t->nslot) {
        gptc_status s = st_rehash(ctx, t, t->nslot ? 2 * t->nslot : 1024);
        if (s) return s;
    }
    size_t sl;
    int32_t f = st_find(t, p, n, &sl);
    if (f >= 0) {
        *id = f;
        return GPTC_OK;
    }
    if (t->n == t->cap) {
        size_t c1 = t->cap, c2 = t->cap;
        gptc_status s = grow(ctx, (void **)&t->s, &c1, t->n, sizeof *t->s, 1024, "WordPiece trainer table");
        if (!s) s = grow(ctx, (void **)&t->len, &c2, t->n, sizeof *t->len, 1024, "WordPiece trainer table");
        if (s) return s;
        t->cap = c1;
    }
    char *c = gptc_alloc(ctx, n + 1, "WordPiece token");
    if (!c) return GPTC_ENOMEM;
    memcpy(c, p, n);
    c[n] = 0;
    t->s[t->n] = c;
    t->len[t->n] = n;
    t->slot[sl] = (int32_t)t->n;
    *id = (int32_t)t->n++;
    if (added) *added = 1;
    return GPTC_OK;
}

static void st_free(strtab *t) {
    for (size_t i = 0; i < t->n; i++) gptc_free(t->s[i]);
    gptc_free(t->s);
    gptc_free(t->len);
    gptc_free(t->slot);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- trainer */
typedef struct pair_ent {
    int32_t a, b;
    int64_t count;
    uint32_t *words; /* words that held the pair (stale entries are checked on use) */
    size_t nw, cw;
} pair_ent;

typedef struct heap_ent { int64_t count; int32_t a, b; } heap_ent;

struct gptc_wp_trainer {
    gptc_wp_train_params p;
    gptc_wp w;          /* normalizer / pre-tokenizer settings */
    strtab words;       /* distinct words */
    uint64_t *wcount;   /* per word */
    size_t wcap;
    strtab vocab;
    gptc_wp_merge *merges;
    size_t n_merges, cap_merges;
    /* merge state */
    int32_t **sym;      /* per word: symbols */
    size_t *nsym;
    pair_ent *pairs;    /* open addressing on (a, b); count 0 and a = -1: empty */
    size_t npairs, cap_pairs;
    heap_ent *heap;
    size_t nheap, cap_heap;
    uint32_t *stamp;    /* per word: last merge that touched it */
};

void gptc_wp_train_default_params(gptc_wp_train_params *p) {
    memset(p, 0, sizeof *p);
    p->vocab_size = 30000; /* tokenizers' BertWordPieceTokenizer.train defaults */
    p->min_frequency = 2;
    p->limit_alphabet = 1000;
}

gptc_status gptc_wp_trainer_new(gptc_ctx *ctx, const gptc_wp_train_params *p, gptc_wp_trainer **out) {
    *out = NULL;
    if (p->n_special > GPTC_WP_MAX_SPECIAL)
        return gptc_fail(ctx, GPTC_EINVAL, "WordPiece training: at most %d special tokens", GPTC_WP_MAX_SPECIAL);
    for (size_t i = 0; i < p->n_special; i++)
        if (!p->special[i] || !p->special[i][0] || strpbrk(p->special[i], "\n\r"))
            return gptc_fail(ctx, GPTC_EINVAL, "WordPiece training: special token %zu is empty or holds a line break", i);
    gptc_wp_trainer *t = gptc_calloc(ctx, 1, sizeof *t, "WordPiece trainer");
    if (!t) return GPTC_ENOMEM;
    t->p = *p;
    t->w.clean_text = 1;
    t->w.chinese = 1;
    t->w.strip_accents = -1;
    t->w.lowercase = p->lowercase;
    t->w.max_chars = 100;
    strcpy(t->w.prefix, "##");
    t->w.prefix_len = 2;
    *out = t;
    return GPTC_OK;
}

static gptc_status count_word(void *user, const unsigned char *word, size_t len, size_t nchars) {
    void **u = user;
    gptc_ctx *ctx = u[0];
    gptc_wp_trainer *t = u[1];
    (void)nchars;
    int32_t id;
    int added;
    gptc_status s = st_add(ctx, &t->words, word, len, &id, &added);
    if (s) return s;
    if (added && (s = grow(ctx, (void **)&t->wcount, &t->wcap, (size_t)id, sizeof *t->wcount, 4096, "word counts")))
        return s;
    t->wcount[id]++;
    return GPTC_OK;
}

gptc_status gptc_wp_trainer_feed(gptc_ctx *ctx, gptc_wp_trainer *t, const char *text, size_t len) {
    void *u[2] = {ctx, t};
    return gptc_wp_words(ctx, &t->w, text, len, count_word, u);
}

/* -------- pairs */
static size_t pair_slot(const gptc_wp_trainer *t, int32_t a, int32_t b) {
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    size_t m = t->cap_pairs - 1, i = (size_t)k & m;
    while (t->pairs[i].a >= 0 && (t->pairs[i].a != a || t->pairs[i].b != b)) i = (i + 1) & m;
    return i;
}

static gptc_status pairs_grow(gptc_ctx *ctx, gptc_wp_trainer *t) {
    size_t oc = t->cap_pairs, nc = oc ? 2 * oc : 1 << 14;
    pair_ent *old = t->pairs, *np = gptc_alloc(ctx, nc * sizeof *np, "WordPiece pairs");
    if (!np) return GPTC_ENOMEM;
    for (size_t i = 0; i < nc; i++) np[i] = (pair_ent){.a = -1, .b = -1};
    t->pairs = np;
    t->cap_pairs = nc;
    for (size_t i = 0; i < oc; i++)
        if (old[i].a >= 0) t->pairs[pair_slot(t, old[i].a, old[i].b)] = old[i];
    gptc_free(old);
    return GPTC_OK;
}

static gptc_status pair_get(gptc_ctx *ctx, gptc_wp_trainer *t, int32_t a, int32_t b, pair_ent **out) {
    if (2 * (t->npairs + 1) > t->cap_pairs) {
        gptc_status s = pairs_grow(ctx, t);
        if (s) return s;
    }
    size_t i = pair_slot(t, a, b);
    if (t->pairs[i].a < 0) {
        t->pairs[i] = (pair_ent){.a = a, .b = b};
        t->npairs++;
    }
    *out = &t->pairs[i];
    return GPTC_OK;
}

static const pair_ent *pair_find(const gptc_wp_trainer *t, int32_t a, int32_t b) {
    size_t i = pair_slot(t, a, b);
    return t->pairs[i].a < 0 ? NULL : &t->pairs[i];
}

/* -------- heap: the largest count first, then the smaller (a, b) */
static int heap_before(const heap_ent *x, const heap_ent *y) {
    if (x->count != y->count) return x->count > y->count;
    return x->a != y->a ? x->a < y->a : x->b < y->b;
}

static gptc_status heap_push(gptc_ctx *ctx, gptc_wp_trainer *t, heap_ent e) {
    gptc_status s = grow(ctx, (void **)&t->heap, &t->cap_heap, t->nheap, sizeof *t->heap, 1 << 14, "WordPiece heap");
    if (s) return s;
    size_t i = t->nheap++;
    while (i && heap_before(&e, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = e;
    return GPTC_OK;
}

static heap_ent heap_pop(gptc_wp_trainer *t) {
    heap_ent top = t->heap[0], last = t->heap[--t->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->nheap) break;
        if (c + 1 < t->nheap && heap_before(&t->heap[c + 1], &t->heap[c])) c++;
        if (!heap_before(&t->heap[c], &last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->nheap) t->heap[i] = last;
    return top;
}

/* The top entry with its current count (stale entries re-queued with their count, as
 * tokenizers' trainer does); 0 when no pair is left. */
static gptc_status heap_top(gptc_ctx *ctx, gptc_wp_trainer *t, heap_ent *out) {
    while (t->nheap) {
        heap_ent e = t->heap[0];
        const pair_ent *p = pair_find(t, e.a, e.b);
        int64_t c = p ? p->count : 0;
        if (c == e.count) {
            *out = e;
            return GPTC_OK;
        }
        heap_pop(t);
        if (c > 0) {
            e.count = c;
            gptc_status s = heap_push(ctx, t, e);
            if (s) return s;
        }
    }
    out->count = 0;
    return GPTC_OK;
}

/* Adds d * count of word w to every adjacent pair of its symbols; new words go to the
 * pairs' lists, pairs that grew to the heap. */
static gptc_status word_pairs(gptc_ctx *ctx, gptc_wp_trainer *t, uint32_t w, int64_t d) {
    int64_t c = (int64_t)t->wcount[w] * d;
    for (size_t i = 0; i + 1 < t->nsym[w]; i++) {
        pair_ent *p;
        gptc_status s = pair_get(ctx, t, t->sym[w][i], t->sym[w][i + 1], &p);
        if (s) return s;
        p->count += c;
        if (d > 0) {
            if (!p->nw || p->words[p->nw - 1] != w) {
                if ((s = grow(ctx, (void **)&p->words, &p->cw, p->nw, sizeof *p->words, 4, "WordPiece pair words"))) return s;
                p->words[p->nw++] = w;
            }
        }
    }
    return GPTC_OK;
}

static gptc_status push_grown(gptc_ctx *ctx, gptc_wp_trainer *t, uint32_t w, int32_t c) {
    for (size_t i = 0; i + 1 < t->nsym[w]; i++) {
        int32_t a = t->sym[w][i], b = t->sym[w][i + 1];
        if (a != c && b != c) continue;
        const pair_ent *p = pair_find(t, a, b);
        gptc_status s = heap_push(ctx, t, (heap_ent){p->count, a, b});
        if (s) return s;
    }
    return GPTC_OK;
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

typedef struct char_count { uint32_t cp; uint64_t n; } char_count;
static int by_count_then_cp_desc(const void *x, const void *y) {
    const char_count *a = x, *b = y;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    return a->cp > b->cp ? -1 : a->cp < b->cp;
}

static int by_count_desc_then_cp(const void *x, const void *y) {
    const char_count *a = x, *b = y;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return a->cp < b->cp ? -1 : a->cp > b->cp;
}

static gptc_status add_merge(gptc_ctx *ctx, gptc_wp_trainer *t, int32_t tok, int64_t count, int unique) {
    gptc_status s = grow(ctx, (void **)&t->merges, &t->cap_merges, t->n_merges, sizeof *t->merges, 1024, "WordPiece merges");
    if (s) return s;
    t->merges[t->n_merges++] = (gptc_wp_merge){tok, (uint64_t)count, unique};
    return GPTC_OK;
}

gptc_status gptc_wp_trainer_train(gptc_ctx *ctx, gptc_wp_trainer *t) {
    gptc_status s = GPTC_OK;
    size_t nw = t->words.n;
    int32_t id;
    /* 1. special tokens */
    for (size_t i = 0; i < t->p.n_special && !s; i++) s = st_add(ctx, &t->vocab, t->p.special[i], strlen(t->p.special[i]), &id, NULL);
    /* 2. the alphabet: characters weighted by their words' counts */
    uint32_t *cps = NULL;
    char_count *cc = NULL;
    size_t ncp = 0, total_chars = 0;
    for (size_t w = 0; w < nw; w++) total_chars += t->words.len[w];
    if (!s) {
        cps = gptc_alloc(ctx, (total_chars + 1) * sizeof *cps, "alphabet");
        if (!cps) s = GPTC_ENOMEM;
    }
    for (size_t w = 0; w < nw && !s; w++) {
        const unsigned char *p = (const unsigned char *)t->words.s[w];
        for (size_t i = 0, n = t->words.len[w]; i < n;) {
            size_t adv = 1;
            int cp = gptc_utf8_next(p + i, n - i, &adv);
            cps[ncp++] = (uint32_t)(cp < 0 ? 0xFFFD : cp);
            i += adv;
        }
    }
    size_t nd = 0;
    if (!s) {
        /* distinct characters with their counts: sort a copy with the word counts beside */
        cc = gptc_alloc(ctx, (ncp + 1) * sizeof *cc, "alphabet");
        if (!cc) s = GPTC_ENOMEM;
    }
    if (!s) {
        size_t k = 0;
        for (size_t w = 0; w < nw; w++) {
            const unsigned char *p = (const unsigned char *)t->words.s[w];
            for (size_t i = 0, n = t->words.len[w]; i < n;) {
                size_t adv = 1;
                gptc_utf8_next(p + i, n - i, &adv);
                cc[k].cp = cps[k];
                cc[k].n = t->wcount[w];
                k++;
                i += adv;
            }
        }
        qsort(cc, ncp, sizeof *cc, cmp_u32); /* cp is the first member: sorts by code point */
        for (size_t i = 0; i < ncp; i++) {
            if (nd && cc[nd - 1].cp == cc[i].cp) cc[nd - 1].n += cc[i].n;
            else cc[nd++] = cc[i];
        }
        size_t drop = t->p.limit_alphabet && nd > t->p.limit_alphabet ? nd - t->p.limit_alphabet : 0;
        if (drop) {
            qsort(cc, nd, sizeof *cc, by_count_then_cp_desc);
            memmove(cc, cc + drop, (nd - drop) * sizeof *cc);
            nd -= drop;
            qsort(cc, nd, sizeof *cc, cmp_u32);
        }
        for (size_t i = 0; i < nd && !s; i++) {
            unsigned char b[8];
            size_t n = (size_t)gptc_utf8_put(b, (int)cc[i].cp);
            s = st_add(ctx, &t->vocab, b, n, &id, NULL);
        }
    }
    /* 3. words as symbols: a character outside the alphabet is dropped; a continuing one
     * is its "##" form, those forms added in code point order */
    if (!s) {
        t->sym = gptc_calloc(ctx, nw + 1, sizeof *t->sym, "WordPiece words");
        t->nsym = gptc_calloc(ctx, nw + 1, sizeof *t->nsym, "WordPiece words");
        t->stamp = gptc_calloc(ctx, nw + 1, sizeof *t->stamp, "WordPiece words");
        if (!t->sym || !t->nsym || !t->stamp) s = GPTC_ENOMEM;
    }
    /* per alphabet char: the distinct words it continues (cont), the last word counted
     * (seen), and the chars in the order their "##" forms take ids */
    size_t *cont = NULL, *seen = NULL;
    char_count *order = NULL;
    if (!s && (!(cont = gptc_calloc(ctx, nd + 1, sizeof *cont, "alphabet")) ||
               !(seen = gptc_calloc(ctx, nd + 1, sizeof *seen, "alphabet")) ||
               !(order = gptc_calloc(ctx, nd + 1, sizeof *order, "alphabet"))))
        s = GPTC_ENOMEM;
    for (int pass = 0; pass < 2 && !s; pass++) {
        if (pass == 1) {
            size_t no = 0;
            for (size_t i = 0; i < nd; i++)
                if (cont[i]) order[no++] = (char_count){cc[i].cp, cont[i]};
            qsort(order, no, sizeof *order, by_count_desc_then_cp);
            for (size_t k = 0; k < no && !s; k++) {
                unsigned char b[12] = "##";
                size_t n = 2 + (size_t)gptc_utf8_put(b + 2, (int)order[k].cp);
                s = st_add(ctx, &t->vocab, b, n, &id, NULL);
            }
        }
        for (size_t w = 0, k = 0; w < nw && !s; w++) {
            const unsigned char *p = (const unsigned char *)t->words.s[w];
            size_t n = t->words.len[w], m = 0;
            if (pass == 1 && !(t->sym[w] = gptc_alloc(ctx, (n + 1) * sizeof **t->sym, "WordPiece words"))) {
                s = GPTC_ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; k++) {
                size_t adv = 1, lo = 0, hi = nd;
                gptc_utf8_next(p + i, n - i, &adv);
                uint32_t cp = cps[k];
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (cc[mid].cp < cp) lo = mid + 1;
                    else hi = mid;
                }
                int known = lo < nd && cc[lo].cp == cp;
                if (known && pass == 0 && i && seen[lo] != w + 1) {
                    seen[lo] = w + 1;
                    cont[lo]++;
                }
                if (known && pass == 1) {
                    unsigned char b[12] = "##";
                    size_t bn = (size_t)gptc_utf8_put(b + 2, (int)cp);
                    t->sym[w][m++] = i ? st_find(&t->vocab, b, bn + 2, NULL) : st_find(&t->vocab, b + 2, bn, NULL);
                }
                i += adv;
            }
            if (pass == 1) t->nsym[w] = m;
        }
    }
    gptc_free(cps);
    gptc_free(cc);
    gptc_free(cont);
    gptc_free(seen);
    gptc_free(order);
    /* 4. pair counts, then merges */
    for (size_t w = 0; w < nw && !s; w++) s = word_pairs(ctx, t, (uint32_t)w, 1);
    for (size_t i = 0; i < t->cap_pairs && !s; i++)
        if (t->pairs[i].a >= 0 && t->pairs[i].count > 0)
            s = heap_push(ctx, t, (heap_ent){t->pairs[i].count, t->pairs[i].a, t->pairs[i].b});
    unsigned char *buf = NULL;
    size_t bcap = 0;
    for (uint32_t step = 1; !s && t->vocab.n < t->p.vocab_size; step++) {
        heap_ent top;
        if ((s = heap_top(ctx, t, &top)) || top.count < 1 || (uint64_t)top.count < t->p.min_frequency) break;
        heap_pop(t);
        heap_ent next;
        if ((s = heap_top(ctx, t, &next))) break;
        int unique = next.count < top.count;
        /* the new token: a + b without b's prefix */
        const char *sa = t->vocab.s[top.a], *sb = t->vocab.s[top.b];
        size_t la = t->vocab.len[top.a], lb = t->vocab.len[top.b];
        if (lb >= 2 && !memcmp(sb, "##", 2)) sb += 2, lb -= 2;
        if (la + lb + 1 > bcap) {
            gptc_free(buf);
            bcap = 2 * (la + lb + 1);
            if (!(buf = gptc_alloc(ctx, bcap, "WordPiece token"))) {
                s = GPTC_ENOMEM;
                break;
            }
        }
        memcpy(buf, sa, la);
        memcpy(buf + la, sb, lb);
        int32_t c;
        if ((s = st_add(ctx, &t->vocab, buf, la + lb, &c, NULL)) || (s = add_merge(ctx, t, c, top.count, unique))) break;
        /* every word holding (a, b): its pairs out, the merge, its pairs back in */
        pair_ent *pe;
        if ((s = pair_get(ctx, t, top.a, top.b, &pe))) break;
        size_t nlist = pe->nw;
        uint32_t *list = pe->words;
        pe->words = NULL;
        pe->nw = pe->cw = 0;
        for (size_t k = 0; k < nlist && !s; k++) {
            uint32_t w = list[k];
            if (t->stamp[w] == step) continue;
            t->stamp[w] = step;
            int32_t *y = t->sym[w];
            size_t n = t->nsym[w], j = 0;
            int has = 0;
            for (size_t i = 0; i + 1 < n && !has; i++) has = y[i] == top.a && y[i + 1] == top.b;
            if (!has) continue;
            if ((s = word_pairs(ctx, t, w, -1))) break;
            for (size_t i = 0; i < n; i++) {
                if (i + 1 < n && y[i] == top.a && y[i + 1] == top.b) {
                    y[j++] = c;
                    i++;
                } else {
                    y[j++] = y[i];
                }
            }
            t->nsym[w] = j;
            if (!(s = word_pairs(ctx, t, w, 1))) s = push_grown(ctx, t, w, c);
        }
        gptc_free(list);
    }
    gptc_free(buf);
    return s;
}

size_t gptc_wp_trainer_vocab(const gptc_wp_trainer *t, const char *const **tokens) {
    *tokens = (const char *const *)t->vocab.s;
    return t->vocab.n;
}

size_t gptc_wp_trainer_merges(const gptc_wp_trainer *t, const gptc_wp_merge **m) {
    *m = t->merges;
    return t->n_merges;
}

size_t gptc_wp_trainer_words(const gptc_wp_trainer *t) { return t->words.n; }

void gptc_wp_trainer_free(gptc_wp_trainer *t) {
    if (!t) return;
    for (size_t w = 0; t->sym && w < t->words.n; w++) gptc_free(t->sym[w]);
    gptc_free(t->sym);
    st_free(&t->words);
    st_free(&t->vocab);
    gptc_free(t->wcount);
    gptc_free(t->merges);
    gptc_free(t->nsym);
    gptc_free(t->stamp);
    for (size_t i = 0; i < t->cap_pairs; i++) gptc_free(t->pairs[i].words);
    gptc_free(t->pairs);
    gptc_free(t->heap);
    gptc_free(t);
}

gptc_status gptc_wp_trainer_save(gptc_ctx *ctx, const gptc_wp_trainer *t, const char *dir) {
    char p[4200];
    gptc_status s = gptc_mkdirs(ctx, dir);
    size_t total = 1;
    for (size_t i = 0; i < t->vocab.n; i++) total += t->vocab.len[i] + 1;
    char *txt = s ? NULL : gptc_alloc(ctx, total, "vocab.txt");
    if (!s && !txt) s = GPTC_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; !s && i < t->vocab.n; i++) {
        memcpy(txt + o, t->vocab.s[i], t->vocab.len[i]);
        o += t->vocab.len[i];
        txt[o++] = '\n';
    }
    if (!s && !(s = gptc_path_join(ctx, p, sizeof p, dir, "vocab.txt"))) {
        gptc_iovec part = {txt, o};
        s = gptc_file_write_atomic(ctx, p, &part, 1);
    }
    gptc_free(txt);
    /* BertTokenizer's settings; loading them back and saving writes tokenizer.json,
     * special_tokens_map.json and the full tokenizer_config.json as gptc writes any BERT's */
    char cfg[160];
    int n = snprintf(cfg, sizeof cfg, "{\"do_lower_case\": %s, \"tokenizer_class\": \"BertTokenizer\"}\n",
                     t->p.lowercase ? "true" : "false");
    if (!s && !(s = gptc_path_join(ctx, p, sizeof p, dir, "tokenizer_config.json"))) {
        gptc_iovec part = {cfg, (size_t)n};
        s = gptc_file_write_atomic(ctx, p, &part, 1);
    }
    gptc_tokenizer *tok = NULL;
    if (!s) s = gptc_tokenizer_load(ctx, dir, &tok);
    if (!s) s = gptc_tokenizer_save(ctx, tok, dir);
    gptc_tokenizer_free(tok);
    return s;
}
