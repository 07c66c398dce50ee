/* cache.c: Hugging Face's cache layout on disk (where, refs, snapshots) and the one
 * resolution of a --model argument: a path, or a repository name found in the cache or
 * pulled (pull.c). The network is never touched here except through gptc_hub_pull. */
#define _GNU_SOURCE
#include "hub.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *const gptc_hub_default_include[] = {"*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", NULL};
const char *const gptc_hub_tokenizer_include[] = {"*.json", "*.txt", "*.model", "*.tiktoken", NULL};

gptc_hub_params gptc_hub_default_params(void) {
    gptc_hub_params p;
    memset(&p, 0, sizeof p);
    p.offline = -1;
    p.max_retries = 5;
    return p;
}

/* one part of a repository name: [A-Za-z0-9._-]{1,96}, no leading/trailing '.'/'-' */
static int name_part_ok(const char *s, size_t n) {
    if (n == 0 || n > 96) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
        if (i && (c == '.' || c == '-') && s[i - 1] == c) return 0; /* ".." and "--" */
    }
    return !(s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-');
}

static int repo_ok(const char *s, size_t n) {
    const char *slash = memchr(s, '/', n);
    if (!slash) return name_part_ok(s, n);
    size_t a = (size_t)(slash - s);
    return name_part_ok(s, a) && name_part_ok(slash + 1, n - a - 1);
}

/* a revision: a branch, tag or commit; "refs/pr/1" has slashes, never ".." parts */
static int rev_ok(const char *r) {
    size_t n = strlen(r);
    if (n == 0 || n > 200) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r[i] <= 0x20 || r[i] == 0x7f || r[i] == '\\') return 0;
    return hub_safe_rfilename(r);
}

int gptc_hub_is_repo_name(const char *s) {
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (!repo_ok(s, n)) return 0;
    return !at || rev_ok(at + 1);
}

gptc_status hub_split_name(gptc_ctx *ctx, const char *name, char *repo, size_t repo_cap, char *rev, size_t rev_cap) {
    if (!gptc_hub_is_repo_name(name))
        return gptc_fail(ctx, GPTC_EINVAL,
                         "'%s' is not a repository name (NAME or ORG/NAME, optionally @REVISION; letters, digits, "
                         "'.', '_', '-')", name);
    const char *at = strchr(name, '@');
    size_t n = at ? (size_t)(at - name) : strlen(name);
    if (n >= repo_cap || (at && strlen(at + 1) >= rev_cap)) return gptc_fail(ctx, GPTC_EINVAL, "%s: name too long", name);
    memcpy(repo, name, n);
    repo[n] = 0;
    snprintf(rev, rev_cap, "%s", at ? at + 1 : "");
    return GPTC_OK;
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

int hub_env_offline(void) {
    const char *v = env("HF_HUB_OFFLINE");
    if (!v) v = env("TRANSFORMERS_OFFLINE");
    return v && (!strcasecmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true"));
}

/* "~/x" expanded with $HOME, as Python's expanduser */
static gptc_status expand(gptc_ctx *ctx, char *out, size_t cap, const char *path, const char *tail) {
    const char *home = env("HOME");
    int n;
    if (path[0] == '~' && (path[1] == '/' || path[1] == 0) && home) n = snprintf(out, cap, "%s%s%s", home, path + 1, tail);
    else n = snprintf(out, cap, "%s%s", path, tail);
    if (n < 0 || (size_t)n >= cap) return gptc_fail(ctx, GPTC_EINVAL, "%s%s: path too long", path, tail);
    return GPTC_OK;
}

gptc_status gptc_hub_cache_dir(gptc_ctx *ctx, const gptc_hub_params *p, char *out, size_t cap) {
    const char *v;
    if (p && p->cache_dir) return expand(ctx, out, cap, p->cache_dir, "");
    if ((v = env("HF_HUB_CACHE")) || (v = env("HUGGINGFACE_HUB_CACHE"))) return expand(ctx, out, cap, v, "");
    if ((v = env("HF_HOME"))) return expand(ctx, out, cap, v, "/hub");
    if ((v = env("XDG_CACHE_HOME"))) return expand(ctx, out, cap, v, "/huggingface/hub");
    if (!env("HOME")) return gptc_fail(ctx, GPTC_EINVAL, "no Hugging Face cache: set HF_HUB_CACHE or HF_HOME (HOME is not set)");
    return expand(ctx, out, cap, "~/.cache/huggingface/hub", "");
}

gptc_status hub_repo_dir(gptc_ctx *ctx, const gptc_hub_params *p, const char *repo, char *out, size_t cap) {
    char root[4096], folder[300];
    gptc_status st = gptc_hub_cache_dir(ctx, p, root, sizeof root);
    if (st) return st;
    /* huggingface_hub's repo_folder_name: "models" + "--" + the name's parts */
    size_t k = (size_t)snprintf(folder, sizeof folder, "models--");
    for (const char *c = repo; *c && k + 3 < sizeof folder; c++) {
        if (*c == '/') { folder[k++] = '-'; folder[k++] = '-'; }
        else folder[k++] = *c;
    }
    folder[k] = 0;
    return gptc_path_join(ctx, out, cap, root, folder);
}

int hub_read_ref(const char *repo_dir, const char *rev, char *commit) {
    char path[4400], buf[64];
    commit[0] = 0;
    if (snprintf(path, sizeof path, "%s/refs/%s", repo_dir, rev) >= (int)sizeof path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
    buf[n] = 0;
    if (!hub_is_hex(buf, 40)) return 0;
    memcpy(commit, buf, 41);
    return 1;
}

gptc_status hub_blob_link(gptc_ctx *ctx, const char *rfilename, const char *etag, char *out, size_t cap) {
    size_t k = 0, depth = 2;
    for (const char *c = rfilename; *c; c++) depth += *c == '/';
    for (size_t i = 0; i < depth; i++) {
        if (k + 3 >= cap) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too deep", rfilename);
        memcpy(out + k, "../", 3);
        k += 3;
    }
    int n = snprintf(out + k, cap - k, "blobs/%s", etag);
    if (n < 0 || (size_t)n >= cap - k) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", rfilename);
    return GPTC_OK;
}

gptc_status gptc_hub_lookup(gptc_ctx *ctx, const char *name, const gptc_hub_params *params, gptc_hub_result *out,
                            int *found) {
    gptc_hub_params dp = gptc_hub_default_params();
    const gptc_hub_params *p = params ? params : &dp;
    char rev[256], repo_dir[4096];
    memset(out, 0, sizeof *out);
    *found = 0;
    gptc_status st = hub_split_name(ctx, name, out->repo, sizeof out->repo, rev, sizeof rev);
    if (st) return st;
    if (!rev[0]) snprintf(rev, sizeof rev, "%s", p->revision ? p->revision : "main");
    if (!rev_ok(rev)) return gptc_fail(ctx, GPTC_EINVAL, "%s: '%s' is not a revision name", name, rev);
    snprintf(out->revision, sizeof out->revision, "%s", rev);
    if ((st = hub_repo_dir(ctx, p, out->repo, repo_dir, sizeof repo_dir))) return st;
    /* huggingface_hub: a revision that is a commit id is a snapshot name itself */
    if (hub_is_hex(rev, 40)) {
        for (int i = 0; i < 40; i++) out->commit[i] = (char)(rev[i] | 0x20 * (rev[i] >= 'A' && rev[i] <= 'F'));
        out->commit[40] = 0;
    } else if (!hub_read_ref(repo_dir, rev, out->commit)) return GPTC_OK;
    int n = snprintf(out->dir, sizeof out->dir, "%s/snapshots/%s", repo_dir, out->commit);
    if (n < 0 || (size_t)n >= sizeof out->dir) return gptc_fail(ctx, GPTC_EINVAL, "%s: cache path too long", repo_dir);
    DIR *d = opendir(out->dir);
    if (!d) { out->dir[0] = 0; return GPTC_OK; }
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') out->n_files++;
    closedir(d);
    out->from_cache = 1;
    *found = 1;
    return GPTC_OK;
}

static int has(const char *dir, const char *name) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return gptc_file_exists(path);
}

/* config.json and weights: what a model load reads (a tokenizer alone is not a model);
 * for a tokenizer, one of the files gptc_tokenizer_load reads */
static int snapshot_complete(const char *dir, int tokenizer_only) {
    if (tokenizer_only)
        return has(dir, "tokenizer.json") || has(dir, "vocab.json") || has(dir, "vocab.txt") ||
               has(dir, "tokenizer.model") || has(dir, "encoder.json");
    return has(dir, "config.json") && (has(dir, "model.safetensors") || has(dir, "model.safetensors.index.json") ||
                                       has(dir, "adapter_model.safetensors"));
}

gptc_status gptc_hub_resolve(gptc_ctx *ctx, const char *arg, const gptc_hub_params *params, char *out, size_t cap,
                             int *pulled) {
    struct stat sb;
    if (pulled) *pulled = 0;
    if (stat(arg, &sb) == 0 || !gptc_hub_is_repo_name(arg)) {
        if (strlen(arg) >= cap) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", arg);
        memcpy(out, arg, strlen(arg) + 1);
        return GPTC_OK;
    }
    gptc_hub_params dp = gptc_hub_default_params();
    const gptc_hub_params *p = params ? params : &dp;
    int offline = p->offline < 0 ? hub_env_offline() : p->offline;
    gptc_hub_result r;
    int found;
    gptc_status st = gptc_hub_lookup(ctx, arg, p, &r, &found);
    if (st) return st;
    char cache[4096];
    if (!(found && (offline || snapshot_complete(r.dir, p->tokenizer_only)))) {
        if ((st = gptc_hub_cache_dir(ctx, p, cache, sizeof cache))) return st;
        if (offline)
            return gptc_fail(ctx, GPTC_ENET,
                             "%s: no such directory, and the repository %s@%s is not in the Hugging Face cache %s "
                             "(offline: HF_HUB_OFFLINE is set; pull it with `gptc pull %s` while online)",
                             arg, r.repo, r.revision, cache, r.repo);
        gptc_hub_params pp = *p;
        if (p->tokenizer_only && !(p->include && p->n_include)) {
            pp.include = gptc_hub_tokenizer_include;
            pp.n_include = 4;
        }
        st = gptc_hub_pull(ctx, arg, &pp, &r);
        if (st == GPTC_ENET && !found)
            return gptc_fail_prefix(ctx, st, "%s: not a directory here, nor a repository the Hub gives", arg);
        if (st) return st;
        if (pulled) *pulled = 1;
    }
    if (strlen(r.dir) >= cap) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", r.dir);
    memcpy(out, r.dir, strlen(r.dir) + 1);
    return GPTC_OK;
}
