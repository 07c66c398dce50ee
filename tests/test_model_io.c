/* test_model_io.c: config.json (defaults, presets, validation, load/save, broken
 * fields) and model directories: save/load bit-identical (F32), BF16, untied heads,
 * PyTorch-written directories (F16/BF16/F32, with and without "transformer."), zero-copy
 * loading of F32 files laid out as the parameter buffer. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "model/model.h"
#include <math.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static char tmp[512];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* ---------------------------------------------------------------- config */

static void test_config(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c = gptc_config_default();
    CHECK("default_is_gpt2_124m", c.n_layer == 12 && c.n_head == 12 && c.n_embd == 768 && c.n_positions == 1024 &&
                                      c.vocab_size == 50257 && c.causal == 1 && c.pre_norm == 1 &&
                                      c.tie_word_embeddings == 1 && c.layer_norm_epsilon == 1e-5f &&
                                      c.embd_pdrop == 0.1f && c.bos_token_id == 50256 && c.eos_token_id == 50256 &&
                                      !strcmp(c.activation_function, "gelu_new") &&
                                      gptc_config_validate(ctx, &c) == GPTC_OK,
          "unexpected defaults");
    struct { const char *name; int L, H, C, P; } want[] = {
        {"tiny", 2, 2, 64, 128},          {"small", 4, 4, 256, 256},         {"gpt2", 12, 12, 768, 1024},
        {"gpt2-medium", 24, 16, 1024, 1024}, {"gpt2-large", 36, 20, 1280, 1024}, {"gpt2-xl", 48, 25, 1600, 1024},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        gptc_config p;
        if (gptc_config_preset(ctx, want[i].name, &p) != GPTC_OK || p.n_layer != want[i].L || p.n_head != want[i].H ||
            p.n_embd != want[i].C || p.n_positions != want[i].P || p.vocab_size != 50257 ||
            gptc_config_validate(ctx, &p) != GPTC_OK)
            bad++;
    }
    CHECK("presets", bad == 0, "%d presets wrong", bad);
    gptc_config p;
    CHECK("unknown_preset", gptc_config_preset(ctx, "gpt3", &p) == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "gpt3") &&
                                strstr(gptc_errmsg(ctx), "gpt2-medium"),
          "%s", gptc_errmsg(ctx));
    c = gptc_config_default();
    c.n_embd = 100;
    c.n_head = 3;
    CHECK("validate_divisible", gptc_config_validate(ctx, &c) == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "n_embd = 100") &&
                                    strstr(gptc_errmsg(ctx), "n_head = 3"),
          "%s", gptc_errmsg(ctx));
    c = gptc_config_default();
    c.n_layer = 0;
    CHECK("validate_positive", gptc_config_validate(ctx, &c) == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "n_layer"), "%s",
          gptc_errmsg(ctx));
    c = gptc_config_default();
    strcpy(c.activation_function, "relu");
    CHECK("validate_activation", gptc_config_validate(ctx, &c) == GPTC_ENOTSUP && strstr(gptc_errmsg(ctx), "relu"),
          "%s", gptc_errmsg(ctx));
    c = gptc_config_default();
    c.attn_pdrop = 1.0f;
    CHECK("validate_dropout", gptc_config_validate(ctx, &c) == GPTC_EINVAL, "accepted dropout 1");

    /* save -> load gives the same struct */
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", tmp);
    c = gptc_config_default();
    c.n_layer = 3;
    c.n_head = 5;
    c.n_embd = 35;
    c.n_inner = 77;
    c.layer_norm_epsilon = 1.5e-6f;
    c.embd_pdrop = 0.05f;
    c.attn_pdrop = 0.0f;
    c.resid_pdrop = 0.123f;
    c.vocab_size = 1003;
    c.bos_token_id = -1;
    c.eos_token_id = 1002;
    c.tie_word_embeddings = 0;
    strcpy(c.activation_function, "gelu");
    gptc_status s = gptc_config_save_json(ctx, &c, path);
    gptc_config back;
    memset(&back, 0x55, sizeof back);
    if (!s) s = gptc_config_load_json(ctx, path, &back);
    CHECK("config_roundtrip", s == GPTC_OK && memcmp(&back, &c, sizeof c) == 0, "%s", gptc_errmsg(ctx));
    char *text;
    size_t len;
    gptc_file_read(ctx, path, &text, &len);
    CHECK("config_hf_fields", text && strstr(text, "\"model_type\": \"gpt2\"") && strstr(text, "\"GPT2LMHeadModel\"") &&
                                  strstr(text, "\"n_ctx\": 17") == NULL && strstr(text, "\"layer_norm_epsilon\": 1.5e-") &&
                                  strstr(text, "\"resid_pdrop\": 0.123") && strstr(text, "\"bos_token_id\": null") &&
                                  strstr(text, "\"tie_word_embeddings\": false") && strstr(text, "\"n_inner\": 77"),
          "%s", text ? text : "(unreadable)");
    gptc_free(text);

    /* broken config.json: each error names the file and the field */
    struct { const char *name, *json, *needle; gptc_status code; } bad_cfg[] = {
        {"cfg_invalid_json", "{\n  \"n_layer\": 2,\n  \"n_head\" 2\n}", "line 3", GPTC_EFORMAT},
        {"cfg_missing_field", "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4}", "\"vocab_size\"",
         GPTC_EFORMAT},
        {"cfg_wrong_type", "{\"n_layer\": \"2\", \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 9}",
         "\"n_layer\"", GPTC_EFORMAT},
        {"cfg_float_type", "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 9,"
                           " \"layer_norm_epsilon\": \"small\"}", "\"layer_norm_epsilon\"", GPTC_EFORMAT},
        {"cfg_not_divisible", "{\"n_layer\": 2, \"n_head\": 3, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 9,"
                              " \"bos_token_id\": 1, \"eos_token_id\": 1}", "n_head = 3", GPTC_EINVAL},
        {"cfg_model_type", "{\"model_type\": \"llama\", \"n_layer\": 2}", "llama", GPTC_ENOTSUP},
        {"cfg_activation", "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 9,"
                           " \"activation_function\": \"swish\"}", "swish", GPTC_ENOTSUP},
        {"cfg_scale_attn", "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 9,"
                           " \"bos_token_id\": 1, \"eos_token_id\": 1, \"scale_attn_by_inverse_layer_idx\": true}",
         "scale_attn_by_inverse_layer_idx", GPTC_ENOTSUP},
        {"cfg_not_object", "[1]", "not a JSON object", GPTC_EFORMAT},
        {"cfg_huge_int", "{\"n_layer\": 99999999999, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 9}",
         "\"n_layer\"", GPTC_ERANGE},
    };
    for (size_t i = 0; i < sizeof bad_cfg / sizeof bad_cfg[0]; i++) {
        write_text(path, bad_cfg[i].json);
        s = gptc_config_load_json(ctx, path, &back);
        CHECK(bad_cfg[i].name, s == bad_cfg[i].code && strstr(gptc_errmsg(ctx), path) &&
                                   strstr(gptc_errmsg(ctx), bad_cfg[i].needle),
              "status %d, message: %s", s, gptc_errmsg(ctx));
    }
    /* Hub-style config: n_inner absent, gelu_pytorch_tanh, only n_ctx, extra fields */
    write_text(path, "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_ctx\": 4, \"vocab_size\": 9,"
                     " \"bos_token_id\": 8, \"eos_token_id\": 8, \"activation_function\": \"gelu_pytorch_tanh\","
                     " \"task_specific_params\": {\"x\": 1}, \"n_inner\": null}");
    s = gptc_config_load_json(ctx, path, &back);
    CHECK("cfg_hub_style", s == GPTC_OK && back.n_positions == 4 && back.n_inner == 0 &&
                               !strcmp(back.activation_function, "gelu_new") && back.tie_word_embeddings == 1,
          "%s", gptc_errmsg(ctx));
    snprintf(path, sizeof path, "%s/nonexistent/config.json", tmp);
    s = gptc_config_load_json(ctx, path, &back);
    CHECK("cfg_missing_file", s == GPTC_EIO && strstr(gptc_errmsg(ctx), path), "%s", gptc_errmsg(ctx));
    gptc_ctx_free(ctx);
}

/* ---------------------------------------------------------------- models */

static gptc_config odd_config(int tied) {
    gptc_config c = gptc_config_default();
    c.n_layer = 2;
    c.n_head = 3;
    c.n_embd = 36;
    c.n_positions = 19;
    c.vocab_size = 101;
    c.bos_token_id = c.eos_token_id = 100;
    c.tie_word_embeddings = tied;
    return c;
}

/* Compares every parameter of m with the tensors of a reference file (names without
 * prefix), bit for bit. Returns the number of differing tensors. */
static int compare_with_ref(gptc_ctx *ctx, const gptc_model *m, const char *ref_path) {
    gptc_safetensors ref;
    if (gptc_st_open(ctx, ref_path, &ref) != GPTC_OK) {
        printf("  %s\n", gptc_errmsg(ctx));
        return 1000;
    }
    int bad = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_st_tensor *t = gptc_st_find(&ref, m->tensors[i].name);
        if (!t || t->numel != m->tensors[i].numel) {
            bad++;
            continue;
        }
        float *buf = malloc(t->numel * 4);
        gptc_st_to_f32(t, buf);
        if (memcmp(buf, m->params + m->tensors[i].offset, t->numel * 4) != 0) bad++;
        free(buf);
    }
    gptc_st_close(&ref);
    return bad;
}

static int params_equal(const gptc_model *a, const gptc_model *b) {
    if (a->n_tensors != b->n_tensors) return 0;
    for (size_t i = 0; i < a->n_tensors; i++)
        if (strcmp(a->tensors[i].name, b->tensors[i].name) ||
            memcmp(a->params + a->tensors[i].offset, b->params + b->tensors[i].offset, a->tensors[i].numel * 4))
            return 0;
    return 1;
}

static void test_save_load(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    for (int tied = 1; tied >= 0; tied--) {
        gptc_config c = odd_config(tied);
        gptc_model *m = NULL, *back = NULL;
        char dir[600], name[64];
        snprintf(dir, sizeof dir, "%s/model_%d/sub", tmp, tied);
        gptc_status s = gptc_model_new(ctx, &c, seed, &m);
        if (!s) s = gptc_model_save(ctx, m, dir, GPTC_F32);
        if (!s) s = gptc_model_load(ctx, dir, &back);
        snprintf(name, sizeof name, "save_load_f32_bit_identical_%s", tied ? "tied" : "untied");
        CHECK(name, s == GPTC_OK && params_equal(m, back) && !memcmp(&back->cfg, &m->cfg, sizeof c), "%s",
              gptc_errmsg(ctx));
        /* the file has transformers' names: "transformer." body, lm_head only when untied */
        char path[700];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        gptc_safetensors st;
        int names_ok = gptc_st_open(ctx, path, &st) == GPTC_OK;
        if (names_ok) {
            names_ok = gptc_st_find(&st, "transformer.wte.weight") && gptc_st_find(&st, "transformer.h.1.mlp.c_proj.bias") &&
                       !gptc_st_find(&st, "wte.weight") && ((gptc_st_find(&st, "lm_head.weight") == NULL) == tied) &&
                       st.n_tensors == m->n_tensors && strstr((const char *)st.map.data + 8, "\"format\":\"pt\"");
            const gptc_st_tensor *qkv = gptc_st_find(&st, "transformer.h.0.attn.c_attn.weight");
            names_ok = names_ok && qkv && qkv->ndim == 2 && qkv->shape[0] == 36 && qkv->shape[1] == 108;
            gptc_st_close(&st);
        }
        snprintf(name, sizeof name, "saved_hf_names_%s", tied ? "tied" : "untied");
        CHECK(name, names_ok, "names or layout differ from GPT2LMHeadModel");
        gptc_model_free(back);
        back = NULL;
        /* BF16: each value rounded to nearest even, then widened */
        s = gptc_model_save(ctx, m, dir, GPTC_BF16);
        if (!s) s = gptc_model_load(ctx, dir, &back);
        int ok = s == GPTC_OK;
        for (size_t i = 0; ok && i < m->n_params; i++) {
            float want = gptc_bf16_to_f32(gptc_f32_to_bf16(m->params[i]));
            ok = memcmp(&want, &back->params[i], 4) == 0;
        }
        snprintf(name, sizeof name, "save_load_bf16_%s", tied ? "tied" : "untied");
        CHECK(name, ok, "%s", gptc_errmsg(ctx));
        gptc_model_free(back);
        gptc_model_free(m);
    }
    gptc_ctx_free(ctx);
}

/* Zero-copy loading: a model saved by gptc whose tensor sizes are multiples of 16 floats
 * (2 layers, 2 heads, 32 wide, 16 positions, vocabulary 48, inner 64) has its data
 * section 64-byte aligned and each tensor at its parameter offset, so loading maps the
 * file as the parameter buffer (private: writes stay in memory); other layouts (36
 * wide: 1-D tensors of 36 floats; tensors in another order) are copied, NaN still fails. */
static void test_zero_copy(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 21);
    gptc_config c = gptc_config_default();
    c.n_layer = 2, c.n_head = 2, c.n_embd = 32, c.n_positions = 16, c.vocab_size = 48, c.n_inner = 64;
    c.bos_token_id = c.eos_token_id = 47;
    gptc_model *m = NULL, *back = NULL, *again = NULL;
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/zero_copy", tmp);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    gptc_status s = gptc_model_new(ctx, &c, seed, &m);
    if (!s) s = gptc_model_save(ctx, m, dir, GPTC_F32);
    unsigned char h[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, 8, f) : 0;
    if (f) fclose(f);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)h[i] << (8 * i);
    CHECK("saved_data_section_64_aligned", !s && got == 8 && (8 + hl) % 64 == 0, "header %llu: %s",
          (unsigned long long)hl, gptc_errmsg(ctx));
    if (!s) s = gptc_model_load(ctx, dir, &back);
    CHECK("zero_copy_load_maps_the_file", !s && back->params_map && params_equal(m, back) &&
                                              (uintptr_t)back->params % 64 == 0,
          "%s (mapped: %d)", gptc_errmsg(ctx), !s && back->params_map != NULL);
    if (!s) {
        back->params[0] += 1.0f; /* as a training step writes */
        back->params[back->n_params - 1] = 42.0f;
        s = gptc_model_load(ctx, dir, &again);
        CHECK("zero_copy_writes_stay_private", !s && again->params_map && params_equal(m, again), "%s",
              gptc_errmsg(ctx));
        gptc_model_free(again);
        again = NULL;
        /* an adapter moves the parameters into a new buffer: the mapping is released */
        gptc_lora_params lp = gptc_lora_default_params();
        s = gptc_model_lora_add(ctx, back, &lp, 3);
        CHECK("zero_copy_then_lora_add", !s && !back->params_map && back->params[back->n_params - 1] == 0.0f, "%s",
              gptc_errmsg(ctx));
    }
    gptc_model_free(back);
    back = NULL;
    /* the same tensors written in reverse order: loaded by copying, equal */
    size_t n = 0;
    gptc_st_entry e[64];
    char names[64][96];
    for (size_t i = m->n_tensors; i-- > 0 && n < 64; n++) {
        const gptc_ptensor *pt = &m->tensors[i];
        memset(&e[n], 0, sizeof e[n]);
        snprintf(names[n], sizeof names[n], "transformer.%s", pt->name);
        e[n].name = names[n];
        e[n].ndim = pt->ndim;
        for (int d = 0; d < pt->ndim; d++) e[n].shape[d] = pt->shape[d];
        e[n].data = m->params + pt->offset;
    }
    s = n == m->n_tensors ? gptc_st_write(ctx, path, e, n, GPTC_F32, NULL) : GPTC_EINVAL;
    if (!s) s = gptc_model_load(ctx, dir, &back);
    CHECK("other_order_copied", !s && !back->params_map && params_equal(m, back), "%s", gptc_errmsg(ctx));
    gptc_model_free(back);
    back = NULL;
    /* a NaN in a file that would be mapped: the error names the tensor */
    long k = gptc_model_find(m, "h.1.mlp.c_fc.weight");
    if (k >= 0) m->params[m->tensors[k].offset + 5] = NAN;
    s = gptc_model_save(ctx, m, dir, GPTC_F32);
    gptc_status s2 = s ? s : gptc_model_load(ctx, dir, &back);
    CHECK("zero_copy_nan_fails_naming_tensor", !s && s2 == GPTC_EFORMAT && !back &&
                                                   strstr(gptc_errmsg(ctx), "h.1.mlp.c_fc.weight") &&
                                                   strstr(gptc_errmsg(ctx), "element 5"),
          "%s", gptc_errmsg(ctx));
    gptc_model_free(back);
    gptc_model_free(m);
    m = back = NULL;
    /* 36 wide: 1-D tensors of 36 floats are padded in the buffer, not in the file: copied */
    gptc_config o = odd_config(1);
    s = gptc_model_new(ctx, &o, seed, &m);
    if (!s) s = gptc_model_save(ctx, m, dir, GPTC_F32);
    if (!s) s = gptc_model_load(ctx, dir, &back);
    CHECK("padded_layout_copied", !s && !back->params_map && params_equal(m, back), "%s", gptc_errmsg(ctx));
    gptc_model_free(back);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
}

/* Directories written by PyTorch (tests/ref/st_dtypes.py): values must equal torch's
 * .float() of the stored tensors exactly. */
static void test_torch_dirs(void) {
    static const char *variants[][2] = {{"prefix", "f16"}, {"plain", "bf16"}, {"plain", "f32"}, {"prefix", "f32"}};
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    for (int v = 0; v < 4; v++) {
        char dir[600], ref[700], cmd[2000], name[64];
        snprintf(dir, sizeof dir, "%s/torch_%s_%s", tmp, variants[v][0], variants[v][1]);
        snprintf(ref, sizeof ref, "%s.ref.safetensors", dir);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && /usr/bin/python3 tests/ref/st_dtypes.py model '%s' %s %s %d '%s'",
                 dir, dir, variants[v][0], variants[v][1], 7 + v, ref);
        int rc = system(cmd);
        gptc_model *m = NULL;
        gptc_status s = rc ? GPTC_EIO : gptc_model_load(ctx, dir, &m);
        int bad = s ? -1 : compare_with_ref(ctx, m, ref);
        snprintf(name, sizeof name, "torch_dir_%s_%s", variants[v][0], variants[v][1]);
        CHECK(name, rc == 0 && s == GPTC_OK && bad == 0, "rc %d, %s, %d tensors differ", rc,
              s ? gptc_errmsg(ctx) : "loaded", bad);
        gptc_model_free(m);
    }
    gptc_ctx_free(ctx);
}

/* Model-level errors: missing, misshapen, extra and wrongly tied tensors. */
static void test_model_errors(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c = odd_config(1);
    gptc_model *m = NULL;
    if (gptc_model_new(ctx, &c, 3, &m) != GPTC_OK) {
        CHECK("model_new", 0, "%s", gptc_errmsg(ctx));
        gptc_ctx_free(ctx);
        return;
    }
    char dir[600], wpath[700];
    snprintf(dir, sizeof dir, "%s/errs", tmp);
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    gptc_model_save(ctx, m, dir, GPTC_F32);
    size_t n = m->n_tensors;
    gptc_st_entry *e = calloc(n + 2, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        e[i].name = m->tensors[i].name;
        e[i].ndim = m->tensors[i].ndim;
        e[i].shape[0] = m->tensors[i].shape[0];
        e[i].shape[1] = m->tensors[i].shape[1];
        e[i].data = m->params + m->tensors[i].offset;
    }
    size_t qkv = (size_t)m->layers[1].qkv_w;
    struct { const char *name, *needle1, *needle2; } cases[] = {
        {"model_missing_tensor", "'h.1.attn.c_attn.weight'", "missing"},
        {"model_wrong_shape", "'h.1.attn.c_attn.weight'", "[36, 108]"},
        {"model_extra_tensor", "'h.9.mlp.c_fc.weight'", "unexpected"},
        {"model_tied_head_wrong_shape", "'lm_head.weight'", "[101, 36]"},
        {"model_both_prefixes", "'wte.weight'", "unexpected"},
    };
    for (int k = 0; k < 5; k++) {
        gptc_st_entry *w = malloc((n + 2) * sizeof *w);
        memcpy(w, e, n * sizeof *w);
        size_t nw = n;
        if (k == 0) w[qkv] = w[--nw];
        if (k == 1) w[qkv].shape[1] = 107;
        if (k == 2) w[nw++] = (gptc_st_entry){"h.9.mlp.c_fc.weight", 1, {4}, m->params, NULL, 0};
        if (k == 3) w[nw++] = (gptc_st_entry){"lm_head.weight", 2, {36, 101}, m->params, NULL, 0};
        if (k == 4) w[nw++] = (gptc_st_entry){"transformer.wte.weight", 2, {101, 36}, m->params, NULL, 0};
        gptc_status s = gptc_st_write(ctx, wpath, w, nw, GPTC_F32, NULL);
        gptc_model *back = NULL;
        if (!s) s = gptc_model_load(ctx, dir, &back);
        const char *msg = gptc_errmsg(ctx);
        CHECK(cases[k].name, s != GPTC_OK && !back && strstr(msg, wpath) && strstr(msg, cases[k].needle1) &&
                                 strstr(msg, cases[k].needle2),
              "status %d: %s", s, msg);
        gptc_model_free(back);
        free(w);
    }
    /* NaN / Inf weights: an error naming the file and the tensor, whether the tensor is
     * kept as F32, kept as stored (BF16) or converted (F32 -> F16 overflows to Inf) */
    {
        size_t numel = (size_t)m->tensors[qkv].shape[0] * (size_t)m->tensors[qkv].shape[1];
        float *bad = malloc(numel * sizeof *bad);
        struct { const char *name; float v; gptc_dtype file, keep; } nf[] = {
            {"model_nan_weight", NAN, GPTC_F32, GPTC_F32},
            {"model_inf_weight", INFINITY, GPTC_F32, GPTC_F32},
            {"model_nan_weight_kept_bf16", NAN, GPTC_BF16, GPTC_BF16},
            {"model_inf_weight_bf16_to_f32", -INFINITY, GPTC_BF16, GPTC_F32},
            {"model_weight_overflows_f16", 1e6f, GPTC_F32, GPTC_F16},
        };
        for (int k = 0; k < 5; k++) {
            memcpy(bad, e[qkv].data, numel * sizeof *bad);
            bad[7] = nf[k].v;
            gptc_st_entry *w = malloc(n * sizeof *w);
            memcpy(w, e, n * sizeof *w);
            w[qkv].data = bad;
            gptc_status s = gptc_st_write(ctx, wpath, w, n, nf[k].file, NULL);
            gptc_load_params lp = gptc_load_default_params();
            lp.weight_dtype = nf[k].keep;
            gptc_model *back = NULL;
            if (!s) s = gptc_model_load_with(ctx, dir, &lp, &back);
            const char *msg = gptc_errmsg(ctx);
            CHECK(nf[k].name, s == GPTC_EFORMAT && !back && strstr(msg, wpath) && strstr(msg, "'h.1.attn.c_attn.weight'") &&
                                  strstr(msg, "NaN or Inf") && strstr(msg, "element 7"),
                  "status %d: %s", s, msg);
            gptc_model_free(back);
            free(w);
        }
        free(bad);
    }
    /* a tied head of the right shape is accepted and ignored */
    e[n] = (gptc_st_entry){"lm_head.weight", 2, {101, 36}, m->params, NULL, 0};
    gptc_model *back = NULL;
    gptc_status s = gptc_st_write(ctx, wpath, e, n + 1, GPTC_F32, NULL);
    if (!s) s = gptc_model_load(ctx, dir, &back);
    CHECK("model_tied_head_ignored", s == GPTC_OK && params_equal(m, back), "%s", gptc_errmsg(ctx));
    gptc_model_free(back);
    /* untied config.json with a file that has no lm_head */
    gptc_config u = odd_config(0);
    char cpath[700];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    gptc_config_save_json(ctx, &u, cpath);
    gptc_st_write(ctx, wpath, e, n, GPTC_F32, NULL);
    back = NULL;
    s = gptc_model_load(ctx, dir, &back);
    CHECK("model_untied_missing_head", s != GPTC_OK && strstr(gptc_errmsg(ctx), "'lm_head.weight' is missing"), "%s",
          gptc_errmsg(ctx));
    gptc_model_free(back);
    /* every allocation failing in turn: a clean ENOMEM, nothing leaked (ASan) */
    e[n] = (gptc_st_entry){0};
    gptc_st_write(ctx, wpath, e, n, GPTC_F32, NULL);
    gptc_config_save_json(ctx, &c, cpath);
    int bad_alloc = 0, k_ok = -1;
    for (long k = 0; k < 64 && k_ok < 0; k++) {
        ctx->fail_alloc_after = k;
        back = NULL;
        s = gptc_model_load(ctx, dir, &back);
        if (s == GPTC_OK) k_ok = (int)k;
        else if (s != GPTC_ENOMEM || back) bad_alloc++;
        gptc_model_free(back);
    }
    ctx->fail_alloc_after = -1;
    CHECK("model_load_alloc_failures", bad_alloc == 0 && k_ok > 0, "%d bad, first success at %d", bad_alloc, k_ok);
    /* no config.json */
    remove(cpath);
    back = NULL;
    s = gptc_model_load(ctx, dir, &back);
    CHECK("model_missing_config", s == GPTC_EIO && strstr(gptc_errmsg(ctx), cpath), "%s", gptc_errmsg(ctx));
    free(e);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
}

int main(void) {
    const char *base = getenv("GPTC_TEST_TMP");
    snprintf(tmp, sizeof tmp, "%s/mio.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        printf("FAIL mkdtemp %s\n", tmp);
        return 1;
    }
    test_config();
    test_save_load();
    test_zero_copy();
    test_model_errors();
    test_torch_dirs();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmp);
    return test_exit();
}
