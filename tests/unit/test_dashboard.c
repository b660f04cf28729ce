/* The HTML dashboard: everything from outside escaped, nothing the CSP would block (style
 * attributes, scripts, outside URLs), every pid shown, bars relative to the biggest process,
 * and the page's sections and tables closed. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_dashboard.h"

#include <apr_strings.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC APR_USEC_PER_SEC
#define NOW ((apr_time_t)1795270000 * SEC)
#define NONCE "r4nd0m+N0nce/="
#define EVIL_NAME "<script>alert(1)</script> caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"
#define DOT " \xC2\xB7 "
#define EVIL_REASON "<img src=x onerror=alert(1)>"

static const papi_dashboard_opts opts = { .base = "/passenger-api", .now = NOW, .refresh = 15,
                                          .nonce = NONCE };

static papi_instance *instance(apr_pool_t *p, const char *name, const char *dir)
{
    papi_instance *inst = papi_mk_instance(p, "/var/run/passenger-instreg", dir, PAPI_INST_GOOD,
                                           name,
        "{\"instance_dir\":{\"created_at\":1795262000,\"major_version\":4,\"minor_version\":0},"
        "\"name\":\"x\",\"passenger_version\":\"6.0.17\",\"integration_mode\":\"apache\","
        "\"server_software\":\"Apache/2.4.71 (Debian) Phusion_Passenger/6.0.17\"}");

    inst->core_pid = 3399;
    return inst;
}

static papi_instance *bad_instance(apr_pool_t *p, papi_inst_state state, const char *reason)
{
    papi_instance *inst = papi_mk_instance(p, "/tmp", "passenger.Old1234", state, NULL, NULL);

    inst->reason = reason;
    return inst;
}

static papi_procpool_process *process(apr_pool_t *p, apr_int64_t pid, apr_int64_t real_memory)
{
    papi_procpool_process *proc = papi_mk_process(p, pid);

    proc->concurrency = 1;
    proc->sessions = 0;
    proc->busyness = 0;
    proc->processed = 1234;
    proc->spawn_start_time = NOW - (2 * 3600 + 3 * 60 + 6) * SEC;
    proc->spawn_end_time = NOW - (2 * 3600 + 3 * 60 + 5) * SEC;
    proc->last_used = NOW - (5 * 60 + 27) * SEC;
    proc->cpu = 3;
    proc->rss = real_memory * 4;
    proc->real_memory = real_memory;
    proc->life_status = "ALIVE";
    proc->enabled = "ENABLED";
    proc->command = "Passenger RubyApp: /srv/app (production)";
    return proc;
}

static papi_procpool_group *group(apr_pool_t *p, const char *name, const char *app_root)
{
    papi_procpool_group *g = papi_mk_group(p, name);

    g->component_name = name;
    g->app_root = app_root;
    g->app_type = "ruby";
    g->environment = "production";
    g->life_status = "ALIVE";
    g->user = "nobody";
    g->group = "nogroup";
    g->uid = g->gid = 65534;
    g->capacity_used = 2;
    g->get_wait_list_size = 0;
    g->disable_wait_list_size = 0;
    g->processes_being_spawned = 0;
    g->enabled_process_count = 2;
    g->disabling_process_count = g->disabled_process_count = 0;
    return g;
}

static papi_procpool *procpool(apr_pool_t *p)
{
    papi_procpool *pl = papi_mk_procpool(p, "6.0.17");

    pl->group_count = pl->process_count = 0;
    pl->max = 6;
    pl->capacity_used = 3;
    pl->get_wait_list_size = 0;
    return pl;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
        n++;
    return n;
}

static void assert_has(const papi_buf *b, const char *needle)
{
    if (!strstr(b->data, needle))
        fail_msg("not in the page: %s", needle);
}

static void assert_lacks(const papi_buf *b, const char *needle)
{
    const char *at = strstr(b->data, needle);

    if (at)
        fail_msg("in the page, where it must not be: %s ...%.80s", needle, at);
}

/* No src attribute: the only "src=" allowed is inside the escaped text of EVIL_REASON. */
static void assert_no_src(const papi_buf *b)
{
    const char *at;

    for (at = strstr(b->data, "src="); at; at = strstr(at + 1, "src="))
        if (at - b->data < 8 || strncmp(at - 8, "&lt;img src=x onerror=alert(1)&gt;", 34))
            fail_msg("a src= in the page: ...%.80s", at - (at - b->data < 20 ? 0 : 20));
}

/* What every page must be: self-contained, nothing the CSP blocks, its blocks closed. */
static void assert_clean_page(const papi_buf *b)
{
    assert_int_equal(strlen(b->data), b->len);
    assert_true(b->len > 0 && !strncmp(b->data, "<!DOCTYPE html>", 15));
    assert_has(b, "<meta charset=\"utf-8\">");
    assert_has(b, "<meta name=\"viewport\"");
    assert_has(b, "<title>Passenger</title>");
    assert_int_equal(count(b->data, "<style"), 1);
    assert_int_equal(count(b->data, "<style nonce=\"" NONCE "\">"), 1);
    assert_int_equal(count(b->data, "</style>"), 1);
    assert_lacks(b, "<script");
    assert_lacks(b, "<img");
    assert_lacks(b, " style=");
    assert_no_src(b);
    assert_lacks(b, "http://");
    assert_lacks(b, "https://");
    assert_lacks(b, "url(");
    assert_lacks(b, "@import");
    assert_int_equal(count(b->data, "<section"), count(b->data, "</section>"));
    assert_int_equal(count(b->data, "<table"), count(b->data, "</table>"));
    assert_int_equal(count(b->data, "<tr>"), count(b->data, "</tr>"));
    assert_int_equal(count(b->data, "<td "), count(b->data, "</td>"));
    assert_int_equal(count(b->data, "<dl"), count(b->data, "</dl>"));
    assert_int_equal(count(b->data, "<div"), count(b->data, "</div>"));
    assert_int_equal(count(b->data, "<svg"), count(b->data, "</svg>"));
    assert_int_equal(count(b->data, "<details"), count(b->data, "</details>"));
    assert_int_equal(count(b->data, "<summary"), count(b->data, "</summary>"));
    assert_has(b, "</body>\n</html>\n");
}

/* Two good instances (one with two groups and three processes, one whose pool could not be read)
 * and a stale candidate; names and reasons carrying markup. */
static apr_array_header_t *rich_views(apr_pool_t *p)
{
    apr_array_header_t *views = apr_array_make(p, 3, sizeof(papi_view));
    papi_procpool *pl = procpool(p);
    papi_procpool_group *web = group(p, "/srv/" EVIL_NAME " (production)", "/srv/" EVIL_NAME);
    papi_procpool_group *api = group(p, "/srv/api (staging)", "/srv/api");
    papi_procpool_process *idle = papi_mk_process(p, 4101);

    APR_ARRAY_PUSH(web->processes, papi_procpool_process *) = process(p, 3576, 409600);
    APR_ARRAY_PUSH(web->processes, papi_procpool_process *) = process(p, 3595, 204800);
    idle->concurrency = 0;
    idle->sessions = 2;
    idle->life_status = "SHUTDOWN_TRIGGERED";
    idle->enabled = "DISABLING";
    APR_ARRAY_PUSH(api->processes, papi_procpool_process *) = idle;
    api->environment = "staging";
    api->spawning = 1;
    api->processes_being_spawned = 1;
    api->get_wait_list_size = 4;
    APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = web;
    APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = api;
    pl->group_count = 2;
    pl->process_count = 3;
    pl->capacity_used = 2;

    papi_mk_view(views, instance(p, "UKbNs4kX", "passenger.wxidl3k"), 200, NULL, pl);
    papi_mk_view(views, instance(p, "Zq9Failed", "passenger.Fail000"), 502, "bad <b>&\"' answer",
                 NULL);
    papi_mk_view(views, bad_instance(p, PAPI_INST_STALE, "core.pid names no process; " EVIL_REASON),
                 0, NULL, NULL);
    return views;
}

static void rich_page(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = rich_views(p);
    papi_buf *b = papi_buf_make(p, 256);
    const char *dump = getenv("PAPI_DASHBOARD_DUMP");

    papi_dashboard_write(b, p, views, &opts);
    if (dump) {
        FILE *f = fopen(dump, "w");
        assert_non_null(f);
        fwrite(b->data, 1, b->len, f);
        fclose(f);
    }
    assert_clean_page(b);
    assert_has(b, "<meta http-equiv=\"refresh\" content=\"15\">");
    assert_has(b, "href=\"/passenger-api/processes.json\"");
    assert_has(b, "href=\"/passenger-api/metrics\"");
    assert_has(b, "href=\"/passenger-api/instances.json\"");
    /* Generated at NOW, in UTC. */
    assert_has(b, "2026-11-21 14:06:40 UTC");
    assert_has(b, " UTC");

    /* Every pid and name as text. */
    assert_has(b, ">3576<");
    assert_has(b, ">3595<");
    assert_has(b, ">4101<");
    assert_has(b, ">UKbNs4kX<");
    assert_has(b, ">Zq9Failed<");
    assert_has(b, ">3399<");
    assert_has(b, "6.0.17");
    assert_has(b, "Apache/2.4.71 (Debian) Phusion_Passenger/6.0.17");
    assert_has(b, "/var/run/passenger-instreg/passenger.wxidl3k");

    /* Markup from outside only escaped; UTF-8 kept as it is. */
    assert_has(b, "/srv/&lt;script&gt;alert(1)&lt;/script&gt; caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"
                  " (production)");
    assert_has(b, "&lt;img src=x onerror=alert(1)&gt;");
    assert_has(b, "502: bad &lt;b&gt;&amp;&quot;&#39; answer");
    assert_lacks(b, "<b>");

    /* Summary: 2 good of 3, 2 groups (the failed instance has none), 3 processes, 600 MB. */
    assert_has(b, "2 <small>good of 3</small>");
    assert_has(b, "<dt>App groups</dt><dd>2</dd>");
    assert_has(b, "<dt>Processes</dt><dd>3</dd>");
    assert_has(b, "<dt>Memory</dt><dd>600 MB</dd>");

    /* Bars against the biggest process; none where memory was not given. */
    assert_has(b, "<rect width=\"100\" height=\"6\"/>");
    assert_has(b, "<rect width=\"50\" height=\"6\"/>");
    assert_has(b, "<rect width=\"33.3\" height=\"6\"/>");     /* 2 processes of 6 */
    assert_int_equal(count(b->data, "<svg class=\"bar\""), 2 + 2);

    /* Human figures. */
    assert_has(b, ">400 MB<");
    assert_has(b, ">1.6 GB<");                  /* RSS, 4x */
    assert_has(b, ">2h 3m</time>");
    assert_has(b, ">5m ago</time>");
    assert_has(b, ">3%<");
    assert_has(b, ">0 / 1<");
    assert_has(b, ">2 / \xE2\x88\x9E<");
    assert_has(b, "shutdown triggered \xC2\xB7 disabling");
    assert_has(b, "alive \xC2\xB7 enabled");
    assert_has(b, "spawning</span>");
    assert_has(b, "<dt>Queue</dt><dd>4</dd>");

    /* Not given: a dash. */
    assert_has(b, "<td data-label=\"CPU\" class=\"n\"><span class=\"none\">\xE2\x80\x93</span></td>");
    assert_has(b, "<td data-label=\"Last used\" class=\"n\"><span class=\"none\">\xE2\x80\x93</span>"
                  "</td>");

    /* The other candidates, after the good ones. */
    assert_has(b, "Other instance directories");
    assert_has(b, "/tmp/passenger.Old1234");
    assert_has(b, ">stale<");
    assert_true(strstr(b->data, "Other instance directories") > strstr(b->data, "Zq9Failed"));
    assert_int_equal(count(b->data, "<section class=\"card\">"), 2);
    assert_int_equal(count(b->data, "<section class=\"card failed\">"), 1);
    assert_int_equal(count(b->data, "<section class=\"group\">"), 2);

}

/* The requests in flight (server.json): the ten longest-running on the instance's card, markup in
 * a path escaped, and each process's count in its row. */
static void requests_in_flight(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 4, sizeof(papi_view));
    apr_array_header_t *reqs = apr_array_make(p, 12, sizeof(papi_inflight));
    papi_buf *b = papi_buf_make(p, 256);
    int i;

    /* A candidate not good has no name (untrusted ones are never read): first, so every lookup
     * passes it. */
    papi_mk_view(views, bad_instance(p, PAPI_INST_UNTRUSTED, "owned by uid 1000"), 0, NULL, NULL);
    apr_array_cat(views, rich_views(p));
    /* Not read: no list, and a dash where each count would be. */
    papi_dashboard_write(b, p, views, &opts);
    assert_lacks(b, "Longest-running requests");
    assert_has(b, "<td data-label=\"In flight\" class=\"n\"><span class=\"none\">");
    *(papi_inflight *)apr_array_push(reqs) = (papi_inflight){ 3576, "GET", "/x?" EVIL_REASON,
                                                              NOW - 3 * SEC, 3250000 };
    for (i = 1; i < 12; i++)
        *(papi_inflight *)apr_array_push(reqs) = (papi_inflight){ i % 2 ? 3595 : 0, "POST",
                                                                  "/upload", 0, 1000000 - i };
    APR_ARRAY_IDX(views, 1, papi_view).inflight = reqs;
    /* The core had more than were kept: the badge counts them all. */
    APR_ARRAY_IDX(views, 1, papi_view).inflight_total = 1012;
    b = papi_buf_make(p, 256);
    papi_dashboard_write(b, p, views, &opts);
    assert_clean_page(b);
    assert_has(b, "Longest-running requests</h3><span class=\"tag\">1012 in flight</span>");
    assert_int_equal(count(b->data, "<td data-label=\"Age\""), 10);
    assert_has(b, ">3.2 s<");
    assert_has(b, ">0.9 s<");
    assert_has(b, "/x?&lt;img src=x onerror=alert(1)&gt;");
    assert_lacks(b, EVIL_REASON);
    /* 3576 serves one, 3595 six of them, 4101 none. */
    assert_has(b, "<td data-label=\"In flight\" class=\"n\">1</td>");
    assert_has(b, "<td data-label=\"In flight\" class=\"n\">6</td>");
    assert_has(b, "<td data-label=\"In flight\" class=\"n\">0</td>");
}

/* Each process's memory of the last ten minutes, a sparkline under its RSS: from its first sample
 * to its last, from its lowest up to its highest; none until two samples are kept. */
static void memory_sparklines(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = rich_views(p);
    papi_dashboard_opts with = opts;
    const char *why = NULL;
    papi_buf *b = papi_buf_make(p, 256);
    papi_rsshist *rss = papi_rsshist_create(p, 64, &why);

    assert_non_null(rss);
    papi_rsshist_add(rss, "UKbNs4kX", 3576, NOW - 300 * SEC, 51200);
    papi_rsshist_add(rss, "UKbNs4kX", 3576, NOW - 200 * SEC, 76800);
    papi_rsshist_add(rss, "UKbNs4kX", 3576, NOW - 100 * SEC, 102400);
    papi_rsshist_add(rss, "UKbNs4kX", 3595, NOW - 100 * SEC, 1024);
    /* Noise: a few kB up and down stay near the bottom. */
    papi_rsshist_add(rss, "UKbNs4kX", 4101, NOW - 20 * SEC, 20000);
    papi_rsshist_add(rss, "UKbNs4kX", 4101, NOW - 10 * SEC, 20102);
    with.rss = rss;
    papi_dashboard_write(b, p, views, &with);
    assert_clean_page(b);
    assert_int_equal(count(b->data, "<svg class=\"spark\""), 2);
    assert_has(b, "points=\"0,95 10,87\"");
    assert_has(b, "<title>50.0 MB \xE2\x86\x92 100 MB in the last 10 minutes</title>");
    assert_has(b, "viewBox=\"0 0 200 100\"");
    assert_has(b, "points=\"0,95 100,50 200,5\"");
    /* Presentation attributes only: the CSP lets no style attribute in. */
    assert_lacks(b, "style=");
}

static void no_candidates(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 1, sizeof(papi_view));
    papi_buf *b = papi_buf_make(p, 16);

    papi_dashboard_write(b, p, views, &opts);
    assert_clean_page(b);
    assert_has(b, "No Passenger instance was found in the configured registry directories");
    assert_int_equal(count(b->data, "href=\"/passenger-api/instances.json\""), 2);
    assert_has(b, "0 <small>good of 0</small>");
    assert_has(b, "<dt>Memory</dt><dd><span class=\"none\">\xE2\x80\x93</span></dd>");
    assert_lacks(b, "Other instance directories");
    assert_lacks(b, "<table");
}

static void only_bad_candidates(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 2, sizeof(papi_view));
    papi_buf *b = papi_buf_make(p, 16);

    papi_mk_view(views, bad_instance(p, PAPI_INST_UNTRUSTED, "owned by uid 1000"), 0, NULL, NULL);
    papi_mk_view(views, bad_instance(p, PAPI_INST_NOT_FINALIZED, NULL), 0, NULL, NULL);
    papi_dashboard_write(b, p, views, &opts);
    assert_clean_page(b);
    assert_has(b, "None of the 2 instance directories found is usable");
    assert_has(b, ">untrusted<");
    assert_has(b, ">not finalized<");
    /* Untrusted ones are counted (anyone can make them), trusted ones that are not good listed. */
    assert_has(b, "/tmp: 1 entry");
    assert_lacks(b, "owned by uid 1000");
    assert_lacks(b, "No Passenger instance was found");
}

/* A registry filled by someone: its untrusted entries and its summary make one row of counts, so
 * the page is as large with twenty thousand of them as with one. */
static void untrusted_entries_are_counted(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 8, sizeof(papi_view));
    papi_instance *summary = bad_instance(p, PAPI_INST_UNTRUSTED, "19937 more");
    papi_buf *small = papi_buf_make(p, 16), *b = papi_buf_make(p, 16);
    int i;

    papi_mk_view(views, instance(p, "Good1234", "passenger.Good123"), 200, NULL, procpool(p));
    papi_mk_view(views, bad_instance(p, PAPI_INST_UNTRUSTED, "owned by uid 1000"), 0, NULL, NULL);
    papi_dashboard_write(small, p, views, &opts);
    for (i = 0; i < PAPI_REGISTRY_BOUND - 3; i++)
        papi_mk_view(views, bad_instance(p, PAPI_INST_UNTRUSTED, "owned by uid 1000"), 0, NULL,
                     NULL);
    papi_mk_view(views, bad_instance(p, PAPI_INST_STALE, "its lock is not held"), 0, NULL, NULL);
    summary->dirname = NULL;
    summary->path = "/tmp";
    summary->more_untrusted = 19937;
    summary->more_uninspected = 2;
    papi_mk_view(views, summary, 0, NULL, NULL);
    papi_dashboard_write(b, p, views, &opts);
    assert_clean_page(b);
    assert_has(b, "/tmp: 19999 entries");
    assert_has(b, "/tmp: 2 entries");
    assert_has(b, ">not inspected<");
    assert_has(b, "its lock is not held");
    assert_lacks(b, "owned by uid 1000");
    assert_lacks(b, "19937 more");
    assert_has(b, "1 <small>good of 20003</small>");
    assert_true(b->len < small->len + 2048);
}

/* An instance of groups of n processes of 1 session and 1 MB each. */
static const papi_procpool *pool_of(apr_pool_t *p, int groups, int n, apr_int64_t *pid)
{
    papi_procpool *pl = procpool(p);
    int g, i;

    pl->groups = apr_array_make(p, groups, sizeof(papi_procpool_group *));
    for (g = 0; g < groups; g++) {
        papi_procpool_group *grp = group(p, apr_psprintf(p, "/srv/app%d (production)", g),
                                         apr_psprintf(p, "/srv/app%d", g));
        for (i = 0; i < n; i++) {
            papi_procpool_process *proc = process(p, (*pid)++, 1024);
            proc->sessions = 1;
            APR_ARRAY_PUSH(grp->processes, papi_procpool_process *) = proc;
        }
        APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = grp;
    }
    return pl;
}

/* A group of more than 50 processes is folded with its totals in view; past 500 rows the
 * page lists no more processes but still shows every group's totals, so the page of 16,000
 * processes leads with the host's totals and stays under 1 MB. */
static void large_groups_fold_and_the_page_stays_small(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 32, sizeof(papi_view));
    papi_buf *b = papi_buf_make(p, 16);
    apr_int64_t pid = 100000;
    int i;

    papi_mk_view(views, instance(p, "Small123", "passenger.Small12"), 200, NULL,
                 pool_of(p, 1, 51, &pid));
    papi_dashboard_write(b, p, views, &opts);
    assert_clean_page(b);
    assert_int_equal(count(b->data, "<details class=\"group\">"), 1);
    assert_has(b, "<span class=\"totals\">51 processes" DOT "51 sessions" DOT "51.0 MB</span>");
    assert_int_equal(count(b->data, "<td data-label=\"PID\""), 51);

    for (i = 1; i < 32; i++)
        papi_mk_view(views, instance(p, apr_psprintf(p, "Big%05d", i),
                                     apr_psprintf(p, "passenger.Big%04d", i)), 200, NULL,
                     pool_of(p, 10, 50, &pid));
    b = papi_buf_make(p, 16);
    papi_dashboard_write(b, p, views, &opts);
    assert_clean_page(b);
    assert_true(b->len < 1024 * 1024);
    /* The host's totals lead: before the first instance. */
    assert_true(strstr(b->data, "<dt>Sessions</dt><dd>15551</dd>") < strstr(b->data, "<h2>"));
    assert_has(b, "<dt>Processes</dt><dd>15551</dd>");
    assert_has(b, "<dt>App groups</dt><dd>311</dd>");
    /* 51 rows, then 8 groups of 50 fit the 500; the other 302 groups are folded unlisted. */
    assert_int_equal(count(b->data, "<td data-label=\"PID\""), 451);
    assert_int_equal(count(b->data, "<details class=\"group\">"), 1 + 302);
    assert_int_equal(count(b->data, "50 processes" DOT "50 sessions" DOT "50.0 MB"), 302);
    assert_int_equal(count(b->data, "Not listed here"), 302);
}

static void empty_pool_and_group(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 2, sizeof(papi_view));
    papi_instance *a = instance(p, "Empty1", "passenger.Empty01");
    papi_instance *c = instance(p, "Quiet1", "passenger.Quiet01");
    papi_procpool *empty = procpool(p), *quiet = procpool(p);
    papi_dashboard_opts base_slash = { .base = "/api/", .now = NOW, .refresh = 0, .nonce = NONCE };
    papi_buf *b = papi_buf_make(p, 16);

    APR_ARRAY_PUSH(quiet->groups, papi_procpool_group *) = group(p, "/srv/q (production)", "/srv/q");
    papi_mk_view(views, a, 200, NULL, empty);
    papi_mk_view(views, c, 200, NULL, quiet);
    papi_dashboard_write(b, p, views, &base_slash);
    assert_clean_page(b);
    assert_has(b, "No app groups");
    assert_has(b, "No processes in this app group");
    /* No refresh when none is asked for; no "//" from a base ending in a slash. */
    assert_lacks(b, "http-equiv");
    assert_has(b, "href=\"/api/metrics\"");
    assert_lacks(b, "//");
    assert_lacks(b, "<table");
}

static void escapes_attributes_and_controls(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = apr_array_make(p, 1, sizeof(papi_view));
    papi_instance *a = instance(p, "Ctl1", "passenger.Ctl0001");
    papi_dashboard_opts odd = { .base = "/x\"><b>'", .now = NOW, .refresh = 5, .nonce = NONCE };
    papi_buf *b = papi_buf_make(p, 16);

    a->path = "/reg/passenger.Ctl0001\x01\x1b[31m";
    papi_mk_view(views, a, 504, "deadline passed", NULL);
    papi_dashboard_write(b, p, views, &odd);
    assert_clean_page(b);
    assert_has(b, "href=\"/x&quot;&gt;&lt;b&gt;&#39;/metrics\"");
    assert_has(b, "/reg/passenger.Ctl0001\xEF\xBF\xBD\xEF\xBF\xBD[31m");
    assert_has(b, "504: deadline passed");
    assert_lacks(b, "\x1b");
}

/* A recent health probe shows with its process; its error only escaped, in a title. */
static void last_probes(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = rich_views(p);
    papi_dashboard_opts with = opts;
    papi_probe_result ok = { NOW - 1000000, 1, 1, 200, 4000, "" };
    papi_probe_result bad = { NOW - 1000000, 1, 0, 0, 1000000, "<b>deadline</b> passed" };
    papi_probe_result old = { NOW - 3600000000LL, 1, 1, 200, 1000, "" };
    papi_buf *b = papi_buf_make(p, 256);
    const char *why;

    with.probes = papi_probes_create(p, 64, &why);
    with.probe_max_age = apr_time_from_sec(600);
    assert_non_null(with.probes);
    papi_probes_put((papi_probes *)with.probes, "UKbNs4kX", 3576, &ok);
    papi_probes_put((papi_probes *)with.probes, "UKbNs4kX", 3595, &bad);
    papi_probes_put((papi_probes *)with.probes, "UKbNs4kX", 4101, &old);
    papi_dashboard_write(b, p, views, &with);
    assert_clean_page(b);
    assert_int_equal(count(b->data, "probe ok</span>"), 1);
    assert_int_equal(count(b->data, "probe failed</span>"), 1);
    assert_has(b, "title=\"answered 200 in 4 ms\"");
    assert_has(b, "&lt;b&gt;deadline&lt;/b&gt; passed");
    assert_lacks(b, "<b>deadline");
}

/* ?refresh=N as mod_status takes it: whole seconds, 0 for none, bounded; anything else is
 * refused with the reason, and the default stays when nothing is asked. */
static void refresh_query(void **state)
{
    apr_pool_t *p = *state;
    static const char *const refused[] = {
        "refresh", "refresh=", "refresh=-1", "refresh=3601", "refresh=99999", "refresh=1.5",
        "refresh=5&auto", "auto", "refresh=5s", "refresh=+5", "refresh= 5", "Refresh=5",
        "refresh=00000000001"
    };
    papi_action_done done = { 0 };
    int refresh = 5;
    size_t i;

    assert_null(papi_dashboard_query(p, NULL, &refresh, &done));
    assert_null(papi_dashboard_query(p, "", &refresh, &done));
    assert_int_equal(refresh, 5);
    assert_null(papi_dashboard_query(p, "refresh=0", &refresh, &done));
    assert_int_equal(refresh, 0);
    assert_null(papi_dashboard_query(p, "refresh=3600", &refresh, &done));
    assert_int_equal(refresh, 3600);
    assert_null(papi_dashboard_query(p, "refresh=07", &refresh, &done));
    assert_int_equal(refresh, 7);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *why = papi_dashboard_query(p, refused[i], &refresh, &done);
        assert_non_null(why);
        assert_non_null(strstr(why, "refresh=N"));
        assert_int_equal(refresh, 7);
    }
    assert_int_equal(done.kind, PAPI_ACTION_NONE);
}

/* After an action: its report in the query, with refresh or without; anything else refused. */
static void action_report_query(void **state)
{
    apr_pool_t *p = *state;
    static const char *const refused[] = {
        "done=restarted", "done=detached&group=g", "done=rebooted&pid=1", "done=detached&pid=0",
        "pid=12", "group=g", "done=detached&pid=1&pid=2", "done=detached&pid=1&note=hi",
        "done=restarted&group=%", "done=restarted&group=a%0Ab",
    };
    papi_action_done done = { 0 };
    int refresh = 5;
    size_t i;

    assert_null(papi_dashboard_query(p, "done=restarted&group=%2Fsrv%2Fapi+%28staging%29&refresh=9",
                                     &refresh, &done));
    assert_int_equal(done.kind, PAPI_ACTION_RESTART);
    assert_true(done.ok);
    assert_string_equal(done.group, "/srv/api (staging)");
    assert_int_equal(refresh, 9);
    memset(&done, 0, sizeof(done));
    assert_null(papi_dashboard_query(p, "done=detach-failed&pid=3576", &refresh, &done));
    assert_int_equal(done.kind, PAPI_ACTION_DETACH);
    assert_false(done.ok);
    assert_int_equal(done.pid, 3576);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        memset(&done, 0, sizeof(done));
        if (!papi_dashboard_query(p, refused[i], &refresh, &done))
            fail_msg("'%s' accepted", refused[i]);
    }
}

/* In full mode every group has a Restart form and every process a Detach form, each posting to
 * the actions with the page's nonce and its target escaped; read-only pages have none. */
static void action_forms(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = rich_views(p);
    papi_dashboard_opts full = opts;
    papi_buf *ro = papi_buf_make(p, 256), *b = papi_buf_make(p, 256);

    papi_dashboard_write(ro, p, views, &opts);
    assert_lacks(ro, "<form");
    assert_lacks(ro, "<button");
    full.action_nonce = "n0nce\"<";
    papi_dashboard_write(b, p, views, &full);
    assert_clean_page(b);
    /* Two groups, two processes alive (4101 is shutting down: nothing to detach). */
    assert_int_equal(count(b->data, "<form class=\"act\" method=\"post\" "
                                    "action=\"/passenger-api/actions\">"), 2 + 2);
    assert_int_equal(count(b->data, "</form>"), 2 + 2);
    assert_int_equal(count(b->data, "name=\"nonce\" value=\"n0nce&quot;&lt;\""), 2 + 2);
    assert_int_equal(count(b->data, "name=\"instance\" value=\"UKbNs4kX\""), 2 + 2);
    assert_has(b, "name=\"action\" value=\"restart\"><input type=\"hidden\" name=\"instance\" "
                  "value=\"UKbNs4kX\"><input type=\"hidden\" name=\"group\" "
                  "value=\"/srv/api (staging)\">");
    assert_has(b, "value=\"/srv/&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_has(b, "name=\"pid\" value=\"3595\">");
    assert_lacks(b, "name=\"pid\" value=\"4101\">");
    assert_has(b, "aria-label=\"Detach process 3576\">Detach</button>");
    assert_has(b, "aria-label=\"Restart /srv/api (staging)\">Restart</button>");
    assert_lacks(b, "<script");
}

/* The report says only the module's words: a group's name only when it is on the page. */
static void action_report(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *views = rich_views(p);
    papi_dashboard_opts with = opts;
    papi_action_done restarted = { PAPI_ACTION_RESTART, 1, "/srv/api (staging)", 0 };
    papi_action_done forged = { PAPI_ACTION_RESTART, 1, "Your session expired: call 555-0100", 0 };
    papi_action_done failed = { PAPI_ACTION_DETACH, 0, NULL, 3576 };
    papi_buf *b = papi_buf_make(p, 256);

    with.done = &restarted;
    papi_dashboard_write(b, p, views, &with);
    assert_clean_page(b);
    assert_has(b, "<p class=\"done ok\" role=\"status\">Restarted app group <span class=\"path\">"
                  "/srv/api (staging)</span>.</p>");
    /* The page reloads without the report. */
    assert_has(b, "content=\"15; url=/passenger-api/?refresh=15\"");
    b = papi_buf_make(p, 256);
    with.done = &forged;
    papi_dashboard_write(b, p, views, &with);
    assert_has(b, "Restarted an app group.</p>");
    assert_lacks(b, "555-0100");
    b = papi_buf_make(p, 256);
    with.done = &failed;
    papi_dashboard_write(b, p, views, &with);
    assert_has(b, "<p class=\"done bad\" role=\"alert\">Could not detach process 3576: the "
                  "server's error log says why.</p>");
    b = papi_buf_make(p, 256);
    papi_dashboard_write(b, p, views, &opts);
    assert_lacks(b, "class=\"done");
    assert_lacks(b, "url=");
}

PAPI_TEST_MAIN(
    PAPI_TEST(rich_page),
    PAPI_TEST(requests_in_flight),
    PAPI_TEST(memory_sparklines),
    PAPI_TEST(no_candidates),
    PAPI_TEST(only_bad_candidates),
    PAPI_TEST(untrusted_entries_are_counted),
    PAPI_TEST(large_groups_fold_and_the_page_stays_small),
    PAPI_TEST(empty_pool_and_group),
    PAPI_TEST(escapes_attributes_and_controls),
    PAPI_TEST(last_probes),
    PAPI_TEST(refresh_query),
    PAPI_TEST(action_report_query),
    PAPI_TEST(action_forms),
    PAPI_TEST(action_report))
