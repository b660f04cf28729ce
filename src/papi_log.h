/* The library's log, as mod_md's md_log: src/ says what it does through a logger the glue
 * injects (httpd's error log, at the module's own LogLevel); with none set, nothing is logged.
 * Levels are syslog's and httpd's numbers, so the glue passes them on as they are. A line is
 * formatted only when its level is wanted: TRACE lines cost one call on the hot path. */
#ifndef PAPI_LOG_H
#define PAPI_LOG_H

#include <apr_errno.h>

typedef enum {
    PAPI_LOG_ERR = 3,
    PAPI_LOG_WARNING = 4,
    PAPI_LOG_NOTICE = 5,
    PAPI_LOG_INFO = 6,
    PAPI_LOG_DEBUG = 7,
    PAPI_LOG_TRACE1 = 8,
    PAPI_LOG_TRACE2 = 9
} papi_log_level;

/* Whether lines of level are wanted. */
typedef int papi_log_is_level_fn(void *baton, papi_log_level level);

/* Writes one line (already formatted) of level, from file:line, with an APR status or 0. */
typedef void papi_log_write_fn(void *baton, const char *file, int line, papi_log_level level,
                               apr_status_t rv, const char *message);

/* Sets the logger, for the whole process (before threads start: it is read without a lock). */
void papi_log_set(papi_log_is_level_fn *is_level, papi_log_write_fn *write, void *baton);

int papi_log_is_level(papi_log_level level);

#define PAPI_LOG_MARK __FILE__, __LINE__

/* Logs fmt at level when that level is wanted (at most 1 KiB of text). */
void papi_log(const char *file, int line, papi_log_level level, apr_status_t rv, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));

#endif
