#include "papi_globcache.h"
#include "papi_log.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Patterns kept at the most: the configuration's, over every <Location>. */
#define PAPI_GLOBCACHE_ENTRIES_MAX 256

/* One pattern's expansion in one malloc'ed block, replaced whole when it is refreshed (a child
 * living for months does not grow) and never changed once made: a reader holds a reference
 * while it stats the directories outside the mutex. */
typedef struct papi_globentry {
    int refs;                   /* the cache's while it is the pattern's entry, and each reader's */
    const char *pattern;
    apr_time_t made;            /* when its expansion began */
    int settled;                /* every directory's change time was old enough then */
    int oversized;              /* the expansion was too large to keep: nothing else is */
    int n_stamps, n_dirs;
    papi_globstamp *stamps;
    const char **dirs;
} papi_globentry;

struct papi_globcache {
    apr_thread_mutex_t *mutex;
    apr_interval_time_t settle, max_age;
    papi_globentry *entries[PAPI_GLOBCACHE_ENTRIES_MAX];    /* NULL where none */
};

/* ---- stamps ----------------------------------------------------------------------------------- */

static void papi_stamp_take(papi_globstamp *s, const char *path, int follow)
{
    struct stat st;

    memset(s, 0, sizeof(*s));
    s->path = path;
    s->follow = follow;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) {
        s->err = errno;
        return;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
}

static int papi_ts_same(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Both the modification time (any entry added, removed or renamed) and the change time (also a
 * chmod, which can make a directory readable or not) are compared. */
static int papi_stamp_same(const papi_globstamp *a, const papi_globstamp *b)
{
    return a->err == b->err
           && (a->err || (a->dev == b->dev && a->ino == b->ino && papi_ts_same(&a->mtime, &b->mtime)
                          && papi_ts_same(&a->ctime, &b->ctime)));
}

/* Whether a directory stamped at now can be trusted to show its next change. The change time
 * counts: every change moves it, and no user can set it. */
static int papi_stamp_settled(const papi_globstamp *s, apr_time_t now, apr_interval_time_t settle)
{
    apr_time_t changed = apr_time_from_sec(s->ctime.tv_sec) + s->ctime.tv_nsec / 1000;

    return s->err || now - changed > settle;
}

void papi_globwatch_add(papi_globwatch *w, const char *path, int follow)
{
    papi_globstamp *s;

    if (!w || w->full)
        return;
    if (w->stamps->nelts == PAPI_GLOBCACHE_PATHS_MAX) {
        w->full = 1;
        return;
    }
    s = apr_array_push(w->stamps);
    papi_stamp_take(s, apr_pstrdup(w->p, path), follow);
    if (s->err)
        papi_globwatch_failed(w, APR_FROM_OS_ERROR(s->err));
}

void papi_globwatch_failed(papi_globwatch *w, apr_status_t rv)
{
    if (w && !APR_STATUS_IS_ENOENT(rv) && !APR_STATUS_IS_ENOTDIR(rv) && !APR_STATUS_IS_EACCES(rv)
        && rv != APR_FROM_OS_ERROR(EPERM) && rv != APR_FROM_OS_ERROR(ELOOP)
        && !APR_STATUS_IS_ENAMETOOLONG(rv))
        w->unsure = 1;
}

/* ---- entries ---------------------------------------------------------------------------------- */

static char *papi_put(char **at, const char *s)
{
    apr_size_t n = strlen(s) + 1;
    char *copy = memcpy(*at, s, n);

    *at += n;
    return copy;
}

/* The entry for what expanding pattern from made on gave (only the mark that it is oversized
 * when it is too large), or NULL when it is not to be kept. */
static papi_globentry *papi_entry_make(const char *pattern, const apr_array_header_t *dirs,
                                       const papi_globwatch *w, apr_time_t made,
                                       apr_interval_time_t settle)
{
    const papi_globstamp *stamps = (const papi_globstamp *)w->stamps->elts;
    apr_size_t size = sizeof(papi_globentry) + strlen(pattern) + 1;
    int i, oversized = w->full || dirs->nelts + w->stamps->nelts > PAPI_GLOBCACHE_PATHS_MAX;
    papi_globentry *e;
    char *at;

    if (w->unsure)
        return NULL;
    if (oversized) {
        if ((e = calloc(1, size)) != NULL) {
            e->refs = 1;
            e->made = made;
            e->oversized = 1;
            e->pattern = strcpy((char *)(e + 1), pattern);
        }
        return e;
    }
    size += (apr_size_t)w->stamps->nelts * sizeof(papi_globstamp)
            + (apr_size_t)dirs->nelts * sizeof(const char *);
    for (i = 0; i < w->stamps->nelts; i++)
        size += strlen(stamps[i].path) + 1;
    for (i = 0; i < dirs->nelts; i++)
        size += strlen(APR_ARRAY_IDX(dirs, i, const char *)) + 1;
    if (!(e = malloc(size)))
        return NULL;
    /* The stamps right after the entry, then the directories' pointers, then the text. */
    e->refs = 1;
    e->made = made;
    e->oversized = 0;
    e->settled = 1;
    e->n_stamps = w->stamps->nelts;
    e->n_dirs = dirs->nelts;
    e->stamps = (papi_globstamp *)(e + 1);
    e->dirs = (const char **)(e->stamps + e->n_stamps);
    at = (char *)(e->dirs + e->n_dirs);
    e->pattern = papi_put(&at, pattern);
    for (i = 0; i < e->n_stamps; i++) {
        e->stamps[i] = stamps[i];
        e->stamps[i].path = papi_put(&at, stamps[i].path);
        e->settled &= papi_stamp_settled(&stamps[i], made, settle);
    }
    for (i = 0; i < e->n_dirs; i++)
        e->dirs[i] = papi_put(&at, APR_ARRAY_IDX(dirs, i, const char *));
    return e;
}

static int papi_entry_slot(const papi_globcache *c, const char *pattern)
{
    int i;

    for (i = 0; i < PAPI_GLOBCACHE_ENTRIES_MAX; i++)
        if (c->entries[i] && !strcmp(c->entries[i]->pattern, pattern))
            return i;
    return -1;
}

/* pattern's entry with a reference for the caller, or NULL. */
static papi_globentry *papi_entry_take(papi_globcache *c, const char *pattern)
{
    papi_globentry *e = NULL;
    int slot;

    apr_thread_mutex_lock(c->mutex);
    if ((slot = papi_entry_slot(c, pattern)) >= 0) {
        e = c->entries[slot];
        e->refs++;
    }
    apr_thread_mutex_unlock(c->mutex);
    return e;
}

/* Drops a reference (under the mutex); the entry when it was the last one, to be freed. */
static papi_globentry *papi_entry_unref(papi_globentry *e)
{
    return e && --e->refs == 0 ? e : NULL;
}

static void papi_entry_release(papi_globcache *c, papi_globentry *e)
{
    apr_thread_mutex_lock(c->mutex);
    e = papi_entry_unref(e);
    apr_thread_mutex_unlock(c->mutex);
    free(e);
}

/* Makes fresh (NULL: none) pattern's entry in place of the one it had. */
static void papi_entry_replace(papi_globcache *c, const char *pattern, papi_globentry *fresh)
{
    papi_globentry *old = NULL;
    int slot;

    apr_thread_mutex_lock(c->mutex);
    if ((slot = papi_entry_slot(c, pattern)) >= 0)
        old = papi_entry_unref(c->entries[slot]);
    else
        for (slot = 0; slot < PAPI_GLOBCACHE_ENTRIES_MAX && c->entries[slot]; slot++)
            ;
    if (slot < PAPI_GLOBCACHE_ENTRIES_MAX) {
        c->entries[slot] = fresh;
        fresh = NULL;
    }
    apr_thread_mutex_unlock(c->mutex);
    free(old);
    free(fresh);
}

/* Whether every directory e consulted is as it was. */
static int papi_entry_current(const papi_globentry *e)
{
    papi_globstamp now;
    int i;

    for (i = 0; i < e->n_stamps; i++) {
        papi_stamp_take(&now, e->stamps[i].path, e->stamps[i].follow);
        if (!papi_stamp_same(&now, &e->stamps[i]))
            return 0;
    }
    return 1;
}

/* ---- the cache -------------------------------------------------------------------------------- */

static apr_status_t papi_globcache_cleanup(void *data)
{
    papi_globcache *c = data;
    int i;

    for (i = 0; i < PAPI_GLOBCACHE_ENTRIES_MAX; i++) {
        free(c->entries[i]);
        c->entries[i] = NULL;
    }
    return APR_SUCCESS;
}

papi_globcache *papi_globcache_create(apr_pool_t *p, apr_interval_time_t settle,
                                      apr_interval_time_t max_age)
{
    papi_globcache *c = apr_pcalloc(p, sizeof(*c));

    c->settle = settle;
    c->max_age = max_age;
    if (apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    apr_pool_cleanup_register(p, c, papi_globcache_cleanup, apr_pool_cleanup_null);
    return c;
}

/* Why e cannot be reused at now, or NULL when it can. */
static const char *papi_entry_stale(const papi_globcache *c, const papi_globentry *e,
                                    apr_time_t now)
{
    if (!e)
        return "not kept";
    if (e->oversized)
        return "too large to keep";
    if (!e->settled)
        return "a directory had changed just before it was read";
    if (now - e->made >= c->max_age)
        return "expanded too long ago";
    return papi_entry_current(e) ? NULL : "a directory changed";
}

apr_array_header_t *papi_globcache_expand(papi_globcache *c, apr_pool_t *p, const char *pattern,
                                          papi_glob_expand_fn *expand)
{
    apr_array_header_t *dirs = NULL;
    apr_time_t now = apr_time_now();
    papi_globentry *e;
    papi_globwatch w = { p, NULL, 0, 0 }, *watch = NULL;
    const char *why;
    int i;

    if (c) {
        e = papi_entry_take(c, pattern);
        if (!(why = papi_entry_stale(c, e, now))) {
            dirs = apr_array_make(p, e->n_dirs + 1, sizeof(const char *));
            for (i = 0; i < e->n_dirs; i++)
                APR_ARRAY_PUSH(dirs, const char *) = apr_pstrdup(p, e->dirs[i]);
        }
        /* A pattern known to be too large is not watched until it is tried again. */
        else if (!e || !e->oversized || now - e->made >= c->max_age)
            watch = &w;
        if (e)
            papi_entry_release(c, e);
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "registry glob %s: %s%s", pattern,
                 why ? "expanded afresh: " : "expansion kept (unchanged)", why ? why : "");
        if (dirs)
            return dirs;
    }
    dirs = apr_array_make(p, 4, sizeof(const char *));
    if (watch)
        w.stamps = apr_array_make(p, 4, sizeof(papi_globstamp));
    expand(p, pattern, dirs, watch);
    if (watch)
        papi_entry_replace(c, pattern, papi_entry_make(pattern, dirs, &w, now, c->settle));
    return dirs;
}
