/* What the glue files share, and nothing else includes: the module record, the configuration and
 * its getters (mod_passenger_api_config.c), the credential helper (mod_passenger_api_helper.c),
 * the routes (mod_passenger_api_routes.c), and the answering primitives and per-child state
 * (mod_passenger_api.c). docs/ARCHITECTURE.md has the map. */
#ifndef MOD_PASSENGER_API_H
#define MOD_PASSENGER_API_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "papi_buf.h"
#include "papi_coalesce.h"
#include "papi_fanout.h"
#include "papi_instcache.h"
#include "papi_parsecache.h"
#include "papi_policy.h"
#include "papi_probes.h"
#include "papi_rsshist.h"
#include "papi_registry.h"
#include "papi_stats.h"

/* Our own log tag: AHnnnnn numbers belong to the ASF. */
#define PAPI_LOGNO(n) "PAPI" #n ": "

#define PAPI_HANDLER "passenger-api"
#define PAPI_REGISTRY_HEADER "X-Passenger-Instance-Registry-Dir"
/* An int or interval setting no directive set. */
#define PAPI_UNSET -1

/* Built with -fvisibility=hidden: the module record is the one symbol httpd must see. */
#undef AP_MODULE_DECLARE_DATA
#define AP_MODULE_DECLARE_DATA __attribute__((visibility("default")))

extern module AP_MODULE_DECLARE_DATA passenger_api_module;

/* Every glue file but mod_passenger_api.c (where AP_DECLARE_MODULE does it) says
 * APLOG_USE_MODULE(passenger_api) after this header, so that its log lines carry the module's
 * name and LogLevel passenger_api:... applies to them. */

/* ---- configuration (mod_passenger_api_config.c) ---- */

/* Per <Location> (and server). Unset fields are PAPI_UNSET or NULL; read them with the getters
 * below, which resolve every default in one place. */
typedef struct papi_dir_conf {
    int enabled;                    /* a PassengerApi directive is in effect in this <Location> */
    const char *base;               /* that <Location>'s path: URLs are relative to it */
    apr_array_header_t *registries; /* patterns (const char *) */
    apr_interval_time_t timeout;    /* per instance */
    apr_interval_time_t request_timeout;    /* per request */
    apr_off_t max_instances;
    apr_off_t limit_body;
    apr_off_t limit_answer;
    int registry_override;          /* papi_override_mode */
    apr_array_header_t *override_globs; /* its GLOBs (const char *), with PAPI_OVERRIDE_REPLACE */
    int access;                     /* papi_access */
    apr_array_header_t *trusted;    /* uid_t */
    int metrics_pid_label;
    const char *health_path;
    apr_off_t max_in_flight;
    int process_requests;
    int metrics_names;              /* papi_metrics_names */
} papi_dir_conf;

/* Per server (main or <VirtualHost>). */
typedef struct papi_server_conf {
    apr_array_header_t *allowed_hosts;  /* PassengerApiAllowedHost names (char *); NULL: none */
} papi_server_conf;

extern const command_rec papi_cmds[];
void *papi_create_dir_conf(apr_pool_t *p, char *dir);
void *papi_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *papi_create_server_conf(apr_pool_t *p, server_rec *s);
void *papi_merge_server_conf(apr_pool_t *p, void *basev, void *addv);

/* Every setting's value, its default when unset. */
apr_interval_time_t papi_conf_timeout(const papi_dir_conf *c);
apr_interval_time_t papi_conf_request_timeout(const papi_dir_conf *c);
int papi_conf_max_instances(const papi_dir_conf *c);
apr_off_t papi_conf_limit_body(const papi_dir_conf *c);
apr_off_t papi_conf_limit_answer(const papi_dir_conf *c);
papi_registry_override papi_conf_registry_override(apr_pool_t *p, const papi_dir_conf *c);
papi_access papi_conf_access(const papi_dir_conf *c);
int papi_conf_metrics_pid_label(const papi_dir_conf *c);
const char *papi_conf_health_path(const papi_dir_conf *c);
int papi_conf_max_in_flight(const papi_dir_conf *c);
int papi_conf_process_requests(const papi_dir_conf *c);
int papi_conf_metrics_names(const papi_dir_conf *c);
const apr_array_header_t *papi_conf_registries(apr_pool_t *p, const papi_dir_conf *c);
papi_trust papi_conf_trust(apr_pool_t *p, const papi_dir_conf *c);

/* The threads of one httpd child (1 for prefork). */
int papi_child_threads(void);

/* ---- the credential helper (mod_passenger_api_helper.c) ---- */

typedef struct papi_helper papi_helper;

/* The helper's socket for this generation, NULL when none runs; set in post_config, so children
 * inherit it. */
extern const char *papi_helper_socket;

/* What every enabled <Location> of every server lets the helper hand out (for the generation of
 * pconf); how many <Location>s are enabled in *enabled. */
papi_helper *papi_helper_collect(apr_pool_t *pconf, server_rec *s, int *enabled);

/* The registry patterns of every enabled <Location>. */
const apr_array_header_t *papi_helper_patterns(const papi_helper *h);

/* Starts the helper when one is needed (httpd starts as root and serves as another User) and
 * sets papi_helper_socket: OK, or HTTP_INTERNAL_SERVER_ERROR when it cannot start. */
int papi_helper_launch(papi_helper *h, apr_pool_t *ptemp);

/* The monitor hook: starts a helper whose restart was put off (its restart backoff). */
int papi_helper_monitor(apr_pool_t *p, server_rec *s);

/* ---- per child, and answering (mod_passenger_api.c) ---- */

extern papi_instcache *papi_cache;      /* this child's instances; NULL when unused */
extern papi_globcache *papi_globs;      /* this child's registry globs; NULL when unused */
extern papi_coalesce *papi_coalescer;   /* threaded MPMs only */
extern papi_parsecache *papi_parsed;    /* pool.xml models kept for the views */
extern papi_probes *papi_probe_table;   /* shared by this generation's children; may be NULL */
extern papi_rsshist *papi_rss_table;    /* the same */
extern papi_stats *papi_stats_table;    /* the same; NULL when no <Location> uses the module */

/* Writers: each sends the whole answer (Cache-Control: no-store, nosniff, a CSP) and returns
 * OK. */
int papi_send_csp(request_rec *r, int status, const char *type, const char *csp,
                  const char *data, apr_size_t len);
int papi_send(request_rec *r, int status, const char *type, const char *data, apr_size_t len);
int papi_send_json(request_rec *r, int status, const papi_buf *b);

/* Nothing here is meant to run or be framed, whatever a core put in it. */
#define PAPI_CSP "default-src 'none'; frame-ancestors 'none'"

/* The headers every answer carries: status, type, no-store, nosniff, the CSP. */
void papi_set_headers(request_rec *r, int status, const char *type, const char *csp);

/* ---- streamed answers (mod_passenger_api_views.c) ---- */

/* A large answer written as it is made (the pool views): the writer fills the papi_buf that
 * papi_stream_start returns, which hands every PAPI_STREAM_PIECE bytes on (at its writer's
 * papi_buf_cut); papi_stream_end sends the rest and returns OK. An answer that never reaches
 * a piece goes out as papi_send_csp would send it. The status is decided before the start;
 * csp NULL: the one of papi_send. */
#define PAPI_STREAM_PIECE (64 * 1024)
typedef struct papi_stream {
    request_rec *r;
    int status;
    const char *type, *csp;
    apr_bucket_brigade *bb;
    apr_off_t sent;
    int started, failed;
} papi_stream;
papi_buf *papi_stream_start(request_rec *r, papi_stream *st, int status, const char *type,
                            const char *csp);
int papi_stream_end(papi_stream *st, papi_buf *b);

/* The module's own refusals: a status and a reason the client can act on. */
int papi_refuse(request_rec *r, int status, const char *why);

/* The names, scheme and ports this server is addressed by (its configuration and the
 * connection, never the request). */
void papi_own_of(request_rec *r, papi_own_names *own);

/* Why a write must be refused as one a web page could have sent, or NULL. */
const char *papi_forged(request_rec *r);

/* Why a request to a process must be refused as one another site made the browser send, or
 * NULL. */
const char *papi_foreign(request_rec *r);

/* ---- mod_status's /server-status (mod_passenger_api_status.c) ---- */

/* Adds the module's section to /server-status, when mod_status is loaded. */
void papi_status_register(void);

/* ---- routes (mod_passenger_api_routes.c, mod_passenger_api_views.c) ---- */

/* One request being routed. */
typedef struct papi_call {
    request_rec *r;
    const papi_dir_conf *c;
    const char *rel;            /* the URL after the <Location>'s path ("" for the Location) */
    const char *body;           /* NULL: none */
    apr_size_t body_len;
    apr_time_t start;           /* when routing began */
} papi_call;

/* Answers the request for rel (the URL after the <Location>'s path) with its body (NULL for
 * none): the first row of the route table that matches. */
int papi_route(request_rec *r, const papi_dir_conf *c, const char *rel, const char *body,
               apr_size_t body_len);

/* Every candidate instance this request may see; NULL with *why for a bad registry header. */
apr_array_header_t *papi_scan(request_rec *r, const papi_dir_conf *c, const char **why);

/* How this request asks instances: its deadlines, limits, credential and scrubbing. */
void papi_fanout_setup(request_rec *r, const papi_dir_conf *c, const papi_verdict *v,
                       papi_fanout_config *f);

/* Logs every instance's failure (const char *) as a warning. */
void papi_log_failures(request_rec *r, const apr_array_header_t *failures);

/* Every candidate instance with its pool, read with core_path (and the read-only credential; f
 * says how) into p; NULL with *why for a bad registry header. */
apr_array_header_t *papi_views(request_rec *r, apr_pool_t *p, const papi_dir_conf *c,
                               const char *core_path, papi_fanout_config *f, const char **why);

/* Makes the allocator this child's pool views draw from (child_init). */
void papi_views_child_init(apr_pool_t *pchild);

/* The pool views' routes (GET and HEAD). */
int papi_route_dashboard(const papi_call *k);
int papi_route_processes_json(const papi_call *k);
int papi_route_metrics(const papi_call *k);
int papi_route_health(const papi_call *k);

/* ---- the dashboard's actions (mod_passenger_api_actions.c) ---- */

/* This generation's nonce of the actions' forms (NULL: none); made by papi_actions_init in
 * post_config, before the children fork. */
extern const char *papi_action_nonce;
void papi_actions_init(apr_pool_t *pconf, server_rec *s);

/* POST <Location>/actions. */
int papi_route_actions(const papi_call *k);

#endif
