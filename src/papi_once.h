/* "Only the first time" for warnings that would otherwise come with every request: a small set of
 * the keys (places, say) already seen by this process, shared by its threads. The set is bounded:
 * once it is full, nothing is first any more, so a flood of new keys costs no memory and no log
 * lines. Keys are kept as 64-bit hashes: two keys that share one are taken as one. */
#ifndef PAPI_ONCE_H
#define PAPI_ONCE_H

#include <apr_pools.h>

#define PAPI_ONCE_KEYS 64

typedef struct papi_once papi_once;

/* An empty set living as long as p; NULL if its mutex cannot be made. */
papi_once *papi_once_create(apr_pool_t *p);

/* 1 the first time key is given (and the set had room), else 0; a NULL set says 0. */
int papi_once_first(papi_once *o, const char *key);

#endif
