/* file.c: see file.h. POSIX only (mmap, fsync, rename). */
#define _GNU_SOURCE
#include "../core/core.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int gptc_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

gptc_status gptc_file_map(gptc_ctx *ctx, const char *path, gptc_mapped *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return gptc_fail(ctx, GPTC_EIO, "%s: is a directory, expected a file", path);
    }
    out->size = (size_t)st.st_size;
    if (out->size == 0) {
        close(fd);
        out->data = (const unsigned char *)"";
        return GPTC_OK;
    }
    void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return gptc_fail(ctx, GPTC_EIO, "%s: cannot map: %s", path, strerror(errno));
    out->data = p;
    out->is_mmap = 1;
    return GPTC_OK;
}

void gptc_file_unmap(gptc_mapped *m) {
    if (m->is_mmap) munmap((void *)m->data, m->size);
    memset(m, 0, sizeof *m);
}

gptc_status gptc_file_map_private(gptc_ctx *ctx, const char *path, void **out, size_t *size) {
    *out = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        return gptc_fail(ctx, GPTC_EIO, "%s: not a non-empty regular file", path);
    }
    /* populated read-only (MAP_POPULATE on a writable private mapping would copy every
     * page), then made writable: the pages stay the page cache's until written */
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return gptc_fail(ctx, GPTC_EIO, "%s: cannot map: %s", path, strerror(e));
    if (mprotect(p, (size_t)st.st_size, PROT_READ | PROT_WRITE) != 0) {
        e = errno;
        munmap(p, (size_t)st.st_size);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot map writable: %s", path, strerror(e));
    }
    *out = p;
    *size = (size_t)st.st_size;
    return GPTC_OK;
}

void gptc_file_unmap_private(void *p, size_t size) {
    if (p) munmap(p, size);
}

gptc_status gptc_file_read(gptc_ctx *ctx, const char *path, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory reading", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return gptc_fail(ctx, GPTC_ENOMEM, "%s: out of memory reading", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return gptc_fail(ctx, GPTC_EIO, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return GPTC_OK;
}

/* Random letters from the kernel (getrandom, else /dev/urandom, else the clock and the
 * address of a local: still unpredictable enough, and O_EXCL keeps it safe anyway). */
static void random_letters(char *out, size_t n) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[32];
    size_t got = 0;
    if (n > sizeof r) n = sizeof r;
#ifdef SYS_getrandom
    long k = syscall(SYS_getrandom, r, n, 1 /* GRND_NONBLOCK */);
    if (k > 0) got = (size_t)k;
#endif
    if (got < n) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t k2 = read(fd, r + got, n - got);
            if (k2 > 0) got += (size_t)k2;
            close(fd);
        }
    }
    if (got < n) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)&ts ^
                     ((uint64_t)getpid() << 40);
        for (size_t i = got; i < n; i++) r[i] = (unsigned char)(gptc_splitmix64(&x) >> 56);
    }
    for (size_t i = 0; i < n; i++) out[i] = abc[r[i] % (sizeof abc - 1)];
    out[n] = 0;
}

gptc_status gptc_temp_name(gptc_ctx *ctx, char *out, size_t cap, const char *path, const char *kind) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    char rnd[16];
    random_letters(rnd, 10);
    if (snprintf(out, cap, "%.*s.%s.gptc-%s.%ld.%s", dir_len, path, base, kind, (long)getpid(), rnd) >= (int)cap)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    return GPTC_OK;
}

gptc_status gptc_atomic_open(gptc_ctx *ctx, gptc_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    strcpy(af->path, path);
    /* a fresh, unpredictable name that is never an existing file or symlink */
    for (int attempt = 0;; attempt++) {
        gptc_status s = gptc_temp_name(ctx, af->tmp, sizeof af->tmp, path, "tmp");
        if (s) return s;
        int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) {
            af->f = fdopen(fd, "wb");
            if (!af->f) {
                int e = errno;
                close(fd);
                unlink(af->tmp);
                af->tmp[0] = 0;
                return gptc_fail(ctx, GPTC_EIO, "%s: cannot create: %s", path, strerror(e));
            }
            return GPTC_OK;
        }
        if (errno != EEXIST || attempt >= 100) {
            int e = errno;
            af->tmp[0] = 0;
            return gptc_fail(ctx, GPTC_EIO, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
        }
    }
}

gptc_status gptc_file_open_nofollow(gptc_ctx *ctx, const char *path, int append, FILE **out) {
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP) return gptc_fail(ctx, GPTC_EIO, "%s: is a symbolic link; refusing to write through it", path);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return gptc_fail(ctx, GPTC_EIO, "%s: not a regular file", path);
    }
    *out = fdopen(fd, append ? "ab" : "wb");
    if (!*out) {
        int e = errno;
        close(fd);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    return GPTC_OK;
}

gptc_status gptc_atomic_write(gptc_ctx *ctx, gptc_atomic_file *af, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, af->f) != n) {
        int e = errno;
        gptc_atomic_abort(af);
        return gptc_fail(ctx, GPTC_EIO, "%s: write failed: %s", af->path, strerror(e));
    }
    return GPTC_OK;
}

gptc_status gptc_fsync_dir(gptc_ctx *ctx, const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open directory to sync it: %s", dir, strerror(errno));
    /* some file systems cannot sync a directory (EINVAL): nothing is lost by that */
    int bad = fsync(fd) != 0 && errno != EINVAL && errno != EROFS;
    int e = errno;
    close(fd);
    if (bad) return gptc_fail(ctx, GPTC_EIO, "%s: cannot sync directory: %s", dir, strerror(e));
    return GPTC_OK;
}

gptc_status gptc_fsync_parent(gptc_ctx *ctx, const char *path) {
    char copy[4096];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    return gptc_fsync_dir(ctx, dirname(copy));
}

gptc_status gptc_atomic_commit(gptc_ctx *ctx, gptc_atomic_file *af) {
    /* ferror: a write that failed earlier in the stream's buffering (full disk) */
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int e = ferror(af->f) && !errno ? EIO : errno;
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    af->f = NULL;
    if (bad) {
        unlink(af->tmp);
        return gptc_fail(ctx, GPTC_EIO, "%s: write failed: %s", af->path, strerror(e));
    }
    if (rename(af->tmp, af->path) != 0) {
        e = errno;
        unlink(af->tmp);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot replace: %s", af->path, strerror(e));
    }
    return gptc_fsync_parent(ctx, af->path);
}

void gptc_atomic_abort(gptc_atomic_file *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp[0]) unlink(af->tmp);
}

gptc_status gptc_file_write_atomic(gptc_ctx *ctx, const char *path, const gptc_iovec *parts, int n_parts) {
    gptc_atomic_file af;
    gptc_status s = gptc_atomic_open(ctx, &af, path);
    for (int i = 0; s == GPTC_OK && i < n_parts; i++) s = gptc_atomic_write(ctx, &af, parts[i].data, parts[i].size);
    return s == GPTC_OK ? gptc_atomic_commit(ctx, &af) : s;
}

gptc_status gptc_mkdirs(gptc_ctx *ctx, const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return gptc_fail(ctx, GPTC_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return gptc_fail(ctx, GPTC_EIO, "%s: not a directory", path);
    return GPTC_OK;
}

gptc_status gptc_path_join(gptc_ctx *ctx, char *out, size_t cap, const char *dir, const char *name) {
    if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
        return gptc_fail(ctx, GPTC_EINVAL, "%s/%s: path too long", dir, name);
    return GPTC_OK;
}

gptc_status gptc_file_copy(gptc_ctx *ctx, const char *src, const char *dst) {
    gptc_mapped m;
    gptc_status s = gptc_file_map(ctx, src, &m);
    if (s) return s;
    gptc_iovec part = {m.data, m.size};
    s = gptc_file_write_atomic(ctx, dst, &part, 1);
    gptc_file_unmap(&m);
    return s;
}

#include <dirent.h>
gptc_status gptc_dir_copy_files(gptc_ctx *ctx, const char *src_dir, const char *dst_dir) {
    DIR *d = opendir(src_dir);
    if (!d) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open directory: %s", src_dir, strerror(errno));
    gptc_status s = GPTC_OK;
    struct dirent *e;
    while (s == GPTC_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char a[4096], b[4096];
        struct stat st;
        if ((s = gptc_path_join(ctx, a, sizeof a, src_dir, e->d_name))) break;
        if (stat(a, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if ((s = gptc_path_join(ctx, b, sizeof b, dst_dir, e->d_name))) break;
        s = gptc_file_copy(ctx, a, b);
    }
    closedir(d);
    return s;
}

/* Removes the entries of the directory open as fd, never following a symlink: each
 * subdirectory is opened relative to its parent with O_NOFOLLOW. Consumes fd. */
static int remove_entries(int fd, int depth) {
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (unlinkat(fd, e->d_name, 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) {
            rc = -1;
            continue;
        }
        int sub = depth < 64 ? openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (sub < 0 || remove_entries(sub, depth + 1) != 0 || unlinkat(fd, e->d_name, AT_REMOVEDIR) != 0) rc = -1;
    }
    closedir(d);
    return rc;
}

int gptc_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path); /* a file or a symlink: the link itself */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = remove_entries(fd, 0);
    if (rmdir(path) != 0) rc = -1;
    return rc;
}
