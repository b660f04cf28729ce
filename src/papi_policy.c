#include "papi_policy.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

/* Passenger's state-changing endpoints (6.0.17: src/agent/Core/ApiServer.h's routes). */
static const char *const papi_write_endpoints[] = {
    "/shutdown.json", "/gc.json", "/reopen_logs.json", "/reinherit_logs.json",
    "/pool/restart_app_group.json", "/pool/detach_process.json", NULL
};

/* Readable with ro_admin, but full of what read-only mode must not show. */
static const char *const papi_secret_endpoints[] = { "/pool.json", "/config.json", NULL };

static int papi_listed(const char *const *list, const char *path)
{
    for (; *list; list++)
        if (!strcmp(*list, path))
            return 1;
    return 0;
}

/* A core path only POST, PUT or DELETE acts on: a read of it is answered 405. */
static int papi_is_write_endpoint(const char *path)
{
    apr_size_t n = strlen(path);

    return papi_listed(papi_write_endpoints, path)
        || (!strncmp(path, "/server/", 8) && n > 13 && !strcmp(path + n - 5, ".json"));
}

static int papi_has_param(const char *query, const char *name)
{
    apr_size_t n = strlen(name);
    const char *q;

    for (q = query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL)
        if (!strncmp(q, name, n) && q[n] == '=')
            return 1;
    return 0;
}

static void papi_refuse_with(papi_verdict *v, int status, const char *why)
{
    v->status = status;
    v->why = why;
}

void papi_policy_decide(papi_access mode, const char *method, const char *core_path,
                        const char *query, papi_verdict *v)
{
    int read = !strcmp(method, "GET") || !strcmp(method, "HEAD");

    memset(v, 0, sizeof(*v));
    v->write = !read;
    v->level = read ? PAPI_CRED_RO : PAPI_CRED_FULL;
    v->redact = (mode == PAPI_ACCESS_READONLY);
    v->known_405 = read && papi_is_write_endpoint(core_path);
    if (mode == PAPI_ACCESS_FULL) {
        if (!read && strcmp(method, "POST") && strcmp(method, "PUT") && strcmp(method, "DELETE"))
            papi_refuse_with(v, 405, "only GET, HEAD, POST, PUT and DELETE are forwarded");
        return;
    }
    if (!read)
        papi_refuse_with(v, 403, "this API is read-only (PassengerApiAccess readonly): only GET and "
                                 "HEAD are allowed");
    else if (v->known_405)
        return;
    else if (!strncmp(core_path, "/server/", 8))
        papi_refuse_with(v, 403, "below /server/ is Passenger's endpoint that disconnects clients: "
                                 "read-only mode forwards nothing there (PassengerApiAccess full "
                                 "does)");
    else if (papi_listed(papi_secret_endpoints, core_path))
        papi_refuse_with(v, 403, "this endpoint shows application environment variables and "
                                 "settings: only PassengerApiAccess full forwards it");
    else if (papi_has_param(query, "secrets"))
        papi_refuse_with(v, 403, "secrets=... is not available in read-only mode");
}

void papi_policy_direct(papi_access mode, const char *method, int has_body, papi_verdict *v)
{
    int read = !strcmp(method, "GET") || !strcmp(method, "HEAD");

    memset(v, 0, sizeof(*v));
    v->write = !read;
    if (read && has_body && mode != PAPI_ACCESS_FULL)
        papi_refuse_with(v, 403, "this API is read-only (PassengerApiAccess readonly): a GET or "
                                 "HEAD to a process carries no body");
    if (read)
        return;
    if (mode != PAPI_ACCESS_FULL)
        papi_refuse_with(v, 403, "this API is read-only (PassengerApiAccess readonly): only GET and "
                                 "HEAD reach a process");
    else if (strcmp(method, "POST") && strcmp(method, "PUT") && strcmp(method, "DELETE"))
        papi_refuse_with(v, 405, "only GET, HEAD, POST, PUT and DELETE are forwarded");
}

/* The media type of a Content-Type value, without parameters, is application/json. */
static int papi_is_json(const char *content_type)
{
    static const char json[] = "application/json";
    apr_size_t n = sizeof(json) - 1;

    if (!content_type || strncasecmp(content_type, json, n))
        return 0;
    for (content_type += n; *content_type == ' ' || *content_type == '\t'; content_type++)
        ;
    return *content_type == '\0' || *content_type == ';';
}

const char *papi_policy_foreign(const char *origin, const char *fetch_site,
                                const papi_own_names *own)
{
    if (origin && !papi_origin_is_own(own, origin))
        return "a request from another origin is refused (Origin is not one of this server's "
               "names, scheme and port)";
    if (fetch_site && strcasecmp(fetch_site, "same-origin") && strcasecmp(fetch_site, "none"))
        return "a request from another site is refused (Sec-Fetch-Site)";
    return NULL;
}

const char *papi_policy_forgery(const char *method, const char *content_type, const char *origin,
                                const char *fetch_site, const papi_own_names *own)
{
    if ((!strcmp(method, "POST") || !strcmp(method, "PUT")) && !papi_is_json(content_type))
        return "a write needs Content-Type: application/json";
    return papi_policy_foreign(origin, fetch_site, own);
}
