/* cmd_plot.c: `gptc plot`: draws train and val loss and the learning rate of a run
 * (OUT/metrics.jsonl) to a standalone SVG file with labelled axes. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "gptc.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc plot --run DIR [--out FILE]\n"
    "\n"
    "Draws train loss, val loss and the learning rate from DIR/metrics.jsonl to an SVG\n"
    "file (default DIR/loss.svg) that opens in any browser. `gptc train` runs it at the end.\n"
    "\n"
    "example:\n"
    "  gptc plot --run run && xdg-open run/loss.svg\n";

typedef struct series { double *x, *y; size_t n, cap; } series;

static int push(series *s, double x, double y) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, nc * sizeof *nx);
        if (!nx) return 0;
        s->x = nx;
        double *ny = realloc(s->y, nc * sizeof *ny);
        if (!ny) return 0;
        s->y = ny;
        s->cap = nc;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
    return 1;
}

/* "Nice" tick step for a range: 1, 2 or 5 times a power of ten. */
static double tick_step(double range, int want) {
    if (!(range > 0)) return 1;
    double raw = range / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct panel { double x0, y0, w, h, xmin, xmax, ymin, ymax; } panel;
static double px(const panel *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const panel *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

static void range_of(const series *a, const series *b, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    const series *ss[2] = {a, b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; ss[k] && i < ss[k]->n; i++) {
            if (!isfinite(ss[k]->y[i])) continue;
            if (ss[k]->y[i] < *lo) *lo = ss[k]->y[i];
            if (ss[k]->y[i] > *hi) *hi = ss[k]->y[i];
        }
    if (!(*lo <= *hi)) { *lo = 0; *hi = 1; }
    if (*hi - *lo < 1e-12) { *lo -= 0.5 * (fabs(*lo) + 1e-3); *hi += 0.5 * (fabs(*hi) + 1e-3); }
}

static void axes(FILE *f, const panel *p, const char *ylabel, const char *xlabel) {
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n", p->x0, p->y0, p->w, p->h);
    double st = tick_step(p->xmax - p->xmin, 8);
    for (double x = ceil(p->xmin / st) * st; x <= p->xmax + 1e-9; x += st) {
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", px(p, x), p->y0, px(p, x), p->y0 + p->h);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%g</text>\n", px(p, x), p->y0 + p->h + 14, x);
    }
    st = tick_step(p->ymax - p->ymin, 5);
    for (double y = ceil(p->ymin / st) * st; y <= p->ymax + 1e-12; y += st) {
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", p->x0, py(p, y), p->x0 + p->w, py(p, y));
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%.3g</text>\n", p->x0 - 5, py(p, y) + 4, y);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle' transform='rotate(-90 %.1f %.1f)'>%s</text>\n",
            p->x0 - 48, p->y0 + p->h / 2, p->x0 - 48, p->y0 + p->h / 2, ylabel);
    if (xlabel)
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n", p->x0 + p->w / 2,
                p->y0 + p->h + 32, xlabel);
}

static void line(FILE *f, const panel *p, const series *s, const char *color, int dots) {
    if (!s->n) return;
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", color);
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->y[i])) fprintf(f, "%.1f,%.1f ", px(p, s->x[i]), py(p, s->y[i]));
    fprintf(f, "'/>\n");
    for (size_t i = 0; dots && i < s->n; i++)
        if (isfinite(s->y[i])) fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", px(p, s->x[i]), py(p, s->y[i]), color);
}

int cmd_plot_run(const char *run_dir, const char *out_path, char *err, size_t err_cap) {
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    FILE *in = fopen(path, "r");
    if (!in) {
        snprintf(err, err_cap, "%s: cannot open", path);
        return 1;
    }
    series tr = {0}, va = {0}, lr = {0};
    char *buf = NULL;
    size_t cap = 0;
    long lineno = 0;
    int ok = 1;
    while (ok && getline(&buf, &cap, in) > 0) {
        lineno++;
        json_error_t je;
        json_t *j = json_loads(buf, 0, &je);
        if (!j) continue; /* a partial last line of a killed run */
        double step = json_number_value(json_object_get(j, "step"));
        json_t *v;
        if ((v = json_object_get(j, "train_loss")) && json_is_number(v)) ok &= push(&tr, step, json_number_value(v));
        if ((v = json_object_get(j, "val_loss")) && json_is_number(v)) ok &= push(&va, step, json_number_value(v));
        if ((v = json_object_get(j, "lr")) && json_is_number(v)) ok &= push(&lr, step, json_number_value(v));
        json_decref(j);
    }
    free(buf);
    fclose(in);
    int rc = 0;
    if (!ok) {
        snprintf(err, err_cap, "out of memory");
        rc = 1;
    } else if (!tr.n && !va.n) {
        snprintf(err, err_cap, "%s: no train_loss or val_loss records", path);
        rc = 1;
    } else {
        /* a fresh temp file beside out_path (O_EXCL|O_NOFOLLOW, unpredictable name), renamed in */
        gptc_ctx_params cp = gptc_ctx_default_params();
        cp.n_threads = 1;
        gptc_ctx *ctx = gptc_ctx_new(&cp);
        gptc_atomic_file af;
        if (!ctx || gptc_atomic_open(ctx, &af, out_path)) {
            snprintf(err, err_cap, "%s", ctx ? gptc_errmsg(ctx) : "out of memory");
            rc = 1;
        } else {
            FILE *f = af.f;
            double x_hi = 1;
            for (size_t i = 0; i < tr.n; i++) if (tr.x[i] > x_hi) x_hi = tr.x[i];
            for (size_t i = 0; i < va.n; i++) if (va.x[i] > x_hi) x_hi = va.x[i];
            panel pl = {80, 50, 780, 320, 0, x_hi, 0, 1}, pr = {80, 430, 780, 130, 0, x_hi, 0, 1};
            range_of(&tr, &va, &pl.ymin, &pl.ymax);
            range_of(&lr, NULL, &pr.ymin, &pr.ymax);
            if (pr.ymin > 0) pr.ymin = 0;
            fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='900' height='610' font-family='sans-serif'>\n"
                       "<rect width='900' height='610' fill='white'/>\n");
            fprintf(f, "<text x='450' y='28' font-size='16' text-anchor='middle'>gptc training run: ");
            for (const char *c = run_dir; *c; c++) {
                if (*c == '<') fputs("&lt;", f);
                else if (*c == '&') fputs("&amp;", f);
                else if (*c == '\'') fputs("&apos;", f);
                else fputc(*c, f);
            }
            fprintf(f, "</text>\n");
            axes(f, &pl, "loss (nats/token)", NULL);
            line(f, &pl, &tr, "#1f77b4", 0);
            line(f, &pl, &va, "#ff7f0e", 1);
            fprintf(f, "<rect x='700' y='60' width='150' height='46' fill='white' stroke='#aaa'/>\n"
                       "<line x1='710' y1='75' x2='735' y2='75' stroke='#1f77b4' stroke-width='2'/>"
                       "<text x='742' y='79' font-size='12'>train loss</text>\n"
                       "<line x1='710' y1='95' x2='735' y2='95' stroke='#ff7f0e' stroke-width='2'/>"
                       "<text x='742' y='99' font-size='12'>val loss</text>\n");
            axes(f, &pr, "learning rate", "step");
            line(f, &pr, &lr, "#2ca02c", 0);
            fprintf(f, "</svg>\n");
            if (gptc_atomic_commit(ctx, &af)) {
                snprintf(err, err_cap, "%s", gptc_errmsg(ctx));
                rc = 1;
            }
        }
        gptc_ctx_free(ctx);
    }
    free(tr.x); free(tr.y); free(va.x); free(va.y); free(lr.x); free(lr.y);
    return rc;
}

int cmd_plot(int argc, char **argv) {
    const char *run = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--run", &run)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        cli_bad_option("plot", argv[i]);
    }
    if (!run) {
        fprintf(stderr, "gptc plot: --run is required\ntry `gptc plot --help`\n");
        return 2;
    }
    char def[4200], err[512];
    if (!out) {
        snprintf(def, sizeof def, "%s/loss.svg", run);
        out = def;
    }
    if (cmd_plot_run(run, out, err, sizeof err)) cli_die("plot", NULL, "%s", err);
    printf("%s\n", out);
    return 0;
}
