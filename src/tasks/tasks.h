/* tasks.h: the internals of the fine-tuning tasks; their API is in include/gptc.h. */
#ifndef GPTC_TASKS_H
#define GPTC_TASKS_H

#include "../core/core.h"
#include "../train/train.h"

struct gptc_task_source {
    gptc_data_source ds;
    const gptc_task_data *train, *val;
    int32_t pad;
    uint64_t seed;
    size_t *perm, *idx;
    uint64_t perm_epoch;  /* epoch + 1 whose permutation is in perm; 0: none */
    int metric, n_labels;
    long *confusion;      /* n_labels^2 */
};

/* The order of epoch e over n rows: Fisher-Yates driven by (seed, e) only, so a resumed
 * run sees the same batches (source.c; pretrain.c uses it too). */
void gptc_epoch_perm(size_t *perm, size_t n, uint64_t seed, uint64_t e);

#endif
