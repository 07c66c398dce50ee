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

/* Atomic write: the pieces are written to a fresh temp file beside path
 * (".<name>.gptc-tmp.<pid>.<random>", created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 * planted file or symlink is never followed), fsync'ed, renamed over path (a symlink at
 * path is replaced, not followed), and the directory is fsync'ed, every result checked.
 * On failure the old file at path is untouched and the temp file removed. */
typedef struct gptc_iovec { const void *data; size_t size; } gptc_iovec;
gptc_status gptc_file_write_atomic(gptc_ctx *ctx, const char *path, const gptc_iovec *parts, int n_parts);
/* The same for streaming writers: open, write (any number), then commit or abort. */
typedef struct gptc_atomic_file { FILE *f; char path[4096]; char tmp[4200]; } gptc_atomic_file;
gptc_status gptc_atomic_open(gptc_ctx *ctx, gptc_atomic_file *af, const char *path);
gptc_status gptc_atomic_write(gptc_ctx *ctx, gptc_atomic_file *af, const void *data, size_t n);
gptc_status gptc_atomic_commit(gptc_ctx *ctx, gptc_atomic_file *af);
void gptc_atomic_abort(gptc_atomic_file *af);

/* Opens path for writing in place (append: at its end, else truncated; created when
 * missing) without following a symlink at path: a symlink there is an error naming the
 * path (ELOOP), so a planted link never redirects the writes. For logs that grow while
 * a run goes on (metrics.jsonl); whole files go through gptc_file_write_atomic. */
gptc_status gptc_file_open_nofollow(gptc_ctx *ctx, const char *path, int append, FILE **out);

/* mkdir -p. */
gptc_status gptc_mkdirs(gptc_ctx *ctx, const char *path);
/* dir + "/" + name into out (fails with GPTC_EINVAL when it does not fit). */
gptc_status gptc_path_join(gptc_ctx *ctx, char *out, size_t cap, const char *dir, const char *name);



/* Copies src to dst atomically. */
gptc_status gptc_file_copy(gptc_ctx *ctx, const char *src, const char *dst);
/* Copies every regular file of src_dir into dst_dir (not recursive). */
gptc_status gptc_dir_copy_files(gptc_ctx *ctx, const char *src_dir, const char *dst_dir);
/* Removes a directory tree without following symlinks (a symlink is removed itself,
 * never what it points to). 0 when all is gone, -1 otherwise (best effort). */
int gptc_remove_tree(const char *path);

/* "<dir>/.<name>.gptc-<kind>.<pid>.<10 random letters>" for path "<dir>/<name>": the
 * names of temp files and directories beside path (gptc_dir_clean_stale knows them). */
gptc_status gptc_temp_name(gptc_ctx *ctx, char *out, size_t cap, const char *path, const char *kind);
/* fsync of a directory / of the directory holding path; the result is checked. */
gptc_status gptc_fsync_dir(gptc_ctx *ctx, const char *dir);
gptc_status gptc_fsync_parent(gptc_ctx *ctx, const char *path);

/* An output directory written as a whole (outdir.c). begin creates a fresh directory
 * od->tmp beside path (".<name>.gptc-tmp.<pid>.<random>", mkdir'ed so it is never an
 * existing file or symlink) and removes the temps of dead processes there; the writer
 * fills od->tmp; commit carries over from an existing path every entry whose name is
 * not in owned (NULL-terminated: the names this writer manages, so stale files of an
 * earlier model never survive while a user's own files do), fsyncs every file, swaps
 * od->tmp in (renameat2 RENAME_EXCHANGE; rename aside + rename in where that is not
 * supported), fsyncs the parent and removes the old tree. A reader sees the complete
 * old or the complete new directory. A symlink at path is refused, never followed.
 * On any failure (commit included) the temp is removed and path is left as it was. */
typedef struct gptc_outdir {
    char path[4096];
    char tmp[4400];
    const char *const *owned;
    int active;
} gptc_outdir;
gptc_status gptc_outdir_begin(gptc_ctx *ctx, gptc_outdir *od, const char *path, const char *const *owned);
gptc_status gptc_outdir_commit(gptc_ctx *ctx, gptc_outdir *od);
void gptc_outdir_abort(gptc_outdir *od);
/* The names a model directory holds (config, weights, adapter, tokenizer, generation and
 * checkpoint files), and a tokenizer directory's: NULL-terminated, for owned. */
extern const char *const gptc_model_dir_names[];
extern const char *const gptc_tokenizer_dir_names[];
/* Removes path by renaming it aside first, so a kill never leaves a half-removed
 * directory under its name; ENOENT is fine. */
gptc_status gptc_remove_dir_atomic(gptc_ctx *ctx, const char *path);
/* Removes the temps (".*.gptc-tmp.<pid>.*", ".*.gptc-old.<pid>.*") of processes that
 * no longer run from dir; legacy: also the names of earlier versions in run and
 * checkpoint directories (".tmp-step-N.<pid>", ".tmp-model.<pid>", "*.old.<pid>",
 * "*.tmp.<pid>"). */
void gptc_dir_clean_stale(const char *dir, int legacy);
#endif
