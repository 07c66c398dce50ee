/* parse.c: what a Hub server sends: response header lines, the repository info JSON,
 * and the checks on the names it gives (files, ETags) before they become paths.
 * Pure functions over bytes (tests/fuzz/fuzz_hub.c feeds them anything). */
#include "hub.h"
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void hub_headers_reset(hub_headers *h) {
    memset(h, 0, sizeof *h);
    h->content_length = h->linked_size = h->range_start = h->range_total = -1;
}

static int name_is(const char *line, size_t n, const char *name) {
    size_t k = strlen(name);
    if (n <= k || line[k] != ':') return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)line[i]) != tolower((unsigned char)name[i])) return 0;
    return 1;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n) {
    if (n >= cap) { dst[0] = 0; return; }
    memcpy(dst, v, n);
    dst[n] = 0;
}

/* a decimal count without sign, spaces or overflow; -1 otherwise */
static long long parse_count(const char *v, size_t n) {
    if (n == 0 || n > 18) return -1;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

void hub_header_line(hub_headers *h, const char *line, size_t n) {
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    if (n >= 5 && !memcmp(line, "HTTP/", 5)) {
        hub_headers_reset(h);
        size_t i = 5;
        while (i < n && line[i] != ' ') i++;
        while (i < n && line[i] == ' ') i++;
        long st = 0;
        size_t d = 0;
        while (i < n && d < 3 && line[i] >= '0' && line[i] <= '9') st = st * 10 + (line[i++] - '0'), d++;
        h->status = d == 3 ? st : 0;
        return;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon) return;
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t vn = (size_t)(end - v);
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t') return; /* no control bytes in values we keep */
    if (name_is(line, n, "location")) copy_value(h->location, sizeof h->location, v, vn);
    else if (name_is(line, n, "etag")) copy_value(h->etag, sizeof h->etag, v, vn);
    else if (name_is(line, n, "x-linked-etag")) copy_value(h->linked_etag, sizeof h->linked_etag, v, vn);
    else if (name_is(line, n, "x-repo-commit")) copy_value(h->commit, sizeof h->commit, v, vn);
    else if (name_is(line, n, "content-length")) h->content_length = parse_count(v, vn);
    else if (name_is(line, n, "x-linked-size")) h->linked_size = parse_count(v, vn);
    else if (name_is(line, n, "x-error-code")) copy_value(h->error_code, sizeof h->error_code, v, vn);
    else if (name_is(line, n, "x-error-message")) copy_value(h->error_message, sizeof h->error_message, v, vn);
    else if (name_is(line, n, "content-range")) {
        /* bytes START-END/TOTAL (TOTAL may be '*') */
        h->range_start = h->range_total = -1;
        if (vn < 6 || memcmp(v, "bytes ", 6)) return;
        const char *p = v + 6, *dash = memchr(p, '-', (size_t)(end - p));
        if (!dash) return;
        const char *slash = memchr(dash, '/', (size_t)(end - dash));
        if (!slash) return;
        long long a = parse_count(p, (size_t)(dash - p)), b = parse_count(dash + 1, (size_t)(slash - dash - 1));
        long long t = (end - slash == 2 && slash[1] == '*') ? -1 : parse_count(slash + 1, (size_t)(end - slash - 1));
        if (a < 0 || b < a || (t >= 0 && b >= t)) return;
        h->range_start = a;
        h->range_total = t;
    }
}

int hub_is_hex(const char *s, size_t n) {
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

int hub_blob_name(const hub_headers *h, char *out, size_t cap) {
    const char *e = h->linked_etag[0] ? h->linked_etag : h->etag;
    out[0] = 0;
    /* huggingface_hub's _normalize_etag: etag.lstrip("W/").strip('"') */
    while (*e == 'W' || *e == '/') e++;
    while (*e == '"') e++;
    size_t n = strlen(e);
    while (n && e[n - 1] == '"') n--;
    if (n == 0 || n >= cap || n > 127) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)e[i]) && e[i] != '.' && e[i] != '_' && e[i] != '-') return 0;
    if ((n == 1 && e[0] == '.') || (n == 2 && e[0] == '.' && e[1] == '.')) return 0;
    memcpy(out, e, n);
    out[n] = 0;
    return 1;
}

int hub_safe_rfilename(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= 1024 || name[0] == '/') return 0;
    const char *c = name;
    for (;;) {
        const char *slash = strchr(c, '/');
        size_t k = slash ? (size_t)(slash - c) : strlen(c);
        if (k == 0 || (k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.')) return 0;
        if (!slash) break;
        c = slash + 1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '\\') return 0;
    return 1;
}

void hub_repo_info_free(hub_repo_info *ri) {
    if (!ri) return;
    gptc_free(ri->files);
    ri->files = NULL;
    ri->n_files = 0;
}

gptc_status hub_parse_repo_info(gptc_ctx *ctx, const char *what, const char *json, size_t n, hub_repo_info *out) {
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je);
    if (!root) return gptc_fail(ctx, GPTC_EFORMAT, "%s: not JSON (line %d: %s)", what, je.line, je.text);
    gptc_status st = GPTC_OK;
    json_t *sha = json_object_get(root, "sha"), *sib = json_object_get(root, "siblings");
    if (!json_is_object(root)) { st = gptc_fail(ctx, GPTC_EFORMAT, "%s: not a JSON object", what); goto done; }
    if (!json_is_string(sha) || !hub_is_hex(json_string_value(sha), 40)) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"sha\" is not a 40-digit commit id", what);
        goto done;
    }
    if (!json_is_array(sib)) { st = gptc_fail(ctx, GPTC_EFORMAT, "%s: field \"siblings\" is not an array", what); goto done; }
    size_t k = json_array_size(sib), bytes = 0;
    for (size_t i = 0; i < k; i++) {
        json_t *f = json_object_get(json_array_get(sib, i), "rfilename");
        if (!json_is_string(f)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: siblings[%zu] has no string \"rfilename\"", what, i);
            goto done;
        }
        const char *name = json_string_value(f);
        if (strlen(name) != json_string_length(f) || !hub_safe_rfilename(name)) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: siblings[%zu].rfilename is not a safe relative path", what, i);
            goto done;
        }
        bytes += strlen(name) + 1;
    }
    /* one block: the pointer array, then the names */
    out->files = gptc_alloc(ctx, k * sizeof(char *) + bytes + 1, "hub file list");
    if (!out->files) { st = GPTC_ENOMEM; goto done; }
    char *names = (char *)(out->files + k);
    for (size_t i = 0; i < k; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
        size_t len = strlen(name) + 1;
        memcpy(names, name, len);
        out->files[i] = names;
        names += len;
    }
    out->n_files = k;
    for (int i = 0; i < 40; i++) out->sha[i] = (char)tolower((unsigned char)json_string_value(sha)[i]);
    out->sha[40] = 0;
done:
    json_decref(root);
    return st;
}

/* fnmatch.translate semantics: '*' any run, '?' one character, [..] a set ('!' negates,
 * ']' first is literal, an unclosed '[' is a literal '['). */
static int glob_at(const char *p, const char *s) {
    for (; *p; p++) {
        if (*p == '*') {
            while (p[1] == '*') p++;
            if (!p[1]) return 1;
            for (const char *t = s; *t; t++)
                if (glob_at(p + 1, t)) return 1;
            return 0;
        }
        if (!*s) return 0;
        if (*p == '?') { s++; continue; }
        if (*p == '[') {
            const char *q = p + 1;
            int neg = 0;
            if (*q == '!') neg = 1, q++;
            if (*q == ']') q++;
            while (*q && *q != ']') q++;
            if (*q == ']') {
                const char *r = p + 1 + neg;
                int hit = 0;
                for (const char *c = r; c < q; c++) {
                    if (c + 2 < q && c[1] == '-') {
                        if ((unsigned char)*s >= (unsigned char)c[0] && (unsigned char)*s <= (unsigned char)c[2]) hit = 1;
                        c += 2;
                    } else if (*c == *s) hit = 1;
                }
                if (hit == neg) return 0;
                s++;
                p = q;
                continue;
            }
        }
        if (*p != *s) return 0;
        s++;
    }
    return *s == 0;
}

int hub_glob_match(const char *pattern, const char *name) {
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '/') return !strncmp(pattern, name, n);
    return glob_at(pattern, name);
}
