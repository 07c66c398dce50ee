/* attend.c: one query row and head over nk cached keys (decoding, small query blocks):
 * scores q . k_t * scale, the key mask, softmax, the weighted sum of the values. The
 * head's query (scores) and then its output (weighted sum) stay in registers, up to
 * 128 elements (AVX-512: 8 vectors of 16, AVX2: 16 of 8; a head size that is not a
 * multiple of the width through masked loads); wider heads and CPUs without AVX2 take
 * the portable loops. exp is gptc_vexp's on every path. */
#include "../kernels.h"
#include "vec.h"
#include "vec_x86.h"
#include <math.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AT_X86 1
#endif

enum { HS_MAX = 128 };

/* softmax of scores[0, nk) in place (mx their maximum; masked keys at -inf); every key
 * masked: uniform, as Hugging Face's (1 - mask) * finfo.min gives. Returns 1 / sum. */
static float softmax_scores(float *scores, int nk, float mx) {
    if (mx == -INFINITY) {
        for (int t = 0; t < nk; t++) scores[t] = 0;
        mx = 0;
    }
    for (int t = 0; t < nk; t++) scores[t] -= mx;
    gptc_vexp(scores, scores, (size_t)nk);
    float z = 0;
    for (int t = 0; t < nk; t++) z += scores[t];
    return 1.0f / z;
}

/* key t's score d (q . k before the scale) into scores[t]; the running maximum in *mx */
static inline void keep_score(float *scores, float *mx, int t, float d, float scale, const float *key_mask) {
    d *= scale;
    if (key_mask && key_mask[t] == 0.0f) d = -INFINITY;
    scores[t] = d;
    if (d > *mx) *mx = d;
}

static void attend_portable(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                            float scale, const float *key_mask, float *scores) {
    float mx = -INFINITY;
    for (int t = 0; t < nk; t++) {
        const float *k = K + (size_t)t * kv_row;
        float lanes[8] = {0};
        int i = 0;
        for (; i + 8 <= hs; i += 8)
            for (int u = 0; u < 8; u++) lanes[u] += q[i + u] * k[i + u];
        float d = 0;
        for (; i < hs; i++) d += q[i] * k[i];
        for (int u = 0; u < 8; u++) d += lanes[u];
        keep_score(scores, &mx, t, d, scale, key_mask);
    }
    for (int i = 0; i < hs; i++) out[i] = 0;
    if (nk <= 0) return;
    float inv = softmax_scores(scores, nk, mx);
    for (int t = 0; t < nk; t++) {
        float w = scores[t] * inv;
        if (w == 0.0f) continue;
        const float *v = V + (size_t)t * kv_row;
        for (int i = 0; i < hs; i++) out[i] += w * v[i];
    }
}

#ifdef AT_X86
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

AVX512_INLINE void attend_512(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                              float scale, const float *key_mask, float *scores, const int NV) {
    const __mmask16 last = (__mmask16)(hs % 16 ? (1u << (hs % 16)) - 1 : 0xFFFF);
    __m512 r[8];
    float mx = -INFINITY;
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) r[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, q + 16 * v);
    for (int t = 0; t < nk; t++) {
        const float *k = K + (size_t)t * kv_row;
        __m512 acc = _mm512_mul_ps(r[0], _mm512_maskz_loadu_ps(NV == 1 ? last : 0xFFFF, k));
#pragma GCC unroll 8
        for (int v = 1; v < NV; v++)
            acc = _mm512_fmadd_ps(r[v], _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, k + 16 * v), acc);
        keep_score(scores, &mx, t, _mm512_reduce_add_ps(acc), scale, key_mask);
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) r[v] = _mm512_setzero_ps();
    if (nk > 0) {
        float inv = softmax_scores(scores, nk, mx);
        for (int t = 0; t < nk; t++) {
            float w = scores[t] * inv;
            if (w == 0.0f) continue;
            const float *vr = V + (size_t)t * kv_row;
            __m512 wv = _mm512_set1_ps(w);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                r[v] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, vr + 16 * v), r[v]);
        }
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(out + 16 * v, v == NV - 1 ? last : 0xFFFF, r[v]);
}

AVX2_INLINE __m256i lane_mask(int n) { /* lanes below n set */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2_INLINE void attend_avx2(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                             float scale, const float *key_mask, float *scores, const int NV) {
    const __m256i all = _mm256_set1_epi32(-1), last = lane_mask(hs % 8 ? hs % 8 : 8);
    __m256 r[16];
    float mx = -INFINITY;
#pragma GCC unroll 16
    for (int v = 0; v < NV; v++) r[v] = _mm256_maskload_ps(q + 8 * v, v == NV - 1 ? last : all);
    for (int t = 0; t < nk; t++) {
        const float *k = K + (size_t)t * kv_row;
        __m256 a0 = _mm256_mul_ps(r[0], _mm256_maskload_ps(k, NV == 1 ? last : all)), a1 = _mm256_setzero_ps();
#pragma GCC unroll 16
        for (int v = 1; v < NV; v++) { /* two chains */
            __m256 p = _mm256_maskload_ps(k + 8 * v, v == NV - 1 ? last : all);
            if (v & 1) a1 = _mm256_fmadd_ps(r[v], p, a1);
            else a0 = _mm256_fmadd_ps(r[v], p, a0);
        }
        keep_score(scores, &mx, t, gptc_hsum256(_mm256_add_ps(a0, a1)), scale, key_mask);
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; v++) r[v] = _mm256_setzero_ps();
    if (nk > 0) {
        float inv = softmax_scores(scores, nk, mx);
        for (int t = 0; t < nk; t++) {
            float w = scores[t] * inv;
            if (w == 0.0f) continue;
            const float *vr = V + (size_t)t * kv_row;
            __m256 wv = _mm256_set1_ps(w);
#pragma GCC unroll 16
            for (int v = 0; v < NV; v++)
                r[v] = _mm256_fmadd_ps(wv, _mm256_maskload_ps(vr + 8 * v, v == NV - 1 ? last : all), r[v]);
        }
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; v++) _mm256_maskstore_ps(out + 8 * v, v == NV - 1 ? last : all, r[v]);
}

#define ARGS out, q, K, V, kv_row, nk, hs, scale, key_mask, scores
__attribute__((target("avx512f,avx2,fma"))) static void run_512(float *out, const float *q, const float *K,
                                                                 const float *V, size_t kv_row, int nk, int hs,
                                                                 float scale, const float *key_mask, float *scores) {
    switch ((hs + 15) / 16) {
    case 1: attend_512(ARGS, 1); break;
    case 2: attend_512(ARGS, 2); break;
    case 3: attend_512(ARGS, 3); break;
    case 4: attend_512(ARGS, 4); break;
    case 5: attend_512(ARGS, 5); break;
    case 6: attend_512(ARGS, 6); break;
    case 7: attend_512(ARGS, 7); break;
    default: attend_512(ARGS, 8);
    }
}

__attribute__((target("avx2,fma"))) static void run_avx2(float *out, const float *q, const float *K, const float *V,
                                                          size_t kv_row, int nk, int hs, float scale,
                                                          const float *key_mask, float *scores) {
    switch ((hs + 7) / 8) {
    case 1: attend_avx2(ARGS, 1); break;
    case 2: attend_avx2(ARGS, 2); break;
    case 3: attend_avx2(ARGS, 3); break;
    case 4: attend_avx2(ARGS, 4); break;
    case 5: attend_avx2(ARGS, 5); break;
    case 6: attend_avx2(ARGS, 6); break;
    case 7: attend_avx2(ARGS, 7); break;
    case 8: attend_avx2(ARGS, 8); break;
    case 9: attend_avx2(ARGS, 9); break;
    case 10: attend_avx2(ARGS, 10); break;
    case 11: attend_avx2(ARGS, 11); break;
    case 12: attend_avx2(ARGS, 12); break;
    case 13: attend_avx2(ARGS, 13); break;
    case 14: attend_avx2(ARGS, 14); break;
    case 15: attend_avx2(ARGS, 15); break;
    default: attend_avx2(ARGS, 16);
    }
}
#undef ARGS
#endif

void k_attend_row_with(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                       float scale, const float *key_mask, float *scores, int isa) {
    if (isa > gptc_cpu_isa()) isa = gptc_cpu_isa();
#ifdef AT_X86
    if (hs >= 1 && hs <= HS_MAX && isa == 2) {
        run_512(out, q, K, V, kv_row, nk, hs, scale, key_mask, scores);
        return;
    }
    if (hs >= 1 && hs <= HS_MAX && isa == 1) {
        run_avx2(out, q, K, V, kv_row, nk, hs, scale, key_mask, scores);
        return;
    }
#endif
    attend_portable(out, q, K, V, kv_row, nk, hs, scale, key_mask, scores);
}

void k_attend_row(float *out, const float *q, const float *K, const float *V, size_t kv_row, int nk, int hs,
                  float scale, const float *key_mask, float *scores) {
    k_attend_row_with(out, q, K, V, kv_row, nk, hs, scale, key_mask, scores, gptc_cpu_isa());
}
