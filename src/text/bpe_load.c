/* bpe_load.c: reads tokenizer files into a gptc_tokenizer: Hugging Face vocab.json +
 * merges.txt (+ special_tokens_map.json, added_tokens.json) and tokenizer.json, OpenAI's
 * encoder.json + vocab.bpe, tiktoken rank files; finds tiktoken encodings by name in
 * the data directory. Every message names the file and the line, token or id. */
#define _GNU_SOURCE
#include "bpe.h"
#include "utf8.h"
#include "wordpiece.h"
#include "../core/core.h"
#include "../io/gguf.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* tiktoken's encodings (checked against the npm package's encoders/<name>.json). */
typedef struct enc_spec {
    const char *name;
    int patkind;
    size_t n_vocab; /* explicit_n_vocab, 0 = from the ranks and specials */
    struct { const char *text; int32_t id; } special[6];
} enc_spec;

static const enc_spec encodings[] = {
    {"gpt2", GPTC_PATKIND_GPT2, 50257, {{"<|endoftext|>", 50256}}},
    {"r50k_base", GPTC_PATKIND_GPT2, 50257, {{"<|endoftext|>", 50256}}},
    {"p50k_base", GPTC_PATKIND_GPT2, 50281, {{"<|endoftext|>", 50256}}},
    {"cl100k_base", GPTC_PATKIND_CL100K, 0,
     {{"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258}, {"<|fim_middle|>", 100259},
      {"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276}}},
    {"o200k_base", GPTC_PATKIND_O200K, 0, {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
};
#define N_ENCODINGS (sizeof encodings / sizeof encodings[0])

/* ------------------------------------------------------------------ helpers */
static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory part of path into out ("." when none). */
static void dir_of(const char *path, char *out, size_t cap) {
    const char *s = strrchr(path, '/');
    if (!s) {
        snprintf(out, cap, ".");
        return;
    }
    size_t n = (size_t)(s - path);
    if (n == 0) n = 1;
    snprintf(out, cap, "%.*s", (int)n, path);
}

/* A byte-level token string (GPT-2's bytes_to_unicode spelling) -> raw bytes in out
 * (room for strlen(s)). Returns the length, or -1 and the bad code point in *bad. */
static long unspell(const char *s, size_t n, unsigned char *out, int *bad) {
    size_t i = 0, o = 0;
    while (i < n) {
        size_t adv;
        int cp = gptc_utf8_next((const unsigned char *)s + i, n - i, &adv);
        int b = cp < 0 ? -1 : gptc_cp_to_byte(cp);
        if (b < 0) {
            *bad = cp;
            return -1;
        }
        out[o++] = (unsigned char)b;
        i += adv;
    }
    return (long)o;
}

gptc_status gptc_tok_json_open(gptc_ctx *ctx, const char *path, json_t **out) {
    char *data;
    size_t size;
    *out = NULL;
    gptc_status st = gptc_file_read(ctx, path, &data, &size);
    if (st) return st;
    json_error_t err;
    json_t *j = json_loadb(data, size, JSON_REJECT_DUPLICATES, &err);
    gptc_free(data);
    if (!j) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    *out = j;
    return GPTC_OK;
}

/* ------------------------------------------------------------------ specials */
typedef struct strset {
    const char **s;
    size_t n, cap;
} strset;

static gptc_status strset_add(gptc_ctx *ctx, strset *set, const char *s) {
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->s[i], s)) return GPTC_OK;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        const char **ns = gptc_alloc(ctx, cap * sizeof *ns, "special token names");
        if (!ns) return GPTC_ENOMEM;
        if (set->n) memcpy(ns, set->s, set->n * sizeof *ns);
        gptc_free(set->s);
        set->s = ns;
        set->cap = cap;
    }
    set->s[set->n++] = s;
    return GPTC_OK;
}

static int strset_has(const strset *set, const char *s) {
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->s[i], s)) return 1;
    return 0;
}

/* special_tokens_map.json values: "text", {"content": "text", ...}, or lists of those. */
static gptc_status specials_from_value(gptc_ctx *ctx, const char *path, const char *key, json_t *v, strset *set) {
    if (json_is_string(v)) return strset_add(ctx, set, json_string_value(v));
    if (json_is_object(v)) {
        json_t *c = json_object_get(v, "content");
        if (!json_is_string(c))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%s\": object without a \"content\" string", path, key);
        return strset_add(ctx, set, json_string_value(c));
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (json_is_array(e))
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%s\"[%zu]: nested list", path, key, i);
            gptc_status st = specials_from_value(ctx, path, key, e, set);
            if (st) return st;
        }
        return GPTC_OK;
    }
    if (json_is_null(v)) return GPTC_OK;
    return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%s\": expected a string, an object or a list", path, key);
}

/* ------------------------------------------------------------------ vocab maps */
/* Fills t from a {"token": id} object. Strings in specials keep their UTF-8 text as
 * special tokens; the rest are byte-level spellings. extra: (text, id) added tokens
 * that may be absent from the object. */
typedef struct added_tok {
    const char *text;
    int32_t id;
} added_tok;

static gptc_status vocab_from_object(gptc_ctx *ctx, const char *path, json_t *obj, const strset *specials,
                                     const added_tok *added, size_t n_added, size_t min_vocab,
                                     gptc_tokenizer **out) {
    *out = NULL;
    if (!json_is_object(obj)) return gptc_fail(ctx, GPTC_EFORMAT, "%s: vocabulary is not a JSON object", path);
    const char *key;
    json_t *v;
    size_t n_vocab = min_vocab, blob = 0;
    json_object_foreach(obj, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (1 << 24))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: token \"%s\": id is not an integer in 0..16777215", path, key);
        size_t id = (size_t)json_integer_value(v);
        if (id + 1 > n_vocab) n_vocab = id + 1;
        blob += strlen(key);
    }
    for (size_t i = 0; i < n_added; i++)
        if ((size_t)added[i].id + 1 > n_vocab) n_vocab = (size_t)added[i].id + 1;
    if (json_object_size(obj) == 0) return gptc_fail(ctx, GPTC_EFORMAT, "%s: the vocabulary is empty", path);
    gptc_tokenizer *t;
    gptc_status st = gptc_tok_alloc(ctx, n_vocab, blob + 64, &t);
    if (st) return gptc_fail_prefix(ctx, st, "%s", path);
    const char **who = gptc_calloc(ctx, n_vocab, sizeof *who, "token names");
    unsigned char *buf = gptc_alloc(ctx, blob + 1, "token bytes");
    if (!who || !buf) {
        st = GPTC_ENOMEM;
        goto fail;
    }
    json_object_foreach(obj, key, v) {
        size_t id = (size_t)json_integer_value(v), n = strlen(key);
        if (who[id]) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: tokens \"%s\" and \"%s\" both have id %zu", path, who[id], key, id);
            goto fail;
        }
        who[id] = key;
        if (strset_has(specials, key)) {
            st = gptc_tok_set(ctx, t, id, (const unsigned char *)key, n, GPTC_TOK_SPECIAL, path);
        } else {
            int bad = 0;
            long len = unspell(key, n, buf, &bad);
            if (len <= 0) {
                st = len < 0 ? gptc_fail(ctx, GPTC_EFORMAT,
                                         "%s: token \"%s\" (id %zu): character U+%04X is not a byte-level BPE "
                                         "symbol (GPT-2 bytes_to_unicode)", path, key, id, (unsigned)bad)
                             : gptc_fail(ctx, GPTC_EFORMAT, "%s: empty token (id %zu)", path, id);
                goto fail;
            }
            st = gptc_tok_set(ctx, t, id, buf, (size_t)len, GPTC_TOK_ORDINARY, path);
        }
        if (st) goto fail;
    }
    for (size_t i = 0; i < n_added; i++) {
        size_t id = (size_t)added[i].id, n = strlen(added[i].text);
        if (who[id]) {
            if (t->kind[id] == GPTC_TOK_SPECIAL && t->tlen[id] == n && !memcmp(t->blob + t->tstart[id], added[i].text, n))
                continue;
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: added token \"%s\" has id %zu, which is token \"%s\"", path,
                           added[i].text, id, who[id]);
            goto fail;
        }
        who[id] = added[i].text;
        if ((st = gptc_tok_set(ctx, t, id, (const unsigned char *)added[i].text, n, GPTC_TOK_SPECIAL, path))) goto fail;
    }
    gptc_free(who);
    gptc_free(buf);
    *out = t;
    return GPTC_OK;
fail:
    gptc_free(who);
    gptc_free(buf);
    gptc_tokenizer_free(t);
    return st;
}

/* Appends merge (left, right) given as spelled strings; where says "path:line". */
static gptc_status add_merge(gptc_ctx *ctx, gptc_tokenizer *t, size_t *cap, const char *where, const char *l,
                             size_t ln, const char *r, size_t rn, unsigned char *buf) {
    int32_t id[2];
    const char *part[2] = {l, r};
    size_t plen[2] = {ln, rn};
    size_t off = 0;
    for (int k = 0; k < 2; k++) {
        int bad = 0;
        long n = unspell(part[k], plen[k], buf + off, &bad);
        if (n < 0)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%.*s\": character U+%04X is not a byte-level BPE symbol",
                             where, (int)plen[k], part[k], (unsigned)bad);
        id[k] = gptc_tok_lookup(t, buf + off, (size_t)n);
        if (id[k] < 0)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%.*s\" is not in the vocabulary", where, (int)plen[k], part[k]);
        off += (size_t)n;
    }
    if (gptc_tok_lookup(t, buf, off) < 0)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: the merged token \"%.*s%.*s\" is not in the vocabulary", where,
                         (int)ln, l, (int)rn, r);
    if (t->n_merges == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        int32_t(*nm)[2] = gptc_alloc(ctx, nc * sizeof *nm, "merges");
        if (!nm) return GPTC_ENOMEM;
        if (t->n_merges) memcpy(nm, t->merges, t->n_merges * sizeof *nm);
        gptc_free(t->merges);
        t->merges = nm;
        *cap = nc;
    }
    t->merges[t->n_merges][0] = id[0];
    t->merges[t->n_merges][1] = id[1];
    t->n_merges++;
    return GPTC_OK;
}

/* merges.txt / vocab.bpe: optional "#version" line, then "left right" per line. */
static gptc_status merges_from_text(gptc_ctx *ctx, gptc_tokenizer *t, const char *path) {
    char *data;
    size_t size;
    gptc_status st = gptc_file_read(ctx, path, &data, &size);
    if (st) return st;
    size_t cap = 0, line = 0;
    unsigned char *buf = gptc_alloc(ctx, size + 1, "merge buffer");
    if (!buf) {
        gptc_free(data);
        return GPTC_ENOMEM;
    }
    char where[PATH_MAX + 32];
    for (size_t pos = 0; pos < size && !st;) {
        const char *s = data + pos;
        const char *e = memchr(s, '\n', size - pos);
        size_t n = e ? (size_t)(e - s) : size - pos;
        pos += n + 1;
        line++;
        if (n && s[n - 1] == '\r') n--;
        snprintf(where, sizeof where, "%s:%zu", path, line);
        if (gptc_utf8_valid_len((const unsigned char *)s, n) != n) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: not valid UTF-8", where);
            break;
        }
        if (n == 0 || (line == 1 && n >= 8 && !memcmp(s, "#version", 8))) continue;
        const char *sp = memchr(s, ' ', n);
        if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: expected two tokens separated by one space, got \"%.*s\"", where,
                           (int)(n > 60 ? 60 : n), s);
            break;
        }
        st = add_merge(ctx, t, &cap, where, s, (size_t)(sp - s), sp + 1, (size_t)(s + n - sp - 1), buf);
    }
    gptc_free(buf);
    gptc_free(data);
    return st;
}

/* vocab.json + merges.txt (or encoder.json + vocab.bpe), with the special tokens of
 * special_tokens_map.json and added_tokens.json next to them when present. */
static gptc_status load_vocab_merges(gptc_ctx *ctx, const char *vocab_path, const char *merges_path,
                                     gptc_tokenizer **out) {
    *out = NULL;
    char dir[PATH_MAX], p[PATH_MAX];
    dir_of(vocab_path, dir, sizeof dir);
    strset specials = {0};
    added_tok *added = NULL;
    size_t n_added = 0;
    json_t *vocab = NULL, *smap = NULL, *atok = NULL;
    gptc_tokenizer *t = NULL;
    gptc_status st = strset_add(ctx, &specials, "<|endoftext|>"); /* GPT-2's, as in encoder.json */
    if (st) goto done;
    if (!gptc_path_join(ctx, p, sizeof p, dir, "special_tokens_map.json") && gptc_file_exists(p)) {
        if ((st = gptc_tok_json_open(ctx, p, &smap))) goto done;
        if (!json_is_object(smap)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: not a JSON object", p);
            goto done;
        }
        const char *key;
        json_t *v;
        json_object_foreach(smap, key, v) if ((st = specials_from_value(ctx, p, key, v, &specials))) goto done;
    }
    if (!gptc_path_join(ctx, p, sizeof p, dir, "added_tokens.json") && gptc_file_exists(p)) {
        if ((st = gptc_tok_json_open(ctx, p, &atok))) goto done;
        if (!json_is_object(atok)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: not a JSON object", p);
            goto done;
        }
        added = gptc_calloc(ctx, json_object_size(atok) + 1, sizeof *added, "added tokens");
        if (!added) {
            st = GPTC_ENOMEM;
            goto done;
        }
        const char *key;
        json_t *v;
        json_object_foreach(atok, key, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (1 << 24)) {
                st = gptc_fail(ctx, GPTC_EFORMAT, "%s: token \"%s\": id is not an integer in 0..16777215", p, key);
                goto done;
            }
            added[n_added].text = key;
            added[n_added++].id = (int32_t)json_integer_value(v);
            if ((st = strset_add(ctx, &specials, key))) goto done;
        }
    }
    if ((st = gptc_tok_json_open(ctx, vocab_path, &vocab))) goto done;
    if ((st = vocab_from_object(ctx, vocab_path, vocab, &specials, added, n_added, 0, &t))) goto done;
    if ((st = gptc_tok_build_vocab(ctx, t, vocab_path))) goto done;
    for (size_t i = 0; i < specials.n; i++) {
        if (gptc_tokenizer_special_id(t, specials.s[i]) >= 0 || !strcmp(specials.s[i], "<|endoftext|>")) continue;
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s/special_tokens_map.json: special token \"%s\" is not in %s", dir,
                       specials.s[i], vocab_path);
        goto done;
    }
    if ((st = merges_from_text(ctx, t, merges_path))) goto done;
    t->patkind = GPTC_PATKIND_GPT2;
    if ((st = gptc_tok_finish(ctx, t, merges_path))) goto done;
    *out = t;
    t = NULL;
done:
    gptc_tokenizer_free(t);
    json_decref(vocab);
    json_decref(smap);
    json_decref(atok);
    gptc_free(specials.s);
    gptc_free(added);
    return st;
}

/* ------------------------------------------------------------------ tokenizer.json */
static gptc_status load_tokenizer_json(gptc_ctx *ctx, const char *path, gptc_tokenizer **out) {
    *out = NULL;
    json_t *root = NULL;
    gptc_tokenizer *t = NULL;
    strset specials = {0};
    added_tok *added = NULL;
    size_t n_added = 0;
    unsigned char *buf = NULL;
    char *pattern = NULL;
    gptc_status st = gptc_tok_json_open(ctx, path, &root);
    if (st) return st;
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: missing \"model\" object", path);
        goto done;
    }
    json_t *type = json_object_get(model, "type");
    if (json_is_string(type) && !strcmp(json_string_value(type), "WordPiece")) {
        char dir[PATH_MAX];
        dir_of(path, dir, sizeof dir);
        st = gptc_wp_load(ctx, dir, path, root, out);
        goto done;
    }
    if (type && (!json_is_string(type) || strcmp(json_string_value(type), "BPE"))) {
        st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: model.type %s is not supported (only \"BPE\" and \"WordPiece\")", path,
                       json_is_string(type) ? json_string_value(type) : "(not a string)");
        goto done;
    }
    const char *bad_fields[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        json_t *f = json_object_get(model, bad_fields[k]);
        if (f && !json_is_null(f) && !(json_is_string(f) && !*json_string_value(f))) {
            st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: model.%s is not supported by byte-level BPE", path, bad_fields[k]);
            goto done;
        }
    }
    /* The pre-tokenizer: ByteLevel with its regex (GPT-2's pattern), or a Split on a regex
     * (Isolated, not inverted) followed by ByteLevel without one (Llama 3, Qwen 2), alone
     * or in a Sequence. */
    json_t *pre = json_object_get(root, "pre_tokenizer"), *bl = NULL, *split = NULL;
    if (json_is_object(pre)) {
        const char *pt = json_string_value(json_object_get(pre, "type"));
        json_t *list = pt && !strcmp(pt, "Sequence") ? json_object_get(pre, "pretokenizers") : NULL;
        size_t n_steps = list ? json_array_size(list) : 1;
        for (size_t i = 0; i < n_steps; i++) {
            json_t *e = list ? json_array_get(list, i) : pre;
            const char *et = json_string_value(json_object_get(e, "type"));
            if (et && !strcmp(et, "ByteLevel") && !bl) bl = e;
            else if (et && !strcmp(et, "Split") && !split && !bl) split = e;
            else {
                char where[48] = "";
                if (list) snprintf(where, sizeof where, ".pretokenizers[%zu]", i);
                st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: pre_tokenizer%s: %s is not supported (byte-level BPE takes "
                               "ByteLevel, or one Split on a regex before ByteLevel)", path, where, et ? et : "(no type)");
                goto done;
            }
        }
    }
    if (!bl) {
        st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: pre_tokenizer is not ByteLevel (only byte-level BPE is supported)", path);
        goto done;
    }
    json_t *ur = json_object_get(bl, "use_regex");
    int use_regex = !(ur && json_is_false(ur));
    if (split) {
        json_t *rx = json_object_get(json_object_get(split, "pattern"), "Regex");
        json_t *str = json_object_get(json_object_get(split, "pattern"), "String");
        const char *beh = json_string_value(json_object_get(split, "behavior"));
        if (!json_is_string(rx) && !json_is_string(str)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: pre_tokenizer Split: pattern needs a \"Regex\" or \"String\"", path);
            goto done;
        }
        if (!beh || strcmp(beh, "Isolated") || json_is_true(json_object_get(split, "invert")) || use_regex) {
            st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: pre_tokenizer Split: only behavior \"Isolated\", invert false, "
                           "followed by ByteLevel with use_regex false, is supported", path);
            goto done;
        }
        if (!json_is_string(rx)) {
            st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: pre_tokenizer Split on a String is not supported (only Regex)", path);
            goto done;
        }
        size_t pl = strlen(json_string_value(rx));
        if (!(pattern = gptc_alloc(ctx, pl + 1, "pre-tokenizer pattern"))) {
            st = GPTC_ENOMEM;
            goto done;
        }
        memcpy(pattern, json_string_value(rx), pl + 1);
    } else if (!use_regex) {
        st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: pre_tokenizer ByteLevel with use_regex false and no Split is not "
                       "supported", path);
        goto done;
    }
    json_t *added_arr = json_object_get(root, "added_tokens");
    if (added_arr && !json_is_null(added_arr)) {
        if (!json_is_array(added_arr)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: \"added_tokens\" is not a list", path);
            goto done;
        }
        added = gptc_calloc(ctx, json_array_size(added_arr) + 1, sizeof *added, "added tokens");
        if (!added) {
            st = GPTC_ENOMEM;
            goto done;
        }
        size_t i;
        json_t *e;
        json_array_foreach(added_arr, i, e) {
            json_t *id = json_object_get(e, "id"), *c = json_object_get(e, "content");
            if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= (1 << 24) ||
                !json_is_string(c) || !*json_string_value(c)) {
                st = gptc_fail(ctx, GPTC_EFORMAT, "%s: added_tokens[%zu]: needs \"id\" (0..16777215) and a non-empty "
                               "\"content\"", path, i);
                goto done;
            }
            added[n_added].text = json_string_value(c);
            added[n_added++].id = (int32_t)json_integer_value(id);
            if ((st = strset_add(ctx, &specials, json_string_value(c)))) goto done;
        }
    }
    json_t *vocab = json_object_get(model, "vocab");
    if (!vocab) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: missing model.vocab", path);
        goto done;
    }
    if ((st = vocab_from_object(ctx, path, vocab, &specials, added, n_added, 0, &t))) goto done;
    if ((st = gptc_tok_build_vocab(ctx, t, path))) goto done;
    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges)) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: missing model.merges list", path);
        goto done;
    }
    size_t cap = 0, i;
    json_t *e;
    char where[PATH_MAX + 48];
    json_array_foreach(merges, i, e) {
        snprintf(where, sizeof where, "%s: model.merges[%zu]", path, i);
        const char *l = NULL, *r = NULL;
        size_t ln = 0, rn = 0;
        if (json_is_string(e)) {
            const char *s = json_string_value(e), *sp = strchr(s, ' ');
            if (sp && sp > s && sp[1] && !strchr(sp + 1, ' ')) {
                l = s, ln = (size_t)(sp - s), r = sp + 1, rn = strlen(sp + 1);
            }
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            l = json_string_value(json_array_get(e, 0)), ln = strlen(l);
            r = json_string_value(json_array_get(e, 1)), rn = strlen(r);
        }
        if (!l || !ln || !rn) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: expected \"left right\" or [\"left\", \"right\"]", where);
            goto done;
        }
        gptc_free(buf);
        if (!(buf = gptc_alloc(ctx, ln + rn + 1, "merge buffer"))) {
            st = GPTC_ENOMEM;
            goto done;
        }
        if ((st = add_merge(ctx, t, &cap, where, l, ln, r, rn, buf))) goto done;
    }
    t->add_prefix_space = json_is_true(json_object_get(bl, "add_prefix_space"));
    t->whole_lookup = json_is_true(json_object_get(model, "ignore_merges"));
    t->patkind = pattern ? GPTC_PATKIND_REGEX : GPTC_PATKIND_GPT2;
    t->pattern = pattern;
    pattern = NULL;
    if ((st = gptc_tok_finish(ctx, t, path))) goto done;
    *out = t;
    t = NULL;
done:
    gptc_free(pattern);
    gptc_tokenizer_free(t);
    json_decref(root);
    gptc_free(specials.s);
    gptc_free(added);
    gptc_free(buf);
    return st;
}

/* ------------------------------------------------------------------ .tiktoken */
static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with padding; returns the length or -1. */
static long b64decode(const char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad || (v[k] = b64val((unsigned char)s[i + k])) < 0) return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
    }
    return (long)o;
}

static const enc_spec *spec_for_file(const char *path) {
    const char *b = base_name(path);
    for (size_t i = 0; i < N_ENCODINGS; i++) {
        size_t n = strlen(encodings[i].name);
        if (!strncmp(b, encodings[i].name, n) && (!b[n] || b[n] == '.')) return &encodings[i];
    }
    return NULL;
}

/* "base64 rank" per line; the pattern and special tokens come from spec (by file name
 * when NULL: cl100k/o200k in the name, else by vocabulary size, else GPT-2's). */
static gptc_status load_tiktoken(gptc_ctx *ctx, const char *path, const enc_spec *spec, gptc_tokenizer **out) {
    *out = NULL;
    char *data;
    size_t size;
    gptc_status st = gptc_file_read(ctx, path, &data, &size);
    if (st) return st;
    if (!spec) spec = spec_for_file(path);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    uint32_t *rank = gptc_alloc(ctx, lines * sizeof *rank, "ranks");
    uint32_t *off = gptc_alloc(ctx, lines * sizeof *off, "ranks");
    uint32_t *len = gptc_alloc(ctx, lines * sizeof *len, "ranks");
    unsigned char *bytes = gptc_alloc(ctx, size + 1, "token bytes");
    gptc_tokenizer *t = NULL;
    size_t n = 0, line = 0, boff = 0, n_vocab = spec ? spec->n_vocab : 0;
    if (!rank || !off || !len || !bytes) {
        st = GPTC_ENOMEM;
        goto done;
    }
    if (size > UINT32_MAX) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: file of %zu bytes is too big", path, size);
        goto done;
    }
    for (size_t pos = 0; pos < size;) {
        const char *s = data + pos, *e = memchr(s, '\n', size - pos);
        size_t ln = e ? (size_t)(e - s) : size - pos;
        pos += ln + 1;
        line++;
        if (ln && s[ln - 1] == '\r') ln--;
        if (ln == 0) continue;
        const char *sp = memchr(s, ' ', ln);
        long bl = sp ? b64decode(s, (size_t)(sp - s), bytes + boff) : -1;
        if (bl <= 0) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: expected \"<base64 token> <rank>\"", path, line);
            goto done;
        }
        size_t r = 0, k = (size_t)(sp - s) + 1;
        if (k == ln) k = ln + 1; /* no digits */
        for (; k < ln; k++) {
            if (s[k] < '0' || s[k] > '9' || r > (1u << 24)) break;
            r = r * 10 + (size_t)(s[k] - '0');
        }
        if (k != ln || r >= (1u << 24)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s:%zu: rank is not an integer in 0..16777215", path, line);
            goto done;
        }
        rank[n] = (uint32_t)r;
        off[n] = (uint32_t)boff;
        len[n++] = (uint32_t)bl;
        boff += (size_t)bl;
        if (r + 1 > n_vocab) n_vocab = r + 1;
    }
    if (n == 0) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: no tokens", path);
        goto done;
    }
    int patkind = spec ? spec->patkind
                : strstr(base_name(path), "cl100k") || n == 100256 ? GPTC_PATKIND_CL100K
                : strstr(base_name(path), "o200k") || n == 199998  ? GPTC_PATKIND_O200K
                                                                   : GPTC_PATKIND_GPT2;
    if (spec)
        for (int k = 0; k < 6 && spec->special[k].text; k++)
            if ((size_t)spec->special[k].id + 1 > n_vocab) n_vocab = (size_t)spec->special[k].id + 1;
    if ((st = gptc_tok_alloc(ctx, n_vocab, boff + 256, &t))) goto done;
    for (size_t i = 0; i < n; i++) {
        if (t->kind[rank[i]] != GPTC_TOK_HOLE) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: rank %u appears twice", path, rank[i]);
            goto done;
        }
        if ((st = gptc_tok_set(ctx, t, rank[i], bytes + off[i], len[i], GPTC_TOK_ORDINARY, path))) goto done;
    }
    if (spec)
        for (int k = 0; k < 6 && spec->special[k].text; k++) {
            const char *s = spec->special[k].text;
            if (t->kind[spec->special[k].id] != GPTC_TOK_HOLE) {
                st = gptc_fail(ctx, GPTC_EFORMAT, "%s: rank %d is %s's special token %s", path, spec->special[k].id,
                               spec->name, s);
                goto done;
            }
            if ((st = gptc_tok_set(ctx, t, (size_t)spec->special[k].id, (const unsigned char *)s, strlen(s),
                                   GPTC_TOK_SPECIAL, path)))
                goto done;
        }
    t->direct = t->whole_lookup = 1;
    t->patkind = patkind;
    if ((st = gptc_tok_finish(ctx, t, path))) goto done;
    *out = t;
    t = NULL;
done:
    gptc_tokenizer_free(t);
    gptc_free(rank);
    gptc_free(off);
    gptc_free(len);
    gptc_free(bytes);
    gptc_free(data);
    return st;
}

/* ------------------------------------------------------------------ entry points */
static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* A pair of files in dir: a + b, when both exist. */
static int pair_in(const char *dir, const char *a, const char *b, char *pa, char *pb) {
    return !gptc_path_join(NULL, pa, PATH_MAX, dir, a) && !gptc_path_join(NULL, pb, PATH_MAX, dir, b) &&
           gptc_file_exists(pa) && gptc_file_exists(pb);
}

/* The first difference between two loaded tokenizers (vocabulary, kinds, merges) into
 * msg; 0 when they agree. */
static int tok_differ(const gptc_tokenizer *x, const gptc_tokenizer *y, char *msg, size_t cap) {
    size_t n = x->n_vocab < y->n_vocab ? x->n_vocab : y->n_vocab;
    for (size_t i = 0; i < n; i++) {
        if (x->kind[i] != y->kind[i] || x->tlen[i] != y->tlen[i] ||
            memcmp(x->blob + x->tstart[i], y->blob + y->tstart[i], x->tlen[i])) {
            static const char *const kn[] = {"no token", "an ordinary token", "a special token"};
            snprintf(msg, cap, "id %zu is %s of %u bytes in one and %s of %u bytes in the other", i, kn[x->kind[i]],
                     x->tlen[i], kn[y->kind[i]], y->tlen[i]);
            return 1;
        }
    }
    if (x->n_vocab != y->n_vocab) {
        snprintf(msg, cap, "%zu ids against %zu", x->n_vocab, y->n_vocab);
        return 1;
    }
    if (x->n_merges != y->n_merges) {
        snprintf(msg, cap, "%zu merges against %zu", x->n_merges, y->n_merges);
        return 1;
    }
    for (size_t r = 0; r < x->n_merges; r++)
        if (x->merges[r][0] != y->merges[r][0] || x->merges[r][1] != y->merges[r][1]) {
            snprintf(msg, cap, "merge %zu differs", r + 1);
            return 1;
        }
    return 0;
}

/* ------------------------------------------------------------------ GGUF */
/* tokenizer.ggml.* of a GGUF file (llama.cpp's "gpt2" model): tokens spelled as in
 * vocab.json, control (3) and user-defined (4) tokens special, unused (5) ids holes,
 * merges "left right" in rank order. String lengths were checked by the GGUF reader. */
static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static gptc_status load_gguf(gptc_ctx *ctx, const char *path, gptc_tokenizer **out) {
    gptc_gguf g;
    gptc_status st = gptc_gguf_open(ctx, path, &g);
    if (st) return st;
    gptc_tokenizer *t = NULL;
    unsigned char *buf = NULL;
    const char *model;
    size_t mlen, cap = 0;
    const gptc_gguf_kv *tk = gptc_gguf_find(&g, "tokenizer.ggml.tokens");
    const gptc_gguf_kv *ty = gptc_gguf_find(&g, "tokenizer.ggml.token_type");
    const gptc_gguf_kv *mg = gptc_gguf_find(&g, "tokenizer.ggml.merges");
    if ((st = gptc_gguf_get_str(ctx, &g, "tokenizer.ggml.model", &model, &mlen))) goto done;
    if (mlen != 4 || memcmp(model, "gpt2", 4)) {
        st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: tokenizer.ggml.model is \"%.*s\"; gptc reads \"gpt2\" (byte-level BPE)",
                       path, (int)mlen, model);
        goto done;
    }
    if (!tk || tk->type != GGUF_ARRAY || tk->elem_type != GGUF_STRING || !tk->n || tk->n > (1u << 24) || !mg ||
        mg->type != GGUF_ARRAY || mg->elem_type != GGUF_STRING ||
        (ty && (ty->type != GGUF_ARRAY || ty->elem_type != GGUF_I32 || ty->n != tk->n))) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: tokenizer.ggml.tokens and merges must be string arrays (1 to 2^24 "
                                          "tokens), token_type an int32 array of the same length", path);
        goto done;
    }
    if ((st = gptc_tok_alloc(ctx, (size_t)tk->n, 16 * (size_t)tk->n, &t))) goto done;
    size_t longest = 0;
    const unsigned char *p = tk->val;
    for (uint64_t id = 0; id < tk->n; id++) {
        size_t l = (size_t)le64(p);
        if (l > longest) longest = l;
        p += 8 + l;
    }
    p = mg->val;
    for (uint64_t k = 0; k < mg->n; k++) {
        size_t l = (size_t)le64(p);
        if (l > longest) longest = l;
        p += 8 + l;
    }
    if (!(buf = gptc_alloc(ctx, longest + 2, "token bytes"))) {
        st = GPTC_ENOMEM;
        goto done;
    }
    p = tk->val;
    for (uint64_t id = 0; id < tk->n; id++) {
        size_t l = (size_t)le64(p);
        const char *s = (const char *)p + 8;
        p += 8 + l;
        int32_t type = 1;
        if (ty) memcpy(&type, ty->val + 4 * id, 4);
        if (type == 5) continue; /* unused: a hole */
        char what[600];
        snprintf(what, sizeof what, "%s: tokenizer.ggml.tokens[%llu]", path, (unsigned long long)id);
        if (type == 3 || type == 4) {
            st = gptc_tok_set(ctx, t, (size_t)id, (const unsigned char *)s, l, GPTC_TOK_SPECIAL, what);
        } else {
            int bad = 0;
            long n = unspell(s, l, buf, &bad);
            if (n < 0) {
                st = gptc_fail(ctx, GPTC_EFORMAT, "%s: character U+%04X is not a byte-level BPE symbol", what,
                               (unsigned)bad);
                goto done;
            }
            st = gptc_tok_set(ctx, t, (size_t)id, buf, (size_t)n, GPTC_TOK_ORDINARY, what);
        }
        if (st) goto done;
    }
    if ((st = gptc_tok_build_vocab(ctx, t, path))) goto done;
    p = mg->val;
    for (uint64_t k = 0; k < mg->n; k++) {
        size_t l = (size_t)le64(p);
        const char *s = (const char *)p + 8, *sp = l ? memchr(s, ' ', l) : NULL;
        p += 8 + l;
        char where[600];
        snprintf(where, sizeof where, "%s: tokenizer.ggml.merges[%llu]", path, (unsigned long long)k);
        if (!sp) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: no space between the two parts", where);
            goto done;
        }
        if ((st = add_merge(ctx, t, &cap, where, s, (size_t)(sp - s), sp + 1, (size_t)(s + l - sp - 1), buf)))
            goto done;
    }
    t->patkind = GPTC_PATKIND_GPT2;
    if ((st = gptc_tok_finish(ctx, t, path))) goto done;
    *out = t;
    t = NULL;
done:
    gptc_free(buf);
    gptc_tokenizer_free(t);
    gptc_gguf_close(&g);
    return st;
}

gptc_status gptc_tokenizer_load(gptc_ctx *ctx, const char *path, gptc_tokenizer **out) {
    *out = NULL;
    char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];
    if (is_dir(path)) {
        /* tokenizer.json first (it can say more: a Split regex, add_prefix_space); when
         * vocab.json + merges.txt are there too they must hold the same vocabulary. */
        char j[PATH_MAX];
        if (!gptc_path_join(ctx, j, sizeof j, path, "tokenizer.json") && gptc_file_exists(j)) {
            gptc_status st = load_tokenizer_json(ctx, j, out);
            if (st || !pair_in(path, "vocab.json", "merges.txt", a, b)) return st;
            gptc_tokenizer *other = NULL;
            if ((st = load_vocab_merges(ctx, a, b, &other))) {
                gptc_tokenizer_free(*out);
                *out = NULL;
                return gptc_fail_prefix(ctx, st, "%s: next to %s", path, j);
            }
            char why[160];
            int differ = tok_differ(*out, other, why, sizeof why);
            gptc_tokenizer_free(other);
            if (differ) {
                gptc_tokenizer_free(*out);
                *out = NULL;
                return gptc_fail(ctx, GPTC_EFORMAT, "%s and %s + merges.txt disagree: %s (remove or rewrite one)", j,
                                 a, why);
            }
            return GPTC_OK;
        }
        if (!gptc_path_join(ctx, j, sizeof j, path, "vocab.txt") && gptc_file_exists(j))
            return gptc_wp_load(ctx, path, NULL, NULL, out);
        if (pair_in(path, "vocab.json", "merges.txt", a, b)) return load_vocab_merges(ctx, a, b, out);
        if (pair_in(path, "encoder.json", "vocab.bpe", a, b)) return load_vocab_merges(ctx, a, b, out);
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (!ends_with(de->d_name, ".tiktoken")) continue;
            if (gptc_path_join(ctx, a, sizeof a, path, de->d_name)) break;
            closedir(d);
            return load_tiktoken(ctx, a, NULL, out);
        }
        if (d) closedir(d);
        return gptc_fail(ctx, GPTC_EIO, "%s: no tokenizer files (looked for vocab.json + merges.txt, tokenizer.json, "
                         "vocab.txt, encoder.json + vocab.bpe, *.tiktoken)", path);
    }
    if (!gptc_file_exists(path)) return gptc_fail(ctx, GPTC_EIO, "%s: no such file or directory", path);
    if (gptc_gguf_is_file(path)) return load_gguf(ctx, path, out);
    const char *base = base_name(path);
    dir_of(path, dir, sizeof dir);
    static const char *const pairs[][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
    for (int k = 0; k < 2; k++)
        for (int side = 0; side < 2; side++)
            if (!strcmp(base, pairs[k][side])) {
                if (!pair_in(dir, pairs[k][0], pairs[k][1], a, b))
                    return gptc_fail(ctx, GPTC_EIO, "%s: needs %s next to it in %s", path, pairs[k][!side], dir);
                return load_vocab_merges(ctx, a, b, out);
            }
    if (!strcmp(base, "vocab.txt")) return gptc_wp_load(ctx, dir, NULL, NULL, out);
    if (ends_with(base, ".tiktoken")) return load_tiktoken(ctx, path, NULL, out);
    if (ends_with(base, ".json")) return load_tokenizer_json(ctx, path, out);
    /* Unknown name: a rank file starts with "<base64> <digits>". */
    return load_tiktoken(ctx, path, NULL, out);
}

gptc_status gptc_tokenizer_from_encoding(gptc_ctx *ctx, const char *name, gptc_tokenizer **out) {
    *out = NULL;
    const enc_spec *spec = NULL;
    for (size_t i = 0; i < N_ENCODINGS; i++)
        if (!strcmp(name, encodings[i].name)) spec = &encodings[i];
    if (!spec)
        return gptc_fail(ctx, GPTC_ENOTSUP, "unknown encoding '%s' (known: gpt2, r50k_base, p50k_base, cl100k_base, "
                         "o200k_base)", name);
    char dirs[4][PATH_MAX], file[PATH_MAX + 64], tried[4 * PATH_MAX + 64] = "";
    int nd = 0;
    const char *env = getenv("GPTC_DATA_DIR");
    if (env && *env) snprintf(dirs[nd++], PATH_MAX, "%s/encodings", env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char ed[PATH_MAX];
        dir_of(exe, ed, sizeof ed);
        snprintf(dirs[nd++], PATH_MAX, "%.*s/share/gptc/encodings", PATH_MAX - 32, ed);
    }
    snprintf(dirs[nd++], PATH_MAX, "/usr/local/share/gptc/encodings");
    snprintf(dirs[nd++], PATH_MAX, "/usr/share/gptc/encodings");
    for (int i = 0; i < nd; i++) {
        snprintf(file, sizeof file, "%.4000s/%.40s.tiktoken", dirs[i], name);
        if (gptc_file_exists(file)) {
            gptc_status st = load_tiktoken(ctx, file, spec, out);
            return st;
        }
        size_t tl = strlen(tried);
        snprintf(tried + tl, sizeof tried - tl, "%s%s", i ? ", " : "", dirs[i]);
    }
    return gptc_fail(ctx, GPTC_EIO, "encoding '%s': %s.tiktoken not found (looked in %s); run `make encodings` "
                     "(needs node + npm) or set GPTC_DATA_DIR", name, name, tried);
}
