/* The per-child in-flight limiter: quick requests are never refused however many, stuck ones
 * are counted against the cap, and a request counted out frees its slot. */
#include "papi_test.h"
#include "papi_flight.h"

#define STUCK apr_time_from_sec(1)
#define T0 apr_time_from_sec(1000)

static void quick_requests_are_never_refused(void **state)
{
    papi_flight *f = papi_flight_create(*state, 2, STUCK);
    apr_time_t *a, *b, *c;

    assert_non_null(f);
    assert_true(papi_flight_enter(f, T0, 1, &a));
    assert_true(papi_flight_enter(f, T0, 1, &b));
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    /* Every slot taken, none stuck: let in, uncounted. */
    assert_true(papi_flight_enter(f, T0 + 10, 1, &c));
    assert_null(c);
}

static void stuck_requests_reach_the_cap(void **state)
{
    papi_flight *f = papi_flight_create(*state, 4, STUCK);
    apr_time_t *a, *b, *c;

    assert_true(papi_flight_enter(f, T0, 2, &a));
    assert_true(papi_flight_enter(f, T0, 2, &b));
    /* At exactly STUCK a request is not stuck yet. */
    assert_true(papi_flight_enter(f, T0 + STUCK, 2, &c));
    papi_flight_leave(f, c);
    assert_false(papi_flight_enter(f, T0 + STUCK + 1, 2, &c));
    assert_null(c);
    /* One of them answered: room again. */
    papi_flight_leave(f, a);
    assert_true(papi_flight_enter(f, T0 + STUCK + 1, 2, &c));
    assert_non_null(c);
}

static void a_slot_left_is_taken_again(void **state)
{
    papi_flight *f = papi_flight_create(*state, 1, STUCK);
    apr_time_t *a, *b;

    assert_true(papi_flight_enter(f, T0, 1, &a));
    papi_flight_leave(f, a);
    assert_true(papi_flight_enter(f, T0 + 5 * STUCK, 1, &b));
    assert_ptr_equal(a, b);
    assert_false(papi_flight_enter(f, T0 + 7 * STUCK, 1, &a));
}

PAPI_TEST_MAIN(
    PAPI_TEST(quick_requests_are_never_refused),
    PAPI_TEST(stuck_requests_reach_the_cap),
    PAPI_TEST(a_slot_left_is_taken_again))
