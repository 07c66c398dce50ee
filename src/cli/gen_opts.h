/* gen_opts.h: what `gptc generate` and `gptc chat` share (cmd_generate.c): the
 * generation options with Hugging Face's names. Streaming text is the library's
 * gptc_text_stream. */
#ifndef GPTC_CLI_GEN_OPTS_H
#define GPTC_CLI_GEN_OPTS_H

#include "cli.h"

#define GPTC_CLI_GEN_OPTIONS \
    "  --max-new-tokens N          tokens to generate\n" \
    "  --max-length N              prompt + new tokens (used without --max-new-tokens; HF default 20)\n" \
    "  --do-sample / --greedy      sample (else greedy, or beam search with --num-beams)\n" \
    "  --temperature F             sampling temperature (default 1.0; 0 = greedy)\n" \
    "  --top-k N                   keep the N most likely tokens (default 50 when sampling; 0 = off)\n" \
    "  --top-p F                   nucleus: the most likely tokens up to probability F (default 1.0)\n" \
    "  --min-p F                   drop tokens below F x the top probability (default 0)\n" \
    "  --typical-p F               locally typical sampling mass (default 1.0)\n" \
    "  --repetition-penalty F      CTRL repetition penalty (default 1.0)\n" \
    "  --no-repeat-ngram-size N    never repeat an n-gram of this size (default 0)\n" \
    "  --presence-penalty F        OpenAI presence penalty over generated tokens (default 0)\n" \
    "  --frequency-penalty F       OpenAI frequency penalty over generated tokens (default 0)\n" \
    "  --num-return-sequences N    sequences to return (default 1)\n" \
    "  --num-beams N               beam search with N beams (default 1)\n" \
    "  --length-penalty F          beam score = sum logprobs / length^F (default 1.0)\n" \
    "  --early-stopping [V]        beam search: true, false (default) or never\n" \
    "  --eos-token-id ID           end-of-sequence id (repeatable; -1 = none; default: the model's)\n" \
    "  --stop TEXT                 stop string, repeatable (not printed)\n" \
    "  --seed N                    sampling seed (default 0)\n"

/* Parses one generation option at argv[*i] into p; returns 1 when it was one. */
int cli_gen_option(int argc, char **argv, int *i, gptc_gen_params *p);
#define GPTC_CLI_DTYPE_OPTION \
    "  --dtype f32|bf16|f16        keep the model's matrices in this type (bf16/f16: half the memory\n" \
    "                              read per token; default f32)\n"
/* Parses --dtype into p; returns 1 when argv[*i] was it (a bad value exits 2). */
int cli_dtype_option(const char *cmd, int argc, char **argv, int *i, gptc_load_params *p);
/* Exits when an eos id is outside the model's vocabulary: 2 naming --eos-token-id when
 * the ids came from it, else 1 naming DIR/generation_config.json. */
void cli_gen_check_model(const char *cmd, const gptc_gen_params *p, const gptc_config *c, const char *model_dir);
/* The value of --model in argv, or NULL. */
const char *cli_find_model(int argc, char **argv);

#endif
