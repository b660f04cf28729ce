/* mod_passenger_api: an HTTP admin API for Phusion Passenger, inside Apache httpd.
 *
 * This file is the httpd glue only: the module record, directives and their merge, the credential
 * helper's life cycle, and the handler's routing. The work is in src/ (plain C over APR). */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"

#include <apr_thread_mutex.h>
#include <apr_base64.h>
#include <apr_signal.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "papi_answer.h"
#include "papi_buf.h"
#include "papi_cred.h"
#include "papi_dashboard.h"
#include "papi_direct.h"
#include "papi_fanout.h"
#include "papi_flight.h"
#include "papi_health.h"
#include "papi_host.h"
#include "papi_instcache.h"
#include "papi_metrics.h"
#include "papi_policy.h"
#include "papi_pool.h"
#include "papi_processes.h"
#include "papi_registry.h"
#include "papi_request.h"
#include "papi_view.h"

/* Our own log tag: AHnnnnn numbers belong to the ASF. */
#define PAPI_LOGNO(n) "PAPI" #n ": "

#define PAPI_HANDLER "passenger-api"
#define PAPI_REGISTRY_HEADER "X-Passenger-Instance-Registry-Dir"
#define PAPI_DEFAULT_TIMEOUT apr_time_from_sec(5)
#define PAPI_DEFAULT_REQUEST_TIMEOUT apr_time_from_sec(15)
#define PAPI_DEFAULT_MAX_INSTANCES 32
#define PAPI_DEFAULT_LIMIT_BODY (64 * 1024)
/* Passenger's API refuses bodies over 128 KiB itself. */
#define PAPI_MAX_LIMIT_BODY (128 * 1024)
#define PAPI_DEFAULT_LIMIT_ANSWER (8 * 1024 * 1024)
#define PAPI_DASHBOARD_REFRESH 5
/* How long a health probe's result is shown with its process. */
#define PAPI_PROBE_MAX_AGE apr_time_from_sec(600)
#define PAPI_PROBE_SLOTS 4096
#define PAPI_STUCK apr_time_from_sec(1)
#define PAPI_UNSET -1

/* Built with -fvisibility=hidden: the module record is the one symbol httpd must see. */
#undef AP_MODULE_DECLARE_DATA
#define AP_MODULE_DECLARE_DATA __attribute__((visibility("default")))

module AP_MODULE_DECLARE_DATA passenger_api_module;

typedef struct papi_dir_conf {
    int enabled;                    /* a PassengerApi directive is in effect in this <Location> */
    const char *base;               /* that <Location>'s path: URLs are relative to it */
    apr_array_header_t *registries; /* patterns (const char *); NULL: Passenger's search list */
    apr_interval_time_t timeout;    /* per instance; PAPI_UNSET: PAPI_DEFAULT_TIMEOUT */
    apr_interval_time_t request_timeout;    /* per request; PAPI_UNSET: the default */
    int max_instances;              /* PAPI_UNSET: PAPI_DEFAULT_MAX_INSTANCES */
    apr_off_t limit_body;           /* PAPI_UNSET: PAPI_DEFAULT_LIMIT_BODY */
    apr_off_t limit_answer;         /* PAPI_UNSET: PAPI_DEFAULT_LIMIT_ANSWER */
    int registry_override;          /* PAPI_UNSET: off */
    int access;                     /* papi_access; PAPI_UNSET: readonly */
    apr_array_header_t *trusted;    /* uid_t; NULL: root and the httpd User */
    int metrics_pid_label;          /* PAPI_UNSET: off */
    const char *health_path;        /* NULL: "/" */
    int max_in_flight;              /* PAPI_UNSET: papi_default_in_flight */
    int process_requests;           /* PAPI_UNSET: on */
} papi_dir_conf;

/* Per server (main or <VirtualHost>). */
typedef struct papi_server_conf {
    apr_array_header_t *allowed_hosts;  /* PassengerApiAllowedHost names (char *); NULL: none */
} papi_server_conf;

/* A setting's value, or its default when unset. */
#define PAPI_GET(c, field, def) ((c)->field != PAPI_UNSET ? (c)->field : (def))

/* The helper's socket for this generation; set in post_config, so children inherit it. */
static const char *papi_helper_socket;

/* The last health probe of every process, in memory shared by this generation's children. */
static papi_probes *papi_probe_table;

/* What this child remembers of instances between requests: made in child_init, when some
 * <Location> of this generation uses the module (set in post_config). */
static papi_instcache *papi_cache;
static int papi_in_use;

/* Identical calls to a core from this child's threads, joined (threaded MPMs only: a prefork
 * child answers one request at a time). */
static papi_coalesce *papi_coalescer;

/* This child's requests to this API in flight (papi_flight.h), and how many of them may be stuck
 * at once by default. */
static papi_flight *papi_inflight;
static int papi_default_in_flight = 1;

/* ---- configuration ---------------------------------------------------------------------------- */

static void *papi_create_dir_conf(apr_pool_t *p, char *dir)
{
    papi_dir_conf *c = apr_pcalloc(p, sizeof(*c));

    c->timeout = PAPI_UNSET;
    c->request_timeout = PAPI_UNSET;
    c->max_instances = PAPI_UNSET;
    c->limit_body = PAPI_UNSET;
    c->limit_answer = PAPI_UNSET;
    c->registry_override = PAPI_UNSET;
    c->access = PAPI_UNSET;
    c->metrics_pid_label = PAPI_UNSET;
    c->max_in_flight = PAPI_UNSET;
    c->process_requests = PAPI_UNSET;
    return c;
}

#define PAPI_MERGE(field, unset) (add->field != (unset) ? add->field : base->field)

static void *papi_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    papi_dir_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));

    c->enabled = add->enabled || base->enabled;
    c->base = PAPI_MERGE(base, NULL);
    c->registries = PAPI_MERGE(registries, NULL);
    c->timeout = PAPI_MERGE(timeout, PAPI_UNSET);
    c->request_timeout = PAPI_MERGE(request_timeout, PAPI_UNSET);
    c->max_instances = PAPI_MERGE(max_instances, PAPI_UNSET);
    c->limit_body = PAPI_MERGE(limit_body, PAPI_UNSET);
    c->limit_answer = PAPI_MERGE(limit_answer, PAPI_UNSET);
    c->registry_override = PAPI_MERGE(registry_override, PAPI_UNSET);
    c->access = PAPI_MERGE(access, PAPI_UNSET);
    c->trusted = PAPI_MERGE(trusted, NULL);
    c->metrics_pid_label = PAPI_MERGE(metrics_pid_label, PAPI_UNSET);
    c->health_path = PAPI_MERGE(health_path, NULL);
    c->max_in_flight = PAPI_MERGE(max_in_flight, PAPI_UNSET);
    c->process_requests = PAPI_MERGE(process_requests, PAPI_UNSET);
    return c;
}

static void *papi_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(papi_server_conf));
}

/* A <VirtualHost>'s own list replaces the main server's. */
static void *papi_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    papi_server_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));

    c->allowed_hosts = PAPI_MERGE(allowed_hosts, NULL);
    return c;
}

/* Every directive: allowed in server config, <VirtualHost> and <Location> with a plain path (never
 * .htaccess, <Directory> or <Files>). Inside a <Location> it switches the API on there. */
static const char *papi_context(cmd_parms *cmd, papi_dir_conf *c)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_FILES | NOT_IN_HTACCESS);
    const ap_directive_t *section = cmd->directive->parent;

    if (err)
        return err;
    if (!cmd->path)
        return NULL;
    if (!section || strcasecmp(section->directive, "<Location")
        || (section->args && section->args[0] == '~'))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " belongs in a <Location> with a plain path "
                           "(not a regular expression), or at server level", NULL);
    c->enabled = 1;
    c->base = cmd->path;
    return NULL;
}

static const char *papi_set_registry_dir(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);
    apr_size_t len = strlen(arg);
    char *dir;

    if (err)
        return err;
    while (len > 1 && arg[len - 1] == '/')
        len--;
    dir = apr_pstrmemdup(cmd->pool, arg, len);
    if ((err = papi_registry_pattern_error(cmd->temp_pool, dir)) != NULL)
        return apr_pstrcat(cmd->pool, "PassengerApiRegistryDir: ", err, NULL);
    if (!c->registries)
        c->registries = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(c->registries, const char *) = dir;
    return NULL;
}

/* PassengerApiTimeout, PassengerApiRequestTimeout: the field is the command's cmd_data. */
static const char *papi_set_seconds(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);
    char *end;
    double secs;

    if (err)
        return err;
    secs = strtod(arg, &end);
    if (end == arg || *end || !(secs > 0) || secs > 600)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " takes a number of seconds above 0 and at "
                           "most 600, e.g. 5 or 0.5", NULL);
    *(apr_interval_time_t *)((char *)c + (apr_size_t)cmd->info) =
        (apr_interval_time_t)(secs * APR_USEC_PER_SEC);
    return NULL;
}

/* A whole number between 1 and max; NULL with *n set, or the error. */
static const char *papi_parse_count(cmd_parms *cmd, const char *arg, apr_off_t max, apr_off_t *n)
{
    char *end;

    if (apr_strtoff(n, arg, &end, 10) != APR_SUCCESS || *end || end == arg || *n < 1 || *n > max)
        return apr_psprintf(cmd->pool, "%s takes a whole number from 1 to %" APR_OFF_T_FMT,
                            cmd->cmd->name, max);
    return NULL;
}

/* A count from 1 to 1024: cmd->info is the int field's offset in papi_dir_conf. */
static const char *papi_set_small_count(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);
    apr_off_t n;

    if (err || (err = papi_parse_count(cmd, arg, 1024, &n)))
        return err;
    *(int *)((char *)c + (apr_size_t)cmd->info) = (int)n;
    return NULL;
}

static const char *papi_set_limit_body(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);

    return err ? err : papi_parse_count(cmd, arg, PAPI_MAX_LIMIT_BODY, &c->limit_body);
}

static const char *papi_set_limit_answer(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);

    return err ? err : papi_parse_count(cmd, arg, (apr_off_t)1 << 30, &c->limit_answer);
}

/* An on/off setting: cmd->info is the int field's offset in papi_dir_conf. */
static const char *papi_set_flag(cmd_parms *cmd, void *conf, int on)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);

    if (!err)
        *(int *)((char *)c + (apr_size_t)cmd->info) = on;
    return err;
}

static const char *papi_set_access(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);

    if (err)
        return err;
    if (!strcasecmp(arg, "readonly"))
        c->access = PAPI_ACCESS_READONLY;
    else if (!strcasecmp(arg, "full"))
        c->access = PAPI_ACCESS_FULL;
    else
        return "PassengerApiAccess takes readonly or full";
    return NULL;
}

static const char *papi_set_trusted_owner(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);
    struct passwd pw, *found = NULL;
    char buf[4096], *end;
    uid_t uid;

    if (err)
        return err;
    if (arg[0] == '#') {
        unsigned long n = strtoul(arg + 1, &end, 10);
        if (!arg[1] || *end)
            return apr_pstrcat(cmd->pool, "PassengerApiTrustedOwner: '", arg, "' is not #uid", NULL);
        uid = (uid_t)n;
    }
    else {
        if (getpwnam_r(arg, &pw, buf, sizeof(buf), &found) != 0 || !found)
            return apr_pstrcat(cmd->pool, "PassengerApiTrustedOwner: no user named '", arg, "'",
                               NULL);
        uid = found->pw_uid;
    }
    if (!c->trusted)
        c->trusted = apr_array_make(cmd->pool, 2, sizeof(uid_t));
    APR_ARRAY_PUSH(c->trusted, uid_t) = uid;
    return NULL;
}

static const char *papi_set_health_path(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c), *why;

    if (err)
        return err;
    if ((why = papi_direct_target_error(arg)) != NULL)
        return apr_pstrcat(cmd->pool, "PassengerApiHealthPath: ", why, NULL);
    c->health_path = arg;
    return NULL;
}

static const char *papi_set_allowed_host(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_server_conf *sc = ap_get_module_config(cmd->server->module_config, &passenger_api_module);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE), *why;

    if (err)
        return err;
    if ((why = papi_host_name_error(arg)) != NULL)
        return apr_pstrcat(cmd->pool, "PassengerApiAllowedHost: '", arg, "': ", why, NULL);
    if (!sc->allowed_hosts)
        sc->allowed_hosts = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(sc->allowed_hosts, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const command_rec papi_cmds[] = {
    AP_INIT_ITERATE("PassengerApiRegistryDir", papi_set_registry_dir, NULL, RSRC_CONF | ACCESS_CONF,
                    "Passenger instance registry directories (absolute paths or globs) to scan"),
    AP_INIT_TAKE1("PassengerApiTimeout", papi_set_seconds,
                  (void *)APR_OFFSETOF(papi_dir_conf, timeout), RSRC_CONF | ACCESS_CONF,
                  "Seconds one instance has to answer, connect included (default 5)"),
    AP_INIT_TAKE1("PassengerApiRequestTimeout", papi_set_seconds,
                  (void *)APR_OFFSETOF(papi_dir_conf, request_timeout), RSRC_CONF | ACCESS_CONF,
                  "Seconds one request may spend asking instances (default 15)"),
    AP_INIT_TAKE1("PassengerApiMaxInstances", papi_set_small_count,
                  (void *)APR_OFFSETOF(papi_dir_conf, max_instances), RSRC_CONF | ACCESS_CONF,
                  "Good instances asked in one request at the most (default 32)"),
    AP_INIT_TAKE1("PassengerApiLimitRequestBody", papi_set_limit_body, NULL, RSRC_CONF | ACCESS_CONF,
                  "Bytes of request body accepted at the most (default 65536, at most 131072)"),
    AP_INIT_TAKE1("PassengerApiLimitAnswer", papi_set_limit_answer, NULL, RSRC_CONF | ACCESS_CONF,
                  "Bytes of one instance's answer body accepted at the most (default 8 MiB)"),
    AP_INIT_FLAG("PassengerApiRegistryOverride", papi_set_flag,
                 (void *)APR_OFFSETOF(papi_dir_conf, registry_override), RSRC_CONF | ACCESS_CONF,
                 "Honour the " PAPI_REGISTRY_HEADER " request header, which can only narrow the "
                 "configured registries (default off)"),
    AP_INIT_TAKE1("PassengerApiAccess", papi_set_access, NULL, RSRC_CONF | ACCESS_CONF,
                  "readonly (default) or full"),
    AP_INIT_ITERATE("PassengerApiTrustedOwner", papi_set_trusted_owner, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "Users (names or #uid) whose instance directories are trusted (default: root "
                    "and the httpd User)"),
    AP_INIT_FLAG("PassengerApiMetricsPidLabel", papi_set_flag,
                 (void *)APR_OFFSETOF(papi_dir_conf, metrics_pid_label), RSRC_CONF | ACCESS_CONF,
                 "Label /metrics' per-process series with the pid too (default off: a slot per "
                 "app group keeps the number of series bounded)"),
    AP_INIT_TAKE1("PassengerApiMaxInFlight", papi_set_small_count,
                  (void *)APR_OFFSETOF(papi_dir_conf, max_in_flight), RSRC_CONF | ACCESS_CONF,
                  "Requests to this API one httpd child may have stuck (waiting over a second) at "
                  "once; beyond, new ones get a 503 (default: half its threads, at least 1)"),
    AP_INIT_TAKE1("PassengerApiHealthPath", papi_set_health_path, NULL, RSRC_CONF | ACCESS_CONF,
                  "The path (and query) health.json requests from every process (default /)"),
    AP_INIT_ITERATE("PassengerApiAllowedHost", papi_set_allowed_host, NULL, RSRC_CONF,
                    "Host names or addresses this server may be addressed by, besides ServerName, "
                    "ServerAlias, the listener's address and localhost (server config and "
                    "virtual host only)"),
    AP_INIT_FLAG("PassengerApiProcessRequests", papi_set_flag,
                 (void *)APR_OFFSETOF(papi_dir_conf, process_requests), RSRC_CONF | ACCESS_CONF,
                 "Relay requests to single processes at /processes/<pid>/ (default on; health.json "
                 "is not affected)"),
    { NULL }
};

static const apr_array_header_t *papi_registries(apr_pool_t *p, const papi_dir_conf *c)
{
    return c->registries ? c->registries : papi_registry_default_patterns(p);
}

static papi_trust papi_trust_of(apr_pool_t *p, const papi_dir_conf *c)
{
    papi_trust trust;
    uid_t *uids;

    if (c->trusted) {
        trust.uids = (const uid_t *)c->trusted->elts;
        trust.count = c->trusted->nelts;
        return trust;
    }
    uids = apr_palloc(p, 2 * sizeof(uid_t));
    uids[0] = 0;
    uids[1] = ap_unixd_config.user_id;
    trust.uids = uids;
    trust.count = uids[1] == 0 ? 1 : 2;
    return trust;
}

/* ---- the credential helper (docs/ARCHITECTURE.md) ---------------------------------------------- */

typedef struct papi_helper {
    apr_pool_t *pool;               /* pconf: the helper lives for one generation */
    server_rec *server;
    const char *socket_path;
    papi_cred_config cfg;
    apr_proc_t proc;
} papi_helper;

/* What one enabled configuration lets the helper hand out. */
static void papi_collect(apr_pool_t *p, papi_helper *h, apr_array_header_t *patterns,
                         apr_array_header_t *uids, const papi_dir_conf *c,
                         const papi_dir_conf *server_default)
{
    const apr_array_header_t *mine;
    papi_trust trust;
    int i;

    if (!c || !c->enabled)
        return;
    mine = c->registries ? c->registries : papi_registries(p, server_default);
    for (i = 0; i < mine->nelts; i++)
        papi_list_add_unique(patterns, APR_ARRAY_IDX(mine, i, const char *));
    trust = papi_trust_of(p, c->trusted ? c : server_default);
    for (i = 0; i < trust.count; i++)
        APR_ARRAY_PUSH(uids, uid_t) = trust.uids[i];
    if ((c->access != PAPI_UNSET ? c->access : server_default->access) == PAPI_ACCESS_FULL)
        h->cfg.allow_full = 1;
}

/* Walks every <Location> of every server; returns how many have the API enabled. */
static int papi_collect_all(apr_pool_t *p, server_rec *s, papi_helper *h)
{
    apr_array_header_t *uids = apr_array_make(p, 4, sizeof(uid_t));
    apr_array_header_t *patterns = apr_array_make(p, 4, sizeof(const char *));
    int i, enabled = 0;

    for (; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        papi_dir_conf *def = ap_get_module_config(s->lookup_defaults, &passenger_api_module);
        for (i = 0; i < core->sec_url->nelts; i++) {
            ap_conf_vector_t *sec = APR_ARRAY_IDX(core->sec_url, i, ap_conf_vector_t *);
            papi_dir_conf *c = ap_get_module_config(sec, &passenger_api_module);
            enabled += c && c->enabled;
            papi_collect(p, h, patterns, uids, c, def);
        }
    }
    h->cfg.patterns = patterns;
    h->cfg.trust.uids = (const uid_t *)uids->elts;
    h->cfg.trust.count = uids->nelts;
    return enabled;
}

/* A listening socket only the httpd User can connect to: 0600, owned by that User. */
static apr_status_t papi_helper_listen(papi_helper *h, int *fd)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    mode_t old;
    int rc;

    if (strlen(h->socket_path) >= sizeof(addr.sun_path))
        return APR_ENAMETOOLONG;
    strcpy(addr.sun_path, h->socket_path);
    if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return APR_FROM_OS_ERROR(errno);
    unlink(h->socket_path);
    old = umask(0077);
    rc = bind(*fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (rc != 0 || chmod(h->socket_path, 0600) != 0
        || chown(h->socket_path, ap_unixd_config.user_id, (gid_t)-1) != 0 || listen(*fd, 64) != 0) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);
        close(*fd);
        return rv;
    }
    return APR_SUCCESS;
}

static void papi_helper_main(papi_helper *h, int fd)
{
    static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, AP_SIG_GRACEFUL,
                                   AP_SIG_GRACEFUL_STOP };
    sigset_t none;
    apr_size_t i;

    /* httpd's parent handlers would only set restart flags here; the helper must simply die. */
    for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        apr_signal(signals[i], SIG_DFL);
    apr_signal(SIGPIPE, SIG_IGN);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    ap_close_listeners();
    papi_cred_serve(fd, &h->cfg);
    _exit(0);
}

static void papi_helper_maintain(int reason, void *data, apr_wait_t status);

/* Ends the helper and reaps it here, so the MPM never meets an unknown child (AH00488). */
static void papi_helper_stop(papi_helper *h)
{
    int i;

    if (h->proc.pid <= 0)
        return;
    kill(h->proc.pid, SIGTERM);
    for (i = 0; i < 200 && waitpid(h->proc.pid, NULL, WNOHANG) == 0; i++)
        apr_sleep(apr_time_from_msec(10));
    if (i == 200) {
        kill(h->proc.pid, SIGKILL);
        waitpid(h->proc.pid, NULL, 0);
    }
    h->proc.pid = 0;
}

static apr_status_t papi_helper_start(papi_helper *h)
{
    apr_status_t rv;
    int fd;

    if ((rv = papi_helper_listen(h, &fd)) != APR_SUCCESS)
        return rv;
    rv = apr_proc_fork(&h->proc, h->pool);
    if (rv == APR_INCHILD)
        papi_helper_main(h, fd);
    close(fd);
    if (rv != APR_INPARENT)
        return rv;
    apr_proc_other_child_register(&h->proc, papi_helper_maintain, h, NULL, h->pool);
    return APR_SUCCESS;
}

/* Restarts the helper when it dies; stops it when its generation ends. */
static void papi_helper_maintain(int reason, void *data, apr_wait_t status)
{
    papi_helper *h = data;
    int mpm_state = AP_MPMQ_RUNNING;
    pid_t dead;
    apr_status_t rv;

    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        dead = h->proc.pid;
        h->proc.pid = 0;    /* reaped: the UNREGISTER below must not signal a recycled pid */
        apr_proc_other_child_unregister(h);
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS
            && mpm_state == AP_MPMQ_STOPPING)
            break;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, h->server, PAPI_LOGNO(010)
                     "credential helper (pid %ld) exited, restarting it", (long)dead);
        if ((rv = papi_helper_start(h)) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->server, PAPI_LOGNO(011)
                         "cannot restart the credential helper");
        break;
    case APR_OC_REASON_UNREGISTER:
        papi_helper_stop(h);
        unlink(h->socket_path);
        break;
    default:
        break;
    }
}

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
    apr_status_t rv;
    const char *why;

    papi_helper_socket = NULL;
    papi_probe_table = NULL;
    papi_in_use = 0;
    /* The first pass of a start only checks the configuration (and its process exits at once). */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    /* jansson seeds its hash function on first use; do it before any thread could race for it. */
    json_object_seed(0);
    papi_pool_init();
    h = apr_pcalloc(pconf, sizeof(*h));
    h->pool = pconf;
    h->server = s;
    h->cfg.client_uid = ap_unixd_config.user_id;
    h->cfg.parent_pid = getpid();
    if (!(papi_in_use = papi_collect_all(pconf, s, h)))
        return OK;
    /* Made before the children fork, so they all share it. */
    if (!(papi_probe_table = papi_probes_create(pconf, PAPI_PROBE_SLOTS, &why)))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PAPI_LOGNO(015) "%s: health.json results "
                     "will not be shown with their processes", why);
    papi_warn_unsafe_registries(ptemp, s, h->cfg.patterns);
    /* Without root, children can read only what they own themselves: no helper is needed. */
    if (geteuid() != 0 || ap_unixd_config.user_id == 0)
        return OK;
    h->socket_path = ap_runtime_dir_relative(pconf,
                                             apr_psprintf(ptemp, "passenger_api.%ld.sock", (long)getpid()));
    if ((rv = papi_helper_start(h)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, PAPI_LOGNO(012)
                     "cannot start the credential helper on %s", h->socket_path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    papi_helper_socket = h->socket_path;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PAPI_LOGNO(013)
                 "credential helper pid %ld on %s", (long)h->proc.pid, h->socket_path);
    return OK;
}

/* ---- answering -------------------------------------------------------------------------------- */

/* Nothing here is meant to run or be framed, whatever a core put in it. */
#define PAPI_CSP "default-src 'none'; frame-ancestors 'none'"

static int papi_send_csp(request_rec *r, int status, const char *type, const char *csp,
                         const char *data, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Content-Security-Policy", csp);
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(data, (int)len, r);
    return OK;
}

static int papi_send(request_rec *r, int status, const char *type, const char *data, apr_size_t len)
{
    return papi_send_csp(r, status, type, PAPI_CSP, data, len);
}

static int papi_send_json(request_rec *r, int status, const papi_buf *b)
{
    return papi_send(r, status, "application/json", b->data, b->len);
}

/* The module's own refusals: a status and a reason the client can act on. Like every writer here
 * it returns OK: the answer is sent. */
static int papi_refuse(request_rec *r, int status, const char *why)
{
    papi_buf *b = papi_buf_make(r->pool, 256);

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, PAPI_LOGNO(020) "%d: %s", status, why);
    papi_answer_error(b, status, why);
    return papi_send_json(r, status, b);
}

/* The registry directories this request may see: the configured ones, narrowed by the registry
 * header where that is allowed. NULL with *why for a bad header. */
static apr_array_header_t *papi_request_registries(request_rec *r, const papi_dir_conf *c,
                                                   const char **why)
{
    const char *narrow = apr_table_get(r->headers_in, PAPI_REGISTRY_HEADER);

    if (narrow && c->registry_override == 1) {
        if ((*why = papi_registry_pattern_error(r->pool, narrow)) != NULL) {
            *why = apr_pstrcat(r->pool, PAPI_REGISTRY_HEADER ": ", *why, NULL);
            return NULL;
        }
    }
    else
        narrow = NULL;
    return papi_registry_expand(r->pool, papi_registries(r->pool, c), narrow);
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
    trust = papi_trust_of(r->pool, c);
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
    limits->max_body = (apr_size_t)PAPI_GET(c, limit_answer, PAPI_DEFAULT_LIMIT_ANSWER);
    f->timeout = PAPI_GET(c, timeout, PAPI_DEFAULT_TIMEOUT);
    f->request_deadline = r->request_time + PAPI_GET(c, request_timeout,
                                                      PAPI_DEFAULT_REQUEST_TIMEOUT);
    f->max_instances = PAPI_GET(c, max_instances, PAPI_DEFAULT_MAX_INSTANCES);
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
static void papi_own_of(request_rec *r, papi_own_names *own)
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
static const char *papi_forged(request_rec *r)
{
    papi_own_names own;

    papi_own_of(r, &own);
    return papi_policy_forgery(r->method, apr_table_get(r->headers_in, "Content-Type"),
                               apr_table_get(r->headers_in, "Origin"),
                               apr_table_get(r->headers_in, "Sec-Fetch-Site"), &own);
}

/* Why a request to a process must be refused as one another site made the browser send (an
 * <img> on a foreign page, say), or NULL. */
static const char *papi_foreign(request_rec *r)
{
    papi_own_names own;

    papi_own_of(r, &own);
    return papi_policy_foreign(apr_table_get(r->headers_in, "Origin"),
                               apr_table_get(r->headers_in, "Sec-Fetch-Site"), &own);
}

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
        papi_metrics_opts opts = { apr_time_now() - start, PAPI_GET(c, metrics_pid_label, 0) == 1 };
        b = papi_buf_make(r->pool, 16384);
        papi_metrics_write(b, r->pool, views, &opts);
        return papi_send(r, HTTP_OK, PAPI_METRICS_TYPE, b->data, b->len);
    }
    return papi_send_dashboard(r, c, views);
}

/* health.json: every process probed at once, 200 when all are healthy, else 503. */
static int papi_health(request_rec *r, const papi_dir_conf *c)
{
    const char *why, *path = c->health_path ? c->health_path : "/";
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

    if (!PAPI_GET(c, process_requests, 1))
        return papi_refuse(r, HTTP_FORBIDDEN, "requests to single processes are switched off here "
                           "(PassengerApiProcessRequests off)");
    if (path == digits || path - digits > 10 || (*path && *path != '/') || pid <= 0)
        return papi_refuse(r, HTTP_NOT_FOUND, "use /processes/<pid>/<path>, e.g. /processes/1234/");
    papi_policy_direct(PAPI_GET(c, access, PAPI_ACCESS_READONLY), r->method, body != NULL, &v);
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

/* A core request: validated core path and query, this mode's verdict, and for writes the body. */
static int papi_route(request_rec *r, const papi_dir_conf *c, const char *rel, const char *body,
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
    papi_policy_decide(PAPI_GET(c, access, PAPI_ACCESS_READONLY), r->method, rest, query, &v);
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

static int papi_handler(request_rec *r)
{
    const papi_dir_conf *c;
    const char *rel, *body, *why;
    apr_size_t body_len;
    int status;

    if (!r->handler || strcmp(r->handler, PAPI_HANDLER))
        return DECLINED;
    c = ap_get_module_config(r->per_dir_config, &passenger_api_module);
    /* SetHandler alone (say in a user's .htaccess) must not open the API anywhere. */
    if (!c->enabled || !(rel = papi_relative(r, c))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, PAPI_LOGNO(001) "SetHandler " PAPI_HANDLER
                      " outside a <Location> with PassengerApi directives: refused");
        return HTTP_NOT_FOUND;
    }
    /* Before anything else: no body is read and no core is asked for a page that reached this
     * server under another name. */
    if ((why = papi_misdirected(r)) != NULL)
        return papi_refuse(r, HTTP_MISDIRECTED_REQUEST, why);
    if (!papi_enter(r, PAPI_GET(c, max_in_flight, papi_default_in_flight)))
        return papi_refuse(r, HTTP_SERVICE_UNAVAILABLE, apr_psprintf(r->pool, "%d requests to "
                           "this API have waited over a second in this httpd child already "
                           "(PassengerApiMaxInFlight): a core or process is wedged",
                           PAPI_GET(c, max_in_flight, papi_default_in_flight)));
    r->allowed = (AP_METHOD_BIT << M_GET);
    if (PAPI_GET(c, access, PAPI_ACCESS_READONLY) == PAPI_ACCESS_FULL)
        r->allowed |= (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_PUT) | (AP_METHOD_BIT << M_DELETE);
    if ((status = papi_read_body(r, PAPI_GET(c, limit_body, PAPI_DEFAULT_LIMIT_BODY), &body,
                                 &body_len)) != OK) {
        /* The rest of the body stays unread: the connection cannot be reused. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return papi_refuse(r, status, status == HTTP_REQUEST_ENTITY_TOO_LARGE
                           ? apr_psprintf(r->pool, "request bodies are limited to %" APR_OFF_T_FMT
                                          " bytes (PassengerApiLimitRequestBody)",
                                          PAPI_GET(c, limit_body, PAPI_DEFAULT_LIMIT_BODY))
                           : "the request body could not be read");
    }
    return papi_route(r, c, rel, body, body_len);
}

static void papi_child_init(apr_pool_t *p, server_rec *s)
{
    int threads = 1;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    papi_default_in_flight = threads > 1 ? threads / 2 : 1;
    papi_inflight = papi_flight_create(p, threads, PAPI_STUCK);
    papi_cache = papi_in_use ? papi_instcache_create(p, PAPI_INSTCACHE_SETTLE) : NULL;
    papi_coalescer = papi_in_use && threads > 1 ? papi_coalesce_create(p) : NULL;
}

static void papi_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(papi_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(papi_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(papi_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(passenger_api) = {
    STANDARD20_MODULE_STUFF,
    papi_create_dir_conf,
    papi_merge_dir_conf,
    papi_create_server_conf,
    papi_merge_server_conf,
    papi_cmds,
    papi_register_hooks,
    AP_MODULE_FLAG_NONE
};
