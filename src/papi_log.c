#include "papi_log.h"

#include <apr_strings.h>
#include <stdarg.h>

static papi_log_is_level_fn *papi_log_wanted;
static papi_log_write_fn *papi_log_writer;
static void *papi_log_baton;

void papi_log_set(papi_log_is_level_fn *is_level, papi_log_write_fn *write, void *baton)
{
    papi_log_wanted = is_level;
    papi_log_writer = write;
    papi_log_baton = baton;
}

int papi_log_is_level(papi_log_level level)
{
    return papi_log_writer && (!papi_log_wanted || papi_log_wanted(papi_log_baton, level));
}

void papi_log(const char *file, int line, papi_log_level level, apr_status_t rv, const char *fmt,
              ...)
{
    char message[1024];
    va_list ap;

    if (!papi_log_is_level(level))
        return;
    va_start(ap, fmt);
    apr_vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    papi_log_writer(papi_log_baton, file, line, level, rv, message);
}
