/* Identical calls to a core, joined. While one request's call is in flight, the requests of the
 * same process that want the very same answer (same instance, credential level, limits, method
 * and path) wait for the next call, which one of them makes for them all:
 *   - no answer is older than the request it is given to: each comes from a call that started
 *     after the request arrived (so a GET after a POST sees the POST's effect);
 *   - a burst of N identical requests costs the core two calls per process instead of N, and the
 *     core serves the applications too.
 * Only answers are shared. A call that ends without one (no connection, deadline, no credential)
 * is given up, and the next waiting request makes its own.
 *
 * One per process, shared by its threads under a mutex held for bookkeeping only: answers are
 * copied outside it. Every function accepts a NULL coalescer: every request then makes its own
 * call. */
#ifndef PAPI_COALESCE_H
#define PAPI_COALESCE_H

#include "papi_http.h"

#include <apr_pools.h>
#include <apr_time.h>

typedef struct papi_coalesce papi_coalesce;

/* A request's place in one call: filled in by papi_coalesce_join. */
typedef struct papi_coalesce_turn {
    struct papi_call *call;     /* NULL: on its own */
    apr_uint64_t round;         /* the round this request makes (when it leads) */
    apr_uint64_t need;          /* the first round that started after this request arrived */
} papi_coalesce_turn;

typedef enum {
    PAPI_TURN_LEAD,         /* make the call now, then papi_coalesce_done */
    PAPI_TURN_WAIT,         /* another request's call is in flight: papi_coalesce_wait */
    PAPI_TURN_ANSWERED,     /* the answer of a call made by another request */
    PAPI_TURN_TIMEOUT       /* the deadline passed first */
} papi_coalesce_role;

/* A coalescer living as long as p (a child's pool); NULL if its mutex cannot be made. */
papi_coalesce *papi_coalesce_create(apr_pool_t *p);

/* Joins the call named key (any string naming the answer exactly): LEAD or WAIT. */
papi_coalesce_role papi_coalesce_join(papi_coalesce *c, const char *key, papi_coalesce_turn *t);

/* After WAIT: the answer of a call that started after the join. ANSWERED (*resp is a copy in p),
 * LEAD (no call is in flight: this request makes the next one), TIMEOUT, or, when block is 0 and
 * a call is still in flight, WAIT. With block, waits for that call to end, until deadline. */
papi_coalesce_role papi_coalesce_wait(papi_coalesce *c, papi_coalesce_turn *t, apr_pool_t *p,
                                      apr_time_t deadline, int block, papi_http_response **resp);

/* After LEAD, once the call has ended: resp is the core's answer, given to the requests waiting
 * for it, or NULL when there is none (the next waiting request then leads). */
void papi_coalesce_done(papi_coalesce *c, papi_coalesce_turn *t, const papi_http_response *resp);

/* Calls with a request in them now (for tests: 0 once every request is through). */
int papi_coalesce_active(papi_coalesce *c);

#endif
