/* qlinear.c: linear layers on q8_0 / q4_0 / q4_k weights (see qlinear.h). x is
 * quantized once per call; the pool's threads (core/pool.h) claim the output rows in
 * chunks of 16 tiles of 4; a tile of R weight rows runs over every row of x, M at a
 * time, with R x M accumulators in registers, each weight block loaded once per M rows.
 * Block products are exact integer dot products (AVX2 vpmaddubsw + vpmaddwd with ggml's
 * sign trick for q8_0's signed weights, AVX-512 the same on two blocks per register,
 * VNNI vpdpbusd: q8_0 as (w + 128) x less 128 * sum(x); q4_0 two blocks per register on
 * AVX2 and four on AVX-512, against activations laid out for it once per call), scaled
 * in f32. A single row (decoding) takes gemv_row_512 / gemv_qk_512 on AVX-512 and
 * gemv_q8_avx2 / gemv_q4_avx2 / gemv_qk_avx2 on AVX2, bit-identical to the tiles.
 * Activations are quantized in vectors (AVX2, AVX-512) to the scalar rule's bytes.
 * q4_0 multiplies the nibbles as stored (unsigned) and takes 8 * sum(x) (the activation
 * block's sum) off in the integer sum; q4_k's mins term is one 8-lane FMA per super-block
 * (its scales unpacked as ggml does). */
#include "../qlinear.h"
#include "../quant.h"
#include "vec.h"
#include "vec_x86.h"
#include "../../core/pool.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QL_X86 1
#endif

enum { T_Q8 = 0, T_Q4 = 1, T_QK = 2 };
/* Below PAR_MIN weight bytes a product stays on one thread; threads claim PAR_TILES tiles
 * at a time; activations of up to STACK_ACT bytes live on the stack. */
enum { PAR_MIN = 1 << 15, STACK_ACT = 1 << 15, TILE = 4, PAR_TILES = 16 };
/* q4_0 on AVX2 and AVX-512: the bytes of a prepared activation unit of 4 blocks (q4_prep) */
enum { Q4_UNIT_BYTES = 192 };

typedef struct {
    const int8_t *q; /* N rows of I */
    const float *d;  /* N rows of nb */
    const int32_t *s;
    int I, nb;
    /* q4_0 on AVX2 and AVX-512 (q4_prep): per row p4row bytes, 192 for each 4 blocks */
    const unsigned char *p4;
    size_t p4row;
} qact;

#ifdef QL_X86
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))
#define AVX2_FN static __attribute__((target("avx2,fma,f16c")))
#define AVX512_INLINE                                                                                               \
    static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define AVX512_FN static __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#endif

static int type_of(gptc_dtype d) { return d == GPTC_Q8_0 ? T_Q8 : d == GPTC_Q4_0 ? T_Q4 : T_QK; }

static void quantize_act_scalar(const float *x, int n, int8_t *q, float *d, int32_t *s) {
    for (int b = 0; b < n / GPTC_QK; b++) {
        const float *xb = x + (size_t)b * GPTC_QK;
        float amax = 0.0f;
        for (int j = 0; j < GPTC_QK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float db = amax / 127, id = db ? 1.0f / db : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < GPTC_QK; j++) {
            int v = (int)roundf(xb[j] * id);
            q[(size_t)b * GPTC_QK + j] = (int8_t)v;
            sum += v;
        }
        d[b] = db;
        s[b] = sum;
    }
}

#ifdef QL_X86
/* The scalar rule in vectors, bit for bit: roundf (half away from zero) as trunc(t) plus
 * t's sign where |t - trunc(t)| >= 0.5 (the difference is exact). */
__attribute__((target("avx512f,avx512bw"))) static void quantize_act_512(const float *x, int n, int8_t *q, float *d,
                                                                        int32_t *s) {
    for (int b = 0; b < n / GPTC_QK; b++) {
        const float *xb = x + (size_t)b * GPTC_QK;
        __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
        float db = amax / 127, id = db ? 1.0f / db : 0.0f;
        __m512 idv = _mm512_set1_ps(id), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
        __m512i iv[2];
        for (int h = 0; h < 2; h++) {
            __m512 t = _mm512_mul_ps(h ? x1 : x0, idv);
            __m512 r = _mm512_roundscale_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(t, r)), half, _CMP_GE_OQ);
            __mmask16 neg = _mm512_cmp_ps_mask(t, _mm512_setzero_ps(), _CMP_LT_OQ);
            r = _mm512_mask_add_ps(r, up & ~neg, r, one);
            r = _mm512_mask_sub_ps(r, up & neg, r, one);
            iv[h] = _mm512_cvttps_epi32(r);
            _mm_storeu_si128((__m128i_u *)(q + (size_t)b * GPTC_QK + 16 * h), _mm512_cvtepi32_epi8(iv[h]));
        }
        d[b] = db;
        s[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(iv[0], iv[1]));
    }
}

AVX2_FN void quantize_act_avx2(const float *x, int n, int8_t *q, float *d, int32_t *s) {
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int b = 0; b < n / GPTC_QK; b++) {
        const float *xb = x + (size_t)b * GPTC_QK;
        __m256 xv[4], m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            xv[k] = _mm256_loadu_ps(xb + 8 * k);
            m = _mm256_max_ps(m, _mm256_and_ps(xv[k], absm));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float db = amax / 127, id = db ? 1.0f / db : 0.0f;
        __m256 idv = _mm256_set1_ps(id), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
        __m256i iv[4];
        for (int k = 0; k < 4; k++) {
            __m256 t = _mm256_mul_ps(xv[k], idv);
            __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 up = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(t, r), absm), half, _CMP_GE_OQ);
            __m256 sg = _mm256_or_ps(one, _mm256_andnot_ps(absm, t)); /* +-1 with t's sign */
            iv[k] = _mm256_cvttps_epi32(_mm256_add_ps(r, _mm256_and_ps(up, sg)));
        }
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(iv[0], iv[1]), _mm256_packs_epi32(iv[2], iv[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i_u *)(q + (size_t)b * GPTC_QK), p);
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(iv[0], iv[1]), _mm256_add_epi32(iv[2], iv[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
        d[b] = db;
        s[b] = _mm_cvtsi128_si32(s4);
    }
}
#endif

void k_quantize_act_with(const float *x, int n, int8_t *q, float *d, int32_t *s, int isa) {
#ifdef QL_X86
    if (isa > k_linear_q_isa()) isa = k_linear_q_isa();
    if (isa >= GPTC_QL_AVX512) {
        quantize_act_512(x, n, q, d, s);
        return;
    }
    if (isa == GPTC_QL_AVX2) {
        quantize_act_avx2(x, n, q, d, s);
        return;
    }
#endif
    quantize_act_scalar(x, n, q, d, s);
}

void k_quantize_act(const float *x, int n, int8_t *q, float *d, int32_t *s) {
    k_quantize_act_with(x, n, q, d, s, k_linear_q_isa());
}

/* The integer sum of weight block b of row (q4_k: sub-block b) times activation block
 * aq (32), and the block's scale (q4_k: d*sc, with dmin*m in *wmin). */
static int32_t block_isum(int T, const unsigned char *row, int b, const int8_t *aq, float *ws, float *wmin) {
    int32_t isum = 0;
    if (T == T_Q8) {
        const unsigned char *p = row + (size_t)b * 34;
        *ws = gptc_q_f16(p);
        for (int j = 0; j < 32; j++) isum += (int8_t)p[2 + j] * aq[j];
    } else if (T == T_Q4) {
        const unsigned char *p = row + (size_t)b * 18;
        *ws = gptc_q_f16(p);
        for (int j = 0; j < 16; j++) isum += ((p[2 + j] & 0xF) - 8) * aq[j] + ((p[2 + j] >> 4) - 8) * aq[16 + j];
    } else {
        const unsigned char *p = row + (size_t)(b / 8) * 144;
        int j = b % 8;
        uint8_t sc, m;
        gptc_q4k_scale_min(j, p + 4, &sc, &m);
        *ws = gptc_q_f16(p) * sc;
        *wmin = gptc_q_f16(p + 2) * m;
        const unsigned char *q = p + 16 + 32 * (j / 2);
        int sh = (j & 1) * 4;
        for (int l = 0; l < 32; l++) isum += ((q[l] >> sh) & 0xF) * aq[l];
    }
    return isum;
}

/* ---------------------------------------------------------------- reference */
void k_linear_q_ref(const gptc_wdesc *w, float *out, const float *x, const float *bias, int N) {
    int I = w->in, O = w->out, nb = I / GPTC_QK, T = type_of(w->dtype);
    size_t rowb = gptc_q_row_bytes(w->dtype, I);
    int8_t *q = gptc_alloc(NULL, (size_t)I + 1, "activation blocks");
    float *d = gptc_alloc(NULL, sizeof(float) * (size_t)(nb + 1), "activation scales");
    int32_t *s = gptc_alloc(NULL, sizeof(int32_t) * (size_t)(nb + 1), "activation sums");
    if (!q || !d || !s) { /* the oracle has no fallback: NaN marks the failure */
        for (size_t i = 0; i < (size_t)N * O; i++) out[i] = NAN;
    } else {
        for (int n = 0; n < N; n++) {
            k_quantize_act(x + (size_t)n * I, I, q, d, s);
            for (int v = 0; v < O; v++) {
                const unsigned char *row = (const unsigned char *)w->data + (size_t)v * rowb;
                double acc = bias ? bias[v] : 0.0;
                for (int b = 0; b < nb; b++) {
                    float ws, wm = 0;
                    int32_t isum = block_isum(T, row, b, q + (size_t)b * GPTC_QK, &ws, &wm);
                    acc += (double)d[b] * ((double)ws * isum - (T == T_QK ? (double)wm * s[b] : 0.0));
                }
                out[(size_t)n * O + v] = (float)acc;
            }
        }
    }
    gptc_free(q);
    gptc_free(d);
    gptc_free(s);
}

/* ---------------------------------------------------------------- scalar path */
static void rows_scalar(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias, int O,
                        int v0, int v1, int N, int T) {
    for (int v = v0; v < v1; v++) {
        const unsigned char *row = w + (size_t)v * rowb;
        for (int n = 0; n < N; n++) {
            float acc = 0, corr = 0;
            for (int b = 0; b < a->nb; b++) {
                float ws, wm = 0, ad = a->d[(size_t)n * a->nb + b];
                int32_t isum = block_isum(T, row, b, a->q + (size_t)n * a->I + (size_t)b * GPTC_QK, &ws, &wm);
                acc += ws * ad * (float)isum;
                if (T == T_QK) corr += wm * ad * (float)a->s[(size_t)n * a->nb + b];
            }
            out[(size_t)n * O + v] = acc - corr + (bias ? bias[v] : 0.0f);
        }
    }
}

#ifdef QL_X86
/* ---------------------------------------------------------------- AVX2 */

AVX2_INLINE float f16c(const unsigned char *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* q4_k: d*sc of the 8 sub-blocks of the super-block at p into ds, and dmin*m as a
 * vector. The 6-bit scales and mins unpacked 4 at a time as ggml does (the values of
 * gptc_q4k_scale_min). */
AVX2_INLINE __m256 qk_scales(const unsigned char *p, float *ds) {
    uint32_t u[4];
    memcpy(u, p + 4, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
    uint32_t mins_lo = u[1] & k1;
    u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
    u[2] = mins_lo;
    u[0] &= k1;
    __m128i v = _mm_loadu_si128((const __m128i_u *)u); /* bytes 0-7 scales, 8-15 mins */
    __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
    __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)));
    _mm256_storeu_ps(ds, _mm256_mul_ps(_mm256_set1_ps(f16c(p)), sc));
    return _mm256_mul_ps(_mm256_set1_ps(f16c(p + 2)), mn);
}

/* q4_k: d_x * sum(q_x) of the 8 activation sub-blocks from b on (b a multiple of 8) */
AVX2_INLINE __m256 qk_asums(const qact *a, size_t n, int b) {
    return _mm256_mul_ps(_mm256_loadu_ps(a->d + n * a->nb + b),
                         _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i_u *)(a->s + n * a->nb + b))));
}

/* Weight block b of row as 32 bytes: int8 (q8_0) or uint8 (q4_k's sub-block); q4_0
 * takes pairs of blocks (q4_pair_w). */
AVX2_INLINE __m256i wblock256(const unsigned char *row, int b, const int T, float *ws) {
    if (T == T_Q8) {
        const unsigned char *p = row + (size_t)b * 34;
        *ws = f16c(p);
        return _mm256_loadu_si256((const __m256i_u *)(p + 2));
    }
    int j = b & 7;
    __m256i q = _mm256_loadu_si256((const __m256i_u *)(row + (size_t)(b >> 3) * 144 + 16 + 32 * (j >> 1)));
    if (j & 1) q = _mm256_srli_epi16(q, 4);
    return _mm256_and_si256(q, _mm256_set1_epi8(0xF));
}

/* 8 int32 partial sums of a weight block times an activation block (q8_0, q4_k) */
AVX2_INLINE __m256i dot256(__m256i wv, __m256i av, const int T) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (T == T_QK) return _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(av, wv)), ones);
}

/* q4_k, at sub-block b opening a super-block: each weight row's d*sc into ds[r], and its
 * mins term for each activation row added to corr[r][m] */
AVX2_INLINE void qk_superblock(__m256 corr[TILE][TILE], float ds[TILE][8], const unsigned char *const *row,
                               const qact *a, int n0, int b, const int R, const int M) {
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        __m256 dm = qk_scales(row[r] + (size_t)(b >> 3) * 144, ds[r]);
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) corr[r][m] = _mm256_fmadd_ps(dm, qk_asums(a, (size_t)(n0 + m), b), corr[r][m]);
    }
}

/* q4_0 on AVX2, in pairs of blocks: the two blocks' 16 bytes of nibbles in the two halves
 * of a register give the low nibbles of both in one register and the high nibbles in
 * another, each 128-bit lane one block, against activations put in the same order once
 * per call (q4_prep's units of 4 blocks: their first halves, their second halves, and
 * -8 * sum of each block in the first lane of its 4; a pair is half a unit): two
 * vpmaddubsw and one vpmaddwd give 8 integer sums (4 lanes a block), converted and
 * multiplied by the blocks' scale products, each spread over its block's 4 lanes.
 * gemv_q4_row256 (one activation row, the scale products from gemv_q4_avx2's scale
 * pass) and tile_avx2 (made in the loop) run the same operations: bit-identical. */

/* the q4_0 nibbles of blocks b and b + 1 of row (two: b + 1 exists; else that half zero) */
AVX2_INLINE __m256i q4_pair_w(const unsigned char *row, int b, int two) {
    const unsigned char *p = row + (size_t)b * 18 + 2;
    __m128i lo = _mm_loadu_si128((const __m128i_u *)p);
    return _mm256_set_m128i(two ? _mm_loadu_si128((const __m128i_u *)(p + 18)) : _mm_setzero_si128(), lo);
}

/* the fp16 scales of the k (1 to 4) q4_0 blocks from p as floats, the missing ones zero
 * (a pair here, a unit in tile_q4_512) */
AVX2_INLINE __m128 q4_block_scales(const unsigned char *p, int k) {
    return _mm_setr_ps(f16c(p), k > 1 ? f16c(p + 18) : 0.0f, k > 2 ? f16c(p + 36) : 0.0f, k > 3 ? f16c(p + 54) : 0.0f);
}

/* the prepared activation bytes of the pair from block b (b even) of a q4_prep row */
static inline const unsigned char *q4_pair_act(const unsigned char *p4row, int b) {
    return p4row + (size_t)(b / 4) * Q4_UNIT_BYTES + 32 * ((b / 2) & 1);
}

/* 8 int32 sums, 4 per block, of (w - 8) a over a pair: pa from q4_pair_act */
AVX2_INLINE __m256i q4_pair_dot(__m256i wq, const unsigned char *pa) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256i lo = _mm256_and_si256(wq, m4), hi = _mm256_and_si256(_mm256_srli_epi16(wq, 4), m4);
    /* |each int16| <= 2 * 2 * 15 * 127: the sum of the two products does not saturate */
    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i_u *)pa)),
                                 _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i_u *)(pa + 64))));
    return _mm256_add_epi32(_mm256_loadu_si256((const __m256i_u *)(pa + 128)),
                            _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* the two floats of v's low half, each over its block's 4 lanes */
AVX2_INLINE __m256 q4_spread2(__m128 v) {
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(v), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

/* two floats from p (p[1] only when two) */
AVX2_INLINE __m128 load2(const float *p, int two) {
    return two ? _mm_castsi128_ps(_mm_loadl_epi64((const __m128i_u *)p)) : _mm_load_ss(p);
}

/* A tile of R weight rows by M activation rows (x of 2 to 31 rows: a server's batch; a
 * single row takes the gemv kernels below): each weight block loaded once for the M
 * rows. q8_0 and q4_0 prefetch each row TILE_AHEAD bytes ahead into L1 (the rows of the
 * next tiles): on a Zen 3 at 2 threads a 768 x 3072 q8_0 product for 2-8 rows streamed
 * 1.5-2.8x faster with it (3072 x 768: 1.05-1.2x; q4_0 1.0-1.3x), 4 KB ahead about as
 * fast; q4_k gained nothing. `gptc serve` on a q8_0 GPT-2 124M there, 4 concurrent
 * streams: 107-125 -> 158-160 tok/s. */
enum { TILE_AHEAD = 8192 };

AVX2_INLINE void tile_avx2(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias, int O,
                           int v, int n0, const int R, const int M, const int T) {
    __m256 acc[TILE][TILE], corr[TILE][TILE]; /* q4_k: the mins' sums, 8 sub-blocks in lanes */
    float ds[TILE][8];
    const unsigned char *row[TILE];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        row[r] = w + (size_t)(v + r) * rowb;
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) acc[r][m] = corr[r][m] = _mm256_setzero_ps();
    }
    for (int b = 0; T == T_Q4 && b < a->nb; b += 2) {
        const int two = b + 1 < a->nb;
        __m256i wq[TILE];
        __m128 ws[TILE];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            _mm_prefetch((const char *)row[r] + (size_t)b * 18 + TILE_AHEAD, _MM_HINT_T0);
            wq[r] = q4_pair_w(row[r], b, two);
            ws[r] = q4_block_scales(row[r] + (size_t)b * 18, 1 + two);
        }
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            size_t n = (size_t)(n0 + m);
            const unsigned char *pa = q4_pair_act(a->p4 + n * a->p4row, b);
            __m128 ad = load2(a->d + n * a->nb + b, two);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][m] = _mm256_fmadd_ps(q4_spread2(_mm_mul_ps(ws[r], ad)), _mm256_cvtepi32_ps(q4_pair_dot(wq[r], pa)),
                                            acc[r][m]);
        }
    }
    for (int b = 0; T != T_Q4 && b < a->nb; b++) {
        __m256i wv[TILE];
        float ws[TILE];
        if (T == T_QK && (b & 7) == 0) qk_superblock(corr, ds, row, a, n0, b, R, M);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            if (T == T_Q8) _mm_prefetch((const char *)row[r] + (size_t)b * 34 + TILE_AHEAD, _MM_HINT_T0);
            wv[r] = wblock256(row[r], b, T, &ws[r]);
            if (T == T_QK) ws[r] = ds[r][b & 7];
        }
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            size_t n = (size_t)(n0 + m);
            __m256i av = _mm256_loadu_si256((const __m256i_u *)(a->q + n * a->I + (size_t)b * 32));
            float ad = a->d[n * a->nb + b];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                acc[r][m] = _mm256_fmadd_ps(_mm256_set1_ps(ws[r] * ad), _mm256_cvtepi32_ps(dot256(wv[r], av, T)),
                                            acc[r][m]);
            }
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            out[(size_t)(n0 + m) * O + v + r] = gptc_hsum256(acc[r][m]) - (T == T_QK ? gptc_hsum256(corr[r][m]) : 0.0f) +
                                                (bias ? bias[v + r] : 0.0f);
}

#define TILE_SWITCH(FN, R, M, T)                                                                                   \
    switch ((R) * 16 + (M) * 4 + (T)) {                                                                            \
    case 4 * 16 + 1 * 4 + T_Q8: FN(4, 1, T_Q8); break;                                                             \
    case 4 * 16 + 2 * 4 + T_Q8: FN(4, 2, T_Q8); break;                                                             \
    case 4 * 16 + 3 * 4 + T_Q8: FN(4, 3, T_Q8); break;                                                             \
    case 4 * 16 + 4 * 4 + T_Q8: FN(4, 4, T_Q8); break;                                                             \
    case 1 * 16 + 1 * 4 + T_Q8: FN(1, 1, T_Q8); break;                                                             \
    case 1 * 16 + 2 * 4 + T_Q8: FN(1, 2, T_Q8); break;                                                             \
    case 1 * 16 + 3 * 4 + T_Q8: FN(1, 3, T_Q8); break;                                                             \
    case 1 * 16 + 4 * 4 + T_Q8: FN(1, 4, T_Q8); break;                                                             \
    case 4 * 16 + 1 * 4 + T_Q4: FN(4, 1, T_Q4); break;                                                             \
    case 4 * 16 + 2 * 4 + T_Q4: FN(4, 2, T_Q4); break;                                                             \
    case 4 * 16 + 3 * 4 + T_Q4: FN(4, 3, T_Q4); break;                                                             \
    case 4 * 16 + 4 * 4 + T_Q4: FN(4, 4, T_Q4); break;                                                             \
    case 1 * 16 + 1 * 4 + T_Q4: FN(1, 1, T_Q4); break;                                                             \
    case 1 * 16 + 2 * 4 + T_Q4: FN(1, 2, T_Q4); break;                                                             \
    case 1 * 16 + 3 * 4 + T_Q4: FN(1, 3, T_Q4); break;                                                             \
    case 1 * 16 + 4 * 4 + T_Q4: FN(1, 4, T_Q4); break;                                                             \
    case 4 * 16 + 1 * 4 + T_QK: FN(4, 1, T_QK); break;                                                             \
    case 4 * 16 + 2 * 4 + T_QK: FN(4, 2, T_QK); break;                                                             \
    case 4 * 16 + 3 * 4 + T_QK: FN(4, 3, T_QK); break;                                                             \
    case 4 * 16 + 4 * 4 + T_QK: FN(4, 4, T_QK); break;                                                             \
    case 1 * 16 + 1 * 4 + T_QK: FN(1, 1, T_QK); break;                                                             \
    case 1 * 16 + 2 * 4 + T_QK: FN(1, 2, T_QK); break;                                                             \
    case 1 * 16 + 3 * 4 + T_QK: FN(1, 3, T_QK); break;                                                             \
    case 1 * 16 + 4 * 4 + T_QK: FN(1, 4, T_QK); break;                                                             \
    }

/* q8_0, one activation row (decoding) on AVX2: one weight row at a time, its blocks in
 * order, each block's scale product ws * ad made in the loop and the row's bytes
 * prefetched AHEAD bytes ahead into L1 (past the row's end: the next rows of the
 * thread's range). tile_avx2's arithmetic at R = M = 1, so bit-identical to a row inside
 * a batch (test_quant). Measured on a Zen 3 (docs/kernels.md, "The AVX2 class"):
 * without the prefetch, or with a scale pass over a group of rows before their blocks
 * (as AVX-512 did then), the core waits for the memory between bursts of work; 1 KB ahead
 * decoded slower than 2, 4 or 8 KB, an L2 prefetch or two rows side by side no faster. */
enum { AHEAD = 2048 };

AVX2_INLINE void gemv_q8_avx2(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                              int v0, int v1) {
    for (int v = v0; v < v1; v++) {
        const unsigned char *row = w + (size_t)v * rowb;
        __m256 acc = _mm256_setzero_ps();
        for (int b = 0; b < a->nb; b++) {
            const unsigned char *p = row + (size_t)b * 34;
            _mm_prefetch((const char *)p + AHEAD, _MM_HINT_T0);
            __m256i wv = _mm256_loadu_si256((const __m256i_u *)(p + 2));
            __m256i x = _mm256_loadu_si256((const __m256i_u *)(a->q + (size_t)b * 32));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f16c(p) * a->d[b]), _mm256_cvtepi32_ps(dot256(wv, x, T_Q8)), acc);
        }
        out[v] = gptc_hsum256(acc) - 0.0f + (bias ? bias[v] : 0.0f);
    }
}

/* One activation row (decoding) times q4_0 weight rows on AVX2 (gemv_qk_512 makes q4_k's
 * scale products the same way on AVX-512): the scale products ws * ad of GR weight rows at
 * a time are computed first, 8 blocks per vector (the fp16 scales, sc's side-by-side
 * copy when the matrix has one (gptc_wdesc.scales: a loaded q4_0) or else collected at
 * the block stride, converted with vcvtph2ps, times the activation scales). The block
 * loop then takes each pair's two scale products with one load, spread. Its arithmetic
 * is tile_avx2's at M = 1 (the same float product, fused multiply-add chain and
 * horizontal sum), so the results are bit-identical to a row inside a batch (test_quant
 * checks it, with and without sc). Rows of up to NBMAX blocks; longer ones take the
 * tiles. Measured on a Zen 4 (docs/kernels.md): sc makes q4_0 1.15-1.4x faster
 * (collecting 24 scales a row costs as much as half its block loop). The rows are taken
 * one at a time, with gemv_q8_avx2's prefetch: four rows side by side streamed 5-9 GB/s
 * on one Zen 3 thread (in = 1024: 5), one row 10-11; prefetching the next group into L2
 * from the scale pass, as gemv_qk_512 does, had streamed 10-15% slower there. */
enum { NBMAX = 256, GR = 16 };

AVX2_INLINE void gemv_q4_row256(float *out, const qact *a, const unsigned char *row, const float *bias,
                                const float *sa, int v) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < a->nb; b += 2) {
        _mm_prefetch((const char *)row + (size_t)b * 18 + AHEAD, _MM_HINT_T0);
        acc = _mm256_fmadd_ps(q4_spread2(load2(sa + b, 1)),
                              _mm256_cvtepi32_ps(q4_pair_dot(q4_pair_w(row, b, b + 1 < a->nb), q4_pair_act(a->p4, b))),
                              acc);
    }
    out[v] = gptc_hsum256(acc) - 0.0f + (bias ? bias[v] : 0.0f);
}

AVX2_INLINE void gemv_q4_avx2(float *out, const qact *a, const unsigned char *w, size_t rowb, const uint16_t *sc,
                              const float *bias, int v0, int v1) {
    enum { SS = NBMAX + 8 };
    _Alignas(32) float sa[GR][SS];
    const int nb = a->nb;
    for (int g = v0; g < v1; g += GR) {
        int ng = v1 - g < GR ? v1 - g : GR;
        for (int r = 0; r < ng; r++) {
            const unsigned char *p = w + (size_t)(g + r) * rowb;
            int j = 0;
            for (; j + 8 <= nb; j += 8) {
                const unsigned char *q = p + (size_t)j * 18;
                __m128i hv;
                if (sc) {
                    hv = _mm_loadu_si128((const __m128i_u *)(sc + (size_t)(g + r) * nb + j));
                } else {
                    uint16_t h[8];
                    for (int k = 0; k < 8; k++) memcpy(&h[k], q + k * 18, 2);
                    hv = _mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3], (short)h[4], (short)h[5],
                                        (short)h[6], (short)h[7]);
                }
                _mm256_store_ps(&sa[r][j], _mm256_mul_ps(_mm256_cvtph_ps(hv), _mm256_loadu_ps(a->d + j)));
            }
            for (; j < nb; j++) sa[r][j] = f16c(p + (size_t)j * 18) * a->d[j];
            if (nb & 1) sa[r][nb] = 0.0f; /* the missing block of an odd last pair */
        }
        for (int r = 0; r < ng; r++) gemv_q4_row256(out, a, w + (size_t)(g + r) * rowb, bias, sa[r], g + r);
    }
}

/* q4_k, one activation row (decoding) on AVX2: as gemv_q8_avx2, one weight row at a
 * time with the same prefetch; each super-block's d*sc (times the activation scales) and
 * mins term made as qk_superblock makes them, then its four 32-byte pairs of sub-blocks
 * (low nibbles: the even sub-block, high: the odd one) in tile_avx2's order:
 * bit-identical to it. */
AVX2_INLINE void gemv_qk_avx2(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                              int v0, int v1) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int v = v0; v < v1; v++) {
        const unsigned char *row = w + (size_t)v * rowb;
        __m256 acc = _mm256_setzero_ps(), c = _mm256_setzero_ps();
        for (int b = 0; b < a->nb; b += 8) {
            const unsigned char *sp = row + (size_t)(b >> 3) * 144;
            for (int off = 0; off < 144; off += 64) _mm_prefetch((const char *)sp + AHEAD + off, _MM_HINT_T0);
            _Alignas(32) float ds[8], sa[8];
            __m256 dm = qk_scales(sp, ds);
            c = _mm256_fmadd_ps(dm, qk_asums(a, 0, b), c);
            _mm256_store_ps(sa, _mm256_mul_ps(_mm256_load_ps(ds), _mm256_loadu_ps(a->d + b)));
            for (int j = 0; j < 8; j += 2) {
                __m256i a0 = _mm256_loadu_si256((const __m256i_u *)(a->q + (size_t)(b + j) * 32));
                __m256i a1 = _mm256_loadu_si256((const __m256i_u *)(a->q + (size_t)(b + j) * 32 + 32));
                __m256i q = _mm256_loadu_si256((const __m256i_u *)(sp + 16 + 16 * j));
                __m256i w0 = _mm256_and_si256(q, m4), w1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                acc = _mm256_fmadd_ps(_mm256_broadcast_ss(sa + j), _mm256_cvtepi32_ps(dot256(w0, a0, T_QK)), acc);
                acc = _mm256_fmadd_ps(_mm256_broadcast_ss(sa + j + 1), _mm256_cvtepi32_ps(dot256(w1, a1, T_QK)), acc);
            }
        }
        out[v] = gptc_hsum256(acc) - gptc_hsum256(c) + (bias ? bias[v] : 0.0f);
    }
}

AVX2_FN void rows_avx2(float *out, const qact *a, const unsigned char *w, size_t rowb, const uint16_t *sc,
                       const float *bias, int O, int v0, int v1, int N, int T) {
    if (N == 1 && (T != T_Q4 || a->nb <= NBMAX)) {
        if (T == T_Q8) gemv_q8_avx2(out, a, w, rowb, bias, v0, v1);
        else if (T == T_Q4) gemv_q4_avx2(out, a, w, rowb, sc, bias, v0, v1);
        else gemv_qk_avx2(out, a, w, rowb, bias, v0, v1);
        return;
    }
    for (int v = v0; v < v1;) {
        int R = v1 - v >= TILE ? TILE : 1;
        for (int n0 = 0; n0 < N;) {
            int M = N - n0 < TILE ? N - n0 : TILE;
#define T2(RR, MM, TT) tile_avx2(out, a, w, rowb, bias, O, v, n0, RR, MM, TT)
            TILE_SWITCH(T2, R, M, T)
#undef T2
            n0 += M;
        }
        v += R;
    }
}

/* ---------------------------------------------------------------- AVX-512: two blocks per register */
/* Weight blocks b and b + 1 of q8_0 or q4_k (only b when one; the upper half is then
 * zero); q4_0 takes units of 4 blocks (q4_unit). */
AVX512_INLINE __m512i wpair512(const unsigned char *row, int b, int two, const int T, float *ws0, float *ws1) {
    *ws1 = 0;
    if (T == T_QK) { /* sub-blocks b (even) and b + 1 share 32 bytes: low and high nibbles */
        __m256i q = _mm256_loadu_si256((const __m256i_u *)(row + (size_t)(b >> 3) * 144 + 16 + 32 * ((b & 7) >> 1)));
        const __m256i m4 = _mm256_set1_epi8(0xF);
        return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)),
                                  _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
    }
    __m256i lo = wblock256(row, b, T, ws0);
    __m256i hi = two ? wblock256(row, b + 1, T, ws1) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* 16 int32 partial sums of two weight blocks times two activation blocks. q8_0 with VNNI:
 * (w + 128) a (the weights made unsigned by flipping their sign bit) with a8 holding
 * -128 * sum(a), two instructions where the sign trick takes four; vpdpbusd does not
 * saturate, so the sums are exact (vpmaddubsw's int16 pairs would: the sign trick there). */
AVX512_INLINE __m512i dot512(__m512i wv, __m512i av, const int T, const int vnni, __m512i a8) {
    if (T == T_QK) {
        if (vnni) return _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, av);
        return _mm512_madd_epi16(_mm512_maddubs_epi16(wv, av), _mm512_set1_epi16(1));
    }
    if (vnni) return _mm512_dpbusd_epi32(a8, _mm512_xor_si512(wv, _mm512_set1_epi8((char)0x80)), av);
    __m512i ax = _mm512_abs_epi8(wv);
    __m512i sy = _mm512_mask_sub_epi8(av, _mm512_movepi8_mask(wv), _mm512_setzero_si512(), av);
    if (vnni) return _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, sy);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(ax, sy), _mm512_set1_epi16(1));
}

/* a in the lanes of the first block, b in the second's */
static inline __m512 pair_ps(float a, float b) __attribute__((always_inline, target("avx512f")));
static inline __m512 pair_ps(float a, float b) {
    return _mm512_mask_blend_ps((__mmask16)0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b));
}

AVX512_INLINE void tile_512(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias, int O,
                            int v, int n0, const int R, const int M, const int T, const int vnni) {
    __m512 acc[TILE][TILE];
    __m256 corr[TILE][TILE]; /* q4_k: the mins' sums, 8 sub-blocks in lanes */
    float ds[TILE][8];
    const unsigned char *row[TILE];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        row[r] = w + (size_t)(v + r) * rowb;
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            acc[r][m] = _mm512_setzero_ps();
            corr[r][m] = _mm256_setzero_ps();
        }
    }
    for (int b = 0; b < a->nb; b += 2) {
        int two = b + 1 < a->nb;
        __m512i wv[TILE];
        __m512 wsv[TILE];
        if (T == T_QK && (b & 7) == 0) qk_superblock(corr, ds, row, a, n0, b, R, M);
        if (T == T_Q8 && R == 1 && M == 1) { /* gemv_row_512's stream: this pair's 68 bytes, AHEAD on */
            const char *pf = (const char *)row[0] + (size_t)b * 34 + AHEAD;
            _mm_prefetch(pf, _MM_HINT_T0);
            _mm_prefetch(pf + 64, _MM_HINT_T0);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            float s0, s1;
            wv[r] = wpair512(row[r], b, two, T, &s0, &s1);
            if (T == T_QK) {
                s0 = ds[r][b & 7];
                s1 = ds[r][(b & 7) + 1];
            }
            wsv[r] = pair_ps(s0, s1);
        }
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            size_t n = (size_t)(n0 + m);
            const int8_t *aq = a->q + n * a->I + (size_t)b * 32;
            __m512i av = two ? _mm512_loadu_si512(aq)
                             : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i_u *)aq));
            const float *ad = a->d + n * a->nb + b;
            __m512 adv = pair_ps(ad[0], two ? ad[1] : 0.0f);
            __m512i a8 = _mm512_setzero_si512();
            const int32_t *as = a->s + n * a->nb + b;
            if (T == T_Q8 && vnni) /* -128 * sum(a) in lanes 0 and 8 (dot512) */
                a8 = _mm512_mask_set1_epi32(_mm512_maskz_set1_epi32(1, -128 * as[0]), 0x100, two ? -128 * as[1] : 0);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                acc[r][m] = _mm512_fmadd_ps(_mm512_mul_ps(wsv[r], adv), _mm512_cvtepi32_ps(dot512(wv[r], av, T, vnni, a8)),
                                            acc[r][m]);
            }
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            out[(size_t)(n0 + m) * O + v + r] = _mm512_reduce_add_ps(acc[r][m]) -
                                                (T == T_QK ? gptc_hsum256(corr[r][m]) : 0.0f) + (bias ? bias[v + r] : 0.0f);
}

/* q4_0 on AVX-512, in units of 4 blocks: the unit's 4 x 16 bytes of nibbles (one load and
 * three inserts) give the low nibbles of all 4 blocks in one register and the high
 * nibbles in another, each 16-byte lane one block; the activations were put in the same
 * order once per call (q4_prep: the unit's 4 first halves, its 4 second halves, and
 * -8 * sum of each block in the first lane of its 4), so a unit is two dot products
 * into one register of integer sums (4 lanes a block), one conversion and one fused
 * multiply-add by the blocks' scale products, each spread over its block's 4 lanes.
 * Half the instructions a block of the pair layout took. tile_q4_512 takes a tile of
 * R weight rows by M activation rows; at R = M = 1 (gemv_row_512) it prefetches the
 * row's bytes as tile_512 does for q8_0. */

/* the q4_0 nibbles of blocks 4u .. 4u + k - 1 of row (k <= 4; missing blocks zero) */
AVX512_INLINE __m512i q4_unit_w(const unsigned char *row, int u, int k) {
    const unsigned char *p = row + (size_t)u * 72 + 2;
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i_u *)p));
    if (k == 4) {
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i_u *)(p + 18)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i_u *)(p + 36)), 2);
        return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i_u *)(p + 54)), 3);
    }
    v = _mm512_zextsi128_si512(_mm512_castsi512_si128(v));
    if (k > 1) v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i_u *)(p + 18)), 1);
    if (k > 2) v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i_u *)(p + 36)), 2);
    return v;
}

/* 16 int32 sums, 4 per block, of (w - 8) a over a unit: pa its 192 prepared bytes */
AVX512_INLINE __m512i q4_unit_dot(__m512i wq, const unsigned char *pa, const int vnni) {
    const __m512i m4 = _mm512_set1_epi8(0xF);
    __m512i lo = _mm512_and_si512(wq, m4), hi = _mm512_and_si512(_mm512_srli_epi16(wq, 4), m4);
    __m512i a8 = _mm512_loadu_si512(pa + 128), alo = _mm512_loadu_si512(pa), ahi = _mm512_loadu_si512(pa + 64);
    if (vnni) return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a8, lo, alo), hi, ahi);
    /* |each int16| <= 2 * 2 * 15 * 127: the sum of the two products does not saturate */
    __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, alo), _mm512_maddubs_epi16(hi, ahi));
    return _mm512_add_epi32(a8, _mm512_madd_epi16(p, _mm512_set1_epi16(1)));
}

/* 4 floats, one per block, each over its block's 4 lanes */
AVX512_INLINE __m512 q4_spread(__m128 v) {
    return _mm512_permutevar_ps(_mm512_broadcast_f32x4(v),
                                _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
}

AVX512_INLINE void tile_q4_512(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                               int O, int v, int n0, const int R, const int M, const int vnni) {
    __m512 acc[TILE][TILE];
    const unsigned char *row[TILE];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        row[r] = w + (size_t)(v + r) * rowb;
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) acc[r][m] = _mm512_setzero_ps();
    }
    const int nu = (a->nb + 3) / 4, full = a->nb / 4;
    for (int u = 0; u < nu; u++) {
        const int k = u < full ? 4 : a->nb - 4 * u;
        const __mmask8 km = (__mmask8)((1u << k) - 1);
        __m512i wq[TILE];
        __m128 ws[TILE];
        if (R == 1 && M == 1) { /* gemv_row_512's stream: this unit's 72 bytes, AHEAD on */
            const char *pf = (const char *)row[0] + (size_t)u * 72 + AHEAD;
            _mm_prefetch(pf, _MM_HINT_T0);
            _mm_prefetch(pf + 64, _MM_HINT_T0);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            wq[r] = q4_unit_w(row[r], u, k);
            ws[r] = q4_block_scales(row[r] + (size_t)u * 72, k);
        }
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) {
            size_t n = (size_t)(n0 + m);
            const unsigned char *pa = a->p4 + n * a->p4row + (size_t)u * Q4_UNIT_BYTES;
            __m128 ad = _mm_maskz_loadu_ps(km, a->d + n * a->nb + 4 * u);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m512 p = _mm512_cvtepi32_ps(q4_unit_dot(wq[r], pa, vnni));
                acc[r][m] = _mm512_fmadd_ps(q4_spread(_mm_mul_ps(ws[r], ad)), p, acc[r][m]);
            }
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            out[(size_t)(n0 + m) * O + v + r] = _mm512_reduce_add_ps(acc[r][m]) + (bias ? bias[v + r] : 0.0f);
}

/* One activation row (decoding) times q8_0 or q4_0 weight rows v0..v1 on AVX-512: the
 * tiles (tile_512, tile_q4_512) at R = M = 1, one weight row at a time, its blocks in
 * order, each block's scale product made in the loop, and its bytes prefetched AHEAD
 * (2 KB) ahead into L1 from the block loop (past a row's end: the next rows of the
 * thread's range), as gemv_q8_avx2 does on AVX2. The tiles' own arithmetic, so
 * bit-identical to a row inside a batch (test_quant). Measured on the Intel Xeon
 * (docs/kernels.md): it replaced a scale pass over 16 rows followed by their block
 * loops, 4 rows side by side (q8_0 1.1x, q4_0 1.2x at 1 thread, q4_0 GPT-2 355M 1.4x at
 * 2); without the prefetch one row at a time decoded a third slower than that plan. */
AVX512_INLINE void gemv_row_512(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                                int v0, int v1, const int T, const int vnni) {
    for (int v = v0; v < v1; v++) {
        if (T == T_Q4) tile_q4_512(out, a, w, rowb, bias, 0, v, 0, 1, 1, vnni);
        else tile_512(out, a, w, rowb, bias, 0, v, 0, 1, 1, T, vnni);
    }
}

/* One activation row times q4_k weight rows v .. v + R - 1 (gemv_qk_512): tile_512's
 * block loop at M = 1 with the scale products from qk_scale_pass, each pair's two as
 * broadcast loads into lo (the first block's lanes) and hi (the second's), summed in
 * tile_512's order: bit-identical to it (test_quant checks it). */
AVX512_INLINE void gemv_qk_tile(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                                const float *sa, size_t sstride, const float *corr, int v, const int R, const int vnni) {
    __m512 lo[TILE], hi[TILE];
    const unsigned char *row[TILE];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        row[r] = w + (size_t)(v + r) * rowb;
        lo[r] = hi[r] = _mm512_setzero_ps();
    }
    for (int b = 0; b < a->nb; b += 2) {
        int two = b + 1 < a->nb;
        const int8_t *aq = a->q + (size_t)b * 32;
        __m512i av = two ? _mm512_loadu_si512(aq) : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i_u *)aq));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            float s0, s1; /* unused: the scales come from sa */
            __m512 p = _mm512_cvtepi32_ps(dot512(wpair512(row[r], b, two, T_QK, &s0, &s1), av, T_QK, vnni, _mm512_setzero_si512()));
            lo[r] = _mm512_fmadd_ps(_mm512_set1_ps(sa[r * sstride + b]), p, lo[r]);
            hi[r] = _mm512_fmadd_ps(_mm512_set1_ps(sa[r * sstride + b + 1]), p, hi[r]);
        }
    }
    const __mmask16 khi = (__mmask16)0xFF00;
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        out[v + r] = _mm512_reduce_add_ps(_mm512_mask_blend_ps(khi, lo[r], hi[r])) - corr[r] +
                     (bias ? bias[v + r] : 0.0f);
}

/* q4_k's scale pass for weight rows [g, g + ng) (gemv_qk_512): sa[r][b] = d*sc of
 * sub-block b times its activation scale, corr[r] = the row's mins term, each as
 * qk_superblock computes them; the next group's bytes prefetched into L2 (into L1 it
 * ran 6-15% slower on a Zen 4). */
AVX512_INLINE void qk_scale_pass(float (*sa)[NBMAX + 8], float *corr, const qact *a, const unsigned char *w,
                                 size_t rowb, int g, int ng) {
    const size_t ahead = GR * rowb;
    for (int r = 0; r < ng; r++) {
        const unsigned char *p = w + (size_t)(g + r) * rowb;
        __m256 c = _mm256_setzero_ps();
        for (int b = 0; b < a->nb; b += 8) {
            const unsigned char *sp = p + (size_t)(b >> 3) * 144;
            for (int off = 0; off < 144; off += 64) _mm_prefetch((const char *)sp + ahead + off, _MM_HINT_T1);
            _Alignas(32) float ds[8];
            __m256 dm = qk_scales(sp, ds);
            c = _mm256_fmadd_ps(dm, qk_asums(a, 0, b), c);
            _mm256_store_ps(&sa[r][b], _mm256_mul_ps(_mm256_load_ps(ds), _mm256_loadu_ps(a->d + b)));
        }
        corr[r] = gptc_hsum256(c);
    }
}

/* q4_k, one activation row, on AVX-512: groups of GR rows, each qk_scale_pass, then
 * gemv_qk_tile on 4 rows at a time and on the rest one by one: bit-identical to
 * tile_512. One row at a time with the prefetch (gemv_row_512's plan) decoded 1.2x
 * slower at 2 threads on the Intel Xeon. */
AVX512_INLINE void gemv_qk_512(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                               int v0, int v1, const int vnni) {
    enum { SS = NBMAX + 8 };
    _Alignas(64) float sa[GR][SS];
    float corr[GR];
    for (int g = v0; g < v1; g += GR) {
        int ng = v1 - g < GR ? v1 - g : GR;
        qk_scale_pass(sa, corr, a, w, rowb, g, ng);
        int r = 0;
        for (; r + TILE <= ng; r += TILE) gemv_qk_tile(out, a, w, rowb, bias, sa[r], SS, corr + r, g + r, TILE, vnni);
        for (; r < ng; r++) gemv_qk_tile(out, a, w, rowb, bias, sa[r], SS, corr + r, g + r, 1, vnni);
    }
}

AVX512_FN void rows_512(float *out, const qact *a, const unsigned char *w, size_t rowb, const float *bias,
                        int O, int v0, int v1, int N, int T, int vnni) {
    if (N == 1 && T == T_QK && a->nb <= NBMAX) {
        if (vnni) gemv_qk_512(out, a, w, rowb, bias, v0, v1, 1);
        else gemv_qk_512(out, a, w, rowb, bias, v0, v1, 0);
        return;
    }
    if (N == 1 && T != T_QK) {
        if (T == T_Q8 && vnni) gemv_row_512(out, a, w, rowb, bias, v0, v1, T_Q8, 1);
        else if (T == T_Q8) gemv_row_512(out, a, w, rowb, bias, v0, v1, T_Q8, 0);
        else if (vnni) gemv_row_512(out, a, w, rowb, bias, v0, v1, T_Q4, 1);
        else gemv_row_512(out, a, w, rowb, bias, v0, v1, T_Q4, 0);
        return;
    }
    for (int v = v0; v < v1;) {
        int R = v1 - v >= TILE ? TILE : 1;
        for (int n0 = 0; n0 < N;) {
            int M = N - n0 < TILE ? N - n0 : TILE;
#define T5(RR, MM, TT)                                                                                             \
    if (TT == T_Q4 && vnni) tile_q4_512(out, a, w, rowb, bias, O, v, n0, RR, MM, 1);                               \
    else if (TT == T_Q4) tile_q4_512(out, a, w, rowb, bias, O, v, n0, RR, MM, 0);                                  \
    else if (vnni) tile_512(out, a, w, rowb, bias, O, v, n0, RR, MM, TT, 1);                                       \
    else tile_512(out, a, w, rowb, bias, O, v, n0, RR, MM, TT, 0)
            TILE_SWITCH(T5, R, M, T)
#undef T5
            n0 += M;
        }
        v += R;
    }
}
#endif /* QL_X86 */

/* ---------------------------------------------------------------- dispatch */
int k_linear_q_isa(void) {
#ifdef QL_X86
    if (gptc_cpu_has(GPTC_CPU_AVX512F) && gptc_cpu_has(GPTC_CPU_AVX512BW) && gptc_cpu_has(GPTC_CPU_AVX512VL) &&
        gptc_cpu_has(GPTC_CPU_F16C)) {
        if (gptc_cpu_has(GPTC_CPU_AVX512VNNI)) return GPTC_QL_VNNI;
        return GPTC_QL_AVX512;
    }
    if (gptc_cpu_has(GPTC_CPU_AVX2) && gptc_cpu_has(GPTC_CPU_FMA) && gptc_cpu_has(GPTC_CPU_F16C)) return GPTC_QL_AVX2;
#endif
    return GPTC_QL_SCALAR;
}

static void run_rows(float *out, const qact *a, const unsigned char *w, size_t rowb, const uint16_t *sc,
                     const float *bias, int O, int v0, int v1, int N, int T, int isa) {
#ifdef QL_X86
    if (isa >= GPTC_QL_AVX512) {
        rows_512(out, a, w, rowb, bias, O, v0, v1, N, T, isa == GPTC_QL_VNNI);
        return;
    }
    if (isa == GPTC_QL_AVX2) {
        rows_avx2(out, a, w, rowb, sc, bias, O, v0, v1, N, T);
        return;
    }
#endif
    rows_scalar(out, a, w, rowb, bias, O, v0, v1, N, T);
}

typedef struct {
    float *out;
    const float *x, *bias;
    const gptc_wdesc *w;
    int8_t *q; /* x's n rows quantized: I bytes, nb scales and nb sums a row */
    float *d;
    int32_t *s;
    unsigned char *p4; /* q4_0 on AVX2, AVX-512: the rows as q4_prep puts them, p4row bytes each */
    size_t rowb, p4row;
    int n, T, isa;
} lin_job;

/* q4_0's activation units (tile_q4_512; in halves q4_pair_dot): for each 4 blocks 4u ..
 * 4u + 3 of a row, their first 16 bytes side by side, their last 16, and 16 int32
 * holding -8 * sum of block 4u + k in lane 4k (zero elsewhere); blocks past nb are zeros. */
static size_t q4_prep_bytes(int nb) { return (size_t)(nb + 3) / 4 * Q4_UNIT_BYTES; }

static void q4_prep(unsigned char *dst, const int8_t *q, const int32_t *s, int nb) {
    memset(dst, 0, q4_prep_bytes(nb));
    for (int b = 0; b < nb; b++) {
        unsigned char *u = dst + (size_t)(b / 4) * Q4_UNIT_BYTES;
        int k = b % 4;
        memcpy(u + 16 * k, q + (size_t)b * GPTC_QK, 16);
        memcpy(u + 64 + 16 * k, q + (size_t)b * GPTC_QK + 16, 16);
        int32_t a8 = -8 * s[b];
        memcpy(u + 128 + 16 * k, &a8, 4);
    }
}

static void quantize_rows(void *arg, int r0, int r1) {
    const lin_job *j = arg;
    int I = j->w->in, nb = I / GPTC_QK;
    for (int r = r0; r < r1; r++) {
        int8_t *q = j->q + (size_t)r * I;
        int32_t *s = j->s + (size_t)r * nb;
        k_quantize_act_with(j->x + (size_t)r * I, I, q, j->d + (size_t)r * nb, s, j->isa);
        if (j->p4) q4_prep(j->p4 + (size_t)r * j->p4row, q, s, nb);
    }
}

static void product_tiles(void *arg, int t0, int t1) {
    const lin_job *j = arg;
    int O = j->w->out, v1 = t1 * TILE < O ? t1 * TILE : O;
    qact a = {j->q, j->d, j->s, j->w->in, j->w->in / GPTC_QK, j->p4, j->p4row};
    run_rows(j->out, &a, j->w->data, j->rowb, j->w->scales, j->bias, O, t0 * TILE, v1, j->n, j->T, j->isa);
}

/* rows [n0, n0 + n) of x quantized into (q, d, s) (and p4), then the product for them:
 * output rows in chunks of PAR_TILES tiles, claimed by the pool's threads (core/pool.h) */
static void linear_rows(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int n,
                        int8_t *q, float *d, int32_t *s, unsigned char *p4, int isa) {
    size_t rowb = gptc_q_row_bytes(w->dtype, w->in);
    int nt = rowb * (size_t)w->out < PAR_MIN ? 1 : ctx->n_threads;
    lin_job j = {out, x, bias, w, q, d, s, p4, rowb, p4 ? q4_prep_bytes(w->in / GPTC_QK) : 0, n, type_of(w->dtype), isa};
    gptc_pool_run(nt, n, 1, quantize_rows, &j);
    gptc_pool_run(nt, (w->out + TILE - 1) / TILE, PAR_TILES, product_tiles, &j);
}

void k_linear_q_with(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N,
                     int isa) {
    int I = w->in, nb = I / GPTC_QK;
    if (N <= 0 || w->out <= 0) return;
    int best = k_linear_q_isa();
    if (isa > best) isa = best;
    if (isa < 0) isa = GPTC_QL_SCALAR;
    /* q4_0 on AVX2 and AVX-512 reads the rows as q4_prep puts them (first in the buffer) */
    size_t p4row = isa >= GPTC_QL_AVX2 && type_of(w->dtype) == T_Q4 ? q4_prep_bytes(nb) : 0;
    size_t per_row = (size_t)I + 8 * (size_t)nb + p4row;
    _Alignas(64) unsigned char stack[STACK_ACT];
    int rows = (int)(STACK_ACT / per_row);
    unsigned char *buf = stack;
    if (rows < N) {
        unsigned char *heap = gptc_alloc(NULL, per_row * (size_t)N, "activation blocks");
        if (heap) {
            buf = heap;
            rows = N;
        }
        /* else: chunks of rows that fit on the stack (the weights are read once per chunk) */
    }
    if (rows < 1) rows = 1; /* a row larger than the stack buffer: only with the heap (checked above) */
    if (buf == stack && per_row > STACK_ACT) {
        for (size_t i = 0; i < (size_t)N * w->out; i++) out[i] = NAN;
        return;
    }
    for (int n0 = 0; n0 < N; n0 += rows) {
        int n = N - n0 < rows ? N - n0 : rows;
        unsigned char *p4 = p4row ? buf : NULL;
        int8_t *q = (int8_t *)(buf + (size_t)n * p4row);
        float *d = (float *)((unsigned char *)q + (size_t)n * I);
        int32_t *s = (int32_t *)((unsigned char *)d + 4 * (size_t)n * nb);
        linear_rows(ctx, out + (size_t)n0 * w->out, x + (size_t)n0 * I, w, bias, n, q, d, s, p4, isa);
    }
    if (buf != stack) gptc_free(buf);
}

void k_linear_q(gptc_ctx *ctx, float *out, const float *x, const gptc_wdesc *w, const float *bias, int N) {
    k_linear_q_with(ctx, out, x, w, bias, N, k_linear_q_isa());
}
