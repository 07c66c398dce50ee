/* shard.c: token shards: a 64-byte header and uint16/uint32 ids, memory-mapped when
 * read. The layout is documented in train.h and docs/formats.md. */
#include "train.h"
#include <string.h>

static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void wr64(unsigned char *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

gptc_status gptc_shard_open(gptc_ctx *ctx, const char *path, gptc_shard *out) {
    memset(out, 0, sizeof *out);
    gptc_status s = gptc_file_map(ctx, path, &out->map);
    if (s) return s;
    const unsigned char *h = out->map.data;
    if (out->map.size < GPTC_SHARD_HEADER || memcmp(h, GPTC_SHARD_MAGIC, 8) != 0) {
        gptc_shard_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: not a gptc token shard (bad magic or shorter than its header)", path);
    }
    uint32_t version = rd32(h + 8), width = rd32(h + 12);
    uint64_t n = rd64(h + 16);
    if (version != 1) {
        gptc_shard_close(out);
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: shard version %u is not supported (expected 1)", path, version);
    }
    if (width != 2 && width != 4) {
        gptc_shard_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: bytes per token %u (expected 2 or 4)", path, width);
    }
    if (n > (out->map.size - GPTC_SHARD_HEADER) / width || n * width != out->map.size - GPTC_SHARD_HEADER) {
        gptc_shard_close(out);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: header says %llu tokens but the file holds %zu bytes of tokens",
                         path, (unsigned long long)n, out->map.size - GPTC_SHARD_HEADER);
    }
    out->width = (int)width;
    out->n_tokens = (size_t)n;
    out->n_docs = (size_t)rd64(h + 24);
    out->vocab_size = rd32(h + 32);
    out->tokens = h + GPTC_SHARD_HEADER;
    /* every id within the header's vocabulary, so a bad id is reported here with the
     * file and its position rather than later by the forward without either */
    if (out->vocab_size) {
        for (size_t i = 0; i < out->n_tokens; i++) {
            const unsigned char *p = out->tokens + i * width;
            uint32_t id = width == 2 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : rd32(p);
            if (id >= out->vocab_size) {
                uint32_t v = out->vocab_size;
                gptc_shard_close(out);
                return gptc_fail(ctx, GPTC_ERANGE, "%s: token %zu has id %u, outside the vocabulary of %u ids its header gives",
                                 path, i, id, v);
            }
        }
    }
    return GPTC_OK;
}

void gptc_shard_close(gptc_shard *s) {
    gptc_file_unmap(&s->map);
    memset(s, 0, sizeof *s);
}

gptc_status gptc_shard_write(gptc_ctx *ctx, const char *path, const int32_t *ids, size_t n, size_t n_docs,
                             uint32_t vocab_size) {
    int width = vocab_size <= 65536 ? 2 : 4;
    unsigned char h[GPTC_SHARD_HEADER] = {0};
    memcpy(h, GPTC_SHARD_MAGIC, 8);
    wr32(h + 8, 1);
    wr32(h + 12, (uint32_t)width);
    wr64(h + 16, n);
    wr64(h + 24, n_docs);
    wr32(h + 32, vocab_size);
    gptc_atomic_file af;
    gptc_status s = gptc_atomic_open(ctx, &af, path);
    if (s) return s;
    s = gptc_atomic_write(ctx, &af, h, sizeof h);
    unsigned char buf[1 << 16];
    size_t per = sizeof buf / (size_t)width;
    for (size_t i = 0; s == GPTC_OK && i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        for (size_t j = 0; j < k; j++) {
            uint32_t v = (uint32_t)ids[i + j];
            if (width == 2) { buf[2 * j] = (unsigned char)v; buf[2 * j + 1] = (unsigned char)(v >> 8); }
            else wr32(buf + 4 * j, v);
        }
        s = gptc_atomic_write(ctx, &af, buf, k * (size_t)width);
    }
    return s ? s : gptc_atomic_commit(ctx, &af);
}
