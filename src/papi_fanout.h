/* Asking instances: the credential for each (read directly when this process owns the instance,
 * else from the helper), the call to its core, and the aggregate array. One instance's failure
 * never affects another's answer. A read the same as one in flight in this process waits for the
 * next such call instead of making its own (papi_coalesce.h). */
#ifndef PAPI_FANOUT_H
#define PAPI_FANOUT_H

#include "papi_buf.h"
#include "papi_coalesce.h"
#include "papi_core.h"
#include "papi_cred.h"
#include "papi_instcache.h"
#include "papi_registry.h"
#include "papi_stats.h"

typedef struct papi_fanout_config {
    apr_interval_time_t timeout;    /* per instance, connect included */
    apr_time_t request_deadline;    /* no instance is asked, nor waited for, after this */
    int max_instances;              /* good instances asked in one request at the most */
    papi_cred_level level;
    int redact;                     /* scrub secrets from answers (read-only mode) */
    const char *helper_socket;      /* NULL when no helper runs */
    const papi_http_limits *limits;
    papi_instcache *cache;          /* credentials and idle connections kept; NULL: none */
    papi_coalesce *coalesce;        /* identical calls joined; NULL: each request calls */
    papi_stats *stats;              /* calls made and joined counted there; NULL: not counted */
    struct papi_parsecache *parsed; /* pool.xml models kept for the views; NULL: none */
} papi_fanout_config;

/* When a call that starts now must be answered: PassengerApiTimeout from now, and never after the
 * request's own deadline. */
apr_time_t papi_fanout_deadline(const papi_fanout_config *cfg);

/* Calls one good instance with req (whose user/password are filled in here). */
void papi_fanout_call(apr_pool_t *p, const papi_fanout_config *cfg, const papi_instance *inst,
                      const papi_core_request *req, papi_exchange_result *res);

typedef struct papi_fanout_result {
    const papi_instance *inst;
    papi_exchange_result res;
} papi_fanout_result;

/* Calls every good instance with req, all at once (their credentials first, one after the
 * other), each bounded by its own deadline: one papi_fanout_result per good instance, in the order
 * of instances. Instances past max_instances, or reached after the request's deadline, are not
 * asked: their results say so (503 and 504). Each failure, and each of those two limits once, is
 * described in failures (const char *), when not NULL. */
apr_array_header_t *papi_fanout_collect(apr_pool_t *p, const papi_fanout_config *cfg,
                                        const apr_array_header_t *instances,
                                        const papi_core_request *req, apr_array_header_t *failures);

/* Calls every good instance and writes the PassengerAPI-compatible array to b (failures as
 * for papi_fanout_collect). */
void papi_fanout_aggregate(papi_buf *b, apr_pool_t *p, const papi_fanout_config *cfg,
                           const apr_array_header_t *instances, const papi_core_request *req,
                           apr_array_header_t *failures);

#endif
