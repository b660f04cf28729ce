/* What a child remembers of instances: the same classification as a fresh scan, and forgotten the
 * moment it stops being true (lock released, core.pid rewritten, directory replaced or gone), with
 * credentials wiped and connections closed; change times trusted only once settled. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_instcache.h"
#include "papi_answer.h"

#include <errno.h>
#include <sys/socket.h>

#define INSTANCE "passenger.aaaaaaa"

typedef struct world {
    apr_pool_t *p;
    const char *registry;
    const char *dir;
    int lock_fd;
    apr_array_header_t *registries;
    papi_trust trust;
} world;

static const uid_t root_uid = 0, other_uid = 12345;

static world make_world(apr_pool_t *p)
{
    world w = { p, papi_fx_tempdir(p), NULL, -1, apr_array_make(p, 1, sizeof(const char *)),
                { &root_uid, 1 } };

    w.dir = papi_fx_instance(p, w.registry, INSTANCE);
    w.lock_fd = papi_fx_hold_lock(p, w.dir);
    APR_ARRAY_PUSH(w.registries, const char *) = w.registry;
    return w;
}

static void end_world(world *w)
{
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    papi_fx_remove(w->p, w->registry);
}

/* A request's scan, in a pool of its own that is gone when the scan's result has been checked:
 * nothing the cache keeps may point into it. */
static const papi_instance *scan_one(papi_instcache *c, world *w, apr_pool_t **req)
{
    apr_array_header_t *found;

    if (*req)
        apr_pool_destroy(*req);
    apr_pool_create(req, w->p);
    found = papi_instcache_scan(c, *req, w->registries, &w->trust, NULL, NULL);
    return found->nelts == 1 ? APR_ARRAY_IDX(found, 0, const papi_instance *) : NULL;
}

/* File times on this filesystem tick coarsely: a change made right after a read could carry the
 * same times. Tests made with settle 0 wait a little before changing anything. */
static void tick(void)
{
    usleep(30 * 1000);
}

static void rewrite_in_place(world *w, const char *file, const char *text)
{
    tick();
    papi_fx_write(w->dir, file, text, 0644);
}

static const char *renamed_properties(apr_pool_t *p, const char *name)
{
    const char *props = PAPI_GOOD_PROPERTIES;
    const char *at = strstr(props, "UKbNs4kX");

    return apr_pstrcat(p, apr_pstrmemdup(p, props, (apr_size_t)(at - props)), name,
                       at + strlen("UKbNs4kX"), NULL);
}

/* 1: the other end of a socketpair was closed. */
static int closed_by_cache(int fd)
{
    char c;

    return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

/* What papi_answer_instance writes for inst. */
static const char *papi_answer_text(apr_pool_t *p, const papi_instance *inst)
{
    papi_buf *b = papi_buf_make(p, 256);

    papi_answer_instance(b, inst);
    return b->data;
}

static void same_answers_as_a_fresh_scan(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    apr_array_header_t *fresh, *cached;
    int round, i;

    papi_fx_instance(p, w.registry, "passenger.stale00");                  /* no lock held */
    papi_fx_instance(p, w.registry, "passenger.notfini");
    unlink(apr_pstrcat(p, w.registry, "/passenger.notfini/creation_finalized", NULL));
    assert_int_equal(symlink(w.dir, apr_pstrcat(p, w.registry, "/passenger.linked0", NULL)), 0);
    for (round = 0; round < 3; round++) {
        if (req)
            apr_pool_destroy(req);
        apr_pool_create(&req, p);
        fresh = papi_registry_scan(req, w.registries, &w.trust, NULL, NULL);
        cached = papi_instcache_scan(c, req, w.registries, &w.trust, NULL, NULL);
        assert_int_equal(cached->nelts, 4);
        assert_int_equal(fresh->nelts, cached->nelts);
        for (i = 0; i < fresh->nelts; i++) {
            const papi_instance *a = APR_ARRAY_IDX(fresh, i, const papi_instance *);
            const papi_instance *b = APR_ARRAY_IDX(cached, i, const papi_instance *);
            assert_string_equal(a->path, b->path);
            assert_int_equal(a->state, b->state);
            assert_int_equal(a->core_pid, b->core_pid);
            assert_true(a->reason == b->reason || !strcmp(a->reason, b->reason));
            assert_true(a->properties ? json_equal(a->properties, b->properties)
                                      : !b->properties);
            /* The JSON kept with it is the one an uncached answer would make. */
            assert_null(a->json);
            assert_string_equal(papi_answer_text(req, b), papi_answer_text(req, a));
        }
    }
    apr_pool_destroy(req);
    end_world(&w);
}

/* Unchanged times: nothing is read again (an in-place rewrite of properties.json, which Passenger
 * never does, stays unseen); a change in the directory: read again. */
static void kept_while_the_directory_is_unchanged(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const papi_instance *inst = scan_one(c, &w, &req);

    assert_string_equal(inst->name, "UKbNs4kX");
    rewrite_in_place(&w, "properties.json", renamed_properties(p, "Renamed1"));
    assert_string_equal(scan_one(c, &w, &req)->name, "UKbNs4kX");
    papi_fx_write(w.dir, "something_new", "", 0644);
    assert_string_equal(scan_one(c, &w, &req)->name, "Renamed1");
    apr_pool_destroy(req);
    end_world(&w);
}

/* Every instance taken from the cache is a hit, every one inspected afresh a miss. */
static void hits_and_misses_are_counted(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const char *why = NULL;
    papi_stats *stats = papi_stats_create(p, &why);
    papi_stats_view seen;

    papi_instcache_count_in(c, stats);
    scan_one(c, &w, &req);
    scan_one(c, &w, &req);
    scan_one(c, &w, &req);
    tick();
    papi_fx_write(w.dir, "something_new", "", 0644);
    scan_one(c, &w, &req);
    papi_stats_read(stats, &seen);
    assert_int_equal(seen.counter[PAPI_STAT_CACHE_MISSES], 2);
    assert_int_equal(seen.counter[PAPI_STAT_CACHE_HITS], 2);
    apr_pool_destroy(req);
    end_world(&w);
}

static void lock_released_is_stale_at_once(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);

    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_GOOD);
    close(w.lock_fd);
    w.lock_fd = -1;
    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_STALE);
    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_STALE);
    w.lock_fd = papi_fx_hold_lock(p, w.dir);
    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_GOOD);
    apr_pool_destroy(req);
    end_world(&w);
}

static void core_pid_rewritten_in_place_is_seen(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);

    assert_int_equal(scan_one(c, &w, &req)->core_pid, 3399);
    assert_non_null(strstr(scan_one(c, &w, &req)->json, "\"core_pid\":3399"));
    rewrite_in_place(&w, "core.pid", "4242");
    assert_int_equal(scan_one(c, &w, &req)->core_pid, 4242);
    /* Its JSON too: made again with the instance. */
    assert_non_null(strstr(scan_one(c, &w, &req)->json, "\"core_pid\":4242"));
    apr_pool_destroy(req);
    end_world(&w);
}

/* A directory renamed over the old one is another instance: the old one's credential and
 * connections are not its own. Then it disappears: nothing is left. */
static void replaced_or_gone_forgets_everything(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const papi_instance *inst = scan_one(c, &w, &req);
    const char *next = apr_pstrcat(p, w.registry, "/passenger.next000", NULL);
    int pair[2], next_lock;

    papi_instcache_keep_password(c, inst, PAPI_CRED_RO, "old-secret");
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    papi_instcache_give_connection(c, inst, pair[0]);
    assert_false(closed_by_cache(pair[1]));
    assert_string_equal(papi_instcache_password(c, req, inst, PAPI_CRED_RO), "old-secret");

    papi_fx_instance(p, w.registry, "passenger.next000");
    papi_fx_write(next, "properties.json", renamed_properties(p, "NextOne1"), 0644);
    next_lock = papi_fx_hold_lock(p, next);
    tick();
    assert_int_equal(rename(w.dir, apr_pstrcat(p, w.dir, "-old", NULL)), 0);
    assert_int_equal(rename(next, w.dir), 0);
    inst = scan_one(c, &w, &req);
    assert_string_equal(inst->name, "NextOne1");
    assert_null(papi_instcache_password(c, req, inst, PAPI_CRED_RO));
    assert_int_equal(papi_instcache_take_connection(c, inst), -1);
    assert_true(closed_by_cache(pair[1]));
    close(pair[1]);

    papi_instcache_keep_password(c, inst, PAPI_CRED_RO, "next-secret");
    papi_fx_remove(p, w.dir);
    assert_null(scan_one(c, &w, &req));
    assert_null(papi_instcache_password(c, req, inst, PAPI_CRED_RO));
    close(next_lock);
    apr_pool_destroy(req);
    end_world(&w);
}

static void credentials_per_level_and_forgotten_when_refused(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const papi_instance *inst = scan_one(c, &w, &req);
    papi_instance stale = *inst;

    assert_null(papi_instcache_password(c, req, inst, PAPI_CRED_RO));
    papi_instcache_keep_password(c, inst, PAPI_CRED_RO, "ro-secret");
    assert_string_equal(papi_instcache_password(c, req, inst, PAPI_CRED_RO), "ro-secret");
    assert_null(papi_instcache_password(c, req, inst, PAPI_CRED_FULL));
    papi_instcache_keep_password(c, inst, PAPI_CRED_FULL, "full-secret");
    assert_string_equal(papi_instcache_password(c, req, inst, PAPI_CRED_FULL), "full-secret");
    papi_instcache_keep_password(c, inst, PAPI_CRED_RO, NULL);
    assert_null(papi_instcache_password(c, req, inst, PAPI_CRED_RO));
    assert_string_equal(papi_instcache_password(c, req, inst, PAPI_CRED_FULL), "full-secret");
    /* Only for a good instance the cache knows as such. */
    stale.state = PAPI_INST_STALE;
    assert_null(papi_instcache_password(c, req, &stale, PAPI_CRED_FULL));
    papi_instcache_keep_password(c, &stale, PAPI_CRED_RO, "never");
    assert_null(papi_instcache_password(c, req, inst, PAPI_CRED_RO));
    apr_pool_destroy(req);
    end_world(&w);
}

static void connections_newest_first_and_bounded(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const papi_instance *inst = scan_one(c, &w, &req);
    int pairs[PAPI_IDLE_PER_INSTANCE + 2][2], i;

    for (i = 0; i < PAPI_IDLE_PER_INSTANCE + 2; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]), 0);
        papi_instcache_give_connection(c, inst, pairs[i][0]);
    }
    /* No room for the last two: closed. */
    assert_true(closed_by_cache(pairs[PAPI_IDLE_PER_INSTANCE][1]));
    assert_true(closed_by_cache(pairs[PAPI_IDLE_PER_INSTANCE + 1][1]));
    assert_false(closed_by_cache(pairs[0][1]));
    assert_int_equal(papi_instcache_take_connection(c, inst), pairs[PAPI_IDLE_PER_INSTANCE - 1][0]);
    assert_int_equal(papi_instcache_take_connection(c, inst), pairs[PAPI_IDLE_PER_INSTANCE - 2][0]);
    close(pairs[PAPI_IDLE_PER_INSTANCE - 1][0]);
    close(pairs[PAPI_IDLE_PER_INSTANCE - 2][0]);
    /* Clearing closes the rest. */
    papi_instcache_clear(c);
    for (i = 0; i < PAPI_IDLE_PER_INSTANCE - 2; i++)
        assert_true(closed_by_cache(pairs[i][1]));
    assert_int_equal(papi_instcache_take_connection(c, inst), -1);
    for (i = 0; i < PAPI_IDLE_PER_INSTANCE + 2; i++)
        close(pairs[i][1]);
    /* Without a cache: given connections are closed, none is taken. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[0]), 0);
    papi_instcache_give_connection(NULL, inst, pairs[0][0]);
    assert_true(closed_by_cache(pairs[0][1]));
    close(pairs[0][1]);
    assert_int_equal(papi_instcache_take_connection(NULL, inst), -1);
    apr_pool_destroy(req);
    end_world(&w);
}

/* A core shutting down waits for its idle clients: they are closed after PAPI_IDLE_MAX_AGE even
 * when no request comes. */
static void idle_connections_are_closed_without_requests(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const papi_instance *inst = scan_one(c, &w, &req);
    apr_time_t start = apr_time_now();
    int pair[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    papi_instcache_give_connection(c, inst, pair[0]);
    while (!closed_by_cache(pair[1]) && apr_time_now() - start < 5 * PAPI_IDLE_MAX_AGE)
        usleep(20 * 1000);
    assert_true(closed_by_cache(pair[1]));
    assert_true(apr_time_now() - start >= PAPI_IDLE_MAX_AGE);
    assert_true(apr_time_now() - start < PAPI_IDLE_MAX_AGE + 4 * PAPI_IDLE_SWEEP);
    close(pair[1]);
    apr_pool_destroy(req);
    end_world(&w);
}

/* A classification depends on whom the configuration trusts. */
static void another_trust_list_classifies_again(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);

    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_GOOD);
    w.trust.uids = &other_uid;
    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_UNTRUSTED);
    w.trust.uids = &root_uid;
    assert_int_equal(scan_one(c, &w, &req)->state, PAPI_INST_GOOD);
    apr_pool_destroy(req);
    end_world(&w);
}

/* Change times younger than the settle interval are not trusted: what was read is read again
 * until they are old enough. */
static void fresh_change_times_are_not_trusted(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, PAPI_INSTCACHE_SETTLE);

    assert_string_equal(scan_one(c, &w, &req)->name, "UKbNs4kX");
    papi_fx_write(w.dir, "properties.json", renamed_properties(p, "SameTick"), 0644);
    assert_string_equal(scan_one(c, &w, &req)->name, "SameTick");
    usleep((useconds_t)apr_time_as_msec(PAPI_INSTCACHE_SETTLE) * 1000 + 200 * 1000);
    assert_string_equal(scan_one(c, &w, &req)->name, "SameTick");
    papi_fx_write(w.dir, "properties.json", renamed_properties(p, "Unseen00"), 0644);
    assert_string_equal(scan_one(c, &w, &req)->name, "SameTick");
    apr_pool_destroy(req);
    end_world(&w);
}

/* Without a cache, scanning is the plain scan. */
static void no_cache_is_a_plain_scan(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);

    assert_int_equal(scan_one(NULL, &w, &req)->state, PAPI_INST_GOOD);
    assert_null(papi_instcache_password(NULL, req, scan_one(NULL, &w, &req), PAPI_CRED_RO));
    apr_pool_destroy(req);
    end_world(&w);
}

/* A registry beyond the bound: the cached listing stays bounded, the real instance is found, and
 * the warning comes once per cache (per child), not once per request. */
static void overflow_listed_bounded_and_warned_once(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    apr_array_header_t *found, *warnings;
    int round, i, n = 2 * PAPI_REGISTRY_BOUND;

    for (i = 0; i < n; i++) {
        const char *dir = apr_psprintf(p, "%s/passenger.f%05d", w.registry, i);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(chown(dir, other_uid, other_uid), 0);
    }
    tick();
    for (round = 0; round < 3; round++) {
        if (req)
            apr_pool_destroy(req);
        apr_pool_create(&req, p);
        warnings = apr_array_make(req, 1, sizeof(const char *));
        found = papi_instcache_scan(c, req, w.registries, &w.trust, NULL, warnings);
        assert_int_equal(found->nelts, PAPI_REGISTRY_BOUND + 1);
        assert_int_equal(warnings->nelts, round == 0);
        for (i = 0; i < found->nelts; i++)
            if (!papi_instance_is_summary(APR_ARRAY_IDX(found, i, papi_instance *))
                && !strcmp(APR_ARRAY_IDX(found, i, papi_instance *)->dirname, INSTANCE))
                break;
        assert_true(i < found->nelts);
        assert_int_equal(APR_ARRAY_IDX(found, i, papi_instance *)->state, PAPI_INST_GOOD);
        assert_int_equal(APR_ARRAY_IDX(found, found->nelts - 1, papi_instance *)->more_untrusted,
                         n - (PAPI_REGISTRY_BOUND - 1));
    }
    apr_pool_destroy(req);
    end_world(&w);
}

/* The agents.s kept since the inspection is what a call goes through, even once the directory
 * has been renamed away and another put in its place. */
static void agents_kept_from_the_inspection(void **state)
{
    apr_pool_t *p = *state, *req = NULL;
    world w = make_world(p);
    papi_instcache *c = papi_instcache_create(p, 0);
    const papi_instance *inst = scan_one(c, &w, &req);
    const char *why = NULL;
    struct stat before, now;
    int fd;

    assert_int_equal(stat(apr_pstrcat(p, w.dir, "/agents.s", NULL), &before), 0);
    assert_int_equal(rename(w.dir, apr_pstrcat(p, w.registry, "/passenger.moved00", NULL)), 0);
    papi_fx_instance(p, w.registry, INSTANCE);
    fd = papi_instcache_agents(c, req, inst, &why);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &now), 0);
    assert_int_equal(now.st_ino, before.st_ino);
    /* Without a cache, it is opened again from the path: refused, as the directory was replaced. */
    assert_int_equal(papi_instcache_agents(NULL, req, inst, &why), -1);
    assert_non_null(strstr(why, "replaced"));
    apr_pool_destroy(req);
    end_world(&w);
}

PAPI_TEST_MAIN(
    PAPI_TEST(same_answers_as_a_fresh_scan),
    PAPI_TEST(kept_while_the_directory_is_unchanged),
    PAPI_TEST(hits_and_misses_are_counted),
    PAPI_TEST(lock_released_is_stale_at_once),
    PAPI_TEST(core_pid_rewritten_in_place_is_seen),
    PAPI_TEST(replaced_or_gone_forgets_everything),
    PAPI_TEST(credentials_per_level_and_forgotten_when_refused),
    PAPI_TEST(connections_newest_first_and_bounded),
    PAPI_TEST(idle_connections_are_closed_without_requests),
    PAPI_TEST(another_trust_list_classifies_again),
    PAPI_TEST(fresh_change_times_are_not_trusted),
    PAPI_TEST(no_cache_is_a_plain_scan),
    PAPI_TEST(overflow_listed_bounded_and_warned_once),
    PAPI_TEST(agents_kept_from_the_inspection))
