/* What the pool views (processes.json, /metrics, the dashboard) are drawn from: every candidate
 * instance, and for each good one the outcome of reading its pool.xml. */
#ifndef PAPI_VIEW_H
#define PAPI_VIEW_H

#include "papi_fanout.h"
#include "papi_inflight.h"
#include "papi_procpool.h"
#include "papi_registry.h"

typedef struct papi_view {
    const papi_instance *inst;  /* every candidate, in registry order; only good ones are asked */
    int status;                 /* 0: not good, not asked; 200: procpool set; else 502, 503, 504 */
    const char *error;          /* why not, when status is neither 0 nor 200 */
    const papi_procpool *procpool;      /* when status is 200 */
    const apr_array_header_t *inflight; /* papi_inflight, longest-running first, once
                                         * papi_view_inflight read server.json; else NULL */
    int inflight_total;                 /* how many there were (inflight keeps
                                         * PAPI_INFLIGHT_MAX at the most) */
} papi_view;

/* Reads the pool of every good instance in instances (GET core_path: /pool.xml, or with
 * ?secrets=true for the module's own use) and returns one papi_view per candidate, in order.
 * An instance whose answer is not a 200 pool.xml gets 502 and why. Failures are described in
 * failures (const char *), when not NULL. */
apr_array_header_t *papi_view_collect(apr_pool_t *p, const papi_fanout_config *cfg,
                                      const apr_array_header_t *instances, const char *core_path,
                                      apr_array_header_t *failures);

/* The group of v's pool that holds process pid, with the process in *proc; NULL when none does. */
const papi_procpool_group *papi_view_find(const papi_view *v, apr_int64_t pid,
                                          const papi_procpool_process **proc);

/* Reads server.json of every instance whose pool was read (cfg says how, scrubbing included) and
 * sets each one's inflight: the requests running now. An instance whose answer cannot be read
 * keeps NULL, described in failures (const char *), when not NULL. */
void papi_view_inflight(apr_pool_t *p, const papi_fanout_config *cfg, apr_array_header_t *views,
                        apr_array_header_t *failures);

/* The processes of every pool read. */
int papi_view_process_count(const apr_array_header_t *views);

#endif
