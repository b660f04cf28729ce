/* processes.json: the live pool of every good instance as typed JSON, instance → app groups →
 * processes. Numbers are JSON numbers (null when Passenger did not give one); memory in KiB and
 * times in microseconds since the epoch, as Passenger counts them; uptime in seconds. No secret
 * is ever written: the model's api_key and sockets stay inside the module. */
#ifndef PAPI_PROCESSES_H
#define PAPI_PROCESSES_H

#include "papi_buf.h"
#include "papi_probes.h"
#include "papi_rsshist.h"
#include "papi_view.h"

#include <apr_time.h>

/* Writes the array for views (papi_view): one element per good instance, in order. now gives
 * each process's uptime; each process's last health probe from probes (may be NULL) is shown as
 * "last_probe" when it is no older than max_age, else that is null; its memory of the last ten
 * minutes from rss (may be NULL: then null) as "rss_history". */
void papi_processes_write(papi_buf *b, const apr_array_header_t *views, apr_time_t now,
                          const papi_probes *probes, apr_interval_time_t max_age,
                          const papi_rsshist *rss);

#endif
