/* vec.h: helpers shared by the CPU kernels (the files in cpu/): the run-time ISA dispatch
 * attribute for row workers and the counter-based dropout generator. Internal. */
#ifndef GPTC_KERNELS_VEC_H
#define GPTC_KERNELS_VEC_H

#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Row workers get one copy per ISA: GPTC_CLONED(void, name, (params), (args)) { body }
 * defines static name with one copy of body compiled for AVX-512F, one for AVX2 and one
 * portable, and name itself calling the copy gptc_cpu_isa picks (so GPTC_CPU caps it;
 * GCC's target_clones would choose by the CPU alone). The body is an always_inline
 * function inlined into each copy, where it is vectorized for that copy's target. Row
 * workers are called from inside OpenMP regions: GCC outlines a parallel body, so the
 * vectorized code must sit in a separate function. */
#if defined(__x86_64__) && defined(__GNUC__)
#define GPTC_CLONED(RET, NAME, PARAMS, ARGS)                                                                          \
    static inline __attribute__((always_inline)) RET NAME##_body PARAMS;                                              \
    __attribute__((target("avx512f"))) static RET NAME##_clone512 PARAMS { return NAME##_body ARGS; }                 \
    __attribute__((target("avx2"))) static RET NAME##_clone256 PARAMS { return NAME##_body ARGS; }                    \
    static RET NAME##_clone0 PARAMS { return NAME##_body ARGS; }                                                      \
    static RET NAME PARAMS {                                                                                          \
        static int isa_; /* gptc_cpu_isa() + 1, kept after the first call (a fixed value) */                          \
        int i_ = __atomic_load_n(&isa_, __ATOMIC_RELAXED);                                                            \
        if (!i_) __atomic_store_n(&isa_, i_ = gptc_cpu_isa() + 1, __ATOMIC_RELAXED);                                  \
        return i_ == 3 ? NAME##_clone512 ARGS : i_ == 2 ? NAME##_clone256 ARGS : NAME##_clone0 ARGS;                  \
    }                                                                                                                 \
    static inline __attribute__((always_inline)) RET NAME##_body PARAMS
#else
#define GPTC_CLONED(RET, NAME, PARAMS, ARGS) static RET NAME PARAMS
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
/* The one CPU feature test of the library: every run-time ISA choice (the kernels'
 * paths, the GPTC_CLONED row workers, the builtin sgemm, the OpenBLAS core) asks it.
 * A feature counts when the CPU (and the OS, for AVX-512's registers) has it and the
 * environment variable GPTC_CPU does not cap it away: GPTC_CPU=avx512 (or unset) allows
 * everything, avx2 the AVX2 class (AVX2, FMA, F16C: a Haswell or Zen 3), scalar none
 * (the portable C paths). Any other value leaves no feature (the scalar paths run) and
 * makes gptc_backend_init fail naming it (gptc_cpu_level returns NULL). GPTC_CPU is
 * read once, at the first call; the answer is then fixed for the process. Thread-safe. */
typedef enum {
    GPTC_CPU_AVX2,
    GPTC_CPU_FMA,
    GPTC_CPU_F16C,
    GPTC_CPU_AVX512F,
    GPTC_CPU_AVX512BW,
    GPTC_CPU_AVX512VL,
    GPTC_CPU_AVX512DQ,
    GPTC_CPU_AVX512VNNI,
    GPTC_CPU_FEATURE_COUNT
} gptc_cpu_feature;
int gptc_cpu_has(gptc_cpu_feature f);
/* GPTC_CPU's cap as a level (2 avx512 or unset, 1 avx2, 0 scalar), -1 for a value that
 * is none of them. */
int gptc_cpu_cap(void);
/* The best vector level the kernels run (gptc_cpu_has): 2 AVX-512F, 1 AVX2 + FMA, 0
 * none (portable C). */
int gptc_cpu_isa(void);
/* The best path this CPU runs (gptc_cpu_isa's levels), and one path by number, for tests
 * (a path the CPU lacks must not be asked for). */
int gptc_vexp_isa(void);
void gptc_vexp_with(float *y, const float *x, size_t n, int isa);

#endif
