/* The identity /metrics labels instances with: mode@registry, stable across restarts, unique among
 * live instances. Servers are read from a /proc of the test's own making: <pid>/stat files. */
#include "papi_test.h"
#include "papi_model.h"
#include "papi_identity.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A real line of /proc/<pid>/stat: Passenger's watchdog, child of httpd's parent 13963. */
static const char watchdog_line[] =
    "13966 (PassengerAgent) S 13963 13966 13966 0 -1 4194304 1444 28 0 0 3 0 0 0 20 0 5 0 1193081 "
    "306577408 3280 18446744073709551615 94911282835456 94911285465593 140721481882176 0 0 0 0 "
    "4096 83690 0 0 0 17 1 0 0 0 0 0 94911286328824 94911286376592 94911329505280 "
    "140721481887508 140721481887581 140721481887581 140721481887685 0\n";

static int parses(const char *text, papi_procstat *st)
{
    return papi_procstat_parse(text, strlen(text), st);
}

static void procstat_fields(void **state)
{
    papi_procstat st = { 0, 0 };

    assert_true(parses(watchdog_line, &st));
    assert_int_equal(st.ppid, 13963);
    assert_int_equal(st.start, 1193081);
    /* A comm of the process's choosing: spaces, parentheses, digits. */
    assert_true(parses("7 (a) 1 2 (b) 3) R 42 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 0", &st));
    assert_int_equal(st.ppid, 42);
    assert_int_equal(st.start, 555);
    assert_true(parses("1 () S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0", &st));
    assert_int_equal(st.ppid, 0);
}

static void procstat_refused(void **state)
{
    papi_procstat st;

    assert_false(parses("", &st));
    assert_false(parses("13966", &st));
    assert_false(parses("x (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0", &st));
    assert_false(parses("1 (a S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0", &st));
    /* Cut before the start time, or with it not a number. */
    assert_false(parses("1 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0", &st));
    assert_false(parses("1 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ", &st));
    assert_false(parses("1 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9x", &st));
    assert_false(parses("1 (a) S -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9", &st));
    assert_false(parses("1 (a) S 1  1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9", &st));
    assert_false(parses("1 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999", &st));
    /* Not NUL-terminated: only len bytes are read. */
    assert_false(papi_procstat_parse(watchdog_line, 60, &st));
}

/* A /proc of our own: a directory per process holding its stat. */
typedef struct fake_proc {
    apr_pool_t *p;
    char *root;
} fake_proc;

static void proc_add(fake_proc *fp, long pid, long ppid, unsigned long start)
{
    const char *dir = apr_psprintf(fp->p, "%s/%ld", fp->root, pid);
    const char *line = apr_psprintf(fp->p, "%ld (proc %ld) S %ld %ld %ld 0 -1 4194304 0 0 0 0 0 0 "
                                    "0 0 20 0 1 0 %lu 0 0\n", pid, pid, ppid, pid, pid, start);
    FILE *f;

    assert_int_equal(mkdir(dir, 0755), 0);
    f = fopen(apr_pstrcat(fp->p, dir, "/stat", NULL), "w");
    assert_non_null(f);
    fputs(line, f);
    fclose(f);
}

static apr_status_t proc_remove(void *data)
{
    fake_proc *fp = data;

    return system(apr_psprintf(fp->p, "rm -rf '%s'", fp->root)) == 0 ? APR_SUCCESS : APR_EGENERAL;
}

static fake_proc *proc_make(apr_pool_t *p)
{
    fake_proc *fp = apr_pcalloc(p, sizeof(*fp));

    fp->p = p;
    fp->root = apr_pstrdup(p, "/tmp/test_identity.XXXXXX");
    assert_non_null(mkdtemp(fp->root));
    apr_pool_cleanup_register(p, fp, proc_remove, apr_pool_cleanup_null);
    return fp;
}

/* A good instance of the test's own user in registry. */
static papi_instance *instance(apr_pool_t *p, const char *registry, const char *name,
                               const char *mode, long watchdog, long created)
{
    papi_instance *inst = papi_mk_instance(p, registry, apr_pstrcat(p, "passenger.", name, NULL),
        PAPI_INST_GOOD, name,
        apr_psprintf(p, "{\"name\":\"%s\",\"integration_mode\":\"%s\",\"watchdog_pid\":%ld,"
                     "\"instance_dir\":{\"created_at_monotonic_usec\":%ld}}",
                     name, mode, watchdog, created));

    inst->owner = getuid();
    return inst;
}

/* The identities of insts, and again with insts in the opposite order: they must not change. */
static const char **identities(apr_pool_t *p, const fake_proc *fp,
                               papi_instance *const *list, int n)
{
    apr_array_header_t *insts = apr_array_make(p, n, sizeof(papi_instance *));
    apr_array_header_t *reversed = apr_array_make(p, n, sizeof(papi_instance *));
    apr_array_header_t *ids, *again;
    const char **out = apr_pcalloc(p, n * sizeof(*out));
    int i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(insts, papi_instance *) = list[i];
        APR_ARRAY_PUSH(reversed, papi_instance *) = list[n - 1 - i];
    }
    ids = papi_identity_assign(p, insts, fp ? fp->root : "/nonexistent-proc");
    again = papi_identity_assign(p, reversed, fp ? fp->root : "/nonexistent-proc");
    assert_int_equal(ids->nelts, n);
    for (i = 0; i < n; i++) {
        out[i] = APR_ARRAY_IDX(ids, i, const char *);
        assert_string_equal(out[i], APR_ARRAY_IDX(again, n - 1 - i, const char *));
    }
    return out;
}

static void plain_identities(void **state)
{
    apr_pool_t *p = *state;
    papi_instance *list[] = {
        instance(p, "/var/run/passenger-instreg", "Aaaa1111", "apache", 10, 1),
        instance(p, "/tmp", "Bbbb2222", "apache", 11, 1),
        instance(p, "/tmp", "Cccc3333", "standalone", 12, 1),
        instance(p, "/srv/reg", "Dddd4444", "Apache 2\\\"", 13, 1),
    };
    const char **ids = identities(p, NULL, list, 4);

    assert_string_equal(ids[0], "apache@/var/run/passenger-instreg");
    assert_string_equal(ids[1], "apache@/tmp");
    assert_string_equal(ids[2], "standalone@/tmp");
    /* A mode that is not a plain word is not shown. */
    assert_string_equal(ids[3], "passenger@/srv/reg");
}

/* Two Apaches with one registry: the older server keeps the plain identity, whichever of its
 * instances is newer, and across its graceful restarts (same server, new instance). */
static void older_server_keeps_the_plain_identity(void **state)
{
    apr_pool_t *p = *state;
    fake_proc *fp = proc_make(p);
    papi_instance *a, *b, *a2;
    const char **ids;

    proc_add(fp, 100, 1, 5000);         /* httpd A's parent, started first */
    proc_add(fp, 200, 1, 9000);         /* httpd B's parent */
    proc_add(fp, 101, 100, 5001);       /* A's watchdog */
    proc_add(fp, 201, 200, 9001);       /* B's watchdog */
    a = instance(p, "/tmp", "Zzzz0001", "apache", 101, 50);
    b = instance(p, "/tmp", "Aaaa0002", "apache", 201, 90);
    ids = identities(p, fp, (papi_instance *[]){ a, b }, 2);
    assert_string_equal(ids[0], "apache@/tmp");
    assert_string_equal(ids[1], "apache@/tmp#200");

    /* A restarts gracefully: its parent stays, a new watchdog and instance come. */
    proc_add(fp, 102, 100, 12000);
    a2 = instance(p, "/tmp", "Mmmm0003", "apache", 102, 120);
    ids = identities(p, fp, (papi_instance *[]){ a2, b }, 2);
    assert_string_equal(ids[0], "apache@/tmp");
    assert_string_equal(ids[1], "apache@/tmp#200");

    /* While the old instance lingers, the new one has the plain identity already. */
    ids = identities(p, fp, (papi_instance *[]){ a, a2, b }, 3);
    assert_string_equal(ids[0], "apache@/tmp~Zzzz0001");
    assert_string_equal(ids[1], "apache@/tmp");
    assert_string_equal(ids[2], "apache@/tmp#200");
}

/* A server that cannot be known (no such process, a watchdog of another user, a watchdog whose
 * parent is init) comes after the known ones and is told apart by the instance's name. */
static void unknown_servers_come_last(void **state)
{
    apr_pool_t *p = *state;
    fake_proc *fp = proc_make(p);
    papi_instance *known, *gone, *foreign, *orphan;
    const char **ids;

    proc_add(fp, 300, 1, 9000);
    proc_add(fp, 301, 300, 9001);
    proc_add(fp, 401, 1, 100);          /* left behind: its parent is init */
    known = instance(p, "/reg", "Zzzz0001", "apache", 301, 5);
    gone = instance(p, "/reg", "Aaaa0002", "apache", 999, 5);
    foreign = instance(p, "/reg", "Bbbb0003", "apache", 301, 5);
    foreign->owner = getuid() + 1;      /* the watchdog is not its owner's: not believed */
    orphan = instance(p, "/reg", "Cccc0004", "apache", 401, 5);
    ids = identities(p, fp, (papi_instance *[]){ known, gone, foreign, orphan }, 4);
    assert_string_equal(ids[0], "apache@/reg");
    assert_string_equal(ids[1], "apache@/reg~Aaaa0002");
    assert_string_equal(ids[2], "apache@/reg~Bbbb0003");
    assert_string_equal(ids[3], "apache@/reg~Cccc0004");
}

/* Standalone's watchdog is a daemon: it is the server itself. */
static void standalone_is_its_own_server(void **state)
{
    apr_pool_t *p = *state;
    fake_proc *fp = proc_make(p);
    const char **ids;

    proc_add(fp, 500, 1, 7000);
    proc_add(fp, 600, 1, 3000);
    ids = identities(p, fp, (papi_instance *[]){
        instance(p, "/reg", "Aaaa0001", "standalone", 500, 1),
        instance(p, "/reg", "Bbbb0002", "standalone", 600, 1) }, 2);
    assert_string_equal(ids[0], "standalone@/reg#500");
    assert_string_equal(ids[1], "standalone@/reg");
}

/* Whatever the registries are called, no two instances share an identity. */
static void always_unique(void **state)
{
    apr_pool_t *p = *state;
    fake_proc *fp = proc_make(p);
    const char **ids;

    proc_add(fp, 5, 1, 10);
    proc_add(fp, 6, 5, 11);
    proc_add(fp, 7, 1, 20);
    proc_add(fp, 8, 7, 21);
    ids = identities(p, fp, (papi_instance *[]){
        instance(p, "/a", "Aaaa0001", "apache", 6, 1),
        instance(p, "/a", "Bbbb0002", "apache", 8, 1),
        instance(p, "/a#7", "Cccc0003", "apache", 6, 1),
        instance(p, "/a~Dddd0004", "Eeee0005", "apache", 8, 1),
        instance(p, "/a", "Dddd0004", "apache", 999, 1) }, 5);
    assert_string_equal(ids[0], "apache@/a");
    assert_string_equal(ids[2], "apache@/a#7");
    assert_string_equal(ids[1], "apache@/a#7~Bbbb0002");
    assert_string_equal(ids[3], "apache@/a~Dddd0004");
    assert_string_equal(ids[4], "apache@/a~Dddd0004~Dddd0004");
}

PAPI_TEST_MAIN(
    PAPI_TEST(procstat_fields),
    PAPI_TEST(procstat_refused),
    PAPI_TEST(plain_identities),
    PAPI_TEST(older_server_keeps_the_plain_identity),
    PAPI_TEST(unknown_servers_come_last),
    PAPI_TEST(standalone_is_its_own_server),
    PAPI_TEST(always_unique))
