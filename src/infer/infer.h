/* infer.h: internals of text generation shared by sample.c and generate.c: the seeded
 * random number generator (xoshiro256**, seeded by splitmix64) and log-softmax. */
#ifndef GPTC_INFER_H
#define GPTC_INFER_H

#include "../core/core.h"

typedef struct gptc_rng { uint64_t s[4]; } gptc_rng;

void gptc_rng_seed(gptc_rng *r, uint64_t seed);
uint64_t gptc_rng_next(gptc_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double gptc_rng_uniform(gptc_rng *r);

/* out[i] = x[i] - logsumexp(x) (out may be x); -INFINITY stays -INFINITY. */
void gptc_log_softmax(float *out, const float *x, int V);

#endif
