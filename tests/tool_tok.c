/* tool_tok.c: the gptc side of tests/t_wordpiece.sh, using only include/gptc.h.
 *   tool_tok save SRC DST             load a tokenizer and save it into DST
 *   tool_tok offsets DIR TEXT         "begin end" (bytes) per id of TEXT (special tokens recognized)
 *   tool_tok pair DIR A B MAX_LEN     ids, then token types, of the pair (files A, B), truncated
 *                                     to MAX_LEN (0: none) as gptc_tokenizer_encode_pair does
 *   tool_tok roles DIR                the role ids: cls sep pad mask unk eos, and wraps_inputs */
#include "gptc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, gptc_ctx *ctx) {
    fprintf(stderr, "tool_tok: %s%s%s\n", what, ctx ? ": " : "", ctx ? gptc_errmsg(ctx) : "");
    exit(1);
}

static char *slurp(gptc_ctx *ctx, const char *path, size_t *n) {
    char *d;
    if (gptc_file_read(ctx, path, &d, n)) die(path, ctx);
    return d;
}

int main(int argc, char **argv) {
    if (argc < 3) die("usage: tool_tok save|offsets|pair|roles ...", NULL);
    gptc_ctx_params cp = gptc_ctx_default_params();
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    if (!ctx) die("context", NULL);
    gptc_tokenizer *tok = NULL;
    if (gptc_tokenizer_load(ctx, argv[2], &tok)) die(argv[2], ctx);
    if (!strcmp(argv[1], "save") && argc == 4) {
        if (gptc_tokenizer_save(ctx, tok, argv[3])) die(argv[3], ctx);
    } else if (!strcmp(argv[1], "offsets") && argc == 4) {
        size_t n, k;
        char *text = slurp(ctx, argv[3], &n);
        int32_t *ids;
        size_t *off;
        if (gptc_tokenizer_encode_offsets(ctx, tok, text, n, 1, &ids, &off, &k)) die(argv[3], ctx);
        for (size_t i = 0; i < k; i++) printf("%zu %zu\n", off[2 * i], off[2 * i + 1]);
        free(ids);
        free(off);
        gptc_free(text);
    } else if (!strcmp(argv[1], "pair") && argc == 6) {
        size_t na, nb, n;
        char *a = slurp(ctx, argv[3], &na), *b = slurp(ctx, argv[4], &nb);
        int32_t *ids, *types;
        if (gptc_tokenizer_encode_pair(ctx, tok, a, na, b, nb, atoi(argv[5]), &ids, &types, &n)) die("pair", ctx);
        for (int r = 0; r < 2; r++)
            for (size_t i = 0; i < n; i++) printf("%d%c", (r ? types : ids)[i], i + 1 < n ? ' ' : '\n');
        free(ids);
        free(types);
        gptc_free(a);
        gptc_free(b);
    } else if (!strcmp(argv[1], "roles") && argc == 3) {
        gptc_tokenizer_roles r;
        gptc_tokenizer_roles_get(tok, &r);
        printf("%d %d %d %d %d %d %d\n", r.cls, r.sep, r.pad, r.mask, r.unk, r.eos, gptc_tokenizer_wraps_inputs(tok));
    } else {
        die("bad arguments", NULL);
    }
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return 0;
}
