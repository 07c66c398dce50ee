/* conversation.c: a chat as a library object (what `gptc chat` and a server share): the
 * messages in ChatML, the oldest turns dropped when the conversation outgrows the
 * context, the KV cache kept across turns (only what is new is prefilled), the end of a
 * turn by marker id or stop string, and replies streamed as whole characters. */
#define _POSIX_C_SOURCE 200809L
#include "../core/core.h"
#include <stdlib.h>
#include <string.h>

typedef struct msg {
    char *role, *content;
    int32_t *ids; /* its template encoding */
    size_t n_ids;
} msg;

struct gptc_chat {
    const gptc_model *m;
    const gptc_tokenizer *tok;
    gptc_session *s;
    gptc_chat_tokens ct;
    gptc_gen_params p;
    char *system;
    msg *msgs;
    int n_msgs;
    int32_t *held; /* the tokens in the session's sequence 0 */
    size_t n_held;
    int32_t stops[4];
    int n_stops;
};

static void msg_free(msg *m) {
    free(m->role);
    free(m->content);
    free(m->ids);
}

static gptc_status add_msg(gptc_ctx *ctx, gptc_chat *c, const char *role, const char *content, const int32_t *ids,
                           size_t n_ids) {
    msg *nm = realloc(c->msgs, (size_t)(c->n_msgs + 1) * sizeof *nm);
    if (!nm) return gptc_fail(ctx, GPTC_ENOMEM, "chat: out of memory");
    c->msgs = nm;
    msg *m = &c->msgs[c->n_msgs];
    memset(m, 0, sizeof *m);
    m->role = strdup(role);
    m->content = strdup(content);
    if (!m->role || !m->content) {
        msg_free(m);
        return gptc_fail(ctx, GPTC_ENOMEM, "chat: out of memory");
    }
    if (ids) {
        m->ids = malloc((n_ids + 1) * sizeof(int32_t));
        if (!m->ids) {
            msg_free(m);
            return gptc_fail(ctx, GPTC_ENOMEM, "chat: out of memory");
        }
        memcpy(m->ids, ids, n_ids * sizeof(int32_t));
        m->n_ids = n_ids;
    } else {
        gptc_chat_message one = {role, content};
        gptc_status s = gptc_chat_encode(ctx, c->tok, &c->ct, &one, 1, 0, &m->ids, &m->n_ids, NULL);
        if (s) {
            msg_free(m);
            return s;
        }
    }
    c->n_msgs++;
    return GPTC_OK;
}

static void drop_msg(gptc_chat *c, int i) {
    msg_free(&c->msgs[i]);
    memmove(c->msgs + i, c->msgs + i + 1, (size_t)(c->n_msgs - i - 1) * sizeof *c->msgs);
    c->n_msgs--;
}

static int is_stop_id(const gptc_chat *c, int32_t t) {
    for (int i = 0; i < c->n_stops; i++)
        if (c->stops[i] == t) return 1;
    return 0;
}

gptc_status gptc_chat_new(gptc_ctx *ctx, const gptc_model *m, const gptc_tokenizer *tok, const gptc_gen_params *p,
                          const char *system, gptc_chat **out) {
    *out = NULL;
    const gptc_config *cfg = gptc_model_config(m);
    if (cfg->head != GPTC_HEAD_LM) return gptc_fail(ctx, GPTC_EINVAL, "chat: the model has a task head, not an LM head");
    if (gptc_tokenizer_n_vocab(tok) > (size_t)cfg->vocab_size)
        return gptc_fail(ctx, GPTC_EINVAL, "chat: the tokenizer has %zu ids, more than the model's vocab_size %d",
                         gptc_tokenizer_n_vocab(tok), cfg->vocab_size);
    gptc_gen_params gp = p ? *p : gptc_gen_default_params();
    if (gp.max_new_tokens < 0) gp.max_new_tokens = 256;
    if (gp.num_return_sequences != 1) return gptc_fail(ctx, GPTC_EINVAL, "chat: num_return_sequences must be 1");
    gptc_status s = gptc_gen_params_validate(ctx, &gp);
    if (s) return s;
    gptc_chat *c = gptc_calloc(ctx, 1, sizeof *c, "chat");
    if (!c) return GPTC_ENOMEM;
    c->m = m;
    c->tok = tok;
    c->p = gp;
    gptc_chat_tokens_resolve(tok, cfg->vocab_size, &c->ct);
    if (c->ct.im_end >= 0) c->stops[c->n_stops++] = c->ct.im_end;
    if (c->ct.eos >= 0) c->stops[c->n_stops++] = c->ct.eos;
    if (cfg->eos_token_id >= 0 && cfg->eos_token_id != c->ct.eos) c->stops[c->n_stops++] = cfg->eos_token_id;
    if ((s = gptc_session_new(ctx, m, gp.num_beams > 1 ? gp.num_beams : 1, 0, &c->s)) ||
        (s = gptc_chat_set_system(ctx, c, system))) {
        gptc_chat_free(c);
        return s;
    }
    *out = c;
    return GPTC_OK;
}

void gptc_chat_free(gptc_chat *c) {
    if (!c) return;
    while (c->n_msgs) drop_msg(c, c->n_msgs - 1);
    free(c->msgs);
    free(c->held);
    free(c->system);
    gptc_session_free(c->s);
    gptc_free(c);
}

void gptc_chat_reset(gptc_chat *c) {
    while (c->n_msgs) drop_msg(c, c->n_msgs - 1);
    /* the system message again (it encoded before, so only memory can fail here) */
    if (c->system && *c->system) add_msg(NULL, c, "system", c->system, NULL, 0);
}

gptc_status gptc_chat_set_system(gptc_ctx *ctx, gptc_chat *c, const char *system) {
    char *copy = strdup(system ? system : "");
    if (!copy) return gptc_fail(ctx, GPTC_ENOMEM, "chat: out of memory");
    free(c->system);
    c->system = copy;
    if (c->n_msgs && !strcmp(c->msgs[0].role, "system")) drop_msg(c, 0);
    if (!*copy) return GPTC_OK;
    gptc_status s = add_msg(ctx, c, "system", copy, NULL, 0);
    if (s) return s;
    /* the system message goes first */
    msg sys = c->msgs[c->n_msgs - 1];
    memmove(c->msgs + 1, c->msgs, (size_t)(c->n_msgs - 1) * sizeof *c->msgs);
    c->msgs[0] = sys;
    return GPTC_OK;
}

int gptc_chat_n_messages(const gptc_chat *c) { return c->n_msgs; }
gptc_chat_message gptc_chat_get(const gptc_chat *c, int i) {
    gptc_chat_message m = {NULL, NULL};
    if (i >= 0 && i < c->n_msgs) {
        m.role = c->msgs[i].role;
        m.content = c->msgs[i].content;
    }
    return m;
}
const gptc_gen_params *gptc_chat_params(const gptc_chat *c) { return &c->p; }
const gptc_chat_tokens *gptc_chat_markers(const gptc_chat *c) { return &c->ct; }

/* The prompt: every message's ids + "<|im_start|>assistant\n". */
static gptc_status build_prompt(gptc_ctx *ctx, gptc_chat *c, int32_t **out, size_t *n) {
    int32_t *gp;
    size_t ngp;
    gptc_status s = gptc_chat_encode(ctx, c->tok, &c->ct, NULL, 0, 1, &gp, &ngp, NULL);
    if (s) return s;
    size_t total = ngp;
    for (int i = 0; i < c->n_msgs; i++) total += c->msgs[i].n_ids;
    int32_t *ids = malloc((total + 1) * sizeof *ids);
    if (!ids) {
        free(gp);
        return gptc_fail(ctx, GPTC_ENOMEM, "chat: out of memory");
    }
    size_t k = 0;
    for (int i = 0; i < c->n_msgs; i++) {
        memcpy(ids + k, c->msgs[i].ids, c->msgs[i].n_ids * sizeof *ids);
        k += c->msgs[i].n_ids;
    }
    memcpy(ids + k, gp, ngp * sizeof *ids);
    free(gp);
    *out = ids;
    *n = total;
    return GPTC_OK;
}

typedef struct turn_state {
    gptc_ctx *ctx;
    gptc_chat *c;
    gptc_text_stream *ts;
    gptc_status err;
} turn_state;

static int on_token(void *user, int seq, int32_t t) {
    turn_state *ts = user;
    (void)seq;
    if (is_stop_id(ts->c, t)) return 0;
    int done = 0;
    if ((ts->err = gptc_text_stream_push(ts->ctx, ts->ts, t, &done))) return 1;
    return done;
}

/* The reply's ids as the template encodes a message: "<|im_start|>assistant\n" +
 * generated content + "<|im_end|>\n" (the content as generated, not re-encoded). */
static int32_t *reply_ids(gptc_ctx *ctx, gptc_chat *c, const gptc_gen_sequence *q, size_t *n_reply) {
    *n_reply = 0;
    if (c->ct.im_end < 0) return NULL;
    int keep = q->n_tokens;
    if (keep && is_stop_id(c, q->tokens[keep - 1])) keep--;
    int32_t *nl = NULL, *tmpl = NULL, *reply = NULL;
    size_t n_nl, n_tmpl;
    gptc_chat_message none = {"assistant", ""};
    if (!gptc_chat_encode(ctx, c->tok, &c->ct, &none, 1, 0, &tmpl, &n_tmpl, NULL) &&
        !gptc_tokenizer_encode(ctx, c->tok, "\n", 1, 0, &nl, &n_nl) && n_tmpl >= 1 + n_nl) {
        size_t head = n_tmpl - 1 - n_nl; /* im_start, "assistant", "\n" | im_end, "\n" */
        reply = malloc((n_tmpl + (size_t)keep + 1) * sizeof *reply);
        if (reply) {
            memcpy(reply, tmpl, head * sizeof *reply);
            memcpy(reply + head, q->tokens, (size_t)keep * sizeof *reply);
            memcpy(reply + head + keep, tmpl + head, (n_tmpl - head) * sizeof *reply);
            *n_reply = n_tmpl + (size_t)keep;
        }
    }
    free(nl);
    free(tmpl);
    return reply;
}

gptc_status gptc_chat_send(gptc_ctx *ctx, gptc_chat *c, const char *user_text, gptc_text_cb cb, void *user,
                           gptc_chat_reply *out) {
    memset(out, 0, sizeof *out);
    const gptc_config *cfg = gptc_model_config(c->m);
    gptc_status s = add_msg(ctx, c, "user", user_text, NULL, 0);
    if (s) return s;
    int room = c->p.max_new_tokens;
    if (room >= cfg->n_positions) room = cfg->n_positions / 2;
    size_t n;
    int32_t *ids = NULL;
    s = build_prompt(ctx, c, &ids, &n);
    /* drop the oldest turns (after the system message) until prompt + reply fit */
    int first = c->n_msgs && !strcmp(c->msgs[0].role, "system") ? 1 : 0;
    while (!s && n + (size_t)room > (size_t)cfg->n_positions && c->n_msgs - first > 1) {
        drop_msg(c, first);
        while (c->n_msgs - first > 1 && strcmp(c->msgs[first].role, "user")) drop_msg(c, first);
        free(ids);
        ids = NULL;
        s = build_prompt(ctx, c, &ids, &n);
        out->trimmed++;
    }
    if (!s && n + 1 > (size_t)cfg->n_positions)
        s = gptc_fail(ctx, GPTC_ERANGE, "chat: the message is %zu tokens, more than the context of %d tokens allows", n,
                      cfg->n_positions);
    if (s) {
        free(ids);
        drop_msg(c, c->n_msgs - 1);
        return s;
    }
    /* the session holds c->held: keep it when it is a prefix of the new prompt */
    size_t common = 0;
    while (common < c->n_held && common < n && c->held[common] == ids[common]) common++;
    if (common < c->n_held || c->n_held == 0) {
        gptc_session_reset(c->s, 0);
        c->n_held = 0;
        common = 0;
    }
    gptc_gen_params p = c->p;
    p.max_new_tokens = room;
    if (p.n_eos < 0) p.n_eos = 0;
    for (int i = 0; i < c->n_stops && p.n_eos < GPTC_GEN_MAX_EOS; i++) p.eos_token_id[p.n_eos++] = c->stops[i];
    if (c->ct.im_end < 0 && p.n_stop < GPTC_GEN_MAX_STOP) strcpy(p.stop_strings[p.n_stop++], "<|im_end|>");
    turn_state ts = {ctx, c, NULL, GPTC_OK};
    gptc_gen_result *r = NULL;
    if ((s = gptc_text_stream_new(ctx, c->tok, &p, cb, user, &ts.ts))) goto fail;
    if ((s = gptc_generate(ctx, c->m, c->s, c->tok, ids, (int)n, &p, p.num_beams > 1 ? NULL : on_token, &ts, &r)))
        goto fail;
    if ((s = ts.err)) goto fail;
    const gptc_gen_sequence *q = &r->seqs[0];
    if (p.num_beams > 1) { /* no streaming: the chosen beam at the end */
        for (int k = 0; k < q->n_tokens && !ts.err; k++) on_token(&ts, 0, q->tokens[k]);
        gptc_session_reset(c->s, 0);
        if ((s = ts.err)) goto fail;
    }
    if ((s = gptc_text_stream_finish(ctx, ts.ts))) goto fail;
    size_t tl;
    const char *text = gptc_text_stream_text(ts.ts, &tl);
    out->text = malloc(tl + 1);
    if (!out->text) {
        s = gptc_fail(ctx, GPTC_ENOMEM, "chat: out of memory");
        goto fail;
    }
    memcpy(out->text, text, tl + 1);
    out->len = tl;
    out->finish = gptc_text_stream_stopped(ts.ts) ? GPTC_FINISH_STOP : q->finish_reason;
    out->n_prompt = (int)n;
    out->n_reused = (int)common;
    out->n_tokens = q->n_tokens;
    size_t n_reply;
    int32_t *reply = reply_ids(ctx, c, q, &n_reply);
    s = add_msg(ctx, c, "assistant", out->text, reply, n_reply);
    free(reply);
    /* what the session holds now */
    int len = gptc_session_len(c->s, 0);
    int32_t *held = realloc(c->held, ((size_t)len + 1) * sizeof *held);
    if (held) c->held = held;
    if (held && len >= (int)n) {
        memcpy(c->held, ids, n * sizeof *held);
        memcpy(c->held + n, q->tokens, (size_t)(len - (int)n) * sizeof *held);
        c->n_held = (size_t)len;
    } else {
        gptc_session_reset(c->s, 0);
        c->n_held = 0;
    }
    gptc_gen_result_free(r);
    gptc_text_stream_free(ts.ts);
    free(ids);
    if (s) {
        free(out->text);
        memset(out, 0, sizeof *out);
    }
    return s;
fail:
    gptc_session_reset(c->s, 0);
    c->n_held = 0;
    gptc_gen_result_free(r);
    gptc_text_stream_free(ts.ts);
    free(ids);
    free(out->text);
    memset(out, 0, sizeof *out);
    drop_msg(c, c->n_msgs - 1);
    return s;
}
