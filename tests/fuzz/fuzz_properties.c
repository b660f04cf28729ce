/* libFuzzer target for papi_properties_parse, the reader of properties.json (written by whoever
 * owns an instance directory). An accepted file must give a valid name and an object, and the
 * instance answer built from it must be one JSON object naming that instance. */
#include <jansson.h>
#include <string.h>

#include "papi_fuzz.h"
#include "papi_answer.h"
#include "papi_registry.h"

#define FIXED_PATH "/var/run/passenger-instreg/passenger.fuzz"

/* 1-64 of [A-Za-z0-9], checked here without the module's own helper. */
static int name_is_alnum(const char *name)
{
    size_t i, n = strlen(name);

    if (n < 1 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static void check_answer(apr_pool_t *p, json_t *props, const char *name)
{
    papi_instance inst;
    papi_buf *b = papi_buf_make(p, 0);
    json_error_t err;
    json_t *out, *dir;

    memset(&inst, 0, sizeof(inst));
    inst.registry = "/var/run/passenger-instreg";
    inst.dirname = "passenger.fuzz";
    inst.path = FIXED_PATH;
    inst.state = PAPI_INST_GOOD;
    inst.properties = props;
    inst.name = name;
    inst.core_pid = 1;
    papi_answer_instance(b, &inst);

    CHECK(strlen(b->data) == b->len);
    /* Exactly one value, nothing after it, no key twice. */
    out = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &err);
    CHECK(out != NULL && json_is_object(out));
    CHECK(json_is_string(json_object_get(out, "name")));
    CHECK(strcmp(json_string_value(json_object_get(out, "name")), name) == 0);
    CHECK(json_is_string(json_object_get(out, "state")));
    CHECK(strcmp(json_string_value(json_object_get(out, "state")), "good") == 0);
    CHECK(json_integer_value(json_object_get(out, "core_pid")) == 1);
    dir = json_object_get(out, "instance_dir");
    CHECK(json_is_object(dir) && json_is_string(json_object_get(dir, "path")));
    CHECK(strcmp(json_string_value(json_object_get(dir, "path")), FIXED_PATH) == 0);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    json_t *props = NULL;
    const char *name = NULL, *why;

    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    why = papi_properties_parse(p, (const char *)data, size, &props, &name);
    if (why == NULL) {
        CHECK(name != NULL && name_is_alnum(name) && papi_instance_name_ok(name));
        CHECK(json_is_object(props));
        check_answer(p, props, name);
    } else {
        CHECK(*why != '\0');
    }
    /* props belongs to the pool: destroying it frees the JSON too (LeakSanitizer would tell). */
    apr_pool_destroy(p);
    return 0;
}
