/* cmd_prepare.c: `gptc prepare`: text files, folders of them and JSONL files with a
 * "text" field -> token shards DIR/train.bin and DIR/val.bin, split by document, with
 * <|endoftext|> after every document, tokenized on all cores; the tokenizer is copied
 * to DIR/tokenizer so that models trained on the data carry it. With --arch bert: each
 * line of a document is a sentence, and DIR/train.jsonl, DIR/val.jsonl hold BERT's
 * sentence-pair examples (gptc_pretrain_pairs). */
#define _GNU_SOURCE
#include "cli.h"
#include "progress.h"
#include "gptc.h"

#include <dirent.h>
#include <limits.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *usage =
    "usage: gptc prepare --input PATH... --out DIR [--tokenizer PATH|REPO | --encoding NAME | --model DIR|REPO]\n"
    "                    [--val-fraction F] [--seed N] [--threads N] [--json]\n"
    "       gptc prepare --tokens FILE --out DIR [--vocab-size N] [--val-fraction F]\n"
    "       gptc prepare --arch bert --input PATH... --tokenizer DIR --out DIR [--seq-len N]\n"
    "                    [--short-seq-prob F] [--val-fraction F] [--seed N]\n"
    "\n"
    "Tokenizes text into DIR/train.bin and DIR/val.bin (format: docs/formats.md).\n"
    "  --input PATH...     text files, folders (their .txt, .md, .text and .jsonl files,\n"
    "                      recursively) and .jsonl files with a \"text\" field per line;\n"
    "                      each file or JSONL line is one document\n"
    "  --tokens FILE       whitespace-separated token ids taken as they are (one document)\n"
    "  --tokenizer PATH|REPO  tokenizer files (directory or file); default --encoding gpt2\n"
    "  --encoding NAME     gpt2, r50k_base, p50k_base, cl100k_base, o200k_base\n"
    "  --model DIR|REPO    the tokenizer of a model directory\n"
    "  --val-fraction F    share of documents for validation (default 0.1); with a single\n"
    "                      document the last F of its tokens\n"
    "  --vocab-size N      with --tokens: the vocabulary size (default: largest id + 1)\n"
    "  --skip-bad-lines    skip malformed JSONL lines (reported) instead of stopping\n"
    "  --arch bert         BERT pre-training examples instead of shards: each line of a\n"
    "                      document is a sentence; pairs [CLS] A [SEP] B [SEP] where B follows\n"
    "                      A (next_sentence_label 0) or, half of the time, comes from another\n"
    "                      document (1), seeded, as google-research/bert's create_pretraining_data;\n"
    "                      DIR/train.jsonl, DIR/val.jsonl ({\"input_ids\", \"token_type_ids\",\n"
    "                      \"next_sentence_label\"}); needs a WordPiece --tokenizer or --model\n"
    "  --seq-len N         --arch bert: max_seq_length of an example (default 128)\n"
    "  --short-seq-prob F  --arch bert: share of examples with a shorter random target (default 0.1)\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc prepare --input books/ notes.jsonl --out data --val-fraction 0.05\n"
    "  gptc prepare --arch bert --input wiki.txt --tokenizer wp --out bdata --seq-len 128\n";

typedef struct doc {
    const char *text;
    size_t len;
    char *owned;      /* JSONL texts are copies */
    int32_t *ids;     /* tokenized, with the separator */
    size_t n_ids;
    size_t *sent;     /* --arch bert: n_sent + 1 offsets of its sentences (lines) in ids */
    size_t n_sent;
} doc;

typedef struct doc_list {
    doc *d;
    size_t n, cap;
    gptc_mapped *maps;
    size_t n_maps, cap_maps;
    size_t bytes;
    int skip_bad;
    long bad_lines;
} doc_list;

static void add_doc(doc_list *l, const char *text, size_t len, char *owned) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        doc *nd = realloc(l->d, nc * sizeof *nd);
        if (!nd) cli_die("prepare", NULL, "out of memory");
        l->d = nd;
        l->cap = nc;
    }
    doc *d = &l->d[l->n++];
    memset(d, 0, sizeof *d);
    d->text = text;
    d->len = len;
    d->owned = owned;
    l->bytes += len;
}

static int has_ext(const char *name, const char *ext) {
    size_t n = strlen(name), e = strlen(ext);
    return n > e && !strcmp(name + n - e, ext);
}

static void add_jsonl(gptc_ctx *ctx, doc_list *l, const char *path) {
    char *data;
    size_t size;
    if (gptc_file_read(ctx, path, &data, &size)) cli_die("prepare", ctx, NULL);
    gptc_lines it = gptc_lines_of(data, size);
    const char *q;
    size_t len;
    while (gptc_lines_next(&it, &q, &len)) {
        long line = (long)it.line;
        json_error_t je;
        json_t *j = json_loadb(q, len, 0, &je);
        json_t *t = j ? json_object_get(j, "text") : NULL;
        const char *why = !j ? je.text : !json_is_object(j) ? "not a JSON object" : !t ? "no \"text\" field"
                                         : !json_is_string(t) ? "\"text\" is not a string" : NULL;
        if (why) {
            if (!l->skip_bad) cli_die("prepare", NULL, "%s:%ld: %s (use --skip-bad-lines to skip such lines)", path, line, why);
            fprintf(stderr, "prepare: %s:%ld: skipped: %s\n", path, line, why);
            l->bad_lines++;
            json_decref(j);
            continue;
        }
        size_t tl = json_string_length(t);
        char *copy = malloc(tl + 1);
        if (!copy) cli_die("prepare", NULL, "out of memory");
        memcpy(copy, json_string_value(t), tl + 1);
        json_decref(j);
        if (tl) add_doc(l, copy, tl, copy);
        else free(copy);
    }
    free(data);
}

static void add_text(gptc_ctx *ctx, doc_list *l, const char *path) {
    if (l->n_maps == l->cap_maps) {
        size_t nc = l->cap_maps ? 2 * l->cap_maps : 64;
        gptc_mapped *nm = realloc(l->maps, nc * sizeof *nm);
        if (!nm) cli_die("prepare", NULL, "out of memory");
        l->maps = nm;
        l->cap_maps = nc;
    }
    gptc_mapped *m = &l->maps[l->n_maps];
    if (gptc_file_map(ctx, path, m)) cli_die("prepare", ctx, NULL);
    l->n_maps++;
    if (m->size) add_doc(l, (const char *)m->data, m->size, NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_path(gptc_ctx *ctx, doc_list *l, const char *path, int top) {
    struct stat st;
    if (stat(path, &st) != 0) cli_die("prepare", NULL, "%s: cannot read: no such file or directory", path);
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) cli_die("prepare", NULL, "%s: cannot open directory", path);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn) cli_die("prepare", NULL, "out of memory");
                names = nn;
            }
            if (!(names[n++] = strdup(e->d_name))) cli_die("prepare", NULL, "out of memory");
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp_str); /* a stable document order */
        for (size_t i = 0; i < n; i++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, names[i]);
            struct stat s2;
            if (stat(p, &s2) == 0 && (S_ISDIR(s2.st_mode) || has_ext(names[i], ".txt") || has_ext(names[i], ".md") ||
                                      has_ext(names[i], ".text") || has_ext(names[i], ".jsonl")))
                add_path(ctx, l, p, 0);
            free(names[i]);
        }
        free(names);
        return;
    }
    (void)top;
    if (has_ext(path, ".jsonl")) add_jsonl(ctx, l, path);
    else add_text(ctx, l, path);
}

/* --arch bert: each non-blank line of the document a sentence, tokenized alone */
static gptc_status encode_lines(gptc_ctx *ctx, const gptc_tokenizer *tok, doc *d) {
    size_t cap = 16, cap_ids = 256;
    d->sent = malloc(cap * sizeof *d->sent);
    d->ids = malloc(cap_ids * sizeof *d->ids);
    if (!d->sent || !d->ids) return GPTC_ENOMEM;
    d->sent[0] = 0;
    const char *p = d->text, *end = d->text + d->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        int32_t *ids;
        size_t n;
        gptc_status s = gptc_tokenizer_encode(ctx, tok, p, (size_t)(le - p), 0, &ids, &n);
        p = nl ? nl + 1 : end;
        if (s) return s;
        if (!n) {
            free(ids);
            continue;
        }
        while (d->n_ids + n > cap_ids) cap_ids *= 2;
        int32_t *ni = realloc(d->ids, cap_ids * sizeof *ni);
        size_t *ns = d->n_sent + 2 > cap ? realloc(d->sent, (cap *= 2) * sizeof *ns) : d->sent;
        if (ni) d->ids = ni;
        if (ns) d->sent = ns;
        if (!ni || !ns) {
            free(ids);
            return GPTC_ENOMEM;
        }
        memcpy(d->ids + d->n_ids, ids, n * sizeof *ids);
        free(ids);
        d->n_ids += n;
        d->sent[++d->n_sent] = d->n_ids;
    }
    return GPTC_OK;
}

/* --arch bert: the examples of the documents with is_val == val into dir/name */
static size_t write_pairs(gptc_ctx *ctx, const doc_list *l, const char *is_val, int val, const gptc_tokenizer *tok,
                          const gptc_pairs_params *pp, const char *dir, const char *name) {
    size_t n_ids = 0, n_sent = 0, n_docs = 0;
    for (size_t i = 0; i < l->n; i++)
        if (is_val[i] == val && l->d[i].n_sent) n_ids += l->d[i].n_ids, n_sent += l->d[i].n_sent, n_docs++;
    int32_t *ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
    size_t *so = malloc((n_sent + 1) * sizeof *so), *ds = malloc((n_docs + 1) * sizeof *ds);
    if (!ids || !so || !ds) cli_die("prepare", NULL, "out of memory");
    size_t pi = 0, ps = 0, pd = 0;
    so[0] = 0;
    ds[0] = 0;
    for (size_t i = 0; i < l->n; i++) {
        const doc *d = &l->d[i];
        if (is_val[i] != val || !d->n_sent) continue;
        memcpy(ids + pi, d->ids, d->n_ids * sizeof *ids);
        for (size_t k = 1; k <= d->n_sent; k++) so[++ps] = pi + d->sent[k];
        pi += d->n_ids;
        ds[++pd] = ps;
    }
    gptc_tokenizer_roles r;
    gptc_tokenizer_roles_get(tok, &r);
    char *text = NULL, path[4600];
    size_t len = 0, n_ex = 0;
    if (gptc_pretrain_pairs(ctx, ids, so, ds, n_docs, r.cls, r.sep, pp, &text, &len, &n_ex)) cli_die("prepare", ctx, NULL);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gptc_iovec part = {text ? text : "", len};
    if (gptc_file_write_atomic(ctx, path, &part, 1)) cli_die("prepare", ctx, NULL);
    gptc_free(text);
    free(ids);
    free(so);
    free(ds);
    return n_ex;
}

static void free_docs(doc_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->d[i].owned);
        free(l->d[i].ids);
        free(l->d[i].sent);
    }
    for (size_t i = 0; i < l->n_maps; i++) gptc_file_unmap(&l->maps[i]);
    free(l->d);
    free(l->maps);
}

static int finish(char *is_val, const char **inputs, doc_list *l, gptc_tokenizer *tok, gptc_ctx *ctx) {
    free(is_val);
    free(inputs);
    free_docs(l);
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return 0;
}

int cmd_prepare(int argc, char **argv) {
    const char *out = NULL, *tok_path = NULL, *encoding = NULL, *model = NULL, *tokens = NULL;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    size_t n_inputs = 0;
    double val_frac = 0.1;
    long seed = 1337, threads = 0, vocab_opt = 0, seq_len = 128;
    int json = 0, bert = 0;
    double short_prob = 0.1;
    const char *arch = NULL;
    doc_list l = {0};
    if (!inputs) cli_die("prepare", NULL, "out of memory");
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        const char *v;
        if (cli_opt_str(argc, argv, &i, "--input", &v)) {
            inputs[n_inputs++] = v;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) inputs[n_inputs++] = argv[++i];
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_str(argc, argv, &i, "--tokenizer", &tok_path)) continue;
        if (cli_opt_str(argc, argv, &i, "--encoding", &encoding)) continue;
        if (cli_opt_str(argc, argv, &i, "--model", &model)) continue;
        if (cli_opt_str(argc, argv, &i, "--tokens", &tokens)) continue;
        if (cli_opt_float_in(argc, argv, &i, "--val-fraction", 0, 1, CLI_OPEN_HI, &val_frac)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--seed", 0, LONG_MAX, &seed)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--vocab-size", 1, INT_MAX, &vocab_opt)) continue;
        if (cli_flag(argv, i, "--skip-bad-lines")) { l.skip_bad = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--arch", &arch)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--seq-len", 5, 1 << 20, &seq_len)) continue;
        if (cli_opt_float_in(argc, argv, &i, "--short-seq-prob", 0, 1, 0, &short_prob)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("prepare", argv[i]);
    }
    if (!out || (!n_inputs && !tokens) || (n_inputs && tokens)) {
        fprintf(stderr, "gptc prepare: --out and one of --input or --tokens are required\ntry `gptc prepare --help`\n");
        return 2;
    }
    if (!(val_frac >= 0 && val_frac < 1)) cli_die("prepare", NULL, "--val-fraction %g: expected 0 <= F < 1", val_frac);
    if (arch && strcmp(arch, "bert") && strcmp(arch, "gpt2")) cli_die("prepare", NULL, "--arch %s: expected gpt2 or bert", arch);
    bert = arch && !strcmp(arch, "bert");
    if (bert && (tokens || (!tok_path && !model)))
        cli_die("prepare", NULL, "--arch bert needs --input text and a WordPiece --tokenizer or --model");
    if ((tok_path != NULL) + (encoding != NULL) + (model != NULL) > 1)
        cli_die("prepare", NULL, "--tokenizer, --encoding and --model exclude each other");
    model = cli_tokenizer("prepare", model);
    tok_path = cli_tokenizer("prepare", tok_path);
    gptc_ctx *ctx = cli_ctx("prepare", (int)threads);
    double t0 = cli_now();

    gptc_tokenizer *tok = NULL;
    uint32_t vocab = 0;
    int32_t sep = -1;
    if (tokens) {
        int32_t *ids;
        size_t n;
        if (gptc_tokens_read_text(ctx, tokens, vocab_opt, &ids, &n)) cli_die("prepare", ctx, NULL);
        if (!n) cli_die("prepare", NULL, "%s: no token ids", tokens);
        add_doc(&l, NULL, 0, NULL);
        l.d[0].ids = malloc(n * sizeof(int32_t));
        if (!l.d[0].ids) cli_die("prepare", NULL, "out of memory");
        memcpy(l.d[0].ids, ids, n * sizeof(int32_t));
        l.d[0].n_ids = n;
        gptc_free(ids);
        int32_t mx = 0;
        for (size_t i = 0; i < n; i++) if (l.d[0].ids[i] > mx) mx = l.d[0].ids[i];
        vocab = vocab_opt > 0 ? (uint32_t)vocab_opt : (uint32_t)mx + 1;
    } else {
        for (size_t i = 0; i < n_inputs; i++) add_path(ctx, &l, inputs[i], 1);
        if (!l.n) cli_die("prepare", NULL, "no text found in the inputs (empty files or folders without .txt/.md/.jsonl)");
        gptc_status s = model ? gptc_tokenizer_load(ctx, model, &tok)
                        : tok_path ? gptc_tokenizer_load(ctx, tok_path, &tok)
                                   : gptc_tokenizer_from_encoding(ctx, encoding ? encoding : "gpt2", &tok);
        if (s) cli_die("prepare", ctx, "tokenizer");
        if (bert && gptc_tokenizer_kind(tok) != GPTC_TOKENIZER_WORDPIECE)
            cli_die("prepare", NULL, "--arch bert: %s is not a WordPiece tokenizer (vocab.txt)", model ? model : tok_path);
        vocab = (uint32_t)gptc_tokenizer_n_vocab(tok);
        sep = gptc_tokenizer_special_id(tok, "<|endoftext|>");
        cli_progress bar;
        cli_progress_start(&bar, "tokenize", (double)l.bytes / 1e6, "MB");
        double done_mb = 0;
        int failed = 0;
        char err[1024] = "";
#pragma omp parallel num_threads(gptc_ctx_n_threads(ctx))
        {
            gptc_ctx *tc = cli_ctx("prepare", 1);
#pragma omp for schedule(dynamic, 1)
            for (size_t i = 0; i < l.n; i++) {
                if (failed) continue;
                int32_t *ids;
                size_t n;
                if (bert) {
                    gptc_status es = encode_lines(tc, tok, &l.d[i]);
                    if (es) {
#pragma omp critical
                        {
                            failed = 1;
                            snprintf(err, sizeof err, "%s", es == GPTC_ENOMEM ? "out of memory" : gptc_errmsg(tc));
                        }
                    }
#pragma omp atomic
                    done_mb += (double)l.d[i].len / 1e6;
                    continue;
                }
                if (gptc_tokenizer_encode(tc, tok, l.d[i].text, l.d[i].len, 0, &ids, &n)) {
#pragma omp critical
                    {
                        failed = 1;
                        snprintf(err, sizeof err, "%s", gptc_errmsg(tc));
                    }
                    continue;
                }
                int32_t *w = realloc(ids, (n + 1) * sizeof *w);
                if (!w) {
                    free(ids);
                    failed = 1;
                    continue;
                }
                if (sep >= 0) w[n++] = sep;
                l.d[i].ids = w;
                l.d[i].n_ids = n;
#pragma omp atomic
                done_mb += (double)l.d[i].len / 1e6;
#ifdef _OPENMP
                if (omp_get_thread_num() == 0)
#endif
                    cli_progress_update(&bar, done_mb, NULL, 0);
            }
            gptc_ctx_free(tc);
        }
        if (failed) cli_die("prepare", NULL, "tokenize: %s", err[0] ? err : "out of memory");
        cli_progress_update(&bar, done_mb, NULL, 1);
        cli_progress_clear(&bar);
        if (bar.tty) fputc('\n', stderr);
    }

    /* split by document: a seeded choice of round(F * n) documents (at least one) */
    size_t n_docs = l.n, n_val_docs = 0;
    char *is_val = calloc(n_docs ? n_docs : 1, 1);
    if (!is_val) cli_die("prepare", NULL, "out of memory");
    size_t split_tail = 0; /* single document: tokens of its tail go to val */
    if (val_frac > 0 && n_docs >= 2) {
        n_val_docs = (size_t)(val_frac * (double)n_docs + 0.5);
        if (n_val_docs < 1) n_val_docs = 1;
        if (n_val_docs >= n_docs) n_val_docs = n_docs - 1;
        size_t *idx = malloc(n_docs * sizeof *idx);
        if (!idx) cli_die("prepare", NULL, "out of memory");
        for (size_t i = 0; i < n_docs; i++) idx[i] = i;
        uint64_t st = (uint64_t)seed;
        for (size_t i = n_docs - 1; i > 0; i--) {
            size_t j = (size_t)(gptc_splitmix64(&st) % (i + 1));
            size_t t = idx[i]; idx[i] = idx[j]; idx[j] = t;
        }
        for (size_t i = 0; i < n_val_docs; i++) is_val[idx[i]] = 1;
        free(idx);
    } else if (val_frac > 0 && n_docs == 1) {
        split_tail = (size_t)(val_frac * (double)l.d[0].n_ids);
        fprintf(stderr, "prepare: one document: the last %zu of its %zu tokens form the val split\n", split_tail,
                l.d[0].n_ids);
    }
    if (bert) {
        if (n_docs == 1 && val_frac > 0)
            cli_die("prepare", NULL, "--arch bert: one document cannot be split by document; give several (files "
                    "or JSONL lines) or --val-fraction 0");
        static const char *const bowned[] = {"train.jsonl", "val.jsonl", "tokenizer", NULL};
        gptc_outdir bod;
        if (gptc_outdir_begin(ctx, &bod, out, bowned)) cli_die("prepare", ctx, NULL);
        gptc_pairs_params pp = {(int)seq_len, (float)short_prob, (uint64_t)seed};
        size_t n_tr = write_pairs(ctx, &l, is_val, 0, tok, &pp, bod.tmp, "train.jsonl");
        pp.seed = (uint64_t)seed + 1;
        size_t n_va = n_val_docs ? write_pairs(ctx, &l, is_val, 1, tok, &pp, bod.tmp, "val.jsonl") : 0;
        char tp[4600];
        snprintf(tp, sizeof tp, "%s/tokenizer", bod.tmp);
        if (gptc_mkdirs(ctx, tp) || gptc_tokenizer_save(ctx, tok, tp)) {
            gptc_outdir_abort(&bod);
            cli_die("prepare", ctx, "tokenizer");
        }
        if (!n_tr) {
            gptc_outdir_abort(&bod);
            cli_die("prepare", NULL, "--arch bert: no training examples (documents need two sentences, i.e. lines, or "
                    "there must be several documents)");
        }
        if (gptc_outdir_commit(ctx, &bod)) cli_die("prepare", ctx, NULL);
        if (json)
            printf("{\"documents\": %zu, \"val_documents\": %zu, \"train_examples\": %zu, \"val_examples\": %zu, "
                   "\"max_seq_length\": %ld, \"vocab_size\": %u}\n", n_docs, n_val_docs, n_tr, n_va, seq_len, vocab);
        else
            printf("documents %zu (%zu val)\nexamples train %zu, val %zu (max_seq_length %ld)\nvocab_size %u\nout %s\n",
                   n_docs, n_val_docs, n_tr, n_va, seq_len, vocab, out);
        return finish(is_val, inputs, &l, tok, ctx);
    }
    size_t n_train = 0, n_val = 0;
    for (size_t i = 0; i < n_docs; i++) *(is_val[i] ? &n_val : &n_train) += l.d[i].n_ids;
    n_train -= split_tail;
    n_val += split_tail;
    if (!n_train) cli_die("prepare", NULL, "the inputs hold no tokens");
    int32_t *tr = malloc((n_train ? n_train : 1) * sizeof *tr), *va = malloc((n_val ? n_val : 1) * sizeof *va);
    if (!tr || !va) cli_die("prepare", NULL, "out of memory");
    size_t pt = 0, pv = 0;
    for (size_t i = 0; i < n_docs; i++) {
        size_t n = l.d[i].n_ids, keep = n - (n_docs == 1 ? split_tail : 0);
        if (is_val[i]) {
            memcpy(va + pv, l.d[i].ids, n * sizeof *va);
            pv += n;
        } else {
            memcpy(tr + pt, l.d[i].ids, keep * sizeof *tr);
            pt += keep;
            memcpy(va + pv, l.d[i].ids + keep, (n - keep) * sizeof *va);
            pv += n - keep;
        }
    }
    /* train.bin, val.bin and tokenizer/ go into a fresh directory beside out, swapped in
     * together: never new shards beside an old val.bin or an old tokenizer/ */
    static const char *const owned[] = {"train.bin", "val.bin", "tokenizer", NULL};
    gptc_outdir od;
    char path[4600];
    if (gptc_outdir_begin(ctx, &od, out, owned)) cli_die("prepare", ctx, NULL);
    snprintf(path, sizeof path, "%s/train.bin", od.tmp);
    gptc_status ws = gptc_shard_write(ctx, path, tr, n_train, n_docs - n_val_docs, vocab);
    snprintf(path, sizeof path, "%s/val.bin", od.tmp);
    if (!ws) ws = gptc_shard_write(ctx, path, va, n_val, n_val_docs + (split_tail ? 1 : 0), vocab);
    if (ws) {
        gptc_outdir_abort(&od);
        cli_die("prepare", ctx, NULL);
    }
    if (tok) {
        snprintf(path, sizeof path, "%s/tokenizer", od.tmp);
        if (gptc_mkdirs(ctx, path) || gptc_tokenizer_save(ctx, tok, path)) {
            fprintf(stderr, "prepare: warning: the tokenizer was not copied (%s); models trained on this data "
                            "will carry no tokenizer files\n", gptc_errmsg(ctx));
            gptc_remove_tree(path);
        }
    }
    if (gptc_outdir_commit(ctx, &od)) cli_die("prepare", ctx, NULL);
    double secs = cli_now() - t0, tpb = l.bytes ? (double)(n_train + n_val) / (double)l.bytes : 0;
    if (json)
        printf("{\"documents\": %zu, \"train_tokens\": %zu, \"val_tokens\": %zu, \"bytes\": %zu, "
               "\"tokens_per_byte\": %.4f, \"vocab_size\": %u, \"seconds\": %.2f}\n",
               n_docs, n_train, n_val, l.bytes, tpb, vocab, secs);
    else {
        printf("documents %zu (%zu val)\ntokens %zu (train %zu, val %zu)\n", n_docs, n_val_docs, n_train + n_val,
               n_train, n_val);
        if (l.bytes) printf("bytes %zu\ntokens per byte %.4f\n", l.bytes, tpb);
        printf("vocab_size %u\nout %s\n", vocab, out);
    }
    free(tr);
    free(va);
    return finish(is_val, inputs, &l, tok, ctx);
}
