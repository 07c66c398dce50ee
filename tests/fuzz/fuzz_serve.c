/* fuzz_serve.c: libFuzzer target for the server's request bodies (serve/api.c): the first
 * byte picks the route (0 /v1/completions, 1 /v1/chat/completions, 2 /v1/embeddings), the
 * rest is the body, parsed for a server over a tiny random model (vocabulary of the tiny
 * tokenizer of fuzz_util.h with the chat markers, 32 positions, 4 slots). What parses is a
 * job that fits: 1 <= prompt < 32 tokens, prompt + max_new <= 32, 1..4 choices, valid
 * generation settings, ids in the vocabulary, and its response JSON (no tokens yet)
 * parses; every error is a 4xx with a message and OpenAI's error JSON parses. Corpus:
 * tests/fuzz/corpus_serve, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "serve/serve.h"
#include <jansson.h>

static gptc_server *fuzz_serve_server(void) {
    static gptc_server srv;
    static gptc_serve_model sm;
    static serve_engine *eng;
    if (eng) return &srv;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    const gptc_tokenizer *tok = fuzz_tiny_tokenizer(1);
    gptc_config c = gptc_config_default();
    c.n_layer = 1, c.n_head = 2, c.n_embd = 16, c.n_positions = 32;
    c.vocab_size = (int)gptc_tokenizer_n_vocab(tok);
    c.bos_token_id = c.eos_token_id = 259;
    gptc_model *m;
    if (!ctx || gptc_model_new(ctx, &c, 1, &m)) abort();
    sm.id = "tiny";
    sm.model = m;
    sm.tok = tok;
    sm.defaults = gptc_gen_default_params();
    srv.p = gptc_serve_default_params();
    srv.models = &sm;
    srv.n_models = 1;
    srv.engines = &eng;
    pthread_mutex_init(&srv.mu, NULL);
    pthread_cond_init(&srv.changed, NULL);
    if (serve_engine_new(ctx, &srv, &sm, 4, 0, 1, &eng)) abort();
    gptc_ctx_free(ctx);
    return &srv;
}

static void fuzz_serve_json_ok(char *s) {
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    if (!j) abort();
    json_decref(j);
    free(s);
}

FUZZ_TARGET(serve) {
    if (size < 1) return 0;
    gptc_server *srv = fuzz_serve_server();
    int route = data[0] % 3;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    serve_req r;
    memset(&r, 0, sizeof r);
    int status;
    if (route < 2) {
        status = serve_parse_generate(srv, body, len, route, &r);
        if (status == 200) {
            serve_job *j = r.job;
            if (!j || j->n_prompt < 1 || j->n_prompt >= 32 || j->max_new < 1 || j->n_prompt + j->max_new > 32 ||
                j->n_choices < 1 || j->n_choices > 4 || j->n_top < 0 || j->n_top > SERVE_MAX_TOP)
                abort();
            for (int i = 0; i < j->n_prompt; i++)
                if (j->prompt[i] < 0 || j->prompt[i] >= gptc_model_config(srv->models[0].model)->vocab_size) abort();
            gptc_ctx *ctx = gptc_ctx_new(NULL);
            if (gptc_gen_params_validate(ctx, &j->p)) abort();
            gptc_ctx_free(ctx);
            snprintf(r.id, sizeof r.id, "cmpl-1");
            fuzz_serve_json_ok(serve_response_json(srv, &r));
        }
    } else {
        int32_t **ids;
        int *ns, n;
        status = serve_parse_embed(srv, body, len, &r, &ids, &ns, &n);
        if (status == 200) {
            if (n < 1 || n > 64 || !ids) abort();
            for (int i = 0; i < n; i++) {
                if (ns[i] < 1 || ns[i] > 32) abort();
                free(ids[i]);
            }
            free(ids);
            free(ns);
        }
    }
    if (status != 200) {
        if (status < 400 || status > 499 || !r.err[0] || !r.err_type || r.job) abort();
        fuzz_serve_json_ok(serve_error_json(r.err, r.err_type, r.err_param, r.err_code));
    }
    serve_job_free(r.job);
    free(r.echo_text);
    return 0;
}
