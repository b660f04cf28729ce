/* The values directives take: what passes, what it becomes, and why the rest is refused. */
#include "papi_test.h"
#include "papi_setting.h"

static void seconds(void **state)
{
    apr_interval_time_t t = 0;
    const char *bad[] = { "", "0", "-1", "601", "5s", "abc", "nan", " ", "1e9" };
    size_t i;

    assert_null(papi_setting_seconds("5", &t));
    assert_int_equal(t, apr_time_from_sec(5));
    assert_null(papi_setting_seconds("0.5", &t));
    assert_int_equal(t, 500000);
    assert_null(papi_setting_seconds("600", &t));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = 7;
        assert_non_null(strstr(papi_setting_seconds(bad[i], &t), "seconds above 0"));
        assert_int_equal(t, 7);
    }
}

static void counts(void **state)
{
    apr_pool_t *p = *state;
    apr_off_t n = 0;
    const char *bad[] = { "", "0", "-3", "1025", "12x", "x", "1.5" };
    size_t i;

    assert_null(papi_setting_count(p, "1", 1024, &n));
    assert_int_equal(n, 1);
    assert_null(papi_setting_count(p, "1024", 1024, &n));
    assert_int_equal(n, 1024);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_string_equal(papi_setting_count(p, bad[i], 1024, &n),
                            "takes a whole number from 1 to 1024");
}

static void owners(void **state)
{
    apr_pool_t *p = *state;
    uid_t uid = 1;
    const char *bad[] = { "#", "#x", "#-1", "# 1", "#1x", "#99999999999" };
    size_t i;

    assert_null(papi_setting_owner(p, "root", &uid));
    assert_int_equal(uid, 0);
    assert_null(papi_setting_owner(p, "#33", &uid));
    assert_int_equal(uid, 33);
    assert_string_equal(papi_setting_owner(p, "no-such-user-here", &uid),
                        "takes a user name or #uid: there is no user named "
                        "'no-such-user-here'");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_non_null(strstr(papi_setting_owner(p, bad[i], &uid), "takes a user name or #uid, not"));
}

static void choices(void **state)
{
    apr_pool_t *p = *state;
    static const char *const words[2] = { "native", "exporter" };
    int i = -1;

    assert_null(papi_setting_choice(p, "native", words, &i));
    assert_int_equal(i, 0);
    assert_null(papi_setting_choice(p, "Exporter", words, &i));
    assert_int_equal(i, 1);
    assert_string_equal(papi_setting_choice(p, "both", words, &i), "takes native or exporter");
    assert_string_equal(papi_setting_choice(p, "", words, &i), "takes native or exporter");
    assert_int_equal(i, 1);
}

PAPI_TEST_MAIN(
    PAPI_TEST(seconds),
    PAPI_TEST(counts),
    PAPI_TEST(owners),
    PAPI_TEST(choices))
