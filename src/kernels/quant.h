/* quant.h: ggml's block formats for weights (q8_0, q4_0, q4_k), byte for byte as
 * ggml-quants.c lays them out and quantizes them (its *_ref functions), so a row
 * quantized here is the row llama-quantize writes and GGUF files carry. A quantized
 * matrix is always stored [out, in]: each output's row is in / block elements blocks
 * along the inputs (a Conv1D [in, out] weight is transposed when quantized). Internal.
 *   q8_0 (34 bytes / 32): fp16 d, int8 q[32];         x = d * q, d = max|x| / 127
 *   q4_0 (18 bytes / 32): fp16 d, uint8 qs[16];       x = d * (q - 8), d = max / -8
 *        (max: the value of largest magnitude, sign kept); q of element j < 16 in the
 *        low nibble of qs[j], of element j + 16 in its high nibble
 *   q4_k (144 bytes / 256): fp16 d, fp16 dmin, uint8 scales[12] (8 6-bit scales and 8
 *        6-bit mins), uint8 qs[128]; sub-block s (32 elements) x = d*sc[s]*q - dmin*m[s]
 * The activation side of the integer products is in cpu/qlinear.c. */
#ifndef GPTC_KERNELS_QUANT_H
#define GPTC_KERNELS_QUANT_H

#include "../core/core.h"

enum { GPTC_QK = 32, GPTC_QK_K = 256 };

static inline int gptc_dtype_is_quant(gptc_dtype d) { return d == GPTC_Q8_0 || d == GPTC_Q4_0 || d == GPTC_Q4_K; }
/* elements per block (32 or 256); 1 for F32/F16/BF16 */
int gptc_q_block_elems(gptc_dtype d);
/* bytes per block (34, 18, 144); the element size for F32/F16/BF16 */
size_t gptc_q_block_bytes(gptc_dtype d);
/* bytes of a row of n elements (n a multiple of the block) */
static inline size_t gptc_q_row_bytes(gptc_dtype d, int n) {
    return (size_t)(n / gptc_q_block_elems(d)) * gptc_q_block_bytes(d);
}
/* Quantizes n floats (n a multiple of the block) into dst, as ggml's
 * quantize_row_*_ref. */
void gptc_q_quantize_row(gptc_dtype d, const float *x, void *dst, int n);
/* dst[0, n) = the row's values as f32 (exact: ggml's dequantize_row_*). */
void gptc_q_dequantize_row(gptc_dtype d, const void *src, float *dst, int n);
/* The same through one instruction set at most the CPU's best (gptc_q_dequantize_isa:
 * 2 AVX-512F, 1 AVX2, 0 portable C); every one gives the same floats (tests force each). */
int gptc_q_dequantize_isa(void);
void gptc_q_dequantize_row_with(gptc_dtype d, const void *src, float *dst, int n, int isa);
/* Element k of a quantized row (the value dequantize_row gives). */
float gptc_q_get(gptc_dtype d, const void *row, int k);
/* The first block of a row whose fp16 scale (d or dmin) is Inf or NaN, or -1. */
long gptc_q_first_bad_block(gptc_dtype d, const void *row, int n);
/* Whether a loaded matrix keeps its block scales side by side as well (gptc_wdesc.scales):
 * q4_0 when the batch-1 product is AVX2's (k_linear_q_isa), which is bound by collecting
 * them (docs/kernels.md); AVX-512's reads each scale beside its block as it streams the
 * row, and q8_0 is bound by reading its bytes and gains nothing from them. The same
 * answer for the whole process (the CPU level is fixed at start). Their bytes for out
 * rows of n elements (a multiple of 32; 0 for other types); gptc_q_scales copies them
 * (q8_0 or q4_0): dst[r * n / 32 + b] = the fp16 bits of row r's block b. */
int gptc_q_has_scales(gptc_dtype d);
static inline size_t gptc_q_scales_bytes(gptc_dtype d, int n, int out) {
    return gptc_q_has_scales(d) ? (size_t)(n / GPTC_QK) * (size_t)out * sizeof(uint16_t) : 0;
}
void gptc_q_scales(gptc_dtype d, const void *rows, int n, int out, uint16_t *dst);
/* q4_k: scale and min of sub-block j (0..7) from the 12 packed bytes (ggml's
 * get_scale_min_k4). */
static inline void gptc_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}
static inline float gptc_q_f16(const unsigned char *p) { return gptc_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

#endif
