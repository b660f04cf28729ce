/* Registry scan and instance states, from crafted directories. Runs as root (CI does), so it can
 * give directories other owners. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_registry.h"

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
    found = papi_registry_scan(p, regs, &trust_root, notes);
    assert_int_equal(found->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(found, 0, papi_instance *)->dirname, "passenger.Aaa0000");
    assert_string_equal(APR_ARRAY_IDX(found, 1, papi_instance *)->dirname, "passenger.Zzz0000");
    assert_int_equal(notes->nelts, 1);
    assert_non_null(strstr(APR_ARRAY_IDX(notes, 0, const char *), "/nonexistent/papi-registry"));
    papi_fx_remove(p, reg);
}

static void expand_globs_narrow_and_dedupe(void **state)
{
    apr_pool_t *p = *state;
    const char *top = papi_fx_tempdir(p);
    apr_array_header_t *pats = apr_array_make(p, 3, sizeof(const char *)), *dirs;

    mkdir(apr_pstrcat(p, top, "/b", NULL), 0755);
    mkdir(apr_pstrcat(p, top, "/a", NULL), 0755);
    mkdir(apr_pstrcat(p, top, "/.hidden", NULL), 0755);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
        PAPI_TEST(expand_globs_narrow_and_dedupe),
        PAPI_TEST(pattern_errors),
        PAPI_TEST(unsafe_registry_directories),
        PAPI_TEST(default_patterns_follow_passenger),
        PAPI_TEST(names),
    };

    return cmocka_run_group_tests_name("registry", tests, papi_test_apr_init, papi_test_apr_term);
}
