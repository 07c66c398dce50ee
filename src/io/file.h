/* file.h: whole-file reads, read-only memory maps and atomic writes (temp file, fsync,
 * rename). Every message names the path. Parsing is left to the format readers. */
#ifndef GPTC_IO_FILE_H
#define GPTC_IO_FILE_H

#include "../core/core.h"

/* A read-only view of a whole file: memory-mapped when possible. */
typedef struct gptc_mapped {
    const unsigned char *data;
    size_t size;
    int is_mmap;
} gptc_mapped;

gptc_status gptc_file_map(gptc_ctx *ctx, const char *path, gptc_mapped *out);
void gptc_file_unmap(gptc_mapped *m);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (free with gptc_free). */
gptc_status gptc_file_read(gptc_ctx *ctx, const char *path, char **data, size_t *size);
int gptc_file_exists(const char *path);

/* Atomic write: the pieces are written to "<path>.tmp.<pid>", fsync'ed, renamed over
 * path, and the directory is fsync'ed. On failure the old file at path is untouched
 * and the temp file removed. */
typedef struct gptc_iovec { const void *data; size_t size; } gptc_iovec;
gptc_status gptc_file_write_atomic(gptc_ctx *ctx, const char *path, const gptc_iovec *parts, int n_parts);
/* The same for streaming writers: open, write (any number), then commit or abort. */
typedef struct gptc_atomic_file { FILE *f; char path[4096]; char tmp[4200]; } gptc_atomic_file;
gptc_status gptc_atomic_open(gptc_ctx *ctx, gptc_atomic_file *af, const char *path);
gptc_status gptc_atomic_write(gptc_ctx *ctx, gptc_atomic_file *af, const void *data, size_t n);
gptc_status gptc_atomic_commit(gptc_ctx *ctx, gptc_atomic_file *af);
void gptc_atomic_abort(gptc_atomic_file *af);

/* mkdir -p. */
gptc_status gptc_mkdirs(gptc_ctx *ctx, const char *path);
/* dir + "/" + name into out (fails with GPTC_EINVAL when it does not fit). */
gptc_status gptc_path_join(gptc_ctx *ctx, char *out, size_t cap, const char *dir, const char *name);



/* Copies src to dst atomically. */
gptc_status gptc_file_copy(gptc_ctx *ctx, const char *src, const char *dst);
/* Copies every regular file of src_dir into dst_dir (not recursive). */
gptc_status gptc_dir_copy_files(gptc_ctx *ctx, const char *src_dir, const char *dst_dir);
/* Removes a directory tree (best effort; used for stale temp and old checkpoints). */
void gptc_remove_tree(const char *path);
#endif
