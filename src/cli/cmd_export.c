/* cmd_export.c: `gptc export --format gguf`: a model directory as one GGUF file for
 * llama.cpp (and Ollama), weights in f32, f16 or ggml's blocks. */
#include "cli.h"
#include "gptc.h"

#include <string.h>

static const char *usage =
    "usage: gptc export --format gguf --model DIR|REPO --out FILE.gguf [--type f32|f16|q8_0|q4_0|q4_k]\n"
    "\n"
    "Writes the GPT-2 language model in DIR (config.json, model.safetensors, tokenizer) as a\n"
    "GGUF v3 file for llama.cpp's gpt2 architecture: llama.cpp's tensor names, gpt2.*\n"
    "hyperparameters and the tokenizer (tokenizer.ggml.model \"gpt2\", tokens, merges,\n"
    "token types, bos/eos ids, add_bos false). --type sets the matrices' type (default: f32,\n"
    "or the blocks a quantized DIR holds, written as they are); norms, biases and the\n"
    "position embedding stay f32. gptc reads the file back as a model path\n"
    "(`gptc generate --model FILE.gguf --prompt-tokens ...`, `gptc eval --model FILE.gguf`).\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc export --format gguf --model gpt2 --type q8_0 --out gpt2-q8_0.gguf\n";

int cmd_export(int argc, char **argv) {
    const char *model_dir = NULL, *out = NULL, *format = NULL, *type = NULL;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_str(argc, argv, &i, "--format", &format)) continue;
        if (cli_opt_str(argc, argv, &i, "--type", &type)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        cli_bad_option("export", argv[i]);
    }
    if (!model_dir || !out || !format) {
        fprintf(stderr, "gptc export: --format, --model and --out are required\ntry `gptc export --help`\n");
        return 2;
    }
    if (strcmp(format, "gguf")) {
        fprintf(stderr, "gptc export: option --format: '%s' is not gguf (the one format written)\n", format);
        return 2;
    }
    gptc_dtype t = GPTC_DTYPE_COUNT;
    if (type) {
        t = gptc_dtype_parse(type);
        if (t != GPTC_F32 && t != GPTC_F16 && t != GPTC_Q8_0 && t != GPTC_Q4_0 && t != GPTC_Q4_K) {
            fprintf(stderr, "gptc export: option --type: '%s' is not one of f32, f16, q8_0, q4_0, q4_k\n", type);
            return 2;
        }
    }
    model_dir = cli_model("export", model_dir);
    gptc_ctx *ctx = cli_ctx("export", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("export", ctx, model_dir);
    gptc_tokenizer *tok;
    if (gptc_tokenizer_load(ctx, model_dir, &tok)) cli_die("export", ctx, "%s: a GGUF file needs the tokenizer", model_dir);
    if (gptc_model_export_gguf(ctx, m, tok, out, t)) cli_die("export", ctx, NULL);
    printf("exported: %s (gguf, %s)\n", out, type ? type : gptc_dtype_name(gptc_model_weight_dtype(m)));
    gptc_tokenizer_free(tok);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
