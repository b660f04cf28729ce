/* Read-only answers never carry the group API key (the connect password), process sockets, nor
 * the end users' query strings and sticky session ids. */
#include "papi_test.h"
#include "papi_redact.h"

#include <apr_strings.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *redact(apr_pool_t *p, const char *path, const char *body)
{
    apr_size_t len;
    const char *out = papi_redact(p, path, body, strlen(body), &len);

    assert_int_equal(strlen(out), len);
    return out;
}

/* Real answers scrubbed: what is in the answer and must be gone from it, and what the scrubbed
 * answer still shows. */
static void samples_are_scrubbed(void **state)
{
    static const struct {
        const char *sample, *path, *gone[7], *kept[6];
    } samples[] = {
        /* The group's API key and the sockets; sticky session ids route end users' sessions. */
        { "core_GET_pool.xml_secrets_true.http", "/pool.xml",
          { "REDACTED_GROUP_API_KEY", "<sockets>", "127.0.0.1:39543",
            "<sticky_session_id>1215665311</sticky_session_id>", "1215665311", "2054703309" },
          { "<api_key>[REDACTED]</api_key>", "<secret>[REDACTED]</secret>",
            "<sticky_session_id>[REDACTED]</sticky_session_id>", "<pid>3576</pid>", "</info>" } },
        /* Without secrets=true, the options (with the key) are still there. */
        { "core_GET_pool.xml.http", "/pool.xml", { "REDACTED_GROUP_API_KEY", "1215665311" },
          { "<options>",
            "<pid>3595</pid><sticky_session_id>[REDACTED]</sticky_session_id><gupid>" } },
        { "core_GET_pool.txt_verbose_true.http", "/pool.txt",
          { "REDACTED_GROUP_API_KEY", "127.0.0.1:39543" },
          { "    URL     : [REDACTED]\n", "    Password: [REDACTED]\n", "* PID: 3576" } },
    };
    apr_pool_t *p = *state;
    size_t i, j;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const char *in = papi_test_sample_body(p, samples[i].sample);
        const char *out = redact(p, samples[i].path, in);

        for (j = 0; samples[i].gone[j]; j++)
            if (!strstr(in, samples[i].gone[j]) || strstr(out, samples[i].gone[j]))
                fail_msg("%s: \"%s\" not there before, or still there", samples[i].sample,
                         samples[i].gone[j]);
        for (j = 0; samples[i].kept[j]; j++)
            if (!strstr(out, samples[i].kept[j]))
                fail_msg("%s: no \"%s\"", samples[i].sample, samples[i].kept[j]);
    }
}

static void unclosed_element_ends_the_answer(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(redact(p, "/pool.xml", "<a><api_key>sekret"), "<a>");
    assert_string_equal(redact(p, "/pool.xml", "<a><sockets><x>tcp://1</x></a>"), "<a>");
    assert_string_equal(redact(p, "/pool.xml", "<a><secret></secret><b/>"),
                        "<a><secret>[REDACTED]</secret><b/>");
}

static void pool_txt_password_lines(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(redact(p, "/pool.txt", "Password : x"), "Password : [REDACTED]");
    assert_string_equal(redact(p, "/pool.txt", "Passwords: x\n"), "Passwords: x\n");
}

static void other_paths_untouched(void **state)
{
    apr_pool_t *p = *state;
    const char *in = "<api_key>k</api_key>\nPassword: k\n{\"path\": \"/a?b\"}";
    apr_size_t len;

    assert_ptr_equal(papi_redact(p, "/info.json", in, strlen(in), &len), in);
    assert_int_equal(len, strlen(in));
    assert_ptr_equal(papi_redact(p, "/backtraces.txt", in, strlen(in), &len), in);
}

/* ---- server.json ---- */

/* Two requests in flight as Passenger 6.0.17 lists them (jsoncpp's styled layout), one of a
 * client that went away, and one without a query. */
#define SERVER_JSON                                                                     \
    "{\n"                                                                               \
    "   \"thread1\" : {\n"                                                              \
    "      \"active_client_count\" : 2,\n"                                              \
    "      \"active_clients\" : {\n"                                                    \
    "         \"1-7\" : {\n"                                                            \
    "            \"connected_at\" : { \"local\" : \"Sat Nov 21 11:54:40 2026\" },\n"    \
    "            \"current_request\" : {\n"                                             \
    "               \"host\" : \"127.0.0.1:8080\",\n"                                   \
    "               \"http_state\" : \"COMPLETE\",\n"                                   \
    "               \"method\" : \"GET\",\n"                                            \
    "               \"path\" : \"/hang?token=SECRET123&s=30\",\n"                       \
    "               \"session\" : { \"gupid\" : \"1c88f05-xoUJ2XlzoQ\", \"pid\" : 3576 },\n" \
    "               \"sticky_session\" : true,\n"                                       \
    "               \"sticky_session_id\" : 1215665311\n"                               \
    "            },\n"                                                                  \
    "            \"name\" : \"1-7\"\n"                                                  \
    "         },\n"                                                                     \
    "         \"1-8\" : {\n"                                                            \
    "            \"current_request\" : {\n"                                             \
    "               \"path\" : \"/plain/path\",\n"                                      \
    "               \"sticky_session\" : false\n"                                       \
    "            }\n"                                                                   \
    "         }\n"                                                                      \
    "      },\n"                                                                        \
    "      \"disconnected_clients\" : {\n"                                              \
    "         \"1-5\" : { \"current_request\" : { \"path\" : \"/x?\\u003fq=\\\"SECRET456\" } }\n" \
    "      },\n"                                                                        \
    "      \"request_begin_speed\" : { \"1h\" : { \"value\" : 9.1199999999999992 } }\n" \
    "   },\n"                                                                           \
    "   \"threads\" : 1\n"                                                              \
    "}\n"

static json_t *parse_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);

    if (!j)
        fail_msg("not JSON: %s (line %d)\n%s", err.text, err.line, text);
    return j;
}

static json_t *request_of(json_t *doc, const char *list, const char *client)
{
    return json_object_get(json_object_get(json_object_get(json_object_get(doc, "thread1"), list),
                                           client), "current_request");
}

static void server_json_in_flight_requests(void **state)
{
    const char *out = redact(*state, "/server.json", SERVER_JSON);
    json_t *want = parse_json(SERVER_JSON), *got = parse_json(out);

    assert_null(strstr(out, "SECRET123"));
    assert_null(strstr(out, "SECRET456"));
    assert_null(strstr(out, "s=30"));
    assert_null(strstr(out, "1215665311"));
    assert_non_null(strstr(out, "\"path\" : \"/hang?[REDACTED]\",\n"));
    assert_non_null(strstr(out, "\"sticky_session_id\" : \"[REDACTED]\"\n"));
    /* Paths, hosts, numbers and the layout are kept as they were. */
    assert_non_null(strstr(out, "\"path\" : \"/plain/path\",\n"));
    assert_non_null(strstr(out, "\"value\" : 9.1199999999999992 }"));
    /* Valid JSON of the same shape: the input with just those values changed. */
    json_object_set_new(request_of(want, "active_clients", "1-7"), "path",
                        json_string("/hang?[REDACTED]"));
    json_object_set_new(request_of(want, "active_clients", "1-7"), "sticky_session_id",
                        json_string("[REDACTED]"));
    json_object_set_new(request_of(want, "disconnected_clients", "1-5"), "path",
                        json_string("/x?[REDACTED]"));
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);
}

static void server_json_sample_without_requests_is_unchanged(void **state)
{
    apr_pool_t *p = *state;
    const char *in = papi_test_sample_body(p, "core_GET_server.json.http");

    assert_string_equal(redact(p, "/server.json", in), in);
}

static void server_json_odd_shapes(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        /* Only members so named, wherever they are; a mere string "path" is not one. */
        { "[\"path\",\"/a?b\",{\"paths\":\"/a?b\"}]", "[\"path\",\"/a?b\",{\"paths\":\"/a?b\"}]" },
        { "{\"a\":[{\"path\":\"/a?b\"}]}", "{\"a\":[{\"path\":\"/a?[REDACTED]\"}]}" },
        { "{\"path\":\"?\"}", "{\"path\":\"?[REDACTED]\"}" },
        { "{\"path\":\"/a\\\\?b\"}", "{\"path\":\"/a\\\\?[REDACTED]\"}" },
        { "{\"path\":\"/a\\\"?b\"}", "{\"path\":\"/a\\\"?[REDACTED]\"}" },
        { "{\"path\":\"/a\\u003Fb\"}", "{\"path\":\"/a?[REDACTED]\"}" },
        /* Names are read with their escapes decoded, as any JSON reader does. */
        { "{\"p\\u0061th\":\"/a?b\",\"sticky_session\\u005fid\":1}",
          "{\"p\\u0061th\":\"/a?[REDACTED]\",\"sticky_session\\u005fid\":\"[REDACTED]\"}" },
        { "{\"pat\\u0068x\":\"/a?b\",\"path\\\\\":\"/a?b\"}",
          "{\"pat\\u0068x\":\"/a?b\",\"path\\\\\":\"/a?b\"}" },
        { "{\"path\":12,\"b\":\"?\"}", "{\"path\":12,\"b\":\"?\"}" },
        { "{\"path\":{\"path\":\"/?q\"}}", "{\"path\":{\"path\":\"/?[REDACTED]\"}}" },
        /* A sticky session id is replaced whatever its value is. */
        { "{\"sticky_session_id\":\"abc\",\"x\":1}",
          "{\"sticky_session_id\":\"[REDACTED]\",\"x\":1}" },
        { "{\"sticky_session_id\" :\t-1.5e3 }", "{\"sticky_session_id\" :\t\"[REDACTED]\" }" },
        { "{\"sticky_session_id\":{\"a\":[1,\"}\"]},\"path\":\"/?q\"}",
          "{\"sticky_session_id\":\"[REDACTED]\",\"path\":\"/?[REDACTED]\"}" },
        { "{\"sticky_session_id\":null}", "{\"sticky_session_id\":\"[REDACTED]\"}" },
        /* What never ends ends the answer where it starts. */
        { "{\"a\":1,\"path\":\"/x?tok", "{\"a\":1,\"path\":" },
        { "{\"a\":\"b", "{\"a\":" },
        { "{\"sticky_session_id\":[1,2", "{\"sticky_session_id\":" },
        { "{\"sticky_session_id\":42", "{\"sticky_session_id\":\"[REDACTED]\"" },
        /* Not JSON at all: nothing to find, nothing lost. */
        { "Unauthorized", "Unauthorized" },
        { "", "" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = redact(*state, "/server.json", cases[i].in);

        if (strcmp(out, cases[i].out))
            fail_msg("case %u: %s\n  gave %s\n  want %s", (unsigned)i, cases[i].in, out,
                     cases[i].out);
    }
}

static void password_never_comes_back(void **state)
{
    apr_pool_t *p = *state;
    papi_http_response resp = { 1, 200, "OK", apr_array_make(p, 2, sizeof(papi_http_header)),
                                apr_pstrdup(p, "KEYkey-KEYkeyKEYkey!"), 20 };

    APR_ARRAY_PUSH(resp.headers, papi_http_header) = (papi_http_header){ "X-Echo", "a KEYkey b" };
    papi_redact_secret(p, &resp, "KEYkey");
    assert_string_equal(resp.body, "[REDACTED]-[REDACTED][REDACTED]!");
    assert_int_equal(resp.body_len, strlen(resp.body));
    assert_string_equal(APR_ARRAY_IDX(resp.headers, 0, papi_http_header).value,
                        "a [REDACTED] b");
}

PAPI_TEST_MAIN(
    PAPI_TEST(samples_are_scrubbed),
    PAPI_TEST(unclosed_element_ends_the_answer),
    PAPI_TEST(pool_txt_password_lines),
    PAPI_TEST(other_paths_untouched),
    PAPI_TEST(server_json_in_flight_requests),
    PAPI_TEST(server_json_sample_without_requests_is_unchanged),
    PAPI_TEST(server_json_odd_shapes),
    PAPI_TEST(password_never_comes_back))
