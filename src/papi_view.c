#include "papi_view.h"
#include "papi_parsecache.h"

#include <apr_strings.h>

/* The view of one asked instance: its pool, or why there is none. */
static void papi_view_read(apr_pool_t *p, const papi_fanout_config *cfg, const char *core_path,
                           const papi_fanout_result *one, papi_view *v,
                           apr_array_header_t *failures)
{
    const papi_http_response *resp = one->res.resp;
    const papi_procpool *procpool;
    const char *why;

    if (one->res.failure) {
        v->status = one->res.failure;
        v->error = one->res.error;
        return;
    }
    if (resp->status != 200)
        why = apr_psprintf(p, "the core answered pool.xml with %d %s", resp->status, resp->reason);
    else if ((why = papi_parsecache_parse(cfg->parsed, p,
                                          apr_pstrcat(p, one->inst->path, "\n", core_path, NULL),
                                          resp->body, resp->body_len, &procpool)) == NULL) {
        v->status = 200;
        v->procpool = procpool;
        return;
    }
    v->status = 502;
    v->error = why;
    if (failures)
        APR_ARRAY_PUSH(failures, const char *) = apr_psprintf(p, "instance %s (%s): 502 %s",
                                                              one->inst->name, one->inst->path, why);
}

apr_array_header_t *papi_view_collect(apr_pool_t *p, const papi_fanout_config *cfg,
                                      const apr_array_header_t *instances, const char *core_path,
                                      apr_array_header_t *failures)
{
    papi_core_request req = { "GET", core_path, NULL, NULL, NULL, NULL, 0, NULL };
    papi_fanout_config mine = *cfg;
    apr_array_header_t *asked, *views = apr_array_make(p, instances->nelts, sizeof(papi_view));
    int i, k = 0;

    /* The model keeps no secret a view could show, so nothing needs scrubbing first. */
    mine.redact = 0;
    asked = papi_fanout_collect(p, &mine, instances, &req, failures);
    for (i = 0; i < instances->nelts; i++) {
        papi_view *v = apr_array_push(views);
        v->inst = APR_ARRAY_IDX(instances, i, const papi_instance *);
        v->status = 0;
        v->error = NULL;
        v->procpool = NULL;
        v->inflight = NULL;
        /* asked holds the good instances, in the same order. */
        if (v->inst->state == PAPI_INST_GOOD)
            papi_view_read(p, cfg, core_path, &APR_ARRAY_IDX(asked, k++, papi_fanout_result), v,
                           failures);
    }
    return views;
}

const papi_procpool_group *papi_view_find(const papi_view *v, apr_int64_t pid,
                                          const papi_procpool_process **proc)
{
    int j, k;

    for (j = 0; v->procpool && j < v->procpool->groups->nelts; j++) {
        const papi_procpool_group *g =
            APR_ARRAY_IDX(v->procpool->groups, j, const papi_procpool_group *);
        for (k = 0; k < g->processes->nelts; k++) {
            *proc = APR_ARRAY_IDX(g->processes, k, const papi_procpool_process *);
            if ((*proc)->pid == pid)
                return g;
        }
    }
    return NULL;
}

/* One instance's server.json, or why not. */
static const char *papi_view_requests(apr_pool_t *p, const papi_fanout_result *one,
                                      apr_array_header_t **reqs, int *total)
{
    const papi_http_response *resp = one->res.resp;

    if (one->res.failure)
        return one->res.error;
    if (resp->status != 200)
        return apr_psprintf(p, "the core answered server.json with %d %s", resp->status,
                            resp->reason);
    return papi_inflight_parse(p, resp->body, resp->body_len, reqs, total);
}

void papi_view_inflight(apr_pool_t *p, const papi_fanout_config *cfg, apr_array_header_t *views,
                        apr_array_header_t *failures)
{
    papi_core_request req = { "GET", "/server.json", NULL, NULL, NULL, NULL, 0, NULL };
    apr_array_header_t *read = apr_array_make(p, views->nelts, sizeof(const papi_instance *));
    apr_array_header_t *asked, *reqs;
    const char *why;
    int i, k = 0;

    for (i = 0; i < views->nelts; i++)
        if (APR_ARRAY_IDX(views, i, papi_view).status == 200)
            APR_ARRAY_PUSH(read, const papi_instance *) = APR_ARRAY_IDX(views, i, papi_view).inst;
    if (read->nelts == 0)
        return;
    asked = papi_fanout_collect(p, cfg, read, &req, failures);
    for (i = 0; i < views->nelts; i++) {
        papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        const papi_fanout_result *one;
        if (v->status != 200)
            continue;
        /* asked holds the read instances, in the same order. */
        one = &APR_ARRAY_IDX(asked, k++, papi_fanout_result);
        if ((why = papi_view_requests(p, one, &reqs, &v->inflight_total)) == NULL)
            v->inflight = reqs;
        else if (failures && !one->res.failure)
            APR_ARRAY_PUSH(failures, const char *) = apr_psprintf(p, "instance %s (%s): %s",
                                                                  v->inst->name, v->inst->path, why);
    }
}

int papi_view_process_count(const apr_array_header_t *views)
{
    int i, j, n = 0;

    for (i = 0; i < views->nelts; i++) {
        const papi_procpool *pl = APR_ARRAY_IDX(views, i, papi_view).procpool;

        for (j = 0; pl && pl->groups && j < pl->groups->nelts; j++) {
            const papi_procpool_group *g = APR_ARRAY_IDX(pl->groups, j, papi_procpool_group *);
            n += g->processes ? g->processes->nelts : 0;
        }
    }
    return n;
}
