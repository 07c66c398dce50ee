/* train_cli.h: what the commands that run the trainer share (gptc finetune; gptc train
 * may use it too): the optimizer/schedule/evaluation options and the progress printer. */
#ifndef GPTC_CLI_TRAIN_CLI_H
#define GPTC_CLI_TRAIN_CLI_H

#include "progress.h"
#include "cli.h"

/* Parses one trainer option at argv[*i] into o (--batch-size, --grad-accum, --max-steps,
 * --epochs, --lr, --min-lr, --warmup-steps, --lr-schedule, --weight-decay, --beta1,
 * --beta2, --eps, --grad-clip, --dropout, --seed, --eval-every, --eval-batches,
 * --save-every, --keep-last, --patience, --threads). Returns 1 when it was one. */
int train_cli_opt(const char *cmd, int argc, char **argv, int *i, gptc_train_opts *o, long *threads);
/* Checks what single options cannot (--min-lr <= --lr; a resumed run.json's values);
 * prints the reason and exits 2. */
void train_cli_check(const char *cmd, const gptc_train_opts *o);
#define TRAIN_CLI_USAGE                                                                                    \
    "  --batch-size N (8)  --grad-accum N (1)  --epochs F  --max-steps N (0: from --epochs)\n"             \
    "  --lr F  --min-lr F (0)  --warmup-steps N (0)  --lr-schedule linear|cosine|constant\n"              \
    "  --weight-decay F  --beta1 F (0.9)  --beta2 F  --eps F (1e-8)  --grad-clip F (1.0; 0 = off)\n"      \
    "  --dropout F (default: the model's)  --seed N (1337)  --threads N (all cores)\n"                    \
    "  --eval-every N (default: once an epoch)  --eval-batches N (default: all)\n"                       \
    "  --save-every N  --keep-last K (2)  --patience N (stop after N evaluations without a better value)\n" \
    TRAIN_CLI_MPI_USAGE
#define TRAIN_CLI_MPI_USAGE                                                                                \
    "under mpirun (docs/training.md): --batch-size and --threads are per rank\n"                          \
    "  --zero 0|1 (0; 1: each rank keeps its share of the AdamW moments, ZeRO stage 1)\n"               \
    "  --mpi-timeout S (300: fail when another rank does not answer for S seconds)\n"                    \
    "  --mpi-overlap 0|1 (1: send each block's gradients as soon as backward has them)\n"

typedef struct train_cli_state {
    cli_progress bar;
    long start_step;
    const char *cmd;
    gptc_ctx *ctx;            /* with tok: samples are decoded and printed */
    gptc_tokenizer *tok;
    int quiet;
    double last_metric, last_val_loss;
    long done_step;
    int interrupted;          /* SIGINT/SIGTERM: a checkpoint was written, the run stopped */
    int silent;               /* an MPI rank other than 0: prints nothing */
} train_cli_state;
/* Joins the MPI job when mpirun started gptc (sets o->dist; NULL otherwise), makes
 * ranks other than 0 silent, and divides the cores among the ranks of this machine
 * when --threads is not given. */
gptc_dist *train_cli_dist(const char *cmd, gptc_train_opts *o, long *threads, train_cli_state *cs);
/* The options the command line gave (recorded since cli_record_start) for run.json,
 * without --out, --resume, --config, --json, --threads and --mpi-timeout; free(). */
char *train_cli_run_options(void);
/* Prints ctx's error (naming the rank under MPI), ends every rank (MPI_Abort) and exits 1. */
_Noreturn void train_cli_fail(const char *cmd, gptc_ctx *ctx, gptc_dist *d);
/* The trainer's event callback: progress on stderr (user: a train_cli_state). */
void train_cli_event(void *user, const gptc_train_event *ev);
/* The result of a finished run on stdout (nothing on a silent rank): {"model", "steps",
 * "val_loss", metric_name (when given and finite)} with json, else the model and metrics
 * paths. */
void train_cli_print_result(const char *out_dir, const train_cli_state *cs, const char *metric_name, int json);
/* SIGINT and SIGTERM set o->stop: the trainer writes a checkpoint and returns. */
void train_cli_signals(gptc_train_opts *o);

#endif
