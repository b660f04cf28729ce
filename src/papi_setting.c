/* The values directives take (papi_setting.h). */
#include "papi_setting.h"

#include <apr_strings.h>
#include <pwd.h>
#include <stdlib.h>
#include <strings.h>

const char *papi_setting_seconds(const char *arg, apr_interval_time_t *t)
{
    char *end;
    double secs = strtod(arg, &end);

    if (end == arg || *end || !(secs > 0) || secs > 600)
        return "takes a number of seconds above 0 and at most 600, e.g. 5 or 0.5";
    *t = (apr_interval_time_t)(secs * APR_USEC_PER_SEC);
    return NULL;
}

const char *papi_setting_count(apr_pool_t *p, const char *arg, apr_off_t max, apr_off_t *n)
{
    char *end;

    if (apr_strtoff(n, arg, &end, 10) != APR_SUCCESS || *end || end == arg || *n < 1 || *n > max)
        return apr_psprintf(p, "takes a whole number from 1 to %" APR_OFF_T_FMT, max);
    return NULL;
}

const char *papi_setting_owner(apr_pool_t *p, const char *arg, uid_t *uid)
{
    struct passwd pw, *found = NULL;
    char buf[4096], *end;

    if (arg[0] == '#') {
        unsigned long n = strtoul(arg + 1, &end, 10);

        /* strtoul would take "-1" and " 1"; a uid is digits only. */
        if (!arg[1] || *end || arg[1] < '0' || arg[1] > '9' || n != (uid_t)n)
            return apr_pstrcat(p, "takes a user name or #uid, not '", arg, "'", NULL);
        *uid = (uid_t)n;
        return NULL;
    }
    if (getpwnam_r(arg, &pw, buf, sizeof(buf), &found) != 0 || !found)
        return apr_pstrcat(p, "takes a user name or #uid: there is no user named '", arg, "'",
                           NULL);
    *uid = found->pw_uid;
    return NULL;
}

const char *papi_setting_choice(apr_pool_t *p, const char *arg, const char *const words[2], int *i)
{
    int n;

    for (n = 0; n < 2; n++)
        if (!strcasecmp(arg, words[n])) {
            *i = n;
            return NULL;
        }
    return apr_pstrcat(p, "takes ", words[0], " or ", words[1], NULL);
}
