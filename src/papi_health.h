/* health.json: every process of every instance probed at once over its own HTTP socket (a GET of
 * the configured path with its group's connect password), each by its own deadline, so probing
 * fifty processes takes about one deadline. */
#ifndef PAPI_HEALTH_H
#define PAPI_HEALTH_H

#include "papi_buf.h"
#include "papi_exchange.h"
#include "papi_probes.h"
#include "papi_view.h"

/* Processes probed at once at the most (connections open together): the pools' own caps bound
 * how many processes there are, this bounds how many descriptors one request holds. Beyond it,
 * probes wait for a free slot, each by the same deadline. */
#define PAPI_HEALTH_AT_ONCE 64

typedef struct papi_probe {
    const papi_view *view;          /* its instance */
    const papi_procpool_group *group;
    const papi_procpool_process *proc;
    const char *unreachable;        /* why it was not probed (not alive and enabled, no HTTP
                                     * socket the module reaches, no uid or connect password),
                                     * or NULL */
    int status;                     /* the process's HTTP status; 0 when it gave none */
    int healthy;                    /* answered 2xx or 3xx by its deadline */
    apr_interval_time_t latency;    /* until its answer or failure */
    const char *error;              /* why it is not healthy, or NULL */
    apr_int64_t rss_before;         /* its resident memory in kB just before the probes were */
    apr_int64_t rss_after;          /* sent and just after they ended; -1 when not known */
} papi_probe;

/* Probes the processes of every read pool in views (read with secrets=true), PAPI_HEALTH_AT_ONCE
 * at a time, all answered by deadline: one papi_probe each, in pool order, with each contacted
 * process's resident memory before and after as /proc/<pid>/status below proc tells it. Only processes alive
 * and enabled are contacted, and each only once its listener is checked to be its app group's
 * user's (papi_direct_require_owner). */
apr_array_header_t *papi_health_probe(apr_pool_t *p, const apr_array_header_t *views,
                                      const char *path, apr_time_t deadline,
                                      const papi_http_limits *limits, const char *proc);

/* Keeps each probe's result in table (may be NULL), as of now, for processes.json and the
 * dashboard. */
void papi_health_record(papi_probes *table, const apr_array_header_t *probes, apr_time_t now);

/* Writes the health.json object and returns its HTTP status: 200 when every good instance was read
 * and every probed process is healthy (processes that cannot be probed are listed as unreachable
 * and do not count), else 503. */
int papi_health_write(papi_buf *b, const apr_array_header_t *views,
                      const apr_array_header_t *probes, const char *path);

#endif
