/* tool_ref_driver.c: the gptc side of tests/t_torch_ref.sh and tests/t_bert_ref.sh, using
 * only include/gptc.h. Loads a model dir, runs forward/backward on batch 0 and `steps`
 * AdamW steps (2 micro-batches each, clipping, per-step lr) and writes what it saw as
 * safetensors files (own tiny writer) for tests/ref/gpt2_torch.py or bert_torch.py to
 * compare against PyTorch.
 *
 * usage: tool_ref_driver MODEL_DIR TOKENS OUT_DIR [--steps K] [--lr X] [--wd X]
 *        [--beta1 X] [--beta2 X] [--eps X] [--clip X] [--threads N] [--bert 1]
 * TOKENS (little-endian int32): n_batches, B, T, then per batch B*T tokens, B*T targets.
 * With --bert 1 (tests/ref/bert_torch.py's inputs): n_batches, B, T, n_targets, has_nsp,
 * then per batch tokens, token types, attention mask (B*T each), n_targets targets and
 * B next-sentence labels when has_nsp. With --marian 1 (tests/ref/marian_torch.py's):
 * n_batches, B, T, Te, then per batch source ids and source mask (B*Te each), decoder
 * input ids and labels (B*T each); --label-smoothing X sets the loss's.
 * OUT_DIR gets params0 (weights as loaded), forward (logits, loss; BERT pre-training:
 * mlm_loss, nsp_loss), grads (by name; frozen tensors have none), final (weights after the steps, plus "losses"
 * per micro-batch and "norms" per step). */
#include "gptc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char name[96];
    int ndim;
    int64_t shape[4];
    const float *data;
} entry;

static void die(const char *what, gptc_ctx *ctx) {
    fprintf(stderr, "tool_ref_driver: %s%s%s\n", what, ctx ? ": " : "", ctx ? gptc_errmsg(ctx) : "");
    exit(1);
}

/* safetensors: u64 header length | JSON header | data; F32 only, little-endian host. */
static void write_st(const char *dir, const char *file, const entry *e, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t cap = 256 + n * 200, len = 0, off = 0;
    char *hdr = malloc(cap);
    if (!hdr) die("out of memory", NULL);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (size_t i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) numel *= (size_t)e[i].shape[d];
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                i ? "," : "", e[i].name);
        for (int d = 0; d < e[i].ndim; d++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "", (long long)e[i].shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off, off + numel * 4);
        off += numel * 4;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) die(path, NULL);
    uint64_t hl = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hl >> (8 * i));
    int ok = fwrite(le, 1, 8, f) == 8 && fwrite(hdr, 1, len, f) == len;
    for (size_t i = 0; i < n && ok; i++) {
        size_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) numel *= (size_t)e[i].shape[d];
        ok = fwrite(e[i].data, 4, numel, f) == numel;
    }
    if (fclose(f) != 0 || !ok) die(path, NULL);
    free(hdr);
}

/* One entry per model tensor, from gptc_model_tensor: the data, or with g the gradient. */
static entry *tensor_entries(gptc_ctx *ctx, gptc_model *m, const gptc_grads *g, size_t extra, size_t *n) {
    size_t nt = gptc_model_n_tensors(m), k = 0;
    entry *e = calloc(nt + extra, sizeof *e);
    if (!e) die("out of memory", NULL);
    for (size_t i = 0; i < nt; i++) {
        gptc_tensor_info ti;
        if (gptc_model_tensor(m, i, &ti) != GPTC_OK) die("gptc_model_tensor", ctx);
        const float *data = g ? gptc_grads_tensor(g, i) : ti.data;
        if (g && !data && !ti.trainable) continue; /* frozen (Marian's final_logits_bias): no gradient */
        if (!data) die(g ? "a tensor has no gradient buffer" : "a tensor has no data", NULL);
        snprintf(e[k].name, sizeof e[k].name, "%s", ti.name);
        e[k].ndim = ti.ndim;
        for (int d = 0; d < ti.ndim && d < 4; d++) e[k].shape[d] = ti.shape[d];
        e[k].data = data;
        k++;
    }
    *n = k;
    return e;
}

/* The value of the last "--name VALUE" in argv[4..], or def. */
static double arg_num(int argc, char **argv, const char *name, double def) {
    double v = def;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0) {
            fprintf(stderr, "tool_ref_driver: expected an option, got %s\n", argv[i]);
            exit(2);
        }
        if (!strcmp(argv[i], name)) v = atof(argv[i + 1]);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: tool_ref_driver MODEL_DIR TOKENS OUT_DIR [--steps K] [--lr X] [--wd X]"
                        " [--beta1 X] [--beta2 X] [--eps X] [--clip X] [--threads N] [--bert 1]\n");
        return 2;
    }
    const char *model_dir = argv[1], *tok_path = argv[2], *out = argv[3];
    int steps = (int)arg_num(argc, argv, "--steps", 10);
    double lr = arg_num(argc, argv, "--lr", 3e-3), clip = arg_num(argc, argv, "--clip", 1.0);
    gptc_adamw_params hp = gptc_adamw_default_params();
    hp.weight_decay = (float)arg_num(argc, argv, "--wd", 0.1);
    hp.beta1 = (float)arg_num(argc, argv, "--beta1", 0.9);
    hp.beta2 = (float)arg_num(argc, argv, "--beta2", 0.95);
    hp.eps = (float)arg_num(argc, argv, "--eps", 1e-8);

    /* inputs file: every batch as a gptc_batch */
    int bert = (int)arg_num(argc, argv, "--bert", 0), marian = (int)arg_num(argc, argv, "--marian", 0);
    FILE *f = fopen(tok_path, "rb");
    if (!f) die(tok_path, NULL);
    int32_t h[5] = {0, 0, 0, 0, 0};
    int nh = bert ? 5 : marian ? 4 : 3;
    if (fread(h, 4, (size_t)nh, f) != (size_t)nh || h[0] < 1 + 2 * steps || h[1] < 1 || h[2] < 1 || h[1] > 4096 ||
        h[2] > 65536 || (bert && (h[3] < 1 || h[3] > h[1] * h[2])))
        die("tokens file: bad header (n_batches must be >= 1 + 2 * steps)", NULL);
    if (marian && (h[3] < 1 || h[3] > 65536)) die("tokens file: bad source length", NULL);
    int nb = h[0], B = h[1], T = h[2], nt = bert ? h[3] : h[1] * h[2], has_nsp = bert && h[4], Te = marian ? h[3] : 0;
    size_t per = (size_t)B * T, pe = (size_t)B * Te;
    size_t each = per * (bert ? 3 : 1) + (size_t)nt + (has_nsp ? (size_t)B : 0) + 2 * pe;
    int32_t *tok = malloc(each * nb * sizeof *tok);
    if (!tok || fread(tok, 4, each * nb, f) != each * nb) die("tokens file: short", NULL);
    fclose(f);
    gptc_batch *bt = calloc((size_t)nb, sizeof *bt);
    float *masks = malloc((per + pe) * nb * sizeof *masks);
    if (!bt || !masks) die("out of memory", NULL);
    for (int i = 0; i < nb; i++) {
        int32_t *p = tok + (size_t)i * each;
        bt[i].B = B;
        bt[i].T = T;
        bt[i].tokens = p;
        if (marian) {
            bt[i].enc_tokens = p;
            bt[i].enc_T = Te;
            for (size_t j = 0; j < pe; j++) masks[i * pe + j] = (float)p[pe + j];
            bt[i].enc_mask = masks + i * pe;
            bt[i].tokens = p + 2 * pe;
            bt[i].targets = p + 2 * pe + per;
        } else if (bert) {
            bt[i].token_types = p + per;
            for (size_t j = 0; j < per; j++) masks[i * per + j] = (float)p[2 * per + j];
            bt[i].attention_mask = masks + i * per;
            bt[i].targets = p + 3 * per;
            if (has_nsp) bt[i].labels = p + 3 * per + nt;
        } else {
            bt[i].targets = p + per;
        }
    }

    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = (int)arg_num(argc, argv, "--threads", 0);
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    if (!ctx) die("out of memory", NULL);
    gptc_model *m = NULL;
    if (gptc_model_load(ctx, model_dir, &m) != GPTC_OK) die("gptc_model_load", ctx);
    gptc_workspace *ws = NULL;
    gptc_grads *g = NULL;
    gptc_adamw *opt = NULL;
    if (gptc_workspace_new(ctx, m, B, T > Te ? T : Te, 1, &ws) != GPTC_OK) die("gptc_workspace_new", ctx);
    double ls = arg_num(argc, argv, "--label-smoothing", 0);
    if (ls != 0 && gptc_workspace_set_label_smoothing(ctx, ws, (float)ls) != GPTC_OK) die("label smoothing", ctx);
    if (gptc_grads_new(ctx, m, &g) != GPTC_OK || gptc_adamw_new(ctx, m, &opt) != GPTC_OK) die("gptc_grads_new", ctx);
    gptc_workspace_set_training(ws, 1, 1234); /* dropout probabilities are 0 in the config */
    const gptc_config *cfg = gptc_model_config(m);
    size_t n;

    entry *e = tensor_entries(ctx, m, NULL, 0, &n);
    write_st(out, "params0.safetensors", e, n);
    free(e);

    /* forward + backward on batch 0 */
    float loss = -1, parts[2] = {0, 0};
    if (gptc_forward_batch(ctx, ws, &bt[0], &loss) != GPTC_OK) die("gptc_forward_batch", ctx);
    int64_t n_logits = cfg->head == GPTC_HEAD_CLASSIFY ? (int64_t)B * cfg->num_labels
                       : cfg->head == GPTC_HEAD_QA     ? (int64_t)per * 2
                                                       : (int64_t)per * cfg->vocab_size + (has_nsp ? 2 * B : 0);
    entry fe[4] = {{"logits", 3, {B, T, cfg->vocab_size, 0}, gptc_workspace_logits(ws)}, {"loss", 1, {1, 0, 0, 0}, &loss}};
    size_t nfe = 2;
    if (bert) {
        fe[0] = (entry){"logits", 1, {n_logits, 0, 0, 0}, gptc_workspace_logits(ws)};
        if (cfg->head == GPTC_HEAD_LM) {
            gptc_pretrain_parts pp = gptc_workspace_pretrain_parts(ws);
            parts[0] = (float)(pp.mlm_sum / pp.mlm_n);
            parts[1] = (float)(pp.nsp_sum / pp.nsp_n);
            fe[nfe++] = (entry){"mlm_loss", 1, {1, 0, 0, 0}, &parts[0]};
            if (has_nsp) fe[nfe++] = (entry){"nsp_loss", 1, {1, 0, 0, 0}, &parts[1]};
        }
    }
    write_st(out, "forward.safetensors", fe, nfe);
    if (gptc_backward(ctx, ws, g, 1.0f) != GPTC_OK) die("gptc_backward", ctx);
    e = tensor_entries(ctx, m, g, 0, &n);
    write_st(out, "grads.safetensors", e, n);
    free(e);

    /* training: batches 1..2*steps, two micro-batches per step (loss_scale 0.5) */
    float *losses = malloc(sizeof(float) * 2 * (size_t)steps), *norms = malloc(sizeof(float) * (size_t)steps);
    if (!losses || !norms) die("out of memory", NULL);
    for (int t = 1; t <= steps; t++) {
        gptc_grads_zero(g);
        for (int mb = 0; mb < 2; mb++) {
            if (gptc_forward_batch(ctx, ws, &bt[2 * t - 1 + mb], &losses[2 * (t - 1) + mb]) != GPTC_OK)
                die("gptc_forward_batch", ctx);
            if (gptc_backward(ctx, ws, g, 0.5f) != GPTC_OK) die("gptc_backward", ctx);
        }
        norms[t - 1] = gptc_grads_clip(ctx, g, (float)clip);
        hp.lr = (float)(lr * (steps - t + 1) / steps); /* = lr_at() in gpt2_torch.py */
        if (gptc_adamw_step(ctx, opt, m, g, &hp, t) != GPTC_OK) die("gptc_adamw_step", ctx);
    }
    e = tensor_entries(ctx, m, NULL, 2, &n);
    e[n] = (entry){"losses", 1, {2 * steps, 0, 0, 0}, losses};
    e[n + 1] = (entry){"norms", 1, {steps, 0, 0, 0}, norms};
    write_st(out, "final.safetensors", e, n + 2);
    free(e);
    free(losses);
    free(norms);
    free(tok);
    free(bt);
    free(masks);
    gptc_workspace_free(ws);
    gptc_grads_free(g);
    gptc_adamw_free(opt);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
