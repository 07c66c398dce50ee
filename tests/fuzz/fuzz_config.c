/* fuzz_config.c: libFuzzer target for config.json (gptc_config_load_json) and
 * generation_config.json (gptc_generation_config_load): the first byte picks which.
 * Every error names the file. Corpus: tests/fuzz/corpus_config, replayed by
 * tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "model/model.h"

FUZZ_TARGET(config) {
    static const char *const names[] = {"config.json", "generation_config.json", NULL};
    if (size < 1) return 0;
    int gen = data[0] & 1;
    char path[128];
    if (fuzz_write(names[gen], data + 1, size - 1, path, sizeof path)) return 0;
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_status s;
    if (gen) {
        gptc_gen_params p = gptc_gen_default_params();
        s = gptc_generation_config_load(ctx, fuzz_dir(), &p);
        if (!s) gptc_gen_params_validate(ctx, &p);
    } else {
        gptc_config c;
        s = gptc_config_load_json(ctx, path, &c);
        if (!s && gptc_config_validate(ctx, &c)) abort(); /* what loads is valid */
    }
    if (s && !strstr(gptc_errmsg(ctx), names[gen])) abort(); /* every error names the file */
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
