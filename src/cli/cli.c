/* cli.c: option parsing and error printing shared by the subcommands. */
#include "cli.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int match(char **argv, int i, const char *name, const char **inline_val) {
    size_t n = strlen(name);
    if (strncmp(argv[i], name, n) != 0) return 0;
    if (argv[i][n] == 0) { *inline_val = NULL; return 1; }
    if (argv[i][n] == '=') { *inline_val = argv[i] + n + 1; return 1; }
    return 0;
}

int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out) {
    const char *iv;
    if (!match(argv, *i, name, &iv)) return 0;
    if (iv) { *out = iv; return 1; }
    if (*i + 1 >= argc) {
        fprintf(stderr, "gptc: option %s needs a value\n", name);
        exit(2);
    }
    *out = argv[++*i];
    return 1;
}

int cli_opt_int(int argc, char **argv, int *i, const char *name, long *out) {
    const char *s;
    if (!cli_opt_str(argc, argv, i, name, &s)) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) {
        fprintf(stderr, "gptc: option %s: '%s' is not an integer\n", name, s);
        exit(2);
    }
    *out = v;
    return 1;
}

int cli_opt_float(int argc, char **argv, int *i, const char *name, double *out) {
    const char *s;
    if (!cli_opt_str(argc, argv, i, name, &s)) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        fprintf(stderr, "gptc: option %s: '%s' is not a number\n", name, s);
        exit(2);
    }
    if (!isfinite(v)) {
        fprintf(stderr, "gptc: option %s: '%s' is not a finite number\n", name, s);
        exit(2);
    }
    *out = v;
    return 1;
}

int cli_opt_int_in(int argc, char **argv, int *i, const char *name, long lo, long hi, long *out) {
    long v;
    if (!cli_opt_int(argc, argv, i, name, &v)) return 0;
    if (v < lo || v > hi) {
        if (hi == LONG_MAX) fprintf(stderr, "gptc: option %s: %ld is out of range (at least %ld)\n", name, v, lo);
        else fprintf(stderr, "gptc: option %s: %ld is out of range [%ld, %ld]\n", name, v, lo, hi);
        exit(2);
    }
    *out = v;
    return 1;
}

int cli_opt_float_in(int argc, char **argv, int *i, const char *name, double lo, double hi, int open, double *out) {
    double v;
    if (!cli_opt_float(argc, argv, i, name, &v)) return 0;
    int lo_bad = (open & CLI_OPEN_LO) ? !(v > lo) : !(v >= lo);
    int hi_bad = (open & CLI_OPEN_HI) ? !(v < hi) : !(v <= hi);
    if (lo_bad || hi_bad) {
        const char *s = argv[*i];
        if (!strncmp(s, name, strlen(name)) && s[strlen(name)] == '=') s += strlen(name) + 1;
        if (isinf(hi)) fprintf(stderr, "gptc: option %s: %s is out of range (%s %g)\n", name, s,
                               (open & CLI_OPEN_LO) ? "above" : "at least", lo);
        else fprintf(stderr, "gptc: option %s: %s is out of range %c%g, %g%c\n", name, s, (open & CLI_OPEN_LO) ? '(' : '[',
                     lo, hi, (open & CLI_OPEN_HI) ? ')' : ']');
        exit(2);
    }
    *out = v;
    return 1;
}

int cli_flag(char **argv, int i, const char *name) { return strcmp(argv[i], name) == 0; }

void cli_help_check(char **argv, int i, const char *usage) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
        fputs(usage, stdout);
        exit(0);
    }
}

void cli_bad_option(const char *cmd, const char *arg) {
    fprintf(stderr, "gptc %s: unknown option '%s'\ntry `gptc %s --help`\n", cmd, arg, cmd);
    exit(2);
}

void cli_die(const char *cmd, gptc_ctx *ctx, const char *fmt, ...) {
    fprintf(stderr, "gptc %s: error: ", cmd);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (ctx) fprintf(stderr, ": ");
    }
    if (ctx) fputs(gptc_errmsg(ctx), stderr);
    fputc('\n', stderr);
    exit(1);
}

gptc_ctx *cli_ctx(const char *cmd, int n_threads) {
    if (n_threads < 0 || n_threads > 4096) {
        fprintf(stderr, "gptc %s: option --threads: %d is out of range [0, 4096] (0 = all cores)\n", cmd, n_threads);
        exit(2);
    }
    gptc_ctx_params p = gptc_ctx_default_params();
    p.n_threads = n_threads;
    gptc_ctx *ctx = gptc_ctx_new(&p);
    if (!ctx) cli_die(cmd, NULL, "out of memory");
    return ctx;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}
