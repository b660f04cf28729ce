/* What is running now: every request in flight, from a core's server.json (ServerKit's state:
 * thread<N>.active_clients.<client>.current_request, with the process its session is checked out
 * from as session.pid). A core's answer is outside input: parsed strictly, a wrong type refuses
 * the whole answer. Read-only mode's paths come already scrubbed (papi_redact). */
#ifndef PAPI_INFLIGHT_H
#define PAPI_INFLIGHT_H

#include <apr_tables.h>
#include <apr_time.h>

/* Requests kept from one answer at the most (the longest-running); the rest are counted only. */
#define PAPI_INFLIGHT_MAX 1000

typedef struct papi_inflight {
    apr_int64_t pid;            /* the process serving it; 0 while none is checked out */
    const char *method;
    const char *path;           /* the request target as the core shows it */
    apr_time_t started_at;      /* microseconds since the epoch; 0 when the core gave none */
    apr_interval_time_t age;    /* how long it had run when the core answered; -1: unknown */
} papi_inflight;

/* The requests in flight in server.json's body (len bytes), longest-running first (those of
 * unknown age last), in *reqs (papi_inflight); how many there were in *total. Bytes that are not
 * UTF-8 (a path as a client sent it) are read as U+FFFD. NULL, or why the body is not such an
 * answer. */
const char *papi_inflight_parse(apr_pool_t *p, const char *body, apr_size_t len,
                                apr_array_header_t **reqs, int *total);

/* How many of reqs (papi_inflight) process pid serves. */
int papi_inflight_count(const apr_array_header_t *reqs, apr_int64_t pid);

#endif
