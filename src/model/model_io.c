/* model_io.c: model directories in Hugging Face's layout: config.json +
 * model.safetensors with GPT2LMHeadModel tensor names. Loads F32/F16/BF16, names with
 * or without "transformer.", checks every name and shape; saves F32 or BF16 as
 * transformers' save_pretrained does. The tokenizer files are written by the caller. */
#include "model.h"
#include "../core/core.h"
#include "../kernels/quant.h"
#include "../io/gguf.h"
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The tensor of the file that holds table entry name: the body under the
 * architecture's prefix or without it, heads beside it, and the architecture's other
 * spellings of the name (BERT's LayerNorm.gamma / .beta, Marian's tied names). */
static const gptc_st_tensor *find_tensor(const gptc_arch *a, const gptc_config *c, const gptc_safetensors *st,
                                         const char *name) {
    char alt[128], full[200];
    for (int k = -1; k == -1 || a->alt_name(c, name, k, alt, sizeof alt); k++) {
        const char *cand = k < 0 ? name : alt;
        const gptc_st_tensor *t = NULL;
        if (!a->is_head(cand)) {
            snprintf(full, sizeof full, "%s%s", a->prefix, cand);
            t = gptc_st_find(st, full);
        }
        if (!t) t = gptc_st_find(st, cand);
        if (t) return t;
    }
    return NULL;
}

static int gptc_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static int same_shape(const gptc_st_tensor *t, int ndim, const int64_t *shape) {
    if (t->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

static gptc_status shape_error(gptc_ctx *ctx, const char *path, const gptc_st_tensor *t, int ndim,
                               const int64_t *shape) {
    char want[96], got[200];
    shape_str(want, sizeof want, ndim, shape);
    shape_str(got, sizeof got, t->ndim, t->shape);
    return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' has shape %s, config.json expects %s", path, t->name, got,
                     want);
}

/* The first non-finite value of a tensor as loaded (F32, or the BF16/F16 bits it is kept
 * in), or -1: NaN and Inf weights are an error naming the file and the tensor. */
static long first_nonfinite_f32(const float *x, size_t n) {
    /* by the bits, a chunk at a time (a max the compiler vectorizes), the index after */
    for (size_t c = 0; c < n; c += 4096) {
        size_t k = n - c < 4096 ? n - c : 4096;
        uint32_t mx = 0;
#pragma omp simd reduction(max : mx)
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, x + c + i, 4);
            u &= 0x7fffffffu;
            mx = u > mx ? u : mx;
        }
        if (mx >= 0x7f800000u)
            for (size_t i = 0; i < k; i++)
                if (!isfinite(x[c + i])) return (long)(c + i);
    }
    return -1;
}
static long first_nonfinite_lowp(const uint16_t *x, size_t n, gptc_dtype dt) {
    uint16_t exp = dt == GPTC_BF16 ? 0x7F80 : 0x7C00; /* all exponent bits set: Inf or NaN */
    for (size_t i = 0; i < n; i++)
        if ((x[i] & exp) == exp) return (long)i;
    return -1;
}

/* The block format the file's metadata names for stored tensor name ("gptc.dtype.NAME":
 * "q8_0", "q4_0" or "q4_k"), GPTC_DTYPE_COUNT when none; another value: GPTC_U8. */
static gptc_dtype stored_quant(const gptc_safetensors *st, const char *name) {
    char key[160];
    snprintf(key, sizeof key, "gptc.dtype.%s", name);
    const char *v = gptc_st_meta(st, key);
    if (!v) return GPTC_DTYPE_COUNT;
    gptc_dtype d = gptc_dtype_parse(v);
    return gptc_dtype_is_quant(d) ? d : GPTC_U8;
}

typedef struct file_src {
    const gptc_safetensors *st;
    const gptc_arch *arch;
    const gptc_config *cfg;
} file_src;

static gptc_dtype dtype_from_file(void *user, const gptc_ptensor *pt) {
    const file_src *fs = user;
    const gptc_st_tensor *t = find_tensor(fs->arch, fs->cfg, fs->st, pt->name);
    return t ? stored_quant(fs->st, t->name) : GPTC_DTYPE_COUNT;
}

/* A quantized tensor: U8 [out, row bytes] as the metadata's format lays it out. */
static gptc_status load_quant(gptc_ctx *ctx, gptc_model *m, const gptc_ptensor *pt, const gptc_st_tensor *t,
                              const char *path) {
    int in = gptc_tensor_in(pt), out = gptc_tensor_out(pt);
    size_t rowb = gptc_q_row_bytes(pt->dtype, in);
    if (t->dtype != GPTC_U8 || t->ndim != 2 || t->shape[0] != out || (size_t)t->shape[1] != rowb)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' (%s in the metadata) must be U8 [%d, %zu] (%d rows of "
                                            "%d blocks of %zu bytes)", path, t->name, gptc_dtype_name(pt->dtype), out,
                         rowb, out, in / gptc_q_block_elems(pt->dtype), gptc_q_block_bytes(pt->dtype));
    long r = gptc_model_put_quant(m, (int)(pt - m->tensors), t->data);
    if (r >= 0)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s': row %ld block %ld has a non-finite scale (NaN or Inf)",
                         path, t->name, r, gptc_q_first_bad_block(pt->dtype, t->data + (size_t)r * rowb, in));
    return GPTC_OK;
}

/* Zero-copy loading: when every tensor of m is F32 and the file holds each one as F32
 * exactly at its parameter offset from a 64-byte aligned data section (as gptc_model_save
 * writes a model whose tensor sizes are multiples of 16 floats), with zeros wherever the
 * parameter buffer pads, the buffer can be a private mapping of the file: no copy, and
 * writes (training) copy the page and never reach the file. Little-endian hosts. */
static int params_in_file(const gptc_model *m, const gptc_safetensors *st, size_t *data_start) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (m->n_lowp || m->n_qbytes || !st->map.is_mmap || st->map.size < 8) return 0;
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)st->map.data[i] << (8 * i);
    size_t ds = 8 + (size_t)hl, need;
    if (ds % 64 || !gptc_mul_ok(m->n_params, sizeof(float), &need) || !gptc_add_ok(need, ds, &need) ||
        need > st->map.size)
        return 0;
    const unsigned char *base = st->map.data + ds;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *pt = &m->tensors[i];
        if (pt->kind == GPTC_TK_LORA || pt->dtype != GPTC_F32) return 0;
        const gptc_st_tensor *t = find_tensor(m->arch, &m->cfg, st, pt->name);
        if (!t || t->dtype != GPTC_F32 || t->numel != pt->numel || !same_shape(t, pt->ndim, pt->shape) ||
            t->data != base + pt->offset * sizeof(float))
            return 0;
        /* the buffer's padding after it (offsets follow the table's order) is zero there too */
        size_t next = i + 1 < m->n_tensors ? m->tensors[i + 1].offset : m->n_params;
        for (size_t f = pt->offset + pt->numel; f < next; f++)
            if (memcmp(base + f * sizeof(float), "\0\0\0\0", 4)) return 0;
    }
    *data_start = ds;
    return 1;
#else
    (void)m, (void)st, (void)data_start;
    return 0;
#endif
}

static gptc_status load_tensors(gptc_ctx *ctx, gptc_model *m, const gptc_safetensors *st, const char *path) {
    unsigned char *used = gptc_calloc(ctx, st->n_tensors ? st->n_tensors : 1, 1, "tensor flags");
    if (!used) return GPTC_ENOMEM;
    gptc_status s = GPTC_OK;
    for (size_t i = 0; i < m->n_tensors && !s; i++) {
        const gptc_ptensor *pt = &m->tensors[i];
        const gptc_st_tensor *t = NULL;
        if (pt->kind == GPTC_TK_LORA) continue; /* adapters live in adapter_model.safetensors */
        t = find_tensor(m->arch, &m->cfg, st, pt->name);
        if (!t) {
            int untied = (int)i == m->g.head_w && m->cfg.head == GPTC_HEAD_LM;
            int body = !m->arch->is_head(pt->name);
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' is missing%s%s%s%s", path, pt->name,
                          untied ? " (config.json has tie_word_embeddings false)" : "",
                          body ? " (with or without the \"" : "", body ? m->arch->prefix : "", body ? "\" prefix)" : "");
            break;
        }
        gptc_dtype q = stored_quant(st, t->name);
        if (q == GPTC_U8) {
            char key[160];
            snprintf(key, sizeof key, "gptc.dtype.%s", t->name);
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: metadata %s: '%s' is not q8_0, q4_0 or q4_k", path, key,
                          gptc_st_meta(st, key));
            break;
        }
        if (q != GPTC_DTYPE_COUNT && !gptc_dtype_is_quant(pt->dtype)) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' is %s in the metadata, which %s cannot hold (input size "
                                             "%d: a multiple of %d is needed)", path, t->name, gptc_dtype_name(q),
                          pt->ndim == 2 && pt->kind == GPTC_TK_BASE ? "it" : "this tensor",
                          pt->ndim == 2 ? gptc_tensor_in(pt) : (int)pt->shape[0], gptc_q_block_elems(q));
            break;
        }
        if (gptc_dtype_is_quant(pt->dtype)) {
            if ((s = load_quant(ctx, m, pt, t, path))) break;
            used[t - st->tensors] = 1;
            continue;
        }
        if (t->dtype == GPTC_U8) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' is U8 and the metadata names no block format for it "
                                             "(gptc.dtype.%s)", path, t->name, t->name);
            break;
        }
        if (!same_shape(t, pt->ndim, pt->shape)) {
            s = shape_error(ctx, path, t, pt->ndim, pt->shape);
            break;
        }
        if (t->dtype >= GPTC_DTYPE_COUNT) { /* only mask buffers are recorded so; not reachable by name */
            s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: tensor '%s' has an unsupported dtype", path, t->name);
            break;
        }
        if (pt->dtype == GPTC_F32) {
            if (!m->params_map) gptc_st_to_f32(t, m->params + pt->offset); /* mapped: in place already */
        } else if (t->dtype == pt->dtype) {
            memcpy(m->lowp + pt->offset, t->data, pt->numel * sizeof(uint16_t)); /* kept as stored */
        } else {
            /* stored in another type: round each value to the type it is kept in */
            uint16_t *dst = m->lowp + pt->offset;
            float buf[1024];
            for (size_t j = 0; j < pt->numel; j += 1024) {
                size_t k = pt->numel - j < 1024 ? pt->numel - j : 1024;
                gptc_st_tensor part = *t;
                size_t esz = t->nbytes / (t->numel ? t->numel : 1);
                part.data = t->data + j * esz;
                part.numel = k;
                part.nbytes = k * esz;
                gptc_st_to_f32(&part, buf);
                for (size_t e = 0; e < k; e++)
                    dst[j + e] = pt->dtype == GPTC_BF16 ? gptc_f32_to_bf16(buf[e]) : gptc_f32_to_f16(buf[e]);
            }
        }
        long bad = pt->dtype == GPTC_F32 ? first_nonfinite_f32(m->params + pt->offset, pt->numel)
                                         : first_nonfinite_lowp(m->lowp + pt->offset, pt->numel, pt->dtype);
        if (bad >= 0) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor '%s' holds a non-finite value (NaN or Inf) at element %ld%s", path,
                          t->name, bad, t->dtype == pt->dtype ? "" : " (after conversion to the type it is kept in)");
            break;
        }
        used[t - st->tensors] = 1;
    }
    for (size_t j = 0; j < st->n_tensors && !s; j++) {
        const gptc_st_tensor *t = &st->tensors[j];
        if (used[j] || gptc_st_is_mask_buffer(t->name)) continue;
        int64_t want[2] = {0, 0};
        int skip = m->arch->skippable(m, t->name, want);
        if (skip == 2) {
            int nd = want[1] ? 2 : 1;
            if (!same_shape(t, nd, want)) s = shape_error(ctx, path, t, nd, want);
            continue;
        }
        if (skip) continue;
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: unexpected tensor '%s' (not part of a %s with this config.json)", path,
                      t->name, m->cfg.arch == GPTC_ARCH_BERT ? "BERT" : "GPT-2");
    }
    gptc_free(used);
    return s;
}

gptc_load_params gptc_load_default_params(void) {
    gptc_load_params p;
    memset(&p, 0, sizeof p);
    p.weight_dtype = GPTC_F32;
    return p;
}

gptc_status gptc_model_load(gptc_ctx *ctx, const char *dir, gptc_model **out) {
    gptc_load_params p = gptc_load_default_params();
    return gptc_model_load_with(ctx, dir, &p, out);
}

gptc_status gptc_model_load_with(gptc_ctx *ctx, const char *dir, const gptc_load_params *p, gptc_model **out) {
    *out = NULL;
    if (!gptc_is_dir(dir) && gptc_gguf_is_file(dir)) return gptc_model_load_gguf(ctx, dir, p, out);
    char cpath[4096], wpath[4096];
    gptc_status s;
    if ((s = gptc_path_join(ctx, cpath, sizeof cpath, dir, "config.json")) ||
        (s = gptc_path_join(ctx, wpath, sizeof wpath, dir, "model.safetensors")))
        return s;
    gptc_config cfg;
    if ((s = gptc_config_load_json(ctx, cpath, &cfg))) return s;
    gptc_safetensors st;
    if ((s = gptc_st_open(ctx, wpath, &st))) return s;
    /* the embedding's shape against config.json before any memory is touched: a config
     * whose vocab_size or n_embd disagrees with the file must not allocate for it first */
    const gptc_st_tensor *wte = find_tensor(gptc_arch_for(&cfg), &cfg, &st, gptc_arch_for(&cfg)->wte_name);
    int64_t wte_shape[2] = {cfg.vocab_size, cfg.n_embd};
    if (wte && stored_quant(&st, wte->name) == GPTC_DTYPE_COUNT && !same_shape(wte, 2, wte_shape)) {
        s = shape_error(ctx, wpath, wte, 2, wte_shape);
        gptc_st_close(&st);
        return s;
    }
    gptc_model *m = NULL;
    file_src fs = {&st, gptc_arch_for(&cfg), &cfg};
    s = gptc_model_alloc_table(ctx, &cfg, p->weight_dtype, dtype_from_file, &fs, &m);
    size_t ds;
    if (s) {
        gptc_fail_prefix(ctx, s, "%s", cpath);
    } else {
        if (params_in_file(m, &st, &ds)) {
            void *map;
            size_t len;
            if (gptc_file_map_private(NULL, wpath, &map, &len) == GPTC_OK) { /* else: the copy */
                if (len == st.map.size) {
                    m->params = (float *)((unsigned char *)map + ds);
                    m->params_map = map;
                    m->params_map_len = len;
                } else {
                    gptc_file_unmap_private(map, len); /* the file changed under us: copy */
                }
            }
        }
        if (!m->params) s = gptc_model_alloc_params(ctx, m);
        if (!s) s = load_tensors(ctx, m, &st, wpath);
    }
    gptc_st_close(&st);
    /* a directory written from a LoRA fine-tune carries its adapter beside the base */
    char apath[4096];
    if (!s && !(s = gptc_path_join(ctx, apath, sizeof apath, dir, "adapter_config.json")) && gptc_file_exists(apath)) {
        if (m->wdtype != GPTC_F32)
            s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: a LoRA adapter needs the model loaded as F32 (merge it first with "
                                             "gptc merge-lora)", apath);
        else s = gptc_model_lora_load(ctx, m, dir);
    }
    if (s) {
        gptc_model_free(m);
        return s;
    }
    *out = m;
    return GPTC_OK;
}

gptc_status gptc_model_save(gptc_ctx *ctx, const gptc_model *m, const char *dir, gptc_dtype dtype) {
    if (dtype != GPTC_F32 && dtype != GPTC_BF16)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: models are saved as F32 or BF16", dir);
    if (m->wdtype != GPTC_F32)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: a model loaded to keep low-precision weights is for inference; "
                                           "load it as F32 to save it", dir);
    char cpath[4096], wpath[4096];
    gptc_status s;
    if ((s = gptc_mkdirs(ctx, dir)) || (s = gptc_path_join(ctx, cpath, sizeof cpath, dir, "config.json")) ||
        (s = gptc_path_join(ctx, wpath, sizeof wpath, dir, "model.safetensors")))
        return s;
    gptc_st_entry *e = gptc_calloc(ctx, m->n_tensors ? m->n_tensors : 1, sizeof *e, "safetensors entries");
    char (*names)[80] = gptc_calloc(ctx, m->n_tensors ? m->n_tensors : 1, sizeof *names, "tensor names");
    if (!e || !names) {
        gptc_free(e);
        gptc_free(names);
        return GPTC_ENOMEM;
    }
    /* As transformers' save_pretrained: body under "transformer." ("bert."), a tied
     * head (lm_head.weight, cls.predictions.decoder.*) left out. */
    size_t n = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *pt = &m->tensors[i];
        if (pt->kind == GPTC_TK_LORA) continue; /* gptc_model_lora_save writes those */
        snprintf(names[n], sizeof names[n], "%s%s", m->arch->is_head(pt->name) ? "" : m->arch->prefix, pt->name);
        e[n].name = names[n];
        e[n].ndim = pt->ndim;
        for (int d = 0; d < pt->ndim; d++) e[n].shape[d] = pt->shape[d];
        e[n].data = m->params + pt->offset;
        n++;
    }
    static const char *const meta[] = {"format", "pt", NULL};
    s = gptc_st_write(ctx, wpath, e, n, dtype, meta);
    gptc_free(e);
    gptc_free(names);
    if (s) return s;
    return gptc_model_save_configs(ctx, m, dir);
}

gptc_status gptc_model_save_configs(gptc_ctx *ctx, const gptc_model *m, const char *dir) {
    char cpath[4096];
    gptc_status s;
    if ((s = gptc_path_join(ctx, cpath, sizeof cpath, dir, "config.json"))) return s;
    if ((s = gptc_config_save_json(ctx, &m->cfg, cpath))) return s;
    /* generation defaults as transformers' save_pretrained writes them (the token ids);
     * a generation_config.json already in dir (the user's settings) is kept */
    if (m->cfg.arch == GPTC_ARCH_BERT) return GPTC_OK; /* an encoder: nothing to generate */
    char gpath[4096];
    if ((s = gptc_path_join(ctx, gpath, sizeof gpath, dir, "generation_config.json"))) return s;
    if (gptc_file_exists(gpath)) return GPTC_OK;
    char text[160];
    int len = snprintf(text, sizeof text, "{\n  \"_from_model_config\": true");
    if (m->cfg.bos_token_id >= 0)
        len += snprintf(text + len, sizeof text - (size_t)len, ",\n  \"bos_token_id\": %d", m->cfg.bos_token_id);
    if (m->cfg.eos_token_id >= 0)
        len += snprintf(text + len, sizeof text - (size_t)len, ",\n  \"eos_token_id\": %d", m->cfg.eos_token_id);
    snprintf(text + len, sizeof text - (size_t)len, "\n}\n");
    gptc_iovec part = {text, strlen(text)};
    return gptc_file_write_atomic(ctx, gpath, &part, 1);
}
