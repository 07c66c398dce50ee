/* checkpoint.c: what a training run keeps on disk: checkpoints written as whole
 * directories (a fresh temp dir swapped in, io/outdir.c), trainer_state.json, optimizer.safetensors, the
 * newest/pruned checkpoint lists, OUT/model, metrics.jsonl trimming and run.json.
 * The loop that uses them is trainer.c. */
#define _GNU_SOURCE
#include "train.h"
#include "../core/core.h"
#include "../core/core.h"
#include "../model/model.h"
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* Writes j (consumed) as indented JSON to path, atomically. */
static gptc_status write_json(gptc_ctx *ctx, const char *path, json_t *j) {
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    if (!text) return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory", path);
    gptc_iovec parts[2] = {{text, strlen(text)}, {"\n", 1}};
    gptc_status s = gptc_file_write_atomic(ctx, path, parts, 2);
    free(text);
    return s;
}

static gptc_status save_state_json(gptc_ctx *ctx, const char *path, const run_state *rs, const gptc_train_opts *o) {
    json_t *j = json_object();
    char buf[32];
    json_object_set_new(j, "format", json_string("gptc-trainer-state"));
    json_object_set_new(j, "version", json_integer(1));
    json_object_set_new(j, "step", json_integer(rs->step));
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)rs->rng);
    json_object_set_new(j, "rng_state", json_string(buf));
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)rs->data_pos);
    json_object_set_new(j, "data_position", json_string(buf));
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)rs->dropout_calls);
    json_object_set_new(j, "dropout_calls", json_string(buf));
    json_object_set_new(j, "best_val_loss", isfinite(rs->best_val) ? json_real(rs->best_val) : json_null());
    json_object_set_new(j, "best_step", json_integer(rs->best_step));
    json_object_set_new(j, "evals_without_improvement", json_integer(rs->bad_evals));
    json_object_set_new(j, "elapsed_s", json_real(rs->elapsed));
    json_object_set_new(j, "batch_size", json_integer(o->batch_size));
    json_object_set_new(j, "seq_len", json_integer(o->seq_len));
    json_object_set_new(j, "grad_accum", json_integer(o->grad_accum));
    /* rows per optimizer micro-step over all ranks: what a resume on another number of
     * ranks must keep */
    json_object_set_new(j, "ranks", json_integer(gptc_dist_size(o->dist)));
    json_object_set_new(j, "global_batch_size", json_integer((json_int_t)o->batch_size * gptc_dist_size(o->dist)));
    return write_json(ctx, path, j);
}

static int parse_u64(json_t *j, const char *key, uint64_t *out) {
    json_t *v = json_object_get(j, key);
    if (!json_is_string(v)) return 0;
    char *e;
    errno = 0;
    unsigned long long x = strtoull(json_string_value(v), &e, 10);
    if (errno || *e) return 0;
    *out = x;
    return 1;
}

gptc_status gptc_ckpt_load_state(gptc_ctx *ctx, const char *path, run_state *rs, const gptc_train_opts *o) {
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%d: invalid JSON: %s", path, err.line, err.text);
    gptc_status s = GPTC_OK;
    json_t *step = json_object_get(j, "step"), *best = json_object_get(j, "best_val_loss");
    json_t *bstep = json_object_get(j, "best_step"), *bad = json_object_get(j, "evals_without_improvement"),
           *el = json_object_get(j, "elapsed_s");
    if (!json_is_integer(step) || json_integer_value(step) < 0 || !parse_u64(j, "rng_state", &rs->rng) ||
        !parse_u64(j, "data_position", &rs->data_pos) || !parse_u64(j, "dropout_calls", &rs->dropout_calls)) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: missing or malformed step, rng_state, data_position or dropout_calls", path);
    } else if (best && !json_is_null(best) && !(json_is_number(best) && fabs(json_number_value(best)) <= FLT_MAX)) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field best_val_loss must be null or a float", path);
    } else if ((bstep && !json_is_integer(bstep)) || json_integer_value(bstep) < 0 ||
               json_integer_value(bstep) > json_integer_value(step)) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field best_step must be an integer in [0, step]", path);
    } else if ((bad && !json_is_integer(bad)) || json_integer_value(bad) < 0 || json_integer_value(bad) > INT_MAX) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field evals_without_improvement must be an integer in [0, %d]", path, INT_MAX);
    } else if ((el && !json_is_number(el)) || !(json_number_value(el) >= 0 && json_number_value(el) <= 1e15)) {
        s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field elapsed_s must be a number of seconds >= 0", path);
    } else {
        rs->step = (long)json_integer_value(step);
        rs->best_val = json_is_number(best) ? (float)json_number_value(best) : INFINITY;
        rs->best_step = (long)json_integer_value(bstep);
        rs->bad_evals = (int)json_integer_value(bad);
        rs->elapsed = json_number_value(el);
        int N = gptc_dist_size(o->dist);
        json_t *gb = json_object_get(j, "global_batch_size");
        if (gb) { /* a run on any number of ranks continues with the same global batch */
            json_int_t v = json_integer_value(gb);
            if (!json_is_integer(gb) || v != (json_int_t)o->batch_size * N)
                s = gptc_fail(ctx, GPTC_EINVAL, "%s: the run's global batch was %lld rows (ranks x --batch-size); this "
                                                "resume has %d x %d; pass --batch-size %lld / ranks to resume exactly",
                              path, (long long)v, N, o->batch_size, (long long)v);
        }
        static const char *const same[] = {"batch_size", "seq_len", "grad_accum"};
        const int have[] = {o->batch_size, o->seq_len, o->grad_accum};
        for (int i = gb ? 1 : 0; i < 3 && !s; i++) {
            json_int_t v = json_integer_value(json_object_get(j, same[i]));
            if (v != have[i])
                s = gptc_fail(ctx, GPTC_EINVAL, "%s: the run used %s=%lld but this resume asks for %d; "
                                                "pass the same value to resume exactly", path, same[i], (long long)v, have[i]);
        }
    }
    json_decref(j);
    return s;
}

static gptc_status save_optimizer(gptc_ctx *ctx, const gptc_model *m, const gptc_adamw *opt, const char *path) {
    size_t n = m->n_tensors;
    gptc_st_entry *e = gptc_calloc(ctx, 2 * n, sizeof *e, "optimizer entries");
    char (*names)[80] = gptc_calloc(ctx, 2 * n, sizeof *names, "optimizer names");
    gptc_status s = GPTC_ENOMEM;
    if (e && names) {
        for (size_t i = 0; i < 2 * n; i++) {
            const gptc_ptensor *t = &m->tensors[i % n];
            snprintf(names[i], sizeof names[i], "%s.%s", t->name, i < n ? "exp_avg" : "exp_avg_sq");
            e[i].name = names[i];
            e[i].ndim = t->ndim;
            e[i].shape[0] = t->shape[0];
            e[i].shape[1] = t->shape[1];
            float *m1, *m2;
            gptc_adamw_tensor(opt, i % n, &m1, &m2);
            e[i].data = i < n ? m1 : m2;
        }
        static const char *const meta[] = {"format", "gptc-adamw", NULL};
        s = gptc_st_write(ctx, path, e, 2 * n, GPTC_F32, meta);
    }
    gptc_free(e);
    gptc_free(names);
    return s;
}

gptc_status gptc_ckpt_load_optimizer(gptc_ctx *ctx, const gptc_model *m, gptc_adamw *opt, const char *path) {
    gptc_safetensors st;
    gptc_status s = gptc_st_open(ctx, path, &st);
    if (s) return s;
    for (size_t i = 0; !s && i < 2 * m->n_tensors; i++) {
        const gptc_ptensor *t = &m->tensors[i % m->n_tensors];
        char name[96];
        snprintf(name, sizeof name, "%s.%s", t->name, i < m->n_tensors ? "exp_avg" : "exp_avg_sq");
        const gptc_st_tensor *x = gptc_st_find(&st, name);
        if (!x) s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s is missing", path, name);
        else if (x->numel != t->numel)
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: tensor %s has %zu values, the model needs %zu", path, name, x->numel,
                          t->numel);
        else {
            float *m1, *m2;
            gptc_adamw_tensor(opt, i % m->n_tensors, &m1, &m2);
            gptc_st_to_f32(x, i < m->n_tensors ? m1 : m2);
        }
    }
    gptc_st_close(&st);
    return s;
}

/* Writes a model directory (config, weights, tokenizer files) at dir. */
static gptc_status write_model_dir(gptc_ctx *ctx, const gptc_model *m, const char *dir, const char *tok_dir) {
    gptc_status s = gptc_mkdirs(ctx, dir);
    if (!s) s = gptc_model_save(ctx, m, dir, GPTC_F32);
    if (!s && gptc_model_has_lora(m)) s = gptc_model_lora_save(ctx, m, dir);
    if (!s && tok_dir) s = gptc_copy_tokenizer_files(ctx, tok_dir, dir);
    return s;
}

gptc_status gptc_copy_tokenizer_files(gptc_ctx *ctx, const char *src, const char *dst) {
    static const char *const names[] = {"vocab.json", "merges.txt", "vocab.txt", "special_tokens_map.json", "tokenizer.json",
                                        "tokenizer_config.json", "generation_config.json", "source.spm", "target.spm",
                                        "target_vocab.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/%s", src, names[i]);
        snprintf(b, sizeof b, "%s/%s", dst, names[i]);
        if (!gptc_file_exists(a)) continue;
        gptc_status s = gptc_file_copy(ctx, a, b);
        if (s) return s;
    }
    return GPTC_OK;
}

gptc_status gptc_ckpt_write(gptc_ctx *ctx, const gptc_model *m, const gptc_adamw *opt, const gptc_train_opts *o,
                            const run_state *rs,
                                    const char *tok_dir, char *final_dir, size_t cap) {
    char dir[4200], path[4600];
    snprintf(final_dir, cap, "%s/checkpoints/step-%ld", o->out_dir, rs->step);
    snprintf(dir, sizeof dir, "%s/checkpoints", o->out_dir);
    gptc_dir_clean_stale(dir, 1); /* temps of killed runs, also of earlier versions */
    gptc_outdir od;
    gptc_status s = gptc_outdir_begin(ctx, &od, final_dir, gptc_model_dir_names);
    if (s) return s;
    s = write_model_dir(ctx, m, od.tmp, tok_dir);
    if (!s && opt) {
        snprintf(path, sizeof path, "%s/optimizer.safetensors", od.tmp);
        s = save_optimizer(ctx, m, opt, path);
    }
    if (!s) {
        /* trainer_state.json last: its presence marks a complete checkpoint */
        snprintf(path, sizeof path, "%s/trainer_state.json", od.tmp);
        s = save_state_json(ctx, path, rs, o);
    }
    if (!s) return gptc_outdir_commit(ctx, &od);
    gptc_outdir_abort(&od);
    return s;
}

/* Steps of the complete checkpoints in OUT/checkpoints, ascending. */
size_t gptc_ckpt_list(const char *out_dir, long *steps, size_t cap) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", out_dir);
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long st;
        char tail;
        if (sscanf(e->d_name, "step-%ld%c", &st, &tail) != 1) continue;
        char p[4500];
        snprintf(p, sizeof p, "%s/%s/trainer_state.json", dir, e->d_name);
        if (!gptc_file_exists(p)) continue;
        if (n < cap) steps[n++] = st;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && steps[j - 1] > steps[j]; j--) {
            long t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    return n;
}

/* Keeps the newest keep_last checkpoints and the best one. Each is renamed aside before
 * it is removed, so a kill never leaves a half-removed step-N; step-N directories
 * without trainer_state.json (what earlier versions left when killed while pruning)
 * and the temps of dead processes are removed too. */
void gptc_ckpt_prune(const gptc_train_opts *o, long best_step) {
    long steps[4096];
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", o->out_dir);
    gptc_dir_clean_stale(dir, 1);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            long st;
            char tail, p[4600];
            if (sscanf(e->d_name, "step-%ld%c", &st, &tail) != 1) continue;
            snprintf(p, sizeof p, "%s/%s/trainer_state.json", dir, e->d_name);
            if (gptc_file_exists(p)) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            gptc_remove_dir_atomic(NULL, p);
        }
        closedir(d);
    }
    size_t n = gptc_ckpt_list(o->out_dir, steps, 4096);
    int keep = o->keep_last > 0 ? o->keep_last : 1;
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        if (steps[i] == best_step) continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/checkpoints/step-%ld", o->out_dir, steps[i]);
        gptc_remove_dir_atomic(NULL, p);
    }
}

gptc_status gptc_run_trim_metrics(gptc_ctx *ctx, const char *path, long step) {
    char *text;
    size_t size;
    if (!gptc_file_exists(path)) return GPTC_OK;
    struct stat lst;
    if (!lstat(path, &lst) && S_ISLNK(lst.st_mode)) /* never read or keep what a planted link points to */
        return gptc_fail(ctx, GPTC_EIO, "%s: is a symbolic link; refusing to write through it", path);
    gptc_status s = gptc_file_read(ctx, path, &text, &size);
    if (s) return s;
    size_t keep = 0;
    for (char *p = text; p < text + size;) {
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (!nl) break; /* a partial last line from a killed run */
        long st;
        if (sscanf(p, "{\"step\": %ld", &st) != 1 || st > step) break;
        keep = (size_t)(nl + 1 - text);
        p = nl + 1;
    }
    gptc_iovec part = {text, keep};
    s = gptc_file_write_atomic(ctx, path, &part, 1);
    free(text);
    return s;
}

gptc_status gptc_run_write_model(gptc_ctx *ctx, const gptc_train_opts *o, const char *src_dir, char *out,
                                      size_t cap) {
    char p[4600];
    snprintf(out, cap, "%s/model", o->out_dir);
    gptc_dir_clean_stale(o->out_dir, 1);
    /* swapped in with RENAME_EXCHANGE: there is always an OUT/model, old or new */
    gptc_outdir od;
    gptc_status s = gptc_outdir_begin(ctx, &od, out, gptc_model_dir_names);
    if (s) return s;
    s = gptc_dir_copy_files(ctx, src_dir, od.tmp);
    if (!s) {
        snprintf(p, sizeof p, "%s/optimizer.safetensors", od.tmp);
        unlink(p);
        snprintf(p, sizeof p, "%s/trainer_state.json", od.tmp);
        unlink(p);
        return gptc_outdir_commit(ctx, &od);
    }
    gptc_outdir_abort(&od);
    return s;
}

/* ------------------------------------------------------------------ run.json */

static const char *const sched_names[] = {"constant", "linear", "cosine"};

/* The trainer's options under the names of gptc train's flags, then the caller's
 * (o->run_options: the rest of the command line). With the caller's own data source
 * there is no data directory, loader or sample length: the caller's options say what
 * the data is. */
static json_t *opts_json(const gptc_train_opts *o) {
    json_t *j = json_object();
    if (!o->data) {
        json_object_set_new(j, "data", json_string(o->data_dir));
        json_object_set_new(j, "seq_len", json_integer(o->seq_len));
        json_object_set_new(j, "loader", json_string(o->sequential ? "sequential" : "random"));
        json_object_set_new(j, "sample_tokens", json_integer(o->sample_tokens));
    }
    json_object_set_new(j, "batch_size", json_integer(o->batch_size));
    json_object_set_new(j, "grad_accum", json_integer(o->grad_accum));
    json_object_set_new(j, "max_steps", json_integer(o->max_steps));
    json_object_set_new(j, "epochs", json_real(o->epochs));
    json_object_set_new(j, "lr_schedule", json_string(sched_names[o->sched.kind]));
    json_object_set_new(j, "lr", json_real(o->sched.lr));
    json_object_set_new(j, "min_lr", json_real(o->sched.min_lr));
    json_object_set_new(j, "warmup_steps", json_integer(o->sched.warmup));
    json_object_set_new(j, "weight_decay", json_real(o->weight_decay));
    json_object_set_new(j, "beta1", json_real(o->beta1));
    json_object_set_new(j, "beta2", json_real(o->beta2));
    json_object_set_new(j, "eps", json_real(o->eps));
    json_object_set_new(j, "grad_clip", json_real(o->grad_clip));
    json_object_set_new(j, "dropout", o->dropout >= 0 ? json_real(o->dropout) : json_null()); /* null: the model's */
    json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(j, "eval_every", json_integer(o->eval_every));
    json_object_set_new(j, "eval_batches", json_integer(o->eval_batches));
    json_object_set_new(j, "save_every", json_integer(o->save_every));
    json_object_set_new(j, "keep_last", json_integer(o->keep_last));
    json_object_set_new(j, "patience", json_integer(o->patience));
    json_object_set_new(j, "zero", json_integer(o->zero));
    json_t *x = o->run_options ? json_loads(o->run_options, 0, NULL) : NULL;
    if (json_is_object(x)) json_object_update_missing(j, x);
    json_decref(x);
    return j;
}

gptc_status gptc_train_opts_save(gptc_ctx *ctx, const gptc_train_opts *o, const char *path) {
    return write_json(ctx, path, opts_json(o));
}

char *gptc_train_opts_text(const gptc_train_opts *o) {
    json_t *j = opts_json(o);
    char *t = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return t;
}

gptc_status gptc_train_opts_load(gptc_ctx *ctx, const char *path, gptc_train_opts *o, char *data_buf, size_t data_cap) {
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%d: %s", path, err.line, err.text);
    gptc_status s = GPTC_OK;
    /* the ranges the command line accepts (train_cli.c): a run.json edited by hand or
     * damaged must not hand the trainer a value it would never get otherwise */
#define INT(k, field, lo, hi) do { key = k; json_t *v = json_object_get(j, k); \
        if (!json_is_integer(v) || json_integer_value(v) < (lo) || json_integer_value(v) > (hi)) goto bad; \
        field = json_integer_value(v); } while (0)
#define NUM(k, field, lo, hi) do { key = k; json_t *v = json_object_get(j, k); \
        if (!json_is_number(v) || !(json_number_value(v) >= (lo) && json_number_value(v) <= (hi))) goto bad; \
        field = json_number_value(v); } while (0)
    const char *key = "data";
    json_t *d = json_object_get(j, "data");
    if (!json_is_string(d) || json_string_length(d) + 1 > data_cap || strlen(json_string_value(d)) != json_string_length(d))
        goto bad;
    memcpy(data_buf, json_string_value(d), json_string_length(d) + 1);
    o->data_dir = data_buf;
    INT("batch_size", o->batch_size, 1, 1 << 20);
    INT("seq_len", o->seq_len, 1, 1 << 20);
    INT("grad_accum", o->grad_accum, 1, 1 << 20);
    INT("max_steps", o->max_steps, 0, LONG_MAX);
    NUM("epochs", o->epochs, 0, 1e9);
    NUM("lr", o->sched.lr, 0, 1e3);
    NUM("min_lr", o->sched.min_lr, 0, 1e3);
    INT("warmup_steps", o->sched.warmup, 0, LONG_MAX);
    NUM("weight_decay", o->weight_decay, 0, FLT_MAX);
    NUM("beta1", o->beta1, 0, 1);
    NUM("beta2", o->beta2, 0, 1);
    NUM("eps", o->eps, 0, 1);
    NUM("grad_clip", o->grad_clip, 0, FLT_MAX);
    if (json_is_null(json_object_get(j, "dropout"))) o->dropout = -1;
    else NUM("dropout", o->dropout, -1, 1);
    key = "seed"; /* any uint64_t (saved as its int64_t bits) */
    if (!json_is_integer(json_object_get(j, "seed"))) goto bad;
    o->seed = (uint64_t)json_integer_value(json_object_get(j, "seed"));
    INT("eval_every", o->eval_every, 0, INT_MAX);
    INT("eval_batches", o->eval_batches, 1, INT_MAX);
    INT("save_every", o->save_every, 0, INT_MAX);
    INT("keep_last", o->keep_last, 1, INT_MAX);
    INT("patience", o->patience, 0, INT_MAX);
    /* sample_tokens and loader are written only for token shards (a run with its own data
     * source, as BERT pre-training, has neither: the defaults stay) */
    if (json_object_get(j, "sample_tokens")) INT("sample_tokens", o->sample_tokens, 0, 1 << 20);
    /* the open ends of the command line's ranges */
    key = o->beta1 >= 1 ? "beta1" : o->beta2 >= 1 ? "beta2" : !(o->eps > 0) ? "eps" : o->dropout >= 1 ? "dropout" : NULL;
    if (key) goto bad;
    {
        key = "lr_schedule";
        json_t *v = json_object_get(j, "lr_schedule");
        if (!json_is_string(v) || !gptc_schedule_parse(json_string_value(v), &o->sched.kind)) goto bad;
        key = "loader";
        v = json_object_get(j, "loader");
        if (v && !json_is_string(v)) goto bad;
        if (v) o->sequential = !strcmp(json_string_value(v), "sequential");
    }
#undef INT
#undef NUM
    json_decref(j);
    return s;
bad:
    json_decref(j);
    return gptc_fail(ctx, GPTC_EFORMAT, "%s: field %s is missing, malformed or out of range", path, key);
}


/* ------------------------------------------------------------------ --config FILE */

gptc_status gptc_run_config_args(gptc_ctx *ctx, const char *path, char ***args, size_t *n_args) {
    *args = NULL;
    *n_args = 0;
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!j) return gptc_fail(ctx, GPTC_EFORMAT, "%s:%d: invalid JSON: %s", path, err.line, err.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: expected a JSON object of options ({\"lr\": 0.001, ...})", path);
    }
    size_t cap = 2 * json_object_size(j);
    char **a = gptc_calloc(ctx, cap ? cap : 1, sizeof *a, "config options");
    gptc_status s = a ? GPTC_OK : GPTC_ENOMEM;
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (s) break;
        size_t kl = strlen(key);
        int ok = kl > 0 && kl < 64;
        for (size_t i = 0; i < kl && ok; i++)
            ok = (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') || key[i] == '_' || key[i] == '-';
        if (!ok) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"%.80s\" is not an option name (lower-case letters, digits, _ "
                                             "and -)", path, key);
            break;
        }
        char val[64];
        const char *text = NULL;
        if (json_is_false(v) || json_is_null(v)) continue; /* the default */
        if (json_is_true(v)) text = NULL;
        else if (json_is_integer(v)) snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v)), text = val;
        else if (json_is_real(v)) snprintf(val, sizeof val, "%.17g", json_real_value(v)), text = val;
        else if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) text = json_string_value(v);
        else {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s: field %s: expected a string, a number, true, false or null", path, key);
            break;
        }
        char *flag = gptc_alloc(ctx, kl + 3, "config options");
        char *value = text ? gptc_alloc(ctx, strlen(text) + 1, "config options") : NULL;
        if (!flag || (text && !value)) {
            gptc_free(flag);
            s = GPTC_ENOMEM;
            break;
        }
        flag[0] = flag[1] = '-';
        for (size_t i = 0; i <= kl; i++) flag[i + 2] = key[i] == '_' ? '-' : key[i];
        a[n++] = flag;
        if (text) {
            memcpy(value, text, strlen(text) + 1);
            a[n++] = value;
        }
    }
    json_decref(j);
    if (s) {
        gptc_run_config_args_free(a, n);
        return s;
    }
    *args = a;
    *n_args = n;
    return GPTC_OK;
}

void gptc_run_config_args_free(char **args, size_t n) {
    if (!args) return;
    for (size_t i = 0; i < n; i++) gptc_free(args[i]);
    gptc_free(args);
}
