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

/* Which instance a name picks, and how many good instances it matched: an exact name wins over
 * longer ones, a unique prefix picks its instance, an ambiguous prefix picks none, and a stale
 * instance is never picked, not even by its full name. */
static void names_pick_good_instances(void **state)
{
    static const struct {
        const char *name, *picked;
        int matches;
    } cases[] = {
        { "AbCd12", "AbCd12", 1 },
        { "Xy", "XyZw9876", 1 },
        { "AbCd1", NULL, 2 },
        { "QqQq0000", NULL, 0 },
        { "Nope", NULL, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int matches = -1;
        const papi_instance *inst = papi_pick(registry(*state), cases[i].name, &matches);
        const char *got = inst ? inst->name : "none";
        const char *want = cases[i].picked ? cases[i].picked : "none";

        if (strcmp(got, want) || matches != cases[i].matches)
            fail_msg("\"%s\" picked %s of %d matches, not %s of %d", cases[i].name, got, matches,
                     want, cases[i].matches);
    }
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

/* What each content type of a core's answer is relayed as: a core's own types without their
 * parameters, and nothing a browser would run: other text is shown as text, anything else (no
 * type at all too) is bytes. */
static void types_are_relayed_inert(void **state)
{
    static const struct {
        const char *relayed, *types[5];
    } cases[] = {
        { "application/json", { "application/json", "Application/JSON; charset=utf-8" } },
        { "text/xml", { "text/xml" } },
        { "text/plain",
          { "text/plain;charset=utf-8", "text/html; charset=utf-8", "TEXT/javascript" } },
        { "application/octet-stream",
          { "application/javascript", "image/svg+xml", "application/jsonx", "" } },
    };
    size_t i, j;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (j = 0; cases[i].types[j]; j++)
            assert_string_equal(relayed_type(*state, cases[i].types[j]), cases[i].relayed);
    assert_string_equal(relayed_type(*state, NULL), "application/octet-stream");
}

PAPI_TEST_MAIN(
    PAPI_TEST(names_pick_good_instances),
    PAPI_TEST(types_are_relayed_inert))
