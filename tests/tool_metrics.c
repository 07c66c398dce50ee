/* tool_metrics.c: the gptc side of tests/t_metrics.sh, using only include/gptc.h.
 *   tool_metrics cls K FILE      lines "true pred" (label ids < K): accuracy, Matthews
 *                                correlation, F1 of label 1, macro F1
 *   tool_metrics corr FILE       lines "x y": Pearson's r and Spearman's rho
 *   tool_metrics qa FILE         lines "prediction<TAB>gold": KorQuAD EM and F1, SQuAD EM
 *                                and F1, one line each
 * Numbers are printed with 17 significant digits. */
#include "gptc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what) {
    fprintf(stderr, "tool_metrics: %s\n", what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 3) die("usage: tool_metrics cls K FILE | corr FILE | qa FILE");
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    FILE *f = fopen(argv[argc - 1], "r");
    if (!ctx || !f) die("cannot open input");
    if (!strcmp(argv[1], "cls") && argc == 4) {
        int K = atoi(argv[2]), t, p;
        if (K < 2 || K > GPTC_MAX_LABELS) die("K out of range");
        long *cm = calloc((size_t)K * K, sizeof *cm);
        while (fscanf(f, "%d %d", &t, &p) == 2) {
            if (t < 0 || t >= K || p < 0 || p >= K) die("label out of range");
            cm[t * K + p]++;
        }
        gptc_cls_report r;
        gptc_cls_report_compute(cm, K, &r);
        printf("%.17g %.17g %.17g %.17g\n", r.accuracy, gptc_cls_mcc(cm, K), r.f1[1], r.f1_macro);
        free(cm);
    } else if (!strcmp(argv[1], "corr") && argc == 3) {
        size_t n = 0, cap = 1024;
        double *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y), a, b, rho;
        while (fscanf(f, "%lf %lf", &a, &b) == 2) {
            if (n == cap) {
                cap *= 2;
                x = realloc(x, cap * sizeof *x);
                y = realloc(y, cap * sizeof *y);
                if (!x || !y) die("out of memory");
            }
            x[n] = a;
            y[n++] = b;
        }
        if (gptc_spearman(ctx, x, y, n, &rho)) die(gptc_errmsg(ctx));
        printf("%.17g %.17g\n", gptc_pearson(x, y, n), rho);
        free(x);
        free(y);
    } else if (!strcmp(argv[1], "qa") && argc == 3) {
        char line[8192];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char *tab = strchr(line, '\t');
            if (!tab) die("a line without a tab");
            *tab = 0;
            const char *pred = line, *gold = tab + 1;
            printf("%.17g %.17g %.17g %.17g\n", gptc_korquad_em(ctx, pred, gold), gptc_korquad_f1(ctx, pred, gold),
                   gptc_squad_em(ctx, pred, gold), gptc_squad_f1(ctx, pred, gold));
        }
    } else {
        die("bad arguments");
    }
    fclose(f);
    gptc_ctx_free(ctx);
    return 0;
}
