/* progress.h: progress reporting on stderr: a bar with rate and ETA on a terminal,
 * plain lines (at most one every few seconds) in a pipe. */
#ifndef GPTC_CLI_PROGRESS_H
#define GPTC_CLI_PROGRESS_H

typedef struct cli_progress {
    int tty;
    double t0, last;
    double total;
    const char *label, *unit;
    double interval;      /* seconds between plain lines */
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, double total, const char *unit);
/* done: units finished so far; extra: appended text (loss, lr ...) or NULL. */
void cli_progress_update(cli_progress *p, double done, const char *extra, int force);
/* Ends the bar line on a terminal (call before printing anything else). */
void cli_progress_clear(cli_progress *p);
double cli_now(void);
/* "1h02m", "3m05s", "12.3s" */
void cli_fmt_duration(char *buf, int cap, double s);

#endif
