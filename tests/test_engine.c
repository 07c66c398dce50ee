/* test_engine.c: the one forward. For random models (tied and untied LM head, each
 * head, a LoRA adapter attached and merged, F32 and BF16 weights), the KV-cache
 * session's logits at every position equal the full forward's; four threads running
 * inference on one shared model get what they get one by one. Sizes are not multiples
 * of 8. */
#include "harness.h"
#include "gptc.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

enum { T = 37, NSEQ = 2 };

static gptc_config small_cfg(int head, int tied) {
    gptc_config c = gptc_config_default();
    c.n_layer = 3; c.n_head = 3; c.n_embd = 45; c.n_positions = 61; c.vocab_size = 203;
    c.bos_token_id = c.eos_token_id = 202;
    c.tie_word_embeddings = tied;
    c.head = head;
    c.num_labels = head == GPTC_HEAD_CLASSIFY ? 5 : 0;
    return c;
}

static void tokens(int32_t *tok, int n, uint64_t seed, int V) {
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((seed >> 33) % (uint64_t)V);
    }
}

/* Makes every weight matter: scales embeddings so logits are not flat. */
static void perturb(gptc_model *m, uint64_t seed) {
    for (size_t i = 0; i < gptc_model_n_tensors(m); i++) {
        gptc_tensor_info ti;
        gptc_model_tensor(m, i, &ti);
        if (!ti.data) continue;
        for (size_t j = 0; j < ti.numel; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            ti.data[j] += 0.05f * ((float)((seed >> 40) & 0xFFFF) / 65536.0f - 0.5f);
        }
    }
}

/* Worst relative error of the session's per-position logits against the full forward:
 * LM and QA per position of one forward over all T tokens; a classifier's position t
 * against a forward over the first t + 1 tokens (the label if the text ended there). */
static double session_vs_full(gptc_ctx *ctx, const gptc_model *m, const int32_t *tok) {
    const gptc_config *c = gptc_model_config(m);
    gptc_workspace *ws = NULL;
    gptc_session *s = NULL;
    double worst = INFINITY;
    if (gptc_workspace_new(ctx, m, 1, T, 0, &ws) || gptc_session_new(ctx, m, NSEQ, 0, &s)) goto out;
    int W = gptc_session_width(s);
    float *got = malloc(sizeof(float) * (size_t)W * T), *full = malloc(sizeof(float) * (size_t)W * T);
    /* sequence 0: a prefill of 20 then steps; sequence 1: token by token */
    if (gptc_session_prefill(ctx, s, 0, tok, 20, got + (size_t)19 * W)) goto out2;
    for (int p = 20; p < T; p++) {
        int seq = 0;
        if (gptc_session_step(ctx, s, &seq, &tok[p], 1, got + (size_t)p * W)) goto out2;
    }
    float *one = malloc(sizeof(float) * (size_t)W);
    for (int p = 0; p < T; p++) {
        int seq = 1;
        gptc_session_step(ctx, s, &seq, &tok[p], 1, one);
        double e = test_relerr(one, got + (size_t)p * W, (size_t)W);
        if (p >= 19 && e > 1e-6 && c->head == GPTC_HEAD_LM) printf("# seq 1 differs from seq 0 at %d: %g\n", p, e);
        if (p < 19) memcpy(got + (size_t)p * W, one, sizeof(float) * (size_t)W);
    }
    free(one);
    if (c->head == GPTC_HEAD_CLASSIFY) {
        for (int p = 0; p < T; p++) {
            if (gptc_forward(ctx, ws, tok, NULL, 1, p + 1, NULL)) goto out2;
            memcpy(full + (size_t)p * W, gptc_workspace_logits(ws), sizeof(float) * (size_t)W);
        }
    } else {
        if (gptc_forward(ctx, ws, tok, NULL, 1, T, NULL)) goto out2;
        memcpy(full, gptc_workspace_logits(ws), sizeof(float) * (size_t)W * T);
    }
    worst = 0;
    /* a task head has few logits per position (2 or num_labels), which can all be near
     * zero: compare the whole (T, width) matrix there */
    if (c->head != GPTC_HEAD_LM) worst = test_relerr(got, full, (size_t)W * T);
    else for (int p = 0; p < T; p++) {
        double e = test_relerr(got + (size_t)p * W, full + (size_t)p * W, (size_t)W);
        if (e > worst) worst = e;
    }
out2:
    free(got);
    free(full);
out:
    if (worst == INFINITY) printf("# %s\n", gptc_errmsg(ctx));
    gptc_session_free(s);
    gptc_workspace_free(ws);
    return worst;
}

static void test_heads_and_adapters(const char *dir) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    int32_t tok[T];
    tokens(tok, T, 7, 202);
    static const struct { const char *name; int head, tied, lora; } cases[] = {
        {"lm tied", GPTC_HEAD_LM, 1, 0},        {"lm untied", GPTC_HEAD_LM, 0, 0},
        {"lm untied + lora", GPTC_HEAD_LM, 0, 1}, {"lm tied + lora", GPTC_HEAD_LM, 1, 1},
        {"classify", GPTC_HEAD_CLASSIFY, 1, 0}, {"classify + lora", GPTC_HEAD_CLASSIFY, 1, 1},
        {"qa", GPTC_HEAD_QA, 1, 0},             {"qa + lora", GPTC_HEAD_QA, 1, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gptc_config c = small_cfg(cases[k].head, cases[k].tied);
        gptc_model *m = NULL;
        char name[160];
        if (gptc_model_new(ctx, &c, 3 + k, &m)) { printf("FAIL %s: %s\n", cases[k].name, gptc_errmsg(ctx)); continue; }
        perturb(m, 11 + k);
        if (cases[k].lora) {
            gptc_lora_params lp = gptc_lora_default_params();
            lp.r = 3;
            lp.dropout = 0;
            snprintf(lp.target_modules, sizeof lp.target_modules, "c_attn,c_proj,c_fc");
            if (gptc_model_lora_add(ctx, m, &lp, 5)) { printf("FAIL lora: %s\n", gptc_errmsg(ctx)); continue; }
            perturb(m, 99 + k); /* B starts at zero: give the adapter an effect */
        }
        double e = session_vs_full(ctx, m, tok);
        snprintf(name, sizeof name, "session == full forward at every position (%s)", cases[k].name);
        CHECK(name, e < 1e-6, "worst rel err %.3g", e);
        if (cases[k].lora) {
            /* the adapter changes the output, and merging it gives the same logits */
            gptc_workspace *ws = NULL;
            gptc_session *s = NULL;
            int W = 0;
            float *a = NULL, *b = NULL;
            if (!gptc_session_new(ctx, m, 1, 0, &s)) {
                W = gptc_session_width(s);
                a = malloc(sizeof(float) * (size_t)W);
                b = malloc(sizeof(float) * (size_t)W);
                gptc_session_prefill(ctx, s, 0, tok, T, a);
                gptc_session_free(s);
            }
            gptc_model_lora_merge(ctx, m);
            e = INFINITY;
            if (a && !gptc_session_new(ctx, m, 1, 0, &s)) {
                gptc_session_prefill(ctx, s, 0, tok, T, b);
                e = test_relerr(b, a, (size_t)W);
                gptc_session_free(s);
            }
            snprintf(name, sizeof name, "session with adapter == merged model (%s)", cases[k].name);
            CHECK(name, e < 1e-5, "rel err %.3g", e);
            e = session_vs_full(ctx, m, tok);
            snprintf(name, sizeof name, "session == full forward after merge (%s)", cases[k].name);
            CHECK(name, e < 1e-6, "worst rel err %.3g", e);
            free(a);
            free(b);
            gptc_workspace_free(ws);
        }
        if (cases[k].head == GPTC_HEAD_LM && !cases[k].lora) {
            /* BF16 weights kept as stored: session == full forward of that model, and
             * both close to the F32 model's */
            char d[600];
            snprintf(d, sizeof d, "%s/bf16-%zu", dir, k);
            gptc_model *mb = NULL;
            gptc_load_params lp = gptc_load_default_params();
            lp.weight_dtype = GPTC_BF16;
            gptc_status s = gptc_model_save(ctx, m, d, GPTC_BF16);
            s = s ? s : gptc_model_load_with(ctx, d, &lp, &mb);
            CHECK("bf16 model loads with BF16 matrices", !s && gptc_model_weight_dtype(mb) == GPTC_BF16, "%s",
                  gptc_errmsg(ctx));
            if (!s) {
                e = session_vs_full(ctx, mb, tok);
                snprintf(name, sizeof name, "session == full forward at every position (%s, bf16 weights)",
                         cases[k].name);
                CHECK(name, e < 1e-6, "worst rel err %.3g", e);
                gptc_grads *g = NULL;
                CHECK("bf16 model refuses training", gptc_grads_new(ctx, mb, &g) == GPTC_EINVAL, "no error");
            }
            gptc_model_free(mb);
        }
        gptc_model_free(m);
    }
    gptc_ctx_free(ctx);
}

/* ---- four threads on one model */
typedef struct job {
    const gptc_model *m;
    int32_t tok[T];
    float full[5 * T]; /* classifier: B = 1 over T tokens; compare logits */
    float gen[24];
    int n_gen;
    int ok;
} job;

static void run_job(job *j) {
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = 1;
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    gptc_workspace *ws = NULL;
    j->ok = 0;
    if (gptc_workspace_new(ctx, j->m, 1, T, 0, &ws) || gptc_forward(ctx, ws, j->tok, NULL, 1, T, NULL)) goto out;
    memcpy(j->full, gptc_workspace_logits(ws), sizeof(float) * 203);
    gptc_gen_params p = gptc_gen_default_params();
    p.max_new_tokens = 24;
    p.n_eos = 0;
    p.do_sample = 1;
    p.seed = (uint64_t)j->tok[0];
    gptc_gen_result *r = NULL;
    if (gptc_generate(ctx, j->m, NULL, NULL, j->tok, 10, &p, NULL, NULL, &r)) goto out;
    j->n_gen = r->seqs[0].n_tokens;
    for (int i = 0; i < j->n_gen; i++) j->gen[i] = (float)r->seqs[0].tokens[i];
    gptc_gen_result_free(r);
    j->ok = 1;
out:
    gptc_workspace_free(ws);
    gptc_ctx_free(ctx);
}
static void *thread_main(void *arg) {
    run_job(arg);
    return NULL;
}

static void test_threads(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c = small_cfg(GPTC_HEAD_LM, 0);
    gptc_model *m = NULL;
    if (gptc_model_new(ctx, &c, 21, &m)) { printf("FAIL threads: %s\n", gptc_errmsg(ctx)); return; }
    job alone[4], together[4];
    for (int i = 0; i < 4; i++) {
        alone[i].m = together[i].m = m;
        tokens(alone[i].tok, T, 100 + (uint64_t)i, 202);
        memcpy(together[i].tok, alone[i].tok, sizeof alone[i].tok);
        run_job(&alone[i]);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, thread_main, &together[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    int same = 1;
    for (int i = 0; i < 4; i++)
        same &= alone[i].ok && together[i].ok && !memcmp(alone[i].full, together[i].full, sizeof(float) * 203) &&
                alone[i].n_gen == together[i].n_gen && !memcmp(alone[i].gen, together[i].gen, sizeof alone[i].gen);
    CHECK("4 threads on one model == one by one (forward logits, sampled generation)", same, "results differ");
    gptc_model_free(m);
    gptc_ctx_free(ctx);
}

/* a workspace made before an adapter was added is refused, not overrun */
static void test_changed_model(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_config c = small_cfg(GPTC_HEAD_LM, 1);
    gptc_model *m = NULL;
    gptc_workspace *ws = NULL;
    gptc_session *s = NULL;
    int32_t tok[5] = {1, 2, 3, 4, 5};
    float lg[203];
    gptc_model_new(ctx, &c, 4, &m);
    gptc_workspace_new(ctx, m, 1, 5, 0, &ws);
    gptc_session_new(ctx, m, 1, 0, &s);
    gptc_lora_params lp = gptc_lora_default_params();
    gptc_model_lora_add(ctx, m, &lp, 1);
    CHECK("a workspace older than the adapter is refused", gptc_forward(ctx, ws, tok, NULL, 1, 5, NULL) == GPTC_EINVAL,
          "%s", gptc_errmsg(ctx));
    CHECK("a session older than the adapter is refused", gptc_session_prefill(ctx, s, 0, tok, 5, lg) == GPTC_EINVAL,
          "%s", gptc_errmsg(ctx));
    gptc_session_free(s);
    gptc_workspace_free(ws);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
}

int main(void) {
    const char *tmp = getenv("GPTC_TEST_TMP");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/test_engine.%d", tmp ? tmp : "/tmp", (int)getpid());
    test_heads_and_adapters(dir);
    test_threads();
    test_changed_model();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return test_exit();
}
