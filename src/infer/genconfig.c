/* genconfig.c: generation parameters: Hugging Face's GenerationConfig defaults, range
 * checks, and generation_config.json read and written with HF field names. The decoding
 * loops that use them are in generate.c. */
#include "../core/core.h"
#include "../core/core.h"
#include <jansson.h>
#include <math.h>
#include <string.h>

gptc_gen_params gptc_gen_default_params(void) {
    gptc_gen_params p;
    memset(&p, 0, sizeof p);
    p.max_new_tokens = -1;
    p.max_length = 20;
    p.do_sample = 0;
    p.temperature = 1.0f;
    p.top_k = 50;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.typical_p = 1.0f;
    p.repetition_penalty = 1.0f;
    p.no_repeat_ngram_size = 0;
    p.num_return_sequences = 1;
    p.num_beams = 1;
    p.length_penalty = 1.0f;
    p.early_stopping = 0;
    p.n_eos = -1;
    p.n_stop = 0;
    p.seed = 0;
    p.forced_eos_token_id = -1;
    p.decoder_start_token_id = -1;
    return p;
}

const char *gptc_finish_reason_name(gptc_finish_reason r) {
    static const char *names[] = {"length", "eos", "stop"};
    _Static_assert(sizeof names / sizeof names[0] == GPTC_FINISH_COUNT, "finish reason names");
    return (unsigned)r < GPTC_FINISH_COUNT ? names[r] : "unknown";
}

gptc_status gptc_gen_params_validate(gptc_ctx *ctx, const gptc_gen_params *p) {
    const char *bad = NULL;
    if (p->max_new_tokens < -1) bad = "max_new_tokens must be >= 0 (or -1 to use max_length)";
    else if (p->max_new_tokens < 0 && p->max_length < 1) bad = "max_length must be >= 1";
    else if (!(p->temperature >= 0) || !isfinite(p->temperature)) bad = "temperature must be >= 0";
    else if (p->top_k < 0) bad = "top_k must be >= 0";
    else if (!(p->top_p > 0 && p->top_p <= 1)) bad = "top_p must be in (0, 1]";
    else if (!(p->min_p >= 0 && p->min_p <= 1)) bad = "min_p must be in [0, 1]";
    else if (!(p->typical_p > 0 && p->typical_p <= 1)) bad = "typical_p must be in (0, 1]";
    else if (!(p->repetition_penalty > 0) || !isfinite(p->repetition_penalty)) bad = "repetition_penalty must be > 0";
    else if (p->no_repeat_ngram_size < 0) bad = "no_repeat_ngram_size must be >= 0";
    else if (p->num_beams < 1 || p->num_beams > 256) bad = "num_beams must be in [1, 256]";
    else if (p->num_return_sequences < 1 || p->num_return_sequences > 256) bad = "num_return_sequences must be in [1, 256]";
    else if (p->num_beams > 1 && p->num_return_sequences > p->num_beams)
        bad = "num_return_sequences must be <= num_beams with beam search";
    else if (p->num_beams > 1 && p->do_sample) bad = "beam search with sampling (do_sample and num_beams > 1) is not supported";
    else if (p->num_beams > 1 && p->n_stop > 0) bad = "stop strings are not supported with beam search";
    else if (!isfinite(p->length_penalty)) bad = "length_penalty must be finite";
    else if (p->early_stopping < 0 || p->early_stopping > 2) bad = "early_stopping must be 0 (false), 1 (true) or 2 (never)";
    else if (p->n_eos > GPTC_GEN_MAX_EOS) bad = "too many eos_token_id values";
    else if (p->n_stop < 0 || p->n_stop > GPTC_GEN_MAX_STOP) bad = "too many stop strings";
    else if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty)) bad = "penalties must be finite";
    else if (p->n_bad_words < 0 || p->n_bad_words > GPTC_GEN_MAX_EOS) bad = "too many bad_words_ids";
    if (bad) return gptc_fail(ctx, GPTC_EINVAL, "generation: %s", bad);
    for (int i = 0; i < p->n_stop; i++)
        if (!p->stop_strings[i][0] || !memchr(p->stop_strings[i], 0, GPTC_GEN_STOP_LEN))
            return gptc_fail(ctx, GPTC_EINVAL, "generation: stop string %d is empty or longer than %d bytes", i,
                             GPTC_GEN_STOP_LEN - 1);
    return GPTC_OK;
}

/* ------------------------------------------------------------------ generation_config.json */
static gptc_status num_field(gptc_ctx *ctx, const char *path, json_t *root, const char *key, int integer,
                             double lo, double hi, double *out, int *found) {
    json_t *v = json_object_get(root, key);
    *found = 0;
    if (!v || json_is_null(v)) return GPTC_OK;
    if (integer ? !json_is_integer(v) : !json_is_number(v))
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"%s\" must be %s", path, key, integer ? "an integer" : "a number");
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"%s\" = %g is out of range", path, key, x);
    *out = x;
    *found = 1;
    return GPTC_OK;
}

static gptc_status parse(gptc_ctx *ctx, const char *path, json_t *root, gptc_gen_params *p) {
    if (!json_is_object(root)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: top level is not a JSON object", path);
    static const struct { const char *key; int integer; double lo, hi; } nums[] = {
        {"max_new_tokens", 1, 0, 1e9}, {"max_length", 1, 1, 1e9}, {"temperature", 0, 0, 1e6},
        {"top_k", 1, 0, 1e9}, {"top_p", 0, 0, 1}, {"min_p", 0, 0, 1}, {"typical_p", 0, 0, 1},
        {"repetition_penalty", 0, 1e-6, 1e6}, {"no_repeat_ngram_size", 1, 0, 1e6},
        {"num_return_sequences", 1, 1, 256}, {"num_beams", 1, 1, 256}, {"length_penalty", 0, -1e6, 1e6},
        {"presence_penalty", 0, -1e6, 1e6}, {"frequency_penalty", 0, -1e6, 1e6}, {"seed", 1, 0, 9.007199254740992e15},
        {"forced_eos_token_id", 1, 0, INT32_MAX}, {"decoder_start_token_id", 1, 0, INT32_MAX},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        double x;
        int found;
        gptc_status st = num_field(ctx, path, root, nums[i].key, nums[i].integer, nums[i].lo, nums[i].hi, &x, &found);
        if (st) return st;
        if (!found) continue;
        switch (i) {
        case 0: p->max_new_tokens = (int)x; break;
        case 1: p->max_length = (int)x; break;
        case 2: p->temperature = (float)x; break;
        case 3: p->top_k = (int)x; break;
        case 4: p->top_p = (float)x; break;
        case 5: p->min_p = (float)x; break;
        case 6: p->typical_p = (float)x; break;
        case 7: p->repetition_penalty = (float)x; break;
        case 8: p->no_repeat_ngram_size = (int)x; break;
        case 9: p->num_return_sequences = (int)x; break;
        case 10: p->num_beams = (int)x; break;
        case 11: p->length_penalty = (float)x; break;
        case 12: p->presence_penalty = (float)x; break;
        case 13: p->frequency_penalty = (float)x; break;
        case 14: p->seed = (uint64_t)x; break;
        case 15: p->forced_eos_token_id = (int32_t)x; break;
        case 16: p->decoder_start_token_id = (int32_t)x; break;
        }
    }
    json_t *v = json_object_get(root, "do_sample");
    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"do_sample\" must be true or false", path);
        p->do_sample = json_is_true(v);
    }
    v = json_object_get(root, "early_stopping");
    if (v && !json_is_null(v)) {
        if (json_is_boolean(v)) p->early_stopping = json_is_true(v);
        else if (json_is_string(v) && !strcmp(json_string_value(v), "never")) p->early_stopping = 2;
        else return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"early_stopping\" must be true, false or \"never\"", path);
    }
    v = json_object_get(root, "eos_token_id");
    if (v && !json_is_null(v)) {
        json_t *one = v;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        if (n > GPTC_GEN_MAX_EOS)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"eos_token_id\" has %zu ids (at most %d)", path, n, GPTC_GEN_MAX_EOS);
        for (size_t i = 0; i < n; i++) {
            if (json_is_array(v)) one = json_array_get(v, i);
            if (!json_is_integer(one) || json_integer_value(one) < 0 || json_integer_value(one) > INT32_MAX)
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"eos_token_id\" must be a token id or a list of them", path);
            p->eos_token_id[i] = (int32_t)json_integer_value(one);
        }
        p->n_eos = (int)n;
    }
    v = json_object_get(root, "bad_words_ids");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) > GPTC_GEN_MAX_EOS)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"bad_words_ids\" must be a list of at most %d lists of ids",
                             path, GPTC_GEN_MAX_EOS);
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *w = json_array_get(v, i), *one = json_array_get(w, 0);
            if (!json_is_array(w) || !json_is_integer(one) || json_integer_value(one) < 0 ||
                json_integer_value(one) > INT32_MAX)
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: bad_words_ids[%zu] must be a non-empty list of token ids", path, i);
            if (json_array_size(w) != 1)
                return gptc_fail(ctx, GPTC_ENOTSUP, "%s: bad_words_ids[%zu] has %zu ids: only single-token bad words are "
                                 "supported", path, i, json_array_size(w));
            p->bad_words_ids[i] = (int32_t)json_integer_value(one);
        }
        p->n_bad_words = (int)json_array_size(v);
    }
    v = json_object_get(root, "stop_strings");
    if (v && !json_is_null(v)) {
        json_t *one = v;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        if (n > GPTC_GEN_MAX_STOP)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"stop_strings\" has %zu strings (at most %d)", path, n, GPTC_GEN_MAX_STOP);
        for (size_t i = 0; i < n; i++) {
            if (json_is_array(v)) one = json_array_get(v, i);
            if (!json_is_string(one) || !json_string_length(one) || json_string_length(one) >= GPTC_GEN_STOP_LEN)
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"stop_strings\" must hold non-empty strings of at most %d bytes",
                                 path, GPTC_GEN_STOP_LEN - 1);
            memcpy(p->stop_strings[i], json_string_value(one), json_string_length(one) + 1);
        }
        p->n_stop = (int)n;
    }
    return GPTC_OK;
}

gptc_status gptc_generation_config_load(gptc_ctx *ctx, const char *dir, gptc_gen_params *p) {
    char path[4096];
    gptc_status st = gptc_path_join(ctx, path, sizeof path, dir, "generation_config.json");
    if (st) return st;
    if (!gptc_file_exists(path)) return GPTC_OK;
    char *text;
    size_t size;
    if ((st = gptc_file_read(ctx, path, &text, &size))) return st;
    json_error_t err;
    json_t *root = json_loadb(text, size, 0, &err);
    gptc_free(text);
    if (!root) return gptc_fail(ctx, GPTC_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
    gptc_gen_params q = *p;
    st = parse(ctx, path, root, &q);
    json_decref(root);
    if (st) return st;
    *p = q;
    return GPTC_OK;
}

gptc_status gptc_generation_config_save(gptc_ctx *ctx, const char *dir, const gptc_gen_params *p) {
    gptc_gen_params d = gptc_gen_default_params();
    json_t *o = json_object();
    if (!o) return gptc_fail(ctx, GPTC_ENOMEM, "generation_config.json: out of memory");
    int bad = 0;
#define SET(key, val) bad |= json_object_set_new(o, key, val)
    if (p->max_new_tokens >= 0) SET("max_new_tokens", json_integer(p->max_new_tokens));
    if (p->max_length != d.max_length) SET("max_length", json_integer(p->max_length));
    if (p->do_sample) SET("do_sample", json_true());
    if (p->temperature != d.temperature) SET("temperature", json_real(p->temperature));
    if (p->top_k != d.top_k) SET("top_k", json_integer(p->top_k));
    if (p->top_p != d.top_p) SET("top_p", json_real(p->top_p));
    if (p->min_p != d.min_p) SET("min_p", json_real(p->min_p));
    if (p->typical_p != d.typical_p) SET("typical_p", json_real(p->typical_p));
    if (p->repetition_penalty != d.repetition_penalty) SET("repetition_penalty", json_real(p->repetition_penalty));
    if (p->no_repeat_ngram_size) SET("no_repeat_ngram_size", json_integer(p->no_repeat_ngram_size));
    if (p->num_return_sequences != 1) SET("num_return_sequences", json_integer(p->num_return_sequences));
    if (p->num_beams != 1) SET("num_beams", json_integer(p->num_beams));
    if (p->length_penalty != d.length_penalty) SET("length_penalty", json_real(p->length_penalty));
    if (p->early_stopping == 1) SET("early_stopping", json_true());
    if (p->early_stopping == 2) SET("early_stopping", json_string("never"));
    if (p->presence_penalty != 0) SET("presence_penalty", json_real(p->presence_penalty));
    if (p->frequency_penalty != 0) SET("frequency_penalty", json_real(p->frequency_penalty));
    if (p->n_eos == 1) SET("eos_token_id", json_integer(p->eos_token_id[0]));
    if (p->n_eos > 1) {
        json_t *a = json_array();
        for (int i = 0; i < p->n_eos; i++) bad |= json_array_append_new(a, json_integer(p->eos_token_id[i]));
        SET("eos_token_id", a);
    }
    if (p->forced_eos_token_id >= 0) SET("forced_eos_token_id", json_integer(p->forced_eos_token_id));
    if (p->decoder_start_token_id >= 0) SET("decoder_start_token_id", json_integer(p->decoder_start_token_id));
    if (p->n_bad_words > 0) {
        json_t *a = json_array();
        for (int i = 0; i < p->n_bad_words; i++) {
            json_t *w = json_array();
            bad |= json_array_append_new(w, json_integer(p->bad_words_ids[i]));
            bad |= json_array_append_new(a, w);
        }
        SET("bad_words_ids", a);
    }
    if (p->n_stop > 0) {
        json_t *a = json_array();
        for (int i = 0; i < p->n_stop; i++) bad |= json_array_append_new(a, json_string(p->stop_strings[i]));
        SET("stop_strings", a);
    }
#undef SET
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!text) return gptc_fail(ctx, GPTC_ENOMEM, "generation_config.json: out of memory");
    char path[4096];
    gptc_status st = gptc_path_join(ctx, path, sizeof path, dir, "generation_config.json");
    if (!st) {
        gptc_iovec parts[2] = {{text, strlen(text)}, {"\n", 1}};
        st = gptc_file_write_atomic(ctx, path, parts, 2);
    }
    free(text);
    return st;
}
