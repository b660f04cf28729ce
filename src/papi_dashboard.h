/* The HTML dashboard: one self-contained page (no outside scripts, styles, fonts or images; its
 * one <style> carries the request's CSP nonce) that refreshes itself. Every value from outside is
 * escaped. */
#ifndef PAPI_DASHBOARD_H
#define PAPI_DASHBOARD_H

#include "papi_buf.h"
#include "papi_probes.h"
#include "papi_view.h"

#include <apr_time.h>

typedef struct papi_dashboard_opts {
    const char *base;       /* URL path of the API (the <Location>), for links: "/passenger-api" */
    apr_time_t now;         /* for ages ("5m ago") and uptimes */
    int refresh;            /* seconds between reloads */
    const char *nonce;      /* CSP nonce of the <style> element: [A-Za-z0-9+/=]+ */
    const papi_probes *probes;              /* last health probes, or NULL */
    apr_interval_time_t probe_max_age;      /* older ones are not shown */
} papi_dashboard_opts;

/* Writes the page for views (papi_view) to b. */
void papi_dashboard_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                          const papi_dashboard_opts *opts);

#endif
