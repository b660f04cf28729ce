/* /proc/<pid>/status: parsed strictly, read without following links, and its resident memory
 * counted only for the process pool.xml names (same pid, same owner). */
#include "papi_test.h"
#include "papi_procstatus.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATUS(pid, uid, rss) \
    "Name:\tRuby: /srv/app\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" pid "\nPid:\t" pid \
    "\nPPid:\t1\nUid:\t" uid "\t" uid "\t" uid "\t" uid "\nGid:\t65534\t65534\t65534\t65534\n" \
    "VmPeak:\t  300000 kB\nVmRSS:\t" rss "\nThreads:\t2\n"

static int parses(const char *text, papi_procstatus *st)
{
    return papi_procstatus_parse(text, strlen(text), st);
}

static void reads_the_fields(void **state)
{
    papi_procstatus st;

    assert_true(parses(STATUS("4242", "65534", "   51234 kB"), &st));
    assert_int_equal(st.pid, 4242);
    assert_int_equal(st.uid, 65534);
    assert_int_equal(st.rss, 51234);
    /* A zombie or a kernel thread has no VmRSS: known process, unknown memory. */
    assert_true(parses("Name:\tx\nPid:\t7\nUid:\t0\t0\t0\t0\n", &st));
    assert_int_equal(st.rss, -1);
}

static void refuses_what_is_not_a_status(void **state)
{
    static const char *const bad[] = {
        "",
        "Name:\tx\nUid:\t0\t0\t0\t0\n",                         /* no Pid */
        "Name:\tx\nPid:\t7\n",                                  /* no Uid */
        "Pid:\t7\nUid:\t0\t0\t0\t0",                            /* cut: no last newline */
        "Pid:\t7\nPid:\t8\nUid:\t0\n",                          /* twice */
        "Pid:\t-7\nUid:\t0\n",
        "Pid:\t0\nUid:\t0\n",
        "Pid:\t7x\nUid:\t0\n",
        "Pid:\t7\nUid:\tx\n",
        "Pid:\t7\nUid:\t0 1\n",
        "Pid:\t1234567890123456789\nUid:\t0\n",                 /* overflows */
        "Pid:\t7\nUid:\t0\nVmRSS:\t12 MB\n",
        "Pid:\t7\nUid:\t0\nVmRSS:\t12 kB extra\n",
        "Pid:\t7\nUid:\t0\nVmRSS:\t kB\n",
        "Pid:\t7\nUid:\t0\nVmRSS:\t1 kB\nVmRSS:\t2 kB\n",
        "Pid:\t7\nUid:\t0\nno colon here\n",
        "Pid:\t7\nUid:\t0\n:\tnameless\n",
    };
    papi_procstatus st;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (parses(bad[i], &st))
            fail_msg("accepted: %s", bad[i]);
}

static void reads_this_process(void **state)
{
    apr_int64_t rss = papi_procstatus_rss(*state, PAPI_PROC_ROOT, getpid(), (apr_int64_t)getuid());

    assert_true(rss > 0);
    /* Another owner's process, or none: nothing. */
    assert_int_equal(papi_procstatus_rss(*state, PAPI_PROC_ROOT, getpid(), getuid() + 1), -1);
    assert_int_equal(papi_procstatus_rss(*state, PAPI_PROC_ROOT, 0, 0), -1);
    assert_int_equal(papi_procstatus_rss(*state, PAPI_PROC_ROOT, getpid(), -1), -1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void never_through_a_link_nor_for_another_pid(void **state)
{
    apr_pool_t *p = *state;
    char root[] = "/tmp/papi-proc-XXXXXX";
    const char *d;

    assert_non_null(mkdtemp(root));
    d = apr_pstrcat(p, root, "/100", NULL);
    assert_int_equal(mkdir(d, 0755), 0);
    write_file(apr_pstrcat(p, d, "/status", NULL), STATUS("100", "33", "2048 kB"));
    assert_int_equal(papi_procstatus_rss(p, root, 100, 33), 2048);
    /* The pid reused by another user. */
    assert_int_equal(papi_procstatus_rss(p, root, 100, 34), -1);
    /* A status naming another pid. */
    d = apr_pstrcat(p, root, "/101", NULL);
    assert_int_equal(mkdir(d, 0755), 0);
    write_file(apr_pstrcat(p, d, "/status", NULL), STATUS("100", "33", "2048 kB"));
    assert_int_equal(papi_procstatus_rss(p, root, 101, 33), -1);
    /* A link where the process's directory or its status would be. */
    assert_int_equal(symlink("100", apr_pstrcat(p, root, "/102", NULL)), 0);
    assert_int_equal(papi_procstatus_rss(p, root, 102, 33), -1);
    d = apr_pstrcat(p, root, "/103", NULL);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(symlink("../100/status", apr_pstrcat(p, d, "/status", NULL)), 0);
    assert_int_equal(papi_procstatus_rss(p, root, 103, 33), -1);
    assert_int_equal(system(apr_pstrcat(p, "rm -rf ", root, NULL)), 0);
}

PAPI_TEST_MAIN(
    PAPI_TEST(reads_the_fields),
    PAPI_TEST(refuses_what_is_not_a_status),
    PAPI_TEST(reads_this_process),
    PAPI_TEST(never_through_a_link_nor_for_another_pid))
