/* test_spm.c: SentencePiece models built here byte by byte (a small protobuf writer):
 * unigram Viterbi and BPE results derived by hand in the comments, special ids,
 * decoding rules, the charsmap trie, and broken files (every truncation, wrong wire
 * types, huge lengths, bad enums, duplicate/empty/missing pieces, broken charsmaps)
 * failing with messages that name the file and the field, and failing allocations.
 * The comparison with the sentencepiece library itself is tests/t_spm.sh. */
#include "harness.h"
#include "gptc.h"
#include "core/core.h"
#include <stdint.h>

typedef struct { unsigned char b[1 << 16]; size_t n; } pbw;

static void w_varint(pbw *w, uint64_t v) {
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        w->b[w->n++] = c | (v ? 0x80 : 0);
    } while (v);
}
static void w_tag(pbw *w, int field, int wt) { w_varint(w, (uint64_t)field << 3 | (uint64_t)wt); }
static void w_bytes(pbw *w, int field, const void *s, size_t n) {
    w_tag(w, field, 2);
    w_varint(w, n);
    memcpy(w->b + w->n, s, n);
    w->n += n;
}
static void w_str(pbw *w, int field, const char *s) { w_bytes(w, field, s, strlen(s)); }
static void w_float(pbw *w, int field, float f) {
    w_tag(w, field, 5);
    memcpy(w->b + w->n, &f, 4); /* little-endian host */
    w->n += 4;
}
static void w_int(pbw *w, int field, int64_t v) {
    w_tag(w, field, 0);
    w_varint(w, (uint64_t)v);
}
static void w_piece(pbw *w, const char *piece, float score, int type) {
    pbw p = {.n = 0};
    w_str(&p, 1, piece);
    w_float(&p, 2, score);
    if (type != 1) w_int(&p, 3, type);
    w_bytes(w, 1, p.b, p.n);
}

#define WS "\xe2\x96\x81"

/* unigram: <unk> <s> </s> then ▁ -2, a -1, b -1.5, ab -1.9, ▁ab -3.5, <sep> (user) 0 */
static void unigram_model(pbw *w, int model_type) {
    w->n = 0;
    w_piece(w, "<unk>", 0, 2);
    w_piece(w, "<s>", 0, 3);
    w_piece(w, "</s>", 0, 3);
    w_piece(w, WS, -2, 1);
    w_piece(w, "a", -1, 1);
    w_piece(w, "b", -1.5f, 1);
    w_piece(w, "ab", -1.9f, 1);
    w_piece(w, WS "ab", -3.5f, 1);
    w_piece(w, "<sep>", 0, 4);
    pbw t = {.n = 0};
    w_int(&t, 3, model_type);
    w_int(&t, 43, -1); /* pad_id -1: a 10-byte varint */
    w_bytes(w, 2, t.b, t.n);
}

static gptc_spm *load(gptc_ctx *ctx, const pbw *w) {
    gptc_spm *m = NULL;
    gptc_spm_load_buffer(ctx, w->b, w->n, "t.model", &m);
    return m;
}

static int ids_are(gptc_ctx *ctx, const gptc_spm *m, const char *text, const int32_t *want, size_t n_want,
                   const char *pieces_want) {
    gptc_spm_pieces p;
    if (gptc_spm_encode_pieces(ctx, m, text, strlen(text), &p)) return 0;
    int ok = p.n == n_want && (!n_want || !memcmp(p.ids, want, n_want * sizeof *want));
    char joined[512] = "";
    for (size_t i = 0; i < p.n; i++)
        snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%.*s", i ? " " : "",
                 (int)(p.offsets[i + 1] - p.offsets[i]), p.text + p.offsets[i]);
    if (strcmp(joined, pieces_want)) ok = 0;
    if (!ok) printf("  got %zu ids, pieces [%s], want [%s]\n", p.n, joined, pieces_want);
    gptc_spm_pieces_free(&p);
    return ok;
}

static int decodes_to(gptc_ctx *ctx, const gptc_spm *m, const int32_t *ids, size_t n, const char *want) {
    char *t;
    size_t len;
    if (gptc_spm_decode(ctx, m, ids, n, &t, &len)) return 0;
    int ok = len == strlen(want) && !memcmp(t, want, len);
    if (!ok) printf("  decoded \"%s\", want \"%s\"\n", t, want);
    free(t);
    return ok;
}

/* loading fails with code and a message holding every needle */
static void expect_fail(gptc_ctx *ctx, const char *name, const pbw *w, gptc_status code, const char *needle) {
    gptc_spm *m = NULL;
    gptc_status st = gptc_spm_load_buffer(ctx, w->b, w->n, "t.model", &m);
    CHECK(name, st == code && strstr(gptc_errmsg(ctx), "t.model") && strstr(gptc_errmsg(ctx), needle),
          "status %d, message \"%s\", want %d with \"%s\"", (int)st, gptc_errmsg(ctx), (int)code, needle);
    gptc_spm_free(m);
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    static pbw w, v;
    unigram_model(&w, 1);
    gptc_spm *m = load(ctx, &w);
    CHECK("unigram_loads", m != NULL, "%s", gptc_errmsg(ctx));
    if (!m) return test_exit();
    gptc_spm_special sp = gptc_spm_special_ids(m);
    CHECK("special_ids", sp.unk == 0 && sp.bos == 1 && sp.eos == 2 && sp.pad == -1, "%d %d %d %d", sp.unk, sp.bos,
          sp.eos, sp.pad);
    /* "ab ab" -> "▁ab▁ab": ▁ab (-3.5) beats ▁ + ab (-3.9) and ▁ + a + b (-4.5) */
    CHECK("viterbi_whole_piece", ids_are(ctx, m, "ab ab", (int32_t[]){7, 7}, 2, WS "ab " WS "ab"), "");
    /* "  ab   b " -> "▁ab▁b" (extra whitespace removed): ▁ab, then ▁ + b (-3.5) */
    CHECK("viterbi_whitespace", ids_are(ctx, m, "  ab   b ", (int32_t[]){7, 3, 5}, 3, WS "ab " WS " b"), "");
    /* "abcc" -> ▁ab + unk c + unk c (min score -3.5, unk -13.5): the run is one piece */
    CHECK("unknown_run_joined", ids_are(ctx, m, "abcc", (int32_t[]){7, 0}, 2, WS "ab cc"), "");
    /* user-defined <sep>: kept whole, score len * max_score - 0.1 with max_score = -1 */
    CHECK("user_defined", ids_are(ctx, m, "a<sep>b", (int32_t[]){3, 4, 8, 5}, 4, WS " a <sep> b"), "");
    /* invalid UTF-8 -> U+FFFD (3 bytes, one unknown piece each byte of input) */
    CHECK("invalid_utf8", ids_are(ctx, m, "a\xff", (int32_t[]){3, 4, 0}, 3, WS " a \xef\xbf\xbd"), "");
    CHECK("empty_text", ids_are(ctx, m, "   ", NULL, 0, ""), "");
    /* decode: control pieces vanish, the dummy prefix's space is dropped, <unk> -> " ⁇ " */
    CHECK("decode_rules", decodes_to(ctx, m, (int32_t[]){1, 7, 0, 3, 5, 2}, 6, "ab \xe2\x81\x87  b"), "");
    {
        char *t;
        size_t len;
        gptc_status st = gptc_spm_decode(ctx, m, (int32_t[]){3, 9}, 2, &t, &len);
        CHECK("decode_bad_id", st == GPTC_ERANGE && strstr(gptc_errmsg(ctx), "invalid id 9 at position 1"), "%s",
              gptc_errmsg(ctx));
    }
    gptc_spm_free(m);

    /* BPE on the same pieces: "ab ab" -> symbols ▁ a b ▁ a b; merges by score: ab (-1.9,
     * leftmost first) twice, then ▁ab (-3.5) twice */
    unigram_model(&w, 2);
    m = load(ctx, &w);
    CHECK("bpe_loads", m && gptc_spm_is_bpe(m), "%s", gptc_errmsg(ctx));
    if (m) {
        CHECK("bpe_merges", ids_are(ctx, m, "ab ab", (int32_t[]){7, 7}, 2, WS "ab " WS "ab"), "");
        /* "ba" -> ▁ b a: no pair of them is a piece */
        CHECK("bpe_no_merge", ids_are(ctx, m, "ba", (int32_t[]){3, 5, 4}, 3, WS " b a"), "");
        CHECK("bpe_unknown", ids_are(ctx, m, "cab", (int32_t[]){3, 0, 6}, 3, WS " c ab"), "");
        gptc_spm_free(m);
    }

    /* a charsmap built by hand: a Darts double array holding "x" -> "yz" and "xq" -> "" */
    {
        /* units (see spm_norm.c): root 0 with offset 1 -> children at 1 ^ c.
         * 'x' = 0x78: node 0x79 (label 0x78, has_leaf, offset 0x100 -> 0x179); leaf at 0x179
         * holds value 0 ("yz"); 'q' = 0x71 from 0x179 ^ 0 ... keep one level: "x" only. */
        uint32_t units[0x200] = {0};
        units[0] = 1u << 10;                              /* offset 1 */
        units[0x79] = 0x78 | (1u << 8) | (0x100u << 10);  /* label 'x', has_leaf, offset 0x100 */
        units[0x79 ^ 0x100] = (1u << 31) | 0;             /* leaf: value 0 */
        unsigned char cm[4 + sizeof units + 3];
        uint32_t ts = sizeof units;
        memcpy(cm, &ts, 4);
        memcpy(cm + 4, units, sizeof units);
        memcpy(cm + 4 + sizeof units, "yz", 3);
        v = w;
        pbw ns = {.n = 0};
        w_str(&ns, 1, "hand");
        w_bytes(&ns, 2, cm, sizeof cm);
        unigram_model(&v, 1);
        w_bytes(&v, 3, ns.b, ns.n);
        m = load(ctx, &v);
        CHECK("charsmap_loads", m != NULL, "%s", gptc_errmsg(ctx));
        /* "xab" -> "▁yzab": y, z unknown (one joined piece), then ab */
        if (m) CHECK("charsmap_rule", ids_are(ctx, m, "xab", (int32_t[]){3, 0, 6}, 3, WS " yz ab"), "");
        gptc_spm_free(m);
        /* strings without their closing NUL */
        unigram_model(&v, 1);
        ns.n = 0;
        w_bytes(&ns, 2, cm, sizeof cm - 1);
        w_bytes(&v, 3, ns.b, ns.n);
        expect_fail(ctx, "charsmap_no_nul", &v, GPTC_EFORMAT, "do not end with a NUL");
        unigram_model(&v, 1);
        ns.n = 0;
        uint32_t big = 1u << 30;
        unsigned char bad[8];
        memcpy(bad, &big, 4);
        memset(bad + 4, 0, 4);
        w_bytes(&ns, 2, bad, 8);
        w_bytes(&v, 5, ns.b, ns.n);
        expect_fail(ctx, "charsmap_trie_size", &v, GPTC_EFORMAT, "denormalizer_spec.precompiled_charsmap is broken");
    }

    /* broken files */
    {
        unigram_model(&w, 1);
        int ok = 1;
        for (size_t k = 0; k < w.n; k++) { /* every truncation: no crash, errors name the file */
            gptc_spm *x = NULL;
            gptc_status st = gptc_spm_load_buffer(ctx, w.b, k, "t.model", &x);
            if (st && !strstr(gptc_errmsg(ctx), "t.model")) ok = 0;
            gptc_spm_free(x);
        }
        CHECK("every_truncation", ok, "an error without the file name: %s", gptc_errmsg(ctx));
        v.n = 0;
        memcpy(v.b, w.b, w.n - 3);
        v.n = w.n - 3;
        expect_fail(ctx, "truncated_trainer_spec", &v, GPTC_EFORMAT, "trainer_spec: length");

        v.n = 0;
        w_tag(&v, 1, 0);
        w_varint(&v, 5);
        expect_fail(ctx, "pieces_wire_type", &v, GPTC_EFORMAT, "pieces: wire type 0 (varint) at byte 0, expected 2");
        v.n = 0;
        pbw p = {.n = 0};
        w_int(&p, 2, 7); /* score as a varint */
        w_bytes(&v, 1, p.b, p.n);
        expect_fail(ctx, "score_wire_type", &v, GPTC_EFORMAT, "pieces[0].score: wire type 0");
        v.n = 0;
        w_tag(&v, 3, 2);
        w_varint(&v, 1ull << 40);
        expect_fail(ctx, "huge_length", &v, GPTC_EFORMAT, "normalizer_spec: length 1099511627776 at byte 1 past the end");
        v.n = 0;
        w_tag(&v, 4, 0);
        for (int i = 0; i < 11; i++) v.b[v.n++] = 0x80;
        v.b[v.n++] = 1;
        expect_fail(ctx, "long_varint", &v, GPTC_EFORMAT, "varint longer than 10 bytes");
        v.n = 0;
        w_tag(&v, 9, 6);
        expect_fail(ctx, "wire_type_6", &v, GPTC_EFORMAT, "invalid wire type 6");
        v.n = 0;
        w_tag(&v, 9, 4);
        expect_fail(ctx, "end_group_alone", &v, GPTC_EFORMAT, "end-group tag of field 9");
        v.n = 0;
        w_tag(&v, 9, 3);
        w_int(&v, 1, 1);
        expect_fail(ctx, "group_without_end", &v, GPTC_EFORMAT, "has no end");
        v.n = 0;
        w_varint(&v, 0);
        expect_fail(ctx, "field_zero", &v, GPTC_EFORMAT, "field number 0");

        v = w;
        w_piece(&v, "a", 0, 1);
        expect_fail(ctx, "duplicate_piece", &v, GPTC_EFORMAT, "pieces[9] \"a\" is already defined (pieces[4])");
        v = w;
        w_piece(&v, "<unk2>", 0, 2);
        expect_fail(ctx, "two_unknown", &v, GPTC_EFORMAT, "unk is already defined");
        v = w;
        w_piece(&v, "", 0, 1);
        expect_fail(ctx, "empty_piece", &v, GPTC_EFORMAT, "pieces[9]: piece must not be empty");
        v = w;
        w_piece(&v, "<0x41>", 0, 6);
        expect_fail(ctx, "byte_without_fallback", &v, GPTC_EFORMAT, "although byte_fallback is false");
        v = w;
        p.n = 0;
        w_str(&p, 1, "q");
        w_int(&p, 3, 7);
        w_bytes(&v, 1, p.b, p.n);
        expect_fail(ctx, "piece_type_7", &v, GPTC_EFORMAT, "pieces[9].type: value 7");
        v.n = 0;
        w_piece(&v, "a", 0, 1);
        expect_fail(ctx, "no_unknown", &v, GPTC_EFORMAT, "unk is not defined");
        unigram_model(&v, 3);
        expect_fail(ctx, "word_model", &v, GPTC_ENOTSUP, "WORD");
        /* byte fallback with 255 of the 256 byte pieces */
        v = w;
        p.n = 0;
        w_int(&p, 35, 1);
        w_bytes(&v, 2, p.b, p.n);
        for (int b = 0; b < 255; b++) {
            char s[8];
            snprintf(s, sizeof s, "<0x%02X>", b);
            w_piece(&v, s, 0, 6);
        }
        expect_fail(ctx, "byte_pieces_missing", &v, GPTC_EFORMAT, "<0xFF> is missing");
        w_piece(&v, "<0xFF>", 0, 6);
        m = load(ctx, &v);
        CHECK("byte_fallback_loads", m != NULL, "%s", gptc_errmsg(ctx));
        /* "aé" -> ▁ a, then é unknown -> its two bytes */
        if (m) CHECK("byte_fallback", ids_are(ctx, m, "a\xc3\xa9", (int32_t[]){3, 4, 9 + 0xc3, 9 + 0xa9}, 4,
                                              WS " a <0xC3> <0xA9>"), "");
        /* decoding byte pieces: a valid pair -> é, a lone 0xFF -> U+FFFD */
        if (m) CHECK("decode_bytes", decodes_to(ctx, m, (int32_t[]){4, 9 + 0xc3, 9 + 0xa9, 9 + 0xff, 3, 5}, 6,
                                                "a\xc3\xa9\xef\xbf\xbd b"), "");
        gptc_spm_free(m);
    }

    /* the Nth allocation fails: ENOMEM, no crash, no leak */
    {
        unigram_model(&w, 1);
        int ok = 1;
        for (long k = 0; k < 30; k++) {
            ctx->fail_alloc_after = k;
            gptc_spm *x = NULL;
            gptc_status st = gptc_spm_load_buffer(ctx, w.b, w.n, "t.model", &x);
            if (st != GPTC_OK && st != GPTC_ENOMEM) ok = 0;
            gptc_spm_free(x);
        }
        ctx->fail_alloc_after = -1;
        CHECK("failing_allocations", ok, "a failed allocation gave another error: %s", gptc_errmsg(ctx));
    }
    gptc_ctx_free(ctx);
    return test_exit();
}
