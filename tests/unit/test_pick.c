/* Picking one instance by name for /instances/<name>/: the exact name, else the only good one
 * the name starts; and the media type a core's answer is relayed with. */
#include "papi_test.h"
#include "papi_answer.h"
#include "papi_registry.h"

static const papi_instance *instance(apr_pool_t *p, const char *name, papi_inst_state state)
{
    papi_instance *inst = apr_pcalloc(p, sizeof(*inst));

    inst->name = name;
    inst->state = state;
    return inst;
}

static apr_array_header_t *registry(apr_pool_t *p)
{
    apr_array_header_t *found = apr_array_make(p, 4, sizeof(const papi_instance *));

    APR_ARRAY_PUSH(found, const papi_instance *) = instance(p, "AbCd1234", PAPI_INST_GOOD);
    APR_ARRAY_PUSH(found, const papi_instance *) = instance(p, "AbCd12", PAPI_INST_GOOD);
    APR_ARRAY_PUSH(found, const papi_instance *) = instance(p, "XyZw9876", PAPI_INST_GOOD);
    APR_ARRAY_PUSH(found, const papi_instance *) = instance(p, "QqQq0000", PAPI_INST_STALE);
    return found;
}

static void an_exact_name_wins_over_longer_ones(void **state)
{
    int matches;
    const papi_instance *inst = papi_pick(registry(*state), "AbCd12", &matches);

    assert_non_null(inst);
    assert_string_equal(inst->name, "AbCd12");
    assert_int_equal(matches, 1);
}

static void a_unique_prefix_picks_its_instance(void **state)
{
    int matches;
    const papi_instance *inst = papi_pick(registry(*state), "Xy", &matches);

    assert_non_null(inst);
    assert_string_equal(inst->name, "XyZw9876");
    assert_int_equal(matches, 1);
}

static void an_ambiguous_prefix_picks_none_and_counts(void **state)
{
    int matches;

    assert_null(papi_pick(registry(*state), "AbCd1", &matches));
    assert_int_equal(matches, 2);
}

/* A stale instance is never picked, not even by its full name. */
static void only_good_instances_are_picked(void **state)
{
    int matches;

    assert_null(papi_pick(registry(*state), "QqQq0000", &matches));
    assert_int_equal(matches, 0);
    assert_null(papi_pick(registry(*state), "Nope", &matches));
    assert_int_equal(matches, 0);
}

static const char *relayed_type(apr_pool_t *p, const char *content_type)
{
    papi_http_response resp = { 1, 200, "OK", apr_array_make(p, 1, sizeof(papi_http_header)),
                                "", 0 };

    if (content_type)
        APR_ARRAY_PUSH(resp.headers, papi_http_header) =
            (papi_http_header){ "Content-Type", content_type };
    return papi_safe_type(&resp);
}

static void core_types_are_relayed_without_parameters(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(relayed_type(p, "application/json"), "application/json");
    assert_string_equal(relayed_type(p, "Application/JSON; charset=utf-8"), "application/json");
    assert_string_equal(relayed_type(p, "text/plain;charset=utf-8"), "text/plain");
    assert_string_equal(relayed_type(p, "text/xml"), "text/xml");
}

/* Nothing a browser would run: other text is shown as text, anything else is bytes. */
static void nothing_runnable_is_relayed(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(relayed_type(p, "text/html; charset=utf-8"), "text/plain");
    assert_string_equal(relayed_type(p, "TEXT/javascript"), "text/plain");
    assert_string_equal(relayed_type(p, "application/javascript"), "application/octet-stream");
    assert_string_equal(relayed_type(p, "image/svg+xml"), "application/octet-stream");
    assert_string_equal(relayed_type(p, "application/jsonx"), "application/octet-stream");
    assert_string_equal(relayed_type(p, ""), "application/octet-stream");
    assert_string_equal(relayed_type(p, NULL), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAPI_TEST(an_exact_name_wins_over_longer_ones),
        PAPI_TEST(a_unique_prefix_picks_its_instance),
        PAPI_TEST(an_ambiguous_prefix_picks_none_and_counts),
        PAPI_TEST(only_good_instances_are_picked),
        PAPI_TEST(core_types_are_relayed_without_parameters),
        PAPI_TEST(nothing_runnable_is_relayed),
    };

    return cmocka_run_group_tests(tests, papi_test_apr_init, papi_test_apr_term);
}
