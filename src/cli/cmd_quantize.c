/* cmd_quantize.c: `gptc quantize`: writes a copy of a model directory with its matrices
 * in ggml's block formats (q8_0, q4_0, q4_k) or BF16, for inference by every command. */
#include "cli.h"
#include "gptc.h"

#include <string.h>

static const char *usage =
    "usage: gptc quantize --model DIR|REPO --type q8_0|q4_0|q4_k|bf16 --out DIR [options]\n"
    "\n"
    "Writes config.json, model.safetensors and the tokenizer files of the model in DIR to\n"
    "OUT, every 2-D matrix (the token embedding and the LM head included) in TYPE:\n"
    "  q8_0  blocks of 32 int8 and an fp16 scale (8.5 bits a weight)\n"
    "  q4_0  blocks of 32 4-bit values and an fp16 scale (4.5 bits a weight)\n"
    "  q4_k  super-blocks of 256 with 6-bit sub-block scales and mins (4.5 bits a weight)\n"
    "  bf16  bfloat16 (16 bits a weight)\n"
    "ggml's layouts and rounding, as llama-quantize writes them (docs/quantization.md). The\n"
    "position embedding, norms and biases stay F32. A matrix whose input size is not a\n"
    "multiple of the block (32; q4_k: 256) is written as q4_0 (q4_k) or F32, and counted.\n"
    "generate, chat, eval, classify, answer, attention and info load the result; training\n"
    "and fine-tuning need the F32 model.\n"
    "\n"
    "options:\n"
    "  --keep-embeddings   keep the token embedding and the LM head in F32\n"
    "  --threads N         threads (default: all cores)\n"
    "  --json              print the summary as JSON\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc quantize --model gpt2 --type q8_0 --out gpt2-q8_0 && gptc eval --task lm --model gpt2-q8_0 --data val.txt\n";

int cmd_quantize(int argc, char **argv) {
    const char *model_dir = NULL, *out = NULL, *type = NULL;
    long threads = 0;
    int json = 0;
    gptc_quantize_params qp = gptc_quantize_default_params();
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_str(argc, argv, &i, "--type", &type)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--keep-embeddings") || cli_flag(argv, i, "--keep_embeddings")) {
            qp.keep_embeddings = 1;
            continue;
        }
        if (cli_flag(argv, i, "--json")) {
            json = 1;
            continue;
        }
        cli_bad_option("quantize", argv[i]);
    }
    if (!model_dir || !out || !type) {
        fprintf(stderr, "gptc quantize: --model, --type and --out are required\ntry `gptc quantize --help`\n");
        return 2;
    }
    qp.type = gptc_dtype_parse(type);
    if (qp.type != GPTC_Q8_0 && qp.type != GPTC_Q4_0 && qp.type != GPTC_Q4_K && qp.type != GPTC_BF16) {
        fprintf(stderr, "gptc quantize: option --type: '%s' is not one of q8_0, q4_0, q4_k, bf16\n", type);
        return 2;
    }
    model_dir = cli_model("quantize", model_dir);
    gptc_ctx *ctx = cli_ctx("quantize", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("quantize", ctx, model_dir);
    gptc_quantize_stats st;
    gptc_outdir od;
    if (gptc_outdir_begin(ctx, &od, out, gptc_model_dir_names)) cli_die("quantize", ctx, NULL);
    if (gptc_model_save_quantized(ctx, m, od.tmp, &qp, &st) || gptc_copy_tokenizer_files(ctx, model_dir, od.tmp) ||
        gptc_outdir_commit(ctx, &od)) {
        gptc_outdir_abort(&od);
        cli_die("quantize", ctx, NULL);
    }
    size_t f32_bytes = gptc_model_param_counts(gptc_model_config(m)).total * 4;
    if (json) {
        printf("{\"out\": ");
        cli_json_string(stdout, out);
        printf(", \"type\": \"%s\", \"tensors\": {", gptc_dtype_name(qp.type));
        int first = 1;
        for (int d = 0; d < GPTC_DTYPE_COUNT; d++)
            if (st.n_tensors[d]) {
                printf("%s\"%s\": %zu", first ? "" : ", ", gptc_dtype_name((gptc_dtype)d), st.n_tensors[d]);
                first = 0;
            }
        printf("}, \"fallback\": %zu, \"weight_bytes\": %zu, \"f32_bytes\": %zu}\n", st.n_fallback, st.weight_bytes,
               f32_bytes);
    } else {
        printf("quantized: %s (", out);
        int first = 1;
        for (int d = 0; d < GPTC_DTYPE_COUNT; d++)
            if (st.n_tensors[d]) {
                printf("%s%zu %s", first ? "" : ", ", st.n_tensors[d], gptc_dtype_name((gptc_dtype)d));
                first = 0;
            }
        printf("; %.1f MiB of weights, %.2fx smaller than f32)\n", st.weight_bytes / 1048576.0,
               st.weight_bytes ? (double)f32_bytes / st.weight_bytes : 0.0);
        if (st.n_fallback)
            fprintf(stderr, "gptc quantize: %zu matri%s not in %s (input size not a multiple of the block), the first "
                            "%s\n", st.n_fallback, st.n_fallback == 1 ? "x" : "ces", gptc_dtype_name(qp.type),
                    st.first_fallback);
    }
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
