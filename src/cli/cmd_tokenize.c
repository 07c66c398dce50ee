/* cmd_tokenize.c: `gptc tokenize` (text -> token ids) and `gptc detokenize` (ids ->
 * text) with a model's tokenizer files, a tokenizer file, a tiktoken encoding, or a
 * SentencePiece .model (line by line, as spm_encode/spm_decode). Tokenizing itself is
 * in src/text/bpe*.c and src/text/spm*.c. */
#include "cli.h"
#include "gptc.h"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage_tok =
    "usage: gptc tokenize [--model DIR|REPO | --tokenizer PATH|REPO | --encoding NAME] [--allow-special]\n"
    "                     [--json] [--count] [--threads N] [FILE...]\n"
    "       gptc tokenize [--model DIR|REPO | --tokenizer PATH|REPO] --pair FILE2 [--json] [FILE]\n"
    "       gptc tokenize --model DIR|REPO --chat FILE.jsonl [--add-generation-prompt] [--json] [--count]\n"
    "       gptc tokenize --tokenizer FILE.model [--pieces] [--json] [--count] [FILE...]\n"
    "       gptc tokenize --model TRANSLATION_DIR [--target] [--json] [--count] [FILE...]\n"
    "\n"
    "Encodes text (each FILE, or stdin) into token ids, printed separated by spaces with a\n"
    "newline at the end (one line per FILE). Byte-level BPE ids are identical to tiktoken's.\n"
    "A WordPiece tokenizer (a BERT directory: vocab.txt, tokenizer.json) prints what\n"
    "BertTokenizer's tokenizer(text)[\"input_ids\"] gives: [CLS] ... [SEP] around the text,\n"
    "special tokens such as [MASK] in the text recognized.\n"
    "\n"
    "With --pair FILE2 the input is a text pair, as a model gets it: WordPiece\n"
    "[CLS] A [SEP] B [SEP] (tokenizer(a, b)), byte-level BPE A <|endoftext|> B; --json adds the\n"
    "token_type_ids.\n"
    "\n"
    "With a SentencePiece model (--tokenizer FILE.model or FILE.spm: unigram or BPE), every\n"
    "line of the input is one sentence and gets one line of ids, as spm_encode prints them\n"
    "(normalization, byte fallback and unknown pieces as the sentencepiece library does).\n"
    "\n"
    "With a translation model (a directory with source.spm, target.spm and vocab.json, as\n"
    "OPUS-MT ships them, or a model_type \"marian\" directory with gptc's BPE), every line is\n"
    "one sentence and gets one line of ids as MarianTokenizer gives them: the source side's\n"
    "pieces mapped through vocab.json (unknown pieces -> <unk>) and </s>; --target encodes\n"
    "with the target side (text_target=...).\n"
    "\n"
    "With --chat, each line of FILE.jsonl ({\"messages\": [{\"role\": ..., \"content\": ...}, ...]})\n"
    "is one conversation, rendered with the model's chat template (ChatML) and printed as one\n"
    "line of ids: Hugging Face's apply_chat_template(messages, tokenize=True).\n"
    "\n"
    "  --model DIR|REPO   the tokenizer files of a model directory (vocab.json + merges.txt,\n"
    "                     tokenizer.json, encoder.json + vocab.bpe or a .tiktoken file)\n"
    "  --tokenizer PATH|REPO  a tokenizer file or directory (same formats), or a SentencePiece\n"
    "                     model: a file named *.model or *.spm\n"
    "  --encoding NAME    gpt2 (default), r50k_base, p50k_base, cl100k_base, o200k_base\n"
    "  --target           (translation model) encode as the target side (labels)\n"
    "  --pieces           (SentencePiece) print the pieces instead of the ids, as\n"
    "                     spm_encode --output_format=piece; with --json both are printed\n"
    "  --allow-special    recognize special tokens such as <|endoftext|> in the text\n"
    "                     (otherwise their text is encoded as ordinary text; WordPiece always\n"
    "                     recognizes them, as BertTokenizer does)\n"
    "  --pair FILE2       the second text of a pair (FILE or stdin is the first)\n"
    "  --json             print {\"ids\": [...], \"count\": N} (WordPiece and --pair: also\n"
    "                     \"token_type_ids\")\n"
    "  --count            print only the number of tokens\n"
    "  --threads N        threads for big inputs (default: all cores; 1 = single thread)\n"
    "  --chat FILE.jsonl  conversations to render with the chat template (needs --model DIR|REPO or\n"
    "                     --tokenizer DIR; its tokenizer_config.json's chat_template, when it\n"
    "                     has one, must be the ChatML template gptc writes)\n"
    "  --add-generation-prompt  end each conversation with \"<|im_start|>assistant\\n\" (as in\n"
    "                     Hugging Face)\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  echo 'Hello world' | gptc tokenize            # -> 15496 995 198\n"
    "  gptc tokenize --encoding cl100k_base --count book.txt\n"
    "  gptc tokenize --model out/chat --chat dialogs.jsonl --add-generation-prompt\n"
    "  gptc tokenize --tokenizer source.spm sentences.txt   # one line of ids per line\n"
    "  gptc tokenize --model opus-mt-en-ko sentences.txt     # ids + </s>, one line each\n"
    "  echo 'The capital of France is [MASK].' | gptc tokenize --model bert-base-uncased\n"
    "                                                # -> 101 1996 3007 1997 2605 2003 103 1012 102\n";

static const char *usage_detok =
    "usage: gptc detokenize [--model DIR|REPO | --tokenizer PATH|REPO | --encoding NAME] [FILE...]\n"
    "\n"
    "Decodes whitespace-separated token ids (each FILE, or stdin) and writes the raw text\n"
    "bytes to stdout (special tokens as their text). With a SentencePiece model each line\n"
    "of ids is one sentence and becomes one line of text, as spm_decode writes it; with a\n"
    "translation model directory (--model DIR, see gptc tokenize --help) each line is decoded\n"
    "as MarianTokenizer.decode(ids, skip_special_tokens=True) on the target side.\n"
    "\n"
    "  --model DIR|REPO   the tokenizer files of a model directory\n"
    "  --tokenizer PATH|REPO  a tokenizer file or directory, or a SentencePiece *.model / *.spm\n"
    "  --encoding NAME    gpt2 (default), r50k_base, p50k_base, cl100k_base, o200k_base\n"
    "\n"
    "example:\n"
    "  echo '15496 995' | gptc detokenize            # -> Hello world\n"
    "  gptc detokenize --tokenizer target.spm ids.txt\n";

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
    gptc_status st = o->model       ? gptc_tokenizer_load(ctx, cli_tokenizer(cmd, o->model), &tok)
                   : o->tokenizer   ? gptc_tokenizer_load(ctx, cli_tokenizer(cmd, o->tokenizer), &tok)
                                    : gptc_tokenizer_from_encoding(ctx, o->encoding ? o->encoding : "gpt2", &tok);
    if (st) cli_die(cmd, ctx, NULL);
    return tok;
}

/* A translation model directory: source.spm there, or config.json's model_type "marian". */
static int is_mt_dir(const char *dir) {
    char p[4200];
    snprintf(p, sizeof p, "%s/source.spm", dir);
    if (gptc_file_exists(p)) return 1;
    snprintf(p, sizeof p, "%s/config.json", dir);
    json_t *c = json_load_file(p, 0, NULL);
    int r = json_is_string(json_object_get(c, "model_type")) &&
            !strcmp(json_string_value(json_object_get(c, "model_type")), "marian");
    json_decref(c);
    return r;
}

static gptc_mt_tokenizer *open_mt(const char *cmd, gptc_ctx *ctx, const char *dir) {
    gptc_mt_tokenizer *t;
    if (gptc_mt_tokenizer_load(ctx, dir, &t)) cli_die(cmd, ctx, NULL);
    return t;
}

/* A SentencePiece model is named *.model or *.spm (OPUS-MT's source.spm/target.spm). */
static int is_spm_path(const char *p) {
    size_t n = p ? strlen(p) : 0;
    return (n > 6 && !strcmp(p + n - 6, ".model")) || (n > 4 && !strcmp(p + n - 4, ".spm"));
}

static gptc_spm *open_spm(const char *cmd, gptc_ctx *ctx, const char *path) {
    gptc_spm *spm;
    if (gptc_spm_load(ctx, path, &spm)) cli_die(cmd, ctx, NULL);
    return spm;
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
    struct stat sb;
    FILE *f = stdin;
    const char *name = "<stdin>";
    if (path && strcmp(path, "-")) {
        /* a regular file is mapped; a pipe or device (<(...), /dev/stdin) is read */
        if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) {
            if (gptc_file_map(ctx, path, &in->map)) cli_die(cmd, ctx, NULL);
            in->data = (const char *)in->map.data;
            in->size = in->map.size;
            return;
        }
        if (!(f = fopen(path, "rb"))) cli_die(cmd, NULL, "%s: cannot open: %s", path, strerror(errno));
        name = path;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) cli_die(cmd, NULL, "%s: out of memory", name);
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) free(b);
            b = nb;
            cap *= 2;
        }
    }
    if (ferror(f)) cli_die(cmd, NULL, "%s: read error: %s", name, strerror(errno));
    if (f != stdin) fclose(f);
    in->buf = b;
    in->data = b;
    in->size = n;
}

static void input_close(input *in) {
    if (in->buf) free(in->buf);
    else gptc_file_unmap(&in->map);
}

/* An input read line by line ('\n' ends a line, as std::getline; a last line without
 * one counts, an empty rest after the last '\n' does not); name and line for messages. */
typedef struct lines {
    input in;
    const char *name;
    size_t pos, line;
} lines;

static void lines_open(const char *cmd, gptc_ctx *ctx, const char *path, lines *l) {
    input_open(cmd, ctx, path, &l->in);
    l->name = strcmp(path, "-") ? path : "<stdin>";
    l->pos = l->line = 0;
}

/* The next line: [*s, *s + *len), and 1; 0 at the end. */
static int lines_next(lines *l, const char **s, size_t *len) {
    if (l->pos >= l->in.size) return 0;
    *s = l->in.data + l->pos;
    const char *nl = memchr(*s, '\n', l->in.size - l->pos);
    *len = nl ? (size_t)(nl - *s) : l->in.size - l->pos;
    l->pos += *len + 1;
    l->line++;
    return 1;
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

static void print_result(const int32_t *ids, const int32_t *types, size_t n, int json, int count) {
    if (json) {
        fputs("{\"ids\": [", stdout);
        if (!count) print_ids(ids, n, ", ");
        if (types && !count) {
            fputs("], \"token_type_ids\": [", stdout);
            print_ids(types, n, ", ");
        }
        printf("], \"count\": %zu}\n", n);
    } else if (count) {
        printf("%zu\n", n);
    } else {
        print_ids(ids, n, " ");
        fputc('\n', stdout);
    }
}

/* SentencePiece: one output line per input line ('\n' ends a line, as std::getline in
 * spm_encode; a last line without it counts, an empty rest after the last does not). */
static void tokenize_spm(gptc_ctx *ctx, const gptc_spm *spm, const char *path, int json, int count, int pieces) {
    lines in;
    lines_open("tokenize", ctx, path, &in);
    const char *s;
    size_t len;
    while (lines_next(&in, &s, &len)) {
        gptc_spm_pieces p;
        if (gptc_spm_encode_pieces(ctx, spm, s, len, &p)) cli_die("tokenize", ctx, "%s:%zu", in.name, in.line);
        if (json && !count) {
            fputs("{\"ids\": [", stdout);
            print_ids(p.ids, p.n, ", ");
            fputs("], \"pieces\": [", stdout);
            for (size_t k = 0; k < p.n; k++) {
                if (k) fputs(", ", stdout);
                cli_json_bytes(stdout, p.text + p.offsets[k], p.offsets[k + 1] - p.offsets[k]);
            }
            printf("], \"count\": %zu}\n", p.n);
        } else if (pieces && !count) {
            for (size_t k = 0; k < p.n; k++) {
                if (k) fputc(' ', stdout);
                fwrite(p.text + p.offsets[k], 1, p.offsets[k + 1] - p.offsets[k], stdout);
            }
            fputc('\n', stdout);
        } else {
            print_result(p.ids, NULL, p.n, json, count);
        }
        gptc_spm_pieces_free(&p);
    }
    input_close(&in.in);
}

/* Translation model: one line of ids (+ </s>) per input line. */
static void tokenize_mt(gptc_ctx *ctx, const gptc_mt_tokenizer *t, const char *path, int side, int json, int count) {
    lines in;
    lines_open("tokenize", ctx, path, &in);
    const char *s;
    size_t len, n;
    while (lines_next(&in, &s, &len)) {
        int32_t *ids;
        if (gptc_mt_encode(ctx, t, side, s, len, 0, &ids, &n)) cli_die("tokenize", ctx, "%s:%zu", in.name, in.line);
        print_result(ids, NULL, n, json, count);
        gptc_free(ids);
    }
    input_close(&in.in);
}

/* The model's vocab_size (dir/config.json), or the tokenizer's when there is no model:
 * the chat markers may be ids past the tokenizer's vocabulary (gptc_chat_tokens_resolve). */
static int chat_vocab_size(const char *dir, const gptc_tokenizer *tok) {
    char p[4096];
    snprintf(p, sizeof p, "%s/config.json", dir);
    json_t *c = json_load_file(p, 0, NULL);
    json_t *v = json_object_get(c, "vocab_size");
    int n = json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < (1 << 24)
                ? (int)json_integer_value(v) : (int)gptc_tokenizer_n_vocab(tok);
    json_decref(c);
    return n;
}

/* Refuses a chat_template gptc cannot render (it renders ChatML only). */
static void chat_template_check(const char *dir, const gptc_chat_tokens *ct) {
    char p[4096];
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    json_error_t err;
    json_t *c = gptc_file_exists(p) ? json_load_file(p, 0, &err) : NULL;
    if (gptc_file_exists(p) && !c) cli_die("tokenize", NULL, "%s:%d:%d: %s", p, err.line, err.column, err.text);
    json_t *t = json_object_get(c, "chat_template");
    if (t && !json_is_null(t) && !(json_is_string(t) && !strcmp(json_string_value(t), gptc_chatml_template))) {
        json_decref(c);
        cli_die("tokenize", NULL, "%s: chat_template is not the ChatML template gptc writes; gptc renders only "
                "ChatML (\"<|im_start|>role\\ncontent<|im_end|>\\n\")", p);
    }
    if (ct->im_start < 0 || ct->beyond_vocab)
        fprintf(stderr, "gptc tokenize: note: the tokenizer has no <|im_start|>/<|im_end|> special tokens; the markers "
                "are %s (as gptc finetune/chat use them)\n",
                ct->beyond_vocab ? "the two ids past its vocabulary" : "encoded as text");
    json_decref(c);
}

/* --chat: one conversation per JSONL line -> one line of ids. */
static void tokenize_chat(gptc_ctx *ctx, const gptc_tokenizer *tok, const char *dir, const char *path, int gen,
                          int json, int count) {
    gptc_chat_tokens ct;
    gptc_chat_tokens_resolve(tok, chat_vocab_size(dir, tok), &ct);
    chat_template_check(dir, &ct);
    lines in;
    lines_open("tokenize", ctx, path, &in);
    const char *s;
    size_t len;
    while (lines_next(&in, &s, &len)) {
        size_t k = 0;
        while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
        if (k == len) continue;
        json_error_t err;
        json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
        if (!root) cli_die("tokenize", NULL, "%s:%zu:%d: %s", in.name, in.line, err.column, err.text);
        json_t *msgs = json_object_get(root, "messages");
        if (!json_is_array(msgs)) cli_die("tokenize", NULL, "%s:%zu: expected {\"messages\": [...]}", in.name, in.line);
        size_t n = json_array_size(msgs);
        if (n > (1u << 20)) cli_die("tokenize", NULL, "%s:%zu: too many messages (%zu)", in.name, in.line, n);
        gptc_chat_message *m = calloc(n + 1, sizeof *m);
        if (!m) cli_die("tokenize", NULL, "out of memory");
        for (size_t j = 0; j < n; j++) {
            json_t *e = json_array_get(msgs, j);
            m[j].role = json_string_value(json_object_get(e, "role"));
            m[j].content = json_string_value(json_object_get(e, "content"));
            if (!m[j].role || !m[j].content)
                cli_die("tokenize", NULL, "%s:%zu: messages[%zu] needs \"role\" and \"content\" strings", in.name, in.line,
                        j);
        }
        int32_t *ids;
        size_t n_ids;
        if (gptc_chat_encode(ctx, tok, &ct, m, (int)n, gen, &ids, &n_ids, NULL))
            cli_die("tokenize", ctx, "%s:%zu", in.name, in.line);
        print_result(ids, NULL, n_ids, json, count);
        free(ids);
        free(m);
        json_decref(root);
    }
    input_close(&in.in);
}

int cmd_tokenize(int argc, char **argv) {
    tok_opts o = {0};
    int allow_special = 0, json = 0, count = 0, gen_prompt = 0, pieces = 0, target = 0;
    const char *chat = NULL, *pair = NULL;
    long threads = 0;
    int threads_given = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    int nf = 0;
    if (!files) cli_die("tokenize", NULL, "out of memory");
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage_tok);
        if (parse_source(argc, argv, &i, &o)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) { threads_given = 1; continue; }
        if (cli_flag(argv, i, "--allow-special")) { allow_special = 1; continue; }
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (cli_flag(argv, i, "--count")) { count = 1; continue; }
        if (cli_flag(argv, i, "--pieces")) { pieces = 1; continue; }
        if (cli_flag(argv, i, "--target")) { target = 1; continue; }
        if (cli_flag(argv, i, "--add-generation-prompt")) { gen_prompt = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--chat", &chat)) continue;
        if (cli_opt_str(argc, argv, &i, "--pair", &pair)) continue;
        if (argv[i][0] == '-' && argv[i][1]) cli_bad_option("tokenize", argv[i]);
        files[nf++] = argv[i];
    }
    if (chat && (nf || allow_special))
        cli_die("tokenize", NULL, "--chat FILE.jsonl takes no other input files and no --allow-special");
    if (gen_prompt && !chat) cli_die("tokenize", NULL, "--add-generation-prompt needs --chat FILE.jsonl");
    if (pair && (chat || nf > 1))
        cli_die("tokenize", NULL, "--pair FILE2 takes one first text (FILE or stdin) and no --chat");
    if (chat && !o.model && !o.tokenizer)
        cli_die("tokenize", NULL, "--chat needs --model DIR (or --tokenizer DIR): the chat template is the model's");
    int spm_mode = !o.model && !o.encoding && is_spm_path(o.tokenizer);
    if (spm_mode && (chat || allow_special || threads_given))
        cli_die("tokenize", NULL, "%s is a SentencePiece model: --chat, --allow-special and --threads do not apply to "
                "it", o.tokenizer);
    if (pieces && !spm_mode) cli_die("tokenize", NULL, "--pieces needs a SentencePiece model (--tokenizer FILE.model)");
    gptc_ctx *ctx = cli_ctx("tokenize", (int)threads);
    if (spm_mode) {
        gptc_spm *spm = open_spm("tokenize", ctx, o.tokenizer);
        for (int f = 0; f < (nf ? nf : 1); f++) tokenize_spm(ctx, spm, nf ? files[f] : "-", json, count, pieces);
        if (fflush(stdout) || ferror(stdout)) cli_die("tokenize", NULL, "writing stdout: %s", strerror(errno));
        gptc_spm_free(spm);
        gptc_ctx_free(ctx);
        free(files);
        return 0;
    }
    const char *mt_dir = o.model ? cli_tokenizer("tokenize", o.model) : NULL;
    int mt_mode = mt_dir && is_mt_dir(mt_dir);
    if (target && !mt_mode) cli_die("tokenize", NULL, "--target needs a translation model directory (--model DIR)");
    if (mt_mode) {
        if (chat || pair || allow_special || pieces)
            cli_die("tokenize", NULL, "%s is a translation model: --chat, --pair, --allow-special and --pieces do not "
                    "apply to it", o.model);
        gptc_mt_tokenizer *t = open_mt("tokenize", ctx, mt_dir);
        for (int f = 0; f < (nf ? nf : 1); f++)
            tokenize_mt(ctx, t, nf ? files[f] : "-", target ? GPTC_MT_TARGET : GPTC_MT_SOURCE, json, count);
        if (fflush(stdout) || ferror(stdout)) cli_die("tokenize", NULL, "writing stdout: %s", strerror(errno));
        gptc_mt_tokenizer_free(t);
        gptc_ctx_free(ctx);
        free(files);
        return 0;
    }
    gptc_tokenizer *tok = open_tokenizer("tokenize", ctx, &o);
    if (chat) {
        tokenize_chat(ctx, tok, o.model ? o.model : o.tokenizer, chat, gen_prompt, json, count);
    }
    for (int f = 0; !chat && f < (nf ? nf : 1); f++) {
        const char *path = nf ? files[f] : "-";
        input in;
        input_open("tokenize", ctx, path, &in);
        int32_t *ids, *types = NULL;
        size_t n;
        if (pair || gptc_tokenizer_kind(tok) == GPTC_TOKENIZER_WORDPIECE) {
            /* a model's input: [CLS] A [SEP] (B [SEP]) or A <|endoftext|> B */
            input in2 = {0};
            if (pair) input_open("tokenize", ctx, pair, &in2);
            if (gptc_tokenizer_encode_pair(ctx, tok, in.data, in.size, pair ? (in2.data ? in2.data : "") : NULL, in2.size, 0, &ids,
                                           &types, &n))
                cli_die("tokenize", ctx, "%s", strcmp(path, "-") ? path : "<stdin>");
            if (pair) input_close(&in2);
        } else if (gptc_tokenizer_encode(ctx, tok, in.data, in.size, allow_special, &ids, &n)) {
            cli_die("tokenize", ctx, "%s", strcmp(path, "-") ? path : "<stdin>");
        }
        print_result(ids, types, n, json, count);
        free(ids);
        free(types);
        input_close(&in);
    }
    if (fflush(stdout) || ferror(stdout)) cli_die("tokenize", NULL, "writing stdout: %s", strerror(errno));
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    free(files);
    return 0;
}

/* Whitespace-separated decimal ids of one input; messages name the file and line. */
static int32_t *parse_ids(const char *path, size_t first_line, const char *s, size_t n, size_t *n_ids) {
    size_t cap = 1024, k = 0, line = first_line;
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

/* Each line of ids -> one line of text, by decode (the SentencePiece model's, as
 * spm_decode --input_format=id, or a translation model's target side). */
typedef gptc_status (*line_decode_fn)(gptc_ctx *ctx, const void *tok, const int32_t *ids, size_t n, char **text,
                                      size_t *len);
static gptc_status decode_spm(gptc_ctx *ctx, const void *t, const int32_t *ids, size_t n, char **text, size_t *len) {
    return gptc_spm_decode(ctx, t, ids, n, text, len);
}
static gptc_status decode_mt(gptc_ctx *ctx, const void *t, const int32_t *ids, size_t n, char **text, size_t *len) {
    char *g;
    gptc_status st = gptc_mt_decode(ctx, t, ids, n, &g, len);
    if (st) return st;
    if (!(*text = malloc(*len + 1))) cli_die("detokenize", NULL, "out of memory");
    memcpy(*text, g, *len + 1);
    gptc_free(g);
    return GPTC_OK;
}

static void detokenize_lines(gptc_ctx *ctx, line_decode_fn decode, const void *tok, const char *path) {
    lines in;
    lines_open("detokenize", ctx, path, &in);
    const char *s;
    size_t len, n;
    while (lines_next(&in, &s, &len)) {
        int32_t *ids = parse_ids(in.name, in.line, s, len, &n);
        char *text;
        size_t tl;
        gptc_status st = decode(ctx, tok, ids, n, &text, &tl);
        free(ids);
        if (st) cli_die("detokenize", ctx, "%s:%zu", in.name, in.line);
        fwrite(text, 1, tl, stdout);
        fputc('\n', stdout);
        free(text);
    }
    input_close(&in.in);
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
    if (!o.model && !o.encoding && is_spm_path(o.tokenizer)) {
        gptc_spm *spm = open_spm("detokenize", ctx, o.tokenizer);
        for (int f = 0; f < (nf ? nf : 1); f++) detokenize_lines(ctx, decode_spm, spm, nf ? files[f] : "-");
        if (fflush(stdout) || ferror(stdout)) cli_die("detokenize", NULL, "writing stdout: %s", strerror(errno));
        gptc_spm_free(spm);
        gptc_ctx_free(ctx);
        free(files);
        return 0;
    }
    const char *mt_dir = o.model ? cli_tokenizer("detokenize", o.model) : NULL;
    if (mt_dir && is_mt_dir(mt_dir)) {
        gptc_mt_tokenizer *t = open_mt("detokenize", ctx, mt_dir);
        for (int f = 0; f < (nf ? nf : 1); f++) detokenize_lines(ctx, decode_mt, t, nf ? files[f] : "-");
        if (fflush(stdout) || ferror(stdout)) cli_die("detokenize", NULL, "writing stdout: %s", strerror(errno));
        gptc_mt_tokenizer_free(t);
        gptc_ctx_free(ctx);
        free(files);
        return 0;
    }
    gptc_tokenizer *tok = open_tokenizer("detokenize", ctx, &o);
    for (int f = 0; f < (nf ? nf : 1); f++) {
        const char *path = nf ? files[f] : "-";
        const char *name = strcmp(path, "-") ? path : "<stdin>";
        input in;
        input_open("detokenize", ctx, path, &in);
        size_t n;
        int32_t *ids = parse_ids(name, 1, in.data, in.size, &n);
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
