/* The JSON answers: PassengerAPI's element shape, headers as it capitalises them, and the body as
 * a JSON string whatever bytes the core sent. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_answer.h"

#include <jansson.h>
#include <string.h>

static papi_instance *instance(apr_pool_t *p)
{
    papi_instance *inst = papi_mk_instance(p, "/reg", "passenger.AbC1234", PAPI_INST_GOOD,
                                           "UKbNs4kX",
                                           "{\"instance_dir\":{\"created_at\":1,\"major_version\":4,"
                                           "\"minor_version\":0},\"name\":\"UKbNs4kX\","
                                           "\"watchdog_pid\":7}");

    inst->core_pid = 3399;
    return inst;
}

static json_t *parse(const papi_buf *b)
{
    json_error_t err;
    json_t *j = json_loadb(b->data, b->len, 0, &err);

    if (!j)
        fail_msg("not JSON (%s): %s", err.text, b->data);
    return j;
}

static void element_from_core_answer(void **state)
{
    apr_pool_t *p = *state;
    papi_instance *inst = instance(p);
    papi_http_response resp = { 1, 200, "OK", apr_array_make(p, 4, sizeof(papi_http_header)),
                                "{ \"status\": \"ok\" }\x01\xff", 20 };
    papi_exchange_result res = { 0, NULL, &resp };
    papi_buf *b = papi_buf_make(p, 16);
    json_t *j;

    APR_ARRAY_PUSH(resp.headers, papi_http_header) = (papi_http_header){ "content-TYPE", "application/json" };
    APR_ARRAY_PUSH(resp.headers, papi_http_header) = (papi_http_header){ "x-a", "1" };
    APR_ARRAY_PUSH(resp.headers, papi_http_header) = (papi_http_header){ "X-A", "2" };
    papi_answer_element(b, p, inst, &res);
    j = parse(b);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "header"), "Content-Type")),
                        "application/json");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "header"), "X-A")), "1, 2");
    assert_string_equal(json_string_value(json_object_get(j, "body")),
                        "{ \"status\": \"ok\" }\x01\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "instance"),
                        "instance_dir"), "path")), "/reg/passenger.AbC1234");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "instance"), "core_pid")), 3399);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "instance"), "state")), "good");
    /* The instance's own properties are not changed by answering. */
    assert_null(json_object_get(json_object_get(inst->properties, "instance_dir"), "path"));
    json_decref(j);
}

static void element_for_failure(void **state)
{
    apr_pool_t *p = *state;
    papi_instance *inst = instance(p);
    papi_exchange_result res = { 504, "deadline passed while reading the answer", NULL };
    papi_buf *b = papi_buf_make(p, 16);
    json_t *j;

    papi_answer_element(b, p, inst, &res);
    j = parse(b);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 504);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "deadline passed while reading the answer");
    assert_string_equal(json_string_value(json_object_get(j, "body")), "");
    json_decref(j);
}

static void instances_list_reasons(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *list = apr_array_make(p, 2, sizeof(papi_instance *));
    papi_instance *good = instance(p), *bad = apr_pcalloc(p, sizeof(*bad));
    papi_buf *b = papi_buf_make(p, 16);
    json_t *j;

    bad->path = "/tmp/passenger.Evil123";
    bad->state = PAPI_INST_UNTRUSTED;
    bad->reason = "owned by uid 1000, which is not a trusted owner";
    APR_ARRAY_PUSH(list, papi_instance *) = good;
    APR_ARRAY_PUSH(list, papi_instance *) = bad;
    papi_answer_instances(b, list);
    j = parse(b);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "name")), "UKbNs4kX");
    assert_null(json_object_get(json_array_get(j, 0), "reason"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "state")), "untrusted");
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(j, 1), "reason")), "uid 1000"));
    assert_null(json_object_get(json_array_get(j, 1), "core_pid"));
    json_decref(j);
}

/* A registry's entries beyond the bound: one element with the counts, in the same shape. */
static void summary_element(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *list = apr_array_make(p, 1, sizeof(papi_instance *));
    papi_instance *summary = apr_pcalloc(p, sizeof(*summary));
    papi_buf *b = papi_buf_make(p, 16);
    json_t *j, *e;

    summary->registry = summary->path = "/tmp";
    summary->state = PAPI_INST_UNTRUSTED;
    summary->reason = "19937 more passenger.* entries";
    summary->more_untrusted = 19930;
    summary->more_uninspected = 7;
    APR_ARRAY_PUSH(list, papi_instance *) = summary;
    papi_answer_instances(b, list);
    j = parse(b);
    e = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "instance_dir"), "path")),
                        "/tmp");
    assert_string_equal(json_string_value(json_object_get(e, "state")), "omitted");
    assert_int_equal(json_integer_value(json_object_get(e, "omitted")), 19937);
    assert_int_equal(json_integer_value(json_object_get(e, "untrusted")), 19930);
    assert_int_equal(json_integer_value(json_object_get(e, "not_inspected")), 7);
    assert_non_null(strstr(json_string_value(json_object_get(e, "reason")), "19937 more"));
    json_decref(j);
}

PAPI_TEST_MAIN(
    PAPI_TEST(element_from_core_answer),
    PAPI_TEST(element_for_failure),
    PAPI_TEST(instances_list_reasons),
    PAPI_TEST(summary_element))
