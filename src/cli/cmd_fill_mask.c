/* cmd_fill_mask.c: `gptc fill-mask`: a BERT's top-k tokens for each [MASK] of a text, as
 * transformers' fill-mask pipeline prints them (score, token, token_str, sequence). */
#include "cli.h"
#include "gptc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc fill-mask --model DIR|REPO --text TEXT [--top-k K] [--threads N] [--json]\n"
    "\n"
    "Encodes TEXT with the model's WordPiece tokenizer as [CLS] TEXT [SEP] ([MASK] in the\n"
    "text is one token), runs the BERT in DIR (BertForPreTraining or BertForMaskedLM) and\n"
    "prints, for every [MASK], the K most probable tokens with their softmax probability\n"
    "and the text with the mask filled in, as transformers' fill-mask pipeline does.\n"
    "\n"
    "  --model DIR|REPO BERT model directory with its tokenizer (vocab.txt), or a Hub repository\n"
    "  --text TEXT      text holding one or more [MASK] tokens\n"
    "  --top-k K        candidates per mask (default 5)\n"
    "  --threads N      threads (default: all cores)\n"
    "  --json           the pipeline's output: a list of {\"score\", \"token\", \"token_str\",\n"
    "                   \"sequence\"} (one mask), or one such list per mask\n"
    "\n"
    "example:\n"
    "  gptc fill-mask --model bert --text \"the cat sat on the [MASK] .\" --top-k 3\n";

static char *decode(gptc_ctx *ctx, const gptc_tokenizer *tok, const int32_t *ids, size_t n) {
    char *t = NULL;
    size_t len = 0;
    if (gptc_tokenizer_decode(ctx, tok, ids, n, &t, &len)) cli_die("fill-mask", ctx, NULL);
    return t;
}

int cmd_fill_mask(int argc, char **argv) {
    const char *model_dir = NULL, *text = NULL;
    long top_k = 5, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--text", &text)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--top-k", 1, 1 << 20, &top_k)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("fill-mask", argv[i]);
    }
    if (!model_dir || !text) {
        fprintf(stderr, "gptc fill-mask: --model and --text are required\ntry `gptc fill-mask --help`\n");
        return 2;
    }
    model_dir = cli_model("fill-mask", model_dir);
    gptc_ctx *ctx = cli_ctx("fill-mask", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("fill-mask", ctx, model_dir);
    const gptc_config *c = gptc_model_config(m);
    if (c->arch != GPTC_ARCH_BERT || c->head != GPTC_HEAD_LM)
        cli_die("fill-mask", NULL, "%s is a %s; fill-mask needs a BertForPreTraining or BertForMaskedLM", model_dir,
                gptc_model_class(m));
    gptc_tokenizer *tok;
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("fill-mask", ctx, "tokenizer");
    gptc_tokenizer_roles r;
    gptc_tokenizer_roles_get(tok, &r);
    if (gptc_tokenizer_kind(tok) != GPTC_TOKENIZER_WORDPIECE || r.mask < 0)
        cli_die("fill-mask", NULL, "%s: the tokenizer has no [MASK] token (a WordPiece vocab.txt is needed)", model_dir);
    int32_t *ids = NULL, *types = NULL;
    size_t n = 0;
    if (gptc_tokenizer_encode_pair(ctx, tok, text, strlen(text), NULL, 0, c->n_positions, &ids, &types, &n))
        cli_die("fill-mask", ctx, "--text");
    size_t n_mask = 0;
    for (size_t i = 0; i < n; i++) n_mask += ids[i] == r.mask;
    if (!n_mask) cli_die("fill-mask", NULL, "--text holds no [MASK] token (\"%s\")", text);
    if ((size_t)c->vocab_size < gptc_tokenizer_n_vocab(tok))
        cli_die("fill-mask", NULL, "%s: the tokenizer has %zu ids, the model's vocab_size is %d", model_dir,
                gptc_tokenizer_n_vocab(tok), c->vocab_size);
    gptc_workspace *ws;
    if (gptc_workspace_new(ctx, m, 1, (int)n, 0, &ws)) cli_die("fill-mask", ctx, NULL);
    gptc_batch bt;
    memset(&bt, 0, sizeof bt);
    bt.B = 1;
    bt.T = (int)n;
    bt.tokens = ids;
    bt.token_types = types;
    if (gptc_forward_batch(ctx, ws, &bt, NULL)) cli_die("fill-mask", ctx, NULL);
    const float *logits = gptc_workspace_logits(ws);
    int V = (int)gptc_tokenizer_n_vocab(tok), K = (int)(top_k < V ? top_k : V);
    /* the pipeline decodes the filled sequence without special tokens when there is one mask */
    int32_t *seq = malloc(n * sizeof *seq), specials[5] = {r.cls, r.sep, r.pad, r.mask, r.unk};
    int *best = malloc((size_t)K * sizeof *best);
    double *p = malloc((size_t)V * sizeof *p);
    if (!seq || !best || !p) cli_die("fill-mask", NULL, "out of memory");
    if (json && n_mask > 1) printf("[");
    size_t k_mask = 0;
    for (size_t pos = 0; pos < n; pos++) {
        if (ids[pos] != r.mask) continue;
        const float *z = logits + pos * (size_t)c->vocab_size;
        double mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, z[v]);
        for (int v = 0; v < V; v++) sum += (p[v] = exp((double)z[v] - mx));
        for (int v = 0; v < V; v++) p[v] /= sum;
        for (int k = 0; k < K; k++) { /* top K, ties to the smaller id */
            int b = -1;
            for (int v = 0; v < V; v++) {
                int taken = 0;
                for (int j = 0; j < k && !taken; j++) taken = best[j] == v;
                if (!taken && (b < 0 || p[v] > p[b])) b = v;
            }
            best[k] = b;
        }
        if (json) printf("%s[", k_mask ? ", " : "");
        else printf("%s[MASK] %zu (position %zu):\n", k_mask ? "\n" : "", k_mask + 1, pos);
        for (int k = 0; k < K; k++) {
            int32_t id = best[k];
            size_t ns = 0;
            for (size_t i = 0; i < n; i++) {
                int32_t t = i == pos ? id : ids[i];
                int skip = 0;
                for (int j = 0; j < 5 && n_mask == 1 && i != pos; j++) skip |= specials[j] >= 0 && t == specials[j];
                if (!skip) seq[ns++] = t;
            }
            char *ts = decode(ctx, tok, &id, 1), *ss = decode(ctx, tok, seq, ns);
            if (json) {
                printf("%s{\"score\": %.8g, \"token\": %d, \"token_str\": ", k ? ", " : "", p[id], id);
                cli_json_string(stdout, ts);
                printf(", \"sequence\": ");
                cli_json_string(stdout, ss);
                printf("}");
            } else {
                printf("  %.4f  %-16s %s\n", p[id], ts, ss);
            }
            free(ts);
            free(ss);
        }
        if (json) printf("]");
        k_mask++;
    }
    if (json) printf("%s\n", n_mask > 1 ? "]" : "");
    free(seq);
    free(best);
    free(p);
    free(ids);
    free(types);
    gptc_workspace_free(ws);
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
