/* test_dequant.c: gptc_q_dequantize_row_with on every instruction set this CPU runs
 * (portable C, AVX2, AVX-512F, forced one at a time) gives the portable path's floats
 * bit for bit, for q8_0, q4_0 and q4_k rows of random bytes (every quant value and
 * packed 6-bit scale/min pattern occurs) with random finite fp16 scales in [-2, 2), rows
 * of 1, 3 and 7 blocks (q4_k: 1, 3 super-blocks) from a fixed seed; and the portable path
 * agrees with gptc_q_get (element-wise decoding, separate code) on every element. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "kernels/quant.h"
#include <stdint.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static const char *isa_name(int isa) { return isa == 2 ? "avx512" : isa == 1 ? "avx2" : "scalar"; }

int main(void) {
    int best = gptc_q_dequantize_isa();
    const gptc_dtype types[] = {GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K};
    const char *names[] = {"q8_0", "q4_0", "q4_k"};
    const int nblocks[] = {1, 3, 7};
    for (int t = 0; t < 3; t++)
        for (int nb = 0; nb < 3; nb++) {
            gptc_dtype d = types[t];
            if (d == GPTC_Q4_K && nblocks[nb] > 3) continue;
            int bk = gptc_q_block_elems(d), n = bk * nblocks[nb];
            size_t bb = gptc_q_block_bytes(d), bytes = gptc_q_row_bytes(d, n);
            unsigned char *row = malloc(bytes);
            float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
            for (size_t i = 0; i < bytes; i++) row[i] = (unsigned char)rnd();
            for (int b = 0; b < nblocks[nb]; b++)
                for (int h = 0; h < (d == GPTC_Q4_K ? 2 : 1); h++) {
                    uint16_t f = gptc_f32_to_f16((float)(rnd() % 4096) / 1024.0f - 2.0f);
                    row[b * bb + 2 * h] = (unsigned char)(f & 0xFF), row[b * bb + 2 * h + 1] = (unsigned char)(f >> 8);
                }
            gptc_q_dequantize_row_with(d, row, want, n, 0);
            int bad = -1;
            for (int k = 0; k < n && bad < 0; k++) {
                float g = gptc_q_get(d, row, k);
                if (memcmp(&g, &want[k], sizeof g)) bad = k;
            }
            char name[160];
            snprintf(name, sizeof name, "dequantize %s %d elements, scalar == gptc_q_get element-wise", names[t], n);
            CHECK(name, bad < 0, "element %d: %g vs %g", bad, bad < 0 ? 0.0 : want[bad],
                  bad < 0 ? 0.0 : gptc_q_get(d, row, bad));
            for (int isa = 1; isa <= best; isa++) {
                for (int k = 0; k < n; k++) got[k] = NAN;
                gptc_q_dequantize_row_with(d, row, got, n, isa);
                bad = -1;
                for (int k = 0; k < n && bad < 0; k++)
                    if (memcmp(&got[k], &want[k], sizeof(float))) bad = k;
                snprintf(name, sizeof name, "dequantize %s %d elements, %s == scalar (bitwise)", names[t], n,
                         isa_name(isa));
                CHECK(name, bad < 0, "element %d: %g vs %g", bad, bad < 0 ? 0.0 : got[bad], bad < 0 ? 0.0 : want[bad]);
            }
            free(row), free(want), free(got);
        }
    return test_exit();
}
