/* The password rules and the helper's answers: only a good instance found in its own configured
 * registries, only a plain single-link file of the right owner and mode. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_fakeserver.h"
#include "papi_cred.h"

static const uid_t root_only[] = { 0 };

/* The instance as inspected now (its state does not matter here: its identity does). */
static const papi_instance *inspected(apr_pool_t *p, const char *reg)
{
    static const papi_trust root = { root_only, 1 };

    return papi_instance_inspect(p, reg, "passenger.AbC1234", &root);
}

static const char *read_ro(apr_pool_t *p, const char *reg, const char **pw)
{
    return papi_cred_read(p, inspected(p, reg), PAPI_CRED_RO, pw);
}

static void reads_both_levels_and_strips_newline(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p), *pw = NULL;
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");

    assert_null(read_ro(p, reg, &pw));
    assert_string_equal(pw, "RoPassword0123456789abcd");
    assert_null(papi_cred_read(p, inspected(p, reg), PAPI_CRED_FULL, &pw));
    assert_string_equal(pw, "FullPassword0123456789ab");
    papi_fx_write(dir, "read_only_admin_password.txt", "abc\n", 0400);
    assert_null(read_ro(p, reg, &pw));
    assert_string_equal(pw, "abc");
    assert_string_equal(papi_cred_user(PAPI_CRED_RO), "ro_admin");
    assert_string_equal(papi_cred_user(PAPI_CRED_FULL), "admin");
    papi_fx_remove(p, reg);
}

static void refuses_links_modes_owners_and_fifos(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p), *pw = NULL, *why;
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    const char *file = apr_pstrcat(p, dir, "/read_only_admin_password.txt", NULL);
    const char *secret = apr_pstrcat(p, reg, "/secret", NULL);
    const papi_instance *root_inst;

    papi_fx_write(reg, "secret", "TopSecret", 0600);
    unlink(file);
    assert_int_equal(symlink(secret, file), 0);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "symbolic link"));
    unlink(file);
    assert_int_equal(link(secret, file), 0);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "hard-linked"));
    unlink(file);
    papi_fx_write(dir, "read_only_admin_password.txt", "pw", 0644);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "too open"));
    unlink(file);
    assert_int_equal(mkfifo(file, 0600), 0);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "not a regular file"));
    unlink(file);
    papi_fx_write(dir, "read_only_admin_password.txt", "two words", 0600);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "character"));
    papi_fx_write(dir, "read_only_admin_password.txt", "", 0600);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "empty"));
    unlink(file);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "missing"));
    /* In a directory of a non-root owner, the file must be that owner's. */
    papi_fx_write(dir, "read_only_admin_password.txt", "pw", 0600);
    root_inst = inspected(p, reg);
    assert_int_equal(chown(dir, 12345, 12345), 0);
    assert_non_null(strstr(why = read_ro(p, reg, &pw), "owned by uid 0"));
    /* ... and the directory must still have the owner the caller checked. */
    assert_non_null(strstr(why = papi_cred_read(p, root_inst, PAPI_CRED_RO, &pw), "changed owner"));
    assert_null(pw);
    papi_fx_remove(p, reg);
}

/* A directory renamed away and another put in its place under the same name, by the same owner,
 * after the inspection: the password is the inspected instance's or none, never the newcomer's. */
static void replaced_directory_gives_no_password(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p), *pw = NULL, *why;
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    const papi_instance *inst = inspected(p, reg);

    assert_int_equal(rename(dir, apr_pstrcat(p, reg, "/passenger.Moved12", NULL)), 0);
    papi_fx_instance(p, reg, "passenger.AbC1234");
    papi_fx_write(dir, "read_only_admin_password.txt", "NewcomersPassword", 0600);
    why = papi_cred_read(p, inst, PAPI_CRED_RO, &pw);
    assert_non_null(why);
    assert_non_null(strstr(why, "replaced"));
    assert_null(pw);
    papi_fx_remove(p, reg);
}

static void helper_answers_only_for_its_own_registries(void **state)
{
    apr_pool_t *p = *state;
    const char *reg = papi_fx_tempdir(p), *other = papi_fx_tempdir(p);
    const char *dir = papi_fx_instance(p, reg, "passenger.AbC1234");
    apr_array_header_t *pats = apr_array_make(p, 1, sizeof(const char *));
    papi_cred_config cfg = { pats, { root_only, 1 }, 33, 0, 1 };
    int fd;

    papi_fx_instance(p, other, "passenger.AbC1234");
    papi_fx_hold_lock(p, apr_pstrcat(p, other, "/passenger.AbC1234", NULL));
    APR_ARRAY_PUSH(pats, const char *) = reg;
    /* Stale: the watchdog is gone. */
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 ro ", reg,
                        " passenger.AbC1234", NULL)), "NO instance is stale");
    fd = papi_fx_hold_lock(p, dir);
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 ro ", reg,
                        " passenger.AbC1234", NULL)), "OK RoPassword0123456789abcd");
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 full ", reg,
                        " passenger.AbC1234", NULL)), "NO that access level is not configured");
    cfg.allow_full = 1;
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 full ", reg,
                        " passenger.AbC1234", NULL)), "OK FullPassword0123456789ab");
    /* A good instance, but in a directory the helper was not configured with. */
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 ro ", other,
                        " passenger.AbC1234", NULL)), "NO not an instance in a configured registry");
    /* Paths smuggled through the request are refused before any file is touched. */
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 ro ", reg,
                        " ../../etc", NULL)), "NO not an instance in a configured registry");
    assert_string_equal(papi_cred_answer(p, &cfg, apr_pstrcat(p, "PAPI-CRED/1 ro ", reg,
                        "/. passenger.AbC1234", NULL)), "NO not an instance in a configured registry");
    assert_string_equal(papi_cred_answer(p, &cfg, "PAPI-CRED/1 ro"), "NO malformed request");
    assert_string_equal(papi_cred_answer(p, &cfg, "GET / HTTP/1.1"), "NO malformed request");
    assert_string_equal(papi_cred_answer(p, &cfg, ""), "NO malformed request");
    close(fd);
    papi_fx_remove(p, reg);
    papi_fx_remove(p, other);
}

/* The helper's loop, as the parent's forked helper runs it. */
static void serve_credentials(int lfd, int report, void *cfg)
{
    papi_cred_serve(lfd, cfg);
}

/* An old helper, gone without a word after taking one client, then its successor. */
static void vanish_then_serve_credentials(int lfd, int report, void *cfg)
{
    close(accept(lfd, NULL, NULL));
    papi_cred_serve(lfd, cfg);
}

static int connect_to(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    strcpy(addr.sun_path, path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
        abort();
    return fd;
}

/* A registry holding one live instance, passenger.AbC1234, and a helper for it (serve, in a
 * process of its own) on the registry's helper.sock. */
typedef struct helper {
    const char *reg, *sock;
    papi_cred_config cfg;
    int lock;
} helper;

static void helper_start(apr_pool_t *p, helper *h, papi_fake_serve_fn serve)
{
    apr_array_header_t *pats = apr_array_make(p, 1, sizeof(const char *));

    h->reg = papi_fx_tempdir(p);
    h->sock = apr_pstrcat(p, h->reg, "/helper.sock", NULL);
    h->cfg = (papi_cred_config){ pats, { root_only, 1 }, 0, 0, getpid() };
    h->lock = papi_fx_hold_lock(p, papi_fx_instance(p, h->reg, "passenger.AbC1234"));
    APR_ARRAY_PUSH(pats, const char *) = h->reg;
    papi_fake_server_start(p, h->sock, 0, serve, &h->cfg);
}

/* The helper answers the read-only password before deadline. */
static void helper_gives_ro_password(apr_pool_t *p, const helper *h, apr_time_t deadline)
{
    const char *pw = NULL;
    const char *why = papi_cred_ask(p, h->sock, PAPI_CRED_RO, h->reg, "passenger.AbC1234",
                                    deadline, &pw);

    if (why)
        fail_msg("%s", why);
    assert_string_equal(pw, "RoPassword0123456789abcd");
}

static void helper_end(apr_pool_t *p, const helper *h)
{
    close(h->lock);
    papi_fx_remove(p, h->reg);
}

/* A client that connects and says nothing must not hold up the others, and is cut off. */
static void helper_serves_others_while_one_stalls(void **state)
{
    apr_pool_t *p = *state;
    helper h;
    int stalled;
    apr_time_t t0;
    char c;

    helper_start(p, &h, serve_credentials);
    stalled = connect_to(h.sock);
    t0 = apr_time_now();
    helper_gives_ro_password(p, &h, t0 + apr_time_from_sec(3));
    assert_true(apr_time_now() - t0 < apr_time_from_msec(500));
    /* The silent client is closed by its own deadline. */
    assert_int_equal(recv(stalled, &c, 1, 0), 0);
    assert_true(apr_time_now() - t0 < apr_time_from_sec(3));
    close(stalled);
    helper_end(p, &h);
}

/* A helper stopped with our question in its queue (a graceful restart): asked again, its
 * successor answers. */
static void question_asked_again_when_the_helper_goes_away(void **state)
{
    apr_pool_t *p = *state;
    helper h;

    helper_start(p, &h, vanish_then_serve_credentials);
    helper_gives_ro_password(p, &h, apr_time_now() + apr_time_from_sec(3));
    helper_end(p, &h);
}

PAPI_TEST_MAIN(
    PAPI_TEST(reads_both_levels_and_strips_newline),
    PAPI_TEST(refuses_links_modes_owners_and_fifos),
    PAPI_TEST(replaced_directory_gives_no_password),
    PAPI_TEST(helper_answers_only_for_its_own_registries),
    PAPI_TEST(helper_serves_others_while_one_stalls),
    PAPI_TEST(question_asked_again_when_the_helper_goes_away))
