/* hub_cli.c: what the commands share about the Hugging Face Hub: cli_model, the one
 * place every model-path option (--model, --init, --tokenizer) is resolved (a path, or
 * a repository name from the cache or pulled), and the pull's progress on stderr. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "progress.h"
#include <stdlib.h>
#include <string.h>

void cli_hub_progress(void *user, const gptc_hub_event *ev) {
    cli_hub_state *s = user;
    if (!s->announced && s->announce) {
        fprintf(stderr, "%s: pulling %s from the Hugging Face Hub into the cache\n", s->cmd, s->name);
        s->announced = 1;
    }
    if (s->quiet) return;
    double mb = 1e-6;
    switch (ev->kind) {
    case GPTC_HUB_FILE_START:
        snprintf(s->label, sizeof s->label, "[%zu/%zu] %s", ev->index + 1, ev->count, ev->file);
        cli_progress_start(&s->bar, s->label, (double)ev->total * mb, "MB");
        s->bar.last = s->bar.t0; /* the first line after an interval, not at 0 bytes */
        s->active = 1;
        break;
    case GPTC_HUB_FILE_BYTES:
        if (s->active) cli_progress_update(&s->bar, (double)ev->done * mb, NULL, 0);
        break;
    case GPTC_HUB_FILE_RETRY:
        if (s->active) cli_progress_clear(&s->bar);
        fprintf(stderr, "%s: %s: %s after %llu bytes; resuming\n", s->cmd, ev->file, ev->message,
                (unsigned long long)ev->done);
        break;
    case GPTC_HUB_FILE_DONE:
        if (s->active) cli_progress_clear(&s->bar);
        s->active = 0;
        fprintf(stderr, "[%zu/%zu] %s: %llu bytes%s\n", ev->index + 1, ev->count, ev->file,
                (unsigned long long)ev->total, ev->cached ? " (in the cache)" : "");
        break;
    }
}

static const char *resolve(const char *cmd, const char *arg, int tokenizer_only) {
    /* a few at once (prepare takes --model and --tokenizer); the process's lifetime */
    static char bufs[4][4096];
    static int next;
    if (!arg) return NULL;
    char *out = bufs[next++ & 3];
    gptc_ctx_params cp = gptc_ctx_default_params();
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    if (!ctx) cli_die(cmd, NULL, "out of memory");
    cli_hub_state s;
    memset(&s, 0, sizeof s);
    s.cmd = cmd;
    s.name = arg;
    s.announce = 1;
    gptc_hub_params hp = gptc_hub_default_params();
    hp.tokenizer_only = tokenizer_only;
    hp.progress = cli_hub_progress;
    hp.user = &s;
    if (gptc_hub_resolve(ctx, arg, &hp, out, sizeof bufs[0], NULL)) cli_die(cmd, ctx, NULL);
    gptc_ctx_free(ctx);
    return out;
}

const char *cli_model(const char *cmd, const char *arg) { return resolve(cmd, arg, 0); }
const char *cli_tokenizer(const char *cmd, const char *arg) { return resolve(cmd, arg, 1); }
