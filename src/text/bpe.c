/* bpe.c: byte-level BPE encoding (tiktoken-exact): the vocabulary and merge hash
 * tables, the merge loops, special tokens and the parallel split of big inputs.
 * Decoding is in bpe_decode.c, reading files in bpe_load.c, writing in bpe_save.c. */
#define _GNU_SOURCE /* memmem */
#include "bpe.h"
#include "utf8.h"
#include "wordpiece.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define EMPTY64 UINT64_MAX
#define NO_PRIO UINT32_MAX
#define SMALL_PIECE 48        /* pieces up to this many bytes merge by linear scan */
#define CACHE_PIECE_MAX 256   /* longer pieces are not cached */
#define CACHE_MAX_ENTRIES (1u << 20)
#define PAR_MIN_BYTES (1u << 20) /* inputs from this size encode on several threads */
#define RECENT_MIN_BYTES (1u << 14) /* inputs from this size get a recent-piece cache */

/* ------------------------------------------------------------------ hashing */

static inline uint64_t hash_pair(uint64_t key) {
    key *= 0x9E3779B97F4A7C15ull;
    return key ^ (key >> 29);
}

static size_t table_size(size_t n) {
    size_t s = 64;
    while (s < n * 2 + 1) s <<= 1;
    return s;
}

/* ------------------------------------------------------------------ building */
gptc_status gptc_tok_alloc(gptc_ctx *ctx, size_t n_vocab, size_t blob_hint, gptc_tokenizer **out) {
    *out = NULL;
    if (n_vocab == 0 || n_vocab > (1u << 24))
        return gptc_fail(ctx, GPTC_EFORMAT, "vocabulary size %zu out of range (1..16777216)", n_vocab);
    gptc_tokenizer *t = gptc_calloc(ctx, 1, sizeof *t, "tokenizer");
    if (!t) return GPTC_ENOMEM;
    t->n_vocab = n_vocab;
    t->kind = gptc_calloc(ctx, n_vocab, 1, "token kinds");
    t->tstart = gptc_calloc(ctx, n_vocab, sizeof *t->tstart, "token offsets");
    t->tlen = gptc_calloc(ctx, n_vocab, sizeof *t->tlen, "token lengths");
    t->blob_cap = blob_hint < 4096 ? 4096 : blob_hint;
    t->blob = gptc_alloc(ctx, t->blob_cap, "token bytes");
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    if (!t->kind || !t->tstart || !t->tlen || !t->blob) {
        gptc_tokenizer_free(t);
        return GPTC_ENOMEM;
    }
    *out = t;
    return GPTC_OK;
}

gptc_status gptc_tok_set(gptc_ctx *ctx, gptc_tokenizer *t, size_t id, const unsigned char *bytes,
                         size_t len, int kind, const char *what) {
    if (id >= t->n_vocab) return gptc_fail(ctx, GPTC_EFORMAT, "%s: id %zu out of range", what, id);
    if (t->kind[id] != GPTC_TOK_HOLE) return gptc_fail(ctx, GPTC_EFORMAT, "%s: duplicate id %zu", what, id);
    if (len == 0) return gptc_fail(ctx, GPTC_EFORMAT, "%s: id %zu has an empty token", what, id);
    if (len > GPTC_TOKEN_MAX_BYTES) return gptc_fail(ctx, GPTC_EFORMAT, "%s: id %zu: token of %zu bytes is too long", what, id, len);
    if (t->blob_len + len > t->blob_cap) {
        size_t cap = t->blob_cap * 2;
        while (cap < t->blob_len + len) cap *= 2;
        if (cap > UINT32_MAX) return gptc_fail(ctx, GPTC_EFORMAT, "%s: tokens exceed 4 GiB", what);
        unsigned char *nb = gptc_alloc(ctx, cap, "token bytes");
        if (!nb) return GPTC_ENOMEM;
        memcpy(nb, t->blob, t->blob_len);
        gptc_free(t->blob);
        t->blob = nb;
        t->blob_cap = cap;
    }
    memcpy(t->blob + t->blob_len, bytes, len);
    t->tstart[id] = (uint32_t)t->blob_len;
    t->tlen[id] = (uint32_t)len;
    t->blob_len += len;
    t->kind[id] = (uint8_t)kind;
    return GPTC_OK;
}

/* n bytes equal: 8 at a time (tokens are short; a call to memcmp costs more) */
static inline int same_bytes(const unsigned char *a, const unsigned char *b, size_t n) {
    for (; n >= 8; a += 8, b += 8, n -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
    }
    for (; n; n--)
        if (*a++ != *b++) return 0;
    return 1;
}

/* The first min(len, 8) bytes of p as a little-endian word, zero-padded; reads only
 * p[0, len). */
static inline uint64_t load_lo(const unsigned char *p, size_t len) {
    uint64_t w;
    if (len >= 8) {
        memcpy(&w, p, 8);
        return w;
    }
    if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + len - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << (8 * (len - 4)); /* the overlap holds equal bytes */
    }
    if (len == 0) return 0;
    return (uint64_t)p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) | (uint64_t)p[len - 1] << (8 * (len - 1));
}

/* A piece's key: its first 8 bytes (w0), the next 8 (w1, zero-padded; 0 past 16 bytes
 * too) and a hash of all of it. The vocabulary table uses the low bits of the hash, the
 * encoder's recent-piece cache the high ones. */
typedef struct piece_key {
    uint64_t w0, w1, h;
} piece_key;

static inline __attribute__((always_inline)) piece_key key_of(const unsigned char *p, size_t len) {
    piece_key k;
    k.w0 = load_lo(p, len);
    k.w1 = len > 8 && len <= 16 ? load_lo(p + 8, len - 8) : 0;
    uint64_t h = (k.w0 ^ len * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    if (len > 8) h ^= (len <= 16 ? k.w1 : gptc_hash_bytes(p + 8, len - 8)) * 0x94D049BB133111EBull;
    h ^= h >> 31;
    h *= 0xD6E8FEB86659FD93ull;
    k.h = h ^ (h >> 32);
    return k;
}

/* The ordinary token with these bytes and key, or -1. */
static inline int32_t lookup_k(const gptc_tokenizer *t, const unsigned char *bytes, size_t len, piece_key k) {
    for (size_t i = k.h & t->vmask;; i = (i + 1) & t->vmask) {
        const gptc_vent *e = &t->vtab[i];
        if (!e->len) return -1;
        if (e->w == k.w0 && e->len == len &&
            (len <= 8 || same_bytes(t->blob + t->tstart[e->id] + 8, bytes + 8, len - 8)))
            return e->id;
    }
}

int32_t gptc_tok_lookup(const gptc_tokenizer *t, const unsigned char *bytes, size_t len) {
    if (len > t->max_tok_len || len == 0) return -1;
    return lookup_k(t, bytes, len, key_of(bytes, len));
}

gptc_status gptc_tok_build_vocab(gptc_ctx *ctx, gptc_tokenizer *t, const char *what) {
    size_t n_ord = 0, n_spec = 0;
    t->max_tok_len = 0;
    for (size_t i = 0; i < t->n_vocab; i++) {
        if (t->kind[i] == GPTC_TOK_ORDINARY) {
            n_ord++;
            if (t->tlen[i] > t->max_tok_len) t->max_tok_len = t->tlen[i];
        } else if (t->kind[i] == GPTC_TOK_SPECIAL) {
            n_spec++;
        }
    }
    size_t sz = table_size(n_ord);
    t->vtab = gptc_calloc(ctx, sz, sizeof *t->vtab, "vocabulary hash table");
    if (!t->vtab) return GPTC_ENOMEM;
    t->vmask = sz - 1;
    for (size_t id = 0; id < t->n_vocab; id++) {
        if (t->kind[id] != GPTC_TOK_ORDINARY) continue;
        const unsigned char *b = t->blob + t->tstart[id];
        size_t len = t->tlen[id];
        int32_t dup = gptc_tok_lookup(t, b, len);
        if (dup >= 0 && t->model != GPTC_TOKENIZER_WORDPIECE)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: ids %d and %zu are the same token (%zu bytes)", what,
                             dup, id, len);
        size_t i = key_of(b, len).h & t->vmask;
        /* WordPiece: a token on two lines of vocab.txt takes the later id (transformers'
         * load_vocab); the earlier one still decodes */
        while (t->vtab[i].len && !(dup >= 0 && t->vtab[i].id == dup)) i = (i + 1) & t->vmask;
        t->vtab[i] = (gptc_vent){.w = load_lo(b, len), .len = (uint32_t)len, .id = (int32_t)id};
        if (len == 1) t->byte_id[b[0]] = (int32_t)id;
    }
    for (int b = 0; b < 256 && t->model == GPTC_TOKENIZER_BPE; b++)
        if (t->byte_id[b] < 0)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: no token for the single byte 0x%02X (byte-level BPE "
                             "needs all 256)", what, b);
    t->special = gptc_alloc(ctx, (n_spec ? n_spec : 1) * sizeof *t->special, "special tokens");
    if (!t->special) return GPTC_ENOMEM;
    t->n_special = 0;
    t->special_has_nl = 0;
    for (size_t id = 0; id < t->n_vocab; id++) {
        if (t->kind[id] != GPTC_TOK_SPECIAL) continue;
        t->special[t->n_special++] = (int32_t)id;
        if (memchr(t->blob + t->tstart[id], '\n', t->tlen[id])) t->special_has_nl = 1;
    }
    return GPTC_OK;
}

static const gptc_pair_ent *pair_find(const gptc_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (size_t i = hash_pair(key) & t->pmask;; i = (i + 1) & t->pmask) {
        const gptc_pair_ent *e = &t->ptab[i];
        if (e->key == key) return e;
        if (e->key == EMPTY64) return NULL;
    }
}

gptc_status gptc_tok_build_pairs(gptc_ctx *ctx, gptc_tokenizer *t, const char *what) {
    size_t sz = table_size(t->n_merges);
    t->ptab = gptc_alloc(ctx, sz * sizeof *t->ptab, "merge table");
    if (!t->ptab) return GPTC_ENOMEM;
    for (size_t i = 0; i < sz; i++) t->ptab[i].key = EMPTY64;
    t->pmask = sz - 1;
    unsigned char *buf = gptc_alloc(ctx, 2 * t->max_tok_len + 1, "merge buffer");
    if (!buf) return GPTC_ENOMEM;
    for (size_t r = 0; r < t->n_merges; r++) {
        int32_t a = t->merges[r][0], b = t->merges[r][1];
        const gptc_pair_ent *dup = pair_find(t, a, b);
        if (dup) {
            gptc_free(buf);
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: merge %zu repeats merge %u", what, r + 1, dup->prio + 1);
        }
        size_t la = t->tlen[a], lb = t->tlen[b];
        memcpy(buf, t->blob + t->tstart[a], la);
        memcpy(buf + la, t->blob + t->tstart[b], lb);
        int32_t res = gptc_tok_lookup(t, buf, la + lb);
        if (res < 0) {
            gptc_free(buf);
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: merge %zu: the merged token is not in the vocabulary",
                             what, r + 1);
        }
        uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
        size_t i = hash_pair(key) & t->pmask;
        while (t->ptab[i].key != EMPTY64) i = (i + 1) & t->pmask;
        t->ptab[i].key = key;
        t->ptab[i].prio = (uint32_t)r;
        t->ptab[i].res = res;
    }
    gptc_free(buf);
    return GPTC_OK;
}

static const char *pattern_of(int patkind) {
    return patkind == GPTC_PATKIND_CL100K ? GPTC_PAT_CL100K
         : patkind == GPTC_PATKIND_O200K  ? GPTC_PAT_O200K
                                          : GPTC_PAT_GPT2;
}

/* The first round of BPE looks at pairs of single bytes: a table of all 65536. */
static gptc_status build_byte_pairs(gptc_ctx *ctx, gptc_tokenizer *t) {
    t->bpair = gptc_alloc(ctx, 65536 * sizeof *t->bpair, "byte pair table");
    if (!t->bpair) return GPTC_ENOMEM;
    for (size_t i = 0; i < 65536; i++) t->bpair[i] = (uint64_t)NO_PRIO << 32;
    if (t->direct) {
        for (size_t id = 0; id < t->n_vocab; id++)
            if (t->kind[id] == GPTC_TOK_ORDINARY && t->tlen[id] == 2) {
                const unsigned char *b = t->blob + t->tstart[id];
                t->bpair[b[0] << 8 | b[1]] = (uint64_t)id << 32 | id;
            }
    } else {
        for (size_t r = 0; r < t->n_merges; r++) {
            int32_t a = t->merges[r][0], b = t->merges[r][1];
            if (t->tlen[a] != 1 || t->tlen[b] != 1) continue;
            size_t i = (size_t)t->blob[t->tstart[a]] << 8 | t->blob[t->tstart[b]];
            t->bpair[i] = (uint64_t)r << 32 | (uint32_t)pair_find(t, a, b)->res;
        }
    }
    return GPTC_OK;
}

gptc_status gptc_tok_finish(gptc_ctx *ctx, gptc_tokenizer *t, const char *what) {
    gptc_status st;
    if (!t->vtab && (st = gptc_tok_build_vocab(ctx, t, what))) return st;
    if (!t->direct && !t->ptab && (st = gptc_tok_build_pairs(ctx, t, what))) return st;
    if (!t->bpair && (st = build_byte_pairs(ctx, t))) return st;
    if (t->patkind == GPTC_PATKIND_REGEX && !t->pattern)
        return gptc_fail(ctx, GPTC_EINTERNAL, "%s: regex pattern kind without a pattern", what);
    st = gptc_pretok_new(ctx, t->patkind == GPTC_PATKIND_REGEX ? t->pattern : pattern_of(t->patkind), &t->pre);
    return st ? gptc_fail_prefix(ctx, st, "%s", what) : GPTC_OK;
}

void gptc_tokenizer_free(gptc_tokenizer *t) {
    if (!t) return;
    gptc_free(t->wp);
    gptc_pretok_free(t->pre);
    gptc_free(t->pattern);
    gptc_free(t->kind);
    gptc_free(t->tstart);
    gptc_free(t->tlen);
    gptc_free(t->blob);
    gptc_free(t->vtab);
    gptc_free(t->bpair);
    gptc_free(t->merges);
    gptc_free(t->ptab);
    gptc_free(t->special);
    gptc_free(t);
}

size_t gptc_tokenizer_n_vocab(const gptc_tokenizer *t) { return t->n_vocab; }

int32_t gptc_tokenizer_special_id(const gptc_tokenizer *t, const char *text) {
    size_t n = strlen(text);
    for (size_t i = 0; i < t->n_special; i++) {
        int32_t id = t->special[i];
        if (t->tlen[id] == n && !memcmp(t->blob + t->tstart[id], text, n)) return id;
    }
    return -1;
}

/* ------------------------------------------------------------------ BPE */
/* The rank of merging parts [s0, s1) and [s1, s2) of piece p with ids a and b. */
static inline uint32_t pair_prio(const gptc_tokenizer *t, const unsigned char *p, size_t s0, size_t s2,
                                 int32_t a, int32_t b, int32_t *res) {
    if (t->direct) {
        int32_t id = gptc_tok_lookup(t, p + s0, s2 - s0);
        *res = id;
        return id < 0 ? NO_PRIO : (uint32_t)id;
    }
    const gptc_pair_ent *e = pair_find(t, a, b);
    if (!e) return NO_PRIO;
    *res = e->res;
    return e->prio;
}

/* Linear scan for the lowest rank, leftmost first: tiktoken's loop, for short pieces. */
static size_t bpe_small(const gptc_tokenizer *t, const unsigned char *p, size_t n, uint32_t max_prio,
                        int32_t *out) {
    uint32_t st[SMALL_PIECE + 1], pr[SMALL_PIECE];
    int32_t id[SMALL_PIECE], rs[SMALL_PIECE];
    size_t m = n;
    for (size_t i = 0; i < n; i++) {
        st[i] = (uint32_t)i;
        id[i] = t->byte_id[p[i]];
    }
    st[n] = (uint32_t)n;
    for (size_t i = 0; i + 1 < m; i++) {
        uint64_t e = t->bpair[p[i] << 8 | p[i + 1]];
        pr[i] = (uint32_t)(e >> 32);
        rs[i] = (int32_t)(uint32_t)e;
        if (pr[i] >= max_prio) pr[i] = NO_PRIO;
    }
    while (m > 1) {
        uint32_t best = NO_PRIO;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (pr[i] < best) {
                best = pr[i];
                bi = i;
            }
        if (best == NO_PRIO) break;
        id[bi] = rs[bi];
        /* drop part bi+1 (short arrays: a loop costs less than a call to memmove) */
        for (size_t j = bi + 1; j < m; j++) st[j] = st[j + 1];
        for (size_t j = bi + 1; j + 1 < m; j++) id[j] = id[j + 1];
        for (size_t j = bi + 1; j + 2 < m; j++) {
            pr[j] = pr[j + 1];
            rs[j] = rs[j + 1];
        }
        m--;
        if (bi + 1 < m) {
            pr[bi] = pair_prio(t, p, st[bi], st[bi + 2], id[bi], id[bi + 1], &rs[bi]);
            if (pr[bi] >= max_prio) pr[bi] = NO_PRIO;
        }
        if (bi > 0) {
            pr[bi - 1] = pair_prio(t, p, st[bi - 1], st[bi + 1], id[bi - 1], id[bi], &rs[bi - 1]);
            if (pr[bi - 1] >= max_prio) pr[bi - 1] = NO_PRIO;
        }
    }
    memcpy(out, id, m * sizeof id[0]);
    return m;
}

/* Min-heap of (rank << 32 | position) over a linked list of parts: O(n log n) for long
 * pieces (a 100 KB run of one character). Stale entries are skipped when popped. */
static void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (h[up] <= v) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = v;
    return top;
}

static size_t bpe_large(gptc_ctx *ctx, const gptc_tokenizer *t, const unsigned char *p, size_t n,
                        uint32_t max_prio, int32_t *out) {
    if (n >= UINT32_MAX) {
        gptc_fail(ctx, GPTC_ERANGE, "piece of %zu bytes is too long", n);
        return 0;
    }
    int32_t *id = gptc_alloc(ctx, n * sizeof *id, "bpe parts");
    uint32_t *nxt = gptc_alloc(ctx, n * sizeof *nxt, "bpe parts");
    uint32_t *prv = gptc_alloc(ctx, n * sizeof *prv, "bpe parts");
    uint64_t *heap = gptc_alloc(ctx, 3 * n * sizeof *heap, "bpe heap");
    size_t m = 0;
    if (!id || !nxt || !prv || !heap) goto done;
    for (size_t i = 0; i < n; i++) {
        id[i] = t->byte_id[p[i]];
        nxt[i] = (uint32_t)(i + 1);
        prv[i] = (uint32_t)i - 1; /* UINT32_MAX for the first */
    }
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t q = (uint32_t)(t->bpair[p[i] << 8 | p[i + 1]] >> 32);
        if (q < max_prio) heap_push(heap, &hn, (uint64_t)q << 32 | i);
    }
    while (hn) {
        uint64_t top = heap_pop(heap, &hn);
        uint32_t q = (uint32_t)(top >> 32), i = (uint32_t)top;
        if (id[i] < 0 || nxt[i] >= n) continue;
        uint32_t j = nxt[i];
        size_t end = nxt[j] < n ? nxt[j] : n;
        int32_t r = -1;
        if (pair_prio(t, p, i, end, id[i], id[j], &r) != q) continue; /* stale */
        id[i] = r;
        id[j] = -1;
        nxt[i] = nxt[j];
        if (nxt[j] < n) prv[nxt[j]] = i;
        if (prv[i] != UINT32_MAX) {
            uint32_t a = prv[i];
            uint32_t qa = pair_prio(t, p, a, end, id[a], id[i], &r);
            if (qa < max_prio) heap_push(heap, &hn, (uint64_t)qa << 32 | a);
        }
        if (nxt[i] < n) {
            uint32_t b = nxt[i];
            size_t e2 = nxt[b] < n ? nxt[b] : n;
            uint32_t qb = pair_prio(t, p, i, e2, id[i], id[b], &r);
            if (qb < max_prio) heap_push(heap, &hn, (uint64_t)qb << 32 | i);
        }
    }
    for (size_t i = 0; i < n; i = nxt[i]) out[m++] = id[i];
done:
    gptc_free(id);
    gptc_free(nxt);
    gptc_free(prv);
    gptc_free(heap);
    return m;
}

size_t gptc_tok_bpe(gptc_ctx *ctx, const gptc_tokenizer *t, const unsigned char *piece, size_t len,
                    uint32_t max_prio, int32_t *out) {
    if (len == 1) {
        out[0] = t->byte_id[piece[0]];
        return 1;
    }
    if (len <= SMALL_PIECE) return bpe_small(t, piece, len, max_prio, out);
    return bpe_large(ctx, t, piece, len, max_prio, out);
}

/* ------------------------------------------------------------------ encode */
/* Per-call state: the output and a cache of pieces that needed BPE (their bytes are
 * copied, so the cache never points into the caller's text). One per thread. */
typedef struct cache_ent {
    uint64_t h;
    uint32_t boff, len, ioff, cnt; /* bytes in cbytes, ids in cids; len 0 = empty */
} cache_ent;

/* The recent-piece cache: direct-mapped by hash, pieces of up to 16 bytes whose BPE gave
 * up to 3 ids (a word and its neighbours: small enough to stay in the L2 cache). */
#define RECENT_BITS 12
#define RECENT_IDS 3
typedef struct recent_ent {
    uint64_t w0, w1;
    uint32_t len; /* 0 = empty */
    int32_t ids[RECENT_IDS]; /* -1 past the last */
} recent_ent;

typedef struct enc {
    gptc_ctx *ctx;
    const gptc_tokenizer *t;
    recent_ent *recent; /* NULL for short inputs (not worth its allocation) */
    int32_t *ids; /* malloc: handed to the caller */
    size_t n, cap;
    cache_ent *ctab;
    size_t cmask, cused;
    unsigned char *cbytes;
    size_t cb_len, cb_cap;
    int32_t *cids;
    size_t ci_len, ci_cap;
    int32_t *tmp; /* BPE output of long pieces */
    size_t tmp_cap;
} enc;

static void enc_release(enc *e) {
    gptc_free(e->recent);
    gptc_free(e->ctab);
    gptc_free(e->cbytes);
    gptc_free(e->cids);
    gptc_free(e->tmp);
}

static int enc_reserve(enc *e, size_t more) {
    if (e->n + more <= e->cap) return GPTC_OK;
    size_t cap = e->cap ? e->cap : 256;
    while (cap < e->n + more) cap *= 2;
    int32_t *p = realloc(e->ids, cap * sizeof *p);
    if (!p) return gptc_fail(e->ctx, GPTC_ENOMEM, "out of memory for %zu token ids", cap);
    e->ids = p;
    e->cap = cap;
    return GPTC_OK;
}

/* Grows a gptc_alloc'ed array to hold need elements (copying); 0 on failure. */
static int grow(gptc_ctx *ctx, void **p, size_t *cap, size_t need, size_t elem, size_t used) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *np = gptc_alloc(ctx, c * elem, "bpe cache");
    if (!np) return 0;
    if (used) memcpy(np, *p, used * elem);
    gptc_free(*p);
    *p = np;
    *cap = c;
    return 1;
}

static const cache_ent *cache_find(const enc *e, uint64_t h, const unsigned char *p, size_t len) {
    if (!e->ctab) return NULL;
    for (size_t i = h & e->cmask;; i = (i + 1) & e->cmask) {
        const cache_ent *c = &e->ctab[i];
        if (!c->len) return NULL;
        if (c->h == h && c->len == len && same_bytes(e->cbytes + c->boff, p, len)) return c;
    }
}

/* Best effort: a full or unallocatable cache only costs speed. */
static void cache_put(enc *e, uint64_t h, const unsigned char *p, size_t len, const int32_t *ids, size_t cnt) {
    if (e->cused >= CACHE_MAX_ENTRIES) return;
    if (!e->ctab || (e->cused + 1) * 2 > e->cmask + 1) {
        size_t sz = e->ctab ? (e->cmask + 1) * 2 : 4096;
        cache_ent *nt = gptc_calloc(NULL, sz, sizeof *nt, "bpe cache");
        if (!nt) return;
        if (e->ctab) {
            for (size_t i = 0; i <= e->cmask; i++) {
                if (!e->ctab[i].len) continue;
                size_t j = e->ctab[i].h & (sz - 1);
                while (nt[j].len) j = (j + 1) & (sz - 1);
                nt[j] = e->ctab[i];
            }
        }
        gptc_free(e->ctab);
        e->ctab = nt;
        e->cmask = sz - 1;
    }
    if (!grow(NULL, (void **)&e->cbytes, &e->cb_cap, e->cb_len + len, 1, e->cb_len) ||
        !grow(NULL, (void **)&e->cids, &e->ci_cap, e->ci_len + cnt, sizeof *e->cids, e->ci_len))
        return;
    size_t i = h & e->cmask;
    while (e->ctab[i].len) i = (i + 1) & e->cmask;
    cache_ent *c = &e->ctab[i];
    c->h = h;
    c->boff = (uint32_t)e->cb_len;
    c->len = (uint32_t)len;
    c->ioff = (uint32_t)e->ci_len;
    c->cnt = (uint32_t)cnt;
    memcpy(e->cbytes + e->cb_len, p, len);
    memcpy(e->cids + e->ci_len, ids, cnt * sizeof *ids);
    e->cb_len += len;
    e->ci_len += cnt;
    e->cused++;
}

static inline void recent_put(enc *e, piece_key k, size_t len, const int32_t *ids, size_t cnt) {
    if (!e->recent || len > 16 || cnt > RECENT_IDS) return;
    recent_ent *r = &e->recent[k.h >> (64 - RECENT_BITS)];
    r->w0 = k.w0;
    r->w1 = k.w1;
    r->len = (uint32_t)len;
    for (size_t i = 0; i < RECENT_IDS; i++) r->ids[i] = i < cnt ? ids[i] : -1;
}

static int enc_piece(void *user, const char *piece, size_t len) {
    enc *e = user;
    const gptc_tokenizer *t = e->t;
    const unsigned char *p = (const unsigned char *)piece;
    if (e->n + RECENT_IDS > e->cap && enc_reserve(e, RECENT_IDS)) return GPTC_ENOMEM;
    if (len == 1) {
        e->ids[e->n++] = t->byte_id[p[0]];
        return GPTC_OK;
    }
    piece_key k = key_of(p, len);
    if (e->recent && len <= 16) {
        const recent_ent *r = &e->recent[k.h >> (64 - RECENT_BITS)];
        if (r->len == len && r->w0 == k.w0 && r->w1 == k.w1) {
            int32_t *o = e->ids + e->n;
            o[0] = r->ids[0];
            o[1] = r->ids[1];
            o[2] = r->ids[2];
            e->n += 1 + (r->ids[1] >= 0) + (r->ids[2] >= 0);
            return GPTC_OK;
        }
    }
    if (t->whole_lookup && len <= t->max_tok_len) {
        int32_t id = lookup_k(t, p, len, k);
        if (id >= 0) {
            e->ids[e->n++] = id;
            recent_put(e, k, len, &id, 1);
            return GPTC_OK;
        }
    }
    int cacheable = len <= CACHE_PIECE_MAX;
    if (cacheable) {
        const cache_ent *c = cache_find(e, k.h, p, len);
        if (c) {
            if (enc_reserve(e, c->cnt)) return GPTC_ENOMEM;
            memcpy(e->ids + e->n, e->cids + c->ioff, c->cnt * sizeof(int32_t));
            recent_put(e, k, len, e->ids + e->n, c->cnt);
            e->n += c->cnt;
            return GPTC_OK;
        }
    }
    if (enc_reserve(e, len)) return GPTC_ENOMEM;
    size_t cnt = gptc_tok_bpe(e->ctx, t, p, len, NO_PRIO, e->ids + e->n);
    if (cnt == 0) return GPTC_ENOMEM;
    if (cacheable) cache_put(e, k.h, p, len, e->ids + e->n, cnt);
    recent_put(e, k, len, e->ids + e->n, cnt);
    e->n += cnt;
    return GPTC_OK;
}

static gptc_status enc_ordinary(enc *e, const char *text, size_t len) {
    if (len == 0) return GPTC_OK;
    const gptc_tokenizer *t = e->t;
    if (t->add_prefix_space && text[0] != ' ') {
        /* Hugging Face's ByteLevel(add_prefix_space): each segment starts with a space. */
        char *buf = gptc_alloc(e->ctx, len + 1, "text with prefix space");
        if (!buf) return GPTC_ENOMEM;
        buf[0] = ' ';
        memcpy(buf + 1, text, len);
        gptc_status st = gptc_pretok_split(e->ctx, t->pre, buf, len + 1, enc_piece, e);
        gptc_free(buf);
        return st;
    }
    return gptc_pretok_split(e->ctx, t->pre, text, len, enc_piece, e);
}

gptc_status gptc_tok_split_special(gptc_ctx *ctx, const gptc_tokenizer *t, const char *text, size_t len,
                                   gptc_status (*seg)(void *user, const char *s, size_t n, size_t off),
                                   gptc_status (*special)(void *user, int32_t id, size_t off), void *user) {
    size_t ns = t->n_special, pos = 0;
    if (ns == 0) return seg(user, text, len, 0);
    size_t next_small[16];
    size_t *next = ns <= 16 ? next_small : gptc_alloc(ctx, ns * sizeof *next, "special token search");
    if (!next) return GPTC_ENOMEM;
    for (size_t k = 0; k < ns; k++) next[k] = (size_t)-2; /* not searched yet */
    gptc_status st = GPTC_OK;
    for (;;) {
        size_t best = SIZE_MAX, bk = 0;
        for (size_t k = 0; k < ns; k++) {
            int32_t id = t->special[k];
            size_t sl = t->tlen[id];
            if (next[k] == (size_t)-2 || (next[k] != SIZE_MAX && next[k] < pos)) {
                const char *f = len - pos >= sl ? memmem(text + pos, len - pos, t->blob + t->tstart[id], sl) : NULL;
                next[k] = f ? (size_t)(f - text) : SIZE_MAX;
            }
            if (next[k] < best || (next[k] == best && best != SIZE_MAX && sl > t->tlen[t->special[bk]])) {
                best = next[k];
                bk = k;
            }
        }
        if (best == SIZE_MAX) {
            st = seg(user, text + pos, len - pos, pos);
            break;
        }
        if ((st = seg(user, text + pos, best - pos, pos))) break;
        if ((st = special(user, t->special[bk], best))) break;
        pos = best + t->tlen[t->special[bk]];
    }
    if (next != next_small) gptc_free(next);
    return st;
}

static gptc_status enc_seg(void *user, const char *s, size_t n, size_t off) {
    (void)off;
    return enc_ordinary(user, s, n);
}

static gptc_status enc_special(void *user, int32_t id, size_t off) {
    (void)off;
    enc *e = user;
    gptc_status st = enc_reserve(e, 1);
    if (!st) e->ids[e->n++] = id;
    return st;
}

static gptc_status enc_text(enc *e, const char *text, size_t len, int allow_special) {
    if (!allow_special) return enc_ordinary(e, text, len);
    return gptc_tok_split_special(e->ctx, e->t, text, len, enc_seg, enc_special, e);
}

/* A split point q of big inputs where the pieces are the same as without the split:
 * "X\nY" with X and Y printable ASCII (Y not '/', which o200k glues to newlines). Then
 * the newline is a piece of its own (or ends the piece before it) under all patterns. */
static size_t safe_split(const char *text, size_t len, size_t from) {
    if (from < 1) from = 1;
    while (from < len) {
        const char *nl = memchr(text + from - 1, '\n', len - (from - 1));
        if (!nl) return len;
        size_t q = (size_t)(nl - text) + 1;
        if (q >= 2 && q < len) {
            unsigned char a = (unsigned char)text[q - 2], b = (unsigned char)text[q];
            if (a > 0x20 && a < 0x7F && b > 0x20 && b < 0x7F && b != '/') return q;
        }
        from = q + 1;
    }
    return len;
}

static gptc_status enc_parallel(gptc_ctx *ctx, const gptc_tokenizer *t, const char *text, size_t len,
                                int allow_special, int nt, int32_t **ids, size_t *n_ids) {
    size_t nch = (size_t)nt * 8;
    if (nch > len / 65536) nch = len / 65536;
    if (nch < 2) nch = 2;
    size_t *cut = gptc_alloc(ctx, (nch + 1) * sizeof *cut, "chunk bounds");
    int32_t **cids = gptc_calloc(ctx, nch, sizeof *cids, "chunk ids");
    size_t *cn = gptc_calloc(ctx, nch, sizeof *cn, "chunk ids");
    enc *es = gptc_calloc(ctx, (size_t)nt, sizeof *es, "thread encoders"); /* a cache per thread */
    gptc_ctx *cs = gptc_calloc(ctx, (size_t)nt, sizeof *cs, "thread contexts");
    gptc_status *sts = gptc_calloc(ctx, (size_t)nt, sizeof *sts, "thread status");
    gptc_status st = GPTC_OK;
    size_t used = 0;
    if (!cut || !cids || !cn || !es || !cs || !sts) {
        st = GPTC_ENOMEM;
        goto done;
    }
    size_t k = 0;
    cut[0] = 0;
    for (size_t c = 1; c < nch; c++) {
        size_t q = safe_split(text, len, c * (len / nch) > cut[k] ? c * (len / nch) : cut[k] + 1);
        if (q >= len) break;
        cut[++k] = q;
    }
    cut[++k] = len;
    used = k;
#pragma omp parallel num_threads(nt)
    {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        enc *e = &es[me];
        cs[me].n_threads = 1;
        cs[me].fail_alloc_after = -1;
        e->ctx = &cs[me];
        e->t = t;
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < used; c++) {
            if (sts[me]) continue;
            e->ids = NULL;
            e->n = e->cap = 0;
            if (!e->recent) e->recent = gptc_calloc(NULL, (size_t)1 << RECENT_BITS, sizeof *e->recent, "bpe cache");
            /* about one id per 3 bytes, as the serial path: no doubling copies */
            sts[me] = enc_reserve(e, (cut[c + 1] - cut[c]) / 3 + 16);
            if (!sts[me]) sts[me] = enc_text(e, text + cut[c], cut[c + 1] - cut[c], allow_special);
            cids[c] = e->ids;
            cn[c] = e->n;
        }
    }
    size_t total = 0;
    for (int i = 0; i < nt; i++)
        if (sts[i] && !st) st = gptc_fail(ctx, sts[i], "%s", cs[i].err);
    for (size_t c = 0; c < used; c++) total += cn[c];
    if (!st) {
        int32_t *out = malloc((total ? total : 1) * sizeof *out);
        if (!out) {
            st = gptc_fail(ctx, GPTC_ENOMEM, "out of memory for %zu token ids", total);
        } else {
            /* copied in parallel: first touch of the output's pages (page faults) is a
             * large part of the cost for big inputs */
            size_t *off = gptc_alloc(ctx, (used + 1) * sizeof *off, "chunk offsets");
            if (off) {
                off[0] = 0;
                for (size_t c = 0; c < used; c++) off[c + 1] = off[c] + cn[c];
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
                for (size_t c = 0; c < used; c++)
                    if (cn[c]) memcpy(out + off[c], cids[c], cn[c] * sizeof *out);
                gptc_free(off);
            } else {
                size_t o = 0;
                for (size_t c = 0; c < used; c++) {
                    if (cn[c]) memcpy(out + o, cids[c], cn[c] * sizeof *out);
                    o += cn[c];
                }
            }
            *ids = out;
            *n_ids = total;
        }
    }
done:
    for (size_t c = 0; c < used; c++) free(cids[c]);
    if (es)
        for (int i = 0; i < nt; i++) enc_release(&es[i]);
    gptc_free(cut);
    gptc_free(cids);
    gptc_free(cn);
    gptc_free(es);
    gptc_free(cs);
    gptc_free(sts);
    return st;
}

gptc_status gptc_tokenizer_encode(gptc_ctx *ctx, const gptc_tokenizer *t, const char *text, size_t len,
                                  int allow_special, int32_t **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!text && len) return gptc_fail(ctx, GPTC_EINVAL, "encode: text is NULL");
    if (t->wp) return gptc_wp_encode(ctx, t, text, len, allow_special, ids, NULL, n_ids);
    int nt = ctx ? ctx->n_threads : 1;
#ifdef _OPENMP
    if (omp_in_parallel()) nt = 1;
#else
    nt = 1;
#endif
    if (nt > 1 && len >= PAR_MIN_BYTES && !t->add_prefix_space && !(allow_special && t->special_has_nl))
        return enc_parallel(ctx, t, text, len, allow_special, nt, ids, n_ids);
    enc e = {.ctx = ctx, .t = t};
    if (len >= RECENT_MIN_BYTES) e.recent = gptc_calloc(NULL, (size_t)1 << RECENT_BITS, sizeof *e.recent, "bpe cache");
    gptc_status st = enc_reserve(&e, len / 3 + 16);
    if (!st) st = enc_text(&e, text, len, allow_special);
    enc_release(&e);
    if (st) {
        free(e.ids);
        return st;
    }
    *ids = e.ids;
    *n_ids = e.n;
    return GPTC_OK;
}
