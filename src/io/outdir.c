/* outdir.c: output directories written as a whole (see file.h, gptc_outdir): built in a
 * fresh temp directory beside the target, fsync'ed, then swapped in with one rename
 * (RENAME_EXCHANGE where the target exists), so a reader sees the old or the new
 * directory, never a mix. Also atomic removal and the clean-up of killed runs' temps.
 * What goes into the directory is the writers' business. POSIX + Linux's renameat2. */
#define _GNU_SOURCE
#include "../core/core.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

const char *const gptc_tokenizer_dir_names[] = {
    "vocab.json", "merges.txt", "vocab.txt", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
    "added_tokens.json", "encoder.json", "vocab.bpe", NULL};
const char *const gptc_model_dir_names[] = {
    "config.json", "model.safetensors", "generation_config.json", "adapter_config.json",
    "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json", "vocab.json", "merges.txt",
    "vocab.txt", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "added_tokens.json", "encoder.json",
    "vocab.bpe", "source.spm", "target.spm", "target_vocab.json", NULL};

/* Swaps two paths atomically; -1 with errno ENOSYS/EINVAL where the kernel or the file
 * system cannot. */
static int rename_exchange(const char *a, const char *b) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
    (void)a;
    (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

/* Splits path (trailing slashes dropped) into parent and name; refuses ".", ".." and "". */
static gptc_status split_path(gptc_ctx *ctx, const char *path, char *clean, size_t cap, char *parent, size_t pcap) {
    if (snprintf(clean, cap, "%s", path) >= (int)cap) return gptc_fail(ctx, GPTC_EINVAL, "%s: path too long", path);
    size_t n = strlen(clean);
    while (n > 1 && clean[n - 1] == '/') clean[--n] = 0;
    char *slash = strrchr(clean, '/');
    const char *base = slash ? slash + 1 : clean;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return gptc_fail(ctx, GPTC_EINVAL, "%s: name the output directory itself (not '.', '..' or '/')", path);
    if (!slash) snprintf(parent, pcap, ".");
    else if (slash == clean) snprintf(parent, pcap, "/");
    else snprintf(parent, pcap, "%.*s", (int)(slash - clean), clean);
    return GPTC_OK;
}

/* ------------------------------------------------------------------ stale temps */
static int pid_dead(long pid) { return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH; }

/* The pid in ".<name>.gptc-tmp.<pid>.<10 letters>" (or gptc-old), else 0. */
static long temp_pid(const char *name) {
    if (name[0] != '.') return 0;
    const char *g = strstr(name, ".gptc-");
    if (!g) return 0;
    g += 6;
    if (strncmp(g, "tmp.", 4) && strncmp(g, "old.", 4)) return 0;
    char *e;
    long pid = strtol(g + 4, &e, 10);
    if (e == g + 4 || *e != '.' || strlen(e + 1) != 10) return 0;
    return pid;
}

/* The pid of what gptc 0.x named its temps in run and checkpoint directories:
 * ".tmp-step-N.<pid>", ".tmp-model.<pid>", "<name>.old.<pid>", "<name>.tmp.<pid>". */
static long legacy_pid(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || !dot[1]) return 0;
    char *e;
    long pid = strtol(dot + 1, &e, 10);
    if (*e || pid <= 0) return 0;
    size_t head = (size_t)(dot - name);
    if (!strncmp(name, ".tmp-step-", 10) || (head == 10 && !strncmp(name, ".tmp-model", 10))) return pid;
    if (head > 4 && (!strncmp(dot - 4, ".old", 4) || !strncmp(dot - 4, ".tmp", 4))) return pid;
    return 0;
}

void gptc_dir_clean_stale(const char *dir, int legacy) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name);
        if (!pid && legacy) pid = legacy_pid(e->d_name);
        if (!pid_dead(pid)) continue;
        char p[4400];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
        gptc_remove_tree(p);
    }
    closedir(d);
}

gptc_status gptc_remove_dir_atomic(gptc_ctx *ctx, const char *path) {
    char aside[4400];
    gptc_status s = gptc_temp_name(ctx, aside, sizeof aside, path, "old");
    if (s) return s;
    if (rename(path, aside) != 0) {
        if (errno == ENOENT) return GPTC_OK;
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot move aside to remove it: %s", path, strerror(errno));
    }
    s = gptc_fsync_parent(ctx, path);
    gptc_remove_tree(aside); /* a kill here leaves a stale temp for gptc_dir_clean_stale */
    return s;
}

/* ------------------------------------------------------------------ begin, commit */
gptc_status gptc_outdir_begin(gptc_ctx *ctx, gptc_outdir *od, const char *path, const char *const *owned) {
    memset(od, 0, sizeof *od);
    od->owned = owned;
    char parent[4096];
    gptc_status s = split_path(ctx, path, od->path, sizeof od->path, parent, sizeof parent);
    if (s) return s;
    struct stat st;
    if (lstat(od->path, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return gptc_fail(ctx, GPTC_EINVAL, "%s: is a symbolic link; refusing to replace it (give the directory "
                                               "it points to)", path);
        if (!S_ISDIR(st.st_mode)) return gptc_fail(ctx, GPTC_EINVAL, "%s: exists and is not a directory", path);
    } else if (errno != ENOENT) {
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if ((s = gptc_mkdirs(ctx, parent))) return s;
    gptc_dir_clean_stale(parent, 0);
    for (int attempt = 0;; attempt++) {
        if ((s = gptc_temp_name(ctx, od->tmp, sizeof od->tmp, od->path, "tmp"))) return s;
        if (mkdir(od->tmp, 0777) == 0) break; /* fails on anything already there, a symlink included */
        if (errno != EEXIST || attempt >= 100) {
            int e = errno;
            od->tmp[0] = 0;
            return gptc_fail(ctx, GPTC_EIO, "%s: cannot create a temporary directory beside it: %s", path,
                             strerror(e));
        }
    }
    od->active = 1;
    return GPTC_OK;
}

void gptc_outdir_abort(gptc_outdir *od) {
    if (od->active && od->tmp[0]) gptc_remove_tree(od->tmp);
    od->active = 0;
}

static int is_owned(const gptc_outdir *od, const char *name) {
    for (const char *const *p = od->owned; p && *p; p++)
        if (!strcmp(*p, name)) return 1;
    return 0;
}

/* Copies the regular file name of dir sfd into dir dfd (where a hard link cannot be made). */
static int copy_file_at(int sfd, int dfd, const char *name, mode_t mode) {
    int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) return -1;
    int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) { rc = -1; break; }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w <= 0) { rc = -1; break; }
            off += w;
        }
        if (rc) break;
    }
    close(in);
    if (close(out) != 0) rc = -1;
    return rc;
}

/* Carries entry name of the old directory sfd into the new one dfd: hard links for files
 * and symlinks (the link itself), a copy where links cannot be made, directories
 * recursively. Nothing is followed. */
static int carry_at(int sfd, int dfd, const char *name, int depth) {
    struct stat st;
    if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return -1;
    if (S_ISDIR(st.st_mode)) {
        if (depth > 64 || mkdirat(dfd, name, st.st_mode & 07777) != 0) return -1;
        int s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = s2 >= 0 && d2 >= 0 ? fdopendir(s2) : NULL;
        if (!d) {
            if (s2 >= 0) close(s2);
            if (d2 >= 0) close(d2);
            return -1;
        }
        int rc = 0;
        struct dirent *e;
        while (!rc && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) rc = carry_at(s2, d2, e->d_name, depth + 1);
        closedir(d);
        close(d2);
        return rc;
    }
    if (linkat(sfd, name, dfd, name, 0) == 0) return 0;
    if (S_ISREG(st.st_mode)) return copy_file_at(sfd, dfd, name, st.st_mode);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);
        if (n < 0) return -1;
        target[n] = 0;
        return symlinkat(target, dfd, name);
    }
    return -1; /* sockets, fifos, devices: not carried */
}

/* What the writer does not own in the old directory moves on into the new one. */
static gptc_status carry_over(gptc_ctx *ctx, gptc_outdir *od) {
    int sfd = open(od->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) return gptc_fail(ctx, GPTC_EIO, "%s: cannot open directory: %s", od->path, strerror(errno));
    int dfd = open(od->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(sfd) : NULL;
    if (!d) {
        int e = errno;
        close(sfd);
        if (dfd >= 0) close(dfd);
        return gptc_fail(ctx, GPTC_EIO, "%s: cannot open directory: %s", od->tmp, strerror(e));
    }
    gptc_status s = GPTC_OK;
    struct dirent *e;
    while (!s && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || is_owned(od, e->d_name)) continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) continue; /* written anew */
        if (carry_at(sfd, dfd, e->d_name, 0) != 0)
            s = gptc_fail(ctx, GPTC_EIO, "%s/%s: cannot carry it over into the new directory: %s", od->path,
                          e->d_name, strerror(errno));
    }
    closedir(d);
    close(dfd);
    return s;
}

/* fsync of every file and directory under the directory open as fd (consumed). */
static int sync_tree(int fd, int depth) {
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) { rc = -1; break; }
        if (S_ISLNK(st.st_mode)) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = depth < 64 ? openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
            rc = sub < 0 ? -1 : sync_tree(sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            int f = openat(fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (f < 0 || fsync(f) != 0) rc = -1;
            if (f >= 0) close(f);
        }
    }
    if (!rc && fsync(fd) != 0 && errno != EINVAL) rc = -1;
    closedir(d);
    return rc;
}

gptc_status gptc_outdir_commit(gptc_ctx *ctx, gptc_outdir *od) {
    if (!od->active) return gptc_fail(ctx, GPTC_EINVAL, "%s: output directory not begun", od->path);
    struct stat st;
    int had = lstat(od->path, &st) == 0;
    gptc_status s = GPTC_OK;
    if (had && !S_ISDIR(st.st_mode))
        s = gptc_fail(ctx, GPTC_EINVAL, "%s: is no longer a directory (a symbolic link or a file); not replaced",
                      od->path);
    if (!s && had) s = carry_over(ctx, od);
    if (!s) {
        int fd = open(od->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || sync_tree(fd, 0) != 0)
            s = gptc_fail(ctx, GPTC_EIO, "%s: cannot sync the new files: %s", od->tmp, strerror(errno));
    }
    if (s) {
        gptc_outdir_abort(od);
        return s;
    }
    if (!had) {
        if (rename(od->tmp, od->path) != 0) {
            s = gptc_fail(ctx, GPTC_EIO, "%s: cannot rename into place: %s", od->path, strerror(errno));
            gptc_outdir_abort(od);
            return s;
        }
        od->active = 0;
        return gptc_fsync_parent(ctx, od->path);
    }
    if (rename_exchange(od->tmp, od->path) == 0) {
        /* od->tmp now holds the old directory */
        s = gptc_fsync_parent(ctx, od->path);
        gptc_remove_tree(od->tmp);
        od->active = 0;
        return s;
    }
    if (errno != ENOSYS && errno != EINVAL && errno != ENOTSUP) {
        s = gptc_fail(ctx, GPTC_EIO, "%s: cannot swap the new directory in: %s", od->path, strerror(errno));
        gptc_outdir_abort(od);
        return s;
    }
    /* no RENAME_EXCHANGE here: old aside, new in (a short window without od->path) */
    char aside[4400];
    if ((s = gptc_temp_name(ctx, aside, sizeof aside, od->path, "old"))) {
        gptc_outdir_abort(od);
        return s;
    }
    if (rename(od->path, aside) != 0) {
        s = gptc_fail(ctx, GPTC_EIO, "%s: cannot move aside: %s", od->path, strerror(errno));
        gptc_outdir_abort(od);
        return s;
    }
    if (rename(od->tmp, od->path) != 0) {
        int e = errno;
        if (rename(aside, od->path) != 0)
            s = gptc_fail(ctx, GPTC_EIO, "%s: cannot rename into place (%s); the old directory is at %s", od->path,
                          strerror(e), aside);
        else s = gptc_fail(ctx, GPTC_EIO, "%s: cannot rename into place: %s", od->path, strerror(e));
        gptc_outdir_abort(od);
        return s;
    }
    od->active = 0;
    s = gptc_fsync_parent(ctx, od->path);
    gptc_remove_tree(aside);
    return s;
}
