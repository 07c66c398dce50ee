/* test_marian.c: the encoder-decoder (Marian) beside its PyTorch comparison
 * (tests/t_marian_ref.sh): decoding with a session (gptc_session_encode, then prefill in
 * chunks and single steps, several sequences at once, copies, reset) gives the logits of
 * the full teacher-forced forward over a padded batch; gptc_generate's greedy output
 * equals a loop of full forwards taking the argmax; beams and samples run on the encoded
 * source; the model saves and loads to the same logits; bad inputs and bad config.json
 * fields fail with messages. Random models whose sizes are not multiples of 8. */
#define _GNU_SOURCE
#include "harness.h"
#include "gptc.h"
#include "model/model.h" /* ctx->fail_alloc_after */
#include <stdint.h>
#include <unistd.h>

enum { B = 3, TE = 13, TD = 11, V = 61 };

static uint64_t rng = 12345;
static int next_id(int lo, int hi) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int)((rng >> 33) % (uint64_t)(hi - lo));
}

static gptc_config small_cfg(void) {
    gptc_config c = gptc_config_marian_default();
    c.enc_layers = 2;
    c.n_layer = 5; /* 2 encoder + 3 decoder layers */
    c.n_embd = 30;
    c.enc_n_head = 5;
    c.n_head = 3;
    c.enc_n_inner = 37;
    c.n_inner = 23;
    c.n_positions = 40;
    c.vocab_size = V;
    c.pad_token_id = c.decoder_start_token_id = V - 1;
    c.eos_token_id = 0;
    c.share_embeddings = 0;
    c.tie_word_embeddings = 1;
    c.scale_embedding = 1;
    c.embd_pdrop = c.resid_pdrop = c.attn_pdrop = 0;
    strcpy(c.activation_function, "swish");
    return c;
}

/* Larger weights than the init's 0.02 so the logits are far from uniform. */
static void scale_weights(gptc_model *m) {
    for (size_t i = 0; i < gptc_model_n_tensors(m); i++) {
        gptc_tensor_info ti;
        gptc_model_tensor(m, i, &ti);
        float *x = (float *)ti.data;
        for (size_t j = 0; j < ti.numel; j++) x[j] = ti.ndim == 2 ? x[j] * 12.0f : x[j] + 0.05f * (float)next_id(-5, 6);
    }
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config cfg = small_cfg();
    gptc_model *m;
    if (gptc_model_new(ctx, &cfg, 7, &m)) { printf("FAIL model: %s\n", gptc_errmsg(ctx)); return 1; }
    scale_weights(m);

    /* a padded batch: source lengths 13, 6, 9 (eos last), decoder inputs of 11 */
    int32_t src[B * TE], dec[B * TD], lab[B * TD];
    float mask[B * TE];
    int slen[B] = {TE, 6, 9};
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < TE; j++) {
            src[b * TE + j] = j < slen[b] - 1 ? next_id(1, V - 1) : j == slen[b] - 1 ? 0 : V - 1;
            mask[b * TE + j] = j < slen[b];
        }
        dec[b * TD] = V - 1;
        for (int t = 1; t < TD; t++) dec[b * TD + t] = next_id(0, V - 1);
        for (int t = 0; t < TD; t++) lab[b * TD + t] = t + 1 < TD ? dec[b * TD + t + 1] : 0;
    }
    gptc_workspace *ws = NULL;
    CHECK("workspace (max_T covers source and target)", gptc_workspace_new(ctx, m, B, TE, 0, &ws) == GPTC_OK, "%s",
          gptc_errmsg(ctx));
    gptc_batch bt = {0};
    bt.B = B;
    bt.T = TD;
    bt.tokens = dec;
    bt.targets = lab;
    bt.enc_tokens = src;
    bt.enc_T = TE;
    bt.enc_mask = mask;
    float loss = 0;
    CHECK("teacher-forced forward", gptc_forward_batch(ctx, ws, &bt, &loss) == GPTC_OK && isfinite(loss), "%s",
          gptc_errmsg(ctx));
    float *full = malloc(sizeof(float) * B * TD * V), *got = malloc(sizeof(float) * 4 * V);
    memcpy(full, gptc_workspace_logits(ws), sizeof(float) * B * TD * V);

    /* the padding does not reach the unpadded rows: row 1 alone, unpadded, gives the same */
    gptc_batch one = bt;
    one.B = 1;
    one.enc_T = slen[1];
    one.enc_tokens = src + TE;
    one.enc_mask = NULL;
    one.tokens = dec + TD;
    one.targets = NULL;
    CHECK("forward of row 1 unpadded", gptc_forward_batch(ctx, ws, &one, NULL) == GPTC_OK, "%s", gptc_errmsg(ctx));
    double e = test_relerr(gptc_workspace_logits(ws), full + (size_t)TD * V, (size_t)TD * V);
    CHECK("padding in the encoder is masked (row 1 alone == row 1 of the padded batch)", e < 1e-5, "rel err %.3g", e);

    gptc_session *s;
    CHECK("session new", gptc_session_new(ctx, m, 4, 20, &s) == GPTC_OK, "%s", gptc_errmsg(ctx));
    int32_t tok0 = V - 1;
    CHECK("prefill before encode fails",
          gptc_session_prefill(ctx, s, 0, &tok0, 1, got) == GPTC_EINVAL && strstr(gptc_errmsg(ctx), "source"), "%s",
          gptc_errmsg(ctx));
    double worst = 0;
    for (int b = 0; b < B; b++) {
        CHECK("encode", gptc_session_encode(ctx, s, b, src + b * TE, slen[b]) == GPTC_OK, "%s", gptc_errmsg(ctx));
        /* the first 4 decoder tokens at once, then single steps */
        gptc_session_prefill(ctx, s, b, dec + b * TD, 4, got);
        e = test_relerr(got, full + ((size_t)b * TD + 3) * V, V);
        worst = e > worst ? e : worst;
        for (int t = 4; t < 7; t++) {
            gptc_session_step(ctx, s, &b, dec + b * TD + t, 1, got);
            e = test_relerr(got, full + ((size_t)b * TD + t) * V, V);
            worst = e > worst ? e : worst;
        }
    }
    CHECK("encode + prefill + steps == teacher-forced forward", worst < 1e-5, "worst rel err %.3g", worst);
    CHECK("source length", gptc_session_src_len(s, 1) == slen[1] && gptc_session_len(s, 1) == 7, "src %d len %d",
          gptc_session_src_len(s, 1), gptc_session_len(s, 1));
    /* sequence 3 a copy of 1; then 0..3 step together (3 follows 1's tokens) */
    CHECK("copy", gptc_session_copy(ctx, s, 3, 1) == GPTC_OK && gptc_session_src_len(s, 3) == slen[1], "%s",
          gptc_errmsg(ctx));
    worst = 0;
    for (int t = 7; t < TD; t++) {
        int seqs[4] = {3, 0, 1, 2};
        int32_t toks[4] = {dec[TD + t], dec[t], dec[TD + t], dec[2 * TD + t]};
        gptc_session_step(ctx, s, seqs, toks, 4, got);
        int of[4] = {1, 0, 1, 2};
        for (int r = 0; r < 4; r++) {
            e = test_relerr(got + (size_t)r * V, full + ((size_t)of[r] * TD + t) * V, V);
            worst = e > worst ? e : worst;
        }
    }
    CHECK("batched steps over different sources (and a copy) == forward", worst < 1e-5, "worst rel err %.3g", worst);
    /* reset keeps the source: decoding again from the start gives the same logits */
    gptc_session_reset(s, 2);
    CHECK("reset keeps the source", gptc_session_src_len(s, 2) == slen[2] && gptc_session_len(s, 2) == 0, "src %d",
          gptc_session_src_len(s, 2));
    gptc_session_prefill(ctx, s, 2, dec + 2 * TD, TD, got);
    e = test_relerr(got, full + ((size_t)2 * TD + TD - 1) * V, V);
    CHECK("prefill after reset == forward", e < 1e-5, "rel err %.3g", e);
    CHECK("a source longer than the session fails", gptc_session_encode(ctx, s, 0, src, 21) == GPTC_ERANGE, "%s",
          gptc_errmsg(ctx));
    int32_t badsrc[2] = {5, V};
    CHECK("a source id out of range fails",
          gptc_session_encode(ctx, s, 0, badsrc, 2) == GPTC_ERANGE && gptc_session_src_len(s, 0) == 0, "%s",
          gptc_errmsg(ctx));

    /* greedy generation == argmax over full forwards of the growing decoder input */
    enum { NEW = 8 };
    int32_t ref[1 + NEW];
    ref[0] = V - 1;
    int n_ref = 1;
    for (int k = 0; k < NEW; k++) {
        gptc_batch g1 = one;
        g1.enc_tokens = src + 2 * TE;
        g1.enc_T = slen[2];
        g1.tokens = ref;
        g1.T = n_ref;
        if (gptc_forward_batch(ctx, ws, &g1, NULL)) break;
        const float *lg = gptc_workspace_logits(ws) + (size_t)(n_ref - 1) * V;
        int best = 0;
        for (int v = 1; v < V; v++)
            if (lg[v] > lg[best]) best = v;
        ref[n_ref++] = best;
        if (best == 0) break; /* eos */
    }
    gptc_session_encode(ctx, s, 0, src + 2 * TE, slen[2]);
    gptc_gen_params gp = gptc_gen_default_params();
    gp.max_new_tokens = NEW;
    gptc_gen_result *res = NULL;
    int32_t start = V - 1;
    CHECK("generate (greedy) on an encoded source",
          gptc_generate(ctx, m, s, NULL, &start, 1, &gp, NULL, NULL, &res) == GPTC_OK, "%s", gptc_errmsg(ctx));
    int same = res && res->seqs[0].n_tokens == n_ref - 1;
    for (int k = 0; same && k < n_ref - 1; k++) same = res->seqs[0].tokens[k] == ref[k + 1];
    CHECK("greedy == argmax of full forwards", same, "%d tokens vs %d", res ? res->seqs[0].n_tokens : -1, n_ref - 1);
    gptc_gen_result_free(res);
    res = NULL;
    gp.num_beams = 3;
    gp.num_return_sequences = 2;
    CHECK("generate (3 beams) on an encoded source",
          gptc_generate(ctx, m, s, NULL, &start, 1, &gp, NULL, NULL, &res) == GPTC_OK && res && res->n_seq == 2, "%s",
          gptc_errmsg(ctx));
    gptc_gen_result_free(res);
    res = NULL;
    gp = gptc_gen_default_params();
    gp.max_new_tokens = NEW;
    gp.do_sample = 1;
    gp.num_return_sequences = 3;
    gp.seed = 5;
    CHECK("generate (3 samples) on an encoded source",
          gptc_generate(ctx, m, s, NULL, &start, 1, &gp, NULL, NULL, &res) == GPTC_OK && res && res->n_seq == 3, "%s",
          gptc_errmsg(ctx));
    gptc_gen_result_free(res);
    gptc_session_free(s);

    /* what is not built for an encoder-decoder says so */
    gptc_lora_params lora = gptc_lora_default_params();
    CHECK("a LoRA adapter is refused", gptc_model_lora_add(ctx, m, &lora, 1) == GPTC_ENOTSUP, "%s", gptc_errmsg(ctx));
    CHECK("a classification head is refused",
          gptc_model_set_head(ctx, m, GPTC_HEAD_CLASSIFY, 2, NULL, 1) == GPTC_ENOTSUP &&
              strstr(gptc_errmsg(ctx), "MarianMTModel"),
          "%s", gptc_errmsg(ctx));
    /* errors of the forward's inputs */
    gptc_batch bad = bt;
    bad.enc_tokens = NULL;
    bad.enc_mask = NULL;
    CHECK("forward without a source fails", gptc_forward_batch(ctx, ws, &bad, &loss) == GPTC_EINVAL, "%s",
          gptc_errmsg(ctx));
    bad = bt;
    bad.attention_mask = mask;
    CHECK("a decoder attention mask is refused", gptc_forward_batch(ctx, ws, &bad, &loss) == GPTC_EINVAL, "%s",
          gptc_errmsg(ctx));
    bad = bt;
    bad.enc_T = TE + 1;
    CHECK("a source longer than the workspace fails", gptc_forward_batch(ctx, ws, &bad, &loss) == GPTC_EINVAL, "%s",
          gptc_errmsg(ctx));
    float halfmask[B * TE];
    memcpy(halfmask, mask, sizeof mask);
    halfmask[3] = 0.5f;
    bad = bt;
    bad.enc_mask = halfmask;
    CHECK("a source mask value not 0 or 1 fails", gptc_forward_batch(ctx, ws, &bad, &loss) == GPTC_EINVAL, "%s",
          gptc_errmsg(ctx));
    CHECK("label smoothing out of range fails", gptc_workspace_set_label_smoothing(ctx, ws, 1.0f) == GPTC_EINVAL, "%s",
          gptc_errmsg(ctx));
    CHECK("label smoothing 0.1", gptc_workspace_set_label_smoothing(ctx, ws, 0.1f) == GPTC_OK, "%s", gptc_errmsg(ctx));
    float loss_ls = 0;
    gptc_forward_batch(ctx, ws, &bt, &loss_ls);
    /* torch's definition in double: mean over labels of (1 - eps) nll + eps mean_c(-log p_c) */
    double want = 0;
    for (int i = 0; i < B * TD; i++) {
        const float *z = full + (size_t)i * V;
        double mx = z[0], sum = 0, zs = 0;
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++) sum += exp(z[v] - mx), zs += z[v];
        double lse = mx + log(sum);
        want += 0.9 * (lse - z[lab[i]]) + 0.1 * (lse - zs / V);
    }
    want /= B * TD;
    CHECK("label-smoothed loss == (1 - eps) nll + eps mean(-log p)", fabs(loss_ls - want) < 1e-5 * fabs(want),
          "%.8g vs %.8g", (double)loss_ls, want);
    gptc_workspace_free(ws);

    /* dropout on (embeddings, attention probabilities, sub-block outputs, cross-attention):
     * backward regenerates the forward's masks, so each tensor's gradient matches the
     * central difference of the loss along a random direction (same dropout call) */
    {
        gptc_model *md = NULL;
        gptc_config dc = small_cfg();
        dc.share_embeddings = 1;
        dc.embd_pdrop = 0.1f;
        dc.attn_pdrop = 0.15f;
        dc.resid_pdrop = 0.1f;
        strcpy(dc.activation_function, "gelu");
        gptc_model_new(ctx, &dc, 3, &md);
        scale_weights(md);
        gptc_workspace *wt = NULL;
        gptc_grads *gr = NULL;
        CHECK("training workspace", md && gptc_workspace_new(ctx, md, B, TE, 1, &wt) == GPTC_OK &&
                                        gptc_grads_new(ctx, md, &gr) == GPTC_OK, "%s", gptc_errmsg(ctx));
        gptc_workspace_set_training(wt, 1, 77);
        gptc_workspace_set_label_smoothing(ctx, wt, 0.1f);
        float l0 = 0;
        gptc_grads_zero(gr);
        gptc_workspace_set_dropout_calls(wt, 0);
        int ok = gptc_forward_batch(ctx, wt, &bt, &l0) == GPTC_OK && gptc_backward(ctx, wt, gr, 1.0f) == GPTC_OK;
        double worst_fd = 0;
        const char *worst_name = "-";
        for (size_t i = 0; ok && i < gptc_model_n_tensors(md); i++) {
            gptc_tensor_info ti;
            gptc_model_tensor(md, i, &ti);
            const float *g = gptc_grads_tensor(gr, i);
            /* final_logits_bias: a buffer; a key bias's gradient is 0 in exact arithmetic (it
             * shifts every score of a query alike), its difference rounding noise */
            size_t nl = strlen(ti.name);
            if (!g || (nl > 11 && !strcmp(ti.name + nl - 11, "k_proj.bias"))) continue;
            float *x = (float *)ti.data;
            double *dir = malloc(sizeof(double) * ti.numel), gd = 0, nrm = 0;
            /* the pad row of an embedding gets no gradient (nn.Embedding's padding_idx) though
             * it is read: left out of the direction */
            int emb = ti.ndim == 2 && ti.shape[0] == V && ti.shape[1] == dc.n_embd;
            for (size_t j = 0; j < ti.numel; j++) {
                dir[j] = emb && j / (size_t)dc.n_embd == (size_t)dc.pad_token_id ? 0 : next_id(-1000, 1001) / 1000.0;
                nrm += dir[j] * dir[j];
            }
            nrm = sqrt(nrm);
            for (size_t j = 0; j < ti.numel; j++) dir[j] /= nrm, gd += dir[j] * g[j];
            double h = 3e-2, lp[2]; /* the float loss's rounding noise (~1e-6) over 2h stays small */
            float *keep = malloc(sizeof(float) * ti.numel);
            memcpy(keep, x, sizeof(float) * ti.numel);
            for (int k = 0; k < 2; k++) {
                for (size_t j = 0; j < ti.numel; j++) x[j] = (float)(keep[j] + (k ? -h : h) * dir[j]);
                float lk = 0;
                gptc_workspace_set_dropout_calls(wt, 0);
                ok = ok && gptc_forward_batch(ctx, wt, &bt, &lk) == GPTC_OK;
                lp[k] = lk;
            }
            memcpy(x, keep, sizeof(float) * ti.numel);
            double fd = (lp[0] - lp[1]) / (2 * h), err = fabs(fd - gd) / (fabs(gd) + 1e-3);
            if (err > worst_fd) worst_fd = err, worst_name = ti.name;
            free(keep);
            free(dir);
        }
        CHECK("dropout on: every gradient == central difference (same masks)", ok && worst_fd < 1e-2,
              "worst rel err %.3g at %s (%s)", worst_fd, worst_name, gptc_errmsg(ctx));
        gptc_grads_free(gr);
        gptc_workspace_free(wt);
        gptc_model_free(md);
    }

    /* save + load: the same logits (F32), and transformers' names */
    char dir[] = "/tmp/gptc_marian_XXXXXX";
    CHECK("tmpdir", mkdtemp(dir) != NULL, "mkdtemp");
    gptc_model *m2 = NULL;
    CHECK("save", gptc_model_save(ctx, m, dir, GPTC_F32) == GPTC_OK, "%s", gptc_errmsg(ctx));
    CHECK("load", gptc_model_load(ctx, dir, &m2) == GPTC_OK, "%s", gptc_errmsg(ctx));
    if (m2) {
        CHECK("class", !strcmp(gptc_model_class(m2), "MarianMTModel"), "%s", gptc_model_class(m2));
        const gptc_config *c2 = gptc_model_config(m2);
        CHECK("config round trip", c2->enc_layers == 2 && c2->n_layer == 5 && c2->enc_n_head == 5 && c2->n_head == 3 &&
                                       c2->enc_n_inner == 37 && c2->n_inner == 23 && !c2->share_embeddings &&
                                       c2->scale_embedding && !strcmp(c2->activation_function, "swish"),
              "fields differ");
        gptc_workspace *w2;
        gptc_workspace_new(ctx, m2, B, TE, 0, &w2);
        gptc_forward_batch(ctx, w2, &bt, NULL);
        e = test_relerr(gptc_workspace_logits(w2), full, (size_t)B * TD * V);
        CHECK("loaded model == saved model", e == 0, "rel err %.3g", e);
        gptc_workspace_free(w2);
        gptc_model_free(m2);
    }
    /* the layer matrices kept as BF16 (inference): the forward and a session's decoding */
    gptc_load_params lp = gptc_load_default_params();
    lp.weight_dtype = GPTC_BF16;
    m2 = NULL;
    CHECK("load as bf16", gptc_model_load_with(ctx, dir, &lp, &m2) == GPTC_OK, "%s", gptc_errmsg(ctx));
    if (m2) {
        gptc_workspace *w2;
        gptc_workspace_new(ctx, m2, B, TE, 0, &w2);
        gptc_forward_batch(ctx, w2, &bt, NULL);
        float *lb = malloc(sizeof(float) * B * TD * V);
        memcpy(lb, gptc_workspace_logits(w2), sizeof(float) * B * TD * V);
        e = test_relerr(lb, full, (size_t)B * TD * V);
        CHECK("bf16 weights: forward within 2e-2 of f32", e < 2e-2, "rel err %.3g", e);
        gptc_session *s2;
        gptc_session_new(ctx, m2, 1, 20, &s2);
        gptc_session_encode(ctx, s2, 0, src + TE, slen[1]);
        gptc_session_prefill(ctx, s2, 0, dec + TD, TD, got);
        e = test_relerr(got, lb + ((size_t)TD + TD - 1) * V, V);
        CHECK("bf16 weights: session == forward", e < 1e-5, "rel err %.3g", e);
        gptc_session_free(s2);
        gptc_workspace_free(w2);
        free(lb);
        gptc_model_free(m2);
    }
    /* every allocation failing in turn (load, session, the encoder's workspace, a step): a
     * clean ENOMEM, nothing leaked (ASan) */
    {
        int bad_alloc = 0, k_ok = -1;
        for (long k = 0; k < 200 && k_ok < 0; k++) {
            ctx->fail_alloc_after = k;
            gptc_model *mk = NULL;
            gptc_session *sk = NULL;
            gptc_status st = gptc_model_load(ctx, dir, &mk);
            if (!st) st = gptc_session_new(ctx, mk, 2, 16, &sk);
            if (!st) st = gptc_session_encode(ctx, sk, 1, src, slen[0]);
            if (!st) st = gptc_session_prefill(ctx, sk, 1, dec, 3, got);
            if (st == GPTC_OK) k_ok = (int)k;
            else if (st != GPTC_ENOMEM) bad_alloc++;
            gptc_session_free(sk);
            gptc_model_free(mk);
        }
        ctx->fail_alloc_after = -1;
        CHECK("allocation failures: clean ENOMEM", bad_alloc == 0 && k_ok > 0, "%d bad, first success at %d", bad_alloc,
              k_ok);
    }
    /* config.json errors name the file and the field */
    char cpath[256];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    struct { const char *json, *want; } bad_cfg[] = {
        {"{\"model_type\": \"marian\", \"vocab_size\": 61, \"d_model\": 30, \"decoder_vocab_size\": 50}", "decoder_vocab_size"},
        {"{\"model_type\": \"marian\", \"activation_dropout\": 0.1}", "activation_dropout"},
        {"{\"model_type\": \"marian\", \"activation_function\": \"tanh\"}", "activation_function"},
        {"{\"model_type\": \"marian\", \"d_model\": 30, \"decoder_attention_heads\": 3, \"encoder_attention_heads\": 7}",
         "encoder_attention_heads"},
        {"{\"model_type\": \"marian\", \"decoder_layers\": 0}", "decoder_layers"},
        {"{\"model_type\": \"marian\", \"vocab_size\": 61, \"decoder_start_token_id\": 61}", "decoder_start_token_id"},
        {"{\"model_type\": \"marian\", \"scale_embedding\": 1}", "scale_embedding"},
        {"{\"model_type\": \"marian\", \"architectures\": [\"MarianForCausalLM\"]}", "architectures"},
    };
    for (size_t i = 0; i < sizeof bad_cfg / sizeof bad_cfg[0]; i++) {
        gptc_model *mb = NULL;
        char name[96];
        snprintf(name, sizeof name, "config.json error names %s", bad_cfg[i].want);
        int ok = write_file(cpath, bad_cfg[i].json) && gptc_model_load(ctx, dir, &mb) != GPTC_OK &&
                 strstr(gptc_errmsg(ctx), bad_cfg[i].want) && strstr(gptc_errmsg(ctx), "config.json");
        CHECK(name, ok, "%s", gptc_errmsg(ctx));
        gptc_model_free(mb);
    }
    {
        /* the ids MarianConfig leaves out: eos 0, pad = decoder_start = the last id */
        gptc_model *mb = NULL;
        int ok = write_file(cpath, "{\"model_type\": \"marian\", \"vocab_size\": 61, \"d_model\": 30, "
                                   "\"encoder_layers\": 2, \"decoder_layers\": 3, \"encoder_attention_heads\": 5, "
                                   "\"decoder_attention_heads\": 3, \"encoder_ffn_dim\": 37, \"decoder_ffn_dim\": 23, "
                                   "\"max_position_embeddings\": 40, \"scale_embedding\": true, "
                                   "\"activation_function\": \"swish\", \"share_encoder_decoder_embeddings\": false}") &&
                 gptc_model_load(ctx, dir, &mb) == GPTC_OK;
        const gptc_config *c = ok ? gptc_model_config(mb) : NULL;
        CHECK("MarianConfig's default ids", c && c->pad_token_id == 60 && c->decoder_start_token_id == 60 &&
                                                c->eos_token_id == 0 && c->tie_word_embeddings,
              "%s", gptc_errmsg(ctx));
        gptc_model_free(mb);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK("cleanup", system(cmd) == 0, "rm");
    free(full);
    free(got);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return test_exit();
}
