/* What the tables shared by httpd's children (papi_probes, papi_rsshist) are made of: anonymous
 * shared memory made before the children fork, and the slot a process (instance name and pid)
 * hashes to. */
#ifndef PAPI_SHM_H
#define PAPI_SHM_H

#include <apr_pools.h>

/* size bytes of zeroed shared memory that live as long as p; NULL (with *why, naming what) when
 * they cannot be had. */
void *papi_shm_zeroed(apr_pool_t *p, apr_size_t size, const char *what, const char **why);

/* FNV-1a of an instance name and a pid: which slot a process takes. */
apr_uint32_t papi_shm_hash(const char *name, apr_int64_t pid);

/* The slots are seqlocks: a slot's seq is odd while a writer is in it (writers enter with
 * apr_atomic_cas32 and leave with apr_atomic_inc32, full barriers both). A reader notes seq before
 * it copies the slot and checks it after: the acquire order keeps the copy between the two reads
 * on every CPU, not only on x86, where plain loads would do. */
static inline apr_uint32_t papi_shm_seq_begin(const volatile apr_uint32_t *seq)
{
    return __atomic_load_n(seq, __ATOMIC_ACQUIRE);
}

/* Whether no writer came into the slot since papi_shm_seq_begin gave before. */
static inline int papi_shm_seq_same(const volatile apr_uint32_t *seq, apr_uint32_t before)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(seq, __ATOMIC_RELAXED) == before;
}

#endif
