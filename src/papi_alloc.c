#include "papi_alloc.h"

#include <apr_thread_mutex.h>

static apr_status_t papi_allocator_cleanup(void *data)
{
    apr_allocator_destroy(data);
    return APR_SUCCESS;
}

apr_allocator_t *papi_shared_allocator(apr_pool_t *p, apr_size_t keep_free)
{
    apr_thread_mutex_t *mutex;
    apr_allocator_t *a;

    if (apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || apr_allocator_create(&a) != APR_SUCCESS)
        return NULL;
    apr_allocator_mutex_set(a, mutex);
    apr_allocator_max_free_set(a, keep_free);
    apr_pool_cleanup_register(p, a, papi_allocator_cleanup, apr_pool_cleanup_null);
    return a;
}
