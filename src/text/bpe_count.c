/* bpe_count.c: the word counts BPE training starts from (see bpe_train.h): a hash map
 * piece -> count, filled by pre-tokenizing memory-mapped text with GPT-2's pattern on
 * OpenMP threads (one map per thread, merged at the end). Merging is bpe_train.c's. */
#define _GNU_SOURCE
#include "../core/core.h"
#include "../core/core.h"
#include "pretok.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct wentry {
    uint64_t key;   /* len <= 8: the bytes themselves (zero padded); else offset in the arena */
    uint64_t count;
    uint32_t len;
    uint32_t hash;
} wentry;

struct gptc_bpe_words {
    unsigned char *bytes;
    size_t n_bytes, cap_bytes;
    wentry *ent;
    size_t n, cap;
    uint32_t *slot; /* entry index + 1; 0 = empty */
    size_t mask;
    uint64_t total;
};

static int grow_bytes(gptc_ctx *ctx, void **p, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need) {
        if (c > SIZE_MAX / 4) return -1;
        c *= 2;
    }
    size_t bytes;
    if (!gptc_mul_ok(c, elem, &bytes)) return -1;
    void *np = gptc_alloc(ctx, bytes, what);
    if (!np) return -1;
    if (*cap) memcpy(np, *p, *cap * elem);
    gptc_free(*p);
    *p = np;
    *cap = c;
    return 0;
}

gptc_status gptc_bpe_words_new(gptc_ctx *ctx, gptc_bpe_words **out) {
    *out = NULL;
    gptc_bpe_words *w = gptc_calloc(ctx, 1, sizeof *w, "word counts");
    if (!w) return GPTC_ENOMEM;
    w->mask = 4095;
    w->slot = gptc_calloc(ctx, w->mask + 1, sizeof *w->slot, "word counts");
    if (!w->slot) {
        gptc_free(w);
        return GPTC_ENOMEM;
    }
    *out = w;
    return GPTC_OK;
}

void gptc_bpe_words_free(gptc_bpe_words *w) {
    if (!w) return;
    gptc_free(w->bytes);
    gptc_free(w->ent);
    gptc_free(w->slot);
    gptc_free(w);
}

#define INLINE_MAX 8 /* most pieces are short: kept in the entry, compared as one word */

static const unsigned char *ent_bytes(const gptc_bpe_words *w, const wentry *e) {
    return e->len <= INLINE_MAX ? (const unsigned char *)&e->key : w->bytes + e->key;
}

static gptc_status words_add_h(gptc_ctx *ctx, gptc_bpe_words *w, const unsigned char *p, size_t len,
                               uint64_t count, uint32_t h) {
    uint64_t key = 0;
    if (len <= INLINE_MAX) memcpy(&key, p, len);
    size_t i = h & w->mask;
    for (;;) {
        uint32_t e = w->slot[i];
        if (e == 0) break;
        wentry *en = &w->ent[e - 1];
        if (en->hash == h && en->len == len &&
            (len <= INLINE_MAX ? en->key == key : memcmp(w->bytes + en->key, p, len) == 0)) {
            en->count += count;
            w->total += count;
            return GPTC_OK;
        }
        i = (i + 1) & w->mask;
    }
    if (len > UINT32_MAX || w->n >= UINT32_MAX - 1)
        return gptc_fail(ctx, GPTC_ERANGE, "word counts: piece of %zu bytes or more than 2^32 pieces", len);
    if ((len > INLINE_MAX && grow_bytes(ctx, (void **)&w->bytes, &w->cap_bytes, w->n_bytes + len, 1, "word bytes")) ||
        grow_bytes(ctx, (void **)&w->ent, &w->cap, w->n + 1, sizeof *w->ent, "word counts"))
        return gptc_fail(ctx, GPTC_ENOMEM, "out of memory counting words (%zu unique)", w->n);
    if (len > INLINE_MAX) {
        memcpy(w->bytes + w->n_bytes, p, len);
        key = w->n_bytes;
        w->n_bytes += len;
    }
    w->ent[w->n] = (wentry){key, count, (uint32_t)len, h};
    w->slot[i] = (uint32_t)++w->n;
    w->total += count;
    if (2 * w->n > w->mask + 1) {
        size_t cap = 2 * (w->mask + 1);
        uint32_t *ns = gptc_calloc(ctx, cap, sizeof *ns, "word counts");
        if (!ns) return GPTC_ENOMEM;
        gptc_free(w->slot);
        w->slot = ns;
        w->mask = cap - 1;
        for (size_t k = 0; k < w->n; k++) {
            size_t j = w->ent[k].hash & w->mask;
            while (w->slot[j]) j = (j + 1) & w->mask;
            w->slot[j] = (uint32_t)(k + 1);
        }
    }
    return GPTC_OK;
}

gptc_status gptc_bpe_words_add(gptc_ctx *ctx, gptc_bpe_words *w, const void *piece, size_t len, uint64_t count) {
    if (len == 0) return gptc_fail(ctx, GPTC_EINVAL, "word counts: empty piece");
    return words_add_h(ctx, w, piece, len, count, (uint32_t)gptc_hash_bytes(piece, len));
}

size_t gptc_bpe_words_n_unique(const gptc_bpe_words *w) { return w->n; }
uint64_t gptc_bpe_words_n_total(const gptc_bpe_words *w) { return w->total; }

void gptc_bpe_words_get(const gptc_bpe_words *w, size_t i, const unsigned char **bytes, size_t *len,
                        uint64_t *count) {
    *bytes = ent_bytes(w, &w->ent[i]);
    *len = w->ent[i].len;
    *count = w->ent[i].count;
}

typedef struct dump_ent {
    const unsigned char *p;
    size_t len;
    uint64_t count;
} dump_ent;

static int dump_cmp(const void *x, const void *y) {
    const dump_ent *a = x, *b = y;
    int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

gptc_status gptc_bpe_words_dump(gptc_ctx *ctx, const gptc_bpe_words *w, const char *path) {
    dump_ent *d = gptc_alloc(ctx, (w->n + 1) * sizeof *d, "word dump");
    if (!d) return GPTC_ENOMEM;
    for (size_t i = 0; i < w->n; i++) d[i] = (dump_ent){ent_bytes(w, &w->ent[i]), w->ent[i].len, w->ent[i].count};
    qsort(d, w->n, sizeof *d, dump_cmp);
    gptc_atomic_file af;
    gptc_status st = gptc_atomic_open(ctx, &af, path);
    static const char hex[] = "0123456789abcdef";
    char line[512];
    for (size_t i = 0; i < w->n && !st; i++) {
        size_t n = (size_t)snprintf(line, sizeof line, "%llu\t", (unsigned long long)d[i].count);
        for (size_t j = 0; j < d[i].len && !st; j++) {
            if (n + 3 > sizeof line) {
                st = gptc_atomic_write(ctx, &af, line, n);
                n = 0;
            }
            line[n++] = hex[d[i].p[j] >> 4];
            line[n++] = hex[d[i].p[j] & 15];
        }
        line[n++] = '\n';
        if (!st) st = gptc_atomic_write(ctx, &af, line, n);
    }
    if (!st) st = gptc_atomic_commit(ctx, &af);
    else if (af.f) gptc_atomic_abort(&af);
    gptc_free(d);
    return st;
}

/* ---------------------------------------------------------------- cutting text
 * A cut just before a '\n' that follows printable ASCII and precedes a non-white-space character gives the
 * same pieces as the whole text. No piece crosses it: letter, number and other runs
 * hold no white space, and a white-space run W ending at the '\n' is matched in the
 * whole text as W minus its last character ("\s+(?!\S)" backs off one) and then that
 * last character: exactly what the first part (W minus the '\n', at its end) and the
 * second part (starting with the '\n') give. The pattern never looks behind, and bytes
 * that are not UTF-8 before the cut become one piece either way. */
static int is_ws_cp(unsigned cp) {
    return (cp >= 9 && cp <= 13) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* Decodes one valid UTF-8 character at s[0, n): its length, or 0 when invalid. */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp) {
    unsigned c = s[0];
    size_t k;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { k = 1; *cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 2; *cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 3; *cp = c & 0x07; }
    else return 0;
    if (k >= n) return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xC0) != 0x80) return 0;
        *cp = (*cp << 6) | (s[j] & 0x3F);
    }
    if ((k == 2 && *cp < 0x800) || (k == 3 && (*cp < 0x10000 || *cp > 0x10FFFF)) || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return k + 1;
}

/* Before the '\n' of "X\nY", X printable ASCII and Y not whitespace: "\n" is a piece of
 * its own there whether or not a special token follows (after "\n\n", a special token
 * that starts Y would make "\n\n" one piece at the end of its segment). */
static int safe_cut(const unsigned char *t, size_t len, size_t p) {
    unsigned cp;
    size_t k;
    return p > 0 && p + 1 < len && t[p] == '\n' && t[p - 1] > 0x20 && t[p - 1] < 0x7F &&
           (k = utf8_char(t + p + 1, len - p - 1, &cp)) && !is_ws_cp(cp);
}

/* The first safe cut at or after from (len when none). */
static size_t next_cut(const unsigned char *t, size_t len, size_t from) {
    size_t p = from;
    while (p < len) {
        const unsigned char *nl = memchr(t + p, '\n', len - p);
        if (!nl) return len;
        p = (size_t)(nl - t);
        if (safe_cut(t, len, p)) return p;
        p++;
    }
    return len;
}

/* ---------------------------------------------------------------- counting */
typedef struct chunk {
    const unsigned char *text;
    size_t len;
    size_t file;
} chunk;

typedef struct count_state {
    gptc_bpe_words *w;
    gptc_ctx *ctx;
} count_state;

static int on_piece(void *user, const char *piece, size_t len) {
    count_state *cs = user;
    return (int)words_add_h(cs->ctx, cs->w, (const unsigned char *)piece, len, 1,
                            (uint32_t)gptc_hash_bytes((const unsigned char *)piece, len));
}

/* Pre-tokenizes one chunk, cutting out the special tokens first (at each position the
 * earliest occurrence wins, then the longest). */
static gptc_status count_chunk(gptc_ctx *ctx, const gptc_pretok *pt, gptc_bpe_words *w, const chunk *c,
                               const gptc_bpe_count_params *prm) {
    count_state cs = {w, ctx};
    const char *s = (const char *)c->text;
    if (prm->n_special == 0) return gptc_pretok_split(ctx, pt, s, c->len, on_piece, &cs);
    size_t *at = gptc_alloc(ctx, prm->n_special * sizeof *at, "special token search");
    if (!at) return GPTC_ENOMEM;
    for (size_t k = 0; k < prm->n_special; k++) at[k] = SIZE_MAX; /* not searched yet */
    size_t pos = 0;
    gptc_status st = GPTC_OK;
    while (pos < c->len && !st) {
        size_t next = c->len, skip = 0;
        for (size_t k = 0; k < prm->n_special; k++) {
            size_t sl = strlen(prm->special[k]);
            if (at[k] == SIZE_MAX || at[k] < pos) { /* find the next occurrence from pos */
                const char *f = sl ? memmem(s + pos, c->len - pos, prm->special[k], sl) : NULL;
                at[k] = f ? (size_t)(f - s) : c->len;
            }
            if (at[k] < c->len && (at[k] < next || (at[k] == next && sl > skip))) {
                next = at[k];
                skip = sl;
            }
        }
        st = gptc_pretok_split(ctx, pt, s + pos, next - pos, on_piece, &cs);
        pos = next + skip;
    }
    gptc_free(at);
    return st;
}

/* Counts the pieces of the chunks on the threads and merges the per-thread maps into w. */
static gptc_status count_chunks(gptc_ctx *ctx, gptc_bpe_words *w, const chunk *chunks, size_t n_chunks,
                                uint64_t total, const gptc_bpe_count_params *prm, const char *const *paths) {
    gptc_pretok *pt;
    gptc_status st = gptc_pretok_new(ctx, GPTC_PAT_GPT2, &pt);
    if (st) return st;
    int nt = prm->n_threads > 0 ? prm->n_threads : gptc_ctx_n_threads(ctx);
    if (nt < 1) nt = 1;
    if ((size_t)nt > n_chunks) nt = n_chunks ? (int)n_chunks : 1;
    gptc_bpe_words **maps = gptc_calloc(ctx, (size_t)nt, sizeof *maps, "word counts");
    gptc_ctx **ctxs = gptc_calloc(ctx, (size_t)nt, sizeof *ctxs, "word counts");
    gptc_status *sts = gptc_calloc(ctx, (size_t)nt, sizeof *sts, "word counts");
    size_t *bad_chunk = gptc_calloc(ctx, (size_t)nt, sizeof *bad_chunk, "word counts");
    if (!maps || !ctxs || !sts || !bad_chunk) {
        st = GPTC_ENOMEM;
        goto out;
    }
    for (int i = 0; i < nt && !st; i++) {
        if (i == 0) {
            maps[0] = w; /* thread 0 counts straight into the result */
            ctxs[0] = ctx;
            continue;
        }
        ctxs[i] = gptc_ctx_new(NULL);
        if (!ctxs[i]) st = gptc_fail(ctx, GPTC_ENOMEM, "out of memory creating a thread context");
        else st = gptc_bpe_words_new(ctx, &maps[i]);
    }
    if (st) goto out;
    uint64_t done = 0;
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < n_chunks; i++) {
            if (__atomic_load_n(&failed, __ATOMIC_RELAXED)) continue;
            gptc_status s = count_chunk(ctxs[tid], pt, maps[tid], &chunks[i], prm);
            if (s) {
                if (!sts[tid]) {
                    sts[tid] = s;
                    bad_chunk[tid] = i;
                }
                __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
            }
            uint64_t d = __atomic_add_fetch(&done, chunks[i].len, __ATOMIC_RELAXED);
            if (tid == 0 && prm->progress) prm->progress(prm->progress_user, GPTC_BPE_PHASE_COUNT, d, total);
        }
    }
    for (int i = 0; i < nt; i++) {
        if (!sts[i]) continue;
        st = sts[i];
        if (i) gptc_fail(ctx, st, "%s", gptc_errmsg(ctxs[i]));
        if (paths) gptc_fail_prefix(ctx, st, "%s", paths[chunks[bad_chunk[i]].file]);
        goto out;
    }
    for (int i = 1; i < nt && !st; i++) {
        gptc_bpe_words *m = maps[i];
        for (size_t k = 0; k < m->n && !st; k++)
            st = words_add_h(ctx, w, ent_bytes(m, &m->ent[k]), m->ent[k].len, m->ent[k].count, m->ent[k].hash);
    }
out:
    if (maps)
        for (int i = 1; i < nt; i++) gptc_bpe_words_free(maps[i]);
    if (ctxs)
        for (int i = 1; i < nt; i++) gptc_ctx_free(ctxs[i]);
    gptc_free(maps);
    gptc_free(ctxs);
    gptc_free(sts);
    gptc_free(bad_chunk);
    gptc_pretok_free(pt);
    return st;
}

/* Appends the chunks of one text (cut near multiples of chunk_bytes) to *chunks. */
static gptc_status cut_text(gptc_ctx *ctx, const unsigned char *t, size_t len, size_t file, size_t chunk_bytes,
                            chunk **chunks, size_t *n, size_t *cap) {
    size_t pos = 0;
    while (pos < len) {
        size_t end = len - pos > chunk_bytes ? next_cut(t, len, pos + chunk_bytes) : len;
        if (grow_bytes(ctx, (void **)chunks, cap, *n + 1, sizeof **chunks, "text chunks"))
            return gptc_fail(ctx, GPTC_ENOMEM, "out of memory cutting the text into chunks");
        (*chunks)[(*n)++] = (chunk){t + pos, end - pos, file};
        pos = end;
    }
    return GPTC_OK;
}

gptc_status gptc_bpe_words_count_text(gptc_ctx *ctx, gptc_bpe_words *w, const char *text, size_t len,
                                      const gptc_bpe_count_params *prm) {
    size_t cb = prm->chunk_bytes ? prm->chunk_bytes : (size_t)1 << 20, n = 0, cap = 0;
    chunk *chunks = NULL;
    gptc_status st = cut_text(ctx, (const unsigned char *)text, len, 0, cb, &chunks, &n, &cap);
    if (!st) st = count_chunks(ctx, w, chunks, n, len, prm, NULL);
    gptc_free(chunks);
    return st;
}

gptc_status gptc_bpe_words_count_files(gptc_ctx *ctx, gptc_bpe_words *w, const char *const *paths,
                                       size_t n_paths, const gptc_bpe_count_params *prm) {
    size_t cb = prm->chunk_bytes ? prm->chunk_bytes : (size_t)1 << 20, n = 0, cap = 0;
    chunk *chunks = NULL;
    uint64_t total = 0;
    gptc_mapped *maps = gptc_calloc(ctx, n_paths + 1, sizeof *maps, "input files");
    if (!maps) return GPTC_ENOMEM;
    gptc_status st = GPTC_OK;
    for (size_t f = 0; f < n_paths && !st; f++) {
        st = gptc_file_map(ctx, paths[f], &maps[f]);
        if (!st) st = cut_text(ctx, maps[f].data, maps[f].size, f, cb, &chunks, &n, &cap);
        total += maps[f].size;
    }
    if (!st) st = count_chunks(ctx, w, chunks, n, total, prm, paths);
    for (size_t f = 0; f < n_paths; f++) gptc_file_unmap(&maps[f]);
    gptc_free(maps);
    gptc_free(chunks);
    return st;
}
