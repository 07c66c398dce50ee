/* config.c: model configurations: GPT-2 defaults, named presets, validation, and
 * config.json in Hugging Face GPT2Config field names (read and write). The tensors
 * themselves are read and written by model_io.c. */
#include "model.h"
#include "../core/core.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

gptc_config gptc_config_default(void) {
    gptc_config c;
    memset(&c, 0, sizeof c);
    c.n_layer = 12;
    c.n_head = 12;
    c.n_embd = 768;
    c.n_positions = 1024;
    c.vocab_size = 50257;
    c.n_inner = 0;
    c.layer_norm_epsilon = 1e-5f;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0.1f;
    c.bos_token_id = c.eos_token_id = 50256;
    strcpy(c.activation_function, "gelu_new");
    c.causal = 1;
    c.pre_norm = 1;
    c.sinusoidal_pos = 0;
    c.cross_attention = 0;
    c.tie_word_embeddings = 1;
    c.head = GPTC_HEAD_LM;
    c.pad_token_id = -1;
    c.classifier_dropout = -1;
    return c;
}

gptc_config gptc_config_bert_default(void) {
    gptc_config c = gptc_config_default();
    c.arch = GPTC_ARCH_BERT;
    c.n_positions = 512;
    c.vocab_size = 30522;
    c.layer_norm_epsilon = 1e-12f;
    c.bos_token_id = c.eos_token_id = -1;
    strcpy(c.activation_function, "gelu");
    c.causal = 0;
    c.pre_norm = 0;
    c.pad_token_id = 0;
    c.type_vocab_size = 2;
    c.classifier_dropout = -1;
    return c;
}

gptc_config gptc_config_marian_default(void) {
    gptc_config c = gptc_config_default();
    c.arch = GPTC_ARCH_MARIAN;
    c.enc_layers = 12;
    c.n_layer = 24;
    c.n_head = c.enc_n_head = 16;
    c.n_embd = 1024;
    c.n_inner = c.enc_n_inner = 4096;
    c.n_positions = 1024;
    c.vocab_size = 58101;
    c.layer_norm_epsilon = 1e-5f;
    c.embd_pdrop = c.resid_pdrop = 0.1f;
    c.attn_pdrop = 0.0f;
    c.bos_token_id = -1;
    c.eos_token_id = 0;
    c.pad_token_id = c.decoder_start_token_id = 58100;
    strcpy(c.activation_function, "gelu");
    c.causal = 1;
    c.pre_norm = 0;
    c.sinusoidal_pos = 1;
    c.cross_attention = 1;
    c.tie_word_embeddings = 1;
    c.share_embeddings = 1;
    c.scale_embedding = 0;
    return c;
}

/* Marian presets: encoder + decoder layers, d_model, heads, ffn, positions, scale. */
static const struct { const char *name; int layers, d, heads, ffn, positions, scale; } marian_presets[] = {
    {"marian-tiny", 2, 64, 2, 128, 128, 0},
    {"marian-small", 3, 256, 4, 1024, 256, 0},
    {"transformer-base", 6, 512, 8, 2048, 512, 1},
};

/* BERT's sizes as google-research/bert names them (intermediate 4 x hidden, 512 positions). */
static const struct { const char *name; int bert, n_layer, n_head, n_embd, n_positions; } presets[] = {
    {"tiny", 0, 2, 2, 64, 128},
    {"small", 0, 4, 4, 256, 256},
    {"gpt2", 0, 12, 12, 768, 1024},
    {"gpt2-medium", 0, 24, 16, 1024, 1024},
    {"gpt2-large", 0, 36, 20, 1280, 1024},
    {"gpt2-xl", 0, 48, 25, 1600, 1024},
    {"bert-tiny", 1, 2, 2, 128, 512},
    {"bert-mini", 1, 4, 4, 256, 512},
    {"bert-small", 1, 4, 8, 512, 512},
    {"bert-base", 1, 12, 12, 768, 512},
    {"bert-large", 1, 24, 16, 1024, 512},
};

gptc_status gptc_config_preset(gptc_ctx *ctx, const char *name, gptc_config *out) {
    for (size_t i = 0; i < sizeof marian_presets / sizeof marian_presets[0]; i++) {
        if (strcmp(name, marian_presets[i].name) != 0) continue;
        *out = gptc_config_marian_default();
        out->enc_layers = marian_presets[i].layers;
        out->n_layer = 2 * marian_presets[i].layers;
        out->n_embd = marian_presets[i].d;
        out->n_head = out->enc_n_head = marian_presets[i].heads;
        out->n_inner = out->enc_n_inner = marian_presets[i].ffn;
        out->n_positions = marian_presets[i].positions;
        out->scale_embedding = marian_presets[i].scale;
        return GPTC_OK;
    }
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) != 0) continue;
        *out = presets[i].bert ? gptc_config_bert_default() : gptc_config_default();
        out->n_layer = presets[i].n_layer;
        out->n_head = presets[i].n_head;
        out->n_embd = presets[i].n_embd;
        out->n_positions = presets[i].n_positions;
        return GPTC_OK;
    }
    return gptc_fail(ctx, GPTC_EINVAL, "unknown preset '%s' (known: tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl, "
                     "bert-tiny, bert-mini, bert-small, bert-base, bert-large, marian-tiny, marian-small, transformer-base)", name);
}

/* "gelu_pytorch_tanh" is the same function as "gelu_new" (tanh approximation). */
static const char *canonical_activation(const char *a) {
    if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh")) return "gelu_new";
    if (!strcmp(a, "gelu")) return "gelu";
    return NULL;
}

static int bad_prob(float p) { return !(p >= 0.0f && p < 1.0f); }

gptc_status gptc_config_validate(gptc_ctx *ctx, const gptc_config *c) {
    /* Limits keep every size product (V*C, L*C*C, B*T*...) far from overflow. */
    struct { const char *name; int v, lo, hi; } ranges[] = {
        {"n_layer", c->n_layer, 1, 1024},          {"n_head", c->n_head, 1, 4096},
        {"n_embd", c->n_embd, 1, 65536},           {"n_positions", c->n_positions, 1, 1 << 20},
        {"vocab_size", c->vocab_size, 1, 1 << 24}, {"n_inner", c->n_inner, 0, 1 << 18},
        {"bos_token_id", c->bos_token_id, -1, c->vocab_size - 1},
        {"eos_token_id", c->eos_token_id, -1, c->vocab_size - 1},
        {"pad_token_id", c->pad_token_id, -1, c->vocab_size - 1},
        {"arch", c->arch, 0, GPTC_ARCH_COUNT - 1},
        {"type_vocab_size", c->type_vocab_size, c->arch == GPTC_ARCH_BERT ? 1 : 0, 1 << 16},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (ranges[i].v < ranges[i].lo || ranges[i].v > ranges[i].hi)
            return gptc_fail(ctx, GPTC_EINVAL, "config: %s = %d is outside [%d, %d]", ranges[i].name, ranges[i].v,
                             ranges[i].lo, ranges[i].hi);
    if (c->n_embd % c->n_head != 0)
        return gptc_fail(ctx, GPTC_EINVAL, "config: n_embd = %d is not divisible by n_head = %d", c->n_embd,
                         c->n_head);
    if (!(c->layer_norm_epsilon > 0.0f) || !isfinite(c->layer_norm_epsilon) || c->layer_norm_epsilon > 1.0f)
        return gptc_fail(ctx, GPTC_EINVAL, "config: layer_norm_epsilon = %g must be in (0, 1]",
                         (double)c->layer_norm_epsilon);
    if (c->arch == GPTC_ARCH_MARIAN) {
        struct { const char *name; int v, lo, hi; } mr[] = {
            {"encoder_layers", c->enc_layers, 1, c->n_layer - 1},
            {"encoder_attention_heads", c->enc_n_head, 1, 4096},
            {"encoder_ffn_dim", c->enc_n_inner, 1, 1 << 18},
            {"decoder_ffn_dim", c->n_inner, 1, 1 << 18},
            {"decoder_start_token_id", c->decoder_start_token_id, 0, c->vocab_size - 1},
        };
        for (size_t i = 0; i < sizeof mr / sizeof mr[0]; i++)
            if (mr[i].v < mr[i].lo || mr[i].v > mr[i].hi)
                return gptc_fail(ctx, GPTC_EINVAL, "config: %s = %d is outside [%d, %d]", mr[i].name, mr[i].v,
                                 mr[i].lo, mr[i].hi);
        if (c->n_embd % c->enc_n_head != 0)
            return gptc_fail(ctx, GPTC_EINVAL, "config: d_model = %d is not divisible by encoder_attention_heads = %d",
                             c->n_embd, c->enc_n_head);
        if (c->pre_norm || !c->causal || !c->sinusoidal_pos || !c->cross_attention || c->head != GPTC_HEAD_LM)
            return gptc_fail(ctx, GPTC_EINVAL, "config: a Marian model is post-norm with sinusoidal positions, a causal "
                                               "decoder with cross-attention and the LM head (MarianMTModel)");
        if ((c->share_embeddings != 0 && c->share_embeddings != 1) || (c->scale_embedding != 0 && c->scale_embedding != 1))
            return gptc_fail(ctx, GPTC_EINVAL, "config: share_encoder_decoder_embeddings and scale_embedding must be 0 or 1");
    } else if (c->enc_layers)
        return gptc_fail(ctx, GPTC_EINVAL, "config: encoder layers belong to an encoder-decoder (model_type marian)");
    if (c->arch == GPTC_ARCH_BERT && (c->pre_norm || c->causal || c->sinusoidal_pos || c->cross_attention))
        return gptc_fail(ctx, GPTC_EINVAL, "config: a BERT block is post-norm and bidirectional with learned positions");
    if (c->classifier_dropout >= 0 && bad_prob(c->classifier_dropout))
        return gptc_fail(ctx, GPTC_EINVAL, "config: classifier_dropout = %g must be in [0, 1)", (double)c->classifier_dropout);
    if (bad_prob(c->embd_pdrop) || bad_prob(c->attn_pdrop) || bad_prob(c->resid_pdrop))
        return gptc_fail(ctx, GPTC_EINVAL, "config: dropout probabilities (embd %g, attn %g, resid %g) must be in [0, 1)",
                         (double)c->embd_pdrop, (double)c->attn_pdrop, (double)c->resid_pdrop);
    int marian = c->arch == GPTC_ARCH_MARIAN;
    if (!memchr(c->activation_function, 0, sizeof c->activation_function) ||
        (marian ? gptc_act_parse(c->activation_function) < 0 : !canonical_activation(c->activation_function)))
        return gptc_fail(ctx, GPTC_ENOTSUP, "config: activation_function '%.15s' is not supported (%s)",
                         c->activation_function,
                         marian ? "relu, swish, silu, gelu, gelu_new" : "gelu_new, gelu_pytorch_tanh, gelu");
    struct { const char *name; int v; } flags[] = {
        {"causal", c->causal}, {"pre_norm", c->pre_norm}, {"sinusoidal_pos", c->sinusoidal_pos},
        {"cross_attention", c->cross_attention}, {"tie_word_embeddings", c->tie_word_embeddings},
        {"mlm_only", c->mlm_only},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (flags[i].v != 0 && flags[i].v != 1)
            return gptc_fail(ctx, GPTC_EINVAL, "config: %s = %d must be 0 or 1", flags[i].name, flags[i].v);
    return GPTC_OK;
}

/* ---------------------------------------------------------------- config.json */

/* Reads an integer field. Missing: *out untouched, returns 0 (1 when required:
 * an error). null: *out = null_value when null_ok. */
static gptc_status get_int(gptc_ctx *ctx, const char *path, json_t *root, const char *key, int required,
                           int null_ok, int null_value, int *out) {
    json_t *v = json_object_get(root, key);
    if (!v) return required ? gptc_fail(ctx, GPTC_EFORMAT, "%s: missing required field \"%s\"", path, key) : GPTC_OK;
    if (json_is_null(v) && null_ok) {
        *out = null_value;
        return GPTC_OK;
    }
    if (!json_is_integer(v))
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"%s\" must be an integer%s", path, key,
                         null_ok ? " or null" : "");
    json_int_t x = json_integer_value(v);
    if (x < -2147483647LL || x > 2147483647LL)
        return gptc_fail(ctx, GPTC_ERANGE, "%s: field \"%s\" = %lld is out of range", path, key, (long long)x);
    *out = (int)x;
    return GPTC_OK;
}

static gptc_status get_float(gptc_ctx *ctx, const char *path, json_t *root, const char *key, float *out) {
    json_t *v = json_object_get(root, key);
    if (!v) return GPTC_OK;
    if (!json_is_number(v)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"%s\" must be a number", path, key);
    *out = (float)json_number_value(v);
    return GPTC_OK;
}

static gptc_status get_bool(gptc_ctx *ctx, const char *path, json_t *root, const char *key, int *out) {
    json_t *v = json_object_get(root, key);
    if (!v) return GPTC_OK;
    if (!json_is_boolean(v)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"%s\" must be true or false", path, key);
    *out = json_is_true(v);
    return GPTC_OK;
}

/* id2label of a classifier: 2 to GPTC_MAX_LABELS ids "0".."n-1"; problem_type
 * "regression" (or one id, as transformers infers it): one output, MSE loss. */
static gptc_status get_labels(gptc_ctx *ctx, const char *path, json_t *root, gptc_config *c) {
    json_t *labels = json_object_get(root, "id2label"), *pt = json_object_get(root, "problem_type");
    const char *pts = json_is_string(pt) ? json_string_value(pt) : NULL;
    if (pt && !json_is_null(pt) && !(pts && (!strcmp(pts, "single_label_classification") || !strcmp(pts, "regression"))))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"problem_type\": single_label_classification and regression are "
                                            "built", path);
    int regression = pts && !strcmp(pts, "regression");
    if (regression && (!labels || json_is_null(labels))) {
        c->num_labels = 1;
        c->id2label[0][0] = 0;
        return GPTC_OK;
    }
    size_t nl = json_is_object(labels) ? json_object_size(labels) : 0;
    if (regression && nl != 1)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: problem_type \"regression\" has one output: field \"id2label\" must map "
                                            "one id (%zu here)", path, nl);
    if (nl == 1 && pts && !regression)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: problem_type \"%s\" with one label in \"id2label\" (one output is "
                                            "\"regression\")", path, pts);
    if (!json_is_object(labels) || nl < 1 || nl > GPTC_MAX_LABELS)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"id2label\" must map 2 to %d ids (\"0\", \"1\", ...) to "
                                            "label names, or one for a regression", path, GPTC_MAX_LABELS);
    c->num_labels = (int)json_object_size(labels);
    for (int i = 0; i < c->num_labels; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        json_t *v = json_object_get(labels, key);
        if (!json_is_string(v) || json_string_length(v) >= GPTC_LABEL_MAX)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"id2label\" lacks id \"%s\" (ids must be 0..%d, "
                                                "names shorter than %d bytes)", path, key, c->num_labels - 1,
                             GPTC_LABEL_MAX);
        strcpy(c->id2label[i], json_string_value(v));
    }
    return GPTC_OK;
}

/* BertConfig's field names (transformers' configuration_bert.py defaults where absent). */
static gptc_status parse_bert(gptc_ctx *ctx, const char *path, json_t *root, gptc_config *c) {
    gptc_status s;
    *c = gptc_config_bert_default();
    float hidden_drop = c->resid_pdrop;
    if ((s = get_int(ctx, path, root, "num_hidden_layers", 0, 0, 0, &c->n_layer)) ||
        (s = get_int(ctx, path, root, "num_attention_heads", 0, 0, 0, &c->n_head)) ||
        (s = get_int(ctx, path, root, "hidden_size", 0, 0, 0, &c->n_embd)) ||
        (s = get_int(ctx, path, root, "vocab_size", 0, 0, 0, &c->vocab_size)) ||
        (s = get_int(ctx, path, root, "max_position_embeddings", 0, 0, 0, &c->n_positions)) ||
        (s = get_int(ctx, path, root, "intermediate_size", 0, 0, 0, &c->n_inner)) ||
        (s = get_int(ctx, path, root, "type_vocab_size", 0, 0, 0, &c->type_vocab_size)) ||
        (s = get_int(ctx, path, root, "pad_token_id", 0, 1, -1, &c->pad_token_id)) ||
        (s = get_float(ctx, path, root, "layer_norm_eps", &c->layer_norm_epsilon)) ||
        (s = get_float(ctx, path, root, "hidden_dropout_prob", &hidden_drop)) ||
        (s = get_float(ctx, path, root, "attention_probs_dropout_prob", &c->attn_pdrop)) ||
        (s = get_bool(ctx, path, root, "tie_word_embeddings", &c->tie_word_embeddings)))
        return s;
    if (!json_object_get(root, "intermediate_size")) c->n_inner = 4 * c->n_embd;
    c->embd_pdrop = c->resid_pdrop = hidden_drop;
    json_t *cd = json_object_get(root, "classifier_dropout");
    if (cd && !json_is_null(cd)) {
        if (!json_is_number(cd))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"classifier_dropout\" must be a number or null", path);
        c->classifier_dropout = (float)json_number_value(cd);
    }
    json_t *act = json_object_get(root, "hidden_act");
    if (act) {
        if (!json_is_string(act)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"hidden_act\" must be a string", path);
        const char *a = canonical_activation(json_string_value(act));
        if (!a)
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"hidden_act\" = '%s' is not supported (gelu, gelu_new)",
                             path, json_string_value(act));
        strcpy(c->activation_function, a);
    }
    json_t *pe = json_object_get(root, "position_embedding_type");
    if (pe && !(json_is_string(pe) && !strcmp(json_string_value(pe), "absolute")))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"position_embedding_type\" must be \"absolute\"", path);
    int dec = 0;
    if ((s = get_bool(ctx, path, root, "is_decoder", &dec)) || (s = get_bool(ctx, path, root, "add_cross_attention", &dec)))
        return s;
    if (dec) return gptc_fail(ctx, GPTC_ENOTSUP, "%s: a BERT decoder (is_decoder, add_cross_attention) is not supported", path);
    json_t *archs = json_object_get(root, "architectures");
    const char *arch = json_is_array(archs) && json_is_string(json_array_get(archs, 0))
                           ? json_string_value(json_array_get(archs, 0)) : "BertForPreTraining";
    if (!strcmp(arch, "BertForSequenceClassification")) {
        c->head = GPTC_HEAD_CLASSIFY;
        if ((s = get_labels(ctx, path, root, c))) return s;
    } else if (!strcmp(arch, "BertForQuestionAnswering")) {
        c->head = GPTC_HEAD_QA;
    } else if (!strcmp(arch, "BertForMaskedLM")) {
        c->mlm_only = 1;
    } else if (strcmp(arch, "BertForPreTraining") && strcmp(arch, "BertModel"))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"architectures\" names %s; supported: BertForPreTraining, "
                                            "BertForMaskedLM, BertForSequenceClassification, BertForQuestionAnswering",
                         path, arch);
    if ((s = gptc_config_validate(ctx, c))) return gptc_fail_prefix(ctx, s, "%s", path);
    return GPTC_OK;
}

/* MarianConfig's field names (transformers' configuration_marian.py defaults where
 * absent; pad_token_id and decoder_start_token_id default to the last id). */
static gptc_status parse_marian(gptc_ctx *ctx, const char *path, json_t *root, gptc_config *c) {
    gptc_status s;
    *c = gptc_config_marian_default();
    int dec_layers = 12, dec_vocab = -1;
    float act_drop = 0;
    if ((s = get_int(ctx, path, root, "vocab_size", 0, 0, 0, &c->vocab_size))) return s;
    c->pad_token_id = c->decoder_start_token_id = c->vocab_size - 1;
    if ((s = get_int(ctx, path, root, "d_model", 0, 0, 0, &c->n_embd)) ||
        (s = get_int(ctx, path, root, "encoder_layers", 0, 0, 0, &c->enc_layers)) ||
        (s = get_int(ctx, path, root, "decoder_layers", 0, 0, 0, &dec_layers)) ||
        (s = get_int(ctx, path, root, "encoder_attention_heads", 0, 0, 0, &c->enc_n_head)) ||
        (s = get_int(ctx, path, root, "decoder_attention_heads", 0, 0, 0, &c->n_head)) ||
        (s = get_int(ctx, path, root, "encoder_ffn_dim", 0, 0, 0, &c->enc_n_inner)) ||
        (s = get_int(ctx, path, root, "decoder_ffn_dim", 0, 0, 0, &c->n_inner)) ||
        (s = get_int(ctx, path, root, "max_position_embeddings", 0, 0, 0, &c->n_positions)) ||
        (s = get_int(ctx, path, root, "decoder_vocab_size", 0, 1, -1, &dec_vocab)) ||
        (s = get_int(ctx, path, root, "pad_token_id", 0, 1, -1, &c->pad_token_id)) ||
        (s = get_int(ctx, path, root, "eos_token_id", 0, 1, -1, &c->eos_token_id)) ||
        (s = get_int(ctx, path, root, "bos_token_id", 0, 1, -1, &c->bos_token_id)) ||
        (s = get_int(ctx, path, root, "decoder_start_token_id", 0, 1, -1, &c->decoder_start_token_id)) ||
        (s = get_float(ctx, path, root, "dropout", &c->resid_pdrop)) ||
        (s = get_float(ctx, path, root, "attention_dropout", &c->attn_pdrop)) ||
        (s = get_float(ctx, path, root, "activation_dropout", &act_drop)) ||
        (s = get_bool(ctx, path, root, "scale_embedding", &c->scale_embedding)) ||
        (s = get_bool(ctx, path, root, "share_encoder_decoder_embeddings", &c->share_embeddings)) ||
        (s = get_bool(ctx, path, root, "tie_word_embeddings", &c->tie_word_embeddings)))
        return s;
    c->embd_pdrop = c->resid_pdrop;
    if (dec_layers < 1 || dec_layers > 512 || c->enc_layers < 1 || c->enc_layers > 512)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: encoder_layers = %d and decoder_layers = %d must be in [1, 512]", path,
                         c->enc_layers, dec_layers);
    c->n_layer = c->enc_layers + dec_layers;
    if (dec_vocab >= 0 && dec_vocab != c->vocab_size)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"decoder_vocab_size\" = %d differs from vocab_size = %d (a "
                                            "separate target vocabulary is not supported)", path, dec_vocab, c->vocab_size);
    if (act_drop != 0)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"activation_dropout\" = %g is not supported (only 0)", path,
                         (double)act_drop);
    json_t *act = json_object_get(root, "activation_function");
    if (act) {
        if (!json_is_string(act) || json_string_length(act) >= sizeof c->activation_function)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"activation_function\" must be a short string", path);
        strcpy(c->activation_function, json_string_value(act));
    }
    json_t *archs = json_object_get(root, "architectures");
    const char *arch = json_is_array(archs) && json_is_string(json_array_get(archs, 0))
                           ? json_string_value(json_array_get(archs, 0)) : "MarianMTModel";
    if (strcmp(arch, "MarianMTModel") && strcmp(arch, "MarianModel"))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"architectures\" names %s; supported: MarianMTModel", path, arch);
    if ((s = gptc_config_validate(ctx, c))) return gptc_fail_prefix(ctx, s, "%s", path);
    return GPTC_OK;
}

static gptc_status parse_config(gptc_ctx *ctx, const char *path, json_t *root, gptc_config *c) {
    gptc_status s;
    if (!json_is_object(root)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: top level is not a JSON object", path);
    json_t *mt = json_object_get(root, "model_type");
    if (mt && !json_is_string(mt)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"model_type\" must be a string", path);
    if (mt && !strcmp(json_string_value(mt), "bert")) return parse_bert(ctx, path, root, c);
    if (mt && !strcmp(json_string_value(mt), "marian")) return parse_marian(ctx, path, root, c);
    if (mt && strcmp(json_string_value(mt), "gpt2") != 0)
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"model_type\" is '%s'; supported: \"gpt2\", \"bert\", "
                                            "\"marian\"", path, json_string_value(mt));
    *c = gptc_config_default();
    /* n_positions is required; old configs may only have n_ctx (the same number). */
    int has_pos = json_object_get(root, "n_positions") != NULL;
    if ((s = get_int(ctx, path, root, "n_layer", 1, 0, 0, &c->n_layer)) ||
        (s = get_int(ctx, path, root, "n_head", 1, 0, 0, &c->n_head)) ||
        (s = get_int(ctx, path, root, "n_embd", 1, 0, 0, &c->n_embd)) ||
        (s = get_int(ctx, path, root, "vocab_size", 1, 0, 0, &c->vocab_size)) ||
        (s = get_int(ctx, path, root, has_pos ? "n_positions" : "n_ctx", 1, 0, 0, &c->n_positions)) ||
        (s = get_int(ctx, path, root, "n_inner", 0, 1, 0, &c->n_inner)) ||
        (s = get_int(ctx, path, root, "bos_token_id", 0, 1, -1, &c->bos_token_id)) ||
        (s = get_int(ctx, path, root, "eos_token_id", 0, 1, -1, &c->eos_token_id)) ||
        (s = get_float(ctx, path, root, "layer_norm_epsilon", &c->layer_norm_epsilon)) ||
        (s = get_float(ctx, path, root, "embd_pdrop", &c->embd_pdrop)) ||
        (s = get_float(ctx, path, root, "attn_pdrop", &c->attn_pdrop)) ||
        (s = get_float(ctx, path, root, "resid_pdrop", &c->resid_pdrop)) ||
        (s = get_bool(ctx, path, root, "tie_word_embeddings", &c->tie_word_embeddings)))
        return s;
    json_t *act = json_object_get(root, "activation_function");
    if (act) {
        if (!json_is_string(act))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"activation_function\" must be a string", path);
        const char *a = canonical_activation(json_string_value(act));
        if (!a)
            return gptc_fail(ctx, GPTC_ENOTSUP,
                             "%s: field \"activation_function\" = '%s' is not supported (gelu_new, gelu_pytorch_tanh, gelu)",
                             path, json_string_value(act));
        strcpy(c->activation_function, a);
    }
    /* GPT2Config switches that would change the computation: only GPT-2's values. */
    struct { const char *key; int want; } sw[] = {
        {"scale_attn_weights", 1}, {"scale_attn_by_inverse_layer_idx", 0}, {"add_cross_attention", 0},
    };
    for (size_t i = 0; i < sizeof sw / sizeof sw[0]; i++) {
        int v = sw[i].want;
        if ((s = get_bool(ctx, path, root, sw[i].key, &v))) return s;
        if (v != sw[i].want)
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"%s\" = %s is not supported", path, sw[i].key,
                             v ? "true" : "false");
    }
    /* The head: Hugging Face's class name in "architectures"; labels in id2label. */
    json_t *archs = json_object_get(root, "architectures");
    const char *arch = json_is_array(archs) && json_is_string(json_array_get(archs, 0))
                           ? json_string_value(json_array_get(archs, 0)) : "GPT2LMHeadModel";
    if (!strcmp(arch, "GPT2ForSequenceClassification")) c->head = GPTC_HEAD_CLASSIFY;
    else if (!strcmp(arch, "GPT2ForQuestionAnswering")) c->head = GPTC_HEAD_QA;
    else if (strcmp(arch, "GPT2LMHeadModel") && strcmp(arch, "GPT2Model"))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: field \"architectures\" names %s; supported: GPT2LMHeadModel, "
                                            "GPT2ForSequenceClassification, GPT2ForQuestionAnswering", path, arch);
    if ((s = get_int(ctx, path, root, "pad_token_id", 0, 1, -1, &c->pad_token_id))) return s;
    if (c->head == GPTC_HEAD_CLASSIFY && (s = get_labels(ctx, path, root, c))) return s;
    /* gptc's own block options, present only for non-GPT-2 blocks (see docs/formats.md). */
    json_t *blk = json_object_get(root, "gptc_block");
    if (blk) {
        if (!json_is_object(blk)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"gptc_block\" must be an object", path);
        if ((s = get_bool(ctx, path, blk, "causal", &c->causal)) || (s = get_bool(ctx, path, blk, "pre_norm", &c->pre_norm)) ||
            (s = get_bool(ctx, path, blk, "sinusoidal_pos", &c->sinusoidal_pos)) ||
            (s = get_bool(ctx, path, blk, "cross_attention", &c->cross_attention)))
            return s;
    }
    if ((s = gptc_config_validate(ctx, c))) return gptc_fail_prefix(ctx, s, "%s", path);
    return GPTC_OK;
}

gptc_status gptc_config_load_json(gptc_ctx *ctx, const char *path, gptc_config *out) {
    char *text;
    size_t len;
    gptc_status s = gptc_file_read(ctx, path, &text, &len);
    if (s) return s;
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    gptc_free(text);
    if (!root)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: invalid JSON at line %d column %d: %s", path, err.line, err.column,
                         err.text);
    gptc_config c;
    s = parse_config(ctx, path, root, &c);
    json_decref(root);
    if (s == GPTC_OK) *out = c;
    return s;
}

/* A JSON real holding the shortest decimal that reads back as f (1e-05, not
 * 9.99999974737875e-06), so config.json shows the numbers a person typed. */
static json_t *json_float(float f) {
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return json_real(strtod(buf, NULL));
}

gptc_status gptc_config_save_json(gptc_ctx *ctx, const gptc_config *c, const char *path) {
    gptc_status s = gptc_config_validate(ctx, c);
    if (s) return gptc_fail_prefix(ctx, s, "%s", path);
    json_t *o = json_object();
    if (!o) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", path);
    int bad = 0;
#define SET(k, v) (bad |= json_object_set_new(o, k, v))
    int bert = c->arch == GPTC_ARCH_BERT;
    json_t *arch = json_array();
    if (c->arch == GPTC_ARCH_MARIAN) {
        /* MarianConfig's names, as MarianConfig.to_json_string writes them */
        bad |= json_array_append_new(arch, json_string("MarianMTModel"));
        SET("architectures", arch);
        SET("activation_dropout", json_real(0.0));
        SET("activation_function", json_string(c->activation_function));
        SET("attention_dropout", json_float(c->attn_pdrop));
        SET("bos_token_id", c->bos_token_id < 0 ? json_null() : json_integer(c->bos_token_id));
        SET("d_model", json_integer(c->n_embd));
        SET("decoder_attention_heads", json_integer(c->n_head));
        SET("decoder_ffn_dim", json_integer(c->n_inner));
        SET("decoder_layerdrop", json_real(0.0));
        SET("decoder_layers", json_integer(c->n_layer - c->enc_layers));
        SET("decoder_start_token_id", json_integer(c->decoder_start_token_id));
        SET("decoder_vocab_size", json_integer(c->vocab_size));
        SET("dropout", json_float(c->resid_pdrop));
        SET("encoder_attention_heads", json_integer(c->enc_n_head));
        SET("encoder_ffn_dim", json_integer(c->enc_n_inner));
        SET("encoder_layerdrop", json_real(0.0));
        SET("encoder_layers", json_integer(c->enc_layers));
        SET("eos_token_id", c->eos_token_id < 0 ? json_null() : json_integer(c->eos_token_id));
        SET("forced_eos_token_id", c->eos_token_id < 0 ? json_null() : json_integer(c->eos_token_id));
        SET("init_std", json_real(0.02));
        SET("is_encoder_decoder", json_true());
        SET("max_position_embeddings", json_integer(c->n_positions));
        SET("model_type", json_string("marian"));
        SET("num_hidden_layers", json_integer(c->enc_layers));
        SET("pad_token_id", c->pad_token_id < 0 ? json_null() : json_integer(c->pad_token_id));
        SET("scale_embedding", json_boolean(c->scale_embedding));
        SET("share_encoder_decoder_embeddings", json_boolean(c->share_embeddings));
        SET("tie_word_embeddings", json_boolean(c->tie_word_embeddings));
        SET("use_cache", json_true());
        SET("vocab_size", json_integer(c->vocab_size));
        goto dump;
    }
    bad |= json_array_append_new(arch, json_string(c->head == GPTC_HEAD_CLASSIFY
                                                       ? (bert ? "BertForSequenceClassification" : "GPT2ForSequenceClassification")
                                                   : c->head == GPTC_HEAD_QA ? (bert ? "BertForQuestionAnswering" : "GPT2ForQuestionAnswering")
                                                   : bert ? (c->mlm_only ? "BertForMaskedLM" : "BertForPreTraining")
                                                          : "GPT2LMHeadModel"));
    if (c->pad_token_id >= 0) SET("pad_token_id", json_integer(c->pad_token_id));
    if (c->head == GPTC_HEAD_CLASSIFY) {
        json_t *i2l = json_object(), *l2i = json_object();
        for (int i = 0; i < c->num_labels; i++) {
            char key[16], name[GPTC_LABEL_MAX + 16];
            snprintf(key, sizeof key, "%d", i);
            if (c->id2label[i][0]) snprintf(name, sizeof name, "%s", c->id2label[i]);
            else snprintf(name, sizeof name, "LABEL_%d", i);
            bad |= json_object_set_new(i2l, key, json_string(name));
            bad |= json_object_set_new(l2i, name, json_integer(i));
        }
        SET("id2label", i2l);
        SET("label2id", l2i);
        if (c->num_labels == 1) SET("problem_type", json_string("regression"));
    }
    SET("architectures", arch);
    if (bert) {
        /* BertConfig's names, as BertConfig.to_json_string writes them */
        SET("attention_probs_dropout_prob", json_float(c->attn_pdrop));
        SET("classifier_dropout", c->classifier_dropout < 0 ? json_null() : json_float(c->classifier_dropout));
        SET("hidden_act", json_string(c->activation_function));
        SET("hidden_dropout_prob", json_float(c->resid_pdrop));
        SET("hidden_size", json_integer(c->n_embd));
        SET("initializer_range", json_real(0.02));
        SET("intermediate_size", json_integer(c->n_inner > 0 ? c->n_inner : 4 * c->n_embd));
        SET("layer_norm_eps", json_float(c->layer_norm_epsilon));
        SET("max_position_embeddings", json_integer(c->n_positions));
        SET("model_type", json_string("bert"));
        SET("num_attention_heads", json_integer(c->n_head));
        SET("num_hidden_layers", json_integer(c->n_layer));
        SET("position_embedding_type", json_string("absolute"));
        SET("tie_word_embeddings", json_boolean(c->tie_word_embeddings));
        SET("type_vocab_size", json_integer(c->type_vocab_size));
        SET("use_cache", json_true());
        SET("vocab_size", json_integer(c->vocab_size));
        goto dump;
    }
    SET("activation_function", json_string(c->activation_function));
    SET("attn_pdrop", json_float(c->attn_pdrop));
    SET("bos_token_id", c->bos_token_id < 0 ? json_null() : json_integer(c->bos_token_id));
    SET("embd_pdrop", json_float(c->embd_pdrop));
    SET("eos_token_id", c->eos_token_id < 0 ? json_null() : json_integer(c->eos_token_id));
    SET("initializer_range", json_real(0.02));
    SET("layer_norm_epsilon", json_float(c->layer_norm_epsilon));
    SET("model_type", json_string("gpt2"));
    SET("n_ctx", json_integer(c->n_positions));
    SET("n_embd", json_integer(c->n_embd));
    SET("n_head", json_integer(c->n_head));
    SET("n_inner", c->n_inner ? json_integer(c->n_inner) : json_null());
    SET("n_layer", json_integer(c->n_layer));
    SET("n_positions", json_integer(c->n_positions));
    SET("reorder_and_upcast_attn", json_false());
    SET("resid_pdrop", json_float(c->resid_pdrop));
    SET("scale_attn_by_inverse_layer_idx", json_false());
    SET("scale_attn_weights", json_true());
    SET("summary_activation", json_null());
    SET("summary_first_dropout", json_real(0.1));
    SET("summary_proj_to_labels", json_true());
    SET("summary_type", json_string("cls_index"));
    SET("summary_use_proj", json_true());
    SET("tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    SET("use_cache", json_true());
    SET("vocab_size", json_integer(c->vocab_size));
    if (c->causal != 1 || c->pre_norm != 1 || c->sinusoidal_pos != 0 || c->cross_attention != 0) {
        json_t *blk = json_object();
        bad |= json_object_set_new(blk, "causal", json_boolean(c->causal));
        bad |= json_object_set_new(blk, "pre_norm", json_boolean(c->pre_norm));
        bad |= json_object_set_new(blk, "sinusoidal_pos", json_boolean(c->sinusoidal_pos));
        bad |= json_object_set_new(blk, "cross_attention", json_boolean(c->cross_attention));
        SET("gptc_block", blk);
    }
dump:
#undef SET
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory writing JSON", path);
    gptc_iovec parts[2] = {{text, strlen(text)}, {"\n", 1}};
    s = gptc_file_write_atomic(ctx, path, parts, 2);
    free(text);
    return s;
}
