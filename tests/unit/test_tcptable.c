/* Who owns a TCP socket, asked of Linux's sock_diag: its answers read right from crafted
 * datagrams (sockets, the end of a dump, the kernel's errors, and everything malformed), then
 * both checks against this kernel with real sockets, some of them another user's, one a request
 * socket the kernel reports as uid 0. */
#include "papi_test.h"
#include "papi_tcptable.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEQ 7

/* ---- crafted answers ---------------------------------------------------------------------- */

typedef struct datagram {
    unsigned char b[4096];
    size_t n;
} datagram;

/* Appends a message of type with payload[0..len), padded as netlink pads. */
static void put(datagram *d, int type, apr_uint32_t seq, const void *payload, size_t len)
{
    struct nlmsghdr h = { .nlmsg_len = (apr_uint32_t)NLMSG_LENGTH(len), .nlmsg_type = (apr_uint16_t)type,
                          .nlmsg_flags = NLM_F_MULTI, .nlmsg_seq = seq };

    assert_true(d->n + NLMSG_SPACE(len) <= sizeof(d->b));
    memset(d->b + d->n, 0, NLMSG_SPACE(len));
    memcpy(d->b + d->n, &h, sizeof(h));
    memcpy(d->b + d->n + NLMSG_HDRLEN, payload, len);
    d->n += NLMSG_SPACE(len);
}

static void put_error(datagram *d, int type, int err)
{
    put(d, type, SEQ, &err, sizeof(err));
}

/* A socket as the kernel tells it: IPv4 addresses in the first word, IPv6 in all four. */
static struct inet_diag_msg sock_msg(int family, const char *local, int lport, const char *remote,
                                     int rport, int state, unsigned uid, unsigned inode)
{
    struct inet_diag_msg m;

    memset(&m, 0, sizeof(m));
    m.idiag_family = (apr_byte_t)family;
    m.idiag_state = (apr_byte_t)state;
    assert_int_equal(inet_pton(family, local, m.id.idiag_src), 1);
    assert_int_equal(inet_pton(family, remote, m.id.idiag_dst), 1);
    m.id.idiag_sport = htons((apr_uint16_t)lport);
    m.id.idiag_dport = htons((apr_uint16_t)rport);
    m.idiag_uid = uid;
    m.idiag_inode = inode;
    return m;
}

static void put_sock(datagram *d, struct inet_diag_msg m)
{
    unsigned char with_attr[sizeof(m) + 8] = { 0 };

    /* Attributes follow the socket (here one INET_DIAG_SHUTDOWN): they are not read. */
    memcpy(with_attr, &m, sizeof(m));
    with_attr[sizeof(m)] = 5;
    with_attr[sizeof(m) + 2] = INET_DIAG_SHUTDOWN;
    put(d, SOCK_DIAG_BY_FAMILY, SEQ, with_attr, sizeof(with_attr));
}

typedef struct seen {
    papi_tcp_entry e[8];
    int n;
} seen;

static void keep(const papi_tcp_entry *e, void *data)
{
    seen *s = data;

    if (s->n < 8)
        s->e[s->n] = *e;
    s->n++;
}

static papi_tcp_answer parse(const datagram *d, seen *s)
{
    papi_tcp_answer a;

    memset(&a, 0, sizeof(a));
    memset(s, 0, sizeof(*s));
    papi_tcp_parse_answer(d->b, d->n, SEQ, keep, s, &a);
    assert_int_equal(a.sockets, (unsigned long)s->n);
    return a;
}

static void mapped(const char *v4, unsigned char out[16])
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    assert_int_equal(inet_pton(AF_INET, v4, out + 12), 1);
}

/* A dump's datagram: an IPv4 listener and an IPv6 connection, then NLMSG_DONE; every field as
 * the kernel sent it, IPv4 as IPv4-mapped IPv6. */
static void sockets_are_read_right(void **state)
{
    unsigned char loopback[16], v6[16];
    datagram d = { .n = 0 };
    papi_tcp_answer a;
    seen s;

    put_sock(&d, sock_msg(AF_INET, "127.0.0.1", 8080, "0.0.0.0", 0, PAPI_TCP_LISTEN, 33, 1225685));
    put_sock(&d, sock_msg(AF_INET6, "::1", 8081, "fe80::1", 40000, PAPI_TCP_ESTABLISHED, 65534, 9));
    put_error(&d, NLMSG_DONE, 0);
    a = parse(&d, &s);
    assert_true(a.done);
    assert_int_equal(a.error, 0);
    assert_false(a.malformed);
    assert_int_equal(s.n, 2);
    mapped("127.0.0.1", loopback);
    assert_memory_equal(s.e[0].local, loopback, 16);
    assert_int_equal(s.e[0].local_port, 8080);
    assert_int_equal(s.e[0].state, PAPI_TCP_LISTEN);
    assert_int_equal(s.e[0].uid, 33);
    assert_int_equal(s.e[0].inode, 1225685);
    assert_int_equal(inet_pton(AF_INET6, "fe80::1", v6), 1);
    assert_memory_equal(s.e[1].remote, v6, 16);
    assert_int_equal(s.e[1].remote_port, 40000);
    assert_int_equal(s.e[1].state, PAPI_TCP_ESTABLISHED);
    assert_int_equal(s.e[1].uid, 65534);
}

/* A dump goes on over several datagrams until NLMSG_DONE; NLMSG_NOOP is skipped; nothing after
 * the end is read. */
static void a_dump_ends_with_done(void **state)
{
    datagram first = { .n = 0 }, last = { .n = 0 };
    papi_tcp_answer a;
    seen s;

    put_sock(&first, sock_msg(AF_INET, "0.0.0.0", 1, "0.0.0.0", 0, PAPI_TCP_LISTEN, 0, 1));
    put(&first, NLMSG_NOOP, SEQ, "", 0);
    memset(&a, 0, sizeof(a));
    memset(&s, 0, sizeof(s));
    papi_tcp_parse_answer(first.b, first.n, SEQ, keep, &s, &a);
    assert_false(a.done || a.malformed);
    put_error(&last, NLMSG_DONE, 0);
    put_sock(&last, sock_msg(AF_INET, "0.0.0.0", 2, "0.0.0.0", 0, PAPI_TCP_LISTEN, 0, 1));
    papi_tcp_parse_answer(last.b, last.n, SEQ, keep, &s, &a);
    assert_true(a.done);
    assert_false(a.malformed);
    assert_int_equal(a.sockets, 1);
    assert_int_equal(s.n, 1);
    /* An NLMSG_DONE without its error word (older kernels) ends it too. */
    last.n = 0;
    put(&last, NLMSG_DONE, SEQ, "", 0);
    a = parse(&last, &s);
    assert_true(a.done && !a.malformed && !a.error);
}

/* The kernel's refusals: NLMSG_ERROR (ENOENT for a connection it does not know) and an error in
 * NLMSG_DONE; an acknowledgement (error 0) ends an answer without one. */
static void errors_are_told(void **state)
{
    datagram d = { .n = 0 };
    papi_tcp_answer a;
    seen s;

    put_error(&d, NLMSG_ERROR, -ENOENT);
    a = parse(&d, &s);
    assert_true(a.done && !a.malformed);
    assert_int_equal(a.error, ENOENT);
    d.n = 0;
    put_error(&d, NLMSG_DONE, -EINVAL);
    a = parse(&d, &s);
    assert_int_equal(a.error, EINVAL);
    d.n = 0;
    put_error(&d, NLMSG_ERROR, 0);
    a = parse(&d, &s);
    assert_true(a.done && !a.malformed && !a.error);
}

/* Anything else makes the answer untrustworthy, and nothing after it is read. */
static void malformed_answers_are_refused(void **state)
{
    struct inet_diag_msg unix_sock = sock_msg(AF_INET, "127.0.0.1", 1, "0.0.0.0", 0, 10, 0, 1);
    datagram good = { .n = 0 }, d;
    struct nlmsghdr h;
    papi_tcp_answer a;
    seen s;
    int i;

    unix_sock.idiag_family = AF_UNIX;
    put_sock(&good, sock_msg(AF_INET, "127.0.0.1", 1, "0.0.0.0", 0, PAPI_TCP_LISTEN, 0, 1));
    for (i = 0; i < 10; i++) {
        d = good;
        switch (i) {
        case 0:     /* cut inside the header */
            d.n = 10;
            break;
        case 1:     /* cut inside the message */
            d.n -= 20;
            break;
        case 2:     /* a length shorter than the header */
            h.nlmsg_len = 8;
            memcpy(d.b, &h.nlmsg_len, sizeof(h.nlmsg_len));
            break;
        case 3:     /* the answer to another request */
            put(&d, SOCK_DIAG_BY_FAMILY, SEQ + 1, &unix_sock, sizeof(unix_sock));
            break;
        case 4:     /* a type never asked for */
            put(&d, 0x42, SEQ, "", 0);
            break;
        case 5:     /* a socket message too short for a socket */
            put(&d, SOCK_DIAG_BY_FAMILY, SEQ, &unix_sock, sizeof(unix_sock) - 1);
            break;
        case 6:     /* a socket of another family */
            put(&d, SOCK_DIAG_BY_FAMILY, SEQ, &unix_sock, sizeof(unix_sock));
            break;
        case 7:     /* NLMSG_ERROR without its error */
            put(&d, NLMSG_ERROR, SEQ, "\0\0", 2);
            break;
        case 8:     /* an error that is no errno */
            put_error(&d, NLMSG_ERROR, 5);
            break;
        case 9:     /* trailing bytes too few for a header */
            memset(d.b + d.n, 0, 8);
            d.n += 8;
            break;
        }
        if (i >= 3) {
            /* After the bad message, a good one: not read. */
            put_sock(&d, sock_msg(AF_INET, "127.0.0.1", 2, "0.0.0.0", 0, PAPI_TCP_LISTEN, 0, 1));
        }
        a = parse(&d, &s);
        if (!a.malformed)
            fail_msg("case %d taken as good", i);
        assert_true(s.n <= 1);
    }
}

/* ---- against this kernel ------------------------------------------------------------------ */

typedef struct listener {
    pid_t pid;
    apr_port_t port;
} listener;

/* A listener made by uid (after setuid when uid is not ours) on addr (IPv4 or IPv6), port 0:
 * any. With defer, it keeps connections as request sockets until data arrives
 * (TCP_DEFER_ACCEPT). */
static listener listen_as(uid_t uid, const char *addr, apr_port_t port, int defer)
{
    listener l = { 0, 0 };
    int ready[2];

    assert_int_equal(pipe(ready), 0);
    if ((l.pid = fork()) == 0) {
        struct sockaddr_storage ss;
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        socklen_t len = sizeof(ss);
        int six = strchr(addr, ':') != NULL, fd, secs = 30;
        memset(&ss, 0, sizeof(ss));
        ss.ss_family = six ? AF_INET6 : AF_INET;
        if (six ? inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1
                : inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
            _exit(2);
        a4->sin_port = htons(port);     /* the same place in both */
        /* The socket's owner is whoever made it: setuid first. */
        if (uid != getuid() && setuid(uid) != 0)
            _exit(2);
        /* Gone with the tests, even when one fails before stopping it (after setuid, which
         * clears this). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
            _exit(2);
        fd = socket(ss.ss_family, SOCK_STREAM, 0);
        if (defer)
            setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
        if (bind(fd, (struct sockaddr *)&ss, six ? sizeof(*a6) : sizeof(*a4)) || listen(fd, 4)
            || getsockname(fd, (struct sockaddr *)&ss, &len))
            _exit(3);
        l.port = ntohs(a4->sin_port);
        (void)!write(ready[1], &l.port, sizeof(l.port));
        pause();
        _exit(0);
    }
    close(ready[1]);
    if (read(ready[0], &l.port, sizeof(l.port)) != sizeof(l.port))
        l.port = 0;
    close(ready[0]);
    if (!l.port)
        waitpid(l.pid, NULL, 0);
    return l;
}

static void stop(listener l)
{
    kill(l.pid, SIGKILL);
    waitpid(l.pid, NULL, 0);
}

static papi_tcp_check check_of(const char *ip, apr_port_t port, uid_t owner)
{
    papi_tcp_check c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(inet_pton(AF_INET, ip, &c.ip), 1);
    c.port = port;
    c.owner = owner;
    return c;
}

/* Another uid than ours, for listeners that are not ours (root runs the tests as 65534). */
static uid_t other_uid(void)
{
    return getuid() == 0 ? 65534 : getuid();
}

/* A connection to ip:port; our end goes into every check of c[0..n). */
static int connect_to(const char *ip, apr_port_t port, papi_tcp_check *c, int n)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), i;

    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    for (i = 0; i < n; i++) {
        c[i].local_ip = a.sin_addr;
        c[i].local_port = ntohs(a.sin_port);
    }
    return fd;
}

/* A listener of another user is refused before connecting, its owner's accepted; once
 * connected, the other end of the very connection is found and its owner told (a port rebound
 * after the first check is caught here); gone, nothing listens. */
static void both_checks_on_real_sockets(void **state)
{
    apr_pool_t *p = *state;
    uid_t other = other_uid();
    listener l = listen_as(other, "127.0.0.1", 0, 0);
    papi_tcp_check c[2];
    int fd;

    assert_true(l.port != 0);
    c[0] = check_of("127.0.0.1", l.port, other);
    c[1] = check_of("127.0.0.1", l.port, 12345);
    papi_tcp_check_listeners(p, c, 2);
    assert_true(c[0].found && c[1].found);
    assert_null(c[0].why);
    assert_string_equal(c[1].why, apr_psprintf(p, "the listener on 127.0.0.1:%u belongs to uid "
                                               "%lu, not to the app group's user (uid 12345) or "
                                               "root: its connect password is not sent there",
                                               (unsigned)l.port, (unsigned long)other));
    fd = connect_to("127.0.0.1", l.port, c, 2);
    /* Not yet accepted: it waits in the listener's queue, with the listener's uid. */
    papi_tcp_check_peers(p, c, 2);
    assert_true(c[0].found && c[1].found);
    assert_null(c[0].why);
    assert_non_null(strstr(c[1].why, apr_psprintf(p, "taken by a socket of uid %lu",
                                                  (unsigned long)other)));
    /* A connection that does not exist is not found, and not refused (the caller looks again).
     * The kernel's lookup then falls back to the listener on the port: that is not it. */
    c[1].local_port = 1;
    papi_tcp_check_peers(p, &c[1], 1);
    assert_false(c[1].found);
    assert_null(c[1].why);
    close(fd);
    stop(l);
    papi_tcp_check_listeners(p, c, 1);
    assert_false(c[0].found);
    assert_string_equal(c[0].why, apr_psprintf(p, "nothing listens on 127.0.0.1:%u (the process "
                                               "is gone, or not listening yet)", (unsigned)l.port));
    /* Nor is one whose port nothing listens on any more. */
    papi_tcp_check_peers(p, c, 1);
    assert_false(c[0].found);
    assert_null(c[0].why);
}

/* Listeners on wildcard addresses take 127.x's connections too: 0.0.0.0 and :: of another user
 * are refused for 127.0.0.2; root's are accepted for anyone. */
static void wildcard_and_root_listeners(void **state)
{
    apr_pool_t *p = *state;
    listener any4, any6, root;
    papi_tcp_check c[4];
    int fd;

    if (getuid() != 0)
        skip();
    any4 = listen_as(other_uid(), "0.0.0.0", 0, 0);
    any6 = listen_as(other_uid(), "::", 0, 0);
    root = listen_as(0, "127.0.0.1", 0, 0);
    assert_true(any4.port && root.port);
    c[0] = check_of("127.0.0.2", any4.port, 12345);
    c[1] = check_of("127.0.0.2", any4.port, other_uid());
    c[2] = check_of("127.0.0.1", root.port, 12345);
    c[3] = check_of("127.0.0.2", any6.port, 12345);
    papi_tcp_check_listeners(p, c, any6.port ? 4 : 3);
    assert_non_null(strstr(c[0].why, "belongs to uid 65534"));
    assert_null(c[1].why);
    assert_null(c[2].why);
    if (any6.port)      /* a host without IPv6 has no :: listener to check */
        assert_non_null(strstr(c[3].why, "belongs to uid 65534"));
    /* Root's other end passes for any owner. */
    fd = connect_to("127.0.0.1", root.port, &c[2], 1);
    papi_tcp_check_peers(p, &c[2], 1);
    assert_true(c[2].found);
    assert_null(c[2].why);
    close(fd);
    stop(any4);
    stop(root);
    if (any6.port)
        stop(any6);
}

/* A listener that defers accepting keeps our connection as a request socket, which the kernel
 * reports as uid 0 (no one's): it must not pass as root's. It is not found (the caller looks
 * again, then refuses); with data it would become a full socket of its listener's uid. */
static void a_request_socket_is_not_root(void **state)
{
    apr_pool_t *p = *state;
    listener l = listen_as(other_uid(), "127.0.0.1", 0, 1);
    papi_tcp_check c = check_of("127.0.0.1", l.port, 12345);
    int fd, pass;

    assert_true(l.port != 0);
    fd = connect_to("127.0.0.1", l.port, &c, 1);
    for (pass = 0; pass < 3; pass++) {
        papi_tcp_check_peers(p, &c, 1);
        assert_false(c.found);
        assert_null(c.why);
        usleep(2000);
    }
    close(fd);
    stop(l);
}

static void count_port(const papi_tcp_entry *e, void *data)
{
    apr_port_t *ports = data;
    int i;

    /* ports[0..3): asked for, counted in ports[3..6); anything else in ports[6]. */
    for (i = 0; i < 3 && ports[i] != e->local_port; i++)
        ;
    ports[i < 3 ? 3 + i : 6]++;
    assert_int_equal(e->state, PAPI_TCP_LISTEN);
}

/* The kernel filters the listeners by port: of three, the two asked for come back, and nothing
 * else; more ports than one dump holds are asked in several. */
static void listeners_are_filtered_by_port(void **state)
{
    apr_pool_t *p = *state;
    listener l[3] = { listen_as(getuid(), "127.0.0.1", 0, 0), listen_as(getuid(), "127.0.0.1", 0, 0),
                      listen_as(getuid(), "127.0.0.1", 0, 0) };
    apr_port_t asked[200], counts[7] = { 0 };
    int i;

    counts[0] = l[0].port;
    counts[1] = l[2].port;
    counts[2] = 0;
    asked[0] = l[0].port;
    asked[1] = l[2].port;
    assert_null(papi_tcp_listeners(p, asked, 2, count_port, counts));
    assert_int_equal(counts[3], 1);
    assert_int_equal(counts[4], 1);
    assert_int_equal(counts[6], 0);
    /* 200 ports, ours last: ports 1..199 besides (root's, free or not: counted apart). */
    for (i = 0; i < 199; i++)
        asked[i] = (apr_port_t)(i + 1);
    asked[199] = l[1].port;
    memset(counts, 0, sizeof(counts));
    counts[0] = l[1].port;
    assert_null(papi_tcp_listeners(p, asked, 200, count_port, counts));
    assert_int_equal(counts[3], 1);
    for (i = 0; i < 3; i++)
        stop(l[i]);
}

/* Without a netlink socket (here: no descriptor left), every check is refused with the reason. */
static void no_netlink_refuses(void **state)
{
    apr_pool_t *p = *state;
    char why[300] = "";
    size_t got;
    ssize_t n;
    int report[2];
    pid_t pid;

    assert_int_equal(pipe(report), 0);
    if ((pid = fork()) == 0) {
        struct rlimit none = { 0, 0 };
        papi_tcp_check c[2] = { check_of("127.0.0.1", 80, 0), check_of("127.0.0.1", 81, 0) };
        setrlimit(RLIMIT_NOFILE, &none);
        papi_tcp_check_listeners(p, c, 2);
        if (c[0].why && c[1].why && !strcmp(c[0].why, c[1].why))
            (void)!write(report[1], c[0].why, strlen(c[0].why));
        papi_tcp_check_peers(p, c, 2);
        if (c[1].why)
            (void)!write(report[1], "|", 1);
        _exit(0);
    }
    close(report[1]);
    for (got = 0; (n = read(report[0], why + got, sizeof(why) - 1 - got)) > 0; got += (size_t)n)
        ;
    close(report[0]);
    waitpid(pid, NULL, 0);
    assert_string_equal(why, "Linux's socket owners cannot be asked (sock_diag netlink): Too many "
                             "open files|");
}

PAPI_TEST_MAIN(
    PAPI_TEST(sockets_are_read_right),
    PAPI_TEST(a_dump_ends_with_done),
    PAPI_TEST(errors_are_told),
    PAPI_TEST(malformed_answers_are_refused),
    PAPI_TEST(both_checks_on_real_sockets),
    PAPI_TEST(wildcard_and_root_listeners),
    PAPI_TEST(a_request_socket_is_not_root),
    PAPI_TEST(listeners_are_filtered_by_port),
    PAPI_TEST(no_netlink_refuses))
