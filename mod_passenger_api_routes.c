/* mod_passenger_api's routes: what each URL under a <Location> answers, and how (the scan of
 * registries, the fan-out to instances, the pool views, requests to one process). */

#include "mod_passenger_api.h"

#include "http_protocol.h"

#include <apr_base64.h>
#include <apr_strings.h>

#include "papi_answer.h"
#include "papi_dashboard.h"
#include "papi_direct.h"
#include "papi_fanout.h"
#include "papi_health.h"
#include "papi_metrics.h"
#include "papi_processes.h"
#include "papi_request.h"
#include "papi_view.h"

#define PAPI_DASHBOARD_REFRESH 5
/* How long a health probe's result is shown with its process. */
#define PAPI_PROBE_MAX_AGE apr_time_from_sec(600)

/* The registry directories this request may see: the configured ones, narrowed by the registry
 * header where that is allowed. NULL with *why for a bad header. */
static apr_array_header_t *papi_request_registries(request_rec *r, const papi_dir_conf *c,
                                                   const char **why)
{
    const char *narrow = apr_table_get(r->headers_in, PAPI_REGISTRY_HEADER);

    if (narrow && papi_conf_registry_override(c)) {
        if ((*why = papi_registry_pattern_error(r->pool, narrow)) != NULL) {
            *why = apr_pstrcat(r->pool, PAPI_REGISTRY_HEADER ": ", *why, NULL);
            return NULL;
        }
    }
    else
        narrow = NULL;
    return papi_registry_expand(r->pool, papi_conf_registries(r->pool, c), narrow);
}

/* Every candidate instance this request may see; NULL with *why for a bad registry header. */
static apr_array_header_t *papi_scan(request_rec *r, const papi_dir_conf *c, const char **why)
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
static void papi_fanout_setup(request_rec *r, const papi_dir_conf *c, const papi_verdict *v,
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
}

static int papi_instances_json(request_rec *r, const papi_dir_conf *c)
{
    const char *why;
    apr_array_header_t *found;
    papi_buf *b;

    if (r->method_number != M_GET)
        return papi_refuse(r, HTTP_METHOD_NOT_ALLOWED, "instances.json answers GET and HEAD only");
    if (!(found = papi_scan(r, c, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    b = papi_buf_make(r->pool, 4096);
    papi_answer_instances(b, found);
    return papi_send_json(r, HTTP_OK, b);
}

static void papi_log_failures(request_rec *r, const apr_array_header_t *failures)
{
    int i;

    for (i = 0; i < failures->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(030) "%s",
                      APR_ARRAY_IDX(failures, i, const char *));
}

static int papi_aggregate(request_rec *r, const papi_dir_conf *c, const papi_verdict *v,
                          const papi_core_request *req)
{
    const char *why;
    apr_array_header_t *found = papi_scan(r, c, &why), *failures;
    papi_fanout_config f;
    papi_buf *b;

    if (!found)
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    papi_fanout_setup(r, c, v, &f);
    failures = apr_array_make(r->pool, 1, sizeof(const char *));
    b = papi_buf_make(r->pool, 8192);
    papi_fanout_aggregate(b, r->pool, &f, found, req, failures);
    papi_log_failures(r, failures);
    return papi_send_json(r, HTTP_OK, b);
}

/* The dashboard: one page whose only style sheet carries a fresh nonce, the one thing its CSP
 * lets in. */
static int papi_send_dashboard(request_rec *r, const papi_dir_conf *c,
                               const apr_array_header_t *views)
{
    unsigned char random[16];
    char *nonce = apr_palloc(r->pool, apr_base64_encode_len(sizeof(random)));
    papi_dashboard_opts opts;
    papi_buf *b = papi_buf_make(r->pool, 32768);

    if (apr_generate_random_bytes(random, sizeof(random)) != APR_SUCCESS)
        return papi_refuse(r, HTTP_INTERNAL_SERVER_ERROR, "no random bytes for the page's nonce");
    apr_base64_encode(nonce, (const char *)random, sizeof(random));
    opts.base = c->base;
    opts.now = apr_time_now();
    opts.refresh = PAPI_DASHBOARD_REFRESH;
    opts.nonce = nonce;
    opts.probes = papi_probe_table;
    opts.probe_max_age = PAPI_PROBE_MAX_AGE;
    papi_dashboard_write(b, r->pool, views, &opts);
    return papi_send_csp(r, HTTP_OK, "text/html; charset=utf-8",
                         apr_pstrcat(r->pool, "default-src 'none'; style-src 'nonce-", nonce,
                                     "'; frame-ancestors 'none'; base-uri 'none'; "
                                     "form-action 'none'", NULL),
                         b->data, b->len);
}

/* The names, scheme and ports this server is addressed by: what its configuration and the
 * connection say, never what the request says. */
/* Every candidate instance with its pool (read with core_path); NULL with *why for a bad
 * registry header. */
static apr_array_header_t *papi_views(request_rec *r, const papi_dir_conf *c, const char *core_path,
                                      papi_fanout_config *f, const char **why)
{
    static const papi_verdict read = { 0, NULL, 0, PAPI_CRED_RO, 0 };
    apr_array_header_t *found, *failures, *views;

    if (!(found = papi_scan(r, c, why)))
        return NULL;
    papi_fanout_setup(r, c, &read, f);
    failures = apr_array_make(r->pool, 1, sizeof(const char *));
    views = papi_view_collect(r->pool, f, found, core_path, failures);
    papi_log_failures(r, failures);
    return views;
}

/* The views drawn from every instance's pool.xml: processes.json, /metrics and the dashboard. */
static int papi_pool_view(request_rec *r, const papi_dir_conf *c, const char *rel)
{
    apr_time_t start = apr_time_now();
    const char *why;
    apr_array_header_t *views;
    papi_fanout_config f;
    papi_buf *b;

    if (r->method_number != M_GET)
        return papi_refuse(r, HTTP_METHOD_NOT_ALLOWED, apr_pstrcat(r->pool, *rel ? rel + 1 : "the "
                           "dashboard", " answers GET and HEAD only", NULL));
    if (!(views = papi_views(r, c, "/pool.xml", &f, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!strcmp(rel, "/processes.json")) {
        b = papi_buf_make(r->pool, 16384);
        papi_processes_write(b, views, apr_time_now(), papi_probe_table, PAPI_PROBE_MAX_AGE);
        return papi_send_json(r, HTTP_OK, b);
    }
    if (!strcmp(rel, "/metrics")) {
        papi_metrics_opts opts = { apr_time_now() - start, papi_conf_metrics_pid_label(c) };
        b = papi_buf_make(r->pool, 16384);
        papi_metrics_write(b, r->pool, views, &opts);
        return papi_send(r, HTTP_OK, PAPI_METRICS_TYPE, b->data, b->len);
    }
    return papi_send_dashboard(r, c, views);
}

/* health.json: every process probed at once, 200 when all are healthy, else 503. */
static int papi_health(request_rec *r, const papi_dir_conf *c)
{
    const char *why, *path = papi_conf_health_path(c);
    apr_array_header_t *views, *probes;
    papi_fanout_config f;
    papi_buf *b;

    if (r->method_number != M_GET)
        return papi_refuse(r, HTTP_METHOD_NOT_ALLOWED, "health.json answers GET and HEAD only");
    if (!(views = papi_views(r, c, "/pool.xml?secrets=true", &f, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    probes = papi_health_probe(r->pool, views, path, papi_fanout_deadline(&f), f.limits);
    papi_health_record(papi_probe_table, probes, apr_time_now());
    b = papi_buf_make(r->pool, 4096);
    return papi_send_json(r, papi_health_write(b, views, probes, path), b);
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

/* /processes/<pid>/<path>: the request straight to that process's HTTP socket. */
static int papi_direct(request_rec *r, const papi_dir_conf *c, const char *rel, const char *body,
                       apr_size_t body_len)
{
    const char *digits = rel + sizeof("/processes/") - 1, *path = digits + strspn(digits, "0123456789");
    const char *why, *target;
    apr_int64_t pid = apr_atoi64(digits);
    apr_array_header_t *views, *headers;
    papi_direct_request req;
    papi_direct_target t;
    papi_fanout_config f;
    papi_exchange x;
    papi_verdict v;
    int status;

    if (!papi_conf_process_requests(c))
        return papi_refuse(r, HTTP_FORBIDDEN, "requests to single processes are switched off here "
                           "(PassengerApiProcessRequests off)");
    if (path == digits || path - digits > 10 || (*path && *path != '/') || pid <= 0)
        return papi_refuse(r, HTTP_NOT_FOUND, "use /processes/<pid>/<path>, e.g. /processes/1234/");
    papi_policy_direct(papi_conf_access(c), r->method, body != NULL, &v);
    if (v.status)
        return papi_refuse(r, v.status, apr_pstrcat(r->pool, r->method, " ", rel, ": ", v.why, NULL));
    if ((why = v.write ? papi_forged(r) : papi_foreign(r)) != NULL)
        return papi_refuse(r, HTTP_FORBIDDEN, why);
    target = ap_escape_uri(r->pool, *path ? path : "/");
    if (r->args)
        target = apr_pstrcat(r->pool, target, "?", r->args, NULL);
    if ((why = papi_direct_target_error(target)) != NULL)
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!(views = papi_views(r, c, "/pool.xml?secrets=true", &f, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!papi_direct_find(views, pid, &t))
        return papi_refuse(r, HTTP_NOT_FOUND, apr_psprintf(r->pool, "no process %" APR_INT64_T_FMT
                           " in any good instance's pool (see processes.json)", pid));
    headers = apr_array_make(r->pool, 8, sizeof(papi_http_header));
    apr_table_do(papi_collect_header, headers, r->headers_in, NULL);
    req = (papi_direct_request){ r->method, target, headers, NULL, body, body_len };
    if ((why = papi_direct_prepare(r->pool, t.group, t.proc, &req, f.limits,
                                   papi_fanout_deadline(&f), &x, &status)) != NULL)
        return papi_refuse(r, status, why);
    if (v.write)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, PAPI_LOGNO(041) "%s %s forwarded to process "
                      "%" APR_INT64_T_FMT " of instance %s", r->method, target, pid,
                      t.view->inst->name);
    papi_exchange_run(r->pool, &x, 1);
    if (x.res.failure) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(032) "process %" APR_INT64_T_FMT
                      " of instance %s: %d %s", pid, t.view->inst->name, x.res.failure, x.res.error);
        return papi_refuse(r, x.res.failure, x.res.error);
    }
    papi_direct_scrub(r->pool, x.res.resp, t.group->api_key);
    return papi_relay_process(r, x.res.resp);
}

static int papi_one_instance(request_rec *r, const papi_dir_conf *c, const char *name,
                             const papi_verdict *v, const papi_core_request *req)
{
    int matches;
    const char *why;
    apr_array_header_t *found;
    const papi_instance *inst;
    papi_fanout_config f;
    papi_core_result res = { 0, NULL, NULL };

    if (!papi_instance_name_ok(name))
        return papi_refuse(r, HTTP_NOT_FOUND, "an instance name is 1-64 letters and digits");
    if (!(found = papi_scan(r, c, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!(inst = papi_pick(found, name, &matches)))
        return matches ? papi_refuse(r, HTTP_CONFLICT, apr_psprintf(r->pool, "%d good instances have "
                                     "names starting with '%s': give more of the name", matches, name))
                       : papi_refuse(r, HTTP_NOT_FOUND, apr_psprintf(r->pool, "no good instance is "
                                     "named '%s' (see instances.json)", name));
    papi_fanout_setup(r, c, v, &f);
    papi_fanout_call(r->pool, &f, inst, req, &res);
    if (res.failure) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(031) "instance %s (%s): %d %s",
                      inst->name, inst->path, res.failure, res.error);
        return papi_refuse(r, res.failure, res.error);
    }
    return papi_send(r, res.resp->status, papi_safe_type(res.resp), res.resp->body,
                     res.resp->body_len);
}

/* A core request: validated core path and query, this mode's verdict, and for writes the body. */
int papi_route(request_rec *r, const papi_dir_conf *c, const char *rel, const char *body,
               apr_size_t body_len)
{
    papi_core_request req = { "GET", NULL, NULL, NULL, NULL, NULL, 0 };
    papi_verdict v;
    const char *query, *why, *rest, *name = NULL;

    if (!strcmp(rel, "/instances.json"))
        return papi_instances_json(r, c);
    if (!*rel || !strcmp(rel, "/") || !strcmp(rel, "/processes.json") || !strcmp(rel, "/metrics"))
        return papi_pool_view(r, c, rel);
    if (!strcmp(rel, "/health.json"))
        return papi_health(r, c);
    if (!strncmp(rel, "/processes/", 11))
        return papi_direct(r, c, rel, body, body_len);
    if (!(query = papi_query_rebuild(r->pool, r->args, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!strncmp(rel, "/instances/", 11)) {
        name = rel + 11;
        rest = strchr(name, '/');
        if (!rest)
            return papi_refuse(r, HTTP_NOT_FOUND, "use /instances/<name>/<core path>, e.g. "
                               "/instances/AbCd1234/pool.txt");
        name = apr_pstrmemdup(r->pool, name, rest - name);
    }
    else
        rest = rel;
    if (!*rest || !strcmp(rest, "/"))
        return papi_refuse(r, HTTP_NOT_FOUND, "name a core path, e.g. /instances/<name>/pool.txt");
    if ((why = papi_core_path_error(rest)) != NULL)
        return papi_refuse(r, HTTP_NOT_FOUND, why);
    papi_policy_decide(papi_conf_access(c), r->method, rest, query, &v);
    if (v.status)
        return papi_refuse(r, v.status, apr_pstrcat(r->pool, r->method, " ", rest, ": ", v.why, NULL));
    if (v.write) {
        if ((why = papi_forged(r)) != NULL)
            return papi_refuse(r, HTTP_FORBIDDEN, why);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, PAPI_LOGNO(040) "%s %s%s%s forwarded to %s "
                      "with the admin credential", r->method, rest, *query ? "?" : "", query,
                      name ? name : "every good instance");
        req.method = r->method;
        req.body = body ? body : "";
        req.body_len = body_len;
        req.content_type = "application/json";
    }
    req.path = *query ? apr_pstrcat(r->pool, rest, "?", query, NULL) : rest;
    return name ? papi_one_instance(r, c, name, &v, &req) : papi_aggregate(r, c, &v, &req);
}

