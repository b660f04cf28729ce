/* What may be sent to a core: the path and the rebuilt query. */
#include "papi_test.h"
#include "papi_request.h"

#include <string.h>

static void core_paths(void **state)
{
    static const char *const good[] = { "/ping.json", "/pool.txt", "/pool/restart_app_group.json",
                                        "/server/1-2.json", "/x..y" };
    static const char *const bad[] = { "", "/", "ping.json", "/../etc/passwd", "/a/../b", "/a/./b",
                                       "/a//b", "/a b", "/a%2fb", "/a?b", "/a\r\nX: y", "/.",
                                       "/..", "/a/..", "/\xc3\xa9" };
    char longpath[PAPI_CORE_PATH_MAX + 2];

    PAPI_TEST_CHECK_VALUES(papi_core_path_error, good, bad);
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_non_null(papi_core_path_error(longpath));
}

static void queries_are_rebuilt(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;

    assert_string_equal(papi_query_rebuild(p, NULL, &why), "");
    assert_string_equal(papi_query_rebuild(p, "", &why), "");
    assert_string_equal(papi_query_rebuild(p, "verbose=true", &why), "verbose=true");
    assert_string_equal(papi_query_rebuild(p, "a=1&b=x+y&c=%41%2F", &why), "a=1&b=x%20y&c=A%2F");
    assert_string_equal(papi_query_rebuild(p, "a=&&b=2", &why), "a=&b=2");
    assert_string_equal(papi_query_rebuild(p, "a=%0d%0aHost:%20evil", &why), "a=%0D%0AHost%3A%20evil");
    assert_null(papi_query_rebuild(p, "verbose", &why));
    assert_non_null(strstr(why, "verbose=true"));
    assert_null(papi_query_rebuild(p, "a%20b=1", &why));
    assert_null(papi_query_rebuild(p, "a=%zz", &why));
    assert_null(papi_query_rebuild(p, "a=%00", &why));
    assert_null(papi_query_rebuild(p, "=1", &why));
}

PAPI_TEST_MAIN(
    PAPI_TEST(core_paths),
    PAPI_TEST(queries_are_rebuilt))
