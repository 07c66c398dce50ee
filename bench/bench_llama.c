/* bench_llama.c: llama.cpp's speed on a GGUF file, measured as bench_decode.c measures
 * gptc's (and as llama-bench does): prompt processing (one llama_decode of a 512-token
 * prompt, n_batch = n_ubatch = the prompt, best of 3 after a warm-up) and batch-1 greedy
 * decoding after a 16-token prompt (argmax of the logits included, one warm-up step not
 * timed). Built by bench/bench_llama.sh against the llama.h of the llama.cpp source that
 * npm's node-llama-cpp ships (its git bundle) and linked with that package's prebuilt CPU
 * libraries (libllama, libggml; the CPU variant ggml picks for this machine is loaded
 * from --libdir). Prints one RESULT line with the fields of bench_decode's:
 *   RESULT impl=llama.cpp prefill_tok_s=.. decode_tok_s=.. weights_mb=.. read_gbs=..
 *          decode_gbs=.. bw_frac=.. cpu_variant=.. build=bNUMBER-COMMIT
 * weights_mb: the bytes of the file's tensors read per token (the position table: one row;
 * the token table: one row when the file has a separate output head).
 * usage: bench_llama --model FILE.gguf --libdir DIR [--prompt 512] [--steps 64]
 *                    [--threads N] [--bw GB/s] */
#define _DEFAULT_SOURCE
#include "ggml-backend.h"
#include "gguf.h"
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static void die(const char *what) {
    fprintf(stderr, "bench_llama: %s\n", what);
    exit(1);
}

/* Tensor bytes read by one decoding step: every tensor once, one row of position_embd,
 * and one row of token_embd when the file has a separate output (the head reads output;
 * without it the tied head reads all of token_embd). */
static double bytes_per_token(const char *path) {
    struct ggml_context *g = NULL;
    struct gguf_init_params ip = {true, &g};
    struct gguf_context *gc = gguf_init_from_file(path, ip);
    if (!gc) die("cannot read the GGUF file's tensor table");
    int has_output = gguf_find_tensor(gc, "output.weight") >= 0;
    double b = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(gc); i++) {
        double sz = (double)gguf_get_tensor_size(gc, i);
        const char *name = gguf_get_tensor_name(gc, i);
        if (!strcmp(name, "position_embd.weight") || (has_output && !strcmp(name, "token_embd.weight"))) {
            struct ggml_tensor *t = ggml_get_tensor(g, name);
            if (t && t->ne[1] > 0) sz /= (double)t->ne[1];
        }
        b += sz;
    }
    gguf_free(gc);
    ggml_free(g);
    return b;
}

/* Which of ggml's per-ISA CPU libraries was loaded (from this process's mappings). */
static void cpu_variant(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "libggml-cpu-");
        if (p) {
            p += strlen("libggml-cpu-");
            size_t n = strcspn(p, ".\n");
            snprintf(out, cap, "%.*s", (int)n, p);
            break;
        }
    }
    fclose(f);
}

/* llama.cpp's build number and commit, from the package's libllama-common (its
 * LLAMA_BUILD_NUMBER and LLAMA_COMMIT), "unknown" when it does not have them. */
static void build_info(const char *libdir, char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    char p[4096];
    snprintf(p, sizeof p, "%s/libllama-common.so", libdir);
    void *h = dlopen(p, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    const int *num = dlsym(h, "LLAMA_BUILD_NUMBER");
    const char *const *commit = dlsym(h, "LLAMA_COMMIT");
    if (num && commit && *commit) snprintf(out, cap, "b%d-%s", *num, *commit);
    dlclose(h);
}

/* Read bandwidth as bench_decode measures it is taken from --bw (bench_llama.sh passes
 * ceiling's or bench_decode's); without it the fraction is not printed. */
int main(int argc, char **argv) {
    const char *path = NULL, *libdir = NULL;
    int prompt = 512, steps = 64, threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double bw = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--model")) path = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--libdir")) libdir = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--prompt")) prompt = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--steps")) steps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--bw")) bw = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_llama --model FILE.gguf --libdir DIR [--prompt N] [--steps N] [--threads N] "
                            "[--bw GB/s]\n");
            return 2;
        }
    }
    if (!path || !libdir) die("--model and --libdir are required");
    if (prompt < 16 || steps < 1 || threads < 1) die("--prompt is at least 16, --steps and --threads at least 1");
    llama_log_set(quiet, NULL);
    ggml_backend_load_all_from_path(libdir);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) die("llama.cpp could not load the model");
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(prompt > 16 + steps + 1 ? prompt : 16 + steps + 1);
    cp.n_ctx = (cp.n_ctx + 255) & ~255u;
    cp.n_batch = cp.n_ubatch = (uint32_t)prompt;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.no_perf = true;
    struct llama_context *lc = llama_init_from_model(model, cp);
    if (!lc) die("llama.cpp could not create a context");
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int V = llama_vocab_n_tokens(vocab);
    llama_token *toks = malloc(sizeof(llama_token) * (size_t)prompt);
    if (!toks) die("out of memory");
    for (int i = 0; i < prompt; i++) toks[i] = (llama_token)((i * 7919 + 13) % V);
    llama_memory_t mem = llama_get_memory(lc);

    /* prefill: a warm-up, then the best of 3 */
    double best_pf = 1e30;
    for (int r = 0; r < 4; r++) {
        llama_memory_clear(mem, true);
        double t0 = now();
        if (llama_decode(lc, llama_batch_get_one(toks, prompt))) die("llama_decode failed (prefill)");
        llama_synchronize(lc);
        double dt = now() - t0;
        if (r > 0 && dt < best_pf) best_pf = dt;
    }
    /* decode after a 16-token prompt */
    llama_memory_clear(mem, true);
    if (llama_decode(lc, llama_batch_get_one(toks, 16))) die("llama_decode failed (prompt)");
    double t0 = 0;
    for (int i = 0; i <= steps; i++) {
        if (i == 1) t0 = now();
        const float *lg = llama_get_logits_ith(lc, -1);
        if (!lg) die("no logits");
        llama_token best = 0;
        for (int v = 1; v < V; v++)
            if (lg[v] > lg[best]) best = v;
        if (llama_decode(lc, llama_batch_get_one(&best, 1))) die("llama_decode failed (step)");
    }
    llama_synchronize(lc);
    double dec = (now() - t0) / steps;
    double wb = bytes_per_token(path), got = wb / dec / 1e9;
    char var[64], build[128];
    cpu_variant(var, sizeof var);
    build_info(libdir, build, sizeof build);
    printf("llama.cpp: %s, %d threads, flash attention %s, CPU library %s: prefill %d tokens %.1f ms, "
           "decode %.2f ms/token\n", path, threads, llama_flash_attn_type_name(cp.flash_attn_type), var, prompt,
           best_pf * 1e3, dec * 1e3);
    printf("RESULT impl=llama.cpp prefill_tok_s=%.1f decode_tok_s=%.2f weights_mb=%.0f read_gbs=%.1f decode_gbs=%.1f "
           "bw_frac=%.2f cpu_variant=%s build=%s\n", prompt / best_pf, 1.0 / dec, wb / 1e6, bw, got, bw > 0 ? got / bw : 0.0,
           var, build);
    free(toks);
    llama_free(lc);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
