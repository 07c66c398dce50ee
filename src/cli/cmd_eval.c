/* cmd_eval.c: `gptc eval`: mean next-token cross-entropy and perplexity of a model on
 * token ids, scored in consecutive windows of at most n_positions tokens. */
#include "cli.h"
#include "../io/tokfile.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
    "usage: gptc eval --model DIR --tokens FILE [--batch-size N] [--threads N] [--json]\n"
    "\n"
    "Scores whitespace-separated token ids in FILE (\"-\" for stdin) with the model in DIR:\n"
    "the mean next-token cross-entropy (nats) and the perplexity exp(loss). Inputs longer\n"
    "than the context are cut into consecutive windows of n_positions + 1 tokens (each\n"
    "window predicts n_positions tokens); each window starts a fresh context.\n"
    "\n"
    "  --model DIR        model directory (config.json + model.safetensors)\n"
    "  --tokens FILE      token ids, e.g. from `gptc tokenize`\n"
    "  --batch-size N     windows scored at once (default: as many as fit 256 MiB of logits)\n"
    "  --threads N        threads (default: all cores)\n"
    "  --json             print {\"loss\", \"perplexity\", \"tokens\"}\n"
    "\n"
    "example:\n"
    "  gptc tokenize --model m < text.txt > ids.txt && gptc eval --model m --tokens ids.txt\n";

int cmd_eval(int argc, char **argv) {
    const char *model_dir = NULL, *tokens_path = NULL;
    long batch = 0, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--tokens", &tokens_path)) continue;
        if (cli_opt_int(argc, argv, &i, "--batch-size", &batch)) continue;
        if (cli_opt_int(argc, argv, &i, "--threads", &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("eval", argv[i]);
    }
    if (!model_dir || !tokens_path) {
        fprintf(stderr, "gptc eval: --model and --tokens are required\ntry `gptc eval --help`\n");
        return 2;
    }
    if (batch < 0) cli_die("eval", NULL, "--batch-size must be positive");
    gptc_ctx *ctx = cli_ctx("eval", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die("eval", ctx, NULL);
    const gptc_config *c = gptc_model_config(m);
    int32_t *ids;
    size_t n;
    if (gptc_tokens_read_text(ctx, tokens_path, c->vocab_size, &ids, &n)) cli_die("eval", ctx, NULL);
    if (n < 2) cli_die("eval", NULL, "%s: needs at least 2 token ids to score (found %zu)", tokens_path, n);

    int T = c->n_positions;
    size_t n_pred = n - 1;
    if ((size_t)T > n_pred) T = (int)n_pred;
    size_t n_win = (n_pred + (size_t)T - 1) / (size_t)T;
    if (batch == 0) {
        size_t per_win = (size_t)T * (size_t)c->vocab_size * sizeof(float);
        batch = (long)((256u << 20) / (per_win ? per_win : 1));
        if (batch < 1) batch = 1;
    }
    if ((size_t)batch > n_win) batch = (long)n_win;
    int B = (int)batch;
    int32_t *inp = malloc((size_t)B * T * sizeof *inp), *tgt = malloc((size_t)B * T * sizeof *tgt);
    if (!inp || !tgt) cli_die("eval", NULL, "out of memory");
    double total = 0;
    size_t counted = 0;
    for (size_t w0 = 0; w0 < n_win; w0 += (size_t)B) {
        int nb = (int)((n_win - w0) < (size_t)B ? (n_win - w0) : (size_t)B);
        size_t valid = 0;
        for (int b = 0; b < nb; b++) {
            size_t start = (w0 + (size_t)b) * (size_t)T;
            for (int t = 0; t < T; t++) {
                size_t pos = start + (size_t)t;
                int ok = pos + 1 < n;
                inp[b * T + t] = pos < n ? ids[pos] : 0;
                tgt[b * T + t] = ok ? ids[pos + 1] : -100;
                valid += ok;
            }
        }
        float loss;
        if (gptc_model_forward(ctx, m, inp, tgt, nb, T, &loss)) cli_die("eval", ctx, NULL);
        total += (double)loss * (double)valid;
        counted += valid;
        if (!json && n_win > 1 && isatty(2))
            fprintf(stderr, "\reval: %zu/%zu windows", w0 + (size_t)nb, n_win);
    }
    if (!json && n_win > 1 && isatty(2)) fputc('\n', stderr);
    double loss = total / (double)counted;
    if (json) printf("{\"loss\": %.6f, \"perplexity\": %.6f, \"tokens\": %zu}\n", loss, exp(loss), counted);
    else printf("loss %.6f\nperplexity %.4f\ntokens %zu\n", loss, exp(loss), counted);
    free(inp);
    free(tgt);
    gptc_free(ids);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
