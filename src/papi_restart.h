/* When to restart a daemon that died (the credential helper), as mod_cgid tells a daemon that
 * fails at startup from one that crashed: a death within PAPI_RESTART_QUICK of its start counts as
 * failing at startup; after PAPI_RESTART_TRIES of those in a row it is not restarted any more (it
 * would only die again), and each restart before that waits twice as long as the one before: at
 * once, then 1, 2, 4 s. A death after a longer life restarts it at once and starts the count
 * again. */
#ifndef PAPI_RESTART_H
#define PAPI_RESTART_H

#include <apr_time.h>

#define PAPI_RESTART_QUICK apr_time_from_sec(10)
#define PAPI_RESTART_TRIES 5

typedef struct papi_restart {
    int quick_deaths;       /* in a row */
} papi_restart;

/* How long the restart of a daemon that lived for lived waits; -1 for never. */
apr_interval_time_t papi_restart_delay(papi_restart *r, apr_interval_time_t lived);

#endif
