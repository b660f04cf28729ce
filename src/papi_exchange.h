/* Many HTTP/1.1 request/response exchanges at once, driven by one pollset and no threads: every
 * exchange has its own target and its own deadline, so one slow or hung peer costs its own
 * deadline and nothing more. Each call owns everything it uses (its pollset included), so calls
 * from different httpd threads share nothing.
 *
 * A target is an AF_UNIX socket (a Passenger core: the listener must be the instance's owner or
 * root, checked with SO_PEERCRED before a single byte is sent, since the request carries a
 * credential) or a numeric IP address and port (an application process: with check_tcp_owner, the
 * listener and then the other end of the connection must be the owner's or root's, as Linux's
 * sock_diag tells them, before a single byte is sent; see papi_tcptable.h). */
#ifndef PAPI_EXCHANGE_H
#define PAPI_EXCHANGE_H

#include "papi_http.h"

#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <sys/types.h>

/* The outcome of one exchange, with a core or with an application process. */
typedef struct papi_exchange_result {
    int failure;                /* 0 (resp is the peer's answer), 502 or 504 */
    const char *error;          /* what went wrong when failure != 0 */
    papi_http_response *resp;   /* the peer's answer when failure == 0 */
} papi_exchange_result;

typedef struct papi_exchange {
    /* The target: unix_path when set, else ip:port. */
    const char *unix_path;          /* absolute AF_UNIX path */
    uid_t owner;                    /* AF_UNIX, and TCP with check_tcp_owner: the listener must
                                     * be owner or root */
    int check_tcp_owner;            /* TCP (IPv4) only: check owner on new connections */
    const char *ip;                 /* numeric IPv4 or IPv6 address (never resolved); NULL:
                                     * 127.0.0.1 */
    apr_port_t port;
    const char *peer;               /* how messages name the peer, e.g. "the core"; NULL: "the
                                     * server" */
    /* The request: wiped (explicit_bzero) when the exchange ends, since it may carry a
     * credential. */
    char *request;
    apr_size_t request_len;
    const papi_http_limits *limits; /* NULL: papi_http_default_limits */
    int head;                       /* the request is HEAD: the answer has no body */
    apr_time_t deadline;            /* for the whole exchange, connect included */
    /* Connection reuse, both off unless set. */
    int reuse_fd;                   /* >= 0: an idle connection to this target (its listener
                                     * checked when it was opened), used instead of a new one
                                     * and owned by the run from then on. One on which anything
                                     * arrived while idle is closed and a new one opened. It may be
                                     * closed by the peer meanwhile: the request is then sent once
                                     * more on a new connection, so set it for idempotent requests
                                     * only. papi_exchange_unix/tcp set it to -1. */
    int keep_alive;                 /* keep the connection open when the answer allows it
                                     * (papi_http_parser_reusable) and nothing came after it */
    /* Filled in by papi_exchange_run. */
    papi_exchange_result res;
    apr_interval_time_t elapsed;    /* from the start of the run to the end of this exchange */
    int kept_fd;                    /* with keep_alive: the connection, open and ready for
                                     * another request (the caller owns it), or -1 */
} papi_exchange;

/* Sets x up for an AF_UNIX target (the other fields are cleared, no reuse, no keep-alive). */
void papi_exchange_unix(papi_exchange *x, const char *path, uid_t owner);

/* Sets x up for a TCP target at ip:port (the other fields are cleared). */
void papi_exchange_tcp(papi_exchange *x, const char *ip, apr_port_t port);

/* Runs the n exchanges xs[0..n-1] at once until each has an answer or a failure (502, or 504 past
 * its deadline); one's failure never affects another. Results and answers are allocated from p;
 * each socket is closed as soon as its exchange ends, unless it is handed back in kept_fd. */
void papi_exchange_run(apr_pool_t *p, papi_exchange *xs, int n);

/* papi_exchange_run with at most at_once exchanges in flight (connections open) at a time: the
 * others wait in order for one to end, each still bound by its own deadline (one that passes
 * while it waits fails with a 504 without connecting). */
void papi_exchange_run_some(apr_pool_t *p, papi_exchange *xs, int n, int at_once);

/* The uid of the process listening at the other end of a connected AF_UNIX socket. */
apr_status_t papi_socket_peer_uid(apr_socket_t *sock, uid_t *uid);

#endif
