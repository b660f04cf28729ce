/* Turning what a client asked for into parts that are safe to send to a core: a core path from a
 * small character set and a query string rebuilt pair by pair. Request data never becomes a
 * filesystem path. */
#ifndef PAPI_REQUEST_H
#define PAPI_REQUEST_H

#include <apr_pools.h>

#define PAPI_CORE_PATH_MAX 256

/* Why path cannot be sent to a core, or NULL: it must be "/" then letters, digits, ".", "_", "-"
 * and "/", with no empty or dot-dot segment, at most PAPI_CORE_PATH_MAX bytes. */
const char *papi_core_path_error(const char *path);

/* The query string args rebuilt as name=value pairs (names of letters, digits, "_", ".", "-";
 * values decoded then re-encoded), "" for none. NULL with *why when args is malformed (a pair
 * without "=", a bad name, a bad escape, a NUL, over 2048 bytes). */
const char *papi_query_rebuild(apr_pool_t *p, const char *args, const char **why);

#endif
