/* cmd_info.c: `gptc info`: loads a model directory (checking every tensor) and prints
 * its config, parameter counts by kind, the memory training needs at B x T, the
 * weight file, and the compute kernel chosen for this CPU. */
#include "cli.h"
#include "gptc.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: gptc info --model DIR|REPO [--batch-size B] [--seq-len T] [--threads N] [--json]\n"
    "\n"
    "Loads the model in DIR (config.json + model.safetensors; every tensor's name, shape and\n"
    "dtype is checked) and prints its config, parameter counts by kind, the memory for\n"
    "weights, gradients, AdamW state and activations when training at B x T (for a model\n"
    "kept in BF16/F16 or quantized blocks, which runs inference only: its weights as held\n"
    "in memory and a session's KV cache at B x T), and the matrix-multiply kernel chosen\n"
    "for this CPU, with the CPU level the kernels run (cpu=avx512|avx2|scalar; the\n"
    "environment variable GPTC_CPU=avx2 or scalar caps it).\n"
    "\n"
    "  --model DIR|REPO  model directory\n"
    "  --batch-size B    batch size for the activation estimate (default 1)\n"
    "  --seq-len T       sequence length for the estimate (default n_positions)\n"
    "  --threads N       threads (default: all cores)\n"
    "  --json            print one JSON object\n"
    "\n"
    CLI_REPO_NOTE
    "\n"
    "example:\n"
    "  gptc info --model models/tiny --batch-size 8 --seq-len 128\n";

static void fmt_count(char *out, size_t n) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%zu", n), k = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = 0;
}

static void fmt_bytes(char *out, size_t cap, double b) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static const char *dtype_str(gptc_dtype d) {
    static const char *const names[GPTC_DTYPE_COUNT] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "U8"};
    return (unsigned)d < GPTC_DTYPE_COUNT ? names[d] : "other";
}

int cmd_info(int argc, char **argv) {
    const char *dir = NULL;
    long B = 1, T = 0, threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--model", &dir)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--batch-size", 1, 65536, &B)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--seq-len", 1, 1 << 20, &T)) continue;
        if (cli_opt_int_in(argc, argv, &i, "--threads", 0, 4096, &threads)) continue;
        if (cli_flag(argv, i, "--json")) { json = 1; continue; }
        cli_bad_option("info", argv[i]);
    }
    if (!dir) {
        fprintf(stderr, "gptc info: --model is required\ntry `gptc info --help`\n");
        return 2;
    }
    dir = cli_model("info", dir);
    gptc_ctx *ctx = cli_ctx("info", (int)threads);
    gptc_model *m;
    if (gptc_model_load(ctx, dir, &m)) cli_die_model("info", ctx, dir);
    const gptc_config *c = gptc_model_config(m);
    if (T == 0) T = c->n_positions;
    if (T > c->n_positions) {
        fprintf(stderr, "gptc info: option --seq-len: %ld is out of range [1, %d] (n_positions)\n", T, c->n_positions);
        exit(2);
    }

    /* the stored dtypes of the parameters: a quantized tensor (U8 blocks) by the format
     * its "gptc.dtype.NAME" metadata names */
    char wpath[4200];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    gptc_safetensors st;
    int counts[GPTC_DTYPE_COUNT + 1] = {0};
    size_t file_bytes = 0;
    if (gptc_st_open(ctx, wpath, &st) == GPTC_OK) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            char key[200];
            snprintf(key, sizeof key, "gptc.dtype.%s", st.tensors[i].name);
            const char *q = gptc_st_meta(&st, key);
            gptc_dtype d = q ? gptc_dtype_parse(q) : st.tensors[i].dtype;
            counts[d <= GPTC_DTYPE_COUNT ? d : GPTC_DTYPE_COUNT]++;
        }
        file_bytes = st.map.size;
        gptc_st_close(&st);
    }
    char stored[64] = "";
    for (int d = 0; d < GPTC_DTYPE_COUNT; d++)
        if (counts[d]) snprintf(stored + strlen(stored), sizeof stored - strlen(stored), "%s%s", stored[0] ? "+" : "",
                                dtype_str((gptc_dtype)d));
    const char *tok = NULL;
    char p[4200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    if (stat(p, &sb) == 0) tok = "vocab.json + merges.txt";
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    if (!tok && stat(p, &sb) == 0) tok = "tokenizer.json";
    snprintf(p, sizeof p, "%s/vocab.txt", dir);
    if (!tok && stat(p, &sb) == 0) tok = "vocab.txt (WordPiece)";
    int bert = c->arch == GPTC_ARCH_BERT, marian = c->arch == GPTC_ARCH_MARIAN;

    gptc_param_counts pc = gptc_model_param_counts(c);
    size_t w = pc.total * sizeof(float), acts = gptc_model_activation_bytes(c, (int)B, (int)T);
    size_t total = 4 * w + acts;
    /* a model kept in BF16/F16 or ggml's blocks is for inference: its weights as held in
     * memory and a session's KV cache at B x T, not the F32 training table */
    int lowp = gptc_model_weight_dtype(m) != GPTC_F32;
    size_t w_held = gptc_model_weight_bytes(m), sess = 0;
    if (lowp && !bert) {
        gptc_session *se;
        if (gptc_session_new(ctx, m, (int)B, (int)T, &se)) cli_die("info", ctx, NULL);
        sess = gptc_session_bytes(se);
        gptc_session_free(se);
    }
    char backend[512];
    if (gptc_backend_describe(ctx, backend, sizeof backend) != GPTC_OK)
        snprintf(backend, sizeof backend, "unavailable: %s", gptc_errmsg(ctx));

    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, dir);
        printf(", \"model_type\": \"%s\", \"architecture\": \"%s\"", bert ? "bert" : marian ? "marian" : "gpt2",
               gptc_model_class(m));
        if (marian)
            printf(", \"encoder_layers\": %d, \"decoder_layers\": %d, \"encoder_attention_heads\": %d, "
                   "\"encoder_ffn_dim\": %d, \"pad_token_id\": %d, \"decoder_start_token_id\": %d, "
                   "\"scale_embedding\": %s, \"share_encoder_decoder_embeddings\": %s",
                   c->enc_layers, c->n_layer - c->enc_layers, c->enc_n_head, c->enc_n_inner, c->pad_token_id,
                   c->decoder_start_token_id, c->scale_embedding ? "true" : "false", c->share_embeddings ? "true" : "false");
        if (bert) printf(", \"type_vocab_size\": %d, \"pad_token_id\": %d", c->type_vocab_size, c->pad_token_id);
        printf(", \"config\": {\"n_layer\": %d, \"n_head\": %d, \"n_embd\": %d, \"n_positions\": %d, "
               "\"vocab_size\": %d, \"n_inner\": %d, \"layer_norm_epsilon\": %g, \"activation_function\": \"%s\", "
               "\"embd_pdrop\": %g, \"attn_pdrop\": %g, \"resid_pdrop\": %g, \"bos_token_id\": %d, "
               "\"eos_token_id\": %d, \"tie_word_embeddings\": %s}",
               c->n_layer, c->n_head, c->n_embd, c->n_positions, c->vocab_size, c->n_inner ? c->n_inner : 4 * c->n_embd,
               (double)c->layer_norm_epsilon, c->activation_function, (double)c->embd_pdrop, (double)c->attn_pdrop,
               (double)c->resid_pdrop, c->bos_token_id, c->eos_token_id, c->tie_word_embeddings ? "true" : "false");
        printf(", \"params\": {\"embedding\": %zu, \"attention\": %zu, \"mlp\": %zu, \"layernorm\": %zu, "
               "\"head\": %zu, \"total\": %zu}",
               pc.embedding, pc.attention, pc.mlp, pc.layernorm, pc.head, pc.total);
        printf(", \"weights_file\": {\"bytes\": %zu, \"dtype\": \"%s\"}", file_bytes, stored);
        printf(", \"tokenizer\": ");
        if (tok) cli_json_string(stdout, tok);
        else printf("null");
        if (lowp)
            printf(", \"memory\": {\"batch_size\": %ld, \"seq_len\": %ld, \"weights\": %zu, \"weights_f32\": %zu, "
                   "\"session\": %zu, \"inference_total\": %zu}",
                   B, T, w_held, w, sess, w_held + sess);
        else
            printf(", \"memory\": {\"batch_size\": %ld, \"seq_len\": %ld, \"weights\": %zu, \"gradients\": %zu, "
                   "\"adamw\": %zu, \"activations\": %zu, \"training_total\": %zu}",
                   B, T, w, w, 2 * w, acts, total);
        printf(", \"backend\": ");
        cli_json_string(stdout, backend);
        printf("}\n");
    } else {
        char a[48], b[48];
        printf("model %s\n", dir);
        printf("  architecture: %s (%s)\n", gptc_model_class(m),
               bert ? "post-norm bidirectional encoder"
               : marian ? "post-norm encoder-decoder, sinusoidal positions, cross-attention"
                        : "pre-norm causal decoder");
        if (marian)
            printf("  encoder_layers %d, decoder_layers %d (n_layer %d: encoder then decoder), encoder heads %d, "
                   "encoder ffn %d\n  pad_token_id %d, decoder_start_token_id %d, %s embeddings%s\n",
                   c->enc_layers, c->n_layer - c->enc_layers, c->n_layer, c->enc_n_head, c->enc_n_inner, c->pad_token_id,
                   c->decoder_start_token_id, c->share_embeddings ? "shared encoder/decoder" : "separate encoder/decoder",
                   c->scale_embedding ? ", scaled by sqrt(d_model)" : "");
        if (bert) printf("  type_vocab_size %d, pad_token_id %d\n", c->type_vocab_size, c->pad_token_id);
        printf("  config: n_layer %d, n_head %d, n_embd %d, n_positions %d, vocab_size %d, n_inner %d\n", c->n_layer,
               c->n_head, c->n_embd, c->n_positions, c->vocab_size, c->n_inner ? c->n_inner : 4 * c->n_embd);
        printf("          %s, layer_norm_epsilon %g, dropout embd %g attn %g resid %g, %s embeddings\n",
               c->activation_function, (double)c->layer_norm_epsilon, (double)c->embd_pdrop, (double)c->attn_pdrop,
               (double)c->resid_pdrop, c->tie_word_embeddings ? "tied" : "untied");
        printf("          bos_token_id %d, eos_token_id %d; tokenizer: %s\n", c->bos_token_id, c->eos_token_id,
               tok ? tok : "none");
        fmt_bytes(b, sizeof b, (double)file_bytes);
        printf("  weights file: model.safetensors, %s, %s\n", b, stored);
        printf("  parameters:\n");
        struct { const char *name; size_t n; } rows[] = {
            {bert ? "embedding (w+pos+type)" : marian ? "embedding (tokens)" : "embedding (wte + wpe)", pc.embedding},
            {"attention", pc.attention}, {"mlp", pc.mlp}, {"layernorm", pc.layernorm},
            {bert ? "heads (pooler, cls)" : marian ? "lm_head + logits bias" : "lm_head (untied)", pc.head},
            {"total", pc.total},
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            fmt_count(a, rows[i].n);
            printf("    %-22s %15s  %5.1f%%\n", rows[i].name, a, pc.total ? 100.0 * (double)rows[i].n / (double)pc.total : 0.0);
        }
        if (lowp) {
            fmt_bytes(a, sizeof a, (double)w);
            printf("  memory for inference at batch %ld x seq %ld (weights kept as %s; F32 would take %s):\n", B, T,
                   stored, a);
        } else {
            printf("  memory for training at batch %ld x seq %ld (fp32):\n", B, T);
        }
        struct { const char *name; size_t n; } mem[] = {
            {"weights", w}, {"gradients", w}, {"AdamW state (m, v)", 2 * w}, {"activations", acts}, {"total", total},
        }, imem[] = {
            {"weights (as held)", w_held}, {"KV cache + scratch", sess}, {"total", w_held + sess},
        };
        size_t nmem = lowp ? (bert ? 1 : 3) : sizeof mem / sizeof mem[0];
        for (size_t i = 0; i < nmem; i++) {
            fmt_bytes(b, sizeof b, (double)(lowp ? imem[i].n : mem[i].n));
            printf("    %-22s %12s\n", lowp ? imem[i].name : mem[i].name, b);
        }
        printf("  compute kernel: %s\n", backend);
    }
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
