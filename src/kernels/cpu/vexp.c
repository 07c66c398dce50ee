/* vexp.c: y = exp(x) on arrays, vectorized with AVX-512 or AVX2+FMA when the CPU has
 * them (chosen at run time), libm expf otherwise; the tail goes through the vector code padded. The polynomial is
 * Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial), accurate to
 * about 1 ulp over the clamped range [-87.3, 88.7]; below that it returns ~1e-38, not 0. */
#include "vec.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GPTC_X86 1
#endif

#define EXP_HI 88.3762626647949f
#define EXP_LO -87.3365478515625f
#define LOG2E 1.44269504088896341f
#define C1 0.693359375f
#define C2 -2.12194440e-4f
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

#ifdef GPTC_X86
__attribute__((target("avx512f"))) static size_t vexp_avx512(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(EXP_LO)), _mm512_set1_ps(EXP_HI));
        __m512 fx = _mm512_fmadd_ps(v, _mm512_set1_ps(LOG2E), _mm512_set1_ps(0.5f));
        fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(C1), v);
        r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(C2), r);
        __m512 z = _mm512_mul_ps(r, r);
        __m512 p = _mm512_set1_ps(P0);
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P1));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P2));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P3));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P4));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P5));
        p = _mm512_fmadd_ps(p, z, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
        __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
        _mm512_storeu_ps(y + i, _mm512_mul_ps(p, _mm512_castsi512_ps(e)));
    }
    return i;
}

__attribute__((target("avx2,fma"))) static size_t vexp_avx2(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
        __m256 fx = _mm256_fmadd_ps(v, _mm256_set1_ps(LOG2E), _mm256_set1_ps(0.5f));
        fx = _mm256_floor_ps(fx);
        __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(C1), v);
        r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(C2), r);
        __m256 z = _mm256_mul_ps(r, r);
        __m256 p = _mm256_set1_ps(P0);
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P5));
        p = _mm256_fmadd_ps(p, z, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
        __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
    }
    return i;
}
#endif

int gptc_cpu_isa(void) {
#ifdef GPTC_X86
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

int gptc_vexp_isa(void) { return gptc_cpu_isa(); }

void gptc_vexp_with(float *y, const float *x, size_t n, int isa) {
    size_t i = 0;
#ifdef GPTC_X86
    if (isa == 2) i = vexp_avx512(y, x, n);
    else if (isa == 1) i = vexp_avx2(y, x, n);
    if (isa >= 1 && i < n) {
        /* the last n % 16 through the same vector code (zero-padded), so an element's
         * result does not depend on where it lies in the array: a row of a batch gets
         * the bits it gets alone */
        float bx[16] = {0}, by[16];
        memcpy(bx, x + i, (n - i) * sizeof(float));
        if (isa == 2) vexp_avx512(by, bx, 16);
        else vexp_avx2(by, bx, 16);
        memcpy(y + i, by, (n - i) * sizeof(float));
        i = n;
    }
#endif
    for (; i < n; i++) y[i] = expf(fminf(fmaxf(x[i], EXP_LO), EXP_HI)); /* clamped as the vector paths */
}

void gptc_vexp(float *y, const float *x, size_t n) { gptc_vexp_with(y, x, n, gptc_vexp_isa()); }
