/* Credentials for a core: the ro_admin (or admin) password of one instance.
 *
 * Passenger writes its password files 0600 (or 0400) for the user it runs as, usually root, while
 * httpd's children run as the httpd User. A tiny helper, forked by httpd's parent while it is still
 * root, answers one question over a private Unix socket: "the password of instance D in registry
 * R". It re-derives and checks everything itself (R must be one of its own configured registry
 * directories, D a good instance with a trusted owner, the file a single-link regular file of the
 * right owner and mode, never a link) and never relays an API call: the child talks to the core. */
#ifndef PAPI_CRED_H
#define PAPI_CRED_H

#include "papi_registry.h"

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <sys/types.h>

typedef enum { PAPI_CRED_RO, PAPI_CRED_FULL } papi_cred_level;

/* The Basic auth user Passenger's core expects for a level. */
const char *papi_cred_user(papi_cred_level level);

/* Zeroes secret (NUL-terminated, in pool memory) when pool p is cleared: a password should not
 * linger in a long-lived child's freed memory. */
void papi_cred_wipe_later(apr_pool_t *p, const char *secret);

/* Reads the password of inst (as inspected) itself: its directory must still be the one inspected,
 * the same device, inode and owner. Returns NULL, or why not. */
const char *papi_cred_read(apr_pool_t *p, const papi_instance *inst, papi_cred_level level,
                           const char **password);

/* ---- the helper ---- */

typedef struct papi_cred_config {
    const apr_array_header_t *patterns;  /* every registry pattern any configuration uses */
    papi_trust trust;                     /* every trusted owner any configuration uses */
    uid_t client_uid;                     /* the only uid allowed to ask: the httpd User */
    int allow_full;                       /* some configuration has PassengerApiAccess full */
    pid_t parent_pid;                     /* serve while this process is our parent */
} papi_cred_config;

/* The helper's answer to one request line (exposed for tests): "OK <password>" or "NO <why>". */
const char *papi_cred_answer(apr_pool_t *p, const papi_cred_config *cfg, const char *line);

/* Serves requests on listen_fd until the parent is gone. Each connection: the peer must be
 * client_uid, one request line in, one answer line out, bounded by a short timeout. */
void papi_cred_serve(int listen_fd, const papi_cred_config *cfg);

/* ---- asking the helper (in an httpd child) ---- */

/* Asks the helper at socket_path (retrying briefly while it (re)starts) before deadline.
 * Returns NULL with *password set, or why not. */
const char *papi_cred_ask(apr_pool_t *p, const char *socket_path, papi_cred_level level,
                          const char *registry, const char *dirname, apr_time_t deadline,
                          const char **password);

#endif
