/* main.c: the gptc program: one binary, subcommands. Each subcommand lives in
 * cmd_<name>.c and parses its own options. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; gptc_cmd_fn fn; const char *summary; } commands[] = {
    {"pull", cmd_pull, "download a model from the Hugging Face Hub into its cache (by name)"},
    {"init", cmd_init, "create a new model directory (presets, GPT-2 initialization)"},
    {"info", cmd_info, "show a model's config, parameter counts, memory and the compute kernel"},
    {"prepare", cmd_prepare, "text, folders, JSONL -> token shards with a train/val split"},
    {"train", cmd_train, "pre-train a GPT (or a BERT: masked LM + NSP) on prepared data (checkpoints, resume)"},
    {"plot", cmd_plot, "draw a run's loss and learning-rate curves to SVG"},
    {"finetune", cmd_finetune, "fine-tune: classification, chat (SFT), extractive QA; full or LoRA"},
    {"merge-lora", cmd_merge_lora, "fold a LoRA adapter into its base model"},
    {"export", cmd_export, "write a model as a GGUF file for llama.cpp (f32, f16, q8_0, q4_0, q4_k)"},
    {"quantize", cmd_quantize, "write a model with q8_0, q4_0, q4_k (ggml's blocks) or bf16 weights"},
    {"generate", cmd_generate, "continue a prompt: greedy, sampling, beam search; streams text"},
    {"chat", cmd_chat, "talk with a chat model (ChatML turns, history, /reset /save)"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server with continuous batching and a chat page"},
    {"translate", cmd_translate, "translate sentences with an encoder-decoder (OPUS-MT / Marian): greedy, sampling, beams"},
    {"classify", cmd_classify, "label and class probabilities of each input line"},
    {"fill-mask", cmd_fill_mask, "a BERT's most probable tokens for each [MASK] of a text"},
    {"answer", cmd_answer, "extractive question answering over a context file"},
    {"attention", cmd_attention, "attention weights of a text as an SVG heatmap or JSON"},
    {"eval", cmd_eval, "evaluate: loss and perplexity, classification and QA metrics"},
    {"tokenize", cmd_tokenize, "text -> token ids (GPT-2 BPE, tiktoken encodings)"},
    {"detokenize", cmd_detokenize, "token ids -> text"},
    {"tokenizer-train", cmd_tokenizer_train, "learn a byte-level BPE vocabulary from text files"},
};

static void usage(FILE *f) {
    fprintf(f, "gptc %s: GPT language models in C\n\nusage: gptc <command> [options]\n\ncommands:\n",
            GPTC_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`gptc <command> --help` (or `gptc help <command>`) shows a command's options and an example.\n");
}

/* The command a mistyped name most likely meant: the only one it begins ("gen"), else
 * the nearest by edit distance (at most 2, or 3 for long names); NULL when none is close. */
static const char *nearest_command(const char *name) {
    const char *prefix = NULL, *best = NULL;
    size_t n = strlen(name), best_d = (size_t)-1;
    int n_prefix = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *c = commands[i].name;
        if (n >= 2 && !strncmp(c, name, n)) {
            prefix = c;
            n_prefix++;
        }
        size_t d = cli_edit_distance(name, n, c, strlen(c));
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    if (n_prefix == 1) return prefix;
    return best && best_d <= (n > 9 ? 3u : 2u) && best_d < n ? best : NULL;
}

static int unknown_command(const char *name) {
    fprintf(stderr, "gptc: unknown command '%s'\n", name);
    const char *near = nearest_command(name);
    if (near) fprintf(stderr, "did you mean `gptc %s`?\n", near);
    fprintf(stderr, "try `gptc --help`\n");
    return 2;
}

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* see gptc.h: how OpenMP threads wait (long spins collapse on a shared machine) */
    if (!gptc_cpu_level()) {
        fprintf(stderr, "gptc: GPTC_CPU=%s: not avx512, avx2 or scalar (unset: the best this CPU runs)\n",
                getenv("GPTC_CPU"));
        return 2;
    }
    /* gptc help CMD = gptc CMD --help */
    if (argc >= 3 && !strcmp(argv[1], "help")) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                char *sub_argv[] = {argv[2], "--help", NULL};
                return commands[i].fn(2, sub_argv);
            }
        return unknown_command(argv[2]);
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gptc %s\n", GPTC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    return unknown_command(argv[1]);
}
