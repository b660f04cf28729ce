#include "papi_once.h"

#include <apr_thread_mutex.h>

struct papi_once {
    apr_thread_mutex_t *mutex;
    apr_uint64_t keys[PAPI_ONCE_KEYS];
    int count;
};

papi_once *papi_once_create(apr_pool_t *p)
{
    papi_once *o = apr_pcalloc(p, sizeof(*o));

    if (apr_thread_mutex_create(&o->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    return o;
}

/* FNV-1a, 64 bits. */
static apr_uint64_t papi_once_hash(const char *key)
{
    apr_uint64_t h = 14695981039346656037ULL;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return h;
}

int papi_once_first(papi_once *o, const char *key)
{
    apr_uint64_t h;
    int i, first;

    if (!o)
        return 0;
    h = papi_once_hash(key);
    apr_thread_mutex_lock(o->mutex);
    for (i = 0; i < o->count && o->keys[i] != h; i++)
        ;
    first = i == o->count && o->count < PAPI_ONCE_KEYS;
    if (first)
        o->keys[o->count++] = h;
    apr_thread_mutex_unlock(o->mutex);
    return first;
}
