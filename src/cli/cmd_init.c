/* cmd_init.c: `gptc init`: a new model directory from a preset and overrides, with
 * GPT-2's initialization, plus the GPT-2 tokenizer files when the vocabulary fits.
 * The library writes the files; this file parses options and prints the summary. */
#include "cli.h"
#include "gptc.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
    "usage: gptc init --out DIR [--arch gpt2|bert|marian] [--preset NAME] [options]\n"
    "\n"
    "Creates a model directory (Hugging Face layout: config.json, model.safetensors and the\n"
    "GPT-2 tokenizer as vocab.json + merges.txt) with GPT-2's initialization: normal(0, 0.02)\n"
    "weights, residual projections scaled by 1/sqrt(2 n_layer), zero biases. With --arch bert:\n"
    "a BertForPreTraining (BertConfig names in config.json; MLM + NSP heads) with BERT's\n"
    "initialization (normal(0, 0.02), the [PAD] row zero), no tokenizer files. With --arch\n"
    "marian: an encoder-decoder Transformer as MarianMTModel (MarianConfig names; sinusoidal\n"
    "positions, post-norm layers, cross-attention) with its initialization (normal(0, 0.02),\n"
    "zero biases, the pad row zero), no tokenizer files.\n"
    "\n"
    "  --out DIR                  directory to create (refuses an existing model without --force)\n"
    "  --arch NAME                gpt2 (default), bert or marian\n"
    "  --preset NAME              tiny, small, gpt2 (default), gpt2-medium, gpt2-large, gpt2-xl;\n"
    "                             bert: bert-tiny, bert-mini, bert-small, bert-base (default), bert-large;\n"
    "                             marian: marian-tiny, marian-small, transformer-base (default: the\n"
    "                             paper's base model, 6 + 6 layers, d 512, 8 heads, ffn 2048)\n"
    "  --n-layer N                transformer blocks\n"
    "  --n-head N                 attention heads (must divide --n-embd)\n"
    "  --n-embd N                 model width\n"
    "  --n-positions N            context length\n"
    "  --vocab-size N             vocabulary size (GPT-2: 50257)\n"
    "  --n-inner N                MLP width (default 4 * n_embd)\n"
    "  --layer-norm-epsilon F     layer-norm epsilon (default 1e-5)\n"
    "  --dropout F                embd_pdrop, attn_pdrop and resid_pdrop (default 0.1)\n"
    "  --activation-function NAME gelu_new (default), gelu_pytorch_tanh or gelu\n"
    "  --no-tie-word-embeddings   a separate lm_head (cls.predictions.decoder) instead of sharing wte\n"
    "  BERT (BertConfig's names; the GPT-2 options above set the same fields):\n"
    "  --num-hidden-layers N, --num-attention-heads N, --hidden-size N, --intermediate-size N,\n"
    "  --max-position-embeddings N, --layer-norm-eps F, --hidden-act NAME (gelu: erf)\n"
    "  --type-vocab-size N        token types (segments, default 2)\n"
    "  --hidden-dropout-prob F    dropout of embeddings and sub-block outputs (default 0.1)\n"
    "  --attention-probs-dropout-prob F  dropout of attention probabilities (default 0.1)\n"
    "  --pad-token-id N           [PAD] (default 0; its embedding row starts at zero); marian: the\n"
    "                             pad id (default the last id)\n"
    "  Marian (MarianConfig's names; --n-embd, --n-head and --n-inner set both sides):\n"
    "  --d-model N, --encoder-layers N, --decoder-layers N, --encoder-attention-heads N,\n"
    "  --decoder-attention-heads N, --encoder-ffn-dim N, --decoder-ffn-dim N,\n"
    "  --max-position-embeddings N, --activation-function relu|swish|silu|gelu\n"
    "  --dropout F                dropout of embeddings and sub-block outputs (default 0.1)\n"
    "  --attention-dropout F      dropout of attention probabilities (default 0)\n"
    "  --scale-embedding, --no-scale-embedding  embeddings times sqrt(d_model)\n"
    "  --no-share-embeddings      separate encoder and decoder embeddings\n"
    "  --decoder-start-token-id N the decoder's first input (default the pad id)\n"
    "  --eos-token-id N           end of sentence (default 0)\n"
    "  --seed N                   initialization seed (default 1337)\n"
    "  --dtype f32|bf16           stored weight type (default f32)\n"
    "  --no-tokenizer             do not write the GPT-2 tokenizer files\n"
    "  --force                    overwrite an existing model in DIR\n"
    "\n"
    "example:\n"
    "  gptc init --out models/tiny --preset tiny --seed 42\n"
    "  gptc init --out m --preset small --n-layer 6 --dropout 0.0\n"
    "  gptc init --out bert --arch bert --preset bert-mini --vocab-size 8000\n"
    "  gptc init --out mt --arch marian --preset marian-small --vocab-size 16000\n";

#define UNSET INT_MIN

/* Integer options: the value must fit an int (the config fields are int); INT_MIN marks unset. */
static int opt_int(int argc, char **argv, int *i, const char *name, int *out) {
    long v;
    if (!cli_opt_int(argc, argv, i, name, &v)) return 0;
    if (v <= INT_MIN || v > INT_MAX) cli_die("init", NULL, "%s %ld is out of range", name, v);
    *out = (int)v;
    return 1;
}

static void print_count(size_t n) {
    char digits[32], out[48];
    int len = snprintf(digits, sizeof digits, "%zu", n), k = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = 0;
    fputs(out, stdout);
}

int cmd_init(int argc, char **argv) {
    const char *out = NULL, *preset = NULL, *dtype_s = "f32", *act = NULL, *arch = "gpt2";
    int n_layer = UNSET, n_head = UNSET, n_embd = UNSET, n_pos = UNSET, vocab = UNSET, n_inner = UNSET;
    int types = UNSET, pad = UNSET;
    int enc_l = UNSET, dec_l = UNSET, enc_h = UNSET, dec_h = UNSET, enc_f = UNSET, dec_f = UNSET, dstart = UNSET;
    int eos = UNSET, scale = UNSET, unshared = 0;
    double attn_drop = 0;
    int has_attn_drop = 0;
    double eps = 0, dropout = 0, hdrop = 0, adrop = 0;
    int has_eps = 0, has_dropout = 0, has_hdrop = 0, has_adrop = 0;
    long seed = 1337;
    int force = 0, no_tok = 0, untied = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_check(argv, i, usage);
        if (cli_opt_str(argc, argv, &i, "--out", &out)) continue;
        if (cli_opt_str(argc, argv, &i, "--preset", &preset)) continue;
        if (cli_opt_str(argc, argv, &i, "--arch", &arch)) continue;
        if (opt_int(argc, argv, &i, "--n-layer", &n_layer) || opt_int(argc, argv, &i, "--num-hidden-layers", &n_layer))
            continue;
        if (opt_int(argc, argv, &i, "--n-head", &n_head) || opt_int(argc, argv, &i, "--num-attention-heads", &n_head))
            continue;
        if (opt_int(argc, argv, &i, "--n-embd", &n_embd) || opt_int(argc, argv, &i, "--hidden-size", &n_embd) ||
            opt_int(argc, argv, &i, "--d-model", &n_embd))
            continue;
        if (opt_int(argc, argv, &i, "--encoder-layers", &enc_l) || opt_int(argc, argv, &i, "--decoder-layers", &dec_l) ||
            opt_int(argc, argv, &i, "--encoder-attention-heads", &enc_h) ||
            opt_int(argc, argv, &i, "--decoder-attention-heads", &dec_h) ||
            opt_int(argc, argv, &i, "--encoder-ffn-dim", &enc_f) || opt_int(argc, argv, &i, "--decoder-ffn-dim", &dec_f) ||
            opt_int(argc, argv, &i, "--decoder-start-token-id", &dstart) ||
            opt_int(argc, argv, &i, "--eos-token-id", &eos))
            continue;
        if (cli_opt_float(argc, argv, &i, "--attention-dropout", &attn_drop)) { has_attn_drop = 1; continue; }
        if (cli_flag(argv, i, "--scale-embedding")) { scale = 1; continue; }
        if (cli_flag(argv, i, "--no-scale-embedding")) { scale = 0; continue; }
        if (cli_flag(argv, i, "--no-share-embeddings")) { unshared = 1; continue; }
        if (opt_int(argc, argv, &i, "--n-positions", &n_pos) ||
            opt_int(argc, argv, &i, "--max-position-embeddings", &n_pos))
            continue;
        if (opt_int(argc, argv, &i, "--vocab-size", &vocab)) continue;
        if (opt_int(argc, argv, &i, "--n-inner", &n_inner) || opt_int(argc, argv, &i, "--intermediate-size", &n_inner))
            continue;
        if (opt_int(argc, argv, &i, "--type-vocab-size", &types)) continue;
        if (opt_int(argc, argv, &i, "--pad-token-id", &pad)) continue;
        if (cli_opt_float(argc, argv, &i, "--layer-norm-epsilon", &eps) ||
            cli_opt_float(argc, argv, &i, "--layer-norm-eps", &eps)) { has_eps = 1; continue; }
        if (cli_opt_float(argc, argv, &i, "--dropout", &dropout)) { has_dropout = 1; continue; }
        if (cli_opt_float(argc, argv, &i, "--hidden-dropout-prob", &hdrop)) { has_hdrop = 1; continue; }
        if (cli_opt_float(argc, argv, &i, "--attention-probs-dropout-prob", &adrop)) { has_adrop = 1; continue; }
        if (cli_opt_str(argc, argv, &i, "--activation-function", &act) || cli_opt_str(argc, argv, &i, "--hidden-act", &act))
            continue;
        if (cli_opt_int(argc, argv, &i, "--seed", &seed)) continue;
        if (cli_opt_str(argc, argv, &i, "--dtype", &dtype_s)) continue;
        if (cli_flag(argv, i, "--no-tie-word-embeddings")) { untied = 1; continue; }
        if (cli_flag(argv, i, "--no-tokenizer")) { no_tok = 1; continue; }
        if (cli_flag(argv, i, "--force")) { force = 1; continue; }
        cli_bad_option("init", argv[i]);
    }
    if (!out) {
        fprintf(stderr, "gptc init: --out is required\ntry `gptc init --help`\n");
        return 2;
    }
    gptc_dtype dtype;
    if (!strcmp(dtype_s, "f32")) dtype = GPTC_F32;
    else if (!strcmp(dtype_s, "bf16")) dtype = GPTC_BF16;
    else cli_die("init", NULL, "--dtype '%s': expected f32 or bf16", dtype_s);
    if (seed < 0) cli_die("init", NULL, "--seed must be non-negative");

    int bert = !strcmp(arch, "bert"), marian = !strcmp(arch, "marian");
    if (!bert && !marian && strcmp(arch, "gpt2"))
        cli_die("init", NULL, "--arch '%s': expected gpt2, bert or marian", arch);
    if (!preset) preset = bert ? "bert-base" : marian ? "transformer-base" : "gpt2";
    int marian_preset = !strncmp(preset, "marian-", 7) || !strcmp(preset, "transformer-base");
    if (bert != (strstr(preset, "bert-") == preset) || marian != marian_preset)
        cli_die("init", NULL, "--preset %s is not a%s preset (--arch %s)", preset,
                bert ? " BERT" : marian ? " Marian" : " GPT-2", arch);
    if (!bert && (types != UNSET || has_hdrop || has_adrop))
        cli_die("init", NULL, "--type-vocab-size and the BERT dropout options need --arch bert");
    if (!bert && !marian && pad != UNSET) cli_die("init", NULL, "--pad-token-id needs --arch bert or marian");
    if (!marian && (enc_l != UNSET || dec_l != UNSET || enc_h != UNSET || dec_h != UNSET || enc_f != UNSET ||
                    dec_f != UNSET || dstart != UNSET || eos != UNSET || scale != UNSET || unshared || has_attn_drop))
        cli_die("init", NULL, "the encoder-decoder options (--encoder-layers, --decoder-start-token-id, "
                              "--scale-embedding, ...) need --arch marian");
    if (marian && n_layer != UNSET)
        cli_die("init", NULL, "--n-layer: a Marian model has --encoder-layers and --decoder-layers");

    gptc_ctx *ctx = cli_ctx("init", 0);
    gptc_config c;
    if (gptc_config_preset(ctx, preset, &c)) cli_die("init", ctx, NULL);
    if (n_layer != UNSET) c.n_layer = n_layer;
    if (n_head != UNSET) c.n_head = n_head;
    if (n_embd != UNSET) c.n_embd = n_embd;
    if (n_pos != UNSET) c.n_positions = n_pos;
    if (vocab != UNSET) c.vocab_size = vocab;
    if (n_inner != UNSET) c.n_inner = n_inner;
    if (has_eps) c.layer_norm_epsilon = (float)eps;
    if (has_dropout && marian) c.embd_pdrop = c.resid_pdrop = (float)dropout;
    else if (has_dropout) c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = (float)dropout;
    if (marian) {
        int dl = c.n_layer - c.enc_layers;
        if (n_head != UNSET) c.enc_n_head = n_head;
        if (n_inner != UNSET) c.enc_n_inner = n_inner;
        if (enc_l != UNSET) c.enc_layers = enc_l;
        if (dec_l != UNSET) dl = dec_l;
        if (c.enc_layers < 1 || dl < 1 || c.enc_layers > 512 || dl > 512)
            cli_die("init", NULL, "--encoder-layers %d / --decoder-layers %d must be in [1, 512]", c.enc_layers, dl);
        c.n_layer = c.enc_layers + dl;
        if (enc_h != UNSET) c.enc_n_head = enc_h;
        if (dec_h != UNSET) c.n_head = dec_h;
        if (enc_f != UNSET) c.enc_n_inner = enc_f;
        if (dec_f != UNSET) c.n_inner = dec_f;
        if (has_attn_drop) c.attn_pdrop = (float)attn_drop;
        if (scale != UNSET) c.scale_embedding = scale;
        if (unshared) c.share_embeddings = 0;
        c.pad_token_id = pad != UNSET ? pad : c.vocab_size - 1;
        c.decoder_start_token_id = dstart != UNSET ? dstart : c.pad_token_id;
        if (eos != UNSET) c.eos_token_id = eos;
    }
    if (has_hdrop) c.embd_pdrop = c.resid_pdrop = (float)hdrop;
    if (has_adrop) c.attn_pdrop = (float)adrop;
    if (types != UNSET) c.type_vocab_size = types;
    if (pad != UNSET) c.pad_token_id = pad;
    /* gelu_pytorch_tanh is gelu_new under another name (and longer than the field) */
    if (act && !strcmp(act, "gelu_pytorch_tanh")) act = "gelu_new";
    if (act) snprintf(c.activation_function, sizeof c.activation_function, "%s", act);
    if (act && strlen(act) >= sizeof c.activation_function)
        cli_die("init", NULL, "--activation-function '%s' is not supported (gelu_new, gelu_pytorch_tanh, gelu)", act);
    if (untied) c.tie_word_embeddings = 0;
    /* GPT-2's <|endoftext|> (50256) is the bos/eos token only when the vocabulary has it. */
    if (!marian && c.vocab_size <= 50256) c.bos_token_id = c.eos_token_id = -1;
    if (bert && c.pad_token_id >= c.vocab_size) c.pad_token_id = -1;
    if (gptc_config_validate(ctx, &c)) cli_die("init", ctx, NULL);

    char path[4200];
    const char *names[] = {"config.json", "model.safetensors"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", out, names[k]);
        struct stat st;
        if (!force && stat(path, &st) == 0)
            cli_die("init", NULL, "%s already holds a model (%s); pass --force to overwrite it", out, names[k]);
    }

    /* the whole directory is built beside out and swapped in: a kill or a full disk
     * leaves the old model (or nothing) at out, never a mix; nothing of an earlier
     * model survives --force */
    gptc_outdir od;
    if (gptc_outdir_begin(ctx, &od, out, gptc_model_dir_names)) cli_die("init", ctx, NULL);
    gptc_model *m;
    if (gptc_model_new(ctx, &c, (uint64_t)seed, &m)) {
        gptc_outdir_abort(&od);
        cli_die("init", ctx, NULL);
    }
    if (gptc_model_save(ctx, m, od.tmp, dtype)) {
        gptc_outdir_abort(&od);
        cli_die("init", ctx, NULL);
    }
    gptc_model_free(m);

    const char *tok_note = "none (--no-tokenizer)";
    if (!no_tok && marian) {
        tok_note = "none (train a joint one with `gptc tokenizer-train` on both sides)";
    } else if (!no_tok && bert) {
        tok_note = "none (train a WordPiece vocab.txt with `gptc tokenizer-train --model wordpiece`)";
    } else if (!no_tok && c.vocab_size < 50257) {
        tok_note = "none (vocab_size < 50257: train one with `gptc tokenizer-train`)";
    } else if (!no_tok) {
        gptc_tokenizer *tok = NULL;
        if (gptc_tokenizer_from_encoding(ctx, "gpt2", &tok) || gptc_tokenizer_save(ctx, tok, od.tmp)) {
            fprintf(stderr, "gptc init: warning: GPT-2 tokenizer files not written: %s\n", gptc_errmsg(ctx));
            tok_note = "none (GPT-2 encoding data unavailable, see the warning above)";
        } else {
            tok_note = "GPT-2 (vocab.json, merges.txt)";
        }
        gptc_tokenizer_free(tok);
    }
    if (gptc_outdir_commit(ctx, &od)) cli_die("init", ctx, NULL);

    gptc_param_counts pc = gptc_model_param_counts(&c);
    printf("created %s\n", out);
    if (marian)
        printf("  preset %s (MarianMTModel): encoder_layers %d, decoder_layers %d, d_model %d, attention heads "
               "%d/%d, ffn %d/%d, max_position_embeddings %d, vocab_size %d, activation %s, %s embeddings%s\n",
               preset, c.enc_layers, c.n_layer - c.enc_layers, c.n_embd, c.enc_n_head, c.n_head, c.enc_n_inner,
               c.n_inner, c.n_positions, c.vocab_size, c.activation_function, c.share_embeddings ? "shared" : "separate",
               c.scale_embedding ? ", scaled by sqrt(d_model)" : "");
    else if (bert)
        printf("  preset %s (BertForPreTraining): num_hidden_layers %d, num_attention_heads %d, hidden_size %d, "
               "max_position_embeddings %d, vocab_size %d, intermediate_size %d, type_vocab_size %d\n", preset,
               c.n_layer, c.n_head, c.n_embd, c.n_positions, c.vocab_size, c.n_inner ? c.n_inner : 4 * c.n_embd,
               c.type_vocab_size);
    else
        printf("  preset %s: n_layer %d, n_head %d, n_embd %d, n_positions %d, vocab_size %d, n_inner %d\n", preset,
               c.n_layer, c.n_head, c.n_embd, c.n_positions, c.vocab_size, c.n_inner ? c.n_inner : 4 * c.n_embd);
    printf("  parameters: ");
    print_count(pc.total);
    printf(" (%.1f MiB as %s), seed %ld, %s embeddings\n",
           (double)pc.total * (dtype == GPTC_F32 ? 4 : 2) / (1024.0 * 1024.0), dtype_s, seed,
           c.tie_word_embeddings ? "tied" : "untied");
    printf("  tokenizer: %s\n", tok_note);
    gptc_ctx_free(ctx);
    return 0;
}
