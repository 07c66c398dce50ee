/* safetensors.c: see safetensors.h. Reads by memory map, validating every header field
 * (lengths, JSON, dtypes, shapes, offsets, overlaps) before any tensor is indexed;
 * writes F32/F16/BF16 files atomically. Model-level meaning of the tensors is in model/. */
#include "../core/core.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The header may not be larger than this (Hugging Face's reader uses the same 100 MB). */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* ---------------------------------------------------------------- half precision */

float gptc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf, or NaN with its payload */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* subnormal: mant * 2^-24; normalize so the leading 1 becomes implicit */
        int e = -1;
        do {
            mant <<= 1;
            e++;
        } while (!(mant & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float gptc_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t gptc_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fc0; /* canonical NaN, as PyTorch */
    bits += 0x7fffu + ((bits >> 16) & 1); /* round to nearest even; overflows to inf */
    return (uint16_t)(bits >> 16);
}

uint16_t gptc_f32_to_f16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t abs = bits & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00); /* canonical NaN, as PyTorch */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to inf */
    if (abs >= 0x38800000u) {                                 /* normal f16 */
        uint32_t r = abs + 0x0fffu + ((abs >> 13) & 1);
        return (uint16_t)(sign | ((r - (112u << 23)) >> 13));
    }
    if (abs < 0x33000000u) return sign; /* below half the smallest subnormal: +-0 */
    /* subnormal f16: shift the full significand, round to nearest even */
    uint32_t e = abs >> 23, m = (abs & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24: value = m * 2^(e-150) = (m >> shift) * 2^-24 */
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return (uint16_t)(sign | q);
}

/* ---------------------------------------------------------------- dtypes */

static const struct { const char *name; int size; int dtype; } st_dtypes[] = {
    {"F32", 4, GPTC_F32}, {"F16", 2, GPTC_F16}, {"BF16", 2, GPTC_BF16}, {"U8", 1, GPTC_U8},
    /* valid safetensors dtypes that gptc reads only for ignored buffers */
    {"F64", 8, -1}, {"I64", 8, -1}, {"U64", 8, -1}, {"I32", 4, -1}, {"U32", 4, -1},
    {"I16", 2, -1}, {"U16", 2, -1}, {"I8", 1, -1}, {"BOOL", 1, -1},
    {"F8_E4M3", 1, -1}, {"F8_E5M2", 1, -1},
};

static const char *dtype_name(gptc_dtype d) {
    return d == GPTC_F32 ? "F32" : d == GPTC_F16 ? "F16" : d == GPTC_BF16 ? "BF16" : d == GPTC_U8 ? "U8" : "?";
}

static size_t dtype_size(gptc_dtype d) { return d == GPTC_F32 ? 4 : d == GPTC_U8 ? 1 : 2; }

/* An entry's dtype in a file of dtype `file`. */
static gptc_dtype entry_dtype(const gptc_st_entry *e, gptc_dtype file) {
    return e->bytes ? GPTC_U8 : e->f32 ? GPTC_F32 : file;
}

static const char *const dtype_names[GPTC_DTYPE_COUNT] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "u8"};

const char *gptc_dtype_name(gptc_dtype d) { return (unsigned)d < GPTC_DTYPE_COUNT ? dtype_names[d] : "?"; }

gptc_dtype gptc_dtype_parse(const char *name) {
    if (!strcmp(name, "float32")) return GPTC_F32;
    if (!strcmp(name, "float16")) return GPTC_F16;
    if (!strcmp(name, "bfloat16")) return GPTC_BF16;
    for (int d = 0; d < GPTC_DTYPE_COUNT; d++)
        if (!strcmp(name, dtype_names[d])) return (gptc_dtype)d;
    return GPTC_DTYPE_COUNT;
}

/* Old GPT-2 checkpoints carry attention-mask buffers ("h.0.attn.bias", a (1,1,N,N)
 * lower-triangular mask, and "h.0.attn.masked_bias", a scalar) in F32, U8 or BOOL; BERT
 * files carry "embeddings.position_ids" (I64). They are not parameters: accepted in any
 * dtype, recorded with GPTC_DTYPE_COUNT. */
int gptc_st_is_mask_buffer(const char *name) {
    size_t n = strlen(name);
    /* GPT-2's causal-mask buffers; BERT's position_ids / token_type_ids buffers (I64) */
    static const char *const suffixes[] = {".attn.bias", ".attn.masked_bias", "embeddings.position_ids",
                                           "embeddings.token_type_ids"};
    for (int i = 0; i < 4; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(name + n - k, suffixes[i]) == 0) return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- reader */

static uint64_t read_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A non-negative JSON integer, else -1. */
static json_int_t json_nonneg(const json_t *v) {
    if (!json_is_integer(v)) return -1;
    json_int_t x = json_integer_value(v);
    return x < 0 ? -1 : x;
}

static gptc_status parse_entry(gptc_ctx *ctx, const char *path, const char *name, json_t *val,
                               size_t data_size, gptc_st_tensor *t, size_t *begin_out) {
    if (!json_is_object(val))
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': header entry is not an object", path, name);
    json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape");
    json_t *jo = json_object_get(val, "data_offsets");
    if (!json_is_string(jd))
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", path, name);
    if (!json_is_array(js))
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': missing or non-array \"shape\"", path, name);
    if (!json_is_array(jo) || json_array_size(jo) != 2)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': \"data_offsets\" must be [begin, end]", path,
                         name);
    const char *ds = json_string_value(jd);
    int size = 0, dtype = -1;
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(ds, st_dtypes[i].name) == 0) {
            size = st_dtypes[i].size;
            dtype = st_dtypes[i].dtype;
        }
    int ignored = gptc_st_is_mask_buffer(name);
    if (size == 0 || (dtype < 0 && !ignored))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: tensor '%s': dtype %s is not supported (F32, F16, BF16, U8)",
                         path, name, ds);
    size_t nd = json_array_size(js);
    if (nd > GPTC_ST_MAX_DIMS)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: tensor '%s': %zu dimensions (at most %d)", path, name, nd,
                         GPTC_ST_MAX_DIMS);
    size_t numel = 1;
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        json_int_t d = json_nonneg(json_array_get(js, i));
        if (d < 0)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer",
                             path, name, i);
        if ((uint64_t)d > SIZE_MAX || !gptc_mul_ok(numel, (size_t)d, &numel))
            return gptc_fail(ctx, GPTC_ERANGE, "%s: tensor '%s': shape product overflows", path, name);
        t->shape[i] = (int64_t)d;
    }
    size_t nbytes;
    if (!gptc_mul_ok(numel, (size_t)size, &nbytes))
        return gptc_fail(ctx, GPTC_ERANGE, "%s: tensor '%s': byte size overflows", path, name);
    json_int_t b = json_nonneg(json_array_get(jo, 0)), e = json_nonneg(json_array_get(jo, 1));
    if (b < 0 || e < 0)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': data_offsets are not non-negative integers",
                         path, name);
    if (e < b)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': data_offsets end %lld before begin %lld", path,
                         name, (long long)e, (long long)b);
    if ((uint64_t)e > data_size)
        return gptc_fail(ctx, GPTC_EFORMAT,
                         "%s: tensor '%s': data_offsets [%lld, %lld] outside the data section (%zu bytes)",
                         path, name, (long long)b, (long long)e, data_size);
    if ((uint64_t)(e - b) != nbytes)
        return gptc_fail(ctx, GPTC_EFORMAT,
                         "%s: tensor '%s': %lld bytes in data_offsets but shape x %s needs %zu bytes", path,
                         name, (long long)(e - b), ds, nbytes);
    t->dtype = dtype < 0 ? GPTC_DTYPE_COUNT : (gptc_dtype)dtype;
    t->numel = numel;
    t->nbytes = nbytes;
    *begin_out = (size_t)b;
    return GPTC_OK;
}

static char *dup_str(gptc_ctx *ctx, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = gptc_alloc(ctx, n, "safetensors metadata");
    if (d) memcpy(d, s, n);
    return d;
}

/* Checks the metadata (string values only) and keeps its pairs in out. */
static gptc_status read_metadata(gptc_ctx *ctx, const char *path, json_t *meta, gptc_safetensors *out) {
    if (!json_is_object(meta))
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"__metadata__\" is not an object", path);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"__metadata__\" value of '%s' is not a string", path, k);
    }
    size_t n = json_object_size(meta);
    if (!n) return GPTC_OK;
    out->meta_keys = gptc_calloc(ctx, n, sizeof(char *), "safetensors metadata");
    out->meta_values = gptc_calloc(ctx, n, sizeof(char *), "safetensors metadata");
    if (!out->meta_keys || !out->meta_values) return gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", path);
    json_object_foreach(meta, k, v) {
        char *kk = dup_str(ctx, k), *vv = dup_str(ctx, json_string_value(v));
        out->meta_keys[out->n_meta] = kk;
        out->meta_values[out->n_meta] = vv;
        out->n_meta++;
        if (!kk || !vv) return gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", path);
    }
    return GPTC_OK;
}

typedef struct { size_t begin, end, idx; } st_range;

static int range_cmp(const void *a, const void *b) {
    const st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

gptc_status gptc_st_open(gptc_ctx *ctx, const char *path, gptc_safetensors *out) {
    memset(out, 0, sizeof *out);
    if (strlen(path) >= sizeof out->path) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    strcpy(out->path, path);
    gptc_status s = gptc_file_map(ctx, path, &out->map);
    if (s) return s;
    const unsigned char *p = out->map.data;
    size_t size = out->map.size;
    if (size < 8) {
        gptc_st_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: %zu bytes, too short for the 8-byte header length", path, size);
    }
    uint64_t hlen = read_le64(p);
    if (hlen > size - 8) {
        gptc_st_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: header length %llu past end of file (%zu bytes)", path,
                         (unsigned long long)hlen, size);
    }
    if (hlen > ST_MAX_HEADER) {
        gptc_st_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: header length %llu larger than %llu bytes", path,
                         (unsigned long long)hlen, (unsigned long long)ST_MAX_HEADER);
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        gptc_st_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: header JSON invalid at line %d column %d: %s", path, jerr.line,
                         jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        gptc_st_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: header JSON is not an object", path);
    }
    const unsigned char *data = p + 8 + hlen;
    size_t data_size = size - 8 - (size_t)hlen;
    size_t n = json_object_size(root);
    st_range *ranges = NULL;
    if (n) {
        out->tensors = gptc_calloc(ctx, n, sizeof *out->tensors, "safetensors tensor table");
        ranges = gptc_calloc(ctx, n, sizeof *ranges, "safetensors ranges");
        if (!out->tensors || !ranges) {
            s = gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", path);
            goto done;
        }
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if ((s = read_metadata(ctx, path, val, out))) goto done;
            continue;
        }
        gptc_st_tensor *t = &out->tensors[out->n_tensors];
        size_t begin = 0;
        if ((s = parse_entry(ctx, path, key, val, data_size, t, &begin))) goto done;
        size_t len = strlen(key);
        t->name = gptc_alloc(ctx, len + 1, "safetensors tensor name");
        if (!t->name) {
            s = gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", path);
            goto done;
        }
        memcpy(t->name, key, len + 1);
        t->data = data + begin;
        ranges[out->n_tensors] = (st_range){begin, begin + t->nbytes, out->n_tensors};
        out->n_tensors++;
    }
    /* No two tensors may share bytes (empty tensors occupy nothing). */
    if (out->n_tensors) qsort(ranges, out->n_tensors, sizeof *ranges, range_cmp);
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < out->n_tensors; i++) {
        if (ranges[i].begin == ranges[i].end) continue;
        if (prev != SIZE_MAX && ranges[i].begin < ranges[prev].end) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' [%zu, %zu] overlaps tensor '%s' [%zu, %zu]", path,
                          out->tensors[ranges[i].idx].name, ranges[i].begin, ranges[i].end,
                          out->tensors[ranges[prev].idx].name, ranges[prev].begin, ranges[prev].end);
            goto done;
        }
        prev = i;
    }
    s = GPTC_OK;
done:
    gptc_free(ranges);
    json_decref(root);
    if (s) gptc_st_close(out);
    return s;
}

void gptc_st_close(gptc_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) gptc_free(st->tensors[i].name);
    gptc_free(st->tensors);
    for (size_t i = 0; i < st->n_meta; i++) {
        gptc_free(st->meta_keys ? st->meta_keys[i] : NULL);
        gptc_free(st->meta_values ? st->meta_values[i] : NULL);
    }
    gptc_free(st->meta_keys);
    gptc_free(st->meta_values);
    st->meta_keys = st->meta_values = NULL;
    st->n_meta = 0;
    gptc_file_unmap(&st->map);
    st->tensors = NULL;
    st->n_tensors = 0;
}

const char *gptc_st_meta(const gptc_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

const gptc_st_tensor *gptc_st_find(const gptc_safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

void gptc_st_to_f32(const gptc_st_tensor *t, float *dst) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case GPTC_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (t->numel) memcpy(dst, p, t->numel * 4); /* the file is little-endian; may be unaligned */
        break;
#endif
        for (size_t i = 0; i < t->numel; i++) {
            uint32_t b = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                         (uint32_t)p[4 * i + 3] << 24;
            memcpy(&dst[i], &b, 4);
        }
        break;
    case GPTC_F16:
        for (size_t i = 0; i < t->numel; i++) dst[i] = gptc_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case GPTC_BF16:
        for (size_t i = 0; i < t->numel; i++) dst[i] = gptc_bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case GPTC_U8:
        for (size_t i = 0; i < t->numel; i++) dst[i] = p[i];
        break;
    default: /* an ignored buffer in another dtype: it has no float values */
        memset(dst, 0, t->numel * sizeof *dst);
        break;
    }
}

/* ---------------------------------------------------------------- writer */

static gptc_status build_header(gptc_ctx *ctx, const char *path, const gptc_st_entry *entries, size_t n,
                                gptc_dtype dtype, const char *const *metadata, char **out, size_t *out_len) {
    gptc_status s = GPTC_OK;
    json_t *root = json_object();
    if (!root) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory building the header", path);
    int bad = 0;
    if (metadata && metadata[0]) {
        json_t *meta = json_object();
        bad |= json_object_set_new(root, "__metadata__", meta);
        for (size_t i = 0; !bad && metadata[i]; i += 2) {
            if (!metadata[i + 1]) {
                json_decref(root);
                return gptc_fail(ctx, GPTC_EINVAL, "%s: metadata key '%s' has no value", path, metadata[i]);
            }
            bad |= json_object_set_new(meta, metadata[i], json_string(metadata[i + 1]));
        }
    }
    size_t offset = 0;
    for (size_t i = 0; !bad && i < n; i++) {
        const gptc_st_entry *e = &entries[i];
        size_t numel = 1, nbytes, end;
        if (!e->name || !e->name[0] || strcmp(e->name, "__metadata__") == 0) {
            s = gptc_fail(ctx, GPTC_EINVAL, "%s: entry %zu: invalid tensor name", path, i);
            goto fail;
        }
        if (json_object_get(root, e->name)) {
            s = gptc_fail(ctx, GPTC_EINVAL, "%s: tensor '%s' appears twice", path, e->name);
            goto fail;
        }
        if (e->ndim < 0 || e->ndim > GPTC_ST_MAX_DIMS) {
            s = gptc_fail(ctx, GPTC_EINVAL, "%s: tensor '%s': %d dimensions", path, e->name, e->ndim);
            goto fail;
        }
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) {
            if (e->shape[d] < 0 || !gptc_mul_ok(numel, (size_t)e->shape[d], &numel)) {
                json_decref(shape);
                s = gptc_fail(ctx, GPTC_EINVAL, "%s: tensor '%s': invalid shape", path, e->name);
                goto fail;
            }
            bad |= json_array_append_new(shape, json_integer((json_int_t)e->shape[d]));
        }
        gptc_dtype edt = entry_dtype(e, dtype);
        if (!gptc_mul_ok(numel, dtype_size(edt), &nbytes) || !gptc_add_ok(offset, nbytes, &end) ||
            end > (size_t)INT64_MAX) {
            json_decref(shape);
            s = gptc_fail(ctx, GPTC_ERANGE, "%s: tensor '%s': size overflows", path, e->name);
            goto fail;
        }
        if (numel && !e->data && !e->bytes) {
            json_decref(shape);
            s = gptc_fail(ctx, GPTC_EINVAL, "%s: tensor '%s': no data", path, e->name);
            goto fail;
        }
        json_t *ent = json_object(), *offs = json_array();
        bad |= json_object_set_new(ent, "dtype", json_string(dtype_name(edt)));
        bad |= json_object_set_new(ent, "shape", shape);
        bad |= json_array_append_new(offs, json_integer((json_int_t)offset));
        bad |= json_array_append_new(offs, json_integer((json_int_t)end));
        bad |= json_object_set_new(ent, "data_offsets", offs);
        bad |= json_object_set_new(root, e->name, ent);
        offset = end;
    }
    if (bad) {
        s = gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory building the header", path);
        goto fail;
    }
    char *js = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!js) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory writing the header", path);
    /* Pad with spaces (the format allows it) so that the data section starts 64-byte
     * aligned (Hugging Face pads to 8): F32 tensors laid out as the model's parameter
     * buffer can then be mapped as that buffer (model_io.c's zero-copy load). */
    size_t len = strlen(js), padded = ((len + 8 + 63) & ~(size_t)63) - 8;
    char *buf = gptc_alloc(ctx, padded + 8, "safetensors header");
    if (!buf) {
        free(js);
        return gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", path);
    }
    for (int i = 0; i < 8; i++) buf[i] = (char)(((uint64_t)padded >> (8 * i)) & 0xff);
    memcpy(buf + 8, js, len);
    memset(buf + 8 + len, ' ', padded - len);
    free(js);
    *out = buf;
    *out_len = padded + 8;
    return GPTC_OK;
fail:
    json_decref(root);
    return s;
}

gptc_status gptc_st_write(gptc_ctx *ctx, const char *path, const gptc_st_entry *entries, size_t n,
                          gptc_dtype dtype, const char *const *metadata) {
    if (dtype != GPTC_F32 && dtype != GPTC_BF16 && dtype != GPTC_F16)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: cannot write dtype %d", path, (int)dtype);
    char *header = NULL;
    size_t hlen = 0;
    gptc_status s = build_header(ctx, path, entries, n, dtype, metadata, &header, &hlen);
    if (s) return s;
    enum { CHUNK = 1 << 14 };
    unsigned char *buf = gptc_alloc(ctx, CHUNK * 4, "safetensors write buffer");
    if (!buf) {
        gptc_free(header);
        return gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", path);
    }
    gptc_atomic_file af;
    s = gptc_atomic_open(ctx, &af, path);
    if (!s) s = gptc_atomic_write(ctx, &af, header, hlen);
    for (size_t i = 0; !s && i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < entries[i].ndim; d++) numel *= (size_t)entries[i].shape[d];
        const float *src = entries[i].data;
        gptc_dtype edt = entry_dtype(&entries[i], dtype);
        if (edt == GPTC_U8) {
            s = gptc_atomic_write(ctx, &af, entries[i].bytes, numel);
            continue;
        }
        for (size_t j = 0; !s && j < numel; j += CHUNK) {
            size_t k = numel - j < CHUNK ? numel - j : CHUNK;
            for (size_t q = 0; q < k; q++) {
                float f = src[j + q];
                if (edt == GPTC_F32) {
                    uint32_t b;
                    memcpy(&b, &f, 4);
                    for (int z = 0; z < 4; z++) buf[4 * q + z] = (unsigned char)(b >> (8 * z));
                } else {
                    uint16_t h = edt == GPTC_BF16 ? gptc_f32_to_bf16(f) : gptc_f32_to_f16(f);
                    buf[2 * q] = (unsigned char)h;
                    buf[2 * q + 1] = (unsigned char)(h >> 8);
                }
            }
            s = gptc_atomic_write(ctx, &af, buf, k * dtype_size(edt));
        }
    }
    if (!s) s = gptc_atomic_commit(ctx, &af);
    gptc_free(buf);
    gptc_free(header);
    return s;
}
