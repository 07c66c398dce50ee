/* dataset.c: text tables for fine-tuning: CSV (RFC 4180 quoting), TSV (tabs, no quoting)
 * and JSONL rows of text + label, and the label maps built from them. Every error names
 * the file and line; malformed rows are skipped only when asked. */
#include "../core/core.h"
#include "tasks.h"
#include "../core/core.h"
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dup_n(gptc_ctx *ctx, const char *s, size_t n) {
    char *p = gptc_alloc(ctx, n + 1, "dataset text");
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void gptc_rows_free(gptc_rows *r) {
    for (size_t i = 0; i < r->n; i++) {
        gptc_free(r->text[i]);
        if (r->label) gptc_free(r->label[i]);
        if (r->text_pair) gptc_free(r->text_pair[i]);
    }
    gptc_free(r->text);
    gptc_free(r->label);
    gptc_free(r->text_pair);
    gptc_free(r->line);
    memset(r, 0, sizeof *r);
}

int gptc_table_format(const char *path, int format) {
    if (format != GPTC_FMT_AUTO) return format;
    const char *dot = strrchr(path, '.');
    if (dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".json") || !strcmp(dot, ".ndjson"))) return GPTC_FMT_JSONL;
    if (dot && (!strcmp(dot, ".tsv") || !strcmp(dot, ".tab") || !strcmp(dot, ".txt"))) return GPTC_FMT_TSV;
    return GPTC_FMT_CSV;
}

/* rows grow by doubling; cap is kept in the caller */
static gptc_status push_row(gptc_ctx *ctx, gptc_rows *r, size_t *cap, char *text, char *label, char *pair,
                            size_t line) {
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        char **t = gptc_alloc(ctx, nc * sizeof *t, "dataset rows"), **l = gptc_alloc(ctx, nc * sizeof *l, "dataset rows");
        char **tp = pair ? gptc_alloc(ctx, nc * sizeof *tp, "dataset rows") : NULL;
        size_t *ln = gptc_alloc(ctx, nc * sizeof *ln, "dataset rows");
        if (!t || !l || !ln || (pair && !tp)) {
            gptc_free(t);
            gptc_free(l);
            gptc_free(tp);
            gptc_free(ln);
            gptc_free(text);
            gptc_free(label);
            gptc_free(pair);
            return GPTC_ENOMEM;
        }
        if (r->n) {
            memcpy(t, r->text, r->n * sizeof *t);
            memcpy(l, r->label, r->n * sizeof *l);
            if (pair) memcpy(tp, r->text_pair, r->n * sizeof *tp);
            memcpy(ln, r->line, r->n * sizeof *ln);
        }
        gptc_free(r->text);
        gptc_free(r->label);
        gptc_free(r->text_pair);
        gptc_free(r->line);
        r->text = t;
        r->label = l;
        r->text_pair = tp;
        r->line = ln;
        *cap = nc;
    }
    r->text[r->n] = text;
    r->label[r->n] = label;
    if (pair) r->text_pair[r->n] = pair;
    r->line[r->n++] = line;
    return GPTC_OK;
}

static int all_space(const char *s) {
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* A bad row: fail, or count it when skipping. */
#define BAD_ROW(...)                                                                                    \
    do {                                                                                                \
        if (!o->skip_bad) return gptc_fail(ctx, GPTC_EFORMAT, __VA_ARGS__);                             \
        if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, __VA_ARGS__);          \
        goto next;                                                                                      \
    } while (0)

/* ---------------------------------------------------------------- JSONL */
/* BAD_ROW that first releases the line's JSON (a failing row must not leak it). */
#define BAD_JROW(...)                                                                                   \
    do {                                                                                                \
        if (!o->skip_bad) {                                                                             \
            gptc_status bad_ = gptc_fail(ctx, GPTC_EFORMAT, __VA_ARGS__);                               \
            json_decref(j);                                                                             \
            return bad_;                                                                                \
        }                                                                                               \
        if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, __VA_ARGS__);          \
        goto next;                                                                                      \
    } while (0)
static gptc_status read_jsonl(gptc_ctx *ctx, const char *path, const char *data, size_t size, const gptc_table_opts *o,
                              gptc_rows *out, size_t *cap) {
    const char *tk = o->text_col ? o->text_col : "text", *lk = o->label_col ? o->label_col : "label", *pk = o->pair_col;
    gptc_lines it = gptc_lines_of(data, size);
    const char *s;
    size_t len;
    while (gptc_lines_next(&it, &s, &len)) {
        size_t line = it.line;
        json_t *j = NULL;
        char *text = NULL, *label = NULL, *pair = NULL;
        {
            json_error_t err;
            j = json_loadb(s, len, 0, &err);
            if (!j) BAD_JROW("%s:%zu: malformed JSON: %s (column %d)", path, line, err.text, err.column);
            if (!json_is_object(j)) BAD_JROW("%s:%zu: expected a JSON object", path, line);
            json_t *t = json_object_get(j, tk), *l = json_object_get(j, lk);
            if (!json_is_string(t)) BAD_JROW("%s:%zu: field \"%s\" is missing or not a string", path, line, tk);
            if (all_space(json_string_value(t))) BAD_JROW("%s:%zu: empty text", path, line);
            json_t *tp = pk ? json_object_get(j, pk) : NULL;
            if (pk && !json_is_string(tp)) BAD_JROW("%s:%zu: field \"%s\" is missing or not a string", path, line, pk);
            char num[32];
            const char *lv = NULL;
            if (json_is_string(l)) lv = json_string_value(l);
            else if (json_is_integer(l)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(l));
                lv = num;
            } else if (json_is_real(l)) { /* a regression's score */
                snprintf(num, sizeof num, "%.17g", json_real_value(l));
                lv = num;
            } else if (l && !json_is_null(l))
                BAD_JROW("%s:%zu: field \"%s\" must be a string or a number", path, line, lk);
            if (o->need_label && (!lv || !*lv)) BAD_JROW("%s:%zu: field \"%s\" is missing", path, line, lk);
            text = dup_n(ctx, json_string_value(t), json_string_length(t));
            label = lv ? dup_n(ctx, lv, strlen(lv)) : NULL;
            pair = tp ? dup_n(ctx, json_string_value(tp), json_string_length(tp)) : NULL;
            json_decref(j);
            j = NULL;
            if (!text || (lv && !label) || (tp && !pair)) {
                gptc_free(text);
                gptc_free(label);
                gptc_free(pair);
                return GPTC_ENOMEM;
            }
            gptc_status st = push_row(ctx, out, cap, text, label, pair, line);
            if (st) return st;
        }
        continue;
    next:
        json_decref(j);
    }
    return GPTC_OK;
}

/* ---------------------------------------------------------------- CSV / TSV */
/* Splits one record starting at *p into fields (copied into buf, NUL-separated);
 * returns the field count, or -1 for an unterminated quote. Advances *p and *line. */
static long split_record(const char *d, size_t size, size_t *p, size_t *line, char delim, int quoting, char *buf,
                         size_t *fstart, long max_fields) {
    size_t i = *p, w = 0;
    long nf = 0;
    for (;;) {
        if (nf < max_fields) fstart[nf] = w;
        nf++;
        if (quoting && i < size && d[i] == '"') {
            i++;
            for (;;) {
                if (i >= size) return -1;
                if (d[i] == '"') {
                    if (i + 1 < size && d[i + 1] == '"') {
                        buf[w++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (d[i] == '\n') (*line)++;
                buf[w++] = d[i++];
            }
            /* text after the closing quote up to the delimiter is kept, as Python's csv */
        }
        while (i < size && d[i] != delim && d[i] != '\n') buf[w++] = d[i++];
        if (w && buf[w - 1] == '\r' && (i >= size || d[i] == '\n')) w--;
        buf[w++] = 0;
        if (i < size && d[i] == delim) {
            i++;
            continue;
        }
        break;
    }
    if (i < size) {
        i++; /* the newline */
        (*line)++;
    }
    *p = i;
    return nf;
}

static long column_number(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return (*s && !*end && !errno && v >= 1 && v < 100000) ? v : -1;
}

static gptc_status read_table(gptc_ctx *ctx, const char *path, const char *data, size_t size, char delim,
                              const gptc_table_opts *o, gptc_rows *out, size_t *cap) {
    int quoting = delim == ',';
    enum { MAXF = 4096 };
    char *buf = gptc_alloc(ctx, size + 2 * MAXF + 8, "CSV record");
    size_t *fs = gptc_alloc(ctx, MAXF * sizeof *fs, "CSV fields");
    gptc_status s = GPTC_OK;
    if (!buf || !fs) {
        gptc_free(buf);
        gptc_free(fs);
        return GPTC_ENOMEM;
    }
    long tc = -1, lc = -1, pc = -1; /* 0-based columns */
    size_t p = 0, line = 1;
    const char *tname = o->text_col, *lname = o->label_col, *pname = o->pair_col;
    if (o->no_header) {
        tc = tname ? column_number(tname) : 1;
        lc = lname ? column_number(lname) : 2;
        if (pname && (pc = column_number(pname)) < 1) { s = gptc_fail(ctx, GPTC_EINVAL, "%s: --text-pair-column %s: with --no-header, give a column number (1 = first)", path, pname); goto out; }
        pc--;
        if (tc < 1) { s = gptc_fail(ctx, GPTC_EINVAL, "%s: --text-column %s: with --no-header, give a column number (1 = first)", path, tname); goto out; }
        if (lc < 1) { s = gptc_fail(ctx, GPTC_EINVAL, "%s: --label-column %s: with --no-header, give a column number (1 = first)", path, lname); goto out; }
        tc--;
        lc--;
    } else {
        while (p < size && (data[p] == '\n' || data[p] == '\r')) p += data[p] == '\n' ? (line++, 1) : 1;
        if (p >= size) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s: empty file (expected a header row)", path); goto out; }
        size_t hl = line;
        long nf = split_record(data, size, &p, &line, delim, quoting, buf, fs, MAXF);
        if (nf < 0) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: unterminated quoted field", path, hl); goto out; }
        if (nf > MAXF) nf = MAXF;
        tname = tname ? tname : "text";
        lname = lname ? lname : "label";
        char cols[512] = "";
        for (long k = 0; k < nf; k++) {
            const char *name = buf + fs[k];
            if (!strcmp(name, tname)) tc = k;
            if (!strcmp(name, lname)) lc = k;
            if (pname && !strcmp(name, pname)) pc = k;
            size_t u = strlen(cols);
            if (u + 8 < sizeof cols) snprintf(cols + u, sizeof cols - u, "%s'%s'", k ? ", " : "", name);
        }
        if (tc < 0) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: no text column '%s' in the header (columns: %s); use --text-column NAME, or --no-header", path, hl, tname, cols); goto out; }
        if (pname && pc < 0) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: no text pair column '%s' in the header (columns: %s)", path, hl, pname, cols); goto out; }
        if (lc < 0 && o->need_label) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: no label column '%s' in the header (columns: %s); use --label-column NAME", path, hl, lname, cols); goto out; }
    }
    while (p < size) {
        size_t l0 = line;
        if (data[p] == '\n' || (data[p] == '\r' && p + 1 < size && data[p + 1] == '\n')) {
            p += data[p] == '\n' ? 1 : 2;
            line++;
            continue; /* blank line */
        }
        long nf = split_record(data, size, &p, &line, delim, quoting, buf, fs, MAXF);
        {
            if (nf < 0) {
                if (!o->skip_bad) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: unterminated quoted field", path, l0); goto out; }
                if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, "%s:%zu: unterminated quoted field", path, l0);
                break;
            }
            if (nf > MAXF) nf = MAXF;
            if (tc >= nf) {
                if (!o->skip_bad) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %ld field%s, the text column is field %ld", path, l0, nf, nf == 1 ? "" : "s", tc + 1); goto out; }
                if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, "%s:%zu: %ld fields, the text column is field %ld", path, l0, nf, tc + 1);
                continue;
            }
            if (o->need_label && lc >= nf) {
                if (!o->skip_bad) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %ld field%s, the label column is field %ld", path, l0, nf, nf == 1 ? "" : "s", lc + 1); goto out; }
                if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, "%s:%zu: %ld fields, the label column is field %ld", path, l0, nf, lc + 1);
                continue;
            }
            if (pname && pc >= nf) {
                if (!o->skip_bad) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %ld field%s, the text pair column is field %ld", path, l0, nf, nf == 1 ? "" : "s", pc + 1); goto out; }
                if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, "%s:%zu: %ld fields, the text pair column is field %ld", path, l0, nf, pc + 1);
                continue;
            }
            const char *tv = buf + fs[tc], *lv = lc >= 0 && lc < nf ? buf + fs[lc] : NULL, *pv = pname ? buf + fs[pc] : NULL;
            const char *why = all_space(tv) ? "empty text" : (o->need_label && all_space(lv)) ? "empty label" : NULL;
            if (why) {
                if (!o->skip_bad) { s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: %s", path, l0, why); goto out; }
                if (!out->n_skipped++) snprintf(out->first_skip, sizeof out->first_skip, "%s:%zu: %s", path, l0, why);
                continue;
            }
            /* labels are compared trimmed ("1 " == "1") */
            size_t ll = 0;
            if (lv) {
                while (isspace((unsigned char)*lv)) lv++;
                ll = strlen(lv);
                while (ll && isspace((unsigned char)lv[ll - 1])) ll--;
            }
            char *text = dup_n(ctx, tv, strlen(tv)), *label = lv ? dup_n(ctx, lv, ll) : NULL;
            char *pair = pv ? dup_n(ctx, pv, strlen(pv)) : NULL;
            if (!text || (lv && !label) || (pv && !pair)) {
                gptc_free(text);
                gptc_free(label);
                gptc_free(pair);
                s = GPTC_ENOMEM;
                goto out;
            }
            if ((s = push_row(ctx, out, cap, text, label, pair, l0))) goto out;
        }
    }
out:
    gptc_free(buf);
    gptc_free(fs);
    return s;
}

gptc_status gptc_rows_read(gptc_ctx *ctx, const char *path, const gptc_table_opts *o, gptc_rows *out) {
    memset(out, 0, sizeof *out);
    char *data;
    size_t size, cap = 0;
    gptc_status s = gptc_file_read(ctx, path, &data, &size);
    if (s) return s;
    const char *d = data;
    if (size >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) { /* UTF-8 byte order mark */
        d += 3;
        size -= 3;
    }
    int fmt = gptc_table_format(path, o->format);
    if (fmt == GPTC_FMT_JSONL) s = read_jsonl(ctx, path, d, size, o, out, &cap);
    else s = read_table(ctx, path, d, size, fmt == GPTC_FMT_TSV ? '\t' : ',', o, out, &cap);
    gptc_free(data);
    if (!s && !out->n) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: no rows%s%s", path, out->n_skipped ? " (all skipped; first: " : "",
                                     out->n_skipped ? out->first_skip : "");
    if (s) gptc_rows_free(out);
    return s;
}

/* ---------------------------------------------------------------- labels */
static int is_int(const char *s, long long *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno) return 0;
    *v = x;
    return 1;
}

gptc_status gptc_labels_collect(gptc_ctx *ctx, const char *path, const gptc_rows *r, gptc_labels *out) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < r->n; i++) {
        const char *l = r->label ? r->label[i] : NULL;
        if (!l) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: the row has no label", path, r->line[i]);
        int k;
        for (k = 0; k < out->n; k++)
            if (!strcmp(out->name[k], l)) break;
        if (k < out->n) continue;
        if (out->n == GPTC_MAX_LABELS)
            return gptc_fail(ctx, GPTC_ERANGE, "%s:%zu: more than %d distinct labels", path, r->line[i], GPTC_MAX_LABELS);
        if (strlen(l) >= GPTC_LABEL_MAX)
            return gptc_fail(ctx, GPTC_ERANGE, "%s:%zu: label '%.40s...' is longer than %d bytes", path, r->line[i], l,
                             GPTC_LABEL_MAX - 1);
        strcpy(out->name[out->n++], l);
    }
    /* sort: numerically when every label is an integer, else bytewise */
    int numeric = 1;
    long long a, b;
    for (int k = 0; k < out->n; k++) numeric &= is_int(out->name[k], &a);
    for (int i = 1; i < out->n; i++)
        for (int j = i; j > 0; j--) {
            int gt = numeric ? (is_int(out->name[j - 1], &a), is_int(out->name[j], &b), a > b)
                             : strcmp(out->name[j - 1], out->name[j]) > 0;
            if (!gt) break;
            char t[GPTC_LABEL_MAX];
            memcpy(t, out->name[j], GPTC_LABEL_MAX);
            memcpy(out->name[j], out->name[j - 1], GPTC_LABEL_MAX);
            memcpy(out->name[j - 1], t, GPTC_LABEL_MAX);
        }
    if (out->n < 2)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: a classifier needs at least 2 distinct labels (found %d: '%s')", path,
                         out->n, out->n ? out->name[0] : "");
    return GPTC_OK;
}

void gptc_labels_from_config(const gptc_config *c, gptc_labels *out) {
    memset(out, 0, sizeof *out);
    out->n = c->num_labels;
    for (int i = 0; i < c->num_labels && i < GPTC_MAX_LABELS; i++) {
        if (c->id2label[i][0]) memcpy(out->name[i], c->id2label[i], GPTC_LABEL_MAX);
        else snprintf(out->name[i], GPTC_LABEL_MAX, "LABEL_%d", i);
    }
}

int gptc_labels_find(const gptc_labels *l, const char *s) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], s)) return i;
    long long v;
    if (is_int(s, &v) && v >= 0 && v < l->n) {
        char def[32];
        snprintf(def, sizeof def, "LABEL_%lld", v);
        if (!strcmp(l->name[v], def)) return (int)v;
    }
    return -1;
}

gptc_status gptc_labels_map(gptc_ctx *ctx, const char *path, const gptc_labels *l, const gptc_rows *r, int32_t *ids) {
    for (size_t i = 0; i < r->n; i++) {
        const char *s = r->label ? r->label[i] : NULL;
        if (!s) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: the row has no label", path, r->line[i]);
        int k = gptc_labels_find(l, s);
        if (k < 0) {
            char known[400] = "";
            for (int j = 0; j < l->n; j++) {
                size_t u = strlen(known);
                if (u + GPTC_LABEL_MAX + 4 < sizeof known) snprintf(known + u, sizeof known - u, "%s'%s'", j ? ", " : "", l->name[j]);
            }
            return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: unknown label '%s' (the model's labels: %s)", path, r->line[i], s,
                             known);
        }
        ids[i] = k;
    }
    return GPTC_OK;
}

gptc_status gptc_labels_scores(gptc_ctx *ctx, const char *path, const gptc_rows *r, float *y) {
    for (size_t i = 0; i < r->n; i++) {
        const char *s = r->label ? r->label[i] : NULL;
        if (!s) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: the row has no label", path, r->line[i]);
        char *end;
        while (*s == ' ' || *s == '\t') s++;
        double v = strtod(s, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r') end++;
        if (end == s || *end || !isfinite(v) || fabs(v) > 3.4e38)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: label '%s' is not a number (a regression's labels are scores)",
                             path, r->line[i], r->label[i]);
        y[i] = (float)v;
    }
    return GPTC_OK;
}
