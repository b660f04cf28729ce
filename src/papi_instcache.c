#include "papi_instcache.h"
#include "papi_answer.h"
#include "papi_log.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one process remembers at most; beyond that, the rest is done uncached. */
#define PAPI_MAX_LISTINGS 256
#define PAPI_MAX_KNOWN 4096

/* What lstat says of a file, enough to tell any change to it. */
typedef struct papi_stamp {
    int exists;
    dev_t dev;
    ino_t ino;
    mode_t mode;
    uid_t uid;
    off_t size;
    struct timespec mtime, ctime;
} papi_stamp;

/* A registry directory's listing for one list of trusted owners (what is untrusted depends on
 * it). Bounded whatever the directory holds (PAPI_REGISTRY_BOUND): what is left out is counted.
 * What made an entry untrusted (its owner, type or device) cannot change without a change to the
 * registry's own times but by root's hand (chown, mount): such an entry is listed afresh when
 * anything in the registry changes next. */
typedef struct papi_listing {
    char *key;                  /* dir and the trusted uids */
    char *dir;
    papi_stamp stamp;           /* the directory when it was listed */
    int settled;                /* the stamp was old enough then to be trusted */
    char **names;               /* candidates to inspect */
    int count;
    papi_instance *refused;     /* strings malloc'ed */
    int n_refused;
    int more_refused, more_trusted;
} papi_listing;

/* An instance directory. */
typedef struct papi_known {
    char *path;                 /* the key */
    papi_stamp dir;             /* the directory when it was classified */
    int dir_settled;
    papi_stamp core_pid;        /* core.pid then */
    int core_pid_settled;
    int lock_fd;                /* its lock file, open for probing (good and stale), or -1 */
    int agents_fd;              /* its agents.s (good), opened from the directory inspected, or
                                 * -1: the core socket is reached through it */
    int trusted;                /* its owner was trusted by the configuration that classified it */
    papi_instance inst;         /* strings malloc'ed, properties referenced */
    char *password[2];          /* by papi_cred_level */
    int idle_fd[PAPI_IDLE_PER_INSTANCE];    /* oldest first */
    apr_time_t idle_since[PAPI_IDLE_PER_INSTANCE];
    int idle;
} papi_known;

struct papi_instcache {
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *wake;    /* the sweeper's: wakes it to stop */
    apr_thread_t *sweeper;
    int parked;                 /* the sweeper waits for a first idle connection */
    int stopping;
    apr_interval_time_t settle;
    apr_hash_t *listings;       /* key -> papi_listing */
    apr_hash_t *known;          /* path -> papi_known */
    apr_hash_t *warned;         /* registries whose overflow this process has logged (keys
                                 * malloc'ed, freed with the cache) */
    papi_stats *stats;          /* hits and misses counted there; NULL: not counted */
};

/* ---- stamps ----------------------------------------------------------------------------------- */

static void papi_stamp_of(const char *path, papi_stamp *s)
{
    struct stat st;

    memset(s, 0, sizeof(*s));
    if (lstat(path, &st) != 0)
        return;
    s->exists = 1;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->mode = st.st_mode;
    s->uid = st.st_uid;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
}

static int papi_ts_same(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int papi_stamp_same(const papi_stamp *a, const papi_stamp *b)
{
    if (a->exists != b->exists)
        return 0;
    return !a->exists || (a->dev == b->dev && a->ino == b->ino && a->mode == b->mode
                          && a->uid == b->uid && a->size == b->size
                          && papi_ts_same(&a->mtime, &b->mtime)
                          && papi_ts_same(&a->ctime, &b->ctime));
}

/* Whether what was read at now can be trusted for as long as the stamp stays the same: a change
 * within the same clock tick as the last one would leave the stamp as it was. The change time,
 * which no user can set, is the one that counts. */
static int papi_stamp_settled(const papi_instcache *c, const papi_stamp *s, apr_time_t now)
{
    apr_time_t changed = apr_time_from_sec(s->ctime.tv_sec) + s->ctime.tv_nsec / 1000;

    return !s->exists || now - changed > c->settle;
}

/* ---- entries (all under the mutex) ------------------------------------------------------------ */

static char *papi_strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void papi_wipe_free(char *secret)
{
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

static void papi_known_forget_secrets(papi_known *k)
{
    int i;

    for (i = 0; i < 2; i++) {
        papi_wipe_free(k->password[i]);
        k->password[i] = NULL;
    }
    for (i = 0; i < k->idle; i++)
        close(k->idle_fd[i]);
    k->idle = 0;
}

/* An instance the cache keeps: its strings malloc'ed, its properties referenced. */
static void papi_inst_release(papi_instance *inst)
{
    free((char *)inst->registry);
    free((char *)inst->dirname);
    free((char *)inst->path);
    free((char *)inst->reason);
    free((char *)inst->name);
    free((char *)inst->json);
    if (inst->properties)
        json_decref(inst->properties);
    memset(inst, 0, sizeof(*inst));
}

static void papi_inst_keep(papi_instance *kept, const papi_instance *inst)
{
    *kept = *inst;
    kept->registry = strdup(inst->registry);
    kept->dirname = strdup(inst->dirname);
    kept->path = strdup(inst->path);
    kept->reason = papi_strdup_or_null(inst->reason);
    kept->name = papi_strdup_or_null(inst->name);
    kept->json = papi_strdup_or_null(inst->json);
    if (kept->properties)
        json_incref(kept->properties);
}

static void papi_known_clear_instance(papi_known *k)
{
    papi_inst_release(&k->inst);
}

static void papi_known_set_instance(papi_known *k, const papi_instance *inst)
{
    papi_known_clear_instance(k);
    papi_inst_keep(&k->inst, inst);
}

static void papi_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void papi_known_drop(papi_instcache *c, papi_known *k)
{
    apr_hash_set(c->known, k->path, APR_HASH_KEY_STRING, NULL);
    papi_close_fd(&k->lock_fd);
    papi_close_fd(&k->agents_fd);
    papi_known_forget_secrets(k);
    papi_known_clear_instance(k);
    free(k->path);
    free(k);
}

static void papi_listing_drop(papi_instcache *c, papi_listing *l)
{
    int i;

    apr_hash_set(c->listings, l->key, APR_HASH_KEY_STRING, NULL);
    for (i = 0; i < l->count; i++)
        free(l->names[i]);
    for (i = 0; i < l->n_refused; i++)
        papi_inst_release(&l->refused[i]);
    free(l->names);
    free(l->refused);
    free(l->dir);
    free(l->key);
    free(l);
}

/* Both good, in the same directory of the same owner: what a credential and a connection are
 * kept for. */
static int papi_same_directory(const papi_instance *a, const papi_instance *b)
{
    return a->state == PAPI_INST_GOOD && b->state == PAPI_INST_GOOD && a->dev == b->dev
           && a->ino == b->ino && a->owner == b->owner;
}

/* The entry of inst, if it still describes the very same good instance. */
static papi_known *papi_known_same(papi_instcache *c, const papi_instance *inst)
{
    papi_known *k = apr_hash_get(c->known, inst->path, APR_HASH_KEY_STRING);

    return k && papi_same_directory(&k->inst, inst) ? k : NULL;
}

/* A reclassified instance is still the one its credentials and connections were kept for: same
 * directory and owner, same properties. */
static int papi_same_instance(const papi_instance *a, const papi_instance *b)
{
    return papi_same_directory(a, b) && a->properties && b->properties
           && json_equal(a->properties, b->properties);
}

/* ---- the cache ---------------------------------------------------------------------------------- */

static void papi_known_expire(papi_known *k, apr_time_t now);

/* Closes idle connections past their age every PAPI_IDLE_SWEEP until the cache ends; while there
 * are none, it sleeps until one is given back (an idle httpd is not woken four times a second). */
static void *APR_THREAD_FUNC papi_sweeper(apr_thread_t *thread, void *data)
{
    papi_instcache *c = data;
    apr_hash_index_t *hi;

    apr_thread_mutex_lock(c->mutex);
    while (!c->stopping) {
        if (c->parked)
            apr_thread_cond_wait(c->wake, c->mutex);
        else
            apr_thread_cond_timedwait(c->wake, c->mutex, PAPI_IDLE_SWEEP);
        c->parked = 1;
        for (hi = apr_hash_first(NULL, c->known); hi; hi = apr_hash_next(hi)) {
            papi_known *k = apr_hash_this_val(hi);
            papi_known_expire(k, apr_time_now());
            if (k->idle > 0)
                c->parked = 0;
        }
    }
    apr_thread_mutex_unlock(c->mutex);
    return NULL;
}

/* A pre-cleanup: it runs before the pool's subpools (the thread's) and its mutex go. */
static apr_status_t papi_instcache_cleanup(void *data)
{
    papi_instcache *c = data;
    apr_hash_index_t *hi;
    apr_status_t rv;

    apr_thread_mutex_lock(c->mutex);
    c->stopping = 1;
    apr_thread_cond_signal(c->wake);
    apr_thread_mutex_unlock(c->mutex);
    apr_thread_join(&rv, c->sweeper);
    papi_instcache_clear(c);
    for (hi = apr_hash_first(NULL, c->warned); hi; hi = apr_hash_next(hi))
        free(apr_hash_this_val(hi));
    return APR_SUCCESS;
}

papi_instcache *papi_instcache_create(apr_pool_t *p, apr_interval_time_t settle)
{
    papi_instcache *c = apr_pcalloc(p, sizeof(*c));

    c->settle = settle;
    c->parked = 1;
    c->listings = apr_hash_make(p);
    c->known = apr_hash_make(p);
    c->warned = apr_hash_make(p);
    if (apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || apr_thread_cond_create(&c->wake, p) != APR_SUCCESS
        || apr_thread_create(&c->sweeper, NULL, papi_sweeper, c, p) != APR_SUCCESS)
        return NULL;
    apr_pool_pre_cleanup_register(p, c, papi_instcache_cleanup);
    return c;
}

void papi_instcache_clear(papi_instcache *c)
{
    apr_hash_index_t *hi;

    if (!c)
        return;
    apr_thread_mutex_lock(c->mutex);
    while ((hi = apr_hash_first(NULL, c->known)) != NULL)
        papi_known_drop(c, apr_hash_this_val(hi));
    while ((hi = apr_hash_first(NULL, c->listings)) != NULL)
        papi_listing_drop(c, apr_hash_this_val(hi));
    apr_thread_mutex_unlock(c->mutex);
}

static const char *papi_join(apr_pool_t *p, const char *dir, const char *name)
{
    return apr_pstrcat(p, dir, strcmp(dir, "/") ? "/" : "", name, NULL);
}

/* Forgets the instances of the old listing that are not to be inspected any more (all of them
 * when names is NULL). */
static void papi_forget_gone(apr_pool_t *p, papi_instcache *c, const papi_listing *old,
                             const apr_array_header_t *names)
{
    int i, j;

    for (i = 0; i < old->count; i++) {
        papi_known *k;
        for (j = 0; names && j < names->nelts; j++)
            if (!strcmp(old->names[i], APR_ARRAY_IDX(names, j, const char *)))
                break;
        if (names && j < names->nelts)
            continue;
        k = apr_hash_get(c->known, papi_join(p, old->dir, old->names[i]), APR_HASH_KEY_STRING);
        if (k)
            papi_known_drop(c, k);
    }
}

/* The key of dir's listing for trust. */
static const char *papi_listing_key(apr_pool_t *p, const char *dir, const papi_trust *trust)
{
    const char *key = dir;
    int i;

    for (i = 0; i < trust->count; i++)
        key = apr_psprintf(p, "%s%c%ld", key, i ? ',' : '\n', (long)trust->uids[i]);
    return key;
}

/* Replaces the listing of key (fresh NULL: dir could not be read). */
static void papi_listing_store(apr_pool_t *p, papi_instcache *c, const char *key, const char *dir,
                               const papi_stamp *stamp, apr_time_t now,
                               const papi_registry_listing *fresh)
{
    papi_listing *l = apr_hash_get(c->listings, key, APR_HASH_KEY_STRING);
    int i;

    if (l) {
        papi_forget_gone(p, c, l, fresh ? fresh->inspect : NULL);
        papi_listing_drop(c, l);
    }
    if (!fresh || !stamp->exists || apr_hash_count(c->listings) >= PAPI_MAX_LISTINGS)
        return;
    l = calloc(1, sizeof(*l));
    if (!l)
        return;
    l->key = strdup(key);
    l->dir = strdup(dir);
    l->stamp = *stamp;
    l->settled = papi_stamp_settled(c, stamp, now);
    l->names = calloc((apr_size_t)fresh->inspect->nelts + 1, sizeof(char *));
    for (i = 0; l->names && i < fresh->inspect->nelts; i++)
        l->names[l->count++] = strdup(APR_ARRAY_IDX(fresh->inspect, i, const char *));
    l->refused = calloc((apr_size_t)fresh->refused->nelts + 1, sizeof(papi_instance));
    for (i = 0; l->refused && i < fresh->refused->nelts; i++)
        papi_inst_keep(&l->refused[l->n_refused++], APR_ARRAY_IDX(fresh->refused, i, papi_instance *));
    l->more_refused = fresh->more_refused;
    l->more_trusted = fresh->more_trusted;
    apr_hash_set(c->listings, l->key, APR_HASH_KEY_STRING, l);
}

static papi_instance *papi_instance_dup(apr_pool_t *p, const papi_instance *src);

/* The request's own copy of a kept listing. */
static papi_registry_listing *papi_listing_copy(apr_pool_t *p, const papi_listing *l)
{
    papi_registry_listing *out = apr_pcalloc(p, sizeof(*out));
    int i;

    out->inspect = apr_array_make(p, l->count + 1, sizeof(const char *));
    for (i = 0; i < l->count; i++)
        APR_ARRAY_PUSH(out->inspect, const char *) = apr_pstrdup(p, l->names[i]);
    out->refused = apr_array_make(p, l->n_refused + 1, sizeof(papi_instance *));
    for (i = 0; i < l->n_refused; i++)
        APR_ARRAY_PUSH(out->refused, papi_instance *) = papi_instance_dup(p, &l->refused[i]);
    out->more_refused = l->more_refused;
    out->more_trusted = l->more_trusted;
    return out;
}

/* What registry dir holds for trust: from the cache while the directory is unchanged. */
static papi_registry_listing *papi_cached_listing(papi_instcache *c, apr_pool_t *p,
                                                  const char *dir, const papi_trust *trust,
                                                  apr_time_t now, apr_array_header_t *notes)
{
    const char *key = papi_listing_key(p, dir, trust);
    papi_registry_listing *found = NULL;
    papi_listing *l;
    papi_stamp stamp;

    papi_stamp_of(dir, &stamp);
    apr_thread_mutex_lock(c->mutex);
    l = apr_hash_get(c->listings, key, APR_HASH_KEY_STRING);
    if (l && l->settled && papi_stamp_same(&l->stamp, &stamp))
        found = papi_listing_copy(p, l);
    apr_thread_mutex_unlock(c->mutex);
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "registry %s: %s", dir,
             found ? "listing kept (unchanged)" : "listed afresh");
    if (found)
        return found;
    found = papi_registry_list(p, dir, trust, notes);
    apr_thread_mutex_lock(c->mutex);
    papi_listing_store(p, c, key, dir, &stamp, now, found);
    apr_thread_mutex_unlock(c->mutex);
    return found;
}

/* The warning for a registry beyond the bound, the first time this process sees it only: one
 * line per child, not one per request. */
static const char *papi_overflow_once(papi_instcache *c, apr_pool_t *p, const char *dir,
                                      const papi_registry_listing *l)
{
    const char *why = papi_registry_overflow(p, dir, l);
    int first = 0;

    if (!why)
        return NULL;
    apr_thread_mutex_lock(c->mutex);
    if (!apr_hash_get(c->warned, dir, APR_HASH_KEY_STRING)
        && apr_hash_count(c->warned) < PAPI_MAX_LISTINGS) {
        char *key = strdup(dir);
        if (key)
            apr_hash_set(c->warned, key, APR_HASH_KEY_STRING, key);
        first = 1;
    }
    apr_thread_mutex_unlock(c->mutex);
    return first ? why : NULL;
}

/* The request's own copy of a remembered instance. */
static papi_instance *papi_instance_dup(apr_pool_t *p, const papi_instance *src)
{
    papi_instance *d = apr_pmemdup(p, src, sizeof(*d));

    d->registry = apr_pstrdup(p, src->registry);
    d->dirname = apr_pstrdup(p, src->dirname);
    d->path = apr_pstrdup(p, src->path);
    d->reason = src->reason ? apr_pstrdup(p, src->reason) : NULL;
    d->name = src->name ? apr_pstrdup(p, src->name) : NULL;
    d->json = src->json ? apr_pstrdup(p, src->json) : NULL;
    if (d->properties) {
        json_incref(d->properties);
        apr_pool_cleanup_register(p, d->properties, papi_json_cleanup, apr_pool_cleanup_null);
    }
    return d;
}

/* Remembers inst, classified from a directory stamped dir (and core.pid stamped core_pid, both
 * taken before it was read), with its lock file and its agents.s open as lock_fd and agents_fd
 * (both given to the cache). */
static void papi_known_store(papi_instcache *c, const papi_instance *inst, const papi_trust *trust,
                             const papi_stamp *dir, const papi_stamp *core_pid, int lock_fd,
                             int agents_fd, apr_time_t now)
{
    papi_known *k = apr_hash_get(c->known, inst->path, APR_HASH_KEY_STRING);
    /* The directory inspected must be the one stamped (a link is stamped as itself). */
    int consistent = dir->exists && (S_ISLNK(dir->mode) || inst->ino == 0
                                     || (inst->dev == dir->dev && inst->ino == dir->ino));

    if (k && !consistent) {
        papi_known_drop(c, k);
        k = NULL;
    }
    else if (k && !papi_same_instance(&k->inst, inst))
        papi_known_forget_secrets(k);
    else if (!k && consistent && apr_hash_count(c->known) < PAPI_MAX_KNOWN
             && (k = calloc(1, sizeof(*k))) != NULL) {
        k->path = strdup(inst->path);
        k->lock_fd = -1;
        k->agents_fd = -1;
        apr_hash_set(c->known, k->path, APR_HASH_KEY_STRING, k);
    }
    if (!k) {
        papi_close_fd(&lock_fd);
        papi_close_fd(&agents_fd);
        return;
    }
    papi_close_fd(&k->lock_fd);
    papi_close_fd(&k->agents_fd);
    k->lock_fd = lock_fd;
    k->agents_fd = agents_fd;
    papi_known_set_instance(k, inst);
    k->dir = *dir;
    k->dir_settled = papi_stamp_settled(c, dir, now);
    k->core_pid = *core_pid;
    k->core_pid_settled = papi_stamp_settled(c, core_pid, now);
    k->trusted = papi_trust_has(trust, inst->owner);
}

/* One candidate: from the cache while its directory is unchanged, the watchdog still holds (or
 * still does not hold) its lock, and core.pid is unchanged. */
static papi_instance *papi_cached_instance(papi_instcache *c, apr_pool_t *p, const char *registry,
                                           const char *dirname, const papi_trust *trust,
                                           apr_time_t now)
{
    const char *path = papi_join(p, registry, dirname);
    const char *pid_path = apr_pstrcat(p, path, "/core.pid", NULL);
    papi_instance *inst = NULL;
    papi_stamp dir, core_pid, cached_pid;
    papi_known *k;
    int pid_ok = 0, lock_fd = -1, agents_fd = -1;
    const char *why;

    papi_stamp_of(path, &dir);
    apr_thread_mutex_lock(c->mutex);
    k = apr_hash_get(c->known, path, APR_HASH_KEY_STRING);
    if (k && k->dir_settled && papi_stamp_same(&k->dir, &dir)
        && papi_trust_has(trust, k->inst.owner) == k->trusted
        /* A non-blocking probe of a file kept open: quick enough to make here. */
        && (k->inst.state != PAPI_INST_GOOD && k->inst.state != PAPI_INST_STALE
            ? 1 : papi_lock_fd_held(k->lock_fd) == (k->inst.state == PAPI_INST_GOOD))) {
        inst = papi_instance_dup(p, &k->inst);
        cached_pid = k->core_pid;
        pid_ok = k->core_pid_settled;
    }
    apr_thread_mutex_unlock(c->mutex);
    if (inst && inst->state == PAPI_INST_GOOD) {
        papi_stamp_of(pid_path, &core_pid);
        if (!pid_ok || !papi_stamp_same(&cached_pid, &core_pid))
            inst = NULL;
    }
    papi_stats_add(c->stats, inst ? PAPI_STAT_CACHE_HITS : PAPI_STAT_CACHE_MISSES, 1);
    if (inst) {
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE2, 0, "%s: kept (%s)", path,
                 papi_inst_state_name(inst->state));
        return inst;
    }
    papi_stamp_of(pid_path, &core_pid);
    inst = papi_instance_inspect(p, registry, dirname, trust);
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "%s: inspected afresh (%s)", path,
             papi_inst_state_name(inst->state));
    /* Its JSON, made now and kept with it: unchanged for as long as the cache gives it out. */
    inst->json = papi_answer_instance_text(p, inst);
    if (inst->state == PAPI_INST_GOOD || inst->state == PAPI_INST_STALE)
        lock_fd = papi_instance_lock_open(inst);
    if (inst->state == PAPI_INST_GOOD)
        agents_fd = papi_instance_agents_open(p, inst, &why);
    apr_thread_mutex_lock(c->mutex);
    papi_known_store(c, inst, trust, &dir, &core_pid, lock_fd, agents_fd, now);
    apr_thread_mutex_unlock(c->mutex);
    return inst;
}

/* One scan's cache, trust and time, for papi_inspect_cached. */
typedef struct papi_scan_ctx {
    papi_instcache *c;
    const papi_trust *trust;
    apr_time_t now;
} papi_scan_ctx;

static papi_instance *papi_inspect_cached(apr_pool_t *p, const char *registry, const char *dirname,
                                          void *baton)
{
    papi_scan_ctx *scan = baton;

    return papi_cached_instance(scan->c, p, registry, dirname, scan->trust, scan->now);
}

void papi_instcache_count_in(papi_instcache *c, papi_stats *stats)
{
    if (c)
        c->stats = stats;
}

apr_array_header_t *papi_instcache_scan(papi_instcache *c, apr_pool_t *p,
                                        const apr_array_header_t *registries,
                                        const papi_trust *trust, apr_array_header_t *notes,
                                        apr_array_header_t *warnings)
{
    apr_array_header_t *out;
    apr_time_t now = apr_time_now();
    papi_scan_ctx scan = { c, trust, now };
    int i;

    if (!c)
        return papi_registry_scan(p, registries, trust, notes, warnings);
    out = apr_array_make(p, 4, sizeof(papi_instance *));
    for (i = 0; i < registries->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(registries, i, const char *), *why;
        papi_registry_listing *l = papi_cached_listing(c, p, dir, trust, now, notes);

        if (!l)
            continue;
        papi_registry_add(p, out, dir, l, papi_inspect_cached, &scan);
        if (warnings && (why = papi_overflow_once(c, p, dir, l)) != NULL)
            APR_ARRAY_PUSH(warnings, const char *) = why;
    }
    return out;
}

/* ---- the core socket ---------------------------------------------------------------------------- */

static apr_status_t papi_close_cleanup(void *data)
{
    close((int)(intptr_t)data);
    return APR_SUCCESS;
}

int papi_instcache_agents(papi_instcache *c, apr_pool_t *p, const papi_instance *inst,
                          const char **why)
{
    papi_known *k;
    int fd = -1;

    if (c) {
        /* A copy: the kept one may be closed by another thread once the mutex is released. */
        apr_thread_mutex_lock(c->mutex);
        if ((k = papi_known_same(c, inst)) != NULL && k->agents_fd >= 0)
            fd = fcntl(k->agents_fd, F_DUPFD_CLOEXEC, 0);
        apr_thread_mutex_unlock(c->mutex);
    }
    if (fd < 0)
        fd = papi_instance_agents_open(p, inst, why);
    if (fd >= 0)
        apr_pool_cleanup_register(p, (void *)(intptr_t)fd, papi_close_cleanup,
                                  apr_pool_cleanup_null);
    return fd;
}

/* ---- credentials -------------------------------------------------------------------------------- */

const char *papi_instcache_password(papi_instcache *c, apr_pool_t *p, const papi_instance *inst,
                                    papi_cred_level level)
{
    const char *copy = NULL;
    papi_known *k;

    if (!c)
        return NULL;
    apr_thread_mutex_lock(c->mutex);
    if ((k = papi_known_same(c, inst)) != NULL && k->password[level]) {
        copy = apr_pstrdup(p, k->password[level]);
        papi_cred_wipe_later(p, copy);
    }
    apr_thread_mutex_unlock(c->mutex);
    return copy;
}

void papi_instcache_keep_password(papi_instcache *c, const papi_instance *inst,
                                  papi_cred_level level, const char *password)
{
    papi_known *k;

    if (!c)
        return;
    apr_thread_mutex_lock(c->mutex);
    if ((k = papi_known_same(c, inst)) != NULL) {
        papi_wipe_free(k->password[level]);
        k->password[level] = password ? strdup(password) : NULL;
    }
    apr_thread_mutex_unlock(c->mutex);
}

/* ---- connections -------------------------------------------------------------------------------- */

/* Closes the connections idle for too long (the oldest are first). */
static void papi_known_expire(papi_known *k, apr_time_t now)
{
    int old = 0, i;

    while (old < k->idle && now - k->idle_since[old] > PAPI_IDLE_MAX_AGE)
        close(k->idle_fd[old++]);
    for (i = old; i < k->idle; i++) {
        k->idle_fd[i - old] = k->idle_fd[i];
        k->idle_since[i - old] = k->idle_since[i];
    }
    k->idle -= old;
}

int papi_instcache_take_connection(papi_instcache *c, const papi_instance *inst)
{
    papi_known *k;
    int fd = -1;

    if (!c)
        return -1;
    apr_thread_mutex_lock(c->mutex);
    if ((k = papi_known_same(c, inst)) != NULL) {
        papi_known_expire(k, apr_time_now());
        if (k->idle > 0)
            fd = k->idle_fd[--k->idle];
    }
    apr_thread_mutex_unlock(c->mutex);
    return fd;
}

void papi_instcache_give_connection(papi_instcache *c, const papi_instance *inst, int fd)
{
    papi_known *k = NULL;

    if (fd < 0)
        return;
    if (c) {
        apr_thread_mutex_lock(c->mutex);
        if ((k = papi_known_same(c, inst)) != NULL && k->idle < PAPI_IDLE_PER_INSTANCE) {
            k->idle_fd[k->idle] = fd;
            k->idle_since[k->idle++] = apr_time_now();
            if (c->parked) {
                c->parked = 0;
                apr_thread_cond_signal(c->wake);
            }
        }
        else
            k = NULL;
        apr_thread_mutex_unlock(c->mutex);
    }
    if (!k)
        close(fd);
}
