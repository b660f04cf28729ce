/* Registry scan and instance states, from crafted directories. Runs as root (CI does), so it can
 * give directories other owners. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_registry.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>

static const uid_t root_only[] = { 0 };
static const papi_trust trust_root = { root_only, 1 };

static papi_instance *inspect(apr_pool_t *p, const char *reg, const char *name)
{
    return papi_instance_inspect(p, reg, name, &trust_root);
}

static void good_when_locked_with_flock(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    int fd = papi_fx_hold_lock(p, dir);
    papi_instance *inst = inspect(p, reg, "passenger.AbC1234");

    assert_int_equal(inst->state, PAPI_INST_GOOD);
    assert_null(inst->reason);
    assert_string_equal(inst->name, "UKbNs4kX");
    assert_string_equal(inst->path, dir);
    assert_int_equal(inst->core_pid, 3399);
    assert_int_equal(inst->owner, 0);
    assert_string_equal(json_string_value(json_object_get(inst->properties, "passenger_version")),
                        "6.0.17");
    close(fd);
    papi_fx_remove(p, reg);
}

static void stale_when_lock_free(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);

    papi_fx_instance(p, reg, "passenger.AbC1234");
    assert_int_equal(inspect(p, reg, "passenger.AbC1234")->state, PAPI_INST_STALE);
    papi_fx_remove(p, reg);
}

/* The watchdog uses flock; a POSIX (fcntl) lock is not the watchdog and must not count. */
static void stale_when_only_fcntl_locked(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    int fd = open(apr_pstrcat(p, dir, "/lock", NULL), O_RDWR);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    assert_int_equal(fcntl(fd, F_SETLK, &fl), 0);
    assert_int_equal(inspect(p, reg, "passenger.AbC1234")->state, PAPI_INST_STALE);
    close(fd);
    papi_fx_remove(p, reg);
}

static void not_finalized_without_creation_finalized(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    int fd = papi_fx_hold_lock(p, dir);
    papi_instance *inst;

    unlink(apr_pstrcat(p, dir, "/creation_finalized", NULL));
    inst = inspect(p, reg, "passenger.AbC1234");
    assert_int_equal(inst->state, PAPI_INST_NOT_FINALIZED);
    assert_non_null(strstr(inst->reason, "creation_finalized"));
    close(fd);
    papi_fx_remove(p, reg);
}

static void corrupted_cases(void **state)
{
    static const struct { const char *props; const char *reason_part; } cases[] = {
        { "{not json", "not valid JSON" },
        { "[1,2]", "not a JSON object" },
        { "{\"name\":\"x\"}", "instance_dir" },
        { "{\"instance_dir\":{\"major_version\":\"4\",\"minor_version\":0}}", "major_version" },
        { "{\"instance_dir\":{\"major_version\":4,\"minor_version\":0},\"name\":\"\","
          "\"server_software\":\"a\",\"watchdog_pid\":1}", "name" },
        { "{\"instance_dir\":{\"major_version\":4,\"minor_version\":0},\"name\":\"../x\","
          "\"server_software\":\"a\",\"watchdog_pid\":1}", "letters and digits" },
        { "{\"instance_dir\":{\"major_version\":4,\"minor_version\":0},\"name\":\"abc\","
          "\"watchdog_pid\":1}", "server_software" },
        { "{\"instance_dir\":{\"major_version\":4,\"minor_version\":0},\"name\":\"abc\","
          "\"server_software\":\"a\",\"watchdog_pid\":\"1\"}", "watchdog_pid" },
        { "{\"a\":1,\"a\":2}", "not valid JSON" },
    };
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        papi_instance *inst;
        papi_fx_write(dir, "properties.json", cases[i].props, 0644);
        inst = inspect(p, reg, "passenger.AbC1234");
        assert_int_equal(inst->state, PAPI_INST_CORRUPTED);
        if (!strstr(inst->reason, cases[i].reason_part))
            fail_msg("case %zu: reason '%s' lacks '%s'", i, inst->reason, cases[i].reason_part);
    }
    papi_fx_remove(p, reg);
}

static void corrupted_when_parts_missing(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");

    rmdir(apr_pstrcat(p, dir, "/apps.s", NULL));
    assert_int_equal(inspect(p, reg, "passenger.AbC1234")->state, PAPI_INST_CORRUPTED);
    papi_fx_instance(p, reg, "passenger.AbC1234");
    unlink(apr_pstrcat(p, dir, "/properties.json", NULL));
    assert_non_null(strstr(inspect(p, reg, "passenger.AbC1234")->reason, "missing"));
    papi_fx_remove(p, reg);
}

static void unsupported_major_version(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    papi_instance *inst;

    papi_fx_write(dir, "properties.json", "{\"instance_dir\":{\"major_version\":3,\"minor_version\":0},"
                  "\"name\":\"abc\",\"server_software\":\"a\",\"watchdog_pid\":1}", 0644);
    inst = inspect(p, reg, "passenger.AbC1234");
    assert_int_equal(inst->state, PAPI_INST_UNSUPPORTED);
    if (!strstr(inst->reason, "version 3"))
        fail_msg("reason: %s", inst->reason);
    papi_fx_remove(p, reg);
}

/* Shared /tmp: another user's directory, or a link, is never trusted or read. */
static void untrusted_owner_link_and_open_mode(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.Other12");
    papi_instance *inst;

    assert_int_equal(chown(dir, 12345, 12345), 0);
    inst = inspect(p, reg, "passenger.Other12");
    assert_int_equal(inst->state, PAPI_INST_UNTRUSTED);
    assert_non_null(strstr(inst->reason, "12345"));
    assert_null(inst->properties);

    assert_int_equal(symlink(dir, apr_pstrcat(p, reg, "/passenger.Link123", NULL)), 0);
    assert_int_equal(inspect(p, reg, "passenger.Link123")->state, PAPI_INST_UNTRUSTED);

    dir = papi_fx_instance(p, reg, "passenger.Open123");
    chmod(dir, 0777);
    assert_int_equal(inspect(p, reg, "passenger.Open123")->state, PAPI_INST_UNTRUSTED);
    papi_fx_remove(p, reg);
}

static void properties_symlink_or_fifo_refused(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    const char *props = apr_pstrcat(p, dir, "/properties.json", NULL);
    papi_instance *inst;

    unlink(props);
    assert_int_equal(symlink("/etc/passwd", props), 0);
    inst = inspect(p, reg, "passenger.AbC1234");
    assert_int_equal(inst->state, PAPI_INST_CORRUPTED);
    assert_non_null(strstr(inst->reason, "symbolic link"));
    unlink(props);
    assert_int_equal(mkfifo(props, 0644), 0);
    inst = inspect(p, reg, "passenger.AbC1234");     /* must not hang */
    assert_int_equal(inst->state, PAPI_INST_CORRUPTED);
    assert_non_null(strstr(inst->reason, "not a regular file"));
    papi_fx_remove(p, reg);
}

static void scan_orders_and_skips_non_candidates(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    apr_array_header_t *regs = apr_array_make(p, 2, sizeof(const char *)), *found, *notes;

    papi_fx_instance(p, reg, "passenger.Zzz0000");
    papi_fx_instance(p, reg, "passenger.Aaa0000");
    mkdir(apr_pstrcat(p, reg, "/passenger.bad-name", NULL), 0755);
    mkdir(apr_pstrcat(p, reg, "/other", NULL), 0755);
    papi_fx_write(reg, "passenger.File000", "", 0644);
    APR_ARRAY_PUSH(regs, const char *) = reg;
    APR_ARRAY_PUSH(regs, const char *) = "/nonexistent/papi-registry";
    notes = apr_array_make(p, 1, sizeof(const char *));
    found = papi_registry_scan(p, regs, &trust_root, notes, NULL);
    assert_int_equal(found->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(found, 0, papi_instance *)->dirname, "passenger.Aaa0000");
    assert_string_equal(APR_ARRAY_IDX(found, 1, papi_instance *)->dirname, "passenger.Zzz0000");
    assert_int_equal(notes->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(notes, 0, const char *), "/nonexistent/papi-registry"));
    papi_fx_remove(p, reg);
}

/* n empty directories named passenger.<prefix><number> owned by uid. */
static void make_dirs(apr_pool_t *p, const char *reg, const char *prefix, int n, uid_t uid)
{
    int i;

    for (i = 0; i < n; i++) {
        const char *dir = apr_psprintf(p, "%s/passenger.%s%05d", reg, prefix, i);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(chown(dir, uid, uid), 0);
    }
}

static const papi_instance *find(const apr_array_header_t *found, const char *dirname)
{
    int i;

    for (i = 0; i < found->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(found, i, const papi_instance *);
        if (inst->dirname && !strcmp(inst->dirname, dirname))
            return inst;
    }
    return NULL;
}

/* Far more foreign directories than the bound, made after the real instance and named to come
 * before it: root's instance is still found good, the answer holds the bound's worth of entries
 * and one summary, and one warning says so. */
static void bounded_scan_still_finds_roots_instance(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.zzRoot1");
    int lock = papi_fx_hold_lock(p, dir), n = 5 * PAPI_REGISTRY_BOUND, i;
    apr_array_header_t *regs = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *warnings = apr_array_make(p, 1, sizeof(const char *)), *found;
    const papi_instance *last;

    chmod(reg, 01777);
    make_dirs(p, reg, "aa", n, 12345);
    APR_ARRAY_PUSH(regs, const char *) = reg;
    found = papi_registry_scan(p, regs, &trust_root, NULL, warnings);
    assert_int_equal(found->nelts, PAPI_REGISTRY_BOUND + 1);
    assert_non_null(find(found, "passenger.zzRoot1"));
    assert_int_equal(find(found, "passenger.zzRoot1")->state, PAPI_INST_GOOD);
    /* The untrusted ones shown are the first in name order, with their reason. */
    assert_string_equal(APR_ARRAY_IDX(found, 0, papi_instance *)->dirname, "passenger.aa00000");
    for (i = 0; i < PAPI_REGISTRY_BOUND - 1; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(found, i, papi_instance *);
        assert_int_equal(inst->state, PAPI_INST_UNTRUSTED);
        assert_non_null(strstr(inst->reason, "uid 12345"));
        assert_string_equal(inst->dirname, apr_psprintf(p, "passenger.aa%05d", i));
    }
    last = APR_ARRAY_IDX(found, PAPI_REGISTRY_BOUND, papi_instance *);
    assert_true(papi_instance_is_summary(last));
    assert_int_equal(last->state, PAPI_INST_UNTRUSTED);
    assert_string_equal(last->path, reg);
    assert_int_equal(last->more_untrusted, n - (PAPI_REGISTRY_BOUND - 1));
    assert_int_equal(last->more_uninspected, 0);
    assert_int_equal(warnings->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(warnings, 0, const char *), reg));
    close(lock);
    papi_fx_remove(p, reg);
}

/* Trusted owners with more candidates than the bound share it: the httpd User's directories,
 * however many and however new, cannot push root's instances out. Each owner's newest first. */
static void trusted_owners_share_the_bound(void **state)
{
    static const uid_t two[] = { 0, 33 };
    static const papi_trust trust_two = { two, 2 };
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    int many = 3 * PAPI_REGISTRY_BOUND, i, root_seen = 0;
    papi_registry_listing *l;

    papi_fx_instance(p, reg, "passenger.zzRoot1");
    papi_fx_instance(p, reg, "passenger.zzRoot2");
    make_dirs(p, reg, "ww", many, 33);
    l = papi_registry_list(p, reg, &trust_two, NULL);
    assert_non_null(l);
    assert_int_equal(l->inspect->nelts, PAPI_REGISTRY_BOUND);
    assert_int_equal(l->more_trusted, many + 2 - PAPI_REGISTRY_BOUND);
    assert_int_equal(l->refused->nelts, 0);
    for (i = 0; i < l->inspect->nelts; i++)
        root_seen += !strncmp(APR_ARRAY_IDX(l->inspect, i, const char *), "passenger.zzRoot", 16);
    assert_int_equal(root_seen, 2);
    /* In name order, for the answer. */
    for (i = 1; i < l->inspect->nelts; i++)
        assert_true(strcmp(APR_ARRAY_IDX(l->inspect, i - 1, const char *),
                           APR_ARRAY_IDX(l->inspect, i, const char *)) < 0);
    papi_fx_remove(p, reg);
}

/* What fstatat shows is enough to distrust: another type, another device, another owner. */
static void distrust_from_status_alone(void **state)
{
    apr_pool_t *p = *state;
    struct stat reg = { .st_dev = 1, .st_mode = S_IFDIR | 01777 };
    struct stat dir = { .st_dev = 1, .st_mode = S_IFDIR | 0755, .st_uid = 0 };

    assert_null(papi_instance_distrust(p, &reg, &dir, &trust_root));
    dir.st_dev = 2;
    assert_non_null(strstr(papi_instance_distrust(p, &reg, &dir, &trust_root), "another device"));
    dir.st_dev = 1;
    dir.st_uid = 12345;
    assert_non_null(strstr(papi_instance_distrust(p, &reg, &dir, &trust_root), "uid 12345"));
    dir.st_uid = 0;
    dir.st_mode = S_IFLNK | 0777;
    assert_non_null(strstr(papi_instance_distrust(p, &reg, &dir, &trust_root), "symbolic link"));
}

/* A file system mounted on an instance directory (a user's FUSE mount claiming uid 0: here a
 * tmpfs, which needs root to mount) is untrusted however good it looks. Skipped where mounting is
 * not allowed. */
static void mount_point_is_untrusted(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);
    const char *dir = apr_pstrcat(p, reg, "/passenger.Mount12", NULL);
    papi_registry_listing *l;
    papi_instance *inst;
    int lock;

    assert_int_equal(mkdir(dir, 0755), 0);
    if (mount("papi-unit", dir, "tmpfs", 0, "mode=0755,uid=0") != 0) {
        papi_fx_remove(p, reg);
        skip();
    }
    papi_fx_instance(p, reg, "passenger.Mount12");
    lock = papi_fx_hold_lock(p, dir);
    inst = inspect(p, reg, "passenger.Mount12");
    assert_int_equal(inst->state, PAPI_INST_UNTRUSTED);
    assert_non_null(strstr(inst->reason, "another device"));
    assert_null(inst->properties);
    l = papi_registry_list(p, reg, &trust_root, NULL);
    assert_int_equal(l->inspect->nelts, 0);
    assert_int_equal(l->refused->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(l->refused, 0, papi_instance *)->reason, "another device"));
    close(lock);
    assert_int_equal(umount(dir), 0);
    papi_fx_remove(p, reg);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

    strcpy(addr.sun_path, path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 4))
        abort();
    return fd;
}

/* Whether a connection is waiting on listener fd (taken and closed if so). */
static int connection_waiting(int fd)
{
    int c = accept(fd, NULL, NULL);

    if (c < 0)
        return 0;
    close(c);
    return 1;
}

/* The instance directory is renamed away after its inspection and another, with a socket of its
 * own, takes its name: the core socket reached through agents.s is still the inspected one's, and
 * agents.s cannot be opened again from the path. */
static void core_socket_stays_with_the_inspected_directory(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p), *why = NULL, *path;
    const char *dir = papi_fx_instance(p, reg, "passenger.Swap123");
    int lock = papi_fx_hold_lock(p, dir), real, planted, agents, c;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    papi_instance *inst;

    real = listen_unix(apr_pstrcat(p, dir, "/agents.s/core_api", NULL));
    inst = inspect(p, reg, "passenger.Swap123");
    assert_int_equal(inst->state, PAPI_INST_GOOD);
    agents = papi_instance_agents_open(p, inst, &why);
    assert_true(agents >= 0);
    assert_int_equal(rename(dir, apr_pstrcat(p, reg, "/passenger.Away123", NULL)), 0);
    papi_fx_instance(p, reg, "passenger.Swap123");
    planted = listen_unix(apr_pstrcat(p, dir, "/agents.s/core_api", NULL));

    path = papi_instance_core_socket(p, inst, agents);
    assert_non_null(path);
    assert_non_null(strstr(path, "/proc/self/fd/"));
    strcpy(addr.sun_path, path);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_true(connection_waiting(real));
    assert_false(connection_waiting(planted));
    close(c);
    assert_int_equal(papi_instance_agents_open(p, inst, &why), -1);
    assert_non_null(strstr(why, "replaced"));
    close(agents);
    close(real);
    close(planted);
    close(lock);
    papi_fx_remove(p, reg);
}

/* agents.s must be the instance owner's own directory, writable by no one else. */
static void agents_directory_is_checked(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p), *why = NULL;
    const char *dir = papi_fx_instance(p, reg, "passenger.Agent12");
    const char *agents = apr_pstrcat(p, dir, "/agents.s", NULL);
    int lock = papi_fx_hold_lock(p, dir), fd;
    papi_instance *inst = inspect(p, reg, "passenger.Agent12");

    assert_true((fd = papi_instance_agents_open(p, inst, &why)) >= 0);
    close(fd);
    chmod(agents, 0777);
    assert_int_equal(papi_instance_agents_open(p, inst, &why), -1);
    assert_non_null(strstr(why, "only it can write"));
    chmod(agents, 0755);
    assert_int_equal(chown(agents, 12345, 12345), 0);
    assert_int_equal(papi_instance_agents_open(p, inst, &why), -1);
    rmdir(agents);
    assert_int_equal(symlink("/tmp", agents), 0);
    assert_int_equal(papi_instance_agents_open(p, inst, &why), -1);
    assert_non_null(strstr(why, "cannot be opened"));
    close(lock);
    papi_fx_remove(p, reg);
}

/* Directories below top, named in the space-separated names (parents first). */
static void mkdirs_below(apr_pool_t *p, const char *top, const char *names)
{
    char *copy = apr_pstrdup(p, names), *last, *name;

    for (name = apr_strtok(copy, " ", &last); name; name = apr_strtok(NULL, " ", &last))
        assert_int_equal(mkdir(apr_pstrcat(p, top, "/", name, NULL), 0755), 0);
}

static void expand_globs_narrow_and_dedupe(void **state)
{
    apr_pool_t *p = *state;
    const char *top = papi_fx_tempdir(p);
    apr_array_header_t *pats = apr_array_make(p, 3, sizeof(const char *)), *dirs;

    mkdirs_below(p, top, "b a .hidden");
    papi_fx_write(top, "file", "", 0644);
    assert_int_equal(symlink("/etc", apr_pstrcat(p, top, "/link", NULL)), 0);
    APR_ARRAY_PUSH(pats, const char *) = apr_pstrcat(p, top, "/*", NULL);
    APR_ARRAY_PUSH(pats, const char *) = apr_pstrcat(p, top, "/a", NULL);
    APR_ARRAY_PUSH(pats, const char *) = "/papi-literal-missing";
    dirs = papi_registry_expand(p, pats, NULL);
    assert_int_equal(dirs->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), apr_pstrcat(p, top, "/a", NULL));
    assert_string_equal(APR_ARRAY_IDX(dirs, 1, const char *), apr_pstrcat(p, top, "/b", NULL));
    assert_string_equal(APR_ARRAY_IDX(dirs, 2, const char *), "/papi-literal-missing");

    dirs = papi_registry_expand(p, pats, apr_pstrcat(p, top, "/b/", NULL));
    assert_int_equal(dirs->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), apr_pstrcat(p, top, "/b", NULL));
    /* A narrowing glob cannot reach beyond the configured list. */
    assert_int_equal(papi_registry_expand(p, pats, "/etc")->nelts, 0);
    assert_int_equal(papi_registry_expand(p, pats, "/*")->nelts, 1);
    papi_fx_remove(p, top);
}

/* Below a glob, a literal component is taken only when it is a real directory: whoever owns the
 * directory the glob matched could have made it a link to anywhere. */
static void expand_never_follows_a_link_below_a_glob(void **state)
{
    apr_pool_t *p = *state;
    const char *top = papi_fx_tempdir(p);
    apr_array_header_t *pats = apr_array_make(p, 1, sizeof(const char *)), *dirs;

    mkdirs_below(p, top, "a a/reg b c");
    assert_int_equal(symlink("/etc", apr_pstrcat(p, top, "/b/reg", NULL)), 0);
    APR_ARRAY_PUSH(pats, const char *) = apr_pstrcat(p, top, "/*/reg", NULL);
    dirs = papi_registry_expand(p, pats, NULL);
    assert_int_equal(dirs->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), apr_pstrcat(p, top, "/a/reg", NULL));
    papi_fx_remove(p, top);
}

static apr_array_header_t *list_of(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *list = apr_array_make(p, 2, sizeof(const char *));

    APR_ARRAY_PUSH(list, const char *) = a;
    if (b)
        APR_ARRAY_PUSH(list, const char *) = b;
    return list;
}

/* PassengerApiRegistryOverride: off ignores the header, on narrows the configured registries,
 * GLOB... lets the header replace them within what the GLOBs name, and never beyond. */
static void the_registry_header_as_each_mode_reads_it(void **state)
{
    apr_pool_t *p = *state;
    const char *top = papi_fx_tempdir(p), *why;
    const char *conf = apr_pstrcat(p, top, "/conf", NULL), *x = apr_pstrcat(p, top, "/o/x", NULL);
    const char *y = apr_pstrcat(p, top, "/o/y", NULL);
    papi_registry_override o = { PAPI_OVERRIDE_OFF, list_of(p, conf, NULL),
                                 list_of(p, apr_pstrcat(p, top, "/o/*", NULL), NULL), NULL };
    apr_array_header_t *dirs;

    mkdirs_below(p, top, "conf o o/x o/y other");
    /* off: the header changes nothing, even a bad one. */
    dirs = papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/o/*", NULL), &why);
    assert_int_equal(dirs->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), conf);
    assert_non_null(papi_registry_for_request(p, &o, "relative", &why));
    /* on: only configured registries, those the header matches. */
    o.mode = PAPI_OVERRIDE_NARROW;
    assert_int_equal(papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/o/*", NULL),
                                               &why)->nelts, 0);
    assert_int_equal(papi_registry_for_request(p, &o, conf, &why)->nelts, 1);
    /* GLOB...: no header, the configured registries; a header replaces them. */
    o.mode = PAPI_OVERRIDE_REPLACE;
    dirs = papi_registry_for_request(p, &o, NULL, &why);
    assert_int_equal(dirs->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), conf);
    dirs = papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/o/*/", NULL), &why);
    assert_int_equal(dirs->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), x);
    assert_string_equal(APR_ARRAY_IDX(dirs, 1, const char *), y);
    dirs = papi_registry_for_request(p, &o, y, &why);
    assert_int_equal(dirs->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), y);
    /* Nothing allowed named: no registry at all, not the configured ones. */
    assert_int_equal(papi_registry_for_request(p, &o, "/dummy", &why)->nelts, 0);
    assert_int_equal(papi_registry_for_request(p, &o, conf, &why)->nelts, 0);
    assert_int_equal(papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/*", NULL),
                                               &why)->nelts, 0);
    assert_int_equal(papi_registry_for_request(p, &o, "/*", &why)->nelts, 0);
    assert_int_equal(papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/o/*/*", NULL),
                                               &why)->nelts, 0);
    /* Unusable values: a reason, never a scan. */
    assert_null(papi_registry_for_request(p, &o, "o/x", &why));
    assert_non_null(strstr(why, "absolute"));
    assert_null(papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/o/x/../y", NULL), &why));
    assert_non_null(strstr(why, ".."));
    assert_null(papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/o/\x01", NULL), &why));
    assert_non_null(strstr(why, "printable"));
    papi_fx_remove(p, top);
}

/* However many directories a header's glob matches, one request scans the first 256 of them. */
static void a_replacing_header_names_a_bounded_number_of_registries(void **state)
{
    apr_pool_t *p = *state;
    const char *top = papi_fx_tempdir(p), *why;
    papi_registry_override o = { PAPI_OVERRIDE_REPLACE, list_of(p, "/nowhere", NULL),
                                 list_of(p, apr_pstrcat(p, top, "/*", NULL), NULL), NULL };
    apr_array_header_t *dirs;
    int i;

    for (i = 0; i < PAPI_OVERRIDE_DIRS_MAX + 20; i++)
        mkdirs_below(p, top, apr_psprintf(p, "r%03d", i));
    dirs = papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/r*", NULL), &why);
    assert_int_equal(dirs->nelts, PAPI_OVERRIDE_DIRS_MAX);
    assert_string_equal(APR_ARRAY_IDX(dirs, 0, const char *), apr_pstrcat(p, top, "/r000", NULL));
    dirs = papi_registry_for_request(p, &o, apr_pstrcat(p, top, "/r27?", NULL), &why);
    assert_int_equal(dirs->nelts, 6);
    papi_fx_remove(p, top);
}

static const char *parse(apr_pool_t *p, const char *line, papi_override_mode *mode,
                         apr_array_header_t **globs)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    char *copy = apr_pstrdup(p, line), *last, *w;

    for (w = apr_strtok(copy, " ", &last); w; w = apr_strtok(NULL, " ", &last))
        APR_ARRAY_PUSH(words, const char *) = w;
    return papi_registry_override_parse(p, words, mode, globs);
}

static void override_directive_words(void **state)
{
    apr_pool_t *p = *state;
    papi_override_mode mode;
    apr_array_header_t *globs;

    assert_null(parse(p, "off", &mode, &globs));
    assert_int_equal(mode, PAPI_OVERRIDE_OFF);
    assert_null(globs);
    assert_null(parse(p, "On", &mode, &globs));
    assert_int_equal(mode, PAPI_OVERRIDE_NARROW);
    assert_null(parse(p, "/srv/*/reg/ /tmp/* /srv/*/reg", &mode, &globs));
    assert_int_equal(mode, PAPI_OVERRIDE_REPLACE);
    assert_int_equal(globs->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(globs, 0, const char *), "/srv/*/reg");
    assert_string_equal(APR_ARRAY_IDX(globs, 1, const char *), "/tmp/*");
    assert_non_null(strstr(parse(p, "", &mode, &globs), "one or more"));
    assert_non_null(strstr(parse(p, "on /tmp", &mode, &globs), "'on' stands alone"));
    assert_non_null(strstr(parse(p, "/tmp OFF", &mode, &globs), "'OFF' stands alone"));
    assert_non_null(strstr(parse(p, "/tmp srv/*", &mode, &globs), "not an absolute path"));
    assert_non_null(strstr(parse(p, "/srv/*/../x", &mode, &globs), ".."));
}

static void pattern_errors(void **state)
{
    apr_pool_t *p = *state;
    char longdir[100];

    assert_null(papi_registry_pattern_error(p, "/var/run/passenger-instreg"));
    assert_null(papi_registry_pattern_error(p, "/srv/*/passenger-reg"));
    assert_non_null(strstr(papi_registry_pattern_error(p, "tmp"), "absolute"));
    assert_non_null(strstr(papi_registry_pattern_error(p, "/tmp/../etc"), ".."));
    assert_non_null(strstr(papi_registry_pattern_error(p, "/tmp/.."), ".."));
    assert_null(papi_registry_pattern_error(p, "/tmp/..x"));
    memset(longdir, 'a', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    assert_non_null(strstr(papi_registry_pattern_error(p, longdir), "too long"));
}

static void unsafe_registry_directories(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p);

    assert_null(papi_registry_dir_warning(p, reg));     /* root, 0755 */
    chmod(reg, 01777);
    assert_null(papi_registry_dir_warning(p, reg));     /* like /tmp */
    chmod(reg, 0777);
    assert_non_null(strstr(papi_registry_dir_warning(p, reg), "sticky"));
    chmod(reg, 0775);
    assert_non_null(strstr(papi_registry_dir_warning(p, reg), "sticky"));
    chmod(reg, 0755);
    assert_int_equal(chown(reg, 12345, 0), 0);
    assert_non_null(strstr(papi_registry_dir_warning(p, reg), "uid 12345"));
    assert_null(papi_registry_dir_warning(p, "/nonexistent/papi"));
    papi_fx_remove(p, reg);
}

static void default_patterns_follow_passenger(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *l;

    setenv("PASSENGER_INSTANCE_REGISTRY_DIR", "/srv/reg/", 1);
    l = papi_registry_default_patterns(p);
    assert_int_equal(l->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(l, 0, const char *), "/srv/reg");
    unsetenv("PASSENGER_INSTANCE_REGISTRY_DIR");
    setenv("TMPDIR", "/tmp", 1);
    l = papi_registry_default_patterns(p);
    assert_int_equal(l->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(l, 0, const char *), "/tmp");
    assert_string_equal(APR_ARRAY_IDX(l, 1, const char *), "/var/run/passenger-instreg");
    unsetenv("TMPDIR");
}

static void names(void **state)
{
    assert_true(papi_instance_dirname_ok("passenger.wxidl3k"));
    assert_false(papi_instance_dirname_ok("passenger."));
    assert_false(papi_instance_dirname_ok("passenger.a/b"));
    assert_false(papi_instance_dirname_ok("passenger.a.b"));
    assert_false(papi_instance_dirname_ok("xpassenger.abc"));
    assert_false(papi_instance_dirname_ok("passenger.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_true(papi_instance_name_ok("UKbNs4kX"));
    assert_false(papi_instance_name_ok(""));
    assert_false(papi_instance_name_ok("UK*"));
    assert_false(papi_instance_name_ok(".."));
}

PAPI_TEST_MAIN(
    PAPI_TEST(good_when_locked_with_flock),
    PAPI_TEST(stale_when_lock_free),
    PAPI_TEST(stale_when_only_fcntl_locked),
    PAPI_TEST(not_finalized_without_creation_finalized),
    PAPI_TEST(corrupted_cases),
    PAPI_TEST(corrupted_when_parts_missing),
    PAPI_TEST(unsupported_major_version),
    PAPI_TEST(untrusted_owner_link_and_open_mode),
    PAPI_TEST(properties_symlink_or_fifo_refused),
    PAPI_TEST(scan_orders_and_skips_non_candidates),
    PAPI_TEST(bounded_scan_still_finds_roots_instance),
    PAPI_TEST(trusted_owners_share_the_bound),
    PAPI_TEST(distrust_from_status_alone),
    PAPI_TEST(mount_point_is_untrusted),
    PAPI_TEST(core_socket_stays_with_the_inspected_directory),
    PAPI_TEST(agents_directory_is_checked),
    PAPI_TEST(expand_globs_narrow_and_dedupe),
    PAPI_TEST(expand_never_follows_a_link_below_a_glob),
    PAPI_TEST(the_registry_header_as_each_mode_reads_it),
    PAPI_TEST(override_directive_words),
    PAPI_TEST(a_replacing_header_names_a_bounded_number_of_registries),
    PAPI_TEST(pattern_errors),
    PAPI_TEST(unsafe_registry_directories),
    PAPI_TEST(default_patterns_follow_passenger),
    PAPI_TEST(names))
