/* The exchange engine against forked servers on Unix and TCP sockets: many at once cost one
 * deadline, each failure stays with its own exchange (refused, garbage, early close, hung, too
 * large, wrong listener), requests are wiped, and large requests go out as the socket takes them. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_fakeserver.h"
#include "papi_exchange.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

typedef enum {
    FAKE_ANSWER,    /* reads the request, waits delay_ms, answers */
    FAKE_HANG,      /* reads the request, never answers */
    FAKE_CLOSE,     /* accepts and closes at once */
    FAKE_GARBAGE,   /* reads the request, answers with non-HTTP bytes */
    FAKE_DEAF       /* accepts, never reads */
} fake_mode;

typedef struct fake_spec {
    fake_mode mode;
    int delay_ms;
    const char *body;       /* FAKE_ANSWER: the 200's body */
    apr_size_t expect;      /* read this many bytes before answering (0: up to the blank line) */
    uid_t uid;              /* listen as this uid (0: as we are) */
} fake_spec;

/* Its report: the first bytes the server received. */
typedef papi_fake_server fake;

/* Reads the request as the spec says; returns how much of it fits in buf. */
static size_t fake_read_request(int fd, const fake_spec *s, char *buf, size_t size)
{
    size_t kept = 0, total = 0;
    char chunk[65536];
    ssize_t n;

    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
        size_t take = kept + (size_t)n < size ? (size_t)n : size - kept;
        memcpy(buf + kept, chunk, take);
        kept += take;
        total += (size_t)n;
        if (s->expect ? total >= s->expect : memmem(buf, kept, "\r\n\r\n", 4) != NULL)
            break;
    }
    return kept;
}

static void fake_serve(apr_pool_t *p, int lfd, const fake_spec *s, int report)
{
    int fd = accept(lfd, NULL, NULL);
    char buf[4096];
    size_t got;
    const char *answer;

    if (s->mode == FAKE_CLOSE)
        _exit(0);
    if (s->mode == FAKE_DEAF)
        pause();
    got = fake_read_request(fd, s, buf, sizeof(buf));
    (void)!write(report, buf, got);
    close(report);
    if (s->mode == FAKE_HANG)
        pause();
    usleep((useconds_t)s->delay_ms * 1000);
    answer = s->mode == FAKE_GARBAGE ? "SSH-2.0-OpenSSH\r\n\r\n"
        : apr_psprintf(p, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                       "%" APR_SIZE_T_FMT "\r\n\r\n%s", strlen(s->body), s->body);
    (void)!write(fd, answer, strlen(answer));
    _exit(0);
}

typedef struct fake_run {
    apr_pool_t *p;
    const fake_spec *spec;
} fake_run;

static void fake_run_spec(int lfd, int report, void *run)
{
    fake_serve(((fake_run *)run)->p, lfd, ((fake_run *)run)->spec, report);
}

/* Forks a server for one connection on dir/name (or on TCP when dir is NULL). */
static fake fake_start(apr_pool_t *p, const char *dir, const char *name, fake_spec s)
{
    fake_run run = { p, &s };

    return papi_fake_server_start(p, dir ? apr_pstrcat(p, dir, "/", name, NULL) : NULL, s.uid,
                                  fake_run_spec, &run);
}

/* What the server received (reading ends when it closed its end). */
static const char *received(apr_pool_t *p, const fake *f)
{
    return papi_fake_server_received(p, f);
}

/* Killed now; reaped with the test's pool. */
static void fake_stop(fake *f)
{
    kill(f->pid, SIGKILL);
}

static char *request_text(apr_pool_t *p, const char *method, const char *path, apr_size_t *len)
{
    char *text = apr_psprintf(p, "%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic "
                              "cm9fYWRtaW46cHc=\r\nConnection: close\r\n\r\n", method, path);

    *len = strlen(text);
    return text;
}

/* An exchange with fake f as its target, owned by uid 0. */
static void to_fake(apr_pool_t *p, papi_exchange *x, const fake *f, apr_time_t deadline)
{
    if (f->path)
        papi_exchange_unix(x, f->path, 0);
    else
        papi_exchange_tcp(x, "127.0.0.1", f->port);
    x->peer = "the core";
    x->request = request_text(p, "GET", "/ping.json", &x->request_len);
    x->deadline = deadline;
}

/* Succeeded, or the test fails showing why not. */
static void assert_answered(const papi_exchange *x)
{
    if (x->res.failure)
        print_error("exchange failed: %d %s\n", x->res.failure, x->res.error);
    assert_int_equal(x->res.failure, 0);
}

static int all_zero(const char *s, apr_size_t len)
{
    while (len--)
        if (*s++)
            return 0;
    return 1;
}

/* Seven servers at different delays and one that never answers, a 1 s deadline for each: the
 * whole run takes about one deadline (one after the other would take about 2.8 s). */
static void many_at_once_cost_one_deadline(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    static const int delays[] = { 0, 100, 200, 300, 500, 700, 0, 400 };
    enum { N = 8, HUNG = 6, OVER_TCP = 7 };
    fake f[N];
    papi_exchange xs[N];
    apr_time_t start, took;
    int i;

    for (i = 0; i < N; i++) {
        fake_spec s = { i == HUNG ? FAKE_HANG : FAKE_ANSWER, delays[i],
                        apr_psprintf(p, "{\"n\":%d}", i), 0, 0 };
        f[i] = fake_start(p, i == OVER_TCP ? NULL : dir, apr_psprintf(p, "s%d", i), s);
    }
    start = apr_time_now();
    for (i = 0; i < N; i++)
        to_fake(p, &xs[i], &f[i], start + apr_time_from_sec(1));
    papi_exchange_run(p, xs, N);
    took = apr_time_now() - start;
    print_message("%d exchanges, one hung, 1 s deadline: %" APR_TIME_T_FMT " ms\n", N,
                  apr_time_as_msec(took));
    assert_true(took > apr_time_from_msec(900));
    assert_true(took < apr_time_from_msec(1900));
    for (i = 0; i < N; i++) {
        if (i == HUNG) {
            assert_int_equal(xs[i].res.failure, 504);
            assert_non_null(strstr(xs[i].res.error, "deadline passed while reading the answer"));
            assert_null(xs[i].res.resp);
            continue;
        }
        assert_answered(&xs[i]);
        assert_int_equal(xs[i].res.resp->status, 200);
        assert_string_equal(xs[i].res.resp->body, apr_psprintf(p, "{\"n\":%d}", i));
        /* Each answer ended when it came, not when the slowest did. */
        assert_true(xs[i].elapsed < apr_time_from_msec(delays[i] + 400));
        assert_true(xs[i].elapsed >= apr_time_from_msec(delays[i]));
        assert_non_null(strstr(received(p, &f[i]), "GET /ping.json HTTP/1.1\r\n"));
    }
    for (i = 0; i < N; i++) {
        assert_true(all_zero(xs[i].request, xs[i].request_len));
        fake_stop(&f[i]);
    }
    papi_fx_remove(p, dir);
}

/* A TCP target on 127.0.0.1, with HEAD: the answer has no body whatever Content-Length says. */
static void tcp_target_and_head(void **state)
{
    apr_pool_t *p = *state;
    fake_spec s = { FAKE_ANSWER, 0, "{ \"status\": \"ok\" }", 0, 0 };
    fake f = fake_start(p, NULL, NULL, s);
    papi_exchange x;

    to_fake(p, &x, &f, apr_time_now() + apr_time_from_sec(5));
    x.request = request_text(p, "HEAD", "/ping.json", &x.request_len);
    x.head = 1;
    papi_exchange_run(p, &x, 1);
    assert_answered(&x);
    assert_int_equal(x.res.resp->status, 200);
    assert_int_equal(x.res.resp->body_len, 0);
    assert_string_equal(papi_http_header_get(x.res.resp, "Content-Length"), "18");
    assert_non_null(strstr(received(p, &f), "HEAD /ping.json HTTP/1.1\r\n"));
    fake_stop(&f);
}

/* An impostor listening on an instance's socket gets nothing, not even the request line, while
 * the genuine one in the same run answers. */
static void wrong_listener_gets_nothing(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    fake_spec good = { FAKE_ANSWER, 0, "{}", 0, 0 }, impostor = { FAKE_ANSWER, 0, "{}", 0, 65534 };
    fake f[2];
    papi_exchange xs[2];
    int i;

    chmod(dir, 0777);
    f[0] = fake_start(p, dir, "good", good);
    f[1] = fake_start(p, dir, "impostor", impostor);
    for (i = 0; i < 2; i++) {
        to_fake(p, &xs[i], &f[i], apr_time_now() + apr_time_from_sec(5));
        xs[i].owner = 12345;
    }
    xs[0].owner = 0;
    papi_exchange_run(p, xs, 2);
    kill(f[1].pid, SIGKILL);   /* so the report pipe closes even though nothing came */
    assert_answered(&xs[0]);
    assert_int_equal(xs[1].res.failure, 502);
    assert_string_equal(xs[1].res.error, "the core socket is served by uid 65534, not by the "
                                         "instance's owner (uid 12345): not sending credentials");
    assert_string_equal(received(p, &f[1]), "");
    assert_true(all_zero(xs[1].request, xs[1].request_len));
    for (i = 0; i < 2; i++)
        fake_stop(&f[i]);
    papi_fx_remove(p, dir);
}

/* A TCP listener of another user (a port a process left behind, bound by someone else) gets no
 * connection and no byte with check_tcp_owner, while the owner's own listener in the same run
 * answers; without the check both would have been sent the request. */
static void tcp_listener_of_another_user_gets_nothing(void **state)
{
    apr_pool_t *p = *state;
    uid_t other = getuid() == 0 ? 65534 : getuid();
    fake_spec good = { FAKE_ANSWER, 0, "{}", 0, 0 }, impostor = { FAKE_ANSWER, 0, "{}", 0, other };
    fake f[2] = { fake_start(p, NULL, NULL, good), fake_start(p, NULL, NULL, impostor) };
    papi_exchange xs[2];
    int i;

    for (i = 0; i < 2; i++) {
        to_fake(p, &xs[i], &f[i], apr_time_now() + apr_time_from_sec(5));
        xs[i].peer = "process 7";
        xs[i].check_tcp_owner = 1;
        xs[i].owner = getuid() == 0 ? 12345 : getuid() + 1;
    }
    xs[0].owner = getuid();
    papi_exchange_run(p, xs, 2);
    kill(f[1].pid, SIGKILL);   /* so the report pipe closes even though nothing came */
    assert_answered(&xs[0]);
    assert_int_equal(xs[1].res.failure, 502);
    assert_non_null(strstr(xs[1].res.error, apr_psprintf(p, "the listener on 127.0.0.1:%u belongs "
                                                         "to uid %lu", (unsigned)f[1].port,
                                                         (unsigned long)other)));
    assert_string_equal(received(p, &f[1]), "");
    assert_true(all_zero(xs[1].request, xs[1].request_len));
    for (i = 0; i < 2; i++)
        fake_stop(&f[i]);
}

/* Refused (Unix and TCP), garbage, a close before any answer, an answer too large, a bad
 * address, a deadline already passed: each a failure of its own, all in one run. */
static void failures_stay_with_their_exchange(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *unbound = apr_pstrcat(p, dir, "/refused", NULL);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t inlen = sizeof(in);
    int ufd = socket(AF_UNIX, SOCK_STREAM, 0), tfd = socket(AF_INET, SOCK_STREAM, 0);
    fake_spec garbage = { FAKE_GARBAGE, 0, NULL, 0, 0 }, early = { FAKE_CLOSE, 0, NULL, 0, 0 },
              big = { FAKE_ANSWER, 0, "0123456789abcdef", 0, 0 }, fine = { FAKE_ANSWER, 0, "{}", 0, 0 };
    fake f[4] = { fake_start(p, dir, "garbage", garbage), fake_start(p, dir, "early", early),
                  fake_start(p, dir, "big", big), fake_start(p, NULL, NULL, fine) };
    papi_http_limits small = papi_http_default_limits;
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(5);
    papi_exchange xs[9];
    int i;

    /* A Unix socket bound with no listener, and a TCP port nobody listens on: refused. */
    strcpy(addr.sun_path, unbound);
    assert_int_equal(bind(ufd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(bind(tfd, (struct sockaddr *)&in, sizeof(in)), 0);
    assert_int_equal(getsockname(tfd, (struct sockaddr *)&in, &inlen), 0);
    close(tfd);
    small.max_body = 10;
    for (i = 0; i < 4; i++)
        to_fake(p, &xs[i], &f[i], deadline);
    xs[2].limits = &small;
    to_fake(p, &xs[4], &(fake){ unbound, 0, 0, -1 }, deadline);
    to_fake(p, &xs[5], &(fake){ NULL, ntohs(in.sin_port), 0, -1 }, deadline);
    to_fake(p, &xs[6], &(fake){ NULL, 1, 0, -1 }, deadline);
    xs[6].ip = "localhost";                 /* never resolved */
    to_fake(p, &xs[7], &(fake){ "/nonexistent/papi/core_api", 0, 0, -1 }, deadline);
    to_fake(p, &xs[8], &f[3], apr_time_now() - 1);
    xs[8].peer = NULL;

    papi_exchange_run(p, xs, 9);
    assert_int_equal(xs[0].res.failure, 502);
    assert_non_null(strstr(xs[0].res.error, "bad answer"));
    assert_int_equal(xs[1].res.failure, 502);   /* reset, or closed before the answer */
    print_message("closed early: %s\n", xs[1].res.error);
    assert_int_equal(xs[2].res.failure, 502);
    assert_non_null(strstr(xs[2].res.error, "answer too large"));
    assert_non_null(strstr(xs[2].res.error, "10 bytes of body"));
    assert_answered(&xs[3]);     /* the good one among them */
    for (i = 4; i < 6; i++) {
        assert_int_equal(xs[i].res.failure, 502);
        assert_string_equal(xs[i].res.error, "connecting to the core failed: Connection refused");
    }
    assert_int_equal(xs[6].res.failure, 502);
    assert_non_null(strstr(xs[6].res.error, "connecting to the core failed"));
    assert_int_equal(xs[7].res.failure, 502);
    assert_non_null(strstr(xs[7].res.error, "No such file or directory"));
    assert_int_equal(xs[8].res.failure, 504);
    assert_non_null(strstr(xs[8].res.error, "deadline passed while connecting to the server"));
    for (i = 0; i < 9; i++)
        assert_true(all_zero(xs[i].request, xs[i].request_len));
    close(ufd);
    for (i = 0; i < 4; i++)
        fake_stop(&f[i]);
    papi_fx_remove(p, dir);
}

/* A request larger than the socket takes at once goes out as it drains; one nobody reads ends at
 * its deadline while being sent. */
static void large_requests_are_sent_as_the_socket_drains(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    apr_size_t size = 4 * 1024 * 1024;
    fake_spec slow_reader = { FAKE_ANSWER, 0, "{\"got\":true}", size, 0 },
              deaf = { FAKE_DEAF, 0, NULL, 0, 0 };
    fake f[2] = { fake_start(p, dir, "reader", slow_reader), fake_start(p, dir, "deaf", deaf) };
    papi_exchange xs[2];
    apr_time_t start = apr_time_now();
    int i;

    for (i = 0; i < 2; i++) {
        to_fake(p, &xs[i], &f[i], start + apr_time_from_msec(1500));
        xs[i].request = apr_palloc(p, size);
        xs[i].request_len = size;
        memset(xs[i].request, 'x', size);
        memcpy(xs[i].request, "PUT /x HTTP/1.1\r\n", 17);
    }
    papi_exchange_run(p, xs, 2);
    assert_answered(&xs[0]);
    assert_string_equal(xs[0].res.resp->body, "{\"got\":true}");
    assert_int_equal(xs[1].res.failure, 504);
    assert_non_null(strstr(xs[1].res.error, "deadline passed while sending the request"));
    assert_true(apr_time_now() - start < apr_time_from_msec(1500 + 1000));
    for (i = 0; i < 2; i++) {
        assert_true(all_zero(xs[i].request, xs[i].request_len));
        fake_stop(&f[i]);
    }
    papi_fx_remove(p, dir);
}

/* ---- keep-alive ---- */

typedef struct keeper_spec {
    int per_connection;     /* requests answered on a connection before closing it (0: any) */
    const char *header;     /* an extra header line, e.g. "Connection: close\r\n" */
    const char *trailer;    /* bytes sent after each answer */
    const char *preface;    /* bytes sent before each answer, on their own (e.g. a 100 Continue) */
    const char *late;       /* bytes sent on their own once the answer is out (stale bytes) */
} keeper_spec;

/* Sends s on its own: a pause before and after, so the reader gets it in a read of its own. */
static void send_alone(int fd, const char *s)
{
    usleep(20 * 1000);
    (void)!write(fd, s, strlen(s));
    usleep(20 * 1000);
}

/* Answers one connection after another, each request with "conn <c> req <r>". */
static void keeper_serve(int lfd, int report, void *spec)
{
    keeper_spec s = *(const keeper_spec *)spec;
    int conn_no = 0;

    for (;;) {
        int fd = accept(lfd, NULL, NULL), req_no = 0;
        char buf[4096];
        size_t got = 0;
        ssize_t n;
        conn_no++;
        while ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
            char *end;
            got += (size_t)n;
            buf[got] = '\0';
            while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
                char body[64], answer[512];
                snprintf(body, sizeof(body), "conn %d req %d", conn_no, ++req_no);
                if (s.preface)
                    send_alone(fd, s.preface);
                snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                         "%s\r\n%s%s", strlen(body), s.header ? s.header : "", body,
                         s.trailer ? s.trailer : "");
                (void)!write(fd, answer, strlen(answer));
                if (s.late)
                    send_alone(fd, s.late);
                got -= (size_t)(end + 4 - buf);
                memmove(buf, end + 4, got + 1);
            }
            if (s.per_connection && req_no >= s.per_connection)
                break;
        }
        close(fd);
    }
}

/* A server on dir/name answering one connection after another, each request with
 * "conn <c> req <r>", so a test sees which connection carried it. */
static pid_t keeper_start(apr_pool_t *p, const char *path, keeper_spec s)
{
    return papi_fake_server_start(p, path, 0, keeper_serve, &s).pid;
}

/* One GET to the keeper at path, keeping the connection, on reuse_fd if >= 0. */
static void keeper_get(apr_pool_t *p, papi_exchange *x, const char *path, int reuse_fd)
{
    papi_exchange_unix(x, path, 0);
    x->request = apr_pstrdup(p, "GET /ping.json HTTP/1.1\r\nHost: localhost\r\n\r\n");
    x->request_len = strlen(x->request);
    x->deadline = apr_time_now() + apr_time_from_sec(5);
    x->keep_alive = 1;
    x->reuse_fd = reuse_fd;
    papi_exchange_run(p, x, 1);
    assert_answered(x);
}

/* Starts a keeper at path and asks it once: the connection it kept, open. */
static int keeper_first(apr_pool_t *p, const char *path, keeper_spec s)
{
    papi_exchange x;

    keeper_start(p, path, s);
    keeper_get(p, &x, path, -1);
    assert_string_equal(x.res.resp->body, "conn 1 req 1");
    assert_true(x.kept_fd >= 0);
    return x.kept_fd;
}

/* 1: fd is closed at the other end (or here). */
static int peer_closed(int fd)
{
    char c;

    return recv(fd, &c, 1, MSG_DONTWAIT) == 0 || errno == EBADF;
}

/* A kept connection carries the next request; a connection is handed back only when the answer
 * allows it. */
static void kept_connection_carries_the_next_request(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *path = apr_pstrcat(p, dir, "/core", NULL);
    keeper_spec plain = { 0, NULL, NULL, NULL, NULL };
    papi_exchange x;
    int fd;

    keeper_start(p, path, plain);
    keeper_get(p, &x, path, -1);
    assert_string_equal(x.res.resp->body, "conn 1 req 1");
    assert_true(x.kept_fd >= 0);
    assert_true(all_zero(x.request, x.request_len));
    fd = x.kept_fd;
    keeper_get(p, &x, path, fd);
    assert_string_equal(x.res.resp->body, "conn 1 req 2");
    assert_int_equal(x.kept_fd, fd);
    /* Without keep_alive the connection is closed, however the answer ends. */
    papi_exchange_unix(&x, path, 0);
    x.request = apr_pstrdup(p, "GET / HTTP/1.1\r\n\r\n");
    x.request_len = strlen(x.request);
    x.deadline = apr_time_now() + apr_time_from_sec(5);
    x.reuse_fd = fd;
    papi_exchange_run(p, &x, 1);
    assert_string_equal(x.res.resp->body, "conn 1 req 3");
    assert_int_equal(x.kept_fd, -1);
    papi_fx_remove(p, dir);
}

static void answers_that_end_the_connection_are_not_kept(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    keeper_spec closing = { 0, "Connection: close\r\n", NULL, NULL, NULL };
    keeper_spec chatty = { 0, NULL, "HTTP/1.1", NULL, NULL };
    const char *a = apr_pstrcat(p, dir, "/closing", NULL), *b = apr_pstrcat(p, dir, "/chatty", NULL);
    papi_exchange x;

    keeper_start(p, a, closing);
    keeper_start(p, b, chatty);
    keeper_get(p, &x, a, -1);
    assert_int_equal(x.kept_fd, -1);
    /* Bytes after the answer: the connection is out of step. */
    keeper_get(p, &x, b, -1);
    assert_string_equal(x.res.resp->body, "conn 1 req 1");
    assert_int_equal(x.kept_fd, -1);
    papi_fx_remove(p, dir);
}

/* A 100 Continue before the answer: the answer is the final one, and the connection, on which
 * the peer said more than it was asked, is not kept. */
static void interim_answer_is_skipped_and_its_connection_not_kept(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *path = apr_pstrcat(p, dir, "/core", NULL);
    keeper_spec continues = { 0, NULL, NULL, "HTTP/1.1 100 Continue\r\n\r\n", NULL };
    papi_exchange x;

    keeper_start(p, path, continues);
    keeper_get(p, &x, path, -1);
    assert_int_equal(x.res.resp->status, 200);
    assert_string_equal(x.res.resp->body, "conn 1 req 1");
    assert_int_equal(x.kept_fd, -1);
    keeper_get(p, &x, path, -1);
    assert_string_equal(x.res.resp->body, "conn 2 req 1");
    papi_fx_remove(p, dir);
}

/* A 101 is refused with the reason, and nothing is kept. */
static void switching_protocols_is_a_bad_answer(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *path = apr_pstrcat(p, dir, "/core", NULL);
    keeper_spec upgrades = { 0, NULL, NULL,
                             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", NULL };
    papi_exchange x;

    keeper_start(p, path, upgrades);
    papi_exchange_unix(&x, path, 0);
    x.request = apr_pstrdup(p, "GET /ping.json HTTP/1.1\r\nHost: localhost\r\n\r\n");
    x.request_len = strlen(x.request);
    x.deadline = apr_time_now() + apr_time_from_sec(5);
    x.keep_alive = 1;
    papi_exchange_run(p, &x, 1);
    assert_int_equal(x.res.failure, 502);
    assert_non_null(strstr(x.res.error, "101 Switching Protocols refused"));
    assert_int_equal(x.kept_fd, -1);
    papi_fx_remove(p, dir);
}

/* Bytes that arrive on a kept connection while it is idle are never read as the next answer:
 * that connection is closed and the request goes on a new one. */
static void stale_bytes_on_a_kept_connection_are_never_an_answer(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *path = apr_pstrcat(p, dir, "/core", NULL);
    keeper_spec late = { 0, NULL, NULL, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale" };
    papi_exchange x;
    int fd = keeper_first(p, path, late);

    usleep(100 * 1000);
    keeper_get(p, &x, path, fd);
    assert_string_equal(x.res.resp->body, "conn 2 req 1");
    if (x.kept_fd >= 0)
        close(x.kept_fd);
    papi_fx_remove(p, dir);
}

/* The peer closed the kept connection while it was idle: the request goes once more, on a new
 * connection, and nobody sees a failure. */
static void dead_kept_connection_is_replaced_once(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *path = apr_pstrcat(p, dir, "/core", NULL);
    keeper_spec one_each = { 1, NULL, NULL, NULL, NULL };
    fake_spec closer = { FAKE_CLOSE, 0, NULL, 0, 0 };
    papi_exchange x;
    fake f;
    int fd, pair[2];

    fd = keeper_first(p, path, one_each);
    usleep(50 * 1000);
    assert_true(peer_closed(fd));
    keeper_get(p, &x, path, fd);
    assert_string_equal(x.res.resp->body, "conn 2 req 1");
    if (x.kept_fd >= 0)
        close(x.kept_fd);
    /* Once only: when the new connection fails too (however it fails), that is the answer. */
    f = fake_start(p, dir, "closer", closer);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    close(pair[1]);
    papi_exchange_unix(&x, f.path, 0);
    x.request = apr_pstrdup(p, "GET / HTTP/1.1\r\n\r\n");
    x.request_len = strlen(x.request);
    x.deadline = apr_time_now() + apr_time_from_sec(5);
    x.keep_alive = 1;
    x.reuse_fd = pair[0];
    papi_exchange_run(p, &x, 1);
    assert_int_equal(x.res.failure, 502);
    /* The fake accepts one connection and is gone: a second try would not even connect. */
    assert_null(strstr(x.res.error, "connecting"));
    assert_int_equal(x.kept_fd, -1);
    assert_int_equal(fcntl(pair[0], F_GETFD), -1);
    fake_stop(&f);
    papi_fx_remove(p, dir);
}

/* At most at_once exchanges in flight: four answers of 300 ms each, two at a time, come in two
 * waves; two hung ones hold both slots until the deadline, and the third, still queued then,
 * fails with a 504 without connecting. */
static void at_once_bounds_the_connections(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    enum { N = 4 };
    fake f[N + 3];
    papi_exchange xs[N], hung[3];
    apr_time_t start;
    int i, late = 0;

    for (i = 0; i < N; i++)
        f[i] = fake_start(p, dir, apr_psprintf(p, "w%d", i),
                          (fake_spec){ FAKE_ANSWER, 300, "{}", 0, 0 });
    start = apr_time_now();
    for (i = 0; i < N; i++)
        to_fake(p, &xs[i], &f[i], start + apr_time_from_sec(5));
    papi_exchange_run_some(p, xs, N, 2);
    for (i = 0; i < N; i++) {
        assert_answered(&xs[i]);
        late += xs[i].elapsed >= apr_time_from_msec(580);
    }
    assert_int_equal(late, 2);
    for (i = 0; i < 3; i++)
        f[N + i] = fake_start(p, dir, apr_psprintf(p, "h%d", i),
                              (fake_spec){ i < 2 ? FAKE_HANG : FAKE_ANSWER, 0, "{}", 0, 0 });
    start = apr_time_now();
    for (i = 0; i < 3; i++)
        to_fake(p, &hung[i], &f[N + i], start + apr_time_from_msec(300));
    papi_exchange_run_some(p, hung, 3, 2);
    assert_true(apr_time_now() - start < apr_time_from_msec(1500));
    for (i = 0; i < 3; i++)
        assert_int_equal(hung[i].res.failure, 504);
    assert_non_null(strstr(hung[2].res.error, "connecting"));
    for (i = 0; i < N + 3; i++)
        fake_stop(&f[i]);
    papi_fx_remove(p, dir);
}

static void nothing_to_run(void **state)
{
    papi_exchange_run(*state, NULL, 0);
}

PAPI_TEST_MAIN(
    PAPI_TEST(many_at_once_cost_one_deadline),
    PAPI_TEST(tcp_target_and_head),
    PAPI_TEST(wrong_listener_gets_nothing),
    PAPI_TEST(tcp_listener_of_another_user_gets_nothing),
    PAPI_TEST(failures_stay_with_their_exchange),
    PAPI_TEST(large_requests_are_sent_as_the_socket_drains),
    PAPI_TEST(kept_connection_carries_the_next_request),
    PAPI_TEST(answers_that_end_the_connection_are_not_kept),
    PAPI_TEST(interim_answer_is_skipped_and_its_connection_not_kept),
    PAPI_TEST(switching_protocols_is_a_bad_answer),
    PAPI_TEST(stale_bytes_on_a_kept_connection_are_never_an_answer),
    PAPI_TEST(dead_kept_connection_is_replaced_once),
    PAPI_TEST(at_once_bounds_the_connections),
    PAPI_TEST(nothing_to_run))
