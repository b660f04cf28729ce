/* The values directives take, parsed as `apachectl -t` reads them: each parser returns NULL with the
 * value set, or what is wrong ("takes ..."), for the glue to prefix with the directive's name. */
#ifndef PAPI_SETTING_H
#define PAPI_SETTING_H

#include <apr_pools.h>
#include <apr_time.h>
#include <sys/types.h>

/* Seconds above 0 and at most 600, fractions allowed ("5", "0.5"). */
const char *papi_setting_seconds(const char *arg, apr_interval_time_t *t);

/* A whole number from 1 to max. */
const char *papi_setting_count(apr_pool_t *p, const char *arg, apr_off_t max, apr_off_t *n);

/* A user: a name known to the system, or #uid. */
const char *papi_setting_owner(apr_pool_t *p, const char *arg, uid_t *uid);

/* One of two words (any case), as 0 or 1. */
const char *papi_setting_choice(apr_pool_t *p, const char *arg, const char *const words[2], int *i);

#endif
