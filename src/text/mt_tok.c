/* mt_tok.c: the tokenizer of a translation model directory, as transformers'
 * MarianTokenizer does it for OPUS-MT (source.spm and target.spm cut the text into
 * pieces, vocab.json maps pieces to ids, unknown pieces to <unk>, then </s> is appended;
 * decoding maps ids back to pieces, drops the special tokens and joins the pieces with
 * the target model), or gptc's own joint byte-level BPE (tokenizer.json / vocab.json +
 * merges.txt from `gptc tokenizer-train`) with eos appended. API: include/gptc.h. */
#include "../core/core.h"
#include "utf8.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A piece -> id map (vocab.json) with its inverse. */
typedef struct mt_vocab {
    char **piece;     /* by id, NULL for ids no piece has */
    size_t *plen;
    size_t n;         /* max id + 1 */
    int32_t *slot;    /* open addressing over ids, -1 empty */
    size_t mask;
} mt_vocab;

struct gptc_mt_tokenizer {
    int kind;                 /* GPTC_MT_SPM or GPTC_MT_BPE */
    gptc_spm *spm[2];         /* source, target */
    mt_vocab vocab[2];        /* source (and shared), target (separate_vocabs) */
    int separate;
    gptc_tokenizer *bpe;
    gptc_mt_ids ids;
    int cleanup;              /* clean_up_tokenization_spaces */
};

static void vocab_free(mt_vocab *v) {
    for (size_t i = 0; v->piece && i < v->n; i++) gptc_free(v->piece[i]);
    gptc_free(v->piece);
    gptc_free(v->plen);
    gptc_free(v->slot);
    memset(v, 0, sizeof *v);
}

static int32_t vocab_get(const mt_vocab *v, const char *s, size_t len) {
    if (!v->slot) return -1;
    for (size_t h = gptc_hash_bytes(s, len) & v->mask;; h = (h + 1) & v->mask) {
        int32_t id = v->slot[h];
        if (id < 0) return -1;
        if (v->plen[id] == len && !memcmp(v->piece[id], s, len)) return id;
    }
}

/* vocab.json: {"piece": id, ...}, ids distinct, 0 <= id < 2^24. */
static gptc_status vocab_load(gptc_ctx *ctx, const char *path, mt_vocab *v) {
    memset(v, 0, sizeof *v);
    char *data;
    size_t size;
    gptc_status s = gptc_file_read(ctx, path, &data, &size);
    if (s) return s;
    json_error_t err;
    json_t *j = json_loadb(data, size, 0, &err);
    gptc_free(data);
    if (!j) return gptc_fail(ctx, GPTC_EFORMAT, "%s: malformed JSON: %s (line %d)", path, err.text, err.line);
    if (!json_is_object(j) || !json_object_size(j)) {
        json_decref(j);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: expected a non-empty object {\"piece\": id, ...}", path);
    }
    const char *key;
    json_t *val;
    size_t n = 0;
    json_object_foreach(j, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= (1 << 24)) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: \"%.60s\": the id must be an integer in [0, 16777216)", path, key);
            break;
        }
        if ((size_t)id + 1 > n) n = (size_t)id + 1;
    }
    size_t cap = 16;
    while (!s && cap < 2 * json_object_size(j)) cap *= 2;
    if (!s) {
        v->n = n;
        v->piece = gptc_calloc(ctx, n, sizeof *v->piece, "vocabulary pieces");
        v->plen = gptc_calloc(ctx, n, sizeof *v->plen, "vocabulary pieces");
        v->slot = gptc_alloc(ctx, cap * sizeof *v->slot, "vocabulary table");
        if (!v->piece || !v->plen || !v->slot) s = GPTC_ENOMEM;
        else {
            v->mask = cap - 1;
            for (size_t i = 0; i < cap; i++) v->slot[i] = -1;
        }
    }
    if (!s) json_object_foreach(j, key, val) {
        size_t id = (size_t)json_integer_value(val), len = strlen(key);
        if (v->piece[id]) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: id %zu is given to both \"%.60s\" and \"%.60s\"", path, id, v->piece[id], key);
            break;
        }
        if (!(v->piece[id] = gptc_alloc(ctx, len + 1, "vocabulary piece"))) {
            s = GPTC_ENOMEM;
            break;
        }
        memcpy(v->piece[id], key, len + 1);
        v->plen[id] = len;
        size_t h = gptc_hash_bytes(key, len) & v->mask;
        while (v->slot[h] >= 0) h = (h + 1) & v->mask;
        v->slot[h] = (int32_t)id;
    }
    json_decref(j);
    if (s) vocab_free(v);
    return s;
}

void gptc_mt_tokenizer_free(gptc_mt_tokenizer *t) {
    if (!t) return;
    gptc_spm_free(t->spm[0]);
    gptc_spm_free(t->spm[1]);
    vocab_free(&t->vocab[0]);
    vocab_free(&t->vocab[1]);
    gptc_tokenizer_free(t->bpe);
    gptc_free(t);
}

/* A token name in tokenizer_config.json: "text" or {"content": "text"}. */
static const char *token_name(json_t *cfg, const char *key, const char *dflt) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_object(v)) v = json_object_get(v, "content");
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static gptc_status role_id(gptc_ctx *ctx, gptc_mt_tokenizer *t, const char *dir, const char *role, const char *name,
                           int required, int32_t *out) {
    size_t len = strlen(name);
    *out = t->kind == GPTC_MT_SPM ? vocab_get(&t->vocab[0], name, len) : gptc_tokenizer_special_id(t->bpe, name);
    if (*out < 0 && required)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: the %s token \"%s\" is not in the vocabulary%s", dir, role, name,
                         t->kind == GPTC_MT_SPM ? " (vocab.json)" : " as a special token");
    return GPTC_OK;
}

gptc_status gptc_mt_tokenizer_load(gptc_ctx *ctx, const char *dir, gptc_mt_tokenizer **out) {
    *out = NULL;
    char path[4200];
    gptc_mt_tokenizer *t = gptc_calloc(ctx, 1, sizeof *t, "translation tokenizer");
    if (!t) return GPTC_ENOMEM;
    json_t *cfg = NULL;
    gptc_status s = gptc_path_join(ctx, path, sizeof path, dir, "tokenizer_config.json");
    if (!s && gptc_file_exists(path)) {
        json_error_t err;
        cfg = json_load_file(path, 0, &err);
        if (!cfg || !json_is_object(cfg))
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: %s", path, cfg ? "expected a JSON object" : err.text);
    }
    json_t *cu = json_object_get(cfg, "clean_up_tokenization_spaces");
    t->cleanup = json_is_true(cu);
    if (!s) s = gptc_path_join(ctx, path, sizeof path, dir, "source.spm");
    if (!s && gptc_file_exists(path)) {
        t->kind = GPTC_MT_SPM;
        s = gptc_spm_load(ctx, path, &t->spm[0]);
        if (!s) s = gptc_path_join(ctx, path, sizeof path, dir, "target.spm");
        if (!s && !gptc_file_exists(path)) s = gptc_fail(ctx, GPTC_EIO, "%s: missing (source.spm is there)", path);
        if (!s) s = gptc_spm_load(ctx, path, &t->spm[1]);
        if (!s) s = gptc_path_join(ctx, path, sizeof path, dir, "vocab.json");
        if (!s) s = vocab_load(ctx, path, &t->vocab[0]);
        t->separate = json_is_true(json_object_get(cfg, "separate_vocabs"));
        if (!s && t->separate) s = gptc_path_join(ctx, path, sizeof path, dir, "target_vocab.json");
        if (!s && t->separate) s = vocab_load(ctx, path, &t->vocab[1]);
        t->ids.n_vocab = t->vocab[0].n > t->vocab[1].n ? t->vocab[0].n : t->vocab[1].n;
        if (!s) s = role_id(ctx, t, dir, "unk", token_name(cfg, "unk_token", "<unk>"), 1, &t->ids.unk);
        if (!s) s = role_id(ctx, t, dir, "eos", token_name(cfg, "eos_token", "</s>"), 1, &t->ids.eos);
        if (!s) s = role_id(ctx, t, dir, "pad", token_name(cfg, "pad_token", "<pad>"), 1, &t->ids.pad);
    } else if (!s) {
        t->kind = GPTC_MT_BPE;
        s = gptc_tokenizer_load(ctx, dir, &t->bpe);
        if (!s && gptc_tokenizer_kind(t->bpe) != GPTC_TOKENIZER_BPE)
            s = gptc_fail(ctx, GPTC_ENOTSUP, "%s: a translation model takes source.spm + target.spm + vocab.json or a "
                          "byte-level BPE (tokenizer.json), not WordPiece", dir);
        if (!s) {
            t->ids.n_vocab = gptc_tokenizer_n_vocab(t->bpe);
            const char *eos = token_name(cfg, "eos_token", NULL);
            if (!eos) eos = gptc_tokenizer_special_id(t->bpe, "</s>") >= 0 ? "</s>" : "<|endoftext|>";
            s = role_id(ctx, t, dir, "eos", eos, 1, &t->ids.eos);
        }
        if (!s) s = role_id(ctx, t, dir, "pad", token_name(cfg, "pad_token", "<pad>"), 0, &t->ids.pad);
        if (!s) s = role_id(ctx, t, dir, "unk", token_name(cfg, "unk_token", "<unk>"), 0, &t->ids.unk);
    }
    json_decref(cfg);
    if (s) {
        gptc_mt_tokenizer_free(t);
        return s;
    }
    *out = t;
    return GPTC_OK;
}

gptc_mt_ids gptc_mt_tokenizer_ids(const gptc_mt_tokenizer *t) { return t->ids; }
int gptc_mt_tokenizer_kind(const gptc_mt_tokenizer *t) { return t->kind; }

/* MarianTokenizer's language_code_re ">>.+?<<": the next match at or after *at in
 * s[0..n) ('.' is any character but a newline), as [*b, *e); 0 when none. */
static int lang_code_next(const char *s, size_t n, size_t at, size_t *b, size_t *e) {
    for (size_t i = at; i + 5 <= n; i++) {
        if (s[i] != '>' || s[i + 1] != '>') continue;
        for (size_t j = i + 3; j + 2 <= n && s[j - 1] != '\n'; j++)
            if (s[j] == '<' && s[j + 1] == '<') {
                *b = i;
                *e = j + 2;
                return 1;
            }
    }
    return 0;
}

gptc_status gptc_mt_encode(gptc_ctx *ctx, const gptc_mt_tokenizer *t, int side, const char *text, size_t len,
                           int max_len, int32_t **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (side != GPTC_MT_SOURCE && side != GPTC_MT_TARGET)
        return gptc_fail(ctx, GPTC_EINVAL, "translation tokenizer: side %d is neither source (0) nor target (1)", side);
    if (max_len == 1 || max_len < 0)
        return gptc_fail(ctx, GPTC_EINVAL, "translation tokenizer: max_len %d cannot hold a token and </s>", max_len);
    int32_t *raw = NULL, *res = NULL;
    size_t n = 0;
    gptc_status s = GPTC_OK;
    if (t->kind == GPTC_MT_BPE) {
        s = gptc_tokenizer_encode(ctx, t->bpe, text, len, 0, &raw, &n);
        if (!s && !(res = gptc_alloc(ctx, (n + 1) * sizeof *res, "token ids"))) s = GPTC_ENOMEM;
        if (!s && n) memcpy(res, raw, n * sizeof *res);
        free(raw);
    } else {
        const mt_vocab *v = &t->vocab[side == GPTC_MT_TARGET && t->separate];
        /* the language code at the start is a token; every code is cut from the text */
        size_t b, e, at = 0, code_end = 0, kept = 0;
        char *clean = gptc_alloc(ctx, len + 1, "text");
        if (!clean) return GPTC_ENOMEM;
        while (lang_code_next(text, len, at, &b, &e)) {
            if (b == 0) code_end = e;
            memcpy(clean + kept, text + at, b - at);
            kept += b - at;
            at = e;
        }
        memcpy(clean + kept, text + at, len - at);
        kept += len - at;
        gptc_spm_pieces p = {0};
        s = gptc_spm_encode_pieces(ctx, t->spm[side], clean, kept, &p);
        gptc_free(clean);
        if (!s && !(res = gptc_alloc(ctx, (p.n + 2) * sizeof *res, "token ids"))) s = GPTC_ENOMEM;
        if (!s && code_end) {
            int32_t id = vocab_get(v, text, code_end);
            res[n++] = id < 0 ? t->ids.unk : id;
        }
        for (size_t i = 0; !s && i < p.n; i++) {
            int32_t id = vocab_get(v, p.text + p.offsets[i], p.offsets[i + 1] - p.offsets[i]);
            res[n++] = id < 0 ? t->ids.unk : id;
        }
        gptc_spm_pieces_free(&p);
    }
    if (s) {
        gptc_free(res);
        return s;
    }
    if (max_len > 0 && n + 1 > (size_t)max_len) n = (size_t)max_len - 1; /* truncation keeps the start, then </s> */
    res[n++] = t->ids.eos;
    *ids = res;
    *n_ids = n;
    return GPTC_OK;
}

int gptc_mt_is_special(const gptc_mt_tokenizer *t, int32_t id) {
    return id == t->ids.eos || id == t->ids.pad || id == t->ids.unk;
}

/* A growing gptc_alloc'ed byte buffer. */
typedef struct spm_out { char *p; size_t len, cap; } spm_out;
static gptc_status out_put(gptc_ctx *ctx, spm_out *o, const char *s, size_t n) {
    if (o->len + n + 1 > o->cap) {
        size_t c = (o->cap ? o->cap * 2 : 256) + n;
        char *np = gptc_alloc(ctx, c, "text");
        if (!np) return GPTC_ENOMEM;
        if (o->len) memcpy(np, o->p, o->len);
        gptc_free(o->p);
        o->p = np;
        o->cap = c;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
    return GPTC_OK;
}

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* transformers' clean_up_tokenization, in place. */
static size_t cleanup_spaces(char *s, size_t n) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]), o = 0;
        for (size_t i = 0; i < n;) {
            if (i + fl <= n && !memcmp(s + i, from[r], fl)) {
                memmove(s + o, to[r], tl);
                o += tl;
                i += fl;
            } else s[o++] = s[i++];
        }
        n = o;
        s[n] = 0;
    }
    return n;
}

gptc_status gptc_mt_decode(gptc_ctx *ctx, const gptc_mt_tokenizer *t, const int32_t *ids, size_t n_ids, char **text,
                           size_t *len) {
    *text = NULL;
    *len = 0;
    int32_t *keep = gptc_alloc(ctx, (n_ids + 1) * sizeof *keep, "token ids");
    if (!keep) return GPTC_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= t->ids.n_vocab) {
            gptc_free(keep);
            return gptc_fail(ctx, GPTC_ERANGE, "id %d at position %zu is out of range (vocabulary of %zu)", ids[i], i,
                             t->ids.n_vocab);
        }
        if (!gptc_mt_is_special(t, ids[i])) keep[k++] = ids[i];
    }
    char *raw = NULL;
    size_t n = 0;
    gptc_status s = GPTC_OK;
    if (t->kind == GPTC_MT_BPE) s = gptc_tokenizer_decode(ctx, t->bpe, keep, k, &raw, &n);
    else {
        /* ids -> pieces of the target vocabulary, joined by target.spm's DecodePieces; an id
         * without a piece is the token "<unk>", which convert_tokens_to_string writes as
         * itself and a space between the decoded runs */
        const mt_vocab *v = &t->vocab[t->separate];
        const char **pt = gptc_alloc(ctx, (k + 1) * sizeof *pt, "pieces");
        size_t *pl = gptc_alloc(ctx, (k + 1) * sizeof *pl, "pieces");
        spm_out o = {0};
        if (!pt || !pl) s = GPTC_ENOMEM;
        for (size_t i = 0, run = 0; !s && i <= k; i++) {
            const char *p = i < k && (size_t)keep[i] < v->n ? v->piece[keep[i]] : NULL;
            if (p) {
                pt[run] = p;
                pl[run++] = v->plen[keep[i]];
                continue;
            }
            char *d;
            size_t dl;
            s = gptc_spm_decode_pieces(ctx, t->spm[1], pt, pl, run, &d, &dl);
            if (!s) s = out_put(ctx, &o, d, dl);
            free(d);
            if (!s && i < k) s = out_put(ctx, &o, "<unk> ", 6);
            run = 0;
        }
        gptc_free(pt);
        gptc_free(pl);
        if (s) gptc_free(o.p);
        raw = o.p;
        n = o.len;
    }
    gptc_free(keep);
    if (s) return s;
    if (!raw) raw = t->kind == GPTC_MT_BPE ? calloc(1, 1) : gptc_calloc(ctx, 1, 1, "text");
    if (!raw) return GPTC_ENOMEM;
    /* MarianTokenizer: U+2581 -> space, then strip() (the BPE text as it decodes) */
    char *o = gptc_alloc(ctx, 3 * n + 1, "text"); /* an invalid byte becomes U+FFFD (3 bytes) */
    if (!o) {
        if (t->kind == GPTC_MT_BPE) free(raw);
        else gptc_free(raw);
        return GPTC_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; raw && i < n;) {
        if (t->kind == GPTC_MT_SPM && i + 3 <= n && !memcmp(raw + i, "\xe2\x96\x81", 3)) {
            o[m++] = ' ';
            i += 3;
            continue;
        }
        /* bytes.decode("utf-8", errors="replace"): a maximal invalid subpart (or an
         * incomplete character at the end) becomes U+FFFD */
        size_t adv;
        int cp = gptc_utf8_next((const unsigned char *)raw + i, n - i, &adv);
        if (cp == GPTC_UTF8_INCOMPLETE) adv = n - i;
        if (cp < 0) {
            memcpy(o + m, "\xef\xbf\xbd", 3);
            m += 3;
        } else {
            memcpy(o + m, raw + i, adv);
            m += adv;
        }
        i += adv;
    }
    if (t->kind == GPTC_MT_BPE) free(raw);
    else gptc_free(raw);
    o[m] = 0;
    if (t->kind == GPTC_MT_SPM) { /* Python's str.strip() (of ASCII whitespace: docs/translation.md) */
        size_t b = 0;
        while (b < m && is_space(o[b])) b++;
        while (m > b && is_space(o[m - 1])) m--;
        memmove(o, o + b, m - b);
        m -= b;
        o[m] = 0;
    }
    if (t->cleanup) m = cleanup_spaces(o, m);
    *text = o;
    *len = m;
    return GPTC_OK;
}
