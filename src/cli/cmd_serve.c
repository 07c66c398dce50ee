/* cmd_serve.c: `gptc serve`: loads the models as `gptc generate` does, starts the
 * library's OpenAI-compatible server (gptc_server_start) and waits for SIGTERM or
 * SIGINT, then drains the requests in flight and exits 0. */
#define _POSIX_C_SOURCE 200809L
#include "gen_opts.h"
#include "gptc.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: gptc serve --model DIR|REPO [--model DIR|REPO ...] [options]\n"
    "\n"
    "An OpenAI-compatible HTTP server with a chat page at / (docs/serve.md): POST\n"
    "/v1/completions and /v1/chat/completions (\"stream\": true for server-sent events),\n"
    "GET /v1/models, POST /v1/embeddings, /tokenize, /detokenize, GET /health, /metrics.\n"
    "Requests name a model by the --model value given. Concurrent requests are decoded\n"
    "together over --parallel KV-cache slots (continuous batching); a request gets the\n"
    "same tokens whatever else runs. Prints a line with \"listening\" and the address to\n"
    "stderr when ready; SIGTERM or SIGINT finish the requests in flight and exit 0.\n"
    "\n"
    "  --model DIR|REPO            model directory or Hub repository (repeatable: several models,\n"
    "                              each its own slots; requests name it as given here)\n"
    "  --host ADDR                 IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port N                    port (default 8080; 0 = any free port)\n"
    "  --parallel N                sequences decoded together per model (default 4; 1..64)\n"
    "  --ctx-size N                tokens per slot (default: the model's n_positions)\n"
    "  --api-key KEY               require \"Authorization: Bearer KEY\" on /v1, /tokenize,\n"
    "                              /detokenize and /metrics (/health and the page stay open)\n"
    "  --timeout S                 answer 408 to a request not done after S seconds (default: none)\n"
    "  --queue N                   requests waiting for a slot before 503 (default 64)\n"
    "  --max-body BYTES            request bodies larger than this get 413 (default 1048576)\n"
    GPTC_CLI_DTYPE_OPTION
    "  --threads N                 compute threads per model (default: all cores)\n"
    "\n"
    "Generation defaults come from each DIR/generation_config.json; requests override them.\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc serve --model m --port 8080 --parallel 8\n"
    "  curl -s localhost:8080/v1/completions -d '{\"prompt\": \"Hello\", \"max_tokens\": 20, \"temperature\": 0}'\n";

static void on_log(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "gptc serve: %s\n", line);
}

int cmd_serve(int argc, char **argv) {
    const char *dirs[16];
    int n_dirs = 0;
    const char *host = "127.0.0.1", *api_key = NULL, *dir;
    long port = 8080, parallel = 4, ctx_size = 0, threads = 0, queue = 64, max_body = 1 << 20;
    double timeout = 0;
    gptc_load_params lp = gptc_load_default_params();
    for (int i = 1; i < argc; i++) cli_help_check(argv, i, usage);
    for (int i = 1; i < argc; i++) {
        if (cli_opt_str(argc, argv, &i, "--model", &dir)) {
            if (n_dirs == 16) cli_die("serve", NULL, "at most 16 --model options");
            dirs[n_dirs++] = dir;
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--host", &host)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--port", 0, 65535, &port)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--parallel", 1, 64, &parallel)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--ctx-size", 1, 1 << 20, &ctx_size)) continue;
        if (cli_opt_str(argc, argv, &i, "--api-key", &api_key)) continue;
        if (cli_opt_float_in(argc, argv, &i, "--timeout", 0, 1e9, CLI_OPEN_LO, &timeout)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--queue", 0, 1 << 20, &queue)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--max-body", 1, 1L << 30, &max_body)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_dtype_option("serve", argc, argv, &i, &lp)) continue;
        cli_bad_option("serve", argv[i]);
    }
    if (!n_dirs) {
        fprintf(stderr, "gptc serve: --model is required\ntry `gptc serve --help`\n");
        return 2;
    }
    if (api_key && !*api_key) cli_die("serve", NULL, "--api-key is empty");
    gptc_ctx *ctx = cli_ctx("serve", (int)threads);
    gptc_serve_model models[16];
    gptc_model *loaded[16];
    gptc_tokenizer *toks[16];
    char *paths[16];
    for (int k = 0; k < n_dirs; k++) {
        /* a repository name is resolved (and pulled) as every --model is; requests name
         * the model by the --model value as given */
        char *model_dir = paths[k] = strdup(cli_model("serve", dirs[k]));
        if (!model_dir) cli_die("serve", NULL, "out of memory");
        gptc_gen_params p = gptc_gen_default_params();
        if (gptc_generation_config_load(ctx, model_dir, &p)) cli_die("serve", ctx, NULL);
        if (gptc_model_load_with(ctx, model_dir, &lp, &loaded[k])) cli_die_model("serve", ctx, model_dir);
        const gptc_config *c = gptc_model_config(loaded[k]);
        cli_gen_check_model("serve", &p, c, model_dir);
        if (gptc_tokenizer_load(ctx, model_dir, &toks[k])) cli_die("serve", ctx, "%s: serving needs a tokenizer", model_dir);
        if (gptc_tokenizer_n_vocab(toks[k]) > (size_t)c->vocab_size)
            cli_die("serve", NULL, "%s: the tokenizer has %zu ids, more than the model's vocab_size %d", model_dir,
                    gptc_tokenizer_n_vocab(toks[k]), c->vocab_size);
        if (ctx_size > c->n_positions)
            cli_die("serve", NULL, "--ctx-size %ld is more than %s's n_positions %d", ctx_size, model_dir, c->n_positions);
        models[k].id = dirs[k];
        models[k].model = loaded[k];
        models[k].tok = toks[k];
        models[k].defaults = p;
    }
    /* the signals are taken by sigwait below: every thread the server starts inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    gptc_serve_params sp = gptc_serve_default_params();
    sp.host = host;
    sp.port = (int)port;
    sp.parallel = (int)parallel;
    sp.ctx_size = (int)ctx_size;
    sp.api_key = api_key;
    sp.timeout_s = timeout;
    sp.queue_max = (int)queue;
    sp.max_body = (size_t)max_body;
    sp.n_threads = (int)threads;
    sp.log = on_log;
    gptc_server *srv;
    if (gptc_server_start(ctx, &sp, models, n_dirs, &srv)) cli_die("serve", ctx, NULL);
    fprintf(stderr, "gptc serve: listening on http://%s:%d\n", host, gptc_server_port(srv));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "gptc serve: %s: finishing the requests in flight\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    gptc_server_free(srv);
    for (int k = 0; k < n_dirs; k++) {
        gptc_tokenizer_free(toks[k]);
        gptc_model_free(loaded[k]);
        free(paths[k]);
    }
    gptc_ctx_free(ctx);
    fprintf(stderr, "gptc serve: stopped\n");
    return 0;
}
