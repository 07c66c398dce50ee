/* pretok.c: pre-tokenization: splits text into pieces with tiktoken's regular
 * expressions (its three patterns by the hand-written matchers of pretok_fast.c, others
 * by PCRE2 with UTF + UCP + JIT; invalid UTF-8 tolerated), and GPT-2's byte <-> unicode
 * mapping. BPE on the pieces is left to bpe.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretok.h"

#include "unicode.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>

/* The patterns are tiktoken's (as shipped in the npm package's encoders/<name>.json), with
 * one change: \s is spelled out as Unicode's White_Space property, which is what
 * tiktoken's Rust regex means by \s. PCRE2 10.42's \s also takes U+180E (MONGOLIAN
 * VOWEL SEPARATOR, a format character since Unicode 6.3), which would split differently. */
#define WS "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define S_ "[" WS "]"
#define NS_ "[^" WS "]"

const char GPTC_PAT_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|" S_ "+(?!" NS_ ")|" S_ "+";

const char GPTC_PAT_CL100K[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" WS
    "\\p{L}\\p{N}]+[\\r\\n]*|" S_ "*[\\r\\n]+|" S_ "+(?!" NS_ ")|" S_ "+";

const char GPTC_PAT_O200K[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*|" S_ "*[\\r\\n]+|" S_ "+(?!" NS_ ")|" S_ "+";

struct gptc_pretok {
    int kind; /* GPTC_PRETOK_*: a hand-written matcher, or REGEX (the fields below) */
    pcre2_general_context *gctx;
    pcre2_code *code;
    int jit; /* JIT compiled: use pcre2_jit_match */
};

static void *pre_malloc(PCRE2_SIZE n, void *user) {
    (void)user;
    return gptc_alloc(NULL, n ? n : 1, "pcre2");
}
static void pre_free(void *p, void *user) {
    (void)user;
    gptc_free(p);
}

/* pattern with \s and \S outside classes and \s inside them spelled as Unicode's
 * White_Space (what tiktoken's and Hugging Face's regex engines mean; PCRE2 10.42 also
 * counts U+180E), so tiktoken's own spelling of its patterns, as tokenizer.json files carry
 * them (Llama 3's Split), maps to the built-in matchers. NULL when out of memory. */
static char *spell_ws(gptc_ctx *ctx, const char *pattern) {
    size_t n = strlen(pattern), cap = n * (sizeof NS_) + 1;
    char *o = gptc_alloc(ctx, cap, "pre-tokenizer pattern");
    if (!o) return NULL;
    size_t k = 0;
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < n) {
            char d = pattern[i + 1];
            const char *rep = d == 's' ? (in_class ? WS : S_) : d == 'S' && !in_class ? NS_ : NULL;
            if (rep) {
                memcpy(o + k, rep, strlen(rep));
                k += strlen(rep);
            } else {
                o[k++] = c;
                o[k++] = d;
            }
            i++;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            o[k++] = c;
            /* a ']' right after '[' or '[^' is a literal */
            if (i + 1 < n && pattern[i + 1] == '^') o[k++] = pattern[++i];
            if (i + 1 < n && pattern[i + 1] == ']') o[k++] = pattern[++i];
            continue;
        }
        if (c == ']' && in_class) in_class = 0;
        o[k++] = c;
    }
    o[k] = 0;
    return o;
}

gptc_status gptc_pretok_new(gptc_ctx *ctx, const char *pattern, gptc_pretok **out) {
    *out = NULL;
    char *spelled = spell_ws(ctx, pattern);
    if (!spelled) return GPTC_ENOMEM;
    int kind = !strcmp(spelled, GPTC_PAT_GPT2)     ? GPTC_PRETOK_GPT2
             : !strcmp(spelled, GPTC_PAT_CL100K) ? GPTC_PRETOK_CL100K
             : !strcmp(spelled, GPTC_PAT_O200K)  ? GPTC_PRETOK_O200K
                                                 : GPTC_PRETOK_REGEX;
    if (kind == GPTC_PRETOK_REGEX) {
        gptc_status st = gptc_pretok_new_regex(ctx, spelled, out);
        gptc_free(spelled);
        return st;
    }
    gptc_free(spelled);
    *out = gptc_calloc(ctx, 1, sizeof **out, "pre-tokenizer");
    if (!*out) return GPTC_ENOMEM;
    (*out)->kind = kind;
    return GPTC_OK;
}

const char *gptc_pretok_engine(const gptc_pretok *p, char *buf, size_t cap) {
    if (p->kind != GPTC_PRETOK_REGEX) {
        snprintf(buf, cap, "built-in matcher (Unicode %s)", gptc_unicode_version);
    } else {
        char v[64] = "", u[64] = "";
        pcre2_config(PCRE2_CONFIG_VERSION, v);
        pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, u);
        snprintf(buf, cap, "PCRE2 %s (Unicode %s)", v, u);
    }
    return buf;
}

gptc_status gptc_pretok_new_regex(gptc_ctx *ctx, const char *pattern, gptc_pretok **out) {
    *out = NULL;
    gptc_pretok *p = gptc_calloc(ctx, 1, sizeof *p, "pre-tokenizer");
    if (!p) return GPTC_ENOMEM;
    p->gctx = pcre2_general_context_create(pre_malloc, pre_free, NULL);
    if (!p->gctx) {
        gptc_free(p);
        return gptc_fail(ctx, GPTC_ENOMEM, "pre-tokenizer: out of memory creating a PCRE2 context");
    }
    pcre2_compile_context *cc = pcre2_compile_context_create(p->gctx);
    if (!cc) {
        gptc_pretok_free(p);
        return gptc_fail(ctx, GPTC_ENOMEM, "pre-tokenizer: out of memory creating a PCRE2 context");
    }
    int err = 0;
    PCRE2_SIZE erroff = 0;
    /* DOLLAR_ENDONLY: `$` means the end of the text, as in Rust's regex. */
    p->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                            &err, &erroff, cc);
    pcre2_compile_context_free(cc);
    if (!p->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        gptc_pretok_free(p);
        return gptc_fail(ctx, GPTC_EINVAL, "pre-tokenizer pattern: %s at offset %zu", (const char *)msg,
                         (size_t)erroff);
    }
    /* Without JIT (a platform PCRE2 lacks it) the interpreter gives the same pieces. */
    p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;
    *out = p;
    return GPTC_OK;
}

void gptc_pretok_free(gptc_pretok *p) {
    if (!p) return;
    pcre2_code_free(p->code);
    pcre2_general_context_free(p->gctx);
    gptc_free(p);
}

gptc_status gptc_pretok_split(gptc_ctx *ctx, const gptc_pretok *p, const char *text, size_t len,
                              gptc_pretok_cb cb, void *user) {
    if (len == 0) return GPTC_OK;
    if (p->kind != GPTC_PRETOK_REGEX) return gptc_pretok_fast_split(p->kind, text, len, cb, user);
    /* One match-data block per call keeps the pre-tokenizer shareable between threads. */
    pcre2_match_data *md = pcre2_match_data_create(1, p->gctx);
    if (!md) return gptc_fail(ctx, GPTC_ENOMEM, "pre-tokenizer: out of memory for match data");
    const PCRE2_SPTR s = (PCRE2_SPTR)text;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t off = 0;
    gptc_status st = GPTC_OK;
    while (off < len) {
        int rc = p->jit ? pcre2_jit_match(p->code, s, len, off, 0, md, NULL)
                        : pcre2_match(p->code, s, len, off, 0, md, NULL);
        size_t ms, me;
        if (rc == PCRE2_ERROR_NOMATCH) {
            ms = me = len; /* the rest (invalid UTF-8 only) is one piece */
        } else if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st = gptc_fail(ctx, GPTC_EINTERNAL, "pre-tokenizer: match failed at byte %zu: %s", off,
                           (const char *)msg);
            break;
        } else {
            ms = ov[0];
            me = ov[1];
            if (me <= ms || ms < off || me > len) {
                st = gptc_fail(ctx, GPTC_EINTERNAL, "pre-tokenizer: empty match at byte %zu", ms);
                break;
            }
        }
        /* Bytes the pattern skipped are invalid UTF-8 (valid text is always matched):
         * they become one piece of their own, encoded byte-wise. */
        if (ms > off && (st = (gptc_status)cb(user, text + off, ms - off)) != GPTC_OK) break;
        if (me > ms && (st = (gptc_status)cb(user, text + ms, me - ms)) != GPTC_OK) break;
        off = me;
    }
    pcre2_match_data_free(md);
    return st;
}

/* bytes_to_unicode(): printable bytes '!'..'~', 0xA1..0xAC, 0xAE..0xFF map to themselves;
 * the other 68 (0x00..0x20, 0x7F..0xA0, 0xAD) to 256, 257, ... in byte order. */
int gptc_byte_to_cp(unsigned char b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    if (b <= 0x20) return 256 + b;
    if (b <= 0xA0) return 256 + 33 + (b - 0x7F);
    return 256 + 67; /* 0xAD */
}

int gptc_cp_to_byte(int cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return cp;
    if (cp < 256 || cp > 256 + 67) return -1;
    int n = cp - 256;
    if (n <= 0x20) return n;
    if (n < 67) return 0x7F + (n - 33);
    return 0xAD;
}
