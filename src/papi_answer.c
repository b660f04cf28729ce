#include "papi_answer.h"
#include "papi_json.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>
#include <strings.h>

static int papi_dump_to_buf(const char *data, size_t size, void *baton)
{
    papi_buf_add(baton, data, size);
    return 0;
}

/* A registry's entries beyond the bound, as one element of the same shape: its instance_dir.path
 * is the registry's, its state "omitted", with the counts. */
static void papi_answer_summary(papi_buf *b, const papi_instance *inst)
{
    papi_buf_puts(b, "{\"instance_dir\":{\"path\":");
    papi_json_cstr(b, inst->path);
    papi_buf_printf(b, "},\"state\":\"omitted\",\"omitted\":%d,\"untrusted\":%d,"
                       "\"not_inspected\":%d,\"reason\":",
                    inst->more_untrusted + inst->more_uninspected, inst->more_untrusted,
                    inst->more_uninspected);
    papi_json_cstr(b, inst->reason);
    papi_buf_putc(b, '}');
}

static void papi_answer_instance_fresh(papi_buf *b, const papi_instance *inst)
{
    json_t *props = inst->properties, *obj, *dir;

    if (papi_instance_is_summary(inst)) {
        papi_answer_summary(b, inst);
        return;
    }

    /* A copy, so the instance's own properties stay as read; unknown keys are kept as they are. */
    obj = json_is_object(props) ? json_copy(props) : json_object();
    dir = json_object_get(obj, "instance_dir");
    dir = json_is_object(dir) ? json_copy(dir) : json_object();
    json_object_set_new(dir, "path", json_string(inst->path));
    json_object_set_new(obj, "instance_dir", dir);
    if (inst->state == PAPI_INST_GOOD)
        json_object_set_new(obj, "core_pid", inst->core_pid > 0 ? json_integer(inst->core_pid)
                                                                : json_null());
    json_object_set_new(obj, "state", json_string(papi_inst_state_name(inst->state)));
    if (inst->reason)
        json_object_set_new(obj, "reason", json_string(inst->reason));
    json_dump_callback(obj, papi_dump_to_buf, b, JSON_COMPACT);
    json_decref(obj);
}

void papi_answer_instance(papi_buf *b, const papi_instance *inst)
{
    if (inst->json)
        papi_buf_puts(b, inst->json);
    else
        papi_answer_instance_fresh(b, inst);
}

const char *papi_answer_instance_text(apr_pool_t *p, const papi_instance *inst)
{
    papi_buf *b = papi_buf_make(p, 1024);

    papi_answer_instance_fresh(b, inst);
    return apr_pstrmemdup(p, b->data, b->len);
}

/* Header names as PassengerAPI shows them (Ruby's each_capitalized): Content-Type. */
static const char *papi_capitalize(apr_pool_t *p, const char *name)
{
    char *out = apr_pstrdup(p, name), *c;
    int start = 1;

    for (c = out; *c; c++) {
        *c = start ? apr_toupper(*c) : apr_tolower(*c);
        start = (*c == '-');
    }
    return out;
}

/* The core's headers as one object; repeated names are joined with ", " as Ruby joins them. */
static void papi_answer_headers(papi_buf *b, apr_pool_t *p, const papi_http_response *resp)
{
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(const char *));
    apr_array_header_t *values = apr_array_make(p, 8, sizeof(const char *));
    int i, j;

    for (i = 0; i < resp->headers->nelts; i++) {
        const papi_http_header *h = &APR_ARRAY_IDX(resp->headers, i, papi_http_header);
        const char *name = papi_capitalize(p, h->name);
        for (j = 0; j < names->nelts; j++)
            if (!strcmp(APR_ARRAY_IDX(names, j, const char *), name))
                break;
        if (j < names->nelts) {
            APR_ARRAY_IDX(values, j, const char *) =
                apr_pstrcat(p, APR_ARRAY_IDX(values, j, const char *), ", ", h->value, NULL);
            continue;
        }
        APR_ARRAY_PUSH(names, const char *) = name;
        APR_ARRAY_PUSH(values, const char *) = h->value;
    }
    papi_buf_putc(b, '{');
    for (i = 0; i < names->nelts; i++) {
        if (i)
            papi_buf_putc(b, ',');
        papi_json_cstr(b, APR_ARRAY_IDX(names, i, const char *));
        papi_buf_putc(b, ':');
        papi_json_cstr(b, APR_ARRAY_IDX(values, i, const char *));
    }
    papi_buf_putc(b, '}');
}

void papi_answer_element(papi_buf *b, apr_pool_t *p, const papi_instance *inst,
                         const papi_exchange_result *res)
{
    papi_buf_puts(b, "{\"instance\":");
    papi_answer_instance(b, inst);
    if (res->failure) {
        papi_buf_printf(b, ",\"status\":%d,\"error\":", res->failure);
        papi_json_cstr(b, res->error);
        papi_buf_puts(b, ",\"header\":{},\"body\":\"\"}");
        return;
    }
    papi_buf_printf(b, ",\"status\":%d,\"header\":", res->resp->status);
    papi_answer_headers(b, p, res->resp);
    papi_buf_puts(b, ",\"body\":");
    papi_json_string(b, res->resp->body, res->resp->body_len);
    papi_buf_putc(b, '}');
}

void papi_answer_instances(papi_buf *b, const apr_array_header_t *instances)
{
    int i;

    papi_buf_putc(b, '[');
    for (i = 0; i < instances->nelts; i++) {
        if (i)
            papi_buf_putc(b, ',');
        papi_answer_instance(b, APR_ARRAY_IDX(instances, i, const papi_instance *));
    }
    papi_buf_puts(b, "]\n");
}

void papi_answer_error(papi_buf *b, int status, const char *error)
{
    papi_buf_printf(b, "{\"status\":%d,\"error\":", status);
    papi_json_cstr(b, error);
    papi_buf_puts(b, "}\n");
}

const char *papi_safe_type(const papi_http_response *resp)
{
    static const char *const relayed[] = { "application/json", "text/plain", "text/xml" };
    const char *type = papi_http_header_get(resp, "Content-Type");
    apr_size_t i, n;

    if (!type)
        return "application/octet-stream";
    n = strcspn(type, "; ");
    for (i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
        if (n == strlen(relayed[i]) && !strncasecmp(type, relayed[i], n))
            return relayed[i];
    return strncasecmp(type, "text/", 5) ? "application/octet-stream" : "text/plain";
}
