/* What an httpd child remembers of its registry globs from one request to the next: each
 * configured pattern's expansion, with what every directory it read looked like (device, inode,
 * modification and change times). A later request stats those directories, one stat each, and
 * reuses the expansion while none of them has changed; otherwise, or once the expansion is
 * PAPI_GLOBCACHE_MAX_AGE old, it expands afresh.
 *
 * Only configured patterns are keys (a request's glob is matched against their expansion, never
 * expanded), so the cache is bounded by the configuration. One cache per process, shared by its
 * threads under a mutex held to look up or replace an entry only: directories are stat'ed and
 * read outside it, so no request waits on another's reads (a miss costs what every request cost
 * before). Every function accepts a NULL cache and then expands uncached. */
#ifndef PAPI_GLOBCACHE_H
#define PAPI_GLOBCACHE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <sys/types.h>
#include <time.h>

typedef struct papi_globcache papi_globcache;

/* How old a directory's change time must be, when it is read, before the expansion is trusted
 * for as long as that directory stays the same: a change within the same tick of the
 * filesystem's clock would not show in its times (git's "racily clean" index entries). */
#define PAPI_GLOBCACHE_SETTLE apr_time_from_sec(1)

/* How long an expansion is reused at the most, unchanged or not: what a stat cannot show (an
 * NFS client's cached attributes, a clock set back) is missed for no longer than this, and a
 * glob over a full /tmp is read at most once every 5 s per child. */
#define PAPI_GLOBCACHE_MAX_AGE apr_time_from_sec(5)

/* What one directory looked like when an expansion read it (taken before reading it). */
typedef struct papi_globstamp {
    const char *path;
    int follow;         /* stat'ed through links (a literal prefix, which the expansion follows);
                         * else lstat'ed (anything below a glob, which must be a real directory) */
    int err;            /* errno of the stat, or 0 */
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
} papi_globstamp;

/* What an expansion consulted, as it goes. */
typedef struct papi_globwatch {
    apr_pool_t *p;
    apr_array_header_t *stamps;     /* papi_globstamp, PAPI_GLOBCACHE_PATHS_MAX at the most */
    int full;                       /* there were more: the expansion is too large to keep */
    int unsure;                     /* something failed that may not fail again (out of
                                     * descriptors, I/O): the expansion is not kept */
} papi_globwatch;

/* Stamps path before the expansion reads it (w may be NULL: nothing watched). */
void papi_globwatch_add(papi_globwatch *w, const char *path, int follow);

/* Notes that reading or checking a watched directory failed with rv: unless the failure lasts
 * as long as the watched directories stay the same (missing, not a directory, a link, not
 * permitted), the expansion is not kept (w may be NULL). */
void papi_globwatch_failed(papi_globwatch *w, apr_status_t rv);

/* Expands pattern into dirs (directories, const char *), stamping in watch (NULL: none) every
 * directory whose contents it consults. */
typedef void papi_glob_expand_fn(apr_pool_t *p, const char *pattern, apr_array_header_t *dirs,
                                 papi_globwatch *watch);

/* A cache living as long as p (a child's pool), trusting change times older than settle and
 * expansions younger than max_age; NULL if its mutex cannot be made. */
papi_globcache *papi_globcache_create(apr_pool_t *p, apr_interval_time_t settle,
                                      apr_interval_time_t max_age);

/* pattern's directories (const char *, allocated from p): the kept expansion while every
 * directory it consulted is unchanged, else expand's afresh (then kept, when it is not too
 * large: PAPI_GLOBCACHE_PATHS_MAX). */
apr_array_header_t *papi_globcache_expand(papi_globcache *c, apr_pool_t *p, const char *pattern,
                                          papi_glob_expand_fn *expand);

/* What one pattern's entry may hold, its directories and those it watches: an expansion that
 * names or consults more (a glob over a /tmp someone filled) is not kept, as every child would
 * hold all of it, and stat'ing thousands of directories costs about what reading them does.
 * Such a pattern is then expanded without being watched (which would only add to its cost)
 * until PAPI_GLOBCACHE_MAX_AGE has passed, when it is tried again. */
#define PAPI_GLOBCACHE_PATHS_MAX 4096

#endif
