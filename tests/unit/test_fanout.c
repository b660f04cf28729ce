/* Asking instances (papi_fanout) against fake cores: every good instance asked, with its own
 * credential, the answers in the order of the instances; one's failure never touches another's;
 * instances past the cap or the request's deadline are not asked at all. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_fakecore.h"
#include "papi_fanout.h"

#include <jansson.h>

static const uid_t root_only[] = { 0 };
static const papi_trust trust_root = { root_only, 1 };

/* A registry with good instances passenger.a000000, passenger.b000000, ... (their locks held)
 * and a stale one (passenger.zzzzzzz, no lock), in that order. */
typedef struct registry {
    const char *dir;
    apr_array_header_t *found;      /* const papi_instance * */
    int locks[4];
    int n;
} registry;

static registry make_registry(apr_pool_t *p, int good)
{
    registry reg = { papi_fx_tempdir(p), apr_array_make(p, 4, sizeof(const papi_instance *)),
                     { -1, -1, -1, -1 }, good };
    int i;

    for (i = 0; i <= good; i++) {
        const char *name = i < good ? apr_psprintf(p, "passenger.%c000000", 'a' + i)
                                    : "passenger.zzzzzzz";
        const char *dir = papi_fx_instance(p, reg.dir, name);
        if (i < good)
            reg.locks[i] = papi_fx_hold_lock(p, dir);
        APR_ARRAY_PUSH(reg.found, const papi_instance *) =
            papi_instance_inspect(p, reg.dir, name, &trust_root);
    }
    return reg;
}

static const char *instance_dir(apr_pool_t *p, const registry *reg, int i)
{
    return apr_psprintf(p, "%s/passenger.%c000000", reg->dir, 'a' + i);
}

/* A fake core for the i-th good instance, answering 200 with body. */
static papi_fake_core core(apr_pool_t *p, const registry *reg, int i, const char *type,
                           const char *body)
{
    return papi_fake_core_start(p, instance_dir(p, reg, i), papi_fake_answer(p, 200, type, body));
}

static void end_registry(apr_pool_t *p, registry *reg)
{
    int i;

    for (i = 0; i < reg->n; i++)
        close(reg->locks[i]);
    papi_fx_remove(p, reg->dir);
}

static papi_fanout_config config(papi_cred_level level)
{
    papi_fanout_config f = { apr_time_from_sec(5), apr_time_now() + apr_time_from_sec(10), 32,
                             level, 0, NULL, NULL, NULL, NULL, NULL, NULL };
    return f;
}

static const papi_core_request ping = { "GET", "/ping.json", NULL, NULL, NULL, NULL, 0, NULL };

/* An aggregate ping of a registry with `good` good instances, read-only (f may be changed before
 * the ask); its failures, and the aggregate array once asked. */
typedef struct asking {
    registry reg;
    papi_fanout_config f;
    apr_array_header_t *failures;
    json_t *array;
} asking;

static asking asking_make(apr_pool_t *p, int good)
{
    asking a = { make_registry(p, good), config(PAPI_CRED_RO),
                 apr_array_make(p, 1, sizeof(const char *)), NULL };

    return a;
}

/* The aggregate array, parsed. */
static json_t *ask(apr_pool_t *p, asking *a)
{
    papi_buf *b = papi_buf_make(p, 4096);

    papi_fanout_aggregate(b, p, &a->f, a->reg.found, &ping, a->failures);
    a->array = json_loadb(b->data, b->len, 0, NULL);
    assert_non_null(a->array);
    assert_true(json_is_array(a->array));
    return a->array;
}

static void asking_end(apr_pool_t *p, asking *a)
{
    json_decref(a->array);
    end_registry(p, &a->reg);
}

static int element_status(json_t *array, size_t i)
{
    return (int)json_integer_value(json_object_get(json_array_get(array, i), "status"));
}

static const char *element_text(json_t *array, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(array, i), key));
}

static void every_good_instance_is_asked_in_order(void **state)
{
    apr_pool_t *p = *state;
    asking t = asking_make(p, 2);
    papi_fake_core a = core(p, &t.reg, 0, "application/json", "{\"a\":1}");
    papi_fake_core b = core(p, &t.reg, 1, "application/json", "{\"b\":2}");
    json_t *array = ask(p, &t);
    const char *got;

    /* The stale instance has no element. */
    assert_int_equal(json_array_size(array), 2);
    assert_int_equal(element_status(array, 0), 200);
    assert_string_equal(element_text(array, 0, "body"), "{\"a\":1}");
    assert_int_equal(element_status(array, 1), 200);
    assert_string_equal(element_text(array, 1, "body"), "{\"b\":2}");
    assert_int_equal(t.failures->nelts, 0);
    got = papi_fake_core_stop(p, &a);
    assert_non_null(strstr(got, "GET /ping.json HTTP/1.1\r\n"));
    /* base64("ro_admin:RoPassword0123456789abcd"): the read-only credential of the fixture. */
    assert_non_null(strstr(got, "Authorization: Basic "
                                "cm9fYWRtaW46Um9QYXNzd29yZDAxMjM0NTY3ODlhYmNk\r\n"));
    assert_non_null(strstr(papi_fake_core_stop(p, &b), "GET /ping.json HTTP/1.1\r\n"));
    asking_end(p, &t);
}

static void full_access_asks_with_the_admin_credential(void **state)
{
    apr_pool_t *p = *state;
    registry reg = make_registry(p, 1);
    papi_fake_core a = core(p, &reg, 0, "application/json", "{}");
    papi_fanout_config f = config(PAPI_CRED_FULL);
    papi_exchange_result res;

    papi_fanout_call(p, &f, APR_ARRAY_IDX(reg.found, 0, const papi_instance *), &ping, &res);
    assert_int_equal(res.failure, 0);
    assert_int_equal(res.resp->status, 200);
    /* base64("admin:FullPassword0123456789ab") */
    assert_non_null(strstr(papi_fake_core_stop(p, &a),
                           "Authorization: Basic YWRtaW46RnVsbFBhc3N3b3JkMDEyMzQ1Njc4OWFi\r\n"));
    end_registry(p, &reg);
}

/* The first instance's core is gone: its element says so, the second's answer is whole. */
static void one_failure_does_not_touch_another(void **state)
{
    apr_pool_t *p = *state;
    asking t = asking_make(p, 2);
    papi_fake_core b = core(p, &t.reg, 1, "text/plain", "fine");
    json_t *array = ask(p, &t);

    assert_int_equal(json_array_size(array), 2);
    assert_int_equal(element_status(array, 0), 502);
    assert_non_null(element_text(array, 0, "error"));
    assert_int_equal(element_status(array, 1), 200);
    assert_string_equal(element_text(array, 1, "body"), "fine");
    assert_int_equal(t.failures->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(t.failures, 0, const char *), "passenger.a000000"));
    papi_fake_core_stop(p, &b);
    asking_end(p, &t);
}

/* Past PassengerApiMaxInstances an instance gets a 503 element and its core hears nothing. */
static void instances_past_the_cap_are_not_asked(void **state)
{
    apr_pool_t *p = *state;
    asking t = asking_make(p, 2);
    papi_fake_core a = core(p, &t.reg, 0, "text/plain", "a");
    papi_fake_core b = core(p, &t.reg, 1, "text/plain", "b");
    const char *why = NULL;
    papi_stats_view seen;
    json_t *array;

    t.f.max_instances = 1;
    t.f.stats = papi_stats_create(p, &why);
    array = ask(p, &t);
    /* The call made is counted; the one not made is not. */
    papi_stats_read(t.f.stats, &seen);
    assert_int_equal(seen.counter[PAPI_STAT_CORE_CALLS], 1);
    assert_int_equal(seen.counter[PAPI_STAT_CALLS_JOINED], 0);
    assert_int_equal(element_status(array, 0), 200);
    assert_int_equal(element_status(array, 1), 503);
    assert_non_null(strstr(element_text(array, 1, "error"), "PassengerApiMaxInstances"));
    assert_int_equal(t.failures->nelts, 1);
    papi_fake_core_stop(p, &a);
    assert_string_equal(papi_fake_core_stop(p, &b), "");
    asking_end(p, &t);
}

/* The request's own deadline passed: nobody is asked, every element is a 504. */
static void nobody_is_asked_after_the_request_deadline(void **state)
{
    apr_pool_t *p = *state;
    asking t = asking_make(p, 2);
    papi_fake_core a = core(p, &t.reg, 0, "text/plain", "a");
    json_t *array;

    t.f.request_deadline = apr_time_now() - 1;
    array = ask(p, &t);
    assert_int_equal(element_status(array, 0), 504);
    assert_int_equal(element_status(array, 1), 504);
    assert_non_null(strstr(element_text(array, 0, "error"), "PassengerApiRequestTimeout"));
    assert_string_equal(papi_fake_core_stop(p, &a), "");
    asking_end(p, &t);
}

/* A read of a write endpoint: every good instance gets Passenger's 405, its core hears nothing,
 * with either credential. */
static void a_known_answer_is_given_without_asking(void **state)
{
    apr_pool_t *p = *state;
    registry reg = make_registry(p, 2);
    papi_fake_core a = core(p, &reg, 0, "application/json", "{\"detached\":true}");
    papi_fanout_config f = config(PAPI_CRED_FULL);
    papi_core_request req = { "GET", "/pool/detach_process.json", NULL, NULL, NULL, NULL, 0,
                              papi_core_405(p) };
    apr_array_header_t *failures = apr_array_make(p, 1, sizeof(const char *));
    papi_buf *b = papi_buf_make(p, 4096);
    json_t *array, *header;

    papi_fanout_aggregate(b, p, &f, reg.found, &req, failures);
    array = json_loadb(b->data, b->len, 0, NULL);
    assert_int_equal(json_array_size(array), 2);
    assert_int_equal(element_status(array, 0), 405);
    assert_int_equal(element_status(array, 1), 405);
    assert_string_equal(element_text(array, 1, "body"), "Method not allowed");
    header = json_object_get(json_array_get(array, 0), "header");
    assert_string_equal(json_string_value(json_object_get(header, "Content-Type")),
                        "text/html; charset=UTF-8");
    assert_string_equal(json_string_value(json_object_get(header, "Content-Length")), "18");
    assert_int_equal(failures->nelts, 0);
    assert_string_equal(papi_fake_core_stop(p, &a), "");
    json_decref(array);
    end_registry(p, &reg);
}

/* The deadline of one call: the per-instance timeout, never past the request's. */
static void a_call_never_outlives_the_request(void **state)
{
    papi_fanout_config f = config(PAPI_CRED_RO);
    apr_time_t before = apr_time_now();

    f.request_deadline = before + apr_time_from_sec(60);
    assert_true(papi_fanout_deadline(&f) >= before + f.timeout);
    assert_true(papi_fanout_deadline(&f) < f.request_deadline);
    f.request_deadline = before + 1000;
    assert_true(papi_fanout_deadline(&f) == f.request_deadline);
}

PAPI_TEST_MAIN(
    PAPI_TEST(every_good_instance_is_asked_in_order),
    PAPI_TEST(full_access_asks_with_the_admin_credential),
    PAPI_TEST(one_failure_does_not_touch_another),
    PAPI_TEST(instances_past_the_cap_are_not_asked),
    PAPI_TEST(nobody_is_asked_after_the_request_deadline),
    PAPI_TEST(a_known_answer_is_given_without_asking),
    PAPI_TEST(a_call_never_outlives_the_request))
