#include "papi_exchange.h"
#include "papi_log.h"
#include "papi_tcptable.h"

#include <apr_poll.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PAPI_RECV_CHUNK 16384
/* Up to this many exchanges, poll(2) beats creating an epoll instance for one call. */
#define PAPI_POLL_MAX 64
/* Lookups of a connection's other end before giving up: the kernel makes it a full socket as the
 * handshake ends, which on loopback can be a moment after our side sees it end. */
#define PAPI_VERIFY_PASSES 5

typedef enum {
    PAPI_X_CONNECTING, PAPI_X_VERIFYING, PAPI_X_SENDING, PAPI_X_READING, PAPI_X_DONE, PAPI_X_QUEUED
} papi_x_phase;

/* One exchange in flight. Its socket is a plain descriptor (APR's wrapper only serves the
 * pollset), closed here by hand: it may outlive the run as a kept connection. */
typedef struct papi_x {
    papi_exchange *x;
    int fd;                     /* -1 when none */
    apr_socket_t *sock;         /* the wrapper of fd, for the pollset */
    apr_pollfd_t pfd;
    int polled;                 /* pfd is in the pollset */
    papi_x_phase phase;
    apr_size_t sent;
    int reused;                 /* fd is an idle connection from the caller: it may be dead */
    apr_size_t received;        /* answer bytes received on this connection */
    const papi_http_limits *limits;
    papi_http_parser *parser;
    const char *refused;        /* why the listener check refused the target, or NULL */
    int verify_passes;          /* PAPI_X_VERIFYING: passes that did not find the other end */
} papi_x;

/* One call of papi_exchange_run. */
typedef struct papi_run {
    apr_pool_t *p;              /* results */
    apr_pool_t *scratch;        /* the pollset, socket wrappers and the receive buffer */
    apr_pollset_t *pollset;
    char *buf;                  /* shared: exchanges are served one at a time */
    apr_time_t start;
    int active;
    int verifying;              /* exchanges in PAPI_X_VERIFYING */
} papi_run;

static void papi_exchange_clear(papi_exchange *x)
{
    memset(x, 0, sizeof(*x));
    x->reuse_fd = -1;
    x->kept_fd = -1;
}

void papi_exchange_unix(papi_exchange *x, const char *path, uid_t owner)
{
    papi_exchange_clear(x);
    x->unix_path = path;
    x->owner = owner;
}

void papi_exchange_tcp(papi_exchange *x, const char *ip, apr_port_t port)
{
    papi_exchange_clear(x);
    x->ip = ip;
    x->port = port;
}

static apr_status_t papi_fd_peer_uid(int fd, uid_t *uid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return APR_FROM_OS_ERROR(errno);
    *uid = cred.uid;
    return APR_SUCCESS;
}

apr_status_t papi_socket_peer_uid(apr_socket_t *sock, uid_t *uid)
{
    apr_os_sock_t fd;

    apr_os_sock_get(&fd, sock);
    return papi_fd_peer_uid(fd, uid);
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
    case PAPI_X_VERIFYING:
        return apr_pstrcat(p, "checking who took the connection to ", papi_x_peer(t), NULL);
    case PAPI_X_SENDING:
        return "sending the request";
    default:
        return "reading the answer";
    }
}

static void papi_x_unpoll(papi_run *run, papi_x *t)
{
    if (t->polled)
        apr_pollset_remove(run->pollset, &t->pfd);
    t->polled = 0;
}

static void papi_x_close(papi_run *run, papi_x *t)
{
    papi_x_unpoll(run, t);
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* Ends the exchange: out of the pollset, request wiped, connection closed unless kept. */
static void papi_x_end(papi_run *run, papi_x *t, int keep)
{
    if (t->phase == PAPI_X_DONE)
        return;
    if (t->phase == PAPI_X_VERIFYING)
        run->verifying--;
    if (t->x->request)
        explicit_bzero(t->x->request, t->x->request_len);
    if (keep) {
        papi_x_unpoll(run, t);
        t->x->kept_fd = t->fd;
        t->fd = -1;
    }
    papi_x_close(run, t);
    t->x->elapsed = apr_time_now() - run->start;
    t->phase = PAPI_X_DONE;
    run->active--;
}

static void papi_x_fail_with(papi_run *run, papi_x *t, int failure, const char *error)
{
    t->x->res.failure = failure;
    t->x->res.error = error;
    t->x->res.resp = NULL;
    papi_x_end(run, t, 0);
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
    papi_x_unpoll(run, t);
    t->pfd = (apr_pollfd_t){ .p = run->scratch, .desc_type = APR_POLL_SOCKET, .reqevents = events,
                             .desc.s = t->sock, .client_data = t };
    if ((rv = apr_pollset_add(run->pollset, &t->pfd)) != APR_SUCCESS)
        papi_x_fail(run, t, rv);
    else
        t->polled = 1;
}

typedef union {
    struct sockaddr sa;
    struct sockaddr_un un;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} papi_sockaddr;

/* The target's address. AF_UNIX: a longer path would be truncated into another one. TCP: numeric
 * only, so nothing is ever resolved. */
static apr_status_t papi_x_address(const papi_exchange *x, papi_sockaddr *a, socklen_t *len)
{
    const char *ip = x->ip ? x->ip : "127.0.0.1";

    memset(a, 0, sizeof(*a));
    if (x->unix_path) {
        if (strlen(x->unix_path) > sizeof(a->un.sun_path) - 1)
            return APR_ENAMETOOLONG;
        a->un.sun_family = AF_UNIX;
        strcpy(a->un.sun_path, x->unix_path);
        *len = sizeof(a->un);
    }
    else if (inet_pton(AF_INET, ip, &a->in.sin_addr) == 1) {
        a->in.sin_family = AF_INET;
        a->in.sin_port = htons(x->port);
        *len = sizeof(a->in);
    }
    else if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons(x->port);
        *len = sizeof(a->in6);
    }
    else
        return APR_EINVAL;
    return APR_SUCCESS;
}

/* Takes fd as the exchange's connection. */
static void papi_x_adopt(papi_run *run, papi_x *t, int fd)
{
    apr_os_sock_t os = fd;

    t->fd = fd;
    apr_os_sock_put(&t->sock, &os, run->scratch);   /* no cleanup: closed by hand */
    t->sent = 0;
    t->received = 0;
    t->parser = NULL;
}

static void papi_x_send(papi_run *run, papi_x *t);

/* Connected: on AF_UNIX, only the owner or root may receive the request (and its credential); on
 * TCP with check_tcp_owner, the other end is looked up first (papi_run_verify). */
static void papi_x_connected(papi_run *run, papi_x *t)
{
    uid_t peer = 0;
    apr_status_t rv;

    if (!t->x->unix_path && t->x->check_tcp_owner) {
        papi_x_unpoll(run, t);
        t->phase = PAPI_X_VERIFYING;
        t->verify_passes = 0;
        run->verifying++;
        return;
    }
    if (t->x->unix_path) {
        if ((rv = papi_fd_peer_uid(t->fd, &peer)) != APR_SUCCESS) {
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

/* A new connection, non-blocking. */
static void papi_x_connect(papi_run *run, papi_x *t)
{
    papi_sockaddr a;
    socklen_t len;
    apr_status_t rv;
    int fd;

    t->phase = PAPI_X_CONNECTING;
    t->reused = 0;
    if (apr_time_now() >= t->x->deadline) {
        papi_x_fail(run, t, APR_TIMEUP);
        return;
    }
    if ((rv = papi_x_address(t->x, &a, &len)) != APR_SUCCESS) {
        papi_x_fail(run, t, rv);
        return;
    }
    fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        papi_x_fail(run, t, APR_FROM_OS_ERROR(errno));
        return;
    }
    papi_x_adopt(run, t, fd);
    if (connect(fd, &a.sa, len) == 0)
        papi_x_connected(run, t);
    else if (errno == EINPROGRESS)
        papi_x_wait(run, t, APR_POLLOUT);
    else
        papi_x_fail(run, t, APR_FROM_OS_ERROR(errno));
}

/* The kept connection was closed by the peer before it said a word about this request: the
 * request goes once more, on a new connection. */
static int papi_x_retry(papi_run *run, papi_x *t)
{
    if (!t->reused || t->received > 0)
        return 0;
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "kept connection to %s closed by the peer before "
             "it answered: the request goes again on a new one", papi_x_peer(t));
    papi_x_close(run, t);
    papi_x_connect(run, t);
    return 1;
}

/* An idle connection is silent: anything on it (bytes nobody asked for, or the peer's end) means
 * it is out of step, and the next answer read there would be someone else's. */
static int papi_fd_silent(int fd)
{
    char c;

    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0
           && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void papi_x_start(papi_run *run, papi_x *t)
{
    run->active++;
    t->fd = -1;
    t->limits = t->x->limits ? t->x->limits : &papi_http_default_limits;
    t->x->res = (papi_exchange_result){ 0, NULL, NULL };
    t->x->kept_fd = -1;
    if (t->x->reuse_fd >= 0 && !papi_fd_silent(t->x->reuse_fd)) {
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "kept connection to %s was not silent while "
                 "idle: closed, a new one is made", papi_x_peer(t));
        close(t->x->reuse_fd);
        t->x->reuse_fd = -1;
    }
    if (t->x->reuse_fd >= 0) {
        papi_x_adopt(run, t, t->x->reuse_fd);
        t->x->reuse_fd = -1;
        t->reused = 1;
        t->phase = PAPI_X_SENDING;
        if (apr_time_now() >= t->x->deadline)
            papi_x_fail(run, t, APR_TIMEUP);
        else
            papi_x_send(run, t);
        return;
    }
    papi_x_connect(run, t);
}

/* The socket is writable (or failed) after a non-blocking connect: SO_ERROR says which. */
static void papi_x_connect_done(papi_run *run, papi_x *t)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
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
        ssize_t n = send(t->fd, x->request + t->sent, x->request_len - t->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            t->sent += (apr_size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            papi_x_wait(run, t, APR_POLLOUT);
            return;
        }
        if (!papi_x_retry(run, t))
            papi_x_fail(run, t, APR_FROM_OS_ERROR(errno));
        return;
    }
    t->phase = PAPI_X_READING;
    t->parser = papi_http_parser_make(run->p, t->limits, x->head);
    papi_x_wait(run, t, APR_POLLIN);
}

/* The parser's verdict is final: the answer, or why it is not one. extra: bytes came after the
 * answer, so the connection is out of step and cannot be kept. */
static void papi_x_parsed(papi_run *run, papi_x *t, papi_http_state st, int extra)
{
    papi_http_parser *ps = t->parser;
    const papi_http_limits *l = t->limits;

    if (st == PAPI_HTTP_DONE) {
        t->x->res.resp = papi_http_parser_response(ps);
        papi_x_end(run, t, t->x->keep_alive && !extra && papi_http_parser_reusable(ps));
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
    ssize_t n = recv(t->fd, run->buf, PAPI_RECV_CHUNK, MSG_DONTWAIT);
    apr_size_t used = 0;
    papi_http_state st;

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        if (!papi_x_retry(run, t))
            papi_x_fail(run, t, APR_FROM_OS_ERROR(errno));
        return;
    }
    if (n == 0) {
        if (!papi_x_retry(run, t))
            papi_x_parsed(run, t, papi_http_parser_eof(t->parser), 0);
        return;
    }
    t->received += (apr_size_t)n;
    st = papi_http_parser_feed(t->parser, run->buf, (apr_size_t)n, &used);
    if (st != PAPI_HTTP_MORE)
        papi_x_parsed(run, t, st, used < (apr_size_t)n);
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
    case PAPI_X_VERIFYING:      /* not polled: papi_run_verify moves it on */
    case PAPI_X_DONE:
    case PAPI_X_QUEUED:
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
        if (ts[i].phase == PAPI_X_DONE || ts[i].phase == PAPI_X_QUEUED)
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
        if (ts[i].phase != PAPI_X_DONE && ts[i].phase != PAPI_X_QUEUED)
            papi_x_fail(run, &ts[i], rv);
}

/* The TCP target of x as an IPv4 address; 0 when it is not one. */
static int papi_x_ipv4(const papi_exchange *x, struct in_addr *ip)
{
    return inet_pton(AF_INET, x->ip ? x->ip : "127.0.0.1", ip) == 1;
}

/* Whether t's new connection is to be checked for its owner. */
static int papi_x_owner_checked(const papi_x *t)
{
    return !t->x->unix_path && t->x->check_tcp_owner && t->x->reuse_fd < 0;
}

/* Before any connection is made: the listener of every checked target, in one question to the
 * kernel; a target refused here is never connected to. */
static void papi_run_check_listeners(papi_run *run, papi_x *ts, int n)
{
    papi_tcp_check *checks = apr_pcalloc(run->scratch, (apr_size_t)(n + 1) * sizeof(*checks));
    int *of = apr_pcalloc(run->scratch, (apr_size_t)(n + 1) * sizeof(*of));
    int i, k = 0;

    for (i = 0; i < n; i++) {
        if (!papi_x_owner_checked(&ts[i]))
            continue;
        if (!papi_x_ipv4(ts[i].x, &checks[k].ip)) {
            ts[i].refused = "the owner of a listener is checked on IPv4 addresses only";
            continue;
        }
        checks[k].port = ts[i].x->port;
        checks[k].owner = ts[i].x->owner;
        of[k++] = i;
    }
    if (!k)
        return;
    papi_tcp_check_listeners(run->p, checks, k);
    for (i = 0; i < k; i++)
        ts[of[i]].refused = checks[i].why;
}

/* Our end of t's connection into c. */
static int papi_x_local_end(papi_x *t, papi_tcp_check *c)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    if (getsockname(t->fd, (struct sockaddr *)&a, &len) != 0 || a.sin_family != AF_INET
        || !papi_x_ipv4(t->x, &c->ip))
        return 0;
    c->local_ip = a.sin_addr;
    c->local_port = ntohs(a.sin_port);
    c->port = t->x->port;
    c->owner = t->x->owner;
    return 1;
}

/* The exchanges connected and waiting for their other end to be checked, in one pass of lookups:
 * each is then sent, refused, or looked for again in the next pass. */
static void papi_run_verify(papi_run *run, papi_x *ts, int n)
{
    papi_tcp_check *checks = apr_pcalloc(run->scratch, (apr_size_t)(n + 1) * sizeof(*checks));
    int *of = apr_pcalloc(run->scratch, (apr_size_t)(n + 1) * sizeof(*of));
    int i, k = 0;

    for (i = 0; i < n; i++) {
        if (ts[i].phase != PAPI_X_VERIFYING)
            continue;
        if (papi_x_local_end(&ts[i], &checks[k]))
            of[k++] = i;
        else
            papi_x_fail(run, &ts[i], APR_FROM_OS_ERROR(errno));
    }
    if (!k)
        return;
    papi_tcp_check_peers(run->p, checks, k);
    for (i = 0; i < k; i++) {
        papi_x *t = &ts[of[i]];
        if (checks[i].why)
            papi_x_fail_with(run, t, 502, checks[i].why);
        else if (checks[i].found) {
            run->verifying--;
            t->phase = PAPI_X_SENDING;
            papi_x_send(run, t);
        }
        else if (++t->verify_passes >= PAPI_VERIFY_PASSES)
            papi_x_fail_with(run, t, 502, apr_pstrcat(run->p, "the other end of the connection to ",
                                                      papi_x_peer(t), " is not a connected socket "
                                                      "Linux shows: its owner is unknown, nothing "
                                                      "is sent", NULL));
    }
}

/* Starts queued exchanges while fewer than at_once are in flight; returns the next queued one. */
static int papi_run_start_queued(papi_run *run, papi_x *ts, int n, int next, int at_once)
{
    for (; next < n && run->active < at_once; next++)
        if (ts[next].phase == PAPI_X_QUEUED)
            papi_x_start(run, &ts[next]);
    return next;
}

/* An exchange that fails before it starts (no pollset: rv; a listener refused: why): it never
 * connects. */
static void papi_x_fail_unstarted(papi_run *run, papi_x *t, apr_status_t rv, const char *why)
{
    if (t->x->reuse_fd >= 0)
        close(t->x->reuse_fd);
    t->x->reuse_fd = -1;
    t->x->kept_fd = -1;
    t->phase = PAPI_X_CONNECTING;
    run->active++;
    if (why)
        papi_x_fail_with(run, t, 502, why);
    else
        papi_x_fail(run, t, rv);
}

void papi_exchange_run_some(apr_pool_t *p, papi_exchange *xs, int n, int at_once)
{
    papi_run run = { p, NULL, NULL, NULL, apr_time_now(), 0, 0 };
    papi_x *ts;
    apr_status_t rv;
    int i, next = 0;

    if (n <= 0)
        return;
    if (at_once <= 0 || at_once > n)
        at_once = n;
    apr_pool_create(&run.scratch, p);
    run.buf = apr_palloc(run.scratch, PAPI_RECV_CHUNK);
    ts = apr_pcalloc(run.scratch, n * sizeof(*ts));
    rv = apr_pollset_create_ex(&run.pollset, (apr_uint32_t)at_once, run.scratch, 0,
                               at_once <= PAPI_POLL_MAX ? APR_POLLSET_POLL : APR_POLLSET_DEFAULT);
    for (i = 0; i < n; i++) {
        ts[i].x = &xs[i];
        ts[i].fd = -1;
        ts[i].phase = PAPI_X_QUEUED;
    }
    if (rv == APR_SUCCESS)
        papi_run_check_listeners(&run, ts, n);
    for (i = 0; i < n; i++)
        if (rv != APR_SUCCESS || ts[i].refused)
            papi_x_fail_unstarted(&run, &ts[i], rv, rv == APR_SUCCESS ? ts[i].refused : NULL);
    for (;;) {
        apr_interval_time_t wait;
        const apr_pollfd_t *ready;
        apr_int32_t got = 0;

        /* Those queued start as others end, each still by its own deadline. */
        next = papi_run_start_queued(&run, ts, n, next, at_once);
        if (run.verifying)
            papi_run_verify(&run, ts, n);
        wait = papi_run_expire(&run, ts, n);
        if (run.active == 0) {
            if (next < n)
                continue;
            break;
        }
        /* An other end not in the tables yet is looked for again in a moment. */
        if (run.verifying && wait > 1000)
            wait = 1000;
        rv = apr_pollset_poll(run.pollset, wait, &got, &ready);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EINTR(rv)) {
            papi_run_fail_all(&run, ts, n, rv);
            for (; next < n; next++)
                if (ts[next].phase == PAPI_X_QUEUED)
                    papi_x_fail_unstarted(&run, &ts[next], rv, NULL);
            break;
        }
        for (i = 0; i < got; i++)
            papi_x_ready(&run, ready[i].client_data);
    }
    apr_pool_destroy(run.scratch);
}

void papi_exchange_run(apr_pool_t *p, papi_exchange *xs, int n)
{
    papi_exchange_run_some(p, xs, n, n);
}
