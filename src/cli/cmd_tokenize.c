/* cmd_tokenize.c: `gptc tokenize` (text -> token ids) and `gptc detokenize` (ids ->
 * text) with a model's tokenizer files, a tokenizer file, or a tiktoken encoding.
 * Tokenizing itself is in src/text/bpe*.c. */
#include "cli.h"
#include "gptc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *usage_tok =
    "usage: gptc tokenize [--model DIR | --tokenizer PATH | --encoding NAME] [--allow-special]\n"
    "                     [--json] [--count] [--threads N] [FILE...]\n"
    "\n"
    "Encodes text (each FILE, or stdin) into byte-level BPE token ids, printed separated by\n"
    "spaces with a newline at the end (one line per FILE). Ids are identical to tiktoken's.\n"
    "\n"
    "  --model DIR        the tokenizer files of a model directory (vocab.json + merges.txt,\n"
    "                     tokenizer.json, encoder.json + vocab.bpe or a .tiktoken file)\n"
    "  --tokenizer PATH   a tokenizer file or directory (same formats)\n"
    "  --encoding NAME    gpt2 (default), r50k_base, p50k_base, cl100k_base, o200k_base\n"
    "  --allow-special    recognize special tokens such as <|endoftext|> in the text\n"
    "                     (otherwise their text is encoded as ordinary text)\n"
    "  --json             print {\"ids\": [...], \"count\": N}\n"
    "  --count            print only the number of tokens\n"
    "  --threads N        threads for big inputs (default: all cores; 1 = single thread)\n"
    "\n"
    "example:\n"
    "  echo 'Hello world' | gptc tokenize            # -> 15496 995 198\n"
    "  gptc tokenize --encoding cl100k_base --count book.txt\n";

static const char *usage_detok =
    "usage: gptc detokenize [--model DIR | --tokenizer PATH | --encoding NAME] [FILE...]\n"
    "\n"
    "Decodes whitespace-separated token ids (each FILE, or stdin) and writes the raw text\n"
    "bytes to stdout (special tokens as their text).\n"
    "\n"
    "  --model DIR        the tokenizer files of a model directory\n"
    "  --tokenizer PATH   a tokenizer file or directory\n"
    "  --encoding NAME    gpt2 (default), r50k_base, p50k_base, cl100k_base, o200k_base\n"
    "\n"
    "example:\n"
    "  echo '15496 995' | gptc detokenize            # -> Hello world\n";

typedef struct tok_opts {
    const char *model, *tokenizer, *encoding;
} tok_opts;

static int parse_source(int argc, char **argv, int *i, tok_opts *o) {
    return cli_opt_str(argc, argv, i, "--model", &o->model) ||
           cli_opt_str(argc, argv, i, "--tokenizer", &o->tokenizer) ||
           cli_opt_str(argc, argv, i, "--encoding", &o->encoding);
}

static gptc_tokenizer *open_tokenizer(const char *cmd, gptc_ctx *ctx, const tok_opts *o) {
    int n = !!o->model + !!o->tokenizer + !!o->encoding;
    if (n > 1) cli_die(cmd, NULL, "give only one of --model, --tokenizer, --encoding");
    gptc_tokenizer *tok = NULL;
    gptc_status st = o->model       ? gptc_tokenizer_load(ctx, o->model, &tok)
                   : o->tokenizer   ? gptc_tokenizer_load(ctx, o->tokenizer, &tok)
                                    : gptc_tokenizer_from_encoding(ctx, o->encoding ? o->encoding : "gpt2", &tok);
    if (st) cli_die(cmd, ctx, NULL);
    return tok;
}

/* Whole input: a mapped file, or stdin read into memory. */
typedef struct input {
    gptc_mapped map;
    char *buf;
    const char *data;
    size_t size;
} input;

static void input_open(const char *cmd, gptc_ctx *ctx, const char *path, input *in) {
    memset(in, 0, sizeof *in);
    if (path && strcmp(path, "-")) {
        if (gptc_file_map(ctx, path, &in->map)) cli_die(cmd, ctx, NULL);
        in->data = (const char *)in->map.data;
        in->size = in->map.size;
        return;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) cli_die(cmd, NULL, "<stdin>: out of memory");
        size_t got = fread(b + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) free(b);
            b = nb;
            cap *= 2;
        }
    }
    if (ferror(stdin)) cli_die(cmd, NULL, "<stdin>: read error: %s", strerror(errno));
    in->buf = b;
    in->data = b;
    in->size = n;
}

static void input_close(input *in) {
    if (in->buf) free(in->buf);
    else gptc_file_unmap(&in->map);
}

/* Prints ids fast: one buffer, fwrite in blocks. */
static void print_ids(const int32_t *ids, size_t n, const char *sep) {
    char buf[1 << 16];
    size_t o = 0, sl = strlen(sep);
    for (size_t i = 0; i < n; i++) {
        if (o > sizeof buf - 32) {
            fwrite(buf, 1, o, stdout);
            o = 0;
        }
        if (i) {
            memcpy(buf + o, sep, sl);
            o += sl;
        }
        char tmp[12];
        int k = 0;
        uint32_t v = (uint32_t)ids[i];
        do tmp[k++] = (char)('0' + v % 10); while ((v /= 10));
        while (k) buf[o++] = tmp[--k];
    }
    fwrite(buf, 1, o, stdout);
}

int cmd_tokenize(int argc, char **argv) {
    tok_opts o = {0};
    int allow_special = 0, json = 0, count = 0;
    long threads = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    int nf = 0;
    if (!files) cli_die("tokenize", NULL, "out of memory");
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage_tok);
        if (parse_source(argc, argv, &i, &o)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--allow-special")) { allow_special = 1; continue; }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (cli_flag(argv, i, "--count")) { count = 1; continue; }
        if (argv[i][0] == '-' && argv[i][1]) cli_bad_option("tokenize", argv[i]);
        files[nf++] = argv[i];
    }
    gptc_ctx *ctx = cli_ctx("tokenize", (int)threads);
    gptc_tokenizer *tok = open_tokenizer("tokenize", ctx, &o);
    for (int f = 0; f < (nf ? nf : 1); f++) {
        const char *path = nf ? files[f] : "-";
        input in;
        input_open("tokenize", ctx, path, &in);
        int32_t *ids;
        size_t n;
        if (gptc_tokenizer_encode(ctx, tok, in.data, in.size, allow_special, &ids, &n))
            cli_die("tokenize", ctx, "%s", strcmp(path, "-") ? path : "<stdin>");
        if (json) {
            fputs("{\"ids\": [", stdout);
            if (!count) print_ids(ids, n, ", ");
            printf("], \"count\": %zu}\n", n);
        } else if (count) {
            printf("%zu\n", n);
        } else {
            print_ids(ids, n, " ");
            fputc('\n', stdout);
        }
        free(ids);
        input_close(&in);
    }
    if (fflush(stdout) || ferror(stdout)) cli_die("tokenize", NULL, "writing stdout: %s", strerror(errno));
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    free(files);
    return 0;
}

/* Whitespace-separated decimal ids of one input; messages name the file and line. */
static int32_t *parse_ids(const char *path, const char *s, size_t n, size_t *n_ids) {
    size_t cap = 1024, k = 0, line = 1;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) cli_die("detokenize", NULL, "out of memory");
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
            line += c == '\n';
            i++;
            continue;
        }
        size_t j = i;
        long long v = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9' && v <= INT32_MAX) v = v * 10 + (s[j++] - '0');
        int end_ok = j == n || s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n' || s[j] == ',';
        if (j == i || !end_ok || v > INT32_MAX) {
            size_t e = i;
            while (e < n && e - i < 20 && s[e] != ' ' && s[e] != '\n' && s[e] != '\t') e++;
            free(ids);
            cli_die("detokenize", NULL, "%s:%zu: '%.*s' is not a token id", path, line, (int)(e - i), s + i);
        }
        if (k == cap) {
            int32_t *ni = realloc(ids, cap * 2 * sizeof *ids);
            if (!ni) cli_die("detokenize", NULL, "out of memory");
            ids = ni;
            cap *= 2;
        }
        ids[k++] = (int32_t)v;
        i = j;
    }
    *n_ids = k;
    return ids;
}

int cmd_detokenize(int argc, char **argv) {
    tok_opts o = {0};
    const char **files = calloc((size_t)argc, sizeof *files);
    int nf = 0;
    if (!files) cli_die("detokenize", NULL, "out of memory");
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage_detok);
        if (parse_source(argc, argv, &i, &o)) continue;
        if (argv[i][0] == '-' && argv[i][1]) cli_bad_option("detokenize", argv[i]);
        files[nf++] = argv[i];
    }
    gptc_ctx *ctx = cli_ctx("detokenize", 1);
    gptc_tokenizer *tok = open_tokenizer("detokenize", ctx, &o);
    for (int f = 0; f < (nf ? nf : 1); f++) {
        const char *path = nf ? files[f] : "-";
        const char *name = strcmp(path, "-") ? path : "<stdin>";
        input in;
        input_open("detokenize", ctx, path, &in);
        size_t n;
        int32_t *ids = parse_ids(name, in.data, in.size, &n);
        char *text;
        size_t len;
        if (gptc_tokenizer_decode(ctx, tok, ids, n, &text, &len)) cli_die("detokenize", ctx, "%s", name);
        fwrite(text, 1, len, stdout);
        free(text);
        free(ids);
        input_close(&in);
    }
    if (fflush(stdout) || ferror(stdout)) cli_die("detokenize", NULL, "writing stdout: %s", strerror(errno));
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    free(files);
    return 0;
}
