/* The Prometheus text exposition (format 0.0.4) of every instance: up and version, pool capacity
 * and use, per app group queue and process counts, per process sessions, requests processed,
 * memory and CPU, and the scrape's own duration and errors. Label cardinality stays bounded:
 * processes are told apart by a slot within their app group, and by pid only when asked. */
#ifndef PAPI_METRICS_H
#define PAPI_METRICS_H

#include "papi_buf.h"
#include "papi_view.h"

#include <apr_time.h>

typedef struct papi_metrics_opts {
    apr_interval_time_t scrape_duration;    /* time spent reading the instances */
    int pid_label;                          /* add a pid label to the per-process series */
} papi_metrics_opts;

/* Content-Type of the exposition. */
#define PAPI_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the exposition for views (papi_view) to b. */
void papi_metrics_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                        const papi_metrics_opts *opts);

#endif
