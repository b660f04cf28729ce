#include "papi_processes.h"
#include "papi_answer.h"
#include "papi_json.h"

/* Members are written as ,"key":value; each object's first member is written by hand. */
static void papi_key(papi_buf *b, const char *key)
{
    papi_buf_printf(b, ",\"%s\":", key);
}

static void papi_number(papi_buf *b, apr_int64_t n)
{
    if (n == PAPI_PROCPOOL_NONE)
        papi_buf_puts(b, "null");
    else
        papi_buf_printf(b, "%" APR_INT64_T_FMT, n);
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
} papi_procs_ctx;

static void papi_last_probe(papi_buf *b, const papi_procs_ctx *c, apr_int64_t pid)
{
    papi_probe_result r;

    papi_key(b, "last_probe");
    if (!papi_probes_get(c->probes, c->name, pid, c->now, c->max_age, &r)) {
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

static void papi_process(papi_buf *b, const papi_procpool_process *proc, const papi_procs_ctx *c)
{
    apr_time_t now = c->now;

    papi_buf_puts(b, "{\"pid\":");
    papi_number(b, proc->pid);
    papi_str(b, "gupid", proc->gupid);
    papi_num(b, "concurrency", proc->concurrency);
    papi_num(b, "sessions", proc->sessions);
    papi_num(b, "busyness", proc->busyness);
    papi_num(b, "processed", proc->processed);
    papi_num(b, "cpu", proc->cpu);
    papi_num(b, "rss", proc->rss);
    papi_num(b, "pss", proc->pss);
    papi_num(b, "private_dirty", proc->private_dirty);
    papi_num(b, "swap", proc->swap);
    papi_num(b, "real_memory", proc->real_memory);
    papi_num(b, "vmsize", proc->vmsize);
    papi_num(b, "spawner_creation_time", proc->spawner_creation_time);
    papi_num(b, "spawn_start_time", proc->spawn_start_time);
    papi_num(b, "spawn_end_time", proc->spawn_end_time);
    papi_num(b, "last_used", proc->last_used);
    papi_num(b, "uptime", proc->spawn_end_time == PAPI_PROCPOOL_NONE || proc->spawn_end_time > now
                          ? PAPI_PROCPOOL_NONE : apr_time_sec(now - proc->spawn_end_time));
    papi_str(b, "life_status", proc->life_status);
    papi_str(b, "enabled", proc->enabled);
    papi_flag(b, "has_metrics", proc->has_metrics);
    papi_str(b, "code_revision", proc->code_revision);
    papi_num(b, "process_group_id", proc->process_group_id);
    papi_str(b, "command", proc->command);
    papi_last_probe(b, c, proc->pid);
    papi_buf_putc(b, '}');
}

static void papi_group(papi_buf *b, const papi_procpool_group *g, const papi_procs_ctx *c)
{
    int i;

    papi_buf_puts(b, "{\"name\":");
    papi_json_cstr(b, g->name);
    papi_str(b, "component_name", g->component_name);
    papi_flag(b, "default", g->is_default);
    papi_str(b, "app_root", g->app_root);
    papi_str(b, "app_type", g->app_type);
    papi_str(b, "environment", g->environment);
    papi_str(b, "uuid", g->uuid);
    papi_str(b, "life_status", g->life_status);
    papi_str(b, "user", g->user);
    papi_num(b, "uid", g->uid);
    papi_str(b, "group", g->group);
    papi_num(b, "gid", g->gid);
    papi_num(b, "enabled_process_count", g->enabled_process_count);
    papi_num(b, "disabling_process_count", g->disabling_process_count);
    papi_num(b, "disabled_process_count", g->disabled_process_count);
    papi_num(b, "capacity_used", g->capacity_used);
    papi_num(b, "get_wait_list_size", g->get_wait_list_size);
    papi_num(b, "disable_wait_list_size", g->disable_wait_list_size);
    papi_num(b, "processes_being_spawned", g->processes_being_spawned);
    papi_flag(b, "spawning", g->spawning);
    papi_flag(b, "restarting", g->restarting);
    papi_key(b, "processes");
    papi_buf_putc(b, '[');
    for (i = 0; i < g->processes->nelts; i++) {
        if (i)
            papi_buf_putc(b, ',');
        papi_process(b, APR_ARRAY_IDX(g->processes, i, const papi_procpool_process *), c);
    }
    papi_buf_puts(b, "]}");
}

static void papi_procpool_object(papi_buf *b, const papi_procpool *procpool, const papi_procs_ctx *c)
{
    int i;

    papi_buf_puts(b, "{\"passenger_version\":");
    papi_json_cstr(b, procpool->passenger_version);
    papi_num(b, "max", procpool->max);
    papi_num(b, "process_count", procpool->process_count);
    papi_num(b, "group_count", procpool->group_count);
    papi_num(b, "capacity_used", procpool->capacity_used);
    papi_num(b, "get_wait_list_size", procpool->get_wait_list_size);
    papi_key(b, "app_groups");
    papi_buf_putc(b, '[');
    for (i = 0; i < procpool->groups->nelts; i++) {
        if (i)
            papi_buf_putc(b, ',');
        papi_group(b, APR_ARRAY_IDX(procpool->groups, i, const papi_procpool_group *), c);
    }
    papi_buf_puts(b, "]}");
}

void papi_processes_write(papi_buf *b, const apr_array_header_t *views, apr_time_t now,
                          const papi_probes *probes, apr_interval_time_t max_age)
{
    papi_procs_ctx c = { now, probes, max_age, NULL };
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
            papi_buf_puts(b, ",\"pool\":null}");
            continue;
        }
        papi_key(b, "pool");
        c.name = v->inst->name;
        papi_procpool_object(b, v->procpool, &c);
        papi_buf_putc(b, '}');
    }
    papi_buf_puts(b, "]\n");
}
