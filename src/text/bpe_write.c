/* bpe_write.c: writes a byte-level BPE vocabulary as Hugging Face's vocab.json,
 * merges.txt and special_tokens_map.json (see bpe_write.h). Validates what HF's loader
 * would reject (duplicate keys, merges whose parts or result are not in the vocab). */
#include "bpe_write.h"
#include "../io/file.h"
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

    /* vocab.json in id order: ordinary tokens, then the special tokens by id. */
    sbuf b = {0};
    sb_str(ctx, &b, "{");
    for (size_t i = 0; i < spec->n_tokens; i++) {
        sbuf sp = {0};
        sb_spell(ctx, &sp, spec->tok[i], spec->tok_len[i]);
        if (sp.oom) b.oom = 1;
        else sb_json(ctx, &b, sp.p, sp.n);
        gptc_free(sp.p);
        char num[32];
        snprintf(num, sizeof num, ": %zu", i);
        sb_str(ctx, &b, num);
        if (i + 1 < spec->n_tokens || spec->n_special) sb_str(ctx, &b, ", ");
    }
    for (size_t id = spec->n_tokens; id < spec->n_tokens + spec->n_special; id++) {
        for (size_t k = 0; k < spec->n_special; k++) {
            if ((size_t)spec->special_id[k] != id) continue;
            sb_json(ctx, &b, spec->special[k], strlen(spec->special[k]));
            char num[32];
            snprintf(num, sizeof num, ": %zu", id);
            sb_str(ctx, &b, num);
            if (id + 1 < spec->n_tokens + spec->n_special) sb_str(ctx, &b, ", ");
        }
    }
    sb_str(ctx, &b, "}\n");
    st = write_one(ctx, dir, "vocab.json", &b);
    b.n = 0;

    if (!st) {
        sb_str(ctx, &b, "#version: 0.2\n");
        for (size_t m = 0; m < spec->n_merges; m++) {
            int32_t l = spec->merges[m][0], r = spec->merges[m][1];
            sb_spell(ctx, &b, spec->tok[l], spec->tok_len[l]);
            sb_put(ctx, &b, " ", 1);
            sb_spell(ctx, &b, spec->tok[r], spec->tok_len[r]);
            sb_put(ctx, &b, "\n", 1);
        }
        st = write_one(ctx, dir, "merges.txt", &b);
        b.n = 0;
    }

    /* special_tokens_map.json: <|endoftext|> plays bos/eos/unk as in GPT-2; every other
     * special token is listed in additional_special_tokens. */
    if (!st && spec->n_special) {
        const char *eot = NULL;
        for (size_t k = 0; k < spec->n_special; k++)
            if (strcmp(spec->special[k], "<|endoftext|>") == 0) eot = spec->special[k];
        sb_str(ctx, &b, "{");
        int first = 1;
        if (eot) {
            static const char *const roles[] = {"bos_token", "eos_token", "unk_token"};
            for (int r = 0; r < 3; r++) {
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
