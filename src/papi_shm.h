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

#endif
