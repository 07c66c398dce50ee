/* pull.c: gptc_hub_pull: a repository of a Hub server (HF_ENDPOINT) into Hugging Face's
 * cache with libcurl, as huggingface_hub's snapshot_download writes it: the commit and
 * file list from /api/models/REPO/revision/REV, per file a HEAD of
 * /REPO/resolve/COMMIT/FILE (relative redirects followed; X-Linked-Etag / ETag,
 * X-Linked-Size / Content-Length, the CDN location of an LFS file), the bytes into
 * blobs/ETAG.incomplete (Range resume after a dropped connection, or in a later run),
 * checked (size, sha256 or git blob id) and only then renamed to blobs/ETAG, the
 * snapshot's relative symlink, refs/REV. cache.c knows the layout; parse.c the parsers. */
#define _GNU_SOURCE
#include "hub.h"
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define API_MAX (64u << 20) /* the repository info: a listing, never this large */

typedef struct conn {
    gptc_ctx *ctx;
    const gptc_hub_params *p;
    CURL *curl;
    struct curl_slist *hdrs;
    char endpoint[1024];
    char repo[256];
    int has_token;
    char curl_err[CURL_ERROR_SIZE];
    hub_headers h;
    /* the body: into fd (a blob) when fd >= 0, else into mem */
    int fd;
    long long offset;       /* bytes already in the .incomplete file when the request began */
    long long resume_asked; /* the Range start asked, -1 none */
    int restarted, bad_range;
    char *mem;
    size_t mem_n, mem_cap;
    /* progress */
    const char *file;
    size_t index, count;
    uint64_t total;
} conn;

static size_t on_header(char *buf, size_t sz, size_t n, void *u) {
    conn *c = u;
    hub_header_line(&c->h, buf, sz * n);
    return sz * n;
}

static int mem_add(conn *c, const char *data, size_t n, size_t cap_max) {
    if (c->mem_n + n + 1 > c->mem_cap) {
        size_t cap = c->mem_cap ? c->mem_cap : 4096;
        while (cap < c->mem_n + n + 1) cap *= 2;
        if (cap > cap_max + 1) return 0;
        char *m = gptc_alloc(NULL, cap, "hub response");
        if (!m) return 0;
        if (c->mem_n) memcpy(m, c->mem, c->mem_n);
        gptc_free(c->mem);
        c->mem = m;
        c->mem_cap = cap;
    }
    memcpy(c->mem + c->mem_n, data, n);
    c->mem_n += n;
    c->mem[c->mem_n] = 0;
    return 1;
}

static size_t on_body(char *buf, size_t sz, size_t n, void *u) {
    conn *c = u;
    size_t len = sz * n;
    int ok_status = c->h.status == 200 || c->h.status == 206;
    if (c->fd < 0 || !ok_status) return mem_add(c, buf, len, c->fd < 0 ? API_MAX : 65536) ? len : (ok_status ? 0 : len);
    if (c->resume_asked >= 0 && !c->restarted && !c->bad_range) {
        if (c->h.status == 200) {
            /* the server ignored the Range: start over (as huggingface_hub does) */
            if (ftruncate(c->fd, 0) != 0 || lseek(c->fd, 0, SEEK_SET) != 0) return 0;
            c->offset = 0;
            c->restarted = 1;
        } else if (c->h.range_start != c->resume_asked) {
            c->bad_range = 1;
            return 0;
        } else c->restarted = 1; /* checked once */
    }
    for (size_t k = 0; k < len;) {
        ssize_t w = write(c->fd, buf + k, len - k);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        k += (size_t)w;
    }
    return len;
}

static int on_progress(void *u, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult, curl_off_t uln) {
    conn *c = u;
    if (c->fd >= 0 && c->p->progress && (c->h.status == 200 || c->h.status == 206)) {
        gptc_hub_event ev = {GPTC_HUB_FILE_BYTES, c->file, (uint64_t)(c->offset + dlnow), c->total, 0, c->index,
                             c->count, NULL};
        c->p->progress(c->p->user, &ev);
    }
    return 0;
}

/* Python's urllib.parse.quote: letters, digits and "_.-~" kept, and '/' when keep_slash */
static int quote(char *out, size_t cap, const char *s, int keep_slash) {
    static const char hx[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                   *p == '.' || *p == '-' || *p == '~' || (keep_slash && *p == '/');
        if (k + 4 >= cap) return 0;
        if (keep) out[k++] = (char)*p;
        else { out[k++] = '%'; out[k++] = hx[*p >> 4]; out[k++] = hx[*p & 15]; }
    }
    out[k] = 0;
    return 1;
}

static void reset_request(conn *c) {
    curl_easy_reset(c->curl);
    hub_headers_reset(&c->h);
    c->curl_err[0] = 0;
    c->mem_n = 0;
    if (c->mem) c->mem[0] = 0;
    c->resume_asked = -1;
    c->restarted = c->bad_range = 0;
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "gptc/" GPTC_VERSION);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    /* a transfer that stalls for HF_HUB_DOWNLOAD_TIMEOUT seconds (10) is dropped */
    const char *t = getenv("HF_HUB_DOWNLOAD_TIMEOUT");
    long secs = t && atol(t) > 0 ? atol(t) : 10;
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, secs);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

/* The Hub's own words on a refused request (X-Error-Message, else a short printable
 * body), with what to do about it. */
static gptc_status http_fail(conn *c, const char *what) {
    hub_headers *h = &c->h;
    char msg[600] = "";
    if (h->error_message[0]) snprintf(msg, sizeof msg, "%s", h->error_message);
    else if (c->mem_n && c->mem_n < 512) {
        size_t k = 0;
        for (size_t i = 0; i < c->mem_n && k + 1 < sizeof msg; i++)
            if ((unsigned char)c->mem[i] >= 0x20 && c->mem[i] != 0x7f) msg[k++] = c->mem[i];
        msg[k] = 0;
    }
    const char *hint = "";
    if (h->status == 401)
        hint = c->has_token ? "; the repository does not exist, or the token sent may not read it"
                            : "; the repository does not exist, or it is private or gated and needs a token "
                              "(--token or HF_TOKEN)";
    else if (h->status == 403)
        hint = "; access is restricted (a gated repository: request access on its page, then use a token of an "
               "account that has it)";
    else if (h->status == 404)
        hint = !strcmp(h->error_code, "RevisionNotFound") ? "; no such revision" : "; not found";
    return gptc_fail(c->ctx, GPTC_ENET, "%s: %s: HTTP %ld%s%s from %s%s%s%s%s", c->repo, what, h->status,
                     h->error_code[0] ? " " : "", h->error_code, c->endpoint, msg[0] ? " (" : "", msg,
                     msg[0] ? ")" : "", hint);
}

/* A transfer that failed below HTTP: no network, refused, reset, timed out. */
static gptc_status net_fail(conn *c, CURLcode rc, const char *what) {
    return gptc_fail(c->ctx, GPTC_ENET, "%s: cannot reach %s: %s (no network? HF_HUB_OFFLINE=1 uses the cache only)",
                     what, c->endpoint, c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
}

/* GET url into c->mem, redirects followed; the final response's headers in c->h. */
static CURLcode get_mem(conn *c, const char *url) {
    reset_request(c);
    c->fd = -1;
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 120L);
    return curl_easy_perform(c->curl);
}

/* HEAD url, following relative redirects only (a renamed repository answers 307 with
 * "/NEW/resolve/..."); an absolute one (an LFS file's CDN) ends the walk: its headers
 * carry X-Linked-Etag and X-Linked-Size, its Location is where the bytes are. */
static CURLcode head(conn *c, const char *url, char *final_url, size_t cap) {
    snprintf(final_url, cap, "%s", url);
    for (int hop = 0; hop < 10; hop++) {
        reset_request(c);
        c->fd = -1;
        curl_easy_setopt(c->curl, CURLOPT_URL, final_url);
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 60L);
        CURLcode rc = curl_easy_perform(c->curl);
        if (rc) return rc;
        if (c->h.status < 300 || c->h.status >= 400 || c->h.location[0] != '/') return CURLE_OK;
        /* relative: on the endpoint's origin (scheme://host[:port]) */
        const char *e = strstr(c->endpoint, "://");
        const char *slash = e ? strchr(e + 3, '/') : NULL;
        size_t origin = slash ? (size_t)(slash - c->endpoint) : strlen(c->endpoint);
        if ((size_t)snprintf(final_url, cap, "%.*s%s", (int)origin, c->endpoint, c->h.location) >= cap) return CURLE_URL_MALFORMAT;
    }
    return CURLE_TOO_MANY_REDIRECTS;
}

/* host[:port] of a URL (huggingface_hub compares urlparse(...).netloc) */
static size_t netloc(const char *url, const char **start) {
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    *start = s;
    return strcspn(s, "/?#");
}

static int same_netloc(const char *a, const char *b) {
    const char *sa, *sb;
    size_t na = netloc(a, &sa), nb = netloc(b, &sb);
    return na == nb && !strncasecmp(sa, sb, na);
}

static gptc_status mkdir_parent(gptc_ctx *ctx, const char *path) {
    char dir[5400];
    if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    char *s = strrchr(dir, '/');
    if (!s) return GPTC_OK;
    *s = 0;
    return gptc_mkdirs(ctx, dir);
}

/* snapshots/COMMIT/FILE -> blobs/ETAG as a relative symlink, swapped in by rename. */
static gptc_status link_pointer(gptc_ctx *ctx, const char *pointer, const char *rfilename, const char *etag) {
    char target[2200], tmp[4500];
    gptc_status st = hub_blob_link(ctx, rfilename, etag, target, sizeof target);
    if (st || (st = mkdir_parent(ctx, pointer))) return st;
    if ((st = gptc_temp_name(ctx, tmp, sizeof tmp, pointer, "link"))) return st;
    if (symlink(target, tmp) != 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot create a symlink: %s", tmp, strerror(errno));
    if (rename(tmp, pointer) != 0) {
        int e = errno;
        unlink(tmp);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot rename into place: %s", pointer, strerror(e));
    }
    return gptc_fsync_parent(ctx, pointer);
}

/* The bytes of path against the blob's ETag: sha256 (64 hex digits: LFS), the git blob
 * id (40: sha1 of "blob SIZE\0" + bytes), or nothing to check (*checked = 0). */
static gptc_status verify(gptc_ctx *ctx, int fd, long long size, const char *etag, const char *what, int *checked) {
    int sha1 = hub_is_hex(etag, 40);
    *checked = 0;
    if (!sha1 && !hub_is_hex(etag, 64)) return GPTC_OK;
    hub_sha s;
    hub_sha_init(&s, sha1);
    if (sha1) {
        char pre[48];
        int n = snprintf(pre, sizeof pre, "blob %lld", size);
        hub_sha_update(&s, pre, (size_t)n + 1);
    }
    if (lseek(fd, 0, SEEK_SET) != 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot seek: %s", what, strerror(errno));
    static const size_t BUF = 1 << 20;
    char *buf = gptc_alloc(ctx, BUF, "hub checksum buffer");
    if (!buf) return GPTC_ENOMEM;
    for (;;) {
        ssize_t r = read(fd, buf, BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            gptc_free(buf);
            return gptc_fail(ctx, GPTC_EIO, "%s: cannot read: %s", what, strerror(errno));
        }
        if (r == 0) break;
        hub_sha_update(&s, buf, (size_t)r);
    }
    gptc_free(buf);
    char hex[65], want[65];
    hub_sha_final(&s, hex);
    for (int i = 0; etag[i]; i++) want[i] = (char)(etag[i] | (etag[i] >= 'A' && etag[i] <= 'F' ? 0x20 : 0)), want[i + 1] = 0;
    if (strcmp(hex, want) != 0)
        return gptc_fail(ctx, GPTC_EFORMAT, "%s: the downloaded bytes do not match the Hub's checksum (%s %s expected, "
                         "%s received); they were discarded", what, sha1 ? "git blob id" : "sha256", want, hex);
    *checked = 1;
    return GPTC_OK;
}

/* One blob: under the lock huggingface_hub takes, into ETAG.incomplete (resumed from
 * what is there), checked, renamed to ETAG. *got = bytes transferred now. */
static gptc_status fetch_blob(conn *c, const char *url, const char *blob, const char *lock, long long size,
                              const char *etag, uint64_t *got, int *cached) {
    gptc_ctx *ctx = c->ctx;
    char part[4500], what[1400];
    snprintf(part, sizeof part, "%s.incomplete", blob);
    snprintf(what, sizeof what, "%s/%s", c->repo, c->file);
    gptc_status st;
    *got = 0;
    *cached = 0;
    if ((st = mkdir_parent(ctx, lock)) || (st = mkdir_parent(ctx, blob))) return st;
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (lfd < 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open the lock file: %s", lock, strerror(errno));
    while (flock(lfd, LOCK_EX) != 0)
        if (errno != EINTR) {
            close(lfd);
            return gptc_fail(ctx, GPTC_EIO, "%s: cannot lock: %s", lock, strerror(errno));
        }
    if (gptc_file_exists(blob)) { /* another process finished it meanwhile */
        close(lfd);
        *cached = 1;
        return GPTC_OK;
    }
    int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        close(lfd);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot open: %s", part, strerror(errno));
    }
    struct stat sb;
    long long have = fstat(fd, &sb) == 0 ? (long long)sb.st_size : 0;
    if (size >= 0 && have > size) { /* not a prefix of this blob: start over */
        if (ftruncate(fd, 0) != 0) have = -1;
        else have = 0;
    }
    int retries = c->p->max_retries;
    st = GPTC_OK;
    while (have >= 0 && (size < 0 || have < size || have == 0)) {
        if (lseek(fd, have, SEEK_SET) != have) { have = -1; break; }
        reset_request(c);
        c->fd = fd;
        c->offset = have;
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, 10L);
        /* a CDN's URL is signed: the token stays with the endpoint's host (as
         * huggingface_hub drops it; libcurl drops it itself on a redirect elsewhere) */
        if (!same_netloc(url, c->endpoint)) curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        char range[64];
        if (have > 0) {
            snprintf(range, sizeof range, "%lld-", have);
            curl_easy_setopt(c->curl, CURLOPT_RANGE, range);
            c->resume_asked = have;
        }
        CURLcode rc = curl_easy_perform(c->curl);
        long long before = c->offset;
        long long now = fstat(fd, &sb) == 0 ? (long long)sb.st_size : -1;
        if (now < 0) { have = -1; break; }
        *got += (uint64_t)(now > before ? now - before : 0);
        if (c->bad_range) {
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: asked for bytes from %lld, the server sent a range from %lld", what,
                           c->resume_asked, c->h.range_start);
            break;
        }
        if (rc == CURLE_OK && c->h.status != 200 && c->h.status != 206) {
            if (c->h.status == 416 && size >= 0 && now == size) { have = now; break; }
            st = http_fail(c, "download");
            break;
        }
        if (rc == CURLE_OK) { have = now; break; }
        if (rc == CURLE_WRITE_ERROR) { st = gptc_fail(ctx, GPTC_EIO, "%s: cannot write: %s", part, strerror(errno)); break; }
        if (now > have) retries = c->p->max_retries; /* progress was made: the count starts again */
        if (retries-- <= 0) {
            st = net_fail(c, rc, what);
            gptc_fail_prefix(ctx, st, "%s: the transfer stopped at %lld of %lld bytes; %s is kept and the next pull "
                             "resumes it", what, now, size, part);
            break;
        }
        if (c->p->progress) {
            gptc_hub_event ev = {GPTC_HUB_FILE_RETRY, c->file, (uint64_t)now, c->total, 0, c->index, c->count,
                                 curl_easy_strerror(rc)};
            c->p->progress(c->p->user, &ev);
        }
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        have = now;
        if (size >= 0 && have == size) break;
    }
    if (!st && have < 0) st = gptc_fail(ctx, GPTC_EIO, "%s: cannot read or write: %s", part, strerror(errno));
    if (!st && size >= 0 && have != size) {
        st = gptc_fail(ctx, GPTC_EFORMAT, "%s: the server sent %lld bytes, the Hub said %lld; they were discarded", what,
                       have, size);
        unlink(part);
    }
    int checked = 0;
    if (!st && (st = verify(ctx, fd, have, etag, what, &checked)) == GPTC_EFORMAT) unlink(part);
    if (!st && fsync(fd) != 0) st = gptc_fail(ctx, GPTC_EIO, "%s: fsync: %s", part, strerror(errno));
    close(fd);
    if (!st && rename(part, blob) != 0) st = gptc_fail(ctx, GPTC_EIO, "%s: cannot rename to %s: %s", part, blob, strerror(errno));
    if (!st) st = gptc_fsync_parent(ctx, blob);
    close(lfd);
    return st;
}

static int wanted(const gptc_hub_params *p, const char *name) {
    const char *const *g = p->include && p->n_include ? p->include : gptc_hub_default_include;
    size_t n = p->include && p->n_include ? p->n_include : (size_t)-1;
    for (size_t i = 0; i < n && g[i]; i++)
        if (hub_glob_match(g[i], name)) return 1;
    return 0;
}

/* The token: params, $HF_TOKEN, the file `hf auth login` writes. */
static void find_token(const gptc_hub_params *p, char *out, size_t cap) {
    out[0] = 0;
    const char *t = p->token ? p->token : getenv("HF_TOKEN");
    if (t && t[0]) { snprintf(out, cap, "%s", t); return; }
    char path[4200];
    const char *tp = getenv("HF_TOKEN_PATH"), *home = getenv("HF_HOME"), *h = getenv("HOME");
    if (tp && tp[0]) snprintf(path, sizeof path, "%s", tp);
    else if (home && home[0]) snprintf(path, sizeof path, "%s/token", home);
    else if (h && h[0]) snprintf(path, sizeof path, "%s/.cache/huggingface/token", h);
    else return;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    out[strcspn(out, "\r\n")] = 0;
}

/* The files of a snapshot under prefix matching the globs, in name order: counted into
 * *n, and reported as cached when count (the total) is given. */
static void list_snapshot(const gptc_hub_params *p, const char *dir, const char *prefix, size_t *n, const size_t *count) {
    char path[4400];
    if ((size_t)snprintf(path, sizeof path, "%s%s%s", dir, prefix[0] ? "/" : "", prefix) >= sizeof path) return;
    struct dirent **ents;
    int k = scandir(path, &ents, NULL, alphasort);
    if (k < 0) return;
    for (int i = 0; i < k; i++) {
        char rel[2200], full[6700];
        struct stat sb;
        const char *e = ents[i]->d_name;
        if (e[0] != '.' && (size_t)snprintf(rel, sizeof rel, "%s%s%s", prefix, prefix[0] ? "/" : "", e) < sizeof rel &&
            (size_t)snprintf(full, sizeof full, "%s/%s", path, e) < sizeof full && stat(full, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) list_snapshot(p, dir, rel, n, count);
            else if (wanted(p, rel)) {
                if (count && p->progress) {
                    gptc_hub_event ev = {GPTC_HUB_FILE_DONE, rel, (uint64_t)sb.st_size, (uint64_t)sb.st_size, 1, *n,
                                         *count, NULL};
                    p->progress(p->user, &ev);
                }
                (*n)++;
            }
        }
        free(ents[i]);
    }
    free(ents);
}

static gptc_status pull_files(conn *c, const char *repo_dir, const char *commit, const hub_repo_info *ri,
                              gptc_hub_result *out) {
    gptc_ctx *ctx = c->ctx;
    size_t count = 0, index = 0;
    for (size_t i = 0; i < ri->n_files; i++) count += wanted(c->p, ri->files[i]);
    char cache_root[4096];
    gptc_status st = gptc_hub_cache_dir(ctx, c->p, cache_root, sizeof cache_root);
    if (st) return st;
    const char *folder = strrchr(repo_dir, '/') + 1;
    for (size_t i = 0; i < ri->n_files && !st; i++) {
        const char *f = ri->files[i];
        if (!wanted(c->p, f)) continue;
        char pointer[5200], qf[3200], url[HUB_URL_MAX], final_url[HUB_URL_MAX], etag[128], blob[4400], lock[4400];
        c->file = f;
        c->index = index++;
        c->count = count;
        c->total = 0;
        snprintf(pointer, sizeof pointer, "%s/snapshots/%s/%s", repo_dir, commit, f);
        gptc_hub_event ev = {GPTC_HUB_FILE_START, f, 0, 0, 0, c->index, count, NULL};
        struct stat sb;
        if (stat(pointer, &sb) == 0) { /* huggingface_hub: a commit's file that is there is final */
            ev.kind = GPTC_HUB_FILE_DONE;
            ev.done = ev.total = (uint64_t)sb.st_size;
            ev.cached = 1;
            if (c->p->progress) c->p->progress(c->p->user, &ev);
            out->n_files++;
            continue;
        }
        if (!quote(qf, sizeof qf, f, 1) ||
            (size_t)snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", c->endpoint, c->repo, commit, qf) >= sizeof url)
            return gptc_fail(ctx, GPTC_EINVAL, "%s: URL too long", f);
        CURLcode rc = head(c, url, final_url, sizeof final_url);
        if (rc) return net_fail(c, rc, f);
        if (c->h.status >= 400) {
            char what[1200];
            snprintf(what, sizeof what, "%s", f);
            return http_fail(c, what);
        }
        if (!hub_blob_name(&c->h, etag, sizeof etag))
            return gptc_fail(ctx, GPTC_EFORMAT, "%s/%s: the server's answer has no usable ETag", c->repo, f);
        int redirect = c->h.status >= 300 && c->h.status < 400;
        long long size = c->h.linked_size >= 0 ? c->h.linked_size : redirect ? -1 : c->h.content_length;
        if (redirect && c->h.location[0]) snprintf(final_url, sizeof final_url, "%s", c->h.location);
        snprintf(blob, sizeof blob, "%s/blobs/%s", repo_dir, etag);
        snprintf(lock, sizeof lock, "%s/.locks/%s/%s.lock", cache_root, folder, etag);
        c->total = size > 0 ? (uint64_t)size : 0;
        ev.total = c->total;
        uint64_t got = 0;
        int cached = gptc_file_exists(blob);
        if (!cached) {
            if (c->p->progress) c->p->progress(c->p->user, &ev);
            if ((st = fetch_blob(c, final_url, blob, lock, size, etag, &got, &cached))) break;
            if (!cached) out->n_downloaded++;
            out->bytes_downloaded += got;
        }
        if ((st = link_pointer(ctx, pointer, f, etag))) break;
        ev.kind = GPTC_HUB_FILE_DONE;
        ev.done = ev.total = stat(blob, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        ev.cached = cached;
        if (c->p->progress) c->p->progress(c->p->user, &ev);
        out->n_files++;
    }
    return st;
}

gptc_status gptc_hub_pull(gptc_ctx *ctx, const char *name, const gptc_hub_params *params, gptc_hub_result *out) {
    gptc_hub_params dp = gptc_hub_default_params();
    const gptc_hub_params *p = params ? params : &dp;
    int offline = p->offline < 0 ? hub_env_offline() : p->offline, found = 0;
    gptc_status st = gptc_hub_lookup(ctx, name, p, out, &found);
    if (st) return st;
    if (offline) {
        if (found) {
            /* what the snapshot holds, reported as a pull would (all in the cache) */
            size_t count = 0, index = 0;
            out->n_files = 0;
            list_snapshot(p, out->dir, "", &count, NULL);
            list_snapshot(p, out->dir, "", &index, &count);
            out->n_files = count;
            return GPTC_OK;
        }
        char cache[4096];
        if ((st = gptc_hub_cache_dir(ctx, p, cache, sizeof cache))) return st;
        return gptc_fail(ctx, GPTC_ENET, "%s@%s: not in the Hugging Face cache %s, and offline (HF_HUB_OFFLINE is set)",
                         out->repo, out->revision, cache);
    }
    char repo_dir[4096], token[4096], qrev[800], url[HUB_URL_MAX];
    if ((st = hub_repo_dir(ctx, p, out->repo, repo_dir, sizeof repo_dir))) return st;
    conn c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.p = p;
    c.fd = -1;
    snprintf(c.repo, sizeof c.repo, "%s", out->repo);
    const char *ep = p->endpoint ? p->endpoint : getenv("HF_ENDPOINT");
    if (!ep || !ep[0]) ep = "https://huggingface.co";
    size_t en = strlen(ep);
    while (en && ep[en - 1] == '/') en--;
    if (en == 0 || en >= sizeof c.endpoint) return gptc_fail(ctx, GPTC_EINVAL, "endpoint '%s' is not a URL", ep);
    memcpy(c.endpoint, ep, en);
    c.endpoint[en] = 0;
    if (strncmp(c.endpoint, "http://", 7) && strncmp(c.endpoint, "https://", 8))
        return gptc_fail(ctx, GPTC_EINVAL, "endpoint '%s' is not an http:// or https:// URL (HF_ENDPOINT)", c.endpoint);
    find_token(p, token, sizeof token);
    if (token[0]) {
        char h[4200];
        if (strpbrk(token, "\r\n")) return gptc_fail(ctx, GPTC_EINVAL, "the token has a line break");
        snprintf(h, sizeof h, "Authorization: Bearer %s", token);
        c.hdrs = curl_slist_append(NULL, h);
        if (!c.hdrs) return gptc_fail(ctx, GPTC_ENOMEM, "out of memory");
        c.has_token = 1;
    }
    c.curl = curl_easy_init();
    hub_repo_info ri = {{0}, NULL, 0};
    if (!c.curl) { st = gptc_fail(ctx, GPTC_ENOMEM, "libcurl: cannot start a session"); goto done; }
    if (!quote(qrev, sizeof qrev, out->revision, 0) ||
        (size_t)snprintf(url, sizeof url, "%s/api/models/%s/revision/%s", c.endpoint, out->repo, qrev) >= sizeof url) {
        st = gptc_fail(ctx, GPTC_EINVAL, "%s: URL too long", name);
        goto done;
    }
    CURLcode rc = get_mem(&c, url);
    if (rc) { st = net_fail(&c, rc, out->repo); goto done; }
    if (c.h.status != 200) {
        char what[300];
        snprintf(what, sizeof what, "revision %s", out->revision);
        st = http_fail(&c, what);
        goto done;
    }
    if ((st = hub_parse_repo_info(ctx, url, c.mem ? c.mem : "", c.mem_n, &ri))) goto done;
    memcpy(out->commit, ri.sha, 41);
    if ((size_t)snprintf(out->dir, sizeof out->dir, "%s/snapshots/%.40s", repo_dir, out->commit) >= sizeof out->dir) {
        st = gptc_fail(ctx, GPTC_EINVAL, "%s: cache path too long", repo_dir);
        goto done;
    }
    out->n_files = out->n_downloaded = 0;
    out->bytes_downloaded = 0;
    out->from_cache = 0;
    if ((st = gptc_mkdirs(ctx, out->dir))) goto done;
    if ((st = pull_files(&c, repo_dir, out->commit, &ri, out))) goto done;
    if (out->n_files == 0) {
        st = gptc_fail(ctx, GPTC_EINVAL, "%s@%s: no file of its %zu matches the globs asked for", out->repo,
                       out->revision, ri.n_files);
        goto done;
    }
    /* refs/REV: the commit a branch or tag names now (a commit needs none) */
    if (strcmp(out->revision, out->commit) != 0) {
        char ref[4400];
        snprintf(ref, sizeof ref, "%s/refs/%s", repo_dir, out->revision);
        gptc_iovec part = {out->commit, 40};
        if ((st = mkdir_parent(ctx, ref)) || (st = gptc_file_write_atomic(ctx, ref, &part, 1))) goto done;
    }
done:
    hub_repo_info_free(&ri);
    if (c.curl) curl_easy_cleanup(c.curl);
    curl_slist_free_all(c.hdrs);
    gptc_free(c.mem);
    return st;
}
