/* wordpiece.c: WordPiece encoding and decoding as Hugging Face's tokenizers does for BERT
 * (normalizers/bert.rs, pre_tokenizers/bert.rs, models/wordpiece, decoders/wordpiece.rs):
 * each code point goes through clean_text, the CJK split, NFD + dropping Mn (strip
 * accents), lower case, then the pre-tokenizer (split at white space, punctuation alone);
 * each word is matched greedily, longest first, "##" inside a word, [UNK] for a word that
 * does not match or is longer than max_input_chars_per_word. Loading is in
 * wordpiece_load.c; the character tables in wp_unicode_tab.c. */
#include "wordpiece.h"
#include "utf8.h"
#include "wp_unicode.h"

#include <stdlib.h>
#include <string.h>

typedef struct wp_ch {
    uint32_t cp;
    size_t ob, oe; /* the source bytes [ob, oe) it stands for */
    int added;     /* NFD: a second or later part of a decomposition */
} wp_ch;

typedef struct wp_enc {
    gptc_ctx *ctx;
    const gptc_tokenizer *t;
    const gptc_wp *w;
    int strip;
    int32_t *ids; /* malloc: handed to the caller */
    size_t *off;  /* malloc, 2 per id, or NULL when not wanted */
    int want_off;
    size_t n, cap;
    wp_ch *rb; /* NFD: the run of non-starters waiting for canonical ordering */
    size_t rn, rcap;
    size_t *rofs;      /* its first parts' offsets in text order (2 each) */
    size_t last_ob, last_oe; /* the offsets of the last first part passed on */
    unsigned char *wb; /* the current word, normalized, UTF-8 */
    size_t wbn;
    size_t *cpos;      /* per char of the word: start in wb (and cpos[nc] = wbn) */
    size_t *cob, *coe; /* per char: source offsets */
    size_t nc;         /* chars stored: at most max_chars + 1 */
    size_t nchars;     /* chars in the word (may exceed what is stored) */
    size_t w_ob, w_oe;
    unsigned char *sub; /* prefix + a piece of the word */
    gptc_status st;
    gptc_wp_word_fn on_word; /* gptc_wp_words: each word goes there instead of the model */
    void *user;
} wp_enc;

/* ------------------------------------------------------------------ output */
static gptc_status put_id(wp_enc *e, int32_t id, size_t ob, size_t oe) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        int32_t *p = realloc(e->ids, cap * sizeof *p);
        if (!p) return gptc_fail(e->ctx, GPTC_ENOMEM, "out of memory for %zu token ids", cap);
        e->ids = p;
        if (e->want_off) {
            size_t *o = realloc(e->off, 2 * cap * sizeof *o);
            if (!o) return gptc_fail(e->ctx, GPTC_ENOMEM, "out of memory for %zu token offsets", cap);
            e->off = o;
        }
        e->cap = cap;
    }
    e->ids[e->n] = id;
    if (e->want_off) {
        e->off[2 * e->n] = ob;
        e->off[2 * e->n + 1] = oe;
    }
    e->n++;
    return GPTC_OK;
}

/* ------------------------------------------------------------------ WordPiece model */
/* Greedy longest-match-first over the stored word (models/wordpiece/mod.rs tokenize). */
static gptc_status word_end(wp_enc *e) {
    if (e->nchars == 0) return GPTC_OK;
    if (e->on_word) {
        gptc_status s = e->nchars > e->w->max_chars ? GPTC_OK : e->on_word(e->user, e->wb, e->wbn, e->nc);
        e->nchars = e->nc = e->wbn = 0;
        return s;
    }
    const gptc_tokenizer *t = e->t;
    const gptc_wp *w = e->w;
    gptc_status st = GPTC_OK;
    size_t nc = e->nc, n0 = e->n;
    if (e->nchars > w->max_chars) goto unk;
    e->cpos[nc] = e->wbn;
    for (size_t start = 0; start < nc;) {
        size_t pl = start ? w->prefix_len : 0, end = nc;
        int32_t id = -1;
        for (; end > start; end--) {
            size_t len = pl + e->cpos[end] - e->cpos[start];
            if (len > t->max_tok_len) continue;
            const unsigned char *s = e->wb + e->cpos[start];
            if (pl) {
                memcpy(e->sub, w->prefix, pl);
                memcpy(e->sub + pl, s, len - pl);
                s = e->sub;
            }
            if ((id = gptc_tok_lookup(t, s, len)) >= 0) break;
        }
        if (id < 0) {
            e->n = n0; /* the whole word becomes [UNK] */
            goto unk;
        }
        if ((st = put_id(e, id, e->cob[start], e->coe[end - 1]))) break;
        start = end;
    }
    goto done;
unk:
    st = put_id(e, w->unk, e->w_ob, e->w_oe);
done:
    e->nchars = e->nc = e->wbn = 0;
    return st;
}

static gptc_status word_add(wp_enc *e, const wp_ch *c) {
    if (e->nchars == 0) e->w_ob = c->ob;
    if (c->oe > e->w_oe || e->nchars == 0) e->w_oe = c->oe;
    if (c->ob < e->w_ob) e->w_ob = c->ob;
    e->nchars++;
    if (e->nc > e->w->max_chars) return GPTC_OK; /* an [UNK] anyway: keep counting only */
    e->cpos[e->nc] = e->wbn;
    e->cob[e->nc] = c->ob;
    e->coe[e->nc] = c->oe;
    e->nc++;
    e->wbn += gptc_utf8_put(e->wb + e->wbn, (int)c->cp);
    return GPTC_OK;
}

/* ------------------------------------------------------------------ pipeline */
/* pre_tokenizers/bert.rs: split at white space (removed), punctuation isolated. */
static gptc_status pretok(wp_enc *e, const wp_ch *c) {
    unsigned f = gptc_wpu_flags(c->cp);
    gptc_status st;
    if (f & GPTC_WPU_WS) return word_end(e);
    if (f & GPTC_WPU_PUNCT) {
        if ((st = word_end(e)) || (st = word_add(e, c))) return st;
        return word_end(e);
    }
    return word_add(e, c);
}

static const gptc_wpu_map *map_find(const gptc_wpu_map *m, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && m[lo].cp == cp ? &m[lo] : NULL;
}

int gptc_wp_lower(uint32_t cp, uint32_t out[3]) {
    const gptc_wpu_map *m = (gptc_wpu_flags(cp) & GPTC_WPU_LOWER) ? map_find(gptc_wpu_lower, gptc_wpu_n_lower, cp) : NULL;
    if (!m || m->len > 3) {
        out[0] = cp;
        return 1;
    }
    for (uint32_t k = 0; k < m->len; k++) out[k] = gptc_wpu_pool[m->off + k];
    return (int)m->len;
}

static unsigned ccc_of(uint32_t cp) {
    if (!(gptc_wpu_flags(cp) & GPTC_WPU_CCC)) return 0;
    size_t lo = 0, hi = gptc_wpu_n_ccc;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (gptc_wpu_cccs[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < gptc_wpu_n_ccc && gptc_wpu_cccs[lo].cp == cp ? gptc_wpu_cccs[lo].ccc : 0;
}

/* After NFD: Mn dropped (strip accents), then char::to_lowercase. */
static gptc_status after_nfd(wp_enc *e, const wp_ch *c) {
    unsigned f = gptc_wpu_flags(c->cp);
    if (e->strip && (f & GPTC_WPU_MN)) return GPTC_OK;
    if (e->w->lowercase && (f & GPTC_WPU_LOWER)) {
        const gptc_wpu_map *m = map_find(gptc_wpu_lower, gptc_wpu_n_lower, c->cp);
        if (m) {
            gptc_status st = GPTC_OK;
            for (uint32_t k = 0; k < m->len && !st; k++) {
                wp_ch d = {gptc_wpu_pool[m->off + k], c->ob, c->oe, 0};
                st = pretok(e, &d);
            }
            return st;
        }
    }
    return pretok(e, c);
}

/* A character out of NFD, with the offsets tokenizers gives it: its alignments are
 * positional (NormalizedString::transform): the k-th first part of a decomposition takes
 * the offsets of the k-th character that went in, whatever canonical ordering moved, and
 * a later part those of the first part before it. */
static gptc_status nfd_out(wp_enc *e, wp_ch c, const size_t **ofs) {
    if (!c.added) {
        if (ofs) {
            c.ob = (*ofs)[0];
            c.oe = (*ofs)[1];
            *ofs += 2;
        }
        e->last_ob = c.ob;
        e->last_oe = c.oe;
    } else {
        c.ob = e->last_ob;
        c.oe = e->last_oe;
    }
    return after_nfd(e, &c);
}

/* Canonical ordering: the waiting non-starters, stably sorted by combining class
 * (a counting sort: a long run of marks costs linear time). */
static gptc_status nfd_flush(wp_enc *e) {
    size_t n = e->rn, k = 0;
    gptc_status st = GPTC_OK;
    e->rn = 0;
    for (size_t i = 0; i < n; i++)
        if (!e->rb[i].added) {
            e->rofs[k++] = e->rb[i].ob;
            e->rofs[k++] = e->rb[i].oe;
        }
    const size_t *ofs = e->rofs;
    size_t cnt[256] = {0};
    for (size_t i = 0; i < n; i++) cnt[ccc_of(e->rb[i].cp)]++;
    for (unsigned c = 1; c < 256 && !st; c++) {
        if (!cnt[c]) continue;
        for (size_t i = 0; i < n && !st; i++)
            if (ccc_of(e->rb[i].cp) == c) st = nfd_out(e, e->rb[i], &ofs);
    }
    return st;
}

static gptc_status nfd_push(wp_enc *e, const wp_ch *c) {
    if (ccc_of(c->cp) == 0) {
        gptc_status st = e->rn ? nfd_flush(e) : GPTC_OK;
        return st ? st : nfd_out(e, *c, NULL);
    }
    if (e->rn == e->rcap) {
        size_t cap = e->rcap ? e->rcap * 2 : 64;
        wp_ch *p = gptc_alloc(e->ctx, cap * sizeof *p, "combining marks");
        size_t *o = gptc_alloc(e->ctx, 2 * cap * sizeof *o, "combining marks");
        if (!p || !o) {
            gptc_free(p);
            gptc_free(o);
            return GPTC_ENOMEM;
        }
        if (e->rn) memcpy(p, e->rb, e->rn * sizeof *p);
        gptc_free(e->rb);
        gptc_free(e->rofs);
        e->rb = p;
        e->rofs = o;
        e->rcap = cap;
    }
    e->rb[e->rn++] = *c;
    return GPTC_OK;
}

/* NFD: the canonical decomposition (Hangul syllables algorithmically, into jamo). */
static gptc_status nfd(wp_enc *e, const wp_ch *c) {
    if (!e->strip) return after_nfd(e, c);
    uint32_t cp = c->cp;
    wp_ch c0 = *c;
    c0.added = 0;
    c = &c0;
    if (cp >= 0xAC00 && cp < 0xAC00 + 11172) {
        uint32_t s = cp - 0xAC00, tt = s % 28;
        wp_ch l = {0x1100 + s / 588, c->ob, c->oe, 0}, v = {0x1161 + (s % 588) / 28, c->ob, c->oe, 1},
              t = {0x11A7 + tt, c->ob, c->oe, 1};
        gptc_status st = nfd_push(e, &l);
        if (!st) st = nfd_push(e, &v);
        if (!st && tt) st = nfd_push(e, &t);
        return st;
    }
    const gptc_wpu_map *m = (gptc_wpu_flags(cp) & GPTC_WPU_DECOMP) ? map_find(gptc_wpu_decomp, gptc_wpu_n_decomp, cp) : NULL;
    if (!m) return nfd_push(e, c);
    gptc_status st = GPTC_OK;
    for (uint32_t k = 0; k < m->len && !st; k++) {
        wp_ch d = {gptc_wpu_pool[m->off + k], c->ob, c->oe, k > 0};
        st = nfd_push(e, &d);
    }
    return st;
}

/* BERT's _is_chinese_char as tokenizers has it (normalizers/bert.rs: note that
 * U+2B820..U+2B91F is not in its list, though it is in transformers' Python one). */
static int is_chinese(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

static gptc_status feed(wp_enc *e, wp_ch c) {
    const gptc_wp *w = e->w;
    if (w->clean_text) {
        unsigned f = gptc_wpu_flags(c.cp);
        if (f & GPTC_WPU_DROP) return GPTC_OK;
        if (f & GPTC_WPU_WS) c.cp = ' ';
    }
    if (w->chinese && is_chinese(c.cp)) {
        wp_ch sp = {' ', c.ob, c.oe, 0};
        gptc_status st = nfd(e, &sp);
        if (!st) st = nfd(e, &c);
        if (!st) st = nfd(e, &sp);
        return st;
    }
    return nfd(e, &c);
}

/* Ordinary text (between special tokens): each segment is normalized on its own, as
 * Hugging Face's added-token split does. Invalid UTF-8 reads as U+FFFD per maximal
 * invalid subpart (what from_utf8_lossy gives; clean_text then removes it). */
static gptc_status enc_seg(void *user, const char *s, size_t n, size_t off) {
    wp_enc *e = user;
    const unsigned char *p = (const unsigned char *)s;
    gptc_status st = GPTC_OK;
    e->last_ob = e->last_oe = off;
    for (size_t i = 0; i < n && !st;) {
        size_t adv = 1;
        int cp = gptc_utf8_next(p + i, n - i, &adv);
        if (cp < 0) {
            if (cp == GPTC_UTF8_INCOMPLETE) adv = n - i;
            cp = 0xFFFD;
        }
        st = feed(e, (wp_ch){(uint32_t)cp, off + i, off + i + adv, 0});
        i += adv;
    }
    if (!st && e->rn) st = nfd_flush(e);
    if (!st) st = word_end(e);
    return st;
}

static gptc_status enc_special(void *user, int32_t id, size_t off) {
    wp_enc *e = user;
    return put_id(e, id, off, off + e->t->tlen[id]);
}

gptc_status gptc_wp_encode(gptc_ctx *ctx, const gptc_tokenizer *t, const char *text, size_t len, int allow_special,
                           int32_t **ids, size_t **offsets, size_t *n_ids) {
    const gptc_wp *w = t->wp;
    wp_enc e = {.ctx = ctx, .t = t, .w = w, .want_off = offsets != NULL};
    e.strip = w->strip_accents < 0 ? w->lowercase : w->strip_accents;
    size_t mc = w->max_chars + 2;
    e.wb = gptc_alloc(ctx, 4 * mc, "word");
    e.cpos = gptc_alloc(ctx, 3 * mc * sizeof *e.cpos, "word offsets");
    e.sub = gptc_alloc(ctx, t->max_tok_len + GPTC_WP_PREFIX_MAX + 4, "word piece");
    gptc_status st = e.wb && e.cpos && e.sub ? GPTC_OK : GPTC_ENOMEM;
    if (!st) {
        e.cob = e.cpos + mc;
        e.coe = e.cpos + 2 * mc;
        st = put_id(&e, 0, 0, 0); /* allocates the output, even for empty text */
        e.n = 0;
    }
    if (!st) st = allow_special ? gptc_tok_split_special(ctx, t, text, len, enc_seg, enc_special, &e)
                                : enc_seg(&e, text, len, 0);
    gptc_free(e.wb);
    gptc_free(e.cpos);
    gptc_free(e.sub);
    gptc_free(e.rb);
    gptc_free(e.rofs);
    if (st) {
        free(e.ids);
        free(e.off);
        return st;
    }
    *ids = e.ids;
    if (offsets) *offsets = e.off;
    *n_ids = e.n;
    return GPTC_OK;
}

gptc_status gptc_wp_words(gptc_ctx *ctx, const gptc_wp *w, const char *text, size_t len, gptc_wp_word_fn fn, void *user) {
    wp_enc e = {.ctx = ctx, .w = w, .on_word = fn, .user = user};
    e.strip = w->strip_accents < 0 ? w->lowercase : w->strip_accents;
    size_t mc = w->max_chars + 2;
    e.wb = gptc_alloc(ctx, 4 * mc, "word");
    e.cpos = gptc_alloc(ctx, 3 * mc * sizeof *e.cpos, "word offsets");
    gptc_status st = e.wb && e.cpos ? GPTC_OK : GPTC_ENOMEM;
    if (!st) {
        e.cob = e.cpos + mc;
        e.coe = e.cpos + 2 * mc;
        st = enc_seg(&e, text, len, 0);
    }
    gptc_free(e.wb);
    gptc_free(e.cpos);
    gptc_free(e.rb);
    gptc_free(e.rofs);
    return st;
}

/* ------------------------------------------------------------------ decode */
/* Every occurrence of from replaced by to (not longer), left to right, in place. */
static size_t replace_all(char *s, size_t n, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to), o = 0;
    for (size_t i = 0; i < n;) {
        if (i + fl <= n && !memcmp(s + i, from, fl)) {
            memcpy(s + o, to, tl);
            o += tl;
            i += fl;
        } else {
            s[o++] = s[i++];
        }
    }
    return o;
}

/* decoders/wordpiece.rs cleanup (per token) and transformers' clean_up_tokenization
 * (on the whole text): the same list but for " do not". */
static size_t cleanup(char *s, size_t n, int rust) {
    static const char *const r[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                       {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                                       {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) {
        if (!rust && k == 7) continue;
        n = replace_all(s, n, r[k][0], r[k][1]);
    }
    return n;
}

gptc_status gptc_wp_decode(gptc_ctx *ctx, const gptc_tokenizer *t, const int32_t *ids, size_t n_ids, char **text,
                           size_t *len) {
    const gptc_wp *w = t->wp;
    size_t total = 1;
    for (size_t i = 0; i < n_ids; i++) total += t->tlen[ids[i]] + 1;
    char *out = malloc(total);
    if (!out) return gptc_fail(ctx, GPTC_ENOMEM, "out of memory decoding %zu bytes", total);
    size_t o = 0;
    for (size_t i = 0; i < n_ids; i++) {
        const char *s = (const char *)t->blob + t->tstart[ids[i]];
        size_t n = t->tlen[ids[i]], b = o;
        if (i > 0) {
            if (n >= w->prefix_len && !memcmp(s, w->prefix, w->prefix_len)) {
                s += w->prefix_len;
                n -= w->prefix_len;
            } else {
                out[o++] = ' ';
            }
        }
        memcpy(out + o, s, n);
        o += n;
        if (w->cleanup) o = b + cleanup(out + b, o - b, 1);
    }
    if (w->cleanup_spaces) o = cleanup(out, o, 0);
    out[o] = 0;
    *text = out;
    *len = o;
    return GPTC_OK;
}
