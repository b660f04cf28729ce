#include "papi_exchange.h"

#include <apr_poll.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PAPI_RECV_CHUNK 16384

typedef enum { PAPI_X_CONNECTING, PAPI_X_SENDING, PAPI_X_READING, PAPI_X_DONE } papi_x_phase;

/* One exchange in flight. */
typedef struct papi_x {
    papi_exchange *x;
    apr_pool_t *scratch;        /* the socket and its address: destroyed when the exchange ends */
    apr_socket_t *sock;
    apr_pollfd_t pfd;
    int polled;                 /* pfd is in the pollset */
    papi_x_phase phase;
    apr_size_t sent;
    int wiped;                  /* the request has been wiped */
    const papi_http_limits *limits;
    papi_http_parser *parser;
} papi_x;

/* One call of papi_exchange_run. */
typedef struct papi_run {
    apr_pool_t *p;              /* results */
    apr_pool_t *scratch;        /* the pollset and the receive buffer */
    apr_pollset_t *pollset;
    char *buf;                  /* shared: exchanges are served one at a time */
    apr_time_t start;
    int active;
} papi_run;

void papi_exchange_unix(papi_exchange *x, const char *path, uid_t owner)
{
    memset(x, 0, sizeof(*x));
    x->unix_path = path;
    x->owner = owner;
}

void papi_exchange_tcp(papi_exchange *x, const char *ip, apr_port_t port)
{
    memset(x, 0, sizeof(*x));
    x->ip = ip;
    x->port = port;
}

apr_status_t papi_socket_peer_uid(apr_socket_t *sock, uid_t *uid)
{
    apr_os_sock_t fd;
    struct ucred cred;
    socklen_t len = sizeof(cred);

    apr_os_sock_get(&fd, sock);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return APR_FROM_OS_ERROR(errno);
    *uid = cred.uid;
    return APR_SUCCESS;
}

static const char *papi_x_peer(const papi_x *t)
{
    return t->x->peer ? t->x->peer : "the server";
}

/* What the exchange was doing, for messages. */
static const char *papi_x_doing(apr_pool_t *p, const papi_x *t)
{
    switch (t->phase) {
    case PAPI_X_CONNECTING:
        return apr_pstrcat(p, "connecting to ", papi_x_peer(t), NULL);
    case PAPI_X_SENDING:
        return "sending the request";
    default:
        return "reading the answer";
    }
}

static void papi_x_wipe(papi_x *t)
{
    if (!t->wiped && t->x->request)
        explicit_bzero(t->x->request, t->x->request_len);
    t->wiped = 1;
}

/* Ends the exchange: out of the pollset, request wiped, socket closed. */
static void papi_x_end(papi_run *run, papi_x *t)
{
    if (t->phase == PAPI_X_DONE)
        return;
    if (t->polled)
        apr_pollset_remove(run->pollset, &t->pfd);
    t->polled = 0;
    papi_x_wipe(t);
    apr_pool_destroy(t->scratch);
    t->scratch = NULL;
    t->sock = NULL;
    t->x->elapsed = apr_time_now() - run->start;
    t->phase = PAPI_X_DONE;
    run->active--;
}

static void papi_x_fail_with(papi_run *run, papi_x *t, int failure, const char *error)
{
    t->x->res.failure = failure;
    t->x->res.error = error;
    t->x->res.resp = NULL;
    papi_x_end(run, t);
}

/* A failed system call: 504 if it was the deadline, else 502 with the reason. */
static void papi_x_fail(papi_run *run, papi_x *t, apr_status_t rv)
{
    char err[120];

    if (APR_STATUS_IS_TIMEUP(rv))
        papi_x_fail_with(run, t, 504, apr_psprintf(run->p, "deadline passed while %s (after %"
                                                   APR_TIME_T_FMT " ms)", papi_x_doing(run->p, t),
                                                   apr_time_as_msec(apr_time_now() - run->start)));
    else
        papi_x_fail_with(run, t, 502, apr_pstrcat(run->p, papi_x_doing(run->p, t), " failed: ",
                                                  apr_strerror(rv, err, sizeof(err)), NULL));
}

/* Waits for events on the socket (replacing what it waited for before). */
static void papi_x_wait(papi_run *run, papi_x *t, apr_int16_t events)
{
    apr_status_t rv;

    if (t->polled && t->pfd.reqevents == events)
        return;
    if (t->polled)
        apr_pollset_remove(run->pollset, &t->pfd);
    t->polled = 0;
    t->pfd = (apr_pollfd_t){ .p = t->scratch, .desc_type = APR_POLL_SOCKET, .reqevents = events,
                             .desc.s = t->sock, .client_data = t };
    if ((rv = apr_pollset_add(run->pollset, &t->pfd)) != APR_SUCCESS)
        papi_x_fail(run, t, rv);
    else
        t->polled = 1;
}

/* The target's address. AF_UNIX: APR would silently truncate a longer path and connect
 * somewhere else. TCP: numeric only, so nothing is ever resolved. */
static apr_status_t papi_x_address(papi_x *t, apr_sockaddr_t **sa)
{
    const papi_exchange *x = t->x;
    const char *ip = x->ip ? x->ip : "127.0.0.1";
    unsigned char bin[sizeof(struct in6_addr)];

    if (x->unix_path) {
        if (strlen(x->unix_path) > sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
            return APR_ENAMETOOLONG;
        return apr_sockaddr_info_get(sa, x->unix_path, APR_UNIX, 0, 0, t->scratch);
    }
    if (inet_pton(AF_INET, ip, bin) == 1)
        return apr_sockaddr_info_get(sa, ip, APR_INET, x->port, 0, t->scratch);
    if (inet_pton(AF_INET6, ip, bin) == 1)
        return apr_sockaddr_info_get(sa, ip, APR_INET6, x->port, 0, t->scratch);
    return APR_EINVAL;
}

static void papi_x_send(papi_run *run, papi_x *t);

/* Connected: on AF_UNIX, only the owner or root may receive the request (and its credential). */
static void papi_x_connected(papi_run *run, papi_x *t)
{
    uid_t peer;
    apr_status_t rv;

    if (t->x->unix_path) {
        if ((rv = papi_socket_peer_uid(t->sock, &peer)) != APR_SUCCESS) {
            papi_x_fail(run, t, rv);
            return;
        }
        if (peer != t->x->owner && peer != 0) {
            papi_x_fail_with(run, t, 502, apr_psprintf(run->p, "%s socket is served by uid %ld, "
                                                       "not by the instance's owner (uid %ld): not "
                                                       "sending credentials", papi_x_peer(t),
                                                       (long)peer, (long)t->x->owner));
            return;
        }
    }
    t->phase = PAPI_X_SENDING;
    papi_x_send(run, t);
}

static void papi_x_start(papi_run *run, papi_x *t)
{
    apr_sockaddr_t *sa;
    apr_status_t rv;

    apr_pool_create(&t->scratch, run->scratch);
    run->active++;
    t->phase = PAPI_X_CONNECTING;
    t->limits = t->x->limits ? t->x->limits : &papi_http_default_limits;
    t->x->res = (papi_core_result){ 0, NULL, NULL };
    if (apr_time_now() >= t->x->deadline)
        rv = APR_TIMEUP;
    else if ((rv = papi_x_address(t, &sa)) == APR_SUCCESS
             && (rv = apr_socket_create(&t->sock, sa->family, SOCK_STREAM,
                                        t->x->unix_path ? 0 : APR_PROTO_TCP, t->scratch))
                == APR_SUCCESS
             && (rv = apr_socket_timeout_set(t->sock, 0)) == APR_SUCCESS)   /* non-blocking */
        rv = apr_socket_connect(t->sock, sa);
    if (rv == APR_SUCCESS)
        papi_x_connected(run, t);
    else if (APR_STATUS_IS_EINPROGRESS(rv))
        papi_x_wait(run, t, APR_POLLOUT);
    else
        papi_x_fail(run, t, rv);
}

/* The socket is writable (or failed) after a non-blocking connect: SO_ERROR says which. */
static void papi_x_connect_done(papi_run *run, papi_x *t)
{
    apr_os_sock_t fd;
    int err = 0;
    socklen_t len = sizeof(err);

    apr_os_sock_get(&fd, t->sock);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err)
        papi_x_fail(run, t, APR_FROM_OS_ERROR(err));
    else
        papi_x_connected(run, t);
}

/* Sends what the socket takes now; the rest when it is writable again. */
static void papi_x_send(papi_run *run, papi_x *t)
{
    papi_exchange *x = t->x;

    while (t->sent < x->request_len) {
        apr_size_t n = x->request_len - t->sent;
        apr_status_t rv = apr_socket_send(t->sock, x->request + t->sent, &n);
        t->sent += n;
        if (APR_STATUS_IS_EAGAIN(rv)) {
            papi_x_wait(run, t, APR_POLLOUT);
            return;
        }
        if (rv != APR_SUCCESS && n == 0) {
            papi_x_fail(run, t, rv);
            return;
        }
    }
    papi_x_wipe(t);
    t->phase = PAPI_X_READING;
    t->parser = papi_http_parser_make(run->p, t->limits, x->head);
    papi_x_wait(run, t, APR_POLLIN);
}

/* The parser's verdict is final: the answer, or why it is not one. */
static void papi_x_parsed(papi_run *run, papi_x *t, papi_http_state st)
{
    papi_http_parser *ps = t->parser;
    const papi_http_limits *l = t->limits;

    if (st == PAPI_HTTP_DONE) {
        t->x->res.resp = papi_http_parser_response(ps);
        papi_x_end(run, t);
    }
    else if (papi_http_parser_error_kind(ps) == PAPI_HTTP_ERR_TOO_LARGE)
        papi_x_fail_with(run, t, 502, apr_psprintf(run->p, "answer too large: %s (limits: %"
                                                   APR_SIZE_T_FMT " bytes of body, %" APR_SIZE_T_FMT
                                                   " bytes and %d lines of header)",
                                                   papi_http_parser_error(ps), l->max_body,
                                                   l->max_header_bytes, l->max_headers));
    else
        papi_x_fail_with(run, t, 502, apr_pstrcat(run->p, "bad answer: ",
                                                  papi_http_parser_error(ps), NULL));
}

/* The socket is readable: one read per wake-up, so a fast talker cannot starve the others. */
static void papi_x_read(papi_run *run, papi_x *t)
{
    apr_size_t n = PAPI_RECV_CHUNK;
    apr_status_t rv = apr_socket_recv(t->sock, run->buf, &n);
    papi_http_state st = PAPI_HTTP_MORE;

    if (n > 0)
        st = papi_http_parser_feed(t->parser, run->buf, n, NULL);
    if (st == PAPI_HTTP_MORE && (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && n == 0)))
        st = papi_http_parser_eof(t->parser);
    if (st != PAPI_HTTP_MORE)
        papi_x_parsed(run, t, st);
    else if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv))
        papi_x_fail(run, t, rv);
}

static void papi_x_ready(papi_run *run, papi_x *t)
{
    switch (t->phase) {
    case PAPI_X_CONNECTING:
        papi_x_connect_done(run, t);
        break;
    case PAPI_X_SENDING:
        papi_x_send(run, t);
        break;
    case PAPI_X_READING:
        papi_x_read(run, t);
        break;
    case PAPI_X_DONE:
        break;
    }
}

/* Fails the exchanges past their deadline; returns how long to wait for the nearest other one
 * (rounded up to whole milliseconds, which is what the poll call counts in). */
static apr_interval_time_t papi_run_expire(papi_run *run, papi_x *ts, int n)
{
    apr_time_t now = apr_time_now(), nearest = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (ts[i].phase == PAPI_X_DONE)
            continue;
        if (ts[i].x->deadline <= now)
            papi_x_fail(run, &ts[i], APR_TIMEUP);
        else if (!nearest || ts[i].x->deadline < nearest)
            nearest = ts[i].x->deadline;
    }
    return nearest ? (nearest - now + 999) / 1000 * 1000 : 0;
}

static void papi_run_fail_all(papi_run *run, papi_x *ts, int n, apr_status_t rv)
{
    int i;

    for (i = 0; i < n; i++)
        if (ts[i].phase != PAPI_X_DONE)
            papi_x_fail(run, &ts[i], rv);
}

void papi_exchange_run(apr_pool_t *p, papi_exchange *xs, int n)
{
    papi_run run = { p, NULL, NULL, NULL, apr_time_now(), 0 };
    papi_x *ts;
    apr_status_t rv;
    int i;

    if (n <= 0)
        return;
    apr_pool_create(&run.scratch, p);
    run.buf = apr_palloc(run.scratch, PAPI_RECV_CHUNK);
    ts = apr_pcalloc(run.scratch, n * sizeof(*ts));
    rv = apr_pollset_create(&run.pollset, (apr_uint32_t)n, run.scratch, 0);
    for (i = 0; i < n; i++) {
        ts[i].x = &xs[i];
        if (rv == APR_SUCCESS)
            papi_x_start(&run, &ts[i]);
        else {
            apr_pool_create(&ts[i].scratch, run.scratch);
            run.active++;
            papi_x_fail(&run, &ts[i], rv);
        }
    }
    while (run.active > 0) {
        apr_interval_time_t wait = papi_run_expire(&run, ts, n);
        const apr_pollfd_t *ready;
        apr_int32_t got = 0;
        if (run.active == 0)
            break;
        rv = apr_pollset_poll(run.pollset, wait, &got, &ready);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EINTR(rv)) {
            papi_run_fail_all(&run, ts, n, rv);
            break;
        }
        for (i = 0; i < got; i++)
            papi_x_ready(&run, ready[i].client_data);
    }
    apr_pool_destroy(run.scratch);
}
