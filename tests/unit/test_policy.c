/* What each access mode lets through, and the anti-forgery rule for writes. */
#include "papi_test.h"
#include "papi_policy.h"

#include <string.h>

static papi_verdict decide(papi_access mode, const char *method, const char *path, const char *query)
{
    papi_verdict v;

    papi_policy_decide(mode, method, path, query, &v);
    return v;
}

static void readonly_allows_reads_with_ro_admin_and_scrubs(void **state)
{
    static const char *const reads[] = { "/ping.json", "/info.json", "/pool.txt", "/pool.xml",
                                         "/server.json", "/backtraces.txt", "/unknown.json" };
    size_t i;

    for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        papi_verdict v = decide(PAPI_ACCESS_READONLY, i % 2 ? "HEAD" : "GET", reads[i], "verbose=true");
        assert_int_equal(v.status, 0);
        assert_int_equal(v.level, PAPI_CRED_RO);
        assert_true(v.redact);
        assert_false(v.write);
    }
}

static void readonly_refuses_writes_secrets_and_other_methods(void **state)
{
    static const char *const refused[] = { "/pool.json", "/config.json", "/server/1-1" };
    static const char *const methods[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH" };
    size_t i;

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        papi_verdict v = decide(PAPI_ACCESS_READONLY, "GET", refused[i], NULL);
        if (v.status != 403)
            fail_msg("%s: %d", refused[i], v.status);
        assert_non_null(v.why);
    }
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        assert_int_equal(decide(PAPI_ACCESS_READONLY, methods[i], "/ping.json", NULL).status, 403);
    assert_int_equal(decide(PAPI_ACCESS_READONLY, "GET", "/pool.xml", "secrets=true").status, 403);
    assert_int_equal(decide(PAPI_ACCESS_READONLY, "GET", "/pool.xml", "a=1&secrets=false").status, 403);
    assert_int_equal(decide(PAPI_ACCESS_READONLY, "GET", "/pool.xml", "nosecrets=true").status, 0);
}

/* A GET or HEAD to a write endpoint is never sent, in either mode: each instance's answer is
 * the 405 Passenger gives it. A write to one is still a write. */
static void reads_of_write_endpoints_are_known_405s(void **state)
{
    static const char *const writes[] = { "/shutdown.json", "/gc.json", "/reopen_logs.json",
                                          "/reinherit_logs.json", "/pool/restart_app_group.json",
                                          "/pool/detach_process.json", "/server/1-1.json" };
    size_t i;
    int full;

    for (full = 0; full < 2; full++)
        for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
            papi_access mode = full ? PAPI_ACCESS_FULL : PAPI_ACCESS_READONLY;
            papi_verdict v = decide(mode, i % 2 ? "HEAD" : "GET", writes[i], NULL);
            if (v.status != 0 || !v.known_405)
                fail_msg("%s: %d %d", writes[i], v.status, v.known_405);
            assert_false(v.write);
            assert_int_equal(v.level, PAPI_CRED_RO);
            v = decide(mode, "POST", writes[i], NULL);
            assert_false(v.known_405);
            assert_int_equal(v.status, full ? 0 : 403);
        }
    assert_false(decide(PAPI_ACCESS_FULL, "GET", "/config.json", NULL).known_405);
    assert_false(decide(PAPI_ACCESS_READONLY, "GET", "/pool.txt", NULL).known_405);
    assert_false(decide(PAPI_ACCESS_READONLY, "GET", "/server.json", NULL).known_405);
    assert_false(decide(PAPI_ACCESS_READONLY, "GET", "/server/.json", NULL).known_405);
}

static void full_forwards_writes_with_admin(void **state)
{
    papi_verdict v = decide(PAPI_ACCESS_FULL, "POST", "/pool/restart_app_group.json", NULL);

    assert_int_equal(v.status, 0);
    assert_true(v.write);
    assert_int_equal(v.level, PAPI_CRED_FULL);
    assert_false(v.redact);
    v = decide(PAPI_ACCESS_FULL, "GET", "/pool.json", "secrets=true");
    assert_int_equal(v.status, 0);
    assert_int_equal(v.level, PAPI_CRED_RO);
    assert_false(v.write);
    assert_int_equal(decide(PAPI_ACCESS_FULL, "DELETE", "/server/1-1.json", NULL).status, 0);
    assert_int_equal(decide(PAPI_ACCESS_FULL, "PUT", "/config.json", NULL).status, 0);
    assert_int_equal(decide(PAPI_ACCESS_FULL, "OPTIONS", "/ping.json", NULL).status, 405);
    assert_int_equal(decide(PAPI_ACCESS_FULL, "PATCH", "/config.json", NULL).status, 405);
}

static void forgery_rule(void **state)
{
    papi_own_names names = { "localhost", NULL, NULL, NULL, "127.0.0.1", "http", { 8642, 0 } };
    const papi_own_names *own = &names;

    assert_null(papi_policy_forgery("POST", "application/json", NULL, NULL, own));
    assert_null(papi_policy_forgery("POST", "Application/JSON; charset=utf-8",
                                    "http://127.0.0.1:8642", "same-origin", own));
    assert_null(papi_policy_forgery("DELETE", NULL, NULL, NULL, own));
    assert_null(papi_policy_forgery("PUT", "application/json", NULL, "none", own));
    /* What an HTML form can send. */
    assert_non_null(papi_policy_forgery("POST", "application/x-www-form-urlencoded", NULL, NULL, own));
    assert_non_null(papi_policy_forgery("POST", "text/plain", NULL, NULL, own));
    assert_non_null(papi_policy_forgery("POST", "multipart/form-data; boundary=x", NULL, NULL, own));
    assert_non_null(papi_policy_forgery("POST", NULL, NULL, NULL, own));
    assert_non_null(papi_policy_forgery("POST", "application/jsonx", NULL, NULL, own));
    assert_non_null(papi_policy_forgery("POST", "application/json x", NULL, NULL, own));
    assert_null(papi_policy_forgery("POST", "application/json ; charset=utf-8", NULL, NULL, own));
    /* Another origin, or another site, whatever the content type. */
    assert_non_null(papi_policy_forgery("POST", "application/json", "http://evil.example", NULL, own));
    assert_non_null(papi_policy_forgery("DELETE", NULL, "http://127.0.0.1:8643", NULL, own));
    assert_non_null(papi_policy_forgery("DELETE", NULL, NULL, "cross-site", own));
    assert_non_null(papi_policy_forgery("PUT", "application/json", NULL, "same-site", own));
}

static void direct_requests_to_processes(void **state)
{
    papi_verdict v;

    papi_policy_direct(PAPI_ACCESS_READONLY, "GET", 0, &v);
    assert_int_equal(v.status, 0);
    assert_false(v.write);
    papi_policy_direct(PAPI_ACCESS_READONLY, "HEAD", 0, &v);
    assert_int_equal(v.status, 0);
    papi_policy_direct(PAPI_ACCESS_READONLY, "POST", 0, &v);
    assert_int_equal(v.status, 403);
    papi_policy_direct(PAPI_ACCESS_READONLY, "OPTIONS", 0, &v);
    assert_int_equal(v.status, 403);
    /* A read in read-only mode carries nothing for the process to act on. */
    papi_policy_direct(PAPI_ACCESS_READONLY, "GET", 1, &v);
    assert_int_equal(v.status, 403);
    assert_non_null(strstr(v.why, "no body"));
    papi_policy_direct(PAPI_ACCESS_FULL, "GET", 1, &v);
    assert_int_equal(v.status, 0);
    papi_policy_direct(PAPI_ACCESS_FULL, "DELETE", 0, &v);
    assert_int_equal(v.status, 0);
    assert_true(v.write);
    papi_policy_direct(PAPI_ACCESS_FULL, "PATCH", 0, &v);
    assert_int_equal(v.status, 405);
}

PAPI_TEST_MAIN(
    PAPI_TEST(readonly_allows_reads_with_ro_admin_and_scrubs),
    PAPI_TEST(readonly_refuses_writes_secrets_and_other_methods),
    PAPI_TEST(reads_of_write_endpoints_are_known_405s),
    PAPI_TEST(full_forwards_writes_with_admin),
    PAPI_TEST(forgery_rule),
    PAPI_TEST(direct_requests_to_processes))
