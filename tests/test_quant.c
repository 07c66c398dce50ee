/* test_quant.c: ggml's block formats and the integer products on them. Round trips
 * (quantize -> dequantize) within each format's error bound; exact rows where the
 * format can hold the values (integers at scale 1); q4_0's sign rule; element access
 * against whole-row dequantization. k_linear_q on every path this CPU runs (scalar,
 * AVX2, AVX-512BW, AVX-512 VNNI), 1 and 2 threads, 1..17 rows, with and without bias,
 * sizes that are not multiples of 8 in the outputs: against the scalar double oracle
 * (same activation quantization) and against dequantize-then-f32 in double, within the
 * bound that activation rounding allows: sum over blocks of d_x / 2 * sum |w|. The kernel
 * table's linear and embedding ops on quantized weights against the reference instance;
 * 32 rows and more take the int8 GEMM (qgemm.c: every path, against the oracle). */
#include "harness.h"
#include "gptc.h"
#include "kernels/ops.h"
#include "kernels/qlinear.h"
#include "kernels/quant.h"
#include "kernels/wlinear.h"
#include <stdint.h>

static uint64_t rng_state = 12345;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
/* roughly normal (sum of 4 uniforms), a few outliers, as trained weights are */
static float wrand(void) {
    double s = urand() + urand() + urand() + urand() - 2.0;
    if (urand() < 0.01) s *= 8;
    return (float)(s * 0.05);
}

static const gptc_dtype QTYPES[3] = {GPTC_Q8_0, GPTC_Q4_0, GPTC_Q4_K};
static const char *isa_name(int isa) {
    return isa == GPTC_QL_VNNI ? "vnni" : isa == GPTC_QL_AVX512 ? "avx512bw" : isa == GPTC_QL_AVX2 ? "avx2" : "scalar";
}

static void test_round_trip(void) {
    char name[160];
    for (int qi = 0; qi < 3; qi++) {
        gptc_dtype d = QTYPES[qi];
        int n = 256 * 7;
        float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        unsigned char *q = malloc(gptc_q_row_bytes(d, n));
        for (int i = 0; i < n; i++) x[i] = wrand();
        gptc_q_quantize_row(d, x, q, n);
        gptc_q_dequantize_row(d, q, y, n);
        /* q8_0: |err| <= d/2 (+ the fp16 rounding of d, relative 2^-11, times |x|);
         * q4_0: <= |d| (the value opposite in sign to the max clamps from 8 to 7) */
        int bad = -1;
        double worst = 0;
        if (d != GPTC_Q4_K)
            for (int b = 0; b < n / 32 && bad < 0; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
                double bound = (d == GPTC_Q8_0 ? 0.5 * amax / 127 : amax / 8.0) + amax * 1e-3 + 1e-12;
                for (int j = 0; j < 32; j++) {
                    double e = fabs((double)x[32 * b + j] - y[32 * b + j]);
                    if (e / bound > worst) worst = e / bound;
                    if (e > bound) bad = 32 * b + j;
                }
            }
        snprintf(name, sizeof name, "%s round trip within the per-element bound", gptc_dtype_name(d));
        if (d != GPTC_Q4_K) CHECK(name, bad < 0, "element %d: %g -> %g (worst err/bound %.3f)", bad, bad < 0 ? 0 : x[bad],
                                  bad < 0 ? 0 : y[bad], worst);
        /* relative RMS error: q8_0 ~0.4%, 4-bit formats ~8-10% on this distribution */
        double rel = test_relerr(y, x, (size_t)n), lim = d == GPTC_Q8_0 ? 0.01 : 0.12;
        snprintf(name, sizeof name, "%s round trip relative error %.4f < %.2f", gptc_dtype_name(d), rel, lim);
        CHECK(name, rel < lim, "relative error %g", rel);
        int mism = -1;
        for (int k = 0; k < n && mism < 0; k++)
            if (gptc_q_get(d, q, k) != y[k]) mism = k;
        snprintf(name, sizeof name, "%s element access == row dequantization", gptc_dtype_name(d));
        CHECK(name, mism < 0, "element %d: %g vs %g", mism, mism < 0 ? 0 : gptc_q_get(d, q, mism), mism < 0 ? 0 : y[mism]);
        free(x);
        free(y);
        free(q);
    }
    /* q4_k is better than q4_0 on the same data (its point) */
    {
        int n = 256 * 16;
        float *x = malloc(sizeof(float) * n), *y0 = malloc(sizeof(float) * n), *yk = malloc(sizeof(float) * n);
        unsigned char *q = malloc(gptc_q_row_bytes(GPTC_Q4_0, n) + gptc_q_row_bytes(GPTC_Q4_K, n));
        for (int i = 0; i < n; i++) x[i] = wrand() + 0.02f; /* an offset, as the mins are for */
        gptc_q_quantize_row(GPTC_Q4_0, x, q, n);
        gptc_q_dequantize_row(GPTC_Q4_0, q, y0, n);
        gptc_q_quantize_row(GPTC_Q4_K, x, q, n);
        gptc_q_dequantize_row(GPTC_Q4_K, q, yk, n);
        double e0 = test_relerr(y0, x, (size_t)n), ek = test_relerr(yk, x, (size_t)n);
        CHECK("q4_k error below q4_0's on offset weights", ek < e0, "q4_k %g, q4_0 %g", ek, e0);
        free(x);
        free(y0);
        free(yk);
        free(q);
    }
    /* exact: integers at scale 1 (q8_0: max 127; q4_0: the largest magnitude -8 -> d = 1,
     * or +8 -> d = -1, ggml's sign rule; q4_0 holds -8..7 as d (q - 8)) */
    float x[64], y[64];
    unsigned char q[200];
    for (int j = 0; j < 64; j++) x[j] = (float)((j * 37) % 255 - 127);
    x[5] = 127;
    gptc_q_quantize_row(GPTC_Q8_0, x, q, 64);
    gptc_q_dequantize_row(GPTC_Q8_0, q, y, 64);
    CHECK("q8_0 holds integers at scale 1 exactly", !memcmp(x, y, sizeof x) && gptc_q_f16(q) == 1.0f, "d %g",
          gptc_q_f16(q));
    for (int j = 0; j < 32; j++) x[j] = (float)((j * 5) % 15 - 7); /* -7..7 */
    x[3] = -8;
    gptc_q_quantize_row(GPTC_Q4_0, x, q, 32);
    gptc_q_dequantize_row(GPTC_Q4_0, q, y, 32);
    CHECK("q4_0 max -8: d = 1, values exact", !memcmp(x, y, 32 * sizeof(float)) && gptc_q_f16(q) == 1.0f, "d %g",
          gptc_q_f16(q));
    CHECK("q4_0 nibbles: element j low, j + 16 high", (q[2 + 3] & 0xF) == 0 && (q[2 + 3] >> 4) == (int)x[19] + 8,
          "byte %02x", q[5]);
    for (int j = 0; j < 32; j++) x[j] = -(float)((j * 5) % 15 - 7);
    x[3] = 8;
    gptc_q_quantize_row(GPTC_Q4_0, x, q, 32);
    gptc_q_dequantize_row(GPTC_Q4_0, q, y, 32);
    CHECK("q4_0 max +8: d = -1 (ggml's max / -8), values exact", !memcmp(x, y, 32 * sizeof(float)) &&
          gptc_q_f16(q) == -1.0f, "d %g", gptc_q_f16(q));
    memset(x, 0, sizeof x);
    for (int qi = 0; qi < 3; qi++) {
        int n = QTYPES[qi] == GPTC_Q4_K ? 256 : 32;
        float z[256] = {0}, zy[256];
        unsigned char zq[200];
        gptc_q_quantize_row(QTYPES[qi], z, zq, n);
        gptc_q_dequantize_row(QTYPES[qi], zq, zy, n);
        int nz = 0;
        for (int j = 0; j < n; j++) nz += zy[j] != 0;
        snprintf(name, sizeof name, "%s zeros stay zeros", gptc_dtype_name(QTYPES[qi]));
        CHECK(name, nz == 0, "%d non-zero", nz);
    }
}

/* dequantize-then-f32 in double, and the bound on the difference activation rounding
 * allows: |sum w (x - d q)| <= sum_b d_b / 2 * sum_{i in b} |w_i| */
static void deq_product(const gptc_wdesc *w, const float *x, const float *bias, int N, double *out, double *bound) {
    int I = w->in, O = w->out, nb = I / 32;
    size_t rowb = gptc_q_row_bytes(w->dtype, I);
    float *wr = malloc(sizeof(float) * I);
    float dx[512];
    for (int n = 0; n < N; n++) {
        for (int b = 0; b < nb; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[(size_t)n * I + 32 * b + j]));
            dx[b] = amax / 127;
        }
        for (int v = 0; v < O; v++) {
            gptc_q_dequantize_row(w->dtype, (const unsigned char *)w->data + (size_t)v * rowb, wr, I);
            double s = bias ? bias[v] : 0, e = 0;
            for (int b = 0; b < nb; b++) {
                double sa = 0;
                for (int j = 0; j < 32; j++) {
                    s += (double)wr[32 * b + j] * x[(size_t)n * I + 32 * b + j];
                    sa += fabs(wr[32 * b + j]);
                }
                e += 0.5 * dx[b] * sa;
            }
            out[(size_t)n * O + v] = s;
            bound[(size_t)n * O + v] = e;
        }
    }
    free(wr);
}

/* A case: O random rows quantized to d (1 byte past an aligned address: stored tensors
 * need not be aligned; free *wbase), maxN rows of x in [-1, 1] with every 7th tripled,
 * O biases. */
static gptc_wdesc make_case(gptc_dtype d, int I, int O, int maxN, unsigned char **wbase, float **x, float **bias) {
    size_t rowb = gptc_q_row_bytes(d, I);
    *wbase = malloc(rowb * O + 1);
    unsigned char *wq = *wbase + 1;
    float *wf = malloc(sizeof(float) * I);
    *x = malloc(sizeof(float) * maxN * I);
    *bias = malloc(sizeof(float) * O);
    for (int v = 0; v < O; v++) {
        for (int k = 0; k < I; k++) wf[k] = wrand();
        gptc_q_quantize_row(d, wf, wq + (size_t)v * rowb, I);
        (*bias)[v] = wrand();
    }
    for (int i = 0; i < maxN * I; i++) (*x)[i] = (float)(urand() * 2 - 1) * (i % 7 == 0 ? 3.0f : 1.0f);
    free(wf);
    return (gptc_wdesc){wq, d, GPTC_W_OUT_IN, I, O, NULL};
}

static void test_kernels(gptc_ctx *c1, gptc_ctx *c2) {
    static const int shapes[][3] = {/* type index, in, out */
                                    {0, 64, 37}, {0, 224, 45}, {0, 32, 9}, {1, 96, 53}, {1, 224, 45},
                                    {2, 256, 29}, {2, 512, 13}, {0, 1024, 70}, {1, 1024, 70}, {2, 1024, 70}};
    static const int Ns[] = {1, 2, 3, 4, 5, 8, 9, 17};
    int best = k_linear_q_isa();
    printf("# best quantized path on this CPU: %s\n", isa_name(best));
    char name[200];
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        gptc_dtype d = QTYPES[shapes[si][0]];
        int I = shapes[si][1], O = shapes[si][2], maxN = 17;
        unsigned char *wbase;
        float *x, *bias;
        gptc_wdesc w = make_case(d, I, O, maxN, &wbase, &x, &bias);
        float *ref = malloc(sizeof(float) * maxN * O), *got = malloc(sizeof(float) * maxN * O);
        double *dq = malloc(sizeof(double) * maxN * O), *bd = malloc(sizeof(double) * maxN * O);
        for (int ni = 0; ni < (int)(sizeof Ns / sizeof Ns[0]); ni++) {
            int N = Ns[ni];
            for (int wb = 0; wb < 2; wb++) {
                const float *bb = wb ? bias : NULL;
                k_linear_q_ref(&w, ref, x, bb, N);
                deq_product(&w, x, bb, N, dq, bd);
                int over = -1;
                for (int i = 0; i < N * O && over < 0; i++)
                    if (fabs(ref[i] - dq[i]) > bd[i] * 1.0001 + 1e-5) over = i;
                snprintf(name, sizeof name, "%s %dx%d N=%d%s: oracle vs dequantize-then-f32 within the activation bound",
                         gptc_dtype_name(d), I, O, N, wb ? " bias" : "");
                CHECK(name, over < 0, "output %d: %g vs %g, bound %g", over, over < 0 ? 0 : ref[over],
                      over < 0 ? 0 : dq[over], over < 0 ? 0 : bd[over]);
                for (int isa = 0; isa <= best; isa++)
                    for (int t = 1; t <= 2; t++) {
                        for (int i = 0; i < N * O; i++) got[i] = NAN;
                        k_linear_q_with(t == 1 ? c1 : c2, got, x, &w, bb, N, isa);
                        double e = test_relerr(got, ref, (size_t)N * O);
                        /* f32 sums of exact integer block products vs double: ~1e-7 */
                        snprintf(name, sizeof name, "%s %dx%d N=%d%s %s %d thread%s: vs oracle", gptc_dtype_name(d), I,
                                 O, N, wb ? " bias" : "", isa_name(isa), t, t > 1 ? "s" : "");
                        CHECK(name, e < 2e-6, "relative error %g", e);
                    }
            }
        }
        free(wbase); free(x); free(bias); free(ref); free(got); free(dq); free(bd);
    }
}

/* Activation quantization: every path gives the scalar rule's bytes, scales and sums
 * (roundf: half away from zero), on random rows, a zero block and exact ties: a block
 * whose largest |x| is 127 has scale 1, so x = k + 0.5 lands on a tie. 19 blocks (not a
 * multiple of 16 lanes). */
static void test_quantize_act(void) {
    enum { NB = 19, N = 32 * NB };
    float x[N];
    int8_t q0[N], q1[N];
    float d0[NB], d1[NB];
    int32_t s0[NB], s1[NB];
    for (int i = 0; i < N; i++) x[i] = (float)(urand() * 2 - 1) * (i % 5 == 0 ? 4.0f : 1.0f);
    for (int j = 0; j < 32; j++) x[32 + j] = 0.0f;                                        /* block 1: zeros */
    for (int j = 0; j < 32; j++) x[64 + j] = (float)((j % 2 ? -1 : 1) * (j * 4 % 127)) + (j % 3 ? 0.5f : -0.5f);
    x[64] = 127.0f;                                                                        /* block 2: ties */
    int best = k_linear_q_isa();
    k_quantize_act_with(x, N, q0, d0, s0, GPTC_QL_SCALAR);
    int ties = 0;
    for (int j = 1; j < 32; j++) ties += fabsf(x[64 + j] - roundf(x[64 + j])) == 0.5f;
    CHECK("quantize_act: the tie block has scale 1 and ties", d0[2] == 1.0f && ties == 31, "d %g, %d ties", d0[2], ties);
    char name[120];
    for (int isa = 1; isa <= best; isa++) {
        memset(q1, 0x55, sizeof q1);
        k_quantize_act_with(x, N, q1, d1, s1, isa);
        int bad = -1;
        for (int i = 0; i < N && bad < 0; i++)
            if (q1[i] != q0[i]) bad = i;
        int badb = -1;
        for (int b = 0; b < NB && badb < 0; b++)
            if (memcmp(&d1[b], &d0[b], sizeof(float)) || s1[b] != s0[b]) badb = b;
        snprintf(name, sizeof name, "quantize_act %s: the scalar rule's bytes, scales and sums", isa_name(isa));
        CHECK(name, bad < 0 && badb < 0, "byte %d (%d vs %d), block %d", bad, bad < 0 ? 0 : q1[bad],
              bad < 0 ? 0 : q0[bad], badb);
    }
}

/* Batch-1 products (the one-row kernels) are bit-identical to the same rows inside a
 * 4-row batch (the 4 x 4 tiles), on every path: a decoding step's logits do not depend
 * on the batch (gptc_session_step). Odd block counts (224 = 7 blocks, 96 = 3; q4_0 also
 * 320 = 10: half a unit last), q4_k's 2, 3 and 8 super-blocks, rows longer than the
 * scale passes' 256 blocks (q4_0's on AVX2, q4_k's on AVX-512: the tiles at one row;
 * q8_0 259, q4_0 258, q4_k 33 super-blocks), output counts not multiples of 4. */
static void test_gemv_batch_bits(gptc_ctx *c1, gptc_ctx *c2) {
    static const int shapes[][3] = {{0, 224, 45}, {0, 1024, 70}, {0, 96, 13}, {0, 8288, 13}, {1, 224, 45},
                                    {1, 1024, 70}, {1, 96, 13},  {1, 320, 21}, {1, 8256, 9},  {2, 512, 13},
                                    {2, 768, 45},  {2, 2048, 70}, {2, 8448, 13}};
    int best = k_linear_q_isa();
    char name[160];
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        gptc_dtype d = QTYPES[shapes[si][0]];
        int I = shapes[si][1], O = shapes[si][2];
        size_t rowb = gptc_q_row_bytes(d, I);
        unsigned char *wq = malloc(rowb * O);
        float *wf = malloc(sizeof(float) * I), *x = malloc(sizeof(float) * 4 * I), *bias = malloc(sizeof(float) * O);
        float *all = malloc(sizeof(float) * 4 * O), *one = malloc(sizeof(float) * O);
        for (int v = 0; v < O; v++) {
            for (int k = 0; k < I; k++) wf[k] = wrand();
            gptc_q_quantize_row(d, wf, wq + (size_t)v * rowb, I);
            bias[v] = wrand();
        }
        for (int i = 0; i < 4 * I; i++) x[i] = (float)(urand() * 2 - 1);
        /* q8_0/q4_0 again with their scales side by side (wdesc.scales, as loading sets them) */
        uint16_t *sc = d == GPTC_Q4_K ? NULL : malloc(sizeof(uint16_t) * (I / 32) * O);
        if (sc) gptc_q_scales(d, wq, I, O, sc);
        for (int side = 0; side <= (sc != NULL); side++) {
            gptc_wdesc w = {wq, d, GPTC_W_OUT_IN, I, O, side ? sc : NULL};
            for (int isa = 0; isa <= best; isa++)
                for (int t = 1; t <= 2; t++) {
                    gptc_ctx *c = t == 1 ? c1 : c2;
                    k_linear_q_with(c, all, x, &w, bias, 4, isa);
                    int bad = -1;
                    for (int n = 0; n < 4 && bad < 0; n++) {
                        k_linear_q_with(c, one, x + (size_t)n * I, &w, bias, 1, isa);
                        for (int v = 0; v < O && bad < 0; v++)
                            if (memcmp(&one[v], &all[(size_t)n * O + v], sizeof(float))) bad = n * O + v;
                    }
                    snprintf(name, sizeof name, "%s %dx%d %s %d thread%s%s: batch-1 rows bit-identical to a 4-row batch's",
                             gptc_dtype_name(d), I, O, isa_name(isa), t, t > 1 ? "s" : "", side ? ", scales side by side" : "");
                    CHECK(name, bad < 0, "output %d", bad);
                }
        }
        free(sc); free(wq); free(wf); free(x); free(bias); free(all); free(one);
    }
}

/* the kernel table: linear and embeddings on quantized weights, cpu vs reference */
static void test_ops(gptc_ctx *c1, gptc_ctx *rctx) {
    char name[160];
    for (int qi = 0; qi < 3; qi++) {
        gptc_dtype d = QTYPES[qi];
        int C = qi == 2 ? 256 : 96, V = 41, N = 6;
        size_t rowb = gptc_q_row_bytes(d, C);
        unsigned char *wq = malloc(rowb * V);
        float *row = malloc(sizeof(float) * C), *wpe = malloc(sizeof(float) * 8 * C);
        for (int v = 0; v < V; v++) {
            for (int k = 0; k < C; k++) row[k] = wrand();
            gptc_q_quantize_row(d, row, wq + (size_t)v * rowb, C);
        }
        for (int i = 0; i < 8 * C; i++) wpe[i] = wrand();
        gptc_wdesc w = {wq, d, GPTC_W_OUT_IN, C, V, NULL};
        int32_t tok[6] = {0, 40, 7, 7, 13, 21};
        int pos[6] = {0, 1, 2, 5, 7, 3};
        float *e1 = malloc(sizeof(float) * N * C), *e2 = malloc(sizeof(float) * N * C);
        gptc_ops_cpu.embed_forward(c1, e1, tok, pos, &w, wpe, N, N, C);
        gptc_ops_ref.embed_forward(rctx, e2, tok, pos, &w, wpe, N, N, C);
        int bad = -1;
        for (int i = 0; i < N && bad < 0; i++) {
            gptc_q_dequantize_row(d, wq + (size_t)tok[i] * rowb, row, C);
            for (int k = 0; k < C; k++)
                if (e1[(size_t)i * C + k] != row[k] + wpe[(size_t)pos[i] * C + k] ||
                    e2[(size_t)i * C + k] != e1[(size_t)i * C + k])
                    bad = i;
        }
        snprintf(name, sizeof name, "embed_forward on %s rows == dequantized row + position (cpu and ref)",
                 gptc_dtype_name(d));
        CHECK(name, bad < 0, "row %d", bad);
        float *l1 = malloc(sizeof(float) * N * V), *l2 = malloc(sizeof(float) * N * V);
        gptc_ops_cpu.linear(c1, l1, e1, &w, NULL, N);
        gptc_ops_ref.linear(rctx, l2, e1, &w, NULL, N);
        double err = test_relerr(l1, l2, (size_t)N * V);
        snprintf(name, sizeof name, "linear (tied head) on %s: cpu vs ref", gptc_dtype_name(d));
        CHECK(name, err < 2e-6, "relative error %g", err);
        free(wq); free(row); free(wpe); free(e1); free(e2); free(l1); free(l2);
    }
}

/* The int8 GEMM on every path this CPU runs, 1 and 2 threads, against the oracle: rows
 * that are not multiples of the 4-row tile and more than a 128-row slab, outputs that
 * leave a partial column group (8 or 32), inputs that end inside a chunk of 8 blocks. */
static void test_qgemm(gptc_ctx *c1, gptc_ctx *c2) {
    static const int shapes[][3] = {/* type index, in, out */
                                    {0, 96, 37}, {0, 800, 70}, {1, 96, 53}, {1, 1024, 9}, {2, 256, 45}, {2, 768, 33}};
    static const int Ns[] = {1, 3, 32, 45, 131, 261};
    int best = k_qgemm_isa();
    printf("# best int8 GEMM path on this CPU: %s\n", isa_name(best));
    char name[200];
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        gptc_dtype d = QTYPES[shapes[si][0]];
        int I = shapes[si][1], O = shapes[si][2], maxN = 261;
        unsigned char *wbase;
        float *x, *bias;
        gptc_wdesc w = make_case(d, I, O, maxN, &wbase, &x, &bias);
        float *ref = malloc(sizeof(float) * maxN * O), *got = malloc(sizeof(float) * maxN * O);
        for (int ni = 0; ni < (int)(sizeof Ns / sizeof Ns[0]); ni++) {
            int N = Ns[ni];
            const float *bb = ni % 2 ? bias : NULL;
            k_linear_q_ref(&w, ref, x, bb, N);
            for (int isa = 0; isa <= best; isa++) {
                if (isa == GPTC_QL_AVX512) continue; /* the AVX2 kernel's */
                for (int t = 1; t <= 2; t++) {
                    for (int i = 0; i < N * O; i++) got[i] = NAN;
                    k_qgemm_with(t == 1 ? c1 : c2, got, x, &w, bb, N, isa);
                    double e = test_relerr(got, ref, (size_t)N * O);
                    snprintf(name, sizeof name, "int8 GEMM %s %dx%d N=%d%s %s %d thread%s: vs oracle", gptc_dtype_name(d),
                             I, O, N, bb ? " bias" : "", isa_name(isa), t, t > 1 ? "s" : "");
                    CHECK(name, e < 2e-6, "relative error %g", e);
                }
            }
        }
        free(wbase); free(x); free(bias); free(ref); free(got);
    }
}

/* 32 rows and more (prompts): the kernel table's linear takes the int8 GEMM; cpu vs the
 * reference instance (the oracle), and both within the activation bound of
 * dequantize-then-f32 in double */
static void test_prompt_rows(gptc_ctx *c2, gptc_ctx *rctx) {
    char name[160];
    for (int qi = 0; qi < 3; qi++) {
        gptc_dtype d = QTYPES[qi];
        int I = qi == 2 ? 512 : 96, O = 37, Ns[2] = {32, 45};
        size_t rowb = gptc_q_row_bytes(d, I);
        unsigned char *wq = malloc(rowb * O);
        float *row = malloc(sizeof(float) * I), *x = malloc(sizeof(float) * 45 * I), *bias = malloc(sizeof(float) * O);
        for (int v = 0; v < O; v++) {
            for (int k = 0; k < I; k++) row[k] = wrand();
            gptc_q_quantize_row(d, row, wq + (size_t)v * rowb, I);
            bias[v] = wrand();
        }
        for (int i = 0; i < 45 * I; i++) x[i] = (float)(urand() * 2 - 1);
        gptc_wdesc w = {wq, d, GPTC_W_OUT_IN, I, O, NULL};
        for (int k = 0; k < 2; k++) {
            int N = Ns[k];
            float *o1 = malloc(sizeof(float) * N * O), *o2 = malloc(sizeof(float) * N * O);
            double *dq = malloc(sizeof(double) * N * O), *bd = malloc(sizeof(double) * N * O);
            gptc_ops_cpu.linear(c2, o1, x, &w, bias, N);
            gptc_ops_ref.linear(rctx, o2, x, &w, bias, N);
            deq_product(&w, x, bias, N, dq, bd);
            int over = -1;
            for (int i = 0; i < N * O && over < 0; i++)
                if (fabs(o1[i] - dq[i]) > bd[i] * 1.0001 + 1e-5) over = i;
            double e2 = test_relerr(o1, o2, (size_t)N * O);
            snprintf(name, sizeof name, "%s %dx%d N=%d (int8 GEMM): cpu vs ref, and within the activation bound of "
                     "dequantize-then-f32", gptc_dtype_name(d), I, O, N);
            CHECK(name, over < 0 && e2 < 2e-6, "cpu vs ref %g; output %d off the bound", e2, over);
            free(o1); free(o2); free(dq); free(bd);
        }
        free(wq); free(row); free(x); free(bias);
    }
}

int main(void) {
    gptc_ctx_params p = gptc_ctx_default_params();
    p.n_threads = 1;
    gptc_ctx *c1 = gptc_ctx_new(&p);
    p.n_threads = 2;
    gptc_ctx *c2 = gptc_ctx_new(&p);
    p.reference_kernels = 1;
    gptc_ctx *rc = gptc_ctx_new(&p);
    test_round_trip();
    test_quantize_act();
    test_kernels(c1, c2);
    test_gemv_batch_bits(c1, c2);
    test_qgemm(c1, c2);
    test_ops(c1, rc);
    test_prompt_rows(c2, rc);
    gptc_ctx_free(c1);
    gptc_ctx_free(c2);
    gptc_ctx_free(rc);
    return test_exit();
}
