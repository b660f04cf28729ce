/* Each process's resident memory over the last ten minutes, without Prometheus: sampled from
 * /proc/<pid>/status whenever a child reads an instance's pool (at most once every
 * PAPI_RSSHIST_EVERY per process, whichever child comes first), kept in a fixed table in anonymous
 * shared memory made before the children fork, and shown as rss_history in processes.json and a
 * sparkline on the dashboard. Each slot holds one process (by instance name and pid) and a ring
 * of its samples; another process hashing to it takes it over. Slots are seqlocks, as
 * papi_probes's: readers never wait, a torn read is skipped, never shown. */
#ifndef PAPI_RSSHIST_H
#define PAPI_RSSHIST_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define PAPI_RSSHIST_WINDOW apr_time_from_sec(600)
#define PAPI_RSSHIST_EVERY apr_time_from_sec(5)
/* How often a process whose /proc never told anything is tried again. */
#define PAPI_RSSHIST_RETRY apr_time_from_sec(60)
/* Samples a slot keeps: the window at one sample per PAPI_RSSHIST_EVERY. */
#define PAPI_RSSHIST_SAMPLES 120

typedef struct papi_rsshist papi_rsshist;

typedef struct papi_rss_sample {
    apr_uint32_t at;                /* seconds since the epoch */
    apr_uint32_t kb;                /* resident memory, kB */
} papi_rss_sample;

/* A table of slots in shared memory that lives as long as p; NULL (with *why) when it cannot be
 * made. */
papi_rsshist *papi_rsshist_create(apr_pool_t *p, int slots, const char **why);

/* Whether process pid of instance name is to have its /proc read now: it may have a slot, and
 * its last read is PAPI_RSSHIST_EVERY old (PAPI_RSSHIST_RETRY when no read ever told anything). */
int papi_rsshist_due(const papi_rsshist *t, const char *name, apr_int64_t pid, apr_time_t now);

/* Records kb as that process's resident memory at now (kb < 0: its /proc was tried and told
 * nothing, which is remembered so that it is not tried again before it is due), unless another
 * child is writing its slot or a sample of it is no longer due. */
void papi_rsshist_add(papi_rsshist *t, const char *name, apr_int64_t pid, apr_time_t now,
                      apr_int64_t kb);

/* That process's samples of the last PAPI_RSSHIST_WINDOW before now, oldest first, into out
 * (room for PAPI_RSSHIST_SAMPLES): how many. 0 when none (or a writer was in the slot). */
int papi_rsshist_get(const papi_rsshist *t, const char *name, apr_int64_t pid, apr_time_t now,
                     papi_rss_sample *out);

/* Samples every process of every read pool in views (papi_view) that is due, reading
 * /proc/<pid>/status below proc (only while the process is still its group's user's). */
void papi_rsshist_sample(papi_rsshist *t, apr_pool_t *p, const apr_array_header_t *views,
                         apr_time_t now, const char *proc);

#endif
