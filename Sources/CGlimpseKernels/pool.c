/*
 * The worker pool behind gl_parallel_for.
 *
 * Persistent threads, because waking a sleeping thread costs 25-50 us on the VMs we run on
 * and DispatchQueue.concurrentPerform is too slow for ops that take ~100 us in total. After
 * a job, workers spin for a short while watching for the next one, then sleep on a condvar.
 *
 * One 64-bit atomic word, `state`, describes the current job:
 *     bits 63..32  generation: bumped when a job is published
 *     bit  31      closed: set by the caller once every chunk has been claimed
 *     bits 30..0   number of workers inside the job
 * A worker joins with a CAS that checks the generation it saw and that the job is still
 * open, so it can never enter a job that has finished; the caller closes the job, then waits
 * until the workers inside have left before it returns and before the job descriptor is
 * reused. Workers still asleep when the job is done are not waited for: when they wake they
 * find it closed and go back to waiting. Chunks are claimed dynamically with fetch_add, so
 * a preempted thread does not hold the others up.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

#define MAX_THREADS 256
#define SPIN_NS 150000L    /* how long an idle worker watches for the next job before sleeping */
#define CHUNKS_PER_THREAD 4 /* a few chunks each, so uneven progress evens out */

#define ST_CLOSED ((uint64_t)1 << 31)
#define ST_REFS (ST_CLOSED - 1)
#define ST_GEN(s) ((uint32_t)((s) >> 32))

typedef struct {
    /* The job descriptor. Written by the caller only while no worker can be inside a job
     * (before publishing it, or after closing it and seeing the count of workers drop to 0). */
    gl_task_fn fn;
    void *ctx;
    long n, chunk, nchunks;
    _Atomic long next_chunk;

    _Atomic uint64_t state;
    _Atomic int sleepers; /* workers blocked (or about to block) on `wake` */
    _Atomic int shutdown;
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;

    /* Held by the one thread running a job (others run theirs serially instead) and by
     * gl_set_num_threads while it restarts the workers. */
    pthread_mutex_t run_lock;
    _Atomic int nthreads; /* configured count, caller included; read without the lock */
    int nworkers; /* started worker threads */
    pthread_t workers[MAX_THREADS];
} pool_t;

static pool_t pool = {
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .run_lock = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/* Set on worker threads for good and on a calling thread while it runs tasks: any
 * gl_parallel_for issued from inside a task runs serially. */
static _Thread_local bool in_task;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int default_threads(void) {
    const char *env = getenv("GLIMPSE_NUM_THREADS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0) return v > MAX_THREADS ? MAX_THREADS : (int)v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__linux__)
    /* Respect a CPU affinity mask (taskset, container cpusets) when it is narrower. */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        long allowed = CPU_COUNT(&set);
        if (allowed > 0 && (n < 1 || allowed < n)) n = allowed;
    }
#endif
    if (n < 1) n = 1;
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void init_config(void) { atomic_store(&pool.nthreads, default_threads()); }

/* Claims and runs chunks of the current job until none are left. */
static void run_chunks(pool_t *p) {
    for (;;) {
        long c = atomic_fetch_add_explicit(&p->next_chunk, 1, memory_order_relaxed);
        if (c >= p->nchunks) return;
        long begin = c * p->chunk;
        long end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        p->fn(p->ctx, begin, end);
    }
}

/* Returns the state once its generation differs from `seen` (or on shutdown): spins for
 * SPIN_NS, then sleeps. */
static uint64_t wait_for_job(pool_t *p, uint32_t seen) {
    long start = now_ns();
    uint64_t s;
    for (unsigned i = 1;; i++) {
        s = atomic_load_explicit(&p->state, memory_order_acquire);
        if (ST_GEN(s) != seen || atomic_load_explicit(&p->shutdown, memory_order_relaxed)) return s;
        cpu_relax();
        if ((i & 63) == 0) {
            long spun = now_ns() - start;
            if (spun > SPIN_NS) break;
            /* Past the first few microseconds, also offer the core to other runnable threads
             * (BLAS workers starting the next GEMM, say); costs ~1 us when there are none. */
            if (spun > SPIN_NS / 8) sched_yield();
        }
    }
    pthread_mutex_lock(&p->sleep_lock);
    /* Announce the sleeper before the final check (both seq_cst); the publisher stores the
     * new state before reading `sleepers`, so either we see the new job here or it sees us
     * and broadcasts, which it can only do once cond_wait has released the lock. */
    atomic_fetch_add(&p->sleepers, 1);
    for (;;) {
        s = atomic_load(&p->state);
        if (ST_GEN(s) != seen || atomic_load(&p->shutdown)) break;
        pthread_cond_wait(&p->wake, &p->sleep_lock); /* loops on spurious wakeups */
    }
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->sleep_lock);
    return s;
}

static void *worker_main(void *arg) {
    pool_t *p = &pool;
    uint32_t seen = (uint32_t)(uintptr_t)arg; /* generation current when we were started */
    in_task = true;
    for (;;) {
        uint64_t s = wait_for_job(p, seen);
        if (atomic_load(&p->shutdown)) break;
        seen = ST_GEN(s);
        /* Join only the job we saw, and only while it is open. A failed CAS reloads s; if
         * the generation moved on meanwhile, the next wait returns at once. */
        while (ST_GEN(s) == seen && !(s & ST_CLOSED)) {
            if (atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acquire,
                                                      memory_order_acquire)) {
                run_chunks(p);
                /* Release: our tasks' writes happen before the caller sees us leave. */
                atomic_fetch_sub_explicit(&p->state, 1, memory_order_release);
                break;
            }
        }
    }
    return NULL;
}

/* Both with run_lock held. */
static void start_workers(pool_t *p) {
    uint32_t gen = ST_GEN(atomic_load(&p->state));
    atomic_store(&p->shutdown, 0);
    p->nworkers = 0;
    int want = atomic_load(&p->nthreads) - 1;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, (void *)(uintptr_t)gen) != 0) break;
        p->nworkers++;
    }
}

static void stop_workers(pool_t *p) {
    atomic_store(&p->shutdown, 1);
    pthread_mutex_lock(&p->sleep_lock);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->sleep_lock);
    for (int i = 0; i < p->nworkers; i++) pthread_join(p->workers[i], NULL);
    p->nworkers = 0;
}

static void run_serial(long n, gl_task_fn fn, void *context) {
    bool was = in_task;
    in_task = true;
    fn(context, 0, n);
    in_task = was;
}

void gl_parallel_for(long n, long grain, gl_task_fn fn, void *context) {
    if (n <= 0) return;
    pthread_once(&config_once, init_config);
    pool_t *p = &pool;
    if (grain < 1) grain = 1;
    long max_chunks = n / grain; /* so that every chunk but the last has >= grain items */
    if (max_chunks < 2 || in_task || atomic_load_explicit(&p->nthreads, memory_order_relaxed) < 2) {
        run_serial(n, fn, context);
        return;
    }
    /* Another thread is running a job (or resizing the pool): run this one ourselves
     * rather than queue behind it. */
    if (pthread_mutex_trylock(&p->run_lock) != 0) {
        run_serial(n, fn, context);
        return;
    }
    if (p->nworkers == 0) start_workers(p);
    if (p->nworkers == 0) { /* could not create threads */
        pthread_mutex_unlock(&p->run_lock);
        run_serial(n, fn, context);
        return;
    }

    long nchunks = (long)(p->nworkers + 1) * CHUNKS_PER_THREAD;
    if (nchunks > max_chunks) nchunks = max_chunks;
    long chunk = (n - 1) / nchunks + 1;
    p->fn = fn;
    p->ctx = context;
    p->n = n;
    p->chunk = chunk;
    p->nchunks = (n - 1) / chunk + 1;
    atomic_store_explicit(&p->next_chunk, 0, memory_order_relaxed);

    /* Publish: new generation, open, nobody inside. The seq_cst store pairs with the
     * sleepers protocol in wait_for_job. */
    uint64_t s = atomic_load_explicit(&p->state, memory_order_relaxed);
    uint64_t gen = (uint64_t)(ST_GEN(s) + 1u) << 32;
    atomic_store(&p->state, gen);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->sleep_lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->sleep_lock);
    }

    in_task = true;
    run_chunks(p);
    in_task = false;

    /* Every chunk is claimed. Close the job so no late worker joins, then wait for those
     * inside to finish theirs (acquire: their writes become visible to us). */
    s = atomic_fetch_or_explicit(&p->state, ST_CLOSED, memory_order_acq_rel);
    for (unsigned i = 1; (s & ST_REFS) != 0; i++) {
        cpu_relax();
        if ((i & 1023) == 0) sched_yield(); /* a worker inside may have been preempted */
        s = atomic_load_explicit(&p->state, memory_order_acquire);
    }
    pthread_mutex_unlock(&p->run_lock);
}

int gl_num_threads(void) {
    pthread_once(&config_once, init_config);
    return atomic_load(&pool.nthreads);
}

void gl_set_num_threads(int n) {
    pthread_once(&config_once, init_config);
    /* From inside a task the run lock may be ours already; resizing there would deadlock. */
    if (in_task) return;
    if (n < 1) n = default_threads();
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&pool.run_lock);
    if (n != atomic_load(&pool.nthreads)) {
        stop_workers(&pool);
        atomic_store(&pool.nthreads, n); /* workers restart lazily, on the next parallel job */
    }
    pthread_mutex_unlock(&pool.run_lock);
}

/* ---- Helpers for the kernels ------------------------------------------------------------ */

#define BLOCK 64 /* floats: 256 bytes, a whole number of cache lines */

typedef struct {
    gl_task_fn range;
    void *ctx;
    long n;
} blocks_args;

static void blocks_task(void *c, long b, long e) {
    blocks_args *k = c;
    long end = e * BLOCK < k->n ? e * BLOCK : k->n;
    k->range(k->ctx, b * BLOCK, end);
}

void gl__parallel_elements(long n, gl_task_fn range, void *ctx) {
    if (n <= 0) return;
    if (n < GL_PAR_MIN_ELEMS) {
        range(ctx, 0, n);
        return;
    }
    blocks_args k = {range, ctx, n};
    gl_parallel_for((n - 1) / BLOCK + 1, GL_PAR_MIN_ELEMS / 2 / BLOCK, blocks_task, &k);
}

void gl__parallel_rows(long rows, long cols, gl_task_fn range, void *ctx) {
    if (rows <= 0) return;
    if (rows < 2 || rows * cols < GL_PAR_MIN_ELEMS) {
        range(ctx, 0, rows);
        return;
    }
    long grain = GL_PAR_MIN_ELEMS / 2 / (cols > 0 ? cols : 1);
    gl_parallel_for(rows, grain < 1 ? 1 : grain, range, ctx);
}
