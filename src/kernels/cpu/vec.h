/* vec.h: helpers shared by the CPU kernels (the files in cpu/): the run-time ISA dispatch
 * attribute for row workers and the counter-based dropout generator. Internal. */
#ifndef GPTC_KERNELS_VEC_H
#define GPTC_KERNELS_VEC_H

#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Row workers get one clone per ISA, picked when the program loads. They are called
 * from inside OpenMP regions: GCC outlines a parallel body before cloning, so the
 * vectorized code must sit in a separate, cloned function. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GPTC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GPTC_CLONES
#endif

/* The calling OpenMP thread's share [*lo, *hi) of n items, split evenly in thread
 * order (outside a parallel region: all of them). */
static inline void gptc_thread_share(long n, int *lo, int *hi) {
    int t = 0, k = 1;
#ifdef _OPENMP
    t = omp_get_thread_num();
    k = omp_get_num_threads();
#endif
    *lo = (int)(n * t / k);
    *hi = (int)(n * (t + 1) / k);
}

/* Elements per OpenMP work item for flat arrays; below GPTC_PAR_MIN, stay serial. */
enum { GPTC_CHUNK = 8192, GPTC_PAR_MIN = 32768 };

/* Dropout keep decision for element idx of stream seed: splitmix64 of
 * seed + idx * golden ratio, top 24 bits as a uniform u in [0, 1); keep iff u >= p. */
static inline int gptc_dropout_keep(uint64_t seed, uint64_t idx, float p) {
    uint64_t z = seed + (idx + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f) >= p;
}

/* y[i] = exp(x[i]) (y may equal x), vectorized for the CPU at hand (vexp.c); about
 * 1 ulp, inputs clamped to [-87.3, 88.7]. */
void gptc_vexp(float *y, const float *x, size_t n);
/* The best vector level this CPU runs: 2 AVX-512F, 1 AVX2 + FMA, 0 none (portable C). */
int gptc_cpu_isa(void);
/* The best path this CPU runs (gptc_cpu_isa's levels), and one path by number, for tests
 * (a path the CPU lacks must not be asked for). */
int gptc_vexp_isa(void);
void gptc_vexp_with(float *y, const float *x, size_t n, int isa);

#endif
