/* generate.c: the smallest complete use of libgptc's generation API: load a model and its
 * tokenizer, encode a prompt, and stream a sampled continuation to stdout without ever
 * splitting a UTF-8 character. Built by `make examples`; run by tests/t_example.sh.
 * usage: generate MODEL_DIR PROMPT [MAX_NEW_TOKENS] [SEED] */
#include "gptc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    gptc_ctx *ctx;
    gptc_decoder *dec;
    int32_t eos;
} stream;

/* Called for each new token: print the characters it completes. */
static int on_token(void *user, int seq, int32_t token) {
    stream *s = user;
    char piece[256];
    size_t n;
    (void)seq;
    if (token == s->eos) return 0;
    if (gptc_decoder_push(s->ctx, s->dec, token, piece, sizeof piece, &n) != GPTC_OK) return 1; /* stop */
    fwrite(piece, 1, n, stdout);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* as the gptc program: a short OpenMP spin, then sleep */
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR PROMPT [MAX_NEW_TOKENS] [SEED]\n", argv[0]);
        return 2;
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL); /* all cores */
    gptc_model *model = NULL;
    gptc_tokenizer *tok = NULL;
    gptc_gen_result *res = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    stream s = {ctx, NULL, -1};
    int rc = 1;
    if (!ctx) return 1;
    if (gptc_model_load(ctx, argv[1], &model) || gptc_tokenizer_load(ctx, argv[1], &tok) ||
        gptc_tokenizer_encode(ctx, tok, argv[2], strlen(argv[2]), 0, &ids, &n_ids) ||
        gptc_decoder_new(ctx, tok, &s.dec))
        goto done;

    /* Hugging Face's defaults, then the model's generation_config.json, then ours */
    gptc_gen_params p = gptc_gen_default_params();
    if (gptc_generation_config_load(ctx, argv[1], &p)) goto done;
    p.max_new_tokens = argc > 3 ? atoi(argv[3]) : 40;
    p.do_sample = 1;
    p.top_p = 0.9f;
    p.seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    s.eos = gptc_model_config(model)->eos_token_id;

    if (gptc_generate(ctx, model, NULL, tok, ids, (int)n_ids, &p, on_token, &s, &res)) goto done;
    char rest[64];
    size_t n;
    if (gptc_decoder_flush(ctx, s.dec, rest, sizeof rest, &n)) goto done;
    fwrite(rest, 1, n, stdout);
    printf("\n[%d tokens, finish_reason %s]\n", res->seqs[0].n_tokens, gptc_finish_reason_name(res->seqs[0].finish_reason));
    rc = 0;
done:
    if (rc) fprintf(stderr, "error: %s\n", gptc_errmsg(ctx));
    gptc_gen_result_free(res);
    free(ids); /* encode's ids are malloc'ed */
    gptc_decoder_free(s.dec);
    gptc_tokenizer_free(tok);
    gptc_model_free(model);
    gptc_ctx_free(ctx);
    return rc;
}
