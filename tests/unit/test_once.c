/* "Only the first time", per key, bounded: a flood of new keys stops being first once the set is
 * full, and a key stays known. */
#include "papi_test.h"
#include "papi_once.h"

static void first_time_only(void **state)
{
    apr_pool_t *p = *state;
    papi_once *o = papi_once_create(p);

    assert_non_null(o);
    assert_true(papi_once_first(o, "/passenger-api"));
    assert_false(papi_once_first(o, "/passenger-api"));
    assert_true(papi_once_first(o, "/passenger-api/"));
    assert_true(papi_once_first(o, ""));
    assert_false(papi_once_first(o, ""));
    assert_false(papi_once_first(NULL, "/x"));
}

static void bounded(void **state)
{
    apr_pool_t *p = *state;
    papi_once *o = papi_once_create(p);
    int i, firsts = 0;

    for (i = 0; i < 3 * PAPI_ONCE_KEYS; i++)
        firsts += papi_once_first(o, apr_psprintf(p, "/place/%d", i));
    assert_int_equal(firsts, PAPI_ONCE_KEYS);
    /* The first ones are still known; a new one is not first any more. */
    assert_false(papi_once_first(o, "/place/0"));
    assert_false(papi_once_first(o, "/another"));
}

PAPI_TEST_MAIN(
    PAPI_TEST(first_time_only),
    PAPI_TEST(bounded))
