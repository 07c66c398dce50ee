/* cmd_attention.c: `gptc attention`: the attention probabilities of one layer for a text,
 * per head or averaged over heads, as an SVG heatmap (tokens on both axes as their text,
 * UTF-8, XML-escaped, CJK fonts first) and/or as JSON. */
#include "cli.h"
#include "gptc.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc attention --model DIR|REPO (--text TEXT | --tokens FILE) [--layer L] [--head H] [--out FILE.svg] [--json]\n"
    "\n"
    "Attention weights of layer L (default: the last) for the tokens of TEXT: row i holds how\n"
    "query token i attends to tokens 0..i. Averaged over heads unless --head is given.\n"
    "\n"
    "  --model DIR|REPO model directory\n"
    "  --text TEXT      text to encode with the model's tokenizer\n"
    "  --tokens FILE    whitespace-separated token ids instead (\"-\" for stdin)\n"
    "  --layer L        layer, 0-based (negative counts from the end; default -1)\n"
    "  --head H         one head, 0-based (default: the mean over heads)\n"
    "  --out FILE.svg   write the heatmap\n"
    "  --json           print {\"layer\", \"head\", \"n_head\", \"tokens\", \"labels\", \"attention\"}\n"
    "  --threads N      threads (default: all cores)\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc attention --model m --text '나는 학교에 간다' --layer 0 --out att.svg\n";

/* utf-8 length of the character starting with byte c, 0 when c cannot start one */
static size_t u8len(unsigned c) { return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0; }

/* Labels for the tokens: the characters each token's bytes touch in the whole text, so a
 * Hangul syllable split over two byte-level tokens shows on both ("…" marks the token that
 * continues a character). Newline and tab show as arrows, other control and invalid bytes
 * as \xNN. Without a tokenizer the ids. labels[i] are malloc'ed. */
static int make_labels(gptc_ctx *ctx, const gptc_tokenizer *tok, const int32_t *ids, int T, char **labels) {
    if (!tok) {
        for (int i = 0; i < T; i++) {
            if (!(labels[i] = malloc(16))) return -1;
            snprintf(labels[i], 16, "%d", ids[i]);
        }
        return 0;
    }
    size_t *off = malloc(((size_t)T + 1) * sizeof *off), total = 0, cap = 256;
    unsigned char *all = malloc(cap);
    if (!off || !all) { free(off); free(all); return -1; }
    for (int i = 0; i < T; i++) {
        char *raw;
        size_t n;
        if (gptc_tokenizer_decode(ctx, tok, &ids[i], 1, &raw, &n)) { free(off); free(all); return -1; }
        if (total + n > cap) {
            unsigned char *na = realloc(all, cap = (total + n) * 2);
            if (!na) { free(raw); free(off); free(all); return -1; }
            all = na;
        }
        off[i] = total;
        memcpy(all + total, raw, n);
        total += n;
        free(raw);
    }
    off[T] = total;
    for (int i = 0; i < T; i++) {
        size_t s = off[i], e = off[i + 1];
        int cont = 0;
        /* widen to whole characters: back to a lead byte (at most 3), on to the character's end */
        for (int k = 0; k < 3 && s > 0 && s < total && (all[s] & 0xC0) == 0x80; k++) { s--; cont = 1; }
        if (s < total && (all[s] & 0xC0) == 0x80) { s = off[i]; cont = 0; }
        size_t p = s;
        while (p < e) {
            size_t l = u8len(all[p]);
            p += l ? l : 1;
        }
        if (p <= total) e = p;
        char *out = malloc((e - s) * 4 + 8);
        if (!out) { free(off); free(all); return -1; }
        size_t o = 0;
        if (cont) { memcpy(out, "\xE2\x80\xA6", 3); o = 3; }
        for (size_t q = s; q < e;) {
            unsigned c = all[q];
            size_t len = u8len(c);
            int ok = len > 0 && q + len <= e;
            for (size_t k = 1; ok && k < len; k++) ok = (all[q + k] & 0xC0) == 0x80;
            if (ok && c == '\n') { memcpy(out + o, "\xE2\x86\xB5", 3); o += 3; q++; continue; }
            if (ok && c == '\t') { memcpy(out + o, "\xE2\x86\x92", 3); o += 3; q++; continue; }
            if (ok && (len > 1 || c >= 0x20)) {
                memcpy(out + o, all + q, len);
                o += len;
                q += len;
            } else {
                o += (size_t)sprintf(out + o, "\\x%02X", c);
                q++;
            }
        }
        out[o] = 0;
        labels[i] = out;
    }
    free(off);
    free(all);
    return 0;
}

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Display width of a label in cells: CJK and Hangul count double. */
static int label_width(const char *s) {
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue;
        w += *p >= 0xE1 && *p <= 0xED ? 2 : 1; /* U+1000..U+DFFF: Hangul, CJK ideographs */
    }
    return w;
}

/* Through a fresh temp file beside path (O_EXCL|O_NOFOLLOW), renamed in: a planted
 * symlink at path is replaced, never written through. */
static gptc_status write_svg(gptc_ctx *ctx, const char *path, const char *title, char **labels, const float *a, int T) {
    gptc_atomic_file af;
    gptc_status st = gptc_atomic_open(ctx, &af, path);
    if (st) return st;
    FILE *f = af.f;
    int cell = 22, maxw = 1;
    for (int i = 0; i < T; i++) {
        int w = label_width(labels[i]);
        maxw = w > maxw ? w : maxw;
    }
    if (maxw > 24) maxw = 24;
    int margin = 12 + maxw * 8, top = margin + 30, W = margin + T * cell + 20, H = top + T * cell + 20;
    float mx = 0;
    for (int i = 0; i < T * T; i++) mx = a[i] > mx ? a[i] : mx;
    if (mx <= 0) mx = 1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"'Noto Sans CJK KR', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', "
               "'NanumGothic', 'DejaVu Sans', sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"8\" y=\"18\" font-size=\"14\">");
    xml_text(f, title);
    fprintf(f, " (max %.3f)</text>\n", mx);
    for (int i = 0; i < T; i++) {
        /* rows (queries) on the left, columns (keys) on top, rotated */
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" dominant-baseline=\"middle\" xml:space=\"preserve\">",
                margin - 6, top + i * cell + cell / 2);
        xml_text(f, labels[i]);
        fprintf(f, "</text>\n<text transform=\"translate(%d,%d) rotate(-90)\" dominant-baseline=\"middle\" "
                   "xml:space=\"preserve\">", margin + i * cell + cell / 2, top - 6);
        xml_text(f, labels[i]);
        fprintf(f, "</text>\n");
    }
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            float v = a[(size_t)i * T + j] / mx;
            int shade = (int)(255 * (1 - (v < 0 ? 0 : v > 1 ? 1 : v)) + 0.5f);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" stroke=\"#eee\">"
                       "<title>%.4f</title></rect>\n", margin + j * cell, top + i * cell, cell, cell, shade, shade,
                    a[(size_t)i * T + j]);
        }
    fprintf(f, "</svg>\n");
    return gptc_atomic_commit(ctx, &af);
}

int cmd_attention(int argc, char **argv) {
    const char *model_dir = NULL, *text = NULL, *tokens_path = NULL, *out = NULL;
    long layer = -1, head = -1, threads = 0;
    int json = 0, has_head = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--text", &text)) continue;
        if (cli_opt_str(argc, argv, &i, "--tokens", &tokens_path)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--layer", -(1L << 20), 1L << 20, &layer)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--head", 0, INT_MAX, &head)) { has_head = 1; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("attention", argv[i]);
    }
    if (!model_dir || (!text == !tokens_path) || (!out && !json)) {
        fprintf(stderr, "gptc attention: --model, one of --text/--tokens, and --out or --json are required\n"
                        "try `gptc attention --help`\n");
        return 2;
    }
    model_dir = cli_model("attention", model_dir);
    gptc_ctx *ctx = cli_ctx("attention", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("attention", ctx, model_dir);
    const gptc_config *c = gptc_model_config(m);
    gptc_tokenizer *tok = NULL;
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) {
        if (text) cli_die("attention", ctx, "no tokenizer in %s (use --tokens)", model_dir);
        tok = NULL;
    }
    int32_t *ids;
    size_t n;
    if (text ? gptc_tokenizer_encode(ctx, tok, text, strlen(text), 1, &ids, &n)
             : gptc_tokens_read_text(ctx, tokens_path, c->vocab_size, &ids, &n))
        cli_die("attention", ctx, NULL);
    if (n == 0) cli_die("attention", NULL, "no tokens");
    if (n > (size_t)c->n_positions)
        cli_die("attention", NULL, "%zu tokens are more than the context of %d", n, c->n_positions);
    /* ranges that depend on the model: usage errors all the same */
    if (layer < -c->n_layer || layer >= c->n_layer) {
        fprintf(stderr, "gptc attention: option --layer: %ld is out of range [%d, %d] (the model has %d layers)\n", layer,
                -c->n_layer, c->n_layer - 1, c->n_layer);
        exit(2);
    }
    if (layer < 0) layer += c->n_layer;
    if (has_head && head >= c->n_head) {
        fprintf(stderr, "gptc attention: option --head: %ld is out of range [0, %d] (the model has %d heads)\n", head,
                c->n_head - 1, c->n_head);
        exit(2);
    }
    int T = (int)n, NH = c->n_head;
    float *all = malloc(sizeof(float) * (size_t)NH * T * T), *a = calloc((size_t)T * T, sizeof(float));
    if (!all || !a) cli_die("attention", NULL, "out of memory");
    if (gptc_model_attention(ctx, m, ids, T, (int)layer, all)) cli_die("attention", ctx, NULL);
    for (int h = 0; h < NH; h++) {
        if (has_head && h != head) continue;
        for (size_t k = 0; k < (size_t)T * T; k++) a[k] += all[(size_t)h * T * T + k];
    }
    if (!has_head)
        for (size_t k = 0; k < (size_t)T * T; k++) a[k] /= (float)NH;
    char **labels = calloc((size_t)T, sizeof *labels);
    if (!labels || make_labels(ctx, tok, ids, T, labels)) cli_die("attention", ctx, "token labels");
    if (out) {
        char title[128];
        if (has_head) snprintf(title, sizeof title, "attention: layer %ld, head %ld", layer, head);
        else snprintf(title, sizeof title, "attention: layer %ld, mean of %d heads", layer, NH);
        if (write_svg(ctx, out, title, labels, a, T)) cli_die("attention", ctx, NULL);
    }
    if (json) {
        printf("{\"layer\": %ld, \"head\": ", layer);
        if (has_head) printf("%ld", head);
        else printf("null");
        printf(", \"n_head\": %d, \"tokens\": [", NH);
        for (int i = 0; i < T; i++) printf("%s%d", i ? ", " : "", ids[i]);
        printf("], \"labels\": [");
        for (int i = 0; i < T; i++) {
            if (i) printf(", ");
            cli_json_string(stdout, labels[i]);
        }
        printf("], \"attention\": [");
        for (int i = 0; i < T; i++) {
            printf("%s[", i ? ", " : "");
            for (int j = 0; j < T; j++) printf("%s%.9g", j ? ", " : "", a[(size_t)i * T + j]);
            printf("]");
        }
        printf("]}\n");
    }
    for (int i = 0; i < T; i++) free(labels[i]);
    free(labels);
    free(all);
    free(a);
    free(ids);
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
