/* bench_decode.c: inference speed of gptc's KV-cache session on random GPT-2 weights:
 * prompt processing (tokens/s for a 512-token prompt) and batch-1 decoding (tokens/s, greedy
 * argmax included), against the memory-bandwidth bound of decoding (every weight read once
 * per token). Measures the machine's read bandwidth itself (at the decoding thread count,
 * vector reads over several streams, best of 5: read_gbs), or takes --bw GB/s. Prints one RESULT line:
 *   RESULT impl=gptc config=NAME prefill_tok_s=.. decode_tok_s=.. weights_mb=.. read_gbs=..
 *          decode_gbs=.. bw_frac=..
 * usage: bench_decode [--preset gpt2|gpt2-medium] [--prompt 512] [--steps 64] [--bw GB/s]
 *                     [--dtype f32|bf16|f16|q8_0|q4_0|q4_k] [--threads N (0: all)]
 *                     [--model DIR|FILE.gguf]
 * q8_0/q4_0/q4_k: the model as `gptc quantize` writes it (every matrix, wte and the tied
 * head included, in ggml's blocks), loaded from a temporary directory. --model: that model
 * as gptc loads it (a directory or a GGUF file; quantized weights kept as stored, 16-bit
 * ones with --dtype bf16|f16 as `gptc generate --dtype` keeps them) instead of
 * random weights of a preset; the bytes read per token are then its weights as kept in
 * memory, one row of the position table. */
#define _DEFAULT_SOURCE
#include "bench_args.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read bandwidth at the thread count decoding runs with (nt), as a ceiling: each thread
 * sums its share of a 512 MiB array (far larger than the caches), the share it wrote
 * first, in 32-byte vectors over 4 separate ranges (hardware-prefetch streams) with two
 * accumulators each (8 in registers), so neither the adds' latency nor one prefetch stream
 * limits the rate; the best of 5 passes. (One float sum, each add waiting on the last,
 * measured that latency: 6.5 GB/s at 1 thread where decoding f32 weights read 10.9.) */
typedef float rb_vec __attribute__((vector_size(32)));
typedef float rb_vec_u __attribute__((vector_size(32), aligned(4), may_alias)); /* unaligned loads */
#define RB(p) (*(const rb_vec_u *)(p))
/* The loop compiled for AVX-512F, AVX2 and the baseline; read_share takes the one of the
 * CPU level gptc runs (gptc_cpu_level: GPTC_CPU caps it as it caps the kernels). */
static inline __attribute__((always_inline)) float read_share_body(const float *a, size_t n) {
    rb_vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0};
    size_t len = n / 4 / 16 * 16; /* floats per stream (4 of them), two vectors a step */
    const float *p0 = a, *p1 = a + len, *p2 = a + 2 * len, *p3 = a + 3 * len;
    for (size_t i = 0; i < len; i += 16) {
        s0 += RB(p0 + i), s1 += RB(p0 + i + 8), s2 += RB(p1 + i), s3 += RB(p1 + i + 8);
        s4 += RB(p2 + i), s5 += RB(p2 + i + 8), s6 += RB(p3 + i), s7 += RB(p3 + i + 8);
    }
    rb_vec t = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    float r = 0;
    for (int j = 0; j < 8; j++) r += t[j];
    return r;
}

__attribute__((target("avx512f"))) static float read_share_512(const float *a, size_t n) {
    return read_share_body(a, n);
}
__attribute__((target("avx2"))) static float read_share_256(const float *a, size_t n) {
    return read_share_body(a, n);
}
static float read_share(const float *a, size_t n) {
    const char *level = gptc_cpu_level();
    if (level && !strcmp(level, "avx512")) return read_share_512(a, n);
    if (level && !strcmp(level, "avx2")) return read_share_256(a, n);
    return read_share_body(a, n);
}

static double read_gbs(int nt) {
    size_t n = (size_t)128 << 20;
    float *a = malloc(n * sizeof(float));
    if (!a) return 0;
    size_t share = n / (size_t)nt;
#pragma omp parallel num_threads(nt)
    {
        size_t i0 = (size_t)omp_get_thread_num() * share;
        for (size_t i = i0; i < i0 + share; i++) a[i] = (float)(i & 1023) * 1e-3f;
    }
    double best = 0, sink = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = omp_get_wtime(), s = 0;
#pragma omp parallel num_threads(nt) reduction(+ : s)
        s += read_share(a + (size_t)omp_get_thread_num() * share, share);
        double dt = omp_get_wtime() - t0, gbs = (double)share * nt * sizeof(float) / dt / 1e9;
        sink += s;
        if (gbs > best) best = gbs;
    }
    free(a);
    return sink == 12345.678 ? 0 : best;
}

int main(int argc, char **argv) {
    gptc_openmp_wait(argv); /* as the gptc program: a short OpenMP spin, then sleep */
    const char *preset = "gpt2", *dtype = "f32", *model_path = NULL;
    int prompt = 512, steps = 64, threads = 0;
    double bw = 0;
    const bench_opt opts[] = {{"--preset", 's', &preset, "gpt2|gpt2-medium"}, {"--prompt", 'i', &prompt, "N"},
                              {"--steps", 'i', &steps, "N"}, {"--bw", 'd', &bw, "GB/s"},
                              {"--dtype", 's', &dtype, "f32|bf16|f16|q8_0|q4_0|q4_k"}, {"--threads", 'i', &threads, "N"},
                              {"--model", 's', &model_path, "DIR|FILE.gguf"}};
    int rc = bench_args(argc, argv, "bench_decode", opts, BENCH_NOPTS(opts));
    if (rc) return rc;
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = threads;
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    gptc_config cfg;
    gptc_model *m;
    if (model_path) {
        gptc_load_params lp = gptc_load_default_params(); /* --dtype bf16|f16: the matrices kept so */
        if (!strcmp(dtype, "bf16") || !strcmp(dtype, "f16")) lp.weight_dtype = strcmp(dtype, "bf16") ? GPTC_F16 : GPTC_BF16;
        if (gptc_model_load_with(ctx, model_path, &lp, &m)) bench_die(ctx, model_path);
        cfg = *gptc_model_config(m);
        preset = model_path;
        dtype = gptc_dtype_name(gptc_model_weight_dtype(m));
    } else {
        if (gptc_config_preset(ctx, preset, &cfg)) bench_die(ctx, "preset");
        if (gptc_model_new(ctx, &cfg, 1, &m)) bench_die(ctx, "model");
    }
    if (prompt < 1 || (prompt > 16 ? prompt : 16) + steps + 1 > cfg.n_positions) bench_die(NULL, "prompt + steps exceed the context");
    gptc_dtype qt = gptc_dtype_parse(dtype);
    int quant = !model_path && (qt == GPTC_Q8_0 || qt == GPTC_Q4_0 || qt == GPTC_Q4_K);
    int lowp = !model_path && strcmp(dtype, "f32") != 0 && !quant;
    double qbytes = 0;
    if (quant) {
        char dir[] = "/tmp/gptc-bench-XXXXXX";
        if (!mkdtemp(dir)) bench_die(NULL, "mkdtemp");
        gptc_quantize_params qp = gptc_quantize_default_params();
        qp.type = qt;
        gptc_quantize_stats st;
        gptc_model *m2;
        if (gptc_model_save_quantized(ctx, m, dir, &qp, &st) || gptc_model_load(ctx, dir, &m2)) bench_die(ctx, "quantized model");
        qbytes = (double)st.weight_bytes - (double)cfg.n_positions * cfg.n_embd * 4.0; /* one row of wpe is read */
        gptc_model_free(m);
        m = m2;
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_decode: could not remove %s\n", dir);
    }
    if (lowp) {
        /* the matrices kept as 16-bit values: through a BF16 file, loaded as stored */
        if (strcmp(dtype, "bf16") && strcmp(dtype, "f16")) bench_die(NULL, "--dtype is f32, bf16 or f16");
        char dir[] = "/tmp/gptc-bench-XXXXXX";
        if (!mkdtemp(dir)) bench_die(NULL, "mkdtemp");
        gptc_load_params lp = gptc_load_default_params();
        lp.weight_dtype = strcmp(dtype, "bf16") ? GPTC_F16 : GPTC_BF16;
        gptc_model *m2;
        if (gptc_model_save(ctx, m, dir, GPTC_BF16) || gptc_model_load_with(ctx, dir, &lp, &m2)) bench_die(ctx, "bf16 model");
        gptc_model_free(m);
        m = m2;
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_decode: could not remove %s\n", dir);
    }
    gptc_session *s;
    if (gptc_session_new(ctx, m, 1, 0, &s)) bench_die(ctx, "session");
    int V = cfg.vocab_size;
    float *logits = malloc(sizeof(float) * (size_t)V);
    int ntok = prompt > 16 ? prompt : 16; /* decoding starts after 16 of them */
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)ntok);
    for (int i = 0; i < ntok; i++) toks[i] = (int32_t)((i * 7919 + 13) % V);

    /* prefill: best of 3 */
    double best_pf = 1e30;
    for (int r = 0; r < 3; r++) {
        gptc_session_reset(s, -1);
        double t0 = omp_get_wtime();
        if (gptc_session_prefill(ctx, s, 0, toks, prompt, logits)) bench_die(ctx, "prefill");
        double dt = omp_get_wtime() - t0;
        if (dt < best_pf) best_pf = dt;
    }
    /* decode after a 16-token prompt: greedy steps, one warm-up step not timed */
    gptc_session_reset(s, -1);
    if (gptc_session_prefill(ctx, s, 0, toks, 16, logits)) bench_die(ctx, "prefill");
    int seq = 0;
    double t0 = 0;
    for (int i = 0; i <= steps; i++) {
        if (i == 1) t0 = omp_get_wtime();
        int32_t best = 0;
        for (int v = 1; v < V; v++)
            if (logits[v] > logits[best]) best = v;
        if (gptc_session_step(ctx, s, &seq, &best, 1, logits)) bench_die(ctx, "step");
    }
    double dec = (omp_get_wtime() - t0) / steps;
    gptc_param_counts pc = gptc_model_param_counts(&cfg);
    /* bytes read per token: every weight except the position table (one row of it);
     * with --dtype bf16/f16 the block matrices take 2 bytes (the tied head reads wte, F32) */
    double C = cfg.n_embd, I = cfg.n_inner > 0 ? cfg.n_inner : 4 * C, mats = cfg.n_layer * (4 * C * C + 2 * C * I);
    double wbytes = ((double)pc.total - (double)cfg.n_positions * cfg.n_embd) * 4.0 - (lowp ? mats * 2.0 : 0.0);
    if (quant) wbytes = qbytes; /* the blocks as stored (scales included), plus the F32 norms and biases */
    if (model_path) wbytes = (double)gptc_model_weight_bytes(m) - (double)(cfg.n_positions - 1) * cfg.n_embd * 4.0;
    double rd = bw > 0 ? bw : read_gbs(gptc_ctx_n_threads(ctx)), got = wbytes / dec / 1e9;
    printf("gptc: %s (%zu params), %d threads, cpu=%s: prefill %d tokens %.1f ms, decode %.2f ms/token\n", preset,
           pc.total, gptc_ctx_n_threads(ctx), gptc_cpu_level(), prompt, best_pf * 1e3, dec * 1e3);
    printf("RESULT impl=gptc config=%s dtype=%s prefill_tok_s=%.1f decode_tok_s=%.2f weights_mb=%.0f read_gbs=%.1f "
           "decode_gbs=%.1f bw_frac=%.2f cpu=%s\n", preset, dtype, prompt / best_pf, 1.0 / dec, wbytes / 1e6, rd, got,
           got / rd, gptc_cpu_level());
    free(logits);
    free(toks);
    gptc_session_free(s);
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
