#include "papi_fanout.h"
#include "papi_answer.h"
#include "papi_redact.h"

#include <apr_strings.h>
#include <string.h>
#include <unistd.h>

static const char *papi_password_for(apr_pool_t *p, const papi_fanout_config *cfg,
                                     const papi_instance *inst, apr_time_t deadline,
                                     const char **password)
{
    if (inst->owner == geteuid() || !cfg->helper_socket)
        return papi_cred_read(p, inst->registry, inst->dirname, inst->owner, cfg->level, password);
    return papi_cred_ask(p, cfg->helper_socket, cfg->level, inst->registry, inst->dirname, deadline,
                         password);
}

/* Read-only mode never lets a secret through, whichever route the answer takes. */
static void papi_scrub(apr_pool_t *p, const papi_core_request *req, papi_core_result *res)
{
    const char *path = apr_pstrmemdup(p, req->path, strcspn(req->path, "?"));

    res->resp->body = (char *)papi_redact(p, path, res->resp->body, res->resp->body_len,
                                          &res->resp->body_len);
}

void papi_fanout_call(apr_pool_t *p, const papi_fanout_config *cfg, const papi_instance *inst,
                      const papi_core_request *req, papi_core_result *res)
{
    apr_time_t deadline = apr_time_now() + cfg->timeout;
    papi_core_request mine = *req;

    if (deadline > cfg->request_deadline)
        deadline = cfg->request_deadline;
    const char *socket_path = papi_instance_core_socket(p, inst), *why;

    if (!socket_path) {
        res->failure = 502;
        res->error = "the core socket path is too long for a Unix socket address";
        return;
    }
    if ((why = papi_password_for(p, cfg, inst, deadline, &mine.password)) != NULL) {
        res->failure = 502;
        res->error = apr_pstrcat(p, "credential unavailable: ", why, NULL);
        return;
    }
    mine.user = papi_cred_user(cfg->level);
    papi_core_call(p, socket_path, inst->owner, &mine, deadline, cfg->limits, res);
    if (!res->failure && cfg->redact)
        papi_scrub(p, req, res);
}

static void papi_note(apr_array_header_t *failures, const char *what)
{
    if (failures)
        APR_ARRAY_PUSH(failures, const char *) = what;
}

void papi_fanout_aggregate(papi_buf *b, apr_pool_t *p, const papi_fanout_config *cfg,
                           const apr_array_header_t *instances, const papi_core_request *req,
                           apr_array_header_t *failures)
{
    int i, n = 0, too_many = 0, too_late = 0;

    papi_buf_putc(b, '[');
    for (i = 0; i < instances->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(instances, i, const papi_instance *);
        papi_core_result res = { 0, NULL, NULL };
        apr_pool_t *sub;
        if (inst->state != PAPI_INST_GOOD)
            continue;
        /* Each answer is written out at once, so its memory can go before the next call. */
        apr_pool_create(&sub, p);
        if (n >= cfg->max_instances) {
            res.failure = 503;
            res.error = apr_psprintf(sub, "not asked: more than %d good instances in one request "
                                     "(PassengerApiMaxInstances)", cfg->max_instances);
            too_many++;
        }
        else if (apr_time_now() >= cfg->request_deadline) {
            res.failure = 504;
            res.error = "not asked: the request's deadline (PassengerApiRequestTimeout) had passed";
            too_late++;
        }
        else {
            papi_fanout_call(sub, cfg, inst, req, &res);
            if (res.failure)
                papi_note(failures, apr_psprintf(p, "instance %s (%s): %d %s", inst->name,
                                                 inst->path, res.failure, res.error));
        }
        if (n++)
            papi_buf_putc(b, ',');
        papi_answer_element(b, sub, inst, &res);
        apr_pool_destroy(sub);
    }
    papi_buf_puts(b, "]\n");
    if (too_many)
        papi_note(failures, apr_psprintf(p, "%d instances not asked: more than %d good instances in "
                                         "one request (PassengerApiMaxInstances)", too_many,
                                         cfg->max_instances));
    if (too_late)
        papi_note(failures, apr_psprintf(p, "%d instances not asked: the request's deadline "
                                         "(PassengerApiRequestTimeout) had passed", too_late));
}
