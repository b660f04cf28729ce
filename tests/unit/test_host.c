/* The server's own names against DNS rebinding: which Host values and Origins are the server's,
 * and which names PassengerApiAllowedHost takes. */
#include "papi_test.h"
#include "papi_host.h"
#include "papi_policy.h"

static apr_array_header_t *list(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *arr = apr_array_make(p, 2, sizeof(const char *));

    if (a)
        APR_ARRAY_PUSH(arr, const char *) = a;
    if (b)
        APR_ARRAY_PUSH(arr, const char *) = b;
    return arr;
}

/* A server named admin.example (alias ops.example, *.fleet.example), reached on 127.0.0.1:8642,
 * with PassengerApiAllowedHost monitor.example. */
static papi_own_names server(apr_pool_t *p)
{
    papi_own_names own = { "admin.example", list(p, "ops.example", NULL),
                           list(p, "*.fleet.example", NULL), list(p, "monitor.example", NULL),
                           "127.0.0.1", "http", { 8642, 0 } };

    return own;
}

static void host_values_are_parsed(void **state)
{
    papi_host_port hp;

    assert_true(papi_host_parse("Example.COM.:8080", 17, &hp));
    assert_int_equal(hp.len, 11);
    assert_memory_equal(hp.host, "Example.COM", 11);
    assert_int_equal(hp.port, 8080);
    assert_true(papi_host_parse("[::1]:80", 8, &hp));
    assert_true(hp.ipv6);
    assert_int_equal(hp.len, 3);
    assert_int_equal(hp.port, 80);
    assert_true(papi_host_parse("127.0.0.1", 9, &hp));
    assert_int_equal(hp.port, 0);
    assert_true(papi_host_parse("localhost:", 10, &hp));
}

static void bad_host_values_are_refused(void **state)
{
    static const char *const bad[] = {
        "", ".", "a..", "evil.example/x", "a b", "host:99999", "host:8x", "[::1", "[]", "[::1]x",
        "user@host",
    };
    papi_host_port hp;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (papi_host_parse(bad[i], strlen(bad[i]), &hp))
            fail_msg("Host \"%s\" was taken", bad[i]);
}

static void own_names_pass_others_get_a_reason(void **state)
{
    apr_pool_t *p = *state;
    papi_own_names own = server(p);
    static const char *const mine[] = {
        "admin.example", "ADMIN.Example:8642", "admin.example.", "admin.example.:80",
        "ops.example", "node7.fleet.example", "monitor.example:1", "localhost", "LOCALHOST.:8642",
        "127.0.0.1", "127.0.0.1:8642"
    };
    static const char *const others[] = {
        "evil.example", "evil.example:8642", "admin.example.evil.example", "fleet.example",
        "127.0.0.2", "[::1]", "localhost.evil.example", "dmin.example", "admin.exampl"
    };
    const char *why;
    size_t i;

    for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
        if ((why = papi_host_error(p, &own, mine[i])) != NULL)
            fail_msg("%s: %s", mine[i], why);
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (!papi_host_error(p, &own, others[i]))
            fail_msg("%s taken as the server's own", others[i]);
    why = papi_host_error(p, &own, "evil.example:8642");
    assert_non_null(strstr(why, "'evil.example' is not one of this server's names"));
    assert_non_null(strstr(papi_host_error(p, &own, "a/b"), "not a host name"));
    /* HTTP/1.0 without Host: nothing to rebind. */
    assert_null(papi_host_error(p, &own, NULL));
}

static void ipv6_listener_is_compared_as_an_address(void **state)
{
    apr_pool_t *p = *state;
    papi_own_names own = server(p);

    own.listener_ip = "::1";
    assert_null(papi_host_error(p, &own, "[::1]:8642"));
    assert_null(papi_host_error(p, &own, "[0:0:0:0:0:0:0:1]"));
    assert_non_null(papi_host_error(p, &own, "[::2]"));
    assert_non_null(papi_host_error(p, &own, "127.0.0.1"));
    own.server_name = NULL;
    own.aliases = own.wild = own.allowed = NULL;
    assert_null(papi_host_error(p, &own, "localhost"));
    assert_non_null(papi_host_error(p, &own, "admin.example"));
}

static void origins_need_name_scheme_and_port(void **state)
{
    apr_pool_t *p = *state;
    papi_own_names own = server(p);

    assert_true(papi_origin_is_own(&own, "http://127.0.0.1:8642"));
    assert_true(papi_origin_is_own(&own, "HTTP://Admin.Example:8642"));
    assert_true(papi_origin_is_own(&own, "http://localhost:8642"));
    /* The rebinding page: its name, whatever the Host it sent. */
    assert_false(papi_origin_is_own(&own, "http://evil.example:8642"));
    assert_false(papi_origin_is_own(&own, "http://evil.example"));
    /* Another service on the same name (another port or scheme) is another origin. */
    assert_false(papi_origin_is_own(&own, "http://localhost:9999"));
    assert_false(papi_origin_is_own(&own, "http://localhost"));
    assert_false(papi_origin_is_own(&own, "https://localhost:8642"));
    assert_false(papi_origin_is_own(&own, "null"));
    assert_false(papi_origin_is_own(&own, "http://localhost:8642/"));
    assert_false(papi_origin_is_own(&own, ""));
    /* Default ports: ServerName's port, or the scheme's. */
    own.ports[1] = 80;
    assert_true(papi_origin_is_own(&own, "http://admin.example"));
    own.scheme = "https";
    own.ports[1] = 443;
    assert_true(papi_origin_is_own(&own, "https://admin.example"));
    assert_false(papi_origin_is_own(&own, "http://admin.example"));
}

/* The anti-forgery rule takes the server's names, never the request's Host: the rebinding page
 * sends Host, Origin and Sec-Fetch-Site that all agree with each other. */
static void forgery_rule_uses_own_names(void **state)
{
    apr_pool_t *p = *state;
    papi_own_names own = server(p);

    assert_non_null(papi_policy_forgery("PUT", "application/json", "http://evil.example",
                                        "same-origin", &own));
    assert_null(papi_policy_forgery("PUT", "application/json", "http://localhost:8642",
                                    "same-origin", &own));
    assert_null(papi_policy_foreign(NULL, NULL, &own));
    assert_null(papi_policy_foreign(NULL, "none", &own));
    assert_non_null(papi_policy_foreign(NULL, "cross-site", &own));
    assert_non_null(papi_policy_foreign(NULL, "same-site", &own));
    assert_non_null(papi_policy_foreign("http://evil.example", NULL, &own));
}

static void allowed_host_names_are_checked(void **state)
{
    static const char *const good[] = { "admin.example", "admin.example.", "localhost", "10.0.0.5",
                                        "[::1]", "[fe80::1]", "under_score.example" };
    static const char *const bad[] = { "", "admin.example:80", "*.example", "a/b", "::1", "[::1",
                                       "[zz::1]", "[::1]:80", "host:", "a b", ".example" };

    PAPI_TEST_CHECK_VALUES(papi_host_name_error, good, bad);
}

PAPI_TEST_MAIN(
    PAPI_TEST(host_values_are_parsed),
    PAPI_TEST(bad_host_values_are_refused),
    PAPI_TEST(own_names_pass_others_get_a_reason),
    PAPI_TEST(ipv6_listener_is_compared_as_an_address),
    PAPI_TEST(origins_need_name_scheme_and_port),
    PAPI_TEST(forgery_rule_uses_own_names),
    PAPI_TEST(allowed_host_names_are_checked))
