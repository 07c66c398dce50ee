/* pool.h: gptc's own worker threads for the many small parallel regions of decoding (one
 * matrix-vector product, one layer's attention heads), where an OpenMP fork and join per
 * region cost more than the region's work allows. See pool.c for the waiting policy. */
#ifndef GPTC_POOL_H
#define GPTC_POOL_H

/* Items [lo, hi) of a job; arg is the caller's. Called from the caller's thread and from
 * up to nt - 1 workers at once, each call with its own range. */
typedef void (*gptc_pool_fn)(void *arg, int lo, int hi);

/* Runs fn over items [0, n) in chunks of grain items (the last one shorter), which the
 * calling thread and up to nt - 1 workers claim one at a time, and returns when all have
 * run. Which thread runs a chunk is not fixed, so fn's results must not depend on it.
 * Calls fn(arg, 0, n) once in the calling thread when nt <= 1, when there is one chunk,
 * or when the pool is running another job (another thread's, or this job's own fn
 * calling back). */
void gptc_pool_run(int nt, int n, int grain, gptc_pool_fn fn, void *arg);

/* The grain for kernels that stream long contiguous ranges (a [in, out] weight's columns:
 * each chunk a pass down every row): one chunk per thread, the longest runs (four per
 * thread decoded f32 6% slower on a Zen 4, quiet and beside a busy process alike); a
 * thread that comes late still leaves its chunk to the others, who claim it. */
static inline int gptc_pool_wide(int nt, int n) {
    int g = nt > 1 ? (n + nt - 1) / nt : n;
    return g > 0 ? g : 1;
}

/* Workers started so far, and those asleep now (tests). */
int gptc_pool_workers(void);
int gptc_pool_asleep(void);

#endif
