/* threadpool.c — see threadpool.h. One job at a time; generation counter + condition variable,
 * with a short spin so back-to-back kernels in a forward pass do not pay a sleep/wake each. */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sched.h>
#include <unistd.h>

#include "core/common.h"

struct exa_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int generation;
    atomic_int pending;
    atomic_int quit;
    exa_pool_fn fn;
    void *arg;
};

typedef struct { exa_pool *pool; int ith; } worker_arg;

#define EXA_POOL_SPIN_S 1e-3

static inline void spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int exa_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void *worker_main(void *p) {
    worker_arg *wa = p;
    exa_pool *pool = wa->pool;
    int ith = wa->ith;
    free(wa);
    int seen = 0;
    for (;;) {
        const double t_idle = exa_time_now();
        /* spin up to ~1 ms (the gap between kernels of a forward pass is far shorter) before
         * sleeping: a futex wake-up costs tens of microseconds on a virtual machine */
        for (int spins = 0; atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
                            !atomic_load(&pool->quit); spins++) {
            spin_pause();
            if ((spins & 255) == 255 && exa_time_now() - t_idle > EXA_POOL_SPIN_S) break;
        }
        if (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen && !atomic_load(&pool->quit)) {
            pthread_mutex_lock(&pool->mu);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->quit))
                pthread_cond_wait(&pool->cv, &pool->mu);
            pthread_mutex_unlock(&pool->mu);
        }
        if (atomic_load(&pool->quit)) return NULL;
        seen = atomic_load(&pool->generation);
        pool->fn(pool->arg, ith, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
}

exa_pool *exa_pool_init(int n_threads) {
    if (n_threads <= 0) n_threads = exa_cpu_count();
    if (n_threads > 256) n_threads = 256;
    exa_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n = n_threads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    pool->threads = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!pool->threads) { free(pool); return NULL; }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) { pool->n = i; break; }
        wa->pool = pool;
        wa->ith = i;
        if (pthread_create(&pool->threads[i], NULL, worker_main, wa) != 0) { free(wa); pool->n = i; break; }
    }
    return pool;
}

void exa_pool_free(exa_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->quit, 1);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    free(pool->threads);
    free(pool);
}

int exa_pool_size(const exa_pool *pool) { return pool ? pool->n : 1; }

void exa_pool_run(exa_pool *pool, exa_pool_fn fn, void *arg) {
    if (!pool || pool->n == 1) { fn(arg, 0, 1); return; }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store(&pool->pending, pool->n - 1);
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    fn(arg, 0, pool->n);
    for (int spins = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; spins++)
        if (spins > 1000) sched_yield(); /* jobs are short: spin, but yield if cores are oversubscribed */
}
