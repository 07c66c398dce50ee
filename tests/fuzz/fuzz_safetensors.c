/* fuzz_safetensors.c: libFuzzer target for the safetensors reader (gptc_st_open) and the
 * float conversion of every tensor it accepts. Built by `make fuzz`:
 *   build/fuzz/fuzz_safetensors tests/fuzz/corpus_safetensors
 * Inputs that once crashed go into tests/fuzz/corpus_safetensors/, which
 * tests/test_safetensors.c replays on every `make test`. */
#define _GNU_SOURCE
#include "gptc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* gptc_st_open reads from a path (it memory-maps): write the input to a private file */
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_st.%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    gptc_safetensors st;
    if (gptc_st_open(ctx, path, &st) == GPTC_OK) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            const gptc_st_tensor *t = &st.tensors[i];
            float *buf = malloc((t->numel ? t->numel : 1) * sizeof(float));
            if (buf) gptc_st_to_f32(t, buf);
            free(buf);
            if (gptc_st_find(&st, t->name) == NULL) abort(); /* every recorded name is findable */
        }
        gptc_st_close(&st);
    } else if (!strstr(gptc_errmsg(ctx), path)) {
        abort(); /* every error names the file */
    }
    gptc_ctx_free(ctx);
    unlink(path);
    return 0;
}
