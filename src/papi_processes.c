#include "papi_processes.h"
#include "papi_answer.h"
#include "papi_json.h"

/* Members are written as ,"key":value, but for an object's first: no value ends with '{'. */
static void papi_key(papi_buf *b, const char *key)
{
    if (!b->len || b->data[b->len - 1] != '{')
        papi_buf_putc(b, ',');
    papi_buf_putc(b, '"');
    papi_buf_puts(b, key);
    papi_buf_add(b, "\":", 2);
}

static void papi_number(papi_buf *b, apr_int64_t n)
{
    if (n == PAPI_PROCPOOL_NONE)
        papi_buf_puts(b, "null");
    else
        papi_buf_int64(b, n);
}

static void papi_num(papi_buf *b, const char *key, apr_int64_t n)
{
    papi_key(b, key);
    papi_number(b, n);
}

static void papi_str(papi_buf *b, const char *key, const char *s)
{
    papi_key(b, key);
    papi_json_cstr(b, s);
}

static void papi_flag(papi_buf *b, const char *key, int flag)
{
    papi_key(b, key);
    papi_buf_puts(b, flag < 0 ? "null" : flag ? "true" : "false");
}

typedef struct papi_procs_ctx {
    apr_time_t now;
    const papi_probes *probes;
    apr_interval_time_t max_age;
    const char *name;               /* of the instance being written */
    const papi_view *view;          /* the same */
    const papi_rsshist *rss;
} papi_procs_ctx;

/* An object's members, made from papi_procpool.h's lists: a DERIVED name is written by
 * papi_write_<name>(b, obj, c), a SECRET never. */
#define PAPI_WRITE_STRING(b, obj, c, member) papi_str(b, #member, (obj)->member);
#define PAPI_WRITE_NUMBER(b, obj, c, member) papi_num(b, #member, (obj)->member);
#define PAPI_WRITE_FLAG(b, obj, c, member) papi_flag(b, #member, (obj)->member);
#define PAPI_WRITE_PRESENT(b, obj, c, member) papi_flag(b, #member, (obj)->member);
#define PAPI_WRITE_SECRET(b, obj, c, member)
#define PAPI_WRITE_DERIVED(b, obj, c, member) papi_write_##member(b, obj, c);

#define PAPI_WRITE_PROCESS(member, kind) PAPI_WRITE_##kind(b, proc, c, member)
#define PAPI_WRITE_GROUP(member, kind) PAPI_WRITE_##kind(b, g, c, member)
#define PAPI_WRITE_INFO(member, kind) PAPI_WRITE_##kind(b, procpool, c, member)

static void papi_write_uptime(papi_buf *b, const papi_procpool_process *proc,
                              const papi_procs_ctx *c)
{
    papi_num(b, "uptime", proc->spawn_end_time == PAPI_PROCPOOL_NONE || proc->spawn_end_time > c->now
                          ? PAPI_PROCPOOL_NONE : apr_time_sec(c->now - proc->spawn_end_time));
}

static void papi_write_last_probe(papi_buf *b, const papi_procpool_process *proc,
                                  const papi_procs_ctx *c)
{
    papi_probe_result r;

    papi_key(b, "last_probe");
    if (!papi_probes_get(c->probes, c->name, proc->pid, c->now, c->max_age, &r)) {
        papi_buf_puts(b, "null");
        return;
    }
    papi_buf_printf(b, "{\"at\":%" APR_INT64_T_FMT ",\"reachable\":%s", (apr_int64_t)r.at,
                    r.reachable ? "true" : "false");
    papi_buf_puts(b, r.reachable ? (r.healthy ? ",\"healthy\":true" : ",\"healthy\":false")
                                 : ",\"healthy\":null");
    papi_buf_printf(b, r.status ? ",\"status\":%d" : ",\"status\":null", r.status);
    if (r.reachable)
        papi_buf_printf(b, ",\"latency_ms\":%.1f", r.latency / 1000.0);
    else
        papi_buf_puts(b, ",\"latency_ms\":null");
    papi_str(b, "error", r.error[0] ? r.error : NULL);
    papi_buf_putc(b, '}');
}

static void papi_write_requests_in_flight(papi_buf *b, const papi_procpool_process *proc,
                                          const papi_procs_ctx *c)
{
    papi_num(b, "requests_in_flight", c->view->inflight
                                      ? papi_inflight_count(c->view->inflight, proc->pid)
                                      : PAPI_PROCPOOL_NONE);
}

static void papi_write_rss_history(papi_buf *b, const papi_procpool_process *proc,
                                   const papi_procs_ctx *c)
{
    papi_rss_sample samples[PAPI_RSSHIST_SAMPLES];
    int i, n;

    papi_key(b, "rss_history");
    if (!c->rss) {
        papi_buf_puts(b, "null");
        return;
    }
    n = papi_rsshist_get(c->rss, c->name, proc->pid, c->now, samples);
    papi_buf_putc(b, '[');
    for (i = 0; i < n; i++) {
        if (i)
            papi_buf_putc(b, ',');
        papi_buf_putc(b, '[');
        papi_buf_uint64(b, samples[i].at);
        papi_buf_putc(b, ',');
        papi_buf_uint64(b, samples[i].kb);
        papi_buf_putc(b, ']');
    }
    papi_buf_putc(b, ']');
}

/* The instance's requests in flight, longest-running first, each with its app group (the one
 * pool.xml shows its process in); null when server.json was not read. */
static void papi_write_inflight(papi_buf *b, const papi_view *v)
{
    const papi_procpool_process *proc;
    const papi_procpool_group *g;
    int i;

    papi_key(b, "requests_in_flight");
    if (!v->inflight) {
        papi_buf_puts(b, "null");
        return;
    }
    papi_buf_putc(b, '[');
    for (i = 0; i < v->inflight->nelts; i++) {
        const papi_inflight *r = &APR_ARRAY_IDX(v->inflight, i, papi_inflight);
        g = r->pid ? papi_view_find(v, r->pid, &proc) : NULL;
        papi_buf_puts(b, i ? ",{" : "{");
        papi_str(b, "app_group", g ? g->name : NULL);
        papi_num(b, "pid", r->pid ? r->pid : PAPI_PROCPOOL_NONE);
        papi_str(b, "method", r->method);
        papi_str(b, "path", r->path);
        papi_num(b, "started_at", r->started_at ? r->started_at : PAPI_PROCPOOL_NONE);
        papi_key(b, "age_ms");
        papi_buf_printf(b, r->age < 0 ? "null" : "%.1f", r->age / 1000.0);
        papi_buf_putc(b, '}');
    }
    papi_buf_putc(b, ']');
}

/* Writes one item of a list, as an object. */
typedef void papi_item_fn(papi_buf *b, const void *item, const papi_procs_ctx *c);

/* "key":[...], every item of items written by write. */
static void papi_list(papi_buf *b, const char *key, const apr_array_header_t *items,
                      papi_item_fn *write, const papi_procs_ctx *c)
{
    int i;

    papi_key(b, key);
    papi_buf_putc(b, '[');
    for (i = 0; i < items->nelts; i++) {
        if (i)
            papi_buf_putc(b, ',');
        write(b, APR_ARRAY_IDX(items, i, const void *), c);
        papi_buf_cut(b);
    }
    papi_buf_putc(b, ']');
}

static void papi_process(papi_buf *b, const void *item, const papi_procs_ctx *c)
{
    const papi_procpool_process *proc = item;

    papi_buf_putc(b, '{');
    PAPI_PROCPOOL_PROCESS_FIELDS(PAPI_WRITE_PROCESS)
    papi_buf_putc(b, '}');
}

static void papi_write_default(papi_buf *b, const papi_procpool_group *g, const papi_procs_ctx *c)
{
    papi_flag(b, "default", g->is_default);
}

static void papi_write_processes(papi_buf *b, const papi_procpool_group *g,
                                 const papi_procs_ctx *c)
{
    papi_list(b, "processes", g->processes, papi_process, c);
}

static void papi_group(papi_buf *b, const void *item, const papi_procs_ctx *c)
{
    const papi_procpool_group *g = item;

    papi_buf_putc(b, '{');
    PAPI_PROCPOOL_GROUP_FIELDS(PAPI_WRITE_GROUP)
    papi_buf_putc(b, '}');
}

static void papi_write_app_groups(papi_buf *b, const papi_procpool *procpool,
                                  const papi_procs_ctx *c)
{
    papi_list(b, "app_groups", procpool->groups, papi_group, c);
}

static void papi_procpool_object(papi_buf *b, const papi_procpool *procpool,
                                 const papi_procs_ctx *c)
{
    papi_buf_putc(b, '{');
    PAPI_PROCPOOL_INFO_FIELDS(PAPI_WRITE_INFO)
    papi_buf_putc(b, '}');
}

void papi_processes_write(papi_buf *b, const apr_array_header_t *views, apr_time_t now,
                          const papi_probes *probes, apr_interval_time_t max_age,
                          const papi_rsshist *rss)
{
    papi_procs_ctx c = { now, probes, max_age, NULL, NULL, rss };
    int i, n = 0;

    papi_buf_putc(b, '[');
    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        if (v->inst->state != PAPI_INST_GOOD)
            continue;
        if (n++)
            papi_buf_putc(b, ',');
        papi_buf_puts(b, "{\"instance\":");
        papi_answer_instance(b, v->inst);
        papi_buf_printf(b, ",\"status\":%d", v->status);
        if (v->status != 200) {
            papi_str(b, "error", v->error);
            papi_buf_puts(b, ",\"pool\":null,\"requests_in_flight\":null}");
            continue;
        }
        papi_key(b, "pool");
        c.name = v->inst->name;
        c.view = v;
        papi_procpool_object(b, v->procpool, &c);
        papi_write_inflight(b, v);
        papi_num(b, "requests_in_flight_total", v->inflight ? v->inflight_total
                                                            : PAPI_PROCPOOL_NONE);
        papi_buf_putc(b, '}');
        papi_buf_cut(b);
    }
    papi_buf_puts(b, "]\n");
}
