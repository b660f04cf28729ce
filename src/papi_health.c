#include "papi_health.h"
#include "papi_direct.h"
#include "papi_json.h"
#include "papi_procstatus.h"

#include <apr_strings.h>
#include <string.h>

/* Every process of every read pool, in order, as a probe not yet run. */
static apr_array_header_t *papi_health_list(apr_pool_t *p, const apr_array_header_t *views)
{
    apr_array_header_t *probes = apr_array_make(p, 16, sizeof(papi_probe));
    int i, j, k;

    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        for (j = 0; v->procpool && j < v->procpool->groups->nelts; j++) {
            const papi_procpool_group *g =
                APR_ARRAY_IDX(v->procpool->groups, j, const papi_procpool_group *);
            for (k = 0; k < g->processes->nelts; k++) {
                papi_probe *probe = apr_array_push(probes);
                memset(probe, 0, sizeof(*probe));
                probe->view = v;
                probe->group = g;
                probe->proc = APR_ARRAY_IDX(g->processes, k, const papi_procpool_process *);
                probe->rss_before = probe->rss_after = -1;
            }
        }
    }
    return probes;
}

apr_array_header_t *papi_health_probe(apr_pool_t *p, const apr_array_header_t *views,
                                      const char *path, apr_time_t deadline,
                                      const papi_http_limits *limits, const char *proc)
{
    apr_array_header_t *probes = papi_health_list(p, views);
    papi_exchange *xs = apr_pcalloc(p, (probes->nelts + 1) * sizeof(*xs));
    int *of = apr_pcalloc(p, (probes->nelts + 1) * sizeof(*of));    /* probe of xs[k] */
    int i, n = 0;

    for (i = 0; i < probes->nelts; i++) {
        papi_probe *probe = &APR_ARRAY_IDX(probes, i, papi_probe);
        papi_direct_request req = { "GET", path, NULL, NULL, NULL, 0 };
        int status;
        if ((probe->unreachable = papi_direct_prepare(p, probe->group, probe->proc, &req, limits,
                                                      deadline, &xs[n], &status)) == NULL) {
            probe->rss_before = papi_procstatus_rss(p, proc, probe->proc->pid, probe->group->uid);
            of[n++] = i;
        }
    }
    papi_exchange_run_some(p, xs, n, PAPI_HEALTH_AT_ONCE);
    for (i = 0; i < n; i++) {
        papi_probe *probe = &APR_ARRAY_IDX(probes, of[i], papi_probe);
        const papi_exchange_result *res = &xs[i].res;
        probe->rss_after = papi_procstatus_rss(p, proc, probe->proc->pid, probe->group->uid);
        probe->latency = xs[i].elapsed;
        if (res->failure) {
            probe->error = res->error;
            continue;
        }
        probe->status = res->resp->status;
        probe->healthy = probe->status >= 200 && probe->status < 400;
        if (!probe->healthy)
            probe->error = apr_psprintf(p, "%s answered %d", path, probe->status);
    }
    return probes;
}

void papi_health_record(papi_probes *table, const apr_array_header_t *probes, apr_time_t now)
{
    int i;

    for (i = 0; table && i < probes->nelts; i++) {
        const papi_probe *probe = &APR_ARRAY_IDX(probes, i, papi_probe);
        const char *why = probe->unreachable ? probe->unreachable : probe->error;
        papi_probe_result r = { now, !probe->unreachable, probe->healthy, probe->status,
                                probe->latency, "" };
        if (why)
            apr_cpystrn(r.error, why, sizeof(r.error));
        papi_probes_put(table, probe->view->inst->name, probe->proc->pid, &r);
    }
}

static void papi_health_instances(papi_buf *b, const apr_array_header_t *views)
{
    int i, n = 0;

    papi_buf_puts(b, ",\"instances\":[");
    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        if (v->inst->state != PAPI_INST_GOOD)
            continue;
        papi_buf_puts(b, n++ ? ",{\"name\":" : "{\"name\":");
        papi_json_cstr(b, v->inst->name);
        papi_buf_printf(b, ",\"status\":%d,\"error\":", v->status);
        papi_json_cstr(b, v->status == 200 ? NULL : v->error);
        papi_buf_putc(b, '}');
    }
    papi_buf_putc(b, ']');
}

static void papi_health_process(papi_buf *b, const papi_probe *probe)
{
    papi_buf_puts(b, "{\"instance\":");
    papi_json_cstr(b, probe->view->inst->name);
    papi_buf_puts(b, ",\"app_group\":");
    papi_json_cstr(b, probe->group->name);
    papi_buf_printf(b, ",\"pid\":%" APR_INT64_T_FMT, probe->proc->pid);
    papi_buf_printf(b, probe->rss_before < 0 ? ",\"rss_before_kb\":null"
                                             : ",\"rss_before_kb\":%" APR_INT64_T_FMT,
                    probe->rss_before);
    papi_buf_printf(b, probe->rss_after < 0 ? ",\"rss_after_kb\":null"
                                            : ",\"rss_after_kb\":%" APR_INT64_T_FMT,
                    probe->rss_after);
    if (probe->unreachable) {
        papi_buf_puts(b, ",\"reachable\":false,\"healthy\":null,\"status\":null,"
                         "\"latency_ms\":null,\"error\":");
        papi_json_cstr(b, probe->unreachable);
    }
    else {
        papi_buf_printf(b, ",\"reachable\":true,\"healthy\":%s,\"status\":",
                        probe->healthy ? "true" : "false");
        papi_buf_printf(b, probe->status ? "%d" : "null", probe->status);
        papi_buf_printf(b, ",\"latency_ms\":%.1f,\"error\":", probe->latency / 1000.0);
        papi_json_cstr(b, probe->error);
    }
    papi_buf_putc(b, '}');
}

int papi_health_write(papi_buf *b, const apr_array_header_t *views,
                      const apr_array_header_t *probes, const char *path)
{
    int i, healthy = 0, unhealthy = 0, unreachable = 0, failed = 0;

    for (i = 0; i < probes->nelts; i++) {
        const papi_probe *probe = &APR_ARRAY_IDX(probes, i, papi_probe);
        if (probe->unreachable)
            unreachable++;
        else if (probe->healthy)
            healthy++;
        else
            unhealthy++;
    }
    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        failed += v->inst->state == PAPI_INST_GOOD && v->status != 200;
    }
    papi_buf_printf(b, "{\"status\":\"%s\",\"path\":",
                    unhealthy || failed ? "unhealthy" : "healthy");
    papi_json_cstr(b, path);
    papi_health_instances(b, views);
    papi_buf_printf(b, ",\"healthy\":%d,\"unhealthy\":%d,\"unreachable\":%d,\"processes\":[",
                    healthy, unhealthy, unreachable);
    for (i = 0; i < probes->nelts; i++) {
        if (i)
            papi_buf_putc(b, ',');
        papi_health_process(b, &APR_ARRAY_IDX(probes, i, papi_probe));
    }
    papi_buf_puts(b, "]}\n");
    return unhealthy || failed ? 503 : 200;
}
