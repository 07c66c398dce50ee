/* tool_chat_ids.c: the gptc side of the chat-template check in tests/t_tokenizer_hf.sh,
 * using only include/gptc.h: for each line {"messages": [{"role", "content"}...]} of a
 * JSONL file, the ids of gptc_chat_encode (space-separated, one line per conversation),
 * and with --mask a second line of 0/1 assistant-mask values.
 * usage: tool_chat_ids TOKENIZER FILE.jsonl [--add-generation-prompt] [--mask] */
#define _GNU_SOURCE /* getline */
#include "gptc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tool_chat_ids TOKENIZER FILE.jsonl [--add-generation-prompt] [--mask]\n");
        return 2;
    }
    int gen = 0, want_mask = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--add-generation-prompt")) gen = 1;
        else if (!strcmp(argv[i], "--mask")) want_mask = 1;
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_tokenizer *tok = NULL;
    if (!ctx || gptc_tokenizer_load(ctx, argv[1], &tok)) {
        fprintf(stderr, "tool_chat_ids: %s\n", ctx ? gptc_errmsg(ctx) : "no context");
        return 1;
    }
    gptc_chat_tokens ct;
    gptc_chat_tokens_resolve(tok, (int)gptc_tokenizer_n_vocab(tok), &ct);
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *root = json_loads(line, 0, &err), *msgs = json_object_get(root, "messages");
        size_t n = json_array_size(msgs);
        gptc_chat_message *m = calloc(n + 1, sizeof *m);
        for (size_t i = 0; i < n; i++) {
            m[i].role = json_string_value(json_object_get(json_array_get(msgs, i), "role"));
            m[i].content = json_string_value(json_object_get(json_array_get(msgs, i), "content"));
        }
        int32_t *ids;
        size_t k;
        uint8_t *mask;
        if (gptc_chat_encode(ctx, tok, &ct, m, (int)n, gen, &ids, &k, &mask)) {
            fprintf(stderr, "tool_chat_ids: %s\n", gptc_errmsg(ctx));
            rc = 1;
        } else {
            for (size_t i = 0; i < k; i++) printf(i ? " %d" : "%d", ids[i]);
            printf("\n");
            if (want_mask) {
                for (size_t i = 0; i < k; i++) printf(i ? " %d" : "%d", mask[i]);
                printf("\n");
            }
            free(ids);
            free(mask);
        }
        free(m);
        json_decref(root);
    }
    free(line);
    fclose(f);
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return rc;
}
