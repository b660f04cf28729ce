/* The /metrics exposition. The views are first turned into rows (instances, their app groups,
 * their processes) with the label sets already escaped, then each family is written whole, rows
 * inside: the text format wants every sample of a family together. */
#include "papi_metrics.h"
#include "papi_identity.h"
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

/* Which rows a family's samples come from. */
typedef enum {
    LEVEL_POOL,             /* one per instance whose pool was read */
    LEVEL_GROUP,            /* one per app group */
    LEVEL_GROUP_DEFAULT,    /* one per app group, labelled as passenger_app_group_queue is */
    LEVEL_PROCESS           /* one per process */
} papi_metrics_level;

typedef struct metrics_process {
    const papi_procpool_process *proc;
    int order;                  /* document order, the last tie-breaker for the slot */
    const char *native;         /* passenger_instance="…",app_group="…",slot="…"[,pid="…"] */
    const char *labels;         /* the naming's: native, or name="…",id="…",<instance's> */
} metrics_process;

typedef struct metrics_group {
    const papi_procpool_group *group;
    const char *native;                 /* passenger_instance="…",app_group="…" */
    const char *labels;                 /* the naming's: native, or name="…",<instance's> */
    const char *default_labels;         /* exporter: group="…",default="…",<instance's> */
    apr_array_header_t *processes;      /* metrics_process, in slot order */
} metrics_group;

typedef struct metrics_instance {
    const papi_view *view;
    const char *native;                 /* passenger_instance="…" */
    const char *labels;                 /* the naming's: native, or hostname="…",<native> */
    const char *info_labels;            /* passenger_info's, or passenger_version's */
    apr_array_header_t *groups;         /* metrics_group; empty unless the pool was read */
} metrics_instance;

/* A family whose samples are one number of a row, found at an offset in the row's struct. */
typedef struct number_family {
    const char *name;
    const char *type;
    const char *help;
    papi_metrics_level level;
    size_t offset;              /* of an apr_int64_t in papi_procpool, its group or process */
    papi_metrics_unit unit;
} number_family;

#define POOL(field) LEVEL_POOL, offsetof(papi_procpool, field)
#define GROUP(field) LEVEL_GROUP, offsetof(papi_procpool_group, field)
#define PROCESS(field) LEVEL_PROCESS, offsetof(papi_procpool_process, field)

static const number_family native_families[] = {
    { "passenger_pool_max_processes", "gauge", "Most processes the pool may hold (PassengerMaxPoolSize).",
      POOL(max), AS_IS },
    { "passenger_pool_processes", "gauge", "Processes in the pool.",
      POOL(process_count), AS_IS },
    { "passenger_pool_capacity_used", "gauge", "Pool capacity in use.",
      POOL(capacity_used), AS_IS },
    { "passenger_pool_app_groups", "gauge", "Application groups in the pool.",
      POOL(group_count), AS_IS },
    { "passenger_pool_queued_requests", "gauge", "Requests waiting in the top-level queue.",
      POOL(get_wait_list_size), AS_IS },
    { "passenger_app_group_queued_requests", "gauge", "Requests waiting in the app group's queue.",
      GROUP(get_wait_list_size), AS_IS },
    { "passenger_app_group_processes_spawning", "gauge", "Processes of the app group being spawned.",
      GROUP(processes_being_spawned), AS_IS },
    { "passenger_app_group_capacity_used", "gauge", "Pool capacity the app group uses.",
      GROUP(capacity_used), AS_IS },
};

static const number_family native_process_families[] = {
    { "passenger_process_sessions", "gauge", "Sessions (requests being handled) open on the process.",
      PROCESS(sessions), AS_IS },
    { "passenger_process_concurrency", "gauge", "Sessions the process can handle at once (0: unlimited).",
      PROCESS(concurrency), AS_IS },
    { "passenger_process_requests_total", "counter", "Requests the process has handled since it was spawned.",
      PROCESS(processed), AS_IS },
    { "passenger_process_cpu_ratio", "gauge", "CPU use of the process, 1 being one CPU fully busy.",
      PROCESS(cpu), PERCENT },
    { "passenger_process_rss_bytes", "gauge", "Resident set size of the process.",
      PROCESS(rss), KIB },
    { "passenger_process_pss_bytes", "gauge", "Proportional set size of the process.",
      PROCESS(pss), KIB },
    { "passenger_process_private_dirty_bytes", "gauge", "Private dirty memory of the process.",
      PROCESS(private_dirty), KIB },
    { "passenger_process_swap_bytes", "gauge", "Swap used by the process.",
      PROCESS(swap), KIB },
    { "passenger_process_real_memory_bytes", "gauge", "Real memory of the process as Passenger measures it.",
      PROCESS(real_memory), KIB },
    { "passenger_process_virtual_memory_bytes", "gauge", "Virtual memory size of the process.",
      PROCESS(vmsize), KIB },
    { "passenger_process_start_time_seconds", "gauge", "When the process finished spawning, in seconds since the epoch.",
      PROCESS(spawn_end_time), MICROSECONDS },
    { "passenger_process_last_used_timestamp_seconds", "gauge", "When the process last handled a request, in seconds since the epoch.",
      PROCESS(last_used), MICROSECONDS },
};

/* passenger-exporter's families with its names, types and labels (name: the app group; id: the
 * process's slot, 0..n-1 as its own), in the units it meant: it divides the start time, which
 * Passenger gives in microseconds, by 10^9, and writes real memory as Passenger gives it, in
 * KiB. Passenger 6 writes 0 as the queue of every <supergroup>, which the exporter showed as
 * passenger_app_queue: the app group's own queue is shown there instead. */
static const number_family exporter_families[] = {
    { "passenger_top_level_queue", "gauge", "Requests in the top-level queue.",
      POOL(get_wait_list_size), AS_IS },
    { "passenger_max_processes", "gauge", "Most processes the pool may hold (PassengerMaxPoolSize).",
      POOL(max), AS_IS },
    { "passenger_current_processes", "gauge", "Processes in the pool.",
      POOL(process_count), AS_IS },
    { "passenger_app_count", "gauge", "Application groups in the pool.",
      POOL(group_count), AS_IS },
    { "passenger_app_queue", "gauge", "Requests in the app group's queue.",
      GROUP(get_wait_list_size), AS_IS },
    { "passenger_app_group_queue", "gauge", "Requests in the app group's queue (default: whether it is its app's default group).",
      LEVEL_GROUP_DEFAULT, offsetof(papi_procpool_group, get_wait_list_size), AS_IS },
    { "passenger_app_procs_spawning", "gauge", "Processes of the app group being spawned.",
      GROUP(processes_being_spawned), AS_IS },
    { "passenger_requests_processed_total", "counter", "Requests the process has handled since it was spawned.",
      PROCESS(processed), AS_IS },
    { "passenger_current_sessions", "gauge", "Sessions (requests being handled) open on the process.",
      PROCESS(sessions), AS_IS },
    { "passenger_proc_start_time_seconds", "gauge", "When the process started spawning, in seconds since the epoch.",
      PROCESS(spawn_start_time), MICROSECONDS },
    { "passenger_proc_memory", "gauge", "Real memory of the process in KiB, as Passenger measures it.",
      PROCESS(real_memory), AS_IS },
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
    if (v < 0)
        papi_buf_putc(b, '-');
    papi_buf_uint64(b, u / scale);
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
        papi_buf_int64(b, v);
        break;
    case KIB:
        /* A size past what 64 bits hold in bytes is still shown, as a float, not wrapped. */
        if (v > APR_INT64_MAX / 1024 || v < APR_INT64_MIN / 1024)
            papi_buf_printf(b, "%.17g", (double)v * 1024.0);
        else
            papi_buf_int64(b, v * 1024);
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
    papi_buf_puts(b, name);
    papi_buf_putc(b, '{');
    papi_buf_puts(b, labels);
    papi_buf_add(b, "} ", 2);
    papi_put_value(b, v, unit);
    papi_buf_putc(b, '\n');
    papi_buf_cut(b);
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

/* A label set: name="value" first, then the labels of rest (already written), if any. */
static const char *papi_label_set(apr_pool_t *p, const char *name, const char *value,
                                  const char *rest)
{
    papi_buf *l = papi_buf_make(p, 128);

    papi_put_label(l, name, value);
    if (rest && *rest) {
        papi_buf_putc(l, ',');
        papi_buf_puts(l, rest);
    }
    return l->data;
}

/* The labels of base (already written) and then name="value". */
static const char *papi_label_add(apr_pool_t *p, const char *base, const char *name,
                                  const char *value)
{
    papi_buf *l = papi_buf_make(p, 128);

    papi_buf_puts(l, base);
    papi_put_label(l, name, value);
    return l->data;
}

/* The processes of a group with their labels. A pid label would make a new series at every
 * respawn, so processes are told apart by a slot instead: the process's rank in its app group by
 * spawn_start_time, oldest first (equal or unknown times, which come after known ones, are
 * broken by pid, then by document order). Slots are always 0..n-1 for n processes: when one goes,
 * the younger ones move down a rank and its replacement, the youngest, takes the last one. The
 * rank needs no memory of earlier scrapes, which httpd's children could not share anyway; the
 * price is that a slot's series can move to another process: gauges do not mind, but
 * requests_total then resets or jumps, so its rate is approximate across respawns (the pid label,
 * when asked for, tells the processes apart exactly). The exporter naming's id is the slot. */
static apr_array_header_t *papi_group_processes(apr_pool_t *p, const metrics_group *mg,
                                                const metrics_instance *mi,
                                                const papi_metrics_opts *opts)
{
    const apr_array_header_t *procs = mg->group->processes;
    int i, n = procs ? procs->nelts : 0;
    apr_array_header_t *out = apr_array_make(p, n ? n : 1, sizeof(metrics_process));

    for (i = 0; i < n; i++) {
        metrics_process *mp = apr_array_push(out);
        mp->proc = APR_ARRAY_IDX(procs, i, const papi_procpool_process *);
        mp->order = i;
    }
    if (n > 1)
        qsort(out->elts, n, sizeof(metrics_process), papi_compare_slot_order);
    for (i = 0; i < n; i++) {
        metrics_process *mp = &APR_ARRAY_IDX(out, i, metrics_process);
        const char *slot = apr_itoa(p, i);

        mp->native = papi_label_add(p, mg->native, "slot", slot);
        if (opts->pid_label)
            mp->native = papi_label_add(p, mp->native, "pid",
                                        mp->proc->pid == PAPI_PROCPOOL_NONE ? ""
                                        : apr_psprintf(p, "%" APR_INT64_T_FMT, mp->proc->pid));
        mp->labels = mp->native;
        if (opts->names == PAPI_METRICS_EXPORTER)
            mp->labels = papi_label_set(p, "name", mg->group->name ? mg->group->name : "",
                                        papi_label_set(p, "id", slot, mi->labels));
    }
    return out;
}

/* The groups of a read pool. A name seen before in the same pool is skipped, so no label set
 * is ever written twice. */
static apr_array_header_t *papi_procpool_groups(apr_pool_t *p, const metrics_instance *mi,
                                                const papi_metrics_opts *opts)
{
    const papi_procpool *procpool = mi->view->procpool;
    int i, n = procpool->groups ? procpool->groups->nelts : 0;
    apr_array_header_t *out = apr_array_make(p, n ? n : 1, sizeof(metrics_group));
    apr_hash_t *seen = apr_hash_make(p);

    for (i = 0; i < n; i++) {
        const papi_procpool_group *g =
            APR_ARRAY_IDX(procpool->groups, i, const papi_procpool_group *);
        const char *gname = g->name ? g->name : "";
        metrics_group *mg;

        if (apr_hash_get(seen, gname, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, gname, APR_HASH_KEY_STRING, g);
        mg = apr_array_push(out);
        mg->group = g;
        mg->native = papi_label_add(p, mi->native, "app_group", gname);
        mg->labels = mg->native;
        if (opts->names == PAPI_METRICS_EXPORTER) {
            mg->labels = papi_label_set(p, "name", gname, mi->labels);
            mg->default_labels = papi_label_set(p, "group", gname,
                papi_label_set(p, "default", g->is_default ? "true" : "", mi->labels));
        }
        mg->processes = papi_group_processes(p, mg, mi, opts);
    }
    return out;
}

/* The good instances, without a name seen before (two registries can hold instances of the same
 * name: the same instance), and the identity of each (by name). Good ones not asked count too,
 * so an identity never depends on PassengerApiMaxInstances. */
static apr_hash_t *papi_metrics_identities(apr_pool_t *p, const apr_array_header_t *views,
                                           const char *proc)
{
    apr_array_header_t *good = apr_array_make(p, views->nelts ? views->nelts : 1,
                                              sizeof(const papi_instance *)), *ids;
    apr_hash_t *byname = apr_hash_make(p);
    int i;

    for (i = 0; i < views->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(views, i, papi_view).inst;
        if (inst->state != PAPI_INST_GOOD || inst->name == NULL
            || apr_hash_get(byname, inst->name, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(byname, inst->name, APR_HASH_KEY_STRING, "");
        APR_ARRAY_PUSH(good, const papi_instance *) = inst;
    }
    ids = papi_identity_assign(p, good, proc ? proc : "/proc");
    for (i = 0; i < good->nelts; i++)
        apr_hash_set(byname, APR_ARRAY_IDX(good, i, const papi_instance *)->name,
                     APR_HASH_KEY_STRING, APR_ARRAY_IDX(ids, i, const char *));
    return byname;
}

/* An instance's label sets in the naming of opts: of every series, and of passenger_info or
 * passenger_version. */
static void papi_instance_labels(apr_pool_t *p, metrics_instance *mi, const char *identity,
                                 const papi_metrics_opts *opts)
{
    const papi_view *v = mi->view;
    const char *version = papi_property(v->inst, "passenger_version");
    const char *mode = papi_property(v->inst, "integration_mode");

    if (!version && v->status == 200)
        version = v->procpool->passenger_version;
    version = version ? version : "";
    mi->native = papi_label_set(p, "passenger_instance", identity, NULL);
    if (opts->names == PAPI_METRICS_EXPORTER) {
        mi->labels = papi_label_set(p, "hostname", opts->hostname ? opts->hostname : "",
                                    mi->native);
        mi->info_labels = papi_label_set(p, "version", version, mi->labels);
        return;
    }
    mi->labels = mi->native;
    mi->info_labels = papi_label_add(p, papi_label_add(p, papi_label_add(p, mi->native,
                                     "instance_name", v->inst->name), "version", version),
                                     "integration_mode", mode ? mode : "");
}

/* The instances the per-instance families show: good ones that were asked, the first of each
 * name (a later one's label sets would repeat the first one's). */
static apr_array_header_t *papi_metrics_instances(apr_pool_t *p, const apr_array_header_t *views,
                                                  const papi_metrics_opts *opts)
{
    apr_array_header_t *out = apr_array_make(p, views->nelts ? views->nelts : 1, sizeof(metrics_instance));
    apr_hash_t *ids = papi_metrics_identities(p, views, opts->proc), *seen = apr_hash_make(p);
    int i;

    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        metrics_instance *mi;

        if (v->inst->state != PAPI_INST_GOOD || v->status == 0 || v->inst->name == NULL
            || apr_hash_get(seen, v->inst->name, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, v->inst->name, APR_HASH_KEY_STRING, v);
        mi = apr_array_push(out);
        mi->view = v;
        papi_instance_labels(p, mi, apr_hash_get(ids, v->inst->name, APR_HASH_KEY_STRING), opts);
        mi->groups = v->status == 200 ? papi_procpool_groups(p, mi, opts)
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

/* passenger_up, and what is known of the instance: passenger_info (native) or
 * passenger_version (exporter), 1 each. */
static void papi_write_instance_families(papi_buf *b, const apr_array_header_t *insts,
                                         papi_metrics_names names)
{
    const char *info = names == PAPI_METRICS_NATIVE ? "passenger_info" : "passenger_version";
    int i;

    papi_put_family_header(b, "passenger_up", "gauge",
                           "Whether the instance's pool could be read (1) or not (0).");
    for (i = 0; i < insts->nelts; i++) {
        const metrics_instance *mi = &APR_ARRAY_IDX(insts, i, metrics_instance);
        papi_put_sample(b, "passenger_up", mi->labels, mi->view->status == 200, AS_IS);
    }
    papi_put_family_header(b, info, "gauge", names == PAPI_METRICS_NATIVE
                           ? "The instance's own name (new at every restart), Passenger version "
                             "and integration mode."
                           : "Passenger version of the instance.");
    for (i = 0; i < insts->nelts; i++)
        papi_put_sample(b, info, APR_ARRAY_IDX(insts, i, metrics_instance).info_labels, 1, AS_IS);
}

/* A family's samples, one per row of its level that has the number. */
static void papi_write_family(papi_buf *b, const number_family *fam, const apr_array_header_t *insts)
{
    int i, j, k;

    papi_put_family_header(b, fam->name, fam->type, fam->help);
    for (i = 0; i < insts->nelts; i++) {
        const metrics_instance *mi = &APR_ARRAY_IDX(insts, i, metrics_instance);
        if (fam->level == LEVEL_POOL) {
            apr_int64_t v;
            if (mi->view->status == 200
                && (v = papi_number_at(mi->view->procpool, fam->offset)) != PAPI_PROCPOOL_NONE)
                papi_put_sample(b, fam->name, mi->labels, v, fam->unit);
            continue;
        }
        for (j = 0; j < mi->groups->nelts; j++) {
            const metrics_group *mg = &APR_ARRAY_IDX(mi->groups, j, metrics_group);
            if (fam->level != LEVEL_PROCESS) {
                apr_int64_t v = papi_number_at(mg->group, fam->offset);
                if (v != PAPI_PROCPOOL_NONE)
                    papi_put_sample(b, fam->name, fam->level == LEVEL_GROUP ? mg->labels
                                    : mg->default_labels, v, fam->unit);
                continue;
            }
            for (k = 0; k < mg->processes->nelts; k++) {
                const metrics_process *mp = &APR_ARRAY_IDX(mg->processes, k, metrics_process);
                apr_int64_t v = papi_number_at(mp->proc, fam->offset);
                if (v != PAPI_PROCPOOL_NONE)
                    papi_put_sample(b, fam->name, mp->labels, v, fam->unit);
            }
        }
    }
}

static void papi_write_families(papi_buf *b, const number_family *fams, size_t n,
                                const apr_array_header_t *insts)
{
    size_t f;

    for (f = 0; f < n; f++)
        papi_write_family(b, &fams[f], insts);
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
                    papi_buf_printf(b, "%s{%s,state=\"%s\"} %" APR_INT64_T_FMT "\n", name,
                                    mg->native, states[s], v);
            }
        }
    }
}

/* The last health probe (health.json's, from the shared table) of each process that has one no
 * older than opts->probe_max_age, with the native naming's process labels in either naming. A
 * process health.json could not probe at all (not alive and enabled, no HTTP socket) has none:
 * as in health.json, that is not a failure. */
static void papi_write_probe_families(papi_buf *b, apr_pool_t *p, const apr_array_header_t *insts,
                                      const papi_metrics_opts *opts)
{
    apr_array_header_t *found = apr_array_make(p, 8, sizeof(papi_probe_result));
    apr_array_header_t *labels = apr_array_make(p, 8, sizeof(const char *));
    int i, j, k;

    for (i = 0; i < insts->nelts; i++) {
        const metrics_instance *mi = &APR_ARRAY_IDX(insts, i, metrics_instance);
        for (j = 0; j < mi->groups->nelts; j++) {
            const metrics_group *mg = &APR_ARRAY_IDX(mi->groups, j, metrics_group);
            for (k = 0; k < mg->processes->nelts; k++) {
                const metrics_process *mp = &APR_ARRAY_IDX(mg->processes, k, metrics_process);
                papi_probe_result r;
                if (mp->proc->pid == PAPI_PROCPOOL_NONE
                    || !papi_probes_get(opts->probes, mi->view->inst->name, mp->proc->pid,
                                        opts->now, opts->probe_max_age, &r)
                    || !r.reachable)
                    continue;
                *(papi_probe_result *)apr_array_push(found) = r;
                APR_ARRAY_PUSH(labels, const char *) = mp->native;
            }
        }
    }
    papi_put_family_header(b, "passenger_process_health_probe_ok", "gauge",
                           "Whether the process's last health probe (health.json) answered 2xx "
                           "or 3xx in time (1) or not (0).");
    for (i = 0; i < found->nelts; i++)
        papi_put_sample(b, "passenger_process_health_probe_ok",
                        APR_ARRAY_IDX(labels, i, const char *),
                        APR_ARRAY_IDX(found, i, papi_probe_result).healthy != 0, AS_IS);
    papi_put_family_header(b, "passenger_process_health_probe_timestamp_seconds", "gauge",
                           "When the process's last health probe ended, in seconds since the epoch.");
    for (i = 0; i < found->nelts; i++)
        papi_put_sample(b, "passenger_process_health_probe_timestamp_seconds",
                        APR_ARRAY_IDX(labels, i, const char *),
                        APR_ARRAY_IDX(found, i, papi_probe_result).at, MICROSECONDS);
}

void papi_metrics_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                        const papi_metrics_opts *opts)
{
    apr_array_header_t *insts = papi_metrics_instances(p, views, opts);

    papi_write_scrape_families(b, views, insts, opts);
    papi_write_instance_families(b, insts, opts->names);
    if (opts->names == PAPI_METRICS_EXPORTER)
        papi_write_families(b, exporter_families, COUNT(exporter_families), insts);
    else {
        papi_write_families(b, native_families, COUNT(native_families), insts);
        papi_write_group_state_family(b, insts);
        papi_write_families(b, native_process_families, COUNT(native_process_families), insts);
    }
    papi_write_probe_families(b, p, insts, opts);
}
