/* Who owns a TCP socket, asked of Linux's sock_diag netlink (NETLINK_SOCK_DIAG, inet_diag):
 * before an application process's connect password goes to 127.x.y.z:port, the listener there
 * must be the app's user's (or root's), or a local user who bound a port Passenger still names
 * (its process detached or dead) would receive the password.
 *
 * Two checks. Before connecting: every listener that would take a connection to ip:port (bound
 * to that address, to 0.0.0.0, to :: or to ::ffff:that address) belongs to the owner or root,
 * and there is one. After connecting, before a byte is sent: the other end of this very
 * connection (the socket the kernel made from the listener for it, which carries the listener's
 * uid: established, or still in the accept queue) belongs to the owner or root. The second check
 * is on the connection itself, so a port rebound between the first check and connect() is caught
 * too; what remains is what the owner itself does with its socket (handing it to another
 * process), and the owner has the password anyway (the core shows it to the app's user).
 *
 * The work is bounded by what is asked, not by what is on the host: the first check is a dump of
 * listening sockets only (the kernel never walks established or TIME_WAIT ones, which any local
 * user can make by the ten thousand), filtered in the kernel to the ports asked; the second is
 * one exact lookup of the connection's 4-tuple. A request socket (the handshake not yet done) is
 * reported with uid 0 and is never taken for root's: it is looked up again until it is a full
 * socket (a listener with TCP_DEFER_ACCEPT keeps it one until data comes: such a process is
 * refused). Answers come only from the kernel (a netlink sender with port id 0; a local user
 * cannot send to this socket without CAP_NET_ADMIN); anything the parser does not understand
 * refuses, as does a netlink socket that cannot be opened (a sandbox without it): nothing is
 * sent then. */
#ifndef PAPI_TCPTABLE_H
#define PAPI_TCPTABLE_H

#include <apr_network_io.h>
#include <apr_pools.h>
#include <netinet/in.h>
#include <sys/types.h>

/* Socket states as inet_diag reports them (the kernel's TCP_* numbers). */
#define PAPI_TCP_ESTABLISHED 1
#define PAPI_TCP_SYN_SENT 2
#define PAPI_TCP_SYN_RECV 3
#define PAPI_TCP_FIN_WAIT1 4
#define PAPI_TCP_FIN_WAIT2 5
#define PAPI_TCP_TIME_WAIT 6
#define PAPI_TCP_CLOSE 7
#define PAPI_TCP_CLOSE_WAIT 8
#define PAPI_TCP_LAST_ACK 9
#define PAPI_TCP_LISTEN 10
#define PAPI_TCP_CLOSING 11

/* One socket of an answer. */
typedef struct papi_tcp_entry {
    unsigned char local[16];    /* IPv6; IPv4 as ::ffff:a.b.c.d */
    apr_port_t local_port;
    unsigned char remote[16];
    apr_port_t remote_port;
    int state;
    unsigned long uid;
    unsigned long inode;        /* 0: no file (a request, TIME_WAIT, or not yet accepted) */
} papi_tcp_entry;

/* Called for each socket of an answer. */
typedef void (*papi_tcp_visit)(const papi_tcp_entry *e, void *data);

/* What the datagrams of one answer held so far. */
typedef struct papi_tcp_answer {
    int done;                   /* NLMSG_DONE or NLMSG_ERROR seen: the answer is complete */
    int error;                  /* the errno that NLMSG_ERROR or NLMSG_DONE carried; 0: none */
    int malformed;              /* a message cut short, of another request or of an unknown
                                 * type, a socket of another family: nothing after it is read,
                                 * and the answer is not to be trusted */
    unsigned long sockets;      /* sockets passed to visit */
} papi_tcp_answer;

/* Parses one datagram buf[0..n) of the kernel's answer to the request numbered seq, each socket
 * in it passed to visit. Call with *a zeroed for the first datagram of an answer. */
void papi_tcp_parse_answer(const void *buf, apr_size_t n, apr_uint32_t seq, papi_tcp_visit visit,
                           void *data, papi_tcp_answer *a);

/* Every TCP listener (IPv4 and IPv6) on one of ports[0..n) through visit: NULL, or why they
 * could not be asked for. */
const char *papi_tcp_listeners(apr_pool_t *p, const apr_port_t *ports, int n,
                               papi_tcp_visit visit, void *data);

/* One connection to check. */
typedef struct papi_tcp_check {
    struct in_addr ip;          /* the target */
    apr_port_t port;
    uid_t owner;                /* the socket must be the owner's or root's */
    struct in_addr local_ip;    /* our end of the connection, for papi_tcp_check_peers */
    apr_port_t local_port;
    int found;                  /* a matching socket was seen */
    const char *why;            /* why the password must not go there, or NULL */
} papi_tcp_check;

/* The check before connecting, for checks[0..n) in one dump: sets found and why (nothing listens
 * there, a listener of another uid, the kernel could not be asked). */
void papi_tcp_check_listeners(apr_pool_t *p, papi_tcp_check *checks, int n);

/* The check once connected (local_ip and local_port set), one lookup each: sets found, and why
 * when the other end belongs to another uid or the kernel could not be asked. found == 0 with
 * why NULL: the other end is not (yet) a full socket (the handshake is still completing). */
void papi_tcp_check_peers(apr_pool_t *p, papi_tcp_check *checks, int n);

#endif
