/* fuzz_lora.c: libFuzzer target for a LoRA adapter directory (gptc_model_lora_load):
 * adapter_config.json and adapter_model.safetensors, split at the input's first NUL after
 * a flags byte (bits 0-1: the model's head, LM / classification with 3 labels / QA),
 * attached to a tiny model built here (2 layers, n_embd 8). What loads holds finite
 * weights and merges; every error names the file. Corpus: tests/fuzz/corpus_lora,
 * replayed by tests/test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include <math.h>

FUZZ_TARGET(lora) {
    static const char *const names[] = {"adapter_config.json", "adapter_model.safetensors", NULL};
    if (size < 1) return 0;
    int head = (data[0] & 3) % 3;
    const uint8_t *a = data + 1, *nul = memchr(a, 0, size - 1);
    size_t na = nul ? (size_t)(nul - a) : size - 1;
    const uint8_t *b = nul ? nul + 1 : a + na;
    char p1[128], p2[128];
    if (fuzz_write(names[0], a, na, p1, sizeof p1) || fuzz_write(names[1], b, (size_t)(data + size - b), p2, sizeof p2))
        return 0;
    /* the scalar kernels, one thread: no BLAS backend to probe for every input */
    gptc_ctx_params cp = gptc_ctx_default_params();
    cp.n_threads = 1;
    cp.reference_kernels = 1;
    gptc_ctx *ctx = gptc_ctx_new(&cp);
    if (!ctx) return 0;
    gptc_config c = gptc_config_default();
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 8;
    c.n_positions = 16;
    c.vocab_size = 64;
    c.bos_token_id = c.eos_token_id = 0;
    gptc_model *m = NULL;
    if (gptc_model_new(ctx, &c, 1, &m)) abort();
    if (head && gptc_model_set_head(ctx, m, head, 3, NULL, 2)) abort();
    gptc_status s = gptc_model_lora_load(ctx, m, fuzz_dir());
    if (!s) {
        if (!gptc_model_has_lora(m)) abort();
        for (size_t i = 0; i < gptc_model_n_tensors(m); i++) {
            gptc_tensor_info t;
            if (gptc_model_tensor(m, i, &t)) abort();
            for (size_t k = 0; t.data && k < t.numel; k++)
                if (!isfinite(t.data[k])) abort(); /* NaN and Inf weights are refused */
        }
        if (gptc_model_lora_merge(ctx, m) || gptc_model_has_lora(m)) abort();
    } else if (s != GPTC_ENOMEM && !strstr(gptc_errmsg(ctx), names[0]) && !strstr(gptc_errmsg(ctx), names[1])) {
        abort(); /* every error names the file */
    }
    gptc_model_free(m);
    gptc_ctx_free(ctx);
    fuzz_clean(names);
    return 0;
}
