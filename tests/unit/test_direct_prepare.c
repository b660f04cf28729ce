/* Calling one application process, shared by /processes/<pid>/ and health.json: each check in
 * order with the status it calls for, and once they hold, the request with the group's connect
 * password, the limits and the deadline. */
#include "papi_test.h"
#include "papi_direct.h"

#define T_DEADLINE apr_time_from_sec(12345)

typedef struct target {
    papi_procpool_group group;
    papi_procpool_process proc;
    papi_procpool_socket socket;
} target;

/* A process pool.xml shows alive and enabled on a loopback HTTP socket, of uid 1000's group. */
static target *good_target(apr_pool_t *p)
{
    target *t = apr_pcalloc(p, sizeof(*t));

    t->socket.protocol = "http";
    t->socket.address = "tcp://127.0.0.1:39543";
    t->proc.pid = 4242;
    t->proc.life_status = "ALIVE";
    t->proc.enabled = "ENABLED";
    t->proc.sockets = apr_array_make(p, 1, sizeof(papi_procpool_socket *));
    APR_ARRAY_PUSH(t->proc.sockets, papi_procpool_socket *) = &t->socket;
    t->group.uid = 1000;
    t->group.api_key = "ConnectPassword0123";
    return t;
}

static const papi_direct_request probe = { "GET", "/health?deep=1", NULL, NULL, NULL, 0 };

static const char *prepare(apr_pool_t *p, const target *t, papi_exchange *x, int *status)
{
    return papi_direct_prepare(p, &t->group, &t->proc, &probe, &papi_http_default_limits,
                               T_DEADLINE, x, status);
}

static void a_good_process_gets_the_request_with_its_password(void **state)
{
    apr_pool_t *p = *state;
    target *t = good_target(p);
    papi_exchange x;
    int status = -1;
    const char *text;

    assert_null(prepare(p, t, &x, &status));
    assert_int_equal(status, 0);
    assert_string_equal(x.ip, "127.0.0.1");
    assert_int_equal(x.port, 39543);
    assert_true(x.check_tcp_owner);
    assert_int_equal(x.owner, 1000);
    assert_ptr_equal(x.limits, &papi_http_default_limits);
    assert_true(x.deadline == T_DEADLINE);
    text = apr_pstrmemdup(p, x.request, x.request_len);
    assert_non_null(strstr(text, "GET /health?deep=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(text, "\r\nX-Passenger-Connect-Password: ConnectPassword0123\r\n"));
}

/* What spoils a good target. */
static void detached(target *t)
{
    t->proc.enabled = "DETACHED";
}

static void on_a_unix_socket(target *t)
{
    t->socket.address = "unix:/reg/apps.s/x";
}

static void without_uid(target *t)
{
    t->group.uid = PAPI_PROCPOOL_NONE;
}

static void without_password(target *t)
{
    t->group.api_key = NULL;
}

/* A process not alive and enabled is a 503, one without a reachable socket a 501, a group without
 * uid or connect password a 502; each refusal says why. */
static void a_refusal_has_its_status_and_says_why(void **state)
{
    static const struct {
        void (*spoil)(target *t);
        const char *why;
        int status;
    } cases[] = {
        { detached, "ALIVE and ENABLED", 503 },
        { on_a_unix_socket, "a Unix socket", 501 },
        { without_uid, "no uid", 502 },
        { without_password, "no connect password", 502 },
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        target *t = good_target(p);
        papi_exchange x;
        int status = -1;
        const char *why;

        cases[i].spoil(t);
        why = prepare(p, t, &x, &status);
        if (!why || !strstr(why, cases[i].why))
            fail_msg("case %d: \"%s\", not about \"%s\"", (int)i, why ? why : "(none)",
                     cases[i].why);
        assert_int_equal(status, cases[i].status);
    }
}

PAPI_TEST_MAIN(
    PAPI_TEST(a_good_process_gets_the_request_with_its_password),
    PAPI_TEST(a_refusal_has_its_status_and_says_why))
