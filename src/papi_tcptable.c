#include "papi_tcptable.h"
#include "papi_chars.h"

#include <apr_strings.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char *const papi_tcp_default_tables[] = { "/proc/net/tcp", "/proc/net/tcp6", NULL };

/* ---- one line ----------------------------------------------------------------------------- */

/* The next blank-separated field of line[*at..n), or 0 when there is none. */
static int papi_tcp_field(const char *line, apr_size_t n, apr_size_t *at, const char **f,
                          apr_size_t *len)
{
    apr_size_t i = *at;

    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    *f = line + i;
    while (i < n && line[i] != ' ' && line[i] != '\t')
        i++;
    *len = (apr_size_t)(line + i - *f);
    *at = i;
    return *len > 0;
}

/* Exactly n hex digits at s, as a number. */
static int papi_tcp_hex(const char *s, apr_size_t n, unsigned long *v)
{
    apr_size_t i;

    *v = 0;
    for (i = 0; i < n; i++) {
        int d = papi_hex_value(s[i]);
        if (d < 0)
            return 0;
        *v = (*v << 4) | (unsigned long)d;
    }
    return 1;
}

/* A decimal number of up to 20 digits. */
static int papi_tcp_decimal(const char *s, apr_size_t n, unsigned long long *v)
{
    apr_size_t i;

    *v = 0;
    if (!n || n > 20)
        return 0;
    for (i = 0; i < n; i++) {
        if (!papi_is_digit(s[i]) || *v > (~0ULL - 9) / 10)
            return 0;
        *v = *v * 10 + (unsigned long long)(s[i] - '0');
    }
    return 1;
}

/* "0100007F:1F90" (tcp) or 32 hex digits and a port (tcp6). The kernel prints each 32-bit word
 * of the address as a number in this host's byte order: stored back the same way, the bytes are
 * the address's. */
static int papi_tcp_address(const char *s, apr_size_t n, unsigned char addr[16], apr_port_t *port)
{
    unsigned long word, p;
    apr_uint32_t w;
    apr_size_t words = (n == 8 + 5) ? 1 : (n == 32 + 5) ? 4 : 0, i;

    if (!words || s[words * 8] != ':' || !papi_tcp_hex(s + words * 8 + 1, 4, &p))
        return 0;
    memset(addr, 0, 16);
    for (i = 0; i < words; i++) {
        if (!papi_tcp_hex(s + i * 8, 8, &word))
            return 0;
        w = (apr_uint32_t)word;
        memcpy(addr + (words == 1 ? 12 : i * 4), &w, 4);
    }
    if (words == 1)
        addr[10] = addr[11] = 0xff;
    *port = (apr_port_t)p;
    return 1;
}

int papi_tcp_parse_line(const char *line, apr_size_t n, papi_tcp_entry *e)
{
    const char *f;
    apr_size_t len, at = 0;
    unsigned long long uid, inode;
    unsigned long state;
    int i;

    memset(e, 0, sizeof(*e));
    /* sl ("12:"), local, remote, st, tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout,
     * inode, and more that is not needed. */
    if (!papi_tcp_field(line, n, &at, &f, &len) || len < 2 || f[len - 1] != ':'
        || !papi_tcp_decimal(f, len - 1, &uid))
        return 0;
    if (!papi_tcp_field(line, n, &at, &f, &len) || !papi_tcp_address(f, len, e->local, &e->local_port)
        || !papi_tcp_field(line, n, &at, &f, &len)
        || !papi_tcp_address(f, len, e->remote, &e->remote_port)
        || !papi_tcp_field(line, n, &at, &f, &len) || len != 2 || !papi_tcp_hex(f, 2, &state))
        return 0;
    for (i = 0; i < 3; i++)
        if (!papi_tcp_field(line, n, &at, &f, &len))
            return 0;
    if (!papi_tcp_field(line, n, &at, &f, &len) || !papi_tcp_decimal(f, len, &uid)
        || uid > 0xFFFFFFFFULL || !papi_tcp_field(line, n, &at, &f, &len)
        || !papi_tcp_field(line, n, &at, &f, &len) || !papi_tcp_decimal(f, len, &inode))
        return 0;
    e->state = (int)state;
    e->uid = (unsigned long)uid;
    e->inode = inode;
    return 1;
}

/* ---- a whole table -------------------------------------------------------------------------- */

void papi_tcp_reader_init(papi_tcp_reader *rd, papi_tcp_visit visit, void *data)
{
    memset(rd, 0, sizeof(*rd));
    rd->visit = visit;
    rd->data = data;
}

static void papi_tcp_reader_line(papi_tcp_reader *rd)
{
    papi_tcp_entry e;
    int ok = !rd->overlong && papi_tcp_parse_line(rd->line, rd->len, &e);

    /* The first line is the column header; any other that is no entry makes the table
     * untrustworthy (an entry read wrong could hide a listener). */
    if (!ok && rd->lines > 0)
        rd->malformed++;
    rd->lines++;
    rd->len = 0;
    rd->overlong = 0;
    if (ok && rd->visit(&e, rd->data))
        rd->stopped = 1;
}

int papi_tcp_reader_feed(papi_tcp_reader *rd, const char *buf, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n && !rd->stopped; i++) {
        if (buf[i] == '\n')
            papi_tcp_reader_line(rd);
        else if (rd->len < sizeof(rd->line))
            rd->line[rd->len++] = buf[i];
        else
            rd->overlong = 1;
    }
    return rd->stopped;
}

void papi_tcp_reader_end(papi_tcp_reader *rd)
{
    if (!rd->stopped && (rd->len || rd->overlong))
        papi_tcp_reader_line(rd);
}

/* Reads every table through visit. NULL, or why they could not be read (a table that does not
 * exist, like tcp6 on a host without IPv6, is skipped; at least one must be there). */
static const char *papi_tcp_read(apr_pool_t *p, const char *const *tables, papi_tcp_visit visit,
                                 void *data)
{
    char buf[16384], err[120];
    papi_tcp_reader rd;
    int read_any = 0;

    for (tables = tables ? tables : papi_tcp_default_tables; *tables; tables++) {
        ssize_t got;
        int fd = open(*tables, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0)
            return apr_psprintf(p, "cannot read %s: %s", *tables,
                                apr_strerror(APR_FROM_OS_ERROR(errno), err, sizeof(err)));
        papi_tcp_reader_init(&rd, visit, data);
        while ((got = read(fd, buf, sizeof(buf))) > 0 || (got < 0 && errno == EINTR))
            if (got > 0 && papi_tcp_reader_feed(&rd, buf, (apr_size_t)got))
                break;
        close(fd);
        if (got < 0)
            return apr_psprintf(p, "cannot read %s", *tables);
        papi_tcp_reader_end(&rd);
        if (rd.malformed)
            return apr_psprintf(p, "%s has %lu lines this module cannot read", *tables,
                                rd.malformed);
        if (rd.stopped)
            return NULL;
        read_any = 1;
    }
    return read_any ? NULL : "Linux's socket tables (/proc/net/tcp) are not there";
}

/* ---- the checks ----------------------------------------------------------------------------- */

typedef struct papi_tcp_pass {
    apr_pool_t *p;
    papi_tcp_check *checks;
    int n;
} papi_tcp_pass;

static void papi_tcp_mapped(struct in_addr ip, unsigned char out[16])
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &ip.s_addr, 4);
}

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
    papi_tcp_mapped(c->ip, mine);
    papi_tcp_mapped(zero, any4);
    return !memcmp(e->local, mine, 16) || !memcmp(e->local, any4, 16)
           || !memcmp(e->local, any6, 16);
}

static int papi_tcp_visit_listener(const papi_tcp_entry *e, void *data)
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
    return 0;
}

/* Is e the other end of c's connection: local is c's target, remote our end? */
static int papi_tcp_is_peer(const papi_tcp_check *c, const papi_tcp_entry *e)
{
    unsigned char target[16], mine[16];

    if ((e->state != PAPI_TCP_ESTABLISHED && e->state != PAPI_TCP_SYN_RECV)
        || e->local_port != c->port || e->remote_port != c->local_port)
        return 0;
    papi_tcp_mapped(c->ip, target);
    papi_tcp_mapped(c->local_ip, mine);
    return !memcmp(e->local, target, 16) && !memcmp(e->remote, mine, 16);
}

static int papi_tcp_visit_peer(const papi_tcp_entry *e, void *data)
{
    papi_tcp_pass *pass = data;
    int i, open = 0;

    for (i = 0; i < pass->n; i++) {
        papi_tcp_check *c = &pass->checks[i];
        if (!c->found && papi_tcp_is_peer(c, e)) {
            c->found = 1;
            if (!papi_tcp_allowed(c, e))
                c->why = apr_psprintf(pass->p, "the connection to %s was taken by a socket of uid "
                                      "%lu, not of the app group's user (uid %lu) or root: its "
                                      "connect password is not sent there",
                                      papi_tcp_where(pass->p, c), e->uid, (unsigned long)c->owner);
        }
        open += !c->found;
    }
    return open == 0;
}

/* One pass of visit over the tables for checks[0..n), their verdicts cleared first; when the
 * tables cannot be read, every check fails with why, and 0 is returned. */
static int papi_tcp_pass_run(apr_pool_t *p, const char *const *tables, papi_tcp_visit visit,
                             papi_tcp_check *checks, int n)
{
    papi_tcp_pass pass = { p, checks, n };
    const char *why;
    int i;

    for (i = 0; i < n; i++) {
        checks[i].found = 0;
        checks[i].why = NULL;
    }
    if ((why = papi_tcp_read(p, tables, visit, &pass)) == NULL)
        return 1;
    for (i = 0; i < n; i++)
        checks[i].why = why;
    return 0;
}

void papi_tcp_check_listeners(apr_pool_t *p, const char *const *tables, papi_tcp_check *checks,
                              int n)
{
    int i;

    if (!papi_tcp_pass_run(p, tables, papi_tcp_visit_listener, checks, n))
        return;
    for (i = 0; i < n; i++)
        if (!checks[i].found)
            checks[i].why = apr_pstrcat(p, "nothing listens on ", papi_tcp_where(p, &checks[i]),
                                        " (the process is gone, or not listening yet)", NULL);
}

void papi_tcp_check_peers(apr_pool_t *p, const char *const *tables, papi_tcp_check *checks, int n)
{
    papi_tcp_pass_run(p, tables, papi_tcp_visit_peer, checks, n);
}
