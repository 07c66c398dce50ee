/* quant.c: ggml's q8_0, q4_0 and q4_k blocks (see quant.h): quantization as
 * ggml-quants.c's quantize_row_*_ref (the reference that makes model files), and
 * dequantization. Rounding is ggml's: roundf for q8_0, truncation of x + 8.5 for q4_0,
 * nearest_int (round half to even) for q4_k, fp16 scales rounded to nearest even. */
#include "quant.h"
#include "qlinear.h"
#include "cpu/vec.h"
#include <math.h>

int gptc_q_block_elems(gptc_dtype d) { return d == GPTC_Q4_K ? GPTC_QK_K : gptc_dtype_is_quant(d) ? GPTC_QK : 1; }

size_t gptc_q_block_bytes(gptc_dtype d) {
    switch (d) {
    case GPTC_Q8_0: return 34;
    case GPTC_Q4_0: return 18;
    case GPTC_Q4_K: return 144;
    case GPTC_F32: return 4;
    case GPTC_U8: return 1;
    default: return 2;
    }
}

static void put_f16(unsigned char *p, float f) {
    uint16_t h = gptc_f32_to_f16(f);
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

/* ggml's nearest_int: round half to even through the float's mantissa */
static int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static void q8_0_block(const float *x, unsigned char *y) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127, id = d ? 1.0f / d : 0.0f;
    put_f16(y, d);
    for (int j = 0; j < 32; j++) y[2 + j] = (unsigned char)(int8_t)roundf(x[j] * id);
}

static void q4_0_block(const float *x, unsigned char *y) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++)
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    float d = max / -8, id = d ? 1.0f / d : 0.0f;
    put_f16(y, d);
    for (int j = 0; j < 16; j++) {
        int a = (int8_t)(x[j] * id + 8.5f), b = (int8_t)(x[j + 16] * id + 8.5f);
        uint8_t xi0 = (uint8_t)(a < 15 ? a : 15), xi1 = (uint8_t)(b < 15 ? b : 15);
        y[2 + j] = (uint8_t)(xi0 | xi1 << 4);
    }
}

/* ggml's make_qkx2_quants: scale and min of n values on [0, nmax] levels, searching
 * nstep + 1 rescalings for the least weighted squared error. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min), scale = 1 / iscale, best_mad = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + min - x[i];
        best_mad += weights[i] * diff * diff;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float mad = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                mad += weights[i] * diff * diff;
            }
            if (mad < best_mad) {
                for (int i = 0; i < n; ++i) L[i] = Laux[i];
                best_mad = mad;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* ggml's quantize_row_q4_K_ref for one super-block of 256 */
static void q4_k_block(const float *x, unsigned char *y) {
    uint8_t L[GPTC_QK_K], Laux[32], *sc12 = y + 4, *q = y + 16;
    float weights[32], mins[8], scales[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f, inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(sc12, 0, 12);
    for (int j = 0; j < 8; ++j) {
        int ls = nearest_int(inv_scale * scales[j]), lm = nearest_int(inv_min * mins[j]);
        /* ggml stores these in uint8_t before clamping to 63 */
        ls = (uint8_t)ls;
        lm = (uint8_t)lm;
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) {
            sc12[j] = (uint8_t)ls;
            sc12[j + 4] = (uint8_t)lm;
        } else {
            sc12[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            sc12[j - 4] |= (uint8_t)((ls >> 4) << 6);
            sc12[j - 0] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    put_f16(y, max_scale / 63.f);
    put_f16(y + 2, max_min / 63.f);
    float D = gptc_q_f16(y), DM = gptc_q_f16(y + 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        gptc_q4k_scale_min(j, sc12, &sc, &m);
        const float d = D * sc;
        if (!d) continue;
        const float dm = DM * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)(l < 0 ? 0 : l > 15 ? 15 : l);
        }
    }
    for (int j = 0; j < GPTC_QK_K; j += 64) {
        for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
        q += 32;
    }
}

void gptc_q_quantize_row(gptc_dtype d, const float *x, void *dst, int n) {
    unsigned char *y = dst;
    int bk = gptc_q_block_elems(d);
    size_t bb = gptc_q_block_bytes(d);
    for (int b = 0; b < n / bk; b++, x += bk, y += bb) {
        if (d == GPTC_Q8_0) q8_0_block(x, y);
        else if (d == GPTC_Q4_0) q4_0_block(x, y);
        else q4_k_block(x, y);
    }
}

static void dequantize_row_scalar(gptc_dtype d, const void *src, float *dst, int n) {
    const unsigned char *p = src;
    int bk = gptc_q_block_elems(d);
    size_t bb = gptc_q_block_bytes(d);
    for (int b = 0; b < n / bk; b++, p += bb, dst += bk) {
        float s = gptc_q_f16(p);
        if (d == GPTC_Q8_0) {
            for (int j = 0; j < 32; j++) dst[j] = (int8_t)p[2 + j] * s;
        } else if (d == GPTC_Q4_0) {
            for (int j = 0; j < 16; j++) {
                dst[j] = ((p[2 + j] & 0xF) - 8) * s;
                dst[j + 16] = ((p[2 + j] >> 4) - 8) * s;
            }
        } else {
            float mn = gptc_q_f16(p + 2);
            const uint8_t *q = p + 16;
            for (int j = 0; j < 8; j += 2, q += 32) {
                uint8_t sc, m;
                gptc_q4k_scale_min(j, p + 4, &sc, &m);
                float d1 = s * sc, m1 = mn * m;
                gptc_q4k_scale_min(j + 1, p + 4, &sc, &m);
                float d2 = s * sc, m2 = mn * m;
                for (int l = 0; l < 32; ++l) dst[32 * j + l] = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; ++l) dst[32 * j + 32 + l] = d2 * (q[l] >> 4) - m2;
            }
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same floats as dequantize_row_scalar (each element's integer converted exactly,
 * then the same multiply, and for q4_k the same subtract: no fused multiply-add), 16
 * (AVX-512) or 8 (AVX2) elements a vector. Prompt-sized products dequantize weight
 * panels through this (a fifth of a q4_k prefill when it was scalar). */
#define DEQ_KERNEL(NAME, TARGET, VEC, W, CVT8U, CVT8S, LOADB, SUB8, MUL, SUB, SET1, STORE)                        \
    __attribute__((target(TARGET))) static void NAME(gptc_dtype d, const void *src, float *dst, int n) {          \
        const unsigned char *p = src;                                                                             \
        int bk = gptc_q_block_elems(d);                                                                           \
        size_t bb = gptc_q_block_bytes(d);                                                                        \
        const __m128i lo4 = _mm_set1_epi8(0x0F);                                                                  \
        for (int b = 0; b < n / bk; b++, p += bb, dst += bk) {                                                    \
            VEC s = SET1(gptc_q_f16(p));                                                                          \
            if (d == GPTC_Q8_0) {                                                                                 \
                for (int j = 0; j < 32; j += W) STORE(dst + j, MUL(CVT8S(LOADB(p + 2 + j)), s));                  \
            } else if (d == GPTC_Q4_0) {                                                                          \
                for (int j = 0; j < 16; j += W) {                                                                 \
                    __m128i q = LOADB(p + 2 + j);                                                                 \
                    STORE(dst + j, MUL(SUB8(CVT8U(_mm_and_si128(q, lo4))), s));                                   \
                    STORE(dst + 16 + j, MUL(SUB8(CVT8U(_mm_and_si128(_mm_srli_epi16(q, 4), lo4))), s));           \
                }                                                                                                 \
            } else {                                                                                              \
                float sf = gptc_q_f16(p), mn = gptc_q_f16(p + 2);                                                 \
                const uint8_t *q = p + 16;                                                                        \
                for (int j = 0; j < 8; j += 2, q += 32) {                                                         \
                    uint8_t sc, m;                                                                                \
                    gptc_q4k_scale_min(j, p + 4, &sc, &m);                                                        \
                    VEC d1 = SET1(sf * sc), m1 = SET1(mn * m);                                                    \
                    gptc_q4k_scale_min(j + 1, p + 4, &sc, &m);                                                    \
                    VEC d2 = SET1(sf * sc), m2 = SET1(mn * m);                                                    \
                    for (int l = 0; l < 32; l += W) {                                                             \
                        __m128i v = LOADB(q + l);                                                                 \
                        STORE(dst + 32 * j + l, SUB(MUL(d1, CVT8U(_mm_and_si128(v, lo4))), m1));                  \
                        STORE(dst + 32 * j + 32 + l, SUB(MUL(d2, CVT8U(_mm_and_si128(_mm_srli_epi16(v, 4), lo4))), m2)); \
                    }                                                                                             \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
    }
#define D512_CVTU(v) _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v))
#define D512_CVTS(v) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v))
#define D512_LOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define D512_SUB8(v) _mm512_sub_ps(v, _mm512_set1_ps(8.0f))
#define D256_CVTU(v) _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v))
#define D256_CVTS(v) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))
#define D256_LOAD(p) _mm_loadl_epi64((const __m128i *)(p))
#define D256_SUB8(v) _mm256_sub_ps(v, _mm256_set1_ps(8.0f))
DEQ_KERNEL(dequantize_row_avx512, "avx512f", __m512, 16, D512_CVTU, D512_CVTS, D512_LOAD, D512_SUB8, _mm512_mul_ps,
           _mm512_sub_ps, _mm512_set1_ps, _mm512_storeu_ps)
DEQ_KERNEL(dequantize_row_avx2, "avx2", __m256, 8, D256_CVTU, D256_CVTS, D256_LOAD, D256_SUB8, _mm256_mul_ps,
           _mm256_sub_ps, _mm256_set1_ps, _mm256_storeu_ps)
#undef DEQ_KERNEL
#endif

int gptc_q_dequantize_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (gptc_cpu_has(GPTC_CPU_AVX512F)) return 2;
    if (gptc_cpu_has(GPTC_CPU_AVX2)) return 1;
#endif
    return 0;
}

void gptc_q_dequantize_row_with(gptc_dtype d, const void *src, float *dst, int n, int isa) {
    int best = gptc_q_dequantize_isa();
    if (isa > best) isa = best;
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == 2) {
        dequantize_row_avx512(d, src, dst, n);
        return;
    }
    if (isa == 1) {
        dequantize_row_avx2(d, src, dst, n);
        return;
    }
#endif
    dequantize_row_scalar(d, src, dst, n);
}

void gptc_q_dequantize_row(gptc_dtype d, const void *src, float *dst, int n) {
    gptc_q_dequantize_row_with(d, src, dst, n, gptc_q_dequantize_isa());
}

float gptc_q_get(gptc_dtype d, const void *row, int k) {
    int bk = gptc_q_block_elems(d), j = k % bk;
    const unsigned char *p = (const unsigned char *)row + (size_t)(k / bk) * gptc_q_block_bytes(d);
    float s = gptc_q_f16(p);
    if (d == GPTC_Q8_0) return (int8_t)p[2 + j] * s;
    if (d == GPTC_Q4_0) return ((j < 16 ? p[2 + j] & 0xF : p[2 + j - 16] >> 4) - 8) * s;
    uint8_t sc, m;
    int sub = j / 32, l = j % 32;
    gptc_q4k_scale_min(sub, p + 4, &sc, &m);
    const uint8_t *q = p + 16 + 32 * (sub / 2);
    int v = sub & 1 ? q[l] >> 4 : q[l] & 0xF;
    return s * sc * v - gptc_q_f16(p + 2) * m;
}

int gptc_q_has_scales(gptc_dtype d) { return d == GPTC_Q4_0 && k_linear_q_isa() == GPTC_QL_AVX2; }

void gptc_q_scales(gptc_dtype d, const void *rows, int n, int out, uint16_t *dst) {
    const unsigned char *p = rows;
    size_t bb = gptc_q_block_bytes(d), nb = (size_t)(n / GPTC_QK) * (size_t)out;
    for (size_t b = 0; b < nb; b++, p += bb) dst[b] = (uint16_t)(p[0] | p[1] << 8);
}

long gptc_q_first_bad_block(gptc_dtype d, const void *row, int n) {
    const unsigned char *p = row;
    int bk = gptc_q_block_elems(d);
    size_t bb = gptc_q_block_bytes(d);
    for (long b = 0; b < n / bk; b++, p += bb) {
        if (!isfinite(gptc_q_f16(p))) return b;
        if (d == GPTC_Q4_K && !isfinite(gptc_q_f16(p + 2))) return b;
    }
    return -1;
}
