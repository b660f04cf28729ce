/* Requests straight to one application process, bypassing Passenger's load balancer: finding
 * the process and its HTTP socket in the pool (read with secrets=true), and the
 * request it is sent. The process checks X-Passenger-Connect-Password, its group's API key: the
 * key goes to the process only, never back to the client. */
#ifndef PAPI_DIRECT_H
#define PAPI_DIRECT_H

#include "papi_exchange.h"
#include "papi_view.h"

typedef struct papi_direct_target {
    const papi_view *view;              /* its instance */
    const papi_procpool_group *group;
    const papi_procpool_process *proc;
} papi_direct_target;

/* The process with this pid among the read pools of views; 0 when there is none. */
int papi_direct_find(const apr_array_header_t *views, apr_int64_t pid, papi_direct_target *t);

/* Why proc must not be contacted, or NULL: only a process that pool.xml shows alive and enabled
 * is (one detached, disabled or shutting down stays listed for a while, and its port may be
 * anyone's by then). */
const char *papi_direct_contact_error(apr_pool_t *p, const papi_procpool_process *proc);

/* Sets x up for proc's HTTP socket (protocol "http" at tcp://<loopback address>:<port>) and
 * returns NULL, or why the process has none the module reaches (for a 501: session-only apps,
 * an HTTP socket on a Unix path or on an address that is not loopback). */
const char *papi_direct_socket(apr_pool_t *p, const papi_procpool_process *proc, papi_exchange *x);

/* Makes x (set up by papi_direct_socket) send nothing unless the listener, and then the other end
 * of the connection, belong to group's user (the uid pool.xml gives it) or root: NULL, or why
 * that cannot be checked (pool.xml gives no uid). */
const char *papi_direct_require_owner(apr_pool_t *p, const papi_procpool_group *group,
                                      papi_exchange *x);

/* Why target (what follows /processes/<pid> in the request line: a path, still percent-encoded,
 * and its query) cannot be sent to a process, or NULL. */
const char *papi_direct_target_error(const char *target);

/* Whether a client's request header is passed on to the process (an allow-list: never cookies,
 * credentials meant for this API, or hop-by-hop headers). */
int papi_direct_header_passed(const char *name);

/* Whether a process's response header is relayed to the client (an allow-list: never cookies or
 * redirects into the API's own URL space). */
int papi_direct_header_relayed(const char *name);

typedef struct papi_direct_request {
    const char *method;                 /* as the client sent it, already allowed */
    const char *target;                 /* checked with papi_direct_target_error */
    const apr_array_header_t *headers;  /* papi_http_header from the client; only passed ones go */
    const char *password;               /* the group's API key */
    const char *body;                   /* NULL for none */
    apr_size_t body_len;
} papi_direct_request;

/* The request text for x (whose target is set), in one allocation: it carries the connect
 * password, and the exchange wipes it once sent. */
void papi_direct_request_text(apr_pool_t *p, const papi_direct_request *req, papi_exchange *x);

/* Calling one application process, as /processes/<pid>/ and health.json both do: sets x up to
 * send req (its password is group's API key) to proc, answered by deadline within limits, once
 * every check holds: the process is alive and enabled (else 503), has an HTTP socket this module
 * reaches (else 501), its listener can be checked to be group's user's (else 502) and group has a
 * connect password (else 502). Returns NULL, or why not with *status the HTTP status it calls
 * for. */
const char *papi_direct_prepare(apr_pool_t *p, const papi_procpool_group *group,
                                const papi_procpool_process *proc, const papi_direct_request *req,
                                const papi_http_limits *limits, apr_time_t deadline,
                                papi_exchange *x, int *status);

#endif
