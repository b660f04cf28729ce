/* What the module has done, summed over every httpd child of one generation, for the "Passenger
 * API" section of mod_status's /server-status: counters in anonymous shared memory made before the
 * children fork, each added to with an atomic add (no lock), the credential helper's state as the
 * parent last saw it, and the instances by state as the last scan of any child found them (a
 * seqlock, as papi_probes: a torn read is retried, never shown). Every function accepts a NULL
 * table: nothing is counted, and the view is all zeros. */
#ifndef PAPI_STATS_H
#define PAPI_STATS_H

#include "papi_buf.h"
#include "papi_registry.h"

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef enum {
    PAPI_STAT_CORE_CALLS,       /* calls made to cores */
    PAPI_STAT_CALLS_JOINED,     /* answers taken from a call another request made (papi_coalesce) */
    PAPI_STAT_CACHE_HITS,       /* instances taken from a child's cache (papi_instcache) */
    PAPI_STAT_CACHE_MISSES,     /* instances inspected afresh */
    PAPI_STAT_HELPER_RESTARTS,  /* the credential helper started again after it died */
    PAPI_STAT_COUNTERS
} papi_stat;

typedef enum {
    PAPI_HELPER_NONE,           /* none is needed: httpd does not start as root */
    PAPI_HELPER_UP,
    PAPI_HELPER_DOWN            /* died, and not (yet) started again */
} papi_helper_state;

/* Instance states (papi_inst_state), then the candidates past a registry's bound, uninspected. */
#define PAPI_STATS_STATES (PAPI_INST_UNTRUSTED + 2)
#define PAPI_STATS_UNINSPECTED (PAPI_INST_UNTRUSTED + 1)

typedef struct papi_stats papi_stats;

/* Everything at one moment. */
typedef struct papi_stats_view {
    apr_uint64_t counter[PAPI_STAT_COUNTERS];
    papi_helper_state helper;
    apr_time_t scanned_at;                  /* the last scan; 0: none yet */
    apr_uint32_t instances[PAPI_STATS_STATES];
} papi_stats_view;

/* A table in shared memory that lives as long as p; NULL (with *why) when it cannot be made. */
papi_stats *papi_stats_create(apr_pool_t *p, const char **why);

void papi_stats_add(papi_stats *s, papi_stat which, apr_uint64_t n);

void papi_stats_set_helper(papi_stats *s, papi_helper_state state);

/* Records what a scan at now found: instances (papi_instance *, summaries included). When another
 * scan is being recorded at the same moment, this one is dropped: both are as recent. */
void papi_stats_scanned(papi_stats *s, const apr_array_header_t *instances, apr_time_t now);

void papi_stats_read(const papi_stats *s, papi_stats_view *v);

/* The section for mod_status at now: HTML, or with short_form (?auto) "Key: Value" lines. */
void papi_stats_write(papi_buf *b, const papi_stats_view *v, int short_form, apr_time_t now);

#endif
