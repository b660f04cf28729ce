/* The dashboard's actions: the form decoder, the form, the nonce's comparison, the anti-forgery
 * rule, the core's call, and the report back to the dashboard. */
#include "papi_test.h"
#include "papi_action.h"
#include "papi_form.h"

#include <apr_strings.h>
#include <string.h>

#define NONCE "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *form_of(apr_pool_t *p, const char *body, apr_array_header_t **fields)
{
    return papi_form_parse(p, body, strlen(body), 4, fields);
}

static void form_decodes(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *f;

    assert_null(form_of(p, "", &f));
    assert_int_equal(f->nelts, 0);
    assert_null(form_of(p, "group=%2Fsrv%2Fapp+%28production%29&x&caf%C3%A9=%e6%97%a5", &f));
    assert_int_equal(f->nelts, 3);
    assert_string_equal(papi_form_get(f, "group"), "/srv/app (production)");
    assert_string_equal(papi_form_get(f, "x"), "");
    assert_string_equal(papi_form_get(f, "caf\xC3\xA9"), "\xE6\x97\xA5");
    assert_null(papi_form_get(f, "nonce"));
    assert_null(form_of(p, "a=1=2", &f));
    assert_string_equal(papi_form_get(f, "a"), "1=2");
}

static void form_refuses(void **state)
{
    apr_pool_t *p = *state;
    static const char *const bad[] = {
        "&", "a=1&", "&a=1", "a=1&&b=2", "=1", "a=%", "a=%4", "a=%4g", "a=%00", "a=%0A", "a=%7F",
        "a=\x01", "a=%C3", "a=%FF", "a=1&a=2", "a&a", "a=1&b=2&c=3&d=4&e=5",
    };
    char *long_value = apr_pstrcat(p, "a=", apr_psprintf(p, "%0*d", PAPI_FORM_FIELD_MAX + 1, 0),
                                   NULL);
    apr_array_header_t *f;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!form_of(p, bad[i], &f))
            fail_msg("'%s' accepted", bad[i]);
    assert_non_null(form_of(p, long_value, &f));
    long_value[strlen(long_value) - 1] = '\0';
    assert_null(form_of(p, long_value, &f));
    /* A NUL in the body is not the end of it. */
    assert_non_null(papi_form_parse(p, "a=1\0b", 5, 4, &f));
}

static void form_encodes_what_it_decodes(void **state)
{
    apr_pool_t *p = *state;
    const char *s = "/srv/app (production) & \"caf\xC3\xA9\" 100%+=-._*~";
    const char *e = papi_form_encode(p, s);
    apr_array_header_t *f;

    assert_string_equal(papi_form_encode(p, "/srv/a b"), "%2Fsrv%2Fa+b");
    assert_null(strpbrk(e, "&= /\"()"));
    assert_null(form_of(p, apr_pstrcat(p, "v=", e, NULL), &f));
    assert_string_equal(papi_form_get(f, "v"), s);
}

static void nonce(void **state)
{
    apr_pool_t *p = *state;
    unsigned char random[PAPI_ACTION_NONCE_BYTES];
    const char *text;

    memset(random, 0xA5, sizeof(random));
    random[0] = 0x01;
    text = papi_action_nonce_text(p, random);
    assert_int_equal(strlen(text), 2 * PAPI_ACTION_NONCE_BYTES);
    assert_true(!strncmp(text, "01a5a5", 6));
    assert_true(papi_action_nonce_equal(NONCE, NONCE));
    assert_false(papi_action_nonce_equal(NULL, NONCE));
    assert_false(papi_action_nonce_equal("", NONCE));
    assert_false(papi_action_nonce_equal(NONCE "0", NONCE));
    assert_false(papi_action_nonce_equal("0123456789abcdef", NONCE));
    assert_false(papi_action_nonce_equal(
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee", NONCE));
    assert_false(papi_action_nonce_equal(
        "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NONCE));
    assert_false(papi_action_nonce_equal(
        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NONCE));
}

static void anti_forgery(void **state)
{
    papi_own_names names = { "localhost", NULL, NULL, NULL, "127.0.0.1", "http", { 8642, 0 } };
    const papi_own_names *own = &names;
    static const char form[] = "application/x-www-form-urlencoded";

    assert_null(papi_action_foreign(form, "http://127.0.0.1:8642", "same-origin", own));
    assert_null(papi_action_foreign(form, "http://localhost:8642", NULL, own));
    assert_null(papi_action_foreign("Application/X-WWW-Form-Urlencoded; charset=UTF-8", NULL,
                                    NULL, own));
    assert_non_null(papi_action_foreign(NULL, NULL, NULL, own));
    assert_non_null(papi_action_foreign("application/json", NULL, NULL, own));
    assert_non_null(papi_action_foreign("text/plain", NULL, NULL, own));
    assert_non_null(papi_action_foreign("multipart/form-data; boundary=x", NULL, NULL, own));
    assert_non_null(papi_action_foreign("application/x-www-form-urlencodedx", NULL, NULL, own));
    /* Another site, a rebinding name, an opaque origin, another port or scheme. */
    assert_non_null(papi_action_foreign(form, "http://evil.example", "cross-site", own));
    assert_non_null(papi_action_foreign(form, "http://evil.example:8642", NULL, own));
    assert_non_null(papi_action_foreign(form, "null", NULL, own));
    assert_non_null(papi_action_foreign(form, "http://127.0.0.1:8643", NULL, own));
    assert_non_null(papi_action_foreign(form, "https://127.0.0.1:8642", NULL, own));
    /* A same-site page on another port, or a post the user did not start from a page. */
    assert_non_null(papi_action_foreign(form, NULL, "same-site", own));
    assert_non_null(papi_action_foreign(form, NULL, "none", own));
    assert_non_null(papi_action_foreign(form, NULL, "cross-site", own));
}

static const char *parse(apr_pool_t *p, const char *body, papi_action *a)
{
    return papi_action_parse(p, body, strlen(body), a);
}

static void action_form(void **state)
{
    apr_pool_t *p = *state;
    papi_action a;

    assert_null(parse(p, "action=restart&instance=AbCd1234&group=%2Fsrv%2Fapp+%28production%29"
                         "&nonce=" NONCE, &a));
    assert_int_equal(a.kind, PAPI_ACTION_RESTART);
    assert_string_equal(a.instance, "AbCd1234");
    assert_string_equal(a.group, "/srv/app (production)");
    assert_string_equal(a.nonce, NONCE);
    assert_null(parse(p, "nonce=x&pid=2147483647&instance=Z&action=detach", &a));
    assert_int_equal(a.kind, PAPI_ACTION_DETACH);
    assert_int_equal(a.pid, 2147483647);
    assert_string_equal(a.nonce, "x");
    /* No nonce: parsed, for the caller's 403. */
    assert_null(parse(p, "action=detach&instance=Z&pid=12", &a));
    assert_null(a.nonce);
}

static void action_form_refused(void **state)
{
    apr_pool_t *p = *state;
    static const char *const bad[] = {
        "", "action=stop&instance=Z&pid=1", "instance=Z&pid=1", "action=detach&pid=1",
        "action=detach&instance=&pid=1", "action=detach&instance=a-b&pid=1",
        "action=detach&instance=Z&pid=0", "action=detach&instance=Z&pid=01",
        "action=detach&instance=Z&pid=-1", "action=detach&instance=Z&pid=2147483648",
        "action=detach&instance=Z&pid=1+", "action=detach&instance=Z",
        "action=detach&instance=Z&group=g", "action=restart&instance=Z&pid=1",
        "action=restart&instance=Z&group=", "action=restart&instance=Z&group=g&extra=1",
        "action=detach&instance=Z&pid=1&pid=2", "action=detach&instance=Z&pid=1&nonce=a&x=1",
    };
    papi_action a;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!parse(p, bad[i], &a))
            fail_msg("'%s' accepted", bad[i]);
    assert_non_null(papi_action_parse(p, NULL, 0, &a));
}

static void core_request_and_answer(void **state)
{
    apr_pool_t *p = *state;
    papi_action restart = { PAPI_ACTION_RESTART, "Z", "/srv/\"app\" (production)", 0, NULL };
    papi_action detach = { PAPI_ACTION_DETACH, "Z", NULL, 4242, NULL };
    papi_core_request req;

    papi_action_core_request(p, &restart, &req);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/pool/restart_app_group.json");
    assert_string_equal(req.content_type, "application/json");
    assert_string_equal(req.body, "{\"name\":\"/srv/\\\"app\\\" (production)\"}");
    assert_int_equal(req.body_len, strlen(req.body));
    papi_action_core_request(p, &detach, &req);
    assert_string_equal(req.path, "/pool/detach_process.json");
    assert_string_equal(req.body, "{\"pid\":4242}");

    assert_true(papi_action_succeeded(&restart, 200, "{ \"restarted\": true }\n", 22));
    assert_false(papi_action_succeeded(&restart, 200, "{ \"restarted\": false }\n", 23));
    assert_false(papi_action_succeeded(&restart, 200, "{ \"detached\": true }\n", 21));
    assert_false(papi_action_succeeded(&restart, 500, "{ \"restarted\": true }\n", 22));
    assert_true(papi_action_succeeded(&detach, 200, "{\"detached\":true}", 17));
    assert_false(papi_action_succeeded(&detach, 200, "not json", 8));
}

static void report_back(void **state)
{
    apr_pool_t *p = *state;
    papi_action restart = { PAPI_ACTION_RESTART, "Z", "/srv/app (production)&done=x", 0, NULL };
    papi_action detach = { PAPI_ACTION_DETACH, "Z", NULL, 4242, NULL };
    papi_action_done done;
    const char *why = NULL;

    assert_string_equal(papi_action_location(p, "/passenger-api/", &restart, 1),
                        "/passenger-api/?done=restarted&group=%2Fsrv%2Fapp+%28production%29%26done%3Dx");
    assert_string_equal(papi_action_location(p, "/", &detach, 0), "/?done=detach-failed&pid=4242");
    assert_string_equal(papi_action_location(p, "/api", &detach, 1), "/api/?done=detached&pid=4242");

    memset(&done, 0, sizeof(done));
    assert_int_equal(papi_action_done_field(p, "refresh", "5", &done, &why), 0);
    assert_int_equal(papi_action_done_field(p, "done", "restart-failed", &done, &why), 1);
    assert_int_equal(done.kind, PAPI_ACTION_RESTART);
    assert_false(done.ok);
    assert_non_null(papi_action_done_check(&done));
    assert_int_equal(papi_action_done_field(p, "group", "/srv/app", &done, &why), 1);
    assert_null(papi_action_done_check(&done));
    assert_int_equal(papi_action_done_field(p, "pid", "12", &done, &why), 1);
    assert_non_null(papi_action_done_check(&done));
    assert_int_equal(papi_action_done_field(p, "done", "rebooted", &done, &why), -1);
    assert_non_null(why);
    assert_int_equal(papi_action_done_field(p, "pid", "12x", &done, &why), -1);
    memset(&done, 0, sizeof(done));
    assert_null(papi_action_done_check(&done));
    done.pid = 3;
    assert_non_null(papi_action_done_check(&done));
}

PAPI_TEST_MAIN(
    PAPI_TEST(form_decodes),
    PAPI_TEST(form_refuses),
    PAPI_TEST(form_encodes_what_it_decodes),
    PAPI_TEST(nonce),
    PAPI_TEST(anti_forgery),
    PAPI_TEST(action_form),
    PAPI_TEST(action_form_refused),
    PAPI_TEST(core_request_and_answer),
    PAPI_TEST(report_back))
