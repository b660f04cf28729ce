/* The requests to this API one httpd child is answering, by start time, and how many of them may
 * be stuck at once. A request waiting longer than stuck_after is stuck: a wedged core or process
 * holds it. Past the cap, new requests are refused, so such a wedge can hold only part of a
 * child's threads, while quick answers are never refused however many. */
#ifndef PAPI_FLIGHT_H
#define PAPI_FLIGHT_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct papi_flight papi_flight;

/* A limiter for slots requests at once (the child's threads), NULL when no mutex can be made
 * (then nothing is limited). */
papi_flight *papi_flight_create(apr_pool_t *p, int slots, apr_interval_time_t stuck_after);

/* Counts a request that starts at now in, unless cap requests are stuck already: 1 with *slot
 * the slot to give back with papi_flight_leave (NULL when every slot is taken by requests not
 * stuck: it is let in uncounted), or 0 when it is refused. */
int papi_flight_enter(papi_flight *f, apr_time_t now, int cap, apr_time_t **slot);

/* Counts the request of slot out. */
void papi_flight_leave(papi_flight *f, apr_time_t *slot);

#endif
