/* cmd_tokenizer_train.c: `gptc tokenizer-train`: learns a GPT-2-style byte-level BPE
 * vocabulary from text files and writes vocab.json + merges.txt into a directory.
 * Counting and merging are the library's (text/bpe_train.h); this file parses and prints. */
#define _POSIX_C_SOURCE 200809L
#include "gptc.h"
#include "cli.h"
#include "progress.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *usage =
    "usage: gptc tokenizer-train --input FILE... --vocab-size N --out DIR [--special TOKEN...]\n"
    "                            [--no-chat-markers | --no-default-special] [--min-frequency N]\n"
    "                            [--threads N]\n"
    "       gptc tokenizer-train --model wordpiece --input FILE... --vocab-size N --out DIR\n"
    "                            [--lowercase] [--limit-alphabet N] [--min-frequency N]\n"
    "                            [--special TOKEN...] [--no-default-special]\n"
    "\n"
    "Learns a byte-level BPE vocabulary (GPT-2's: same pre-tokenization pattern, same byte\n"
    "alphabet) from text files and writes DIR/vocab.json, DIR/merges.txt and, with special\n"
    "tokens, DIR/special_tokens_map.json: Hugging Face's files, loadable by `gptc tokenize\n"
    "--model DIR`. Ids 0..255 are the bytes, then learned tokens in the order learned, then\n"
    "the special tokens. Each file is pre-tokenized as one text; special tokens found in the\n"
    "text are cut out and not learned.\n"
    "\n"
    "  --input FILE...      text files (UTF-8; other bytes are learned byte-wise)\n"
    "  --vocab-size N       tokens in all: 256 bytes + merges + special tokens\n"
    "  --out DIR            output directory (created)\n"
    "  --special TOKEN...   more special tokens, e.g. '<|pad|>' (ids after the learned ones and\n"
    "                       after the default ones: <|endoftext|>, <|im_start|>, <|im_end|>, so\n"
    "                       the vocabulary is ready for `gptc finetune --task chat`)\n"
    "  --no-chat-markers    leave out <|im_start|> and <|im_end|> (keeps <|endoftext|>)\n"
    "  --no-default-special leave out all three default special tokens\n"
    "  --min-frequency N    merge only pairs seen at least N times (default 2); training\n"
    "                       stops early when no pair is that frequent\n"
    "  --threads N          threads for pre-tokenization (default: all cores)\n"
    "  --dump-words FILE    debugging aid: write the word counts (\"count<TAB>hex bytes\",\n"
    "                       sorted by bytes) that training starts from\n"
    "  --chunk-size BYTES   debugging aid: bytes of text per thread task (default 1 MiB)\n"
    "\n"
    "Ties between pairs of equal count go to the pair whose (left bytes, right bytes) is\n"
    "smallest. See docs/tokenizer_training.md.\n"
    "\n"
    "--model wordpiece: a BERT vocabulary as Hugging Face tokenizers' WordPieceTrainer (and\n"
    "BertWordPieceTokenizer.train's defaults) learns it: words as BertTokenizer splits them\n"
    "(--lowercase: lower case, accents stripped, as do_lower_case), ids [PAD] [UNK] [CLS]\n"
    "[SEP] [MASK] (then --special's), the alphabet in code point order, the \"##\" forms of\n"
    "characters that continue words, then a token per merge of the most frequent pair (ties:\n"
    "the pair of smaller ids). Writes vocab.txt, tokenizer_config.json, tokenizer.json and\n"
    "special_tokens_map.json (BertTokenizer's files; `gptc init --arch bert` takes the size).\n"
    "  --model bpe|wordpiece   (default bpe)\n"
    "  --lowercase             wordpiece: do_lower_case (lower case + accents stripped)\n"
    "  --limit-alphabet N      wordpiece: keep the N most frequent characters (default 1000;\n"
    "                          0: all); words keep their other characters out\n"
    "  --min-frequency N       wordpiece: as above (default 2)\n"
    "  --no-default-special    wordpiece: no [PAD] [UNK] [CLS] [SEP] [MASK] (BertTokenizer's\n"
    "                          role tokens are then appended to vocab.txt, as transformers does)\n"
    "  --dump-merges FILE      wordpiece debugging aid: per merge \"token<TAB>count<TAB>unique\"\n"
    "                          (unique 1: no other pair had that count)\n"
    "\n"
    "example:\n"
    "  gptc tokenizer-train --input corpus/*.txt --vocab-size 32000 --out my-tokenizer &&\n"
    "      echo 'Hello world' | gptc tokenize --model my-tokenizer\n";

typedef struct prog_state {
    cli_progress bar;
    int started[2];
} prog_state;

static void on_progress(void *user, int phase, uint64_t done, uint64_t total) {
    prog_state *ps = user;
    if (!ps->started[phase]) {
        if (phase == GPTC_BPE_PHASE_MERGE && ps->started[0]) cli_progress_clear(&ps->bar);
        ps->started[phase] = 1;
        if (phase == GPTC_BPE_PHASE_COUNT) cli_progress_start(&ps->bar, "pre-tokenize", (double)total / 1e6, "MB");
        else cli_progress_start(&ps->bar, "merge", (double)total, "tokens");
    }
    if (cli_now() - ps->bar.t0 < 0.25) return; /* no rate from the first milliseconds */
    double d = phase == GPTC_BPE_PHASE_COUNT ? (double)done / 1e6 : (double)done;
    cli_progress_update(&ps->bar, d, NULL, 0);
}

/* Fails early (before minutes of training) when DIR cannot be created or written. */
static int out_dir_writable(const char *dir, char *why, size_t cap) {
    char path[4096];
    if (strlen(dir) >= sizeof path) {
        snprintf(why, cap, "path too long");
        return 0;
    }
    strcpy(path, dir);
    struct stat st;
    for (;;) {
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                snprintf(why, cap, "%s exists and is not a directory", path);
                return 0;
            }
            if (access(path, W_OK | X_OK) != 0) {
                snprintf(why, cap, "%s: %s", path, strerror(errno));
                return 0;
            }
            return 1;
        }
        char *slash = strrchr(path, '/');
        while (slash && slash > path && slash[1] == 0) { /* trailing slashes */
            *slash = 0;
            slash = strrchr(path, '/');
        }
        if (!slash) {
            strcpy(path, ".");
        } else if (slash == path) {
            path[1] = 0;
        } else {
            *slash = 0;
        }
    }
}

/* --model wordpiece (text/wp_train.c) */
static int train_wordpiece(const char *const *inputs, size_t n_in, long vocab, long min_freq, long limit, int lowercase,
                           const char *const *special, size_t n_sp, const char *out, const char *dump) {
    gptc_ctx *ctx = cli_ctx("tokenizer-train", 1);
    gptc_wp_train_params p;
    gptc_wp_train_default_params(&p);
    p.vocab_size = (size_t)vocab;
    p.min_frequency = (uint64_t)min_freq;
    p.limit_alphabet = (size_t)limit;
    p.lowercase = lowercase;
    p.special = special;
    p.n_special = n_sp;
    gptc_wp_trainer *t = NULL;
    double t0 = cli_now();
    uint64_t bytes = 0;
    if (gptc_wp_trainer_new(ctx, &p, &t)) cli_die("tokenizer-train", ctx, NULL);
    for (size_t f = 0; f < n_in; f++) {
        char *data;
        size_t n;
        if (gptc_file_read(ctx, inputs[f], &data, &n) || gptc_wp_trainer_feed(ctx, t, data, n))
            cli_die("tokenizer-train", ctx, "--input %s", inputs[f]);
        gptc_free(data);
        bytes += n;
    }
    if (!gptc_wp_trainer_words(t))
        cli_die("tokenizer-train", NULL, "no text to train on: the input%s %s%s empty", n_in > 1 ? "s" : "", inputs[0],
                n_in > 1 ? ", ... are" : " is");
    if (gptc_wp_trainer_train(ctx, t)) cli_die("tokenizer-train", ctx, NULL);
    const gptc_wp_merge *mg;
    const char *const *toks;
    size_t nm = gptc_wp_trainer_merges(t, &mg), nv = gptc_wp_trainer_vocab(t, &toks);
    if (dump) {
        FILE *f = fopen(dump, "w");
        if (!f) cli_die("tokenizer-train", NULL, "--dump-merges %s: cannot write", dump);
        for (size_t i = 0; i < nm; i++)
            fprintf(f, "%s\t%llu\t%d\n", toks[mg[i].token], (unsigned long long)mg[i].count, mg[i].unique);
        if (fclose(f)) cli_die("tokenizer-train", NULL, "--dump-merges %s: write failed", dump);
    }
    gptc_outdir od;
    if (gptc_outdir_begin(ctx, &od, out, gptc_tokenizer_dir_names)) cli_die("tokenizer-train", ctx, NULL);
    if (gptc_wp_trainer_save(ctx, t, od.tmp) || gptc_outdir_commit(ctx, &od)) {
        gptc_outdir_abort(&od);
        cli_die("tokenizer-train", ctx, NULL);
    }
    if (nv > (size_t)vocab)
        fprintf(stderr, "gptc tokenizer-train: note: %zu tokens (asked for %ld): the special tokens, the alphabet and "
                "its \"##\" forms alone are that many (--limit-alphabet bounds the alphabet)\n", nv, vocab);
    else if (nv < (size_t)vocab)
        fprintf(stderr, "gptc tokenizer-train: note: stopped at %zu tokens (asked for %ld): no pair occurs "
                "--min-frequency %ld times any more\n", nv, vocab, min_freq);
    printf("tokenizer-train: wordpiece, %zu distinct words in %.1f MB, %zu merges, %zu tokens -> %s; %.2f s\n",
           gptc_wp_trainer_words(t), (double)bytes / 1e6, nm, nv, out, cli_now() - t0);
    gptc_wp_trainer_free(t);
    gptc_ctx_free(ctx);
    return 0;
}

int cmd_tokenizer_train(int argc, char **argv) {
    const char *out = NULL, *dump = NULL, *model = "bpe", *dump_merges = NULL;
    long vocab = 0, min_freq = 2, threads = 0, chunk = 0, limit = 1000;
    int lowercase = 0, bpe_only = 0;
    const char *inputs[argc + 1], *special[argc + 4]; /* at most argc of each, + the defaults */
    const char *extra[argc + 1];
    size_t n_in = 0, n_sp = 0, n_extra = 0;
    int chat_markers = 1, defaults = 1;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        const char *v;
        if (cli_opt_str(argc, argv, &i, "--input", &v)) {
            inputs[n_in++] = v;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) inputs[n_in++] = argv[++i];
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--special", &v)) {
            extra[n_extra++] = v;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) extra[n_extra++] = argv[++i];
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--model", &model)) {
            if (strcmp(model, "bpe") && strcmp(model, "wordpiece"))
                cli_die("tokenizer-train", NULL, "--model %s: expected bpe or wordpiece", model);
            continue;
        }
        if (cli_flag(argv, i, "--lowercase")) { lowercase = 1; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--limit-alphabet", 0, INT_MAX, &limit)) continue;
        if (cli_opt_str(argc, argv, &i, "--dump-merges", &dump_merges)) continue;
        if (cli_flag(argv, i, "--no-chat-markers")) { chat_markers = 0; bpe_only = 1; continue; }
        if (cli_flag(argv, i, "--no-default-special")) { defaults = 0; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--vocab-size", 1, INT_MAX, &vocab)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--min-frequency", 1, LONG_MAX, &min_freq)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) { bpe_only = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--dump-words", &dump)) { bpe_only = 1; continue; }
        if (cli_opt_int_in(argc, argv, &i, "--chunk-size", 1, 1L << 30, &chunk)) { bpe_only = 1; continue; }
        cli_bad_option("tokenizer-train", argv[i]);
    }
    int wp = !strcmp(model, "wordpiece");
    if (wp && bpe_only)
        cli_die("tokenizer-train", NULL, "--no-chat-markers, --threads, --dump-words and --chunk-size are for --model bpe");
    if (!wp && (lowercase || limit != 1000 || dump_merges))
        cli_die("tokenizer-train", NULL, "--lowercase, --limit-alphabet and --dump-merges are for --model wordpiece");
    if (wp) {
        static const char *const bert[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
        for (int k = 0; defaults && k < 5; k++) special[n_sp++] = bert[k];
        for (size_t k = 0; k < n_extra; k++) {
            size_t j = 0;
            while (j < n_sp && strcmp(special[j], extra[k])) j++;
            if (j == n_sp) special[n_sp++] = extra[k];
            if (!extra[k][0]) cli_die("tokenizer-train", NULL, "--special: empty token");
        }
        if (!n_in || !vocab || !out) {
            fprintf(stderr, "gptc tokenizer-train: --input, --vocab-size and --out are required\n"
                            "try `gptc tokenizer-train --help`\n");
            return 2;
        }
        if (n_sp > GPTC_WP_MAX_SPECIAL) cli_die("tokenizer-train", NULL, "--special: at most %d special tokens", GPTC_WP_MAX_SPECIAL);
        char why[4200];
        if (!out_dir_writable(out, why, sizeof why))
            cli_die("tokenizer-train", NULL, "--out %s: cannot write there: %s", out, why);
        return train_wordpiece(inputs, n_in, vocab, min_freq, limit, lowercase, special, n_sp, out, dump_merges);
    }
    /* The defaults first (<|endoftext|> <|im_start|> <|im_end|>), then --special's, each once. */
    static const char *const dflt[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int k = 0; defaults && k < (chat_markers ? 3 : 1); k++) special[n_sp++] = dflt[k];
    for (size_t k = 0; k < n_extra; k++) {
        size_t j = 0;
        while (j < n_sp && strcmp(special[j], extra[k])) j++;
        if (j == n_sp) special[n_sp++] = extra[k];
    }
    if (!n_in || !vocab || !out) {
        fprintf(stderr, "gptc tokenizer-train: --input, --vocab-size and --out are required\n"
                        "try `gptc tokenizer-train --help`\n");
        return 2;
    }
    if (vocab < 256 + (long)n_sp) {
        fprintf(stderr, "gptc tokenizer-train: option --vocab-size: %ld is too small: needs at least 256 (the bytes) + "
                        "%zu (special tokens) = %zu\n", vocab, n_sp, 256 + n_sp);
        exit(2);
    }
    for (size_t k = 0; k < n_sp; k++)
        if (!special[k][0]) cli_die("tokenizer-train", NULL, "--special: empty token");
    char why[4200];
    if (!out_dir_writable(out, why, sizeof why))
        cli_die("tokenizer-train", NULL, "--out %s: cannot write there: %s", out, why);
    for (size_t f = 0; f < n_in; f++)
        if (access(inputs[f], R_OK) != 0)
            cli_die("tokenizer-train", NULL, "--input %s: %s", inputs[f], strerror(errno));

    gptc_ctx *ctx = cli_ctx("tokenizer-train", (int)threads);
    prog_state ps;
    memset(&ps, 0, sizeof ps);
    double t0 = cli_now();
    gptc_bpe_words *w = NULL;
    gptc_bpe_model *m = NULL;
    const char *err = NULL; /* set with ctx's message, or a message of ours in msg */
    char msg[4200];
    if (gptc_bpe_words_new(ctx, &w)) goto fail;
    gptc_bpe_count_params cp = {0};
    cp.n_threads = (int)threads;
    cp.chunk_bytes = (size_t)chunk;
    cp.special = special;
    cp.n_special = n_sp;
    cp.progress = on_progress;
    cp.progress_user = &ps;
    if (gptc_bpe_words_count_files(ctx, w, inputs, n_in, &cp)) goto fail;
    if (ps.started[0]) cli_progress_clear(&ps.bar);
    double t1 = cli_now();
    uint64_t total_bytes = 0;
    for (size_t f = 0; f < n_in; f++) {
        struct stat st;
        if (stat(inputs[f], &st) == 0) total_bytes += (uint64_t)st.st_size;
    }
    if (gptc_bpe_words_n_total(w) == 0) {
        snprintf(msg, sizeof msg, "no text to train on: the input%s %s%s empty", n_in > 1 ? "s" : "", inputs[0],
                 n_in > 1 ? ", ... are" : " is");
        err = msg;
        goto fail;
    }
    if (dump && gptc_bpe_words_dump(ctx, w, dump)) goto fail;

    gptc_bpe_train_params tp = gptc_bpe_train_default_params();
    tp.vocab_size = (size_t)vocab;
    tp.min_frequency = (uint64_t)min_freq;
    tp.special = special;
    tp.n_special = n_sp;
    tp.progress = on_progress;
    tp.progress_user = &ps;
    if (gptc_bpe_train(ctx, w, &tp, &m)) goto fail;
    if (ps.started[1]) cli_progress_clear(&ps.bar);
    double t2 = cli_now();
    /* the files are written into a fresh directory beside out and swapped in together:
     * never a new vocab.json beside an old merges.txt (a model's other files in out stay) */
    gptc_outdir od;
    if (gptc_outdir_begin(ctx, &od, out, gptc_tokenizer_dir_names)) goto fail;
    if (gptc_bpe_model_write(ctx, m, od.tmp) || gptc_outdir_commit(ctx, &od)) {
        gptc_outdir_abort(&od);
        goto fail;
    }
    double t3 = cli_now();
    if (m->stopped_early)
        fprintf(stderr, "gptc tokenizer-train: note: stopped at %zu tokens (asked for %ld): no pair occurs "
                "--min-frequency %ld times any more\n", m->n_tokens + m->n_special, vocab, min_freq);
    printf("tokenizer-train: %llu words (%llu unique) in %.1f MB, %zu merges, %zu tokens (%zu special) -> %s; "
           "%.2f s (pre-tokenize %.2f s at %.1f MB/s, merge %.2f s, write %.2f s)\n",
           (unsigned long long)gptc_bpe_words_n_total(w), (unsigned long long)gptc_bpe_words_n_unique(w),
           (double)total_bytes / 1e6, m->n_merges, m->n_tokens + m->n_special, m->n_special, out, t3 - t0,
           t1 - t0, t1 > t0 ? (double)total_bytes / 1e6 / (t1 - t0) : 0.0, t2 - t1, t3 - t2);
    gptc_bpe_model_free(m);
    gptc_bpe_words_free(w);
    gptc_ctx_free(ctx);
    return 0;
fail:
    if (ps.started[0] || ps.started[1]) cli_progress_clear(&ps.bar);
    fprintf(stderr, "gptc tokenizer-train: error: %s\n", err ? err : gptc_errmsg(ctx));
    gptc_bpe_model_free(m);
    gptc_bpe_words_free(w);
    gptc_ctx_free(ctx);
    return 1;
}
