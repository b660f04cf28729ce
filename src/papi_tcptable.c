#include "papi_tcptable.h"

#include <apr_strings.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Ports per listener dump (the request, with 20 bytes of the kernel's filter a port, is on the
 * stack). */
#define PAPI_TCP_PORTS_PER_DUMP 64
/* A datagram of an answer: the kernel fills a dump's datagrams up to the size the reader asks
 * for (16 KB is what it expects readers to offer; a bigger one comes back marked cut). */
#define PAPI_TCP_DATAGRAM 16384
/* The kernel answers at once (while the request is sent, or while a dump is read): this only
 * bounds the wait for a kernel that does not. */
#define PAPI_TCP_TIMEOUT_MS 1000

/* ---- the answer ----------------------------------------------------------------------------- */

/* An IPv4 address a[0..4) as IPv4-mapped IPv6. */
static void papi_tcp_mapped(const void *a, unsigned char out[16])
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, a, 4);
}

/* An address of an answer in 16 bytes: IPv6 as it is, IPv4 as ::ffff:a.b.c.d. */
static void papi_tcp_address(int family, const apr_uint32_t a[4], unsigned char out[16])
{
    if (family == AF_INET6)
        memcpy(out, a, 16);
    else
        papi_tcp_mapped(a, out);
}

/* The socket a SOCK_DIAG_BY_FAMILY message m[0..len) tells of; 0 when it is no IPv4 or IPv6 one.
 * The attributes after it are not asked for, and not read. */
static int papi_tcp_socket(const unsigned char *m, apr_size_t len, papi_tcp_entry *e)
{
    struct inet_diag_msg r;

    if (len < sizeof(r))
        return 0;
    memcpy(&r, m, sizeof(r));
    if (r.idiag_family != AF_INET && r.idiag_family != AF_INET6)
        return 0;
    memset(e, 0, sizeof(*e));
    papi_tcp_address(r.idiag_family, r.id.idiag_src, e->local);
    papi_tcp_address(r.idiag_family, r.id.idiag_dst, e->remote);
    e->local_port = ntohs(r.id.idiag_sport);
    e->remote_port = ntohs(r.id.idiag_dport);
    e->state = r.idiag_state;
    e->uid = r.idiag_uid;
    e->inode = r.idiag_inode;
    return 1;
}

/* NLMSG_ERROR and NLMSG_DONE end an answer, with an error (a negative errno) or 0. */
static void papi_tcp_end(const unsigned char *m, apr_size_t len, int type, papi_tcp_answer *a)
{
    int err = 0;

    if (len >= sizeof(err))
        memcpy(&err, m, sizeof(err));
    else if (type == NLMSG_ERROR) {
        a->malformed = 1;
        return;
    }
    if (err > 0 || err <= -4096) {
        a->malformed = 1;
        return;
    }
    a->done = 1;
    a->error = -err;
}

static void papi_tcp_message(const unsigned char *m, apr_size_t len, int type,
                             papi_tcp_visit visit, void *data, papi_tcp_answer *a)
{
    papi_tcp_entry e;

    switch (type) {
    case NLMSG_NOOP:
        return;
    case NLMSG_ERROR:
    case NLMSG_DONE:
        papi_tcp_end(m, len, type, a);
        return;
    case SOCK_DIAG_BY_FAMILY:
        if (!papi_tcp_socket(m, len, &e)) {
            a->malformed = 1;
            return;
        }
        a->sockets++;
        visit(&e, data);
        return;
    default:
        a->malformed = 1;
    }
}

void papi_tcp_parse_answer(const void *buf, apr_size_t n, apr_uint32_t seq, papi_tcp_visit visit,
                           void *data, papi_tcp_answer *a)
{
    const unsigned char *at = buf;

    while (n > 0 && !a->done && !a->malformed) {
        struct nlmsghdr h;
        apr_size_t step;

        /* Copied out: a datagram's messages need not be aligned in the caller's buffer. */
        if (n < sizeof(h)) {
            a->malformed = 1;
            return;
        }
        memcpy(&h, at, sizeof(h));
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > n || h.nlmsg_seq != seq) {
            a->malformed = 1;
            return;
        }
        papi_tcp_message(at + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN, h.nlmsg_type, visit, data,
                         a);
        step = NLMSG_ALIGN(h.nlmsg_len) < n ? NLMSG_ALIGN(h.nlmsg_len) : n;
        at += step;
        n -= step;
    }
}

/* ---- asking the kernel ------------------------------------------------------------------------ */

/* A request: the header and what is asked (the lookup of one connection). */
typedef struct papi_tcp_request {
    struct nlmsghdr h;
    struct inet_diag_req_v2 r;
} papi_tcp_request;

/* A dump of listeners, with the kernel's filter on their ports (an INET_DIAG_REQ_BYTECODE
 * attribute). */
typedef struct papi_tcp_dump_request {
    papi_tcp_request q;
    struct nlattr bc_attr;
    struct inet_diag_bc_op bc[PAPI_TCP_PORTS_PER_DUMP * 5];
} papi_tcp_dump_request;

_Static_assert(offsetof(papi_tcp_request, r) == NLMSG_HDRLEN
               && offsetof(papi_tcp_dump_request, bc_attr)
                  == NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct inet_diag_req_v2)))
               && offsetof(papi_tcp_dump_request, bc)
                  == offsetof(papi_tcp_dump_request, bc_attr) + NLA_HDRLEN,
               "requests are laid out as netlink has them");

static const char *papi_tcp_oserr(apr_pool_t *p, const char *what, int err)
{
    char buf[120];

    return apr_pstrcat(p, what, ": ", apr_strerror(APR_FROM_OS_ERROR(err), buf, sizeof(buf)),
                       NULL);
}

/* A netlink socket to sock_diag, or -1 and why. */
static int papi_tcp_open(apr_pool_t *p, const char **why)
{
    struct timeval tv = { PAPI_TCP_TIMEOUT_MS / 1000, (PAPI_TCP_TIMEOUT_MS % 1000) * 1000 };
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (fd < 0)
        *why = papi_tcp_oserr(p, "Linux's socket owners cannot be asked (sock_diag netlink)", errno);
    else if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
        *why = papi_tcp_oserr(p, "cannot set up the sock_diag netlink socket", errno);
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends q (its seq set) and reads the answer into a, its sockets passed to visit: a dump's
 * datagrams up to NLMSG_DONE, else the one datagram. NULL, or why it could not be had or read
 * (a refusal by the kernel is a->error, for the caller to judge). */
static const char *papi_tcp_ask(apr_pool_t *p, int fd, const papi_tcp_request *q,
                                papi_tcp_visit visit, void *data, papi_tcp_answer *a)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    union {
        struct nlmsghdr h;      /* aligned as messages are */
        unsigned char b[PAPI_TCP_DATAGRAM];
    } buf;
    int dump = (q->h.nlmsg_flags & NLM_F_DUMP) != 0;

    memset(a, 0, sizeof(*a));
    if (sendto(fd, q, q->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel))
        != (ssize_t)q->h.nlmsg_len)
        return papi_tcp_oserr(p, "cannot ask sock_diag", errno);
    do {
        struct sockaddr_nl from;
        struct iovec iov = { buf.b, sizeof(buf.b) };
        struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                              .msg_iovlen = 1 };
        ssize_t got = recvmsg(fd, &msg, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return papi_tcp_oserr(p, "no answer from sock_diag", errno);
        if (msg.msg_flags & MSG_TRUNC)
            return "an answer from sock_diag did not fit";
        /* Only root can send to this socket besides the kernel; still, only the kernel counts. */
        if (msg.msg_namelen < sizeof(from) || from.nl_pid != 0)
            return "an answer to sock_diag came from a process, not from the kernel";
        papi_tcp_parse_answer(buf.b, (apr_size_t)got, q->h.nlmsg_seq, visit, data, a);
        if (a->malformed)
            return "sock_diag's answer is not one this module can read";
    } while (dump && !a->done);
    return NULL;
}

/* The kernel's filter on a listener's port: one of ports[0..n), n >= 1. Each port is "port >= p
 * and port <= p" (S_GE and S_LE, which every kernel has); a failed comparison jumps to the next
 * port's (the last port's, past the end: rejected), a match jumps to the end (accepted). A jump
 * is counted in bytes from its own op. Returns the number of ops. */
static int papi_tcp_port_filter(const apr_port_t *ports, int n, struct inet_diag_bc_op *bc)
{
    const int len = 20 * n - 4;
    int i, k = 0;

    for (i = 0; i < n; i++) {
        bc[k++] = (struct inet_diag_bc_op){ INET_DIAG_BC_S_GE, 8, 20 };
        bc[k++] = (struct inet_diag_bc_op){ 0, 0, ports[i] };
        bc[k++] = (struct inet_diag_bc_op){ INET_DIAG_BC_S_LE, 8, 12 };
        bc[k++] = (struct inet_diag_bc_op){ 0, 0, ports[i] };
        if (i < n - 1)
            bc[k++] = (struct inet_diag_bc_op){ INET_DIAG_BC_JMP, 4,
                                                (unsigned short)(len - 20 * i - 16) };
    }
    return k;
}

static void papi_tcp_request_init(papi_tcp_request *q, apr_uint32_t seq, int flags, int family)
{
    memset(&q->h, 0, sizeof(q->h));
    memset(&q->r, 0, sizeof(q->r));
    q->h.nlmsg_len = NLMSG_LENGTH(sizeof(q->r));
    q->h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q->h.nlmsg_flags = (apr_uint16_t)(NLM_F_REQUEST | flags);
    q->h.nlmsg_seq = seq;
    q->r.sdiag_family = (apr_byte_t)family;
    q->r.sdiag_protocol = IPPROTO_TCP;
    q->r.id.idiag_cookie[0] = q->r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

/* A dump of family's listening sockets (no other state is walked) on ports[0..n). */
static void papi_tcp_listeners_request(papi_tcp_dump_request *d, apr_uint32_t seq, int family,
                                       const apr_port_t *ports, int n)
{
    apr_size_t bc_len = (apr_size_t)papi_tcp_port_filter(ports, n, d->bc) * sizeof(d->bc[0]);

    papi_tcp_request_init(&d->q, seq, NLM_F_DUMP, family);
    d->q.r.idiag_states = 1U << PAPI_TCP_LISTEN;
    d->bc_attr.nla_type = INET_DIAG_REQ_BYTECODE;
    d->bc_attr.nla_len = (apr_uint16_t)(NLA_HDRLEN + bc_len);
    d->q.h.nlmsg_len += (apr_uint32_t)(NLA_HDRLEN + bc_len);
}

const char *papi_tcp_listeners(apr_pool_t *p, const apr_port_t *ports, int n,
                               papi_tcp_visit visit, void *data)
{
    static const int families[] = { AF_INET, AF_INET6 };
    papi_tcp_dump_request d;
    papi_tcp_answer a;
    const char *why = NULL;
    apr_uint32_t seq = 0;
    int fd = papi_tcp_open(p, &why), at, f;

    for (at = 0; fd >= 0 && !why && at < n; at += PAPI_TCP_PORTS_PER_DUMP) {
        int k = n - at < PAPI_TCP_PORTS_PER_DUMP ? n - at : PAPI_TCP_PORTS_PER_DUMP;
        for (f = 0; f < 2 && !why; f++) {
            papi_tcp_listeners_request(&d, ++seq, families[f], ports + at, k);
            why = papi_tcp_ask(p, fd, &d.q, visit, data, &a);
            /* A kernel without IPv6 has no IPv6 listeners. */
            if (!why && a.error && !(families[f] == AF_INET6
                                     && (a.error == ENOENT || a.error == EAFNOSUPPORT)))
                why = papi_tcp_oserr(p, "sock_diag refused to list the listeners", a.error);
        }
    }
    if (fd >= 0)
        close(fd);
    return why;
}

/* ---- the checks ----------------------------------------------------------------------------- */

typedef struct papi_tcp_pass {
    apr_pool_t *p;
    papi_tcp_check *checks;
    int n;
} papi_tcp_pass;

static int papi_tcp_allowed(const papi_tcp_check *c, const papi_tcp_entry *e)
{
    return e->uid == 0 || e->uid == (unsigned long)c->owner;
}

static const char *papi_tcp_where(apr_pool_t *p, const papi_tcp_check *c)
{
    char ip[INET_ADDRSTRLEN];

    return apr_psprintf(p, "%s:%u", inet_ntop(AF_INET, &c->ip, ip, sizeof(ip)) ? ip : "?",
                        (unsigned)c->port);
}

/* Would a connection to c's ip:port reach the listener e? Its address is c's own, a wildcard
 * (0.0.0.0, ::, ::ffff:0.0.0.0), or c's as IPv4-mapped IPv6. */
static int papi_tcp_takes(const papi_tcp_check *c, const papi_tcp_entry *e)
{
    static const unsigned char any6[16] = { 0 };
    unsigned char mine[16], any4[16];
    struct in_addr zero = { 0 };

    if (e->state != PAPI_TCP_LISTEN || e->local_port != c->port)
        return 0;
    papi_tcp_mapped(&c->ip, mine);
    papi_tcp_mapped(&zero, any4);
    return !memcmp(e->local, mine, 16) || !memcmp(e->local, any4, 16)
           || !memcmp(e->local, any6, 16);
}

static void papi_tcp_visit_listener(const papi_tcp_entry *e, void *data)
{
    papi_tcp_pass *pass = data;
    int i;

    for (i = 0; i < pass->n; i++) {
        papi_tcp_check *c = &pass->checks[i];
        if (!papi_tcp_takes(c, e))
            continue;
        c->found = 1;
        if (!c->why && !papi_tcp_allowed(c, e))
            c->why = apr_psprintf(pass->p, "the listener on %s belongs to uid %lu, not to the app "
                                  "group's user (uid %lu) or root: its connect password is not "
                                  "sent there", papi_tcp_where(pass->p, c), e->uid,
                                  (unsigned long)c->owner);
    }
}

/* A full socket of a connection, whose uid is its owner's. Not a request socket (SYN_RECV: the
 * handshake not done, reported with uid 0, which is no one's), TIME_WAIT (uid 0 too), a
 * listener (the kernel's lookup falls back to one when the connection is not found), nor a
 * socket still connecting. */
static int papi_tcp_connected(int state)
{
    return state == PAPI_TCP_ESTABLISHED || state == PAPI_TCP_FIN_WAIT1
           || state == PAPI_TCP_FIN_WAIT2 || state == PAPI_TCP_CLOSE_WAIT
           || state == PAPI_TCP_LAST_ACK || state == PAPI_TCP_CLOSING;
}

/* Is e the other end of c's connection: local is c's target, remote our end? */
static int papi_tcp_is_peer(const papi_tcp_check *c, const papi_tcp_entry *e)
{
    unsigned char target[16], mine[16];

    if (!papi_tcp_connected(e->state) || e->local_port != c->port
        || e->remote_port != c->local_port)
        return 0;
    papi_tcp_mapped(&c->ip, target);
    papi_tcp_mapped(&c->local_ip, mine);
    return !memcmp(e->local, target, 16) && !memcmp(e->remote, mine, 16);
}

static void papi_tcp_visit_peer(const papi_tcp_entry *e, void *data)
{
    papi_tcp_pass *pass = data;
    papi_tcp_check *c = pass->checks;

    if (c->found || !papi_tcp_is_peer(c, e))
        return;
    c->found = 1;
    if (!papi_tcp_allowed(c, e))
        c->why = apr_psprintf(pass->p, "the connection to %s was taken by a socket of uid %lu, not "
                              "of the app group's user (uid %lu) or root: its connect password "
                              "is not sent there", papi_tcp_where(pass->p, c), e->uid,
                              (unsigned long)c->owner);
}

/* The lookup of the other end of c's connection: the socket whose local end is c's target and
 * whose remote end is ours. */
static void papi_tcp_peer_request(papi_tcp_request *q, apr_uint32_t seq, const papi_tcp_check *c)
{
    papi_tcp_request_init(q, seq, 0, AF_INET);
    q->r.idiag_states = ~0U;
    q->r.id.idiag_src[0] = c->ip.s_addr;
    q->r.id.idiag_sport = htons(c->port);
    q->r.id.idiag_dst[0] = c->local_ip.s_addr;
    q->r.id.idiag_dport = htons(c->local_port);
}

static void papi_tcp_clear(papi_tcp_check *checks, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        checks[i].found = 0;
        checks[i].why = NULL;
    }
}

void papi_tcp_check_listeners(apr_pool_t *p, papi_tcp_check *checks, int n)
{
    papi_tcp_pass pass = { p, checks, n };
    apr_port_t *ports = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(*ports));
    const char *why;
    int i, j, k = 0;

    papi_tcp_clear(checks, n);
    for (i = 0; i < n; i++) {
        for (j = 0; j < k && ports[j] != checks[i].port; j++)
            ;
        if (j == k)
            ports[k++] = checks[i].port;
    }
    why = k ? papi_tcp_listeners(p, ports, k, papi_tcp_visit_listener, &pass) : NULL;
    for (i = 0; i < n; i++)
        if (why)
            checks[i].why = why;
        else if (!checks[i].found)
            checks[i].why = apr_pstrcat(p, "nothing listens on ", papi_tcp_where(p, &checks[i]),
                                        " (the process is gone, or not listening yet)", NULL);
}

void papi_tcp_check_peers(apr_pool_t *p, papi_tcp_check *checks, int n)
{
    papi_tcp_request q;
    papi_tcp_answer a;
    const char *why = NULL;
    int fd = n > 0 ? papi_tcp_open(p, &why) : -1, i;

    papi_tcp_clear(checks, n);
    for (i = 0; i < n; i++) {
        papi_tcp_pass pass = { p, &checks[i], 1 };
        if (fd >= 0) {
            papi_tcp_peer_request(&q, (apr_uint32_t)i + 1, &checks[i]);
            why = papi_tcp_ask(p, fd, &q, papi_tcp_visit_peer, &pass, &a);
            /* ENOENT: no such connection (yet); the caller looks again. */
            if (!why && a.error && a.error != ENOENT)
                why = papi_tcp_oserr(p, "sock_diag refused to look up a connection", a.error);
        }
        if (why)
            checks[i].why = why;
    }
    if (fd >= 0)
        close(fd);
}
