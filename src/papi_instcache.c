#include "papi_instcache.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <jansson.h>
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

/* A registry directory's listing. */
typedef struct papi_listing {
    char *dir;                  /* the key */
    papi_stamp stamp;           /* the directory when it was listed */
    int settled;                /* the stamp was old enough then to be trusted */
    char **names;
    int count;
} papi_listing;

/* An instance directory. */
typedef struct papi_known {
    char *path;                 /* the key */
    papi_stamp dir;             /* the directory when it was classified */
    int dir_settled;
    papi_stamp core_pid;        /* core.pid then */
    int core_pid_settled;
    int lock_fd;                /* its lock file, open for probing (good and stale), or -1 */
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
    apr_hash_t *listings;       /* dir -> papi_listing */
    apr_hash_t *known;          /* path -> papi_known */
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

static void papi_known_clear_instance(papi_known *k)
{
    free((char *)k->inst.registry);
    free((char *)k->inst.dirname);
    free((char *)k->inst.path);
    free((char *)k->inst.reason);
    free((char *)k->inst.name);
    if (k->inst.properties)
        json_decref(k->inst.properties);
    memset(&k->inst, 0, sizeof(k->inst));
}

static void papi_known_set_instance(papi_known *k, const papi_instance *inst)
{
    papi_known_clear_instance(k);
    k->inst = *inst;
    k->inst.registry = strdup(inst->registry);
    k->inst.dirname = strdup(inst->dirname);
    k->inst.path = strdup(inst->path);
    k->inst.reason = papi_strdup_or_null(inst->reason);
    k->inst.name = papi_strdup_or_null(inst->name);
    if (k->inst.properties)
        json_incref(k->inst.properties);
}

static void papi_known_drop(papi_instcache *c, papi_known *k)
{
    apr_hash_set(c->known, k->path, APR_HASH_KEY_STRING, NULL);
    if (k->lock_fd >= 0)
        close(k->lock_fd);
    papi_known_forget_secrets(k);
    papi_known_clear_instance(k);
    free(k->path);
    free(k);
}

static void papi_listing_drop(papi_instcache *c, papi_listing *l)
{
    int i;

    apr_hash_set(c->listings, l->dir, APR_HASH_KEY_STRING, NULL);
    for (i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    free(l->dir);
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
    apr_status_t rv;

    apr_thread_mutex_lock(c->mutex);
    c->stopping = 1;
    apr_thread_cond_signal(c->wake);
    apr_thread_mutex_unlock(c->mutex);
    apr_thread_join(&rv, c->sweeper);
    papi_instcache_clear(c);
    return APR_SUCCESS;
}

papi_instcache *papi_instcache_create(apr_pool_t *p, apr_interval_time_t settle)
{
    papi_instcache *c = apr_pcalloc(p, sizeof(*c));

    c->settle = settle;
    c->parked = 1;
    c->listings = apr_hash_make(p);
    c->known = apr_hash_make(p);
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

/* Forgets the instances of registry dir that are not in names (all of them when names is
 * NULL). */
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

/* Replaces the listing of dir (names NULL: it could not be read). */
static void papi_listing_store(apr_pool_t *p, papi_instcache *c, const char *dir,
                               const papi_stamp *stamp, apr_time_t now,
                               const apr_array_header_t *names)
{
    papi_listing *l = apr_hash_get(c->listings, dir, APR_HASH_KEY_STRING);
    int i;

    if (l) {
        papi_forget_gone(p, c, l, names);
        papi_listing_drop(c, l);
    }
    if (!names || !stamp->exists || apr_hash_count(c->listings) >= PAPI_MAX_LISTINGS)
        return;
    l = calloc(1, sizeof(*l));
    if (!l)
        return;
    l->dir = strdup(dir);
    l->stamp = *stamp;
    l->settled = papi_stamp_settled(c, stamp, now);
    l->names = calloc((apr_size_t)names->nelts + 1, sizeof(char *));
    for (i = 0; l->names && i < names->nelts; i++)
        l->names[l->count++] = strdup(APR_ARRAY_IDX(names, i, const char *));
    apr_hash_set(c->listings, l->dir, APR_HASH_KEY_STRING, l);
}

/* The candidates in registry dir: from the cache while the directory is unchanged. */
static apr_array_header_t *papi_cached_listing(papi_instcache *c, apr_pool_t *p, const char *dir,
                                               apr_time_t now, apr_array_header_t *notes)
{
    apr_array_header_t *names = NULL;
    papi_listing *l;
    papi_stamp stamp;
    int i;

    papi_stamp_of(dir, &stamp);
    apr_thread_mutex_lock(c->mutex);
    l = apr_hash_get(c->listings, dir, APR_HASH_KEY_STRING);
    if (l && l->settled && papi_stamp_same(&l->stamp, &stamp)) {
        names = apr_array_make(p, l->count + 1, sizeof(const char *));
        for (i = 0; i < l->count; i++)
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, l->names[i]);
    }
    apr_thread_mutex_unlock(c->mutex);
    if (names)
        return names;
    names = papi_registry_list(p, dir, notes);
    apr_thread_mutex_lock(c->mutex);
    papi_listing_store(p, c, dir, &stamp, now, names);
    apr_thread_mutex_unlock(c->mutex);
    return names;
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
    if (d->properties) {
        json_incref(d->properties);
        apr_pool_cleanup_register(p, d->properties, papi_json_cleanup, apr_pool_cleanup_null);
    }
    return d;
}

/* Remembers inst, classified from a directory stamped dir (and core.pid stamped core_pid, both
 * taken before it was read), with its lock file open as lock_fd (given to the cache). */
static void papi_known_store(papi_instcache *c, const papi_instance *inst, const papi_trust *trust,
                             const papi_stamp *dir, const papi_stamp *core_pid, int lock_fd,
                             apr_time_t now)
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
        apr_hash_set(c->known, k->path, APR_HASH_KEY_STRING, k);
    }
    if (!k) {
        if (lock_fd >= 0)
            close(lock_fd);
        return;
    }
    if (k->lock_fd >= 0)
        close(k->lock_fd);
    k->lock_fd = lock_fd;
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
    int pid_ok = 0, lock_fd = -1;

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
    if (inst)
        return inst;
    papi_stamp_of(pid_path, &core_pid);
    inst = papi_instance_inspect(p, registry, dirname, trust);
    if (inst->state == PAPI_INST_GOOD || inst->state == PAPI_INST_STALE)
        lock_fd = papi_instance_lock_open(inst);
    apr_thread_mutex_lock(c->mutex);
    papi_known_store(c, inst, trust, &dir, &core_pid, lock_fd, now);
    apr_thread_mutex_unlock(c->mutex);
    return inst;
}

apr_array_header_t *papi_instcache_scan(papi_instcache *c, apr_pool_t *p,
                                        const apr_array_header_t *registries,
                                        const papi_trust *trust, apr_array_header_t *notes)
{
    apr_array_header_t *out;
    apr_time_t now = apr_time_now();
    int i, j;

    if (!c)
        return papi_registry_scan(p, registries, trust, notes);
    out = apr_array_make(p, 4, sizeof(papi_instance *));
    for (i = 0; i < registries->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(registries, i, const char *);
        apr_array_header_t *names = papi_cached_listing(c, p, dir, now, notes);
        for (j = 0; names && j < names->nelts; j++)
            APR_ARRAY_PUSH(out, papi_instance *) =
                papi_cached_instance(c, p, dir, APR_ARRAY_IDX(names, j, const char *), trust, now);
    }
    return out;
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
