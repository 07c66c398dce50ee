/* vexp.c: the CPU feature test of the library (gptc_cpu_has, under GPTC_CPU's cap), and
 * y = exp(x) on arrays, vectorized with AVX-512 or AVX2+FMA when the CPU has
 * them (chosen at run time), libm expf otherwise; the tail goes through the vector code padded. The polynomial is
 * Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial), accurate to
 * about 1 ulp over the clamped range [-87.3, 88.7]; below that it returns ~1e-38, not 0. */
#include "vec.h"
#include "gptc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
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

/* ---------------------------------------------------------------- CPU features */
/* GPTC_CPU's names, by level */
static const char *const cpu_levels[] = {"scalar", "avx2", "avx512"};

static int parse_cap(const char *v) {
    if (!v || !v[0]) return 2;
    for (int l = 0; l < 3; l++)
        if (!strcasecmp(v, cpu_levels[l])) return l;
    return -1;
}

/* bit f: feature f present and allowed; bits 16-17: the cap + 1; bit 30: computed */
static int features_now(void) {
    int cap = parse_cap(getenv("GPTC_CPU")), m = 0;
#ifdef GPTC_X86
    __builtin_cpu_init();
    unsigned a, b, c, d;
    int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)); /* clang's builtin has no "f16c" */
    int hw[GPTC_CPU_FEATURE_COUNT] = {
        [GPTC_CPU_AVX2] = __builtin_cpu_supports("avx2"),
        [GPTC_CPU_FMA] = __builtin_cpu_supports("fma"),
        [GPTC_CPU_F16C] = f16c,
        [GPTC_CPU_AVX512F] = __builtin_cpu_supports("avx512f"),
        [GPTC_CPU_AVX512BW] = __builtin_cpu_supports("avx512bw"),
        [GPTC_CPU_AVX512VL] = __builtin_cpu_supports("avx512vl"),
        [GPTC_CPU_AVX512DQ] = __builtin_cpu_supports("avx512dq"),
        [GPTC_CPU_AVX512VNNI] = __builtin_cpu_supports("avx512vnni"),
    };
    for (int f = 0; f < GPTC_CPU_FEATURE_COUNT; f++) {
        int level = f >= GPTC_CPU_AVX512F ? 2 : 1;
        if (hw[f] && cap >= level) m |= 1 << f;
    }
#endif
    return m | (cap + 1) << 16 | 1 << 30;
}

/* Computed once; two threads computing it at once get the same value. */
static int features(void) {
    static int cached;
    int m = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!m) {
        m = features_now();
        __atomic_store_n(&cached, m, __ATOMIC_RELAXED);
    }
    return m;
}

int gptc_cpu_has(gptc_cpu_feature f) { return (unsigned)f < GPTC_CPU_FEATURE_COUNT && (features() >> f & 1); }

int gptc_cpu_cap(void) { return (features() >> 16 & 3) - 1; }

int gptc_cpu_isa(void) {
    if (gptc_cpu_has(GPTC_CPU_AVX512F)) return 2;
    if (gptc_cpu_has(GPTC_CPU_AVX2) && gptc_cpu_has(GPTC_CPU_FMA)) return 1;
    return 0;
}

const char *gptc_cpu_level(void) { return gptc_cpu_cap() < 0 ? NULL : cpu_levels[gptc_cpu_isa()]; }

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
