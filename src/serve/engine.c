/* engine.c: one model's scheduler: a thread, a pool of KV-cache slots (one gptc_session
 * with a sequence per slot) and the queue of jobs. Between two decoding steps finished
 * sequences leave and queued jobs join (continuous batching); each joining prompt is
 * prefilled on its own, reusing the longest prefix of a free slot's cache that ends at a
 * prefill-chunk boundary, so its keys and values are the bits it would get alone; a step
 * runs every running sequence at once (gptc_session_step is batch-invariant). Tokens are
 * chosen by gptc_gen_pick, the code of gptc_generate, with the job's own generator, its
 * choices in order, so a job returns what `gptc generate` returns for it. HTTP threads
 * read what is published under the server's lock (http.c). */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"
#include "../text/utf8.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct serve_engine {
    gptc_server *srv;
    const gptc_serve_model *sm;
    gptc_ctx *ctx;
    gptc_session *s;
    int n_slots, ctx_size, V, C, chunk;
    serve_job **slot_job;   /* the job running in a slot, or NULL */
    int *slot_choice;
    int32_t **slot_toks;    /* tokens the slot's sequence holds */
    int *slot_reusable;     /* of them, the prefix that prefill computed in whole chunks */
    uint64_t *slot_used;    /* last use, for picking among equals */
    serve_job *head, *tail;
    int n_queued, n_busy;
    uint64_t n_admitted, clock;
    float *logits, *raw, *hidden;
    int *scratch, *rows_slot;
    int32_t *rows_tok;
    pthread_t thread;
    pthread_cond_t wake;
    int started, stop;
};

double serve_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *serve_utf8_clean(const char *raw, size_t n, size_t *len) {
    char *out = malloc(3 * n + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n;) {
        size_t adv;
        int cp = gptc_utf8_next((const unsigned char *)raw + i, n - i, &adv);
        if (cp < 0) {
            memcpy(out + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i += cp == GPTC_UTF8_INCOMPLETE ? n - i : adv;
        } else {
            memcpy(out + k, raw + i, adv);
            k += adv;
            i += adv;
        }
    }
    if (out) out[k] = 0;
    if (len) *len = k;
    return out;
}

char *serve_token_text(const gptc_tokenizer *tok, int32_t id, size_t *len) {
    char *raw = NULL;
    size_t n = 0;
    if (id < 0 || (size_t)id >= gptc_tokenizer_n_vocab(tok) || gptc_tokenizer_decode(NULL, tok, &id, 1, &raw, &n)) {
        raw = NULL;
        n = 0;
    }
    char *out = serve_utf8_clean(raw ? raw : "", n, len);
    free(raw);
    return out;
}

serve_job *serve_job_new(const int32_t *prompt, int n_prompt, int max_new, int n_choices, int n_top) {
    serve_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->prompt = malloc(((size_t)n_prompt + 1) * sizeof(int32_t));
    j->ch = calloc((size_t)n_choices, sizeof *j->ch);
    if (!j->prompt || !j->ch) {
        serve_job_free(j);
        return NULL;
    }
    memcpy(j->prompt, prompt, (size_t)n_prompt * sizeof(int32_t));
    j->n_prompt = n_prompt;
    j->max_new = max_new;
    j->n_choices = n_choices;
    j->n_top = n_top;
    j->state = JOB_DONE; /* until submitted: nothing holds it */
    for (int c = 0; c < n_choices; c++) {
        serve_choice *ch = &j->ch[c];
        ch->slot = -1;
        ch->finish = -1;
        ch->ids = malloc(((size_t)n_prompt + (size_t)max_new + 1) * sizeof(int32_t));
        ch->lp = malloc(((size_t)max_new + 1) * sizeof(float));
        ch->top_id = malloc(((size_t)max_new * (size_t)n_top + 1) * sizeof(int32_t));
        ch->top_lp = malloc(((size_t)max_new * (size_t)n_top + 1) * sizeof(float));
        if (!ch->ids || !ch->lp || !ch->top_id || !ch->top_lp) {
            serve_job_free(j);
            return NULL;
        }
        memcpy(ch->ids, prompt, (size_t)n_prompt * sizeof(int32_t));
    }
    return j;
}

void serve_job_free(serve_job *j) {
    if (!j) return;
    for (int c = 0; j->ch && c < j->n_choices; c++) {
        free(j->ch[c].ids);
        free(j->ch[c].lp);
        free(j->ch[c].top_id);
        free(j->ch[c].top_lp);
        free(j->ch[c].text);
        gptc_text_stream_free(j->ch[c].ts);
    }
    free(j->ch);
    free(j->prompt);
    free(j->embedding);
    free(j);
}

/* the text stream's pieces go to the choice's text (called under the server's lock) */
static int on_text(void *user, const char *text, size_t len) {
    serve_choice *ch = user;
    if (ch->text_len + len + 1 > ch->text_cap) {
        size_t cap = (ch->text_len + len + 1) * 2 + 64;
        char *b = realloc(ch->text, cap);
        if (!b) return 1;
        ch->text = b;
        ch->text_cap = cap;
    }
    memcpy(ch->text + ch->text_len, text, len);
    ch->text_len += len;
    ch->text[ch->text_len] = 0;
    return 0;
}

static int is_eos(const gptc_gen_params *p, int32_t t) {
    for (int i = 0; i < p->n_eos; i++)
        if (p->eos_token_id[i] == t) return 1;
    return 0;
}

static void release_slot(serve_engine *e, int slot) {
    if (slot < 0 || !e->slot_job[slot]) return;
    e->slot_job[slot] = NULL;
    e->n_busy--;
}

/* Ends a job (under the lock): its slots become free, what the streams hold back goes out. */
static void job_done(serve_engine *e, serve_job *j) {
    for (int c = 0; c < j->n_choices; c++) {
        serve_choice *ch = &j->ch[c];
        if (ch->finish < 0) ch->finish = GPTC_FINISH_STOP;
        if (ch->ts && !j->err) gptc_text_stream_finish(NULL, ch->ts);
        release_slot(e, ch->slot);
        ch->slot = -1;
    }
    j->state = JOB_DONE;
}

/* The top n_top ids of raw (log-probabilities), best first. */
static void top_of(const float *raw, int V, int k, int32_t *ids, float *lps) {
    int n = 0;
    for (int v = 0; v < V; v++) {
        float x = raw[v];
        if (n == k && !(x > lps[k - 1])) continue;
        int i = n < k ? n++ : k - 1;
        while (i > 0 && x > lps[i - 1]) {
            lps[i] = lps[i - 1];
            ids[i] = ids[i - 1];
            i--;
        }
        lps[i] = x;
        ids[i] = v;
    }
}

/* Chooses choice c's next token from its logits row; records it (unpublished). */
static void pick(serve_engine *e, serve_job *j, int c, float *row) {
    serve_choice *ch = &j->ch[c];
    float lp;
    int32_t t = gptc_gen_pick(&j->p, row, e->raw, e->V, ch->ids, j->n_prompt, ch->n, e->scratch, &j->rng, &lp);
    ch->ids[j->n_prompt + ch->n] = t;
    ch->lp[ch->n] = lp;
    if (j->n_top) top_of(e->raw, e->V, j->n_top, ch->top_id + (size_t)ch->n * j->n_top, ch->top_lp + (size_t)ch->n * j->n_top);
}

/* Publishes the token pick() recorded for choice c (under the lock) and decides whether
 * the choice ends: eos, a stop string, or the length. */
static void publish(serve_engine *e, serve_job *j, int c) {
    serve_choice *ch = &j->ch[c];
    int32_t t = ch->ids[j->n_prompt + ch->n];
    ch->n++;
    serve_stats_of(e->srv)->gen_tokens++;
    int done = 0;
    if (is_eos(&j->p, t)) ch->finish = GPTC_FINISH_EOS;
    else if (gptc_text_stream_push(NULL, ch->ts, t, &done) || done) ch->finish = GPTC_FINISH_STOP;
    else if (ch->n >= j->max_new) ch->finish = GPTC_FINISH_LENGTH;
    if (ch->finish >= 0) {
        gptc_text_stream_finish(NULL, ch->ts);
        release_slot(e, ch->slot);
        ch->slot = -1;
    }
}

/* The free slot whose cache holds the longest reusable prefix of the prompt. */
static int choose_slot(serve_engine *e, const serve_job *j, int *reuse) {
    int best = -1, best_reuse = -1;
    for (int q = 0; q < e->n_slots; q++) {
        if (e->slot_job[q]) continue;
        int held = gptc_session_len(e->s, q), lim = e->slot_reusable[q] < held ? e->slot_reusable[q] : held, k = 0;
        while (k < lim && k < j->n_prompt && e->slot_toks[q][k] == j->prompt[k]) k++;
        k = k / e->chunk * e->chunk;
        if (k >= j->n_prompt) k = (j->n_prompt - 1) / e->chunk * e->chunk; /* prefill at least one token */
        if (k > best_reuse || (k == best_reuse && e->slot_used[q] < e->slot_used[best])) {
            best = q;
            best_reuse = k;
        }
    }
    *reuse = best_reuse;
    return best;
}

static void fail_job(serve_engine *e, serve_job *j, gptc_status st) {
    j->err = st ? st : GPTC_EINTERNAL;
    snprintf(j->errmsg, sizeof j->errmsg, "%s", gptc_errmsg(e->ctx));
}

/* Prefills a job's prompt into its first slot, copies it into the others and picks the
 * first tokens (outside the lock; the slots are already the job's). */
static void start_job(serve_engine *e, serve_job *j, int reuse) {
    int q0 = j->ch[0].slot;
    gptc_session_truncate(e->s, q0, reuse);
    if (reuse == 0) gptc_session_reset(e->s, q0);
    j->n_reused = reuse;
    gptc_status st;
    if (j->kind == JOB_EMBED) {
        gptc_session_reset(e->s, q0);
        st = gptc_session_prefill_hidden(e->ctx, e->s, q0, j->prompt, j->n_prompt, e->hidden);
        e->slot_reusable[q0] = 0;
        if (st) { fail_job(e, j, st); return; }
        j->embedding = calloc((size_t)e->C, sizeof(float));
        if (!j->embedding) { fail_job(e, j, gptc_fail(e->ctx, GPTC_ENOMEM, "embeddings: out of memory")); return; }
        for (int c = 0; c < e->C; c++) {
            double sum = 0;
            for (int t = 0; t < j->n_prompt; t++) sum += e->hidden[(size_t)t * e->C + c];
            j->embedding[c] = (float)(sum / j->n_prompt);
        }
        return;
    }
    if (j->kind == JOB_BEAMS) {
        /* beam search is not batched: gptc_generate runs it here, with its own session,
         * while the other sequences wait one step; the tokens are published at the end */
        gptc_gen_params p = j->p;
        p.max_new_tokens = j->max_new;
        p.num_return_sequences = j->n_choices;
        gptc_gen_result *res;
        if ((st = gptc_generate(e->ctx, e->sm->model, NULL, e->sm->tok, j->prompt, j->n_prompt, &p, NULL, NULL, &res))) {
            fail_job(e, j, st);
            return;
        }
        for (int c = 0; c < j->n_choices; c++) {
            const gptc_gen_sequence *q = &res->seqs[c];
            int n = q->n_tokens < j->max_new ? q->n_tokens : j->max_new;
            memcpy(j->ch[c].ids + j->n_prompt, q->tokens, (size_t)n * sizeof(int32_t));
            j->ch[c].n_ready = n;
        }
        gptc_gen_result_free(res);
        return;
    }
    st = gptc_session_prefill(e->ctx, e->s, q0, j->prompt + reuse, j->n_prompt - reuse, e->logits);
    memcpy(e->slot_toks[q0], j->prompt, (size_t)j->n_prompt * sizeof(int32_t));
    e->slot_reusable[q0] = reuse + (j->n_prompt - reuse) / e->chunk * e->chunk;
    if (st) {
        gptc_session_reset(e->s, q0);
        e->slot_reusable[q0] = 0;
        fail_job(e, j, st);
        return;
    }
    for (int c = 1; c < j->n_choices && !st; c++) {
        int q = j->ch[c].slot;
        st = gptc_session_copy(e->ctx, e->s, q, q0);
        memcpy(e->slot_toks[q], j->prompt, (size_t)j->n_prompt * sizeof(int32_t));
        e->slot_reusable[q] = e->slot_reusable[q0];
    }
    if (st) { fail_job(e, j, st); return; }
    size_t V = (size_t)e->V;
    for (int c = 1; c < j->n_choices; c++) memcpy(e->logits + c * V, e->logits, V * sizeof(float));
    for (int c = 0; c < j->n_choices; c++) pick(e, j, c, e->logits + c * V);
}

static void *engine_main(void *arg) {
    serve_engine *e = arg;
    pthread_mutex_t *mu = serve_lock(e->srv);
    serve_job *starting[64];
    int reuse[64];
    pthread_mutex_lock(mu);
    for (;;) {
        /* jobs that were cancelled leave: the queue's at once, the running ones' slots free */
        for (serve_job **pp = &e->head; *pp;) {
            serve_job *j = *pp;
            if (!j->cancel) { pp = &j->next; continue; }
            *pp = j->next;
            if (e->tail == j) e->tail = NULL;
            e->n_queued--;
            job_done(e, j);
        }
        if (!e->head) e->tail = NULL;
        else for (e->tail = e->head; e->tail->next; e->tail = e->tail->next) {}
        for (int q = 0; q < e->n_slots; q++) {
            serve_job *j = e->slot_job[q];
            if (j && j->cancel && j->state == JOB_RUNNING) job_done(e, j);
        }
        serve_changed(e->srv);
        /* admit queued jobs while slots are free (in order: none overtakes a waiting one) */
        int n_start = 0;
        while (e->head && e->n_slots - e->n_busy >= e->head->n_choices && n_start < 64) {
            serve_job *j = e->head;
            e->head = j->next;
            if (!e->head) e->tail = NULL;
            e->n_queued--;
            j->state = JOB_RUNNING;
            j->order = e->n_admitted++;
            for (int c = 0; c < j->n_choices; c++) {
                int r, q = choose_slot(e, j, &r);
                if (c == 0) reuse[n_start] = r;
                j->ch[c].slot = q;
                e->slot_job[q] = j;
                e->slot_choice[q] = c;
                e->slot_used[q] = ++e->clock;
                e->n_busy++;
            }
            starting[n_start++] = j;
        }
        if (!n_start && !e->n_busy) {
            if (e->stop && !e->head) break;
            pthread_cond_wait(&e->wake, mu);
            continue;
        }
        /* each joining job is prefilled and gets its first token out before the next one
         * starts (time to first token), outside the lock */
        serve_stats *stats = serve_stats_of(e->srv);
        for (int k = 0; k < n_start; k++) {
            serve_job *j = starting[k];
            pthread_mutex_unlock(mu);
            start_job(e, j, reuse[k]);
            pthread_mutex_lock(mu);
            stats->prompt_tokens += (unsigned long)j->n_prompt;
            stats->reused_tokens += (unsigned long)j->n_reused;
            if (j->err || j->kind == JOB_EMBED) {
                job_done(e, j);
                serve_changed(e->srv);
                continue;
            }
            double now = serve_now();
            j->t_first = now;
            stats->ttft_sum += now - j->t_arrive;
            stats->ttft_count++;
            for (int c = 0; c < j->n_choices; c++) {
                if (j->kind != JOB_BEAMS) {
                    publish(e, j, c);
                    continue;
                }
                serve_choice *ch = &j->ch[c];
                while (ch->finish < 0 && ch->n < ch->n_ready) publish(e, j, c);
                if (ch->finish < 0) { /* a hypothesis shorter than max_new without eos */
                    ch->finish = GPTC_FINISH_LENGTH;
                    gptc_text_stream_finish(NULL, ch->ts);
                    release_slot(e, ch->slot);
                    ch->slot = -1;
                }
            }
            int running = 0;
            for (int c = 0; c < j->n_choices; c++) running |= j->ch[c].finish < 0;
            if (!running) job_done(e, j);
            serve_changed(e->srv);
        }
        serve_changed(e->srv);
        /* one step for every running sequence: jobs in admission order, choices in order */
        int n = 0;
        for (int q = 0; q < e->n_slots; q++) {
            serve_job *j = e->slot_job[q];
            if (!j || j->cancel || j->state != JOB_RUNNING) continue;
            serve_choice *ch = &j->ch[e->slot_choice[q]];
            if (ch->finish >= 0) continue;
            int at = n++;
            while (at > 0) { /* insertion by (order, choice) */
                serve_job *pj = e->slot_job[e->rows_slot[at - 1]];
                int pc = e->slot_choice[e->rows_slot[at - 1]];
                if (pj->order < j->order || (pj == j && pc < e->slot_choice[q])) break;
                e->rows_slot[at] = e->rows_slot[at - 1];
                at--;
            }
            e->rows_slot[at] = q;
        }
        for (int r = 0; r < n; r++) {
            int q = e->rows_slot[r];
            serve_job *j = e->slot_job[q];
            serve_choice *ch = &j->ch[e->slot_choice[q]];
            e->rows_tok[r] = ch->ids[j->n_prompt + ch->n - 1];
            e->slot_toks[q][gptc_session_len(e->s, q)] = e->rows_tok[r];
        }
        if (!n) continue;
        pthread_mutex_unlock(mu);
        double t0 = serve_now();
        gptc_status st = gptc_session_step(e->ctx, e->s, e->rows_slot, e->rows_tok, n, e->logits);
        for (int r = 0; r < n && !st; r++) {
            int q = e->rows_slot[r];
            pick(e, e->slot_job[q], e->slot_choice[q], e->logits + (size_t)r * e->V);
        }
        double t1 = serve_now();
        pthread_mutex_lock(mu);
        stats->decode_s += t1 - t0;
        stats->decode_tokens += (unsigned long)n;
        stats->steps++;
        stats->step_rows += (unsigned long)n;
        for (int r = 0; r < n; r++) {
            int q = e->rows_slot[r];
            serve_job *j = e->slot_job[q];
            if (!j) continue;
            if (st) {
                fail_job(e, j, st);
                job_done(e, j);
                continue;
            }
            publish(e, j, e->slot_choice[q]);
            int running = 0;
            for (int c = 0; c < j->n_choices; c++) running |= j->ch[c].finish < 0;
            if (!running && j->state == JOB_RUNNING) job_done(e, j);
        }
        serve_changed(e->srv);
    }
    pthread_mutex_unlock(mu);
    return NULL;
}

gptc_status serve_engine_new(gptc_ctx *ctx, gptc_server *srv, const gptc_serve_model *m, int n_slots, int ctx_size,
                             int n_threads, serve_engine **out) {
    *out = NULL;
    const gptc_config *c = gptc_model_config(m->model);
    serve_engine *e = calloc(1, sizeof *e);
    if (!e) return gptc_fail(ctx, GPTC_ENOMEM, "serve: out of memory");
    e->srv = srv;
    e->sm = m;
    e->n_slots = n_slots;
    e->ctx_size = ctx_size > 0 ? ctx_size : c->n_positions;
    e->V = c->vocab_size;
    e->C = c->n_embd;
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = n_threads;
    gptc_status st = GPTC_OK;
    e->ctx = gptc_ctx_new(&cp);
    if (!e->ctx) st = gptc_fail(ctx, GPTC_ENOMEM, "serve: out of memory");
    else if ((st = gptc_session_new(e->ctx, m->model, n_slots, e->ctx_size, &e->s)))
        gptc_fail(ctx, st, "%s: %s", m->id, gptc_errmsg(e->ctx));
    if (!st) {
        e->chunk = gptc_session_prefill_chunk(e->s);
        size_t V = (size_t)e->V, N = (size_t)n_slots;
        e->slot_job = calloc(N, sizeof *e->slot_job);
        e->slot_choice = calloc(N, sizeof(int));
        e->slot_toks = calloc(N, sizeof(int32_t *));
        e->slot_reusable = calloc(N, sizeof(int));
        e->slot_used = calloc(N, sizeof(uint64_t));
        e->logits = malloc(N * V * sizeof(float));
        e->raw = malloc(V * sizeof(float));
        e->hidden = malloc((size_t)e->ctx_size * (size_t)e->C * sizeof(float));
        e->scratch = malloc(2 * V * sizeof(int));
        e->rows_slot = malloc(N * sizeof(int));
        e->rows_tok = malloc(N * sizeof(int32_t));
        int ok = e->slot_job && e->slot_choice && e->slot_toks && e->slot_reusable && e->slot_used && e->logits &&
                 e->raw && e->hidden && e->scratch && e->rows_slot && e->rows_tok;
        for (size_t q = 0; ok && q < N; q++) ok = (e->slot_toks[q] = malloc(((size_t)e->ctx_size + 1) * sizeof(int32_t))) != NULL;
        if (!ok) st = gptc_fail(ctx, GPTC_ENOMEM, "serve: out of memory for %d slots", n_slots);
    }
    if (!st && pthread_cond_init(&e->wake, NULL)) st = gptc_fail(ctx, GPTC_EINTERNAL, "serve: pthread_cond_init failed");
    if (!st) {
        if (pthread_create(&e->thread, NULL, engine_main, e)) {
            pthread_cond_destroy(&e->wake);
            st = gptc_fail(ctx, GPTC_EINTERNAL, "serve: cannot start a thread");
        } else {
            e->started = 1;
        }
    }
    if (st) {
        serve_engine_free(e);
        return st;
    }
    *out = e;
    return GPTC_OK;
}

void serve_engine_free(serve_engine *e) {
    if (!e) return;
    if (e->started) {
        pthread_mutex_t *mu = serve_lock(e->srv);
        pthread_mutex_lock(mu);
        e->stop = 1;
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(mu);
        pthread_join(e->thread, NULL);
        pthread_cond_destroy(&e->wake);
    }
    for (int q = 0; e->slot_toks && q < e->n_slots; q++) free(e->slot_toks[q]);
    free(e->slot_toks);
    free(e->slot_job);
    free(e->slot_choice);
    free(e->slot_reusable);
    free(e->slot_used);
    free(e->logits);
    free(e->raw);
    free(e->hidden);
    free(e->scratch);
    free(e->rows_slot);
    free(e->rows_tok);
    gptc_session_free(e->s);
    gptc_ctx_free(e->ctx);
    free(e);
}

int serve_engine_submit(serve_engine *e, serve_job *j, int queue_max) {
    if (e->n_queued >= queue_max) return 0;
    for (int c = 0; c < j->n_choices && j->kind != JOB_EMBED; c++)
        if (!j->ch[c].ts && gptc_text_stream_new(NULL, e->sm->tok, &j->p, on_text, &j->ch[c], &j->ch[c].ts)) return 0;
    j->state = JOB_QUEUED;
    j->next = NULL;
    if (e->tail) e->tail->next = j;
    else e->head = j;
    e->tail = j;
    e->n_queued++;
    pthread_cond_signal(&e->wake);
    return 1;
}

void serve_engine_cancel(serve_engine *e, serve_job *j) {
    if (j->state == JOB_DONE) return;
    j->cancel = 1;
    pthread_cond_signal(&e->wake);
}

int serve_engine_queued(const serve_engine *e) { return e->n_queued; }
int serve_engine_busy(const serve_engine *e) { return e->n_busy; }
int serve_engine_slots(const serve_engine *e) { return e->n_slots; }
int serve_engine_ctx_size(const serve_engine *e) { return e->ctx_size; }
