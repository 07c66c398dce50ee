/* test_mt_metrics.c: sacreBLEU's 13a tokenization on lines derived by hand (its passes
 * in order: "<skipped>", "-\n", "\n", entities one after another, punctuation, "." and
 * "," unless between digits, "-" after a digit, Python's whitespace), signatures, and
 * BLEU/chrF API errors. Scores against the reference: tests/t_mt_metrics.sh. */
#include "harness.h"
#include "gptc.h"

static void tok(gptc_ctx *ctx, const char *name, const char *in, const char *want) {
    char *t = gptc_tokenize_13a(ctx, in);
    CHECK(name, t && !strcmp(t, want), "got \"%s\", want \"%s\"", t ? t : gptc_errmsg(ctx), want);
    gptc_free(t);
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    tok(ctx, "13a_dash_newline", "a-\nb", "ab");
    tok(ctx, "13a_newline", "x\ny", "x y");
    tok(ctx, "13a_entities_in_order", "&amp;lt; &quot;q&quot;", "< \" q \"");
    tok(ctx, "13a_skipped", "<skipped>word", "word");
    tok(ctx, "13a_numbers", "1,000.50 dollars.", "1,000.50 dollars .");
    tok(ctx, "13a_comma", "Hello,world", "Hello , world");
    tok(ctx, "13a_digit_dash", "5-6 a-b", "5 - 6 a-b");
    tok(ctx, "13a_punct", "don't (yes)!", "don't ( yes ) !");
    tok(ctx, "13a_period_after_digit", "3.a a.b", "3 . a a . b");
    tok(ctx, "13a_unicode_space", "  x\xc2\xa0y\xe3\x80\x80 ", "x y");
    tok(ctx, "13a_korean", "\xec\x95\x88\xeb\x85\x95.\xed\x95\x98", "\xec\x95\x88\xeb\x85\x95 . \xed\x95\x98");
    tok(ctx, "13a_empty", "   ", "");
    char *bad = gptc_tokenize_13a(ctx, "a\xff");
    CHECK("13a_invalid_utf8", !bad && strstr(gptc_errmsg(ctx), "invalid UTF-8 at byte 1"), "%s", gptc_errmsg(ctx));
    char s[160];
    gptc_bleu_signature(1, s, sizeof s);
    CHECK("bleu_signature", !strcmp(s, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"), "%s", s);
    gptc_chrf_signature(3, s, sizeof s);
    CHECK("chrf_signature", !strcmp(s, "nrefs:3|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"), "%s", s);
    const char *h[2] = {"a b", "c"}, *r[2] = {"a b", "c\xc3"};
    gptc_bleu_score b;
    gptc_chrf_score c;
    CHECK("bleu_no_refs", gptc_bleu_corpus(ctx, h, 2, r, 0, &b) == GPTC_EINVAL, "%s", gptc_errmsg(ctx));
    CHECK("chrf_bad_ref", gptc_chrf_corpus(ctx, h, 2, r, 1, &c) == GPTC_EFORMAT &&
                              strstr(gptc_errmsg(ctx), "reference 2: invalid UTF-8"), "%s", gptc_errmsg(ctx));
    CHECK("bleu_identical", gptc_bleu_corpus(ctx, h, 1, r, 1, &b) == GPTC_OK && b.score == 0.0 && b.counts[1] == 1,
          "a 2-token sentence has no 3-gram: BLEU 0 (score %g)", b.score);
    CHECK("chrf_identical", gptc_chrf_corpus(ctx, h, 1, r, 1, &c) == GPTC_OK && c.score == 100.0, "%g", c.score);
    gptc_ctx_free(ctx);
    return test_exit();
}
