/* cmd_generate.c: `gptc generate`: continues a prompt with a model, streaming the text
 * as it is produced (never splitting a UTF-8 character, holding back what may become a
 * stop string), or printing JSON. Also the generation options shared with `gptc chat`. */
#define _POSIX_C_SOURCE 200809L
#include "gen_opts.h"
#include "gptc.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *usage =
    "usage: gptc generate --model DIR|REPO [--prompt TEXT | --prompt-file FILE | --prompt-tokens FILE] [options]\n"
    "\n"
    "Continues the prompt (read from stdin when none is given) and streams the new text to\n"
    "stdout. Defaults come from DIR/generation_config.json when present, else Hugging Face's\n"
    "(greedy, max_length 20). The prompt itself is not printed.\n"
    "\n"
    "  --model DIR|REPO            model directory (config.json, model.safetensors, tokenizer)\n"
    "  --prompt TEXT               the prompt\n"
    "  --prompt-file FILE          the prompt from a file\n"
    "  --prompt-tokens FILE        whitespace-separated token ids (models without a tokenizer;\n"
    "                              the output is then token ids when there is no tokenizer)\n"
    "  --truncate                  keep the end of a prompt longer than the context (else an error)\n"
    GPTC_CLI_GEN_OPTIONS
    GPTC_CLI_DTYPE_OPTION
    "  --threads N                 threads (default: all cores)\n"
    "  --json                      print {\"sequences\": [{\"text\", \"token_ids\", \"finish_reason\"}],\n"
    "                              \"timing\": {...}}\n"
    "At the end, stderr gets the tokens/s after the first token, the time to the first token\n"
    "(prompt processing included) and the load time; --json carries them under \"timing\".\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc generate --model m --prompt 'Once upon a time' --max-new-tokens 50 --do-sample --top-p 0.9 --seed 1\n";

/* ------------------------------------------------------------------ shared options */
/* Every option is range-checked when parsed (exit 2 naming the option and its range);
 * the eos ids are checked against the model's vocabulary once it is loaded
 * (cli_gen_check_model). */
static int gen_int(int argc, char **argv, int *i, const char *name, long lo, long hi, int *out) {
    long v;
    if (!cli_opt_int_in(argc, argv, i, name, lo, hi, &v)) return 0;
    *out = (int)v;
    return 1;
}
static int gen_float(int argc, char **argv, int *i, const char *name, double lo, double hi, int open, float *out) {
    double v;
    if (!cli_opt_float_in(argc, argv, i, name, lo, hi, open, &v)) return 0;
    if (!isfinite((float)v)) {
        fprintf(stderr, "gptc: option %s: %g does not fit a float (at most %g)\n", name, v, (double)FLT_MAX);
        exit(2);
    }
    *out = (float)v;
    return 1;
}

/* whether the eos ids came from --eos-token-id (else from generation_config.json) */
static int eos_from_option;

int cli_gen_option(int argc, char **argv, int *i, gptc_gen_params *p) {
    const char *s;
    long seed, eos;
    const double inf = INFINITY;
    if (gen_int(argc, argv, i, "--max-new-tokens", 0, INT_MAX, &p->max_new_tokens)) return 1;
    if (gen_int(argc, argv, i, "--max-length", 1, INT_MAX, &p->max_length)) {
        p->max_new_tokens = -1; /* as HF: max_length applies when max_new_tokens is not given */
        return 1;
    }
    if (cli_flag(argv, *i, "--do-sample")) { p->do_sample = 1; return 1; }
    if (cli_flag(argv, *i, "--greedy")) { p->do_sample = 0; return 1; }
    if (gen_float(argc, argv, i, "--temperature", 0, inf, 0, &p->temperature)) return 1;
    if (gen_int(argc, argv, i, "--top-k", 0, INT_MAX, &p->top_k)) return 1;
    if (gen_float(argc, argv, i, "--top-p", 0, 1, CLI_OPEN_LO, &p->top_p)) return 1;
    if (gen_float(argc, argv, i, "--min-p", 0, 1, 0, &p->min_p)) return 1;
    if (gen_float(argc, argv, i, "--typical-p", 0, 1, CLI_OPEN_LO, &p->typical_p)) return 1;
    if (gen_float(argc, argv, i, "--repetition-penalty", 0, inf, CLI_OPEN_LO, &p->repetition_penalty)) return 1;
    if (gen_int(argc, argv, i, "--no-repeat-ngram-size", 0, INT_MAX, &p->no_repeat_ngram_size)) return 1;
    if (gen_int(argc, argv, i, "--num-return-sequences", 1, 256, &p->num_return_sequences)) return 1;
    if (gen_int(argc, argv, i, "--num-beams", 1, 256, &p->num_beams)) return 1;
    if (gen_float(argc, argv, i, "--length-penalty", -inf, inf, 0, &p->length_penalty)) return 1;
    /* --early-stopping alone means true; a value may follow (true, false, never) */
    int bare = cli_flag(argv, *i, "--early-stopping") && (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2));
    if ((bare && (s = "true")) || cli_opt_str(argc, argv, i, "--early-stopping", &s)) {
        if (!strcmp(s, "true") || !strcmp(s, "1")) p->early_stopping = 1;
        else if (!strcmp(s, "false") || !strcmp(s, "0")) p->early_stopping = 0;
        else if (!strcmp(s, "never")) p->early_stopping = 2;
        else {
            fprintf(stderr, "gptc: option --early-stopping: '%s' is not true, false or never\n", s);
            exit(2);
        }
        return 1;
    }
    if (gen_float(argc, argv, i, "--presence-penalty", -inf, inf, 0, &p->presence_penalty)) return 1;
    if (gen_float(argc, argv, i, "--frequency-penalty", -inf, inf, 0, &p->frequency_penalty)) return 1;
    if (cli_opt_int_in(argc, argv, i, "--seed", 0, LONG_MAX, &seed)) { p->seed = (uint64_t)seed; return 1; }
    if (cli_opt_int_in(argc, argv, i, "--eos-token-id", -1, INT32_MAX, &eos)) {
        if (!eos_from_option) p->n_eos = 0; /* the options replace generation_config.json's ids */
        eos_from_option = 1;
        if (eos == -1) { p->n_eos = 0; return 1; } /* -1: no eos */
        if (p->n_eos >= GPTC_GEN_MAX_EOS) {
            fprintf(stderr, "gptc: option --eos-token-id: at most %d ids\n", GPTC_GEN_MAX_EOS);
            exit(2);
        }
        p->eos_token_id[p->n_eos++] = (int32_t)eos;
        return 1;
    }
    if (cli_opt_str(argc, argv, i, "--stop", &s)) {
        if (p->n_stop >= GPTC_GEN_MAX_STOP || !*s || strlen(s) >= GPTC_GEN_STOP_LEN) {
            fprintf(stderr, "gptc: option --stop: at most %d non-empty strings of at most %d bytes\n", GPTC_GEN_MAX_STOP,
                    GPTC_GEN_STOP_LEN - 1);
            exit(2);
        }
        strcpy(p->stop_strings[p->n_stop++], s);
        return 1;
    }
    return 0;
}

int cli_dtype_option(const char *cmd, int argc, char **argv, int *i, gptc_load_params *p) {
    const char *v;
    if (!cli_opt_str(argc, argv, i, "--dtype", &v)) return 0;
    if (!strcmp(v, "f32") || !strcmp(v, "float32")) p->weight_dtype = GPTC_F32;
    else if (!strcmp(v, "bf16") || !strcmp(v, "bfloat16")) p->weight_dtype = GPTC_BF16;
    else if (!strcmp(v, "f16") || !strcmp(v, "float16")) p->weight_dtype = GPTC_F16;
    else {
        fprintf(stderr, "gptc %s: option --dtype: '%s' is not one of f32, bf16, f16\n", cmd, v);
        exit(2);
    }
    return 1;
}

void cli_gen_check_model(const char *cmd, const gptc_gen_params *p, const gptc_config *c, const char *model_dir) {
    if (c->arch == GPTC_ARCH_MARIAN && strcmp(cmd, "translate") != 0) {
        fprintf(stderr, "gptc %s: error: %s is an encoder-decoder (MarianMTModel): it translates a source "
                        "(gptc translate), it does not continue a prompt\n", cmd, model_dir);
        exit(1);
    }
    for (int k = 0; k < p->n_eos; k++) {
        int32_t id = p->eos_token_id[k];
        if (id >= 0 && id < c->vocab_size) continue;
        if (eos_from_option)
            fprintf(stderr, "gptc %s: option --eos-token-id: %d is out of range [0, %d) (the model's vocabulary; "
                            "-1 = none)\n", cmd, id, c->vocab_size);
        else
            fprintf(stderr, "gptc %s: error: %s/generation_config.json: eos_token_id %d is out of range [0, %d) "
                            "(the model's vocabulary)\n", cmd, model_dir, id, c->vocab_size);
        exit(eos_from_option ? 2 : 1);
    }
}

const char *cli_find_model(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) return argv[i + 1];
        if (!strncmp(argv[i], "--model=", 8)) return argv[i] + 8;
    }
    return NULL;
}

/* ------------------------------------------------------------------ text */
/* The text of ids (end-of-sequence ids skipped) as the library's text stream makes it:
 * whole characters (an incomplete one becomes U+FFFD), ending before the first stop
 * string. malloc'ed. */
static char *decode_text(gptc_ctx *ctx, const gptc_tokenizer *tok, const int32_t *ids, int n,
                         const gptc_gen_params *p, int32_t skip_a, int32_t skip_b) {
    gptc_text_stream *st;
    if (gptc_text_stream_new(ctx, tok, p, NULL, NULL, &st)) return NULL;
    int done = 0;
    for (int i = 0; i < n && !done; i++) {
        if (ids[i] == skip_a || ids[i] == skip_b) continue;
        if (gptc_text_stream_push(ctx, st, ids[i], &done)) {
            gptc_text_stream_free(st);
            return NULL;
        }
    }
    char *out = NULL;
    size_t len;
    if (!gptc_text_stream_finish(ctx, st)) {
        const char *t = gptc_text_stream_text(st, &len);
        out = malloc(len + 1);
        if (out) memcpy(out, t, len + 1);
    }
    gptc_text_stream_free(st);
    return out;
}

/* ------------------------------------------------------------------ generate */
typedef struct out_state {
    int stream;          /* print tokens as they come */
    double t_start, t_first, t_last; /* seconds: gptc_generate called, first and last token */
    long n_tokens;       /* tokens the callback saw (sequence 0) */
    gptc_ctx *ctx;
    const gptc_tokenizer *tok;
    gptc_text_stream *ts;
    int n_eos;
    const int32_t *eos;
    int printed_ids;
} out_state;

static int is_eos(const out_state *o, int32_t t) {
    for (int i = 0; i < o->n_eos; i++)
        if (o->eos[i] == t) return 1;
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_token(void *user, int seq, int32_t t) {
    out_state *o = user;
    if (seq == 0) {
        o->t_last = now_s();
        if (!o->n_tokens++) o->t_first = o->t_last;
    }
    if (!o->stream) return 0;
    if (is_eos(o, t)) return 0;
    if (!o->tok) {
        printf("%s%d", o->printed_ids++ ? " " : "", t);
        fflush(stdout);
        return 0;
    }
    int done = 0;
    if (gptc_text_stream_push(o->ctx, o->ts, t, &done)) return 1;
    return done;
}

static int print_piece(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static char *read_stream(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t k = fread(b + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) { free(b); return NULL; }
            b = nb;
            cap *= 2;
        }
    }
    if (b) b[n] = 0;
    *len = n;
    return b;
}

int cmd_generate(int argc, char **argv) {
    const char *model_dir = cli_find_model(argc, argv), *prompt = NULL, *prompt_file = NULL, *prompt_tokens = NULL,
               *unused;
    long threads = 0;
    int json = 0, truncate = 0;
    gptc_gen_params p = gptc_gen_default_params();
    gptc_load_params lp = gptc_load_default_params();
    gptc_ctx *ctx = NULL;
    for (int i = 1; i < argc; i++) cli_help_check(argv, i, usage);
    if (!model_dir) {
        fprintf(stderr, "gptc generate: --model is required\ntry `gptc generate --help`\n");
        return 2;
    }
    model_dir = cli_model("generate", model_dir);
    ctx = cli_ctx("generate", 0);
    if (gptc_generation_config_load(ctx, model_dir, &p)) cli_die("generate", ctx, NULL);
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &unused)) continue;
        if (cli_opt_str(argc, argv, &i, "--prompt", &prompt)) continue;
        if (cli_opt_str(argc, argv, &i, "--prompt-file", &prompt_file)) continue;
        if (cli_opt_str(argc, argv, &i, "--prompt-tokens", &prompt_tokens)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        if (cli_flag(argv, i, "--truncate")) { truncate = 1; continue; }
        if (cli_dtype_option("generate", argc, argv, &i, &lp)) continue;
        if (cli_gen_option(argc, argv, &i, &p)) continue;
        cli_bad_option("generate", argv[i]);
    }
    if (!!prompt + !!prompt_file + !!prompt_tokens > 1)
        cli_die("generate", NULL, "give one of --prompt, --prompt-file and --prompt-tokens");
    if (gptc_gen_params_validate(ctx, &p)) cli_die("generate", ctx, NULL);
    gptc_ctx_free(ctx);
    ctx = cli_ctx("generate", (int)threads);

    gptc_model *m;
    double t_load = now_s();
    if (gptc_model_load_with(ctx, model_dir, &lp, &m)) cli_die_model("generate", ctx, model_dir);
    t_load = now_s() - t_load;
    const gptc_config *c = gptc_model_config(m);
    cli_gen_check_model("generate", &p, c, model_dir);
    gptc_tokenizer *tok = NULL;
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) {
        if (!prompt_tokens) cli_die("generate", ctx, "no tokenizer in %s (use --prompt-tokens with token ids)", model_dir);
        tok = NULL;
    }
    if (tok && gptc_tokenizer_n_vocab(tok) > (size_t)c->vocab_size)
        cli_die("generate", NULL, "%s: the tokenizer has %zu ids, more than the model's vocab_size %d", model_dir,
                gptc_tokenizer_n_vocab(tok), c->vocab_size);
    if (p.n_stop && !tok) cli_die("generate", NULL, "--stop needs a tokenizer (none in %s)", model_dir);

    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (prompt_tokens) {
        if (gptc_tokens_read_text(ctx, prompt_tokens, c->vocab_size, &ids, &n_ids)) cli_die("generate", ctx, NULL);
    } else {
        char *text = NULL;
        size_t len = 0;
        if (prompt) {
            text = strdup(prompt);
            len = strlen(prompt);
        } else {
            FILE *f = prompt_file ? fopen(prompt_file, "rb") : stdin;
            if (!f) cli_die("generate", NULL, "%s: cannot open", prompt_file);
            text = read_stream(f, &len);
            if (prompt_file) fclose(f);
        }
        if (!text) cli_die("generate", NULL, "out of memory reading the prompt");
        if (gptc_tokenizer_encode(ctx, tok, text, len, 1, &ids, &n_ids)) cli_die("generate", ctx, NULL);
        free(text);
    }
    if (n_ids == 0) cli_die("generate", NULL, "the prompt is empty");
    int32_t *prompt_ids = ids;
    if (n_ids > (size_t)c->n_positions) {
        if (!truncate)
            cli_die("generate", NULL, "the prompt is %zu tokens, longer than the model's context of %d tokens "
                    "(--truncate keeps its end)", n_ids, c->n_positions);
    }
    if (truncate) {
        /* keep room for the new tokens: prompt + max_new_tokens within the context */
        long room = p.max_new_tokens >= 0 ? p.max_new_tokens : 1;
        long keep = c->n_positions - room;
        if (keep < 1) keep = 1;
        if ((long)n_ids > keep) {
            fprintf(stderr, "gptc generate: prompt truncated from %zu to its last %ld tokens\n", n_ids, keep);
            prompt_ids = ids + (n_ids - (size_t)keep);
            n_ids = (size_t)keep;
        }
    }

    out_state o;
    memset(&o, 0, sizeof o);
    o.ctx = ctx;
    o.tok = tok;
    int32_t model_eos = c->eos_token_id;
    o.n_eos = p.n_eos < 0 ? (model_eos >= 0) : p.n_eos;
    o.eos = p.n_eos < 0 ? &model_eos : p.eos_token_id;
    int stream = !json && p.num_beams == 1 && p.num_return_sequences == 1;
    if (tok && gptc_text_stream_new(ctx, tok, &p, print_piece, NULL, &o.ts)) cli_die("generate", ctx, NULL);
    gptc_gen_result *r;
    o.stream = stream;
    o.t_start = now_s();
    if (gptc_generate(ctx, m, NULL, tok, prompt_ids, (int)n_ids, &p, on_token, &o, &r))
        cli_die("generate", ctx, NULL);
    double t_end = now_s();
    /* beam search reports its tokens at the end: the rate is then over the whole call */
    int beams = p.num_beams > 1;
    double ttft = o.n_tokens ? o.t_first - o.t_start : 0;
    double rate = !o.n_tokens ? 0
                  : beams || o.n_tokens < 2 ? o.n_tokens / (t_end - o.t_start)
                                            : (o.n_tokens - 1) / (o.t_last - o.t_first);
    int32_t skip_b = o.n_eos > 1 ? o.eos[1] : -2, skip_a = o.n_eos > 0 ? o.eos[0] : -2;
    if (stream) {
        if (tok && gptc_text_stream_finish(ctx, o.ts)) cli_die("generate", ctx, NULL);
        printf("\n");
    } else if (json) {
        printf("{\"sequences\": [");
        for (int s = 0; s < r->n_seq; s++) {
            const gptc_gen_sequence *q = &r->seqs[s];
            printf("%s{\"text\": ", s ? ", " : "");
            if (tok) {
                char *t = decode_text(ctx, tok, q->tokens, q->n_tokens, &p, skip_a, skip_b);
                if (!t) cli_die("generate", ctx, NULL);
                cli_json_string(stdout, t);
                free(t);
            } else {
                printf("null");
            }
            printf(", \"token_ids\": [");
            for (int k = 0; k < q->n_tokens; k++) printf("%s%d", k ? ", " : "", q->tokens[k]);
            printf("], \"finish_reason\": \"%s\"", gptc_finish_reason_name(q->finish_reason));
            if (p.num_beams > 1) printf(", \"score\": %.9g", q->score);
            printf("}");
        }
        printf("], \"timing\": {\"load_s\": %.6f, \"prompt_tokens\": %zu, \"time_to_first_token_s\": %.6f, "
               "\"tokens\": %ld, \"tokens_per_s\": %.3f, \"total_s\": %.6f, \"weight_dtype\": \"%s\"}}\n",
               t_load, n_ids, beams ? t_end - o.t_start : ttft, o.n_tokens, rate, t_end - o.t_start,
               gptc_dtype_name(gptc_model_weight_dtype(m)));
    } else {
        for (int s = 0; s < r->n_seq; s++) {
            const gptc_gen_sequence *q = &r->seqs[s];
            if (r->n_seq > 1) printf("%s=== sequence %d (%s) ===\n", s ? "\n" : "", s + 1, gptc_finish_reason_name(q->finish_reason));
            if (tok) {
                char *t = decode_text(ctx, tok, q->tokens, q->n_tokens, &p, skip_a, skip_b);
                if (!t) cli_die("generate", ctx, NULL);
                fputs(t, stdout);
                free(t);
            } else {
                for (int k = 0; k < q->n_tokens; k++) printf("%s%d", k ? " " : "", q->tokens[k]);
            }
            printf("\n");
        }
    }
    fflush(stdout);
    if (beams)
        fprintf(stderr, "gptc generate: %ld tokens (%d beams) in %.3f s, %.1f tokens/s; prompt %zu tokens; load %.3f s; "
                "%s weights\n", o.n_tokens, p.num_beams, t_end - o.t_start, rate, n_ids, t_load,
                gptc_dtype_name(gptc_model_weight_dtype(m)));
    else
        fprintf(stderr, "gptc generate: %ld tokens, %.1f tokens/s after the first; time to first token %.1f ms "
                "(prompt %zu tokens); load %.3f s; %s weights\n", o.n_tokens, rate, ttft * 1e3, n_ids, t_load,
                gptc_dtype_name(gptc_model_weight_dtype(m)));
    gptc_gen_result_free(r);
    gptc_text_stream_free(o.ts);
    free(ids);
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
