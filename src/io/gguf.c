/* gguf.c: GGUF reader and writer (see gguf.h). The reader validates the whole header
 * (strings, arrays, tensor dims, types, offsets, overlaps) against the mapped file before
 * returning; the writer builds the header in memory and streams the tensors after it. */
#include "gguf.h"
#include <stdlib.h>
#include <string.h>

#define GGUF_MAGIC "GGUF"
/* Sanity limits far above any model (llama.cpp's reader has similar ones). */
#define GGUF_MAX_KV ((uint64_t)1 << 20)
#define GGUF_MAX_TENSORS ((uint64_t)1 << 20)

static const size_t scalar_size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

size_t gptc_ggml_nbytes(uint32_t type, uint64_t n, int *ok) {
    uint64_t bk, bb;
    switch (type) {
    case GGML_F32: bk = 1, bb = 4; break;
    case GGML_F16: bk = 1, bb = 2; break;
    case GGML_Q4_0: bk = 32, bb = 18; break;
    case GGML_Q8_0: bk = 32, bb = 34; break;
    case GGML_Q4_K: bk = 256, bb = 144; break;
    default: *ok = 0; return 0;
    }
    if (n % bk || n / bk > SIZE_MAX / bb) {
        *ok = 0;
        return 0;
    }
    *ok = 1;
    return (size_t)(n / bk * bb);
}

/* ---------------------------------------------------------------- reader */
typedef struct {
    gptc_ctx *ctx;
    const char *path;
    const unsigned char *p;
    size_t pos, size;
} cursor;

static gptc_status need(cursor *c, size_t n, const char *what) {
    if (n > c->size - c->pos)
        return gptc_fail(c->ctx, GPTC_EFORMAT, "%s: %s at byte %zu: %zu bytes past the end of the file (%zu bytes)",
                         c->path, what, c->pos, n, c->size);
    return GPTC_OK;
}
static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static gptc_status rd(cursor *c, int n, uint64_t *v, const char *what) {
    gptc_status s = need(c, (size_t)n, what);
    if (s) return s;
    *v = le(c->p + c->pos, n);
    c->pos += (size_t)n;
    return GPTC_OK;
}
/* a string: its bytes stay in the mapping */
static gptc_status rd_str(cursor *c, const unsigned char **s, size_t *len, const char *what) {
    uint64_t n;
    gptc_status st = rd(c, 8, &n, what);
    if (st) return st;
    if (n > c->size - c->pos)
        return gptc_fail(c->ctx, GPTC_EFORMAT, "%s: %s at byte %zu: string of %llu bytes past the end of the file",
                         c->path, what, c->pos, (unsigned long long)n);
    *s = c->p + c->pos;
    *len = (size_t)n;
    c->pos += (size_t)n;
    return GPTC_OK;
}
static char *dup_n(gptc_ctx *ctx, const unsigned char *s, size_t n) {
    char *d = gptc_alloc(ctx, n + 1, "gguf name");
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* skips a value of type t (arrays: of elem type et, n elements), checking its bytes */
static gptc_status skip_value(cursor *c, uint32_t t, const char *key) {
    if (t >= GGUF_TYPE_COUNT)
        return gptc_fail(c->ctx, GPTC_EFORMAT, "%s: key '%s': value type %u is not a GGUF type", c->path, key, t);
    if (t == GGUF_STRING) {
        const unsigned char *s;
        size_t n;
        return rd_str(c, &s, &n, key);
    }
    if (t == GGUF_ARRAY) {
        uint64_t et, n;
        gptc_status st;
        if ((st = rd(c, 4, &et, key)) || (st = rd(c, 8, &n, key))) return st;
        if (et >= GGUF_TYPE_COUNT || et == GGUF_ARRAY)
            return gptc_fail(c->ctx, GPTC_EFORMAT, "%s: key '%s': array element type %llu is not supported", c->path,
                             key, (unsigned long long)et);
        if (et == GGUF_STRING) {
            for (uint64_t i = 0; i < n; i++)
                if ((st = skip_value(c, GGUF_STRING, key))) return st;
            return GPTC_OK;
        }
        if (n > (c->size - c->pos) / scalar_size[et])
            return gptc_fail(c->ctx, GPTC_EFORMAT, "%s: key '%s': array of %llu elements past the end of the file",
                             c->path, key, (unsigned long long)n);
        c->pos += (size_t)n * scalar_size[et];
        return GPTC_OK;
    }
    gptc_status st = need(c, scalar_size[t], key);
    if (!st) c->pos += scalar_size[t];
    return st;
}

int gptc_gguf_is_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char m[4];
    int ok = fread(m, 1, 4, f) == 4 && !memcmp(m, GGUF_MAGIC, 4);
    fclose(f);
    return ok;
}

typedef struct { uint64_t b, e; size_t i; } g_range;
static int g_range_cmp(const void *a, const void *b) {
    const g_range *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b;
}

gptc_status gptc_gguf_open(gptc_ctx *ctx, const char *path, gptc_gguf *g) {
    memset(g, 0, sizeof *g);
    if (strlen(path) >= sizeof g->path) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    strcpy(g->path, path);
    gptc_status s = gptc_file_map(ctx, path, &g->map);
    if (s) return s;
    cursor c = {ctx, path, g->map.data, 0, g->map.size};
    uint64_t v, nt, nkv;
    g_range *ranges = NULL;
    if ((s = need(&c, 4, "magic"))) goto fail;
    if (memcmp(c.p, GGUF_MAGIC, 4)) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: not a GGUF file (no \"GGUF\" magic)", path);
        goto fail;
    }
    c.pos = 4;
    if ((s = rd(&c, 4, &v, "version")) || (s = rd(&c, 8, &nt, "tensor count")) || (s = rd(&c, 8, &nkv, "key count")))
        goto fail;
    if (v != 2 && v != 3) {
        s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: GGUF version %llu (2 and 3 are read)", path, (unsigned long long)v);
        goto fail;
    }
    g->version = (uint32_t)v;
    if (nkv > GGUF_MAX_KV || nt > GGUF_MAX_TENSORS) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: %llu keys and %llu tensors: implausible counts", path,
                      (unsigned long long)nkv, (unsigned long long)nt);
        goto fail;
    }
    g->kv = gptc_calloc(ctx, nkv ? nkv : 1, sizeof *g->kv, "gguf keys");
    g->tensors = gptc_calloc(ctx, nt ? nt : 1, sizeof *g->tensors, "gguf tensors");
    ranges = gptc_calloc(ctx, nt ? nt : 1, sizeof *ranges, "gguf ranges");
    if (!g->kv || !g->tensors || !ranges) {
        s = GPTC_ENOMEM;
        goto fail;
    }
    g->alignment = 32;
    for (uint64_t i = 0; i < nkv; i++) {
        const unsigned char *ks;
        size_t kl;
        uint64_t t;
        if ((s = rd_str(&c, &ks, &kl, "key"))) goto fail;
        gptc_gguf_kv *kv = &g->kv[g->n_kv];
        if (!(kv->key = dup_n(ctx, ks, kl))) {
            s = GPTC_ENOMEM;
            goto fail;
        }
        g->n_kv++;
        for (size_t j = 0; j + 1 < g->n_kv; j++)
            if (!strcmp(g->kv[j].key, kv->key)) {
                s = gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' appears twice", path, kv->key);
                goto fail;
            }
        if ((s = rd(&c, 4, &t, kv->key))) goto fail;
        kv->type = (uint32_t)t;
        kv->n = 1;
        size_t start = c.pos;
        if (t == GGUF_ARRAY && c.size - c.pos >= 12) {
            kv->elem_type = (uint32_t)le(c.p + c.pos, 4);
            kv->n = le(c.p + c.pos + 4, 8);
            start += 12;
        }
        if ((s = skip_value(&c, (uint32_t)t, kv->key))) goto fail;
        kv->val = c.p + start;
        if (!strcmp(kv->key, "general.alignment")) {
            uint32_t a;
            if ((s = gptc_gguf_get_u32(ctx, g, "general.alignment", &a))) goto fail;
            if (a == 0 || (a & (a - 1)) || a > 65536) {
                s = gptc_fail(ctx, GPTC_EFORMAT, "%s: general.alignment %u is not a power of two up to 65536", path, a);
                goto fail;
            }
            g->alignment = a;
        }
    }
    for (uint64_t i = 0; i < nt; i++) {
        const unsigned char *ns;
        size_t nl;
        if ((s = rd_str(&c, &ns, &nl, "tensor name"))) goto fail;
        gptc_gguf_tensor *t = &g->tensors[g->n_tensors];
        if (!(t->name = dup_n(ctx, ns, nl))) {
            s = GPTC_ENOMEM;
            goto fail;
        }
        g->n_tensors++;
        for (size_t j = 0; j + 1 < g->n_tensors; j++)
            if (!strcmp(g->tensors[j].name, t->name)) {
                s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' appears twice", path, t->name);
                goto fail;
            }
        uint64_t nd, ty;
        if ((s = rd(&c, 4, &nd, t->name))) goto fail;
        if (nd < 1 || nd > 4) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': %llu dimensions (1 to 4)", path, t->name,
                          (unsigned long long)nd);
            goto fail;
        }
        t->n_dims = (uint32_t)nd;
        uint64_t numel = 1;
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint64_t d = 0; d < nd; d++) {
            if ((s = rd(&c, 8, &t->ne[d], t->name))) goto fail;
            if (t->ne[d] && numel > UINT64_MAX / t->ne[d]) {
                s = gptc_fail(ctx, GPTC_ERANGE, "%s: tensor '%s': element count overflows", path, t->name);
                goto fail;
            }
            numel *= t->ne[d];
        }
        if ((s = rd(&c, 4, &ty, t->name)) || (s = rd(&c, 8, &t->offset, t->name))) goto fail;
        t->type = (uint32_t)ty;
        int ok;
        t->nbytes = gptc_ggml_nbytes(t->type, numel, &ok);
        if (!ok) {
            s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: tensor '%s': ggml type %u with %llu elements in rows of %llu is not "
                                             "supported (f32, f16, q8_0, q4_0, q4_k; rows a multiple of the block)",
                          path, t->name, t->type, (unsigned long long)numel, (unsigned long long)t->ne[0]);
            goto fail;
        }
        if (t->type != GGML_F32 && t->type != GGML_F16 && t->ne[0] % (t->type == GGML_Q4_K ? 256 : 32)) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': rows of %llu are not whole blocks", path, t->name,
                          (unsigned long long)t->ne[0]);
            goto fail;
        }
    }
    size_t data_start = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (data_start > c.size) data_start = c.size;
    size_t data_size = c.size - data_start;
    for (size_t i = 0; i < g->n_tensors; i++) {
        gptc_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment || t->offset > data_size || t->nbytes > data_size - t->offset) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': data [%llu, +%zu) is %s (data section of %zu bytes, "
                                             "alignment %zu)", path, t->name, (unsigned long long)t->offset, t->nbytes,
                          t->offset % g->alignment ? "misaligned" : "past the end of the file", data_size, g->alignment);
            goto fail;
        }
        t->data = c.p + data_start + t->offset;
        ranges[i] = (g_range){t->offset, t->offset + t->nbytes, i};
    }
    if (g->n_tensors) qsort(ranges, g->n_tensors, sizeof *ranges, g_range_cmp);
    for (size_t i = 1; i < g->n_tensors; i++)
        if (ranges[i].b < ranges[i - 1].e && ranges[i].b != ranges[i].e) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' overlaps tensor '%s'", path,
                          g->tensors[ranges[i].i].name, g->tensors[ranges[i - 1].i].name);
            goto fail;
        }
    gptc_free(ranges);
    return GPTC_OK;
fail:
    gptc_free(ranges);
    gptc_gguf_close(g);
    return s;
}

void gptc_gguf_close(gptc_gguf *g) {
    for (size_t i = 0; g->kv && i < g->n_kv; i++) gptc_free(g->kv[i].key);
    for (size_t i = 0; g->tensors && i < g->n_tensors; i++) gptc_free(g->tensors[i].name);
    gptc_free(g->kv);
    gptc_free(g->tensors);
    gptc_file_unmap(&g->map);
    g->kv = NULL;
    g->tensors = NULL;
    g->n_kv = g->n_tensors = 0;
}

const gptc_gguf_kv *gptc_gguf_find(const gptc_gguf *g, const char *key) {
    for (size_t i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const gptc_gguf_tensor *gptc_gguf_tensor_find(const gptc_gguf *g, const char *name) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

gptc_status gptc_gguf_get_u32(gptc_ctx *ctx, const gptc_gguf *g, const char *key, uint32_t *out) {
    const gptc_gguf_kv *kv = gptc_gguf_find(g, key);
    if (!kv) return gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' is missing", g->path, key);
    int64_t v;
    switch (kv->type) {
    case GGUF_U8: v = kv->val[0]; break;
    case GGUF_I8: v = (int8_t)kv->val[0]; break;
    case GGUF_U16: v = (int64_t)le(kv->val, 2); break;
    case GGUF_I16: v = (int16_t)le(kv->val, 2); break;
    case GGUF_U32: v = (int64_t)le(kv->val, 4); break;
    case GGUF_I32: v = (int32_t)le(kv->val, 4); break;
    case GGUF_U64: v = le(kv->val, 8) > UINT32_MAX ? -1 : (int64_t)le(kv->val, 8); break;
    case GGUF_I64: v = (int64_t)le(kv->val, 8); break;
    default: return gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' is not an integer (type %u)", g->path, key, kv->type);
    }
    if (v < 0 || v > UINT32_MAX)
        return gptc_fail(ctx, GPTC_ERANGE, "%s: key '%s': %lld is out of range", g->path, key, (long long)v);
    *out = (uint32_t)v;
    return GPTC_OK;
}

gptc_status gptc_gguf_get_f32(gptc_ctx *ctx, const gptc_gguf *g, const char *key, float *out) {
    const gptc_gguf_kv *kv = gptc_gguf_find(g, key);
    if (!kv) return gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' is missing", g->path, key);
    if (kv->type == GGUF_F32) {
        uint32_t b = (uint32_t)le(kv->val, 4);
        memcpy(out, &b, 4);
    } else if (kv->type == GGUF_F64) {
        uint64_t b = le(kv->val, 8);
        double d;
        memcpy(&d, &b, 8);
        *out = (float)d;
    } else {
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' is not a float (type %u)", g->path, key, kv->type);
    }
    return GPTC_OK;
}

gptc_status gptc_gguf_get_str(gptc_ctx *ctx, const gptc_gguf *g, const char *key, const char **s, size_t *len) {
    const gptc_gguf_kv *kv = gptc_gguf_find(g, key);
    if (!kv) return gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' is missing", g->path, key);
    if (kv->type != GGUF_STRING)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: key '%s' is not a string (type %u)", g->path, key, kv->type);
    *len = (size_t)le(kv->val, 8);
    *s = (const char *)kv->val + 8;
    return GPTC_OK;
}

/* ---------------------------------------------------------------- writer */
typedef struct {
    const void *data;
    size_t nbytes;
} w_tensor;

struct gptc_gguf_w {
    gptc_ctx *ctx;
    gptc_status err;
    unsigned char *kv, *ti; /* encoded keys and tensor infos */
    size_t kv_len, kv_cap, ti_len, ti_cap, n_kv, n_t;
    w_tensor *t;
    size_t t_cap;
    uint64_t data_off;
};

static void put(gptc_gguf_w *w, int tinfo, const void *p, size_t n) {
    if (w->err) return;
    unsigned char **b = tinfo ? &w->ti : &w->kv;
    size_t *len = tinfo ? &w->ti_len : &w->kv_len, *cap = tinfo ? &w->ti_cap : &w->kv_cap;
    if (n > *cap - *len) {
        size_t nc = *cap ? *cap : 4096;
        while (n > nc - *len) nc *= 2;
        unsigned char *nb = gptc_alloc(w->ctx, nc, "gguf header");
        if (!nb) {
            w->err = GPTC_ENOMEM;
            return;
        }
        if (*len) memcpy(nb, *b, *len);
        gptc_free(*b);
        *b = nb;
        *cap = nc;
    }
    memcpy(*b + *len, p, n);
    *len += n;
}
static void put_le(gptc_gguf_w *w, int tinfo, uint64_t v, int n) {
    unsigned char b[8];
    for (int i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8 * i));
    put(w, tinfo, b, (size_t)n);
}
static void put_str(gptc_gguf_w *w, int tinfo, const char *s, size_t n) {
    put_le(w, tinfo, n, 8);
    put(w, tinfo, s, n);
}
static void key(gptc_gguf_w *w, const char *k, uint32_t type) {
    put_str(w, 0, k, strlen(k));
    put_le(w, 0, type, 4);
    w->n_kv++;
}

gptc_gguf_w *gptc_gguf_w_new(gptc_ctx *ctx) {
    gptc_gguf_w *w = gptc_calloc(ctx, 1, sizeof *w, "gguf writer");
    if (w) w->ctx = ctx;
    return w;
}
void gptc_gguf_w_free(gptc_gguf_w *w) {
    if (!w) return;
    gptc_free(w->kv);
    gptc_free(w->ti);
    gptc_free(w->t);
    gptc_free(w);
}
void gptc_gguf_w_str(gptc_gguf_w *w, const char *k, const char *val) {
    key(w, k, GGUF_STRING);
    put_str(w, 0, val, strlen(val));
}
void gptc_gguf_w_u32(gptc_gguf_w *w, const char *k, uint32_t val) {
    key(w, k, GGUF_U32);
    put_le(w, 0, val, 4);
}
void gptc_gguf_w_f32(gptc_gguf_w *w, const char *k, float val) {
    uint32_t b;
    memcpy(&b, &val, 4);
    key(w, k, GGUF_F32);
    put_le(w, 0, b, 4);
}
void gptc_gguf_w_bool(gptc_gguf_w *w, const char *k, int val) {
    key(w, k, GGUF_BOOL);
    put_le(w, 0, val ? 1 : 0, 1);
}
void gptc_gguf_w_str_array(gptc_gguf_w *w, const char *k, const char *const *s, const size_t *len, size_t n) {
    key(w, k, GGUF_ARRAY);
    put_le(w, 0, GGUF_STRING, 4);
    put_le(w, 0, n, 8);
    for (size_t i = 0; i < n; i++) put_str(w, 0, s[i], len[i]);
}
void gptc_gguf_w_i32_array(gptc_gguf_w *w, const char *k, const int32_t *v, size_t n) {
    key(w, k, GGUF_ARRAY);
    put_le(w, 0, GGUF_I32, 4);
    put_le(w, 0, n, 8);
    for (size_t i = 0; i < n; i++) put_le(w, 0, (uint32_t)v[i], 4);
}
void gptc_gguf_w_tensor(gptc_gguf_w *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                        const void *data, size_t nbytes) {
    if (w->err) return;
    if (w->n_t == w->t_cap) {
        size_t nc = w->t_cap ? 2 * w->t_cap : 64;
        w_tensor *nt = gptc_alloc(w->ctx, nc * sizeof *nt, "gguf tensors");
        if (!nt) {
            w->err = GPTC_ENOMEM;
            return;
        }
        if (w->n_t) memcpy(nt, w->t, w->n_t * sizeof *nt);
        gptc_free(w->t);
        w->t = nt;
        w->t_cap = nc;
    }
    put_str(w, 1, name, strlen(name));
    put_le(w, 1, n_dims, 4);
    for (uint32_t d = 0; d < n_dims; d++) put_le(w, 1, ne[d], 8);
    put_le(w, 1, type, 4);
    put_le(w, 1, w->data_off, 8);
    w->t[w->n_t++] = (w_tensor){data, nbytes};
    w->data_off += (nbytes + 31) / 32 * 32;
}

gptc_status gptc_gguf_w_write(gptc_ctx *ctx, gptc_gguf_w *w, const char *path) {
    if (w->err) return gptc_fail(ctx, w->err, "%s: out of memory building the GGUF header", path);
    unsigned char head[24], pad[32] = {0};
    memcpy(head, GGUF_MAGIC, 4);
    uint64_t f[3] = {3, w->n_t, w->n_kv};
    for (int i = 0; i < 4; i++) head[4 + i] = (unsigned char)(f[0] >> (8 * i));
    for (int k = 1; k < 3; k++)
        for (int i = 0; i < 8; i++) head[8 + 8 * (k - 1) + i] = (unsigned char)(f[k] >> (8 * i));
    gptc_atomic_file af;
    gptc_status s = gptc_atomic_open(ctx, &af, path);
    if (s) return s;
    size_t hl = 24 + w->kv_len + w->ti_len;
    if (!s) s = gptc_atomic_write(ctx, &af, head, 24);
    if (!s && w->kv_len) s = gptc_atomic_write(ctx, &af, w->kv, w->kv_len);
    if (!s && w->ti_len) s = gptc_atomic_write(ctx, &af, w->ti, w->ti_len);
    if (!s && hl % 32) s = gptc_atomic_write(ctx, &af, pad, 32 - hl % 32);
    for (size_t i = 0; !s && i < w->n_t; i++) {
        if (w->t[i].nbytes) s = gptc_atomic_write(ctx, &af, w->t[i].data, w->t[i].nbytes);
        if (!s && w->t[i].nbytes % 32) s = gptc_atomic_write(ctx, &af, pad, 32 - w->t[i].nbytes % 32);
    }
    if (!s) return gptc_atomic_commit(ctx, &af);
    gptc_atomic_abort(&af);
    return s;
}
