/* Memory over time: samples kept per process in shared memory, at most one per interval, only the
 * last ten minutes shown, oldest first, across a fork; and the sampler reads each process's
 * /proc/<pid>/status only while it is due and still its group's user's. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_rsshist.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define AT(s) apr_time_from_sec(s)

static papi_rsshist *table(apr_pool_t *p, int slots)
{
    const char *why = NULL;
    papi_rsshist *t = papi_rsshist_create(p, slots, &why);

    assert_non_null(t);
    return t;
}

static void one_sample_per_interval_oldest_first(void **state)
{
    papi_rsshist *t = table(*state, 16);
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];

    assert_true(papi_rsshist_due(t, "AbCd1234", 42, AT(1000)));
    papi_rsshist_add(t, "AbCd1234", 42, AT(1000), 100);
    assert_false(papi_rsshist_due(t, "AbCd1234", 42, AT(1004)));
    /* Not due: another child sampled it a moment ago. */
    papi_rsshist_add(t, "AbCd1234", 42, AT(1003), 999);
    assert_true(papi_rsshist_due(t, "AbCd1234", 42, AT(1005)));
    papi_rsshist_add(t, "AbCd1234", 42, AT(1005), 200);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 42, AT(1010), s), 2);
    assert_int_equal(s[0].at, 1000);
    assert_int_equal(s[0].kb, 100);
    assert_int_equal(s[1].at, 1005);
    assert_int_equal(s[1].kb, 200);
    /* Another pid, another instance: nothing of it. */
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 43, AT(1010), s), 0);
    assert_int_equal(papi_rsshist_get(t, "Other123", 42, AT(1010), s), 0);
    /* A NULL table is no table. */
    assert_false(papi_rsshist_due(NULL, "AbCd1234", 42, AT(1010)));
    papi_rsshist_add(NULL, "AbCd1234", 42, AT(1010), 1);
    assert_int_equal(papi_rsshist_get(NULL, "AbCd1234", 42, AT(1010), s), 0);
}

static void only_the_last_ten_minutes(void **state)
{
    papi_rsshist *t = table(*state, 16);
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];
    int i, n;

    /* 200 samples, 5 s apart: the ring wraps, and only the window's last 10 minutes show. */
    for (i = 0; i < 200; i++)
        papi_rsshist_add(t, "AbCd1234", 42, AT(10000 + 5 * i), 1000 + i);
    n = papi_rsshist_get(t, "AbCd1234", 42, AT(10000 + 5 * 199), s);
    assert_int_equal(n, 600 / 5);
    assert_int_equal(s[0].kb, 1000 + 200 - n);
    assert_int_equal(s[n - 1].kb, 1000 + 199);
    for (i = 1; i < n; i++)
        assert_true(s[i].at == s[i - 1].at + 5);
    /* Five minutes later, half of them. */
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 42, AT(10000 + 5 * 199 + 300), s), 60);
}

static void a_live_history_keeps_its_slot(void **state)
{
    papi_rsshist *t = table(*state, 1);
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];
    int i;

    /* Two processes, one slot, read in turns: the first keeps growing its history, the other is
     * never due (no /proc read for it) and takes nothing. */
    for (i = 0; i < 10; i++) {
        if (papi_rsshist_due(t, "AbCd1234", 42, AT(1000 + 5 * i)))
            papi_rsshist_add(t, "AbCd1234", 42, AT(1000 + 5 * i), 100 + i);
        assert_false(papi_rsshist_due(t, "AbCd1234", 77, AT(1000 + 5 * i)));
        papi_rsshist_add(t, "AbCd1234", 77, AT(1000 + 5 * i), 500);
    }
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 42, AT(1050), s), 10);
    assert_int_equal(s[9].kb, 109);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 77, AT(1050), s), 0);
}

static void a_process_taking_a_stale_slot_starts_afresh(void **state)
{
    papi_rsshist *t = table(*state, 1);
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];

    papi_rsshist_add(t, "AbCd1234", 42, AT(1000), 100);
    /* Ten minutes without a sample of 42: it is gone, and 77 may have the slot. */
    assert_true(papi_rsshist_due(t, "AbCd1234", 77, AT(1600)));
    papi_rsshist_add(t, "AbCd1234", 77, AT(1600), 500);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 42, AT(1601), s), 0);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 77, AT(1601), s), 1);
    assert_int_equal(s[0].kb, 500);
}

static void shared_with_a_child(void **state)
{
    papi_rsshist *t = table(*state, 64);
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];
    pid_t child;
    int status;

    child = fork();
    if (child == 0) {
        papi_rsshist_add(t, "AbCd1234", 77, AT(5000), 4096);
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 77, AT(5001), s), 1);
    assert_int_equal(s[0].kb, 4096);
}

static void write_status(apr_pool_t *p, const char *root, int pid, int uid, int kb)
{
    const char *dir = apr_psprintf(p, "%s/%d", root, pid);
    FILE *f;

    mkdir(dir, 0755);
    f = fopen(apr_pstrcat(p, dir, "/status", NULL), "w");
    assert_non_null(f);
    fprintf(f, "Name:\truby\nPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nVmRSS:\t%d kB\n", pid, uid, uid, uid,
            uid, kb);
    fclose(f);
}

/* The pool of instance AbCd1234 as read: one group of uid 33 with processes 100 and 101. */
static apr_array_header_t *two_processes(apr_pool_t *p)
{
    apr_array_header_t *views = apr_array_make(p, 1, sizeof(papi_view));
    papi_procpool *pl = papi_mk_procpool(p, "6.0.17");
    papi_procpool_group *g = papi_mk_group(p, "/srv/app (production)");

    g->uid = 33;
    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = papi_mk_process(p, 100);
    APR_ARRAY_PUSH(g->processes, papi_procpool_process *) = papi_mk_process(p, 101);
    APR_ARRAY_PUSH(pl->groups, papi_procpool_group *) = g;
    papi_mk_view(views, papi_mk_instance(p, "/reg", "passenger.AbCd1234", PAPI_INST_GOOD,
                                         "AbCd1234", NULL), 200, NULL, pl);
    return views;
}

static void the_sampler_reads_each_due_process_of_its_user(void **state)
{
    apr_pool_t *p = *state;
    papi_rsshist *t = table(p, 64);
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];
    apr_array_header_t *views = two_processes(p);
    char root[] = "/tmp/papi-proc-XXXXXX";

    assert_non_null(mkdtemp(root));
    write_status(p, root, 100, 33, 50000);
    write_status(p, root, 101, 0, 70000);       /* the pid now someone else's */
    papi_rsshist_sample(t, p, views, AT(2000), root);
    write_status(p, root, 100, 33, 90000);
    papi_rsshist_sample(t, p, views, AT(2002), root);     /* not due: not read */
    papi_rsshist_sample(t, p, views, AT(2005), root);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 100, AT(2006), s), 2);
    assert_int_equal(s[0].kb, 50000);
    assert_int_equal(s[1].kb, 90000);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 101, AT(2006), s), 0);
    assert_int_equal(system(apr_pstrcat(p, "rm -rf ", root, NULL)), 0);
}

/* A process whose /proc tells nothing (gone, another user's, hidepid) is tried once per
 * PAPI_RSSHIST_RETRY, not at every read of its pool, and leaves its slot to one that can be read. */
static void an_unreadable_process_is_not_tried_at_every_read(void **state)
{
    apr_pool_t *p = *state;
    papi_rsshist *t = table(p, 1);      /* one slot: every process hashes to it */
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];
    apr_array_header_t *views = two_processes(p);
    char root[] = "/tmp/papi-proc-XXXXXX";

    assert_non_null(mkdtemp(root));
    write_status(p, root, 101, 33, 70000);
    papi_rsshist_sample(t, p, views, AT(2000), root);     /* 100 tried, nothing: 101 waits */
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 101, AT(2001), s), 0);
    write_status(p, root, 100, 33, 50000);
    papi_rsshist_sample(t, p, views, AT(2003), root);     /* 100 not tried again so soon */
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 100, AT(2004), s), 0);
    assert_false(papi_rsshist_due(t, "AbCd1234", 100, AT(2030)));
    papi_rsshist_sample(t, p, views, AT(2005), root);     /* 101's turn: it keeps the slot */
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 101, AT(2006), s), 1);
    assert_int_equal(s[0].kb, 70000);
    papi_rsshist_sample(t, p, views, AT(2070), root);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 101, AT(2071), s), 2);
    assert_int_equal(papi_rsshist_get(t, "AbCd1234", 100, AT(2071), s), 0);
    assert_int_equal(system(apr_pstrcat(p, "rm -rf ", root, NULL)), 0);
}

PAPI_TEST_MAIN(
    PAPI_TEST(one_sample_per_interval_oldest_first),
    PAPI_TEST(only_the_last_ten_minutes),
    PAPI_TEST(a_live_history_keeps_its_slot),
    PAPI_TEST(a_process_taking_a_stale_slot_starts_afresh),
    PAPI_TEST(shared_with_a_child),
    PAPI_TEST(the_sampler_reads_each_due_process_of_its_user),
    PAPI_TEST(an_unreadable_process_is_not_tried_at_every_read))
