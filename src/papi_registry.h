/* Finding Passenger instances: expanding the configured registry directories (paths and globs) and
 * classifying every passenger.* directory in them the way Passenger's own admin tools do, plus the
 * checks a shared /tmp needs (owner, links). Nothing in a registry is ever changed. */
#ifndef PAPI_REGISTRY_H
#define PAPI_REGISTRY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include <sys/types.h>

/* Longest AF_UNIX path (sun_path less its NUL), and the longest instance directory name we accept. */
#define PAPI_SUN_PATH_MAX 107
#define PAPI_INSTANCE_DIRNAME_MAX 42
/* What an instance adds to its registry's path to reach the core socket, at the longest. */
#define PAPI_CORE_SOCKET_SUFFIX_MAX (1 + PAPI_INSTANCE_DIRNAME_MAX + sizeof("/agents.s/core_api") - 1)

typedef enum {
    PAPI_INST_GOOD,
    PAPI_INST_NOT_FINALIZED,
    PAPI_INST_CORRUPTED,
    PAPI_INST_UNSUPPORTED,
    PAPI_INST_STALE,
    PAPI_INST_UNTRUSTED
} papi_inst_state;

typedef struct papi_trust {
    const uid_t *uids;      /* owners whose instance directories are trusted */
    int count;
} papi_trust;

/* uid is one of trust's owners. */
int papi_trust_has(const papi_trust *trust, uid_t uid);

/* A pool cleanup that drops one reference to a json_t. */
apr_status_t papi_json_cleanup(void *json);

typedef struct papi_instance {
    const char *registry;   /* the registry directory it was found in */
    const char *dirname;    /* passenger.XXXXXXX */
    const char *path;       /* registry/dirname */
    papi_inst_state state;
    const char *reason;     /* why it is not good; NULL when good */
    uid_t owner;            /* owner of the instance directory */
    dev_t dev;              /* the directory's identity (0 when it could not be opened) */
    ino_t ino;
    json_t *properties;     /* properties.json as written (an object), or NULL; freed with the pool */
    const char *name;       /* properties' name, or NULL */
    long core_pid;          /* from core.pid, or -1 */
} papi_instance;

const char *papi_inst_state_name(papi_inst_state state);

/* Lists of strings (registry directories, patterns): membership, and adding without duplicates. */
int papi_list_has(const apr_array_header_t *list, const char *s);
void papi_list_add_unique(apr_array_header_t *list, const char *s);

/* Why pattern cannot be a registry directory (relative, "..", too long for a socket path, ...),
 * or NULL when it can. */
const char *papi_registry_pattern_error(apr_pool_t *p, const char *pattern);

/* Why the registry directory dir is unsafe to trust (not owned by root, or writable by others
 * without the sticky bit: someone else can rename or replace instance directories in it), or NULL. */
const char *papi_registry_dir_warning(apr_pool_t *p, const char *dir);

/* Passenger's own search list: $PASSENGER_INSTANCE_REGISTRY_DIR alone if set, else $TMPDIR, /tmp,
 * /var/run/passenger-instreg (duplicates removed). */
apr_array_header_t *papi_registry_default_patterns(apr_pool_t *p);

/* The directories the patterns name now, in pattern order (glob matches sorted), without
 * duplicates. With narrow (a glob from a request), only those it matches: it is matched against
 * the expanded paths and never touches the filesystem. */
apr_array_header_t *papi_registry_expand(apr_pool_t *p, const apr_array_header_t *patterns,
                                         const char *narrow);

/* The passenger.* candidates (directories and links) in one registry directory, sorted; NULL when
 * it cannot be read, with why appended to notes (const char *) when not NULL. */
apr_array_header_t *papi_registry_list(apr_pool_t *p, const char *registry,
                                       apr_array_header_t *notes);

/* Every passenger.* candidate in the registry directories, in registry order then name order.
 * Problems with a registry directory itself (missing, unreadable) are appended to notes
 * (const char *), when not NULL. */
apr_array_header_t *papi_registry_scan(apr_pool_t *p, const apr_array_header_t *registries,
                                       const papi_trust *trust, apr_array_header_t *notes);

/* Parses properties.json text as Passenger's admin tools accept it (an object with instance_dir's
 * integer major/minor version, a name of 1-64 letters and digits, server_software, an integer
 * watchdog_pid). Returns NULL with *props (freed with p) and *name set, or why not. */
const char *papi_properties_parse(apr_pool_t *p, const char *text, apr_size_t len, json_t **props,
                                  const char **name);

/* Classifies one candidate; dirname must pass papi_instance_dirname_ok. */
papi_instance *papi_instance_inspect(apr_pool_t *p, const char *registry, const char *dirname,
                                     const papi_trust *trust);

int papi_instance_dirname_ok(const char *dirname);

/* The first line of defence for instance names from requests: 1-64 of [A-Za-z0-9]. */
int papi_instance_name_ok(const char *name);

/* The lock file of an instance found good or stale, open (a regular file of the instance's
 * owner), or -1: whether the watchdog still holds it is the one thing that changes without a
 * trace in the directory's change times when the watchdog dies. */
int papi_instance_lock_open(const papi_instance *inst);

/* Whether someone (the watchdog) holds the lock open at fd; 0 for fd -1. */
int papi_lock_fd_held(int fd);

/* The path of the instance's core API socket, or NULL if it would not fit in sun_path. */
const char *papi_instance_core_socket(apr_pool_t *p, const papi_instance *inst);

#endif
