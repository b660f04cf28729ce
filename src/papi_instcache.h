/* What an httpd child remembers of Passenger instances from one request to the next, so that no
 * work is repeated that can be safely reused:
 *   - a registry directory's listing, while the directory's change times stay the same;
 *   - an instance's classification, while its directory's do; what can change inside it without
 *     a trace there is checked on every request: whether the watchdog still holds the lock, and
 *     core.pid (rewritten when the watchdog restarts the core);
 *   - its credential, per level, fetched once for the instance's identity;
 *   - its agents.s, open, from the very directory inspected: the core socket is reached through
 *     it, never through the instance's path again;
 *   - idle keep-alive connections to its core.
 * An instance whose directory is replaced, changes or disappears, or that stops being good, is
 * forgotten at once: its credentials wiped, its connections closed. Change times are trusted only
 * once they are old enough (PAPI_INSTCACHE_SETTLE).
 *
 * One cache per process, shared by its threads under a mutex held for lookups only: the system
 * calls are made outside it. Every function accepts a NULL cache and then does the work
 * uncached. Credentials live in this process's memory between requests: the helper answers to
 * the httpd User anyway, so nothing running as that User learns more from the cache. */
#ifndef PAPI_INSTCACHE_H
#define PAPI_INSTCACHE_H

#include "papi_cred.h"
#include "papi_registry.h"
#include "papi_stats.h"

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct papi_instcache papi_instcache;

/* Idle connections kept per instance, and for how long at most: a core shutting down waits for
 * its idle clients to leave, so a thread of the cache closes them after PAPI_IDLE_MAX_AGE even
 * when no request comes (the shutdown of a Passenger instance is delayed by that much at most). */
#define PAPI_IDLE_PER_INSTANCE 8
#define PAPI_IDLE_MAX_AGE apr_time_from_msec(1000)
#define PAPI_IDLE_SWEEP apr_time_from_msec(250)

/* How old change times must be before they are trusted: a change within the same tick of the
 * filesystem's clock as the one before would not show in them. */
#define PAPI_INSTCACHE_SETTLE apr_time_from_sec(1)

/* A cache living as long as p (a child's pool), trusting change times older than settle, with its
 * thread that closes idle connections; NULL if the mutex or the thread cannot be made. */
papi_instcache *papi_instcache_create(apr_pool_t *p, apr_interval_time_t settle);

/* Counts the cache's hits and misses (instances kept, and inspected afresh) in stats from now
 * on (set before the cache is shared by threads). */
void papi_instcache_count_in(papi_instcache *c, papi_stats *stats);

/* papi_registry_scan, from what the cache knows where that is still true. The instances are the
 * request's own copies (allocated from p). A registry beyond the bound is warned about once per
 * process. */
apr_array_header_t *papi_instcache_scan(papi_instcache *c, apr_pool_t *p,
                                        const apr_array_header_t *registries,
                                        const papi_trust *trust, apr_array_header_t *notes,
                                        apr_array_header_t *warnings);

/* A descriptor of inst's agents.s (a good instance from papi_instcache_scan), closed when p is
 * cleared: a copy of the one kept since its inspection, or else opened again from its directory
 * if that is still the one inspected (papi_instance_agents_open). -1 with *why when neither. */
int papi_instcache_agents(papi_instcache *c, apr_pool_t *p, const papi_instance *inst,
                          const char **why);

/* The credential kept for inst (a good instance from papi_instcache_scan) at level: a copy in p,
 * wiped when p is cleared; NULL when none is kept. */
const char *papi_instcache_password(papi_instcache *c, apr_pool_t *p, const papi_instance *inst,
                                    papi_cred_level level);

/* Keeps password for inst at level, if the cache still knows inst as the same good instance;
 * NULL forgets (wipes) the one kept, e.g. because the core refused it. */
void papi_instcache_keep_password(papi_instcache *c, const papi_instance *inst,
                                  papi_cred_level level, const char *password);

/* An idle connection to inst's core, most recently used first, or -1. The caller owns it. */
int papi_instcache_take_connection(papi_instcache *c, const papi_instance *inst);

/* Gives back a connection to inst's core that is ready for another request: kept if the cache
 * still knows inst as the same good instance and has room, else closed. */
void papi_instcache_give_connection(papi_instcache *c, const papi_instance *inst, int fd);

/* Forgets everything (credentials wiped, connections closed); the cache stays usable. */
void papi_instcache_clear(papi_instcache *c);

#endif
