/* cmd_chat.c: `gptc chat`: a conversation with a model in the ChatML template, with a
 * small line editor (history, UTF-8 aware backspace) on a terminal and plain line reads
 * from a pipe. The KV cache is kept across turns: only the new turn is prefilled. */
#define _POSIX_C_SOURCE 200809L
#include "gen_opts.h"
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char *usage =
    "usage: gptc chat --model DIR [--system TEXT] [options]\n"
    "\n"
    "Talks with the model in DIR turn by turn (ChatML: <|im_start|>role\\ncontent<|im_end|>\\n).\n"
    "A reply ends at <|im_end|> or the end-of-text token. The oldest turns are dropped when\n"
    "the conversation outgrows the context. Reads lines from a terminal (with history:\n"
    "up/down, backspace, Ctrl-U, Ctrl-D to leave) or from a pipe. Ctrl-C stops a reply.\n"
    "\n"
    "commands: /reset  /system TEXT  /save FILE  /params  /help  /quit\n"
    "\n"
    "  --model DIR                 model directory with a tokenizer\n"
    "  --system TEXT               system message\n"
    GPTC_CLI_GEN_OPTIONS
    "                              (chat default: --max-new-tokens 256 unless generation_config.json says)\n"
    "  --threads N                 threads (default: all cores)\n"
    "\n"
    "example:\n"
    "  gptc chat --model sft-model --system 'You are a helpful assistant.' --do-sample --top-p 0.9\n";

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* ------------------------------------------------------------------ line editor */
typedef struct editor {
    int tty;
    struct termios saved;
    char **hist;
    int n_hist;
} editor;

static void redraw(const char *prompt, const char *buf, size_t len) {
    printf("\r\x1b[K%s", prompt);
    fwrite(buf, 1, len, stdout);
    fflush(stdout);
}

/* One line without its newline (malloc'ed), or NULL at end of input. */
static char *read_line(editor *e, const char *prompt) {
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    if (!e->tty) {
        int c;
        while ((c = getchar()) != EOF && c != '\n') {
            if (len + 2 > cap) {
                char *nb = realloc(buf, cap *= 2);
                if (!nb) { free(buf); return NULL; }
                buf = nb;
            }
            buf[len++] = (char)c;
        }
        if (c == EOF && len == 0) { free(buf); return NULL; }
        if (len && buf[len - 1] == '\r') len--;
        buf[len] = 0;
        return buf;
    }
    struct termios raw = e->saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    int hpos = e->n_hist;
    redraw(prompt, buf, 0);
    char *result = buf;
    for (;;) {
        unsigned char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || (c == 4 && len == 0)) { result = NULL; break; } /* EOF, Ctrl-D */
        if (c == '\r' || c == '\n') break;
        if (c == 127 || c == 8) { /* backspace: a whole UTF-8 character */
            while (len > 0 && ((unsigned char)buf[len - 1] & 0xC0) == 0x80) len--;
            if (len > 0) len--;
        } else if (c == 21) { /* Ctrl-U */
            len = 0;
        } else if (c == 3) { /* Ctrl-C: drop the line */
            len = 0;
            printf("^C\n");
        } else if (c == 27) { /* escape sequences: up/down history, others ignored */
            unsigned char seq[2];
            if (read(STDIN_FILENO, seq, 1) != 1 || read(STDIN_FILENO, seq + 1, 1) != 1) continue;
            if (seq[0] != '[' || (seq[1] != 'A' && seq[1] != 'B')) continue;
            int np = hpos + (seq[1] == 'A' ? -1 : 1);
            if (np < 0 || np > e->n_hist) continue;
            hpos = np;
            const char *h = hpos < e->n_hist ? e->hist[hpos] : "";
            size_t hl = strlen(h);
            if (hl + 1 > cap) {
                char *nb = realloc(buf, cap = hl + 256);
                if (!nb) { result = NULL; break; }
                buf = result = nb;
            }
            memcpy(buf, h, hl);
            len = hl;
        } else if (c >= 32 || c == '\t') {
            if (len + 2 > cap) {
                char *nb = realloc(buf, cap *= 2);
                if (!nb) { result = NULL; break; }
                buf = result = nb;
            }
            buf[len++] = (char)c;
        }
        redraw(prompt, buf, len);
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &e->saved);
    printf("\n");
    fflush(stdout);
    if (!result) { free(buf); return NULL; }
    buf[len] = 0;
    if (len) {
        char **nh = realloc(e->hist, (size_t)(e->n_hist + 1) * sizeof *nh);
        char *copy = strdup(buf);
        if (nh && copy) { e->hist = nh; e->hist[e->n_hist++] = copy; }
        else { free(copy); if (nh) e->hist = nh; }
    }
    return buf;
}

/* ------------------------------------------------------------------ conversation */
typedef struct msg {
    char *role, *content;
    int32_t *ids; /* its template encoding */
    size_t n_ids;
} msg;

typedef struct chat {
    gptc_ctx *ctx;
    gptc_model *m;
    gptc_tokenizer *tok;
    gptc_session *s;
    gptc_chat_tokens ct;
    gptc_gen_params p;
    char *system;
    msg *msgs;
    int n_msgs;
    int32_t *held; /* the tokens in the session's sequence 0 */
    size_t n_held;
    gptc_decoder *dec;
    cli_stream st;
    int32_t stops[4];
    int n_stops;
} chat;

static void msg_free(msg *m) {
    free(m->role);
    free(m->content);
    free(m->ids);
}

static int add_msg(chat *c, const char *role, const char *content, const int32_t *ids, size_t n_ids) {
    msg *nm = realloc(c->msgs, (size_t)(c->n_msgs + 1) * sizeof *nm);
    if (!nm) return -1;
    c->msgs = nm;
    msg *m = &c->msgs[c->n_msgs];
    memset(m, 0, sizeof *m);
    m->role = strdup(role);
    m->content = strdup(content);
    if (!m->role || !m->content) { msg_free(m); return -1; }
    if (ids) {
        m->ids = malloc((n_ids + 1) * sizeof(int32_t));
        if (!m->ids) { msg_free(m); return -1; }
        memcpy(m->ids, ids, n_ids * sizeof(int32_t));
        m->n_ids = n_ids;
    } else {
        gptc_chat_message one = {role, content};
        if (gptc_chat_encode(c->ctx, c->tok, &c->ct, &one, 1, 0, &m->ids, &m->n_ids, NULL)) { msg_free(m); return -1; }
    }
    c->n_msgs++;
    return 0;
}

static void drop_msg(chat *c, int i) {
    msg_free(&c->msgs[i]);
    memmove(c->msgs + i, c->msgs + i + 1, (size_t)(c->n_msgs - i - 1) * sizeof *c->msgs);
    c->n_msgs--;
}

static void reset_conversation(chat *c) {
    while (c->n_msgs) drop_msg(c, c->n_msgs - 1);
    if (c->system && *c->system) add_msg(c, "system", c->system, NULL, 0);
}

static int is_stop_id(const chat *c, int32_t t) {
    for (int i = 0; i < c->n_stops; i++)
        if (c->stops[i] == t) return 1;
    return 0;
}

static int on_token(void *user, int seq, int32_t t) {
    chat *c = user;
    (void)seq;
    if (interrupted) return 1;
    if (is_stop_id(c, t) || t < 0 || (size_t)t >= gptc_tokenizer_n_vocab(c->tok)) return 0;
    char piece[512];
    size_t n;
    if (gptc_decoder_push(c->ctx, c->dec, t, piece, sizeof piece, &n)) return 1;
    cli_stream_piece(&c->st, piece, n, 0);
    return 0;
}

/* The prompt: every message's ids + "<|im_start|>assistant\n". */
static int32_t *build_prompt(chat *c, size_t *n) {
    int32_t *gp;
    size_t ngp;
    if (gptc_chat_encode(c->ctx, c->tok, &c->ct, NULL, 0, 1, &gp, &ngp, NULL)) return NULL;
    size_t total = ngp;
    for (int i = 0; i < c->n_msgs; i++) total += c->msgs[i].n_ids;
    int32_t *ids = malloc((total + 1) * sizeof *ids);
    if (!ids) { free(gp); return NULL; }
    size_t k = 0;
    for (int i = 0; i < c->n_msgs; i++) {
        memcpy(ids + k, c->msgs[i].ids, c->msgs[i].n_ids * sizeof *ids);
        k += c->msgs[i].n_ids;
    }
    memcpy(ids + k, gp, ngp * sizeof *ids);
    free(gp);
    *n = total;
    return ids;
}

static void turn(chat *c, const char *user_text) {
    const gptc_config *cfg = gptc_model_config(c->m);
    if (add_msg(c, "user", user_text, NULL, 0)) { fprintf(stderr, "gptc chat: error: %s\n", gptc_errmsg(c->ctx)); return; }
    int room = c->p.max_new_tokens >= 0 ? c->p.max_new_tokens : 256;
    if (room >= cfg->n_positions) room = cfg->n_positions / 2;
    size_t n;
    int32_t *ids = build_prompt(c, &n);
    /* trim the oldest turns (after the system message) until prompt + reply fit */
    int first = c->n_msgs && !strcmp(c->msgs[0].role, "system") ? 1 : 0;
    while (ids && n + (size_t)room > (size_t)cfg->n_positions && c->n_msgs - first > 1) {
        drop_msg(c, first);
        while (c->n_msgs - first > 1 && strcmp(c->msgs[first].role, "user")) drop_msg(c, first);
        free(ids);
        ids = build_prompt(c, &n);
        fprintf(stderr, "[history trimmed to fit the context of %d tokens]\n", cfg->n_positions);
    }
    if (!ids) { fprintf(stderr, "gptc chat: error: %s\n", gptc_errmsg(c->ctx)); drop_msg(c, c->n_msgs - 1); return; }
    if (n + 1 > (size_t)cfg->n_positions) {
        fprintf(stderr, "gptc chat: the message is %zu tokens, more than the context of %d tokens allows\n", n,
                cfg->n_positions);
        free(ids);
        drop_msg(c, c->n_msgs - 1);
        return;
    }
    /* the session holds c->held: keep it when it is a prefix of the new prompt */
    size_t common = 0;
    while (common < c->n_held && common < n && c->held[common] == ids[common]) common++;
    if (common < c->n_held || c->n_held == 0) {
        gptc_session_reset(c->s, 0);
        c->n_held = 0;
    }
    gptc_gen_params p = c->p;
    p.max_new_tokens = room;
    if (p.n_eos < 0) p.n_eos = 0;
    for (int i = 0; i < c->n_stops && p.n_eos < GPTC_GEN_MAX_EOS; i++) p.eos_token_id[p.n_eos++] = c->stops[i];
    if (c->ct.im_end < 0 && p.n_stop < GPTC_GEN_MAX_STOP) strcpy(p.stop_strings[p.n_stop++], "<|im_end|>");
    p.num_return_sequences = 1;
    cli_stream_init(&c->st, stdout, &p);
    interrupted = 0;
    gptc_gen_result *r;
    if (gptc_generate(c->ctx, c->m, c->s, c->tok, ids, (int)n, &p, p.num_beams > 1 ? NULL : on_token, c, &r)) {
        fprintf(stderr, "gptc chat: error: %s\n", gptc_errmsg(c->ctx));
        gptc_session_reset(c->s, 0);
        c->n_held = 0;
        free(ids);
        drop_msg(c, c->n_msgs - 1);
        cli_stream_free(&c->st);
        return;
    }
    const gptc_gen_sequence *q = &r->seqs[0];
    char piece[512];
    size_t pl = 0;
    if (p.num_beams > 1) { /* no streaming: print the chosen beam */
        for (int k = 0; k < q->n_tokens; k++) on_token(c, 0, q->tokens[k]);
        gptc_session_reset(c->s, 0);
    }
    gptc_decoder_flush(c->ctx, c->dec, piece, sizeof piece, &pl);
    cli_stream_piece(&c->st, piece, pl, 1);
    printf("\n");
    fflush(stdout);
    char *text = cli_decode_text(c->ctx, c->tok, q->tokens, q->n_tokens, &p, c->stops[0], c->n_stops > 1 ? c->stops[1] : -2);
    /* the reply's ids: generated tokens up to the end-of-turn, then im_end + "\n" */
    int32_t *reply = NULL;
    size_t n_reply = 0;
    if (c->ct.im_end >= 0 && text) {
        int keep = q->n_tokens;
        if (keep && is_stop_id(c, q->tokens[keep - 1])) keep--;
        int32_t *nl;
        size_t n_nl;
        gptc_chat_message none = {"assistant", ""};
        int32_t *tmpl;
        size_t n_tmpl;
        /* "<|im_start|>assistant\n" + content + "<|im_end|>\n" with the content as generated */
        if (!gptc_chat_encode(c->ctx, c->tok, &c->ct, &none, 1, 0, &tmpl, &n_tmpl, NULL) &&
            !gptc_tokenizer_encode(c->ctx, c->tok, "\n", 1, 0, &nl, &n_nl)) {
            /* tmpl = im_start, "assistant", "\n", im_end, "\n": content goes before im_end */
            size_t head = n_tmpl - 1 - n_nl;
            reply = malloc((n_tmpl + (size_t)keep + 1) * sizeof *reply);
            if (reply) {
                memcpy(reply, tmpl, head * sizeof *reply);
                memcpy(reply + head, q->tokens, (size_t)keep * sizeof *reply);
                memcpy(reply + head + keep, tmpl + head, (n_tmpl - head) * sizeof *reply);
                n_reply = n_tmpl + (size_t)keep;
            }
            free(nl);
            free(tmpl);
        }
    }
    if (text) add_msg(c, "assistant", text, reply, n_reply);
    free(reply);
    free(text);
    /* what the session holds now */
    int len = gptc_session_len(c->s, 0);
    int32_t *held = realloc(c->held, ((size_t)len + 1) * sizeof *held);
    if (held && len >= (int)n) {
        c->held = held;
        memcpy(c->held, ids, n * sizeof *held);
        memcpy(c->held + n, q->tokens, (size_t)(len - (int)n) * sizeof *held);
        c->n_held = (size_t)len;
    } else {
        if (held) c->held = held;
        gptc_session_reset(c->s, 0);
        c->n_held = 0;
    }
    if (interrupted) fprintf(stderr, "[stopped]\n");
    gptc_gen_result_free(r);
    cli_stream_free(&c->st);
    free(ids);
}

static void save(chat *c, const char *path) {
    json_t *arr = json_array(), *root = json_object();
    for (int i = 0; i < c->n_msgs; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string(c->msgs[i].role));
        json_t *s = json_string(c->msgs[i].content);
        json_object_set_new(o, "content", s ? s : json_string("\xEF\xBF\xBD"));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "messages", arr);
    if (json_dump_file(root, path, JSON_INDENT(2)) != 0) fprintf(stderr, "gptc chat: cannot write %s\n", path);
    else fprintf(stderr, "[saved %d messages to %s]\n", c->n_msgs, path);
    json_decref(root);
}

static void print_params(const gptc_gen_params *p) {
    printf("max_new_tokens=%d do_sample=%d temperature=%g top_k=%d top_p=%g min_p=%g typical_p=%g "
           "repetition_penalty=%g no_repeat_ngram_size=%d presence_penalty=%g frequency_penalty=%g num_beams=%d "
           "seed=%llu\n", p->max_new_tokens, p->do_sample, p->temperature, p->top_k, p->top_p, p->min_p, p->typical_p,
           p->repetition_penalty, p->no_repeat_ngram_size, p->presence_penalty, p->frequency_penalty, p->num_beams,
           (unsigned long long)p->seed);
}

int cmd_chat(int argc, char **argv) {
    const char *model_dir = cli_find_model(argc, argv), *system = NULL, *unused;
    long threads = 0;
    for (int i = 1; i < argc; i++) cli_help_check(argv, i, usage);
    if (!model_dir) {
        fprintf(stderr, "gptc chat: --model is required\ntry `gptc chat --help`\n");
        return 2;
    }
    chat c;
    memset(&c, 0, sizeof c);
    c.p = gptc_gen_default_params();
    gptc_ctx *ctx0 = cli_ctx("chat", 0);
    if (gptc_generation_config_load(ctx0, model_dir, &c.p)) cli_die("chat", ctx0, NULL);
    gptc_ctx_free(ctx0);
    if (c.p.max_new_tokens < 0) c.p.max_new_tokens = 256;
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &unused)) continue;
        if (cli_opt_str(argc, argv, &i, "--system", &system)) continue;
        if (cli_opt_int(argc, argv, &i, "--threads", &threads)) continue;
        if (cli_gen_option(argc, argv, &i, &c.p)) continue;
        cli_bad_option("chat", argv[i]);
    }
    c.ctx = cli_ctx("chat", (int)threads);
    if (c.p.num_return_sequences != 1) cli_die("chat", NULL, "--num-return-sequences must be 1 in a chat");
    if (gptc_gen_params_validate(c.ctx, &c.p)) cli_die("chat", c.ctx, NULL);
    if (gptc_model_load(c.ctx, model_dir, &c.m)) cli_die("chat", c.ctx, NULL);
    if (gptc_tokenizer_load(c.ctx, model_dir, &c.tok)) cli_die("chat", c.ctx, "a chat needs a tokenizer");
    const gptc_config *cfg = gptc_model_config(c.m);
    if (gptc_tokenizer_n_vocab(c.tok) > (size_t)cfg->vocab_size)
        cli_die("chat", NULL, "%s: the tokenizer has more ids than the model's vocab_size", model_dir);
    gptc_chat_tokens_resolve(c.tok, cfg->vocab_size, &c.ct);
    if (c.ct.im_end >= 0) c.stops[c.n_stops++] = c.ct.im_end;
    if (c.ct.eos >= 0) c.stops[c.n_stops++] = c.ct.eos;
    if (cfg->eos_token_id >= 0 && cfg->eos_token_id != c.ct.eos) c.stops[c.n_stops++] = cfg->eos_token_id;
    if (!c.n_stops) c.stops[c.n_stops++] = -2;
    int nseq = c.p.num_beams > 1 ? c.p.num_beams : 1;
    if (gptc_session_new(c.ctx, c.m, nseq, 0, &c.s)) cli_die("chat", c.ctx, NULL);
    if (gptc_decoder_new(c.ctx, c.tok, &c.dec)) cli_die("chat", c.ctx, NULL);
    c.system = strdup(system ? system : "");
    reset_conversation(&c);

    editor e;
    memset(&e, 0, sizeof e);
    e.tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &e.saved) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    if (e.tty)
        fprintf(stderr, "chat with %s (%s markers%s); /help for commands, Ctrl-D to leave\n", model_dir,
                c.ct.im_end < 0 ? "text" : "token", c.ct.beyond_vocab ? " past the tokenizer's vocabulary" : "");
    char *line;
    while ((line = read_line(&e, e.tty ? "> " : "")) != NULL) {
        char *cmdline = line;
        while (*cmdline == ' ') cmdline++;
        if (!*cmdline) { free(line); continue; }
        if (cmdline[0] == '/') {
            if (!strcmp(cmdline, "/quit") || !strcmp(cmdline, "/exit")) { free(line); break; }
            if (!strcmp(cmdline, "/reset")) {
                reset_conversation(&c);
                printf("[conversation reset]\n");
            } else if (!strncmp(cmdline, "/system", 7) && (cmdline[7] == ' ' || !cmdline[7])) {
                free(c.system);
                c.system = strdup(cmdline[7] ? cmdline + 8 : "");
                if (c.n_msgs && !strcmp(c.msgs[0].role, "system")) drop_msg(&c, 0);
                if (c.system && *c.system) {
                    /* the system message goes first */
                    if (!add_msg(&c, "system", c.system, NULL, 0)) {
                        msg sys = c.msgs[c.n_msgs - 1];
                        memmove(c.msgs + 1, c.msgs, (size_t)(c.n_msgs - 1) * sizeof *c.msgs);
                        c.msgs[0] = sys;
                    }
                }
                printf("[system message set]\n");
            } else if (!strncmp(cmdline, "/save ", 6)) {
                save(&c, cmdline + 6);
            } else if (!strcmp(cmdline, "/params")) {
                print_params(&c.p);
            } else if (!strcmp(cmdline, "/help")) {
                printf("/reset  forget the conversation (keeps the system message)\n/system TEXT  set the system "
                       "message\n/save FILE  write the messages as JSON\n/params  show the generation settings\n"
                       "/quit  leave\n");
            } else {
                printf("unknown command %s (/help lists them)\n", cmdline);
            }
            fflush(stdout);
            free(line);
            continue;
        }
        turn(&c, cmdline);
        free(line);
    }
    for (int i = 0; i < e.n_hist; i++) free(e.hist[i]);
    free(e.hist);
    while (c.n_msgs) drop_msg(&c, c.n_msgs - 1);
    free(c.msgs);
    free(c.held);
    free(c.system);
    gptc_decoder_free(c.dec);
    gptc_session_free(c.s);
    gptc_tokenizer_free(c.tok);
    gptc_model_free(c.m);
    gptc_ctx_free(c.ctx);
    return 0;
}
