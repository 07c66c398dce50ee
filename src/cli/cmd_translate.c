/* cmd_translate.c: `gptc translate`: sentences (one a line, or one TEXT argument) through
 * an encoder-decoder (model_type marian): the translation tokenizer's source side, the
 * encoder once per sentence, then greedy decoding, sampling or beam search with Hugging
 * Face's semantics, batches of sentences of similar lengths decoding together
 * (gptc_translate_batch), the target side decoded, printed in input order. */
#include "cli.h"
#include "gen_opts.h"
#include "mt_cli.h"
#include "progress.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc translate --model DIR|REPO [--input FILE | --src-tokens FILE | TEXT] [options]\n"
    "\n"
    "Translates each line of FILE (or stdin, or the one TEXT) with an encoder-decoder model\n"
    "(model_type marian: an OPUS-MT model, or one trained by `gptc finetune --task translate`)\n"
    "and prints one translation a line. The source is tokenized as MarianTokenizer does\n"
    "(source.spm + vocab.json, or gptc's BPE, then </s>), encoded once, and decoded from\n"
    "decoder_start_token_id; the output drops </s>, <pad> and <unk>. Generation defaults come\n"
    "from the model's generation_config.json (OPUS-MT's: num_beams 4, max_length 512,\n"
    "bad_words_ids [[pad]], forced_eos_token_id), else Hugging Face's (greedy, max_length 20).\n"
    "\n"
    "  --model DIR|REPO            the model directory (or Hub repository)\n"
    "  --input FILE                sentences, one a line (default: stdin, or TEXT)\n"
    "  --src-tokens FILE           source ids as they are, one sentence a line (each ends with\n"
    "                              the model's eos; nothing is added); without a tokenizer in\n"
    "                              DIR the output is ids (--json: \"text\": null)\n"
    "  --json                      one JSON object a sentence: {\"sequences\": [{\"token_ids\": [...],\n"
    "                              \"text\": ...}]}, the start token left out (HF's generate output\n"
    "                              without decoder_start_token_id)\n"
    "  --batch-size N              sentences decoded together (default 16): the input is\n"
    "                              read whole, sorted by length into batches within windows\n"
    "                              of 16 batches, each window printed in input order when it\n"
    "                              is done; the output equals --batch-size 1's. The KV\n"
    "                              cache holds N x max(num_beams, num_return_sequences)\n"
    "                              sequences\n"
    "  --threads N                 threads (default: all cores)\n"
    GPTC_CLI_GEN_OPTIONS
    GPTC_CLI_DTYPE_OPTION
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc translate --model Helsinki-NLP/opus-mt-en-ko 'Choose Tools - Options.'\n"
    "  gptc translate --model run/model --input test.en --num-beams 4 --max-new-tokens 128 > test.hyp\n";

/* All of a file (or stdin for NULL / "-"), malloc'ed, NUL-terminated. */
static char *read_all(const char *path, size_t *n) {
    FILE *f = path && strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) cli_die("translate", NULL, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, k = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (!b) cli_die("translate", NULL, "out of memory");
        size_t got = fread(b + k, 1, cap - k, f);
        k += got;
        if (!got) break;
        if (k == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) free(b);
            b = nb;
            cap *= 2;
        }
    }
    if (ferror(f)) cli_die("translate", NULL, "%s: read error: %s", path ? path : "<stdin>", strerror(errno));
    if (f != stdin) fclose(f);
    b[k] = 0;
    *n = k;
    return b;
}

/* A line of whitespace-separated ids (messages name file and line). */
static int32_t *parse_ids(const char *name, size_t line, const char *s, size_t n, int vocab, int *n_ids) {
    int32_t *ids = malloc((n / 2 + 2) * sizeof *ids);
    int k = 0;
    if (!ids) cli_die("translate", NULL, "out of memory");
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == ',') { i++; continue; }
        size_t j = i;
        long long v = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9' && v <= INT32_MAX) v = v * 10 + (s[j++] - '0');
        if (j == i || (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != ','))
            cli_die("translate", NULL, "%s:%zu: '%.*s' is not a token id", name, line, (int)(j + 1 - i < 20 ? j + 1 - i : 20),
                    s + i);
        if (v >= vocab) cli_die("translate", NULL, "%s:%zu: id %lld is out of range (vocab_size %d)", name, line, v, vocab);
        ids[k++] = (int32_t)v;
        i = j;
    }
    *n_ids = k;
    return ids;
}

int cmd_translate(int argc, char **argv) {
    const char *model_dir = cli_find_model(argc, argv), *input = NULL, *src_tokens = NULL, *text = NULL, *unused;
    long threads = 0, batch_size = 16;
    int json = 0;
    gptc_gen_params p = gptc_gen_default_params();
    gptc_load_params lp = gptc_load_default_params();
    for (int i = 1; i < argc; i++) cli_help_check(argv, i, usage);
    if (!model_dir) {
        fprintf(stderr, "gptc translate: --model is required\ntry `gptc translate --help`\n");
        return 2;
    }
    model_dir = cli_model("translate", model_dir);
    gptc_ctx *ctx = cli_ctx("translate", 0);
    if (gptc_generation_config_load(ctx, model_dir, &p)) cli_die("translate", ctx, NULL);
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &unused)) continue;
        if (cli_opt_str(argc, argv, &i, "--input", &input)) continue;
        if (cli_opt_str(argc, argv, &i, "--src-tokens", &src_tokens)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--batch-size", 1, 4096, &batch_size)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (cli_dtype_option("translate", argc, argv, &i, &lp)) continue;
        if (cli_gen_option(argc, argv, &i, &p)) continue;
        if (argv[i][0] == '-' && argv[i][1]) cli_bad_option("translate", argv[i]);
        if (text) cli_die("translate", NULL, "give one TEXT (quote it), or --input FILE with one sentence a line");
        text = argv[i];
    }
    if (!!input + !!src_tokens + !!text > 1) cli_die("translate", NULL, "give one of --input, --src-tokens and TEXT");
    if (p.n_stop) cli_die("translate", NULL, "--stop is not supported for translation");
    if (gptc_gen_params_validate(ctx, &p)) cli_die("translate", ctx, NULL);
    gptc_ctx_free(ctx);
    ctx = cli_ctx("translate", (int)threads);
    gptc_model *m;
    gptc_mt_tokenizer *tok;
    if (lp.weight_dtype != GPTC_F32) {
        if (gptc_model_load_with(ctx, model_dir, &lp, &m)) cli_die_model("translate", ctx, model_dir);
        gptc_model_free(m);
    }
    mt_cli_open_with("translate", ctx, model_dir, &m, &tok, !src_tokens); /* ids in: the tokenizer may be absent */
    if (lp.weight_dtype != GPTC_F32) {
        gptc_model_free(m);
        if (gptc_model_load_with(ctx, model_dir, &lp, &m)) cli_die_model("translate", ctx, model_dir);
    }
    const gptc_config *c = gptc_model_config(m);
    cli_gen_check_model("translate", &p, c, model_dir);
    size_t size;
    char *data = text ? NULL : read_all(src_tokens ? src_tokens : input, &size);
    const char *name = src_tokens ? src_tokens : input && strcmp(input, "-") ? input : "<stdin>";
    if (text) {
        size = strlen(text);
        data = malloc(size + 1);
        if (!data) cli_die("translate", NULL, "out of memory");
        memcpy(data, text, size + 1);
        name = "TEXT";
    }
    /* every sentence's ids first (a bad line fails before anything is printed) */
    size_t n = 0, cap = 0;
    int32_t **src = NULL;
    int *n_src = NULL;
    gptc_lines it = gptc_lines_of(data, size);
    const char *ln;
    size_t len;
    while (gptc_lines_next(&it, &ln, &len)) {
        int32_t *ids;
        int k;
        if (src_tokens) {
            ids = parse_ids(name, it.line, ln, len, c->vocab_size, &k);
        } else {
            int32_t *e;
            size_t ne;
            if (len && ln[len - 1] == '\r') len--;
            if (gptc_mt_encode(ctx, tok, GPTC_MT_SOURCE, ln, len, c->n_positions, &e, &ne))
                cli_die("translate", ctx, "%s:%zu", name, it.line);
            ids = malloc((ne ? ne : 1) * sizeof *ids);
            if (!ids) cli_die("translate", NULL, "out of memory");
            memcpy(ids, e, ne * sizeof *ids);
            gptc_free(e);
            k = (int)ne;
        }
        if (k > c->n_positions)
            cli_die("translate", NULL, "%s:%zu: %d source ids exceed max_position_embeddings %d", name, it.line, k,
                    c->n_positions);
        if (k == 0) cli_die("translate", NULL, "%s:%zu: no source ids", name, it.line);
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            int32_t **ns = realloc(src, cap * sizeof *ns);
            int *nn = ns ? realloc(n_src, cap * sizeof *nn) : NULL;
            if (ns) src = ns;
            if (!ns || !nn) cli_die("translate", NULL, "out of memory");
            n_src = nn;
        }
        src[n] = ids;
        n_src[n++] = k;
    }
    gptc_gen_result **res = calloc(n ? n : 1, sizeof *res);
    if (!res) cli_die("translate", NULL, "out of memory");
    /* windows of 16 batches: sorted by length within a window, printed when it is done
     * (a long input streams out, with progress on stderr) */
    size_t W = (size_t)batch_size * 16;
    cli_progress bar;
    if (n > W) cli_progress_start(&bar, "translate", (double)n, "sentences");
    for (size_t i = 0; i < n; i++) {
        if (i % W == 0) {
            size_t k = n - i < W ? n - i : W;
            if (gptc_translate_batch(ctx, m, (const int32_t *const *)src + i, n_src + i, k, (int)batch_size, &p,
                                     res + i)) {
                if (n > W) cli_progress_clear(&bar);
                cli_die("translate", ctx, "%s: sentences %zu-%zu", name, i + 1, i + k);
            }
            if (n > W) cli_progress_clear(&bar); /* the window's lines, then the bar again */
        }
        const gptc_gen_result *r = res[i];
        if (json) fputs("{\"sequences\": [", stdout);
        for (int k = 0; k < r->n_seq; k++) {
            const gptc_gen_sequence *q = &r->seqs[k];
            char *out = NULL;
            size_t ol = 0;
            if (tok && gptc_mt_decode(ctx, tok, q->tokens, (size_t)q->n_tokens, &out, &ol))
                cli_die("translate", ctx, "%s: sentence %zu", name, i + 1);
            if (json) {
                printf("%s{\"token_ids\": [", k ? ", " : "");
                for (int t = 0; t < q->n_tokens; t++) printf("%s%d", t ? ", " : "", q->tokens[t]);
                fputs("], \"text\": ", stdout);
                if (out) cli_json_bytes(stdout, out, ol);
                else fputs("null", stdout);
                printf(", \"score\": %.6g, \"finish_reason\": \"%s\"}", (double)q->score,
                       gptc_finish_reason_name(q->finish_reason));
            } else if (!out) {
                for (int t = 0; t < q->n_tokens; t++) printf("%s%d", t ? " " : "", q->tokens[t]);
                fputc('\n', stdout); /* no tokenizer: the ids */
            } else {
                /* one line per translation: a newline inside becomes a space */
                for (size_t b = 0; b < ol; b++)
                    if (out[b] == '\n' || out[b] == '\r') out[b] = ' ';
                fwrite(out, 1, ol, stdout);
                fputc('\n', stdout);
            }
            gptc_free(out);
        }
        if (json) fputs("]}\n", stdout);
        gptc_gen_result_free(res[i]);
        free(src[i]);
        if ((i + 1) % W == 0 || i + 1 == n) {
            fflush(stdout);
            if (n > W) cli_progress_update(&bar, (double)(i + 1), NULL, bar.tty || i + 1 == n);
        }
    }
    if (n > W) cli_progress_clear(&bar);
    free(res);
    free(src);
    free(n_src);
    if (fflush(stdout) || ferror(stdout)) cli_die("translate", NULL, "writing stdout: %s", strerror(errno));
    free(data);
    gptc_mt_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
