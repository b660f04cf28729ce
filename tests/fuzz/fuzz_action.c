/* libFuzzer target for the dashboard's action forms (papi_action_parse over papi_form_parse): an
 * accepted form names restart or detach, an instance of 1-64 letters and digits, a group that is
 * UTF-8 without control characters or a pid of 1 to 2^31-1; its report's URL
 * (papi_action_location) is a path under the base that the dashboard's query parser takes back
 * to the same group or pid; and every decoded value encoded again (papi_form_encode) decodes to
 * itself. */
#include <string.h>

#include <apr_strings.h>

#include "papi_action.h"
#include "papi_dashboard.h"
#include "papi_form.h"
#include "papi_fuzz.h"
#include "papi_registry.h"
#include "papi_utf8.h"

static void check_controls(const char *s)
{
    for (; *s; s++)
        CHECK((unsigned char)*s >= 0x20 && *s != 0x7F);
}

static void check_report(apr_pool_t *p, const papi_action *a)
{
    const char *location = papi_action_location(p, "/api/", a, 1), *query;
    papi_action_done done = { PAPI_ACTION_NONE, 0, NULL, 0 };
    int refresh = 5;

    CHECK(!strncmp(location, "/api/?done=", 11));
    query = location + 6;
    CHECK(papi_dashboard_query(p, query, &refresh, &done) == NULL);
    CHECK(done.kind == a->kind && done.ok && refresh == 5);
    if (a->kind == PAPI_ACTION_RESTART)
        CHECK(!strcmp(done.group, a->group));
    else
        CHECK(done.pid == a->pid);
}

static void check_reencoded(apr_pool_t *p, const apr_array_header_t *fields)
{
    int i;

    for (i = 0; i < fields->nelts; i++) {
        const papi_form_field *f = &APR_ARRAY_IDX(fields, i, papi_form_field);
        const char *again = apr_pstrcat(p, papi_form_encode(p, f->name), "=",
                                        papi_form_encode(p, f->value), NULL);
        apr_array_header_t *one;

        check_controls(f->name);
        check_controls(f->value);
        CHECK(papi_utf8_valid(f->name, strlen(f->name)) && papi_utf8_valid(f->value, strlen(f->value)));
        CHECK(papi_form_parse(p, again, strlen(again), 1, &one) == NULL);
        CHECK(one->nelts == 1 && !strcmp(APR_ARRAY_IDX(one, 0, papi_form_field).name, f->name)
              && !strcmp(APR_ARRAY_IDX(one, 0, papi_form_field).value, f->value));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *fields;
    papi_action a;
    char *in = malloc(size ? size : 1);

    CHECK(in != NULL);
    memcpy(in, data, size);
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    if (papi_form_parse(p, in, size, 8, &fields) == NULL)
        check_reencoded(p, fields);
    if (papi_action_parse(p, in, size, &a) == NULL) {
        CHECK(a.kind == PAPI_ACTION_RESTART || a.kind == PAPI_ACTION_DETACH);
        CHECK(papi_instance_name_ok(a.instance));
        if (a.kind == PAPI_ACTION_RESTART) {
            CHECK(a.group && *a.group && strlen(a.group) <= PAPI_FORM_FIELD_MAX);
            check_controls(a.group);
        } else {
            CHECK(a.pid >= 1 && a.pid <= 2147483647);
        }
        check_report(p, &a);
    }
    apr_pool_destroy(p);
    free(in);
    return 0;
}
