/* dist.c: the processes of a multi-process run, over MPI. gptc links no MPI library:
 * when mpirun started this process (OMPI_COMM_WORLD_SIZE in the environment) it loads
 * Open MPI's libmpi.so.40 with dlopen and resolves the few functions it uses by name;
 * otherwise there is no MPI at all and the caller trains as one process. Every
 * exchange is point-to-point (MPI_Isend/MPI_Irecv of bytes) so that the reductions
 * built on it (ddp.c) add in a fixed rank order, and every wait polls with a deadline:
 * a rank that stops answering makes the others fail within the timeout instead of
 * hanging. MPI errors return (MPI_ERRORS_RETURN) and become gptc_status messages. */
#define _GNU_SOURCE
#include "train.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Open MPI's ABI (libmpi.so.40, Open MPI 3.x and 4.x): handles are pointers, the
 * predefined objects are global symbols, MPI_STATUS(ES)_IGNORE is NULL. */
typedef void *mpi_handle;
typedef int (*mpi_init_thread_fn)(int *, char ***, int, int *);
typedef int (*mpi_comm_int_fn)(mpi_handle, int *);
typedef int (*mpi_isend_fn)(const void *, int, mpi_handle, int, int, mpi_handle, mpi_handle *);
typedef int (*mpi_irecv_fn)(void *, int, mpi_handle, int, int, mpi_handle, mpi_handle *);
typedef int (*mpi_testall_fn)(int, mpi_handle *, int *, void *);
typedef int (*mpi_abort_fn)(mpi_handle, int);
typedef int (*mpi_finalize_fn)(void);
typedef int (*mpi_set_errhandler_fn)(mpi_handle, mpi_handle);
typedef int (*mpi_error_string_fn)(int, char *, int *);
enum { MPI_THREAD_FUNNELED_ = 1, MPI_MAX_ERROR_STRING_ = 256 };
/* the largest piece one MPI call carries (its counts are int) */
#define PIECE_MAX ((size_t)1 << 28)

struct gptc_dist {
    int rank, size, local_size;
    double timeout;
    void *lib;
    mpi_handle comm, byte;
    mpi_isend_fn isend;
    mpi_irecv_fn irecv;
    mpi_testall_fn testall;
    mpi_abort_fn abort_;
    mpi_finalize_fn finalize;
    mpi_error_string_fn error_string;
    mpi_handle *req;  /* posted and not yet completed */
    int *req_peer;
    size_t n_req, cap_req;
};

double gptc_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static gptc_status mpi_fail(gptc_ctx *ctx, gptc_dist *d, int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING_ + 1] = "";
    int len = 0;
    if (d->error_string && d->error_string(rc, msg, &len) == 0 && len >= 0 && len <= MPI_MAX_ERROR_STRING_) msg[len] = 0;
    return gptc_fail(ctx, GPTC_EIO, "MPI rank %d: %s failed: %s (error %d)", d->rank, what, msg[0] ? msg : "?", rc);
}

int gptc_dist_launched(void) {
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    return s && *s;
}

gptc_status gptc_dist_open(gptc_ctx *ctx, double timeout_s, gptc_dist **out) {
    *out = NULL;
    if (!gptc_dist_launched()) return GPTC_OK;
    const char *libname = getenv("GPTC_MPI_LIB");
    if (!libname || !*libname) libname = "libmpi.so.40";
    /* RTLD_GLOBAL: Open MPI's components (loaded by libmpi itself) resolve libmpi's symbols */
    void *lib = dlopen(libname, RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
        return gptc_fail(ctx, GPTC_ENOTSUP, "started by mpirun (OMPI_COMM_WORLD_SIZE is set) but %s cannot be loaded: "
                                            "%s; install Open MPI (Debian: openmpi-bin)", libname, dlerror());
    gptc_dist *d = gptc_calloc(ctx, 1, sizeof *d, "MPI state");
    if (!d) {
        dlclose(lib);
        return GPTC_ENOMEM;
    }
    d->lib = lib;
    d->timeout = timeout_s > 0 ? timeout_s : 300;
    mpi_init_thread_fn init = (mpi_init_thread_fn)dlsym(lib, "MPI_Init_thread");
    mpi_comm_int_fn rank = (mpi_comm_int_fn)dlsym(lib, "MPI_Comm_rank"), size = (mpi_comm_int_fn)dlsym(lib, "MPI_Comm_size");
    mpi_set_errhandler_fn seh = (mpi_set_errhandler_fn)dlsym(lib, "MPI_Comm_set_errhandler");
    d->isend = (mpi_isend_fn)dlsym(lib, "MPI_Isend");
    d->irecv = (mpi_irecv_fn)dlsym(lib, "MPI_Irecv");
    d->testall = (mpi_testall_fn)dlsym(lib, "MPI_Testall");
    d->abort_ = (mpi_abort_fn)dlsym(lib, "MPI_Abort");
    d->finalize = (mpi_finalize_fn)dlsym(lib, "MPI_Finalize");
    d->error_string = (mpi_error_string_fn)dlsym(lib, "MPI_Error_string");
    d->comm = dlsym(lib, "ompi_mpi_comm_world");
    d->byte = dlsym(lib, "ompi_mpi_byte");
    mpi_handle errors_return = dlsym(lib, "ompi_mpi_errors_return");
    if (!init || !rank || !size || !seh || !d->isend || !d->irecv || !d->testall || !d->abort_ || !d->finalize ||
        !d->comm || !d->byte || !errors_return) {
        gptc_free(d);
        dlclose(lib);
        return gptc_fail(ctx, GPTC_ENOTSUP, "%s: not Open MPI's libmpi (a function or predefined object is missing)",
                         libname);
    }
    int provided = 0, rc;
    if ((rc = init(NULL, NULL, MPI_THREAD_FUNNELED_, &provided))) {
        gptc_status s = mpi_fail(ctx, d, rc, "MPI_Init_thread");
        gptc_free(d);
        return s; /* libmpi stays loaded: it may have started threads */
    }
    if ((rc = seh(d->comm, errors_return)) || (rc = rank(d->comm, &d->rank)) || (rc = size(d->comm, &d->size))) {
        gptc_status s = mpi_fail(ctx, d, rc, "MPI_Comm_rank/size");
        d->abort_(d->comm, 1);
        return s;
    }
    const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    d->local_size = ls ? atoi(ls) : 1;
    if (d->local_size < 1) d->local_size = 1;
    *out = d;
    return GPTC_OK;
}

int gptc_dist_rank(const gptc_dist *d) { return d ? d->rank : 0; }
int gptc_dist_size(const gptc_dist *d) { return d ? d->size : 1; }
int gptc_dist_local_size(const gptc_dist *d) { return d ? d->local_size : 1; }

void gptc_dist_close(gptc_dist *d) {
    if (!d) return;
    d->finalize();
    gptc_free(d->req); /* with req_peer */
    gptc_free(d);
    /* libmpi stays loaded: its exit handlers may still run */
}

void gptc_dist_abort(gptc_dist *d, int code) {
    if (d) d->abort_(d->comm, code);
}

/* Requests and their peers live in one block (requests first, as MPI_Testall takes
 * them), doubled when full. */
static gptc_status add_req(gptc_ctx *ctx, gptc_dist *d, mpi_handle r, int peer) {
    if (d->n_req == d->cap_req) {
        size_t nc = d->cap_req ? 2 * d->cap_req : 64;
        mpi_handle *block = gptc_alloc(ctx, nc * (sizeof(mpi_handle) + sizeof(int)), "MPI requests");
        if (!block) return GPTC_ENOMEM;
        int *peers = (int *)(block + nc);
        if (d->n_req) {
            memcpy(block, d->req, d->n_req * sizeof *block);
            memcpy(peers, d->req_peer, d->n_req * sizeof *peers);
        }
        gptc_free(d->req);
        d->req = block;
        d->req_peer = peers;
        d->cap_req = nc;
    }
    d->req[d->n_req] = r;
    d->req_peer[d->n_req++] = peer;
    return GPTC_OK;
}

gptc_status gptc_dist_post(gptc_ctx *ctx, gptc_dist *d, int send, int peer, int tag, void *buf, size_t bytes) {
    char *p = buf;
    do {
        size_t n = bytes < PIECE_MAX ? bytes : PIECE_MAX;
        mpi_handle r = NULL;
        int rc = send ? d->isend(p, (int)n, d->byte, peer, tag, d->comm, &r)
                      : d->irecv(p, (int)n, d->byte, peer, tag, d->comm, &r);
        if (rc) return mpi_fail(ctx, d, rc, send ? "MPI_Isend" : "MPI_Irecv");
        gptc_status s = add_req(ctx, d, r, peer);
        if (s) return s;
        p += n;
        bytes -= n;
    } while (bytes);
    return GPTC_OK;
}

gptc_status gptc_dist_progress(gptc_ctx *ctx, gptc_dist *d, int *done) {
    int flag = 1;
    if (d->n_req) {
        int rc = d->testall((int)d->n_req, d->req, &flag, NULL);
        if (rc) return mpi_fail(ctx, d, rc, "MPI_Testall");
    }
    if (flag) d->n_req = 0;
    *done = flag;
    return GPTC_OK;
}

gptc_status gptc_dist_wait(gptc_ctx *ctx, gptc_dist *d) {
    double t0 = gptc_now_s();
    long spins = 0;
    for (;;) {
        int done;
        gptc_status s = gptc_dist_progress(ctx, d, &done);
        if (s || done) return s;
        if (gptc_now_s() - t0 > d->timeout) {
            char peers[256] = "";
            size_t len = 0;
            for (int q = 0; q < d->size && len + 12 < sizeof peers; q++)
                for (size_t i = 0; i < d->n_req; i++)
                    if (d->req_peer[i] == q) {
                        len += (size_t)snprintf(peers + len, sizeof peers - len, " %d", q);
                        break;
                    }
            return gptc_fail(ctx, GPTC_EIO, "MPI rank %d: no answer from rank(s)%s within %.0f s (a rank died or hangs)",
                             d->rank, peers, d->timeout);
        }
        /* poll without taking a core from the ranks still computing */
        if (++spins > 100) { /* short naps: a large transfer moves only while MPI is called */
            struct timespec ts = {0, spins > 5000 ? 200000 : 20000};
            nanosleep(&ts, NULL);
        }
    }
}

gptc_status gptc_dist_allgather(gptc_ctx *ctx, gptc_dist *d, int tag, const void *mine, size_t bytes, void *all) {
    char *a = all;
    memmove(a + (size_t)d->rank * bytes, mine, bytes);
    gptc_status s = GPTC_OK;
    for (int q = 0; q < d->size && !s; q++) {
        if (q == d->rank) continue;
        s = gptc_dist_post(ctx, d, 1, q, tag, a + (size_t)d->rank * bytes, bytes);
        if (!s) s = gptc_dist_post(ctx, d, 0, q, tag, a + (size_t)q * bytes, bytes);
    }
    return s ? s : gptc_dist_wait(ctx, d);
}

gptc_status gptc_dist_sum(gptc_ctx *ctx, gptc_dist *d, int tag, double *x, size_t n) {
    if (!d || d->size == 1) return GPTC_OK;
    double *all = gptc_alloc(ctx, n * (size_t)d->size * sizeof *all, "MPI sum");
    if (!all) return GPTC_ENOMEM;
    gptc_status s = gptc_dist_allgather(ctx, d, tag, x, n * sizeof *x, all);
    if (!s)
        for (size_t i = 0; i < n; i++) {
            double v = all[i];
            for (int q = 1; q < d->size; q++) v += all[(size_t)q * n + i]; /* rank order: the same bits everywhere */
            x[i] = v;
        }
    gptc_free(all);
    return s;
}
