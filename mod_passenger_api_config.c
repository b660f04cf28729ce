/* mod_passenger_api's configuration: the directives (each validated when the configuration is
 * read, so mistakes fail `apachectl -t`), their merge, and the one place where every setting's
 * default is resolved (papi_defaults and the papi_conf_* getters). */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include "http_core.h"
#include "ap_mpm.h"
#include "unixd.h"

#include <apr_strings.h>

#include "papi_direct.h"
#include "papi_host.h"
#include "papi_setting.h"
#include "papi_metrics.h"

/* Passenger's API refuses bodies over 128 KiB itself. */
#define PAPI_MAX_LIMIT_BODY (128 * 1024)

/* Every setting's default (registries and trusted have theirs in their getters: they depend on
 * the system). max_in_flight 0: half the child's threads, at least 1. */
static const papi_dir_conf papi_defaults = {
    .timeout = apr_time_from_sec(5),
    .request_timeout = apr_time_from_sec(15),
    .max_instances = 32,
    .limit_body = 64 * 1024,
    .limit_answer = 8 * 1024 * 1024,
    .registry_override = PAPI_OVERRIDE_OFF,
    .access = PAPI_ACCESS_READONLY,
    .metrics_pid_label = 0,
    .health_path = "/",
    .max_in_flight = 0,
    .process_requests = 1,
    .metrics_names = PAPI_METRICS_NATIVE,
};

/* A setting's value, or its default. */
#define PAPI_VALUE(c, field, unset) ((c)->field != (unset) ? (c)->field : papi_defaults.field)

/* The settings that are one number, PAPI_UNSET until a directive sets them. */
#define PAPI_NUMBERS(X) X(timeout) X(request_timeout) X(max_instances) X(limit_body) \
    X(limit_answer) X(registry_override) X(access) X(metrics_pid_label) X(max_in_flight) \
    X(process_requests) X(metrics_names)

void *papi_create_dir_conf(apr_pool_t *p, char *dir)
{
    papi_dir_conf *c = apr_pcalloc(p, sizeof(*c));

#define PAPI_UNSET_FIELD(field) c->field = PAPI_UNSET;
    PAPI_NUMBERS(PAPI_UNSET_FIELD)
    return c;
}

#define PAPI_MERGE(field, unset) (add->field != (unset) ? add->field : base->field)

void *papi_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    papi_dir_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));

    c->enabled = add->enabled || base->enabled;
    c->base = PAPI_MERGE(base, NULL);
    c->registries = PAPI_MERGE(registries, NULL);
#define PAPI_MERGE_FIELD(field) c->field = PAPI_MERGE(field, PAPI_UNSET);
    PAPI_NUMBERS(PAPI_MERGE_FIELD)
    c->override_globs = add->registry_override != PAPI_UNSET ? add->override_globs
                                                             : base->override_globs;
    c->trusted = PAPI_MERGE(trusted, NULL);
    c->health_path = PAPI_MERGE(health_path, NULL);
    return c;
}

void *papi_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(papi_server_conf));
}

/* A <VirtualHost>'s own list replaces the main server's. */
void *papi_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
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
    const char *err = papi_context(cmd, c), *dir;

    if (err)
        return err;
    if ((err = papi_registry_dir_parse(cmd->pool, arg, &dir)) != NULL)
        return apr_pstrcat(cmd->pool, "PassengerApiRegistryDir: ", err, NULL);
    if (!c->registries)
        c->registries = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(c->registries, const char *) = dir;
    return NULL;
}

/* The glue's half of a setting's parse (papi_setting.h): where the directive may stand, and its
 * name before what is wrong with its value. */
static const char *papi_setting_error(cmd_parms *cmd, const char *why)
{
    return why ? apr_pstrcat(cmd->pool, cmd->cmd->name, " ", why, NULL) : NULL;
}

/* PassengerApiTimeout, PassengerApiRequestTimeout: cmd->info is the field's offset. */
static const char *papi_set_seconds(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);

    return err ? err : papi_setting_error(cmd, papi_setting_seconds(arg,
                           (apr_interval_time_t *)((char *)c + (apr_size_t)cmd->info)));
}

/* A whole-number setting: its field (an apr_off_t) and the largest value it takes. */
typedef struct papi_count_field {
    apr_size_t offset;
    apr_off_t max;
} papi_count_field;

#define PAPI_COUNT(field, max) \
    ((void *)&(const papi_count_field){ APR_OFFSETOF(papi_dir_conf, field), (max) })

static const char *papi_set_count(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const papi_count_field *f = cmd->info;
    const char *err = papi_context(cmd, c);

    return err ? err : papi_setting_error(cmd, papi_setting_count(cmd->pool, arg, f->max,
                           (apr_off_t *)((char *)c + f->offset)));
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

/* PassengerApiRegistryOverride off | on | GLOB... (papi_registry_override_parse). */
static const char *papi_set_registry_override(cmd_parms *cmd, void *conf, const char *args)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c), *word;
    apr_array_header_t *words = apr_array_make(cmd->temp_pool, 4, sizeof(const char *));
    papi_override_mode mode;

    if (err)
        return err;
    while (*(word = ap_getword_conf(cmd->pool, &args)))
        APR_ARRAY_PUSH(words, const char *) = word;
    if ((err = papi_registry_override_parse(cmd->pool, words, &mode, &c->override_globs)))
        return apr_pstrcat(cmd->pool, "PassengerApiRegistryOverride: ", err, NULL);
    c->registry_override = mode;
    return NULL;
}

/* A setting that is one of two words, stored as 0 or 1 (cmd->info is its papi_choice). */
typedef struct papi_choice {
    apr_size_t offset;          /* of its int field in papi_dir_conf */
    const char *words[2];       /* what 0 and 1 are called */
} papi_choice;

#define PAPI_CHOICE(field, word0, word1) \
    ((void *)&(const papi_choice){ APR_OFFSETOF(papi_dir_conf, field), { (word0), (word1) } })

static const char *papi_set_choice(cmd_parms *cmd, void *conf, const char *arg)
{
    const papi_choice *choice = cmd->info;
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);

    return err ? err : papi_setting_error(cmd, papi_setting_choice(cmd->pool, arg, choice->words,
                           (int *)((char *)c + choice->offset)));
}

static const char *papi_set_trusted_owner(cmd_parms *cmd, void *conf, const char *arg)
{
    papi_dir_conf *c = conf;
    const char *err = papi_context(cmd, c);
    uid_t uid;

    if (err || (err = papi_setting_error(cmd, papi_setting_owner(cmd->pool, arg, &uid))))
        return err;
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

/* Where every directive but PassengerApiAllowedHost may stand (papi_context narrows it further),
 * and the field a generic setter writes. */
#define PAPI_WHERE (RSRC_CONF | ACCESS_CONF)
#define PAPI_FIELD(field) ((void *)APR_OFFSETOF(papi_dir_conf, field))

const command_rec papi_cmds[] = {
    AP_INIT_ITERATE("PassengerApiRegistryDir", papi_set_registry_dir, NULL, PAPI_WHERE,
                    "Passenger instance registry directories (absolute paths or globs) to scan"),
    AP_INIT_TAKE1("PassengerApiTimeout", papi_set_seconds, PAPI_FIELD(timeout), PAPI_WHERE,
                  "Seconds one instance has to answer, connect included (default 5)"),
    AP_INIT_TAKE1("PassengerApiRequestTimeout", papi_set_seconds, PAPI_FIELD(request_timeout),
                  PAPI_WHERE, "Seconds one request may spend asking instances (default 15)"),
    AP_INIT_TAKE1("PassengerApiMaxInstances", papi_set_count, PAPI_COUNT(max_instances, 1024),
                  PAPI_WHERE, "Good instances asked in one request at the most (default 32)"),
    AP_INIT_TAKE1("PassengerApiLimitRequestBody", papi_set_count,
                  PAPI_COUNT(limit_body, PAPI_MAX_LIMIT_BODY), PAPI_WHERE,
                  "Bytes of request body accepted at the most (default 65536, at most 131072)"),
    AP_INIT_TAKE1("PassengerApiLimitAnswer", papi_set_count,
                  PAPI_COUNT(limit_answer, (apr_off_t)1 << 30), PAPI_WHERE,
                  "Bytes of one instance's answer body accepted at the most (default 8 MiB)"),
    AP_INIT_RAW_ARGS("PassengerApiRegistryOverride", papi_set_registry_override, NULL, PAPI_WHERE,
                     "What the " PAPI_REGISTRY_HEADER " request header does: off (nothing, the "
                     "default), on (its glob narrows the configured registries), or GLOB... (its "
                     "value replaces them, within the directories the GLOBs name)"),
    AP_INIT_TAKE1("PassengerApiAccess", papi_set_choice, PAPI_CHOICE(access, "readonly", "full"),
                  PAPI_WHERE, "readonly (default) or full"),
    AP_INIT_ITERATE("PassengerApiTrustedOwner", papi_set_trusted_owner, NULL, PAPI_WHERE,
                    "Users (names or #uid) whose instance directories are trusted (default: root "
                    "and the httpd User)"),
    AP_INIT_FLAG("PassengerApiMetricsPidLabel", papi_set_flag, PAPI_FIELD(metrics_pid_label),
                 PAPI_WHERE, "Label /metrics' per-process series with the pid too (default off: a "
                 "slot per app group keeps the number of series bounded)"),
    AP_INIT_TAKE1("PassengerApiMaxInFlight", papi_set_count, PAPI_COUNT(max_in_flight, 1024),
                  PAPI_WHERE, "Requests to this API one httpd child may have stuck (waiting over "
                  "a second) at once; beyond, new ones get a 503 (default: half its threads)"),
    AP_INIT_TAKE1("PassengerApiHealthPath", papi_set_health_path, NULL, PAPI_WHERE,
                  "The path (and query) health.json requests from every process (default /)"),
    AP_INIT_ITERATE("PassengerApiAllowedHost", papi_set_allowed_host, NULL, RSRC_CONF,
                    "Host names or addresses this server may be addressed by, besides ServerName, "
                    "ServerAlias, the listener's address and localhost (server config and "
                    "virtual host only)"),
    AP_INIT_FLAG("PassengerApiProcessRequests", papi_set_flag, PAPI_FIELD(process_requests),
                 PAPI_WHERE, "Relay requests to single processes at /processes/<pid>/ (default "
                 "on; health.json is not affected)"),
    AP_INIT_TAKE1("PassengerApiMetricsNames", papi_set_choice,
                  PAPI_CHOICE(metrics_names, "native", "exporter"), PAPI_WHERE,
                  "/metrics' names: native (default) or exporter (passenger-exporter's families)"),
    { NULL }
};

/* ---- every setting, resolved ------------------------------------------------------------------ */

apr_interval_time_t papi_conf_timeout(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, timeout, PAPI_UNSET);
}

apr_interval_time_t papi_conf_request_timeout(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, request_timeout, PAPI_UNSET);
}

int papi_conf_max_instances(const papi_dir_conf *c)
{
    return (int)PAPI_VALUE(c, max_instances, PAPI_UNSET);
}

apr_off_t papi_conf_limit_body(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, limit_body, PAPI_UNSET);
}

apr_off_t papi_conf_limit_answer(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, limit_answer, PAPI_UNSET);
}

papi_registry_override papi_conf_registry_override(apr_pool_t *p, const papi_dir_conf *c)
{
    papi_registry_override o;

    o.mode = PAPI_VALUE(c, registry_override, PAPI_UNSET);
    o.configured = papi_conf_registries(p, c);
    o.allowed = c->override_globs;
    o.globs = NULL;
    return o;
}

papi_access papi_conf_access(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, access, PAPI_UNSET) == PAPI_ACCESS_FULL ? PAPI_ACCESS_FULL
                                                                 : PAPI_ACCESS_READONLY;
}

int papi_conf_metrics_pid_label(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, metrics_pid_label, PAPI_UNSET) == 1;
}

const char *papi_conf_health_path(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, health_path, NULL);
}

int papi_child_threads(void)
{
    int threads = 1;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    return threads;
}

int papi_conf_max_in_flight(const papi_dir_conf *c)
{
    int threads;

    if (c->max_in_flight != PAPI_UNSET)
        return (int)c->max_in_flight;
    threads = papi_child_threads();
    return threads > 1 ? threads / 2 : 1;
}

int papi_conf_process_requests(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, process_requests, PAPI_UNSET) != 0;
}

int papi_conf_metrics_names(const papi_dir_conf *c)
{
    return PAPI_VALUE(c, metrics_names, PAPI_UNSET);
}

/* Default: Passenger's own search list. */
const apr_array_header_t *papi_conf_registries(apr_pool_t *p, const papi_dir_conf *c)
{
    return c->registries ? c->registries : papi_registry_default_patterns(p);
}

/* Default: root and the httpd User. */
papi_trust papi_conf_trust(apr_pool_t *p, const papi_dir_conf *c)
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
