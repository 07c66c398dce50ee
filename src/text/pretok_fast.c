/* pretok_fast.c: hand-written matchers for tiktoken's three pre-tokenization patterns
 * (gpt2/r50k/p50k, cl100k_base, o200k_base; the regexes are in pretok.c), with the
 * character classes of Unicode 16.0 (unicode_tab.c), the version of the regex in tiktoken.
 * Each matcher returns the end of the piece that the regex's leftmost-first, greedy,
 * backtracking match gives at a position; the derivation of each alternative is next to
 * its code.
 *
 * Invalid UTF-8 behaves as with PCRE2's MATCH_INVALID_UTF (the regex path): an invalid
 * byte matches no class and ends every run; a lookahead (?!\S) before it succeeds (as at
 * the end of the text); maximal runs of invalid bytes are pieces of their own. */
#include "pretok.h"
#include "unicode.h"

enum { L = GPTC_UC_L, N = GPTC_UC_N, WS = GPTC_UC_WS, UP = GPTC_UC_UP, LO = GPTC_UC_LO, NL = GPTC_UC_NL };
#define NONE ((size_t)-1)

/* The character at s[i] (i < n): its byte length and flags, or 0 when s[i] does not start
 * a valid UTF-8 sequence within n (RFC 3629: no overlongs, surrogates or > U+10FFFF). At
 * i >= n it returns 0 too. */
static inline __attribute__((always_inline)) size_t dec(const unsigned char *s, size_t i, size_t n, unsigned *fl) {
    if (i >= n) return 0;
    unsigned c = s[i];
    if (c < 0x80) {
        *fl = gptc_uc_stage2[0][c]; /* block 0 (U+0000..U+00FF) is the first one generated */
        return 1;
    }
    uint32_t cp;
    size_t l;
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
        cp = (c & 0x1Fu) << 6 | (s[i + 1] & 0x3Fu);
        l = 2;
    } else if (c < 0xF0) {
        if (i + 2 >= n) return 0;
        unsigned c1 = s[i + 1];
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80) return 0;
        cp = (c & 0x0Fu) << 12 | (c1 & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu);
        l = 3;
    } else if (c < 0xF5) {
        if (i + 3 >= n) return 0;
        unsigned c1 = s[i + 1];
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return 0;
        cp = (c & 0x07u) << 18 | (c1 & 0x3Fu) << 12 | (s[i + 2] & 0x3Fu) << 6 | (s[i + 3] & 0x3Fu);
        l = 4;
    } else {
        return 0;
    }
    *fl = gptc_uc_flags(cp);
    return l;
}

/* End of the run of characters from j whose flags meet mask. */
static inline size_t run(const unsigned char *s, size_t j, size_t n, unsigned mask) {
    size_t l;
    unsigned f;
    while ((l = dec(s, j, n, &f)) && (f & mask)) j += l;
    return j;
}

/* [^\s\p{L}\p{N}]+ tail: the run of valid characters that are neither. */
static inline size_t run_other(const unsigned char *s, size_t j, size_t n) {
    size_t l;
    unsigned f;
    while ((l = dec(s, j, n, &f)) && !(f & (L | N | WS))) j += l;
    return j;
}

/* \p{N}{1,3} after the first digit at j (length l). */
static inline size_t digits3(const unsigned char *s, size_t j, size_t n) {
    unsigned f;
    for (int k = 0; k < 2; k++) {
        size_t l = dec(s, j, n, &f);
        if (!l || !(f & N)) break;
        j += l;
    }
    return j;
}

/* 's|'t|'re|'ve|'m|'ll|'d at i (s[i] == '\''), case-sensitive (GPT-2): end or 0. */
static inline size_t contraction(const unsigned char *s, size_t i, size_t n) {
    if (i + 1 >= n) return 0;
    unsigned b = s[i + 1];
    if (b == 's' || b == 't' || b == 'm' || b == 'd') return i + 2;
    if (i + 2 >= n) return 0;
    unsigned b2 = s[i + 2];
    if ((b == 'r' && b2 == 'e') || (b == 'v' && b2 == 'e') || (b == 'l' && b2 == 'l')) return i + 3;
    return 0;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at i (s[i] == '\''): Unicode simple case folding, so s
 * also matches S and U+017F LATIN SMALL LETTER LONG S; the other letters fold to their
 * ASCII case pair only. End or 0. */
static inline size_t contraction_ci(const unsigned char *s, size_t i, size_t n) {
    if (i + 1 >= n) return 0;
    unsigned b = s[i + 1] | 0x20; /* ASCII letters to lower case; others stay non-letters */
    if (b == 's' || b == 't' || b == 'm' || b == 'd') return i + 2;
    if (i + 2 >= n) return 0;
    if (s[i + 1] == 0xC5 && s[i + 2] == 0xBF) return i + 3; /* ſ */
    unsigned b2 = s[i + 2] | 0x20;
    if ((b == 'r' && b2 == 'e') || (b == 'v' && b2 == 'e') || (b == 'l' && b2 == 'l')) return i + 3;
    return 0;
}

/* The whitespace alternatives at i (a White_Space character):
 * with nl (cl100k, o200k) first \s*[\r\n]+: greedy \s* backs off to the last \r or \n of
 * the run, and [\r\n]+ then takes that one character (what follows it in the run is not
 * \r/\n, or the run ends), so the piece ends after the run's last \r/\n when it has one.
 * Then \s+(?!\S): the whole run if it ends the text or precedes an invalid byte; else the
 * run without its last character when that leaves one; else \s+: the run (one char). */
static inline size_t ws(const unsigned char *s, size_t i, size_t n, int nl) {
    size_t j = i, last = i, lastnl = NONE, l, k = 0;
    unsigned f;
    while ((l = dec(s, j, n, &f)) && (f & WS)) {
        if (f & NL) lastnl = j;
        last = j;
        j += l;
        k++;
    }
    if (nl && lastnl != NONE) return lastnl + 1;
    if (l && k >= 2) return last; /* a valid non-space character follows */
    return j;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t m_gpt2(const unsigned char *s, size_t i, size_t n) {
    unsigned f = 0, g = 0;
    size_t l = dec(s, i, n, &f), l2, r;
    if (s[i] == '\'' && (r = contraction(s, i, n))) return r;
    if (s[i] == ' ' && (l2 = dec(s, i + 1, n, &g)) && !(g & WS)) {
        /* " ?" takes the space when one of the three classes follows it */
        f = g;
        l = 1 + l2;
    } else if (f & WS) {
        return ws(s, i, n, 0);
    }
    if (f & L) return run(s, i + l, n, L);
    if (f & N) return run(s, i + l, n, N);
    return run_other(s, i + l, n);
}

/* cl100k_base: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t m_cl100k(const unsigned char *s, size_t i, size_t n) {
    unsigned f = 0, g = 0;
    size_t l = dec(s, i, n, &f), l2, r, j;
    if (s[i] == '\'' && (r = contraction_ci(s, i, n))) return r;
    if (f & L) return run(s, i + l, n, L);
    /* [^\r\n\p{L}\p{N}]? takes this character when a letter follows */
    if (!(f & (N | NL)) && (l2 = dec(s, i + l, n, &g)) && (g & L)) return run(s, i + l + l2, n, L);
    if (f & N) return digits3(s, i + l, n);
    if (s[i] == ' ' && (l2 = dec(s, i + 1, n, &g)) && !(g & (L | N | WS)))
        j = run_other(s, i + 1 + l2, n);
    else if (!(f & WS))
        j = run_other(s, i + l, n);
    else
        return ws(s, i, n, 1);
    while (j < n && (s[j] == '\r' || s[j] == '\n')) j++;
    return j;
}

/* o200k's letter alternatives from st, or 0 when they fail (a piece never ends at 0).
 * A1: [UP]*[LO]+C?: greedy [UP]* backs off to the last position p (end of the UP run
 * first, then its characters from the right) where a LO character starts; [LO]+ then
 * runs from p. At the end of the run the character is not UP, so LO means Ll there.
 * A2: [UP]+[LO]*C?: no backtracking needed as [LO]* may be empty.
 * C is (?i:'s|'t|'re|'ve|'m|'ll|'d), optional and greedy. */
static inline size_t o200k_suffix(const unsigned char *s, size_t j, size_t n) {
    size_t r;
    if (j < n && s[j] == '\'' && (r = contraction_ci(s, j, n))) return r;
    return j;
}
static inline size_t o200k_a1(const unsigned char *s, size_t st, size_t n) {
    size_t j = st, lastlo = NONE, l, p;
    unsigned f = 0;
    while ((l = dec(s, j, n, &f)) && (f & UP)) {
        if (f & LO) lastlo = j;
        j += l;
    }
    if (l && (f & LO)) p = j;
    else if (lastlo != NONE) p = lastlo;
    else return 0;
    return o200k_suffix(s, run(s, p, n, LO), n);
}
static inline size_t o200k_a2(const unsigned char *s, size_t st, size_t n) {
    unsigned f;
    size_t l = dec(s, st, n, &f);
    if (!l || !(f & UP)) return 0;
    return o200k_suffix(s, run(s, run(s, st + l, n, UP), n, LO), n);
}

/* o200k_base: P?[UP]*[LO]+C?|P?[UP]+[LO]*C?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+ with P = [^\r\n\p{L}\p{N}] (marks included), tried in the
 * regex's order: A1 with P, A1 without, A2 with P, A2 without, then the rest. */
static size_t m_o200k(const unsigned char *s, size_t i, size_t n) {
    unsigned f = 0, g = 0;
    size_t l = dec(s, i, n, &f), l2, r, j;
    int p = !(f & (L | N | NL));
    if (p && (r = o200k_a1(s, i + l, n))) return r;
    if ((f & (UP | LO)) && (r = o200k_a1(s, i, n))) return r;
    if (p && (r = o200k_a2(s, i + l, n))) return r;
    if ((f & UP) && (r = o200k_a2(s, i, n))) return r;
    if (f & N) return digits3(s, i + l, n);
    if (s[i] == ' ' && (l2 = dec(s, i + 1, n, &g)) && !(g & (L | N | WS)))
        j = run_other(s, i + 1 + l2, n);
    else if (!(f & WS))
        j = run_other(s, i + l, n);
    else
        return ws(s, i, n, 1);
    while (j < n && (s[j] == '\r' || s[j] == '\n' || s[j] == '/')) j++;
    return j;
}

gptc_status gptc_pretok_fast_split(int kind, const char *text, size_t len, gptc_pretok_cb cb, void *user) {
    const unsigned char *s = (const unsigned char *)text;
    size_t off = 0;
    unsigned f;
    while (off < len) {
        size_t e;
        if (!dec(s, off, len, &f)) {
            e = off + 1;
            while (e < len && !dec(s, e, len, &f)) e++;
        } else if (kind == GPTC_PRETOK_GPT2) {
            e = m_gpt2(s, off, len);
        } else if (kind == GPTC_PRETOK_CL100K) {
            e = m_cl100k(s, off, len);
        } else {
            e = m_o200k(s, off, len);
        }
        int st = cb(user, text + off, e - off);
        if (st) return (gptc_status)st;
        off = e;
    }
    return GPTC_OK;
}
