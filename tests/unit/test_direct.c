/* Requests straight to a process: finding it, its HTTP socket (loopback TCP only), the path it may
 * be sent, the headers that go and come back, the request text, and the connect password never
 * coming back. Plus health.json's verdict. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_direct.h"
#include "papi_health.h"

#include <apr_strings.h>
#include <jansson.h>
#include <string.h>

static papi_procpool_process *process(apr_pool_t *p, apr_int64_t pid, const char *protocol,
                                      const char *address)
{
    papi_procpool_process *proc = papi_mk_process(p, pid);
    papi_procpool_socket *s;

    if (address) {
        s = apr_pcalloc(p, sizeof(*s));
        s->protocol = protocol;
        s->address = address;
        APR_ARRAY_PUSH(proc->sockets, papi_procpool_socket *) = s;
    }
    return proc;
}

static void http_socket_must_be_loopback_tcp(void **state)
{
    apr_pool_t *p = *state;
    papi_exchange x;

    assert_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.1:39543"), &x));
    assert_string_equal(x.ip, "127.0.0.1");
    assert_int_equal(x.port, 39543);
    assert_null(x.unix_path);
    assert_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.1.2.3:80"), &x));
    assert_non_null(strstr(papi_direct_socket(p, process(p, 7, "session",
                                                         "unix:/reg/apps.s/ruby.x"), &x),
                           "session protocol only"));
    assert_non_null(strstr(papi_direct_socket(p, process(p, 7, "http", "unix:/reg/x"), &x),
                           "a Unix socket"));
    /* The pool names the address: never anything but loopback. */
    assert_non_null(papi_direct_socket(p, process(p, 7, "http", "tcp://10.0.0.5:80"), &x));
    assert_non_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.1.evil:80"), &x));
    assert_non_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.256:80"), &x));
    assert_non_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.1:0"), &x));
    assert_non_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.1:65536"), &x));
    assert_non_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.1:"), &x));
    assert_non_null(strstr(papi_direct_socket(p, process(p, 7, NULL, NULL), &x), "no socket"));
}

/* Only a process alive and enabled is contacted; the reason names what pool.xml says. */
static void only_alive_and_enabled_processes_are_contacted(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool_process *proc = process(p, 7, "http", "tcp://127.0.0.1:39543");
    static const char *const states[][2] = { { "ALIVE", "DETACHED" }, { "ALIVE", "DISABLED" },
                                             { "ALIVE", "DISABLING" }, { "SHUTDOWN_TRIGGERED",
                                             "ENABLED" }, { "DEAD", "ENABLED" }, { NULL, NULL } };
    size_t i;

    proc->life_status = "ALIVE";
    proc->enabled = "ENABLED";
    assert_null(papi_direct_contact_error(p, proc));
    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        const char *why;
        proc->life_status = states[i][0];
        proc->enabled = states[i][1];
        why = papi_direct_contact_error(p, proc);
        assert_non_null(why);
        assert_non_null(strstr(why, states[i][0] ? states[i][0] : "(not given)"));
        assert_non_null(strstr(why, "only a process that is ALIVE and ENABLED is contacted"));
    }
}

/* The listener must be the group's user's: pool.xml's uid, or no request at all. */
static void the_group_uid_must_be_known(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool_group g = { 0 };
    papi_exchange x;

    assert_null(papi_direct_socket(p, process(p, 7, "http", "tcp://127.0.0.1:39543"), &x));
    assert_int_equal(x.check_tcp_owner, 0);
    g.uid = 65534;
    assert_null(papi_direct_require_owner(p, &g, &x));
    assert_int_equal(x.check_tcp_owner, 1);
    assert_int_equal(x.owner, 65534);
    g.uid = PAPI_PROCPOOL_NONE;
    assert_non_null(strstr(papi_direct_require_owner(p, &g, &x), "gives no uid for the app group "
                                                                 "of process 7"));
    g.uid = -1;
    assert_non_null(papi_direct_require_owner(p, &g, &x));
    g.uid = 4294967295LL;
    assert_non_null(papi_direct_require_owner(p, &g, &x));
}

static void targets(void **state)
{
    static const char *const good[] = { "/", "/echo?a=1&b=%20x", "/a/b;c=d/~e@f:g" };
    static const char *const bad[] = { "echo", "/a b", "/a\r\nX: y", "/a#frag", "/%zz", "/%4",
                                       "/\xc3\xa9" };

    PAPI_TEST_CHECK_VALUES(papi_direct_target_error, good, bad);
}

static void request_text_and_headers(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *headers = apr_array_make(p, 4, sizeof(papi_http_header));
    papi_direct_request req = { "GET", "/echo?a=1", headers, "SeCrEtKeY1234567", NULL, 0 };
    papi_exchange x;
    char *text;

    APR_ARRAY_PUSH(headers, papi_http_header) = (papi_http_header){ "Cookie", "s=1" };
    APR_ARRAY_PUSH(headers, papi_http_header) = (papi_http_header){ "authorization", "Basic x" };
    APR_ARRAY_PUSH(headers, papi_http_header) = (papi_http_header){ "accept", "text/plain" };
    APR_ARRAY_PUSH(headers, papi_http_header) = (papi_http_header){ "X-Passenger-Connect-Password",
                                                                    "forged" };
    papi_exchange_tcp(&x, "127.0.0.1", 8080);
    papi_direct_request_text(p, &req, &x);
    text = apr_pstrmemdup(p, x.request, x.request_len);
    assert_string_equal(text, "GET /echo?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                              "Connection: close\r\nX-Passenger-Connect-Password: SeCrEtKeY1234567\r\n"
                              "accept: text/plain\r\n\r\n");
    assert_int_equal(x.head, 0);
    /* A body goes with its length; none goes without one (Passenger's Ruby loader would wait). */
    req = (papi_direct_request){ "POST", "/", NULL, "k", "{}", 2 };
    papi_direct_request_text(p, &req, &x);
    assert_non_null(strstr(apr_pstrmemdup(p, x.request, x.request_len),
                           "Content-Length: 2\r\n\r\n{}"));
    req = (papi_direct_request){ "DELETE", "/", NULL, "k", NULL, 0 };
    papi_direct_request_text(p, &req, &x);
    assert_null(strstr(apr_pstrmemdup(p, x.request, x.request_len), "Content-Length"));
    req = (papi_direct_request){ "HEAD", "/", NULL, "k", NULL, 0 };
    papi_direct_request_text(p, &req, &x);
    assert_int_equal(x.head, 1);
    assert_false(papi_direct_header_relayed("Set-Cookie"));
    assert_false(papi_direct_header_relayed("Location"));
    assert_true(papi_direct_header_relayed("etag"));
}

static void find_by_pid(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool *procpool = papi_mk_procpool(p, NULL);
    papi_procpool_group *group = papi_mk_group(p, NULL);
    papi_instance inst = { .name = "AbCd1234", .state = PAPI_INST_GOOD };
    apr_array_header_t *views = apr_array_make(p, 2, sizeof(papi_view));
    papi_direct_target t;

    APR_ARRAY_PUSH(group->processes, papi_procpool_process *) = process(p, 11, NULL, NULL);
    APR_ARRAY_PUSH(group->processes, papi_procpool_process *) = process(p, 12, NULL, NULL);
    APR_ARRAY_PUSH(procpool->groups, papi_procpool_group *) = group;
    papi_mk_view(views, &inst, 502, "down", NULL);
    papi_mk_view(views, &inst, 200, NULL, procpool);
    assert_true(papi_direct_find(views, 12, &t));
    assert_int_equal(t.proc->pid, 12);
    assert_ptr_equal(t.group, group);
    assert_false(papi_direct_find(views, 13, &t));
}

static void health_verdict(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool_group group = { .name = "/srv/a (production)" };
    papi_instance inst = { .name = "AbCd1234", .state = PAPI_INST_GOOD };
    papi_instance stale = { .name = "Old12345", .state = PAPI_INST_STALE };
    apr_array_header_t *views = apr_array_make(p, 2, sizeof(papi_view));
    apr_array_header_t *probes = apr_array_make(p, 3, sizeof(papi_probe));
    papi_buf *b = papi_buf_make(p, 256);
    json_error_t err;
    json_t *j;

    papi_mk_view(views, &inst, 200, NULL, NULL);
    papi_mk_view(views, &stale, 0, NULL, NULL);
    *(papi_probe *)apr_array_push(probes) = (papi_probe){ &APR_ARRAY_IDX(views, 0, papi_view),
        &group, process(p, 1, NULL, NULL), NULL, 200, 1, 1500, NULL, 51000, 103000 };
    *(papi_probe *)apr_array_push(probes) = (papi_probe){ &APR_ARRAY_IDX(views, 0, papi_view),
        &group, process(p, 2, NULL, NULL), "no HTTP socket", 0, 0, 0, NULL, -1, -1 };
    /* Unreachable processes do not make the host unhealthy. */
    assert_int_equal(papi_health_write(b, views, probes, "/"), 200);
    j = json_loadb(b->data, b->len, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "healthy");
    assert_int_equal(json_integer_value(json_object_get(j, "unreachable")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "instances")), 1);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "processes"), 1),
                                             "healthy")));
    /* What the probe cost each process, in kB; null when /proc did not tell. */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
                     "processes"), 0), "rss_before_kb")), 51000);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
                     "processes"), 0), "rss_after_kb")), 103000);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "processes"), 1),
                                             "rss_after_kb")));
    json_decref(j);
    /* One failing probe, or one instance not read, makes it 503. */
    *(papi_probe *)apr_array_push(probes) = (papi_probe){ &APR_ARRAY_IDX(views, 0, papi_view),
        &group, process(p, 3, NULL, NULL), NULL, 0, 0, 1000000, "deadline passed", -1, -1 };
    assert_int_equal(papi_health_write(papi_buf_make(p, 256), views, probes, "/"), 503);
    apr_array_pop(probes);
    APR_ARRAY_IDX(views, 0, papi_view).status = 504;
    assert_int_equal(papi_health_write(papi_buf_make(p, 256), views, probes, "/"), 503);
}

PAPI_TEST_MAIN(
    PAPI_TEST(http_socket_must_be_loopback_tcp),
    PAPI_TEST(only_alive_and_enabled_processes_are_contacted),
    PAPI_TEST(the_group_uid_must_be_known),
    PAPI_TEST(targets),
    PAPI_TEST(request_text_and_headers),
    PAPI_TEST(find_by_pid),
    PAPI_TEST(health_verdict))
