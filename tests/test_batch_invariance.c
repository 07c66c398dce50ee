/* test_batch_invariance.c: a row's result does not depend on how many rows share the
 * call (what continuous batching in `gptc serve` relies on): the few-row linear kernels
 * (F32 [in, out] and [out, in], F16, BF16) give each row the same bits for M = 1..8 and
 * 1 or 2 threads; exp gives an element the same bits wherever it lies in the array; gptc_session_step gives a sequence the same logits alone and among 11
 * others (more than one group of 8); a prompt prefilled in pieces that end at multiples
 * of gptc_session_prefill_chunk gives the same logits as prefilled at once. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "kernels/kernels.h"
#include "kernels/wlinear.h"
#include "kernels/cpu/vec.h"
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void test_linear(gptc_ctx *ctx, int I, int O) {
    size_t n = (size_t)I * O;
    float *wf = malloc(n * sizeof(float)), *x = malloc(sizeof(float) * 8 * I), *bias = malloc(sizeof(float) * O);
    uint16_t *wh = malloc(n * 2);
    float *alone = malloc(sizeof(float) * 8 * O), *batch = malloc(sizeof(float) * 8 * O);
    for (size_t i = 0; i < n; i++) wf[i] = frand() * 0.2f;
    for (int i = 0; i < 8 * I; i++) x[i] = frand();
    for (int j = 0; j < O; j++) bias[j] = frand();
    for (int dt = GPTC_F32; dt <= GPTC_BF16; dt++) {
        for (size_t i = 0; i < n && dt != GPTC_F32; i++)
            wh[i] = dt == GPTC_BF16 ? gptc_f32_to_bf16(wf[i]) : gptc_f32_to_f16(wf[i]);
        for (int lay = GPTC_W_IN_OUT; lay <= GPTC_W_OUT_IN; lay++) {
            gptc_wdesc w = {dt == GPTC_F32 ? (const void *)wf : (const void *)wh, dt, lay, I, O, NULL};
            for (int r = 0; r < 8; r++) k_linear_w(ctx, alone + (size_t)r * O, x + (size_t)r * I, &w, bias, 1);
            int bad = 0, badM = 0;
            for (int M = 2; M <= 8; M++) {
                k_linear_w(ctx, batch, x, &w, bias, M);
                if (memcmp(batch, alone, sizeof(float) * (size_t)M * O) && !bad) bad = 1, badM = M;
            }
            char name[160];
            snprintf(name, sizeof name, "linear %s %s in=%d out=%d, %d thread(s): rows of M = 2..8 == each row alone",
                     dt == GPTC_F32 ? "F32" : dt == GPTC_F16 ? "F16" : "BF16", lay == GPTC_W_IN_OUT ? "[in,out]" : "[out,in]",
                     I, O, gptc_ctx_n_threads(ctx));
            CHECK(name, !bad, "differs at M = %d", badM);
        }
    }
    free(wf), free(x), free(bias), free(wh), free(alone), free(batch);
}

static void test_vexp(void) {
    float x[53], alone[53], y[53];
    for (int i = 0; i < 53; i++) x[i] = frand() * 20.0f;
    for (int i = 0; i < 53; i++) gptc_vexp(alone + i, x + i, 1);
    int bad = -1;
    for (int off = 0; off < 20 && bad < 0; off++) {
        gptc_vexp(y + off, x + off, (size_t)(53 - off));
        for (int i = off; i < 53; i++)
            if (memcmp(&y[i], &alone[i], sizeof(float))) { bad = i; break; }
    }
    CHECK("exp: an element's result does not depend on its place in the array", bad < 0, "element %d differs", bad);
}

static void test_session(gptc_ctx *ctx) {
    gptc_config c;
    gptc_config_preset(ctx, "tiny", &c);
    c.n_layer = 2, c.n_head = 3, c.n_embd = 45, c.n_positions = 300, c.vocab_size = 211;
    c.bos_token_id = c.eos_token_id = 0;
    gptc_model *m;
    gptc_session *s;
    gptc_status st = gptc_model_new(ctx, &c, 11, &m);
    if (!st) st = gptc_session_new(ctx, m, 12, 0, &s);
    CHECK("session batch: model and session", !st, "%s", gptc_errmsg(ctx));
    if (st) return;
    int V = c.vocab_size, P = 270;
    int32_t prompt[12][300];
    for (int q = 0; q < 12; q++)
        for (int t = 0; t < P; t++) prompt[q][t] = (int32_t)((q * 37 + t * 11 + t * t) % V);
    float *alone = malloc(sizeof(float) * 12 * V), *batch = malloc(sizeof(float) * 12 * V);
    int32_t next[12];
    /* each sequence alone: prefill 5 + q tokens, then one step */
    for (int q = 0; q < 12; q++) {
        gptc_session_reset(s, -1);
        st |= gptc_session_prefill(ctx, s, q, prompt[q], 5 + q, NULL);
        next[q] = (int32_t)((q * 5 + 3) % V);
        st |= gptc_session_step(ctx, s, &q, &next[q], 1, alone + (size_t)q * V);
    }
    gptc_session_reset(s, -1);
    int seqs[12];
    for (int q = 0; q < 12; q++) {
        seqs[q] = 11 - q; /* another order too */
        st |= gptc_session_prefill(ctx, s, q, prompt[q], 5 + q, NULL);
    }
    int32_t toks[12];
    for (int r = 0; r < 12; r++) toks[r] = next[seqs[r]];
    st |= gptc_session_step(ctx, s, seqs, toks, 12, batch);
    int bad = -1;
    for (int r = 0; r < 12 && bad < 0; r++)
        if (memcmp(batch + (size_t)r * V, alone + (size_t)seqs[r] * V, sizeof(float) * V)) bad = seqs[r];
    CHECK("session step: 12 sequences in one step == each alone (bitwise)", !st && bad < 0, "sequence %d differs (%s)",
          bad, gptc_errmsg(ctx));
    /* prefill in pieces at chunk boundaries == at once */
    int chunk = gptc_session_prefill_chunk(s);
    CHECK("prefill chunk is 128 rows", chunk == 128, "got %d", chunk);
    gptc_session_reset(s, -1);
    st = gptc_session_prefill(ctx, s, 0, prompt[0], P, alone);
    st |= gptc_session_prefill(ctx, s, 1, prompt[0], chunk, NULL);
    st |= gptc_session_prefill(ctx, s, 1, prompt[0] + chunk, chunk, NULL);
    st |= gptc_session_prefill(ctx, s, 1, prompt[0] + 2 * chunk, P - 2 * chunk, batch);
    CHECK("prefill in chunk-aligned pieces == at once (bitwise)", !st && !memcmp(alone, batch, sizeof(float) * V),
          "differs (%s)", gptc_errmsg(ctx));
    free(alone), free(batch);
    gptc_session_free(s);
    gptc_model_free(m);
}

int main(void) {
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("seed %llu\n", (unsigned long long)rng_state);
    for (int th = 1; th <= 2; th++) {
        gptc_ctx_params p = gptc_ctx_default_params();
        p.n_threads = th;
        gptc_ctx *ctx = gptc_ctx_new(&p);
        test_linear(ctx, 77, 131);
        test_linear(ctx, 300, 1031); /* above the threads' threshold; several column blocks */
        test_linear(ctx, 45, 211);
        if (th == 2) test_session(ctx), test_vexp();
        gptc_ctx_free(ctx);
    }
    return test_exit();
}
