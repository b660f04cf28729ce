/* The library's log: nothing without a logger, only wanted levels formatted, long lines cut. */
#include "papi_test.h"
#include "papi_log.h"

typedef struct captured {
    papi_log_level threshold;
    int asked, written;
    papi_log_level level;
    apr_status_t rv;
    char message[2048];
    const char *file;
} captured;

static int wanted(void *baton, papi_log_level level)
{
    captured *c = baton;

    c->asked++;
    return level <= c->threshold;
}

static void write_line(void *baton, const char *file, int line, papi_log_level level,
                       apr_status_t rv, const char *message)
{
    captured *c = baton;

    c->written++;
    c->file = file;
    c->level = level;
    c->rv = rv;
    snprintf(c->message, sizeof(c->message), "%s", message);
}

static void silent_without_a_logger(void **state)
{
    papi_log_set(NULL, NULL, NULL);
    assert_false(papi_log_is_level(PAPI_LOG_ERR));
    papi_log(PAPI_LOG_MARK, PAPI_LOG_ERR, 0, "nobody hears %s", "this");
}

static void only_wanted_levels_are_written(void **state)
{
    captured c = { PAPI_LOG_DEBUG, 0, 0, 0, 0, "", NULL };

    papi_log_set(wanted, write_line, &c);
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "not wanted %d", 1);
    assert_int_equal(c.written, 0);
    assert_int_equal(c.asked, 1);
    papi_log(PAPI_LOG_MARK, PAPI_LOG_INFO, APR_ENOENT, "instance %s: %d", "AbCd", 42);
    assert_int_equal(c.written, 1);
    assert_int_equal(c.level, PAPI_LOG_INFO);
    assert_int_equal(c.rv, APR_ENOENT);
    assert_string_equal(c.message, "instance AbCd: 42");
    assert_non_null(strstr(c.file, "test_log.c"));
    c.threshold = PAPI_LOG_TRACE1;
    assert_true(papi_log_is_level(PAPI_LOG_TRACE1));
    assert_false(papi_log_is_level(PAPI_LOG_TRACE2));
    papi_log_set(NULL, NULL, NULL);
}

static void long_lines_are_cut(void **state)
{
    captured c = { PAPI_LOG_TRACE2, 0, 0, 0, 0, "", NULL };
    char *big = apr_palloc(*state, 4000);

    memset(big, 'x', 3999);
    big[3999] = '\0';
    papi_log_set(wanted, write_line, &c);
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE2, 0, "%s", big);
    assert_int_equal(strlen(c.message), 1023);
    papi_log_set(NULL, NULL, NULL);
}

PAPI_TEST_MAIN(
    PAPI_TEST(silent_without_a_logger),
    PAPI_TEST(only_wanted_levels_are_written),
    PAPI_TEST(long_lines_are_cut))
