/* cmd_merge_lora.c: `gptc merge-lora`: folds the LoRA adapter of a model directory into
 * its base weights and writes a plain model directory (no adapter needed to load it). */
#include "cli.h"
#include "gptc.h"

#include <string.h>

static const char *usage =
    "usage: gptc merge-lora --model DIR|REPO --out DIR [--dtype f32|bf16]\n"
    "\n"
    "Loads the model in DIR with its LoRA adapter (adapter_config.json +\n"
    "adapter_model.safetensors, PEFT's layout), merges W += (alpha/r) B A into every adapted\n"
    "layer (GPT-2's Conv1D [in, out]: the transpose; BERT's nn.Linear [out, in]), and writes\n"
    "config.json, model.safetensors and the tokenizer files to OUT.\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc merge-lora --model run/model --out merged && gptc classify --model merged reviews.txt\n";

int cmd_merge_lora(int argc, char **argv) {
    const char *model_dir = NULL, *out = NULL, *dtype = "f32";
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &model_dir)) continue;
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_str(argc, argv, &i, "--dtype", &dtype)) continue;
        cli_bad_option("merge-lora", argv[i]);
    }
    if (!model_dir || !out) {
        fprintf(stderr, "gptc merge-lora: --model and --out are required\ntry `gptc merge-lora --help`\n");
        return 2;
    }
    gptc_dtype dt = !strcmp(dtype, "f32") ? GPTC_F32 : !strcmp(dtype, "bf16") ? GPTC_BF16 : GPTC_DTYPE_COUNT;
    if (dt == GPTC_DTYPE_COUNT) cli_die("merge-lora", NULL, "--dtype %s: expected f32 or bf16", dtype);
    model_dir = cli_model("merge-lora", model_dir);
    gptc_ctx *ctx = cli_ctx("merge-lora", 0);
    gptc_model *m;
    if (gptc_model_load(ctx, model_dir, &m)) cli_die_model("merge-lora", ctx, model_dir);
    if (!gptc_model_has_lora(m))
        cli_die("merge-lora", NULL, "%s: no LoRA adapter (adapter_config.json) to merge", model_dir);
    if (gptc_model_lora_merge(ctx, m)) cli_die("merge-lora", ctx, NULL);
    /* a fresh directory swapped in as a whole: --out may be --model itself, whose
     * adapter files must not stay beside the merged weights (they would be applied a
     * second time on every load); the tokenizer is copied before the swap */
    gptc_outdir od;
    if (gptc_outdir_begin(ctx, &od, out, gptc_model_dir_names)) cli_die("merge-lora", ctx, NULL);
    if (gptc_model_save(ctx, m, od.tmp, dt) || gptc_copy_tokenizer_files(ctx, model_dir, od.tmp) ||
        gptc_outdir_commit(ctx, &od)) {
        gptc_outdir_abort(&od);
        cli_die("merge-lora", ctx, NULL);
    }
    printf("merged: %s\n", out);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
