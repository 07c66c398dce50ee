/* metrics.c: classification metrics as scikit-learn defines them (accuracy, precision,
 * recall, F1 per class, macro and weighted averages, zero_division = 0), the confusion
 * matrix as SVG, GLUE's Matthews correlation, Pearson and Spearman correlations (SciPy's
 * definitions), SQuAD v1.1's answer normalization, exact match and token F1, and KorQuAD
 * 1.0's (its evaluate-v1.0.py: brackets and quotes removed, F1 over characters). */
#include "tasks.h"
#include "../core/core.h"
#include "../text/utf8.h"
#include "../text/wordpiece.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gptc_cls_report_compute(const long *cm, int K, gptc_cls_report *r) {
    memset(r, 0, sizeof *r);
    r->K = K;
    long total = 0, correct = 0, pred[GPTC_MAX_LABELS] = {0};
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++) {
            long c = cm[t * K + p];
            total += c;
            r->support[t] += c;
            pred[p] += c;
            if (t == p) correct += c;
        }
    r->total = total;
    r->accuracy = total ? (double)correct / total : 0;
    int n_present = 0;
    for (int k = 0; k < K; k++) {
        long tp = cm[k * K + k], fp = pred[k] - tp, fn = r->support[k] - tp;
        r->precision[k] = pred[k] ? (double)tp / pred[k] : 0;
        r->recall[k] = r->support[k] ? (double)tp / r->support[k] : 0;
        r->f1[k] = 2 * tp + fp + fn ? 2.0 * tp / (double)(2 * tp + fp + fn) : 0;
        /* scikit-learn averages over the labels present in y_true or y_pred */
        if (!r->support[k] && !pred[k]) continue;
        n_present++;
        r->precision_macro += r->precision[k];
        r->recall_macro += r->recall[k];
        r->f1_macro += r->f1[k];
        if (total) {
            double w = (double)r->support[k] / total;
            r->precision_weighted += w * r->precision[k];
            r->recall_weighted += w * r->recall[k];
            r->f1_weighted += w * r->f1[k];
        }
    }
    if (n_present) {
        r->precision_macro /= n_present;
        r->recall_macro /= n_present;
        r->f1_macro /= n_present;
    }
}

/* Appends printf output to a growing buffer. */
typedef struct sbuf { char *p; size_t n, cap; int oom; } sbuf;
static void sb_printf(sbuf *b, const char *fmt, ...) GPTC_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if (b->p && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)k;
        char *np = gptc_alloc(NULL, nc, "svg");
        if (!np) { b->oom = 1; return; }
        if (b->p) memcpy(np, b->p, b->n);
        gptc_free(b->p);
        b->p = np;
        b->cap = nc;
    }
}
static void sb_xml(sbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '<') sb_printf(b, "&lt;");
        else if (*s == '>') sb_printf(b, "&gt;");
        else if (*s == '&') sb_printf(b, "&amp;");
        else if (*s == '"') sb_printf(b, "&quot;");
        else sb_printf(b, "%c", *s);
    }
}

gptc_status gptc_confusion_svg(gptc_ctx *ctx, const char *path, const long *cm, const gptc_labels *l) {
    int K = l->n, cell = K <= 8 ? 64 : K <= 20 ? 36 : 20, left = 140, top = 110;
    int W = left + K * cell + 40, H = top + K * cell + 60;
    sbuf b = {0};
    sb_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                  "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    sb_printf(&b, "<text x=\"%d\" y=\"20\" font-size=\"14\">confusion matrix (rows: true, columns: predicted)</text>\n", 10);
    for (int t = 0; t < K; t++) {
        long row = 0;
        for (int p = 0; p < K; p++) row += cm[t * K + p];
        for (int p = 0; p < K; p++) {
            long c = cm[t * K + p];
            double f = row ? (double)c / row : 0;
            int shade = (int)lround(255 - 200 * f);
            sb_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" stroke=\"#888\"/>"
                          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%ld</text>\n",
                      left + p * cell, top + t * cell, cell, cell, shade, shade, left + p * cell + cell / 2,
                      top + t * cell + cell / 2 + 4, f > 0.6 ? "white" : "black", c);
        }
        sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, top + t * cell + cell / 2 + 4);
        sb_xml(&b, l->name[t]);
        sb_printf(&b, "</text>\n");
    }
    for (int p = 0; p < K; p++) {
        int x = left + p * cell + cell / 2, y = top - 6;
        sb_printf(&b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-45 %d %d)\">", x, y, x, y);
        sb_xml(&b, l->name[p]);
        sb_printf(&b, "</text>\n");
    }
    sb_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">predicted</text>\n", left + K * cell / 2, top + K * cell + 30);
    sb_printf(&b, "</svg>\n");
    if (b.oom) {
        gptc_free(b.p);
        return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", path);
    }
    gptc_iovec part = {b.p, b.n};
    gptc_status s = gptc_file_write_atomic(ctx, path, &part, 1);
    gptc_free(b.p);
    return s;
}

/* ---------------------------------------------------------------- SQuAD */
static int is_punct(unsigned char c) { return c < 128 && ispunct(c); } /* Python's string.punctuation */
static int is_word(unsigned char c) { return c >= 128 || isalnum(c) || c == '_'; }

char *gptc_squad_normalize(gptc_ctx *ctx, const char *s) {
    size_t n = strlen(s);
    char *a = gptc_alloc(ctx, n + 1, "normalized answer"), *o = gptc_alloc(ctx, n + 1, "normalized answer");
    if (!a || !o) {
        gptc_free(a);
        gptc_free(o);
        return NULL;
    }
    /* lower, remove punctuation */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_punct(c)) continue;
        a[k++] = (char)(c < 128 ? tolower(c) : c);
    }
    a[k] = 0;
    /* remove the words a, an, the (regex \b(a|an|the)\b -> ' '), then collapse whitespace */
    size_t w = 0;
    int pending_space = 0;
    for (size_t i = 0; i < k;) {
        if (isspace((unsigned char)a[i])) {
            pending_space = 1;
            i++;
            continue;
        }
        size_t j = i;
        if (is_word((unsigned char)a[i]))
            while (j < k && is_word((unsigned char)a[j])) j++;
        else
            while (j < k && !is_word((unsigned char)a[j]) && !isspace((unsigned char)a[j])) j++;
        size_t len = j - i;
        if (is_word((unsigned char)a[i]) &&
            ((len == 1 && a[i] == 'a') || (len == 2 && !memcmp(a + i, "an", 2)) || (len == 3 && !memcmp(a + i, "the", 3)))) {
            pending_space = 1;
            i = j;
            continue;
        }
        if (pending_space && w) o[w++] = ' ';
        pending_space = 0;
        memcpy(o + w, a + i, len);
        w += len;
        i = j;
    }
    o[w] = 0;
    gptc_free(a);
    return o;
}

double gptc_squad_em(gptc_ctx *ctx, const char *pred, const char *gold) {
    char *a = gptc_squad_normalize(ctx, pred), *b = gptc_squad_normalize(ctx, gold);
    double r = a && b && !strcmp(a, b) ? 1.0 : 0.0;
    gptc_free(a);
    gptc_free(b);
    return r;
}

/* splits s (normalized: single spaces) in place into tokens */
static size_t split_tokens(char *s, char **tok, size_t cap) {
    size_t n = 0;
    for (char *p = strtok(s, " "); p && n < cap; p = strtok(NULL, " ")) tok[n++] = p;
    return n;
}

double gptc_squad_f1(gptc_ctx *ctx, const char *pred, const char *gold) {
    char *a = gptc_squad_normalize(ctx, pred), *b = gptc_squad_normalize(ctx, gold);
    double f1 = 0;
    size_t na = a ? strlen(a) / 2 + 1 : 0, nb = b ? strlen(b) / 2 + 1 : 0;
    char **ta = gptc_alloc(ctx, (na + 1) * sizeof *ta, "tokens"), **tb = gptc_alloc(ctx, (nb + 1) * sizeof *tb, "tokens");
    char *used = gptc_calloc(ctx, nb + 1, 1, "tokens");
    if (a && b && ta && tb && used) {
        na = split_tokens(a, ta, na);
        nb = split_tokens(b, tb, nb);
        size_t same = 0; /* Counter(pred) & Counter(gold) */
        for (size_t i = 0; i < na; i++)
            for (size_t j = 0; j < nb; j++)
                if (!used[j] && !strcmp(ta[i], tb[j])) {
                    used[j] = 1;
                    same++;
                    break;
                }
        if (same) {
            double p = (double)same / na, r = (double)same / nb;
            f1 = 2 * p * r / (p + r);
        }
    }
    gptc_free(a);
    gptc_free(b);
    gptc_free(ta);
    gptc_free(tb);
    gptc_free(used);
    return f1;
}

/* ---------------------------------------------------------------- GLUE */
double gptc_cls_mcc(const long *cm, int K) {
    /* scikit-learn's matthews_corrcoef (multi-class: Gorodkin's R_K) from the confusion matrix */
    double s = 0, c = 0, tp = 0, tt = 0, pp = 0;
    double t[GPTC_MAX_LABELS] = {0}, p[GPTC_MAX_LABELS] = {0};
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double v = (double)cm[i * K + j];
            t[i] += v;
            p[j] += v;
            s += v;
            if (i == j) c += v;
        }
    for (int k = 0; k < K; k++) {
        tp += t[k] * p[k];
        tt += t[k] * t[k];
        pp += p[k] * p[k];
    }
    double den = (s * s - pp) * (s * s - tt);
    return den > 0 ? (c * s - tp) / sqrt(den) : 0.0;
}

double gptc_pearson(const double *x, const double *y, size_t n) {
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN; /* SciPy: NaN for a constant input */
}

typedef struct rank_ent { double v; size_t i; } rank_ent;
static int rank_cmp(const void *a, const void *b) {
    const rank_ent *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}

/* ranks 1..n, ties the average of their ranks (scipy.stats.rankdata's "average") */
static gptc_status ranks(gptc_ctx *ctx, const double *x, size_t n, double *r) {
    rank_ent *e = gptc_alloc(ctx, (n ? n : 1) * sizeof *e, "ranks");
    if (!e) return GPTC_ENOMEM;
    for (size_t i = 0; i < n; i++) e[i] = (rank_ent){x[i], i};
    qsort(e, n, sizeof *e, rank_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && e[j].v == e[i].v) j++;
        double avg = (double)(i + j + 1) / 2.0; /* mean of ranks i+1 .. j */
        for (size_t k = i; k < j; k++) r[e[k].i] = avg;
        i = j;
    }
    gptc_free(e);
    return GPTC_OK;
}

gptc_status gptc_spearman(gptc_ctx *ctx, const double *x, const double *y, size_t n, double *out) {
    double *rx = gptc_alloc(ctx, (n ? n : 1) * sizeof *rx, "ranks"), *ry = gptc_alloc(ctx, (n ? n : 1) * sizeof *ry, "ranks");
    gptc_status s = rx && ry ? GPTC_OK : GPTC_ENOMEM;
    if (!s) s = ranks(ctx, x, n, rx);
    if (!s) s = ranks(ctx, y, n, ry);
    if (!s) *out = gptc_pearson(rx, ry, n);
    gptc_free(rx);
    gptc_free(ry);
    return s;
}

/* ---------------------------------------------------------------- KorQuAD 1.0 */
/* Python's str.isspace(): White_Space plus the separators \x1c..\x1f. */
static int py_space(uint32_t c) {
    return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* evaluate-v1.0.py's normalize_answer as code points: the quotes, brackets and
 * parentheses of remove_() become spaces, then lower(), ASCII punctuation removed, white
 * space runs one space, trimmed. Writes at most 3 * strlen(s) + 1 code points. */
static size_t korquad_norm(const char *s, uint32_t *out) {
    static const uint32_t rm[] = {'\'', '"', 0x300A, 0x300B, '<', '>', 0x3008, 0x3009, '(', ')', 0x2018, 0x2019};
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
    int space = 0;
    for (size_t i = 0; i < n;) {
        size_t adv;
        int cp = gptc_utf8_next(p + i, n - i, &adv);
        if (cp < 0) {
            if (cp == GPTC_UTF8_INCOMPLETE) adv = n - i;
            cp = 0xFFFD;
        }
        i += adv;
        for (size_t k = 0; k < sizeof rm / sizeof rm[0]; k++)
            if ((uint32_t)cp == rm[k]) cp = ' ';
        uint32_t low[3];
        int nl = gptc_wp_lower((uint32_t)cp, low);
        for (int k = 0; k < nl; k++) {
            uint32_t c = low[k];
            if (c < 128 && ispunct((int)c)) continue;
            if (py_space(c)) {
                space = 1;
                continue;
            }
            if (space && o) out[o++] = ' ';
            space = 0;
            out[o++] = c;
        }
    }
    return o;
}

static uint32_t *korquad_alloc(gptc_ctx *ctx, const char *s) {
    return gptc_alloc(ctx, (3 * strlen(s) + 1) * sizeof(uint32_t), "normalized answer");
}

double gptc_korquad_em(gptc_ctx *ctx, const char *pred, const char *gold) {
    uint32_t *a = korquad_alloc(ctx, pred), *b = korquad_alloc(ctx, gold);
    double r = 0;
    if (a && b) {
        size_t na = korquad_norm(pred, a), nb = korquad_norm(gold, b);
        r = na == nb && !memcmp(a, b, na * sizeof *a);
    }
    gptc_free(a);
    gptc_free(b);
    return r;
}

static int u32_cmp(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* F1 over characters (the characters of the normalized answer's words: spaces do not count) */
double gptc_korquad_f1(gptc_ctx *ctx, const char *pred, const char *gold) {
    uint32_t *a = korquad_alloc(ctx, pred), *b = korquad_alloc(ctx, gold);
    double f1 = 0;
    if (a && b) {
        size_t na = korquad_norm(pred, a), nb = korquad_norm(gold, b), ka = 0, kb = 0;
        for (size_t i = 0; i < na; i++)
            if (a[i] != ' ') a[ka++] = a[i];
        for (size_t i = 0; i < nb; i++)
            if (b[i] != ' ') b[kb++] = b[i];
        qsort(a, ka, sizeof *a, u32_cmp);
        qsort(b, kb, sizeof *b, u32_cmp);
        size_t same = 0; /* Counter(pred) & Counter(gold): a merge of the sorted characters */
        for (size_t i = 0, j = 0; i < ka && j < kb;) {
            if (a[i] == b[j]) same++, i++, j++;
            else if (a[i] < b[j]) i++;
            else j++;
        }
        if (same) {
            double p = (double)same / (double)ka, r = (double)same / (double)kb;
            f1 = 2 * p * r / (p + r);
        }
    }
    gptc_free(a);
    gptc_free(b);
    return f1;
}
