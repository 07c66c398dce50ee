/* test_attend.c: the one-row attention of decoding (kernels/cpu/attend.c,
 * k_attend_row_with) on every instruction set this CPU runs (portable C, AVX2 + FMA,
 * AVX-512F, forced one at a time) against softmax(q K^T * scale) V in float64 computed
 * here. Head sizes 1, 17, 64, 80, 128 (the vector paths: masked tails, one to eight
 * 512-bit and one to sixteen 256-bit vectors) and 150 (past the vector paths: portable
 * loops); 0, 1, 7, 33 and 300 keys; keys and values in rows 3 * 150 + 5 floats apart
 * (a cache's layout, not the head's width); no mask, every third key masked, and every
 * key masked (uniform weights, as Hugging Face's additive mask gives). Inputs uniform in
 * [-1, 1), q scaled by 2 so the softmax is not flat; scale 1 / sqrt(hs). Float sums
 * against float64: 1e-5 relative (of the output's norm) catches any lane, tail or
 * stride mistake; the query's floats past the head are 1000 (a tail that reads them
 * fails) and the output's past the head must stay as they were. 0 keys give zeros. */
#include "harness.h"
#include "gptc.h"
#include "kernels/kernels.h"
#include "kernels/cpu/vec.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static const char *isa_name(int isa) { return isa == 2 ? "avx512" : isa == 1 ? "avx2" : "scalar"; }

enum { ROW = 3 * 150 + 5, MAXK = 300 };

static void want_row(double *want, const float *q, const float *K, const float *V, int nk, int hs, float scale,
                     const float *km) {
    double s[MAXK], mx = -INFINITY, z = 0;
    int any = 0;
    for (int t = 0; t < nk; t++) {
        double d = 0;
        for (int i = 0; i < hs; i++) d += (double)q[i] * K[(size_t)t * ROW + i];
        s[t] = km && km[t] == 0.0f ? -INFINITY : d * scale;
        if (s[t] > mx) mx = s[t];
        any |= !(km && km[t] == 0.0f);
    }
    for (int t = 0; t < nk; t++) {
        s[t] = any ? exp(s[t] - mx) : 1.0;
        z += s[t];
    }
    for (int i = 0; i < hs; i++) {
        double o = 0;
        for (int t = 0; t < nk; t++) o += s[t] / z * V[(size_t)t * ROW + i];
        want[i] = o;
    }
}

int main(void) {
    static const int hss[] = {1, 17, 64, 80, 128, 150}, nks[] = {0, 1, 7, 33, 300};
    float *K = malloc(sizeof(float) * MAXK * ROW), *V = malloc(sizeof(float) * MAXK * ROW), q[150], out[150];
    float km3[MAXK], km0[MAXK], scores[MAXK];
    double want[150];
    for (int i = 0; i < MAXK * ROW; i++) {
        K[i] = frand();
        V[i] = frand();
    }
    for (int t = 0; t < MAXK; t++) {
        km3[t] = t % 3 == 1 ? 0.0f : 1.0f;
        km0[t] = 0.0f;
    }
    int best = gptc_cpu_isa();
    printf("# best attention path on this CPU: %s\n", isa_name(best));
    char name[160];
    for (size_t hi = 0; hi < sizeof hss / sizeof hss[0]; hi++) {
        int hs = hss[hi];
        for (int i = 0; i < 150; i++) q[i] = i < hs ? 2.0f * frand() : 1e3f; /* past the head: must not be read */
        float scale = 1.0f / sqrtf((float)hs);
        for (size_t ni = 0; ni < sizeof nks / sizeof nks[0]; ni++) {
            int nk = nks[ni];
            for (int mk = 0; mk < 3; mk++) {
                const float *km = mk == 0 ? NULL : mk == 1 ? km3 : km0;
                want_row(want, q, K, V, nk, hs, scale, km);
                for (int isa = 0; isa <= best; isa++) {
                    for (int i = 0; i < 150; i++) out[i] = i < hs ? NAN : 7.0f;
                    k_attend_row_with(out, q, K, V, ROW, nk, hs, scale, km, scores, isa);
                    int past = 0; /* written past the head */
                    for (int i = hs; i < 150; i++) past |= out[i] != 7.0f;
                    double num = 0, den = 0;
                    for (int i = 0; i < hs; i++) {
                        num += (out[i] - want[i]) * (out[i] - want[i]);
                        den += want[i] * want[i];
                    }
                    double e = nk == 0 ? num : sqrt(num / (den > 0 ? den : 1));
                    snprintf(name, sizeof name, "attend_row hs=%d keys=%d %s %s: vs float64", hs, nk,
                             mk == 0 ? "no mask" : mk == 1 ? "every third key masked" : "every key masked",
                             isa_name(isa));
                    CHECK(name, e < 1e-5 && !isnan(e) && !past, "relative error %g%s", e, past ? ", wrote past the head" : "");
                }
            }
        }
    }
    free(K);
    free(V);
    return test_exit();
}
