/* test_safetensors.c: safetensors reader/writer, half-precision conversions (exhaustive,
 * and against PyTorch via tests/ref/st_dtypes.py), broken headers, allocation failures
 * and the fuzz corpus. Model directories are tested in test_model_io.c. */
#define _GNU_SOURCE
#include "harness.h"
#include "core/core.h"
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[512];
static uint64_t rng;

static uint64_t next_u64(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float next_normal(void) {
    double u = ((next_u64() >> 11) + 1.0) / 9007199254740993.0, v = (next_u64() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static void path_in_tmp(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tmp, name); }

/* Writes u64 header length + header + data bytes. hlen_override: when non-zero, the
 * length field written instead of strlen(header). */
static void write_raw(const char *path, const char *header, uint64_t hlen_override, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    uint64_t h = hlen_override ? hlen_override : strlen(header);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(h >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* ---------------------------------------------------------------- conversions */

static double f16_reference(uint16_t h) { /* straight from the IEEE definition */
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void test_conversions(void) {
    int bad = 0, bad_rt = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        float f = gptc_f16_to_f32((uint16_t)i);
        double r = f16_reference((uint16_t)i);
        if (isnan(r) ? !isnan(f) : ((double)f != r || !signbit(f) != !signbit(r))) bad++;
        if (!isnan(f) && gptc_f32_to_f16(f) != i) bad_rt++;
    }
    CHECK("f16_to_f32_exhaustive", bad == 0, "%d of 65536 values differ from the IEEE definition", bad);
    CHECK("f16_roundtrip_exhaustive", bad_rt == 0, "%d values do not round-trip", bad_rt);
    bad = bad_rt = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        float f = gptc_bf16_to_f32((uint16_t)i);
        uint32_t b;
        memcpy(&b, &f, 4);
        if (b != i << 16) bad++;
        if (!isnan(f) && gptc_f32_to_bf16(f) != i) bad_rt++;
    }
    CHECK("bf16_to_f32_exhaustive", bad == 0, "%d values differ", bad);
    CHECK("bf16_roundtrip_exhaustive", bad_rt == 0, "%d values do not round-trip", bad_rt);
    /* hand-checked cases: ties to even, overflow, subnormal boundaries */
    struct { float f; uint16_t h; } f16c[] = {
        {65504.0f, 0x7bff}, {65519.0f, 0x7bff}, {65520.0f, 0x7c00}, {1e10f, 0x7c00}, {-INFINITY, 0xfc00},
        {0x1p-24f, 0x0001}, {0x1p-25f, 0x0000}, {0x1.000002p-25f, 0x0001}, {0x1.8p-24f, 0x0002},
        {0x1.8p-23f, 0x0003}, {1.0f + 0x1p-11f, 0x3c00}, {1.0f + 0x3p-11f, 0x3c02}, {0x1p-14f, 0x0400},
        {0x1.ff8p-15f, 0x03ff}, {0x1.ffap-15f, 0x03ff}, {0x1.ffcp-15f, 0x0400}, {-0.0f, 0x8000},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof f16c / sizeof f16c[0]; i++)
        if (gptc_f32_to_f16(f16c[i].f) != f16c[i].h) {
            printf("  f32_to_f16(%a) = 0x%04x, want 0x%04x\n", (double)f16c[i].f, gptc_f32_to_f16(f16c[i].f),
                   f16c[i].h);
            bad++;
        }
    CHECK("f32_to_f16_cases", bad == 0, "%d cases wrong", bad);
    struct { float f; uint16_t h; } bfc[] = {
        {1.0f + 0x1p-8f, 0x3f80}, {1.0f + 0x3p-8f, 0x3f82}, {0x1.fffffep127f, 0x7f80}, {-0.0f, 0x8000},
        {0x1p-149f, 0x0000}, {0x1p-133f, 0x0001}, {INFINITY, 0x7f80},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof bfc / sizeof bfc[0]; i++) bad += gptc_f32_to_bf16(bfc[i].f) != bfc[i].h;
    CHECK("f32_to_bf16_cases", bad == 0, "%d cases wrong", bad);
    CHECK("nan_stays_nan", isnan(gptc_bf16_to_f32(gptc_f32_to_bf16(NAN))) && isnan(gptc_f16_to_f32(gptc_f32_to_f16(NAN))),
          "NaN lost");
}

/* Files written by PyTorch: all F16/BF16 bit patterns with torch's .float(), and F32
 * values with torch's .half() / .bfloat16(). */
static void test_against_torch(void) {
    char path[600], cmd[1400];
    path_in_tmp(path, sizeof path, "torch_dtypes.safetensors");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/st_dtypes.py dtypes '%s'", path);
    int rc = system(cmd);
    CHECK("torch_reference_written", rc == 0, "%s exited %d (needs python3-torch, run from the repo root)", cmd, rc);
    if (rc) return;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_safetensors st;
    gptc_status s = gptc_st_open(ctx, path, &st);
    CHECK("torch_file_opens", s == GPTC_OK, "%s", gptc_errmsg(ctx));
    if (s) {
        gptc_ctx_free(ctx);
        return;
    }
    const char *pairs[2][2] = {{"f16_all", "f16_all_ref"}, {"bf16_all", "bf16_all_ref"}};
    for (int k = 0; k < 2; k++) {
        const gptc_st_tensor *a = gptc_st_find(&st, pairs[k][0]), *r = gptc_st_find(&st, pairs[k][1]);
        int ok = a && r && a->numel == 65536 && r->numel == 65536 && a->dtype == (k ? GPTC_BF16 : GPTC_F16) &&
                 r->dtype == GPTC_F32;
        int bad = 0;
        if (ok) {
            float *x = malloc(65536 * 4), *y = malloc(65536 * 4);
            gptc_st_to_f32(a, x);
            gptc_st_to_f32(r, y);
            for (int i = 0; i < 65536; i++) {
                uint32_t bx, by;
                memcpy(&bx, &x[i], 4);
                memcpy(&by, &y[i], 4);
                if (isnan(y[i]) ? !isnan(x[i]) : bx != by) bad++;
            }
            free(x);
            free(y);
        }
        CHECK(k ? "bf16_widen_matches_torch" : "f16_widen_matches_torch", ok && bad == 0, "%d of 65536 differ (ok=%d)",
              bad, ok);
    }
    const gptc_st_tensor *x = gptc_st_find(&st, "x"), *xh = gptc_st_find(&st, "x_f16"), *xb = gptc_st_find(&st, "x_bf16");
    int ok = x && xh && xb && x->numel == xh->numel && x->numel == xb->numel;
    int bad_h = 0, bad_b = 0;
    if (ok) {
        float *v = malloc(x->numel * 4);
        gptc_st_to_f32(x, v);
        for (size_t i = 0; i < x->numel; i++) {
            uint16_t th = (uint16_t)(xh->data[2 * i] | xh->data[2 * i + 1] << 8);
            uint16_t tb = (uint16_t)(xb->data[2 * i] | xb->data[2 * i + 1] << 8);
            if (isnan(v[i])) {
                bad_h += !isnan(gptc_f16_to_f32(th)) || !isnan(gptc_f16_to_f32(gptc_f32_to_f16(v[i])));
                bad_b += !isnan(gptc_bf16_to_f32(tb)) || !isnan(gptc_bf16_to_f32(gptc_f32_to_bf16(v[i])));
                continue;
            }
            if (gptc_f32_to_f16(v[i]) != th) {
                if (bad_h < 5) printf("  f16(%a): ours 0x%04x torch 0x%04x\n", (double)v[i], gptc_f32_to_f16(v[i]), th);
                bad_h++;
            }
            if (gptc_f32_to_bf16(v[i]) != tb) {
                if (bad_b < 5) printf("  bf16(%a): ours 0x%04x torch 0x%04x\n", (double)v[i], gptc_f32_to_bf16(v[i]), tb);
                bad_b++;
            }
        }
        free(v);
    }
    CHECK("f32_to_f16_matches_torch", ok && bad_h == 0, "%d values differ", bad_h);
    CHECK("f32_to_bf16_matches_torch", ok && bad_b == 0, "%d values differ", bad_b);
    gptc_st_close(&st);
    gptc_ctx_free(ctx);
}

/* ---------------------------------------------------------------- write / read */

static void test_roundtrip(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    char path[600];
    path_in_tmp(path, sizeof path, "rt.safetensors");
    enum { N = 5 };
    gptc_st_entry e[N];
    float *bufs[N];
    int64_t shapes[N][3] = {{13, 7, 0}, {29, 0, 0}, {3, 5, 11}, {0, 0, 0}, {4, 0, 9}};
    int ndims[N] = {2, 1, 3, 0, 3};
    const char *names[N] = {"b.weight", "a \"quoted\" \\ name", "c.3d", "scalar", "empty"};
    for (int i = 0; i < N; i++) {
        size_t n = 1;
        for (int d = 0; d < ndims[i]; d++) n *= (size_t)shapes[i][d];
        bufs[i] = malloc((n ? n : 1) * 4);
        for (size_t j = 0; j < n; j++) bufs[i][j] = next_normal() * 3;
        if (i == 0) {
            bufs[0][0] = -0.0f;
            bufs[0][1] = INFINITY;
            bufs[0][2] = 1e-40f; /* subnormal */
        }
        e[i] = (gptc_st_entry){names[i], ndims[i], {0}, bufs[i], NULL, 0};
        for (int d = 0; d < ndims[i]; d++) e[i].shape[d] = shapes[i][d];
    }
    const char *meta[] = {"format", "pt", "note", "gptc test", NULL};
    for (int pass = 0; pass < 2; pass++) {
        gptc_dtype dt = pass ? GPTC_BF16 : GPTC_F32;
        gptc_status s = gptc_st_write(ctx, path, e, N, dt, meta);
        CHECK(pass ? "write_bf16" : "write_f32", s == GPTC_OK, "%s", gptc_errmsg(ctx));
        gptc_safetensors st;
        s = gptc_st_open(ctx, path, &st);
        CHECK(pass ? "reopen_bf16" : "reopen_f32", s == GPTC_OK, "%s", gptc_errmsg(ctx));
        if (s) continue;
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = hlen << 8 | st.map.data[i];
        int aligned = hlen % 8 == 0 && st.map.data[8] == '{' && st.map.data[8 + hlen - 1] != 0;
        CHECK("header_padded_to_8", aligned, "header length %llu", (unsigned long long)hlen);
        int ok = st.n_tensors == N, order = 1;
        size_t prev_end = 0;
        for (int i = 0; ok && i < N; i++) {
            const gptc_st_tensor *t = gptc_st_find(&st, names[i]);
            if (!t || t->ndim != ndims[i] || t->dtype != dt) {
                ok = 0;
                break;
            }
            /* entries are laid out in the order given */
            if ((size_t)(t->data - (st.map.data + 8 + hlen)) != prev_end) order = 0;
            prev_end += t->nbytes;
            float *back = malloc((t->numel ? t->numel : 1) * 4);
            gptc_st_to_f32(t, back);
            for (size_t j = 0; j < t->numel; j++) {
                float want = pass ? gptc_bf16_to_f32(gptc_f32_to_bf16(bufs[i][j])) : bufs[i][j];
                if (memcmp(&want, &back[j], 4) != 0) ok = 0;
            }
            free(back);
        }
        CHECK(pass ? "roundtrip_bf16_rounded" : "roundtrip_f32_bit_identical", ok, "values differ after reload");
        CHECK("entries_in_given_order", order, "data offsets not in the given order");
        CHECK("file_size_exact", st.map.size == 8 + hlen + prev_end, "size %zu", st.map.size);
        gptc_st_close(&st);
    }
    /* writer argument errors */
    gptc_st_entry dup[2] = {e[0], e[0]};
    CHECK("write_rejects_duplicate", gptc_st_write(ctx, path, dup, 2, GPTC_F32, NULL) == GPTC_EINVAL &&
                                         strstr(gptc_errmsg(ctx), "b.weight"), "%s", gptc_errmsg(ctx));
    gptc_st_entry neg = e[0];
    neg.shape[0] = -1;
    CHECK("write_rejects_negative_shape", gptc_st_write(ctx, path, &neg, 1, GPTC_F32, NULL) != GPTC_OK, "accepted");
    char tmpname[700];
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
    CHECK("no_temp_file_left", access(tmpname, F_OK) != 0, "%s exists", tmpname);
    for (int i = 0; i < N; i++) free(bufs[i]);
    gptc_ctx_free(ctx);
}

/* ---------------------------------------------------------------- broken files */

typedef struct {
    const char *name, *header;
    uint64_t hlen;       /* 0: strlen(header) */
    size_t data_bytes;
    gptc_status code;
    const char *needle;  /* must appear in the message besides the path */
} broken_case;

static void test_broken(void) {
    static const broken_case cases[] = {
        {"truncated_length", NULL, 0, 0, GPTC_EFORMAT, "too short"},
        {"header_past_eof", "{}", 4096, 0, GPTC_EFORMAT, "past end of file"},
        {"header_json_invalid", "{\"a\": {\"dtype\": \"F32\", ", 0, 0, GPTC_EFORMAT, "line 1"},
        {"header_not_object", "[1, 2]", 0, 0, GPTC_EFORMAT, "not an object"},
        {"entry_not_object", "{\"w\": 3}", 0, 0, GPTC_EFORMAT, "'w'"},
        {"missing_dtype", "{\"w\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 0, 8, GPTC_EFORMAT, "'w'"},
        {"missing_shape", "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 0, 8, GPTC_EFORMAT, "shape"},
        {"missing_offsets", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", 0, 8, GPTC_EFORMAT, "data_offsets"},
        {"unknown_dtype", "{\"w\": {\"dtype\": \"Q4\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 0, 8,
         GPTC_ENOTSUP, "Q4"},
        {"int64_dtype", "{\"pos.ids\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 0, 8,
         GPTC_ENOTSUP, "'pos.ids'.*I64"},
        {"size_mismatch", "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 0, 8,
         GPTC_EFORMAT, "needs 12 bytes"},
        {"f16_size_mismatch", "{\"w\": {\"dtype\": \"F16\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}}", 0, 16,
         GPTC_EFORMAT, "'w'"},
        {"offset_out_of_range", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 0, 8,
         GPTC_EFORMAT, "outside the data section"},
        {"offsets_reversed", "{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 0]}}", 0, 8,
         GPTC_EFORMAT, "before begin"},
        {"offsets_negative", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}", 0, 8,
         GPTC_EFORMAT, "'w'"},
        {"overlap", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 0, 12,
         GPTC_EFORMAT, "overlaps"},
        {"shape_overflow", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], "
                           "\"data_offsets\": [0, 8]}}", 0, 8, GPTC_ERANGE, "overflow"},
        {"bytes_overflow", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], "
                           "\"data_offsets\": [0, 8]}}", 0, 8, GPTC_ERANGE, "overflow"},
        {"negative_dim", "{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 0, 8,
         GPTC_EFORMAT, "shape"},
        {"too_many_dims", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}",
         0, 4, GPTC_ENOTSUP, "dimensions"},
        {"duplicate_name", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                           " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 0, 8,
         GPTC_EFORMAT, "duplicate"},
        {"metadata_not_strings", "{\"__metadata__\": {\"format\": 1}}", 0, 0, GPTC_EFORMAT, "format"},
        {"huge_offset", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], "
                        "\"data_offsets\": [9223372036854775800, 9223372036854775807]}}", 0, 8, GPTC_EFORMAT, "'w'"},
        {"offset_beyond_int64", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], "
                                "\"data_offsets\": [0, 18446744073709551608]}}", 0, 8, GPTC_EFORMAT, "too big"},
    };
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    unsigned char zeros[64] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const broken_case *c = &cases[i];
        char path[600], name[128];
        path_in_tmp(path, sizeof path, c->name);
        if (c->header) {
            write_raw(path, c->header, c->hlen, zeros, c->data_bytes);
        } else {
            FILE *f = fopen(path, "wb");
            fwrite("\x10\0\0", 1, 3, f);
            fclose(f);
        }
        gptc_safetensors st;
        gptc_status s = gptc_st_open(ctx, path, &st);
        const char *msg = gptc_errmsg(ctx);
        int ok = s == c->code && strstr(msg, path) != NULL;
        /* needle may be "A.*B": both parts must appear, in order */
        char nd[128];
        snprintf(nd, sizeof nd, "%s", c->needle);
        char *star = strstr(nd, ".*");
        if (star) {
            *star = 0;
            const char *p = strstr(msg, nd);
            ok = ok && p && strstr(p, star + 2);
        } else {
            ok = ok && strstr(msg, nd);
        }
        snprintf(name, sizeof name, "broken_%s", c->name);
        CHECK(name, ok, "status %d (want %d), message: %s", s, c->code, msg);
        if (s == GPTC_OK) gptc_st_close(&st);
    }
    /* accepted: mask buffers of old GPT-2 checkpoints in any dtype, __metadata__, empty file */
    char path[600];
    path_in_tmp(path, sizeof path, "buffers.safetensors");
    write_raw(path, "{\"__metadata__\": {\"format\": \"pt\"}, \"h.0.attn.bias\": {\"dtype\": \"U8\", \"shape\": [1, 1, 2, 2],"
                    " \"data_offsets\": [0, 4]}, \"h.0.attn.masked_bias\": {\"dtype\": \"F32\", \"shape\": [],"
                    " \"data_offsets\": [4, 8]}, \"w\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [8, 14]}}",
              0, zeros, 14);
    gptc_safetensors st;
    gptc_status s = gptc_st_open(ctx, path, &st);
    CHECK("mask_buffers_accepted", s == GPTC_OK, "%s", gptc_errmsg(ctx));
    if (!s) {
        const gptc_st_tensor *b = gptc_st_find(&st, "h.0.attn.bias"), *mb = gptc_st_find(&st, "h.0.attn.masked_bias");
        /* U8 is read as raw bytes (quantized blocks are stored so) */
        CHECK("mask_buffers_recorded", st.n_tensors == 3 && b && b->dtype == GPTC_U8 && b->numel == 4 && mb &&
                                           mb->dtype == GPTC_F32 && mb->ndim == 0 && mb->numel == 1,
              "n=%zu", st.n_tensors);
        CHECK("metadata_kept", st.n_meta == 1 && gptc_st_meta(&st, "format") && !strcmp(gptc_st_meta(&st, "format"), "pt")
                                   && !gptc_st_meta(&st, "gptc.dtype.w"), "n_meta=%zu", st.n_meta);
        gptc_st_close(&st);
    }
    path_in_tmp(path, sizeof path, "i8_weight.safetensors");
    write_raw(path, "{\"h.0.attn.c_attn.bias\": {\"dtype\": \"I8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 0,
              zeros, 4);
    s = gptc_st_open(ctx, path, &st);
    CHECK("i8_parameter_rejected", s == GPTC_ENOTSUP && strstr(gptc_errmsg(ctx), "h.0.attn.c_attn.bias"), "%s",
          gptc_errmsg(ctx));
    path_in_tmp(path, sizeof path, "missing.safetensors");
    s = gptc_st_open(ctx, path, &st);
    CHECK("missing_file", s == GPTC_EIO && strstr(gptc_errmsg(ctx), path), "%s", gptc_errmsg(ctx));
    gptc_ctx_free(ctx);
}

/* Allocation failures at every step of opening a file: clean error, no leak. */
static void test_alloc_failures(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    char path[600];
    path_in_tmp(path, sizeof path, "rt.safetensors");
    int bad = 0;
    for (long k = 0; k < 12; k++) {
        ctx->fail_alloc_after = k;
        gptc_safetensors st;
        gptc_status s = gptc_st_open(ctx, path, &st);
        if (s == GPTC_OK) gptc_st_close(&st);
        else if (s != GPTC_ENOMEM || !strstr(gptc_errmsg(ctx), path)) bad++;
    }
    ctx->fail_alloc_after = -1;
    CHECK("alloc_failures_clean", bad == 0, "%d failures without a clean ENOMEM naming the file", bad);
    gptc_ctx_free(ctx);
}

/* Every file in the fuzz corpus: no crash, either an error or tensors that convert. */
static void test_corpus(void) {
    const char *dir = "tests/fuzz/corpus_safetensors";
    DIR *d = opendir(dir);
    CHECK("corpus_dir_present", d != NULL, "%s missing (run from the repo root)", dir);
    if (!d) return;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    struct dirent *de;
    int n = 0, opened = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        gptc_safetensors st;
        if (gptc_st_open(ctx, path, &st) == GPTC_OK) {
            for (size_t i = 0; i < st.n_tensors; i++) {
                float *buf = malloc((st.tensors[i].numel ? st.tensors[i].numel : 1) * 4);
                gptc_st_to_f32(&st.tensors[i], buf);
                free(buf);
            }
            gptc_st_close(&st);
            opened++;
        } else if (!strstr(gptc_errmsg(ctx), path)) {
            printf("  %s: message does not name the file: %s\n", path, gptc_errmsg(ctx));
            n = -100000;
        }
        n++;
    }
    closedir(d);
    CHECK("corpus_replayed", n > 0, "%d files (%d opened)", n, opened);
    gptc_ctx_free(ctx);
}

int main(void) {
    rng = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
    if (!rng) rng = 1;
    printf("# seed %llu\n", (unsigned long long)rng);
    const char *base = getenv("GPTC_TEST_TMP");
    snprintf(tmp, sizeof tmp, "%s/st.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        printf("FAIL mkdtemp %s\n", tmp);
        return 1;
    }
    test_conversions();
    test_roundtrip();
    test_broken();
    test_alloc_failures();
    test_corpus();
    test_against_torch();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmp);
    return test_exit();
}
