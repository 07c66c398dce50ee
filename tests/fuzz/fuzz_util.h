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
/* GPT-2's byte-to-code-point map (bytes_to_unicode) */
static inline unsigned fuzz_byte_cp(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (unsigned)b;
    int n = 0;
    for (int o = 0; o < b; o++) n += !((o >= '!' && o <= '~') || (o >= 0xA1 && o <= 0xAC) || (o >= 0xAE && o <= 0xFF));
    return 256u + (unsigned)n;
}

/* A tiny byte-level tokenizer.json (the 256 bytes, three merges, <|endoftext|>; markers:
 * also <|im_start|> and <|im_end|>), written and loaded once. */
static inline const gptc_tokenizer *fuzz_tiny_tokenizer(int markers) {
    static gptc_tokenizer *tok[2];
    if (tok[markers]) return tok[markers];
    char *j = malloc(1 << 14), dir[128], path[160];
    if (!j) abort();
    size_t n = (size_t)sprintf(j, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    for (int b = 0; b < 256; b++) n += (size_t)sprintf(j + n, "\"\\u%04x\": %d, ", fuzz_byte_cp(b), b);
    n += (size_t)sprintf(j + n, "\"he\": 256, \"\\u0120t\": 257, \"ll\": 258, \"<|endoftext|>\": 259%s}, "
                                "\"merges\": [\"h e\", \"\\u0120 t\", \"l l\"]}, "
                                "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}, "
                                "\"added_tokens\": [{\"id\": 259, \"content\": \"<|endoftext|>\"}%s]}",
                         markers ? ", \"<|im_start|>\": 260, \"<|im_end|>\": 261" : "",
                         markers ? ", {\"id\": 260, \"content\": \"<|im_start|>\"}, {\"id\": 261, \"content\": \"<|im_end|>\"}"
                                 : "");
    snprintf(dir, sizeof dir, "%s/tok%d", fuzz_dir(), markers);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    mkdir(dir, 0700);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(j, 1, n, f) != n || fclose(f)) abort();
    free(j);
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx || gptc_tokenizer_load(ctx, dir, &tok[markers])) {
        fprintf(stderr, "fuzz tokenizer: %s\n", ctx ? gptc_errmsg(ctx) : "out of memory");
        abort();
    }
    gptc_ctx_free(ctx);
    unlink(path);
    rmdir(dir);
    return tok[markers];
}

/* Writes DIR/tokenizer.json of a tiny joint BPE for translation: the 256 bytes, three
 * merges, </s> 259, <pad> 260; DIR is fuzz_dir()/name (created). */
static inline void fuzz_mt_tokenizer_write(const char *name, char *dir, size_t cap, char *path, size_t pcap) {
    char *j = malloc(1 << 14);
    if (!j) abort();
    size_t n = (size_t)sprintf(j, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    for (int b = 0; b < 256; b++) n += (size_t)sprintf(j + n, "\"\\u%04x\": %d, ", fuzz_byte_cp(b), b);
    n += (size_t)sprintf(j + n, "\"he\": 256, \"\\u0120t\": 257, \"ll\": 258, \"</s>\": 259, \"<pad>\": 260}, "
                                "\"merges\": [\"h e\", \"\\u0120 t\", \"l l\"]}, "
                                "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}, "
                                "\"added_tokens\": [{\"id\": 259, \"content\": \"</s>\"}, {\"id\": 260, \"content\": \"<pad>\"}]}");
    snprintf(dir, cap, "%s/%s", fuzz_dir(), name);
    snprintf(path, pcap, "%s/tokenizer.json", dir);
    mkdir(dir, 0700);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(j, 1, n, f) != n || fclose(f)) abort();
    free(j);
}

/* That tokenizer as a translation model's (gptc_mt_tokenizer_load), made once. */
static inline const gptc_mt_tokenizer *fuzz_mt_tokenizer(void) {
    static gptc_mt_tokenizer *t;
    if (t) return t;
    char dir[128], path[160];
    fuzz_mt_tokenizer_write("mt_tok", dir, sizeof dir, path, sizeof path);
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx || gptc_mt_tokenizer_load(ctx, dir, &t)) {
        fprintf(stderr, "fuzz translation tokenizer: %s\n", ctx ? gptc_errmsg(ctx) : "out of memory");
        abort();
    }
    gptc_ctx_free(ctx);
    unlink(path);
    rmdir(dir);
    return t;
}

#endif
