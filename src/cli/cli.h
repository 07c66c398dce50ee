/* cli.h: what the subcommands share: option parsing helpers, error printing, and
 * the subcommand entry points (one file each: cmd_<name>.c). The CLI prints; the
 * library never does. */
#ifndef GPTC_CLI_H
#define GPTC_CLI_H

#include "gptc.h"
#include "progress.h"
#include <stdio.h>

typedef int (*gptc_cmd_fn)(int argc, char **argv);

int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_tokenizer_train(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_attention(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_fill_mask(int argc, char **argv);
int cmd_translate(int argc, char **argv);
int cmd_answer(int argc, char **argv);
int cmd_merge_lora(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* Option parsing over argv[1..argc): at position *i, when argv[*i] is name (as
 * "--name VALUE" or "--name=VALUE"), stores the value, advances *i past it and
 * returns 1; a missing value prints an error and exits 2. */
int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out);
int cli_opt_int(int argc, char **argv, int *i, const char *name, long *out);
int cli_opt_float(int argc, char **argv, int *i, const char *name, double *out);
int cli_flag(char **argv, int i, const char *name);
/* The same with a range check: a value outside [lo, hi] (float: open ends by the
 * CLI_OPEN_* flags; NaN and Inf are never accepted) prints the option, the value and
 * the allowed range, and exits 2. */
#define CLI_OPEN_LO 1
#define CLI_OPEN_HI 2
int cli_opt_int_in(int argc, char **argv, int *i, const char *name, long lo, long hi, long *out);
int cli_opt_float_in(int argc, char **argv, int *i, const char *name, double lo, double hi, int open, double *out);
/* "--help"/"-h" at position i: prints usage to stdout and exits 0. */
void cli_help_check(char **argv, int i, const char *usage);
/* Prints "gptc <cmd>: unknown option X" + "try `gptc <cmd> --help`" to stderr, exit 2. */
_Noreturn void cli_bad_option(const char *cmd, const char *arg);
/* Prints "gptc <cmd>: error: <msg>" to stderr and exits 1 (msg from ctx when non-NULL). */
_Noreturn void cli_die(const char *cmd, gptc_ctx *ctx, const char *fmt, ...);
/* cli_die for a model directory that did not load: when DIR/model holds a model (a
 * run directory of train or finetune), adds "did you mean --model DIR/model?". */
_Noreturn void cli_die_model(const char *cmd, gptc_ctx *ctx, const char *dir);
/* Edit distance of a[0..na) and b[0..nb) (short strings; (size_t)-1 past 126 bytes). */
size_t cli_edit_distance(const char *a, size_t na, const char *b, size_t nb);
/* A context with the thread count from --threads (0 = all) or exits. */
gptc_ctx *cli_ctx(const char *cmd, int n_threads);
/* The one resolution of a model-path option (--model, --init, --tokenizer; hub_cli.c):
 * an existing path is itself; a repository name (ORG/NAME[@REV], docs/hub.md) is the
 * snapshot directory in Hugging Face's cache, pulled first when missing (progress on
 * stderr) unless HF_HUB_OFFLINE is set; an error exits 1 naming both readings. NULL for
 * NULL. The string lives as long as the process (four at a time). */
const char *cli_model(const char *cmd, const char *arg);
/* The line every --help with a model-path option carries. */
#define CLI_REPO_NOTE                                                                           \
    "REPO: a Hugging Face Hub repository (NAME, ORG/NAME, ORG/NAME@REVISION) where no such\n"   \
    "directory exists: its snapshot in Hugging Face's cache, pulled first when missing unless\n" \
    "HF_HUB_OFFLINE=1 (see `gptc pull --help` and docs/hub.md).\n"
/* The same for options that read only a tokenizer (--tokenizer, tokenize --model): a
 * snapshot with tokenizer files is enough, and a pull fetches no weights. */
const char *cli_tokenizer(const char *cmd, const char *arg);
/* The progress of a pull on stderr (a bar per file on a terminal, lines in a pipe). */
typedef struct cli_hub_state {
    const char *cmd, *name;
    int announce, announced, quiet, active;
    cli_progress bar;
    char label[320];
} cli_hub_state;
void cli_hub_progress(void *user, const gptc_hub_event *ev);
/* --config FILE (a JSON object whose fields are option names, gptc_run_config_args):
 * replaces argv with its options followed by the command line's without --config, so
 * that the command line overrides the file. Errors exit. */
void cli_config_expand(const char *cmd, int *argc, char ***argv);
/* From now on the option parsers record what they match; cli_record_json gives the
 * recorded options (the last of each name, none named in skip, a NULL-terminated list
 * of "--name"s) as a JSON object with the names as run.json writes them (batch_size),
 * malloc'ed. */
void cli_record_start(void);
char *cli_record_json(const char *const *skip);
/* Prints a JSON string with escapes to f. */
void cli_json_string(FILE *f, const char *s);
/* The same for n bytes (NUL bytes escaped). */
void cli_json_bytes(FILE *f, const char *s, size_t n);

#endif
