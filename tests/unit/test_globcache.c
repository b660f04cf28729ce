/* A child's registry globs: the expansion kept while the directories it read are unchanged, the
 * same as a fresh one the moment any of them changes (a new registry, one replaced by a link),
 * never trusted while their change times are too new to show the next change, nor for longer
 * than its maximum age, nor after a failure that may not happen again. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_globcache.h"
#include "papi_log.h"
#include "papi_registry.h"

#include <apr_thread_proc.h>
#include <ftw.h>
#include <sys/resource.h>

#define HOUR apr_time_from_sec(3600)

/* How many times the cache had a pattern expanded. */
static int expansions;

static void counting_expand(apr_pool_t *p, const char *pattern, apr_array_header_t *dirs,
                            papi_globwatch *w)
{
    __atomic_add_fetch(&expansions, 1, __ATOMIC_RELAXED);
    papi_registry_expand_pattern(p, pattern, dirs, w);
}

/* A fresh directory top for the globs, and a cache (NULL: none). */
typedef struct world {
    apr_pool_t *p;
    const char *top;
    papi_globcache *c;
} world;

static world make_world(void **state, int cached, apr_interval_time_t settle,
                        apr_interval_time_t max_age)
{
    world w = { *state, papi_fx_tempdir(*state), NULL };

    if (cached)
        w.c = papi_globcache_create(w.p, settle, max_age);
    expansions = 0;
    return w;
}

static const char *at(const world *w, const char *name)
{
    return apr_pstrcat(w->p, w->top, "/", name, NULL);
}

/* dirs as names below top, space-separated. */
static const char *names(const world *w, const apr_array_header_t *dirs)
{
    const char *text = "";
    int i;

    for (i = 0; i < dirs->nelts; i++)
        text = apr_pstrcat(w->p, text, i ? " " : "",
                           APR_ARRAY_IDX(dirs, i, const char *) + strlen(w->top) + 1, NULL);
    return text;
}

/* What the cache gives for top/pattern, from a request pool of its own that is gone afterwards
 * (nothing kept may point into it); always what a fresh, uncached expansion gives. */
static const char *cached(const world *w, const char *pattern)
{
    apr_array_header_t *patterns = apr_array_make(w->p, 1, sizeof(const char *));
    const char *got, *fresh;
    apr_pool_t *req;

    APR_ARRAY_PUSH(patterns, const char *) = at(w, pattern);
    apr_pool_create(&req, w->p);
    got = names(w, papi_globcache_expand(w->c, req, at(w, pattern), counting_expand));
    fresh = names(w, papi_registry_expand(req, patterns, NULL));
    apr_pool_destroy(req);
    assert_string_equal(got, fresh);
    return got;
}

/* The cache's answer for top/pattern, asked twice in a row. */
static void twice(const world *w, const char *pattern, const char *want)
{
    assert_string_equal(cached(w, pattern), want);
    assert_string_equal(cached(w, pattern), want);
}

static void mkdirs(const world *w, const char *list)
{
    char *copy = apr_pstrdup(w->p, list), *last, *name;

    for (name = apr_strtok(copy, " ", &last); name; name = apr_strtok(NULL, " ", &last))
        assert_int_equal(mkdir(at(w, name), 0755), 0);
}

/* Sets a directory's modification time far in the past. */
static int papi_age_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const struct timespec times[2] = { { 0, UTIME_OMIT }, { 978307200, 0 } };

    return type == FTW_D ? utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) : 0;
}

/* File times tick coarsely: a change right after the cache read a directory could leave its
 * times as they were. Every directory below top is given an old modification time before it is
 * read, so that the next change moves it for sure (tests made with settle 0). */
static void age(const world *w)
{
    assert_int_equal(nftw(w->top, papi_age_one, 16, FTW_PHYS), 0);
}

static void end_world(const world *w)
{
    papi_fx_remove(w->p, w->top);
}

static void kept_while_nothing_it_read_changes(void **state)
{
    world w = make_world(state, 1, 0, HOUR);

    mkdirs(&w, "b a .hidden");
    papi_fx_write(w.top, "file", "", 0644);
    assert_int_equal(symlink("/etc", at(&w, "link")), 0);
    age(&w);
    twice(&w, "*", "a b");
    assert_int_equal(expansions, 1);
    /* What is inside a matched directory is not what the glob reads. */
    mkdirs(&w, "a/inside");
    assert_string_equal(cached(&w, "*"), "a b");
    assert_int_equal(expansions, 1);
    end_world(&w);
}

static void a_new_registry_shows_at_the_next_expansion(void **state)
{
    world w = make_world(state, 1, 0, HOUR);

    mkdirs(&w, "a a/reg b");
    age(&w);
    assert_string_equal(cached(&w, "*"), "a b");
    assert_string_equal(cached(&w, "*/reg"), "a/reg");
    /* A directory the glob matches. */
    mkdirs(&w, "c");
    assert_string_equal(cached(&w, "*"), "a b c");
    age(&w);
    assert_string_equal(cached(&w, "*/reg"), "a/reg");
    /* A literal component below the glob, in a directory it matched before. */
    mkdirs(&w, "b/reg");
    assert_string_equal(cached(&w, "*/reg"), "a/reg b/reg");
    age(&w);
    assert_string_equal(cached(&w, "*/reg"), "a/reg b/reg");
    assert_int_equal(rmdir(at(&w, "a/reg")), 0);
    assert_string_equal(cached(&w, "*/reg"), "b/reg");
    end_world(&w);
}

/* A glob never matches a link, nor takes one for a literal component below it: one that takes a
 * directory's place is dropped at once. */
static void a_registry_replaced_by_a_link_is_dropped(void **state)
{
    world w = make_world(state, 1, 0, HOUR);

    mkdirs(&w, "a b x x/reg y y/reg");
    age(&w);
    assert_string_equal(cached(&w, "*"), "a b x y");
    assert_string_equal(cached(&w, "*/reg"), "x/reg y/reg");
    assert_int_equal(rename(at(&w, "b"), at(&w, ".b")), 0);
    assert_int_equal(symlink(".b", at(&w, "b")), 0);
    assert_string_equal(cached(&w, "*"), "a x y");
    assert_int_equal(rename(at(&w, "y/reg"), at(&w, "y/.reg")), 0);
    assert_int_equal(symlink(".reg", at(&w, "y/reg")), 0);
    assert_string_equal(cached(&w, "*/reg"), "x/reg");
    end_world(&w);
}

/* A directory changed less than the settle interval before it was read could change again
 * within the same tick without a trace: such an expansion is made again until it is older. */
static void racily_new_directories_are_not_trusted(void **state)
{
    world w = make_world(state, 1, PAPI_GLOBCACHE_SETTLE, HOUR);

    mkdirs(&w, "a");
    twice(&w, "*", "a");
    assert_int_equal(expansions, 2);
    usleep((useconds_t)apr_time_as_msec(PAPI_GLOBCACHE_SETTLE) * 1000 + 200 * 1000);
    twice(&w, "*", "a");
    assert_int_equal(expansions, 3);
    mkdirs(&w, "b");
    assert_string_equal(cached(&w, "*"), "a b");
    assert_int_equal(expansions, 4);
    end_world(&w);
}

static void kept_no_longer_than_its_maximum_age(void **state)
{
    world w = make_world(state, 1, 0, 0);

    mkdirs(&w, "a");
    age(&w);
    twice(&w, "*", "a");
    assert_int_equal(expansions, 2);
    end_world(&w);
}

/* Out of descriptors, a directory cannot be read: that says nothing of what it holds, so the
 * next request reads it again instead of being told of no registry for as long as it is kept. */
static void a_passing_failure_is_not_kept(void **state)
{
    world w = make_world(state, 1, 0, HOUR);
    struct rlimit was, none;
    int lowest = dup(0);

    mkdirs(&w, "a");
    age(&w);
    assert_true(lowest >= 0);
    close(lowest);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    none = was;
    none.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
    assert_int_equal(papi_globcache_expand(w.c, w.p, at(&w, "*"), counting_expand)->nelts, 0);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_string_equal(cached(&w, "*"), "a");
    end_world(&w);
}

/* However many entries a directory holds, the cache gives what the bounded expansion does. */
static void over_the_entry_budget_the_same_directories(void **state)
{
    world w = make_world(state, 1, 0, HOUR);
    int i, fd;

    for (i = 0; i < 65536 + 100; i++) {
        fd = open(at(&w, apr_psprintf(w.p, "f%05d", i)), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    mkdirs(&w, "r1 r2 r3");
    age(&w);
    assert_string_equal(cached(&w, "r*"), cached(&w, "r*"));
    assert_int_equal(expansions, 1);
    end_world(&w);
}

/* An expansion naming more directories than an entry may hold is made afresh each time, and
 * stays right as they come and go. */
static void too_large_to_keep_is_expanded_each_time(void **state)
{
    world w = make_world(state, 1, 0, HOUR);
    int i;

    for (i = 0; i < PAPI_GLOBCACHE_PATHS_MAX; i++)
        assert_int_equal(mkdir(at(&w, apr_psprintf(w.p, "d%05d", i)), 0755), 0);
    age(&w);
    assert_int_equal(strlen(cached(&w, "*")), PAPI_GLOBCACHE_PATHS_MAX * 7 - 1);
    assert_int_equal(strlen(cached(&w, "*")), PAPI_GLOBCACHE_PATHS_MAX * 7 - 1);
    assert_int_equal(expansions, 2);
    assert_int_equal(rmdir(at(&w, "d00000")), 0);
    assert_int_equal(strlen(cached(&w, "*")), PAPI_GLOBCACHE_PATHS_MAX * 7 - 8);
    end_world(&w);
}

typedef struct captured {
    apr_pool_t *p;
    const char *lines;
} captured;

static int papi_all_levels(void *baton, papi_log_level level)
{
    return 1;
}

static void papi_capture(void *baton, const char *file, int line, papi_log_level level,
                         apr_status_t rv, const char *message)
{
    captured *c = baton;

    c->lines = apr_pstrcat(c->p, c->lines, message, "\n", NULL);
}

/* A request's registries come through the cache for globs, configured or allowed; a plain path
 * reads nothing and never does (trace1 says which). */
static void requests_expand_their_globs_through_the_cache(void **state)
{
    world w = make_world(state, 1, 0, HOUR);
    const char *glob = at(&w, "*"), *why;
    apr_array_header_t *configured = apr_array_make(w.p, 2, sizeof(const char *));
    papi_registry_override o = { PAPI_OVERRIDE_OFF, configured, NULL, w.c };
    captured log = { w.p, "" };
    int round;

    APR_ARRAY_PUSH(configured, const char *) = at(&w, "a");
    APR_ARRAY_PUSH(configured, const char *) = glob;
    mkdirs(&w, "a b");
    age(&w);
    papi_log_set(papi_all_levels, papi_capture, &log);
    for (round = 0; round < 2; round++)
        assert_string_equal(names(&w, papi_registry_for_request(w.p, &o, NULL, &why)), "a b");
    o.mode = PAPI_OVERRIDE_REPLACE;
    o.allowed = configured;
    assert_string_equal(names(&w, papi_registry_for_request(w.p, &o, glob, &why)), "a b");
    papi_log_set(NULL, NULL, NULL);
    assert_string_equal(log.lines, apr_pstrcat(w.p,
        "registry glob ", glob, ": expanded afresh: not kept\n",
        "registry glob ", glob, ": expansion kept (unchanged)\n",
        "registry glob ", glob, ": expansion kept (unchanged)\n", NULL));
    end_world(&w);
}

typedef struct racer {
    papi_globcache *c;
    const char *pattern;
    size_t top_len;
    int wrong;
} racer;

static void *APR_THREAD_FUNC papi_race(apr_thread_t *thread, void *data)
{
    racer *r = data;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 300; i++) {
        apr_array_header_t *dirs = papi_globcache_expand(r->c, p, r->pattern, counting_expand);
        const char *got = dirs->nelts ? APR_ARRAY_IDX(dirs, 0, const char *) + r->top_len : "";
        if (dirs->nelts < 1 || dirs->nelts > 2 || strcmp(got, "/a"))
            r->wrong++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

/* Threads of a worker or event child expand at once while a registry comes and goes: each gets
 * a whole expansion, before or after, and entries replaced under a reader stay until it is done
 * (ASan would see it otherwise). */
static void threads_share_one_cache(void **state)
{
    world w = make_world(state, 1, 0, HOUR);
    racer r = { w.c, at(&w, "*"), strlen(w.top), 0 };
    const char *b = at(&w, "b");
    apr_thread_t *threads[4];
    apr_status_t rv;
    int i;

    mkdirs(&w, "a");
    for (i = 0; i < 4; i++)
        assert_int_equal(apr_thread_create(&threads[i], NULL, papi_race, &r, w.p), APR_SUCCESS);
    for (i = 0; i < 200; i++)
        assert_int_equal(i % 2 ? rmdir(b) : mkdir(b, 0755), 0);
    for (i = 0; i < 4; i++)
        apr_thread_join(&rv, threads[i]);
    assert_int_equal(r.wrong, 0);
    end_world(&w);
}

/* Without a cache, the expansion is made afresh each time. */
static void no_cache_expands_each_time(void **state)
{
    world w = make_world(state, 0, 0, 0);

    mkdirs(&w, "a");
    age(&w);
    twice(&w, "*", "a");
    assert_int_equal(expansions, 2);
    end_world(&w);
}

PAPI_TEST_MAIN(
    PAPI_TEST(kept_while_nothing_it_read_changes),
    PAPI_TEST(a_new_registry_shows_at_the_next_expansion),
    PAPI_TEST(a_registry_replaced_by_a_link_is_dropped),
    PAPI_TEST(racily_new_directories_are_not_trusted),
    PAPI_TEST(kept_no_longer_than_its_maximum_age),
    PAPI_TEST(a_passing_failure_is_not_kept),
    PAPI_TEST(over_the_entry_budget_the_same_directories),
    PAPI_TEST(too_large_to_keep_is_expanded_each_time),
    PAPI_TEST(requests_expand_their_globs_through_the_cache),
    PAPI_TEST(threads_share_one_cache),
    PAPI_TEST(no_cache_expands_each_time))
