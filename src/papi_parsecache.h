/* pool.xml parsed once per answer, not once per request. The model of a pool.xml is a function of
 * its bytes alone, so a child keeps, for each instance and core path (a slot's key), the last
 * small pool.xml it parsed with its model: a request whose answer has the very same bytes shares
 * that model instead of parsing them again. The requests that one coalesced call answers
 * (papi_coalesce) get byte-identical answers, and so does every request while the pool does not
 * change; an answer that differs by one byte is parsed afresh and takes the slot.
 *
 * A shared model is read-only (the views only read theirs) and held by reference: a request's
 * reference is dropped when its pool is cleared, so a model replaced meanwhile lives as long as
 * the last request reading it. Only answers up to PAPI_PARSECACHE_MAX_BODY bytes are kept: a large
 * host's pools are parsed per request as before, and never held in memory between requests.
 *
 * One per process, shared by its threads under a mutex held for bookkeeping only: parsing and
 * comparing are done outside it. Every function accepts a NULL cache: then every answer is
 * parsed for its request alone. */
#ifndef PAPI_PARSECACHE_H
#define PAPI_PARSECACHE_H

#include "papi_procpool.h"

#include <apr_pools.h>

/* Slots: instances (times core paths) whose last model is kept. */
#define PAPI_PARSECACHE_SLOTS 16
/* The largest pool.xml kept, in bytes. */
#define PAPI_PARSECACHE_MAX_BODY (64 * 1024)

typedef struct papi_parsecache papi_parsecache;

/* A cache living as long as p (a child's pool); NULL if its mutex cannot be made. */
papi_parsecache *papi_parsecache_create(apr_pool_t *p);

/* papi_procpool_parse of xml[0..len), for use until p is cleared: the model kept in key's slot
 * when its bytes are xml's, else a new one, then kept there (when small enough). Returns NULL, or
 * why the document was not accepted (a refused document is never kept). */
const char *papi_parsecache_parse(papi_parsecache *c, apr_pool_t *p, const char *key,
                                  const char *xml, apr_size_t len,
                                  const papi_procpool **procpool);

#endif
