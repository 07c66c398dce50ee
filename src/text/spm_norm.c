/* spm_norm.c: sentencepiece's normalizer (normalizer.cc of 0.1.97): the precompiled
 * charsmap, a Darts-clone double-array trie over the input bytes whose values point
 * at NUL-terminated replacement strings, matched longest-prefix first; user-defined
 * pieces kept as they are; malformed UTF-8 -> U+FFFD one byte at a time; the dummy
 * prefix, the removal of extra whitespace and the U+2581 escape.
 *
 * precompiled_charsmap = u32 LE trie_size | trie_size bytes of double-array units
 * (u32 LE each) | the replacement strings, each ending in NUL. A unit: bit 8 has_leaf,
 * bits 0-7 the label (bit 31 too: set on a leaf, whose bits 0-30 are the value),
 * offset = (unit >> 10) << ((unit & (1 << 9)) >> 6). From node p, byte c leads to
 * q = p ^ offset(p) ^ c when label(q) == c; a key ends at q when has_leaf(q), with the
 * value at q ^ offset(q). */
#include "spm.h"
#include <stdlib.h>

int spm_buf_put(spm_buf *b, const void *s, size_t n) {
    if (n > SIZE_MAX / 2 - b->len) return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

int spm_valid_utf8_prefix(const unsigned char *s, size_t len, size_t *mblen) {
    /* string_util::DecodeUTF8 + IsValidDecodeUTF8: a literal U+FFFD is valid */
    uint32_t cp;
    *mblen = 1;
    if (s[0] < 0x80) return 1;
#define TRAIL(x) (((x) & 0xC0) == 0x80)
#define CP_OK(c) ((c) < 0xD800 || ((c) >= 0xE000 && (c) <= 0x10FFFF))
    if (len >= 2 && (s[0] & 0xE0) == 0xC0) {
        cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
        if (TRAIL(s[1]) && cp >= 0x80 && CP_OK(cp)) return (int)(*mblen = 2);
    } else if (len >= 3 && (s[0] & 0xF0) == 0xE0) {
        cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        if (TRAIL(s[1]) && TRAIL(s[2]) && cp >= 0x800 && CP_OK(cp)) return (int)(*mblen = 3);
    } else if (len >= 4 && (s[0] & 0xF8) == 0xF0) {
        cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 |
             (s[3] & 0x3F);
        if (TRAIL(s[1]) && TRAIL(s[2]) && TRAIL(s[3]) && cp >= 0x10000 && CP_OK(cp)) return (int)(*mblen = 4);
    }
#undef TRAIL
#undef CP_OK
    return 0;
}

gptc_status spm_charsmap_init(gptc_ctx *ctx, const char *name, const char *field, spm_norm_spec *ns) {
    const unsigned char *b = ns->charsmap;
    size_t n = ns->charsmap_len;
    uint32_t ts = n > 4 ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
    if (n <= 4 || ts > n - 4)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: %s.precompiled_charsmap is broken (%zu bytes, trie size %u)", name,
                         field, n, (unsigned)ts);
    ns->units = b + 4;
    ns->n_units = ts / 4;
    ns->strs = (const char *)b + 4 + ts;
    ns->strs_len = n - 4 - ts;
    if (ns->strs_len && ns->strs[ns->strs_len - 1])
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: %s.precompiled_charsmap: its replacement strings do not end with a NUL "
                         "byte", name, field);
    return GPTC_OK;
}

static inline uint32_t unit_at(const spm_norm_spec *ns, size_t i) {
    const unsigned char *u = ns->units + 4 * i;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}
static inline uint32_t u_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

/* Darts commonPrefixSearch over s[0..len): the longest key that is a prefix, its byte
 * length into *klen and its value into *val (0: none). Indices outside the array end
 * the search (a broken file). */
static void darts_longest(const spm_norm_spec *ns, const unsigned char *s, size_t len, size_t *klen, uint32_t *val) {
    *klen = 0;
    if (!ns->n_units) return;
    size_t pos = u_offset(unit_at(ns, 0));
    for (size_t i = 0; i < len; i++) {
        pos ^= s[i];
        if (pos >= ns->n_units) return;
        uint32_t u = unit_at(ns, pos);
        if ((u & ((1u << 31) | 0xFF)) != s[i]) return;
        pos ^= u_offset(u);
        if ((u >> 8) & 1) {
            if (pos >= ns->n_units) return;
            *klen = i + 1;
            *val = unit_at(ns, pos) & ((1u << 31) - 1);
        }
    }
}

/* NormalizePrefix: the replacement of the longest rule at in, and the bytes it eats. */
static gptc_status norm_prefix(gptc_ctx *ctx, const gptc_spm *m, const spm_norm_spec *ns, int user,
                               const unsigned char *in, size_t len, const char **rep, size_t *rep_len,
                               size_t *eat) {
    size_t u = user ? spm_user_prefix(m, (const char *)in, len) : 0;
    if (u) {
        *rep = (const char *)in;
        *rep_len = *eat = u;
        return GPTC_OK;
    }
    size_t klen = 0;
    uint32_t val = 0;
    darts_longest(ns, in, len, &klen, &val);
    if (klen) {
        if (val >= ns->strs_len)
            return gptc_fail(ctx, GPTC_EFORMAT, "precompiled_charsmap: value %u points past its strings (%zu bytes)",
                             (unsigned)val, ns->strs_len);
        *rep = ns->strs + val;
        *rep_len = strlen(*rep); /* strs ends with NUL (checked when loaded) */
        *eat = klen;
        return GPTC_OK;
    }
    size_t mb;
    if (!spm_valid_utf8_prefix(in, len, &mb)) {
        *rep = "\xEF\xBF\xBD";
        *rep_len = 3;
        *eat = 1;
    } else {
        *rep = (const char *)in;
        *rep_len = *eat = mb;
    }
    return GPTC_OK;
}

gptc_status spm_normalize(gptc_ctx *ctx, const gptc_spm *m, const spm_norm_spec *ns, int user, int suffix,
                          const char *text, size_t len, spm_buf *out) {
    const unsigned char *in = (const unsigned char *)text;
    const char *rep;
    size_t rl, eat;
    gptc_status st;
    if (!len) return GPTC_OK;
    if (ns->remove_extra_whitespaces) {
        while (len) {
            if ((st = norm_prefix(ctx, m, ns, user, in, len, &rep, &rl, &eat))) return st;
            if (!(rl == 1 && rep[0] == ' ')) break;
            in += eat;
            len -= eat;
        }
    }
    if (!len) return GPTC_OK;
    size_t start = out->len;
    const char *ws = ns->escape_whitespaces ? SPM_WS_UTF8 : " ";
    size_t wsl = ns->escape_whitespaces ? 3 : 1;
    int oom = 0;
    if (!suffix && ns->add_dummy_prefix) oom |= spm_buf_put(out, ws, wsl);
    int prev_space = ns->remove_extra_whitespaces;
    while (len) {
        if ((st = norm_prefix(ctx, m, ns, user, in, len, &rep, &rl, &eat))) return st;
        while (prev_space && rl && rep[0] == ' ') rep++, rl--;
        if (rl) {
            for (size_t k = 0; k < rl; k++) {
                if (ns->escape_whitespaces && rep[k] == ' ') oom |= spm_buf_put(out, SPM_WS_UTF8, 3);
                else oom |= spm_buf_put(out, rep + k, 1);
            }
            prev_space = rep[rl - 1] == ' ';
        }
        in += eat;
        len -= eat;
        if (!ns->remove_extra_whitespaces) prev_space = 0;
    }
    if (ns->remove_extra_whitespaces)
        while (out->len - start >= wsl && !memcmp(out->p + out->len - wsl, ws, wsl)) out->len -= wsl;
    if (suffix && ns->add_dummy_prefix) oom |= spm_buf_put(out, ws, wsl);
    return oom ? gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece normalizer: out of memory") : GPTC_OK;
}
