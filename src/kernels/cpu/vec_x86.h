/* vec_x86.h: small x86 SIMD helpers shared by the CPU kernels that pick their path at
 * run time (wlinear.c, qlinear.c); each carries its own target attribute, so it inlines
 * into AVX2 and AVX-512 functions alike. Internal. */
#ifndef GPTC_KERNELS_VEC_X86_H
#define GPTC_KERNELS_VEC_X86_H
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* the sum of the 8 lanes */
static inline __attribute__((always_inline, target("avx2"))) float gptc_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif
#endif
