/* Read-only answers never carry the group API key (the connect password) or process sockets. */
#include "papi_test.h"
#include "papi_redact.h"

#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

static const char *redact(apr_pool_t *p, const char *path, const char *body)
{
    apr_size_t len;
    const char *out = papi_redact(p, path, body, strlen(body), &len);

    assert_int_equal(strlen(out), len);
    return out;
}

static void pool_xml_with_secrets(void **state)
{
    apr_pool_t *p = *state;
    const char *in = papi_test_sample_body(p, "core_GET_pool.xml_secrets_true.http");
    const char *out = redact(p, "/pool.xml", in);

    assert_non_null(strstr(in, "REDACTED_GROUP_API_KEY"));
    assert_non_null(strstr(in, "<sockets>"));
    assert_null(strstr(out, "REDACTED_GROUP_API_KEY"));
    assert_null(strstr(out, "<sockets>"));
    assert_null(strstr(out, "127.0.0.1:39543"));
    assert_non_null(strstr(out, "<api_key>[REDACTED]</api_key>"));
    assert_non_null(strstr(out, "<secret>[REDACTED]</secret>"));
    /* The rest is untouched. */
    assert_non_null(strstr(out, "<pid>3576</pid>"));
    assert_non_null(strstr(out, "</info>"));
}

static void pool_xml_plain_still_has_the_options_key(void **state)
{
    apr_pool_t *p = *state;
    const char *out = redact(p, "/pool.xml", papi_test_sample_body(p, "core_GET_pool.xml.http"));

    assert_null(strstr(out, "REDACTED_GROUP_API_KEY"));
    assert_non_null(strstr(out, "<options>"));
}

static void unclosed_element_ends_the_answer(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(redact(p, "/pool.xml", "<a><api_key>sekret"), "<a>");
    assert_string_equal(redact(p, "/pool.xml", "<a><sockets><x>tcp://1</x></a>"), "<a>");
    assert_string_equal(redact(p, "/pool.xml", "<a><secret></secret><b/>"),
                        "<a><secret>[REDACTED]</secret><b/>");
}

static void pool_txt_verbose(void **state)
{
    apr_pool_t *p = *state;
    const char *in = papi_test_sample_body(p, "core_GET_pool.txt_verbose_true.http");
    const char *out = redact(p, "/pool.txt", in);

    assert_null(strstr(out, "REDACTED_GROUP_API_KEY"));
    assert_null(strstr(out, "127.0.0.1:39543"));
    assert_non_null(strstr(out, "    URL     : [REDACTED]\n"));
    assert_non_null(strstr(out, "    Password: [REDACTED]\n"));
    assert_non_null(strstr(out, "* PID: 3576"));
    assert_string_equal(redact(p, "/pool.txt", "Password : x"), "Password : [REDACTED]");
    assert_string_equal(redact(p, "/pool.txt", "Passwords: x\n"), "Passwords: x\n");
}

static void other_paths_untouched(void **state)
{
    apr_pool_t *p = *state;
    const char *in = "<api_key>k</api_key>\nPassword: k\n";
    apr_size_t len;

    assert_ptr_equal(papi_redact(p, "/server.json", in, strlen(in), &len), in);
    assert_int_equal(len, strlen(in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAPI_TEST(pool_xml_with_secrets),
        PAPI_TEST(pool_xml_plain_still_has_the_options_key),
        PAPI_TEST(unclosed_element_ends_the_answer),
        PAPI_TEST(pool_txt_verbose),
        PAPI_TEST(other_paths_untouched),
    };

    return cmocka_run_group_tests_name("redact", tests, papi_test_apr_init, papi_test_apr_term);
}
