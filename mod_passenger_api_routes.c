/* mod_passenger_api's routes: the table of what each URL under a <Location> answers, the scan of
 * registries and the fan-out to instances, core paths and requests to one process (the pool
 * views are in mod_passenger_api_views.c). */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include "http_protocol.h"

#include <apr_strings.h>

#include "papi_action.h"
#include "papi_answer.h"
#include "papi_direct.h"
#include "papi_fanout.h"
#include "papi_procstatus.h"
#include "papi_redact.h"
#include "papi_request.h"

/* The registry directories this request may see (PassengerApiRegistryOverride says what the
 * registry header does). NULL with *why for a bad header. */
static apr_array_header_t *papi_request_registries(request_rec *r, const papi_dir_conf *c,
                                                   const char **why)
{
    papi_registry_override o = papi_conf_registry_override(r->pool, c);
    apr_array_header_t *dirs;

    o.globs = papi_globs;
    dirs = papi_registry_for_request(r->pool, &o, apr_table_get(r->headers_in,
                                     PAPI_REGISTRY_HEADER), why);

    if (!dirs)
        *why = apr_pstrcat(r->pool, PAPI_REGISTRY_HEADER ": ", *why, NULL);
    return dirs;
}

/* Every candidate instance this request may see; NULL with *why for a bad registry header. */
apr_array_header_t *papi_scan(request_rec *r, const papi_dir_conf *c, const char **why)
{
    apr_array_header_t *dirs = papi_request_registries(r, c, why), *notes, *warnings, *found;
    papi_trust trust;
    int i;

    if (!dirs)
        return NULL;
    notes = apr_array_make(r->pool, 2, sizeof(const char *));
    warnings = apr_array_make(r->pool, 1, sizeof(const char *));
    trust = papi_conf_trust(r->pool, c);
    found = papi_instcache_scan(papi_cache, r->pool, dirs, &trust, notes, warnings);
    papi_stats_scanned(papi_stats_table, found, apr_time_now());
    for (i = 0; i < notes->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, PAPI_LOGNO(021) "%s",
                      APR_ARRAY_IDX(notes, i, const char *));
    /* A registry beyond the bound: once per child (the cache says when), never per request. */
    for (i = 0; i < warnings->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(060) "%s",
                      APR_ARRAY_IDX(warnings, i, const char *));
    return found;
}

/* How this request asks instances: its deadlines, limits, credential and scrubbing. */
void papi_fanout_setup(request_rec *r, const papi_dir_conf *c, const papi_verdict *v,
                       papi_fanout_config *f)
{
    papi_http_limits *limits = apr_palloc(r->pool, sizeof(*limits));

    *limits = papi_http_default_limits;
    limits->max_body = (apr_size_t)papi_conf_limit_answer(c);
    f->timeout = papi_conf_timeout(c);
    f->request_deadline = r->request_time + papi_conf_request_timeout(c);
    f->max_instances = papi_conf_max_instances(c);
    f->level = v->level;
    f->redact = v->redact;
    f->helper_socket = papi_helper_socket;
    f->limits = limits;
    f->cache = papi_cache;
    f->coalesce = papi_coalescer;
    f->stats = papi_stats_table;
    f->parsed = papi_parsed;
}

void papi_log_failures(request_rec *r, const apr_array_header_t *failures)
{
    int i;

    for (i = 0; i < failures->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(030) "%s",
                      APR_ARRAY_IDX(failures, i, const char *));
}

/* ---- the routes that ask instances or processes ----------------------------------------------- */

static int papi_instances_json(const papi_call *k)
{
    const char *why;
    apr_array_header_t *found;
    papi_buf *b;

    if (!(found = papi_scan(k->r, k->c, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    b = papi_buf_make(k->r->pool, 4096);
    papi_answer_instances(b, found);
    return papi_send_json(k->r, HTTP_OK, b);
}

/* The access mode's verdict v on a request to what, for every route that may write: refused as
 * decided, or as a forged write, or (to_process: a process's own pages may act on a read) as a
 * read another site made the browser send. 0 when admitted, else the status to refuse with and
 * *why. */
static int papi_admit(request_rec *r, const papi_verdict *v, const char *what, int to_process,
                      const char **why)
{
    if (v->status) {
        *why = apr_pstrcat(r->pool, r->method, " ", what, ": ", v->why, NULL);
        return v->status;
    }
    *why = v->write ? papi_forged(r) : to_process ? papi_foreign(r) : NULL;
    return *why ? HTTP_FORBIDDEN : 0;
}

static int papi_collect_header(void *headers, const char *name, const char *value)
{
    APR_ARRAY_PUSH((apr_array_header_t *)headers, papi_http_header) =
        (papi_http_header){ name, value };
    return 1;
}

/* Relays a process's answer: its status, body and allowed headers, in a sandbox of its own so
 * nothing it says can script this API's origin. */
static int papi_relay_process(request_rec *r, const papi_http_response *resp)
{
    const char *type = papi_http_header_get(resp, "Content-Type");
    int i;

    for (i = 0; i < resp->headers->nelts; i++) {
        const papi_http_header *h = &APR_ARRAY_IDX(resp->headers, i, papi_http_header);
        if (papi_direct_header_relayed(h->name))
            apr_table_add(r->headers_out, h->name, h->value);
    }
    return papi_send_csp(r, resp->status, type ? type : "application/octet-stream",
                         "default-src 'none'; sandbox; frame-ancestors 'none'", resp->body,
                         resp->body_len);
}

/* What the request cost the process: its resident memory (kB) just before it was sent and just
 * after its answer ended, when /proc told them. */
static void papi_rss_headers(request_rec *r, apr_int64_t before, apr_int64_t after)
{
    if (before >= 0)
        apr_table_setn(r->headers_out, "X-Passenger-Api-Rss-Before",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, before));
    if (after >= 0)
        apr_table_setn(r->headers_out, "X-Passenger-Api-Rss-After",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, after));
}

/* /processes/<pid>/<path>: the request straight to that process's HTTP socket. */
static int papi_direct(const papi_call *k)
{
    request_rec *r = k->r;
    const char *digits = k->rel + sizeof("/processes/") - 1, *path = digits + strspn(digits, "0123456789");
    const char *why, *target;
    apr_int64_t pid = apr_atoi64(digits);
    apr_array_header_t *views, *headers;
    papi_direct_request req;
    papi_direct_target t;
    papi_fanout_config f;
    papi_exchange x;
    papi_verdict v;
    apr_int64_t rss_before;
    int status;

    if (!papi_conf_process_requests(k->c))
        return papi_refuse(r, HTTP_FORBIDDEN, "requests to single processes are switched off here "
                           "(PassengerApiProcessRequests off)");
    if (path == digits || path - digits > 10 || (*path && *path != '/') || pid <= 0)
        return papi_refuse(r, HTTP_NOT_FOUND, "use /processes/<pid>/<path>, e.g. /processes/1234/");
    papi_policy_direct(papi_conf_access(k->c), r->method, k->body != NULL, &v);
    if ((status = papi_admit(r, &v, k->rel, 1, &why)) != 0)
        return papi_refuse(r, status, why);
    target = ap_escape_uri(r->pool, *path ? path : "/");
    if (r->args)
        target = apr_pstrcat(r->pool, target, "?", r->args, NULL);
    if ((why = papi_direct_target_error(target)) != NULL)
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!(views = papi_views(r, r->pool, k->c, "/pool.xml?secrets=true", &f, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!papi_direct_find(views, pid, &t))
        return papi_refuse(r, HTTP_NOT_FOUND, apr_psprintf(r->pool, "no process %" APR_INT64_T_FMT
                           " in any good instance's pool (see processes.json)", pid));
    headers = apr_array_make(r->pool, 8, sizeof(papi_http_header));
    apr_table_do(papi_collect_header, headers, r->headers_in, NULL);
    req = (papi_direct_request){ r->method, target, headers, NULL, k->body, k->body_len };
    if ((why = papi_direct_prepare(r->pool, t.group, t.proc, &req, f.limits,
                                   papi_fanout_deadline(&f), &x, &status)) != NULL)
        return papi_refuse(r, status, why);
    if (v.write)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, PAPI_LOGNO(041) "%s %s forwarded to process "
                      "%" APR_INT64_T_FMT " of instance %s", r->method, target, pid,
                      t.view->inst->name);
    rss_before = papi_procstatus_rss(r->pool, PAPI_PROC_ROOT, pid, t.group->uid);
    papi_exchange_run(r->pool, &x, 1);
    papi_rss_headers(r, rss_before,
                     papi_procstatus_rss(r->pool, PAPI_PROC_ROOT, pid, t.group->uid));
    if (x.res.failure) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(032) "process %" APR_INT64_T_FMT
                      " of instance %s: %d %s", pid, t.view->inst->name, x.res.failure, x.res.error);
        return papi_refuse(r, x.res.failure, x.res.error);
    }
    papi_redact_secret(r->pool, x.res.resp, t.group->api_key);
    return papi_relay_process(r, x.res.resp);
}

/* A request for a core: its path rest (after /instances/<name> when name is set) and query
 * checked, the access mode's verdict *v, and *req with, for writes, the body. NULL, or why not
 * with *status. */
static const char *papi_core_request_of(const papi_call *k, const char *rest, const char *query,
                                        const char *name, papi_verdict *v, papi_core_request *req,
                                        int *status)
{
    request_rec *r = k->r;
    const char *why;

    *status = HTTP_NOT_FOUND;
    if (!*rest || !strcmp(rest, "/"))
        return "name a core path, e.g. /instances/<name>/pool.txt";
    if ((why = papi_core_path_error(rest)) != NULL)
        return why;
    papi_policy_decide(papi_conf_access(k->c), r->method, rest, query, v);
    if ((*status = papi_admit(r, v, rest, 0, &why)) != 0)
        return why;
    *req = (papi_core_request){ "GET", NULL, NULL, NULL, NULL, NULL, 0, NULL };
    if (v->known_405)
        req->known = papi_core_405(r->pool);
    if (v->write) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, PAPI_LOGNO(040) "%s %s%s%s forwarded to %s "
                      "with the admin credential", r->method, rest, *query ? "?" : "", query,
                      name ? name : "every good instance");
        req->method = r->method;
        req->body = k->body ? k->body : "";
        req->body_len = k->body_len;
        req->content_type = "application/json";
    }
    req->path = *query ? apr_pstrcat(r->pool, rest, "?", query, NULL) : rest;
    return NULL;
}

/* A core path, asked of every good instance: the aggregate array. */
static int papi_core_all(const papi_call *k)
{
    request_rec *r = k->r;
    const char *query, *why;
    apr_array_header_t *found, *failures;
    papi_core_request req;
    papi_fanout_config f;
    papi_verdict v;
    papi_buf *b;
    int status;

    if (!(query = papi_query_rebuild(r->pool, r->args, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if ((why = papi_core_request_of(k, k->rel, query, NULL, &v, &req, &status)) != NULL)
        return papi_refuse(r, status, why);
    if (!(found = papi_scan(r, k->c, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    papi_fanout_setup(r, k->c, &v, &f);
    failures = apr_array_make(r->pool, 1, sizeof(const char *));
    b = papi_buf_make(r->pool, 8192);
    papi_fanout_aggregate(b, r->pool, &f, found, &req, failures);
    papi_log_failures(r, failures);
    return papi_send_json(r, HTTP_OK, b);
}

/* /instances/<name>/<core path>: one instance, picked by its name or a prefix of it; its answer
 * relayed as it is, in a media type nothing runs. */
static int papi_core_one(const papi_call *k)
{
    request_rec *r = k->r;
    const char *query, *why, *rest, *name = k->rel + sizeof("/instances/") - 1;
    const papi_instance *inst;
    apr_array_header_t *found;
    papi_exchange_result res = { 0, NULL, NULL };
    papi_core_request req;
    papi_fanout_config f;
    papi_verdict v;
    int status, matches;

    if (!(query = papi_query_rebuild(r->pool, r->args, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!(rest = strchr(name, '/')))
        return papi_refuse(r, HTTP_NOT_FOUND, "use /instances/<name>/<core path>, e.g. "
                           "/instances/AbCd1234/pool.txt");
    name = apr_pstrmemdup(r->pool, name, rest - name);
    if ((why = papi_core_request_of(k, rest, query, name, &v, &req, &status)) != NULL)
        return papi_refuse(r, status, why);
    if (!papi_instance_name_ok(name))
        return papi_refuse(r, HTTP_NOT_FOUND, "an instance name is 1-64 letters and digits");
    if (!(found = papi_scan(r, k->c, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!(inst = papi_pick(found, name, &matches)))
        return matches ? papi_refuse(r, HTTP_CONFLICT, apr_psprintf(r->pool, "%d good instances have "
                                     "names starting with '%s': give more of the name", matches, name))
                       : papi_refuse(r, HTTP_NOT_FOUND, apr_psprintf(r->pool, "no good instance is "
                                     "named '%s' (see instances.json)", name));
    papi_fanout_setup(r, k->c, &v, &f);
    papi_fanout_call(r->pool, &f, inst, &req, &res);
    if (res.failure) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(031) "instance %s (%s): %d %s",
                      inst->name, inst->path, res.failure, res.error);
        return papi_refuse(r, res.failure, res.error);
    }
    return papi_send(r, res.resp->status, papi_safe_type(res.resp), res.resp->body,
                     res.resp->body_len);
}

/* /health: PassengerAPI's liveness URL, for load balancers. It says this server answers, nothing
 * more: no registry is read and no core is asked (health.json does that). */
static int papi_liveness(const papi_call *k)
{
    return papi_send(k->r, HTTP_OK, "text/plain", "OK\n", 3);
}

/* ---- the table -------------------------------------------------------------------------------- */

/* The methods a route takes: GET and HEAD only, whatever the access mode (this module's own
 * reads, with the read-only credential); or what the access mode allows for the method and path
 * (papi_policy: writes need full access, and are checked for forgery by papi_admit). */
typedef enum { PAPI_GET_HEAD, PAPI_BY_ACCESS } papi_methods;

typedef struct papi_route_row {
    const char *path;
    int prefix;                     /* path is a prefix of the URLs it takes, else the URL */
    papi_methods methods;
    const char *name;               /* how a refusal names it */
    int (*answer)(const papi_call *k);
} papi_route_row;

/* In order: the first row that matches answers. */
static const papi_route_row papi_routes[] = {
    /* path               prefix  methods          name               answer */
    { "",                 0,      PAPI_GET_HEAD,   "the dashboard",   papi_route_dashboard },
    { "/",                0,      PAPI_GET_HEAD,   "the dashboard",   papi_route_dashboard },
    { "/processes.json",  0,      PAPI_GET_HEAD,   "processes.json",  papi_route_processes_json },
    { "/metrics",         0,      PAPI_GET_HEAD,   "metrics",         papi_route_metrics },
    { "/instances.json",  0,      PAPI_GET_HEAD,   "instances.json",  papi_instances_json },
    { "/health.json",     0,      PAPI_GET_HEAD,   "health.json",     papi_route_health },
    { "/health",          0,      PAPI_GET_HEAD,   "health",          papi_liveness },
    { PAPI_ACTION_PATH,   0,      PAPI_BY_ACCESS,  NULL,              papi_route_actions },
    { "/processes/",      1,      PAPI_BY_ACCESS,  NULL,              papi_direct },
    { "/instances/",      1,      PAPI_BY_ACCESS,  NULL,              papi_core_one },
    { "",                 1,      PAPI_BY_ACCESS,  NULL,              papi_core_all },
};

int papi_route(request_rec *r, const papi_dir_conf *c, const char *rel, const char *body,
               apr_size_t body_len)
{
    papi_call k = { r, c, rel, body, body_len, apr_time_now() };
    const papi_route_row *row = papi_routes;

    while (row->prefix ? strncmp(rel, row->path, strlen(row->path)) : strcmp(rel, row->path))
        row++;
    if (row->methods == PAPI_GET_HEAD && r->method_number != M_GET)
        return papi_refuse(r, HTTP_METHOD_NOT_ALLOWED, apr_pstrcat(r->pool, row->name,
                           " answers GET and HEAD only", NULL));
    return row->answer(&k);
}
