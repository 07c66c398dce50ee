/* chat.c: the ChatML chat template ("<|im_start|>role\ncontent<|im_end|>\n") on top of
 * the public tokenizer API: markers as special tokens when the tokenizer has them, else
 * as two ids past the tokenizer's vocabulary when the model has room, else as text. */
#include "../core/core.h"
#include <stdlib.h>
#include <string.h>

void gptc_chat_tokens_resolve(const gptc_tokenizer *tok, int vocab_size, gptc_chat_tokens *out) {
    size_t nv = gptc_tokenizer_n_vocab(tok);
    out->eos = gptc_tokenizer_special_id(tok, "<|endoftext|>");
    out->im_start = gptc_tokenizer_special_id(tok, "<|im_start|>");
    out->im_end = gptc_tokenizer_special_id(tok, "<|im_end|>");
    out->beyond_vocab = 0;
    if (out->im_start >= 0 && out->im_end >= 0 && out->im_start < vocab_size && out->im_end < vocab_size) return;
    if ((size_t)vocab_size >= nv + 2) {
        out->im_start = (int32_t)nv;
        out->im_end = (int32_t)nv + 1;
        out->beyond_vocab = 1;
        return;
    }
    out->im_start = out->im_end = -1;
}

typedef struct ibuf { int32_t *ids; uint8_t *mask; size_t n, cap; } ibuf;

static gptc_status push(gptc_ctx *ctx, ibuf *b, const int32_t *ids, size_t n, uint8_t mask) {
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 16;
        int32_t *ni = realloc(b->ids, cap * sizeof *ni);
        if (!ni) return gptc_fail(ctx, GPTC_ENOMEM, "chat template: out of memory");
        b->ids = ni;
        uint8_t *nm = realloc(b->mask, cap);
        if (!nm) return gptc_fail(ctx, GPTC_ENOMEM, "chat template: out of memory");
        b->mask = nm;
        b->cap = cap;
    }
    memcpy(b->ids + b->n, ids, n * sizeof *ids);
    memset(b->mask + b->n, mask, n);
    b->n += n;
    return GPTC_OK;
}

static gptc_status push_text(gptc_ctx *ctx, const gptc_tokenizer *tok, ibuf *b, const char *text, uint8_t mask) {
    if (!*text) return GPTC_OK;
    int32_t *ids;
    size_t n;
    gptc_status st = gptc_tokenizer_encode(ctx, tok, text, strlen(text), 0, &ids, &n);
    if (st) return st;
    st = push(ctx, b, ids, n, mask);
    free(ids);
    return st;
}

static gptc_status push_marker(gptc_ctx *ctx, const gptc_tokenizer *tok, ibuf *b, int32_t id, const char *text,
                               uint8_t mask) {
    return id >= 0 ? push(ctx, b, &id, 1, mask) : push_text(ctx, tok, b, text, mask);
}

gptc_status gptc_chat_encode(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_chat_tokens *ct,
                             const gptc_chat_message *msgs, int n_msgs, int add_generation_prompt,
                             int32_t **ids, size_t *n_ids, uint8_t **assistant_mask) {
    ibuf b = {0};
    gptc_status st = GPTC_OK;
    *ids = NULL;
    *n_ids = 0;
    if (assistant_mask) *assistant_mask = NULL;
    for (int i = 0; i < n_msgs && !st; i++) {
        if (!msgs[i].role || !msgs[i].content || !*msgs[i].role || strchr(msgs[i].role, '\n')) {
            st = gptc_fail(ctx, GPTC_EINVAL, "chat template: message %d has no role or content", i);
            break;
        }
        uint8_t a = strcmp(msgs[i].role, "assistant") == 0;
        if ((st = push_marker(ctx, tok, &b, ct->im_start, "<|im_start|>", 0))) break;
        if ((st = push_text(ctx, tok, &b, msgs[i].role, 0))) break;
        if ((st = push_text(ctx, tok, &b, "\n", 0))) break;
        if ((st = push_text(ctx, tok, &b, msgs[i].content, a))) break;
        if ((st = push_marker(ctx, tok, &b, ct->im_end, "<|im_end|>", a))) break;
        st = push_text(ctx, tok, &b, "\n", a);
    }
    if (!st && add_generation_prompt) {
        st = push_marker(ctx, tok, &b, ct->im_start, "<|im_start|>", 0);
        if (!st) st = push_text(ctx, tok, &b, "assistant", 0);
        if (!st) st = push_text(ctx, tok, &b, "\n", 0); /* as in a message: the ids stay a prefix */
    }
    if (st) {
        free(b.ids);
        free(b.mask);
        return st;
    }
    if (!b.ids) { /* no message: an empty, freeable array */
        b.ids = malloc(sizeof(int32_t));
        b.mask = malloc(1);
        if (!b.ids || !b.mask) {
            free(b.ids);
            free(b.mask);
            return gptc_fail(ctx, GPTC_ENOMEM, "chat template: out of memory");
        }
    }
    *ids = b.ids;
    *n_ids = b.n;
    if (assistant_mask) *assistant_mask = b.mask;
    else free(b.mask);
    return GPTC_OK;
}
