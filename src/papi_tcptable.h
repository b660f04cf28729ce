/* Who owns a TCP socket, from Linux's socket tables (/proc/net/tcp and /proc/net/tcp6): before
 * an application process's connect password goes to 127.x.y.z:port, the listener there must be
 * the app's user's (or root's), or a local user who bound a port Passenger still names (its
 * process detached or dead) would receive the password.
 *
 * Two checks. Before connecting: every listener that would take a connection to ip:port (bound
 * to that address, to 0.0.0.0, to :: or to ::ffff:that address) belongs to the owner or root,
 * and there is one. After connecting, before a byte is sent: the other end of this very
 * connection (the socket the kernel made from the listener for it, which carries the listener's
 * uid: established, or still in the accept queue) belongs to the owner or root. The second check
 * is on the connection itself, so a port rebound between the first check and connect() is caught
 * too; what remains is what the owner itself does with its socket (handing it to another
 * process), and the owner has the password anyway (the core shows it to the app's user). */
#ifndef PAPI_TCPTABLE_H
#define PAPI_TCPTABLE_H

#include <apr_network_io.h>
#include <apr_pools.h>
#include <netinet/in.h>
#include <sys/types.h>

/* The tables read when none are given. */
extern const char *const papi_tcp_default_tables[];

/* Socket states as the tables show them (the kernel's TCP_* numbers). */
#define PAPI_TCP_ESTABLISHED 0x01
#define PAPI_TCP_SYN_RECV 0x03
#define PAPI_TCP_LISTEN 0x0A

typedef struct papi_tcp_entry {
    unsigned char local[16];    /* IPv6; IPv4 as ::ffff:a.b.c.d */
    apr_port_t local_port;
    unsigned char remote[16];
    apr_port_t remote_port;
    int state;
    unsigned long uid;
    unsigned long long inode;
} papi_tcp_entry;

/* Parses one line of a table (line[0..n), without its newline) into *e: 1, or 0 when the line is
 * not an entry (the header line, or anything malformed). */
int papi_tcp_parse_line(const char *line, apr_size_t n, papi_tcp_entry *e);

/* Called for each entry; nonzero stops the reading. */
typedef int (*papi_tcp_visit)(const papi_tcp_entry *e, void *data);

/* A table read in pieces of any size, as they come from read(2). */
typedef struct papi_tcp_reader {
    papi_tcp_visit visit;
    void *data;
    char line[512];             /* entries are about 150 (tcp) and 180 (tcp6) bytes */
    apr_size_t len;
    int overlong;               /* the current line did not fit */
    unsigned long lines;        /* complete lines seen */
    unsigned long malformed;    /* lines after the header that are no entry */
    int stopped;                /* visit asked to stop */
} papi_tcp_reader;

void papi_tcp_reader_init(papi_tcp_reader *rd, papi_tcp_visit visit, void *data);

/* Feeds buf[0..n); returns 1 once visit has asked to stop (the rest is not looked at). */
int papi_tcp_reader_feed(papi_tcp_reader *rd, const char *buf, apr_size_t n);

/* Ends the table (a last line without a newline counts). */
void papi_tcp_reader_end(papi_tcp_reader *rd);

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

/* The check before connecting, for checks[0..n) in one pass over the tables (NULL: the default
 * ones): sets found and why (nothing listens there, a listener of another uid, the tables could
 * not be read). */
void papi_tcp_check_listeners(apr_pool_t *p, const char *const *tables, papi_tcp_check *checks,
                              int n);

/* The check once connected (local_ip and local_port set), in one pass: sets found, and why when
 * the other end belongs to another uid or the tables could not be read. found == 0 with why NULL:
 * the other end is not (yet) in the tables. */
void papi_tcp_check_peers(apr_pool_t *p, const char *const *tables, papi_tcp_check *checks, int n);

#endif
