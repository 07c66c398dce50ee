/* api.c: OpenAI's request and response shapes (Jansson): /v1/completions and
 * /v1/chat/completions bodies to a job (prompt encoded as `gptc generate --prompt`
 * encodes it, messages in the ChatML template of gptc_chat_encode), the finished job,
 * the streamed chunks and the usage counts back to JSON, errors as
 * {"error": {"message", "type", "param", "code"}}. The HTTP side is http.c. */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *serve_finish_name(int finish) {
    return finish == GPTC_FINISH_LENGTH ? "length" : finish < 0 ? NULL : "stop";
}

char *serve_error_json(const char *msg, const char *type, const char *param, const char *code) {
    json_t *e = json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", msg, "type", type, "param",
                          param ? json_string(param) : json_null(), "code", code ? json_string(code) : json_null());
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    return s;
}

static int bad(serve_req *r, int status, const char *type, const char *code, const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->status = status;
    r->err_type = type;
    r->err_code = code;
    r->err_param = param;
    return status;
}
#define BAD(param, ...) bad(r, 400, "invalid_request_error", "invalid_value", param, __VA_ARGS__)

/* A number field within [lo, hi]; absent or null leaves *out. Returns 0 when bad. */
static int num_field(json_t *o, const char *name, double lo, double hi, double *out, int *given) {
    json_t *v = json_object_get(o, name);
    if (given) *given = 0;
    if (!v || json_is_null(v)) return 1;
    if (!json_is_number(v)) return 0;
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) return 0;
    *out = x;
    if (given) *given = 1;
    return 1;
}

static int int_field(json_t *o, const char *name, long lo, long hi, long *out, int *given) {
    json_t *v = json_object_get(o, name);
    if (given) *given = 0;
    if (!v || json_is_null(v)) return 1;
    if (!json_is_integer(v)) return 0;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) return 0;
    *out = (long)x;
    if (given) *given = 1;
    return 1;
}

/* The model named by "model" (absent: the first one). */
static int find_model(gptc_server *srv, json_t *o, serve_req *r) {
    json_t *m = json_object_get(o, "model");
    if (!m || json_is_null(m)) return r->model = 0, 200;
    if (!json_is_string(m)) return BAD("model", "'model' must be a string");
    for (int i = 0; i < srv->n_models; i++)
        if (!strcmp(srv->models[i].id, json_string_value(m))) return r->model = i, 200;
    return bad(r, 404, "invalid_request_error", "model_not_found", "model", "The model '%s' does not exist",
               json_string_value(m));
}

/* The text of a chat message's content: a string or a list of {"type": "text", "text"} parts. */
static char *content_text(json_t *c) {
    if (json_is_string(c)) return strdup(json_string_value(c));
    if (!json_is_array(c)) return NULL;
    size_t n = 0, i;
    json_t *part;
    json_array_foreach(c, i, part) {
        json_t *t = json_object_get(part, "text");
        if (!json_is_string(t)) return NULL;
        n += json_string_length(t);
    }
    char *s = malloc(n + 1), *p = s;
    if (!s) return NULL;
    json_array_foreach(c, i, part) {
        json_t *t = json_object_get(part, "text");
        memcpy(p, json_string_value(t), json_string_length(t));
        p += json_string_length(t);
    }
    *p = 0;
    return s;
}

static gptc_status encode_chat(gptc_ctx *ctx, const gptc_serve_model *sm, json_t *msgs, serve_req *r, int32_t **ids,
                               size_t *n, gptc_chat_tokens *ct, int *status) {
    size_t nm = json_array_size(msgs), i;
    *status = 200;
    if (!json_is_array(msgs) || nm == 0) {
        *status = BAD("messages", "'messages' must be a non-empty list");
        return GPTC_EINVAL;
    }
    gptc_chat_message *m = calloc(nm, sizeof *m);
    char **texts = calloc(nm, sizeof *texts);
    gptc_status st = m && texts ? GPTC_OK : GPTC_ENOMEM;
    json_t *msg;
    json_array_foreach(msgs, i, msg) {
        if (st) break;
        json_t *role = json_object_get(msg, "role"), *content = json_object_get(msg, "content");
        if (!json_is_string(role)) {
            *status = BAD("messages", "messages[%zu].role must be a string", i);
            st = GPTC_EINVAL;
            break;
        }
        const char *rs = json_string_value(role);
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant") && strcmp(rs, "developer")) {
            *status = BAD("messages", "messages[%zu].role '%s' is not system, developer, user or assistant", i, rs);
            st = GPTC_EINVAL;
            break;
        }
        texts[i] = content && !json_is_null(content) ? content_text(content) : strdup("");
        if (!texts[i]) {
            *status = BAD("messages", "messages[%zu].content must be a string or a list of text parts", i);
            st = GPTC_EINVAL;
            break;
        }
        m[i].role = !strcmp(rs, "developer") ? "system" : rs;
        m[i].content = texts[i];
    }
    if (!st) {
        gptc_chat_tokens_resolve(sm->tok, gptc_model_config(sm->model)->vocab_size, ct);
        st = gptc_chat_encode(ctx, sm->tok, ct, m, (int)nm, 1, ids, n, NULL);
        if (st) *status = BAD("messages", "%s", gptc_errmsg(ctx));
    }
    for (size_t k = 0; texts && k < nm; k++) free(texts[k]);
    free(texts);
    free(m);
    return st;
}

int serve_parse_generate(gptc_server *srv, const char *body, size_t len, int chat, serve_req *r) {
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    r->chat = chat;
    r->status = 200;
    if (!ctx) { bad(r, 500, "server_error", NULL, NULL, "out of memory"); goto done; }
    if (!o) { BAD(NULL, "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column); goto done; }
    if (!json_is_object(o)) { BAD(NULL, "the body must be a JSON object"); goto done; }
    if (find_model(srv, o, r) != 200) goto done;
    const gptc_serve_model *sm = &srv->models[r->model];
    serve_engine *e = srv->engines[r->model];
    const gptc_config *cfg = gptc_model_config(sm->model);
    int ctx_size = serve_engine_ctx_size(e);
    gptc_gen_params p = sm->defaults;
    gptc_chat_tokens ct;
    json_t *v;
    /* the prompt */
    if (chat) {
        int status;
        if (encode_chat(ctx, sm, json_object_get(o, "messages"), r, &ids, &n_ids, &ct, &status)) goto done;
    } else {
        v = json_object_get(o, "prompt");
        if (json_is_array(v) && json_array_size(v) == 1 && json_is_string(json_array_get(v, 0))) v = json_array_get(v, 0);
        if (json_is_string(v)) {
            if (gptc_tokenizer_encode(ctx, sm->tok, json_string_value(v), json_string_length(v), 1, &ids, &n_ids)) {
                bad(r, 500, "server_error", NULL, "prompt", "%s", gptc_errmsg(ctx));
                goto done;
            }
            r->echo_text = strdup(json_string_value(v));
        } else if (json_is_array(v) && json_array_size(v) > 0 && json_is_integer(json_array_get(v, 0))) {
            size_t i;
            json_t *t;
            ids = malloc(json_array_size(v) * sizeof *ids);
            if (!ids) { bad(r, 500, "server_error", NULL, NULL, "out of memory"); goto done; }
            json_array_foreach(v, i, t) {
                if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) >= cfg->vocab_size) {
                    BAD("prompt", "prompt[%zu] is not a token id in [0, %d)", i, cfg->vocab_size);
                    goto done;
                }
                ids[n_ids++] = (int32_t)json_integer_value(t);
            }
            char *txt;
            size_t tl;
            if (!gptc_tokenizer_decode(ctx, sm->tok, ids, n_ids, &txt, &tl)) r->echo_text = txt;
        } else if (json_is_array(v)) {
            BAD("prompt", "'prompt' must be a string, a list of one string or a list of token ids (several prompts in one request are not supported)");
            goto done;
        } else {
            BAD("prompt", "'prompt' is required (a string or a list of token ids)");
            goto done;
        }
    }
    if (n_ids == 0) { BAD(chat ? "messages" : "prompt", "the prompt is empty"); goto done; }
    if ((int)n_ids >= ctx_size) {
        bad(r, 400, "invalid_request_error", "context_length_exceeded", chat ? "messages" : "prompt",
            "the prompt is %zu tokens; this model's context is %d tokens (prompt + at least one new token)", n_ids,
            ctx_size);
        goto done;
    }
    /* sampling */
    double x;
    long k;
    int given;
    x = 1.0;
    if (!num_field(o, "temperature", 0, 2, &x, &given)) { BAD("temperature", "'temperature' must be a number in [0, 2]"); goto done; }
    p.temperature = (float)x;
    p.do_sample = x > 0;
    x = p.top_p;
    if (!num_field(o, "top_p", 0, 1, &x, NULL) || !(x > 0)) { BAD("top_p", "'top_p' must be a number in (0, 1]"); goto done; }
    p.top_p = (float)x;
    k = p.top_k;
    if (!int_field(o, "top_k", 0, 1 << 30, &k, NULL)) { BAD("top_k", "'top_k' must be an integer >= 0"); goto done; }
    p.top_k = (int)k;
    x = p.min_p;
    if (!num_field(o, "min_p", 0, 1, &x, NULL)) { BAD("min_p", "'min_p' must be a number in [0, 1]"); goto done; }
    p.min_p = (float)x;
    x = p.repetition_penalty;
    if (!num_field(o, "repetition_penalty", 1e-6, 1e6, &x, NULL)) { BAD("repetition_penalty", "'repetition_penalty' must be a number > 0"); goto done; }
    p.repetition_penalty = (float)x;
    x = p.presence_penalty;
    if (!num_field(o, "presence_penalty", -2, 2, &x, NULL)) { BAD("presence_penalty", "'presence_penalty' must be a number in [-2, 2]"); goto done; }
    p.presence_penalty = (float)x;
    x = p.frequency_penalty;
    if (!num_field(o, "frequency_penalty", -2, 2, &x, NULL)) { BAD("frequency_penalty", "'frequency_penalty' must be a number in [-2, 2]"); goto done; }
    p.frequency_penalty = (float)x;
    long beams = 1;
    if (!int_field(o, "num_beams", 1, SERVE_MAX_N, &beams, NULL)) { BAD("num_beams", "'num_beams' must be an integer in [1, %d]", SERVE_MAX_N); goto done; }
    x = p.length_penalty;
    if (!num_field(o, "length_penalty", -1e6, 1e6, &x, NULL)) { BAD("length_penalty", "'length_penalty' must be a number"); goto done; }
    p.length_penalty = (float)x;
    v = json_object_get(o, "early_stopping");
    if (v && !json_is_null(v) && !json_is_boolean(v)) { BAD("early_stopping", "'early_stopping' must be a boolean"); goto done; }
    if (json_is_boolean(v)) p.early_stopping = json_is_true(v);
    long seed = 0;
    int seed_given;
    if (!int_field(o, "seed", -(1L << 62), 1L << 62, &seed, &seed_given)) { BAD("seed", "'seed' must be an integer"); goto done; }
    if (seed_given) p.seed = (uint64_t)seed;
    else {
        uint64_t sd = (uint64_t)(serve_now() * 1e9) ^ (uint64_t)(uintptr_t)r;
        p.seed = gptc_splitmix64(&sd);
    }
    long n = 1;
    int max_n = serve_engine_slots(e) < SERVE_MAX_N ? serve_engine_slots(e) : SERVE_MAX_N;
    if (!int_field(o, "n", 1, max_n, &n, NULL)) { BAD("n", "'n' must be an integer in [1, %d] (--parallel)", max_n); goto done; }
    long max_tokens = chat ? ctx_size : 16;
    if (!int_field(o, chat && json_object_get(o, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens", 1,
                   1 << 30, &max_tokens, NULL)) {
        BAD("max_tokens", "'max_tokens' must be an integer >= 1");
        goto done;
    }
    if (max_tokens > ctx_size - (long)n_ids) max_tokens = ctx_size - (long)n_ids;
    /* stop strings */
    p.n_stop = 0;
    v = json_object_get(o, "stop");
    if (v && !json_is_null(v)) {
        json_t *one = json_is_string(v) ? v : NULL;
        size_t cnt = one ? 1 : json_array_size(v);
        if ((!one && !json_is_array(v)) || cnt > GPTC_GEN_MAX_STOP - 1) {
            BAD("stop", "'stop' must be a string or a list of at most %d strings", GPTC_GEN_MAX_STOP - 1);
            goto done;
        }
        for (size_t i = 0; i < cnt; i++) {
            json_t *s = one ? one : json_array_get(v, i);
            if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) >= GPTC_GEN_STOP_LEN ||
                strlen(json_string_value(s)) != json_string_length(s)) {
                BAD("stop", "stop strings must be non-empty strings of at most %d bytes", GPTC_GEN_STOP_LEN - 1);
                goto done;
            }
            strcpy(p.stop_strings[p.n_stop++], json_string_value(s));
        }
    }
    /* end of sequence: the model's eos (as gptc generate), and a chat turn's markers */
    if (p.n_eos < 0) {
        p.n_eos = cfg->eos_token_id >= 0;
        p.eos_token_id[0] = cfg->eos_token_id;
    }
    if (chat) {
        int32_t extra[3] = {ct.im_end, ct.eos, cfg->eos_token_id};
        for (int i = 0; i < 3; i++) {
            int have = extra[i] < 0;
            for (int q = 0; q < p.n_eos; q++) have |= p.eos_token_id[q] == extra[i];
            if (!have && p.n_eos < GPTC_GEN_MAX_EOS) p.eos_token_id[p.n_eos++] = extra[i];
        }
        if (ct.im_end < 0) strcpy(p.stop_strings[p.n_stop++], "<|im_end|>");
    }
    p.max_new_tokens = (int)max_tokens;
    p.num_return_sequences = beams > 1 ? (int)n : 1;
    p.num_beams = (int)beams;
    if (beams > 1) {
        /* beam search is deterministic: the sampling fields do not apply */
        p.do_sample = 0;
        if (n > beams) { BAD("n", "'n' must be at most 'num_beams' with beam search"); goto done; }
        if (p.n_stop) { BAD("stop", "stop strings are not supported with beam search"); goto done; }
    }
    if (gptc_gen_params_validate(ctx, &p)) { BAD(NULL, "%s", gptc_errmsg(ctx)); goto done; }
    /* logprobs */
    long n_top = 0;
    int want_lp = 0;
    if (chat) {
        v = json_object_get(o, "logprobs");
        if (v && !json_is_null(v) && !json_is_boolean(v)) { BAD("logprobs", "'logprobs' must be a boolean"); goto done; }
        want_lp = json_is_true(v);
        if (!int_field(o, "top_logprobs", 0, SERVE_MAX_TOP, &n_top, &given)) {
            BAD("top_logprobs", "'top_logprobs' must be an integer in [0, %d]", SERVE_MAX_TOP);
            goto done;
        }
        if (given && !want_lp) { BAD("top_logprobs", "'top_logprobs' needs 'logprobs': true"); goto done; }
    } else {
        if (!int_field(o, "logprobs", 0, SERVE_MAX_TOP, &n_top, &want_lp)) {
            BAD("logprobs", "'logprobs' must be an integer in [0, %d]", SERVE_MAX_TOP);
            goto done;
        }
        v = json_object_get(o, "echo");
        if (v && !json_is_null(v) && !json_is_boolean(v)) { BAD("echo", "'echo' must be a boolean"); goto done; }
        r->echo = json_is_true(v);
        if (r->echo && want_lp) { BAD("echo", "'echo' with 'logprobs' (the prompt's logprobs) is not supported"); goto done; }
    }
    v = json_object_get(o, "stream");
    if (v && !json_is_null(v) && !json_is_boolean(v)) { BAD("stream", "'stream' must be a boolean"); goto done; }
    r->stream = json_is_true(v);
    v = json_object_get(json_object_get(o, "stream_options"), "include_usage");
    r->include_usage = json_is_true(v);
    if (beams > 1 && want_lp) { BAD("logprobs", "logprobs are not supported with beam search"); goto done; }
    r->job = serve_job_new(ids, (int)n_ids, (int)max_tokens, (int)n, (int)n_top);
    if (!r->job) { bad(r, 500, "server_error", NULL, NULL, "out of memory"); goto done; }
    if (beams > 1) r->job->kind = JOB_BEAMS;
    r->job->p = p;
    r->job->want_lp = want_lp;
    gptc_rng_seed(&r->job->rng, p.seed);
done:
    json_decref(o);
    free(ids);
    gptc_ctx_free(ctx);
    return r->status;
}

int serve_parse_embed(gptc_server *srv, const char *body, size_t len, serve_req *r, int32_t ***ids_out, int **n_out,
                      int *n_inputs) {
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr), *in;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    int32_t **ids = NULL;
    int *ns = NULL;
    size_t n = 0;
    r->status = 200;
    *n_inputs = 0;
    if (!o) { BAD(NULL, "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column); goto done; }
    if (!json_is_object(o)) { BAD(NULL, "the body must be a JSON object"); goto done; }
    if (find_model(srv, o, r) != 200) goto done;
    const gptc_serve_model *sm = &srv->models[r->model];
    int ctx_size = serve_engine_ctx_size(srv->engines[r->model]), V = gptc_model_config(sm->model)->vocab_size;
    json_t *fmt = json_object_get(o, "encoding_format");
    if (fmt && !json_is_null(fmt) && (!json_is_string(fmt) || (strcmp(json_string_value(fmt), "float") &&
                                                              strcmp(json_string_value(fmt), "base64")))) {
        BAD("encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
        goto done;
    }
    r->base64 = json_is_string(fmt) && !strcmp(json_string_value(fmt), "base64");
    in = json_object_get(o, "input");
    /* a string, a list of strings, a list of ids, or a list of lists of ids */
    int single = json_is_string(in) || (json_is_array(in) && json_array_size(in) && json_is_integer(json_array_get(in, 0)));
    n = single ? 1 : json_array_size(in);
    if (!in || (!single && (!json_is_array(in) || n == 0 || n > 64))) {
        BAD("input", "'input' must be a string, a list of strings or token lists (at most 64), or a list of token ids");
        goto done;
    }
    ids = calloc(n, sizeof *ids);
    ns = calloc(n, sizeof *ns);
    if (!ids || !ns || !ctx) { bad(r, 500, "server_error", NULL, NULL, "out of memory"); goto done; }
    for (size_t i = 0; i < n; i++) {
        json_t *x = single ? in : json_array_get(in, i);
        size_t m = 0;
        if (json_is_string(x)) {
            if (gptc_tokenizer_encode(ctx, sm->tok, json_string_value(x), json_string_length(x), 1, &ids[i], &m)) {
                bad(r, 500, "server_error", NULL, "input", "%s", gptc_errmsg(ctx));
                goto done;
            }
        } else if (json_is_array(x)) {
            size_t k;
            json_t *t;
            ids[i] = malloc((json_array_size(x) + 1) * sizeof(int32_t));
            if (!ids[i]) { bad(r, 500, "server_error", NULL, NULL, "out of memory"); goto done; }
            json_array_foreach(x, k, t) {
                if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) >= V) {
                    BAD("input", "input[%zu][%zu] is not a token id in [0, %d)", i, k, V);
                    goto done;
                }
                ids[i][m++] = (int32_t)json_integer_value(t);
            }
        } else {
            BAD("input", "input[%zu] must be a string or a list of token ids", i);
            goto done;
        }
        if (m == 0) { BAD("input", "input %zu is empty", i); goto done; }
        if ((int)m > ctx_size) {
            bad(r, 400, "invalid_request_error", "context_length_exceeded", "input",
                "input %zu is %zu tokens; this model's context is %d tokens", i, m, ctx_size);
            goto done;
        }
        ns[i] = (int)m;
    }
    *n_inputs = (int)n;
done:
    if (r->status != 200) {
        for (size_t i = 0; ids && i < n; i++) free(ids[i]);
        free(ids);
        free(ns);
        ids = NULL;
        ns = NULL;
    }
    *ids_out = ids;
    *n_out = ns;
    json_decref(o);
    gptc_ctx_free(ctx);
    return r->status;
}

/* ---------------------------------------------------------------- responses */
static json_t *token_bytes(const gptc_tokenizer *tok, int32_t id) {
    json_t *a = json_array();
    char *raw;
    size_t n;
    if (id >= 0 && (size_t)id < gptc_tokenizer_n_vocab(tok) && !gptc_tokenizer_decode(NULL, tok, &id, 1, &raw, &n)) {
        for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer((unsigned char)raw[i]));
        free(raw);
    }
    return a;
}

static json_t *tok_string(const gptc_tokenizer *tok, int32_t id) {
    size_t n;
    char *s = serve_token_text(tok, id, &n);
    json_t *j = json_stringn(s ? s : "", s ? n : 0);
    free(s);
    return j;
}

/* logprobs of tokens [t0, t1) of choice c (an eos that ended it is left out) */
static json_t *logprobs_json(gptc_server *srv, const serve_req *r, int c, int t0, int t1, size_t text_off) {
    const serve_job *j = r->job;
    const serve_choice *ch = &j->ch[c];
    const gptc_tokenizer *tok = srv->models[r->model].tok;
    if (!j->want_lp) return json_null();
    if (ch->finish == GPTC_FINISH_EOS && t1 == ch->n && t1 > t0) t1--;
    if (r->chat) {
        json_t *content = json_array();
        for (int t = t0; t < t1; t++) {
            int32_t id = ch->ids[j->n_prompt + t];
            json_t *top = json_array();
            for (int k = 0; k < j->n_top; k++) {
                int32_t tid = ch->top_id[(size_t)t * j->n_top + k];
                json_array_append_new(top, json_pack("{s:o,s:f,s:o}", "token", tok_string(tok, tid), "logprob",
                                                     (double)ch->top_lp[(size_t)t * j->n_top + k], "bytes",
                                                     token_bytes(tok, tid)));
            }
            json_array_append_new(content, json_pack("{s:o,s:f,s:o,s:o}", "token", tok_string(tok, id), "logprob",
                                                     (double)ch->lp[t], "bytes", token_bytes(tok, id), "top_logprobs", top));
        }
        return json_pack("{s:o}", "content", content);
    }
    json_t *toks = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
    for (int t = t0; t < t1; t++) {
        int32_t id = ch->ids[j->n_prompt + t];
        json_t *ts = tok_string(tok, id);
        json_array_append_new(offs, json_integer((json_int_t)text_off));
        text_off += json_string_length(ts);
        json_array_append_new(toks, ts);
        json_array_append_new(lps, json_real((double)ch->lp[t]));
        json_t *top = json_object();
        for (int k = 0; k < j->n_top; k++) {
            size_t n;
            char *s = serve_token_text(tok, ch->top_id[(size_t)t * j->n_top + k], &n);
            if (s) json_object_set_new(top, s, json_real((double)ch->top_lp[(size_t)t * j->n_top + k]));
            free(s);
        }
        json_array_append_new(tops, top);
    }
    return json_pack("{s:o,s:o,s:o,s:o}", "tokens", toks, "token_logprobs", lps, "top_logprobs", tops, "text_offset",
                     offs);
}

static json_t *usage_json(const serve_req *r) {
    long done = 0;
    for (int c = 0; c < r->job->n_choices; c++) done += r->job->ch[c].n;
    return json_pack("{s:i,s:I,s:I}", "prompt_tokens", r->job->n_prompt, "completion_tokens", (json_int_t)done,
                     "total_tokens", (json_int_t)(done + r->job->n_prompt));
}

static char *dump(json_t *o) {
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *serve_response_json(gptc_server *srv, const serve_req *r) {
    const serve_job *j = r->job;
    json_t *choices = json_array();
    for (int c = 0; c < j->n_choices; c++) {
        const serve_choice *ch = &j->ch[c];
        const char *fin = serve_finish_name(ch->finish);
        json_t *ch_json;
        if (r->chat) {
            ch_json = json_pack("{s:i,s:{s:s,s:s%},s:o,s:s}", "index", c, "message", "role", "assistant", "content",
                                ch->text ? ch->text : "", ch->text_len, "logprobs", logprobs_json(srv, r, c, 0, ch->n, 0),
                                "finish_reason", fin);
        } else {
            size_t el = r->echo && r->echo_text ? strlen(r->echo_text) : 0;
            char *t = malloc(el + ch->text_len + 1);
            if (t) {
                memcpy(t, r->echo_text ? r->echo_text : "", el);
                memcpy(t + el, ch->text ? ch->text : "", ch->text_len);
                t[el + ch->text_len] = 0;
            }
            ch_json = json_pack("{s:s%,s:i,s:o,s:s}", "text", t ? t : "", t ? el + ch->text_len : 0, "index", c,
                                "logprobs", logprobs_json(srv, r, c, 0, ch->n, el), "finish_reason", fin);
            free(t);
        }
        json_array_append_new(choices, ch_json);
    }
    return dump(json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "id", r->id, "object", r->chat ? "chat.completion" : "text_completion",
                          "created", (json_int_t)r->created, "model", srv->models[r->model].id, "choices", choices,
                          "usage", usage_json(r)));
}

char *serve_chunk_json(gptc_server *srv, const serve_req *r, int c, const char *text, size_t len, int t0, int t1,
                       int finish, int role) {
    json_t *fin = finish >= 0 ? json_string(serve_finish_name(finish)) : json_null(), *ch;
    json_t *lp = t1 > t0 ? logprobs_json(srv, r, c, t0, t1, 0) : json_null();
    if (r->chat) {
        json_t *delta = json_object();
        if (role) json_object_set_new(delta, "role", json_string("assistant"));
        if (len || role) json_object_set_new(delta, "content", json_stringn(text, len));
        ch = json_pack("{s:i,s:o,s:o,s:o}", "index", c, "delta", delta, "logprobs", lp, "finish_reason", fin);
    } else {
        ch = json_pack("{s:s%,s:i,s:o,s:o}", "text", text, len, "index", c, "logprobs", lp, "finish_reason", fin);
    }
    return dump(json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", r->id, "object",
                          r->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)r->created,
                          "model", srv->models[r->model].id, "choices", ch));
}

char *serve_usage_chunk_json(gptc_server *srv, const serve_req *r) {
    return dump(json_pack("{s:s,s:s,s:I,s:s,s:[],s:o}", "id", r->id, "object",
                          r->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)r->created,
                          "model", srv->models[r->model].id, "choices", "usage", usage_json(r)));
}
