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
    "usage: gptc chat --model DIR|REPO [--system TEXT] [options]\n"
    "\n"
    "Talks with the model in DIR turn by turn (ChatML: <|im_start|>role\\ncontent<|im_end|>\\n).\n"
    "A reply ends at <|im_end|> or the end-of-text token. The oldest turns are dropped when\n"
    "the conversation outgrows the context. Reads lines from a terminal (with history:\n"
    "up/down, backspace, Ctrl-U, Ctrl-D to leave) or from a pipe. Ctrl-C stops a reply.\n"
    "\n"
    "commands: /reset  /system TEXT  /save FILE  /params  /help  /quit\n"
    "\n"
    "  --model DIR|REPO            model directory with a tokenizer\n"
    "  --system TEXT               system message\n"
    GPTC_CLI_GEN_OPTIONS
    "                              (chat default: --max-new-tokens 256 unless generation_config.json says)\n"
    GPTC_CLI_DTYPE_OPTION
    "  --threads N                 threads (default: all cores)\n"
    "\n"
    CLI_REPO_NOTE
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
/* The conversation itself (history, template, trimming, KV reuse, end of turn,
 * streaming) is the library's gptc_chat; this file reads lines and prints. */

static int print_piece(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return interrupted != 0;
}

static void turn(gptc_ctx *ctx, gptc_chat *c, const char *user_text, int n_positions) {
    gptc_chat_reply r;
    interrupted = 0;
    if (gptc_chat_send(ctx, c, user_text, print_piece, NULL, &r)) {
        printf("\n");
        fflush(stdout);
        fprintf(stderr, "gptc chat: error: %s\n", gptc_errmsg(ctx));
        return;
    }
    printf("\n");
    fflush(stdout);
    if (r.trimmed) fprintf(stderr, "[history trimmed to fit the context of %d tokens]\n", n_positions);
    if (interrupted) fprintf(stderr, "[stopped]\n");
    free(r.text);
}

static void save(const gptc_chat *c, const char *path) {
    json_t *arr = json_array(), *root = json_object();
    for (int i = 0; i < gptc_chat_n_messages(c); i++) {
        gptc_chat_message m = gptc_chat_get(c, i);
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string(m.role));
        json_t *s = json_string(m.content);
        json_object_set_new(o, "content", s ? s : json_string("\xEF\xBF\xBD"));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "messages", arr);
    if (json_dump_file(root, path, JSON_INDENT(2)) != 0) fprintf(stderr, "gptc chat: cannot write %s\n", path);
    else fprintf(stderr, "[saved %d messages to %s]\n", gptc_chat_n_messages(c), path);
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
    model_dir = cli_model("chat", model_dir);
    gptc_gen_params p = gptc_gen_default_params();
    gptc_load_params lp = gptc_load_default_params();
    gptc_ctx *ctx0 = cli_ctx("chat", 0);
    if (gptc_generation_config_load(ctx0, model_dir, &p)) cli_die("chat", ctx0, NULL);
    gptc_ctx_free(ctx0);
    if (p.max_new_tokens < 0) p.max_new_tokens = 256;
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &unused)) continue;
        if (cli_opt_str(argc, argv, &i, "--system", &system)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_dtype_option("chat", argc, argv, &i, &lp)) continue;
        if (cli_gen_option(argc, argv, &i, &p)) continue;
        cli_bad_option("chat", argv[i]);
    }
    gptc_ctx *ctx = cli_ctx("chat", (int)threads);
    if (p.num_return_sequences != 1) cli_die("chat", NULL, "--num-return-sequences must be 1 in a chat");
    if (gptc_gen_params_validate(ctx, &p)) cli_die("chat", ctx, NULL);
    gptc_model *m;
    gptc_tokenizer *tok;
    gptc_chat *c;
    if (gptc_model_load_with(ctx, model_dir, &lp, &m)) cli_die_model("chat", ctx, model_dir);
    cli_gen_check_model("chat", &p, gptc_model_config(m), model_dir);
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("chat", ctx, "a chat needs a tokenizer");
    if (gptc_chat_new(ctx, m, tok, &p, system, &c)) cli_die("chat", ctx, "%s", model_dir);
    const gptc_chat_tokens *ct = gptc_chat_markers(c);

    editor e;
    memset(&e, 0, sizeof e);
    e.tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &e.saved) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    if (e.tty)
        fprintf(stderr, "chat with %s (%s markers%s); /help for commands, Ctrl-D to leave\n", model_dir,
                ct->im_end < 0 ? "text" : "token", ct->beyond_vocab ? " past the tokenizer's vocabulary" : "");
    char *line;
    while ((line = read_line(&e, e.tty ? "> " : "")) != NULL) {
        char *cmdline = line;
        while (*cmdline == ' ') cmdline++;
        if (!*cmdline) { free(line); continue; }
        if (cmdline[0] == '/') {
            if (!strcmp(cmdline, "/quit") || !strcmp(cmdline, "/exit")) { free(line); break; }
            if (!strcmp(cmdline, "/reset")) {
                gptc_chat_reset(c);
                printf("[conversation reset]\n");
            } else if (!strncmp(cmdline, "/system", 7) && (cmdline[7] == ' ' || !cmdline[7])) {
                if (gptc_chat_set_system(ctx, c, cmdline[7] ? cmdline + 8 : "")) fprintf(stderr, "gptc chat: error: %s\n", gptc_errmsg(ctx));
                else printf("[system message set]\n");
            } else if (!strncmp(cmdline, "/save ", 6)) {
                save(c, cmdline + 6);
            } else if (!strcmp(cmdline, "/params")) {
                print_params(gptc_chat_params(c));
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
        turn(ctx, c, cmdline, gptc_model_config(m)->n_positions);
        free(line);
    }
    for (int i = 0; i < e.n_hist; i++) free(e.hist[i]);
    free(e.hist);
    gptc_chat_free(c);
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
