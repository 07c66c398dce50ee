/* gguf.h: GGUF v3, llama.cpp's model file (ggml's gguf.h documents it; gguf-py writes
 * it). Layout, little-endian:
 *   "GGUF" | u32 version (2 or 3 read, 3 written) | u64 n_tensors | u64 n_kv
 *   n_kv x (string key | u32 type | value)   string = u64 length + bytes (no NUL)
 *      types 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string,
 *      9 array (u32 element type + u64 count + elements), 10 u64, 11 i64, 12 f64
 *   n_tensors x (string name | u32 n_dims (<= 4) | u64 ne[n_dims] (ne[0] contiguous) |
 *      u32 ggml type | u64 offset into the data section, a multiple of the alignment)
 *   padding to general.alignment (default 32) | data section
 * The reader maps the file and checks every length, count and offset against its size
 * before anything is indexed; every error names the file and the key or tensor.
 * Internal (io/). */
#ifndef GPTC_IO_GGUF_H
#define GPTC_IO_GGUF_H

#include "../core/core.h"

enum {
    GGUF_U8 = 0, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY,
    GGUF_U64, GGUF_I64, GGUF_F64, GGUF_TYPE_COUNT
};
/* ggml tensor types gptc reads and writes */
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q8_0 = 8, GGML_Q4_K = 12 };

typedef struct gptc_gguf_kv {
    char *key;
    uint32_t type;       /* GGUF_* */
    uint32_t elem_type;  /* arrays: the element type */
    uint64_t n;          /* arrays: element count; else 1 */
    const unsigned char *val; /* into the mapping: the value (arrays: the first element) */
} gptc_gguf_kv;

typedef struct gptc_gguf_tensor {
    char *name;
    uint32_t n_dims, type;
    uint64_t ne[4];      /* unused dims 1 */
    uint64_t offset;
    size_t nbytes;
    const unsigned char *data;
} gptc_gguf_tensor;

typedef struct gptc_gguf {
    char path[4096];
    gptc_mapped map;
    uint32_t version;
    size_t alignment;
    gptc_gguf_kv *kv;
    size_t n_kv;
    gptc_gguf_tensor *tensors;
    size_t n_tensors;
} gptc_gguf;

/* 1 when the file at path starts with the GGUF magic. */
int gptc_gguf_is_file(const char *path);
gptc_status gptc_gguf_open(gptc_ctx *ctx, const char *path, gptc_gguf *out);
void gptc_gguf_close(gptc_gguf *g);
const gptc_gguf_kv *gptc_gguf_find(const gptc_gguf *g, const char *key);
const gptc_gguf_tensor *gptc_gguf_tensor_find(const gptc_gguf *g, const char *name);
/* Scalar values (any integer type that fits; f32/f64 for get_f32); fail naming the key
 * when absent or of another type. */
gptc_status gptc_gguf_get_u32(gptc_ctx *ctx, const gptc_gguf *g, const char *key, uint32_t *out);
gptc_status gptc_gguf_get_f32(gptc_ctx *ctx, const gptc_gguf *g, const char *key, float *out);
/* String value, or element i of a string array: pointer into the mapping + length. */
gptc_status gptc_gguf_get_str(gptc_ctx *ctx, const gptc_gguf *g, const char *key, const char **s, size_t *len);
/* Bytes of a ggml type for n elements (n a multiple of its block); 0 for unknown types. */
size_t gptc_ggml_nbytes(uint32_t type, uint64_t n, int *ok);

/* Writer: keys and tensors in the order added, written atomically. Strings are copied;
 * tensor data is not (it must live until gptc_gguf_w_write). Errors stick: the first
 * one is reported by write. */
typedef struct gptc_gguf_w gptc_gguf_w;
gptc_gguf_w *gptc_gguf_w_new(gptc_ctx *ctx);
void gptc_gguf_w_free(gptc_gguf_w *w);
void gptc_gguf_w_str(gptc_gguf_w *w, const char *key, const char *val);
void gptc_gguf_w_u32(gptc_gguf_w *w, const char *key, uint32_t val);
void gptc_gguf_w_f32(gptc_gguf_w *w, const char *key, float val);
void gptc_gguf_w_bool(gptc_gguf_w *w, const char *key, int val);
/* string array: n strings, string i at s[i] with len[i] bytes */
void gptc_gguf_w_str_array(gptc_gguf_w *w, const char *key, const char *const *s, const size_t *len, size_t n);
void gptc_gguf_w_i32_array(gptc_gguf_w *w, const char *key, const int32_t *v, size_t n);
/* ne[0] is the contiguous dimension; nbytes must be gptc_ggml_nbytes(type, prod ne) */
void gptc_gguf_w_tensor(gptc_gguf_w *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                        const void *data, size_t nbytes);
gptc_status gptc_gguf_w_write(gptc_ctx *ctx, gptc_gguf_w *w, const char *path);

#endif
