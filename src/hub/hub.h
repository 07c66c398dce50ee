/* hub.h: the Hugging Face Hub client's internals (library only): checksums, the parsers
 * of what a server sends (response headers, the repository info JSON), and the cache's
 * paths. The public API is gptc_hub_* in include/gptc.h; docs/hub.md describes it. */
#ifndef GPTC_HUB_H
#define GPTC_HUB_H

#include "../core/core.h"
#include <stdint.h>

/* ---- sha.c: SHA-256 (sha1 = 0) or SHA-1 (sha1 = 1), streaming; hex: 65 bytes */
typedef struct hub_sha {
    uint32_t h[8];
    unsigned char buf[64];
    size_t fill;
    uint64_t len;
    int sha1;
} hub_sha;
void hub_sha_init(hub_sha *s, int sha1);
void hub_sha_update(hub_sha *s, const void *data, size_t n);
void hub_sha_final(hub_sha *s, char *hex);

/* ---- parse.c: what the server sends */
#define HUB_URL_MAX 4096
/* The headers of one HTTP response that the Hub's protocol uses. */
typedef struct hub_headers {
    long status;                     /* from the status line; 0 before one */
    char location[HUB_URL_MAX];      /* Location (redirects) */
    char etag[128], linked_etag[128];/* ETag, X-Linked-Etag: raw, quotes kept */
    char commit[64];                 /* X-Repo-Commit */
    long long content_length;        /* Content-Length; -1 absent or malformed */
    long long linked_size;           /* X-Linked-Size; -1 */
    long long range_start, range_total; /* Content-Range: bytes START-END/TOTAL; -1 */
    char error_code[64];             /* X-Error-Code (RepoNotFound, GatedRepo, ...) */
    char error_message[512];         /* X-Error-Message */
} hub_headers;
void hub_headers_reset(hub_headers *h);
/* One header line as received (CRLF or LF ended, or neither). A status line ("HTTP/")
 * starts a new response: everything is reset (redirects deliver several). Unknown or
 * malformed lines are ignored; values too long for their field are dropped. */
void hub_header_line(hub_headers *h, const char *line, size_t n);
/* The ETag huggingface_hub names blobs by: X-Linked-Etag else ETag, "W/" and quotes
 * stripped. 0 and out "" when there is none or it is unsafe as a file name (only
 * [A-Za-z0-9._-], 1 to 127 characters, not "." or ".."). */
int hub_blob_name(const hub_headers *h, char *out, size_t cap);
/* 64 hex digits: an LFS etag (sha256); 40: a git blob id (sha1). */
int hub_is_hex(const char *s, size_t n);

/* The answer of /api/models/REPO/revision/REV: {"sha": COMMIT, "siblings":
 * [{"rfilename": F}, ...], ...}. files gptc_alloc'ed (one block); every name is checked
 * by hub_safe_rfilename. GPTC_EFORMAT naming what (a URL) and the field otherwise. */
typedef struct hub_repo_info {
    char sha[41];
    char **files;
    size_t n_files;
} hub_repo_info;
gptc_status hub_parse_repo_info(gptc_ctx *ctx, const char *what, const char *json, size_t n, hub_repo_info *out);
void hub_repo_info_free(hub_repo_info *ri);
/* A file name a server may give: relative, '/'-separated, no empty, "." or ".."
 * component, no control characters or backslashes, under 1024 bytes. */
int hub_safe_rfilename(const char *name);
/* Python's fnmatch.fnmatch on POSIX (what huggingface_hub's allow_patterns use):
 * '*' and '?' match any character ('/' too), [seq] and [!seq]; no escapes. A pattern
 * ending in '/' matches everything under that folder. */
int hub_glob_match(const char *pattern, const char *name);

/* ---- cache.c */
/* NAME[@REV] or ORG/NAME[@REV] split into repo and rev ("" when absent). */
gptc_status hub_split_name(gptc_ctx *ctx, const char *name, char *repo, size_t repo_cap, char *rev, size_t rev_cap);
/* CACHE/models--ORG--NAME */
gptc_status hub_repo_dir(gptc_ctx *ctx, const gptc_hub_params *p, const char *repo, char *out, size_t cap);
/* 1 when $HF_HUB_OFFLINE (or $TRANSFORMERS_OFFLINE) says so, as huggingface_hub reads it. */
int hub_env_offline(void);
/* refs/REV of repo_dir into commit (41 bytes); 0 when absent or not a commit id. */
int hub_read_ref(const char *repo_dir, const char *rev, char *commit);
/* The symlink's text for snapshots/COMMIT/RFILENAME -> blobs/ETAG, relative as
 * huggingface_hub writes it: "../../blobs/ETAG", one more "../" per folder of rfilename. */
gptc_status hub_blob_link(gptc_ctx *ctx, const char *rfilename, const char *etag, char *out, size_t cap);

#endif
