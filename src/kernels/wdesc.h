/* wdesc.h: the weight descriptor: a matrix as it lies in memory (dtype and layout),
 * so weights stay as loaded (F32, F16, BF16; later quantized blocks) and the linear
 * ops dispatch on it. Internal. */
#ifndef GPTC_KERNELS_WDESC_H
#define GPTC_KERNELS_WDESC_H

#include "../core/core.h"

typedef enum gptc_wlayout {
    GPTC_W_IN_OUT = 0, /* [in, out] row-major: Hugging Face's Conv1D (GPT-2) */
    GPTC_W_OUT_IN,     /* [out, in] row-major: nn.Linear, and embeddings used as a head */
} gptc_wlayout;

typedef struct gptc_wdesc {
    const void *data;   /* in * out elements of dtype */
    gptc_dtype dtype;   /* GPTC_F32, GPTC_F16 (IEEE half), GPTC_BF16 (upper 16 bits of an f32) */
    gptc_wlayout layout;
    int in, out;
    /* q8_0/q4_0, optional: the blocks' fp16 scales again, side by side ([out][in / 32],
     * gptc_q_scales), so AVX2's batch-1 q4_0 product reads them with one load per 8
     * blocks instead of collecting them at the block stride; NULL: they are collected
     * (loaded models set them for q4_0 where that kernel runs: gptc_q_has_scales) */
    const uint16_t *scales;
} gptc_wdesc;

#endif
