/* cli.c: option parsing and error printing shared by the subcommands. */
#include "cli.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Hugging Face's underscore spellings (--max_new_tokens) are the same options. */
static int same_option(const char *arg, const char *name, size_t n) {
    for (size_t k = 0; k < n; k++) {
        char a = arg[k];
        if (!a) return 0;
        if (k >= 2 && a == '_') a = '-';
        if (a != name[k]) return 0;
    }
    return 1;
}

/* ---- the options a command parsed, recorded for run.json (cli_record_start) */
typedef struct recorded { const char *name, *value; char kind; /* s, i, f (number), b (flag) */ } recorded;
static recorded *rec;
static size_t n_rec, cap_rec;
static int recording;

static void record(const char *name, const char *value, char kind) {
    if (!recording) return;
    if (n_rec == cap_rec) {
        size_t nc = cap_rec ? 2 * cap_rec : 64;
        recorded *nr = realloc(rec, nc * sizeof *nr);
        if (!nr) cli_die("options", NULL, "out of memory");
        rec = nr;
        cap_rec = nc;
    }
    rec[n_rec].name = name;
    rec[n_rec].value = value;
    rec[n_rec++].kind = kind;
}
static void record_kind(char kind) {
    if (recording && n_rec) rec[n_rec - 1].kind = kind;
}

void cli_record_start(void) {
    recording = 1;
    n_rec = 0;
}

static int excluded(const char *name, const char *const *skip) {
    for (; *skip; skip++)
        if (!strcmp(name, *skip)) return 1;
    return 0;
}

char *cli_record_json(const char *const *skip) {
    size_t cap = 64;
    for (size_t i = 0; i < n_rec; i++) cap += 2 * strlen(rec[i].name) + 6 * strlen(rec[i].value) + 16;
    char *out = malloc(cap), *p = out;
    if (!out) return NULL;
    p += sprintf(p, "{");
    int first = 1;
    for (size_t i = 0; i < n_rec; i++) {
        if (excluded(rec[i].name, skip)) continue;
        int later = 0; /* the last occurrence wins */
        for (size_t j = i + 1; j < n_rec && !later; j++) later = !strcmp(rec[i].name, rec[j].name);
        if (later) continue;
        p += sprintf(p, "%s\"", first ? "" : ", ");
        first = 0;
        for (const char *c = rec[i].name + 2; *c; c++) *p++ = *c == '-' ? '_' : *c;
        p += sprintf(p, "\": ");
        if (rec[i].kind == 'b') p += sprintf(p, "true");
        else if (rec[i].kind == 'i') p += sprintf(p, "%ld", strtol(rec[i].value, NULL, 10));
        else if (rec[i].kind == 'f') p += sprintf(p, "%.17g", strtod(rec[i].value, NULL));
        else {
            *p++ = '"';
            for (const unsigned char *c = (const unsigned char *)rec[i].value; *c; c++) {
                if (*c == '"' || *c == '\\') p += sprintf(p, "\\%c", *c);
                else if (*c < 0x20) p += sprintf(p, "\\u%04x", *c);
                else *p++ = (char)*c;
            }
            *p++ = '"';
        }
    }
    sprintf(p, "}");
    return out;
}

/* ---- --config FILE: its options go before the command line's (which override them) */
static char **config_argv;
static int config_first, config_end; /* the config's options in the new argv */
static const char *config_path;

void cli_config_expand(const char *cmd, int *argc, char ***argv) {
    int at = -1;
    for (int i = 1; i < *argc; i++) {
        const char *v;
        int j = i;
        if (cli_opt_str(*argc, *argv, &j, "--config", &v)) {
            if (at >= 0) cli_die(cmd, NULL, "--config is given twice");
            at = i;
            config_path = v;
            i = j;
        }
    }
    if (at < 0) return;
    gptc_ctx *ctx = cli_ctx(cmd, 1);
    char **args;
    size_t n;
    if (gptc_run_config_args(ctx, config_path, &args, &n)) cli_die(cmd, ctx, "--config");
    gptc_ctx_free(ctx);
    int skip = strchr((*argv)[at], '=') ? 1 : 2;
    char **nv = malloc(((size_t)*argc + n + 1) * sizeof *nv);
    if (!nv) cli_die(cmd, NULL, "out of memory");
    int k = 0;
    nv[k++] = (*argv)[0];
    config_first = k;
    for (size_t i = 0; i < n; i++) nv[k++] = args[i];
    config_end = k;
    for (int i = 1; i < *argc; i++) {
        if (i == at) {
            i += skip - 1;
            continue;
        }
        nv[k++] = (*argv)[i];
    }
    nv[k] = NULL;
    config_argv = nv;
    *argc = k;
    *argv = nv;
}

static int match(char **argv, int i, const char *name, const char **inline_val) {
    size_t n = strlen(name);
    if (!same_option(argv[i], name, n)) return 0;
    if (argv[i][n] == 0) { *inline_val = NULL; return 1; }
    if (argv[i][n] == '=') { *inline_val = argv[i] + n + 1; return 1; }
    return 0;
}

int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out) {
    const char *iv;
    if (!match(argv, *i, name, &iv)) return 0;
    if (iv) {
        *out = iv;
        record(name, iv, 's');
        return 1;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "gptc: option %s needs a value\n", name);
        exit(2);
    }
    *out = argv[++*i];
    record(name, *out, 's');
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
    record_kind('i');
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
    record_kind('f');
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

int cli_flag(char **argv, int i, const char *name) {
    size_t n = strlen(name);
    if (!same_option(argv[i], name, n) || argv[i][n] != 0) return 0;
    record(name, "", 'b');
    return 1;
}

/* The usage text of the running subcommand, for suggestions (the CLI's own state; the
 * library keeps none). */
static const char *current_usage;

void cli_help_check(char **argv, int i, const char *usage) {
    current_usage = usage;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
        fputs(usage, stdout);
        exit(0);
    }
}

size_t cli_edit_distance(const char *a, size_t na, const char *b, size_t nb) {
    size_t row[128];
    if (na >= 127 || nb >= 127) return (size_t)-1;
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i2 = 1; i2 <= na; i2++) {
        size_t diag = row[0];
        row[0] = i2;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i2 - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

void cli_bad_option(const char *cmd, const char *arg) {
    int from_config = 0;
    for (int k = config_first; config_argv && k < config_end; k++) from_config |= config_argv[k] == arg;
    if (from_config) {
        fprintf(stderr, "gptc %s: %s: field ", cmd, config_path);
        for (const char *c = arg + 2; *c; c++) fputc(*c == '-' ? '_' : *c, stderr);
        fprintf(stderr, ": unknown option '%s'\n", arg);
    }
    else fprintf(stderr, "gptc %s: unknown option '%s'\n", cmd, arg);
    /* the nearest option named in the command's usage text */
    if (current_usage && arg[0] == '-' && arg[1] == '-') {
        char want[128];
        size_t n = 0;
        for (const char *p = arg; *p && *p != '=' && n + 1 < sizeof want; p++, n++) want[n] = (n >= 2 && *p == '_') ? '-' : *p;
        want[n] = 0;
        const char *best = NULL;
        size_t best_len = 0, best_d = (size_t)-1;
        for (const char *p = strstr(current_usage, "--"); p; p = strstr(p + 2, "--")) {
            size_t len = 2;
            while ((p[len] >= 'a' && p[len] <= 'z') || (p[len] >= '0' && p[len] <= '9') || p[len] == '-') len++;
            if (len <= 2) continue;
            size_t d = cli_edit_distance(want, n, p, len);
            if (d < best_d) {
                best_d = d;
                best = p;
                best_len = len;
            }
        }
        if (best && best_d > 0 && best_d <= (n > 9 ? 3 : 2))
            fprintf(stderr, "did you mean %.*s?\n", (int)best_len, best);
    }
    fprintf(stderr, "try `gptc %s --help`\n", cmd);
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

void cli_die_model(const char *cmd, gptc_ctx *ctx, const char *dir) {
    fprintf(stderr, "gptc %s: error: %s\n", cmd, ctx ? gptc_errmsg(ctx) : "cannot load the model");
    char cfg[4200], sub_cfg[4300];
    struct stat st;
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(sub_cfg, sizeof sub_cfg, "%s/model/config.json", dir);
    if (stat(cfg, &st) != 0 && stat(sub_cfg, &st) == 0) {
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/') n--;
        fprintf(stderr, "did you mean --model %.*s/model? (%s is a run directory; its model is in %.*s/model)\n", (int)n,
                dir, dir, (int)n, dir);
    }
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

void cli_json_string(FILE *f, const char *s) { cli_json_bytes(f, s, strlen(s)); }

void cli_json_bytes(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s, *e = p + n; p < e; p++) {
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
