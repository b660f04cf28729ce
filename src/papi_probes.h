/* The last probe of each process, shared by every httpd child: health.json records its results
 * here, and processes.json and the dashboard show them while they are recent. A fixed table in
 * anonymous shared memory made before the children fork; each slot is a seqlock, so readers never
 * wait and a torn read is retried or skipped, never shown. A slot holds one process (by instance
 * name and pid); another process hashing to it replaces it. */
#ifndef PAPI_PROBES_H
#define PAPI_PROBES_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct papi_probes papi_probes;

typedef struct papi_probe_result {
    apr_time_t at;                  /* when the probe ended */
    int reachable;
    int healthy;
    int status;                     /* HTTP status, 0 when none */
    apr_interval_time_t latency;
    char error[160];                /* "" when none; cut to fit */
} papi_probe_result;

/* A table of slots in shared memory that lives as long as p; NULL (with *why) when it cannot be
 * made. */
papi_probes *papi_probes_create(apr_pool_t *p, int slots, const char **why);

/* Records the last probe of process pid of instance name. */
void papi_probes_put(papi_probes *t, const char *name, apr_int64_t pid,
                     const papi_probe_result *r);

/* The last probe of that process if one is recorded and no older than max_age; 0 otherwise. */
int papi_probes_get(const papi_probes *t, const char *name, apr_int64_t pid, apr_time_t now,
                    apr_interval_time_t max_age, papi_probe_result *r);

#endif
