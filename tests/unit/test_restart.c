/* The credential helper's restart backoff: a helper that crashed after a while comes back at
 * once; one that keeps dying at startup comes back ever later, then not at all. */
#include "papi_test.h"
#include "papi_restart.h"

#define QUICK apr_time_from_msec(50)
#define LONG apr_time_from_sec(3600)

static void a_crash_after_a_long_life_restarts_at_once(void **state)
{
    papi_restart r = { 0 };
    int i;

    for (i = 0; i < 3 * PAPI_RESTART_TRIES; i++)
        assert_true(papi_restart_delay(&r, LONG) == 0);
}

static void deaths_at_startup_back_off_then_give_up(void **state)
{
    papi_restart r = { 0 };

    assert_true(papi_restart_delay(&r, QUICK) == 0);
    assert_true(papi_restart_delay(&r, QUICK) == apr_time_from_sec(1));
    assert_true(papi_restart_delay(&r, QUICK) == apr_time_from_sec(2));
    assert_true(papi_restart_delay(&r, QUICK) == apr_time_from_sec(4));
    assert_true(papi_restart_delay(&r, QUICK) == -1);
    assert_int_equal(r.quick_deaths, PAPI_RESTART_TRIES);
}

/* Only deaths in a row count: a long life in between starts the count again. */
static void a_long_life_forgives_earlier_deaths(void **state)
{
    papi_restart r = { 0 };
    int i;

    for (i = 0; i < PAPI_RESTART_TRIES - 1; i++)
        assert_true(papi_restart_delay(&r, QUICK) >= 0);
    assert_true(papi_restart_delay(&r, PAPI_RESTART_QUICK) == 0);
    assert_true(papi_restart_delay(&r, QUICK) == 0);
    assert_true(papi_restart_delay(&r, QUICK) == apr_time_from_sec(1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_crash_after_a_long_life_restarts_at_once),
        cmocka_unit_test(deaths_at_startup_back_off_then_give_up),
        cmocka_unit_test(a_long_life_forgives_earlier_deaths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
