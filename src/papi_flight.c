#include "papi_flight.h"

#include <apr_thread_mutex.h>

struct papi_flight {
    apr_thread_mutex_t *lock;
    apr_time_t *started;            /* per slot; 0: free */
    int slots;
    apr_interval_time_t stuck_after;
};

papi_flight *papi_flight_create(apr_pool_t *p, int slots, apr_interval_time_t stuck_after)
{
    papi_flight *f = apr_pcalloc(p, sizeof(*f));

    if (apr_thread_mutex_create(&f->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    f->slots = slots > 0 ? slots : 1;
    f->started = apr_pcalloc(p, f->slots * sizeof(*f->started));
    f->stuck_after = stuck_after;
    return f;
}

int papi_flight_enter(papi_flight *f, apr_time_t now, int cap, apr_time_t **slot)
{
    apr_time_t *free_slot = NULL;
    int i, stuck = 0;

    apr_thread_mutex_lock(f->lock);
    for (i = 0; i < f->slots; i++) {
        if (!f->started[i])
            free_slot = free_slot ? free_slot : &f->started[i];
        else if (now - f->started[i] > f->stuck_after)
            stuck++;
    }
    if (stuck < cap && free_slot)
        *free_slot = now;
    apr_thread_mutex_unlock(f->lock);
    *slot = stuck < cap ? free_slot : NULL;
    return stuck < cap;
}

void papi_flight_leave(papi_flight *f, apr_time_t *slot)
{
    apr_thread_mutex_lock(f->lock);
    *slot = 0;
    apr_thread_mutex_unlock(f->lock);
}
