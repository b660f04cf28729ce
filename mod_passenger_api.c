/* mod_passenger_api: an HTTP admin API for Phusion Passenger, inside Apache httpd.
 *
 * The httpd glue is split by concern, as mod_md's is: this file has the module record, the hooks
 * and the handler (with the checks every request passes and the writers every answer goes
 * through); mod_passenger_api_config.c the directives and every setting's default;
 * mod_passenger_api_helper.c the credential helper's life; mod_passenger_api_routes.c what each
 * URL answers; mod_passenger_api_status.c the module's section of mod_status's page. The work is
 * in src/ (plain C over APR, no httpd header). */

#include "mod_passenger_api.h"

#include "http_core.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include <apr_strings.h>

#include "papi_answer.h"
#include "papi_flight.h"
#include "papi_host.h"
#include "papi_log.h"
#include "papi_once.h"
#include "papi_procpool.h"

#define PAPI_PROBE_SLOTS 4096
/* Processes whose memory history is kept (about 1 kB each). */
#define PAPI_RSSHIST_SLOTS 1024
/* A request to this API waiting longer than this is stuck (papi_flight.h). */
#define PAPI_STUCK apr_time_from_sec(1)

/* The last health probe of every process, in memory shared by this generation's children. */
papi_probes *papi_probe_table;
papi_rsshist *papi_rss_table;

/* What the module has done, counted by every child of this generation (papi_stats.h). */
papi_stats *papi_stats_table;

/* What this child remembers of instances between requests: made in child_init, when some
 * <Location> of this generation uses the module (set in post_config). */
papi_instcache *papi_cache;
static int papi_in_use;

/* What this child's registry globs expand to, while the directories they read stay the same. */
papi_globcache *papi_globs;

/* Identical calls to a core from this child's threads, joined (threaded MPMs only: a prefork
 * child answers one request at a time). */
papi_coalesce *papi_coalescer;

/* The pool.xml models this child's views share while the bytes they were read from are the same. */
papi_parsecache *papi_parsed;

/* This child's requests to this API in flight. */
static papi_flight *papi_inflight;

/* The places where this child has warned that SetHandler alone opens nothing. */
static papi_once *papi_closed_places;

/* ---- the hooks -------------------------------------------------------------------------------- */

static void papi_warn_unsafe_registries(apr_pool_t *p, server_rec *s,
                                        const apr_array_header_t *patterns)
{
    const apr_array_header_t *dirs = papi_registry_expand(p, patterns, NULL);
    const char *why;
    int i;

    for (i = 0; i < dirs->nelts; i++)
        if ((why = papi_registry_dir_warning(p, APR_ARRAY_IDX(dirs, i, const char *))) != NULL)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PAPI_LOGNO(014) "%s", why);
}

static int papi_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    papi_helper *h;
    const char *why;

    papi_helper_socket = NULL;
    papi_probe_table = NULL;
    papi_rss_table = NULL;
    papi_stats_table = NULL;
    papi_action_nonce = NULL;
    papi_in_use = 0;
    /* The first pass of a start only checks the configuration (and its process exits at once). */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    /* jansson seeds its hash function on first use; do it before any thread could race for it. */
    json_object_seed(0);
    h = papi_helper_collect(pconf, s, &papi_in_use);
    if (!papi_in_use)
        return OK;
    /* Made before the children fork, so they all share it. */
    if (!(papi_probe_table = papi_probes_create(pconf, PAPI_PROBE_SLOTS, &why)))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PAPI_LOGNO(015) "%s: health.json results "
                     "will not be shown with their processes", why);
    if (!(papi_rss_table = papi_rsshist_create(pconf, PAPI_RSSHIST_SLOTS, &why)))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PAPI_LOGNO(019) "%s: processes will be "
                     "shown without their memory history", why);
    if (!(papi_stats_table = papi_stats_create(pconf, &why)))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PAPI_LOGNO(017) "%s: /server-status will "
                     "not show the module's section", why);
    papi_warn_unsafe_registries(ptemp, s, papi_helper_patterns(h));
    papi_actions_init(pconf, s);
    return papi_helper_launch(h, ptemp);
}

static void papi_child_init(apr_pool_t *p, server_rec *s)
{
    int threads = papi_child_threads();

    papi_inflight = papi_flight_create(p, threads, PAPI_STUCK);
    papi_cache = papi_in_use ? papi_instcache_create(p, PAPI_INSTCACHE_SETTLE) : NULL;
    papi_instcache_count_in(papi_cache, papi_stats_table);
    papi_globs = papi_in_use ? papi_globcache_create(p, PAPI_GLOBCACHE_SETTLE,
                                                     PAPI_GLOBCACHE_MAX_AGE) : NULL;
    papi_closed_places = papi_once_create(p);
    papi_coalescer = papi_in_use && threads > 1 ? papi_coalesce_create(p) : NULL;
    papi_parsed = papi_in_use ? papi_parsecache_create(p) : NULL;
    if (papi_in_use)
        papi_views_child_init(p);
}

/* ---- answering -------------------------------------------------------------------------------- */

void papi_set_headers(request_rec *r, int status, const char *type, const char *csp)
{
    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Content-Security-Policy", csp);
}

int papi_send_csp(request_rec *r, int status, const char *type, const char *csp,
                  const char *data, apr_size_t len)
{
    papi_set_headers(r, status, type, csp);
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(data, (int)len, r);
    return OK;
}

int papi_send(request_rec *r, int status, const char *type, const char *data, apr_size_t len)
{
    return papi_send_csp(r, status, type, PAPI_CSP, data, len);
}

int papi_send_json(request_rec *r, int status, const papi_buf *b)
{
    return papi_send(r, status, "application/json", b->data, b->len);
}

/* The module's own refusals: a status and a reason the client can act on. Like every writer here
 * it returns OK: the answer is sent. */
int papi_refuse(request_rec *r, int status, const char *why)
{
    papi_buf *b = papi_buf_make(r->pool, 256);

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, PAPI_LOGNO(020) "%d: %s", status, why);
    papi_answer_error(b, status, why);
    return papi_send_json(r, status, b);
}

/* The names, scheme and ports this server is addressed by: what its configuration and the
 * connection say, never what the request says. */
void papi_own_of(request_rec *r, papi_own_names *own)
{
    const papi_server_conf *sc = ap_get_module_config(r->server->module_config,
                                                      &passenger_api_module);

    memset(own, 0, sizeof(*own));
    own->server_name = r->server->server_hostname;
    own->aliases = r->server->names;
    own->wild = r->server->wild_names;
    own->allowed = sc->allowed_hosts;
    own->listener_ip = r->connection->local_ip;
    own->scheme = ap_http_scheme(r);
    own->ports[0] = r->connection->local_addr ? r->connection->local_addr->port : 0;
    own->ports[1] = r->server->port;
}

/* Why a request must be refused with a 421 because it addresses this server by a name that is
 * not its own (DNS rebinding), or NULL: the Host header, and the host of an absolute request URI,
 * which httpd prefers to it. */
static const char *papi_misdirected(request_rec *r)
{
    papi_own_names own;
    const char *why;

    papi_own_of(r, &own);
    if ((why = papi_host_error(r->pool, &own, apr_table_get(r->headers_in, "Host"))) != NULL)
        return apr_pstrcat(r->pool, "Host: ", why, NULL);
    if ((why = papi_host_error(r->pool, &own, r->parsed_uri.hostname)) != NULL)
        return apr_pstrcat(r->pool, "the request's URI: ", why, NULL);
    return NULL;
}

/* Why a write must be refused as one a web page could have sent, or NULL. */
const char *papi_forged(request_rec *r)
{
    papi_own_names own;

    papi_own_of(r, &own);
    return papi_policy_forgery(r->method, apr_table_get(r->headers_in, "Content-Type"),
                               apr_table_get(r->headers_in, "Origin"),
                               apr_table_get(r->headers_in, "Sec-Fetch-Site"), &own);
}

/* Why a request to a process must be refused as one another site made the browser send (an
 * <img> on a foreign page, say), or NULL. */
const char *papi_foreign(request_rec *r)
{
    papi_own_names own;

    papi_own_of(r, &own);
    return papi_policy_foreign(apr_table_get(r->headers_in, "Origin"),
                               apr_table_get(r->headers_in, "Sec-Fetch-Site"), &own);
}

/* Reads a request body of at most limit bytes. Returns OK, or the status to refuse with (413
 * before reading anything when the declared length is too long). */
static int papi_read_body(request_rec *r, apr_off_t limit, const char **body, apr_size_t *len)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared;
    char *buf;
    long n;

    *body = NULL;
    *len = 0;
    if (cl && (apr_strtoff(&declared, cl, NULL, 10) != APR_SUCCESS || declared > limit))
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK)
        return HTTP_BAD_REQUEST;
    if (!ap_should_client_block(r))
        return OK;
    buf = apr_palloc(r->pool, (apr_size_t)limit + 1);
    while ((n = ap_get_client_block(r, buf + *len, (apr_size_t)limit + 1 - *len)) > 0) {
        *len += (apr_size_t)n;
        if (*len > (apr_size_t)limit)
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (n < 0)
        return HTTP_BAD_REQUEST;
    *body = buf;
    return OK;
}

/* The part of the URL after the <Location> path, "" for the Location itself; NULL if outside. */
static const char *papi_relative(request_rec *r, const papi_dir_conf *c)
{
    apr_size_t n = strlen(c->base);

    while (n > 0 && c->base[n - 1] == '/')
        n--;
    if (strncmp(r->uri, c->base, n) || (r->uri[n] && r->uri[n] != '/'))
        return NULL;
    return r->uri + n;
}

static apr_status_t papi_leave(void *slot)
{
    papi_flight_leave(papi_inflight, slot);
    return APR_SUCCESS;
}

/* Counts the request in, unless cap requests of this child are stuck already; it is counted out
 * when its pool goes, whatever way the request ends. */
static int papi_enter(request_rec *r, int cap)
{
    apr_time_t *slot;

    if (!papi_inflight)
        return 1;
    if (!papi_flight_enter(papi_inflight, apr_time_now(), cap, &slot)) {
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return 0;
    }
    if (slot)
        apr_pool_cleanup_register(r->pool, slot, papi_leave, apr_pool_cleanup_null);
    return 1;
}

/* Only a <Location> carrying a PassengerApi directive opens the API: SetHandler alone (say in a
 * user's .htaccess) opens nothing. Whoever tried is told in one line which directive opens it, and
 * the error log says so once per child and place (the section that set the handler). */
static int papi_closed(request_rec *r, const papi_dir_conf *c)
{
    const core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
    const char *slash = r->filename ? strrchr(r->filename, '/') : NULL;
    /* The section's path; a .htaccess leaves none: its directory, as far as the file's. */
    const char *place = c->enabled ? c->base : core->d ? core->d
                      : slash ? apr_pstrmemdup(r->pool, r->filename, slash + 1 - r->filename)
                      : r->uri;
    const char *why = c->enabled
        ? apr_pstrcat(r->pool, "the API of <Location ", c->base, "> answers only at that path "
                      "and below it", NULL)
        : "SetHandler " PAPI_HANDLER " alone opens nothing: add a PassengerApi directive (e.g. "
          "\"PassengerApiAccess readonly\") to its <Location> in the server's configuration";

    if (papi_once_first(papi_closed_places, place))
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(001) "%s: refused with a 404 "
                      "at %s (said once per child and place)", why, place);
    return papi_refuse(r, HTTP_NOT_FOUND, why);
}

static int papi_handler(request_rec *r)
{
    const papi_dir_conf *c;
    const char *rel, *body, *why;
    apr_size_t body_len;
    int status;

    if (!r->handler || strcmp(r->handler, PAPI_HANDLER))
        return DECLINED;
    c = ap_get_module_config(r->per_dir_config, &passenger_api_module);
    if (!c->enabled || !(rel = papi_relative(r, c)))
        return papi_closed(r, c);
    /* Before anything else: no body is read and no core is asked for a page that reached this
     * server under another name. */
    if ((why = papi_misdirected(r)) != NULL)
        return papi_refuse(r, HTTP_MISDIRECTED_REQUEST, why);
    if (!papi_enter(r, papi_conf_max_in_flight(c)))
        return papi_refuse(r, HTTP_SERVICE_UNAVAILABLE, apr_psprintf(r->pool, "%d requests to "
                           "this API have waited over a second in this httpd child already "
                           "(PassengerApiMaxInFlight): a core or process is wedged",
                           papi_conf_max_in_flight(c)));
    r->allowed = (AP_METHOD_BIT << M_GET);
    if (papi_conf_access(c) == PAPI_ACCESS_FULL)
        r->allowed |= (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_PUT) | (AP_METHOD_BIT << M_DELETE);
    if ((status = papi_read_body(r, papi_conf_limit_body(c), &body, &body_len)) != OK) {
        /* The rest of the body stays unread: the connection cannot be reused. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return papi_refuse(r, status, status == HTTP_REQUEST_ENTITY_TOO_LARGE
                           ? apr_psprintf(r->pool, "request bodies are limited to %" APR_OFF_T_FMT
                                          " bytes (PassengerApiLimitRequestBody)",
                                          papi_conf_limit_body(c))
                           : "the request body could not be read");
    }
    return papi_route(r, c, rel, body, body_len);
}

/* The library's log (papi_log.h) goes to httpd's error log at this module's LogLevel: with
 * "LogLevel passenger_api:trace1" a request's way through the caches, joined calls, kept
 * connections and the helper is written down. */
static int papi_log_wanted(void *baton, papi_log_level level)
{
    return ap_server_conf && APLOG_MODULE_IS_LEVEL(ap_server_conf, APLOG_MODULE_INDEX, (int)level);
}

static void papi_log_write(void *baton, const char *file, int line, papi_log_level level,
                           apr_status_t rv, const char *message)
{
    ap_log_error(file, line, APLOG_MODULE_INDEX, (int)level, rv, ap_server_conf, "%s", message);
}

static void papi_register_hooks(apr_pool_t *p)
{
    papi_log_set(papi_log_wanted, papi_log_write, NULL);
    ap_hook_post_config(papi_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(papi_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(papi_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* The parent's periodic hook: a credential helper's restart that was put off. */
    ap_hook_monitor(papi_helper_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    papi_status_register();
}

AP_DECLARE_MODULE(passenger_api) = {
    STANDARD20_MODULE_STUFF,
    papi_create_dir_conf,       /* per <Location>: every setting unset */
    papi_merge_dir_conf,        /* a <Location>'s settings over its enclosing ones */
    papi_create_server_conf,    /* per server: PassengerApiAllowedHost */
    papi_merge_server_conf,     /* a <VirtualHost>'s list replaces the main server's */
    papi_cmds,                  /* the directives (mod_passenger_api_config.c) */
    papi_register_hooks,        /* post_config, child_init, handler, monitor, status_hook */
    AP_MODULE_FLAG_NONE         /* no flags */
};
