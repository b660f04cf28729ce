#include "papi_shm.h"

#include <apr_shm.h>
#include <apr_strings.h>
#include <string.h>

void *papi_shm_zeroed(apr_pool_t *p, apr_size_t size, const char *what, const char **why)
{
    apr_shm_t *shm;
    apr_status_t rv;
    char buf[120];
    void *base;

    rv = apr_shm_create(&shm, size, NULL, p);
    if (rv != APR_SUCCESS) {
        *why = apr_pstrcat(p, "cannot make shared memory for ", what, ": ",
                           apr_strerror(rv, buf, sizeof(buf)), NULL);
        return NULL;
    }
    base = apr_shm_baseaddr_get(shm);
    memset(base, 0, size);
    return base;
}

apr_uint32_t papi_shm_hash(const char *name, apr_int64_t pid)
{
    apr_uint32_t h = 2166136261u;
    int i;

    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    for (i = 0; i < 8; i++, pid >>= 8)
        h = (h ^ (apr_uint32_t)(pid & 0xff)) * 16777619u;
    return h;
}
