/* The requests in flight from a real 6.0.17 core's server.json (two app requests sleeping, one
 * with a query), longest-running first, their process from the session; read-only mode's
 * scrubbed answer reads the same, query hidden; what is not such an answer is refused. */
#include "papi_test.h"
#include "papi_inflight.h"
#include "papi_redact.h"

#define REQ(i) (&APR_ARRAY_IDX(reqs, i, papi_inflight))

static void reads_a_real_cores_requests(void **state)
{
    apr_pool_t *p = *state;
    const char *body = papi_test_sample_body(p, "core_GET_server.json_in_flight.http");
    apr_array_header_t *reqs;
    int total;

    assert_null(papi_inflight_parse(p, body, strlen(body), &reqs, &total));
    assert_int_equal(total, 2);
    assert_int_equal(reqs->nelts, 2);
    assert_string_equal(REQ(0)->method, "GET");
    assert_string_equal(REQ(0)->path, "/sleep?ms=2500&token=SECRET123");
    assert_int_equal(REQ(0)->pid, 13119);
    assert_true(REQ(0)->age > apr_time_from_msec(1600) && REQ(0)->age < apr_time_from_msec(1620));
    assert_true(REQ(0)->started_at > apr_time_from_sec(1795000000));
    assert_string_equal(REQ(1)->path, "/sleep?ms=2000");
    assert_int_equal(REQ(1)->pid, 13229);
    assert_true(REQ(1)->age < REQ(0)->age);
    assert_int_equal(papi_inflight_count(reqs, 13119), 1);
    assert_int_equal(papi_inflight_count(reqs, 1), 0);
    assert_int_equal(papi_inflight_count(NULL, 1), 0);
}

static void read_only_paths_come_scrubbed(void **state)
{
    apr_pool_t *p = *state;
    const char *body = papi_test_sample_body(p, "core_GET_server.json_in_flight.http");
    apr_size_t len;
    apr_array_header_t *reqs;
    int total;

    body = papi_redact(p, "/server.json", body, strlen(body), &len);
    assert_null(papi_inflight_parse(p, body, len, &reqs, &total));
    assert_string_equal(REQ(0)->path, "/sleep?" PAPI_REDACTED);
    assert_string_equal(REQ(1)->path, "/sleep?" PAPI_REDACTED);
}

static void an_idle_core_has_none(void **state)
{
    apr_pool_t *p = *state;
    const char *body = papi_test_sample_body(p, "core_GET_server.json.http");
    apr_array_header_t *reqs;
    int total;

    assert_null(papi_inflight_parse(p, body, strlen(body), &reqs, &total));
    assert_int_equal(reqs->nelts, 0);
    assert_int_equal(total, 0);
}

static void no_process_yet_and_no_start(void **state)
{
    apr_pool_t *p = *state;
    static const char body[] =
        "{\"threads\":1,\"thread1\":{\"active_clients\":{"
        "\"1-1\":{\"current_request\":{\"method\":\"POST\",\"path\":\"/a\"}},"
        "\"1-2\":{\"current_request\":null},"
        "\"1-3\":{\"current_request\":{\"method\":\"GET\",\"path\":\"/b\",\"session\":{\"closed\":true},"
        "\"started_at\":{\"timestamp\":100.5,\"relative_timestamp\":-2.0}}}}}}";
    apr_array_header_t *reqs;
    int total;

    assert_null(papi_inflight_parse(p, body, sizeof(body) - 1, &reqs, &total));
    assert_int_equal(reqs->nelts, 2);
    assert_string_equal(REQ(0)->path, "/b");
    assert_int_equal(REQ(0)->pid, 0);
    assert_true(REQ(0)->age == apr_time_from_sec(2));
    assert_true(REQ(0)->started_at == 100500000);
    /* Unknown age: last. */
    assert_string_equal(REQ(1)->path, "/a");
    assert_true(REQ(1)->age == -1 && REQ(1)->started_at == 0);
}

static void refuses_what_is_not_server_json(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"thread1\":[]}",
        "{\"thread1\":{\"active_clients\":[]}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":7}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":\"x\"}}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"path\":\"/\"}}}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"method\":1,\"path\":\"/\"}}}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"method\":\"GET\","
            "\"path\":\"/\",\"session\":{\"pid\":-4}}}}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"method\":\"GET\","
            "\"path\":\"/\",\"session\":{\"pid\":\"4\"}}}}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"method\":\"GET\","
            "\"path\":\"/\",\"started_at\":{\"timestamp\":1}}}}}}",
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"method\":\"GET\","
            "\"path\":\"/\",\"started_at\":{\"timestamp\":1e300,\"relative_timestamp\":0}}}}}}",
        "{\"thread1\":{},\"thread1\":{}}",
    };
    apr_array_header_t *reqs;
    size_t i;
    int total;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (!papi_inflight_parse(*state, bad[i], strlen(bad[i]), &reqs, &total))
            fail_msg("accepted: %s", bad[i]);
}

/* Of more than PAPI_INFLIGHT_MAX, the longest-running are kept, and all are counted. */
static void the_longest_running_kept(void **state)
{
    apr_pool_t *p = *state;
    const char *body = "{\"threads\":1,\"thread1\":{\"active_clients\":{";
    apr_array_header_t *reqs;
    int i, total;

    for (i = 0; i < PAPI_INFLIGHT_MAX + 200; i++)
        body = apr_psprintf(p, "%s%s\"1-%d\":{\"current_request\":{\"method\":\"GET\",\"path\":"
                            "\"/%d\",\"started_at\":{\"timestamp\":1000,\"relative_timestamp\":-%d}}}",
                            body, i ? "," : "", i, i, i);
    body = apr_pstrcat(p, body, "}}}", NULL);
    assert_null(papi_inflight_parse(p, body, strlen(body), &reqs, &total));
    assert_int_equal(total, PAPI_INFLIGHT_MAX + 200);
    assert_int_equal(reqs->nelts, PAPI_INFLIGHT_MAX);
    assert_string_equal(REQ(0)->path, apr_psprintf(p, "/%d", PAPI_INFLIGHT_MAX + 199));
    assert_string_equal(REQ(PAPI_INFLIGHT_MAX - 1)->path, "/200");
}

/* A path of raw bytes that are not UTF-8, as a client may send it and the core writes it: the
 * answer is still read, those bytes as U+FFFD. */
static void a_path_that_is_not_utf8(void **state)
{
    apr_pool_t *p = *state;
    static const char body[] =
        "{\"thread1\":{\"active_clients\":{\"1-1\":{\"current_request\":{\"method\":\"GET\","
        "\"path\":\"/caf\xE9/\xC3\xA9\xFF\"}}}}}";
    apr_array_header_t *reqs;
    int total;

    assert_null(papi_inflight_parse(p, body, sizeof(body) - 1, &reqs, &total));
    assert_int_equal(total, 1);
    assert_string_equal(REQ(0)->path, "/caf\xEF\xBF\xBD/\xC3\xA9\xEF\xBF\xBD");
}

PAPI_TEST_MAIN(
    PAPI_TEST(reads_a_real_cores_requests),
    PAPI_TEST(read_only_paths_come_scrubbed),
    PAPI_TEST(an_idle_core_has_none),
    PAPI_TEST(no_process_yet_and_no_start),
    PAPI_TEST(refuses_what_is_not_server_json),
    PAPI_TEST(the_longest_running_kept),
    PAPI_TEST(a_path_that_is_not_utf8))
