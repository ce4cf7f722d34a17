/* threadpool.h — a fixed pool of worker threads that run one data-parallel job at a time:
 * exa_pool_run(pool, fn, arg) calls fn(arg, ith, nth) for ith = 0..nth-1 (the caller is thread 0)
 * and returns when all are done. Workers spin briefly, then sleep, between jobs. */
#ifndef EXA_CORE_THREADPOOL_H
#define EXA_CORE_THREADPOOL_H

typedef struct exa_pool exa_pool;
typedef void (*exa_pool_fn)(void *arg, int ith, int nth);

exa_pool *exa_pool_init(int n_threads); /* n_threads <= 0: number of online CPUs */
void exa_pool_free(exa_pool *pool);
int exa_pool_size(const exa_pool *pool);
void exa_pool_run(exa_pool *pool, exa_pool_fn fn, void *arg);
int exa_cpu_count(void);

/* split [0,n) into nth nearly equal parts; part ith is [*b,*e) */
static inline void exa_split(int n, int ith, int nth, int *b, int *e) {
    int per = n / nth, rem = n % nth;
    *b = ith * per + (ith < rem ? ith : rem);
    *e = *b + per + (ith < rem);
}

#endif
