/* Shared helpers for the cmocka unit tests: APR set-up and a fresh pool per test. */
#ifndef PAPI_TEST_H
#define PAPI_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>

/* Group set-up and tear-down: APR once per test binary. */
static inline int papi_test_apr_init(void **state)
{
    return apr_initialize() == APR_SUCCESS ? 0 : -1;
}

static inline int papi_test_apr_term(void **state)
{
    apr_terminate();
    return 0;
}

/* Per-test set-up and tear-down: *state is a pool destroyed after the test, so anything left
 * allocated outside it shows up as a leak under ASan. */
static inline int papi_test_pool_setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return -1;
    *state = p;
    return 0;
}

static inline int papi_test_pool_teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* The body of a real answer captured in tests/samples/ (NUL-terminated; tests run from the
 * repository root). */
static inline const char *papi_test_sample_body(apr_pool_t *p, const char *name)
{
    char path[512], buf[65536];
    size_t n;
    FILE *f;
    const char *body;

    snprintf(path, sizeof(path), "tests/samples/%s", name);
    if (!(f = fopen(path, "rb")))
        fail_msg("cannot open %s (run from the repository root)", path);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    return apr_pstrdup(p, body + 4);
}

/* A check that gives NULL for a value it takes, else why it refuses it. */
typedef const char *(*papi_test_check_fn)(const char *value);

/* check takes every one of good[0..n_good) and refuses every one of bad[0..n_bad). */
static inline void papi_test_check_values(papi_test_check_fn check, const char *const *good,
                                          size_t n_good, const char *const *bad, size_t n_bad)
{
    const char *why;
    size_t i;

    for (i = 0; i < n_good; i++)
        if ((why = check(good[i])))
            fail_msg("'%s' refused: %s", good[i], why);
    for (i = 0; i < n_bad; i++)
        if (!check(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
}

/* The same over two arrays. */
#define PAPI_TEST_CHECK_VALUES(check, good, bad) \
    papi_test_check_values(check, good, sizeof(good) / sizeof((good)[0]), bad, \
                           sizeof(bad) / sizeof((bad)[0]))

#define PAPI_TEST(f) cmocka_unit_test_setup_teardown(f, papi_test_pool_setup, papi_test_pool_teardown)

/* A test file's main: its tests (PAPI_TEST(name), ...) run as one group, each with a pool of its
 * own. SIGPIPE is ignored, as httpd ignores it: a peer gone before a write is an EPIPE to handle,
 * not the end of the process. */
#define PAPI_TEST_MAIN(...)                                                                     \
    int main(void)                                                                              \
    {                                                                                           \
        const struct CMUnitTest papi_tests[] = { __VA_ARGS__ };                                 \
                                                                                                \
        signal(SIGPIPE, SIG_IGN);                                                               \
        return cmocka_run_group_tests_name(__FILE__, papi_tests, papi_test_apr_init,            \
                                           papi_test_apr_term);                                 \
    }

#endif
