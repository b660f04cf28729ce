#include "papi_coalesce.h"
#include "papi_alloc.h"

#include <apr_atomic.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <stdlib.h>
#include <string.h>

/* Freed memory the shared answers' allocator keeps for the next ones, in bytes. */
#define PAPI_COALESCE_KEEP_FREE (1024 * 1024)

/* An answer, shared by the requests that waited for it. */
typedef struct papi_shared {
    apr_pool_t *pool;           /* unmanaged, holding resp: it outlives the leader's request */
    papi_http_response *resp;
    apr_uint32_t refs;          /* atomic: a waiter lets go of its copy's source without the mutex */
} papi_shared;

/* One call that requests may join, in rounds: one round in flight at a time. Recycled once no
 * request holds it (its condition variable is made once). */
typedef struct papi_call {
    char *key;                  /* malloc'ed */
    apr_thread_cond_t *done;    /* signalled when a round ends */
    int running;                /* a round is in flight */
    apr_uint64_t started;       /* rounds started */
    apr_uint64_t answered;      /* the round whose answer is shared (0: none) */
    papi_shared *shared;
    int users;                  /* requests holding it: the leader and those waiting */
    struct papi_call *next;
} papi_call;

struct papi_coalesce {
    apr_pool_t *pool;
    apr_allocator_t *allocator; /* of the shared answers' pools (papi_shared_allocator) */
    apr_thread_mutex_t *mutex;
    papi_call *active;          /* holding at least one request */
    papi_call *spare;
};

papi_coalesce *papi_coalesce_create(apr_pool_t *p)
{
    papi_coalesce *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    if (apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || !(c->allocator = papi_shared_allocator(p, PAPI_COALESCE_KEEP_FREE)))
        return NULL;
    return c;
}

/* ---- under the mutex -------------------------------------------------------------------------- */

/* One reference less; the answer when it is to be destroyed (outside the mutex), else NULL. Under
 * the mutex or not. */
static papi_shared *papi_shared_unref(papi_shared *s)
{
    return s && apr_atomic_dec32(&s->refs) == 0 ? s : NULL;
}

static papi_call *papi_call_find(papi_coalesce *c, const char *key)
{
    papi_call *call;

    for (call = c->active; call; call = call->next)
        if (!strcmp(call->key, key))
            return call;
    return NULL;
}

/* A call for key with nobody in it yet, or NULL when none can be made. */
static papi_call *papi_call_new(papi_coalesce *c, const char *key)
{
    papi_call *call = c->spare;
    char *copy = strdup(key);

    if (!copy)
        return NULL;
    if (call)
        c->spare = call->next;
    else {
        call = apr_pcalloc(c->pool, sizeof(*call));
        if (apr_thread_cond_create(&call->done, c->pool) != APR_SUCCESS) {
            free(copy);
            return NULL;
        }
    }
    call->key = copy;
    call->running = 0;
    call->started = call->answered = 0;
    call->shared = NULL;
    call->users = 0;
    call->next = c->active;
    c->active = call;
    return call;
}

/* The request leaves the call; the last one out recycles it. Returns an answer to destroy. */
static papi_shared *papi_call_leave(papi_coalesce *c, papi_call *call)
{
    papi_call **at;
    papi_shared *gone;

    if (--call->users > 0 || call->running)
        return NULL;
    for (at = &c->active; *at != call; at = &(*at)->next)
        ;
    *at = call->next;
    free(call->key);
    call->key = NULL;
    gone = papi_shared_unref(call->shared);
    call->shared = NULL;
    call->next = c->spare;
    c->spare = call;
    return gone;
}

static void papi_call_lead(papi_call *call, papi_coalesce_turn *t)
{
    call->running = 1;
    t->round = ++call->started;
}

/* ---- outside it ------------------------------------------------------------------------------- */

static void papi_shared_destroy(papi_shared *s)
{
    if (s)
        apr_pool_destroy(s->pool);
}

static papi_shared *papi_shared_make(papi_coalesce *c, const papi_http_response *resp)
{
    apr_pool_t *pool;
    papi_shared *s;

    if (apr_pool_create_unmanaged_ex(&pool, NULL, c->allocator) != APR_SUCCESS)
        return NULL;
    s = apr_palloc(pool, sizeof(*s));
    s->pool = pool;
    s->resp = papi_http_response_copy(pool, resp);
    apr_atomic_set32(&s->refs, 1);
    return s;
}

papi_coalesce_role papi_coalesce_join(papi_coalesce *c, const char *key, papi_coalesce_turn *t)
{
    papi_coalesce_role role = PAPI_TURN_LEAD;
    papi_call *call;

    memset(t, 0, sizeof(*t));
    if (!c)
        return PAPI_TURN_LEAD;
    apr_thread_mutex_lock(c->mutex);
    if ((call = papi_call_find(c, key)) == NULL)
        call = papi_call_new(c, key);
    if (call) {
        call->users++;
        t->call = call;
        if (call->running) {
            /* The round in flight started before this request: it waits for the next one. */
            t->need = call->started + 1;
            role = PAPI_TURN_WAIT;
        }
        else
            papi_call_lead(call, t);
    }
    apr_thread_mutex_unlock(c->mutex);
    return role;
}

papi_coalesce_role papi_coalesce_wait(papi_coalesce *c, papi_coalesce_turn *t, apr_pool_t *p,
                                      apr_time_t deadline, int block, papi_http_response **resp)
{
    papi_call *call = t->call;
    papi_shared *mine = NULL, *gone;
    papi_coalesce_role role;

    *resp = NULL;
    if (!c || !call)
        return PAPI_TURN_LEAD;
    apr_thread_mutex_lock(c->mutex);
    for (;;) {
        apr_time_t now;
        if (call->shared && call->answered >= t->need) {
            mine = call->shared;
            apr_atomic_inc32(&mine->refs);
            role = PAPI_TURN_ANSWERED;
            break;
        }
        if (!call->running) {
            papi_call_lead(call, t);
            apr_thread_mutex_unlock(c->mutex);
            return PAPI_TURN_LEAD;
        }
        if ((now = apr_time_now()) >= deadline) {
            role = PAPI_TURN_TIMEOUT;
            break;
        }
        if (!block) {
            apr_thread_mutex_unlock(c->mutex);
            return PAPI_TURN_WAIT;
        }
        apr_thread_cond_timedwait(call->done, c->mutex, deadline - now);
    }
    gone = papi_call_leave(c, call);
    t->call = NULL;
    apr_thread_mutex_unlock(c->mutex);
    papi_shared_destroy(gone);
    if (mine) {
        *resp = papi_http_response_copy(p, mine->resp);
        papi_shared_destroy(papi_shared_unref(mine));
    }
    return role;
}

void papi_coalesce_done(papi_coalesce *c, papi_coalesce_turn *t, const papi_http_response *resp)
{
    papi_call *call = t->call;
    papi_shared *fresh = NULL, *old = NULL, *gone;

    if (!c || !call)
        return;
    apr_thread_mutex_lock(c->mutex);
    /* Copied (outside the mutex) only for requests already waiting: those arriving from now on
     * need a later round. */
    if (resp && call->users > 1) {
        apr_thread_mutex_unlock(c->mutex);
        fresh = papi_shared_make(c, resp);
        apr_thread_mutex_lock(c->mutex);
    }
    if (fresh) {
        old = papi_shared_unref(call->shared);
        call->shared = fresh;
        call->answered = t->round;
    }
    call->running = 0;
    gone = papi_call_leave(c, call);
    t->call = NULL;
    apr_thread_mutex_unlock(c->mutex);
    /* Once the mutex is free, so that the woken do not find it held. A condition variable is never
     * destroyed: if call was recycled meanwhile, its new waiters wake, look, and wait again. */
    apr_thread_cond_broadcast(call->done);
    papi_shared_destroy(old);
    papi_shared_destroy(gone);
}

int papi_coalesce_active(papi_coalesce *c)
{
    papi_call *call;
    int n = 0;

    if (!c)
        return 0;
    apr_thread_mutex_lock(c->mutex);
    for (call = c->active; call; call = call->next)
        n++;
    apr_thread_mutex_unlock(c->mutex);
    return n;
}
