/* test_tokenizer.c: the tokenizer library: UTF-8 rules, the byte<->unicode map, known
 * ids, special tokens, raw-byte round trips, long runs, parallel = serial, several
 * threads on one tokenizer, the streaming decoder, save + reload, failing allocations,
 * the built-in pre-tokenizers against PCRE2 on random text (valid and invalid UTF-8).
 * Needs the encodings (make encodings; GPTC_DATA_DIR as tests/run.sh sets it). */
#define _GNU_SOURCE /* mkdtemp */
#include "harness.h"
#include "gptc.h"
#include "core/core.h"
#include "text/pretok.h"
#include "text/utf8.h"
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static int encode_eq(gptc_ctx *ctx, const gptc_tokenizer *t, const char *s, int allow, const int32_t *want, size_t n) {
    int32_t *ids;
    size_t k;
    if (gptc_tokenizer_encode(ctx, t, s, strlen(s), allow, &ids, &k)) return 0;
    int ok = k == n && !memcmp(ids, want, n * sizeof *ids);
    free(ids);
    return ok;
}

static int roundtrip(gptc_ctx *ctx, const gptc_tokenizer *t, const char *s, size_t n) {
    int32_t *ids;
    size_t k, len;
    char *out;
    if (gptc_tokenizer_encode(ctx, t, s, n, 0, &ids, &k)) return 0;
    int ok = !gptc_tokenizer_decode(ctx, t, ids, k, &out, &len) && len == n && !memcmp(out, s, n);
    free(ids);
    if (ok) free(out);
    return ok;
}

/* Streams ids through a decoder; returns the concatenated output (malloc). */
static char *stream(gptc_ctx *ctx, const gptc_tokenizer *t, const int32_t *ids, size_t n, size_t *len, int *valid) {
    gptc_decoder *d;
    if (gptc_decoder_new(ctx, t, &d)) return NULL;
    char *all = malloc(n * 64 + 64), buf[512];
    size_t o = 0, m;
    *valid = 1;
    for (size_t i = 0; i < n; i++) {
        if (gptc_decoder_push(ctx, d, ids[i], buf, sizeof buf, &m)) { *valid = 0; break; }
        if (gptc_utf8_valid_len((unsigned char *)buf, m) != m) *valid = 0;
        memcpy(all + o, buf, m);
        o += m;
    }
    if (!gptc_decoder_flush(ctx, d, buf, sizeof buf, &m)) {
        memcpy(all + o, buf, m);
        o += m;
    }
    gptc_decoder_free(d);
    *len = o;
    all[o] = 0;
    return all;
}

static void test_utf8(void) {
    /* Expected outputs: Python's bytes.decode("utf-8", "replace"). */
    static const struct { const char *in; const char *out; } v[] = {
        {"\xe4\xbd" "a", "\xEF\xBF\xBD" "a"},
        {"\xff\xfe", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xe0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xf4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xf0\x9f\x98", "\xEF\xBF\xBD"},
        {"\xf0\x9f\x98\x80\x80", "\xF0\x9F\x98\x80\xEF\xBF\xBD"},
        {"\xe2\x82\xac\xe2\x82", "\xe2\x82\xac\xEF\xBF\xBD"},
    };
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_tokenizer *t;
    if (gptc_tokenizer_from_encoding(ctx, "gpt2", &t)) {
        CHECK("utf8_replace_vectors", 0, "%s", gptc_errmsg(ctx));
        gptc_ctx_free(ctx);
        return;
    }
    int ok = 1;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        /* one byte per token: the hardest split */
        size_t n = strlen(v[i].in), len;
        int32_t ids[8];
        int valid;
        for (size_t k = 0; k < n; k++) {
            int32_t *one;
            size_t c;
            gptc_tokenizer_encode(ctx, t, v[i].in + k, 1, 0, &one, &c);
            ids[k] = one[0];
            free(one);
        }
        char *out = stream(ctx, t, ids, n, &len, &valid);
        if (!out || len != strlen(v[i].out) || memcmp(out, v[i].out, len) || !valid) {
            ok = 0;
            printf("  vector %zu: got %zu bytes\n", i, out ? len : 0);
        }
        free(out);
    }
    CHECK("utf8_replace_vectors", ok, "streaming decode differs from errors=\"replace\"");
    int map_ok = 1;
    for (int b = 0; b < 256; b++) map_ok &= gptc_cp_to_byte(gptc_byte_to_cp((unsigned char)b)) == b;
    map_ok &= gptc_byte_to_cp(' ') == 0x120 && gptc_byte_to_cp('A') == 'A' && gptc_byte_to_cp(0xAD) == 0x143;
    map_ok &= gptc_cp_to_byte(0x144) == -1 && gptc_cp_to_byte(0x20) == -1;
    CHECK("byte_unicode_map", map_ok, "bytes_to_unicode mismatch");
    gptc_tokenizer_free(t);
    gptc_ctx_free(ctx);
}

static void test_encodings(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    const char *names[] = {"gpt2", "cl100k_base", "o200k_base"};
    gptc_tokenizer *t[3] = {0};
    for (int e = 0; e < 3; e++)
        if (gptc_tokenizer_from_encoding(ctx, names[e], &t[e])) {
            CHECK("load_encodings", 0, "%s", gptc_errmsg(ctx));
            gptc_ctx_free(ctx);
            return;
        }
    CHECK("n_vocab", gptc_tokenizer_n_vocab(t[0]) == 50257 && gptc_tokenizer_n_vocab(t[1]) == 100277 &&
          gptc_tokenizer_n_vocab(t[2]) == 200019, "%zu %zu %zu", gptc_tokenizer_n_vocab(t[0]),
          gptc_tokenizer_n_vocab(t[1]), gptc_tokenizer_n_vocab(t[2]));
    CHECK("special_id", gptc_tokenizer_special_id(t[0], "<|endoftext|>") == 50256 &&
          gptc_tokenizer_special_id(t[1], "<|endofprompt|>") == 100276 &&
          gptc_tokenizer_special_id(t[2], "<|endoftext|>") == 199999 &&
          gptc_tokenizer_special_id(t[0], "<|nope|>") == -1, "wrong special ids");
    /* reference ids from tiktoken */
    const int32_t hw[] = {15496, 995}, sp[] = {15496, 50256, 2124}, nsp[] = {15496, 27, 91, 437, 1659, 5239, 91, 29, 2124};
    CHECK("encode_hello_world", encode_eq(ctx, t[0], "Hello world", 0, hw, 2), "gpt2 'Hello world'");
    CHECK("encode_allow_special", encode_eq(ctx, t[0], "Hello<|endoftext|> x", 1, sp, 3), "special recognized");
    CHECK("encode_special_as_text", encode_eq(ctx, t[0], "Hello<|endoftext|> x", 0, nsp, 9), "special not allowed");
    /* raw random bytes and cut characters: decode(encode(x)) == x */
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    printf("seed %llu\n", (unsigned long long)rng_state);
    size_t n = 200003;
    char *raw = malloc(n);
    for (size_t i = 0; i < n; i++) raw[i] = (char)(rnd() % 7 == 0 ? ' ' : rnd() % 5 == 0 ? 0xE4 + rnd() % 3 : rnd());
    for (int e = 0; e < 3; e++) {
        char name[64];
        snprintf(name, sizeof name, "roundtrip_raw_bytes_%s", names[e]);
        CHECK(name, roundtrip(ctx, t[e], raw, n), "decode(encode(x)) != x");
    }
    /* long runs of one character must not explode (heap merge) */
    size_t rn = 100001;
    char *run = malloc(rn);
    const char rc[] = {' ', 'a', '7', '\n'};
    for (int c = 0; c < 4; c++) {
        memset(run, rc[c], rn);
        clock_t c0 = clock();
        int ok = 1;
        for (int e = 0; e < 3; e++) ok &= roundtrip(ctx, t[e], run, rn);
        double s = (double)(clock() - c0) / CLOCKS_PER_SEC;
        char name[64];
        snprintf(name, sizeof name, "long_run_100k_0x%02x", rc[c]);
        CHECK(name, ok && s < 20, "round trip %d, %.2f s", ok, s);
    }
    /* parallel split = serial, and several threads at once on one tokenizer */
    size_t bn = (3u << 20) + 17;
    char *big = malloc(bn);
    const char *words[] = {"hello ", "world\n", "  ", "한국어 ", "😀", "12345", "'s ", "\n\n", "x\n/", "\t", "é"};
    for (size_t o = 0; o < bn;) {
        const char *w = words[rnd() % 11];
        size_t l = strlen(w);
        if (o + l > bn) l = bn - o;
        memcpy(big + o, w, l);
        o += l;
    }
    for (int e = 0; e < 3; e++) {
        gptc_ctx_params p1 = gptc_ctx_default_params(), p2 = p1;
        p1.n_threads = 1;
        p2.n_threads = 3;
        gptc_ctx *c1 = gptc_ctx_new(&p1), *c2 = gptc_ctx_new(&p2);
        int32_t *a, *b;
        size_t na, nb;
        int ok = !gptc_tokenizer_encode(c1, t[e], big, bn, 1, &a, &na) &&
                 !gptc_tokenizer_encode(c2, t[e], big, bn, 1, &b, &nb);
        ok = ok && na == nb && !memcmp(a, b, na * sizeof *a);
        char name[64];
        snprintf(name, sizeof name, "parallel_equals_serial_%s", names[e]);
        CHECK(name, ok, "%zu vs %zu ids", na, nb);
        int same = 1;
#pragma omp parallel for num_threads(2) reduction(&& : same)
        for (int k = 0; k < 4; k++) {
            gptc_ctx *c = gptc_ctx_new(&p1);
            int32_t *x;
            size_t nx;
            same = same && !gptc_tokenizer_encode(c, t[e], big + k * 1000, bn / 2, 1, &x, &nx);
            if (same && k == 0) same = nx > 0 && !memcmp(x, a, 100 * sizeof *x);
            free(x);
            gptc_ctx_free(c);
        }
        snprintf(name, sizeof name, "threads_share_tokenizer_%s", names[e]);
        CHECK(name, same, "concurrent encodes failed");
        /* streaming decode of real text: whole characters out, same bytes as decode */
        size_t len, dl, cut = na < 200000 ? na : 200000;
        int valid;
        char *d;
        /* cut where the ids end on a whole character: a cut inside one would (rightly)
         * stream a U+FFFD where decode returns the raw partial bytes */
        for (;;) {
            gptc_tokenizer_decode(ctx, t[e], a, cut, &d, &dl);
            if (cut <= 1 || gptc_utf8_valid_len((unsigned char *)d, dl) == dl) break;
            free(d);
            cut--;
        }
        char *s = stream(ctx, t[e], a, cut, &len, &valid);
        snprintf(name, sizeof name, "streaming_decode_%s", names[e]);
        CHECK(name, s && valid && len == dl && !memcmp(s, d, len), "stream %zu bytes vs %zu", len, dl);
        free(s);
        free(d);
        free(a);
        free(b);
        gptc_ctx_free(c1);
        gptc_ctx_free(c2);
    }
    /* Korean / emoji split into single-byte tokens come out whole at the last byte */
    {
        const char *txt = "한😀中";
        int32_t ids[16];
        size_t n2 = strlen(txt), outs[16], m;
        gptc_decoder *d;
        gptc_decoder_new(ctx, t[0], &d);
        char buf[64];
        for (size_t k = 0; k < n2; k++) {
            int32_t *one;
            size_t c;
            gptc_tokenizer_encode(ctx, t[0], txt + k, 1, 0, &one, &c);
            ids[k] = one[0];
            free(one);
            gptc_decoder_push(ctx, d, ids[k], buf, sizeof buf, &m);
            outs[k] = m;
        }
        int ok = outs[0] == 0 && outs[1] == 0 && outs[2] == 3 && outs[3] == 0 && outs[5] == 0 && outs[6] == 4 &&
                 outs[8] == 0 && outs[9] == 3;
        size_t r;
        CHECK("decoder_out_of_range", gptc_decoder_push(ctx, d, 50257, buf, sizeof buf, &r) == GPTC_ERANGE &&
              strstr(gptc_errmsg(ctx), "50257"), "%s", gptc_errmsg(ctx));
        CHECK("decoder_whole_chars", ok, "split characters came out early or late");
        gptc_decoder_free(d);
    }
    {
        int32_t bad[] = {15496, -1};
        char *s;
        size_t l;
        CHECK("decode_negative_id", gptc_tokenizer_decode(ctx, t[0], bad, 2, &s, &l) == GPTC_ERANGE &&
              strstr(gptc_errmsg(ctx), "position 1"), "%s", gptc_errmsg(ctx));
    }
    /* save + reload (gpt2 ranks -> merges.txt) gives the same ids */
    {
        char dir[] = "/tmp/gptc_tok_XXXXXX";
        gptc_tokenizer *r = NULL;
        int ok = mkdtemp(dir) && !gptc_tokenizer_save(ctx, t[0], dir) && !gptc_tokenizer_load(ctx, dir, &r);
        if (ok) {
            int32_t *a, *b;
            size_t na, nb;
            ok = !gptc_tokenizer_encode(ctx, t[0], big, 400000, 1, &a, &na) &&
                 !gptc_tokenizer_encode(ctx, r, big, 400000, 1, &b, &nb) && na == nb && !memcmp(a, b, na * 4) &&
                 gptc_tokenizer_n_vocab(r) == 50257 && gptc_tokenizer_special_id(r, "<|endoftext|>") == 50256;
            free(a);
            free(b);
        }
        CHECK("save_reload_same_ids", ok, "%s", gptc_errmsg(ctx));
        CHECK("save_cl100k_refused", gptc_tokenizer_save(ctx, t[1], dir) == GPTC_ENOTSUP, "expected ENOTSUP");
        gptc_tokenizer_free(r);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd)) printf("note: could not remove %s\n", dir);
    }
    /* the Nth allocation fails: clean ENOMEM, no crash, no leak */
    {
        int ok = 1;
        for (long k = 0; k < 40; k++) {
            ctx->fail_alloc_after = k;
            int32_t *x = NULL;
            size_t nx;
            gptc_status st = gptc_tokenizer_encode(ctx, t[1], raw, 5000, 0, &x, &nx);
            if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
            free(x);
            gptc_tokenizer *tt = NULL;
            st = gptc_tokenizer_from_encoding(ctx, "gpt2", &tt);
            if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
            gptc_tokenizer_free(tt);
        }
        ctx->fail_alloc_after = -1;
        CHECK("failing_allocations", ok, "a failed allocation gave another error");
    }
    free(raw);
    free(run);
    free(big);
    for (int e = 0; e < 3; e++) gptc_tokenizer_free(t[e]);
    gptc_ctx_free(ctx);
}

/* Piece ends of a split, in a fixed array. */
typedef struct {
    size_t n, ends[512];
    const char *base;
} pieces;
static int collect(void *user, const char *piece, size_t len) {
    pieces *p = user;
    if (p->n == 512) return GPTC_ERANGE;
    p->ends[p->n++] = (size_t)(piece - p->base) + len;
    return GPTC_OK;
}

/* The built-in matchers split exactly as PCRE2 runs the same patterns, on random strings
 * of characters whose classes Unicode 14 (Debian's PCRE2) and 16 agree on, marks,
 * title-case and modifier letters, ſ, other scripts' digits, every White_Space kind, and
 * invalid UTF-8 (truncated, surrogate, overlong, past U+10FFFF). */
static void test_pretok_paths(void) {
    static const char *atoms[] = {
        "a", "b", "s", "t", "S", "T", "r", "e", "E", "v", "l", "L", "m", "d", "D", "x", "Z", "A", "B",
        "0", "1", "7", "'", "'", "'", " ", " ", " ", "\n", "\r", "\t", "\v", "\f", "!", ".", "/", "-", "_",
        "(", "\x01", "\x7f", "\xc3\xa9", "\xcc\x81", "\xc5\xbf", "\xc7\x85", "\xca\xb0", "\xed\x95\x9c",
        "\xe4\xb8\xad", "\xd9\xa3", "\xe2\x85\xab", "\xc2\xb2", "\xc2\xa0", "\xe3\x80\x80",
        "\xe2\x80\xa8", "\xc2\x85", "\xe1\xa0\x8e", "\xe2\x80\x8b", "\xf0\x9f\x98\x80", "\xd0\x96",
        "\xd0\xb6", "\xe2\x84\xaa", "\xc4\xb0", "\xe1\x85\xa1", "\xf0\x9d\x90\x80", "\xef\xbf\xbd",
        "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80", "\x80", "\xc0\xaf", "\xf0\x9f",
    };
    const size_t n_atoms = sizeof atoms / sizeof *atoms;
    const char *pats[3] = {GPTC_PAT_GPT2, GPTC_PAT_CL100K, GPTC_PAT_O200K};
    const char *names[3] = {"gpt2", "cl100k", "o200k"};
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    rng_state = 12345;
    for (int k = 0; k < 3; k++) {
        gptc_pretok *fast = NULL, *re = NULL;
        char name[96], eng[96];
        snprintf(name, sizeof name, "pretok_builtin_engine_%s", names[k]);
        int ok = !gptc_pretok_new(ctx, pats[k], &fast) && !gptc_pretok_new_regex(ctx, pats[k], &re);
        CHECK(name, ok && strstr(gptc_pretok_engine(fast, eng, sizeof eng), "Unicode 16.0"), "%s",
              ok ? eng : gptc_errmsg(ctx));
        if (!ok) continue;
        size_t bad = 0, total = 0;
        char text[400], shown[400] = "";
        for (int it = 0; it < 30000; it++) {
            size_t len = 0, na = 1 + rnd() % 24;
            for (size_t a = 0; a < na; a++) {
                const char *at = atoms[rnd() % n_atoms];
                size_t al = strlen(at);
                memcpy(text + len, at, al);
                len += al;
            }
            pieces pf = {.base = text}, pr = {.base = text};
            gptc_status s1 = gptc_pretok_split(ctx, fast, text, len, collect, &pf);
            gptc_status s2 = gptc_pretok_split(ctx, re, text, len, collect, &pr);
            total += pr.n;
            if (s1 || s2 || pf.n != pr.n || memcmp(pf.ends, pr.ends, pf.n * sizeof *pf.ends)) {
                if (!bad++)
                    for (size_t i = 0, o = 0; i < len && o + 5 < sizeof shown; i++)
                        o += (size_t)snprintf(shown + o, sizeof shown - o, "%02x ", (unsigned char)text[i]);
            }
        }
        snprintf(name, sizeof name, "pretok_builtin_same_as_pcre2_%s", names[k]);
        CHECK(name, bad == 0, "%zu of 30000 strings split differently (%zu pieces); first: %s", bad, total, shown);
        gptc_pretok_free(fast);
        gptc_pretok_free(re);
    }
    gptc_ctx_free(ctx);
}

int main(void) {
    setenv("GPTC_DATA_DIR", "build/share/gptc", 0); /* run from the repository root */
    test_utf8();
    test_encodings();
    test_pretok_paths();
    return test_exit();
}
