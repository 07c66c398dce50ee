/* schedule.c: learning-rate schedules with warmup, step for step as Hugging Face's
 * get_constant/linear/cosine_schedule_with_warmup (and the cosine-with-min-lr variant). */
#include "train.h"
#include <math.h>
#include <string.h>

float gptc_schedule_lr(const gptc_schedule *s, long step) {
    if (step < s->warmup) return s->lr * (float)((double)step / (double)(s->warmup > 1 ? s->warmup : 1));
    if (s->kind == GPTC_SCHED_CONSTANT) return s->lr;
    double span = (double)(s->total - s->warmup > 1 ? s->total - s->warmup : 1);
    double progress = (double)(step - s->warmup) / span;
    double factor;
    if (s->kind == GPTC_SCHED_LINEAR) {
        factor = (double)(s->total - step) / span;
        if (factor < 0) factor = 0;
    } else {
        factor = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
        if (factor < 0) factor = 0;
    }
    double min_rate = s->lr > 0 ? (double)s->min_lr / (double)s->lr : 0;
    if (min_rate > 0) factor = factor * (1.0 - min_rate) + min_rate;
    return (float)(s->lr * factor);
}

int gptc_schedule_parse(const char *name, gptc_sched_kind *out) {
    if (!strcmp(name, "constant")) *out = GPTC_SCHED_CONSTANT;
    else if (!strcmp(name, "linear")) *out = GPTC_SCHED_LINEAR;
    else if (!strcmp(name, "cosine")) *out = GPTC_SCHED_COSINE;
    else return 0;
    return 1;
}
