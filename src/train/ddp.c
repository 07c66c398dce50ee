/* ddp.c: data-parallel training over the ranks of dist.c: gradient averaging that
 * gives the same bits on every rank and in every run, the global gradient norm, and
 * optimizer-state sharding (ZeRO stage 1).
 *
 * The parameter buffer is cut into buckets (one per transformer block, and the rest:
 * embeddings, final norm, head), each bucket into one piece per rank. A bucket is
 * posted as soon as its gradients are final (block l's right after its backward, as
 * PyTorch DDP does): every rank sends piece q to rank q. The owner of a piece adds the
 * N contributions in rank order 0, 1, ..., N-1 and divides by N (a reduce-scatter whose
 * order does not depend on MPI), the squares of the averaged pieces give the global
 * norm (partial sums added in rank order), and then
 *  - without ZeRO the averaged pieces are sent to every rank (all-gather) and each
 *    rank clips and steps AdamW over the whole buffer;
 *  - with ZeRO 1 each rank clips its pieces, steps AdamW on them with the moments of
 *    its pieces only, and the updated parameters are all-gathered.
 * Both send 2 (N-1)/N of the buffer per rank and step, as a ring all-reduce does. */
#define _GNU_SOURCE
#include "train.h"
#include "../model/model.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_SCATTER = 11, TAG_GATHER = 12, TAG_SUM = 13, TAG_MOMENTS = 14 };

struct gptc_ddp {
    gptc_dist *d;
    gptc_model *m;
    int N, r, zero;
    size_t nb;          /* buckets */
    size_t *lo;         /* nb + 1 boundaries into the parameter buffer */
    int *layer;         /* bucket's transformer block, -1 for the rest */
    size_t *recv_off;   /* into recv: (N-1) pieces of this rank per bucket */
    size_t *own_off;    /* into m1/m2 (ZeRO): this rank's piece per bucket */
    char *posted;       /* bucket's reduce-scatter is posted this step */
    float *recv;
    float *m1, *m2;     /* ZeRO: the moments of this rank's pieces */
    size_t n_own;
};

static void piece(const gptc_ddp *p, size_t k, int q, size_t *a, size_t *b) {
    size_t lo = p->lo[k], len = p->lo[k + 1] - lo;
    *a = lo + len * (size_t)q / (size_t)p->N;
    *b = lo + len * (size_t)(q + 1) / (size_t)p->N;
}

/* Buckets cover the hull of the trainable tensors (frozen ones have no gradient: a
 * LoRA run exchanges its adapters and head only): the hull of each block's trainable
 * tensors (gptc_model_tensor_layers) when those hulls are disjoint, in block order, and
 * hold no other trainable tensor, and the gaps between them; else one bucket. A block's
 * bucket goes out when the backward pass reports the block done (the layer hook: GPT-2's
 * and BERT's blocks last to first, an encoder-decoder's decoder blocks then its encoder
 * blocks, each block's gradients complete when it reports). */
static gptc_status make_buckets(gptc_ctx *ctx, gptc_ddp *p) {
    const gptc_model *m = p->m;
    int L = m->cfg.n_layer;
    size_t n = m->n_params, tlo = n, thi = 0;
    size_t *hlo = gptc_alloc(ctx, (size_t)(L + 1) * 2 * sizeof *hlo, "buckets"), *hhi = hlo + L + 1;
    int *layer_of = gptc_alloc(ctx, (m->n_tensors ? m->n_tensors : 1) * sizeof *layer_of, "buckets");
    if (!hlo || !layer_of) {
        gptc_free(hlo);
        gptc_free(layer_of);
        return GPTC_ENOMEM;
    }
    gptc_model_tensor_layers(m, layer_of);
    for (int l = 0; l < L; l++) hlo[l] = n, hhi[l] = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i];
        int l = layer_of[i];
        if (!t->trainable) continue;
        if (t->offset < tlo) tlo = t->offset;
        if (t->offset + t->numel > thi) thi = t->offset + t->numel;
        if (l >= 0) {
            if (t->offset < hlo[l]) hlo[l] = t->offset;
            if (t->offset + t->numel > hhi[l]) hhi[l] = t->offset + t->numel;
        }
    }
    if (tlo > thi) tlo = thi = 0; /* nothing trainable */
    int ok = 1;
    size_t prev = 0;
    for (int l = 0; l < L && ok; l++) {
        if (hlo[l] >= hhi[l]) continue; /* no trainable tensor in this block */
        ok = hlo[l] >= prev;
        prev = hhi[l];
    }
    for (size_t i = 0; i < m->n_tensors && ok; i++) { /* no other trainable tensor inside a block's hull */
        const gptc_ptensor *t = &m->tensors[i];
        if (!t->trainable || layer_of[i] >= 0) continue;
        for (int k = 0; k < L; k++)
            if (t->offset < hhi[k] && t->offset + t->numel > hlo[k]) ok = 0;
    }
    gptc_free(layer_of);
    size_t cap = (size_t)L * 2 + 2;
    p->lo = gptc_alloc(ctx, (cap + 1) * sizeof *p->lo, "buckets");
    p->layer = gptc_alloc(ctx, cap * sizeof *p->layer, "buckets");
    if (!p->lo || !p->layer) {
        gptc_free(hlo);
        return GPTC_ENOMEM;
    }
    size_t nb = 0, at = tlo;
    if (ok)
        for (int l = 0; l < L; l++) {
            if (hlo[l] >= hhi[l]) continue;
            if (hlo[l] > at) p->layer[nb] = -1, p->lo[nb++] = at;
            p->layer[nb] = l, p->lo[nb++] = hlo[l];
            at = hhi[l];
        }
    if (at < thi || nb == 0) p->layer[nb] = -1, p->lo[nb++] = at;
    p->lo[nb] = thi;
    p->nb = nb;
    gptc_free(hlo);
    return GPTC_OK;
}

void gptc_ddp_free(gptc_ddp *p) {
    if (!p) return;
    gptc_free(p->lo);
    gptc_free(p->layer);
    gptc_free(p->recv_off);
    gptc_free(p->own_off);
    gptc_free(p->posted);
    gptc_free(p->recv);
    gptc_free(p->m1);
    gptc_free(p->m2);
    gptc_free(p);
}

gptc_status gptc_ddp_new(gptc_ctx *ctx, gptc_dist *d, gptc_model *m, int zero, gptc_ddp **out) {
    *out = NULL;
    gptc_ddp *p = gptc_calloc(ctx, 1, sizeof *p, "data-parallel state");
    if (!p) return GPTC_ENOMEM;
    p->d = d;
    p->m = m;
    p->N = gptc_dist_size(d);
    p->r = gptc_dist_rank(d);
    p->zero = zero;
    gptc_status s = make_buckets(ctx, p);
    if (!s) {
        p->recv_off = gptc_alloc(ctx, p->nb * sizeof *p->recv_off, "buckets");
        p->own_off = gptc_alloc(ctx, p->nb * sizeof *p->own_off, "buckets");
        p->posted = gptc_calloc(ctx, p->nb, 1, "buckets");
        if (!p->recv_off || !p->own_off || !p->posted) s = GPTC_ENOMEM;
    }
    size_t n_recv = 0;
    for (size_t k = 0; !s && k < p->nb; k++) {
        size_t a, b;
        piece(p, k, p->r, &a, &b);
        p->recv_off[k] = n_recv;
        p->own_off[k] = p->n_own;
        n_recv += (size_t)(p->N - 1) * (b - a);
        p->n_own += b - a;
    }
    if (!s && !(p->recv = gptc_alloc(ctx, (n_recv ? n_recv : 1) * sizeof(float), "gradient exchange"))) s = GPTC_ENOMEM;
    if (!s && zero) {
        p->m1 = gptc_calloc(ctx, p->n_own ? p->n_own : 1, sizeof(float), "AdamW first moments (this rank's share)");
        p->m2 = gptc_calloc(ctx, p->n_own ? p->n_own : 1, sizeof(float), "AdamW second moments (this rank's share)");
        if (!p->m1 || !p->m2) s = GPTC_ENOMEM;
    }
    if (s) {
        gptc_ddp_free(p);
        return s;
    }
    *out = p;
    return GPTC_OK;
}

static gptc_status post_bucket(gptc_ctx *ctx, gptc_ddp *p, gptc_grads *g, size_t k) {
    size_t a, b;
    piece(p, k, p->r, &a, &b);
    float *in = p->recv + p->recv_off[k];
    gptc_status s = GPTC_OK;
    for (int q = 0; q < p->N && !s; q++) {
        if (q == p->r) continue;
        size_t qa, qb;
        piece(p, k, q, &qa, &qb);
        s = gptc_dist_post(ctx, p->d, 1, q, TAG_SCATTER, g->data + qa, (qb - qa) * sizeof(float));
        int slot = q < p->r ? q : q - 1;
        if (!s) s = gptc_dist_post(ctx, p->d, 0, q, TAG_SCATTER, in + (size_t)slot * (b - a), (b - a) * sizeof(float));
    }
    p->posted[k] = 1;
    return s;
}

gptc_status gptc_ddp_layer_ready(gptc_ctx *ctx, gptc_ddp *p, gptc_grads *g, int layer) {
    gptc_status s = GPTC_OK;
    for (size_t k = 0; k < p->nb && !s; k++)
        if (p->layer[k] == layer && !p->posted[k]) s = post_bucket(ctx, p, g, k);
    if (!s) {
        int done;
        s = gptc_dist_progress(ctx, p->d, &done); /* moves what is in flight along */
    }
    return s;
}

/* Sends this rank's piece of every bucket of buf to all and receives theirs. */
static gptc_status all_gather_pieces(gptc_ctx *ctx, gptc_ddp *p, float *buf) {
    gptc_status s = GPTC_OK;
    for (size_t k = 0; k < p->nb && !s; k++) {
        size_t a, b;
        piece(p, k, p->r, &a, &b);
        for (int q = 0; q < p->N && !s; q++) {
            if (q == p->r) continue;
            size_t qa, qb;
            piece(p, k, q, &qa, &qb);
            s = gptc_dist_post(ctx, p->d, 1, q, TAG_GATHER, buf + a, (b - a) * sizeof(float));
            if (!s) s = gptc_dist_post(ctx, p->d, 0, q, TAG_GATHER, buf + qa, (qb - qa) * sizeof(float));
        }
    }
    return s ? s : gptc_dist_wait(ctx, p->d);
}

gptc_status gptc_ddp_step(gptc_ctx *ctx, gptc_ddp *p, gptc_grads *g, gptc_adamw *opt, float max_norm,
                          const gptc_adamw_params *ap, int t, double *sums, int n_sums, float *norm_out,
                          double *comm_s) {
    const gptc_ops *ops = gptc_ops_of(ctx);
    double t0 = gptc_now_s();
    gptc_status s = GPTC_OK;
    for (size_t k = 0; k < p->nb && !s; k++)
        if (!p->posted[k]) s = post_bucket(ctx, p, g, k);
    if (!s) s = gptc_dist_wait(ctx, p->d);
    memset(p->posted, 0, p->nb);
    if (s) return s;
    /* the owner adds the ranks' contributions in rank order */
    const float inv = 1.0f / (float)p->N;
    double sumsq = 0;
    for (size_t k = 0; k < p->nb; k++) {
        size_t a, b;
        piece(p, k, p->r, &a, &b);
        size_t n = b - a;
        float *own = g->data + a;
        const float *in = p->recv + p->recv_off[k];
        const int N = p->N, r = p->r;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) {
            float v = r == 0 ? own[i] : in[i];
            for (int q = 1; q < N; q++) v += q == r ? own[i] : in[(size_t)(q < r ? q : q - 1) * n + i];
            own[i] = v * inv;
        }
        sumsq += ops->sumsq(ctx, own, n);
    }
    /* the global norm and the caller's values, added in rank order */
    double vals[8];
    if (n_sums > 7) return gptc_fail(ctx, GPTC_EINTERNAL, "ddp: too many values to sum");
    vals[0] = sumsq;
    memcpy(vals + 1, sums, (size_t)n_sums * sizeof *sums);
    if ((s = gptc_dist_sum(ctx, p->d, TAG_SUM, vals, (size_t)n_sums + 1))) return s;
    memcpy(sums, vals + 1, (size_t)n_sums * sizeof *sums);
    float norm = (float)sqrt(vals[0]), c = gptc_clip_coef(norm, max_norm);
    *norm_out = norm;
    if (!p->zero) {
        if ((s = all_gather_pieces(ctx, p, g->data))) return s;
        if (comm_s) *comm_s = gptc_now_s() - t0;
        if (c != 1.0f) ops->scale(ctx, g->data, g->n, c);
        return gptc_adamw_step(ctx, opt, p->m, g, ap, t);
    }
    double t_upd = gptc_now_s();
    for (size_t k = 0; k < p->nb && !s; k++) {
        size_t a, b;
        piece(p, k, p->r, &a, &b);
        if (c != 1.0f) ops->scale(ctx, g->data + a, b - a, c);
        s = gptc_adamw_update_range(ctx, p->m, g, p->m1 + p->own_off[k], p->m2 + p->own_off[k], a, b, ap, t);
    }
    t_upd = gptc_now_s() - t_upd;
    if (!s) s = all_gather_pieces(ctx, p, p->m->params);
    if (comm_s) *comm_s = gptc_now_s() - t0 - t_upd;
    return s;
}

gptc_status gptc_ddp_gather_moments(gptc_ctx *ctx, gptc_ddp *p, gptc_adamw *full) {
    float *f1 = NULL, *f2 = NULL;
    if (p->r == 0) gptc_adamw_moments(full, &f1, &f2);
    gptc_status s = GPTC_OK;
    for (size_t k = 0; k < p->nb && !s; k++) {
        size_t a, b;
        piece(p, k, p->r, &a, &b);
        if (p->r != 0) {
            s = gptc_dist_post(ctx, p->d, 1, 0, TAG_MOMENTS, p->m1 + p->own_off[k], (b - a) * sizeof(float));
            if (!s) s = gptc_dist_post(ctx, p->d, 1, 0, TAG_MOMENTS, p->m2 + p->own_off[k], (b - a) * sizeof(float));
            continue;
        }
        memcpy(f1 + a, p->m1 + p->own_off[k], (b - a) * sizeof(float));
        memcpy(f2 + a, p->m2 + p->own_off[k], (b - a) * sizeof(float));
        for (int q = 1; q < p->N && !s; q++) {
            size_t qa, qb;
            piece(p, k, q, &qa, &qb);
            s = gptc_dist_post(ctx, p->d, 0, q, TAG_MOMENTS, f1 + qa, (qb - qa) * sizeof(float));
            if (!s) s = gptc_dist_post(ctx, p->d, 0, q, TAG_MOMENTS, f2 + qa, (qb - qa) * sizeof(float));
        }
    }
    return s ? s : gptc_dist_wait(ctx, p->d);
}

void gptc_ddp_take_moments(gptc_ddp *p, const gptc_adamw *full) {
    float *f1, *f2;
    gptc_adamw_moments(full, &f1, &f2);
    for (size_t k = 0; k < p->nb; k++) {
        size_t a, b;
        piece(p, k, p->r, &a, &b);
        memcpy(p->m1 + p->own_off[k], f1 + a, (b - a) * sizeof(float));
        memcpy(p->m2 + p->own_off[k], f2 + a, (b - a) * sizeof(float));
    }
}

int gptc_ddp_zero(const gptc_ddp *p) { return p->zero; }
