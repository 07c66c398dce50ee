/* sample.c: the logits processors and warpers of text generation, with Hugging Face's
 * semantics (transformers' generation/logits_process.py), one row of V logits at a time,
 * and the draw from the filtered distribution. The loops that call them are in generate.c. */
#include "infer.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ RNG */
void gptc_rng_seed(gptc_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = gptc_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t gptc_rng_next(gptc_rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double gptc_rng_uniform(gptc_rng *r) { return (double)(gptc_rng_next(r) >> 11) * 0x1.0p-53; }

/* ------------------------------------------------------------------ helpers */
static float row_max(const float *x, int V) {
    float m = -INFINITY;
    for (int i = 0; i < V; i++)
        if (x[i] > m) m = x[i];
    return m;
}

void gptc_log_softmax(float *out, const float *x, int V) {
    float m = row_max(x, V);
    if (m == -INFINITY) {
        if (out != x) memcpy(out, x, (size_t)V * sizeof(float));
        return;
    }
    double z = 0;
    for (int i = 0; i < V; i++) z += exp((double)x[i] - m);
    float lse = m + (float)log(z);
    for (int i = 0; i < V; i++) out[i] = x[i] - lse;
}

/* Sorting index arrays by the logits they point at (qsort has no context argument). */
typedef struct { float v; int i; } vi;
static int cmp_desc(const void *a, const void *b) {
    const vi *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->i - y->i;
}
static int cmp_asc(const void *a, const void *b) {
    const vi *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i - y->i;
}

/* The finite logits as (value, index) pairs. */
static int finite_pairs(const float *logits, int V, vi *pairs) {
    int n = 0;
    for (int i = 0; i < V; i++)
        if (logits[i] > -INFINITY) pairs[n++] = (vi){logits[i], i};
    return n;
}

/* ------------------------------------------------------------------ processors */
/* RepetitionPenaltyLogitsProcessor: every distinct token of ids once. */
void gptc_logits_repetition_penalty(float *logits, int V, const int32_t *ids, int n, float penalty) {
    if (penalty == 1.0f) return;
    for (int k = 0; k < n; k++) {
        int32_t t = ids[k];
        if (t < 0 || t >= V) continue;
        int seen = 0;
        for (int j = 0; j < k && !seen; j++) seen = ids[j] == t;
        if (seen) continue;
        float s = logits[t];
        logits[t] = s < 0 ? s * penalty : s / penalty;
    }
}

/* NoRepeatNGramLogitsProcessor: bans the tokens that would complete an n-gram already in ids. */
void gptc_logits_no_repeat_ngram(float *logits, int V, const int32_t *ids, int n, int ngram) {
    if (ngram <= 0 || n + 1 < ngram) return;
    int pre = ngram - 1; /* the last ngram-1 tokens are the prefix to look for */
    for (int i = 0; i + ngram <= n; i++) {
        if (pre > 0 && memcmp(ids + i, ids + n - pre, (size_t)pre * sizeof(int32_t))) continue;
        int32_t t = ids[i + pre];
        if (t >= 0 && t < V) logits[t] = -INFINITY;
    }
}

/* OpenAI: logit -= count * frequency + (count > 0) * presence, per distinct token of ids. */
void gptc_logits_presence_frequency(float *logits, int V, const int32_t *ids, int n, float presence,
                                    float frequency, int *scratch) {
    if (presence == 0 && frequency == 0) return;
    for (int k = 0; k < n; k++)
        if (ids[k] >= 0 && ids[k] < V) scratch[ids[k]] = 0;
    for (int k = 0; k < n; k++)
        if (ids[k] >= 0 && ids[k] < V) scratch[ids[k]]++;
    for (int k = 0; k < n; k++) {
        int32_t t = ids[k];
        if (t < 0 || t >= V || scratch[t] == 0) continue;
        logits[t] -= (float)scratch[t] * frequency + presence;
        scratch[t] = 0; /* once per distinct token */
    }
}

/* ------------------------------------------------------------------ warpers */
void gptc_logits_temperature(float *logits, int V, float temperature) {
    if (temperature == 1.0f || temperature <= 0) return;
    for (int i = 0; i < V; i++) logits[i] /= temperature;
}

/* The k-th largest of x[0..n) (1-based k), by quickselect on a copy in buf. */
static float kth_largest(float *buf, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = buf[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (buf[i] > pivot) i++;
            while (buf[j] < pivot) j--;
            if (i <= j) {
                float t = buf[i];
                buf[i] = buf[j];
                buf[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else break;
    }
    return buf[want];
}

/* TopKLogitsWarper: removes logits below the k-th largest (ties with it stay). */
void gptc_logits_top_k(float *logits, int V, int k, int min_keep, int *scratch) {
    if (k <= 0) return;
    if (k < min_keep) k = min_keep;
    if (k >= V) return;
    float *buf = (float *)scratch; /* V ints hold V floats */
    memcpy(buf, logits, (size_t)V * sizeof(float));
    float th = kth_largest(buf, V, k);
    for (int i = 0; i < V; i++)
        if (logits[i] < th) logits[i] = -INFINITY;
}

static int count_finite(const float *logits, int V) {
    int n = 0;
    for (int i = 0; i < V; i++) n += logits[i] > -INFINITY;
    return n;
}

/* TopPLogitsWarper: sorted ascending, removes the tokens whose cumulative probability
 * (from the least likely up to them) is <= 1 - top_p; the min_keep most likely stay. */
void gptc_logits_top_p(float *logits, int V, float top_p, int min_keep, int *scratch) {
    if (top_p >= 1.0f) return;
    int n = count_finite(logits, V);
    vi *p = (vi *)(void *)scratch; /* 2 V ints hold V (value, index) pairs */
    finite_pairs(logits, V, p);
    qsort(p, (size_t)n, sizeof *p, cmp_asc);
    double m = n ? p[n - 1].v : 0, z = 0;
    for (int i = 0; i < n; i++) z += exp((double)p[i].v - m);
    double cum = 0;
    for (int i = 0; i < n; i++) {
        cum += exp((double)p[i].v - m) / z;
        if (i >= n - min_keep) break;
        if (cum <= 1.0 - (double)top_p) logits[p[i].i] = -INFINITY;
        else break; /* cumulative sums only grow */
    }
}

/* MinPLogitsWarper: removes tokens with probability < min_p * the top probability. */
void gptc_logits_min_p(float *logits, int V, float min_p, int min_keep, int *scratch) {
    if (min_p <= 0) return;
    float m = row_max(logits, V);
    if (m == -INFINITY) return;
    /* p_i < min_p * p_max  <=>  logit_i - logit_max < log(min_p) */
    double lim = log((double)min_p);
    int n = count_finite(logits, V);
    int removed = 0;
    for (int i = 0; i < V; i++)
        if (logits[i] > -INFINITY && (double)logits[i] - m < lim) removed++;
    if (n - removed >= min_keep) {
        for (int i = 0; i < V; i++)
            if ((double)logits[i] - m < lim) logits[i] = -INFINITY;
        return;
    }
    /* fewer than min_keep survive: keep the min_keep most likely */
    vi *p = (vi *)(void *)scratch; /* 2 V ints hold V (value, index) pairs */
    finite_pairs(logits, V, p);
    qsort(p, (size_t)n, sizeof *p, cmp_desc);
    for (int i = min_keep; i < n; i++)
        if ((double)p[i].v - m < lim) logits[p[i].i] = -INFINITY;
}

/* TypicalLogitsWarper: keeps the tokens whose surprisal is closest to the entropy until
 * their probabilities reach mass. */
void gptc_logits_typical_p(float *logits, int V, float mass, int min_keep, int *scratch) {
    if (mass >= 1.0f) return;
    int n = count_finite(logits, V);
    vi *p = (vi *)(void *)scratch; /* 2 V ints hold V (value, index) pairs */
    if (n == 0) return;
    finite_pairs(logits, V, p);
    double m = row_max(logits, V), z = 0;
    for (int i = 0; i < n; i++) z += exp((double)p[i].v - m);
    double lz = m + log(z), ent = 0;
    for (int i = 0; i < n; i++) {
        double lp = (double)p[i].v - lz;
        ent -= lp * exp(lp);
    }
    /* sort by |(-log p) - entropy| ascending; keep the logit to recover probabilities */
    for (int i = 0; i < n; i++) {
        double lp = (double)p[i].v - lz;
        p[i].v = (float)fabs(-lp - ent);
    }
    qsort(p, (size_t)n, sizeof *p, cmp_asc);
    double cum = 0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        cum += exp((double)logits[p[i].i] - lz);
        if (cum < (double)mass) last = i + 1;
        else break;
    }
    if (last > n - 1) last = n - 1;
    float th = p[last].v;
    for (int i = min_keep; i < n; i++)
        if (p[i].v > th) logits[p[i].i] = -INFINITY;
}

/* ------------------------------------------------------------------ draw */
int32_t gptc_logits_sample(const float *logits, int V, double u) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (u < 0 || logits[best] == -INFINITY) return best;
    double m = logits[best], z = 0;
    for (int i = 0; i < V; i++)
        if (logits[i] > -INFINITY) z += exp((double)logits[i] - m);
    double target = u * z, cum = 0;
    int last = best;
    for (int i = 0; i < V; i++) {
        if (logits[i] == -INFINITY) continue;
        cum += exp((double)logits[i] - m);
        last = i;
        if (cum > target) return i;
    }
    return last; /* rounding: u * z at the very top */
}
