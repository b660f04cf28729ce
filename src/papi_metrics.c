/* The /metrics exposition. The views are first turned into rows (instances, their app groups,
 * their processes) with the label sets already escaped, then each family is written whole, rows
 * inside: the text format wants every sample of a family together. */
#include "papi_metrics.h"
#include "papi_utf8.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* How a number from pool.xml becomes a value in base units. */
typedef enum {
    AS_IS,
    KIB,            /* KiB to bytes */
    PERCENT,        /* percent to a ratio */
    MICROSECONDS    /* µs to seconds */
} papi_metrics_unit;

typedef struct metrics_process {
    const papi_procpool_process *proc;
    int order;                  /* document order, the last tie-breaker for the slot */
    const char *labels;         /* instance_name="…",app_group="…",slot="…"[,pid="…"] */
} metrics_process;

typedef struct metrics_group {
    const papi_procpool_group *group;
    const char *labels;                 /* instance_name="…",app_group="…" */
    apr_array_header_t *processes;      /* metrics_process, in slot order */
} metrics_group;

typedef struct metrics_instance {
    const papi_view *view;
    const char *name_labels;            /* instance_name="…" */
    const char *info_labels;            /* instance_name="…",version="…",integration_mode="…" */
    apr_array_header_t *groups;         /* metrics_group; empty unless the pool was read */
} metrics_instance;

/* A family whose samples are one number of a row, found at an offset in the row's struct. */
typedef struct number_family {
    const char *name;
    const char *type;
    const char *help;
    size_t offset;              /* of an apr_int64_t in papi_procpool, its group or process */
    papi_metrics_unit unit;
} number_family;

static const number_family procpool_families[] = {
    { "passenger_pool_max_processes", "gauge", "Most processes the pool may hold (PassengerMaxPoolSize).",
      offsetof(papi_procpool, max), AS_IS },
    { "passenger_pool_processes", "gauge", "Processes in the pool.",
      offsetof(papi_procpool, process_count), AS_IS },
    { "passenger_pool_capacity_used", "gauge", "Pool capacity in use.",
      offsetof(papi_procpool, capacity_used), AS_IS },
    { "passenger_pool_app_groups", "gauge", "Application groups in the pool.",
      offsetof(papi_procpool, group_count), AS_IS },
    { "passenger_pool_queued_requests", "gauge", "Requests waiting in the top-level queue.",
      offsetof(papi_procpool, get_wait_list_size), AS_IS },
};

static const number_family group_families[] = {
    { "passenger_app_group_queued_requests", "gauge", "Requests waiting in the app group's queue.",
      offsetof(papi_procpool_group, get_wait_list_size), AS_IS },
    { "passenger_app_group_processes_spawning", "gauge", "Processes of the app group being spawned.",
      offsetof(papi_procpool_group, processes_being_spawned), AS_IS },
    { "passenger_app_group_capacity_used", "gauge", "Pool capacity the app group uses.",
      offsetof(papi_procpool_group, capacity_used), AS_IS },
};

static const number_family process_families[] = {
    { "passenger_process_sessions", "gauge", "Sessions (requests being handled) open on the process.",
      offsetof(papi_procpool_process, sessions), AS_IS },
    { "passenger_process_concurrency", "gauge", "Sessions the process can handle at once (0: unlimited).",
      offsetof(papi_procpool_process, concurrency), AS_IS },
    { "passenger_process_requests_total", "counter", "Requests the process has handled since it was spawned.",
      offsetof(papi_procpool_process, processed), AS_IS },
    { "passenger_process_cpu_ratio", "gauge", "CPU use of the process, 1 being one CPU fully busy.",
      offsetof(papi_procpool_process, cpu), PERCENT },
    { "passenger_process_rss_bytes", "gauge", "Resident set size of the process.",
      offsetof(papi_procpool_process, rss), KIB },
    { "passenger_process_pss_bytes", "gauge", "Proportional set size of the process.",
      offsetof(papi_procpool_process, pss), KIB },
    { "passenger_process_private_dirty_bytes", "gauge", "Private dirty memory of the process.",
      offsetof(papi_procpool_process, private_dirty), KIB },
    { "passenger_process_swap_bytes", "gauge", "Swap used by the process.",
      offsetof(papi_procpool_process, swap), KIB },
    { "passenger_process_real_memory_bytes", "gauge", "Real memory of the process as Passenger measures it.",
      offsetof(papi_procpool_process, real_memory), KIB },
    { "passenger_process_virtual_memory_bytes", "gauge", "Virtual memory size of the process.",
      offsetof(papi_procpool_process, vmsize), KIB },
    { "passenger_process_start_time_seconds", "gauge", "When the process finished spawning, in seconds since the epoch.",
      offsetof(papi_procpool_process, spawn_end_time), MICROSECONDS },
    { "passenger_process_last_used_timestamp_seconds", "gauge", "When the process last handled a request, in seconds since the epoch.",
      offsetof(papi_procpool_process, last_used), MICROSECONDS },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static apr_int64_t papi_number_at(const void *row, size_t offset)
{
    return *(const apr_int64_t *)((const char *)row + offset);
}

/* A label value as the text format reads it: \ " and newline escaped, and every byte that is not
 * part of well-formed UTF-8 replaced by U+FFFD, so a scraper never sees invalid text. */
static void papi_put_label_value(papi_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    apr_size_t n = strlen(str), i = 0, run = 0, len;
    apr_uint32_t cp;

    while (i < n) {
        if (s[i] < 0x80 && s[i] != '\\' && s[i] != '"' && s[i] != '\n') {
            i++;
            continue;
        }
        len = papi_utf8_next(s + i, n - i, &cp);
        if (len > 1) {
            i += len;
            continue;
        }
        papi_buf_add(b, s + run, i - run);
        if (len == 0)
            papi_buf_puts(b, PAPI_UTF8_REPLACEMENT);
        else if (s[i] == '\n')
            papi_buf_puts(b, "\\n");
        else {
            papi_buf_putc(b, '\\');
            papi_buf_putc(b, s[i]);
        }
        i++;    /* a bad byte is replaced alone; the next one gets its own chance */
        run = i;
    }
    papi_buf_add(b, s + run, n - run);
}

/* name="value", after a comma unless it is the first label. */
static void papi_put_label(papi_buf *b, const char *name, const char *value)
{
    if (b->len)
        papi_buf_putc(b, ',');
    papi_buf_printf(b, "%s=\"", name);
    papi_put_label_value(b, value);
    papi_buf_putc(b, '"');
}

/* HELP text: only \ and newline are escaped there. */
static void papi_put_help_text(papi_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            papi_buf_puts(b, "\\\\");
        else if (*s == '\n')
            papi_buf_puts(b, "\\n");
        else
            papi_buf_putc(b, *s);
    }
}

static void papi_put_family_header(papi_buf *b, const char *name, const char *type, const char *help)
{
    papi_buf_printf(b, "# HELP %s ", name);
    papi_put_help_text(b, help);
    papi_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* v / 10^digits written exactly (no floating point: µs timestamps need 16 significant digits),
 * without trailing zeros in the fraction. */
static void papi_put_decimal(papi_buf *b, apr_int64_t v, int digits)
{
    apr_uint64_t u = v < 0 ? -(apr_uint64_t)v : (apr_uint64_t)v, scale = 1, frac;
    char text[24];
    int i, end;

    for (i = 0; i < digits; i++)
        scale *= 10;
    papi_buf_printf(b, "%s%" APR_UINT64_T_FMT, v < 0 ? "-" : "", u / scale);
    frac = u % scale;
    if (frac == 0)
        return;
    for (i = digits - 1; i >= 0; i--, frac /= 10)
        text[i] = '0' + frac % 10;
    for (end = digits; text[end - 1] == '0'; end--)
        ;
    papi_buf_putc(b, '.');
    papi_buf_add(b, text, end);
}

static void papi_put_value(papi_buf *b, apr_int64_t v, papi_metrics_unit unit)
{
    switch (unit) {
    case AS_IS:
        papi_buf_printf(b, "%" APR_INT64_T_FMT, v);
        break;
    case KIB:
        /* A size past what 64 bits hold in bytes is still shown, as a float, not wrapped. */
        if (v > APR_INT64_MAX / 1024 || v < APR_INT64_MIN / 1024)
            papi_buf_printf(b, "%.17g", (double)v * 1024.0);
        else
            papi_buf_printf(b, "%" APR_INT64_T_FMT, v * 1024);
        break;
    case PERCENT:
        papi_put_decimal(b, v, 2);
        break;
    case MICROSECONDS:
        papi_put_decimal(b, v, 6);
        break;
    }
}

/* One sample line: name{labels} value. */
static void papi_put_sample(papi_buf *b, const char *name, const char *labels, apr_int64_t v,
                            papi_metrics_unit unit)
{
    papi_buf_printf(b, "%s{%s} ", name, labels);
    papi_put_value(b, v, unit);
    papi_buf_putc(b, '\n');
}

/* A property of properties.json that is a string, or NULL. */
static const char *papi_property(const papi_instance *inst, const char *key)
{
    json_t *v = json_is_object(inst->properties) ? json_object_get(inst->properties, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* a before b, a number not given counting as later than any given one. */
static int papi_compare_known_first(apr_int64_t a, apr_int64_t b)
{
    if (a == b)
        return 0;
    if (a == PAPI_PROCPOOL_NONE)
        return 1;
    if (b == PAPI_PROCPOOL_NONE)
        return -1;
    return a < b ? -1 : 1;
}

static int papi_compare_slot_order(const void *x, const void *y)
{
    const metrics_process *a = x, *b = y;
    int c = papi_compare_known_first(a->proc->spawn_start_time, b->proc->spawn_start_time);

    if (c == 0)
        c = papi_compare_known_first(a->proc->pid, b->proc->pid);
    if (c == 0)
        c = a->order < b->order ? -1 : a->order > b->order;
    return c;
}

/* The processes of a group with their labels. A pid label would make a new series at every
 * respawn, so processes are told apart by a slot instead: the process's rank in its app group by
 * spawn_start_time, oldest first (equal or unknown times, which come after known ones, are
 * broken by pid, then by document order). Slots are always 0..n-1 for n processes: when one goes,
 * the younger ones move down a rank and its replacement, the youngest, takes the last one. The
 * rank needs no memory of earlier scrapes, which httpd's children could not share anyway; the
 * price is that a slot's series can move to another process: gauges do not mind, but
 * requests_total then resets or jumps, so its rate is approximate across respawns (the pid label,
 * when asked for, tells the processes apart exactly). */
static apr_array_header_t *papi_group_processes(apr_pool_t *p, const papi_procpool_group *group,
                                                const char *group_labels, int pid_label)
{
    int i, n = group->processes ? group->processes->nelts : 0;
    apr_array_header_t *out = apr_array_make(p, n ? n : 1, sizeof(metrics_process));

    for (i = 0; i < n; i++) {
        metrics_process *mp = apr_array_push(out);
        mp->proc = APR_ARRAY_IDX(group->processes, i, const papi_procpool_process *);
        mp->order = i;
    }
    if (n > 1)
        qsort(out->elts, n, sizeof(metrics_process), papi_compare_slot_order);
    for (i = 0; i < n; i++) {
        metrics_process *mp = &APR_ARRAY_IDX(out, i, metrics_process);
        papi_buf *l = papi_buf_make(p, 128);

        papi_buf_puts(l, group_labels);
        papi_put_label(l, "slot", apr_itoa(p, i));
        if (pid_label)
            papi_put_label(l, "pid", mp->proc->pid == PAPI_PROCPOOL_NONE ? ""
                                : apr_psprintf(p, "%" APR_INT64_T_FMT, mp->proc->pid));
        mp->labels = l->data;
    }
    return out;
}

/* The groups of a read pool. A name seen before in the same pool is skipped, so no label set
 * is ever written twice. */
static apr_array_header_t *papi_procpool_groups(apr_pool_t *p, const papi_procpool *procpool,
                                                const char *name_labels, int pid_label)
{
    int i, n = procpool->groups ? procpool->groups->nelts : 0;
    apr_array_header_t *out = apr_array_make(p, n ? n : 1, sizeof(metrics_group));
    apr_hash_t *seen = apr_hash_make(p);

    for (i = 0; i < n; i++) {
        const papi_procpool_group *g =
            APR_ARRAY_IDX(procpool->groups, i, const papi_procpool_group *);
        const char *gname = g->name ? g->name : "";
        metrics_group *mg;
        papi_buf *l;

        if (apr_hash_get(seen, gname, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, gname, APR_HASH_KEY_STRING, g);
        l = papi_buf_make(p, 128);
        papi_buf_puts(l, name_labels);
        papi_put_label(l, "app_group", gname);
        mg = apr_array_push(out);
        mg->group = g;
        mg->labels = l->data;
        mg->processes = papi_group_processes(p, g, l->data, pid_label);
    }
    return out;
}

/* The instances the per-instance families show: good ones that were asked. A name already
 * seen (two registries can hold instances of the same name) is skipped altogether, as its label
 * sets would repeat the first one's. */
static apr_array_header_t *papi_metrics_instances(apr_pool_t *p, const apr_array_header_t *views,
                                                  int pid_label)
{
    apr_array_header_t *out = apr_array_make(p, views->nelts ? views->nelts : 1, sizeof(metrics_instance));
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        const char *version, *mode;
        metrics_instance *mi;
        papi_buf *l;

        if (v->inst->state != PAPI_INST_GOOD || v->status == 0 || v->inst->name == NULL
            || apr_hash_get(seen, v->inst->name, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, v->inst->name, APR_HASH_KEY_STRING, v);
        mi = apr_array_push(out);
        mi->view = v;
        l = papi_buf_make(p, 64);
        papi_put_label(l, "instance_name", v->inst->name);
        mi->name_labels = apr_pstrdup(p, l->data);
        version = papi_property(v->inst, "passenger_version");
        if (!version && v->status == 200)
            version = v->procpool->passenger_version;
        mode = papi_property(v->inst, "integration_mode");
        papi_put_label(l, "version", version ? version : "");
        papi_put_label(l, "integration_mode", mode ? mode : "");
        mi->info_labels = l->data;
        mi->groups = v->status == 200
                     ? papi_procpool_groups(p, v->procpool, mi->name_labels, pid_label)
                     : apr_array_make(p, 1, sizeof(metrics_group));
    }
    return out;
}

static void papi_write_scrape_families(papi_buf *b, const apr_array_header_t *views,
                                       const apr_array_header_t *insts,
                                       const papi_metrics_opts *opts)
{
    int i, errors = 0, uninspected = 0, per_state[PAPI_INST_UNTRUSTED + 1] = { 0 };
    papi_inst_state s;

    for (i = 0; i < insts->nelts; i++)
        errors += APR_ARRAY_IDX(insts, i, metrics_instance).view->status != 200;
    for (i = 0; i < views->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(views, i, papi_view).inst;
        /* A registry's entries beyond the bound are counted, never shown one by one. */
        if (papi_instance_is_summary(inst)) {
            per_state[PAPI_INST_UNTRUSTED] += inst->more_untrusted;
            uninspected += inst->more_uninspected;
        }
        else if (inst->state >= PAPI_INST_GOOD && inst->state <= PAPI_INST_UNTRUSTED)
            per_state[inst->state]++;
    }
    papi_put_family_header(b, "passenger_api_scrape_duration_seconds", "gauge",
                           "Time spent reading the instances for this scrape.");
    papi_buf_puts(b, "passenger_api_scrape_duration_seconds ");
    papi_put_decimal(b, opts->scrape_duration, 6);
    papi_buf_putc(b, '\n');
    papi_put_family_header(b, "passenger_api_scrape_errors", "gauge",
                           "Good instances whose pool could not be read in this scrape.");
    papi_buf_printf(b, "passenger_api_scrape_errors %d\n", errors);
    papi_put_family_header(b, "passenger_api_instances", "gauge",
                           "Candidate instance directories in the registries, by state.");
    for (s = PAPI_INST_GOOD; s <= PAPI_INST_UNTRUSTED; s++)
        papi_buf_printf(b, "passenger_api_instances{state=\"%s\"} %d\n", papi_inst_state_name(s),
                        per_state[s]);
    papi_put_family_header(b, "passenger_api_instances_not_inspected", "gauge",
                           "Candidate directories of trusted owners beyond the per-registry bound, "
                           "not inspected.");
    papi_buf_printf(b, "passenger_api_instances_not_inspected %d\n", uninspected);
}

static void papi_write_instance_families(papi_buf *b, const apr_array_header_t *insts)
{
    int i;

    papi_put_family_header(b, "passenger_up", "gauge",
                           "Whether the instance's pool could be read (1) or not (0).");
    for (i = 0; i < insts->nelts; i++) {
        const metrics_instance *mi = &APR_ARRAY_IDX(insts, i, metrics_instance);
        papi_put_sample(b, "passenger_up", mi->name_labels, mi->view->status == 200, AS_IS);
    }
    papi_put_family_header(b, "passenger_info", "gauge",
                           "Passenger version and integration mode of the instance.");
    for (i = 0; i < insts->nelts; i++)
        papi_put_sample(b, "passenger_info", APR_ARRAY_IDX(insts, i, metrics_instance).info_labels,
                        1, AS_IS);
}

static void papi_write_procpool_families(papi_buf *b, const apr_array_header_t *insts)
{
    size_t f;
    int i;

    for (f = 0; f < COUNT(procpool_families); f++) {
        const number_family *fam = &procpool_families[f];
        papi_put_family_header(b, fam->name, fam->type, fam->help);
        for (i = 0; i < insts->nelts; i++) {
            const metrics_instance *mi = &APR_ARRAY_IDX(insts, i, metrics_instance);
            apr_int64_t v;
            if (mi->view->status != 200)
                continue;
            v = papi_number_at(mi->view->procpool, fam->offset);
            if (v != PAPI_PROCPOOL_NONE)
                papi_put_sample(b, fam->name, mi->name_labels, v, fam->unit);
        }
    }
}

static void papi_write_group_state_family(papi_buf *b, const apr_array_header_t *insts)
{
    static const char *const states[] = { "enabled", "disabling", "disabled" };
    static const size_t offsets[] = { offsetof(papi_procpool_group, enabled_process_count),
                                      offsetof(papi_procpool_group, disabling_process_count),
                                      offsetof(papi_procpool_group, disabled_process_count) };
    const char *name = "passenger_app_group_processes";
    int i, j;
    size_t s;

    papi_put_family_header(b, name, "gauge",
                           "Processes of the app group, by whether they take requests.");
    for (i = 0; i < insts->nelts; i++) {
        const apr_array_header_t *groups = APR_ARRAY_IDX(insts, i, metrics_instance).groups;
        for (j = 0; j < groups->nelts; j++) {
            const metrics_group *mg = &APR_ARRAY_IDX(groups, j, metrics_group);
            for (s = 0; s < COUNT(states); s++) {
                apr_int64_t v = papi_number_at(mg->group, offsets[s]);
                if (v != PAPI_PROCPOOL_NONE)
                    papi_buf_printf(b, "%s{%s,state=\"%s\"} %" APR_INT64_T_FMT "\n", name, mg->labels,
                                    states[s], v);
            }
        }
    }
}

static void papi_write_group_families(papi_buf *b, const apr_array_header_t *insts)
{
    size_t f;
    int i, j;

    for (f = 0; f < COUNT(group_families); f++) {
        const number_family *fam = &group_families[f];
        papi_put_family_header(b, fam->name, fam->type, fam->help);
        for (i = 0; i < insts->nelts; i++) {
            const apr_array_header_t *groups = APR_ARRAY_IDX(insts, i, metrics_instance).groups;
            for (j = 0; j < groups->nelts; j++) {
                const metrics_group *mg = &APR_ARRAY_IDX(groups, j, metrics_group);
                apr_int64_t v = papi_number_at(mg->group, fam->offset);
                if (v != PAPI_PROCPOOL_NONE)
                    papi_put_sample(b, fam->name, mg->labels, v, fam->unit);
            }
        }
    }
}

static void papi_write_process_families(papi_buf *b, const apr_array_header_t *insts)
{
    size_t f;
    int i, j, k;

    for (f = 0; f < COUNT(process_families); f++) {
        const number_family *fam = &process_families[f];
        papi_put_family_header(b, fam->name, fam->type, fam->help);
        for (i = 0; i < insts->nelts; i++) {
            const apr_array_header_t *groups = APR_ARRAY_IDX(insts, i, metrics_instance).groups;
            for (j = 0; j < groups->nelts; j++) {
                const apr_array_header_t *procs = APR_ARRAY_IDX(groups, j, metrics_group).processes;
                for (k = 0; k < procs->nelts; k++) {
                    const metrics_process *mp = &APR_ARRAY_IDX(procs, k, metrics_process);
                    apr_int64_t v = papi_number_at(mp->proc, fam->offset);
                    if (v != PAPI_PROCPOOL_NONE)
                        papi_put_sample(b, fam->name, mp->labels, v, fam->unit);
                }
            }
        }
    }
}

void papi_metrics_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                        const papi_metrics_opts *opts)
{
    apr_array_header_t *insts = papi_metrics_instances(p, views, opts->pid_label);

    papi_write_scrape_families(b, views, insts, opts);
    papi_write_instance_families(b, insts);
    papi_write_procpool_families(b, insts);
    papi_write_group_families(b, insts);
    papi_write_group_state_family(b, insts);
    papi_write_process_families(b, insts);
}
