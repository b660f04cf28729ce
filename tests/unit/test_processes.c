/* processes.json: real pool.xml captures come out as typed JSON, with no secret, and a failed
 * instance says why. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_processes.h"

#include <apr_strings.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static papi_instance *instance(apr_pool_t *p, const char *name, papi_inst_state state)
{
    papi_instance *inst = papi_mk_instance(p, "/reg", apr_pstrcat(p, "passenger.", name, NULL),
                                           state, name,
                                           apr_psprintf(p, "{\"name\":\"%s\",\"passenger_version\":"
                                                        "\"6.0.17\"}", name));

    inst->core_pid = 3399;
    return inst;
}

static apr_array_header_t *views_from_sample(apr_pool_t *p, const char *sample)
{
    apr_array_header_t *views = apr_array_make(p, 3, sizeof(papi_view));
    const char *xml = papi_test_sample_body(p, sample);
    papi_procpool *procpool;

    assert_null(papi_procpool_parse(p, xml, strlen(xml), &procpool));
    papi_mk_view(views, instance(p, "UKbNs4kX", PAPI_INST_GOOD), 200, NULL, procpool);
    papi_mk_view(views, instance(p, "Broken12", PAPI_INST_GOOD), 504, "deadline passed", NULL);
    papi_mk_view(views, instance(p, "Stale123", PAPI_INST_STALE), 0, NULL, NULL);
    return views;
}

static json_t *write_and_parse(apr_pool_t *p, const apr_array_header_t *views, papi_buf **out)
{
    papi_buf *b = papi_buf_make(p, 64);
    json_error_t err;
    json_t *j;

    /* 100 s after the sample's first process finished spawning (1795261753453248 µs). */
    papi_processes_write(b, views, 1795261853453248, NULL, 0, NULL);
    j = json_loadb(b->data, b->len, 0, &err);
    if (!j)
        fail_msg("not JSON (%s): %s", err.text, b->data);
    apr_pool_cleanup_register(p, j, papi_mk_decref, apr_pool_cleanup_null);
    if (out)
        *out = b;
    return j;
}

static void typed_pool_from_the_real_sample(void **state)
{
    apr_pool_t *p = *state;
    json_t *j = write_and_parse(p, views_from_sample(p, "core_GET_pool.xml.http"), NULL);
    json_t *procpool, *group, *procs, *first;

    /* Good instances only, failed ones included. */
    assert_int_equal(json_array_size(j), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "status")), 200);
    procpool = json_object_get(json_array_get(j, 0), "pool");
    assert_string_equal(json_string_value(json_object_get(procpool, "passenger_version")), "6.0.17");
    assert_int_equal(json_integer_value(json_object_get(procpool, "max")), 4);
    assert_int_equal(json_integer_value(json_object_get(procpool, "process_count")), 2);
    group = json_array_get(json_object_get(procpool, "app_groups"), 0);
    assert_string_equal(json_string_value(json_object_get(group, "name")),
                        "/srv/demo-app (production)");
    assert_string_equal(json_string_value(json_object_get(group, "app_root")), "/srv/demo-app");
    assert_string_equal(json_string_value(json_object_get(group, "user")), "nobody");
    assert_int_equal(json_integer_value(json_object_get(group, "uid")), 65534);
    assert_true(json_is_true(json_object_get(group, "default")));
    assert_true(json_is_false(json_object_get(group, "restarting")));
    procs = json_object_get(group, "processes");
    assert_int_equal(json_array_size(procs), 2);
    first = json_array_get(procs, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "pid")), 3576);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, 1), "pid")), 3595);
    assert_int_equal(json_integer_value(json_object_get(first, "processed")), 2);
    assert_int_equal(json_integer_value(json_object_get(first, "rss")), 15680);
    assert_int_equal(json_integer_value(json_object_get(first, "last_used")), 1795261753472372);
    assert_int_equal(json_integer_value(json_object_get(first, "uptime")), 100);
    assert_true(json_is_true(json_object_get(first, "has_metrics")));
    assert_string_equal(json_string_value(json_object_get(first, "enabled")), "ENABLED");
    /* Not in the sample: null, not a made-up value. */
    assert_true(json_is_null(json_object_get(first, "code_revision")));
}

static void failed_instance_says_why(void **state)
{
    apr_pool_t *p = *state;
    json_t *j = write_and_parse(p, views_from_sample(p, "core_GET_pool.xml.http"), NULL);
    json_t *failed = json_array_get(j, 1);

    assert_string_equal(json_string_value(json_object_get(json_object_get(failed, "instance"),
                                                          "name")), "Broken12");
    assert_int_equal(json_integer_value(json_object_get(failed, "status")), 504);
    assert_string_equal(json_string_value(json_object_get(failed, "error")), "deadline passed");
    assert_true(json_is_null(json_object_get(failed, "pool")));
}

static void no_secret_even_when_the_pool_has_them(void **state)
{
    apr_pool_t *p = *state;
    papi_buf *b;

    write_and_parse(p, views_from_sample(p, "core_GET_pool.xml_secrets_true.http"), &b);
    assert_non_null(strstr(b->data, "\"pid\":3576"));
    assert_null(strstr(b->data, "REDACTED_GROUP_API_KEY"));
    assert_null(strstr(b->data, "tcp://"));
    assert_null(strstr(b->data, "unix:"));
}

static void requests_in_flight_with_their_group_and_count(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = views_from_sample(p, "core_GET_pool.xml.http");
    apr_array_header_t *reqs = apr_array_make(p, 2, sizeof(papi_inflight));
    json_t *j, *list, *procs;

    *(papi_inflight *)apr_array_push(reqs) = (papi_inflight){ 3576, "GET", "/report?[REDACTED]",
                                                              1795261850000000, 2500000 };
    *(papi_inflight *)apr_array_push(reqs) = (papi_inflight){ 0, "POST", "/upload", 0, -1 };
    /* Before server.json is read: null, not a made-up 0. */
    j = write_and_parse(p, views, NULL);
    assert_true(json_is_null(json_object_get(json_array_get(j, 0), "requests_in_flight")));
    assert_true(json_is_null(json_object_get(json_array_get(j, 1), "requests_in_flight")));
    assert_true(json_is_null(json_object_get(json_array_get(j, 0), "requests_in_flight_total")));
    APR_ARRAY_IDX(views, 0, papi_view).inflight = reqs;
    APR_ARRAY_IDX(views, 0, papi_view).inflight_total = 1002;
    j = write_and_parse(p, views, NULL);
    list = json_object_get(json_array_get(j, 0), "requests_in_flight");
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0),
                                                        "requests_in_flight_total")), 1002);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "app_group")),
                        "/srv/demo-app (production)");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "pid")), 3576);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "path")),
                        "/report?[REDACTED]");
    assert_true(json_real_value(json_object_get(json_array_get(list, 0), "age_ms")) == 2500.0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "started_at")),
                     1795261850000000);
    /* Waiting for a process: none, and no group. */
    assert_true(json_is_null(json_object_get(json_array_get(list, 1), "app_group")));
    assert_true(json_is_null(json_object_get(json_array_get(list, 1), "pid")));
    assert_true(json_is_null(json_object_get(json_array_get(list, 1), "age_ms")));
    procs = json_object_get(json_array_get(json_object_get(json_object_get(json_array_get(j, 0),
                            "pool"), "app_groups"), 0), "processes");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, 0),
                                                        "requests_in_flight")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, 1),
                                                        "requests_in_flight")), 0);
}

/* Each process's memory of the last ten minutes, [[seconds, kB], ...] oldest first; null without
 * the table. */
static void rss_history_per_process(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = views_from_sample(p, "core_GET_pool.xml.http");
    const char *why = NULL;
    papi_rsshist *rss = papi_rsshist_create(p, 64, &why);
    apr_time_t now = 1795261853453248;
    papi_buf *b = papi_buf_make(p, 64);
    json_error_t err;
    json_t *j, *procs, *h;

    assert_non_null(rss);
    papi_rsshist_add(rss, "UKbNs4kX", 3576, now - apr_time_from_sec(10), 15000);
    papi_rsshist_add(rss, "UKbNs4kX", 3576, now, 65000);
    papi_processes_write(b, views, now, NULL, 0, rss);
    j = json_loadb(b->data, b->len, 0, &err);
    assert_non_null(j);
    apr_pool_cleanup_register(p, j, papi_mk_decref, apr_pool_cleanup_null);
    procs = json_object_get(json_array_get(json_object_get(json_object_get(json_array_get(j, 0),
                            "pool"), "app_groups"), 0), "processes");
    h = json_object_get(json_array_get(procs, 0), "rss_history");
    assert_int_equal(json_array_size(h), 2);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(h, 0), 0)),
                     apr_time_sec(now) - 10);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(h, 0), 1)), 15000);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(h, 1), 1)), 65000);
    assert_int_equal(json_array_size(json_object_get(json_array_get(procs, 1), "rss_history")), 0);
    j = write_and_parse(p, views, NULL);
    procs = json_object_get(json_array_get(json_object_get(json_object_get(json_array_get(j, 0),
                            "pool"), "app_groups"), 0), "processes");
    assert_true(json_is_null(json_object_get(json_array_get(procs, 0), "rss_history")));
}

static void no_instances_is_an_empty_array(void **state)
{
    apr_pool_t *p = *state;
    json_t *j = write_and_parse(p, apr_array_make(p, 1, sizeof(papi_view)), NULL);

    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 0);
}

PAPI_TEST_MAIN(
    PAPI_TEST(typed_pool_from_the_real_sample),
    PAPI_TEST(failed_instance_says_why),
    PAPI_TEST(no_secret_even_when_the_pool_has_them),
    PAPI_TEST(requests_in_flight_with_their_group_and_count),
    PAPI_TEST(rss_history_per_process),
    PAPI_TEST(no_instances_is_an_empty_array))
