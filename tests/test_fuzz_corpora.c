/* test_fuzz_corpora.c: replays the corpus of every libFuzzer target of tests/fuzz/
 * (each file, seeds and the inputs that once crashed) through the target itself, built
 * in with GPTC_FUZZ_REPLAY (a target abort()s on a broken invariant; ASan and UBSan
 * report the rest). The safetensors corpus is replayed by test_safetensors.c. */
#define GPTC_FUZZ_REPLAY 1
#include "harness.h"
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_tokenizer.c"
#include "fuzz/fuzz_data.c"
#include "fuzz/fuzz_run.c"
#include "fuzz/fuzz_lora.c"
#include "fuzz/fuzz_sft.c"
#include "fuzz/fuzz_hub.c"
#include "fuzz/fuzz_spm.c"
#include "fuzz/fuzz_serve.c"
#include "fuzz/fuzz_pretrain.c"
#include "fuzz/fuzz_wordpiece.c"
#include "fuzz/fuzz_gguf.c"
#include "fuzz/fuzz_wp_train.c"
#include "fuzz/fuzz_mt.c"
#include <dirent.h>

static void replay(const char *name, int (*fn)(const uint8_t *, size_t)) {
    char dir[256], msg[300];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus_%s", name);
    DIR *d = opendir(dir);
    snprintf(msg, sizeof msg, "fuzz corpus %s present", name);
    CHECK(msg, d != NULL, "%s missing (run from the repo root)", dir);
    if (!d) return;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        uint8_t *buf = malloc(1 << 20);
        size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
        fclose(f);
        if (buf) fn(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    snprintf(msg, sizeof msg, "fuzz corpus %s replayed", name);
    CHECK(msg, n > 0, "%d inputs", n);
}

int main(void) {
    replay("config", fuzz_config);
    replay("tokenizer", fuzz_tokenizer);
    replay("data", fuzz_data);
    replay("run", fuzz_run);
    replay("lora", fuzz_lora);
    replay("sft", fuzz_sft);
    replay("hub", fuzz_hub);
    replay("spm", fuzz_spm);
    replay("serve", fuzz_serve);
    replay("pretrain", fuzz_pretrain);
    replay("wordpiece", fuzz_wordpiece);
    replay("gguf", fuzz_gguf);
    replay("wp_train", fuzz_wp_train);
    replay("mt", fuzz_mt);
    rmdir(fuzz_dir());
    return test_exit();
}
