/* mt_metrics.c: corpus BLEU and chrF exactly as sacreBLEU 2.6.0 computes them
 * (sacrebleu/metrics/bleu.py, chrf.py, helpers.py, tokenizers/tokenizer_13a.py and
 * tokenizer_re.py): the 13a tokenizer's passes on UTF-8 bytes (each of its patterns
 * matches ASCII characters or "any but a digit", so byte-wise scanning gives Python's
 * result), n-gram counting with clipping, the closest reference length, exp smoothing,
 * and chrF's per-order statistics averaged over the orders present. Whitespace is
 * Python's str.isspace (str.split, str.rstrip). The CLI is cmd_eval.c's --task translate. */
#include "tasks.h"
#include "../core/core.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- UTF-8 and whitespace */

/* Length of the valid UTF-8 character at s (NUL-terminated), 0 when invalid. */
static size_t u8_len(const unsigned char *s, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) return *cp = c, 1;
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (!n || c > 0xF4) return 0;
    uint32_t v = c & (0x7F >> n);
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[k] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v < 0xE000)) return 0;
    *cp = v;
    return n;
}

static int py_space(uint32_t c) { /* Python 3's str.isspace */
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static gptc_status check_utf8(gptc_ctx *ctx, const char *s, const char *what, size_t line) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp;
        size_t n = u8_len(p, &cp);
        if (!n)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s %zu: invalid UTF-8 at byte %zu", what, line + 1,
                             (size_t)(p - (const unsigned char *)s));
        p += n;
    }
    return GPTC_OK;
}

/* References present, every line valid UTF-8. */
static gptc_status check_corpus(gptc_ctx *ctx, const char *metric, const char *const *hyps, size_t n,
                                const char *const *refs, size_t n_refs) {
    if (!n_refs) return gptc_fail(ctx, GPTC_EINVAL, "%s: no references", metric);
    for (size_t i = 0; i < n; i++) {
        gptc_status st = check_utf8(ctx, hyps[i], "hypothesis", i);
        for (size_t r = 0; !st && r < n_refs; r++) st = check_utf8(ctx, refs[r * n + i], "reference", i);
        if (st) return st;
    }
    return GPTC_OK;
}

typedef struct sbuf { char *p; size_t len, cap; int oom; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void sb_c(sbuf *b, char c) { sb_put(b, &c, 1); }

/* Python's str.replace(from, to) over the whole buffer. */
static void sb_replace(sbuf *b, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to);
    if (!b->len || !strstr(b->p, from)) return;
    sbuf o = {0};
    for (size_t i = 0; i < b->len;) {
        if (i + fl <= b->len && !memcmp(b->p + i, from, fl)) {
            sb_put(&o, to, tl);
            i += fl;
        } else {
            sb_c(&o, b->p[i++]);
        }
    }
    if (!o.p) sb_put(&o, "", 0);
    free(b->p);
    o.oom |= b->oom;
    *b = o;
}

/* ' '.join(s.split()): words separated by one space, none at the ends. */
static void join_words(const char *s, size_t n, sbuf *out) {
    int in_word = 0, any = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = u8_len((const unsigned char *)s + i, &cp);
        if (!k) k = 1, cp = 0xFFFD; /* only checked UTF-8 reaches here */
        if (py_space(cp)) {
            in_word = 0;
        } else {
            if (!in_word && any) sb_c(out, ' ');
            sb_put(out, s + i, k);
            in_word = any = 1;
        }
        i += k;
    }
    if (!out->p) sb_put(out, "", 0);
    else if (!out->oom) out->p[out->len] = '\0'; /* a buffer reused for an empty line: no stale text */
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* tokenizer_re.py's first pattern: ASCII punctuation except ' , - . (and the space) */
static int punct_13a(char c) {
    return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
           (c >= ':' && c <= '@') || c == '/';
}

/* Tokenizer13a()(line.rstrip()) into out (out->p NUL-terminated). */
static void tok13a(const char *line, sbuf *out) {
    size_t n = strlen(line);
    /* rstrip: drop trailing whitespace characters */
    size_t end = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = u8_len((const unsigned char *)line + i, &cp);
        if (!k) k = 1, cp = 0xFFFD;
        i += k;
        if (!py_space(cp)) end = i;
    }
    sbuf a = {0};
    sb_put(&a, line, end);
    sb_replace(&a, "<skipped>", "");
    sb_replace(&a, "-\n", "");
    sb_replace(&a, "\n", " ");
    if (a.p && strchr(a.p, '&')) {
        sb_replace(&a, "&quot;", "\"");
        sb_replace(&a, "&amp;", "&");
        sb_replace(&a, "&lt;", "<");
        sb_replace(&a, "&gt;", ">");
    }
    /* f' {line} ', then the four regular expressions, each a left-to-right pass of
     * non-overlapping matches */
    sbuf b = {0};
    sb_c(&b, ' ');
    for (size_t i = 0; i < a.len; i++) {
        char c = a.p[i];
        if (punct_13a(c)) {
            sb_c(&b, ' ');
            sb_c(&b, c);
            sb_c(&b, ' ');
        } else {
            sb_c(&b, c);
        }
    }
    sb_c(&b, ' ');
    sbuf c = {0};
    for (size_t i = 0; i < b.len;) { /* ([^0-9])([\.,]) -> '\1 \2 ' */
        if (i + 1 < b.len && !is_digit(b.p[i]) && (b.p[i + 1] == '.' || b.p[i + 1] == ',')) {
            char t[4] = {b.p[i], ' ', b.p[i + 1], ' '};
            sb_put(&c, t, 4);
            i += 2;
        } else {
            sb_c(&c, b.p[i++]);
        }
    }
    sbuf d = {0};
    for (size_t i = 0; i < c.len;) { /* ([\.,])([^0-9]) -> ' \1 \2' */
        if (i + 1 < c.len && (c.p[i] == '.' || c.p[i] == ',') && !is_digit(c.p[i + 1])) {
            char t[4] = {' ', c.p[i], ' ', c.p[i + 1]};
            sb_put(&d, t, 4);
            i += 2;
        } else {
            sb_c(&d, c.p[i++]);
        }
    }
    sbuf e = {0};
    for (size_t i = 0; i < d.len;) { /* ([0-9])(-) -> '\1 \2 ' */
        if (i + 1 < d.len && is_digit(d.p[i]) && d.p[i + 1] == '-') {
            char t[4] = {d.p[i], ' ', '-', ' '};
            sb_put(&e, t, 4);
            i += 2;
        } else {
            sb_c(&e, d.p[i++]);
        }
    }
    join_words(e.p ? e.p : "", e.len, out);
    out->oom |= a.oom | b.oom | c.oom | d.oom | e.oom;
    free(a.p);
    free(b.p);
    free(c.p);
    free(d.p);
    free(e.p);
}

char *gptc_tokenize_13a(gptc_ctx *ctx, const char *line) {
    if (check_utf8(ctx, line, "line", 0)) return NULL;
    sbuf o = {0};
    tok13a(line, &o);
    char *r = o.oom ? NULL : gptc_alloc(ctx, o.len + 1, "13a tokens");
    if (r) memcpy(r, o.p, o.len + 1);
    else if (o.oom) gptc_fail(ctx, GPTC_ENOMEM, "13a tokenizer: out of memory");
    free(o.p);
    return r;
}

/* ---------------------------------------------------------------- n-gram counts */

/* A multiset of byte strings (n-grams as spans of one sentence's text). */
typedef struct ng_ent { const char *p; uint32_t len, order; long count; } ng_ent;
typedef struct ng_tab { ng_ent *e; size_t cap, n; int oom; } ng_tab;

static void ng_clear(ng_tab *t) {
    if (t->e && t->n) memset(t->e, 0, t->cap * sizeof *t->e);
    t->n = 0;
}

static ng_ent *ng_slot(ng_tab *t, const char *p, size_t len) {
    size_t h = (size_t)gptc_hash_bytes(p, len) & (t->cap - 1);
    while (t->e[h].p && !(t->e[h].len == len && !memcmp(t->e[h].p, p, len))) h = (h + 1) & (t->cap - 1);
    return &t->e[h];
}

static ng_ent *ng_find(const ng_tab *t, const char *p, size_t len) {
    if (!t->cap) return NULL;
    ng_ent *e = ng_slot((ng_tab *)t, p, len);
    return e->p ? e : NULL;
}

/* Adds count to the entry of p (count < 0: keeps the maximum of -count and the old). */
static void ng_add(ng_tab *t, const char *p, size_t len, unsigned order, long count) {
    if (t->oom) return;
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        ng_ent *ne = calloc(cap, sizeof *ne);
        if (!ne) {
            t->oom = 1;
            return;
        }
        ng_tab nt = {ne, cap, 0, 0};
        for (size_t i = 0; i < t->cap; i++)
            if (t->e[i].p) {
                *ng_slot(&nt, t->e[i].p, t->e[i].len) = t->e[i];
                nt.n++;
            }
        free(t->e);
        *t = nt;
    }
    ng_ent *e = ng_slot(t, p, len);
    if (!e->p) {
        *e = (ng_ent){p, (uint32_t)len, order, 0};
        t->n++;
    }
    if (count >= 0) e->count += count;
    else if (-count > e->count) e->count = -count;
}

/* Word n-grams of a tokenized line (single spaces): each as the span from its first
 * word to its last, orders 1..4, added to t. Returns the number of words. */
static long word_ngrams(const char *s, ng_tab *t) {
    size_t n = strlen(s);
    long words = 0;
    size_t cap = 64, k = 0;
    size_t *ws = malloc(cap * sizeof *ws), *we = malloc(cap * sizeof *we);
    if (!ws || !we) {
        free(ws);
        free(we);
        t->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != ' ') j++;
        if (k == cap) {
            cap *= 2;
            size_t *a = realloc(ws, cap * sizeof *ws), *b = a ? realloc(we, cap * sizeof *we) : NULL;
            if (!a || !b) {
                free(a ? a : ws);
                free(b ? b : we);
                t->oom = 1;
                return 0;
            }
            ws = a;
            we = b;
        }
        ws[k] = i;
        we[k++] = j;
        i = j + 1;
    }
    words = (long)k;
    for (unsigned order = 1; order <= 4; order++)
        for (size_t i = 0; i + order <= k; i++) ng_add(t, s + ws[i], we[i + order - 1] - ws[i], order, 1);
    free(ws);
    free(we);
    return words;
}

gptc_status gptc_bleu_corpus(gptc_ctx *ctx, const char *const *hyps, size_t n, const char *const *refs, size_t n_refs,
                             gptc_bleu_score *out) {
    memset(out, 0, sizeof *out);
    gptc_status st = check_corpus(ctx, "BLEU", hyps, n, refs, n_refs);
    if (st) return st;
    ng_tab ht = {0}, rt = {0}, one = {0};
    sbuf *rtok = calloc(n_refs, sizeof *rtok);
    long correct[4] = {0}, total[4] = {0}, sys_len = 0, ref_len = 0;
    int oom = !rtok;
    for (size_t i = 0; i < n && !oom; i++) {
        sbuf htok = {0};
        tok13a(hyps[i], &htok);
        ng_clear(&rt);
        long closest_diff = -1, closest = -1;
        ng_clear(&ht);
        long hl = word_ngrams(htok.p ? htok.p : "", &ht);
        for (size_t r = 0; r < n_refs; r++) {
            rtok[r].len = 0;
            tok13a(refs[r * n + i], &rtok[r]);
            ng_clear(&one);
            long rl = word_ngrams(rtok[r].p ? rtok[r].p : "", &one);
            for (size_t k = 0; k < one.cap; k++)
                if (one.e[k].p) ng_add(&rt, one.e[k].p, one.e[k].len, one.e[k].order, -one.e[k].count);
            long diff = labs(hl - rl); /* _get_closest_ref_len */
            if (closest_diff == -1 || diff < closest_diff) closest_diff = diff, closest = rl;
            else if (diff == closest_diff && rl < closest) closest = rl;
            oom |= rtok[r].oom | one.oom;
        }
        for (size_t k = 0; k < ht.cap; k++) {
            const ng_ent *e = &ht.e[k];
            if (!e->p) continue;
            total[e->order - 1] += e->count;
            const ng_ent *f = ng_find(&rt, e->p, e->len);
            if (f) correct[e->order - 1] += e->count < f->count ? e->count : f->count;
        }
        sys_len += hl;
        ref_len += closest;
        oom |= htok.oom | ht.oom | rt.oom;
        free(htok.p);
    }
    for (size_t r = 0; rtok && r < n_refs; r++) free(rtok[r].p);
    free(rtok);
    free(ht.e);
    free(rt.e);
    free(one.e);
    if (oom) return gptc_fail(ctx, GPTC_ENOMEM, "BLEU: out of memory");
    /* compute_bleu with smooth_method "exp", effective_order off, max order 4 */
    out->hyp_len = sys_len;
    out->ref_len = ref_len;
    memcpy(out->counts, correct, sizeof correct);
    memcpy(out->totals, total, sizeof total);
    out->bp = 1.0;
    if (sys_len < ref_len) out->bp = sys_len > 0 ? exp(1.0 - (double)ref_len / (double)sys_len) : 0.0;
    out->ratio = ref_len ? (double)sys_len / (double)ref_len : 0;
    if (!correct[0] && !correct[1] && !correct[2] && !correct[3]) return GPTC_OK; /* score 0, precisions 0 */
    double smooth = 1.0;
    for (int k = 0; k < 4; k++) {
        if (total[k] == 0) break;
        if (correct[k] == 0) {
            smooth *= 2;
            out->precisions[k] = 100.0 / (smooth * (double)total[k]);
        } else {
            out->precisions[k] = 100.0 * (double)correct[k] / (double)total[k];
        }
    }
    double sum = 0;
    for (int k = 0; k < 4; k++) sum += out->precisions[k] == 0.0 ? -9999999999.0 : log(out->precisions[k]);
    out->score = out->bp * exp(sum / 4);
    return GPTC_OK;
}

/* ---------------------------------------------------------------- chrF */

/* The sentence without whitespace, and the byte offset of each character (n + 1). */
static int chars_of(const char *s, sbuf *text, size_t **off, size_t *n_chars) {
    size_t len = strlen(s), k = 0;
    *off = malloc((len + 1) * sizeof **off);
    if (!*off) return -1;
    text->len = 0;
    sb_put(text, "", 0);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t m = u8_len((const unsigned char *)s + i, &cp);
        if (!m) m = 1, cp = 0xFFFD;
        if (!py_space(cp)) {
            (*off)[k++] = text->len;
            sb_put(text, s + i, m);
        }
        i += m;
    }
    (*off)[k] = text->len;
    *n_chars = k;
    return text->oom ? -1 : 0;
}

static void char_ngrams(const sbuf *t, const size_t *off, size_t n, unsigned order, ng_tab *tab) {
    for (size_t i = 0; i + order <= n; i++) ng_add(tab, t->p + off[i], off[i + order] - off[i], order, 1);
}

/* _compute_f_score with eps_smoothing off: precision and recall averaged over the
 * orders where both sides have n-grams, then F-beta (beta 2). */
static double chrf_f(const long (*st)[3]) {
    const double factor = 4; /* beta ** 2 */
    double avg_p = 0, avg_r = 0;
    int eff = 0;
    for (int k = 0; k < 6; k++) {
        long nh = st[k][0], nr = st[k][1], nm = st[k][2];
        if (nh > 0 && nr > 0) {
            avg_p += (double)nm / (double)nh;
            avg_r += (double)nm / (double)nr;
            eff++;
        }
    }
    if (eff == 0) avg_p = avg_r = 0.0;
    else avg_p /= eff, avg_r /= eff;
    if (avg_p + avg_r == 0) return 0.0;
    double score = (1 + factor) * avg_p * avg_r;
    score /= (factor * avg_p) + avg_r;
    return 100 * score;
}

gptc_status gptc_chrf_corpus(gptc_ctx *ctx, const char *const *hyps, size_t n, const char *const *refs, size_t n_refs,
                             gptc_chrf_score *out) {
    memset(out, 0, sizeof *out);
    gptc_status st = check_corpus(ctx, "chrF", hyps, n, refs, n_refs);
    if (st) return st;
    ng_tab ht = {0}, rt = {0};
    sbuf htext = {0}, rtext = {0};
    int oom = 0;
    for (size_t i = 0; i < n && !oom; i++) {
        size_t *hoff = NULL, nh = 0;
        if (chars_of(hyps[i], &htext, &hoff, &nh)) {
            free(hoff);
            oom = 1;
            break;
        }
        long best[6][3] = {{0}};
        double best_f = -1.0;
        for (size_t r = 0; r < n_refs && !oom; r++) {
            size_t *roff = NULL, nr = 0;
            if (chars_of(refs[r * n + i], &rtext, &roff, &nr)) {
                free(roff);
                oom = 1;
                break;
            }
            long st[6][3];
            for (unsigned k = 1; k <= 6; k++) { /* _get_match_statistics per order */
                ng_clear(&ht);
                ng_clear(&rt);
                char_ngrams(&htext, hoff, nh, k, &ht);
                char_ngrams(&rtext, roff, nr, k, &rt);
                long hc = 0, mc = 0, rc = 0;
                for (size_t e = 0; e < ht.cap; e++) {
                    if (!ht.e[e].p) continue;
                    hc += ht.e[e].count;
                    const ng_ent *f = ng_find(&rt, ht.e[e].p, ht.e[e].len);
                    if (f) mc += ht.e[e].count < f->count ? ht.e[e].count : f->count;
                }
                for (size_t e = 0; e < rt.cap; e++) rc += rt.e[e].p ? rt.e[e].count : 0;
                st[k - 1][0] = rt.n ? hc : 0;
                st[k - 1][1] = rc;
                st[k - 1][2] = mc;
            }
            oom |= ht.oom | rt.oom;
            double f = chrf_f((const long (*)[3])st);
            if (f > best_f) {
                best_f = f;
                memcpy(best, st, sizeof st);
            }
            free(roff);
        }
        for (int k = 0; k < 6; k++)
            for (int j = 0; j < 3; j++) out->stats[k][j] += best[k][j];
        free(hoff);
    }
    free(ht.e);
    free(rt.e);
    free(htext.p);
    free(rtext.p);
    if (oom) return gptc_fail(ctx, GPTC_ENOMEM, "chrF: out of memory");
    out->score = chrf_f((const long (*)[3])out->stats);
    return GPTC_OK;
}

void gptc_bleu_signature(size_t n_refs, char *buf, size_t cap) {
    snprintf(buf, cap, "nrefs:%zu|case:mixed|eff:no|tok:13a|smooth:exp|version:%s", n_refs, GPTC_SACREBLEU_VERSION);
}

void gptc_chrf_signature(size_t n_refs, char *buf, size_t cap) {
    snprintf(buf, cap, "nrefs:%zu|case:mixed|eff:yes|nc:6|nw:0|space:no|version:%s", n_refs, GPTC_SACREBLEU_VERSION);
}
