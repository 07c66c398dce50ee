/* task_cli.c: the dataset options the task commands share (prediction itself is the
 * library's, tasks/predict.c). */
#include "task_cli.h"
#include "cli.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int task_cli_table_opt(const char *cmd, int argc, char **argv, int *i, gptc_table_opts *t) {
    const char *sv;
    if (cli_opt_str(argc, argv, i, "--format", &sv)) {
        if (!strcmp(sv, "csv")) t->format = GPTC_FMT_CSV;
        else if (!strcmp(sv, "tsv")) t->format = GPTC_FMT_TSV;
        else if (!strcmp(sv, "jsonl")) t->format = GPTC_FMT_JSONL;
        else cli_die(cmd, NULL, "--format %s: expected csv, tsv or jsonl", sv);
        return 1;
    }
    if (cli_opt_str(argc, argv, i, "--text-column", &t->text_col)) return 1;
    if (cli_opt_str(argc, argv, i, "--label-column", &t->label_col)) return 1;
    if (cli_opt_str(argc, argv, i, "--text-pair-column", &t->pair_col)) return 1;
    if (cli_flag(argv, *i, "--no-header")) { t->no_header = 1; return 1; }
    if (cli_flag(argv, *i, "--skip-bad-lines")) { t->skip_bad = 1; return 1; }
    return 0;
}

void task_cli_need_gpt2(const char *cmd, const gptc_model *m, const char *dir, int encoder_ok) {
    if (gptc_model_config(m)->arch == GPTC_ARCH_BERT && !encoder_ok)
        cli_die(cmd, NULL, "%s is a %s: chat fine-tuning trains a causal language model; a BERT is an encoder "
                "(its tasks: classify, qa, pre-training, fill-mask)", dir, gptc_model_class(m));
}
