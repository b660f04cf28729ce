#include "papi_fanout.h"
#include "papi_answer.h"
#include "papi_redact.h"

#include <apr_strings.h>
#include <string.h>
#include <unistd.h>

/* The credential for inst: kept from an earlier request (*kept set), else read or asked for,
 * and kept for the next ones. */
static const char *papi_password_for(apr_pool_t *p, const papi_fanout_config *cfg,
                                     const papi_instance *inst, apr_time_t deadline,
                                     const char **password, int *kept)
{
    const char *why;

    if ((*password = papi_instcache_password(cfg->cache, p, inst, cfg->level)) != NULL) {
        *kept = 1;
        return NULL;
    }
    *kept = 0;
    if (inst->owner == geteuid() || !cfg->helper_socket)
        why = papi_cred_read(p, inst->registry, inst->dirname, inst->owner, cfg->level, password);
    else
        why = papi_cred_ask(p, cfg->helper_socket, cfg->level, inst->registry, inst->dirname,
                            deadline, password);
    if (!why)
        papi_instcache_keep_password(cfg->cache, inst, cfg->level, *password);
    return why;
}

/* Read-only mode never lets a secret through, whichever route the answer takes. */
static void papi_scrub(apr_pool_t *p, const papi_core_request *req, papi_core_result *res)
{
    const char *path = apr_pstrmemdup(p, req->path, strcspn(req->path, "?"));

    res->resp->body = (char *)papi_redact(p, path, res->resp->body, res->resp->body_len,
                                          &res->resp->body_len);
}

apr_time_t papi_fanout_deadline(const papi_fanout_config *cfg)
{
    apr_time_t deadline = apr_time_now() + cfg->timeout;

    return deadline < cfg->request_deadline ? deadline : cfg->request_deadline;
}

/* Everything before the call itself: the socket path, the credential (*kept: an earlier
 * request's) and an idle connection for a request that may be sent twice, into an exchange x
 * ready to run. Returns 0 with res saying why when the instance cannot be asked. */
static int papi_fanout_prepare(apr_pool_t *p, const papi_fanout_config *cfg,
                               const papi_instance *inst, const papi_core_request *req,
                               papi_exchange *x, papi_core_result *res, int *kept)
{
    apr_time_t deadline = papi_fanout_deadline(cfg);
    const char *socket_path = papi_instance_core_socket(p, inst), *why;
    papi_core_request mine = *req;

    if (!socket_path) {
        *res = (papi_core_result){ 502, "the core socket path is too long for a Unix socket "
                                        "address", NULL };
        return 0;
    }
    if ((why = papi_password_for(p, cfg, inst, deadline, &mine.password, kept)) != NULL) {
        *res = (papi_core_result){ 502, apr_pstrcat(p, "credential unavailable: ", why, NULL),
                                   NULL };
        return 0;
    }
    mine.user = papi_cred_user(cfg->level);
    papi_core_exchange(p, x, socket_path, inst->owner, &mine, deadline, cfg->limits);
    x->keep_alive = cfg->cache != NULL;
    if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))
        x->reuse_fd = papi_instcache_take_connection(cfg->cache, inst);
    return 1;
}

/* What the core said, scrubbed in read-only mode; the connection kept for the next request, and
 * a kept credential the core refused forgotten. */
static void papi_fanout_answered(apr_pool_t *p, const papi_fanout_config *cfg,
                                 const papi_instance *inst, const papi_core_request *req,
                                 papi_exchange *x, int kept, papi_core_result *res)
{
    papi_instcache_give_connection(cfg->cache, inst, x->kept_fd);
    x->kept_fd = -1;
    *res = x->res;
    if (!res->failure && res->resp->status == 401 && kept)
        papi_instcache_keep_password(cfg->cache, inst, cfg->level, NULL);
    if (!res->failure && cfg->redact)
        papi_scrub(p, req, res);
}

void papi_fanout_call(apr_pool_t *p, const papi_fanout_config *cfg, const papi_instance *inst,
                      const papi_core_request *req, papi_core_result *res)
{
    papi_exchange x;
    int kept;

    if (!papi_fanout_prepare(p, cfg, inst, req, &x, res, &kept))
        return;
    papi_exchange_run(p, &x, 1);
    papi_fanout_answered(p, cfg, inst, req, &x, kept, res);
}

static void papi_note(apr_array_header_t *failures, const char *what)
{
    if (failures)
        APR_ARRAY_PUSH(failures, const char *) = what;
}

/* The element of an instance that is not asked (the cap, or the request's deadline), or NULL
 * when it may be. */
static const char *papi_not_asked(apr_pool_t *p, const papi_fanout_config *cfg, int nth,
                                  int *failure)
{
    if (nth > cfg->max_instances) {
        *failure = 503;
        return apr_psprintf(p, "not asked: more than %d good instances in one request "
                            "(PassengerApiMaxInstances)", cfg->max_instances);
    }
    if (apr_time_now() >= cfg->request_deadline) {
        *failure = 504;
        return "not asked: the request's deadline (PassengerApiRequestTimeout) had passed";
    }
    return NULL;
}

/* Credentials first, one instance after the other (local and quick, each bounded by its
 * deadline); then every core at once, so a hung one costs its own deadline only. */
apr_array_header_t *papi_fanout_collect(apr_pool_t *p, const papi_fanout_config *cfg,
                                        const apr_array_header_t *instances,
                                        const papi_core_request *req, apr_array_header_t *failures)
{
    apr_array_header_t *results = apr_array_make(p, 4, sizeof(papi_fanout_result));
    papi_exchange *xs = apr_pcalloc(p, (instances->nelts + 1) * sizeof(*xs));
    int *slot = apr_pcalloc(p, (instances->nelts + 1) * sizeof(*slot));   /* result of xs[k] */
    int *kept = apr_pcalloc(p, (instances->nelts + 1) * sizeof(*kept));   /* by xs[k] */
    char *asked = apr_pcalloc(p, instances->nelts + 1);                    /* by result */
    int i, k, nx = 0, too_many = 0, too_late = 0;

    for (i = 0; i < instances->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(instances, i, const papi_instance *);
        papi_fanout_result *out;
        if (inst->state != PAPI_INST_GOOD)
            continue;
        out = apr_array_push(results);
        out->inst = inst;
        out->res = (papi_core_result){ 0, NULL, NULL };
        if ((out->res.error = papi_not_asked(p, cfg, results->nelts, &out->res.failure))) {
            too_many += out->res.failure == 503;
            too_late += out->res.failure == 504;
            continue;
        }
        asked[results->nelts - 1] = 1;
        if (papi_fanout_prepare(p, cfg, inst, req, &xs[nx], &out->res, &kept[nx]))
            slot[nx++] = results->nelts - 1;
    }
    papi_exchange_run(p, xs, nx);
    for (k = 0; k < nx; k++) {
        papi_fanout_result *one = &APR_ARRAY_IDX(results, slot[k], papi_fanout_result);
        papi_fanout_answered(p, cfg, one->inst, req, &xs[k], kept[k], &one->res);
    }
    for (i = 0; i < results->nelts; i++) {
        const papi_fanout_result *one = &APR_ARRAY_IDX(results, i, papi_fanout_result);
        if (asked[i] && one->res.failure)
            papi_note(failures, apr_psprintf(p, "instance %s (%s): %d %s", one->inst->name,
                                             one->inst->path, one->res.failure, one->res.error));
    }
    if (too_many)
        papi_note(failures, apr_psprintf(p, "%d instances not asked: more than %d good instances in "
                                         "one request (PassengerApiMaxInstances)", too_many,
                                         cfg->max_instances));
    if (too_late)
        papi_note(failures, apr_psprintf(p, "%d instances not asked: the request's deadline "
                                         "(PassengerApiRequestTimeout) had passed", too_late));
    return results;
}

void papi_fanout_aggregate(papi_buf *b, apr_pool_t *p, const papi_fanout_config *cfg,
                           const apr_array_header_t *instances, const papi_core_request *req,
                           apr_array_header_t *failures)
{
    apr_array_header_t *results = papi_fanout_collect(p, cfg, instances, req, failures);
    int i;

    papi_buf_putc(b, '[');
    for (i = 0; i < results->nelts; i++) {
        const papi_fanout_result *one = &APR_ARRAY_IDX(results, i, papi_fanout_result);
        if (i)
            papi_buf_putc(b, ',');
        papi_answer_element(b, p, one->inst, &one->res);
    }
    papi_buf_puts(b, "]\n");
}
