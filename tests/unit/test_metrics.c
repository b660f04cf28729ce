/* The /metrics exposition, from views built by hand: exact sample lines of both namings (native
 * and passenger-exporter's), slots, the pid label on request, the instance identity on every
 * series and the random name in passenger_info alone, label escaping, omitted values, duplicate
 * instance names, the health probe gauges, and promtool's verdict on the whole text. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_metrics.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N PAPI_PROCPOOL_NONE

static papi_instance *instance(apr_pool_t *p, const char *name, papi_inst_state state,
                               const char *properties)
{
    return papi_mk_instance(p, "/reg", apr_pstrcat(p, "passenger.", name, NULL), state, name,
                            properties);
}

/* A process with every number not given but the ones named. */
static papi_procpool_process *process(apr_pool_t *p, apr_int64_t pid, apr_int64_t spawn_start)
{
    papi_procpool_process *proc = papi_mk_process(p, pid);

    proc->spawn_start_time = spawn_start;
    return proc;
}

static void add_view(apr_array_header_t *views, const papi_instance *inst, int status,
                     const papi_procpool *pl)
{
    papi_mk_view(views, inst, status, status && status != 200 ? "could not connect" : NULL,
                 status == 200 ? pl : NULL);
}

static const char evil_group[] = "/srv/b \"q\" \\ \n<script>\xc3\xa9\xff";
static const char evil_label[] = "/srv/b \\\"q\\\" \\\\ \\n<script>\xc3\xa9\xef\xbf\xbd";

/* Two good instances (one read, one failed with 502), a good one not asked, a second instance
 * with the first one's name, a stale and an untrusted candidate. */
static apr_array_header_t *sample_views(apr_pool_t *p)
{
    apr_array_header_t *views = apr_array_make(p, 8, sizeof(papi_view));
    papi_procpool *pl = papi_mk_procpool(p, "6.0.99"), *dup = papi_mk_procpool(p, "6.0.17");
    papi_procpool_group *a = papi_mk_group(p, "/srv/a (production)");
    papi_procpool_group *b = papi_mk_group(p, evil_group);
    papi_procpool_process *newer = process(p, 2001, APR_INT64_C(1700000100000000));
    papi_procpool_process *older = process(p, 2002, APR_INT64_C(1700000000000000));
    papi_procpool_process *lone = process(p, 3001, APR_INT64_C(1700000200000000));

    pl->group_count = 2;
    pl->process_count = 3;
    pl->max = 6;
    pl->capacity_used = 3;
    pl->get_wait_list_size = 0;
    a->enabled_process_count = 2;
    a->disabling_process_count = 0;
    a->disabled_process_count = 0;
    a->capacity_used = 2;
    a->get_wait_list_size = 4;
    a->processes_being_spawned = 0;
    a->is_default = 1;
    b->enabled_process_count = 1;
    b->disabled_process_count = 0;      /* disabling not given: omitted */
    b->capacity_used = 1;
    b->get_wait_list_size = 0;
    b->processes_being_spawned = 1;

    newer->processed = 5;
    newer->sessions = 1;
    newer->concurrency = 1;
    newer->cpu = 250;
    newer->swap = 4;
    older->processed = 17;
    older->sessions = 0;
    older->concurrency = 1;
    older->cpu = 12;
    older->rss = 1000;
    older->pss = 900;
    older->private_dirty = 800;
    older->real_memory = 700;
    older->vmsize = 2000000;
    older->spawn_end_time = APR_INT64_C(1700000000500000);
    older->last_used = APR_INT64_C(1700000050123456);
    lone->processed = 0;
    lone->cpu = 0;
    /* document order is not slot order */
    APR_ARRAY_PUSH(a->processes, papi_procpool_process *) = newer;
    APR_ARRAY_PUSH(a->processes, papi_procpool_process *) = older;
    APR_ARRAY_PUSH(b->processes, papi_procpool_process *) = lone;
    APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = a;
    APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = b;
    dup->max = 99;
    APR_ARRAY_PUSH(dup->groups, papi_procpool_group *) = papi_mk_group(p, "/srv/dup (production)");

    add_view(views, instance(p, "AbCd1234", PAPI_INST_GOOD,
                             "{\"name\":\"AbCd1234\",\"passenger_version\":\"6.0.17\","
                             "\"integration_mode\":\"apache\"}"), 200, pl);
    add_view(views, instance(p, "EfGh5678", PAPI_INST_GOOD,
                             "{\"name\":\"EfGh5678\",\"integration_mode\":\"standalone\"}"), 502, NULL);
    add_view(views, instance(p, "NotAsked1", PAPI_INST_GOOD, "{\"name\":\"NotAsked1\"}"), 0, NULL);
    add_view(views, instance(p, "Stale123", PAPI_INST_STALE, "{\"name\":\"Stale123\"}"), 0, NULL);
    add_view(views, instance(p, "Evil1234", PAPI_INST_UNTRUSTED, NULL), 0, NULL);
    add_view(views, instance(p, "AbCd1234", PAPI_INST_GOOD, "{\"name\":\"AbCd1234\"}"), 200, dup);
    return views;
}

static const char *write_metrics(apr_pool_t *p, const apr_array_header_t *views,
                                 const papi_metrics_opts *opts)
{
    papi_buf *b = papi_buf_make(p, 64);

    papi_metrics_write(b, p, views, opts);
    assert_int_equal(strlen(b->data), b->len);
    return b->data;
}

/* No /proc: identities that collide are told apart without it. */
#define NO_PROC "/nonexistent-proc"

static const char *exposition(apr_pool_t *p, const apr_array_header_t *views, int pid_label)
{
    papi_metrics_opts opts = { .scrape_duration = 12500, .pid_label = pid_label, .proc = NO_PROC };

    return write_metrics(p, views, &opts);
}

static const char *exporter_exposition(apr_pool_t *p, const apr_array_header_t *views,
                                       int pid_label)
{
    papi_metrics_opts opts = { .scrape_duration = 12500, .pid_label = pid_label,
                               .names = PAPI_METRICS_EXPORTER, .hostname = "web1",
                               .proc = NO_PROC };

    return write_metrics(p, views, &opts);
}

static int count_lines_starting(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    int count = 0;

    for (; *text; text = strchr(text, '\n') + 1)
        count += !strncmp(text, prefix, n);
    return count;
}

/* How many lines of text are exactly line. */
static int count_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    int count = 0;

    for (; *text; text = strchr(text, '\n') + 1)
        count += !strncmp(text, line, n) && text[n] == '\n';
    return count;
}

#define assert_line(text, line) \
    do { if (count_line(text, line) != 1) fail_msg("not once in the exposition: %s\n%s", line, text); } while (0)
#define assert_no_line(text, line) \
    do { if (count_line(text, line) != 0) fail_msg("in the exposition: %s", line); } while (0)
/* name{labels} value is a line of text, once (a pool p in scope builds it). */
#define assert_sample(text, name, labels, value) \
    assert_line(text, apr_pstrcat(p, name "{", labels, "} " value, NULL))

/* The format's rules, checked here too so that a failure names the line: every family has HELP
 * and TYPE before its samples, the samples of a family are together, and no series (name and
 * label set) is written twice. */
static void assert_well_formed(apr_pool_t *p, const char *text)
{
    apr_hash_t *families = apr_hash_make(p), *series = apr_hash_make(p);
    const char *current = NULL, *line;

    for (line = text; *line; line = strchr(line, '\n') + 1) {
        const char *end = strchr(line, '\n');
        char *l;

        assert_non_null(end);
        l = apr_pstrmemdup(p, line, end - line);
        if (!strncmp(l, "# HELP ", 7)) {
            current = apr_pstrndup(p, l + 7, strcspn(l + 7, " "));
            if (apr_hash_get(families, current, APR_HASH_KEY_STRING))
                fail_msg("family written twice: %s", current);
            apr_hash_set(families, current, APR_HASH_KEY_STRING, "help");
        } else if (!strncmp(l, "# TYPE ", 7)) {
            assert_non_null(current);
            assert_int_equal(strncmp(l + 7, current, strlen(current)), 0);
            assert_true(!strcmp(l + 7 + strlen(current), " gauge")
                        || !strcmp(l + 7 + strlen(current), " counter"));
        } else {
            const char *name = apr_pstrndup(p, l, strcspn(l, "{ "));
            const char *key = apr_pstrndup(p, l, strrchr(l, ' ') - l);
            assert_non_null(current);
            if (strcmp(name, current))
                fail_msg("sample of %s outside its family (in %s): %s", name, current, l);
            if (apr_hash_get(series, key, APR_HASH_KEY_STRING))
                fail_msg("series written twice: %s", key);
            apr_hash_set(series, key, APR_HASH_KEY_STRING, "seen");
        }
    }
}

/* What promtool check metrics says of the text: exit status 0 and nothing said when it accepts
 * it, else its lint problems (exit status 3) or errors. A missing promtool fails the test: the
 * shell's "not found" is output too. */
static const char *promtool_says(apr_pool_t *p, const char *text, int *status)
{
    char path[] = "/tmp/test_metrics.XXXXXX", out[4096];
    int fd = mkstemp(path);
    size_t n = strlen(text), got;
    FILE *f;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    f = popen(apr_psprintf(p, "promtool check metrics < %s 2>&1", path), "r");
    assert_non_null(f);
    got = fread(out, 1, sizeof(out) - 1, f);
    out[got] = '\0';
    *status = pclose(f);
    unlink(path);
    return apr_pstrdup(p, out);
}

static void assert_promtool_accepts(apr_pool_t *p, const char *text)
{
    int status;
    const char *said = promtool_says(p, text, &status);

    if (status != 0 || *said)
        fail_msg("promtool check metrics: status %d, said: %s\non:\n%s", status, said, text);
}

/* The exporter naming's one lint problem, a name kept as passenger-exporter has it. */
#define EXPORTER_LINT "passenger_app_count non-histogram and non-summary metrics should not " \
                      "have \"_count\" suffix\n"

static void assert_promtool_accepts_exporter(apr_pool_t *p, const char *text)
{
    int status;
    const char *said = promtool_says(p, text, &status);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 3 || strcmp(said, EXPORTER_LINT))
        fail_msg("promtool check metrics: status %d, said: %s\non:\n%s", status, said, text);
}

static void samples_of_every_level(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 0);

    assert_line(t, "passenger_api_scrape_duration_seconds 0.0125");
    assert_line(t, "passenger_api_scrape_errors 1");
    assert_line(t, "passenger_up{passenger_instance=\"apache@/reg\"} 1");
    assert_line(t, "passenger_up{passenger_instance=\"standalone@/reg\"} 0");
    assert_line(t, "passenger_info{passenger_instance=\"apache@/reg\",instance_name=\"AbCd1234\",version=\"6.0.17\",integration_mode=\"apache\"} 1");
    /* No version in properties.json and no pool to fall back on. */
    assert_line(t, "passenger_info{passenger_instance=\"standalone@/reg\",instance_name=\"EfGh5678\",version=\"\",integration_mode=\"standalone\"} 1");
    assert_line(t, "passenger_pool_max_processes{passenger_instance=\"apache@/reg\"} 6");
    assert_line(t, "passenger_pool_processes{passenger_instance=\"apache@/reg\"} 3");
    assert_line(t, "passenger_pool_capacity_used{passenger_instance=\"apache@/reg\"} 3");
    assert_line(t, "passenger_pool_app_groups{passenger_instance=\"apache@/reg\"} 2");
    assert_line(t, "passenger_pool_queued_requests{passenger_instance=\"apache@/reg\"} 0");
    assert_int_equal(count_lines_starting(t, "passenger_pool_max_processes{"), 1);
    assert_line(t, "passenger_app_group_queued_requests{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\"} 4");
    assert_line(t, "passenger_app_group_processes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",state=\"enabled\"} 2");
    assert_line(t, "passenger_app_group_processes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",state=\"disabling\"} 0");
    assert_line(t, "passenger_app_group_processes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",state=\"disabled\"} 0");
    assert_line(t, "passenger_app_group_processes_spawning{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\"} 0");
    assert_line(t, "passenger_app_group_capacity_used{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\"} 2");
    /* The older process is slot 0 though it comes second in pool.xml. */
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 17");
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"1\"} 5");
    assert_line(t, "passenger_process_sessions{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"1\"} 1");
    assert_line(t, "passenger_process_concurrency{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 1");
    assert_line(t, "passenger_process_cpu_ratio{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 0.12");
    assert_line(t, "passenger_process_cpu_ratio{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"1\"} 2.5");
    assert_line(t, "passenger_process_rss_bytes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 1024000");
    assert_line(t, "passenger_process_pss_bytes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 921600");
    assert_line(t, "passenger_process_private_dirty_bytes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 819200");
    assert_line(t, "passenger_process_swap_bytes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"1\"} 4096");
    assert_line(t, "passenger_process_real_memory_bytes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 716800");
    assert_line(t, "passenger_process_virtual_memory_bytes{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 2048000000");
    assert_line(t, "passenger_process_start_time_seconds{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 1700000000.5");
    assert_line(t, "passenger_process_last_used_timestamp_seconds{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\"} 1700000050.123456");
    assert_int_equal(count_lines_starting(t, "passenger_process_requests_total{"), 3);
    /* No pid label unless asked. */
    assert_null(strstr(t, "pid="));
    assert_well_formed(p, t);
}

static void every_state_counted(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 0);

    /* Four good (the two asked, the one not asked, the duplicate name), one stale, one untrusted. */
    assert_line(t, "passenger_api_instances{state=\"good\"} 4");
    assert_line(t, "passenger_api_instances{state=\"not_finalized\"} 0");
    assert_line(t, "passenger_api_instances{state=\"corrupted\"} 0");
    assert_line(t, "passenger_api_instances{state=\"unsupported\"} 0");
    assert_line(t, "passenger_api_instances{state=\"stale\"} 1");
    assert_line(t, "passenger_api_instances{state=\"untrusted\"} 1");
    assert_int_equal(count_lines_starting(t, "passenger_api_instances{"), 6);
    /* Candidates that are not good, or were not asked, show nowhere else. */
    assert_null(strstr(t, "Stale123"));
    assert_null(strstr(t, "Evil1234"));
    assert_null(strstr(t, "NotAsked1"));
}

/* A registry's summary entry counts as many untrusted candidates as it stands for, and the
 * uninspected ones have their own gauge: the exposition stays as small as it was. */
static void summary_entry_counted_not_listed(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = sample_views(p);
    papi_instance *summary = instance(p, "Unused", PAPI_INST_UNTRUSTED, NULL);
    const char *t;

    summary->dirname = NULL;
    summary->path = "/reg";
    summary->more_untrusted = 19937;
    summary->more_uninspected = 3;
    add_view(views, summary, 0, NULL);
    t = exposition(p, views, 0);
    assert_line(t, "passenger_api_instances{state=\"untrusted\"} 19938");
    assert_line(t, "passenger_api_instances_not_inspected 3");
    assert_line(t, "passenger_api_instances{state=\"good\"} 4");
    assert_null(strstr(t, "Unused"));
    assert_promtool_accepts(p, t);
}

static void values_not_given_are_omitted(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 0);

    /* The newer process has no rss and no start time; the older one no swap. */
    assert_int_equal(count_lines_starting(t, "passenger_process_rss_bytes{"), 1);
    assert_int_equal(count_lines_starting(t, "passenger_process_swap_bytes{"), 1);
    assert_int_equal(count_lines_starting(t, "passenger_process_start_time_seconds{"), 1);
    assert_int_equal(count_lines_starting(t, "passenger_process_concurrency{"), 2);
    assert_null(strstr(t, "-9223372036854775808"));
    /* The family is still declared when no sample has a value. */
    assert_int_equal(count_lines_starting(t, "# HELP passenger_process_swap_bytes "), 1);
    /* A group count not given: that state's sample alone is left out. */
    assert_int_equal(count_lines_starting(t, apr_pstrcat(p, "passenger_app_group_processes{passenger_instance=\"apache@/reg\",app_group=\"",
                                                         evil_label, "\",state=", NULL)), 2);
}

static void label_values_escaped(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 0);

    assert_line(t, apr_pstrcat(p, "passenger_app_group_processes_spawning{passenger_instance=\"apache@/reg\",app_group=\"",
                               evil_label, "\"} 1", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_process_requests_total{passenger_instance=\"apache@/reg\",app_group=\"",
                               evil_label, "\",slot=\"0\"} 0", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_process_cpu_ratio{passenger_instance=\"apache@/reg\",app_group=\"",
                               evil_label, "\",slot=\"0\"} 0", NULL));
    assert_null(strstr(t, "\xff"));
    assert_well_formed(p, t);
}

static void duplicate_instance_name_written_once(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 0);

    assert_int_equal(count_lines_starting(t, "passenger_up{passenger_instance=\"apache@/reg\"}"), 1);
    assert_int_equal(count_lines_starting(t, "passenger_info{passenger_instance=\"apache@/reg\""), 1);
    assert_no_line(t, "passenger_pool_max_processes{passenger_instance=\"apache@/reg\"} 99");
    assert_null(strstr(t, "/srv/dup"));
}

static void pid_label_when_asked(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 1);

    assert_line(t, "passenger_process_requests_total{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\",pid=\"2002\"} 17");
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"1\",pid=\"2001\"} 5");
    /* Only the per-process families get it. */
    assert_int_equal(count_lines_starting(t, "passenger_app_group_capacity_used{"), 2);
    for (const char *l = t; *l; l = strchr(l, '\n') + 1)
        if (strstr(apr_pstrndup(p, l, strcspn(l, "\n")), "pid=\""))
            assert_int_equal(strncmp(l, "passenger_process_", 18), 0);
    assert_well_formed(p, t);
    assert_promtool_accepts(p, t);
}

/* Slots follow spawn_start_time, oldest first; equal times by pid; unknown times last. */
static void slots_by_spawn_start(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 1, sizeof(papi_view));
    papi_procpool *pl = papi_mk_procpool(p, "6.0.17");
    papi_procpool_group *g = papi_mk_group(p, "/srv/c (staging)");
    const char *t;

    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = process(p, 10, N);
    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = process(p, 50, 100);
    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = process(p, 40, 100);
    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = process(p, 60, 50);
    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = process(p, N, N);
    APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = g;
    for (int i = 0; i < g->processes->nelts; i++)
        APR_ARRAY_IDX(g->processes, i, papi_procpool_process *)->processed = i;
    /* A size whose bytes do not fit in 64 bits is written as a float, not wrapped. */
    APR_ARRAY_IDX(g->processes, 0, papi_procpool_process *)->rss = APR_INT64_MAX;
    /* Numbers at the ends of 64 bits (the lowest is "not given"), written as printf would. */
    APR_ARRAY_IDX(g->processes, 1, papi_procpool_process *)->sessions = APR_INT64_MIN + 1;
    APR_ARRAY_IDX(g->processes, 2, papi_procpool_process *)->sessions = -7;
    APR_ARRAY_IDX(g->processes, 3, papi_procpool_process *)->sessions = APR_INT64_MAX;
    add_view(views, instance(p, "Slots123", PAPI_INST_GOOD, NULL), 200, pl);
    t = exposition(p, views, 1);
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"0\",pid=\"60\"} 3");
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"1\",pid=\"40\"} 2");
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"2\",pid=\"50\"} 1");
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"3\",pid=\"10\"} 0");
    assert_line(t, "passenger_process_requests_total{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"4\",pid=\"\"} 4");
    assert_line(t, "passenger_process_sessions{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"2\",pid=\"50\"} -9223372036854775807");
    assert_line(t, "passenger_process_sessions{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"1\",pid=\"40\"} -7");
    assert_line(t, "passenger_process_sessions{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"0\",pid=\"60\"} 9223372036854775807");
    assert_int_equal(count_lines_starting(t, "passenger_process_rss_bytes{passenger_instance=\"passenger@/reg\",app_group=\"/srv/c (staging)\",slot=\"3\",pid=\"10\"} 9.44473296573929"), 1);
    /* The version falls back to the pool's. */
    assert_line(t, "passenger_info{passenger_instance=\"passenger@/reg\",instance_name=\"Slots123\",version=\"6.0.17\",integration_mode=\"\"} 1");
    assert_well_formed(p, t);
    assert_promtool_accepts(p, t);
}

static void promtool_accepts_the_sample(void **state)
{
    apr_pool_t *p = *state;

    assert_promtool_accepts(p, exposition(p, sample_views(p), 0));
}

static void no_instances_still_an_exposition(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, apr_array_make(p, 1, sizeof(papi_view)), 0);

    assert_line(t, "passenger_api_scrape_errors 0");
    assert_line(t, "passenger_api_instances{state=\"good\"} 0");
    assert_line(t, "passenger_api_instances{state=\"untrusted\"} 0");
    assert_line(t, "# TYPE passenger_up gauge");
    assert_line(t, "# TYPE passenger_process_requests_total counter");
    assert_line(t, "passenger_api_instances_not_inspected 0");
    assert_int_equal(count_lines_starting(t, "# HELP "), 29);
    assert_int_equal(count_lines_starting(t, "# TYPE "), 29);
    assert_well_formed(p, t);
    assert_promtool_accepts(p, t);
}

/* Every line whose text holds needle is a sample of family (or its HELP/TYPE). */
static void assert_only_in_family(apr_pool_t *p, const char *text, const char *needle,
                                  const char *family)
{
    const char *line;

    for (line = text; *line; line = strchr(line, '\n') + 1) {
        const char *l = apr_pstrndup(p, line, strcspn(line, "\n"));
        if (strstr(l, needle) && strncmp(l, family, strlen(family)) && l[0] != '#')
            fail_msg("%s outside %s: %s", needle, family, l);
    }
}

/* The random name is in passenger_info alone: every other series outlives a restart. */
static void instance_name_only_in_info(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exposition(p, sample_views(p), 1);

    assert_only_in_family(p, t, "instance_name=", "passenger_info{");
    assert_only_in_family(p, t, "AbCd1234", "passenger_info{");
    assert_null(strstr(exporter_exposition(p, sample_views(p), 1), "AbCd1234"));
    /* Every series of an instance carries its identity. */
    assert_int_equal(count_lines_starting(t, "passenger_process_sessions{passenger_instance=\"apache@/reg\","), 2);
}

/* Two instances that would share an identity get one each; the names stay in passenger_info. */
static void shared_identity_told_apart(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 2, sizeof(papi_view));
    const char *t;

    add_view(views, instance(p, "Zz999999", PAPI_INST_GOOD,
                             "{\"name\":\"Zz999999\",\"integration_mode\":\"apache\"}"), 200,
             papi_mk_procpool(p, "6.0.17"));
    add_view(views, instance(p, "Aa111111", PAPI_INST_GOOD,
                             "{\"name\":\"Aa111111\",\"integration_mode\":\"apache\"}"), 502, NULL);
    t = exposition(p, views, 0);
    /* Without their servers known, by name: the first keeps the plain identity. */
    assert_line(t, "passenger_info{passenger_instance=\"apache@/reg\",instance_name=\"Aa111111\",version=\"\",integration_mode=\"apache\"} 1");
    assert_line(t, "passenger_info{passenger_instance=\"apache@/reg~Zz999999\",instance_name=\"Zz999999\",version=\"6.0.17\",integration_mode=\"apache\"} 1");
    assert_line(t, "passenger_up{passenger_instance=\"apache@/reg\"} 0");
    assert_line(t, "passenger_up{passenger_instance=\"apache@/reg~Zz999999\"} 1");
    assert_well_formed(p, t);
}

/* passenger-exporter's families, names, labels and types, in the units it meant. */
static void exporter_names(void **state)
{
    apr_pool_t *p = *state;
    const char *t = exporter_exposition(p, sample_views(p), 1);
    const char *a = "hostname=\"web1\",passenger_instance=\"apache@/reg\"";

    assert_line(t, "passenger_up{hostname=\"web1\",passenger_instance=\"apache@/reg\"} 1");
    assert_line(t, "passenger_up{hostname=\"web1\",passenger_instance=\"standalone@/reg\"} 0");
    assert_line(t, "passenger_version{version=\"6.0.17\",hostname=\"web1\",passenger_instance=\"apache@/reg\"} 1");
    assert_line(t, "passenger_version{version=\"\",hostname=\"web1\",passenger_instance=\"standalone@/reg\"} 1");
    assert_sample(t, "passenger_top_level_queue", a, "0");
    assert_sample(t, "passenger_max_processes", a, "6");
    assert_sample(t, "passenger_current_processes", a, "3");
    assert_sample(t, "passenger_app_count", a, "2");
    assert_line(t, apr_pstrcat(p, "passenger_app_queue{name=\"/srv/a (production)\",", a, "} 4", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_app_group_queue{group=\"/srv/a (production)\",default=\"true\",", a, "} 4", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_app_group_queue{group=\"", evil_label, "\",default=\"\",", a, "} 0", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_app_procs_spawning{name=\"", evil_label, "\",", a, "} 1", NULL));
    /* Processes: id is the slot (the older one is 0), no pid even when asked for. */
    assert_line(t, apr_pstrcat(p, "passenger_requests_processed_total{name=\"/srv/a (production)\",id=\"0\",", a, "} 17", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_requests_processed_total{name=\"/srv/a (production)\",id=\"1\",", a, "} 5", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_current_sessions{name=\"/srv/a (production)\",id=\"1\",", a, "} 1", NULL));
    /* Start time in seconds (the exporter divided microseconds by 10^9), memory in KiB. */
    assert_line(t, apr_pstrcat(p, "passenger_proc_start_time_seconds{name=\"/srv/a (production)\",id=\"0\",", a, "} 1700000000", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_proc_start_time_seconds{name=\"/srv/a (production)\",id=\"1\",", a, "} 1700000100", NULL));
    assert_line(t, apr_pstrcat(p, "passenger_proc_memory{name=\"/srv/a (production)\",id=\"0\",", a, "} 700", NULL));
    assert_int_equal(count_lines_starting(t, "passenger_proc_memory{"), 1);
    assert_line(t, "# TYPE passenger_requests_processed_total counter");
    assert_line(t, "# TYPE passenger_proc_memory gauge");
    assert_line(t, "passenger_api_scrape_errors 1");
    /* Nothing of the native naming but the module's own families and the probes'. */
    assert_null(strstr(t, "passenger_pool_"));
    assert_null(strstr(t, "passenger_info"));
    assert_null(strstr(t, "passenger_app_group_processes"));
    assert_null(strstr(t, "app_group="));
    assert_null(strstr(t, "pid="));
    assert_int_equal(count_lines_starting(t, "# HELP passenger_process_"), 2);
    assert_null(strstr(t, "/srv/dup"));
    assert_well_formed(p, t);
    assert_promtool_accepts_exporter(p, t);
}

/* The probe table as health.json leaves it: one process healthy, one not, one not probed. */
static papi_probes *probes_of_sample(apr_pool_t *p, apr_time_t at)
{
    const char *why = NULL;
    papi_probes *t = papi_probes_create(p, 64, &why);
    papi_probe_result healthy = { at, 1, 1, 200, 1000, "" };
    papi_probe_result failing = { at + apr_time_from_sec(10), 1, 0, 500, 1000, "/ answered 500" };
    papi_probe_result unprobed = { at, 0, 0, 0, 0, "no HTTP socket" };

    assert_non_null(t);
    papi_probes_put(t, "AbCd1234", 2002, &healthy);
    papi_probes_put(t, "AbCd1234", 2001, &failing);
    papi_probes_put(t, "AbCd1234", 3001, &unprobed);
    papi_probes_put(t, "EfGh5678", 2002, &healthy);     /* another instance's pid 2002 */
    return t;
}

static void probe_gauges(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t at = APR_INT64_C(1700000300250000);
    papi_metrics_opts opts = { .pid_label = 1, .probes = probes_of_sample(p, at),
                               .now = at + apr_time_from_sec(20),
                               .probe_max_age = apr_time_from_sec(600), .proc = NO_PROC };
    const char *t = write_metrics(p, sample_views(p), &opts);
    const char *older = "passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"0\",pid=\"2002\"";
    const char *newer = "passenger_instance=\"apache@/reg\",app_group=\"/srv/a (production)\",slot=\"1\",pid=\"2001\"";

    assert_sample(t, "passenger_process_health_probe_ok", older, "1");
    assert_sample(t, "passenger_process_health_probe_ok", newer, "0");
    assert_sample(t, "passenger_process_health_probe_timestamp_seconds", older, "1700000300.25");
    assert_sample(t, "passenger_process_health_probe_timestamp_seconds", newer, "1700000310.25");
    /* Not probed (no HTTP socket): no sample, as health.json does not count it either. */
    assert_int_equal(count_lines_starting(t, "passenger_process_health_probe_ok{"), 2);
    assert_line(t, "# TYPE passenger_process_health_probe_ok gauge");
    assert_well_formed(p, t);
    assert_promtool_accepts(p, t);

    /* Ten minutes on, the older probe is gone, the newer one still shown. */
    opts.now = at + apr_time_from_sec(605);
    t = write_metrics(p, sample_views(p), &opts);
    assert_int_equal(count_lines_starting(t, "passenger_process_health_probe_ok{"), 1);
    assert_sample(t, "passenger_process_health_probe_ok", newer, "0");

    /* The exporter naming has them too, with the same labels. */
    opts.now = at + apr_time_from_sec(20);
    opts.names = PAPI_METRICS_EXPORTER;
    t = write_metrics(p, sample_views(p), &opts);
    assert_sample(t, "passenger_process_health_probe_ok", older, "1");
    assert_promtool_accepts_exporter(p, t);

    /* No table, no samples; the families are still declared. */
    opts.probes = NULL;
    t = write_metrics(p, sample_views(p), &opts);
    assert_int_equal(count_lines_starting(t, "passenger_process_health_probe_"), 0);
    assert_line(t, "# TYPE passenger_process_health_probe_timestamp_seconds gauge");
}

PAPI_TEST_MAIN(
    PAPI_TEST(samples_of_every_level),
    PAPI_TEST(every_state_counted),
    PAPI_TEST(summary_entry_counted_not_listed),
    PAPI_TEST(values_not_given_are_omitted),
    PAPI_TEST(label_values_escaped),
    PAPI_TEST(duplicate_instance_name_written_once),
    PAPI_TEST(pid_label_when_asked),
    PAPI_TEST(slots_by_spawn_start),
    PAPI_TEST(promtool_accepts_the_sample),
    PAPI_TEST(no_instances_still_an_exposition),
    PAPI_TEST(instance_name_only_in_info),
    PAPI_TEST(shared_identity_told_apart),
    PAPI_TEST(exporter_names),
    PAPI_TEST(probe_gauges))
