/* wordpiece_load.c: reads and writes WordPiece tokenizers in Hugging Face's files:
 * vocab.txt (one token a line, the line number is the id), tokenizer.json (model.type
 * "WordPiece", BertNormalizer, BertPreTokenizer, BERT's post-processor, WordPiece
 * decoder), tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars,
 * the special tokens' names, added_tokens_decoder) and special_tokens_map.json.
 * Encoding is in wordpiece.c. Every message names the file and the line, key or token. */
#define _GNU_SOURCE
#include "wordpiece.h"
#include "utf8.h"
#include "../core/core.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* What the files say, before the tokenizer is built. */
typedef struct wp_src {
    gptc_ctx *ctx;
    json_t *vocab;   /* {"token": id}: the model's vocabulary (owned) */
    json_t *added;   /* {"token": id or -1 (new)}: recognized in text (owned) */
    json_t *byid;    /* [token or null]: id -> token of the vocabulary (owned) */
    gptc_wp w;
    const char *role[5]; /* unk, cls, sep, pad, mask: names (point into JSON kept alive) */
    json_t *keep[4];     /* parsed files whose strings role[] points into */
} wp_src;

enum { R_UNK, R_CLS, R_SEP, R_PAD, R_MASK };
static const char *const role_key[5] = {"unk_token", "cls_token", "sep_token", "pad_token", "mask_token"};
static const char *const role_default[5] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};

static gptc_status src_put(wp_src *s, const char *path, const char *tok, size_t id) {
    while (json_array_size(s->byid) <= id)
        if (json_array_append_new(s->byid, json_null())) return gptc_fail(s->ctx, GPTC_ENOMEM, "%s: out of memory", path);
    if (json_array_set_new(s->byid, id, json_string(tok)) || json_object_set_new(s->vocab, tok, json_integer((json_int_t)id)))
        return gptc_fail(s->ctx, GPTC_ENOMEM, "%s: out of memory", path);
    return GPTC_OK;
}

/* vocab.txt: line i (from 0) is token i; the newline (and a carriage return before it) is
 * not part of the token; an empty line is an id without a token. */
static gptc_status read_vocab_txt(wp_src *s, const char *path) {
    gptc_ctx *ctx = s->ctx;
    char *data;
    size_t size;
    gptc_status st = gptc_file_read(ctx, path, &data, &size);
    if (st) return st;
    size_t line = 0;
    for (size_t i = 0; i < size && !st; line++) {
        const char *nl = memchr(data + i, '\n', size - i);
        size_t e = nl ? (size_t)(nl - data) : size, n = e - i;
        if (n && data[i + n - 1] == '\r') n--;
        if (memchr(data + i, 0, n)) st = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: NUL byte in a token", path, line + 1);
        else if (gptc_utf8_valid_len((const unsigned char *)data + i, n) != n)
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: token is not valid UTF-8", path, line + 1);
        else if (n > GPTC_TOKEN_MAX_BYTES)
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: token of %zu bytes is too long", path, line + 1, n);
        else if (line >= (1u << 24))
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: more than %u lines", path, 1u << 24);
        else if (n) {
            char save = data[i + n];
            data[i + n] = 0;
            st = src_put(s, path, data + i, line);
            data[i + n] = save;
        } else if (!st && json_array_append_new(s->byid, json_null())) {
            st = gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", path);
        }
        i = e + 1;
    }
    gptc_free(data);
    if (!st && line == 0) st = gptc_fail(ctx, GPTC_EFORMAT, "%s: empty vocabulary", path);
    return st;
}

static int get_bool(json_t *o, const char *key, int *out) {
    json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v)) return 0;
    *out = json_is_true(v);
    return 1;
}

/* A token named by a string or by {"content": ...}. */
static const char *token_name(json_t *v) {
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v) && json_is_string(json_object_get(v, "content"))) return json_string_value(json_object_get(v, "content"));
    return NULL;
}

static gptc_status added_put(wp_src *s, const char *path, const char *tok, json_int_t id) {
    if (!*tok) return gptc_fail(s->ctx, GPTC_EFORMAT, "%s: empty added token", path);
    json_t *old = json_object_get(s->added, tok);
    if (old && id < 0) return GPTC_OK;
    if (old && json_integer_value(old) >= 0 && json_integer_value(old) != id)
        return gptc_fail(s->ctx, GPTC_EFORMAT, "%s: added token \"%s\" has ids %lld and %lld", path, tok,
                         (long long)json_integer_value(old), (long long)id);
    if (json_object_set_new(s->added, tok, json_integer(id))) return gptc_fail(s->ctx, GPTC_ENOMEM, "%s: out of memory", path);
    return GPTC_OK;
}

/* An added token's options: gptc matches added tokens as tokenizers does for
 * {"normalized": false, "lstrip": false, "rstrip": false, "single_word": false}. */
static gptc_status added_check(gptc_ctx *ctx, const char *path, const char *where, json_t *o, const char *tok) {
    static const char *const opts[] = {"single_word", "lstrip", "rstrip", "normalized"};
    for (int k = 0; k < 4; k++) {
        int b = 0;
        if (get_bool(o, opts[k], &b) && b)
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: %s: added token \"%s\" with %s true is not supported", path, where, tok,
                             opts[k]);
    }
    return GPTC_OK;
}

/* The BERT shape of a TemplateProcessing: single [CLS] $A [SEP], pair [CLS] $A [SEP] $B:1 [SEP]:1. */
static int template_bert(json_t *pp, const char **cls, const char **sep) {
    json_t *single = json_object_get(pp, "single"), *pair = json_object_get(pp, "pair");
    if (json_array_size(single) != 3 || json_array_size(pair) != 5) return 0;
    const char *want[5] = {"S", "A", "S", "B", "S"};
    int type[5] = {0, 0, 0, 1, 1};
    const char *names[5] = {0};
    for (int k = 0; k < 5; k++) {
        json_t *e = json_array_get(pair, k);
        json_t *sp = json_object_get(e, "SpecialToken"), *sq = json_object_get(e, "Sequence");
        json_t *x = want[k][0] == 'S' ? sp : sq;
        if (!json_is_object(x) || json_integer_value(json_object_get(x, "type_id")) != type[k]) return 0;
        const char *id = json_string_value(json_object_get(x, "id"));
        if (!id || (want[k][0] != 'S' && strcmp(id, want[k]))) return 0;
        names[k] = id;
        if (k < 3) {
            json_t *se = json_array_get(single, k);
            json_t *y = json_object_get(se, want[k][0] == 'S' ? "SpecialToken" : "Sequence");
            const char *yid = json_string_value(json_object_get(y, "id"));
            if (!yid || strcmp(yid, id) || json_integer_value(json_object_get(y, "type_id")) != 0) return 0;
        }
    }
    if (strcmp(names[2], names[4])) return 0;
    *cls = names[0];
    *sep = names[2];
    return 1;
}

/* tokenizer.json: the model, normalizer, pre-tokenizer, post-processor, decoder and
 * added tokens. */
static gptc_status read_tokenizer_json(wp_src *s, const char *path, json_t *root) {
    gptc_ctx *ctx = s->ctx;
    json_t *model = json_object_get(root, "model");
    json_t *v = json_object_get(model, "vocab");
    if (!json_is_object(v)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.vocab is not an object", path);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= (1 << 24))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.vocab[\"%s\"]: id is not an integer in 0..16777215", path, key);
        if (!*key) return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.vocab: empty token", path);
        json_t *prev = json_array_get(s->byid, (size_t)json_integer_value(val));
        if (json_is_string(prev))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.vocab: \"%s\" and \"%s\" have the same id %lld", path,
                             json_string_value(prev), key, (long long)json_integer_value(val));
        gptc_status st = src_put(s, path, key, (size_t)json_integer_value(val));
        if (st) return st;
    }
    if (json_array_size(s->byid) == 0) return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.vocab is empty", path);
    json_t *unk = json_object_get(model, "unk_token");
    if (unk && !json_is_string(unk)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.unk_token is not a string", path);
    if (unk) s->role[R_UNK] = json_string_value(unk);
    json_t *pre = json_object_get(model, "continuing_subword_prefix");
    if (pre) {
        if (!json_is_string(pre) || json_string_length(pre) > GPTC_WP_PREFIX_MAX)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.continuing_subword_prefix: a string of at most %d bytes", path,
                             GPTC_WP_PREFIX_MAX);
        s->w.prefix_len = json_string_length(pre);
        memcpy(s->w.prefix, json_string_value(pre), s->w.prefix_len + 1);
    }
    json_t *mc = json_object_get(model, "max_input_chars_per_word");
    if (mc) {
        if (!json_is_integer(mc) || json_integer_value(mc) < 1 || json_integer_value(mc) > 1000000)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: model.max_input_chars_per_word: an integer in 1..1000000", path);
        s->w.max_chars = (size_t)json_integer_value(mc);
    }
    json_t *norm = json_object_get(root, "normalizer");
    if (norm && !json_is_null(norm)) {
        const char *nt = json_string_value(json_object_get(norm, "type"));
        if (!nt || strcmp(nt, "BertNormalizer"))
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: normalizer %s is not supported (WordPiece takes BertNormalizer)", path,
                             nt ? nt : "(no type)");
        get_bool(norm, "clean_text", &s->w.clean_text);
        get_bool(norm, "handle_chinese_chars", &s->w.chinese);
        get_bool(norm, "lowercase", &s->w.lowercase);
        json_t *sa = json_object_get(norm, "strip_accents");
        s->w.strip_accents = json_is_boolean(sa) ? json_is_true(sa) : -1;
    } else if (norm) {
        s->w.clean_text = s->w.chinese = s->w.lowercase = s->w.strip_accents = 0;
    }
    json_t *pt = json_object_get(root, "pre_tokenizer");
    const char *ptt = json_string_value(json_object_get(pt, "type"));
    if (!ptt || strcmp(ptt, "BertPreTokenizer"))
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: pre_tokenizer %s is not supported (WordPiece takes BertPreTokenizer)", path,
                         ptt ? ptt : "(none)");
    json_t *pp = json_object_get(root, "post_processor");
    if (pp && !json_is_null(pp)) {
        const char *ppt = json_string_value(json_object_get(pp, "type"));
        if (ppt && !strcmp(ppt, "BertProcessing")) {
            const char *names[2] = {0};
            const char *keys[2] = {"cls", "sep"};
            for (int k = 0; k < 2; k++) {
                json_t *a = json_object_get(pp, keys[k]);
                names[k] = json_string_value(json_array_get(a, 0));
                if (!names[k])
                    return gptc_fail(ctx, GPTC_EFORMAT, "%s: post_processor.%s: expected [\"token\", id]", path, keys[k]);
            }
            s->role[R_CLS] = names[0];
            s->role[R_SEP] = names[1];
        } else if (!(ppt && !strcmp(ppt, "TemplateProcessing") && template_bert(pp, &s->role[R_CLS], &s->role[R_SEP]))) {
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: post_processor %s is not supported (WordPiece takes BertProcessing or "
                             "TemplateProcessing as BERT's: [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1)", path,
                             ppt ? ppt : "(no type)");
        }
        s->w.wrap = 1;
    } else {
        s->w.wrap = 0;
    }
    json_t *dec = json_object_get(root, "decoder");
    if (dec && !json_is_null(dec)) {
        const char *dt = json_string_value(json_object_get(dec, "type"));
        if (!dt || strcmp(dt, "WordPiece"))
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: decoder %s is not supported (WordPiece takes the WordPiece decoder)", path,
                             dt ? dt : "(no type)");
        json_t *dp = json_object_get(dec, "prefix");
        if (dp && (!json_is_string(dp) || strcmp(json_string_value(dp), s->w.prefix)))
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: decoder.prefix differs from model.continuing_subword_prefix", path);
        get_bool(dec, "cleanup", &s->w.cleanup);
    }
    json_t *at = json_object_get(root, "added_tokens");
    if (at && !json_is_array(at)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: added_tokens is not a list", path);
    size_t i;
    json_t *e;
    json_array_foreach(at, i, e) {
        json_t *id = json_object_get(e, "id");
        const char *c = json_string_value(json_object_get(e, "content"));
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%zu]", i);
        if (!c || !json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= (1 << 24))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: %s: needs \"content\" and an \"id\" in 0..16777215", path, where);
        gptc_status st = added_check(ctx, path, where, e, c);
        if (!st) st = added_put(s, path, c, json_integer_value(id));
        if (st) return st;
    }
    return GPTC_OK;
}

/* tokenizer_config.json and special_tokens_map.json: the options (given keys override
 * tokenizer.json's normalizer, as BertTokenizerFast does) and the special tokens. */
static gptc_status read_config(wp_src *s, const char *path, json_t *cfg, int is_map) {
    gptc_ctx *ctx = s->ctx;
    if (!json_is_object(cfg)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: not a JSON object", path);
    for (int r = 0; r < 5; r++) {
        json_t *v = json_object_get(cfg, role_key[r]);
        if (!v || json_is_null(v)) continue;
        const char *n = token_name(v);
        if (!n || !*n) return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%s\": expected a token string or {\"content\": ...}", path, role_key[r]);
        if ((r != R_CLS && r != R_SEP) || !s->role[r]) s->role[r] = n; /* the post-processor's names come first */
    }
    json_t *extra = json_object_get(cfg, "additional_special_tokens");
    size_t i;
    json_t *e;
    json_array_foreach(extra, i, e) {
        const char *n = token_name(e);
        if (!n) return gptc_fail(ctx, GPTC_EFORMAT, "%s: additional_special_tokens[%zu]: not a token", path, i);
        gptc_status st = added_put(s, path, n, -1);
        if (st) return st;
    }
    if (is_map) return GPTC_OK;
    int b;
    if (get_bool(cfg, "do_lower_case", &b)) s->w.lowercase = b;
    if (get_bool(cfg, "tokenize_chinese_chars", &b)) s->w.chinese = b;
    if (get_bool(cfg, "clean_up_tokenization_spaces", &b)) s->w.cleanup_spaces = b;
    json_t *sa = json_object_get(cfg, "strip_accents");
    if (json_is_boolean(sa)) s->w.strip_accents = json_is_true(sa);
    else if (json_is_null(sa)) s->w.strip_accents = -1;
    json_t *ml = json_object_get(cfg, "model_max_length");
    if (json_is_number(ml) && json_number_value(ml) >= 1 && json_number_value(ml) < 1e9)
        s->w.model_max_length = (size_t)json_number_value(ml);
    json_t *atd = json_object_get(cfg, "added_tokens_decoder");
    const char *key;
    json_object_foreach(atd, key, e) {
        char *end;
        long id = strtol(key, &end, 10);
        const char *c = json_string_value(json_object_get(e, "content"));
        char where[80];
        snprintf(where, sizeof where, "added_tokens_decoder[\"%.40s\"]", key);
        if (*end || end == key || id < 0 || id >= (1 << 24) || !c)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: %s: needs an id key and a \"content\"", path, where);
        gptc_status st = added_check(ctx, path, where, e, c);
        if (!st) st = added_put(s, path, c, id);
        if (st) return st;
    }
    return GPTC_OK;
}

/* The tokenizer from what the files said: vocabulary ids, added tokens (past the
 * vocabulary when they are not in it), the roles' tokens (added at the end when missing,
 * in transformers' order: unk, sep, pad, cls, mask). */
static gptc_status build(wp_src *s, const char *what, gptc_tokenizer **out) {
    gptc_ctx *ctx = s->ctx;
    for (int r = 0; r < 5; r++)
        if (!s->role[r]) s->role[r] = role_default[r];
    size_t n = json_array_size(s->byid), blob = 0;
    const char *key;
    json_t *v;
    json_object_foreach(s->added, key, v) {
        json_int_t id = json_integer_value(v);
        json_t *in = json_object_get(s->vocab, key);
        if (in && id >= 0 && json_integer_value(in) != id) {
            json_t *at = json_array_get(s->byid, (size_t)id);
            if (json_is_string(at))
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: added token \"%s\" has id %lld, which is \"%s\" in the vocabulary",
                                 what, key, (long long)id, json_string_value(at));
        }
        if (id >= 0 && (size_t)id >= n) n = (size_t)id + 1;
    }
    static const int order[5] = {R_UNK, R_SEP, R_PAD, R_CLS, R_MASK};
    for (int k = 0; k < 5; k++) {
        const char *name = s->role[order[k]];
        json_t *a = json_object_get(s->added, name), *in = json_object_get(s->vocab, name);
        if (a && json_integer_value(a) >= 0) continue;
        gptc_status st = added_put(s, what, name, in ? json_integer_value(in) : (json_int_t)n++);
        if (st) return st;
    }
    /* an added token named only by text: its vocabulary id, else a new one */
    json_object_foreach(s->added, key, v) {
        if (json_integer_value(v) >= 0) continue;
        json_t *in = json_object_get(s->vocab, key);
        json_integer_set(v, in ? json_integer_value(in) : (json_int_t)n++);
    }
    size_t i;
    json_array_foreach(s->byid, i, v) blob += json_string_length(v);
    gptc_tokenizer *t;
    gptc_status st = gptc_tok_alloc(ctx, n, blob + 64, &t);
    if (st) return st;
    t->model = GPTC_TOKENIZER_WORDPIECE;
    json_array_foreach(s->byid, i, v) {
        if (!json_is_string(v)) continue;
        if ((st = gptc_tok_set(ctx, t, i, (const unsigned char *)json_string_value(v), json_string_length(v),
                               GPTC_TOK_ORDINARY, what)))
            goto fail;
    }
    json_object_foreach(s->added, key, v) {
        size_t id = (size_t)json_integer_value(v);
        if (t->kind[id] == GPTC_TOK_HOLE &&
            (st = gptc_tok_set(ctx, t, id, (const unsigned char *)key, strlen(key), GPTC_TOK_SPECIAL, what)))
            goto fail;
    }
    if ((st = gptc_tok_build_vocab(ctx, t, what))) goto fail;
    /* every added token is matched in text, the ordinary ones (in vocab.txt) too */
    size_t na = json_object_size(s->added);
    gptc_free(t->special);
    t->special = gptc_alloc(ctx, (na ? na : 1) * sizeof *t->special, "special tokens");
    if (!t->special) {
        st = GPTC_ENOMEM;
        goto fail;
    }
    t->n_special = 0;
    for (size_t id = 0; id < n; id++) { /* in id order: the search breaks ties by length only */
        if (t->kind[id] == GPTC_TOK_HOLE) continue;
        char *txt = strndup((const char *)t->blob + t->tstart[id], t->tlen[id]);
        if (!txt) {
            st = gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", what);
            goto fail;
        }
        json_t *a = json_object_get(s->added, txt);
        if (a && (size_t)json_integer_value(a) == id) t->special[t->n_special++] = (int32_t)id;
        free(txt);
    }
    t->wp = gptc_alloc(ctx, sizeof *t->wp, "WordPiece settings");
    if (!t->wp) {
        st = GPTC_ENOMEM;
        goto fail;
    }
    *t->wp = s->w;
    int32_t *ids[5] = {&t->wp->unk, &t->wp->cls, &t->wp->sep, &t->wp->pad, &t->wp->mask};
    for (int r = 0; r < 5; r++) {
        json_t *a = json_object_get(s->added, s->role[r]);
        json_t *in = json_object_get(s->vocab, s->role[r]);
        *ids[r] = a ? (int32_t)json_integer_value(a) : in ? (int32_t)json_integer_value(in) : -1;
    }
    *out = t;
    return GPTC_OK;
fail:
    gptc_tokenizer_free(t);
    return st;
}

static gptc_status read_json_beside(wp_src *s, const char *dir, const char *name, int is_map, int slot) {
    char p[PATH_MAX];
    if (gptc_path_join(s->ctx, p, sizeof p, dir, name) || !gptc_file_exists(p)) return GPTC_OK;
    gptc_status st = gptc_tok_json_open(s->ctx, p, &s->keep[slot]);
    return st ? st : read_config(s, p, s->keep[slot], is_map);
}

gptc_status gptc_wp_load(gptc_ctx *ctx, const char *dir, const char *json_path, void *root, gptc_tokenizer **out) {
    *out = NULL;
    wp_src s = {.ctx = ctx, .vocab = json_object(), .added = json_object(), .byid = json_array()};
    s.w = (gptc_wp){.clean_text = 1, .chinese = 1, .strip_accents = -1, .lowercase = 1, .max_chars = 100,
                    .prefix = "##", .prefix_len = 2, .wrap = 1, .cleanup = 1, .cleanup_spaces = 1};
    char vt[PATH_MAX];
    gptc_status st = s.vocab && s.added && s.byid ? GPTC_OK : gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", dir);
    if (!st) st = gptc_path_join(ctx, vt, sizeof vt, dir, "vocab.txt");
    int have_txt = !st && gptc_file_exists(vt);
    if (!st && json_path) st = read_tokenizer_json(&s, json_path, root);
    else if (!st) st = read_vocab_txt(&s, vt);
    /* special_tokens_map.json first: tokenizer_config.json's names win */
    if (!st) st = read_json_beside(&s, dir, "special_tokens_map.json", 1, 0);
    if (!st) st = read_json_beside(&s, dir, "tokenizer_config.json", 0, 1);
    if (!st) st = build(&s, json_path ? json_path : vt, out);
    if (!st && json_path && have_txt) {
        /* vocab.txt beside tokenizer.json must hold the same vocabulary */
        wp_src o = {.ctx = ctx, .vocab = json_object(), .added = json_object(), .byid = json_array()};
        if (!o.vocab || !o.byid || !o.added) st = gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", vt);
        if (!st) st = read_vocab_txt(&o, vt);
        size_t n = json_array_size(o.byid), nj = json_array_size(s.byid);
        for (size_t i = 0; !st && i < (n > nj ? n : nj); i++) {
            json_t *a = json_array_get(o.byid, i);
            const char *at = json_string_value(a), *jt = json_string_value(json_array_get(s.byid, i));
            /* a token repeated in vocab.txt is one key of tokenizer.json: its later id */
            int same = (at && jt && !strcmp(at, jt)) || (!at && !jt) ||
                       (at && !jt && json_integer_value(json_object_get(o.vocab, at)) != (json_int_t)i &&
                        json_integer_value(json_object_get(s.vocab, at)) == json_integer_value(json_object_get(o.vocab, at)));
            if (!same)
                st = gptc_fail(ctx, GPTC_EFORMAT, "%s and %s disagree: id %zu is \"%s\" in one and \"%s\" in the other "
                               "(remove or rewrite one)", json_path, vt, i, jt ? jt : "(none)", at ? at : "(none)");
        }
        json_decref(o.vocab);
        json_decref(o.added);
        json_decref(o.byid);
        if (st) {
            gptc_tokenizer_free(*out);
            *out = NULL;
        }
    }
    json_decref(s.vocab);
    json_decref(s.added);
    json_decref(s.byid);
    for (int k = 0; k < 4; k++) json_decref(s.keep[k]);
    return st;
}

/* ------------------------------------------------------------------ writing */
static json_t *token_json(const gptc_tokenizer *t, int32_t id) {
    return json_stringn((const char *)t->blob + t->tstart[id], t->tlen[id]);
}

static int is_added(const gptc_tokenizer *t, int32_t id) {
    for (size_t k = 0; k < t->n_special; k++)
        if (t->special[k] == id) return 1;
    return 0;
}

static gptc_status write_json(gptc_ctx *ctx, const char *dir, const char *name, json_t *j) {
    char p[PATH_MAX];
    gptc_status st = gptc_path_join(ctx, p, sizeof p, dir, name);
    if (st) return st;
    char *txt = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    if (!txt) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", p);
    gptc_iovec parts[2] = {{txt, strlen(txt)}, {"\n", 1}};
    st = gptc_file_write_atomic(ctx, p, parts, 2);
    free(txt);
    return st;
}

/* {"id": [CLS]'s name, "type_id": n} as TemplateProcessing writes it */
static json_t *tpl_piece(const char *kind, const char *id, int type) {
    return json_pack("{s:{s:s,s:i}}", kind, "id", id, "type_id", type);
}

gptc_status gptc_wp_save(gptc_ctx *ctx, const gptc_tokenizer *t, const char *dir) {
    const gptc_wp *w = t->wp;
    char p[PATH_MAX];
    gptc_status st = gptc_mkdirs(ctx, dir);
    if (st) return st;
    /* vocab.txt */
    size_t total = 0;
    for (size_t id = 0; id < t->n_vocab; id++) {
        const unsigned char *b = t->blob + t->tstart[id];
        if (t->kind[id] != GPTC_TOK_HOLE && (memchr(b, '\n', t->tlen[id]) || b[t->tlen[id] - 1] == '\r'))
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: id %zu: a token with a line break cannot be written to vocab.txt", dir, id);
        total += t->tlen[id] + 1;
    }
    char *txt = gptc_alloc(ctx, total + 1, "vocab.txt");
    if (!txt) return GPTC_ENOMEM;
    size_t o = 0;
    for (size_t id = 0; id < t->n_vocab; id++) {
        if (t->kind[id] != GPTC_TOK_HOLE) memcpy(txt + o, t->blob + t->tstart[id], t->tlen[id]), o += t->tlen[id];
        txt[o++] = '\n';
    }
    if (!(st = gptc_path_join(ctx, p, sizeof p, dir, "vocab.txt"))) {
        gptc_iovec part = {txt, o};
        st = gptc_file_write_atomic(ctx, p, &part, 1);
    }
    gptc_free(txt);
    if (st) return st;
    json_t *name[5] = {0};
    const int32_t rid[5] = {w->unk, w->cls, w->sep, w->pad, w->mask};
    json_t *vocab = json_object(), *added = json_array(), *atd = json_object(), *smap = json_object();
    json_t *tj = NULL, *cfg = NULL;
    for (int r = 0; r < 5; r++) name[r] = rid[r] >= 0 ? token_json(t, rid[r]) : json_null();
    for (size_t id = 0; id < t->n_vocab && vocab; id++) {
        if (t->kind[id] == GPTC_TOK_HOLE) continue;
        json_t *s = token_json(t, (int32_t)id);
        if (!s) break;
        /* a repeated token is one key: the id encoding gives it */
        if (gptc_tok_lookup(t, t->blob + t->tstart[id], t->tlen[id]) == (int32_t)id || t->kind[id] == GPTC_TOK_SPECIAL)
            json_object_set_new(vocab, json_string_value(s), json_integer((json_int_t)id));
        if (is_added(t, (int32_t)id)) {
            json_array_append_new(added, json_pack("{s:I,s:O,s:b,s:b,s:b,s:b,s:b}", "id", (json_int_t)id, "content", s,
                                                   "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0,
                                                   "special", 1));
            char k[24];
            snprintf(k, sizeof k, "%zu", id);
            json_object_set_new(atd, k, json_pack("{s:O,s:b,s:b,s:b,s:b,s:b}", "content", s, "lstrip", 0, "normalized", 0,
                                                  "rstrip", 0, "single_word", 0, "special", 1));
        }
        json_decref(s);
    }
    json_t *norm = json_pack("{s:s,s:b,s:b,s:o,s:b}", "type", "BertNormalizer", "clean_text", w->clean_text,
                             "handle_chinese_chars", w->chinese,
                             "strip_accents", w->strip_accents < 0 ? json_null() : json_boolean(w->strip_accents),
                             "lowercase", w->lowercase);
    json_t *pp = json_null();
    if (w->wrap && w->cls >= 0 && w->sep >= 0) {
        const char *c = json_string_value(name[R_CLS]), *sp = json_string_value(name[R_SEP]);
        pp = json_pack("{s:s,s:[o,o,o],s:[o,o,o,o,o],s:{s:{s:s,s:[i],s:[s]},s:{s:s,s:[i],s:[s]}}}", "type",
                       "TemplateProcessing", "single", tpl_piece("SpecialToken", c, 0), tpl_piece("Sequence", "A", 0),
                       tpl_piece("SpecialToken", sp, 0), "pair", tpl_piece("SpecialToken", c, 0),
                       tpl_piece("Sequence", "A", 0), tpl_piece("SpecialToken", sp, 0), tpl_piece("Sequence", "B", 1),
                       tpl_piece("SpecialToken", sp, 1), "special_tokens", c, "id", c, "ids", (int)w->cls, "tokens", c,
                       sp, "id", sp, "ids", (int)w->sep, "tokens", sp);
    }
    if (vocab && added && norm && pp)
        tj = json_pack("{s:s,s:n,s:n,s:O,s:o,s:{s:s},s:o,s:{s:s,s:s,s:b},s:{s:s,s:O,s:s,s:I,s:O}}", "version", "1.0",
                       "truncation", "padding", "added_tokens", added, "normalizer", norm, "pre_tokenizer", "type",
                       "BertPreTokenizer", "post_processor", pp, "decoder", "type", "WordPiece", "prefix", w->prefix,
                       "cleanup", w->cleanup, "model", "type", "WordPiece", "unk_token", name[R_UNK],
                       "continuing_subword_prefix", w->prefix, "max_input_chars_per_word", (json_int_t)w->max_chars,
                       "vocab", vocab);
    st = write_json(ctx, dir, "tokenizer.json", tj);
    if (!st) {
        cfg = json_pack("{s:O,s:b,s:O,s:b,s:b,s:O,s:I,s:O,s:O,s:o,s:b,s:s,s:O}", "added_tokens_decoder", atd,
                        "clean_up_tokenization_spaces", w->cleanup_spaces, "cls_token", name[R_CLS], "do_basic_tokenize", 1,
                        "do_lower_case", w->lowercase, "mask_token", name[R_MASK], "model_max_length",
                        (json_int_t)(w->model_max_length ? w->model_max_length : 512), "pad_token", name[R_PAD],
                        "sep_token", name[R_SEP], "strip_accents",
                        w->strip_accents < 0 ? json_null() : json_boolean(w->strip_accents), "tokenize_chinese_chars",
                        w->chinese, "tokenizer_class", "BertTokenizer", "unk_token", name[R_UNK]);
        st = write_json(ctx, dir, "tokenizer_config.json", cfg);
    }
    if (!st) {
        for (int r = 0; r < 5; r++)
            if (!json_is_null(name[r])) json_object_set(smap, role_key[r], name[r]);
        st = write_json(ctx, dir, "special_tokens_map.json", smap);
    }
    for (int r = 0; r < 5; r++) json_decref(name[r]);
    json_decref(vocab);
    json_decref(added);
    json_decref(atd);
    json_decref(smap);
    json_decref(tj);
    json_decref(cfg);
    return st;
}
