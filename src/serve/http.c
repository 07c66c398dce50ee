/* http.c: the HTTP front end (libmicrohttpd, a thread per connection): routes, the API
 * key, body limits, answers with OpenAI's error shapes, server-sent events for streams,
 * client disconnects (the job is cancelled and its slot freed at the next step),
 * --timeout, /metrics, the chat page, and draining on shutdown. Request and response
 * JSON is api.c's; generation is the engines' (engine.c). */
#define _GNU_SOURCE
#include "serve.h"
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const unsigned char gptc_serve_page[];
extern const size_t gptc_serve_page_len;

gptc_serve_params gptc_serve_default_params(void) {
    gptc_serve_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8080;
    p.parallel = 4;
    p.queue_max = 64;
    p.max_body = 1 << 20;
    return p;
}

pthread_mutex_t *serve_lock(gptc_server *s) { return &s->mu; }
void serve_changed(gptc_server *s) { pthread_cond_broadcast(&s->changed); }
serve_stats *serve_stats_of(gptc_server *s) { return &s->stats; }
int gptc_server_port(const gptc_server *s) { return s->port; }

/* One connection's request. */
typedef struct conn {
    gptc_server *srv;
    struct MHD_Connection *mc;
    char *body;
    size_t len, cap;
    int too_big;
    serve_req req;
    int have_req;
    double deadline;
    /* streaming */
    char *out;
    size_t out_len, out_sent, out_cap;
    int sent_tok[SERVE_MAX_N];
    size_t sent_text[SERVE_MAX_N];
    int sent_role[SERVE_MAX_N], sent_fin[SERVE_MAX_N];
    int finished, timed_out;
} conn;

static void slog(gptc_server *s, const char *fmt, ...) {
    if (!s->p.log) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->p.log(s->p.log_user, line);
}

static void count_status(gptc_server *s, int status) {
    int k = status < 300 ? 0 : status == 400 ? 1 : status == 401 ? 2 : status == 404 ? 3 : status == 408 ? 4 : 5;
    pthread_mutex_lock(&s->mu);
    s->stats.requests[k]++;
    if (status >= 500) s->stats.errors_5xx++;
    pthread_mutex_unlock(&s->mu);
}

/* Queues body (malloc'ed, taken) with status. */
static enum MHD_Result answer(conn *c, int status, const char *type, char *body, size_t len) {
    if (!body) {
        status = 500;
        type = "application/json";
        body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        len = body ? strlen(body) : 0;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    enum MHD_Result ok = MHD_queue_response(c->mc, (unsigned)status, r);
    MHD_destroy_response(r);
    count_status(c->srv, status);
    return ok;
}

static enum MHD_Result answer_json(conn *c, int status, char *json) {
    return answer(c, status, "application/json", json, json ? strlen(json) : 0);
}

static enum MHD_Result answer_error(conn *c, int status, const char *type, const char *code, const char *param,
                                    const char *msg) {
    return answer_json(c, status, serve_error_json(msg, type, param, code));
}

/* The peer closed its end (or the socket failed). */
static int client_gone(struct MHD_Connection *mc) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    struct pollfd pf = {ci->connect_fd, POLLRDHUP, 0};
    return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Waits (lock held) up to 50 ms for a change. */
static void wait_change(gptc_server *s) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&s->changed, &s->mu, &ts);
}

/* Cancels the job and waits until its engine let it go (lock held). */
static void cancel_and_wait(gptc_server *s, serve_engine *e, serve_job *j) {
    serve_engine_cancel(e, j);
    while (j->state != JOB_DONE) wait_change(s);
}

static int job_has_output(const serve_job *j) {
    for (int c = 0; c < j->n_choices; c++)
        if (j->ch[c].n) return 1;
    return 0;
}

/* Waits (lock held) until done(j) or a disconnect / the deadline; returns 0, 1 (gone) or 2 (timeout). */
static int wait_job(conn *c, int stream_start) {
    gptc_server *s = c->srv;
    serve_job *j = c->req.job;
    for (;;) {
        if (j->state == JOB_DONE || (stream_start && job_has_output(j))) return 0;
        if (client_gone(c->mc)) return 1;
        if (c->deadline > 0 && serve_now() > c->deadline) return 2;
        wait_change(s);
    }
}

static void out_add(conn *c, const char *a, size_t n) {
    if (c->out_len + n > c->out_cap) {
        size_t cap = (c->out_len + n) * 2 + 256;
        char *b = realloc(c->out, cap);
        if (!b) return;
        c->out = b;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, a, n);
    c->out_len += n;
}

static void out_event(conn *c, char *json) {
    if (!json) return;
    out_add(c, "data: ", 6);
    out_add(c, json, strlen(json));
    out_add(c, "\n\n", 2);
    free(json);
}

/* New events for what the job published since the last call (lock held). */
static void produce(conn *c) {
    serve_req *r = &c->req;
    serve_job *j = r->job;
    for (int k = 0; k < j->n_choices; k++) {
        serve_choice *ch = &j->ch[k];
        int fin = ch->finish >= 0 && (j->state == JOB_DONE || ch->slot < 0) ? ch->finish : -1;
        size_t tl = ch->text_len;
        if (ch->n == c->sent_tok[k] && tl == c->sent_text[k] && (fin < 0 || c->sent_fin[k]) && c->sent_role[k]) continue;
        if (r->chat && !c->sent_role[k]) { /* OpenAI's first chunk: the role, empty content */
            out_event(c, serve_chunk_json(c->srv, r, k, "", 0, 0, 0, -1, 1));
            c->sent_role[k] = 1;
        } else if (!r->chat && !c->sent_role[k]) {
            c->sent_role[k] = 1;
            if (r->echo && r->echo_text)
                out_event(c, serve_chunk_json(c->srv, r, k, r->echo_text, strlen(r->echo_text), 0, 0, -1, 0));
        }
        if (ch->n > c->sent_tok[k] || tl > c->sent_text[k])
            out_event(c, serve_chunk_json(c->srv, r, k, ch->text ? ch->text + c->sent_text[k] : "", tl - c->sent_text[k],
                                          c->sent_tok[k], ch->n, -1, 0));
        c->sent_tok[k] = ch->n;
        c->sent_text[k] = tl;
        if (fin >= 0 && !c->sent_fin[k]) {
            out_event(c, serve_chunk_json(c->srv, r, k, "", 0, 0, 0, fin, 0));
            c->sent_fin[k] = 1;
        }
    }
    if (j->state == JOB_DONE && !c->finished) {
        if (j->err) {
            out_event(c, serve_error_json(j->errmsg, "server_error", NULL, NULL));
        } else if (r->include_usage) {
            out_event(c, serve_usage_chunk_json(c->srv, r));
        }
        out_add(c, "data: [DONE]\n\n", 14);
        c->finished = 1;
    }
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    conn *c = cls;
    gptc_server *s = c->srv;
    serve_engine *e = s->engines[c->req.model];
    (void)pos;
    for (;;) {
        if (c->out_sent < c->out_len) {
            size_t n = c->out_len - c->out_sent < max ? c->out_len - c->out_sent : max;
            memcpy(buf, c->out + c->out_sent, n);
            c->out_sent += n;
            return (ssize_t)n;
        }
        c->out_len = c->out_sent = 0;
        if (c->finished) return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&s->mu);
        produce(c);
        if (c->out_len == 0) {
            if (client_gone(c->mc)) {
                cancel_and_wait(s, e, c->req.job);
                pthread_mutex_unlock(&s->mu);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            if (c->deadline > 0 && serve_now() > c->deadline && !c->timed_out) {
                c->timed_out = 1;
                cancel_and_wait(s, e, c->req.job);
                out_event(c, serve_error_json("the request took longer than --timeout", "timeout", NULL, "timeout"));
                out_add(c, "data: [DONE]\n\n", 14);
                c->finished = 1;
            } else {
                wait_change(s);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
}

static void sse_free(void *cls) { (void)cls; /* the conn is freed when the request completes */ }

static int auth_ok(conn *c) {
    gptc_server *s = c->srv;
    if (!s->api_key[0]) return 1;
    const char *h = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t a = strlen(h), b = strlen(s->api_key);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a && i < b; i++) diff |= (unsigned)(h[i] ^ s->api_key[i]);
    return diff == 0;
}

static enum MHD_Result do_generate(conn *c, int chat) {
    gptc_server *s = c->srv;
    serve_req *r = &c->req;
    int status = serve_parse_generate(s, c->body ? c->body : "", c->len, chat, r);
    c->have_req = 1;
    if (status != 200) return answer_error(c, status, r->err_type, r->err_code, r->err_param, r->err);
    serve_engine *e = s->engines[r->model];
    serve_job *j = r->job;
    pthread_mutex_lock(&s->mu);
    snprintf(r->id, sizeof r->id, "%s-%llu", chat ? "chatcmpl" : "cmpl", (unsigned long long)++s->next_id);
    r->created = (long)time(NULL);
    j->t_arrive = serve_now();
    c->deadline = s->p.timeout_s > 0 ? j->t_arrive + s->p.timeout_s : 0;
    int ok = !s->draining && serve_engine_submit(e, j, s->p.queue_max);
    if (!ok) {
        pthread_mutex_unlock(&s->mu);
        return answer_error(c, 503, "server_error", "server_busy", NULL,
                            s->draining ? "the server is shutting down" : "the queue is full; retry later");
    }
    int w = wait_job(c, r->stream);
    if (w) cancel_and_wait(s, e, j);
    pthread_mutex_unlock(&s->mu);
    if (w == 1) return MHD_NO; /* the client left: close */
    if (w == 2) return answer_error(c, 408, "timeout", "timeout", NULL, "the request took longer than --timeout");
    if (j->err) return answer_error(c, 500, "server_error", NULL, NULL, j->errmsg);
    if (!r->stream) return answer_json(c, 200, serve_response_json(s, r));
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_reader, c, sse_free);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    enum MHD_Result res = MHD_queue_response(c->mc, 200, resp);
    MHD_destroy_response(resp);
    count_status(s, 200);
    return res;
}

/* n floats as base64 of their little-endian bytes (OpenAI's encoding_format "base64") */
static char *base64_floats(const float *x, int n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t nb = (size_t)n * 4, k = 0;
    unsigned char *b = malloc(nb + 1);
    char *out = malloc((nb + 2) / 3 * 4 + 1);
    if (!b || !out) {
        free(b);
        free(out);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int q = 0; q < 4; q++) b[4 * i + q] = (unsigned char)(u >> (8 * q));
    }
    for (size_t i = 0; i < nb; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < nb ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < nb ? b[i + 2] : 0);
        out[k++] = tab[v >> 18];
        out[k++] = tab[(v >> 12) & 63];
        out[k++] = i + 1 < nb ? tab[(v >> 6) & 63] : '=';
        out[k++] = i + 2 < nb ? tab[v & 63] : '=';
    }
    out[k] = 0;
    free(b);
    return out;
}

static enum MHD_Result do_embeddings(conn *c) {
    gptc_server *s = c->srv;
    serve_req *r = &c->req;
    int32_t **ids;
    int *ns, n;
    int status = serve_parse_embed(s, c->body ? c->body : "", c->len, r, &ids, &ns, &n);
    if (status != 200) return answer_error(c, status, r->err_type, r->err_code, r->err_param, r->err);
    serve_engine *e = s->engines[r->model];
    serve_job **jobs = calloc((size_t)n, sizeof *jobs);
    int ok = jobs != NULL, gone = 0, timeout = 0;
    long total = 0;
    for (int i = 0; ok && i < n; i++) {
        ok = (jobs[i] = serve_job_new(ids[i], ns[i], 0, 1, 0)) != NULL;
        if (ok) jobs[i]->kind = JOB_EMBED;
        total += ns[i];
    }
    for (int i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(ns);
    if (!ok) {
        for (int i = 0; jobs && i < n; i++) serve_job_free(jobs[i]);
        free(jobs);
        return answer_error(c, 500, "server_error", NULL, NULL, "out of memory");
    }
    double deadline = s->p.timeout_s > 0 ? serve_now() + s->p.timeout_s : 0;
    pthread_mutex_lock(&s->mu);
    int submitted = 0;
    for (int i = 0; i < n && !s->draining; i++) {
        jobs[i]->t_arrive = serve_now();
        if (!serve_engine_submit(e, jobs[i], s->p.queue_max)) break;
        submitted++;
    }
    for (int i = 0; i < submitted; i++) {
        while (jobs[i]->state != JOB_DONE && !gone && !timeout) {
            if (client_gone(c->mc)) gone = 1;
            else if (deadline > 0 && serve_now() > deadline) timeout = 1;
            else wait_change(s);
        }
    }
    for (int i = 0; i < submitted; i++) cancel_and_wait(s, e, jobs[i]);
    pthread_mutex_unlock(&s->mu);
    enum MHD_Result res;
    if (gone) res = MHD_NO;
    else if (timeout) res = answer_error(c, 408, "timeout", "timeout", NULL, "the request took longer than --timeout");
    else if (submitted < n) res = answer_error(c, 503, "server_error", "server_busy", NULL, "the queue is full; retry later");
    else {
        json_t *data = json_array();
        const char *err = NULL;
        for (int i = 0; i < n; i++) {
            if (jobs[i]->err || !jobs[i]->embedding) { err = jobs[i]->errmsg; break; }
            int C = gptc_model_config(s->models[r->model].model)->n_embd;
            json_t *v;
            if (r->base64) {
                char *b = base64_floats(jobs[i]->embedding, C);
                v = b ? json_string(b) : NULL;
                free(b);
            } else {
                v = json_array();
                for (int k = 0; k < C; k++) json_array_append_new(v, json_real((double)jobs[i]->embedding[k]));
            }
            json_array_append_new(data, json_pack("{s:s,s:i,s:o}", "object", "embedding", "index", i, "embedding", v));
        }
        if (err) {
            json_decref(data);
            res = answer_error(c, 500, "server_error", NULL, NULL, err);
        } else {
            json_t *o = json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model",
                                  s->models[r->model].id, "usage", "prompt_tokens", (json_int_t)total, "total_tokens",
                                  (json_int_t)total);
            char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
            json_decref(o);
            res = answer_json(c, 200, js);
        }
    }
    for (int i = 0; i < n; i++) serve_job_free(jobs[i]);
    free(jobs);
    return res;
}

/* /tokenize {"content"} -> {"tokens"}; /detokenize {"tokens"} -> {"content"} (llama-server's). */
static enum MHD_Result do_tokens(conn *c, int detok) {
    gptc_server *s = c->srv;
    json_error_t jerr;
    json_t *o = json_loadb(c->body ? c->body : "", c->len, 0, &jerr), *out = NULL;
    char msg[300];
    int mi = 0;
    if (!o || !json_is_object(o)) {
        json_decref(o);
        snprintf(msg, sizeof msg, "malformed JSON: %s", o ? "the body must be an object" : jerr.text);
        return answer_error(c, 400, "invalid_request_error", "invalid_value", NULL, msg);
    }
    json_t *m = json_object_get(o, "model");
    if (json_is_string(m)) {
        mi = -1;
        for (int i = 0; i < s->n_models; i++)
            if (!strcmp(s->models[i].id, json_string_value(m))) mi = i;
        if (mi < 0) {
            snprintf(msg, sizeof msg, "The model '%.200s' does not exist", json_string_value(m));
            json_decref(o);
            return answer_error(c, 404, "invalid_request_error", "model_not_found", "model", msg);
        }
    }
    const gptc_tokenizer *tok = s->models[mi].tok;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    msg[0] = 0;
    if (!detok) {
        json_t *t = json_object_get(o, "content");
        int32_t *ids;
        size_t n;
        if (!json_is_string(t)) snprintf(msg, sizeof msg, "'content' must be a string");
        else if (gptc_tokenizer_encode(ctx, tok, json_string_value(t), json_string_length(t), 1, &ids, &n))
            snprintf(msg, sizeof msg, "%s", gptc_errmsg(ctx));
        else {
            json_t *a = json_array();
            for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
            free(ids);
            out = json_pack("{s:o}", "tokens", a);
        }
    } else {
        json_t *t = json_object_get(o, "tokens"), *x;
        size_t n = json_array_size(t), i;
        int32_t *ids = malloc((n + 1) * sizeof *ids);
        if (!json_is_array(t)) snprintf(msg, sizeof msg, "'tokens' must be a list of token ids");
        json_array_foreach(t, i, x) {
            if (msg[0] || !ids) break;
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= (json_int_t)gptc_tokenizer_n_vocab(tok))
                snprintf(msg, sizeof msg, "tokens[%zu] is not a token id in [0, %zu)", i, gptc_tokenizer_n_vocab(tok));
            else ids[i] = (int32_t)json_integer_value(x);
        }
        char *txt;
        size_t tl;
        if (!msg[0] && ids) {
            if (gptc_tokenizer_decode(ctx, tok, ids, n, &txt, &tl)) snprintf(msg, sizeof msg, "%s", gptc_errmsg(ctx));
            else {
                /* as valid UTF-8: each invalid byte sequence becomes U+FFFD */
                size_t k;
                char *clean = serve_utf8_clean(txt, tl, &k);
                json_t *str = clean ? json_stringn(clean, k) : NULL;
                free(clean);
                free(txt);
                out = str ? json_pack("{s:o}", "content", str) : NULL;
            }
        }
        free(ids);
    }
    gptc_ctx_free(ctx);
    json_decref(o);
    if (!out) return answer_error(c, 400, "invalid_request_error", "invalid_value", NULL, msg[0] ? msg : "bad request");
    char *js = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return answer_json(c, 200, js);
}

static enum MHD_Result do_models(conn *c) {
    gptc_server *s = c->srv;
    json_t *data = json_array();
    for (int i = 0; i < s->n_models; i++) {
        const gptc_config *cfg = gptc_model_config(s->models[i].model);
        json_array_append_new(data, json_pack("{s:s,s:s,s:I,s:s,s:{s:i,s:i}}", "id", s->models[i].id, "object", "model",
                                              "created", (json_int_t)s->started, "owned_by", "gptc", "meta",
                                              "n_ctx", serve_engine_ctx_size(s->engines[i]), "n_vocab", cfg->vocab_size));
    }
    json_t *o = json_pack("{s:s,s:o}", "object", "list", "data", data);
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return answer_json(c, 200, js);
}

static enum MHD_Result do_metrics(conn *c) {
    gptc_server *s = c->srv;
    static const char *cls[6] = {"2xx", "400", "401", "404", "408", "other"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return answer_error(c, 500, "server_error", NULL, NULL, "out of memory");
    pthread_mutex_lock(&s->mu);
    serve_stats st = s->stats;
    int queued = 0, busy = 0, slots = 0;
    for (int i = 0; i < s->n_models; i++) {
        queued += serve_engine_queued(s->engines[i]);
        busy += serve_engine_busy(s->engines[i]);
        slots += serve_engine_slots(s->engines[i]);
    }
    int in_flight = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    fprintf(f, "# HELP gptc_requests_total HTTP requests answered, by status\n# TYPE gptc_requests_total counter\n");
    for (int k = 0; k < 6; k++) fprintf(f, "gptc_requests_total{status=\"%s\"} %lu\n", cls[k], st.requests[k]);
    fprintf(f, "# HELP gptc_requests_in_flight requests being answered now\n# TYPE gptc_requests_in_flight gauge\n"
               "gptc_requests_in_flight %d\n", in_flight);
    fprintf(f, "# HELP gptc_prompt_tokens_total prompt tokens of admitted requests\n# TYPE gptc_prompt_tokens_total counter\n"
               "gptc_prompt_tokens_total %lu\n", st.prompt_tokens);
    fprintf(f, "# HELP gptc_prompt_tokens_reused_total prompt tokens found in a slot's KV cache\n"
               "# TYPE gptc_prompt_tokens_reused_total counter\ngptc_prompt_tokens_reused_total %lu\n", st.reused_tokens);
    fprintf(f, "# HELP gptc_generated_tokens_total tokens generated\n# TYPE gptc_generated_tokens_total counter\n"
               "gptc_generated_tokens_total %lu\n", st.gen_tokens);
    fprintf(f, "# HELP gptc_queue_length requests waiting for a slot\n# TYPE gptc_queue_length gauge\n"
               "gptc_queue_length %d\n", queued);
    fprintf(f, "# HELP gptc_slots_busy KV-cache slots decoding\n# TYPE gptc_slots_busy gauge\ngptc_slots_busy %d\n", busy);
    fprintf(f, "# HELP gptc_slots_total KV-cache slots\n# TYPE gptc_slots_total gauge\ngptc_slots_total %d\n", slots);
    fprintf(f, "# HELP gptc_time_to_first_token_seconds from arrival to the first token\n"
               "# TYPE gptc_time_to_first_token_seconds summary\ngptc_time_to_first_token_seconds_sum %.6f\n"
               "gptc_time_to_first_token_seconds_count %lu\n", st.ttft_sum, st.ttft_count);
    fprintf(f, "# HELP gptc_decode_tokens_per_second tokens per second of the decoding steps (all sequences)\n"
               "# TYPE gptc_decode_tokens_per_second gauge\ngptc_decode_tokens_per_second %.3f\n",
            st.decode_s > 0 ? (double)st.decode_tokens / st.decode_s : 0.0);
    fprintf(f, "# HELP gptc_decode_steps_total decoding steps\n# TYPE gptc_decode_steps_total counter\n"
               "gptc_decode_steps_total %lu\n", st.steps);
    fprintf(f, "# HELP gptc_decode_batch_rows_total sequences summed over steps (mean batch = this / steps)\n"
               "# TYPE gptc_decode_batch_rows_total counter\ngptc_decode_batch_rows_total %lu\n", st.step_rows);
    fclose(f);
    return answer(c, 200, "text/plain; version=0.0.4", buf, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    gptc_server *s = cls;
    conn *c = *con_cls;
    (void)version;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        c->srv = s;
        c->mc = mc;
        *con_cls = c;
        pthread_mutex_lock(&s->mu);
        s->in_flight++;
        pthread_mutex_unlock(&s->mu);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (c->too_big || c->len + n > s->p.max_body) {
            c->too_big = 1;
            return MHD_YES;
        }
        if (c->len + n + 1 > c->cap) {
            size_t cap = (c->len + n + 1) * 2;
            char *b = realloc(c->body, cap);
            if (!b) return MHD_NO;
            c->body = b;
            c->cap = cap;
        }
        memcpy(c->body + c->len, upload, n);
        c->len += n;
        c->body[c->len] = 0;
        return MHD_YES;
    }
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(method, "OPTIONS")) return answer(c, 204, "text/plain", strdup(""), 0);
    if (get && (!strcmp(url, "/") || !strcmp(url, "/index.html"))) {
        char *page = malloc(gptc_serve_page_len + 1);
        if (page) memcpy(page, gptc_serve_page, gptc_serve_page_len);
        return answer(c, 200, "text/html; charset=utf-8", page, gptc_serve_page_len);
    }
    if (!strcmp(url, "/health")) {
        int draining;
        pthread_mutex_lock(&s->mu);
        draining = s->draining;
        pthread_mutex_unlock(&s->mu);
        return answer_json(c, draining ? 503 : 200, strdup(draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}"));
    }
    int api = !strncmp(url, "/v1/", 4) || !strcmp(url, "/tokenize") || !strcmp(url, "/detokenize") ||
              !strcmp(url, "/metrics");
    if (!api) return answer_error(c, 404, "invalid_request_error", "not_found", NULL, "no such route");
    if (!auth_ok(c))
        return answer_error(c, 401, "invalid_request_error", "invalid_api_key", NULL,
                            "Incorrect or missing API key (send Authorization: Bearer KEY)");
    if (c->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", s->p.max_body);
        return answer_error(c, 413, "invalid_request_error", "request_too_large", NULL, msg);
    }
    if (get && !strcmp(url, "/v1/models")) return do_models(c);
    if (get && !strcmp(url, "/metrics")) return do_metrics(c);
    if (post && !strcmp(url, "/v1/completions")) return do_generate(c, 0);
    if (post && !strcmp(url, "/v1/chat/completions")) return do_generate(c, 1);
    if (post && !strcmp(url, "/v1/embeddings")) return do_embeddings(c);
    if (post && !strcmp(url, "/tokenize")) return do_tokens(c, 0);
    if (post && !strcmp(url, "/detokenize")) return do_tokens(c, 1);
    int known = !strcmp(url, "/v1/models") || !strcmp(url, "/metrics") || !strcmp(url, "/v1/completions") ||
                !strcmp(url, "/v1/chat/completions") || !strcmp(url, "/v1/embeddings") || !strcmp(url, "/tokenize") ||
                !strcmp(url, "/detokenize");
    if (known) return answer_error(c, 405, "invalid_request_error", "method_not_allowed", NULL, "method not allowed");
    return answer_error(c, 404, "invalid_request_error", "not_found", NULL, "no such route");
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe) {
    gptc_server *s = cls;
    conn *c = *con_cls;
    (void)mc;
    (void)toe;
    if (!c) return;
    pthread_mutex_lock(&s->mu);
    if (c->req.job) cancel_and_wait(s, s->engines[c->req.model], c->req.job);
    s->in_flight--;
    serve_changed(s);
    pthread_mutex_unlock(&s->mu);
    serve_job_free(c->req.job);
    free(c->req.echo_text);
    free(c->body);
    free(c->out);
    free(c);
    *con_cls = NULL;
}

gptc_status gptc_server_start(gptc_ctx *ctx, const gptc_serve_params *p, const gptc_serve_model *models, int n_models,
                              gptc_server **out) {
    *out = NULL;
    if (n_models < 1) return gptc_fail(ctx, GPTC_EINVAL, "serve: no model");
    if (p->parallel < 1 || p->parallel > 64) return gptc_fail(ctx, GPTC_EINVAL, "serve: parallel %d is outside [1, 64]", p->parallel);
    if (p->port < 0 || p->port > 65535) return gptc_fail(ctx, GPTC_EINVAL, "serve: port %d is outside [0, 65535]", p->port);
    for (int i = 0; i < n_models; i++) {
        const gptc_config *cfg = gptc_model_config(models[i].model);
        if (cfg->head != GPTC_HEAD_LM) return gptc_fail(ctx, GPTC_EINVAL, "serve: %s has a task head, not an LM head", models[i].id);
        if (!models[i].tok) return gptc_fail(ctx, GPTC_EINVAL, "serve: %s has no tokenizer", models[i].id);
        if (p->ctx_size > cfg->n_positions)
            return gptc_fail(ctx, GPTC_EINVAL, "serve: ctx-size %d is more than %s's n_positions %d", p->ctx_size,
                             models[i].id, cfg->n_positions);
        for (int k = 0; k < i; k++)
            if (!strcmp(models[k].id, models[i].id)) return gptc_fail(ctx, GPTC_EINVAL, "serve: two models named %s", models[i].id);
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)p->port);
    if (inet_pton(AF_INET, p->host, &addr.sin_addr) != 1)
        return gptc_fail(ctx, GPTC_EINVAL, "serve: host '%s' is not an IPv4 address", p->host);
    gptc_server *s = calloc(1, sizeof *s);
    if (!s) return gptc_fail(ctx, GPTC_ENOMEM, "serve: out of memory");
    s->p = *p;
    snprintf(s->host, sizeof s->host, "%s", p->host);
    snprintf(s->api_key, sizeof s->api_key, "%s", p->api_key ? p->api_key : "");
    s->p.host = s->host;
    s->p.api_key = s->api_key;
    s->models = models;
    s->n_models = n_models;
    s->started = (double)time(NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->engines = calloc((size_t)n_models, sizeof *s->engines);
    gptc_status st = s->engines ? GPTC_OK : gptc_fail(ctx, GPTC_ENOMEM, "serve: out of memory");
    for (int i = 0; i < n_models && !st; i++)
        st = serve_engine_new(ctx, s, &models[i], p->parallel, p->ctx_size, p->n_threads, &s->engines[i]);
    if (!st) {
        s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC,
                                     (uint16_t)p->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
                                     (unsigned)512, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256, MHD_OPTION_END);
        if (!s->daemon)
            st = gptc_fail(ctx, GPTC_EIO, "serve: cannot listen on %s:%d (%s)", p->host, p->port,
                           errno ? strerror(errno) : "address in use or not available");
    }
    if (st) {
        gptc_server_free(s);
        return st;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : p->port;
    slog(s, "serving %d model(s), %d slot(s) each", n_models, p->parallel);
    *out = s;
    return GPTC_OK;
}

void gptc_server_drain(gptc_server *s) {
    if (!s || !s->daemon) return;
    pthread_mutex_lock(&s->mu);
    int was = s->draining;
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
    if (!was) {
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    }
    pthread_mutex_lock(&s->mu);
    while (s->in_flight > 0) wait_change(s);
    pthread_mutex_unlock(&s->mu);
}

void gptc_server_free(gptc_server *s) {
    if (!s) return;
    gptc_server_drain(s);
    if (s->daemon) MHD_stop_daemon(s->daemon);
    for (int i = 0; s->engines && i < s->n_models; i++) serve_engine_free(s->engines[i]);
    free(s->engines);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
