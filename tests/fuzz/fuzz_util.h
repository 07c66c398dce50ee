/* fuzz_util.h: what the libFuzzer targets share: the entry point (a static function
 * when tests/test_fuzz_corpora.c includes the target to replay its corpus) and a
 * private scratch directory to write the input into (the readers take paths). */
#ifndef GPTC_FUZZ_UTIL_H
#define GPTC_FUZZ_UTIL_H
#define _GNU_SOURCE
#include "gptc.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef GPTC_FUZZ_REPLAY
#define FUZZ_TARGET(name) static int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)                                            \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);    \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/* "/tmp/gptc_fuzz.<pid>", created once */
static const char *fuzz_dir(void) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/gptc_fuzz.%ld", (long)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

/* Writes data[0..n) to fuzz_dir()/name; the path into out. */
static int fuzz_write(const char *name, const void *data, size_t n, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(out, "wb");
    if (!f) return -1;
    if (n) fwrite(data, 1, n, f);
    return fclose(f);
}

/* Removes the files named (NULL-terminated) from fuzz_dir(). */
static void fuzz_clean(const char *const *names) {
    char p[128];
    for (; *names; names++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir(), *names);
        unlink(p);
    }
}
#endif
