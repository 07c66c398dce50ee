/* test_ops.c: every op of the kernel table, for every instance, against the reference
 * instance (as ggml's test-backend-ops does), on fresh random inputs with sizes that
 * are not multiples of 8. Relative error of the outputs; gradients likewise. */
#include "harness.h"
#include "kernels/ops.h"
#include <stdint.h>

static uint64_t rng = 0x1234567;
static float urand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}
static float *rnd(size_t n, float scale) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = scale * urand();
    return x;
}
static float *dup(const float *x, size_t n) {
    float *y = malloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7FFF + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
static uint16_t to_f16(float f) {
    /* values here are small and normal: the plain conversion of F16C's rounding */
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

static void report(const gptc_ops *ops, const char *op, double e, double tol) {
    char name[200];
    snprintf(name, sizeof name, "%s: %s matches the reference", ops->name, op);
    CHECK(name, e <= tol, "rel err %.3g (tolerance %.0e)", e, tol);
}

static void test_linear(gptc_ctx *ctx, gptc_ctx *rctx, const gptc_ops *ops) {
    const int IN = 77, OUT = 131, Ns[] = {1, 3, 8, 9, 33};
    static const char *const dt[] = {"f32", "f16", "bf16"};
    for (int layout = 0; layout < 2; layout++)
        for (int d = 0; d < 3; d++)
            for (int k = 0; k < 5; k++) {
                int N = Ns[k];
                float *wf = rnd((size_t)IN * OUT, 0.3f), *x = rnd((size_t)N * IN, 1), *b = rnd(OUT, 0.5f);
                uint16_t *wh = malloc(sizeof(uint16_t) * IN * OUT);
                for (int i = 0; i < IN * OUT; i++) wh[i] = d == 2 ? to_bf16(wf[i]) : to_f16(wf[i]);
                gptc_wdesc w = {d ? (const void *)wh : (const void *)wf, d == 0 ? GPTC_F32 : d == 1 ? GPTC_F16 : GPTC_BF16,
                                (gptc_wlayout)layout, IN, OUT, NULL};
                float *o1 = rnd((size_t)N * OUT, 1), *o2 = rnd((size_t)N * OUT, 1);
                ops->linear(ctx, o1, x, &w, k % 2 ? b : NULL, N);
                gptc_ops_ref.linear(rctx, o2, x, &w, k % 2 ? b : NULL, N);
                char op[96];
                snprintf(op, sizeof op, "linear %s %s N=%d", dt[d], layout ? "[out,in]" : "[in,out]", N);
                report(ops, op, test_relerr(o1, o2, (size_t)N * OUT), 1e-5);
                if (d == 0 && (k == 0 || k == 4)) {
                    float *dout = rnd((size_t)N * OUT, 1), *dx1 = rnd((size_t)N * IN, 1), *dx2 = dup(dx1, (size_t)N * IN);
                    float *dw1 = rnd((size_t)IN * OUT, 1), *dw2 = dup(dw1, (size_t)IN * OUT), *db1 = rnd(OUT, 1),
                          *db2 = dup(db1, OUT);
                    ops->linear_backward(ctx, dx1, dw1, db1, dout, x, &w, N);
                    gptc_ops_ref.linear_backward(rctx, dx2, dw2, db2, dout, x, &w, N);
                    snprintf(op, sizeof op, "linear_backward %s N=%d", layout ? "[out,in]" : "[in,out]", N);
                    double e = fmax(test_relerr(dx1, dx2, (size_t)N * IN), test_relerr(dw1, dw2, (size_t)IN * OUT));
                    report(ops, op, fmax(e, test_relerr(db1, db2, OUT)), 1e-5);
                    free(dout); free(dx1); free(dx2); free(dw1); free(dw2); free(db1); free(db2);
                }
                free(wf); free(x); free(b); free(wh); free(o1); free(o2);
            }
}

static void test_gemm(gptc_ctx *ctx, gptc_ctx *rctx, const gptc_ops *ops) {
    const int M = 13, N = 29, K = 19;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *A = rnd((size_t)M * K, 1), *B = rnd((size_t)K * N, 1), *C1 = rnd((size_t)M * N, 1);
            float *C2 = dup(C1, (size_t)M * N);
            ops->gemm(ctx, ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0.3f, C1, N);
            gptc_ops_ref.gemm(rctx, ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0.3f, C2, N);
            char op[64];
            snprintf(op, sizeof op, "gemm trans_a=%d trans_b=%d", ta, tb);
            report(ops, op, test_relerr(C1, C2, (size_t)M * N), 1e-5);
            free(A); free(B); free(C1); free(C2);
        }
}

static void test_rowwise(gptc_ctx *ctx, gptc_ctx *rctx, const gptc_ops *ops) {
    const int B = 3, T = 7, C = 45, V = 53, N = B * T;
    /* embeddings: positions implicit and given */
    int32_t tok[21];
    int pos[21];
    for (int i = 0; i < N; i++) tok[i] = (int32_t)((i * 17 + 5) % V), pos[i] = (i * 5) % 11;
    float *wte = rnd((size_t)V * C, 1), *wpe = rnd((size_t)11 * C, 1);
    float *o1 = rnd((size_t)N * C, 1), *o2 = rnd((size_t)N * C, 1);
    gptc_wdesc wd = {wte, GPTC_F32, GPTC_W_OUT_IN, C, V, NULL};
    ops->embed_forward(ctx, o1, tok, NULL, &wd, wpe, N, T, C);
    gptc_ops_ref.embed_forward(rctx, o2, tok, NULL, &wd, wpe, N, T, C);
    report(ops, "embed_forward", test_relerr(o1, o2, (size_t)N * C), 1e-6);
    ops->embed_forward(ctx, o1, tok, pos, &wd, wpe, N, T, C);
    gptc_ops_ref.embed_forward(rctx, o2, tok, pos, &wd, wpe, N, T, C);
    report(ops, "embed_forward with positions", test_relerr(o1, o2, (size_t)N * C), 1e-6);
    float *dout = rnd((size_t)N * C, 1), *dwte1 = rnd((size_t)V * C, 1), *dwte2 = dup(dwte1, (size_t)V * C);
    float *dwpe1 = rnd((size_t)T * C, 1), *dwpe2 = dup(dwpe1, (size_t)T * C);
    ops->embed_backward(ctx, dwte1, dwpe1, dout, tok, N, T, C);
    gptc_ops_ref.embed_backward(rctx, dwte2, dwpe2, dout, tok, N, T, C);
    report(ops, "embed_backward",
           fmax(test_relerr(dwte1, dwte2, (size_t)V * C), test_relerr(dwpe1, dwpe2, (size_t)T * C)), 1e-6);
    /* layer norm */
    float *x = rnd((size_t)N * C, 2), *w = rnd(C, 1), *b = rnd(C, 1), m1[21], r1[21], m2[21], r2[21];
    ops->layernorm_forward(ctx, o1, m1, r1, x, w, b, N, C, 1e-5f);
    gptc_ops_ref.layernorm_forward(rctx, o2, m2, r2, x, w, b, N, C, 1e-5f);
    report(ops, "layernorm_forward", fmax(test_relerr(o1, o2, (size_t)N * C), test_relerr(r1, r2, N)), 1e-5);
    float *dx1 = rnd((size_t)N * C, 1), *dx2 = dup(dx1, (size_t)N * C), *dw1 = rnd(C, 1), *dw2 = dup(dw1, C),
          *db1 = rnd(C, 1), *db2 = dup(db1, C);
    ops->layernorm_backward(ctx, dx1, dw1, db1, dout, x, w, m2, r2, N, C);
    gptc_ops_ref.layernorm_backward(rctx, dx2, dw2, db2, dout, x, w, m2, r2, N, C);
    report(ops, "layernorm_backward",
           fmax(fmax(test_relerr(dx1, dx2, (size_t)N * C), test_relerr(dw1, dw2, C)), test_relerr(db1, db2, C)), 1e-5);
    /* activations: large enough for the vector paths */
    size_t n = 70001;
    float *a = rnd(n, 4), *y1 = rnd(n, 1), *y2 = rnd(n, 1), *g = rnd(n, 1), *d1 = rnd(n, 1), *d2 = dup(d1, n);
    static const char *const acts[] = {"gelu_new", "gelu", "relu", "silu"};
    for (int k = 0; k < GPTC_ACT_COUNT; k++) {
        char op[64];
        ops->act_forward(ctx, y1, a, n, (gptc_act_kind)k);
        gptc_ops_ref.act_forward(rctx, y2, a, n, (gptc_act_kind)k);
        snprintf(op, sizeof op, "act_forward %s", acts[k]);
        report(ops, op, test_relerr(y1, y2, n), 1e-6);
        memcpy(d1, d2, n * sizeof *d1);
        ops->act_backward(ctx, d1, a, g, n, (gptc_act_kind)k);
        gptc_ops_ref.act_backward(rctx, d2, a, g, n, (gptc_act_kind)k);
        snprintf(op, sizeof op, "act_backward %s", acts[k]);
        report(ops, op, test_relerr(d1, d2, n), 1e-6);
    }
    ops->add(ctx, y1, a, g, n);
    gptc_ops_ref.add(rctx, y2, a, g, n);
    report(ops, "add", test_relerr(y1, y2, n), 0);
    memcpy(y1, a, n * sizeof *a);
    memcpy(y2, a, n * sizeof *a);
    ops->dropout(ctx, y1, n, 0.3f, 77, 5);
    gptc_ops_ref.dropout(rctx, y2, n, 0.3f, 77, 5);
    report(ops, "dropout", test_relerr(y1, y2, n), 1e-7);
    double s1 = ops->sumsq(ctx, a, n), s2 = gptc_ops_ref.sumsq(rctx, a, n);
    report(ops, "sumsq", fabs(s1 - s2) / s2, 1e-9);
    memcpy(y1, a, n * sizeof *a);
    memcpy(y2, a, n * sizeof *a);
    ops->scale(ctx, y1, n, 0.37f);
    gptc_ops_ref.scale(rctx, y2, n, 0.37f);
    report(ops, "scale", test_relerr(y1, y2, n), 1e-7);
    /* cross-entropy */
    float *lg = rnd((size_t)N * V, 3), l1[21], l2[21];
    int32_t tg[21];
    for (int i = 0; i < N; i++) tg[i] = i % 5 == 0 ? -100 : (int32_t)((i * 7) % V);
    int c1 = ops->crossentropy_forward(ctx, l1, lg, tg, N, V), c2 = gptc_ops_ref.crossentropy_forward(rctx, l2, lg, tg, N, V);
    report(ops, "crossentropy_forward", c1 == c2 ? test_relerr(l1, l2, N) : INFINITY, 1e-6);
    float *g1 = rnd((size_t)N * V, 1), *g2 = rnd((size_t)N * V, 1);
    ops->crossentropy_backward(ctx, g1, lg, tg, N, V, 0.25f);
    gptc_ops_ref.crossentropy_backward(rctx, g2, lg, tg, N, V, 0.25f);
    report(ops, "crossentropy_backward", test_relerr(g1, g2, (size_t)N * V), 1e-6);
    /* AdamW */
    size_t np = 1001;
    float *p1 = rnd(np, 1), *p2 = dup(p1, np), *gr = rnd(np, 1), *mm1 = rnd(np, 0.1f), *mm2 = dup(mm1, np);
    float *v1 = rnd(np, 0.1f), *v2;
    for (size_t i = 0; i < np; i++) v1[i] = fabsf(v1[i]);
    v2 = dup(v1, np);
    ops->adamw(ctx, p1, gr, mm1, v1, np, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
    gptc_ops_ref.adamw(rctx, p2, gr, mm2, v2, np, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
    report(ops, "adamw", fmax(test_relerr(p1, p2, np), test_relerr(v1, v2, np)), 1e-6);
    free(wte); free(wpe); free(o1); free(o2); free(dout); free(dwte1); free(dwte2); free(dwpe1); free(dwpe2);
    free(x); free(w); free(b); free(dx1); free(dx2); free(dw1); free(dw2); free(db1); free(db2);
    free(a); free(y1); free(y2); free(g); free(d1); free(d2); free(lg); free(g1); free(g2);
    free(p1); free(p2); free(gr); free(mm1); free(mm2); free(v1); free(v2);
}

/* attention in the layouts the model uses: training (packed qkv, probabilities kept,
 * dropout), inference (streaming), a KV-cache view (rows at their positions in other
 * sequences' slots), a padding mask, no mask; backward in the packed and a separate
 * q/k/v layout */
static void test_attention(gptc_ctx *ctx, gptc_ctx *rctx, const gptc_ops *ops) {
    const int B = 2, T = 13, NH = 3, hs = 7, C = NH * hs;
    float *qkv = rnd((size_t)B * T * 3 * C, 1.5f);
    float *o1 = rnd((size_t)B * T * C, 1), *o2 = rnd((size_t)B * T * C, 1);
    size_t AT = (size_t)B * NH * T * T;
    float *att1 = rnd(AT, 1), *att2 = rnd(AT, 1), *pre1 = rnd(AT, 1), *pre2 = rnd(AT, 1);
    float keymask[26];
    for (int i = 0; i < B * T; i++) keymask[i] = (i % T) < (i < T ? 9 : 13) ? 1.0f : 0.0f;
    for (int kind = 0; kind < 4; kind++)
        for (int keep = 0; keep < 2; keep++) {
            gptc_attn_args a = {0};
            a.B = B; a.Tq = a.Tk = T; a.NH = NH; a.hs = hs;
            a.q = qkv; a.k = qkv + C; a.v = qkv + 2 * C;
            a.q_row = a.kv_row = 3 * (size_t)C;
            a.kv_batch = (size_t)T * 3 * C;
            a.mask = kind == 0 ? GPTC_MASK_CAUSAL : kind == 1 ? GPTC_MASK_NONE : kind == 2 ? GPTC_MASK_PADDING : GPTC_MASK_CAUSAL;
            a.key_mask = keymask;
            a.scale = 1.0f / sqrtf((float)hs);
            a.out_row = (size_t)C;
            a.p_drop = keep && kind == 0 ? 0.2f : 0.0f;
            a.seed = 9;
            int nk[2] = {T, T - 4};
            if (kind == 3) a.n_keys = nk; /* causal with fewer keys: the cache's prefix */
            gptc_attn_args r = a;
            a.out = o1; r.out = o2;
            if (keep) { a.att = att1; a.preatt = pre1; r.att = att2; r.preatt = pre2; }
            ops->attention_forward(ctx, &a);
            gptc_ops_ref.attention_forward(rctx, &r);
            static const char *const kinds[] = {"causal", "no mask", "padding mask", "causal, cache prefix"};
            char op[96];
            snprintf(op, sizeof op, "attention_forward %s%s", kinds[kind], keep ? ", probabilities kept" : "");
            double e = test_relerr(o1, o2, (size_t)B * T * C);
            if (keep) e = fmax(e, test_relerr(att1, att2, AT));
            report(ops, op, e, 1e-5);
            if (keep && kind < 3) {
                float *dout = rnd((size_t)B * T * C, 1), *g1 = rnd((size_t)B * T * 3 * C, 1);
                float *g2 = dup(g1, (size_t)B * T * 3 * C), *s1 = rnd(AT, 1), *s2 = rnd(AT, 1), *t1 = rnd(AT, 1),
                      *t2 = rnd(AT, 1);
                ops->attention_backward(ctx, &a, g1, g1 + C, g1 + 2 * C, dout, s1, t1);
                gptc_ops_ref.attention_backward(rctx, &r, g2, g2 + C, g2 + 2 * C, dout, s2, t2);
                snprintf(op, sizeof op, "attention_backward %s", kinds[kind]);
                report(ops, op, test_relerr(g1, g2, (size_t)B * T * 3 * C), 1e-5);
                free(dout); free(g1); free(g2); free(s1); free(s2); free(t1); free(t2);
            }
        }
    /* a KV-cache view: 3 rows of one query each, in sequences 2, 0, 1 of a cache of 4
     * sequences x 17 positions, at positions 16, 3, 0 */
    const int S = 4, P = 17;
    float *K = rnd((size_t)S * P * C, 1), *Vv = rnd((size_t)S * P * C, 1), *q = rnd((size_t)3 * 3 * C, 1);
    int seqs[3] = {2, 0, 1}, keys[3] = {17, 4, 1};
    gptc_attn_args a = {0};
    a.B = 3; a.Tq = 1; a.Tk = P; a.NH = NH; a.hs = hs;
    a.q = q; a.q_row = 3 * (size_t)C;
    a.k = K; a.v = Vv; a.kv_row = (size_t)C; a.kv_batch = (size_t)P * C;
    a.kv_index = seqs; a.n_keys = keys;
    a.scale = 1.0f / sqrtf((float)hs);
    a.out_row = (size_t)C;
    gptc_attn_args r = a;
    a.out = o1; r.out = o2;
    ops->attention_forward(ctx, &a);
    gptc_ops_ref.attention_forward(rctx, &r);
    report(ops, "attention_forward over a KV-cache view", test_relerr(o1, o2, (size_t)3 * C), 1e-5);
    free(K); free(Vv); free(q);
    /* prompt chunks over a cache view (the GEMM path from K_ATT_GEMM_ROWS query rows):
     * 2 batches of 53 queries in sequences 3 and 1 of a cache of 4 x 70 positions; causal
     * over all 70 keys, causal with 60 and 40 keys (the first 12 rows of the latter see
     * none: zero), a padding mask over 70 without causality */
    {
        const int QT = 53, KP = 70;
        float *Kc = rnd((size_t)4 * KP * C, 1), *Vc = rnd((size_t)4 * KP * C, 1), *qc = rnd((size_t)2 * QT * 3 * C, 1.5f);
        float *c1 = malloc(sizeof(float) * 2 * QT * C), *c2 = malloc(sizeof(float) * 2 * QT * C), pmask[140];
        for (int i = 0; i < 2 * KP; i++) pmask[i] = (i * 7) % 5 != 0;
        int sq2[2] = {3, 1}, nk2[2] = {60, 40};
        for (int kind = 0; kind < 3; kind++) {
            gptc_attn_args g = {0};
            g.B = 2; g.Tq = QT; g.Tk = KP; g.NH = NH; g.hs = hs;
            g.q = qc; g.q_row = 3 * (size_t)C;
            g.k = Kc; g.v = Vc; g.kv_row = (size_t)C; g.kv_batch = (size_t)KP * C;
            g.kv_index = sq2;
            g.n_keys = kind == 1 ? nk2 : NULL;
            g.mask = kind == 2 ? GPTC_MASK_PADDING : GPTC_MASK_CAUSAL;
            g.key_mask = pmask;
            g.scale = 1.0f / sqrtf((float)hs);
            g.out_row = (size_t)C;
            gptc_attn_args gr = g;
            g.out = c1; gr.out = c2;
            for (int i = 0; i < 2 * QT * C; i++) c1[i] = NAN;
            ops->attention_forward(ctx, &g);
            gptc_ops_ref.attention_forward(rctx, &gr);
            static const char *const ck[] = {"causal", "causal, 60 and 40 keys", "padding mask"};
            char op[96];
            snprintf(op, sizeof op, "attention_forward, 53-query chunks over a KV-cache view, %s", ck[kind]);
            report(ops, op, test_relerr(c1, c2, (size_t)2 * QT * C), 1e-5);
        }
        free(Kc); free(Vc); free(qc); free(c1); free(c2);
    }
    /* a padding mask whose second batch is all padding (BERT's layout: separate q, k, v
     * blocks): Hugging Face adds (1 - mask) * finfo.min, so every score of such a row is
     * the same and the row attends uniformly: its output is the mean of the values */
    float *sq = rnd((size_t)B * T * C, 1), *sk = rnd((size_t)B * T * C, 1), *sv = rnd((size_t)B * T * C, 1);
    float pm[26];
    for (int i = 0; i < B * T; i++) pm[i] = i < T ? (float)(i % 3 != 2) : 0.0f;
    for (int keep = 0; keep < 2; keep++) {
        gptc_attn_args pa = {0};
        pa.B = B; pa.Tq = pa.Tk = T; pa.NH = NH; pa.hs = hs;
        pa.q = sq; pa.k = sk; pa.v = sv;
        pa.q_row = pa.kv_row = (size_t)C;
        pa.kv_batch = (size_t)T * C;
        pa.mask = GPTC_MASK_PADDING;
        pa.key_mask = pm;
        pa.scale = 1.0f / sqrtf((float)hs);
        pa.out = o1;
        pa.out_row = (size_t)C;
        if (keep) { pa.att = att1; pa.preatt = pre1; }
        ops->attention_forward(ctx, &pa);
        double num = 0, den = 0;
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                double mean = 0;
                for (int j = 0; j < T; j++) mean += sv[((size_t)T + j) * C + c];
                mean /= T;
                double d = o1[((size_t)T + t) * C + c] - mean;
                num += d * d;
                den += mean * mean;
            }
        /* and in the first batch no probability on a padded key */
        double leak = 0;
        for (int h = 0; keep && h < NH; h++)
            for (int t = 0; t < T; t++)
                for (int j = 0; j < T; j++)
                    if (pm[j] == 0.0f) leak += fabs(att1[(((size_t)0 * NH + h) * T + t) * T + j]);
        report(ops, keep ? "attention_forward all-padding row is uniform, padded keys get 0 (probabilities kept)"
                         : "attention_forward all-padding row is uniform (streaming)",
               sqrt(num / den) + leak, 1e-6);
    }
    free(sq); free(sk); free(sv);
    /* BERT's training layout at a length where the batch kernel uses the GEMM (T >= 48):
     * separate q, k, v blocks, padding (rows of 53 and 40 tokens, the third all
     * padding), dropout 0.1 on the probabilities; forward and backward */
    {
        const int B3 = 3, T3 = 53;
        size_t N3 = (size_t)B3 * T3, AT3 = (size_t)B3 * NH * T3 * T3;
        float *x = rnd(3 * N3 * C, 1.5f), *y1 = rnd(N3 * C, 1), *y2 = rnd(N3 * C, 1), *km = malloc(N3 * sizeof *km);
        float *at1 = rnd(AT3, 1), *at2 = rnd(AT3, 1), *pr1 = rnd(AT3, 1), *pr2 = rnd(AT3, 1);
        for (size_t i = 0; i < N3; i++) km[i] = (float)((int)(i % T3) < (i < (size_t)T3 ? T3 : i < 2 * (size_t)T3 ? 40 : 0));
        gptc_attn_args a3 = {0};
        a3.B = B3; a3.Tq = a3.Tk = T3; a3.NH = NH; a3.hs = hs;
        a3.q = x; a3.k = x + N3 * C; a3.v = x + 2 * N3 * C;
        a3.q_row = a3.kv_row = (size_t)C;
        a3.kv_batch = (size_t)T3 * C;
        a3.mask = GPTC_MASK_PADDING;
        a3.key_mask = km;
        a3.scale = 1.0f / sqrtf((float)hs);
        a3.out_row = (size_t)C;
        a3.p_drop = 0.1f;
        a3.seed = 77;
        gptc_attn_args r3 = a3;
        a3.out = y1; a3.att = at1; a3.preatt = pr1;
        r3.out = y2; r3.att = at2; r3.preatt = pr2;
        ops->attention_forward(ctx, &a3);
        gptc_ops_ref.attention_forward(rctx, &r3);
        report(ops, "attention_forward separate q/k/v, T 53, padding, dropout, probabilities kept",
               fmax(test_relerr(y1, y2, N3 * C), test_relerr(at1, at2, AT3)), 1e-5);
        float *dout = rnd(N3 * C, 1), *g1 = rnd(3 * N3 * C, 1), *g2 = dup(g1, 3 * N3 * C);
        float *s1 = rnd(AT3, 1), *s2 = rnd(AT3, 1), *t1 = rnd(AT3, 1), *t2 = rnd(AT3, 1);
        ops->attention_backward(ctx, &a3, g1, g1 + N3 * C, g1 + 2 * N3 * C, dout, s1, t1);
        gptc_ops_ref.attention_backward(rctx, &r3, g2, g2 + N3 * C, g2 + 2 * N3 * C, dout, s2, t2);
        report(ops, "attention_backward separate q/k/v, T 53, padding, dropout", test_relerr(g1, g2, 3 * N3 * C), 1e-5);
        free(x); free(y1); free(y2); free(km); free(at1); free(at2); free(pr1); free(pr2);
        free(dout); free(g1); free(g2); free(s1); free(s2); free(t1); free(t2);
    }
    free(qkv); free(o1); free(o2); free(att1); free(att2); free(pre1); free(pre2);
}

int main(void) {
    const gptc_ops *instances[] = {&gptc_ops_cpu, &gptc_ops_ref};
    gptc_ctx_params rp = gptc_ctx_default_params();
    rp.reference_kernels = 1;
    gptc_ctx *rctx = gptc_ctx_new(&rp);
    for (int i = 0; i < 2; i++) {
        gptc_ctx_params cp = gptc_ctx_default_params();
        cp.reference_kernels = instances[i] == &gptc_ops_ref;
        gptc_ctx *ctx = gptc_ctx_new(&cp);
        CHECK(instances[i] == &gptc_ops_ref ? "context picks the reference instance" : "context picks the cpu instance",
              gptc_ops_of(ctx) == instances[i], "got %s", gptc_ops_of(ctx)->name);
        test_linear(ctx, rctx, instances[i]);
        test_gemm(ctx, rctx, instances[i]);
        test_rowwise(ctx, rctx, instances[i]);
        test_attention(ctx, rctx, instances[i]);
        gptc_ctx_free(ctx);
    }
    gptc_ctx_free(rctx);
    return test_exit();
}
