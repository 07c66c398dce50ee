/* qgemm.c: prompt-sized linear layers on q8_0 / q4_0 / q4_k weights (see qlinear.h), as
 * an int8 GEMM: x is quantized to int8 blocks exactly as k_linear_q quantizes it, every
 * block product is the same exact integer sum, scaled in f32 by the two blocks' scales;
 * only the order of the f32 additions differs from k_linear_q.
 *
 * Threads split the outputs in groups of NC columns (32 on AVX-512 VNNI, 16 on AVX2). A
 * group's weights are unpacked once into a panel of 4-byte words, each holding 4
 * consecutive inputs of one column, NC columns side by side (an 8 x 8 word transpose of
 * the unpacked blocks): one panel vector times one activation word broadcast is NC
 * columns' partial sums of 4 products (vpdpbusd; on AVX2 vpmaddubsw, whose int16 pair
 * sums hold 8 of q4's 4-bit products before vpmaddwd widens them, and ggml's sign trick
 * for q8_0's signed weights). A micro-tile of MR activation rows keeps its int32 block
 * sums and f32 results in registers; after each block of 32 inputs the sums are converted
 * and scaled by d_w * d_x. The rows go in slabs of SLAB, the inputs in chunks of KB
 * blocks (the slab's results wait in a small f32 tile between chunks), so the panel
 * chunk and the slab's activations stay in cache.
 * Weight bytes: q4_0 and q4_k nibbles as stored (0..15); q4_0's -8 * sum(x) and, on VNNI,
 * q8_0's weights made unsigned (w + 128, the sign bit flipped) with -128 * sum(x) start
 * each block's int32 sum; q4_k's mins term is one f32 multiply-add per block. */
#include "../qlinear.h"
#include "../quant.h"
#include "vec.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QG_X86 1
#endif

enum { T_Q8 = 0, T_Q4 = 1, T_QK = 2 };
/* rows per micro-tile (VNNI, AVX2), rows per slab (a multiple of both), blocks of 32
 * inputs per chunk */
enum { MR = 4, MR2 = 3, SLAB = 132, KB = 8 };

typedef struct {
    const int8_t *q;  /* N rows of I */
    const float *d;   /* N rows of nb scales */
    const int32_t *c; /* N rows of nb: each block sum's start (q4_0: -8 s, q8_0 on VNNI: -128 s) */
    const float *as;  /* q4_k: N rows of nb: d * s */
    int I, nb;
} gact;

typedef struct {
    unsigned char *w; /* [block][word j of 8][column of NC][4 bytes] */
    float *ws;        /* [block][NC]: d (q8_0, q4_0) or d * sc (q4_k) */
    float *wm;        /* q4_k: [block][NC]: dmin * m */
} gpanel;

#ifdef QG_X86
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))
#define AVX2_FN static __attribute__((target("avx2,fma,f16c")))
#define VNNI_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vnni,avx2,fma,f16c")))
#define VNNI_FN static __attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma,f16c")))

/* Block b of a weight row as 32 bytes in input order: q8_0's int8 (flip: + 128 as
 * uint8), q4_0's nibbles (inputs 0-15 the low ones), q4_k sub-block b's nibbles. */
AVX2_INLINE __m256i unpack_block(const unsigned char *row, int b, const int T, const int flip) {
    if (T == T_Q8) {
        __m256i v = _mm256_loadu_si256((const __m256i_u *)(row + (size_t)b * 34 + 2));
        return flip ? _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80)) : v;
    }
    const __m256i m4 = _mm256_set1_epi8(0xF);
    if (T == T_Q4) {
        __m128i t = _mm_loadu_si128((const __m128i_u *)(row + (size_t)b * 18 + 2));
        return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), m4);
    }
    int j = b & 7;
    __m256i q = _mm256_loadu_si256((const __m256i_u *)(row + (size_t)(b >> 3) * 144 + 16 + 32 * (j >> 1)));
    if (j & 1) q = _mm256_srli_epi16(q, 4);
    return _mm256_and_si256(q, m4);
}

/* r[i] (column i's 8 words) -> r[j] (word j of the 8 columns) */
AVX2_INLINE void transpose8(__m256i r[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
}

/* 8 fp16 values in the low halves of 8 int32 lanes, as f32 */
AVX2_INLINE __m256 f16_lo(__m256i h) {
    const __m256i lo = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4, 5, 8, 9,
                                        12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i p = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(h, lo), 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(p));
}

/* The scales of 8 columns (lanes; the rows at base + lane * rowb, lanes from n on
 * absent: zeros) for every block: gathered across the columns, q4_k's 6-bit scales and
 * mins unpacked lane-wise as ggml's get_scale_min_k4 does byte-wise. */
AVX2_INLINE void pack_scales(const gpanel *p, const unsigned char *base, size_t rowb, int n, int c0, int nb, int NC,
                             const int T) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i idx = _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)rowb)), z = _mm256_setzero_si256();
    __m256i k = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
#define GATHER(ptr) _mm256_mask_i32gather_epi32(z, (const int *)(const void *)(ptr), idx, k, 1)
    if (T != T_QK) {
        int bs = T == T_Q8 ? 34 : 18;
        for (int b = 0; b < nb; b++) _mm256_store_ps(p->ws + (size_t)b * NC + c0, f16_lo(GATHER(base + (size_t)b * bs)));
        return;
    }
    const __m256i k1 = _mm256_set1_epi32(0x3f3f3f3f), k2 = _mm256_set1_epi32(0x0f0f0f0f),
                  k3 = _mm256_set1_epi32(0x03030303), ff = _mm256_set1_epi32(0xFF);
    for (int sb = 0; sb < nb / 8; sb++) {
        const unsigned char *q = base + (size_t)sb * 144;
        __m256i dd = GATHER(q), u0 = GATHER(q + 4), u1 = GATHER(q + 8), u2 = GATHER(q + 12);
        __m256 d = f16_lo(dd), dmin = f16_lo(_mm256_srli_epi32(dd, 16));
        __m256i sc[2], mn[2]; /* bytes: sub-blocks 0-3, 4-7 */
        sc[0] = _mm256_and_si256(u0, k1);
        sc[1] = _mm256_or_si256(_mm256_and_si256(u2, k2), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u0, 6), k3), 4));
        mn[0] = _mm256_and_si256(u1, k1);
        mn[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 4), k2),
                                _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u1, 6), k3), 4));
        for (int j = 0; j < 8; j++) {
            __m128i sh = _mm_cvtsi32_si128(8 * (j & 3));
            __m256 s = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(sc[j >> 2], sh), ff));
            __m256 m = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(mn[j >> 2], sh), ff));
            _mm256_store_ps(p->ws + (size_t)(sb * 8 + j) * NC + c0, _mm256_mul_ps(d, s));
            _mm256_store_ps(p->wm + (size_t)(sb * 8 + j) * NC + c0, _mm256_mul_ps(dmin, m));
        }
    }
#undef GATHER
}

/* Weight rows v0 .. v0 + nc - 1 (nc <= NC) into the panel; missing columns are zeros. */
AVX2_FN void pack(const gpanel *p, const unsigned char *w, size_t rowb, int v0, int nc, int nb, int NC, int T,
                  int flip) {
    for (int c0 = 0; c0 < NC; c0 += 8) {
        if (c0 >= nc) { /* a group's missing columns */
            for (int b = 0; b < nb; b++) {
                for (int j = 0; j < 8; j++)
                    _mm256_store_si256((__m256i *)(p->w + ((size_t)(b * 8 + j) * NC + c0) * 4), _mm256_setzero_si256());
                _mm256_store_ps(p->ws + (size_t)b * NC + c0, _mm256_setzero_ps());
                if (T == T_QK) _mm256_store_ps(p->wm + (size_t)b * NC + c0, _mm256_setzero_ps());
            }
            continue;
        }
        const unsigned char *base = w + (size_t)(v0 + c0) * rowb;
        for (int b = 0; b < nb; b++) {
            __m256i r[8];
            for (int i = 0; i < 8; i++) {
                if (c0 + i >= nc) r[i] = _mm256_setzero_si256();
                else if (T == T_Q8) r[i] = unpack_block(base + (size_t)i * rowb, b, T_Q8, flip);
                else if (T == T_Q4) r[i] = unpack_block(base + (size_t)i * rowb, b, T_Q4, 0);
                else r[i] = unpack_block(base + (size_t)i * rowb, b, T_QK, 0);
            }
            transpose8(r);
            for (int j = 0; j < 8; j++)
                _mm256_store_si256((__m256i *)(p->w + ((size_t)(b * 8 + j) * NC + c0) * 4), r[j]);
        }
        int n = nc - c0 < 8 ? nc - c0 : 8;
        if (T == T_Q8) pack_scales(p, base, rowb, n, c0, nb, NC, T_Q8);
        else if (T == T_Q4) pack_scales(p, base, rowb, n, c0, nb, NC, T_Q4);
        else pack_scales(p, base, rowb, n, c0, nb, NC, T_QK);
    }
}

/* a slab's results, rn rows of NC (nc of them real), plus the bias into out's rows */
AVX2_FN void store_slab(float *out, const float *ct, const float *bias, int rn, int nc, int NC, int O) {
    for (int m = 0; m < rn; m++) {
        float *o = out + (size_t)m * O;
        const float *t = ct + (size_t)m * NC;
        int c = 0;
        for (; c + 8 <= nc; c += 8) {
            __m256 v = _mm256_load_ps(t + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(o + c, v);
        }
        for (; c < nc; c++) o[c] = t[c] + (bias ? bias[c] : 0.0f);
    }
}

static inline int32_t word_at(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---------------------------------------------------------------- AVX2: 16 columns */
AVX2_INLINE void kern_avx2(float *ct, const gact *a, const gpanel *p, int m0, int b0, int b1, int first, const int R,
                           const int T) {
    enum { NC = 16 };
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f[4][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int g = 0; g < 2; g++) f[r][g] = first ? _mm256_setzero_ps() : _mm256_load_ps(ct + r * NC + 8 * g);
    for (int b = b0; b < b1; b++) {
        const unsigned char *pw = p->w + (size_t)b * 8 * NC * 4;
        const int8_t *aq = a->q + (size_t)m0 * a->I + (size_t)b * 32;
        __m256i ia[4][2];
        if (T == T_Q8) { /* |w| times x with w's sign: int16 pairs up to 2 * 128 * 127 */
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) ia[r][0] = ia[r][1] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
#pragma GCC unroll 2
                for (int g = 0; g < 2; g++) {
                    __m256i wv = _mm256_load_si256((const __m256i *)(pw + j * NC * 4 + 32 * g)), aw = _mm256_abs_epi8(wv);
#pragma GCC unroll 4
                    for (int r = 0; r < R; r++) {
                        __m256i av = _mm256_set1_epi32(word_at(aq + (size_t)r * a->I + 4 * j));
                        ia[r][g] = _mm256_add_epi32(
                            ia[r][g], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(av, wv)), ones));
                    }
                }
            }
        } else { /* nibbles: 8 int16 pair sums of 2 * 15 * 127 each fit before widening */
            __m256i h[4][2];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) h[r][0] = h[r][1] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(pw + j * NC * 4));
                __m256i w1 = _mm256_load_si256((const __m256i *)(pw + j * NC * 4 + 32));
#pragma GCC unroll 4
                for (int r = 0; r < R; r++) {
                    __m256i av = _mm256_set1_epi32(word_at(aq + (size_t)r * a->I + 4 * j));
                    h[r][0] = _mm256_add_epi16(h[r][0], _mm256_maddubs_epi16(w0, av));
                    h[r][1] = _mm256_add_epi16(h[r][1], _mm256_maddubs_epi16(w1, av));
                }
            }
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                for (int g = 0; g < 2; g++) {
                    ia[r][g] = _mm256_madd_epi16(h[r][g], ones);
                    if (T == T_Q4)
                        ia[r][g] = _mm256_add_epi32(ia[r][g], _mm256_set1_epi32(a->c[(size_t)(m0 + r) * a->nb + b]));
                }
        }
        __m256 s0 = _mm256_load_ps(p->ws + (size_t)b * NC), s1 = _mm256_load_ps(p->ws + (size_t)b * NC + 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 ad = _mm256_set1_ps(a->d[(size_t)(m0 + r) * a->nb + b]);
            f[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[r][0]), _mm256_mul_ps(s0, ad), f[r][0]);
            f[r][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[r][1]), _mm256_mul_ps(s1, ad), f[r][1]);
        }
        if (T == T_QK) {
            __m256 n0 = _mm256_load_ps(p->wm + (size_t)b * NC), n1 = _mm256_load_ps(p->wm + (size_t)b * NC + 8);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256 as = _mm256_set1_ps(a->as[(size_t)(m0 + r) * a->nb + b]);
                f[r][0] = _mm256_fnmadd_ps(n0, as, f[r][0]);
                f[r][1] = _mm256_fnmadd_ps(n1, as, f[r][1]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int g = 0; g < 2; g++) _mm256_store_ps(ct + r * NC + 8 * g, f[r][g]);
}

AVX2_FN void tile_avx2(float *ct, const gact *a, const gpanel *p, int m0, int b0, int b1, int first, int R, int T) {
#define K2(RR, TT) kern_avx2(ct, a, p, m0, b0, b1, first, RR, TT)
#define K2T(TT)                                                                                                    \
    switch (R) {                                                                                                   \
    case 4: K2(4, TT); break;                                                                                      \
    case 3: K2(3, TT); break;                                                                                      \
    case 2: K2(2, TT); break;                                                                                      \
    default: K2(1, TT);                                                                                            \
    }
    if (T == T_Q8) K2T(T_Q8)
    else if (T == T_Q4) K2T(T_Q4)
    else K2T(T_QK)
#undef K2T
#undef K2
}

/* ---------------------------------------------------------------- AVX-512 VNNI: 32 columns */
VNNI_INLINE void kern_vnni(float *ct, const gact *a, const gpanel *p, int m0, int b0, int b1, int first, const int R,
                           const int T) {
    enum { NC = 32 };
    __m512 f[MR][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int g = 0; g < 2; g++) f[r][g] = first ? _mm512_setzero_ps() : _mm512_load_ps(ct + r * NC + 16 * g);
    for (int b = b0; b < b1; b++) {
        const unsigned char *pw = p->w + (size_t)b * 8 * NC * 4;
        const int8_t *aq = a->q + (size_t)m0 * a->I + (size_t)b * 32;
        __m512i ia[MR][2];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512i z = T == T_QK ? _mm512_setzero_si512() : _mm512_set1_epi32(a->c[(size_t)(m0 + r) * a->nb + b]);
            ia[r][0] = ia[r][1] = z;
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m512i w0 = _mm512_load_si512(pw + j * NC * 4), w1 = _mm512_load_si512(pw + j * NC * 4 + 64);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m512i av = _mm512_set1_epi32(word_at(aq + (size_t)r * a->I + 4 * j));
                ia[r][0] = _mm512_dpbusd_epi32(ia[r][0], w0, av);
                ia[r][1] = _mm512_dpbusd_epi32(ia[r][1], w1, av);
            }
        }
        __m512 s0 = _mm512_load_ps(p->ws + (size_t)b * NC), s1 = _mm512_load_ps(p->ws + (size_t)b * NC + 16);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 ad = _mm512_set1_ps(a->d[(size_t)(m0 + r) * a->nb + b]);
            f[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[r][0]), _mm512_mul_ps(s0, ad), f[r][0]);
            f[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[r][1]), _mm512_mul_ps(s1, ad), f[r][1]);
        }
        if (T == T_QK) {
            __m512 n0 = _mm512_load_ps(p->wm + (size_t)b * NC), n1 = _mm512_load_ps(p->wm + (size_t)b * NC + 16);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m512 as = _mm512_set1_ps(a->as[(size_t)(m0 + r) * a->nb + b]);
                f[r][0] = _mm512_fnmadd_ps(n0, as, f[r][0]);
                f[r][1] = _mm512_fnmadd_ps(n1, as, f[r][1]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int g = 0; g < 2; g++) _mm512_store_ps(ct + r * NC + 16 * g, f[r][g]);
}

VNNI_FN void tile_vnni(float *ct, const gact *a, const gpanel *p, int m0, int b0, int b1, int first, int R, int T) {
#define K5(RR, TT) kern_vnni(ct, a, p, m0, b0, b1, first, RR, TT)
#define K5T(TT)                                                                                                    \
    switch (R) {                                                                                                   \
    case 4: K5(4, TT); break;                                                                                      \
    case 3: K5(3, TT); break;                                                                                      \
    case 2: K5(2, TT); break;                                                                                      \
    default: K5(1, TT);                                                                                            \
    }
    if (T == T_Q8) K5T(T_Q8)
    else if (T == T_Q4) K5T(T_Q4)
    else K5T(T_QK)
#undef K5T
#undef K5
}
#endif /* QG_X86 */

/* ---------------------------------------------------------------- dispatch */
int k_qgemm_isa(void) {
    int q = k_linear_q_isa();
    return q == GPTC_QL_VNNI ? GPTC_QL_VNNI : q >= GPTC_QL_AVX2 ? GPTC_QL_AVX2 : GPTC_QL_SCALAR;
}

void k_qgemm_with(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N, int isa) {
    if (N <= 0 || w->out <= 0) return;
    int best = k_qgemm_isa();
    if (isa > best) isa = best;
    if (isa == GPTC_QL_AVX512) isa = GPTC_QL_AVX2; /* AVX-512BW without VNNI: the AVX2 kernel */
#ifndef QG_X86
    isa = GPTC_QL_SCALAR;
#endif
    if (isa < GPTC_QL_AVX2) {
        k_linear_q_with(ctx, out, x, w, bias, N, GPTC_QL_SCALAR);
        return;
    }
#ifdef QG_X86
#define up64(n) (((size_t)(n) + 63) & ~(size_t)63)
    int I = w->in, O = w->out, nb = I / GPTC_QK;
    int T = w->dtype == GPTC_Q8_0 ? T_Q8 : w->dtype == GPTC_Q4_0 ? T_Q4 : T_QK;
    int vnni = isa == GPTC_QL_VNNI, NC = vnni ? 32 : 16, mr = vnni ? MR : MR2, flip = vnni && T == T_Q8;
    int32_t cmul = T == T_Q4 ? -8 : flip ? -128 : 0;
    size_t rowb = gptc_q_row_bytes(w->dtype, I), nbl = (size_t)N * nb;
    int ng = (O + NC - 1) / NC, nt = ctx->n_threads < ng ? ctx->n_threads : ng;
    if (nt < 1) nt = 1;
    size_t act_b = up64((size_t)N * I) + 3 * up64(4 * nbl);
    size_t pw_b = up64((size_t)I * NC), ps_b = up64(4 * (size_t)nb * NC), ct_b = up64(4 * (size_t)SLAB * NC);
    size_t per_t = pw_b + 2 * ps_b + ct_b;
    unsigned char *buf = gptc_alloc(NULL, act_b + (size_t)nt * per_t + 64, "int8 GEMM scratch");
    if (!buf) { /* no scratch: the row kernel, which needs little */
        k_linear_q_with(ctx, out, x, w, bias, N, isa);
        return;
    }
    unsigned char *base = (unsigned char *)(((uintptr_t)buf + 63) & ~(uintptr_t)63);
    int8_t *q = (int8_t *)base;
    float *d = (float *)(base + up64((size_t)N * I));
    int32_t *s = (int32_t *)((unsigned char *)d + up64(4 * nbl));
    float *as = (float *)((unsigned char *)s + up64(4 * nbl));
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && N > 1)
    for (int r = 0; r < N; r++) {
        size_t o = (size_t)r * nb;
        k_quantize_act_with(x + (size_t)r * I, I, q + (size_t)r * I, d + o, s + o, isa);
        for (int b = 0; b < nb; b++) {
            if (T == T_QK) as[o + b] = d[o + b] * (float)s[o + b];
            s[o + b] *= cmul; /* the block sums' starts */
        }
    }
    gact a = {q, d, s, as, I, nb};
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        unsigned char *mine = base + act_b + (size_t)t * per_t;
        gpanel p = {mine, (float *)(mine + pw_b), (float *)(mine + pw_b + ps_b)};
        float *ct = (float *)(mine + pw_b + 2 * ps_b);
        int g0, g1;
        gptc_thread_share(ng, &g0, &g1);
        for (int g = g0; g < g1; g++) {
            int v0 = g * NC, nc = O - v0 < NC ? O - v0 : NC;
            pack(&p, w->data, rowb, v0, nc, nb, NC, T, flip);
            if (g + 1 < g1) { /* the next group's weights on their way to cache while this one runs */
                const char *nx = (const char *)w->data + (size_t)(v0 + NC) * rowb;
                size_t nbytes = (size_t)(O - v0 - NC < NC ? O - v0 - NC : NC) * rowb;
                for (size_t o = 0; o < nbytes; o += 64) __builtin_prefetch(nx + o, 0, 2);
            }
            for (int r0 = 0; r0 < N; r0 += SLAB) {
                int rn = N - r0 < SLAB ? N - r0 : SLAB;
                for (int k0 = 0; k0 < nb; k0 += KB) {
                    int k1 = nb - k0 < KB ? nb : k0 + KB;
                    for (int m = 0; m < rn; m += mr) {
                        int R = rn - m < mr ? rn - m : mr;
                        if (vnni) tile_vnni(ct + (size_t)m * NC, &a, &p, r0 + m, k0, k1, k0 == 0, R, T);
                        else tile_avx2(ct + (size_t)m * NC, &a, &p, r0 + m, k0, k1, k0 == 0, R, T);
                    }
                }
                store_slab(out + (size_t)r0 * O + v0, ct, bias ? bias + v0 : NULL, rn, nc, NC, O);
            }
        }
    }
    gptc_free(buf);
#undef up64
#endif
}

void k_qgemm(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N) {
    k_qgemm_with(ctx, out, x, w, bias, N, k_qgemm_isa());
}
