/* The HTML dashboard: one self-contained page (no outside scripts, styles, fonts or images; its
 * one <style> carries the request's CSP nonce) that refreshes itself. Every value from outside is
 * escaped. */
#ifndef PAPI_DASHBOARD_H
#define PAPI_DASHBOARD_H

#include "papi_action.h"
#include "papi_buf.h"
#include "papi_probes.h"
#include "papi_rsshist.h"
#include "papi_view.h"

#include <apr_time.h>

typedef struct papi_dashboard_opts {
    const char *base;       /* URL path of the API (the <Location>), for links: "/passenger-api" */
    apr_time_t now;         /* for ages ("5m ago") and uptimes */
    int refresh;            /* seconds between reloads */
    const char *nonce;      /* CSP nonce of the <style> element: [A-Za-z0-9+/=]+ */
    const papi_probes *probes;              /* last health probes, or NULL */
    apr_interval_time_t probe_max_age;      /* older ones are not shown */
    const char *action_nonce;   /* full mode: the actions' nonce, put in every form; NULL: no
                                 * forms (read-only) */
    const papi_action_done *done;           /* what the last action did (the query), or NULL */
    const papi_rsshist *rss;                /* memory histories, or NULL */
} papi_dashboard_opts;

/* The longest reload period ?refresh= may ask for, in seconds (mod_status's own bound). */
#define PAPI_DASHBOARD_REFRESH_MAX 3600

/* The dashboard's query (a request's, NULL for none): at most one refresh=N, as mod_status's
 * (N whole seconds, 0 for no reload, up to PAPI_DASHBOARD_REFRESH_MAX), put in *refresh; without
 * one *refresh is left as it is. After an action, also its report (done=...&group=... or
 * &pid=..., papi_action_done_field), put in *done. NULL, or why the query is refused. */
const char *papi_dashboard_query(apr_pool_t *p, const char *args, int *refresh,
                                 papi_action_done *done);

/* Writes the page for views (papi_view) to b. */
void papi_dashboard_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                          const papi_dashboard_opts *opts);

#endif
