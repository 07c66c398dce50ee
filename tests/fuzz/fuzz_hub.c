/* fuzz_hub.c: libFuzzer target for what a Hub server sends (src/hub/parse.c): the first
 * byte picks response header lines (hub_header_line, then hub_blob_name on the result)
 * or the repository info JSON (hub_parse_repo_info). Invariants: a blob name is a safe
 * file name, a Content-Range is ordered, every file name given back is safe, every
 * error names the URL. Corpus: tests/fuzz/corpus_hub, replayed by test_fuzz_corpora.c. */
#include "fuzz_util.h"
#include "hub/hub.h"

FUZZ_TARGET(hub) {
    if (size < 1) return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        hub_headers h;
        hub_headers_reset(&h);
        while (n) { /* lines split at LF, as curl delivers them */
            const char *nl = memchr(p, '\n', n);
            size_t k = nl ? (size_t)(nl - p) + 1 : n;
            hub_header_line(&h, p, k);
            p += k;
            n -= k;
        }
        char name[128];
        if (hub_blob_name(&h, name, sizeof name)) {
            if (!name[0] || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) abort();
        } else if (name[0]) abort();
        if (h.range_start >= 0 && h.range_total >= 0 && h.range_start >= h.range_total) abort();
        if (h.status < 0 || h.status > 999) abort();
        if (strlen(h.location) >= sizeof h.location) abort();
        return 0;
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    if (!ctx) return 0;
    hub_repo_info ri;
    gptc_status s = hub_parse_repo_info(ctx, "http://x/api/models/a/b/revision/main", p, n, &ri);
    if (s && !strstr(gptc_errmsg(ctx), "http://x/api/models/a/b")) abort();
    if (!s) {
        if (!hub_is_hex(ri.sha, 40)) abort();
        for (size_t i = 0; i < ri.n_files; i++)
            if (!hub_safe_rfilename(ri.files[i])) abort();
    }
    hub_repo_info_free(&ri);
    gptc_ctx_free(ctx);
    return 0;
}
