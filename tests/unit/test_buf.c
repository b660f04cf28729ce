/* papi_buf streamed: pieces handed on only at cuts, and every pool view written in pieces is
 * byte for byte the view written whole, even when every cut hands a piece on. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_dashboard.h"
#include "papi_metrics.h"
#include "papi_processes.h"

#include <string.h>

typedef struct sink_log {
    papi_buf *all;      /* every byte handed on, in order */
    int calls;
} sink_log;

static void collect(void *ctx, const char *data, apr_size_t len)
{
    sink_log *log = ctx;

    assert_true(len > 0);
    papi_buf_add(log->all, data, len);
    log->calls++;
}

static void pieces_go_at_cuts_once_large_enough(void **state)
{
    apr_pool_t *p = *state;
    papi_buf *b = papi_buf_make(p, 16);
    sink_log log = { papi_buf_make(p, 16), 0 };

    papi_buf_stream(b, collect, &log, 8);
    papi_buf_puts(b, "abcdefghijklmnop");   /* past 8, but no cut yet: nothing goes */
    assert_int_equal(log.calls, 0);
    papi_buf_cut(b);
    assert_int_equal(log.calls, 1);
    assert_int_equal(b->len, 0);
    assert_string_equal(b->data, "");
    papi_buf_puts(b, "xyz");
    papi_buf_cut(b);                         /* 3 < 8: kept */
    assert_int_equal(log.calls, 1);
    assert_string_equal(b->data, "xyz");
    assert_string_equal(log.all->data, "abcdefghijklmnop");
}

static void a_cut_without_a_sink_keeps_everything(void **state)
{
    papi_buf *b = papi_buf_make(*state, 4);

    papi_buf_puts(b, "0123456789");
    papi_buf_cut(b);
    assert_string_equal(b->data, "0123456789");
}

/* The real pool.xml sample in two good instances (one failed, one stale besides), so that the
 * views have several processes, groups and instances to cut between. */
static apr_array_header_t *sample_views(apr_pool_t *p)
{
    apr_array_header_t *views = apr_array_make(p, 4, sizeof(papi_view));
    const char *xml = papi_test_sample_body(p, "core_GET_pool.xml.http");
    const char *names[] = { "UKbNs4kX", "Pq7LmN2z" };
    int i;

    for (i = 0; i < 2; i++) {
        papi_procpool *procpool;
        papi_instance *inst = papi_mk_instance(p, "/reg", apr_pstrcat(p, "passenger.", names[i],
                                               NULL), PAPI_INST_GOOD, names[i],
                                               "{\"passenger_version\":\"6.0.17\"}");
        assert_null(papi_procpool_parse(p, xml, strlen(xml), &procpool));
        papi_mk_view(views, inst, 200, NULL, procpool);
    }
    papi_mk_view(views, papi_mk_instance(p, "/reg", "passenger.Broken12", PAPI_INST_GOOD,
                                         "Broken12", NULL), 504, "deadline passed", NULL);
    papi_mk_view(views, papi_mk_instance(p, "/reg", "passenger.Stale123", PAPI_INST_STALE,
                                         "Stale123", NULL), 0, NULL, NULL);
    return views;
}

typedef void write_view_fn(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views);

static void write_processes(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views)
{
    papi_processes_write(b, views, apr_time_from_sec(1795262000), NULL, 0, NULL);
}

static void write_metrics(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views)
{
    papi_metrics_opts opts = { .scrape_duration = 12500, .pid_label = 1,
                               .proc = "/nonexistent-proc" };

    papi_metrics_write(b, p, views, &opts);
    opts.names = PAPI_METRICS_EXPORTER;
    opts.hostname = "web1";
    papi_metrics_write(b, p, views, &opts);
}

static void write_dashboard(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views)
{
    papi_dashboard_opts opts = { .base = "/passenger-api", .now = apr_time_from_sec(1795262000),
                                 .refresh = 5, .nonce = "bm9uY2U=" };

    papi_dashboard_write(b, p, views, &opts);
}

static void every_view_streamed_is_the_view_whole(void **state)
{
    static write_view_fn *const writers[] = { write_processes, write_metrics, write_dashboard };
    apr_pool_t *p = *state;
    apr_array_header_t *views = sample_views(p);
    size_t w;

    for (w = 0; w < sizeof(writers) / sizeof(writers[0]); w++) {
        papi_buf *whole = papi_buf_make(p, 64), *b = papi_buf_make(p, 64);
        sink_log log = { papi_buf_make(p, 64), 0 };

        writers[w](whole, p, views);
        /* A piece at every cut: whatever a writer looks back at must be on its side of one. */
        papi_buf_stream(b, collect, &log, 1);
        writers[w](b, p, views);
        papi_buf_add(log.all, b->data, b->len);
        assert_true(log.calls > 3);
        assert_int_equal(log.all->len, whole->len);
        assert_memory_equal(log.all->data, whole->data, whole->len);
    }
}

PAPI_TEST_MAIN(
    PAPI_TEST(pieces_go_at_cuts_once_large_enough),
    PAPI_TEST(a_cut_without_a_sink_keeps_everything),
    PAPI_TEST(every_view_streamed_is_the_view_whole))
