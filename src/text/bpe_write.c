/* bpe_write.c: writes a byte-level BPE vocabulary as Hugging Face's vocab.json,
 * merges.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json (see
 * bpe_write.h). Validates what HF's loader
 * would reject (duplicate keys, merges whose parts or result are not in the vocab). */
#include "bpe_write.h"
#include "../core/core.h"
#include "pretok.h"
#include <string.h>

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_reserve(gptc_ctx *ctx, sbuf *b, size_t extra) {
    if (b->oom) return;
    size_t need;
    if (!gptc_add_ok(b->n, extra, &need)) { b->oom = 1; return; }
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { b->oom = 1; return; }
        cap *= 2;
    }
    char *np = gptc_alloc(ctx, cap, "vocabulary text");
    if (!np) { b->oom = 1; return; }
    if (b->n) memcpy(np, b->p, b->n);
    gptc_free(b->p);
    b->p = np;
    b->cap = cap;
}

static void sb_put(gptc_ctx *ctx, sbuf *b, const void *s, size_t n) {
    sb_reserve(ctx, b, n);
    if (b->oom) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void sb_str(gptc_ctx *ctx, sbuf *b, const char *s) { sb_put(ctx, b, s, strlen(s)); }

/* Token bytes spelled with GPT-2's byte->unicode mapping, UTF-8 encoded (each byte
 * becomes a code point < 0x800, so 1 or 2 bytes). */
static void sb_spell(gptc_ctx *ctx, sbuf *b, const unsigned char *t, size_t n) {
    sb_reserve(ctx, b, 2 * n);
    if (b->oom) return;
    for (size_t i = 0; i < n; i++) {
        int cp = gptc_byte_to_cp(t[i]);
        if (cp < 0x80) {
            b->p[b->n++] = (char)cp;
        } else {
            b->p[b->n++] = (char)(0xC0 | (cp >> 6));
            b->p[b->n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
}

/* A JSON string of UTF-8 text s[0, n) with the escapes JSON requires. */
static void sb_json(gptc_ctx *ctx, sbuf *b, const char *s, size_t n) {
    sb_put(ctx, b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(ctx, b, e, 2);
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_put(ctx, b, e, 6);
        } else {
            sb_put(ctx, b, &s[i], 1);
        }
    }
    sb_put(ctx, b, "\"", 1);
}

static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
        else return 0;
        if (i + k >= n) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* An open-addressing set of byte strings (the raw token bytes), id per entry. */
typedef struct bset {
    int32_t *slot; /* id + 1, 0 empty */
    size_t mask;
} bset;

/* Finds (bytes) among ids already inserted; returns its id or -1. With insert_id >= 0
 * inserts it when absent. */
static int32_t bset_find(bset *s, const gptc_bpe_spec *sp, const unsigned char *p, size_t n,
                         int32_t insert_id) {
    size_t i = gptc_hash_bytes(p, n) & s->mask;
    for (;;) {
        int32_t e = s->slot[i];
        if (e == 0) {
            if (insert_id >= 0) s->slot[i] = insert_id + 1;
            return -1;
        }
        int32_t id = e - 1;
        if (sp->tok_len[id] == n && memcmp(sp->tok[id], p, n) == 0) return id;
        i = (i + 1) & s->mask;
    }
}

static gptc_status validate(gptc_ctx *ctx, const char *dir, const gptc_bpe_spec *sp) {
    if (sp->n_tokens == 0 || sp->n_tokens + sp->n_special > INT32_MAX)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: vocabulary of %zu tokens + %zu special tokens is invalid",
                         dir, sp->n_tokens, sp->n_special);
    size_t cap = 16;
    while (cap < 2 * sp->n_tokens) cap *= 2;
    bset s = {gptc_calloc(ctx, cap, sizeof(int32_t), "vocabulary check"), cap - 1};
    if (!s.slot) return GPTC_ENOMEM;
    gptc_status st = GPTC_OK;
    unsigned char *cat = NULL;
    size_t cat_cap = 0;
    for (size_t i = 0; i < sp->n_tokens && !st; i++) {
        if (sp->tok_len[i] == 0) {
            st = gptc_fail(ctx, GPTC_EINVAL, "%s: token %zu is empty", dir, i);
        } else {
            int32_t prev = bset_find(&s, sp, sp->tok[i], sp->tok_len[i], (int32_t)i);
            if (prev >= 0)
                st = gptc_fail(ctx, GPTC_EINVAL, "%s: tokens %d and %zu have the same bytes", dir, prev, i);
        }
    }
    for (size_t m = 0; m < sp->n_merges && !st; m++) {
        int32_t l = sp->merges[m][0], r = sp->merges[m][1];
        if (l < 0 || r < 0 || (size_t)l >= sp->n_tokens || (size_t)r >= sp->n_tokens) {
            st = gptc_fail(ctx, GPTC_ERANGE, "%s: merge %zu (%d, %d) refers to a token outside 0..%zu", dir, m,
                           l, r, sp->n_tokens - 1);
            break;
        }
        size_t n = sp->tok_len[l] + sp->tok_len[r];
        if (n > cat_cap) {
            gptc_free(cat);
            cat_cap = 2 * n;
            cat = gptc_alloc(ctx, cat_cap, "vocabulary check");
            if (!cat) { st = GPTC_ENOMEM; break; }
        }
        memcpy(cat, sp->tok[l], sp->tok_len[l]);
        memcpy(cat + sp->tok_len[l], sp->tok[r], sp->tok_len[r]);
        if (bset_find(&s, sp, cat, n, -1) < 0)
            st = gptc_fail(ctx, GPTC_EINVAL, "%s: merge %zu (%d, %d): the merged token is not in the vocabulary",
                           dir, m, l, r);
    }
    for (size_t k = 0; k < sp->n_special && !st; k++) {
        const char *t = sp->special[k];
        size_t n = strlen(t);
        int32_t id = sp->special_id[k];
        if (n == 0 || !utf8_valid((const unsigned char *)t, n))
            st = gptc_fail(ctx, GPTC_EINVAL, "%s: special token %zu is empty or not valid UTF-8", dir, k);
        else if (id < 0 || (size_t)id < sp->n_tokens || (size_t)id >= sp->n_tokens + sp->n_special)
            st = gptc_fail(ctx, GPTC_ERANGE, "%s: special token '%s' has id %d, expected %zu..%zu", dir, t, id,
                           sp->n_tokens, sp->n_tokens + sp->n_special - 1);
        for (size_t j = 0; j < k && !st; j++)
            if (sp->special_id[j] == id || strcmp(sp->special[j], t) == 0)
                st = gptc_fail(ctx, GPTC_EINVAL, "%s: special tokens %zu and %zu share a text or id", dir, j, k);
    }
    gptc_free(cat);
    gptc_free(s.slot);
    return st;
}

/* Does the spelled form of an ordinary token equal the special text t? Then vocab.json
 * would hold one key twice. */
static int spelled_equals(const unsigned char *tok, size_t n, const char *t) {
    const unsigned char *s = (const unsigned char *)t;
    size_t j = 0, tn = strlen(t);
    for (size_t i = 0; i < n; i++) {
        int cp = gptc_byte_to_cp(tok[i]);
        if (cp < 0x80) {
            if (j >= tn || s[j] != cp) return 0;
            j++;
        } else {
            if (j + 1 >= tn || s[j] != (0xC0 | (cp >> 6)) || s[j + 1] != (0x80 | (cp & 0x3F))) return 0;
            j += 2;
        }
    }
    return j == tn;
}

static gptc_status write_one(gptc_ctx *ctx, const char *dir, const char *name, sbuf *b) {
    char path[4096];
    gptc_status st = gptc_path_join(ctx, path, sizeof path, dir, name);
    if (st) return st;
    if (b->oom) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory building the file", path);
    gptc_iovec part = {b->p, b->n};
    return gptc_file_write_atomic(ctx, path, &part, 1);
}

/* The special token with this id (ids n_tokens.. are all special, validated). */
static const char *special_of(const gptc_bpe_spec *spec, size_t id) {
    for (size_t k = 0; k < spec->n_special; k++)
        if ((size_t)spec->special_id[k] == id) return spec->special[k];
    return "";
}

static const char *find_special(const gptc_bpe_spec *spec, const char *text) {
    for (size_t k = 0; k < spec->n_special; k++)
        if (strcmp(spec->special[k], text) == 0) return spec->special[k];
    return NULL;
}

/* An added token as Hugging Face writes it (tokenizer.json's added_tokens entries and
 * tokenizer_config.json's added_tokens_decoder values, without the id). */
static void sb_added_token(gptc_ctx *ctx, sbuf *b, const char *text) {
    sb_str(ctx, b, "{\"content\": ");
    sb_json(ctx, b, text, strlen(text));
    sb_str(ctx, b, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, "
                   "\"special\": true}");
}

/* tokenizer.json as transformers' GPT2TokenizerFast saves it: ByteLevel pre-tokenizer,
 * post-processor and decoder, a BPE model with the vocabulary and merges, and the
 * special tokens as added_tokens with their ids. */
static gptc_status write_tokenizer_json(gptc_ctx *ctx, const char *dir, const gptc_bpe_spec *spec,
                                        const sbuf *vocab, const sbuf *merges, sbuf *b) {
    if (vocab->oom || merges->oom) b->oom = 1;
    sb_str(ctx, b, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [");
    for (size_t id = spec->n_tokens; id < spec->n_tokens + spec->n_special; id++) {
        char num[48];
        snprintf(num, sizeof num, "%s\n    {\"id\": %zu, ", id > spec->n_tokens ? "," : "", id);
        sb_str(ctx, b, num);
        sbuf t = {0};
        sb_added_token(ctx, &t, special_of(spec, id));
        if (t.oom) b->oom = 1;
        else sb_put(ctx, b, t.p + 1, t.n - 1); /* without its '{' */
        gptc_free(t.p);
    }
    sb_str(ctx, b, spec->n_special ? "\n  ],\n" : "],\n");
    sb_str(ctx, b,
           "  \"normalizer\": null,\n"
           "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
           "\"use_regex\": true},\n"
           "  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, "
           "\"use_regex\": true},\n"
           "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, "
           "\"use_regex\": true},\n"
           "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": "
           "\"\", \"end_of_word_suffix\": \"\", \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": "
           "false,\n    \"vocab\": ");
    if (!b->oom) sb_put(ctx, b, vocab->p, vocab->n);
    sb_str(ctx, b, ",\n    \"merges\": ");
    if (!b->oom) sb_put(ctx, b, merges->p, merges->n);
    sb_str(ctx, b, "\n  }\n}\n");
    return write_one(ctx, dir, "tokenizer.json", b);
}


/* tokenizer_config.json for transformers' AutoTokenizer: GPT2Tokenizer, the special
 * tokens' roles (bos/eos/unk/pad = <|endoftext|> when the vocabulary has it, as in
 * special_tokens_map.json: GPT-2's roles, pad as fine-tuning scripts set it), every added
 * token by id, and ChatML's chat_template when <|im_start|> and <|im_end|> are special
 * tokens. */
static gptc_status write_tokenizer_config(gptc_ctx *ctx, const char *dir, const gptc_bpe_spec *spec, sbuf *b) {
    const char *eot = find_special(spec, "<|endoftext|>");
    int chat = find_special(spec, "<|im_start|>") && find_special(spec, "<|im_end|>");
    char num[64];
    sb_str(ctx, b, "{\n  \"tokenizer_class\": \"GPT2Tokenizer\",\n  \"add_bos_token\": false,\n"
                   "  \"add_prefix_space\": false,\n  \"added_tokens_decoder\": {");
    for (size_t id = spec->n_tokens; id < spec->n_tokens + spec->n_special; id++) {
        snprintf(num, sizeof num, "%s\n    \"%zu\": ", id > spec->n_tokens ? "," : "", id);
        sb_str(ctx, b, num);
        sb_added_token(ctx, b, special_of(spec, id));
    }
    sb_str(ctx, b, spec->n_special ? "\n  },\n" : "},\n");
    const char *roles[4][2] = {{"bos_token", eot}, {"eos_token", eot}, {"unk_token", eot}, {"pad_token", eot}};
    for (int r = 0; r < 4; r++) {
        sb_str(ctx, b, "  \"");
        sb_str(ctx, b, roles[r][0]);
        sb_str(ctx, b, "\": ");
        if (roles[r][1]) sb_json(ctx, b, roles[r][1], strlen(roles[r][1]));
        else sb_str(ctx, b, "null");
        sb_str(ctx, b, ",\n");
    }
    int extra = 0;
    for (size_t k = 0; k < spec->n_special; k++) {
        if (spec->special[k] == eot) continue;
        sb_str(ctx, b, extra++ ? ", " : "  \"additional_special_tokens\": [");
        sb_json(ctx, b, spec->special[k], strlen(spec->special[k]));
    }
    if (extra) sb_str(ctx, b, "],\n");
    if (chat) {
        sb_str(ctx, b, "  \"chat_template\": ");
        sb_json(ctx, b, gptc_chatml_template, strlen(gptc_chatml_template));
        sb_str(ctx, b, ",\n");
    }
    snprintf(num, sizeof num, "  \"model_max_length\": %zu,\n", spec->model_max_length ? spec->model_max_length : 1024);
    sb_str(ctx, b, num);
    sb_str(ctx, b, "  \"clean_up_tokenization_spaces\": false,\n  \"errors\": \"replace\"\n}\n");
    return write_one(ctx, dir, "tokenizer_config.json", b);
}

gptc_status gptc_bpe_write_hf(gptc_ctx *ctx, const char *dir, const gptc_bpe_spec *spec) {
    gptc_status st = validate(ctx, dir, spec);
    if (st) return st;
    for (size_t k = 0; k < spec->n_special; k++)
        for (size_t i = 0; i < spec->n_tokens; i++)
            if (spelled_equals(spec->tok[i], spec->tok_len[i], spec->special[k]))
                return gptc_fail(ctx, GPTC_EINVAL, "%s: special token '%s' is spelled like ordinary token %zu",
                                 dir, spec->special[k], i);
    st = gptc_mkdirs(ctx, dir);
    if (st) return st;

    /* vocab.json in id order: ordinary tokens, then the special tokens by id. The same
     * object is tokenizer.json's model.vocab. */
    sbuf b = {0}, vocab = {0}, merges = {0};
    sb_str(ctx, &vocab, "{");
    for (size_t i = 0; i < spec->n_tokens; i++) {
        sbuf sp = {0};
        sb_spell(ctx, &sp, spec->tok[i], spec->tok_len[i]);
        if (sp.oom) vocab.oom = 1;
        else sb_json(ctx, &vocab, sp.p, sp.n);
        gptc_free(sp.p);
        char num[32];
        snprintf(num, sizeof num, ": %zu", i);
        sb_str(ctx, &vocab, num);
        if (i + 1 < spec->n_tokens || spec->n_special) sb_str(ctx, &vocab, ", ");
    }
    for (size_t id = spec->n_tokens; id < spec->n_tokens + spec->n_special; id++) {
        const char *sp = special_of(spec, id);
        sb_json(ctx, &vocab, sp, strlen(sp));
        char num[32];
        snprintf(num, sizeof num, ": %zu", id);
        sb_str(ctx, &vocab, num);
        if (id + 1 < spec->n_tokens + spec->n_special) sb_str(ctx, &vocab, ", ");
    }
    sb_str(ctx, &vocab, "}");
    sb_put(ctx, &b, vocab.p, vocab.n);
    sb_str(ctx, &b, "\n");
    st = write_one(ctx, dir, "vocab.json", &b);
    b.n = 0;

    /* merges.txt, and the same lines as tokenizer.json's model.merges ("left right"). */
    if (!st) {
        sb_str(ctx, &b, "#version: 0.2\n");
        sb_str(ctx, &merges, "[");
        for (size_t m = 0; m < spec->n_merges; m++) {
            int32_t l = spec->merges[m][0], r = spec->merges[m][1];
            size_t from = b.n;
            sb_spell(ctx, &b, spec->tok[l], spec->tok_len[l]);
            sb_put(ctx, &b, " ", 1);
            sb_spell(ctx, &b, spec->tok[r], spec->tok_len[r]);
            if (!b.oom) {
                if (m) sb_str(ctx, &merges, ", ");
                sb_json(ctx, &merges, b.p + from, b.n - from);
            }
            sb_put(ctx, &b, "\n", 1);
        }
        sb_str(ctx, &merges, "]");
        st = write_one(ctx, dir, "merges.txt", &b);
        b.n = 0;
    }
    if (!st) st = write_tokenizer_json(ctx, dir, spec, &vocab, &merges, &b);
    b.n = 0;
    if (!st) st = write_tokenizer_config(ctx, dir, spec, &b);
    b.n = 0;
    gptc_free(vocab.p);
    gptc_free(merges.p);

    /* special_tokens_map.json: <|endoftext|> plays bos/eos/unk as in GPT-2 (and pad); every other
     * special token is listed in additional_special_tokens. */
    if (!st && spec->n_special) {
        const char *eot = NULL;
        for (size_t k = 0; k < spec->n_special; k++)
            if (strcmp(spec->special[k], "<|endoftext|>") == 0) eot = spec->special[k];
        sb_str(ctx, &b, "{");
        int first = 1;
        if (eot) {
            static const char *const roles[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
            for (int r = 0; r < 4; r++) {
                sb_str(ctx, &b, first ? "\n  \"" : ",\n  \"");
                sb_str(ctx, &b, roles[r]);
                sb_str(ctx, &b, "\": ");
                sb_json(ctx, &b, eot, strlen(eot));
                first = 0;
            }
        }
        if (spec->n_special > (eot ? 1u : 0u)) {
            sb_str(ctx, &b, first ? "\n  \"additional_special_tokens\": [" : ",\n  \"additional_special_tokens\": [");
            int f2 = 1;
            for (size_t k = 0; k < spec->n_special; k++) {
                if (spec->special[k] == eot) continue;
                if (!f2) sb_str(ctx, &b, ", ");
                sb_json(ctx, &b, spec->special[k], strlen(spec->special[k]));
                f2 = 0;
            }
            sb_str(ctx, &b, "]");
        }
        sb_str(ctx, &b, "\n}\n");
        st = write_one(ctx, dir, "special_tokens_map.json", &b);
    }
    gptc_free(b.p);
    return st;
}
