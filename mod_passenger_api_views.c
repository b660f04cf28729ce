/* mod_passenger_api's pool views: every instance's pool.xml read with the read-only credential,
 * drawn as the dashboard, processes.json and /metrics, and every process probed for health.json. */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include <apr_base64.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "http_protocol.h"
#include "util_filter.h"

#include "papi_alloc.h"
#include "papi_dashboard.h"
#include "papi_health.h"
#include "papi_metrics.h"
#include "papi_processes.h"
#include "papi_procstatus.h"
#include "papi_view.h"

#define PAPI_DASHBOARD_REFRESH 5
/* Processes in a view from which its memory is given back to the system once written. */
#define PAPI_VIEW_TRIM 2000
/* How long a health probe's result is shown with its process. */
#define PAPI_PROBE_MAX_AGE apr_time_from_sec(600)

/* Hands on what a streamed answer's buffer holds: the headers with the first piece (no
 * Content-Length: chunked, or the end of the connection for HTTP/1.0), each piece flushed to
 * the client before the buffer is written again. A HEAD's pieces are only counted, so it gets
 * the Content-Length its GET would have had. */
static void papi_stream_pass(void *ctx, const char *data, apr_size_t len)
{
    papi_stream *st = ctx;
    request_rec *r = st->r;

    if (!st->started) {
        papi_set_headers(r, st->status, st->type, st->csp);
        st->started = 1;
    }
    st->sent += len;
    if (r->header_only || st->failed)
        return;
    if (!st->bb)
        st->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(st->bb, apr_bucket_transient_create(data, len, st->bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(st->bb, apr_bucket_flush_create(st->bb->bucket_alloc));
    /* A client gone is not an error of ours: what is left is made and dropped. */
    if (ap_pass_brigade(r->output_filters, st->bb) != APR_SUCCESS)
        st->failed = 1;
    apr_brigade_cleanup(st->bb);
}

papi_buf *papi_stream_start(request_rec *r, papi_stream *st, int status, const char *type,
                            const char *csp)
{
    papi_buf *b = papi_buf_make(r->pool, 16384);

    *st = (papi_stream){ .r = r, .status = status, .type = type, .csp = csp ? csp : PAPI_CSP };
    papi_buf_stream(b, papi_stream_pass, st, PAPI_STREAM_PIECE);
    return b;
}

int papi_stream_end(papi_stream *st, papi_buf *b)
{
    request_rec *r = st->r;

    /* An answer smaller than one piece goes as every other answer does, with its length. */
    if (!st->started)
        return papi_send_csp(r, st->status, st->type, st->csp, b->data, b->len);
    papi_stream_pass(st, b->data, b->len);
    b->len = 0;
    if (r->header_only)
        ap_set_content_length(r, st->sent);
    return OK;
}

/* Every candidate instance with its pool (read with core_path, in p); NULL with *why for a bad
 * registry header. */
apr_array_header_t *papi_views(request_rec *r, apr_pool_t *p, const papi_dir_conf *c,
                               const char *core_path, papi_fanout_config *f, const char **why)
{
    static const papi_verdict read = { .level = PAPI_CRED_RO };
    apr_array_header_t *found, *failures, *views;

    if (!(found = papi_scan(r, c, why)))
        return NULL;
    papi_fanout_setup(r, c, &read, f);
    failures = apr_array_make(p, 1, sizeof(const char *));
    views = papi_view_collect(p, f, found, core_path, failures);
    papi_log_failures(r, failures);
    papi_rsshist_sample(papi_rss_table, p, views, apr_time_now(), PAPI_PROC_ROOT);
    return views;
}

/* Where every pool view's work lives in this child (the cores' answers, the models, the
 * writers' scratch): an allocator of its own, shared by the child's threads, that keeps
 * PAPI_VIEW_KEEP_FREE of what views give back. A small view reuses blocks as it would from its
 * request's allocator; a large one gives all but that back to malloc when it is written, instead
 * of leaving its connection's allocator (MaxMemFree, per connection) holding its size. */
#define PAPI_VIEW_KEEP_FREE (1024 * 1024)
static apr_allocator_t *papi_view_allocator;

void papi_views_child_init(apr_pool_t *pchild)
{
    papi_view_allocator = papi_shared_allocator(pchild, PAPI_VIEW_KEEP_FREE);
}

/* A view's pool: a child of r's (gone with it at the latest), drawn from the views' allocator
 * (r's own when there is none). */
static apr_pool_t *papi_view_pool(request_rec *r)
{
    apr_pool_t *p;

    if (apr_pool_create_ex(&p, r->pool, NULL, papi_view_allocator) != APR_SUCCESS)
        return r->pool;
    return p;
}

/* After a pool view is written: its pool freed (what the views' allocator keeps beyond
 * PAPI_VIEW_KEEP_FREE goes back to malloc), and after a large one (PAPI_VIEW_TRIM processes or
 * more) the memory malloc keeps unused given back to the system, so that a child is not left the
 * size of the largest answer it ever made, once per thread's malloc arena. */
static int papi_view_pool_end(request_rec *r, apr_pool_t *p, const apr_array_header_t *views,
                              int done)
{
    int large = views && papi_view_process_count(views) >= PAPI_VIEW_TRIM;

    if (p != r->pool)
        apr_pool_destroy(p);
#ifdef __GLIBC__
    if (large)
        malloc_trim(0);
#endif
    return done;
}

/* Every read instance's requests in flight (server.json), their paths scrubbed in read-only
 * mode as the core path's own answer is. */
static void papi_views_inflight(request_rec *r, apr_pool_t *p, const papi_dir_conf *c,
                                apr_array_header_t *views, papi_fanout_config *f)
{
    apr_array_header_t *failures = apr_array_make(p, 1, sizeof(const char *));

    f->redact = papi_conf_access(c) == PAPI_ACCESS_READONLY;
    papi_view_inflight(p, f, views, failures);
    papi_log_failures(r, failures);
}

/* The dashboard, reloaded every refresh seconds (0: never): one page whose only style sheet
 * carries a fresh nonce, the one thing its CSP lets in. In full mode its forms post the actions
 * (with the generation's nonce) to this server, and done is the last one's report. */
static int papi_send_dashboard(request_rec *r, apr_pool_t *p, const papi_dir_conf *c,
                               const apr_array_header_t *views, int refresh,
                               const papi_action_done *done)
{
    int full = papi_conf_access(c) == PAPI_ACCESS_FULL && papi_action_nonce;
    unsigned char random[16];
    char *nonce = apr_palloc(r->pool, apr_base64_encode_len(sizeof(random)));
    papi_dashboard_opts opts;
    papi_stream st;
    papi_buf *b;

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
    b = papi_stream_start(r, &st, HTTP_OK, "text/html; charset=utf-8",
                          apr_pstrcat(r->pool, "default-src 'none'; style-src 'nonce-", nonce,
                                      "'; frame-ancestors 'none'; base-uri 'none'; "
                                      "form-action ", full ? "'self'" : "'none'", NULL));
    papi_dashboard_write(b, p, views, &opts);
    return papi_stream_end(&st, b);
}

/* The pool views: every instance's pool.xml, drawn as the dashboard, processes.json or /metrics. */
int papi_route_dashboard(const papi_call *k)
{
    const char *why;
    apr_array_header_t *views;
    papi_fanout_config f;
    int refresh = PAPI_DASHBOARD_REFRESH;
    papi_action_done done = { PAPI_ACTION_NONE, 0, NULL, 0 };
    apr_pool_t *p;

    /* ?refresh=N, as mod_status's page takes it; after an action, its report. */
    if ((why = papi_dashboard_query(k->r->pool, k->r->args, &refresh, &done)) != NULL)
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    p = papi_view_pool(k->r);
    if (!(views = papi_views(k->r, p, k->c, "/pool.xml", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    papi_views_inflight(k->r, p, k->c, views, &f);
    return papi_view_pool_end(k->r, p, views,
                              papi_send_dashboard(k->r, p, k->c, views, refresh, &done));
}

int papi_route_processes_json(const papi_call *k)
{
    const char *why;
    apr_array_header_t *views;
    papi_fanout_config f;
    papi_stream st;
    papi_buf *b;
    apr_pool_t *p = papi_view_pool(k->r);

    if (!(views = papi_views(k->r, p, k->c, "/pool.xml", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    papi_views_inflight(k->r, p, k->c, views, &f);
    b = papi_stream_start(k->r, &st, HTTP_OK, "application/json", NULL);
    papi_processes_write(b, views, apr_time_now(), papi_probe_table, PAPI_PROBE_MAX_AGE,
                         papi_rss_table);
    return papi_view_pool_end(k->r, p, views, papi_stream_end(&st, b));
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
    papi_stream st;
    papi_buf *b;
    apr_pool_t *p = papi_view_pool(k->r);

    if (!(views = papi_views(k->r, p, k->c, "/pool.xml", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    opts = (papi_metrics_opts){ .scrape_duration = apr_time_now() - k->start,
                                .pid_label = papi_conf_metrics_pid_label(k->c),
                                .names = papi_conf_metrics_names(k->c),
                                .hostname = papi_hostname(k->r->pool), .probes = papi_probe_table,
                                .now = apr_time_now(), .probe_max_age = PAPI_PROBE_MAX_AGE };
    b = papi_stream_start(k->r, &st, HTTP_OK, PAPI_METRICS_TYPE, NULL);
    papi_metrics_write(b, p, views, &opts);
    return papi_view_pool_end(k->r, p, views, papi_stream_end(&st, b));
}

/* health.json: every process probed at once, 200 when all are healthy, else 503. */
int papi_route_health(const papi_call *k)
{
    const char *why, *path = papi_conf_health_path(k->c);
    apr_array_header_t *views, *probes;
    papi_fanout_config f;
    papi_buf *b;

    if (!(views = papi_views(k->r, k->r->pool, k->c, "/pool.xml?secrets=true", &f, &why)))
        return papi_refuse(k->r, HTTP_BAD_REQUEST, why);
    probes = papi_health_probe(k->r->pool, views, path, papi_fanout_deadline(&f), f.limits,
                               PAPI_PROC_ROOT);
    papi_health_record(papi_probe_table, probes, apr_time_now());
    b = papi_buf_make(k->r->pool, 4096);
    return papi_send_json(k->r, papi_health_write(b, views, probes, path), b);
}
