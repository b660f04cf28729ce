/* The core client against forked AF_UNIX servers: the request it builds, deadlines, broken answers,
 * and a listener of the wrong uid, which must never receive the password. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_fakeserver.h"
#include "papi_core.h"

#include <sys/stat.h>

typedef enum { SERVE_ANSWER, SERVE_HANG, SERVE_CLOSE, SERVE_GARBAGE } serve_mode;

static const char canned[] = "HTTP/1.1 200 OK\r\nStatus: 200 OK\r\nContent-Type: application/json\r\n"
                             "Connection: keep-alive\r\nContent-Length: 18\r\n\r\n{ \"status\": \"ok\" }";

/* One connection: reports what it received, then answers as *mode says. */
static void serve_one(int lfd, int report, void *mode_)
{
    serve_mode mode = *(serve_mode *)mode_;
    int fd = accept(lfd, NULL, NULL);
    char buf[4096];
    ssize_t n;

    if (mode == SERVE_CLOSE)
        return;
    n = recv(fd, buf, sizeof(buf), 0);
    (void)!write(report, buf, n > 0 ? (size_t)n : 0);
    close(report);
    if (mode == SERVE_HANG)
        pause();
    if (mode == SERVE_GARBAGE)
        (void)!write(fd, "SSH-2.0-OpenSSH\r\n\r\n", 19);
    else
        (void)!write(fd, canned, sizeof(canned) - 1);
}

/* Forks a server for one connection on dir/core_api, listening as uid. */
static papi_fake_server start_server(apr_pool_t *p, const char *dir, serve_mode mode, uid_t uid)
{
    /* The child serves while this frame is still there. */
    return papi_fake_server_start(p, apr_pstrcat(p, dir, "/core_api", NULL), uid, serve_one, &mode);
}

static const papi_core_request ping = { "GET", "/ping.json?verbose=true", "ro_admin", "pw", NULL, NULL, 0, NULL };

static void answer_and_request_shape(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p), *got;
    papi_fake_server s = start_server(p, dir, SERVE_ANSWER, 0);
    papi_exchange_result res;

    papi_core_call(p, s.path, 0, &ping, apr_time_now() + apr_time_from_sec(5), NULL, &res);
    assert_int_equal(res.failure, 0);
    assert_int_equal(res.resp->status, 200);
    assert_string_equal(res.resp->body, "{ \"status\": \"ok\" }");
    got = papi_fake_server_received(p, &s);
    assert_non_null(strstr(got, "GET /ping.json?verbose=true HTTP/1.1\r\n"));
    /* base64("ro_admin:pw") */
    assert_non_null(strstr(got, "\r\nAuthorization: Basic cm9fYWRtaW46cHc=\r\n"));
    /* Keep-alive: the connection may carry the next request. */
    assert_null(strstr(got, "Connection:"));
    assert_non_null(strstr(got, "\r\n\r\n"));
    assert_null(strstr(got, "Content-Length"));
    papi_fake_server_stop(p, &s);
    papi_fx_remove(p, dir);
}

static void body_is_framed(void **state)
{
    apr_pool_t *p = *state;
    papi_core_request req = { "POST", "/pool/detach_process.json", NULL, NULL, NULL, "{\"pid\":1}", 9, NULL };
    apr_size_t len;
    const char *text = papi_core_request_text(p, &req, &len);

    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "Content-Type: application/json\r\nContent-Length: 9\r\n"));
    assert_non_null(strstr(text, "\r\n\r\n{\"pid\":1}"));
    assert_null(strstr(text, "Authorization"));
}

static void hang_is_504_by_the_deadline(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    papi_fake_server s = start_server(p, dir, SERVE_HANG, 0);
    apr_time_t start = apr_time_now();
    papi_exchange_result res;

    papi_core_call(p, s.path, 0, &ping, start + apr_time_from_msec(300), NULL, &res);
    assert_int_equal(res.failure, 504);
    assert_true(apr_time_now() - start < apr_time_from_sec(2));
    papi_fake_server_stop(p, &s);
    papi_fx_remove(p, dir);
}

static void close_and_garbage_are_502(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    papi_fake_server s = start_server(p, dir, SERVE_CLOSE, 0);
    papi_exchange_result res;

    papi_core_call(p, s.path, 0, &ping, apr_time_now() + apr_time_from_sec(5), NULL, &res);
    assert_int_equal(res.failure, 502);
    papi_fake_server_stop(p, &s);
    unlink(s.path);
    s = start_server(p, dir, SERVE_GARBAGE, 0);
    papi_core_call(p, s.path, 0, &ping, apr_time_now() + apr_time_from_sec(5), NULL, &res);
    assert_int_equal(res.failure, 502);
    assert_non_null(strstr(res.error, "bad answer"));
    papi_fake_server_stop(p, &s);
    papi_fx_remove(p, dir);
}

/* An impostor listening on an instance's socket gets nothing, not even the request line. */
static void wrong_listener_gets_no_password(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = papi_fx_tempdir(p);
    papi_fake_server s;
    papi_exchange_result res;

    chmod(dir, 0777);
    s = start_server(p, dir, SERVE_ANSWER, 65534);
    papi_core_call(p, s.path, 12345, &ping, apr_time_now() + apr_time_from_sec(5), NULL, &res);
    papi_fake_server_stop(p, &s);   /* so the report pipe closes even though nothing came */
    assert_int_equal(res.failure, 502);
    assert_non_null(strstr(res.error, "uid 65534"));
    assert_string_equal(papi_fake_server_received(p, &s), "");
    papi_fx_remove(p, dir);
}

static void missing_or_too_long_socket(void **state)
{
    apr_pool_t *p = *state;
    papi_exchange_result res;
    char longpath[200];

    papi_core_call(p, "/nonexistent/papi/core_api", 0, &ping, apr_time_now() + apr_time_from_sec(1),
                   NULL, &res);
    assert_int_equal(res.failure, 502);
    assert_non_null(strstr(res.error, "connecting"));
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    papi_core_call(p, longpath, 0, &ping, apr_time_now() + apr_time_from_sec(1), NULL, &res);
    assert_int_equal(res.failure, 502);
}

PAPI_TEST_MAIN(
    PAPI_TEST(answer_and_request_shape),
    PAPI_TEST(body_is_framed),
    PAPI_TEST(hang_is_504_by_the_deadline),
    PAPI_TEST(close_and_garbage_are_502),
    PAPI_TEST(wrong_listener_gets_no_password),
    PAPI_TEST(missing_or_too_long_socket))
