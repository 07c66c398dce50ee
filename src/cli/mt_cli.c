/* mt_cli.c: the translation commands' shared pieces: opening an encoder-decoder with its
 * translation tokenizer, and `gptc finetune --task translate` (sentence pairs -> the
 * trainer). */
#define _POSIX_C_SOURCE 200809L
#include "mt_cli.h"
#include "train_cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void mt_cli_open(const char *cmd, gptc_ctx *ctx, const char *dir, gptc_model **m, gptc_mt_tokenizer **tok) {
    mt_cli_open_with(cmd, ctx, dir, m, tok, 1);
}

void mt_cli_open_with(const char *cmd, gptc_ctx *ctx, const char *dir, gptc_model **m, gptc_mt_tokenizer **tok,
                      int need_tok) {
    if (gptc_model_load(ctx, dir, m)) cli_die_model(cmd, ctx, dir);
    const gptc_config *c = gptc_model_config(*m);
    if (c->arch != GPTC_ARCH_MARIAN)
        cli_die(cmd, NULL, "%s: a %s is not a translation model: it needs an encoder-decoder (model_type marian; "
                "gptc init --arch marian, or an OPUS-MT model)", dir, gptc_model_class(*m));
    *tok = NULL;
    if (gptc_mt_tokenizer_load(ctx, dir, tok)) {
        if (!need_tok) return;
        cli_die(cmd, ctx, "%s: a translation tokenizer is needed (source.spm + target.spm + vocab.json, or gptc's BPE)", dir);
    }
    gptc_mt_ids ids = gptc_mt_tokenizer_ids(*tok);
    if (ids.n_vocab > (size_t)c->vocab_size)
        cli_die(cmd, NULL, "%s: the tokenizer has %zu ids, the model's vocab_size is %d", dir, ids.n_vocab, c->vocab_size);
    if (ids.eos != c->eos_token_id)
        cli_die(cmd, NULL, "%s: the tokenizer's eos is id %d, config.json's eos_token_id is %d", dir, ids.eos,
                c->eos_token_id);
}

int mt_cli_finetune(const char *model_dir, const char *train_path, const char *val_path, const char *out_dir,
                    gptc_train_opts *o, long threads, int json, const mt_cli_opts *mo) {
    const char *cmd = "finetune";
    model_dir = cli_model(cmd, model_dir);
    train_cli_state cs;
    memset(&cs, 0, sizeof cs);
    gptc_dist *dist = train_cli_dist(cmd, o, &threads, &cs);
    gptc_ctx *ctx = cli_ctx(cmd, (int)threads);
    gptc_model *m;
    gptc_mt_tokenizer *tok;
    mt_cli_open(cmd, ctx, model_dir, &m, &tok);
    const gptc_config *c = gptc_model_config(m);
    int npos = c->n_positions;
    if (mo->max_source_length > npos || mo->max_target_length > npos)
        cli_die(cmd, NULL, "--max-source-length / --max-target-length exceed the model's max_position_embeddings %d", npos);
    gptc_mt_read_params rp = gptc_mt_read_default_params();
    rp.format = mo->format;
    rp.skip_bad = mo->skip_bad;
    rp.max_source_length = mo->max_source_length ? (int)mo->max_source_length : npos;
    rp.max_target_length = mo->max_target_length ? (int)mo->max_target_length : npos;
    gptc_mt_data train, val = {0};
    if (gptc_mt_pairs_read(ctx, train_path, tok, &rp, &train)) cli_die(cmd, ctx, NULL);
    rp.keep_references = mo->metric_bleu;
    if (val_path && gptc_mt_pairs_read(ctx, val_path, tok, &rp, &val)) cli_die(cmd, ctx, NULL);
    if (mo->metric_bleu && !val_path) cli_die(cmd, NULL, "--metric bleu needs --val");
    size_t skipped = train.n_skipped + val.n_skipped;
    if (skipped && !cs.silent)
        fprintf(stderr, "finetune: skipped %zu malformed lines (--skip-bad-lines), the first: %s\n", skipped,
                train.n_skipped ? train.first_skip : val.first_skip);
    size_t cut = train.n_truncated_src + train.n_truncated_tgt + val.n_truncated_src + val.n_truncated_tgt;
    if (cut && !cs.silent)
        fprintf(stderr, "finetune: truncated %zu sources and %zu targets to %d / %d ids\n",
                train.n_truncated_src + val.n_truncated_src, train.n_truncated_tgt + val.n_truncated_tgt,
                rp.max_source_length, rp.max_target_length);
    int T = (int)(val.max_tgt > train.max_tgt ? val.max_tgt : train.max_tgt);
    gptc_mt_bleu_params bp = {0};
    bp.tok = tok;
    bp.gen = gptc_gen_default_params();
    if (gptc_generation_config_load(ctx, model_dir, &bp.gen)) cli_die(cmd, ctx, NULL);
    bp.gen.num_beams = 1; /* greedy: the metric of a training run */
    bp.gen.num_return_sequences = 1;
    bp.gen.do_sample = 0;
    bp.gen.max_new_tokens = -1;
    bp.max_sentences = (size_t)mo->bleu_sentences;
    gptc_mt_source *src;
    gptc_mt_ids ids = gptc_mt_tokenizer_ids(tok);
    int32_t pad = c->pad_token_id >= 0 ? c->pad_token_id : ids.pad;
    if (pad < 0) cli_die(cmd, NULL, "%s: no pad id (config.json pad_token_id, or <pad> in the tokenizer)", model_dir);
    if (gptc_mt_source_new(ctx, &train, val_path ? &val : NULL, pad, c->decoder_start_token_id, o->seed,
                           mo->metric_bleu ? "bleu" : NULL, mo->metric_bleu ? gptc_mt_val_bleu : NULL, &bp, &src))
        cli_die(cmd, ctx, NULL);
    gptc_mt_source_group_by_length(src, mo->group_by_length);
    o->data = gptc_mt_source_data(src);
    o->model = m;
    o->tok_dir = model_dir;
    o->out_dir = out_dir;
    o->seq_len = T;
    o->label_smoothing = mo->label_smoothing;
    o->sample_tokens = 0;
    if (o->batch_size < 1) cli_die(cmd, NULL, "--batch-size must be at least 1");
    int have_val = val_path != NULL;
    if (o->eval_every < 0) o->eval_every = have_val ? (int)((train.n + (size_t)o->batch_size * o->grad_accum - 1) /
                                                           ((size_t)o->batch_size * o->grad_accum)) : 0;
    if (o->eval_every > 0 && !have_val) cli_die(cmd, NULL, "--eval-every needs --val");
    if (o->patience > 0 && !have_val) cli_die(cmd, NULL, "--patience needs --val");
    if (o->eval_every < 1 && have_val) o->eval_every = 1;
    train_cli_signals(o);
    cs.cmd = cmd;
    if (!cs.silent)
        fprintf(stderr, "finetune: task translate, %zu training pairs, %zu validation pairs, sources up to %zu ids, "
                "labels up to %d%s\n", train.n, val.n, train.max_src > val.max_src ? train.max_src : val.max_src, T,
                mo->label_smoothing > 0 ? ", label smoothing" : "");
    char *run_options = train_cli_run_options();
    o->run_options = run_options;
    if (gptc_train_run(ctx, o, train_cli_event, &cs)) train_cli_fail(cmd, ctx, dist);
    free(run_options);
    gptc_dist_close(dist);
    if (cs.interrupted) {
        fprintf(stderr, "finetune: interrupted; %s/model was not written (continue with --resume)\n", out_dir);
        exit(130);
    }
    train_cli_print_result(out_dir, &cs, mo->metric_bleu ? "bleu" : NULL, json);
    gptc_mt_source_free(src);
    gptc_mt_data_free(&train);
    gptc_mt_data_free(&val);
    gptc_mt_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return 0;
}
