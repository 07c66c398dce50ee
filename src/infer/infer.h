/* infer.h: internals of text generation shared by sample.c, generate.c and the server's
 * scheduler (serve/): the seeded random number generator (xoshiro256**, seeded by
 * splitmix64), log-softmax and one decoding step's choice for one sequence. */
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

/* One step of greedy decoding or sampling for one sequence, as gptc_generate makes it
 * (what a scheduler that batches many requests calls per row): row (V logits, changed)
 * goes through the processors over ids (n_prompt + n_gen tokens; the penalties of
 * OpenAI over the generated part), then when sampling the warpers, then the draw, which
 * takes one uniform from rng when sampling. raw (V floats) receives the log-softmax of
 * the row as it came (the model's distribution) and *logprob its value at the chosen
 * id. scratch: 2 V ints. */
int32_t gptc_gen_pick(const gptc_gen_params *p, float *row, float *raw, int V, const int32_t *ids, int n_prompt,
                      int n_gen, int *scratch, gptc_rng *rng, float *logprob);

#endif
