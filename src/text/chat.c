/* chat.c: the ChatML chat template ("<|im_start|>role\ncontent<|im_end|>\n"): markers
 * as special tokens when the tokenizer has them, else as two ids past the tokenizer's
 * vocabulary when the model has room, else as text. The text between markers is encoded
 * as one text, so the ids are those of Hugging Face's apply_chat_template (the rendered
 * conversation tokenized with the markers as special tokens, or as one text when they
 * are spelled out). */
#include "bpe.h"
#include <stdlib.h>
#include <string.h>

/* ChatML as a Jinja template (tokenizer_config.json's chat_template): the text
 * gptc_chat_encode produces. */
const char gptc_chatml_template[] =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

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

/* Encodes text[0, n) as ordinary text; a token is masked (mask) when it overlaps
 * text[mask_from, n) (a token that straddles the start of an assistant's content counts,
 * as with Hugging Face's assistant masks). */
static gptc_status push_text(gptc_ctx *ctx, const gptc_tokenizer *tok, ibuf *b, const char *text, size_t n,
                             size_t mask_from, uint8_t mask) {
    if (!n) return GPTC_OK;
    int32_t *ids;
    size_t k;
    gptc_status st = gptc_tokenizer_encode(ctx, tok, text, n, 0, &ids, &k);
    if (st) return st;
    size_t first = b->n;
    st = push(ctx, b, ids, k, 0);
    if (!st && mask) {
        size_t end = 0;
        for (size_t i = 0; i < k; i++) {
            end += tok->tlen[ids[i]];
            if (end > mask_from) b->mask[first + i] = mask;
        }
    }
    free(ids);
    return st;
}

/* Appends s to a growing string (malloc). */
static int sappend(char **p, size_t *n, size_t *cap, const char *s) {
    size_t l = strlen(s);
    if (*n + l + 1 > *cap) {
        size_t c = (*n + l + 1) * 2;
        char *np = realloc(*p, c);
        if (!np) return -1;
        *p = np;
        *cap = c;
    }
    memcpy(*p + *n, s, l + 1);
    *n += l;
    return 0;
}

gptc_status gptc_chat_encode(gptc_ctx *ctx, const gptc_tokenizer *tok, const gptc_chat_tokens *ct,
                             const gptc_chat_message *msgs, int n_msgs, int add_generation_prompt,
                             int32_t **ids, size_t *n_ids, uint8_t **assistant_mask) {
    ibuf b = {0};
    gptc_status st = GPTC_OK;
    *ids = NULL;
    *n_ids = 0;
    if (assistant_mask) *assistant_mask = NULL;
    int text_markers = ct->im_start < 0 || ct->im_end < 0;
    char *s = NULL;
    size_t sn = 0, scap = 0;
    for (int i = 0; i < n_msgs && !st; i++) {
        if (!msgs[i].role || !msgs[i].content || !*msgs[i].role || strchr(msgs[i].role, '\n')) {
            st = gptc_fail(ctx, GPTC_EINVAL, "chat template: message %d has no role or content", i);
            break;
        }
        uint8_t a = strcmp(msgs[i].role, "assistant") == 0;
        /* One message: [im_start] "role\ncontent" [im_end] "\n" with token markers, the text
         * "<|im_start|>role\ncontent<|im_end|>\n" with text markers. Messages end in "\n"
         * and start with a marker, so encoding them one by one gives the ids of the whole
         * conversation encoded at once. */
        sn = 0;
        if ((text_markers && sappend(&s, &sn, &scap, "<|im_start|>")) || sappend(&s, &sn, &scap, msgs[i].role) ||
            sappend(&s, &sn, &scap, "\n")) {
            st = gptc_fail(ctx, GPTC_ENOMEM, "chat template: out of memory");
            break;
        }
        size_t content_from = sn;
        if (sappend(&s, &sn, &scap, msgs[i].content) ||
            (text_markers && sappend(&s, &sn, &scap, "<|im_end|>\n"))) {
            st = gptc_fail(ctx, GPTC_ENOMEM, "chat template: out of memory");
            break;
        }
        if (text_markers) {
            st = push_text(ctx, tok, &b, s, sn, content_from, a);
            continue;
        }
        if ((st = push(ctx, &b, &ct->im_start, 1, 0))) break;
        if ((st = push_text(ctx, tok, &b, s, sn, content_from, a))) break;
        if ((st = push(ctx, &b, &ct->im_end, 1, a))) break;
        st = push_text(ctx, tok, &b, "\n", 1, 0, a);
    }
    free(s);
    if (!st && add_generation_prompt) {
        if (text_markers) {
            st = push_text(ctx, tok, &b, "<|im_start|>assistant\n", 22, 0, 0);
        } else {
            st = push(ctx, &b, &ct->im_start, 1, 0);
            if (!st) st = push_text(ctx, tok, &b, "assistant\n", 10, 0, 0);
        }
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
