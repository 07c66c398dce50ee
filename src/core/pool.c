/* pool.c: worker threads for decoding's small parallel regions (pool.h).
 *
 * Decoding one token runs ~50 matrix-vector products and a dozen attention steps, each
 * 20-300 us of work. Under OpenMP each is a fork and a join: with a short spin the worker
 * has gone to sleep by the next region and waking it (a futex, an IPI, in a VM an exit)
 * costs 5-90 us; with a long spin a worker that spins on a core another process needs
 * takes that core from it and decoding collapses (gptc.h, GPTC_SPINCOUNT). The split is
 * static, so one thread descheduled or slowed holds up the region.
 *
 * Here a job is a count of chunks that the caller and the workers claim one at a time
 * (a compare-and-swap on one word holding the job's generation, its chunk count and the
 * next chunk), so a late or slow thread takes fewer chunks instead of holding the others
 * up, and a worker that wakes after its job ended claims nothing from the next one. A
 * waiting worker spins on the generation with pause for a few microseconds, then polls
 * it between sched_yield calls, which return at once on a quiet machine (a new job is
 * seen within a microsecond) and hand the core to whoever else wants it on a busy one,
 * and after POOL_IDLE_NS without a job sleeps on a futex, woken by the next job that
 * wants it (a job of nt threads takes workers 0 .. nt - 2; the others sleep on).
 *
 * Linux: futex(2). Elsewhere the workers are never started and every job runs in the
 * calling thread. */
#define _GNU_SOURCE
#include "pool.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define POOL_THREADS 1
#endif

enum { POOL_MAX = 63, POOL_SPIN = 64, POOL_STACK = 8 << 20, POOL_CHUNKS = 8 };
#define POOL_IDLE_NS 2000000L /* a worker this long without a job sleeps */

/* state: generation (24 bits) | chunks (20 bits) | next chunk (20 bits) */
#define ST_GEN(v) ((uint32_t)((v) >> 40))
#define ST_N(v) ((uint32_t)((v) >> 20) & 0xFFFFFu)
#define ST_NEXT(v) ((uint32_t)(v) & 0xFFFFFu)
#define GEN_MASK 0xFFFFFFu
#define CHUNK_MAX 0xFFFFFu

/* The words one thread writes while others read it, each on a cache line of its own. */
static struct {
    _Alignas(64) _Atomic uint32_t gen; /* the last job's generation: what workers wait on (futex word) */
    _Atomic uint64_t sleeping;         /* bit i: worker i asleep or about to sleep on gen */
    _Atomic int helpers;               /* workers the current job may use (nt - 1) */
    /* the current job: written before state is published, read after a claim succeeds */
    gptc_pool_fn fn;
    void *arg;
    int n, grain;
    _Alignas(64) _Atomic uint64_t state; /* see ST_* */
    _Alignas(64) _Atomic uint32_t done;  /* chunks of the current job finished */
    _Alignas(64) _Atomic int busy;       /* a job is running (the submit lock: try, never wait) */
    int nworkers;                        /* started (under busy) */
} P;

static void pause_cpu(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Claims chunks of the job of generation g until none are left (or another job runs). */
static void work(uint32_t g) {
    uint64_t v = atomic_load_explicit(&P.state, memory_order_acquire);
    for (;;) {
        if (ST_GEN(v) != (g & GEN_MASK) || ST_NEXT(v) >= ST_N(v)) return;
        if (!atomic_compare_exchange_weak_explicit(&P.state, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        /* the job cannot end before this chunk is counted done, so its fields stand */
        int lo = (int)ST_NEXT(v) * P.grain, hi = lo + P.grain < P.n ? lo + P.grain : P.n;
        P.fn(P.arg, lo, hi);
        atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
        v = atomic_load_explicit(&P.state, memory_order_acquire);
    }
}

#ifdef POOL_THREADS
static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Worker id waits for a generation other than seen and returns it: spins, polls, and
 * sleeps once POOL_IDLE_NS have passed since idle_since (its last job). */
static uint32_t wait_job(int id, uint32_t seen, long idle_since) {
    uint32_t g;
    if (now_ns() - idle_since <= POOL_IDLE_NS) {
        for (int i = 0; i < POOL_SPIN; i++) {
            if ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) != seen) return g;
            pause_cpu();
        }
        for (int i = 0;; i++) {
            if ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) != seen) return g;
            sched_yield();
            if ((i & 15) == 15 && now_ns() - idle_since > POOL_IDLE_NS) break;
        }
    }
    uint64_t bit = 1ull << id;
    atomic_fetch_or(&P.sleeping, bit); /* seq_cst with the submitter's store of gen, load of sleeping */
    while ((g = atomic_load(&P.gen)) == seen) syscall(SYS_futex, &P.gen, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
    atomic_fetch_and(&P.sleeping, ~bit);
    return g;
}

static uint32_t start_gen[POOL_MAX];

static void *worker(void *p) {
    int id = (int)(intptr_t)p;
    uint32_t seen = start_gen[id];
    long idle_since = now_ns();
    for (;;) {
        seen = wait_job(id, seen, idle_since);
        /* a job with fewer threads than workers: the others' idle time runs on */
        if (id < atomic_load_explicit(&P.helpers, memory_order_relaxed)) {
            work(seen);
            idle_since = now_ns();
        }
    }
    return NULL;
}

/* The child of a fork has none of the parent's workers (and maybe a job's busy flag). */
static void after_fork_child(void) {
    P.nworkers = 0;
    atomic_store(&P.sleeping, 0);
    atomic_store(&P.busy, 0);
}

/* Starts workers up to want (under busy); keeps what it could start. */
static void grow(int want) {
    static int atfork_done;
    if (want > POOL_MAX) want = POOL_MAX;
    if (P.nworkers >= want) return;
    if (!atfork_done) {
        if (pthread_atfork(NULL, NULL, after_fork_child)) return;
        atfork_done = 1;
    }
    pthread_attr_t attr;
    if (pthread_attr_init(&attr)) return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, POOL_STACK);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the program's own threads */
    while (P.nworkers < want) {
        pthread_t t;
        start_gen[P.nworkers] = atomic_load(&P.gen);
        if (pthread_create(&t, &attr, worker, (void *)(intptr_t)P.nworkers)) break;
        P.nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}
#endif

int gptc_pool_workers(void) { return P.nworkers; }
int gptc_pool_asleep(void) { return __builtin_popcountll(atomic_load(&P.sleeping)); }

void gptc_pool_run(int nt, int n, int grain, gptc_pool_fn fn, void *arg) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    long nch = ((long)n + grain - 1) / grain;
    if (nt > 1 && nch > (long)nt * POOL_CHUNKS) { /* fewer, larger chunks: each claim moves a cache line */
        long per = (nch + (long)nt * POOL_CHUNKS - 1) / ((long)nt * POOL_CHUNKS);
        grain = (int)(per * grain), nch = ((long)n + grain - 1) / grain;
    }
    int idle = 0;
#ifdef POOL_THREADS
    if (nt > 1 && nch > 1 && nch <= CHUNK_MAX && atomic_compare_exchange_strong(&P.busy, &idle, 1)) {
        grow(nt - 1);
        if (P.nworkers > 0) {
            P.fn = fn, P.arg = arg, P.n = n, P.grain = grain;
            atomic_store_explicit(&P.helpers, nt - 1, memory_order_relaxed);
            atomic_store_explicit(&P.done, 0, memory_order_relaxed);
            uint32_t g = atomic_load_explicit(&P.gen, memory_order_relaxed) + 1;
            atomic_store_explicit(&P.state, (uint64_t)(g & GEN_MASK) << 40 | (uint64_t)nch << 20, memory_order_release);
            atomic_store(&P.gen, g);
            uint64_t want = nt - 1 >= 64 ? ~0ull : (1ull << (nt - 1)) - 1; /* workers 0 .. nt - 2 */
            if (atomic_load(&P.sleeping) & want) syscall(SYS_futex, &P.gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            work(g);
            for (int i = 0; atomic_load_explicit(&P.done, memory_order_acquire) != (uint32_t)nch; i++) {
                if (i < POOL_SPIN) pause_cpu();
                else sched_yield(); /* a claimed chunk's thread may be waiting for this core */
            }
            atomic_store_explicit(&P.busy, 0, memory_order_release);
            return;
        }
        atomic_store_explicit(&P.busy, 0, memory_order_release);
    }
#else
    (void)nt, (void)idle;
#endif
    fn(arg, 0, n);
}
