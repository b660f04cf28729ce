/* The dashboard's actions: the form, the nonce, the anti-forgery rule, the core's call and the
 * report back to the page. */
#include "papi_action.h"
#include "papi_chars.h"
#include "papi_form.h"
#include "papi_policy.h"
#include "papi_registry.h"

#include <apr_strings.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The largest pid taken: Linux's pid_max is at most 2^22, a pid_t is 32 bits. */
#define PAPI_ACTION_PID_MAX 2147483647
/* A form carries action, instance, group or pid, and nonce. */
#define PAPI_ACTION_FIELDS 4

/* done=... in the dashboard's query: the kind, and whether it was done. */
static const struct {
    const char *code;
    papi_action_kind kind;
    int ok;
} papi_action_codes[] = {
    { "restarted",      PAPI_ACTION_RESTART, 1 },
    { "restart-failed", PAPI_ACTION_RESTART, 0 },
    { "detached",       PAPI_ACTION_DETACH,  1 },
    { "detach-failed",  PAPI_ACTION_DETACH,  0 },
};

const char *papi_action_nonce_text(apr_pool_t *p, const unsigned char *random)
{
    static const char hex[] = "0123456789abcdef";
    char *s = apr_palloc(p, 2 * PAPI_ACTION_NONCE_BYTES + 1);
    int i;

    for (i = 0; i < PAPI_ACTION_NONCE_BYTES; i++) {
        s[2 * i] = hex[random[i] >> 4];
        s[2 * i + 1] = hex[random[i] & 15];
    }
    s[2 * PAPI_ACTION_NONCE_BYTES] = '\0';
    return s;
}

int papi_action_nonce_equal(const char *given, const char *nonce)
{
    apr_size_t n = strlen(nonce), i;
    volatile unsigned char diff = 0;

    /* The length is no secret (every nonce has the same); the bytes are all compared. */
    if (!given || strlen(given) != n)
        return 0;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(given[i] ^ nonce[i]);
    return diff == 0;
}

const char *papi_action_foreign(const char *content_type, const char *origin,
                                const char *fetch_site, const papi_own_names *own)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *why;

    if (!content_type || strncasecmp(content_type, form, sizeof(form) - 1)
        || (content_type[sizeof(form) - 1] && content_type[sizeof(form) - 1] != ';'
            && content_type[sizeof(form) - 1] != ' '))
        return "the dashboard's actions take the dashboard's forms only "
               "(Content-Type: application/x-www-form-urlencoded)";
    if ((why = papi_policy_foreign(origin, fetch_site, own)) != NULL)
        return why;
    /* A form's post is never a navigation the user started ("none"). */
    if (fetch_site && strcasecmp(fetch_site, "same-origin"))
        return "Sec-Fetch-Site: the dashboard's actions are taken from its own pages only";
    return NULL;
}

/* A pid in digits only, 1 to PAPI_ACTION_PID_MAX; 0 when it is not one. */
static apr_int64_t papi_action_pid(const char *s)
{
    apr_size_t n = strspn(s, "0123456789");

    if (n == 0 || n > 10 || s[n] || *s == '0')
        return 0;
    return apr_atoi64(s) <= PAPI_ACTION_PID_MAX ? apr_atoi64(s) : 0;
}

const char *papi_action_parse(apr_pool_t *p, const char *body, apr_size_t len, papi_action *a)
{
    apr_array_header_t *fields;
    const char *why, *action, *pid;
    int i;

    memset(a, 0, sizeof(*a));
    if ((why = papi_form_parse(p, body ? body : "", body ? len : 0, PAPI_ACTION_FIELDS, &fields)))
        return apr_pstrcat(p, "the form: ", why, NULL);
    action = papi_form_get(fields, "action");
    if (action && !strcmp(action, "restart"))
        a->kind = PAPI_ACTION_RESTART;
    else if (action && !strcmp(action, "detach"))
        a->kind = PAPI_ACTION_DETACH;
    else
        return "the form: action is restart or detach";
    a->instance = papi_form_get(fields, "instance");
    if (!a->instance || !papi_instance_name_ok(a->instance))
        return "the form: instance is an instance's name, 1-64 letters and digits";
    if (a->kind == PAPI_ACTION_RESTART) {
        a->group = papi_form_get(fields, "group");
        if (!a->group || !*a->group)
            return "the form: restart needs group, the app group's name";
    } else {
        pid = papi_form_get(fields, "pid");
        if (!pid || !(a->pid = papi_action_pid(pid)))
            return "the form: detach needs pid, a process's pid";
    }
    a->nonce = papi_form_get(fields, "nonce");
    for (i = 0; i < fields->nelts; i++) {
        const char *name = APR_ARRAY_IDX(fields, i, papi_form_field).name;
        if (strcmp(name, "action") && strcmp(name, "instance") && strcmp(name, "nonce")
            && strcmp(name, a->kind == PAPI_ACTION_RESTART ? "group" : "pid"))
            return apr_pstrcat(p, "the form: no field is called ", name, NULL);
    }
    return NULL;
}

void papi_action_core_request(apr_pool_t *p, const papi_action *a, papi_core_request *req)
{
    json_t *o = a->kind == PAPI_ACTION_RESTART ? json_pack("{s:s}", "name", a->group)
                                               : json_pack("{s:I}", "pid", (json_int_t)a->pid);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    memset(req, 0, sizeof(*req));
    req->method = "POST";
    req->path = a->kind == PAPI_ACTION_RESTART ? "/pool/restart_app_group.json"
                                               : "/pool/detach_process.json";
    req->content_type = "application/json";
    req->body = text ? apr_pstrdup(p, text) : "{}";
    req->body_len = strlen(req->body);
    free(text);
    json_decref(o);
}

int papi_action_succeeded(const papi_action *a, int status, const char *body, apr_size_t len)
{
    json_t *o = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
    int done = json_is_true(json_object_get(o, a->kind == PAPI_ACTION_RESTART ? "restarted"
                                                                               : "detached"));

    json_decref(o);
    return done;
}

const char *papi_action_location(apr_pool_t *p, const char *base, const papi_action *a, int ok)
{
    apr_size_t n = strlen(base);
    const char *code = "";
    size_t i;

    while (n > 0 && base[n - 1] == '/')
        n--;
    for (i = 0; i < sizeof(papi_action_codes) / sizeof(papi_action_codes[0]); i++)
        if (papi_action_codes[i].kind == a->kind && papi_action_codes[i].ok == !!ok)
            code = papi_action_codes[i].code;
    if (a->kind == PAPI_ACTION_RESTART)
        return apr_pstrcat(p, apr_pstrmemdup(p, base, n), "/?done=", code, "&group=",
                           papi_form_encode(p, a->group), NULL);
    return apr_psprintf(p, "%s/?done=%s&pid=%" APR_INT64_T_FMT, apr_pstrmemdup(p, base, n), code,
                        a->pid);
}

int papi_action_done_field(apr_pool_t *p, const char *name, const char *value,
                           papi_action_done *done, const char **why)
{
    size_t i;

    if (!strcmp(name, "done")) {
        for (i = 0; i < sizeof(papi_action_codes) / sizeof(papi_action_codes[0]); i++)
            if (!strcmp(value, papi_action_codes[i].code)) {
                done->kind = papi_action_codes[i].kind;
                done->ok = papi_action_codes[i].ok;
                return 1;
            }
        *why = "done= is restarted, restart-failed, detached or detach-failed";
        return -1;
    }
    if (!strcmp(name, "group")) {
        done->group = apr_pstrdup(p, value);
        return 1;
    }
    if (!strcmp(name, "pid")) {
        if (!(done->pid = papi_action_pid(value))) {
            *why = "pid= is a process's pid";
            return -1;
        }
        return 1;
    }
    return 0;
}

const char *papi_action_done_check(const papi_action_done *done)
{
    int wants_group = done->kind == PAPI_ACTION_RESTART, wants_pid = done->kind == PAPI_ACTION_DETACH;

    if ((done->group != NULL) != wants_group || (done->pid != 0) != wants_pid)
        return "done= comes with group= after a restart, with pid= after a detach";
    return NULL;
}
