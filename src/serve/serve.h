/* serve.h: internals of the HTTP server (serve/): the generation jobs that HTTP threads
 * hand to a model's engine (engine.c: one scheduler thread per model, a pool of KV-cache
 * slots in one gptc_session, continuous batching), the request parsing and response
 * shapes of OpenAI's API (api.c), and the HTTP front end on libmicrohttpd (http.c). */
#ifndef GPTC_SERVE_H
#define GPTC_SERVE_H

#include "../core/core.h"
#include "../infer/infer.h"
#include <pthread.h>

enum { SERVE_MAX_TOP = 20, SERVE_MAX_N = 16 };

/* One sequence of a job (OpenAI's "choice"). The engine writes ids[n_prompt + k] before
 * it publishes k + 1 in n under the server's lock; text grows under the lock. */
typedef struct serve_choice {
    int slot;
    int32_t *ids;        /* prompt + up to max_new generated */
    int n;               /* generated tokens published */
    int n_ready;         /* JOB_BEAMS: tokens in ids, published at once */
    float *lp;           /* logprob of each generated token (model's distribution) */
    int32_t *top_id;     /* max_new x n_top */
    float *top_lp;
    int finish;          /* -1 while running, else gptc_finish_reason */
    gptc_text_stream *ts;
    char *text;          /* the text as a reader sees it (stop strings cut) */
    size_t text_len, text_cap;
} serve_choice;

enum { JOB_QUEUED = 0, JOB_RUNNING, JOB_DONE };
enum { JOB_GENERATE = 0, JOB_EMBED, JOB_BEAMS };

typedef struct serve_job {
    int kind;            /* JOB_BEAMS: beam search (p.num_beams), run alone by gptc_generate */
    int32_t *prompt;
    int n_prompt;
    gptc_gen_params p;   /* with n_eos resolved and stop strings */
    int max_new;         /* tokens at most */
    int n_choices, n_top, want_lp;
    gptc_rng rng;
    serve_choice *ch;
    int state, cancel;
    gptc_status err;
    char errmsg[256];
    double t_arrive, t_first; /* seconds (monotonic) */
    int n_reused;        /* prompt tokens found in a slot's cache */
    float *embedding;    /* JOB_EMBED: n_embd floats */
    uint64_t order;      /* admission order */
    struct serve_job *next;
} serve_job;

typedef struct serve_engine serve_engine;
typedef struct gptc_server gptc_server;

/* The counters /metrics reports (under the server's lock). */
typedef struct serve_stats {
    unsigned long requests[6]; /* by status class: 2xx, 400, 401, 404, 408, other */
    unsigned long errors_5xx;
    unsigned long prompt_tokens, gen_tokens, reused_tokens;
    double ttft_sum;
    unsigned long ttft_count;
    double decode_s;           /* seconds the engines spent in steps */
    unsigned long decode_tokens;
    unsigned long steps, step_rows;
} serve_stats;

struct MHD_Daemon;
struct gptc_server {
    gptc_serve_params p;
    char host[64], api_key[256];
    const gptc_serve_model *models;
    int n_models;
    serve_engine **engines;
    struct MHD_Daemon *daemon;
    int port, draining, in_flight;
    uint64_t next_id;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    serve_stats stats;
    double started;
};

/* A parsed generation request (api.c) and what the response needs. */
typedef struct serve_req {
    int chat, stream, include_usage, echo, model;
    int base64;           /* embeddings as base64 of little-endian float32 */
    serve_job *job;
    char *echo_text;      /* completions with echo: the prompt's text */
    char id[48];
    long created;
    int status;           /* 200, or the HTTP status of err */
    char err[512];
    const char *err_type, *err_code, *err_param;
} serve_req;

/* Parses a /v1/completions (chat = 0) or /v1/chat/completions body into r (r->job ready
 * to submit) and returns 200, or fills r's error and returns its status. */
int serve_parse_generate(gptc_server *srv, const char *body, size_t len, int chat, serve_req *r);
/* Parses /v1/embeddings: the inputs' token lists (malloc'ed) or an error status. */
int serve_parse_embed(gptc_server *srv, const char *body, size_t len, serve_req *r, int32_t ***ids, int **n_ids,
                      int *n_inputs);
/* The error body {"error": {"message", "type", "param", "code"}} (malloc'ed). */
char *serve_error_json(const char *msg, const char *type, const char *param, const char *code);
/* The whole response of a finished job (malloc'ed JSON). */
char *serve_response_json(gptc_server *srv, const serve_req *r);
/* One streamed chunk for choice c: the text text[0, len) and the tokens [t0, t1) for
 * logprobs; finish < 0 while running; role: the first chat chunk (malloc'ed JSON). */
char *serve_chunk_json(gptc_server *srv, const serve_req *r, int c, const char *text, size_t len, int t0, int t1,
                       int finish, int role);
/* The usage chunk of a stream (stream_options.include_usage). */
char *serve_usage_chunk_json(gptc_server *srv, const serve_req *r);
const char *serve_finish_name(int finish);

/* engine.c */
gptc_status serve_engine_new(gptc_ctx *ctx, gptc_server *srv, const gptc_serve_model *m, int n_slots, int ctx_size,
                             int n_threads, serve_engine **out);
/* Stops the thread after the jobs it holds are done; frees. NULL is a no-op. */
void serve_engine_free(serve_engine *e);
/* Queues a job (the caller holds the server's lock); 0 when the queue is full (or out of
 * memory): the job stays JOB_DONE, as every job is until it is submitted. */
int serve_engine_submit(serve_engine *e, serve_job *j, int queue_max);
/* Asks the engine to drop j (caller holds the lock); it becomes JOB_DONE at the next step. */
void serve_engine_cancel(serve_engine *e, serve_job *j);
int serve_engine_queued(const serve_engine *e);
int serve_engine_busy(const serve_engine *e);
int serve_engine_slots(const serve_engine *e);
int serve_engine_ctx_size(const serve_engine *e);

/* A job for prompt with max_new tokens and n choices; NULL when memory is exhausted. */
serve_job *serve_job_new(const int32_t *prompt, int n_prompt, int max_new, int n_choices, int n_top);
void serve_job_free(serve_job *j);

/* The server's lock and the condition HTTP threads wait on (broadcast on every change). */
pthread_mutex_t *serve_lock(gptc_server *s);
void serve_changed(gptc_server *s);
serve_stats *serve_stats_of(gptc_server *s);
double serve_now(void);

/* raw[0, n) as valid UTF-8 (each maximal invalid subpart becomes U+FFFD), malloc'ed. */
char *serve_utf8_clean(const char *raw, size_t n, size_t *len);
/* Text of one token as valid UTF-8 (invalid bytes become U+FFFD), malloc'ed. */
char *serve_token_text(const gptc_tokenizer *tok, int32_t id, size_t *len);

#endif
