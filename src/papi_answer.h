/* The JSON answers: an instance as PassengerAPI shows it, the aggregate array's elements, and the
 * list of candidates in the registries. */
#ifndef PAPI_ANSWER_H
#define PAPI_ANSWER_H

#include "papi_buf.h"
#include "papi_core.h"
#include "papi_registry.h"

/* properties.json as Passenger wrote it, plus instance_dir.path, core_pid and state (and reason
 * when it is not good): inst->json when the cache made it, else made now. */
void papi_answer_instance(papi_buf *b, const papi_instance *inst);

/* The same text, made afresh (in p), for the cache to keep with the instance. */
const char *papi_answer_instance_text(apr_pool_t *p, const papi_instance *inst);

/* One element of the aggregate array: {"instance", "status", "header", "body"} from the core's
 * answer, or with status 502/504 and "error" when the call failed. */
void papi_answer_element(papi_buf *b, apr_pool_t *p, const papi_instance *inst,
                         const papi_exchange_result *res);

/* A JSON array of every candidate instance; a registry's summary entry (papi_instance_is_summary)
 * is {"instance_dir": {"path": registry}, "state": "omitted", "omitted", "untrusted",
 * "not_inspected", "reason"}. */
void papi_answer_instances(papi_buf *b, const apr_array_header_t *instances);

/* The media type a core's answer is relayed with: only the types Passenger's core uses, and never
 * one a browser would run (its error pages say text/html: they are shown as text/plain). */
const char *papi_safe_type(const papi_http_response *resp);

/* {"status": N, "error": "..."}: the module's own error answers. */
void papi_answer_error(papi_buf *b, int status, const char *error);

#endif
