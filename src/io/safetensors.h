/* safetensors.h: reader and writer of the safetensors format (Hugging Face):
 *   8 bytes little-endian u64 N | N bytes JSON header | raw tensor data.
 * The header maps names to {"dtype", "shape", "data_offsets": [begin, end]} relative to
 * the data section, plus an optional "__metadata__" object of strings. The reader
 * memory-maps the file and validates every field before anything is indexed. */
#ifndef GPTC_IO_SAFETENSORS_H
#define GPTC_IO_SAFETENSORS_H

#include "file.h"

#define GPTC_ST_MAX_DIMS 8

typedef struct gptc_st_tensor {
    char *name;
    gptc_dtype dtype;
    int ndim;
    int64_t shape[GPTC_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const unsigned char *data; /* into the mapping */
} gptc_st_tensor;

typedef struct gptc_safetensors {
    char path[4096];
    gptc_mapped map;
    gptc_st_tensor *tensors;
    size_t n_tensors;
} gptc_safetensors;

/* Opens and validates path: header length within the file, valid JSON, known dtypes
 * (F32, F16, BF16; others fail with GPTC_ENOTSUP naming the tensor and dtype), shapes
 * whose product matches the byte range, offsets inside the data section and not
 * overlapping. Every error names the file and the tensor. */
gptc_status gptc_st_open(gptc_ctx *ctx, const char *path, gptc_safetensors *out);
void gptc_st_close(gptc_safetensors *st);
/* NULL when absent. */
const gptc_st_tensor *gptc_st_find(const gptc_safetensors *st, const char *name);
/* Converts a tensor's values to float (F16 and BF16 widened exactly). dst has numel. */
void gptc_st_to_f32(const gptc_st_tensor *t, float *dst);

/* Writer: entries are written in the given order with F32 data converted to dtype
 * (F32 or BF16, round-to-nearest-even), atomically. metadata: NULL or pairs
 * {key0, val0, key1, val1, ..., NULL}. */
typedef struct gptc_st_entry {
    const char *name;
    int ndim;
    int64_t shape[GPTC_ST_MAX_DIMS];
    const float *data;
} gptc_st_entry;
gptc_status gptc_st_write(gptc_ctx *ctx, const char *path, const gptc_st_entry *entries, size_t n,
                          gptc_dtype dtype, const char *const *metadata);

/* Old GPT-2 checkpoints' attention-mask buffers ("h.0.attn.bias", "h.0.attn.masked_bias",
 * any prefix): not parameters, accepted in any dtype (recorded with GPTC_DTYPE_COUNT). */
int gptc_st_is_mask_buffer(const char *name);

/* Half-precision conversions. */
float gptc_f16_to_f32(uint16_t h);
float gptc_bf16_to_f32(uint16_t h);
uint16_t gptc_f32_to_bf16(float f);
uint16_t gptc_f32_to_f16(float f);

#endif
