/* test_gguf.c: GGUF files. The writer's keys of every type and tensors read back by the
 * reader; a model exported as f32, f16 and q8_0 parsed back with every key and tensor
 * checked (hyperparameters, the tokenizer arrays with padding ids, tensor names, ne,
 * types, and data: f32 rows transposed from Conv1D, f16 rounded to nearest even, q8_0
 * blocks equal to gptc's quantizer on the same rows); a GGUF file read as a model gives
 * the logits of the model it came from bit for bit (f32; q8_0 against the q8_0 model
 * directory). Broken files: every truncation of a real export, and mutated counts,
 * lengths, dims, types, offsets and keys, fail with a message naming the file. */
#include "harness.h"
#include "gptc.h"
#include "io/gguf.h"
#include "kernels/quant.h"
#include "model/model.h"
#include "text/pretok.h"
#include <stdint.h>
#include <unistd.h>

static char tmp[256];
static char *path_of(const char *name) {
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmp, name);
    return p[k];
}
static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(d, 1, n, f);
    fclose(f);
}
static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* A byte-level BPE: the 256 byte tokens in GPT-2's order of ids, merges "Ġ t" and
 * "h e", and <|endoftext|> (id 258), as vocab.json + merges.txt in dir. */
static void write_tokenizer(const char *dir) {
    char p[600];
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "{");
    for (int b = 0; b < 256; b++) {
        unsigned char u[8];
        int cp = gptc_byte_to_cp((unsigned char)b);
        size_t n = cp < 0x80 ? (u[0] = (unsigned char)cp, 1)
                             : (u[0] = (unsigned char)(0xC0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 63)), 2);
        fprintf(f, "%s\"", b ? ", " : "");
        if (cp == '"' || cp == '\\') fputc('\\', f);
        fwrite(u, 1, n, f);
        fprintf(f, "\": %d", b);
    }
    fprintf(f, ", \"\xc4\xa0t\": 256, \"he\": 257, \"<|endoftext|>\": 258}");
    fclose(f);
    snprintf(p, sizeof p, "%s/merges.txt", dir);
    f = fopen(p, "w");
    fprintf(f, "#version: 0.2\n\xc4\xa0 t\nh e\n");
    fclose(f);
}

static void test_writer_reader(gptc_ctx *ctx) {
    gptc_gguf_w *w = gptc_gguf_w_new(ctx);
    const char *ss[3] = {"a", "", "\xea\xb0\x80 b"};
    size_t sl[3] = {1, 0, 5};
    int32_t iv[4] = {1, -2, 3, 2147483647};
    float data[64 + 7];
    for (int i = 0; i < 71; i++) data[i] = (float)i * 0.25f - 3;
    gptc_gguf_w_str(w, "s", "hello");
    gptc_gguf_w_u32(w, "u", 4000000000u);
    gptc_gguf_w_f32(w, "f", 1.5e-5f);
    gptc_gguf_w_bool(w, "b", 1);
    gptc_gguf_w_str_array(w, "sa", ss, sl, 3);
    gptc_gguf_w_i32_array(w, "ia", iv, 4);
    uint64_t ne1[1] = {7}, ne2[2] = {32, 2};
    gptc_gguf_w_tensor(w, "t7", 1, ne1, GGML_F32, data, 28);
    gptc_gguf_w_tensor(w, "t64", 2, ne2, GGML_F32, data + 7, 256);
    gptc_status s = gptc_gguf_w_write(ctx, w, path_of("kv.gguf"));
    gptc_gguf_w_free(w);
    gptc_gguf g;
    if (s || gptc_gguf_open(ctx, path_of("kv.gguf"), &g)) {
        CHECK("writer output parses", 0, "%s", gptc_errmsg(ctx));
        return;
    }
    const char *str;
    size_t len;
    uint32_t u;
    float fv;
    CHECK("string key", !gptc_gguf_get_str(ctx, &g, "s", &str, &len) && len == 5 && !memcmp(str, "hello", 5), "%s",
          gptc_errmsg(ctx));
    CHECK("u32 key", !gptc_gguf_get_u32(ctx, &g, "u", &u) && u == 4000000000u, "%u", u);
    CHECK("f32 key", !gptc_gguf_get_f32(ctx, &g, "f", &fv) && fv == 1.5e-5f, "%g", fv);
    const gptc_gguf_kv *b = gptc_gguf_find(&g, "b"), *sa = gptc_gguf_find(&g, "sa"), *ia = gptc_gguf_find(&g, "ia");
    CHECK("bool key", b && b->type == GGUF_BOOL && b->val[0] == 1, "bool");
    CHECK("string array", sa && sa->type == GGUF_ARRAY && sa->elem_type == GGUF_STRING && sa->n == 3 &&
                              sa->val[0] == 1 && sa->val[8] == 'a' && sa->val[9] == 0 && sa->val[17] == 5,
          "array");
    int32_t back[4];
    if (ia) memcpy(back, ia->val, 16);
    CHECK("i32 array", ia && ia->elem_type == GGUF_I32 && ia->n == 4 && !memcmp(back, iv, 16), "array");
    const gptc_gguf_tensor *t7 = gptc_gguf_tensor_find(&g, "t7"), *t64 = gptc_gguf_tensor_find(&g, "t64");
    CHECK("tensors: dims, types, aligned offsets, data",
          t7 && t64 && t7->n_dims == 1 && t7->ne[0] == 7 && t64->n_dims == 2 && t64->ne[0] == 32 && t64->ne[1] == 2 &&
              t7->offset == 0 && t64->offset == 32 && !memcmp(t7->data, data, 28) && !memcmp(t64->data, data + 7, 256) &&
              g.version == 3 && g.n_kv == 6 && g.n_tensors == 2,
          "tensor infos");
    gptc_gguf_close(&g);
}

static gptc_config tiny_config(void) {
    gptc_config c = gptc_config_default();
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 64;
    c.n_positions = 16;
    c.vocab_size = 261; /* 2 ids past the tokenizer's 259: [PAD259], [PAD260] */
    c.n_inner = 96;
    c.bos_token_id = c.eos_token_id = 258;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0;
    return c;
}

static void logits_of(gptc_ctx *ctx, const gptc_model *m, float *out, size_t n) {
    gptc_workspace *ws;
    int32_t tok[12] = {1, 5, 258, 77, 256, 257, 3, 9, 100, 200, 250, 260};
    if (gptc_workspace_new(ctx, m, 1, 12, 0, &ws) || gptc_forward(ctx, ws, tok, NULL, 1, 12, NULL)) {
        for (size_t i = 0; i < n; i++) out[i] = NAN;
        return;
    }
    memcpy(out, gptc_workspace_logits(ws), n * sizeof(float));
    gptc_workspace_free(ws);
}

/* row-major [out, in] f32 rows of model tensor `name` (Conv1D weights transposed) */
static float *rows_of(gptc_model *m, const char *name, int *in, int *out) {
    for (size_t i = 0; i < gptc_model_n_tensors(m); i++) {
        gptc_tensor_info ti;
        gptc_model_tensor(m, i, &ti);
        if (strcmp(ti.name, name)) continue;
        int conv = strstr(name, ".c_") != NULL;
        int r = (int)(ti.ndim == 1 ? 1 : conv ? ti.shape[1] : ti.shape[0]);
        int c = (int)(ti.ndim == 1 ? ti.shape[0] : conv ? ti.shape[0] : ti.shape[1]);
        float *x = malloc(sizeof(float) * ti.numel);
        for (int v = 0; v < r; v++)
            for (int k = 0; k < c; k++) x[(size_t)v * c + k] = conv ? ti.data[(size_t)k * r + v] : ti.data[(size_t)v * c + k];
        *in = c;
        *out = r;
        return x;
    }
    return NULL;
}

static const char *const hf_of[][2] = {
    {"token_embd.weight", "wte.weight"}, {"position_embd.weight", "wpe.weight"}, {"output_norm.weight", "ln_f.weight"},
    {"output_norm.bias", "ln_f.bias"}, {"output.weight", "wte.weight"}};
static const char *const blk_of[][2] = {
    {"attn_norm.weight", "ln_1.weight"}, {"attn_norm.bias", "ln_1.bias"}, {"attn_qkv.weight", "attn.c_attn.weight"},
    {"attn_qkv.bias", "attn.c_attn.bias"}, {"attn_output.weight", "attn.c_proj.weight"},
    {"attn_output.bias", "attn.c_proj.bias"}, {"ffn_norm.weight", "ln_2.weight"}, {"ffn_norm.bias", "ln_2.bias"},
    {"ffn_up.weight", "mlp.c_fc.weight"}, {"ffn_up.bias", "mlp.c_fc.bias"}, {"ffn_down.weight", "mlp.c_proj.weight"},
    {"ffn_down.bias", "mlp.c_proj.bias"}};

/* every key and tensor of an export in type t */
static void check_export(gptc_ctx *ctx, gptc_model *m, const char *path, gptc_dtype t) {
    char name[200];
    gptc_gguf g;
    if (gptc_gguf_open(ctx, path, &g)) {
        CHECK("export parses", 0, "%s", gptc_errmsg(ctx));
        return;
    }
    const char *s;
    size_t n;
    uint32_t u[8];
    float eps;
    int ok = !gptc_gguf_get_str(ctx, &g, "general.architecture", &s, &n) && n == 4 && !memcmp(s, "gpt2", 4) &&
             !gptc_gguf_get_u32(ctx, &g, "gpt2.context_length", &u[0]) && u[0] == 16 &&
             !gptc_gguf_get_u32(ctx, &g, "gpt2.embedding_length", &u[1]) && u[1] == 64 &&
             !gptc_gguf_get_u32(ctx, &g, "gpt2.feed_forward_length", &u[2]) && u[2] == 96 &&
             !gptc_gguf_get_u32(ctx, &g, "gpt2.block_count", &u[3]) && u[3] == 2 &&
             !gptc_gguf_get_u32(ctx, &g, "gpt2.attention.head_count", &u[4]) && u[4] == 2 &&
             !gptc_gguf_get_f32(ctx, &g, "gpt2.attention.layer_norm_epsilon", &eps) && eps == 1e-5f &&
             !gptc_gguf_get_u32(ctx, &g, "general.file_type", &u[5]) &&
             u[5] == (t == GPTC_F32 ? 0u : t == GPTC_F16 ? 1u : 7u) &&
             !gptc_gguf_get_str(ctx, &g, "tokenizer.ggml.model", &s, &n) && n == 4 && !memcmp(s, "gpt2", 4) &&
             !gptc_gguf_get_u32(ctx, &g, "tokenizer.ggml.bos_token_id", &u[6]) && u[6] == 258 &&
             !gptc_gguf_get_u32(ctx, &g, "tokenizer.ggml.eos_token_id", &u[7]) && u[7] == 258;
    const gptc_gguf_kv *ab = gptc_gguf_find(&g, "tokenizer.ggml.add_bos_token");
    ok = ok && ab && ab->type == GGUF_BOOL && ab->val[0] == 0;
    snprintf(name, sizeof name, "export %s: hyperparameters, file type, tokenizer model, bos/eos, add_bos false",
             gptc_dtype_name(t));
    CHECK(name, ok, "%s", gptc_errmsg(ctx));
    /* tokens: 256 bytes spelled, "Ġt", "he", "<|endoftext|>", [PAD259], [PAD260]; types */
    const gptc_gguf_kv *tk = gptc_gguf_find(&g, "tokenizer.ggml.tokens"), *tt = gptc_gguf_find(&g, "tokenizer.ggml.token_type"),
                       *mg = gptc_gguf_find(&g, "tokenizer.ggml.merges");
    ok = tk && tt && mg && tk->n == 261 && tt->n == 261 && tt->elem_type == GGUF_I32 && mg->n == 2;
    if (ok) {
        const unsigned char *p = tk->val;
        for (int id = 0; id < 261 && ok; id++) {
            uint64_t l;
            memcpy(&l, p, 8);
            char want[32];
            size_t wl;
            if (id < 256) {
                int cp = gptc_byte_to_cp((unsigned char)id);
                wl = cp < 0x80 ? (want[0] = (char)cp, 1) : (want[0] = (char)(0xC0 | cp >> 6), want[1] = (char)(0x80 | (cp & 63)), 2);
            } else {
                const char *w = id == 256 ? "\xc4\xa0t" : id == 257 ? "he" : id == 258 ? "<|endoftext|>" : id == 259 ? "[PAD259]" : "[PAD260]";
                wl = strlen(w);
                memcpy(want, w, wl);
            }
            int32_t type;
            memcpy(&type, tt->val + 4 * id, 4);
            int wt = id < 258 ? 1 : id == 258 ? 3 : 5;
            ok = l == wl && !memcmp(p + 8, want, wl) && type == wt;
            if (!ok) printf("# token %d: got %.*s (type %d)\n", id, (int)l, p + 8, type);
            p += 8 + l;
        }
        uint64_t l;
        memcpy(&l, mg->val, 8);
        ok = ok && l == 4 && !memcmp(mg->val + 8, "\xc4\xa0 t", 4);
    }
    snprintf(name, sizeof name, "export %s: 261 tokens (2 padding ids, unused), token types, merges", gptc_dtype_name(t));
    CHECK(name, ok, "tokenizer arrays");
    /* tensors */
    int n_ok = 0, n_want = 5 + 12 * 2;
    for (int k = 0; k < n_want; k++) {
        char gn[64], hn[64];
        if (k < 5) {
            snprintf(gn, sizeof gn, "%s", hf_of[k][0]);
            snprintf(hn, sizeof hn, "%s", hf_of[k][1]);
        } else {
            int l = (k - 5) / 12, j = (k - 5) % 12;
            snprintf(gn, sizeof gn, "blk.%d.%s", l, blk_of[j][0]);
            snprintf(hn, sizeof hn, "h.%d.%s", l, blk_of[j][1]);
        }
        const gptc_gguf_tensor *gt = gptc_gguf_tensor_find(&g, gn);
        int in, out;
        float *x = rows_of(m, hn, &in, &out);
        int two = strstr(hn, ".weight") && !strstr(hn, "ln_");
        gptc_dtype want = !two || !strcmp(hn, "wpe.weight") ? GPTC_F32 : t;
        uint32_t wt = want == GPTC_F32 ? GGML_F32 : want == GPTC_F16 ? GGML_F16 : GGML_Q8_0;
        int good = gt && x && gt->n_dims == (uint32_t)(two ? 2 : 1) && gt->ne[0] == (uint64_t)in &&
                   gt->ne[1] == (uint64_t)out && gt->type == wt;
        size_t numel = (size_t)in * out;
        if (good && wt == GGML_F32) good = !memcmp(gt->data, x, numel * 4);
        if (good && wt == GGML_F16)
            for (size_t e = 0; e < numel && good; e++) good = gptc_q_f16(gt->data + 2 * e) == gptc_f16_to_f32(gptc_f32_to_f16(x[e]));
        if (good && wt == GGML_Q8_0) {
            unsigned char *q = malloc(gptc_q_row_bytes(GPTC_Q8_0, in) * out);
            for (int v = 0; v < out; v++) gptc_q_quantize_row(GPTC_Q8_0, x + (size_t)v * in, q + (size_t)v * gptc_q_row_bytes(GPTC_Q8_0, in), in);
            good = !memcmp(q, gt->data, gptc_q_row_bytes(GPTC_Q8_0, in) * out);
            free(q);
        }
        if (!good) printf("# tensor %s (%s) differs\n", gn, hn);
        n_ok += good;
        free(x);
    }
    snprintf(name, sizeof name, "export %s: all %d tensors: names, ne {in, out}, types, data", gptc_dtype_name(t), n_want);
    CHECK(name, n_ok == n_want && g.n_tensors == (size_t)n_want, "%d of %d right, %zu in the file", n_ok, n_want, g.n_tensors);
    gptc_gguf_close(&g);
}

static void expect_bad(gptc_ctx *ctx, const char *name, const unsigned char *d, size_t n, const char *want) {
    const char *p = path_of("bad.gguf");
    write_file(p, d, n);
    gptc_gguf g;
    gptc_status s = gptc_gguf_open(ctx, p, &g);
    if (!s) gptc_gguf_close(&g);
    gptc_model *m = NULL;
    gptc_status s2 = s ? s : gptc_model_load(ctx, p, &m);
    gptc_model_free(m);
    CHECK(name, s2 != GPTC_OK && strstr(gptc_errmsg(ctx), p) && (!want || strstr(gptc_errmsg(ctx), want)), "status %d: %s",
          (int)s2, gptc_errmsg(ctx));
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* every q4_0 matrix of a loaded model carries its block scales side by side, as
 * gptc_q_scales copies them (gptc_wdesc.scales: AVX2's batch-1 product reads them), where
 * gptc_q_has_scales says so, and none carries them elsewhere (AVX-512, scalar) */
static int scales_indexed(const gptc_model *m) {
    int n = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i];
        if (t->dtype != GPTC_Q4_0) continue;
        gptc_wdesc w = gptc_weight(m, (int)i);
        if (!gptc_q_has_scales(GPTC_Q4_0)) {
            if (w.scales) return -1;
            n++;
            continue;
        }
        size_t nb = (size_t)(w.in / 32) * w.out;
        uint16_t *want = malloc(nb * sizeof *want);
        gptc_q_scales(w.dtype, w.data, w.in, w.out, want);
        int ok = w.scales && !memcmp(w.scales, want, nb * sizeof *want);
        free(want);
        if (!ok) return -1;
        n++;
    }
    return n;
}

static void test_broken(gptc_ctx *ctx, const char *good_path) {
    size_t n;
    unsigned char *b = read_all(good_path, &n), *c = malloc(n + 64);
    /* every truncation up to 600 bytes, then every 997th */
    int bad = 0;
    for (size_t k = 0; k < n; k += k < 600 ? 1 : 997) {
        const char *p = path_of("trunc.gguf");
        write_file(p, b, k);
        gptc_model *m = NULL;
        gptc_status s = gptc_model_load(ctx, p, &m);
        gptc_model_free(m);
        if (s == GPTC_OK || !strstr(gptc_errmsg(ctx), p)) {
            if (!bad++) printf("# truncated at %zu: status %d: %s\n", k, (int)s, gptc_errmsg(ctx));
        }
    }
    CHECK("every truncation of an export fails naming the file", bad == 0, "%d loaded or unnamed", bad);
    memcpy(c, b, n);
    c[0] = 'X';
    expect_bad(ctx, "bad magic", c, n, "magic");
    memcpy(c, b, n);
    c[4] = 4;
    expect_bad(ctx, "version 4", c, n, "version 4");
    memcpy(c, b, n);
    put64(c + 16, (uint64_t)1 << 40);
    expect_bad(ctx, "huge key count", c, n, "implausible");
    memcpy(c, b, n);
    put64(c + 24, (uint64_t)1 << 62);
    expect_bad(ctx, "first key's length past the end", c, n, "past the end");
    /* a hand-made file: no keys, one tensor "x" */
    unsigned char h[128] = {0};
    memcpy(h, "GGUF", 4);
    h[4] = 3;
    put64(h + 8, 1);
    put64(h + 16, 0);
    put64(h + 24, 1);
    h[32] = 'x';
    h[33] = 1;                 /* n_dims */
    put64(h + 37, 32);         /* ne0 */
    h[45] = 0;                 /* type f32 */
    put64(h + 49, 0);          /* offset */
    size_t hn = 64 + 128;      /* header 57 bytes, data at 64 */
    unsigned char *f = calloc(1, hn);
    memcpy(f, h, 57);
    {
        const char *p = path_of("one.gguf");
        write_file(p, f, hn);
        gptc_gguf g;
        gptc_status s = gptc_gguf_open(ctx, p, &g);
        CHECK("hand-made one-tensor file parses", !s && g.n_tensors == 1 && g.tensors[0].nbytes == 128, "%s", gptc_errmsg(ctx));
        if (!s) gptc_gguf_close(&g);
        expect_bad(ctx, "a file without general.architecture is not a model", f, hn, "general.architecture");
    }
    unsigned char *e = malloc(hn);
    memcpy(e, f, hn); e[33] = 5;
    expect_bad(ctx, "5 dimensions", e, hn, "5 dimensions");
    memcpy(e, f, hn); e[45] = 99;
    expect_bad(ctx, "unknown ggml type", e, hn, "ggml type 99");
    memcpy(e, f, hn); e[45] = GGML_Q8_0; put64(e + 37, 31);
    expect_bad(ctx, "q8_0 rows not whole blocks", e, hn, "not supported");
    memcpy(e, f, hn); put64(e + 49, 1);
    expect_bad(ctx, "misaligned tensor offset", e, hn, "misaligned");
    memcpy(e, f, hn); put64(e + 49, 64);
    expect_bad(ctx, "tensor data past the end", e, hn, "past the end");
    memcpy(e, f, hn); put64(e + 37, (uint64_t)1 << 62);
    expect_bad(ctx, "tensor size overflow", e, hn, NULL);
    free(e); free(f); free(b); free(c);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/test_gguf.%ld", (long)getpid());

    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/m %s/q", tmp, tmp);
    if (system(cmd)) return 1;
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = 2;
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    test_writer_reader(ctx);
    gptc_config cfg = tiny_config();
    gptc_model *m;
    gptc_tokenizer *tok;
    write_tokenizer(path_of("m"));
    if (gptc_model_new(ctx, &cfg, 5, &m) || gptc_model_save(ctx, m, path_of("m"), GPTC_F32) ||
        gptc_tokenizer_load(ctx, path_of("m"), &tok)) {
        CHECK("setup", 0, "%s", gptc_errmsg(ctx));
        return test_exit();
    }
    const gptc_dtype types[3] = {GPTC_F32, GPTC_F16, GPTC_Q8_0};
    for (int i = 0; i < 3; i++) {
        char fname[32];
        snprintf(fname, sizeof fname, "m_%s.gguf", gptc_dtype_name(types[i]));
        gptc_status s = gptc_model_export_gguf(ctx, m, tok, path_of(fname), types[i]);
        CHECK(fname, s == GPTC_OK, "%s", gptc_errmsg(ctx));
        if (!s) check_export(ctx, m, path_of(fname), types[i]);
    }
    /* logits: f32 GGUF == the model; q8_0 GGUF == the q8_0 directory */
    size_t nl = 12 * 261;
    float *a = malloc(nl * 4), *b2 = malloc(nl * 4);
    gptc_model *g32 = NULL, *g8 = NULL, *d8 = NULL;
    gptc_quantize_params qp = gptc_quantize_default_params();
    logits_of(ctx, m, a, nl);
    if (!gptc_model_load(ctx, path_of("m_f32.gguf"), &g32)) logits_of(ctx, g32, b2, nl);
    CHECK("f32 GGUF read by gptc: logits == the model's, bit for bit", g32 && !memcmp(a, b2, nl * 4) && isfinite(a[0]),
          "%s", gptc_errmsg(ctx));
    if (!gptc_model_save_quantized(ctx, m, path_of("q"), &qp, NULL) && !gptc_model_load(ctx, path_of("q"), &d8) &&
        !gptc_model_load(ctx, path_of("m_q8_0.gguf"), &g8)) {
        logits_of(ctx, d8, a, nl);
        logits_of(ctx, g8, b2, nl);
    }
    CHECK("q8_0 GGUF read by gptc: logits == the q8_0 directory's, bit for bit",
          g8 && d8 && !memcmp(a, b2, nl * 4) && isfinite(a[0]) && gptc_model_weight_dtype(g8) == GPTC_Q8_0, "%s",
          gptc_errmsg(ctx));
    /* the q8_0 directory exported as stored gives the same file bytes for its blocks */
    gptc_status s = gptc_model_export_gguf(ctx, d8, tok, path_of("d8.gguf"), GPTC_DTYPE_COUNT);
    size_t n1, n2;
    unsigned char *f1 = read_all(path_of("d8.gguf"), &n1), *f2 = read_all(path_of("m_q8_0.gguf"), &n2);
    CHECK("a q8_0 directory exports to the same GGUF as the F32 model with --type q8_0",
          !s && n1 == n2 && !memcmp(f1, f2, n1), "%zu vs %zu bytes", n1, n2);
    s = gptc_model_export_gguf(ctx, d8, tok, path_of("d8b.gguf"), GPTC_Q4_0);
    CHECK("re-quantizing on export is refused", s == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "twice"), "%s",
          gptc_errmsg(ctx));
    /* q4_0: a directory and its GGUF give the same logits; both index their scales */
    gptc_model *d4 = NULL, *g4 = NULL;
    gptc_quantize_params q4 = gptc_quantize_default_params();
    q4.type = GPTC_Q4_0;
    if (!gptc_model_save_quantized(ctx, m, path_of("q4"), &q4, NULL) && !gptc_model_load(ctx, path_of("q4"), &d4) &&
        !gptc_model_export_gguf(ctx, d4, tok, path_of("d4.gguf"), GPTC_DTYPE_COUNT) &&
        !gptc_model_load(ctx, path_of("d4.gguf"), &g4)) {
        logits_of(ctx, d4, a, nl);
        logits_of(ctx, g4, b2, nl);
    }
    CHECK("q4_0 GGUF read by gptc: logits == the q4_0 directory's, bit for bit",
          g4 && d4 && !memcmp(a, b2, nl * 4) && isfinite(a[0]), "%s", gptc_errmsg(ctx));
    int n4d = d4 ? scales_indexed(d4) : -1, n4g = g4 ? scales_indexed(g4) : -1;
    CHECK(gptc_q_has_scales(GPTC_Q4_0) ? "q4_0 directory and GGUF: every q4_0 matrix has its scales side by side"
                                        : "q4_0 directory and GGUF: no q4_0 matrix keeps a copy of its scales",
          n4d > 0 && n4g == n4d, "%d and %d matrices", n4d, n4g);
    gptc_model_free(d4); gptc_model_free(g4);
    test_broken(ctx, path_of("m_q8_0.gguf"));
    free(f1); free(f2); free(a); free(b2);
    gptc_model_free(g32); gptc_model_free(g8); gptc_model_free(d8); gptc_model_free(m);
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd)) return 1;
    return test_exit();
}
