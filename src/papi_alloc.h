/* An allocator for memory that outlives the request that made it and is shared by a child's
 * threads (the coalescer's answers, the kept pool.xml models): unmanaged pools are made from it by
 * any thread, so it has a mutex, and it keeps some freed memory for the next ones (a pool's own
 * allocator would map and unmap memory every time). */
#ifndef PAPI_ALLOC_H
#define PAPI_ALLOC_H

#include <apr_allocator.h>
#include <apr_pools.h>

/* Such an allocator, keeping up to keep_free bytes, destroyed with p; NULL when it cannot be
 * made. Register cleanups that destroy pools made from it after this call: they run before. */
apr_allocator_t *papi_shared_allocator(apr_pool_t *p, apr_size_t keep_free);

#endif
