/* bench_args.h: what the bench programs (bench/bench_*.c) share: their command line
 * ("--name value" options into ints, doubles or strings, each value checked whole; a
 * usage line made from the table on anything else), a monotonic clock and the fatal
 * error of a failed library call. Header-only: run.sh and the Makefile build each bench
 * from its one .c file against build/libgptc.a.
 *
 *   static const bench_opt opts[] = {{"--batch", 'i', &B, "N"}, {"--preset", 's', &preset, "NAME"}};
 *   int rc = bench_args(argc, argv, "bench_x", opts, BENCH_NOPTS(opts));
 *   if (rc) return rc;   (2: a bad command line, already reported on stderr) */
#ifndef GPTC_BENCH_ARGS_H
#define GPTC_BENCH_ARGS_H
#if !defined(_POSIX_C_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime; include this header first */
#endif
#include "gptc.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name; /* "--batch" */
    char type;        /* 'i' int, 'd' double, 's' string (const char *, pointing into argv) */
    void *dst;        /* int *, double * or const char ** */
    const char *meta; /* what the usage line shows for the value: "N", "GB/s", "gpt2|gpt2-medium" */
} bench_opt;

#define BENCH_NOPTS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *bench_prog = "bench";

static inline void bench_usage(const bench_opt *o, int n) {
    fprintf(stderr, "usage: %s", bench_prog);
    for (int i = 0; i < n; i++) fprintf(stderr, " [%s %s]", o[i].name, o[i].meta);
    fputc('\n', stderr);
}

/* Parses argv[1..] into the table's destinations (their initial values are the
 * defaults). 0, or 2 after an error line naming the option and the usage line. */
static inline int bench_args(int argc, char **argv, const char *prog, const bench_opt *o, int n) {
    bench_prog = prog;
    for (int i = 1; i < argc; i++) {
        int k = 0;
        while (k < n && strcmp(argv[i], o[k].name)) k++;
        if (k == n) {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[i]);
            bench_usage(o, n);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (%s)\n", prog, argv[i], o[k].meta);
            return 2;
        }
        const char *v = argv[++i];
        char *end = NULL;
        errno = 0;
        if (o[k].type == 'i') {
            long x = strtol(v, &end, 10);
            if (end == v || *end || errno || x < INT_MIN || x > INT_MAX) {
                fprintf(stderr, "%s: %s wants a whole number, not '%s'\n", prog, o[k].name, v);
                return 2;
            }
            *(int *)o[k].dst = (int)x;
        } else if (o[k].type == 'd') {
            double x = strtod(v, &end);
            if (end == v || *end || errno || !isfinite(x)) {
                fprintf(stderr, "%s: %s wants a number, not '%s'\n", prog, o[k].name, v);
                return 2;
            }
            *(double *)o[k].dst = x;
        } else {
            *(const char **)o[k].dst = v;
        }
    }
    return 0;
}

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "PROG: WHAT: the context's message" on stderr, exit 1. ctx may be NULL. */
static inline void bench_die(gptc_ctx *ctx, const char *what) {
    fprintf(stderr, "%s: %s%s%s\n", bench_prog, what, ctx ? ": " : "", ctx ? gptc_errmsg(ctx) : "");
    exit(1);
}
#endif
