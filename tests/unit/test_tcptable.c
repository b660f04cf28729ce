/* Linux's socket tables: lines of /proc/net/tcp and tcp6 read right (real lines from this
 * kernel's format), a table read in pieces of any size, the listener check on crafted tables,
 * and both checks against real sockets, one of them another user's. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_fakeserver.h"
#include "papi_tcptable.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEADER "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  " \
               "timeout inode\n"
/* 127.0.0.1:8080 listening, uid 33; the kernel prints addresses in host byte order (these lines
 * are a little-endian host's, as every machine this module runs on). */
#define LISTEN_V4 "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000    33 " \
                  "       0 1225685 1 0000000013f873c0 100 0 0 10 0\n"
/* [::]:8081 listening, uid 65534. */
#define LISTEN_V6 "   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A " \
                  "00000000:00000000 00:00000000 00000000 65534        0 23456 1 0000000000000000 100 " \
                  "0 0 10 0\n"
/* An established connection ::ffff:127.0.0.1:8082 <- ::ffff:127.0.0.1:40000, uid 0. */
#define CONN_V6 "   1: 0000000000000000FFFF00000100007F:1F92 0000000000000000FFFF00000100007F:9C40 01 " \
                "00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 " \
                "30 10 -1\n"

static int little_endian(void)
{
    const apr_uint32_t one = 1;

    return *(const unsigned char *)&one == 1;
}

static void lines_are_read_right(void **state)
{
    unsigned char loopback[16] = { 0 };
    papi_tcp_entry e;

    if (!little_endian())
        skip();
    loopback[10] = loopback[11] = 0xff;
    loopback[12] = 127;
    loopback[15] = 1;
    assert_true(papi_tcp_parse_line(LISTEN_V4, strlen(LISTEN_V4) - 1, &e));
    assert_memory_equal(e.local, loopback, 16);
    assert_int_equal(e.local_port, 8080);
    assert_int_equal(e.state, PAPI_TCP_LISTEN);
    assert_int_equal(e.uid, 33);
    assert_int_equal(e.inode, 1225685);
    assert_true(papi_tcp_parse_line(LISTEN_V6, strlen(LISTEN_V6) - 1, &e));
    assert_int_equal(e.local_port, 8081);
    assert_int_equal(e.uid, 65534);
    assert_true(papi_tcp_parse_line(CONN_V6, strlen(CONN_V6) - 1, &e));
    assert_memory_equal(e.local, loopback, 16);
    assert_memory_equal(e.remote, loopback, 16);
    assert_int_equal(e.remote_port, 40000);
    assert_int_equal(e.state, PAPI_TCP_ESTABLISHED);
    assert_int_equal(e.uid, 0);
}

static void malformed_lines_are_no_entries(void **state)
{
    static const char *const bad[] = {
        HEADER,
        "",
        "   0: 0100007F:1F90",
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000",
        "   0: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 33 0 1",
        "   0: 0100007F:1F9 00000000:0000 0A 00000000:00000000 00:00000000 00000000 33 0 1",
        "   0: 0100007F:1F90 00000000:0000 A 00000000:00000000 00:00000000 00000000 33 0 1",
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 -3 0 1",
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 4294967296 0 1",
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 33 0 x",
        "   x: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 33 0 1",
        "   0 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 33 0 1",
    };
    papi_tcp_entry e;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (papi_tcp_parse_line(bad[i], strlen(bad[i]), &e))
            fail_msg("taken as an entry: '%s'", bad[i]);
    /* Fields are what counts, not the kernel's column widths. */
    {
        const char *tight = "0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 33 0 1";
        assert_true(papi_tcp_parse_line(tight, strlen(tight), &e));
    }
}

static int count_entry(const papi_tcp_entry *e, void *data)
{
    ++*(int *)data;
    return 0;
}

/* However the table is cut into reads, the same entries; a line too long or malformed counts. */
static void tables_read_in_any_pieces(void **state)
{
    const char *table = HEADER LISTEN_V4 LISTEN_V6 CONN_V6;
    apr_size_t n = strlen(table), piece;
    papi_tcp_reader rd;
    char longline[700];
    int count;

    for (piece = 1; piece <= n; piece += 7) {
        apr_size_t at;
        count = 0;
        papi_tcp_reader_init(&rd, count_entry, &count);
        for (at = 0; at < n; at += piece)
            papi_tcp_reader_feed(&rd, table + at, at + piece <= n ? piece : n - at);
        papi_tcp_reader_end(&rd);
        assert_int_equal(count, 3);
        assert_int_equal(rd.malformed, 0);
    }
    /* The last line without its newline still counts. */
    count = 0;
    papi_tcp_reader_init(&rd, count_entry, &count);
    papi_tcp_reader_feed(&rd, table, n - 1);
    papi_tcp_reader_end(&rd);
    assert_int_equal(count, 3);
    memset(longline, '1', sizeof(longline));
    count = 0;
    papi_tcp_reader_init(&rd, count_entry, &count);
    papi_tcp_reader_feed(&rd, HEADER LISTEN_V4, strlen(HEADER LISTEN_V4));
    papi_tcp_reader_feed(&rd, longline, sizeof(longline));
    papi_tcp_reader_feed(&rd, "\nnot an entry\n", 14);
    papi_tcp_reader_end(&rd);
    assert_int_equal(count, 1);
    assert_int_equal(rd.malformed, 2);
}

static const char *write_table(apr_pool_t *p, const char *dir, const char *name, const char *text)
{
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
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

/* On crafted tables: the owner's listener passes, a wildcard IPv6 listener of another uid takes
 * 127.0.0.1's connections too, nothing on a port is refused, a missing tcp6 is no error, a
 * malformed table or none at all is. */
static void listener_check_on_crafted_tables(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    const char *tables[] = { write_table(p, dir, "tcp", HEADER LISTEN_V4),
                             write_table(p, dir, "tcp6", HEADER LISTEN_V6 CONN_V6), NULL };
    const char *only_v4[] = { tables[0], apr_pstrcat(p, dir, "/absent", NULL), NULL };
    const char *broken[] = { write_table(p, dir, "broken", HEADER LISTEN_V4 "garbage\n"), NULL };
    const char *none[] = { only_v4[1], NULL };
    papi_tcp_check c[5];

    if (!little_endian())
        skip();
    c[0] = check_of("127.0.0.1", 8080, 33);
    c[1] = check_of("127.0.0.1", 8080, 1000);
    c[2] = check_of("127.0.0.1", 8081, 33);
    c[3] = check_of("127.0.0.2", 8081, 65534);
    c[4] = check_of("127.0.0.2", 8080, 33);
    papi_tcp_check_listeners(p, tables, c, 5);
    assert_null(c[0].why);
    assert_string_equal(c[1].why, "the listener on 127.0.0.1:8080 belongs to uid 33, not to the "
                                  "app group's user (uid 1000) or root: its connect password is "
                                  "not sent there");
    assert_non_null(strstr(c[2].why, "belongs to uid 65534"));
    assert_null(c[3].why);
    assert_string_equal(c[4].why, "nothing listens on 127.0.0.2:8080 (the process is gone, or "
                                  "not listening yet)");
    papi_tcp_check_listeners(p, only_v4, c, 1);
    assert_null(c[0].why);
    papi_tcp_check_listeners(p, broken, c, 1);
    assert_non_null(strstr(c[0].why, "lines this module cannot read"));
    papi_tcp_check_listeners(p, none, c, 1);
    assert_non_null(strstr(c[0].why, "are not there"));
    papi_fx_remove(p, dir);
}

static void listen_only(int lfd, int report, void *unused)
{
    pause();
}

/* A listener on 127.0.0.1, made by uid (after setuid when uid is not ours). */
static papi_fake_server listen_as(apr_pool_t *p, uid_t uid)
{
    return papi_fake_server_start(p, NULL, uid, listen_only, NULL);
}

/* Against this kernel's own tables: a listener of another user is refused before connecting,
 * and once connected, the other end of the very connection is found and its owner told. */
static void both_checks_on_real_sockets(void **state)
{
    apr_pool_t *p = *state;
    uid_t other = getuid() == 0 ? 65534 : getuid();
    papi_fake_server listener = listen_as(p, other);
    apr_port_t port = listener.port;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    papi_tcp_check c[2];
    int fd, i;

    c[0] = check_of("127.0.0.1", port, other);
    c[1] = check_of("127.0.0.1", port, 12345);
    papi_tcp_check_listeners(p, NULL, c, 2);
    assert_null(c[0].why);
    assert_non_null(strstr(c[1].why, apr_psprintf(p, "belongs to uid %lu", (unsigned long)other)));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_port = htons(port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    for (i = 0; i < 2; i++) {
        c[i].local_ip = a.sin_addr;
        c[i].local_port = ntohs(a.sin_port);
    }
    /* Not yet accepted: it waits in the listener's queue, with the listener's uid. */
    papi_tcp_check_peers(p, NULL, c, 2);
    assert_true(c[0].found && c[1].found);
    assert_null(c[0].why);
    assert_non_null(strstr(c[1].why, apr_psprintf(p, "taken by a socket of uid %lu",
                                                  (unsigned long)other)));
    close(fd);
    papi_fake_server_stop(p, &listener);
    /* Gone: nothing listens there any more. */
    papi_tcp_check_listeners(p, NULL, c, 1);
    assert_false(c[0].found);
    assert_non_null(strstr(c[0].why, "nothing listens"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAPI_TEST(lines_are_read_right),
        PAPI_TEST(malformed_lines_are_no_entries),
        PAPI_TEST(tables_read_in_any_pieces),
        PAPI_TEST(listener_check_on_crafted_tables),
        PAPI_TEST(both_checks_on_real_sockets),
    };

    return cmocka_run_group_tests_name("tcptable", tests, papi_test_apr_init, papi_test_apr_term);
}
