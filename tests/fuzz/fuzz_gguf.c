/* fuzz_gguf.c: libFuzzer target for GGUF files (io/gguf.c's reader and the model read
 * from one, gguf_model.c): the input is written as a .gguf file and loaded as a model
 * path. Every error names the file; what loads has a config that validates. Corpus:
 * tests/fuzz/corpus_gguf, replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "io/gguf.h"

FUZZ_TARGET(gguf) {
    static const char *const names[] = {"m.gguf", NULL};
    char path[128];
    if (fuzz_write(names[0], data, size, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_gguf g;
    gptc_status s = gptc_gguf_open(ctx, path, &g);
    if (s && !strstr(gptc_errmsg(ctx), path)) abort();
    if (!s) {
        for (size_t i = 0; i < g.n_tensors; i++) /* every tensor lies inside the file */
            if (g.tensors[i].data < g.map.data || g.tensors[i].data + g.tensors[i].nbytes > g.map.data + g.map.size)
                abort();
        gptc_gguf_close(&g);
        gptc_model *m = NULL;
        s = gptc_model_load(ctx, path, &m);
        if (s && !strstr(gptc_errmsg(ctx), path)) abort();
        if (!s && gptc_config_validate(ctx, gptc_model_config(m))) abort();
        gptc_model_free(m);
    }
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
