#include "papi_inflight.h"
#include "papi_utf8.h"

#include <apr_strings.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* evTimeToJson's object: "timestamp" (seconds since the epoch) and "relative_timestamp" (seconds
 * from the core's now, negative for the past). */
static const char *papi_inflight_time(json_t *t, papi_inflight *r)
{
    json_t *at, *rel;
    double age;

    if (!t || json_is_null(t))
        return NULL;
    at = json_object_get(t, "timestamp");
    rel = json_object_get(t, "relative_timestamp");
    if (!json_is_object(t) || !json_is_number(at) || !json_is_number(rel))
        return "started_at is not an object with timestamp and relative_timestamp numbers";
    if (!isfinite(json_number_value(at)) || json_number_value(at) < 0
        || json_number_value(at) > 1e11 || !isfinite(json_number_value(rel))
        || json_number_value(rel) < -1e9 || json_number_value(rel) > 1e9)
        return "started_at is out of range";
    r->started_at = (apr_time_t)(json_number_value(at) * APR_USEC_PER_SEC);
    /* A clock that stepped between the two readings makes a request "start" a little ahead. */
    age = -json_number_value(rel);
    r->age = age > 0 ? (apr_interval_time_t)(age * APR_USEC_PER_SEC) : 0;
    return NULL;
}

/* The process of the session checked out for the request: none yet, or one closed, is 0. */
static const char *papi_inflight_session(json_t *s, papi_inflight *r)
{
    json_t *pid;

    if (!s || json_is_null(s))
        return NULL;
    if (!json_is_object(s))
        return "session is not an object";
    pid = json_object_get(s, "pid");
    if (!pid)
        return NULL;
    if (!json_is_integer(pid) || json_integer_value(pid) < 1
        || json_integer_value(pid) > APR_INT32_MAX)
        return "session.pid is not a process id";
    r->pid = json_integer_value(pid);
    return NULL;
}

static const char *papi_inflight_request(json_t *req, papi_inflight *r)
{
    json_t *method = json_object_get(req, "method"), *path = json_object_get(req, "path");
    const char *why;

    if (!json_is_object(req))
        return "current_request is not an object";
    if (!json_is_string(method) || !json_is_string(path))
        return "a request has no method or path string";
    /* The document lives as long as the parse's pool (papi_inflight_parse): its strings are
     * kept as they are. */
    r->method = json_string_value(method);
    r->path = json_string_value(path);
    r->pid = 0;
    r->started_at = 0;
    r->age = -1;
    if ((why = papi_inflight_time(json_object_get(req, "started_at"), r)) != NULL)
        return why;
    return papi_inflight_session(json_object_get(req, "session"), r);
}

/* Every active client of one thread that has a request. */
static const char *papi_inflight_thread(json_t *thread, apr_array_header_t *reqs, int *total)
{
    json_t *clients = json_object_get(thread, "active_clients"), *client, *req;
    const char *key, *why;
    papi_inflight r;

    if (!clients)
        return NULL;
    if (!json_is_object(clients))
        return "active_clients is not an object";
    json_object_foreach(clients, key, client) {
        if (!json_is_object(client))
            return "a client is not an object";
        req = json_object_get(client, "current_request");
        if (!req || json_is_null(req))
            continue;       /* connected, between requests */
        if ((why = papi_inflight_request(req, &r)) != NULL)
            return why;
        ++*total;
        *(papi_inflight *)apr_array_push(reqs) = r;
    }
    return NULL;
}

/* Longest-running first; unknown ages last. */
static int papi_inflight_older(const void *a, const void *b)
{
    apr_interval_time_t x = ((const papi_inflight *)a)->age, y = ((const papi_inflight *)b)->age;

    return x == y ? 0 : x > y ? -1 : 1;
}

static apr_status_t papi_inflight_decref(void *json)
{
    json_decref(json);
    return APR_SUCCESS;
}

const char *papi_inflight_parse(apr_pool_t *p, const char *body, apr_size_t len,
                                apr_array_header_t **reqs, int *total)
{
    json_error_t err;
    json_t *doc, *thread;
    const char *key, *why;

    *total = 0;
    /* A request path of raw bytes that are not UTF-8 is written by the core as it came; jansson
     * would refuse the whole answer for it. */
    body = papi_utf8_repair(p, body, &len);
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        return apr_psprintf(p, "server.json is not JSON: %s", err.text);
    apr_pool_cleanup_register(p, doc, papi_inflight_decref, apr_pool_cleanup_null);
    if (!json_is_object(doc))
        return "server.json is not an object";
    *reqs = apr_array_make(p, 8, sizeof(papi_inflight));
    /* {"threads": N, "thread1": {...}, ...}: only the thread objects hold clients. */
    json_object_foreach(doc, key, thread) {
        if (strncmp(key, "thread", 6) || !strcmp(key, "threads"))
            continue;
        if (!json_is_object(thread))
            return apr_psprintf(p, "server.json's %s is not an object", key);
        if ((why = papi_inflight_thread(thread, *reqs, total)) != NULL)
            return apr_psprintf(p, "server.json's %s: %s", key, why);
    }
    /* The longest-running are kept: they are what an operator looks for. */
    qsort((*reqs)->elts, (size_t)(*reqs)->nelts, sizeof(papi_inflight), papi_inflight_older);
    if ((*reqs)->nelts > PAPI_INFLIGHT_MAX)
        (*reqs)->nelts = PAPI_INFLIGHT_MAX;
    return NULL;
}

int papi_inflight_count(const apr_array_header_t *reqs, apr_int64_t pid)
{
    int i, n = 0;

    for (i = 0; reqs && i < reqs->nelts; i++)
        n += APR_ARRAY_IDX(reqs, i, papi_inflight).pid == pid;
    return n;
}
