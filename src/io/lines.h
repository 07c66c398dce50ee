/* lines.h: iterates the lines of a text buffer that are not blank (only spaces, tabs,
 * CR), counting every line, for the line-oriented readers (JSONL datasets). */
#ifndef GPTC_IO_LINES_H
#define GPTC_IO_LINES_H

#include <stddef.h>
#include <string.h>

typedef struct gptc_lines {
    const char *data;
    size_t size, pos;
    size_t line; /* 1-based number of the line last returned */
} gptc_lines;

static inline gptc_lines gptc_lines_of(const char *data, size_t size) {
    gptc_lines l = {data, size, 0, 0};
    return l;
}

/* The next non-blank line (without its '\n') in *s, *len; 0 at the end. */
static inline int gptc_lines_next(gptc_lines *l, const char **s, size_t *len) {
    while (l->pos < l->size) {
        const char *p = l->data + l->pos, *nl = memchr(p, '\n', l->size - l->pos);
        size_t n = nl ? (size_t)(nl - p) : l->size - l->pos;
        l->pos += n + 1;
        l->line++;
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\f' || p[k] == '\v')) k++;
        if (k == n) continue;
        *s = p;
        *len = n;
        return 1;
    }
    return 0;
}

#endif
