/* The Prometheus text exposition (format 0.0.4) of every instance, in one of two namings. Native:
 * up and version, pool capacity and use, per app group queue and process counts, per process
 * sessions, requests processed, memory and CPU. Exporter: the families of passenger-exporter
 * (nex-health/passenger-exporter, after stuartnelson3/passenger_exporter), with their names and
 * labels, in the units they meant. Both: the scrape's own duration and errors, and the last
 * health probe of each process. Every series carries passenger_instance, an identity that
 * outlives Passenger's restarts (papi_identity). Label cardinality stays bounded: processes are
 * told apart by a slot within their app group, and by pid only when asked. */
#ifndef PAPI_METRICS_H
#define PAPI_METRICS_H

#include "papi_buf.h"
#include "papi_probes.h"
#include "papi_view.h"

#include <apr_time.h>

typedef enum {
    PAPI_METRICS_NATIVE,        /* passenger_pool_*, passenger_app_group_*, passenger_process_* */
    PAPI_METRICS_EXPORTER       /* passenger-exporter's names and labels */
} papi_metrics_names;

typedef struct papi_metrics_opts {
    apr_interval_time_t scrape_duration;    /* time spent reading the instances */
    int pid_label;                          /* add a pid label to native per-process series */
    papi_metrics_names names;
    const char *hostname;                   /* exporter names: their hostname label */
    const papi_probes *probes;              /* the last health probes, or NULL */
    apr_time_t now;
    apr_interval_time_t probe_max_age;      /* older probes are not shown */
    const char *proc;                       /* where /proc is (NULL: /proc) */
} papi_metrics_opts;

/* Content-Type of the exposition. */
#define PAPI_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the exposition for views (papi_view) to b. */
void papi_metrics_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                        const papi_metrics_opts *opts);

#endif
