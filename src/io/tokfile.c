/* tokfile.c: see tokfile.h. */
#include "../core/core.h"
#include "../core/core.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

gptc_status gptc_tokens_read_text(gptc_ctx *ctx, const char *path, long vocab_size, int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    char *text = NULL;
    size_t size = 0;
    gptc_status s;
    if (!strcmp(path, "-")) s = gptc_file_read(ctx, "/dev/stdin", &text, &size);
    else s = gptc_file_read(ctx, path, &text, &size);
    if (s) return s;
    /* at most one id per two bytes ("1 2 3") */
    size_t cap = size / 2 + 1, count = 0;
    int32_t *out = gptc_alloc(ctx, cap * sizeof *out, "token ids");
    if (!out) {
        free(text);
        return GPTC_ENOMEM;
    }
    long line = 1;
    const char *p = text, *end = text + size;
    while (p < end) {
        if (*p == '\n') {
            line++;
            p++;
            continue;
        }
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *q = p;
        while (q < end && !isspace((unsigned char)*q)) q++;
        char word[32];
        size_t wl = (size_t)(q - p);
        int ok = wl < sizeof word;
        long v = 0;
        if (ok) {
            memcpy(word, p, wl);
            word[wl] = 0;
            char *e;
            errno = 0;
            v = strtol(word, &e, 10);
            ok = !errno && *e == 0 && (word[0] == '-' || isdigit((unsigned char)word[0]));
        }
        if (!ok) {
            s = gptc_fail(ctx, GPTC_EFORMAT, "%s:%ld: '%.*s' is not a token id (expected whitespace-separated integers)",
                          path, line, (int)(wl > 40 ? 40 : wl), p);
            break;
        }
        if (v < 0 || v > INT32_MAX || (vocab_size > 0 && v >= vocab_size)) {
            s = gptc_fail(ctx, GPTC_ERANGE, "%s:%ld: token id %ld is out of range [0, %ld)", path, line, v,
                          vocab_size > 0 ? vocab_size : (long)INT32_MAX);
            break;
        }
        out[count++] = (int32_t)v;
        p = q;
    }
    free(text);
    if (s) {
        gptc_free(out);
        return s;
    }
    *ids = out;
    *n = count;
    return GPTC_OK;
}
