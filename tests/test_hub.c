/* test_hub.c: the Hub client's pure parts (src/hub/): SHA-256 and SHA-1 against FIPS
 * 180-4's test vectors (and the git blob id `git hash-object` gives for "hello\n"), the
 * response header parser (statuses, redirects, Content-Range, broken values), ETag
 * normalization as huggingface_hub's _normalize_etag, the repository info JSON with
 * broken inputs, file-name and repository-name checks, globs against Python's fnmatch
 * (expected values computed with fnmatch.fnmatchcase), the cache paths and symlink text.
 * The network half is tests/t_hub.sh. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"
#include "hub/hub.h"
#include <stdlib.h>

static void hex_of(int sha1, const void *data, size_t n, size_t repeat, char *out) {
    hub_sha s;
    hub_sha_init(&s, sha1);
    for (size_t i = 0; i < repeat; i++) hub_sha_update(&s, data, n);
    hub_sha_final(&s, out);
}

static void test_sha(void) {
    char h[65];
    hex_of(0, "abc", 3, 1, h);
    CHECK("sha256 abc (FIPS 180-4)", !strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "%s", h);
    hex_of(0, "", 0, 1, h);
    CHECK("sha256 empty", !strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "%s", h);
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(0, m448, strlen(m448), 1, h);
    CHECK("sha256 448-bit message", !strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "%s", h);
    hex_of(0, "a", 1, 1000000, h);
    CHECK("sha256 a million 'a' (byte at a time)", !strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "%s", h);
    hex_of(1, "abc", 3, 1, h);
    CHECK("sha1 abc (FIPS 180-4)", !strcmp(h, "a9993e364706816aba3e25717850c26c9cd0d89d"), "%s", h);
    hex_of(1, m448, strlen(m448), 1, h);
    CHECK("sha1 448-bit message", !strcmp(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"), "%s", h);
    /* git hash-object of "hello\n": sha1("blob 6\0hello\n") */
    hub_sha s;
    hub_sha_init(&s, 1);
    hub_sha_update(&s, "blob 6", 7);
    hub_sha_update(&s, "hello\n", 6);
    hub_sha_final(&s, h);
    CHECK("git blob id of hello", !strcmp(h, "ce013625030ba8dba906f756967f9e9ca394464a"), "%s", h);
}

static void lines(hub_headers *h, const char *text) {
    hub_headers_reset(h);
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t k = nl ? (size_t)(nl - text) + 1 : strlen(text);
        hub_header_line(h, text, k);
        text += k;
    }
}

static void test_headers(void) {
    hub_headers h;
    char name[128];
    lines(&h, "HTTP/1.1 302 Found\r\nlocation: https://cdn.example/x?sig=1\r\nX-Linked-Etag: \"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"\r\n"
              "x-linked-size: 6553872\r\nX-Repo-Commit: 0123456789abcdef0123456789abcdef01234567\r\nETag: \"pointer\"\r\n\r\n");
    CHECK("302: status, location, linked size, commit",
          h.status == 302 && !strcmp(h.location, "https://cdn.example/x?sig=1") && h.linked_size == 6553872 &&
              !strcmp(h.commit, "0123456789abcdef0123456789abcdef01234567"), "%ld %s %lld", h.status, h.location, h.linked_size);
    CHECK("X-Linked-Etag wins over ETag", hub_blob_name(&h, name, sizeof name) &&
          !strcmp(name, "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"), "%s", name);
    lines(&h, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /a/b\r\nX-Linked-Size: 5\r\n\r\nHTTP/2 200\r\nETag: W/\"d822abf1\"\r\nContent-Length: 729\r\n");
    CHECK("a new status line resets the headers", h.status == 200 && !h.location[0] && h.linked_size == -1 &&
          h.content_length == 729, "%ld '%s' %lld", h.status, h.location, h.linked_size);
    CHECK("weak ETag normalized", hub_blob_name(&h, name, sizeof name) && !strcmp(name, "d822abf1"), "%s", name);
    lines(&h, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/200\r\n");
    CHECK("Content-Range parsed", h.range_start == 100 && h.range_total == 200, "%lld %lld", h.range_start, h.range_total);
    lines(&h, "HTTP/1.1 206 x\r\nContent-Range: bytes 5-3/200\r\nContent-Length: -1\r\nX-Linked-Size: 12a\r\n");
    CHECK("disordered range, negative and malformed sizes rejected",
          h.range_start == -1 && h.content_length == -1 && h.linked_size == -1, "%lld %lld %lld", h.range_start,
          h.content_length, h.linked_size);
    lines(&h, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\nETag: \"../../x\"\r\n");
    CHECK("overflowing size and a path as ETag rejected", h.content_length == -1 && !hub_blob_name(&h, name, sizeof name) &&
          !name[0], "%lld %s", h.content_length, name);
    lines(&h, "HTTP/1.1 404 Not Found\r\nX-Error-Code: RepoNotFound\r\nX-Error-Message: Repository not found\r\n");
    CHECK("error code and message", h.status == 404 && !strcmp(h.error_code, "RepoNotFound") &&
          !strcmp(h.error_message, "Repository not found"), "%s %s", h.error_code, h.error_message);
    lines(&h, "garbage\r\nHTTP/1.1 2\r\n: x\r\nETag:\r\n");
    CHECK("junk lines ignored", h.status == 0 && !hub_blob_name(&h, name, sizeof name), "%ld", h.status);
}

static void test_repo_info(gptc_ctx *ctx) {
    hub_repo_info ri;
    const char *ok = "{\"id\":\"a/b\",\"sha\":\"0123456789ABCDEF0123456789abcdef01234567\",\"siblings\":"
                     "[{\"rfilename\":\"config.json\"},{\"rfilename\":\"onnx/model.onnx\"}],\"private\":false}";
    gptc_status s = hub_parse_repo_info(ctx, "U", ok, strlen(ok), &ri);
    CHECK("repo info parsed", !s && ri.n_files == 2 && !strcmp(ri.files[1], "onnx/model.onnx") &&
          !strcmp(ri.sha, "0123456789abcdef0123456789abcdef01234567"), "%s", gptc_errmsg(ctx));
    hub_repo_info_free(&ri);
    static const struct { const char *json, *msg; } bad[] = {
        {"{\"sha\":\"0123", "not JSON"},
        {"[]", "not a JSON object"},
        {"{\"siblings\":[]}", "\"sha\""},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef0123456\",\"siblings\":[]}", "\"sha\""},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\"}", "\"siblings\""},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{\"x\":1}]}", "siblings[0]"},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{\"rfilename\":\"../x\"}]}", "safe"},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{\"rfilename\":\"/etc/x\"}]}", "safe"},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{\"rfilename\":\"a\\u0000b\"}]}", "not JSON"},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{\"rfilename\":\"a//b\"}]}", "safe"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char tag[96];
        snprintf(tag, sizeof tag, "broken repo info %zu rejected naming the URL", i);
        s = hub_parse_repo_info(ctx, "http://h/api/models/a/b", bad[i].json, strlen(bad[i].json), &ri);
        CHECK(tag, s == GPTC_EFORMAT && strstr(gptc_errmsg(ctx), "http://h/api/models/a/b") && strstr(gptc_errmsg(ctx), bad[i].msg),
              "%d %s", s, gptc_errmsg(ctx));
        hub_repo_info_free(&ri);
    }
}

static void test_names(gptc_ctx *ctx) {
    static const struct { const char *s; int ok; } names[] = {
        {"gpt2", 1}, {"openai-community/gpt2", 1}, {"a/b@main", 1}, {"a/b@refs/pr/1", 1}, {"a.b_c-d/e", 1},
        {"a/b/c", 0}, {"./m", 0}, {"/abs", 0}, {"a--b/c", 0}, {"a/b..c", 0}, {"-a/b", 0}, {"a/b.", 0},
        {"", 0}, {"a/", 0}, {"a/b@", 0}, {"a/b@x/../y", 0}, {"runs/x/model", 0}, {"a b", 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (gptc_hub_is_repo_name(names[i].s) != names[i].ok) {
            printf("  %s: %d\n", names[i].s, !names[i].ok);
            bad++;
        }
    CHECK("repository names as the Hub spells them", !bad, "%d wrong", bad);
    static const struct { const char *p, *n; int m; } globs[] = {
        {"*.json", "config.json", 1}, {"*.json", "onnx/config.json", 1}, {"*.json", "config.jsonl", 0},
        {"model-*.safetensors", "model-00001-of-00002.safetensors", 1}, {"?.txt", "a.txt", 1}, {"?.txt", "ab.txt", 0},
        {"[ab]*", "b.bin", 1}, {"[!ab]*", "b.bin", 0}, {"[!ab]*", "c.bin", 1}, {"[a-c]x", "bx", 1}, {"[a-c]x", "dx", 0},
        {"[]]x", "]x", 1}, {"[x", "[x", 1}, {"onnx/", "onnx/model.onnx", 1}, {"*", "a/b/c", 1}, {"a*b*c", "aXXbYYc", 1},
        {"a*b*c", "aXXbYY", 0}, {"merges.txt", "merges.txt", 1}, {"*.model", "tokenizer.model", 1}, {"**.json", "x/y.json", 1},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++)
        if (hub_glob_match(globs[i].p, globs[i].n) != globs[i].m) {
            printf("  %s ~ %s: %d\n", globs[i].p, globs[i].n, !globs[i].m);
            bad++;
        }
    CHECK("globs as Python's fnmatch", !bad, "%d wrong", bad);
    char link[256];
    CHECK("symlink text ../../blobs/E", !hub_blob_link(ctx, "config.json", "e1", link, sizeof link) && !strcmp(link, "../../blobs/e1"), "%s", link);
    CHECK("symlink text for a nested file", !hub_blob_link(ctx, "a/b/c.json", "e1", link, sizeof link) &&
          !strcmp(link, "../../../../blobs/e1"), "%s", link);
    char dir[4096], repo[256], rev[256];
    gptc_hub_params p = gptc_hub_default_params();
    p.cache_dir = "/c";
    CHECK("models--ORG--NAME", !hub_repo_dir(ctx, &p, "openai-community/gpt2", dir, sizeof dir) &&
          !strcmp(dir, "/c/models--openai-community--gpt2"), "%s", dir);
    CHECK("NAME@REV split", !hub_split_name(ctx, "a/b@v1.0", repo, sizeof repo, rev, sizeof rev) && !strcmp(repo, "a/b") &&
          !strcmp(rev, "v1.0"), "%s %s", repo, rev);
    setenv("HF_HUB_CACHE", "", 1);
    setenv("HF_HOME", "/h", 1);
    CHECK("cache: HF_HOME/hub", !gptc_hub_cache_dir(ctx, NULL, dir, sizeof dir) && !strcmp(dir, "/h/hub"), "%s", dir);
    setenv("HF_HUB_CACHE", "~/x", 1);
    setenv("HOME", "/home/u", 1);
    CHECK("cache: HF_HUB_CACHE first, ~ expanded", !gptc_hub_cache_dir(ctx, NULL, dir, sizeof dir) && !strcmp(dir, "/home/u/x"), "%s", dir);
    unsetenv("HF_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("XDG_CACHE_HOME");
    CHECK("cache: ~/.cache/huggingface/hub", !gptc_hub_cache_dir(ctx, NULL, dir, sizeof dir) &&
          !strcmp(dir, "/home/u/.cache/huggingface/hub"), "%s", dir);
    setenv("HF_HUB_OFFLINE", "yes", 1);
    int off1 = hub_env_offline();
    setenv("HF_HUB_OFFLINE", "0", 1);
    int off0 = hub_env_offline();
    unsetenv("HF_HUB_OFFLINE");
    CHECK("HF_HUB_OFFLINE read as huggingface_hub does", off1 == 1 && off0 == 0, "%d %d", off1, off0);
    gptc_hub_params op = gptc_hub_default_params();
    op.cache_dir = "/nonexistent-gptc-cache";
    op.offline = 1;
    gptc_hub_result r;
    gptc_status s = gptc_hub_pull(ctx, "a/b", &op, &r);
    CHECK("offline pull of what is not cached: GPTC_ENET naming the cache", s == GPTC_ENET &&
          strstr(gptc_errmsg(ctx), "/nonexistent-gptc-cache"), "%d %s", s, gptc_errmsg(ctx));
    s = gptc_hub_resolve(ctx, "./not/a/repo", &op, dir, sizeof dir, NULL);
    CHECK("resolve: a path stays a path", !s && !strcmp(dir, "./not/a/repo"), "%s", dir);
}

int main(void) {
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    test_sha();
    test_headers();
    test_repo_info(ctx);
    test_names(ctx);
    gptc_ctx_free(ctx);
    return test_exit();
}
