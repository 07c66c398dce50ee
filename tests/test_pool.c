/* test_pool.c: the worker pool of decoding's parallel regions (src/core/pool.c,
 * gptc_pool_run). Every item of [0, n) runs exactly once, in ranges that start on a
 * multiple of the grain and are whole grains but for the last, for n from 1 to 1000 (and
 * 70000, past the point where chunks are coarsened), grains 1, 3, 16, 64, thread counts
 * 1, 2, 3, 8; workers take part (a job whose first chunk on the caller's thread waits up
 * to 10 s for a chunk to run on another thread); a job submitted from inside a job and
 * jobs from two threads at once run every item once and do not deadlock (the loser runs
 * its job in its own thread); workers asleep after the idle time wake for the next job;
 * after jobs of 8 threads, jobs of 2 leave the workers they do not use asleep (0.2 s of
 * back-to-back jobs); the child of a fork runs jobs (its own workers, none of the
 * parent's). */
#define _GNU_SOURCE
#include "harness.h"
#include "core/pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { NMAX = 70000 };
static _Atomic int hits[NMAX];
static _Atomic int bad_range;
static int cur_grain, cur_n;

static void count(void *arg, int lo, int hi) {
    (void)arg;
    if (lo < 0 || hi > cur_n || lo >= hi || lo % cur_grain || ((hi - lo) % cur_grain && hi != cur_n)) bad_range = 1;
    for (int i = lo; i < hi && i >= 0 && i < NMAX; i++) hits[i]++;
}

static int run_and_check(int nt, int n, int grain) {
    for (int i = 0; i < n; i++) hits[i] = 0;
    bad_range = 0;
    cur_grain = grain, cur_n = n;
    gptc_pool_run(nt, n, grain, count, NULL);
    for (int i = 0; i < n; i++)
        if (hits[i] != 1) return 0;
    return !bad_range;
}

static void test_cover(void) {
    static const int nts[] = {1, 2, 3, 8}, grains[] = {1, 3, 16, 64};
    char name[96];
    for (size_t a = 0; a < sizeof nts / sizeof *nts; a++)
        for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
            int ok = 1, bad_n = 0;
            for (int n = 1; n <= 1000 && ok; n += n < 40 ? 1 : 37)
                if (!run_and_check(nts[a], n, grains[g])) ok = 0, bad_n = n;
            if (ok && !run_and_check(nts[a], NMAX, grains[g])) ok = 0, bad_n = NMAX;
            snprintf(name, sizeof name, "pool_cover_nt%d_grain%d", nts[a], grains[g]);
            CHECK(name, ok, "n = %d: an item ran other than once, or a range was not whole grains", bad_n);
        }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* chunk 0 waits on the caller's thread until some chunk has run on another thread */
static pthread_t caller;
static _Atomic int on_other;
static void wait_for_worker(void *arg, int lo, int hi) {
    (void)arg, (void)hi;
    if (!pthread_equal(pthread_self(), caller)) on_other = 1;
    else if (lo == 0)
        for (double t0 = now(); !on_other && now() - t0 < 10;) usleep(100);
}

static int workers_help(void) {
    caller = pthread_self();
    on_other = 0;
    gptc_pool_run(2, 64, 1, wait_for_worker, NULL);
    return on_other;
}

static void test_workers(void) {
    int helped = workers_help(), nw = gptc_pool_workers();
    CHECK("pool_workers_take_part", helped && nw >= 1, "no chunk ran outside the calling thread in 10 s (%d workers)",
          nw);
    usleep(50 * 1000); /* past the idle time: the workers sleep */
    CHECK("pool_workers_wake", workers_help(), "no worker woke for a job after sleeping");
    CHECK("pool_after_sleep_cover", run_and_check(2, 500, 4), "an item ran other than once");
}

static void test_unused_sleep(void) {
    int ok = run_and_check(8, 800, 1), nw = gptc_pool_workers(), asleep = 0;
    for (double t0 = now(); now() - t0 < 0.2;) ok &= run_and_check(2, 64, 1);
    asleep = gptc_pool_asleep();
    CHECK("pool_unused_workers_sleep", ok && nw == 7 && asleep >= nw - 1,
          "%d of %d workers asleep after 0.2 s of 2-thread jobs (want %d; items ok %d)", asleep, nw, nw - 1, ok);
}

/* a job whose chunks submit jobs of their own */
static _Atomic int inner_hits[64 * 10];
static void inner(void *arg, int lo, int hi) {
    int base = *(int *)arg;
    for (int i = lo; i < hi; i++) inner_hits[base + i]++;
}
static void outer(void *arg, int lo, int hi) {
    (void)arg;
    for (int c = lo; c < hi; c++) {
        int base = c * 10;
        gptc_pool_run(2, 10, 1, inner, &base);
    }
}

static void test_nested(void) {
    for (int i = 0; i < 640; i++) inner_hits[i] = 0;
    gptc_pool_run(2, 64, 1, outer, NULL);
    int ok = 1;
    for (int i = 0; i < 640; i++) ok &= inner_hits[i] == 1;
    CHECK("pool_nested", ok, "an inner item ran other than once");
}

/* two threads submitting at once */
static _Atomic int both_hits[2][5000];
static void both(void *arg, int lo, int hi) {
    _Atomic int *h = arg;
    for (int i = lo; i < hi; i++) {
        h[i]++;
        for (volatile int k = 0; k < 50; k++) {
        }
    }
}
static void *submitter(void *arg) {
    for (int r = 0; r < 200; r++) gptc_pool_run(2, 5000, 7, both, arg);
    return NULL;
}

static void test_concurrent(void) {
    pthread_t t;
    int ok = pthread_create(&t, NULL, submitter, both_hits[1]) == 0;
    submitter(both_hits[0]);
    if (ok) pthread_join(t, NULL);
    for (int s = 0; s < 2 && ok; s++)
        for (int i = 0; i < 5000; i++) ok &= both_hits[s][i] == 200;
    CHECK("pool_two_submitters", ok, "an item of one of two concurrent submitters ran other than 200 times");
}

static void test_fork(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(run_and_check(2, 777, 3) && workers_help() ? 0 : 1);
    int st = 0;
    int ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    CHECK("pool_fork_child", ok, "the child of a fork did not run its jobs (status %d)", st);
    CHECK("pool_fork_parent", run_and_check(2, 777, 3), "the parent's pool after a fork");
}

int main(void) {
    test_workers();
    test_cover();
    test_unused_sleep();
    test_nested();
    test_concurrent();
    test_fork();
    return test_exit();
}
