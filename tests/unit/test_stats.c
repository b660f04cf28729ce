/* The status counters: summed over processes (each child adds to the same shared memory), the
 * last scan's instances by state, the helper's state, and the section mod_status shows, as HTML
 * and as the "Key: Value" lines of ?auto. */
#include "papi_test.h"
#include "papi_stats.h"

#include <sys/wait.h>
#include <unistd.h>

static papi_instance *instance(apr_pool_t *p, papi_inst_state state)
{
    papi_instance *inst = apr_pcalloc(p, sizeof(*inst));

    inst->state = state;
    inst->dirname = "passenger.aaaaaaa";
    return inst;
}

/* Children that fork after the table is made all add to it: the sum is seen by each. */
static void counters_are_summed_over_processes(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;
    papi_stats *s = papi_stats_create(p, &why);
    papi_stats_view v;
    pid_t kids[4];
    int i, status;

    assert_non_null(s);
    for (i = 0; i < 4; i++) {
        if ((kids[i] = fork()) == 0) {
            int n;
            for (n = 0; n < 1000; n++)
                papi_stats_add(s, PAPI_STAT_CORE_CALLS, 1);
            papi_stats_add(s, PAPI_STAT_CALLS_JOINED, 5);
            _exit(0);
        }
        assert_true(kids[i] > 0);
    }
    for (i = 0; i < 4; i++)
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
    papi_stats_read(s, &v);
    assert_int_equal(v.counter[PAPI_STAT_CORE_CALLS], 4000);
    assert_int_equal(v.counter[PAPI_STAT_CALLS_JOINED], 20);
    assert_int_equal(v.counter[PAPI_STAT_CACHE_HITS], 0);
}

static void a_null_table_counts_nothing(void **state)
{
    papi_stats_view v;

    papi_stats_add(NULL, PAPI_STAT_CORE_CALLS, 1);
    papi_stats_set_helper(NULL, PAPI_HELPER_UP);
    papi_stats_scanned(NULL, NULL, 1);
    papi_stats_read(NULL, &v);
    assert_int_equal(v.counter[PAPI_STAT_CORE_CALLS], 0);
    assert_int_equal(v.helper, PAPI_HELPER_NONE);
    assert_int_equal(v.scanned_at, 0);
}

/* The last scan replaces the one before, summaries counted as what they stand for. */
static void the_last_scan_by_state(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;
    papi_stats *s = papi_stats_create(p, &why);
    apr_array_header_t *found = apr_array_make(p, 4, sizeof(papi_instance *));
    papi_instance *summary = instance(p, PAPI_INST_UNTRUSTED);
    papi_stats_view v;

    APR_ARRAY_PUSH(found, papi_instance *) = instance(p, PAPI_INST_GOOD);
    APR_ARRAY_PUSH(found, papi_instance *) = instance(p, PAPI_INST_GOOD);
    APR_ARRAY_PUSH(found, papi_instance *) = instance(p, PAPI_INST_STALE);
    papi_stats_scanned(s, found, apr_time_from_sec(100));
    papi_stats_read(s, &v);
    assert_int_equal(v.scanned_at, apr_time_from_sec(100));
    assert_int_equal(v.instances[PAPI_INST_GOOD], 2);
    assert_int_equal(v.instances[PAPI_INST_STALE], 1);

    summary->dirname = NULL;
    summary->more_untrusted = 70;
    summary->more_uninspected = 3;
    apr_array_clear(found);
    APR_ARRAY_PUSH(found, papi_instance *) = instance(p, PAPI_INST_GOOD);
    APR_ARRAY_PUSH(found, papi_instance *) = summary;
    papi_stats_scanned(s, found, apr_time_from_sec(200));
    papi_stats_read(s, &v);
    assert_int_equal(v.scanned_at, apr_time_from_sec(200));
    assert_int_equal(v.instances[PAPI_INST_GOOD], 1);
    assert_int_equal(v.instances[PAPI_INST_STALE], 0);
    assert_int_equal(v.instances[PAPI_INST_UNTRUSTED], 70);
    assert_int_equal(v.instances[PAPI_STATS_UNINSPECTED], 3);
}

/* Every line of the short form is "Key: Value", and says what the view holds. */
#define LETTERS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

static void auto_lines_are_key_value(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;
    papi_stats *s = papi_stats_create(p, &why);
    apr_array_header_t *found = apr_array_make(p, 1, sizeof(papi_instance *));
    papi_buf *b = papi_buf_make(p, 16);
    papi_stats_view v;
    char *text, *line, *last;
    int lines = 0;

    APR_ARRAY_PUSH(found, papi_instance *) = instance(p, PAPI_INST_GOOD);
    papi_stats_scanned(s, found, apr_time_from_sec(100));
    papi_stats_add(s, PAPI_STAT_CORE_CALLS, 7);
    papi_stats_add(s, PAPI_STAT_HELPER_RESTARTS, 2);
    papi_stats_set_helper(s, PAPI_HELPER_DOWN);
    papi_stats_read(s, &v);
    papi_stats_write(b, &v, 1, apr_time_from_sec(103));
    text = apr_pstrmemdup(p, b->data, b->len);
    assert_true(b->len > 0 && text[b->len - 1] == '\n');
    for (line = apr_strtok(text, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        char *colon = strstr(line, ": ");
        assert_non_null(colon);
        assert_true(colon > line && strspn(line, LETTERS) == (size_t)(colon - line));
        assert_true(colon[2] != '\0' && !strchr(colon + 2, ' '));
        lines++;
    }
    assert_int_equal(lines, 14);
    assert_non_null(strstr((const char *)b->data, "PassengerApiInstancesGood: 1\n"));
    assert_non_null(strstr((const char *)b->data, "PassengerApiLastScanAge: 3\n"));
    assert_non_null(strstr((const char *)b->data, "PassengerApiHelper: down\n"));
    assert_non_null(strstr((const char *)b->data, "PassengerApiHelperRestarts: 2\n"));
    assert_non_null(strstr((const char *)b->data, "PassengerApiCoreCalls: 7\n"));
}

/* The HTML form: one heading, the figures in words, and it says where the instances come from. */
static void html_section(void **state)
{
    apr_pool_t *p = *state;
    papi_buf *b = papi_buf_make(p, 16);
    papi_stats_view v = { { 9, 4, 30, 2, 0 }, PAPI_HELPER_NONE, 0, { 0 } };
    const char *text;

    papi_stats_write(b, &v, 0, apr_time_from_sec(5));
    text = apr_pstrmemdup(p, b->data, b->len);
    assert_non_null(strstr(text, "<h2>Passenger API</h2>"));
    assert_non_null(strstr(text, "last scan of any child"));
    assert_non_null(strstr(text, "(no scan yet)"));
    assert_non_null(strstr(text, "none (not needed"));
    assert_non_null(strstr(text, "9 made, 4 answers joined"));
    assert_non_null(strstr(text, "30 hits, 2 misses"));
    assert_null(strstr(text, "LastScanAge"));
}

PAPI_TEST_MAIN(
    PAPI_TEST(counters_are_summed_over_processes),
    PAPI_TEST(a_null_table_counts_nothing),
    PAPI_TEST(the_last_scan_by_state),
    PAPI_TEST(auto_lines_are_key_value),
    PAPI_TEST(html_section))
