/* progress.c: see progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"
#include <stdio.h>
#include <time.h>
#include <unistd.h>

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_fmt_duration(char *buf, int cap, double s) {
    if (s < 0 || s != s) s = 0;
    if (s < 60) snprintf(buf, (size_t)cap, "%.1fs", s);
    else if (s < 3600) snprintf(buf, (size_t)cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, (size_t)cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

void cli_progress_start(cli_progress *p, const char *label, double total, const char *unit) {
    p->tty = isatty(2);
    p->t0 = cli_now();
    p->last = 0;
    p->total = total;
    p->label = label;
    p->unit = unit;
    p->interval = 5.0;
}

void cli_progress_update(cli_progress *p, double done, const char *extra, int force) {
    double now = cli_now(), el = now - p->t0;
    if (!force && now - p->last < (p->tty ? 0.1 : p->interval)) return;
    p->last = now;
    double rate = el > 0 ? done / el : 0, frac = p->total > 0 ? done / p->total : 0;
    if (frac > 1) frac = 1;
    char e[32], eta[32];
    cli_fmt_duration(e, sizeof e, el);
    cli_fmt_duration(eta, sizeof eta, rate > 0 ? (p->total - done) / rate : 0);
    if (p->tty) {
        char bar[26];
        int fill = (int)(frac * 24);
        for (int i = 0; i < 24; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[24] = 0;
        fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %.0f/%.0f %s | %.1f %s/s | %s elapsed, ETA %s%s%s", p->label, bar,
                frac * 100, done, p->total, p->unit, rate, p->unit, e, eta, extra ? " | " : "", extra ? extra : "");
    } else {
        fprintf(stderr, "%s: %.0f/%.0f %s (%.0f%%), %.1f %s/s, %s elapsed, ETA %s%s%s\n", p->label, done, p->total,
                p->unit, frac * 100, rate, p->unit, e, eta, extra ? ", " : "", extra ? extra : "");
    }
    fflush(stderr);
}

void cli_progress_clear(cli_progress *p) {
    if (p->tty) fprintf(stderr, "\r\033[K");
}
