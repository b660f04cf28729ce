/* The credential helper's life (docs/ARCHITECTURE.md): what it may hand out, collected from every
 * enabled <Location>; its start from the parent while that is root; its supervision as an httpd
 * "other child", restarted when it dies but not in a loop (as mod_cgid tells a daemon that fails
 * at startup from one that crashed); its end, and reaping, with its generation. */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include "http_core.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"

#include <apr_signal.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "papi_cred.h"
#include "papi_restart.h"

struct papi_helper {
    apr_pool_t *pool;               /* pconf: the helper lives for one generation */
    server_rec *server;
    const char *socket_path;
    papi_cred_config cfg;
    apr_proc_t proc;
    apr_time_t started;             /* when proc was started */
    papi_restart backoff;           /* its deaths at startup in a row (papi_restart.h) */
    apr_time_t restart_at;          /* a restart put off until then (the monitor hook runs about
                                     * every 10 s: at the earliest); 0: none */
};

const char *papi_helper_socket;

/* The helper whose restart is put off, for the monitor hook; NULL when none is. */
static papi_helper *papi_helper_pending;

/* ---- what it may hand out --------------------------------------------------------------------- */

/* What one enabled configuration (a <Location>'s own merged over its server's) lets the helper
 * hand out. */
static void papi_collect(apr_pool_t *p, papi_helper *h, apr_array_header_t *patterns,
                         apr_array_header_t *uids, const papi_dir_conf *c)
{
    const apr_array_header_t *mine = papi_conf_registries(p, c);
    papi_trust trust = papi_conf_trust(p, c);
    int i;

    for (i = 0; i < mine->nelts; i++)
        papi_list_add_unique(patterns, APR_ARRAY_IDX(mine, i, const char *));
    /* The registries a request's header may name instead. */
    for (i = 0; c->override_globs && i < c->override_globs->nelts; i++)
        papi_list_add_unique(patterns, APR_ARRAY_IDX(c->override_globs, i, const char *));
    for (i = 0; i < trust.count; i++)
        APR_ARRAY_PUSH(uids, uid_t) = trust.uids[i];
    if (papi_conf_access(c) == PAPI_ACCESS_FULL)
        h->cfg.allow_full = 1;
}

papi_helper *papi_helper_collect(apr_pool_t *pconf, server_rec *s, int *enabled)
{
    papi_helper *h = apr_pcalloc(pconf, sizeof(*h));
    apr_array_header_t *uids = apr_array_make(pconf, 4, sizeof(uid_t));
    apr_array_header_t *patterns = apr_array_make(pconf, 4, sizeof(const char *));
    int i;

    h->pool = pconf;
    h->server = s;
    h->cfg.client_uid = ap_unixd_config.user_id;
    h->cfg.parent_pid = getpid();
    *enabled = 0;
    for (; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        papi_dir_conf *def = ap_get_module_config(s->lookup_defaults, &passenger_api_module);
        for (i = 0; i < core->sec_url->nelts; i++) {
            ap_conf_vector_t *sec = APR_ARRAY_IDX(core->sec_url, i, ap_conf_vector_t *);
            papi_dir_conf *c = ap_get_module_config(sec, &passenger_api_module);
            if (!c || !c->enabled)
                continue;
            ++*enabled;
            papi_collect(pconf, h, patterns, uids, papi_merge_dir_conf(pconf, def, c));
        }
    }
    h->cfg.patterns = patterns;
    h->cfg.trust.uids = (const uid_t *)uids->elts;
    h->cfg.trust.count = uids->nelts;
    return h;
}

const apr_array_header_t *papi_helper_patterns(const papi_helper *h)
{
    return h->cfg.patterns;
}

/* ---- start and stop --------------------------------------------------------------------------- */

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
    h->started = apr_time_now();
    papi_stats_set_helper(papi_stats_table, PAPI_HELPER_UP);
    apr_proc_other_child_register(&h->proc, papi_helper_maintain, h, NULL, h->pool);
    return APR_SUCCESS;
}

static void papi_helper_restart(papi_helper *h)
{
    apr_status_t rv;

    if ((rv = papi_helper_start(h)) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->server, PAPI_LOGNO(011)
                     "cannot restart the credential helper");
    else
        papi_stats_add(papi_stats_table, PAPI_STAT_HELPER_RESTARTS, 1);
}

/* ---- supervision ------------------------------------------------------------------------------ */

static void papi_helper_died(papi_helper *h, pid_t dead)
{
    apr_time_t now = apr_time_now();
    apr_interval_time_t wait = papi_restart_delay(&h->backoff, now - h->started);

    papi_stats_set_helper(papi_stats_table, PAPI_HELPER_DOWN);
    if (wait < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, h->server, PAPI_LOGNO(016)
                     "credential helper (pid %ld) died within %d s of its start %d times in a "
                     "row: not restarting it; instances whose passwords only root can read stay "
                     "unreachable until httpd restarts", (long)dead,
                     (int)apr_time_sec(PAPI_RESTART_QUICK), PAPI_RESTART_TRIES);
        unlink(h->socket_path);
        return;
    }
    if (!wait) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, h->server, PAPI_LOGNO(010)
                     "credential helper (pid %ld) exited, restarting it", (long)dead);
        papi_helper_restart(h);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, h->server, PAPI_LOGNO(010)
                 "credential helper (pid %ld) exited, restarting it in %d s (%d quick exits in "
                 "a row)", (long)dead, (int)apr_time_sec(wait), h->backoff.quick_deaths);
    h->restart_at = now + wait;
    papi_helper_pending = h;
}

/* Restarts the helper when it dies; stops it when its generation ends. */
static void papi_helper_maintain(int reason, void *data, apr_wait_t status)
{
    papi_helper *h = data;
    int mpm_state = AP_MPMQ_RUNNING;
    pid_t dead;

    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        dead = h->proc.pid;
        h->proc.pid = 0;    /* reaped: the UNREGISTER below must not signal a recycled pid */
        apr_proc_other_child_unregister(h);
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS
            && mpm_state == AP_MPMQ_STOPPING)
            break;
        papi_helper_died(h, dead);
        break;
    case APR_OC_REASON_UNREGISTER:
        papi_helper_stop(h);
        unlink(h->socket_path);
        break;
    default:
        break;
    }
}

int papi_helper_monitor(apr_pool_t *p, server_rec *s)
{
    papi_helper *h = papi_helper_pending;

    if (!h || apr_time_now() < h->restart_at)
        return DECLINED;
    papi_helper_pending = NULL;
    h->restart_at = 0;
    papi_helper_restart(h);
    return DECLINED;
}

/* A restart put off past the end of its generation never happens. */
static apr_status_t papi_helper_forget(void *data)
{
    papi_helper *h = data;

    if (papi_helper_pending == h) {
        papi_helper_pending = NULL;
        unlink(h->socket_path);
    }
    return APR_SUCCESS;
}

int papi_helper_launch(papi_helper *h, apr_pool_t *ptemp)
{
    apr_status_t rv;

    papi_helper_socket = NULL;
    /* Without root, children can read only what they own themselves: no helper is needed. */
    if (geteuid() != 0 || ap_unixd_config.user_id == 0)
        return OK;
    h->socket_path = ap_runtime_dir_relative(h->pool, apr_psprintf(ptemp, "passenger_api.%ld.sock",
                                                                   (long)getpid()));
    if ((rv = papi_helper_start(h)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, h->server, PAPI_LOGNO(012)
                     "cannot start the credential helper on %s", h->socket_path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(h->pool, h, papi_helper_forget, apr_pool_cleanup_null);
    papi_helper_socket = h->socket_path;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, h->server, PAPI_LOGNO(013)
                 "credential helper pid %ld on %s", (long)h->proc.pid, h->socket_path);
    return OK;
}
