/* HTTP exchanges with Passenger cores over their Unix sockets (agents.s/core_api), each bounded by
 * a deadline for the whole exchange, connect included, and run by the engine of papi_exchange.h.
 * The request is built here from validated parts; the credential is sent only after SO_PEERCRED
 * shows who listens on the socket. */
#ifndef PAPI_CORE_H
#define PAPI_CORE_H

#include "papi_exchange.h"
#include "papi_http.h"

#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <sys/types.h>

typedef struct papi_core_request {
    const char *method;         /* from an allow-list */
    const char *path;           /* validated core path with its rebuilt query, e.g. /pool.txt?a=b */
    const char *user;           /* Basic auth user (ro_admin or admin), or NULL for none */
    const char *password;
    const char *content_type;   /* with a body only */
    const char *body;
    apr_size_t body_len;
    const papi_http_response *known;   /* set: never sent, each core's answer is this one */
} papi_core_request;

/* papi_exchange_result (the outcome of one call) is in papi_exchange.h. */

/* What a core (6.0.17) answers a GET or HEAD to one of its write endpoints when the credential
 * may write there (and to /gc.json, /shutdown.json, /reopen_logs.json and /reinherit_logs.json
 * whatever the credential): 405, "Method not allowed", without acting. */
const papi_http_response *papi_core_405(apr_pool_t *p);

/* The serialised request, in one allocation from p; it carries the credential, so whoever sends
 * it wipes it (the exchange engine does). */
char *papi_core_request_text(apr_pool_t *p, const papi_core_request *req, apr_size_t *len);

/* Sets x up to send req to the core socket at socket_path, accepting as the listener only owner
 * or root, answered by deadline; run it (with others) through papi_exchange_run. */
void papi_core_exchange(apr_pool_t *p, papi_exchange *x, const char *socket_path, uid_t owner,
                        const papi_core_request *req, apr_time_t deadline,
                        const papi_http_limits *limits);

/* One such exchange on its own. Never fails as a whole: the outcome is in *res. */
void papi_core_call(apr_pool_t *p, const char *socket_path, uid_t owner,
                    const papi_core_request *req, apr_time_t deadline,
                    const papi_http_limits *limits, papi_exchange_result *res);

/* Connects an AF_UNIX stream socket to path before deadline and returns its listener's uid.
 * Used for the core and for the credential helper. */
apr_status_t papi_unix_connect(apr_pool_t *p, const char *path, apr_time_t deadline,
                               apr_socket_t **sock, uid_t *peer_uid);

/* Sets the socket's per-call timeout to what is left before deadline; APR_TIMEUP if nothing is. */
apr_status_t papi_socket_until(apr_socket_t *sock, apr_time_t deadline);

/* Sends all of data before deadline. */
apr_status_t papi_socket_send_all(apr_socket_t *sock, const char *data, apr_size_t len,
                                  apr_time_t deadline);

#endif
