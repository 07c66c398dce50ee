/* test_tasks.c: the fine-tuning layer: CSV/TSV/JSONL readers and their errors, label
 * maps, SQuAD readers and windows, classification metrics (scikit-learn's definitions,
 * and scikit-learn itself when python3-sklearn is installed), SQuAD EM/F1, LoRA merge
 * and adapter save/load. `test_tasks ref DIR OUT` is the driver of tests/ref/tasks_torch.py;
 * `test_tasks qa-features ...` prints QA windows (tests/t_bert_tasks.sh). */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"
#include "gptc.h"
#include "model/model.h"
#include "gptc.h"
#include "tasks/tasks.h"
#include <stdint.h>
#include <unistd.h>

static char tmpdir[256];

static const char *write_tmp(const char *name, const char *text) {
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
    return p;
}

/* ---------------------------------------------------------------- tables */
static void test_tables(gptc_ctx *ctx) {
    gptc_rows r;
    gptc_table_opts o = {0};
    o.need_label = 1;
    const char *p = write_tmp("a.csv", "id,text,label\r\n1,\"Hello, \"\"world\"\"\",pos\r\n2,\"two\nlines\",neg\r\n\r\n3,plain, pos \n");
    gptc_status s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("csv read", !s && r.n == 3, "status %d n %zu: %s", s, r.n, gptc_errmsg(ctx));
    if (!s && r.n == 3) {
        CHECK("csv quotes", !strcmp(r.text[0], "Hello, \"world\"") && !strcmp(r.label[0], "pos"), "'%s' '%s'", r.text[0], r.label[0]);
        CHECK("csv newline in quotes", !strcmp(r.text[1], "two\nlines") && r.line[1] == 3, "'%s' line %zu", r.text[1], r.line[1]);
        CHECK("csv line numbers", r.line[2] == 6 && !strcmp(r.label[2], "pos"), "line %zu label '%s'", r.line[2], r.label[2]);
        gptc_labels l;
        CHECK("labels collect", !gptc_labels_collect(ctx, p, &r, &l) && l.n == 2 && !strcmp(l.name[0], "neg"), "%s", gptc_errmsg(ctx));
        gptc_rows_free(&r);
    }
    o.label_col = "sentiment";
    s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("csv missing label column", s == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "a.csv:1") &&
          strstr(gptc_errmsg(ctx), "sentiment"), "%s", gptc_errmsg(ctx));
    o.label_col = NULL;
    p = write_tmp("b.tsv", "good one\t1\n\t0\nbad\t0\nfine\t10\nok\t2\n");
    o.no_header = 1;
    s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("tsv empty text", s == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "b.tsv:2: empty text"), "%s", gptc_errmsg(ctx));
    o.skip_bad = 1;
    s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("tsv skip bad", !s && r.n == 4 && r.n_skipped == 1, "n %zu skipped %zu", r.n, r.n_skipped);
    if (!s) {
        gptc_labels l;
        CHECK("labels numeric order", !gptc_labels_collect(ctx, p, &r, &l) && l.n == 4 && !strcmp(l.name[0], "0") &&
              !strcmp(l.name[2], "2") && !strcmp(l.name[3], "10"), "%s %s %s", l.name[0], l.name[2], l.name[3]);
        gptc_labels two = {2, {"0", "1"}};
        int32_t ids[8];
        s = gptc_labels_map(ctx, "val.tsv", &two, &r, ids);
        CHECK("unknown label", s == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "val.tsv:4: unknown label '10'"), "%s", gptc_errmsg(ctx));
        gptc_rows_free(&r);
    }
    o.skip_bad = 0;
    o.text_col = "0";
    CHECK("no-header column number", gptc_rows_read(ctx, p, &o, &r) == GPTC_EINVAL, "%s", gptc_errmsg(ctx));
    o.text_col = NULL;
    o.no_header = 0;
    p = write_tmp("c.jsonl", "{\"text\": \"a\", \"label\": 3}\n\n{\"text\": \"b\", \"label\": \"x\"\n{\"text\": \"c\"}\n");
    s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("jsonl malformed line", s == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "c.jsonl:3: malformed JSON"), "%s", gptc_errmsg(ctx));
    o.skip_bad = 1;
    s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("jsonl skip", !s && r.n == 1 && r.n_skipped == 2 && !strcmp(r.label[0], "3"), "n %zu skipped %zu", r.n, r.n_skipped);
    if (!s) gptc_rows_free(&r);
    p = write_tmp("d.csv", "text,label\n\"never closed,1\n");
    o.skip_bad = 0;
    s = gptc_rows_read(ctx, p, &o, &r);
    CHECK("csv unterminated quote", s == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "d.csv:2: unterminated"), "%s", gptc_errmsg(ctx));
}

/* ---------------------------------------------------------------- metrics */
static void test_metrics(gptc_ctx *ctx) {
    /* K = 4; label 3 never occurs (scikit-learn leaves it out of the averages) */
    const int yt[] = {0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 2, 0};
    const int yp[] = {0, 1, 0, 1, 2, 2, 2, 0, 1, 0, 1, 2, 2};
    int n = (int)(sizeof yt / sizeof yt[0]), K = 4;
    long cm[16] = {0};
    for (int i = 0; i < n; i++) cm[yt[i] * K + yp[i]]++;
    gptc_cls_report r;
    gptc_cls_report_compute(cm, K, &r);
    /* by hand, per sample: tp/fp/fn */
    double f1m = 0, f1w = 0, pm = 0, rm = 0, acc = 0;
    for (int i = 0; i < n; i++) acc += yt[i] == yp[i];
    acc /= n;
    for (int k = 0; k < 3; k++) {
        double tp = 0, fp = 0, fn = 0, sup = 0;
        for (int i = 0; i < n; i++) {
            tp += yt[i] == k && yp[i] == k;
            fp += yt[i] != k && yp[i] == k;
            fn += yt[i] == k && yp[i] != k;
            sup += yt[i] == k;
        }
        double p = tp / (tp + fp), rc = tp / (tp + fn), f = 2 * p * rc / (p + rc);
        pm += p / 3;
        rm += rc / 3;
        f1m += f / 3;
        f1w += f * sup / n;
    }
    CHECK("accuracy", fabs(r.accuracy - acc) < 1e-12 && fabs(acc - 8.0 / 13) < 1e-12, "%g vs %g", r.accuracy, acc);
    CHECK("precision/recall macro", fabs(r.precision_macro - pm) < 1e-12 && fabs(r.recall_macro - rm) < 1e-12, "%g %g vs %g %g",
          r.precision_macro, r.recall_macro, pm, rm);
    CHECK("f1 macro, weighted", fabs(r.f1_macro - f1m) < 1e-12 && fabs(r.f1_weighted - f1w) < 1e-12, "%g %g vs %g %g",
          r.f1_macro, r.f1_weighted, f1m, f1w);
    /* class 0: tp 3 (rows 0,2,9), fp 1 (row 7), fn 2 -> p .75, r .6, f1 2/3 */
    CHECK("per class", fabs(r.precision[0] - 0.75) < 1e-12 && fabs(r.recall[0] - 0.6) < 1e-12 &&
          fabs(r.f1[0] - 2.0 / 3) < 1e-12 && r.support[2] == 5 && r.f1[3] == 0, "%g %g %g", r.precision[0], r.recall[0], r.f1[0]);
    /* a predicted-but-absent class counts in the macro average with zero_division 0 */
    long cm2[4] = {2, 1, 0, 0};
    gptc_cls_report r2;
    gptc_cls_report_compute(cm2, 2, &r2);
    CHECK("zero division", fabs(r2.precision_macro - 0.5) < 1e-12 && fabs(r2.recall_macro - 2.0 / 6) < 1e-12 &&
          fabs(r2.f1_macro - 0.4) < 1e-12, "%g %g %g", r2.precision_macro, r2.recall_macro, r2.f1_macro);
    if (system("dpkg -s python3-sklearn >/dev/null 2>&1") == 0) {
        char cmd[2048], yts[200] = "", yps[200] = "";
        for (int i = 0; i < n; i++) {
            snprintf(yts + strlen(yts), sizeof yts - strlen(yts), "%d,", yt[i]);
            snprintf(yps + strlen(yps), sizeof yps - strlen(yps), "%d,", yp[i]);
        }
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"from sklearn.metrics import *; t=[%s]; p=[%s]; "
                 "print(accuracy_score(t,p), precision_score(t,p,average='macro',zero_division=0), "
                 "recall_score(t,p,average='macro',zero_division=0), f1_score(t,p,average='macro',zero_division=0), "
                 "f1_score(t,p,average='weighted',zero_division=0))\"", yts, yps);
        FILE *f = popen(cmd, "r");
        double v[5] = {0};
        int got = f ? fscanf(f, "%lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]) : 0;
        if (f) pclose(f);
        CHECK("scikit-learn agrees", got == 5 && fabs(v[0] - r.accuracy) < 1e-12 && fabs(v[1] - r.precision_macro) < 1e-12 &&
              fabs(v[2] - r.recall_macro) < 1e-12 && fabs(v[3] - r.f1_macro) < 1e-12 && fabs(v[4] - r.f1_weighted) < 1e-12,
              "got %d: %g %g %g %g %g", got, v[0], v[1], v[2], v[3], v[4]);
    } else {
        printf("(python3-sklearn not installed: checked against the definitions only)\n");
    }
    gptc_labels l = {4, {"a", "b<&>", "c", "d"}};
    char path[512];
    snprintf(path, sizeof path, "%s/cm.svg", tmpdir);
    CHECK("confusion svg", !gptc_confusion_svg(ctx, path, cm, &l) && access(path, F_OK) == 0, "%s", gptc_errmsg(ctx));
}

static void test_squad(gptc_ctx *ctx) {
    char *n = gptc_squad_normalize(ctx, "  The  Eiffel-Tower, in   a  City! ");
    CHECK("squad normalize", n && !strcmp(n, "eiffeltower in city"), "'%s'", n ? n : "(null)");
    gptc_free(n);
    CHECK("squad em", gptc_squad_em(ctx, "the Eiffel Tower", "Eiffel tower.") == 1 && gptc_squad_em(ctx, "Paris", "Lyon") == 0, "em");
    double f = gptc_squad_f1(ctx, "Paris France", "paris");
    CHECK("squad f1 partial", fabs(f - 2.0 / 3) < 1e-12, "%g", f);
    f = gptc_squad_f1(ctx, "x b b c", "b b b d");
    CHECK("squad f1 counts", fabs(f - 0.5) < 1e-12, "%g", f); /* common 2: p 2/4, r 2/4 */
    CHECK("squad f1 empty", gptc_squad_f1(ctx, "the", "a") == 0 && gptc_squad_f1(ctx, "x", "y") == 0, "empty");
    CHECK("squad articles inside words", gptc_squad_em(ctx, "theater", "the ater") == 0 && gptc_squad_em(ctx, "an apple", "Apple") == 1, "articles");
}

static void test_qa_read(gptc_ctx *ctx) {
    gptc_qa_set s;
    size_t sk;
    /* "é" is one character and two bytes: answer_start counts characters */
    const char *p = write_tmp("q.jsonl",
        "{\"context\": \"Caf\xc3\xa9 in Paris\", \"question\": \"Where?\", \"answers\": {\"text\": [\"Paris\"], \"answer_start\": [8]}}\n"
        "{\"context\": \"Rome is big\", \"question\": \"What?\", \"answers\": [{\"text\": \"Rome\", \"answer_start\": 0}]}\n");
    gptc_status st = gptc_qa_read(ctx, p, 1, 0, &s, &sk);
    CHECK("qa jsonl", !st && s.n == 2 && s.ex[0].answer_start[0] == 9 && s.ex[1].answer_start[0] == 0, "%s", gptc_errmsg(ctx));
    if (!st) gptc_qa_free(&s);
    p = write_tmp("q2.jsonl", "{\"context\": \"Rome is big\", \"question\": \"What?\", \"answers\": [{\"text\": \"Rome\", \"answer_start\": 0}]}\n"
                              "{\"context\": \"Rome is big\", \"question\": \"What?\", \"answers\": [{\"text\": \"big\", \"answer_start\": 5}]}\n");
    st = gptc_qa_read(ctx, p, 1, 0, &s, &sk);
    CHECK("qa answer_start mismatch", st == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "q2.jsonl:2") &&
          strstr(gptc_errmsg(ctx), "does not point at the answer text 'big'"), "%s", gptc_errmsg(ctx));
    st = gptc_qa_read(ctx, p, 1, 1, &s, &sk);
    CHECK("qa skip", !st && s.n == 1 && sk == 1, "%s", gptc_errmsg(ctx));
    if (!st) gptc_qa_free(&s);
    p = write_tmp("q.json", "{\"version\": \"1.1\", \"data\": [{\"title\": \"t\", \"paragraphs\": [{\"context\": \"Bern is the capital.\", "
                            "\"qas\": [{\"id\": \"x1\", \"question\": \"Capital?\", \"answers\": [{\"text\": \"Bern\", \"answer_start\": 0}, "
                            "{\"text\": \"capital\", \"answer_start\": 12}]}]}]}]}");
    st = gptc_qa_read(ctx, p, 1, 0, &s, &sk);
    CHECK("qa squad json", !st && s.n == 1 && s.ex[0].n_answers == 2 && !strcmp(s.ex[0].id, "x1") && s.ex[0].answer_start[1] == 12,
          "%s", gptc_errmsg(ctx));
    if (!st) gptc_qa_free(&s);
}

/* ---------------------------------------------------------------- LoRA */
static void random_fill(float *x, size_t n, uint64_t *st, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)((gptc_splitmix64(st) >> 11) * (1.0 / 9007199254740992.0) - 0.5);
}

static void test_lora(gptc_ctx *ctx) {
    gptc_config c;
    gptc_config_preset(ctx, "tiny", &c);
    c.n_layer = 2;
    c.n_head = 3;
    c.n_embd = 27;
    c.n_positions = 19;
    c.vocab_size = 53;
    c.bos_token_id = c.eos_token_id = 52;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0;
    gptc_model *m;
    uint64_t st = (uint64_t)getpid() * 7919u + 11;
    if (gptc_model_new(ctx, &c, st, &m)) { CHECK("lora model", 0, "%s", gptc_errmsg(ctx)); return; }
    const char *labels[3] = {"x", "y", "z"};
    gptc_model_set_head(ctx, m, GPTC_HEAD_CLASSIFY, 3, labels, 5);
    gptc_task_model_set_pad(m, 52);
    gptc_lora_params lp = gptc_lora_default_params();
    lp.r = 3;
    lp.alpha = 5;
    snprintf(lp.target_modules, sizeof lp.target_modules, "c_attn,c_proj,c_fc");
    gptc_status s = gptc_model_lora_add(ctx, m, &lp, 9);
    CHECK("lora add", !s, "%s", gptc_errmsg(ctx));
    if (s) return;
    for (size_t i = 0; i < m->n_tensors; i++) /* B starts at zero: make the adapter do something */
        if (m->tensors[i].kind != GPTC_TK_BASE) random_fill(m->params + m->tensors[i].offset, m->tensors[i].numel, &st, 0.6f);
    int B = 3, T = 11;
    int32_t tok[33];
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)(gptc_splitmix64(&st) % 52);
    tok[T - 1] = tok[T - 2] = 52; /* padding */
    float l0[9], l1[9], l2[9];
    gptc_workspace *ws = NULL;
    s = gptc_workspace_new(ctx, m, B, T, 0, &ws);
    s = s ? s : gptc_forward(ctx, ws, tok, NULL, B, T, NULL);
    memcpy(l0, gptc_workspace_logits(ws), sizeof l0);
    gptc_workspace_free(ws);
    snprintf(tmpdir + strlen(tmpdir), 64, "/lora");
    s = s ? s : gptc_model_save(ctx, m, tmpdir, GPTC_F32);
    s = s ? s : gptc_model_lora_save(ctx, m, tmpdir);
    CHECK("lora save", !s, "%s", gptc_errmsg(ctx));
    gptc_model *m2 = NULL;
    s = s ? s : gptc_model_load(ctx, tmpdir, &m2);
    CHECK("adapter loads with the model", !s && gptc_model_has_lora(m2), "%s", gptc_errmsg(ctx));
    if (!s) {
        gptc_workspace *w2 = NULL;
        gptc_workspace_new(ctx, m2, B, T, 0, &w2);
        gptc_forward(ctx, w2, tok, NULL, B, T, NULL);
        memcpy(l1, gptc_workspace_logits(w2), sizeof l1);
        gptc_workspace_free(w2);
        CHECK("adapter round trip", test_relerr(l1, l0, 9) < 1e-6, "rel err %g", test_relerr(l1, l0, 9));
        s = gptc_model_lora_merge(ctx, m2);
        gptc_workspace_new(ctx, m2, B, T, 0, &w2);
        gptc_forward(ctx, w2, tok, NULL, B, T, NULL);
        memcpy(l2, gptc_workspace_logits(w2), sizeof l2);
        gptc_workspace_free(w2);
        double e = test_relerr(l2, l0, 9), d = test_relerr(l0, l0 + 0, 9);
        CHECK("merged = unmerged", !s && !gptc_model_has_lora(m2) && e < 1e-5 && d == 0, "rel err %g (%s)", e, gptc_errmsg(ctx));
        gptc_model_free(m2);
    }
    gptc_model_free(m);
    tmpdir[strlen(tmpdir) - 5] = 0;
}

/* ---------------------------------------------------------------- PyTorch driver */
static int ref_driver(const char *dir, const char *out) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_model *m;
    if (gptc_model_load(ctx, dir, &m)) { fprintf(stderr, "%s\n", gptc_errmsg(ctx)); return 1; }
    char p[600];
    snprintf(p, sizeof p, "%s/inputs.txt", dir);
    FILE *f = fopen(p, "r");
    int B, T, nt, nw;
    if (!f || fscanf(f, "%d %d %d %d", &B, &T, &nt, &nw) != 4) { fprintf(stderr, "%s: bad inputs\n", p); return 1; }
    int32_t *tok = malloc(sizeof(int32_t) * B * T), *tg = malloc(sizeof(int32_t) * (nt + 1));
    float w[GPTC_MAX_LABELS];
    for (int i = 0; i < B * T; i++) if (fscanf(f, "%d", &tok[i]) != 1) return 1;
    for (int i = 0; i < nt; i++) if (fscanf(f, "%d", &tg[i]) != 1) return 1;
    for (int i = 0; i < nw; i++) if (fscanf(f, "%f", &w[i]) != 1) return 1;
    fclose(f);
    gptc_workspace *ws = NULL;
    gptc_grads *g = NULL;
    if (gptc_workspace_new(ctx, m, B, T, 1, &ws) || gptc_grads_new(ctx, m, &g)) { fprintf(stderr, "%s\n", gptc_errmsg(ctx)); return 1; }
    if (nw && gptc_workspace_set_class_weights(ctx, ws, w)) { fprintf(stderr, "%s\n", gptc_errmsg(ctx)); return 1; }
    float loss = 0;
    /* LoRA dropout > 0 cannot follow torch's RNG: then the model runs in eval mode */
    gptc_workspace_set_training(ws, m->lora_dropout == 0, 3);
    if (gptc_forward(ctx, ws, tok, tg, B, T, &loss)) {
        fprintf(stderr, "%s\n", gptc_errmsg(ctx));
        return 1;
    }
    size_t nl = m->head->logits_floats(&m->cfg, B, T);
    float *logits = malloc(nl * sizeof(float));
    memcpy(logits, gptc_workspace_logits(ws), nl * sizeof(float));
    if (gptc_backward(ctx, ws, g, 1.0f)) { fprintf(stderr, "%s\n", gptc_errmsg(ctx)); return 1; }
    gptc_st_entry *e = calloc(m->n_tensors + 2, sizeof *e);
    char (*names)[80] = calloc(m->n_tensors, 80);
    size_t n = 0;
    e[n].name = "logits"; e[n].ndim = 1; e[n].shape[0] = (int64_t)nl; e[n++].data = logits;
    e[n].name = "loss"; e[n].ndim = 1; e[n].shape[0] = 1; e[n++].data = &loss;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i];
        if (!t->trainable) continue;
        snprintf(names[i], 80, "grad.%s", t->name);
        e[n].name = names[i];
        e[n].ndim = t->ndim;
        e[n].shape[0] = t->shape[0];
        e[n].shape[1] = t->shape[1];
        e[n++].data = gptc_grads_tensor(g, i);
    }
    int rc = gptc_st_write(ctx, out, e, n, GPTC_F32, NULL) != GPTC_OK;
    if (rc) fprintf(stderr, "%s\n", gptc_errmsg(ctx));
    free(e); free(names); free(logits); free(tok); free(tg);
    gptc_workspace_free(ws);
    gptc_grads_free(g);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return rc;
}

/* ---------------------------------------------------------------- QA windows driver */
/* `test_tasks qa-features TOKENIZER DATA T STRIDE`: one JSON line per window: the
 * example, the row's ids and token types (unpadded), the start/end targets and the
 * context's first token's place (tests/t_bert_tasks.sh compares them with Hugging Face
 * tokenizers' overflowing encodings and run_qa.py's position mapping). */
static int qa_features_driver(const char *tokdir, const char *data, int T, int stride) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_tokenizer *tok;
    gptc_qa_set set;
    size_t skipped;
    gptc_qa_features f;
    if (gptc_tokenizer_load(ctx, tokdir, &tok) || gptc_qa_read(ctx, data, 1, 0, &set, &skipped) ||
        gptc_qa_features_build(ctx, tok, &set, T, stride, 0, 0, &f)) {
        fprintf(stderr, "%s\n", gptc_errmsg(ctx));
        return 1;
    }
    for (size_t i = 0; i < f.n; i++) {
        size_t o = f.data.off[i], n = f.data.off[i + 1] - o;
        printf("{\"ex\": %zu, \"start\": %d, \"end\": %d, \"ctx_begin\": %d, \"input_ids\": [", f.ex[i], f.pos[2 * i],
               f.pos[2 * i + 1], f.ctx_begin[i]);
        for (size_t t = 0; t < n; t++) printf("%s%d", t ? ", " : "", f.data.ids[o + t]);
        printf("], \"token_type_ids\": [");
        for (size_t t = 0; t < n; t++) printf("%s%d", t ? ", " : "", f.data.types ? f.data.types[o + t] : 0);
        printf("]}\n");
    }
    gptc_qa_features_free(&f);
    gptc_qa_free(&set);
    gptc_tokenizer_free(tok);
    gptc_ctx_free(ctx);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "ref")) return ref_driver(argv[2], argv[3]);
    if (argc == 6 && !strcmp(argv[1], "qa-features")) return qa_features_driver(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    snprintf(tmpdir, sizeof tmpdir, "%s/test_tasks.XXXXXX", getenv("GPTC_TEST_TMP") ? getenv("GPTC_TEST_TMP") : "/tmp");
    if (!mkdtemp(tmpdir)) return 1;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    test_tables(ctx);
    test_metrics(ctx);
    test_squad(ctx);
    test_qa_read(ctx);
    test_lora(ctx);
    gptc_ctx_free(ctx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) (void)0;
    return test_exit();
}
