#include "papi_parsecache.h"
#include "papi_alloc.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <string.h>

/* Freed memory the models' allocator keeps for the next ones, in bytes. */
#define PAPI_PARSECACHE_KEEP_FREE (1024 * 1024)

/* One pool.xml and its model, in a pool of their own. */
typedef struct papi_parsed {
    apr_pool_t *pool;           /* unmanaged, from the cache's allocator */
    const char *key;
    const char *xml;
    apr_size_t len;
    papi_procpool *procpool;
    int refs;                   /* under the mutex: its slot's, and one per request holding it */
} papi_parsed;

struct papi_parsecache {
    apr_allocator_t *allocator; /* of the models' pools (papi_shared_allocator) */
    apr_thread_mutex_t *mutex;
    papi_parsed *slots[PAPI_PARSECACHE_SLOTS];
    unsigned next;              /* the slot a new key takes when none is free */
};

/* A request's hold on a model, dropped when its pool is cleared. */
typedef struct papi_parsed_hold {
    papi_parsecache *c;
    papi_parsed *e;
} papi_parsed_hold;

static void papi_parsed_destroy(papi_parsed *e)
{
    if (e)
        apr_pool_destroy(e->pool);
}

/* Under the mutex: one reference less; the model when it is to be destroyed (outside it). */
static papi_parsed *papi_parsed_unref(papi_parsed *e)
{
    return e && --e->refs == 0 ? e : NULL;
}

/* Drops a reference the caller holds, destroying the model when it was the last. */
static void papi_parsed_release(papi_parsecache *c, papi_parsed *e)
{
    papi_parsed *gone;

    apr_thread_mutex_lock(c->mutex);
    gone = papi_parsed_unref(e);
    apr_thread_mutex_unlock(c->mutex);
    papi_parsed_destroy(gone);
}

static apr_status_t papi_parsed_unhold(void *data)
{
    papi_parsed_hold *h = data;

    papi_parsed_release(h->c, h->e);
    return APR_SUCCESS;
}

/* e, already referenced for this request, is held until p is cleared. */
static const papi_procpool *papi_parsed_hold_for(papi_parsecache *c, papi_parsed *e,
                                                 apr_pool_t *p)
{
    papi_parsed_hold *h = apr_palloc(p, sizeof(*h));

    h->c = c;
    h->e = e;
    apr_pool_cleanup_register(p, h, papi_parsed_unhold, apr_pool_cleanup_null);
    return e->procpool;
}

static apr_status_t papi_parsecache_cleanup(void *data)
{
    papi_parsecache *c = data;
    int i;

    /* The child is ending: no request holds a model any more. Before the allocator goes. */
    for (i = 0; i < PAPI_PARSECACHE_SLOTS; i++)
        papi_parsed_destroy(c->slots[i]);
    return APR_SUCCESS;
}

papi_parsecache *papi_parsecache_create(apr_pool_t *p)
{
    papi_parsecache *c = apr_pcalloc(p, sizeof(*c));

    if (apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || !(c->allocator = papi_shared_allocator(p, PAPI_PARSECACHE_KEEP_FREE)))
        return NULL;
    apr_pool_cleanup_register(p, c, papi_parsecache_cleanup, apr_pool_cleanup_null);
    return c;
}

/* Under the mutex: key's slot, or -1. */
static int papi_slot_of(const papi_parsecache *c, const char *key)
{
    int i;

    for (i = 0; i < PAPI_PARSECACHE_SLOTS; i++)
        if (c->slots[i] && !strcmp(c->slots[i]->key, key))
            return i;
    return -1;
}

/* Under the mutex: the slot a new model for key takes (its own, a free one, or the next in turn). */
static int papi_slot_for(papi_parsecache *c, const char *key)
{
    int i = papi_slot_of(c, key);

    if (i >= 0)
        return i;
    for (i = 0; i < PAPI_PARSECACHE_SLOTS; i++)
        if (!c->slots[i])
            return i;
    return (int)(c->next++ % PAPI_PARSECACHE_SLOTS);
}

/* A model of xml in a pool of its own; NULL when that pool cannot be made, or the document
 * is refused (why, copied to p, in *why). */
static papi_parsed *papi_parsed_make(papi_parsecache *c, apr_pool_t *p, const char *key,
                                     const char *xml, apr_size_t len, const char **why)
{
    apr_pool_t *pool;
    papi_parsed *e;

    *why = NULL;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, c->allocator) != APR_SUCCESS)
        return NULL;
    e = apr_pcalloc(pool, sizeof(*e));
    e->pool = pool;
    if ((*why = papi_procpool_parse(pool, xml, len, &e->procpool)) != NULL) {
        *why = apr_pstrdup(p, *why);
        apr_pool_destroy(pool);
        return NULL;
    }
    e->key = apr_pstrdup(pool, key);
    e->xml = apr_pmemdup(pool, xml, len);
    e->len = len;
    return e;
}

/* Under the mutex: key's model, referenced for the caller, when it is len bytes long; else NULL. */
static papi_parsed *papi_parsed_get(papi_parsecache *c, const char *key, apr_size_t len)
{
    int i = papi_slot_of(c, key);
    papi_parsed *e = i >= 0 ? c->slots[i] : NULL;

    if (!e || e->len != len)
        return NULL;
    e->refs++;
    return e;
}

/* The model kept for key when its bytes are xml's (referenced for the caller), else NULL. */
static papi_parsed *papi_parsed_same(papi_parsecache *c, const char *key, const char *xml,
                                     apr_size_t len)
{
    papi_parsed *e;

    apr_thread_mutex_lock(c->mutex);
    e = papi_parsed_get(c, key, len);
    apr_thread_mutex_unlock(c->mutex);
    /* Compared outside the mutex: a model is never changed once made. */
    if (!e || !memcmp(e->xml, xml, len))
        return e;
    papi_parsed_release(c, e);
    return NULL;
}

/* e takes key's slot, referenced by it and by the caller. */
static void papi_parsed_keep(papi_parsecache *c, papi_parsed *e)
{
    papi_parsed *gone;
    int i;

    apr_thread_mutex_lock(c->mutex);
    i = papi_slot_for(c, e->key);
    gone = papi_parsed_unref(c->slots[i]);
    c->slots[i] = e;
    e->refs = 2;
    apr_thread_mutex_unlock(c->mutex);
    papi_parsed_destroy(gone);
}

const char *papi_parsecache_parse(papi_parsecache *c, apr_pool_t *p, const char *key,
                                  const char *xml, apr_size_t len,
                                  const papi_procpool **procpool)
{
    papi_procpool *own;
    papi_parsed *e;
    const char *why;

    if (c && len <= PAPI_PARSECACHE_MAX_BODY) {
        if ((e = papi_parsed_same(c, key, xml, len)) != NULL) {
            *procpool = papi_parsed_hold_for(c, e, p);
            return NULL;
        }
        if ((e = papi_parsed_make(c, p, key, xml, len, &why)) != NULL) {
            papi_parsed_keep(c, e);
            *procpool = papi_parsed_hold_for(c, e, p);
            return NULL;
        }
        if (why)
            return why;
    }
    /* Not kept: too large, or no pool for it. */
    why = papi_procpool_parse(p, xml, len, &own);
    *procpool = own;
    return why;
}
