/* The shared table of last probes: what one process writes, another reads; old or foreign entries
 * are not shown. */
#include "papi_test.h"
#include "papi_probes.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void put_then_get(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;
    papi_probes *t = papi_probes_create(p, 64, &why);
    papi_probe_result in = { apr_time_from_sec(1000), 1, 1, 200, 3000, "" }, out;

    assert_non_null(t);
    papi_probes_put(t, "AbCd1234", 4242, &in);
    assert_true(papi_probes_get(t, "AbCd1234", 4242, apr_time_from_sec(1010),
                                apr_time_from_sec(60), &out));
    assert_int_equal(out.status, 200);
    assert_int_equal(out.latency, 3000);
    assert_true(out.healthy && out.reachable);
    /* Another pid, another instance, or too old: nothing. */
    assert_false(papi_probes_get(t, "AbCd1234", 4243, apr_time_from_sec(1010),
                                 apr_time_from_sec(60), &out));
    assert_false(papi_probes_get(t, "Other123", 4242, apr_time_from_sec(1010),
                                 apr_time_from_sec(60), &out));
    assert_false(papi_probes_get(t, "AbCd1234", 4242, apr_time_from_sec(1100),
                                 apr_time_from_sec(60), &out));
    /* A NULL table is no table. */
    papi_probes_put(NULL, "AbCd1234", 1, &in);
    assert_false(papi_probes_get(NULL, "AbCd1234", 1, 0, 1, &out));
}

static void shared_with_a_child(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;
    papi_probes *t = papi_probes_create(p, 64, &why);
    papi_probe_result out;
    pid_t child;
    int status;

    assert_non_null(t);
    child = fork();
    if (child == 0) {
        papi_probe_result in = { apr_time_from_sec(5), 1, 0, 0, 1000000, "" };
        memset(in.error, 'x', sizeof(in.error));     /* longer than the slot: cut, not overrun */
        in.error[sizeof(in.error) - 1] = '\0';
        papi_probes_put(t, "AbCd1234", 77, &in);
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(papi_probes_get(t, "AbCd1234", 77, apr_time_from_sec(6), apr_time_from_sec(60),
                                &out));
    assert_false(out.healthy);
    assert_int_equal(strlen(out.error), sizeof(out.error) - 1);
}

PAPI_TEST_MAIN(
    PAPI_TEST(put_then_get),
    PAPI_TEST(shared_with_a_child))
