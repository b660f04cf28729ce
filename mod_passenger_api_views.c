/* mod_passenger_api's pool views: every instance's pool.xml read with the read-only credential,
 * drawn as the dashboard, processes.json and /metrics, and every process probed for health.json. */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include <apr_base64.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "papi_dashboard.h"
#include "papi_health.h"
#include "papi_metrics.h"
#include "papi_processes.h"
#include "papi_procstatus.h"
#include "papi_view.h"

#define PAPI_DASHBOARD_REFRESH 5
/* How long a health probe's result is shown with its process. */
#define PAPI_PROBE_MAX_AGE apr_time_from_sec(600)

/* Every candidate instance with its pool (read with core_path); NULL with *why for a bad
 * registry header. */
apr_array_header_t *papi_views(request_rec *r, const papi_dir_conf *c, const char *core_path,
                               papi_fanout_config *f, const char **why)
{
    static const papi_verdict read = { .level = PAPI_CRED_RO };
    apr_array_header_t *found, *failures, *views;

    if (!(found = papi_scan(r, c, why)))
        return NULL;
    papi_fanout_setup(r, c, &read, f);
    failures = apr_array_make(r->pool, 1, sizeof(const char *));
    views = papi_view_collect(r->pool, f, found, core_path, failures);
    papi_log_failures(r, failures);
    papi_rsshist_sample(papi_rss_table, r->pool, views, apr_time_now(), PAPI_PROC_ROOT);
    return views;
}

/* Every read instance's requests in flight (server.json), their paths scrubbed in read-only
 * mode as the core path's own answer is. */
static void papi_views_inflight(request_rec *r, const papi_dir_conf *c, apr_array_header_t *views,
                                papi_fanout_config *f)
{
    apr_array_header_t *failures = apr_array_make(r->pool, 1, sizeof(const char *));

    f->redact = papi_conf_access(c) == PAPI_ACCESS_READONLY;
    papi_view_inflight(r->pool, f, views, failures);
    papi_log_failures(r, failures);
}

/* The dashboard, reloaded every refresh seconds (0: never): one page whose only style sheet
 * carries a fresh nonce, the one thing its CSP lets in. In full mode its forms post the actions
 * (with the generation's nonce) to this server, and done is the last one's report. */
static int papi_send_dashboard(request_rec *r, const papi_dir_conf *c,
                               const apr_array_header_t *views, int refresh,
                               const papi_action_done *done)
{
    int full = papi_conf_access(c) == PAPI_ACCESS_FULL && papi_action_nonce;
    unsigned char random[16];
    char *nonce = apr_palloc(r->pool, apr_base64_encode_len(sizeof(random)));
    papi_dashboard_opts opts;
    papi_buf *b = papi_buf_make(r->pool, 32768);

    if (apr_generate_random_bytes(random, sizeof(random)) != APR_SUCCESS)
        return papi_refuse(r, HTTP_INTERNAL_SERVER_ERROR, "no random bytes for the page's nonce");
    apr_base64_encode(nonce, (const char *)random, sizeof(random));
    opts.base = c->base;
    opts.now = apr_time_now();
    opts.refresh = refresh;
    opts.nonce = nonce;
    opts.probes = papi_probe_table;
    opts.probe_max_age = PAPI_PROBE_MAX_AGE;
    opts.action_nonce = full ? papi_action_nonce : NULL;
    opts.done = done;
    opts.rss = papi_rss_table;
    papi_dashboard_write(b, r->pool, views, &opts);
    return papi_send_csp(r, HTTP_OK, "text/html; charset=utf-8",
                         apr_pstrcat(r->pool, "default-src 'none'; style-src 'nonce-", nonce,
                                     "'; frame-ancestors 'none'; base-uri 'none'; "
                                     "form-action ", full ? "'self'" : "'none'", NULL),
                         b->data, b->len);
}

/* The pool views: every instance's pool.xml, drawn as the dashboard, processes.json or /metrics. */
int papi_route_dashboard(const papi_call *k)
{
    const char *why;
    apr_array_header_t *views;
    papi_fanout_config f;
    int refresh = PAPI_DASHBOARD_REFRESH;
    papi_action_done done = { PAPI_ACTION_NONE, 0, NULL, 0 };

    /* ?refresh=N, as mod_status's page takes it; after an action, its report. */
    if ((why = papi_dashboard_query(k->r->pool, k->r->args, &refresh, &done)) != NULL)
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    if (!(views = papi_views(k->r, k->c, "/pool.xml", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    papi_views_inflight(k->r, k->c, views, &f);
    return papi_send_dashboard(k->r, k->c, views, refresh, &done);
}

int papi_route_processes_json(const papi_call *k)
{
    const char *why;
    apr_array_header_t *views;
    papi_fanout_config f;
    papi_buf *b;

    if (!(views = papi_views(k->r, k->c, "/pool.xml", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    papi_views_inflight(k->r, k->c, views, &f);
    b = papi_buf_make(k->r->pool, 16384);
    papi_processes_write(b, views, apr_time_now(), papi_probe_table, PAPI_PROBE_MAX_AGE,
                         papi_rss_table);
    return papi_send_json(k->r, HTTP_OK, b);
}

/* The host's name, passenger-exporter's hostname label. */
static const char *papi_hostname(apr_pool_t *p)
{
    char *name = apr_palloc(p, APRMAXHOSTLEN + 1);

    return apr_gethostname(name, APRMAXHOSTLEN + 1, p) == APR_SUCCESS ? name : "";
}

int papi_route_metrics(const papi_call *k)
{
    const char *why;
    apr_array_header_t *views;
    papi_fanout_config f;
    papi_metrics_opts opts;
    papi_buf *b;

    if (!(views = papi_views(k->r, k->c, "/pool.xml", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    opts = (papi_metrics_opts){ .scrape_duration = apr_time_now() - k->start,
                                .pid_label = papi_conf_metrics_pid_label(k->c),
                                .names = papi_conf_metrics_names(k->c),
                                .hostname = papi_hostname(k->r->pool), .probes = papi_probe_table,
                                .now = apr_time_now(), .probe_max_age = PAPI_PROBE_MAX_AGE };
    b = papi_buf_make(k->r->pool, 16384);
    papi_metrics_write(b, k->r->pool, views, &opts);
    return papi_send(k->r, HTTP_OK, PAPI_METRICS_TYPE, b->data, b->len);
}

/* health.json: every process probed at once, 200 when all are healthy, else 503. */
int papi_route_health(const papi_call *k)
{
    const char *why, *path = papi_conf_health_path(k->c);
    apr_array_header_t *views, *probes;
    papi_fanout_config f;
    papi_buf *b;

    if (!(views = papi_views(k->r, k->c, "/pool.xml?secrets=true", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    probes = papi_health_probe(k->r->pool, views, path, papi_fanout_deadline(&f), f.limits,
                               PAPI_PROC_ROOT);
    papi_health_record(papi_probe_table, probes, apr_time_now());
    b = papi_buf_make(k->r->pool, 4096);
    return papi_send_json(k->r, papi_health_write(b, views, probes, path), b);
}
